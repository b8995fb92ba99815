//! Descriptor sets and their updates (vkAllocateDescriptorSets, vkUpdateDescriptorSets'
//! writes and copies) for every descriptor type.
//!
//! A set stores, per descriptor, object ids and validated ranges — not memory: buffers, image
//! views and buffer views are looked up again and their memory resolved per submission
//! (`submit::BoundDescriptors`), so a destroyed object makes a later draw or dispatch that
//! uses the descriptor fail cleanly. Samplers are immutable values; a written sampler keeps
//! its id too, so that using it after vkDestroySampler fails the same way.

use std::sync::Arc;

use protocol::format::feature;
use protocol::image::Tiling;
use protocol::sampler::DescriptorImageInfo;
use protocol::stream::{DescriptorBufferInfo, WHOLE_SIZE};
use renderer::sampler::Sampler;
use renderer::MIN_BUFFER_OFFSET_ALIGNMENT;

use super::buffer::{usage as buffer_usage, Buffers};
use super::descriptor::{DescriptorKind, LayoutBinding, SetLayout};
use super::image::{is_identity_swizzle, usage as image_usage, ImageViewObject, Images, ViewType};
use super::sampler::Samplers;
use super::ExecError;

/// A sampler written into a set: its id (0 when it came from a layout's immutable samplers,
/// through a copy) and its value.
#[derive(Clone, Debug)]
pub(crate) struct WrittenSampler {
    pub(crate) id: u64,
    pub(crate) sampler: Sampler,
}

/// One written descriptor.
#[derive(Clone, Debug)]
pub(crate) enum Descriptor {
    /// A uniform or storage buffer (dynamic or not): a buffer and the validated range.
    Buffer {
        buffer: u64,
        offset: u64,
        range: u64,
    },
    /// A sampled, storage or input-attachment image, or a combined image sampler's view and
    /// sampler (`None` where the binding's immutable sampler applies).
    Image {
        view: u64,
        sampler: Option<WrittenSampler>,
    },
    Sampler(WrittenSampler),
    /// A texel-buffer view.
    TexelBuffer(u64),
}

pub(crate) struct DescriptorSetObject {
    pub(crate) layout: Arc<SetLayout>,
    pub(crate) entries: Vec<Option<Descriptor>>,
}

/// The objects a write may name.
pub(crate) struct WriteSources<'a> {
    pub(crate) images: &'a Images,
    pub(crate) samplers: &'a Samplers,
}

/// The types `WriteDescriptorSet` carries.
const BUFFER_KINDS: &[DescriptorKind] = &[
    DescriptorKind::Uniform,
    DescriptorKind::Storage,
    DescriptorKind::UniformDynamic,
    DescriptorKind::StorageDynamic,
];
/// The types `WriteDescriptorImages` carries.
const IMAGE_KINDS: &[DescriptorKind] = &[
    DescriptorKind::Sampler,
    DescriptorKind::CombinedImageSampler,
    DescriptorKind::SampledImage,
    DescriptorKind::StorageImage,
    DescriptorKind::InputAttachment,
];
/// The types `WriteDescriptorTexelBuffers` carries.
const TEXEL_BUFFER_KINDS: &[DescriptorKind] = &[
    DescriptorKind::UniformTexelBuffer,
    DescriptorKind::StorageTexelBuffer,
];

fn invalid(message: String) -> ExecError {
    ExecError::Invalid(message)
}

impl DescriptorSetObject {
    pub(crate) fn new(layout: Arc<SetLayout>) -> DescriptorSetObject {
        let entries = vec![None; layout.descriptor_count as usize];
        DescriptorSetObject { layout, entries }
    }

    /// Host bytes a set of `descriptors` descriptors holds.
    pub(crate) fn host_bytes(descriptors: u32) -> u64 {
        u64::from(descriptors).saturating_mul(std::mem::size_of::<Option<Descriptor>>() as u64)
    }

