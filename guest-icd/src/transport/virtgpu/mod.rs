//! The guest transport: DRM ioctls on a virtio-gpu render node, inside a VM.
//!
//! * [`uapi`]: the ioctl structs and numbers (Linux `drm.h`, `virtgpu_drm.h`).
//! * [`render_node`]: the open node and safe wrappers of each ioctl.
//! * [`discovery`]: finding the node with softgpu's capset (id 24).
//! * [`fences`]: sync_file fences, with `VIRTGPU_WAIT` as the fallback.
//! * this file: [`VirtgpuTransport`].
//!
//! The kernel does the virtio-gpu work the host transport does by hand: it creates our context
//! (with CONTEXT_INIT and capset 24 where offered, else implicitly with `context_init == 0` at
//! the first resource or execbuffer), allocates and attaches resource backing, attaches every
//! resource created through our fd to our context, and turns `EXECBUFFER` into a fenced
//! `SUBMIT_3D`. Device memory is a `PIPE_BUFFER` 3D resource (stock QEMU 10), or a guest blob
//! where `RESOURCE_BLOB` is offered, mapped once with `VIRTGPU_MAP` + `mmap` (DESIGN §3).

pub mod discovery;
pub mod fences;
pub mod render_node;
pub mod uapi;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use discovery::{NodeFeatures, VirtgpuNode};
use fences::Fences;
use render_node::{BufferObject, DrmError, RenderNode};
use uapi::{
    VirtgpuContextSetParam, VIRTGPU_CONTEXT_PARAM_CAPSET_ID, VIRTGPU_CONTEXT_PARAM_NUM_RINGS,
};

use super::{FenceId, MemoryBlock, Transport, TransportError};

/// Allocation granule: guest pages.
const PAGE_SIZE: u64 = super::BLOCK_PAGE_SIZE;

/// How fences are waited for (`SOFTGPU_VIRTGPU_FENCES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FenceMode {
    /// A sync_file per submission (default).
    SyncFile,
    /// Every submission carries the timeline buffer object; waits are `VIRTGPU_WAIT`.
    TimelineBo,
}

impl FenceMode {
    pub fn from_env() -> Result<FenceMode, TransportError> {
        match std::env::var("SOFTGPU_VIRTGPU_FENCES").as_deref() {
            Err(_) | Ok("") | Ok("sync-file") => Ok(FenceMode::SyncFile),
            Ok("bo") => Ok(FenceMode::TimelineBo),
            Ok(other) => Err(TransportError::Unavailable(format!(
                "SOFTGPU_VIRTGPU_FENCES={other:?}: expected \"sync-file\" or \"bo\""
            ))),
        }
    }
}

struct LiveBlock {
    gem_handle: u32,
    ptr: *mut u8,
    len: usize,
}

// SAFETY: `ptr` is the address of a shared mapping owned by the block; it is only unmapped
// (by whichever thread destroys the block), never dereferenced here.
unsafe impl Send for LiveBlock {}

/// [`Transport`] over a virtio-gpu render node.
pub struct VirtgpuTransport {
    path: PathBuf,
    capset: protocol::Capset,
    /// What this connection holds of the device's per-client caps.
    client: super::ClientAccount,
    features: NodeFeatures,
    /// `Some(0)`: our context was made with CONTEXT_INIT and one ring, which submissions name.
    ring: Option<u32>,
    fence_mode: FenceMode,
    blocks: Mutex<HashMap<u32, LiveBlock>>,
    fences: Fences,
    /// Last: the fd closes after every block was unmapped.
    node: RenderNode,
}

impl VirtgpuTransport {
    /// Finds the node under `dri_dir` (normally [`discovery::DRI_DIR`]) and sets up our context.
    pub fn open(dri_dir: &Path, fence_mode: FenceMode) -> Result<VirtgpuTransport, TransportError> {
        let (path, found) = discovery::select_render_node(dri_dir, discovery::probe_virtgpu_node)
            .map_err(|e| TransportError::Unavailable(e.to_string()))?;
        Self::on_node(path, found, fence_mode)
    }

    /// Sets up our context on a node [`discovery::probe_virtgpu_node`] accepted.
    pub fn on_node(
        path: PathBuf,
        found: VirtgpuNode,
        fence_mode: FenceMode,
    ) -> Result<VirtgpuTransport, TransportError> {
        let VirtgpuNode {
            node,
            capset,
            features,
        } = found;
        let unavailable =
            |e: DrmError| TransportError::Unavailable(format!("{}: {e}", path.display()));
        // CONTEXT_INIT must come first: any resource creation or execbuffer creates the
        // context implicitly (context_init = 0), after which CONTEXT_INIT fails with EEXIST.
        let ring = if features.context_init {
            let params = [
                VirtgpuContextSetParam {
                    param: VIRTGPU_CONTEXT_PARAM_CAPSET_ID,
                    value: protocol::SOFTGPU_CAPSET_VK.into(),
                },
                VirtgpuContextSetParam {
                    param: VIRTGPU_CONTEXT_PARAM_NUM_RINGS,
                    value: 1,
                },
            ];
            node.context_init(&params).map_err(unavailable)?;
            Some(0)
        } else {
            None
        };
        // The timeline object exists in every mode (one page), so a submission that cannot
        // get a sync_file still has something to wait on.
        let timeline = node
            .create_buffer_resource(PAGE_SIZE as u32)
            .map_err(unavailable)?;
        log::info!(
            "virtgpu transport on {}: context {}, memory as {}, fences via {:?}",
            path.display(),
            if ring.is_some() {
                "CONTEXT_INIT capset 24, 1 ring"
            } else {
                "implicit (context_init 0)"
            },
            if features.resource_blob {
                "guest blobs"
            } else {
                "3D buffer resources"
            },
            fence_mode
        );
        Ok(VirtgpuTransport {
            path,
            client: super::ClientAccount::new(&capset),
            capset,
            features,
            ring,
            fence_mode,
            blocks: Mutex::new(HashMap::new()),
            fences: Fences::new(timeline.gem_handle),
            node,
        })
    }

