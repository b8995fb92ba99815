//! One recorded command buffer, submitted again and again and timed.
//!
//! The figure reported is host wall-clock time around vkQueueSubmit + vkWaitForFences, which
//! means the same thing on every driver. When the queue writes timestamps, the command buffer
//! also brackets its work with two of them and the GPU-side time is kept beside it.

use std::time::{Duration, Instant};

use ash::vk;

use crate::gpu::{failed, Gpu, GpuError};
use crate::kernel::Kernel;

/// One timed run.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub wall: Duration,
    pub gpu: Option<Duration>,
}

pub struct Submission<'g> {
    gpu: &'g Gpu,
    pool: vk::CommandPool,
    pub cmd: vk::CommandBuffer,
    fence: vk::Fence,
    /// Two timestamp queries, when the queue supports them and they are wanted.
    timestamps: Option<(vk::QueryPool, f64)>,
}

impl<'g> Submission<'g> {
    pub fn new(gpu: &'g Gpu, want_timestamps: bool) -> Result<Self, GpuError> {
        let info = vk::CommandPoolCreateInfo::default()
            .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER)
            .queue_family_index(gpu.queue_family);
        // SAFETY: `info` is valid for the call.
        let pool = unsafe { gpu.device.create_command_pool(&info, None) }
            .map_err(failed("vkCreateCommandPool"))?;
        let mut this = Submission {
            gpu,
            pool,
            cmd: vk::CommandBuffer::null(),
            fence: vk::Fence::null(),
            timestamps: None,
        };
        let info = vk::CommandBufferAllocateInfo::default()
            .command_pool(pool)
            .level(vk::CommandBufferLevel::PRIMARY)
            .command_buffer_count(1);
        // SAFETY: `pool` is live.
        let cmds = unsafe { gpu.device.allocate_command_buffers(&info) }
            .map_err(failed("vkAllocateCommandBuffers"))?;
        this.cmd = cmds
            .first()
            .copied()
            .ok_or_else(|| GpuError::Misuse("no command buffer allocated".into()))?;
        // SAFETY: a plain fence create info.
        this.fence = unsafe {
            gpu.device
                .create_fence(&vk::FenceCreateInfo::default(), None)
        }
        .map_err(failed("vkCreateFence"))?;
        if let (true, Some(period)) = (want_timestamps, gpu.timestamp_period_ns) {
            let info = vk::QueryPoolCreateInfo::default()
                .query_type(vk::QueryType::TIMESTAMP)
                .query_count(2);
            // SAFETY: `info` is valid for the call.
            let pool = unsafe { gpu.device.create_query_pool(&info, None) }
                .map_err(failed("vkCreateQueryPool"))?;
            this.timestamps = Some((pool, period));
        }
        Ok(this)
    }

    /// Records the command buffer: `body` between two timestamps (when enabled).
    pub fn record(
        &self,
        body: impl FnOnce(&ash::Device, vk::CommandBuffer) -> Result<(), GpuError>,
    ) -> Result<(), GpuError> {
        let dev = &self.gpu.device;
        // SAFETY: `cmd` is not pending (every submit is waited for in `run`); its pool allows
        // resetting it.
        unsafe { dev.reset_command_buffer(self.cmd, vk::CommandBufferResetFlags::empty()) }
            .map_err(failed("vkResetCommandBuffer"))?;
        // SAFETY: `cmd` is in the initial state (reset above).
        unsafe { dev.begin_command_buffer(self.cmd, &vk::CommandBufferBeginInfo::default()) }
            .map_err(failed("vkBeginCommandBuffer"))?;
        if let Some((pool, _)) = self.timestamps {
            // SAFETY: `cmd` is recording, `pool` has two queries.
            unsafe { dev.cmd_reset_query_pool(self.cmd, pool, 0, 2) };
            // SAFETY: as above; the query was reset earlier in this command buffer.
            unsafe {
                dev.cmd_write_timestamp(self.cmd, vk::PipelineStageFlags::TOP_OF_PIPE, pool, 0)
            };
        }
        body(dev, self.cmd)?;
        if let Some((pool, _)) = self.timestamps {
            // SAFETY: as above.
            unsafe {
                dev.cmd_write_timestamp(self.cmd, vk::PipelineStageFlags::BOTTOM_OF_PIPE, pool, 1)
            };
        }
        // SAFETY: `cmd` is recording.
        unsafe { dev.end_command_buffer(self.cmd) }.map_err(failed("vkEndCommandBuffer"))
    }

    /// Submits the recorded command buffer and waits for it; returns the times.
    pub fn run(&self) -> Result<Sample, GpuError> {
        let dev = &self.gpu.device;
        let fences = [self.fence];
        // SAFETY: the fence is not in use by a pending submission (each is waited for).
        unsafe { dev.reset_fences(&fences) }.map_err(failed("vkResetFences"))?;
        let cmds = [self.cmd];
        let submits = [vk::SubmitInfo::default().command_buffers(&cmds)];
        let start = Instant::now();
        // SAFETY: `cmd` is executable and not pending; the fence is unsignaled.
        unsafe { dev.queue_submit(self.gpu.queue, &submits, self.fence) }
            .map_err(failed("vkQueueSubmit"))?;
        // SAFETY: the fence was submitted above.
        unsafe { dev.wait_for_fences(&fences, true, u64::MAX) }
            .map_err(failed("vkWaitForFences"))?;
        let wall = start.elapsed();
        Ok(Sample {
            wall,
            gpu: self.gpu_time()?,
        })
    }

    fn gpu_time(&self) -> Result<Option<Duration>, GpuError> {
        let Some((pool, period_ns)) = self.timestamps else {
            return Ok(None);
        };
        let mut ticks = [0u64; 2];
        // SAFETY: both queries were written by the submission waited for in `run`.
        unsafe {
            self.gpu.device.get_query_pool_results(
                pool,
                0,
                &mut ticks,
                vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WAIT,
            )
        }
        .map_err(failed("vkGetQueryPoolResults"))?;
        let ns = ticks[1].saturating_sub(ticks[0]) as f64 * period_ns;
        Ok(Some(Duration::from_secs_f64(ns / 1e9)))
    }
}

