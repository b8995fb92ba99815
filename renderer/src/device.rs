//! The device: the jit-host connection, the worker pool, the kernel cache, and the entry points
//! that create objects and run dispatches. Dispatches are synchronous: they return when every
//! workgroup has run.

use std::path::PathBuf;
use std::sync::Arc;

use jit_host_client::{JitHost, SpawnOptions};
use shader::front::SpecializationInfo;

use crate::buffer::Buffer;
use crate::descriptor::{DescriptorSet, DescriptorSource};
use crate::dispatch::KernelRun;
use crate::draw::{
    self, DrawCall, DrawResources, DrawStats, GraphicsPipeline, GraphicsState, IndirectDraw,
    PassBatch, RenderTargets, ShaderStageSource,
};
use crate::error::RendererError;
use crate::pipeline::{self, ComputePipeline, KernelCache};
use crate::pool::{WorkerPool, Workers};

/// How to start a device.
#[derive(Clone, Debug, Default)]
pub struct DeviceConfig {
    /// The jit-host binary; `None` lets the client look in its default places.
    pub jit_host_path: Option<PathBuf>,
    /// Worker threads; `None` means one per available core.
    pub threads: Option<usize>,
    /// Lets tests send jit-host requests that exist only for testing (stalling a worker).
    pub allow_test_requests: bool,
}

pub struct Device {
    jit: Arc<JitHost>,
    pool: WorkerPool,
    kernels: KernelCache,
    subgroup_size: u32,
}

impl Device {
    /// Starts jit-host (which creates and hands over the code arena) and the worker pool.
    pub fn new(cfg: DeviceConfig) -> Result<Device, RendererError> {
        let threads = match cfg.threads {
            Some(0) => return Err(RendererError::InvalidConfig("threads must be at least 1")),
            Some(n) => n,
            None => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        };
        let jit = JitHost::spawn(&SpawnOptions {
            path: cfg.jit_host_path.clone(),
            allow_test_requests: cfg.allow_test_requests,
        })?;
        let subgroup_size = jit.target().simd_width;
        let pool = WorkerPool::new(threads)?;
        Ok(Device {
            jit,
            pool,
            kernels: KernelCache::default(),
            subgroup_size,
        })
    }

    /// The jit-host connection (tests read its process ids).
    pub fn jit(&self) -> &Arc<JitHost> {
        &self.jit
    }

    /// The subgroup size, W: the SIMD width compiled kernels use.
    pub fn subgroup_size(&self) -> u32 {
        self.subgroup_size
    }

    /// Number of worker threads dispatches are spread over.
    pub fn threads(&self) -> usize {
        self.pool.threads()
    }

    /// Number of distinct compiled kernels alive (held by at least one pipeline).
    pub fn cached_kernels(&self) -> usize {
        self.kernels.len()
    }

    /// Creates a buffer of `size` zeroed bytes.
    pub fn create_buffer(&self, size: u64) -> Result<Buffer, RendererError> {
        Buffer::new(size)
    }

    /// Lowers and compiles a compute entry point (vkCreateComputePipelines).
    pub fn create_compute_pipeline(
        &self,
        spirv: &[u8],
        entry: &str,
        spec: &SpecializationInfo,
    ) -> Result<ComputePipeline, RendererError> {
        pipeline::create_compute_pipeline(&self.jit, &self.kernels, spirv, entry, spec)
    }

    /// vkCmdDispatch: `sets[i]` is bound as descriptor set `i`.
    pub fn dispatch(
        &self,
        pipeline: &ComputePipeline,
        sets: &[&DescriptorSet],
        push_constants: &[u8],
        groups: [u32; 3],
    ) -> Result<(), RendererError> {
        self.dispatch_base(pipeline, sets, push_constants, [0; 3], groups)
    }

    /// vkCmdDispatchBase: workgroup ids run from `base` to `base + groups`.
    pub fn dispatch_base(
        &self,
        pipeline: &ComputePipeline,
        sets: &[&DescriptorSet],
        push_constants: &[u8],
        base: [u32; 3],
        groups: [u32; 3],
    ) -> Result<(), RendererError> {
        self.dispatch_with(pipeline, &sets, push_constants, base, groups)
    }

