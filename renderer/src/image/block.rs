//! Whole 4×2 pixel blocks of one subresource, addressed once: the output merger's access path
//! (a rasterizer batch covers exactly such a block, at x a multiple of 4, y of 2).
//!
//! In OPTIMAL tiling a block is two rows of 4 texels inside one 4×4 micro-tile, back to back
//! (one 32-byte run for 4-byte formats); the micro-tile is stored whole even where it sticks
//! out of the image, so every block that starts inside the image can be read whole. In LINEAR
//! tiling a block is two rows at the row pitch and only blocks lying wholly inside the image
//! have a [`BlockRows`] (the others go texel by texel).
//!
//! Bytes are copied with raw copies after one bounds check per block against the memory's
//! length, so no Rust reference into the (possibly guest) memory is ever formed.
//!
//! [`BlockAccess`] is the same with the memory's pointer and length read once (per draw)
//! instead of through the `ExternalMemory` trait object per block, and [`BlockSpan`] the
//! blocks of a rasterizer run (consecutive blocks along a block row) checked against that
//! length once per run.

use std::sync::Arc;

use super::{Image, ImageError, ImageType, Tiling, MICRO_TILE};
use crate::memory::ExternalMemory;

/// Texels of a block row.
pub const BLOCK_WIDTH: usize = 4;
/// Texels in a block: pixel `p` is at (`p % 4`, `p / 4`) from the block's corner.
pub const BLOCK_TEXELS: usize = 8;

/// Where the blocks of one (mip level, array layer) live; computed once per draw.
#[derive(Clone, Copy, Debug)]
pub struct BlockLayout {
    /// Byte of the subresource's first texel in the image's memory.
    base: usize,
    width: u32,
    height: u32,
    /// Bytes from one tile row (OPTIMAL) or texel row (LINEAR) to the next.
    row_pitch: usize,
    texel_size: usize,
    tiled: bool,
}

/// Byte offsets in the image's memory of a block's two rows of [`BLOCK_WIDTH`] texels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRows([usize; 2]);

impl BlockLayout {
    pub fn texel_size(&self) -> usize {
        self.texel_size
    }

    /// The rows of the block whose top-left texel is (`x`, `y`), or `None` where the block
    /// cannot be accessed whole (misaligned, outside the image, or a LINEAR block crossing
    /// the image's right or bottom edge).
    #[inline]
    pub fn rows(&self, x: u32, y: u32) -> Option<BlockRows> {
        if !x.is_multiple_of(BLOCK_WIDTH as u32)
            || !y.is_multiple_of(2)
            || x >= self.width
            || y >= self.height
        {
            return None;
        }
        let ts = self.texel_size;
        let (x, y) = (x as usize, y as usize);
        let tile = MICRO_TILE as usize;
        if self.tiled {
            let first = self.base
                + (y / tile) * self.row_pitch
                + (x / tile) * tile * tile * ts
                + (y % tile) * tile * ts;
            Some(BlockRows([first, first + BLOCK_WIDTH * ts]))
        } else {
            if x + BLOCK_WIDTH > self.width as usize || y + 2 > self.height as usize {
                return None;
            }
            let first = self.base + y * self.row_pitch + x * ts;
            Some(BlockRows([first, first + self.row_pitch]))
        }
    }
}

/// `copy_nonoverlapping(src, dst, len)` with the block row lengths of 4-, 8- and 16-byte
/// texels as constants, so those copies become a few moves instead of a call.
///
/// # Safety
/// As for [`std::ptr::copy_nonoverlapping`]: `src` valid for reading and `dst` for writing
/// `len` bytes, the two ranges disjoint.
#[inline(always)]
unsafe fn copy_run(src: *const u8, dst: *mut u8, len: usize) {
    match len {
        // SAFETY: the caller's contract, for exactly `len` bytes.
        16 => unsafe { std::ptr::copy_nonoverlapping(src, dst, 16) },
        // SAFETY: as above.
        32 => unsafe { std::ptr::copy_nonoverlapping(src, dst, 32) },
        // SAFETY: as above.
        64 => unsafe { std::ptr::copy_nonoverlapping(src, dst, 64) },
        // SAFETY: as above.
        _ => unsafe { std::ptr::copy_nonoverlapping(src, dst, len) },
    }
}

