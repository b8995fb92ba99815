//! The programmable stages as the draw sees them: [`VertexStage`] shades groups of vertices,
//! [`FragmentStage`] shades one 4×2 fragment batch or a run of them. Each has a JIT implementation calling a
//! kernel jit-host compiled (`shader::abi` calling convention) and a closure implementation
//! for tests.
//!
//! Interface words are laid out as the ABI says: slot-major groups of
//! [`GRAPHICS_LANES`] words, slot = index into the module's `inputs` / `outputs`.

use std::cell::RefCell;
use std::sync::Arc;

use jit_host_client::CompiledKernel;
use std::mem::MaybeUninit;

use shader::abi::{
    BufferDescriptor, FragmentBatchIo, FragmentContext, VertexContext, GRAPHICS_LANES,
};
use shader::ir::{
    BufferBinding, Builtin, ImageBinding, Op, SamplerBinding, Stmt, MAX_PUSH_CONSTANTS,
};

use crate::buffer::Buffer;
use crate::descriptor::DescriptorSource;
use crate::error::RendererError;
use crate::memory::GrowableBlock;
use crate::raster::FragmentNeeds;
use crate::sampler::ImageTable;

thread_local! {
    /// Scratch of the JIT stages on this thread (the queue thread or a pool worker, for
    /// vertices and fragments alike), grown on demand and reused across calls.
    static SCRATCH: RefCell<GrowableBlock> = RefCell::new(GrowableBlock::default());
}

/// Descriptors and push constants of one stage for one draw. Owns what the kernel's pointers
/// point into, so they stay valid for the whole draw.
pub struct StageResources {
    descriptors: Vec<BufferDescriptor>,
    /// Keeps every bound buffer's memory alive while a kernel may access it.
    _buffers: Vec<Buffer>,
    /// Zero-padded to the largest block a shader may declare.
    push_constants: Box<[u8; MAX_PUSH_CONSTANTS as usize]>,
    push_constants_len: u32,
    /// `ViewIndex` of the view being drawn (0 outside multiview).
    view_index: u32,
    /// The stage's image and sampler slots (empty for a module without any).
    images: ImageTable,
}

impl StageResources {
    /// Resolves a stage's buffer slots against `descriptors` (as dispatches do).
    pub(crate) fn resolve(
        bindings: &[BufferBinding],
        descriptors: &dyn DescriptorSource,
        push_constants: &[u8],
    ) -> Result<StageResources, RendererError> {
        if push_constants.len() > MAX_PUSH_CONSTANTS as usize {
            return Err(RendererError::PushConstantsTooLarge(push_constants.len()));
        }
        let (descriptors, buffers) = crate::dispatch::resolve_buffers(bindings, descriptors)?;
        let mut padded = Box::new([0u8; MAX_PUSH_CONSTANTS as usize]);
        padded[..push_constants.len()].copy_from_slice(push_constants);
        Ok(StageResources {
            descriptors,
            _buffers: buffers,
            push_constants: padded,
            push_constants_len: push_constants.len() as u32,
            view_index: 0,
            images: ImageTable::none(),
        })
    }

    /// Resolves the stage's image and sampler slots against `descriptors` (once per draw,
    /// as buffers are); the resolved objects live as long as these resources.
    pub(crate) fn with_images(
        mut self,
        images: &[ImageBinding],
        samplers: &[SamplerBinding],
        descriptors: &dyn DescriptorSource,
    ) -> Result<StageResources, RendererError> {
        self.images = ImageTable::resolve(images, samplers, descriptors)?;
        Ok(self)
    }

    /// What the stage's kernels get as `image_resources` (valid while `self` lives).
    pub fn image_resources(&self) -> shader::abi::ImageResources {
        self.images.resources()
    }

    /// The same resources for drawing view `view` of a multiview draw.
    pub(crate) fn with_view_index(mut self, view: u32) -> StageResources {
        self.view_index = view;
        self
    }

    /// `ViewIndex` of the view being drawn (0 outside multiview).
    pub fn view_index(&self) -> u32 {
        self.view_index
    }

    /// Image slot `image` with the sampler a sampling operation on it uses (see
    /// [`ImageTable::sampled`]).
    pub(crate) fn sampled(
        &self,
        image: u32,
        sampler: Option<u32>,
    ) -> Option<(
        &crate::sampler::ResolvedImage,
        &crate::sampler::ResolvedSampler,
    )> {
        self.images.sampled(image, sampler)
    }

    /// The push constants the draw was given.
    pub fn push_constants(&self) -> &[u8] {
        &self.push_constants[..self.push_constants_len as usize]
    }
}

// SAFETY: the raw pointers in `descriptors` point into buffers kept alive by `_buffers` and are
// never dereferenced by Rust code (`images` is `Send + Sync` itself); kernels access that memory only through raw accesses (see
// `ExternalMemory`). Nothing is mutated after construction.
unsafe impl Send for StageResources {}
// SAFETY: as for `Send`: immutable after construction.
unsafe impl Sync for StageResources {}

