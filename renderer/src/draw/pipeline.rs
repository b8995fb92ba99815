//! Graphics pipelines: a vertex stage, an optional fragment stage (depth-only passes have
//! none), and the interface between them, checked once at creation and turned into the
//! tables a draw uses (which vertex output feeds which fragment input, how it is
//! interpolated, which fragment output goes to which colour attachment).

use std::sync::Arc;

use jit_host_client::JitHost;
use shader::front::SpecializationInfo;
use shader::ir::{
    BufferBinding, FragmentModes, ImageBinding, ImageKind, InputSlot,
    Interpolation as IrInterpolation, Module, OutputTarget, SamplerBinding, ScalarType, Stage,
};

use crate::error::RendererError;
use crate::output::MAX_COLOR_ATTACHMENTS;
use crate::pipeline::{compile_cached, KernelCache};
use crate::raster::{Interpolation, MAX_COMPONENTS};

use super::stage::{FragmentStage, JitFragmentStage, JitVertexStage, VertexStage};
use super::DrawError;

/// What a draw needs to know about a stage's module: its interface slots (in the kernel's
/// slot order), its buffers and, for fragment stages, its execution modes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StageInterface {
    pub inputs: Vec<InputSlot>,
    /// Output targets with their types, in slot order.
    pub outputs: Vec<(OutputTarget, ScalarType)>,
    pub buffers: Vec<BufferBinding>,
    /// Image slots (`Module::images`) and separate-sampler slots (`Module::samplers`).
    pub images: Vec<ImageBinding>,
    pub samplers: Vec<SamplerBinding>,
    pub fragment: FragmentModes,
    /// Bytes of push constants the stage reads (`Module::push_constant_size`).
    pub push_constant_size: u32,
}

impl StageInterface {
    pub fn of_module(module: &Module) -> StageInterface {
        StageInterface {
            inputs: module.inputs.clone(),
            outputs: module.outputs.iter().map(|o| (o.target, o.ty)).collect(),
            buffers: module.buffers.clone(),
            images: module.images.clone(),
            samplers: module.samplers.clone(),
            fragment: module.fragment,
            push_constant_size: module.push_constant_size,
        }
    }

    /// Float inputs at `locations` (components 0..=3 each) and outputs as given: a
    /// convenience for tests and closure stages.
    pub fn with_float_inputs(locations: &[u32], outputs: &[OutputTarget]) -> StageInterface {
        let inputs = locations
            .iter()
            .flat_map(|&location| {
                (0..4).map(move |component| InputSlot {
                    location,
                    component,
                    ty: ScalarType::F32,
                    interp: IrInterpolation::Smooth,
                })
            })
            .collect();
        StageInterface {
            inputs,
            outputs: outputs.iter().map(|&t| (t, ScalarType::F32)).collect(),
            ..StageInterface::default()
        }
    }
}

/// Where one fragment colour output word goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ColorOutput {
    pub slot: usize,
    pub location: usize,
    pub component: usize,
}

/// A vertex + fragment pipeline, ready to draw with.
#[derive(Clone)]
pub struct GraphicsPipeline {
    pub(crate) vertex: Arc<dyn VertexStage>,
    pub(crate) vertex_interface: StageInterface,
    pub(crate) fragment: Option<(Arc<dyn FragmentStage>, StageInterface)>,
    /// Vertex output slot of `Position` x, y, z, w.
    pub(crate) position_slots: [Option<usize>; 4],
    pub(crate) point_size_slot: Option<usize>,
    /// Per fragment input slot: the vertex output slot feeding it (`None` reads 0).
    pub(crate) varyings: Vec<Option<usize>>,
    pub(crate) interpolation: Vec<Interpolation>,
    pub(crate) color_outputs: Vec<ColorOutput>,
    /// Colour attachment locations the fragment stage writes (bit n: location n).
    pub(crate) color_locations: u32,
    pub(crate) frag_depth_slot: Option<usize>,
    /// Depth/stencil tests may run before the fragment stage.
    pub(crate) early_fragment_tests: bool,
    ir_bytes: usize,
}

impl std::fmt::Debug for GraphicsPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphicsPipeline")
            .field("vertex_interface", &self.vertex_interface)
            .field("fragment", &self.fragment.as_ref().map(|f| &f.1))
            .field("early_fragment_tests", &self.early_fragment_tests)
            .finish_non_exhaustive()
    }
}

/// One shader stage of `vkCreateGraphicsPipelines`.
#[derive(Clone, Copy, Debug)]
pub struct ShaderStageSource<'a> {
    pub spirv: &'a [u8],
    pub entry: &'a str,
    pub spec: &'a SpecializationInfo,
}

impl GraphicsPipeline {
    /// A pipeline from stage implementations and their interfaces (closure stages in tests;
    /// the JIT path goes through [`create_graphics_pipeline`]).
    pub fn from_stages(
        vertex: Arc<dyn VertexStage>,
        vertex_interface: StageInterface,
        fragment: Option<(Arc<dyn FragmentStage>, StageInterface)>,
    ) -> Result<GraphicsPipeline, DrawError> {
        Self::link(vertex, vertex_interface, fragment, 0)
    }

