//! Graphics state that a pipeline fixes or leaves dynamic (Vulkan §10.11 "Dynamic State"):
//! the pipeline's [`FixedState`], the values vkCmdSet* recorded ([`DynamicValues`]), and the
//! renderer's [`GraphicsState`] a draw uses — each state from the command buffer where the
//! bound pipeline declared it dynamic, from the pipeline otherwise.
//!
//! A dynamic state the draw needs but the command buffer never set is an error (Vulkan: the
//! state must be set before the draw, VUID-vkCmdDraw-None-07831 and kin), never a default.

use protocol::graphics::{DynamicState, Rect2D, Viewport as WireViewport};
use renderer::draw::{
    state::{cull_mode_from_vk, front_face_from_vk},
    GraphicsState, InputAssembly, RasterizationState, Topology, VertexBinding, VertexInputState,
};
use renderer::output::{CompareOp, DepthState, StencilFace, StencilOp, StencilState};
use renderer::raster::{CullMode, DepthBias, FrontFace, Rect, Viewport};

use super::ExecError;

fn invalid(message: String) -> ExecError {
    ExecError::Invalid(message)
}

macro_rules! dynamic_kinds {
    ($($name:ident = $vk:literal,)*) => {
        /// `VkDynamicState` values of Vulkan 1.3 core that the device accepts.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub(crate) enum DynamicKind { $($name,)* }

        impl DynamicKind {
            pub(crate) fn from_vk(raw: u32) -> Result<DynamicKind, ExecError> {
                match raw {
                    $($vk => Ok(DynamicKind::$name),)*
                    _ => Err(invalid(format!("VkDynamicState {raw} is not supported"))),
                }
            }
        }
    };
}

dynamic_kinds! {
    Viewport = 0,
    Scissor = 1,
    LineWidth = 2,
    DepthBias = 3,
    BlendConstants = 4,
    DepthBounds = 5,
    StencilCompareMask = 6,
    StencilWriteMask = 7,
    StencilReference = 8,
    CullMode = 1_000_267_000,
    FrontFace = 1_000_267_001,
    PrimitiveTopology = 1_000_267_002,
    ViewportWithCount = 1_000_267_003,
    ScissorWithCount = 1_000_267_004,
    VertexInputBindingStride = 1_000_267_005,
    DepthTestEnable = 1_000_267_006,
    DepthWriteEnable = 1_000_267_007,
    DepthCompareOp = 1_000_267_008,
    DepthBoundsTestEnable = 1_000_267_009,
    StencilTestEnable = 1_000_267_010,
    StencilOp = 1_000_267_011,
    RasterizerDiscardEnable = 1_000_377_001,
    DepthBiasEnable = 1_000_377_002,
    PrimitiveRestartEnable = 1_000_377_004,
}

/// The set of states a pipeline declared dynamic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DynamicMask(u32);

impl DynamicMask {
    /// From `VkPipelineDynamicStateCreateInfo::pDynamicStates`: known values, no duplicates
    /// (VUID-VkPipelineDynamicStateCreateInfo-pDynamicStates-01442), not both a state and its
    /// `WITH_COUNT` form (VUID-VkGraphicsPipelineCreateInfo-pDynamicStates-04132/04133).
    pub(crate) fn from_vk(raw: &[u32]) -> Result<DynamicMask, ExecError> {
        let mut mask = DynamicMask(0);
        for &r in raw {
            let kind = DynamicKind::from_vk(r)?;
            if mask.has(kind) {
                return Err(invalid(format!("dynamic state {kind:?} listed twice")));
            }
            mask.0 |= 1 << kind as u8;
        }
        let both = |a, b| mask.has(a) && mask.has(b);
        if both(DynamicKind::Viewport, DynamicKind::ViewportWithCount)
            || both(DynamicKind::Scissor, DynamicKind::ScissorWithCount)
        {
            return Err(invalid(
                "a viewport or scissor state is dynamic both with and without count".into(),
            ));
        }
        Ok(mask)
    }

    pub(crate) fn has(self, kind: DynamicKind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }
}

