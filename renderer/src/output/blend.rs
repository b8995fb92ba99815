//! Blending (Vulkan §29.12 "Blending") in f32 on unpacked values, and the colour write mask
//! as a byte mask over a packed texel, so masked-out components keep their exact bits.

use crate::format::{Encoding, Format, NumericClass};

use super::state::{component, BlendFactor, BlendOp, BlendState};

/// Largest texel of a colour format (RGBA32).
pub(crate) const MAX_TEXEL: usize = 16;

/// Clamps a value the way a fixed-point attachment sees it: sources, destinations, constants
/// and factors are clamped to [0, 1] (UNORM, sRGB) or [−1, 1] (SNORM) before blending.
pub(crate) fn clamp_for(class: NumericClass, v: [f32; 4]) -> [f32; 4] {
    v.map(|c| clamp_one(class, c))
}

/// [`clamp_for`] of one value.
#[inline]
pub(crate) fn clamp_one(class: NumericClass, c: f32) -> f32 {
    match class {
        NumericClass::Unorm | NumericClass::Srgb => c.clamp(0.0, 1.0),
        NumericClass::Snorm => c.clamp(-1.0, 1.0),
        _ => c,
    }
}

fn factor(f: BlendFactor, i: usize, src: &[f32; 4], dst: &[f32; 4], constants: &[f32; 4]) -> f32 {
    let alpha = i == 3;
    match f {
        BlendFactor::Zero => 0.0,
        BlendFactor::One => 1.0,
        BlendFactor::SrcColor => src[i],
        BlendFactor::OneMinusSrcColor => 1.0 - src[i],
        BlendFactor::DstColor => dst[i],
        BlendFactor::OneMinusDstColor => 1.0 - dst[i],
        BlendFactor::SrcAlpha => src[3],
        BlendFactor::OneMinusSrcAlpha => 1.0 - src[3],
        BlendFactor::DstAlpha => dst[3],
        BlendFactor::OneMinusDstAlpha => 1.0 - dst[3],
        BlendFactor::ConstantColor => constants[i],
        BlendFactor::OneMinusConstantColor => 1.0 - constants[i],
        BlendFactor::ConstantAlpha => constants[3],
        BlendFactor::OneMinusConstantAlpha => 1.0 - constants[3],
        BlendFactor::SrcAlphaSaturate if alpha => 1.0,
        BlendFactor::SrcAlphaSaturate => src[3].min(1.0 - dst[3]),
        // Refused when the sink is built; zero keeps this total.
        BlendFactor::Src1Color
        | BlendFactor::OneMinusSrc1Color
        | BlendFactor::Src1Alpha
        | BlendFactor::OneMinusSrc1Alpha => 0.0,
    }
}

fn combine(op: BlendOp, s: f32, sf: f32, d: f32, df: f32) -> f32 {
    match op {
        BlendOp::Add => s * sf + d * df,
        BlendOp::Subtract => s * sf - d * df,
        BlendOp::ReverseSubtract => d * df - s * sf,
        BlendOp::Min => s.min(d),
        BlendOp::Max => s.max(d),
    }
}

/// The blended value of one fragment. `src`, `dst` and `constants` are already clamped for
/// the attachment's class (see [`clamp_for`]); so are the factors computed from them, except
/// `1 − x` of an SNORM value, which the spec clamps too.
pub(crate) fn blend(
    state: &BlendState,
    class: NumericClass,
    src: [f32; 4],
    dst: [f32; 4],
    constants: &[f32; 4],
) -> [f32; 4] {
    let mut out = [0.0; 4];
    for (i, value) in out.iter_mut().enumerate() {
        let (sf, df, op) = if i == 3 {
            (state.src_alpha, state.dst_alpha, state.alpha_op)
        } else {
            (state.src_color, state.dst_color, state.color_op)
        };
        let fac = |f| {
            let v = factor(f, i, &src, &dst, constants);
            clamp_for(class, [v; 4])[0]
        };
        *value = canonical_nan(combine(op, src[i], fac(sf), dst[i], fac(df)));
    }
    out
}