    /// The written descriptors of `count` elements from (binding, element), checked against
    /// the write's type (VUID-VkWriteDescriptorSet-descriptorType-00319); nothing changes until
    /// every descriptor is valid.
    fn store(
        &mut self,
        binding: u32,
        array_element: u32,
        (ty, carried): (u32, &[DescriptorKind]),
        count: usize,
        mut make: impl FnMut(&LayoutBinding, u32, usize) -> Result<Descriptor, ExecError>,
    ) -> Result<(), ExecError> {
        let kind = DescriptorKind::from_vk(ty)?;
        // Each write command carries one family of descriptor types.
        if !carried.contains(&kind) {
            return Err(invalid(format!(
                "{kind:?} descriptors cannot be written with this command"
            )));
        }
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        let elements = self.layout.consecutive(binding, array_element, count)?;
        let mut written = Vec::with_capacity(elements.len());
        for (i, &(b, element, slot)) in elements.iter().enumerate() {
            if b.kind != kind {
                return Err(invalid(format!(
                    "binding {} is {:?}, the write is {kind:?}",
                    b.binding, b.kind
                )));
            }
            let d = make(b, element, i)
                .map_err(|e| invalid(format!("binding {}[{element}]: {e}", b.binding)))?;
            written.push((slot, d));
        }
        for (slot, d) in written {
            if let Some(e) = self.entries.get_mut(slot) {
                *e = Some(d);
            }
        }
        Ok(())
    }

    /// One VkWriteDescriptorSet of buffer descriptors.
    pub(crate) fn write_buffers(
        &mut self,
        binding: u32,
        array_element: u32,
        ty: u32,
        infos: &[DescriptorBufferInfo],
        buffers: &Buffers,
    ) -> Result<(), ExecError> {
        let carried = (ty, BUFFER_KINDS);
        self.store(binding, array_element, carried, infos.len(), |b, _, i| {
            validate_buffer_info(b.kind, &infos[i], buffers)
        })
    }

    /// One VkWriteDescriptorSet of sampler, image or input-attachment descriptors.
    pub(crate) fn write_images(
        &mut self,
        binding: u32,
        array_element: u32,
        ty: u32,
        infos: &[DescriptorImageInfo],
        sources: &WriteSources<'_>,
    ) -> Result<(), ExecError> {
        let carried = (ty, IMAGE_KINDS);
        self.store(
            binding,
            array_element,
            carried,
            infos.len(),
            |b, element, i| image_descriptor(b, element, &infos[i], sources),
        )
    }

    /// One VkWriteDescriptorSet of texel-buffer descriptors.
    pub(crate) fn write_texel_buffers(
        &mut self,
        binding: u32,
        array_element: u32,
        ty: u32,
        views: &[u64],
        samplers: &Samplers,
    ) -> Result<(), ExecError> {
        let carried = (ty, TEXEL_BUFFER_KINDS);
        self.store(binding, array_element, carried, views.len(), |b, _, i| {
            let id = views[i];
            let view = samplers.buffer_views.get(id)?;
            // VUID-VkWriteDescriptorSet-descriptorType-00334 / -00335: the buffer's usage.
            let needed = match b.kind {
                DescriptorKind::UniformTexelBuffer => buffer_usage::UNIFORM_TEXEL_BUFFER,
                _ => buffer_usage::STORAGE_TEXEL_BUFFER,
            };
            if view.usage & needed == 0 {
                return Err(invalid(format!(
                    "buffer view {id}'s buffer lacks usage {needed:#x} for {:?}",
                    b.kind
                )));
            }
            Ok(Descriptor::TexelBuffer(id))
        })
    }

    /// The descriptors a VkCopyDescriptorSet reads, with the layout's immutable samplers made
    /// explicit (the destination may not have them).
    pub(crate) fn copy_out(
        &self,
        binding: u32,
        array_element: u32,
        count: u32,
    ) -> Result<(DescriptorKind, Vec<Option<Descriptor>>), ExecError> {
        let elements = self.layout.consecutive(binding, array_element, count)?;
        let kind = elements
            .first()
            .map_or(DescriptorKind::Sampler, |e| e.0.kind);
        let out = elements
            .iter()
            .map(|&(b, element, slot)| {
                let entry = self.entries.get(slot).cloned().flatten();
                let immutable = b.immutable_sampler(element).map(|s| WrittenSampler {
                    id: 0,
                    sampler: s.clone(),
                });
                match (entry, immutable) {
                    (_, Some(s)) if b.kind == DescriptorKind::Sampler => {
                        Some(Descriptor::Sampler(s))
                    }
                    (Some(Descriptor::Image { view, .. }), Some(s)) => Some(Descriptor::Image {
                        view,
                        sampler: Some(s),
                    }),
                    (entry, _) => entry,
                }
            })
            .collect();
        Ok((kind, out))
    }

