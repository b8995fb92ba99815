//! What the tests need to know about each format of the list: which aspects it has,
//! where each channel lies in a texel as a buffer copy lays it out (Vulkan §21.1 "Copying Data
//! Between Buffers and Images": depth as D16 2 bytes, D24 in the low 24 bits of 4 bytes, D32 4
//! bytes; stencil 1 byte), how a value is encoded (the CPU expectation for the format tests)
//! and how a texel is shown in a PNG.

use ash::vk;

use crate::GpuError;

/// How the channel bits of a format are interpreted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Numeric {
    Unorm,
    Snorm,
    Uint,
    Sint,
    /// R, G, B sRGB-encoded, alpha UNORM.
    Srgb,
    Sfloat,
    /// Unsigned small floats (B10G11R11: 5-bit exponent, 6/5-bit mantissa).
    Ufloat,
}

/// A channel: its bit offset inside the little-endian texel and its width (0: absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub offset: u8,
    pub bits: u8,
}

/// The layout of a format's texel (for depth/stencil formats, of the depth aspect's copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormatInfo {
    pub format: vk::Format,
    pub numeric: Numeric,
    /// R, G, B, A (depth in R for depth formats).
    pub fields: [Field; 4],
    /// Bytes per texel of the colour or depth aspect in a buffer copy (0: no such aspect).
    pub texel_bytes: u32,
    pub has_depth: bool,
    pub has_stencil: bool,
}

const fn f(offset: u8, bits: u8) -> Field {
    Field { offset, bits }
}

const NONE: Field = f(0, 0);

/// Channels of `n` components of `bits` each, in R, G, B, A memory order.
const fn array(bits: u8, n: u8) -> [Field; 4] {
    [
        f(0, bits),
        if n > 1 { f(bits, bits) } else { NONE },
        if n > 2 { f(2 * bits, bits) } else { NONE },
        if n > 3 { f(3 * bits, bits) } else { NONE },
    ]
}

/// Every colour format of the list.
pub const COLOR_FORMATS: [vk::Format; 40] = [
    vk::Format::R8_UNORM,
    vk::Format::R8_SNORM,
    vk::Format::R8_UINT,
    vk::Format::R8_SINT,
    vk::Format::R8_SRGB,
    vk::Format::R8G8_UNORM,
    vk::Format::R8G8_SNORM,
    vk::Format::R8G8_UINT,
    vk::Format::R8G8_SINT,
    vk::Format::R8G8_SRGB,
    vk::Format::R8G8B8A8_UNORM,
    vk::Format::R8G8B8A8_SNORM,
    vk::Format::R8G8B8A8_UINT,
    vk::Format::R8G8B8A8_SINT,
    vk::Format::R8G8B8A8_SRGB,
    vk::Format::B8G8R8A8_UNORM,
    vk::Format::B8G8R8A8_SRGB,
    vk::Format::A2B10G10R10_UNORM_PACK32,
    vk::Format::R16_SFLOAT,
    vk::Format::R16_UINT,
    vk::Format::R16_SINT,
    vk::Format::R16_UNORM,
    vk::Format::R16G16_SFLOAT,
    vk::Format::R16G16_UINT,
    vk::Format::R16G16_SINT,
    vk::Format::R16G16_UNORM,
    vk::Format::R16G16B16A16_SFLOAT,
    vk::Format::R16G16B16A16_UINT,
    vk::Format::R16G16B16A16_SINT,
    vk::Format::R16G16B16A16_UNORM,
    vk::Format::R32_SFLOAT,
    vk::Format::R32_UINT,
    vk::Format::R32_SINT,
    vk::Format::R32G32_SFLOAT,
    vk::Format::R32G32_UINT,
    vk::Format::R32G32_SINT,
    vk::Format::R32G32B32A32_SFLOAT,
    vk::Format::R32G32B32A32_UINT,
    vk::Format::R32G32B32A32_SINT,
    vk::Format::B10G11R11_UFLOAT_PACK32,
];

