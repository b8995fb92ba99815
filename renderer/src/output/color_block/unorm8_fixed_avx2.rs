//! The AVX2 kernel of [`super::unorm8_fixed`]: a whole run of 8-bit UNORM blocks blended in
//! 16-bit fixed point and stored, one call per run.
//!
//! A block's 8 texels are one 256-bit register in memory byte order (RGBA or BGRA; alpha is
//! byte 3 in both), unpacked to two registers of 16-bit components (4 texels each), blended
//! with `vpmullw` / saturating adds / `vpmulhuw` (the rounding division by 255), packed back
//! with unsigned saturation, then merged with the old texels under the write mask and the
//! coverage. Where every live lane of the run carries the same source words (a colour from
//! constants, the common full-screen case) the source is converted to 8 bits once and the
//! source term `s·sf` and the destination factor, where they do not read the destination,
//! are computed once for the run.

use std::arch::x86_64::*;

use crate::image::{BlockAccess, BlockSpan};
use crate::raster::LANES;

use super::super::state::BlendOp;
use super::super::targets::lanes_to_pixels;
use super::super::FragmentOutputs;
use super::unorm8_avx2::{to_unorm8, LANE_ORDER};
use super::unorm8_fixed::{ChannelRule, FactorSource, FixedBlend};

/// `vpblendw` immediate taking the alpha component (16-bit element 3 of each texel) from the
/// second operand.
const ALPHA_WORDS: i32 = 0b1000_1000;

/// `vpshufb` control copying each texel's 16-bit alpha over its four components.
const ALPHA_BROADCAST: [i8; 32] = [
    6, 7, 6, 7, 6, 7, 6, 7, 14, 15, 14, 15, 14, 15, 14, 15, //
    6, 7, 6, 7, 6, 7, 6, 7, 14, 15, 14, 15, 14, 15, 14, 15,
];

/// What a run computes once when its source is one colour.
#[derive(Clone, Copy)]
struct UniformSource {
    /// The source codes as 16-bit components, the same texel in each slot.
    s: __m256i,
    /// `s·sf` per component, where no source factor reads the destination.
    src_term: Option<__m256i>,
    /// The destination factors, where none reads the destination.
    dst_factor: Option<__m256i>,
}

/// One run's kernel: the rule and its vectors.
pub(super) struct FixedRun<'a> {
    blend: &'a FixedBlend,
    /// The write mask over a packed texel.
    byte_mask: u32,
    /// Source / destination constant factors as 16-bit components in memory order.
    src_constants: __m256i,
    dst_constants: __m256i,
    alpha_broadcast: __m256i,
}

