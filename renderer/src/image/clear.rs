//! vkCmdClearColorImage and vkCmdClearDepthStencilImage, run on the caller's thread.

use std::ops::Range;

use super::{Image, ImageDesc, ImageError, ImageType, SubresourceRange, REMAINING};
use crate::format::texel::{pack_depth, pack_stencil};
use crate::format::{aspect, pack_color, ColorValue};

/// Levels and layers a `VkImageSubresourceRange` names, after VUID-VkImageSubresourceRange-
/// levelCount-01720, -baseMipLevel-01486, -01724, -layerCount-01721, -baseArrayLayer-01488,
/// -01725.
pub(crate) fn resolve_range(
    desc: &ImageDesc,
    range: &SubresourceRange,
) -> Result<(Range<u32>, Range<u32>), ImageError> {
    let span = |base: u32, count: u32, total: u32, what: &'static str| {
        let count = if count == REMAINING {
            total.saturating_sub(base)
        } else {
            count
        };
        match base.checked_add(count) {
            Some(end) if count > 0 && end <= total => Ok(base..end),
            _ => Err(ImageError::InvalidRegion(what)),
        }
    };
    let levels = span(
        range.base_mip_level,
        range.level_count,
        desc.mip_levels,
        "mip levels",
    )?;
    let layers = span(
        range.base_array_layer,
        range.layer_count,
        desc.array_layers,
        "array layers",
    )?;
    Ok((levels, layers))
}

