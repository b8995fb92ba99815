//! Images and image views (vkCreateImage, vkBindImageMemory, vkCreateImageView and their
//! destroys).
//!
//! An image is validated once, at creation, against `protocol::image::ImageDesc` and the
//! format table's features for its tiling (the ICD reports exactly those, so anything else is
//! refused). Its bound memory is kept as a [`GuestLocation`]; the renderer image (a window into
//! the resource's view) is made per submission by [`GuestScope::image`], like buffers.
//!
//! A view keeps an `Arc` of the bound image it was made from (Vulkan requires the image to be
//! bound before a view is created), so a view never looks its image up again: destroying an
//! image under a live view is the application's error and can only make the view write into
//! guest memory the guest owns, never anywhere else.

use std::sync::Arc;

use protocol::format::{feature, Format};
use protocol::graphics::{ImageCreateInfo, ImageSubresourceRange, ImageViewCreateInfo};
use protocol::image::{ImageDesc, ImageLayout, ImageType, Tiling, REMAINING};
use protocol::stream::GuestLocation;
use renderer::image::{Image, SubresourceLayers, SubresourceRange};

use super::guest::GuestScope;
use super::objects::ObjectTable;
use super::ExecError;

/// `VkImageUsageFlagBits`.
pub(crate) mod usage {
    pub const TRANSFER_SRC: u32 = 0x1;
    pub const TRANSFER_DST: u32 = 0x2;
    pub const SAMPLED: u32 = 0x4;
    pub const STORAGE: u32 = 0x8;
    pub const COLOR_ATTACHMENT: u32 = 0x10;
    pub const DEPTH_STENCIL_ATTACHMENT: u32 = 0x20;
    pub const TRANSIENT_ATTACHMENT: u32 = 0x40;
    pub const INPUT_ATTACHMENT: u32 = 0x80;
    pub const ALL: u32 = 0xff;
}

/// `VkImageCreateFlagBits` the device accepts: MUTABLE_FORMAT, CUBE_COMPATIBLE,
/// 2D_ARRAY_COMPATIBLE and ALIAS (a no-op: memory is the guest's). Sparse and the rest are
/// not offered.
mod create_flags {
    pub const MUTABLE_FORMAT: u32 = 0x8;
    pub const CUBE_COMPATIBLE: u32 = 0x10;
    pub const ARRAY_2D_COMPATIBLE: u32 = 0x20;
    pub const ALIAS: u32 = 0x400;
    pub const ACCEPTED: u32 = MUTABLE_FORMAT | CUBE_COMPATIBLE | ARRAY_2D_COMPATIBLE | ALIAS;
}

/// `VkImageViewType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ViewType {
    D1,
    D2,
    D3,
    Cube,
    D1Array,
    D2Array,
    CubeArray,
}

impl ViewType {
    fn from_vk(raw: u32) -> Result<ViewType, ExecError> {
        Ok(match raw {
            0 => ViewType::D1,
            1 => ViewType::D2,
            2 => ViewType::D3,
            3 => ViewType::Cube,
            4 => ViewType::D1Array,
            5 => ViewType::D2Array,
            6 => ViewType::CubeArray,
            _ => return Err(invalid(format!("unknown VkImageViewType {raw}"))),
        })
    }
}

impl ViewType {
    /// The sampling library's form.
    pub(crate) fn sampling(self) -> renderer::sampler::ViewType {
        use renderer::sampler::ViewType as S;
        match self {
            ViewType::D1 => S::D1,
            ViewType::D2 => S::D2,
            ViewType::D3 => S::D3,
            ViewType::Cube => S::Cube,
            ViewType::D1Array => S::D1Array,
            ViewType::D2Array => S::D2Array,
            ViewType::CubeArray => S::CubeArray,
        }
    }
}

fn invalid(message: String) -> ExecError {
    ExecError::Invalid(message)
}

/// An image: its validated description and usage, and once bound, its memory.
#[derive(Debug)]
pub(crate) struct ImageObject {
    pub(crate) desc: ImageDesc,
    pub(crate) usage: u32,
    flags: u32,
    /// Bytes of memory the image needs (`ImageLayout::size`).
    size: u64,
    pub(crate) memory: Option<GuestLocation>,
}