impl<'a> FixedRun<'a> {
    /// # Safety
    /// The CPU must support AVX2.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn new(blend: &'a FixedBlend, byte_mask: u32) -> FixedRun<'a> {
        let load = |words: &[i16; 16]| {
            // SAFETY: 16 i16 are 32 bytes, read unaligned; AVX2 is the caller's promise.
            unsafe { _mm256_loadu_si256(words.as_ptr().cast()) }
        };
        FixedRun {
            blend,
            byte_mask,
            src_constants: load(&blend.src_constant_words),
            dst_constants: load(&blend.dst_constant_words),
            // SAFETY: `ALPHA_BROADCAST` is 32 bytes, read unaligned.
            alpha_broadcast: unsafe { _mm256_loadu_si256(ALPHA_BROADCAST.as_ptr().cast()) },
        }
    }

    /// Blends and stores the `live` blocks (`live[i]` for block `i` of `span`) with the
    /// source words `outputs[i].color[index]`. With `uniform_runs`, a run whose live
    /// blocks all carry one colour takes the once-per-run path. Returns the blocks it could
    /// not read or store (bit `i`), for the caller's fallback.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn write(
        &self,
        span: &BlockSpan<'_>,
        live: &[u8],
        outputs: &[FragmentOutputs],
        index: usize,
        uniform_runs: bool,
    ) -> u32 {
        let uniform = match uniform_runs {
            true => uniform_texel(live, outputs, index)
                .map(|w| self.uniform_source(self.blend.pack_texel(w))),
            false => None,
        };
        let blocks = RunBlocks {
            span,
            live,
            outputs,
            index,
        };
        let Some(u) = uniform else {
            let shifts = self.blend.order.map(|at| _mm256_set1_epi32(8 * at as i32));
            // SAFETY: `LANE_ORDER` is 8 i32, 32 bytes, read unaligned.
            let lane_order = unsafe { _mm256_loadu_si256(LANE_ORDER.as_ptr().cast()) };
            return self.write_blocks(&blocks, |words, old| {
                self.blend_texels(source_texels(words, &shifts, lane_order), old)
            });
        };
        self.uniform_kernel(
            &u,
            RunLoop {
                run: self,
                blocks: &blocks,
            },
        )
    }

    /// Blends the source `texel` (packed codes, memory order: one colour) over every texel of
    /// `[x0, x1) × [y0, y1)` (block-aligned) of `access` and stores them under the write
    /// mask. Every block row of the rectangle should be a whole span of `access`
    /// ([`BlockAccess::whole_blocks`]); returns false where one is not (the others are
    /// written).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn write_rect(
        &self,
        access: &BlockAccess,
        [x0, x1, y0, y1]: [u32; 4],
        texel: u32,
    ) -> bool {
        let blocks = ((x1.saturating_sub(x0)) / 4) as usize;
        let u = self.uniform_source(texel);
        let missed = self.uniform_kernel(
            &u,
            RectLoop {
                run: self,
                access,
                area: [x0, x1, y0, y1],
                blocks,
            },
        );
        missed == 0
    }

    /// Runs `blocks` with the kernel (old texels → new) of the one-colour source `u`,
    /// chosen once here for both the runs and the rectangles.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn uniform_kernel(&self, u: &UniformSource, blocks: impl BlockLoop) -> u32 {
        let (color, alpha) = (&self.blend.color, &self.blend.alpha);
        let (Some(a), Some(df), true) = (u.src_term, u.dst_factor, color.op == alpha.op) else {
            return blocks.run(|old| self.blend_block(u.s, old, Some(u)));
        };
        // One source colour, factors that do not read the destination, one op: each
        // component is round(a ± d·df) with `a` and `df` fixed for the run, the common
        // case (a colour from constants, SRC_ALPHA / ONE_MINUS_SRC_ALPHA), inlined here.
        let zero = _mm256_setzero_si256();
        let half = _mm256_set1_epi16(128);
        let divide = |t| _mm256_mulhi_epu16(t, _mm256_set1_epi16(257));
        // The rounding bias folded into `a` for Add and Subtract: a, d·df ≤ 255², so
        // sat(sat(a + b) + 128) = sat((a + 128) + b), and where a < b both
        // sat(sat(a − b) + 128) = 128 and sat((a + 128) − b) < 128 divide to 0.
        let biased = _mm256_adds_epu16(a, half);
        // `op` is a constant in each loop below, so the match folds away.
        let linear = |old, op: BlendOp| {
            let combine = |b| match op {
                BlendOp::Subtract => divide(_mm256_subs_epu16(biased, b)),
                BlendOp::ReverseSubtract => {
                    divide(_mm256_adds_epu16(_mm256_subs_epu16(b, a), half))
                }
                _ => divide(_mm256_adds_epu16(biased, b)),
            };
            let lo = _mm256_mullo_epi16(_mm256_unpacklo_epi8(old, zero), df);
            let hi = _mm256_mullo_epi16(_mm256_unpackhi_epi8(old, zero), df);
            _mm256_packus_epi16(combine(lo), combine(hi))
        };
        match color.op {
            BlendOp::Add => blocks.run(|old| linear(old, BlendOp::Add)),
            BlendOp::Subtract => blocks.run(|old| linear(old, BlendOp::Subtract)),
            BlendOp::ReverseSubtract => blocks.run(|old| linear(old, BlendOp::ReverseSubtract)),
            BlendOp::Min | BlendOp::Max => blocks.run(|old| self.blend_block(u.s, old, Some(u))),
        }
    }

    /// The loop of [`Self::write`] over the run's live blocks with `blend` (source words,
    /// old texels → new texels), inlined into it (so `blend` runs in its AVX2 build).
    #[inline(always)]
    fn write_blocks(
        &self,
        run: &RunBlocks<'_>,
        blend: impl Fn(&[[u32; LANES]; 4], __m256i) -> __m256i,
    ) -> u32 {
        let full_mask = self.byte_mask == u32::MAX;
        let mut left = 0u32;
        for (i, (&lanes, out)) in run.live.iter().zip(run.outputs).enumerate() {
            if lanes == 0 {
                continue;
            }
            let (Some(words), Some(old)) = (out.color.get(run.index), run.span.read_rows::<16>(i))
            else {
                left |= 1 << i;
                continue;
            };
            // SAFETY: two 16-byte rows are 32 plain bytes, as `__m256i` is (row 0 low).
            let old = unsafe { std::mem::transmute::<[[u8; 16]; 2], __m256i>(old) };
            let new = blend(words, old);
            let new = match full_mask && lanes == 0xff {
                true => new,
                // SAFETY: only called from `write`, which requires AVX2 and FMA.
                false => unsafe { self.merge(new, old, lanes_to_pixels(lanes)) },
            };
            // SAFETY: as for `old`, the other way.
            let rows = unsafe { std::mem::transmute::<__m256i, [[u8; 16]; 2]>(new) };
            if !run.span.write_rows(i, rows) {
                left |= 1 << i;
            }
        }
        left
    }

    /// The once-per-run values of a run whose source texel (packed codes, memory order) is
    /// `texel`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn uniform_source(&self, texel: u32) -> UniformSource {
        let s = _mm256_unpacklo_epi8(_mm256_set1_epi32(texel as i32), _mm256_setzero_si256());
        // No factor read below touches the destination, so any `d` will do.
        let d = _mm256_setzero_si256();
        let (color, alpha) = (&self.blend.color, &self.blend.alpha);
        let src_term = self.blend.src_term_is_per_run().then(|| {
            let sf = self.factors(color.src, alpha.src, self.src_constants, s, d);
            _mm256_mullo_epi16(s, sf)
        });
        let dst_factor = self
            .blend
            .dst_factor_is_per_run()
            .then(|| self.factors(color.dst, alpha.dst, self.dst_constants, s, d));
        UniformSource {
            s,
            src_term,
            dst_factor,
        }
    }

    /// 8 texels `src` (codes, memory order) blended over `dst`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn blend_texels(&self, src: __m256i, dst: __m256i) -> __m256i {
        let zero = _mm256_setzero_si256();
        let lo = self.blend_words(
            _mm256_unpacklo_epi8(src, zero),
            _mm256_unpacklo_epi8(dst, zero),
            None,
        );
        let hi = self.blend_words(
            _mm256_unpackhi_epi8(src, zero),
            _mm256_unpackhi_epi8(dst, zero),
            None,
        );
        _mm256_packus_epi16(lo, hi)
    }

    /// The uniform source `s` (16-bit, one texel in every slot) blended over the 8 texels
    /// `dst`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn blend_block(&self, s: __m256i, dst: __m256i, uniform: Option<&UniformSource>) -> __m256i {
        let zero = _mm256_setzero_si256();
        let lo = self.blend_words(s, _mm256_unpacklo_epi8(dst, zero), uniform);
        let hi = self.blend_words(s, _mm256_unpackhi_epi8(dst, zero), uniform);
        _mm256_packus_epi16(lo, hi)
    }

    /// [`FixedBlend::blend_texel`] on 4 texels of 16-bit components; results up to 256
    /// (the pack saturates them to 255).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn blend_words(&self, s: __m256i, d: __m256i, uniform: Option<&UniformSource>) -> __m256i {
        let (color, alpha) = (&self.blend.color, &self.blend.alpha);
        let (a, b) = if color.uses_factors() || alpha.uses_factors() {
            let a = match uniform.and_then(|u| u.src_term) {
                Some(term) => term,
                None => {
                    let sf = self.factors(color.src, alpha.src, self.src_constants, s, d);
                    _mm256_mullo_epi16(s, sf)
                }
            };
            let df = match uniform.and_then(|u| u.dst_factor) {
                Some(df) => df,
                None => self.factors(color.dst, alpha.dst, self.dst_constants, s, d),
            };
            (a, _mm256_mullo_epi16(d, df))
        } else {
            (_mm256_setzero_si256(), _mm256_setzero_si256())
        };
        let value = combine(color, s, d, a, b);
        if alpha.op == color.op {
            return value;
        }
        _mm256_blend_epi16::<ALPHA_WORDS>(value, combine(alpha, s, d, a, b))
    }

    /// The factors of a side: `color` for R, G, B and `alpha` for A.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn factors(
        &self,
        color: FactorSource,
        alpha: FactorSource,
        constants: __m256i,
        s: __m256i,
        d: __m256i,
    ) -> __m256i {
        let value = self.factor(color, constants, s, d);
        if alpha == color {
            return value;
        }
        _mm256_blend_epi16::<ALPHA_WORDS>(value, self.factor(alpha, constants, s, d))
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn factor(&self, f: FactorSource, constants: __m256i, s: __m256i, d: __m256i) -> __m256i {
        let full = _mm256_set1_epi16(255);
        let alpha = |x| _mm256_shuffle_epi8(x, self.alpha_broadcast);
        match f {
            FactorSource::Constant => constants,
            FactorSource::Src => s,
            FactorSource::OneMinusSrc => _mm256_sub_epi16(full, s),
            FactorSource::Dst => d,
            FactorSource::OneMinusDst => _mm256_sub_epi16(full, d),
            FactorSource::SrcAlpha => alpha(s),
            FactorSource::OneMinusSrcAlpha => _mm256_sub_epi16(full, alpha(s)),
            FactorSource::DstAlpha => alpha(d),
            FactorSource::OneMinusDstAlpha => _mm256_sub_epi16(full, alpha(d)),
        }
    }

    /// `new` where the write mask and `pixels` (bit = block pixel) let it through, `old`
    /// elsewhere.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn merge(&self, new: __m256i, old: __m256i, pixels: u8) -> __m256i {
        let mask = _mm256_set1_epi32(self.byte_mask as i32);
        let masked = _mm256_or_si256(_mm256_and_si256(new, mask), _mm256_andnot_si256(mask, old));
        let bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        let hit = _mm256_and_si256(_mm256_set1_epi32(i32::from(pixels)), bits);
        _mm256_blendv_epi8(old, masked, _mm256_cmpeq_epi32(hit, bits))
    }
}

