//! Image formats, one table for both sides: which `VkFormat`s softgpu stores, how big a texel
//! is, which aspects it has and how its bits encode values. The ICD answers format and
//! memory-requirement queries from it; the device's renderer packs and unpacks texels by it
//! (`renderer::format::texel`).
//!
//! Formats are named by their raw `VkFormat` numbers (neither side's core depends on `ash`);
//! everything else about a format comes from the one table in [`Format::info`].

/// Errors of format lookups and texel encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("VkFormat {0} is not supported")]
    Unsupported(u32),
    #[error("format {format:?} is not a color format")]
    NotColor { format: Format },
    #[error("format {format:?} has no depth aspect")]
    NoDepth { format: Format },
    #[error("format {format:?} has no stencil aspect")]
    NoStencil { format: Format },
    #[error("a {given} value cannot be written to {format:?}, whose components are {wanted}")]
    ValueClassMismatch {
        format: Format,
        given: &'static str,
        wanted: &'static str,
    },
    #[error("texel of {given} bytes for {format:?}, which needs {wanted}")]
    TexelSize {
        format: Format,
        given: usize,
        wanted: usize,
    },
}

/// How a component's bits map to a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumericClass {
    Unorm,
    Snorm,
    Uint,
    Sint,
    /// UNORM with the sRGB transfer function on R, G and B (alpha stays linear).
    Srgb,
    Sfloat,
    Ufloat,
}

impl NumericClass {
    /// Which member of `VkClearColorValue` (and of a shader's output type) this class uses.
    pub fn value_kind(self) -> ValueKind {
        match self {
            NumericClass::Uint => ValueKind::Uint,
            NumericClass::Sint => ValueKind::Sint,
            _ => ValueKind::Float,
        }
    }
}

/// The three views of a `VkClearColorValue` union.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Float,
    Uint,
    Sint,
}

impl ValueKind {
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::Float => "float",
            ValueKind::Uint => "uint",
            ValueKind::Sint => "sint",
        }
    }
}

/// `VkImageAspectFlagBits` values.
pub mod aspect {
    pub const COLOR: u32 = 0x1;
    pub const DEPTH: u32 = 0x2;
    pub const STENCIL: u32 = 0x4;
}

/// How the components sit in a texel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `channels` components of `bits` bits each, in R, G, B, A order in memory.
    Array { channels: u8, bits: u8 },
    /// B8G8R8A8: R and B swapped in memory.
    Bgra8,
    /// A2B10G10R10_PACK32: R in bits 0..10, G 10..20, B 20..30, A 30..32.
    A2B10G10R10,
    /// B10G11R11_UFLOAT_PACK32: R 11 bits at 0, G 11 bits at 11, B 10 bits at 22.
    B10G11R11,
    /// D16_UNORM.
    D16,
    /// D32_SFLOAT.
    D32,
    /// S8_UINT.
    S8,
    /// D24_UNORM_S8_UINT: one little-endian u32, depth in bits 0..24, stencil in 24..32.
    D24S8,
    /// D32_SFLOAT_S8_UINT: f32 depth in bytes 0..4, stencil in byte 4, bytes 5..8 unused.
    D32S8,
}

/// What the renderer knows about one format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormatInfo {
    /// Bytes per texel in an image of this format.
    pub texel_size: u8,
    /// `VkImageAspectFlags` the format has.
    pub aspects: u32,
    /// Class of the color components, or of the depth component (stencil is always UINT).
    pub class: NumericClass,
    pub encoding: Encoding,
}

macro_rules! formats {
    ($($name:ident = $vk:literal: $size:literal, $aspects:expr, $class:ident, $enc:expr;)*) => {
        /// A supported `VkFormat`; the discriminant is the Vulkan enum value.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        #[allow(non_camel_case_types)]
        pub enum Format { $($name = $vk,)* }

        impl Format {
            /// Every supported format, in `VkFormat` order.
            pub const ALL: &'static [Format] = &[$(Format::$name,)*];

            /// The format with this `VkFormat` number.
            pub fn from_vk(raw: u32) -> Result<Format, FormatError> {
                match raw {
                    $($vk => Ok(Format::$name),)*
                    _ => Err(FormatError::Unsupported(raw)),
                }
            }

            pub fn info(self) -> FormatInfo {
                match self {
                    $(Format::$name => FormatInfo {
                        texel_size: $size,
                        aspects: $aspects,
                        class: NumericClass::$class,
                        encoding: $enc,
                    },)*
                }
            }
        }
    };
}

