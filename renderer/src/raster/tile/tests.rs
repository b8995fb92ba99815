//! The run walk against an independent block-by-block reference (every edge value evaluated
//! directly in i64, every lane's formulas in scalar code), in every build the CPU offers.

use super::*;
use crate::raster::setup::{Origin, PointSprite, ScreenVertex, SetupContext, SetupOutcome};
use crate::raster::sink::{FragmentBatch, FragmentNeeds};
use crate::raster::{CullMode, DepthResolution, FrontFace};

#[test]
fn bounds_mask_keeps_only_lanes_inside() {
    assert_eq!(bounds_mask(0, 0, 0, 3, 0, 1), 0xff);
    // Only column 3 (lanes 5 and 7: right quad, right column).
    assert_eq!(bounds_mask(0, 0, 3, 10, 0, 1), (1 << 5) | (1 << 7));
    // Only the top row.
    assert_eq!(bounds_mask(0, 0, 0, 3, 0, 0), 0b0011_0011);
}

/// One emitted block, every value as bits.
#[derive(Clone, Debug, PartialEq)]
struct Block {
    x: u32,
    y: u32,
    mask: u8,
    bits: Vec<u32>,
}

fn block_of(b: &FragmentBatch<'_>) -> Block {
    let mut bits: Vec<u32> = b
        .depth
        .iter()
        .chain(&b.inv_w)
        .map(|v| v.to_bits())
        .collect();
    for lanes in b.attributes.iter().chain(&b.point_coord) {
        bits.extend(lanes.iter().map(|v| v.to_bits()));
    }
    Block {
        x: b.x,
        y: b.y,
        mask: b.mask,
        bits,
    }
}

/// Every run as handed over (zero-mask blocks included), and each run's shape.
#[derive(Default)]
struct RunRecorder {
    runs: Vec<Vec<Block>>,
}

impl RunRecorder {
    /// The blocks with a covered lane, in order: what per-block delivery would give.
    fn covered(&self) -> Vec<Block> {
        self.runs
            .iter()
            .flatten()
            .filter(|b| b.mask != 0)
            .cloned()
            .collect()
    }
}

impl TileFragments for RunRecorder {
    fn batch(&mut self, _: &FragmentBatch<'_>) {
        panic!("the tile rasterizer hands over runs");
    }

    fn run(&mut self, run: &FragmentRun<'_>) {
        let blocks: Vec<Block> = (0..run.blocks())
            .map(|i| block_of(&run.batch(i).expect("block inside the run")))
            .collect();
        self.runs.push(blocks);
    }
}

/// The blocks of `tri` in `tile` the old way: every block of the bounding box, every lane's
/// edge values evaluated directly, a block emitted where a lane is covered.
fn reference_blocks(
    tri: &TriangleSetup,
    arena: &[f32],
    tile: TileBounds,
    modes: &[Interpolation],
    depth_range: Option<(f32, f32)>,
) -> Vec<Block> {
    let Some(walk) = BlockWalk::new(tri, tile) else {
        return Vec::new();
    };
    let comps = modes.len();
    let value = |i: usize| arena.get(tri.attributes + i).copied().unwrap_or(0.0);
    let mut out = Vec::new();
    let mut by = walk.by0;
    while by <= walk.y_hi {
        let mut bx = walk.bx0;
        while bx <= walk.x_hi {
            let mut mask = 0u8;
            let mut edge = [[0.0f32; LANES]; 3];
            for lane in 0..LANES {
                let (dx, dy) = lane_offset(lane);
                let (x, y) = (bx + i64::from(dx), by + i64::from(dy));
                let e = tri.edges.map(|edge| edge.at_pixel_centre(x, y));
                let inside = x >= walk.x_lo && x <= walk.x_hi && y >= walk.y_lo && y <= walk.y_hi;
                if inside && e.iter().all(|&v| v >= 0) {
                    mask |= 1 << lane;
                }
                for k in 0..3 {
                    edge[k][lane] = e[k] as f32;
                }
            }
            if mask != 0 {
                let mut depth = [0.0f32; LANES];
                let mut inv_w = [0.0f32; LANES];
                let mut bary = [[0.0f32; LANES]; 3];
                let mut lin = [[0.0f32; LANES]; 2];
                for l in 0..LANES {
                    let l1 = edge[1][l] * tri.inv_area2;
                    let l2 = edge[2][l] * tri.inv_area2;
                    let l0 = 1.0 - l1 - l2;
                    depth[l] = tri.z0 + l1 * tri.dz1 + l2 * tri.dz2;
                    if let Some((lo, hi)) = depth_range {
                        depth[l] = depth[l].clamp(lo, hi);
                    }
                    let q = [l0 * tri.inv_w[0], l1 * tri.inv_w[1], l2 * tri.inv_w[2]];
                    inv_w[l] = q[0] + q[1] + q[2];
                    let s = 1.0 / inv_w[l];
                    bary[1][l] = q[1] * s;
                    bary[2][l] = q[2] * s;
                    bary[0][l] = 1.0 - bary[1][l] - bary[2][l];
                    lin[0][l] = l1;
                    lin[1][l] = l2;
                }
                let attributes: Vec<[f32; LANES]> = modes
                    .iter()
                    .enumerate()
                    .map(|(c, mode)| {
                        let (a0, d1, d2) = (value(c), value(comps + c), value(2 * comps + c));
                        let (b1, b2) = match mode {
                            Interpolation::Flat => return [a0; LANES],
                            Interpolation::Smooth => (bary[1], bary[2]),
                            Interpolation::NoPerspective => (lin[0], lin[1]),
                        };
                        std::array::from_fn(|l| a0 + b1[l] * d1 + b2[l] * d2)
                    })
                    .collect();
                let point_coord = match &tri.sprite {
                    None => [[0.5; LANES]; 2],
                    Some(sprite) => std::array::from_fn(|axis| {
                        std::array::from_fn(|lane| {
                            let (dx, dy) = lane_offset(lane);
                            let pixel = [bx + i64::from(dx), by + i64::from(dy)][axis];
                            let edge = [sprite.left, sprite.top][axis];
                            (pixel as f32 + 0.5 - edge) * sprite.inv_size
                        })
                    }),
                };
                out.push(block_of(&FragmentBatch {
                    x: bx as u32,
                    y: by as u32,
                    mask,
                    front_facing: tri.front_facing,
                    primitive: tri.primitive,
                    depth,
                    inv_w,
                    attributes: &attributes,
                    point_coord,
                }));
            }
            bx += BLOCK_W;
        }
        by += BLOCK_H;
    }
    out
}

