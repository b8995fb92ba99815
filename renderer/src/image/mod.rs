//! `Image`: a Vulkan image bound to memory — 1D/2D/3D, array layers, mip levels, LINEAR or
//! OPTIMAL tiling — as a window into an [`ExternalMemory`] like a [`crate::Buffer`].
//!
//! [`layout`] decides where texels live; [`block`] addresses the output merger's 4×2 pixel
//! blocks once per block; [`clear`] and [`copy`] are the transfer commands ([`fill`] writes
//! one value over a rectangle for every clear)
//! (vkCmdClear*Image, vkCmdCopy*) and [`blit`] vkCmdBlitImage. Every command validates all its regions against the
//! Vulkan valid-usage rules before touching memory, so a refused command writes nothing, and
//! every texel access is a bounds-checked raw copy (the memory may be guest RAM).

pub mod blit;
pub mod block;
pub mod clear;
pub mod copy;
pub mod fill;

use std::sync::Arc;

use crate::format::{Format, FormatError};
use crate::memory::{ExternalMemory, HostMemory};
pub use block::{
    BlockAccess, BlockLayout, BlockRows, BlockSpan, ByteRun, BLOCK_TEXELS, BLOCK_WIDTH,
};
pub use protocol::image::{
    ImageDesc, ImageLayout, ImageType, LayoutError, MipLayout, SubresourceLayout, Tiling,
    IMAGE_ALIGNMENT, MAX_IMAGE_ARRAY_LAYERS, MAX_IMAGE_DIMENSION_2D, MAX_IMAGE_DIMENSION_3D,
    MICRO_TILE, REMAINING,
};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImageError {
    #[error("invalid image: {0}")]
    InvalidDesc(&'static str),
    #[error("the image needs more memory than one allocation may have")]
    TooLarge,
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("binding {size} bytes at offset {offset} does not fit in memory of {memory} bytes")]
    BindOutOfRange { offset: u64, size: u64, memory: u64 },
    #[error("memory offset {0} is not a multiple of the image alignment {IMAGE_ALIGNMENT}")]
    MisalignedBind(u64),
    #[error("mip level {level}, layer {layer} does not exist in the image")]
    NoSuchSubresource { level: u32, layer: u32 },
    #[error("texel {coord:?} is outside mip level {level}, layer {layer}")]
    TexelOutOfBounds {
        level: u32,
        layer: u32,
        coord: [u32; 3],
    },
    #[error("invalid region: {0}")]
    InvalidRegion(&'static str),
    #[error("aspect mask {mask:#x} is not valid here for {format:?}")]
    InvalidAspect { format: Format, mask: u32 },
    #[error("buffer range of {len} bytes at {offset} is outside a buffer of {size} bytes")]
    BufferOutOfRange { offset: u64, len: u64, size: u64 },
    #[error("{src:?} and {dst:?} are not compatible for a copy")]
    IncompatibleFormats { src: Format, dst: Format },
}

impl From<LayoutError> for ImageError {
    fn from(e: LayoutError) -> ImageError {
        match e {
            LayoutError::InvalidDesc(why) => ImageError::InvalidDesc(why),
            LayoutError::TooLarge => ImageError::TooLarge,
            LayoutError::Format(f) => ImageError::Format(f),
            LayoutError::NoSuchSubresource { level, layer } => {
                ImageError::NoSuchSubresource { level, layer }
            }
            LayoutError::TexelOutOfBounds {
                level,
                layer,
                coord,
            } => ImageError::TexelOutOfBounds {
                level,
                layer,
                coord,
            },
        }
    }
}

/// `VkImageSubresourceRange` (clears): `level_count`/`layer_count` may be [`REMAINING`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubresourceRange {
    pub aspect_mask: u32,
    pub base_mip_level: u32,
    pub level_count: u32,
    pub base_array_layer: u32,
    pub layer_count: u32,
}

/// `VkImageSubresourceLayers` (copies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubresourceLayers {
    pub aspect_mask: u32,
    pub mip_level: u32,
    pub base_array_layer: u32,
    pub layer_count: u32,
}

/// An image bound to `[offset, offset + layout.size())` of its memory. Cloning clones a handle.
#[derive(Clone)]
pub struct Image {
    memory: Arc<dyn ExternalMemory>,
    /// Invariant: `offset + layout.size() <= memory.len()`, checked in `bind`.
    offset: usize,
    desc: ImageDesc,
    layout: Arc<ImageLayout>,
}

impl Image {
    /// vkBindImageMemory: the image's bytes are `layout.size()` bytes at `offset` of `memory`.
    pub fn bind(
        desc: ImageDesc,
        memory: Arc<dyn ExternalMemory>,
        offset: u64,
    ) -> Result<Image, ImageError> {
        let layout = ImageLayout::new(&desc)?;
        // VUID-vkBindImageMemory-memoryOffset-01048.
        if !offset.is_multiple_of(IMAGE_ALIGNMENT) {
            return Err(ImageError::MisalignedBind(offset));
        }
        let memory_len = memory.len() as u64;
        let out_of_range = ImageError::BindOutOfRange {
            offset,
            size: layout.size(),
            memory: memory_len,
        };
        match offset.checked_add(layout.size()) {
            Some(end) if end <= memory_len => {}
            _ => return Err(out_of_range),
        }
        let offset = usize::try_from(offset).map_err(|_| out_of_range)?;
        Ok(Image {
            memory,
            offset,
            desc,
            layout: Arc::new(layout),
        })
    }

    /// An image in zeroed host memory of its own.
    pub fn new_host(desc: ImageDesc) -> Result<Image, ImageError> {
        let size = ImageLayout::new(&desc)?.size();
        let memory = HostMemory::new_zeroed(size).map_err(|_| ImageError::TooLarge)?;
        Image::bind(desc, Arc::new(memory), 0)
    }

