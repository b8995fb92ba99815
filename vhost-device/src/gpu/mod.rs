//! The virtio-gpu device model (VIRTIO 1.2 §5.7): command decoding ([`wire`]), the device state
//! that executes commands ([`device`]: resources, contexts, scanout), host views of guest backing
//! ([`view`]) and the fixed display data ([`edid`]).
//!
//! The 2D path (TRANSFER_TO_HOST_2D into a host image) is our own row copy over a
//! [`GuestView`], not `rutabaga_gfx`'s 2D component: rutabaga's component traits are not
//! exported, its copies go through its own iovec/backing types, and the copy is a few lines
//! here with the same bounds checks as everything else.
//!
//! Everything here trusts nothing the guest sends: requests arrive as bytes copied out of guest
//! memory, are decoded into owned values with every length checked, and every failure becomes a
//! `VIRTIO_GPU_RESP_ERR_*` response ([`GpuError`]), never a panic.

pub mod device;
pub mod display;
pub mod edid;
pub mod view;
pub mod wire;

use thiserror::Error;
use virtio_bindings::virtio_gpu as vg;

pub use device::{DeviceLimits, Features, VirtioGpu};
pub use view::{GuestView, MemEntry, ViewError};

/// The one headless scanout we offer (GET_DISPLAY_INFO, GET_EDID).
pub const SCANOUT_WIDTH: u32 = 1280;
pub const SCANOUT_HEIGHT: u32 = 800;
pub const NUM_SCANOUTS: u32 = 1;

/// A command the device refuses. The guest gets the matching `VIRTIO_GPU_RESP_ERR_*` response
/// (VIRTIO 1.2 §5.7.6.7); the host log gets the message.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum GpuError {
    #[error("{0}")]
    Unspec(String),
    #[error("out of memory: {0}")]
    OutOfMemory(String),
    #[error("invalid scanout id {0}")]
    InvalidScanoutId(u32),
    #[error("invalid resource id {0}")]
    InvalidResourceId(u32),
    #[error("invalid context id {0}")]
    InvalidContextId(u32),
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
}

impl GpuError {
    /// The response type the guest sees.
    pub fn response_type(&self) -> u32 {
        match self {
            GpuError::Unspec(_) => vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_UNSPEC,
            GpuError::OutOfMemory(_) => vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY,
            GpuError::InvalidScanoutId(_) => {
                vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID
            }
            GpuError::InvalidResourceId(_) => {
                vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID
            }
            GpuError::InvalidContextId(_) => {
                vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID
            }
            GpuError::InvalidParameter(_) => {
                vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER
            }
        }
    }
}

impl From<ViewError> for GpuError {
    fn from(e: ViewError) -> GpuError {
        match e {
            ViewError::TooManyRuns { .. } | ViewError::OverBudget { .. } | ViewError::Map(_) => {
                GpuError::OutOfMemory(e.to_string())
            }
            _ => GpuError::InvalidParameter(e.to_string()),
        }
    }
}

#[cfg(test)]
mod device_tests;
