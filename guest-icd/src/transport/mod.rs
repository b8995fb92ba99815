//! How the ICD reaches the device. All Vulkan behaviour lives above this trait; only the
//! transport differs between a VM (virtgpu DRM ioctls on a render node) and the host
//! (vhost-user, with the ICD playing VMM and guest kernel).

use std::sync::{Arc, Mutex, Weak};

use thiserror::Error;

pub mod vhost_user;
pub mod virtgpu;

pub use crate::object_caps::ClientAccount;

/// The process-wide device connection: every VkInstance shares it while any holds it; when
/// the last `Arc` drops, the connection closes and the device releases everything.
static SHARED_TRANSPORT: Mutex<Option<Weak<dyn Transport>>> = Mutex::new(None);

/// Which transport `SOFTGPU_TRANSPORT` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportChoice {
    /// Unset: virtgpu if a virtio-gpu render node with our capset exists, else vhost-user.
    Auto,
    Virtgpu,
    VhostUser,
}

impl TransportChoice {
    pub fn parse(value: Option<&str>) -> Result<TransportChoice, TransportError> {
        match value.map(str::trim) {
            None | Some("") | Some("auto") => Ok(TransportChoice::Auto),
            Some("virtgpu") => Ok(TransportChoice::Virtgpu),
            Some("vhost-user") => Ok(TransportChoice::VhostUser),
            Some(other) => Err(TransportError::Unavailable(format!(
                "SOFTGPU_TRANSPORT={other:?}: expected \"virtgpu\", \"vhost-user\" or \"auto\""
            ))),
        }
    }

    pub fn from_env() -> Result<TransportChoice, TransportError> {
        Self::parse(std::env::var("SOFTGPU_TRANSPORT").ok().as_deref())
    }
}

/// The transport for this process: the live one if any, else a new one as
/// `SOFTGPU_TRANSPORT` says (see [`TransportChoice`]); vhost-user connects to
/// `SOFTGPU_VHOST_SOCKET`, or to an embedded `vhost-device` started now.
pub fn connect_default() -> Result<Arc<dyn Transport>, TransportError> {
    // Held across the connect, so two threads creating instances at once share one device.
    let mut slot = SHARED_TRANSPORT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(live) = slot.as_ref().and_then(Weak::upgrade) {
        return Ok(live);
    }
    let transport = connect_new(
        TransportChoice::from_env()?,
        || {
            let mode = virtgpu::FenceMode::from_env()?;
            let dri = std::path::Path::new(virtgpu::discovery::DRI_DIR);
            Ok(Arc::new(virtgpu::VirtgpuTransport::open(dri, mode)?) as Arc<dyn Transport>)
        },
        || {
            let options = vhost_user::VhostUserOptions::from_env()?;
            Ok(Arc::new(vhost_user::VhostUserTransport::connect(&options)?) as Arc<dyn Transport>)
        },
    )?;
    *slot = Some(Arc::downgrade(&transport));
    Ok(transport)
}