/// `count` vertices of one instance to shade.
#[derive(Clone, Copy, Debug)]
pub struct VertexBatch<'a> {
    pub count: usize,
    pub base_vertex: i32,
    pub base_instance: u32,
    pub instance_index: u32,
    /// `VertexIndex` per vertex, padded to whole groups of [`GRAPHICS_LANES`].
    pub vertex_indices: &'a [u32],
    /// Input words: `groups × inputs × GRAPHICS_LANES`.
    pub inputs: &'a [u32],
    /// Slots of one group (the vertex module's `inputs.len()`).
    pub input_slots: usize,
}

impl VertexBatch<'_> {
    /// Input word of `slot` for vertex `v`.
    pub fn input(&self, v: usize, slot: usize) -> u32 {
        let at = group_word(v, slot, self.input_slots);
        self.inputs.get(at).copied().unwrap_or(0)
    }
}

/// Index of the word of `slot` for element `v` in a slot-major group layout of `slots`.
pub(crate) fn group_word(v: usize, slot: usize, slots: usize) -> usize {
    (v / GRAPHICS_LANES) * slots * GRAPHICS_LANES + slot * GRAPHICS_LANES + v % GRAPHICS_LANES
}

/// The vertex stage.
pub trait VertexStage: Send + Sync {
    /// Shades `batch.count` vertices into `outputs` (`groups × output slots × 8` words).
    fn shade(
        &self,
        resources: &StageResources,
        batch: &VertexBatch<'_>,
        outputs: &mut [u32],
    ) -> Result<(), RendererError>;
}

/// The fragment stage's view of one batch.
pub struct FragmentIo<'a> {
    /// Interpolated inputs, one `[f32; 8]` per fragment module input slot (integer inputs
    /// are flat and hold the provoking vertex's bits).
    pub inputs: &'a [[f32; GRAPHICS_LANES]],
    /// Output words: `output slots × 8`, slot-major. `FragDepth`'s slot holds the
    /// interpolated depth on entry.
    pub outputs: &'a mut [u32],
    /// Framebuffer position of the block's top-left pixel (`frag_coord` x and y are
    /// [`pixel_centres`] of it).
    pub x: u32,
    pub y: u32,
    /// `FragCoord` x, y (pixel centres), z (depth), w (1/w).
    pub frag_coord: [[f32; GRAPHICS_LANES]; 4],
    /// `PointCoord` s, t (points; 0.5 for lines and triangles).
    pub point_coord: [[f32; GRAPHICS_LANES]; 2],
    pub front_facing: bool,
    /// Live lanes (covered, past early tests); others are helpers.
    pub live: u8,
}

/// The fragment stage's view of a run of batches: consecutive 4×2 blocks of one primitive
/// along one block row, block `i` with its top-left pixel at `(x + 4·i, y)`. There are
/// `live.len()` blocks; every other per-block array has at least that many entries.
pub struct FragmentRunIo<'a, 'w> {
    pub x: u32,
    pub y: u32,
    pub front_facing: bool,
    /// Input slots from one block to the next in `inputs` (at least the module's input
    /// slots): block `i`'s inputs are `inputs[i * input_stride..]`, as [`FragmentIo::inputs`].
    pub input_stride: usize,
    pub inputs: &'a [[f32; GRAPHICS_LANES]],
    /// Per block: its output words (at least the module's output slots × 8), as
    /// [`FragmentIo::outputs`] (`FragDepth`'s slot holding the interpolated depth on entry).
    pub outputs: &'a mut [&'w mut [u32]],
    /// Per block: framebuffer depth and 1/w (`FragCoord` z and w).
    pub depth: &'a [[f32; GRAPHICS_LANES]],
    pub inv_w: &'a [[f32; GRAPHICS_LANES]],
    /// Per block: `PointCoord` s, t.
    pub point_coord: &'a [[[f32; GRAPHICS_LANES]; 2]],
    /// Per block: live lanes on entry, the live lanes that were neither killed nor demoted on
    /// return. A block with no live lane is not shaded.
    pub live: &'a mut [u8],
}

impl FragmentRunIo<'_, '_> {
    /// Block `i` as a single batch (`None` where an array is too short), for stages that
    /// shade block by block.
    pub fn block(&mut self, i: usize) -> Option<FragmentIo<'_>> {
        let x = self.x.checked_add(u32::try_from(i).ok()?.checked_mul(4)?)?;
        let inputs = self.inputs.get(i.checked_mul(self.input_stride)?..)?;
        let outputs = &mut **self.outputs.get_mut(i)?;
        let [cx, cy] = pixel_centres(x, self.y);
        Some(FragmentIo {
            inputs,
            outputs,
            x,
            y: self.y,
            frag_coord: [cx, cy, *self.depth.get(i)?, *self.inv_w.get(i)?],
            point_coord: *self.point_coord.get(i)?,
            front_facing: self.front_facing,
            live: *self.live.get(i)?,
        })
    }
}

