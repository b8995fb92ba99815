//! Image storage, one definition for both sides: the parts of `VkImageCreateInfo` that decide
//! storage ([`ImageDesc`]), their valid usage, and where every texel lives ([`ImageLayout`]):
//! the memory size and alignment the ICD reports (vkGetImageMemoryRequirements), each
//! subresource's placement (vkGetImageSubresourceLayout) and the one address function the
//! device's renderer uses, [`ImageLayout::texel_offset`].
//!
//! Order in memory: mip level 0 first; inside a level, array layers one after another; inside
//! a layer, depth slices. Every level starts on an [`IMAGE_ALIGNMENT`] boundary.
//!
//! LINEAR tiling is row-major with a tight row pitch (`width × texel size`), as apps that map
//! the memory expect. OPTIMAL tiling of 2D and 3D images stores 4×4-texel micro-tiles, each
//! contiguous, tiles row-major: a 2×2 fragment quad never straddles more than one tile row,
//! and a micro-tile of a 4-byte format is exactly one 64-byte cache line, so a W-lane batch
//! of quads touches whole lines (the rasterizer's 64×64 bins are 16×16 micro-tiles). 1D images
//! gain nothing from tiling and use the linear arrangement in both tilings.

use crate::format::{Format, FormatError};

/// Largest image (bytes of memory) either side accepts; the device's largest allocation.
pub const MAX_IMAGE_SIZE: u64 = 1 << 36;

/// maxImageDimension1D / 2D (Vulkan's minimum for these limits is 4096; we offer 16384).
pub const MAX_IMAGE_DIMENSION_2D: u32 = 16384;
/// maxImageDimension3D.
pub const MAX_IMAGE_DIMENSION_3D: u32 = 2048;
/// maxImageArrayLayers.
pub const MAX_IMAGE_ARRAY_LAYERS: u32 = 2048;
/// VK_REMAINING_MIP_LEVELS / VK_REMAINING_ARRAY_LAYERS.
pub const REMAINING: u32 = u32::MAX;

/// Why an image description or a subresource address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("invalid image: {0}")]
    InvalidDesc(&'static str),
    #[error("the image needs more memory than one allocation may have")]
    TooLarge,
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("mip level {level}, layer {layer} does not exist in the image")]
    NoSuchSubresource { level: u32, layer: u32 },
    #[error("texel {coord:?} is outside mip level {level}, layer {layer}")]
    TexelOutOfBounds {
        level: u32,
        layer: u32,
        coord: [u32; 3],
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageType {
    D1,
    D2,
    D3,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tiling {
    Optimal,
    Linear,
}

/// The parts of `VkImageCreateInfo` that decide storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageDesc {
    pub image_type: ImageType,
    pub format: Format,
    /// width, height, depth.
    pub extent: [u32; 3],
    pub mip_levels: u32,
    pub array_layers: u32,
    pub tiling: Tiling,
}

impl ImageDesc {
    /// VkImageCreateInfo valid usage on extent, levels and layers (VUID-VkImageCreateInfo-
    /// extent-00944..00946, imageType-00956/00957, mipLevels-00947/00958, arrayLayers-00948).
    pub fn validate(&self) -> Result<(), LayoutError> {
        let [w, h, d] = self.extent;
        if w == 0 || h == 0 || d == 0 {
            return Err(LayoutError::InvalidDesc("extent has a zero dimension"));
        }
        let max = match self.image_type {
            ImageType::D1 if h != 1 || d != 1 => {
                return Err(LayoutError::InvalidDesc(
                    "1D image with height or depth other than 1",
                ))
            }
            ImageType::D2 if d != 1 => {
                return Err(LayoutError::InvalidDesc("2D image with depth other than 1"))
            }
            ImageType::D3 if self.array_layers != 1 => {
                return Err(LayoutError::InvalidDesc(
                    "3D image with more than one array layer",
                ))
            }
            ImageType::D3 => MAX_IMAGE_DIMENSION_3D,
            _ => MAX_IMAGE_DIMENSION_2D,
        };
        if w > max || h > max || d > max {
            return Err(LayoutError::InvalidDesc(
                "extent larger than maxImageDimension",
            ));
        }
        if self.array_layers == 0 || self.array_layers > MAX_IMAGE_ARRAY_LAYERS {
            return Err(LayoutError::InvalidDesc(
                "arrayLayers is 0 or above maxImageArrayLayers",
            ));
        }
        let full_chain = 32 - w.max(h).max(d).leading_zeros();
        if self.mip_levels == 0 || self.mip_levels > full_chain {
            return Err(LayoutError::InvalidDesc(
                "mipLevels is 0 or longer than the full chain",
            ));
        }
        Ok(())
    }

    /// Extent of mip `level` (each dimension halved per level, at least 1).
    pub fn mip_extent(&self, level: u32) -> [u32; 3] {
        self.extent
            .map(|e| e.checked_shr(level).unwrap_or(0).max(1))
    }
}

/// Alignment of an image's memory and of each mip level inside it: a cache line.
pub const IMAGE_ALIGNMENT: u64 = 64;

/// Side of an OPTIMAL micro-tile, in texels.
pub const MICRO_TILE: u32 = 4;

/// Placement of one mip level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MipLayout {
    pub offset: u64,
    pub width: u32,
    pub height: u32,
    pub depth: u32,
    tile_w: u32,
    tile_h: u32,
    /// Bytes from one row of tiles to the next (one texel row when tiles are 1×1).
    pub row_pitch: u64,
    /// Bytes from one depth slice to the next.
    pub depth_pitch: u64,
    /// Bytes from one array layer to the next.
    pub array_pitch: u64,
}

