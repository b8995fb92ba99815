//! virtio-gpu control-queue requests as bytes (VIRTIO 1.2 §5.7.6), built the way Linux's
//! `virtgpu_vq.c` builds them, and the checks on the device's responses.

use virtio_bindings::virtio_gpu::*;

pub const CTRL_HDR_SIZE: usize = 24;
/// Responses of this type or above are errors (VIRTIO_GPU_RESP_ERR_*).
pub const RESP_ERR_FIRST: u32 = virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_UNSPEC;
/// Gallium's PIPE_BUFFER: what a Vulkan buffer resource is created as.
pub const PIPE_BUFFER: u32 = 0;
/// VIRGL_FORMAT_R8_UNORM; the device ignores the format of a buffer resource.
pub const FORMAT_R8_UNORM: u32 = 64;
/// VIRGL_BIND_CUSTOM, as Mesa's venus/virgl use for plain memory resources.
pub const BIND_CUSTOM: u32 = 1 << 17;

/// Little-endian request builder.
#[derive(Default)]
pub struct Request(Vec<u8>);

impl Request {
    pub fn new(kind: u32, flags: u32, fence_id: u64, ctx_id: u32) -> Request {
        Request(Vec::with_capacity(64))
            .u32(kind)
            .u32(flags)
            .u64(fence_id)
            .u32(ctx_id)
            .u32(0)
    }

