//! VkImage and VkImageView. An image's storage is [`protocol::image::ImageLayout`]'s, the one
//! definition the device uses too, so memory requirements and subresource layouts are
//! answered here without a round trip. Creation is checked against the same rules as the
//! image-format query ([`crate::format`]): what the query calls unsupported is refused.

use crate::device::{device, Device};
use crate::entry::{guard, guard_void, slice, walk_chain, write_out};
use crate::error::{IcdError, IcdResult};
use crate::format::{image_desc, image_format_properties, ImageQuery};
use crate::handle::{new_id, object, take_object, to_handle};
use crate::memory::memory;
use ash::vk;
use protocol::format::Format;
use protocol::graphics::{ImageCreateInfo, ImageSubresourceRange, ImageViewCreateInfo};
use protocol::image::{ImageDesc, ImageLayout, ImageType};
use protocol::stream::{
    BindImageMemory, CreateImage, CreateImageView, DestroyImage, DestroyImageView,
};

pub(crate) struct Image {
    pub(crate) id: u64,
    pub(crate) desc: ImageDesc,
    pub(crate) layout: ImageLayout,
    pub(crate) flags: vk::ImageCreateFlags,
}

pub(crate) struct ImageView {
    pub(crate) id: u64,
}

/// # Safety
/// `h` is null or a live image of ours.
pub(crate) unsafe fn image<'a>(h: vk::Image) -> IcdResult<&'a Image> {
    // SAFETY: caller contract.
    unsafe { object::<_, Image>(h) }.ok_or_else(|| crate::handle::null_handle("image"))
}

/// The wire id of an image view; 0 for `VK_NULL_HANDLE` (allowed in dynamic rendering).
///
/// # Safety
/// `h` is null or a live image view of ours.
pub(crate) unsafe fn view_id(h: vk::ImageView) -> u64 {
    // SAFETY: caller contract.
    unsafe { object::<_, ImageView>(h) }.map_or(0, |v| v.id)
}

/// # Safety
/// `h` is null or a live image view of ours.
pub(crate) unsafe fn image_view<'a>(h: vk::ImageView) -> IcdResult<&'a ImageView> {
    // SAFETY: caller contract.
    unsafe { object::<_, ImageView>(h) }.ok_or_else(|| crate::handle::null_handle("image view"))
}

fn refuse(result: vk::Result, what: impl Into<String>) -> IcdError {
    IcdError::vk(result, what)
}

/// Checks a create info and computes the image's layout. vkCreateImage may only fail with
/// out-of-memory codes; what we cannot do is the app's error (VUID-VkImageCreateInfo-
/// imageCreateMaxMipLevels-02251 and friends: parameters must be within what the format
/// query reports), logged and answered with `VK_ERROR_FEATURE_NOT_PRESENT`.
pub(crate) fn check_image(
    info: &vk::ImageCreateInfo<'_>,
    max_allocation: u64,
) -> IcdResult<(ImageDesc, ImageLayout)> {
    let not_ours = |what: String| refuse(vk::Result::ERROR_FEATURE_NOT_PRESENT, what);
    if info.samples != vk::SampleCountFlags::TYPE_1 {
        return Err(not_ours(format!("{:?} samples (only 1)", info.samples)));
    }
    let limits = image_format_properties(
        &ImageQuery {
            format: info.format,
            ty: info.image_type,
            tiling: info.tiling,
            usage: info.usage,
            flags: info.flags,
        },
        max_allocation,
    )
    .map_err(|e| not_ours(e.to_string()))?;
    let desc = image_desc(info)?;
    let e = limits.max_extent;
    if desc.extent[0] > e.width
        || desc.extent[1] > e.height
        || desc.extent[2] > e.depth
        || desc.array_layers > limits.max_array_layers
    {
        return Err(not_ours(format!(
            "extent {:?} × {} layers beyond the format's limits",
            desc.extent, desc.array_layers
        )));
    }
    // VUID-VkImageCreateInfo-flags-08866: cube-compatible images are square with ≥ 6 layers.
    if info.flags.contains(vk::ImageCreateFlags::CUBE_COMPATIBLE)
        && (desc.extent[0] != desc.extent[1] || desc.array_layers < 6)
    {
        return Err(refuse(
            vk::Result::ERROR_INITIALIZATION_FAILED,
            "cube-compatible image that is not square with at least 6 layers",
        ));
    }
    let layout = ImageLayout::new(&desc).map_err(|e| match e {
        protocol::image::LayoutError::TooLarge => {
            refuse(vk::Result::ERROR_OUT_OF_DEVICE_MEMORY, e.to_string())
        }
        _ => refuse(vk::Result::ERROR_INITIALIZATION_FAILED, e.to_string()),
    })?;
    if layout.size() > max_allocation.min(limits.max_resource_size) {
        return Err(refuse(
            vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
            format!(
                "image of {} bytes exceeds the largest allocation",
                layout.size()
            ),
        ));
    }
    Ok((desc, layout))
}

