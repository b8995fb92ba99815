//! An offscreen render target: colour attachments and an optional depth/stencil attachment,
//! drawn into through a one-subpass render pass (`vkCreateRenderPass`) or dynamic rendering
//! (`VK_KHR_dynamic_rendering`), cleared on load, then copied into host-visible buffers
//! (`vkCmdCopyImageToBuffer`, depth and stencil aspects separately).

use ash::vk;

use super::format::FormatInfo;
use super::recorder::Recorder;
use super::resources::{Attachment, HostBuffer};
use super::{GraphicsContext, VkContext};
use crate::GpuError;

/// How a target begins and ends its pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassMode {
    RenderPass,
    Dynamic,
    /// A render pass of two subpasses on exactly two colour attachments (issue 7's input
    /// attachments): subpass 0 writes colour 0 (and depth), subpass 1 reads colour 0 as input
    /// attachment 0 and writes colour 1. Pipelines name their subpass
    /// ([`super::PipelineDesc::subpass`]); [`super::Recorder::next_subpass`] moves on.
    InputSubpass,
}

/// Which aspect of an attachment a readback holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aspect {
    Color,
    Depth,
    Stencil,
}

/// One aspect of one attachment, copied to the host: tightly packed rows.
#[derive(Clone, Debug)]
pub struct ReadImage {
    pub name: String,
    pub info: FormatInfo,
    pub aspect: Aspect,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

impl ReadImage {
    /// Bytes per texel of this aspect.
    pub fn texel_bytes(&self) -> usize {
        match self.aspect {
            Aspect::Stencil => 1,
            _ => self.info.texel_bytes as usize,
        }
    }

    /// The texel at (x, y), or an empty slice outside the image.
    pub fn texel(&self, x: u32, y: u32) -> &[u8] {
        let tb = self.texel_bytes();
        let at = (y as usize * self.width as usize + x as usize) * tb;
        self.bytes.get(at..at + tb).unwrap_or(&[])
    }

    /// The channel codes at (x, y) (stencil: the value in R).
    pub fn codes(&self, x: u32, y: u32) -> [u64; 4] {
        match self.aspect {
            Aspect::Stencil => [
                self.texel(x, y).first().copied().unwrap_or(0).into(),
                0,
                0,
                0,
            ],
            _ => self.info.codes(self.texel(x, y)),
        }
    }

    /// The picture as 8-bit RGBA: colour as [`FormatInfo::to_rgba8`], depth as grey levels,
    /// stencil values as grey levels.
    pub fn to_rgba8(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.width as usize * self.height as usize * 4);
        for y in 0..self.height {
            for x in 0..self.width {
                let px = match self.aspect {
                    Aspect::Color => self.info.to_rgba8(self.texel(x, y)),
                    Aspect::Depth => {
                        let v = self.info.decode_channel(0, self.codes(x, y)[0]);
                        let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                        [g, g, g, 255]
                    }
                    Aspect::Stencil => {
                        let s = self.codes(x, y)[0] as u8;
                        [s, s, s, 255]
                    }
                };
                out.extend(px);
            }
        }
        out
    }
}

/// Clear values applied on load.
#[derive(Clone)]
pub struct Clear {
    pub colors: Vec<vk::ClearColorValue>,
    pub depth: f32,
    pub stencil: u32,
}

impl Clear {
    /// Every colour attachment cleared to the float colour `rgba`, depth 1, stencil 0.
    pub fn color(rgba: [f32; 4], attachments: usize) -> Clear {
        Clear {
            colors: vec![vk::ClearColorValue { float32: rgba }; attachments],
            depth: 1.0,
            stencil: 0,
        }
    }
}

/// Attachments plus what begins a pass on them.
pub struct RenderTarget<'c> {
    ctx: &'c GraphicsContext,
    pub width: u32,
    pub height: u32,
    mode: PassMode,
    pub colors: Vec<Attachment<'c>>,
    pub depth: Option<Attachment<'c>>,
    render_pass: vk::RenderPass,
    framebuffer: vk::Framebuffer,
    pub clear: Clear,
}