/// The instruction sets this CPU can run.
fn available_isas() -> Vec<Isa> {
    let mut isas = vec![Isa::Portable];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            isas.push(Isa::Avx2);
        }
        if Isa::detect() == Isa::Avx512 {
            isas.push(Isa::Avx512);
        }
    }
    isas
}

struct Xorshift(u64);
impl Xorshift {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

const MODES: [Interpolation; 4] = [
    Interpolation::Smooth,
    Interpolation::NoPerspective,
    Interpolation::Flat,
    Interpolation::Smooth,
];

/// Setup without culling or depth bias, clipped to `clip` (x0, y0, x1, y1).
fn context(clip: (i32, i32, i32, i32), interpolation: &[Interpolation]) -> SetupContext<'_> {
    SetupContext {
        clip_x0: clip.0,
        clip_y0: clip.1,
        clip_x1: clip.2,
        clip_y1: clip.3,
        cull_mode: CullMode::None,
        front_face: FrontFace::CounterClockwise,
        depth_bias: None,
        depth_resolution: DepthResolution::Float,
        interpolation,
    }
}

/// A random set-up triangle near (or, for huge ones, around) `tile`, with its arena, or None
/// where setup drops it. Kinds: small, medium, large, huge (to the guard band), sliver.
fn random_triangle(
    rng: &mut Xorshift,
    n: usize,
    clip: (i32, i32, i32, i32),
) -> Option<(TriangleSetup, Vec<f32>)> {
    let ctx = context((clip.0, clip.1, clip.2, clip.3), &MODES);
    let (cx, cy) = (40.0 + 120.0 * rng.unit(), 40.0 + 120.0 * rng.unit());
    let mut v: [ScreenVertex; 3] = std::array::from_fn(|_| ScreenVertex {
        x: 0.0,
        y: 0.0,
        z: rng.unit() as f32,
        inv_w: (0.05 + 2.0 * rng.unit()) as f32,
    });
    let size = [3.0, 12.0, 70.0, 3000.0, 60000.0, 0.0][n % 6];
    for p in v.iter_mut() {
        p.x = (cx + size * (rng.unit() - 0.5)) as f32;
        p.y = (cy + size * (rng.unit() - 0.5)) as f32;
    }
    if size == 0.0 {
        // A sliver: a long edge and a third vertex a fraction of a pixel off it.
        let (dx, dy) = (400.0 * (rng.unit() - 0.5), 400.0 * (rng.unit() - 0.5));
        let t = rng.unit();
        let off = 0.05 + 1.5 * rng.unit();
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let pts = [
            (cx - dx / 2.0, cy - dy / 2.0),
            (cx + dx / 2.0, cy + dy / 2.0),
            (
                cx + dx * (t - 0.5) - dy / len * off,
                cy + dy * (t - 0.5) + dx / len * off,
            ),
        ];
        for (p, (x, y)) in v.iter_mut().zip(pts) {
            p.x = x as f32;
            p.y = y as f32;
        }
    }
    let attrs: [Vec<f32>; 3] =
        std::array::from_fn(|_| (0..MODES.len()).map(|_| rng.unit() as f32).collect());
    let mut arena = vec![7.0; n % 5];
    let SetupOutcome::Ready(mut tri) = ctx.triangle(
        v,
        [&attrs[0], &attrs[1], &attrs[2]],
        &attrs[0],
        Origin::Polygon,
        n as u32,
        &mut arena,
    ) else {
        return None;
    };
    if n % 7 == 3 {
        tri.sprite = Some(PointSprite {
            left: (cx - 3.0) as f32,
            top: (cy - 2.5) as f32,
            inv_size: 0.125,
        });
    }
    Some((tri, arena))
}

