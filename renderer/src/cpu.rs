//! What the running CPU offers beyond the x86-64 baseline the crate is built for.
//!
//! Hot lane loops are written once, as plain Rust over arrays of lanes, and built twice:
//! for the baseline (SSE2) and, behind [`has_avx2`], inside a function with
//! `#[target_feature(enable = "avx2,fma")]`, where the compiler uses 8-lane vectors,
//! permutes and blends. Rust never fuses a multiply and an add on its own, so both builds
//! give the same bits. Lane helpers the compiler does not find on its own are written here
//! with the baseline's SSE ([`rows_of_columns`]).

use std::sync::OnceLock;

/// Whether the CPU has AVX2 and FMA (checked once).
pub(crate) fn has_avx2() -> bool {
    static AVX2: OnceLock<bool> = OnceLock::new();
    #[cfg(target_arch = "x86_64")]
    {
        *AVX2.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        *AVX2.get_or_init(|| false)
    }
}

/// Four columns of eight lanes as eight rows of four: `rows[k] = [c0[k], c1[k], c2[k],
/// c3[k]]` — a vertex's four values from the lane arrays of a group of eight. Two 4×4
/// transposes in SSE registers on x86-64 (the compiler does not find them in the loop).
#[inline(always)]
pub(crate) fn rows_of_columns(columns: [&[f32; 8]; 4]) -> [[f32; 4]; 8] {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE is part of the x86-64 baseline, so every x86-64 CPU runs it.
        unsafe { rows_of_columns_sse(columns) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::array::from_fn(|k| columns.map(|c| c[k]))
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse")]
#[inline]
fn rows_of_columns_sse(columns: [&[f32; 8]; 4]) -> [[f32; 4]; 8] {
    use std::arch::x86_64::{
        __m128, _mm_movehl_ps, _mm_movelh_ps, _mm_setr_ps, _mm_unpackhi_ps, _mm_unpacklo_ps,
    };
    let [a, b, c, d] = columns;
    let mut rows = [[0.0f32; 4]; 8];
    for at in [0, 4] {
        let load = |v: &[f32; 8]| (v[at], v[at + 1], v[at + 2], v[at + 3]);
        let (c0, c1, c2, c3) = (load(a), load(b), load(c), load(d));
        let c0 = _mm_setr_ps(c0.0, c0.1, c0.2, c0.3);
        let c1 = _mm_setr_ps(c1.0, c1.1, c1.2, c1.3);
        let c2 = _mm_setr_ps(c2.0, c2.1, c2.2, c2.3);
        let c3 = _mm_setr_ps(c3.0, c3.1, c3.2, c3.3);
        let (t0, t1) = (_mm_unpacklo_ps(c0, c1), _mm_unpacklo_ps(c2, c3));
        let (t2, t3) = (_mm_unpackhi_ps(c0, c1), _mm_unpackhi_ps(c2, c3));
        let out = [
            _mm_movelh_ps(t0, t1),
            _mm_movehl_ps(t1, t0),
            _mm_movelh_ps(t2, t3),
            _mm_movehl_ps(t3, t2),
        ];
        for (row, v) in rows.iter_mut().skip(at).zip(out) {
            // SAFETY: a `__m128` is four f32, as `[f32; 4]` is: plain bits either way.
            *row = unsafe { std::mem::transmute::<__m128, [f32; 4]>(v) };
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    #[test]
    fn rows_of_columns_transposes() {
        let columns: [[f32; 8]; 4] =
            std::array::from_fn(|c| std::array::from_fn(|k| (10 * c + k) as f32));
        let rows = super::rows_of_columns([&columns[0], &columns[1], &columns[2], &columns[3]]);
        for (k, row) in rows.iter().enumerate() {
            assert_eq!(
                *row,
                std::array::from_fn(|c| (10 * c + k) as f32),
                "row {k}"
            );
        }
    }
}