impl ImageObject {
    /// vkCreateImage's valid usage: type, format, extent, levels, layers, samples 1, tiling,
    /// flags, and usage the format supports in that tiling (VUID-VkImageCreateInfo-
    /// imageCreateMaxMipLevels-02251 and kin: what vkGetPhysicalDeviceImageFormatProperties
    /// reports, which is `Format::features()`).
    pub(crate) fn new(info: &ImageCreateInfo) -> Result<ImageObject, ExecError> {
        let image_type = match info.image_type {
            0 => ImageType::D1,
            1 => ImageType::D2,
            2 => ImageType::D3,
            raw => return Err(invalid(format!("unknown VkImageType {raw}"))),
        };
        let format = Format::from_vk(info.format).map_err(|e| invalid(e.to_string()))?;
        let tiling = match info.tiling {
            0 => Tiling::Optimal,
            1 => Tiling::Linear,
            raw => return Err(invalid(format!("unsupported VkImageTiling {raw}"))),
        };
        if info.samples != 1 {
            return Err(invalid(format!(
                "{} samples: only VK_SAMPLE_COUNT_1_BIT is offered",
                info.samples
            )));
        }
        if info.flags & !create_flags::ACCEPTED != 0 {
            return Err(invalid(format!(
                "image create flags {:#x} are not supported",
                info.flags & !create_flags::ACCEPTED
            )));
        }
        let desc = ImageDesc {
            image_type,
            format,
            extent: info.extent,
            mip_levels: info.mip_levels,
            array_layers: info.array_layers,
            tiling,
        };
        let size = ImageLayout::new(&desc)
            .map_err(|e| invalid(e.to_string()))?
            .size();
        // VUID-VkImageCreateInfo-flags-00949: cube-compatible images are square 2D with at
        // least 6 layers; -flags-00950: 2D-array-compatible images are 3D.
        if info.flags & create_flags::CUBE_COMPATIBLE != 0
            && (image_type != ImageType::D2
                || info.extent[0] != info.extent[1]
                || info.array_layers < 6)
        {
            return Err(invalid(
                "CUBE_COMPATIBLE image that is not square 2D with ≥ 6 layers".into(),
            ));
        }
        if info.flags & create_flags::ARRAY_2D_COMPATIBLE != 0 && image_type != ImageType::D3 {
            return Err(invalid("2D_ARRAY_COMPATIBLE image that is not 3D".into()));
        }
        check_usage(format, tiling, info.usage)?;
        Ok(ImageObject {
            desc,
            usage: info.usage,
            flags: info.flags,
            size,
            memory: None,
        })
    }

    pub(crate) fn format(&self) -> Format {
        self.desc.format
    }

    /// The renderer image over this image's memory, for this submission.
    pub(crate) fn resolve(&self, id: u64, scope: &GuestScope<'_>) -> Result<Image, ExecError> {
        let memory = self
            .memory
            .ok_or_else(|| invalid(format!("image {id} has no memory bound")))?;
        scope.image(self.desc, memory.resource, memory.offset)
    }

    /// `required` (image usage bits) must all be among the image's usage.
    pub(crate) fn check_usage(&self, id: u64, required: u32) -> Result<(), ExecError> {
        if self.usage & required != required {
            return Err(invalid(format!(
                "image {id} lacks usage {required:#x} (has {:#x})",
                self.usage
            )));
        }
        Ok(())
    }
}

/// Usage bits must be known, non-empty, and each one backed by a feature of the format in
/// this tiling (VUID-VkImageCreateInfo-usage-requiredbitmask, -imageCreateMaxMipLevels-02251).
fn check_usage(format: Format, tiling: Tiling, bits: u32) -> Result<(), ExecError> {
    if bits == 0 || bits & !usage::ALL != 0 {
        return Err(invalid(format!(
            "image usage {bits:#x} is empty or unknown"
        )));
    }
    let features = match tiling {
        Tiling::Optimal => format.features().optimal_tiling,
        Tiling::Linear => format.features().linear_tiling,
    };
    let attachment = feature::COLOR_ATTACHMENT | feature::DEPTH_STENCIL_ATTACHMENT;
    let needs: [(u32, u32); 7] = [
        (usage::TRANSFER_SRC, feature::TRANSFER_SRC),
        (usage::TRANSFER_DST, feature::TRANSFER_DST),
        (usage::SAMPLED, feature::SAMPLED_IMAGE),
        (usage::STORAGE, feature::STORAGE_IMAGE),
        (usage::COLOR_ATTACHMENT, feature::COLOR_ATTACHMENT),
        (
            usage::DEPTH_STENCIL_ATTACHMENT,
            feature::DEPTH_STENCIL_ATTACHMENT,
        ),
        (usage::INPUT_ATTACHMENT, attachment),
    ];
    for (bit, wanted) in needs {
        if bits & bit != 0 && features & wanted == 0 {
            return Err(invalid(format!(
                "{format:?} with {tiling:?} tiling does not support image usage {bit:#x}"
            )));
        }
    }
    // VUID-VkImageCreateInfo-usage-00966: transient images are attachments.
    let attachments =
        usage::COLOR_ATTACHMENT | usage::DEPTH_STENCIL_ATTACHMENT | usage::INPUT_ATTACHMENT;
    if bits & usage::TRANSIENT_ATTACHMENT != 0 && bits & attachments == 0 {
        return Err(invalid(
            "TRANSIENT_ATTACHMENT usage without an attachment usage".into(),
        ));
    }
    Ok(())
}

