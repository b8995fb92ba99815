//! virtio-gpu requests and responses as bytes (VIRTIO 1.2 §5.7.6). Requests are decoded from
//! an owned copy of the guest's bytes into [`Request`]; every field is read at its fixed
//! little-endian offset after checking that the bytes are present, and variable-length parts
//! (backing entries, `SUBMIT_3D` payloads) are checked against the bytes present before
//! anything is allocated for them.

use virtio_bindings::virtio_gpu as vg;

use super::view::MemEntry;
use super::GpuError;

/// `struct virtio_gpu_ctrl_hdr`.
pub const HDR_SIZE: usize = 24;
/// `struct virtio_gpu_mem_entry`.
pub const MEM_ENTRY_SIZE: usize = 16;
/// `struct virtio_gpu_resp_display_info`: header + 16 × {rect, enabled, flags}.
pub const DISPLAY_INFO_SIZE: usize = HDR_SIZE + 16 * 24;

/// `struct virtio_gpu_ctrl_hdr`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtrlHeader {
    pub type_: u32,
    pub flags: u32,
    pub fence_id: u64,
    pub ctx_id: u32,
    pub ring_idx: u8,
}

impl CtrlHeader {
    pub fn fenced(&self) -> bool {
        self.flags & vg::VIRTIO_GPU_FLAG_FENCE != 0
    }
}

/// `struct virtio_gpu_rect`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// `struct virtio_gpu_box` (TRANSFER_*_3D).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Box3d {
    pub x: u32,
    pub y: u32,
    pub z: u32,
    pub w: u32,
    pub h: u32,
    pub d: u32,
}

/// `struct virtio_gpu_resource_create_3d` after the header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Create3d {
    pub resource_id: u32,
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
}

/// `struct virtio_gpu_transfer_host_3d` after the header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transfer3d {
    pub bbox: Box3d,
    pub offset: u64,
    pub resource_id: u32,
    pub level: u32,
    pub stride: u32,
    pub layer_stride: u32,
}

/// One decoded command (the header travels beside it in [`Request`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GpuCommand {
    GetDisplayInfo,
    GetEdid {
        scanout: u32,
    },
    GetCapsetInfo {
        index: u32,
    },
    GetCapset {
        id: u32,
        version: u32,
    },
    ResourceCreate2d {
        resource_id: u32,
        format: u32,
        width: u32,
        height: u32,
    },
    ResourceCreate3d(Create3d),
    ResourceCreateBlob {
        resource_id: u32,
        blob_mem: u32,
        blob_flags: u32,
        blob_id: u64,
        size: u64,
        entries: Vec<MemEntry>,
    },
    ResourceUnref {
        resource_id: u32,
    },
    ResourceAttachBacking {
        resource_id: u32,
        entries: Vec<MemEntry>,
    },
    ResourceDetachBacking {
        resource_id: u32,
    },
    ResourceAssignUuid {
        resource_id: u32,
    },
    SetScanout {
        rect: Rect,
        scanout_id: u32,
        resource_id: u32,
    },
    ResourceFlush {
        rect: Rect,
        resource_id: u32,
    },
    TransferToHost2d {
        rect: Rect,
        offset: u64,
        resource_id: u32,
    },
    TransferToHost3d(Transfer3d),
    TransferFromHost3d(Transfer3d),
    CtxCreate {
        context_init: u32,
        name: String,
    },
    CtxDestroy,
    CtxAttachResource {
        resource_id: u32,
    },
    CtxDetachResource {
        resource_id: u32,
    },
    Submit3d {
        stream: Vec<u8>,
    },
    UpdateCursor {
        scanout_id: u32,
        x: u32,
        y: u32,
        resource_id: u32,
        hot_x: u32,
        hot_y: u32,
    },
    MoveCursor {
        scanout_id: u32,
        x: u32,
        y: u32,
    },
}

/// A decoded request: its header and command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub hdr: CtrlHeader,
    pub cmd: GpuCommand,
}

/// Decode-time bounds the device chooses.
#[derive(Clone, Copy, Debug)]
pub struct DecodeLimits {
    /// Largest `SUBMIT_3D` payload accepted (the capset's `max_stream_size`).
    pub max_stream_size: u32,
}