const C: u32 = aspect::COLOR;
const D: u32 = aspect::DEPTH;
const S: u32 = aspect::STENCIL;
const fn arr(channels: u8, bits: u8) -> Encoding {
    Encoding::Array { channels, bits }
}

formats! {
    R8_UNORM = 9: 1, C, Unorm, arr(1, 8);
    R8_SNORM = 10: 1, C, Snorm, arr(1, 8);
    R8_UINT = 13: 1, C, Uint, arr(1, 8);
    R8_SINT = 14: 1, C, Sint, arr(1, 8);
    R8_SRGB = 15: 1, C, Srgb, arr(1, 8);
    R8G8_UNORM = 16: 2, C, Unorm, arr(2, 8);
    R8G8_SNORM = 17: 2, C, Snorm, arr(2, 8);
    R8G8_UINT = 20: 2, C, Uint, arr(2, 8);
    R8G8_SINT = 21: 2, C, Sint, arr(2, 8);
    R8G8_SRGB = 22: 2, C, Srgb, arr(2, 8);
    R8G8B8A8_UNORM = 37: 4, C, Unorm, arr(4, 8);
    R8G8B8A8_SNORM = 38: 4, C, Snorm, arr(4, 8);
    R8G8B8A8_UINT = 41: 4, C, Uint, arr(4, 8);
    R8G8B8A8_SINT = 42: 4, C, Sint, arr(4, 8);
    R8G8B8A8_SRGB = 43: 4, C, Srgb, arr(4, 8);
    B8G8R8A8_UNORM = 44: 4, C, Unorm, Encoding::Bgra8;
    B8G8R8A8_SRGB = 50: 4, C, Srgb, Encoding::Bgra8;
    A2B10G10R10_UNORM_PACK32 = 64: 4, C, Unorm, Encoding::A2B10G10R10;
    R16_UNORM = 70: 2, C, Unorm, arr(1, 16);
    R16_SNORM = 71: 2, C, Snorm, arr(1, 16);
    R16_UINT = 74: 2, C, Uint, arr(1, 16);
    R16_SINT = 75: 2, C, Sint, arr(1, 16);
    R16_SFLOAT = 76: 2, C, Sfloat, arr(1, 16);
    R16G16_UNORM = 77: 4, C, Unorm, arr(2, 16);
    R16G16_SNORM = 78: 4, C, Snorm, arr(2, 16);
    R16G16_UINT = 81: 4, C, Uint, arr(2, 16);
    R16G16_SINT = 82: 4, C, Sint, arr(2, 16);
    R16G16_SFLOAT = 83: 4, C, Sfloat, arr(2, 16);
    R16G16B16A16_UNORM = 91: 8, C, Unorm, arr(4, 16);
    R16G16B16A16_SNORM = 92: 8, C, Snorm, arr(4, 16);
    R16G16B16A16_UINT = 95: 8, C, Uint, arr(4, 16);
    R16G16B16A16_SINT = 96: 8, C, Sint, arr(4, 16);
    R16G16B16A16_SFLOAT = 97: 8, C, Sfloat, arr(4, 16);
    R32_UINT = 98: 4, C, Uint, arr(1, 32);
    R32_SINT = 99: 4, C, Sint, arr(1, 32);
    R32_SFLOAT = 100: 4, C, Sfloat, arr(1, 32);
    R32G32_UINT = 101: 8, C, Uint, arr(2, 32);
    R32G32_SINT = 102: 8, C, Sint, arr(2, 32);
    R32G32_SFLOAT = 103: 8, C, Sfloat, arr(2, 32);
    R32G32B32A32_UINT = 107: 16, C, Uint, arr(4, 32);
    R32G32B32A32_SINT = 108: 16, C, Sint, arr(4, 32);
    R32G32B32A32_SFLOAT = 109: 16, C, Sfloat, arr(4, 32);
    B10G11R11_UFLOAT_PACK32 = 122: 4, C, Ufloat, Encoding::B10G11R11;
    D16_UNORM = 124: 2, D, Unorm, Encoding::D16;
    D32_SFLOAT = 126: 4, D, Sfloat, Encoding::D32;
    S8_UINT = 127: 1, S, Uint, Encoding::S8;
    D24_UNORM_S8_UINT = 129: 4, D | S, Unorm, Encoding::D24S8;
    D32_SFLOAT_S8_UINT = 130: 8, D | S, Sfloat, Encoding::D32S8;
}

