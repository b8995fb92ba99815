//! Rasterizer coverage, fill rule, culling, clipping, interpolation and determinism, checked
//! against references computed independently here (f64, from the spec's definitions).

use renderer::raster::{
    lane_offset, rasterize, rasterize_on, CoverageImages, CoverageSink, CoverageTile, CoveredRect,
    CullMode, DepthResolution, FragmentBatch, FragmentRun, FragmentSink, FrontFace, Interpolation,
    Primitives, RasterState, Rect, TileFragments, VertexStream, RUN_BLOCKS,
};

use renderer::{WorkerPool, Workers};

const W: u32 = 128;
const H: u32 = 96;

fn state() -> RasterState {
    RasterState::covering(W, H)
}

/// Clip-space position (w = 1) of a framebuffer point under `state`'s full-size viewport.
fn clip(x: f64, y: f64) -> [f32; 4] {
    [
        (2.0 * x / f64::from(W) - 1.0) as f32,
        (2.0 * y / f64::from(H) - 1.0) as f32,
        0.5,
        1.0,
    ]
}

/// xorshift64*: a small seeded generator, enough for test geometry.
struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}

fn draw(state: &RasterState, positions: &[[f32; 4]], tris: &[[u32; 3]]) -> CoverageImages {
    let sink = CoverageSink::new(state.width, state.height, 0);
    let vertices = VertexStream {
        positions,
        attributes: &[],
        interpolation: &[],
        point_sizes: None,
    };
    rasterize(state, &vertices, Primitives::Triangles(tris), &sink).expect("valid draw");
    sink.images()
}

/// Pixels whose centre lies in the open-on-right/bottom box [x0, x1) × [y0, y1).
fn box_pixels(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<u32> {
    let mut counts = vec![0; (W * H) as usize];
    for py in 0..H {
        for px in 0..W {
            let (cx, cy) = (f64::from(px) + 0.5, f64::from(py) + 0.5);
            if cx >= x0 && cx < x1 && cy >= y0 && cy < y1 {
                counts[(py * W + px) as usize] = 1;
            }
        }
    }
    counts
}

/// A jittered grid mesh over the box (outer vertices stay on the box) as two triangles per
/// cell; cells of `cell` pixels, so small cells give sub-pixel triangles.
fn grid_mesh(
    rng: &mut Rng,
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
    n: usize,
    m: usize,
) -> (Vec<[f32; 4]>, Vec<[u32; 3]>) {
    let (cw, ch) = ((x1 - x0) / n as f64, (y1 - y0) / m as f64);
    let mut positions = Vec::new();
    for j in 0..=m {
        for i in 0..=n {
            let jx = if i == 0 || i == n {
                0.0
            } else {
                rng.range(-0.24, 0.24) * cw
            };
            let jy = if j == 0 || j == m {
                0.0
            } else {
                rng.range(-0.24, 0.24) * ch
            };
            positions.push(clip(x0 + i as f64 * cw + jx, y0 + j as f64 * ch + jy));
        }
    }
    let mut tris = Vec::new();
    let at = |i: usize, j: usize| (j * (n + 1) + i) as u32;
    for j in 0..m {
        for i in 0..n {
            tris.push([at(i, j), at(i + 1, j), at(i + 1, j + 1)]);
            // Alternate winding too: coverage must not depend on it.
            tris.push([at(i, j + 1), at(i + 1, j + 1), at(i, j)]);
        }
    }
    (positions, tris)
}

#[test]
fn jittered_meshes_cover_every_pixel_exactly_once() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for (n, m) in [(4, 3), (37, 29), (150, 120)] {
        let (x0, y0, x1, y1) = (3.25, 2.75, 117.5, 90.125);
        let (positions, tris) = grid_mesh(&mut rng, x0, y0, x1, y1, n, m);
        let images = draw(&state(), &positions, &tris);
        assert_eq!(images.counts, box_pixels(x0, y0, x1, y1), "grid {n}×{m}");
    }
}

