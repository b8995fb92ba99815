//! Samplers, texel-buffer views and image descriptors on the wire, and the limits for them that
//! both sides share (the ICD reports them, the device enforces them).
//!
//! Values are raw Vulkan numbers (`VkFilter`, `VkSamplerAddressMode`, …); the device checks
//! each against the values it offers when it builds its objects.

use serde::{Deserialize, Serialize};

/// minTexelBufferOffsetAlignment.
pub const MIN_TEXEL_BUFFER_OFFSET_ALIGNMENT: u64 = 16;
/// maxTexelBufferElements.
pub const MAX_TEXEL_BUFFER_ELEMENTS: u64 = 1 << 27;
/// maxSamplerAllocationCount (Vulkan's minimum; the device's per-client object cap also
/// bounds samplers).
pub const MAX_SAMPLER_ALLOCATION_COUNT: u32 = 4000;
/// maxSamplerAnisotropy: anisotropic filtering is not offered (samplerAnisotropy is false).
pub const MAX_SAMPLER_ANISOTROPY: f32 = 1.0;

/// `VkSamplerCreateInfo` without `pNext` (no custom border colours, no YCbCr conversion).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplerCreateInfo {
    /// `VkSamplerCreateFlags` (none are offered: must be 0).
    pub flags: u32,
    pub mag_filter: u32,
    pub min_filter: u32,
    pub mipmap_mode: u32,
    /// U, V, W as `VkSamplerAddressMode`s.
    pub address_modes: [u32; 3],
    pub mip_lod_bias: f32,
    pub anisotropy_enable: bool,
    pub max_anisotropy: f32,
    pub compare_enable: bool,
    /// `VkCompareOp`, read when `compare_enable`.
    pub compare_op: u32,
    pub min_lod: f32,
    pub max_lod: f32,
    /// `VkBorderColor`.
    pub border_color: u32,
    pub unnormalized_coordinates: bool,
}

/// `VkDescriptorImageInfo` with handles as object ids (0: VK_NULL_HANDLE). Which members a
/// write reads depends on its descriptor type, as in Vulkan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescriptorImageInfo {
    pub sampler: u64,
    pub image_view: u64,
    /// `VkImageLayout` (layouts are not tracked; kept for the device's checks).
    pub image_layout: u32,
}

/// Why a sampler or buffer view is refused: the same rules on both sides, so that the ICD
/// can answer vkCreateSampler / vkCreateBufferView with an error instead of the device
/// failing a later submission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamplerError {
    /// Valid Vulkan that softgpu does not offer (VK_ERROR_FEATURE_NOT_PRESENT on the ICD).
    #[error("{0} is not supported")]
    Unsupported(String),
    /// A violated valid-usage rule.
    #[error("{0}")]
    Invalid(String),
}

/// `VkFilter` values offered (no cubic).
const FILTERS: u32 = 2;
/// `VkSamplerMipmapMode` values.
const MIPMAP_MODES: u32 = 2;
/// `VkSamplerAddressMode` values offered: REPEAT ..= CLAMP_TO_BORDER (MIRROR_CLAMP_TO_EDGE
/// needs VK_KHR_sampler_mirror_clamp_to_edge, not exposed).
const ADDRESS_MODES: u32 = 4;
const CLAMP_TO_EDGE: u32 = 2;
const CLAMP_TO_BORDER: u32 = 3;
/// `VkBorderColor` values offered (no custom colours).
const BORDER_COLORS: u32 = 6;
/// `VkCompareOp` values.
const COMPARE_OPS: u32 = 8;
/// maxSamplerLodBias (equal to the renderer's `MAX_SAMPLER_LOD_BIAS`).
pub const MAX_SAMPLER_LOD_BIAS: f32 = 15.0;

