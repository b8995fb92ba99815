//! Image operations and derivatives in the IR.
//!
//! An image operation is one [`crate::ir::Stmt::Image`]: it reads its operand values, performs
//! the operation through the context's image helper (`abi::ImageOpFn`) for the executing lanes,
//! and defines up to four scalar results (components 0.. of the operation's result). Handles
//! (images, samplers, sampled images) are compile-time objects of the front end: an operation
//! names its image by slot index into `Module::images` and its separate sampler, if any, by
//! index into `Module::samplers`.

use serde::{Deserialize, Serialize};

use super::{AtomicOp, ImageBinding, ImageDim, ImageKind, ValueId};

/// Which image operation (maps onto `abi::image_op`).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ImageOpKind {
    /// OpImageSample* (Dref variants give one F32 result).
    Sample,
    /// OpImageGather (`component` 0..=3) / OpImageDrefGather (with `dref`, component 0).
    Gather {
        component: u8,
    },
    /// OpImageFetch: integer coordinates, level in `lod` (`ImageLod::Explicit`, I32).
    Fetch,
    /// OpImageRead (storage images, storage texel buffers, subpass inputs).
    Read,
    /// OpImageWrite: `texel` holds 1..=4 components; no results.
    Write,
    /// OpAtomic* through OpImageTexelPointer, on an R32 texel: `texel[0]` is the value,
    /// `texel[1]` the comparator of `CompareExchange`; the old value is the one result.
    Atomic(AtomicOp),
    /// OpAtomicStore through OpImageTexelPointer: `texel[0]` is stored; no results.
    AtomicStore,
    /// OpImageQuerySize (no `lod`) / OpImageQuerySizeLod (`lod` Explicit, I32).
    QuerySize,
    QueryLevels,
    QuerySamples,
    /// OpImageQueryLod: two F32 results from implicit derivatives of `coords`.
    QueryLod,
}

impl ImageOpKind {
    /// Takes float coordinates (and a sampler).
    pub fn is_sampling(self) -> bool {
        matches!(
            self,
            ImageOpKind::Sample | ImageOpKind::Gather { .. } | ImageOpKind::QueryLod
        )
    }

    /// Takes integer texel coordinates.
    pub fn is_texel_access(self) -> bool {
        matches!(
            self,
            ImageOpKind::Fetch
                | ImageOpKind::Read
                | ImageOpKind::Write
                | ImageOpKind::Atomic(_)
                | ImageOpKind::AtomicStore
        )
    }

    /// Writes or atomically updates image memory (helper lanes must not).
    pub fn has_side_effects(self) -> bool {
        matches!(
            self,
            ImageOpKind::Write | ImageOpKind::Atomic(_) | ImageOpKind::AtomicStore
        )
    }
}

/// How the level of detail is chosen.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub enum ImageLod {
    /// No level operand (texel access without Lod, queries, gather).
    None,
    /// Implicit LOD from the 2×2 quad's coordinate differences (fragment only).
    Implicit,
    /// Implicit LOD plus a bias (F32; fragment only).
    Bias(ValueId),
    /// Explicit level: F32 for sampling, I32 for Fetch and QuerySizeLod.
    Explicit(ValueId),
    /// Explicit gradients (F32), one per spatial coordinate.
    Grad {
        ddx: Vec<ValueId>,
        ddy: Vec<ValueId>,
    },
}

impl ImageLod {
    /// Needs derivatives across the quad (fragment shaders only).
    pub fn is_implicit(&self) -> bool {
        matches!(self, ImageLod::Implicit | ImageLod::Bias(_))
    }
}

/// A dynamically indexed descriptor array (`tex[i]` with `i` not a constant): `len`
/// consecutive slots, elements `0..len` of one arrayed binding, of which the operation's slot
/// field names the first. `index` (an integer value, I32 or I64, read as unsigned) picks one.
/// Vulkan requires the index to be dynamically uniform (`shader*ArrayDynamicIndexing`), so the
/// back end reads it from one executing lane; an index `>= len` selects the null descriptor
/// (sampling and reads give zeros, writes and atomics are dropped).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct DescriptorIndex {
    pub len: u32,
    pub index: ValueId,
}

/// One image operation (see the module docs). Operand counts and types are checked by the
/// validator against [`ImageOpKind`] and the slot's [`ImageBinding`].
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct ImageOp {
    /// Index into `Module::images`.
    pub image: u32,
    /// Index into `Module::samplers` for a `Sampled` slot used with a separate sampler; `None`
    /// for combined image samplers (the slot's own sampler) and for operations without one.
    pub sampler: Option<u32>,
    pub kind: ImageOpKind,
    /// The coordinate ([`coord_count`] components, array layer last), then the projective
    /// divisor when `proj`. F32 for sampling operations, I32 for texel accesses.
    pub coords: Vec<ValueId>,
    /// Projective sampling: the last of `coords` divides the others (and `dref`).
    pub proj: bool,
    pub lod: ImageLod,
    /// Depth-compare reference (F32).
    pub dref: Option<ValueId>,
    /// Texel offset (I32), one per spatial coordinate, or empty.
    pub offset: Vec<ValueId>,
    /// MinLod clamp (F32).
    pub min_lod: Option<ValueId>,
    /// Sample index (I32) of a multisampled image.
    pub sample: Option<ValueId>,
    /// Write's texel components or an atomic's value (and comparator).
    pub texel: Vec<ValueId>,
    /// `image` is the first of a dynamically indexed run of slots.
    pub image_index: Option<DescriptorIndex>,
    /// `sampler` is the first of a dynamically indexed run of samplers.
    pub sampler_index: Option<DescriptorIndex>,
}

