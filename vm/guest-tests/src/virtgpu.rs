//! The virtio-gpu DRM uapi (Linux `include/uapi/drm/virtgpu_drm.h`, 6.12) as the guest's
//! test programs use it: finding the virtio-gpu render node, GETPARAM, GET_CAPS,
//! CONTEXT_INIT, buffer resources (any parameters), MAP + mmap, EXECBUFFER with a sync_file,
//! transfers both ways and WAIT.
//!
//! Every ioctl goes through `RenderNode::ioctl`, the one place that hands the kernel a
//! pointer; the argument structs and request numbers are in `uapi`, whose unit test pins
//! the request numbers (and so the struct sizes they encode).

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use crate::uapi::*;

/// Our capset id (softgpu DESIGN §3; `protocol::SOFTGPU_CAPSET_VK`).
pub const SOFTGPU_CAPSET_ID: u32 = 24;
/// `u32::from_le_bytes(*b"SGPU")`: the first word of our capset.
pub const SOFTGPU_CAPSET_MAGIC: u32 = 0x5550_4753;
/// The protocol version this test expects in the capset's second word (keep equal to
/// `protocol::capset::PROTOCOL_VERSION`; this crate builds for the guest on its own).
pub const SOFTGPU_PROTOCOL_VERSION: u32 = 3;

pub const PARAM_3D_FEATURES: u64 = 1;
pub const PARAM_CAPSET_QUERY_FIX: u64 = 2;
pub const PARAM_CONTEXT_INIT: u64 = 6;
const CONTEXT_PARAM_CAPSET_ID: u64 = 1;

/// Gallium `PIPE_BUFFER`, the only 3D target our device accepts.
pub const PIPE_BUFFER: u32 = 0;
/// The format virgl uses for buffers (`VIRGL_FORMAT_R8_UNORM` = 64).
pub const BUFFER_FORMAT: u32 = 64;
/// `VIRGL_BIND_CUSTOM` (1 << 17): the bind the ICD gives device memory.
pub const BUFFER_BIND: u32 = 1 << 17;

#[derive(Debug, thiserror::Error)]
pub enum VirtgpuError {
    #[error("no virtio_gpu render node in /dev/dri (drivers seen: {0})")]
    NoVirtioGpu(String),
    #[error("{what} failed: {source}")]
    Ioctl {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("mmap of {len} bytes at offset {offset:#x} failed: {source}")]
    Mmap {
        len: usize,
        offset: u64,
        source: std::io::Error,
    },
    #[error("{0}")]
    Capset(String),
    /// The kernel answered, but not what the test expects.
    #[error("{0}")]
    Unexpected(String),
}

impl VirtgpuError {
    /// The errno of a failed ioctl, if that is what this error is.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Ioctl { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// The ioctl argument types; sealed so that [`RenderNode::ioctl`] only ever passes the uapi
/// structs above, whose layout matches what the request number promises.
trait IoctlArg {}
impl IoctlArg for DrmVersion {}
impl IoctlArg for DrmGemClose {}
impl IoctlArg for Getparam {}
impl IoctlArg for GetCaps {}
impl IoctlArg for ContextInit {}
impl IoctlArg for ResourceCreate {}
impl IoctlArg for Map {}
impl IoctlArg for TransferToHost {}
impl IoctlArg for Wait {}
impl IoctlArg for Execbuffer {}

/// An open DRM render node driven by `virtio_gpu`.
pub struct RenderNode {
    file: File,
    path: PathBuf,
}

/// A buffer resource (GEM handle + host resource id).
#[derive(Clone, Copy, Debug)]
pub struct BufferResource {
    pub bo_handle: u32,
    pub res_handle: u32,
    pub size: u32,
}

/// The fields of a `VIRTGPU_RESOURCE_CREATE` a test may choose freely (the rest are 0,
/// except depth and array_size, 1).
#[derive(Clone, Copy, Debug)]
pub struct ResourceParams {
    pub target: u32,
    pub format: u32,
    pub bind: u32,
    pub width: u32,
    pub height: u32,
    /// Bytes of the GEM object (and of the backing the kernel attaches).
    pub size: u32,
}

/// Which way a transfer goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    ToHost,
    FromHost,
}

