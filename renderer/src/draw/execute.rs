//! Executing one draw: elements → vertex fetch → vertex stage → primitive assembly →
//! rasterizer → fragment stage → output merger, in windows of at most
//! [`MAX_WINDOW_VERTICES`] shaded vertices (so memory never scales with the draw's counts).
//!
//! Order: windows are rasterized one after the other and, within one, the rasterizer keeps
//! primitive order per tile, so primitives reach the attachments in API order (Vulkan §28.1
//! "Primitive Order"). Instances run in order; each restarts assembly.

use crate::descriptor::DescriptorSource;
use crate::error::RendererError;
use crate::output::{
    ColorAttachment, DepthStencilAttachment, OutputSink, OutputState, OutputStats,
    MAX_COLOR_ATTACHMENTS,
};
use crate::pool::Workers;
use crate::raster::{
    bin_window, DepthResolution, FragmentSink, PostTransform, Primitives, RasterError, RasterState,
    RasterStats, Rect, VertexStream, MAX_EXTENT,
};

use super::assembly::{Assembler, OutputLayout, PrimitiveLists, VertexStore};
use super::deferred::PassBatch;
use super::fetch::FetchPlan;
pub use super::fetch::VertexBufferBinding;
use super::fragment::FragmentGlue;
use super::pipeline::GraphicsPipeline;
use super::stage::StageResources;
use super::state::{GraphicsState, Topology};
pub use super::stream::{IndexBufferBinding, IndexType};
use super::vertices::{StepVertices, VertexShading};
use super::{DrawError, MAX_WINDOW_VERTICES};

/// Elements read and shaded per step: a window's worth beside the at most two vertices an
/// assembler carries into the next window ([`Assembler::carry`]), so that each window is
/// shaded in one parallel step (one hand-out to the workers, not two).
const STEP_ELEMENTS: usize = MAX_WINDOW_VERTICES - 2;

/// The parameters of vkCmdDraw / vkCmdDrawIndexed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrawCall {
    Direct {
        vertex_count: u32,
        instance_count: u32,
        first_vertex: u32,
        first_instance: u32,
    },
    Indexed {
        index_count: u32,
        instance_count: u32,
        first_index: u32,
        vertex_offset: i32,
        first_instance: u32,
    },
}

impl DrawCall {
    fn counts(&self) -> (u32, u32, u32) {
        match *self {
            DrawCall::Direct {
                vertex_count,
                instance_count,
                first_instance,
                ..
            } => (vertex_count, instance_count, first_instance),
            DrawCall::Indexed {
                index_count,
                instance_count,
                first_instance,
                ..
            } => (index_count, instance_count, first_instance),
        }
    }
}

/// The attachments of the current subpass / rendering, by colour location.
#[derive(Clone, Copy, Debug)]
pub struct RenderTargets<'a> {
    pub render_area: Rect,
    /// Location `n`'s attachment; `None` is `VK_ATTACHMENT_UNUSED`.
    pub colors: &'a [Option<ColorAttachment>],
    pub depth_stencil: Option<&'a DepthStencilAttachment>,
    /// Multiview (`VkSubpassDescription2::viewMask`, `VkRenderingInfo::viewMask`): a draw
    /// renders once per set bit `v`, ascending, into layer `layer + v` of every attachment,
    /// with `ViewIndex` = `v`. 0: one draw into the attachments' layers, `ViewIndex` 0.
    pub view_mask: u32,
}

/// What the draw reads besides the pipeline and state.
#[derive(Clone, Copy)]
pub struct DrawResources<'a> {
    /// By binding number; `None` is an unbound binding (its attributes read (0, 0, 0, 1)).
    pub vertex_buffers: &'a [Option<VertexBufferBinding>],
    pub index_buffer: Option<&'a IndexBufferBinding>,
    pub descriptors: &'a dyn DescriptorSource,
    pub push_constants: &'a [u8],
}

/// What one draw did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrawStats {
    pub vertices_shaded: u64,
    pub raster: RasterStats,
    pub output: OutputStats,
}