fn raster(isa: Isa, depth_range: Option<(f32, f32)>) -> TileRaster<'static> {
    let mut raster = TileRaster::new(&MODES, depth_range);
    raster.isa = isa;
    raster
}

/// Tiles of a 200×170 framebuffer: full 64×64 ones and the partial ones on its right and
/// bottom borders (widths and heights not multiples of the block size).
fn tile(n: usize) -> TileBounds {
    let (tx, ty) = ((n / 3) % 4, (n / 5) % 3);
    let (x0, y0) = (64 * tx as i32, 64 * ty as i32);
    TileBounds {
        x0,
        y0,
        x1: (x0 + 64).min(200),
        y1: (y0 + 64).min(170),
    }
}

#[test]
fn runs_carry_exactly_the_blocks_masks_and_values_of_a_per_block_walk() {
    let mut rng = Xorshift(0x2545_f491_4f6c_dd1d);
    let isas = available_isas();
    let (mut triangles, mut blocks, mut gaps) = (0, 0, 0);
    for n in 0..4000 {
        // Every third triangle is scissored to a rectangle that cuts the tiles.
        let clip = match n % 3 {
            0 => (13, 7, 151, 133),
            _ => (0, 0, 200, 170),
        };
        let Some((tri, arena)) = random_triangle(&mut rng, n, clip) else {
            continue;
        };
        let tile = tile(n);
        let depth_range = (n % 2 == 0).then_some((0.25, 0.75));
        let expected = reference_blocks(&tri, &arena, tile, &MODES, depth_range);
        triangles += 1;
        blocks += expected.len();
        for &isa in &isas {
            let mut out = RunRecorder::default();
            let emitted = raster(isa, depth_range).triangle(&tri, &arena, tile, &mut out);
            assert_eq!(emitted, expected.len(), "triangle {n} ({isa:?}): {tri:?}");
            assert!(out.covered() == expected, "triangle {n} ({isa:?}): {tri:?}");
            for run in &out.runs {
                assert!(!run.is_empty() && run.len() <= RUN_BLOCKS);
                assert!(run[0].mask != 0 && run[run.len() - 1].mask != 0);
                for (i, b) in run.iter().enumerate() {
                    assert_eq!((b.x, b.y), (run[0].x + 4 * i as u32, run[0].y));
                }
                gaps += run.iter().filter(|b| b.mask == 0).count();
            }
        }
    }
    assert!(
        triangles > 3000 && blocks > 50_000,
        "{triangles} triangles, {blocks} blocks"
    );
    // Slivers really produced runs with an uncovered block inside.
    assert!(gaps > 0);
}

#[test]
fn every_build_and_both_lane_widths_give_the_same_bits() {
    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    let isas = available_isas();
    let (mut narrow, mut small, mut total) = (0, 0, 0);
    for n in 0..3000 {
        let Some((tri, arena)) = random_triangle(&mut rng, n, (0, 0, 200, 170)) else {
            continue;
        };
        let tile = tile(n);
        total += 1;
        if BlockWalk::new(&tri, tile).is_some_and(|w| w.fits_i32(&tri)) {
            narrow += 1;
        }
        if BlockWalk::new(&tri, tile).is_some_and(|w| w.fits_i32(&tri) && w.is_small()) {
            small += 1;
        }
        let mut all = Vec::new();
        for &isa in &isas {
            let (mut fast, mut wide) = (RunRecorder::default(), RunRecorder::default());
            raster(isa, None).triangle(&tri, &arena, tile, &mut fast);
            raster(isa, None).triangle_wide(&tri, &arena, tile, &mut wide);
            // Zero-mask blocks inside runs included: every lane the same bits.
            assert!(fast.runs == wide.runs, "triangle {n} ({isa:?}): {tri:?}");
            all.push(fast.runs);
        }
        assert!(
            all.windows(2).all(|w| w[0] == w[1]),
            "triangle {n}: {tri:?}"
        );
    }
    // The narrow path was really exercised, and the wide one too; the small walk too (it
    // was compared with the wide walk above).
    assert!(narrow > total / 10 && narrow < total, "{narrow} of {total}");
    assert!(small > 40 && small < narrow, "{small} of {total}");
}

