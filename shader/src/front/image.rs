//! Image instructions: `OpImageSample*`, `OpImageFetch`, `OpImageGather`,
//! `OpImageDrefGather`, `OpImageRead`, `OpImageWrite`, `OpImageQuery*` and image atomics
//! (through `OpImageTexelPointer`), each one [`Stmt::Image`] with its image operands.
//!
//! Implicit LOD (and `Bias`) needs the quad's derivatives, so outside fragment shaders it is an
//! error naming the opcode (no derivative-group extension is exposed). Refused image operands:
//! `Offsets` (non-constant gather offsets), `MakeTexelAvailable` / `MakeTexelVisible` (Vulkan
//! memory model, not exposed); `SignExtend` / `ZeroExtend` / `NonPrivateTexel` /
//! `VolatileTexel` / `Nontemporal` change nothing here and are ignored.

use rspirv::dr::{Instruction, Operand};
use spirv::Op;

use super::handles::Handle;
use super::instr::scope_id_at;
use super::lower::Lower;
use super::module::{id_at, result_type};
use super::types::Id;
use super::{malformed, FrontError, Result};
use crate::ir::{
    self, coord_count, spatial_dims, AtomicOp, Builtin, ConvOp, ImageBinding, ImageDim, ImageLod,
    ImageOp, ImageOpKind, ScalarType, Stage, Stmt, ValueId,
};

pub(crate) fn is_image_op(op: Op) -> bool {
    matches!(
        op,
        Op::ImageSampleImplicitLod
            | Op::ImageSampleExplicitLod
            | Op::ImageSampleDrefImplicitLod
            | Op::ImageSampleDrefExplicitLod
            | Op::ImageSampleProjImplicitLod
            | Op::ImageSampleProjExplicitLod
            | Op::ImageSampleProjDrefImplicitLod
            | Op::ImageSampleProjDrefExplicitLod
            | Op::ImageFetch
            | Op::ImageGather
            | Op::ImageDrefGather
            | Op::ImageRead
            | Op::ImageWrite
            | Op::ImageQuerySizeLod
            | Op::ImageQuerySize
            | Op::ImageQueryLod
            | Op::ImageQueryLevels
            | Op::ImageQuerySamples
    )
}

/// The optional image operands of one instruction (SPIR-V §3.14 "Image Operands").
#[derive(Default)]
struct Operands {
    bias: Option<Id>,
    lod: Option<Id>,
    grad: Option<(Id, Id)>,
    const_offset: Option<Id>,
    offset: Option<Id>,
    const_offsets: Option<Id>,
    sample: Option<Id>,
    min_lod: Option<Id>,
}

const BIAS: u32 = 0x1;
const LOD: u32 = 0x2;
const GRAD: u32 = 0x4;
const CONST_OFFSET: u32 = 0x8;
const OFFSET: u32 = 0x10;
const CONST_OFFSETS: u32 = 0x20;
const SAMPLE: u32 = 0x40;
const MIN_LOD: u32 = 0x80;
/// NonPrivateTexel, VolatileTexel, SignExtend, ZeroExtend, Nontemporal: no effect here.
const IGNORED: u32 = 0x400 | 0x800 | 0x1000 | 0x2000 | 0x4000;

