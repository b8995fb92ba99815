//! The Linux DRM and virtio-gpu ioctl ABI this transport uses, written out by hand from
//! `include/uapi/drm/drm.h` and `include/uapi/drm/virtgpu_drm.h` (Linux 6.12). Layouts and
//! request numbers are checked by the tests below; nothing here issues an ioctl.

// The ABI spells every field; not all of them are read or written by us.
#![allow(dead_code)]

use std::mem::size_of;

/// `DRM_IOCTL_BASE`.
const DRM_IOCTL_TYPE: u32 = b'd' as u32;
/// `DRM_COMMAND_BASE`: driver-private ioctls start here.
const DRM_COMMAND_BASE: u32 = 0x40;

const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// `_IOC(dir, 'd', nr, size)` for the generic (x86, arm64, riscv) ioctl encoding.
const fn drm_ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | (DRM_IOCTL_TYPE << 8) | nr
}

/// `DRM_IOWR(nr, type)`.
const fn drm_iowr<T>(nr: u32) -> u32 {
    drm_ioc(IOC_READ | IOC_WRITE, nr, size_of::<T>())
}

/// `DRM_IOW(nr, type)`.
const fn drm_iow<T>(nr: u32) -> u32 {
    drm_ioc(IOC_WRITE, nr, size_of::<T>())
}

/// `struct drm_version` (pointers and `__kernel_size_t` are 64-bit on our targets).
#[repr(C)]
#[derive(Debug)]
pub struct DrmVersion {
    pub version_major: i32,
    pub version_minor: i32,
    pub version_patchlevel: i32,
    pub name_len: usize,
    pub name: *mut u8,
    pub date_len: usize,
    pub date: *mut u8,
    pub desc_len: usize,
    pub desc: *mut u8,
}

/// `struct drm_gem_close`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct DrmGemClose {
    pub handle: u32,
    pub pad: u32,
}

pub const DRM_IOCTL_VERSION: u32 = drm_iowr::<DrmVersion>(0x00);
pub const DRM_IOCTL_GEM_CLOSE: u32 = drm_iow::<DrmGemClose>(0x09);

// virtgpu_drm.h: driver ioctl numbers (added to DRM_COMMAND_BASE).
const DRM_VIRTGPU_MAP: u32 = 0x01;
const DRM_VIRTGPU_EXECBUFFER: u32 = 0x02;
const DRM_VIRTGPU_GETPARAM: u32 = 0x03;
const DRM_VIRTGPU_RESOURCE_CREATE: u32 = 0x04;
const DRM_VIRTGPU_WAIT: u32 = 0x08;
const DRM_VIRTGPU_GET_CAPS: u32 = 0x09;
const DRM_VIRTGPU_RESOURCE_CREATE_BLOB: u32 = 0x0a;
const DRM_VIRTGPU_CONTEXT_INIT: u32 = 0x0b;

pub const VIRTGPU_EXECBUF_FENCE_FD_OUT: u32 = 0x02;
pub const VIRTGPU_EXECBUF_RING_IDX: u32 = 0x04;

pub const VIRTGPU_PARAM_3D_FEATURES: u64 = 1;
pub const VIRTGPU_PARAM_CAPSET_QUERY_FIX: u64 = 2;
pub const VIRTGPU_PARAM_RESOURCE_BLOB: u64 = 3;
pub const VIRTGPU_PARAM_CONTEXT_INIT: u64 = 6;
pub const VIRTGPU_PARAM_SUPPORTED_CAPSET_IDS: u64 = 7;

pub const VIRTGPU_WAIT_NOWAIT: u32 = 1;

pub const VIRTGPU_BLOB_MEM_GUEST: u32 = 0x0001;
pub const VIRTGPU_BLOB_FLAG_USE_MAPPABLE: u32 = 0x0001;

pub const VIRTGPU_CONTEXT_PARAM_CAPSET_ID: u64 = 0x0001;
pub const VIRTGPU_CONTEXT_PARAM_NUM_RINGS: u64 = 0x0002;

/// Gallium `PIPE_BUFFER`: the resource target of a plain buffer.
pub const PIPE_BUFFER: u32 = 0;
/// Gallium `PIPE_FORMAT_R8_UNORM` (64): the byte format virgl uses for buffers.
pub const PIPE_FORMAT_R8_UNORM: u32 = 64;
/// Gallium `PIPE_BIND_CUSTOM` (1 << 17): a buffer of no particular binding.
pub const PIPE_BIND_CUSTOM: u32 = 1 << 17;

