//! The Vulkan executor: runs softgpu's command stream (protocol::stream) for one context on
//! the renderer.
//!
//! A context owns tables id → object for every object family of the stream (one file each:
//! `buffer`, `descriptor`, `pipeline`), decodes each `SUBMIT_3D` payload into owned commands,
//! validates them against the Vulkan valid-usage rules it can check, and executes them
//! (`submit`). Guest memory is reached only through the [`ResourceViews`] of the submission
//! (`guest`): views are resolved when a submission runs and dropped when it returns, so memory
//! the guest frees is unmapped promptly but never while this context uses it.
//!
//! Trust: nothing from the guest is trusted. Every id, count, offset and size is checked before
//! use; errors become [`SubmitError::Invalid`] naming the command and the id, or — for pipeline
//! creation, whose outcome the application observes — an error [`protocol::stream::Reply`].

mod buffer;
mod context;
mod descriptor;
mod guest;
mod objects;
mod pipeline;
mod submit;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use thiserror::Error;

use crate::context::{ContextBackend, ContextFactory};

pub use context::VkContext;

/// Live objects (of all kinds) one context may hold.
pub const MAX_OBJECTS: usize = 1 << 20;
/// Largest shader module, in SPIR-V words (16 MiB).
pub const MAX_SHADER_MODULE_WORDS: usize = (16 << 20) / 4;
/// SPIR-V bytes all live shader modules of one context may hold together.
pub const MAX_SHADER_BYTES_PER_CONTEXT: usize = 256 << 20;
/// Bindings one descriptor set layout may declare.
pub const MAX_BINDINGS_PER_SET_LAYOUT: usize = 4096;
/// Descriptors (sum of binding counts) in one descriptor set layout.
pub const MAX_DESCRIPTORS_PER_SET_LAYOUT: u32 = 1 << 16;
/// Descriptors all live descriptor sets of one context may hold together.
pub const MAX_DESCRIPTORS_PER_CONTEXT: u64 = 1 << 22;
/// maxBoundDescriptorSets: set layouts per pipeline layout.
pub const MAX_BOUND_DESCRIPTOR_SETS: usize = 8;
/// maxPushConstantsSize.
pub const MAX_PUSH_CONSTANTS_SIZE: u32 = 256;
/// Largest recorded command buffer one submission may reference.
pub const MAX_COMMAND_BUFFER_SIZE: u64 = 64 << 20;

/// `VkResult` values the executor reports through a reply.
pub mod vk_result {
    pub const SUCCESS: i32 = 0;
    pub const ERROR_OUT_OF_HOST_MEMORY: i32 = -1;
    pub const ERROR_UNKNOWN: i32 = -13;
}

/// Why a command was refused. The submission fails with the message, prefixed by the
/// command's name.
#[derive(Debug, Error)]
pub enum ExecError {
    #[error("id 0 is not a valid {0} id")]
    ZeroId(&'static str),
    #[error("{kind} {id} does not exist")]
    UnknownId { kind: &'static str, id: u64 },
    #[error("{kind} {id} already exists")]
    DuplicateId { kind: &'static str, id: u64 },
    #[error("the context already holds {MAX_OBJECTS} objects")]
    TooManyObjects,
    #[error("{what} {value} exceeds the limit {limit}")]
    Limit {
        what: &'static str,
        value: u64,
        limit: u64,
    },
    #[error("resource {0} is not attached to this context or has no backing")]
    ResourceNotAttached(u32),
    #[error("{len} bytes at offset {offset} are outside resource {resource} ({size} bytes)")]
    GuestOutOfRange {
        resource: u32,
        offset: u64,
        len: u64,
        size: u64,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("{command} is not allowed {place}")]
    Misplaced {
        command: &'static str,
        place: &'static str,
    },
    #[error("command buffer {index}: {source}")]
    CommandBufferStream {
        index: usize,
        source: protocol::StreamError,
    },
    #[error(transparent)]
    Renderer(#[from] renderer::RendererError),
}

/// Creates [`VkContext`]s that all run on one renderer device.
pub struct VkContextFactory {
    device: Arc<renderer::Device>,
}

impl VkContextFactory {
    pub fn new(device: Arc<renderer::Device>) -> VkContextFactory {
        VkContextFactory { device }
    }
}

impl ContextFactory for VkContextFactory {
    fn create(&self, ctx_id: u32, name: &str) -> Box<dyn ContextBackend> {
        Box::new(VkContext::new(self.device.clone(), ctx_id, name))
    }
}
