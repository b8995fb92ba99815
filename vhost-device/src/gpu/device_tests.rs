#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
//! Drives [`VirtioGpu`] with request bytes as a guest would send them, with a test
//! [`ContextFactory`] that records the streams and views it receives.

use std::sync::{Arc, Mutex};

use protocol::{Capset, SOFTGPU_CAPSET_VK};
use virtio_bindings::virtio_gpu as vg;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use super::device::{DeviceLimits, Features, VirtioGpu};
use super::view::tests::guest_memory;
use super::wire::{decode_header, tests::request};
use crate::context::{ContextBackend, ContextFactory, GuestMemoryView, ResourceViews, SubmitError};

/// What the recording contexts saw: (ctx id, stream, bytes of resource 1 as the view showed
/// them, or None if the view did not resolve).
type Log = Arc<Mutex<Vec<(u32, Vec<u8>, Option<Vec<u8>>)>>>;

struct RecordingFactory(Log);
struct RecordingContext(u32, Log);

impl ContextFactory for RecordingFactory {
    fn create(&self, ctx_id: u32, _name: &str) -> Box<dyn ContextBackend> {
        Box::new(RecordingContext(ctx_id, self.0.clone()))
    }
}

impl ContextBackend for RecordingContext {
    fn submit(&mut self, stream: &[u8], resources: &dyn ResourceViews) -> Result<(), SubmitError> {
        if stream == b"bad!" {
            return Err(SubmitError::Invalid("refused by test".into()));
        }
        let bytes = resources.view(1).map(|v| {
            let mut b = vec![0u8; v.len()];
            // SAFETY: the view is valid for len() bytes while the Arc lives.
            unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), b.as_mut_ptr(), v.len()) };
            b
        });
        self.1
            .lock()
            .unwrap()
            .push((self.0, stream.to_vec(), bytes));
        Ok(())
    }
}

fn capset() -> Capset {
    Capset {
        protocol_version: protocol::PROTOCOL_VERSION,
        subgroup_size: 8,
        threads: 2,
        max_compute_workgroup_invocations: 1024,
        max_compute_workgroup_size: [1024, 1024, 64],
        max_compute_workgroup_count: [65535; 3],
        max_compute_shared_memory_size: 32768,
        max_push_constants_size: 256,
        max_storage_buffer_range: u32::MAX,
        max_uniform_buffer_range: 65536,
        min_storage_buffer_offset_alignment: 16,
        min_uniform_buffer_offset_alignment: 16,
        max_bound_descriptor_sets: 8,
        max_memory_allocation_size: 1 << 32,
        device_memory_budget: 1 << 40,
        max_stream_size: 1 << 20,
        client: protocol::ClientCaps {
            max_objects: Some(64),
            max_descriptors: Some(256),
            max_shader_module_words: Some(4096),
        },
    }
}

fn gpu() -> (VirtioGpu, Log, GuestMemoryMmap<()>) {
    let log: Log = Default::default();
    let limits = DeviceLimits {
        capset: capset(),
        max_mapping_runs: 64,
        max_resources: 16,
        max_contexts: 4,
        max_image_bytes: 16 << 20,
    };
    (
        VirtioGpu::new(Arc::new(RecordingFactory(log.clone())), limits),
        log,
        guest_memory(),
    )
}

/// CTX_CREATE's body: nlen 0, `context_init`, an empty 64-byte name.
fn ctx_body(context_init: u32) -> [u32; 18] {
    let mut b = [0u32; 18];
    b[1] = context_init;
    b
}

fn resp_type(out: &[u8]) -> u32 {
    decode_header(out).unwrap().type_
}

const OK: u32 = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_NODATA;
const BAD_PARAM: u32 = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
const BAD_RES: u32 = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
const BAD_CTX: u32 = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID;

fn run(g: &mut VirtioGpu, mem: &GuestMemoryMmap<()>, t: u32, ctx: u32, body: &[u32]) -> Vec<u8> {
    g.process(mem, &request(t, ctx, body))
}

fn create_buffer(g: &mut VirtioGpu, mem: &GuestMemoryMmap<()>, id: u32, size: u32) -> u32 {
    let body = [id, 0, 0, 0, size, 1, 1, 1, 0, 0, 0, 0];
    resp_type(&run(
        g,
        mem,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_3D,
        0,
        &body,
    ))
}

