//! Vertex attribute formats: which `VkFormat`s a vertex buffer may use, and how an
//! attribute's bytes become the four 32-bit words a vertex shader input reads (Vulkan §22.4
//! "Vertex Input Extraction", §3.9 "Fixed-Point Data Conversions").
//!
//! Which formats these are, and their layouts, is `protocol::vertex_format`'s table (the ICD
//! reports the same set); this module decodes them.

use crate::format::convert::{
    f16_to_f32, sign_extend, snorm_to_float, uf10_to_f32, uf11_to_f32, unorm_to_float,
};

use super::DrawError;
pub use protocol::vertex_format::{AttributeClass, AttributeLayout};

/// A supported vertex attribute format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VertexFormat {
    vk: u32,
    class: AttributeClass,
    layout: AttributeLayout,
}

impl VertexFormat {
    /// The format with raw `VkFormat` number `raw`, if it may be a vertex attribute.
    pub fn from_vk(raw: u32) -> Result<VertexFormat, DrawError> {
        let (class, layout) = protocol::vertex_format::vertex_attribute_format(raw)
            .ok_or(DrawError::UnsupportedVertexFormat(raw))?;
        Ok(VertexFormat {
            vk: raw,
            class,
            layout,
        })
    }

    pub fn vk(self) -> u32 {
        self.vk
    }

    pub fn class(self) -> AttributeClass {
        self.class
    }

    pub fn layout(self) -> AttributeLayout {
        self.layout
    }

    /// Bytes one attribute occupies.
    pub fn size(self) -> usize {
        match self.layout {
            AttributeLayout::Array { channels, bits, .. } => {
                usize::from(channels) * usize::from(bits / 8)
            }
            AttributeLayout::Packed1010102 { .. } | AttributeLayout::Packed111110 => 4,
        }
    }

    /// The attribute's value as four shader words (f32 bits for float classes, integer bits
    /// for UINT/SINT), missing components filled with (0, 0, 0, 1). `bytes` shorter than
    /// [`Self::size`] reads as zeros past its end.
    pub fn fetch(self, bytes: &[u8]) -> [u32; 4] {
        let mut raw = [0u8; 16];
        let n = bytes.len().min(self.size());
        raw[..n].copy_from_slice(&bytes[..n]);
        let word = |at: usize, len: usize| {
            let mut w = [0u8; 4];
            w[..len].copy_from_slice(&raw[at..at + len]);
            u32::from_le_bytes(w)
        };
        let one = if self.class.is_integer() {
            1
        } else {
            1.0f32.to_bits()
        };
        let mut out = [0, 0, 0, one];
        match self.layout {
            AttributeLayout::Array {
                channels,
                bits,
                bgr,
            } => {
                let bytes_per = usize::from(bits / 8);
                for c in 0..usize::from(channels) {
                    let code = word(c * bytes_per, bytes_per);
                    let dst = if bgr && c < 3 { 2 - c } else { c };
                    out[dst] = self.convert(code, u32::from(bits));
                }
            }
            AttributeLayout::Packed1010102 { bgr } => {
                let packed = word(0, 4);
                for c in 0..3 {
                    let code = (packed >> (10 * c)) & 0x3ff;
                    let dst = if bgr { 2 - c } else { c };
                    out[dst] = self.convert(code, 10);
                }
                out[3] = self.convert(packed >> 30, 2);
            }
            AttributeLayout::Packed111110 => {
                let packed = word(0, 4);
                out[0] = uf11_to_f32(packed & 0x7ff).to_bits();
                out[1] = uf11_to_f32((packed >> 11) & 0x7ff).to_bits();
                out[2] = uf10_to_f32(packed >> 22).to_bits();
                out[3] = 1.0f32.to_bits();
            }
        }
        out
    }

