//! The vkCmdSet* commands: core dynamic state, VK_EXT_extended_dynamic_state and
//! VK_EXT_extended_dynamic_state2. Each becomes one `CmdSetDynamicState`. Patch control points
//! and logic op are part of VK_EXT_extended_dynamic_state2 but their features are reported
//! false: calling them is the app's error and breaks the command buffer visibly.

use crate::command_buffer::{record, unsupported};
use crate::entry::slice;
use crate::graphics_pipeline::{rect, viewport};
use ash::vk;
use protocol::graphics::DynamicState;
use protocol::stream::CmdSetDynamicState;

/// # Safety
/// `cb` is null or a live command buffer of ours in the recording state.
unsafe fn set(cb: vk::CommandBuffer, name: &str, state: impl FnOnce() -> Option<DynamicState>) {
    // SAFETY: caller contract.
    unsafe {
        record(cb, name, |_| {
            let state = state().ok_or_else(|| unsupported(format!("{name}: null array")))?;
            Ok(vec![CmdSetDynamicState { state }.into()])
        })
    }
}

/// Items of a (pointer, count) array the app must pass, `None` if the pointer is null.
///
/// # Safety
/// `(ptr, count)` is null or a valid array.
unsafe fn items<'a, T>(ptr: *const T, count: u32) -> Option<&'a [T]> {
    // SAFETY: caller contract.
    let s = unsafe { slice(ptr, count) };
    (s.len() == count as usize).then_some(s)
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetViewport`.
pub(crate) unsafe extern "system" fn cmd_set_viewport(
    cb: vk::CommandBuffer,
    first: u32,
    count: u32,
    p_viewports: *const vk::Viewport,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetViewport", || {
            Some(DynamicState::Viewport {
                first,
                viewports: items(p_viewports, count)?.iter().map(viewport).collect(),
            })
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetScissor`.
pub(crate) unsafe extern "system" fn cmd_set_scissor(
    cb: vk::CommandBuffer,
    first: u32,
    count: u32,
    p_scissors: *const vk::Rect2D,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetScissor", || {
            Some(DynamicState::Scissor {
                first,
                scissors: items(p_scissors, count)?.iter().map(rect).collect(),
            })
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetViewportWithCount`.
pub(crate) unsafe extern "system" fn cmd_set_viewport_with_count_ext(
    cb: vk::CommandBuffer,
    count: u32,
    p_viewports: *const vk::Viewport,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetViewportWithCountEXT", || {
            Some(DynamicState::ViewportWithCount(
                items(p_viewports, count)?.iter().map(viewport).collect(),
            ))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetScissorWithCount`.
pub(crate) unsafe extern "system" fn cmd_set_scissor_with_count_ext(
    cb: vk::CommandBuffer,
    count: u32,
    p_scissors: *const vk::Rect2D,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetScissorWithCountEXT", || {
            Some(DynamicState::ScissorWithCount(
                items(p_scissors, count)?.iter().map(rect).collect(),
            ))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetLineWidth`.
pub(crate) unsafe extern "system" fn cmd_set_line_width(cb: vk::CommandBuffer, width: f32) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetLineWidth", || {
            Some(DynamicState::LineWidth(width))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetDepthBias`.
pub(crate) unsafe extern "system" fn cmd_set_depth_bias(
    cb: vk::CommandBuffer,
    constant: f32,
    clamp: f32,
    slope: f32,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetDepthBias", || {
            Some(DynamicState::DepthBias {
                constant,
                clamp,
                slope,
            })
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetBlendConstants`.
pub(crate) unsafe extern "system" fn cmd_set_blend_constants(
    cb: vk::CommandBuffer,
    constants: *const [f32; 4],
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetBlendConstants", || {
            // SAFETY: null or four floats (valid usage).
            Some(DynamicState::BlendConstants(*constants.as_ref()?))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetDepthBounds`.
pub(crate) unsafe extern "system" fn cmd_set_depth_bounds(
    cb: vk::CommandBuffer,
    min: f32,
    max: f32,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetDepthBounds", || {
            Some(DynamicState::DepthBounds { min, max })
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetStencilCompareMask`.
pub(crate) unsafe extern "system" fn cmd_set_stencil_compare_mask(
    cb: vk::CommandBuffer,
    faces: vk::StencilFaceFlags,
    mask: u32,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetStencilCompareMask", || {
            Some(DynamicState::StencilCompareMask {
                faces: faces.as_raw(),
                mask,
            })
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetStencilWriteMask`.
pub(crate) unsafe extern "system" fn cmd_set_stencil_write_mask(
    cb: vk::CommandBuffer,
    faces: vk::StencilFaceFlags,
    mask: u32,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetStencilWriteMask", || {
            Some(DynamicState::StencilWriteMask {
                faces: faces.as_raw(),
                mask,
            })
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetStencilReference`.
pub(crate) unsafe extern "system" fn cmd_set_stencil_reference(
    cb: vk::CommandBuffer,
    faces: vk::StencilFaceFlags,
    reference: u32,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetStencilReference", || {
            Some(DynamicState::StencilReference {
                faces: faces.as_raw(),
                reference,
            })
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetCullMode`.
pub(crate) unsafe extern "system" fn cmd_set_cull_mode_ext(
    cb: vk::CommandBuffer,
    mode: vk::CullModeFlags,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetCullModeEXT", || {
            Some(DynamicState::CullMode(mode.as_raw()))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetFrontFace`.
pub(crate) unsafe extern "system" fn cmd_set_front_face_ext(
    cb: vk::CommandBuffer,
    face: vk::FrontFace,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetFrontFaceEXT", || {
            Some(DynamicState::FrontFace(face.as_raw() as u32))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetPrimitiveTopology`.
pub(crate) unsafe extern "system" fn cmd_set_primitive_topology_ext(
    cb: vk::CommandBuffer,
    topology: vk::PrimitiveTopology,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetPrimitiveTopologyEXT", || {
            Some(DynamicState::PrimitiveTopology(topology.as_raw() as u32))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetDepthTestEnableEXT`.
pub(crate) unsafe extern "system" fn cmd_set_depth_test_enable_ext(
    cb: vk::CommandBuffer,
    enable: vk::Bool32,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetDepthTestEnableEXT", || {
            Some(DynamicState::DepthTestEnable(enable != 0))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetDepthWriteEnableEXT`.
pub(crate) unsafe extern "system" fn cmd_set_depth_write_enable_ext(
    cb: vk::CommandBuffer,
    enable: vk::Bool32,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetDepthWriteEnableEXT", || {
            Some(DynamicState::DepthWriteEnable(enable != 0))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetDepthBoundsTestEnableEXT`.
pub(crate) unsafe extern "system" fn cmd_set_depth_bounds_test_enable_ext(
    cb: vk::CommandBuffer,
    enable: vk::Bool32,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetDepthBoundsTestEnableEXT", || {
            Some(DynamicState::DepthBoundsTestEnable(enable != 0))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetStencilTestEnableEXT`.
pub(crate) unsafe extern "system" fn cmd_set_stencil_test_enable_ext(
    cb: vk::CommandBuffer,
    enable: vk::Bool32,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetStencilTestEnableEXT", || {
            Some(DynamicState::StencilTestEnable(enable != 0))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetRasterizerDiscardEnableEXT`.
pub(crate) unsafe extern "system" fn cmd_set_rasterizer_discard_enable_ext(
    cb: vk::CommandBuffer,
    enable: vk::Bool32,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetRasterizerDiscardEnableEXT", || {
            Some(DynamicState::RasterizerDiscardEnable(enable != 0))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetDepthBiasEnableEXT`.
pub(crate) unsafe extern "system" fn cmd_set_depth_bias_enable_ext(
    cb: vk::CommandBuffer,
    enable: vk::Bool32,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetDepthBiasEnableEXT", || {
            Some(DynamicState::DepthBiasEnable(enable != 0))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetPrimitiveRestartEnableEXT`.
pub(crate) unsafe extern "system" fn cmd_set_primitive_restart_enable_ext(
    cb: vk::CommandBuffer,
    enable: vk::Bool32,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetPrimitiveRestartEnableEXT", || {
            Some(DynamicState::PrimitiveRestartEnable(enable != 0))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetDepthCompareOp`.
pub(crate) unsafe extern "system" fn cmd_set_depth_compare_op_ext(
    cb: vk::CommandBuffer,
    op: vk::CompareOp,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetDepthCompareOpEXT", || {
            Some(DynamicState::DepthCompareOp(op.as_raw() as u32))
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetStencilOp`.
pub(crate) unsafe extern "system" fn cmd_set_stencil_op_ext(
    cb: vk::CommandBuffer,
    faces: vk::StencilFaceFlags,
    fail_op: vk::StencilOp,
    pass_op: vk::StencilOp,
    depth_fail_op: vk::StencilOp,
    compare_op: vk::CompareOp,
) {
    // SAFETY: valid usage.
    unsafe {
        set(cb, "vkCmdSetStencilOpEXT", || {
            Some(DynamicState::StencilOp {
                faces: faces.as_raw(),
                fail_op: fail_op.as_raw() as u32,
                pass_op: pass_op.as_raw() as u32,
                depth_fail_op: depth_fail_op.as_raw() as u32,
                compare_op: compare_op.as_raw() as u32,
            })
        })
    }
}

/// `extendedDynamicState2PatchControlPoints` is false (no tessellation).
///
/// # Safety
/// Vulkan valid usage for `vkCmdSetPatchControlPointsEXT`.
pub(crate) unsafe extern "system" fn cmd_set_patch_control_points_ext(
    cb: vk::CommandBuffer,
    _n: u32,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdSetPatchControlPointsEXT", |_| {
            Err(unsupported(
                "extendedDynamicState2PatchControlPoints is not offered".into(),
            ))
        })
    }
}

/// `extendedDynamicState2LogicOp` is false (logic op is not offered).
///
/// # Safety
/// Vulkan valid usage for `vkCmdSetLogicOpEXT`.
pub(crate) unsafe extern "system" fn cmd_set_logic_op_ext(cb: vk::CommandBuffer, _op: vk::LogicOp) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdSetLogicOpEXT", |_| {
            Err(unsupported(
                "extendedDynamicState2LogicOp is not offered".into(),
            ))
        })
    }
}