fn attach(g: &mut VirtioGpu, mem: &GuestMemoryMmap<()>, id: u32, pages: &[u64]) -> u32 {
    let mut body = vec![id, pages.len() as u32];
    for &p in pages {
        body.extend([p as u32, (p >> 32) as u32, 4096, 0]);
    }
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING;
    resp_type(&run(g, mem, t, 0, &body))
}

fn submit(g: &mut VirtioGpu, mem: &GuestMemoryMmap<()>, ctx: u32, stream: &[u8]) -> u32 {
    let mut req = request(
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SUBMIT_3D,
        ctx,
        &[stream.len() as u32, 0],
    );
    req.extend(stream);
    resp_type(&g.process(mem, &req))
}

#[test]
fn capset_info_and_capset_describe_our_capset() {
    let (mut g, _, mem) = gpu();
    let out = run(
        &mut g,
        &mem,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_CAPSET_INFO,
        0,
        &[0, 0],
    );
    assert_eq!(
        resp_type(&out),
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_CAPSET_INFO
    );
    assert_eq!(
        u32::from_le_bytes(out[24..28].try_into().unwrap()),
        SOFTGPU_CAPSET_VK
    );
    let out = run(
        &mut g,
        &mem,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_CAPSET_INFO,
        0,
        &[1, 0],
    );
    assert_eq!(resp_type(&out), BAD_PARAM);
    let out = run(
        &mut g,
        &mem,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_CAPSET,
        0,
        &[24, 1],
    );
    assert_eq!(
        resp_type(&out),
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_CAPSET
    );
    let c = Capset::decode(&out[24..]).unwrap();
    // The budget is capped by the guest's RAM (3 MiB here).
    assert_eq!(c.device_memory_budget, 3 << 20);
    assert_eq!(c.subgroup_size, 8);
    // The client caps reach the guest as configured.
    assert_eq!(c.client, capset().client);
    let out = run(
        &mut g,
        &mem,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_CAPSET,
        0,
        &[3, 1],
    );
    assert_eq!(resp_type(&out), BAD_PARAM);
}

#[test]
fn display_info_and_edid_describe_one_scanout() {
    let (mut g, _, mem) = gpu();
    let out = run(
        &mut g,
        &mem,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_DISPLAY_INFO,
        0,
        &[],
    );
    assert_eq!(
        resp_type(&out),
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_DISPLAY_INFO
    );
    let w: Vec<u32> = out[24..48]
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(w, [0, 0, 1280, 800, 1, 0]);
    let out = run(
        &mut g,
        &mem,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_EDID,
        0,
        &[0, 0],
    );
    assert_eq!(
        resp_type(&out),
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_EDID
    );
    assert_eq!(out.len(), 24 + 8 + 1024);
    let out = run(
        &mut g,
        &mem,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_EDID,
        0,
        &[1, 0],
    );
    assert_eq!(
        resp_type(&out),
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID
    );
}

#[test]
fn submit_sees_only_attached_resources_backed_by_guest_pages() {
    let (mut g, log, mem) = gpu();
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE;
    assert_eq!(resp_type(&run(&mut g, &mem, t, 5, &[0; 18])), OK);
    assert_eq!(
        resp_type(&run(&mut g, &mem, t, 5, &[0; 18])),
        BAD_CTX,
        "duplicate id"
    );
    assert_eq!(create_buffer(&mut g, &mem, 1, 8192), OK);
    mem.write_slice(&[7u8; 4096], GuestAddress(0x3000)).unwrap();
    mem.write_slice(&[9u8; 4096], GuestAddress(0x20_5000))
        .unwrap();
    assert_eq!(attach(&mut g, &mem, 1, &[0x20_5000, 0x3000]), OK);
    // Not attached to the context yet: the view does not resolve.
    assert_eq!(submit(&mut g, &mem, 5, b"one"), OK);
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE;
    assert_eq!(resp_type(&run(&mut g, &mem, t, 5, &[1, 0])), OK);
    assert_eq!(submit(&mut g, &mem, 5, b"two"), OK);
    assert_eq!(submit(&mut g, &mem, 6, b"x"), BAD_CTX);
    assert_eq!(submit(&mut g, &mem, 5, b"bad!"), BAD_PARAM);
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0].0, log[0].1.as_slice(), log[0].2.is_none()),
        (5, &b"one"[..], true)
    );
    let bytes = log[1].2.as_ref().unwrap();
    assert_eq!(bytes.len(), 8192);
    assert!(bytes[..4096].iter().all(|&b| b == 9) && bytes[4096..].iter().all(|&b| b == 7));
}