/// `struct drm_virtgpu_map`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VirtgpuMap {
    /// Out: the fake offset to pass to `mmap` on the DRM fd.
    pub offset: u64,
    pub handle: u32,
    pub pad: u32,
}

/// `struct drm_virtgpu_execbuffer` (6.12 layout, with the syncobj fields; older kernels read
/// only the prefix they know, and DRM zero-extends a shorter one).
#[repr(C)]
#[derive(Debug, Default)]
pub struct VirtgpuExecbuffer {
    pub flags: u32,
    pub size: u32,
    /// User pointer to the command bytes.
    pub command: u64,
    /// User pointer to `num_bo_handles` u32 GEM handles.
    pub bo_handles: u64,
    pub num_bo_handles: u32,
    /// Out (with `VIRTGPU_EXECBUF_FENCE_FD_OUT`): a sync_file fd.
    pub fence_fd: i32,
    pub ring_idx: u32,
    pub syncobj_stride: u32,
    pub num_in_syncobjs: u32,
    pub num_out_syncobjs: u32,
    pub in_syncobjs: u64,
    pub out_syncobjs: u64,
}

/// `struct drm_virtgpu_getparam`: `value` is a user pointer to an `int` the kernel fills.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VirtgpuGetparam {
    pub param: u64,
    pub value: u64,
}

/// `struct drm_virtgpu_resource_create`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VirtgpuResourceCreate {
    pub target: u32,
    pub format: u32,
    pub bind: u32,
    pub width: u32,
    pub height: u32,
    pub depth: u32,
    pub array_size: u32,
    pub last_level: u32,
    pub nr_samples: u32,
    pub flags: u32,
    /// Out: the GEM handle in this fd.
    pub bo_handle: u32,
    /// Out: the virtio-gpu resource id.
    pub res_handle: u32,
    /// The backing size the kernel allocates (a page when 0).
    pub size: u32,
    pub stride: u32,
}

/// `struct drm_virtgpu_3d_wait`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct Virtgpu3dWait {
    pub handle: u32,
    pub flags: u32,
}

/// `struct drm_virtgpu_get_caps`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VirtgpuGetCaps {
    pub cap_set_id: u32,
    pub cap_set_ver: u32,
    /// User pointer to `size` bytes the kernel fills (with at most the device's capset size).
    pub addr: u64,
    pub size: u32,
    pub pad: u32,
}

/// `struct drm_virtgpu_resource_create_blob`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VirtgpuResourceCreateBlob {
    pub blob_mem: u32,
    pub blob_flags: u32,
    /// Out: the GEM handle in this fd.
    pub bo_handle: u32,
    /// Out: the virtio-gpu resource id.
    pub res_handle: u32,
    pub size: u64,
    pub pad: u32,
    pub cmd_size: u32,
    pub cmd: u64,
    pub blob_id: u64,
}

/// `struct drm_virtgpu_context_set_param`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct VirtgpuContextSetParam {
    pub param: u64,
    pub value: u64,
}

/// `struct drm_virtgpu_context_init`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VirtgpuContextInit {
    pub num_params: u32,
    pub pad: u32,
    /// User pointer to `num_params` [`VirtgpuContextSetParam`].
    pub ctx_set_params: u64,
}

pub const DRM_IOCTL_VIRTGPU_MAP: u32 = drm_iowr::<VirtgpuMap>(DRM_COMMAND_BASE + DRM_VIRTGPU_MAP);
pub const DRM_IOCTL_VIRTGPU_EXECBUFFER: u32 =
    drm_iowr::<VirtgpuExecbuffer>(DRM_COMMAND_BASE + DRM_VIRTGPU_EXECBUFFER);
pub const DRM_IOCTL_VIRTGPU_GETPARAM: u32 =
    drm_iowr::<VirtgpuGetparam>(DRM_COMMAND_BASE + DRM_VIRTGPU_GETPARAM);
pub const DRM_IOCTL_VIRTGPU_RESOURCE_CREATE: u32 =
    drm_iowr::<VirtgpuResourceCreate>(DRM_COMMAND_BASE + DRM_VIRTGPU_RESOURCE_CREATE);
pub const DRM_IOCTL_VIRTGPU_WAIT: u32 =
    drm_iowr::<Virtgpu3dWait>(DRM_COMMAND_BASE + DRM_VIRTGPU_WAIT);