#[test]
fn small_triangles_give_the_runs_of_the_general_walk() {
    let mut rng = Xorshift(0x2127_599b_f432_5c37);
    let isas = available_isas();
    let ctx = context((0, 0, 200, 170), &MODES);
    let (mut small, mut blocks) = (0, 0);
    for n in 0..3000 {
        // Around the corner of four tiles, some crossing it.
        let (cx, cy) = (56.0 + 16.0 * rng.unit(), 56.0 + 16.0 * rng.unit());
        let size = 1.0 + 10.0 * rng.unit();
        let v: [ScreenVertex; 3] = std::array::from_fn(|_| ScreenVertex {
            x: (cx + size * (rng.unit() - 0.5)) as f32,
            y: (cy + size * (rng.unit() - 0.5)) as f32,
            z: rng.unit() as f32,
            inv_w: (0.05 + 2.0 * rng.unit()) as f32,
        });
        let attrs: [Vec<f32>; 3] =
            std::array::from_fn(|_| (0..MODES.len()).map(|_| rng.unit() as f32).collect());
        let mut arena = Vec::new();
        let SetupOutcome::Ready(tri) = ctx.triangle(
            v,
            [&attrs[0], &attrs[1], &attrs[2]],
            &attrs[0],
            Origin::Polygon,
            n,
            &mut arena,
        ) else {
            continue;
        };
        for (x0, y0) in [(0, 0), (64, 0), (0, 64), (64, 64)] {
            let tile = TileBounds {
                x0,
                y0,
                x1: x0 + 64,
                y1: y0 + 64,
            };
            let Some(walk) = BlockWalk::new(&tri, tile) else {
                continue;
            };
            if walk.fits_i32(&tri) && walk.is_small() {
                small += 1;
            }
            let depth_range = (n % 2 == 0).then_some((0.25, 0.75));
            let expected = reference_blocks(&tri, &arena, tile, &MODES, depth_range);
            blocks += expected.len();
            for &isa in &isas {
                let (mut fast, mut wide) = (RunRecorder::default(), RunRecorder::default());
                let emitted = raster(isa, depth_range).triangle(&tri, &arena, tile, &mut fast);
                raster(isa, depth_range).triangle_wide(&tri, &arena, tile, &mut wide);
                assert_eq!(emitted, expected.len(), "triangle {n} ({isa:?}): {tri:?}");
                assert!(
                    fast.covered() == expected,
                    "triangle {n} ({isa:?}): {tri:?}"
                );
                assert!(fast.runs == wide.runs, "triangle {n} ({isa:?}): {tri:?}");
            }
        }
    }
    assert!(
        small > 2000 && blocks > 3000,
        "{small} small, {blocks} blocks"
    );
}

/// Records the values a tile with `needs` reads (coverage and position always).
struct NeedsRecorder {
    needs: FragmentNeeds,
    blocks: Vec<Block>,
}

impl TileFragments for NeedsRecorder {
    fn batch(&mut self, _: &FragmentBatch<'_>) {
        panic!("the tile rasterizer hands over runs");
    }

    fn needs(&self) -> FragmentNeeds {
        self.needs
    }

    fn run(&mut self, run: &FragmentRun<'_>) {
        for i in 0..run.blocks() {
            let b = run.batch(i).expect("block inside the run");
            self.blocks.push(needed_bits(&b, self.needs));
        }
    }
}

/// The parts of `b` that a tile with `needs` reads.
fn needed_bits(b: &FragmentBatch<'_>, needs: FragmentNeeds) -> Block {
    let mut bits = Vec::new();
    let lanes = |v: &[f32; LANES]| v.map(f32::to_bits);
    if needs.depth {
        bits.extend(lanes(&b.depth));
    }
    if needs.inv_w {
        bits.extend(lanes(&b.inv_w));
    }
    if needs.attributes {
        bits.extend(b.attributes.iter().flat_map(lanes));
    }
    bits.extend(b.point_coord.iter().flat_map(lanes));
    Block {
        x: b.x,
        y: b.y,
        mask: b.mask,
        bits,
    }
}

#[test]
fn a_tile_that_needs_less_gets_the_same_bits_for_what_it_reads() {
    let mut rng = Xorshift(0x5851_f42d_4c95_7f2d);
    let isas = available_isas();
    let bool_of = |n: usize, bit: usize| n & (1 << bit) != 0;
    let mut compared = 0;
    for n in 0..1500 {
        let Some((tri, arena)) = random_triangle(&mut rng, n, (0, 0, 200, 170)) else {
            continue;
        };
        let tile = tile(n);
        let depth_range = (n % 2 == 0).then_some((0.25, 0.75));
        let needs = FragmentNeeds {
            depth: bool_of(n, 0),
            inv_w: bool_of(n, 1),
            attributes: bool_of(n, 2),
        };
        for &isa in &isas {
            let mut all = NeedsRecorder {
                needs: FragmentNeeds::ALL,
                blocks: Vec::new(),
            };
            let mut some = NeedsRecorder {
                needs,
                blocks: Vec::new(),
            };
            // One rasterizer for both, the lesser needs second: stale values from the first
            // triangle must not matter.
            let mut raster = raster(isa, depth_range);
            raster.triangle(&tri, &arena, tile, &mut all);
            raster.triangle(&tri, &arena, tile, &mut some);
            let expected: Vec<Block> = (all.blocks.iter())
                .map(|b| project(b, needs, MODES.len()))
                .collect();
            assert!(some.blocks == expected, "triangle {n} ({isa:?}, {needs:?})");
            compared += some.blocks.len();
        }
    }
    assert!(compared > 10_000, "{compared}");
}

