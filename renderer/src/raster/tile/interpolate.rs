//! The per-lane values of a run: depth, 1/w, attributes (perspective-correct through the
//! lane's barycentrics, or screen-linear) and point coordinates, two blocks (16 lanes, one
//! AVX-512 vector of f32) at a time, into buffers reused for every run of a worker. Only what
//! the sink reads ([`FragmentNeeds`]) is computed; the rest stays as an earlier run left it.
//!
//! Per lane, the formulas are exactly those of a block-by-block evaluation (same operations in
//! the same order), so every build and every run length gives the same bits.

use super::{lanes, lanes_mut, PAIR, SEGMENT_LANES};
use crate::raster::setup::{PointSprite, TriangleSetup};
use crate::raster::sink::{lane_offset, FragmentNeeds, FragmentRun, RUN_BLOCKS};
use crate::raster::{Interpolation, LANES};

/// One interpolated component's value at vertex 0 and its deltas to vertices 1 and 2.
#[derive(Clone, Copy, Debug)]
struct Plane {
    component: usize,
    a0: f32,
    d1: f32,
    d2: f32,
}

/// What a run's float work needs of its triangle.
pub(super) struct TrianglePlanes {
    inv_area2: f32,
    z0: f32,
    dz1: f32,
    dz2: f32,
    inv_w: [f32; 3],
    depth_range: Option<(f32, f32)>,
    sprite: Option<PointSprite>,
    pub(super) front_facing: bool,
    pub(super) primitive: u32,
}

impl TrianglePlanes {
    pub(super) fn new(tri: &TriangleSetup, depth_range: Option<(f32, f32)>) -> Self {
        Self {
            inv_area2: tri.inv_area2,
            z0: tri.z0,
            dz1: tri.dz1,
            dz2: tri.dz2,
            inv_w: tri.inv_w,
            depth_range,
            sprite: tri.sprite,
            front_facing: tri.front_facing,
            primitive: tri.primitive,
        }
    }
}

/// A worker's buffers for one run: the coverage and edge values of the row segment being
/// walked, and every per-lane value of the run handed to the sink.
pub(super) struct RunBuffers {
    /// Coverage per block column of the segment (then of the run's blocks, from `first`).
    pub(super) masks: [u8; RUN_BLOCKS],
    /// Edge 1 and edge 2 values (unnormalised screen-space barycentrics of vertices 1 and 2)
    /// of every lane of the row segment being walked, as f32.
    pub(super) edges: [[f32; SEGMENT_LANES]; 2],
    depth: [[f32; LANES]; RUN_BLOCKS],
    inv_w: [[f32; LANES]; RUN_BLOCKS],
    /// (0.5, 0.5) everywhere: the point coordinate of lines and triangles.
    centre: [[[f32; LANES]; 2]; RUN_BLOCKS],
    sprite: [[[f32; LANES]; 2]; RUN_BLOCKS],
    /// `RUN_BLOCKS × components`, block-major; flat components are filled once a triangle.
    attributes: Vec<[f32; LANES]>,
    components: usize,
    /// The draw's perspective-correct and screen-linear components, with the current
    /// triangle's planes, and its flat components.
    smooth: Vec<Plane>,
    linear: Vec<Plane>,
    flat: Vec<usize>,
    /// What the current triangle's runs compute (from the sink's needs and the draw's
    /// interpolation modes).
    work: LaneWork,
}

/// The per-lane values a triangle's runs compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LaneWork {
    depth: bool,
    /// 1/w (for `FragCoord.w`, or for the perspective division).
    inv_w: bool,
    /// Perspective-correct barycentrics and the smooth components.
    smooth: bool,
    /// The screen-linear components.
    linear: bool,
}

impl LaneWork {
    fn any(self) -> bool {
        self.depth || self.inv_w || self.linear
    }
}