impl Format {
    pub fn vk(self) -> u32 {
        self as u32
    }
    pub fn texel_size(self) -> u64 {
        u64::from(self.info().texel_size)
    }
    pub fn aspects(self) -> u32 {
        self.info().aspects
    }
    pub fn is_color(self) -> bool {
        self.aspects() == aspect::COLOR
    }
    pub fn has_depth(self) -> bool {
        self.aspects() & aspect::DEPTH != 0
    }
    pub fn has_stencil(self) -> bool {
        self.aspects() & aspect::STENCIL != 0
    }

    /// Bytes one texel of `aspect` takes in a buffer (vkCmdCopyBufferToImage /
    /// vkCmdCopyImageToBuffer, Vulkan "Copying Data Between Buffers and Images": the depth of
    /// D24_UNORM_S8_UINT is copied as X8_D24_UNORM_PACK32, depth of D32_SFLOAT_S8_UINT as
    /// D32_SFLOAT, stencil as S8_UINT). `None` if the format lacks that single aspect.
    pub fn aspect_copy_size(self, aspect_mask: u32) -> Option<u64> {
        if aspect_mask & self.aspects() != aspect_mask || aspect_mask.count_ones() != 1 {
            return None;
        }
        Some(match (self.info().encoding, aspect_mask) {
            (_, aspect::COLOR) => self.texel_size(),
            (_, aspect::STENCIL) => 1,
            (Encoding::D16, _) => 2,
            _ => 4,
        })
    }
}

/// `VkFormatFeatureFlagBits` values softgpu reports.
pub mod feature {
    pub const SAMPLED_IMAGE: u32 = 0x1;
    pub const STORAGE_IMAGE: u32 = 0x2;
    pub const STORAGE_IMAGE_ATOMIC: u32 = 0x4;
    pub const UNIFORM_TEXEL_BUFFER: u32 = 0x8;
    pub const STORAGE_TEXEL_BUFFER: u32 = 0x10;
    pub const STORAGE_TEXEL_BUFFER_ATOMIC: u32 = 0x20;
    pub const VERTEX_BUFFER: u32 = 0x40;
    pub const COLOR_ATTACHMENT: u32 = 0x80;
    pub const COLOR_ATTACHMENT_BLEND: u32 = 0x100;
    pub const DEPTH_STENCIL_ATTACHMENT: u32 = 0x200;
    pub const BLIT_SRC: u32 = 0x400;
    pub const BLIT_DST: u32 = 0x800;
    pub const TRANSFER_SRC: u32 = 0x4000;
    pub const TRANSFER_DST: u32 = 0x8000;
    pub const SAMPLED_IMAGE_FILTER_LINEAR: u32 = 0x1000;
}

/// `VkFormatProperties`: what each tiling and buffers can do with a format. The ICD reports
/// exactly this and the device refuses what it does not say (one table for both sides).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormatFeatures {
    pub linear_tiling: u32,
    pub optimal_tiling: u32,
    pub buffer: u32,
}

