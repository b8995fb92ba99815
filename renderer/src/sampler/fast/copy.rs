//! Filtering in 8-bit fixed point for shaders that copy one sampled texel to an 8-bit colour
//! ([`shader::sampled_copy`]): [`CopySampler`] filters 8 lanes of one 4×2 pixel block and
//! gives their texels packed as RGBA8 codes, with no f32 colour in between.
//!
//! Arithmetic: the texel coordinates, level choice and weights start as the f32 fast path's
//! (u·w − ½, floor, fraction, λ per 2×2 quad from the generic code); the fractions and level
//! weights are then rounded to 15 bits, texels widened to 8.7 fixed point, and each of the
//! three (six with two levels, plus their mix) linear interpolations rounds once
//! (`vpmulhrsw`). The result is within 3/128 of a code of the exact filtered value before
//! the final rounding to a code (4/128 with two levels), so it is the code the f32 path gives
//! except where that value lies that close to a half code, where the two may differ by one.
//!
//! [`CopySampler::rect`] works through a rectangle of blocks. Where the mapping is separable
//! (u from x alone, v from y alone: blits, textured rectangles), texel columns, rows, weights
//! and level choices are worked out once per column and per row ([`kernel`]'s tables), and a
//! block is then additions, four gathers and the interpolations.
//!
//! Coverage: 8-bit UNORM RGBA/BGRA (not sRGB) 2D views with the identity mapping, every
//! filter and mipmap mode, address modes the AVX2 kernel wraps, no compare, normalized
//! coordinates; the CPU must have AVX2 and FMA. A block whose coordinates are outside the
//! fast path's exact range goes through the generic per-lane path and is rounded to codes.

use shader::abi::{image_flag, image_op as op, ImageRequest, ImageResult, MAX_IMAGE_LANES};

use super::super::filter::{LevelChoice, Sampling};
use super::super::resolved::{ResolvedImage, ResolvedSampler};
use super::super::ViewType;
use super::{has_avx2, Texels8, CHUNK, MAX_COORD};

/// The lanes of each of a block's two 2×2 quads: top-left, top-right, bottom-left,
/// bottom-right (λ is taken from the first three).
pub(crate) type QuadLanes = [[usize; 4]; 2];

/// A 4×2 block with lane `p` at (`p % 4`, `p / 4`): the output merger's block order.
pub(crate) const ROW_MAJOR_QUADS: QuadLanes = [[0, 1, 4, 5], [2, 3, 6, 7]];

/// The last quad's ρ² (the bits of its largest squared texel-space difference) and its level
/// choice.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LodCache(Option<(u32, LevelChoice)>);

/// Where a byte of an output texel comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutByte {
    /// Component `k` (R, G, B, A) of the filtered texel.
    Component(u8),
    /// This code.
    Constant(u8),
}

/// How [`CopySampler::block`] lays out each output texel's 4 bytes: a byte shuffle of the
/// filtered texel in memory byte order and constant bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Arrangement {
    /// Per byte of 8 texels: the source byte within its 128-bit half (`vpshufb`), or 0x80
    /// for a constant byte.
    pick: [u8; 32],
    /// Per byte: the constant (0 where picked).
    or: [u8; 32],
}

impl Arrangement {
    /// Output byte `j` from `bytes[j]`, for a view whose memory byte 0 is B where `bgra`.
    pub(crate) fn new(bytes: [OutByte; 4], bgra: bool) -> Arrangement {
        let mut pick = [0x80u8; 32];
        let mut or = [0u8; 32];
        for texel in 0..8 {
            for (j, b) in bytes.iter().enumerate() {
                let at = 4 * texel + j;
                match *b {
                    OutByte::Component(k) => {
                        let k = usize::from(k & 3);
                        let byte = if bgra { [2, 1, 0, 3][k] } else { k };
                        pick[at] = (4 * (texel % 4) + byte) as u8;
                    }
                    OutByte::Constant(c) => or[at] = c,
                }
            }
        }
        Arrangement { pick, or }
    }

    /// The output texel of `texel` (memory byte order).
    pub(super) fn apply(&self, texel: u32) -> u32 {
        let bytes = texel.to_le_bytes();
        let out: [u8; 4] = std::array::from_fn(|j| match self.pick[j] {
            0x80 => self.or[j],
            p => bytes[usize::from(p & 3)],
        });
        u32::from_le_bytes(out)
    }
}

/// Blocks of one [`CopySampler::rect`] call's coordinate group.
pub(crate) const GROUP: usize = 4;
/// Lanes of one coordinate group.
pub(crate) const GROUP_LANES: usize = GROUP * CHUNK;
/// Most blocks in a row of [`CopySampler::rect`].
pub(crate) const RECT_BLOCKS: usize = 16;
/// One coordinate group's values.
pub(crate) type Lanes = [f32; GROUP_LANES];

/// Whether every coordinate of 8 lanes lies within the kernel's exact range (finite, at most
/// [`MAX_COORD`] in magnitude). On the bits of |c|: finite floats order as their bits do,
/// and NaNs and infinities lie above every finite one.
#[inline(always)]
fn inside(u: &[f32; CHUNK], v: &[f32; CHUNK]) -> bool {
    let mut worst = 0u32;
    for l in 0..CHUNK {
        worst = worst
            .max(u[l].to_bits() & 0x7fff_ffff)
            .max(v[l].to_bits() & 0x7fff_ffff);
    }
    worst <= MAX_COORD.to_bits()
}

/// Whether two level choices read the same levels with the same filter (their weights may
/// differ): one prepared choice serves both.
#[inline(always)]
fn same_levels(a: &LevelChoice, b: &LevelChoice) -> bool {
    let second = |c: &LevelChoice| (c.levels[1].1 != 0.0).then_some(c.levels[1].0);
    a.filter == b.filter && a.levels[0].0 == b.levels[0].0 && second(a) == second(b)
}

/// A view and sampler that [`CopySampler::block`] filters, resolved once per draw.
pub(crate) struct CopySampler<'a> {
    img: &'a ResolvedImage,
    smp: &'a ResolvedSampler,
    t: &'a Texels8,
    /// The one choice of every lane when λ cannot change it (one level, one filter).
    fixed: Option<LevelChoice>,
}

