//! Recording of the image transfer commands: clears (of whole images and of attachments inside
//! a render pass), copies buffer ↔ image and image ↔ image, and blits. Resolves belong to
//! multisampling, which is not offered.

use crate::command_buffer::{record, unsupported};
use crate::draw::clear_words;
use crate::entry::slice;
use crate::graphics_pipeline::rect;
use crate::image::{image, subresource_ranges};
use ash::vk;
use protocol::graphics::{
    BufferImageCopy, ClearAttachment, ClearRect, ImageBlit, ImageCopy, ImageSubresourceLayers,
};
use protocol::stream::{
    CmdBlitImage, CmdClearAttachments, CmdClearColorImage, CmdClearDepthStencilImage,
    CmdCopyBufferToImage, CmdCopyImage, CmdCopyImageToBuffer,
};

fn layers(l: &vk::ImageSubresourceLayers) -> ImageSubresourceLayers {
    ImageSubresourceLayers {
        aspect_mask: l.aspect_mask.as_raw(),
        mip_level: l.mip_level,
        base_array_layer: l.base_array_layer,
        layer_count: l.layer_count,
    }
}

fn offset3(o: &vk::Offset3D) -> [i32; 3] {
    [o.x, o.y, o.z]
}

fn extent3(e: &vk::Extent3D) -> [u32; 3] {
    [e.width, e.height, e.depth]
}

fn buffer_image_copy(r: &vk::BufferImageCopy) -> BufferImageCopy {
    BufferImageCopy {
        buffer_offset: r.buffer_offset,
        buffer_row_length: r.buffer_row_length,
        buffer_image_height: r.buffer_image_height,
        image_subresource: layers(&r.image_subresource),
        image_offset: offset3(&r.image_offset),
        image_extent: extent3(&r.image_extent),
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdClearColorImage`.
pub(crate) unsafe extern "system" fn cmd_clear_color_image(
    cb: vk::CommandBuffer,
    img: vk::Image,
    _layout: vk::ImageLayout,
    p_color: *const vk::ClearColorValue,
    range_count: u32,
    p_ranges: *const vk::ImageSubresourceRange,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdClearColorImage", |_| {
            let color = p_color
                .as_ref()
                .ok_or_else(|| unsupported("null colour".into()))?;
            Ok(vec![CmdClearColorImage {
                image: image(img)?.id,
                // SAFETY (of the union read): all members are 16 bytes of plain data.
                color: color.uint32,
                ranges: subresource_ranges(p_ranges, range_count),
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdClearDepthStencilImage`.
pub(crate) unsafe extern "system" fn cmd_clear_depth_stencil_image(
    cb: vk::CommandBuffer,
    img: vk::Image,
    _layout: vk::ImageLayout,
    p_value: *const vk::ClearDepthStencilValue,
    range_count: u32,
    p_ranges: *const vk::ImageSubresourceRange,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdClearDepthStencilImage", |_| {
            let v = p_value
                .as_ref()
                .ok_or_else(|| unsupported("null clear value".into()))?;
            Ok(vec![CmdClearDepthStencilImage {
                image: image(img)?.id,
                depth: v.depth,
                stencil: v.stencil,
                ranges: subresource_ranges(p_ranges, range_count),
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdClearAttachments`.
pub(crate) unsafe extern "system" fn cmd_clear_attachments(
    cb: vk::CommandBuffer,
    attachment_count: u32,
    p_attachments: *const vk::ClearAttachment,
    rect_count: u32,
    p_rects: *const vk::ClearRect,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdClearAttachments", |_| {
            Ok(vec![CmdClearAttachments {
                attachments: slice(p_attachments, attachment_count)
                    .iter()
                    .map(|a| ClearAttachment {
                        aspect_mask: a.aspect_mask.as_raw(),
                        color_attachment: a.color_attachment,
                        value: clear_words(&a.clear_value),
                    })
                    .collect(),
                rects: slice(p_rects, rect_count)
                    .iter()
                    .map(|r| ClearRect {
                        rect: rect(&r.rect),
                        base_array_layer: r.base_array_layer,
                        layer_count: r.layer_count,
                    })
                    .collect(),
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdCopyBufferToImage`.
pub(crate) unsafe extern "system" fn cmd_copy_buffer_to_image(
    cb: vk::CommandBuffer,
    src: vk::Buffer,
    dst: vk::Image,
    _layout: vk::ImageLayout,
    region_count: u32,
    p_regions: *const vk::BufferImageCopy,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdCopyBufferToImage", |_| {
            Ok(vec![CmdCopyBufferToImage {
                buffer: crate::buffer::buffer(src)?.id,
                image: image(dst)?.id,
                regions: slice(p_regions, region_count)
                    .iter()
                    .map(buffer_image_copy)
                    .collect(),
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdCopyImageToBuffer`.
pub(crate) unsafe extern "system" fn cmd_copy_image_to_buffer(
    cb: vk::CommandBuffer,
    src: vk::Image,
    _layout: vk::ImageLayout,
    dst: vk::Buffer,
    region_count: u32,
    p_regions: *const vk::BufferImageCopy,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdCopyImageToBuffer", |_| {
            Ok(vec![CmdCopyImageToBuffer {
                image: image(src)?.id,
                buffer: crate::buffer::buffer(dst)?.id,
                regions: slice(p_regions, region_count)
                    .iter()
                    .map(buffer_image_copy)
                    .collect(),
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdCopyImage`.
pub(crate) unsafe extern "system" fn cmd_copy_image(
    cb: vk::CommandBuffer,
    src: vk::Image,
    _src_layout: vk::ImageLayout,
    dst: vk::Image,
    _dst_layout: vk::ImageLayout,
    region_count: u32,
    p_regions: *const vk::ImageCopy,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdCopyImage", |_| {
            Ok(vec![CmdCopyImage {
                src: image(src)?.id,
                dst: image(dst)?.id,
                regions: slice(p_regions, region_count)
                    .iter()
                    .map(|r| ImageCopy {
                        src_subresource: layers(&r.src_subresource),
                        src_offset: offset3(&r.src_offset),
                        dst_subresource: layers(&r.dst_subresource),
                        dst_offset: offset3(&r.dst_offset),
                        extent: extent3(&r.extent),
                    })
                    .collect(),
            }
            .into()])
        })
    }
}

/// `vkCmdBlitImage`.
///
/// # Safety
/// Called by the loader with the arguments of `PFN_vkCmdBlitImage` (valid usage:
/// `p_regions` points at `region_count` regions).
pub(crate) unsafe extern "system" fn cmd_blit_image(
    cb: vk::CommandBuffer,
    src: vk::Image,
    _src_layout: vk::ImageLayout,
    dst: vk::Image,
    _dst_layout: vk::ImageLayout,
    region_count: u32,
    p_regions: *const vk::ImageBlit,
    filter: vk::Filter,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdBlitImage", |_| {
            Ok(vec![CmdBlitImage {
                src: image(src)?.id,
                dst: image(dst)?.id,
                regions: slice(p_regions, region_count)
                    .iter()
                    .map(|r| ImageBlit {
                        src_subresource: layers(&r.src_subresource),
                        src_offsets: [offset3(&r.src_offsets[0]), offset3(&r.src_offsets[1])],
                        dst_subresource: layers(&r.dst_subresource),
                        dst_offsets: [offset3(&r.dst_offsets[0]), offset3(&r.dst_offsets[1])],
                    })
                    .collect(),
                filter: filter.as_raw() as u32,
            }
            .into()])
        })
    }
}
