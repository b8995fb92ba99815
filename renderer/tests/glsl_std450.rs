//! GLSL.std.450 scalar float functions (and division) checked against f64 references (Rust
//! std / libm) with the precision the Vulkan spec requires ("Precision and Operation of SPIR-V
//! Instructions", full-precision 32-bit floats). Where the spec says a function's precision is
//! "inherited" from a formula, the bound here is derived from the error of each operation of
//! that formula, and the comment says how.
//!
//! Inputs avoid denormals (Vulkan lets implementations flush them) and the ranges where the
//! spec leaves results undefined. Each function sees thousands of inputs, edge values first.
#![allow(clippy::unwrap_used)]

mod common;

use std::f64::consts::{LN_2, PI};

use common::math::*;
use common::*;

const GENERAL_EDGES: [f32; 24] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.5,
    1.5,
    -1.5,
    2.5,
    -2.5,
    std::f32::consts::PI,
    -std::f32::consts::PI,
    1e-30,
    -1e-30,
    1e30,
    -1e30,
    8_388_608.0,
    8_388_607.5,
    -8_388_607.5,
    16_777_216.0,
    f32::MAX,
    f32::MIN_POSITIVE,
    0.49999997,
    -0.49999997,
];

fn general_inputs(seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut edges = GENERAL_EDGES.to_vec();
    edges.extend([f32::INFINITY, f32::NEG_INFINITY]);
    inputs(&edges, N, || match rng.below(3) {
        0 => rng.f32_log(-30, 30),
        // Halves and quarters around zero: rounding ties and exact integers.
        1 => (rng.below(200) as f32 - 100.0) / 4.0,
        _ => rng.f32_in(-10.0, 10.0),
    })
}

fn exact(reference: f64) -> Option<(f64, f64)> {
    Some((reference, 0.0))
}

#[test]
fn abs_sign_floor_ceil_trunc_round_even_are_exact() {
    let x = general_inputs(1);
    unary("abs", 0, &x, |a| exact((a as f64).abs()));
    unary("sign", 1, &x, |a| {
        exact(if a > 0.0 {
            1.0
        } else if a < 0.0 {
            -1.0
        } else {
            0.0
        })
    });
    unary("floor", 2, &x, |a| exact((a as f64).floor()));
    unary("ceil", 3, &x, |a| exact((a as f64).ceil()));
    unary("trunc", 5, &x, |a| exact((a as f64).trunc()));
    unary("roundEven", 19, &x, |a| exact(a.round_ties_even() as f64));
}

#[test]
fn round_is_exact_with_ties_in_either_direction() {
    let x = general_inputs(2);
    let zeros = vec![0f32; x.len()];
    let got = run(4, &x, &zeros, &zeros);
    for (a, g) in x.iter().zip(&got) {
        let a = *a as f64;
        // GLSL: "a fractional part of 0.5 will round in a direction chosen by the implementation".
        let ok = if (a - a.trunc()).abs() == 0.5 {
            *g as f64 == a.floor() || *g as f64 == a.ceil()
        } else {
            *g as f64 == a.round()
        };
        assert!(ok, "round({a}) = {g}");
    }
}

#[test]
fn fract_is_within_one_rounding_of_x_minus_floor_x() {
    let x: Vec<f32> = general_inputs(3)
        .into_iter()
        .filter(|v| v.is_finite())
        .collect();
    let x = inputs(&x, x.len(), || 0.25);
    // Inherited from x - floor(x): the subtraction rounds once (≤ 1/2 ulp; 1 ulp allowed for
    // implementations that keep the result below 1.0).
    unary("fract", 6, &x, |a| {
        let r = a as f64 - (a as f64).floor();
        Some((r, ulp_f32(r)))
    });
}

