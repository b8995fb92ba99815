//! The fixed-function half of vkCreateGraphicsPipelines: a `GraphicsPipelineInfo`'s state
//! decoded and checked against the render targets it names, into the renderer's types and
//! the [`FixedState`] that dynamic state overrides at draw time. Everything refused here is
//! the application's choice and becomes an error `VkResult` in the reply.

use protocol::format::{feature, Format};
use protocol::graphics::{
    ColorBlendAttachment, DepthStencilState, GraphicsPipelineInfo, StencilOpState,
};
use renderer::draw::{
    InputRate, RasterizationState, Topology, VertexAttribute, VertexBinding, VertexFormat,
    VertexInputState,
};
use renderer::output::{BlendFactor, BlendOp, BlendState, CompareOp, StencilFace, StencilOp};
use renderer::raster::{DepthBias, Rect, Viewport};

use super::dynamic_state::{self, DynamicKind, DynamicMask, FixedState};
use super::ExecError;

fn invalid(message: String) -> ExecError {
    ExecError::Invalid(message)
}

fn draw_err(e: renderer::DrawError) -> ExecError {
    invalid(e.to_string())
}

fn output_err(e: renderer::output::OutputError) -> ExecError {
    invalid(e.to_string())
}

/// The formats a pipeline renders to, for the draw-time compatibility check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TargetFormats {
    /// By location; `None`: no attachment there.
    pub(crate) colors: Vec<Option<Format>>,
    pub(crate) depth: Option<Format>,
    pub(crate) stencil: Option<Format>,
    /// The views rendered (`VkSubpassDescription2::viewMask` of the subpass,
    /// `VkPipelineRenderingCreateInfo::viewMask`); a pipeline draws only where they match
    /// (VUID-vkCmdDraw-viewMask-06178).
    pub(crate) view_mask: u32,
}

/// How the pipeline names its render targets: a subpass of a render pass, or dynamic
/// rendering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TargetKind {
    Subpass(usize),
    Dynamic,
}

/// The pipeline's state, checked, without its shaders.
pub(crate) struct CheckedState {
    pub(crate) fixed: FixedState,
    pub(crate) dynamic: DynamicMask,
    pub(crate) blend: Vec<BlendState>,
    pub(crate) targets: TargetFormats,
    pub(crate) target_kind: TargetKind,
}

fn stencil_face(s: &StencilOpState) -> Result<StencilFace, ExecError> {
    let op = |raw| StencilOp::from_vk(raw).map_err(output_err);
    Ok(StencilFace {
        fail_op: op(s.fail_op)?,
        pass_op: op(s.pass_op)?,
        depth_fail_op: op(s.depth_fail_op)?,
        compare_op: CompareOp::from_vk(s.compare_op).map_err(output_err)?,
        compare_mask: s.compare_mask,
        write_mask: s.write_mask,
        reference: s.reference,
    })
}

fn blend_state(
    index: usize,
    a: &ColorBlendAttachment,
    format: Option<Format>,
) -> Result<BlendState, ExecError> {
    let factor = |raw| BlendFactor::from_vk(raw).map_err(output_err);
    let op = |raw| BlendOp::from_vk(raw).map_err(output_err);
    let state = BlendState {
        enable: a.blend_enable,
        src_color: factor(a.src_color_blend_factor)?,
        dst_color: factor(a.dst_color_blend_factor)?,
        color_op: op(a.color_blend_op)?,
        src_alpha: factor(a.src_alpha_blend_factor)?,
        dst_alpha: factor(a.dst_alpha_blend_factor)?,
        alpha_op: op(a.alpha_blend_op)?,
        write_mask: (a.color_write_mask & 0xf) as u8,
    };
    if a.color_write_mask & !0xf != 0 {
        return Err(invalid(format!(
            "attachment {index}: write mask {:#x}",
            a.color_write_mask
        )));
    }
    if state.enable {
        // dualSrcBlend is not offered.
        let factors = [
            state.src_color,
            state.dst_color,
            state.src_alpha,
            state.dst_alpha,
        ];
        if factors.iter().any(|f| f.is_dual_source()) {
            return Err(invalid(format!(
                "attachment {index}: dual-source blend factor"
            )));
        }
        // VUID-VkGraphicsPipelineCreateInfo-renderPass-06041: the format blends.
        if let Some(f) = format {
            if f.features().optimal_tiling & feature::COLOR_ATTACHMENT_BLEND == 0 {
                return Err(invalid(format!(
                    "attachment {index}: {f:?} does not support blending"
                )));
            }
        }
    }
    Ok(state)
}

