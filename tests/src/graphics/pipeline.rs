//! Graphics pipelines from GLSL-compiled SPIR-V: what a scene asks for ([`PipelineDesc`]) and
//! the Vulkan objects made from it ([`GraphicsPipeline`]): shader modules, a layout with push
//! constants for both stages and an optional uniform buffer at set 0 binding 0, and the
//! pipeline, compatible with a [`RenderTarget`]'s render pass or its dynamic-rendering formats.
//! Viewport and scissor are always dynamic state.

use ash::vk;

use super::resources::HostBuffer;
use super::target::{PassMode, RenderTarget};
use super::{GraphicsContext, VkContext};
use crate::GpuError;

/// The fixed-function state and shaders of one pipeline.
#[derive(Clone)]
pub struct PipelineDesc<'a> {
    pub vertex: &'a [u32],
    pub fragment: &'a [u32],
    pub bindings: Vec<vk::VertexInputBindingDescription>,
    pub attributes: Vec<vk::VertexInputAttributeDescription>,
    pub topology: vk::PrimitiveTopology,
    pub primitive_restart: bool,
    pub cull_mode: vk::CullModeFlags,
    pub front_face: vk::FrontFace,
    pub depth_test: bool,
    pub depth_write: bool,
    pub depth_compare: vk::CompareOp,
    /// Stencil test state, the same for both faces; `None` disables the test.
    pub stencil: Option<vk::StencilOpState>,
    /// One state per colour attachment; empty means "no blending, write all channels" for all.
    pub blend: Vec<vk::PipelineColorBlendAttachmentState>,
    pub blend_constants: [f32; 4],
    pub push_constant_size: u32,
    pub uniform_buffer: bool,
    /// Binding 0 of set 0 is a storage buffer (instead of a uniform buffer), visible to both
    /// stages; bind it with [`GraphicsPipeline::bind_buffer`].
    pub storage_buffer: bool,
    /// Dynamic states besides viewport and scissor (always dynamic).
    pub dynamic_states: Vec<vk::DynamicState>,
    /// Descriptor set layouts of the pipeline layout, from set 0, for pipelines without the
    /// buffer set (bind the sets with [`super::Recorder::descriptor_set`]).
    pub set_layouts: Vec<vk::DescriptorSetLayout>,
    /// The subpass of the target's render pass the pipeline is for (0 but with
    /// [`super::PassMode::InputSubpass`]).
    pub subpass: u32,
}

/// Vertex layout of [`PosColor`] vertices at binding 0: position (location 0) and colour
/// (location 1), both `vec4`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct PosColor {
    pub pos: [f32; 4],
    pub color: [f32; 4],
}

impl PosColor {
    pub fn new(x: f32, y: f32, z: f32, color: [f32; 4]) -> PosColor {
        PosColor {
            pos: [x, y, z, 1.0],
            color,
        }
    }

    pub fn bindings() -> Vec<vk::VertexInputBindingDescription> {
        vec![vk::VertexInputBindingDescription {
            binding: 0,
            stride: 32,
            input_rate: vk::VertexInputRate::VERTEX,
        }]
    }

    pub fn attributes() -> Vec<vk::VertexInputAttributeDescription> {
        vec![
            attribute(0, 0, vk::Format::R32G32B32A32_SFLOAT, 0),
            attribute(1, 0, vk::Format::R32G32B32A32_SFLOAT, 16),
        ]
    }
}

/// Flattens vertices to bytes for a vertex buffer.
pub fn vertex_bytes(vertices: &[PosColor]) -> Vec<u8> {
    let floats: Vec<f32> = vertices
        .iter()
        .flat_map(|v| v.pos.into_iter().chain(v.color))
        .collect();
    super::resources::bytes_of(&floats)
}

/// One vertex attribute.
pub fn attribute(
    location: u32,
    binding: u32,
    format: vk::Format,
    offset: u32,
) -> vk::VertexInputAttributeDescription {
    vk::VertexInputAttributeDescription {
        location,
        binding,
        format,
        offset,
    }
}