impl Drop for Submission<'_> {
    fn drop(&mut self) {
        let dev = &self.gpu.device;
        // SAFETY: `run` waits for every submission, so nothing here is in use; null handles
        // (a failed constructor) are ignored.
        unsafe { dev.destroy_fence(self.fence, None) };
        // SAFETY: as above; freeing the pool frees its command buffer.
        unsafe { dev.destroy_command_pool(self.pool, None) };
        if let Some((pool, _)) = self.timestamps {
            // SAFETY: as above.
            unsafe { dev.destroy_query_pool(pool, None) };
        }
    }
}

/// Records `kernel` with `set` and `push` constants over `groups` workgroups.
pub fn record_dispatch(
    dev: &ash::Device,
    cmd: vk::CommandBuffer,
    kernel: &Kernel<'_>,
    set: vk::DescriptorSet,
    push: &[u8],
    groups: [u32; 3],
) -> Result<(), GpuError> {
    if push.len() != kernel.layout.push_bytes as usize {
        return Err(GpuError::Misuse(format!(
            "{} bytes of push constants for a layout of {}",
            push.len(),
            kernel.layout.push_bytes
        )));
    }
    // SAFETY: `cmd` is recording (called from `Submission::record`'s body); pipeline, layout
    // and set are live and compatible (the set was made for this layout).
    unsafe { dev.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::COMPUTE, kernel.pipeline) };
    // SAFETY: as above.
    unsafe {
        dev.cmd_bind_descriptor_sets(
            cmd,
            vk::PipelineBindPoint::COMPUTE,
            kernel.layout.pipeline_layout,
            0,
            &[set],
            &[],
        )
    };
    if !push.is_empty() {
        // SAFETY: as above; `push` is exactly the layout's push constant range (checked).
        unsafe {
            dev.cmd_push_constants(
                cmd,
                kernel.layout.pipeline_layout,
                vk::ShaderStageFlags::COMPUTE,
                0,
                push,
            )
        };
    }
    let [x, y, z] = groups;
    // SAFETY: as above.
    unsafe { dev.cmd_dispatch(cmd, x, y, z) };
    Ok(())
}

/// A compute-to-compute barrier: the next dispatch sees the previous one's storage writes.
pub fn record_compute_barrier(dev: &ash::Device, cmd: vk::CommandBuffer) {
    let barrier = [vk::MemoryBarrier::default()
        .src_access_mask(vk::AccessFlags::SHADER_WRITE)
        .dst_access_mask(vk::AccessFlags::SHADER_READ)];
    // SAFETY: `cmd` is recording.
    unsafe {
        dev.cmd_pipeline_barrier(
            cmd,
            vk::PipelineStageFlags::COMPUTE_SHADER,
            vk::PipelineStageFlags::COMPUTE_SHADER,
            vk::DependencyFlags::empty(),
            &barrier,
            &[],
            &[],
        )
    };
}

/// Makes the storage writes of the recorded work visible to host reads through the mapping
/// once the fence signals (Vulkan §7.9: a fence alone does not cover host access).
pub fn record_host_read_barrier(dev: &ash::Device, cmd: vk::CommandBuffer) {
    let barrier = [vk::MemoryBarrier::default()
        .src_access_mask(vk::AccessFlags::SHADER_WRITE)
        .dst_access_mask(vk::AccessFlags::HOST_READ)];
    // SAFETY: `cmd` is recording.
    unsafe {
        dev.cmd_pipeline_barrier(
            cmd,
            vk::PipelineStageFlags::COMPUTE_SHADER,
            vk::PipelineStageFlags::HOST,
            vk::DependencyFlags::empty(),
            &barrier,
            &[],
            &[],
        )
    };
}
