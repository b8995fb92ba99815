//! Scalar conversions between f32 and the encodings of image components, as the Vulkan spec
//! defines them ("Fixed-Point Data Conversions", "Floating Point Formats", "sRGB transfer
//! functions"). Rounding is round-to-nearest (ties to even for the small floats).

/// Largest value of an unsigned `bits`-bit integer, as f32-friendly f64 (bits ≤ 32).
#[inline]
fn unorm_max(bits: u32) -> f64 {
    ((1u64 << bits) - 1) as f64
}

/// float → `bits`-bit UNORM: clamp to [0, 1] (NaN → 0), scale by 2^b − 1, round to nearest.
#[inline]
pub fn float_to_unorm(value: f32, bits: u32) -> u32 {
    let v = if value.is_nan() {
        0.0
    } else {
        f64::from(value).clamp(0.0, 1.0)
    };
    // v * max + 0.5 is non-negative and at most 2^32 - 0.5, so truncation is the floor (and
    // avoids a libm call per component on targets without SSE4.1).
    (v * unorm_max(bits) + 0.5) as u32
}

/// `bits`-bit UNORM → float: c / (2^b − 1).
#[inline]
pub fn unorm_to_float(code: u32, bits: u32) -> f32 {
    (f64::from(code) / unorm_max(bits)) as f32
}

/// float → `bits`-bit SNORM (two's complement, returned in the low `bits` bits): clamp to
/// [−1, 1] (NaN → 0), scale by 2^(b−1) − 1, round to nearest.
pub fn float_to_snorm(value: f32, bits: u32) -> u32 {
    let v = if value.is_nan() {
        0.0
    } else {
        f64::from(value).clamp(-1.0, 1.0)
    };
    let scaled = (v * unorm_max(bits - 1)).round() as i64;
    (scaled as u64 & ((1u64 << bits) - 1)) as u32
}

/// `bits`-bit SNORM (low bits of `code`) → float: max(c / (2^(b−1) − 1), −1), so both the
/// most negative code and the next one give −1.
pub fn snorm_to_float(code: u32, bits: u32) -> f32 {
    let c = sign_extend(code, bits);
    (c as f64 / unorm_max(bits - 1)).max(-1.0) as f32
}

/// Sign-extends the low `bits` bits of `code`.
pub fn sign_extend(code: u32, bits: u32) -> i32 {
    let shift = 32 - bits;
    ((code << shift) as i32) >> shift
}

/// sRGB EOTF: encoded [0, 1] → linear (Vulkan "sRGB transfer functions").
pub fn srgb_to_linear(encoded: f32) -> f32 {
    let c = f64::from(encoded);
    let l = if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    };
    l as f32
}

/// Inverse sRGB EOTF: linear → encoded, after clamping to [0, 1] (NaN → 0).
pub fn linear_to_srgb(linear: f32) -> f32 {
    let l = if linear.is_nan() {
        0.0
    } else {
        f64::from(linear).clamp(0.0, 1.0)
    };
    let c = if l <= 0.003_130_8 {
        12.92 * l
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    };
    c as f32
}

/// Encodes the magnitude bits of an f32 (`abs_bits`, sign already removed) as a float with a
/// 5-bit exponent (bias 15) and `man_bits` of mantissa: half floats and the 11/10-bit
/// unsigned floats. Round to nearest even; overflow gives infinity; NaN stays a quiet NaN.
#[inline]
fn encode_e5(abs_bits: u32, man_bits: u32) -> u32 {
    let inf = 0x1f << man_bits;
    if abs_bits > 0x7f80_0000 {
        return inf | (1 << (man_bits - 1)) | ((abs_bits & 0x7f_ffff) >> (23 - man_bits));
    }
    if abs_bits == 0x7f80_0000 {
        return inf;
    }
    let exp = (abs_bits >> 23) as i32 - 127; // unbiased
    let mantissa = abs_bits & 0x7f_ffff;
    if exp >= 16 {
        return inf;
    }
    if exp >= -14 {
        // Normal in the target: drop 23 − man_bits bits with round-to-nearest-even. A carry
        // out of the mantissa moves into the exponent, up to infinity — as IEEE rounding does.
        let drop = 23 - man_bits;
        let mut code = (((exp + 15) as u32) << man_bits) | (mantissa >> drop);
        let rest = mantissa & ((1 << drop) - 1);
        let half = 1 << (drop - 1);
        if rest > half || (rest == half && code & 1 == 1) {
            code += 1;
        }
        return code;
    }
    // Subnormal in the target: units of 2^(−14 − man_bits). The value is m · 2^(exp − 23)
    // with the implicit bit in m, so it is m >> shift units (f32 subnormals are far below).
    let m = mantissa | 0x80_0000;
    let shift = (9 - man_bits as i32 - exp) as u32;
    if shift > 24 {
        return 0;
    }
    let mut code = m >> shift;
    let rest = m & ((1 << shift) - 1);
    let half = 1 << (shift - 1);
    if rest > half || (rest == half && code & 1 == 1) {
        code += 1;
    }
    code
}

