//! The device's Vulkan executor (`vhost_device::vk::VkContext`): one context driven by a
//! sequence of submissions over fake guest RAM ([`softgpu_fuzz::vk`]). Each submission is
//! either a top-level stream of mostly-valid commands (objects created, bound, written,
//! destroyed: buffers, memory, images, views, render passes, framebuffers, descriptor sets,
//! pipelines) or a command buffer recorded into guest RAM and submitted by range (compute,
//! transfers, graphics 0x1100–0x1135), or raw bytes; any of them with byte damage.
//!
//! Pipelines compile against a jit-host that refuses every compile (this binary, started as
//! jit-host): creation runs the front end and validation, then fails with an error reply.
//!
//! Checks: no panic; every failure is a clean `SubmitError`; after every submission the
//! context's share of the client budget matches its live objects and holds no compile slot;
//! once every object is destroyed through the wire the context holds nothing; and after the
//! context is dropped the client budget and the device's kernel cache are back to baseline.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use protocol::stream::*;
use renderer::{Device, DeviceConfig};
use vhost_device::context::ContextBackend;
use vhost_device::vk::{ClientBudget, ClientLimits, Quantity, VkContext};

use softgpu_fuzz::vk::{
    serve_as_refusing_jit_host_if_asked, FakeResources, COMMANDS, COMMANDS_SIZE,
};
use softgpu_fuzz::vk_commands::{recorded, top_level};

const QUANTITIES: [Quantity; 4] = [
    Quantity::Objects,
    Quantity::HostBytes,
    Quantity::Descriptors,
    Quantity::Compiles,
];

/// Small caps, so that inputs reach them.
fn limits() -> ClientLimits {
    ClientLimits {
        max_objects: 24,
        max_host_bytes: 256 << 10,
        max_shader_module_words: 4096,
        max_descriptors: 64,
        max_command_buffer_size: 8 << 10,
        max_outstanding_compiles: 1,
    }
}

fn device() -> Arc<Device> {
    static DEVICE: OnceLock<Arc<Device>> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            // SOFTGPU_JIT_HOST names a real jit-host; otherwise this binary serves as one.
            let jit_host_path = match std::env::var_os(jit_host_client::JIT_HOST_ENV) {
                Some(_) => None,
                None => std::env::current_exe().ok(),
            };
            match Device::new(DeviceConfig {
                jit_host_path,
                threads: Some(2),
                allow_test_requests: false,
            }) {
                Ok(d) => Arc::new(d),
                Err(e) => panic!("cannot start the renderer device: {e}"),
            }
        })
        .clone()
}

/// Applies one kind of byte damage chosen by `how`.
fn damage(bytes: &mut Vec<u8>, how: u8, at: u16, value: u8) {
    if bytes.is_empty() {
        return;
    }
    let at = usize::from(at) % bytes.len();
    match how % 4 {
        0 => bytes[at] = value,
        1 => bytes.truncate(at),
        2 => bytes.insert(at, value),
        _ => {
            bytes.remove(at);
        }
    }
}

/// Where the next recorded command buffer goes in [`COMMANDS`] (kept 8-byte aligned).
struct Recorder {
    cursor: usize,
}

impl Recorder {
    /// Writes `bytes` into the command resource and returns the range they occupy; wraps to
    /// the start when the resource is full.
    fn place(&mut self, r: &FakeResources, bytes: &[u8]) -> GuestRange {
        if self.cursor + bytes.len() > COMMANDS_SIZE {
            self.cursor = 0;
        }
        let offset = self.cursor;
        let written = r.get(COMMANDS).is_some_and(|v| v.write(offset, bytes));
        if written {
            self.cursor = (offset + bytes.len()).next_multiple_of(8);
        }
        GuestRange {
            resource: COMMANDS,
            offset: offset as u64,
            len: bytes.len() as u64,
        }
    }
}