/// Every depth/stencil format of the list.
pub const DEPTH_FORMATS: [vk::Format; 5] = [
    vk::Format::D16_UNORM,
    vk::Format::D32_SFLOAT,
    vk::Format::D24_UNORM_S8_UINT,
    vk::Format::D32_SFLOAT_S8_UINT,
    vk::Format::S8_UINT,
];

impl FormatInfo {
    /// The layout of `format`; formats outside the list are refused.
    pub fn of(format: vk::Format) -> Result<FormatInfo, GpuError> {
        use vk::Format as F;
        use Numeric::*;
        let color = |numeric, fields, texel_bytes| FormatInfo {
            format,
            numeric,
            fields,
            texel_bytes,
            has_depth: false,
            has_stencil: false,
        };
        let depth = |numeric, bits, texel_bytes, has_stencil| FormatInfo {
            format,
            numeric,
            fields: [f(0, bits), NONE, NONE, NONE],
            texel_bytes,
            has_depth: texel_bytes > 0,
            has_stencil,
        };
        Ok(match format {
            F::R8_UNORM => color(Unorm, array(8, 1), 1),
            F::R8_SNORM => color(Snorm, array(8, 1), 1),
            F::R8_UINT => color(Uint, array(8, 1), 1),
            F::R8_SINT => color(Sint, array(8, 1), 1),
            F::R8_SRGB => color(Srgb, array(8, 1), 1),
            F::R8G8_UNORM => color(Unorm, array(8, 2), 2),
            F::R8G8_SNORM => color(Snorm, array(8, 2), 2),
            F::R8G8_UINT => color(Uint, array(8, 2), 2),
            F::R8G8_SINT => color(Sint, array(8, 2), 2),
            F::R8G8_SRGB => color(Srgb, array(8, 2), 2),
            F::R8G8B8A8_UNORM => color(Unorm, array(8, 4), 4),
            F::R8G8B8A8_SNORM => color(Snorm, array(8, 4), 4),
            F::R8G8B8A8_UINT => color(Uint, array(8, 4), 4),
            F::R8G8B8A8_SINT => color(Sint, array(8, 4), 4),
            F::R8G8B8A8_SRGB => color(Srgb, array(8, 4), 4),
            F::B8G8R8A8_UNORM => color(Unorm, [f(16, 8), f(8, 8), f(0, 8), f(24, 8)], 4),
            F::B8G8R8A8_SRGB => color(Srgb, [f(16, 8), f(8, 8), f(0, 8), f(24, 8)], 4),
            F::A2B10G10R10_UNORM_PACK32 => {
                color(Unorm, [f(0, 10), f(10, 10), f(20, 10), f(30, 2)], 4)
            }
            F::R16_SFLOAT => color(Sfloat, array(16, 1), 2),
            F::R16_UINT => color(Uint, array(16, 1), 2),
            F::R16_SINT => color(Sint, array(16, 1), 2),
            F::R16_UNORM => color(Unorm, array(16, 1), 2),
            F::R16G16_SFLOAT => color(Sfloat, array(16, 2), 4),
            F::R16G16_UINT => color(Uint, array(16, 2), 4),
            F::R16G16_SINT => color(Sint, array(16, 2), 4),
            F::R16G16_UNORM => color(Unorm, array(16, 2), 4),
            F::R16G16B16A16_SFLOAT => color(Sfloat, array(16, 4), 8),
            F::R16G16B16A16_UINT => color(Uint, array(16, 4), 8),
            F::R16G16B16A16_SINT => color(Sint, array(16, 4), 8),
            F::R16G16B16A16_UNORM => color(Unorm, array(16, 4), 8),
            F::R32_SFLOAT => color(Sfloat, array(32, 1), 4),
            F::R32_UINT => color(Uint, array(32, 1), 4),
            F::R32_SINT => color(Sint, array(32, 1), 4),
            F::R32G32_SFLOAT => color(Sfloat, array(32, 2), 8),
            F::R32G32_UINT => color(Uint, array(32, 2), 8),
            F::R32G32_SINT => color(Sint, array(32, 2), 8),
            F::R32G32B32A32_SFLOAT => color(Sfloat, array(32, 4), 16),
            F::R32G32B32A32_UINT => color(Uint, array(32, 4), 16),
            F::R32G32B32A32_SINT => color(Sint, array(32, 4), 16),
            F::B10G11R11_UFLOAT_PACK32 => color(Ufloat, [f(0, 11), f(11, 11), f(22, 10), NONE], 4),
            F::D16_UNORM => depth(Unorm, 16, 2, false),
            F::D32_SFLOAT => depth(Sfloat, 32, 4, false),
            F::D24_UNORM_S8_UINT => depth(Unorm, 24, 4, true),
            F::D32_SFLOAT_S8_UINT => depth(Sfloat, 32, 4, true),
            F::S8_UINT => depth(Uint, 0, 0, true),
            other => {
                return Err(GpuError::Setup(format!(
                    "{other:?} is not a format these tests know"
                )))
            }
        })
    }

