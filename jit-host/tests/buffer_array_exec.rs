//! Dynamically indexed arrays of uniform and storage buffer blocks (`Space::BufferArray`),
//! run for real: GLSL → SPIR-V → IR → code, called on buffers here. In range, the element the
//! (dynamically uniform) index names is read, written and incremented; out of range (past the
//! end, or negative), loads give 0 and stores and atomics are dropped, whatever the element
//! buffers hold. The fragment stage's helper lanes pick the same element and store nothing.

mod graphics;

use std::os::fd::BorrowedFd;

use graphics::{glsl, lower_glsl, Batch, L};
use jit_host::arena::CodeArena;
use jit_host::codegen::Target;
use jit_host::compile::compile_module;
use jit_host_client::arena::ArenaMapping;
use jit_host_client::wire::ArenaLayout;
use shader::abi::{BufferDescriptor, ComputeKernelFn, ImageResources, KernelContext};
use shader::ir::{Module, Stage};

/// Compiles and runs a compute module over `groups` workgroups; `bufs` in `Module::buffers`
/// order.
fn run(m: &Module, groups: u32, bufs: &mut [Vec<u8>], push: &[u8]) {
    let target = Target::host().expect("target");
    let blob = compile_module(m, &target).expect("compiles");
    let layout = ArenaLayout {
        code_size: 16 << 20,
        data_size: 4 << 20,
    };
    let mut arena = CodeArena::create(layout).expect("arena");
    let fd: BorrowedFd = arena.fd().expect("fd");
    let mapping = ArenaMapping::map(fd.try_clone_to_owned().expect("dup"), layout).expect("map");
    let range = arena.place(&blob).expect("place");
    let entry = mapping.entry_address(&range).expect("entry");
    let descs: Vec<BufferDescriptor> = bufs
        .iter_mut()
        .map(|b| BufferDescriptor {
            base: b.as_mut_ptr(),
            len: b.len() as u64,
        })
        .collect();
    let mut scratch = vec![0u8; blob.scratch_size as usize + 128];
    let off = scratch.as_ptr().align_offset(64);
    let mut wg = vec![0u8; 128];
    let ctx = KernelContext {
        buffers: descs.as_ptr(),
        push_constants: push.as_ptr(),
        push_constants_len: push.len() as u32,
        num_workgroups: [groups, 1, 1],
        base_workgroup: [0; 3],
        workgroup_memory: wg.as_mut_ptr(),
        scratch: scratch[off..].as_mut_ptr(),
        image_resources: ImageResources::NONE,
    };
    // SAFETY: `entry` is the entry of code just placed for this compute module.
    let f: ComputeKernelFn = unsafe { std::mem::transmute(entry) };
    // SAFETY: every pointer in ctx is live for the call and sized as the module requires.
    unsafe { f(&ctx, 0, groups) };
}

const SHADER: &str = r#"#version 450
layout(local_size_x = 8) in;
layout(set = 0, binding = 0) uniform U { uvec4 v[2]; } us[3];
layout(set = 0, binding = 1) buffer S { uint w[16]; } ss[2];
layout(set = 0, binding = 2) buffer O { uint o[]; };
layout(push_constant) uniform P { int k; int j; };
void main() {
    uint i = gl_LocalInvocationID.x;
    o[i] = us[k].v[i / 4u][i % 4u] + ss[j].w[i];
    ss[j].w[8u + i] = i + 100u;
    o[8u + i] = atomicAdd(ss[j].w[0], 1u);
}
"#;

