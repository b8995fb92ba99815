//! Filling a rectangle of texels with one value: the fast path of every clear (render-pass
//! LOAD_OP_CLEAR, vkCmdClearAttachments, vkCmdClearColorImage, vkCmdClearDepthStencilImage).
//!
//! A clear is a few long pattern writes, not one bounds-checked copy per texel: the tiles a
//! rectangle covers entirely are contiguous within a tile row (the whole row when the level is
//! row-major), and only the rectangle's edge tiles are written row segment by row segment.
//! Fully covered tiles are written whole, padding texels included (they are the image's own
//! bytes and nobody reads them), so a clear of a level whose size is not a multiple of the
//! tile is still one write per tile row.

use super::{Image, ImageError};

/// Bytes of the repeated texel pattern (a multiple of every power-of-two texel size).
const PATTERN_BYTES: usize = 64;

/// A texel value repeated over [`PATTERN_BYTES`] (the largest multiple of the texel size that
/// fits), so that a span of whole texels is written in 64-byte pieces.
struct Pattern {
    bytes: [u8; PATTERN_BYTES],
    /// Bytes of `bytes` that hold whole texels.
    len: usize,
}

impl Pattern {
    fn new(texel: &[u8]) -> Pattern {
        let mut bytes = [0u8; PATTERN_BYTES];
        let size = texel.len().clamp(1, PATTERN_BYTES);
        let len = PATTERN_BYTES / size * size;
        for chunk in bytes[..len].chunks_exact_mut(size) {
            chunk.copy_from_slice(&texel[..size]);
        }
        Pattern { bytes, len }
    }
}