    pub fn desc(&self) -> &ImageDesc {
        &self.desc
    }

    pub fn format(&self) -> Format {
        self.desc.format
    }

    pub fn layout(&self) -> &ImageLayout {
        &self.layout
    }

    /// The memory the image is bound to and the image's byte offset in it: the image's bytes
    /// are `[offset, offset + layout().size())` of the memory, which lies inside it (checked in
    /// [`Image::bind`]). For readers that resolve addresses once (the sampler's fast path).
    pub(crate) fn memory_window(&self) -> (&Arc<dyn ExternalMemory>, usize) {
        (&self.memory, self.offset)
    }

    /// Pointer to texel `coord` of (`level`, `layer`), valid for one texel.
    fn texel_ptr(&self, level: u32, layer: u32, coord: [u32; 3]) -> Result<*mut u8, ImageError> {
        let at = self.layout.texel_offset(level, layer, coord)?;
        // `texel_offset` checked the coordinates, so `at + texel_size <= layout.size()`, and
        // `offset + layout.size() <= memory.len()` is the bind invariant.
        let start = self.offset + at as usize;
        debug_assert!(start + self.format().texel_size() as usize <= self.memory.len());
        // SAFETY: `start + texel_size <= memory.len()` (see above): the pointer and the texel
        // after it lie inside the memory's single valid range.
        Ok(unsafe { self.memory.as_ptr().add(start) })
    }

    /// Copies one texel's bytes out (`out.len()` must be the texel size).
    pub fn read_texel(
        &self,
        level: u32,
        layer: u32,
        coord: [u32; 3],
        out: &mut [u8],
    ) -> Result<(), ImageError> {
        self.check_texel_len(out.len())?;
        let src = self.texel_ptr(level, layer, coord)?;
        // SAFETY: `src` is valid for one texel of `out.len()` bytes (checked just above and in
        // `texel_ptr`); `out` is a distinct Rust slice.
        unsafe { std::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// Copies one texel's bytes in (`texel.len()` must be the texel size).
    pub fn write_texel(
        &self,
        level: u32,
        layer: u32,
        coord: [u32; 3],
        texel: &[u8],
    ) -> Result<(), ImageError> {
        self.check_texel_len(texel.len())?;
        let dst = self.texel_ptr(level, layer, coord)?;
        // SAFETY: `dst` is valid for one texel of `texel.len()` bytes (checked above and in
        // `texel_ptr`); `texel` is a distinct Rust slice.
        unsafe { std::ptr::copy_nonoverlapping(texel.as_ptr(), dst, texel.len()) };
        Ok(())
    }

    fn check_texel_len(&self, len: usize) -> Result<(), ImageError> {
        let wanted = self.format().texel_size() as usize;
        if len == wanted {
            Ok(())
        } else {
            Err(FormatError::TexelSize {
                format: self.format(),
                given: len,
                wanted,
            }
            .into())
        }
    }
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("memory", &self.memory.as_ptr())
            .field("offset", &self.offset)
            .field("desc", &self.desc)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d2(w: u32, h: u32) -> ImageDesc {
        ImageDesc {
            image_type: ImageType::D2,
            format: Format::R32_UINT,
            extent: [w, h, 1],
            mip_levels: 1,
            array_layers: 1,
            tiling: Tiling::Linear,
        }
    }

    #[test]
    fn invalid_descriptions_are_refused() {
        let bad = [
            ImageDesc {
                extent: [0, 1, 1],
                ..d2(1, 1)
            },
            ImageDesc {
                extent: [4, 4, 2],
                ..d2(1, 1)
            },
            ImageDesc {
                image_type: ImageType::D1,
                ..d2(4, 4)
            },
            ImageDesc {
                mip_levels: 4,
                ..d2(4, 4)
            },
            ImageDesc {
                array_layers: 0,
                ..d2(4, 4)
            },
            ImageDesc {
                image_type: ImageType::D3,
                array_layers: 2,
                ..d2(4, 4)
            },
            ImageDesc {
                extent: [MAX_IMAGE_DIMENSION_2D + 1, 1, 1],
                ..d2(1, 1)
            },
        ];
        for desc in bad {
            assert!(
                matches!(desc.validate(), Err(LayoutError::InvalidDesc(_))),
                "{desc:?}"
            );
        }
        assert!(ImageDesc {
            mip_levels: 3,
            ..d2(4, 4)
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn binding_outside_the_memory_or_misaligned_is_refused() {
        let memory: Arc<dyn ExternalMemory> = Arc::new(HostMemory::new_zeroed(256).unwrap());
        assert!(Image::bind(d2(4, 4), memory.clone(), 192).is_ok());
        assert!(matches!(
            Image::bind(d2(4, 4), memory.clone(), 256),
            Err(ImageError::BindOutOfRange { .. })
        ));
        assert!(matches!(
            Image::bind(d2(4, 4), memory.clone(), 32),
            Err(ImageError::MisalignedBind(32))
        ));
        assert!(Image::bind(d2(4, 4), memory, u64::MAX - 63).is_err());
    }

    #[test]
    fn texel_access_checks_coordinates_and_length() {
        let img = Image::new_host(d2(3, 2)).unwrap();
        img.write_texel(0, 0, [2, 1, 0], &7u32.to_le_bytes())
            .unwrap();
        let mut out = [0u8; 4];
        img.read_texel(0, 0, [2, 1, 0], &mut out).unwrap();
        assert_eq!(u32::from_le_bytes(out), 7);
        assert!(img.write_texel(0, 0, [3, 0, 0], &out).is_err());
        assert!(img.read_texel(0, 0, [0, 0, 0], &mut out[..2]).is_err());
    }
}
