//! GLSL.std.450 pack/unpack functions against a CPU model of their GLSL definitions.
//!
//! Packing multiplies, clamps and rounds; GLSL lets `round` pick either direction at exact
//! halves and the product itself rounds, so a packed field may be either neighbour only when the
//! exact scaled value is within one product rounding of a tie. Half conversion may round to
//! nearest-even or toward zero (Vulkan leaves the rounding mode of conversions to the
//! implementation) and 16-bit denormals may be flushed.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::OnceLock;

use common::*;
use renderer::ComputePipeline;

fn pack_pipeline() -> &'static ComputePipeline {
    static P: OnceLock<ComputePipeline> = OnceLock::new();
    P.get_or_init(|| pipeline(device(), "pack", &[]))
}

/// Runs opcode `op` of pack.comp; returns (packed words, unpacked vec4s flat).
fn run(op: u32, floats: &[f32], packed: &[u32]) -> (Vec<u32>, Vec<f32>) {
    let dev = device();
    let n = packed.len() as u32;
    assert_eq!(floats.len(), packed.len() * 4);
    let (bf, bu) = (buffer_from(dev, floats), buffer_from(dev, packed));
    let (out_u, out_f) = (
        buffer_zeroed::<u32>(dev, packed.len()),
        buffer_zeroed::<f32>(dev, floats.len()),
    );
    let set = storage_set(&[&bf, &bu, &out_u, &out_f]);
    dev.dispatch(
        pack_pipeline(),
        &[&set],
        &words(&[op, n]),
        [n.div_ceil(64), 1, 1],
    )
    .unwrap();
    (read_all(&out_u), read_all(&out_f))
}

const COUNT: usize = 4096;

fn float_inputs(seed: u64, edges: &[f32], gen_range: f32) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut v = edges.to_vec();
    while v.len() < COUNT * 4 {
        v.push(match rng.below(4) {
            0 => rng.below(1000) as f32 / 999.0 * 2.0 - 1.0,
            1 => rng.f32_log(-20, 10),
            _ => rng.f32_in(-gen_range, gen_range),
        });
    }
    v
}

/// The fields `round(clamp(c, lo, 1) · scale)` may take (two only near a tie).
fn allowed_fields(c: f32, lo: f64, scale: f64) -> Vec<i64> {
    let v = (c as f64).clamp(lo, 1.0) * scale;
    let slack = scale * 2f64.powi(-24) * 2.0;
    let mut out = vec![v.round() as i64];
    for cand in [v.floor() as i64, v.ceil() as i64] {
        if (cand as f64 - v).abs() <= 0.5 + slack && !out.contains(&cand) {
            out.push(cand);
        }
    }
    out
}

fn check_pack(op: u32, name: &str, lanes: usize, bits: u32, signed: bool) {
    let scale = if signed {
        ((1u64 << (bits - 1)) - 1) as f64
    } else {
        ((1u64 << bits) - 1) as f64
    };
    let lo = if signed { -1.0 } else { 0.0 };
    let edges = [
        0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        1e10,
        -1e10,
        0.25,
        0.75,
        2.0,
        1.0 / 255.0,
        0.5 / 255.0,
    ];
    let floats = float_inputs(u64::from(op), &edges, 1.5);
    let (packed, _) = run(op, &floats, &vec![0; COUNT]);
    let mask = (1u64 << bits) - 1;
    for i in 0..COUNT {
        for lane in 0..lanes {
            let c = floats[4 * i + lane];
            let field = (u64::from(packed[i]) >> (bits as usize * lane)) & mask;
            let value = if signed {
                ((field << (64 - bits)) as i64) >> (64 - bits)
            } else {
                field as i64
            };
            let ok = allowed_fields(c, lo, scale);
            assert!(ok.contains(&value), "{name}: component {lane} = {c} packed as {value}, expected one of {ok:?} (word {:#x})", packed[i]);
        }
    }
}

#[test]
fn pack_unorm_and_snorm_4x8_round_clamped_scaled_components() {
    check_pack(0, "packUnorm4x8", 4, 8, false);
    check_pack(1, "packSnorm4x8", 4, 8, true);
}

#[test]
fn pack_unorm_and_snorm_2x16_round_clamped_scaled_components() {
    check_pack(2, "packUnorm2x16", 2, 16, false);
    check_pack(3, "packSnorm2x16", 2, 16, true);
}

/// f32 → binary16 bits, rounding to nearest-even (`rtz` false) or toward zero.
fn to_half(x: f32, rtz: bool) -> u16 {
    let sign = ((x.to_bits() >> 16) & 0x8000) as u16;
    let a = x.abs() as f64;
    if x.is_infinite() {
        return sign | 0x7C00;
    }
    if a == 0.0 {
        return sign;
    }
    let exp = (((x.abs().to_bits() >> 23) as i32) - 127).max(-14);
    let quantum = 2f64.powi(exp - 10);
    let m = a / quantum;
    let v = if rtz { m.trunc() } else { m.round_ties_even() } * quantum;
    if v >= 65536.0 {
        return sign | 0x7C00;
    }
    if v < 2f64.powi(-14) {
        return sign | (v / 2f64.powi(-24)) as u16;
    }
    let e = v.log2().floor() as i32;
    let mant = ((v / 2f64.powi(e) - 1.0) * 1024.0) as u16;
    sign | (((e + 15) as u16) << 10) | mant
}

