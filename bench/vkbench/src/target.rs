//! The colour target of the graphics workloads: one R8G8B8A8_UNORM image (OPTIMAL tiling,
//! COLOR_ATTACHMENT | TRANSFER_SRC), its view, a one-subpass render pass that clears it and
//! leaves it ready to copy, the framebuffer, and a host buffer the image is copied into when
//! a workload checks what was drawn.
//!
//! Vulkan 1.0 only (softgpu reports 1.0): vkCreateRenderPass, no dynamic rendering.

use ash::vk;

use crate::buffer::HostBuffer;
use crate::gpu::{failed, Gpu, GpuError};

pub const FORMAT: vk::Format = vk::Format::R8G8B8A8_UNORM;

/// Width × height in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    pub width: u32,
    pub height: u32,
}

impl Extent {
    pub fn pixels(self) -> usize {
        self.width as usize * self.height as usize
    }

    fn vk(self) -> vk::Extent2D {
        vk::Extent2D {
            width: self.width,
            height: self.height,
        }
    }
}

pub struct RenderTarget<'g> {
    gpu: &'g Gpu,
    pub extent: Extent,
    image: vk::Image,
    memory: vk::DeviceMemory,
    view: vk::ImageView,
    pub render_pass: vk::RenderPass,
    framebuffer: vk::Framebuffer,
    /// The image's pixels after `record_readback`, tightly packed rows of RGBA8.
    pub readback: HostBuffer<'g>,
}

impl<'g> RenderTarget<'g> {
    pub fn new(gpu: &'g Gpu, extent: Extent) -> Result<Self, GpuError> {
        gpu.require_graphics()?;
        let l = &gpu.properties.limits;
        gpu.require(
            "maxImageDimension2D",
            l.max_image_dimension2_d.into(),
            extent.width.max(extent.height).into(),
        )?;
        gpu.require(
            "maxFramebufferWidth",
            l.max_framebuffer_width.into(),
            extent.width.into(),
        )?;
        gpu.require(
            "maxFramebufferHeight",
            l.max_framebuffer_height.into(),
            extent.height.into(),
        )?;
        if extent.pixels() == 0 {
            return Err(GpuError::Misuse(format!("empty render target {extent:?}")));
        }
        let readback = HostBuffer::with_usage(
            gpu,
            4 * extent.pixels() as u64,
            vk::BufferUsageFlags::TRANSFER_DST,
        )?;
        let info = vk::ImageCreateInfo::default()
            .image_type(vk::ImageType::TYPE_2D)
            .format(FORMAT)
            .extent(vk::Extent3D {
                width: extent.width,
                height: extent.height,
                depth: 1,
            })
            .mip_levels(1)
            .array_layers(1)
            .samples(vk::SampleCountFlags::TYPE_1)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(vk::ImageUsageFlags::COLOR_ATTACHMENT | vk::ImageUsageFlags::TRANSFER_SRC)
            .sharing_mode(vk::SharingMode::EXCLUSIVE)
            .initial_layout(vk::ImageLayout::UNDEFINED);
        // SAFETY: `info` is valid for the call (limits checked above).
        let image =
            unsafe { gpu.device.create_image(&info, None) }.map_err(failed("vkCreateImage"))?;
        let mut this = RenderTarget {
            gpu,
            extent,
            image,
            memory: vk::DeviceMemory::null(),
            view: vk::ImageView::null(),
            render_pass: vk::RenderPass::null(),
            framebuffer: vk::Framebuffer::null(),
            readback,
        };
        // From here on, `this` destroys what exists if a step fails.
        // SAFETY: `image` is a live image of this device.
        let req = unsafe { gpu.device.get_image_memory_requirements(image) };
        let alloc = vk::MemoryAllocateInfo::default()
            .allocation_size(req.size)
            .memory_type_index(gpu.device_memory_type(req.memory_type_bits)?);
        // SAFETY: `alloc` names a memory type of this device.
        this.memory = unsafe { gpu.device.allocate_memory(&alloc, None) }
            .map_err(failed("vkAllocateMemory"))?;
        // SAFETY: the allocation has `req.size` bytes of an allowed type; offset 0 is aligned.
        unsafe { gpu.device.bind_image_memory(image, this.memory, 0) }
            .map_err(failed("vkBindImageMemory"))?;
        let info = vk::ImageViewCreateInfo::default()
            .image(image)
            .view_type(vk::ImageViewType::TYPE_2D)
            .format(FORMAT)
            .subresource_range(color_range());
        // SAFETY: `image` is live and bound to memory; the view matches its format and range.
        this.view = unsafe { gpu.device.create_image_view(&info, None) }
            .map_err(failed("vkCreateImageView"))?;
        this.render_pass = create_render_pass(gpu)?;
        let views = [this.view];
        let info = vk::FramebufferCreateInfo::default()
            .render_pass(this.render_pass)
            .attachments(&views)
            .width(extent.width)
            .height(extent.height)
            .layers(1);
        // SAFETY: render pass and view are live and compatible (one RGBA8 attachment).
        this.framebuffer = unsafe { gpu.device.create_framebuffer(&info, None) }
            .map_err(failed("vkCreateFramebuffer"))?;
        Ok(this)
    }