/// A block recorded with every need, cut down to what `needs` reads (layout of
/// [`needed_bits`]).
fn project(b: &Block, needs: FragmentNeeds, components: usize) -> Block {
    let (depth, rest) = b.bits.split_at(LANES);
    let (inv_w, rest) = rest.split_at(LANES);
    let (attributes, point_coord) = rest.split_at(components * LANES);
    let mut bits = Vec::new();
    for (wanted, part) in [
        (needs.depth, depth),
        (needs.inv_w, inv_w),
        (needs.attributes, attributes),
        (true, point_coord),
    ] {
        if wanted {
            bits.extend_from_slice(part);
        }
    }
    Block { bits, ..b.clone() }
}

#[test]
fn blocks_wholly_inside_are_accepted_without_lane_tests_and_are_full() {
    // A triangle far larger than the tile: every segment of the tile is inside.
    let ctx_modes = [Interpolation::Smooth];
    let ctx = context((0, 0, 256, 256), &ctx_modes);
    let v = [(-500.0, -500.0), (2000.0, -400.0), (-400.0, 2000.0)].map(|(x, y)| ScreenVertex {
        x,
        y,
        z: 0.5,
        inv_w: 1.0,
    });
    let attrs = [1.0f32];
    let mut arena = Vec::new();
    let SetupOutcome::Ready(tri) = ctx.triangle(
        v,
        [&attrs, &attrs, &attrs],
        &attrs,
        Origin::Polygon,
        0,
        &mut arena,
    ) else {
        panic!("the triangle is set up");
    };
    let tile = TileBounds {
        x0: 64,
        y0: 128,
        x1: 128,
        y1: 192,
    };
    let bounds = BlockWalk::new(&tri, tile).expect("the tile is in the box");
    let mut walk = row_walk(&tri, bounds, bounds.fits_i32(&tri));
    assert!(walk.inside, "the whole box is inside");
    let mut rows = 0;
    while let Some((start, end)) = walk.next_segment() {
        assert_eq!((start, end), (0, 15));
        assert!(walk.segment_inside(start, end));
        rows += 1;
    }
    assert_eq!(rows, 32);
    let mut out = RunRecorder::default();
    let emitted = TileRaster::new(&ctx_modes, None).triangle(&tri, &arena, tile, &mut out);
    assert_eq!(emitted, 16 * 32);
    assert!(out.runs.iter().flatten().all(|b| b.mask == 0xff));
    assert_eq!(
        out.covered(),
        reference_blocks(&tri, &arena, tile, &ctx_modes, None)
    );

    // A segment crossing an edge is not accepted, and its partial blocks are tested per lane.
    let tile = TileBounds {
        x0: 0,
        y0: 0,
        x1: 64,
        y1: 64,
    };
    let ctx_small = SetupContext {
        clip_x1: 64,
        clip_y1: 64,
        ..ctx
    };
    let v = [(0.0, 0.0), (60.0, 0.0), (0.0, 60.0)].map(|(x, y)| ScreenVertex {
        x,
        y,
        z: 0.5,
        inv_w: 1.0,
    });
    let SetupOutcome::Ready(tri) = ctx_small.triangle(
        v,
        [&attrs, &attrs, &attrs],
        &attrs,
        Origin::Polygon,
        0,
        &mut arena,
    ) else {
        panic!("the triangle is set up");
    };
    let bounds = BlockWalk::new(&tri, tile).expect("the tile is in the box");
    let mut walk = row_walk(&tri, bounds, true);
    assert!(!walk.inside);
    let (start, end) = walk.next_segment().expect("a first row");
    assert!(!walk.segment_inside(start, end));
    let mut out = RunRecorder::default();
    TileRaster::new(&ctx_modes, None).triangle(&tri, &arena, tile, &mut out);
    assert_eq!(
        out.covered(),
        reference_blocks(&tri, &arena, tile, &ctx_modes, None)
    );
    assert!(out
        .runs
        .iter()
        .flatten()
        .any(|b| b.mask != 0 && b.mask != 0xff));
}

