//! Format queries and the image-creation rules derived from them: what a `VkFormat` can do
//! comes from the one table both sides share ([`protocol::format`]), and an image is
//! supported exactly when [`image_format_properties`] says so — vkCreateImage checks the same
//! function, so the ICD never accepts an image its own query calls unsupported.

use crate::entry::{enumerate, guard, guard_void, walk_chain, write_out};
use crate::error::{IcdError, IcdResult};
use crate::physical_device::{physical, PhysicalDevice};
use ash::vk;
use protocol::format::{feature, Format};
use protocol::image::{
    ImageDesc, ImageType, Tiling, MAX_IMAGE_ARRAY_LAYERS, MAX_IMAGE_DIMENSION_2D,
    MAX_IMAGE_DIMENSION_3D, MAX_IMAGE_SIZE,
};

/// Image create flags we accept: mutable-format views (same texel size), cube-compatible
/// 2D images (rendered layer by layer, sampled as cubes) and VK_KHR_maintenance2's
/// extended usage (usage checked against the view formats instead).
pub(crate) const SUPPORTED_IMAGE_FLAGS: vk::ImageCreateFlags = vk::ImageCreateFlags::from_raw(
    vk::ImageCreateFlags::MUTABLE_FORMAT.as_raw()
        | vk::ImageCreateFlags::CUBE_COMPATIBLE.as_raw()
        | vk::ImageCreateFlags::EXTENDED_USAGE.as_raw(),
);

/// The format features each image usage needs (Vulkan §12.3 "Image Creation Limits");
/// `None` for a usage no format supports. INPUT_ATTACHMENT needs either attachment feature,
/// which [`usage_supported`] checks.
fn usage_needs(usage: vk::ImageUsageFlags) -> Option<u32> {
    let known = vk::ImageUsageFlags::TRANSFER_SRC
        | vk::ImageUsageFlags::TRANSFER_DST
        | vk::ImageUsageFlags::SAMPLED
        | vk::ImageUsageFlags::STORAGE
        | vk::ImageUsageFlags::COLOR_ATTACHMENT
        | vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT
        | vk::ImageUsageFlags::TRANSIENT_ATTACHMENT
        | vk::ImageUsageFlags::INPUT_ATTACHMENT;
    if !known.contains(usage) {
        return None;
    }
    let mut need = 0;
    for (u, f) in [
        (vk::ImageUsageFlags::TRANSFER_SRC, feature::TRANSFER_SRC),
        (vk::ImageUsageFlags::TRANSFER_DST, feature::TRANSFER_DST),
        (vk::ImageUsageFlags::SAMPLED, feature::SAMPLED_IMAGE),
        (vk::ImageUsageFlags::STORAGE, feature::STORAGE_IMAGE),
        (
            vk::ImageUsageFlags::COLOR_ATTACHMENT,
            feature::COLOR_ATTACHMENT,
        ),
        (
            vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT,
            feature::DEPTH_STENCIL_ATTACHMENT,
        ),
    ] {
        if usage.contains(u) {
            need |= f;
        }
    }
    Some(need)
}

/// The features of `format` in `tiling`.
pub(crate) fn tiling_features(format: Format, tiling: Tiling) -> u32 {
    let f = format.features();
    match tiling {
        Tiling::Optimal => f.optimal_tiling,
        Tiling::Linear => f.linear_tiling,
    }
}

/// Whether `usage` can be had with `format` in `tiling`.
pub(crate) fn usage_supported(format: Format, tiling: Tiling, usage: vk::ImageUsageFlags) -> bool {
    let features = tiling_features(format, tiling);
    let attachment = feature::COLOR_ATTACHMENT | feature::DEPTH_STENCIL_ATTACHMENT;
    if usage.contains(vk::ImageUsageFlags::INPUT_ATTACHMENT) && features & attachment == 0 {
        return false;
    }
    usage_needs(usage).is_some_and(|need| features & need == need)
}