/// `VkComponentSwizzle` (kept for sampling, issue 7).
fn check_swizzle(components: [u32; 4]) -> Result<[u32; 4], ExecError> {
    // IDENTITY, ZERO, ONE, R, G, B, A.
    if let Some(bad) = components.iter().find(|&&c| c > 6) {
        return Err(invalid(format!("unknown VkComponentSwizzle {bad}")));
    }
    Ok(components)
}

/// True when `components` is the identity mapping (IDENTITY or the component's own letter).
pub(crate) fn is_identity_swizzle(components: [u32; 4]) -> bool {
    components
        .iter()
        .enumerate()
        .all(|(i, &c)| c == 0 || c == 3 + i as u32)
}

/// An image view: the bound image it was made from and the subresources it names.
#[derive(Debug)]
pub(crate) struct ImageViewObject {
    pub(crate) image_id: u64,
    pub(crate) image: Arc<ImageObject>,
    /// Read by sampling; attachments are one level and layer range whatever the type.
    pub(crate) view_type: ViewType,
    pub(crate) format: Format,
    /// Read by sampling; attachments require the identity.
    pub(crate) components: [u32; 4],
    /// Read by sampling.
    pub(crate) aspect_mask: u32,
    pub(crate) base_level: u32,
    pub(crate) level_count: u32,
    pub(crate) base_layer: u32,
    pub(crate) layer_count: u32,
}

impl ImageViewObject {
    /// vkCreateImageView's valid usage (VUID-VkImageViewCreateInfo-image-01020: bound;
    /// -subresourceRange-01478/01480/01718..: ranges inside the image; -viewType-01004..:
    /// type compatible with the image; -image-01762 / -01019: format equal, or size-compatible
    /// with MUTABLE_FORMAT; -subresourceRange-09594: aspects the format has).
    pub(crate) fn new(
        info: &ImageViewCreateInfo,
        image: Arc<ImageObject>,
    ) -> Result<ImageViewObject, ExecError> {
        let id = info.image;
        if image.memory.is_none() {
            return Err(invalid(format!("image {id} has no memory bound")));
        }
        let view_type = ViewType::from_vk(info.view_type)?;
        let desc = &image.desc;
        let format = Format::from_vk(info.format).map_err(|e| invalid(e.to_string()))?;
        let same_size_color = format.is_color()
            && desc.format.is_color()
            && format.texel_size() == desc.format.texel_size();
        if format != desc.format
            && !(image.flags & create_flags::MUTABLE_FORMAT != 0 && same_size_color)
        {
            return Err(invalid(format!(
                "view format {format:?} is not compatible with image {id}'s {:?}",
                desc.format
            )));
        }
        let components = check_swizzle(info.components)?;
        let range = &info.range;
        let aspects = range.aspect_mask;
        if aspects == 0 || aspects & desc.format.aspects() != aspects {
            return Err(invalid(format!(
                "aspect mask {aspects:#x} is not a subset of {:?}'s aspects",
                desc.format
            )));
        }
        let (base_level, level_count) = span(
            range.base_mip_level,
            range.level_count,
            desc.mip_levels,
            "mip levels",
        )?;
        let (base_layer, layer_count) = span(
            range.base_array_layer,
            range.layer_count,
            desc.array_layers,
            "array layers",
        )?;
        let type_ok = match (desc.image_type, view_type) {
            (ImageType::D1, ViewType::D1 | ViewType::D1Array) => true,
            (ImageType::D2, ViewType::D2 | ViewType::D2Array) => true,
            (ImageType::D2, ViewType::Cube | ViewType::CubeArray) => {
                image.flags & create_flags::CUBE_COMPATIBLE != 0
            }
            (ImageType::D3, ViewType::D3) => true,
            _ => false,
        };
        if !type_ok {
            return Err(invalid(format!(
                "a {view_type:?} view of a {:?} image is not supported",
                desc.image_type
            )));
        }
        // VUID-VkImageViewCreateInfo-viewType-02960/02961/02962/02963/04973.
        let layers_ok = match view_type {
            ViewType::D1 | ViewType::D2 | ViewType::D3 => layer_count == 1,
            ViewType::Cube => layer_count == 6,
            ViewType::CubeArray => layer_count % 6 == 0,
            ViewType::D1Array | ViewType::D2Array => true,
        };
        if !layers_ok {
            return Err(invalid(format!(
                "{layer_count} layers do not fit a {view_type:?} view"
            )));
        }
        Ok(ImageViewObject {
            image_id: id,
            image,
            view_type,
            format,
            components,
            aspect_mask: aspects,
            base_level,
            level_count,
            base_layer,
            layer_count,
        })
    }