    pub fn is_depth_stencil(&self) -> bool {
        self.has_depth || self.has_stencil
    }

    /// The image aspects of the format.
    pub fn aspects(&self) -> vk::ImageAspectFlags {
        let mut a = vk::ImageAspectFlags::empty();
        if self.has_depth {
            a |= vk::ImageAspectFlags::DEPTH;
        }
        if self.has_stencil {
            a |= vk::ImageAspectFlags::STENCIL;
        }
        if a.is_empty() {
            a = vk::ImageAspectFlags::COLOR;
        }
        a
    }

    /// The number of channels present.
    pub fn channels(&self) -> usize {
        self.fields.iter().filter(|c| c.bits > 0).count()
    }

    /// The raw bit fields of one texel, in R, G, B, A order (absent channels 0).
    pub fn codes(&self, texel: &[u8]) -> [u64; 4] {
        let mut word = [0u8; 16];
        let n = texel.len().min(16);
        word[..n].copy_from_slice(&texel[..n]);
        let word = u128::from_le_bytes(word);
        self.fields.map(|c| {
            if c.bits == 0 {
                0
            } else {
                ((word >> c.offset) & ((1u128 << c.bits) - 1)) as u64
            }
        })
    }

    /// The codes a value encodes to, per channel: `value` is a float for normalized and float
    /// formats and an integer for UINT/SINT (two's complement in the field's width).
    pub fn encode(&self, value: [f64; 4]) -> [u64; 4] {
        let mut out = [0u64; 4];
        for (i, c) in self.fields.iter().enumerate() {
            if c.bits > 0 {
                out[i] = encode_channel(self.numeric, c.bits, i == 3, value[i]);
            }
        }
        out
    }

    /// The numeric value of a channel code (the inverse of [`FormatInfo::encode`]).
    pub fn decode_channel(&self, channel: usize, code: u64) -> f64 {
        let bits = self.fields.get(channel).map_or(0, |c| c.bits);
        if bits == 0 {
            return if channel == 3 { 1.0 } else { 0.0 };
        }
        let max = ((1u64 << bits) - 1) as f64;
        match self.numeric {
            Numeric::Unorm => code as f64 / max,
            Numeric::Srgb if channel == 3 => code as f64 / max,
            Numeric::Srgb => srgb_to_linear(code as f64 / max),
            Numeric::Snorm => {
                let half = ((1u64 << (bits - 1)) - 1) as f64;
                (sign_extend(code, bits) as f64 / half).max(-1.0)
            }
            Numeric::Uint => code as f64,
            Numeric::Sint => sign_extend(code, bits) as f64,
            Numeric::Sfloat if bits == 16 => f16_to_f64(code as u16),
            Numeric::Sfloat => f64::from(f32::from_bits(code as u32)),
            Numeric::Ufloat => small_float_to_f64(code, bits - 5),
        }
    }