#[test]
fn random_fan_around_a_square_covers_it_exactly_once() {
    let mut rng = Rng(42);
    for _ in 0..5 {
        let (x0, y0, x1, y1) = (10.3, 7.7, 100.6, 90.2);
        let centre = (rng.range(x0 + 1.0, x1 - 1.0), rng.range(y0 + 1.0, y1 - 1.0));
        // Random points on the perimeter, in order, plus the four corners.
        let perimeter = 2.0 * ((x1 - x0) + (y1 - y0));
        let mut ts: Vec<f64> = (0..300).map(|_| rng.range(0.0, perimeter)).collect();
        ts.extend([
            0.0,
            x1 - x0,
            (x1 - x0) + (y1 - y0),
            2.0 * (x1 - x0) + (y1 - y0),
        ]);
        ts.sort_by(f64::total_cmp);
        let point = |t: f64| {
            let (w, h) = (x1 - x0, y1 - y0);
            if t < w {
                (x0 + t, y0)
            } else if t < w + h {
                (x1, y0 + (t - w))
            } else if t < 2.0 * w + h {
                (x1 - (t - w - h), y1)
            } else {
                (x0, y1 - (t - 2.0 * w - h))
            }
        };
        let mut positions = vec![clip(centre.0, centre.1)];
        positions.extend(ts.iter().map(|&t| {
            let (x, y) = point(t);
            clip(x, y)
        }));
        let k = ts.len() as u32;
        let tris: Vec<[u32; 3]> = (0..k).map(|i| [0, 1 + i, 1 + (i + 1) % k]).collect();
        let images = draw(&state(), &positions, &tris);
        assert_eq!(images.counts, box_pixels(x0, y0, x1, y1));
    }
}

/// Independent top-left rule: a centre exactly on an edge is inside iff the edge is a top edge
/// (horizontal, the third vertex below it) or a left edge (not horizontal, stepping +x from
/// it enters the triangle).
fn top_left_reference(v: [(f64, f64); 3]) -> Vec<u32> {
    let mut counts = vec![0; (W * H) as usize];
    for py in 0..H {
        for px in 0..W {
            let p = (f64::from(px) + 0.5, f64::from(py) + 0.5);
            let mut inside = true;
            for i in 0..3 {
                let (a, b, r) = (v[i], v[(i + 1) % 3], v[(i + 2) % 3]);
                let f = |q: (f64, f64)| (b.0 - a.0) * (q.1 - a.1) - (b.1 - a.1) * (q.0 - a.0);
                let (fp, fr) = (f(p), f(r));
                if fp == 0.0 {
                    let horizontal = a.1 == b.1;
                    let top = horizontal && r.1 > a.1;
                    let left = !horizontal && f((p.0 + 1.0, p.1)) * fr > 0.0;
                    inside &= top || left;
                } else {
                    inside &= fp.signum() == fr.signum();
                }
            }
            counts[(py * W + px) as usize] = u32::from(inside);
        }
    }
    counts
}

#[test]
fn top_left_rule_on_axis_aligned_and_sloped_edges() {
    let shapes: [[(f64, f64); 3]; 4] = [
        [(2.5, 1.5), (6.5, 1.5), (6.5, 4.5)],
        [(2.5, 1.5), (6.5, 4.5), (2.5, 4.5)],
        [(4.5, 1.5), (8.5, 5.5), (0.5, 5.5)],
        [(10.5, 10.5), (10.5, 20.5), (30.5, 20.5)],
    ];
    for shape in shapes {
        for order in [[0, 1, 2], [0, 2, 1]] {
            let positions: Vec<[f32; 4]> = order
                .iter()
                .map(|&i| clip(shape[i].0, shape[i].1))
                .collect();
            let images = draw(&state(), &positions, &[[0, 1, 2]]);
            assert_eq!(
                images.counts,
                top_left_reference(shape),
                "{shape:?} in order {order:?}"
            );
            assert!(images.counts.contains(&1));
        }
    }
}

#[test]
fn back_face_culling_follows_front_face_for_both_windings() {
    // On a y-down framebuffer (10,10) → (10,50) → (50,10) turns counter-clockwise: Vulkan area > 0.
    let ccw = [clip(10.0, 10.0), clip(10.0, 50.0), clip(50.0, 10.0)];
    let cw = [clip(60.0, 10.0), clip(100.0, 10.0), clip(60.0, 50.0)];
    let positions: Vec<[f32; 4]> = ccw.iter().chain(&cw).copied().collect();
    let tris = [[0, 1, 2], [3, 4, 5]];
    let inside = |images: &CoverageImages, x: u32, y: u32| images.counts[(y * W + x) as usize];
    for (front_face, kept_x, culled_x) in [
        (FrontFace::CounterClockwise, 15, 65),
        (FrontFace::Clockwise, 65, 15),
    ] {
        let mut s = state();
        s.front_face = front_face;
        s.cull_mode = CullMode::Back;
        let images = draw(&s, &positions, &tris);
        assert_eq!(inside(&images, kept_x, 15), 1, "{front_face:?}");
        assert_eq!(inside(&images, culled_x, 15), 0, "{front_face:?}");
        assert!(images.front_facing[(15 * W + kept_x) as usize]);
        s.cull_mode = CullMode::Front;
        let images = draw(&s, &positions, &tris);
        assert_eq!(inside(&images, kept_x, 15), 0);
        assert_eq!(inside(&images, culled_x, 15), 1);
        assert!(!images.front_facing[(15 * W + culled_x) as usize]);
        s.cull_mode = CullMode::FrontAndBack;
        assert!(draw(&s, &positions, &tris).counts.iter().all(|&c| c == 0));
    }
}