/// The blocks of one subresource with its memory's pointer and length resolved once.
pub struct BlockAccess {
    /// Keeps `ptr` valid: the `ExternalMemory` contract fixes the pointer and the length for
    /// the object's whole life.
    _memory: Arc<dyn ExternalMemory>,
    ptr: *mut u8,
    len: usize,
    layout: BlockLayout,
}

// SAFETY: `ptr` points into `_memory`, an `ExternalMemory` (itself `Send + Sync`) kept alive
// by the `Arc` beside it; it is only used for bounds-checked raw copies, never to form a Rust
// reference, so sharing it between threads adds nothing beyond what the memory allows.
unsafe impl Send for BlockAccess {}
// SAFETY: as for `Send`: `&BlockAccess` exposes no reference into the memory.
unsafe impl Sync for BlockAccess {}

impl std::fmt::Debug for BlockAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockAccess")
            .field("len", &self.len)
            .field("layout", &self.layout)
            .finish()
    }
}

/// Consecutive whole blocks along one block row, bounds-checked once: block `i`'s row `r`
/// (4 texels) starts at `first + i·block_stride + r·row_stride`.
#[derive(Clone, Copy, Debug)]
pub struct BlockSpan<'a> {
    access: &'a BlockAccess,
    first: usize,
    block_stride: usize,
    row_stride: usize,
    blocks: usize,
}

impl BlockAccess {
    pub fn layout(&self) -> &BlockLayout {
        &self.layout
    }

    /// The leading blocks of the `blocks` blocks starting at (`x`, `y`) (stepping 4 texels
    /// right) that can be accessed whole, or `None` when the first cannot (see
    /// [`BlockLayout::rows`]). Checked against the memory's length here, once.
    #[inline]
    pub fn span(&self, x: u32, y: u32, blocks: usize) -> Option<BlockSpan<'_>> {
        let l = &self.layout;
        let BlockRows([first, second]) = l.rows(x, y)?;
        let ts = l.texel_size;
        // `rows` accepted (x, y): x < width and, for LINEAR, x + 4 <= width.
        let room = (l.width - x) as usize;
        let (whole, block_stride) = if l.tiled {
            (
                room.div_ceil(BLOCK_WIDTH),
                MICRO_TILE as usize * MICRO_TILE as usize * ts,
            )
        } else {
            (room / BLOCK_WIDTH, BLOCK_WIDTH * ts)
        };
        let blocks = blocks.min(whole);
        let row_stride = second.checked_sub(first)?;
        // The last row of the last block ends furthest out (both strides are positive).
        let end = (blocks.checked_sub(1)?)
            .checked_mul(block_stride)?
            .checked_add(second)?
            .checked_add(BLOCK_WIDTH * ts)?;
        (end <= self.len).then_some(BlockSpan {
            access: self,
            first,
            block_stride,
            row_stride,
            blocks,
        })
    }
}

/// Contiguous bytes of a subresource's memory, bounds-checked once: in OPTIMAL tiling, the
/// micro-tiles of one micro-tile row between two columns ([`BlockAccess::tile_row`]).
#[derive(Clone, Copy, Debug)]
pub struct ByteRun<'a> {
    access: &'a BlockAccess,
    start: usize,
    len: usize,
}

impl ByteRun<'_> {
    /// Bytes in the run.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes `pattern` (32 bytes as four little-endian words) over every whole 32-byte
    /// chunk of the run (bytes past the last whole chunk are left alone).
    #[inline(always)]
    pub fn fill32(&self, pattern: [u64; 4]) {
        for i in 0..self.len / 32 {
            // In bounds (below), so this is the same pointer `add` would give.
            let at = self.access.ptr.wrapping_add(self.start + i * 32);
            // SAFETY: as in `map_chunks`: chunk `i` lies within the checked run; an
            // unaligned write of plain bytes.
            unsafe { at.cast::<[u64; 4]>().write_unaligned(pattern) };
        }
    }

    /// Replaces every whole `N`-byte chunk of the run, in order, with `f` of it (bytes past
    /// the last whole chunk are left alone).
    #[inline(always)]
    pub fn map_chunks<const N: usize>(&self, mut f: impl FnMut([u8; N]) -> [u8; N]) {
        for i in 0..self.len / N {
            // In bounds (below), so this is the same pointer `add` would give.
            let at = self.access.ptr.wrapping_add(self.start + i * N);
            // SAFETY: `tile_row` checked that `start + len` lies within the memory's `len`
            // bytes, valid for the access's life (the `ExternalMemory` contract, memory kept
            // alive by the access), and chunk `i` ends by `start + len`; unaligned reads and
            // writes of plain bytes, no reference into the memory is formed.
            let chunk = unsafe { at.cast::<[u8; N]>().read_unaligned() };
            // SAFETY: as above.
            unsafe { at.cast::<[u8; N]>().write_unaligned(f(chunk)) };
        }
    }
}

