//! GLSL.std.450 geometric functions (length, distance, dot, cross, normalize, reflect) against
//! f64 references, with error bounds inherited from the operations of their defining formulas
//! (Vulkan spec, "Precision and Operation of SPIR-V Instructions").
#![allow(clippy::unwrap_used)]

mod common;

use common::math::*;
use common::*;

fn vec_inputs(seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let mut comp = move || match rng.below(4) {
        0 => rng.f32_log(-10, 10),
        1 => 0.0,
        _ => rng.f32_in(-1000.0, 1000.0),
    };
    let x = inputs(&[1.0, 0.0, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0], N, &mut comp);
    let y = inputs(&[0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0], N, &mut comp);
    (x, y)
}

fn run_vec(op: u32, x: &[f32], y: &[f32]) -> Vec<f32> {
    run(op, x, y, &vec![0f32; x.len()])
}

#[test]
fn length_distance_dot_within_inherited_bounds() {
    let (x, y) = vec_inputs(17);
    let got = run_vec(30, &x, &y);
    let mut worst = Worst::new("length/distance/dot");
    for i in 0..x.len() / 4 {
        let a: Vec<f64> = x[4 * i..4 * i + 4].iter().map(|v| *v as f64).collect();
        let b: Vec<f64> = y[4 * i..4 * i + 4].iter().map(|v| *v as f64).collect();
        let g = &got[4 * i..4 * i + 4];
        // length: sqrt(dot(x, x)); the dot of n squares is within n·2^-23 relative, halved by
        // the square root, then sqrt's own 4.5 ulp.
        let len4 = a.iter().map(|v| v * v).sum::<f64>().sqrt();
        worst.check((g[0] as f64 - len4).abs(), (2.0 + 4.5) * EPS * len4, || {
            format!("length({a:?}) = {}", g[0])
        });
        let len2 = (a[0] * a[0] + a[1] * a[1]).sqrt();
        worst.check((g[3] as f64 - len2).abs(), (1.0 + 4.5) * EPS * len2, || {
            format!("length({:?}) = {}", &a[..2], g[3])
        });
        // distance: length(a − b); each difference rounds once (2^-24 relative).
        let d: Vec<f64> = (0..3).map(|k| a[k] - b[k]).collect();
        let dist = d.iter().map(|v| v * v).sum::<f64>().sqrt();
        worst.check(
            (g[1] as f64 - dist).abs(),
            (0.5 + 1.5 + 4.5) * EPS * dist,
            || format!("distance({a:?}, {b:?}) = {}", g[1]),
        );
        // dot: n products and n − 1 sums, ≤ n·2^-23·Σ|aᵢbᵢ|.
        let dot: f64 = (0..4).map(|k| a[k] * b[k]).sum();
        let mag: f64 = (0..4).map(|k| (a[k] * b[k]).abs()).sum();
        worst.check((g[2] as f64 - dot).abs(), 4.0 * EPS * mag, || {
            format!("dot({a:?}, {b:?}) = {}", g[2])
        });
    }
    worst.assert_ok();
}

#[test]
fn cross_normalize_reflect_within_inherited_bounds() {
    let (x, y) = vec_inputs(18);
    let mut worst = Worst::new("cross/normalize/reflect");
    let got = run_vec(31, &x, &y);
    for i in 0..x.len() / 4 {
        let a: Vec<f64> = x[4 * i..4 * i + 3].iter().map(|v| *v as f64).collect();
        let b: Vec<f64> = y[4 * i..4 * i + 3].iter().map(|v| *v as f64).collect();
        for k in 0..3 {
            let (p, q) = ((k + 1) % 3, (k + 2) % 3);
            let (t1, t2) = (a[p] * b[q], a[q] * b[p]);
            // Two products and a difference: ≤ 2^-23·(|t1| + |t2|).
            let g = got[4 * i + k] as f64;
            worst.check((g - (t1 - t2)).abs(), EPS * (t1.abs() + t2.abs()), || {
                format!("cross({a:?}, {b:?})[{k}] = {g}")
            });
        }
    }
    let got = run_vec(32, &x, &y);
    for i in 0..x.len() / 4 {
        let a: Vec<f64> = x[4 * i..4 * i + 3].iter().map(|v| *v as f64).collect();
        let len = a.iter().map(|v| v * v).sum::<f64>().sqrt();
        if len == 0.0 {
            continue; // normalize(0) is undefined
        }
        for k in 0..3 {
            // Inherited from x · inversesqrt(dot(x, x)): dot (3 terms, halved) + 2 ulp + one
            // product: ≤ 4·2^-23 relative per component.
            let r = a[k] / len;
            let g = got[4 * i + k] as f64;
            worst.check((g - r).abs(), 4.0 * EPS * r.abs(), || {
                format!("normalize({a:?})[{k}] = {g}")
            });
        }
    }
    // reflect(I, N) = I − 2·dot(N, I)·N with N of unit length (rounded to f32).
    let n: Vec<f32> = y
        .chunks(4)
        .flat_map(|c| {
            let l = ((c[0] as f64).powi(2) + (c[1] as f64).powi(2) + (c[2] as f64).powi(2)).sqrt();
            let l = if l == 0.0 { 1.0 } else { l };
            [
                (c[0] as f64 / l) as f32,
                (c[1] as f64 / l) as f32,
                (c[2] as f64 / l) as f32,
                0.0,
            ]
        })
        .collect();
    let got = run_vec(33, &x, &n);
    for i in 0..x.len() / 4 {
        let v: Vec<f64> = x[4 * i..4 * i + 3].iter().map(|v| *v as f64).collect();
        let m: Vec<f64> = n[4 * i..4 * i + 3].iter().map(|v| *v as f64).collect();
        let d: f64 = (0..3).map(|k| m[k] * v[k]).sum();
        let dmag: f64 = (0..3).map(|k| (m[k] * v[k]).abs()).sum();
        for k in 0..3 {
            let r = v[k] - 2.0 * d * m[k];
            // dot error (3·2^-23·Σ|nᵢIᵢ|) scaled by 2|N_k|, the product's and the subtraction's
            // roundings.
            let allowed = 2.0 * m[k].abs() * 3.0 * EPS * dmag
                + EPS * (2.0 * (d * m[k]).abs() + r.abs())
                + 1e-30;
            let g = got[4 * i + k] as f64;
            worst.check((g - r).abs(), allowed, || {
                format!("reflect({v:?}, {m:?})[{k}] = {g}")
            });
        }
    }
    worst.assert_ok();
}