/// `FragCoord` x and y of every lane of the block whose top-left pixel is `(x, y)`: pixel
/// centres.
pub fn pixel_centres(x: u32, y: u32) -> [[f32; GRAPHICS_LANES]; 2] {
    const DX: [u32; GRAPHICS_LANES] = lane_axis(0);
    const DY: [u32; GRAPHICS_LANES] = lane_axis(1);
    let at = |offsets: &[u32; GRAPHICS_LANES], origin: u32| -> [f32; GRAPHICS_LANES] {
        std::array::from_fn(|lane| origin.wrapping_add(offsets[lane]) as f32 + 0.5)
    };
    [at(&DX, x), at(&DY, y)]
}

// The kernel computes FragCoord x, y from the block position with the ABI's lane offsets:
// they are the rasterizer's.
const _: () = {
    let mut lane = 0;
    while lane < GRAPHICS_LANES {
        let (dx, dy) = crate::raster::lane_offset(lane);
        let (abi_dx, abi_dy) = shader::abi::FRAGMENT_LANE_OFFSETS[lane];
        assert!(dx == abi_dx && dy == abi_dy);
        lane += 1;
    }
};

/// The x (`axis` 0) or y (1) offset of every lane in its block.
const fn lane_axis(axis: usize) -> [u32; GRAPHICS_LANES] {
    let mut out = [0; GRAPHICS_LANES];
    let mut lane = 0;
    while lane < GRAPHICS_LANES {
        let (dx, dy) = crate::raster::lane_offset(lane);
        out[lane] = if axis == 0 { dx } else { dy };
        lane += 1;
    }
    out
}

