//! Rasterizing one set-up triangle inside one tile: block row by block row, 4×2-pixel blocks
//! (two 2×2 quads, W = 8 lanes), handed to the sink as [`FragmentRun`]s.
//!
//! Per block row, the three edge equations give a conservative interval of blocks that can be
//! covered, so the empty part of the bounding box is never visited; a row segment wholly
//! inside all three edges is accepted without per-lane tests; a small triangle (a box of at
//! most 2×4 blocks) skips all that, one 16-lane step per block row ([`small`]). Coverage comes
//! from the exact
//! integer edge values (i32 lanes for small triangles, exact-integer f64 lanes otherwise); the
//! per-lane depth, 1/w and attributes of a run that the sink reads are computed two blocks (16
//! lanes) at a time ([`interpolate`]). Every value is the same bits as a block-by-block
//! evaluation of the same formulas, in every build (portable, AVX2, AVX-512).
//!
//! A sink that takes covered rectangles ([`TileFragments::takes_rects`]) gets the parts of
//! the walk that are wholly inside the triangle on block boundaries as [`CoveredRect`]s
//! instead of runs: a whole walk at once, or the inside part of each block row; and two
//! triangles that are the halves of one axis-aligned rectangle as one
//! ([`TileRaster::rect_pair`]). A sink that takes only rectangles of primitives whose inputs
//! are constant over them ([`TileFragments::takes_shaded_rects`]) gets the same parts, of
//! such triangles, with their inputs. Everything else still goes as runs.

use super::setup::{on_block_grid, RectSetup, TriangleSetup};
use super::sink::{lane_offset, CoveredRect, FragmentRun, TileFragments, RUN_BLOCKS};
use super::{Interpolation, LANES};

mod interpolate;
mod small;
#[cfg(test)]
mod tests;

use interpolate::{RunBuffers, TrianglePlanes};

/// Block size in pixels.
const BLOCK_W: i64 = 4;
const BLOCK_H: i64 = 2;
/// Lanes of one wide step: two blocks, one AVX-512 vector of f32.
const PAIR: usize = 2 * LANES;
/// Walks this narrow (block columns) visit every column of every row: bounding the columns
/// per row would cost more than it saves.
const NARROW_WALK: i64 = 2;
/// Lanes of a row segment.
pub(super) const SEGMENT_LANES: usize = RUN_BLOCKS * LANES;

/// Half-open pixel rectangle of a tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TileBounds {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

/// The instruction set a walk is compiled for, chosen once from the running CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }
}

/// Per-worker rasterizer state, reused across tiles and triangles.
pub(crate) struct TileRaster<'a> {
    /// The draw's interpolation modes (read into `buffers` once).
    interpolation: &'a [Interpolation],
    /// Depth clamp range (`depthClampEnable`), if on.
    depth_range: Option<(f32, f32)>,
    isa: Isa,
    /// Made when a walk first needs them: a tile whose triangles all go to the sink as
    /// covered rectangles never does.
    buffers: Option<Box<RunBuffers>>,
    rows: RowWalk,
}

impl<'a> TileRaster<'a> {
    pub(crate) fn new(interpolation: &'a [Interpolation], depth_range: Option<(f32, f32)>) -> Self {
        Self {
            interpolation,
            depth_range,
            isa: Isa::detect(),
            buffers: None,
            rows: RowWalk::empty(),
        }
    }

    /// Emits every 4×2 block of `tri` with a covered sample inside `tile`, as runs along block
    /// rows; returns how many blocks with a covered sample were emitted.
    /// `arena` holds the triangle's attribute deltas.
    pub(crate) fn triangle<T: TileFragments>(
        &mut self,
        tri: &TriangleSetup,
        arena: &[f32],
        tile: TileBounds,
        out: &mut T,
    ) -> usize {
        let Some(bounds) = BlockWalk::new(tri, tile) else {
            return 0;
        };
        // Small triangles (every edge value of the walked blocks inside i32) take 32-bit
        // lanes: the same integers, so the same coverage and values, at twice the lanes.
        let narrow = bounds.fits_i32(tri);
        self.walk(tri, arena, bounds, narrow, out)
    }

