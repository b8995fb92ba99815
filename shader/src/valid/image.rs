//! Rules of [`Stmt::Image`](crate::ir::Stmt::Image) and of derivatives: slot indices, operand
//! counts and types against the operation and the slot's declared image type.

use super::{Checker, Result, ValidationError};
use crate::ir::{
    coord_count, spatial_dims, DescriptorIndex, ImageBinding, ImageDim, ImageKind, ImageLod,
    ImageOp, ImageOpKind, SampledType, ScalarType, Stage, ValueId,
};
use ScalarType::{F32, I32};

fn bad<T>(what: impl Into<String>) -> Result<T> {
    Err(ValidationError::Image(what.into()))
}

impl Checker<'_> {
    /// Checks an image operation and the types of the `results` it defines.
    pub(super) fn image(&self, results: &[ValueId], op: &ImageOp) -> Result<()> {
        let Some(slot) = self.m.images.get(op.image as usize) else {
            return Err(ValidationError::ImageOutOfRange(op.image));
        };
        let kind = op.kind;
        let what = |s: &str| format!("{kind:?} {s}");
        if let Some(d) = op.image_index {
            let run = self.run(op.image, d, self.m.images.len(), "image")?;
            let same = |b: &ImageBinding| {
                (
                    b.kind,
                    b.dim,
                    b.arrayed,
                    b.multisampled,
                    b.format,
                    b.sampled_type,
                ) == (
                    slot.kind,
                    slot.dim,
                    slot.arrayed,
                    slot.multisampled,
                    slot.format,
                    slot.sampled_type,
                )
            };
            if !self.m.images.get(run).is_some_and(|r| r.iter().all(same)) {
                return bad(what("on a run of image slots of different types"));
            }
        }
        if let Some(d) = op.sampler_index {
            let Some(first) = op.sampler else {
                return bad(what("with a sampler index but no sampler"));
            };
            self.run(first, d, self.m.samplers.len(), "sampler")?;
        }
        // The sampler: combined slots carry their own, sampled slots need a separate one.
        if let Some(s) = op.sampler {
            if self.m.samplers.get(s as usize).is_none() {
                return Err(ValidationError::SamplerOutOfRange(s));
            }
        }
        if kind.is_sampling() {
            match (slot.kind, op.sampler) {
                (ImageKind::CombinedImageSampler, None) | (ImageKind::Sampled, Some(_)) => {}
                _ => return bad(what("needs a sampled image with exactly one sampler")),
            }
        } else if op.sampler.is_some() {
            return bad(what("takes no sampler"));
        }
        let kind_ok = crate::ir::allowed_on(kind, slot);
        if !kind_ok {
            return bad(what(&format!("on a {:?} {:?} image", slot.kind, slot.dim)));
        }
        // Coordinates.
        let coord_ty = if kind.is_sampling() { F32 } else { I32 };
        let want = coord_count(kind, slot) + usize::from(op.proj);
        if op.coords.len() != want {
            return bad(what(&format!(
                "takes {want} coordinates, found {}",
                op.coords.len()
            )));
        }
        if op.proj && (kind != ImageOpKind::Sample || slot.arrayed || slot.dim == ImageDim::Cube) {
            return bad(what("projective on an arrayed or cube image"));
        }
        for c in &op.coords {
            self.expect(*c, coord_ty, "image coordinate")?;
        }
        // Level of detail.
        let spatial = spatial_dims(slot.dim);
        match &op.lod {
            ImageLod::None => {}
            ImageLod::Implicit | ImageLod::Bias(_) => {
                if !matches!(kind, ImageOpKind::Sample | ImageOpKind::QueryLod) {
                    return bad(what("with implicit LOD"));
                }
                if self.m.stage != Stage::Fragment {
                    return Err(ValidationError::Stage(format!(
                        "implicit-LOD {kind:?} in a {:?} shader",
                        self.m.stage
                    )));
                }
                if let ImageLod::Bias(b) = &op.lod {
                    self.expect(*b, F32, "LOD bias")?;
                }
            }
            ImageLod::Explicit(l) => match kind {
                ImageOpKind::Sample => self.expect(*l, F32, "explicit LOD")?,
                ImageOpKind::Fetch | ImageOpKind::QuerySize => self.expect(*l, I32, "level")?,
                _ => return bad(what("with a Lod operand")),
            },
            ImageLod::Grad { ddx, ddy } => {
                if kind != ImageOpKind::Sample || ddx.len() != spatial || ddy.len() != spatial {
                    return bad(what("with gradients of the wrong count"));
                }
                for g in ddx.iter().chain(ddy) {
                    self.expect(*g, F32, "gradient")?;
                }
            }
        }
        if kind == ImageOpKind::Sample && op.lod == ImageLod::None {
            return bad(what("without a level of detail"));
        }
        if kind == ImageOpKind::QueryLod && op.lod != ImageLod::Implicit {
            return bad(what("derives its LOD implicitly"));
        }
        if op.min_lod.is_some() && !(kind == ImageOpKind::Sample && op.lod != ImageLod::None) {
            return bad(what("with MinLod"));
        }
        if let Some(v) = op.min_lod {
            self.expect(v, F32, "MinLod")?;
        }
        if let Some(d) = op.dref {
            if !matches!(kind, ImageOpKind::Sample | ImageOpKind::Gather { .. }) {
                return bad(what("with a depth reference"));
            }
            self.expect(d, F32, "depth reference")?;
        }
        if !op.offset.is_empty() {
            let ok = matches!(
                kind,
                ImageOpKind::Sample | ImageOpKind::Gather { .. } | ImageOpKind::Fetch
            ) && !matches!(slot.dim, ImageDim::Cube | ImageDim::Buffer)
                || (kind == ImageOpKind::Read && slot.dim == ImageDim::SubpassData);
            if !ok || op.offset.len() != spatial {
                return bad(what("with offsets of the wrong count or kind"));
            }
            for o in &op.offset {
                self.expect(*o, I32, "texel offset")?;
            }
        }
        if let Some(s) = op.sample {
            if !slot.multisampled || !kind.is_texel_access() {
                return bad(what("with a sample index"));
            }
            self.expect(s, I32, "sample index")?;
        }
        if let ImageOpKind::Gather { component } = kind {
            if component > 3 || (op.dref.is_some() && component != 0) {
                return bad(what("of a component other than 0..=3"));
            }
        }
        // Texel operands and results.
        let texel_ty = match slot.sampled_type {
            SampledType::Float => F32,
            SampledType::Int | SampledType::Uint => I32,
        };
        let (texels, max_results, result_ty) = match kind {
            ImageOpKind::Write => (1..=4, 0, texel_ty),
            ImageOpKind::Atomic(crate::ir::AtomicOp::CompareExchange) => (2..=2, 1, I32),
            ImageOpKind::Atomic(crate::ir::AtomicOp::Load) => (0..=0, 1, I32),
            ImageOpKind::Atomic(_) => (1..=1, 1, I32),
            ImageOpKind::AtomicStore => (1..=1, 0, I32),
            ImageOpKind::QuerySize | ImageOpKind::QueryLevels | ImageOpKind::QuerySamples => {
                (0..=0, 4, I32)
            }
            ImageOpKind::QueryLod => (0..=0, 2, F32),
            _ if op.dref.is_some() && kind == ImageOpKind::Sample => (0..=0, 1, F32),
            _ if op.dref.is_some() => (0..=0, 4, F32),
            _ => (0..=0, 4, texel_ty),
        };
        if !texels.contains(&op.texel.len()) {
            return bad(what(&format!("with {} texel operands", op.texel.len())));
        }
        if kind.is_texel_access()
            && matches!(kind, ImageOpKind::Atomic(_) | ImageOpKind::AtomicStore)
        {
            if slot.sampled_type == SampledType::Float {
                return bad(what("on a float image"));
            }
            for t in &op.texel {
                self.expect(*t, I32, "atomic operand")?;
            }
        } else {
            for t in &op.texel {
                self.expect(*t, texel_ty, "texel")?;
            }
        }
        if results.len() > max_results {
            return bad(what(&format!("defines {} results", results.len())));
        }
        for r in results {
            let ty = self.result_type(*r)?;
            if ty != result_ty {
                return Err(super::type_err(
                    *r,
                    format!("{kind:?} result must be {result_ty:?}, found {ty:?}"),
                ));
            }
        }
        Ok(())
    }

    /// Checks a dynamically indexed run of `d.len` slots from `first` among `count`, and its
    /// index operand; returns the run's range.
    pub(super) fn run(
        &self,
        first: u32,
        d: DescriptorIndex,
        count: usize,
        what: &str,
    ) -> Result<core::ops::Range<usize>> {
        let end = first.checked_add(d.len).map(|e| e as usize);
        match end {
            Some(end) if d.len > 0 && end <= count => {
                let ty = self.use_value(d.index)?;
                if !matches!(ty, I32 | ScalarType::I64) {
                    return Err(super::type_err(
                        d.index,
                        format!("{what} array index must be I32 or I64, found {ty:?}"),
                    ));
                }
                Ok(first as usize..end)
            }
            _ => bad(format!(
                "{what} array of {} slots from slot {first} exceeds the module's {count}",
                d.len
            )),
        }
    }
}