pub(crate) fn image_type(ty: vk::ImageType) -> Option<ImageType> {
    match ty {
        vk::ImageType::TYPE_1D => Some(ImageType::D1),
        vk::ImageType::TYPE_2D => Some(ImageType::D2),
        vk::ImageType::TYPE_3D => Some(ImageType::D3),
        _ => None,
    }
}

pub(crate) fn tiling(t: vk::ImageTiling) -> Option<Tiling> {
    match t {
        vk::ImageTiling::OPTIMAL => Some(Tiling::Optimal),
        vk::ImageTiling::LINEAR => Some(Tiling::Linear),
        _ => None,
    }
}

/// One `vkGetPhysicalDeviceImageFormatProperties` question, in our terms.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ImageQuery {
    pub(crate) format: vk::Format,
    pub(crate) ty: vk::ImageType,
    pub(crate) tiling: vk::ImageTiling,
    pub(crate) usage: vk::ImageUsageFlags,
    pub(crate) flags: vk::ImageCreateFlags,
}

/// Why a combination is unsupported (logged; the app sees `VK_ERROR_FORMAT_NOT_SUPPORTED`).
fn unsupported(what: impl Into<String>) -> IcdError {
    IcdError::vk(vk::Result::ERROR_FORMAT_NOT_SUPPORTED, what)
}

/// The answer to an image-format query: the limits of every image of that kind, or why there
/// is none. `max_allocation` is the device's largest memory allocation (an image lives in
/// one).
pub(crate) fn image_format_properties(
    q: &ImageQuery,
    max_allocation: u64,
) -> IcdResult<vk::ImageFormatProperties> {
    let format = Format::from_vk(q.format.as_raw() as u32)
        .map_err(|_| unsupported(format!("format {:?}", q.format)))?;
    let ty = image_type(q.ty).ok_or_else(|| unsupported(format!("image type {:?}", q.ty)))?;
    let tiling = tiling(q.tiling).ok_or_else(|| unsupported(format!("tiling {:?}", q.tiling)))?;
    if !SUPPORTED_IMAGE_FLAGS.contains(q.flags) {
        return Err(unsupported(format!("image create flags {:?}", q.flags)));
    }
    if q.flags.contains(vk::ImageCreateFlags::CUBE_COMPATIBLE) && ty != ImageType::D2 {
        return Err(unsupported("cube-compatible image that is not 2D"));
    }
    // With EXTENDED_USAGE the usage is checked against the views' formats (maintenance2);
    // it still has to be a usage some format of the same texel size supports.
    let usage_ok = if q.flags.contains(vk::ImageCreateFlags::EXTENDED_USAGE) {
        Format::ALL.iter().any(|&f| {
            f.texel_size() == format.texel_size()
                && f.aspects() == format.aspects()
                && usage_supported(f, tiling, q.usage)
        })
    } else {
        usage_supported(format, tiling, q.usage)
    };
    if q.usage.is_empty() || !usage_ok {
        return Err(unsupported(format!(
            "usage {:?} of {format:?} with {tiling:?} tiling",
            q.usage
        )));
    }
    // Attachments are rendered through 2D (array) views, which a 3D image cannot have
    // without VK_KHR_maintenance1; depth/stencil images are 2D only.
    let attachment =
        vk::ImageUsageFlags::COLOR_ATTACHMENT | vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT;
    if ty == ImageType::D3 && q.usage.intersects(attachment) {
        return Err(unsupported("attachment usage on a 3D image"));
    }
    if !format.is_color() && ty != ImageType::D2 {
        return Err(unsupported(format!("{format:?} in a {ty:?} image")));
    }
    let max_dim = match ty {
        ImageType::D3 => MAX_IMAGE_DIMENSION_3D,
        _ => MAX_IMAGE_DIMENSION_2D,
    };
    let max_extent = match ty {
        ImageType::D1 => [max_dim, 1, 1],
        ImageType::D2 => [max_dim, max_dim, 1],
        ImageType::D3 => [max_dim; 3],
    };
    Ok(vk::ImageFormatProperties {
        max_extent: vk::Extent3D {
            width: max_extent[0],
            height: max_extent[1],
            depth: max_extent[2],
        },
        max_mip_levels: 32 - max_dim.leading_zeros(),
        max_array_layers: if ty == ImageType::D3 {
            1
        } else {
            MAX_IMAGE_ARRAY_LAYERS
        },
        sample_counts: vk::SampleCountFlags::TYPE_1,
        max_resource_size: MAX_IMAGE_SIZE.min(max_allocation),
    })
}

