//! More of the JIT issue's shaders through the whole stack (loader → ICD → device → jit-host):
//! push-constant layouts, subgroup operations and a loop-with-break kernel, each against a CPU
//! reference that does not depend on the driver (the subgroup size is read back from the
//! shader, so the same test checks lavapipe with SOFTGPU_E2E_DRIVER=lavapipe).
#![allow(clippy::unwrap_used)]

mod common;

use common::{gpu, shader, Rng};

#[test]
fn push_constant_members_reach_the_shader() {
    let gpu = gpu();
    let mut pc = vec![0u8; 80];
    let mut put = |offset: usize, w: u32| pc[offset..offset + 4].copy_from_slice(&w.to_le_bytes());
    put(0, 1.25f32.to_bits());
    put(4, 13);
    put(8, (-3.5f32).to_bits());
    put(12, 1e-3f32.to_bits());
    for (k, v) in [-1i32, 2, i32::MIN, 77].iter().enumerate() {
        put(16 + 4 * k, *v as u32);
    }
    for k in 0..5 {
        put(32 + 4 * k, (10.0 + k as f32 * 0.5).to_bits());
    }
    put(64, 0xDEAD_BEEF);
    put(68, 0);
    put(72, u32::MAX);
    put(76, (-42i32) as u32);
    let out = gpu.buffer(4 * 18).unwrap();
    let p = gpu
        .pipeline(&shader("push_constants", &[]), 1, 80, &[])
        .unwrap();
    gpu.dispatch(&p, &[&out], &pc, [1, 1, 1]).unwrap();
    let w: Vec<u32> = out.read(18);
    assert_eq!(f32::from_bits(w[0]), 2.5);
    assert_eq!(w[1], 14);
    assert_eq!((f32::from_bits(w[2]), f32::from_bits(w[3])), (-3.5, 1e-3));
    assert_eq!(w[4..8], [(-1i32) as u32, 2, i32::MIN as u32, 77]);
    let arr: Vec<f32> = w[8..13].iter().map(|b| f32::from_bits(*b)).collect();
    assert_eq!(arr, [10.0, 10.5, 11.0, 11.5, 12.0]);
    assert_eq!(
        f32::from_bits(w[13]),
        11.5,
        "arr[13 % 5] via a dynamic index"
    );
    assert_eq!(w[14..17], [0xDEAD_BEEF, 0, u32::MAX]);
    assert_eq!(w[17] as i32, -42);
}

#[test]
fn subgroup_vote_ballot_and_broadcast_match_cpu() {
    let gpu = gpu();
    let n = 256usize;
    let mut rng = Rng(5);
    let mut vs: Vec<u32> = (0..n).map(|_| rng.next_u32() % 64).collect();
    let gs: Vec<u32> = (0..n)
        .map(|i| if (i / 8) % 2 == 0 { 7 } else { i as u32 % 3 })
        .collect();
    let bv = gpu.buffer(4 * n as u64).unwrap();
    let bg = gpu.buffer(4 * n as u64).unwrap();
    let out = gpu.buffer(4 * 17 * n as u64).unwrap();
    // Lane 0 of every subgroup (any size ≤ 64 divides 256 evenly) has the predicate set, so
    // the ballot is never empty (FindLSB/MSB of 0 are undefined).
    for chunk in vs.chunks_mut(4) {
        chunk[0] = 1;
    }
    bv.write(&vs);
    bg.write(&gs);
    let p = gpu
        .pipeline(&shader("subgroup_basic", &[]), 3, 0, &[])
        .unwrap();
    gpu.dispatch(&p, &[&bv, &bg, &out], &[], [(n / 64) as u32, 1, 1])
        .unwrap();
    let res: Vec<u32> = out.read(17 * n);
    let w = res[0] as usize;
    assert!([4, 8, 16, 32, 64].contains(&w), "subgroup size {w}");
    if w < 4 {
        return;
    }
    for i in 0..n {
        let r = &res[17 * i..17 * i + 17];
        let lane = i % w;
        let first = i - lane;
        let lanes = first..first + w;
        let p = |j: usize| vs[j] % 8 != 0;
        let ballot: u64 = lanes
            .clone()
            .filter(|&j| p(j))
            .map(|j| 1u64 << (j - first))
            .sum();
        let want = [
            w as u32,
            lane as u32,
            ((i % 64) / w) as u32,
            (64 / w) as u32,
            u32::from(lane == 0),
            u32::from(lanes.clone().all(p)),
            u32::from(lanes.clone().any(|j| vs[j] % 16 == 0)),
            u32::from(lanes.clone().all(|j| gs[j] == gs[first])),
            ballot as u32,
            ballot.count_ones(),
            ((ballot >> (vs[i] as usize % w)) & 1) as u32,
            ballot.trailing_zeros(),
            63 - ballot.leading_zeros(),
            vs[first + 1],
            vs[first],
            (ballot & ((1u64 << lane) - 1)).count_ones(),
            (ballot >> 32) as u32,
        ];
        assert_eq!(r, want, "invocation {i} (subgroup size {w})");
    }
}

#[test]
fn mandelbrot_iterations_match_cpu() {
    let gpu = gpu();
    let (width, height, max_iter) = (64u32, 48u32, 200u32);
    let (x0, y0, step) = (-2.0f32, -1.2f32, 2.4f32 / 48.0);
    let out = gpu.buffer(4 * u64::from(width * height)).unwrap();
    let mut push = Vec::new();
    for v in [width, height, max_iter] {
        push.extend(v.to_le_bytes());
    }
    for v in [x0, y0, step] {
        push.extend(v.to_le_bytes());
    }
    let p = gpu
        .pipeline(&shader("mandelbrot", &[]), 1, 24, &[])
        .unwrap();
    gpu.dispatch(&p, &[&out], &push, [width / 8, height / 8, 1])
        .unwrap();
    let got: Vec<u32> = out.read((width * height) as usize);
    // The shader's own loop in f32 on the CPU. Every operation is `precise` in the shader (no
    // contraction into FMAs), so the iteration counts must match exactly.
    for py in 0..height {
        for px in 0..width {
            let cx = x0 + px as f32 * step;
            let cy = y0 + py as f32 * step;
            let (mut x, mut y, mut i) = (0.0f32, 0.0f32, 0u32);
            while i < max_iter {
                let (xx, yy) = (x * x, y * y);
                if xx + yy > 4.0 {
                    break;
                }
                let xy = x * y;
                y = xy + xy + cy;
                x = xx - yy + cx;
                i += 1;
            }
            assert_eq!(got[(py * width + px) as usize], i, "pixel ({px}, {py})");
        }
    }
}
