//! The executor end to end on a real renderer (and jit-host), with guest memory faked by host
//! memory: streams encoded with the protocol crate, results checked against a CPU reference.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use protocol::stream::*;
use renderer::{Device, DeviceConfig, HostMemory};

use super::buffer::usage;
use super::VkContext;
use crate::context::{ContextBackend, GuestMemoryView, ResourceViews, SubmitError};

/// Guest RAM stand-in: host memory behind the view trait.
struct HostView(HostMemory);

impl GuestMemoryView for HostView {
    fn as_ptr(&self) -> *mut u8 {
        self.0.as_ptr()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

#[derive(Default)]
struct FakeResources(HashMap<u32, Arc<HostView>>);

impl FakeResources {
    fn add(&mut self, id: u32, len: u64) {
        self.0
            .insert(id, Arc::new(HostView(HostMemory::new_zeroed(len).unwrap())));
    }
    fn write(&self, id: u32, offset: u64, bytes: &[u8]) {
        self.0[&id].0.write(offset, bytes).unwrap();
    }
    fn read(&self, id: u32, offset: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        self.0[&id].0.read(offset, &mut out).unwrap();
        out
    }
}

impl ResourceViews for FakeResources {
    fn view(&self, resource: u32) -> Option<Arc<dyn GuestMemoryView>> {
        self.0
            .get(&resource)
            .map(|v| v.clone() as Arc<dyn GuestMemoryView>)
    }
}

/// `target/<profile>/jit-host`, next to `target/<profile>/deps/<this test>`.
/// A `Submit` that runs one command buffer and signals nothing.
fn run_only(cb: GuestRange) -> Command {
    Submit {
        waits: vec![],
        command_buffers: vec![cb],
        signals: vec![],
    }
    .into()
}

fn jit_host_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SOFTGPU_JIT_HOST") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("jit-host");
    assert!(
        path.exists(),
        "{} not found: `cargo build -p jit-host --bin jit-host` first",
        path.display()
    );
    path
}

fn device() -> Arc<Device> {
    static DEVICE: OnceLock<Arc<Device>> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            Arc::new(
                Device::new(DeviceConfig {
                    jit_host_path: Some(jit_host_path()),
                    threads: Some(2),
                    allow_test_requests: false,
                })
                .unwrap(),
            )
        })
        .clone()
}

fn context() -> VkContext {
    VkContext::new(device(), 1, "test")
}

/// SPIR-V words of a GLSL compute shader, compiled with glslangValidator.
fn spirv_words(glsl: &str) -> Vec<u32> {
    spirv_stage(glsl, "comp")
}

/// SPIR-V words of a GLSL shader of `stage` (the file extension glslangValidator reads:
/// "comp", "vert", "frag"), compiled with glslangValidator.
fn spirv_stage(glsl: &str, stage: &str) -> Vec<u32> {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir();
    let stem = format!(
        "softgpu-vk-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let src = dir.join(format!("{stem}.{stage}"));
    let out = dir.join(format!("{stem}.spv"));
    std::fs::File::create(&src)
        .unwrap()
        .write_all(glsl.as_bytes())
        .unwrap();
    let status = std::process::Command::new("glslangValidator")
        .args(["-V", "--target-env", "vulkan1.1", "-o"])
        .arg(&out)
        .arg(&src)
        .output()
        .expect("glslangValidator not found");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&src);
    let _ = std::fs::remove_file(&out);
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

const SAXPY: &str = r#"#version 450
layout(local_size_x = 256) in;
layout(push_constant) uniform Params { float a; uint n; } pc;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) buffer Y { float y[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.n) { y[i] = pc.a * x[i] + y[i]; }
}
"#;

const MEMORY: u32 = 1;
const COMMANDS: u32 = 2;
const REPLIES: u32 = 3;
const STAGE_COMPUTE: u32 = 0x20;

fn stream(cmds: Vec<Command>) -> Vec<u8> {
    encode_all(&cmds).unwrap()
}

fn at(resource: u32, offset: u64) -> GuestLocation {
    GuestLocation { resource, offset }
}

fn resources() -> FakeResources {
    let mut r = FakeResources::default();
    r.add(MEMORY, 1 << 16);
    r.add(COMMANDS, 1 << 16);
    r.add(REPLIES, 4096);
    r
}