/// Solves the 3×3 system `m · b = r` (Cramer); None when singular.
fn solve3(m: [[f64; 3]; 3], r: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(m);
    if d.abs() < 1e-300 {
        return None;
    }
    Some(std::array::from_fn(|c| {
        let mut mc = m;
        for row in 0..3 {
            mc[row][c] = r[row];
        }
        det(mc) / d
    }))
}

/// Clipper-free reference: the homogeneous barycentrics of the point of the clip-space triangle
/// that projects onto the pixel centre, and how far inside (min of b_i, z, w − z) it is.
fn homogeneous_margin(p: &[[f32; 4]; 3], px: u32, py: u32) -> Option<f64> {
    let xn = (f64::from(px) + 0.5) / f64::from(W) * 2.0 - 1.0;
    let yn = (f64::from(py) + 0.5) / f64::from(H) * 2.0 - 1.0;
    let c = |v: usize, k: usize| f64::from(p[v][k]);
    let m = [
        std::array::from_fn(|v| c(v, 0) - xn * c(v, 3)),
        std::array::from_fn(|v| c(v, 1) - yn * c(v, 3)),
        [1.0; 3],
    ];
    let b = solve3(m, [0.0, 0.0, 1.0])?;
    let z: f64 = (0..3).map(|v| b[v] * c(v, 2)).sum();
    let w: f64 = (0..3).map(|v| b[v] * c(v, 3)).sum();
    if w <= 0.0 {
        return Some(-1.0);
    }
    Some(b[0].min(b[1]).min(b[2]).min(z / w).min(1.0 - z / w))
}

#[test]
fn triangle_crossing_near_plane_covers_its_visible_part() {
    // Vertex 0 is behind the eye (z < 0, w small), the others in front.
    let tris: [[[f32; 4]; 3]; 2] = [
        [
            [0.1, -0.2, -0.5, 0.3],
            [-2.0, 1.5, 2.5, 3.0],
            [2.5, 1.0, 1.5, 2.0],
        ],
        [
            [-0.3, 0.4, -2.0, -1.0],
            [1.5, -1.2, 1.0, 2.0],
            [-1.0, -1.5, 0.5, 1.5],
        ],
    ];
    for p in tris {
        let images = draw(&state(), &p, &[[0, 1, 2]]);
        let mut checked = 0;
        for py in 0..H {
            for px in 0..W {
                let Some(margin) = homogeneous_margin(&p, px, py) else {
                    continue;
                };
                let count = images.counts[(py * W + px) as usize];
                if margin > 1e-3 {
                    assert_eq!(count, 1, "pixel ({px},{py}) is inside the visible part");
                    checked += 1;
                } else if margin < -1e-3 {
                    assert_eq!(count, 0, "pixel ({px},{py}) is outside the visible part");
                }
            }
        }
        assert!(checked > 100, "the visible part is not trivially empty");
    }
}

#[test]
fn huge_triangles_cover_the_viewport_exactly_once() {
    let big = 1e6f32;
    let positions = [
        [-big, -big, 0.5, 1.0],
        [big, -big, 0.5, 1.0],
        [big, big, 0.5, 1.0],
        [-big, big, 0.5, 1.0],
    ];
    // One triangle containing the viewport, then two sharing a diagonal through it.
    let single = [
        [-big, -big, 0.5, 1.0],
        [3.0 * big, -big, 0.5, 1.0],
        [-big, 3.0 * big, 0.5, 1.0],
    ];
    let images = draw(&state(), &single, &[[0, 1, 2]]);
    assert!(images.counts.iter().all(|&c| c == 1));
    let images = draw(&state(), &positions, &[[0, 1, 2], [0, 2, 3]]);
    assert!(
        images.counts.iter().all(|&c| c == 1),
        "diagonal split of a huge quad"
    );
}