    /// Begins the render pass (clearing to `clear`) and sets the viewport and scissor to the
    /// whole target.
    pub fn record_begin(&self, cmd: vk::CommandBuffer, clear: [f32; 4]) {
        let dev = &self.gpu.device;
        let clears = [vk::ClearValue {
            color: vk::ClearColorValue { float32: clear },
        }];
        let area = vk::Rect2D {
            offset: vk::Offset2D::default(),
            extent: self.extent.vk(),
        };
        let info = vk::RenderPassBeginInfo::default()
            .render_pass(self.render_pass)
            .framebuffer(self.framebuffer)
            .render_area(area)
            .clear_values(&clears);
        // SAFETY: `cmd` is recording outside a render pass; pass and framebuffer are live.
        unsafe { dev.cmd_begin_render_pass(cmd, &info, vk::SubpassContents::INLINE) };
        let viewport = vk::Viewport {
            x: 0.0,
            y: 0.0,
            width: self.extent.width as f32,
            height: self.extent.height as f32,
            min_depth: 0.0,
            max_depth: 1.0,
        };
        // SAFETY: `cmd` is recording; the bound pipelines declare both states dynamic.
        unsafe { dev.cmd_set_viewport(cmd, 0, &[viewport]) };
        // SAFETY: as above.
        unsafe { dev.cmd_set_scissor(cmd, 0, &[area]) };
    }

    pub fn record_end(&self, cmd: vk::CommandBuffer) {
        // SAFETY: `cmd` is inside the render pass begun by `record_begin`.
        unsafe { self.gpu.device.cmd_end_render_pass(cmd) };
    }

    /// After `record_end`: copies the image into `readback` and makes the copy visible to host
    /// reads once the submission's fence signals.
    pub fn record_readback(&self, cmd: vk::CommandBuffer) {
        let dev = &self.gpu.device;
        let region = vk::BufferImageCopy::default()
            .image_subresource(vk::ImageSubresourceLayers {
                aspect_mask: vk::ImageAspectFlags::COLOR,
                mip_level: 0,
                base_array_layer: 0,
                layer_count: 1,
            })
            .image_extent(vk::Extent3D {
                width: self.extent.width,
                height: self.extent.height,
                depth: 1,
            });
        // SAFETY: `cmd` is recording outside a render pass; the render pass left the image in
        // TRANSFER_SRC_OPTIMAL, its outgoing dependency orders the copy after the draws;
        // `readback` holds exactly width × height × 4 bytes.
        unsafe {
            dev.cmd_copy_image_to_buffer(
                cmd,
                self.image,
                vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                self.readback.buffer,
                &[region],
            )
        };
        let barrier = [vk::MemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
            .dst_access_mask(vk::AccessFlags::HOST_READ)];
        // SAFETY: `cmd` is recording outside a render pass.
        unsafe {
            dev.cmd_pipeline_barrier(
                cmd,
                vk::PipelineStageFlags::TRANSFER,
                vk::PipelineStageFlags::HOST,
                vk::DependencyFlags::empty(),
                &barrier,
                &[],
                &[],
            )
        };
    }