impl std::ops::AddAssign for DrawStats {
    fn add_assign(&mut self, s: DrawStats) {
        self.vertices_shaded += s.vertices_shaded;
        self.raster.triangles += s.raster.triangles;
        self.raster.culled += s.raster.culled;
        self.raster.batches += s.raster.batches;
        self.output.shaded += s.output.shaded;
        self.output.written += s.output.written;
        self.output.sampled += s.output.sampled;
    }
}

fn depth_resolution(targets: &RenderTargets<'_>) -> DepthResolution {
    use crate::format::Format;
    match targets.depth_stencil.map(|d| d.image.format()) {
        Some(Format::D16_UNORM) => DepthResolution::Unorm { bits: 16 },
        Some(Format::D24_UNORM_S8_UINT) => DepthResolution::Unorm { bits: 24 },
        _ => DepthResolution::Float,
    }
}

/// Runs one draw: vertex fetch and shading, setup, binning and tiles spread over `workers`
/// (the calling thread takes part); with a view mask, the whole draw once per view (Vulkan
/// §8.8 "Multiview": views are rendered in ascending order, each into its own layer).
/// The same as [`draw_deferred`] into a fresh [`PassBatch`] and flushing it.
pub fn draw(
    pipeline: &GraphicsPipeline,
    state: &GraphicsState,
    targets: &RenderTargets<'_>,
    resources: &DrawResources<'_>,
    call: &DrawCall,
    workers: Workers<'_>,
) -> Result<DrawStats, RendererError> {
    let mut batch = PassBatch::new();
    let recorded = draw_deferred(
        &mut batch, pipeline, state, targets, resources, call, workers,
    );
    let flushed = batch.flush(workers);
    recorded?;
    flushed
}