impl Image {
    /// Writes `texel` (the format's texel size) to every texel of `[x0, x1) × [y0, y1)` of
    /// slice `z` of (`level`, `layer`). The rectangle must lie inside the level; an empty one
    /// writes nothing.
    pub fn fill_rect(
        &self,
        level: u32,
        layer: u32,
        z: u32,
        [x0, x1, y0, y1]: [u32; 4],
        texel: &[u8],
    ) -> Result<(), ImageError> {
        self.check_texel_len(texel.len())?;
        if x0 >= x1 || y0 >= y1 {
            return Ok(());
        }
        // Both corners through the layout: level, layer and z exist, x1 ≤ width, y1 ≤ height.
        let slice = self.layout.texel_offset(level, layer, [0, 0, z])?;
        self.layout
            .texel_offset(level, layer, [x1 - 1, y1 - 1, z])?;
        let mip = self
            .layout
            .mip(level)
            .ok_or(ImageError::InvalidRegion("no such mip level"))?;
        // Every write below lies in the slice's tile rows, `[slice, slice + depth_pitch)`,
        // which the layout placed inside the image.
        let slice_end = slice
            .checked_add(mip.depth_pitch)
            .filter(|&end| end <= self.layout.size())
            .ok_or(ImageError::InvalidRegion("slice outside the image"))?;
        let writer = SpanWriter {
            image: self,
            pattern: Pattern::new(texel),
            end: slice_end,
        };
        let (tw, th) = mip.tile_extent();
        let size = texel.len() as u64;
        let tile_bytes = u64::from(tw) * u64::from(th) * size;
        let (width, height) = (mip.width, mip.height);
        // Tile columns whose valid texels the rectangle covers entirely.
        let full_x0 = x0.div_ceil(tw);
        let full_x1 = if x1 == width {
            width.div_ceil(tw)
        } else {
            x1 / tw
        };
        for ty in y0 / th..=(y1 - 1) / th {
            let row = slice + u64::from(ty) * mip.row_pitch;
            let rows_lo = (ty * th).max(y0);
            let rows_hi = ((ty + 1) * th).min(height).min(y1);
            let rows_full = rows_lo == ty * th && rows_hi == ((ty + 1) * th).min(height);
            // The x ranges written row by row: everything, or the edges beside the full tiles.
            let (left, right) = if rows_full && full_x0 < full_x1 {
                let start = row + u64::from(full_x0) * tile_bytes;
                writer.fill(start, u64::from(full_x1 - full_x0) * tile_bytes)?;
                ((x0, (full_x0 * tw).min(x1)), ((full_x1 * tw).max(x0), x1))
            } else {
                ((x0, x1), (x1, x1))
            };
            for y in rows_lo..rows_hi {
                let in_row = u64::from(y % th) * u64::from(tw) * size;
                for (a, b) in [left, right] {
                    let mut x = a;
                    while x < b {
                        let tx = x / tw;
                        let seg_end = ((tx + 1) * tw).min(b);
                        let at =
                            row + u64::from(tx) * tile_bytes + in_row + u64::from(x % tw) * size;
                        writer.fill(at, u64::from(seg_end - x) * size)?;
                        x = seg_end;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Writes a pattern into the image's bytes `[at, at + len)`, checked against `end`.
struct SpanWriter<'a> {
    image: &'a Image,
    pattern: Pattern,
    /// Image-relative end of the bytes writes may touch (≤ the layout's size).
    end: u64,
}

impl SpanWriter<'_> {
    /// `len` is a whole number of texels and `at` a texel boundary of the fill's slice.
    fn fill(&self, at: u64, len: u64) -> Result<(), ImageError> {
        let outside = ImageError::InvalidRegion("fill outside the image");
        let stop = at.checked_add(len).ok_or(outside.clone())?;
        if stop > self.end {
            return Err(outside);
        }
        let (at, len) = (at as usize, len as usize);
        // `end ≤ layout.size()` and `offset + layout.size() ≤ memory.len()` (the bind
        // invariant), so `offset + stop` is inside the memory and fits a usize.
        let start = self.image.offset + at;
        // SAFETY: `[start, start + len)` lies inside the memory's single valid range (see
        // above); the pointer is only used for raw writes below, no reference is formed.
        let dst = unsafe { self.image.memory.as_ptr().add(start) };
        let Pattern { bytes, len: plen } = &self.pattern;
        let mut done = 0;
        if *plen == PATTERN_BYTES {
            while done + PATTERN_BYTES <= len {
                // SAFETY: `done + 64 ≤ len`: `dst + done` is inside the range checked above.
                let to = unsafe { dst.add(done) };
                // SAFETY: the 64 bytes at `to` are inside that range; the pattern is a
                // distinct local array.
                unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), to, PATTERN_BYTES) };
                done += PATTERN_BYTES;
            }
        } else {
            while done + plen <= len {
                // SAFETY: `done + plen ≤ len`, as above.
                let to = unsafe { dst.add(done) };
                // SAFETY: as above, for `plen` bytes.
                unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), to, *plen) };
                done += plen;
            }
        }
        // SAFETY: `done ≤ len`, so `dst + done` is inside (or at the end of) the checked range.
        let to = unsafe { dst.add(done) };
        // SAFETY: `len - done < plen ≤ 64` bytes at `to` end at `dst + len`, inside the
        // checked range; `done` and `len` are whole texels, so the pattern lines up.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), to, len - done) };
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::image::{ImageDesc, ImageType, Tiling};
    use protocol::format::Format;

    fn image(format: Format, extent: [u32; 3], mips: u32, layers: u32, tiling: Tiling) -> Image {
        let ty = if extent[2] > 1 {
            ImageType::D3
        } else {
            ImageType::D2
        };
        Image::new_host(ImageDesc {
            image_type: ty,
            format,
            extent,
            mip_levels: mips,
            array_layers: layers,
            tiling,
        })
        .unwrap()
    }

    /// Every texel of the image as bytes, level by level, layer by layer, z, y, x.
    fn snapshot(img: &Image) -> Vec<Vec<u8>> {
        let size = img.format().texel_size() as usize;
        let mut out = Vec::new();
        let (levels, layers) = (img.desc().mip_levels, img.desc().array_layers);
        img.for_each_texel(0..levels, 0..layers, |level, layer, coord| {
            let mut t = vec![0u8; size];
            img.read_texel(level, layer, coord, &mut t)?;
            out.push(t);
            Ok(())
        })
        .unwrap();
        out
    }

    /// The texel-by-texel reference of `fill_rect`.
    fn reference_fill(
        img: &Image,
        level: u32,
        layer: u32,
        z: u32,
        [x0, x1, y0, y1]: [u32; 4],
        texel: &[u8],
    ) {
        for y in y0..y1 {
            for x in x0..x1 {
                img.write_texel(level, layer, [x, y, z], texel).unwrap();
            }
        }
    }

    /// Fills the image with a distinct byte per texel so that a stray write shows.
    fn scribble(img: &Image) {
        let size = img.format().texel_size() as usize;
        let mut n = 0u8;
        let (levels, layers) = (img.desc().mip_levels, img.desc().array_layers);
        img.for_each_texel(0..levels, 0..layers, |level, layer, coord| {
            n = n.wrapping_add(37);
            img.write_texel(level, layer, coord, &vec![n; size])
        })
        .unwrap();
    }

    #[test]
    fn every_rectangle_matches_the_texel_by_texel_reference() {
        let formats = [
            Format::R8_UNORM,
            Format::R16G16_SFLOAT,
            Format::R8G8B8A8_UNORM,
            Format::R32G32_UINT,
            Format::R32G32B32A32_SFLOAT,
        ];
        for tiling in [Tiling::Optimal, Tiling::Linear] {
            for format in formats {
                let size = format.texel_size() as usize;
                let texel: Vec<u8> = (0..size as u8).map(|b| 0xa0 | b).collect();
                let fast = image(format, [11, 9, 1], 2, 2, tiling);
                let slow = image(format, [11, 9, 1], 2, 2, tiling);
                let rects = [
                    [0, 11, 0, 9],
                    [1, 10, 1, 8],
                    [4, 8, 4, 8],
                    [3, 5, 2, 3],
                    [0, 11, 5, 9],
                    [5, 11, 0, 9],
                    [7, 8, 0, 1],
                ];
                for rect in rects {
                    scribble(&fast);
                    scribble(&slow);
                    fast.fill_rect(0, 1, 0, rect, &texel).unwrap();
                    reference_fill(&slow, 0, 1, 0, rect, &texel);
                    assert_eq!(
                        snapshot(&fast),
                        snapshot(&slow),
                        "{format:?} {tiling:?} {rect:?}"
                    );
                }
                // Level 1 (5×4): a whole-level clear writes the padding of its edge tiles.
                scribble(&fast);
                scribble(&slow);
                fast.fill_rect(1, 0, 0, [0, 5, 0, 4], &texel).unwrap();
                reference_fill(&slow, 1, 0, 0, [0, 5, 0, 4], &texel);
                assert_eq!(snapshot(&fast), snapshot(&slow), "{format:?} level 1");
            }
        }
    }

    #[test]
    fn a_slice_of_a_3d_image_is_filled_alone() {
        let fast = image(Format::R8G8B8A8_UNORM, [6, 5, 3], 1, 1, Tiling::Optimal);
        let slow = image(Format::R8G8B8A8_UNORM, [6, 5, 3], 1, 1, Tiling::Optimal);
        scribble(&fast);
        scribble(&slow);
        fast.fill_rect(0, 0, 1, [0, 6, 0, 5], &[1, 2, 3, 4])
            .unwrap();
        reference_fill(&slow, 0, 0, 1, [0, 6, 0, 5], &[1, 2, 3, 4]);
        assert_eq!(snapshot(&fast), snapshot(&slow));
    }

    #[test]
    fn rectangles_outside_the_level_and_wrong_texels_are_refused_without_writing() {
        let img = image(Format::R8G8B8A8_UNORM, [8, 8, 1], 2, 1, Tiling::Optimal);
        scribble(&img);
        let before = snapshot(&img);
        let t = [9u8; 4];
        assert!(img.fill_rect(0, 0, 0, [0, 9, 0, 8], &t).is_err());
        assert!(img.fill_rect(0, 0, 0, [0, 8, 0, 9], &t).is_err());
        assert!(img.fill_rect(1, 0, 0, [0, 5, 0, 4], &t).is_err());
        assert!(img.fill_rect(2, 0, 0, [0, 1, 0, 1], &t).is_err());
        assert!(img.fill_rect(0, 1, 0, [0, 1, 0, 1], &t).is_err());
        assert!(img.fill_rect(0, 0, 1, [0, 1, 0, 1], &t).is_err());
        assert!(img.fill_rect(0, 0, 0, [0, 8, 0, 8], &t[..3]).is_err());
        assert!(img.fill_rect(0, 0, 0, [u32::MAX, 3, 0, 8], &t).is_ok());
        assert_eq!(snapshot(&img), before);
    }
}