/// The fragment stage.
pub trait FragmentStage: Send + Sync {
    /// Shades one batch; returns the live lanes that were neither killed nor demoted.
    fn shade(&self, resources: &StageResources, io: &mut FragmentIo<'_>) -> u8;

    /// Shades every block of `run` with a live lane, leaving each block's survivors in
    /// `run.live`: the same outputs and survivors as [`FragmentStage::shade`] on each block.
    /// The default does exactly that; stages override it to shade a run per call.
    fn shade_run(&self, resources: &StageResources, run: &mut FragmentRunIo<'_, '_>) {
        for i in 0..run.live.len() {
            if run.live[i] == 0 {
                continue;
            }
            let survivors = match run.block(i) {
                Some(mut io) => {
                    let live = io.live;
                    self.shade(resources, &mut io) & live
                }
                None => 0,
            };
            run.live[i] = survivors;
        }
    }

    /// What the stage reads of a fragment (`depth`: `FragCoord.z`, `inv_w`: `FragCoord.w`,
    /// `attributes`: its inputs); everything by default. The default `FragDepth` is the
    /// caller's business.
    fn reads(&self) -> FragmentNeeds {
        FragmentNeeds::ALL
    }

    /// Whether [`FragmentStage::shade`] and [`FragmentStage::shade_run`] write every output
    /// word of every block they shade (helper lanes included), so that the caller need not
    /// clear the words first.
    fn writes_every_output(&self) -> bool {
        false
    }

    /// Where the stage's outputs are the same for every fragment of a draw shaded with
    /// `resources` (and it never discards): one block's output words (output slots × 8,
    /// every lane of a slot the same word), evaluated once, which are the words
    /// [`FragmentStage::shade`] would write for any block. `None` (the default) where that
    /// is not known: the stage must be called per block.
    fn constant_outputs(&self, _resources: &StageResources) -> Option<Vec<u32>> {
        None
    }

    /// Whether [`FragmentStage::input_outputs`] gives outputs (asked once per draw).
    fn outputs_follow_inputs(&self) -> bool {
        false
    }

    /// Where the module only copies one sampled texel to location 0
    /// ([`shader::sampled_copy`]): what it computes, for callers that filter the texel
    /// themselves. `None` by default.
    fn sampled_copy(&self) -> Option<&shader::sampled_copy::SampledCopy> {
        None
    }

    /// Where the module only stores its inputs and constants to its outputs
    /// ([`shader::constant_outputs::copied_inputs`]): each output slot's source, so that a
    /// caller can take a fragment's output words from its inputs without a call. `None` by
    /// default.
    fn copied_inputs(&self) -> Option<&[shader::constant_outputs::CopiedWord]> {
        None
    }

    /// Where the stage's outputs depend on nothing of a fragment but its inputs (and it never
    /// discards): writes into `outputs` (output slots × 8 words) one block's output words for
    /// fragments whose inputs are `inputs` (one value per input slot), evaluated once, which
    /// are the words [`FragmentStage::shade`] would write for any block whose lanes all carry
    /// those inputs, and returns true. False (the default) where that is not known.
    fn input_outputs(
        &self,
        _resources: &StageResources,
        _inputs: &[f32],
        _outputs: &mut [u32],
    ) -> bool {
        false
    }
}

/// A vertex stage from a closure called once per vertex with its input words (one per input
/// slot), `VertexIndex` and `InstanceIndex`, writing one word per output slot.
pub struct ClosureVertexStage<F>(pub F);

impl<F> VertexStage for ClosureVertexStage<F>
where
    F: Fn(&[u32], u32, u32, &mut [u32]) + Send + Sync,
{
    fn shade(
        &self,
        _resources: &StageResources,
        batch: &VertexBatch<'_>,
        outputs: &mut [u32],
    ) -> Result<(), RendererError> {
        let groups = batch.count.div_ceil(GRAPHICS_LANES);
        let out_slots = outputs.len() / groups.max(1) / GRAPHICS_LANES;
        let mut inputs = vec![0u32; batch.input_slots];
        let mut outs = vec![0u32; out_slots];
        for v in 0..batch.count {
            for (slot, word) in inputs.iter_mut().enumerate() {
                *word = batch.input(v, slot);
            }
            outs.fill(0);
            let index = batch.vertex_indices.get(v).copied().unwrap_or(0);
            (self.0)(&inputs, index, batch.instance_index, &mut outs);
            for (slot, word) in outs.iter().enumerate() {
                if let Some(o) = outputs.get_mut(group_word(v, slot, out_slots)) {
                    *o = *word;
                }
            }
        }
        Ok(())
    }
}

/// A fragment stage from a closure over the whole batch.
pub struct ClosureFragmentStage<F>(pub F);

impl<F> FragmentStage for ClosureFragmentStage<F>
where
    F: Fn(&mut FragmentIo<'_>) -> u8 + Send + Sync,
{
    fn shade(&self, _resources: &StageResources, io: &mut FragmentIo<'_>) -> u8 {
        (self.0)(io)
    }
}

/// A compiled vertex kernel.
pub(crate) struct JitVertexStage {
    /// Keeps the code mapped (and its arena range reserved) while this stage exists.
    kernel: Arc<CompiledKernel>,
    /// The module's input and output slot counts (what the kernel reads and writes per group).
    inputs: usize,
    outputs: usize,
}

impl JitVertexStage {
    /// A stage for `kernel`, compiled from `module` (a `Stage::Vertex` module: calls check
    /// the kernel's stage).
    pub(crate) fn new(
        kernel: Arc<CompiledKernel>,
        module: &shader::ir::Module,
    ) -> Result<JitVertexStage, RendererError> {
        Ok(JitVertexStage {
            kernel,
            inputs: module.inputs.len(),
            outputs: module.outputs.len(),
        })
    }
}

impl VertexStage for JitVertexStage {
    fn shade(
        &self,
        resources: &StageResources,
        batch: &VertexBatch<'_>,
        outputs: &mut [u32],
    ) -> Result<(), RendererError> {
        let groups = batch.count.div_ceil(GRAPHICS_LANES);
        let padded = groups * GRAPHICS_LANES;
        // The kernel reads whole groups of indices and inputs and writes whole groups of
        // outputs; refuse (a renderer bug) rather than let it run past a slice.
        if batch.vertex_indices.len() < padded
            || batch.input_slots != self.inputs
            || batch.inputs.len() < padded * self.inputs
            || outputs.len() < padded * self.outputs
            || batch.count > u32::MAX as usize
        {
            return Err(RendererError::InvalidConfig(
                "vertex batch arrays shorter than its groups",
            ));
        }
        let count = batch.count as u32;
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let scratch = scratch.ensure(self.kernel.scratch_size() as u64)?;
            let ctx = VertexContext {
                buffers: resources.descriptors.as_ptr(),
                push_constants: resources.push_constants.as_ptr(),
                push_constants_len: resources.push_constants_len,
                base_vertex: batch.base_vertex,
                base_instance: batch.base_instance,
                instance_index: batch.instance_index,
                vertex_indices: batch.vertex_indices.as_ptr(),
                inputs: batch.inputs.as_ptr(),
                outputs: outputs.as_mut_ptr(),
                scratch,
                view_index: resources.view_index,
                _pad: 0,
                image_resources: resources.images.resources(),
            };
            // SAFETY: the context is valid for the call: one descriptor per module buffer slot
            // inside live buffers held by `resources`; push constants valid for
            // MAX_PUSH_CONSTANTS bytes; image resources in `resources.images` (one entry per
            // module slot); indices and inputs cover whole groups (checked above),
            // outputs too (the caller sizes them groups × output slots × 8); scratch is this
            // thread's own block of the kernel's size, 64-byte aligned, used by nobody else
            // during the call.
            unsafe { self.kernel.call_vertex(&ctx, count) }?;
            Ok(())
        })
    }
}