/// `VkViewport` checked (VUID-VkViewport-width-01770, -height-01773, -minDepth-01234,
/// -maxDepth-01235) and converted.
pub(crate) fn viewport(v: &WireViewport) -> Result<Viewport, ExecError> {
    let finite = [v.x, v.y, v.width, v.height, v.min_depth, v.max_depth]
        .iter()
        .all(|f| f.is_finite());
    let depth_ok = (0.0..=1.0).contains(&v.min_depth) && (0.0..=1.0).contains(&v.max_depth);
    let max = renderer::raster::MAX_EXTENT as f32;
    if !finite
        || v.width <= 0.0
        || v.height == 0.0
        || !depth_ok
        || v.width > max
        || v.height.abs() > max
    {
        return Err(invalid(format!("invalid viewport {v:?}")));
    }
    Ok(Viewport {
        x: v.x,
        y: v.y,
        width: v.width,
        height: v.height,
        min_depth: v.min_depth,
        max_depth: v.max_depth,
    })
}

/// `VkRect2D` as a scissor (VUID-VkPipelineViewportStateCreateInfo-x-02821: offsets not
/// negative; -offset-02822: no overflow).
pub(crate) fn scissor(r: &Rect2D) -> Result<Rect, ExecError> {
    let [x, y] = r.offset;
    let [w, h] = r.extent;
    let fits = |o: i32, e: u32| o >= 0 && i64::from(o) + i64::from(e) <= i64::from(i32::MAX);
    if !fits(x, w) || !fits(y, h) {
        return Err(invalid(format!("invalid scissor {r:?}")));
    }
    Ok(Rect {
        x,
        y,
        width: w,
        height: h,
    })
}

/// Everything of a graphics pipeline's fixed-function state that may be dynamic, as the
/// pipeline fixed it (values of states it declared dynamic are placeholders, never used).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FixedState {
    pub(crate) vertex_bindings: Vec<VertexBinding>,
    pub(crate) vertex_input: VertexInputState,
    pub(crate) topology: Topology,
    pub(crate) primitive_restart: bool,
    pub(crate) viewport: Viewport,
    pub(crate) scissor: Rect,
    pub(crate) rasterization: RasterizationState,
    pub(crate) depth_bias_enable: bool,
    pub(crate) depth_bias: DepthBias,
    pub(crate) depth_test: bool,
    pub(crate) depth_write: bool,
    pub(crate) depth_compare: CompareOp,
    pub(crate) depth_bounds_test: bool,
    pub(crate) depth_bounds: (f32, f32),
    pub(crate) stencil_test: bool,
    /// Front, back.
    pub(crate) stencil: [StencilFace; 2],
    pub(crate) blend_constants: [f32; 4],
}

/// The vkCmdSet* values a command buffer recorded (none survive into another command buffer).
#[derive(Clone, Debug, Default)]
pub(crate) struct DynamicValues {
    viewport: Option<Viewport>,
    scissor: Option<Rect>,
    line_width: Option<f32>,
    depth_bias: Option<DepthBias>,
    blend_constants: Option<[f32; 4]>,
    depth_bounds: Option<(f32, f32)>,
    compare_mask: [Option<u32>; 2],
    write_mask: [Option<u32>; 2],
    reference: [Option<u32>; 2],
    cull_mode: Option<CullMode>,
    front_face: Option<FrontFace>,
    topology: Option<Topology>,
    depth_test: Option<bool>,
    depth_write: Option<bool>,
    depth_compare: Option<CompareOp>,
    depth_bounds_test: Option<bool>,
    stencil_test: Option<bool>,
    /// fail, pass, depth fail, compare; front, back.
    stencil_op: [Option<(StencilOp, StencilOp, StencilOp, CompareOp)>; 2],
    rasterizer_discard: Option<bool>,
    depth_bias_enable: Option<bool>,
    primitive_restart: Option<bool>,
}

/// `VkStencilFaceFlags`: FRONT 1, BACK 2 (VUID-...-faceMask-requiredbitmask: not 0).
fn faces(mask: u32) -> Result<[bool; 2], ExecError> {
    if mask == 0 || mask & !3 != 0 {
        return Err(invalid(format!("invalid stencil face mask {mask:#x}")));
    }
    Ok([mask & 1 != 0, mask & 2 != 0])
}