    /// How one texel looks in an 8-bit RGBA picture: sRGB codes as stored, normalized and float
    /// values clamped to [0, 1] (SNORM mapped from [-1, 1]), integers by their low 8 bits.
    pub fn to_rgba8(&self, texel: &[u8]) -> [u8; 4] {
        let codes = self.codes(texel);
        let mut out = [0, 0, 0, 255];
        for (i, slot) in out.iter_mut().enumerate() {
            let bits = self.fields[i].bits;
            if bits == 0 {
                continue;
            }
            *slot = match self.numeric {
                Numeric::Uint | Numeric::Sint => (codes[i] & 0xff) as u8,
                Numeric::Srgb if bits == 8 => codes[i] as u8,
                Numeric::Snorm => to_u8((self.decode_channel(i, codes[i]) + 1.0) / 2.0),
                _ => to_u8(self.decode_channel(i, codes[i])),
            };
        }
        out
    }
}

fn to_u8(v: f64) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

fn sign_extend(code: u64, bits: u8) -> i64 {
    let shift = 64 - u32::from(bits);
    ((code << shift) as i64) >> shift
}

fn mask(bits: u8) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

fn encode_channel(numeric: Numeric, bits: u8, alpha: bool, v: f64) -> u64 {
    let max = mask(bits) as f64;
    match numeric {
        Numeric::Unorm => (v.clamp(0.0, 1.0) * max).round() as u64,
        Numeric::Srgb if alpha => (v.clamp(0.0, 1.0) * max).round() as u64,
        Numeric::Srgb => (linear_to_srgb(v.clamp(0.0, 1.0)) * max).round() as u64,
        Numeric::Snorm => {
            let half = mask(bits - 1) as f64;
            ((v.clamp(-1.0, 1.0) * half).round() as i64) as u64 & mask(bits)
        }
        Numeric::Uint | Numeric::Sint => (v as i64) as u64 & mask(bits),
        Numeric::Sfloat if bits == 16 => u64::from(f32_to_f16(v as f32)),
        Numeric::Sfloat => u64::from((v as f32).to_bits()),
        Numeric::Ufloat => f32_to_small_float(v as f32, bits - 5),
    }
}

/// The sRGB transfer function (IEC 61966-2-1), linear → encoded.
pub fn linear_to_srgb(l: f64) -> f64 {
    if l <= 0.003_130_8 {
        l * 12.92
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    }
}

/// The inverse sRGB transfer function, encoded → linear.
pub fn srgb_to_linear(s: f64) -> f64 {
    if s <= 0.040_45 {
        s / 12.92
    } else {
        ((s + 0.055) / 1.055).powf(2.4)
    }
}

/// f32 → IEEE half, round to nearest even; overflow to infinity, underflow through subnormals.
pub fn f32_to_f16(v: f32) -> u16 {
    let bits = v.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let mant = bits & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if mant != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let m = mant | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = m >> shift;
        let rem = m & ((1 << shift) - 1);
        let mid = 1 << (shift - 1);
        let round = u32::from(rem > mid || (rem == mid && half & 1 == 1));
        return sign | (half + round) as u16;
    }
    let half = ((e as u32) << 10) | (mant >> 13);
    let rem = mant & 0x1fff;
    let round = u32::from(rem > 0x1000 || (rem == 0x1000 && half & 1 == 1));
    sign | (half + round) as u16
}

/// IEEE half → f64.
pub fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let mant = f64::from(h & 0x3ff);
    match exp {
        0 => sign * mant * 2f64.powi(-24),
        0x1f if mant == 0.0 => sign * f64::INFINITY,
        0x1f => f64::NAN,
        _ => sign * (1.0 + mant / 1024.0) * 2f64.powi(exp - 15),
    }
}