/// A compiled fragment kernel.
pub(crate) struct JitFragmentStage {
    kernel: Arc<CompiledKernel>,
    inputs: usize,
    outputs: usize,
    reads: FragmentNeeds,
    /// The module's outputs are the same for every fragment of a draw
    /// ([`shader::constant_outputs`]): one kernel call per draw gives them all.
    draw_constant: bool,
    /// The module's outputs depend only on its inputs
    /// ([`shader::constant_outputs::outputs_depend_only_on_inputs`]).
    input_constant: bool,
    /// The module only stores its inputs and constants to its outputs
    /// ([`shader::constant_outputs::copied_inputs`]): each output slot's source
    /// ([`FragmentStage::copied_inputs`]), so that the glue takes a rectangle's colours
    /// from its inputs without a kernel call.
    copied: Option<Vec<shader::constant_outputs::CopiedWord>>,
    /// The module only copies one sampled texel ([`shader::sampled_copy`]).
    copy: Option<shader::sampled_copy::SampledCopy>,
}

impl JitFragmentStage {
    /// A stage for `kernel`, compiled from `module` (a `Stage::Fragment` module: calls check
    /// the kernel's stage).
    pub(crate) fn new(
        kernel: Arc<CompiledKernel>,
        module: &shader::ir::Module,
    ) -> Result<JitFragmentStage, RendererError> {
        Ok(JitFragmentStage {
            kernel,
            inputs: module.inputs.len(),
            outputs: module.outputs.len(),
            reads: module_reads(module),
            draw_constant: shader::constant_outputs::outputs_are_draw_constant(module),
            input_constant: shader::constant_outputs::outputs_depend_only_on_inputs(module),
            copied: shader::constant_outputs::copied_inputs(module),
            copy: shader::sampled_copy::sampled_copy(module),
        })
    }
}

/// What a fragment module reads of a fragment: `FragCoord` z and w where it reads those
/// builtins (the kernel computes x and y from the block position), its inputs where it has
/// any.
pub(crate) fn module_reads(module: &shader::ir::Module) -> FragmentNeeds {
    fn visit(body: &[Stmt], needs: &mut FragmentNeeds) {
        for stmt in body {
            match stmt {
                Stmt::Def {
                    op: Op::Builtin(Builtin::FragCoord(component)),
                    ..
                } => match component {
                    2 => needs.depth = true,
                    3 => needs.inv_w = true,
                    _ => {}
                },
                Stmt::If {
                    then_body,
                    else_body,
                    ..
                } => {
                    visit(then_body, needs);
                    visit(else_body, needs);
                }
                Stmt::Loop {
                    body, continuing, ..
                } => {
                    visit(body, needs);
                    visit(continuing, needs);
                }
                Stmt::Breakable { body, .. } => visit(body, needs),
                _ => {}
            }
        }
    }
    let mut needs = FragmentNeeds {
        attributes: !module.inputs.is_empty(),
        ..FragmentNeeds::NONE
    };
    visit(&module.body, &mut needs);
    needs
}

/// Most batches per fragment kernel call (a run longer than this takes several calls).
const CALL_BATCHES: usize = crate::raster::RUN_BLOCKS;

impl JitFragmentStage {
    /// The draw-wide context of a kernel call with `scratch`.
    fn context(resources: &StageResources, scratch: *mut u8) -> FragmentContext {
        FragmentContext {
            buffers: resources.descriptors.as_ptr(),
            push_constants: resources.push_constants.as_ptr(),
            push_constants_len: resources.push_constants_len,
            view_index: resources.view_index,
            scratch,
            image_resources: resources.images.resources(),
        }
    }

