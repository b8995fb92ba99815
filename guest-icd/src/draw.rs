//! Recording of the graphics commands around a draw: vertex and index buffers, draws (direct,
//! indirect, indirect-count), render passes (VkRenderPass and VK_KHR_dynamic_rendering).

use crate::command_buffer::{record, unsupported};
use crate::entry::slice;
use crate::error::IcdResult;
use crate::graphics_pipeline::rect;
use crate::image::view_id;
use ash::vk::{self, Handle};
use protocol::graphics::{ClearValue, RenderingAttachment};
use protocol::stream::{
    CmdBeginRenderPass, CmdBeginRendering, CmdBindIndexBuffer, CmdBindVertexBuffers, CmdDraw,
    CmdDrawIndexed, CmdDrawIndirect, CmdDrawIndirectCount, CmdEndRenderPass, CmdEndRendering,
    CmdNextSubpass,
};

/// The wire id of a buffer, 0 for `VK_NULL_HANDLE`.
///
/// # Safety
/// `h` is null or a live buffer of ours.
unsafe fn buffer_id(h: vk::Buffer) -> IcdResult<u64> {
    if h.is_null() {
        return Ok(0);
    }
    // SAFETY: caller contract.
    Ok(unsafe { crate::buffer::buffer(h) }?.id)
}

/// A `VkClearValue` as its raw words (the union's bytes).
pub(crate) fn clear_words(v: &vk::ClearValue) -> ClearValue {
    // SAFETY: every member of the 16-byte union is plain data; reading it as four u32s reads
    // the bytes the app wrote (the device interprets them by the attachment's format).
    unsafe { v.color.uint32 }
}

