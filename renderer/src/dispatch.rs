//! Compute dispatch: validation of the counts, the kernel context, and the split of the linear
//! workgroup range into chunks run on the worker pool.

use std::sync::Arc;

use jit_host_client::CompiledKernel;
use shader::abi::{BufferDescriptor, KernelContext};
use shader::ir::{BufferBinding, BufferKind, MAX_PUSH_CONSTANTS};

use crate::buffer::Buffer;
use crate::descriptor::{DescriptorSource, DescriptorType};
use crate::error::RendererError;
use crate::pipeline::ComputePipeline;
use crate::pool::{ChunkedJob, WorkerMemory};
use crate::sampler::ImageTable;

/// maxComputeWorkGroupCount, each dimension (also bounds base + count for vkCmdDispatchBase).
pub const MAX_WORKGROUP_COUNT: u32 = 65535;

/// Chunks per worker thread: enough for uneven workgroups to balance, few enough that the
/// per-call overhead stays negligible.
const CHUNKS_PER_THREAD: u64 = 4;

/// Checks base and counts against the limits (VUID-vkCmdDispatchBase-baseGroupX-00421 and
/// VUID-vkCmdDispatch-groupCountX-00386) and returns the linear workgroup count.
pub(crate) fn validate_counts(base: [u32; 3], groups: [u32; 3]) -> Result<u32, RendererError> {
    for dim in 0..3 {
        let end = u64::from(base[dim]) + u64::from(groups[dim]);
        if end > u64::from(MAX_WORKGROUP_COUNT) {
            return Err(RendererError::WorkgroupCountTooLarge {
                dim,
                base: base[dim],
                count: groups[dim],
            });
        }
    }
    let total = groups.iter().map(|&g| u64::from(g)).product::<u64>();
    // The kernel ABI numbers workgroups with a u32; 65535³ does not fit, 65535² does.
    u32::try_from(total).map_err(|_| RendererError::TooManyWorkgroups(total))
}

/// Splits `total` workgroups into at most `CHUNKS_PER_THREAD × threads` chunks of equal size
/// (the last may be shorter). Returns (chunk size, chunk count).
pub(crate) fn plan_chunks(total: u32, threads: usize) -> (u32, usize) {
    if total == 0 {
        return (0, 0);
    }
    let wanted = (threads as u64).max(1) * CHUNKS_PER_THREAD;
    let size = u64::from(total).div_ceil(wanted.min(u64::from(total)));
    let count = u64::from(total).div_ceil(size);
    (size as u32, count as usize)
}

/// Resolves a module's buffer slots against the bound descriptors: one kernel descriptor per
/// slot (unbound slots become null descriptors) and the buffers that keep their memory alive.
/// Shared by dispatches and draws.
pub(crate) fn resolve_buffers(
    bindings: &[BufferBinding],
    sets: &dyn DescriptorSource,
) -> Result<(Vec<BufferDescriptor>, Vec<Buffer>), RendererError> {
    let mut descriptors = Vec::with_capacity(bindings.len());
    let mut buffers = Vec::with_capacity(bindings.len());
    for slot in bindings {
        let bound = sets.buffer_descriptor(slot.set, slot.binding, slot.array_index)?;
        let Some(bound) = bound else {
            // An unbound slot is a null descriptor (robustness2 nullDescriptor): every
            // access is out of bounds, loads give 0 and stores are dropped.
            log::debug!(
                "set {} binding {} is not bound (null descriptor)",
                slot.set,
                slot.binding
            );
            descriptors.push(BufferDescriptor {
                base: std::ptr::null_mut(),
                len: 0,
            });
            continue;
        };
        let wanted = match slot.kind {
            BufferKind::Storage => DescriptorType::StorageBuffer,
            BufferKind::Uniform => DescriptorType::UniformBuffer,
        };
        if bound.ty != wanted {
            return Err(RendererError::DescriptorTypeMismatch {
                set: slot.set,
                binding: slot.binding,
                array_index: slot.array_index,
                bound: bound.ty,
                wanted,
            });
        }
        // Checked here again whatever the source checked: the kernel trusts `len`.
        let base_ptr = bound.buffer.range_ptr(bound.offset, bound.range)?;
        descriptors.push(BufferDescriptor {
            base: base_ptr,
            len: bound.range,
        });
        buffers.push(bound.buffer);
    }
    Ok((descriptors, buffers))
}

/// Everything one dispatch's chunks share. Owns copies of the descriptors and push constants
/// so the context's pointers stay valid however long a worker holds the job.
pub(crate) struct KernelRun {
    kernel: Arc<CompiledKernel>,
    descriptors: Vec<BufferDescriptor>,
    /// Keeps every bound buffer's memory alive while the kernel may access it.
    _buffers: Vec<Buffer>,
    /// The kernel's image and sampler slots, resolved once for the dispatch.
    images: ImageTable,
    /// Zero-padded to the largest block a shader may declare, so even a kernel that trusted the
    /// declared size over `push_constants_len` would read zeros, not foreign memory.
    push_constants: Box<[u8; MAX_PUSH_CONSTANTS as usize]>,
    push_constants_len: u32,
    num_workgroups: [u32; 3],
    base_workgroup: [u32; 3],
    total: u32,
    chunk_size: u32,
    chunk_count: usize,
    workgroup_memory_size: u64,
    scratch_size: u64,
}