    pub fn u32(mut self, v: u32) -> Request {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u64(mut self, v: u64) -> Request {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn bytes(mut self, v: &[u8]) -> Request {
        self.0.extend_from_slice(v);
        self
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// A 4 KiB backing entry (`virtio_gpu_mem_entry`): addr, length, padding.
pub fn mem_entries(gpas: impl Iterator<Item = u64>, page: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for gpa in gpas {
        out.extend_from_slice(&gpa.to_le_bytes());
        out.extend_from_slice(&page.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
    }
    out
}

pub fn get_capset_info(index: u32) -> Vec<u8> {
    Request::new(virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_CAPSET_INFO, 0, 0, 0)
        .u32(index)
        .u32(0)
        .into_bytes()
}

pub fn get_capset(id: u32, version: u32) -> Vec<u8> {
    Request::new(virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_CAPSET, 0, 0, 0)
        .u32(id)
        .u32(version)
        .into_bytes()
}

/// CTX_CREATE; `context_init` is 0 (stock QEMU) or the capset id (CONTEXT_INIT negotiated).
pub fn ctx_create(ctx_id: u32, context_init: u32, name: &str) -> Vec<u8> {
    let mut debug_name = [0u8; 64];
    let n = name.len().min(63);
    debug_name[..n].copy_from_slice(&name.as_bytes()[..n]);
    Request::new(virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE, 0, 0, ctx_id)
        .u32(n as u32)
        .u32(context_init)
        .bytes(&debug_name)
        .into_bytes()
}

pub fn resource_create_buffer_3d(resource_id: u32, ctx_id: u32, size: u32) -> Vec<u8> {
    Request::new(
        virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_3D,
        0,
        0,
        ctx_id,
    )
    .u32(resource_id)
    .u32(PIPE_BUFFER)
    .u32(FORMAT_R8_UNORM)
    .u32(BIND_CUSTOM)
    .u32(size) // width
    .u32(1) // height
    .u32(1) // depth
    .u32(1) // array_size
    .u32(0) // last_level
    .u32(0) // nr_samples
    .u32(0) // flags
    .u32(0) // padding
    .into_bytes()
}

pub fn resource_attach_backing(resource_id: u32, entries: &[u8], nr_entries: u32) -> Vec<u8> {
    Request::new(
        virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
        0,
        0,
        0,
    )
    .u32(resource_id)
    .u32(nr_entries)
    .bytes(entries)
    .into_bytes()
}

/// RESOURCE_CREATE_BLOB with guest backing (header ctx_id 0, as Linux sends for guest blobs).
pub fn resource_create_blob_guest(
    resource_id: u32,
    size: u64,
    entries: &[u8],
    nr_entries: u32,
) -> Vec<u8> {
    Request::new(
        virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB,
        0,
        0,
        0,
    )
    .u32(resource_id)
    .u32(VIRTIO_GPU_BLOB_MEM_GUEST)
    .u32(VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE)
    .u32(nr_entries)
    .u64(0) // blob_id
    .u64(size)
    .bytes(entries)
    .into_bytes()
}

pub fn ctx_attach_resource(ctx_id: u32, resource_id: u32) -> Vec<u8> {
    Request::new(
        virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE,
        0,
        0,
        ctx_id,
    )
    .u32(resource_id)
    .u32(0)
    .into_bytes()
}

pub fn resource_unref(resource_id: u32) -> Vec<u8> {
    Request::new(virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_UNREF, 0, 0, 0)
        .u32(resource_id)
        .u32(0)
        .into_bytes()
}

/// The SUBMIT_3D header; the stream follows in its own descriptor (as Linux's execbuffer).
pub fn submit_3d_header(ctx_id: u32, fence_id: u64, size: u32) -> Vec<u8> {
    Request::new(
        virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SUBMIT_3D,
        VIRTIO_GPU_FLAG_FENCE,
        fence_id,
        ctx_id,
    )
    .u32(size)
    .u32(0)
    .into_bytes()
}

/// The response type in a response header, or `None` if the device wrote too little.
pub fn response_type(resp: &[u8]) -> Option<u32> {
    resp.get(0..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

// The patterns are bindgen's constant names.
#[allow(non_upper_case_globals)]
pub fn response_name(kind: u32) -> String {
    let name = match kind {
        virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_NODATA => "OK_NODATA",
        virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_CAPSET_INFO => "OK_CAPSET_INFO",
        virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_CAPSET => "OK_CAPSET",
        virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_UNSPEC => "ERR_UNSPEC",
        virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY => "ERR_OUT_OF_MEMORY",
        virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID => "ERR_INVALID_SCANOUT_ID",
        virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID => "ERR_INVALID_RESOURCE_ID",
        virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID => "ERR_INVALID_CONTEXT_ID",
        virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER => "ERR_INVALID_PARAMETER",
        _ => return format!("response type {kind:#x}"),
    };
    name.to_string()
}

pub fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_the_kernel_struct_sizes() {
        assert_eq!(
            get_capset_info(0).len(),
            std::mem::size_of::<virtio_gpu_get_capset_info>()
        );
        assert_eq!(
            get_capset(24, 1).len(),
            std::mem::size_of::<virtio_gpu_get_capset>()
        );
        assert_eq!(
            ctx_create(1, 0, "x").len(),
            std::mem::size_of::<virtio_gpu_ctx_create>()
        );
        assert_eq!(
            resource_create_buffer_3d(1, 1, 4096).len(),
            std::mem::size_of::<virtio_gpu_resource_create_3d>()
        );
        assert_eq!(
            resource_attach_backing(1, &[], 0).len(),
            std::mem::size_of::<virtio_gpu_resource_attach_backing>()
        );
        assert_eq!(
            resource_create_blob_guest(1, 4096, &[], 0).len(),
            std::mem::size_of::<virtio_gpu_resource_create_blob>()
        );
        assert_eq!(
            ctx_attach_resource(1, 2).len(),
            std::mem::size_of::<virtio_gpu_ctx_resource>()
        );
        assert_eq!(
            resource_unref(1).len(),
            std::mem::size_of::<virtio_gpu_resource_unref>()
        );
        assert_eq!(
            submit_3d_header(1, 9, 100).len(),
            std::mem::size_of::<virtio_gpu_cmd_submit>()
        );
        assert_eq!(
            mem_entries([0x1000u64, 0x3000].into_iter(), 4096).len(),
            2 * std::mem::size_of::<virtio_gpu_mem_entry>()
        );
    }

    #[test]
    fn submit_header_carries_fence_flag_id_and_context() {
        let h = submit_3d_header(7, 0x1122_3344_5566_7788, 300);
        assert_eq!(
            le_u32(&h, 0),
            Some(virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SUBMIT_3D)
        );
        assert_eq!(le_u32(&h, 4), Some(VIRTIO_GPU_FLAG_FENCE));
        assert_eq!(
            u64::from_le_bytes(h[8..16].try_into().unwrap()),
            0x1122_3344_5566_7788
        );
        assert_eq!(le_u32(&h, 16), Some(7));
        assert_eq!(le_u32(&h, 24), Some(300));
    }

    #[test]
    fn short_responses_have_no_type() {
        assert_eq!(response_type(&[1, 2, 3]), None);
        assert_eq!(response_type(&0x1100u32.to_le_bytes()), Some(0x1100));
    }
}