fn parse_operands(inst: &Instruction, start: usize) -> Result<Operands> {
    let op = inst.class.opcode;
    let mut out = Operands::default();
    let Some(first) = inst.operands.get(start) else {
        return Ok(out);
    };
    let Operand::ImageOperands(mask) = first else {
        return malformed(format!(
            "Op{op:?}: operand {start} is not an image-operands mask"
        ));
    };
    let bits = mask.bits();
    let known = BIAS | LOD | GRAD | CONST_OFFSET | OFFSET | CONST_OFFSETS | SAMPLE | MIN_LOD;
    if bits & !(known | IGNORED) != 0 {
        return Err(FrontError::UnsupportedOpcode(format!(
            "{op:?} with image operands {:#x} (Offsets, MakeTexelAvailable/Visible)",
            bits & !(known | IGNORED)
        )));
    }
    let mut i = start + 1;
    let mut next = || -> Result<Id> {
        let id = scope_id_at(inst, i)?;
        i += 1;
        Ok(id)
    };
    if bits & BIAS != 0 {
        out.bias = Some(next()?);
    }
    if bits & LOD != 0 {
        out.lod = Some(next()?);
    }
    if bits & GRAD != 0 {
        out.grad = Some((next()?, next()?));
    }
    if bits & CONST_OFFSET != 0 {
        out.const_offset = Some(next()?);
    }
    if bits & OFFSET != 0 {
        out.offset = Some(next()?);
    }
    if bits & CONST_OFFSETS != 0 {
        out.const_offsets = Some(next()?);
    }
    if bits & SAMPLE != 0 {
        out.sample = Some(next()?);
    }
    if bits & MIN_LOD != 0 {
        out.min_lod = Some(next()?);
    }
    if i != inst.operands.len() {
        return malformed(format!("Op{op:?}: extra operands after the image operands"));
    }
    Ok(out)
}