/// The selection policy of [`connect_default`], with the two connects injectable (tests).
/// `Auto` tries virtgpu first; when it is unavailable, the reason is logged and vhost-user is
/// tried; if both fail, the error names both reasons.
fn connect_new(
    choice: TransportChoice,
    virtgpu: impl FnOnce() -> Result<Arc<dyn Transport>, TransportError>,
    vhost_user: impl FnOnce() -> Result<Arc<dyn Transport>, TransportError>,
) -> Result<Arc<dyn Transport>, TransportError> {
    match choice {
        TransportChoice::Virtgpu => virtgpu(),
        TransportChoice::VhostUser => vhost_user(),
        TransportChoice::Auto => match virtgpu() {
            Err(TransportError::Unavailable(why_virtgpu)) => {
                log::info!("virtgpu transport unavailable ({why_virtgpu}); trying vhost-user");
                vhost_user().map_err(|e| match e {
                    TransportError::Unavailable(why) => TransportError::Unavailable(format!(
                        "virtgpu: {why_virtgpu}; vhost-user: {why}"
                    )),
                    other => other,
                })
            }
            other => other,
        },
    }
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

/// Device memory blocks are whole pages of guest RAM.
pub const BLOCK_PAGE_SIZE: u64 = 4096;

/// The size a [`Transport::create_memory`] of `size` bytes allocates: refused when zero or
/// above the device's maximum allocation, else rounded up to whole pages.
pub fn block_size(capset: &protocol::Capset, size: u64) -> Result<u64, TransportError> {
    if size == 0 || size > capset.max_memory_allocation_size {
        return Err(TransportError::OutOfDeviceMemory(format!(
            "block of {size} bytes (device maximum {})",
            capset.max_memory_allocation_size
        )));
    }
    size.checked_next_multiple_of(BLOCK_PAGE_SIZE)
        .ok_or_else(|| TransportError::OutOfDeviceMemory(format!("block of {size} bytes")))
}

/// The ICD's connection to one softgpu device with one 3D context.
pub trait Transport: Send + Sync {
    /// Our capset blob (id [`protocol::SOFTGPU_CAPSET_VK`]) as the device sent it; already
    /// checked by [`protocol::Capset::decode`].
    fn capset(&self) -> &protocol::Capset;

    /// What this connection's client holds of the device's per-client caps, shared by every
    /// VkDevice on the connection ([`ClientAccount`] says what is mirrored and why).
    fn client(&self) -> &ClientAccount;

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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;

    struct NullTransport(protocol::Capset, ClientAccount);

    impl Transport for NullTransport {
        fn capset(&self) -> &protocol::Capset {
            &self.0
        }
        fn client(&self) -> &ClientAccount {
            &self.1
        }
        fn create_memory(&self, _: u64) -> Result<MemoryBlock, TransportError> {
            Err(TransportError::OutOfDeviceMemory("null transport".into()))
        }
        fn destroy_memory(&self, _: MemoryBlock) {}
        fn submit(&self, _: &[u8]) -> Result<FenceId, TransportError> {
            Err(TransportError::DeviceLost("null transport".into()))
        }
        fn wait(&self, _: FenceId, _: u64) -> Result<bool, TransportError> {
            Err(TransportError::DeviceLost("null transport".into()))
        }
    }

    /// A transport whose capset's `threads` tells which connect made it.
    fn made_by(tag: u32) -> Result<Arc<dyn Transport>, TransportError> {
        let mut words = [0u32; protocol::Capset::ENCODED_SIZE / 4];
        words[0] = protocol::capset::CAPSET_MAGIC;
        words[1] = protocol::PROTOCOL_VERSION;
        words[2] = words.len() as u32;
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut capset = protocol::Capset::decode(&bytes)
            .map_err(|e| TransportError::Unavailable(e.to_string()))?;
        capset.threads = tag;
        Ok(Arc::new(NullTransport(capset, ClientAccount::new(&capset))))
    }

    fn tag(t: Result<Arc<dyn Transport>, TransportError>) -> Result<u32, String> {
        t.map(|t| t.capset().threads).map_err(|e| e.to_string())
    }

    fn unavailable(why: &str) -> Result<Arc<dyn Transport>, TransportError> {
        Err(TransportError::Unavailable(why.into()))
    }

    const VIRTGPU: u32 = 1;
    const VHOST: u32 = 2;

    #[test]
    fn auto_prefers_virtgpu_and_never_starts_vhost_user_then() {
        let t = connect_new(
            TransportChoice::Auto,
            || made_by(VIRTGPU),
            || panic!("vhost-user must not be tried"),
        );
        assert_eq!(tag(t), Ok(VIRTGPU));
    }

    #[test]
    fn auto_falls_back_to_vhost_user_without_a_virtgpu_node() {
        let t = connect_new(
            TransportChoice::Auto,
            || unavailable("no render nodes in /dev/dri"),
            || made_by(VHOST),
        );
        assert_eq!(tag(t), Ok(VHOST));
    }

    #[test]
    fn auto_names_both_reasons_when_neither_transport_is_there() {
        let t = connect_new(
            TransportChoice::Auto,
            || unavailable("the device offers capsets [1] but not softgpu's (24)"),
            || unavailable("no vhost-device binary"),
        );
        let e = tag(t).unwrap_err();
        assert!(
            e.contains("virtgpu: the device offers capsets [1] but not softgpu's (24)"),
            "{e}"
        );
        assert!(e.contains("vhost-user: no vhost-device binary"), "{e}");
    }

    #[test]
    fn auto_does_not_hide_a_virtgpu_failure_other_than_unavailable() {
        let t = connect_new(
            TransportChoice::Auto,
            || Err(TransportError::DeviceLost("EXECBUFFER: EIO".into())),
            || panic!("vhost-user must not be tried"),
        );
        assert!(tag(t).unwrap_err().contains("EIO"));
    }

    #[test]
    fn a_forced_transport_is_the_only_one_tried() {
        let t = connect_new(
            TransportChoice::Virtgpu,
            || unavailable("no node"),
            || panic!("not forced"),
        );
        assert!(tag(t).unwrap_err().contains("no node"));
        let t = connect_new(
            TransportChoice::VhostUser,
            || panic!("not forced"),
            || made_by(VHOST),
        );
        assert_eq!(tag(t), Ok(VHOST));
    }

    #[test]
    fn transport_choice_parses_the_documented_values_only() {
        assert_eq!(TransportChoice::parse(None).unwrap(), TransportChoice::Auto);
        assert_eq!(
            TransportChoice::parse(Some("")).unwrap(),
            TransportChoice::Auto
        );
        assert_eq!(
            TransportChoice::parse(Some("virtgpu")).unwrap(),
            TransportChoice::Virtgpu
        );
        assert_eq!(
            TransportChoice::parse(Some("vhost-user")).unwrap(),
            TransportChoice::VhostUser
        );
        assert!(TransportChoice::parse(Some("drm")).is_err());
    }
}
