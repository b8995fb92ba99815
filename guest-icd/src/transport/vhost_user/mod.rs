//! The host transport: the ICD plays VMM and guest kernel and speaks vhost-user to the device.
//!
//! * [`guest_ram`], [`page_allocator`]: a sparse memfd as guest RAM and its page allocator.
//! * [`virtqueue`]: our driver-side split virtqueue.
//! * [`frontend`]: vhost-user negotiation and ring start-up (the `vhost` crate's frontend).
//! * [`connection`]: [`VhostUserGpu`], the raw virtio-gpu driver core (public for tests).
//! * [`embedded`]: spawning `vhost-device --embedded` when no socket is given.
//! * this file: [`VhostUserTransport`], the [`Transport`] built on those — capset discovery,
//!   our context, memory blocks as guest-RAM resources, fenced submissions.

pub mod block_mapping;
pub mod connection;
pub mod embedded;
pub mod frontend;
pub mod gpu_commands;
pub mod guest_ram;
pub mod page_allocator;
pub mod virtqueue;

#[cfg(test)]
mod mock_device;

use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use virtio_bindings::virtio_gpu::{
    virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY as RESP_ERR_OUT_OF_MEMORY,
    virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_CAPSET as RESP_OK_CAPSET,
    virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_CAPSET_INFO as RESP_OK_CAPSET_INFO,
    virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_NODATA as RESP_OK_NODATA, VIRTIO_GPU_F_CONTEXT_INIT,
    VIRTIO_GPU_F_RESOURCE_BLOB,
};

pub use connection::{Reply, VhostUserGpu};
pub use frontend::FeatureOptions;

use block_mapping::BlockMapping;
use embedded::EmbeddedDevice;
use gpu_commands::{self as cmd, CTRL_HDR_SIZE};
use guest_ram::GuestRam;
use page_allocator::{PageRun, PAGE_SIZE};

use super::{FenceId, MemoryBlock, Transport, TransportError};

/// Default guest RAM: 16 GiB of address space, backed only where written.
pub const DEFAULT_GUEST_RAM_MB: u64 = 16 * 1024;
/// The one context this transport creates.
const CTX_ID: u32 = 1;
/// Largest capset blob we accept from the device.
const MAX_CAPSET_SIZE: u32 = 64 * 1024;
/// Capset indices we look at, whatever `num_capsets` claims.
const MAX_CAPSETS: u32 = 64;

/// Configuration from the environment (see the brief's variables).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VhostUserOptions {
    pub features: FeatureOptions,
    pub guest_ram_bytes: u64,
    /// `SOFTGPU_VHOST_SOCKET`; `None`: the embedded default.
    pub socket: Option<std::path::PathBuf>,
}

impl VhostUserOptions {
    pub fn from_env() -> Result<VhostUserOptions, TransportError> {
        let features =
            FeatureOptions::parse(&std::env::var("SOFTGPU_VHOST_FEATURES").unwrap_or_default())?;
        let mb = match std::env::var("SOFTGPU_GUEST_RAM_MB") {
            Ok(v) => v.trim().parse::<u64>().map_err(|_| {
                TransportError::Unavailable(format!(
                    "SOFTGPU_GUEST_RAM_MB={v:?} is not a number of MiB"
                ))
            })?,
            Err(_) => DEFAULT_GUEST_RAM_MB,
        };
        let guest_ram_bytes = mb.checked_mul(1 << 20).ok_or_else(|| {
            TransportError::Unavailable(format!("SOFTGPU_GUEST_RAM_MB={mb} is too large"))
        })?;
        let socket = std::env::var_os("SOFTGPU_VHOST_SOCKET")
            .filter(|s| !s.is_empty())
            .map(Into::into);
        Ok(VhostUserOptions {
            features,
            guest_ram_bytes,
            socket,
        })
    }
}

struct LiveBlock {
    pages: Vec<PageRun>,
    mapping: BlockMapping,
}

/// [`Transport`] over vhost-user. Field order matters for drop: the connection closes before
/// the embedded device is reaped.
pub struct VhostUserTransport {
    gpu: VhostUserGpu,
    capset: protocol::Capset,
    /// What this connection holds of the device's per-client caps.
    client: super::ClientAccount,
    blob: bool,
    next_resource: AtomicU32,
    blocks: Mutex<HashMap<u32, LiveBlock>>,
    embedded: Option<EmbeddedDevice>,
}