    /// Two triangles that are the halves of one axis-aligned rectangle
    /// ([`super::setup::HalfRect::pair`]),
    /// handed to `out` as one [`CoveredRect`] where their pixels inside `tile` are one on
    /// block boundaries and `out` takes it; returns the blocks, or `None` (nothing done:
    /// rasterize them one by one).
    /// A sink that takes only rectangles of primitives with constant inputs
    /// ([`TileFragments::covered_rect_shaded`]) gets them where both halves' attributes
    /// (in `arena`) are the same constants.
    pub(crate) fn rect_pair<T: TileFragments>(
        &mut self,
        first: &TriangleSetup,
        second: &TriangleSetup,
        arena: &[f32],
        tile: TileBounds,
        out: &mut T,
    ) -> Option<usize> {
        let (Some(a), Some(b)) = (&first.half_rect, &second.half_rect) else {
            return None;
        };
        if first.front_facing != second.front_facing {
            return None;
        }
        let [x0, y0, x1, y1] = a.pair(b)?;
        // Each half spans the whole rectangle, so its bounds are the rectangle's clipped to
        // the scissor and framebuffer.
        let x_lo = x0.max(first.min_x.into()).max(tile.x0.into());
        let y_lo = y0.max(first.min_y.into()).max(tile.y0.into());
        let x_hi = x1.min(first.max_x.into()).min(i64::from(tile.x1) - 1);
        let y_hi = y1.min(first.max_y.into()).min(i64::from(tile.y1) - 1);
        if x_lo > x_hi || y_lo > y_hi {
            return Some(0);
        }
        let (rect, aligned) = covered_rect_of(
            [x_lo, y_lo, x_hi, y_hi],
            first.front_facing,
            first.primitive,
        )?;
        if !aligned {
            return None;
        }
        let taken = if out.takes_rects() {
            out.covered_rect(&rect)
        } else if out.takes_shaded_rects() {
            let components = self.interpolation.len();
            let inputs = constant_inputs(first, arena, components)?;
            let same = constant_inputs(second, arena, components).is_some_and(|other| {
                other
                    .iter()
                    .zip(inputs)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            });
            same && out.covered_rect_shaded(&rect, inputs)
        } else {
            false
        };
        taken.then(|| rect.blocks())
    }

    /// A [`RectSetup`]'s pixels inside `tile`, every fragment carrying `values`, handed to
    /// `out` as one [`CoveredRect`] where it takes it; returns the blocks, or `None` (nothing
    /// done: rasterize its triangles).
    pub(crate) fn rect<T: TileFragments>(
        &mut self,
        rect: &RectSetup,
        values: &[f32],
        tile: TileBounds,
        out: &mut T,
    ) -> Option<usize> {
        let x_lo = rect.min_x.max(tile.x0);
        let y_lo = rect.min_y.max(tile.y0);
        let x_hi = rect.max_x.min(tile.x1 - 1);
        let y_hi = rect.max_y.min(tile.y1 - 1);
        if x_lo > x_hi || y_lo > y_hi {
            return Some(0);
        }
        let (covered, aligned) = covered_rect_of(
            [x_lo, y_lo, x_hi, y_hi].map(i64::from),
            rect.front_facing,
            rect.primitives[0],
        )?;
        let taken = aligned
            && if out.takes_rects() {
                out.covered_rect(&covered)
            } else {
                out.takes_shaded_rects() && out.covered_rect_shaded(&covered, values)
            };
        taken.then(|| covered.blocks())
    }

    /// [`Self::triangle`] always on the wide (f64) edge lanes, for tests.
    #[cfg(test)]
    fn triangle_wide<T: TileFragments>(
        &mut self,
        tri: &TriangleSetup,
        arena: &[f32],
        tile: TileBounds,
        out: &mut T,
    ) -> usize {
        match BlockWalk::new(tri, tile) {
            Some(bounds) => self.walk(tri, arena, bounds, false, out),
            None => 0,
        }
    }

    /// Walks `bounds` in the build chosen for this CPU.
    fn walk<T: TileFragments>(
        &mut self,
        tri: &TriangleSetup,
        arena: &[f32],
        bounds: BlockWalk,
        narrow: bool,
        out: &mut T,
    ) -> usize {
        match self.isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `isa` is Avx512 only where the running CPU reports AVX-512 F, BW, DQ and
            // VL (`Isa::detect`, or a test that checked the same).
            Isa::Avx512 => unsafe { self.walk_avx512(tri, arena, bounds, narrow, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `isa` is Avx2 only where the running CPU reports AVX2.
            Isa::Avx2 => unsafe { self.walk_avx2(tri, arena, bounds, narrow, out) },
            Isa::Portable => self.walk_portable(tri, arena, bounds, narrow, out),
        }
    }

    /// [`Self::walk_portable`] compiled for AVX-512 (16 f32 lanes per instruction). Rust
    /// never contracts `a * b + c` into an FMA, so the results are the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    fn walk_avx512<T: TileFragments>(
        &mut self,
        tri: &TriangleSetup,
        arena: &[f32],
        bounds: BlockWalk,
        narrow: bool,
        out: &mut T,
    ) -> usize {
        self.walk_portable(tri, arena, bounds, narrow, out)
    }

