//! Integer and bit operations, 32-bit and the 8/16/64-bit types of
//! GL_EXT_shader_explicit_arithmetic_types, checked against Rust's integer semantics (which are
//! SPIR-V's: two's complement, truncating division, remainder with the dividend's sign).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

const EDGES32: [u32; 14] = [
    0,
    1,
    2,
    3,
    31,
    32,
    0x7FFF_FFFF,
    0x8000_0000,
    0x8000_0001,
    0xFFFF_FFFF,
    0xFFFF_FFFE,
    0xFFFF_FC18,
    0x0001_0000,
    0xDEAD_BEEF,
];

/// Edge pairs (every edge with every edge) followed by random pairs.
fn pairs32(random: usize) -> (Vec<u32>, Vec<u32>) {
    let mut rng = Rng::new(32);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for &x in &EDGES32 {
        for &y in &EDGES32 {
            a.push(x);
            b.push(y);
        }
    }
    for _ in 0..random {
        // Mix full-range values with small ones so that division and shifts see both.
        let x = rng.next_u32() >> rng.below(32);
        let y = rng.next_u32() >> rng.below(32);
        a.push(x);
        b.push(y);
    }
    (a, b)
}

fn bitfield_extract_u(a: u32, off: u32, bits: u32) -> u32 {
    if bits == 0 {
        0
    } else {
        ((u64::from(a) >> off) & ((1u64 << bits) - 1)) as u32
    }
}

fn bitfield_extract_s(a: u32, off: u32, bits: u32) -> u32 {
    if bits == 0 {
        0
    } else {
        (((a << (32 - off - bits)) as i32) >> (32 - bits)) as u32
    }
}

fn bitfield_insert(base: u32, insert: u32, off: u32, bits: u32) -> u32 {
    let mask = (((1u64 << bits) - 1) << off) as u32;
    (base & !mask) | ((((u64::from(insert)) << off) as u32) & mask)
}

fn find_msb_s(x: i32) -> u32 {
    let v = if x < 0 { !x } else { x };
    if v == 0 {
        u32::MAX
    } else {
        31 - v.leading_zeros()
    }
}

/// Expected results for one pair; `None` where SPIR-V leaves the result undefined.
fn expected32(a: u32, b: u32) -> [Option<u32>; 32] {
    let (sa, sb) = (a as i32, b as i32);
    let s = b & 31;
    let off = b % 32;
    let bits = (b >> 8) % (33 - off);
    let wide = u64::from(a) * u64::from(b);
    let swide = i64::from(sa) * i64::from(sb);
    let sdiv_defined = sb != 0 && !(sa == i32::MIN && sb == -1);
    [
        Some(a << s),
        Some(a >> s),
        Some((sa >> s) as u32),
        Some(bitfield_extract_u(a, off, bits)),
        Some(bitfield_extract_s(a, off, bits)),
        Some(bitfield_insert(a, b >> 3, off, bits)),
        Some(a.count_ones()),
        Some(if a == 0 { u32::MAX } else { a.trailing_zeros() }),
        Some(if a == 0 {
            u32::MAX
        } else {
            31 - a.leading_zeros()
        }),
        Some(find_msb_s(sa)),
        Some(a.reverse_bits()),
        Some((wide >> 32) as u32),
        Some(wide as u32),
        Some((swide >> 32) as u32),
        Some(swide as u32),
        Some(a.wrapping_add(b)),
        Some(((u64::from(a) + u64::from(b)) >> 32) as u32),
        Some(a.wrapping_sub(b)),
        Some(u32::from(a < b)),
        (b != 0).then(|| a / b),
        (b != 0).then(|| a % b),
        sdiv_defined.then(|| (sa / sb) as u32),
        // glslang emits OpSMod for GLSL `%` on ints: the result takes the divisor's sign.
        sdiv_defined.then(|| smod(i64::from(sa), i64::from(sb)) as u32),
        Some(sa.wrapping_abs() as u32),
        Some(sa.signum() as u32),
        Some(sa.min(sb) as u32),
        Some(sa.max(sb) as u32),
        Some(a.min(b)),
        Some(a.max(b)),
        Some(sa.clamp(-1000, 1000) as u32),
        Some((a ^ b) | (!a & b)),
        Some((sa.wrapping_neg() as u32).wrapping_mul(3).wrapping_sub(b)),
    ]
}

const NAMES32: [&str; 32] = [
    "shl",
    "lshr",
    "ashr",
    "bitfieldExtract(uint)",
    "bitfieldExtract(int)",
    "bitfieldInsert",
    "bitCount",
    "findLSB",
    "findMSB(uint)",
    "findMSB(int)",
    "bitfieldReverse",
    "umulExtended hi",
    "umulExtended lo",
    "imulExtended hi",
    "imulExtended lo",
    "uaddCarry sum",
    "uaddCarry carry",
    "usubBorrow diff",
    "usubBorrow borrow",
    "udiv",
    "umod",
    "sdiv",
    "smod",
    "abs",
    "sign",
    "min(int)",
    "max(int)",
    "min(uint)",
    "max(uint)",
    "clamp(int)",
    "xor/or/not",
    "neg/mul/sub",
];