/// Buffers 1 (x, at 0) and 2 (y, at 16 KiB) of `n` floats, a saxpy pipeline 30 with layout 21,
/// and descriptor set 22 pointing binding 0 at x and binding 1 at y (one write that rolls over).
fn saxpy_setup(n: u64) -> Vec<Command> {
    let storage = usage::STORAGE_BUFFER | usage::TRANSFER_DST | usage::TRANSFER_SRC;
    let binding = |b| DescriptorSetLayoutBinding {
        binding: b,
        descriptor_type: descriptor_type::STORAGE_BUFFER,
        count: 1,
        stages: STAGE_COMPUTE,
        immutable_samplers: vec![],
    };
    vec![
        CreateBuffer {
            id: 1,
            size: n * 4,
            usage: storage,
        }
        .into(),
        CreateBuffer {
            id: 2,
            size: n * 4,
            usage: storage,
        }
        .into(),
        BindBufferMemory {
            buffer: 1,
            memory: at(MEMORY, 0),
        }
        .into(),
        BindBufferMemory {
            buffer: 2,
            memory: at(MEMORY, 16384),
        }
        .into(),
        CreateShaderModule {
            id: 10,
            code: spirv_words(SAXPY),
        }
        .into(),
        CreateDescriptorSetLayout {
            id: 20,
            bindings: vec![binding(1), binding(0)],
        }
        .into(),
        CreatePipelineLayout {
            id: 21,
            set_layouts: vec![20],
            push_constant_ranges: vec![PushConstantRange {
                stages: STAGE_COMPUTE,
                offset: 0,
                size: 8,
            }],
        }
        .into(),
        CreateDescriptorSet { id: 22, layout: 20 }.into(),
        WriteDescriptorSet {
            set: 22,
            binding: 0,
            array_element: 0,
            descriptor_type: descriptor_type::STORAGE_BUFFER,
            buffers: vec![
                DescriptorBufferInfo {
                    buffer: 1,
                    offset: 0,
                    range: WHOLE_SIZE,
                },
                DescriptorBufferInfo {
                    buffer: 2,
                    offset: 0,
                    range: WHOLE_SIZE,
                },
            ],
        }
        .into(),
        CreateComputePipeline {
            id: 30,
            layout: 21,
            module: 10,
            entry: "main".into(),
            spec_map: vec![],
            spec_data: vec![],
            reply: at(REPLIES, 0),
        }
        .into(),
    ]
}

fn saxpy_commands(a: f32, n: u32) -> Vec<Command> {
    let mut push = a.to_le_bytes().to_vec();
    push.extend(n.to_le_bytes());
    vec![
        CmdBindComputePipeline { pipeline: 30 }.into(),
        CmdBindDescriptorSets {
            layout: 21,
            first_set: 0,
            sets: vec![22],
            dynamic_offsets: vec![],
        }
        .into(),
        CmdPushConstants {
            layout: 21,
            stages: STAGE_COMPUTE,
            offset: 0,
            data: push,
        }
        .into(),
        CmdDispatch {
            base: [0; 3],
            groups: [n.div_ceil(256), 1, 1],
        }
        .into(),
    ]
}

