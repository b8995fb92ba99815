//! Inputs and CPU reference results. Inputs are chosen so the exact answer is representable:
//! saxpy works on small integers and halves, the matrices hold multiples of 1/8 small enough
//! that every partial sum of a 1024-long dot product is exact in f32, whatever the summation
//! order or FMA use — so results are compared for equality, not within a tolerance.

/// saxpy's `a`.
pub const SAXPY_A: f32 = 0.5;

pub fn saxpy_x(i: usize) -> f32 {
    (i % 1024) as f32
}

pub fn saxpy_y0(i: usize) -> f32 {
    (i % 777) as f32
}

/// `y[i]` after saxpy was applied `times` times to the initial `y`.
pub fn saxpy_expected(i: usize, times: usize) -> f32 {
    (f64::from(saxpy_y0(i)) + times as f64 * f64::from(SAXPY_A) * f64::from(saxpy_x(i))) as f32
}

/// Element `i` of the left matrix: k/8 for k in -6..=6.
pub fn sgemm_a(i: usize) -> f32 {
    ((i * 7 % 13) as f32 - 6.0) / 8.0
}

/// Element `i` of the right matrix: k/8 for k in -5..=5.
pub fn sgemm_b(i: usize) -> f32 {
    ((i * 5 % 11) as f32 - 5.0) / 8.0
}

/// `C[row][col]` of the n×n row-major product, exact.
pub fn sgemm_element(n: usize, row: usize, col: usize) -> f32 {
    let sum: f64 = (0..n)
        .map(|k| f64::from(sgemm_a(row * n + k)) * f64::from(sgemm_b(k * n + col)))
        .sum();
    sum as f32
}

/// `count` (row, col) positions to check in an n×n result: the four corners, then spread
/// pseudo-randomly (a fixed LCG, so every run checks the same places).
pub fn sample_points(n: usize, count: usize) -> Vec<(usize, usize)> {
    let last = n.saturating_sub(1);
    let mut points = vec![(0, 0), (0, last), (last, 0), (last, last)];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    while points.len() < count.max(4) {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let r = (state >> 33) as usize;
        points.push((r % n.max(1), (r / n.max(1)) % n.max(1)));
    }
    points
}

/// Element `i` of the reduction's input: a 16-bit hash of i.
pub fn reduce_value(i: usize) -> u32 {
    ((i as u32).wrapping_mul(2_654_435_761) >> 7) & 0xffff
}

/// The wrapping u32 sum of the first n inputs (what the shader computes).
pub fn reduce_sum(n: usize) -> u32 {
    (0..n).fold(0u32, |acc, i| acc.wrapping_add(reduce_value(i)))
}

/// A dispatch grid of at least `groups` workgroups as rows of at most `max_x`: the layout
/// saxpy.comp expects (it indexes `y * rows_width + x` and drops indices past n).
pub fn grid_2d(groups: u32, max_x: u32) -> [u32; 3] {
    let x = groups.min(max_x).max(1);
    [x, groups.div_ceil(x).max(1), 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgemm_reference_matches_f32_accumulation_exactly() {
        let n = 1024;
        for (row, col) in sample_points(n, 8) {
            let mut acc = 0.0f32;
            for k in 0..n {
                acc = sgemm_a(row * n + k).mul_add(sgemm_b(k * n + col), acc);
            }
            assert_eq!(acc, sgemm_element(n, row, col), "C[{row}][{col}]");
        }
    }

    #[test]
    fn saxpy_values_stay_exact_after_many_applications() {
        let i = 1023;
        let mut y = saxpy_y0(i);
        for _ in 0..100 {
            y = SAXPY_A.mul_add(saxpy_x(i), y);
        }
        assert_eq!(y, saxpy_expected(i, 100));
        assert_ne!(saxpy_expected(i, 1), saxpy_expected(i, 2));
    }

    #[test]
    fn sample_points_cover_corners_and_stay_in_range() {
        let p = sample_points(100, 50);
        assert_eq!(p.len(), 50);
        assert!(p.contains(&(99, 99)) && p.contains(&(0, 99)));
        assert!(p.iter().all(|&(r, c)| r < 100 && c < 100));
    }

    #[test]
    fn grid_covers_every_group_within_the_row_limit() {
        let [x, y, z] = grid_2d(65536, 65535);
        assert!(x <= 65535 && u64::from(x) * u64::from(y) >= 65536 && z == 1);
        assert_eq!(grid_2d(3, 65535), [3, 1, 1]);
    }

    #[test]
    fn reduce_sum_wraps_like_u32_addition() {
        let n = 200_000;
        let wide: u64 = (0..n).map(|i| u64::from(reduce_value(i))).sum();
        assert!(
            wide > u64::from(u32::MAX),
            "the sum must wrap for this test to mean anything"
        );
        assert_eq!(reduce_sum(n), wide as u32);
    }
}
