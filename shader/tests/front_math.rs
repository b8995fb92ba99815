//! Arithmetic, GLSL.std.450 and conversions: shaders run in the reference interpreter
//! (plain and `spirv-opt -O`) and are compared with the same math done in Rust.

// In tests a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;

const N: usize = 24;

/// `a`, `b`, `c` inputs (float[N]) at bindings 0..2, `o` (float[N * K]) at binding 3.
fn run_float(body: &str, k: usize, a: &[f32], b: &[f32], c: &[f32]) -> Vec<Vec<f32>> {
    let src = format!(
        r#"#version 450
layout(local_size_x = 4) in;
layout(set = 0, binding = 0) readonly buffer A {{ float a[]; }};
layout(set = 0, binding = 1) readonly buffer B {{ float b[]; }};
layout(set = 0, binding = 2) readonly buffer C {{ float c[]; }};
layout(set = 0, binding = 3) buffer O {{ float o[]; }};
void main() {{
    uint i = gl_GlobalInvocationID.x;
    float x = a[i], y = b[i], z = c[i];
    uint base = i * {k}u;
    {body}
}}
"#
    );
    both(&src)
        .iter()
        .map(|m| {
            let bufs = [
                (0, 0, bytes_f32(a)),
                (0, 1, bytes_f32(b)),
                (0, 2, bytes_f32(c)),
                (0, 3, vec![0; a.len() * k * 4]),
            ];
            let out = run_with(m, [(a.len() / 4) as u32, 1, 1], &bufs, &[]);
            f32s(&out[slot(m, 0, 3)])
        })
        .collect()
}

fn close(got: f32, want: f32, tol: f32) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    if want.is_infinite() {
        return got == want;
    }
    (got - want).abs() <= tol * (1.0 + want.abs())
}

fn check_float(
    body: &str,
    k: usize,
    inputs: [&[f32]; 3],
    tol: f32,
    reference: impl Fn(f32, f32, f32) -> Vec<f32>,
) {
    let [a, b, c] = inputs;
    for (variant, got) in run_float(body, k, a, b, c).into_iter().enumerate() {
        for i in 0..a.len() {
            let want = reference(a[i], b[i], c[i]);
            assert_eq!(want.len(), k);
            for j in 0..k {
                let g = got[i * k + j];
                assert!(
                    close(g, want[j], tol),
                    "variant {variant}, input ({}, {}, {}), output {j}: got {g}, want {}",
                    a[i],
                    b[i],
                    c[i],
                    want[j]
                );
            }
        }
    }
}

fn floats(seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut r = Rng(seed);
    (0..N).map(|_| r.f32_in(lo, hi)).collect()
}

#[test]
fn float_arithmetic_and_rounding_match_rust() {
    let (a, b, c) = (
        floats(1, -20.0, 20.0),
        floats(2, 0.5, 9.0),
        floats(3, 0.0, 1.0),
    );
    check_float(
        r#"o[base+0] = x + y * z; o[base+1] = x / y; o[base+2] = mod(x, y); o[base+3] = fract(x);
           o[base+4] = floor(x); o[base+5] = ceil(x); o[base+6] = round(x * 0.5) ; o[base+7] = roundEven(x * 0.5);
           o[base+8] = trunc(x); o[base+9] = abs(x); o[base+10] = sign(x); o[base+11] = min(x, y);
           o[base+12] = max(x, y); o[base+13] = clamp(x, -y, y); o[base+14] = mix(x, y, z); o[base+15] = step(y, x);
           o[base+16] = smoothstep(-y, y, x); o[base+17] = fma(x, y, z); o[base+18] = -x; o[base+19] = x - y;"#,
        20,
        [&a, &b, &c],
        1e-6,
        |x, y, z| {
            let clamp = |v: f32, lo: f32, hi: f32| v.max(lo).min(hi);
            let t = clamp((x + y) / (y + y), 0.0, 1.0);
            vec![
                x + y * z,
                x / y,
                x - y * (x / y).floor(),
                x - x.floor(),
                x.floor(),
                x.ceil(),
                (x * 0.5).round(),
                (x * 0.5).round_ties_even(),
                x.trunc(),
                x.abs(),
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                },
                x.min(y),
                x.max(y),
                clamp(x, -y, y),
                x * (1.0 - z) + y * z,
                if x < y { 0.0 } else { 1.0 },
                t * t * (3.0 - 2.0 * t),
                x.mul_add(y, z),
                -x,
                x - y,
            ]
        },
    );
}