#[test]
fn perspective_noperspective_and_flat_interpolation_match_f64_reference() {
    let p = [
        [-0.8f32, -0.9, 0.2, 1.0],
        [2.4, -1.5, 1.2, 3.0],
        [-0.2, 0.45, 0.1, 0.5],
    ];
    let flat_bits = 0x8000_0000u32; // -0.0: must arrive bit for bit
    let attributes = [
        0.0,
        10.0,
        f32::from_bits(flat_bits),
        1.0,
        -4.0,
        7.0,
        0.5,
        2.0,
        3.0,
    ];
    let interpolation = [
        Interpolation::Smooth,
        Interpolation::NoPerspective,
        Interpolation::Flat,
    ];
    let sink = CoverageSink::new(W, H, 3);
    let vertices = VertexStream {
        positions: &p,
        attributes: &attributes,
        interpolation: &interpolation,
        point_sizes: None,
    };
    rasterize(
        &state(),
        &vertices,
        Primitives::Triangles(&[[0, 1, 2]]),
        &sink,
    )
    .expect("valid draw");
    let images = sink.images();
    let screen: Vec<(f64, f64, f64, f64)> = p
        .iter()
        .map(|v| {
            let w = f64::from(v[3]);
            let x = (f64::from(v[0]) / w + 1.0) * 0.5 * f64::from(W);
            let y = (f64::from(v[1]) / w + 1.0) * 0.5 * f64::from(H);
            (x, y, f64::from(v[2]) / w, 1.0 / w)
        })
        .collect();
    let area = |a: (f64, f64), b: (f64, f64), c: (f64, f64)| {
        (b.0 - a.0) * (c.1 - a.1) - (c.0 - a.0) * (b.1 - a.1)
    };
    let xy = |i: usize| (screen[i].0, screen[i].1);
    let total = area(xy(0), xy(1), xy(2));
    let mut covered = 0;
    for py in 0..H {
        for px in 0..W {
            let i = (py * W + px) as usize;
            if images.counts[i] == 0 {
                continue;
            }
            covered += 1;
            let c = (f64::from(px) + 0.5, f64::from(py) + 0.5);
            let l = [
                area(c, xy(1), xy(2)) / total,
                area(xy(0), c, xy(2)) / total,
                area(xy(0), xy(1), c) / total,
            ];
            let q: Vec<f64> = (0..3).map(|v| l[v] * screen[v].3).collect();
            let qs: f64 = q.iter().sum();
            let attr = |v: usize, k: usize| f64::from(attributes[v * 3 + k]);
            let smooth: f64 = (0..3).map(|v| q[v] / qs * attr(v, 0)).sum();
            let linear: f64 = (0..3).map(|v| l[v] * attr(v, 1)).sum();
            let depth: f64 = (0..3).map(|v| l[v] * screen[v].2).sum();
            assert!(
                (f64::from(images.attributes[i * 3]) - smooth).abs() < 2e-3,
                "smooth at ({px},{py}): {} vs {smooth}",
                images.attributes[i * 3]
            );
            assert!(
                (f64::from(images.attributes[i * 3 + 1]) - linear).abs() < 2e-3,
                "noperspective at ({px},{py})"
            );
            assert_eq!(
                images.attributes[i * 3 + 2].to_bits(),
                flat_bits,
                "flat at ({px},{py})"
            );
            assert!(
                (f64::from(images.depth[i]) - depth).abs() < 1e-4,
                "depth at ({px},{py})"
            );
        }
    }
    assert!(covered > 500);
}

fn bits(images: &CoverageImages) -> (Vec<u32>, Vec<u32>, Vec<u32>, Vec<bool>) {
    (
        images.counts.clone(),
        images.depth.iter().map(|d| d.to_bits()).collect(),
        images.attributes.iter().map(|a| a.to_bits()).collect(),
        images.front_facing.clone(),
    )
}