impl Format {
    /// The features this format has. Every image format blits (`renderer::image::blit`):
    /// colour formats to colour formats of the same kind, depth/stencil formats to themselves.
    pub fn features(self) -> FormatFeatures {
        use feature::*;
        let info = self.info();
        let transfer = TRANSFER_SRC | TRANSFER_DST | BLIT_SRC | BLIT_DST;
        if !self.is_color() {
            // Depth/stencil attachments are rendered in OPTIMAL tiling only. Depth is sampled
            // (and compared) with linear filtering; stencil is an integer and filters nearest.
            let sampled = if self.has_depth() {
                SAMPLED_IMAGE | SAMPLED_IMAGE_FILTER_LINEAR
            } else {
                SAMPLED_IMAGE
            };
            return FormatFeatures {
                linear_tiling: transfer | sampled,
                optimal_tiling: transfer | sampled | DEPTH_STENCIL_ATTACHMENT,
                buffer: 0,
            };
        }
        let integer = matches!(info.class, NumericClass::Uint | NumericClass::Sint);
        let blend = if integer { 0 } else { COLOR_ATTACHMENT_BLEND };
        let linear = if integer {
            0
        } else {
            SAMPLED_IMAGE_FILTER_LINEAR
        };
        let storage = if self.storage_format() {
            STORAGE_IMAGE
        } else {
            0
        };
        let atomic = if self.atomic_format() {
            STORAGE_IMAGE_ATOMIC
        } else {
            0
        };
        let image = transfer | COLOR_ATTACHMENT | blend | SAMPLED_IMAGE | linear | storage | atomic;
        let vertex = if crate::vertex_format::vertex_attribute_format(self.vk()).is_some() {
            VERTEX_BUFFER
        } else {
            0
        };
        // Texel buffers: every colour format but sRGB (Vulkan lists no sRGB texel-buffer
        // format); storage texel buffers as storage images.
        let uniform_texel = if info.class == NumericClass::Srgb {
            0
        } else {
            UNIFORM_TEXEL_BUFFER
        };
        let storage_texel = if self.storage_format() {
            STORAGE_TEXEL_BUFFER
        } else {
            0
        };
        let atomic_texel = if self.atomic_format() {
            STORAGE_TEXEL_BUFFER_ATOMIC
        } else {
            0
        };
        FormatFeatures {
            linear_tiling: image,
            optimal_tiling: image,
            buffer: vertex | uniform_texel | storage_texel | atomic_texel,
        }
    }

    /// Formats a SPIR-V storage image can name (an `Image Format` other than `Unknown`
    /// exists for them): the colour formats except sRGB and B8G8R8A8.
    fn storage_format(self) -> bool {
        self.is_color()
            && self.info().class != NumericClass::Srgb
            && !matches!(self.info().encoding, Encoding::Bgra8)
    }

