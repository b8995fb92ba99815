//! [`ImageTable`]: a module's image and sampler slots resolved against the bound descriptors
//! once per draw or dispatch, owning what the context's `ImageResources` points to for as
//! long as any kernel call of that draw or dispatch may run (deferred draws keep it in their
//! stage resources).

use std::ffi::c_void;

use shader::abi::{ImageResources, ImageSlot};
use shader::ir::{ImageBinding, ImageDim, ImageKind, SamplerBinding};

use crate::descriptor::DescriptorSource;
use crate::error::RendererError;

use super::helper::image_op;
use super::resolved::{ResolvedImage, ResolvedSampler};
use super::{ImageDescriptor, ViewType};

/// The image and sampler slots of one stage or kernel, resolved.
#[derive(Debug, Default)]
pub struct ImageTable {
    slots: Vec<ImageSlot>,
    samplers: Vec<*const c_void>,
    /// What `slots` and `samplers` point into: filled before the pointers are taken and
    /// never changed after, so the elements stay where they are (moving the table moves
    /// only the vectors' headers).
    images: Vec<ResolvedImage>,
    sampler_objects: Vec<ResolvedSampler>,
    /// Per image slot: its image and own sampler in `images` / `sampler_objects` (`None`: a
    /// null descriptor).
    image_index: Vec<Option<(usize, Option<usize>)>>,
    /// Per separate-sampler slot: its sampler in `sampler_objects`.
    sampler_index: Vec<Option<usize>>,
    /// The module has image or sampler slots (the helper is offered).
    used: bool,
}

// SAFETY: the raw pointers point into the vectors owned by the table, which are never mutated
// after construction; `ResolvedImage` and `ResolvedSampler` are themselves `Send + Sync`
// (images and buffers are shareable handles), so sharing the table shares only those.
unsafe impl Send for ImageTable {}
// SAFETY: as for `Send`: immutable after construction.
unsafe impl Sync for ImageTable {}

fn mismatch(slot: &ImageBinding, reason: String) -> RendererError {
    RendererError::Descriptor {
        set: slot.set,
        binding: slot.binding,
        array_index: slot.array_index,
        reason,
    }
}

/// Whether a view of `view` type fits an image slot of `dim` (arrayed or not).
fn view_fits(dim: ImageDim, arrayed: bool, view: ViewType) -> bool {
    match dim {
        ImageDim::D1 => {
            view == if arrayed {
                ViewType::D1Array
            } else {
                ViewType::D1
            }
        }
        ImageDim::D2 => {
            view == if arrayed {
                ViewType::D2Array
            } else {
                ViewType::D2
            }
        }
        ImageDim::D3 => view == ViewType::D3 && !arrayed,
        ImageDim::Cube => {
            view == if arrayed {
                ViewType::CubeArray
            } else {
                ViewType::Cube
            }
        }
        ImageDim::SubpassData => matches!(view, ViewType::D2 | ViewType::D2Array),
        ImageDim::Buffer => false,
    }
}

/// Resolves one image slot: `None` for a null descriptor.
fn resolve_image(
    slot: &ImageBinding,
    bound: Option<ImageDescriptor>,
) -> Result<Option<(ResolvedImage, Option<ResolvedSampler>)>, RendererError> {
    let Some(bound) = bound else {
        return Ok(None);
    };
    let texel_buffer_slot = matches!(
        slot.kind,
        ImageKind::UniformTexelBuffer | ImageKind::StorageTexelBuffer
    );
    match bound {
        ImageDescriptor::TexelBuffer(view) => {
            if !texel_buffer_slot || slot.dim != ImageDim::Buffer {
                return Err(mismatch(
                    slot,
                    format!("a texel buffer is bound to a {:?} image slot", slot.kind),
                ));
            }
            Ok(Some((ResolvedImage::from_buffer_view(&view)?, None)))
        }
        ImageDescriptor::Image { view, sampler } => {
            if texel_buffer_slot {
                return Err(mismatch(
                    slot,
                    format!("an image view is bound to a {:?} slot", slot.kind),
                ));
            }
            if slot.multisampled {
                return Err(mismatch(
                    slot,
                    "multisampled images are not supported".to_string(),
                ));
            }
            if !view_fits(slot.dim, slot.arrayed, view.view_type) {
                return Err(mismatch(
                    slot,
                    format!(
                        "a {:?} view does not fit a {:?}{} image slot",
                        view.view_type,
                        slot.dim,
                        if slot.arrayed { " array" } else { "" }
                    ),
                ));
            }
            let own_sampler = match (slot.kind, sampler) {
                (ImageKind::CombinedImageSampler, Some(s)) => Some(ResolvedSampler::new(&s)),
                (ImageKind::CombinedImageSampler, None) => {
                    return Err(mismatch(
                        slot,
                        "a combined image sampler slot is bound without a sampler".to_string(),
                    ))
                }
                _ => None,
            };
            let image =
                ResolvedImage::from_view(&view).map_err(|e| mismatch(slot, e.to_string()))?;
            Ok(Some((image, own_sampler)))
        }
    }
}