#[test]
fn row_intervals_skip_the_empty_half_of_the_box() {
    // A right triangle along the tile's diagonal: about half of each row's blocks are outside.
    let modes: [Interpolation; 0] = [];
    let ctx = context((0, 0, 64, 64), &modes);
    let v = [(0.0, 0.0), (64.0, 0.0), (0.0, 64.0)].map(|(x, y)| ScreenVertex {
        x,
        y,
        z: 0.5,
        inv_w: 1.0,
    });
    let mut arena = Vec::new();
    let SetupOutcome::Ready(tri) =
        ctx.triangle(v, [&[], &[], &[]], &[], Origin::Polygon, 0, &mut arena)
    else {
        panic!("the triangle is set up");
    };
    let tile = TileBounds {
        x0: 0,
        y0: 0,
        x1: 64,
        y1: 64,
    };
    let bounds = BlockWalk::new(&tri, tile).expect("the tile is in the box");
    let mut walk = row_walk(&tri, bounds, true);
    let mut visited = 0;
    while let Some((start, end)) = walk.next_segment() {
        assert_eq!(start, 0);
        // Row y covers x < 64 - y: no block past the one holding that pixel is visited.
        let last_covered = (63 - walk.by - 1).max(0) / 4;
        assert!(
            end >= last_covered && end <= last_covered + 1,
            "{} {end}",
            walk.by
        );
        visited += end - start + 1;
    }
    assert!(visited < 16 * 32 * 6 / 10, "{visited}");
}

/// Counts covered lanes; the cheapest sink, to time the walk alone.
#[derive(Default)]
struct LaneCounter(u64);

impl TileFragments for LaneCounter {
    fn batch(&mut self, b: &FragmentBatch<'_>) {
        self.0 += u64::from(b.mask.count_ones());
    }
    fn run(&mut self, run: &FragmentRun<'_>) {
        self.0 += run
            .masks
            .iter()
            .map(|m| u64::from(m.count_ones()))
            .sum::<u64>();
        self.0 += u64::from(run.attributes.last().map_or(0.0, |a| a[7]) > 2.0);
    }
}

/// CPU time of the calling thread (the machine is shared: wall time says little).
fn thread_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec the call writes.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// A rough figure, not a benchmark:
/// `cargo test --release -p renderer --lib walk_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn walk_throughput() {
    let modes = [Interpolation::Smooth; 4];
    let ctx = context((0, 0, 1920, 1080), &modes);
    let mut rng = Xorshift(77);
    let attrs = [0.25f32, 0.5, 0.75, 1.0];
    let mut arena = Vec::new();
    let mut small = Vec::new();
    for n in 0..20_000 {
        let (x, y) = (60.0 * rng.unit() as f32, 60.0 * rng.unit() as f32);
        let v = [(x, y), (x + 4.0, y), (x, y + 4.0)].map(|(x, y)| ScreenVertex {
            x,
            y,
            z: 0.5,
            inv_w: 1.0,
        });
        if let SetupOutcome::Ready(tri) =
            ctx.triangle(v, [&attrs; 3], &attrs, Origin::Polygon, n, &mut arena)
        {
            small.push(tri);
        }
    }
    let v = [(0.0, 0.0), (1920.0, 0.0), (0.0, 1080.0)].map(|(x, y)| ScreenVertex {
        x,
        y,
        z: 0.5,
        inv_w: 1.0,
    });
    let SetupOutcome::Ready(big) =
        ctx.triangle(v, [&attrs; 3], &attrs, Origin::Polygon, 0, &mut arena)
    else {
        panic!("the triangle is set up");
    };
    let tile = TileBounds {
        x0: 0,
        y0: 0,
        x1: 64,
        y1: 64,
    };
    let diagonal = TileBounds {
        x0: 1216,
        y0: 384,
        x1: 1280,
        y1: 448,
    };
    for isa in available_isas() {
        let mut raster = raster(isa, None);
        let mut sink = LaneCounter::default();
        let start = thread_seconds();
        let reps = if std::env::var_os("WALK_BIG_ONLY").is_some() {
            0
        } else {
            20
        };
        for _ in 0..reps {
            for tri in &small {
                raster.triangle(tri, &arena, tile, &mut sink);
            }
        }
        let per_tri = (thread_seconds() - start) * 1e9 / (20.0 * small.len() as f64);
        let start = thread_seconds();
        let mut blocks = 0;
        let reps = if std::env::var_os("WALK_SMALL_ONLY").is_some() {
            1
        } else {
            2000
        };
        for _ in 0..reps {
            blocks += raster.triangle(&big, &arena, tile, &mut sink);
            blocks += raster.triangle(&big, &arena, diagonal, &mut sink);
        }
        let per_block = (thread_seconds() - start) * 1e9 / blocks as f64;
        println!("{isa:?}: {per_tri:.1} ns per 8-px triangle, {per_block:.2} ns per block of a large one ({})", sink.0);
    }
}

fn row_walk(tri: &TriangleSetup, bounds: BlockWalk, narrow: bool) -> RowWalk {
    let mut walk = RowWalk::empty();
    walk.reset(tri, bounds, narrow);
    walk.prepare_rows(tri);
    walk
}