fn words(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn bytes(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn buffer_array_elements_are_picked_by_index_and_out_of_range_is_robust() {
    let m = lower_glsl(Stage::Compute, SHADER);
    let uniform = |e: u32| -> Vec<u32> { (0..8).map(|c| 1000 * (e + 1) + c).collect() };
    let storage = |e: u32| -> Vec<u32> { (0..16).map(|c| 10 * (e + 1) + c).collect() };
    for (k, j) in [
        (0i32, 0i32),
        (2, 1),
        (1, 0),
        (3, 2),
        (-1, -1),
        (i32::MAX, 1),
    ] {
        let mut bufs: Vec<Vec<u8>> = m
            .buffers
            .iter()
            .map(|b| match b.binding {
                0 => bytes(&uniform(b.array_index)),
                1 => bytes(&storage(b.array_index)),
                _ => bytes(&[0xdead; 16]),
            })
            .collect();
        let push = bytes(&[k as u32, j as u32]);
        run(&m, 1, &mut bufs, &push);
        let k_ok = (0..3).contains(&k);
        let j_ok = (0..2).contains(&j);
        let out_slot = m
            .buffers
            .iter()
            .position(|b| b.binding == 2)
            .expect("output buffer slot");
        let out = words(&bufs[out_slot]);
        for i in 0..8u32 {
            let u = if k_ok {
                uniform(k as u32)[i as usize]
            } else {
                0
            };
            let s = if j_ok {
                storage(j as u32)[i as usize]
            } else {
                0
            };
            assert_eq!(out[i as usize], u + s, "k {k} j {j} lane {i}");
        }
        let mut olds: Vec<u32> = out[8..].to_vec();
        olds.sort_unstable();
        if j_ok {
            let first = storage(j as u32)[0];
            assert_eq!(olds, (first..first + 8).collect::<Vec<_>>(), "k {k} j {j}");
        } else {
            assert_eq!(olds, [0; 8], "k {k} j {j}: atomics past the array give 0");
        }
        for (slot, b) in m.buffers.iter().enumerate() {
            if b.binding != 1 {
                continue;
            }
            let got = words(&bufs[slot]);
            let mut want = storage(b.array_index);
            if j_ok && b.array_index == j as u32 {
                want[0] += 8;
                for i in 0..8 {
                    want[8 + i] = i as u32 + 100;
                }
            }
            assert_eq!(got, want, "k {k} j {j}: ss[{}]", b.array_index);
        }
    }
}

const FRAGMENT: &str = r#"#version 450
layout(set = 0, binding = 0) uniform U { vec4 c; } us[3];
layout(set = 0, binding = 1) buffer S { uint n[4]; } ss[2];
layout(push_constant) uniform P { int k; int j; };
layout(location = 0) out vec4 o;
void main() {
    o = us[k].c;
    atomicAdd(ss[j].n[1], 1u);
}
"#;

#[test]
fn fragment_buffer_arrays_read_the_element_and_count_live_lanes_only() {
    let mut p = glsl(Stage::Fragment, FRAGMENT);
    let colour = |e: u32| -> [f32; 4] { [0.25 * e as f32, 0.5, 1.0 - 0.25 * e as f32, 1.0] };
    let live = 0b1011_0110u32;
    for (k, j) in [(1i32, 0i32), (2, 1), (3, 2)] {
        let mut bufs: Vec<Vec<u8>> = p
            .module
            .buffers
            .iter()
            .map(|b| match b.binding {
                0 => colour(b.array_index)
                    .iter()
                    .flat_map(|f| f.to_le_bytes())
                    .collect(),
                _ => vec![0; 16],
            })
            .collect();
        let batch = Batch::at(&p.module, 0, 0, live);
        let outs_in = vec![0u32; L * p.module.outputs.len()];
        let push = bytes(&[k as u32, j as u32]);
        let mut refs: Vec<&mut [u8]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
        let (_, out) = p.run_fragment(&batch, &outs_in, &mut refs, &push);
        for l in (0..L).filter(|l| live >> l & 1 == 1) {
            for c in 0..4 {
                let got = f32::from_bits(out[p.location(0, c as u8) * L + l]);
                let want = if (0..3).contains(&k) {
                    colour(k as u32)[c]
                } else {
                    0.0
                };
                assert_eq!(got, want, "k {k} lane {l} component {c}");
            }
        }
        for (slot, b) in p.module.buffers.iter().enumerate() {
            if b.binding != 1 {
                continue;
            }
            let count = words(&bufs[slot])[1];
            let want = if b.array_index as i32 == j {
                live.count_ones()
            } else {
                0
            };
            assert_eq!(count, want, "k {k} j {j}: ss[{}]", b.array_index);
        }
    }
}