impl ImageTable {
    /// A table for a module without image or sampler slots.
    pub fn none() -> ImageTable {
        ImageTable::default()
    }

    /// Resolves every image slot and separate-sampler slot of a module through `source`.
    /// An unbound slot is a null descriptor; a descriptor of the wrong kind for its slot, or
    /// a view that does not fit the slot's dimensionality, is an error.
    pub fn resolve(
        images: &[ImageBinding],
        samplers: &[SamplerBinding],
        source: &dyn DescriptorSource,
    ) -> Result<ImageTable, RendererError> {
        let mut table = ImageTable {
            used: !images.is_empty() || !samplers.is_empty(),
            ..ImageTable::default()
        };
        // Resolve everything first, then take pointers: the vectors do not grow afterwards,
        // so their elements never move while the table lives.
        let mut image_refs = Vec::with_capacity(images.len());
        for slot in images {
            let bound = source.image_descriptor(slot.set, slot.binding, slot.array_index)?;
            image_refs.push(match resolve_image(slot, bound)? {
                None => None,
                Some((image, sampler)) => {
                    table.images.push(image);
                    let own = sampler.map(|s| {
                        table.sampler_objects.push(s);
                        table.sampler_objects.len() - 1
                    });
                    Some((table.images.len() - 1, own))
                }
            });
        }
        let mut sampler_refs = Vec::with_capacity(samplers.len());
        for slot in samplers {
            let bound = source.sampler_descriptor(slot.set, slot.binding, slot.array_index)?;
            sampler_refs.push(bound.map(|s| {
                table.sampler_objects.push(ResolvedSampler::new(&s));
                table.sampler_objects.len() - 1
            }));
        }
        let sampler_ptr = |i: Option<usize>| {
            i.and_then(|i| table.sampler_objects.get(i))
                .map_or(std::ptr::null(), |s| std::ptr::from_ref(s).cast::<c_void>())
        };
        let slots = image_refs
            .iter()
            .map(|&r| match r {
                None => ImageSlot {
                    image: std::ptr::null(),
                    sampler: std::ptr::null(),
                },
                Some((i, own)) => ImageSlot {
                    image: table.images.get(i).map_or(std::ptr::null(), |img| {
                        std::ptr::from_ref(img).cast::<c_void>()
                    }),
                    sampler: sampler_ptr(own),
                },
            })
            .collect();
        let sampler_ptrs = sampler_refs.iter().copied().map(sampler_ptr).collect();
        table.slots = slots;
        table.samplers = sampler_ptrs;
        table.image_index = image_refs;
        table.sampler_index = sampler_refs;
        Ok(table)
    }

    /// The context's `image_resources`: valid while `self` lives. [`ImageResources::NONE`]
    /// for a module without slots.
    pub fn resources(&self) -> ImageResources {
        if !self.used {
            return ImageResources::NONE;
        }
        ImageResources {
            images: if self.slots.is_empty() {
                std::ptr::null()
            } else {
                self.slots.as_ptr()
            },
            samplers: if self.samplers.is_empty() {
                std::ptr::null()
            } else {
                self.samplers.as_ptr()
            },
            image_op: Some(image_op),
        }
    }

    /// Image slot `image` and the sampler a sampling operation on it uses: separate-sampler
    /// slot `sampler`, or the image slot's own (combined) sampler for `None`. `None` where
    /// either is a null descriptor or missing.
    pub(crate) fn sampled(
        &self,
        image: u32,
        sampler: Option<u32>,
    ) -> Option<(&ResolvedImage, &ResolvedSampler)> {
        let (i, own) = (*self.image_index.get(image as usize)?)?;
        let s = match sampler {
            None => own?,
            Some(slot) => (*self.sampler_index.get(slot as usize)?)?,
        };
        Some((self.images.get(i)?, self.sampler_objects.get(s)?))
    }

    /// The resolved image slots, in `Module::images` order.
    pub fn slots(&self) -> &[ImageSlot] {
        &self.slots
    }

    /// The separate-sampler pointers, in `Module::samplers` order (null: unbound).
    pub fn samplers(&self) -> &[*const c_void] {
        &self.samplers
    }
}