fn set_faces<T: Copy>(slots: &mut [Option<T>; 2], mask: u32, value: T) -> Result<(), ExecError> {
    for (slot, on) in slots.iter_mut().zip(faces(mask)?) {
        if on {
            *slot = Some(value);
        }
    }
    Ok(())
}

fn one_of<T>(what: &str, first: u32, items: &[T]) -> Result<usize, ExecError> {
    // multiViewport is not offered: only index 0 exists (VUID-vkCmdSetViewport-firstViewport-
    // 01224, -viewportCount-01225; VUID-vkCmdSetViewportWithCount-viewportCount-03395).
    if first != 0 || items.len() != 1 {
        return Err(invalid(format!(
            "{what}: {} from {first}; only one (index 0) exists",
            items.len()
        )));
    }
    Ok(0)
}

impl DynamicValues {
    /// Records one vkCmdSet*; the values are checked here, whatever pipeline is bound.
    pub(crate) fn set(&mut self, state: &DynamicState) -> Result<(), ExecError> {
        let op = |raw| StencilOp::from_vk(raw).map_err(|e| invalid(e.to_string()));
        let cmp = |raw| CompareOp::from_vk(raw).map_err(|e| invalid(e.to_string()));
        let draw_err = |e: renderer::DrawError| invalid(e.to_string());
        match state {
            DynamicState::Viewport { first, viewports } => {
                let i = one_of("viewports", *first, viewports)?;
                self.viewport = Some(viewport(&viewports[i])?);
            }
            DynamicState::ViewportWithCount(viewports) => {
                let i = one_of("viewports", 0, viewports)?;
                self.viewport = Some(viewport(&viewports[i])?);
            }
            DynamicState::Scissor { first, scissors } => {
                let i = one_of("scissors", *first, scissors)?;
                self.scissor = Some(scissor(&scissors[i])?);
            }
            DynamicState::ScissorWithCount(scissors) => {
                let i = one_of("scissors", 0, scissors)?;
                self.scissor = Some(scissor(&scissors[i])?);
            }
            DynamicState::LineWidth(w) => {
                if !w.is_finite() || *w <= 0.0 {
                    return Err(invalid(format!("line width {w}")));
                }
                self.line_width = Some(*w);
            }
            DynamicState::DepthBias {
                constant,
                clamp,
                slope,
            } => {
                if !(constant.is_finite() && clamp.is_finite() && slope.is_finite()) {
                    return Err(invalid("non-finite depth bias".into()));
                }
                self.depth_bias = Some(DepthBias {
                    constant: *constant,
                    slope: *slope,
                    clamp: *clamp,
                });
            }
            DynamicState::BlendConstants(c) => {
                if !c.iter().all(|v| v.is_finite()) {
                    return Err(invalid("non-finite blend constants".into()));
                }
                self.blend_constants = Some(*c);
            }
            DynamicState::DepthBounds { min, max } => {
                // VUID-vkCmdSetDepthBounds-minDepthBounds-00600 / -maxDepthBounds-00601.
                if !(0.0..=1.0).contains(min) || !(0.0..=1.0).contains(max) {
                    return Err(invalid(format!("depth bounds {min}..{max} outside [0, 1]")));
                }
                self.depth_bounds = Some((*min, *max));
            }
            DynamicState::StencilCompareMask { faces, mask } => {
                set_faces(&mut self.compare_mask, *faces, *mask)?
            }
            DynamicState::StencilWriteMask { faces, mask } => {
                set_faces(&mut self.write_mask, *faces, *mask)?
            }
            DynamicState::StencilReference { faces, reference } => {
                set_faces(&mut self.reference, *faces, *reference)?
            }
            DynamicState::CullMode(m) => {
                self.cull_mode = Some(cull_mode_from_vk(*m).map_err(draw_err)?)
            }
            DynamicState::FrontFace(f) => {
                self.front_face = Some(front_face_from_vk(*f).map_err(draw_err)?)
            }
            DynamicState::PrimitiveTopology(t) => {
                self.topology = Some(Topology::from_vk(*t).map_err(draw_err)?)
            }
            DynamicState::DepthTestEnable(b) => self.depth_test = Some(*b),
            DynamicState::DepthWriteEnable(b) => self.depth_write = Some(*b),
            DynamicState::DepthCompareOp(c) => self.depth_compare = Some(cmp(*c)?),
            DynamicState::DepthBoundsTestEnable(b) => self.depth_bounds_test = Some(*b),
            DynamicState::StencilTestEnable(b) => self.stencil_test = Some(*b),
            DynamicState::StencilOp {
                faces,
                fail_op,
                pass_op,
                depth_fail_op,
                compare_op,
            } => {
                let ops = (
                    op(*fail_op)?,
                    op(*pass_op)?,
                    op(*depth_fail_op)?,
                    cmp(*compare_op)?,
                );
                set_faces(&mut self.stencil_op, *faces, ops)?
            }
            DynamicState::RasterizerDiscardEnable(b) => self.rasterizer_discard = Some(*b),
            DynamicState::DepthBiasEnable(b) => self.depth_bias_enable = Some(*b),
            DynamicState::PrimitiveRestartEnable(b) => self.primitive_restart = Some(*b),
        }
        Ok(())
    }
}

