//! vkCreateGraphicsPipelines: the create info is converted into the protocol's
//! [`GraphicsPipelineInfo`], reading only the state structures Vulkan §10.2 says are not
//! ignored (a pointer the spec lets the app leave dangling is never dereferenced), then the
//! device compiles and answers through the reply slot, exactly as compute pipelines do.

use crate::device::{device, Device};
use crate::entry::{guard, slice, walk_chain};
use crate::error::{IcdError, IcdResult};
use crate::pipeline::{create_each, create_with_reply, pipeline_layout};
use ash::vk;
use protocol::graphics::*;
use protocol::stream::{CreateGraphicsPipeline, SpecializationMapEntry};
use std::ffi::CStr;

fn invalid(what: impl Into<String>) -> IcdError {
    IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, what)
}

/// Dynamic states the device executes: the core ones, VK_EXT_extended_dynamic_state's and
/// VK_EXT_extended_dynamic_state2's except patch control points and logic op.
pub(crate) fn dynamic_state_supported(s: vk::DynamicState) -> bool {
    matches!(
        s,
        vk::DynamicState::VIEWPORT
            | vk::DynamicState::SCISSOR
            | vk::DynamicState::LINE_WIDTH
            | vk::DynamicState::DEPTH_BIAS
            | vk::DynamicState::BLEND_CONSTANTS
            | vk::DynamicState::DEPTH_BOUNDS
            | vk::DynamicState::STENCIL_COMPARE_MASK
            | vk::DynamicState::STENCIL_WRITE_MASK
            | vk::DynamicState::STENCIL_REFERENCE
            | vk::DynamicState::CULL_MODE
            | vk::DynamicState::FRONT_FACE
            | vk::DynamicState::PRIMITIVE_TOPOLOGY
            | vk::DynamicState::VIEWPORT_WITH_COUNT
            | vk::DynamicState::SCISSOR_WITH_COUNT
            | vk::DynamicState::VERTEX_INPUT_BINDING_STRIDE
            | vk::DynamicState::DEPTH_TEST_ENABLE
            | vk::DynamicState::DEPTH_WRITE_ENABLE
            | vk::DynamicState::DEPTH_COMPARE_OP
            | vk::DynamicState::DEPTH_BOUNDS_TEST_ENABLE
            | vk::DynamicState::STENCIL_TEST_ENABLE
            | vk::DynamicState::STENCIL_OP
            | vk::DynamicState::RASTERIZER_DISCARD_ENABLE
            | vk::DynamicState::DEPTH_BIAS_ENABLE
            | vk::DynamicState::PRIMITIVE_RESTART_ENABLE
    )
}

/// One shader stage (shared with compute pipelines' rules: a module, a NUL-terminated entry
/// name, optional specialization).
pub(crate) fn shader_stage(s: &vk::PipelineShaderStageCreateInfo<'_>) -> IcdResult<ShaderStage> {
    // SAFETY: valid usage: a live module of ours.
    let module = unsafe { crate::shader::module(s.module) }?;
    if s.p_name.is_null() {
        return Err(invalid("null entry point name"));
    }
    // SAFETY: NUL-terminated (valid usage).
    let entry = unsafe { CStr::from_ptr(s.p_name) }
        .to_string_lossy()
        .into_owned();
    let (mut spec_map, mut spec_data) = (Vec::new(), Vec::new());
    // SAFETY: null or valid (valid usage).
    if let Some(spec) = unsafe { s.p_specialization_info.as_ref() } {
        // SAFETY: (pointer, count) of a valid specialization info.
        spec_map = unsafe { slice(spec.p_map_entries, spec.map_entry_count) }
            .iter()
            .map(|e| SpecializationMapEntry {
                constant_id: e.constant_id,
                offset: e.offset,
                size: u32::try_from(e.size).unwrap_or(u32::MAX),
            })
            .collect();
        let len = u32::try_from(spec.data_size).map_err(|_| {
            IcdError::vk(
                vk::Result::ERROR_OUT_OF_HOST_MEMORY,
                "specialization data too large",
            )
        })?;
        // SAFETY: pData holds dataSize bytes (valid usage).
        spec_data = unsafe { slice(spec.p_data.cast::<u8>(), len) }.to_vec();
    }
    Ok(ShaderStage {
        stage: s.stage.as_raw(),
        module: module.id,
        entry,
        spec_map,
        spec_data,
    })
}