/// A non-negative f32 → unsigned float with a 5-bit exponent and `mantissa_bits` (6 or 5),
/// truncating extra mantissa bits as B10G11R11 conversions may (values in the tests are exact).
fn f32_to_small_float(v: f32, mantissa_bits: u8) -> u64 {
    if v.is_nan() {
        return (0x1f << mantissa_bits) | 1;
    }
    if v <= 0.0 {
        return 0;
    }
    let bits = v.to_bits();
    let exp = ((bits >> 23) & 0xff) as i32 - 127 + 15;
    let mant = u64::from(bits & 0x7f_ffff) >> (23 - u32::from(mantissa_bits));
    if exp >= 0x1f {
        return 0x1f << mantissa_bits;
    }
    if exp <= 0 {
        return 0;
    }
    ((exp as u64) << mantissa_bits) | mant
}

fn small_float_to_f64(code: u64, mantissa_bits: u8) -> f64 {
    let exp = ((code >> mantissa_bits) & 0x1f) as i32;
    let mant = (code & mask(mantissa_bits)) as f64;
    let scale = f64::from(1u32 << mantissa_bits);
    match exp {
        0 => mant / scale * 2f64.powi(-14),
        0x1f => f64::INFINITY,
        _ => (1.0 + mant / scale) * 2f64.powi(exp - 15),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn half_round_trips_representable_values_and_rounds_to_even() {
        for v in [
            0.0f32,
            1.0,
            -2.0,
            0.5,
            0.25,
            65504.0,
            2f32.powi(-24),
            0.333_251_95,
        ] {
            assert_eq!(f16_to_f64(f32_to_f16(v)) as f32, v, "{v}");
        }
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        // 1 + 2^-11 lies halfway between 1 and the next half; ties go to the even mantissa.
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
        assert_eq!(f32_to_f16(1e6), 0x7c00);
    }

    #[test]
    fn bgra_and_packed_layouts_put_channels_where_vulkan_does() {
        let bgra = FormatInfo::of(vk::Format::B8G8R8A8_UNORM).unwrap();
        assert_eq!(bgra.codes(&[1, 2, 3, 4]), [3, 2, 1, 4]);
        let a2 = FormatInfo::of(vk::Format::A2B10G10R10_UNORM_PACK32).unwrap();
        let word: u32 = 0x3ff | (1 << 30);
        assert_eq!(a2.codes(&word.to_le_bytes()), [0x3ff, 0, 0, 1]);
        assert_eq!(a2.encode([1.0, 0.0, 0.5, 1.0]), [1023, 0, 512, 3]);
    }

    #[test]
    fn snorm_and_sint_encode_as_twos_complement_and_decode_back() {
        let s = FormatInfo::of(vk::Format::R8G8_SNORM).unwrap();
        assert_eq!(s.encode([-1.0, 0.5, 0.0, 0.0])[..2], [0x81, 64]);
        assert_eq!(s.decode_channel(0, 0x80), -1.0);
        let i = FormatInfo::of(vk::Format::R16_SINT).unwrap();
        assert_eq!(i.encode([-3.0, 0.0, 0.0, 0.0])[0], 0xfffd);
        assert_eq!(i.decode_channel(0, 0xfffd), -3.0);
    }

    #[test]
    fn small_floats_encode_exact_values() {
        let b = FormatInfo::of(vk::Format::B10G11R11_UFLOAT_PACK32).unwrap();
        let codes = b.encode([1.0, 0.5, 2.0, 0.0]);
        assert_eq!(codes[0], 15 << 6);
        assert_eq!(b.decode_channel(1, codes[1]), 0.5);
        assert_eq!(b.decode_channel(2, codes[2]), 2.0);
    }

    #[test]
    fn srgb_encodes_through_the_transfer_function_but_not_alpha() {
        let s = FormatInfo::of(vk::Format::R8G8B8A8_SRGB).unwrap();
        assert_eq!(s.encode([0.5, 1.0, 0.0, 0.5]), [188, 255, 0, 128]);
        assert_eq!(s.to_rgba8(&[188, 255, 0, 128]), [188, 255, 0, 128]);
    }

    #[test]
    fn unknown_formats_are_refused() {
        assert!(FormatInfo::of(vk::Format::ASTC_4X4_UNORM_BLOCK).is_err());
    }
}
