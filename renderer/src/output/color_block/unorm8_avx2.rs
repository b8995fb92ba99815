//! The 8-bit UNORM block kernel of [`super::BlockShading::shade_unorm8`] in AVX2 intrinsics: the
//! operations of [`super::BlockShading::shade`] (unpack, clamp, [`super::blend_block`], `float_to_unorm8`)
//! in the same order on the block's 8 lanes, in the rasterizer's lane order (the packed
//! texels are permuted into it and back), then the write mask and coverage merge.

use std::arch::x86_64::*;

use super::super::state::{BlendFactor, BlendOp, BlendState};
use super::LANES;

/// Pixel ↔ lane within a block ([`super::PIXEL_LANE`], which is its own inverse).
pub(super) const LANE_ORDER: [i32; 8] = [0, 1, 4, 5, 2, 3, 6, 7];

const _: () = {
    let mut p = 0;
    while p < 8 {
        assert!(LANE_ORDER[p] as usize == super::PIXEL_LANE[p]);
        assert!(super::LANE_PIXEL[super::PIXEL_LANE[p]] == p);
        p += 1;
    }
};

pub(super) struct Unorm8Block<'a> {
    /// Byte of R, G, B, A in the texel.
    pub order: [usize; 4],
    pub blend: &'a BlendState,
    pub blending: bool,
    /// Blend constants clamped to [0, 1].
    pub constants: &'a [f32; 4],
    pub byte_mask: u32,
}

/// `f32::clamp(x, 0, 1)`: the same two comparisons (NaN and −0 kept).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn clamp01(x: __m256) -> __m256 {
    let zero = _mm256_setzero_ps();
    let one = _mm256_set1_ps(1.0);
    let x = _mm256_blendv_ps(x, zero, _mm256_cmp_ps::<_CMP_LT_OQ>(x, zero));
    _mm256_blendv_ps(x, one, _mm256_cmp_ps::<_CMP_GT_OQ>(x, one))
}

/// `float_to_unorm8` of 8 lanes in f32: NaN → 0 (`vmaxps` returns its second operand
/// for a NaN), clamped to [0, 1], then c = trunc(x·255 + 0.5) rounded in f32, which can
/// only overshoot the exact floor(x·255 + 0.5) by one; the sign of x·255 + 0.5 − c in one
/// FMA rounding is exact and says when it did. Equal to the f64 conversion for every f32
/// in [0, 1] (checked exhaustively once; the tests check every code's edges).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn to_unorm8(v: __m256) -> __m256i {
    let x = _mm256_max_ps(v, _mm256_setzero_ps());
    let x = _mm256_min_ps(x, _mm256_set1_ps(1.0));
    let scale = _mm256_set1_ps(255.0);
    let half = _mm256_set1_ps(0.5);
    let code = _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(x, scale), half));
    let rest = _mm256_fmadd_ps(x, scale, _mm256_sub_ps(half, _mm256_cvtepi32_ps(code)));
    let over = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LT_OQ>(rest, _mm256_setzero_ps()));
    // `over` is −1 where the code overshot.
    _mm256_add_epi32(code, over)
}

/// `unorm8_to_float` of 8 codes: q = c·(1/255), corrected by one FMA step (Markstein)
/// to the correctly rounded c / 255 — the division's bits for every code (a test checks
/// all 256).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn from_unorm8(code: __m256i) -> __m256 {
    let c = _mm256_cvtepi32_ps(code);
    let r = _mm256_set1_ps(1.0 / 255.0);
    let q = _mm256_mul_ps(c, r);
    let rest = _mm256_fnmadd_ps(q, _mm256_set1_ps(255.0), c);
    _mm256_fmadd_ps(rest, r, q)
}

/// [`from_unorm8`] and [`to_unorm8`] for tests.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(test)]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn convert_for_test(codes: [i32; 8], values: [f32; 8]) -> ([f32; 8], [i32; 8]) {
    // SAFETY: 8 i32 / 8 f32 are 32 plain bytes, as the vectors are (so below).
    let codes = unsafe { std::mem::transmute::<[i32; 8], __m256i>(codes) };
    // SAFETY: as above.
    let values = unsafe { std::mem::transmute::<[f32; 8], __m256>(values) };
    let (decoded, encoded) = (from_unorm8(codes), to_unorm8(values));
    // SAFETY: as above.
    let decoded = unsafe { std::mem::transmute::<__m256, [f32; 8]>(decoded) };
    // SAFETY: as above.
    let encoded = unsafe { std::mem::transmute::<__m256i, [i32; 8]>(encoded) };
    (decoded, encoded)
}