pub(crate) fn viewport(v: &vk::Viewport) -> Viewport {
    Viewport {
        x: v.x,
        y: v.y,
        width: v.width,
        height: v.height,
        min_depth: v.min_depth,
        max_depth: v.max_depth,
    }
}

pub(crate) fn rect(r: &vk::Rect2D) -> Rect2D {
    Rect2D {
        offset: [r.offset.x, r.offset.y],
        extent: [r.extent.width, r.extent.height],
    }
}

fn stencil(s: &vk::StencilOpState) -> StencilOpState {
    StencilOpState {
        fail_op: s.fail_op.as_raw() as u32,
        pass_op: s.pass_op.as_raw() as u32,
        depth_fail_op: s.depth_fail_op.as_raw() as u32,
        compare_op: s.compare_op.as_raw() as u32,
        compare_mask: s.compare_mask,
        write_mask: s.write_mask,
        reference: s.reference,
    }
}

/// Which attachments the pipeline renders to, and what the "ignored" rules need from them.
struct Targets {
    targets: RenderTargets,
    color_count: u32,
    uses_color: bool,
    uses_depth_stencil: bool,
}

/// # Safety
/// `info` is a valid create info (its chain included).
unsafe fn targets(info: &vk::GraphicsPipelineCreateInfo<'_>) -> IcdResult<Targets> {
    if info.render_pass != vk::RenderPass::null() {
        // SAFETY: valid usage: a live render pass of ours.
        let rp = unsafe { crate::render_pass::render_pass(info.render_pass) }?;
        let sub = rp
            .subpasses
            .get(info.subpass as usize)
            .ok_or_else(|| invalid(format!("no subpass {}", info.subpass)))?;
        return Ok(Targets {
            targets: RenderTargets::RenderPass {
                render_pass: rp.id,
                subpass: info.subpass,
            },
            color_count: sub.color_attachments,
            uses_color: sub.uses_color,
            uses_depth_stencil: sub.uses_depth_stencil,
        });
    }
    // Dynamic rendering: VkPipelineRenderingCreateInfo, or no attachments at all when absent.
    let mut found = None;
    // SAFETY: the app's valid chain; the structure cast to the type its sType names.
    unsafe {
        walk_chain(info.p_next, |ty, p| {
            if ty == vk::StructureType::PIPELINE_RENDERING_CREATE_INFO {
                let r = &*(p as *const vk::PipelineRenderingCreateInfo<'_>);
                found = Some((
                    r.view_mask,
                    slice(r.p_color_attachment_formats, r.color_attachment_count)
                        .iter()
                        .map(|f| f.as_raw() as u32)
                        .collect::<Vec<u32>>(),
                    r.depth_attachment_format.as_raw() as u32,
                    r.stencil_attachment_format.as_raw() as u32,
                ));
            }
        })
    };
    let (view_mask, color_formats, depth_format, stencil_format) =
        found.unwrap_or((0, Vec::new(), 0, 0));
    // VUID-VkPipelineRenderingCreateInfo-multiview-06577 / -viewMask-06578.
    if view_mask >> crate::physical_device::MAX_MULTIVIEW_VIEW_COUNT != 0 {
        return Err(invalid(
            "view mask names views beyond maxMultiviewViewCount",
        ));
    }
    Ok(Targets {
        color_count: color_formats.len() as u32,
        uses_color: color_formats.iter().any(|f| *f != 0),
        uses_depth_stencil: depth_format != 0 || stencil_format != 0,
        targets: RenderTargets::Dynamic {
            view_mask,
            color_formats,
            depth_format,
            stencil_format,
        },
    })
}

/// Converts one create info, reading only what is not ignored.
///
/// # Safety
/// `info` is a valid `VkGraphicsPipelineCreateInfo` (Vulkan valid usage), except that the
/// pointers §10.2 calls ignored may be anything.
pub(crate) unsafe fn convert(
    info: &vk::GraphicsPipelineCreateInfo<'_>,
) -> IcdResult<GraphicsPipelineInfo> {
    let library = vk::PipelineCreateFlags::LIBRARY_KHR;
    if info.flags.contains(library) {
        return Err(IcdError::vk(
            vk::Result::ERROR_FEATURE_NOT_PRESENT,
            "pipeline libraries are not offered",
        ));
    }
    // SAFETY: valid usage.
    let layout = unsafe { pipeline_layout(info.layout) }?;
    // SAFETY: (pointer, count) of a valid create info.
    let stage_infos = unsafe { slice(info.p_stages, info.stage_count) };
    let mut stages = Vec::with_capacity(stage_infos.len());
    for s in stage_infos {
        if s.stage != vk::ShaderStageFlags::VERTEX && s.stage != vk::ShaderStageFlags::FRAGMENT {
            return Err(IcdError::vk(
                vk::Result::ERROR_FEATURE_NOT_PRESENT,
                format!("shader stage {:?} is not offered", s.stage),
            ));
        }
        if stages
            .iter()
            .any(|t: &ShaderStage| t.stage == s.stage.as_raw())
        {
            return Err(invalid(format!("two {:?} stages", s.stage)));
        }
        stages.push(shader_stage(s)?);
    }
    if !stages
        .iter()
        .any(|s| s.stage == vk::ShaderStageFlags::VERTEX.as_raw())
    {
        return Err(invalid("a graphics pipeline without a vertex stage"));
    }

    // SAFETY: (pointer, count) of a valid create info.
    let dynamic: Vec<vk::DynamicState> = unsafe { info.p_dynamic_state.as_ref() }
        .map(|d| {
            // SAFETY: (pointer, count) of a valid dynamic state info.
            unsafe { slice(d.p_dynamic_states, d.dynamic_state_count) }.to_vec()
        })
        .unwrap_or_default();
    if let Some(s) = dynamic.iter().find(|s| !dynamic_state_supported(**s)) {
        return Err(IcdError::vk(
            vk::Result::ERROR_FEATURE_NOT_PRESENT,
            format!("dynamic state {s:?} is not offered"),
        ));
    }
    let is_dynamic = |s: vk::DynamicState| dynamic.contains(&s);

    // Vertex input and input assembly are always read (no mesh shading, no
    // VK_EXT_vertex_input_dynamic_state).
    // SAFETY: valid usage: non-null for a pipeline with a vertex stage.
    let vi = unsafe { info.p_vertex_input_state.as_ref() }
        .ok_or_else(|| invalid("null vertex input state"))?;
    // SAFETY: (pointer, count) pairs of a valid vertex input state.
    let (bindings, attributes) = unsafe {
        (
            slice(
                vi.p_vertex_binding_descriptions,
                vi.vertex_binding_description_count,
            ),
            slice(
                vi.p_vertex_attribute_descriptions,
                vi.vertex_attribute_description_count,
            ),
        )
    };
    // SAFETY: as above.
    let ia = unsafe { info.p_input_assembly_state.as_ref() }
        .ok_or_else(|| invalid("null input assembly state"))?;
    // SAFETY: always read (valid usage: non-null).
    let rs = unsafe { info.p_rasterization_state.as_ref() }
        .ok_or_else(|| invalid("null rasterization state"))?;
    let discard = rs.rasterizer_discard_enable != 0
        && !is_dynamic(vk::DynamicState::RASTERIZER_DISCARD_ENABLE);
    // SAFETY: valid usage.
    let t = unsafe { targets(info) }?;

    let (mut viewport_count, mut viewports, mut scissor_count, mut scissors) =
        (0, Vec::new(), 0, Vec::new());
    if !discard {
        // SAFETY: not ignored, so valid (valid usage).
        let vp = unsafe { info.p_viewport_state.as_ref() }
            .ok_or_else(|| invalid("null viewport state"))?;
        if !is_dynamic(vk::DynamicState::VIEWPORT_WITH_COUNT) {
            viewport_count = vp.viewport_count;
            if !is_dynamic(vk::DynamicState::VIEWPORT) {
                // SAFETY: (pointer, count) of a valid viewport state.
                viewports = unsafe { slice(vp.p_viewports, vp.viewport_count) }
                    .iter()
                    .map(viewport)
                    .collect();
                if viewports.len() != vp.viewport_count as usize {
                    return Err(invalid("null viewports"));
                }
            }
        }
        if !is_dynamic(vk::DynamicState::SCISSOR_WITH_COUNT) {
            scissor_count = vp.scissor_count;
            if !is_dynamic(vk::DynamicState::SCISSOR) {
                // SAFETY: (pointer, count) of a valid viewport state.
                scissors = unsafe { slice(vp.p_scissors, vp.scissor_count) }
                    .iter()
                    .map(rect)
                    .collect();
                if scissors.len() != vp.scissor_count as usize {
                    return Err(invalid("null scissors"));
                }
            }
        }
    }
    let multisample = if discard {
        None
    } else {
        // SAFETY: not ignored, so null or valid.
        let ms = unsafe { info.p_multisample_state.as_ref() }
            .ok_or_else(|| invalid("null multisample state"))?;
        if ms.rasterization_samples != vk::SampleCountFlags::TYPE_1 {
            return Err(IcdError::vk(
                vk::Result::ERROR_FEATURE_NOT_PRESENT,
                format!("{:?} samples (only 1)", ms.rasterization_samples),
            ));
        }
        Some(MultisampleState {
            rasterization_samples: ms.rasterization_samples.as_raw(),
            sample_shading_enable: ms.sample_shading_enable != 0,
            min_sample_shading: ms.min_sample_shading,
            // SAFETY: null or one word for one sample (valid usage).
            sample_mask: unsafe { ms.p_sample_mask.as_ref() }.copied(),
            alpha_to_coverage_enable: ms.alpha_to_coverage_enable != 0,
            alpha_to_one_enable: ms.alpha_to_one_enable != 0,
        })
    };
    let depth_stencil = if discard || !t.uses_depth_stencil {
        None
    } else {
        // SAFETY: not ignored, so valid.
        let ds = unsafe { info.p_depth_stencil_state.as_ref() }
            .ok_or_else(|| invalid("null depth/stencil state"))?;
        Some(DepthStencilState {
            depth_test_enable: ds.depth_test_enable != 0,
            depth_write_enable: ds.depth_write_enable != 0,
            depth_compare_op: ds.depth_compare_op.as_raw() as u32,
            depth_bounds_test_enable: ds.depth_bounds_test_enable != 0,
            stencil_test_enable: ds.stencil_test_enable != 0,
            front: stencil(&ds.front),
            back: stencil(&ds.back),
            min_depth_bounds: ds.min_depth_bounds,
            max_depth_bounds: ds.max_depth_bounds,
        })
    };
    let color_blend = if discard || !t.uses_color {
        None
    } else {
        // SAFETY: not ignored, so valid.
        let cb = unsafe { info.p_color_blend_state.as_ref() }
            .ok_or_else(|| invalid("null colour blend state"))?;
        if cb.attachment_count != t.color_count {
            return Err(invalid(format!(
                "{} blend attachments for {} colour attachments",
                cb.attachment_count, t.color_count
            )));
        }
        // SAFETY: (pointer, count) of a valid blend state.
        let attachments = unsafe { slice(cb.p_attachments, cb.attachment_count) }
            .iter()
            .map(|a| ColorBlendAttachment {
                blend_enable: a.blend_enable != 0,
                src_color_blend_factor: a.src_color_blend_factor.as_raw() as u32,
                dst_color_blend_factor: a.dst_color_blend_factor.as_raw() as u32,
                color_blend_op: a.color_blend_op.as_raw() as u32,
                src_alpha_blend_factor: a.src_alpha_blend_factor.as_raw() as u32,
                dst_alpha_blend_factor: a.dst_alpha_blend_factor.as_raw() as u32,
                alpha_blend_op: a.alpha_blend_op.as_raw() as u32,
                color_write_mask: a.color_write_mask.as_raw(),
            })
            .collect::<Vec<_>>();
        if attachments.len() != t.color_count as usize {
            return Err(invalid("null blend attachments"));
        }
        Some(ColorBlendState {
            logic_op_enable: cb.logic_op_enable != 0,
            logic_op: cb.logic_op.as_raw() as u32,
            attachments,
            blend_constants: cb.blend_constants,
        })
    };
    Ok(GraphicsPipelineInfo {
        flags: info.flags.as_raw(),
        layout: layout.id,
        stages,
        vertex_bindings: bindings
            .iter()
            .map(|b| VertexBinding {
                binding: b.binding,
                stride: b.stride,
                input_rate: b.input_rate.as_raw() as u32,
            })
            .collect(),
        vertex_attributes: attributes
            .iter()
            .map(|a| VertexAttribute {
                location: a.location,
                binding: a.binding,
                format: a.format.as_raw() as u32,
                offset: a.offset,
            })
            .collect(),
        topology: ia.topology.as_raw() as u32,
        primitive_restart_enable: ia.primitive_restart_enable != 0,
        viewport_count,
        viewports,
        scissor_count,
        scissors,
        rasterization: RasterizationState {
            depth_clamp_enable: rs.depth_clamp_enable != 0,
            rasterizer_discard_enable: rs.rasterizer_discard_enable != 0,
            polygon_mode: rs.polygon_mode.as_raw() as u32,
            cull_mode: rs.cull_mode.as_raw(),
            front_face: rs.front_face.as_raw() as u32,
            depth_bias_enable: rs.depth_bias_enable != 0,
            depth_bias_constant_factor: rs.depth_bias_constant_factor,
            depth_bias_clamp: rs.depth_bias_clamp,
            depth_bias_slope_factor: rs.depth_bias_slope_factor,
            line_width: rs.line_width,
        },
        multisample,
        depth_stencil,
        color_blend,
        dynamic_states: dynamic.iter().map(|s| s.as_raw() as u32).collect(),
        targets: t.targets,
    })
}

fn create_graphics(
    dev: &Device,
    info: &vk::GraphicsPipelineCreateInfo<'_>,
) -> IcdResult<vk::Pipeline> {
    // SAFETY: valid usage.
    let wire = unsafe { convert(info) }?;
    create_with_reply(dev, "graphics", |id, reply| {
        CreateGraphicsPipeline {
            id,
            info: wire,
            reply,
        }
        .into()
    })
}

/// # Safety
/// Vulkan valid usage for `vkCreateGraphicsPipelines`.
pub(crate) unsafe extern "system" fn create_graphics_pipelines(
    dev: vk::Device,
    _cache: vk::PipelineCache,
    count: u32,
    p_create_infos: *const vk::GraphicsPipelineCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_pipelines: *mut vk::Pipeline,
) -> vk::Result {
    guard("vkCreateGraphicsPipelines", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        if p_pipelines.is_null() && count > 0 {
            return Err(invalid("null output array"));
        }
        if p_create_infos.is_null() && count > 0 {
            return Err(invalid("null create infos"));
        }
        // SAFETY: (pointer, count) (valid usage).
        let infos = unsafe { slice(p_create_infos, count) };
        // SAFETY: `p_pipelines` holds `count` elements (valid usage; null checked above).
        unsafe {
            create_each(
                "vkCreateGraphicsPipelines",
                dev,
                infos,
                p_pipelines,
                create_graphics,
            )
        }
    })
}