    /// Where shader component `component` (0..4, R G B A) of this format comes from, for
    /// bulk fetch: the same values [`Self::fetch`] gives, one component at a time.
    pub(crate) fn component_source(self, component: usize) -> ComponentSource {
        let missing = if component == 3 {
            if self.class.is_integer() {
                1
            } else {
                1.0f32.to_bits()
            }
        } else {
            0
        };
        match self.layout {
            AttributeLayout::Array {
                channels,
                bits,
                bgr,
            } => {
                // Memory channel `c` lands in component `2 - c` for c < 3 when `bgr`; the map
                // is its own inverse.
                let channel = if bgr && component < 3 {
                    2 - component
                } else {
                    component
                };
                if channel >= usize::from(channels) {
                    return ComponentSource::Constant(missing);
                }
                let bytes = usize::from(bits / 8);
                ComponentSource::Bits {
                    offset: channel * bytes,
                    bytes,
                    shift: 0,
                    bits: u32::from(bits),
                }
            }
            AttributeLayout::Packed1010102 { bgr } => {
                let field = match component {
                    3 => 3,
                    c if bgr => 2 - c,
                    c => c,
                };
                let (shift, bits) = if field == 3 {
                    (30, 2)
                } else {
                    (10 * field as u32, 10)
                };
                ComponentSource::Bits {
                    offset: 0,
                    bytes: 4,
                    shift,
                    bits,
                }
            }
            AttributeLayout::Packed111110 => match component {
                0 => ComponentSource::Bits {
                    offset: 0,
                    bytes: 4,
                    shift: 0,
                    bits: 11,
                },
                1 => ComponentSource::Bits {
                    offset: 0,
                    bytes: 4,
                    shift: 11,
                    bits: 11,
                },
                2 => ComponentSource::Bits {
                    offset: 0,
                    bytes: 4,
                    shift: 22,
                    bits: 10,
                },
                _ => ComponentSource::Constant(missing),
            },
        }
    }

    /// One component's `bits`-bit code as a shader word (what [`Self::fetch`] does per
    /// component; [`ComponentSource::Bits`] says which code and width).
    pub(crate) fn convert(self, code: u32, bits: u32) -> u32 {
        match self.class {
            AttributeClass::Unorm => unorm_to_float(code, bits).to_bits(),
            AttributeClass::Snorm => snorm_to_float(code, bits).to_bits(),
            AttributeClass::Uscaled => (code as f32).to_bits(),
            AttributeClass::Sscaled => (sign_extend(code, bits) as f32).to_bits(),
            AttributeClass::Uint => code,
            AttributeClass::Sint => sign_extend(code, bits) as u32,
            AttributeClass::Sfloat => match bits {
                16 => f16_to_f32(code as u16).to_bits(),
                _ => code,
            },
            // Only B10G11R11 is unsigned-float: 11-bit R and G, 10-bit B.
            AttributeClass::Ufloat => match bits {
                11 => uf11_to_f32(code).to_bits(),
                10 => uf10_to_f32(code).to_bits(),
                _ => code,
            },
        }
    }
}

