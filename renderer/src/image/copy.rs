//! vkCmdCopyBufferToImage, vkCmdCopyImageToBuffer and vkCmdCopyImage (Vulkan "Copy Commands").
//!
//! A region's texels are visited slice by slice: a slice is one array layer of a 1D/2D image
//! or one depth slice of a 3D image, so copies between a 2D array and a 3D image map layers to
//! slices as Vulkan 1.1 allows. Depth/stencil aspects move in their buffer-copy encodings
//! (X8_D24, D32_SFLOAT, S8_UINT), one aspect per buffer region.

use super::clear::is_3d;
use super::{Image, ImageDesc, ImageError, SubresourceLayers};
use crate::buffer::Buffer;
use crate::format::texel::{aspect_from_copy, aspect_to_copy};
use crate::format::{aspect, Format};

/// `VkBufferImageCopy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferImageCopy {
    pub buffer_offset: u64,
    /// Texels per buffer row; 0 means `image_extent[0]`.
    pub buffer_row_length: u32,
    /// Rows per buffer slice; 0 means `image_extent[1]`.
    pub buffer_image_height: u32,
    pub image_subresource: SubresourceLayers,
    pub image_offset: [i32; 3],
    pub image_extent: [u32; 3],
}

/// `VkImageCopy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageCopy {
    pub src_subresource: SubresourceLayers,
    pub src_offset: [i32; 3],
    pub dst_subresource: SubresourceLayers,
    pub dst_offset: [i32; 3],
    pub extent: [u32; 3],
}

/// A validated box of texels in one mip level.
#[derive(Clone, Copy, Debug)]
struct TexelBox {
    level: u32,
    base_layer: u32,
    origin: [u32; 3],
    /// Width, height, and depth *in slices*: layers for 1D/2D, texels for 3D.
    extent: [u32; 3],
}

impl TexelBox {
    /// (layer, z) of slice `i`.
    fn slice(&self, i: u32, is_3d: bool) -> (u32, u32) {
        if is_3d {
            (0, self.origin[2] + i)
        } else {
            (self.base_layer + i, 0)
        }
    }
}

/// Checks a subresource and an offset/extent against the image (VUID-VkBufferImageCopy-
/// imageExtent-06659..06661, VUID-vkCmdCopyBufferToImage-imageSubresource-07967/07968,
/// -imageOffset-07971..07974, VUID-vkCmdCopyImage-srcImage-00146 and kin).
fn check_box(
    desc: &ImageDesc,
    sub: &SubresourceLayers,
    offset: [i32; 3],
    extent: [u32; 3],
) -> Result<TexelBox, ImageError> {
    let bad = ImageError::InvalidRegion;
    if sub.mip_level >= desc.mip_levels {
        return Err(bad("mip level beyond the image's levels"));
    }
    match sub.base_array_layer.checked_add(sub.layer_count) {
        Some(end) if sub.layer_count > 0 && end <= desc.array_layers => {}
        _ => return Err(bad("array layers beyond the image's layers, or none")),
    }
    if extent.contains(&0) {
        return Err(bad("zero extent"));
    }
    let mip = desc.mip_extent(sub.mip_level);
    // A 1D/2D side's depth extent counts layers (checked below), not texels along z.
    let texel_depth = if is_3d(desc) { extent[2] } else { 1 };
    let mut origin = [0u32; 3];
    for axis in 0..3 {
        let start = u32::try_from(offset[axis]).map_err(|_| bad("negative offset"))?;
        let length = if axis == 2 { texel_depth } else { extent[axis] };
        match start.checked_add(length) {
            Some(end) if end <= mip[axis] => origin[axis] = start,
            _ => return Err(bad("region extends past the mip level")),
        }
    }
    let slices = if is_3d(desc) {
        extent[2]
    } else {
        sub.layer_count
    };
    if !is_3d(desc) && extent[2] != 1 && sub.layer_count != extent[2] {
        // A 1D/2D side may only have depth > 1 when it faces a 3D image (checked by callers
        // that compare slice counts); for buffer copies depth must be 1.
        return Err(bad("depth extent on a 1D/2D image"));
    }
    Ok(TexelBox {
        level: sub.mip_level,
        base_layer: sub.base_array_layer,
        origin,
        extent: [extent[0], extent[1], slices],
    })
}

fn single_aspect_size(format: Format, mask: u32) -> Result<u64, ImageError> {
    format
        .aspect_copy_size(mask)
        .ok_or(ImageError::InvalidAspect { format, mask })
}

/// A buffer-image region, validated: its box, aspect, bytes per texel and buffer strides.
struct BufferRegion {
    texels: TexelBox,
    aspect_mask: u32,
    texel_bytes: u64,
    row_stride: u64,
    slice_stride: u64,
    buffer_offset: u64,
}