pub const DRM_IOCTL_VIRTGPU_GET_CAPS: u32 =
    drm_iowr::<VirtgpuGetCaps>(DRM_COMMAND_BASE + DRM_VIRTGPU_GET_CAPS);
pub const DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB: u32 =
    drm_iowr::<VirtgpuResourceCreateBlob>(DRM_COMMAND_BASE + DRM_VIRTGPU_RESOURCE_CREATE_BLOB);
pub const DRM_IOCTL_VIRTGPU_CONTEXT_INIT: u32 =
    drm_iowr::<VirtgpuContextInit>(DRM_COMMAND_BASE + DRM_VIRTGPU_CONTEXT_INIT);

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of};

    #[test]
    fn struct_sizes_match_the_linux_uapi() {
        assert_eq!(size_of::<DrmVersion>(), 64);
        assert_eq!(size_of::<DrmGemClose>(), 8);
        assert_eq!(size_of::<VirtgpuMap>(), 16);
        assert_eq!(size_of::<VirtgpuExecbuffer>(), 64);
        assert_eq!(size_of::<VirtgpuGetparam>(), 16);
        assert_eq!(size_of::<VirtgpuResourceCreate>(), 56);
        assert_eq!(size_of::<Virtgpu3dWait>(), 8);
        assert_eq!(size_of::<VirtgpuGetCaps>(), 24);
        assert_eq!(size_of::<VirtgpuResourceCreateBlob>(), 48);
        assert_eq!(size_of::<VirtgpuContextSetParam>(), 16);
        assert_eq!(size_of::<VirtgpuContextInit>(), 16);
        assert_eq!(align_of::<VirtgpuExecbuffer>(), 8);
    }

    #[test]
    fn field_offsets_match_the_linux_uapi() {
        assert_eq!(offset_of!(DrmVersion, name_len), 16);
        assert_eq!(offset_of!(DrmVersion, name), 24);
        assert_eq!(offset_of!(VirtgpuExecbuffer, command), 8);
        assert_eq!(offset_of!(VirtgpuExecbuffer, num_bo_handles), 24);
        assert_eq!(offset_of!(VirtgpuExecbuffer, fence_fd), 28);
        assert_eq!(offset_of!(VirtgpuExecbuffer, ring_idx), 32);
        assert_eq!(offset_of!(VirtgpuExecbuffer, in_syncobjs), 48);
        assert_eq!(offset_of!(VirtgpuResourceCreate, bo_handle), 40);
        assert_eq!(offset_of!(VirtgpuResourceCreate, res_handle), 44);
        assert_eq!(offset_of!(VirtgpuResourceCreate, size), 48);
        assert_eq!(offset_of!(VirtgpuGetCaps, addr), 8);
        assert_eq!(offset_of!(VirtgpuGetCaps, size), 16);
        assert_eq!(offset_of!(VirtgpuResourceCreateBlob, size), 16);
        assert_eq!(offset_of!(VirtgpuResourceCreateBlob, cmd_size), 28);
        assert_eq!(offset_of!(VirtgpuResourceCreateBlob, blob_id), 40);
        assert_eq!(offset_of!(VirtgpuContextInit, ctx_set_params), 8);
    }

    /// The values `DRM_IOWR`/`DRM_IOW` give in C for these structs (x86-64).
    #[test]
    fn ioctl_numbers_match_the_c_macros() {
        assert_eq!(DRM_IOCTL_VERSION, 0xC040_6400);
        assert_eq!(DRM_IOCTL_GEM_CLOSE, 0x4008_6409);
        assert_eq!(DRM_IOCTL_VIRTGPU_MAP, 0xC010_6441);
        assert_eq!(DRM_IOCTL_VIRTGPU_EXECBUFFER, 0xC040_6442);
        assert_eq!(DRM_IOCTL_VIRTGPU_GETPARAM, 0xC010_6443);
        assert_eq!(DRM_IOCTL_VIRTGPU_RESOURCE_CREATE, 0xC038_6444);
        assert_eq!(DRM_IOCTL_VIRTGPU_WAIT, 0xC008_6448);
        assert_eq!(DRM_IOCTL_VIRTGPU_GET_CAPS, 0xC018_6449);
        assert_eq!(DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB, 0xC030_644A);
        assert_eq!(DRM_IOCTL_VIRTGPU_CONTEXT_INIT, 0xC010_644B);
    }
}
