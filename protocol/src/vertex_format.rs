//! Vertex attribute formats, one table for both sides: which `VkFormat`s a vertex buffer may
//! use (the ICD reports `VK_FORMAT_FEATURE_VERTEX_BUFFER_BIT` for exactly these) and how their
//! bits are laid out (the device's vertex fetch decodes them; Vulkan §22.4 "Vertex Input
//! Extraction").
//!
//! This is its own table, not [`crate::format::Format`]: vertex buffers use the 3-component
//! and SCALED formats, which images here do not. 64-bit formats and sRGB formats are not
//! vertex formats here.

/// How a component's bits become a shader value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeClass {
    Unorm,
    Snorm,
    /// The unsigned integer value, as a float.
    Uscaled,
    /// The signed integer value, as a float.
    Sscaled,
    Uint,
    Sint,
    Sfloat,
    Ufloat,
}

impl AttributeClass {
    /// True for classes the shader reads as integers.
    pub fn is_integer(self) -> bool {
        matches!(self, AttributeClass::Uint | AttributeClass::Sint)
    }
}

/// Where the components sit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeLayout {
    /// `channels` components of `bits` bits in R, G, B, A order (`bgr`: B and R swapped).
    Array { channels: u8, bits: u8, bgr: bool },
    /// 2-10-10-10 packed in a u32: component `i` of R, G, B at bit `10 i` (`bgr`: B at bit 0
    /// and R at bit 20, the A2R10G10B10 order), A at bit 30.
    Packed1010102 { bgr: bool },
    /// B10G11R11_UFLOAT_PACK32.
    Packed111110,
}

const EIGHT_BIT_CLASSES: [Option<AttributeClass>; 7] = [
    Some(AttributeClass::Unorm),
    Some(AttributeClass::Snorm),
    Some(AttributeClass::Uscaled),
    Some(AttributeClass::Sscaled),
    Some(AttributeClass::Uint),
    Some(AttributeClass::Sint),
    None, // SRGB
];

const SIXTEEN_BIT_CLASSES: [AttributeClass; 7] = [
    AttributeClass::Unorm,
    AttributeClass::Snorm,
    AttributeClass::Uscaled,
    AttributeClass::Sscaled,
    AttributeClass::Uint,
    AttributeClass::Sint,
    AttributeClass::Sfloat,
];

/// Class and layout of vertex format `raw` (a `VkFormat` number), if vertex buffers may use it.
pub fn vertex_attribute_format(raw: u32) -> Option<(AttributeClass, AttributeLayout)> {
    let array = |channels, bits, bgr| AttributeLayout::Array {
        channels,
        bits,
        bgr,
    };
    Some(match raw {
        // R8 .. A8B8G8R8_PACK32: families of 7 (UNORM, SNORM, USCALED, SSCALED, UINT,
        // SINT, SRGB). A8B8G8R8_PACK32 is R8G8B8A8 in little-endian memory.
        9..=57 => {
            let (family, variant) = ((raw - 9) / 7, (raw - 9) % 7);
            let class = EIGHT_BIT_CLASSES[variant as usize]?;
            let layout = match family {
                0 => array(1, 8, false),
                1 => array(2, 8, false),
                2 => array(3, 8, false),
                3 => array(3, 8, true),
                4 => array(4, 8, false),
                5 => array(4, 8, true),
                _ => array(4, 8, false),
            };
            (class, layout)
        }
        // A2R10G10B10 and A2B10G10R10: families of 6 (no SRGB).
        58..=69 => {
            let (family, variant) = ((raw - 58) / 6, (raw - 58) % 6);
            let class = EIGHT_BIT_CLASSES[variant as usize]?;
            (class, AttributeLayout::Packed1010102 { bgr: family == 0 })
        }
        70..=97 => {
            let (family, variant) = ((raw - 70) / 7, (raw - 70) % 7);
            (
                SIXTEEN_BIT_CLASSES[variant as usize],
                array(family as u8 + 1, 16, false),
            )
        }
        98..=109 => {
            let (family, variant) = ((raw - 98) / 3, (raw - 98) % 3);
            let class = match variant {
                0 => AttributeClass::Uint,
                1 => AttributeClass::Sint,
                _ => AttributeClass::Sfloat,
            };
            (class, array(family as u8 + 1, 32, false))
        }
        122 => (AttributeClass::Ufloat, AttributeLayout::Packed111110),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_vertex_formats_are_in_and_srgb_and_depth_are_not() {
        // R32G32B32_SFLOAT, R8G8B8A8_UNORM, A2B10G10R10_UNORM_PACK32, R16G16_SSCALED.
        for raw in [106, 37, 64, 80] {
            assert!(vertex_attribute_format(raw).is_some(), "{raw}");
        }
        // R8G8B8A8_SRGB, D32_SFLOAT, R64_SFLOAT, UNDEFINED.
        for raw in [43, 126, 112, 0] {
            assert!(vertex_attribute_format(raw).is_none(), "{raw}");
        }
    }
}
