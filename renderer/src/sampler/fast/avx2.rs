//! The AVX2 + FMA kernel of the fast path for 8 lanes that read the same level or the same two
//! levels of a non-arrayed view: coordinates, wrapping, addresses, four gathers and the
//! weighted sums all stay in registers, one instruction for 8 lanes throughout. Each lane keeps
//! its own coordinates and its own level weights (trilinear filtering of a quad whose λ differs
//! from its neighbour's still takes it); a chunk whose lanes read different levels goes
//! through the lane-array path in `mod.rs`.
//!
//! Arithmetic: the same texel coordinates and weights as the lane-array path (u·w − ½, floor,
//! fraction; (1 − f)(1 − g), f(1 − g), (1 − f)g, fg), sums taken with FMA on codes and scaled
//! by 1/255 once at the end, so the result differs from the generic path by f32 rounding
//! only. Wrapping uses the lane-array path's integer identities (power-of-two sizes for the
//! repeating modes; `wraps` says which modes this kernel takes), so every texel coordinate is
//! inside its level, and every gather index is still clamped to [`Texels8::last`].

use std::arch::x86_64::{
    __m256, __m256i, _mm256_add_epi32, _mm256_and_si256, _mm256_cvtepi32_ps, _mm256_cvttps_epi32,
    _mm256_floor_ps, _mm256_fmadd_ps, _mm256_i32gather_epi32, _mm256_i32gather_ps, _mm256_loadu_ps,
    _mm256_max_epi32, _mm256_min_epi32, _mm256_min_epu32, _mm256_mul_ps, _mm256_mullo_epi32,
    _mm256_set1_epi32, _mm256_set1_ps, _mm256_setr_epi32, _mm256_setzero_ps, _mm256_setzero_si256,
    _mm256_shuffle_epi8, _mm256_slli_epi32, _mm256_srai_epi32, _mm256_srli_epi32, _mm256_storeu_ps,
    _mm256_sub_epi32, _mm256_sub_ps, _mm256_xor_si256,
};

use super::{LevelGeometry, Texels8, CHUNK};
use crate::sampler::AddressMode;

/// One level the 8 lanes read and each lane's weight on it.
pub(super) struct LevelRead {
    /// Index into [`Texels8::levels`] (in range).
    pub level: usize,
    pub weight: [f32; CHUNK],
}

/// Whether the kernel wraps coordinates in `mode` itself: the repeating modes only on
/// power-of-two levels (their general form needs a division), never CLAMP_TO_BORDER.
pub(super) fn wraps(mode: AddressMode, pow2: bool) -> bool {
    match mode {
        AddressMode::ClampToEdge | AddressMode::MirrorClampToEdge => true,
        AddressMode::Repeat | AddressMode::MirroredRepeat => pow2,
        AddressMode::ClampToBorder => false,
    }
}

/// Texel coordinates `i` wrapped into `[0, size)` by `mode` (see `wrap_lanes` in `mod.rs`;
/// a mode [`wraps`] refuses is clamped, which also stays inside).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn wrap(mode: AddressMode, size: i32, i: __m256i) -> __m256i {
    let last = _mm256_set1_epi32(size - 1);
    match mode {
        AddressMode::Repeat => _mm256_and_si256(i, last),
        AddressMode::MirroredRepeat => {
            let size_v = _mm256_set1_epi32(size);
            let period = _mm256_set1_epi32(2 * size - 1);
            let m = _mm256_sub_epi32(_mm256_and_si256(i, period), size_v);
            let folded = _mm256_xor_si256(m, _mm256_srai_epi32::<31>(m));
            _mm256_sub_epi32(last, folded)
        }
        AddressMode::MirrorClampToEdge => {
            let m = _mm256_xor_si256(i, _mm256_srai_epi32::<31>(i));
            _mm256_min_epi32(m, last)
        }
        AddressMode::ClampToEdge | AddressMode::ClampToBorder => {
            _mm256_min_epi32(_mm256_max_epi32(i, _mm256_setzero_si256()), last)
        }
    }
}

