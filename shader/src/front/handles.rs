//! Image, sampler and sampled-image handles: their types, the descriptor slots they occupy
//! (`Module::images`, `Module::samplers`) and the instructions that only move handles around
//! (`OpLoad` of a `UniformConstant` variable, `OpSampledImage`, `OpImage`,
//! `OpImageTexelPointer`). Handles are compile-time objects: they define no IR values.

use rspirv::dr::{Instruction, Operand};
use spirv::{Dim, ImageFormat};

use super::lower::{Lower, Value};
use super::memory::{Ptr, Root};
use super::module::{id_at, lit_at, result_id};
use super::types::{Id, ImageType, Type, Types};
use super::{malformed, FrontError, Result};
use crate::ir::{
    DescriptorIndex, ImageBinding, ImageDim, ImageKind, SampledType, SamplerBinding, ValueId,
};

/// The longest descriptor array that may be indexed dynamically (the device's
/// `maxPerStageDescriptor*` limits): every element of such an array takes a slot.
pub(crate) const MAX_DYNAMIC_DESCRIPTOR_ARRAY: u32 = 1024;

/// The descriptor slot a handle names: a fixed slot, or the first of a run of consecutive
/// slots (elements `0..len` of one binding) picked by a dynamically uniform index.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Slot {
    pub first: u32,
    pub dynamic: Option<DescriptorIndex>,
}

/// Which element of an arrayed image/sampler variable a handle pointer names.
#[derive(Clone, Copy, Debug)]
pub(crate) enum HandleIndex {
    Const(u32),
    Dynamic(DescriptorIndex),
}

impl HandleIndex {
    /// The slot of `var`'s element this index names among `bindings`: the element's own
    /// slot, or for a dynamic index the first slot of the run of every element (see
    /// [`run_of`]).
    fn slot<B>(
        self,
        bindings: &mut Vec<B>,
        slots: &mut std::collections::HashMap<(Id, u32), u32>,
        var: Id,
        binding_of: impl Fn(u32) -> B,
    ) -> Slot {
        let (first, len, dynamic) = match self {
            HandleIndex::Const(i) => (i, 1, None),
            HandleIndex::Dynamic(d) => (0, d.len, Some(d)),
        };
        Slot {
            first: run_of(bindings, slots, var, first, len, binding_of),
            dynamic,
        }
    }
}

/// What a handle-typed SPIR-V id stands for.
#[derive(Clone, Debug)]
pub(crate) enum Handle {
    /// An image: slot in `Module::images`.
    Image(Slot),
    /// A separate sampler: slot in `Module::samplers`.
    Sampler(Slot),
    /// An image with its sampler (`None`: the slot is a combined image sampler).
    SampledImage { image: Slot, sampler: Option<Slot> },
    /// `OpImageTexelPointer`: one texel of a storage image, for image atomics.
    Texel {
        image: Slot,
        coords: Vec<ValueId>,
        sample: Option<ValueId>,
    },
}

impl Handle {
    fn slots(&self) -> [Option<Slot>; 2] {
        match self {
            Handle::Image(s) | Handle::Sampler(s) => [Some(*s), None],
            Handle::SampledImage { image, sampler } => [Some(*image), *sampler],
            Handle::Texel { image, .. } => [Some(*image), None],
        }
    }

    /// The IR values the handle carries (what a backing var must hold): dynamic array
    /// indices, then a texel pointer's coordinates and sample.
    pub fn carried(&self) -> Vec<ValueId> {
        let mut v: Vec<ValueId> = self
            .slots()
            .iter()
            .flatten()
            .filter_map(|s| s.dynamic.map(|d| d.index))
            .collect();
        if let Handle::Texel { coords, sample, .. } = self {
            v.extend_from_slice(coords);
            v.extend(*sample);
        }
        v
    }