/// The header of a capset blob: magic, protocol version, length in words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapsetHeader {
    pub magic: u32,
    pub protocol_version: u32,
    pub words: u32,
}

impl CapsetHeader {
    /// Reads and checks the header of our capset: the magic and the protocol version must be
    /// the ones this program was written for, and the blob must hold the words it claims.
    pub fn parse(blob: &[u8]) -> Result<Self, VirtgpuError> {
        let word = |i: usize| -> Option<u32> {
            let b = blob.get(i * 4..i * 4 + 4)?;
            Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let (Some(magic), Some(protocol_version), Some(words)) = (word(0), word(1), word(2)) else {
            return Err(VirtgpuError::Capset(format!(
                "capset of {} bytes has no header",
                blob.len()
            )));
        };
        if magic != SOFTGPU_CAPSET_MAGIC {
            return Err(VirtgpuError::Capset(format!(
                "capset magic {magic:#010x}, want SGPU"
            )));
        }
        if protocol_version != SOFTGPU_PROTOCOL_VERSION {
            return Err(VirtgpuError::Capset(format!(
                "capset protocol version {protocol_version}, want {SOFTGPU_PROTOCOL_VERSION}"
            )));
        }
        let claimed = u64::from(words) * 4;
        if claimed < 12 || claimed > blob.len() as u64 {
            return Err(VirtgpuError::Capset(format!(
                "capset claims {words} words, blob has {} bytes",
                blob.len()
            )));
        }
        Ok(Self {
            magic,
            protocol_version,
            words,
        })
    }
}

impl RenderNode {
    /// Opens the first `/dev/dri/renderD*` node whose driver is `virtio_gpu`.
    pub fn find_virtio_gpu() -> Result<Self, VirtgpuError> {
        let mut seen = Vec::new();
        for minor in 128..192 {
            let path = PathBuf::from(format!("/dev/dri/renderD{minor}"));
            let Ok(file) = OpenOptions::new().read(true).write(true).open(&path) else {
                continue;
            };
            let node = Self { file, path };
            match node.driver_name() {
                Ok(name) if name == "virtio_gpu" => return Ok(node),
                Ok(name) => seen.push(name),
                Err(e) => seen.push(format!("{}: {e}", node.path.display())),
            }
        }
        let seen = if seen.is_empty() {
            "none".to_owned()
        } else {
            seen.join(", ")
        };
        Err(VirtgpuError::NoVirtioGpu(seen))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn ioctl<T: IoctlArg>(
        &self,
        what: &'static str,
        request: u64,
        arg: &mut T,
    ) -> Result<(), VirtgpuError> {
        // SAFETY: `arg` is a live, exclusively borrowed uapi struct (sealed `IoctlArg`) whose
        // size and layout are the ones encoded in `request`; pointers inside it (GETPARAM's
        // value, GET_CAPS' addr, ...) are set by the callers to buffers that outlive the call.
        let rc = unsafe { libc::ioctl(self.file.as_raw_fd(), request as _, arg as *mut T) };
        if rc < 0 {
            return Err(VirtgpuError::Ioctl {
                what,
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// `DRM_IOCTL_VERSION`: the kernel driver's name.
    pub fn driver_name(&self) -> Result<String, VirtgpuError> {
        let mut name = [0u8; 64];
        let mut v = DrmVersion {
            name_len: name.len(),
            name: name.as_mut_ptr() as u64,
            ..Default::default()
        };
        self.ioctl("DRM_IOCTL_VERSION", IOCTL_VERSION, &mut v)?;
        let len = v.name_len.min(name.len());
        Ok(String::from_utf8_lossy(&name[..len]).into_owned())
    }

    pub fn getparam(&self, param: u64) -> Result<u64, VirtgpuError> {
        let mut value = 0u64;
        let mut g = Getparam {
            param,
            value: &mut value as *mut u64 as u64,
        };
        self.ioctl("VIRTGPU_GETPARAM", IOCTL_GETPARAM, &mut g)?;
        Ok(value)
    }

    /// `VIRTGPU_GET_CAPS`: fills `buf` with (up to its length of) the capset.
    pub fn get_caps(&self, id: u32, version: u32, buf: &mut [u8]) -> Result<(), VirtgpuError> {
        let size = u32::try_from(buf.len())
            .map_err(|_| VirtgpuError::Capset("capset buffer over 4 GiB".into()))?;
        let mut c = GetCaps {
            cap_set_id: id,
            cap_set_ver: version,
            addr: buf.as_mut_ptr() as u64,
            size,
            pad: 0,
        };
        self.ioctl("VIRTGPU_GET_CAPS", IOCTL_GET_CAPS, &mut c)
    }

    /// `VIRTGPU_CONTEXT_INIT` with one parameter: the capset id.
    pub fn context_init(&self, capset_id: u32) -> Result<(), VirtgpuError> {
        let params = [ContextSetParam {
            param: CONTEXT_PARAM_CAPSET_ID,
            value: capset_id.into(),
        }];
        let mut c = ContextInit {
            num_params: 1,
            pad: 0,
            ctx_set_params: params.as_ptr() as u64,
        };
        self.ioctl("VIRTGPU_CONTEXT_INIT", IOCTL_CONTEXT_INIT, &mut c)
    }

    /// `VIRTGPU_RESOURCE_CREATE` of a `PIPE_BUFFER` of `size` bytes, backed by pages the
    /// kernel allocates (and sends as ATTACH_BACKING).
    pub fn create_buffer(&self, size: u32) -> Result<BufferResource, VirtgpuError> {
        let mut r = ResourceCreate {
            target: PIPE_BUFFER,
            format: BUFFER_FORMAT,
            bind: BUFFER_BIND,
            width: size,
            height: 1,
            depth: 1,
            array_size: 1,
            // The kernel sizes the GEM object (and the backing it attaches) from this field,
            // not from width: 0 would give one page.
            size,
            ..Default::default()
        };
        self.ioctl("VIRTGPU_RESOURCE_CREATE", IOCTL_RESOURCE_CREATE, &mut r)?;
        Ok(BufferResource {
            bo_handle: r.bo_handle,
            res_handle: r.res_handle,
            size,
        })
    }

    /// `VIRTGPU_RESOURCE_CREATE` with any parameters (for tests that probe odd ones).
    pub fn create_resource(&self, p: ResourceParams) -> Result<BufferResource, VirtgpuError> {
        let mut r = ResourceCreate {
            target: p.target,
            format: p.format,
            bind: p.bind,
            width: p.width,
            height: p.height,
            depth: 1,
            array_size: 1,
            size: p.size,
            ..Default::default()
        };
        self.ioctl("VIRTGPU_RESOURCE_CREATE", IOCTL_RESOURCE_CREATE, &mut r)?;
        Ok(BufferResource {
            bo_handle: r.bo_handle,
            res_handle: r.res_handle,
            size: p.size,
        })
    }

    /// `VIRTGPU_EXECBUFFER` of `stream` (the device gets it as `SUBMIT_3D`), its fence
    /// attached to the GEM handles `bos`; returns the submission's sync_file.
    pub fn execbuffer(&self, stream: &[u8], bos: &[u32]) -> Result<OwnedFd, VirtgpuError> {
        let too_big = |what: &'static str| VirtgpuError::Ioctl {
            what,
            source: std::io::Error::from_raw_os_error(libc::E2BIG),
        };
        let mut e = Execbuffer {
            flags: EXECBUF_FENCE_FD_OUT,
            size: u32::try_from(stream.len()).map_err(|_| too_big("EXECBUFFER stream"))?,
            command: stream.as_ptr() as u64,
            bo_handles: bos.as_ptr() as u64,
            num_bo_handles: u32::try_from(bos.len()).map_err(|_| too_big("EXECBUFFER bos"))?,
            fence_fd: -1,
            ..Default::default()
        };
        self.ioctl("VIRTGPU_EXECBUFFER", IOCTL_EXECBUFFER, &mut e)?;
        if e.fence_fd < 0 {
            return Err(VirtgpuError::Unexpected(
                "VIRTGPU_EXECBUFFER with FENCE_FD_OUT gave no fence fd".into(),
            ));
        }
        // SAFETY: with FENCE_FD_OUT the kernel installed a new sync_file fd in our table and
        // handed it to us; nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(e.fence_fd) })
    }

    /// A transfer of the box `x..x+w` (height and depth 1) at `offset`, on any GEM handle.
    pub fn transfer_raw(
        &self,
        dir: Direction,
        bo_handle: u32,
        x: u32,
        w: u32,
        offset: u32,
    ) -> Result<(), VirtgpuError> {
        let mut t = TransferToHost {
            bo_handle,
            bx: Box3d {
                x,
                y: 0,
                z: 0,
                w,
                h: 1,
                d: 1,
            },
            offset,
            ..Default::default()
        };
        match dir {
            Direction::ToHost => {
                self.ioctl("VIRTGPU_TRANSFER_TO_HOST", IOCTL_TRANSFER_TO_HOST, &mut t)
            }
            Direction::FromHost => self.ioctl(
                "VIRTGPU_TRANSFER_FROM_HOST",
                IOCTL_TRANSFER_FROM_HOST,
                &mut t,
            ),
        }
    }

    /// `VIRTGPU_WAIT` on any GEM handle.
    pub fn wait_handle(&self, bo_handle: u32) -> Result<(), VirtgpuError> {
        let mut w = Wait {
            handle: bo_handle,
            flags: 0,
        };
        self.ioctl("VIRTGPU_WAIT", IOCTL_WAIT, &mut w)
    }

    /// `DRM_IOCTL_GEM_CLOSE` of any handle.
    pub fn close_handle(&self, bo_handle: u32) -> Result<(), VirtgpuError> {
        let mut c = DrmGemClose {
            handle: bo_handle,
            pad: 0,
        };
        self.ioctl("DRM_IOCTL_GEM_CLOSE", IOCTL_GEM_CLOSE, &mut c)
    }

    /// `VIRTGPU_MAP` + `mmap` of the whole buffer.
    pub fn map(&self, res: &BufferResource) -> Result<Mapping, VirtgpuError> {
        let mut m = Map {
            handle: res.bo_handle,
            ..Default::default()
        };
        self.ioctl("VIRTGPU_MAP", IOCTL_MAP, &mut m)?;
        let len = res.size as usize;
        let offset = libc::off_t::try_from(m.offset).map_err(|_| VirtgpuError::Mmap {
            len,
            offset: m.offset,
            source: std::io::Error::from_raw_os_error(libc::EOVERFLOW),
        })?;
        // SAFETY: a fresh shared mapping chosen by the kernel (addr NULL) of the buffer's fake
        // offset; it aliases no Rust object, and `Mapping` unmaps it exactly once.
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
            return Err(VirtgpuError::Mmap {
                len,
                offset: m.offset,
                source: std::io::Error::last_os_error(),
            });
        }
        let ptr = NonNull::new(ptr.cast::<u32>()).ok_or(VirtgpuError::Mmap {
            len,
            offset: m.offset,
            source: std::io::Error::from_raw_os_error(libc::EFAULT),
        })?;
        Ok(Mapping {
            ptr,
            words: len / 4,
        })
    }

    /// `VIRTGPU_TRANSFER_TO_HOST` of `len` bytes at `offset` of a buffer.
    pub fn transfer_to_host(
        &self,
        res: &BufferResource,
        offset: u32,
        len: u32,
    ) -> Result<(), VirtgpuError> {
        let mut t = TransferToHost {
            bo_handle: res.bo_handle,
            bx: Box3d {
                x: offset,
                y: 0,
                z: 0,
                w: len,
                h: 1,
                d: 1,
            },
            ..Default::default()
        };
        self.ioctl("VIRTGPU_TRANSFER_TO_HOST", IOCTL_TRANSFER_TO_HOST, &mut t)
    }

    /// `VIRTGPU_WAIT` (blocking) until the device is done with the buffer.
    pub fn wait(&self, res: &BufferResource) -> Result<(), VirtgpuError> {
        let mut w = Wait {
            handle: res.bo_handle,
            flags: 0,
        };
        self.ioctl("VIRTGPU_WAIT", IOCTL_WAIT, &mut w)
    }

    /// `DRM_IOCTL_GEM_CLOSE`: drops the handle (the kernel then unrefs the host resource).
    pub fn close(&self, res: BufferResource) -> Result<(), VirtgpuError> {
        let mut c = DrmGemClose {
            handle: res.bo_handle,
            pad: 0,
        };
        self.ioctl("DRM_IOCTL_GEM_CLOSE", IOCTL_GEM_CLOSE, &mut c)
    }
}

/// A buffer mapped into this process. The device may read or write it at any time, so it is
/// only touched with volatile word accesses, never through references.
pub struct Mapping {
    ptr: NonNull<u32>,
    words: usize,
}

/// Waits up to `timeout_ms` for a sync_file to signal: `Ok(true)` when it did, `Ok(false)`
/// on timeout.
pub fn wait_sync_file(fd: &OwnedFd, timeout_ms: i32) -> Result<bool, VirtgpuError> {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one live pollfd, count 1.
        let rc = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        if rc >= 0 {
            return Ok(rc > 0);
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(VirtgpuError::Ioctl {
                what: "poll on a sync_file",
                source: err,
            });
        }
    }
}

impl Mapping {
    /// Reads word `i`, or `None` past the end.
    pub fn read(&self, i: usize) -> Option<u32> {
        (i < self.words).then(|| {
            // SAFETY: i < words: inside the live mapping; volatile, the device may write it.
            unsafe { self.ptr.as_ptr().wrapping_add(i).read_volatile() }
        })
    }

    pub fn words(&self) -> usize {
        self.words
    }

    /// Writes `f(i)` to every word `i`.
    pub fn fill(&mut self, f: impl Fn(usize) -> u32) {
        for i in 0..self.words {
            let word = self.ptr.as_ptr().wrapping_add(i);
            // SAFETY: i < words, so `word` lies in the mapping of `words * 4` bytes, which is
            // page-aligned and live until drop.
            unsafe { word.write_volatile(f(i)) };
        }
    }

    /// The first word `i` that differs from `f(i)`, with the value found.
    pub fn first_mismatch(&self, f: impl Fn(usize) -> u32) -> Option<(usize, u32)> {
        (0..self.words).find_map(|i| {
            let word = self.ptr.as_ptr().wrapping_add(i);
            // SAFETY: as in `fill`: i < words.
            let v = unsafe { word.read_volatile() };
            (v != f(i)).then_some((i, v))
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`words * 4` is exactly the region `map` got from mmap, unmapped once.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.words * 4) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn capset_header_accepts_our_magic_and_version() {
        let h = CapsetHeader::parse(&blob(&[SOFTGPU_CAPSET_MAGIC, 1, 4, 16]));
        let want = CapsetHeader {
            magic: SOFTGPU_CAPSET_MAGIC,
            protocol_version: 1,
            words: 4,
        };
        assert_eq!(h.ok(), Some(want));
    }

    #[test]
    fn capset_header_rejects_wrong_magic_version_or_length() {
        assert!(CapsetHeader::parse(&blob(&[0x4c524956, 1, 3])).is_err());
        assert!(CapsetHeader::parse(&blob(&[SOFTGPU_CAPSET_MAGIC, 2, 3])).is_err());
        assert!(CapsetHeader::parse(&blob(&[SOFTGPU_CAPSET_MAGIC, 1, 9])).is_err());
        assert!(CapsetHeader::parse(&blob(&[SOFTGPU_CAPSET_MAGIC, 1])).is_err());
    }
}