    /// Image atomics work on R32 integer formats (Vulkan's required set).
    fn atomic_format(self) -> bool {
        matches!(self, Format::R32_UINT | Format::R32_SINT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_round_trips_its_vk_number() {
        for &f in Format::ALL {
            assert_eq!(Format::from_vk(f.vk()), Ok(f));
        }
        assert_eq!(Format::ALL.len(), 48);
        assert_eq!(Format::from_vk(0), Err(FormatError::Unsupported(0)));
        assert_eq!(
            Format::from_vk(1_000_156_000),
            Err(FormatError::Unsupported(1_000_156_000))
        );
    }

    #[test]
    fn texel_sizes_match_the_encodings() {
        for &f in Format::ALL {
            let info = f.info();
            let expected = match info.encoding {
                Encoding::Array { channels, bits } => u64::from(channels) * u64::from(bits) / 8,
                Encoding::D16 => 2,
                Encoding::S8 => 1,
                Encoding::D32S8 => 8,
                _ => 4,
            };
            assert_eq!(f.texel_size(), expected, "{f:?}");
        }
    }

    #[test]
    fn depth_stencil_copy_sizes_follow_the_spec() {
        assert_eq!(
            Format::D24_UNORM_S8_UINT.aspect_copy_size(aspect::DEPTH),
            Some(4)
        );
        assert_eq!(
            Format::D24_UNORM_S8_UINT.aspect_copy_size(aspect::STENCIL),
            Some(1)
        );
        assert_eq!(
            Format::D32_SFLOAT_S8_UINT.aspect_copy_size(aspect::DEPTH),
            Some(4)
        );
        assert_eq!(Format::D16_UNORM.aspect_copy_size(aspect::DEPTH), Some(2));
        assert_eq!(Format::D16_UNORM.aspect_copy_size(aspect::STENCIL), None);
        assert_eq!(
            Format::D24_UNORM_S8_UINT.aspect_copy_size(aspect::DEPTH | aspect::STENCIL),
            None
        );
        assert_eq!(
            Format::R32G32B32A32_SFLOAT.aspect_copy_size(aspect::COLOR),
            Some(16)
        );
        assert_eq!(Format::R8_UNORM.aspect_copy_size(aspect::DEPTH), None);
    }

    #[test]
    fn features_follow_the_format_classes() {
        use feature::*;
        let rgba8 = Format::R8G8B8A8_UNORM.features();
        assert_ne!(rgba8.optimal_tiling & COLOR_ATTACHMENT_BLEND, 0);
        assert_ne!(rgba8.buffer & VERTEX_BUFFER, 0);
        let uint = Format::R32_UINT.features();
        assert_ne!(uint.optimal_tiling & COLOR_ATTACHMENT, 0);
        assert_eq!(uint.optimal_tiling & COLOR_ATTACHMENT_BLEND, 0);
        let d24 = Format::D24_UNORM_S8_UINT.features();
        assert_ne!(d24.optimal_tiling & DEPTH_STENCIL_ATTACHMENT, 0);
        assert_eq!(d24.linear_tiling & DEPTH_STENCIL_ATTACHMENT, 0);
        assert_eq!(d24.buffer, 0);
        for &f in Format::ALL {
            let all = f.features();
            assert_eq!(
                all.optimal_tiling & (BLIT_SRC | BLIT_DST),
                BLIT_SRC | BLIT_DST
            );
            assert_ne!(all.optimal_tiling & TRANSFER_DST, 0, "{f:?}");
            assert_ne!(all.optimal_tiling & SAMPLED_IMAGE, 0, "{f:?}");
        }
    }

    #[test]
    fn sampling_storage_and_texel_buffer_features_follow_the_classes() {
        use feature::*;
        let rgba8 = Format::R8G8B8A8_UNORM.features();
        let wanted = SAMPLED_IMAGE | SAMPLED_IMAGE_FILTER_LINEAR | STORAGE_IMAGE;
        assert_eq!(rgba8.optimal_tiling & wanted, wanted);
        assert_eq!(rgba8.optimal_tiling & STORAGE_IMAGE_ATOMIC, 0);
        assert_eq!(
            rgba8.buffer & (UNIFORM_TEXEL_BUFFER | STORAGE_TEXEL_BUFFER),
            UNIFORM_TEXEL_BUFFER | STORAGE_TEXEL_BUFFER
        );
        // Integers sample nearest only; R32 integers have atomics.
        let r32 = Format::R32_UINT.features();
        assert_eq!(r32.optimal_tiling & SAMPLED_IMAGE_FILTER_LINEAR, 0);
        assert_ne!(r32.optimal_tiling & STORAGE_IMAGE_ATOMIC, 0);
        assert_ne!(r32.buffer & STORAGE_TEXEL_BUFFER_ATOMIC, 0);
        assert_eq!(
            Format::R32_SFLOAT.features().optimal_tiling & STORAGE_IMAGE_ATOMIC,
            0
        );
        // sRGB and BGRA have no SPIR-V storage format; sRGB no texel-buffer use.
        let srgb = Format::R8G8B8A8_SRGB.features();
        assert_eq!(srgb.optimal_tiling & STORAGE_IMAGE, 0);
        assert_eq!(srgb.buffer, 0);
        let bgra = Format::B8G8R8A8_UNORM.features();
        assert_eq!(bgra.optimal_tiling & STORAGE_IMAGE, 0);
        assert_ne!(bgra.buffer & UNIFORM_TEXEL_BUFFER, 0);
        // Depth filters linearly (for compare), stencil does not; neither is storage.
        let d32 = Format::D32_SFLOAT.features();
        assert_ne!(d32.optimal_tiling & SAMPLED_IMAGE_FILTER_LINEAR, 0);
        assert_eq!(d32.optimal_tiling & STORAGE_IMAGE, 0);
        let s8 = Format::S8_UINT.features();
        assert_ne!(s8.optimal_tiling & SAMPLED_IMAGE, 0);
        assert_eq!(s8.optimal_tiling & SAMPLED_IMAGE_FILTER_LINEAR, 0);
    }
}