/// Picks the dynamic value where `kind` is dynamic, the fixed one otherwise.
struct Resolver {
    mask: DynamicMask,
}

impl Resolver {
    fn pick<T: Copy>(&self, kind: DynamicKind, value: Option<T>, fixed: T) -> Result<T, ExecError> {
        if self.mask.has(kind) {
            value.ok_or_else(|| invalid(format!("dynamic state {kind:?} was not set")))
        } else {
            Ok(fixed)
        }
    }
}

/// Topology classes (VUID-vkCmdSetPrimitiveTopology-primitiveTopology-03... : a dynamic
/// topology must be of the pipeline's class unless dynamicPrimitiveTopologyUnrestricted).
fn topology_class(t: Topology) -> u8 {
    match t {
        Topology::PointList => 0,
        Topology::LineList | Topology::LineStrip => 1,
        _ => 2,
    }
}

/// The draw's state: `fixed` overridden by `values` where `mask` says dynamic. `strides`
/// are the vertex-buffer strides vkCmdBindVertexBuffers2 gave, by binding number.
pub(crate) fn resolve(
    fixed: &FixedState,
    mask: DynamicMask,
    values: &DynamicValues,
    strides: &[Option<u64>],
) -> Result<GraphicsState, ExecError> {
    use DynamicKind as K;
    let r = Resolver { mask };
    let viewport_kind = if mask.has(K::ViewportWithCount) {
        K::ViewportWithCount
    } else {
        K::Viewport
    };
    let scissor_kind = if mask.has(K::ScissorWithCount) {
        K::ScissorWithCount
    } else {
        K::Scissor
    };
    let topology = r.pick(K::PrimitiveTopology, values.topology, fixed.topology)?;
    if topology_class(topology) != topology_class(fixed.topology) {
        return Err(invalid(format!(
            "dynamic topology {topology:?} is not of the pipeline's class ({:?})",
            fixed.topology
        )));
    }
    let vertex_input = if mask.has(K::VertexInputBindingStride) {
        let mut bindings = fixed.vertex_bindings.clone();
        for b in &mut bindings {
            let stride = strides
                .get(b.binding as usize)
                .copied()
                .flatten()
                .ok_or_else(|| {
                    invalid(format!(
                        "vertex binding {} has no dynamic stride",
                        b.binding
                    ))
                })?;
            b.stride = u32::try_from(stride)
                .map_err(|_| invalid(format!("vertex stride {stride} is too large")))?;
        }
        let attributes = fixed.vertex_input.attributes().to_vec();
        VertexInputState::new(bindings, attributes).map_err(|e| invalid(e.to_string()))?
    } else {
        fixed.vertex_input.clone()
    };
    let f = &fixed.rasterization;
    let bias_on = r.pick(
        K::DepthBiasEnable,
        values.depth_bias_enable,
        fixed.depth_bias_enable,
    )?;
    let bias = if bias_on {
        Some(r.pick(K::DepthBias, values.depth_bias, fixed.depth_bias)?)
    } else {
        None
    };
    let rasterization = RasterizationState {
        polygon_mode: f.polygon_mode,
        cull_mode: r.pick(K::CullMode, values.cull_mode, f.cull_mode)?,
        front_face: r.pick(K::FrontFace, values.front_face, f.front_face)?,
        depth_clamp: f.depth_clamp,
        depth_bias: bias,
        line_width: r.pick(K::LineWidth, values.line_width, f.line_width)?,
        rasterizer_discard: r.pick(
            K::RasterizerDiscardEnable,
            values.rasterizer_discard,
            f.rasterizer_discard,
        )?,
    };
    let bounds_on = r.pick(
        K::DepthBoundsTestEnable,
        values.depth_bounds_test,
        fixed.depth_bounds_test,
    )?;
    let depth = DepthState {
        test_enable: r.pick(K::DepthTestEnable, values.depth_test, fixed.depth_test)?,
        write_enable: r.pick(K::DepthWriteEnable, values.depth_write, fixed.depth_write)?,
        compare_op: r.pick(K::DepthCompareOp, values.depth_compare, fixed.depth_compare)?,
        bounds: if bounds_on {
            Some(r.pick(K::DepthBounds, values.depth_bounds, fixed.depth_bounds)?)
        } else {
            None
        },
    };
    let stencil = if r.pick(
        K::StencilTestEnable,
        values.stencil_test,
        fixed.stencil_test,
    )? {
        let mut out = fixed.stencil;
        for (i, face) in out.iter_mut().enumerate() {
            if mask.has(K::StencilOp) {
                let (fail, pass, depth_fail, compare) = values.stencil_op[i]
                    .ok_or_else(|| invalid("dynamic state StencilOp was not set".into()))?;
                face.fail_op = fail;
                face.pass_op = pass;
                face.depth_fail_op = depth_fail;
                face.compare_op = compare;
            }
            face.compare_mask = r.pick(
                K::StencilCompareMask,
                values.compare_mask[i],
                face.compare_mask,
            )?;
            face.write_mask = r.pick(K::StencilWriteMask, values.write_mask[i], face.write_mask)?;
            face.reference = r.pick(K::StencilReference, values.reference[i], face.reference)?;
        }
        Some(StencilState {
            front: out[0],
            back: out[1],
        })
    } else {
        None
    };
    Ok(GraphicsState {
        vertex_input,
        input_assembly: InputAssembly {
            topology,
            primitive_restart: r.pick(
                K::PrimitiveRestartEnable,
                values.primitive_restart,
                fixed.primitive_restart,
            )?,
        },
        viewport: r.pick(viewport_kind, values.viewport, fixed.viewport)?,
        scissor: r.pick(scissor_kind, values.scissor, fixed.scissor)?,
        rasterization,
        depth,
        stencil,
        blend_constants: r.pick(
            K::BlendConstants,
            values.blend_constants,
            fixed.blend_constants,
        )?,
        // Refused at pipeline creation (the logicOp feature is not offered).
        logic_op: None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use renderer::draw::state::RasterizationState as Raster;

    fn fixed() -> FixedState {
        FixedState {
            vertex_bindings: vec![VertexBinding {
                binding: 0,
                stride: 16,
                rate: renderer::draw::InputRate::Vertex,
            }],
            vertex_input: VertexInputState::new(
                vec![VertexBinding {
                    binding: 0,
                    stride: 16,
                    rate: renderer::draw::InputRate::Vertex,
                }],
                vec![],
            )
            .unwrap(),
            topology: Topology::TriangleList,
            primitive_restart: false,
            viewport: Viewport {
                x: 0.0,
                y: 0.0,
                width: 8.0,
                height: 8.0,
                min_depth: 0.0,
                max_depth: 1.0,
            },
            scissor: Rect {
                x: 0,
                y: 0,
                width: 8,
                height: 8,
            },
            rasterization: Raster::DEFAULT,
            depth_bias_enable: false,
            depth_bias: DepthBias {
                constant: 0.0,
                slope: 0.0,
                clamp: 0.0,
            },
            depth_test: true,
            depth_write: true,
            depth_compare: CompareOp::Less,
            depth_bounds_test: false,
            depth_bounds: (0.0, 1.0),
            stencil_test: true,
            stencil: [StencilFace::KEEP_ALWAYS; 2],
            blend_constants: [0.0; 4],
        }
    }

    fn set(values: &mut DynamicValues, state: DynamicState) {
        values.set(&state).unwrap();
    }

    #[test]
    fn only_states_the_pipeline_declared_dynamic_take_the_recorded_values() {
        let mut values = DynamicValues::default();
        set(&mut values, DynamicState::DepthCompareOp(7));
        set(&mut values, DynamicState::CullMode(2));
        set(
            &mut values,
            DynamicState::StencilReference {
                faces: 3,
                reference: 5,
            },
        );
        let none = DynamicMask::from_vk(&[]).unwrap();
        let s = resolve(&fixed(), none, &values, &[]).unwrap();
        assert_eq!(s.depth.compare_op, CompareOp::Less);
        assert_eq!(s.rasterization.cull_mode, CullMode::None);
        assert_eq!(s.stencil.unwrap().back.reference, 0);
        let mask = DynamicMask::from_vk(&[1_000_267_008, 1_000_267_000]).unwrap();
        let s = resolve(&fixed(), mask, &values, &[]).unwrap();
        assert_eq!(s.depth.compare_op, CompareOp::Always);
        assert_eq!(s.rasterization.cull_mode, CullMode::Back);
        // Not declared dynamic: the pipeline's reference stays.
        assert_eq!(s.stencil.unwrap().back.reference, 0);
        let mask = DynamicMask::from_vk(&[8]).unwrap();
        assert_eq!(
            resolve(&fixed(), mask, &values, &[])
                .unwrap()
                .stencil
                .unwrap()
                .back
                .reference,
            5
        );
    }

    #[test]
    fn a_dynamic_state_never_set_fails_the_draw() {
        let mask = DynamicMask::from_vk(&[0]).unwrap();
        let e = resolve(&fixed(), mask, &DynamicValues::default(), &[]).unwrap_err();
        assert!(e.to_string().contains("Viewport"), "{e}");
        // A per-face state set for one face only is not set for the other.
        let mut values = DynamicValues::default();
        set(
            &mut values,
            DynamicState::StencilWriteMask { faces: 1, mask: 3 },
        );
        let mask = DynamicMask::from_vk(&[7]).unwrap();
        assert!(resolve(&fixed(), mask, &values, &[]).is_err());
        set(
            &mut values,
            DynamicState::StencilWriteMask { faces: 3, mask: 3 },
        );
        assert!(resolve(&fixed(), mask, &values, &[]).is_ok());
    }

    #[test]
    fn topology_class_strides_and_declarations_are_checked() {
        let mask = DynamicMask::from_vk(&[1_000_267_002, 1_000_267_005]).unwrap();
        let mut values = DynamicValues::default();
        set(&mut values, DynamicState::PrimitiveTopology(4));
        let s = resolve(&fixed(), mask, &values, &[Some(32)]).unwrap();
        assert_eq!(s.input_assembly.topology, Topology::TriangleStrip);
        assert_eq!(s.vertex_input.bindings()[0].stride, 32);
        assert!(resolve(&fixed(), mask, &values, &[None]).is_err());
        set(&mut values, DynamicState::PrimitiveTopology(1));
        assert!(resolve(&fixed(), mask, &values, &[Some(32)]).is_err());
        assert!(DynamicMask::from_vk(&[0, 0]).is_err());
        assert!(DynamicMask::from_vk(&[0, 1_000_267_003]).is_err());
        assert!(DynamicMask::from_vk(&[1_000_099_000]).is_err());
    }

    #[test]
    fn recorded_values_are_validated_when_set() {
        let mut values = DynamicValues::default();
        let bad = [
            DynamicState::LineWidth(f32::NAN),
            DynamicState::Viewport {
                first: 0,
                viewports: vec![],
            },
            DynamicState::ScissorWithCount(vec![Rect2D {
                offset: [-1, 0],
                extent: [1, 1],
            }]),
            DynamicState::DepthCompareOp(8),
            DynamicState::CullMode(4),
            DynamicState::PrimitiveTopology(10),
            DynamicState::StencilCompareMask { faces: 4, mask: 0 },
            DynamicState::BlendConstants([f32::INFINITY, 0.0, 0.0, 0.0]),
            DynamicState::ViewportWithCount(vec![WireViewport {
                x: 0.0,
                y: 0.0,
                width: 0.0,
                height: 1.0,
                min_depth: 0.0,
                max_depth: 1.0,
            }]),
        ];
        for state in bad {
            assert!(values.set(&state).is_err(), "{state:?}");
        }
    }
}