    fn link(
        vertex: Arc<dyn VertexStage>,
        vertex_interface: StageInterface,
        fragment: Option<(Arc<dyn FragmentStage>, StageInterface)>,
        ir_bytes: usize,
    ) -> Result<GraphicsPipeline, DrawError> {
        let mut position_slots = [None; 4];
        let mut point_size_slot = None;
        for (slot, (target, _)) in vertex_interface.outputs.iter().enumerate() {
            match *target {
                OutputTarget::Position(c) if c < 4 => position_slots[usize::from(c)] = Some(slot),
                OutputTarget::PointSize => point_size_slot = Some(slot),
                _ => {}
            }
        }
        let mut varyings = Vec::new();
        let mut interpolation = Vec::new();
        let mut color_outputs = Vec::new();
        let mut color_locations = 0u32;
        let mut frag_depth_slot = None;
        let mut early_fragment_tests = true;
        if let Some((_, fs)) = &fragment {
            if fs.inputs.len() > MAX_COMPONENTS {
                return Err(DrawError::TooManyVaryings(fs.inputs.len()));
            }
            for input in &fs.inputs {
                let source = vertex_interface.outputs.iter().position(|(t, _)| {
                    *t == OutputTarget::Location {
                        location: input.location,
                        component: input.component,
                    }
                });
                if let Some(slot) = source {
                    let output = vertex_interface.outputs[slot].1;
                    if output != input.ty {
                        return Err(DrawError::InterfaceTypeMismatch {
                            location: input.location,
                            component: input.component,
                            output,
                            input: input.ty,
                        });
                    }
                }
                varyings.push(source);
                // Integer inputs are always flat (Vulkan requires the decoration; their bits
                // must not be interpolated as floats).
                interpolation.push(match (input.ty, input.interp) {
                    (ScalarType::I32, _) | (_, IrInterpolation::Flat) => Interpolation::Flat,
                    (_, IrInterpolation::NoPerspective) => Interpolation::NoPerspective,
                    (_, IrInterpolation::Smooth) => Interpolation::Smooth,
                });
            }
            for (slot, (target, _)) in fs.outputs.iter().enumerate() {
                match *target {
                    OutputTarget::Location {
                        location,
                        component,
                    } => {
                        if location as usize >= MAX_COLOR_ATTACHMENTS || component > 3 {
                            return Err(DrawError::FragmentOutputLocation(location));
                        }
                        color_locations |= 1 << location;
                        color_outputs.push(ColorOutput {
                            slot,
                            location: location as usize,
                            component: usize::from(component),
                        });
                    }
                    OutputTarget::FragDepth => frag_depth_slot = Some(slot),
                    OutputTarget::Position(_) | OutputTarget::PointSize => {}
                }
            }
            let modes = fs.fragment;
            // Storage images and texel buffers may be written (or used by atomics).
            let side_effects = fs.buffers.iter().any(|b| !b.read_only)
                || fs
                    .images
                    .iter()
                    .any(|i| matches!(i.kind, ImageKind::Storage | ImageKind::StorageTexelBuffer));
            early_fragment_tests = modes.early_fragment_tests
                || !(modes.discards
                    || modes.depth_replacing
                    || frag_depth_slot.is_some()
                    || side_effects);
        }
        Ok(GraphicsPipeline {
            vertex,
            vertex_interface,
            fragment,
            position_slots,
            point_size_slot,
            varyings,
            interpolation,
            color_outputs,
            color_locations,
            frag_depth_slot,
            early_fragment_tests,
            ir_bytes,
        })
    }

    pub fn vertex_interface(&self) -> &StageInterface {
        &self.vertex_interface
    }

    pub fn fragment_interface(&self) -> Option<&StageInterface> {
        self.fragment.as_ref().map(|f| &f.1)
    }

    /// Whether depth/stencil tests run before the fragment stage.
    pub fn early_fragment_tests(&self) -> bool {
        self.early_fragment_tests
    }

    /// Host memory this pipeline holds (its IR, kept as kernel-cache keys, and its tables).
    pub fn host_bytes(&self) -> u64 {
        let tables = (self.varyings.len() + self.interpolation.len() + self.color_outputs.len())
            * std::mem::size_of::<usize>();
        (self.ir_bytes as u64).saturating_add(tables as u64)
    }
}

fn lower_stage(source: &ShaderStageSource<'_>, stage: Stage) -> Result<Module, RendererError> {
    let module = shader::front::lower(source.spirv, stage, source.entry, source.spec)?;
    if module.stage != stage {
        return Err(DrawError::WrongStage {
            stage: stage_name(stage),
            found: module.stage,
        }
        .into());
    }
    Ok(module)
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Compute => "compute",
        Stage::Vertex => "vertex",
        Stage::Fragment => "fragment",
    }
}