#[test]
fn hostile_commands_get_error_responses() {
    let (mut g, _, mem) = gpu();
    assert_eq!(create_buffer(&mut g, &mem, 0, 4096), BAD_RES, "id 0");
    assert_eq!(create_buffer(&mut g, &mem, 2, 0), BAD_PARAM, "size 0");
    let image = [3, 0, 0, 0, 4096, 2, 1, 1, 0, 0, 0, 0];
    let t3d = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_3D;
    assert_eq!(
        resp_type(&run(&mut g, &mem, t3d, 0, &image)),
        BAD_PARAM,
        "2D target"
    );
    assert_eq!(attach(&mut g, &mem, 9, &[0x1000]), BAD_RES);
    assert_eq!(create_buffer(&mut g, &mem, 2, 4096), OK);
    assert_eq!(create_buffer(&mut g, &mem, 2, 4096), BAD_RES, "duplicate");
    assert_eq!(
        attach(&mut g, &mem, 2, &[0x100_0000]),
        BAD_PARAM,
        "outside guest memory"
    );
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING;
    assert_eq!(
        resp_type(&run(&mut g, &mem, t, 0, &[2, u32::MAX])),
        BAD_PARAM
    );
    assert_eq!(attach(&mut g, &mem, 2, &[0x1000]), OK);
    assert_eq!(
        attach(&mut g, &mem, 2, &[0x1000]),
        BAD_PARAM,
        "already backed"
    );
    let ctx = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE;
    // context_init without CONTEXT_INIT negotiated, then with the wrong capset.
    assert_eq!(
        resp_type(&run(&mut g, &mem, ctx, 1, &ctx_body(24))),
        BAD_PARAM
    );
    g.set_features(Features {
        context_init: true,
        resource_blob: false,
    });
    assert_eq!(
        resp_type(&run(&mut g, &mem, ctx, 1, &ctx_body(4))),
        BAD_PARAM
    );
    assert_eq!(resp_type(&run(&mut g, &mem, ctx, 1, &ctx_body(24))), OK);
    let blob = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB;
    let body = [4, 1, 0, 1, 0, 0, 4096, 0, 0x1000, 0, 4096, 0];
    assert_eq!(
        resp_type(&run(&mut g, &mem, blob, 1, &body)),
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_UNSPEC
    );
    assert_eq!(
        resp_type(&run(&mut g, &mem, 0x9999, 0, &[])),
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_UNSPEC
    );
    let unref = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_UNREF;
    assert_eq!(resp_type(&run(&mut g, &mem, unref, 0, &[77, 0])), BAD_RES);
}

#[test]
fn guest_blob_is_created_attached_to_its_context() {
    let (mut g, log, mem) = gpu();
    g.set_features(Features {
        context_init: true,
        resource_blob: true,
    });
    let ctx = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE;
    assert_eq!(resp_type(&run(&mut g, &mem, ctx, 2, &ctx_body(24))), OK);
    mem.write_slice(&[5u8; 4096], GuestAddress(0x7000)).unwrap();
    let blob = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB;
    let body = [
        1,
        vg::VIRTIO_GPU_BLOB_MEM_GUEST,
        1,
        1,
        0,
        0,
        4096,
        0,
        0x7000,
        0,
        4096,
        0,
    ];
    assert_eq!(resp_type(&run(&mut g, &mem, blob, 2, &body)), OK);
    assert_eq!(submit(&mut g, &mem, 2, b"s"), OK);
    assert_eq!(log.lock().unwrap()[0].2.as_deref(), Some(&[5u8; 4096][..]));
}