#[test]
fn column_and_row_masks_agree_with_the_lane_bounds() {
    for bx in -8..8i64 {
        for by in -4..4i64 {
            for (lo, hi) in [(-3, 2), (0, 0), (1, 5), (-10, 10), (3, 3), (2, 1)] {
                let expected = bounds_mask(bx, by, lo, hi, lo, hi);
                assert_eq!(column_mask(bx, lo, hi) & row_mask(by, lo, hi), expected);
            }
        }
    }
}

/// `f(n, triangle, walk)` for 3000 random triangles (seeded by `seed`) that have a walk over
/// their tile.
fn for_each_walk(seed: u64, mut f: impl FnMut(usize, &TriangleSetup, BlockWalk)) {
    let mut rng = Xorshift(seed);
    for n in 0..3000 {
        let Some((tri, _)) = random_triangle(&mut rng, n, (0, 0, 200, 170)) else {
            continue;
        };
        if let Some(bounds) = BlockWalk::new(&tri, tile(n)) {
            f(n, &tri, bounds);
        }
    }
}

#[test]
fn a_walk_is_wholly_inside_exactly_when_every_lane_of_its_blocks_is() {
    let (mut inside, mut outside) = (0, 0);
    for_each_walk(0x9e37_79b9_7f4a_7c15, |n, tri, bounds| {
        let walk = row_walk(tri, bounds, false);
        let rows = (bounds.y_hi.max(bounds.by0) - bounds.by0) / BLOCK_H + 1;
        let every_lane = (0..rows).all(|r| {
            (0..bounds.blocks_x).all(|j| {
                (0..LANES).all(|lane| {
                    let (dx, dy) = lane_offset(lane);
                    let x = bounds.bx0 + BLOCK_W * j + i64::from(dx);
                    let y = bounds.by0 + BLOCK_H * r + i64::from(dy);
                    tri.edges.iter().all(|e| e.at_pixel_centre(x, y) >= 0)
                })
            })
        });
        assert_eq!(walk.inside, every_lane, "triangle {n}");
        match every_lane {
            true => inside += 1,
            false => outside += 1,
        }
    });
    assert!(
        inside > 20 && outside > 200,
        "{inside} inside, {outside} not"
    );
}

/// Takes every rectangle offered and records each block, whole, beside the runs.
#[derive(Default)]
struct RectTaker {
    runs: RunRecorder,
    rects: Vec<CoveredRect>,
}

impl TileFragments for RectTaker {
    fn batch(&mut self, batch: &FragmentBatch<'_>) {
        self.runs.batch(batch);
    }

    fn run(&mut self, run: &FragmentRun<'_>) {
        self.runs.run(run);
    }

    fn takes_rects(&self) -> bool {
        true
    }

    fn covered_rect(&mut self, rect: &CoveredRect) -> bool {
        self.rects.push(*rect);
        true
    }
}

#[test]
fn covered_rectangles_are_exactly_the_blocks_the_walk_would_give_full() {
    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    let mut rect_blocks = 0;
    for n in 0..4000 {
        let clip = match n % 3 {
            0 => (12, 8, 152, 134),
            1 => (13, 7, 151, 133),
            _ => (0, 0, 200, 170),
        };
        let Some((tri, arena)) = random_triangle(&mut rng, n, clip) else {
            continue;
        };
        let tile = tile(n);
        let expected: Vec<(u32, u32, u8)> = reference_blocks(&tri, &arena, tile, &MODES, None)
            .iter()
            .map(|b| (b.x, b.y, b.mask))
            .collect();
        for isa in available_isas() {
            let mut out = RectTaker::default();
            let emitted = raster(isa, None).triangle(&tri, &arena, tile, &mut out);
            assert_eq!(emitted, expected.len(), "triangle {n} ({isa:?})");
            let mut got: Vec<(u32, u32, u8)> = out
                .runs
                .covered()
                .iter()
                .map(|b| (b.x, b.y, b.mask))
                .collect();
            for r in &out.rects {
                assert!(r.x0 % 4 == 0 && r.x1 % 4 == 0 && r.y0 % 2 == 0 && r.y1 % 2 == 0);
                assert_eq!(
                    (r.front_facing, r.primitive),
                    (tri.front_facing, tri.primitive)
                );
                for y in (r.y0..r.y1).step_by(2) {
                    for x in (r.x0..r.x1).step_by(4) {
                        got.push((x, y, 0xff));
                    }
                }
                rect_blocks += r.blocks();
            }
            got.sort_unstable();
            let mut want = expected.clone();
            want.sort_unstable();
            assert!(got == want, "triangle {n} ({isa:?}): {tri:?}");
        }
    }
    // Large and huge triangles cover whole tiles, and scissored ones aligned rectangles.
    assert!(rect_blocks > 10_000, "{rect_blocks} blocks in rectangles");
}