impl ImageOp {
    /// Every operand value, in a fixed order.
    pub fn operands(&self) -> Vec<ValueId> {
        let mut v = self.coords.clone();
        match &self.lod {
            ImageLod::None | ImageLod::Implicit => {}
            ImageLod::Bias(x) | ImageLod::Explicit(x) => v.push(*x),
            ImageLod::Grad { ddx, ddy } => {
                v.extend_from_slice(ddx);
                v.extend_from_slice(ddy);
            }
        }
        v.extend(self.dref);
        v.extend_from_slice(&self.offset);
        v.extend(self.min_lod);
        v.extend(self.sample);
        v.extend_from_slice(&self.texel);
        v.extend(self.image_index.map(|d| d.index));
        v.extend(self.sampler_index.map(|d| d.index));
        v
    }

    /// Rewrites every operand value with `f`.
    pub fn map_operands(&mut self, f: &impl Fn(ValueId) -> ValueId) {
        let all = |xs: &mut Vec<ValueId>| xs.iter_mut().for_each(|x| *x = f(*x));
        all(&mut self.coords);
        match &mut self.lod {
            ImageLod::None | ImageLod::Implicit => {}
            ImageLod::Bias(x) | ImageLod::Explicit(x) => *x = f(*x),
            ImageLod::Grad { ddx, ddy } => {
                all(ddx);
                all(ddy);
            }
        }
        for x in [&mut self.dref, &mut self.min_lod, &mut self.sample]
            .into_iter()
            .flatten()
        {
            *x = f(*x);
        }
        for d in [&mut self.image_index, &mut self.sampler_index]
            .into_iter()
            .flatten()
        {
            d.index = f(d.index);
        }
        all(&mut self.offset);
        all(&mut self.texel);
    }
}

/// Spatial coordinates of an image of `dim` (what gradients and offsets have one entry per).
pub fn spatial_dims(dim: ImageDim) -> usize {
    match dim {
        ImageDim::D1 | ImageDim::Buffer => 1,
        ImageDim::D2 | ImageDim::SubpassData => 2,
        ImageDim::D3 | ImageDim::Cube => 3,
    }
}

/// Coordinate components an operation of `kind` takes on `binding` (array layer included,
/// projective divisor not): `abi::ImageRequest::coord_count`. Queries take none. Subpass
/// reads take the absolute framebuffer x, y and the view index as layer.
pub fn coord_count(kind: ImageOpKind, binding: &ImageBinding) -> usize {
    let layer = usize::from(binding.arrayed);
    match kind {
        ImageOpKind::QuerySize | ImageOpKind::QueryLevels | ImageOpKind::QuerySamples => 0,
        ImageOpKind::QueryLod => spatial_dims(binding.dim),
        ImageOpKind::Sample | ImageOpKind::Gather { .. } => spatial_dims(binding.dim) + layer,
        _ => match binding.dim {
            ImageDim::SubpassData | ImageDim::Cube => 3,
            ImageDim::D3 => 3,
            ImageDim::Buffer => 1,
            ImageDim::D1 | ImageDim::D2 => spatial_dims(binding.dim) + layer,
        },
    }
}

/// Whether an operation of `kind` may be performed on an image slot declared as `slot`
/// (descriptor kind, dimensionality, multisampling).
pub fn allowed_on(kind: ImageOpKind, slot: &ImageBinding) -> bool {
    match kind {
        ImageOpKind::Sample | ImageOpKind::Gather { .. } | ImageOpKind::QueryLod => {
            matches!(
                slot.kind,
                ImageKind::Sampled | ImageKind::CombinedImageSampler
            ) && !matches!(slot.dim, ImageDim::Buffer | ImageDim::SubpassData)
                && !slot.multisampled
        }
        ImageOpKind::Fetch => {
            matches!(
                slot.kind,
                ImageKind::Sampled
                    | ImageKind::CombinedImageSampler
                    | ImageKind::UniformTexelBuffer
            ) && slot.dim != ImageDim::Cube
        }
        ImageOpKind::Read => matches!(
            slot.kind,
            ImageKind::Storage | ImageKind::StorageTexelBuffer | ImageKind::InputAttachment
        ),
        ImageOpKind::Write | ImageOpKind::Atomic(_) | ImageOpKind::AtomicStore => matches!(
            slot.kind,
            ImageKind::Storage | ImageKind::StorageTexelBuffer
        ),
        ImageOpKind::QuerySize => slot.dim != ImageDim::SubpassData,
        ImageOpKind::QueryLevels => {
            !matches!(slot.dim, ImageDim::Buffer | ImageDim::SubpassData) && !slot.multisampled
        }
        ImageOpKind::QuerySamples => slot.multisampled,
    }
}

/// Axis of a derivative ([`crate::ir::Op::Derivative`]).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum DerivAxis {
    /// Along framebuffer x (OpDPdx*).
    X,
    /// Along framebuffer y (OpDPdy*).
    Y,
}