    /// [`Self::walk_portable`] compiled for AVX2 (8 f32 lanes per instruction).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn walk_avx2<T: TileFragments>(
        &mut self,
        tri: &TriangleSetup,
        arena: &[f32],
        bounds: BlockWalk,
        narrow: bool,
        out: &mut T,
    ) -> usize {
        self.walk_portable(tri, arena, bounds, narrow, out)
    }

    /// Hands every run of the walk to `out`; returns the blocks with a covered lane.
    #[inline(always)]
    fn walk_portable<T: TileFragments>(
        &mut self,
        tri: &TriangleSetup,
        arena: &[f32],
        bounds: BlockWalk,
        narrow: bool,
        out: &mut T,
    ) -> usize {
        let small = narrow && bounds.is_small();
        // How covered rectangles go to the sink: whole, with the triangle's inputs where it
        // takes only those of primitives with constant inputs, or not at all.
        let taking = if out.takes_rects() {
            Some(None)
        } else if out.takes_shaded_rects() {
            constant_inputs(tri, arena, self.interpolation.len()).map(Some)
        } else {
            None
        };
        let rects = taking.is_some();
        if !small {
            self.rows.reset(tri, bounds, narrow);
            // A walk wholly inside the triangle on block boundaries (most tiles of a large
            // triangle) goes to the sink as one rectangle, where it takes it.
            if let (Some(rect), Some(inputs)) = (self.rows.covered_rect(tri), taking) {
                if offer_rect(out, &rect, inputs) {
                    return rect.blocks();
                }
            }
            self.rows.prepare_rows(tri);
            self.rows.split = rects;
        }
        let planes = TrianglePlanes::new(tri, self.depth_range);
        let prefill = usize::try_from(bounds.blocks_x).unwrap_or(RUN_BLOCKS);
        let interpolation = self.interpolation;
        let buffers = self
            .buffers
            .get_or_insert_with(|| RunBuffers::new(interpolation));
        buffers.start_triangle(tri, arena, prefill, out.needs());
        if small {
            return buffers.small_walk(tri, &bounds, &planes, out);
        }
        let mut emitted = 0;
        loop {
            let mut taker = taking.map(|inputs| (&mut *out, inputs));
            let Some(run) = buffers.next_run(&mut self.rows, &planes, &mut taker, &mut emitted)
            else {
                break;
            };
            emitted += run.masks.iter().filter(|&&m| m != 0).count();
            out.run(&run);
        }
        emitted
    }
}

/// The [`CoveredRect`] of the inclusive pixel bounds `[x_lo, y_lo, x_hi, y_hi]` (non-empty,
/// non-negative) and whether its sides lie on the 4×2 block grid; `None` outside `u32`.
fn covered_rect_of(
    [x_lo, y_lo, x_hi, y_hi]: [i64; 4],
    front_facing: bool,
    primitive: u32,
) -> Option<(CoveredRect, bool)> {
    let aligned = on_block_grid([x_lo, y_lo, x_hi, y_hi]);
    let at = |v: i64| u32::try_from(v).ok();
    let rect = CoveredRect {
        x0: at(x_lo)?,
        y0: at(y_lo)?,
        x1: at(x_hi + 1)?,
        y1: at(y_hi + 1)?,
        front_facing,
        primitive,
    };
    Some((rect, aligned))
}

/// Hands `rect` to `out` whole: as a plain rectangle, or with `inputs`, the primitive's
/// inputs constant over it ([`TileFragments::covered_rect_shaded`]). False where the sink
/// declines it.
#[inline(always)]
fn offer_rect<T: TileFragments>(out: &mut T, rect: &CoveredRect, inputs: Option<&[f32]>) -> bool {
    match inputs {
        None => out.covered_rect(rect),
        Some(inputs) => out.covered_rect_shaded(rect, inputs),
    }
}