#[test]
fn min_max_clamp_step_are_exact() {
    let mut rng = Rng::new(4);
    let x = general_inputs(5);
    let y = inputs(&GENERAL_EDGES[4..], x.len(), || rng.f32_in(-20.0, 20.0));
    let y = &y[..x.len()];
    check_unary_like("min", 20, &x, y, y, |a, b, _| {
        exact((a as f64).min(b as f64))
    });
    check_unary_like("max", 21, &x, y, y, |a, b, _| {
        exact((a as f64).max(b as f64))
    });
    check_unary_like("step", 24, &x, y, y, |e, v, _| {
        exact(if v < e { 0.0 } else { 1.0 })
    });
    // clamp(x, lo, hi) with lo ≤ hi (the result is undefined otherwise).
    let lo: Vec<f32> = y.iter().map(|v| v.min(-v)).collect();
    let hi: Vec<f32> = y.iter().map(|v| v.max(-v)).collect();
    check_unary_like("clamp", 22, &x, &lo, &hi, |a, l, h| {
        exact((a as f64).max(l as f64).min(h as f64))
    });
}

#[test]
fn sqrt_within_inherited_bound_and_inversesqrt_within_2_ulp() {
    let mut rng = Rng::new(6);
    let edges = [
        1.0,
        4.0,
        2.0,
        0.25,
        f32::MIN_POSITIVE,
        f32::MAX,
        1e-30,
        1e30,
        0.0,
        16_777_215.0,
    ];
    let x = inputs(&edges, N, || rng.f32_log(-125, 127).abs());
    // sqrt is inherited from 1.0 / inversesqrt(x): 2 ulp, then a 2.5 ulp division.
    unary("sqrt", 7, &x, |a| {
        let r = (a as f64).sqrt();
        Some((r, 4.5 * EPS * r))
    });
    let x: Vec<f32> = x
        .into_iter()
        .map(|v| if v == 0.0 { 1.0 } else { v })
        .collect();
    unary("inversesqrt", 8, &x, |a| {
        let r = 1.0 / (a as f64).sqrt();
        Some((r, 2.0 * ulp_f32(r)))
    });
}

#[test]
fn exp_and_exp2_within_3_plus_2_abs_x_ulp() {
    let mut rng = Rng::new(7);
    let x = inputs(
        &[0.0, 1.0, -1.0, 10.0, -10.0, 88.0, -87.0, 1e-20, 0.5],
        N,
        || rng.f32_in(-87.0, 88.0),
    );
    unary("exp", 9, &x, |a| {
        let r = (a as f64).exp();
        Some((r, (3.0 + 2.0 * (a as f64).abs()) * ulp_f32(r)))
    });
    let x = inputs(
        &[0.0, 1.0, -1.0, 10.0, 127.5, -126.0, 1e-20, 0.5, -0.5],
        N,
        || rng.f32_in(-126.0, 127.9),
    );
    unary("exp2", 10, &x, |a| {
        let r = (a as f64).exp2();
        Some((r, (3.0 + 2.0 * (a as f64).abs()) * ulp_f32(r)))
    });
}

/// log/log2 bound: 3 ulp outside [0.5, 2.0], absolute 2^-21 inside.
fn log_bound(a: f32, r: f64) -> f64 {
    if (0.5..=2.0).contains(&a) {
        2f64.powi(-21)
    } else {
        3.0 * ulp_f32(r)
    }
}

#[test]
fn log_and_log2_within_3_ulp_outside_half_to_two_and_2_pow_minus_21_inside() {
    let mut rng = Rng::new(8);
    let edges = [
        1.0,
        2.0,
        0.5,
        0.75,
        1.5,
        f32::MIN_POSITIVE,
        f32::MAX,
        1e-30,
        1e30,
        0.999_999_94,
        1.000_000_1,
    ];
    let x = inputs(&edges, N, || {
        if rng.below(2) == 0 {
            rng.f32_in(0.5, 2.0)
        } else {
            rng.f32_log(-125, 127).abs()
        }
    });
    unary("log", 11, &x, |a| {
        let r = (a as f64).ln();
        Some((r, log_bound(a, r)))
    });
    unary("log2", 12, &x, |a| {
        let r = (a as f64).log2();
        Some((r, log_bound(a, r)))
    });
}

fn angle_inputs(seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let pi = PI as f32;
    let edges = [
        0.0,
        -0.0,
        pi,
        -pi,
        pi / 2.0,
        -pi / 2.0,
        pi / 4.0,
        1e-20,
        -1e-20,
        1.0,
        3.0,
        -3.0,
    ];
    inputs(&edges, N, || rng.f32_in(-pi, pi))
}