    /// Shades blocks `first..first + count` of `run` (count ≤ [`CALL_BATCHES`]) in one call.
    fn shade_blocks(
        &self,
        ctx: &FragmentContext,
        run: &mut FragmentRunIo<'_, '_>,
        first: usize,
        count: usize,
    ) {
        let in_words = self.inputs;
        let out_words = self.outputs * GRAPHICS_LANES;
        let mut batches = [const { MaybeUninit::<FragmentBatchIo>::uninit() }; CALL_BATCHES];
        let mut block_of = [0usize; CALL_BATCHES];
        let mut n = 0;
        let held = Self::arrays_hold(run, first, count, in_words);
        if let Some((mut in_at, mut x)) = held {
            // Every block's arrays are there (checked once above): no per-block bounds work
            // beyond its own output slice.
            for i in first..first + count {
                let (at, bx) = (in_at, x);
                in_at = in_at.wrapping_add(run.input_stride);
                x = x.wrapping_add(4);
                let live = run.live[i];
                if live == 0 {
                    continue;
                }
                let Some(outputs) = run.outputs[i].get_mut(..out_words) else {
                    run.live[i] = 0;
                    continue;
                };
                batches[n].write(FragmentBatchIo {
                    // In bounds: at + in_words ≤ inputs.len() (`arrays_hold`).
                    inputs: run.inputs.as_ptr().wrapping_add(at).cast::<u32>(),
                    // The block's own slice, of at least out_words words.
                    outputs: outputs.as_mut_ptr(),
                    depth: &run.depth[i],
                    inv_w: &run.inv_w[i],
                    point_coord: &run.point_coord[i],
                    x: bx,
                    y: run.y,
                    front_facing: u32::from(run.front_facing),
                    live: u32::from(live),
                });
                block_of[n] = i;
                n += 1;
            }
        }
        // Otherwise (not what the glue makes) block by block, each checked on its own.
        for i in (first..first + count).filter(|_| held.is_none()) {
            let live = run.live.get(i).copied().unwrap_or(0);
            if live == 0 {
                continue;
            }
            // Every array holds this block (else it is dropped: survivors 0).
            let inputs = i
                .checked_mul(run.input_stride)
                .and_then(|at| Some((at, at.checked_add(in_words)?)))
                .filter(|&(_, end)| end <= run.inputs.len());
            let outputs = run
                .outputs
                .get_mut(i)
                .filter(|words| words.len() >= out_words)
                .map(|words| words.as_mut_ptr());
            let x = u32::try_from(i)
                .ok()
                .and_then(|i| i.checked_mul(4))
                .and_then(|dx| run.x.checked_add(dx));
            let (Some((in_at, _)), Some(outputs), Some(x), Some(depth), Some(inv_w), Some(pc)) = (
                inputs,
                outputs,
                x,
                run.depth.get(i),
                run.inv_w.get(i),
                run.point_coord.get(i),
            ) else {
                run.live[i] = 0;
                continue;
            };
            batches[n].write(FragmentBatchIo {
                // In bounds: in_at + in_words ≤ inputs.len() (checked above).
                inputs: run.inputs.as_ptr().wrapping_add(in_at).cast::<u32>(),
                // The block's own slice, of at least out_words words (checked above).
                outputs,
                depth,
                inv_w,
                point_coord: pc,
                x,
                y: run.y,
                front_facing: u32::from(run.front_facing),
                live: u32::from(live),
            });
            block_of[n] = i;
            n += 1;
        }
        if n == 0 {
            return;
        }
        // SAFETY: `batches[..n]` were initialised in a loop above (n counts the writes), and
        // `MaybeUninit<T>` has `T`'s layout.
        let batches = unsafe {
            std::slice::from_raw_parts_mut(batches.as_mut_ptr().cast::<FragmentBatchIo>(), n)
        };
        // SAFETY: the context is valid for the call (descriptors, push constants and image
        // resources held by `resources`, scratch this thread's own block of the kernel's size); each batch's
        // inputs hold one 8-lane group per module input slot and its outputs one per output
        // slot, in bounds of `run` (checked above), outputs of distinct blocks disjoint
        // (distinct `&mut` slices, not used again until the call returns); depth, 1/w and
        // PointCoord point at the run's 8-lane arrays, borrowed for the call; f32 and u32
        // share size and alignment, so the input cast reads the same words.
        let called = unsafe { self.kernel.call_fragment(ctx, batches) };
        for (batch, &i) in batches.iter().zip(&block_of[..n]) {
            let live = run.live[i];
            run.live[i] = match called {
                Ok(()) => (batch.live as u8) & live,
                Err(_) => 0,
            };
        }
        if let Err(e) = called {
            log::warn!("fragment stage: {e}");
        }
    }
}

impl JitFragmentStage {
    /// Whether every array of `run` holds blocks `first..first + count` (inputs: `in_words`
    /// slots each) and their positions fit u32; then the first block's input offset and x.
    #[inline(always)]
    fn arrays_hold(
        run: &FragmentRunIo<'_, '_>,
        first: usize,
        count: usize,
        in_words: usize,
    ) -> Option<(usize, u32)> {
        let end = first.checked_add(count)?;
        let last = end.checked_sub(1)?;
        let inputs_end = last.checked_mul(run.input_stride)?.checked_add(in_words)?;
        let last_x = u32::try_from(last)
            .ok()?
            .checked_mul(4)?
            .checked_add(run.x)?;
        let held = end <= run.live.len()
            && end <= run.outputs.len()
            && end <= run.depth.len()
            && end <= run.inv_w.len()
            && end <= run.point_coord.len()
            && inputs_end <= run.inputs.len()
            && last_x >= run.x;
        // `first * stride ≤ last * stride` and `4 * first ≤ 4 * last`: no overflow.
        held.then(|| (first * run.input_stride, run.x + 4 * first as u32))
    }
}