impl<'a> CopySampler<'a> {
    /// The copy sampler of `img` with `smp`, or `None` where the kernel does not take them.
    pub(crate) fn new(img: &'a ResolvedImage, smp: &'a ResolvedSampler) -> Option<Self> {
        let t = img.texels8.as_ref()?;
        let state = &smp.state;
        #[cfg(target_arch = "x86_64")]
        let wraps = super::avx2::wraps(state.address_modes[0], t.pow2)
            && super::avx2::wraps(state.address_modes[1], t.pow2);
        #[cfg(not(target_arch = "x86_64"))]
        let wraps = false;
        let ok = has_avx2()
            && wraps
            && t.srgb.is_none()
            && img.view_type == Some(ViewType::D2)
            && !state.unnormalized_coordinates
            && state.compare.is_none()
            && !t.levels.is_empty();
        if !ok {
            return None;
        }
        let fixed =
            (img.level_count == 1 && state.mag_filter == state.min_filter).then_some(LevelChoice {
                filter: state.mag_filter,
                levels: [(0, 1.0), (0, 0.0)],
            });
        Some(CopySampler { img, smp, t, fixed })
    }

    /// Memory byte 0 of a texel is B (the packed codes are B, G, R, A), else R.
    pub(crate) fn bgra(&self) -> bool {
        self.t.bgra
    }

    /// The texels of 8 lanes at normalized coordinates (`u`, `v`), λ taken per quad of
    /// `quads`, as codes laid out by `order` ([`Self::rect`]'s work on one block, for tests).
    #[cfg(test)]
    pub(crate) fn block(
        &self,
        u: &[f32; CHUNK],
        v: &[f32; CHUNK],
        quads: &QuadLanes,
        cache: &mut LodCache,
        order: &Arrangement,
    ) -> [u32; CHUNK] {
        if !inside(u, v) {
            return self.generic(u, v, quads).map(|t| order.apply(t));
        }
        let choices = match self.fixed {
            Some(choice) => [choice; 2],
            None => quads.map(|q| self.quad_choice(u, v, q, cache)),
        };
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: `new` made a sampler only where the CPU has AVX2 and FMA.
            unsafe { self.block_avx2(u, v, quads, &choices, order) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = choices;
            self.generic(u, v, quads).map(|t| order.apply(t))
        }
    }

    /// The texels of every block row of `area` (`[x0, x1, y0, y1]`, block-aligned, at most
    /// [`RECT_BLOCKS`] blocks wide): `coords(x, y, u, v)` gives the normalized coordinates
    /// of [`GROUP_LANES`] lanes at pixel centres `x`, `y` (four blocks, lane `l` in block
    /// `l / 8` at pixel `(l % 4, l / 4 % 2)` of it), and `row(y, texels)` takes each block
    /// row's texels (laid out by `order`; block `i` at `x0 + 4i`, lanes row-major).
    /// `separable`: u does not depend on y nor v on x
    /// ([`shader::sampled_copy::SampledCopy::separable`]); the texel coordinates, weights and
    /// levels are then worked out once per column and per row.
    pub(crate) fn rect(
        &self,
        area: [u32; 4],
        order: &Arrangement,
        separable: bool,
        coords: &mut impl FnMut(&Lanes, &Lanes, &mut Lanes, &mut Lanes),
        row: &mut impl FnMut(u32, &[[u32; CHUNK]]),
    ) {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: `new` made a sampler only where the CPU has AVX2 and FMA.
            if separable && unsafe { self.rect_separable(area, order, coords, row) } {
                return;
            }
            // SAFETY: as above.
            unsafe { self.rect_avx2(area, order, coords, row) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (area, order, separable, coords, row);
    }

    /// [`Self::rect`] (AVX2 and FMA). A block whose quads agree
    /// on their level choice (every block where λ cannot matter, and most of an affine
    /// mapping's) is filtered with the choice prepared once.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn rect_avx2(
        &self,
        area: [u32; 4],
        order: &Arrangement,
        coords: &mut impl FnMut(&Lanes, &Lanes, &mut Lanes, &mut Lanes),
        row: &mut impl FnMut(u32, &[[u32; CHUNK]]),
    ) {
        let [x0, x1, y0, y1] = area;
        let blocks = ((x1.saturating_sub(x0) / 4) as usize).min(RECT_BLOCKS);
        let mut cache = LodCache::default();
        let mut prepared = self.fixed.map(|choice| (choice, self.prepare(&choice)));
        let mut texels = [[0u32; CHUNK]; RECT_BLOCKS];
        // Lane l of a group: block l / 8, pixel (l % 4, l / 4 % 2) of it.
        let dx: Lanes = std::array::from_fn(|l| (4 * (l / CHUNK) + l % 4) as f32 + 0.5);
        let dy: Lanes = std::array::from_fn(|l| (l / 4 % 2) as f32 + 0.5);
        let mut y = y0;
        while y < y1 {
            let py: Lanes = std::array::from_fn(|l| y as f32 + dy[l]);
            for (g, group) in texels[..blocks].chunks_mut(GROUP).enumerate() {
                let gx = x0 as f32 + (GROUP * 4 * g) as f32;
                let px: Lanes = std::array::from_fn(|l| gx + dx[l]);
                let (mut u, mut v) = ([0f32; GROUP_LANES], [0f32; GROUP_LANES]);
                coords(&px, &py, &mut u, &mut v);
                for ((out, u), v) in group
                    .iter_mut()
                    .zip(u.as_chunks::<CHUNK>().0)
                    .zip(v.as_chunks::<CHUNK>().0)
                {
                    if !inside(u, v) {
                        *out = self.generic(u, v, &ROW_MAJOR_QUADS).map(|t| order.apply(t));
                        continue;
                    }
                    let choices = match self.fixed {
                        Some(choice) => [choice; 2],
                        None => ROW_MAJOR_QUADS.map(|q| self.quad_choice(u, v, q, &mut cache)),
                    };
                    if !same_levels(&choices[0], &choices[1]) {
                        // SAFETY: `new` made a sampler only where the CPU has AVX2 and FMA.
                        *out = unsafe { self.block_avx2(u, v, &ROW_MAJOR_QUADS, &choices, order) };
                        continue;
                    }
                    let p = match prepared {
                        Some((choice, p)) if same_levels(&choice, &choices[0]) => p,
                        _ => {
                            let p = self.prepare(&choices[0]);
                            prepared = Some((choices[0], p));
                            p
                        }
                    };
                    // Each quad mixes the two levels with its own weight.
                    let mix = choices.map(|c| c.levels[1].1);
                    *out = self.block_prepared(&p, u, v, mix, order);
                }
            }
            row(y, &texels[..blocks]);
            y += 2;
        }
    }

