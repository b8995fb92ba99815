//! Packing values into one texel's bytes and unpacking them, for every [`Format`].
//!
//! Texels are little-endian byte slices of exactly `format.texel_size()` bytes; a wrong length
//! is an error, never a panic. Missing components read as 0 (R, G, B) and 1 (A), as Vulkan's
//! "Conversion to RGBA" rule says.

use super::convert::*;
use super::{aspect, Encoding, Format, FormatError, NumericClass, ValueKind};

/// A color value in one of the three shader-visible types.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ColorValue {
    Float([f32; 4]),
    Uint([u32; 4]),
    Sint([i32; 4]),
}

impl ColorValue {
    /// Reads a `VkClearColorValue` union (`raw` is its four 32-bit words) the way `format`
    /// does: float32, uint32 or int32 by the format's numeric class.
    pub fn from_clear_words(format: Format, raw: [u32; 4]) -> ColorValue {
        match format.info().class.value_kind() {
            ValueKind::Float => ColorValue::Float(raw.map(f32::from_bits)),
            ValueKind::Uint => ColorValue::Uint(raw),
            ValueKind::Sint => ColorValue::Sint(raw.map(|w| w as i32)),
        }
    }

    pub fn kind(&self) -> ValueKind {
        match self {
            ColorValue::Float(_) => ValueKind::Float,
            ColorValue::Uint(_) => ValueKind::Uint,
            ColorValue::Sint(_) => ValueKind::Sint,
        }
    }
}

fn check_len(format: Format, len: usize) -> Result<(), FormatError> {
    let wanted = usize::from(format.info().texel_size);
    if len == wanted {
        Ok(())
    } else {
        Err(FormatError::TexelSize {
            format,
            given: len,
            wanted,
        })
    }
}

fn read_le(bytes: &[u8], at: usize, n: usize) -> u32 {
    let mut raw = [0u8; 4];
    raw[..n].copy_from_slice(&bytes[at..at + n]);
    u32::from_le_bytes(raw)
}

fn write_le(bytes: &mut [u8], at: usize, n: usize, value: u32) {
    bytes[at..at + n].copy_from_slice(&value.to_le_bytes()[..n]);
}

/// One component: float → code of `bits` bits for a float-valued class.
fn float_to_code(class: NumericClass, bits: u32, value: f32, is_alpha: bool) -> u32 {
    match (class, bits) {
        (NumericClass::Srgb, _) if !is_alpha => float_to_unorm(linear_to_srgb(value), bits),
        (NumericClass::Unorm | NumericClass::Srgb, _) => float_to_unorm(value, bits),
        (NumericClass::Snorm, _) => float_to_snorm(value, bits),
        (_, 16) => u32::from(f32_to_f16(value)),
        _ => value.to_bits(),
    }
}

fn code_to_float(class: NumericClass, bits: u32, code: u32, is_alpha: bool) -> f32 {
    match (class, bits) {
        (NumericClass::Srgb, _) if !is_alpha => srgb_to_linear(unorm_to_float(code, bits)),
        (NumericClass::Unorm | NumericClass::Srgb, _) => unorm_to_float(code, bits),
        (NumericClass::Snorm, _) => snorm_to_float(code, bits),
        (_, 16) => f16_to_f32(code as u16),
        _ => f32::from_bits(code),
    }
}

/// Unsigned integer into `bits` bits, saturating (out-of-range integer writes are undefined
/// in Vulkan; saturating is what the fixed-function paths of most drivers do).
fn uint_to_code(value: u32, bits: u32) -> u32 {
    if bits >= 32 {
        value
    } else {
        value.min((1 << bits) - 1)
    }
}

fn sint_to_code(value: i32, bits: u32) -> u32 {
    if bits >= 32 {
        return value as u32;
    }
    let max = (1i32 << (bits - 1)) - 1;
    (value.clamp(-max - 1, max) as u32) & ((1 << bits) - 1)
}