impl RunBuffers {
    /// Walks on to the next row segment with a covered block, computes its lanes and returns
    /// it as a run; `None` when the walk is done.
    /// With `rects`, a segment wholly inside the triangle and the walk's rectangle goes to
    /// that sink as a one-block-row [`CoveredRect`] (with the inputs given beside it, see
    /// [`offer_rect`]) where it takes it (its blocks counted in `emitted`).
    #[inline(always)]
    fn next_run<'s, T: TileFragments>(
        &'s mut self,
        walk: &mut RowWalk,
        planes: &TrianglePlanes,
        rects: &mut Option<(&mut T, Option<&[f32]>)>,
        emitted: &mut usize,
    ) -> Option<FragmentRun<'s>> {
        loop {
            let (start, end) = walk.next_segment()?;
            let blocks = (end - start + 1) as usize;
            let accepted = walk.segment_inside(start, end);
            if let (true, Some((out, inputs))) = (accepted, rects.as_mut()) {
                let rect = walk.segment_rect(start, end, planes.front_facing, planes.primitive);
                if rect.is_some_and(|r| offer_rect(*out, &r, *inputs)) {
                    *emitted += blocks;
                    continue;
                }
            }
            let covered = if walk.narrow {
                self.segment_coverage::<i32>(walk, start, blocks, accepted)
            } else {
                self.segment_coverage::<f64>(walk, start, blocks, accepted)
            };
            let Some((first, count)) = covered else {
                continue;
            };
            let x = walk.bounds.bx0 + BLOCK_W * (start + first as i64);
            return Some(self.interpolate(planes, first, count, x, walk.by));
        }
    }

    /// Coverage masks and edge values of `blocks` blocks of the current row from block column
    /// `start`, two blocks (16 lanes) at a time in `V` lanes, an odd last block alone; returns
    /// the first block with a covered lane and how many blocks reach to the last one.
    #[inline(always)]
    fn segment_coverage<V: EdgeLane>(
        &mut self,
        walk: &RowWalk,
        start: i64,
        blocks: usize,
        accepted: bool,
    ) -> Option<(usize, usize)> {
        if accepted && !self.reads_edges() {
            // Every lane inside every edge and no edge value wanted: the masks are all that
            // `coverage_step` would write (every lane covered).
            self.masks.get_mut(..blocks)?.fill(u8::MAX);
        } else {
            let offsets = V::offsets(walk);
            for pair in 0..blocks / 2 {
                self.coverage_step::<V, PAIR>(walk, offsets, start, 2 * pair, accepted);
            }
            if blocks % 2 == 1 {
                self.coverage_step::<V, LANES>(walk, offsets, start, blocks - 1, accepted);
            }
        }
        let masks = self.masks.get_mut(..blocks)?;
        walk.bounds_masks(masks, start);
        let first = masks.iter().position(|&m| m != 0)?;
        let last = masks.iter().rposition(|&m| m != 0).unwrap_or(first);
        Some((first, last - first + 1))
    }

    /// [`Self::segment_coverage`] of the `N / 8` blocks from segment slot `slot`.
    #[inline(always)]
    fn coverage_step<V: EdgeLane, const N: usize>(
        &mut self,
        walk: &RowWalk,
        offsets: &[[V; PAIR]; 3],
        start: i64,
        slot: usize,
        accepted: bool,
    ) {
        let column = start + slot as i64;
        let base: [V; 3] =
            std::array::from_fn(|k| V::from_i64(walk.row[k] + walk.step_x4[k] * column));
        let reads_edges = self.reads_edges();
        let [e1, e2] = &mut self.edges;
        let (Some(e1), Some(e2)) = (lanes_mut::<f32, N>(e1, slot), lanes_mut::<f32, N>(e2, slot))
        else {
            return;
        };
        // The barycentric numerators as f32, straight into the buffers the interpolation
        // reads (a temporary would make the wide path split into narrow stores); not needed
        // where the sink reads no interpolated value.
        if reads_edges {
            for l in 0..N {
                e1[l] = base[1].add(offsets[1][l]).to_f32();
                e2[l] = base[2].add(offsets[2][l]).to_f32();
            }
        }
        let covered = if accepted {
            u32::MAX
        } else {
            let mut mask = 0u32;
            // Indexed, like the loop above: the three offset rows are read in step.
            #[allow(clippy::needless_range_loop)]
            for l in 0..N {
                let any = base[0]
                    .add(offsets[0][l])
                    .or(base[1].add(offsets[1][l]))
                    .or(base[2].add(offsets[2][l]));
                mask |= any.non_negative_bit() << l;
            }
            mask
        };
        for (i, mask) in self.masks.iter_mut().skip(slot).take(N / LANES).enumerate() {
            *mask = (covered >> (LANES * i)) as u8;
        }
    }
}

/// A triangle's attribute values where every one is the same at its three vertices (the
/// deltas `[a1 - a0; C] [a2 - a0; C]` after `[a0; C]` in `arena` all zero: flat components,
/// or equal vertex values), so that every interpolation mode gives exactly `a0` everywhere.
fn constant_inputs<'a>(
    tri: &TriangleSetup,
    arena: &'a [f32],
    components: usize,
) -> Option<&'a [f32]> {
    let values = arena.get(tri.attributes..tri.attributes.checked_add(3 * components)?)?;
    let (a0, deltas) = values.split_at(components);
    deltas.iter().all(|&d| d == 0.0).then_some(a0)
}

