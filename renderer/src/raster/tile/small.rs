//! The walk of a small triangle: a bounding box of at most [`SMALL_COLUMNS`] block columns
//! and [`SMALL_ROWS`] block rows whose edge values fit i32. Each block row is one 16-lane
//! step: no row intervals, no trivial-accept test, no f64; the three edges straight from i32
//! lane offsets, the row's run interpolated as the general walk does it.
//!
//! It hands over exactly the runs of the general walk (every block column of a walk this
//! narrow is visited there too, and the same integers give the same masks and f32 values).

use super::interpolate::{RunBuffers, TrianglePlanes};
use super::{column_mask, row_mask, BlockWalk, BLOCK_H, BLOCK_W, LANE_DX, LANE_DY, PAIR};
use crate::raster::setup::TriangleSetup;
use crate::raster::sink::TileFragments;

/// Most block columns of a small walk: one 16-lane step per row.
const SMALL_COLUMNS: i64 = 2;
/// Most block rows of a small walk.
const SMALL_ROWS: i64 = 4;

impl BlockWalk {
    /// Whether the walk is small enough for [`RunBuffers::small_walk`] (its edge values must
    /// also fit i32: [`BlockWalk::fits_i32`]).
    #[inline(always)]
    pub(super) fn is_small(&self) -> bool {
        self.blocks_x <= SMALL_COLUMNS && self.y_hi - self.by0 < SMALL_ROWS * BLOCK_H
    }
}

impl RunBuffers {
    /// Hands every run of `tri`'s walk over `bounds` to `out`, for a walk that
    /// [`BlockWalk::is_small`] and [`BlockWalk::fits_i32`]; returns the blocks with a covered
    /// lane.
    #[inline(always)]
    pub(super) fn small_walk<T: TileFragments>(
        &mut self,
        tri: &TriangleSetup,
        bounds: &BlockWalk,
        planes: &TrianglePlanes,
        out: &mut T,
    ) -> usize {
        // Edge values at the centre of pixel (bx0, by) and their lane offsets. Every value of
        // a lane inside the walk's blocks fits i32 (`fits_i32`), so the wrapping sums below
        // are the exact integers there; lanes of a second block past a one-column walk may
        // wrap, but their mask bits are cleared and their values never read.
        let mut row = [0i32; 3];
        let mut step_y2 = [0i32; 3];
        let mut offsets = [[0i32; PAIR]; 3];
        for (k, edge) in tri.edges.iter().enumerate() {
            let (sx, sy) = edge.pixel_steps();
            row[k] = edge.at_pixel_centre(bounds.bx0, bounds.by0) as i32;
            let (sx, sy) = (sx as i32, sy as i32);
            step_y2[k] = sy.wrapping_mul(BLOCK_H as i32);
            for l in 0..PAIR {
                offsets[k][l] = sx
                    .wrapping_mul(LANE_DX[l])
                    .wrapping_add(sy.wrapping_mul(LANE_DY[l]));
            }
        }
        let first_columns = column_mask(bounds.bx0, bounds.x_lo, bounds.x_hi);
        let columns = if bounds.blocks_x == 1 {
            u16::from(first_columns)
        } else {
            let last = column_mask(bounds.bx0 + BLOCK_W, bounds.x_lo, bounds.x_hi);
            u16::from(first_columns) | u16::from(last) << 8
        };
        let mut emitted = 0;
        let mut by = bounds.by0;
        while by <= bounds.y_hi {
            let rows = u16::from(row_mask(by, bounds.y_lo, bounds.y_hi));
            let mut covered = 0u32;
            let [e1, e2] = &mut self.edges;
            let (Some(e1), Some(e2)) = (e1.first_chunk_mut::<PAIR>(), e2.first_chunk_mut::<PAIR>())
            else {
                return emitted;
            };
            for l in 0..PAIR {
                let v0 = row[0].wrapping_add(offsets[0][l]);
                let v1 = row[1].wrapping_add(offsets[1][l]);
                let v2 = row[2].wrapping_add(offsets[2][l]);
                e1[l] = v1 as f32;
                e2[l] = v2 as f32;
                covered |= ((!(v0 | v1 | v2) as u32) >> 31) << l;
            }
            let mask = covered as u16 & columns & (rows | rows << 8);
            let y = by;
            by += BLOCK_H;
            for k in 0..3 {
                row[k] = row[k].wrapping_add(step_y2[k]);
            }
            if mask == 0 {
                continue;
            }
            let (left, right) = (mask as u8, (mask >> 8) as u8);
            self.masks[0] = left;
            self.masks[1] = right;
            let first = usize::from(left == 0);
            let count = 1 + usize::from(left != 0 && right != 0);
            emitted += count;
            let x = bounds.bx0 + BLOCK_W * first as i64;
            out.run(&self.interpolate(planes, first, count, x, y));
        }
        emitted
    }
}