/// Writes `value` into `texel` (a color format's whole texel).
pub fn pack_color(format: Format, value: ColorValue, texel: &mut [u8]) -> Result<(), FormatError> {
    let info = format.info();
    check_len(format, texel.len())?;
    let wanted = info.class.value_kind();
    if !format.is_color() {
        return Err(FormatError::NotColor { format });
    }
    if value.kind() != wanted {
        return Err(FormatError::ValueClassMismatch {
            format,
            given: value.kind().name(),
            wanted: wanted.name(),
        });
    }
    let code = |i: usize, bits: u32| match value {
        ColorValue::Float(v) => float_to_code(info.class, bits, v[i], i == 3),
        ColorValue::Uint(v) => uint_to_code(v[i], bits),
        ColorValue::Sint(v) => sint_to_code(v[i], bits),
    };
    match info.encoding {
        Encoding::Array { channels, bits } => {
            let n = usize::from(bits / 8);
            for i in 0..usize::from(channels) {
                write_le(texel, i * n, n, code(i, u32::from(bits)));
            }
        }
        Encoding::Bgra8 => {
            for (i, at) in [2usize, 1, 0, 3].into_iter().enumerate() {
                texel[at] = code(i, 8) as u8;
            }
        }
        Encoding::A2B10G10R10 => {
            let word = code(0, 10) | code(1, 10) << 10 | code(2, 10) << 20 | code(3, 2) << 30;
            write_le(texel, 0, 4, word);
        }
        Encoding::B10G11R11 => {
            let ColorValue::Float(v) = value else {
                return Err(FormatError::NotColor { format });
            };
            let word = f32_to_uf11(v[0]) | f32_to_uf11(v[1]) << 11 | f32_to_uf10(v[2]) << 22;
            write_le(texel, 0, 4, word);
        }
        _ => return Err(FormatError::NotColor { format }),
    }
    Ok(())
}

/// Reads a color format's texel.
pub fn unpack_color(format: Format, texel: &[u8]) -> Result<ColorValue, FormatError> {
    let info = format.info();
    check_len(format, texel.len())?;
    let mut codes = [0u32; 4];
    let (channels, bits): (usize, [u32; 4]) = match info.encoding {
        Encoding::Array { channels, bits } => {
            let n = usize::from(bits / 8);
            for (i, c) in codes.iter_mut().enumerate().take(usize::from(channels)) {
                *c = read_le(texel, i * n, n);
            }
            (usize::from(channels), [u32::from(bits); 4])
        }
        Encoding::Bgra8 => {
            codes = [texel[2], texel[1], texel[0], texel[3]].map(u32::from);
            (4, [8; 4])
        }
        Encoding::A2B10G10R10 => {
            let w = read_le(texel, 0, 4);
            codes = [w & 0x3ff, (w >> 10) & 0x3ff, (w >> 20) & 0x3ff, w >> 30];
            (4, [10, 10, 10, 2])
        }
        Encoding::B10G11R11 => {
            let w = read_le(texel, 0, 4);
            let rgb = [uf11_to_f32(w), uf11_to_f32(w >> 11), uf10_to_f32(w >> 22)];
            return Ok(ColorValue::Float([rgb[0], rgb[1], rgb[2], 1.0]));
        }
        _ => return Err(FormatError::NotColor { format }),
    };
    Ok(match info.class.value_kind() {
        ValueKind::Float => {
            let mut v = [0.0, 0.0, 0.0, 1.0];
            for i in 0..channels {
                v[i] = code_to_float(info.class, bits[i], codes[i], i == 3);
            }
            ColorValue::Float(v)
        }
        ValueKind::Uint => {
            let mut v = [0, 0, 0, 1];
            v[..channels].copy_from_slice(&codes[..channels]);
            ColorValue::Uint(v)
        }
        ValueKind::Sint => {
            let mut v = [0, 0, 0, 1];
            for i in 0..channels {
                v[i] = sign_extend(codes[i], bits[i]);
            }
            ColorValue::Sint(v)
        }
    })
}

/// Writes the depth component of a depth (or depth/stencil) texel, leaving stencil alone.
/// UNORM depth is clamped to [0, 1]; D32_SFLOAT stores the value as given.
pub fn pack_depth(format: Format, depth: f32, texel: &mut [u8]) -> Result<(), FormatError> {
    check_len(format, texel.len())?;
    match format.info().encoding {
        Encoding::D16 => write_le(texel, 0, 2, float_to_unorm(depth, 16)),
        Encoding::D24S8 => write_le(texel, 0, 3, float_to_unorm(depth, 24)),
        Encoding::D32 | Encoding::D32S8 => write_le(texel, 0, 4, depth.to_bits()),
        _ => return Err(FormatError::NoDepth { format }),
    }
    Ok(())
}

pub fn unpack_depth(format: Format, texel: &[u8]) -> Result<f32, FormatError> {
    check_len(format, texel.len())?;
    match format.info().encoding {
        Encoding::D16 => Ok(unorm_to_float(read_le(texel, 0, 2), 16)),
        Encoding::D24S8 => Ok(unorm_to_float(read_le(texel, 0, 3), 24)),
        Encoding::D32 | Encoding::D32S8 => Ok(f32::from_bits(read_le(texel, 0, 4))),
        _ => Err(FormatError::NoDepth { format }),
    }
}

