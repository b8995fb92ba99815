//! The structs and request numbers of the virtio-gpu DRM uapi (Linux
//! `include/uapi/drm/virtgpu_drm.h` and `drm.h`, 6.12, x86-64) that [`crate::virtgpu`] passes
//! to the kernel; each struct is `#[repr(C)]` with the uapi's layout (the request numbers,
//! which encode the sizes, are pinned by the unit test).

pub(crate) const DRM_IOCTL_BASE: u32 = b'd' as u32;
pub(crate) const DRM_COMMAND_BASE: u32 = 0x40;

/// `_IOWR('d', nr, size)` (asm-generic/ioctl.h: dir 3 in bits 30–31, size in 16–29).
pub(crate) const fn drm_iowr(nr: u32, size: usize) -> u64 {
    (3 << 30) | ((size as u64 & 0x3fff) << 16) | ((DRM_IOCTL_BASE as u64) << 8) | nr as u64
}
/// `_IOW('d', nr, size)`.
pub(crate) const fn drm_iow(nr: u32, size: usize) -> u64 {
    (1 << 30) | ((size as u64 & 0x3fff) << 16) | ((DRM_IOCTL_BASE as u64) << 8) | nr as u64
}

#[repr(C)]
#[derive(Default)]
pub(crate) struct DrmVersion {
    pub(crate) major: i32,
    pub(crate) minor: i32,
    pub(crate) patchlevel: i32,
    pub(crate) name_len: usize,
    pub(crate) name: u64,
    pub(crate) date_len: usize,
    pub(crate) date: u64,
    pub(crate) desc_len: usize,
    pub(crate) desc: u64,
}

#[repr(C)]
#[derive(Default)]
pub(crate) struct DrmGemClose {
    pub(crate) handle: u32,
    pub(crate) pad: u32,
}

#[repr(C)]
#[derive(Default)]
pub(crate) struct Getparam {
    pub(crate) param: u64,
    /// Userspace address of a `u64` the kernel writes.
    pub(crate) value: u64,
}

#[repr(C)]
#[derive(Default)]
pub(crate) struct GetCaps {
    pub(crate) cap_set_id: u32,
    pub(crate) cap_set_ver: u32,
    pub(crate) addr: u64,
    pub(crate) size: u32,
    pub(crate) pad: u32,
}

#[repr(C)]
#[derive(Default)]
pub(crate) struct ContextSetParam {
    pub(crate) param: u64,
    pub(crate) value: u64,
}

#[repr(C)]
#[derive(Default)]
pub(crate) struct ContextInit {
    pub(crate) num_params: u32,
    pub(crate) pad: u32,
    pub(crate) ctx_set_params: u64,
}

#[repr(C)]
#[derive(Default)]
pub(crate) struct ResourceCreate {
    pub(crate) target: u32,
    pub(crate) format: u32,
    pub(crate) bind: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) depth: u32,
    pub(crate) array_size: u32,
    pub(crate) last_level: u32,
    pub(crate) nr_samples: u32,
    pub(crate) flags: u32,
    pub(crate) bo_handle: u32,
    pub(crate) res_handle: u32,
    pub(crate) size: u32,
    pub(crate) stride: u32,
}

#[repr(C)]
#[derive(Default)]
pub(crate) struct Map {
    pub(crate) offset: u64,
    pub(crate) handle: u32,
    pub(crate) pad: u32,
}

#[repr(C)]
#[derive(Default)]
pub(crate) struct Box3d {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) z: u32,
    pub(crate) w: u32,
    pub(crate) h: u32,
    pub(crate) d: u32,
}

#[repr(C)]
#[derive(Default)]
pub(crate) struct TransferToHost {
    pub(crate) bo_handle: u32,
    pub(crate) bx: Box3d,
    pub(crate) level: u32,
    pub(crate) offset: u32,
    pub(crate) stride: u32,
    pub(crate) layer_stride: u32,
}