#[test]
fn unref_while_work_holds_the_view_keeps_memory_mapped() {
    struct HoldingFactory(Arc<Mutex<Option<Arc<dyn GuestMemoryView>>>>);
    struct Holding(Arc<Mutex<Option<Arc<dyn GuestMemoryView>>>>);
    impl ContextFactory for HoldingFactory {
        fn create(&self, _: u32, _: &str) -> Box<dyn ContextBackend> {
            Box::new(Holding(self.0.clone()))
        }
    }
    impl ContextBackend for Holding {
        fn submit(&mut self, _: &[u8], r: &dyn ResourceViews) -> Result<(), SubmitError> {
            *self.0.lock().unwrap() = r.view(1);
            Ok(())
        }
    }
    let held = Arc::new(Mutex::new(None));
    let (_, _, mem) = gpu();
    let limits = DeviceLimits {
        capset: capset(),
        max_mapping_runs: 64,
        max_resources: 16,
        max_contexts: 4,
        max_image_bytes: 1 << 20,
    };
    let mut g = VirtioGpu::new(Arc::new(HoldingFactory(held.clone())), limits);
    let ctx = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE;
    assert_eq!(resp_type(&run(&mut g, &mem, ctx, 1, &ctx_body(0))), OK);
    assert_eq!(create_buffer(&mut g, &mem, 1, 4096), OK);
    mem.write_slice(&[3u8; 4096], GuestAddress(0x9000)).unwrap();
    assert_eq!(attach(&mut g, &mem, 1, &[0x9000]), OK);
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE;
    assert_eq!(resp_type(&run(&mut g, &mem, t, 1, &[1, 0])), OK);
    assert_eq!(submit(&mut g, &mem, 1, b"go"), OK);
    let unref = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_UNREF;
    assert_eq!(resp_type(&run(&mut g, &mem, unref, 0, &[1, 0])), OK);
    g.reset();
    let view = held.lock().unwrap().take().unwrap();
    // SAFETY: the held Arc keeps the mapping valid for len() bytes.
    let first = unsafe { *view.as_ptr() };
    assert_eq!(first, 3);
}

#[test]
fn transfer_to_host_2d_copies_the_rectangle_from_backing() {
    let (mut g, _, mem) = gpu();
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_2D;
    let fmt = vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM;
    assert_eq!(resp_type(&run(&mut g, &mem, t, 0, &[1, fmt, 1024, 2])), OK);
    assert_eq!(
        resp_type(&run(&mut g, &mem, t, 0, &[2, 999, 4, 4])),
        BAD_PARAM
    );
    assert_eq!(attach(&mut g, &mem, 1, &[0x1000, 0x2000]), OK);
    let xfer = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D;
    assert_eq!(
        resp_type(&run(&mut g, &mem, xfer, 0, &[0, 0, 1024, 2, 0, 0, 1, 0])),
        OK
    );
    assert_eq!(
        resp_type(&run(&mut g, &mem, xfer, 0, &[0, 1, 1024, 2, 0, 0, 1, 0])),
        BAD_PARAM
    );
    assert_eq!(
        resp_type(&run(&mut g, &mem, xfer, 0, &[0, 0, 4, 1, 8192, 0, 1, 0])),
        BAD_PARAM,
        "offset past backing"
    );
    let scanout = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SET_SCANOUT;
    assert_eq!(
        resp_type(&run(&mut g, &mem, scanout, 0, &[0, 0, 1024, 2, 0, 1])),
        OK
    );
    assert_eq!(
        resp_type(&run(&mut g, &mem, scanout, 0, &[0, 0, 1024, 2, 3, 1])),
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID
    );
}

/// Random requests (known command types, random ids, lengths and bodies) through the whole
/// decoder and device: every one gets a well-formed response, nothing panics.
#[test]
fn random_requests_always_get_a_response() {
    let (mut g, _, mem) = gpu();
    g.set_features(Features {
        context_init: true,
        resource_blob: true,
    });
    let types: Vec<u32> = (0x100..=0x10d)
        .chain(0x200..=0x209)
        .chain([0x300, 0x301, 0x0, 0x1234])
        .collect();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        // xorshift64*: deterministic, so a failure reproduces.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut ok = std::collections::HashMap::<u32, usize>::new();
    for i in 0..20_000 {
        if i % 50 == 0 {
            // Keep some objects alive for the random commands to hit (errors if they exist).
            for id in 1..4 {
                create_buffer(&mut g, &mem, id, 4096);
                run(
                    &mut g,
                    &mem,
                    vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE,
                    id,
                    &ctx_body(0),
                );
            }
        }
        let t = types[(next() % types.len() as u64) as usize];
        let words = (next() % 24) as usize;
        let body: Vec<u32> = (0..words)
            .map(|i| match next() % 4 {
                // Small ids and counts hit existing objects; page addresses hit guest memory.
                0 => (next() % 4) as u32,
                1 if i % 2 == 0 => ((next() % 0x400) * 0x1000) as u32,
                2 => 0x1000,
                _ => next() as u32,
            })
            .collect();
        let mut body = body;
        if t == vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING && next() % 2 == 0 {
            // Plausible entries, some adjacent, some outside guest memory.
            let n = 1 + next() % 4;
            body = vec![(next() % 4) as u32, n as u32];
            for _ in 0..n {
                body.extend([
                    ((next() % 0x500) * 0x1000) as u32,
                    0,
                    0x1000 * (1 + (next() % 3) as u32),
                    0,
                ]);
            }
        }
        let ctx = (next() % 3) as u32;
        let mut req = request(t, ctx, &body);
        if next() % 2 == 0 {
            req[4] = 1; // fenced
        }
        let cut = (next() % (req.len() as u64 + 1)) as usize;
        if next() % 8 == 0 {
            req.truncate(cut);
        }
        let out = g.process(&mem, &req);
        assert!(
            out.len() >= 24,
            "type {t:#x}: response of {} bytes",
            out.len()
        );
        let r = resp_type(&out);
        assert!(
            (0x1100..=0x1106).contains(&r) || (0x1200..=0x1205).contains(&r),
            "type {t:#x} → {r:#x}"
        );
        if r < 0x1200 {
            *ok.entry(t).or_default() += 1;
        }
    }
    // The generator reaches past the decoder: objects get created, backed and used.
    for t in [
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SUBMIT_3D,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE,
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_UNREF,
    ] {
        assert!(
            ok.get(&t).copied().unwrap_or(0) > 0,
            "no successful {t:#x}: {ok:?}"
        );
    }
}

