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
    /// The CPU has AVX2: triangles are walked in the AVX2 build of the walk.
    avx2: bool,
}

impl<'a> TileRaster<'a> {
    pub(crate) fn new(interpolation: &'a [Interpolation], depth_range: Option<(f32, f32)>) -> Self {
        Self {
            interpolation,
            depth_range,
            attributes: vec![[0.0; LANES]; interpolation.len()],
            #[cfg(target_arch = "x86_64")]
            avx2: std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            avx2: false,
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
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only where the running CPU reports AVX2 (`new`).
            return unsafe { self.triangle_avx2(tri, arena, tile, out) };
        }
        self.triangle_portable(tri, arena, tile, out)
    }

    /// [`Self::triangle`] compiled for AVX2 (8 i32 / f32 lanes per instruction). Rust never
    /// contracts `a * b + c` into an FMA, so the results are the same bits as portably.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn triangle_avx2<T: TileFragments>(
        &mut self,
        tri: &TriangleSetup,
        arena: &[f32],
        tile: TileBounds,
        out: &mut T,
    ) -> usize {
        self.triangle_portable(tri, arena, tile, out)
    }

    #[inline(always)]
    fn triangle_portable<T: TileFragments>(
        &mut self,
        tri: &TriangleSetup,
        arena: &[f32],
        tile: TileBounds,
        out: &mut T,
    ) -> usize {
        let Some(walk) = BlockWalk::new(tri, tile) else {
            return 0;
        };
        // Small triangles (every edge value of the walked blocks inside i32) take 32-bit
        // lanes: the same integers, so the same coverage, at twice the lanes per vector.
        if walk.fits_i32(tri) {
            self.walk::<i32, T>(tri, arena, &walk, out)
        } else {
            self.walk::<i64, T>(tri, arena, &walk, out)
        }
    }

    /// [`Self::triangle`] always on 64-bit lanes (the reference the 32-bit path must match).
    #[cfg(test)]
    fn triangle_wide<T: TileFragments>(
        &mut self,
        tri: &TriangleSetup,
        arena: &[f32],
        tile: TileBounds,
        out: &mut T,
    ) -> usize {
        match BlockWalk::new(tri, tile) {
            Some(walk) => self.walk::<i64, T>(tri, arena, &walk, out),
            None => 0,
        }
    }

    /// Walks the blocks of `walk` row by row with incremental edge values in `V` lanes.
    #[inline(always)]
    fn walk<V: EdgeLane, T: TileFragments>(
        &mut self,
        tri: &TriangleSetup,
        arena: &[f32],
        walk: &BlockWalk,
        out: &mut T,
    ) -> usize {
        let mut lane_offsets = [[V::default(); LANES]; 3];
        let mut step_x = [V::default(); 3];
        let mut step_y = [V::default(); 3];
        let mut row = [V::default(); 3];
        for (k, edge) in tri.edges.iter().enumerate() {
            let (sx, sy) = edge.pixel_steps();
            for (lane, offset) in lane_offsets[k].iter_mut().enumerate() {
                let (dx, dy) = lane_offset(lane);
                *offset = V::from_i64(sx * i64::from(dx) + sy * i64::from(dy));
            }
            step_x[k] = V::from_i64(sx * BLOCK_W);
            step_y[k] = V::from_i64(sy * BLOCK_H);
            row[k] = V::from_i64(edge.at_pixel_centre(walk.bx0, walk.by0));
        }

        let mut emitted = 0;
        let mut by = walk.by0;
        while by <= walk.y_hi {
            let mut e = row;
            let mut bx = walk.bx0;
            while bx <= walk.x_hi {
                let values: [[V; LANES]; 3] =
                    std::array::from_fn(|k| std::array::from_fn(|l| e[k].add(lane_offsets[k][l])));
                let mut mask = coverage_mask(&values);
                if mask != 0 {
                    mask &= bounds_mask(bx, by, walk.x_lo, walk.x_hi, walk.y_lo, walk.y_hi);
                }
                if mask != 0 {
                    let l1 = values[1].map(V::to_f32);
                    let l2 = values[2].map(V::to_f32);
                    self.emit(tri, arena, [l1, l2], mask, bx, by, out);
                    emitted += 1;
                }
                for k in 0..3 {
                    e[k] = e[k].add(step_x[k]);
                }
                bx += BLOCK_W;
            }
            for k in 0..3 {
                row[k] = row[k].add(step_y[k]);
            }
            by += BLOCK_H;
        }
        emitted
    }

    /// Hands one block to `out`; `edge_values` are edges 1 and 2 at the block's lanes (the
    /// unnormalised screen-space barycentrics of vertices 1 and 2).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn emit<T: TileFragments>(
        &mut self,
        tri: &TriangleSetup,
        arena: &[f32],
        edge_values: [[f32; LANES]; 2],
        mask: u8,
        bx: i64,
        by: i64,
        out: &mut T,
    ) {
        // Lane-wise loops over arrays, so they vectorise; the arithmetic (and so every bit of
        // the result) is the same per lane as a scalar evaluation.
        let mut l0 = [0.0f32; LANES];
        let mut l1 = [0.0f32; LANES];
        let mut l2 = [0.0f32; LANES];
        let mut depth = [0.0f32; LANES];
        let mut inv_w = [0.0f32; LANES];
        let mut p0 = [0.0f32; LANES];
        let mut p1 = [0.0f32; LANES];
        let mut p2 = [0.0f32; LANES];
        for l in 0..LANES {
            l1[l] = edge_values[0][l] * tri.inv_area2;
            l2[l] = edge_values[1][l] * tri.inv_area2;
            l0[l] = 1.0 - l1[l] - l2[l];
            depth[l] = tri.z0 + l1[l] * tri.dz1 + l2[l] * tri.dz2;
            let q0 = l0[l] * tri.inv_w[0];
            let q1 = l1[l] * tri.inv_w[1];
            let q2 = l2[l] * tri.inv_w[2];
            inv_w[l] = q0 + q1 + q2;
            let s = 1.0 / inv_w[l];
            p1[l] = q1 * s;
            p2[l] = q2 * s;
            p0[l] = 1.0 - p1[l] - p2[l];
        }
        if let Some((lo, hi)) = self.depth_range {
            depth = depth.map(|z| z.clamp(lo, hi));
        }
        let comps = self.interpolation.len();
        let base = tri.attributes;
        for (c, mode) in self.interpolation.iter().enumerate() {
            let a0 = arena.get(base + c).copied().unwrap_or(0.0);
            let d1 = arena.get(base + comps + c).copied().unwrap_or(0.0);
            let d2 = arena.get(base + 2 * comps + c).copied().unwrap_or(0.0);
            let Some(lanes) = self.attributes.get_mut(c) else {
                continue;
            };
            let (b1, b2) = match mode {
                Interpolation::Flat => {
                    *lanes = [a0; LANES];
                    continue;
                }
                Interpolation::Smooth => (&p1, &p2),
                Interpolation::NoPerspective => (&l1, &l2),
            };
            *lanes = std::array::from_fn(|l| a0 + b1[l] * d1 + b2[l] * d2);
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
            barycentric: [p0, p1, p2],
            attributes: &self.attributes,
        };
        out.batch(&batch);
    }
}

