//! The JIT issue's compute shaders through the whole stack: ash → Vulkan loader → our ICD →
//! vhost-user → vhost-device → jit-host, each checked against a CPU reference.
#![allow(clippy::unwrap_used)]

mod common;

use common::{gpu, shader, Rng};

#[test]
fn saxpy_matches_cpu() {
    let gpu = gpu();
    let n = 1_000_003usize;
    let mut rng = Rng(1);
    let x: Vec<f32> = (0..n).map(|_| rng.next_f32()).collect();
    let y: Vec<f32> = (0..n).map(|_| rng.next_f32()).collect();
    let bx = gpu.buffer(4 * n as u64).unwrap();
    let by = gpu.buffer(4 * n as u64).unwrap();
    bx.write(&x);
    by.write(&y);
    let p = gpu.pipeline(&shader("saxpy", &[]), 2, 8, &[]).unwrap();
    let a = 2.5f32;
    let push: Vec<u8> = a
        .to_le_bytes()
        .into_iter()
        .chain((n as u32).to_le_bytes())
        .collect();
    gpu.dispatch(&p, &[&bx, &by], &push, [(n as u32).div_ceil(256), 1, 1])
        .unwrap();
    let out: Vec<f32> = by.read(n);
    for i in 0..n {
        // With or without a fused multiply-add: within an ulp or two of the CPU.
        let want = a * x[i] + y[i];
        assert!(
            (out[i] - want).abs() <= 1e-6 * want.abs().max(1.0),
            "element {i}: {} vs {want}",
            out[i]
        );
    }
    gpu.destroy_pipeline(p);
    gpu.destroy_buffer(bx);
    gpu.destroy_buffer(by);
}

#[test]
fn shared_memory_reductions_wg_256_and_1024() {
    let gpu = gpu();
    for wg in [256u32, 1024] {
        let groups = 37u32;
        let n = (wg * groups) as usize;
        let mut rng = Rng(u64::from(wg));
        let values: Vec<u32> = (0..n).map(|_| rng.next_u32() % 1000).collect();
        let input = gpu.buffer(4 * n as u64).unwrap();
        let sums = gpu.buffer(4 * u64::from(groups)).unwrap();
        input.write(&values);
        let p = gpu
            .pipeline(&shader("reduce", &[("WG", &wg.to_string())]), 2, 0, &[])
            .unwrap();
        gpu.dispatch(&p, &[&input, &sums], &[], [groups, 1, 1])
            .unwrap();
        let got: Vec<u32> = sums.read(groups as usize);
        let want: Vec<u32> = values.chunks(wg as usize).map(|c| c.iter().sum()).collect();
        assert_eq!(got, want, "workgroup size {wg}");
        gpu.destroy_pipeline(p);
    }
}

#[test]
fn tiled_matmul_matches_cpu() {
    let gpu = gpu();
    let n = 64usize;
    let mut rng = Rng(7);
    let a: Vec<f32> = (0..n * n).map(|_| rng.next_f32()).collect();
    let b: Vec<f32> = (0..n * n).map(|_| rng.next_f32()).collect();
    let (ba, bb, bc) = (
        gpu.buffer(4 * (n * n) as u64).unwrap(),
        gpu.buffer(4 * (n * n) as u64).unwrap(),
        gpu.buffer(4 * (n * n) as u64).unwrap(),
    );
    ba.write(&a);
    bb.write(&b);
    let p = gpu
        .pipeline(&shader("matmul_tiled", &[]), 3, 4, &[])
        .unwrap();
    let groups = (n as u32).div_ceil(16);
    gpu.dispatch(
        &p,
        &[&ba, &bb, &bc],
        &(n as u32).to_le_bytes(),
        [groups, groups, 1],
    )
    .unwrap();
    let c: Vec<f32> = bc.read(n * n);
    for i in 0..n {
        for j in 0..n {
            let want: f32 = (0..n).map(|k| a[i * n + k] * b[k * n + j]).sum();
            assert!(
                (c[i * n + j] - want).abs() < 1e-4,
                "c[{i}][{j}] = {} want {want}",
                c[i * n + j]
            );
        }
    }
}

