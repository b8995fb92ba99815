//! Commands inside a pass, as safe calls: the handles a [`Recorder`] is given are live for the
//! whole recording and every buffer it binds outlives the submission (the caller waits).

use ash::vk;

use super::pipeline::GraphicsPipeline;
use super::resources::HostBuffer;
use super::GraphicsContext;
use crate::GpuError;

/// Records into one command buffer inside a pass on a `width`×`height` target.
pub struct Recorder<'a> {
    ctx: &'a GraphicsContext,
    pub cb: vk::CommandBuffer,
    pub width: u32,
    pub height: u32,
}

impl<'a> Recorder<'a> {
    pub(super) fn new(
        ctx: &'a GraphicsContext,
        cb: vk::CommandBuffer,
        width: u32,
        height: u32,
    ) -> Recorder<'a> {
        Recorder {
            ctx,
            cb,
            width,
            height,
        }
    }

    fn d(&self) -> &ash::Device {
        &self.ctx.device
    }

    /// Binds `p` (and its uniform set), with a full-target viewport and scissor.
    pub fn pipeline(&self, p: &GraphicsPipeline<'_>) {
        // SAFETY: `cb` is recording inside a pass compatible with `p`; `p` is live.
        unsafe {
            self.d()
                .cmd_bind_pipeline(self.cb, vk::PipelineBindPoint::GRAPHICS, p.pipeline);
            if let Some(set) = p.set {
                self.d().cmd_bind_descriptor_sets(
                    self.cb,
                    vk::PipelineBindPoint::GRAPHICS,
                    p.layout,
                    0,
                    &[set],
                    &[],
                );
            }
        }
        self.viewport(0.0, 0.0, self.width as f32, self.height as f32, 0.0, 1.0);
        self.scissor(0, 0, self.width, self.height);
    }

    /// vkCmdNextSubpass (inline contents).
    pub fn next_subpass(&self) {
        // SAFETY: `cb` is recording inside a render pass with a further subpass (the caller's
        // contract: an input-subpass target).
        unsafe {
            self.d()
                .cmd_next_subpass(self.cb, vk::SubpassContents::INLINE)
        };
    }

    /// Binds descriptor set `set` of `p`'s layout (for pipelines with their own set layouts).
    pub fn descriptor_set(&self, p: &GraphicsPipeline<'_>, index: u32, set: vk::DescriptorSet) {
        // SAFETY: `cb` is recording; the set is live and matches set `index` of `p`'s layout
        // (the caller's contract; a mismatch is a validation error, not memory unsafety here).
        unsafe {
            self.d().cmd_bind_descriptor_sets(
                self.cb,
                vk::PipelineBindPoint::GRAPHICS,
                p.layout,
                index,
                &[set],
                &[],
            )
        };
    }

    pub fn viewport(&self, x: f32, y: f32, w: f32, h: f32, min_depth: f32, max_depth: f32) {
        let v = [vk::Viewport {
            x,
            y,
            width: w,
            height: h,
            min_depth,
            max_depth,
        }];
        // SAFETY: `cb` is recording.
        unsafe { self.d().cmd_set_viewport(self.cb, 0, &v) };
    }

    pub fn scissor(&self, x: i32, y: i32, w: u32, h: u32) {
        let s = [vk::Rect2D {
            offset: vk::Offset2D { x, y },
            extent: vk::Extent2D {
                width: w,
                height: h,
            },
        }];
        // SAFETY: `cb` is recording.
        unsafe { self.d().cmd_set_scissor(self.cb, 0, &s) };
    }

    /// Pushes `bytes` at offset 0 for both stages.
    pub fn push(&self, p: &GraphicsPipeline<'_>, bytes: &[u8]) -> Result<(), GpuError> {
        if bytes.len() as u64 > u64::from(p.push_constant_size) {
            return Err(GpuError::Setup(format!(
                "{} push-constant bytes for a {}-byte range",
                bytes.len(),
                p.push_constant_size
            )));
        }
        // SAFETY: `cb` is recording; the range lies inside the layout's push-constant range.
        unsafe {
            self.d().cmd_push_constants(
                self.cb,
                p.layout,
                vk::ShaderStageFlags::VERTEX | vk::ShaderStageFlags::FRAGMENT,
                0,
                bytes,
            )
        };
        Ok(())
    }

    pub fn vertex_buffer(&self, binding: u32, buf: &HostBuffer<'_>) {
        // SAFETY: `cb` is recording; the buffer outlives the submission.
        unsafe {
            self.d()
                .cmd_bind_vertex_buffers(self.cb, binding, &[buf.buffer], &[0])
        };
    }

    pub fn index_buffer(&self, buf: &HostBuffer<'_>, ty: vk::IndexType) {
        // SAFETY: as above.
        unsafe { self.d().cmd_bind_index_buffer(self.cb, buf.buffer, 0, ty) };
    }

    pub fn draw(&self, vertices: u32, instances: u32, first_vertex: u32, first_instance: u32) {
        // SAFETY: `cb` is recording inside a pass with a pipeline bound.
        unsafe {
            self.d()
                .cmd_draw(self.cb, vertices, instances, first_vertex, first_instance)
        };
    }

    pub fn draw_indexed(&self, indices: u32, instances: u32, first_index: u32, vertex_offset: i32) {
        // SAFETY: as above, with an index buffer bound.
        unsafe {
            self.d()
                .cmd_draw_indexed(self.cb, indices, instances, first_index, vertex_offset, 0)
        };
    }

    /// `count` `VkDrawIndirectCommand`s from `buf` at `offset`, `stride` apart.
    pub fn draw_indirect(&self, buf: &HostBuffer<'_>, offset: u64, count: u32, stride: u32) {
        // SAFETY: as above; the buffer outlives the submission.
        unsafe {
            self.d()
                .cmd_draw_indirect(self.cb, buf.buffer, offset, count, stride)
        };
    }

    /// `count` `VkDrawIndexedIndirectCommand`s from `buf` at `offset`, `stride` apart.
    pub fn draw_indexed_indirect(
        &self,
        buf: &HostBuffer<'_>,
        offset: u64,
        count: u32,
        stride: u32,
    ) {
        // SAFETY: as above.
        unsafe {
            self.d()
                .cmd_draw_indexed_indirect(self.cb, buf.buffer, offset, count, stride)
        };
    }

    pub fn stencil_reference(&self, reference: u32) {
        // SAFETY: `cb` is recording.
        unsafe {
            self.d().cmd_set_stencil_reference(
                self.cb,
                vk::StencilFaceFlags::FRONT_AND_BACK,
                reference,
            )
        };
    }

    pub fn blend_constants(&self, c: [f32; 4]) {
        // SAFETY: `cb` is recording.
        unsafe { self.d().cmd_set_blend_constants(self.cb, &c) };
    }

    /// `vkCmdClearAttachments` of colour attachment `index` inside `rect`.
    pub fn clear_color_rect(&self, index: u32, color: [f32; 4], rect: vk::Rect2D) {
        let attachments = [vk::ClearAttachment {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            color_attachment: index,
            clear_value: vk::ClearValue {
                color: vk::ClearColorValue { float32: color },
            },
        }];
        let rects = [vk::ClearRect {
            rect,
            base_array_layer: 0,
            layer_count: 1,
        }];
        // SAFETY: `cb` is recording inside a pass with colour attachment `index`.
        unsafe {
            self.d()
                .cmd_clear_attachments(self.cb, &attachments, &rects)
        };
    }

    fn eds(&self) -> Result<&ash::ext::extended_dynamic_state::Device, GpuError> {
        self.ctx.extended_dynamic_state.as_ref().ok_or_else(|| {
            GpuError::Setup(format!(
                "{} does not offer VK_EXT_extended_dynamic_state",
                self.ctx.name()
            ))
        })
    }

    pub fn cull_mode(&self, mode: vk::CullModeFlags) -> Result<(), GpuError> {
        let eds = self.eds()?;
        // SAFETY: `cb` is recording; the extension is enabled.
        unsafe { eds.cmd_set_cull_mode(self.cb, mode) };
        Ok(())
    }

    pub fn front_face(&self, face: vk::FrontFace) -> Result<(), GpuError> {
        let eds = self.eds()?;
        // SAFETY: as above.
        unsafe { eds.cmd_set_front_face(self.cb, face) };
        Ok(())
    }

    pub fn topology(&self, topology: vk::PrimitiveTopology) -> Result<(), GpuError> {
        let eds = self.eds()?;
        // SAFETY: as above.
        unsafe { eds.cmd_set_primitive_topology(self.cb, topology) };
        Ok(())
    }

    /// Depth test enable, write enable and compare op.
    pub fn depth(&self, test: bool, write: bool, op: vk::CompareOp) -> Result<(), GpuError> {
        let eds = self.eds()?;
        // SAFETY: as above.
        unsafe {
            eds.cmd_set_depth_test_enable(self.cb, test);
            eds.cmd_set_depth_write_enable(self.cb, write);
            eds.cmd_set_depth_compare_op(self.cb, op);
        }
        Ok(())
    }

    pub fn primitive_restart(&self, enable: bool) -> Result<(), GpuError> {
        let eds2 = self.ctx.extended_dynamic_state2.as_ref().ok_or_else(|| {
            GpuError::Setup(format!(
                "{} does not offer VK_EXT_extended_dynamic_state2",
                self.ctx.name()
            ))
        })?;
        // SAFETY: `cb` is recording; the extension is enabled.
        unsafe { eds2.cmd_set_primitive_restart_enable(self.cb, enable) };
        Ok(())
    }
}