/// Byte of the stencil component inside a texel.
fn stencil_byte(format: Format) -> Result<usize, FormatError> {
    match format.info().encoding {
        Encoding::S8 => Ok(0),
        Encoding::D24S8 => Ok(3),
        Encoding::D32S8 => Ok(4),
        _ => Err(FormatError::NoStencil { format }),
    }
}

pub fn pack_stencil(format: Format, stencil: u8, texel: &mut [u8]) -> Result<(), FormatError> {
    check_len(format, texel.len())?;
    texel[stencil_byte(format)?] = stencil;
    Ok(())
}

pub fn unpack_stencil(format: Format, texel: &[u8]) -> Result<u8, FormatError> {
    check_len(format, texel.len())?;
    Ok(texel[stencil_byte(format)?])
}

/// The bytes of one aspect of `texel` as a buffer copy lays them out
/// ([`Format::aspect_copy_size`] bytes; X8_D24 has its top byte 0).
pub fn aspect_to_copy(
    format: Format,
    aspect_mask: u32,
    texel: &[u8],
    out: &mut [u8],
) -> Result<(), FormatError> {
    check_len(format, texel.len())?;
    match aspect_mask {
        aspect::COLOR if format.is_color() => out.copy_from_slice(texel),
        aspect::STENCIL => out[0] = unpack_stencil(format, texel)?,
        aspect::DEPTH => match format.info().encoding {
            Encoding::D16 => out.copy_from_slice(texel),
            Encoding::D24S8 => write_le(out, 0, 4, read_le(texel, 0, 3)),
            Encoding::D32 | Encoding::D32S8 => out.copy_from_slice(&texel[..4]),
            _ => return Err(FormatError::NoDepth { format }),
        },
        _ => return Err(FormatError::NotColor { format }),
    }
    Ok(())
}

/// Stores one aspect's copy bytes (see [`aspect_to_copy`]) into `texel`, leaving the other
/// aspect unchanged.
pub fn aspect_from_copy(
    format: Format,
    aspect_mask: u32,
    input: &[u8],
    texel: &mut [u8],
) -> Result<(), FormatError> {
    check_len(format, texel.len())?;
    match aspect_mask {
        aspect::COLOR if format.is_color() => texel.copy_from_slice(input),
        aspect::STENCIL => pack_stencil(format, input[0], texel)?,
        aspect::DEPTH => match format.info().encoding {
            Encoding::D16 => texel.copy_from_slice(input),
            Encoding::D24S8 => texel[..3].copy_from_slice(&input[..3]),
            Encoding::D32 | Encoding::D32S8 => texel[..4].copy_from_slice(input),
            _ => return Err(FormatError::NoDepth { format }),
        },
        _ => return Err(FormatError::NotColor { format }),
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bgra_swaps_red_and_blue_in_memory() {
        let mut t = [0u8; 4];
        pack_color(
            Format::B8G8R8A8_UNORM,
            ColorValue::Float([1.0, 0.5, 0.0, 0.2]),
            &mut t,
        )
        .unwrap();
        assert_eq!(t, [0, 128, 255, 51]);
    }

    #[test]
    fn wrong_value_kind_or_length_is_an_error() {
        let mut t = [0u8; 4];
        assert!(matches!(
            pack_color(Format::R8G8B8A8_UINT, ColorValue::Float([0.0; 4]), &mut t),
            Err(FormatError::ValueClassMismatch { .. })
        ));
        assert!(matches!(
            pack_color(
                Format::R8G8B8A8_UNORM,
                ColorValue::Float([0.0; 4]),
                &mut t[..3]
            ),
            Err(FormatError::TexelSize { .. })
        ));
        assert!(pack_depth(Format::R32_SFLOAT, 0.5, &mut t).is_err());
        assert!(unpack_stencil(Format::D32_SFLOAT, &t).is_err());
    }

    #[test]
    fn depth_and_stencil_of_combined_formats_do_not_disturb_each_other() {
        let mut t = [0u8; 4];
        pack_stencil(Format::D24_UNORM_S8_UINT, 0xab, &mut t).unwrap();
        pack_depth(Format::D24_UNORM_S8_UINT, 1.0, &mut t).unwrap();
        assert_eq!(u32::from_le_bytes(t), 0xabff_ffff);
        let mut copy = [9u8; 4];
        aspect_to_copy(Format::D24_UNORM_S8_UINT, aspect::DEPTH, &t, &mut copy).unwrap();
        assert_eq!(u32::from_le_bytes(copy), 0x00ff_ffff);
    }
}