/// # Safety
/// Vulkan valid usage for `vkCreateImage`.
pub(crate) unsafe extern "system" fn create_image(
    dev: vk::Device,
    p_create_info: *const vk::ImageCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_image: *mut vk::Image,
) -> vk::Result {
    guard("vkCreateImage", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage (null checked).
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        let mut external = false;
        // SAFETY: the app's valid chain; only the types are looked at.
        unsafe {
            walk_chain(info.p_next, |ty, _| {
                external |= ty == vk::StructureType::EXTERNAL_MEMORY_IMAGE_CREATE_INFO
                    || ty == vk::StructureType::IMAGE_DRM_FORMAT_MODIFIER_LIST_CREATE_INFO_EXT;
            })
        };
        if external {
            return Err(refuse(
                vk::Result::ERROR_FEATURE_NOT_PRESENT,
                "external memory and DRM modifiers are not offered",
            ));
        }
        let (desc, layout) = check_image(info, dev.capset.max_memory_allocation_size)?;
        let id = new_id();
        dev.enqueue(CreateImage {
            id,
            info: ImageCreateInfo {
                flags: info.flags.as_raw(),
                image_type: info.image_type.as_raw() as u32,
                format: info.format.as_raw() as u32,
                extent: desc.extent,
                mip_levels: desc.mip_levels,
                array_layers: desc.array_layers,
                samples: info.samples.as_raw(),
                tiling: info.tiling.as_raw() as u32,
                usage: info.usage.as_raw(),
            },
        })?;
        let img = Image {
            id,
            desc,
            layout,
            flags: info.flags,
        };
        // SAFETY: output pointer (valid usage; null checked).
        unsafe { write_out(p_image, to_handle(img)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyImage`.
pub(crate) unsafe extern "system" fn destroy_image(
    dev: vk::Device,
    img: vk::Image,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyImage", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live image, not used again (valid usage).
        if let Some(i) = unsafe { take_object::<_, Image>(img) } {
            dev.enqueue(DestroyImage { id: i.id })?;
        }
        Ok(())
    })
}

fn requirements(img: &Image) -> vk::MemoryRequirements {
    vk::MemoryRequirements {
        size: img.layout.size(),
        alignment: img.layout.alignment(),
        memory_type_bits: 1,
    }
}

/// # Safety
/// Vulkan valid usage for `vkGetImageMemoryRequirements`.
pub(crate) unsafe extern "system" fn get_image_memory_requirements(
    _dev: vk::Device,
    img: vk::Image,
    p_requirements: *mut vk::MemoryRequirements,
) {
    guard_void("vkGetImageMemoryRequirements", || {
        // SAFETY: valid usage.
        let img = unsafe { image(img) }?;
        // SAFETY: output pointer (valid usage; null checked).
        unsafe { write_out(p_requirements, requirements(img)) }
    })
}

/// No sparse images: no sparse requirements.
///
/// # Safety
/// Vulkan valid usage for `vkGetImageSparseMemoryRequirements`.
pub(crate) unsafe extern "system" fn get_image_sparse_memory_requirements(
    _dev: vk::Device,
    _img: vk::Image,
    p_count: *mut u32,
    _p_requirements: *mut vk::SparseImageMemoryRequirements,
) {
    if !p_count.is_null() {
        // SAFETY: non-null, valid (valid usage).
        unsafe { *p_count = 0 };
    }
}

/// # Safety
/// Vulkan valid usage for `vkBindImageMemory`.
pub(crate) unsafe extern "system" fn bind_image_memory(
    dev: vk::Device,
    img: vk::Image,
    mem: vk::DeviceMemory,
    offset: vk::DeviceSize,
) -> vk::Result {
    guard("vkBindImageMemory", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let (i, m) = unsafe { (image(img)?, memory(mem)?) };
        // VUID-vkBindImageMemory-memoryOffset-01048 / size-01049: aligned, and fits the
        // allocation size the app asked for (which the sub-allocation covers).
        let size = i.layout.size();
        if offset % i.layout.alignment() != 0
            || offset
                .checked_add(size)
                .is_none_or(|e| e > m.requested.min(m.allocation.size))
        {
            return Err(IcdError::vk(
                vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                format!("image of {size} bytes at {offset} does not fit its memory"),
            ));
        }
        dev.enqueue(BindImageMemory {
            image: i.id,
            memory: m.allocation.location(offset),
        })?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetImageSubresourceLayout`.
pub(crate) unsafe extern "system" fn get_image_subresource_layout(
    _dev: vk::Device,
    img: vk::Image,
    p_subresource: *const vk::ImageSubresource,
    p_layout: *mut vk::SubresourceLayout,
) {
    guard_void("vkGetImageSubresourceLayout", || {
        // SAFETY: valid usage.
        let img = unsafe { image(img) }?;
        // SAFETY: valid usage (null checked).
        let sub = unsafe { p_subresource.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null subresource")
        })?;
        // Depth and stencil of a combined format are interleaved in one texel: either aspect
        // has the whole texel's layout.
        if sub.aspect_mask.as_raw() & img.desc.format.aspects() != sub.aspect_mask.as_raw() {
            return Err(IcdError::vk(
                vk::Result::ERROR_INITIALIZATION_FAILED,
                format!("aspect {:?} of {:?}", sub.aspect_mask, img.desc.format),
            ));
        }
        let l = img
            .layout
            .subresource(sub.mip_level, sub.array_layer)
            .map_err(|e| IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, e.to_string()))?;
        let out = vk::SubresourceLayout {
            offset: l.offset,
            size: l.size,
            row_pitch: l.row_pitch,
            array_pitch: l.array_pitch,
            depth_pitch: l.depth_pitch,
        };
        // SAFETY: output pointer (valid usage; null checked).
        unsafe { write_out(p_layout, out) }
    })
}

/// Checks a view against its image (VkImageViewCreateInfo valid usage we rely on: the range
/// inside the image, a view type the image type allows, a compatible format).
fn check_view(info: &vk::ImageViewCreateInfo<'_>, img: &Image) -> IcdResult<Format> {
    let bad = |what: String| IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, what);
    let format = Format::from_vk(info.format.as_raw() as u32)
        .map_err(|e| IcdError::vk(vk::Result::ERROR_FEATURE_NOT_PRESENT, e.to_string()))?;
    let base = img.desc.format;
    let compatible = format == base
        || (img.flags.contains(vk::ImageCreateFlags::MUTABLE_FORMAT)
            && format.texel_size() == base.texel_size()
            && format.aspects() == base.aspects());
    if !compatible {
        return Err(bad(format!("view format {format:?} on a {base:?} image")));
    }
    let r = &info.subresource_range;
    if r.aspect_mask.is_empty() || r.aspect_mask.as_raw() & !base.aspects() != 0 {
        return Err(bad(format!("aspects {:?} of {base:?}", r.aspect_mask)));
    }
    let within = |base_: u32, count: u32, total: u32| {
        base_ < total
            && (count == vk::REMAINING_MIP_LEVELS || (count > 0 && count <= total - base_))
    };
    if !within(r.base_mip_level, r.level_count, img.desc.mip_levels)
        || !within(r.base_array_layer, r.layer_count, img.desc.array_layers)
    {
        return Err(bad(format!("subresource range {r:?} outside the image")));
    }
    let cube = img.flags.contains(vk::ImageCreateFlags::CUBE_COMPATIBLE);
    let allowed = match (img.desc.image_type, info.view_type) {
        (ImageType::D1, vk::ImageViewType::TYPE_1D | vk::ImageViewType::TYPE_1D_ARRAY) => true,
        (ImageType::D2, vk::ImageViewType::TYPE_2D | vk::ImageViewType::TYPE_2D_ARRAY) => true,
        (ImageType::D2, vk::ImageViewType::CUBE | vk::ImageViewType::CUBE_ARRAY) => cube,
        (ImageType::D3, vk::ImageViewType::TYPE_3D) => true,
        _ => false,
    };
    if !allowed {
        return Err(bad(format!(
            "view type {:?} of a {:?} image",
            info.view_type, img.desc.image_type
        )));
    }
    let single = matches!(
        info.view_type,
        vk::ImageViewType::TYPE_1D | vk::ImageViewType::TYPE_2D | vk::ImageViewType::TYPE_3D
    );
    if single
        && r.layer_count != 1
        && !(r.layer_count == vk::REMAINING_ARRAY_LAYERS
            && img.desc.array_layers - r.base_array_layer == 1)
    {
        return Err(bad(format!("{:?} view of several layers", info.view_type)));
    }
    Ok(format)
}

/// # Safety
/// Vulkan valid usage for `vkCreateImageView`.
pub(crate) unsafe extern "system" fn create_image_view(
    dev: vk::Device,
    p_create_info: *const vk::ImageViewCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_view: *mut vk::ImageView,
) -> vk::Result {
    guard("vkCreateImageView", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage (null checked).
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        // SAFETY: valid usage.
        let img = unsafe { image(info.image) }?;
        let mut ycbcr = false;
        // SAFETY: the app's valid chain; only the types are looked at (a VkImageViewUsage-
        // CreateInfo only narrows the usage, which needs nothing from us).
        unsafe {
            walk_chain(info.p_next, |ty, _| {
                ycbcr |= ty == vk::StructureType::SAMPLER_YCBCR_CONVERSION_INFO;
            })
        };
        if ycbcr {
            return Err(IcdError::vk(
                vk::Result::ERROR_FEATURE_NOT_PRESENT,
                "YCbCr conversion is not offered",
            ));
        }
        let format = check_view(info, img)?;
        let c = info.components;
        let r = info.subresource_range;
        let id = new_id();
        dev.enqueue(CreateImageView {
            id,
            info: ImageViewCreateInfo {
                image: img.id,
                view_type: info.view_type.as_raw() as u32,
                format: format.vk(),
                components: [c.r, c.g, c.b, c.a].map(|s| s.as_raw() as u32),
                range: subresource_range(&r),
            },
        })?;
        // SAFETY: output pointer (valid usage; null checked).
        unsafe { write_out(p_view, to_handle(ImageView { id })) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyImageView`.
pub(crate) unsafe extern "system" fn destroy_image_view(
    dev: vk::Device,
    view: vk::ImageView,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyImageView", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live view, not used again (valid usage).
        if let Some(v) = unsafe { take_object::<_, ImageView>(view) } {
            dev.enqueue(DestroyImageView { id: v.id })?;
        }
        Ok(())
    })
}

pub(crate) fn subresource_range(r: &vk::ImageSubresourceRange) -> ImageSubresourceRange {
    ImageSubresourceRange {
        aspect_mask: r.aspect_mask.as_raw(),
        base_mip_level: r.base_mip_level,
        level_count: r.level_count,
        base_array_layer: r.base_array_layer,
        layer_count: r.layer_count,
    }
}

/// The ranges of a (pointer, count) pair, converted.
///
/// # Safety
/// `(ptr, count)` is a valid array or null.
pub(crate) unsafe fn subresource_ranges(
    ptr: *const vk::ImageSubresourceRange,
    count: u32,
) -> Vec<ImageSubresourceRange> {
    // SAFETY: caller contract.
    unsafe { slice(ptr, count) }
        .iter()
        .map(subresource_range)
        .collect()
}