/// A loop over blocks taking its kernel (8 old texels → 8 new ones) as a parameter, so that
/// [`FixedRun::uniform_kernel`] picks the kernel once for whatever walks the blocks. Returns
/// what [`FixedRun::write`] does (blocks left to the caller).
trait BlockLoop {
    fn run(self, kernel: impl Fn(__m256i) -> __m256i) -> u32;
}

/// The live blocks of a run, with a one-colour source.
struct RunLoop<'a> {
    run: &'a FixedRun<'a>,
    blocks: &'a RunBlocks<'a>,
}

impl BlockLoop for RunLoop<'_> {
    #[inline(always)]
    fn run(self, kernel: impl Fn(__m256i) -> __m256i) -> u32 {
        self.run.write_blocks(self.blocks, |_, old| kernel(old))
    }
}

/// Every block of a rectangle: whole micro-tile rows as one run of bytes where the layout
/// has them ([`BlockAccess::tile_row`]), block rows as spans elsewhere.
struct RectLoop<'a> {
    run: &'a FixedRun<'a>,
    access: &'a BlockAccess,
    area: [u32; 4],
    blocks: usize,
}

impl BlockLoop for RectLoop<'_> {
    #[inline(always)]
    fn run(self, kernel: impl Fn(__m256i) -> __m256i) -> u32 {
        let full_mask = self.run.byte_mask == u32::MAX;
        let texels = |old: __m256i| match full_mask {
            true => kernel(old),
            // SAFETY: only inlined into `write_rect`, which requires AVX2 and FMA.
            false => unsafe { self.run.merge(kernel(old), old, u8::MAX) },
        };
        let [x0, x1, mut y, y1] = self.area;
        let mut missed = 0;
        while y < y1 {
            if y + 4 <= y1 {
                if let Some(row) = self.access.tile_row(x0, x1, y) {
                    // Eight texels per 32 bytes, two rows of a micro-tile: every texel gets
                    // the same rule, so any grouping will do.
                    row.map_chunks::<32>(|chunk| {
                        // SAFETY: 32 plain bytes either way.
                        let old = unsafe { std::mem::transmute::<[u8; 32], __m256i>(chunk) };
                        // SAFETY: as above.
                        unsafe { std::mem::transmute::<__m256i, [u8; 32]>(texels(old)) }
                    });
                    y += 4;
                    continue;
                }
            }
            let span = self.access.span(x0, y, self.blocks);
            missed += u32::from(span.is_none_or(|s| s.blocks() < self.blocks));
            if let Some(span) = span {
                for i in 0..span.blocks() {
                    let Some(old) = span.read_rows::<16>(i) else {
                        continue;
                    };
                    // SAFETY: two 16-byte rows are 32 plain bytes, as `__m256i` is (row 0
                    // low).
                    let old = unsafe { std::mem::transmute::<[[u8; 16]; 2], __m256i>(old) };
                    // SAFETY: as for `old`, the other way.
                    let rows =
                        unsafe { std::mem::transmute::<__m256i, [[u8; 16]; 2]>(texels(old)) };
                    span.write_rows(i, rows);
                }
            }
            y += 2;
        }
        missed
    }
}

