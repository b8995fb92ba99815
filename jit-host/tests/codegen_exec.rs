//! Runs back-end output for real, in this test process: compile → link → place in a sealed
//! arena → map it read+execute as the device does → call it on buffers, and compare with a CPU
//! reference. (The renderer's tests do the same through the jit-host process.)

use shader::abi::{BufferDescriptor, ComputeKernelFn, KernelContext};
use shader::ir::*;

mod common;
#[path = "../src/codegen/test_ir.rs"]
mod irgen;

fn run(m: &Module, groups: [u32; 3], bufs: &mut [&mut [u8]], push: &[u8]) {
    let mut wg = vec![0u8; (m.workgroup_memory_size as usize).div_ceil(64) * 64 + 64];
    run_with_workgroup_memory(m, groups, bufs, push, &mut wg);
}

/// As [`run`], with the caller's workgroup memory block (the ABI promises the kernel only
/// `workgroup_memory_size` bytes of it).
fn run_with_workgroup_memory(
    m: &Module,
    groups: [u32; 3],
    bufs: &mut [&mut [u8]],
    push: &[u8],
    wg: &mut [u8],
) {
    assert!(wg.len() >= m.workgroup_memory_size as usize);
    let code = common::placed::compile_and_place(m);
    let descs: Vec<BufferDescriptor> = bufs
        .iter_mut()
        .map(|b| BufferDescriptor {
            base: b.as_mut_ptr(),
            len: b.len() as u64,
        })
        .collect();
    let mut scratch = vec![0u8; code.scratch_size + 64];
    let ctx = KernelContext {
        buffers: descs.as_ptr(),
        push_constants: push.as_ptr(),
        push_constants_len: push.len() as u32,
        num_workgroups: groups,
        base_workgroup: [0; 3],
        workgroup_memory: wg.as_mut_ptr(),
        scratch: scratch.as_mut_ptr(),
        image_resources: shader::abi::ImageResources::NONE,
    };
    // SAFETY: `entry` is the entry of code just placed for this module's ABI.
    let f: ComputeKernelFn = unsafe { std::mem::transmute(code.entry) };
    let total = groups[0] * groups[1] * groups[2];
    // SAFETY: every pointer in ctx is live for the call and sized as the module requires.
    unsafe { f(&ctx, 0, total) };
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn to_f32(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn saxpy_matches_cpu_and_respects_n() {
    let n = 1000usize; // not a multiple of the workgroup size
    let x: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
    let y0: Vec<f32> = (0..n).map(|i| 3.0 - i as f32).collect();
    let mut xb = f32s(&x);
    let mut yb = f32s(&y0);
    let a = 2.5f32;
    let mut push = a.to_le_bytes().to_vec();
    push.extend_from_slice(&((n - 10) as u32).to_le_bytes());
    run(
        &irgen::saxpy(),
        [(n as u32).div_ceil(64), 1, 1],
        &mut [&mut xb, &mut yb],
        &push,
    );
    let y = to_f32(&yb);
    for i in 0..n {
        let want = if i < n - 10 {
            a.mul_add(x[i], y0[i])
        } else {
            y0[i]
        };
        assert_eq!(y[i], want, "element {i}");
    }
}

/// Regression (found by the jit_compile fuzz target): workgroup memory whose size is not a
/// multiple of 64 was zeroed in whole 64-byte stores, past the end of the caller's block.
#[test]
fn workgroup_memory_is_zeroed_exactly_to_its_size() {
    for size in [1u32, 8, 63, 64, 68, 127, 200] {
        let mut m = irgen::saxpy();
        m.workgroup_memory_size = size;
        let mut xb = f32s(&[1.0; 64]);
        let mut yb = f32s(&[2.0; 64]);
        let mut push = 1.0f32.to_le_bytes().to_vec();
        push.extend_from_slice(&64u32.to_le_bytes());
        let mut wg = vec![0xabu8; size as usize + 128];
        run_with_workgroup_memory(&m, [1, 1, 1], &mut [&mut xb, &mut yb], &push, &mut wg);
        assert!(
            wg[..size as usize].iter().all(|&b| b == 0),
            "size {size}: workgroup memory not zeroed"
        );
        assert!(
            wg[size as usize..].iter().all(|&b| b == 0xab),
            "size {size}: bytes past the block were written"
        );
        assert_eq!(
            to_f32(&yb),
            vec![3.0; 64],
            "size {size}: the kernel still ran"
        );
    }
}

#[test]
fn barrier_reduction_sums_each_workgroup() {
    for wgsize in [256u32, 1024] {
        let groups = 7u32;
        let total = (wgsize * groups) as usize;
        let inp: Vec<f32> = (0..total).map(|i| ((i * 37) % 101) as f32).collect();
        let mut ib = f32s(&inp);
        let mut ob = vec![0u8; groups as usize * 4];
        run(
            &irgen::reduction(wgsize),
            [groups, 1, 1],
            &mut [&mut ib, &mut ob],
            &[],
        );
        let out = to_f32(&ob);
        for g in 0..groups as usize {
            let want: f32 = inp[g * wgsize as usize..(g + 1) * wgsize as usize]
                .iter()
                .sum();
            assert_eq!(out[g], want, "workgroup {g} of size {wgsize}");
        }
    }
}