/// A submission's top-level stream for one op of the input.
fn next_stream(
    u: &mut Unstructured<'_>,
    r: &FakeResources,
    rec: &mut Recorder,
) -> arbitrary::Result<Vec<u8>> {
    let tag: u8 = u.arbitrary()?;
    let mut bytes = match tag % 8 {
        // Raw top-level bytes.
        0 => {
            let len = usize::from(u.arbitrary::<u16>()?);
            u.bytes(len.min(u.len()))?.to_vec()
        }
        // Raw command-buffer bytes, submitted by range.
        1 => {
            let len = usize::from(u.arbitrary::<u16>()?);
            let cb = u.bytes(len.min(u.len()))?.to_vec();
            let range = rec.place(r, &cb);
            encode_all(&[Submit {
                waits: vec![],
                command_buffers: vec![range],
                signals: vec![],
            }
            .into()])
            .map_err(|_| arbitrary::Error::IncorrectFormat)?
        }
        2..=4 => {
            let n = u.int_in_range(1..=8)?;
            let cmds = (0..n)
                .map(|_| top_level(u))
                .collect::<arbitrary::Result<Vec<_>>>()?;
            encode_all(&cmds).map_err(|_| arbitrary::Error::IncorrectFormat)?
        }
        _ => {
            let n = u.int_in_range(1..=12)?;
            let cmds = (0..n)
                .map(|_| recorded(u))
                .collect::<arbitrary::Result<Vec<_>>>()?;
            let mut cb = encode_all(&cmds).map_err(|_| arbitrary::Error::IncorrectFormat)?;
            if tag & 0x40 != 0 {
                damage(&mut cb, u.arbitrary()?, u.arbitrary()?, u.arbitrary()?);
            }
            let mut range = rec.place(r, &cb);
            // The range itself near its edges now and then.
            match u.int_in_range(0u8..=15)? {
                0 => range.len += 1,
                1 => range.len = range.len.saturating_sub(1),
                2 => range.offset = u64::MAX - 7,
                3 => range.len = u64::MAX,
                _ => {}
            }
            // Timeline waits on zeroed memory: value 0 holds at once, 1 times out.
            let waits = if u.int_in_range(0u8..=7)? == 0 {
                vec![TimelineWait {
                    src: GuestLocation {
                        resource: softgpu_fuzz::vk::MEMORY,
                        offset: u64::from(u.int_in_range(0u8..=8)?) * 4,
                    },
                    value: u64::from(u.int_in_range(0u8..=1)?),
                }]
            } else {
                vec![]
            };
            let signals = if u.arbitrary::<bool>()? {
                vec![SignalWrite {
                    dst: GuestLocation {
                        resource: softgpu_fuzz::vk::REPLIES,
                        offset: u64::from(u.int_in_range(0u16..=600)?) * 8,
                    },
                    value: 1,
                }]
            } else {
                vec![]
            };
            encode_all(&[Submit {
                waits,
                command_buffers: vec![range],
                signals,
            }
            .into()])
            .map_err(|_| arbitrary::Error::IncorrectFormat)?
        }
    };
    if tag & 0x80 != 0 {
        damage(&mut bytes, u.arbitrary()?, u.arbitrary()?, u.arbitrary()?);
    }
    Ok(bytes)
}

/// With no submission running, what the context holds matches what it has.
fn check_accounting(ctx: &VkContext) {
    let live = ctx.live_objects() as u64;
    assert_eq!(
        ctx.held(Quantity::Objects),
        live,
        "{live} live objects but {} charged",
        ctx.held(Quantity::Objects)
    );
    assert_eq!(
        ctx.held(Quantity::Compiles),
        0,
        "a compile slot stayed held"
    );
    assert!(
        ctx.held(Quantity::HostBytes) >= live * vhost_device::vk::limits::OBJECT_OVERHEAD_BYTES,
        "{} host bytes charged for {live} objects",
        ctx.held(Quantity::HostBytes)
    );
    if live == 0 {
        for q in QUANTITIES {
            assert_eq!(ctx.held(q), 0, "no objects but {q:?} {} held", ctx.held(q));
        }
    }
}

/// Destroys every object the generators can name, each in its own submission (one failure
/// must not stop the rest).
fn destroy_everything(ctx: &mut VkContext, r: &FakeResources) {
    for id in 0..=5u64 {
        let cmds: [Command; 10] = [
            DestroyFramebuffer { id }.into(),
            DestroyImageView { id }.into(),
            DestroyImage { id }.into(),
            DestroyPipeline { id }.into(),
            DestroyDescriptorSet { id }.into(),
            DestroyPipelineLayout { id }.into(),
            DestroyDescriptorSetLayout { id }.into(),
            DestroyShaderModule { id }.into(),
            DestroyBuffer { id }.into(),
            DestroyRenderPass { id }.into(),
        ];
        for cmd in cmds {
            if let Ok(stream) = encode_all(&[cmd]) {
                let _ = ctx.submit(&stream, r);
            }
        }
    }
}

fuzz_target!(
    init: serve_as_refusing_jit_host_if_asked(),
    |data: &[u8]| {
        let device = device();
        let kernels_before = device.cached_kernels();
        let Some(resources) = FakeResources::new() else {
            return;
        };
        let budget = ClientBudget::new(limits());
        let mut ctx = VkContext::with_budget(device.clone(), budget.clone(), 1, "fuzz");
        ctx.set_guest_wait_limit(Duration::from_millis(1));
        let mut rec = Recorder { cursor: 0 };
        let mut u = Unstructured::new(data);
        while !u.is_empty() {
            let Ok(stream) = next_stream(&mut u, &resources, &mut rec) else {
                break;
            };
            // Ok or a clean SubmitError: both are fine; a panic is the bug.
            let _ = ctx.submit(&stream, &resources);
            check_accounting(&ctx);
        }
        destroy_everything(&mut ctx, &resources);
        check_accounting(&ctx);
        drop(ctx);
        for q in QUANTITIES {
            assert_eq!(budget.used(q), 0, "{q:?} not returned by a dropped context");
        }
        assert_eq!(
            device.cached_kernels(),
            kernels_before,
            "compiled kernels outlived their context"
        );
    }
);