/// `struct drm_virtgpu_execbuffer` (6.12 layout, with the syncobj fields).
#[repr(C)]
#[derive(Default)]
pub(crate) struct Execbuffer {
    pub(crate) flags: u32,
    pub(crate) size: u32,
    /// Userspace address of the command bytes.
    pub(crate) command: u64,
    /// Userspace address of `num_bo_handles` u32 GEM handles.
    pub(crate) bo_handles: u64,
    pub(crate) num_bo_handles: u32,
    pub(crate) fence_fd: i32,
    pub(crate) ring_idx: u32,
    pub(crate) syncobj_stride: u32,
    pub(crate) num_in_syncobjs: u32,
    pub(crate) num_out_syncobjs: u32,
    pub(crate) in_syncobjs: u64,
    pub(crate) out_syncobjs: u64,
}

/// `VIRTGPU_EXECBUF_FENCE_FD_OUT`: the kernel returns the submission's sync_file.
pub(crate) const EXECBUF_FENCE_FD_OUT: u32 = 0x02;

#[repr(C)]
#[derive(Default)]
pub(crate) struct Wait {
    pub(crate) handle: u32,
    pub(crate) flags: u32,
}

pub(crate) const IOCTL_VERSION: u64 = drm_iowr(0x00, size_of::<DrmVersion>());
pub(crate) const IOCTL_GEM_CLOSE: u64 = drm_iow(0x09, size_of::<DrmGemClose>());
pub(crate) const IOCTL_EXECBUFFER: u64 = drm_iowr(DRM_COMMAND_BASE + 0x02, size_of::<Execbuffer>());
pub(crate) const IOCTL_MAP: u64 = drm_iowr(DRM_COMMAND_BASE + 0x01, size_of::<Map>());
pub(crate) const IOCTL_GETPARAM: u64 = drm_iowr(DRM_COMMAND_BASE + 0x03, size_of::<Getparam>());
pub(crate) const IOCTL_RESOURCE_CREATE: u64 =
    drm_iowr(DRM_COMMAND_BASE + 0x04, size_of::<ResourceCreate>());
pub(crate) const IOCTL_TRANSFER_FROM_HOST: u64 =
    drm_iowr(DRM_COMMAND_BASE + 0x06, size_of::<TransferToHost>());
pub(crate) const IOCTL_TRANSFER_TO_HOST: u64 =
    drm_iowr(DRM_COMMAND_BASE + 0x07, size_of::<TransferToHost>());
pub(crate) const IOCTL_WAIT: u64 = drm_iowr(DRM_COMMAND_BASE + 0x08, size_of::<Wait>());
pub(crate) const IOCTL_GET_CAPS: u64 = drm_iowr(DRM_COMMAND_BASE + 0x09, size_of::<GetCaps>());
pub(crate) const IOCTL_CONTEXT_INIT: u64 =
    drm_iowr(DRM_COMMAND_BASE + 0x0b, size_of::<ContextInit>());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_match_the_kernel_uapi() {
        // Values as the C macros in virtgpu_drm.h / drm.h expand them on x86-64.
        assert_eq!(IOCTL_VERSION, 0xc040_6400);
        assert_eq!(IOCTL_GEM_CLOSE, 0x4008_6409);
        assert_eq!(IOCTL_MAP, 0xc010_6441);
        assert_eq!(IOCTL_GETPARAM, 0xc010_6443);
        assert_eq!(IOCTL_RESOURCE_CREATE, 0xc038_6444);
        assert_eq!(IOCTL_TRANSFER_TO_HOST, 0xc02c_6447);
        assert_eq!(IOCTL_WAIT, 0xc008_6448);
        assert_eq!(IOCTL_GET_CAPS, 0xc018_6449);
        assert_eq!(IOCTL_CONTEXT_INIT, 0xc010_644b);
        assert_eq!(IOCTL_EXECBUFFER, 0xc040_6442);
        assert_eq!(IOCTL_TRANSFER_FROM_HOST, 0xc02c_6446);
    }
}