#[test]
fn sin_and_cos_within_2_pow_minus_11_absolute_on_minus_pi_to_pi() {
    let x = angle_inputs(9);
    let bound = 2f64.powi(-11);
    unary("sin", 13, &x, |a| Some(((a as f64).sin(), bound)));
    unary("cos", 14, &x, |a| Some(((a as f64).cos(), bound)));
}

#[test]
fn tan_within_bound_inherited_from_sin_over_cos() {
    let x = angle_inputs(10);
    let e = 2f64.powi(-11);
    unary("tan", 15, &x, |a| {
        let (s, c) = ((a as f64).sin(), (a as f64).cos());
        let t = s / c;
        // sin and cos each off by ≤ 2^-11, then a 2.5 ulp division:
        // |s'/c' − s/c| ≤ (|ds| + |t|·|dc|) / (|c| − |dc|).
        if c.abs() <= 2.0 * e {
            return None;
        }
        Some((
            t,
            e * (1.0 + t.abs()) / (c.abs() - e) + 2.5 * EPS * (t.abs() + 1.0),
        ))
    });
}

#[test]
fn asin_acos_within_bound_inherited_from_atan2_and_atan_within_4096_ulp() {
    let mut rng = Rng::new(11);
    let edges = [
        0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        0.999_999_94,
        -0.999_999_94,
        1e-20,
        0.707_106_77,
    ];
    let x = inputs(&edges, N, || rng.f32_in(-1.0, 1.0));
    // asin(x) = atan2(x, sqrt(1 − x²)), acos(x) = atan2(sqrt(1 − x²), x): 4096 ulp of atan2 plus
    // the error of the computed sqrt(1 − x²) (rounding of x·x and of 1 − x² ≤ 2^-24 absolute,
    // sqrt 4.5 ulp) carried through ∂atan2 = |x| / (x² + q²) = |x|.
    let carried = |a: f32| {
        let a = a as f64;
        let q = (1.0 - a * a).max(0.0).sqrt();
        let e1 = 2f64.powi(-24);
        let dq = if q > 0.0 {
            (e1 / (2.0 * q)).min(e1.sqrt())
        } else {
            e1.sqrt()
        } + 4.5 * EPS * q;
        a.abs() * dq
    };
    unary("asin", 16, &x, |a| {
        let r = (a as f64).asin();
        Some((r, 4096.0 * ulp_f32(r) + carried(a)))
    });
    unary("acos", 17, &x, |a| {
        let r = (a as f64).acos();
        Some((r, 4096.0 * ulp_f32(r) + carried(a)))
    });
    let x = general_inputs(12);
    unary("atan", 18, &x, |a| {
        let r = (a as f64).atan();
        Some((r, 4096.0 * ulp_f32(r)))
    });
}

#[test]
fn atan2_within_4096_ulp_in_all_quadrants() {
    let mut rng = Rng::new(13);
    let y = inputs(&[1.0, -1.0, 0.0, 1.0, 1e-10, -5.0], N, || {
        if rng.below(2) == 0 {
            rng.f32_in(-10.0, 10.0)
        } else {
            rng.f32_log(-20, 20)
        }
    });
    let x = inputs(&[1.0, 1.0, 1.0, -1.0, -1.0, 0.0], N, || {
        if rng.below(2) == 0 {
            rng.f32_in(-10.0, 10.0)
        } else {
            rng.f32_log(-20, 20)
        }
    });
    let z = vec![0f32; y.len()];
    check_unary_like("atan2", 28, &y, &x, &z, |b, a, _| {
        if a == 0.0 && b == 0.0 {
            return None; // undefined in GLSL
        }
        let r = (b as f64).atan2(a as f64);
        Some((r, 4096.0 * ulp_f32(r)))
    });
}