    /// Lends the read-back pixels (RGBA8 packed little-endian: red in the low byte) to `f`.
    /// Call only after a submission with `record_readback` completed.
    pub fn pixels<R>(&self, f: impl FnOnce(&[u32]) -> R) -> R {
        self.readback.view(f)
    }
}

fn color_range() -> vk::ImageSubresourceRange {
    vk::ImageSubresourceRange {
        aspect_mask: vk::ImageAspectFlags::COLOR,
        base_mip_level: 0,
        level_count: 1,
        base_array_layer: 0,
        layer_count: 1,
    }
}

/// One colour attachment, cleared on load and stored; the pass ends in TRANSFER_SRC_OPTIMAL.
/// The incoming dependency orders the clear after the previous submission's draws and copy
/// (write-after-write and write-after-read), the outgoing one the copy after the draws.
fn create_render_pass(gpu: &Gpu) -> Result<vk::RenderPass, GpuError> {
    let attachments = [vk::AttachmentDescription::default()
        .format(FORMAT)
        .samples(vk::SampleCountFlags::TYPE_1)
        .load_op(vk::AttachmentLoadOp::CLEAR)
        .store_op(vk::AttachmentStoreOp::STORE)
        .stencil_load_op(vk::AttachmentLoadOp::DONT_CARE)
        .stencil_store_op(vk::AttachmentStoreOp::DONT_CARE)
        .initial_layout(vk::ImageLayout::UNDEFINED)
        .final_layout(vk::ImageLayout::TRANSFER_SRC_OPTIMAL)];
    let color_refs = [vk::AttachmentReference {
        attachment: 0,
        layout: vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL,
    }];
    let subpasses = [vk::SubpassDescription::default()
        .pipeline_bind_point(vk::PipelineBindPoint::GRAPHICS)
        .color_attachments(&color_refs)];
    let dependencies = [
        vk::SubpassDependency {
            src_subpass: vk::SUBPASS_EXTERNAL,
            dst_subpass: 0,
            src_stage_mask: vk::PipelineStageFlags::COLOR_ATTACHMENT_OUTPUT
                | vk::PipelineStageFlags::TRANSFER,
            dst_stage_mask: vk::PipelineStageFlags::COLOR_ATTACHMENT_OUTPUT,
            src_access_mask: vk::AccessFlags::COLOR_ATTACHMENT_WRITE,
            dst_access_mask: vk::AccessFlags::COLOR_ATTACHMENT_WRITE,
            dependency_flags: vk::DependencyFlags::empty(),
        },
        vk::SubpassDependency {
            src_subpass: 0,
            dst_subpass: vk::SUBPASS_EXTERNAL,
            src_stage_mask: vk::PipelineStageFlags::COLOR_ATTACHMENT_OUTPUT,
            dst_stage_mask: vk::PipelineStageFlags::TRANSFER,
            src_access_mask: vk::AccessFlags::COLOR_ATTACHMENT_WRITE,
            dst_access_mask: vk::AccessFlags::TRANSFER_READ,
            dependency_flags: vk::DependencyFlags::empty(),
        },
    ];
    let info = vk::RenderPassCreateInfo::default()
        .attachments(&attachments)
        .subpasses(&subpasses)
        .dependencies(&dependencies);
    // SAFETY: `info` and the arrays it points at are valid for the call.
    unsafe { gpu.device.create_render_pass(&info, None) }.map_err(failed("vkCreateRenderPass"))
}

impl Drop for RenderTarget<'_> {
    fn drop(&mut self) {
        let dev = &self.gpu.device;
        // SAFETY: the workloads wait for all work using the target before dropping it; null
        // handles (a failed constructor) are ignored; children go before what they refer to.
        unsafe { dev.destroy_framebuffer(self.framebuffer, None) };
        // SAFETY: as above; pipelines made for this pass borrow the target, so are gone.
        unsafe { dev.destroy_render_pass(self.render_pass, None) };
        // SAFETY: as above; the framebuffer using the view is gone.
        unsafe { dev.destroy_image_view(self.view, None) };
        // SAFETY: as above; the view of the image is gone.
        unsafe { dev.destroy_image(self.image, None) };
        // SAFETY: as above; the image bound to the memory is gone.
        unsafe { dev.free_memory(self.memory, None) };
    }
}