/// Little-endian field reads at fixed offsets, each checked against the bytes present.
struct Fields<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl Fields<'_> {
    fn need(&self, len: usize) -> Result<(), GpuError> {
        if self.bytes.len() < len {
            return Err(GpuError::InvalidParameter(format!(
                "{} needs {len} bytes, the request has {}",
                self.what,
                self.bytes.len()
            )));
        }
        Ok(())
    }

    fn u32(&self, at: usize) -> u32 {
        read_u32(self.bytes, at)
    }

    fn u64(&self, at: usize) -> u64 {
        read_u64(self.bytes, at)
    }

    fn rect(&self, at: usize) -> Rect {
        Rect {
            x: self.u32(at),
            y: self.u32(at + 4),
            width: self.u32(at + 8),
            height: self.u32(at + 12),
        }
    }
}

/// Reads a little-endian `u32`; bytes past the end read as 0 (callers check lengths first with
/// [`Fields::need`]; this only keeps the read panic-free).
fn read_u32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(at..at.saturating_add(4)) {
        w.copy_from_slice(s);
    }
    u32::from_le_bytes(w)
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    u64::from(read_u32(b, at)) | (u64::from(read_u32(b, at.saturating_add(4))) << 32)
}

/// Decodes the header alone (to answer even a request whose body is bad with the right fence).
pub fn decode_header(bytes: &[u8]) -> Result<CtrlHeader, GpuError> {
    let f = Fields {
        bytes,
        what: "virtio_gpu_ctrl_hdr",
    };
    f.need(HDR_SIZE)?;
    Ok(CtrlHeader {
        type_: f.u32(0),
        flags: f.u32(4),
        fence_id: f.u64(8),
        ctx_id: f.u32(16),
        ring_idx: bytes[20],
    })
}

/// Decodes `nr` backing entries starting at `at`, after checking that they are all present
/// (so a hostile `nr_entries` of 2³²−1 allocates nothing).
fn mem_entries(bytes: &[u8], at: usize, nr: u32) -> Result<Vec<MemEntry>, GpuError> {
    let need = (nr as usize)
        .checked_mul(MEM_ENTRY_SIZE)
        .and_then(|n| n.checked_add(at))
        .ok_or_else(|| GpuError::InvalidParameter(format!("nr_entries {nr} overflows")))?;
    if bytes.len() < need {
        return Err(GpuError::InvalidParameter(format!(
            "nr_entries {nr} needs {need} bytes, the request has {}",
            bytes.len()
        )));
    }
    Ok((0..nr as usize)
        .map(|i| {
            let o = at + i * MEM_ENTRY_SIZE;
            MemEntry {
                addr: read_u64(bytes, o),
                len: read_u32(bytes, o + 8),
            }
        })
        .collect())
}