#[test]
fn integer_and_bit_operations_match_rust_semantics_including_negative_division() {
    let dev = device();
    let p = pipeline(dev, "int_ops", &[]);
    let (a, b) = pairs32(4000);
    let n = a.len();
    let (ba, bb) = (buffer_from(dev, &a), buffer_from(dev, &b));
    let out = buffer_zeroed::<u32>(dev, n * 32);
    dev.dispatch(
        &p,
        &[&storage_set(&[&ba, &bb, &out])],
        &words(&[n as u32]),
        [(n as u32).div_ceil(64), 1, 1],
    )
    .unwrap();
    let got: Vec<u32> = read_all(&out);
    let mut failures = Vec::new();
    for i in 0..n {
        for (k, want) in expected32(a[i], b[i]).iter().enumerate() {
            if let Some(want) = want {
                let g = got[i * 32 + k];
                if g != *want {
                    failures.push(format!(
                        "{}({:#x}, {:#x}) = {g:#x}, want {want:#x}",
                        NAMES32[k], a[i], b[i]
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}

fn expected_widths(a: u64, b: u64) -> [Option<u64>; 16] {
    let (sa, sb) = (a as i64, b as i64);
    let (a8, b8, sa8, sb8) = (a as u8, b as u8, a as i8, b as i8);
    let (a16, b16, sa16, sb16) = (a as u16, b as u16, a as i16, b as i16);
    [
        Some(a.wrapping_mul(b).wrapping_add(a >> 7)),
        Some(a.checked_div(b).unwrap_or(0)),
        if sb == -1 && sa == i64::MIN {
            None
        } else {
            Some(if sb != 0 { smod(sa, sb) as u64 } else { 0 })
        },
        Some((sa >> (b & 63)) as u64),
        Some(a << (b & 63)),
        Some(u64::from(sa < sb) | (u64::from(a < b) << 1)),
        Some(u64::from(a8.wrapping_mul(b8).wrapping_add(3))),
        Some(sa8.wrapping_mul(sb8).wrapping_sub(sa8) as i64 as u64),
        Some((sa8 >> 2) as i64 as u64),
        Some(u64::from(a8.checked_div(b8).unwrap_or(0))),
        Some(u64::from(a16.wrapping_mul(b16).wrapping_add(a16))),
        Some(sa16.wrapping_sub(sb16.wrapping_mul(5)) as i64 as u64),
        Some((sa16 >> 3) as i64 as u64),
        if sa16 == i16::MIN && sb16 == -1 {
            None
        } else {
            Some(if sb16 != 0 {
                (sa16 / sb16) as i64 as u64
            } else {
                0
            })
        },
        Some((i32::from(sa16) + i32::from(sa8)) as i64 as u64),
        Some(u64::from(u32::from(a16).wrapping_mul(u32::from(b8)))),
    ]
}

#[test]
fn int8_int16_int64_arithmetic_wraps_and_extends_like_rust() {
    let dev = device();
    let p = pipeline(dev, "int_widths", &[]);
    let edges: [u64; 12] = [
        0,
        1,
        2,
        0x7F,
        0x80,
        0xFF,
        0x7FFF,
        0x8000,
        0xFFFF,
        0x8000_0000_0000_0000,
        u64::MAX,
        0x0123_4567_89AB_CDEF,
    ];
    let mut rng = Rng::new(64);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for &x in &edges {
        for &y in &edges {
            a.push(x);
            b.push(y);
        }
    }
    for _ in 0..3000 {
        a.push(rng.next_u64() >> rng.below(64));
        b.push(rng.next_u64() >> rng.below(64));
    }
    let n = a.len();
    let (ba, bb) = (buffer_from(dev, &a), buffer_from(dev, &b));
    let out = buffer_zeroed::<u64>(dev, n * 16);
    dev.dispatch(
        &p,
        &[&storage_set(&[&ba, &bb, &out])],
        &words(&[n as u32]),
        [(n as u32).div_ceil(64), 1, 1],
    )
    .unwrap();
    let got: Vec<u64> = read_all(&out);
    let mut failures = Vec::new();
    for i in 0..n {
        for (k, want) in expected_widths(a[i], b[i]).iter().enumerate() {
            if let Some(want) = want {
                let g = got[i * 16 + k];
                if g != *want {
                    failures.push(format!(
                        "result {k} for ({:#x}, {:#x}) = {g:#x}, want {want:#x}",
                        a[i], b[i]
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}

/// SPIR-V OpSMod: remainder with the sign of the divisor (what glslang emits for `%`).
fn smod(a: i64, b: i64) -> i64 {
    let r = a.wrapping_rem(b);
    if r != 0 && (r ^ b) < 0 {
        r.wrapping_add(b)
    } else {
        r
    }
}