    /// Extent of the view's base level.
    pub(crate) fn extent(&self) -> [u32; 3] {
        self.image.desc.mip_extent(self.base_level)
    }

    /// The view as sampling and storage-image access see it, over its image's memory for this
    /// submission (the image in its own format; `format` is the view's).
    pub(crate) fn sampling_view(
        &self,
        scope: &GuestScope<'_>,
    ) -> Result<renderer::sampler::ImageView, ExecError> {
        use renderer::sampler::ComponentSwizzle;
        let image = self.image.resolve(self.image_id, scope)?;
        let mut components = [ComponentSwizzle::Identity; 4];
        for (c, &raw) in components.iter_mut().zip(&self.components) {
            // Checked at creation (`check_swizzle`).
            *c = ComponentSwizzle::from_vk(raw)
                .ok_or_else(|| invalid(format!("unknown VkComponentSwizzle {raw}")))?;
        }
        Ok(renderer::sampler::ImageView {
            image,
            view_type: self.view_type.sampling(),
            format: self.format,
            components,
            aspect_mask: self.aspect_mask,
            base_level: self.base_level,
            level_count: self.level_count,
            base_layer: self.base_layer,
            layer_count: self.layer_count,
        })
    }

    /// The renderer image of this view's image, for this submission. A view with a
    /// different (size-compatible) format reinterprets the same bytes in that format.
    pub(crate) fn resolve(&self, scope: &GuestScope<'_>) -> Result<Image, ExecError> {
        let memory = self
            .image
            .memory
            .ok_or_else(|| invalid(format!("image {} has no memory bound", self.image_id)))?;
        let desc = ImageDesc {
            format: self.format,
            ..self.image.desc
        };
        scope.image(desc, memory.resource, memory.offset)
    }
}

/// `(base, count)` of a subresource range with `VK_REMAINING_*` resolved; non-empty and inside
/// `total`.
fn span(base: u32, count: u32, total: u32, what: &str) -> Result<(u32, u32), ExecError> {
    let count = if count == REMAINING {
        total.saturating_sub(base)
    } else {
        count
    };
    match base.checked_add(count) {
        Some(end) if count > 0 && end <= total => Ok((base, count)),
        _ => Err(invalid(format!(
            "{what} {base}..+{count} are outside the image's {total}"
        ))),
    }
}

/// The renderer's form of a wire subresource range (checked by the renderer).
pub(crate) fn subresource_range(r: &ImageSubresourceRange) -> SubresourceRange {
    SubresourceRange {
        aspect_mask: r.aspect_mask,
        base_mip_level: r.base_mip_level,
        level_count: r.level_count,
        base_array_layer: r.base_array_layer,
        layer_count: r.layer_count,
    }
}

/// The renderer's form of wire subresource layers (checked by the renderer).
pub(crate) fn subresource_layers(
    l: &protocol::graphics::ImageSubresourceLayers,
) -> SubresourceLayers {
    SubresourceLayers {
        aspect_mask: l.aspect_mask,
        mip_level: l.mip_level,
        base_array_layer: l.base_array_layer,
        layer_count: l.layer_count,
    }
}

/// The image and image-view tables of a context.
pub(crate) struct Images {
    pub(crate) images: ObjectTable<Arc<ImageObject>>,
    pub(crate) views: ObjectTable<Arc<ImageViewObject>>,
}