#[test]
fn one_and_many_threads_give_identical_results() {
    let mut rng = Rng(7);
    // Several setup chunks, so chunk order matters too.
    let n = 5000;
    let positions: Vec<[f32; 4]> = (0..3 * n)
        .map(|_| {
            let w = rng.range(0.5, 2.0) as f32;
            [
                rng.range(-1.3, 1.3) as f32 * w,
                rng.range(-1.3, 1.3) as f32 * w,
                rng.range(-0.2, 1.1) as f32 * w,
                w,
            ]
        })
        .collect();
    let attributes: Vec<f32> = (0..3 * n * 2)
        .map(|_| rng.range(-1.0, 1.0) as f32)
        .collect();
    let tris: Vec<[u32; 3]> = (0..n as u32)
        .map(|i| [3 * i, 3 * i + 1, 3 * i + 2])
        .collect();
    let interpolation = [Interpolation::Smooth, Interpolation::Flat];
    let run = |workers: Workers<'_>| {
        let sink = CoverageSink::new(W, H, 2);
        let vertices = VertexStream {
            positions: &positions,
            attributes: &attributes,
            interpolation: &interpolation,
            point_sizes: None,
        };
        rasterize_on(
            workers,
            &state(),
            &vertices,
            Primitives::Triangles(&tris),
            &sink,
        )
        .expect("valid draw");
        bits(&sink.images())
    };
    let one = run(Workers::CallingThread);
    assert!(one.0.iter().any(|&c| c > 1), "the scene has overdraw");
    for threads in [1, 2, 4] {
        let pool = WorkerPool::new(threads).expect("pool");
        assert!(
            one == run(Workers::Pool(&pool)),
            "a pool of {threads} threads differs from the calling thread alone"
        );
    }
}

/// A [`CoverageSink`] fed through [`TileFragments::run`] that checks the shape of every run
/// it is handed and that its blocks stay inside the tile.
struct RunCheckingSink(CoverageSink);

struct RunCheckingTile {
    tile: CoverageTile,
    bounds: (u32, u32, u32, u32),
    runs: usize,
}

impl FragmentSink for RunCheckingSink {
    type Tile = RunCheckingTile;
    fn begin_tile(&self, x: u32, y: u32, width: u32, height: u32) -> RunCheckingTile {
        RunCheckingTile {
            tile: self.0.begin_tile(x, y, width, height),
            bounds: (x, y, x + width, y + height),
            runs: 0,
        }
    }
    fn end_tile(&self, tile: RunCheckingTile) {
        assert!(tile.runs > 0, "a tile without runs was started");
        self.0.end_tile(tile.tile);
    }
}

impl TileFragments for RunCheckingTile {
    fn batch(&mut self, _: &FragmentBatch<'_>) {
        panic!("the rasterizer hands over runs");
    }
    fn run(&mut self, run: &FragmentRun<'_>) {
        let n = run.blocks();
        assert!((1..=RUN_BLOCKS).contains(&n), "{n} blocks");
        assert!(
            run.masks[0] != 0 && run.masks[n - 1] != 0,
            "{:?}",
            run.masks
        );
        assert_eq!(run.attributes.len(), n * run.components);
        assert_eq!((run.x % 4, run.y % 2), (0, 0));
        for i in 0..n {
            let batch = run.batch(i).expect("every block of the run");
            for lane in 0..8 {
                if batch.mask & (1 << lane) != 0 {
                    let (dx, dy) = lane_offset(lane);
                    let (x, y) = (batch.x + dx, batch.y + dy);
                    let (x0, y0, x1, y1) = self.bounds;
                    assert!(
                        x >= x0 && x < x1 && y >= y0 && y < y1,
                        "({x}, {y}) outside the tile"
                    );
                }
            }
            if batch.mask != 0 {
                self.tile.batch(&batch);
            }
        }
        self.runs += 1;
    }
}

#[test]
fn runs_are_well_formed_and_stay_inside_their_tile() {
    let mut rng = Rng(23);
    let n = 3000;
    let positions: Vec<[f32; 4]> = (0..3 * n)
        .map(|i| {
            // Mostly small and medium triangles, every seventh one huge.
            let spread = if (i / 3) % 7 == 0 { 40.0 } else { 1.3 };
            let w = rng.range(0.5, 2.0) as f32;
            [
                rng.range(-spread, spread) as f32 * w,
                rng.range(-spread, spread) as f32 * w,
                rng.range(0.0, 1.0) as f32 * w,
                w,
            ]
        })
        .collect();
    let attributes: Vec<f32> = (0..3 * n * 3)
        .map(|_| rng.range(-1.0, 1.0) as f32)
        .collect();
    let tris: Vec<[u32; 3]> = (0..n as u32)
        .map(|i| [3 * i, 3 * i + 1, 3 * i + 2])
        .collect();
    let interpolation = [
        Interpolation::Smooth,
        Interpolation::NoPerspective,
        Interpolation::Flat,
    ];
    let vertices = VertexStream {
        positions: &positions,
        attributes: &attributes,
        interpolation: &interpolation,
        point_sizes: None,
    };
    let mut s = state();
    s.scissor = Rect {
        x: 5,
        y: 3,
        width: 101,
        height: 77,
    };
    let reference = CoverageSink::new(W, H, 3);
    let expected =
        rasterize(&s, &vertices, Primitives::Triangles(&tris), &reference).expect("valid draw");
    let checked = RunCheckingSink(CoverageSink::new(W, H, 3));
    let stats =
        rasterize(&s, &vertices, Primitives::Triangles(&tris), &checked).expect("valid draw");
    assert_eq!(stats, expected);
    assert!(bits(&checked.0.images()) == bits(&reference.images()));
    assert!(reference.images().counts.iter().any(|&c| c > 1));
}