/// The blocks one triangle's walk visits inside one tile: the 4×2-aligned cover of the
/// triangle's bounding box clipped to the tile.
struct BlockWalk {
    /// Inclusive pixel bounds (triangle box ∩ tile).
    x_lo: i64,
    x_hi: i64,
    y_lo: i64,
    y_hi: i64,
    /// First block's top-left pixel.
    bx0: i64,
    by0: i64,
}

impl BlockWalk {
    fn new(tri: &TriangleSetup, tile: TileBounds) -> Option<BlockWalk> {
        let x_lo = i64::from(tri.min_x.max(tile.x0));
        let x_hi = i64::from(tri.max_x.min(tile.x1 - 1));
        let y_lo = i64::from(tri.min_y.max(tile.y0));
        let y_hi = i64::from(tri.max_y.min(tile.y1 - 1));
        if x_lo > x_hi || y_lo > y_hi {
            return None;
        }
        Some(BlockWalk {
            x_lo,
            x_hi,
            y_lo,
            y_hi,
            bx0: x_lo - x_lo.rem_euclid(BLOCK_W),
            by0: y_lo - y_lo.rem_euclid(BLOCK_H),
        })
    }

    /// True when every edge value the walk reads (any lane of any visited block) fits i32.
    /// Over the walked pixel rectangle (the last block of a row or column may reach 3 / 1
    /// pixels past the box) an edge function is at most `|E(corner)| + |step_x|·w +
    /// |step_y|·h` in magnitude: a cheap, conservative bound.
    fn fits_i32(&self, tri: &TriangleSetup) -> bool {
        let w = self.x_hi.max(self.bx0) + BLOCK_W - 1 - self.bx0;
        let h = self.y_hi.max(self.by0) + BLOCK_H - 1 - self.by0;
        tri.edges.iter().all(|edge| {
            let (sx, sy) = edge.pixel_steps();
            // |E| < 2^51, |steps| < 2^34, w, h < 2^17: no overflow in i64.
            let bound =
                edge.at_pixel_centre(self.bx0, self.by0).abs() + sx.abs() * w + sy.abs() * h;
            bound <= i64::from(i32::MAX)
        })
    }
}

/// An edge function value in one lane: i64 always fits (the setup bounds every value
/// below 2^51); i32 when [`BlockWalk::fits_i32`] says so. Additions wrap: the walk adds a
/// step once past the last block of a row or column, a value it never reads.
trait EdgeLane: Copy + Default {
    fn from_i64(v: i64) -> Self;
    fn add(self, other: Self) -> Self;
    fn or(self, other: Self) -> Self;
    /// 1 when the value is ≥ 0, else 0 (the complemented sign bit).
    fn non_negative_bit(self) -> u32;
    fn to_f32(self) -> f32;
}

