//! Rasterizing one set-up triangle inside one tile, 4×2 pixels (two 2×2 quads, W = 8 lanes)
//! at a time: coverage from the three edge functions in i64, screen-space barycentrics,
//! depth, perspective-correct / noperspective / flat attributes.

use super::setup::TriangleSetup;
use super::sink::{lane_offset, FragmentBatch, TileFragments};
use super::{Interpolation, LANES};

/// Block size in pixels.
const BLOCK_W: i64 = 4;
const BLOCK_H: i64 = 2;

/// Half-open pixel rectangle of a tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TileBounds {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

/// Per-worker rasterizer state, reused across tiles and triangles.
pub(crate) struct TileRaster<'a> {
    interpolation: &'a [Interpolation],
    /// Depth clamp range (`depthClampEnable`), if on.
    depth_range: Option<(f32, f32)>,
    attributes: Vec<[f32; LANES]>,
}

impl<'a> TileRaster<'a> {
    pub(crate) fn new(interpolation: &'a [Interpolation], depth_range: Option<(f32, f32)>) -> Self {
        Self {
            interpolation,
            depth_range,
            attributes: vec![[0.0; LANES]; interpolation.len()],
        }
    }

    /// Emits every 4×2 block of `tri` with a covered sample inside `tile`; returns how many.
    /// `arena` holds the triangle's attribute deltas.
    pub(crate) fn triangle<T: TileFragments>(
        &mut self,
        tri: &TriangleSetup,
        arena: &[f32],
        tile: TileBounds,
        out: &mut T,
    ) -> usize {
        let x_lo = i64::from(tri.min_x.max(tile.x0));
        let x_hi = i64::from(tri.max_x.min(tile.x1 - 1));
        let y_lo = i64::from(tri.min_y.max(tile.y0));
        let y_hi = i64::from(tri.max_y.min(tile.y1 - 1));
        if x_lo > x_hi || y_lo > y_hi {
            return 0;
        }
        let bx0 = x_lo - x_lo.rem_euclid(BLOCK_W);
        let by0 = y_lo - y_lo.rem_euclid(BLOCK_H);

        let mut lane_offsets = [[0i64; LANES]; 3];
        let mut step_x = [0i64; 3];
        let mut step_y = [0i64; 3];
        let mut row = [0i64; 3];
        for (k, edge) in tri.edges.iter().enumerate() {
            let (sx, sy) = edge.pixel_steps();
            for (lane, offset) in lane_offsets[k].iter_mut().enumerate() {
                let (dx, dy) = lane_offset(lane);
                *offset = sx * i64::from(dx) + sy * i64::from(dy);
            }
            step_x[k] = sx * BLOCK_W;
            step_y[k] = sy * BLOCK_H;
            row[k] = edge.at_pixel_centre(bx0, by0);
        }

        let mut emitted = 0;
        let mut by = by0;
        while by <= y_hi {
            let mut e = row;
            let mut bx = bx0;
            while bx <= x_hi {
                let mut values = [[0i64; LANES]; 3];
                let mut mask = 0u8;
                for lane in 0..LANES {
                    for k in 0..3 {
                        values[k][lane] = e[k] + lane_offsets[k][lane];
                    }
                    // Covered where all three are >= 0: the OR has no sign bit.
                    let inside = (values[0][lane] | values[1][lane] | values[2][lane]) >= 0;
                    mask |= u8::from(inside) << lane;
                }
                if mask != 0 {
                    mask &= bounds_mask(bx, by, x_lo, x_hi, y_lo, y_hi);
                }
                if mask != 0 {
                    self.emit(tri, arena, &values, mask, bx, by, out);
                    emitted += 1;
                }
                for k in 0..3 {
                    e[k] += step_x[k];
                }
                bx += BLOCK_W;
            }
            for k in 0..3 {
                row[k] += step_y[k];
            }
            by += BLOCK_H;
        }
        emitted
    }