/// Blending `src * sf + dst * df` for colour and alpha alike, all channels written.
pub fn blend(sf: vk::BlendFactor, df: vk::BlendFactor) -> vk::PipelineColorBlendAttachmentState {
    vk::PipelineColorBlendAttachmentState {
        blend_enable: vk::TRUE,
        src_color_blend_factor: sf,
        dst_color_blend_factor: df,
        color_blend_op: vk::BlendOp::ADD,
        src_alpha_blend_factor: sf,
        dst_alpha_blend_factor: df,
        alpha_blend_op: vk::BlendOp::ADD,
        color_write_mask: vk::ColorComponentFlags::RGBA,
    }
}

/// No blending, all channels written.
pub fn opaque() -> vk::PipelineColorBlendAttachmentState {
    vk::PipelineColorBlendAttachmentState {
        color_write_mask: vk::ColorComponentFlags::RGBA,
        ..Default::default()
    }
}

impl<'a> PipelineDesc<'a> {
    /// Triangle lists of [`PosColor`] vertices, no culling, no depth, no blending.
    pub fn new(vertex: &'a [u32], fragment: &'a [u32]) -> PipelineDesc<'a> {
        PipelineDesc {
            vertex,
            fragment,
            bindings: PosColor::bindings(),
            attributes: PosColor::attributes(),
            topology: vk::PrimitiveTopology::TRIANGLE_LIST,
            primitive_restart: false,
            cull_mode: vk::CullModeFlags::NONE,
            front_face: vk::FrontFace::COUNTER_CLOCKWISE,
            depth_test: false,
            depth_write: false,
            depth_compare: vk::CompareOp::LESS,
            stencil: None,
            blend: Vec::new(),
            blend_constants: [0.0; 4],
            push_constant_size: 0,
            uniform_buffer: false,
            storage_buffer: false,
            dynamic_states: Vec::new(),
            set_layouts: Vec::new(),
            subpass: 0,
        }
    }
}

/// A pipeline with its layout and, when asked for, one descriptor set with a uniform buffer.
pub struct GraphicsPipeline<'c> {
    ctx: &'c GraphicsContext,
    pub pipeline: vk::Pipeline,
    pub layout: vk::PipelineLayout,
    set_layout: vk::DescriptorSetLayout,
    pool: vk::DescriptorPool,
    pub set: Option<vk::DescriptorSet>,
    buffer_type: vk::DescriptorType,
    modules: [vk::ShaderModule; 2],
    pub push_constant_size: u32,
}