impl<'c> RenderTarget<'c> {
    /// A `width`×`height` target with one attachment per colour format and an optional
    /// depth/stencil attachment; cleared to transparent black, depth 1, stencil 0.
    pub fn new(
        ctx: &'c GraphicsContext,
        width: u32,
        height: u32,
        colors: &[vk::Format],
        depth: Option<vk::Format>,
        mode: PassMode,
    ) -> Result<RenderTarget<'c>, GpuError> {
        if mode == PassMode::Dynamic && ctx.dynamic_rendering.is_none() {
            return Err(GpuError::Setup(format!(
                "{} does not offer VK_KHR_dynamic_rendering",
                ctx.name()
            )));
        }
        let mut target = RenderTarget {
            ctx,
            width,
            height,
            mode,
            colors: Vec::new(),
            depth: None,
            render_pass: vk::RenderPass::null(),
            framebuffer: vk::Framebuffer::null(),
            clear: Clear::color([0.0; 4], colors.len()),
        };
        for &f in colors {
            target.colors.push(Attachment::new(ctx, f, width, height)?);
        }
        target.depth = depth
            .map(|f| Attachment::new(ctx, f, width, height))
            .transpose()?;
        if mode == PassMode::InputSubpass && colors.len() != 2 {
            return Err(GpuError::Setup(
                "an input-subpass target has exactly two colour attachments".into(),
            ));
        }
        if mode != PassMode::Dynamic {
            target.make_render_pass()?;
        }
        Ok(target)
    }

    fn make_render_pass(&mut self) -> Result<(), GpuError> {
        let d = &self.ctx.device;
        let describe = |a: &Attachment<'_>| vk::AttachmentDescription {
            format: a.format,
            samples: vk::SampleCountFlags::TYPE_1,
            load_op: vk::AttachmentLoadOp::CLEAR,
            store_op: vk::AttachmentStoreOp::STORE,
            stencil_load_op: vk::AttachmentLoadOp::CLEAR,
            stencil_store_op: vk::AttachmentStoreOp::STORE,
            initial_layout: vk::ImageLayout::UNDEFINED,
            final_layout: vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
            ..Default::default()
        };
        let mut attachments: Vec<_> = self.colors.iter().map(describe).collect();
        let color_refs: Vec<_> = (0..self.colors.len() as u32)
            .map(|i| vk::AttachmentReference {
                attachment: i,
                layout: vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL,
            })
            .collect();
        let depth_ref = vk::AttachmentReference {
            attachment: self.colors.len() as u32,
            layout: vk::ImageLayout::DEPTH_STENCIL_ATTACHMENT_OPTIMAL,
        };
        let two = self.mode == PassMode::InputSubpass;
        let first_colors = if two {
            &color_refs[..1]
        } else {
            &color_refs[..]
        };
        let mut subpass = vk::SubpassDescription::default()
            .pipeline_bind_point(vk::PipelineBindPoint::GRAPHICS)
            .color_attachments(first_colors);
        if let Some(depth) = &self.depth {
            attachments.push(describe(depth));
            subpass = subpass.depth_stencil_attachment(&depth_ref);
        }
        let input_refs = [vk::AttachmentReference {
            attachment: 0,
            layout: vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL,
        }];
        let second = vk::SubpassDescription::default()
            .pipeline_bind_point(vk::PipelineBindPoint::GRAPHICS)
            .input_attachments(&input_refs)
            .color_attachments(&color_refs[color_refs.len().min(1)..]);
        let last = u32::from(two);
        // The copies after the pass read what the pass wrote; with two subpasses, the second
        // reads what the first wrote to colour 0, at the same pixel.
        let mut dependencies = vec![vk::SubpassDependency {
            src_subpass: last,
            dst_subpass: vk::SUBPASS_EXTERNAL,
            src_stage_mask: vk::PipelineStageFlags::COLOR_ATTACHMENT_OUTPUT
                | vk::PipelineStageFlags::LATE_FRAGMENT_TESTS,
            dst_stage_mask: vk::PipelineStageFlags::TRANSFER,
            src_access_mask: vk::AccessFlags::COLOR_ATTACHMENT_WRITE
                | vk::AccessFlags::DEPTH_STENCIL_ATTACHMENT_WRITE,
            dst_access_mask: vk::AccessFlags::TRANSFER_READ,
            dependency_flags: vk::DependencyFlags::empty(),
        }];
        let mut subpasses = vec![subpass];
        if two {
            subpasses.push(second);
            dependencies.push(vk::SubpassDependency {
                src_subpass: 0,
                dst_subpass: 1,
                src_stage_mask: vk::PipelineStageFlags::COLOR_ATTACHMENT_OUTPUT,
                dst_stage_mask: vk::PipelineStageFlags::FRAGMENT_SHADER,
                src_access_mask: vk::AccessFlags::COLOR_ATTACHMENT_WRITE,
                dst_access_mask: vk::AccessFlags::INPUT_ATTACHMENT_READ,
                dependency_flags: vk::DependencyFlags::BY_REGION,
            });
            // Colour 0 is read by the copy after the pass too: it ends the pass in
            // TRANSFER_SRC_OPTIMAL like every attachment, having been an input attachment.
        }
        let info = vk::RenderPassCreateInfo::default()
            .attachments(&attachments)
            .subpasses(&subpasses)
            .dependencies(&dependencies);
        // SAFETY: `d` is live; `info` and its arrays outlive the call.
        self.render_pass =
            unsafe { d.create_render_pass(&info, None) }.ctx("vkCreateRenderPass")?;
        let views: Vec<_> = self
            .colors
            .iter()
            .chain(self.depth.iter())
            .map(|a| a.view)
            .collect();
        let fb_info = vk::FramebufferCreateInfo::default()
            .render_pass(self.render_pass)
            .attachments(&views)
            .width(self.width)
            .height(self.height)
            .layers(1);
        // SAFETY: as above; the views belong to this target.
        self.framebuffer =
            unsafe { d.create_framebuffer(&fb_info, None) }.ctx("vkCreateFramebuffer")?;
        Ok(())
    }

    pub fn mode(&self) -> PassMode {
        self.mode
    }

    pub fn render_pass(&self) -> vk::RenderPass {
        self.render_pass
    }

    pub fn color_formats(&self) -> Vec<vk::Format> {
        self.colors.iter().map(|a| a.format).collect()
    }

    /// The colour formats a pipeline of `subpass` writes.
    pub fn subpass_color_formats(&self, subpass: u32) -> Vec<vk::Format> {
        let all = self.color_formats();
        match (self.mode, subpass) {
            (PassMode::InputSubpass, 0) => all[..1].to_vec(),
            (PassMode::InputSubpass, _) => all[1..].to_vec(),
            _ => all,
        }
    }

    pub fn depth_format(&self) -> Option<vk::Format> {
        self.depth.as_ref().map(|a| a.format)
    }

    /// Clears, runs `record` inside the pass, copies every aspect of every attachment to the
    /// host and returns them (colour attachments named `color0`.., then `depth`, `stencil`).
    pub fn render(
        &self,
        record: impl FnOnce(&Recorder<'_>) -> Result<(), GpuError>,
    ) -> Result<Vec<ReadImage>, GpuError> {
        self.render_frame(record, true)
    }

    /// As [`RenderTarget::render`]; with `read_back` false nothing is copied (frames of an
    /// animation that nobody looks at).
    pub fn render_frame(
        &self,
        record: impl FnOnce(&Recorder<'_>) -> Result<(), GpuError>,
        read_back: bool,
    ) -> Result<Vec<ReadImage>, GpuError> {
        let mut plan = Vec::new();
        if read_back {
            for (i, a) in self.colors.iter().enumerate() {
                plan.push((format!("color{i}"), a, Aspect::Color));
            }
            if let Some(a) = &self.depth {
                if a.info.has_depth {
                    plan.push(("depth".to_string(), a, Aspect::Depth));
                }
                if a.info.has_stencil {
                    plan.push(("stencil".to_string(), a, Aspect::Stencil));
                }
            }
        }
        let texels = u64::from(self.width) * u64::from(self.height);
        let buffers = plan
            .iter()
            .map(|(_, a, aspect)| {
                let tb = if *aspect == Aspect::Stencil {
                    1
                } else {
                    u64::from(a.info.texel_bytes)
                };
                HostBuffer::new(self.ctx, texels * tb, vk::BufferUsageFlags::TRANSFER_DST)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.ctx.submit_and_wait(|cb| {
            self.begin(cb)?;
            let recorder = Recorder::new(self.ctx, cb, self.width, self.height);
            let recorded = record(&recorder);
            self.end(cb)?;
            recorded?;
            for ((_, a, aspect), buf) in plan.iter().zip(&buffers) {
                self.copy_out(cb, a, *aspect, buf);
            }
            let to_host = [vk::MemoryBarrier::default()
                .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
                .dst_access_mask(vk::AccessFlags::HOST_READ)];
            // SAFETY: `cb` is recording outside a pass.
            unsafe {
                self.ctx.device.cmd_pipeline_barrier(
                    cb,
                    vk::PipelineStageFlags::TRANSFER,
                    vk::PipelineStageFlags::HOST,
                    vk::DependencyFlags::empty(),
                    &to_host,
                    &[],
                    &[],
                )
            };
            Ok(())
        })?;
        Ok(plan
            .iter()
            .zip(&buffers)
            .map(|((name, a, aspect), buf)| ReadImage {
                name: name.clone(),
                info: a.info,
                aspect: *aspect,
                width: self.width,
                height: self.height,
                bytes: buf.read(buf.size as usize),
            })
            .collect())
    }

    fn clear_values(&self) -> Vec<vk::ClearValue> {
        let mut values: Vec<vk::ClearValue> = (0..self.colors.len())
            .map(|i| vk::ClearValue {
                color: self
                    .clear
                    .colors
                    .get(i)
                    .copied()
                    .unwrap_or(vk::ClearColorValue { float32: [0.0; 4] }),
            })
            .collect();
        values.push(vk::ClearValue {
            depth_stencil: vk::ClearDepthStencilValue {
                depth: self.clear.depth,
                stencil: self.clear.stencil,
            },
        });
        values
    }

    fn full_area(&self) -> vk::Rect2D {
        vk::Rect2D {
            offset: vk::Offset2D { x: 0, y: 0 },
            extent: vk::Extent2D {
                width: self.width,
                height: self.height,
            },
        }
    }

    fn begin(&self, cb: vk::CommandBuffer) -> Result<(), GpuError> {
        let d = &self.ctx.device;
        let clears = self.clear_values();
        match (self.mode, &self.ctx.dynamic_rendering) {
            (PassMode::RenderPass | PassMode::InputSubpass, _) => {
                let n = self.colors.len() + usize::from(self.depth.is_some());
                let info = vk::RenderPassBeginInfo::default()
                    .render_pass(self.render_pass)
                    .framebuffer(self.framebuffer)
                    .render_area(self.full_area())
                    .clear_values(&clears[..n]);
                // SAFETY: `cb` is recording outside a pass; the pass and framebuffer are live.
                unsafe { d.cmd_begin_render_pass(cb, &info, vk::SubpassContents::INLINE) };
            }
            (PassMode::Dynamic, Some(dr)) => {
                self.transition(cb, true);
                let color_infos: Vec<_> = self
                    .colors
                    .iter()
                    .zip(&clears)
                    .map(|(a, clear)| {
                        vk::RenderingAttachmentInfoKHR::default()
                            .image_view(a.view)
                            .image_layout(vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL)
                            .load_op(vk::AttachmentLoadOp::CLEAR)
                            .store_op(vk::AttachmentStoreOp::STORE)
                            .clear_value(*clear)
                    })
                    .collect();
                let ds_clear = clears.last().copied().unwrap_or_default();
                let ds_info = self.depth.as_ref().map(|a| {
                    vk::RenderingAttachmentInfoKHR::default()
                        .image_view(a.view)
                        .image_layout(vk::ImageLayout::DEPTH_STENCIL_ATTACHMENT_OPTIMAL)
                        .load_op(vk::AttachmentLoadOp::CLEAR)
                        .store_op(vk::AttachmentStoreOp::STORE)
                        .clear_value(ds_clear)
                });
                let mut info = vk::RenderingInfoKHR::default()
                    .render_area(self.full_area())
                    .layer_count(1)
                    .color_attachments(&color_infos);
                if let (Some(ds), Some(a)) = (&ds_info, &self.depth) {
                    if a.info.has_depth {
                        info = info.depth_attachment(ds);
                    }
                    if a.info.has_stencil {
                        info = info.stencil_attachment(ds);
                    }
                }
                // SAFETY: `cb` is recording outside a pass; the views are live and in the
                // attachment layouts (transitioned above).
                unsafe { dr.cmd_begin_rendering(cb, &info) };
            }
            (PassMode::Dynamic, None) => {
                return Err(GpuError::Setup("dynamic rendering not enabled".into()))
            }
        }
        Ok(())
    }

    fn end(&self, cb: vk::CommandBuffer) -> Result<(), GpuError> {
        match (self.mode, &self.ctx.dynamic_rendering) {
            (PassMode::RenderPass | PassMode::InputSubpass, _) => {
                // SAFETY: `cb` is inside the pass begun in `begin`.
                unsafe { self.ctx.device.cmd_end_render_pass(cb) };
            }
            (PassMode::Dynamic, Some(dr)) => {
                // SAFETY: `cb` is inside the rendering begun in `begin`.
                unsafe { dr.cmd_end_rendering(cb) };
                self.transition(cb, false);
            }
            (PassMode::Dynamic, None) => {
                return Err(GpuError::Setup("dynamic rendering not enabled".into()))
            }
        }
        Ok(())
    }

    /// Layout transitions around dynamic rendering: undefined → attachment before, attachment
    /// → transfer source after (a render pass does both itself).
    fn transition(&self, cb: vk::CommandBuffer, before: bool) {
        let barriers: Vec<_> = self
            .colors
            .iter()
            .chain(self.depth.iter())
            .map(|a| {
                let (attachment_layout, access, stage_access) = if a.info.is_depth_stencil() {
                    (
                        vk::ImageLayout::DEPTH_STENCIL_ATTACHMENT_OPTIMAL,
                        vk::AccessFlags::DEPTH_STENCIL_ATTACHMENT_WRITE,
                        vk::AccessFlags::DEPTH_STENCIL_ATTACHMENT_READ,
                    )
                } else {
                    (
                        vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL,
                        vk::AccessFlags::COLOR_ATTACHMENT_WRITE,
                        vk::AccessFlags::COLOR_ATTACHMENT_READ,
                    )
                };
                let b = vk::ImageMemoryBarrier::default()
                    .image(a.image)
                    .subresource_range(a.range())
                    .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                    .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED);
                if before {
                    b.old_layout(vk::ImageLayout::UNDEFINED)
                        .new_layout(attachment_layout)
                        .dst_access_mask(access | stage_access)
                } else {
                    b.old_layout(attachment_layout)
                        .new_layout(vk::ImageLayout::TRANSFER_SRC_OPTIMAL)
                        .src_access_mask(access)
                        .dst_access_mask(vk::AccessFlags::TRANSFER_READ)
                }
            })
            .collect();
        let attachment_stages = vk::PipelineStageFlags::COLOR_ATTACHMENT_OUTPUT
            | vk::PipelineStageFlags::EARLY_FRAGMENT_TESTS
            | vk::PipelineStageFlags::LATE_FRAGMENT_TESTS;
        let (src, dst) = if before {
            (vk::PipelineStageFlags::TOP_OF_PIPE, attachment_stages)
        } else {
            (attachment_stages, vk::PipelineStageFlags::TRANSFER)
        };
        // SAFETY: `cb` is recording outside a pass; the images are live.
        unsafe {
            self.ctx.device.cmd_pipeline_barrier(
                cb,
                src,
                dst,
                vk::DependencyFlags::empty(),
                &[],
                &[],
                &barriers,
            )
        };
    }

    fn copy_out(
        &self,
        cb: vk::CommandBuffer,
        a: &Attachment<'_>,
        aspect: Aspect,
        buf: &HostBuffer<'_>,
    ) {
        let aspect_mask = match aspect {
            Aspect::Color => vk::ImageAspectFlags::COLOR,
            Aspect::Depth => vk::ImageAspectFlags::DEPTH,
            Aspect::Stencil => vk::ImageAspectFlags::STENCIL,
        };
        let region = vk::BufferImageCopy {
            buffer_offset: 0,
            buffer_row_length: 0,
            buffer_image_height: 0,
            image_subresource: vk::ImageSubresourceLayers {
                aspect_mask,
                mip_level: 0,
                base_array_layer: 0,
                layer_count: 1,
            },
            image_offset: vk::Offset3D::default(),
            image_extent: vk::Extent3D {
                width: self.width,
                height: self.height,
                depth: 1,
            },
        };
        // SAFETY: `cb` is recording outside a pass; the image is in TRANSFER_SRC_OPTIMAL (the
        // pass's final layout or the barrier after dynamic rendering) and the buffer holds
        // width × height texels of this aspect.
        unsafe {
            self.ctx.device.cmd_copy_image_to_buffer(
                cb,
                a.image,
                vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                buf.buffer,
                &[region],
            )
        };
    }
}

impl Drop for RenderTarget<'_> {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: every submission is waited for; null handles are ignored.
        unsafe {
            d.destroy_framebuffer(self.framebuffer, None);
            d.destroy_render_pass(self.render_pass, None);
        }
    }
}
