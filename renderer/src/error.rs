//! The renderer's error type: every way a renderer call can refuse or fail.
//!
//! Errors caused by the caller's input (sizes, ranges, counts, SPIR-V) are values, never panics;
//! they name the limit or rule that was broken so the device layer can turn them into a
//! guest-visible `VkResult`.

use jit_host_client::ClientError;
use shader::front::FrontError;

#[derive(Debug, thiserror::Error)]
pub enum RendererError {
    #[error("invalid device configuration: {0}")]
    InvalidConfig(&'static str),
    #[error("could not start the worker pool: {0}")]
    WorkerSpawn(#[source] std::io::Error),
    #[error("a worker thread failed (panicked or exited)")]
    WorkerFailed,
    #[error("the work was cancelled (its client went away or the device was reset)")]
    Cancelled,
    #[error("jit-host: {0}")]
    Jit(#[from] ClientError),
    #[error("SPIR-V rejected: {0}")]
    Shader(#[from] FrontError),
    #[error("draw: {0}")]
    Draw(#[from] crate::draw::DrawError),

    #[error("buffer size {0} is 0 or larger than the maximum {max}", max = crate::memory::MAX_ALLOCATION)]
    InvalidBufferSize(u64),
    #[error("the kernel needs {size} bytes of per-thread scratch (private memory and values kept across barriers), more than the {limit} a pipeline may use")]
    ScratchTooLarge { size: u64, limit: u64 },
    #[error("out of host memory allocating {0} bytes")]
    OutOfHostMemory(u64),
    #[error("access of {len} bytes at offset {offset} is outside a buffer of {size} bytes")]
    OutOfRange { offset: u64, len: u64, size: u64 },

    #[error("descriptor range offset {offset} is not a multiple of {align}")]
    MisalignedOffset { offset: u64, align: u64 },
    #[error("descriptor range {range} exceeds the limit {limit} for this descriptor type")]
    RangeTooLarge { range: u64, limit: u64 },
    #[error("set {set} binding {binding}[{array_index}] holds a {bound:?}, the shader needs a {wanted:?}")]
    DescriptorTypeMismatch {
        set: u32,
        binding: u32,
        array_index: u32,
        bound: crate::descriptor::DescriptorType,
        wanted: crate::descriptor::DescriptorType,
    },

    #[error("invalid sampler: {0}")]
    InvalidSampler(&'static str),

    #[error("push constants of {0} bytes exceed maxPushConstantsSize ({max})", max = shader::ir::MAX_PUSH_CONSTANTS)]
    PushConstantsTooLarge(usize),
    #[error("workgroup count {count} in dimension {dim} (base {base}) exceeds maxComputeWorkGroupCount ({max})", max = crate::dispatch::MAX_WORKGROUP_COUNT)]
    WorkgroupCountTooLarge { dim: usize, base: u32, count: u32 },
    #[error("a dispatch of {0} workgroups exceeds the {max} that one dispatch can number", max = u32::MAX)]
    TooManyWorkgroups(u64),
    #[error("indirect dispatch offset {0} is not a multiple of 4")]
    MisalignedIndirectOffset(u64),
    #[error("set {set} binding {binding}[{array_index}]: {reason}")]
    Descriptor {
        set: u32,
        binding: u32,
        array_index: u32,
        reason: String,
    },

    #[error("{what} {value} is not a multiple of 4")]
    MisalignedTransfer { what: &'static str, value: u64 },
    #[error("{0} of 0 bytes")]
    EmptyTransfer(&'static str),
    #[error("vkCmdUpdateBuffer of {0} bytes: must be 1 to 65536 bytes")]
    UpdateSize(u64),
}