    /// The render node in use.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn features(&self) -> NodeFeatures {
        self.features
    }

    fn blocks(&self) -> std::sync::MutexGuard<'_, HashMap<u32, LiveBlock>> {
        self.blocks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn create_bo(&self, size: u64) -> Result<BufferObject, TransportError> {
        let created = if self.features.resource_blob {
            self.node.create_guest_blob(size)
        } else {
            let size = u32::try_from(size).map_err(|_| {
                TransportError::OutOfDeviceMemory(format!(
                    "{size} bytes exceeds a 3D buffer resource's 4 GiB"
                ))
            })?;
            self.node.create_buffer_resource(size)
        };
        created.map_err(|e| match e.errno() {
            Some(libc::ENOMEM) | Some(libc::ENOSPC) => {
                TransportError::OutOfDeviceMemory(e.to_string())
            }
            _ => TransportError::DeviceLost(e.to_string()),
        })
    }
}

impl Transport for VirtgpuTransport {
    fn capset(&self) -> &protocol::Capset {
        &self.capset
    }

    fn client(&self) -> &super::ClientAccount {
        &self.client
    }

    fn create_memory(&self, size: u64) -> Result<MemoryBlock, TransportError> {
        let size = super::block_size(&self.capset, size)?;
        let len = usize::try_from(size)
            .map_err(|_| TransportError::OutOfHostMemory(format!("block of {size} bytes")))?;
        let bo = self.create_bo(size)?;
        let ptr = match self.node.map(bo.gem_handle, len) {
            Ok(p) => p,
            Err(e) => {
                if let Err(c) = self.node.gem_close(bo.gem_handle) {
                    log::error!("GEM_CLOSE of resource {}: {c}", bo.resource_id);
                }
                return Err(TransportError::OutOfHostMemory(format!(
                    "mapping a {size}-byte block: {e}"
                )));
            }
        };
        self.blocks().insert(
            bo.resource_id,
            LiveBlock {
                gem_handle: bo.gem_handle,
                ptr,
                len,
            },
        );
        Ok(MemoryBlock {
            resource_id: bo.resource_id,
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
        // SAFETY: `live.ptr`/`live.len` are exactly the mapping `create_memory` made; the block
        // was removed from the table, so no other path unmaps it again.
        if unsafe { libc::munmap(live.ptr.cast(), live.len) } != 0 {
            log::error!(
                "munmap of resource {}: {}",
                block.resource_id,
                std::io::Error::last_os_error()
            );
        }
        if let Err(e) = self.node.gem_close(live.gem_handle) {
            log::error!("GEM_CLOSE of resource {}: {e}", block.resource_id);
        }
    }

    fn submit(&self, stream: &[u8]) -> Result<FenceId, TransportError> {
        if u32::try_from(stream.len()).map_or(true, |s| s > self.capset.max_stream_size) {
            return Err(TransportError::OutOfHostMemory(format!(
                "command stream of {} bytes exceeds the device's {}",
                stream.len(),
                self.capset.max_stream_size
            )));
        }
        let failed = |e: DrmError| match e.errno() {
            Some(libc::ENOMEM) => TransportError::OutOfHostMemory(e.to_string()),
            _ => TransportError::DeviceLost(e.to_string()),
        };
        let timeline = [self.fences.timeline_bo()];
        let mut st = self.fences.lock();
        st.prune_signalled();
        let sync_file = match self.fence_mode {
            FenceMode::SyncFile => match self.node.execbuffer(stream, true, self.ring, &[]) {
                Ok(fd) => fd,
                // No fd left for the sync_file: the kernel fails before submitting; send it
                // again on the timeline object.
                Err(e) if matches!(e.errno(), Some(libc::EMFILE) | Some(libc::ENFILE)) => {
                    log::warn!("{e}: waiting for this submission with VIRTGPU_WAIT");
                    self.node
                        .execbuffer(stream, false, self.ring, &timeline)
                        .map_err(failed)?
                }
                Err(e) => return Err(failed(e)),
            },
            FenceMode::TimelineBo => self
                .node
                .execbuffer(stream, false, self.ring, &timeline)
                .map_err(failed)?,
        };
        Ok(st.push(sync_file))
    }

    fn wait(&self, fence: FenceId, timeout_ns: u64) -> Result<bool, TransportError> {
        self.fences.wait(&self.node, fence, timeout_ns)
    }
}

impl Drop for VirtgpuTransport {
    fn drop(&mut self) {
        let blocks = std::mem::take(&mut *self.blocks());
        for (_, live) in blocks {
            // SAFETY: as in `destroy_memory`: the block's own mapping, taken out of the table.
            unsafe { libc::munmap(live.ptr.cast(), live.len) };
        }
        // Closing the fd (field drop) releases the GEM handles, the context and its fences.
    }
}