impl FragmentStage for JitFragmentStage {
    fn shade(&self, resources: &StageResources, io: &mut FragmentIo<'_>) -> u8 {
        // The kernel reads every input group and writes every output group of its module.
        if io.inputs.len() < self.inputs || io.outputs.len() < self.outputs * GRAPHICS_LANES {
            log::warn!("fragment stage: batch arrays smaller than the module's interface");
            return 0;
        }
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let Ok(scratch) = scratch.ensure(self.kernel.scratch_size() as u64) else {
                // No scratch: the batch is dropped (nothing is shaded or written).
                log::warn!("fragment stage: no memory for kernel scratch");
                return 0;
            };
            let ctx = Self::context(resources, scratch);
            let mut batch = [FragmentBatchIo {
                inputs: io.inputs.as_ptr().cast::<u32>(),
                outputs: io.outputs.as_mut_ptr(),
                depth: &io.frag_coord[2],
                inv_w: &io.frag_coord[3],
                point_coord: &io.point_coord,
                x: io.x,
                y: io.y,
                front_facing: u32::from(io.front_facing),
                live: u32::from(io.live),
            }];
            // SAFETY: the context is valid for the call (descriptors, push constants and image
            // resources held by `resources`, scratch this thread's own block of the kernel's size); `io.inputs`
            // holds one 8-lane group per module input slot and `io.outputs` one per output slot
            // (checked above); depth, 1/w and PointCoord point at `io`'s 8-lane arrays, which
            // outlive the call; f32 and u32 share size and alignment, so the input cast reads
            // the same words.
            match unsafe { self.kernel.call_fragment(&ctx, &mut batch) } {
                Ok(()) => (batch[0].live as u8) & io.live,
                Err(e) => {
                    log::warn!("fragment stage: {e}");
                    0
                }
            }
        })
    }

    fn shade_run(&self, resources: &StageResources, run: &mut FragmentRunIo<'_, '_>) {
        if run.input_stride < self.inputs {
            log::warn!("fragment stage: run input stride smaller than the module's interface");
            run.live.fill(0);
            return;
        }
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let Ok(scratch) = scratch.ensure(self.kernel.scratch_size() as u64) else {
                // No scratch: the run is dropped (nothing is shaded or written).
                log::warn!("fragment stage: no memory for kernel scratch");
                run.live.fill(0);
                return;
            };
            let ctx = Self::context(resources, scratch);
            let blocks = run.live.len();
            let mut first = 0;
            while first < blocks {
                let count = CALL_BATCHES.min(blocks - first);
                self.shade_blocks(&ctx, run, first, count);
                first += count;
            }
        });
    }

    /// Nothing where the module's outputs are the same for every fragment: its kernel is
    /// called once per draw, not per fragment.
    fn reads(&self) -> FragmentNeeds {
        match self.draw_constant {
            true => FragmentNeeds::NONE,
            false => self.reads,
        }
    }

    /// One kernel call on a block at the origin with every lane live and every input 0 (the
    /// module reads none of them); `None` where the module is not draw-constant, the call
    /// fails or kills a lane, or a slot's lanes differ (none of which the analysis allows).
    fn constant_outputs(&self, resources: &StageResources) -> Option<Vec<u32>> {
        if !self.draw_constant {
            return None;
        }
        let mut outputs = vec![0u32; self.outputs * GRAPHICS_LANES];
        let inputs = vec![[0f32; GRAPHICS_LANES]; self.inputs];
        self.outputs_for(resources, &inputs, &mut outputs)
            .then_some(outputs)
    }

    fn outputs_follow_inputs(&self) -> bool {
        self.input_constant
    }

    fn sampled_copy(&self) -> Option<&shader::sampled_copy::SampledCopy> {
        self.copy.as_ref()
    }

    fn copied_inputs(&self) -> Option<&[shader::constant_outputs::CopiedWord]> {
        self.copied.as_deref()
    }

    /// One kernel call on a block at the origin with every lane live and carrying `inputs`;
    /// `None` where the module's outputs depend on more than its inputs, or as for
    /// [`FragmentStage::constant_outputs`].
    fn input_outputs(
        &self,
        resources: &StageResources,
        inputs: &[f32],
        outputs: &mut [u32],
    ) -> bool {
        if !self.input_constant || inputs.len() != self.inputs {
            return false;
        }
        // Lane arrays on the stack for the usual few inputs (this runs once per rectangle).
        const STACK_INPUTS: usize = 16;
        if inputs.len() <= STACK_INPUTS {
            let lanes: [[f32; GRAPHICS_LANES]; STACK_INPUTS] =
                std::array::from_fn(|i| [inputs.get(i).copied().unwrap_or(0.0); GRAPHICS_LANES]);
            return self.outputs_for(resources, &lanes[..inputs.len()], outputs);
        }
        let lanes: Vec<[f32; GRAPHICS_LANES]> =
            inputs.iter().map(|&v| [v; GRAPHICS_LANES]).collect();
        self.outputs_for(resources, &lanes, outputs)
    }

    /// The kernel stores every output slot of its module at the end of each batch.
    fn writes_every_output(&self) -> bool {
        true
    }
}