impl Image {
    /// Calls `visit` for every texel coordinate of the given levels and layers.
    pub(crate) fn for_each_texel(
        &self,
        levels: Range<u32>,
        layers: Range<u32>,
        mut visit: impl FnMut(u32, u32, [u32; 3]) -> Result<(), ImageError>,
    ) -> Result<(), ImageError> {
        for level in levels {
            let [w, h, d] = self.desc.mip_extent(level);
            for layer in layers.clone() {
                for z in 0..d {
                    for y in 0..h {
                        for x in 0..w {
                            visit(level, layer, [x, y, z])?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes `texel` over every texel of the given levels and layers.
    fn fill_levels(
        &self,
        levels: Range<u32>,
        layers: Range<u32>,
        texel: &[u8],
    ) -> Result<(), ImageError> {
        for level in levels {
            let [w, h, d] = self.desc.mip_extent(level);
            for layer in layers.clone() {
                for z in 0..d {
                    self.fill_rect(level, layer, z, [0, w, 0, h], texel)?;
                }
            }
        }
        Ok(())
    }

    /// vkCmdClearColorImage: `value` must be of the format's kind (see
    /// [`ColorValue::from_clear_words`]); every range must name the color aspect only.
    pub fn clear_color(
        &self,
        value: ColorValue,
        ranges: &[SubresourceRange],
    ) -> Result<(), ImageError> {
        let format = self.format();
        let mut texel = [0u8; 16];
        let texel = &mut texel[..format.texel_size() as usize];
        pack_color(format, value, texel)?;
        let mut resolved = Vec::with_capacity(ranges.len());
        for range in ranges {
            // VUID-vkCmdClearColorImage-aspectMask-02498.
            if range.aspect_mask != aspect::COLOR || !format.is_color() {
                return Err(ImageError::InvalidAspect {
                    format,
                    mask: range.aspect_mask,
                });
            }
            resolved.push(resolve_range(&self.desc, range)?);
        }
        for (levels, layers) in resolved {
            self.fill_levels(levels, layers, texel)?;
        }
        Ok(())
    }

    /// vkCmdClearDepthStencilImage: clears the depth and/or stencil aspects each range names
    /// (stencil takes the low 8 bits of `stencil`); an aspect not named keeps its values.
    pub fn clear_depth_stencil(
        &self,
        depth: f32,
        stencil: u32,
        ranges: &[SubresourceRange],
    ) -> Result<(), ImageError> {
        let format = self.format();
        let mut resolved = Vec::with_capacity(ranges.len());
        for range in ranges {
            let mask = range.aspect_mask;
            // VUID-vkCmdClearDepthStencilImage-image-02826, -02825, -aspectMask-02824.
            let allowed = aspect::DEPTH | aspect::STENCIL;
            if mask == 0 || mask & !allowed != 0 || mask & format.aspects() != mask {
                return Err(ImageError::InvalidAspect { format, mask });
            }
            // VUID-VkClearDepthStencilValue-depth-00022 (no VK_EXT_depth_range_unrestricted).
            if mask & aspect::DEPTH != 0 && !(0.0..=1.0).contains(&depth) {
                return Err(ImageError::InvalidRegion("clear depth outside [0, 1]"));
            }
            resolved.push((mask, resolve_range(&self.desc, range)?));
        }
        let size = format.texel_size() as usize;
        let mut texel = [0u8; 16];
        let texel = &mut texel[..size];
        for (mask, (levels, layers)) in resolved {
            let whole = mask == format.aspects();
            if whole {
                if mask & aspect::DEPTH != 0 {
                    pack_depth(format, depth, texel)?;
                }
                if mask & aspect::STENCIL != 0 {
                    pack_stencil(format, stencil as u8, texel)?;
                }
                self.fill_levels(levels, layers, texel)?;
                continue;
            }
            self.for_each_texel(levels, layers, |level, layer, coord| {
                if !whole {
                    self.read_texel(level, layer, coord, texel)?;
                }
                if mask & aspect::DEPTH != 0 {
                    pack_depth(format, depth, texel)?;
                }
                if mask & aspect::STENCIL != 0 {
                    pack_stencil(format, stencil as u8, texel)?;
                }
                self.write_texel(level, layer, coord, texel)
            })?;
        }
        Ok(())
    }
}

/// Whether the type stores array layers (3D images have exactly one).
pub(crate) fn is_3d(desc: &ImageDesc) -> bool {
    desc.image_type == ImageType::D3
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::format::Format;
    use crate::image::Tiling;

    fn image(format: Format) -> Image {
        Image::new_host(ImageDesc {
            image_type: ImageType::D2,
            format,
            extent: [4, 4, 1],
            mip_levels: 3,
            array_layers: 2,
            tiling: Tiling::Optimal,
        })
        .unwrap()
    }

    fn range(
        mask: u32,
        base_mip: u32,
        mips: u32,
        base_layer: u32,
        layers: u32,
    ) -> SubresourceRange {
        SubresourceRange {
            aspect_mask: mask,
            base_mip_level: base_mip,
            level_count: mips,
            base_array_layer: base_layer,
            layer_count: layers,
        }
    }

    #[test]
    fn remaining_counts_reach_the_last_level_and_layer() {
        let img = image(Format::R8_UINT);
        let r = resolve_range(
            img.desc(),
            &range(aspect::COLOR, 1, REMAINING, 1, REMAINING),
        );
        assert_eq!(r.unwrap(), (1..3, 1..2));
        assert!(resolve_range(img.desc(), &range(aspect::COLOR, 3, REMAINING, 0, 1)).is_err());
        assert!(resolve_range(img.desc(), &range(aspect::COLOR, 0, 1, 1, 2)).is_err());
        assert!(resolve_range(img.desc(), &range(aspect::COLOR, 0, 0, 0, 1)).is_err());
        assert!(resolve_range(img.desc(), &range(aspect::COLOR, u32::MAX, 2, 0, 1)).is_err());
    }

    #[test]
    fn stencil_only_clear_keeps_depth() {
        let img = image(Format::D24_UNORM_S8_UINT);
        let all = aspect::DEPTH | aspect::STENCIL;
        img.clear_depth_stencil(0.5, 0, &[range(all, 0, 1, 0, 1)])
            .unwrap();
        img.clear_depth_stencil(9.0, 0x1ff, &[range(aspect::STENCIL, 0, 1, 0, 1)])
            .unwrap();
        let mut t = [0u8; 4];
        img.read_texel(0, 0, [3, 3, 0], &mut t).unwrap();
        assert_eq!(u32::from_le_bytes(t), 0xff80_0000);
    }

    #[test]
    fn wrong_aspects_and_depth_values_are_refused_without_writing() {
        let img = image(Format::D32_SFLOAT);
        assert!(img
            .clear_depth_stencil(0.5, 0, &[range(aspect::STENCIL, 0, 1, 0, 1)])
            .is_err());
        assert!(img
            .clear_depth_stencil(1.5, 0, &[range(aspect::DEPTH, 0, 1, 0, 1)])
            .is_err());
        assert!(img
            .clear_color(
                ColorValue::Float([1.0; 4]),
                &[range(aspect::COLOR, 0, 1, 0, 1)]
            )
            .is_err());
        let mut t = [0u8; 4];
        img.read_texel(0, 0, [0, 0, 0], &mut t).unwrap();
        assert_eq!(t, [0; 4]);
    }
}
