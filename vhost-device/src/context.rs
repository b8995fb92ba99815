//! The seam between the virtio-gpu layer and the Vulkan executor.
//!
//! The virtio-gpu layer (`gpu/`) owns resources, their guest-RAM backing and the host views of
//! that backing; it decodes virtio-gpu commands and hands each `SUBMIT_3D` payload, copied out
//! of guest memory into an owned buffer, to the context's [`ContextBackend`]. The Vulkan
//! executor (`vk/`) implements [`ContextBackend`]: it decodes the softgpu command stream and
//! runs it on the renderer. Tests substitute their own backends.

use std::sync::Arc;

use thiserror::Error;

/// One resource's backing as a single contiguous host mapping (DESIGN §3: the scattered guest
/// ranges mapped back to back). The mapping stays valid for as long as any `Arc` of it lives,
/// even if the guest detaches the backing or unreferences the resource meanwhile: that is how
/// queued or running work keeps the memory it uses mapped.
///
/// The bytes are guest RAM: the guest can change them at any time. Never form a Rust
/// reference into them; copy in and out with raw-pointer copies (or hand the pointer to
/// compiled kernels, which only use it within `len`).
pub trait GuestMemoryView: Send + Sync {
    /// Start of the mapping; valid for `len()` bytes, readable and writable.
    fn as_ptr(&self) -> *mut u8;
    /// Length in bytes (the resource's size).
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The resources a context may use (attached to it with `CTX_ATTACH_RESOURCE`, or created in
/// it), as the virtio-gpu layer sees them at the moment of a submission.
pub trait ResourceViews {
    /// The current backing view of `resource`, or `None` if it does not exist, is not attached
    /// to this context, or has no backing.
    fn view(&self, resource: u32) -> Option<Arc<dyn GuestMemoryView>>;
}

/// Why a submission failed. The guest gets `VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER` (its ICD
/// reports `VK_ERROR_DEVICE_LOST`); the host log gets the message.
#[derive(Debug, Error)]
pub enum SubmitError {
    #[error("malformed command stream: {0}")]
    Stream(#[from] protocol::StreamError),
    #[error("{0}")]
    Invalid(String),
}

/// A virtio-gpu 3D context running softgpu's command stream.
pub trait ContextBackend: Send {
    /// Executes one `SUBMIT_3D` payload to completion (the fence is completed after this
    /// returns). `resources` resolves resource ids for this call only: keep the `Arc`s it
    /// returns for as long as the work needs the memory, not longer.
    fn submit(&mut self, stream: &[u8], resources: &dyn ResourceViews) -> Result<(), SubmitError>;
}

/// Creates contexts: one per `CTX_CREATE` with `context_init` 0 or our capset.
pub trait ContextFactory: Send + Sync {
    /// `name` is the debug name the guest gave (may be empty, not trusted).
    fn create(&self, ctx_id: u32, name: &str) -> Box<dyn ContextBackend>;

    /// What the contexts made by this factory hold right now, if it keeps count (logged at
    /// the end of each session: after a session everything must be back to zero).
    fn live(&self) -> Option<LiveObjects> {
        None
    }
}

/// What live contexts hold, over all of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveObjects {
    /// Vulkan objects (buffers, memory bindings, layouts, pools, sets, pipelines, ...).
    pub objects: u64,
    /// Descriptors in live descriptor sets.
    pub descriptors: u64,
    /// Host memory charged for them.
    pub host_bytes: u64,
    /// Pipeline compiles in flight.
    pub compiles: u64,
}
