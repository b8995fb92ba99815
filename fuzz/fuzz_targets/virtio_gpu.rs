//! The virtio-gpu control/cursor command parser and device model
//! (`vhost_device::gpu::VirtioGpu::process`), driven by a sequence of requests against a small
//! fake guest RAM: structured requests with ids from a small set (so resources get created,
//! backed, attached to contexts, submitted to, detached and freed in any order), including
//! `RESOURCE_ATTACH_BACKING` with arbitrary entries, plus raw request bytes.
//!
//! Checks: no panic; every request gets a well-formed response header; a context's submission
//! can read and write every byte of every view it is given (a view that is not fully mapped
//! faults here); submissions deferred past a detach or unref still see mapped memory; the
//! device never holds more resources or contexts than its limits; display updates carry
//! exactly `width × height` pixels.
#![no_main]

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use vhost_device::context::{
    ContextBackend, ContextFactory, GuestMemoryView, ResourceViews, SubmitError,
};
use vhost_device::gpu::device::{DeviceLimits, Features, Processed, QueuedSubmit, VirtioGpu};
use vhost_device::gpu::display::{Display, CURSOR_SIZE};
use vhost_device::gpu::wire::{decode_header, HDR_SIZE};
use vhost_device::server::{device_limits, HostInfo};
use virtio_bindings::virtio_gpu as vg;
use vm_memory::GuestMemoryMmap;

use softgpu_fuzz::guest::{guest_memory, page_address};

const MAX_RESOURCES: usize = 8;
const MAX_CONTEXTS: usize = 3;

/// A context backend that touches every byte of every view it may use.
struct TouchingContext;

impl ContextBackend for TouchingContext {
    fn submit(&mut self, stream: &[u8], resources: &dyn ResourceViews) -> Result<(), SubmitError> {
        let mut seen = 0;
        for id in 0..=MAX_RESOURCES as u32 + 1 {
            if let Some(view) = resources.view(id) {
                touch(view.as_ref());
                seen += 1;
            }
        }
        count_submit(seen);
        match stream.first() {
            Some(0xff) => Err(SubmitError::Invalid("refused by the fuzz context".into())),
            _ => Ok(()),
        }
    }
}

/// Submissions seen, and how many had at least one view (printed now and then, so a
/// campaign's log says whether inputs get as far as mapped guest memory).
static SUBMITS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

fn count_submit(views: usize) {
    let all = SUBMITS[0].fetch_add(1, Ordering::Relaxed) + 1;
    if views > 0 {
        SUBMITS[1].fetch_add(1, Ordering::Relaxed);
    }
    if all.is_power_of_two() && all >= 1024 {
        let with = SUBMITS[1].load(Ordering::Relaxed);
        eprintln!("virtio_gpu: {all} submissions reached a context, {with} with mapped views");
    }
}

/// Reads and rewrites every byte (page-wise), as the executor's kernels may.
fn touch(view: &dyn GuestMemoryView) {
    let (base, len) = (view.as_ptr(), view.len());
    let mut at = 0;
    while at < len {
        // SAFETY: the view promises `len` readable and writable bytes at `base` while the Arc
        // lives; `at < len`. Volatile: the bytes are guest RAM.
        unsafe {
            let p = base.add(at);
            p.write_volatile(p.read_volatile());
        }
        at += 4096.min(len - at).max(1);
    }
    if len > 0 {
        // SAFETY: as above, the last byte of the view.
        unsafe {
            let p = base.add(len - 1);
            p.write_volatile(p.read_volatile());
        }
    }
}

struct TouchingFactory;

impl ContextFactory for TouchingFactory {
    fn create(&self, _ctx_id: u32, _name: &str) -> Box<dyn ContextBackend> {
        Box::new(TouchingContext)
    }
}

/// A display that checks what the device sends it.
struct CheckingDisplay;

impl Display for CheckingDisplay {
    fn scanout(&self, _: u32, _: u32, _: u32) -> io::Result<()> {
        Ok(())
    }
    fn update(&self, _: u32, _: u32, _: u32, w: u32, h: u32, pixels: &[u8]) -> io::Result<()> {
        assert_eq!(
            pixels.len() as u64,
            u64::from(w) * u64::from(h) * 4,
            "display update of {w}×{h} carries {} bytes",
            pixels.len()
        );
        Ok(())
    }
    fn cursor_move(&self, _: u32, _: u32, _: u32) -> io::Result<()> {
        Ok(())
    }
    fn cursor_hide(&self, _: u32) -> io::Result<()> {
        Ok(())
    }
    fn cursor_image(
        &self,
        _: u32,
        _: u32,
        _: u32,
        _: u32,
        _: u32,
        _: &[u8; CURSOR_SIZE],
    ) -> io::Result<()> {
        // A failing display is dropped by the device: exercise that path too, sometimes.
        Err(io::Error::other("cursor refused by the fuzz display"))
    }
}

