//! Writes the seed corpus (`fuzz/corpus/<target>/`) from test inputs:
//! `cargo run --manifest-path fuzz/Cargo.toml --example seed_corpus -- SPV_DIR CORPUS_DIR`
//! where SPV_DIR holds the renderer's test shaders compiled with glslangValidator
//! (`scripts/fuzz --seed` does both). Seeds are named by content, so rerunning is idempotent.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A developer tool: fail loudly.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use jit_host::link::LinkedBlob;
use jit_host::worker::WorkerMessage;
use jit_host_client::wire::{encode_frame, Request};
use protocol::stream::*;
use shader::front::{lower_compute, SpecializationInfo};
use virtio_bindings::virtio_gpu as vg;

fn write_seed(corpus: &Path, target: &str, bytes: &[u8]) {
    let dir = corpus.join(target);
    std::fs::create_dir_all(&dir).unwrap();
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    std::fs::write(dir.join(format!("seed-{:016x}", h.finish())), bytes).unwrap();
}

/// Run parameters for `jit_compile`: buffer sizes, fill, no push constants, one workgroup.
const PARAMS: [u8; 24] = [
    64, 128, 255, 16, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

fn request(type_: u32, ctx: u32, body: &[u32]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(type_.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.extend(ctx.to_le_bytes());
    b.extend([0u8; 4]);
    for w in body {
        b.extend(w.to_le_bytes());
    }
    b
}

/// A `virtio_gpu` input: feature bits, then raw requests (tag 0, u16 length, bytes).
fn gpu_script(features: u8, requests: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![features];
    for r in requests {
        out.push(0);
        out.extend((r.len() as u16).to_le_bytes());
        out.extend(r);
    }
    out
}

fn sample_stream() -> Vec<u8> {
    let loc = |offset| GuestLocation {
        resource: 1,
        offset,
    };
    let cmds: Vec<Command> = vec![
        CreateBuffer {
            id: 1,
            size: 256,
            usage: 0x20,
        }
        .into(),
        BindBufferMemory {
            buffer: 1,
            memory: loc(0),
        }
        .into(),
        CreateShaderModule {
            id: 1,
            code: vec![0x0723_0203, 0x0001_0000, 0, 4, 0],
        }
        .into(),
        CreateDescriptorSetLayout {
            id: 1,
            bindings: vec![DescriptorSetLayoutBinding {
                binding: 0,
                descriptor_type: descriptor_type::STORAGE_BUFFER,
                count: 1,
                stages: 0x20,
                immutable_samplers: vec![],
            }],
        }
        .into(),
        CreatePipelineLayout {
            id: 1,
            set_layouts: vec![1],
            push_constant_ranges: vec![PushConstantRange {
                stages: 0x20,
                offset: 0,
                size: 8,
            }],
        }
        .into(),
        CreateDescriptorSet { id: 1, layout: 1 }.into(),
        WriteDescriptorSet {
            set: 1,
            binding: 0,
            array_element: 0,
            descriptor_type: descriptor_type::STORAGE_BUFFER,
            buffers: vec![DescriptorBufferInfo {
                buffer: 1,
                offset: 0,
                range: WHOLE_SIZE,
            }],
        }
        .into(),
        CreateComputePipeline {
            id: 1,
            layout: 1,
            module: 1,
            entry: "main".into(),
            spec_map: vec![],
            spec_data: vec![],
            reply: loc(512),
        }
        .into(),
        Submit {
            waits: vec![TimelineWait {
                src: loc(1024),
                value: 1,
            }],
            command_buffers: vec![GuestRange {
                resource: 1,
                offset: 2048,
                len: 128,
            }],
            signals: vec![SignalWrite {
                dst: loc(1032),
                value: 2,
            }],
        }
        .into(),
        DestroyPipeline { id: 1 }.into(),
    ];
    encode_all(&cmds).unwrap()
}

fn recorded_stream() -> Vec<u8> {
    let cmds: Vec<Command> = vec![
        CmdBindComputePipeline { pipeline: 1 }.into(),
        CmdBindDescriptorSets {
            layout: 1,
            first_set: 0,
            sets: vec![1],
            dynamic_offsets: vec![],
        }
        .into(),
        CmdPushConstants {
            layout: 1,
            stages: 0x20,
            offset: 0,
            data: vec![1, 2, 3, 4, 5, 6, 7, 8],
        }
        .into(),
        CmdDispatch {
            base: [0; 3],
            groups: [4, 1, 1],
        }
        .into(),
        CmdDispatchIndirect {
            buffer: 1,
            offset: 0,
        }
        .into(),
        CmdCopyBuffer {
            src: 1,
            dst: 2,
            regions: vec![BufferCopy {
                src_offset: 0,
                dst_offset: 16,
                size: 32,
            }],
        }
        .into(),
        CmdFillBuffer {
            dst: 1,
            offset: 0,
            size: WHOLE_SIZE,
            data: 7,
        }
        .into(),
        CmdUpdateBuffer {
            dst: 1,
            offset: 4,
            data: vec![9; 12],
        }
        .into(),
        CmdWriteTimestamp {
            dst: GuestLocation {
                resource: 1,
                offset: 64,
            },
        }
        .into(),
        CmdWriteGuestU32 {
            dst: GuestLocation {
                resource: 1,
                offset: 80,
            },
            value: 1,
        }
        .into(),
        CmdWaitGuestU32 {
            src: GuestLocation {
                resource: 1,
                offset: 80,
            },
            value: 1,
        }
        .into(),
    ];
    encode_all(&cmds).unwrap()
}

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [spv_dir, corpus] = &args[..] else {
        panic!("usage: seed_corpus SPV_DIR CORPUS_DIR");
    };

    // SPIR-V targets and the compiler: every test shader, and its IR.
    let mut spvs: Vec<PathBuf> = std::fs::read_dir(spv_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "spv"))
        .collect();
    spvs.sort();
    let mut ir_blobs = Vec::new();
    for (i, p) in spvs.iter().enumerate() {
        let spirv = std::fs::read(p).unwrap();
        let mut seed = vec![0u8];
        seed.extend(&spirv);
        write_seed(corpus, "spirv_front", &seed);
        write_seed(corpus, "spirv_front_mutate", &seed);
        if i % 4 == 0 {
            let mut s = vec![2u8, 0];
            s.extend(&spirv);
            s.extend(PARAMS);
            write_seed(corpus, "jit_compile", &s);
        }
        match lower_compute(&spirv, "main", &SpecializationInfo::default()) {
            Ok(m) => {
                let ir = m.encode();
                let mut s = vec![3u8];
                s.extend(&ir);
                s.extend(PARAMS);
                write_seed(corpus, "jit_compile", &s);
                ir_blobs.push(ir);
            }
            Err(e) => eprintln!("{}: {e} (no IR seed)", p.display()),
        }
    }

    // jit-host wire: requests and worker messages.
    let mut wire = vec![
        encode_frame(&Request::Free { code_offset: 4096 }).unwrap(),
        encode_frame(&Request::WorkerPid).unwrap(),
        postcard::to_stdvec(&WorkerMessage::Linked(LinkedBlob {
            text: vec![0xc3; 16],
            rodata: vec![1; 32],
            fixups: vec![],
            entry_offset: 0,
            scratch_size: 64,
        }))
        .unwrap(),
    ];
    if let Some(ir) = ir_blobs.first() {
        wire.push(encode_frame(&Request::Compile { ir: ir.clone() }).unwrap());
    }
    for w in wire {
        let mut s = vec![0u8];
        s.extend(w);
        write_seed(corpus, "jit_compile", &s);
    }

    // Command streams: raw (mode 0) as the ICD encodes them.
    for stream in [sample_stream(), recorded_stream()] {
        let mut s = vec![0u8];
        s.extend(&stream);
        write_seed(corpus, "command_stream", &s);
    }

    // virtio-gpu: request sequences as in the device's unit tests.
    let create_buffer = |id: u32, size: u32| {
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_3D,
            0,
            &[id, 0, 0, 0, size, 1, 1, 1, 0, 0, 0, 0],
        )
    };
    let attach = |id: u32, pages: &[u64]| {
        let mut body = vec![id, pages.len() as u32];
        for &p in pages {
            body.extend([p as u32, (p >> 32) as u32, 4096, 0]);
        }
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
            0,
            &body,
        )
    };
    let mut ctx_create = vec![4u32, 0];
    ctx_create.extend([u32::from_le_bytes(*b"test")]);
    ctx_create.extend([0u32; 15]);
    let submit = |ctx: u32, stream: &[u8]| {
        let mut r = request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SUBMIT_3D,
            ctx,
            &[stream.len() as u32, 0],
        );
        r.extend(stream);
        r
    };
    let buffer_life = vec![
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_CAPSET_INFO,
            0,
            &[0, 0],
        ),
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_CAPSET,
            0,
            &[24, 1],
        ),
        create_buffer(1, 8192),
        attach(1, &[0x1000, 0x11_f000, 0x12_0000]),
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE,
            1,
            &ctx_create,
        ),
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE,
            1,
            &[1, 0],
        ),
        submit(1, &sample_stream()[..64]),
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
            0,
            &[1, 0],
        ),
        submit(1, b"bad!"),
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE,
            1,
            &[1, 0],
        ),
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_UNREF,
            0,
            &[1, 0],
        ),
        request(vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_DESTROY, 1, &[]),
    ];
    write_seed(corpus, "virtio_gpu", &gpu_script(0, &buffer_life));
    let scanout = vec![
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_DISPLAY_INFO,
            0,
            &[],
        ),
        request(vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_EDID, 0, &[0, 0]),
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
            0,
            &[
                2,
                vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM,
                32,
                16,
            ],
        ),
        attach(2, &[0x10_0000]),
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SET_SCANOUT,
            0,
            &[0, 0, 32, 16, 0, 2],
        ),
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D,
            0,
            &[0, 0, 32, 16, 0, 0, 2, 0],
        ),
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_FLUSH,
            0,
            &[0, 0, 32, 16, 2, 0],
        ),
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_MOVE_CURSOR,
            0,
            &[0, 10, 10, 0, 0, 0, 0, 0],
        ),
    ];
    write_seed(corpus, "virtio_gpu", &gpu_script(4, &scanout));
    let blob = {
        let mut body = vec![3, 1, 1, 2, 0, 0, 8192, 0];
        for p in [0x2000u64, 0x3000] {
            body.extend([p as u32, (p >> 32) as u32, 4096, 0]);
        }
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB,
            1,
            &body,
        )
    };
    let blobs = vec![
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE,
            1,
            &ctx_create,
        ),
        blob,
        submit(1, &recorded_stream()[..32]),
        request(
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_UNREF,
            0,
            &[3, 0],
        ),
    ];
    write_seed(corpus, "virtio_gpu", &gpu_script(3, &blobs));
    write_seed(corpus, "virtio_gpu", &gpu_script(1, &buffer_life[2..8]));
    eprintln!("seeds written under {}", corpus.display());
}