/// # Safety
/// Vulkan valid usage for `vkCmdBindVertexBuffers`.
pub(crate) unsafe extern "system" fn cmd_bind_vertex_buffers(
    cb: vk::CommandBuffer,
    first_binding: u32,
    count: u32,
    p_buffers: *const vk::Buffer,
    p_offsets: *const vk::DeviceSize,
) {
    // SAFETY: valid usage.
    unsafe {
        cmd_bind_vertex_buffers2_ext(
            cb,
            first_binding,
            count,
            p_buffers,
            p_offsets,
            std::ptr::null(),
            std::ptr::null(),
        )
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdBindVertexBuffers2`.
pub(crate) unsafe extern "system" fn cmd_bind_vertex_buffers2_ext(
    cb: vk::CommandBuffer,
    first_binding: u32,
    count: u32,
    p_buffers: *const vk::Buffer,
    p_offsets: *const vk::DeviceSize,
    p_sizes: *const vk::DeviceSize,
    p_strides: *const vk::DeviceSize,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdBindVertexBuffers", |_| {
            let handles = slice(p_buffers, count);
            let offsets = slice(p_offsets, count);
            if handles.len() != count as usize || offsets.len() != count as usize {
                return Err(unsupported("null buffer or offset array".into()));
            }
            let mut buffers = Vec::with_capacity(handles.len());
            for h in handles {
                buffers.push(buffer_id(*h)?);
            }
            Ok(vec![CmdBindVertexBuffers {
                first_binding,
                buffers,
                offsets: offsets.to_vec(),
                sizes: slice(p_sizes, count).to_vec(),
                strides: slice(p_strides, count).to_vec(),
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdBindIndexBuffer`.
pub(crate) unsafe extern "system" fn cmd_bind_index_buffer(
    cb: vk::CommandBuffer,
    buffer: vk::Buffer,
    offset: vk::DeviceSize,
    index_type: vk::IndexType,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdBindIndexBuffer", |_| {
            Ok(vec![CmdBindIndexBuffer {
                buffer: crate::buffer::buffer(buffer)?.id,
                offset,
                index_type: index_type.as_raw() as u32,
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdDraw`.
pub(crate) unsafe extern "system" fn cmd_draw(
    cb: vk::CommandBuffer,
    vertex_count: u32,
    instance_count: u32,
    first_vertex: u32,
    first_instance: u32,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdDraw", |_| {
            Ok(vec![CmdDraw {
                vertex_count,
                instance_count,
                first_vertex,
                first_instance,
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdDrawIndexed`.
pub(crate) unsafe extern "system" fn cmd_draw_indexed(
    cb: vk::CommandBuffer,
    index_count: u32,
    instance_count: u32,
    first_index: u32,
    vertex_offset: i32,
    first_instance: u32,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdDrawIndexed", |_| {
            Ok(vec![CmdDrawIndexed {
                index_count,
                instance_count,
                first_index,
                vertex_offset,
                first_instance,
            }
            .into()])
        })
    }
}

/// # Safety
/// `cb` as for [`record`].
unsafe fn draw_indirect(
    cb: vk::CommandBuffer,
    name: &str,
    indexed: bool,
    buffer: vk::Buffer,
    offset: u64,
    draw_count: u32,
    stride: u32,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, name, |_| {
            Ok(vec![CmdDrawIndirect {
                indexed,
                buffer: crate::buffer::buffer(buffer)?.id,
                offset,
                draw_count,
                stride,
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdDrawIndirect`.
pub(crate) unsafe extern "system" fn cmd_draw_indirect(
    cb: vk::CommandBuffer,
    buffer: vk::Buffer,
    offset: vk::DeviceSize,
    draw_count: u32,
    stride: u32,
) {
    // SAFETY: valid usage.
    unsafe {
        draw_indirect(
            cb,
            "vkCmdDrawIndirect",
            false,
            buffer,
            offset,
            draw_count,
            stride,
        )
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdDrawIndexedIndirect`.
pub(crate) unsafe extern "system" fn cmd_draw_indexed_indirect(
    cb: vk::CommandBuffer,
    buffer: vk::Buffer,
    offset: vk::DeviceSize,
    draw_count: u32,
    stride: u32,
) {
    // SAFETY: valid usage.
    unsafe {
        draw_indirect(
            cb,
            "vkCmdDrawIndexedIndirect",
            true,
            buffer,
            offset,
            draw_count,
            stride,
        )
    }
}

/// # Safety
/// `cb` as for [`record`].
#[allow(clippy::too_many_arguments)]
unsafe fn draw_indirect_count(
    cb: vk::CommandBuffer,
    name: &str,
    indexed: bool,
    buffer: vk::Buffer,
    offset: u64,
    count_buffer: vk::Buffer,
    count_offset: u64,
    max_draw_count: u32,
    stride: u32,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, name, |_| {
            Ok(vec![CmdDrawIndirectCount {
                indexed,
                buffer: crate::buffer::buffer(buffer)?.id,
                offset,
                count_buffer: crate::buffer::buffer(count_buffer)?.id,
                count_offset,
                max_draw_count,
                stride,
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdDrawIndirectCount`.
pub(crate) unsafe extern "system" fn cmd_draw_indirect_count_khr(
    cb: vk::CommandBuffer,
    buffer: vk::Buffer,
    offset: vk::DeviceSize,
    count_buffer: vk::Buffer,
    count_offset: vk::DeviceSize,
    max_draw_count: u32,
    stride: u32,
) {
    // SAFETY: valid usage.
    unsafe {
        draw_indirect_count(
            cb,
            "vkCmdDrawIndirectCountKHR",
            false,
            buffer,
            offset,
            count_buffer,
            count_offset,
            max_draw_count,
            stride,
        )
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdDrawIndexedIndirectCount`.
pub(crate) unsafe extern "system" fn cmd_draw_indexed_indirect_count_khr(
    cb: vk::CommandBuffer,
    buffer: vk::Buffer,
    offset: vk::DeviceSize,
    count_buffer: vk::Buffer,
    count_offset: vk::DeviceSize,
    max_draw_count: u32,
    stride: u32,
) {
    // SAFETY: valid usage.
    unsafe {
        draw_indirect_count(
            cb,
            "vkCmdDrawIndexedIndirectCountKHR",
            true,
            buffer,
            offset,
            count_buffer,
            count_offset,
            max_draw_count,
            stride,
        )
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdBeginRenderPass`.
pub(crate) unsafe extern "system" fn cmd_begin_render_pass(
    cb: vk::CommandBuffer,
    p_begin: *const vk::RenderPassBeginInfo<'_>,
    _contents: vk::SubpassContents,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdBeginRenderPass", |_| {
            let info = p_begin
                .as_ref()
                .ok_or_else(|| unsupported("null begin info".into()))?;
            let rp = crate::render_pass::render_pass(info.render_pass)?;
            let fb = crate::render_pass::framebuffer(info.framebuffer)?;
            // Clear values past the last attachment are never read (Vulkan §8.4).
            let n = info.clear_value_count.min(rp.attachments);
            Ok(vec![CmdBeginRenderPass {
                render_pass: rp.id,
                framebuffer: fb.id,
                render_area: rect(&info.render_area),
                clear_values: slice(info.p_clear_values, n)
                    .iter()
                    .map(clear_words)
                    .collect(),
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdBeginRenderPass2`.
pub(crate) unsafe extern "system" fn cmd_begin_render_pass2_khr(
    cb: vk::CommandBuffer,
    p_begin: *const vk::RenderPassBeginInfo<'_>,
    _p_subpass_begin: *const vk::SubpassBeginInfo<'_>,
) {
    // SAFETY: valid usage.
    unsafe { cmd_begin_render_pass(cb, p_begin, vk::SubpassContents::INLINE) }
}

/// # Safety
/// Vulkan valid usage for `vkCmdNextSubpass`.
pub(crate) unsafe extern "system" fn cmd_next_subpass(
    cb: vk::CommandBuffer,
    _contents: vk::SubpassContents,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdNextSubpass", |_| {
            Ok(vec![CmdNextSubpass {}.into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdNextSubpass2`.
pub(crate) unsafe extern "system" fn cmd_next_subpass2_khr(
    cb: vk::CommandBuffer,
    _p_begin: *const vk::SubpassBeginInfo<'_>,
    _p_end: *const vk::SubpassEndInfo<'_>,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdNextSubpass2", |_| {
            Ok(vec![CmdNextSubpass {}.into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdEndRenderPass`.
pub(crate) unsafe extern "system" fn cmd_end_render_pass(cb: vk::CommandBuffer) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdEndRenderPass", |_| {
            Ok(vec![CmdEndRenderPass {}.into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdEndRenderPass2`.
pub(crate) unsafe extern "system" fn cmd_end_render_pass2_khr(
    cb: vk::CommandBuffer,
    _p_end: *const vk::SubpassEndInfo<'_>,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdEndRenderPass2", |_| {
            Ok(vec![CmdEndRenderPass {}.into()])
        })
    }
}

/// # Safety
/// `a` is a valid `VkRenderingAttachmentInfo` whose views are null or live views of ours.
unsafe fn rendering_attachment(a: &vk::RenderingAttachmentInfo<'_>) -> RenderingAttachment {
    RenderingAttachment {
        // SAFETY: caller contract.
        view: unsafe { view_id(a.image_view) },
        resolve_mode: a.resolve_mode.as_raw(),
        // SAFETY: caller contract.
        resolve_view: unsafe { view_id(a.resolve_image_view) },
        load_op: a.load_op.as_raw() as u32,
        store_op: a.store_op.as_raw() as u32,
        clear_value: clear_words(&a.clear_value),
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdBeginRendering`.
pub(crate) unsafe extern "system" fn cmd_begin_rendering_khr(
    cb: vk::CommandBuffer,
    p_info: *const vk::RenderingInfo<'_>,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdBeginRenderingKHR", |_| {
            let info = p_info
                .as_ref()
                .ok_or_else(|| unsupported("null rendering info".into()))?;
            let colors = slice(info.p_color_attachments, info.color_attachment_count);
            if colors.len() != info.color_attachment_count as usize {
                return Err(unsupported("null colour attachment array".into()));
            }
            Ok(vec![CmdBeginRendering {
                flags: info.flags.as_raw(),
                render_area: rect(&info.render_area),
                layer_count: info.layer_count,
                view_mask: info.view_mask,
                color_attachments: colors.iter().map(|a| rendering_attachment(a)).collect(),
                depth_attachment: info
                    .p_depth_attachment
                    .as_ref()
                    .map(|a| rendering_attachment(a)),
                stencil_attachment: info
                    .p_stencil_attachment
                    .as_ref()
                    .map(|a| rendering_attachment(a)),
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdEndRendering`.
pub(crate) unsafe extern "system" fn cmd_end_rendering_khr(cb: vk::CommandBuffer) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdEndRenderingKHR", |_| {
            Ok(vec![CmdEndRendering {}.into()])
        })
    }
}