#[test]
fn scissor_limits_coverage() {
    let mut s = state();
    s.scissor = Rect {
        x: 20,
        y: 10,
        width: 30,
        height: 5,
    };
    let single = [
        [-2.0f32, -2.0, 0.5, 1.0],
        [6.0, -2.0, 0.5, 1.0],
        [-2.0, 6.0, 0.5, 1.0],
    ];
    let images = draw(&s, &single, &[[0, 1, 2]]);
    assert_eq!(images.counts, box_pixels(20.0, 10.0, 50.0, 15.0));
}

#[test]
fn points_are_centred_squares_and_lines_width_one_rectangles() {
    let positions = [clip(10.0, 10.0), clip(2.0, 30.5), clip(12.0, 30.5)];
    let attributes = [5.0, 0.0, 1.0];
    let sizes = [4.0, 1.0, 1.0];
    let interpolation = [Interpolation::NoPerspective];
    let vertices = VertexStream {
        positions: &positions,
        attributes: &attributes,
        interpolation: &interpolation,
        point_sizes: Some(&sizes),
    };
    let sink = CoverageSink::new(W, H, 1);
    rasterize(&state(), &vertices, Primitives::Points(&[0]), &sink).expect("valid draw");
    assert_eq!(sink.images().counts, box_pixels(8.0, 8.0, 12.0, 12.0));
    let sink = CoverageSink::new(W, H, 1);
    rasterize(&state(), &vertices, Primitives::Lines(&[[1, 2]]), &sink).expect("valid draw");
    let images = sink.images();
    assert_eq!(images.counts, box_pixels(2.0, 30.0, 12.0, 31.0));
    for px in 2..12u32 {
        let expected = (f64::from(px) + 0.5 - 2.0) / 10.0;
        assert!((f64::from(images.attributes[(30 * W + px) as usize]) - expected).abs() < 1e-4);
    }
}

#[test]
fn bad_indices_and_lengths_are_errors() {
    let positions = [clip(1.0, 1.0); 3];
    let vertices = VertexStream {
        positions: &positions,
        attributes: &[],
        interpolation: &[],
        point_sizes: None,
    };
    let sink = CoverageSink::new(W, H, 0);
    assert!(rasterize(
        &state(),
        &vertices,
        Primitives::Triangles(&[[0, 1, 3]]),
        &sink
    )
    .is_err());
    let bad = VertexStream {
        attributes: &[1.0],
        interpolation: &[Interpolation::Smooth],
        ..vertices
    };
    assert!(rasterize(&state(), &bad, Primitives::Points(&[0]), &sink).is_err());
    let mut s = state();
    s.viewport.width = f32::NAN;
    assert!(rasterize(&s, &vertices, Primitives::Points(&[0]), &sink).is_err());
}

/// A rough throughput figure, not a benchmark: `cargo test --test raster -- --ignored --nocapture`.
#[test]
#[ignore]
fn rough_throughput() {
    let mut rng = Rng(99);
    let n = 200_000u32;
    let mut positions = Vec::new();
    for _ in 0..n {
        let (x, y) = (
            rng.range(0.0, f64::from(W) - 5.0),
            rng.range(0.0, f64::from(H) - 5.0),
        );
        positions.extend([clip(x, y), clip(x + 4.0, y), clip(x, y + 4.0)]);
    }
    let tris: Vec<[u32; 3]> = (0..n).map(|i| [3 * i, 3 * i + 1, 3 * i + 2]).collect();
    let start = std::time::Instant::now();
    let images = draw(&state(), &positions, &tris);
    let secs = start.elapsed().as_secs_f64();
    let pixels: u64 = images.counts.iter().map(|&c| u64::from(c)).sum();
    println!(
        "{n} 8-px triangles: {:.2} Mtris/s, {:.1} Mpix/s (1 thread)",
        f64::from(n) / secs / 1e6,
        pixels as f64 / secs / 1e6
    );
    let full = [
        [-1.0f32, -1.0, 0.5, 1.0],
        [3.0, -1.0, 0.5, 1.0],
        [-1.0, 3.0, 0.5, 1.0],
    ];
    let tris: Vec<[u32; 3]> = vec![[0, 1, 2]; 2000];
    let start = std::time::Instant::now();
    draw(&state(), &full, &tris);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "full-screen: {:.1} Mpix/s (1 thread)",
        2000.0 * f64::from(W * H) / secs / 1e6
    );
}

