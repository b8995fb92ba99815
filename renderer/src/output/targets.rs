//! The attachments of one draw as the output merger writes them: [`ColorTarget`] and
//! [`DepthStencilTarget`], resolved once per draw (format, blend state, write mask, and the
//! image's memory as a [`BlockAccess`]: pointer and length read once, not per block), and
//! their writes for whole blocks of a run ([`BlockSpan`]) or texel by texel where a block
//! cannot be accessed whole.
//!
//! Runs of 8-bit UNORM colour attachments that blend go through the fixed-point kernel, one
//! call per run ([`BlockShading::blend_unorm8_run`]); other blocks of 8-bit UNORM
//! attachments go through one vector kernel each
//! ([`BlockShading::shade_unorm8`]: unpack, blend, pack, write mask and coverage, then one
//! whole-block store) where the CPU has AVX2; other fast formats through the block codecs
//! ([`BlockShading::shade`]); the rest texel by texel inside the block with `pack_color`.

use crate::format::{
    pack_color, unpack_color, ColorValue, Format, FormatError, NumericClass, ValueKind,
};
use crate::image::{BlockAccess, BlockSpan, Image, ImageError, BLOCK_TEXELS};
use crate::raster::{lane_offset, LANES};

use super::blend::{blend, clamp_for, MAX_TEXEL};
use super::color_block::{BlockShading, ColorCodec, LANE_PIXEL, PIXEL_LANE};
use super::depth_stencil::DepthStencilTest;
use super::state::BlendState;
use super::{FragmentOutputs, OutputError};

/// Largest depth/stencil texel (D32_SFLOAT_S8_UINT).
const MAX_DS_TEXEL: usize = 8;

/// A lane mask as a pixel mask: lanes 0, 1, 4, 5 are the top row's pixels 0–3 and lanes 2,
/// 3, 6, 7 the bottom row's (see [`LANE_PIXEL`]), so bits 2–3 and 4–5 trade places.
pub(super) fn lanes_to_pixels(lanes: u8) -> u8 {
    (lanes & 0b1100_0011) | ((lanes & 0b0000_1100) << 2) | ((lanes & 0b0011_0000) >> 2)
}

/// A pixel mask as a lane mask (the same exchange, which is its own inverse).
pub(super) fn pixels_to_lanes(pixels: u8) -> u8 {
    lanes_to_pixels(pixels)
}

/// The first error a tile met (the fragment concerned was dropped).
#[derive(Default)]
pub(super) struct ErrorSlot(pub Option<OutputError>);

impl ErrorSlot {
    pub(super) fn record(&mut self, error: impl Into<OutputError>) {
        if self.0.is_none() {
            self.0 = Some(error.into());
        }
    }
}

/// A colour attachment resolved for writing.
pub(super) struct ColorTarget {
    pub image: Image,
    pub level: u32,
    pub layer: u32,
    pub access: BlockAccess,
    pub format: Format,
    pub class: NumericClass,
    pub texel_size: usize,
    /// The block path (used when `shading.codec` is not `Generic`).
    pub shading: BlockShading,
    pub blend: BlendState,
    /// Blending on and the format blendable (integer formats never blend).
    pub blending: bool,
    /// Packed-texel bytes the write mask lets through.
    pub byte_mask: [u8; MAX_TEXEL],
    /// [`Self::byte_mask`] for each texel of a block.
    pub block_mask: [u8; BLOCK_TEXELS * MAX_TEXEL],
    /// [`Self::byte_mask`]'s first four bytes as a little-endian word (4-byte texels).
    pub word_mask: u32,
    /// The write mask lets every bit through: the old texel need not be read unless blending.
    pub full_write: bool,
    /// Blend constants clamped for this attachment's class.
    pub constants: [f32; 4],
    /// What covered rectangles get ([`Self::write_rect_from`]) where the draw's colour is one
    /// for every fragment ([`Self::prepare_rect`]).
    pub rect: Option<RectSource>,
    /// [`BlockAccess::whole_blocks`] of `access` (`[0, 0]` where none), for
    /// [`Self::holds_rect`].
    pub whole_blocks: [u32; 2],
}

/// The one colour a draw writes to an attachment, ready for whole rectangles.
pub(super) enum RectSource {
    /// The packed source texel of the fixed-point blend.
    Blend(u32),
    /// The packed texel repeated over 32 bytes (as four little-endian words; texel sizes
    /// that divide 32), stored as it is.
    Store([u64; 4]),
}

