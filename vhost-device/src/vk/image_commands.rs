//! Recorded transfer commands on images: vkCmdClearColorImage, vkCmdClearDepthStencilImage,
//! vkCmdCopyBufferToImage, vkCmdCopyImageToBuffer, vkCmdCopyImage and vkCmdBlitImage.
//!
//! The device checks what is its business — ids, usage flags, that the command is outside a
//! render pass — and the renderer (`renderer::image`) validates every region against the
//! image before it touches memory, so a refused command writes nothing.

use protocol::stream::Command;
use renderer::format::ColorValue;
use renderer::image::blit::{blit_image, BlitFilter, ImageBlit};
use renderer::image::copy::{BufferImageCopy, ImageCopy};

use super::buffer::usage as buffer_usage;
use super::context::VkContext;
use super::guest::GuestScope;
use super::image::{subresource_layers, subresource_range, usage};
use super::ExecError;

/// Most regions (or ranges) one transfer command may carry; the stream's own size bounds them
/// too, this keeps per-command validation work small.
pub const MAX_TRANSFER_REGIONS: usize = 4096;

fn check_count(what: &'static str, n: usize) -> Result<(), ExecError> {
    if n == 0 {
        return Err(ExecError::Invalid(format!("{what}: none given")));
    }
    if n > MAX_TRANSFER_REGIONS {
        return Err(ExecError::Limit {
            what,
            value: n as u64,
            limit: MAX_TRANSFER_REGIONS as u64,
        });
    }
    Ok(())
}

fn buffer_image_copy(r: &protocol::graphics::BufferImageCopy) -> BufferImageCopy {
    BufferImageCopy {
        buffer_offset: r.buffer_offset,
        buffer_row_length: r.buffer_row_length,
        buffer_image_height: r.buffer_image_height,
        image_subresource: subresource_layers(&r.image_subresource),
        image_offset: r.image_offset,
        image_extent: r.image_extent,
    }
}

impl VkContext {
    /// Executes `cmd` if it is an image transfer command; `Ok(Some(cmd))` hands it back
    /// otherwise. `in_render_pass`: a render pass instance or dynamic rendering is active
    /// (transfers are refused there: VUID-vkCmdClearColorImage-renderpass and kin).
    pub(crate) fn execute_image_command(
        &self,
        cmd: Command,
        in_render_pass: bool,
        scope: &GuestScope<'_>,
    ) -> Result<Option<Command>, ExecError> {
        let transfer = matches!(
            cmd,
            Command::CmdClearColorImage(_)
                | Command::CmdClearDepthStencilImage(_)
                | Command::CmdCopyBufferToImage(_)
                | Command::CmdCopyImageToBuffer(_)
                | Command::CmdCopyImage(_)
                | Command::CmdBlitImage(_)
        );
        if transfer && in_render_pass {
            return Err(ExecError::Misplaced {
                command: cmd.name(),
                place: "inside a render pass",
            });
        }
        match cmd {
            Command::CmdClearColorImage(c) => {
                check_count("clear ranges", c.ranges.len())?;
                let object = self.images.image(c.image)?;
                // VUID-vkCmdClearColorImage-image-00002.
                object.check_usage(c.image, usage::TRANSFER_DST)?;
                let image = object.resolve(c.image, scope)?;
                let value = ColorValue::from_clear_words(object.format(), c.color);
                let ranges: Vec<_> = c.ranges.iter().map(subresource_range).collect();
                image.clear_color(value, &ranges)?;
            }
            Command::CmdClearDepthStencilImage(c) => {
                check_count("clear ranges", c.ranges.len())?;
                let object = self.images.image(c.image)?;
                // VUID-vkCmdClearDepthStencilImage-pRanges-02659 / -02660.
                object.check_usage(c.image, usage::TRANSFER_DST)?;
                let image = object.resolve(c.image, scope)?;
                let ranges: Vec<_> = c.ranges.iter().map(subresource_range).collect();
                image.clear_depth_stencil(c.depth, c.stencil, &ranges)?;
            }
            Command::CmdCopyBufferToImage(c) => {
                check_count("copy regions", c.regions.len())?;
                let buffer = self
                    .buffers
                    .resolve(c.buffer, buffer_usage::TRANSFER_SRC, scope)?;
                let object = self.images.image(c.image)?;
                object.check_usage(c.image, usage::TRANSFER_DST)?;
                let image = object.resolve(c.image, scope)?;
                let regions: Vec<_> = c.regions.iter().map(buffer_image_copy).collect();
                image.copy_from_buffer(&buffer, &regions)?;
            }
            Command::CmdCopyImageToBuffer(c) => {
                check_count("copy regions", c.regions.len())?;
                let buffer = self
                    .buffers
                    .resolve(c.buffer, buffer_usage::TRANSFER_DST, scope)?;
                let object = self.images.image(c.image)?;
                object.check_usage(c.image, usage::TRANSFER_SRC)?;
                let image = object.resolve(c.image, scope)?;
                let regions: Vec<_> = c.regions.iter().map(buffer_image_copy).collect();
                image.copy_to_buffer(&buffer, &regions)?;
            }
            Command::CmdCopyImage(c) => {
                check_count("copy regions", c.regions.len())?;
                let src_object = self.images.image(c.src)?;
                src_object.check_usage(c.src, usage::TRANSFER_SRC)?;
                let dst_object = self.images.image(c.dst)?;
                dst_object.check_usage(c.dst, usage::TRANSFER_DST)?;
                let src = src_object.resolve(c.src, scope)?;
                let dst = dst_object.resolve(c.dst, scope)?;
                let regions: Vec<_> = c
                    .regions
                    .iter()
                    .map(|r| ImageCopy {
                        src_subresource: subresource_layers(&r.src_subresource),
                        src_offset: r.src_offset,
                        dst_subresource: subresource_layers(&r.dst_subresource),
                        dst_offset: r.dst_offset,
                        extent: r.extent,
                    })
                    .collect();
                dst.copy_from_image(&src, &regions)?;
            }
            Command::CmdBlitImage(c) => {
                check_count("blit regions", c.regions.len())?;
                // VUID-vkCmdBlitImage-filter-02001 and kin: NEAREST or LINEAR (no cubic
                // filtering is offered); the renderer refuses LINEAR for formats without
                // linear filtering.
                let filter = match c.filter {
                    0 => BlitFilter::Nearest,
                    1 => BlitFilter::Linear,
                    other => {
                        return Err(ExecError::Invalid(format!(
                            "vkCmdBlitImage: unsupported VkFilter {other}"
                        )))
                    }
                };
                let src_object = self.images.image(c.src)?;
                // VUID-vkCmdBlitImage-srcImage-00219 / dstImage-00224: transfer usages.
                src_object.check_usage(c.src, usage::TRANSFER_SRC)?;
                let dst_object = self.images.image(c.dst)?;
                dst_object.check_usage(c.dst, usage::TRANSFER_DST)?;
                let src = src_object.resolve(c.src, scope)?;
                let dst = dst_object.resolve(c.dst, scope)?;
                let regions: Vec<_> = c
                    .regions
                    .iter()
                    .map(|r| ImageBlit {
                        src_subresource: subresource_layers(&r.src_subresource),
                        src_offsets: r.src_offsets,
                        dst_subresource: subresource_layers(&r.dst_subresource),
                        dst_offsets: r.dst_offsets,
                    })
                    .collect();
                blit_image(&src, &dst, &regions, filter)?;
            }
            other => return Ok(Some(other)),
        }
        Ok(None)
    }
}
