//! How the ICD reaches the device. All Vulkan behaviour lives above this trait; only the
//! transport differs between a VM (virtgpu DRM ioctls, later) and the host (vhost-user, with
//! the ICD playing VMM and guest kernel).

use std::sync::{Arc, Mutex, Weak};

use thiserror::Error;

pub mod vhost_user;

/// The process-wide device connection: every VkInstance shares it while any holds it; when
/// the last `Arc` drops, the connection closes and the device releases everything.
static SHARED_TRANSPORT: Mutex<Option<Weak<dyn Transport>>> = Mutex::new(None);

/// The transport for this process: the live one if any, else a new vhost-user connection
/// (to `SOFTGPU_VHOST_SOCKET`, or to an embedded `vhost-device` started now).
pub fn connect_default() -> Result<Arc<dyn Transport>, TransportError> {
    // Held across the connect, so two threads creating instances at once share one device.
    let mut slot = SHARED_TRANSPORT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(live) = slot.as_ref().and_then(Weak::upgrade) {
        return Ok(live);
    }
    let options = vhost_user::VhostUserOptions::from_env()?;
    let transport: Arc<dyn Transport> = Arc::new(vhost_user::VhostUserTransport::connect(&options)?);
    *slot = Some(Arc::downgrade(&transport));
    Ok(transport)
}

/// One device-memory block: a guest-RAM-backed virtio-gpu resource, attached to our context
/// and mapped contiguously into this process (read + write).
#[derive(Debug)]
pub struct MemoryBlock {
    /// virtio-gpu resource id: what the command stream names ([`protocol::stream::GuestLocation`]).
    pub resource_id: u32,
    /// Start of this process's mapping of the block; valid for `size` bytes until
    /// [`Transport::destroy_memory`].
    pub ptr: *mut u8,
    pub size: u64,
}

// SAFETY: `MemoryBlock` is a description of a mapping (id, address, size); the mapping itself
// is shared memory that any thread may access, as Vulkan allows for mapped memory.
unsafe impl Send for MemoryBlock {}
// SAFETY: as for `Send`: `&MemoryBlock` only exposes the address, never a reference into it.
unsafe impl Sync for MemoryBlock {}

/// A submission's fence: completes when the device has finished the submission.
pub type FenceId = u64;

#[derive(Debug, Error)]
pub enum TransportError {
    /// The device is gone or answered a submission with an error: VK_ERROR_DEVICE_LOST.
    #[error("device lost: {0}")]
    DeviceLost(String),
    /// No device to talk to (no socket, spawn failed, capset missing or of another version):
    /// VK_ERROR_INITIALIZATION_FAILED, and the ICD exposes no physical device.
    #[error("no softgpu device: {0}")]
    Unavailable(String),
    /// Guest RAM or device memory budget exhausted: VK_ERROR_OUT_OF_DEVICE_MEMORY.
    #[error("out of device memory: {0}")]
    OutOfDeviceMemory(String),
    /// VK_ERROR_OUT_OF_HOST_MEMORY.
    #[error("out of host memory: {0}")]
    OutOfHostMemory(String),
}

/// The ICD's connection to one softgpu device with one 3D context.
pub trait Transport: Send + Sync {
    /// Our capset blob (id [`protocol::SOFTGPU_CAPSET_VK`]) as the device sent it; already
    /// checked by [`protocol::Capset::decode`].
    fn capset(&self) -> &protocol::Capset;

    /// Allocates a block of `size` bytes (rounded up to 4 KiB), zero-filled, attached to our
    /// context and mapped into this process.
    fn create_memory(&self, size: u64) -> Result<MemoryBlock, TransportError>;

    /// Unreferences the block's resource and unmaps it here. The device keeps its own view
    /// until work that uses it has finished.
    fn destroy_memory(&self, block: MemoryBlock);

    /// Sends one command stream ([`protocol::stream`]) as a fenced `SUBMIT_3D` in our context
    /// and returns without waiting. Fences complete in submission order.
    fn submit(&self, stream: &[u8]) -> Result<FenceId, TransportError>;

    /// Waits until `fence` has completed or `timeout_ns` passed (`u64::MAX`: forever).
    /// `Ok(true)`: completed; `Ok(false)`: timed out; `Err(DeviceLost)`: the device answered
    /// that submission (or an earlier one) with an error, or went away.
    fn wait(&self, fence: FenceId, timeout_ns: u64) -> Result<bool, TransportError>;

    /// True if `fence` has completed (non-blocking).
    fn is_complete(&self, fence: FenceId) -> Result<bool, TransportError> {
        self.wait(fence, 0)
    }
}