/// Decodes one control- or cursor-queue request.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Request, GpuError> {
    let hdr = decode_header(bytes)?;
    let field_bytes = |what, len: usize| -> Result<Fields<'_>, GpuError> {
        let f = Fields { bytes, what };
        f.need(HDR_SIZE + len)?;
        Ok(f)
    };
    const H: usize = HDR_SIZE;
    let cmd = match hdr.type_ {
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_DISPLAY_INFO => GpuCommand::GetDisplayInfo,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_EDID => {
            let f = field_bytes("GET_EDID", 8)?;
            GpuCommand::GetEdid { scanout: f.u32(H) }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_CAPSET_INFO => {
            let f = field_bytes("GET_CAPSET_INFO", 8)?;
            GpuCommand::GetCapsetInfo { index: f.u32(H) }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_CAPSET => {
            let f = field_bytes("GET_CAPSET", 8)?;
            GpuCommand::GetCapset {
                id: f.u32(H),
                version: f.u32(H + 4),
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_2D => {
            let f = field_bytes("RESOURCE_CREATE_2D", 16)?;
            GpuCommand::ResourceCreate2d {
                resource_id: f.u32(H),
                format: f.u32(H + 4),
                width: f.u32(H + 8),
                height: f.u32(H + 12),
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_3D => {
            let f = field_bytes("RESOURCE_CREATE_3D", 48)?;
            GpuCommand::ResourceCreate3d(Create3d {
                resource_id: f.u32(H),
                target: f.u32(H + 4),
                format: f.u32(H + 8),
                bind: f.u32(H + 12),
                width: f.u32(H + 16),
                height: f.u32(H + 20),
                depth: f.u32(H + 24),
                array_size: f.u32(H + 28),
                last_level: f.u32(H + 32),
                nr_samples: f.u32(H + 36),
                flags: f.u32(H + 40),
            })
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB => {
            let f = field_bytes("RESOURCE_CREATE_BLOB", 32)?;
            GpuCommand::ResourceCreateBlob {
                resource_id: f.u32(H),
                blob_mem: f.u32(H + 4),
                blob_flags: f.u32(H + 8),
                blob_id: f.u64(H + 16),
                size: f.u64(H + 24),
                entries: mem_entries(bytes, H + 32, f.u32(H + 12))?,
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_UNREF => {
            let f = field_bytes("RESOURCE_UNREF", 8)?;
            GpuCommand::ResourceUnref {
                resource_id: f.u32(H),
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING => {
            let f = field_bytes("RESOURCE_ATTACH_BACKING", 8)?;
            GpuCommand::ResourceAttachBacking {
                resource_id: f.u32(H),
                entries: mem_entries(bytes, H + 8, f.u32(H + 4))?,
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING => {
            let f = field_bytes("RESOURCE_DETACH_BACKING", 8)?;
            GpuCommand::ResourceDetachBacking {
                resource_id: f.u32(H),
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ASSIGN_UUID => {
            let f = field_bytes("RESOURCE_ASSIGN_UUID", 8)?;
            GpuCommand::ResourceAssignUuid {
                resource_id: f.u32(H),
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SET_SCANOUT => {
            let f = field_bytes("SET_SCANOUT", 24)?;
            GpuCommand::SetScanout {
                rect: f.rect(H),
                scanout_id: f.u32(H + 16),
                resource_id: f.u32(H + 20),
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_FLUSH => {
            let f = field_bytes("RESOURCE_FLUSH", 24)?;
            GpuCommand::ResourceFlush {
                rect: f.rect(H),
                resource_id: f.u32(H + 16),
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D => {
            let f = field_bytes("TRANSFER_TO_HOST_2D", 32)?;
            GpuCommand::TransferToHost2d {
                rect: f.rect(H),
                offset: f.u64(H + 16),
                resource_id: f.u32(H + 24),
            }
        }
        t @ (vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D
        | vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D) => {
            let f = field_bytes("TRANSFER_HOST_3D", 48)?;
            let t3 = Transfer3d {
                bbox: Box3d {
                    x: f.u32(H),
                    y: f.u32(H + 4),
                    z: f.u32(H + 8),
                    w: f.u32(H + 12),
                    h: f.u32(H + 16),
                    d: f.u32(H + 20),
                },
                offset: f.u64(H + 24),
                resource_id: f.u32(H + 32),
                level: f.u32(H + 36),
                stride: f.u32(H + 40),
                layer_stride: f.u32(H + 44),
            };
            if t == vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D {
                GpuCommand::TransferToHost3d(t3)
            } else {
                GpuCommand::TransferFromHost3d(t3)
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE => {
            let f = field_bytes("CTX_CREATE", 72)?;
            let nlen = f.u32(H).min(64) as usize;
            let raw = &bytes[H + 8..H + 8 + nlen];
            let raw = raw.split(|&b| b == 0).next().unwrap_or(&[]);
            GpuCommand::CtxCreate {
                context_init: f.u32(H + 4),
                name: String::from_utf8_lossy(raw).into_owned(),
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_DESTROY => GpuCommand::CtxDestroy,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE => {
            let f = field_bytes("CTX_ATTACH_RESOURCE", 8)?;
            GpuCommand::CtxAttachResource {
                resource_id: f.u32(H),
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE => {
            let f = field_bytes("CTX_DETACH_RESOURCE", 8)?;
            GpuCommand::CtxDetachResource {
                resource_id: f.u32(H),
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SUBMIT_3D => {
            let f = field_bytes("SUBMIT_3D", 8)?;
            let size = f.u32(H);
            if size > limits.max_stream_size {
                return Err(GpuError::InvalidParameter(format!(
                    "SUBMIT_3D of {size} bytes exceeds max_stream_size {}",
                    limits.max_stream_size
                )));
            }
            let start = H + 8;
            let payload = bytes.get(start..start + size as usize).ok_or_else(|| {
                GpuError::InvalidParameter(format!(
                    "SUBMIT_3D size {size} but only {} payload bytes present",
                    bytes.len() - start
                ))
            })?;
            GpuCommand::Submit3d {
                stream: payload.to_vec(),
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_UPDATE_CURSOR => {
            let f = field_bytes("UPDATE_CURSOR", 32)?;
            GpuCommand::UpdateCursor {
                scanout_id: f.u32(H),
                x: f.u32(H + 4),
                y: f.u32(H + 8),
                resource_id: f.u32(H + 16),
                hot_x: f.u32(H + 20),
                hot_y: f.u32(H + 24),
            }
        }
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_MOVE_CURSOR => {
            let f = field_bytes("MOVE_CURSOR", 32)?;
            GpuCommand::MoveCursor {
                scanout_id: f.u32(H),
                x: f.u32(H + 4),
                y: f.u32(H + 8),
            }
        }
        other => {
            return Err(GpuError::Unspec(format!(
                "unsupported command type {other:#x}"
            )));
        }
    };
    Ok(Request { hdr, cmd })
}

/// A successful response's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GpuResponse {
    OkNoData,
    DisplayInfo {
        scanouts: Vec<(Rect, bool)>,
    },
    CapsetInfo {
        id: u32,
        max_version: u32,
        max_size: u32,
    },
    Capset(Vec<u8>),
    Edid(Vec<u8>),
    ResourceUuid([u8; 16]),
}

/// Encodes a response: the header (type, fence fields echoed from the request when it asked for
/// a fence) and the body.
pub fn encode_response(req: &CtrlHeader, resp: &Result<GpuResponse, GpuError>) -> Vec<u8> {
    let type_ = match resp {
        Err(e) => e.response_type(),
        Ok(GpuResponse::OkNoData) => vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_NODATA,
        Ok(GpuResponse::DisplayInfo { .. }) => {
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_DISPLAY_INFO
        }
        Ok(GpuResponse::CapsetInfo { .. }) => {
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_CAPSET_INFO
        }
        Ok(GpuResponse::Capset(_)) => vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_CAPSET,
        Ok(GpuResponse::Edid(_)) => vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_EDID,
        Ok(GpuResponse::ResourceUuid(_)) => {
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_RESOURCE_UUID
        }
    };
    let mut out = Vec::with_capacity(HDR_SIZE);
    out.extend(type_.to_le_bytes());
    // VIRTIO 1.2 §5.7.6.7: the device echoes the fence (and the ring index when the driver set
    // INFO_RING_IDX) in the response to a fenced request.
    let (flags, fence_id, ctx_id, ring_idx) = if req.fenced() {
        let keep = vg::VIRTIO_GPU_FLAG_FENCE | (req.flags & vg::VIRTIO_GPU_FLAG_INFO_RING_IDX);
        (keep, req.fence_id, req.ctx_id, req.ring_idx)
    } else {
        (0, 0, 0, 0)
    };
    out.extend(flags.to_le_bytes());
    out.extend(fence_id.to_le_bytes());
    out.extend(ctx_id.to_le_bytes());
    out.extend([ring_idx, 0, 0, 0]);
    match resp {
        Err(_) | Ok(GpuResponse::OkNoData) => {}
        Ok(GpuResponse::DisplayInfo { scanouts }) => {
            for i in 0..vg::VIRTIO_GPU_MAX_SCANOUTS as usize {
                let (r, enabled) = scanouts.get(i).copied().unwrap_or_default();
                for v in [r.x, r.y, r.width, r.height, u32::from(enabled), 0] {
                    out.extend(v.to_le_bytes());
                }
            }
        }
        Ok(GpuResponse::CapsetInfo {
            id,
            max_version,
            max_size,
        }) => {
            for v in [*id, *max_version, *max_size, 0] {
                out.extend(v.to_le_bytes());
            }
        }
        Ok(GpuResponse::Capset(blob)) => out.extend(blob),
        Ok(GpuResponse::Edid(edid)) => {
            // struct virtio_gpu_resp_edid: size, padding, edid[1024].
            out.extend((edid.len() as u32).to_le_bytes());
            out.extend(0u32.to_le_bytes());
            let mut block = [0u8; 1024];
            let n = edid.len().min(1024);
            block[..n].copy_from_slice(&edid[..n]);
            out.extend(block);
        }
        Ok(GpuResponse::ResourceUuid(uuid)) => out.extend(uuid),
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
pub(crate) mod tests {
    use super::*;

    /// Builds a request: header with `type_`, `flags`, `fence_id`, `ctx_id`, then `body` words.
    pub(crate) fn request(type_: u32, ctx_id: u32, body: &[u32]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(type_.to_le_bytes());
        b.extend(0u32.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.extend(ctx_id.to_le_bytes());
        b.extend([0u8; 4]);
        for w in body {
            b.extend(w.to_le_bytes());
        }
        b
    }

    const LIMITS: DecodeLimits = DecodeLimits {
        max_stream_size: 1 << 20,
    };

    #[test]
    fn attach_backing_with_huge_nr_entries_is_refused_before_allocating() {
        let req = request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
            0,
            &[7, u32::MAX],
        );
        let err = decode(&req, &LIMITS).unwrap_err();
        assert!(matches!(err, GpuError::InvalidParameter(ref m) if m.contains("nr_entries")));
    }

    #[test]
    fn attach_backing_entries_are_decoded() {
        let req = request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
            0,
            &[7, 2, 0x1000, 0, 0x2000, 0, 0x3000, 1, 0x1000, 0],
        );
        let r = decode(&req, &LIMITS).unwrap();
        assert_eq!(
            r.cmd,
            GpuCommand::ResourceAttachBacking {
                resource_id: 7,
                entries: vec![
                    MemEntry {
                        addr: 0x1000,
                        len: 0x2000
                    },
                    MemEntry {
                        addr: 0x1_0000_3000,
                        len: 0x1000
                    },
                ],
            }
        );
    }

    #[test]
    fn truncated_commands_are_invalid_parameters() {
        assert!(matches!(
            decode(&[0u8; 10], &LIMITS),
            Err(GpuError::InvalidParameter(_))
        ));
        let req = request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
            0,
            &[1, 2],
        );
        assert!(matches!(
            decode(&req, &LIMITS),
            Err(GpuError::InvalidParameter(_))
        ));
    }

    #[test]
    fn unknown_command_is_unspec() {
        let req = request(0x4242, 0, &[]);
        assert!(matches!(decode(&req, &LIMITS), Err(GpuError::Unspec(_))));
    }

    #[test]
    fn submit_payload_is_bounded_by_size_and_bytes_present() {
        let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SUBMIT_3D;
        let ok = request(t, 3, &[4, 0, 0xdead_beef]);
        assert_eq!(
            decode(&ok, &LIMITS).unwrap().cmd,
            GpuCommand::Submit3d {
                stream: 0xdead_beefu32.to_le_bytes().to_vec()
            }
        );
        let short = request(t, 3, &[8, 0, 1]);
        assert!(matches!(
            decode(&short, &LIMITS),
            Err(GpuError::InvalidParameter(_))
        ));
        let huge = request(t, 3, &[(1 << 20) + 1, 0]);
        assert!(matches!(
            decode(&huge, &LIMITS),
            Err(GpuError::InvalidParameter(_))
        ));
    }

    #[test]
    fn fenced_response_echoes_fence_and_ring() {
        let mut req = request(vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_DESTROY, 5, &[]);
        req[4..8].copy_from_slice(
            &(vg::VIRTIO_GPU_FLAG_FENCE | vg::VIRTIO_GPU_FLAG_INFO_RING_IDX).to_le_bytes(),
        );
        req[8..16].copy_from_slice(&77u64.to_le_bytes());
        req[20] = 2;
        let hdr = decode_header(&req).unwrap();
        let out = encode_response(&hdr, &Ok(GpuResponse::OkNoData));
        let back = decode_header(&out).unwrap();
        assert_eq!(
            back.type_,
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_NODATA
        );
        assert_eq!((back.fence_id, back.ctx_id, back.ring_idx), (77, 5, 2));
        assert!(back.fenced());
        let unfenced = encode_response(&CtrlHeader::default(), &Err(GpuError::InvalidContextId(1)));
        let back = decode_header(&unfenced).unwrap();
        assert_eq!(
            back.type_,
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID
        );
        assert_eq!(back.fence_id, 0);
    }

    #[test]
    fn display_info_response_has_the_spec_size() {
        let out = encode_response(
            &CtrlHeader::default(),
            &Ok(GpuResponse::DisplayInfo {
                scanouts: vec![(Rect::default(), true)],
            }),
        );
        assert_eq!(out.len(), DISPLAY_INFO_SIZE);
    }
}