/// The depth/stencil attachment resolved for testing.
pub(super) struct DepthStencilTarget {
    pub image: Image,
    pub level: u32,
    pub layer: u32,
    pub access: BlockAccess,
    pub texel_size: usize,
    pub test: DepthStencilTest,
}

impl ColorTarget {
    fn needs_old(&self) -> bool {
        self.blending || !self.full_write
    }

    /// Blends (where enabled) and writes the `live` lanes (`live[i]` for block `i`) of the
    /// run whose first block is at (`x`, `y`) into this attachment, number `index` of the
    /// shader's outputs (`outputs[i]` for block `i`). Whole blocks where `span` (the run's
    /// accessible leading blocks) has them, texel by texel after.
    pub(super) fn write_run(
        &self,
        index: usize,
        span: Option<BlockSpan<'_>>,
        (x, y): (u32, u32),
        live: &[u8],
        outputs: &[FragmentOutputs],
        errors: &mut ErrorSlot,
    ) {
        let whole = span.map_or(0, |s| s.blocks()).min(live.len());
        if let Some(span) = &span {
            let live = &live[..whole];
            let fixed = self
                .shading
                .blend_unorm8_run(span, live, outputs, index, self.word_mask);
            if let Some(left) = fixed {
                // Blocks the kernel could not access whole (none where the span holds).
                for (i, (&lanes, out)) in live.iter().zip(outputs).enumerate() {
                    if left & (1 << i) != 0 {
                        self.write_block(&out.color[index], span, i, lanes, errors);
                    }
                }
            } else if self.shading.wide() {
                self.write_unorm8_blocks(index, span, live, outputs, errors);
            } else {
                for (i, (&lanes, out)) in live.iter().zip(outputs).enumerate() {
                    if lanes != 0 {
                        self.write_block(&out.color[index], span, i, lanes, errors);
                    }
                }
            }
        }
        for (i, (&lanes, out)) in live.iter().zip(outputs).enumerate().skip(whole) {
            let bx = x.saturating_add(4 * i as u32);
            for lane in (0..LANES).filter(|l| lanes & (1 << l) != 0) {
                let (dx, dy) = lane_offset(lane);
                let coord = [bx + dx, y + dy, 0];
                self.write_texel(out.words(index, lane), coord, errors);
            }
        }
    }

    /// Prepares covered rectangles for a draw whose fragments all output `words` to this
    /// attachment: the fixed-point blend's source texel, or, where the attachment does not
    /// blend and its write mask lets every bit through, the block of packed texels to store.
    /// Leaves it unprepared (rectangles go back to the runs) otherwise.
    pub(super) fn prepare_rect(&mut self, words: [u32; 4]) {
        self.rect = self.rect_source(words);
    }

    /// What [`Self::write_rect_from`] writes for fragments that all output `words` to this
    /// attachment (see [`Self::prepare_rect`]); `None` where rectangles must go back to the
    /// runs.
    pub(super) fn rect_source(&self, words: [u32; 4]) -> Option<RectSource> {
        if let Some(texel) = self.shading.unorm8_rect_texel(words) {
            Some(RectSource::Blend(texel))
        } else if self.stores_rects() {
            if let (Some(texel), 4) = (self.shading.unorm8_texel(words), self.texel_size) {
                let word = u64::from(u32::from_le_bytes(texel)) * 0x1_0000_0001;
                return Some(RectSource::Store([word; 4]));
            }
            let ts = self.texel_size;
            let mut bytes = [0u8; 32];
            let value = self.texel_value(words, &[]).ok()?;
            pack_color(self.format, value, bytes.get_mut(..ts)?).ok()?;
            for p in 1..32 / ts {
                bytes.copy_within(..ts, p * ts);
            }
            Some(RectSource::Store(std::array::from_fn(|w| {
                u64::from_le_bytes(std::array::from_fn(|i| bytes[8 * w + i]))
            })))
        } else {
            None
        }
    }

    /// Whether [`Self::rect_source`] can give a source at all (blending in fixed point, or
    /// not blending under a full write mask).
    pub(super) fn rects_possible(&self) -> bool {
        self.shading.blends_rects() || self.stores_rects()
    }