impl RunBuffers {
    pub(super) fn new(interpolation: &[Interpolation]) -> Box<Self> {
        let components = interpolation.len();
        let planes = |mode: Interpolation| -> Vec<Plane> {
            (0..components)
                .filter(|&c| interpolation[c] == mode)
                .map(|component| Plane {
                    component,
                    a0: 0.0,
                    d1: 0.0,
                    d2: 0.0,
                })
                .collect()
        };
        Box::new(Self {
            masks: [0; RUN_BLOCKS],
            edges: [[0.0; SEGMENT_LANES]; 2],
            depth: [[0.0; LANES]; RUN_BLOCKS],
            inv_w: [[0.0; LANES]; RUN_BLOCKS],
            centre: [[[0.5; LANES]; 2]; RUN_BLOCKS],
            sprite: [[[0.5; LANES]; 2]; RUN_BLOCKS],
            attributes: vec![[0.0; LANES]; RUN_BLOCKS * components],
            components,
            smooth: planes(Interpolation::Smooth),
            linear: planes(Interpolation::NoPerspective),
            flat: (0..components)
                .filter(|&c| interpolation[c] == Interpolation::Flat)
                .collect(),
            work: LaneWork {
                depth: true,
                inv_w: true,
                smooth: true,
                linear: true,
            },
        })
    }

    /// Reads the triangle's attribute planes from `arena` (`[a0; C] [a1 - a0; C] [a2 - a0;
    /// C]` at `tri.attributes`) and fills its flat components into the first `blocks` blocks;
    /// the runs will carry what `needs` asks for.
    pub(super) fn start_triangle(
        &mut self,
        tri: &TriangleSetup,
        arena: &[f32],
        blocks: usize,
        needs: FragmentNeeds,
    ) {
        let smooth = needs.attributes && !self.smooth.is_empty();
        self.work = LaneWork {
            depth: needs.depth,
            inv_w: needs.inv_w || smooth,
            smooth,
            linear: needs.attributes && !self.linear.is_empty(),
        };
        if !needs.attributes {
            return;
        }
        let comps = self.components;
        let base = tri.attributes;
        let value = |i: usize| arena.get(base + i).copied().unwrap_or(0.0);
        for plane in self.smooth.iter_mut().chain(self.linear.iter_mut()) {
            plane.a0 = value(plane.component);
            plane.d1 = value(comps + plane.component);
            plane.d2 = value(2 * comps + plane.component);
        }
        for &component in &self.flat {
            let lanes = [value(component); LANES];
            for block in 0..blocks.min(RUN_BLOCKS) {
                if let Some(out) = self.attributes.get_mut(block * comps + component) {
                    *out = lanes;
                }
            }
        }
    }

    /// Whether the current triangle's runs compute anything from the edge values in
    /// [`Self::edges`].
    #[inline(always)]
    pub(super) fn reads_edges(&self) -> bool {
        self.work.any()
    }

    /// Computes the lanes of the `blocks` blocks from segment column `first` (coverage and
    /// edge values already in the buffers) and returns them as the run at pixel (x, y).
    #[inline(always)]
    pub(super) fn interpolate<'s>(
        &'s mut self,
        planes: &TrianglePlanes,
        first: usize,
        blocks: usize,
        x: i64,
        y: i64,
    ) -> FragmentRun<'s> {
        debug_assert!(blocks >= 1 && first + blocks <= RUN_BLOCKS);
        // Checked once here rather than per step: runs of a sink that reads no lane value
        // (a colour from constants) skip the loops whole.
        if self.work.any() {
            for pair in 0..blocks / 2 {
                self.interpolate_step::<PAIR>(planes, first, 2 * pair);
            }
            if blocks % 2 == 1 {
                self.interpolate_step::<LANES>(planes, first, blocks - 1);
            }
        }
        let p = planes;
        let comps = self.components;
        if let Some(sprite) = &p.sprite {
            for (i, block) in self.sprite.iter_mut().take(blocks).enumerate() {
                *block = sprite_coords(sprite, x + 4 * i as i64, y);
            }
        }
        let point_coord = if p.sprite.is_some() {
            &self.sprite
        } else {
            &self.centre
        };
        let masks = &self.masks[first..first + blocks];
        // Block origins are inside the framebuffer (tile bounds are), so they fit u32.
        FragmentRun {
            x: u32::try_from(x).unwrap_or(0),
            y: u32::try_from(y).unwrap_or(0),
            masks,
            front_facing: p.front_facing,
            primitive: p.primitive,
            depth: &self.depth[..blocks],
            inv_w: &self.inv_w[..blocks],
            point_coord: &point_coord[..blocks],
            components: comps,
            attributes: &self.attributes[..blocks * comps],
        }
    }
}