    /// The level choice of the quad whose top-left, top-right and bottom-left lanes are `q`,
    /// as the generic path computes it for implicit LOD.
    fn quad_choice(
        &self,
        u: &[f32; CHUNK],
        v: &[f32; CHUNK],
        q: [usize; 4],
        cache: &mut LodCache,
    ) -> LevelChoice {
        let at = |c: &[f32; CHUNK], l: usize| c.get(l).copied().unwrap_or(0.0);
        let d = [
            at(u, q[1]) - at(u, q[0]),
            at(v, q[1]) - at(v, q[0]),
            at(u, q[2]) - at(u, q[0]),
            at(v, q[2]) - at(v, q[0]),
        ];
        self.choice_of_differences(d, cache)
    }

    /// The level choice of a quad whose coordinates differ by `d` (u and v along x, then
    /// along y), as the generic path computes it for implicit LOD.
    fn choice_of_differences(&self, d: [f32; 4], cache: &mut LodCache) -> LevelChoice {
        let s = Sampling::new(self.img, &self.smp.state, 2, false, None);
        let extent = self.img.level_extent(0);
        let (w, h) = (extent[0] as f32, extent[1] as f32);
        // The choice depends on the differences only through ρ²: neighbouring quads of an
        // affine mapping share it, bit for bit, more often than their differences.
        let rho2 = s.rho_squared([d[0] * w, d[1] * h, 0.0], [d[2] * w, d[3] * h, 0.0]);
        if let Some((last, choice)) = cache.0 {
            if last == rho2.to_bits() {
                return choice;
            }
        }
        let lambda = s.lod_from_rho_squared(rho2, 0.0);
        let choice = s.choose_levels(s.clamp_lod(lambda, f32::NEG_INFINITY));
        cache.0 = Some((rho2.to_bits(), choice));
        choice
    }

    /// The block through the generic per-lane path (the reference), rounded to codes.
    #[inline(never)]
    fn generic(&self, u: &[f32; CHUNK], v: &[f32; CHUNK], quads: &QuadLanes) -> [u32; CHUNK] {
        // Request lane 4q + k is lane k of quad q.
        let order: [usize; CHUNK] = std::array::from_fn(|k| quads[k / 4][k % 4] % CHUNK);
        let mut coords = [[0u32; MAX_IMAGE_LANES]; 4];
        for (k, &l) in order.iter().enumerate() {
            coords[0][k] = u[l].to_bits();
            coords[1][k] = v[l].to_bits();
        }
        let mut req = ImageRequest::new(op::SAMPLE, image_flag::QUAD_DERIVATIVES, CHUNK, 2);
        req.coords = coords;
        let mut result = ImageResult::ZERO;
        super::super::helper::sample(self.img, self.smp, &req, req.mask, &mut result);
        // Back to memory byte order.
        let order_bytes: [usize; 4] = if self.t.bgra {
            [2, 1, 0, 3]
        } else {
            [0, 1, 2, 3]
        };
        let mut out = [0u32; CHUNK];
        for (k, &l) in order.iter().enumerate() {
            let code = |c: usize| {
                let value = f32::from_bits(result.texel[c][k]);
                (value.clamp(0.0, 1.0) * 255.0).round() as u32
            };
            out[l] = order_bytes
                .iter()
                .enumerate()
                .fold(0, |acc, (byte, &c)| acc | code(c) << (8 * byte));
        }
        out
    }
}

#[cfg(target_arch = "x86_64")]
mod kernel {
    use std::arch::x86_64::{
        __m128i, __m256, __m256i, _mm256_add_epi16, _mm256_add_epi32, _mm256_and_si256,
        _mm256_blendv_epi8, _mm256_broadcastsi128_si256, _mm256_castsi128_si256,
        _mm256_cvtps_epi32, _mm256_cvttps_epi32, _mm256_floor_ps, _mm256_inserti128_si256,
        _mm256_loadu_ps, _mm256_loadu_si256, _mm256_min_epi32, _mm256_mul_ps, _mm256_mulhrs_epi16,
        _mm256_mullo_epi32, _mm256_or_si256, _mm256_packus_epi16, _mm256_permute2x128_si256,
        _mm256_permutevar8x32_epi32, _mm256_set1_epi16, _mm256_set1_epi32, _mm256_set1_ps,
        _mm256_setr_epi16, _mm256_setr_epi32, _mm256_setr_epi8, _mm256_setzero_si256,
        _mm256_shuffle_epi8, _mm256_slli_epi16, _mm256_slli_epi32, _mm256_srli_epi16,
        _mm256_srli_epi32, _mm256_storeu_si256, _mm256_sub_epi16, _mm256_sub_ps,
        _mm256_unpackhi_epi8, _mm256_unpacklo_epi8, _mm_add_epi32, _mm_i32gather_epi32,
        _mm_loadu_si128, _mm_min_epu32, _mm_set1_epi32,
    };

    use super::super::avx2::{gather, wrap};
    use super::super::{Texels8, CHUNK, MAX_COORD};
    use super::{
        same_levels, Arrangement, CopySampler, Lanes, LevelChoice, LodCache, QuadLanes,
        GROUP_LANES, RECT_BLOCKS,
    };
    use crate::sampler::{AddressMode, Filter};

    /// 8 lanes' values in 8.7 fixed point, channels in memory byte order: `lo` holds lanes
    /// 0, 1, 4, 5 and `hi` lanes 2, 3, 6, 7 (the byte unpacks' order), 4 channels each.
    #[derive(Clone, Copy)]
    struct Wide {
        lo: __m256i,
        hi: __m256i,
    }