    /// The handle with its carried values replaced by `new` (in [`Handle::carried`]'s order);
    /// unchanged when `new` has another shape.
    pub fn with_carried(&self, new: &[ValueId]) -> Handle {
        if new.len() != self.carried().len() {
            return self.clone();
        }
        let mut it = new.iter().copied();
        let mut slot = |s: Slot| Slot {
            first: s.first,
            dynamic: s.dynamic.map(|d| DescriptorIndex {
                len: d.len,
                index: it.next().unwrap_or(d.index),
            }),
        };
        match self {
            Handle::Image(s) => Handle::Image(slot(*s)),
            Handle::Sampler(s) => Handle::Sampler(slot(*s)),
            Handle::SampledImage { image, sampler } => {
                let image = slot(*image);
                Handle::SampledImage {
                    image,
                    sampler: sampler.map(slot),
                }
            }
            Handle::Texel {
                image,
                coords,
                sample,
            } => {
                let image = slot(*image);
                let coords = coords
                    .iter()
                    .map(|c| it.next().unwrap_or(*c))
                    .collect::<Vec<_>>();
                let sample = sample.map(|s| it.next().unwrap_or(s));
                Handle::Texel {
                    image,
                    coords,
                    sample,
                }
            }
        }
    }
}

/// The `VkFormat` number of a SPIR-V storage image format (0 for `Unknown`).
fn vk_format(f: ImageFormat) -> Result<u32> {
    use ImageFormat as F;
    Ok(match f {
        F::Unknown => 0,
        F::Rgba32f => 109,
        F::Rgba16f => 97,
        F::R32f => 100,
        F::Rgba8 => 37,
        F::Rgba8Snorm => 38,
        F::Rg32f => 103,
        F::Rg16f => 83,
        F::R11fG11fB10f => 122,
        F::R16f => 76,
        F::Rgba16 => 91,
        F::Rgb10A2 => 64,
        F::Rg16 => 77,
        F::Rg8 => 16,
        F::R16 => 70,
        F::R8 => 9,
        F::Rgba16Snorm => 92,
        F::Rg16Snorm => 78,
        F::Rg8Snorm => 17,
        F::R16Snorm => 71,
        F::R8Snorm => 10,
        F::Rgba32i => 108,
        F::Rgba16i => 96,
        F::Rgba8i => 42,
        F::R32i => 99,
        F::Rg32i => 102,
        F::Rg16i => 82,
        F::Rg8i => 21,
        F::R16i => 75,
        F::R8i => 14,
        F::Rgba32ui => 107,
        F::Rgba16ui => 95,
        F::Rgba8ui => 41,
        F::R32ui => 98,
        F::Rgb10a2ui => 68,
        F::Rg32ui => 101,
        F::Rg16ui => 81,
        F::Rg8ui => 20,
        F::R16ui => 74,
        F::R8ui => 13,
        other => {
            return Err(FrontError::Unsupported(format!(
                "storage image format {other:?}"
            )))
        }
    })
}

/// Reads an `OpTypeImage` declaration.
pub(crate) fn image_type(inst: &Instruction, types: &Types) -> Result<ImageType> {
    let st = id_at(inst, 0)?;
    let sampled_type = match types.get(st)? {
        Type::Float => SampledType::Float,
        Type::Int { bits: 32 } if types.signed_ints.contains(&st) => SampledType::Int,
        Type::Int { bits: 32 } => SampledType::Uint,
        Type::Int { bits } => {
            return Err(FrontError::Unsupported(format!(
                "images with {bits}-bit integer components (Int64ImageEXT)"
            )))
        }
        Type::Void => {
            return Err(FrontError::Unsupported(
                "OpTypeImage with a void sampled type (kernel images)".into(),
            ))
        }
        _ => return malformed("OpTypeImage sampled type is not a scalar"),
    };
    let dim = match inst.operands.get(1) {
        Some(Operand::Dim(d)) => match d {
            Dim::Dim1D => ImageDim::D1,
            Dim::Dim2D => ImageDim::D2,
            Dim::Dim3D => ImageDim::D3,
            Dim::DimCube => ImageDim::Cube,
            Dim::DimBuffer => ImageDim::Buffer,
            Dim::DimSubpassData => ImageDim::SubpassData,
            other => {
                return Err(FrontError::Unsupported(format!(
                    "OpTypeImage with Dim {other:?}"
                )))
            }
        },
        _ => return malformed("OpTypeImage without a Dim"),
    };
    let depth = lit_at(inst, 2)? == 1;
    let arrayed = lit_at(inst, 3)? != 0;
    let multisampled = lit_at(inst, 4)? != 0;
    let sampled = lit_at(inst, 5)?;
    let format = match inst.operands.get(6) {
        Some(Operand::ImageFormat(f)) => vk_format(*f)?,
        _ => return malformed("OpTypeImage without an image format"),
    };
    if arrayed && matches!(dim, ImageDim::D3 | ImageDim::Buffer) {
        return malformed(format!("OpTypeImage: arrayed {dim:?} image"));
    }
    if multisampled && !matches!(dim, ImageDim::D2 | ImageDim::SubpassData) {
        return malformed(format!("OpTypeImage: multisampled {dim:?} image"));
    }
    Ok(ImageType {
        sampled_type,
        dim,
        depth,
        arrayed,
        multisampled,
        sampled,
        format,
    })
}