impl VhostUserTransport {
    /// Connects as `options` say: to `SOFTGPU_VHOST_SOCKET`, or to a freshly spawned
    /// embedded device.
    pub fn connect(options: &VhostUserOptions) -> Result<VhostUserTransport, TransportError> {
        match &options.socket {
            Some(path) => {
                let stream = UnixStream::connect(path).map_err(|e| {
                    TransportError::Unavailable(format!(
                        "SOFTGPU_VHOST_SOCKET={}: {e}",
                        path.display()
                    ))
                })?;
                Self::on_stream(stream, options, None)
            }
            None => {
                let (device, stream) = EmbeddedDevice::start()?;
                let log = device.log_path().to_path_buf();
                Self::on_stream(stream, options, Some(device)).map_err(|e| match e {
                    TransportError::Unavailable(m) => {
                        TransportError::Unavailable(format!("{m} (device log: {})", log.display()))
                    }
                    other => other,
                })
            }
        }
    }

    /// Brings up the device on an already connected stream.
    pub fn on_stream(
        stream: UnixStream,
        options: &VhostUserOptions,
        embedded: Option<EmbeddedDevice>,
    ) -> Result<VhostUserTransport, TransportError> {
        let gpu = VhostUserGpu::connect(stream, options.features, options.guest_ram_bytes)?;
        let capset = read_capset(&gpu)?;
        let negotiated = gpu.negotiated();
        let context_init = if negotiated.has(VIRTIO_GPU_F_CONTEXT_INIT) {
            protocol::SOFTGPU_CAPSET_VK
        } else {
            0
        };
        expect_ok(
            &gpu,
            &cmd::ctx_create(CTX_ID, context_init, "softgpu-icd"),
            "CTX_CREATE",
        )?;
        Ok(VhostUserTransport {
            gpu,
            client: super::ClientAccount::new(&capset),
            capset,
            blob: negotiated.has(VIRTIO_GPU_F_RESOURCE_BLOB),
            next_resource: AtomicU32::new(1),
            blocks: Mutex::new(HashMap::new()),
            embedded,
        })
    }

    /// The raw connection (tests).
    pub fn gpu(&self) -> &VhostUserGpu {
        &self.gpu
    }

    /// The embedded device's pid, if this transport started one.
    pub fn embedded_pid(&self) -> Option<i32> {
        self.embedded.as_ref().map(EmbeddedDevice::pid)
    }

    fn create_resource(
        &self,
        resource_id: u32,
        size: u64,
        pages: &[PageRun],
    ) -> Result<(), TransportError> {
        let page_count: u64 = pages.iter().map(|r| r.count).sum();
        let nr_entries = u32::try_from(page_count).map_err(|_| {
            TransportError::OutOfDeviceMemory(format!("{size} bytes is too many backing pages"))
        })?;
        let gpas = pages
            .iter()
            .flat_map(|r| r.first..r.end())
            .map(GuestRam::gpa_of_page);
        let entries = cmd::mem_entries(gpas, PAGE_SIZE as u32);
        if self.blob {
            let req = cmd::resource_create_blob_guest(resource_id, size, &[], nr_entries);
            expect_ok_parts(&self.gpu, &[&req, &entries], "RESOURCE_CREATE_BLOB")?;
        } else {
            let width = u32::try_from(size).map_err(|_| {
                TransportError::OutOfDeviceMemory(format!(
                    "{size} bytes exceeds a 3D buffer resource's 4 GiB"
                ))
            })?;
            expect_ok(
                &self.gpu,
                &cmd::resource_create_buffer_3d(resource_id, CTX_ID, width),
                "RESOURCE_CREATE_3D",
            )?;
            let req = cmd::resource_attach_backing(resource_id, &[], nr_entries);
            if let Err(e) = expect_ok_parts(&self.gpu, &[&req, &entries], "RESOURCE_ATTACH_BACKING")
            {
                let _ = self
                    .gpu
                    .send_then_free(&cmd::resource_unref(resource_id), Vec::new());
                return Err(e);
            }
        }
        if let Err(e) = expect_ok(
            &self.gpu,
            &cmd::ctx_attach_resource(CTX_ID, resource_id),
            "CTX_ATTACH_RESOURCE",
        ) {
            let _ = self
                .gpu
                .send_then_free(&cmd::resource_unref(resource_id), Vec::new());
            return Err(e);
        }
        Ok(())
    }