    /// The writing half of a VkCopyDescriptorSet.
    pub(crate) fn copy_in(
        &mut self,
        binding: u32,
        array_element: u32,
        kind: DescriptorKind,
        entries: Vec<Option<Descriptor>>,
    ) -> Result<(), ExecError> {
        let count = u32::try_from(entries.len()).unwrap_or(u32::MAX);
        let elements = self.layout.consecutive(binding, array_element, count)?;
        let mut written = Vec::with_capacity(elements.len());
        for (&(b, _, slot), entry) in elements.iter().zip(entries) {
            // VUID-VkCopyDescriptorSet-dstBinding-02632: same descriptor type.
            if b.kind != kind {
                return Err(invalid(format!(
                    "copy from {kind:?} descriptors into {:?} binding {}",
                    b.kind, b.binding
                )));
            }
            let has_immutable = !b.immutable_samplers.is_empty();
            // VUID-VkCopyDescriptorSet-dstBinding-02753: no sampler copies into immutable
            // sampler bindings.
            if has_immutable && kind == DescriptorKind::Sampler {
                return Err(invalid(format!(
                    "copy into sampler binding {}, which has immutable samplers",
                    b.binding
                )));
            }
            // Combined image samplers keep the destination's immutable samplers.
            let entry = match entry {
                Some(Descriptor::Image { view, .. }) if has_immutable => Some(Descriptor::Image {
                    view,
                    sampler: None,
                }),
                other => other,
            };
            written.push((slot, entry));
        }
        for (slot, entry) in written {
            if let Some(e) = self.entries.get_mut(slot) {
                *e = entry;
            }
        }
        Ok(())
    }
}

/// A written sampler: it must exist.
fn written_sampler(id: u64, samplers: &Samplers) -> Result<WrittenSampler, ExecError> {
    Ok(WrittenSampler {
        id,
        sampler: samplers.samplers.get(id)?.clone(),
    })
}

/// VkDescriptorImageInfo rules for element `element` of binding `b`.
fn image_descriptor(
    b: &LayoutBinding,
    element: u32,
    info: &DescriptorImageInfo,
    sources: &WriteSources<'_>,
) -> Result<Descriptor, ExecError> {
    let immutable = b.immutable_sampler(element);
    if b.kind == DescriptorKind::Sampler {
        // VUID-VkWriteDescriptorSet-descriptorType-02752: not into immutable samplers.
        if immutable.is_some() {
            return Err(invalid(
                "the binding has immutable samplers; it cannot be written".into(),
            ));
        }
        return Ok(Descriptor::Sampler(written_sampler(
            info.sampler,
            sources.samplers,
        )?));
    }
    let view = sources.images.view(info.image_view)?;
    let (needed_usage, what) = match b.kind {
        // VUID-VkWriteDescriptorSet-descriptorType-00337.
        DescriptorKind::SampledImage | DescriptorKind::CombinedImageSampler => {
            (image_usage::SAMPLED, "SAMPLED")
        }
        // VUID-VkWriteDescriptorSet-descriptorType-00339.
        DescriptorKind::StorageImage => (image_usage::STORAGE, "STORAGE"),
        // VUID-VkWriteDescriptorSet-descriptorType-00338.
        DescriptorKind::InputAttachment => (image_usage::INPUT_ATTACHMENT, "INPUT_ATTACHMENT"),
        other => return Err(invalid(format!("{other:?} is not an image type"))),
    };
    if view.image.usage & needed_usage == 0 {
        return Err(invalid(format!(
            "image view {} (image {}) lacks usage {what}",
            info.image_view, view.image_id
        )));
    }
    check_view_for(b.kind, info.image_view, view)?;
    // A combined image sampler's sampler: the layout's immutable one (the written one is
    // ignored, Vulkan §14.2.4), or the written one, which must exist.
    let sampler = match (b.kind, immutable) {
        (DescriptorKind::CombinedImageSampler, None) => {
            Some(written_sampler(info.sampler, sources.samplers)?)
        }
        _ => None,
    };
    let effective = sampler.as_ref().map(|s| &s.sampler).or(immutable);
    if effective.is_some_and(|s| s.state().unnormalized_coordinates) {
        // Vulkan §13 (unnormalizedCoordinates): a 1D or 2D view of one level and layer.
        if !matches!(view.view_type, ViewType::D1 | ViewType::D2) || view.level_count != 1 {
            return Err(invalid(format!(
                "image view {} is not a single-level 1D/2D view, as a sampler with \
                 unnormalized coordinates requires",
                info.image_view
            )));
        }
    }
    Ok(Descriptor::Image {
        view: info.image_view,
        sampler,
    })
}

