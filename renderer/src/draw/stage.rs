//! The programmable stages as the draw sees them: [`VertexStage`] shades groups of vertices,
//! [`FragmentStage`] shades one 4×2 fragment batch. Each has a JIT implementation calling a
//! kernel jit-host compiled (`shader::abi` calling convention) and a closure implementation
//! for tests.
//!
//! Interface words are laid out as the ABI says: slot-major groups of
//! [`GRAPHICS_LANES`] words, slot = index into the module's `inputs` / `outputs`.

use std::cell::RefCell;
use std::sync::Arc;

use jit_host_client::CompiledKernel;
use shader::abi::{
    BufferDescriptor, FragmentBatchIo, FragmentContext, VertexContext, GRAPHICS_LANES,
};
use shader::ir::{BufferBinding, MAX_PUSH_CONSTANTS};

use crate::buffer::Buffer;
use crate::descriptor::DescriptorSource;
use crate::error::RendererError;
use crate::memory::GrowableBlock;

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
        })
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

    /// The push constants the draw was given.
    pub fn push_constants(&self) -> &[u8] {
        &self.push_constants[..self.push_constants_len as usize]
    }
}

// SAFETY: the raw pointers in `descriptors` point into buffers kept alive by `_buffers` and are
// never dereferenced by Rust code; kernels access that memory only through raw accesses (see
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
    /// `FragCoord` x, y (pixel centres), z (depth), w (1/w).
    pub frag_coord: [[f32; GRAPHICS_LANES]; 4],
    /// `PointCoord` s, t (points; 0.5 for lines and triangles).
    pub point_coord: [[f32; GRAPHICS_LANES]; 2],
    pub front_facing: bool,
    /// Live lanes (covered, past early tests); others are helpers.
    pub live: u8,
}

/// The fragment stage.
pub trait FragmentStage: Send + Sync {
    /// Shades one batch; returns the live lanes that were neither killed nor demoted.
    fn shade(&self, resources: &StageResources, io: &mut FragmentIo<'_>) -> u8;
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
            };
            // SAFETY: the context is valid for the call: one descriptor per module buffer slot
            // inside live buffers held by `resources`; push constants valid for
            // MAX_PUSH_CONSTANTS bytes; indices and inputs cover whole groups (checked above),
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
        })
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
            let ctx = FragmentContext {
                buffers: resources.descriptors.as_ptr(),
                push_constants: resources.push_constants.as_ptr(),
                push_constants_len: resources.push_constants_len,
                view_index: resources.view_index,
                scratch,
            };
            let mut batch = FragmentBatchIo {
                inputs: io.inputs.as_ptr().cast::<u32>(),
                outputs: io.outputs.as_mut_ptr(),
                frag_coord: io.frag_coord,
                point_coord: io.point_coord,
                front_facing: u32::from(io.front_facing),
                live: u32::from(io.live),
            };
            // SAFETY: the context is valid for the call (descriptors and push constants held by
            // `resources`, scratch this thread's own block of the kernel's size); `io.inputs`
            // holds one 8-lane group per module input slot and `io.outputs` one per output slot
            // (the pipeline sizes both from the module); f32 and u32 share size and alignment,
            // so the input cast reads the same words.
            match unsafe { self.kernel.call_fragment(&ctx, &mut batch) } {
                Ok(survivors) => (survivors as u8) & io.live,
                Err(e) => {
                    log::warn!("fragment stage: {e}");
                    0
                }
            }
        })
    }
}