/// Lanes `8·slot .. 8·slot + N` of a flat lane buffer as an array.
#[inline(always)]
fn lanes_mut<T, const N: usize>(flat: &mut [T], slot: usize) -> Option<&mut [T; N]> {
    let at = slot.checked_mul(LANES)?;
    flat.get_mut(at..at.checked_add(N)?)?.try_into().ok()
}

/// Lanes `8·slot .. 8·slot + N` of a flat lane buffer as an array.
#[inline(always)]
fn lanes<T, const N: usize>(flat: &[T], slot: usize) -> Option<&[T; N]> {
    let at = slot.checked_mul(LANES)?;
    flat.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The blocks one triangle's walk may visit inside one tile: the 4×2-aligned cover of the
/// triangle's bounding box clipped to the tile.
#[derive(Clone, Copy, Debug)]
struct BlockWalk {
    /// Inclusive pixel bounds (triangle box ∩ tile).
    x_lo: i64,
    x_hi: i64,
    y_lo: i64,
    y_hi: i64,
    /// First block's top-left pixel.
    bx0: i64,
    by0: i64,
    /// Block columns of the walk.
    blocks_x: i64,
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
        let bx0 = x_lo - x_lo.rem_euclid(BLOCK_W);
        Some(BlockWalk {
            x_lo,
            x_hi,
            y_lo,
            y_hi,
            bx0,
            by0: y_lo - y_lo.rem_euclid(BLOCK_H),
            blocks_x: (x_hi - bx0) / BLOCK_W + 1,
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

/// The state of one triangle's walk over one tile: the current block row, the edge values at
/// its first block column, and what is left of the row.
struct RowWalk {
    bounds: BlockWalk,
    narrow: bool,
    /// Top pixel row of the current block row.
    by: i64,
    /// Edge values at the centre of pixel (bx0, by).
    row: [i64; 3],
    /// Change per block column and per block row.
    step_x4: [i64; 3],
    step_y2: [i64; 3],
    /// Largest and smallest change from a block's top-left lane to any of its lanes.
    reach_max: [i64; 3],
    reach_min: [i64; 3],
    /// `1 / |step_x4|` (0 where the edge is horizontal), for the row intervals; unused
    /// (and not computed) for walks of at most [`NARROW_WALK`] block columns.
    inv_step_x4: [f64; 3],
    /// Edge value offsets of the 16 lanes of two neighbouring blocks from the first block's
    /// top-left lane, in the lane type the walk uses (`narrow`: i32, else f64).
    offsets_i32: [[i32; PAIR]; 3],
    offsets_f64: [[f64; PAIR]; 3],
    /// Lanes of the first and last block columns inside the walk's pixel columns.
    first_columns: u8,
    last_columns: u8,
    /// Every lane of every block of the walk is inside all three edges (the walk's box is
    /// trivially accepted): rows need no interval and segments no test.
    inside: bool,
    /// Block columns of the current row still to visit (inclusive).
    rest: Option<(i64, i64)>,
    /// Segments end where the current row's blocks wholly inside the triangle begin and end
    /// ([`Self::inside_row`]), so that those come as segments of their own (for a sink that
    /// takes covered rectangles).
    split: bool,
    /// With `split`: the current row's block columns wholly inside the triangle, if any.
    inside_row: Option<(i64, i64)>,
    /// The walk has begun its first row (the next row change steps down).
    started: bool,
}

impl RowWalk {
    /// A walk with no rows, to be [`RowWalk::reset`].
    fn empty() -> RowWalk {
        RowWalk {
            bounds: BlockWalk {
                x_lo: 0,
                x_hi: -1,
                y_lo: 0,
                y_hi: -1,
                bx0: 0,
                by0: 0,
                blocks_x: 0,
            },
            narrow: true,
            by: 0,
            row: [0; 3],
            step_x4: [0; 3],
            step_y2: [0; 3],
            reach_max: [0; 3],
            reach_min: [0; 3],
            inv_step_x4: [0.0; 3],
            offsets_i32: [[0; PAIR]; 3],
            offsets_f64: [[0.0; PAIR]; 3],
            first_columns: 0,
            last_columns: 0,
            inside: false,
            rest: None,
            split: false,
            inside_row: None,
            started: false,
        }
    }

    /// Starts the walk of `tri` over `bounds`, in i32 lanes if `narrow`.
    #[inline(always)]
    fn reset(&mut self, tri: &TriangleSetup, bounds: BlockWalk, narrow: bool) {
        self.bounds = bounds;
        self.narrow = narrow;
        self.by = bounds.by0;
        self.rest = None;
        self.split = false;
        self.inside_row = None;
        self.started = false;
        self.first_columns = column_mask(bounds.bx0, bounds.x_lo, bounds.x_hi);
        self.last_columns = column_mask(
            bounds.bx0 + BLOCK_W * (bounds.blocks_x - 1),
            bounds.x_lo,
            bounds.x_hi,
        );
        for (k, edge) in tri.edges.iter().enumerate() {
            let (sx, sy) = edge.pixel_steps();
            self.row[k] = edge.at_pixel_centre(bounds.bx0, bounds.by0);
            self.step_x4[k] = sx * BLOCK_W;
            self.step_y2[k] = sy * BLOCK_H;
            self.reach_max[k] = sx.max(0) * (BLOCK_W - 1) + sy.max(0) * (BLOCK_H - 1);
            self.reach_min[k] = sx.min(0) * (BLOCK_W - 1) + sy.min(0) * (BLOCK_H - 1);
        }
        self.inside = self.box_inside();
    }

    /// Completes [`Self::reset`] for walking the rows: the row intervals' reciprocals and
    /// the lane offsets (not needed where the walk goes to the sink as one rectangle).
    #[inline(always)]
    fn prepare_rows(&mut self, tri: &TriangleSetup) {
        let narrow = self.narrow;
        for (k, edge) in tri.edges.iter().enumerate() {
            let (sx, sy) = edge.pixel_steps();
            if sx != 0 && self.bounds.blocks_x > NARROW_WALK {
                self.inv_step_x4[k] = 1.0 / (self.step_x4[k].abs() as f64);
            }
            if narrow {
                // `fits_i32`: the steps (and every offset, a difference of two edge values of
                // the walk) fit i32.
                let (sx, sy) = (sx as i32, sy as i32);
                for l in 0..PAIR {
                    self.offsets_i32[k][l] = sx
                        .wrapping_mul(LANE_DX[l])
                        .wrapping_add(sy.wrapping_mul(LANE_DY[l]));
                }
            } else {
                // |offset| < 2^40: exact in f64.
                let (sx, sy) = (sx as f64, sy as f64);
                for l in 0..PAIR {
                    self.offsets_f64[k][l] = sx * LANE_DX[l] as f64 + sy * LANE_DY[l] as f64;
                }
            }
        }
    }

    /// The walk's pixel rectangle as a [`CoveredRect`] when every pixel of it is covered
    /// ([`Self::inside`]) and its edges lie on block boundaries (so its blocks are exactly
    /// the rectangle).
    fn covered_rect(&self, tri: &TriangleSetup) -> Option<CoveredRect> {
        let b = &self.bounds;
        let aligned = b.x_lo.rem_euclid(BLOCK_W) == 0
            && (b.x_hi + 1).rem_euclid(BLOCK_W) == 0
            && b.y_lo.rem_euclid(BLOCK_H) == 0
            && (b.y_hi + 1).rem_euclid(BLOCK_H) == 0;
        if !self.inside || !aligned {
            return None;
        }
        let at = |v: i64| u32::try_from(v).ok();
        Some(CoveredRect {
            x0: at(b.x_lo)?,
            y0: at(b.y_lo)?,
            x1: at(b.x_hi + 1)?,
            y1: at(b.y_hi + 1)?,
            front_facing: tri.front_facing,
            primitive: tri.primitive,
        })
    }

    /// Block columns `start..=end` of the current row as a [`CoveredRect`] where no lane of
    /// them lies outside the walk's pixel rectangle (the caller knows they are inside the
    /// triangle).
    #[inline(always)]
    fn segment_rect(
        &self,
        start: i64,
        end: i64,
        front_facing: bool,
        primitive: u32,
    ) -> Option<CoveredRect> {
        let b = &self.bounds;
        let full = row_mask(self.by, b.y_lo, b.y_hi) == u8::MAX
            && (start > 0 || self.first_columns == u8::MAX)
            && (end < b.blocks_x - 1 || self.last_columns == u8::MAX);
        if !full {
            return None;
        }
        let at = |v: i64| u32::try_from(v).ok();
        Some(CoveredRect {
            x0: at(b.bx0 + BLOCK_W * start)?,
            y0: at(self.by)?,
            x1: at(b.bx0 + BLOCK_W * (end + 1))?,
            y1: at(self.by + BLOCK_H)?,
            front_facing,
            primitive,
        })
    }

    /// Whether every lane of every block of the walk is inside all three edges: each edge's
    /// smallest lane value over the walk's blocks (at the corner block where it is lowest)
    /// is ≥ 0. Exact, as [`Self::segment_inside`] is.
    fn box_inside(&self) -> bool {
        let b = &self.bounds;
        let last_row = (b.y_hi.max(b.by0) - b.by0) / BLOCK_H;
        (0..3).all(|k| {
            // |row| < 2^51, |steps| < 2^36, block counts < 2^16: no overflow in i64.
            let across = (self.step_x4[k] * (b.blocks_x - 1)).min(0);
            let down = (self.step_y2[k] * last_row).min(0);
            self.row[k] + across + down + self.reach_min[k] >= 0
        })
    }

    /// The next segment of at most [`RUN_BLOCKS`] block columns of the current row that may
    /// hold a covered block, moving to later rows as needed; `None` past the last row.
    #[inline(always)]
    fn next_segment(&mut self) -> Option<(i64, i64)> {
        loop {
            if let Some((start, end)) = self.rest {
                let mut stop = end.min(start + RUN_BLOCKS as i64 - 1);
                if let Some((a, b)) = self.inside_row {
                    if start < a {
                        stop = stop.min(a - 1);
                    } else if start <= b {
                        stop = stop.min(b);
                    }
                }
                self.rest = (stop < end).then_some((stop + 1, end));
                return Some((start, stop));
            }
            if self.started {
                self.by += BLOCK_H;
                for k in 0..3 {
                    self.row[k] += self.step_y2[k];
                }
            }
            self.started = true;
            if self.by > self.bounds.y_hi {
                return None;
            }
            self.rest = self.row_interval();
            if self.split && !self.inside {
                self.inside_row = self.inside_interval();
            }
        }
    }

    /// The current row's block columns every lane of which is inside all three edges, within
    /// the walk: column `j` qualifies where each edge's smallest lane value,
    /// `row + reach_min + step_x4·j`, is ≥ 0 (exact integer bounds).
    fn inside_interval(&self) -> Option<(i64, i64)> {
        let (mut lo, mut hi) = (0i64, self.bounds.blocks_x - 1);
        for k in 0..3 {
            let least = self.row[k] + self.reach_min[k];
            let step = self.step_x4[k];
            let inside = |j: i64| least + step * j >= 0;
            // The bound estimated in f64 (`inv_step_x4`, set for walks wider than
            // `NARROW_WALK`, else the whole row is tried), then moved to the exact integer.
            let estimate = |j: f64| (j as i64).clamp(-1, self.bounds.blocks_x);
            if step > 0 {
                // least + step·j ≥ 0  ⇔  j ≥ ⌈−least / step⌉
                let mut j = estimate((-least) as f64 * self.inv_step_x4[k]);
                while j > lo && inside(j - 1) {
                    j -= 1;
                }
                while j <= hi && !inside(j) {
                    j += 1;
                }
                lo = lo.max(j);
            } else if step < 0 {
                // least − |step|·j ≥ 0  ⇔  j ≤ ⌊least / |step|⌋
                let mut j = estimate(least as f64 * self.inv_step_x4[k]);
                while j < hi && inside(j + 1) {
                    j += 1;
                }
                while j >= lo && !inside(j) {
                    j -= 1;
                }
                hi = hi.min(j);
            } else if least < 0 {
                return None;
            }
        }
        (lo <= hi).then_some((lo, hi))
    }

    /// A conservative interval of the current row's block columns that may hold a covered
    /// lane, within the walk; `None` if none can.
    ///
    /// Block column `j` can be covered only if every edge's largest lane value,
    /// `row + reach_max + step_x4·j`, is ≥ 0. That bounds `j` from below where the edge
    /// rises to the right and from above where it falls; the bound is computed in f64 and
    /// rounded outwards (its error is far below one block for any `j` near the walk), so no
    /// block with coverage is ever left out.
    #[inline(always)]
    fn row_interval(&self) -> Option<(i64, i64)> {
        let (mut lo, mut hi) = (0i64, self.bounds.blocks_x - 1);
        if self.bounds.blocks_x <= NARROW_WALK || self.inside {
            return Some((lo, hi));
        }
        for k in 0..3 {
            let reach = self.row[k] + self.reach_max[k];
            let step = self.step_x4[k];
            if step > 0 {
                let at = (-reach) as f64 * self.inv_step_x4[k];
                lo = lo.max(at.floor() as i64);
            } else if step < 0 {
                let at = reach as f64 * self.inv_step_x4[k];
                hi = hi.min(at.ceil() as i64);
            } else if reach < 0 {
                return None;
            }
        }
        (lo <= hi).then_some((lo, hi))
    }

    /// True when every lane of block columns `start..=end` of the current row is inside all
    /// three edges (exact: each edge's smallest lane value over the segment is ≥ 0).
    #[inline(always)]
    fn segment_inside(&self, start: i64, end: i64) -> bool {
        self.inside
            || (0..3).all(|k| {
                let step = self.step_x4[k];
                let column = if step > 0 { start } else { end };
                self.row[k] + step * column + self.reach_min[k] >= 0
            })
    }

    /// Clears the lanes outside the walk's pixel rectangle (triangle box ∩ tile) in the masks
    /// of the block columns from `start`: only the first and last column and the first and
    /// last row can reach outside it.
    #[inline(always)]
    fn bounds_masks(&self, masks: &mut [u8], start: i64) {
        let b = &self.bounds;
        let rows = row_mask(self.by, b.y_lo, b.y_hi);
        let last = b.blocks_x - 1;
        let end = start + masks.len() as i64 - 1;
        let first_inside = start > 0 || self.first_columns == u8::MAX;
        let last_inside = end < last || self.last_columns == u8::MAX;
        if rows == u8::MAX && first_inside && last_inside {
            // The row and the segment's columns are wholly inside the rectangle.
            return;
        }
        for (i, mask) in masks.iter_mut().enumerate() {
            let column = start + i as i64;
            if column == 0 {
                *mask &= self.first_columns;
            }
            if column == last {
                *mask &= self.last_columns;
            }
            *mask &= rows;
        }
    }
}

/// Lanes of a block at `bx` whose pixel column lies in `x_lo..=x_hi`.
fn column_mask(bx: i64, x_lo: i64, x_hi: i64) -> u8 {
    // Lanes of pixel columns 0..4: (0, 2), (1, 3), (4, 6), (5, 7).
    const LANES_OF_COLUMN: [u8; 4] = [0b0000_0101, 0b0000_1010, 0b0101_0000, 0b1010_0000];
    let mut mask = 0;
    for (dx, lanes) in LANES_OF_COLUMN.iter().enumerate() {
        let x = bx + dx as i64;
        if x >= x_lo && x <= x_hi {
            mask |= lanes;
        }
    }
    mask
}

/// Lanes of a block at `by` whose pixel row lies in `y_lo..=y_hi`.
fn row_mask(by: i64, y_lo: i64, y_hi: i64) -> u8 {
    let top = if by >= y_lo && by <= y_hi {
        0b0011_0011
    } else {
        0
    };
    let bottom = if by + 1 >= y_lo && by < y_hi {
        0b1100_1100
    } else {
        0
    };
    top | bottom
}

/// Pixel offsets of the 16 lanes of two neighbouring blocks from the first one's top-left
/// pixel.
const LANE_DX: [i32; PAIR] = {
    let mut dx = [0; PAIR];
    let mut l = 0;
    while l < PAIR {
        dx[l] = (l / LANES) as i32 * BLOCK_W as i32 + lane_offset(l % LANES).0 as i32;
        l += 1;
    }
    dx
};
const LANE_DY: [i32; PAIR] = {
    let mut dy = [0; PAIR];
    let mut l = 0;
    while l < PAIR {
        dy[l] = lane_offset(l % LANES).1 as i32;
        l += 1;
    }
    dy
};

/// An edge function value in one lane, exact: i32 when [`BlockWalk::fits_i32`] says so, else
/// f64 (the setup bounds every value below 2^51, so sums of them are exact integers, and never
/// -0.0). Converting either to f32 rounds the same integer to nearest, so both give the bits
/// an i64 evaluation would.
trait EdgeLane: Copy {
    fn offsets(walk: &RowWalk) -> &[[Self; PAIR]; 3];
    fn from_i64(v: i64) -> Self;
    fn add(self, other: Self) -> Self;
    /// Bitwise OR of the representations: the sign bit is set where either is negative.
    fn or(self, other: Self) -> Self;
    /// 1 when the value is ≥ 0, else 0 (the complemented sign bit).
    fn non_negative_bit(self) -> u32;
    fn to_f32(self) -> f32;
}

impl EdgeLane for i32 {
    fn offsets(walk: &RowWalk) -> &[[i32; PAIR]; 3] {
        &walk.offsets_i32
    }
    fn from_i64(v: i64) -> Self {
        // Callers check the range first (`fits_i32`).
        v as i32
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    #[inline(always)]
    fn or(self, other: Self) -> Self {
        self | other
    }
    #[inline(always)]
    fn non_negative_bit(self) -> u32 {
        (!self as u32) >> 31
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self as f32
    }
}

impl EdgeLane for f64 {
    fn offsets(walk: &RowWalk) -> &[[f64; PAIR]; 3] {
        &walk.offsets_f64
    }
    fn from_i64(v: i64) -> Self {
        // |v| < 2^53 (setup bounds): exact.
        v as f64
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        self + other
    }
    #[inline(always)]
    fn or(self, other: Self) -> Self {
        f64::from_bits(self.to_bits() | other.to_bits())
    }
    #[inline(always)]
    fn non_negative_bit(self) -> u32 {
        (!self.to_bits() >> 63) as u32
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self as f32
    }
}

/// Lanes of the block at (bx, by) whose pixel lies in the inclusive rectangle.
#[cfg(test)]
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