impl MipLayout {
    /// Width and height in texels of the level's tiles: `MICRO_TILE`² for tiled (OPTIMAL)
    /// levels, 1×1 for row-major ones. A tile's bytes are contiguous, row by row.
    pub fn tile_extent(&self) -> (u32, u32) {
        (self.tile_w, self.tile_h)
    }
}

/// `VkSubresourceLayout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubresourceLayout {
    pub offset: u64,
    pub size: u64,
    pub row_pitch: u64,
    pub array_pitch: u64,
    pub depth_pitch: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageLayout {
    texel_size: u64,
    layers: u32,
    mips: Vec<MipLayout>,
    size: u64,
}

fn overflow() -> LayoutError {
    LayoutError::TooLarge
}

fn mul(a: u64, b: u64) -> Result<u64, LayoutError> {
    a.checked_mul(b).ok_or_else(overflow)
}

fn add(a: u64, b: u64) -> Result<u64, LayoutError> {
    a.checked_add(b).ok_or_else(overflow)
}

impl ImageLayout {
    /// The layout of a validated description.
    pub fn new(desc: &ImageDesc) -> Result<ImageLayout, LayoutError> {
        desc.validate()?;
        let texel_size = desc.format.texel_size();
        let tiled = desc.tiling == Tiling::Optimal && desc.image_type != ImageType::D1;
        let (tile_w, tile_h) = if tiled {
            (MICRO_TILE, MICRO_TILE)
        } else {
            (1, 1)
        };
        let mut mips = Vec::new();
        let mut offset = 0u64;
        for level in 0..desc.mip_levels {
            let [width, height, depth] = desc.mip_extent(level);
            let tiles_x = u64::from(width.div_ceil(tile_w));
            let tiles_y = u64::from(height.div_ceil(tile_h));
            let tile_bytes = mul(u64::from(tile_w * tile_h), texel_size)?;
            let row_pitch = mul(tiles_x, tile_bytes)?;
            let depth_pitch = mul(tiles_y, row_pitch)?;
            let array_pitch = mul(depth_pitch, u64::from(depth))?;
            mips.push(MipLayout {
                offset,
                width,
                height,
                depth,
                tile_w,
                tile_h,
                row_pitch,
                depth_pitch,
                array_pitch,
            });
            let level_size = mul(array_pitch, u64::from(desc.array_layers))?;
            offset = add(offset, level_size)?
                .checked_next_multiple_of(IMAGE_ALIGNMENT)
                .ok_or_else(overflow)?;
        }
        if offset > MAX_IMAGE_SIZE {
            return Err(LayoutError::TooLarge);
        }
        Ok(ImageLayout {
            texel_size,
            layers: desc.array_layers,
            mips,
            size: offset,
        })
    }

    /// Bytes of memory the image needs (a multiple of [`IMAGE_ALIGNMENT`]).
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn alignment(&self) -> u64 {
        IMAGE_ALIGNMENT
    }

    pub fn mip(&self, level: u32) -> Option<&MipLayout> {
        self.mips.get(level as usize)
    }

    /// vkGetImageSubresourceLayout for (`level`, `layer`). For OPTIMAL images the pitches are
    /// those of tile rows and mean nothing to an app (Vulkan makes the query LINEAR-only).
    pub fn subresource(&self, level: u32, layer: u32) -> Result<SubresourceLayout, LayoutError> {
        let mip = self
            .mip(level)
            .ok_or(LayoutError::NoSuchSubresource { level, layer })?;
        if layer >= self.layers {
            return Err(LayoutError::NoSuchSubresource { level, layer });
        }
        Ok(SubresourceLayout {
            offset: add(mip.offset, mul(u64::from(layer), mip.array_pitch)?)?,
            size: mip.array_pitch,
            row_pitch: mip.row_pitch,
            array_pitch: mip.array_pitch,
            depth_pitch: mip.depth_pitch,
        })
    }