/// What a recording display was asked to show.
#[derive(Debug, PartialEq)]
enum Shown {
    Scanout(u32, u32, u32),
    Update(u32, u32, u32, u32, u32, Vec<u8>),
    CursorMove(u32, u32, u32),
    CursorHide(u32),
    CursorImage(u32, u32, u32, u32, u32, Vec<u8>),
}

struct RecordingDisplay(Arc<Mutex<Vec<Shown>>>);

impl super::display::Display for RecordingDisplay {
    fn scanout(&self, s: u32, w: u32, h: u32) -> std::io::Result<()> {
        self.0.lock().unwrap().push(Shown::Scanout(s, w, h));
        Ok(())
    }
    fn update(&self, s: u32, x: u32, y: u32, w: u32, h: u32, px: &[u8]) -> std::io::Result<()> {
        self.0
            .lock()
            .unwrap()
            .push(Shown::Update(s, x, y, w, h, px.to_vec()));
        Ok(())
    }
    fn cursor_move(&self, s: u32, x: u32, y: u32) -> std::io::Result<()> {
        self.0.lock().unwrap().push(Shown::CursorMove(s, x, y));
        Ok(())
    }
    fn cursor_hide(&self, s: u32) -> std::io::Result<()> {
        self.0.lock().unwrap().push(Shown::CursorHide(s));
        Ok(())
    }
    fn cursor_image(
        &self,
        s: u32,
        x: u32,
        y: u32,
        hx: u32,
        hy: u32,
        img: &[u8; super::display::CURSOR_SIZE],
    ) -> std::io::Result<()> {
        self.0
            .lock()
            .unwrap()
            .push(Shown::CursorImage(s, x, y, hx, hy, img.to_vec()));
        Ok(())
    }
}