/// Everything of `info` but the shaders and ids, against the target formats.
pub(crate) fn check_state(
    info: &GraphicsPipelineInfo,
    targets: TargetFormats,
    target_kind: TargetKind,
) -> Result<CheckedState, ExecError> {
    use DynamicKind as K;
    let dynamic = DynamicMask::from_vk(&info.dynamic_states)?;
    let bindings = info
        .vertex_bindings
        .iter()
        .map(|b| {
            Ok(VertexBinding {
                binding: b.binding,
                stride: b.stride,
                rate: InputRate::from_vk(b.input_rate).map_err(draw_err)?,
            })
        })
        .collect::<Result<Vec<_>, ExecError>>()?;
    let attributes = info
        .vertex_attributes
        .iter()
        .map(|a| {
            Ok(VertexAttribute {
                location: a.location,
                binding: a.binding,
                format: VertexFormat::from_vk(a.format).map_err(draw_err)?,
                offset: a.offset,
            })
        })
        .collect::<Result<Vec<_>, ExecError>>()?;
    let vertex_input = VertexInputState::new(bindings.clone(), attributes).map_err(draw_err)?;
    let topology = Topology::from_vk(info.topology).map_err(draw_err)?;
    let r = &info.rasterization;
    let discard_fixed = r.rasterizer_discard_enable && !dynamic.has(K::RasterizerDiscardEnable);
    // Viewport state (VUID-VkPipelineViewportStateCreateInfo-viewportCount-01216: one without
    // multiViewport; -04135/04136: 0 when given with count).
    let (viewport, scissor) = if discard_fixed {
        (unused_viewport(), unused_scissor())
    } else {
        let vp = if dynamic.has(K::ViewportWithCount) {
            if info.viewport_count != 0 {
                return Err(invalid(
                    "viewportCount must be 0 with VIEWPORT_WITH_COUNT".into(),
                ));
            }
            unused_viewport()
        } else if info.viewport_count != 1 {
            return Err(invalid(format!(
                "{} viewports (multiViewport is not offered)",
                info.viewport_count
            )));
        } else if dynamic.has(K::Viewport) {
            unused_viewport()
        } else {
            let v = info
                .viewports
                .first()
                .ok_or_else(|| invalid("no viewport given".into()))?;
            dynamic_state::viewport(v)?
        };
        let sc = if dynamic.has(K::ScissorWithCount) {
            if info.scissor_count != 0 {
                return Err(invalid(
                    "scissorCount must be 0 with SCISSOR_WITH_COUNT".into(),
                ));
            }
            unused_scissor()
        } else if info.scissor_count != 1 {
            return Err(invalid(format!(
                "{} scissors (multiViewport is not offered)",
                info.scissor_count
            )));
        } else if dynamic.has(K::Scissor) {
            unused_scissor()
        } else {
            let s = info
                .scissors
                .first()
                .ok_or_else(|| invalid("no scissor given".into()))?;
            dynamic_state::scissor(s)?
        };
        (vp, sc)
    };
    let line_width_fixed = !dynamic.has(K::LineWidth);
    if line_width_fixed && !(r.line_width.is_finite() && r.line_width > 0.0) {
        return Err(invalid(format!("line width {}", r.line_width)));
    }
    let mut rasterization = RasterizationState::from_vk(
        r.depth_clamp_enable,
        r.rasterizer_discard_enable,
        r.polygon_mode,
        r.cull_mode,
        r.front_face,
        None,
        r.line_width,
    )
    .map_err(draw_err)?;
    let bias = (
        r.depth_bias_constant_factor,
        r.depth_bias_clamp,
        r.depth_bias_slope_factor,
    );
    let bias_finite = bias.0.is_finite() && bias.1.is_finite() && bias.2.is_finite();
    if !dynamic.has(K::DepthBias) && !bias_finite {
        return Err(invalid("non-finite depth bias".into()));
    }
    let depth_bias = DepthBias {
        constant: bias.0,
        clamp: bias.1,
        slope: bias.2,
    };
    // Multisample state: one sample; alpha-to-coverage and alpha-to-one are not offered.
    match &info.multisample {
        None if !discard_fixed => {
            return Err(invalid("no multisample state while rasterizing".into()))
        }
        None => {}
        Some(m) => {
            if m.rasterization_samples != 1 {
                return Err(invalid(format!(
                    "{} samples (only 1 is offered)",
                    m.rasterization_samples
                )));
            }
            if m.alpha_to_coverage_enable || m.alpha_to_one_enable {
                return Err(invalid(
                    "alpha-to-coverage / alpha-to-one are not supported".into(),
                ));
            }
            // A sample mask without sample 0 covers nothing: no fragment is ever shaded.
            if m.sample_mask.is_some_and(|mask| mask & 1 == 0) {
                rasterization.rasterizer_discard = true;
            }
        }
    }
    let ds = info.depth_stencil.unwrap_or(DepthStencilState {
        depth_test_enable: false,
        depth_write_enable: false,
        depth_compare_op: 7,
        depth_bounds_test_enable: false,
        stencil_test_enable: false,
        front: keep_always(),
        back: keep_always(),
        min_depth_bounds: 0.0,
        max_depth_bounds: 1.0,
    });
    let has_ds_target = targets.depth.is_some() || targets.stencil.is_some();
    if info.depth_stencil.is_none() && has_ds_target && !discard_fixed {
        return Err(invalid(
            "no depth/stencil state for a depth/stencil attachment".into(),
        ));
    }
    // VUID-VkPipelineDepthStencilStateCreateInfo-... (no depth_range_unrestricted).
    let bounds = (ds.min_depth_bounds, ds.max_depth_bounds);
    if ds.depth_bounds_test_enable
        && !dynamic.has(K::DepthBounds)
        && !((0.0..=1.0).contains(&bounds.0) && (0.0..=1.0).contains(&bounds.1))
    {
        return Err(invalid("depth bounds outside [0, 1]".into()));
    }
    let stencil = [stencil_face(&ds.front)?, stencil_face(&ds.back)?];
    let depth_compare = CompareOp::from_vk(ds.depth_compare_op).map_err(output_err)?;
    let (blend, blend_constants) = match &info.color_blend {
        None => {
            if !discard_fixed && targets.colors.iter().any(Option::is_some) {
                return Err(invalid(
                    "no colour blend state for colour attachments".into(),
                ));
            }
            (vec![BlendState::REPLACE; targets.colors.len()], [0.0; 4])
        }
        Some(cb) => {
            // The logicOp feature is not offered.
            if cb.logic_op_enable {
                return Err(invalid("logic ops are not supported".into()));
            }
            // VUID-VkGraphicsPipelineCreateInfo-renderPass-07609.
            if cb.attachments.len() != targets.colors.len() {
                return Err(invalid(format!(
                    "{} blend attachments for {} colour attachments",
                    cb.attachments.len(),
                    targets.colors.len()
                )));
            }
            let blend = cb
                .attachments
                .iter()
                .zip(&targets.colors)
                .enumerate()
                .map(|(i, (a, f))| blend_state(i, a, *f))
                .collect::<Result<Vec<_>, _>>()?;
            if !dynamic.has(K::BlendConstants) && !cb.blend_constants.iter().all(|c| c.is_finite())
            {
                return Err(invalid("non-finite blend constants".into()));
            }
            (blend, cb.blend_constants)
        }
    };
    Ok(CheckedState {
        fixed: FixedState {
            vertex_bindings: bindings,
            vertex_input,
            topology,
            primitive_restart: info.primitive_restart_enable,
            viewport,
            scissor,
            rasterization,
            depth_bias_enable: r.depth_bias_enable,
            depth_bias,
            depth_test: ds.depth_test_enable,
            depth_write: ds.depth_write_enable,
            depth_compare,
            depth_bounds_test: ds.depth_bounds_test_enable,
            depth_bounds: bounds,
            stencil_test: ds.stencil_test_enable,
            stencil,
            blend_constants,
        },
        dynamic,
        blend,
        targets,
        target_kind,
    })
}

fn keep_always() -> StencilOpState {
    StencilOpState {
        fail_op: 0,
        pass_op: 0,
        depth_fail_op: 0,
        compare_op: 7,
        compare_mask: 0xff,
        write_mask: 0xff,
        reference: 0,
    }
}

/// Placeholder for a viewport the pipeline leaves dynamic (never drawn with).
fn unused_viewport() -> Viewport {
    Viewport {
        x: 0.0,
        y: 0.0,
        width: 1.0,
        height: 1.0,
        min_depth: 0.0,
        max_depth: 1.0,
    }
}

fn unused_scissor() -> Rect {
    Rect {
        x: 0,
        y: 0,
        width: 0,
        height: 0,
    }
}