/// Where one shader component of an attribute comes from (see
/// [`VertexFormat::component_source`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ComponentSource {
    /// The format has no such component: this word for every vertex.
    Constant(u32),
    /// Bits `shift .. shift + bits` of the `bytes` (1, 2 or 4) little-endian bytes at
    /// `offset` in the attribute, converted by [`VertexFormat::convert`].
    Bits {
        offset: usize,
        bytes: usize,
        shift: u32,
        bits: u32,
    },
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn f(words: [u32; 4]) -> [f32; 4] {
        words.map(f32::from_bits)
    }

    #[test]
    fn every_decodable_format_has_a_sane_size_and_fetches_short_input_as_zero() {
        let mut count = 0;
        for raw in 0..200 {
            if let Ok(format) = VertexFormat::from_vk(raw) {
                count += 1;
                assert!((1..=16).contains(&format.size()), "{raw}");
                let zeros = format.fetch(&[]);
                assert_eq!(&zeros[..3], &[0, 0, 0], "{raw}");
            }
        }
        // 7 eight-bit families × 6 + 2 × 6 packed + 4 × 7 sixteen-bit + 4 × 3 + B10G11R11.
        assert_eq!(count, 7 * 6 + 12 + 28 + 12 + 1);
        assert!(VertexFormat::from_vk(15).is_err(), "sRGB is refused");
        assert!(VertexFormat::from_vk(110).is_err(), "64-bit is refused");
        assert!(VertexFormat::from_vk(0).is_err());
    }

    #[test]
    fn normalized_formats_convert_by_the_spec_rules() {
        let unorm = VertexFormat::from_vk(37).unwrap(); // R8G8B8A8_UNORM
        assert_eq!(
            f(unorm.fetch(&[0, 255, 51, 128])),
            [0.0, 1.0, 0.2, 128.0 / 255.0]
        );
        let snorm = VertexFormat::from_vk(10).unwrap(); // R8_SNORM
        assert_eq!(f(snorm.fetch(&[0x80])), [-1.0, 0.0, 0.0, 1.0]);
        assert_eq!(f(snorm.fetch(&[0x81])), [-1.0, 0.0, 0.0, 1.0]);
        let bgra = VertexFormat::from_vk(44).unwrap(); // B8G8R8A8_UNORM
        assert_eq!(f(bgra.fetch(&[255, 0, 0, 255])), [0.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn integer_formats_keep_integer_bits_and_default_alpha_one() {
        let sint = VertexFormat::from_vk(82).unwrap(); // R16G16_SINT
        let w = sint.fetch(&[0xff, 0xff, 2, 0]);
        assert_eq!(w, [(-1i32) as u32, 2, 0, 1]);
        let uscaled = VertexFormat::from_vk(72).unwrap(); // R16_USCALED
        assert_eq!(f(uscaled.fetch(&[0x10, 0x27])), [10000.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn component_sources_give_what_fetch_gives_for_every_format() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        for raw in 0..200 {
            let Ok(format) = VertexFormat::from_vk(raw) else {
                continue;
            };
            for _ in 0..64 {
                let mut bytes = [0u8; 16];
                for b in &mut bytes {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    *b = (seed >> 56) as u8;
                }
                let bytes = &bytes[..format.size()];
                let expected = format.fetch(bytes);
                for (component, &want) in expected.iter().enumerate() {
                    let got = match format.component_source(component) {
                        ComponentSource::Constant(word) => word,
                        ComponentSource::Bits {
                            offset,
                            bytes: len,
                            shift,
                            bits,
                        } => {
                            let mut w = [0u8; 4];
                            w[..len].copy_from_slice(&bytes[offset..offset + len]);
                            let code = (u32::from_le_bytes(w) >> shift) & (u32::MAX >> (32 - bits));
                            format.convert(code, bits)
                        }
                    };
                    assert_eq!(got, want, "format {raw} component {component} of {bytes:?}");
                }
            }
        }
    }

    #[test]
    fn packed_formats_place_components_by_their_bit_layout() {
        let a2b10 = VertexFormat::from_vk(64).unwrap(); // A2B10G10R10_UNORM
                                                        // R = 1023, G = 0, B = 1023, A = 3.
        let packed: u32 = 0x3ff | (0x3ff << 20) | (3 << 30);
        assert_eq!(f(a2b10.fetch(&packed.to_le_bytes())), [1.0, 0.0, 1.0, 1.0]);
        let a2r10 = VertexFormat::from_vk(62).unwrap(); // A2R10G10B10_UINT
        let packed: u32 = 1 | (2 << 10) | (3 << 20) | (1 << 30);
        assert_eq!(a2r10.fetch(&packed.to_le_bytes()), [3, 2, 1, 1]);
        let half = VertexFormat::from_vk(83).unwrap(); // R16G16_SFLOAT
        assert_eq!(
            f(half.fetch(&[0x00, 0x3c, 0x00, 0xc0])),
            [1.0, -2.0, 0.0, 1.0]
        );
        let rgb32 = VertexFormat::from_vk(106).unwrap();
        assert_eq!(rgb32.size(), 12);
    }
}
