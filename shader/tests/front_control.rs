//! Control flow: every shader here runs in the reference interpreter, plain and after
//! `spirv-opt -O`, against the same computation written in Rust.

// In tests a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;

/// Runs a shader with `in` = `input` (uint[]) at binding 0 and `out` (uint[n]) at binding 1,
/// one invocation per element, and returns `out`.
fn run_map(src_body: &str, input: &[u32]) -> Vec<Vec<u32>> {
    let src = format!(
        r#"#version 450
layout(local_size_x = 8) in;
layout(set = 0, binding = 0) readonly buffer In {{ uint data_in[]; }};
layout(set = 0, binding = 1) buffer Out {{ uint data_out[]; }};
{src_body}
void main() {{
    uint i = gl_GlobalInvocationID.x;
    data_out[i] = f(data_in[i]);
}}
"#
    );
    let groups = input.len().div_ceil(8) as u32;
    variants(&src)
        .iter()
        .map(|m| {
            let out = run_with(
                m,
                [groups, 1, 1],
                &[(0, 0, bytes_u32(input)), (0, 1, vec![0; input.len() * 4])],
                &[],
            );
            u32s(&out[slot(m, 0, 1)])
        })
        .collect()
}

fn inputs() -> Vec<u32> {
    let mut r = Rng(0x1234_5678);
    let mut v: Vec<u32> = (0..40).map(|_| r.below(50) as u32).collect();
    v.extend([0, 1, 2, 3, 7, 8, 13, 100, 1000, 0xffff_ffff]);
    v
}

fn check(src_body: &str, reference: impl Fn(u32) -> u32) {
    let input = inputs();
    for (variant, got) in run_map(src_body, &input).into_iter().enumerate() {
        for (i, x) in input.iter().enumerate() {
            assert_eq!(
                got[i],
                reference(*x),
                "variant {variant} (0 = plain, then PASS_SETS), input {x}"
            );
        }
    }
}

#[test]
fn for_loop_with_break_and_continue_matches_rust() {
    check(
        r#"uint f(uint x) {
            uint acc = 0;
            for (uint k = 0; k < 20; k++) {
                if (k == x) break;
                if ((k & 1u) == 1u) continue;
                acc += k * 3u;
            }
            return acc;
        }"#,
        |x| {
            (0..20u32)
                .take_while(|k| *k != x)
                .filter(|k| k & 1 == 0)
                .map(|k| k * 3)
                .sum()
        },
    );
}

#[test]
fn nested_loops_with_labelled_exits_match_rust() {
    check(
        r#"uint f(uint x) {
            uint acc = 0;
            for (uint i = 0; i < 6; i++) {
                for (uint j = 0; j < 6; j++) {
                    if (j > i) break;
                    if (i * j == x) { acc += 100u; continue; }
                    acc += i + j;
                }
                if (acc > 300u) break;
            }
            return acc;
        }"#,
        |x| {
            let mut acc = 0u32;
            'outer: for i in 0..6u32 {
                for j in 0..6u32 {
                    if j > i {
                        break;
                    }
                    if i * j == x {
                        acc += 100;
                        continue;
                    }
                    acc += i + j;
                }
                if acc > 300 {
                    break 'outer;
                }
            }
            acc
        },
    );
}

#[test]
fn while_and_do_while_loops_match_rust() {
    check(
        r#"uint f(uint x) {
            uint steps = 0;
            uint n = x + 1u;
            while (n != 1u && steps < 200u) {
                n = (n % 2u == 0u) ? n / 2u : 3u * n + 1u;
                steps++;
            }
            uint d = 0;
            do { d += 2u; } while (d < x % 64u);
            return steps * 1000u + d;
        }"#,
        |x| {
            let mut steps = 0u32;
            let mut n = x.wrapping_add(1);
            while n != 1 && steps < 200 {
                n = if n.is_multiple_of(2) {
                    n / 2
                } else {
                    n.wrapping_mul(3).wrapping_add(1)
                };
                steps += 1;
            }
            let mut d = 0u32;
            loop {
                d += 2;
                if d >= x % 64 {
                    break;
                }
            }
            steps.wrapping_mul(1000).wrapping_add(d)
        },
    );
}

#[test]
fn switch_with_fallthrough_and_default_matches_rust() {
    check(
        r#"uint f(uint x) {
            uint r = 1;
            switch (x % 8u) {
                case 0: r += 10;
                case 1: r += 20; break;
                case 2:
                case 3: r *= 7; break;
                case 5: r = 99;
                default: r += 1000;
            }
            return r;
        }"#,
        |x| {
            let mut r = 1u32;
            match x % 8 {
                0 => r += 30,
                1 => r += 20,
                2 | 3 => r *= 7,
                5 => r = 99 + 1000,
                _ => r += 1000,
            }
            r
        },
    );
}

