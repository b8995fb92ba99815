//! Graphics pipelines of the raster workloads: one vertex layout (position in pixels as
//! R32G32_SFLOAT, colour as R8G8B8A8_UNORM, 12 bytes interleaved), one pipeline layout (8 bytes
//! of vertex push constants: the pixel → NDC scale; descriptor sets only for the textured
//! workloads), triangle lists, no culling, no depth, viewport and scissor dynamic, and
//! blending either off or src-alpha / one-minus-src-alpha. Vulkan 1.0 core only.

use std::io::Cursor;

use ash::vk;

use crate::gpu::{failed, Gpu, GpuError};
use crate::target::{Extent, RenderTarget};

/// Bytes per vertex: x, y (f32) then r, g, b, a (u8).
pub const VERTEX_BYTES: usize = 12;

/// A vertex: position in pixels of the target (origin top-left), colour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vertex {
    pub x: f32,
    pub y: f32,
    pub rgba: [u8; 4],
}

impl Vertex {
    /// Appends the vertex's 12 bytes (little-endian) to `out`.
    pub fn encode(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.x.to_le_bytes());
        out.extend_from_slice(&self.y.to_le_bytes());
        out.extend_from_slice(&self.rgba);
    }
}

/// The push constants of `raster.vert` for a target: (2 / width, 2 / height) as f32.
pub fn push_constants(extent: Extent) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&(2.0 / extent.width as f32).to_le_bytes());
    out[4..].copy_from_slice(&(2.0 / extent.height as f32).to_le_bytes());
    out
}

pub struct ShaderModule<'g> {
    gpu: &'g Gpu,
    pub module: vk::ShaderModule,
}

impl<'g> ShaderModule<'g> {
    pub fn new(gpu: &'g Gpu, spirv: &[u8]) -> Result<Self, GpuError> {
        let words = ash::util::read_spv(&mut Cursor::new(spirv))
            .map_err(|e| GpuError::Misuse(format!("SPIR-V module: {e}")))?;
        let info = vk::ShaderModuleCreateInfo::default().code(&words);
        // SAFETY: `info` points at `words`, valid for the call.
        let module = unsafe { gpu.device.create_shader_module(&info, None) }
            .map_err(failed("vkCreateShaderModule"))?;
        Ok(ShaderModule { gpu, module })
    }
}

impl Drop for ShaderModule<'_> {
    fn drop(&mut self) {
        // SAFETY: modules may be destroyed once the pipelines using them are created.
        unsafe { self.gpu.device.destroy_shader_module(self.module, None) };
    }
}

/// The pipeline layout shared by every raster pipeline.
pub struct RasterLayout<'g> {
    gpu: &'g Gpu,
    pub layout: vk::PipelineLayout,
}

impl<'g> RasterLayout<'g> {
    pub fn new(gpu: &'g Gpu) -> Result<Self, GpuError> {
        Self::with_sets(gpu, &[])
    }

    /// The same push-constant range, with descriptor sets of `set_layouts` (set 0 first).
    pub fn with_sets(
        gpu: &'g Gpu,
        set_layouts: &[vk::DescriptorSetLayout],
    ) -> Result<Self, GpuError> {
        let ranges = [vk::PushConstantRange::default()
            .stage_flags(vk::ShaderStageFlags::VERTEX)
            .offset(0)
            .size(8)];
        let info = vk::PipelineLayoutCreateInfo::default()
            .push_constant_ranges(&ranges)
            .set_layouts(set_layouts);
        // SAFETY: `info` is valid for the call.
        let layout = unsafe { gpu.device.create_pipeline_layout(&info, None) }
            .map_err(failed("vkCreatePipelineLayout"))?;
        Ok(RasterLayout { gpu, layout })
    }
}

impl Drop for RasterLayout<'_> {
    fn drop(&mut self) {
        // SAFETY: pipelines made with this layout borrow it, so are gone; recorded command
        // buffers using it are not pending (every submission is waited for).
        unsafe { self.gpu.device.destroy_pipeline_layout(self.layout, None) };
    }
}