impl RunBuffers {
    /// The lanes of the `N / 8` run blocks from `slot` (segment column `first + slot`),
    /// written straight into the run's buffers.
    #[inline(always)]
    fn interpolate_step<const N: usize>(&mut self, p: &TrianglePlanes, first: usize, slot: usize) {
        let work = self.work;
        if !work.any() {
            return;
        }
        let comps = self.components;
        let [e1, e2] = &self.edges;
        let (Some(e1), Some(e2)) = (
            lanes::<f32, N>(e1, first + slot),
            lanes::<f32, N>(e2, first + slot),
        ) else {
            return;
        };
        let (Some(depth), Some(inv_w)) = (
            lanes_mut::<f32, N>(self.depth.as_flattened_mut(), slot),
            lanes_mut::<f32, N>(self.inv_w.as_flattened_mut(), slot),
        ) else {
            return;
        };
        let mut l1 = [0.0f32; N];
        let mut l2 = [0.0f32; N];
        let mut p1 = [0.0f32; N];
        let mut p2 = [0.0f32; N];
        let (lo, hi) = p.depth_range.unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
        if work.depth && work.smooth {
            // Everything (the common case) in one pass.
            for l in 0..N {
                l1[l] = e1[l] * p.inv_area2;
                l2[l] = e2[l] * p.inv_area2;
                let l0 = 1.0 - l1[l] - l2[l];
                depth[l] = (p.z0 + l1[l] * p.dz1 + l2[l] * p.dz2).clamp(lo, hi);
                let q0 = l0 * p.inv_w[0];
                let q1 = l1[l] * p.inv_w[1];
                let q2 = l2[l] * p.inv_w[2];
                inv_w[l] = q0 + q1 + q2;
                let s = 1.0 / inv_w[l];
                p1[l] = q1 * s;
                p2[l] = q2 * s;
            }
        } else {
            let (l, q) = ([&mut l1, &mut l2], [&mut p1, &mut p2]);
            partial_lanes::<N>(work, p, [e1, e2], [depth, inv_w], l, q);
        }
        let smooth: &[Plane] = if work.smooth { &self.smooth } else { &[] };
        let linear: &[Plane] = if work.linear { &self.linear } else { &[] };
        for (list, b1, b2) in [(smooth, &p1, &p2), (linear, &l1, &l2)] {
            for &Plane {
                component,
                a0,
                d1,
                d2,
            } in list.iter()
            {
                for half in 0..N / LANES {
                    let at = half * LANES;
                    let Some(out) = self.attributes.get_mut((slot + half) * comps + component)
                    else {
                        continue;
                    };
                    for l in 0..LANES {
                        out[l] = a0 + b1[at + l] * d1 + b2[at + l] * d2;
                    }
                }
            }
        }
    }
}

/// The lanes of [`RunBuffers::interpolate_step`] where not every value is needed: the
/// screen-space barycentrics `l`, and as `work` asks depth, 1/w and the perspective-correct
/// barycentrics `p` (the same formulas).
#[inline(always)]
fn partial_lanes<const N: usize>(
    work: LaneWork,
    p: &TrianglePlanes,
    [e1, e2]: [&[f32; N]; 2],
    [depth, inv_w]: [&mut [f32; N]; 2],
    [l1, l2]: [&mut [f32; N]; 2],
    [p1, p2]: [&mut [f32; N]; 2],
) {
    {
        let (lo, hi) = p.depth_range.unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
        for l in 0..N {
            l1[l] = e1[l] * p.inv_area2;
            l2[l] = e2[l] * p.inv_area2;
        }
        if work.depth {
            for l in 0..N {
                // Clamping to ±∞ changes no value (NaN and -0.0 included).
                depth[l] = (p.z0 + l1[l] * p.dz1 + l2[l] * p.dz2).clamp(lo, hi);
            }
        }
        if work.smooth {
            for l in 0..N {
                let l0 = 1.0 - l1[l] - l2[l];
                let q0 = l0 * p.inv_w[0];
                let q1 = l1[l] * p.inv_w[1];
                let q2 = l2[l] * p.inv_w[2];
                inv_w[l] = q0 + q1 + q2;
                let s = 1.0 / inv_w[l];
                p1[l] = q1 * s;
                p2[l] = q2 * s;
            }
        } else if work.inv_w {
            for l in 0..N {
                let l0 = 1.0 - l1[l] - l2[l];
                inv_w[l] = l0 * p.inv_w[0] + l1[l] * p.inv_w[1] + l2[l] * p.inv_w[2];
            }
        }
    }
}

/// `PointCoord` of the lanes of the block at (bx, by): pixel centres (single sample),
/// relative to the point's upper-left corner, over its size.
fn sprite_coords(sprite: &PointSprite, bx: i64, by: i64) -> [[f32; LANES]; 2] {
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
