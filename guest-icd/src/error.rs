//! The ICD's error type: every failure becomes the `VkResult` the application sees, with a
//! log line saying why.

use crate::transport::TransportError;
use ash::vk;
use thiserror::Error;

#[derive(Debug, Error)]
pub(crate) enum IcdError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("encoding a command: {0}")]
    Stream(#[from] protocol::StreamError),
    /// A Vulkan-level failure with the result the application gets.
    #[error("{what} ({result:?})")]
    Vk { result: vk::Result, what: String },
}

pub(crate) type IcdResult<T> = Result<T, IcdError>;

impl IcdError {
    pub(crate) fn vk(result: vk::Result, what: impl Into<String>) -> IcdError {
        IcdError::Vk {
            result,
            what: what.into(),
        }
    }

    /// The `VkResult` the application gets.
    pub(crate) fn result(&self) -> vk::Result {
        match self {
            IcdError::Transport(e) => transport_result(e),
            // Only a frame over 4 GiB fails to encode.
            IcdError::Stream(_) => vk::Result::ERROR_OUT_OF_HOST_MEMORY,
            IcdError::Vk { result, .. } => *result,
        }
    }
}

pub(crate) fn transport_result(e: &TransportError) -> vk::Result {
    match e {
        TransportError::DeviceLost(_) => vk::Result::ERROR_DEVICE_LOST,
        TransportError::Unavailable(_) => vk::Result::ERROR_INITIALIZATION_FAILED,
        TransportError::OutOfDeviceMemory(_) => vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
        TransportError::OutOfHostMemory(_) => vk::Result::ERROR_OUT_OF_HOST_MEMORY,
    }
}