    fn blocks(&self) -> std::sync::MutexGuard<'_, HashMap<u32, LiveBlock>> {
        self.blocks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Transport for VhostUserTransport {
    fn capset(&self) -> &protocol::Capset {
        &self.capset
    }

    fn client(&self) -> &super::ClientAccount {
        &self.client
    }

    fn create_memory(&self, size: u64) -> Result<MemoryBlock, TransportError> {
        let size = super::block_size(&self.capset, size)?;
        let ram = self.gpu.guest_ram();
        let pages = ram.alloc_block_pages(size / PAGE_SIZE).ok_or_else(|| {
            TransportError::OutOfDeviceMemory(format!("guest RAM has no {size} bytes left"))
        })?;
        let mapping = match BlockMapping::map(ram.file(), &pages) {
            Ok(m) => m,
            Err(e) => {
                ram.free_block_pages(&pages);
                return Err(TransportError::OutOfHostMemory(format!(
                    "mapping a {size}-byte block: {e}"
                )));
            }
        };
        let resource_id = self.next_resource.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.create_resource(resource_id, size, &pages) {
            drop(mapping);
            // The device may hold a half-made resource (its UNREF is on the way): never reuse
            // pages it might still see. A lost device makes this moot.
            return Err(e);
        }
        let ptr = mapping.ptr();
        self.blocks()
            .insert(resource_id, LiveBlock { pages, mapping });
        Ok(MemoryBlock {
            resource_id,
            ptr,
            size,
        })
    }

    fn destroy_memory(&self, block: MemoryBlock) {
        let Some(live) = self.blocks().remove(&block.resource_id) else {
            log::error!(
                "destroy_memory: resource {} is not a live block",
                block.resource_id
            );
            return;
        };
        drop(live.mapping);
        // The pages are reused only once the device has answered the UNREF (as Linux frees
        // a resource's shmem pages only in the response callback).
        if let Err(e) = self
            .gpu
            .send_then_free(&cmd::resource_unref(block.resource_id), live.pages)
        {
            log::error!("RESOURCE_UNREF of {}: {e}", block.resource_id);
        }
    }

    fn submit(&self, stream: &[u8]) -> Result<FenceId, TransportError> {
        let size = u32::try_from(stream.len())
            .ok()
            .filter(|&s| s <= self.capset.max_stream_size)
            .ok_or_else(|| {
                TransportError::OutOfHostMemory(format!(
                    "command stream of {} bytes exceeds the device's {}",
                    stream.len(),
                    self.capset.max_stream_size
                ))
            })?;
        self.gpu
            .submit_fenced(|fence| cmd::submit_3d_header(CTX_ID, fence, size), stream)
    }

    fn wait(&self, fence: FenceId, timeout_ns: u64) -> Result<bool, TransportError> {
        self.gpu.wait_fence(fence, timeout_ns)
    }
}

fn expect_ok(gpu: &VhostUserGpu, request: &[u8], what: &str) -> Result<(), TransportError> {
    expect_ok_parts(gpu, &[request], what)
}

fn expect_ok_parts(gpu: &VhostUserGpu, parts: &[&[u8]], what: &str) -> Result<(), TransportError> {
    let reply = gpu.call(parts, CTRL_HDR_SIZE)?;
    match cmd::response_type(&reply.response) {
        Some(RESP_OK_NODATA) => Ok(()),
        Some(RESP_ERR_OUT_OF_MEMORY) => Err(TransportError::OutOfDeviceMemory(format!(
            "{what}: device out of memory"
        ))),
        Some(k) => Err(TransportError::DeviceLost(format!(
            "{what} answered {}",
            cmd::response_name(k)
        ))),
        None => Err(TransportError::DeviceLost(format!(
            "{what}: short response"
        ))),
    }
}

/// GET_CAPSET_INFO over the config's capsets, then GET_CAPSET of ours (id 24), decoded.
fn read_capset(gpu: &VhostUserGpu) -> Result<protocol::Capset, TransportError> {
    let unavailable = |m: String| TransportError::Unavailable(m);
    let num = gpu.negotiated().num_capsets;
    let mut found = None;
    for index in 0..num.min(MAX_CAPSETS) {
        let resp = gpu.send_raw(&cmd::get_capset_info(index), CTRL_HDR_SIZE + 16)?;
        if cmd::response_type(&resp) != Some(RESP_OK_CAPSET_INFO) {
            return Err(unavailable(format!(
                "GET_CAPSET_INFO {index}: unexpected response {:?}",
                cmd::response_type(&resp)
            )));
        }
        let field = |at| cmd::le_u32(&resp, CTRL_HDR_SIZE + at).unwrap_or(0);
        if field(0) == protocol::SOFTGPU_CAPSET_VK {
            found = Some((field(4), field(8)));
            break;
        }
    }
    let Some((version, size)) = found else {
        return Err(unavailable(format!(
            "the device lists no softgpu capset (id {}) among its {num} capsets",
            protocol::SOFTGPU_CAPSET_VK
        )));
    };
    if size == 0 || size > MAX_CAPSET_SIZE {
        return Err(unavailable(format!(
            "softgpu capset size {size} is out of range"
        )));
    }
    let resp = gpu.send_raw(
        &cmd::get_capset(protocol::SOFTGPU_CAPSET_VK, version),
        CTRL_HDR_SIZE + size as usize,
    )?;
    if cmd::response_type(&resp) != Some(RESP_OK_CAPSET) {
        return Err(unavailable(format!(
            "GET_CAPSET: unexpected response {:?}",
            cmd::response_type(&resp)
        )));
    }
    protocol::Capset::decode(resp.get(CTRL_HDR_SIZE..).unwrap_or(&[]))
        .map_err(|e| unavailable(format!("softgpu capset refused: {e}")))
}