impl BufferRegion {
    fn new(
        image: &Image,
        buffer: &Buffer,
        r: &BufferImageCopy,
    ) -> Result<BufferRegion, ImageError> {
        let desc = image.desc();
        let mask = r.image_subresource.aspect_mask;
        let texel_bytes = single_aspect_size(desc.format, mask)?;
        if !is_3d(desc) && r.image_extent[2] != 1 {
            return Err(ImageError::InvalidRegion("depth extent on a 1D/2D image"));
        }
        let texels = check_box(desc, &r.image_subresource, r.image_offset, r.image_extent)?;
        // VUID-vkCmdCopyBufferToImage-dstImage-07975 / -07978: texel size, or 4 for depth/stencil.
        let align = if mask == aspect::COLOR {
            texel_bytes
        } else {
            4
        };
        if !r.buffer_offset.is_multiple_of(align) {
            return Err(ImageError::InvalidRegion(
                "bufferOffset misaligned for the format",
            ));
        }
        // VUID-VkBufferImageCopy-bufferRowLength-09101 / -bufferImageHeight-09102.
        let [w, h, _] = r.image_extent;
        let row_len = if r.buffer_row_length == 0 {
            w
        } else {
            r.buffer_row_length
        };
        let img_height = if r.buffer_image_height == 0 {
            h
        } else {
            r.buffer_image_height
        };
        if row_len < w || img_height < h {
            return Err(ImageError::InvalidRegion(
                "bufferRowLength/ImageHeight below the extent",
            ));
        }
        let overflow = || ImageError::InvalidRegion("buffer addresses overflow");
        let row_stride = u64::from(row_len)
            .checked_mul(texel_bytes)
            .ok_or_else(overflow)?;
        let slice_stride = u64::from(img_height)
            .checked_mul(row_stride)
            .ok_or_else(overflow)?;
        // The last texel is the highest address: its end must lie in the buffer.
        let len = u64::from(texels.extent[2] - 1)
            .checked_mul(slice_stride)
            .and_then(|a| a.checked_add(u64::from(h - 1) * row_stride))
            .and_then(|a| a.checked_add(u64::from(w) * texel_bytes))
            .ok_or_else(overflow)?;
        match r.buffer_offset.checked_add(len) {
            Some(end) if end <= buffer.size() => {}
            _ => {
                return Err(ImageError::BufferOutOfRange {
                    offset: r.buffer_offset,
                    len,
                    size: buffer.size(),
                })
            }
        }
        Ok(BufferRegion {
            texels,
            aspect_mask: mask,
            texel_bytes,
            row_stride,
            slice_stride,
            buffer_offset: r.buffer_offset,
        })
    }

    /// Calls `row(buffer_offset, level, layer, y, z)` for every row of the region.
    fn rows(
        &self,
        is_3d: bool,
        mut row: impl FnMut(u64, u32, u32, u32, u32) -> Result<(), ImageError>,
    ) -> Result<(), ImageError> {
        let t = &self.texels;
        for i in 0..t.extent[2] {
            let (layer, z) = t.slice(i, is_3d);
            for dy in 0..t.extent[1] {
                // In range: checked against the buffer size in `new`.
                let at = self.buffer_offset
                    + u64::from(i) * self.slice_stride
                    + u64::from(dy) * self.row_stride;
                row(at, t.level, layer, t.origin[1] + dy, z)?;
            }
        }
        Ok(())
    }
}

fn buffer_error(e: crate::error::RendererError) -> ImageError {
    match e {
        crate::error::RendererError::OutOfRange { offset, len, size } => {
            ImageError::BufferOutOfRange { offset, len, size }
        }
        _ => ImageError::InvalidRegion("buffer access failed"),
    }
}