/// vkCreateGraphicsPipelines: lowers and compiles both stages (reusing cached kernels) and
/// links their interface. A missing vertex stage is an error; a missing fragment stage makes
/// a depth-only pipeline.
pub(crate) fn create_graphics_pipeline(
    jit: &Arc<JitHost>,
    cache: &KernelCache,
    vertex: Option<&ShaderStageSource<'_>>,
    fragment: Option<&ShaderStageSource<'_>>,
) -> Result<GraphicsPipeline, RendererError> {
    let vertex = vertex.ok_or(DrawError::MissingStage("vertex"))?;
    let vs_module = lower_stage(vertex, Stage::Vertex)?;
    let fs_module = fragment
        .map(|f| lower_stage(f, Stage::Fragment))
        .transpose()?;
    let (vs_kernel, vs_bytes) = compile_cached(jit, cache, &vs_module)?;
    let vs = JitVertexStage::new(vs_kernel, &vs_module)?;
    let mut ir_bytes = vs_bytes;
    let fragment = match &fs_module {
        None => None,
        Some(module) => {
            let (kernel, bytes) = compile_cached(jit, cache, module)?;
            ir_bytes = ir_bytes.saturating_add(bytes);
            let fs = JitFragmentStage::new(kernel, module)?;
            Some((
                Arc::new(fs) as Arc<dyn FragmentStage>,
                StageInterface::of_module(module),
            ))
        }
    };
    Ok(GraphicsPipeline::link(
        Arc::new(vs),
        StageInterface::of_module(&vs_module),
        fragment,
        ir_bytes,
    )?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::draw::stage::{ClosureFragmentStage, ClosureVertexStage, FragmentIo};

    fn vertex_stage() -> Arc<dyn VertexStage> {
        Arc::new(ClosureVertexStage(|_: &[u32], _, _, _: &mut [u32]| {}))
    }

    fn fragment_stage() -> Arc<dyn FragmentStage> {
        Arc::new(ClosureFragmentStage(|io: &mut FragmentIo<'_>| io.live))
    }

    fn location(location: u32, component: u8) -> OutputTarget {
        OutputTarget::Location {
            location,
            component,
        }
    }

    #[test]
    fn varyings_are_matched_by_location_and_component_and_missing_ones_read_zero() {
        let vs = StageInterface::with_float_inputs(
            &[],
            &[
                OutputTarget::Position(0),
                location(2, 1),
                OutputTarget::Position(3),
                location(1, 0),
            ],
        );
        let mut fs = StageInterface::with_float_inputs(&[1], &[location(0, 0)]);
        fs.inputs[3].interp = IrInterpolation::Flat;
        let p = GraphicsPipeline::from_stages(vertex_stage(), vs, Some((fragment_stage(), fs)))
            .unwrap();
        assert_eq!(p.position_slots, [Some(0), None, None, Some(2)]);
        assert_eq!(p.varyings, vec![Some(3), None, None, None]);
        assert_eq!(p.interpolation[0], Interpolation::Smooth);
        assert_eq!(p.interpolation[3], Interpolation::Flat);
        assert!(p.early_fragment_tests);
    }

    #[test]
    fn mismatched_types_and_bad_output_locations_are_refused() {
        let mut vs = StageInterface::with_float_inputs(&[], &[location(0, 0)]);
        vs.outputs[0].1 = ScalarType::I32;
        let fs = StageInterface::with_float_inputs(&[0], &[]);
        assert!(matches!(
            GraphicsPipeline::from_stages(vertex_stage(), vs, Some((fragment_stage(), fs))),
            Err(DrawError::InterfaceTypeMismatch { location: 0, .. })
        ));
        let fs = StageInterface::with_float_inputs(&[], &[location(8, 0)]);
        assert!(matches!(
            GraphicsPipeline::from_stages(
                vertex_stage(),
                StageInterface::default(),
                Some((fragment_stage(), fs))
            ),
            Err(DrawError::FragmentOutputLocation(8))
        ));
    }

    #[test]
    fn frag_depth_writers_and_discarding_shaders_test_late() {
        let mut fs = StageInterface::with_float_inputs(&[], &[OutputTarget::FragDepth]);
        let p = GraphicsPipeline::from_stages(
            vertex_stage(),
            StageInterface::default(),
            Some((fragment_stage(), fs.clone())),
        )
        .unwrap();
        assert!(!p.early_fragment_tests);
        assert_eq!(p.frag_depth_slot, Some(0));
        fs.outputs.clear();
        fs.fragment.discards = true;
        let p = GraphicsPipeline::from_stages(
            vertex_stage(),
            StageInterface::default(),
            Some((fragment_stage(), fs.clone())),
        )
        .unwrap();
        assert!(!p.early_fragment_tests);
        fs.fragment.early_fragment_tests = true;
        let p = GraphicsPipeline::from_stages(
            vertex_stage(),
            StageInterface::default(),
            Some((fragment_stage(), fs)),
        )
        .unwrap();
        assert!(p.early_fragment_tests);
    }
}