    #[allow(clippy::too_many_arguments)]
    fn emit<T: TileFragments>(
        &mut self,
        tri: &TriangleSetup,
        arena: &[f32],
        values: &[[i64; LANES]; 3],
        mask: u8,
        bx: i64,
        by: i64,
        out: &mut T,
    ) {
        let mut linear = [[0.0f32; LANES]; 3];
        let mut perspective = [[0.0f32; LANES]; 3];
        let mut depth = [0.0f32; LANES];
        let mut inv_w = [0.0f32; LANES];
        for lane in 0..LANES {
            let l1 = values[1][lane] as f32 * tri.inv_area2;
            let l2 = values[2][lane] as f32 * tri.inv_area2;
            let l0 = 1.0 - l1 - l2;
            linear[0][lane] = l0;
            linear[1][lane] = l1;
            linear[2][lane] = l2;
            let mut z = tri.z0 + l1 * tri.dz1 + l2 * tri.dz2;
            if let Some((lo, hi)) = self.depth_range {
                z = z.clamp(lo, hi);
            }
            depth[lane] = z;
            let q0 = l0 * tri.inv_w[0];
            let q1 = l1 * tri.inv_w[1];
            let q2 = l2 * tri.inv_w[2];
            inv_w[lane] = q0 + q1 + q2;
            let s = 1.0 / inv_w[lane];
            perspective[1][lane] = q1 * s;
            perspective[2][lane] = q2 * s;
            perspective[0][lane] = 1.0 - perspective[1][lane] - perspective[2][lane];
        }
        let comps = self.interpolation.len();
        let base = tri.attributes;
        for (c, mode) in self.interpolation.iter().enumerate() {
            let a0 = arena.get(base + c).copied().unwrap_or(0.0);
            let d1 = arena.get(base + comps + c).copied().unwrap_or(0.0);
            let d2 = arena.get(base + 2 * comps + c).copied().unwrap_or(0.0);
            let lanes = &mut self.attributes[c];
            let bary = match mode {
                Interpolation::Flat => {
                    *lanes = [a0; LANES];
                    continue;
                }
                Interpolation::Smooth => &perspective,
                Interpolation::NoPerspective => &linear,
            };
            for lane in 0..LANES {
                lanes[lane] = a0 + bary[1][lane] * d1 + bary[2][lane] * d2;
            }
        }
        let point_coord = match &tri.sprite {
            None => [[0.5; LANES]; 2],
            Some(sprite) => {
                // Pixel centres (single sample), relative to the point's upper-left corner.
                let at = |origin: i64, edge: f32, axis: fn((u32, u32)) -> u32| {
                    std::array::from_fn(|lane| {
                        let centre = (origin + i64::from(axis(lane_offset(lane)))) as f32 + 0.5;
                        (centre - edge) * sprite.inv_size
                    })
                };
                [
                    at(bx, sprite.left, |(dx, _)| dx),
                    at(by, sprite.top, |(_, dy)| dy),
                ]
            }
        };
        // Block origins are inside the framebuffer (tile bounds are), so they fit u32.
        let batch = FragmentBatch {
            x: u32::try_from(bx).unwrap_or(0),
            y: u32::try_from(by).unwrap_or(0),
            point_coord,
            mask,
            front_facing: tri.front_facing,
            primitive: tri.primitive,
            depth,
            inv_w,
            barycentric: perspective,
            attributes: &self.attributes,
        };
        out.batch(&batch);
    }
}

/// Lanes of the block at (bx, by) whose pixel lies in the inclusive rectangle.
fn bounds_mask(bx: i64, by: i64, x_lo: i64, x_hi: i64, y_lo: i64, y_hi: i64) -> u8 {
    if bx >= x_lo && bx + BLOCK_W - 1 <= x_hi && by >= y_lo && by + BLOCK_H - 1 <= y_hi {
        return 0xff;
    }
    let mut mask = 0u8;
    for lane in 0..LANES {
        let (dx, dy) = lane_offset(lane);
        let (x, y) = (bx + i64::from(dx), by + i64::from(dy));
        if x >= x_lo && x <= x_hi && y >= y_lo && y <= y_hi {
            mask |= 1 << lane;
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_mask_keeps_only_lanes_inside() {
        assert_eq!(bounds_mask(0, 0, 0, 3, 0, 1), 0xff);
        // Only column 3 (lanes 5 and 7: right quad, right column).
        assert_eq!(bounds_mask(0, 0, 3, 10, 0, 1), (1 << 5) | (1 << 7));
        // Only the top row.
        assert_eq!(bounds_mask(0, 0, 0, 3, 0, 0), 0b0011_0011);
    }
}