impl Lower<'_> {
    fn image_binding(&self, slot: u32) -> Result<ImageBinding> {
        match self.mem.images.get(slot as usize) {
            Some(b) => Ok(*b),
            None => malformed("image slot lost"),
        }
    }

    /// The first `n` components of `id`, all of type `ty`.
    fn components(&mut self, op: Op, id: Id, n: usize, ty: ScalarType) -> Result<Vec<ValueId>> {
        let (_, v) = self.data(id)?;
        match v.get(..n) {
            Some(c) if c.iter().all(|x| self.b.ty(*x) == ty) => Ok(c.to_vec()),
            Some(_) => malformed(format!(
                "Op{op:?}: operand %{id} is not of {ty:?} components"
            )),
            None => malformed(format!(
                "Op{op:?}: operand %{id} has fewer than {n} components"
            )),
        }
    }

    fn scalar_of(&mut self, op: Op, id: Id, ty: ScalarType) -> Result<ValueId> {
        let v = self.scalar(id)?;
        if self.b.ty(v) != ty {
            return malformed(format!("Op{op:?}: operand %{id} is not {ty:?}"));
        }
        Ok(v)
    }

    /// Fresh result values for `inst`'s result type (at most 4 scalar components).
    fn image_results(&mut self, inst: &Instruction) -> Result<Vec<ValueId>> {
        let leaves = self.m.types.leaves(result_type(inst)?)?;
        if leaves.is_empty() || leaves.len() > 4 {
            return malformed(format!(
                "Op{:?} result is not a scalar or a vector of up to 4 components",
                inst.class.opcode
            ));
        }
        Ok(leaves.into_iter().map(|t| self.b.value(t)).collect())
    }

    fn push_image(&mut self, results: Vec<ValueId>, op: ImageOp) -> Result<()> {
        let b = self.image_binding(op.image)?;
        if !ir::allowed_on(op.kind, &b) {
            return malformed(format!(
                "image operation {:?} on a {:?} {:?} image",
                op.kind, b.kind, b.dim
            ));
        }
        self.b.push(Stmt::Image {
            results,
            op: Box::new(op),
        });
        self.b.check_limits()
    }

    fn no_implicit_lod(&self, op: Op) -> Result<()> {
        if self.m.stage != Stage::Fragment {
            return Err(FrontError::UnsupportedOpcode(format!(
                "{op:?} with implicit LOD in a {:?} shader (implicit LOD needs fragment quads; \
                 no derivative-group extension is exposed)",
                self.m.stage
            )));
        }
        Ok(())
    }

    /// The texel offset (ConstOffset or Offset) of an operation on `b`.
    fn offset_of(&mut self, op: Op, o: &Operands, b: &ImageBinding) -> Result<Vec<ValueId>> {
        match (o.const_offset, o.offset) {
            (None, None) => Ok(Vec::new()),
            (Some(_), Some(_)) => malformed(format!("Op{op:?} with ConstOffset and Offset")),
            (Some(id), None) | (None, Some(id)) => {
                if matches!(b.dim, ImageDim::Cube | ImageDim::Buffer) {
                    return malformed(format!("Op{op:?}: offsets on a {:?} image", b.dim));
                }
                let n = spatial_dims(b.dim);
                let (_, v) = self.data(id)?;
                if v.len() != n || v.iter().any(|x| self.b.ty(*x) != ScalarType::I32) {
                    return malformed(format!("Op{op:?}: offset is not {n} 32-bit integers"));
                }
                Ok(v)
            }
        }
    }

    pub fn image_inst(&mut self, inst: &Instruction) -> Result<()> {
        let op = inst.class.opcode;
        match op {
            Op::ImageQuerySize
            | Op::ImageQuerySizeLod
            | Op::ImageQueryLevels
            | Op::ImageQuerySamples => return self.image_query(inst),
            Op::ImageFetch | Op::ImageRead | Op::ImageWrite => return self.texel_access(inst),
            _ => {}
        }
        // Sampling family: a sampled image and float coordinates.
        let (image, sampler) = match self.handle(id_at(inst, 0)?)? {
            Handle::SampledImage { image, sampler } => (image, sampler),
            _ => return malformed(format!("Op{op:?} of something other than a sampled image")),
        };
        let b = self.image_binding(image.first)?;
        let proj = matches!(
            op,
            Op::ImageSampleProjImplicitLod
                | Op::ImageSampleProjExplicitLod
                | Op::ImageSampleProjDrefImplicitLod
                | Op::ImageSampleProjDrefExplicitLod
        );
        let has_dref = matches!(
            op,
            Op::ImageSampleDrefImplicitLod
                | Op::ImageSampleDrefExplicitLod
                | Op::ImageSampleProjDrefImplicitLod
                | Op::ImageSampleProjDrefExplicitLod
                | Op::ImageDrefGather
        );
        let implicit = matches!(
            op,
            Op::ImageSampleImplicitLod
                | Op::ImageSampleDrefImplicitLod
                | Op::ImageSampleProjImplicitLod
                | Op::ImageSampleProjDrefImplicitLod
                | Op::ImageQueryLod
        );
        let kind = match op {
            Op::ImageGather => {
                let c = self.const_u64(id_at(inst, 2)?);
                match c {
                    Some(c @ 0..=3) => ImageOpKind::Gather { component: c as u8 },
                    _ => return malformed("OpImageGather component is not a constant 0..=3"),
                }
            }
            Op::ImageDrefGather => ImageOpKind::Gather { component: 0 },
            Op::ImageQueryLod => ImageOpKind::QueryLod,
            _ => ImageOpKind::Sample,
        };
        if matches!(b.dim, ImageDim::Buffer | ImageDim::SubpassData) || b.multisampled {
            return malformed(format!("Op{op:?} on a {:?} image", b.dim));
        }
        let n = coord_count(kind, &b) + usize::from(proj);
        let coords = self.components(op, id_at(inst, 1)?, n, ScalarType::F32)?;
        let dref = if has_dref {
            Some(self.scalar_of(op, id_at(inst, 2)?, ScalarType::F32)?)
        } else {
            None
        };
        let operands_at = match op {
            Op::ImageQueryLod => usize::MAX,
            Op::ImageGather => 3,
            _ if has_dref => 3,
            _ => 2,
        };
        let o = if operands_at == usize::MAX {
            if inst.operands.len() > 2 {
                return malformed("OpImageQueryLod with extra operands");
            }
            Operands::default()
        } else {
            parse_operands(inst, operands_at)?
        };
        if o.sample.is_some() {
            return malformed(format!("Op{op:?} with a Sample operand"));
        }
        let spatial = spatial_dims(b.dim);
        let lod = match (implicit, kind, o.bias, o.lod, o.grad) {
            (_, ImageOpKind::Gather { .. }, None, None, None) => ImageLod::None,
            (true, _, bias, None, None) => {
                self.no_implicit_lod(op)?;
                match bias {
                    Some(x) => ImageLod::Bias(self.scalar_of(op, x, ScalarType::F32)?),
                    None => ImageLod::Implicit,
                }
            }
            (false, ImageOpKind::Sample, None, Some(l), None) => {
                ImageLod::Explicit(self.scalar_of(op, l, ScalarType::F32)?)
            }
            (false, ImageOpKind::Sample, None, None, Some((dx, dy))) => ImageLod::Grad {
                ddx: self.components(op, dx, spatial, ScalarType::F32)?,
                ddy: self.components(op, dy, spatial, ScalarType::F32)?,
            },
            _ => {
                return malformed(format!(
                    "Op{op:?} with a Bias/Lod/Grad combination it does not take"
                ))
            }
        };
        let min_lod = match o.min_lod {
            Some(m) if kind == ImageOpKind::Sample && !matches!(lod, ImageLod::Explicit(_)) => {
                Some(self.scalar_of(op, m, ScalarType::F32)?)
            }
            Some(_) => return malformed(format!("Op{op:?} with MinLod")),
            None => None,
        };
        let offset = self.offset_of(op, &o, &b)?;
        let results = self.image_results(inst)?;
        let mut image_op = ImageOp {
            image: image.first,
            sampler: sampler.map(|s| s.first),
            image_index: image.dynamic,
            sampler_index: sampler.and_then(|s| s.dynamic),
            kind,
            coords,
            proj,
            lod,
            dref,
            offset,
            min_lod,
            sample: None,
            texel: Vec::new(),
        };
        let Some(offsets_id) = o.const_offsets else {
            self.push_image(results.clone(), image_op)?;
            return self.bind_data(inst, results);
        };
        // ConstOffsets: one gather per texel of the footprint, each with its own offset,
        // keeping that texel's component.
        if !matches!(kind, ImageOpKind::Gather { .. }) || !image_op.offset.is_empty() {
            return malformed(format!("Op{op:?} with ConstOffsets"));
        }
        let (_, all) = self.data(offsets_id)?;
        if all.len() != 8 || results.len() != 4 {
            return malformed("ConstOffsets is not an array of four 2-component offsets");
        }
        for (i, result) in results.iter().enumerate() {
            image_op.offset = all[2 * i..2 * i + 2].to_vec();
            let t = self.b.ty(*result);
            let mut rs = Vec::with_capacity(4);
            for j in 0..4 {
                rs.push(if j == i { *result } else { self.b.value(t) });
            }
            self.push_image(rs, image_op.clone())?;
        }
        self.bind_data(inst, results)
    }

    /// OpImageFetch, OpImageRead, OpImageWrite.
    fn texel_access(&mut self, inst: &Instruction) -> Result<()> {
        let op = inst.class.opcode;
        let image = self.image_operand(id_at(inst, 0)?)?;
        let b = self.image_binding(image.first)?;
        let kind = match op {
            Op::ImageFetch => ImageOpKind::Fetch,
            Op::ImageRead => ImageOpKind::Read,
            _ => ImageOpKind::Write,
        };
        let o = parse_operands(inst, if kind == ImageOpKind::Write { 3 } else { 2 })?;
        if o.bias.is_some() || o.grad.is_some() || o.min_lod.is_some() || o.const_offsets.is_some()
        {
            return malformed(format!("Op{op:?} with an operand it does not take"));
        }
        let lod = match o.lod {
            Some(l) if kind == ImageOpKind::Fetch => {
                ImageLod::Explicit(self.scalar_of(op, l, ScalarType::I32)?)
            }
            Some(_) => return malformed(format!("Op{op:?} with a Lod operand")),
            None => ImageLod::None,
        };
        let sample = match o.sample {
            Some(s) if b.multisampled => Some(self.scalar_of(op, s, ScalarType::I32)?),
            Some(_) => return malformed(format!("Op{op:?}: Sample on a single-sampled image")),
            None if b.multisampled => {
                return malformed(format!("Op{op:?} on a multisampled image without Sample"))
            }
            None => None,
        };
        let (coords, offset) = if b.dim == ImageDim::SubpassData {
            if kind != ImageOpKind::Read || o.const_offset.is_some() || o.offset.is_some() {
                return malformed(format!("Op{op:?} on a subpass input"));
            }
            (self.subpass_coords(op, id_at(inst, 1)?)?, Vec::new())
        } else {
            if kind == ImageOpKind::Read && (o.const_offset.is_some() || o.offset.is_some()) {
                return malformed("OpImageRead with an offset");
            }
            let n = coord_count(kind, &b);
            (
                self.components(op, id_at(inst, 1)?, n, ScalarType::I32)?,
                self.offset_of(op, &o, &b)?,
            )
        };
        let texel_ty = match b.sampled_type {
            ir::SampledType::Float => ScalarType::F32,
            _ => ScalarType::I32,
        };
        let (texel, results) = if kind == ImageOpKind::Write {
            let (_, t) = self.data(id_at(inst, 2)?)?;
            if t.is_empty() || t.len() > 4 || t.iter().any(|x| self.b.ty(*x) != texel_ty) {
                return malformed(format!(
                    "OpImageWrite texel is not 1 to 4 {texel_ty:?} components"
                ));
            }
            (t, Vec::new())
        } else {
            (Vec::new(), self.image_results(inst)?)
        };
        if results.iter().any(|r| self.b.ty(*r) != texel_ty) {
            return malformed(format!("Op{op:?} result is not of {texel_ty:?} components"));
        }
        let image_op = ImageOp {
            image: image.first,
            image_index: image.dynamic,
            sampler: None,
            sampler_index: None,
            kind,
            coords,
            proj: false,
            lod,
            dref: None,
            offset,
            min_lod: None,
            sample,
            texel,
        };
        self.push_image(results.clone(), image_op)?;
        if kind == ImageOpKind::Write {
            return Ok(());
        }
        self.bind_data(inst, results)
    }

    /// A subpass input's coordinate: the fragment's framebuffer position plus the
    /// coordinate operand (an offset), and the view index as the layer.
    fn subpass_coords(&mut self, op: Op, id: Id) -> Result<Vec<ValueId>> {
        if self.m.stage != Stage::Fragment {
            return malformed(format!(
                "Op{op:?} of a subpass input outside a fragment shader"
            ));
        }
        let off = self.components(op, id, 2, ScalarType::I32)?;
        let mut out = Vec::with_capacity(3);
        for (c, o) in off.iter().enumerate() {
            let f = self.b.builtin(Builtin::FragCoord(c as u8));
            let i = self.conv(ConvOp::FToS, ScalarType::I32, f);
            out.push(self.bin(ir::BinOp::IAdd, i, *o));
        }
        out.push(self.b.builtin(Builtin::ViewIndex));
        Ok(out)
    }

    /// OpImageQuerySize, OpImageQuerySizeLod, OpImageQueryLevels, OpImageQuerySamples.
    fn image_query(&mut self, inst: &Instruction) -> Result<()> {
        let op = inst.class.opcode;
        let image = self.image_operand(id_at(inst, 0)?)?;
        let (kind, lod) = match op {
            Op::ImageQuerySizeLod => {
                let l = self.scalar_of(op, id_at(inst, 1)?, ScalarType::I32)?;
                (ImageOpKind::QuerySize, ImageLod::Explicit(l))
            }
            Op::ImageQuerySize => (ImageOpKind::QuerySize, ImageLod::None),
            Op::ImageQueryLevels => (ImageOpKind::QueryLevels, ImageLod::None),
            _ => (ImageOpKind::QuerySamples, ImageLod::None),
        };
        let results = self.image_results(inst)?;
        if results.iter().any(|r| self.b.ty(*r) != ScalarType::I32) {
            return malformed(format!("Op{op:?} result is not 32-bit integers"));
        }
        let image_op = ImageOp {
            image: image.first,
            image_index: image.dynamic,
            sampler: None,
            sampler_index: None,
            kind,
            coords: Vec::new(),
            proj: false,
            lod,
            dref: None,
            offset: Vec::new(),
            min_lod: None,
            sample: None,
            texel: Vec::new(),
        };
        self.push_image(results.clone(), image_op)?;
        self.bind_data(inst, results)
    }

    /// OpAtomic* whose pointer is an `OpImageTexelPointer`.
    pub fn image_atomic(&mut self, inst: &Instruction, h: Handle) -> Result<()> {
        let op = inst.class.opcode;
        let Handle::Texel {
            image,
            coords,
            sample,
        } = h
        else {
            return malformed(format!("Op{op:?} on an image or sampler handle"));
        };
        let b = self.image_binding(image.first)?;
        if b.sampled_type == ir::SampledType::Float {
            return Err(FrontError::UnsupportedOpcode(format!(
                "{op:?} on a float image (only R32 integer image atomics)"
            )));
        }
        let i32v = |l: &mut Self, at: usize| l.scalar_of(op, id_at(inst, at)?, ScalarType::I32);
        let (kind, texel) = match op {
            Op::AtomicStore => (ImageOpKind::AtomicStore, vec![i32v(self, 3)?]),
            Op::AtomicLoad => (ImageOpKind::Atomic(AtomicOp::Load), Vec::new()),
            Op::AtomicIIncrement | Op::AtomicIDecrement => {
                let one = self.ki(ScalarType::I32, 1);
                let a = if op == Op::AtomicIIncrement {
                    AtomicOp::Add
                } else {
                    AtomicOp::Sub
                };
                (ImageOpKind::Atomic(a), vec![one])
            }
            Op::AtomicCompareExchange | Op::AtomicCompareExchangeWeak => (
                ImageOpKind::Atomic(AtomicOp::CompareExchange),
                vec![i32v(self, 4)?, i32v(self, 5)?],
            ),
            _ => {
                let a = match op {
                    Op::AtomicExchange => AtomicOp::Exchange,
                    Op::AtomicIAdd => AtomicOp::Add,
                    Op::AtomicISub => AtomicOp::Sub,
                    Op::AtomicSMin => AtomicOp::SMin,
                    Op::AtomicUMin => AtomicOp::UMin,
                    Op::AtomicSMax => AtomicOp::SMax,
                    Op::AtomicUMax => AtomicOp::UMax,
                    Op::AtomicAnd => AtomicOp::And,
                    Op::AtomicOr => AtomicOp::Or,
                    Op::AtomicXor => AtomicOp::Xor,
                    other => {
                        return Err(FrontError::UnsupportedOpcode(format!(
                            "{other:?} on an image texel"
                        )))
                    }
                };
                (ImageOpKind::Atomic(a), vec![i32v(self, 3)?])
            }
        };
        let results = if kind == ImageOpKind::AtomicStore {
            Vec::new()
        } else {
            let r = self.image_results(inst)?;
            if r.len() != 1 || self.b.ty(r[0]) != ScalarType::I32 {
                return Err(FrontError::UnsupportedOpcode(format!(
                    "{op:?} on an image texel of a type other than 32-bit integer"
                )));
            }
            r
        };
        let image_op = ImageOp {
            image: image.first,
            image_index: image.dynamic,
            sampler: None,
            sampler_index: None,
            kind,
            coords,
            proj: false,
            lod: ImageLod::None,
            dref: None,
            offset: Vec::new(),
            min_lod: None,
            sample,
            texel,
        };
        self.push_image(results.clone(), image_op)?;
        if kind == ImageOpKind::AtomicStore {
            return Ok(());
        }
        self.bind_data(inst, results)
    }
}