#[test]
fn scanout_flush_and_cursor_reach_the_display_as_x8r8g8b8() {
    let (mut g, _, mem) = gpu();
    let shown = Arc::new(Mutex::new(Vec::new()));
    g.set_display(Box::new(RecordingDisplay(shown.clone())));
    let create = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_2D;
    // A 4×2 R8G8B8A8 image: pixel i has red i, green 10 + i, blue 20 + i, alpha 255.
    let fmt = vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM;
    assert_eq!(
        resp_type(&run(&mut g, &mem, create, 0, &[1, fmt, 4, 2])),
        OK
    );
    assert_eq!(attach(&mut g, &mem, 1, &[0x1000]), OK);
    let pixels: Vec<u8> = (0..8u8).flat_map(|i| [i, 10 + i, 20 + i, 255]).collect();
    mem.write_slice(&pixels, GuestAddress(0x1000)).unwrap();
    let xfer = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D;
    assert_eq!(
        resp_type(&run(&mut g, &mem, xfer, 0, &[0, 0, 4, 2, 0, 0, 1, 0])),
        OK
    );
    let bgrx = |i: u8| [20 + i, 10 + i, i, 0xff];
    let scanout = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SET_SCANOUT;
    assert_eq!(
        resp_type(&run(&mut g, &mem, scanout, 0, &[0, 0, 4, 2, 0, 1])),
        OK
    );
    let flush = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_FLUSH;
    assert_eq!(
        resp_type(&run(&mut g, &mem, flush, 0, &[1, 1, 2, 1, 1, 0])),
        OK
    );
    // Flushing a resource that is not on the scanout shows nothing.
    assert_eq!(
        resp_type(&run(&mut g, &mem, create, 0, &[2, fmt, 4, 2])),
        OK
    );
    assert_eq!(
        resp_type(&run(&mut g, &mem, flush, 0, &[0, 0, 4, 2, 2, 0])),
        OK
    );
    assert_eq!(
        resp_type(&run(&mut g, &mem, scanout, 0, &[0, 0, 0, 0, 0, 0])),
        OK
    );
    {
        let shown = shown.lock().unwrap();
        let all: Vec<u8> = (0..8).flat_map(bgrx).collect();
        let part: Vec<u8> = [5, 6].into_iter().flat_map(bgrx).collect();
        assert_eq!(
            *shown,
            vec![
                Shown::Scanout(0, 4, 2),
                Shown::Update(0, 0, 0, 4, 2, all),
                Shown::Update(0, 1, 1, 2, 1, part),
                Shown::Scanout(0, 0, 0),
            ]
        );
    }
    shown.lock().unwrap().clear();

    // The cursor: a 64×64 B8G8R8A8 image, moved, then hidden.
    let bgra = vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM;
    assert_eq!(
        resp_type(&run(&mut g, &mem, create, 0, &[3, bgra, 64, 64])),
        OK
    );
    let update = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_UPDATE_CURSOR;
    let movec = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_MOVE_CURSOR;
    assert_eq!(
        resp_type(&run(&mut g, &mem, update, 0, &[0, 10, 20, 0, 3, 1, 2, 0])),
        OK
    );
    assert_eq!(
        resp_type(&run(&mut g, &mem, movec, 0, &[0, 30, 40, 0, 0, 0, 0, 0])),
        OK
    );
    assert_eq!(
        resp_type(&run(&mut g, &mem, update, 0, &[0, 0, 0, 0, 0, 0, 0, 0])),
        OK
    );
    // A cursor that is not 64×64 is refused.
    assert_eq!(
        resp_type(&run(&mut g, &mem, update, 0, &[0, 0, 0, 0, 1, 0, 0, 0])),
        BAD_PARAM
    );
    let shown = shown.lock().unwrap();
    assert_eq!(
        *shown,
        vec![
            Shown::CursorImage(0, 10, 20, 1, 2, vec![0; super::display::CURSOR_SIZE]),
            Shown::CursorMove(0, 30, 40),
            Shown::CursorHide(0),
        ]
    );
}

#[test]
fn queued_submissions_beyond_the_stream_byte_cap_are_out_of_memory_until_they_run() {
    use super::device::Processed;
    let (mut g, log, mem) = gpu();
    g.set_max_queued_stream_bytes(3000);
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE;
    assert_eq!(resp_type(&run(&mut g, &mem, t, 1, &ctx_body(0))), OK);
    let stream = vec![7u8; 1000];
    let submit_req = || {
        let mut req = request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SUBMIT_3D,
            1,
            &[stream.len() as u32, 0],
        );
        req.extend(&stream);
        req
    };
    let mut queued = Vec::new();
    for _ in 0..3 {
        match g.process_deferred(&mem, &submit_req()) {
            Processed::Queued(q) => queued.push(q),
            Processed::Done(r) => panic!("refused early: {:#x}", resp_type(&r)),
        }
    }
    assert_eq!(g.queued_stream_bytes(), 3000);
    match g.process_deferred(&mem, &submit_req()) {
        Processed::Done(r) => assert_eq!(
            resp_type(&r),
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY
        ),
        Processed::Queued(_) => panic!("the fourth submission was queued over the cap"),
    }
    // Running one returns its bytes; dropping one unrun (frontend gone) does too.
    let first = queued.remove(0);
    assert_eq!(resp_type(&first.run()), OK);
    drop(queued.pop());
    assert_eq!(g.queued_stream_bytes(), 1000);
    assert_eq!(submit(&mut g, &mem, 1, &stream), OK);
    drop(queued);
    assert_eq!(g.queued_stream_bytes(), 0);
    assert_eq!(log.lock().unwrap().len(), 2);
}