#[test]
fn prefix_sum_matches_cpu() {
    let gpu = gpu();
    let n = 256 * 8;
    let mut rng = Rng(3);
    let values: Vec<u32> = (0..n).map(|_| rng.next_u32() % 100).collect();
    let input = gpu.buffer(4 * n as u64).unwrap();
    let output = gpu.buffer(4 * n as u64).unwrap();
    input.write(&values);
    let p = gpu.pipeline(&shader("prefix_sum", &[]), 2, 0, &[]).unwrap();
    gpu.dispatch(&p, &[&input, &output], &[], [8, 1, 1])
        .unwrap();
    let got: Vec<u32> = output.read(n);
    for (g, chunk) in values.chunks(256).enumerate() {
        let mut acc = 0u32;
        for (i, v) in chunk.iter().enumerate() {
            acc += v;
            assert_eq!(got[g * 256 + i], acc, "group {g} element {i}");
        }
    }
}

#[test]
fn histogram_atomics_match_cpu() {
    let gpu = gpu();
    let n = 10_000u32;
    let mut rng = Rng(11);
    let values: Vec<u32> = (0..n).map(|_| rng.next_u32() % 5000).collect();
    let input = gpu.buffer(4 * u64::from(n)).unwrap();
    let direct = gpu.buffer(4 * 64).unwrap();
    let merged = gpu.buffer(4 * 64).unwrap();
    let maxima = gpu.buffer(16).unwrap();
    input.write(&values);
    maxima.write(&[0u32, i32::MAX as u32, 0, 0]);
    let p = gpu.pipeline(&shader("histogram", &[]), 4, 4, &[]).unwrap();
    gpu.dispatch(
        &p,
        &[&input, &direct, &merged, &maxima],
        &n.to_le_bytes(),
        [n.div_ceil(128), 1, 1],
    )
    .unwrap();
    let mut want = [0u32; 64];
    for v in &values {
        want[(v % 64) as usize] += 1;
    }
    assert_eq!(direct.read::<u32>(64), want);
    assert_eq!(merged.read::<u32>(64), want);
    let m: Vec<u32> = maxima.read(4);
    assert_eq!(m[0], *values.iter().max().unwrap());
    assert_eq!(m[1] as i32, *values.iter().min().unwrap() as i32);
    assert_eq!(m[2], 7);
    assert!(m[3] >= 1 && m[3] <= n, "compare-exchange stored {}", m[3]);
}

#[test]
fn specialization_constants_reach_the_shader() {
    let gpu = gpu();
    let out = gpu.buffer(4 * 128).unwrap();
    let meta = gpu.buffer(20).unwrap();
    let spec = [
        (0u32, 32u32.to_le_bytes()),
        (1, 5u32.to_le_bytes()),
        (2, (-3i32).to_le_bytes()),
        (3, 1u32.to_le_bytes()),
        (4, 2.0f32.to_le_bytes()),
    ];
    let p = gpu
        .pipeline(&shader("spec_constants", &[]), 2, 0, &spec)
        .unwrap();
    gpu.dispatch(&p, &[&out, &meta], &[], [4, 1, 1]).unwrap();
    let values: Vec<i32> = out.read(128);
    for (i, v) in values.iter().enumerate() {
        assert_eq!(*v, -(i as i32 * 5 - 3), "element {i}");
    }
    let m: Vec<u32> = meta.read(5);
    assert_eq!(m[0], 32, "local size from LocalSizeId");
    assert_eq!(m[1], 16, "DERIVED = SCALE * 3 + 1");
    assert_eq!(m[2] as i32, (-3 << 2) - 5, "SHIFTED");
    assert_eq!(f32::from_bits(m[3]), 6.0, "FACTOR * 3");
    assert_eq!(m[4], 4, "NumWorkgroups");
}