impl BlockAccess {
    /// `[x1, y1]` such that every block at `x < x1`, `y < y1` (x a multiple of 4, y of 2)
    /// can be accessed whole ([`Self::span`] gives every block of a row segment inside it),
    /// checked against the memory once; `None` where no block can.
    pub fn whole_blocks(&self) -> Option<[u32; 2]> {
        let l = &self.layout;
        let (x1, y1) = if l.tiled {
            (l.width.div_ceil(4) * 4, l.height.div_ceil(2) * 2)
        } else {
            (l.width / 4 * 4, l.height / 2 * 2)
        };
        // The last block row, whole: every other block ends before its last block does.
        let blocks = (x1 / 4) as usize;
        let last = self.span(0, y1.checked_sub(2)?, blocks)?;
        (blocks > 0 && last.blocks() == blocks).then_some([x1, y1])
    }

    /// In OPTIMAL tiling, the micro-tiles holding texels `[x0, x1) × [y, y + 4)` as one run
    /// of bytes (micro-tile after micro-tile, each its 4 rows of 4 texels), for `x0`, `x1`
    /// and `y` multiples of 4 with `x0 < x1`, `x1` within the level's width rounded up to
    /// whole micro-tiles and `y` inside the level. `None` otherwise (LINEAR tiling too).
    #[inline]
    pub fn tile_row(&self, x0: u32, x1: u32, y: u32) -> Option<ByteRun<'_>> {
        let l = &self.layout;
        let tile = MICRO_TILE;
        let aligned = x0.is_multiple_of(tile) && x1.is_multiple_of(tile) && y.is_multiple_of(tile);
        if !l.tiled || !aligned || x0 >= x1 || x1 > l.width.div_ceil(tile) * tile || y >= l.height {
            return None;
        }
        let tile_bytes = (tile * tile) as usize * l.texel_size;
        let start = l
            .base
            .checked_add((y / tile) as usize * l.row_pitch)?
            .checked_add((x0 / tile) as usize * tile_bytes)?;
        let len = ((x1 - x0) / tile) as usize * tile_bytes;
        (start.checked_add(len)? <= self.len).then_some(ByteRun {
            access: self,
            start,
            len,
        })
    }
}