/// Byte offsets from [`Texels8::ptr`] of texels (`i`, `j`) of level `g` (layer 0), as
/// `texel_offset` in `mod.rs`: 4×4 micro-tiles when `TILED`, rows otherwise.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn offsets<const TILED: bool>(g: &LevelGeometry, i: __m256i, j: __m256i) -> __m256i {
    let pitch = _mm256_set1_epi32(g.row_pitch as i32);
    let (x, y) = if TILED {
        let three = _mm256_set1_epi32(3);
        let x = _mm256_add_epi32(
            _mm256_slli_epi32::<6>(_mm256_srli_epi32::<2>(i)),
            _mm256_slli_epi32::<2>(_mm256_and_si256(i, three)),
        );
        let y = _mm256_add_epi32(
            _mm256_mullo_epi32(_mm256_srli_epi32::<2>(j), pitch),
            _mm256_slli_epi32::<4>(_mm256_and_si256(j, three)),
        );
        (x, y)
    } else {
        (_mm256_slli_epi32::<2>(i), _mm256_mullo_epi32(j, pitch))
    };
    _mm256_add_epi32(_mm256_set1_epi32(g.base as i32), _mm256_add_epi32(x, y))
}

/// The 4 bytes at each offset (clamped to `last`) of `t`'s view.
#[inline]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::cast_ptr_alignment)] // the gather reads unaligned
pub(super) fn gather(t: &Texels8, at: __m256i) -> __m256i {
    let at = _mm256_min_epu32(at, _mm256_set1_epi32(t.last as i32));
    // SAFETY: every index is at most `last` (clamped just above; `last ≤ i32::MAX`, so the
    // signed gather index is the same number), and `Texels8` guarantees that 4 bytes at
    // `ptr + last` are inside one allocation valid for reads while `t` lives. The gather has
    // no alignment requirement and forms no reference.
    unsafe { _mm256_i32gather_epi32::<1>(t.ptr.cast::<i32>(), at) }
}

/// Channel `c` (memory byte order) of 8 texels as f32: the code, or its sRGB decoding.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn channel(t: &Texels8, texels: __m256i, c: usize) -> __m256 {
    // One byte shuffle moves byte `c` of each texel to the bottom of its lane and zeroes
    // the other three (index bytes with the top bit set write 0; indices count bytes within
    // each 128-bit half, so texel k of a half starts at byte 4k).
    let pick = |k: u32| (0x8080_8000 | (4 * k + (c as u32 & 3))) as i32;
    let picks = _mm256_setr_epi32(
        pick(0),
        pick(1),
        pick(2),
        pick(3),
        pick(0),
        pick(1),
        pick(2),
        pick(3),
    );
    let code = _mm256_shuffle_epi8(texels, picks);
    match t.srgb.as_deref() {
        Some(table) if c < 3 => {
            // SAFETY: `code` is a byte (masked to 0..=255 above) and the table has 256 f32s,
            // so every lane reads inside the table; no alignment requirement.
            unsafe { _mm256_i32gather_ps::<4>(table.as_ptr(), code) }
        }
        _ => _mm256_cvtepi32_ps(code),
    }
}