impl SamplerCreateInfo {
    /// vkCreateSampler's valid usage (VUID-VkSamplerCreateInfo-*) and what softgpu offers.
    pub fn check(&self) -> Result<(), SamplerError> {
        let unsupported = |s: String| Err(SamplerError::Unsupported(s));
        let invalid = |s: String| Err(SamplerError::Invalid(s));
        if self.flags != 0 {
            return unsupported(format!("sampler create flags {:#x}", self.flags));
        }
        // -anisotropyEnable-01070: samplerAnisotropy is false.
        if self.anisotropy_enable {
            return unsupported(format!(
                "anisotropic filtering (maxAnisotropy {}; samplerAnisotropy is false)",
                self.max_anisotropy
            ));
        }
        if self.mag_filter >= FILTERS || self.min_filter >= FILTERS {
            return unsupported(format!(
                "VkFilter {} / {}",
                self.mag_filter, self.min_filter
            ));
        }
        if self.mipmap_mode >= MIPMAP_MODES {
            return invalid(format!("unknown VkSamplerMipmapMode {}", self.mipmap_mode));
        }
        // -addressModeU-01079.
        if let Some(m) = self.address_modes.iter().find(|&&m| m >= ADDRESS_MODES) {
            return unsupported(format!("VkSamplerAddressMode {m}"));
        }
        // -addressModeU-01078: read only when a mode clamps to the border.
        if self.address_modes.contains(&CLAMP_TO_BORDER) && self.border_color >= BORDER_COLORS {
            return unsupported(format!("VkBorderColor {}", self.border_color));
        }
        // -compareEnable-01080.
        if self.compare_enable && self.compare_op >= COMPARE_OPS {
            return invalid(format!("unknown VkCompareOp {}", self.compare_op));
        }
        let lods = [self.mip_lod_bias, self.min_lod, self.max_lod];
        if lods.iter().any(|v| v.is_nan()) {
            return invalid("a LOD value is NaN".into());
        }
        // -mipLodBias-01069, -maxLod-01973.
        if self.mip_lod_bias.abs() > MAX_SAMPLER_LOD_BIAS {
            return invalid(format!(
                "mipLodBias {} exceeds maxSamplerLodBias {MAX_SAMPLER_LOD_BIAS}",
                self.mip_lod_bias
            ));
        }
        if self.min_lod > self.max_lod {
            return invalid(format!(
                "minLod {} is greater than maxLod {}",
                self.min_lod, self.max_lod
            ));
        }
        // -unnormalizedCoordinates-01072 ..= -01076.
        if self.unnormalized_coordinates {
            let clamping = |m: u32| m == CLAMP_TO_EDGE || m == CLAMP_TO_BORDER;
            if self.mag_filter != self.min_filter
                || self.mipmap_mode != 0
                || self.min_lod != 0.0
                || self.max_lod != 0.0
                || !clamping(self.address_modes[0])
                || !clamping(self.address_modes[1])
                || self.compare_enable
            {
                return invalid(
                    "unnormalizedCoordinates with a filter, mipmap, LOD, address mode or \
                     compare state it does not allow"
                        .into(),
                );
            }
        }
        Ok(())
    }
}

/// `VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT`.
pub const USAGE_UNIFORM_TEXEL_BUFFER: u32 = 0x4;
/// `VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT`.
pub const USAGE_STORAGE_TEXEL_BUFFER: u32 = 0x8;