impl BlockSpan<'_> {
    /// Blocks in the span (at least 1).
    pub fn blocks(&self) -> usize {
        self.blocks
    }

    /// Byte offset of block `i`'s first row, and the row length; `None` past the span.
    #[inline(always)]
    fn block(&self, i: usize, len: usize) -> Option<(usize, usize)> {
        let row = BLOCK_WIDTH * self.access.layout.texel_size;
        (i < self.blocks && len == 2 * row).then(|| (self.first + i * self.block_stride, row))
    }

    /// Copies block `i`'s 8 texels out, pixel-major (`out.len()` = 8 texels).
    #[inline(always)]
    pub fn read(&self, i: usize, out: &mut [u8]) -> Result<(), ImageError> {
        let (at, row) = self.block(i, out.len()).ok_or(ImageError::InvalidRegion(
            "block outside the span or buffer of the wrong size",
        ))?;
        for (r, dst) in out.chunks_exact_mut(row).enumerate() {
            // In bounds (below), so this is the same pointer `add` would give.
            let src = self.access.ptr.wrapping_add(at + r * self.row_stride);
            // SAFETY: `span` checked that every row of the span's blocks ends within the
            // memory's `len` bytes, valid for the access's life (the `ExternalMemory`
            // contract, memory kept alive by the access); `i < blocks` (block); `dst` is a
            // `row`-byte chunk of `out`, a distinct Rust buffer.
            unsafe { copy_run(src, dst.as_mut_ptr(), row) };
        }
        Ok(())
    }

    /// Block `i`'s two rows as arrays of `R` bytes, `R` being the row's length (16 for 4-byte
    /// texels): loads straight into registers, no buffer in between. `None` past the span or
    /// for another row length.
    #[inline(always)]
    pub fn read_rows<const R: usize>(&self, i: usize) -> Option<[[u8; R]; 2]> {
        let (at, _) = self.block(i, 2 * R)?;
        let mut rows = [[0u8; R]; 2];
        for (r, out) in rows.iter_mut().enumerate() {
            let src = self.access.ptr.wrapping_add(at + r * self.row_stride);
            // SAFETY: as in `read` (the row is `R` bytes, checked by `block`); an unaligned
            // read of plain bytes into a value, no reference into the memory.
            *out = unsafe { src.cast::<[u8; R]>().read_unaligned() };
        }
        Some(rows)
    }

    /// Stores block `i`'s two rows whole (see [`Self::read_rows`]); false (nothing written)
    /// past the span or for another row length.
    #[inline(always)]
    pub fn write_rows<const R: usize>(&self, i: usize, rows: [[u8; R]; 2]) -> bool {
        let Some((at, _)) = self.block(i, 2 * R) else {
            return false;
        };
        for (r, row) in rows.iter().enumerate() {
            let dst = self.access.ptr.wrapping_add(at + r * self.row_stride);
            // SAFETY: as in `write`, for the whole `R`-byte row.
            unsafe { dst.cast::<[u8; R]>().write_unaligned(*row) };
        }
        true
    }

    /// Stores block `i`'s 8 texels of 4 bytes (pixel-major) whole: one 32-byte write where its
    /// rows are back to back (OPTIMAL tiling), two otherwise. False (nothing written) past
    /// the span or for another texel size.
    #[inline(always)]
    pub fn write_texels32(&self, i: usize, texels: &[u32; BLOCK_TEXELS]) -> bool {
        let Some((at, row)) = self.block(i, 4 * BLOCK_TEXELS) else {
            return false;
        };
        let dst = self.access.ptr.wrapping_add(at);
        if self.row_stride == row {
            // SAFETY: as in `write`: both rows (here contiguous, `row_stride` = the row's
            // length) lie within the checked span; an unaligned write of plain words.
            unsafe { dst.cast::<[u32; BLOCK_TEXELS]>().write_unaligned(*texels) };
            return true;
        }
        let [a, b, c, d, e, f, g, h] = *texels;
        // SAFETY: as in `write`, for the first row's 16 bytes.
        unsafe { dst.cast::<[u32; 4]>().write_unaligned([a, b, c, d]) };
        let second = dst.wrapping_add(self.row_stride);
        // SAFETY: as in `write`, for the second row's 16 bytes.
        unsafe { second.cast::<[u32; 4]>().write_unaligned([e, f, g, h]) };
        true
    }

    /// Copies in the texels of `block` (pixel-major, 8 texels) whose bit is set in `pixels`;
    /// the others keep their bytes in memory.
    #[inline(always)]
    pub fn write(&self, i: usize, block: &[u8], pixels: u8) -> Result<(), ImageError> {
        let (at, row) = self.block(i, block.len()).ok_or(ImageError::InvalidRegion(
            "block outside the span or buffer of the wrong size",
        ))?;
        let ts = self.access.layout.texel_size;
        for (r, src) in block.chunks_exact(row).enumerate() {
            let row_pixels = (pixels >> (r * BLOCK_WIDTH)) & 0xf;
            // In bounds (below), so this is the same pointer `add` would give.
            let dst = self.access.ptr.wrapping_add(at + r * self.row_stride);
            if row_pixels == 0xf {
                // SAFETY: as in `read`, with source and destination swapped.
                unsafe { copy_run(src.as_ptr(), dst, row) };
                continue;
            }
            for (p, texel) in src.chunks_exact(ts).enumerate() {
                if row_pixels & (1 << p) == 0 {
                    continue;
                }
                // SAFETY: texel `p` of the row lies inside the row, which lies inside the
                // memory (as in `read`); `texel` is a chunk of `block`, a distinct buffer.
                unsafe { copy_texel(texel.as_ptr(), dst.wrapping_add(p * ts), ts) };
            }
        }
        Ok(())
    }
}