/// The run [`FixedRun::write`] works on.
struct RunBlocks<'a> {
    span: &'a BlockSpan<'a>,
    live: &'a [u8],
    outputs: &'a [FragmentOutputs],
    index: usize,
}

/// One op on 16-bit components: products `a` = s·sf and `b` = d·df summed in saturating
/// 16-bit arithmetic and divided by 255 rounding to nearest (`mulhi(t + 128, 257)`).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn combine(rule: &ChannelRule, s: __m256i, d: __m256i, a: __m256i, b: __m256i) -> __m256i {
    let round = |t| {
        _mm256_mulhi_epu16(
            _mm256_adds_epu16(t, _mm256_set1_epi16(128)),
            _mm256_set1_epi16(257),
        )
    };
    match rule.op {
        BlendOp::Add => round(_mm256_adds_epu16(a, b)),
        BlendOp::Subtract => round(_mm256_subs_epu16(a, b)),
        BlendOp::ReverseSubtract => round(_mm256_subs_epu16(b, a)),
        BlendOp::Min => _mm256_min_epu16(s, d),
        BlendOp::Max => _mm256_max_epu16(s, d),
    }
}

/// The shader's words (by lane) as 8 packed texels of codes in pixel order; `shifts[c]`
/// moves component `c` to its byte.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn source_texels(words: &[[u32; LANES]; 4], shifts: &[__m256i; 4], lane_order: __m256i) -> __m256i {
    let mut packed = _mm256_setzero_si256();
    for (w, &shift) in words.iter().zip(shifts) {
        // SAFETY: `w` is 8 u32, 32 bytes, read unaligned.
        let v = _mm256_castsi256_ps(unsafe { _mm256_loadu_si256(w.as_ptr().cast()) });
        packed = _mm256_or_si256(packed, _mm256_sllv_epi32(to_unorm8(v), shift));
    }
    _mm256_permutevar8x32_epi32(packed, lane_order)
}