/// Decodes a 5-bit-exponent float's magnitude bits (see [`encode_e5`]) exactly.
#[inline]
fn decode_e5(code: u32, man_bits: u32) -> f32 {
    let exp = (code >> man_bits) & 0x1f;
    let mantissa = code & ((1 << man_bits) - 1);
    match exp {
        0 => mantissa as f32 * f32::powi(2.0, -14 - man_bits as i32),
        0x1f if mantissa == 0 => f32::INFINITY,
        // Keep the NaN payload's top bits so a quiet NaN stays quiet.
        0x1f => f32::from_bits(0x7f80_0000 | (mantissa << (23 - man_bits)) | 0x40_0000),
        _ => f32::from_bits(((exp + 112) << 23) | (mantissa << (23 - man_bits))),
    }
}

/// f32 → IEEE binary16 bits, round to nearest even.
#[inline]
pub fn f32_to_f16(value: f32) -> u16 {
    let bits = value.to_bits();
    let sign = (bits >> 16) & 0x8000;
    (sign | encode_e5(bits & 0x7fff_ffff, 10)) as u16
}

/// IEEE binary16 bits → f32 (exact).
#[inline]
pub fn f16_to_f32(half: u16) -> f32 {
    let magnitude = decode_e5(u32::from(half & 0x7fff), 10);
    if half & 0x8000 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// f32 → unsigned float with a 5-bit exponent and `man_bits` (6: 11-bit, 5: 10-bit) mantissa.
/// Negative values and −∞ become 0, NaN stays NaN (Vulkan "Floating-Point Format Conversions").
fn f32_to_ufloat(value: f32, man_bits: u32) -> u32 {
    if value.is_nan() {
        return encode_e5(0x7fc0_0000, man_bits);
    }
    if value <= 0.0 {
        return 0;
    }
    encode_e5(value.to_bits(), man_bits)
}

pub fn f32_to_uf11(value: f32) -> u32 {
    f32_to_ufloat(value, 6)
}
pub fn f32_to_uf10(value: f32) -> u32 {
    f32_to_ufloat(value, 5)
}
pub fn uf11_to_f32(code: u32) -> f32 {
    decode_e5(code & 0x7ff, 6)
}
pub fn uf10_to_f32(code: u32) -> f32 {
    decode_e5(code & 0x3ff, 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_rounds_ties_to_even_at_the_mantissa_boundary() {
        // 1 + 2^-11 lies halfway between 1.0 (0x3c00) and 1 + 2^-10 (0x3c01): ties to even.
        assert_eq!(f32_to_f16(1.0 + f32::powi(2.0, -11)), 0x3c00);
        // 1 + 3·2^-11 is halfway between 0x3c01 and 0x3c02: even is 0x3c02.
        assert_eq!(f32_to_f16(1.0 + 3.0 * f32::powi(2.0, -11)), 0x3c02);
        // Just above halfway rounds up.
        assert_eq!(f32_to_f16(f32::from_bits(0x3f80_1001)), 0x3c01);
    }

    #[test]
    fn half_overflow_and_subnormal_rounding() {
        assert_eq!(f32_to_f16(65504.0), 0x7bff);
        assert_eq!(f32_to_f16(65519.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00); // halfway to 2^16 ties away to infinity (even)
                                                 // Smallest subnormal 2^-24; half of it ties to 0 (even), a bit more rounds to it.
        assert_eq!(f32_to_f16(f32::powi(2.0, -24)), 0x0001);
        assert_eq!(f32_to_f16(f32::powi(2.0, -25)), 0x0000);
        assert_eq!(f32_to_f16(f32::powi(2.0, -25) * 1.0001), 0x0001);
        assert_eq!(f32_to_f16(3.0 * f32::powi(2.0, -25)), 0x0002);
        // Largest subnormal rounding up into the smallest normal.
        assert_eq!(
            f32_to_f16(f32::powi(2.0, -14) * (1.0 - f32::powi(2.0, -12))),
            0x0400
        );
    }

    #[test]
    fn unsigned_small_floats_clamp_negatives_and_keep_nan() {
        assert_eq!(f32_to_uf11(-1.0), 0);
        assert_eq!(f32_to_uf10(f32::NEG_INFINITY), 0);
        assert!(uf11_to_f32(f32_to_uf11(f32::NAN)).is_nan());
        assert_eq!(f32_to_uf11(f32::INFINITY), 0x7c0);
        assert_eq!(f32_to_uf11(65024.0), 0x7bf); // largest finite 11-bit float
        assert_eq!(f32_to_uf10(64512.0), 0x3df); // largest finite 10-bit float
        assert_eq!(uf10_to_f32(0x3df), 64512.0);
    }

    #[test]
    fn snorm_most_negative_codes_both_decode_to_minus_one() {
        assert_eq!(snorm_to_float(0x80, 8), -1.0);
        assert_eq!(snorm_to_float(0x81, 8), -1.0);
        assert_eq!(float_to_snorm(-2.0, 8), 0x81);
        assert_eq!(float_to_snorm(f32::NAN, 16), 0);
    }
}
