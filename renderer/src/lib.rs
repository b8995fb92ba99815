//! softgpu's renderer: the CPU Vulkan device.
//!
//! Buffers (windows into guest RAM or host memory), descriptor sets, compute pipelines
//! compiled by the sandboxed jit-host, and dispatches run on a worker pool; images, the
//! rasterizer ([`raster`]), the output merger ([`output`]) and graphics draws ([`draw`]). The renderer never
//! emits code itself: it only calls kernels that jit-host wrote into the sealed code arena
//! (DESIGN §4), through `jit-host-client`.

mod buffer;
pub mod cancel;
mod cpu;
mod descriptor;
mod device;
mod dispatch;
pub mod draw;
mod error;
pub mod format;
pub mod image;
mod memory;
pub mod output;
mod pipeline;
mod pool;
pub mod raster;
pub mod sampler;
mod transfer;

pub use buffer::{Buffer, BufferElement};
pub use descriptor::{
    BufferRange, DescriptorSet, DescriptorSource, DescriptorType, MAX_STORAGE_BUFFER_RANGE,
    MAX_UNIFORM_BUFFER_RANGE, MIN_BUFFER_OFFSET_ALIGNMENT, WHOLE_SIZE,
};
pub use device::{Device, DeviceConfig};
pub use dispatch::MAX_WORKGROUP_COUNT;
pub use draw::{DrawError, GraphicsPipeline};
pub use error::RendererError;
pub use memory::{ExternalMemory, HostMemory};
pub use pipeline::{ComputePipeline, MAX_KERNEL_SCRATCH};
pub use pool::{WorkerPool, Workers};
pub use shader::front::{SpecializationEntry, SpecializationInfo};
pub use shader::ir::{BufferBinding, BufferKind};
pub use transfer::{BufferCopy, MAX_UPDATE_BUFFER_SIZE};