/// The source texel (packed codes, memory order, as [`source_texels`] gives) of a run whose
/// live blocks carry the same words in all 8 lanes; `None` otherwise (or with no live block).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn uniform_texel(live: &[u8], outputs: &[FragmentOutputs], index: usize) -> Option<[u32; 4]> {
    let mut first: Option<([u32; 4], [__m256i; 4])> = None;
    for (&lanes, out) in live.iter().zip(outputs) {
        if lanes == 0 {
            continue;
        }
        let words = out.color.get(index)?;
        let (_, want) = first.get_or_insert_with(|| {
            let w = [0, 1, 2, 3].map(|c| words[c][0]);
            (w, w.map(|w| _mm256_set1_epi32(w as i32)))
        });
        let mut same = _mm256_set1_epi32(-1);
        for (w, want) in words.iter().zip(want.iter()) {
            // SAFETY: `w` is 8 u32, 32 bytes, read unaligned.
            let v = unsafe { _mm256_loadu_si256(w.as_ptr().cast()) };
            same = _mm256_and_si256(same, _mm256_cmpeq_epi32(v, *want));
        }
        if _mm256_movemask_epi8(same) != -1 {
            return None;
        }
    }
    first.map(|(w, _)| w)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::output::state::{BlendFactor, BlendState};

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
        }
    }

    fn vector(words: [u32; 8]) -> __m256i {
        // SAFETY: 8 u32 are 32 plain bytes, as the vector is.
        unsafe { std::mem::transmute::<[u32; 8], __m256i>(words) }
    }

    fn words(v: __m256i) -> [u32; 8] {
        // SAFETY: as in `vector`, the other way.
        unsafe { std::mem::transmute::<__m256i, [u32; 8]>(v) }
    }

    fn avx2() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    #[test]
    fn a_run_is_one_colour_when_every_live_lane_carries_the_same_words() {
        if !avx2() {
            return;
        }
        let words = [0.25f32, 0.5, 1.0, 0.75].map(f32::to_bits);
        let mut outputs = vec![FragmentOutputs::default(); 3];
        for out in &mut outputs {
            for lane in 0..LANES {
                out.set_uint(1, lane, words);
            }
        }
        let live = [0xff, 0x0f, 0x80];
        // SAFETY: AVX2 checked above (so below).
        assert_eq!(unsafe { uniform_texel(&live, &outputs, 1) }, Some(words));
        // Another colour in a block with no live lane does not count.
        outputs[1].set_uint(1, 3, [0; 4]);
        let some_dead = [0xff, 0x00, 0x80];
        // SAFETY: as above.
        let texel = unsafe { uniform_texel(&some_dead, &outputs, 1) };
        assert_eq!(texel, Some(words));
        // In a live block it does, even in a lane that is not live.
        // SAFETY: as above.
        assert_eq!(unsafe { uniform_texel(&live, &outputs, 1) }, None);
        // SAFETY: as above.
        assert_eq!(unsafe { uniform_texel(&[0; 3], &outputs, 1) }, None);
    }

    /// Every factor and op pair, random codes: the kernel's bytes are the scalar rule's.
    #[test]
    fn the_kernel_blends_exactly_as_the_scalar_rule_for_every_factor_and_op() {
        if !avx2() {
            return;
        }
        let mut rng = Rng(0xfeed_beef);
        let factors: Vec<BlendFactor> = BlendFactor::ALL
            .iter()
            .copied()
            .filter(|f| !f.is_dual_source() && *f != BlendFactor::SrcAlphaSaturate)
            .collect();
        for order in [[0, 1, 2, 3], [2, 1, 0, 3]] {
            for &sf in &factors {
                for &df in &factors {
                    for &op in BlendOp::ALL {
                        let state = BlendState {
                            enable: true,
                            src_color: sf,
                            dst_color: df,
                            color_op: op,
                            src_alpha: factors[rng.next() as usize % factors.len()],
                            dst_alpha: factors[rng.next() as usize % factors.len()],
                            alpha_op: BlendOp::ALL[rng.next() as usize % 5],
                            write_mask: 0xf,
                        };
                        let k = [0.2, 0.9, 0.55, 0.7];
                        let fixed = FixedBlend::new(&state, order, &k).unwrap();
                        // SAFETY: AVX2 checked above.
                        let run = unsafe { FixedRun::new(&fixed, u32::MAX) };
                        for _ in 0..4 {
                            let src: [u32; 8] = std::array::from_fn(|_| rng.next());
                            let dst: [u32; 8] = std::array::from_fn(|_| rng.next());
                            // SAFETY: AVX2 checked above.
                            let got = unsafe { run.blend_texels(vector(src), vector(dst)) };
                            let got = words(got);
                            for p in 0..8 {
                                let rgba = |t: u32| order.map(|at| (t >> (8 * at)) as u8);
                                let want = fixed.blend_texel(rgba(src[p]), rgba(dst[p]));
                                assert_eq!(rgba(got[p]), want, "{state:?} {order:?}");
                            }
                        }
                    }
                }
            }
        }
    }
}