    /// Whether the attachment takes 8-bit RGBA texels stored as they are
    /// ([`crate::output::FragmentShader::sampled_rect`]): `Some(bgra)` for R8G8B8A8 and
    /// B8G8R8A8 UNORM with no blending and a full write mask.
    pub(super) fn stores_rgba8(&self) -> Option<bool> {
        let bgra = match self.format {
            Format::R8G8B8A8_UNORM => false,
            Format::B8G8R8A8_UNORM => true,
            _ => return None,
        };
        (!self.blending && self.full_write).then_some(bgra)
    }

    /// Rectangles are stored as packed texels: no blending, a full write mask, and a texel
    /// size that divides the 32-byte pattern.
    fn stores_rects(&self) -> bool {
        !self.blending && self.full_write && 32 % self.texel_size == 0
    }

    /// Whether every block row of the block-aligned rectangle `area` is a whole span of the
    /// attachment ([`Self::whole_blocks`]).
    #[inline]
    pub(super) fn holds_rect(&self, [x0, x1, y0, y1]: [u32; 4]) -> bool {
        let [wx, wy] = self.whole_blocks;
        x0 < x1 && y0 < y1 && x1 <= wx && y1 <= wy
    }

    /// Writes `source` (from [`Self::rect_source`]) to every texel of `area`, a rectangle the
    /// attachment holds ([`Self::holds_rect`]): blended in fixed point, or stored block by
    /// block. The same bytes as the block paths write for the same fragments.
    pub(super) fn write_rect_from(
        &self,
        area: [u32; 4],
        source: Option<&RectSource>,
        errors: &mut ErrorSlot,
    ) {
        let written = match source {
            None => false,
            Some(RectSource::Blend(texel)) => {
                self.shading
                    .blend_unorm8_rect(&self.access, area, *texel, self.word_mask)
            }
            Some(RectSource::Store(block)) => self.store_rect(area, block, errors),
        };
        if !written {
            errors.record(ImageError::InvalidRegion("rectangle not writable whole"));
        }
    }

    /// Stores `block` (8 packed texels) over every block of `area`: whole micro-tile rows as
    /// 32-byte pattern writes where the layout has them, block rows as spans elsewhere. False
    /// where a block row is not a whole span.
    fn store_rect(
        &self,
        [x0, x1, y0, y1]: [u32; 4],
        pattern: &[u64; 4],
        errors: &mut ErrorSlot,
    ) -> bool {
        let ts = self.texel_size;
        let blocks = (x1.saturating_sub(x0) / 4) as usize;
        // A block's texels (8 · ts ≤ 128 bytes: the pattern repeated), made when a block row
        // is not part of a whole micro-tile row.
        let mut block = None;
        let mut y = y0;
        while y < y1 {
            if y + 4 <= y1 {
                let row = self.access.tile_row(x0, x1, y);
                if let Some(row) = row.filter(|r| r.len() % 32 == 0) {
                    row.fill32(*pattern);
                    y += 4;
                    continue;
                }
            }
            let Some(span) = self.access.span(x0, y, blocks) else {
                return false;
            };
            let block = block.get_or_insert_with(|| {
                let bytes: Vec<u8> = pattern.iter().flat_map(|w| w.to_le_bytes()).collect();
                let mut block = [0u8; BLOCK_TEXELS * MAX_TEXEL];
                for (i, b) in block.iter_mut().enumerate() {
                    *b = bytes[i % 32];
                }
                block
            });
            let block = block.get(..BLOCK_TEXELS * ts).unwrap_or_default();
            for i in 0..span.blocks() {
                if let Err(e) = span.write(i, block, u8::MAX) {
                    errors.record(e);
                }
            }
            y += 2;
        }
        true
    }