/// Adds level `read`'s filtered texels, times each lane's level weight, to `acc` (channels
/// in memory byte order; codes unscaled except sRGB colour channels, which are decoded).
#[inline]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)] // one level of one kernel call; each is a register
fn add_level<const TILED: bool>(
    t: &Texels8,
    read: &LevelRead,
    modes: [AddressMode; 2],
    linear: bool,
    x: __m256,
    y: __m256,
    acc: &mut [__m256; 4],
) {
    let Some(g) = t.levels.get(read.level) else {
        return;
    };
    // SAFETY: `weight` is 8 f32s, 32 bytes; `loadu` has no alignment requirement.
    let level_weight = unsafe { _mm256_loadu_ps(read.weight.as_ptr()) };
    let half = _mm256_set1_ps(if linear { 0.5 } else { 0.0 });
    let tu = _mm256_sub_ps(_mm256_mul_ps(x, _mm256_set1_ps(g.width as f32)), half);
    let tv = _mm256_sub_ps(_mm256_mul_ps(y, _mm256_set1_ps(g.height as f32)), half);
    let (bu, bv) = (_mm256_floor_ps(tu), _mm256_floor_ps(tv));
    // |coordinate| ≤ MAX_COORD and extents ≤ 16384: exact integers well inside i32.
    let (i0, j0) = (_mm256_cvttps_epi32(bu), _mm256_cvttps_epi32(bv));
    let (w, h) = (g.width as i32, g.height as i32);
    let (wi0, wj0) = (wrap(modes[0], w, i0), wrap(modes[1], h, j0));
    if !linear {
        let texels = gather(t, offsets::<TILED>(g, wi0, wj0));
        for (c, sum) in acc.iter_mut().enumerate() {
            *sum = _mm256_fmadd_ps(level_weight, channel(t, texels, c), *sum);
        }
        return;
    }
    let one = _mm256_set1_epi32(1);
    let wi1 = wrap(modes[0], w, _mm256_add_epi32(i0, one));
    let wj1 = wrap(modes[1], h, _mm256_add_epi32(j0, one));
    let (fx, fy) = (_mm256_sub_ps(tu, bu), _mm256_sub_ps(tv, bv));
    let onef = _mm256_set1_ps(1.0);
    let (gx, gy) = (_mm256_sub_ps(onef, fx), _mm256_sub_ps(onef, fy));
    let taps = [
        (_mm256_mul_ps(gx, gy), wi0, wj0),
        (_mm256_mul_ps(fx, gy), wi1, wj0),
        (_mm256_mul_ps(gx, fy), wi0, wj1),
        (_mm256_mul_ps(fx, fy), wi1, wj1),
    ];
    for (weight, i, j) in taps {
        let texels = gather(t, offsets::<TILED>(g, i, j));
        let weight = _mm256_mul_ps(weight, level_weight);
        for (c, sum) in acc.iter_mut().enumerate() {
            *sum = _mm256_fmadd_ps(weight, channel(t, texels, c), *sum);
        }
    }
}

/// Filtered R, G, B, A of 8 lanes at (`x`, `y`) (normalized; lanes to skip hold 0) from
/// `reads` (one or two levels), with the sampler's U and V address `modes` (each one
/// [`wraps`] takes) and a LINEAR (else NEAREST) filter.
///
/// # Safety
/// The CPU supports AVX2 and FMA. (Every load is inside `t`'s view whatever the inputs.)
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn sample8(
    t: &Texels8,
    reads: &[LevelRead],
    modes: [AddressMode; 2],
    linear: bool,
    x: &[f32; CHUNK],
    y: &[f32; CHUNK],
) -> [[f32; CHUNK]; 4] {
    // SAFETY: `x` is 8 f32s, 32 bytes; `loadu` has no alignment requirement.
    let xv = unsafe { _mm256_loadu_ps(x.as_ptr()) };
    // SAFETY: as for `x`.
    let yv = unsafe { _mm256_loadu_ps(y.as_ptr()) };
    let mut acc = [_mm256_setzero_ps(); 4];
    for read in reads {
        if t.tile_shift == 2 {
            add_level::<true>(t, read, modes, linear, xv, yv, &mut acc);
        } else {
            add_level::<false>(t, read, modes, linear, xv, yv, &mut acc);
        }
    }
    let inv255 = _mm256_set1_ps(1.0 / 255.0);
    let mut out = [[0.0f32; CHUNK]; 4];
    // Memory byte order → R, G, B, A.
    let order: [usize; 4] = if t.bgra { [2, 1, 0, 3] } else { [0, 1, 2, 3] };
    for (dst, &c) in out.iter_mut().zip(&order) {
        let decoded = t.srgb.is_some() && c < 3;
        let value = if decoded {
            acc[c]
        } else {
            _mm256_mul_ps(acc[c], inv255)
        };
        // SAFETY: `dst` is 8 f32s, 32 bytes; `storeu` has no alignment requirement.
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), value) };
    }
    out
}