#[test]
fn transcendental_functions_match_rust_within_tolerance() {
    let (a, b, c) = (
        floats(4, -0.9, 0.9),
        floats(5, 0.5, 3.0),
        floats(6, 1.5, 4.0),
    );
    check_float(
        r#"o[base+0] = sin(x); o[base+1] = cos(x); o[base+2] = tan(x); o[base+3] = asin(x);
           o[base+4] = acos(x); o[base+5] = atan(x); o[base+6] = atan(x, y); o[base+7] = sinh(x * 4.0);
           o[base+8] = cosh(x * 4.0); o[base+9] = tanh(x * 30.0); o[base+10] = asinh(x * 9.0); o[base+11] = acosh(z);
           o[base+12] = atanh(x); o[base+13] = exp(y); o[base+14] = exp2(y); o[base+15] = log(y);
           o[base+16] = log2(y); o[base+17] = pow(y, z); o[base+18] = sqrt(y); o[base+19] = inversesqrt(y);
           o[base+20] = radians(x * 180.0); o[base+21] = degrees(x);"#,
        22,
        [&a, &b, &c],
        2e-5,
        |x, y, z| {
            vec![
                x.sin(),
                x.cos(),
                x.tan(),
                x.asin(),
                x.acos(),
                x.atan(),
                x.atan2(y),
                (x * 4.0).sinh(),
                (x * 4.0).cosh(),
                (x * 30.0).tanh(),
                (x * 9.0).asinh(),
                z.acosh(),
                x.atanh(),
                y.exp(),
                y.exp2(),
                y.ln(),
                y.log2(),
                y.powf(z),
                y.sqrt(),
                1.0 / y.sqrt(),
                (x * 180.0).to_radians(),
                x.to_degrees(),
            ]
        },
    );
}