/// `copy_nonoverlapping(src, dst, len)` with the common texel sizes as constants (a move, not
/// a call).
///
/// # Safety
/// As for [`std::ptr::copy_nonoverlapping`].
#[inline(always)]
unsafe fn copy_texel(src: *const u8, dst: *mut u8, len: usize) {
    match len {
        // SAFETY: the caller's contract, for exactly `len` bytes.
        2 => unsafe { std::ptr::copy_nonoverlapping(src, dst, 2) },
        // SAFETY: as above.
        4 => unsafe { std::ptr::copy_nonoverlapping(src, dst, 4) },
        // SAFETY: as above.
        8 => unsafe { std::ptr::copy_nonoverlapping(src, dst, 8) },
        // SAFETY: as above.
        _ => unsafe { std::ptr::copy_nonoverlapping(src, dst, len) },
    }
}

impl Image {
    /// [`Image::block_layout`] with the memory's pointer and length read once.
    pub fn block_access(&self, level: u32, layer: u32) -> Result<BlockAccess, ImageError> {
        Ok(BlockAccess {
            _memory: Arc::clone(&self.memory),
            ptr: self.memory.as_ptr(),
            len: self.memory.len(),
            layout: self.block_layout(level, layer)?,
        })
    }

    /// The block layout of (`level`, `layer`) (of slice 0 for 3D images).
    pub fn block_layout(&self, level: u32, layer: u32) -> Result<BlockLayout, ImageError> {
        let sub = self.layout.subresource(level, layer)?;
        let [width, height, _] = self.desc.mip_extent(level);
        let too_large = |_| ImageError::TooLarge;
        Ok(BlockLayout {
            base: self.offset + usize::try_from(sub.offset).map_err(too_large)?,
            width,
            height,
            row_pitch: usize::try_from(sub.row_pitch).map_err(too_large)?,
            texel_size: self.format().texel_size() as usize,
            tiled: self.desc.tiling == Tiling::Optimal && self.desc.image_type != ImageType::D1,
        })
    }

    /// Checks that both rows of `rows` (of `layout`) lie inside this image's memory and that
    /// `len` is a whole block; returns the row length in bytes.
    fn check_block(
        &self,
        layout: &BlockLayout,
        rows: BlockRows,
        len: usize,
    ) -> Result<usize, ImageError> {
        let row = BLOCK_WIDTH * layout.texel_size;
        let inside = rows.0.iter().all(|&at| {
            at.checked_add(row)
                .is_some_and(|end| end <= self.memory.len())
        });
        // The layout's texel size is trusted for the row length only: memory safety rests on
        // the bounds check alone.
        if !inside {
            return Err(ImageError::InvalidRegion(
                "block outside the image's memory",
            ));
        }
        if len != 2 * row {
            return Err(ImageError::InvalidRegion("block buffer of the wrong size"));
        }
        Ok(row)
    }

    /// Copies the block's 8 texels out, pixel-major (`out.len()` = 8 texels).
    #[inline(always)]
    pub fn read_block(
        &self,
        layout: &BlockLayout,
        rows: BlockRows,
        out: &mut [u8],
    ) -> Result<(), ImageError> {
        let row = self.check_block(layout, rows, out.len())?;
        let base = self.memory.as_ptr();
        for (&at, dst) in rows.0.iter().zip(out.chunks_exact_mut(row)) {
            // In bounds (check_block), so this is the same pointer `add` would give.
            let src = base.wrapping_add(at);
            // SAFETY: `at + row <= memory.len()` (check_block), so the source run lies in the
            // memory's valid range; `dst` is a `row`-byte chunk of `out`, a distinct Rust
            // buffer.
            unsafe { copy_run(src, dst.as_mut_ptr(), row) };
        }
        Ok(())
    }

