//! End-to-end compute kernels (GLSL → SPIR-V → IR → jit-host → dispatch), each checked against
//! a CPU reference computed here.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[test]
fn saxpy_matches_cpu_for_a_partial_last_workgroup() {
    let dev = device();
    let p = pipeline(dev, "saxpy", &[]);
    let n = 10_000usize; // not a multiple of 256: the last workgroup has idle invocations
    let mut rng = Rng::new(1);
    let x: Vec<f32> = (0..n).map(|_| rng.f32_in(-100.0, 100.0)).collect();
    let y: Vec<f32> = (0..n).map(|_| rng.f32_in(-100.0, 100.0)).collect();
    let a = 2.5f32;
    let bx = buffer_from(dev, &x);
    // One extra element after the end must stay untouched.
    let mut y_ext = y.clone();
    y_ext.push(123.0);
    let by = buffer_from(dev, &y_ext);
    let set = storage_set(&[&bx, &by]);
    let pc = [a.to_le_bytes(), (n as u32).to_le_bytes()].concat();
    dev.dispatch(&p, &[&set], &pc, [(n as u32).div_ceil(256), 1, 1])
        .unwrap();
    let got: Vec<f32> = read_all(&by);
    let mut worst = Worst::new("saxpy");
    for i in 0..n {
        // a*x + y with one or two roundings (contraction allowed): within 1 ulp of the exact.
        let exact = a as f64 * x[i] as f64 + y[i] as f64;
        let bound = ulp_f32(a as f64 * x[i] as f64) + ulp_f32(exact);
        worst.check((got[i] as f64 - exact).abs(), bound, || {
            format!("i={i} got {}", got[i])
        });
    }
    worst.assert_ok();
    assert_eq!(got[n], 123.0);
}

#[test]
fn saxpy_over_a_two_dimensional_grid_of_workgroups_covers_every_element_once() {
    let dev = device();
    let p = pipeline(dev, "saxpy", &[]);
    let n = 300_000u32;
    let rows = n.div_ceil(256).div_ceil(100); // 100 workgroups per row
    let x: Vec<f32> = (0..n).map(|i| (i % 1000) as f32).collect();
    let (bx, by) = (
        buffer_from(dev, &x),
        buffer_zeroed::<f32>(dev, n as usize + 1),
    );
    by.write_slice(4 * u64::from(n), &[-7.0f32]).unwrap();
    let pc = [1.0f32.to_le_bytes(), n.to_le_bytes()].concat();
    dev.dispatch(&p, &[&storage_set(&[&bx, &by])], &pc, [100, rows, 1])
        .unwrap();
    let got: Vec<f32> = read_all(&by);
    assert_eq!(
        got[..n as usize],
        x[..],
        "y = 1 * x + 0 exactly once per element"
    );
    assert_eq!(got[n as usize], -7.0, "past the end is untouched");
}

fn reduce_with_workgroup(wg: u32) {
    let dev = device();
    let wg_s = wg.to_string();
    let p = pipeline(dev, "reduce", &[("WG", &wg_s)]);
    assert_eq!(p.workgroup_size(), [wg, 1, 1]);
    let groups = 37u32;
    let mut rng = Rng::new(u64::from(wg));
    let values: Vec<u32> = (0..groups * wg).map(|_| rng.next_u32() >> 8).collect();
    let input = buffer_from(dev, &values);
    let out = buffer_zeroed::<u32>(dev, groups as usize);
    dev.dispatch(&p, &[&storage_set(&[&input, &out])], &[], [groups, 1, 1])
        .unwrap();
    let expected: Vec<u32> = values
        .chunks(wg as usize)
        .map(|c| c.iter().fold(0u32, |s, &v| s.wrapping_add(v)))
        .collect();
    assert_eq!(read_all::<u32>(&out)[..groups as usize], expected[..]);
}

#[test]
fn shared_memory_reduction_with_barriers_workgroup_256() {
    reduce_with_workgroup(256);
}

#[test]
fn shared_memory_reduction_with_barriers_workgroup_1024() {
    reduce_with_workgroup(1024);
}

fn check_matmul(name: &str, n: usize) {
    let dev = device();
    let p = pipeline(dev, name, &[]);
    let mut rng = Rng::new(n as u64);
    let a: Vec<f32> = (0..n * n).map(|_| rng.f32_in(-1.0, 1.0)).collect();
    let b: Vec<f32> = (0..n * n).map(|_| rng.f32_in(-1.0, 1.0)).collect();
    let (ba, bb) = (buffer_from(dev, &a), buffer_from(dev, &b));
    let bc = buffer_zeroed::<f32>(dev, n * n);
    let groups = (n as u32).div_ceil(16);
    dev.dispatch(
        &p,
        &[&storage_set(&[&ba, &bb, &bc])],
        &words(&[n as u32]),
        [groups, groups, 1],
    )
    .unwrap();
    let got: Vec<f32> = read_all(&bc);
    let mut worst = Worst::new(if name == "matmul_naive" {
        "naive matmul"
    } else {
        "tiled matmul"
    });
    for r in 0..n {
        for c in 0..n {
            let mut exact = 0f64;
            let mut magnitude = 0f64;
            for k in 0..n {
                let t = a[r * n + k] as f64 * b[k * n + c] as f64;
                exact += t;
                magnitude += t.abs();
            }
            // A float sum of n products in any order: |error| ≤ n·2^-23·Σ|a·b| (loose
            // classical bound, also covering fused multiply-adds).
            let bound = n as f64 * 2f64.powi(-23) * magnitude + 1e-30;
            let g = got[r * n + c];
            worst.check((g as f64 - exact).abs(), bound, || {
                format!("C[{r}][{c}] = {g}, exact {exact}")
            });
        }
    }
    worst.assert_ok();
}