#[test]
fn geometric_functions_match_rust() {
    let (a, b, c) = (
        floats(7, -3.0, 3.0),
        floats(8, -3.0, 3.0),
        floats(9, 0.2, 0.9),
    );
    check_float(
        r#"vec3 p = vec3(x, y, z), q = vec3(y, z - x, 1.0);
           vec3 cr = cross(p, q); vec3 n = normalize(q); vec3 r = reflect(p, n); vec3 t = refract(normalize(p), n, z);
           vec3 ff = faceforward(p, q, vec3(1.0, -1.0, 0.5));
           o[base+0] = length(p); o[base+1] = distance(p, q); o[base+2] = dot(p, q);
           o[base+3] = cr.x; o[base+4] = cr.y; o[base+5] = cr.z; o[base+6] = n.x; o[base+7] = n.y;
           o[base+8] = r.x; o[base+9] = r.z; o[base+10] = t.x; o[base+11] = t.y; o[base+12] = ff.x; o[base+13] = ff.z;
           o[base+14] = length(x); o[base+15] = normalize(y);"#,
        16,
        [&a, &b, &c],
        1e-5,
        |x, y, z| {
            let dot = |a: [f32; 3], b: [f32; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
            let scale = |a: [f32; 3], s: f32| [a[0] * s, a[1] * s, a[2] * s];
            let sub = |a: [f32; 3], b: [f32; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
            let norm = |a: [f32; 3]| scale(a, 1.0 / dot(a, a).sqrt());
            let (p, q) = ([x, y, z], [y, z - x, 1.0]);
            let cr = [
                p[1] * q[2] - p[2] * q[1],
                p[2] * q[0] - p[0] * q[2],
                p[0] * q[1] - p[1] * q[0],
            ];
            let n = norm(q);
            let r = sub(p, scale(n, 2.0 * dot(n, p)));
            let i = norm(p);
            let d = dot(n, i);
            let k = 1.0 - z * z * (1.0 - d * d);
            let t = if k < 0.0 {
                [0.0; 3]
            } else {
                sub(scale(i, z), scale(n, z * d + k.sqrt()))
            };
            let ff = if dot([1.0, -1.0, 0.5], q) < 0.0 {
                p
            } else {
                scale(p, -1.0)
            };
            vec![
                dot(p, p).sqrt(),
                dot(sub(p, q), sub(p, q)).sqrt(),
                dot(p, q),
                cr[0],
                cr[1],
                cr[2],
                n[0],
                n[1],
                r[0],
                r[2],
                t[0],
                t[1],
                ff[0],
                ff[2],
                x.abs(),
                if y > 0.0 { 1.0 } else { -1.0 },
            ]
        },
    );
}

#[test]
fn matrix_operations_match_rust() {
    let (a, b, c) = (
        floats(10, -2.0, 2.0),
        floats(11, -2.0, 2.0),
        floats(12, -2.0, 2.0),
    );
    check_float(
        r#"mat3 m = mat3(x, y, z, y * z, 1.0, x - y, 0.5, z, -x);
           mat3x2 r = mat3x2(x, y, z, 1.0, -1.0, 2.0);
           vec3 v = vec3(z, x, y);
           vec3 mv = m * v; vec3 vm = v * m; mat3 mm = m * transpose(m);
           vec2 rv = r * v; mat2x3 op = outerProduct(v, vec2(x, 2.0)); mat3 ms = m * y;
           mat3 cm = matrixCompMult(m, m);
           o[base+0] = mv.x; o[base+1] = mv.y; o[base+2] = mv.z; o[base+3] = vm.x; o[base+4] = vm.z;
           o[base+5] = mm[0][0]; o[base+6] = mm[1][2]; o[base+7] = mm[2][1]; o[base+8] = rv.x; o[base+9] = rv.y;
           o[base+10] = op[0][2]; o[base+11] = op[1][0]; o[base+12] = ms[2][0]; o[base+13] = cm[1][1];
           o[base+14] = (m * vec3(1.0))[2]; o[base+15] = transpose(r)[1][2];"#,
        16,
        [&a, &b, &c],
        1e-5,
        |x, y, z| {
            // Column-major: m[col][row].
            let m = [[x, y, z], [y * z, 1.0, x - y], [0.5, z, -x]];
            let r = [[x, y], [z, 1.0], [-1.0, 2.0]];
            let v = [z, x, y];
            let mv: Vec<f32> = (0..3)
                .map(|row| (0..3).map(|col| m[col][row] * v[col]).sum())
                .collect();
            let vm: Vec<f32> = (0..3)
                .map(|col| (0..3).map(|row| v[row] * m[col][row]).sum())
                .collect();
            // (m * mᵀ)[col][row] = Σ_k m[k][row] · m[k][col]
            let mm =
                |col: usize, row: usize| -> f32 { (0..3).map(|k| m[k][row] * m[k][col]).sum() };
            let rv: Vec<f32> = (0..2)
                .map(|row| (0..3).map(|col| r[col][row] * v[col]).sum())
                .collect();
            let op = |col: usize, row: usize| v[row] * [x, 2.0][col];
            vec![
                mv[0],
                mv[1],
                mv[2],
                vm[0],
                vm[2],
                mm(0, 0),
                mm(1, 2),
                mm(2, 1),
                rv[0],
                rv[1],
                op(0, 2),
                op(1, 0),
                m[2][0] * y,
                m[1][1] * m[1][1],
                m[0][2] + m[1][2] + m[2][2],
                r[2][1],
            ]
        },
    );
}

/// `a`, `b` inputs (uint[N]) at bindings 0, 1; `o` (uint[N * K]) at binding 2.
fn check_uint(
    body: &str,
    k: usize,
    a: &[u32],
    b: &[u32],
    reference: impl Fn(u32, u32) -> Vec<u32>,
) {
    let src = format!(
        r#"#version 450
layout(local_size_x = 4) in;
layout(set = 0, binding = 0) readonly buffer A {{ uint a[]; }};
layout(set = 0, binding = 1) readonly buffer B {{ uint b[]; }};
layout(set = 0, binding = 2) buffer O {{ uint o[]; }};
void main() {{
    uint i = gl_GlobalInvocationID.x;
    uint x = a[i], y = b[i];
    int sx = int(x), sy = int(y);
    uint base = i * {k}u;
    {body}
}}
"#
    );
    for (variant, m) in both(&src).iter().enumerate() {
        let bufs = [
            (0, 0, bytes_u32(a)),
            (0, 1, bytes_u32(b)),
            (0, 2, vec![0; a.len() * k * 4]),
        ];
        let out = run_with(m, [(a.len() / 4) as u32, 1, 1], &bufs, &[]);
        let got = u32s(&out[slot(m, 0, 2)]);
        for i in 0..a.len() {
            let want = reference(a[i], b[i]);
            assert_eq!(
                &got[i * k..(i + 1) * k],
                &want[..],
                "variant {variant}, inputs {:#x} {:#x}",
                a[i],
                b[i]
            );
        }
    }
}

fn uints(seed: u64) -> Vec<u32> {
    let mut r = Rng(seed);
    let mut v: Vec<u32> = (0..N - 8).map(|_| r.next() as u32 >> r.below(32)).collect();
    v.extend([0, 1, 31, 32, 0x8000_0000, 0xffff_ffff, 0x7fff_ffff, 5]);
    v
}

#[test]
fn integer_arithmetic_matches_rust_including_division_corner_cases() {
    let (a, b) = (uints(20), uints(21));
    check_uint(
        r#"o[base+0] = x + y; o[base+1] = x - y; o[base+2] = x * y; o[base+3] = y == 0u ? 0u : x / y;
           o[base+4] = y == 0u ? 0u : x % y; o[base+5] = uint(sy == 0 ? 0 : sx / sy); o[base+6] = uint(sy == 0 ? 0 : sx % sy);
           o[base+7] = x << (y & 31u); o[base+8] = x >> (y & 31u); o[base+9] = uint(sx >> (y & 31u));
           o[base+10] = x & y; o[base+11] = x | y; o[base+12] = x ^ y; o[base+13] = ~x;
           o[base+14] = uint(-sx); o[base+15] = uint(abs(sx)); o[base+16] = uint(sign(sx));
           o[base+17] = min(x, y); o[base+18] = uint(max(sx, sy)); o[base+19] = clamp(x, 5u, 100u);
           o[base+20] = uint(clamp(sx, -7, 9)); o[base+21] = (x < y ? 1u : 0u) + (sx < sy ? 2u : 0u) + (x == y ? 4u : 0u);"#,
        22,
        &a,
        &b,
        |x, y| {
            let (sx, sy) = (x as i32, y as i32);
            vec![
                x.wrapping_add(y),
                x.wrapping_sub(y),
                x.wrapping_mul(y),
                x.checked_div(y).unwrap_or(0),
                x.checked_rem(y).unwrap_or(0),
                if sy == 0 {
                    0
                } else {
                    sx.wrapping_div(sy) as u32
                },
                if sy == 0 {
                    0
                } else {
                    sx.wrapping_rem(sy) as u32
                },
                x << (y & 31),
                x >> (y & 31),
                (sx >> (y & 31)) as u32,
                x & y,
                x | y,
                x ^ y,
                !x,
                sx.wrapping_neg() as u32,
                sx.wrapping_abs() as u32,
                sx.signum() as u32,
                x.min(y),
                sx.max(sy) as u32,
                x.clamp(5, 100),
                sx.clamp(-7, 9) as u32,
                u32::from(x < y) + 2 * u32::from(sx < sy) + 4 * u32::from(x == y),
            ]
        },
    );
}

#[test]
fn bit_manipulation_matches_rust() {
    let (a, b) = (uints(30), uints(31));
    check_uint(
        r#"uint off = y % 32u; uint cnt = (y >> 8) % (33u - off);
           o[base+0] = bitfieldExtract(x, int(off), int(cnt));
           o[base+1] = uint(bitfieldExtract(sx, int(off), int(cnt)));
           o[base+2] = bitfieldInsert(x, y * 7u, int(off), int(cnt));
           o[base+3] = uint(bitCount(x)); o[base+4] = uint(findLSB(x)); o[base+5] = uint(findMSB(x));
           o[base+6] = uint(findMSB(sx)); o[base+7] = bitfieldReverse(x);
           uint carry, borrow, hi, lo; int shi, slo;
           o[base+8] = uaddCarry(x, y, carry); o[base+9] = carry;
           o[base+10] = usubBorrow(x, y, borrow); o[base+11] = borrow;
           umulExtended(x, y, hi, lo); o[base+12] = hi; o[base+13] = lo;
           imulExtended(sx, sy, shi, slo); o[base+14] = uint(shi); o[base+15] = uint(slo);"#,
        16,
        &a,
        &b,
        |x, y| {
            let off = y % 32;
            let cnt = (y >> 8) % (33 - off);
            let low = if cnt == 32 {
                u32::MAX
            } else {
                (1u32 << cnt) - 1
            };
            let ux = (x >> off) & low;
            let sxe = if cnt == 0 {
                0
            } else {
                ((x >> off) << (32 - cnt)) as i32 >> (32 - cnt)
            };
            let mask = low << off;
            let ins = (x & !mask) | ((y.wrapping_mul(7) << off) & mask);
            let msb = |v: u32| {
                if v == 0 {
                    u32::MAX
                } else {
                    31 - v.leading_zeros()
                }
            };
            let smsb = |v: i32| msb(if v < 0 { !v as u32 } else { v as u32 });
            let wide = u64::from(x) * u64::from(y);
            let swide = i64::from(x as i32) * i64::from(y as i32);
            vec![
                ux,
                sxe as u32,
                ins,
                x.count_ones(),
                if x == 0 { u32::MAX } else { x.trailing_zeros() },
                msb(x),
                smsb(x as i32),
                x.reverse_bits(),
                x.wrapping_add(y),
                u32::from(x.checked_add(y).is_none()),
                x.wrapping_sub(y),
                u32::from(x < y),
                (wide >> 32) as u32,
                wide as u32,
                (swide >> 32) as u32,
                swide as u32,
            ]
        },
    );
}

#[test]
fn conversions_and_bit_casts_match_rust() {
    let a: Vec<u32> = floats(40, -300.0, 300.0)
        .iter()
        .map(|f| f.to_bits())
        .collect();
    let b = uints(41);
    check_uint(
        r#"float fx = uintBitsToFloat(x);
           o[base+0] = uint(int(fx)); o[base+1] = uint(max(fx, 0.0)); o[base+2] = floatBitsToUint(float(sy));
           o[base+3] = floatBitsToUint(float(y)); o[base+4] = uint(fx > 0.0); o[base+5] = floatBitsToUint(fx * 2.0);
           o[base+6] = uint(bool(y)) + uint(fx < 1.0) * 2u; o[base+7] = uint(int(-fx));"#,
        8,
        &a,
        &b,
        |x, y| {
            let fx = f32::from_bits(x);
            vec![
                fx as i32 as u32,
                fx.max(0.0) as u32,
                (y as i32 as f32).to_bits(),
                (y as f32).to_bits(),
                u32::from(fx > 0.0),
                (fx * 2.0).to_bits(),
                u32::from(y != 0) + u32::from(fx < 1.0) * 2,
                (-fx) as i32 as u32,
            ]
        },
    );
}

#[test]
fn packing_functions_match_their_definitions() {
    let a: Vec<u32> = floats(50, -1.5, 1.5).iter().map(|f| f.to_bits()).collect();
    let b: Vec<u32> = floats(51, -1.5, 1.5).iter().map(|f| f.to_bits()).collect();
    check_uint(
        r#"vec2 v = vec2(uintBitsToFloat(x), uintBitsToFloat(y)); vec4 w = vec4(v, v.yx * 0.5);
           o[base+0] = packHalf2x16(v); o[base+1] = packUnorm4x8(w); o[base+2] = packSnorm4x8(w);
           o[base+3] = packUnorm2x16(v); o[base+4] = packSnorm2x16(v);
           vec2 h = unpackHalf2x16(o[base+0]); o[base+5] = floatBitsToUint(h.x); o[base+6] = floatBitsToUint(h.y);
           vec4 u = unpackUnorm4x8(x); o[base+7] = floatBitsToUint(u.z);
           vec4 s = unpackSnorm4x8(x); o[base+8] = floatBitsToUint(s.w);
           vec2 u2 = unpackUnorm2x16(y); o[base+9] = floatBitsToUint(u2.y);
           vec2 s2 = unpackSnorm2x16(y); o[base+10] = floatBitsToUint(s2.x);"#,
        11,
        &a,
        &b,
        |x, y| {
            let v = [f32::from_bits(x), f32::from_bits(y)];
            let w = [v[0], v[1], v[1] * 0.5, v[0] * 0.5];
            let half = |f: f32| u32::from(interp::to_half(f));
            let unorm = |f: f32, s: f32| (f.clamp(0.0, 1.0) * s).round() as u32;
            let snorm = |f: f32, s: f32| (f.clamp(-1.0, 1.0) * s).round() as i32 as u32;
            let pack = |vals: &[u32], bits: u32| {
                vals.iter().enumerate().fold(0u32, |acc, (i, v)| {
                    acc | ((v & ((1 << bits) - 1)) << (i as u32 * bits))
                })
            };
            let packed_half = half(v[0]) | (half(v[1]) << 16);
            let byte = |p: u32, i: u32| (p >> (8 * i)) & 0xff;
            let sbyte = |p: u32, i: u32| ((p >> (8 * i)) & 0xff) as u8 as i8 as f32;
            vec![
                packed_half,
                pack(&w.map(|f| unorm(f, 255.0)), 8),
                pack(&w.map(|f| snorm(f, 127.0)), 8),
                pack(&v.map(|f| unorm(f, 65535.0)), 16),
                pack(&v.map(|f| snorm(f, 32767.0)), 16),
                interp::from_half(packed_half as u16).to_bits(),
                interp::from_half((packed_half >> 16) as u16).to_bits(),
                (byte(x, 2) as f32 / 255.0).to_bits(),
                (sbyte(x, 3) / 127.0).max(-1.0).to_bits(),
                (((y >> 16) & 0xffff) as f32 / 65535.0).to_bits(),
                ((y & 0xffff) as u16 as i16 as f32 / 32767.0)
                    .max(-1.0)
                    .to_bits(),
            ]
        },
    );
}

#[test]
fn vectors_with_dynamic_indices_and_swizzles_match_rust() {
    let (a, b) = (uints(60), uints(61));
    check_uint(
        r#"uvec4 v = uvec4(x, y, x ^ y, 7u);
           uint k = y % 4u;
           o[base+0] = v[k]; v[(k + 1u) % 4u] = 99u; o[base+1] = v.x + v.y * 3u + v.z * 5u + v.w * 7u;
           uvec3 s = v.wzy; o[base+2] = s.x * 11u + s.z; o[base+3] = uint(any(equal(v.xy, uvec2(99u))));
           o[base+4] = uint(all(lessThan(v.xy, uvec2(0xffffffffu))));"#,
        5,
        &a,
        &b,
        |x, y| {
            let mut v = [x, y, x ^ y, 7];
            let k = (y % 4) as usize;
            let first = v[k];
            v[(k + 1) % 4] = 99;
            let s = [v[3], v[2], v[1]];
            vec![
                first,
                v[0].wrapping_add(v[1].wrapping_mul(3))
                    .wrapping_add(v[2].wrapping_mul(5))
                    .wrapping_add(v[3].wrapping_mul(7)),
                s[0].wrapping_mul(11).wrapping_add(s[2]),
                u32::from(v[0] == 99 || v[1] == 99),
                u32::from(v[0] < u32::MAX && v[1] < u32::MAX),
            ]
        },
    );
}

#[test]
fn local_arrays_indexed_dynamically_live_in_private_memory() {
    let (a, b) = (uints(70), uints(71));
    let body = r#"uint t[8]; for (uint k = 0; k < 8u; k++) t[k] = x * k + y;
           t[y % 8u] += 5u; bvec2 flags[3]; flags[x % 3u] = bvec2(true, x > y);
           struct S { uint p; uvec2 q; } ss[2]; ss[x % 2u].q = uvec2(x, y); ss[(x + 1u) % 2u].q = uvec2(3u);
           o[base+0] = t[x % 8u]; o[base+1] = t[(y + 3u) % 8u]; o[base+2] = uint(flags[x % 3u].y);
           o[base+3] = ss[0].q.x + ss[1].q.y;"#;
    check_uint(body, 4, &a, &b, |x, y| {
        let mut t: Vec<u32> = (0..8).map(|k| x.wrapping_mul(k).wrapping_add(y)).collect();
        t[(y % 8) as usize] = t[(y % 8) as usize].wrapping_add(5);
        let mut q = [[0u32; 2]; 2];
        q[(x % 2) as usize] = [x, y];
        q[((x.wrapping_add(1)) % 2) as usize] = [3, 3];
        vec![
            t[(x % 8) as usize],
            t[((y.wrapping_add(3)) % 8) as usize],
            u32::from(x > y),
            q[0][0].wrapping_add(q[1][1]),
        ]
    });
    let src = format!(
        "#version 450\nlayout(local_size_x = 1) in;\nlayout(set=0,binding=0) buffer O {{ uint o[]; }};\nvoid main() {{ uint x = o[0], y = o[1]; uint base = 0; uint a[2]; uint b[2];\n{} }}",
        "uint t[8]; for (uint k = 0; k < 8u; k++) t[k] = x * k + y; o[2] = t[y % 8u];"
    );
    let m = lower(&glsl(&src));
    assert!(
        m.private_memory_size >= 32,
        "dynamically indexed array gets private memory"
    );
}

#[test]
fn frexp_ldexp_and_modf_match_rust() {
    let mut a = floats(80, -1e6, 1e6);
    a[0] = 0.0;
    a[1] = 1.0e-40; // denormal
    a[2] = -3.5e-39;
    a[3] = 0.75;
    let b = floats(81, -30.0, 30.0);
    let c = floats(82, 0.0, 1.0);
    check_float(
        r#"int e; float m = frexp(x, e); o[base+0] = m; o[base+1] = float(e);
           o[base+2] = ldexp(z, int(y)); o[base+3] = ldexp(x, -3);
           float whole; o[base+4] = modf(x * 0.001, whole); o[base+5] = whole;"#,
        6,
        [&a, &b, &c],
        0.0,
        |x, y, z| {
            let (m, e) = if x == 0.0 {
                (x, 0)
            } else {
                let xd = f64::from(x);
                let mut e = xd.abs().log2().floor() as i32 + 1;
                // log2 rounding near powers of two: renormalise into [0.5, 1).
                while (xd / 2f64.powi(e)).abs() >= 1.0 {
                    e += 1;
                }
                while (xd / 2f64.powi(e)).abs() < 0.5 {
                    e -= 1;
                }
                ((xd / 2f64.powi(e)) as f32, e)
            };
            let ld = |v: f32, k: i32| (f64::from(v) * 2f64.powi(k)) as f32;
            let t = x * 0.001;
            vec![
                m,
                e as f32,
                ld(z, y as i32),
                ld(x, -3),
                t - t.trunc(),
                t.trunc(),
            ]
        },
    );
}

#[test]
fn buffer_block_uniforms_of_spirv_1_0_are_storage_buffers() {
    let src = "#version 450\nlayout(local_size_x = 1) in;\nlayout(set = 2, binding = 5) buffer B { uint v[]; };\nlayout(set = 0, binding = 0) uniform U { uint k; };\nvoid main() { v[0] = k; memoryBarrierBuffer(); v[1] = 1u; }\n";
    let spv = {
        let dir = std::env::temp_dir().join(format!("softgpu-front-bb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (i, o) = (dir.join("b.comp"), dir.join("b.spv"));
        std::fs::write(&i, src).unwrap();
        let st = std::process::Command::new("glslangValidator")
            .args(["-V", "--target-env", "vulkan1.0", "-S", "comp", "-o"])
            .arg(&o)
            .arg(&i)
            .output()
            .unwrap();
        assert!(st.status.success());
        std::fs::read(&o).unwrap()
    };
    let m = lower(&spv);
    let b = &m.buffers[slot(&m, 2, 5)];
    assert_eq!(b.kind, shader::ir::BufferKind::Storage);
    assert!(!b.read_only);
    let u = &m.buffers[slot(&m, 0, 0)];
    assert_eq!(u.kind, shader::ir::BufferKind::Uniform);
    assert!(count(&m.body, &|s| matches!(s, shader::ir::Stmt::MemoryBarrier)) == 1);
    let out = run_with(
        &m,
        [1, 1, 1],
        &[(2, 5, vec![0; 8]), (0, 0, bytes_u32(&[42]))],
        &[],
    );
    assert_eq!(u32s(&out[slot(&m, 2, 5)]), vec![42, 1]);
}