    /// Copies in the texels of `block` (pixel-major, 8 texels) whose bit is set in `pixels`;
    /// the others keep their bytes in memory.
    #[inline(always)]
    pub fn write_block(
        &self,
        layout: &BlockLayout,
        rows: BlockRows,
        block: &[u8],
        pixels: u8,
    ) -> Result<(), ImageError> {
        let row = self.check_block(layout, rows, block.len())?;
        let ts = layout.texel_size;
        let base = self.memory.as_ptr();
        for (i, (&at, src)) in rows.0.iter().zip(block.chunks_exact(row)).enumerate() {
            let row_pixels = (pixels >> (i * BLOCK_WIDTH)) & 0xf;
            // In bounds (check_block), so this is the same pointer `add` would give.
            let dst = base.wrapping_add(at);
            if row_pixels == 0xf {
                // SAFETY: as in `read_block`, with source and destination swapped.
                unsafe { copy_run(src.as_ptr(), dst, row) };
                continue;
            }
            for (p, texel) in src.chunks_exact(ts).enumerate() {
                if row_pixels & (1 << p) == 0 {
                    continue;
                }
                let dst = dst.wrapping_add(p * ts);
                // SAFETY: texel `p` of the row is `[at + p·ts, at + (p+1)·ts)` ⊆
                // `[at, at + row)`, inside the memory (check_block); `texel` is a `ts`-byte
                // chunk of `block`, a distinct Rust buffer.
                unsafe { copy_texel(texel.as_ptr(), dst, ts) };
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::format::Format;
    use crate::image::ImageDesc;

    fn image(tiling: Tiling, w: u32, h: u32, layers: u32) -> Image {
        Image::new_host(ImageDesc {
            image_type: ImageType::D2,
            format: Format::R32_UINT,
            extent: [w, h, 1],
            mip_levels: 2,
            array_layers: layers,
            tiling,
        })
        .unwrap()
    }

    /// Fills every texel of (level, layer) with a value naming it, through `write_texel`.
    fn label(img: &Image, level: u32, layer: u32) {
        let [w, h, _] = img.desc().mip_extent(level);
        for y in 0..h {
            for x in 0..w {
                let v = (level << 24) | (layer << 20) | (y << 10) | x;
                img.write_texel(level, layer, [x, y, 0], &v.to_le_bytes())
                    .unwrap();
            }
        }
    }

    #[test]
    fn blocks_read_the_texels_texel_addressing_finds() {
        for tiling in [Tiling::Optimal, Tiling::Linear] {
            let img = image(tiling, 13, 7, 3);
            for (level, layer) in [(0, 0), (0, 2), (1, 1)] {
                label(&img, level, layer);
                let layout = img.block_layout(level, layer).unwrap();
                let [w, h, _] = img.desc().mip_extent(level);
                for y in (0..h).step_by(2) {
                    for x in (0..w).step_by(4) {
                        let inside = x + 4 <= w && y + 2 <= h;
                        let Some(rows) = layout.rows(x, y) else {
                            assert!(tiling == Tiling::Linear && !inside, "{x},{y}");
                            continue;
                        };
                        let mut block = [0u8; 32];
                        img.read_block(&layout, rows, &mut block).unwrap();
                        for p in 0..8u32 {
                            let (px, py) = (x + p % 4, y + p / 4);
                            if px >= w || py >= h {
                                continue;
                            }
                            let mut t = [0u8; 4];
                            img.read_texel(level, layer, [px, py, 0], &mut t).unwrap();
                            let got = &block[p as usize * 4..p as usize * 4 + 4];
                            assert_eq!(got, t, "{tiling:?} {level} {layer} {px},{py}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn block_writes_touch_only_the_chosen_pixels() {
        for tiling in [Tiling::Optimal, Tiling::Linear] {
            let img = image(tiling, 8, 4, 1);
            label(&img, 0, 0);
            let layout = img.block_layout(0, 0).unwrap();
            let rows = layout.rows(4, 2).unwrap();
            let block: Vec<u8> = (0..32).map(|i| 0xa0 + i as u8).collect();
            img.write_block(&layout, rows, &block, 0b1001_0110).unwrap();
            for y in 0..4 {
                for x in 0..8 {
                    let mut t = [0u8; 4];
                    img.read_texel(0, 0, [x, y, 0], &mut t).unwrap();
                    let in_block = (4..8).contains(&x) && y >= 2;
                    let p = ((y - y.min(2)) * 4 + x.saturating_sub(4)) as usize;
                    if in_block && 0b1001_0110 & (1 << p) != 0 {
                        assert_eq!(&t[..], &block[p * 4..p * 4 + 4]);
                    } else {
                        assert_eq!(u32::from_le_bytes(t), (y << 10) | x, "{x},{y}");
                    }
                }
            }
        }
    }

    #[test]
    fn misaligned_outside_or_foreign_blocks_are_refused() {
        let img = image(Tiling::Optimal, 8, 4, 1);
        let layout = img.block_layout(0, 0).unwrap();
        assert!(layout.rows(2, 0).is_none());
        assert!(layout.rows(0, 1).is_none());
        assert!(layout.rows(8, 0).is_none());
        assert!(layout.rows(0, 4).is_none());
        // A block of a larger image's layout must not reach past this image's memory.
        let big = image(Tiling::Optimal, 512, 512, 1);
        let far = big.block_layout(0, 0).unwrap().rows(508, 510).unwrap();
        let mut block = [0u8; 32];
        assert!(img.read_block(&layout, far, &mut block).is_err());
        assert!(img.write_block(&layout, far, &block, 0xff).is_err());
        let rows = layout.rows(0, 0).unwrap();
        assert!(img.read_block(&layout, rows, &mut block[..16]).is_err());
    }

    #[test]
    fn spans_reach_the_last_whole_block_and_read_what_texel_addressing_finds() {
        for tiling in [Tiling::Optimal, Tiling::Linear] {
            let img = image(tiling, 30, 7, 2);
            for (level, layer) in [(0, 1), (1, 0)] {
                label(&img, level, layer);
                let access = img.block_access(level, layer).unwrap();
                let [w, h, _] = img.desc().mip_extent(level);
                for y in (0..h).step_by(2) {
                    for x in (0..w).step_by(4) {
                        let Some(span) = access.span(x, y, 16) else {
                            assert!(access.layout().rows(x, y).is_none(), "{x},{y}");
                            continue;
                        };
                        let whole = match tiling {
                            Tiling::Optimal => (w - x).div_ceil(4),
                            Tiling::Linear => (w - x) / 4,
                        };
                        assert_eq!(span.blocks(), whole as usize, "{tiling:?} {x},{y}");
                        for i in 0..span.blocks() {
                            let mut block = [0u8; 32];
                            span.read(i, &mut block).unwrap();
                            let bx = x + 4 * i as u32;
                            let rows = access.layout().rows(bx, y).unwrap();
                            let mut want = [0u8; 32];
                            img.read_block(access.layout(), rows, &mut want).unwrap();
                            assert_eq!(block, want, "{tiling:?} {level} {layer} {bx},{y}");
                        }
                        let rows = span.read_rows::<16>(0).unwrap();
                        let mut block = [0u8; 32];
                        span.read(0, &mut block).unwrap();
                        assert_eq!(rows.as_flattened(), &block[..]);
                        assert!(span.read_rows::<16>(span.blocks()).is_none());
                        assert!(span.read_rows::<8>(0).is_none());
                        assert!(span.read(span.blocks(), &mut block).is_err());
                        assert!(span.read(0, &mut block[..16]).is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn span_writes_touch_only_the_chosen_pixels_of_the_chosen_block() {
        for tiling in [Tiling::Optimal, Tiling::Linear] {
            let img = image(tiling, 16, 4, 1);
            label(&img, 0, 0);
            let access = img.block_access(0, 0).unwrap();
            let span = access.span(4, 2, 3).unwrap();
            assert_eq!(span.blocks(), 3);
            let block: Vec<u8> = (0..32).map(|i| 0xa0 + i as u8).collect();
            span.write(1, &block, 0b1001_0110).unwrap();
            let rows = span.read_rows::<16>(2).unwrap();
            assert!(span.write_rows::<16>(2, rows));
            assert!(!span.write_rows::<16>(3, rows));
            assert!(!span.write_rows::<32>(2, [[0; 32]; 2]));
            for y in 0..4 {
                for x in 0..16 {
                    let mut t = [0u8; 4];
                    img.read_texel(0, 0, [x, y, 0], &mut t).unwrap();
                    let in_block = (8..12).contains(&x) && y >= 2;
                    let p = ((y - y.min(2)) * 4 + x.saturating_sub(8)) as usize;
                    if in_block && 0b1001_0110 & (1 << p) != 0 {
                        assert_eq!(&t[..], &block[p * 4..p * 4 + 4]);
                    } else {
                        assert_eq!(u32::from_le_bytes(t), (y << 10) | x, "{x},{y}");
                    }
                }
            }
        }
    }
}