// SAFETY: the raw pointers in `descriptors` point into buffers kept alive by `_buffers`
// (`images` is `Send + Sync` itself), and nothing in `KernelRun` is mutated after
// construction; kernels access buffer memory only through those pointers (raw accesses, see
// `ExternalMemory`), so sharing the job between worker threads creates no Rust references to
// shared mutable memory.
unsafe impl Send for KernelRun {}
// SAFETY: as for `Send`: the job is immutable after construction.
unsafe impl Sync for KernelRun {}

impl KernelRun {
    pub(crate) fn new(
        pipeline: &ComputePipeline,
        sets: &dyn DescriptorSource,
        push_constants: &[u8],
        base: [u32; 3],
        groups: [u32; 3],
        threads: usize,
    ) -> Result<Option<KernelRun>, RendererError> {
        if push_constants.len() > MAX_PUSH_CONSTANTS as usize {
            return Err(RendererError::PushConstantsTooLarge(push_constants.len()));
        }
        let total = validate_counts(base, groups)?;
        if total == 0 {
            return Ok(None);
        }
        let (descriptors, buffers) = resolve_buffers(&pipeline.buffers, sets)?;
        let images = ImageTable::resolve(&pipeline.images, &pipeline.samplers, sets)?;
        let mut padded = Box::new([0u8; MAX_PUSH_CONSTANTS as usize]);
        padded[..push_constants.len()].copy_from_slice(push_constants);
        let (chunk_size, chunk_count) = plan_chunks(total, threads);
        Ok(Some(KernelRun {
            kernel: pipeline.kernel.clone(),
            descriptors,
            _buffers: buffers,
            images,
            push_constants: padded,
            push_constants_len: push_constants.len() as u32,
            num_workgroups: groups,
            base_workgroup: base,
            total,
            chunk_size,
            chunk_count,
            workgroup_memory_size: u64::from(pipeline.workgroup_memory_size),
            scratch_size: pipeline.kernel.scratch_size() as u64,
        }))
    }
}

impl ChunkedJob for KernelRun {
    fn chunk_count(&self) -> usize {
        self.chunk_count
    }

    fn run_chunk(&self, chunk: usize, memory: &mut WorkerMemory) -> Result<(), RendererError> {
        let first = u64::from(self.chunk_size) * chunk as u64;
        let Ok(first) = u32::try_from(first) else {
            return Ok(());
        };
        if first >= self.total {
            return Ok(());
        }
        let count = self.chunk_size.min(self.total - first);
        let ctx = KernelContext {
            buffers: self.descriptors.as_ptr(),
            push_constants: self.push_constants.as_ptr(),
            push_constants_len: self.push_constants_len,
            num_workgroups: self.num_workgroups,
            base_workgroup: self.base_workgroup,
            workgroup_memory: memory.workgroup.ensure(self.workgroup_memory_size)?,
            scratch: memory.scratch.ensure(self.scratch_size)?,
            image_resources: self.images.resources(),
        };
        // SAFETY: the context is complete and valid for the call: one descriptor per module
        // buffer slot, each inside a live buffer held by `self`; push constants valid for
        // MAX_PUSH_CONSTANTS bytes; the image resources point into `self.images` (one slot
        // per module image slot, one pointer per sampler slot); workgroup memory and scratch
        // are this thread's own blocks of at least the module's / kernel's sizes, 64-byte
        // aligned; `first + count <= total` workgroups of `num_workgroups`; the kernel's code
        // is kept mapped by `self.kernel`.
        unsafe { self.kernel.call(&ctx, first, count) };
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn counts_at_the_limit_pass_and_above_fail() {
        assert_eq!(validate_counts([0; 3], [65535, 1, 1]).unwrap(), 65535);
        assert!(validate_counts([0; 3], [65536, 1, 1]).is_err());
        assert!(validate_counts([1, 0, 0], [65535, 1, 1]).is_err());
        assert!(validate_counts([0, 0, 65534], [1, 1, 1]).is_ok());
        assert!(validate_counts([0, 0, u32::MAX], [1, 1, 1]).is_err());
    }

    #[test]
    fn two_dimensional_maximum_fits_and_three_dimensional_maximum_does_not() {
        assert_eq!(
            validate_counts([0; 3], [65535, 65535, 1]).unwrap(),
            65535 * 65535
        );
        assert!(matches!(
            validate_counts([0; 3], [65535, 65535, 2]),
            Err(RendererError::TooManyWorkgroups(_))
        ));
        assert_eq!(validate_counts([0; 3], [0, 65535, 65535]).unwrap(), 0);
    }

    #[test]
    fn chunks_cover_every_workgroup_exactly_once() {
        for total in [1u32, 2, 7, 8, 9, 100, 1023, 65535, 65535 * 65535] {
            for threads in [1usize, 2, 3, 16] {
                let (size, count) = plan_chunks(total, threads);
                assert!(size >= 1);
                assert!(count as u64 <= CHUNKS_PER_THREAD * threads as u64);
                assert!(u64::from(size) * (count as u64 - 1) < u64::from(total));
                assert!(u64::from(size) * count as u64 >= u64::from(total));
            }
        }
        assert_eq!(plan_chunks(0, 4), (0, 0));
    }
}