/// How a pipeline writes the colour attachment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blend {
    Off,
    /// src·α + dst·(1 − α), for colour and alpha alike.
    SrcAlphaOver,
}

pub struct RasterPipeline<'g> {
    gpu: &'g Gpu,
    pub layout: &'g RasterLayout<'g>,
    pub pipeline: vk::Pipeline,
}

impl<'g> RasterPipeline<'g> {
    /// A pipeline for `target`'s render pass from the two modules (entry points `main`);
    /// `fragment_spec[i]` is the float value of the fragment shader's constant_id i.
    pub fn new(
        layout: &'g RasterLayout<'g>,
        target: &RenderTarget<'_>,
        vertex: &ShaderModule<'_>,
        fragment: &ShaderModule<'_>,
        blend: Blend,
        fragment_spec: &[f32],
    ) -> Result<Self, GpuError> {
        let gpu = layout.gpu;
        let spec_entries: Vec<vk::SpecializationMapEntry> = (0..fragment_spec.len() as u32)
            .map(|i| vk::SpecializationMapEntry {
                constant_id: i,
                offset: 4 * i,
                size: 4,
            })
            .collect();
        let spec_data: Vec<u8> = fragment_spec.iter().flat_map(|v| v.to_le_bytes()).collect();
        let spec = vk::SpecializationInfo::default()
            .map_entries(&spec_entries)
            .data(&spec_data);
        let mut fragment_stage = vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::FRAGMENT)
            .module(fragment.module)
            .name(c"main");
        if !fragment_spec.is_empty() {
            fragment_stage = fragment_stage.specialization_info(&spec);
        }
        let stages = [
            vk::PipelineShaderStageCreateInfo::default()
                .stage(vk::ShaderStageFlags::VERTEX)
                .module(vertex.module)
                .name(c"main"),
            fragment_stage,
        ];
        let bindings = [vk::VertexInputBindingDescription {
            binding: 0,
            stride: VERTEX_BYTES as u32,
            input_rate: vk::VertexInputRate::VERTEX,
        }];
        let attributes = [
            vk::VertexInputAttributeDescription {
                location: 0,
                binding: 0,
                format: vk::Format::R32G32_SFLOAT,
                offset: 0,
            },
            vk::VertexInputAttributeDescription {
                location: 1,
                binding: 0,
                format: vk::Format::R8G8B8A8_UNORM,
                offset: 8,
            },
        ];
        let vertex_input = vk::PipelineVertexInputStateCreateInfo::default()
            .vertex_binding_descriptions(&bindings)
            .vertex_attribute_descriptions(&attributes);
        let assembly = vk::PipelineInputAssemblyStateCreateInfo::default()
            .topology(vk::PrimitiveTopology::TRIANGLE_LIST);
        let viewport = vk::PipelineViewportStateCreateInfo::default()
            .viewport_count(1)
            .scissor_count(1);
        let rasterization = vk::PipelineRasterizationStateCreateInfo::default()
            .polygon_mode(vk::PolygonMode::FILL)
            .cull_mode(vk::CullModeFlags::NONE)
            .front_face(vk::FrontFace::COUNTER_CLOCKWISE)
            .line_width(1.0);
        let multisample = vk::PipelineMultisampleStateCreateInfo::default()
            .rasterization_samples(vk::SampleCountFlags::TYPE_1);
        let attachment = vk::PipelineColorBlendAttachmentState::default()
            .blend_enable(blend == Blend::SrcAlphaOver)
            .src_color_blend_factor(vk::BlendFactor::SRC_ALPHA)
            .dst_color_blend_factor(vk::BlendFactor::ONE_MINUS_SRC_ALPHA)
            .color_blend_op(vk::BlendOp::ADD)
            .src_alpha_blend_factor(vk::BlendFactor::SRC_ALPHA)
            .dst_alpha_blend_factor(vk::BlendFactor::ONE_MINUS_SRC_ALPHA)
            .alpha_blend_op(vk::BlendOp::ADD)
            .color_write_mask(vk::ColorComponentFlags::RGBA);
        let attachments = [attachment];
        let color_blend =
            vk::PipelineColorBlendStateCreateInfo::default().attachments(&attachments);
        let dynamic_states = [vk::DynamicState::VIEWPORT, vk::DynamicState::SCISSOR];
        let dynamic = vk::PipelineDynamicStateCreateInfo::default().dynamic_states(&dynamic_states);
        let info = vk::GraphicsPipelineCreateInfo::default()
            .stages(&stages)
            .vertex_input_state(&vertex_input)
            .input_assembly_state(&assembly)
            .viewport_state(&viewport)
            .rasterization_state(&rasterization)
            .multisample_state(&multisample)
            .color_blend_state(&color_blend)
            .dynamic_state(&dynamic)
            .layout(layout.layout)
            .render_pass(target.render_pass)
            .subpass(0);
        // SAFETY: every state struct and array `info` points at lives until the call returns;
        // modules, layout and render pass are live; no pipeline cache, on purpose.
        let pipelines = unsafe {
            gpu.device
                .create_graphics_pipelines(vk::PipelineCache::null(), &[info], None)
        }
        .map_err(|(_, e)| failed("vkCreateGraphicsPipelines")(e))?;
        let pipeline = pipelines.first().copied().ok_or_else(|| {
            GpuError::Misuse("vkCreateGraphicsPipelines returned no pipeline".into())
        })?;
        Ok(RasterPipeline {
            gpu,
            layout,
            pipeline,
        })
    }

    /// Inside a render pass: binds the pipeline, its push constants for `extent` and
    /// `vertices` at binding 0.
    pub fn record_bind(&self, cmd: vk::CommandBuffer, extent: Extent, vertices: vk::Buffer) {
        let dev = &self.gpu.device;
        // SAFETY: `cmd` is recording inside a render pass compatible with the pipeline's.
        unsafe { dev.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::GRAPHICS, self.pipeline) };
        // SAFETY: as above; 8 bytes at offset 0 is the layout's vertex push-constant range.
        unsafe {
            dev.cmd_push_constants(
                cmd,
                self.layout.layout,
                vk::ShaderStageFlags::VERTEX,
                0,
                &push_constants(extent),
            )
        };
        // SAFETY: as above; `vertices` is a live buffer with VERTEX_BUFFER usage.
        unsafe { dev.cmd_bind_vertex_buffers(cmd, 0, &[vertices], &[0]) };
    }

    /// Inside a render pass, after `record_bind`: draws `count` vertices from `first`.
    pub fn record_draw(&self, cmd: vk::CommandBuffer, count: u32, first: u32) {
        // SAFETY: as in `record_bind`; the caller keeps `first + count` within the buffer.
        unsafe { self.gpu.device.cmd_draw(cmd, count, 1, first, 0) };
    }
}