/// `VkFormatProperties` of a raw format: the table's, or nothing for formats we lack.
pub(crate) fn format_properties(format: vk::Format) -> vk::FormatProperties {
    let raw = format.as_raw() as u32;
    let Ok(f) = Format::from_vk(raw) else {
        // Formats only vertex buffers use (three components, SCALED) are not in the image
        // table.
        let buffer = match protocol::vertex_format::vertex_attribute_format(raw) {
            Some(_) => vk::FormatFeatureFlags::VERTEX_BUFFER,
            None => vk::FormatFeatureFlags::empty(),
        };
        return vk::FormatProperties {
            buffer_features: buffer,
            ..Default::default()
        };
    };
    let features = f.features();
    vk::FormatProperties {
        linear_tiling_features: vk::FormatFeatureFlags::from_raw(features.linear_tiling),
        optimal_tiling_features: vk::FormatFeatureFlags::from_raw(features.optimal_tiling),
        buffer_features: vk::FormatFeatureFlags::from_raw(features.buffer),
    }
}

/// The storage description of an image create info, if its format, type and tiling are ours.
pub(crate) fn image_desc(info: &vk::ImageCreateInfo<'_>) -> IcdResult<ImageDesc> {
    let bad = |what: String| IcdError::vk(vk::Result::ERROR_FEATURE_NOT_PRESENT, what);
    Ok(ImageDesc {
        image_type: image_type(info.image_type)
            .ok_or_else(|| bad(format!("image type {:?}", info.image_type)))?,
        format: Format::from_vk(info.format.as_raw() as u32).map_err(|e| bad(e.to_string()))?,
        extent: [info.extent.width, info.extent.height, info.extent.depth],
        mip_levels: info.mip_levels,
        array_layers: info.array_layers,
        tiling: tiling(info.tiling).ok_or_else(|| bad(format!("tiling {:?}", info.tiling)))?,
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetPhysicalDeviceFormatProperties`.
pub(crate) unsafe extern "system" fn get_physical_device_format_properties(
    pd: vk::PhysicalDevice,
    format: vk::Format,
    p_properties: *mut vk::FormatProperties,
) {
    guard_void("vkGetPhysicalDeviceFormatProperties", || {
        // SAFETY: a physical device we enumerated (valid usage).
        unsafe { physical(pd) }?;
        // SAFETY: output pointer (valid usage; null checked).
        unsafe { write_out(p_properties, format_properties(format)) }
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetPhysicalDeviceFormatProperties2`.
pub(crate) unsafe extern "system" fn get_physical_device_format_properties2_khr(
    pd: vk::PhysicalDevice,
    format: vk::Format,
    p_properties: *mut vk::FormatProperties2<'_>,
) {
    guard_void("vkGetPhysicalDeviceFormatProperties2KHR", || {
        // SAFETY: a physical device we enumerated (valid usage).
        unsafe { physical(pd) }?;
        // SAFETY: output structure (valid usage; null checked).
        let p = unsafe { p_properties.as_mut() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null properties")
        })?;
        p.format_properties = format_properties(format);
        Ok(())
    })
}

fn query(pd: &PhysicalDevice, q: &ImageQuery) -> IcdResult<vk::ImageFormatProperties> {
    image_format_properties(q, pd.capset.max_memory_allocation_size)
}

/// # Safety
/// Vulkan valid usage for `vkGetPhysicalDeviceImageFormatProperties`.
pub(crate) unsafe extern "system" fn get_physical_device_image_format_properties(
    pd: vk::PhysicalDevice,
    format: vk::Format,
    ty: vk::ImageType,
    tiling: vk::ImageTiling,
    usage: vk::ImageUsageFlags,
    flags: vk::ImageCreateFlags,
    p_properties: *mut vk::ImageFormatProperties,
) -> vk::Result {
    guard("vkGetPhysicalDeviceImageFormatProperties", || {
        // SAFETY: a physical device we enumerated (valid usage).
        let pd = unsafe { physical(pd) }?;
        let q = ImageQuery {
            format,
            ty,
            tiling,
            usage,
            flags,
        };
        // Vulkan §12.3: on VK_ERROR_FORMAT_NOT_SUPPORTED the properties are all zero.
        let (props, result) = match query(pd, &q) {
            Ok(p) => (p, vk::Result::SUCCESS),
            Err(e) => {
                log::debug!("vkGetPhysicalDeviceImageFormatProperties: {e}");
                (vk::ImageFormatProperties::default(), e.result())
            }
        };
        // SAFETY: output pointer (valid usage; null checked).
        unsafe { write_out(p_properties, props) }?;
        Ok(result)
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetPhysicalDeviceImageFormatProperties2`.
pub(crate) unsafe extern "system" fn get_physical_device_image_format_properties2_khr(
    pd: vk::PhysicalDevice,
    p_info: *const vk::PhysicalDeviceImageFormatInfo2<'_>,
    p_properties: *mut vk::ImageFormatProperties2<'_>,
) -> vk::Result {
    guard("vkGetPhysicalDeviceImageFormatProperties2KHR", || {
        // SAFETY: a physical device we enumerated (valid usage).
        let pd = unsafe { physical(pd) }?;
        // SAFETY: valid usage (null checked).
        let info = unsafe { p_info.as_ref() }
            .ok_or_else(|| IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null info"))?;
        // SAFETY: output structure (valid usage; null checked).
        let out = unsafe { p_properties.as_mut() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null properties")
        })?;
        let mut external = false;
        // SAFETY: the app's valid chain. External memory is not offered: a query for it has
        // no answer but "unsupported" (Vulkan §12.3, VkPhysicalDeviceExternalImageFormatInfo).
        unsafe {
            walk_chain(info.p_next, |ty, _| {
                external |= ty == vk::StructureType::PHYSICAL_DEVICE_EXTERNAL_IMAGE_FORMAT_INFO;
            })
        };
        let q = ImageQuery {
            format: info.format,
            ty: info.ty,
            tiling: info.tiling,
            usage: info.usage,
            flags: info.flags,
        };
        let answer = if external {
            Err(unsupported("external memory"))
        } else {
            query(pd, &q)
        };
        match answer {
            Ok(p) => {
                out.image_format_properties = p;
                Ok(vk::Result::SUCCESS)
            }
            Err(e) => {
                log::debug!("vkGetPhysicalDeviceImageFormatProperties2KHR: {e}");
                out.image_format_properties = vk::ImageFormatProperties::default();
                Ok(e.result())
            }
        }
    })
}

/// No sparse images: no properties.
///
/// # Safety
/// Vulkan valid usage for `vkGetPhysicalDeviceSparseImageFormatProperties2`.
pub(crate) unsafe extern "system" fn get_physical_device_sparse_image_format_properties2_khr(
    pd: vk::PhysicalDevice,
    _p_info: *const vk::PhysicalDeviceSparseImageFormatInfo2<'_>,
    p_count: *mut u32,
    p_properties: *mut vk::SparseImageFormatProperties2<'_>,
) {
    guard_void("vkGetPhysicalDeviceSparseImageFormatProperties2KHR", || {
        // SAFETY: a physical device we enumerated (valid usage).
        unsafe { physical(pd) }?;
        // SAFETY: output array of *p_count (valid usage); zero entries are written.
        let _ = unsafe { enumerate(p_count, p_properties, &[]) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(format: vk::Format, ty: vk::ImageType, usage: vk::ImageUsageFlags) -> ImageQuery {
        ImageQuery {
            format,
            ty,
            tiling: vk::ImageTiling::OPTIMAL,
            usage,
            flags: vk::ImageCreateFlags::empty(),
        }
    }

    #[test]
    fn color_attachment_2d_images_have_the_protocol_limits() {
        let p = image_format_properties(
            &q(
                vk::Format::R8G8B8A8_UNORM,
                vk::ImageType::TYPE_2D,
                vk::ImageUsageFlags::COLOR_ATTACHMENT | vk::ImageUsageFlags::TRANSFER_SRC,
            ),
            1 << 32,
        );
        let p = p
            .ok()
            .map(|p| (p.max_extent.width, p.max_mip_levels, p.max_resource_size));
        assert_eq!(p, Some((16384, 15, 1 << 32)));
    }

    #[test]
    fn unsupported_combinations_are_format_not_supported() {
        let cases = [
            q(
                vk::Format::R8G8B8_UNORM,
                vk::ImageType::TYPE_2D,
                vk::ImageUsageFlags::TRANSFER_DST,
            ),
            // sRGB has no storage format.
            q(
                vk::Format::R8G8B8A8_SRGB,
                vk::ImageType::TYPE_2D,
                vk::ImageUsageFlags::STORAGE,
            ),
            q(
                vk::Format::R8G8B8A8_UNORM,
                vk::ImageType::TYPE_2D,
                vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT,
            ),
            q(
                vk::Format::D32_SFLOAT,
                vk::ImageType::TYPE_2D,
                vk::ImageUsageFlags::COLOR_ATTACHMENT,
            ),
            q(
                vk::Format::D32_SFLOAT,
                vk::ImageType::TYPE_3D,
                vk::ImageUsageFlags::TRANSFER_DST,
            ),
            q(
                vk::Format::R8G8B8A8_UNORM,
                vk::ImageType::TYPE_3D,
                vk::ImageUsageFlags::COLOR_ATTACHMENT,
            ),
            q(
                vk::Format::R8G8B8A8_UNORM,
                vk::ImageType::TYPE_2D,
                vk::ImageUsageFlags::empty(),
            ),
        ];
        for c in cases {
            let r = image_format_properties(&c, 1 << 32).map_err(|e| e.result());
            assert_eq!(
                r.err(),
                Some(vk::Result::ERROR_FORMAT_NOT_SUPPORTED),
                "{c:?}"
            );
        }
        let mut linear_ds = q(
            vk::Format::D24_UNORM_S8_UINT,
            vk::ImageType::TYPE_2D,
            vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT,
        );
        linear_ds.tiling = vk::ImageTiling::LINEAR;
        assert!(image_format_properties(&linear_ds, 1 << 32).is_err());
    }

    #[test]
    fn format_properties_are_the_shared_table() {
        for &f in Format::ALL {
            let p = format_properties(vk::Format::from_raw(f.vk() as i32));
            assert_eq!(
                p.optimal_tiling_features.as_raw(),
                f.features().optimal_tiling
            );
            assert_eq!(p.buffer_features.as_raw(), f.features().buffer);
        }
        let none = format_properties(vk::Format::BC1_RGB_UNORM_BLOCK);
        assert!(none.optimal_tiling_features.is_empty());
        assert!(none.linear_tiling_features.is_empty() && none.buffer_features.is_empty());
    }

    #[test]
    fn vertex_only_formats_report_the_vertex_buffer_feature_alone() {
        let p = format_properties(vk::Format::R32G32B32_SFLOAT);
        assert_eq!(p.buffer_features, vk::FormatFeatureFlags::VERTEX_BUFFER);
        assert!(p.optimal_tiling_features.is_empty() && p.linear_tiling_features.is_empty());
        let p = format_properties(vk::Format::R16G16_SSCALED);
        assert_eq!(p.buffer_features, vk::FormatFeatureFlags::VERTEX_BUFFER);
        let p = format_properties(vk::Format::R64_SFLOAT);
        assert!(p.buffer_features.is_empty());
    }
}