/// An id from a small set (0 and one past the limit included).
#[derive(Arbitrary, Debug, Clone, Copy)]
struct SmallId(u8);

impl SmallId {
    fn get(self) -> u32 {
        u32::from(self.0) % (MAX_RESOURCES as u32 + 2)
    }
}

#[derive(Arbitrary, Debug)]
struct Entry {
    region: u8,
    page: u8,
    pages: u8,
    skew: u8,
}

impl Entry {
    fn words(&self) -> [u32; 4] {
        let addr = page_address(self.region, self.page, self.skew);
        let len = match self.pages {
            0 => 0,
            250..=255 => u32::MAX - 4095,
            // Mostly 1-4 whole pages; now and then unaligned.
            p => (u32::from(p % 4) + 1) * 4096 + u32::from(self.skew % 8 == 7) * 17,
        };
        [addr as u32, (addr >> 32) as u32, len, 0]
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Whole request bytes as the guest wrote them.
    Raw(Vec<u8>),
    /// Any command type with an arbitrary body.
    Any {
        type_: u16,
        ctx: SmallId,
        body: Vec<u32>,
    },
    Create2d {
        res: SmallId,
        format: u8,
        width: u16,
        height: u16,
    },
    Create3d {
        res: SmallId,
        target: u8,
        size: u16,
        extra: [u32; 3],
    },
    CreateBlob {
        res: SmallId,
        ctx: SmallId,
        mem: u8,
        flags: u8,
        size: u32,
        entries: Vec<Entry>,
    },
    AttachBacking {
        res: SmallId,
        entries: Vec<Entry>,
        lie_about_count: Option<u32>,
    },
    DetachBacking {
        res: SmallId,
    },
    Unref {
        res: SmallId,
    },
    CtxCreate {
        ctx: SmallId,
        context_init: u32,
        name: Vec<u8>,
    },
    CtxDestroy {
        ctx: SmallId,
    },
    CtxAttach {
        ctx: SmallId,
        res: SmallId,
    },
    CtxDetach {
        ctx: SmallId,
        res: SmallId,
    },
    Submit {
        ctx: SmallId,
        stream: Vec<u8>,
        defer: bool,
    },
    /// Runs the oldest deferred submission.
    RunDeferred,
    SetScanout {
        res: SmallId,
        rect: [u16; 4],
    },
    Transfer2d {
        res: SmallId,
        rect: [u16; 4],
        offset: u32,
    },
    Flush {
        res: SmallId,
        rect: [u16; 4],
    },
    Cursor {
        res: SmallId,
        x: u16,
        y: u16,
        hot: [u8; 2],
        update: bool,
    },
    Reset,
    /// A buffer resource created, backed and attached to a context (created if needed) in
    /// one go, so that submissions often see mapped views.
    Setup {
        res: SmallId,
        ctx: SmallId,
        size: u16,
        entries: Vec<Entry>,
    },
}

/// Tag byte of a raw request in the input: `[RAW_TAG, len_lo, len_hi, bytes…]` (the layout the
/// seed corpus uses for requests taken from the unit tests).
pub const RAW_TAG: u8 = 0;

/// One op: a raw request after [`RAW_TAG`], else a structured one.
fn next_op(u: &mut Unstructured<'_>) -> arbitrary::Result<Op> {
    if u.arbitrary::<u8>()? % 16 == RAW_TAG {
        let len = usize::from(u.arbitrary::<u16>()?);
        return Ok(Op::Raw(u.bytes(len.min(u.len()))?.to_vec()));
    }
    Op::arbitrary(u)
}

fn request(type_: u32, ctx: u32, body: &[u32]) -> Vec<u8> {
    let mut b = Vec::with_capacity(HDR_SIZE + body.len() * 4);
    b.extend(type_.to_le_bytes());
    b.extend(1u32.to_le_bytes()); // VIRTIO_GPU_FLAG_FENCE
    b.extend(7u64.to_le_bytes());
    b.extend(ctx.to_le_bytes());
    b.extend([0u8; 4]);
    for w in body {
        b.extend(w.to_le_bytes());
    }
    b
}

fn rect_words(r: [u16; 4]) -> [u32; 4] {
    r.map(u32::from)
}

/// The request bytes of one op (`None`: not a request).
fn encode(op: &Op) -> Option<Vec<u8>> {
    use vg::*;
    Some(match op {
        Op::Raw(bytes) => bytes.clone(),
        Op::Any { type_, ctx, body } => {
            // Types cluster at 0x100.., 0x200.., 0x300..: keep most inputs near them.
            let t = match type_ >> 14 {
                0 => 0x0100 + u32::from(type_ & 0x0f),
                1 => 0x0200 + u32::from(type_ & 0x0f),
                2 => 0x0300 + u32::from(type_ & 0x03),
                _ => u32::from(*type_),
            };
            request(t, ctx.get(), body)
        }
        Op::Create2d {
            res,
            format,
            width,
            height,
        } => request(
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
            0,
            &[
                res.get(),
                [1, 2, 3, 4, 67, 68, 121, 134][usize::from(*format % 8)],
                u32::from(*width),
                u32::from(*height),
            ],
        ),
        Op::Create3d {
            res,
            target,
            size,
            extra,
        } => request(
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_3D,
            0,
            &[
                res.get(),
                u32::from(*target % 3),
                0,
                0,
                u32::from(*size) * 16,
                1 + extra[0] % 2,
                1 + extra[1] % 2,
                1,
                0,
                extra[2] % 2,
                0,
                0,
            ],
        ),
        Op::CreateBlob {
            res,
            ctx,
            mem,
            flags,
            size,
            entries,
        } => {
            let mut body = vec![
                res.get(),
                u32::from(*mem % 4),
                u32::from(*flags % 8),
                entries.len() as u32,
                0,
                0,
                *size,
                0,
            ];
            body.extend(entries.iter().flat_map(Entry::words));
            request(
                virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB,
                ctx.get(),
                &body,
            )
        }
        Op::AttachBacking {
            res,
            entries,
            lie_about_count,
        } => {
            let nr = lie_about_count.unwrap_or(entries.len() as u32);
            let mut body = vec![res.get(), nr];
            body.extend(entries.iter().flat_map(Entry::words));
            request(
                virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
                0,
                &body,
            )
        }
        Op::DetachBacking { res } => request(
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
            0,
            &[res.get(), 0],
        ),
        Op::Unref { res } => request(
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_UNREF,
            0,
            &[res.get(), 0],
        ),
        Op::CtxCreate {
            ctx,
            context_init,
            name,
        } => {
            let mut body = vec![
                name.len() as u32,
                [0, 24, *context_init][*context_init as usize % 3],
            ];
            let mut padded = [0u8; 64];
            for (d, s) in padded.iter_mut().zip(name) {
                *d = *s;
            }
            body.extend(
                padded
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
            request(
                virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE,
                ctx.get(),
                &body,
            )
        }
        Op::CtxDestroy { ctx } => request(
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_DESTROY,
            ctx.get(),
            &[],
        ),
        Op::CtxAttach { ctx, res } => request(
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE,
            ctx.get(),
            &[res.get(), 0],
        ),
        Op::CtxDetach { ctx, res } => request(
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE,
            ctx.get(),
            &[res.get(), 0],
        ),
        Op::Submit { ctx, stream, .. } => {
            let mut req = request(
                virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SUBMIT_3D,
                ctx.get(),
                &[stream.len() as u32, 0],
            );
            req.extend(stream);
            req
        }
        Op::RunDeferred | Op::Reset | Op::Setup { .. } => return None,
        Op::SetScanout { res, rect } => {
            let mut body = rect_words(*rect).to_vec();
            body.extend([0, res.get()]);
            request(virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SET_SCANOUT, 0, &body)
        }
        Op::Transfer2d { res, rect, offset } => {
            let mut body = rect_words(*rect).to_vec();
            body.extend([*offset, 0, res.get(), 0]);
            request(
                virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D,
                0,
                &body,
            )
        }
        Op::Flush { res, rect } => {
            let mut body = rect_words(*rect).to_vec();
            body.extend([res.get(), 0]);
            request(virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_FLUSH, 0, &body)
        }
        Op::Cursor {
            res,
            x,
            y,
            hot,
            update,
        } => {
            let t = if *update {
                virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_UPDATE_CURSOR
            } else {
                virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_MOVE_CURSOR
            };
            request(
                t,
                0,
                &[
                    0,
                    u32::from(*x),
                    u32::from(*y),
                    0,
                    res.get(),
                    u32::from(hot[0]),
                    u32::from(hot[1]),
                    0,
                ],
            )
        }
    })
}

/// The requests of [`Op::Setup`].
fn setup(res: SmallId, ctx: SmallId, size: u16, entries: &[Entry]) -> Vec<Vec<u8>> {
    use vg::*;
    let (res, ctx) = (res.get(), ctx.get());
    let mut attach = vec![res, entries.len() as u32];
    attach.extend(entries.iter().flat_map(Entry::words));
    let mut create_ctx = vec![0u32, 0];
    create_ctx.extend([0u32; 16]);
    vec![
        request(
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_3D,
            0,
            &[
                res,
                0,
                0,
                0,
                u32::from(size % 8192) + 1,
                1,
                1,
                1,
                0,
                0,
                0,
                0,
            ],
        ),
        request(
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
            0,
            &attach,
        ),
        request(
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE,
            ctx,
            &create_ctx,
        ),
        request(
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE,
            ctx,
            &[res, 0],
        ),
    ]
}

/// The device's real limits, with the sizes shrunk so that small inputs reach them.
fn limits() -> DeviceLimits {
    let mut limits = device_limits(8, 2, HostInfo { mem_total: 8 << 30 });
    limits.capset.max_memory_allocation_size = 1 << 20;
    limits.capset.device_memory_budget = 1 << 20;
    limits.capset.max_stream_size = 4096;
    limits.max_mapping_runs = 48;
    limits.max_resources = MAX_RESOURCES;
    limits.max_contexts = MAX_CONTEXTS;
    limits.max_image_bytes = 1 << 20;
    limits
}

fn check_response(resp: &[u8]) {
    let hdr = decode_header(resp).unwrap_or_else(|e| panic!("response without a header: {e}"));
    let ok = (0x1100..0x1200).contains(&hdr.type_) || (0x1200..0x1300).contains(&hdr.type_);
    assert!(
        ok,
        "response type {:#x} is neither OK_* nor ERR_*",
        hdr.type_
    );
}

static MEM: Mutex<Option<GuestMemoryMmap<()>>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut guard = MEM.lock().unwrap_or_else(|p| p.into_inner());
    let mem = match &mut *guard {
        Some(mem) => mem,
        slot => match guest_memory() {
            Ok(mem) => slot.insert(mem),
            Err(e) => panic!("cannot build the fake guest memory: {e:?}"),
        },
    };
    let mut u = Unstructured::new(data);
    let Ok(feature_bits) = u.arbitrary::<u8>() else {
        return;
    };
    let mut gpu = VirtioGpu::new(Arc::new(TouchingFactory), limits());
    gpu.set_features(Features {
        context_init: feature_bits & 1 != 0,
        resource_blob: feature_bits & 2 != 0,
    });
    if feature_bits & 4 != 0 {
        gpu.set_display(Box::new(CheckingDisplay));
    }
    let mut deferred: Vec<QueuedSubmit> = Vec::new();
    while !u.is_empty() {
        let Ok(op) = next_op(&mut u) else {
            break;
        };
        match &op {
            Op::RunDeferred => {
                if !deferred.is_empty() {
                    check_response(&deferred.remove(0).run());
                }
            }
            Op::Reset => gpu.reset(),
            Op::Setup {
                res,
                ctx,
                size,
                entries,
            } => {
                for req in setup(*res, *ctx, *size, entries) {
                    check_response(&gpu.process(mem, &req));
                }
            }
            Op::Submit { defer: true, .. } => {
                if let Some(req) = encode(&op) {
                    match gpu.process_deferred(mem, &req) {
                        Processed::Done(resp) => check_response(&resp),
                        Processed::Queued(submit) => deferred.push(submit),
                    }
                }
            }
            _ => {
                if let Some(req) = encode(&op) {
                    check_response(&gpu.process(mem, &req));
                }
            }
        }
        assert!(
            gpu.resource_count() <= MAX_RESOURCES,
            "{} resources",
            gpu.resource_count()
        );
        assert!(
            gpu.context_count() <= MAX_CONTEXTS,
            "{} contexts",
            gpu.context_count()
        );
    }
    // Work queued before detaches, unrefs and resets still runs on mapped memory.
    for submit in deferred {
        check_response(&submit.run());
    }
});