fn from_half(h: u16) -> Option<f32> {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = (h >> 10) & 0x1F;
    let mant = f64::from(h & 0x3FF);
    let v = match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => return None, // NaN: any NaN will do, not compared
        e => (1.0 + mant / 1024.0) * 2f64.powi(i32::from(e) - 15),
    };
    Some((sign * v) as f32)
}

fn is_half_denormal(h: u16) -> bool {
    h & 0x7C00 == 0 && h & 0x3FF != 0
}

#[test]
fn pack_half_2x16_rounds_each_component_to_binary16() {
    let edges = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        65504.0,
        -65504.0,
        65519.0,
        2f32.powi(-24),
        2f32.powi(-25),
        2f32.powi(-14),
        1.0 + 2f32.powi(-10),
        1.0 + 2f32.powi(-11),
        1.0 + 3.0 * 2f32.powi(-11),
        0.1,
        -3.3,
        1e-6,
        f32::INFINITY,
        f32::NEG_INFINITY,
        2048.5,
        4097.0,
    ];
    let floats = float_inputs(4, &edges, 60000.0);
    let (packed, _) = run(4, &floats, &vec![0; COUNT]);
    for i in 0..COUNT {
        for lane in 0..2 {
            let c = floats[4 * i + lane];
            let got = (packed[i] >> (16 * lane)) as u16;
            let (rne, rtz) = (to_half(c, false), to_half(c, true));
            let flushed = (is_half_denormal(rne) || is_half_denormal(rtz)) && got & 0x7FFF == 0;
            assert!(got == rne || got == rtz || flushed, "packHalf2x16 component {c:e} gave {got:#06x}, expected {rne:#06x} (RNE) or {rtz:#06x} (RTZ)");
        }
    }
}

fn word_inputs(seed: u64) -> Vec<u32> {
    let mut rng = Rng::new(seed);
    let mut v = vec![
        0,
        0xFFFF_FFFF,
        0x8080_8080,
        0x7F7F_7F7F,
        0x8181_0100,
        0x3C00_7BFF,
        0x7C00_FC00,
        0x0001_83FF,
        0x8000_7FFF,
        0x0400_8400,
        0x3555_C000,
    ];
    while v.len() < COUNT {
        v.push(rng.next_u32());
    }
    v
}

fn check_unpack(op: u32, name: &str, lanes: usize, bits: u32, signed: bool) {
    let packed = word_inputs(u64::from(op));
    let (_, got) = run(op, &vec![0.0; COUNT * 4], &packed);
    let scale = if signed {
        ((1u64 << (bits - 1)) - 1) as f64
    } else {
        ((1u64 << bits) - 1) as f64
    };
    let mut worst = Worst::new("unpack");
    for i in 0..COUNT {
        for lane in 0..lanes {
            let field = (u64::from(packed[i]) >> (bits as usize * lane)) & ((1u64 << bits) - 1);
            let value = if signed {
                (((field << (64 - bits)) as i64) >> (64 - bits)) as f64
            } else {
                field as f64
            };
            // f / scale is a division (2.5 ulp), clamped to [-1, 1] for snorm.
            let r = (value / scale).max(-1.0);
            let g = got[4 * i + lane];
            worst.check((g as f64 - r).abs(), 2.5 * ulp_f32(r), || {
                format!("{name}({:#x}) lane {lane} = {g}, want {r}", packed[i])
            });
        }
    }
    worst.assert_ok();
}

#[test]
fn unpack_unorm_and_snorm_4x8_divide_by_the_scale_and_clamp() {
    check_unpack(5, "unpackUnorm4x8", 4, 8, false);
    check_unpack(6, "unpackSnorm4x8", 4, 8, true);
}

#[test]
fn unpack_unorm_and_snorm_2x16_divide_by_the_scale_and_clamp() {
    check_unpack(7, "unpackUnorm2x16", 2, 16, false);
    check_unpack(8, "unpackSnorm2x16", 2, 16, true);
}

#[test]
fn unpack_half_2x16_converts_both_halves_exactly() {
    let packed = word_inputs(9);
    let (_, got) = run(9, &vec![0.0; COUNT * 4], &packed);
    for i in 0..COUNT {
        for lane in 0..2 {
            let h = (packed[i] >> (16 * lane)) as u16;
            let Some(want) = from_half(h) else { continue };
            let g = got[4 * i + lane];
            let flushed = is_half_denormal(h) && g == 0.0;
            assert!(
                g == want || flushed,
                "unpackHalf2x16 of {h:#06x} gave {g:e}, want {want:e}"
            );
        }
    }
}

#[test]
fn reference_half_conversion_round_trips_and_rounds_ties_to_even() {
    // The CPU model itself, against values whose binary16 encodings are known.
    assert_eq!(to_half(1.0, false), 0x3C00);
    assert_eq!(to_half(65504.0, false), 0x7BFF);
    assert_eq!(to_half(65520.0, false), 0x7C00);
    assert_eq!(to_half(65520.0, true), 0x7BFF);
    assert_eq!(to_half(2f32.powi(-24), false), 0x0001);
    assert_eq!(to_half(-2.0, false), 0xC000);
    assert_eq!(to_half(1.0 + 2f32.powi(-11), false), 0x3C00);
    assert_eq!(to_half(1.0 + 3.0 * 2f32.powi(-11), false), 0x3C02);
    assert_eq!(from_half(0x3555), Some(0.333_251_95));
    for h in (0u16..0x7C00).step_by(7) {
        assert_eq!(to_half(from_half(h).unwrap(), false), h);
    }
}