/// The descriptor type of a variable of image type `t` (a combined image sampler when it is
/// declared through `OpTypeSampledImage`).
fn image_kind(t: &ImageType, combined: bool) -> ImageKind {
    match (t.dim, t.sampled) {
        (ImageDim::SubpassData, _) => ImageKind::InputAttachment,
        (ImageDim::Buffer, 2) => ImageKind::StorageTexelBuffer,
        (ImageDim::Buffer, _) => ImageKind::UniformTexelBuffer,
        (_, 2) => ImageKind::Storage,
        _ if combined => ImageKind::CombinedImageSampler,
        _ => ImageKind::Sampled,
    }
}

impl Lower<'_> {
    /// The pointer a `UniformConstant` variable stands for.
    pub fn handle_ptr(&mut self, id: Id, ty: Id, ptr_ty: Id) -> Result<Ptr> {
        let (elem, arrayed) = match self.m.types.get(ty)? {
            Type::Array { elem, .. } | Type::RuntimeArray { elem } => (*elem, true),
            _ => (ty, false),
        };
        match self.m.types.get(elem)? {
            Type::Image(_) | Type::Sampler | Type::SampledImage { .. } => {}
            other => {
                return Err(FrontError::Unsupported(format!(
                    "UniformConstant variable %{id} of type {other:?}"
                )))
            }
        }
        Ok(Ptr {
            ty,
            ptr_ty,
            root: Root::Handles {
                var: id,
                index: if arrayed {
                    None
                } else {
                    Some(HandleIndex::Const(0))
                },
            },
        })
    }

    /// `OpLoad` through a handle pointer.
    pub fn load_handle(&mut self, p: &Ptr) -> Result<Handle> {
        let Root::Handles {
            var,
            index: Some(index),
        } = p.root
        else {
            return Err(FrontError::Unsupported(
                "loading a whole array of image or sampler descriptors".into(),
            ));
        };
        match self.m.types.get(p.ty)?.clone() {
            Type::Image(t) => Ok(Handle::Image(self.image_slot(var, index, &t, false)?)),
            Type::SampledImage { image } => {
                let Type::Image(t) = self.m.types.get(image)?.clone() else {
                    return malformed("sampled image of a non-image type");
                };
                let slot = self.image_slot(var, index, &t, true)?;
                Ok(Handle::SampledImage {
                    image: slot,
                    sampler: None,
                })
            }
            Type::Sampler => Ok(Handle::Sampler(self.sampler_slot(var, index)?)),
            _ => malformed("OpLoad of a UniformConstant variable of a non-handle type"),
        }
    }

    fn descriptor(&self, var: Id) -> Result<(u32, u32)> {
        let d = &self.m.decos;
        match (d.set.get(&var), d.binding.get(&var)) {
            (Some(s), Some(b)) => Ok((*s, *b)),
            _ => malformed(format!(
                "image or sampler variable %{var} lacks DescriptorSet/Binding"
            )),
        }
    }

    /// The slot of element `index` of image variable `var`. A dynamic index takes a run of
    /// consecutive slots for all elements: the slots already given to them when those are
    /// consecutive, else a fresh run (which later constant indices then share).
    fn image_slot(
        &mut self,
        var: Id,
        index: HandleIndex,
        t: &ImageType,
        combined: bool,
    ) -> Result<Slot> {
        let (set, binding) = self.descriptor(var)?;
        let binding_of = |array_index: u32| ImageBinding {
            set,
            binding,
            array_index,
            kind: image_kind(t, combined),
            dim: t.dim,
            arrayed: t.arrayed,
            multisampled: t.multisampled,
            format: t.format,
            sampled_type: t.sampled_type,
        };
        let mem = &mut self.mem;
        Ok(index.slot(&mut mem.images, &mut mem.image_slots, var, binding_of))
    }

    fn sampler_slot(&mut self, var: Id, index: HandleIndex) -> Result<Slot> {
        let (set, binding) = self.descriptor(var)?;
        let binding_of = |array_index: u32| SamplerBinding {
            set,
            binding,
            array_index,
        };
        let mem = &mut self.mem;
        Ok(index.slot(&mut mem.samplers, &mut mem.sampler_slots, var, binding_of))
    }

    /// A handle operand.
    pub fn handle(&mut self, id: Id) -> Result<Handle> {
        match self.value(id)? {
            Value::Handle(h) => Ok(h),
            _ => malformed(format!("%{id} is not an image, sampler or sampled image")),
        }
    }

    /// The image slot of an image (or sampled image) operand.
    pub fn image_operand(&mut self, id: Id) -> Result<Slot> {
        match self.handle(id)? {
            Handle::Image(s) | Handle::SampledImage { image: s, .. } => Ok(s),
            _ => malformed(format!("%{id} is not an image")),
        }
    }

    /// `OpSampledImage`, `OpImage`, `OpImageTexelPointer`.
    pub fn handle_inst(&mut self, inst: &Instruction) -> Result<()> {
        let id = result_id(inst)?;
        let h = match inst.class.opcode {
            spirv::Op::SampledImage => {
                let image = match self.handle(id_at(inst, 0)?)? {
                    Handle::Image(s) => s,
                    _ => return malformed("OpSampledImage of a non-image"),
                };
                let Handle::Sampler(sampler) = self.handle(id_at(inst, 1)?)? else {
                    return malformed("OpSampledImage with a non-sampler");
                };
                if self.mem.images.get(image.first as usize).map(|b| b.kind)
                    != Some(ImageKind::Sampled)
                {
                    return malformed("OpSampledImage of an image that is not a sampled image");
                }
                Handle::SampledImage {
                    image,
                    sampler: Some(sampler),
                }
            }
            spirv::Op::Image => match self.handle(id_at(inst, 0)?)? {
                Handle::SampledImage { image, .. } => Handle::Image(image),
                _ => return malformed("OpImage of a non-sampled image"),
            },
            _ => {
                // OpImageTexelPointer: Image is a pointer to an image variable.
                let p = self.ptr(id_at(inst, 0)?)?;
                if !matches!(p.root, Root::Handles { .. }) {
                    return malformed("OpImageTexelPointer of a non-image pointer");
                }
                let Handle::Image(image) = self.load_handle(&p)? else {
                    return malformed("OpImageTexelPointer of a non-image pointer");
                };
                let Some(b) = self.mem.images.get(image.first as usize).copied() else {
                    return malformed("image slot lost");
                };
                let (_, coords) = self.data(id_at(inst, 1)?)?;
                let n = crate::ir::coord_count(crate::ir::ImageOpKind::AtomicStore, &b);
                let Some(coords) = coords.get(..n) else {
                    return malformed("OpImageTexelPointer coordinate has too few components");
                };
                let sample = if b.multisampled {
                    Some(self.scalar(id_at(inst, 2)?)?)
                } else {
                    None
                };
                Handle::Texel {
                    image,
                    coords: coords.to_vec(),
                    sample,
                }
            }
        };
        self.bind(id, Value::Handle(h))
    }
}

/// The slot of element `first` (with `len == 1`) or the first slot of a run for elements
/// `first..first + len` of variable `var`: reuses the slots already given when they are
/// consecutive, else appends new bindings made by `binding_of(element)`.
pub(super) fn run_of<B>(
    bindings: &mut Vec<B>,
    slots: &mut std::collections::HashMap<(Id, u32), u32>,
    var: Id,
    first: u32,
    len: u32,
    binding_of: impl Fn(u32) -> B,
) -> u32 {
    if let Some(&s) = slots.get(&(var, first)) {
        let consecutive = (1..len).all(|i| {
            first
                .checked_add(i)
                .zip(s.checked_add(i))
                .is_some_and(|(e, want)| slots.get(&(var, e)) == Some(&want))
        });
        if consecutive {
            return s;
        }
    }
    let start = bindings.len() as u32;
    for i in 0..len {
        let element = first.saturating_add(i);
        slots.insert((var, element), start.saturating_add(i));
        bindings.push(binding_of(element));
    }
    start
}