    /// Byte offset (from the image's start) of texel (`x`, `y`, `z`) of layer `layer` of
    /// `level`: the single address function of both tilings. Coordinates outside the
    /// subresource are an error.
    pub fn texel_offset(
        &self,
        level: u32,
        layer: u32,
        [x, y, z]: [u32; 3],
    ) -> Result<u64, LayoutError> {
        let mip = self
            .mip(level)
            .ok_or(LayoutError::NoSuchSubresource { level, layer })?;
        if layer >= self.layers || x >= mip.width || y >= mip.height || z >= mip.depth {
            return Err(LayoutError::TexelOutOfBounds {
                level,
                layer,
                coord: [x, y, z],
            });
        }
        let (tw, th) = (mip.tile_w, mip.tile_h);
        let tile_bytes = u64::from(tw * th) * self.texel_size;
        let in_tile = u64::from((y % th) * tw + x % tw) * self.texel_size;
        // Every term is below the level's size, which was computed with checked arithmetic and
        // is ≤ MAX_ALLOCATION, so the sum cannot overflow.
        Ok(mip.offset
            + u64::from(layer) * mip.array_pitch
            + u64::from(z) * mip.depth_pitch
            + u64::from(y / th) * mip.row_pitch
            + u64::from(x / tw) * tile_bytes
            + in_tile)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn desc(ty: ImageType, extent: [u32; 3], mips: u32, layers: u32, tiling: Tiling) -> ImageDesc {
        ImageDesc {
            image_type: ty,
            format: Format::R8G8B8A8_UNORM,
            extent,
            mip_levels: mips,
            array_layers: layers,
            tiling,
        }
    }

    #[test]
    fn linear_2d_layout_is_row_major_with_aligned_levels() {
        let l = ImageLayout::new(&desc(ImageType::D2, [5, 3, 1], 3, 2, Tiling::Linear)).unwrap();
        let s = l.subresource(0, 1).unwrap();
        assert_eq!((s.row_pitch, s.array_pitch, s.offset), (20, 60, 60));
        assert_eq!(l.texel_offset(0, 1, [4, 2, 0]).unwrap(), 60 + 2 * 20 + 16);
        // Level 1 (2×1) starts after 120 bytes, aligned up to 128.
        assert_eq!(l.subresource(1, 0).unwrap().offset, 128);
        assert_eq!(l.mip(2).map(|m| (m.width, m.height)), Some((1, 1)));
        assert_eq!(l.size() % IMAGE_ALIGNMENT, 0);
    }

    #[test]
    fn optimal_layout_keeps_each_micro_tile_contiguous() {
        let l = ImageLayout::new(&desc(ImageType::D2, [10, 6, 1], 1, 1, Tiling::Optimal)).unwrap();
        // 3 tiles across, 2 down; each tile 64 bytes.
        assert_eq!(l.subresource(0, 0).unwrap().size, 6 * 64);
        assert_eq!(l.texel_offset(0, 0, [0, 0, 0]).unwrap(), 0);
        assert_eq!(l.texel_offset(0, 0, [3, 3, 0]).unwrap(), 60);
        assert_eq!(l.texel_offset(0, 0, [4, 0, 0]).unwrap(), 64);
        assert_eq!(
            l.texel_offset(0, 0, [1, 5, 0]).unwrap(),
            3 * 64 + (4 + 1) * 4
        );
        let mut seen = std::collections::HashSet::new();
        for y in 0..6 {
            for x in 0..10 {
                assert!(seen.insert(l.texel_offset(0, 0, [x, y, 0]).unwrap()));
            }
        }
    }

    #[test]
    fn coordinates_outside_the_subresource_are_refused() {
        let l = ImageLayout::new(&desc(ImageType::D3, [4, 4, 4], 2, 1, Tiling::Optimal)).unwrap();
        assert!(l.texel_offset(1, 0, [1, 1, 1]).is_ok());
        assert!(l.texel_offset(1, 0, [2, 0, 0]).is_err());
        assert!(l.texel_offset(0, 1, [0, 0, 0]).is_err());
        assert!(l.texel_offset(2, 0, [0, 0, 0]).is_err());
        assert!(l.subresource(0, 1).is_err());
    }

    #[test]
    fn huge_images_are_too_large_not_an_overflow() {
        let d = desc(ImageType::D2, [16384, 16384, 1], 1, 2048, Tiling::Optimal);
        assert!(matches!(ImageLayout::new(&d), Err(LayoutError::TooLarge)));
    }
}