impl<'c> GraphicsPipeline<'c> {
    /// Creates the pipeline for `target` (its render pass or, in dynamic-rendering mode, its
    /// attachment formats).
    pub fn new(
        ctx: &'c GraphicsContext,
        desc: &PipelineDesc<'_>,
        target: &RenderTarget<'_>,
    ) -> Result<GraphicsPipeline<'c>, GpuError> {
        let d = &ctx.device;
        let mut p = GraphicsPipeline {
            ctx,
            pipeline: vk::Pipeline::null(),
            layout: vk::PipelineLayout::null(),
            set_layout: vk::DescriptorSetLayout::null(),
            pool: vk::DescriptorPool::null(),
            set: None,
            buffer_type: vk::DescriptorType::UNIFORM_BUFFER,
            modules: [vk::ShaderModule::null(); 2],
            push_constant_size: desc.push_constant_size,
        };
        for (slot, code) in p.modules.iter_mut().zip([desc.vertex, desc.fragment]) {
            let info = vk::ShaderModuleCreateInfo::default().code(code);
            // SAFETY: `d` is live; `info` borrows `code` for the call.
            *slot = unsafe { d.create_shader_module(&info, None) }.ctx("vkCreateShaderModule")?;
        }
        let stages = vk::ShaderStageFlags::VERTEX | vk::ShaderStageFlags::FRAGMENT;
        if desc.storage_buffer {
            p.make_buffer_set(stages, vk::DescriptorType::STORAGE_BUFFER)?;
        } else if desc.uniform_buffer {
            p.make_buffer_set(stages, vk::DescriptorType::UNIFORM_BUFFER)?;
        }
        let buffer_set = desc.uniform_buffer || desc.storage_buffer;
        if buffer_set && !desc.set_layouts.is_empty() {
            return Err(GpuError::Setup(
                "a pipeline has either the buffer set or its own set layouts".into(),
            ));
        }
        let set_layouts: Vec<_> = if buffer_set {
            vec![p.set_layout]
        } else {
            desc.set_layouts.clone()
        };
        let ranges = [vk::PushConstantRange {
            stage_flags: stages,
            offset: 0,
            size: desc.push_constant_size,
        }];
        let mut layout_info = vk::PipelineLayoutCreateInfo::default().set_layouts(&set_layouts);
        if desc.push_constant_size > 0 {
            layout_info = layout_info.push_constant_ranges(&ranges);
        }
        // SAFETY: as above.
        p.layout = unsafe { d.create_pipeline_layout(&layout_info, None) }
            .ctx("vkCreatePipelineLayout")?;
        p.pipeline = create_pipeline(ctx, desc, target, p.layout, p.modules)?;
        Ok(p)
    }

    fn make_buffer_set(
        &mut self,
        stages: vk::ShaderStageFlags,
        ty: vk::DescriptorType,
    ) -> Result<(), GpuError> {
        self.buffer_type = ty;
        let d = &self.ctx.device;
        let bindings = [vk::DescriptorSetLayoutBinding::default()
            .binding(0)
            .descriptor_type(ty)
            .descriptor_count(1)
            .stage_flags(stages)];
        let info = vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings);
        // SAFETY: `d` is live; `info` outlives the call.
        self.set_layout = unsafe { d.create_descriptor_set_layout(&info, None) }
            .ctx("vkCreateDescriptorSetLayout")?;
        let sizes = [vk::DescriptorPoolSize {
            ty,
            descriptor_count: 1,
        }];
        let pool_info = vk::DescriptorPoolCreateInfo::default()
            .max_sets(1)
            .pool_sizes(&sizes);
        // SAFETY: as above.
        self.pool =
            unsafe { d.create_descriptor_pool(&pool_info, None) }.ctx("vkCreateDescriptorPool")?;
        let layouts = [self.set_layout];
        let alloc = vk::DescriptorSetAllocateInfo::default()
            .descriptor_pool(self.pool)
            .set_layouts(&layouts);
        // SAFETY: as above.
        let sets = unsafe { d.allocate_descriptor_sets(&alloc) }.ctx("vkAllocateDescriptorSets")?;
        self.set = sets.first().copied();
        Ok(())
    }

    /// Points the uniform binding at `buffer` (whole). Call while no submission uses the set.
    pub fn bind_uniform(&self, buffer: &HostBuffer<'_>) -> Result<(), GpuError> {
        self.bind_buffer(buffer)
    }

    /// Points binding 0 (uniform or storage buffer) at `buffer` (whole). Call while no
    /// submission uses the set.
    pub fn bind_buffer(&self, buffer: &HostBuffer<'_>) -> Result<(), GpuError> {
        let set = self
            .set
            .ok_or_else(|| GpuError::Setup("pipeline has no buffer binding".into()))?;
        let info = [vk::DescriptorBufferInfo {
            buffer: buffer.buffer,
            offset: 0,
            range: vk::WHOLE_SIZE,
        }];
        let write = [vk::WriteDescriptorSet::default()
            .dst_set(set)
            .dst_binding(0)
            .descriptor_type(self.buffer_type)
            .buffer_info(&info)];
        // SAFETY: the set and buffer are live; every submission is waited for, so the set is
        // not in use.
        unsafe { self.ctx.device.update_descriptor_sets(&write, &[]) };
        Ok(())
    }
}