/// Records one draw into `batch`: its vertex work (fetch, shading, assembly, setup and
/// binning) runs now, its fragments when the batch is flushed (or fills up). Errors of the
/// vertex work are returned here; errors of the fragment work by [`PassBatch::flush`].
pub fn draw_deferred(
    batch: &mut PassBatch,
    pipeline: &GraphicsPipeline,
    state: &GraphicsState,
    targets: &RenderTargets<'_>,
    resources: &DrawResources<'_>,
    call: &DrawCall,
    workers: Workers<'_>,
) -> Result<(), RendererError> {
    if targets.view_mask == 0 {
        return draw_view(batch, pipeline, state, targets, resources, call, workers, 0);
    }
    for view in (0..32).filter(|v| targets.view_mask & (1 << v) != 0) {
        let layer = |base: u32| {
            base.checked_add(view)
                .ok_or(DrawError::InvalidState("view layer overflows"))
        };
        let colors = targets
            .colors
            .iter()
            .map(|c| {
                c.as_ref()
                    .map(|a| {
                        Ok::<_, DrawError>(ColorAttachment {
                            layer: layer(a.layer)?,
                            ..a.clone()
                        })
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let depth_stencil = targets
            .depth_stencil
            .map(|d| {
                Ok::<_, DrawError>(DepthStencilAttachment {
                    layer: layer(d.layer)?,
                    ..d.clone()
                })
            })
            .transpose()?;
        let view_targets = RenderTargets {
            render_area: targets.render_area,
            colors: &colors,
            depth_stencil: depth_stencil.as_ref(),
            view_mask: 0,
        };
        draw_view(
            batch,
            pipeline,
            state,
            &view_targets,
            resources,
            call,
            workers,
            view,
        )?;
    }
    Ok(())
}

/// One view of a draw: `targets` name the view's layers, `view` is its `ViewIndex`.
#[allow(clippy::too_many_arguments)]
fn draw_view(
    batch: &mut PassBatch,
    pipeline: &GraphicsPipeline,
    state: &GraphicsState,
    targets: &RenderTargets<'_>,
    resources: &DrawResources<'_>,
    call: &DrawCall,
    workers: Workers<'_>,
    view: u32,
) -> Result<(), RendererError> {
    let topology = state.input_assembly.topology;
    if topology.is_line() && state.rasterization.line_width != 1.0 {
        return Err(DrawError::LineWidth(state.rasterization.line_width).into());
    }
    let index_buffer = match call {
        DrawCall::Indexed { .. } => {
            let binding = resources.index_buffer.ok_or(DrawError::InvalidState(
                "indexed draw without an index buffer",
            ))?;
            binding.validate()?;
            Some(binding)
        }
        DrawCall::Direct { .. } => None,
    };
    let (count, instance_count, first_instance) = call.counts();
    if count == 0 || instance_count == 0 {
        return Ok(());
    }

    // Colour attachments the fragment stage writes, renumbered for the sink.
    if targets.colors.len() > MAX_COLOR_ATTACHMENTS {
        return Err(DrawError::TooManyAttachments(targets.colors.len()).into());
    }
    let mut sink_colors = Vec::new();
    let mut remap = [None; MAX_COLOR_ATTACHMENTS];
    if pipeline.fragment.is_some() {
        for (location, attachment) in targets.colors.iter().enumerate() {
            if let Some(a) = attachment {
                if pipeline.color_locations & (1 << location) != 0 {
                    remap[location] = Some(sink_colors.len());
                    sink_colors.push(a.clone());
                }
            }
        }
    }
    let glue = FragmentGlue::new(pipeline, resources, view, &remap, sink_colors.len())?;
    let output_state = OutputState {
        render_area: targets.render_area,
        depth: state.depth,
        stencil: state.stencil,
        blend_constants: state.blend_constants,
        logic_op: state.logic_op,
        early_fragment_tests: pipeline.early_fragment_tests,
    };
    let sink = OutputSink::new(&output_state, &sink_colors, targets.depth_stencil, glue)
        .map_err(DrawError::from)?;
    let ra = targets.render_area;
    let extent = |origin: i32, size: u32| {
        (i64::from(origin.max(0)) + i64::from(size)).clamp(0, i64::from(MAX_EXTENT)) as u32
    };
    let raster_state = RasterState {
        width: extent(ra.x, ra.width),
        height: extent(ra.y, ra.height),
        viewport: state.viewport,
        scissor: state.scissor,
        cull_mode: state.rasterization.cull_mode,
        front_face: state.rasterization.front_face,
        depth_clamp: state.rasterization.depth_clamp,
        depth_bias: state.rasterization.depth_bias,
        depth_resolution: depth_resolution(targets),
        rect_pairs: sink.may_take_rects(),
    };

    let vs_resources = StageResources::resolve(
        &pipeline.vertex_interface.buffers,
        resources.descriptors,
        resources.push_constants,
    )?
    .with_images(
        &pipeline.vertex_interface.images,
        &pipeline.vertex_interface.samplers,
        resources.descriptors,
    )?
    .with_view_index(view);
    let plan = FetchPlan::new(
        &pipeline.vertex_interface.inputs,
        &state.vertex_input,
        resources.vertex_buffers,
    );
    let shading = DrawShading {
        call,
        index_buffer,
        state,
        count,
        instance_count,
        first_instance,
        vs_resources: &vs_resources,
        plan: &plan,
    };
    batch.open_draw(sink, workers)?;
    let mut run = WindowRun {
        pipeline,
        raster_state: &raster_state,
        batch,
        workers,
        discard: state.rasterization.rasterizer_discard,
        topology,
        store: VertexStore::default(),
        spare: VertexStore::default(),
        primitives: PrimitiveLists::default(),
    };
    let result = run.shade_and_bin(&shading);
    // What was binned before a failure stays pending, as an immediate draw's earlier windows
    // stay drawn.
    run.batch.close_draw();
    result
}

/// What the vertex work of one view of a draw reads.
struct DrawShading<'a> {
    call: &'a DrawCall,
    index_buffer: Option<&'a IndexBufferBinding>,
    state: &'a GraphicsState,
    count: u32,
    instance_count: u32,
    first_instance: u32,
    vs_resources: &'a StageResources,
    plan: &'a FetchPlan,
}

/// The current window of shaded vertices and its primitives.
struct WindowRun<'a> {
    pipeline: &'a GraphicsPipeline,
    raster_state: &'a RasterState,
    batch: &'a mut PassBatch,
    workers: Workers<'a>,
    discard: bool,
    topology: Topology,
    store: VertexStore,
    spare: VertexStore,
    primitives: PrimitiveLists,
}

impl WindowRun<'_> {
    /// Shades every instance's elements window by window and bins each window's primitives
    /// into the batch's open draw.
    fn shade_and_bin(&mut self, d: &DrawShading<'_>) -> Result<(), RendererError> {
        let pipeline = self.pipeline;
        let workers = self.workers;
        self.store.clear(pipeline.varyings.len());
        let mut step = StepVertices::default();
        let cancel = crate::cancel::current();
        let mut assembler = Assembler::new(self.topology);
        let out_slots = pipeline.vertex_interface.outputs.len();
        let post = PostTransform::new(self.raster_state);
        for instance in 0..d.instance_count {
            assembler.restart();
            let shading = VertexShading {
                stage: pipeline.vertex.as_ref(),
                resources: d.vs_resources,
                plan: d.plan,
                workers,
                input_slots: pipeline.vertex_interface.inputs.len(),
                output_slots: out_slots,
                layout: OutputLayout {
                    position_slots: pipeline.position_slots,
                    varyings: &pipeline.varyings,
                    point_size_slot: pipeline.point_size_slot,
                    post: Some(&post),
                },
                base_instance: d.first_instance,
                instance_index: d.first_instance.wrapping_add(instance),
                instance_element: u64::from(d.first_instance) + u64::from(instance),
            };
            let mut pos = 0u32;
            while pos < d.count {
                if cancel.as_ref().is_some_and(|c| c()) {
                    return Err(RendererError::Cancelled);
                }
                let n = (d.count - pos).min(STEP_ELEMENTS as u32);
                step.read(d.call, d.index_buffer, pos, n, d.state);
                let first_slot = self.store.len() as u32;
                step.shade(&shading, &mut self.store)?;
                self.batch.count_vertices(step.shaded() as u64);
                if step.consecutive {
                    assembler.push_run(first_slot, n, &mut self.primitives);
                } else {
                    for element in &step.elements {
                        match element {
                            None => assembler.restart(),
                            Some(vertex) => {
                                assembler.push(first_slot + vertex, &mut self.primitives)
                            }
                        }
                    }
                }
                if self.store.len() + STEP_ELEMENTS > MAX_WINDOW_VERTICES {
                    self.flush(&mut assembler)?;
                }
                pos += n;
            }
        }
        self.flush(&mut assembler)
    }

    /// Sets up and bins the window's primitives into the batch and starts the next window
    /// with the vertices pending primitives still need.
    fn flush(&mut self, assembler: &mut Assembler) -> Result<(), RendererError> {
        if !self.primitives.is_empty() && !self.discard {
            let stream = VertexStream {
                positions: self.store.positions(),
                attributes: self.store.attributes(),
                interpolation: &self.pipeline.interpolation,
                point_sizes: Some(self.store.point_sizes()),
            };
            let primitives = match self.topology {
                Topology::PointList => Primitives::Points(&self.primitives.points),
                Topology::LineList | Topology::LineStrip => {
                    Primitives::Lines(&self.primitives.lines)
                }
                _ => Primitives::Triangles(&self.primitives.triangles),
            };
            let binned = bin_window(
                self.workers,
                self.raster_state,
                &stream,
                self.store.transformed(),
                primitives,
            )
            .map_err(|e| match e {
                RasterError::Cancelled => RendererError::Cancelled,
                RasterError::WorkerFailed => RendererError::WorkerFailed,
                e => DrawError::from(e).into(),
            })?;
            self.batch.add_window(binned, self.workers)?;
        }
        self.primitives.clear();
        self.spare.clear(self.store.components);
        assembler.carry(&self.store, &mut self.spare);
        std::mem::swap(&mut self.store, &mut self.spare);
        Ok(())
    }
}