/// Depth bias (Vulkan "Depth Bias"): o = m·slope + r·constant, m = max(|∂z/∂x|, |∂z/∂y|),
/// r = 2^-24 for a 24-bit UNORM attachment, clamped by a positive or negative clamp, added to
/// every fragment's depth of a polygon — computed here from the geometry, in f64.
#[test]
fn depth_bias_adds_the_slope_scaled_offset_and_respects_its_clamp() {
    use renderer::raster::DepthBias;
    // Depth 0.25 at x = 0 rising to 0.75 at x = W; constant along y.
    let (z0, z1) = (0.25f64, 0.75f64);
    let at = |x: f64, y: f64| {
        let mut p = clip(x, y);
        p[2] = (z0 + (z1 - z0) * x / f64::from(W)) as f32;
        p
    };
    let positions = [
        at(0.0, 0.0),
        at(f64::from(W), 0.0),
        at(0.0, f64::from(H)),
        at(f64::from(W), f64::from(H)),
    ];
    let tris = [[0, 1, 2], [2, 1, 3]];
    let mut s = state();
    s.depth_resolution = DepthResolution::Unorm { bits: 24 };
    let flat = draw(&s, &positions, &tris);
    let m = (z1 - z0) / f64::from(W);
    let r = (-24f64).exp2();
    let cases = [
        // (constant, slope, clamp, expected offset)
        (100.0f32, 2.0f32, 0.0f32, 2.0 * m + 100.0 * r),
        (100.0, 2.0, 0.001, 0.001),
        (-100.0, -2.0, -0.001, -0.001),
        (-100.0, -2.0, 0.0, -2.0 * m - 100.0 * r),
        (0.0, 0.0, 0.0, 0.0),
    ];
    for (constant, slope, clamp, want) in cases {
        s.depth_bias = Some(DepthBias {
            constant,
            slope,
            clamp,
        });
        let biased = draw(&s, &positions, &tris);
        assert_eq!(biased.counts, flat.counts, "bias must not change coverage");
        for (i, (&b, &f)) in biased.depth.iter().zip(&flat.depth).enumerate() {
            if flat.counts[i] == 0 {
                continue;
            }
            let got = f64::from(b) - f64::from(f);
            assert!(
                (got - want).abs() < 2e-7,
                "bias ({constant}, {slope}, {clamp}) at pixel {i}: offset {got}, want {want}"
            );
        }
    }
}

/// [`CoverageSink`] that also takes covered rectangles of primitives with constant inputs
/// and keeps them apart, with their inputs.
struct RectCoverage {
    inner: CoverageSink,
    rects: std::sync::Mutex<Vec<(CoveredRect, Vec<f32>)>>,
}

struct RectCoverageTile {
    inner: CoverageTile,
    rects: Vec<(CoveredRect, Vec<f32>)>,
}

impl TileFragments for RectCoverageTile {
    fn batch(&mut self, batch: &FragmentBatch<'_>) {
        self.inner.batch(batch);
    }

    fn takes_shaded_rects(&self) -> bool {
        true
    }

    fn covered_rect_shaded(&mut self, rect: &CoveredRect, inputs: &[f32]) -> bool {
        self.rects.push((*rect, inputs.to_vec()));
        true
    }
}

impl FragmentSink for RectCoverage {
    type Tile = RectCoverageTile;

    fn begin_tile(&self, x: u32, y: u32, width: u32, height: u32) -> RectCoverageTile {
        RectCoverageTile {
            inner: self.inner.begin_tile(x, y, width, height),
            rects: Vec::new(),
        }
    }

    fn end_tile(&self, tile: RectCoverageTile) {
        self.inner.end_tile(tile.inner);
        self.rects.lock().expect("rectangles").extend(tile.rects);
    }

    fn may_take_rects(&self) -> bool {
        true
    }
}

