//! One open virtio-gpu DRM render node and the ioctls we issue on it, as safe methods. This is
//! the only file of the transport that calls `ioctl`/`mmap`; each call passes a `#[repr(C)]`
//! struct from [`super::uapi`] that lives across the call.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use thiserror::Error;

use super::uapi::{self, *};

/// An ioctl (or mmap) on the render node failed.
#[derive(Debug, Error)]
#[error("{what}: {source}")]
pub struct DrmError {
    pub what: &'static str,
    #[source]
    pub source: std::io::Error,
}

impl DrmError {
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

/// The kernel driver's name for virtio-gpu (`DRM_IOCTL_VERSION`).
pub const VIRTIO_GPU_DRIVER_NAME: &str = "virtio_gpu";

/// A buffer object created in this fd: its GEM handle and virtio-gpu resource id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferObject {
    pub gem_handle: u32,
    pub resource_id: u32,
}

/// An open render node. Closing it (drop) destroys the context and every buffer object the
/// process still holds through it.
#[derive(Debug)]
pub struct RenderNode {
    file: File,
}

impl RenderNode {
    pub fn open(path: &Path) -> std::io::Result<RenderNode> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(RenderNode { file })
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// Issues `request` with `arg`, retrying on EINTR/EAGAIN as libdrm's `drmIoctl` does.
    ///
    /// # Safety
    /// `request` must be an ioctl whose argument is a `T` (its size is encoded in `request`),
    /// and every user pointer inside `arg` must be valid for what the kernel reads or writes
    /// through it for the duration of the call.
    unsafe fn ioctl<T>(
        &self,
        what: &'static str,
        request: u32,
        arg: &mut T,
    ) -> Result<(), DrmError> {
        loop {
            // SAFETY: the caller guarantees `request` takes a `T` and its inner pointers are
            // valid; `arg` is a live exclusive reference for the call.
            let rc = unsafe {
                libc::ioctl(
                    self.file.as_raw_fd(),
                    libc::c_ulong::from(request),
                    arg as *mut T,
                )
            };
            if rc == 0 {
                return Ok(());
            }
            let err = std::io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) | Some(libc::EAGAIN) => continue,
                _ => return Err(DrmError { what, source: err }),
            }
        }
    }

    /// The DRM driver's name (`DRM_IOCTL_VERSION`).
    pub fn driver_name(&self) -> Result<String, DrmError> {
        let mut name = [0u8; 64];
        let mut v = uapi::DrmVersion {
            version_major: 0,
            version_minor: 0,
            version_patchlevel: 0,
            name_len: name.len(),
            name: name.as_mut_ptr(),
            date_len: 0,
            date: std::ptr::null_mut(),
            desc_len: 0,
            desc: std::ptr::null_mut(),
        };
        // SAFETY: DRM_IOCTL_VERSION takes a drm_version; `name` is writable for `name_len`
        // bytes and outlives the call; date/desc have length 0, so the kernel writes nothing
        // through their null pointers.
        unsafe { self.ioctl("DRM_IOCTL_VERSION", DRM_IOCTL_VERSION, &mut v)? };
        // The kernel reports the full length but copies at most `name.len()` bytes.
        let len = v.name_len.min(name.len());
        Ok(String::from_utf8_lossy(&name[..len])
            .trim_end_matches('\0')
            .to_string())
    }

    /// `VIRTGPU_GETPARAM`: the kernel writes one `int`.
    pub fn get_param(&self, param: u64) -> Result<i32, DrmError> {
        let mut value: i32 = 0;
        let mut p = VirtgpuGetparam {
            param,
            value: std::ptr::addr_of_mut!(value) as u64,
        };
        // SAFETY: GETPARAM takes a drm_virtgpu_getparam; `value` points at a live i32, the
        // `sizeof(int)` the kernel copies out.
        unsafe { self.ioctl("VIRTGPU_GETPARAM", DRM_IOCTL_VIRTGPU_GETPARAM, &mut p)? };
        Ok(value)
    }

    /// `VIRTGPU_GET_CAPS`: fills `out` with up to `out.len()` bytes of capset `id`/`version`
    /// (the kernel copies `min(out.len(), device's size)`, and does not say how many).
    pub fn get_caps(&self, id: u32, version: u32, out: &mut [u8]) -> Result<(), DrmError> {
        let size = u32::try_from(out.len()).map_err(|_| DrmError {
            what: "VIRTGPU_GET_CAPS",
            source: std::io::Error::from_raw_os_error(libc::EINVAL),
        })?;
        let mut c = VirtgpuGetCaps {
            cap_set_id: id,
            cap_set_ver: version,
            addr: out.as_mut_ptr() as u64,
            size,
            pad: 0,
        };
        // SAFETY: GET_CAPS takes a drm_virtgpu_get_caps; `addr` is writable for `size` bytes
        // and outlives the call.
        unsafe { self.ioctl("VIRTGPU_GET_CAPS", DRM_IOCTL_VIRTGPU_GET_CAPS, &mut c) }
    }

    /// `VIRTGPU_CONTEXT_INIT` with `params`. Must precede every other ioctl that creates the
    /// context implicitly (resource creation, execbuffer).
    pub fn context_init(&self, params: &[VirtgpuContextSetParam]) -> Result<(), DrmError> {
        let num_params = u32::try_from(params.len()).map_err(|_| DrmError {
            what: "VIRTGPU_CONTEXT_INIT",
            source: std::io::Error::from_raw_os_error(libc::EINVAL),
        })?;
        let mut c = VirtgpuContextInit {
            num_params,
            pad: 0,
            ctx_set_params: params.as_ptr() as u64,
        };
        // SAFETY: CONTEXT_INIT takes a drm_virtgpu_context_init; the kernel reads
        // `num_params` entries from `params`, which outlives the call.
        unsafe {
            self.ioctl(
                "VIRTGPU_CONTEXT_INIT",
                DRM_IOCTL_VIRTGPU_CONTEXT_INIT,
                &mut c,
            )
        }
    }

    /// `VIRTGPU_RESOURCE_CREATE` of a buffer (`PIPE_BUFFER`) of `size` bytes; the kernel
    /// allocates zeroed shmem backing and sends CREATE_3D + ATTACH_BACKING.
    pub fn create_buffer_resource(&self, size: u32) -> Result<BufferObject, DrmError> {
        let mut r = VirtgpuResourceCreate {
            target: PIPE_BUFFER,
            format: PIPE_FORMAT_R8_UNORM,
            bind: PIPE_BIND_CUSTOM,
            width: size,
            height: 1,
            depth: 1,
            array_size: 1,
            size,
            ..Default::default()
        };
        // SAFETY: RESOURCE_CREATE takes a drm_virtgpu_resource_create, which holds no pointers.
        unsafe {
            self.ioctl(
                "VIRTGPU_RESOURCE_CREATE",
                DRM_IOCTL_VIRTGPU_RESOURCE_CREATE,
                &mut r,
            )?
        };
        Ok(BufferObject {
            gem_handle: r.bo_handle,
            resource_id: r.res_handle,
        })
    }

    /// `VIRTGPU_RESOURCE_CREATE_BLOB` with guest memory, mappable.
    pub fn create_guest_blob(&self, size: u64) -> Result<BufferObject, DrmError> {
        let mut r = VirtgpuResourceCreateBlob {
            blob_mem: VIRTGPU_BLOB_MEM_GUEST,
            blob_flags: VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
            size,
            ..Default::default()
        };
        // SAFETY: RESOURCE_CREATE_BLOB takes a drm_virtgpu_resource_create_blob; `cmd_size`
        // is 0, so the kernel reads nothing through `cmd`.
        unsafe {
            self.ioctl(
                "VIRTGPU_RESOURCE_CREATE_BLOB",
                DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB,
                &mut r,
            )?
        };
        Ok(BufferObject {
            gem_handle: r.bo_handle,
            resource_id: r.res_handle,
        })
    }

    /// Maps `len` bytes of buffer object `gem_handle` read + write, shared (`VIRTGPU_MAP`,
    /// then `mmap` at the fake offset it returns).
    pub fn map(&self, gem_handle: u32, len: usize) -> Result<*mut u8, DrmError> {
        let mut m = VirtgpuMap {
            handle: gem_handle,
            ..Default::default()
        };
        // SAFETY: VIRTGPU_MAP takes a drm_virtgpu_map, which holds no pointers.
        unsafe { self.ioctl("VIRTGPU_MAP", DRM_IOCTL_VIRTGPU_MAP, &mut m)? };
        let offset = libc::off_t::try_from(m.offset).map_err(|_| DrmError {
            what: "mmap",
            source: std::io::Error::from_raw_os_error(libc::EOVERFLOW),
        })?;
        // SAFETY: a new shared mapping at an address the kernel picks; it replaces nothing.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.file.as_raw_fd(),
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(DrmError {
                what: "mmap",
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(ptr.cast())
    }

    /// Drops this fd's handle of a buffer object (`GEM_CLOSE`); the kernel unreferences the
    /// resource once nothing else holds it.
    pub fn gem_close(&self, gem_handle: u32) -> Result<(), DrmError> {
        let mut c = DrmGemClose {
            handle: gem_handle,
            pad: 0,
        };
        // SAFETY: GEM_CLOSE takes a drm_gem_close, which holds no pointers.
        unsafe { self.ioctl("DRM_IOCTL_GEM_CLOSE", DRM_IOCTL_GEM_CLOSE, &mut c) }
    }

    /// `VIRTGPU_EXECBUFFER` of `stream` (sent as SUBMIT_3D in our context). With `fence_fd_out`
    /// returns the submission's sync_file; `ring`: the ring index (CONTEXT_INIT with rings);
    /// `bos`: GEM handles whose reservation gets the submission's fence.
    pub fn execbuffer(
        &self,
        stream: &[u8],
        fence_fd_out: bool,
        ring: Option<u32>,
        bos: &[u32],
    ) -> Result<Option<OwnedFd>, DrmError> {
        let einval = || DrmError {
            what: "VIRTGPU_EXECBUFFER",
            source: std::io::Error::from_raw_os_error(libc::EINVAL),
        };
        let size = u32::try_from(stream.len()).map_err(|_| einval())?;
        let num_bo_handles = u32::try_from(bos.len()).map_err(|_| einval())?;
        let mut flags = 0;
        if fence_fd_out {
            flags |= VIRTGPU_EXECBUF_FENCE_FD_OUT;
        }
        if ring.is_some() {
            flags |= VIRTGPU_EXECBUF_RING_IDX;
        }
        let mut e = VirtgpuExecbuffer {
            flags,
            size,
            command: stream.as_ptr() as u64,
            bo_handles: bos.as_ptr() as u64,
            num_bo_handles,
            fence_fd: -1,
            ring_idx: ring.unwrap_or(0),
            ..Default::default()
        };
        // SAFETY: EXECBUFFER takes a drm_virtgpu_execbuffer; the kernel copies `size` bytes
        // from `stream` and `num_bo_handles` u32s from `bos`, both live across the call; no
        // syncobjs are passed.
        unsafe { self.ioctl("VIRTGPU_EXECBUFFER", DRM_IOCTL_VIRTGPU_EXECBUFFER, &mut e)? };
        if !fence_fd_out {
            return Ok(None);
        }
        if e.fence_fd < 0 {
            return Err(DrmError {
                what: "VIRTGPU_EXECBUFFER gave no fence fd",
                source: std::io::Error::from_raw_os_error(libc::EIO),
            });
        }
        // SAFETY: with FENCE_FD_OUT the kernel installed a new sync_file fd in our table and
        // gave it to us; nothing else owns it.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(e.fence_fd) }))
    }

    /// `VIRTGPU_WAIT` on a buffer object: `Ok(true)` when every fence on it has signalled,
    /// `Ok(false)` if not (immediately with `nowait`, else after the kernel's 15 s).
    pub fn wait_bo(&self, gem_handle: u32, nowait: bool) -> Result<bool, DrmError> {
        let mut w = Virtgpu3dWait {
            handle: gem_handle,
            flags: if nowait { VIRTGPU_WAIT_NOWAIT } else { 0 },
        };
        // SAFETY: WAIT takes a drm_virtgpu_3d_wait, which holds no pointers.
        match unsafe { self.ioctl("VIRTGPU_WAIT", DRM_IOCTL_VIRTGPU_WAIT, &mut w) } {
            Ok(()) => Ok(true),
            Err(e) if e.errno() == Some(libc::EBUSY) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