impl EdgeLane for i64 {
    fn from_i64(v: i64) -> Self {
        v
    }
    fn add(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    fn or(self, other: Self) -> Self {
        self | other
    }
    fn non_negative_bit(self) -> u32 {
        ((!self as u64) >> 63) as u32
    }
    fn to_f32(self) -> f32 {
        self as f32
    }
}

impl EdgeLane for i32 {
    fn from_i64(v: i64) -> Self {
        // Callers check the range first (`fits_i32`); a value outside it would only be read
        // after a wrapping step past the walk's end, which never happens.
        v as i32
    }
    fn add(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    fn or(self, other: Self) -> Self {
        self | other
    }
    fn non_negative_bit(self) -> u32 {
        (!self as u32) >> 31
    }
    fn to_f32(self) -> f32 {
        // Both conversions round the same integer to nearest: identical to the i64 path.
        self as f32
    }
}

/// Lanes where all three edge values are ≥ 0 (the top-left rule is folded into them): the
/// OR of the three has no sign bit. Written lane-wise so it becomes a vector OR and a sign
/// mask.
#[inline(always)]
fn coverage_mask<V: EdgeLane>(values: &[[V; LANES]; 3]) -> u8 {
    let any: [V; LANES] = std::array::from_fn(|l| values[0][l].or(values[1][l]).or(values[2][l]));
    let mut mask = 0u32;
    for (lane, v) in any.iter().enumerate() {
        mask |= v.non_negative_bit() << lane;
    }
    mask as u8
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

    /// Every batch's fields, bit for bit.
    #[derive(Default)]
    struct Recorder(Vec<(u32, u32, u8, Vec<u32>)>);

    impl TileFragments for Recorder {
        fn batch(&mut self, b: &FragmentBatch<'_>) {
            let mut bits: Vec<u32> = b
                .depth
                .iter()
                .chain(&b.inv_w)
                .map(|v| v.to_bits())
                .collect();
            for lanes in b.barycentric.iter().chain(b.attributes) {
                bits.extend(lanes.iter().map(|v| v.to_bits()));
            }
            self.0.push((b.x, b.y, b.mask, bits));
        }
    }

    #[test]
    fn thirty_two_bit_lanes_match_the_wide_path_on_random_triangles() {
        use crate::raster::setup::{Origin, ScreenVertex, SetupContext, SetupOutcome};
        use crate::raster::{CullMode, DepthResolution, FrontFace};
        let modes = [
            Interpolation::Smooth,
            Interpolation::NoPerspective,
            Interpolation::Flat,
        ];
        let ctx = SetupContext {
            clip_x0: 0,
            clip_y0: 0,
            clip_x1: 256,
            clip_y1: 256,
            cull_mode: CullMode::None,
            front_face: FrontFace::CounterClockwise,
            depth_bias: None,
            depth_resolution: DepthResolution::Float,
            interpolation: &modes,
        };
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let tile = TileBounds {
            x0: 64,
            y0: 64,
            x1: 128,
            y1: 128,
        };
        let (mut narrow, mut total) = (0, 0);
        for n in 0..3000 {
            // Mostly small triangles near the tile, some spanning far beyond it.
            let size = [3.0, 12.0, 40.0, 3000.0][n % 4];
            let (cx, cy) = (60.0 + 72.0 * next(), 60.0 + 72.0 * next());
            let v: [ScreenVertex; 3] = std::array::from_fn(|_| ScreenVertex {
                x: (cx + size * (next() - 0.5)) as f32,
                y: (cy + size * (next() - 0.5)) as f32,
                z: next() as f32,
                inv_w: (0.5 + next()) as f32,
            });
            let attrs: [Vec<f32>; 3] =
                std::array::from_fn(|_| (0..3).map(|_| next() as f32).collect());
            let mut arena = Vec::new();
            let SetupOutcome::Ready(tri) = ctx.triangle(
                v,
                [&attrs[0], &attrs[1], &attrs[2]],
                &attrs[0],
                Origin::Polygon,
                n as u32,
                &mut arena,
            ) else {
                continue;
            };
            total += 1;
            if BlockWalk::new(&tri, tile).is_some_and(|w| w.fits_i32(&tri)) {
                narrow += 1;
            }
            let mut raster = TileRaster::new(&modes, Some((0.25, 0.75)));
            let (mut fast, mut wide) = (Recorder::default(), Recorder::default());
            let a = raster.triangle(&tri, &arena, tile, &mut fast);
            let b = raster.triangle_wide(&tri, &arena, tile, &mut wide);
            assert_eq!(a, b, "triangle {n}: {v:?}");
            assert!(fast.0 == wide.0, "triangle {n}: {v:?}");
        }
        // The fast path was really exercised, and the wide one too.
        assert!(narrow > total / 2 && narrow < total, "{narrow} of {total}");
    }
}