/// Quads of two triangles (both windings, corners on the 4×2 block grid or not, inside the
/// clip volume or crossing it), most with one colour at all six vertices, some not, drawn
/// with rectangle pairs set up as one ([`RasterState::rect_pairs`]) and without.
#[test]
fn rectangle_pairs_set_up_as_one_cover_what_their_triangles_cover() {
    let mut rng = Rng(0x5eed_9a1f);
    let components = 2;
    let (mut positions, mut attributes, mut tris) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..600u32 {
        let snap = |v: f64, step: f64| match n % 4 {
            0 => v,
            _ => (v / step).round() * step,
        };
        let (x0, y0) = (
            snap(rng.range(-20.0, 140.0), 4.0),
            snap(rng.range(-20.0, 110.0), 2.0),
        );
        let (w, h) = (
            snap(rng.range(1.0, 40.0), 4.0),
            snap(rng.range(1.0, 30.0), 2.0),
        );
        let (x1, y1) = (x0 + w, y0 + h);
        let color = [rng.range(-1.0, 1.0) as f32, rng.range(0.0, 1.0) as f32];
        let corners = match n % 5 {
            // The other diagonal, and the other winding.
            0 => [(x1, y0), (x1, y1), (x0, y1), (x1, y0), (x0, y1), (x0, y0)],
            1 => [(x0, y0), (x1, y1), (x1, y0), (x0, y0), (x0, y1), (x1, y1)],
            _ => [(x0, y0), (x1, y0), (x1, y1), (x0, y0), (x1, y1), (x0, y1)],
        };
        let first = positions.len() as u32;
        for (k, &(x, y)) in corners.iter().enumerate() {
            positions.push(clip(x, y));
            let varies = n % 7 == 3 && k == 4;
            attributes.extend_from_slice(&[color[0] + f32::from(u8::from(varies)), color[1]]);
        }
        tris.push([first, first + 1, first + 2]);
        tris.push([first + 3, first + 4, first + 5]);
    }
    let interpolation = [Interpolation::Smooth, Interpolation::Flat];
    let vertices = VertexStream {
        positions: &positions,
        attributes: &attributes,
        interpolation: &interpolation,
        point_sizes: None,
    };
    for (cull_mode, scissor) in [
        (CullMode::None, None),
        (CullMode::Back, None),
        (CullMode::None, Some((6, 3, 101, 77))),
    ] {
        let mut base = state();
        base.cull_mode = cull_mode;
        if let Some((x, y, width, height)) = scissor {
            base.scissor = Rect {
                x,
                y,
                width,
                height,
            };
        }
        let paired = RasterState {
            rect_pairs: true,
            ..base
        };
        let draw = |state: &RasterState| {
            let sink = CoverageSink::new(W, H, components);
            let stats = rasterize(state, &vertices, Primitives::Triangles(&tris), &sink)
                .expect("valid draw");
            (stats, sink.images())
        };
        // A sink that takes no rectangle gets the very setups of the triangles.
        let (stats, want) = draw(&base);
        let (paired_stats, got) = draw(&paired);
        assert_eq!(
            (stats.triangles, stats.culled),
            (paired_stats.triangles, paired_stats.culled)
        );
        assert!(bits(&want) == bits(&got), "{cull_mode:?}, {scissor:?}");

        // One that takes them gets every pixel once per primitive, with the same values.
        let sink = RectCoverage {
            inner: CoverageSink::new(W, H, components),
            rects: std::sync::Mutex::new(Vec::new()),
        };
        rasterize(&paired, &vertices, Primitives::Triangles(&tris), &sink).expect("valid draw");
        let mut images = sink.inner.images();
        let rects = sink.rects.into_inner().expect("rectangles");
        let mut once = vec![None; (W * H) as usize];
        for (rect, inputs) in &rects {
            assert!(rect.x0 % 4 == 0 && rect.x1 % 4 == 0 && rect.y0 % 2 == 0 && rect.y1 % 2 == 0);
            for y in rect.y0..rect.y1 {
                for x in rect.x0..rect.x1 {
                    let p = (y * W + x) as usize;
                    images.counts[p] += 1;
                    once[p] = Some((inputs.clone(), rect.front_facing));
                }
            }
        }
        assert_eq!(images.counts, want.counts, "{cull_mode:?}, {scissor:?}");
        for (p, value) in once.iter().enumerate() {
            if let (Some((inputs, facing)), 1) = (value, want.counts[p]) {
                let expected = &want.attributes[p * components..(p + 1) * components];
                assert_eq!(inputs.as_slice(), expected, "pixel {p}");
                assert_eq!(*facing, want.front_facing[p], "pixel {p}");
            }
        }
        assert!(rects.len() > 100, "{} rectangles taken", rects.len());
    }
}