/// Writes `cmds` as a command buffer at offset 0 of the command resource; returns its range.
fn record(r: &FakeResources, cmds: Vec<Command>) -> GuestRange {
    let bytes = stream(cmds);
    r.write(COMMANDS, 0, &bytes);
    GuestRange {
        resource: COMMANDS,
        offset: 0,
        len: bytes.len() as u64,
    }
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn reply(r: &FakeResources, offset: u64) -> Option<Reply> {
    let b: [u8; 8] = r.read(REPLIES, offset, 8).try_into().unwrap();
    Reply::decode(&b)
}

fn error_of(ctx: &mut VkContext, r: &FakeResources, cmds: Vec<Command>) -> String {
    match ctx.submit(&stream(cmds), r) {
        Err(SubmitError::Invalid(m)) => m,
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[test]
fn saxpy_through_a_command_buffer_matches_the_cpu_and_signals() {
    let n = 1000u32;
    let r = resources();
    let x: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
    let y: Vec<f32> = (0..n).map(|i| 100.0 - i as f32).collect();
    r.write(
        MEMORY,
        0,
        &x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>(),
    );
    r.write(
        MEMORY,
        16384,
        &y.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>(),
    );

    let mut ctx = context();
    ctx.submit(&stream(saxpy_setup(u64::from(n))), &r).unwrap();
    assert_eq!(reply(&r, 0), Some(Reply { result: 0 }));

    let cb = record(&r, saxpy_commands(3.0, n));
    let submit = Submit {
        waits: vec![],
        command_buffers: vec![cb],
        signals: vec![SignalWrite {
            dst: at(REPLIES, 64),
            value: 7,
        }],
    };
    ctx.submit(&stream(vec![submit.into()]), &r).unwrap();

    let got = floats(&r.read(MEMORY, 16384, n as usize * 4));
    let want: Vec<f32> = x.iter().zip(&y).map(|(x, y)| 3.0 * x + y).collect();
    assert_eq!(got, want);
    assert_eq!(r.read(REPLIES, 64, 8), 7u64.to_le_bytes());
}

#[test]
fn transfers_and_timestamps_write_guest_memory() {
    let r = resources();
    let mut ctx = context();
    ctx.submit(&stream(saxpy_setup(64)), &r).unwrap();
    let cb = record(
        &r,
        vec![
            CmdFillBuffer {
                dst: 1,
                offset: 0,
                size: WHOLE_SIZE,
                data: 0x3f80_0000,
            }
            .into(),
            CmdUpdateBuffer {
                dst: 2,
                offset: 4,
                data: vec![1, 2, 3, 4],
            }
            .into(),
            CmdCopyBuffer {
                src: 2,
                dst: 1,
                regions: vec![BufferCopy {
                    src_offset: 4,
                    dst_offset: 8,
                    size: 4,
                }],
            }
            .into(),
            CmdWriteTimestamp {
                dst: at(REPLIES, 128),
            }
            .into(),
            CmdWriteGuestU32 {
                dst: at(REPLIES, 256),
                value: 0xfeed,
            }
            .into(),
        ],
    );
    ctx.submit(&stream(vec![run_only(cb)]), &r).unwrap();
    let x = r.read(MEMORY, 0, 16);
    assert_eq!(&x[..8], &[0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f]);
    assert_eq!(&x[8..12], &[1, 2, 3, 4]);
    let ts = u64::from_le_bytes(r.read(REPLIES, 128, 8).try_into().unwrap());
    assert!(ts > 0);
    assert_eq!(r.read(REPLIES, 136, 8), 1u64.to_le_bytes());
    assert_eq!(r.read(REPLIES, 256, 4), 0xfeedu32.to_le_bytes());
}

#[test]
fn dynamic_offsets_shift_the_bound_range() {
    let r = resources();
    let mut ctx = context();
    let n = 256u32;
    let x: Vec<f32> = (0..2 * n).map(|i| i as f32).collect();
    r.write(
        MEMORY,
        0,
        &x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>(),
    );
    let mut setup = saxpy_setup(2 * u64::from(n));
    // Replace the layout and set with dynamic storage bindings of n floats.
    let dynamic = |b| DescriptorSetLayoutBinding {
        binding: b,
        descriptor_type: descriptor_type::STORAGE_BUFFER_DYNAMIC,
        count: 1,
        stages: STAGE_COMPUTE,
        immutable_samplers: vec![],
    };
    setup[5] = CreateDescriptorSetLayout {
        id: 20,
        bindings: vec![dynamic(0), dynamic(1)],
    }
    .into();
    setup[8] = WriteDescriptorSet {
        set: 22,
        binding: 0,
        array_element: 0,
        descriptor_type: descriptor_type::STORAGE_BUFFER_DYNAMIC,
        buffers: vec![
            DescriptorBufferInfo {
                buffer: 1,
                offset: 0,
                range: u64::from(n) * 4,
            },
            DescriptorBufferInfo {
                buffer: 2,
                offset: 0,
                range: u64::from(n) * 4,
            },
        ],
    }
    .into();
    ctx.submit(&stream(setup), &r).unwrap();
    let mut cmds = saxpy_commands(1.0, n);
    // x from its second half, y from its first.
    cmds[1] = CmdBindDescriptorSets {
        layout: 21,
        first_set: 0,
        sets: vec![22],
        dynamic_offsets: vec![n * 4, 0],
    }
    .into();
    let cb = record(&r, cmds);
    ctx.submit(&stream(vec![run_only(cb)]), &r).unwrap();
    let got = floats(&r.read(MEMORY, 16384, n as usize * 4));
    assert_eq!(got, x[n as usize..].to_vec());

    // An offset that moves the range past the end fails at dispatch.
    let mut cmds = saxpy_commands(1.0, n);
    cmds[1] = CmdBindDescriptorSets {
        layout: 21,
        first_set: 0,
        sets: vec![22],
        dynamic_offsets: vec![n * 8, 0],
    }
    .into();
    let cb = record(&r, cmds);
    let m = error_of(&mut ctx, &r, vec![run_only(cb)]);
    assert!(m.contains("CmdDispatch") && m.contains("buffer 1"), "{m}");
    // A missing dynamic offset fails at bind.
    let mut cmds = saxpy_commands(1.0, n);
    cmds[1] = CmdBindDescriptorSets {
        layout: 21,
        first_set: 0,
        sets: vec![22],
        dynamic_offsets: vec![0],
    }
    .into();
    let cb = record(&r, cmds);
    let m = error_of(&mut ctx, &r, vec![run_only(cb)]);
    assert!(m.contains("dynamic offsets"), "{m}");
}

#[test]
fn invalid_spirv_gives_an_error_reply_not_a_failed_submit() {
    let r = resources();
    let mut ctx = context();
    let mut setup = saxpy_setup(64);
    setup[4] = CreateShaderModule {
        id: 10,
        code: vec![0x0723_0203, 0x0001_0000, 0, 5, 0, 0xdead_beef],
    }
    .into();
    ctx.submit(&stream(setup), &r).unwrap();
    let reply = reply(&r, 0).unwrap();
    assert_eq!(reply.result, super::vk_result::ERROR_UNKNOWN);
    // The pipeline does not exist.
    let cb = record(&r, saxpy_commands(1.0, 64));
    let m = error_of(&mut ctx, &r, vec![run_only(cb)]);
    assert!(m.contains("pipeline 30 does not exist"), "{m}");
}

#[test]
fn unknown_and_duplicate_ids_are_named_in_the_error() {
    let r = resources();
    let mut ctx = context();
    let m = error_of(&mut ctx, &r, vec![DestroyBuffer { id: 99 }.into()]);
    assert!(
        m.contains("DestroyBuffer") && m.contains("buffer 99 does not exist"),
        "{m}"
    );
    let m = error_of(
        &mut ctx,
        &r,
        vec![CreateBuffer {
            id: 0,
            size: 4,
            usage: 0,
        }
        .into()],
    );
    assert!(m.contains("id 0"), "{m}");
    let twice = vec![
        CreateBuffer {
            id: 5,
            size: 4,
            usage: 0,
        }
        .into(),
        CreateBuffer {
            id: 5,
            size: 4,
            usage: 0,
        }
        .into(),
    ];
    let m = error_of(&mut ctx, &r, twice);
    assert!(m.contains("buffer 5 already exists"), "{m}");
    let m = error_of(
        &mut ctx,
        &r,
        vec![CreateDescriptorSet {
            id: 6,
            layout: 1234,
        }
        .into()],
    );
    assert!(m.contains("descriptor set layout 1234"), "{m}");
    assert_eq!(ctx.live_objects(), 1);
}

#[test]
fn binds_outside_the_resource_or_to_a_missing_resource_are_refused() {
    let r = resources();
    let mut ctx = context();
    ctx.submit(
        &stream(vec![CreateBuffer {
            id: 1,
            size: 100,
            usage: usage::STORAGE_BUFFER,
        }
        .into()]),
        &r,
    )
    .unwrap();
    let m = error_of(
        &mut ctx,
        &r,
        vec![BindBufferMemory {
            buffer: 1,
            memory: at(MEMORY, (1 << 16) - 50),
        }
        .into()],
    );
    assert!(m.contains("outside resource 1"), "{m}");
    let m = error_of(
        &mut ctx,
        &r,
        vec![BindBufferMemory {
            buffer: 1,
            memory: at(MEMORY, u64::MAX),
        }
        .into()],
    );
    assert!(m.contains("outside resource 1"), "{m}");
    let m = error_of(
        &mut ctx,
        &r,
        vec![BindBufferMemory {
            buffer: 1,
            memory: at(77, 0),
        }
        .into()],
    );
    assert!(m.contains("resource 77 is not attached"), "{m}");
    // A command buffer in a missing resource.
    let m = error_of(
        &mut ctx,
        &r,
        vec![Submit {
            waits: vec![],
            command_buffers: vec![GuestRange {
                resource: 78,
                offset: 0,
                len: 8,
            }],
            signals: vec![],
        }
        .into()],
    );
    assert!(m.contains("resource 78"), "{m}");
}

#[test]
fn truncated_streams_and_misplaced_commands_are_errors() {
    let r = resources();
    let mut ctx = context();
    let bytes = stream(vec![CreateBuffer {
        id: 1,
        size: 100,
        usage: 0,
    }
    .into()]);
    for cut in 1..bytes.len() {
        assert!(matches!(
            ctx.submit(&bytes[..cut], &r),
            Err(SubmitError::Stream(_))
        ));
    }
    assert_eq!(ctx.live_objects(), 0);
    let m = error_of(
        &mut ctx,
        &r,
        vec![CmdDispatch {
            base: [0; 3],
            groups: [1, 1, 1],
        }
        .into()],
    );
    assert!(
        m.contains("CmdDispatch is not allowed outside a command buffer"),
        "{m}"
    );
    let cb = record(
        &r,
        vec![CreateBuffer {
            id: 1,
            size: 4,
            usage: 0,
        }
        .into()],
    );
    let m = error_of(&mut ctx, &r, vec![run_only(cb)]);
    assert!(
        m.contains("CreateBuffer is not allowed inside a command buffer"),
        "{m}"
    );
    // A command buffer range that cuts a frame.
    let mut cb = record(
        &r,
        vec![CmdWriteGuestU32 {
            dst: at(REPLIES, 0),
            value: 1,
        }
        .into()],
    );
    cb.len -= 1;
    let m = error_of(&mut ctx, &r, vec![run_only(cb)]);
    assert!(m.contains("command buffer 0"), "{m}");
    // Dispatch with nothing bound.
    let cb = record(
        &r,
        vec![CmdDispatch {
            base: [0; 3],
            groups: [1, 1, 1],
        }
        .into()],
    );
    let m = error_of(&mut ctx, &r, vec![run_only(cb)]);
    assert!(m.contains("no compute pipeline is bound"), "{m}");
}

#[test]
fn descriptor_writes_are_checked_against_buffer_and_layout() {
    let r = resources();
    let mut ctx = context();
    ctx.submit(&stream(saxpy_setup(64)), &r).unwrap();
    let write = |buffer, offset, range, ty| -> Command {
        WriteDescriptorSet {
            set: 22,
            binding: 1,
            array_element: 0,
            descriptor_type: ty,
            buffers: vec![DescriptorBufferInfo {
                buffer,
                offset,
                range,
            }],
        }
        .into()
    };
    let storage = descriptor_type::STORAGE_BUFFER;
    for (cmd, needle) in [
        (write(1, 4, WHOLE_SIZE, storage), "not aligned"),
        (write(1, 256, WHOLE_SIZE, storage), "past the end"),
        (write(1, 0, 257, storage), "past the end"),
        (write(9, 0, 4, storage), "buffer 9 does not exist"),
        (
            write(1, 0, 4, descriptor_type::UNIFORM_BUFFER),
            "the write is Uniform",
        ),
    ] {
        let m = error_of(&mut ctx, &r, vec![cmd]);
        assert!(m.contains(needle), "{m} lacks {needle}");
    }
    let overflow = WriteDescriptorSet {
        set: 22,
        binding: 1,
        array_element: 0,
        descriptor_type: storage,
        buffers: vec![
            DescriptorBufferInfo {
                buffer: 1,
                offset: 0,
                range: 4
            };
            2
        ],
    };
    let m = error_of(&mut ctx, &r, vec![overflow.into()]);
    assert!(m.contains("overflow"), "{m}");
}

#[test]
fn a_shortened_guest_wait_bound_fails_waits_that_never_hold_quickly_and_clamps_long_ones() {
    let mut ctx = context();
    let r = resources();
    ctx.set_guest_wait_limit(std::time::Duration::from_millis(20));
    // Zeroed memory: a wait for 0 holds at once, a wait for 1 never does.
    let holds = stream(vec![CmdWaitGuestU32 {
        src: at(REPLIES, 0),
        value: 0,
    }
    .into()]);
    r.write(COMMANDS, 0, &holds);
    let cb = GuestRange {
        resource: COMMANDS,
        offset: 0,
        len: holds.len() as u64,
    };
    ctx.submit(&stream(vec![run_only(cb)]), &r).unwrap();
    let never = stream(vec![CmdWaitGuestU32 {
        src: at(REPLIES, 0),
        value: 1,
    }
    .into()]);
    r.write(COMMANDS, 1024, &never);
    let cb = GuestRange {
        resource: COMMANDS,
        offset: 1024,
        len: never.len() as u64,
    };
    let start = std::time::Instant::now();
    let err = ctx.submit(&stream(vec![run_only(cb)]), &r).unwrap_err();
    assert!(err.to_string().contains("did not become 1"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    let timeline = Submit {
        waits: vec![TimelineWait {
            src: at(REPLIES, 8),
            value: 1,
        }],
        command_buffers: vec![],
        signals: vec![],
    };
    let err = ctx.submit(&stream(vec![timeline.into()]), &r).unwrap_err();
    assert!(err.to_string().contains("did not reach 1"), "{err}");
    ctx.set_guest_wait_limit(std::time::Duration::MAX);
    assert_eq!(
        ctx.guest_wait_limit,
        std::time::Duration::from_millis(MAX_GUEST_WAIT_MS)
    );
}

mod descriptors;
mod graphics;
mod images;
mod limits;
mod multiview;
mod passes;