    /// [`Self::write_unorm8`] on each live block of `span`, in one AVX2 + FMA build so that
    /// the kernel, the block reads and the stores inline into one loop.
    fn write_unorm8_blocks(
        &self,
        index: usize,
        span: &BlockSpan<'_>,
        live: &[u8],
        outputs: &[FragmentOutputs],
        errors: &mut ErrorSlot,
    ) {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn blocks_avx2(
            target: &ColorTarget,
            index: usize,
            span: &BlockSpan<'_>,
            live: &[u8],
            outputs: &[FragmentOutputs],
            errors: &mut ErrorSlot,
        ) {
            for (i, (&lanes, out)) in live.iter().zip(outputs).enumerate() {
                if lanes != 0 {
                    target.write_unorm8(&out.color[index], span, i, lanes, errors);
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `wide()` (checked by the caller) holds only where the CPU reports AVX2
        // and FMA.
        unsafe {
            blocks_avx2(self, index, span, live, outputs, errors);
        }
        #[cfg(not(target_arch = "x86_64"))]
        for (i, (&lanes, out)) in live.iter().zip(outputs).enumerate() {
            if lanes != 0 {
                self.write_block(&out.color[index], span, i, lanes, errors);
            }
        }
    }

    /// [`Self::write_block`] for 8-bit UNORM with the vector kernel: the block is read only
    /// when blending, masking or partly covered, and stored whole.
    #[inline(always)]
    fn write_unorm8(
        &self,
        words: &[[u32; LANES]; 4],
        span: &BlockSpan<'_>,
        i: usize,
        live: u8,
        errors: &mut ErrorSlot,
    ) {
        let merge = self.needs_old() || live != 0xff;
        let old = match merge || self.blending {
            true => span.read_rows::<16>(i),
            false => Some([[0; 16]; 2]),
        };
        let new = old.and_then(|old| {
            self.shading
                .shade_unorm8(words, old, merge, live, self.word_mask)
        });
        // With `merge`, pixels outside `live` and bits outside the write mask hold the
        // texels' own bytes: the block is stored whole.
        match new {
            Some(new) if span.write_rows(i, new) => {}
            _ => self.write_block(words, span, i, live, errors),
        }
    }

    /// Blends (where enabled) and writes the `live` lanes of `words` into block `i` of `span`.
    fn write_block(
        &self,
        words: &[[u32; LANES]; 4],
        span: &BlockSpan<'_>,
        i: usize,
        live: u8,
        errors: &mut ErrorSlot,
    ) {
        let ts = self.texel_size;
        let n = BLOCK_TEXELS * ts;
        let mut old = [0u8; BLOCK_TEXELS * MAX_TEXEL];
        let mut new = [0u8; BLOCK_TEXELS * MAX_TEXEL];
        let (old, new) = (&mut old[..n], &mut new[..n]);
        if self.needs_old() {
            if let Err(e) = span.read(i, old) {
                return errors.record(e);
            }
        }
        let mut pixels = lanes_to_pixels(live);
        if self.shading.codec == ColorCodec::Generic {
            for (p, &lane) in PIXEL_LANE.iter().enumerate() {
                if pixels & (1 << p) == 0 {
                    continue;
                }
                let texel = [0, 1, 2, 3].map(|c| words[c][lane]);
                let at = p * ts..(p + 1) * ts;
                let value = self.texel_value(texel, &old[at.clone()]);
                let packed = value.and_then(|v| Ok(pack_color(self.format, v, &mut new[at])?));
                if let Err(e) = packed {
                    pixels &= !(1 << p);
                    errors.record(e);
                }
            }
        } else {
            self.shading.shade(words, old, new);
        }
        if !self.full_write {
            for ((n, o), m) in new.iter_mut().zip(old.iter()).zip(&self.block_mask) {
                *n = (*n & m) | (*o & !m);
            }
        }
        if let Err(e) = span.write(i, new, pixels) {
            errors.record(e);
        }
    }

    /// Blends (where enabled) and writes one fragment's output `words` at `coord`,
    /// addressing the texel on its own.
    fn write_texel(&self, words: [u32; 4], coord: [u32; 3], errors: &mut ErrorSlot) {
        let n = self.texel_size;
        let mut old = [0u8; MAX_TEXEL];
        let mut new = [0u8; MAX_TEXEL];
        let (old, new) = (&mut old[..n], &mut new[..n]);
        if self.needs_old() {
            if let Err(e) = self.image.read_texel(self.level, self.layer, coord, old) {
                return errors.record(e);
            }
        }
        let value = match self.texel_value(words, old) {
            Ok(v) => v,
            Err(e) => return errors.record(e),
        };
        if let Err(e) = pack_color(self.format, value, new) {
            return errors.record(e);
        }
        if !self.full_write {
            for ((n, o), m) in new.iter_mut().zip(old.iter()).zip(&self.byte_mask) {
                *n = (*n & m) | (*o & !m);
            }
        }
        if let Err(e) = self.image.write_texel(self.level, self.layer, coord, new) {
            errors.record(e);
        }
    }

    /// The value one fragment with output `words` writes over the packed texel `old` (read
    /// only when blending): blended where enabled, ready for `pack_color`.
    fn texel_value(&self, words: [u32; 4], old: &[u8]) -> Result<ColorValue, OutputError> {
        Ok(match self.class.value_kind() {
            ValueKind::Uint => ColorValue::Uint(words),
            ValueKind::Sint => ColorValue::Sint(words.map(|w| w as i32)),
            ValueKind::Float if !self.blending => ColorValue::Float(words.map(f32::from_bits)),
            ValueKind::Float => {
                let src = clamp_for(self.class, words.map(f32::from_bits));
                let dst = match unpack_color(self.format, old)? {
                    ColorValue::Float(d) => clamp_for(self.class, d),
                    _ => {
                        return Err(FormatError::NotColor {
                            format: self.format,
                        }
                        .into())
                    }
                };
                ColorValue::Float(blend(&self.blend, self.class, src, dst, &self.constants))
            }
        })
    }
}

impl DepthStencilTarget {
    /// Depth bounds, stencil and depth tests of the `live` lanes of block `i` of `span`, with
    /// depths `depth` (clamped, by lane); returns the survivors.
    pub(super) fn test_block(
        &self,
        span: &BlockSpan<'_>,
        i: usize,
        front_facing: bool,
        live: u8,
        depth: &[f32; LANES],
        errors: &mut ErrorSlot,
    ) -> u8 {
        let ts = self.texel_size;
        let mut block = [0u8; BLOCK_TEXELS * MAX_DS_TEXEL];
        let block = &mut block[..BLOCK_TEXELS * ts];
        if let Err(e) = span.read(i, block) {
            errors.record(e);
            return 0;
        }
        if let Some(encoding) = self.test.depth_only() {
            let pixels = lanes_to_pixels(live);
            let z = PIXEL_LANE.map(|lane| depth[lane]);
            let passed = self.test.test_depth_block(encoding, block, ts, pixels, &z);
            if self.test.depth.write_enable && passed != 0 {
                if let Err(e) = span.write(i, block, passed) {
                    errors.record(e);
                }
            }
            return pixels_to_lanes(passed);
        }
        let (mut passed, mut modified) = (0u8, 0u8);
        for lane in (0..LANES).filter(|l| live & (1 << l) != 0) {
            let p = LANE_PIXEL[lane];
            let texel = &mut block[p * ts..(p + 1) * ts];
            match self.test.test(texel, front_facing, depth[lane]) {
                Ok(outcome) => {
                    if outcome.modified {
                        modified |= 1 << p;
                    }
                    if outcome.passed {
                        passed |= 1 << lane;
                    }
                }
                Err(e) => errors.record(e),
            }
        }
        if modified != 0 {
            if let Err(e) = span.write(i, block, modified) {
                errors.record(e);
            }
        }
        passed
    }

    /// [`Self::test_block`] texel by texel, for the block at (`x`, `y`).
    pub(super) fn test_texels(
        &self,
        (x, y): (u32, u32),
        front_facing: bool,
        live: u8,
        depth: &[f32; LANES],
        errors: &mut ErrorSlot,
    ) -> u8 {
        let mut passed = 0;
        let mut texel = [0u8; MAX_DS_TEXEL];
        let texel = &mut texel[..self.texel_size];
        for lane in (0..LANES).filter(|l| live & (1 << l) != 0) {
            let (dx, dy) = lane_offset(lane);
            let coord = [x + dx, y + dy, 0];
            if let Err(e) = self.image.read_texel(self.level, self.layer, coord, texel) {
                errors.record(e);
                continue;
            }
            match self.test.test(texel, front_facing, depth[lane]) {
                Ok(outcome) => {
                    if outcome.modified {
                        if let Err(e) = self.image.write_texel(self.level, self.layer, coord, texel)
                        {
                            errors.record(e);
                        }
                    }
                    if outcome.passed {
                        passed |= 1 << lane;
                    }
                }
                Err(e) => errors.record(e),
            }
        }
        passed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_and_pixel_masks_map_through_the_lane_offsets() {
        for lanes in 0..=255u8 {
            let want = (0..LANES)
                .filter(|l| lanes & (1 << l) != 0)
                .fold(0u8, |m, l| m | 1 << LANE_PIXEL[l]);
            assert_eq!(lanes_to_pixels(lanes), want);
            assert_eq!(pixels_to_lanes(want), lanes);
        }
    }
}