impl JitFragmentStage {
    /// One kernel call on a block at the origin with every lane live and `inputs` (one lane
    /// array per input slot) into `outputs` (zeroed here; output slots × 8 words): true where
    /// no lane was killed and every slot's lanes agree (as the analyses promise).
    fn outputs_for(
        &self,
        resources: &StageResources,
        inputs: &[[f32; GRAPHICS_LANES]],
        outputs: &mut [u32],
    ) -> bool {
        if outputs.len() != self.outputs * GRAPHICS_LANES {
            return false;
        }
        outputs.fill(0);
        let [x, y] = pixel_centres(0, 0);
        let mut io = FragmentIo {
            inputs,
            outputs,
            x: 0,
            y: 0,
            frag_coord: [x, y, [0.0; GRAPHICS_LANES], [1.0; GRAPHICS_LANES]],
            point_coord: [[0.5; GRAPHICS_LANES]; 2],
            front_facing: true,
            live: u8::MAX,
        };
        let survivors = self.shade(resources, &mut io);
        let uniform = io
            .outputs
            .chunks_exact(GRAPHICS_LANES)
            .all(|slot| slot.iter().all(|&w| w == slot[0]));
        survivors == u8::MAX && uniform
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod image_resource_tests {
    use super::*;
    use crate::descriptor::DescriptorSet;
    use crate::format::{aspect, Format};
    use crate::image::{Image, ImageDesc, ImageType, Tiling};
    use crate::sampler::{ComponentSwizzle, ImageDescriptor, ImageView, ViewType};
    use shader::abi::{image_op, ImageRequest, ImageResult, MAX_IMAGE_LANES};
    use shader::ir::{ImageDim, ImageKind, SampledType};

    fn storage_slot() -> ImageBinding {
        ImageBinding {
            set: 0,
            binding: 2,
            array_index: 0,
            kind: ImageKind::Storage,
            dim: ImageDim::D2,
            arrayed: false,
            multisampled: false,
            format: 0,
            sampled_type: SampledType::Uint,
        }
    }

    #[test]
    fn a_stage_with_image_slots_gets_a_working_image_table_and_one_without_gets_none() {
        let image = Image::new_host(ImageDesc {
            image_type: ImageType::D2,
            format: Format::R32_UINT,
            extent: [2, 2, 1],
            mip_levels: 1,
            array_layers: 1,
            tiling: Tiling::Optimal,
        })
        .unwrap();
        image
            .write_texel(0, 0, [1, 1, 0], &77u32.to_le_bytes())
            .unwrap();
        let mut set = DescriptorSet::new();
        set.bind_image(
            2,
            0,
            ImageDescriptor::Image {
                view: ImageView {
                    image,
                    view_type: ViewType::D2,
                    format: Format::R32_UINT,
                    components: [ComponentSwizzle::Identity; 4],
                    aspect_mask: aspect::COLOR,
                    base_level: 0,
                    level_count: 1,
                    base_layer: 0,
                    layer_count: 1,
                },
                sampler: None,
            },
        );
        let sets: &[&DescriptorSet] = &[&set];
        let source: &dyn DescriptorSource = &sets;

        let plain = StageResources::resolve(&[], source, &[]).unwrap();
        assert!(plain.image_resources().image_op.is_none());
        assert!(plain.image_resources().images.is_null());

        let resources = StageResources::resolve(&[], source, &[])
            .unwrap()
            .with_images(&[storage_slot()], &[], source)
            .unwrap()
            .with_view_index(1);
        let ctx = JitFragmentStage::context(&resources, std::ptr::null_mut());
        let table = ctx.image_resources;
        let helper = table.image_op.unwrap();
        assert!(!table.images.is_null());
        // SAFETY: `images` holds one slot (the module's one image slot), alive with
        // `resources`.
        let slot = unsafe { *table.images };
        let mut request = ImageRequest::new(image_op::READ, 0, 1, 2);
        request.coords = [[1; MAX_IMAGE_LANES]; 4];
        let mut result = ImageResult::ZERO;
        // SAFETY: the slot's pointers are alive while `resources` is; request and result are
        // distinct locals.
        unsafe { helper(slot.image, slot.sampler, &request, &mut result) };
        assert_eq!(result.texel[0][0], 77);
        request.coords[0][0] = 2;
        // SAFETY: as above.
        unsafe { helper(slot.image, slot.sampler, &request, &mut result) };
        assert_eq!(result.texel[0][0], 0, "out of range reads 0");

        // A slot bound to the wrong kind of descriptor fails the draw's resolution.
        let texel_slot = ImageBinding {
            kind: ImageKind::StorageTexelBuffer,
            dim: ImageDim::Buffer,
            ..storage_slot()
        };
        assert!(StageResources::resolve(&[], source, &[])
            .unwrap()
            .with_images(&[texel_slot], &[], source)
            .is_err());
    }
}
