//! The Vulkan executor: runs softgpu's command stream (protocol::stream) for one context on
//! the renderer.
//!
//! A context owns tables id → object for every object family of the stream (one file each:
//! `buffer`, `descriptor`, `pipeline` (shader modules, compute), `image` (images and views),
//! `render_pass` (render passes, framebuffers), `graphics_pipeline`, `sampler` (samplers,
//! buffer views), `descriptor_set` (sets and their updates)), decodes each
//! `SUBMIT_3D` payload into owned commands, validates them against the Vulkan valid-usage
//! rules it can check, and executes them: `submit` runs command buffers (compute and
//! transfers), `image_commands` image clears and copies, `render` the graphics bind point and
//! draws, `pass` render pass instances and their loads, `dynamic_state` the state a draw uses. Guest memory is reached only through the [`ResourceViews`] of the submission
//! (`guest`): views are resolved when a submission runs and dropped when it returns, so memory
//! the guest frees is unmapped promptly but never while this context uses it.
//!
//! Trust: nothing from the guest is trusted. Every id, count, offset and size is checked before
//! use; errors become [`SubmitError::Invalid`] naming the command and the id, or — for pipeline
//! creation, whose outcome the application observes — an error [`protocol::stream::Reply`].

mod buffer;
mod context;
mod descriptor;
mod descriptor_set;
mod dynamic_state;
mod graphics_pipeline;
mod guest;
mod image;
mod image_commands;
pub mod limits;
mod objects;
mod pass;
mod pipeline;
mod pipeline_state;
mod render;
mod render_objects;
mod render_pass;
mod sampler;
mod submit;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use thiserror::Error;

use crate::context::{ContextBackend, ContextFactory};

pub use context::VkContext;
pub use limits::{ClientBudget, ClientLimits, Quantity};

/// Bindings one descriptor set layout may declare.
pub const MAX_BINDINGS_PER_SET_LAYOUT: usize = 4096;
/// Descriptors (sum of binding counts) in one descriptor set layout.
pub const MAX_DESCRIPTORS_PER_SET_LAYOUT: u32 = 1 << 16;
/// maxBoundDescriptorSets: set layouts per pipeline layout.
pub const MAX_BOUND_DESCRIPTOR_SETS: usize = 8;
/// maxPushConstantsSize.
pub const MAX_PUSH_CONSTANTS_SIZE: u32 = 256;

/// `VkResult` values the executor reports through a reply.
pub mod vk_result {
    pub const SUCCESS: i32 = 0;
    pub const ERROR_OUT_OF_HOST_MEMORY: i32 = -1;
    pub const ERROR_OUT_OF_DEVICE_MEMORY: i32 = -2;
    pub const ERROR_TOO_MANY_OBJECTS: i32 = -10;
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
    #[error("the client already holds {limit} objects")]
    TooManyObjects { limit: u64 },
    #[error("{what}: {requested} more bytes or items on top of {used} exceed the client's limit {limit}")]
    OverBudget {
        what: &'static str,
        requested: u64,
        used: u64,
        limit: u64,
    },
    #[error("the client already has {limit} pipeline compiles in flight")]
    TooManyCompiles { limit: u64 },
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
    #[error(transparent)]
    Image(#[from] renderer::image::ImageError),
    #[error(transparent)]
    Draw(#[from] renderer::DrawError),
}

impl ExecError {
    /// The `VkResult` an application would get for this error where a call can report one
    /// (pipeline creation replies; a failed submission is VK_ERROR_DEVICE_LOST whatever the
    /// cause until the wire says more).
    pub fn vk_result(&self) -> i32 {
        match self {
            ExecError::TooManyObjects { .. } => vk_result::ERROR_TOO_MANY_OBJECTS,
            ExecError::OverBudget { .. } | ExecError::TooManyCompiles { .. } => {
                vk_result::ERROR_OUT_OF_HOST_MEMORY
            }
            ExecError::Renderer(e) => pipeline::vk_result_of(e),
            _ => vk_result::ERROR_UNKNOWN,
        }
    }

    /// True for a per-client cap or a host allocation failure (as opposed to invalid input).
    pub fn is_resource_exhaustion(&self) -> bool {
        matches!(
            self.vk_result(),
            vk_result::ERROR_TOO_MANY_OBJECTS
                | vk_result::ERROR_OUT_OF_HOST_MEMORY
                | vk_result::ERROR_OUT_OF_DEVICE_MEMORY
        )
    }
}

/// Creates [`VkContext`]s that all run on one renderer device and charge one client budget.
///
/// The server serves one frontend at a time with one factory, so the budget is per client;
/// every context returns its share when dropped, so the next frontend starts from zero.
pub struct VkContextFactory {
    device: Arc<renderer::Device>,
    budget: Arc<ClientBudget>,
}

impl VkContextFactory {
    /// A factory with the default [`ClientLimits`].
    pub fn new(device: Arc<renderer::Device>) -> VkContextFactory {
        VkContextFactory::with_limits(device, ClientLimits::default())
    }

    pub fn with_limits(device: Arc<renderer::Device>, limits: ClientLimits) -> VkContextFactory {
        VkContextFactory {
            device,
            budget: ClientBudget::new(limits),
        }
    }

    /// The budget the contexts of the current client charge.
    pub fn budget(&self) -> &Arc<ClientBudget> {
        &self.budget
    }
}

impl ContextFactory for VkContextFactory {
    fn create(&self, ctx_id: u32, name: &str) -> Box<dyn ContextBackend> {
        Box::new(VkContext::with_budget(
            self.device.clone(),
            self.budget.clone(),
            ctx_id,
            name,
        ))
    }

    fn live(&self) -> Option<crate::context::LiveObjects> {
        let b = &self.budget;
        Some(crate::context::LiveObjects {
            objects: b.used(limits::Quantity::Objects),
            descriptors: b.used(limits::Quantity::Descriptors),
            host_bytes: b.used(limits::Quantity::HostBytes),
            compiles: b.used(limits::Quantity::Compiles),
        })
    }
}