/// vkCreateBufferView's valid usage (VUID-VkBufferViewCreateInfo-*) for a view of a buffer
/// of `buffer_size` bytes and `buffer_usage`: the view's range in bytes (`WHOLE_SIZE`
/// resolved to whole texels).
pub fn buffer_view_range(
    buffer_size: u64,
    buffer_usage: u32,
    format: u32,
    offset: u64,
    range: u64,
) -> Result<u64, SamplerError> {
    use crate::format::{feature, Format};
    let invalid = |s: String| Err(SamplerError::Invalid(s));
    let format = Format::from_vk(format).map_err(|e| SamplerError::Unsupported(e.to_string()))?;
    let texel_usage = buffer_usage & (USAGE_UNIFORM_TEXEL_BUFFER | USAGE_STORAGE_TEXEL_BUFFER);
    // -buffer-00932.
    if texel_usage == 0 {
        return invalid("the buffer has no texel-buffer usage".into());
    }
    // -buffer-00933 / -00934.
    let features = format.features().buffer;
    if texel_usage & USAGE_UNIFORM_TEXEL_BUFFER != 0
        && features & feature::UNIFORM_TEXEL_BUFFER == 0
    {
        return Err(SamplerError::Unsupported(format!(
            "{format:?} as a uniform texel buffer format"
        )));
    }
    if texel_usage & USAGE_STORAGE_TEXEL_BUFFER != 0
        && features & feature::STORAGE_TEXEL_BUFFER == 0
    {
        return Err(SamplerError::Unsupported(format!(
            "{format:?} as a storage texel buffer format"
        )));
    }
    // -offset-00925, -offset-02749.
    if offset >= buffer_size {
        return invalid(format!(
            "offset {offset} is past the buffer's {buffer_size} bytes"
        ));
    }
    if offset % MIN_TEXEL_BUFFER_OFFSET_ALIGNMENT != 0 {
        return invalid(format!(
            "offset {offset} is not a multiple of minTexelBufferOffsetAlignment \
             ({MIN_TEXEL_BUFFER_OFFSET_ALIGNMENT})"
        ));
    }
    let texel = format.texel_size();
    let range = if range == crate::stream::WHOLE_SIZE {
        (buffer_size - offset) / texel * texel
    } else {
        // -range-00928, -range-00929, -offset-00931.
        if range == 0 || range % texel != 0 || range > buffer_size - offset {
            return invalid(format!(
                "range {range} is empty, not whole {format:?} texels, or past the end"
            ));
        }
        range
    };
    // -range-00930, -range-04059.
    if range == 0 || range / texel > MAX_TEXEL_BUFFER_ELEMENTS {
        return invalid(format!(
            "{} texels are not within 1..=maxTexelBufferElements ({MAX_TEXEL_BUFFER_ELEMENTS})",
            range / texel
        ));
    }
    Ok(range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::WHOLE_SIZE;

    fn nearest() -> SamplerCreateInfo {
        SamplerCreateInfo {
            flags: 0,
            mag_filter: 0,
            min_filter: 0,
            mipmap_mode: 0,
            address_modes: [0; 3],
            mip_lod_bias: 0.0,
            anisotropy_enable: false,
            max_anisotropy: 0.0,
            compare_enable: false,
            compare_op: 1234,
            min_lod: 0.0,
            max_lod: 0.25,
            border_color: 1234,
            unnormalized_coordinates: false,
        }
    }

    #[test]
    fn sampler_rules_separate_unsupported_from_invalid() {
        assert_eq!(nearest().check(), Ok(()));
        let unsupported = [
            SamplerCreateInfo {
                anisotropy_enable: true,
                ..nearest()
            },
            SamplerCreateInfo {
                address_modes: [0, 4, 0],
                ..nearest()
            },
            SamplerCreateInfo {
                address_modes: [3, 0, 0],
                border_color: 1_000_287_003,
                ..nearest()
            },
            SamplerCreateInfo {
                min_filter: 1_000_015_000,
                ..nearest()
            },
        ];
        for s in unsupported {
            assert!(
                matches!(s.check(), Err(SamplerError::Unsupported(_))),
                "{s:?}"
            );
        }
        let invalid = [
            SamplerCreateInfo {
                mip_lod_bias: -15.5,
                ..nearest()
            },
            SamplerCreateInfo {
                min_lod: 1.0,
                ..nearest()
            },
            SamplerCreateInfo {
                min_lod: f32::NAN,
                ..nearest()
            },
            SamplerCreateInfo {
                compare_enable: true,
                ..nearest()
            },
            SamplerCreateInfo {
                unnormalized_coordinates: true,
                ..nearest()
            },
        ];
        for s in invalid {
            assert!(matches!(s.check(), Err(SamplerError::Invalid(_))), "{s:?}");
        }
        let unnormalized = SamplerCreateInfo {
            unnormalized_coordinates: true,
            address_modes: [2, 3, 0],
            border_color: 0,
            max_lod: 0.0,
            ..nearest()
        };
        assert_eq!(unnormalized.check(), Ok(()));
    }

    #[test]
    fn buffer_view_ranges_follow_alignment_size_and_format_rules() {
        let u = USAGE_UNIFORM_TEXEL_BUFFER;
        let rgba8 = 37;
        assert_eq!(buffer_view_range(1024, u, rgba8, 16, WHOLE_SIZE), Ok(1008));
        // WHOLE_SIZE rounds down to whole texels.
        assert_eq!(buffer_view_range(1030, u, rgba8, 0, WHOLE_SIZE), Ok(1028));
        assert_eq!(buffer_view_range(1024, u, rgba8, 0, 64), Ok(64));
        assert!(buffer_view_range(1024, 0x20, rgba8, 0, 64).is_err());
        assert!(buffer_view_range(1024, u, rgba8, 8, 64).is_err());
        assert!(buffer_view_range(1024, u, rgba8, 1024, WHOLE_SIZE).is_err());
        assert!(buffer_view_range(1024, u, rgba8, 0, 0).is_err());
        assert!(buffer_view_range(1024, u, rgba8, 0, 6).is_err());
        assert!(buffer_view_range(1024, u, rgba8, 16, 1024).is_err());
        assert!(buffer_view_range(1024, u, rgba8, u64::MAX - 15, 4).is_err());
        // sRGB has no texel-buffer use, unknown formats none at all.
        assert!(matches!(
            buffer_view_range(1024, u, 43, 0, 64),
            Err(SamplerError::Unsupported(_))
        ));
        assert!(buffer_view_range(1024, u, 0, 0, 64).is_err());
        // Storage texel buffers need a storage format (B8G8R8A8 has none).
        assert!(buffer_view_range(1024, USAGE_STORAGE_TEXEL_BUFFER, 44, 0, 64).is_err());
        assert!(buffer_view_range(1024, USAGE_STORAGE_TEXEL_BUFFER, 98, 0, 64).is_ok());
        // More than maxTexelBufferElements texels.
        let huge = (MAX_TEXEL_BUFFER_ELEMENTS + 1) * 4;
        assert!(buffer_view_range(huge, u, rgba8, 0, WHOLE_SIZE).is_err());
    }
}