#[test]
fn switch_inside_loop_with_break_and_continue_matches_rust() {
    check(
        r#"uint f(uint x) {
            uint acc = 0;
            for (uint i = 0; i < 10u; i++) {
                switch ((x + i) % 4u) {
                    case 0: acc += 1u; break;
                    case 1: acc += 10u; continue;
                    case 2: if (i > 5u) { acc += 1000u; } break;
                    default: acc += 100u;
                }
                acc += 5u;
            }
            return acc;
        }"#,
        |x| {
            let mut acc = 0u32;
            for i in 0..10u32 {
                match x.wrapping_add(i) % 4 {
                    0 => acc += 1,
                    1 => {
                        acc += 10;
                        continue;
                    }
                    2 => {
                        if i > 5 {
                            acc += 1000
                        }
                    }
                    _ => acc += 100,
                }
                acc += 5;
            }
            acc
        },
    );
}

#[test]
fn early_returns_from_inlined_functions_give_the_right_values() {
    check(
        r#"uint classify(uint v) {
            if (v == 0u) return 7u;
            for (uint k = 2; k < 10u; k++) {
                if (v % k == 0u) return k;
            }
            if (v > 40u) { return 1000u; } else { return v * 2u; }
        }
        uint f(uint x) { return classify(x) + classify(x + 1u) * 3u; }"#,
        |x| {
            let classify = |v: u32| -> u32 {
                if v == 0 {
                    return 7;
                }
                for k in 2..10 {
                    if v.is_multiple_of(k) {
                        return k;
                    }
                }
                if v > 40 {
                    1000
                } else {
                    v.wrapping_mul(2)
                }
            };
            classify(x).wrapping_add(classify(x.wrapping_add(1)).wrapping_mul(3))
        },
    );
}

#[test]
fn inout_parameters_write_back_through_pointers() {
    check(
        r#"void bump(inout uint a, inout uint b, uint k) { a += k; b = a * 2u; }
        uint f(uint x) { uint p = x; uint q = 0; bump(p, q, 3u); bump(q, p, 1u); return p + q * 1000u; }"#,
        |x| {
            let mut p = x;
            p = p.wrapping_add(3);
            let mut q = p.wrapping_mul(2);
            q = q.wrapping_add(1);
            p = q.wrapping_mul(2);
            p.wrapping_add(q.wrapping_mul(1000))
        },
    );
}

#[test]
fn values_flowing_out_of_loops_and_branches_are_carried() {
    // After spirv-opt these become phis and values used outside the construct that
    // defines them.
    check(
        r#"uint f(uint x) {
            uint a = 1, b = 2, c = 3;
            for (uint i = 0; i < x % 7u; i++) { uint t = a; a = b; b = c; c = t + i; }
            uint y;
            if (x > 20u) { y = a * b; } else if (x > 10u) { y = b + c; } else { y = c; }
            return y + a + b * 10u + c * 100u;
        }"#,
        |x| {
            let (mut a, mut b, mut c) = (1u32, 2u32, 3u32);
            for i in 0..x % 7 {
                let t = a;
                a = b;
                b = c;
                c = t + i;
            }
            let y = if x > 20 {
                a * b
            } else if x > 10 {
                b + c
            } else {
                c
            };
            y + a + b * 10 + c * 100
        },
    );
}

#[test]
fn short_circuit_conditions_evaluate_like_rust() {
    check(
        r#"uint g(uint v, inout uint calls) { calls++; return v; }
        uint f(uint x) {
            uint calls = 0;
            bool p = (x > 10u && g(x, calls) % 3u == 0u) || (x < 5u && g(x + 1u, calls) == 2u);
            return (p ? 1000u : 0u) + calls;
        }"#,
        |x| {
            let mut calls = 0;
            let mut g = |v: u32| {
                calls += 1;
                v
            };
            let p = (x > 10 && g(x) % 3 == 0) || (x < 5 && g(x.wrapping_add(1)) == 2);
            (if p { 1000 } else { 0 }) + calls
        },
    );
}

#[test]
fn early_return_from_main_skips_the_rest() {
    let src = r#"#version 450
layout(local_size_x = 4) in;
layout(set = 0, binding = 0) buffer Out { uint data[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    for (uint k = 0; k < 10u; k++) {
        if (k == i) { data[i] = 100u + k; return; }
    }
    data[i] = 7u;
}
"#;
    for m in both(src) {
        let out = run_with(&m, [4, 1, 1], &[(0, 0, vec![0; 64])], &[]);
        let got = u32s(&out[slot(&m, 0, 0)]);
        let want: Vec<u32> = (0..16).map(|i| if i < 10 { 100 + i } else { 7 }).collect();
        assert_eq!(got, want);
    }
}

#[test]
fn loop_with_break_lowers_to_loop_and_break() {
    use shader::ir::Stmt;
    let src = r#"#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer Out { uint data[]; };
void main() {
    uint i = 0;
    while (true) { if (data[i] == 0u) break; i++; }
    data[0] = i;
}
"#;
    for m in both(src) {
        assert_eq!(count(&m.body, &|s| matches!(s, Stmt::Loop { .. })), 1);
        let loop_label = m.body.iter().find_map(|s| match s {
            Stmt::Loop { label, .. } => Some(*label),
            _ => None,
        });
        let label = loop_label.expect("loop at top level");
        assert!(count(&m.body, &|s| *s == Stmt::Break(label)) >= 1);
    }
}