/// The view format's features in its image's tiling.
fn tiling_features(view: &ImageViewObject) -> u32 {
    let features = view.format.features();
    match view.image.desc.tiling {
        Tiling::Optimal => features.optimal_tiling,
        Tiling::Linear => features.linear_tiling,
    }
}

/// What the descriptor type needs of the view beyond usage.
fn check_view_for(kind: DescriptorKind, id: u64, view: &ImageViewObject) -> Result<(), ExecError> {
    let format = view.format;
    let bad = |why: &str| invalid(format!("image view {id} ({format:?}): {why}"));
    // VUID-VkDescriptorImageInfo-imageView-01976: a depth/stencil view names one aspect.
    if !format.is_color() && view.aspect_mask.count_ones() != 1 {
        return Err(bad("a depth/stencil view must name exactly one aspect"));
    }
    match kind {
        DescriptorKind::StorageImage => {
            let features = tiling_features(view);
            if features & feature::STORAGE_IMAGE == 0 {
                return Err(bad("the format does not support storage images"));
            }
            // Vulkan: a storage image view has one mip level and the identity swizzle.
            if view.level_count != 1 || !is_identity_swizzle(view.components) {
                return Err(bad(
                    "a storage image view needs one mip level and the identity swizzle",
                ));
            }
        }
        DescriptorKind::InputAttachment => {
            if !is_identity_swizzle(view.components) {
                return Err(bad("an input attachment view needs the identity swizzle"));
            }
        }
        _ => {
            let features = tiling_features(view);
            if features & feature::SAMPLED_IMAGE == 0 {
                return Err(bad("the format cannot be sampled"));
            }
        }
    }
    Ok(())
}

/// VkDescriptorBufferInfo rules (VUID-VkDescriptorBufferInfo-offset-00340, -range-00341,
/// -range-00342, VUID-VkWriteDescriptorSet-descriptorType-00327/00328 (alignment),
/// -00329 (memory bound), -00330/00331 (usage), -00332/00333 (maximum range)).
fn validate_buffer_info(
    kind: DescriptorKind,
    info: &DescriptorBufferInfo,
    buffers: &Buffers,
) -> Result<Descriptor, ExecError> {
    let Some((required_usage, max_range)) = kind.buffer_rules() else {
        return Err(invalid(format!("{kind:?} is not a buffer type")));
    };
    let id = info.buffer;
    let buffer = buffers.get(id)?;
    let bad = |why: &str| {
        invalid(format!(
            "buffer {id} offset {} range {}: {why}",
            info.offset, info.range
        ))
    };
    if buffer.memory.is_none() {
        return Err(bad("no memory bound"));
    }
    if buffer.usage & required_usage == 0 {
        return Err(bad(
            "the buffer's usage does not allow this descriptor type",
        ));
    }
    if info.offset % MIN_BUFFER_OFFSET_ALIGNMENT != 0 {
        return Err(bad("offset is not aligned"));
    }
    if info.offset >= buffer.size {
        return Err(bad("offset is past the end"));
    }
    let range = if info.range == WHOLE_SIZE {
        buffer.size - info.offset
    } else {
        info.range
    };
    if range == 0 || range > buffer.size - info.offset {
        return Err(bad("range is empty or past the end"));
    }
    if range > max_range {
        return Err(bad("range exceeds the limit for the type"));
    }
    Ok(Descriptor::Buffer {
        buffer: id,
        offset: info.offset,
        range,
    })
}