    /// One level of a [`Prepared`] choice, in registers.
    #[derive(Clone, Copy)]
    struct LevelVecs {
        width: __m256,
        height: __m256,
        /// Width and height for wrapping.
        size: [i32; 2],
        row_pitch: __m256i,
        base: __m256i,
    }

    /// A level choice resolved for the kernel once (per rectangle, or per change of choice).
    #[derive(Clone, Copy)]
    pub(super) struct Prepared {
        levels: [LevelVecs; 2],
        /// The second level is read (its weight is not 0).
        two: bool,
        linear: bool,
        /// ½ for LINEAR, 0 for NEAREST.
        half: __m256,
        modes: [AddressMode; 2],
        /// 4×4 micro-tiles (OPTIMAL), else rows.
        tiled: bool,
    }

    /// The 15-bit weight of each lane repeated over its 4 channels, in [`Wide`]'s order.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn spread(w: __m256i) -> Wide {
        // Bytes 0, 1 of lane k (k = 0..3 within each 128-bit half) to the four 16-bit slots of
        // its texel: lanes 0, 1 of the half for `lo`, 2, 3 for `hi`.
        let pick = |k: i8| [4 * k, 4 * k + 1];
        let pattern = |a: i8, b: i8| {
            let [a0, a1] = pick(a);
            let [b0, b1] = pick(b);
            _mm256_setr_epi8(
                a0, a1, a0, a1, a0, a1, a0, a1, b0, b1, b0, b1, b0, b1, b0, b1, a0, a1, a0, a1, a0,
                a1, a0, a1, b0, b1, b0, b1, b0, b1, b0, b1,
            )
        };
        Wide {
            lo: _mm256_shuffle_epi8(w, pattern(0, 1)),
            hi: _mm256_shuffle_epi8(w, pattern(2, 3)),
        }
    }

    /// 8 packed texels widened to 8.7 fixed point.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn widen(t: __m256i) -> Wide {
        let zero = _mm256_setzero_si256();
        Wide {
            lo: _mm256_slli_epi16::<7>(_mm256_unpacklo_epi8(t, zero)),
            hi: _mm256_slli_epi16::<7>(_mm256_unpackhi_epi8(t, zero)),
        }
    }

    /// `a + (b − a)·w`, w in 15 bits, rounded once.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn lerp(a: Wide, b: Wide, w: Wide) -> Wide {
        let one = |a, b, w| _mm256_add_epi16(a, _mm256_mulhrs_epi16(_mm256_sub_epi16(b, a), w));
        Wide {
            lo: one(a.lo, b.lo, w.lo),
            hi: one(a.hi, b.hi, w.hi),
        }
    }

    /// A fraction in [0, 1) as a 15-bit weight.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn weight15(f: __m256) -> __m256i {
        let w = _mm256_cvtps_epi32(_mm256_mul_ps(f, _mm256_set1_ps(32768.0)));
        _mm256_min_epi32(w, _mm256_set1_epi32(32767))
    }

    /// The column part of texel offsets (`TILED`: 4×4 micro-tiles).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn column<const TILED: bool>(i: __m256i) -> __m256i {
        if TILED {
            _mm256_add_epi32(
                _mm256_slli_epi32::<6>(_mm256_srli_epi32::<2>(i)),
                _mm256_slli_epi32::<2>(_mm256_and_si256(i, _mm256_set1_epi32(3))),
            )
        } else {
            _mm256_slli_epi32::<2>(i)
        }
    }

    /// The row part of texel offsets, with the level's base.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn row<const TILED: bool>(l: &LevelVecs, j: __m256i) -> __m256i {
        let part = if TILED {
            _mm256_add_epi32(
                _mm256_mullo_epi32(_mm256_srli_epi32::<2>(j), l.row_pitch),
                _mm256_slli_epi32::<4>(_mm256_and_si256(j, _mm256_set1_epi32(3))),
            )
        } else {
            _mm256_mullo_epi32(j, l.row_pitch)
        };
        _mm256_add_epi32(l.base, part)
    }

    /// One level filtered at 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn filter_level<const TILED: bool>(
        t: &Texels8,
        p: &Prepared,
        l: &LevelVecs,
        x: __m256,
        y: __m256,
    ) -> Wide {
        let tu = _mm256_sub_ps(_mm256_mul_ps(x, l.width), p.half);
        let tv = _mm256_sub_ps(_mm256_mul_ps(y, l.height), p.half);
        let (bu, bv) = (_mm256_floor_ps(tu), _mm256_floor_ps(tv));
        // |coordinate| ≤ MAX_COORD and extents ≤ 16384: exact integers well inside i32.
        let (i0, j0) = (_mm256_cvttps_epi32(bu), _mm256_cvttps_epi32(bv));
        let [w, h] = l.size;
        let (c0, r0) = (
            column::<TILED>(wrap(p.modes[0], w, i0)),
            row::<TILED>(l, wrap(p.modes[1], h, j0)),
        );
        if !p.linear {
            return widen(gather(t, _mm256_add_epi32(c0, r0)));
        }
        let one = _mm256_set1_epi32(1);
        let c1 = column::<TILED>(wrap(p.modes[0], w, _mm256_add_epi32(i0, one)));
        let r1 = row::<TILED>(l, wrap(p.modes[1], h, _mm256_add_epi32(j0, one)));
        let fx = spread(weight15(_mm256_sub_ps(tu, bu)));
        let fy = spread(weight15(_mm256_sub_ps(tv, bv)));
        let t00 = widen(gather(t, _mm256_add_epi32(c0, r0)));
        let t10 = widen(gather(t, _mm256_add_epi32(c1, r0)));
        let t01 = widen(gather(t, _mm256_add_epi32(c0, r1)));
        let t11 = widen(gather(t, _mm256_add_epi32(c1, r1)));
        lerp(lerp(t00, t10, fx), lerp(t01, t11, fx), fy)
    }

    /// The 15-bit weight of a second level.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn weight_of(w: f32) -> __m256i {
        _mm256_set1_epi16((w * 32768.0).round().clamp(0.0, 32767.0) as i16)
    }

    /// A prepared choice at 8 lanes, rounded to codes (memory byte order, lane order); with
    /// two levels, `mix` weighs the second for lanes 0, 1, 4, 5 and for lanes 2, 3, 6, 7.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn filter<const TILED: bool>(
        t: &Texels8,
        p: &Prepared,
        x: __m256,
        y: __m256,
        mix: [f32; 2],
    ) -> __m256i {
        let mut v = filter_level::<TILED>(t, p, &p.levels[0], x, y);
        if p.two {
            let second = filter_level::<TILED>(t, p, &p.levels[1], x, y);
            let (lo, hi) = (weight_of(mix[0]), weight_of(mix[1]));
            v = lerp(v, second, Wide { lo, hi });
        }
        let round = _mm256_set1_epi16(64);
        let lo = _mm256_srli_epi16::<7>(_mm256_add_epi16(v.lo, round));
        let hi = _mm256_srli_epi16::<7>(_mm256_add_epi16(v.hi, round));
        _mm256_packus_epi16(lo, hi)
    }

    /// `codes` laid out by `order`, stored.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn arrange(codes: __m256i, order: &Arrangement) -> [u32; CHUNK] {
        let (pick, or) = arrangement(order);
        let mut out = [0u32; CHUNK];
        store_u32(
            &mut out,
            _mm256_or_si256(_mm256_shuffle_epi8(codes, pick), or),
        );
        out
    }

    /// Columns and rows the separable tables hold (a tile's side).
    const SIDE: usize = 64;

    /// One level's separable tables: per column its texel column offsets and x weight, per
    /// row its row offsets (with the level's base) and y weight, in the layouts a
    /// row-major block reads.
    #[derive(Clone, Copy)]
    struct Tables {
        c0: [i32; SIDE],
        c1: [i32; SIDE],
        r0: [i32; SIDE],
        r1: [i32; SIDE],
        /// Per pair of columns: each one's weight repeated over its 4 channels (16-bit).
        fx: [[i16; 8]; SIDE / 2],
        fy: [i16; SIDE],
        /// Per block whose 4 columns read at most 4 distinct texel columns (magnification):
        /// those columns' offsets, and where each pixel column's c0 and then c1 texel is
        /// among them. `None`: more than 4.
        window: [Option<Window>; SIDE / 4],
    }

    /// A block's distinct texel columns ([`Tables::window`]).
    #[derive(Clone, Copy)]
    struct Window {
        columns: [i32; 4],
        /// Lane `k` < 4: pixel column k's c0 texel; lane 4 + k: its c1 texel.
        picks: [i32; 8],
    }

    impl Window {
        /// The distinct offsets among `c0` and `c1` (4 pixel columns each), if at most 4.
        fn of(c0: &[i32], c1: &[i32]) -> Option<Window> {
            let mut columns = [0i32; 4];
            let mut picks = [0i32; 8];
            let mut n = 0;
            for (pick, &off) in picks.iter_mut().zip(c0.iter().chain(c1)) {
                *pick = match columns[..n].iter().position(|&c| c == off) {
                    Some(at) => at as i32,
                    None if n < 4 => {
                        columns[n] = off;
                        n += 1;
                        (n - 1) as i32
                    }
                    None => return None,
                };
            }
            // Unused slots read the first column again (a valid texel).
            for slot in n..4 {
                columns[slot] = columns[0];
            }
            Some(Window { columns, picks })
        }
    }

    impl Tables {
        /// Level `k` of `p` over columns with `u` and rows with `v`.
        #[target_feature(enable = "avx2,fma")]
        fn new(p: &Prepared, k: usize, u: &[f32], v: &[f32]) -> Tables {
            let l = &p.levels[k];
            let mut t = Tables {
                c0: [0; SIDE],
                c1: [0; SIDE],
                r0: [0; SIDE],
                r1: [0; SIDE],
                fx: [[0; 8]; SIDE / 2],
                fy: [0; SIDE],
                window: [None; SIDE / 4],
            };
            let mut fxs = [0i32; SIDE];
            let [w, h] = l.size;
            let one = _mm256_set1_epi32(1);
            // Texel coordinate, fraction weight and both wrapped neighbours of 8 values.
            let axis = |c: &[f32], at: usize, scale: __m256, size: i32, mode: AddressMode| {
                let mut lanes = [0f32; CHUNK];
                for (d, s) in lanes.iter_mut().zip(c.iter().skip(at)) {
                    *d = *s;
                }
                let c = load_f32(&lanes);
                let tc = _mm256_sub_ps(_mm256_mul_ps(c, scale), p.half);
                let b = _mm256_floor_ps(tc);
                let i0 = _mm256_cvttps_epi32(b);
                let f = weight15(_mm256_sub_ps(tc, b));
                (
                    wrap(mode, size, i0),
                    wrap(mode, size, _mm256_add_epi32(i0, one)),
                    f,
                )
            };
            let store = |dst: &mut [i32], at: usize, v: __m256i| {
                let mut lanes = [0u32; CHUNK];
                store_u32(&mut lanes, v);
                for (d, s) in dst.iter_mut().skip(at).zip(lanes) {
                    *d = s as i32;
                }
            };
            for at in (0..u.len()).step_by(CHUNK) {
                let (i0, i1, f) = axis(u, at, l.width, w, p.modes[0]);
                let (c0, c1) = if p.tiled {
                    (column::<true>(i0), column::<true>(i1))
                } else {
                    (column::<false>(i0), column::<false>(i1))
                };
                store(&mut t.c0, at, c0);
                store(&mut t.c1, at, c1);
                store(&mut fxs, at, f);
            }
            for at in (0..v.len()).step_by(CHUNK) {
                let (j0, j1, f) = axis(v, at, l.height, h, p.modes[1]);
                let (r0, r1) = if p.tiled {
                    (row::<true>(l, j0), row::<true>(l, j1))
                } else {
                    (row::<false>(l, j0), row::<false>(l, j1))
                };
                store(&mut t.r0, at, r0);
                store(&mut t.r1, at, r1);
                let mut fys = [0i32; CHUNK];
                store(&mut fys, 0, f);
                for (d, s) in t.fy.iter_mut().skip(at).zip(fys) {
                    *d = s as i16;
                }
            }
            for (pair, w) in t.fx.iter_mut().enumerate() {
                let (a, b) = (fxs[2 * pair] as i16, fxs[2 * pair + 1] as i16);
                *w = [a, a, a, a, b, b, b, b];
            }
            let blocks = t.c0.as_chunks::<4>().0.iter().zip(t.c1.as_chunks::<4>().0);
            for (window, (c0, c1)) in t.window.iter_mut().zip(blocks) {
                *window = Window::of(c0, c1);
            }
            t
        }
    }

    /// The 32-byte byte shuffle and constant of `order`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn arrangement(order: &Arrangement) -> (__m256i, __m256i) {
        (load_bytes(&order.pick), load_bytes(&order.or))
    }

    /// 32 bytes as a vector.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::cast_ptr_alignment)] // an unaligned load
    fn load_bytes(bytes: &[u8; 32]) -> __m256i {
        // SAFETY: `bytes` is 32 readable bytes; `loadu` has no alignment requirement.
        unsafe { _mm256_loadu_si256(bytes.as_ptr().cast::<__m256i>()) }
    }

    /// 8 f32s as a vector.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn load_f32(values: &[f32; CHUNK]) -> __m256 {
        // SAFETY: `values` is 8 readable f32s; `loadu` has no alignment requirement.
        unsafe { _mm256_loadu_ps(values.as_ptr()) }
    }

    /// A vector stored into 8 u32s.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::cast_ptr_alignment)] // an unaligned store
    fn store_u32(out: &mut [u32; CHUNK], v: __m256i) {
        // SAFETY: `out` is 8 writable u32s; `storeu` has no alignment requirement.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast::<__m256i>(), v) }
    }

    /// 16 bytes (4 i32s or 8 i16s) as a 128-bit vector.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::cast_ptr_alignment)] // an unaligned load
    fn load16<T: Copy, const N: usize>(values: &[T; N]) -> __m128i {
        const { assert!(std::mem::size_of::<[T; N]>() == 16) };
        // SAFETY: `values` is 16 readable bytes (checked at compile time just above);
        // `loadu` has no alignment requirement.
        unsafe { _mm_loadu_si128(values.as_ptr().cast::<__m128i>()) }
    }

    /// 16 bytes (4 i32s or 8 i16s) repeated in both halves of a vector.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn broadcast16<T: Copy, const N: usize>(values: &[T; N]) -> __m256i {
        _mm256_broadcastsi128_si256(load16(values))
    }

    /// The 4 bytes at each of 4 offsets (clamped to the view's last texel).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::cast_ptr_alignment)] // the gather reads unaligned
    fn gather4(t: &Texels8, at: __m128i) -> __m128i {
        let at = _mm_min_epu32(at, _mm_set1_epi32(t.last as i32));
        // SAFETY: as for `gather`: every index is at most `last` (clamped just above), and 4
        // bytes at `ptr + last` are inside the view's memory.
        unsafe { _mm_i32gather_epi32::<1>(t.ptr.cast::<i32>(), at) }
    }

    /// One level of block `b` of row pair `pair` from its tables.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn tables_level(t: &Texels8, p: &Prepared, tab: &Tables, b: usize, pair: usize) -> Wide {
        let cols = |c: &[i32; SIDE]| {
            let four = c.as_chunks::<4>().0.get(b).copied().unwrap_or_default();
            broadcast16(&four)
        };
        let rows = |r: &[i32; SIDE]| {
            let (a, c) = (r[(2 * pair) % SIDE], r[(2 * pair + 1) % SIDE]);
            _mm256_setr_epi32(a, a, a, a, c, c, c, c)
        };
        let (c0, r0) = (cols(&tab.c0), rows(&tab.r0));
        if !p.linear {
            return widen(gather(t, _mm256_add_epi32(c0, r0)));
        }
        let fx_at = |k: usize| broadcast16(&tab.fx.get(k).copied().unwrap_or_default());
        let fx = Wide {
            lo: fx_at(2 * b),
            hi: fx_at(2 * b + 1),
        };
        let (fa, fc) = (tab.fy[(2 * pair) % SIDE], tab.fy[(2 * pair + 1) % SIDE]);
        let fyv = _mm256_setr_epi16(
            fa, fa, fa, fa, fa, fa, fa, fa, fc, fc, fc, fc, fc, fc, fc, fc,
        );
        let fy = Wide { lo: fyv, hi: fyv };
        // Both columns of each pixel column's footprint ([c0 × 4 | c1 × 4]) gathered once per
        // texel row the block reads: two rows when both pixel rows read the same pair, three
        // when the second starts where the first ends (magnification), else four. Rows are
        // told apart by their offsets (wrapped already), so equal offsets are the same texels.
        let four = |c: &[i32; SIDE]| c.as_chunks::<4>().0.get(b).copied().unwrap_or_default();
        let pair_cols = _mm256_inserti128_si256::<1>(
            _mm256_castsi128_si256(load16(&four(&tab.c0))),
            load16(&four(&tab.c1)),
        );
        let at = |r: &[i32; SIDE], y: usize| r.get(y).copied().unwrap_or(0);
        let (r0a, r1a) = (at(&tab.r0, 2 * pair), at(&tab.r1, 2 * pair));
        let (r0b, r1b) = (at(&tab.r0, 2 * pair + 1), at(&tab.r1, 2 * pair + 1));
        // Where the block reads at most 4 texel columns, a row is 4 loads (one narrow
        // gather) spread over the 8 lanes by a permutation.
        let window = tab.window.get(b).copied().flatten();
        let row_of = |r: i32| match &window {
            Some(w) => {
                let four = gather4(t, _mm_add_epi32(load16(&w.columns), _mm_set1_epi32(r)));
                let spread = _mm256_broadcastsi128_si256(four);
                let picks = _mm256_setr_epi32(
                    w.picks[0], w.picks[1], w.picks[2], w.picks[3], w.picks[4], w.picks[5],
                    w.picks[6], w.picks[7],
                );
                _mm256_permutevar8x32_epi32(spread, picks)
            }
            None => gather(t, _mm256_add_epi32(pair_cols, _mm256_set1_epi32(r))),
        };
        let g0a = row_of(r0a);
        let g1a = row_of(r1a);
        let g0b = if r0b == r0a {
            g0a
        } else if r0b == r1a {
            g1a
        } else {
            row_of(r0b)
        };
        let g1b = if r1b == r1a { g1a } else { row_of(r1b) };
        // Lanes 0–3 from row a's gathers, 4–7 from row b's: low halves are the c0 texels,
        // high halves the c1 texels.
        let t00 = widen(_mm256_permute2x128_si256::<0x20>(g0a, g0b));
        let t10 = widen(_mm256_permute2x128_si256::<0x31>(g0a, g0b));
        let t01 = widen(_mm256_permute2x128_si256::<0x20>(g1a, g1b));
        let t11 = widen(_mm256_permute2x128_si256::<0x31>(g1a, g1b));
        lerp(lerp(t00, t10, fx), lerp(t01, t11, fx), fy)
    }

    /// Block `b` of row pair `pair` from the tables of `p`'s levels, as codes; `mix`: the
    /// second level's weight in each quad.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn tables_block(
        t: &Texels8,
        p: &Prepared,
        tables: &[Tables; 2],
        b: usize,
        pair: usize,
        mix: [f32; 2],
    ) -> __m256i {
        let mut v = tables_level(t, p, &tables[0], b, pair);
        if p.two {
            let second = tables_level(t, p, &tables[1], b, pair);
            let (lo, hi) = (weight_of(mix[0]), weight_of(mix[1]));
            v = lerp(v, second, Wide { lo, hi });
        }
        let round = _mm256_set1_epi16(64);
        let lo = _mm256_srli_epi16::<7>(_mm256_add_epi16(v.lo, round));
        let hi = _mm256_srli_epi16::<7>(_mm256_add_epi16(v.hi, round));
        _mm256_packus_epi16(lo, hi)
    }

    impl CopySampler<'_> {
        /// `choice` resolved for the kernel.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        pub(super) fn prepare(&self, choice: &LevelChoice) -> Prepared {
            let t = self.t;
            let last = t.levels.len().saturating_sub(1);
            let level = |k: usize| {
                let g = t.levels.get((choice.levels[k].0 as usize).min(last));
                let (w, h, pitch, base) =
                    g.map_or((1, 1, 0, 0), |g| (g.width, g.height, g.row_pitch, g.base));
                LevelVecs {
                    width: _mm256_set1_ps(w as f32),
                    height: _mm256_set1_ps(h as f32),
                    size: [w as i32, h as i32],
                    row_pitch: _mm256_set1_epi32(pitch as i32),
                    base: _mm256_set1_epi32(base as i32),
                }
            };
            let linear = choice.filter == Filter::Linear;
            let [mode_u, mode_v, _] = self.smp.state.address_modes;
            Prepared {
                levels: [level(0), level(1)],
                two: choice.levels[1].1 != 0.0,
                linear,
                half: _mm256_set1_ps(if linear { 0.5 } else { 0.0 }),
                modes: [mode_u, mode_v],
                tiled: t.tile_shift == 2,
            }
        }

        /// The codes of 8 lanes at (`u`, `v`) with a prepared choice, laid out by `order`;
        /// `mix`: the second level's weight for lanes 0, 1, 4, 5 and for lanes 2, 3, 6, 7
        /// (the quads of a row-major block).
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        pub(super) fn block_prepared(
            &self,
            p: &Prepared,
            u: &[f32; CHUNK],
            v: &[f32; CHUNK],
            mix: [f32; 2],
            order: &Arrangement,
        ) -> [u32; CHUNK] {
            let (x, y) = (load_f32(u), load_f32(v));
            let codes = if p.tiled {
                filter::<true>(self.t, p, x, y, mix)
            } else {
                filter::<false>(self.t, p, x, y, mix)
            };
            arrange(codes, order)
        }

        /// [`CopySampler::rect`] for a separable mapping: u per column and v per row
        /// computed once, then per level the wrapped column and row offsets and the 15-bit
        /// weights, so a block adds, gathers and interpolates. False (nothing done) where the
        /// rectangle is larger than the tables or a coordinate is outside the exact range.
        #[target_feature(enable = "avx2,fma")]
        pub(super) fn rect_separable(
            &self,
            area: [u32; 4],
            order: &Arrangement,
            coords: &mut impl FnMut(&Lanes, &Lanes, &mut Lanes, &mut Lanes),
            row: &mut impl FnMut(u32, &[[u32; CHUNK]]),
        ) -> bool {
            let [x0, x1, y0, y1] = area;
            let (width, height) = (
                (x1.saturating_sub(x0)) as usize,
                (y1.saturating_sub(y0)) as usize,
            );
            if width == 0
                || width > SIDE
                || height == 0
                || height > SIDE
                || width % 4 != 0
                || height % 2 != 0
            {
                return false;
            }
            // u of every column (pixel centres of the first row), v of every row.
            let (mut u_col, mut v_row) = ([0f32; SIDE], [0f32; SIDE]);
            let (mut u, mut v) = ([0f32; GROUP_LANES], [0f32; GROUP_LANES]);
            for chunk in 0..SIDE / GROUP_LANES {
                let first = (chunk * GROUP_LANES) as f32;
                let along: Lanes = std::array::from_fn(|l| first + l as f32 + 0.5);
                let xs: Lanes = along.map(|d| x0 as f32 + d);
                let ys: Lanes = [y0 as f32 + 0.5; GROUP_LANES];
                coords(&xs, &ys, &mut u, &mut v);
                u_col[chunk * GROUP_LANES..][..GROUP_LANES].copy_from_slice(&u);
                let xs: Lanes = [x0 as f32 + 0.5; GROUP_LANES];
                let ys: Lanes = along.map(|d| y0 as f32 + d);
                coords(&xs, &ys, &mut u, &mut v);
                v_row[chunk * GROUP_LANES..][..GROUP_LANES].copy_from_slice(&v);
            }
            let limit = MAX_COORD.to_bits();
            let outside = |c: &[f32]| c.iter().any(|c| c.to_bits() & 0x7fff_ffff > limit);
            if outside(&u_col[..width]) || outside(&v_row[..height]) {
                return false;
            }
            let mut cache = LodCache::default();
            // The prepared choice and its two levels' tables.
            let mut current: Option<(LevelChoice, Prepared, [Tables; 2])> = None;
            let mut texels = [[0u32; CHUNK]; RECT_BLOCKS];
            let blocks = width / 4;
            let (pick, or) = arrangement(order);
            if let Some(choice) = self.fixed {
                // One choice for every quad (one level, one filter): its tables once, then
                // nothing per block but the block itself.
                let p = self.prepare(&choice);
                let tables = [0, 1].map(|k| Tables::new(&p, k, &u_col[..width], &v_row[..height]));
                let mix = [choice.levels[1].1; 2];
                for pair in 0..height / 2 {
                    for (b, out) in texels[..blocks].iter_mut().enumerate() {
                        let codes = tables_block(self.t, &p, &tables, b, pair, mix);
                        store_u32(out, _mm256_or_si256(_mm256_shuffle_epi8(codes, pick), or));
                    }
                    row(y0 + 2 * pair as u32, &texels[..blocks]);
                }
                return true;
            }
            for pair in 0..height / 2 {
                let (ya, yb) = (2 * pair, 2 * pair + 1);
                // Each quad column's choice for this row pair (differences along the other
                // axis are +0, as c − c is for the finite coordinates checked above: u does
                // not change along y nor v along x).
                let mut choices = [None; SIDE / 2];
                for (q, slot) in choices.iter_mut().enumerate().take(width / 2) {
                    let du = u_col[2 * q + 1] - u_col[2 * q];
                    let dv = v_row[yb] - v_row[ya];
                    *slot = Some(self.choice_of_differences([du, 0.0, 0.0, dv], &mut cache));
                }
                // Most row pairs read one set of levels in every quad (an affine mapping):
                // the prepared choice once, and per block only its quads' weights.
                let first = choices[0];
                let uniform = first.is_some_and(|c| {
                    choices[..width / 2]
                        .iter()
                        .all(|q| q.is_some_and(|q| same_levels(&q, &c)))
                });
                if let (true, Some(c)) = (uniform, first) {
                    if !matches!(&current, Some((choice, ..)) if same_levels(choice, &c)) {
                        let p = self.prepare(&c);
                        let tables =
                            [0, 1].map(|k| Tables::new(&p, k, &u_col[..width], &v_row[..height]));
                        current = Some((c, p, tables));
                    }
                    if let Some((_, p, tables)) = &current {
                        let weight = |q: usize| choices[q].map_or(0.0, |c| c.levels[1].1);
                        for (b, out) in texels[..blocks].iter_mut().enumerate() {
                            let mix = [weight(2 * b), weight(2 * b + 1)];
                            let codes = tables_block(self.t, p, tables, b, pair, mix);
                            store_u32(out, _mm256_or_si256(_mm256_shuffle_epi8(codes, pick), or));
                        }
                        row(y0 + 2 * pair as u32, &texels[..blocks]);
                        continue;
                    }
                }
                for (b, out) in texels[..blocks].iter_mut().enumerate() {
                    let (Some(qa), Some(qb)) = (choices[2 * b], choices[2 * b + 1]) else {
                        continue;
                    };
                    if !same_levels(&qa, &qb) {
                        let lanes_u: [f32; CHUNK] = std::array::from_fn(|l| u_col[4 * b + l % 4]);
                        let lanes_v: [f32; CHUNK] =
                            std::array::from_fn(|l| v_row[if l < 4 { ya } else { yb }]);
                        // SAFETY: this function runs with AVX2 and FMA.
                        *out = unsafe {
                            self.block_avx2(
                                &lanes_u,
                                &lanes_v,
                                &super::ROW_MAJOR_QUADS,
                                &[qa, qb],
                                order,
                            )
                        };
                        continue;
                    }
                    if !matches!(&current, Some((choice, ..)) if same_levels(choice, &qa)) {
                        let p = self.prepare(&qa);
                        let tables =
                            [0, 1].map(|k| Tables::new(&p, k, &u_col[..width], &v_row[..height]));
                        current = Some((qa, p, tables));
                    }
                    let Some((_, p, tables)) = &current else {
                        continue;
                    };
                    let mix = [qa.levels[1].1, qb.levels[1].1];
                    let codes = tables_block(self.t, p, tables, b, pair, mix);
                    store_u32(out, _mm256_or_si256(_mm256_shuffle_epi8(codes, pick), or));
                }
                row(y0 + 2 * pair as u32, &texels[..blocks]);
            }
            true
        }

        /// [`CopySampler::block`] with the quads' `choices`.
        ///
        /// # Safety
        /// The CPU supports AVX2 and FMA.
        #[target_feature(enable = "avx2,fma")]
        pub(super) unsafe fn block_avx2(
            &self,
            u: &[f32; CHUNK],
            v: &[f32; CHUNK],
            quads: &QuadLanes,
            choices: &[LevelChoice; 2],
            order: &Arrangement,
        ) -> [u32; CHUNK] {
            let first = self.prepare(&choices[0]);
            let mix = |c: &LevelChoice| [c.levels[1].1; 2];
            if choices[1] == choices[0] {
                return self.block_prepared(&first, u, v, mix(&choices[0]), order);
            }
            // The second quad's lanes from a second pass with its own choice.
            let second = self.prepare(&choices[1]);
            let (x, y) = (load_f32(u), load_f32(v));
            let run = |p: &Prepared, c: &LevelChoice| {
                if p.tiled {
                    filter::<true>(self.t, p, x, y, mix(c))
                } else {
                    filter::<false>(self.t, p, x, y, mix(c))
                }
            };
            let (a, b) = (run(&first, &choices[0]), run(&second, &choices[1]));
            let mut select = [0i32; CHUNK];
            for &l in quads[1].iter() {
                select[l % CHUNK] = -1;
            }
            let mask = _mm256_setr_epi32(
                select[0], select[1], select[2], select[3], select[4], select[5], select[6],
                select[7],
            );
            arrange(_mm256_blendv_epi8(a, b, mask), order)
        }
    }
}