impl Image {
    /// vkCmdCopyBufferToImage into `self`.
    pub fn copy_from_buffer(
        &self,
        buffer: &Buffer,
        regions: &[BufferImageCopy],
    ) -> Result<(), ImageError> {
        let checked = regions
            .iter()
            .map(|r| BufferRegion::new(self, buffer, r))
            .collect::<Result<Vec<_>, _>>()?;
        let format = self.format();
        let mut texel = vec![0u8; format.texel_size() as usize];
        for r in &checked {
            let mut row = vec![0u8; (u64::from(r.texels.extent[0]) * r.texel_bytes) as usize];
            r.rows(is_3d(self.desc()), |at, level, layer, y, z| {
                buffer.read(at, &mut row).map_err(buffer_error)?;
                for (dx, input) in row.chunks_exact(r.texel_bytes as usize).enumerate() {
                    let coord = [r.texels.origin[0] + dx as u32, y, z];
                    if r.aspect_mask != format.aspects() {
                        self.read_texel(level, layer, coord, &mut texel)?;
                    }
                    aspect_from_copy(format, r.aspect_mask, input, &mut texel)?;
                    self.write_texel(level, layer, coord, &texel)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// vkCmdCopyImageToBuffer from `self`.
    pub fn copy_to_buffer(
        &self,
        buffer: &Buffer,
        regions: &[BufferImageCopy],
    ) -> Result<(), ImageError> {
        let checked = regions
            .iter()
            .map(|r| BufferRegion::new(self, buffer, r))
            .collect::<Result<Vec<_>, _>>()?;
        let format = self.format();
        let mut texel = vec![0u8; format.texel_size() as usize];
        for r in &checked {
            let mut row = vec![0u8; (u64::from(r.texels.extent[0]) * r.texel_bytes) as usize];
            r.rows(is_3d(self.desc()), |at, level, layer, y, z| {
                for (dx, out) in row.chunks_exact_mut(r.texel_bytes as usize).enumerate() {
                    let coord = [r.texels.origin[0] + dx as u32, y, z];
                    self.read_texel(level, layer, coord, &mut texel)?;
                    aspect_to_copy(format, r.aspect_mask, &texel, out)?;
                }
                buffer.write(at, &row).map_err(buffer_error)
            })?;
        }
        Ok(())
    }

    /// vkCmdCopyImage from `src` into `self`. Color formats must have the same texel size
    /// (size-compatible); depth/stencil formats must be identical
    /// (VUID-vkCmdCopyImage-srcImage-01548, -srcImage-01551).
    pub fn copy_from_image(&self, src: &Image, regions: &[ImageCopy]) -> Result<(), ImageError> {
        let (sf, df) = (src.format(), self.format());
        let compatible = if sf.is_color() && df.is_color() {
            sf.texel_size() == df.texel_size()
        } else {
            sf == df
        };
        if !compatible {
            return Err(ImageError::IncompatibleFormats { src: sf, dst: df });
        }
        let mut checked = Vec::with_capacity(regions.len());
        for r in regions {
            let mask = r.src_subresource.aspect_mask;
            // VUID-VkImageCopy-aspectMask-00137, -srcSubresource-01696..
            if mask != r.dst_subresource.aspect_mask || mask == 0 || mask & sf.aspects() != mask {
                return Err(ImageError::InvalidAspect { format: sf, mask });
            }
            let s = check_box(src.desc(), &r.src_subresource, r.src_offset, r.extent)?;
            let d = check_box(self.desc(), &r.dst_subresource, r.dst_offset, r.extent)?;
            // VUID-vkCmdCopyImage-srcImage-01790/01791 and kin: slice counts agree.
            if s.extent[2] != d.extent[2] {
                return Err(ImageError::InvalidRegion(
                    "source and destination slice counts differ",
                ));
            }
            // VUID-vkCmdCopyImage-srcImage-01789 / -dstImage-01786: 1D/2D pairs copy depth 1.
            if !is_3d(src.desc()) && !is_3d(self.desc()) && r.extent[2] != 1 {
                return Err(ImageError::InvalidRegion(
                    "depth extent between 1D/2D images",
                ));
            }
            checked.push((mask, s, d));
        }
        let size = sf.texel_size() as usize;
        let (mut from, mut to) = (vec![0u8; size], vec![0u8; size]);
        let mut part = [0u8; 4];
        for (mask, s, d) in checked {
            let whole = mask == sf.aspects();
            for i in 0..s.extent[2] {
                let (sl, sz) = s.slice(i, is_3d(src.desc()));
                let (dl, dz) = d.slice(i, is_3d(self.desc()));
                for dy in 0..s.extent[1] {
                    for dx in 0..s.extent[0] {
                        let sc = [s.origin[0] + dx, s.origin[1] + dy, sz];
                        let dc = [d.origin[0] + dx, d.origin[1] + dy, dz];
                        src.read_texel(s.level, sl, sc, &mut from)?;
                        if whole {
                            self.write_texel(d.level, dl, dc, &from)?;
                            continue;
                        }
                        self.read_texel(d.level, dl, dc, &mut to)?;
                        for bit in [aspect::DEPTH, aspect::STENCIL] {
                            if mask & bit != 0 {
                                let n = single_aspect_size(sf, bit)? as usize;
                                aspect_to_copy(sf, bit, &from, &mut part[..n])?;
                                aspect_from_copy(df, bit, &part[..n], &mut to)?;
                            }
                        }
                        self.write_texel(d.level, dl, dc, &to)?;
                    }
                }
            }
        }
        Ok(())
    }
}