    /// vkCmdDispatchBase with descriptors looked up in `descriptors` (a device layer's own
    /// tables, resolved at dispatch time: no descriptor sets are built).
    pub fn dispatch_with(
        &self,
        pipeline: &ComputePipeline,
        descriptors: &dyn DescriptorSource,
        push_constants: &[u8],
        base: [u32; 3],
        groups: [u32; 3],
    ) -> Result<(), RendererError> {
        let run = KernelRun::new(
            pipeline,
            descriptors,
            push_constants,
            base,
            groups,
            self.pool.threads(),
        )?;
        match run {
            Some(run) => self.pool.run(Arc::new(run)),
            None => Ok(()),
        }
    }

    /// vkCmdDispatchIndirect: the counts are a `VkDispatchIndirectCommand` (three u32) at
    /// `offset` in `buffer`.
    pub fn dispatch_indirect(
        &self,
        pipeline: &ComputePipeline,
        sets: &[&DescriptorSet],
        push_constants: &[u8],
        buffer: &Buffer,
        offset: u64,
    ) -> Result<(), RendererError> {
        self.dispatch_indirect_with(pipeline, &sets, push_constants, buffer, offset)
    }

    /// vkCmdDispatchIndirect with descriptors looked up in `descriptors`.
    pub fn dispatch_indirect_with(
        &self,
        pipeline: &ComputePipeline,
        descriptors: &dyn DescriptorSource,
        push_constants: &[u8],
        buffer: &Buffer,
        offset: u64,
    ) -> Result<(), RendererError> {
        // VUID-vkCmdDispatchIndirect-offset-02710 (multiple of 4), -00407 (offset + 12 ≤ size).
        if !offset.is_multiple_of(4) {
            return Err(RendererError::MisalignedIndirectOffset(offset));
        }
        let mut raw = [0u8; 12];
        buffer.read(offset, &mut raw)?;
        let word = |i: usize| u32::from_le_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]);
        let groups = [word(0), word(4), word(8)];
        self.dispatch_with(pipeline, descriptors, push_constants, [0; 3], groups)
    }

    /// vkCreateGraphicsPipelines: lowers and compiles the vertex and (optional) fragment
    /// stages and checks their interface. A missing vertex stage is an error.
    pub fn create_graphics_pipeline(
        &self,
        vertex: Option<&ShaderStageSource<'_>>,
        fragment: Option<&ShaderStageSource<'_>>,
    ) -> Result<GraphicsPipeline, RendererError> {
        draw::pipeline::create_graphics_pipeline(&self.jit, &self.kernels, vertex, fragment)
    }

    /// [`draw::clear_color_rect`] with the rectangle's rows spread over the calling thread and
    /// the pool's workers, in bands of whole 4-row micro-tile rows (a LOAD_OP_CLEAR over a
    /// large render area is a memory fill as long as a fill-rate draw).
    pub fn clear_color_rect(
        &self,
        image: &crate::image::Image,
        level: u32,
        layer: u32,
        rect: crate::raster::Rect,
        value: [u32; 4],
    ) -> Result<(), RendererError> {
        /// Fewest rows a band has (smaller clears are not worth spreading).
        const BAND_ROWS: u32 = 64;
        let threads = self.pool.threads() as u32;
        let bands = (rect.height / BAND_ROWS).clamp(1, 2 * threads.max(1));
        if bands == 1 {
            return Ok(draw::clear_color_rect(image, level, layer, rect, value)?);
        }
        // The whole rectangle first: a bad one clears nothing, as in one piece.
        draw::clear::check_rect(image, level, rect)?;
        // Band edges on multiples of 4 rows from the rectangle's top.
        let per_band = rect.height.div_ceil(bands).next_multiple_of(4);
        let job = |i: usize| -> Result<(), RendererError> {
            let top = (i as u32).saturating_mul(per_band).min(rect.height);
            let bottom = top.saturating_add(per_band).min(rect.height);
            if top == bottom {
                return Ok(());
            }
            let band = crate::raster::Rect {
                y: rect.y.saturating_add(top as i32),
                height: bottom - top,
                ..rect
            };
            Ok(draw::clear_color_rect(image, level, layer, band, value)?)
        };
        self.pool.run_scoped(bands as usize, &job)
    }

    /// vkCmdDraw / vkCmdDrawIndexed: vertex shading, setup, binning and tiles spread over the
    /// calling thread and the pool's workers (as many threads as the pool has, none spawned).
    pub fn draw(
        &self,
        pipeline: &GraphicsPipeline,
        state: &GraphicsState,
        targets: &RenderTargets<'_>,
        resources: &DrawResources<'_>,
        call: &DrawCall,
    ) -> Result<DrawStats, RendererError> {
        draw::draw(
            pipeline,
            state,
            targets,
            resources,
            call,
            Workers::Pool(&self.pool),
        )
    }

    /// vkCmdDrawIndirect / vkCmdDrawIndexedIndirect.
    pub fn draw_indirect(
        &self,
        pipeline: &GraphicsPipeline,
        state: &GraphicsState,
        targets: &RenderTargets<'_>,
        resources: &DrawResources<'_>,
        indirect: &IndirectDraw<'_>,
    ) -> Result<DrawStats, RendererError> {
        draw::draw_indirect(
            pipeline,
            state,
            targets,
            resources,
            indirect,
            Workers::Pool(&self.pool),
        )
    }

    /// vkCmdDrawIndirectCount / vkCmdDrawIndexedIndirectCount.
    #[allow(clippy::too_many_arguments)]
    pub fn draw_indirect_count(
        &self,
        pipeline: &GraphicsPipeline,
        state: &GraphicsState,
        targets: &RenderTargets<'_>,
        resources: &DrawResources<'_>,
        indirect: &IndirectDraw<'_>,
        count_buffer: &Buffer,
        count_offset: u64,
    ) -> Result<DrawStats, RendererError> {
        draw::draw_indirect_count(
            pipeline,
            state,
            targets,
            resources,
            indirect,
            count_buffer,
            count_offset,
            Workers::Pool(&self.pool),
        )
    }

    /// vkCmdDraw / vkCmdDrawIndexed recorded into `batch`: the vertex work runs now, the
    /// fragments when [`Device::flush`] is called (or the batch fills up). Flush before
    /// anything reads or changes what the draw touches.
    pub fn draw_deferred(
        &self,
        batch: &mut PassBatch,
        pipeline: &GraphicsPipeline,
        state: &GraphicsState,
        targets: &RenderTargets<'_>,
        resources: &DrawResources<'_>,
        call: &DrawCall,
    ) -> Result<(), RendererError> {
        draw::draw_deferred(
            batch,
            pipeline,
            state,
            targets,
            resources,
            call,
            Workers::Pool(&self.pool),
        )
    }

    /// vkCmdDrawIndirect / vkCmdDrawIndexedIndirect recorded into `batch`.
    pub fn draw_indirect_deferred(
        &self,
        batch: &mut PassBatch,
        pipeline: &GraphicsPipeline,
        state: &GraphicsState,
        targets: &RenderTargets<'_>,
        resources: &DrawResources<'_>,
        indirect: &IndirectDraw<'_>,
    ) -> Result<(), RendererError> {
        draw::draw_indirect_deferred(
            batch,
            pipeline,
            state,
            targets,
            resources,
            indirect,
            Workers::Pool(&self.pool),
        )
    }

    /// vkCmdDrawIndirectCount / vkCmdDrawIndexedIndirectCount recorded into `batch`.
    #[allow(clippy::too_many_arguments)]
    pub fn draw_indirect_count_deferred(
        &self,
        batch: &mut PassBatch,
        pipeline: &GraphicsPipeline,
        state: &GraphicsState,
        targets: &RenderTargets<'_>,
        resources: &DrawResources<'_>,
        indirect: &IndirectDraw<'_>,
        count_buffer: &Buffer,
        count_offset: u64,
    ) -> Result<(), RendererError> {
        draw::draw_indirect_count_deferred(
            batch,
            pipeline,
            state,
            targets,
            resources,
            indirect,
            count_buffer,
            count_offset,
            Workers::Pool(&self.pool),
        )
    }

    /// Rasterizes every draw pending in `batch` (tile by tile, each tile's draws in API
    /// order) and returns their summed statistics, or the first error one of them met.
    pub fn flush(&self, batch: &mut PassBatch) -> Result<DrawStats, RendererError> {
        batch.flush(Workers::Pool(&self.pool))
    }
}