#[test]
fn a_rows_inside_interval_is_exactly_its_blocks_with_every_lane_inside() {
    let (mut rows_with, mut rows_without) = (0, 0);
    for_each_walk(0x0dd_ba11_5eed, |n, tri, bounds| {
        // Both the estimated bounds (wide walks) and the stale ones (narrow walks) of an
        // earlier triangle's reciprocals must end at the exact interval.
        let mut walk = row_walk(tri, bounds, false);
        if n % 2 == 0 {
            walk.inv_step_x4 = [0.37, 1e9, -5.0];
        }
        let rows = (bounds.y_hi.max(bounds.by0) - bounds.by0) / BLOCK_H + 1;
        for r in 0..rows {
            let y = bounds.by0 + BLOCK_H * r;
            let inside: Vec<i64> = (0..bounds.blocks_x)
                .filter(|&j| {
                    (0..LANES).all(|lane| {
                        let (dx, dy) = lane_offset(lane);
                        let x = bounds.bx0 + BLOCK_W * j + i64::from(dx);
                        tri.edges
                            .iter()
                            .all(|e| e.at_pixel_centre(x, y + i64::from(dy)) >= 0)
                    })
                })
                .collect();
            let want = inside.first().zip(inside.last()).map(|(&a, &b)| (a, b));
            if let Some((a, b)) = want {
                assert_eq!(inside.len() as i64, b - a + 1, "convex: one interval");
            }
            assert_eq!(walk.inside_interval(), want, "triangle {n}, row {r}");
            match want {
                Some(_) => rows_with += 1,
                None => rows_without += 1,
            }
            walk.by += BLOCK_H;
            for k in 0..3 {
                walk.row[k] += walk.step_y2[k];
            }
        }
    });
    assert!(
        rows_with > 1000 && rows_without > 1000,
        "{rows_with}, {rows_without}"
    );
}

#[test]
fn rectangle_pairs_go_to_the_sink_as_exactly_their_blocks() {
    let ctx = context((0, 0, 200, 170), &[]);
    let mut rng = Xorshift(0x0123_4567_89ab_cdef);
    let (mut taken, mut declined) = (0, 0);
    for n in 0..400 {
        // Corners on multiples of 4 × 2 pixels (the full-screen case) or anywhere.
        let coord = |u: f64, step: f64| {
            let v = -20.0 + 240.0 * u;
            match n % 3 {
                0 => (v / step).round() * step,
                _ => v,
            }
        };
        let (xa, xb) = (coord(rng.unit(), 4.0), coord(rng.unit(), 4.0));
        let (ya, yb) = (coord(rng.unit(), 2.0), coord(rng.unit(), 2.0));
        let vertex = |x: f64, y: f64| ScreenVertex {
            x: x as f32,
            y: y as f32,
            z: 0.5,
            inv_w: 1.0,
        };
        let [p, r, q, t] = [
            vertex(xa, ya),
            vertex(xb, ya),
            vertex(xb, yb),
            vertex(xa, yb),
        ];
        let mut arena = Vec::new();
        let setups: Vec<TriangleSetup> = [[p, r, q], [q, t, p]]
            .into_iter()
            .filter_map(|v| {
                match ctx.triangle(v, [&[]; 3], &[], Origin::Polygon, n as u32, &mut arena) {
                    SetupOutcome::Ready(tri) => Some(tri),
                    _ => None,
                }
            })
            .collect();
        let [first, second] = setups.as_slice() else {
            continue;
        };
        // Every tile of the 200×170 grid (`tile` visits them all over 0..60).
        for t in 0..60 {
            let tile = tile(t);
            let mut want: Vec<(u32, u32, u8)> = Vec::new();
            for tri in [first, second] {
                for b in reference_blocks(tri, &arena, tile, &[], None) {
                    match want.iter_mut().find(|w| (w.0, w.1) == (b.x, b.y)) {
                        Some(w) => w.2 |= b.mask,
                        None => want.push((b.x, b.y, b.mask)),
                    }
                }
            }
            want.sort_unstable();
            let mut out = RectTaker::default();
            let got = raster(Isa::Portable, None).rect_pair(first, second, &arena, tile, &mut out);
            match got {
                Some(blocks) => {
                    let mut blocks_of: Vec<(u32, u32, u8)> = Vec::new();
                    for r in &out.rects {
                        for y in (r.y0..r.y1).step_by(2) {
                            for x in (r.x0..r.x1).step_by(4) {
                                blocks_of.push((x, y, 0xff));
                            }
                        }
                    }
                    blocks_of.sort_unstable();
                    assert_eq!(blocks, want.len(), "{n}, tile {tile:?}");
                    assert!(blocks_of == want, "{n}, tile {tile:?}");
                    taken += usize::from(blocks > 0);
                }
                None => {
                    assert!(out.rects.is_empty() && out.runs.runs.is_empty());
                    declined += 1;
                }
            }
        }
    }
    assert!(
        taken > 500 && declined > 500,
        "{taken} taken, {declined} declined"
    );
}