/// `v`, with any NaN replaced by the one quiet NaN: the sign and payload of a NaN that an
/// operation produces are not fixed (the compiler may swap the operands of `*` and `+`), and
/// formats that keep NaN payloads (16- and 32-bit floats) must not store chance bits.
#[inline(always)]
pub(crate) fn canonical_nan(v: f32) -> f32 {
    if v.is_nan() {
        f32::NAN
    } else {
        v
    }
}

/// Bytes of a packed `format` texel that belong to the components in `write_mask`
/// (bit set = written). Components the format lacks are ignored.
pub(crate) fn write_byte_mask(format: Format, write_mask: u8) -> [u8; MAX_TEXEL] {
    // (first bit, bit count) of R, G, B, A in the little-endian texel.
    let fields: [(u32, u32); 4] = match format.info().encoding {
        Encoding::Array { channels, bits } => {
            let b = u32::from(bits);
            let mut f = [(0, 0); 4];
            for (i, field) in f.iter_mut().enumerate().take(usize::from(channels)) {
                *field = (i as u32 * b, b);
            }
            f
        }
        Encoding::Bgra8 => [(16, 8), (8, 8), (0, 8), (24, 8)],
        Encoding::A2B10G10R10 => [(0, 10), (10, 10), (20, 10), (30, 2)],
        Encoding::B10G11R11 => [(0, 11), (11, 11), (22, 10), (0, 0)],
        _ => [(0, 0); 4],
    };
    let mut mask = [0u8; MAX_TEXEL];
    let bits = [component::R, component::G, component::B, component::A];
    for (field, bit) in fields.iter().zip(bits) {
        if write_mask & bit == 0 {
            continue;
        }
        for b in field.0..field.0 + field.1 {
            if let Some(byte) = mask.get_mut((b / 8) as usize) {
                *byte |= 1 << (b % 8);
            }
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_saturate_uses_one_for_alpha_and_min_for_colour() {
        let state = BlendState {
            src_color: BlendFactor::SrcAlphaSaturate,
            src_alpha: BlendFactor::SrcAlphaSaturate,
            dst_color: BlendFactor::Zero,
            dst_alpha: BlendFactor::Zero,
            ..BlendState::ALPHA
        };
        let out = blend(
            &state,
            NumericClass::Sfloat,
            [1.0, 1.0, 1.0, 0.75],
            [0.0, 0.0, 0.0, 0.5],
            &[0.0; 4],
        );
        assert_eq!(out, [0.5, 0.5, 0.5, 0.75]);
    }

    #[test]
    fn min_and_max_ignore_the_factors() {
        let state = BlendState {
            color_op: BlendOp::Min,
            alpha_op: BlendOp::Max,
            src_color: BlendFactor::Zero,
            dst_color: BlendFactor::Zero,
            ..BlendState::ALPHA
        };
        let out = blend(
            &state,
            NumericClass::Unorm,
            [0.2, 0.9, 0.5, 0.1],
            [0.4, 0.3, 0.5, 0.6],
            &[0.0; 4],
        );
        assert_eq!(out, [0.2, 0.3, 0.5, 0.6]);
    }

    #[test]
    fn write_mask_selects_component_bits_of_packed_formats() {
        let m = write_byte_mask(Format::B8G8R8A8_UNORM, component::R);
        assert_eq!(&m[..4], &[0, 0, 0xff, 0]);
        let m = write_byte_mask(Format::A2B10G10R10_UNORM_PACK32, component::A);
        assert_eq!(u32::from_le_bytes([m[0], m[1], m[2], m[3]]), 0xc000_0000);
        let m = write_byte_mask(Format::R16G16_SFLOAT, component::G | component::A);
        assert_eq!(&m[..4], &[0, 0, 0xff, 0xff]);
    }
}