impl Images {
    pub(crate) fn new() -> Images {
        Images {
            images: ObjectTable::new("image"),
            views: ObjectTable::new("image view"),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.images.len() + self.views.len()
    }

    pub(crate) fn image(&self, id: u64) -> Result<&Arc<ImageObject>, ExecError> {
        self.images.get(id)
    }

    pub(crate) fn view(&self, id: u64) -> Result<&Arc<ImageViewObject>, ExecError> {
        self.views.get(id)
    }

    /// vkBindImageMemory: not bound before (VUID-vkBindImageMemory-image-07460), offset a
    /// multiple of the alignment (-memoryOffset-01048), the image fits (-size-01049).
    pub(crate) fn bind(
        &mut self,
        id: u64,
        memory: GuestLocation,
        scope: &GuestScope<'_>,
    ) -> Result<(), ExecError> {
        let image = self.images.get_mut(id)?;
        if image.memory.is_some() {
            return Err(invalid(format!("image {id} is already bound to memory")));
        }
        if memory.offset % protocol::image::IMAGE_ALIGNMENT != 0 {
            return Err(invalid(format!(
                "image {id}: memory offset {} is not a multiple of {}",
                memory.offset,
                protocol::image::IMAGE_ALIGNMENT
            )));
        }
        scope.check_range(memory.resource, memory.offset, image.size)?;
        *image = Arc::new(ImageObject {
            memory: Some(memory),
            ..**image
        });
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use protocol::format::aspect;

    fn info(format: Format, usage_bits: u32) -> ImageCreateInfo {
        ImageCreateInfo {
            flags: 0,
            image_type: 1,
            format: format.vk(),
            extent: [16, 8, 1],
            mip_levels: 1,
            array_layers: 1,
            samples: 1,
            tiling: 0,
            usage: usage_bits,
        }
    }

    #[test]
    fn usage_the_format_does_not_support_in_its_tiling_is_refused() {
        let ds = usage::DEPTH_STENCIL_ATTACHMENT;
        assert!(ImageObject::new(&info(Format::D32_SFLOAT, ds)).is_ok());
        // Depth/stencil attachments are OPTIMAL only.
        let linear = ImageCreateInfo {
            tiling: 1,
            ..info(Format::D32_SFLOAT, ds)
        };
        assert!(ImageObject::new(&linear).is_err());
        assert!(ImageObject::new(&info(Format::R8G8B8A8_UNORM, ds)).is_err());
        assert!(ImageObject::new(&info(Format::D16_UNORM, usage::COLOR_ATTACHMENT)).is_err());
        // Storage needs a storage format (sRGB has none); every format samples.
        assert!(ImageObject::new(&info(Format::R8G8B8A8_UNORM, usage::STORAGE)).is_ok());
        assert!(ImageObject::new(&info(Format::R8G8B8A8_SRGB, usage::STORAGE)).is_err());
        assert!(ImageObject::new(&info(Format::R8G8B8A8_UNORM, usage::SAMPLED)).is_ok());
        assert!(ImageObject::new(&info(Format::D16_UNORM, usage::SAMPLED)).is_ok());
        assert!(ImageObject::new(&info(Format::R8G8B8A8_UNORM, 0)).is_err());
        assert!(ImageObject::new(&info(Format::R8G8B8A8_UNORM, 0x100)).is_err());
        assert!(
            ImageObject::new(&info(Format::R8G8B8A8_UNORM, usage::TRANSIENT_ATTACHMENT)).is_err()
        );
    }

    #[test]
    fn malformed_image_descriptions_are_refused() {
        let good = info(Format::R8G8B8A8_UNORM, usage::TRANSFER_DST);
        let bad = [
            ImageCreateInfo { samples: 4, ..good },
            ImageCreateInfo {
                image_type: 3,
                ..good
            },
            ImageCreateInfo { tiling: 2, ..good },
            ImageCreateInfo {
                format: 1_000_156_000,
                ..good
            },
            ImageCreateInfo {
                extent: [0, 1, 1],
                ..good
            },
            ImageCreateInfo {
                mip_levels: 6,
                ..good
            },
            ImageCreateInfo {
                array_layers: u32::MAX,
                ..good
            },
            ImageCreateInfo { flags: 0x1, ..good },
            ImageCreateInfo {
                flags: create_flags::CUBE_COMPATIBLE,
                ..good
            },
            ImageCreateInfo {
                extent: [16384, 16384, 1],
                array_layers: 2048,
                ..good
            },
        ];
        for b in bad {
            assert!(ImageObject::new(&b).is_err(), "{b:?}");
        }
        assert!(ImageObject::new(&good).is_ok());
    }

    fn bound(info: &ImageCreateInfo) -> Arc<ImageObject> {
        let mut image = ImageObject::new(info).unwrap();
        image.memory = Some(GuestLocation {
            resource: 1,
            offset: 0,
        });
        Arc::new(image)
    }

    fn view_info(
        format: Format,
        view_type: u32,
        range: ImageSubresourceRange,
    ) -> ImageViewCreateInfo {
        ImageViewCreateInfo {
            image: 1,
            view_type,
            format: format.vk(),
            components: [0; 4],
            range,
        }
    }

    fn range(aspect_mask: u32, levels: (u32, u32), layers: (u32, u32)) -> ImageSubresourceRange {
        ImageSubresourceRange {
            aspect_mask,
            base_mip_level: levels.0,
            level_count: levels.1,
            base_array_layer: layers.0,
            layer_count: layers.1,
        }
    }

    #[test]
    fn views_check_type_format_aspects_and_ranges() {
        let color = ImageCreateInfo {
            mip_levels: 3,
            array_layers: 4,
            ..info(Format::R8G8B8A8_UNORM, usage::COLOR_ATTACHMENT)
        };
        let image = bound(&color);
        let c = aspect::COLOR;
        let ok = view_info(Format::R8G8B8A8_UNORM, 5, range(c, (1, REMAINING), (1, 3)));
        let v = ImageViewObject::new(&ok, image.clone()).unwrap();
        assert_eq!((v.base_level, v.level_count, v.layer_count), (1, 2, 3));
        assert_eq!(v.extent(), [8, 4, 1]);
        let bad = [
            // A 2D view of 3 layers, a cube of a non-cube image, a 3D view of a 2D image.
            view_info(Format::R8G8B8A8_UNORM, 1, range(c, (0, 1), (0, 3))),
            view_info(Format::R8G8B8A8_UNORM, 3, range(c, (0, 1), (0, 4))),
            view_info(Format::R8G8B8A8_UNORM, 2, range(c, (0, 1), (0, 1))),
            view_info(Format::R8G8B8A8_UNORM, 9, range(c, (0, 1), (0, 1))),
            // Levels or layers beyond the image, or none.
            view_info(Format::R8G8B8A8_UNORM, 5, range(c, (3, 1), (0, 1))),
            view_info(Format::R8G8B8A8_UNORM, 5, range(c, (0, 1), (4, REMAINING))),
            view_info(Format::R8G8B8A8_UNORM, 5, range(c, (0, 0), (0, 1))),
            view_info(Format::R8G8B8A8_UNORM, 5, range(c, (u32::MAX, 2), (0, 1))),
            // Another format without MUTABLE_FORMAT, a depth aspect on a colour image.
            view_info(Format::R8G8B8A8_SRGB, 5, range(c, (0, 1), (0, 1))),
            view_info(
                Format::R8G8B8A8_UNORM,
                5,
                range(aspect::DEPTH, (0, 1), (0, 1)),
            ),
            view_info(Format::R8G8B8A8_UNORM, 5, range(0, (0, 1), (0, 1))),
        ];
        for b in bad {
            assert!(ImageViewObject::new(&b, image.clone()).is_err(), "{b:?}");
        }
        let mut swizzled = ok;
        swizzled.components = [7, 0, 0, 0];
        assert!(ImageViewObject::new(&swizzled, image).is_err());
        let mutable = bound(&ImageCreateInfo {
            flags: create_flags::MUTABLE_FORMAT,
            ..color
        });
        let srgb = view_info(Format::R8G8B8A8_SRGB, 5, range(c, (0, 1), (0, 1)));
        assert!(ImageViewObject::new(&srgb, mutable.clone()).is_ok());
        let wide = view_info(Format::R16G16B16A16_UNORM, 5, range(c, (0, 1), (0, 1)));
        assert!(ImageViewObject::new(&wide, mutable).is_err());
        let unbound = Arc::new(ImageObject::new(&color).unwrap());
        assert!(ImageViewObject::new(&ok, unbound).is_err());
    }

    #[test]
    fn identity_swizzle_accepts_identity_and_own_letters_only() {
        assert!(is_identity_swizzle([0, 0, 0, 0]));
        assert!(is_identity_swizzle([3, 4, 5, 6]));
        assert!(!is_identity_swizzle([4, 3, 5, 6]));
        assert!(!is_identity_swizzle([0, 0, 0, 2]));
    }
}