impl Drop for RasterPipeline<'_> {
    fn drop(&mut self) {
        // SAFETY: the workloads wait for the work using this pipeline before dropping it;
        // a null handle is ignored.
        unsafe { self.gpu.device.destroy_pipeline(self.pipeline, None) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vertex_encodes_to_twelve_little_endian_bytes() {
        let mut out = Vec::new();
        Vertex {
            x: 1.0,
            y: -2.0,
            rgba: [1, 2, 3, 4],
        }
        .encode(&mut out);
        assert_eq!(out.len(), VERTEX_BYTES);
        assert_eq!(&out[..4], &1.0f32.to_le_bytes());
        assert_eq!(&out[4..8], &(-2.0f32).to_le_bytes());
        assert_eq!(&out[8..], &[1, 2, 3, 4]);
    }

    #[test]
    fn push_constants_map_the_far_corner_to_ndc_one() {
        let p = push_constants(Extent {
            width: 1920,
            height: 1080,
        });
        let sx = f32::from_le_bytes([p[0], p[1], p[2], p[3]]);
        let sy = f32::from_le_bytes([p[4], p[5], p[6], p[7]]);
        assert!((1920.0 * sx - 1.0 - 1.0).abs() < 1e-6);
        assert!((1080.0 * sy - 1.0 - 1.0).abs() < 1e-6);
    }
}