fn create_pipeline(
    ctx: &GraphicsContext,
    desc: &PipelineDesc<'_>,
    target: &RenderTarget<'_>,
    layout: vk::PipelineLayout,
    modules: [vk::ShaderModule; 2],
) -> Result<vk::Pipeline, GpuError> {
    let stages = [
        vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::VERTEX)
            .module(modules[0])
            .name(c"main"),
        vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::FRAGMENT)
            .module(modules[1])
            .name(c"main"),
    ];
    let vertex_input = vk::PipelineVertexInputStateCreateInfo::default()
        .vertex_binding_descriptions(&desc.bindings)
        .vertex_attribute_descriptions(&desc.attributes);
    let input_assembly = vk::PipelineInputAssemblyStateCreateInfo::default()
        .topology(desc.topology)
        .primitive_restart_enable(desc.primitive_restart);
    let viewport = vk::PipelineViewportStateCreateInfo::default()
        .viewport_count(1)
        .scissor_count(1);
    let raster = vk::PipelineRasterizationStateCreateInfo::default()
        .polygon_mode(vk::PolygonMode::FILL)
        .cull_mode(desc.cull_mode)
        .front_face(desc.front_face)
        .line_width(1.0);
    let multisample = vk::PipelineMultisampleStateCreateInfo::default()
        .rasterization_samples(vk::SampleCountFlags::TYPE_1);
    let stencil = desc.stencil.unwrap_or_default();
    let depth_stencil = vk::PipelineDepthStencilStateCreateInfo::default()
        .depth_test_enable(desc.depth_test)
        .depth_write_enable(desc.depth_write)
        .depth_compare_op(desc.depth_compare)
        .stencil_test_enable(desc.stencil.is_some())
        .front(stencil)
        .back(stencil)
        .min_depth_bounds(0.0)
        .max_depth_bounds(1.0);
    let color_count = target.subpass_color_formats(desc.subpass).len();
    let blend_states = if desc.blend.is_empty() {
        vec![opaque(); color_count]
    } else {
        desc.blend.clone()
    };
    if blend_states.len() != color_count {
        return Err(GpuError::Setup(format!(
            "{} blend states for {color_count} colour attachments",
            blend_states.len()
        )));
    }
    let color_blend = vk::PipelineColorBlendStateCreateInfo::default()
        .attachments(&blend_states)
        .blend_constants(desc.blend_constants);
    let mut dynamic = vec![vk::DynamicState::VIEWPORT, vk::DynamicState::SCISSOR];
    dynamic.extend(&desc.dynamic_states);
    let dynamic_state = vk::PipelineDynamicStateCreateInfo::default().dynamic_states(&dynamic);
    let color_formats = target.color_formats();
    let depth_format = target.depth_format();
    let depth_info = depth_format
        .map(super::format::FormatInfo::of)
        .transpose()?;
    let mut rendering = vk::PipelineRenderingCreateInfoKHR::default()
        .color_attachment_formats(&color_formats)
        .depth_attachment_format(match depth_info {
            Some(i) if i.has_depth => i.format,
            _ => vk::Format::UNDEFINED,
        })
        .stencil_attachment_format(match depth_info {
            Some(i) if i.has_stencil => i.format,
            _ => vk::Format::UNDEFINED,
        });
    let mut info = vk::GraphicsPipelineCreateInfo::default()
        .stages(&stages)
        .vertex_input_state(&vertex_input)
        .input_assembly_state(&input_assembly)
        .viewport_state(&viewport)
        .rasterization_state(&raster)
        .multisample_state(&multisample)
        .color_blend_state(&color_blend)
        .dynamic_state(&dynamic_state)
        .layout(layout);
    if depth_format.is_some() {
        info = info.depth_stencil_state(&depth_stencil);
    }
    match target.mode() {
        PassMode::RenderPass | PassMode::InputSubpass => {
            info = info.render_pass(target.render_pass()).subpass(desc.subpass)
        }
        PassMode::Dynamic => info = info.push_next(&mut rendering),
    }
    // SAFETY: all handles are live and the create info's pointers outlive the call.
    let pipelines = unsafe {
        ctx.device
            .create_graphics_pipelines(vk::PipelineCache::null(), &[info], None)
    }
    .map_err(|(_, result)| GpuError::Vk {
        call: "vkCreateGraphicsPipelines",
        result,
    })?;
    pipelines
        .first()
        .copied()
        .ok_or_else(|| GpuError::Setup("vkCreateGraphicsPipelines returned no pipeline".into()))
}

impl Drop for GraphicsPipeline<'_> {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: every submission is waited for, so nothing uses these objects; null handles
        // are ignored.
        unsafe {
            d.destroy_pipeline(self.pipeline, None);
            d.destroy_pipeline_layout(self.layout, None);
            d.destroy_descriptor_pool(self.pool, None);
            d.destroy_descriptor_set_layout(self.set_layout, None);
            for m in self.modules {
                d.destroy_shader_module(m, None);
            }
        }
    }
}