impl Unorm8Block<'_> {
    /// The block's two rows of texels for the shader's outputs `words` (by lane) over
    /// `old` (the block's rows, read when `merge` or blending): with `merge`, `old`'s
    /// bits outside the write mask and outside the `live` lanes are kept.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn shade(
        &self,
        words: &[[u32; LANES]; 4],
        old: [[u8; 16]; 2],
        merge: bool,
        live: u8,
    ) -> [[u8; 16]; 2] {
        // SAFETY: `LANE_ORDER` is 8 i32, 32 bytes, read unaligned.
        let order = unsafe { _mm256_loadu_si256(LANE_ORDER.as_ptr().cast()) };
        let mut src = [_mm256_setzero_ps(); 4];
        for (s, w) in src.iter_mut().zip(words) {
            // SAFETY: `w` is 8 u32, 32 bytes, read unaligned.
            *s = _mm256_castsi256_ps(unsafe { _mm256_loadu_si256(w.as_ptr().cast()) });
        }
        let old_lanes = if merge || self.blending {
            // SAFETY: two 16-byte rows are 32 plain bytes, as `__m256i` is (row 0 in the
            // low half).
            let pixels = unsafe { std::mem::transmute::<[[u8; 16]; 2], __m256i>(old) };
            _mm256_permutevar8x32_epi32(pixels, order)
        } else {
            _mm256_setzero_si256()
        };
        let value = if self.blending {
            let mut dst = [_mm256_setzero_ps(); 4];
            for (d, &at) in dst.iter_mut().zip(&self.order) {
                let shift = _mm256_set1_epi32(8 * at as i32);
                let code =
                    _mm256_and_si256(_mm256_srlv_epi32(old_lanes, shift), _mm256_set1_epi32(0xff));
                // `unorm8_to_float`; the result is in [0, 1], so the block path's clamp
                // of it changes nothing.
                *d = from_unorm8(code);
            }
            for s in &mut src {
                *s = clamp01(*s);
            }
            self.blend_lanes(&src, &dst)
        } else {
            src
        };
        let mut packed = _mm256_setzero_si256();
        for (v, &at) in value.iter().zip(&self.order) {
            let shift = _mm256_set1_epi32(8 * at as i32);
            packed = _mm256_or_si256(packed, _mm256_sllv_epi32(to_unorm8(*v), shift));
        }
        if merge {
            let mask = _mm256_set1_epi32(self.byte_mask as i32);
            let masked = _mm256_or_si256(
                _mm256_and_si256(packed, mask),
                _mm256_andnot_si256(mask, old_lanes),
            );
            let bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
            let lanes = _mm256_and_si256(_mm256_set1_epi32(i32::from(live)), bits);
            let covered = _mm256_cmpeq_epi32(lanes, bits);
            packed = _mm256_blendv_epi8(old_lanes, masked, covered);
        }
        let pixels = _mm256_permutevar8x32_epi32(packed, order);
        // SAFETY: as for `old`, the other way.
        unsafe { std::mem::transmute::<__m256i, [[u8; 16]; 2]>(pixels) }
    }

    /// `blend_block` for the UNORM class.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn blend_lanes(&self, src: &[__m256; 4], dst: &[__m256; 4]) -> [__m256; 4] {
        let state = self.blend;
        let mut out = [_mm256_setzero_ps(); 4];
        for (i, value) in out.iter_mut().enumerate() {
            let (sf, df, op) = if i == 3 {
                (state.src_alpha, state.dst_alpha, state.alpha_op)
            } else {
                (state.src_color, state.dst_color, state.color_op)
            };
            let (s, d) = (src[i], dst[i]);
            *value = match op {
                // `f32::min(s, d)`: `vminps` returns its second operand, d (never NaN),
                // where s is NaN, as `min` does.
                BlendOp::Min => _mm256_min_ps(s, d),
                BlendOp::Max => _mm256_max_ps(s, d),
                BlendOp::Add | BlendOp::Subtract | BlendOp::ReverseSubtract => {
                    let a = _mm256_mul_ps(s, self.factor(sf, i, src, dst));
                    let b = _mm256_mul_ps(d, self.factor(df, i, src, dst));
                    match op {
                        BlendOp::Subtract => _mm256_sub_ps(a, b),
                        BlendOp::ReverseSubtract => _mm256_sub_ps(b, a),
                        _ => _mm256_add_ps(a, b),
                    }
                }
            };
        }
        out
    }

    /// `factor_block`: factor `f` for component `i`, clamped to [0, 1].
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn factor(&self, f: BlendFactor, i: usize, src: &[__m256; 4], dst: &[__m256; 4]) -> __m256 {
        let k = self.constants;
        let one = _mm256_set1_ps(1.0);
        let v = match f {
            BlendFactor::Zero => _mm256_setzero_ps(),
            BlendFactor::One => one,
            BlendFactor::SrcColor => src[i],
            BlendFactor::OneMinusSrcColor => _mm256_sub_ps(one, src[i]),
            BlendFactor::DstColor => dst[i],
            BlendFactor::OneMinusDstColor => _mm256_sub_ps(one, dst[i]),
            BlendFactor::SrcAlpha => src[3],
            BlendFactor::OneMinusSrcAlpha => _mm256_sub_ps(one, src[3]),
            BlendFactor::DstAlpha => dst[3],
            BlendFactor::OneMinusDstAlpha => _mm256_sub_ps(one, dst[3]),
            BlendFactor::ConstantColor => _mm256_set1_ps(k[i]),
            BlendFactor::OneMinusConstantColor => _mm256_set1_ps(1.0 - k[i]),
            BlendFactor::ConstantAlpha => _mm256_set1_ps(k[3]),
            BlendFactor::OneMinusConstantAlpha => _mm256_set1_ps(1.0 - k[3]),
            BlendFactor::SrcAlphaSaturate if i == 3 => one,
            // `f32::min(s, 1 − d)`: 1 − d is never NaN (as for `Min` above).
            BlendFactor::SrcAlphaSaturate => _mm256_min_ps(src[3], _mm256_sub_ps(one, dst[3])),
            // Refused when the sink is built; zero as the other paths.
            BlendFactor::Src1Color
            | BlendFactor::OneMinusSrc1Color
            | BlendFactor::Src1Alpha
            | BlendFactor::OneMinusSrc1Alpha => _mm256_setzero_ps(),
        };
        clamp01(v)
    }
}