#[test]
fn naive_matmul_matches_cpu() {
    check_matmul("matmul_naive", 80);
}

#[test]
fn tiled_matmul_with_shared_memory_matches_cpu_including_partial_tiles() {
    check_matmul("matmul_tiled", 72); // 72 = 4.5 tiles: edge tiles are partly outside
}

#[test]
fn workgroup_prefix_sum_with_barriers_matches_cpu() {
    let dev = device();
    let p = pipeline(dev, "prefix_sum", &[]);
    let groups = 20usize;
    let mut rng = Rng::new(7);
    let values: Vec<u32> = (0..groups * 256).map(|_| rng.below(1000)).collect();
    let input = buffer_from(dev, &values);
    let out = buffer_zeroed::<u32>(dev, values.len());
    dev.dispatch(
        &p,
        &[&storage_set(&[&input, &out])],
        &[],
        [groups as u32, 1, 1],
    )
    .unwrap();
    let mut expected = Vec::with_capacity(values.len());
    for block in values.chunks(256) {
        let mut s = 0u32;
        for &v in block {
            s += v;
            expected.push(s);
        }
    }
    assert_eq!(read_all::<u32>(&out), expected);
}

#[test]
fn histogram_with_storage_and_shared_atomics_counts_every_value() {
    let dev = device();
    let p = pipeline(dev, "histogram", &[]);
    let n = 100_000usize; // not a multiple of the workgroup size
    let mut rng = Rng::new(99);
    // Skewed values so that many invocations of one workgroup hit the same bin.
    let values: Vec<u32> = (0..n)
        .map(|_| {
            if rng.below(4) == 0 {
                5
            } else {
                rng.below(1 << 20)
            }
        })
        .collect();
    let input = buffer_from(dev, &values);
    let direct = buffer_zeroed::<u32>(dev, 64);
    let merged = buffer_zeroed::<u32>(dev, 64);
    let extrema = buffer_from(dev, &[0u32, i32::MAX as u32, 0, 0]);
    let set = storage_set(&[&input, &direct, &merged, &extrema]);
    dev.dispatch(
        &p,
        &[&set],
        &words(&[n as u32]),
        [(n as u32).div_ceil(128), 1, 1],
    )
    .unwrap();
    let mut expected = vec![0u32; 64];
    for &v in &values {
        expected[(v % 64) as usize] += 1;
    }
    assert_eq!(read_all::<u32>(&direct), expected, "storage-buffer atomics");
    assert_eq!(
        read_all::<u32>(&merged),
        expected,
        "shared-memory atomics merged"
    );
    let ext: Vec<u32> = read_all(&extrema);
    assert_eq!(ext[0], *values.iter().max().unwrap(), "atomicMax");
    assert_eq!(ext[1], *values.iter().min().unwrap(), "atomicMin");
    assert_eq!(ext[2], 7, "atomicExchange");
    // Exactly one invocation's compare-exchange won: some i + 1 in 1..=n.
    assert!(
        (1..=n as u32).contains(&ext[3]),
        "atomicCompSwap stored {}",
        ext[3]
    );
}

#[test]
fn mandelbrot_loop_with_breaks_matches_cpu_exactly() {
    let dev = device();
    let p = pipeline(dev, "mandelbrot", &[]);
    let (w, h, max_iter) = (203u32, 150u32, 200u32);
    let (x0, y0, step) = (-2.0f32, -1.125f32, 0.015f32);
    let out = buffer_zeroed::<u32>(dev, (w * h) as usize);
    let mut pc = words(&[w, h, max_iter]);
    for f in [x0, y0, step] {
        pc.extend_from_slice(&f.to_le_bytes());
    }
    dev.dispatch(
        &p,
        &[&storage_set(&[&out])],
        &pc,
        [w.div_ceil(8), h.div_ceil(8), 1],
    )
    .unwrap();
    let got: Vec<u32> = read_all(&out);
    let mut mismatches = Vec::new();
    let mut distinct = std::collections::HashSet::new();
    for py in 0..h {
        for px in 0..w {
            let cx = x0 + px as f32 * step;
            let cy = y0 + py as f32 * step;
            let (mut x, mut y, mut i) = (0f32, 0f32, 0u32);
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
            distinct.insert(i);
            let g = got[(py * w + px) as usize];
            if g != i {
                mismatches.push((px, py, g, i));
            }
        }
    }
    assert!(
        distinct.len() > 20,
        "the image should have many escape times"
    );
    assert!(
        mismatches.is_empty(),
        "{} pixels differ, first: {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(5)]
    );
}