#[test]
fn pow_within_bound_inherited_from_exp2_of_y_log2_x() {
    let mut rng = Rng::new(14);
    let x = inputs(&[1.0, 2.0, 0.5, 10.0, 3.0, 1e-3], N, || {
        if rng.below(2) == 0 {
            rng.f32_in(0.001, 20.0)
        } else {
            rng.f32_log(-20, 20).abs()
        }
    });
    let y = inputs(&[0.0, 1.0, 2.0, -1.0, 0.5, 3.0], N, || {
        rng.f32_in(-6.0, 6.0)
    });
    let z = vec![0f32; x.len()];
    check_unary_like("pow", 27, &x, &y, &z, |a, b, _| {
        let (a, b) = (a as f64, b as f64);
        let l = a.log2();
        let t = b * l;
        if t.abs() > 120.0 {
            return None;
        }
        let r = a.powf(b);
        // log2 error (3 ulp or 2^-21), scaled by |y|, plus the rounding of y·log2(x); then
        // exp2's 3 + 2|t| ulp and the carried error r·ln2·dt.
        let dl = if (0.5..=2.0).contains(&a) {
            2f64.powi(-21)
        } else {
            3.0 * ulp_f32(l)
        };
        let dt = b.abs() * dl + 0.5 * ulp_f32(t);
        Some((r, (3.0 + 2.0 * t.abs()) * ulp_f32(r) + r * LN_2 * dt * 1.01))
    });
}

#[test]
fn division_within_2_5_ulp_for_normal_denominators() {
    let mut rng = Rng::new(15);
    let x = inputs(&[1.0, -1.0, 3.0, 1e30, 7.0, 0.1], N, || {
        rng.f32_log(-60, 60)
    });
    let y = inputs(&[3.0, 3.0, 1.0, 1e-6, -7.0, 10.0], N, || {
        rng.f32_log(-60, 60)
    });
    let z = vec![0f32; x.len()];
    check_unary_like("division", 29, &x, &y, &z, |a, b, _| {
        let r = a as f64 / b as f64;
        if r.abs() < f32::MIN_POSITIVE as f64 || r.abs() > f32::MAX as f64 {
            return None;
        }
        Some((r, 2.5 * ulp_f32(r)))
    });
}

#[test]
fn fma_mix_smoothstep_within_bounds_inherited_from_their_formulas() {
    let mut rng = Rng::new(16);
    let x = inputs(&[1.0, 0.0, -1.0, 1e10], N, || rng.f32_in(-100.0, 100.0));
    let y = inputs(&[1.0, 5.0, 2.0, 1e-10], N, || rng.f32_in(-100.0, 100.0));
    let z = inputs(&[1.0, 0.5, -2.0, 3.0], N, || rng.f32_in(-100.0, 100.0));
    // fma: inherited from a multiply then an add: ≤ 1/2 ulp of the product + 1 ulp of the sum.
    check_unary_like("fma", 26, &x, &y, &z, |a, b, c| {
        let (p, r) = (a as f64 * b as f64, a as f64 * b as f64 + c as f64);
        Some((r, 0.5 * ulp_f32(p) + ulp_f32(r)))
    });
    // mix: inherited from x·(1 − a) + y·a; each of the four operations rounds once. The bound
    // also covers the common x + (y − x)·a lowering (its terms are bounded by the same
    // magnitudes).
    let a: Vec<f32> = z.iter().map(|v| (v / 100.0).abs()).collect();
    check_unary_like("mix", 23, &x, &y, &a, |p, q, t| {
        let (p, q, t) = (p as f64, q as f64, t as f64);
        let r = p * (1.0 - t) + q * t;
        Some((
            r,
            2.0 * EPS * (p.abs() * (1.0 - t).abs().max(1.0) + q.abs() * t.abs().max(1.0))
                + ulp_f32(r),
        ))
    });
    // smoothstep: t = clamp((x − e0) / (e1 − e0), 0, 1) with two subtractions and a 2.5 ulp
    // division (t relative error ≤ 3.5·2^-23·2), then t·t·(3 − 2t) with slope ≤ 1.5 and three
    // more roundings: ≤ 1.5·7·2^-23 + 3·2^-23 < 2^-19 absolute.
    let e0: Vec<f32> = x.iter().zip(&y).map(|(p, q)| p.min(*q)).collect();
    let e1: Vec<f32> = x
        .iter()
        .zip(&y)
        .map(|(p, q)| if p == q { p + 1.0 } else { p.max(*q) })
        .collect();
    check_unary_like("smoothstep", 25, &e0, &e1, &z, |lo, hi, v| {
        let (lo, hi, v) = (lo as f64, hi as f64, v as f64);
        let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
        Some((t * t * (3.0 - 2.0 * t), 2f64.powi(-19)))
    });
}
