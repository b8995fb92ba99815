//! Seamless cube-map filtering against a CPU reference written here from the Vulkan spec
//! ("Cube Map Face Selection", "Cube Map Edge Handling", "Texel Linear Filtering", "Texel
//! Gathering"): a LINEAR footprint or a gather that crosses a face edge reads the adjacent
//! face's texels, and a texel beyond a corner is the average of the three texels that meet
//! there. The neighbour of every edge is written out below as a table (worked out from the
//! face-selection table), independently of the renderer's own edge folding.

#![allow(clippy::unwrap_used)]

mod image_fixture;

use image_fixture::*;
use renderer::format::Format;
use renderer::image::{Image, ImageType};
use renderer::sampler::{Filter, SamplerState, ViewType};
use shader::abi::{image_flag, image_op};
use shader::ir::ImageDim;

/// Face side of level 0; levels 1 and 2 are 2×2 and 1×1.
const SIZE: u32 = 4;
const LEVELS: u32 = 3;

/// Texel (x, y) of face `face` (view layer: face + 6 × cube) on level `l`: a gradient along
/// x in R, along y in G, and a per-face, per-level constant in B and A.
fn texel(layer: u32, l: u32, x: i64, y: i64) -> [f32; 4] {
    let f = layer as f32;
    [
        f * 10.0 + x as f32,
        f * 10.0 + 0.5 * y as f32,
        100.0 + f + 0.25 * l as f32,
        1.0 + 0.125 * (x * y) as f32 + f,
    ]
}

fn cube_image(cubes: u32) -> Image {
    let img = image(
        ImageType::D2,
        Format::R32G32B32A32_SFLOAT,
        [SIZE, SIZE, 1],
        LEVELS,
        6 * cubes,
    );
    for layer in 0..6 * cubes {
        for l in 0..LEVELS {
            let n = SIZE >> l;
            for y in 0..n {
                for x in 0..n {
                    let v = texel(layer, l, i64::from(x), i64::from(y));
                    let bytes: Vec<u8> = v.iter().flat_map(|c| c.to_le_bytes()).collect();
                    img.write_texel(l, layer, [x, y, 0], &bytes).unwrap();
                }
            }
        }
    }
    img
}

/// The neighbouring face's texel for texel (i, j) of `face` lying one texel beyond exactly
/// one edge of an n×n face. Faces 0..6 = +X, −X, +Y, −Y, +Z, −Z; "left" is i < 0, "right"
/// i ≥ n, "top" j < 0, "bottom" j ≥ n.
fn edge_table(face: u32, i: i64, j: i64, n: i64) -> (u32, i64, i64) {
    let last = n - 1;
    let left = i < 0;
    let right = i >= n;
    let top = j < 0;
    match face {
        // +X
        0 if left => (4, last, j),
        0 if right => (5, 0, j),
        0 if top => (2, last, last - i),
        0 => (3, last, i),
        // −X
        1 if left => (5, last, j),
        1 if right => (4, 0, j),
        1 if top => (2, 0, i),
        1 => (3, 0, last - i),
        // +Y
        2 if left => (1, j, 0),
        2 if right => (0, last - j, 0),
        2 if top => (5, last - i, 0),
        2 => (4, i, 0),
        // −Y
        3 if left => (1, last - j, last),
        3 if right => (0, j, last),
        3 if top => (4, i, last),
        3 => (5, last - i, last),
        // +Z
        4 if left => (1, last, j),
        4 if right => (0, 0, j),
        4 if top => (2, i, last),
        4 => (3, i, 0),
        // −Z
        _ if left => (0, last, j),
        _ if right => (1, 0, j),
        _ if top => (2, last - i, 0),
        _ => (3, last - i, last),
    }
}

/// Texel (i, j) of `face` of cube `cube` on level `l`, with edge and corner handling.
fn ref_texel(cube: u32, face: u32, l: u32, i: i64, j: i64) -> [f32; 4] {
    let n = i64::from(SIZE >> l);
    let base = 6 * cube;
    let inside = |c: i64| (0..n).contains(&c);
    let neighbour = |i: i64, j: i64| {
        let (f, a, b) = edge_table(face, i, j, n);
        texel(base + f, l, a, b)
    };
    match (inside(i), inside(j)) {
        (true, true) => texel(base + face, l, i, j),
        (false, false) => {
            let (ci, cj) = (i.clamp(0, n - 1), j.clamp(0, n - 1));
            let three = [
                texel(base + face, l, ci, cj),
                neighbour(i, cj),
                neighbour(ci, j),
            ];
            std::array::from_fn(|c| (three[0][c] + three[1][c] + three[2][c]) / 3.0)
        }
        _ => neighbour(i, j),
    }
}

/// The direction of face coordinates (s, t) on `face`: the face-selection table backwards.
fn direction(face: u32, s: f32, t: f32) -> [f32; 3] {
    let (sc, tc) = (2.0 * s - 1.0, 2.0 * t - 1.0);
    match face {
        0 => [1.0, -tc, -sc],
        1 => [-1.0, -tc, sc],
        2 => [sc, 1.0, tc],
        3 => [sc, -1.0, -tc],
        4 => [sc, -tc, 1.0],
        _ => [-sc, -tc, -1.0],
    }
}

/// The spec's face selection (z wins ties over y and x, y over x) and (s, t).
fn select(d: [f32; 3]) -> (u32, f32, f32) {
    let [x, y, z] = d;
    let (face, sc, tc, ma) = if z.abs() >= x.abs() && z.abs() >= y.abs() {
        if z >= 0.0 {
            (4, x, -y, z.abs())
        } else {
            (5, -x, -y, z.abs())
        }
    } else if y.abs() >= x.abs() {
        if y >= 0.0 {
            (2, x, z, y.abs())
        } else {
            (3, x, -z, y.abs())
        }
    } else if x >= 0.0 {
        (0, -z, -y, x.abs())
    } else {
        (1, z, -y, x.abs())
    };
    (face, 0.5 * sc / ma + 0.5, 0.5 * tc / ma + 0.5)
}

/// The LINEAR footprint of `dir` on level `l`: (texel, weight) in the order i0j0, i1j0,
/// i0j1, i1j1.
fn footprint(cube: u32, dir: [f32; 3], l: u32) -> [([f32; 4], f32); 4] {
    let (face, s, t) = select(dir);
    let n = (SIZE >> l) as f32;
    let (u, v) = (s * n - 0.5, t * n - 0.5);
    let (i0, j0) = (u.floor() as i64, v.floor() as i64);
    let (a, b) = (u - u.floor(), v - v.floor());
    let at = |i, j| ref_texel(cube, face, l, i, j);
    [
        (at(i0, j0), (1.0 - a) * (1.0 - b)),
        (at(i0 + 1, j0), a * (1.0 - b)),
        (at(i0, j0 + 1), (1.0 - a) * b),
        (at(i0 + 1, j0 + 1), a * b),
    ]
}

fn ref_linear(cube: u32, dir: [f32; 3], l: u32) -> [f32; 4] {
    let mut out = [0.0f32; 4];
    for (t, w) in footprint(cube, dir, l) {
        for c in 0..4 {
            out[c] += w * t[c];
        }
    }
    out
}

/// Gather of `component` in the spec's order i0j1, i1j1, i1j0, i0j0 (level 0).
fn ref_gather(cube: u32, dir: [f32; 3], component: usize) -> [f32; 4] {
    let [t00, t10, t01, t11] = footprint(cube, dir, 0).map(|(t, _)| t[component]);
    [t01, t11, t10, t00]
}

/// Face coordinates on and near every edge and corner of a face at level `l`: exactly on
/// the edge, a fraction of a texel inside, and across the first texel centre.
fn edge_coordinates(l: u32) -> Vec<f32> {
    let n = (SIZE >> l) as f32;
    let near = [0.0, 0.1 / n, 0.3 / n, 0.5 / n, 0.8 / n];
    let mut out: Vec<f32> = near.to_vec();
    out.extend(near.iter().map(|c| 1.0 - c));
    out.push(0.5);
    out
}

fn linear_state() -> SamplerState {
    SamplerState {
        mag_filter: Filter::Linear,
        min_filter: Filter::Linear,
        ..sampler_state()
    }
}

/// Every (face, s, t) with s or t on or near an edge.
fn edge_points(l: u32) -> Vec<(u32, f32, f32)> {
    let coords = edge_coordinates(l);
    let mut out = Vec::new();
    for face in 0..6 {
        for &s in &coords {
            for &t in &coords {
                if s != 0.5 || t != 0.5 {
                    out.push((face, s, t));
                }
            }
        }
    }
    out
}

fn assert_near(got: [f32; 4], want: [f32; 4], what: &str) {
    for c in 0..4 {
        let tol = 1e-4 * want[c].abs().max(1.0);
        assert!(
            (got[c] - want[c]).abs() <= tol,
            "{what}: component {c}: got {got:?}, want {want:?}"
        );
    }
}

/// Runs `points` through the helper 8 lanes at a time with `req`'s op and flags, each lane
/// with its direction (and array layer `cube` when `arrayed`) and explicit LOD `l`.
fn run_points(
    table: &renderer::sampler::ImageTable,
    op: u32,
    component: u32,
    arrayed: Option<u32>,
    l: u32,
    points: &[(u32, f32, f32)],
    mut check: impl FnMut(usize, [f32; 4]),
) {
    let coord_count = if arrayed.is_some() { 4 } else { 3 };
    let flags = if op == image_op::SAMPLE {
        image_flag::LOD
    } else {
        0
    };
    for (chunk_index, chunk) in points.chunks(8).enumerate() {
        let mut req = request(op, flags, chunk.len(), coord_count);
        req.component = component;
        for (lane, &(face, s, t)) in chunk.iter().enumerate() {
            let d = direction(face, s, t);
            match arrayed {
                Some(cube) => set_coords(&mut req, lane, &[d[0], d[1], d[2], cube as f32]),
                None => set_coords(&mut req, lane, &d),
            }
            req.lod[lane] = (l as f32).to_bits();
        }
        let res = call(table, &req, None);
        for lane in 0..chunk.len() {
            check(chunk_index * 8 + lane, floats(&res, lane));
        }
    }
}

#[test]
fn edge_table_is_symmetric() {
    // Stepping off an edge and back off the neighbour's matching edge returns to the texel.
    for n in [1i64, 2, 4] {
        for face in 0..6 {
            for k in 0..n {
                for (i, j) in [(-1, k), (n, k), (k, -1), (k, n)] {
                    let (f, a, b) = edge_table(face, i, j, n);
                    assert!((0..n).contains(&a) && (0..n).contains(&b) && f != face);
                    let back = [(a - 1, b), (a + 1, b), (a, b - 1), (a, b + 1)]
                        .into_iter()
                        .filter(|&(x, y)| !(0..n).contains(&x) || !(0..n).contains(&y))
                        .any(|(x, y)| {
                            edge_table(f, x, y, n) == (face, i.clamp(0, n - 1), j.clamp(0, n - 1))
                        });
                    assert!(back, "n {n} face {face} ({i}, {j}) -> ({f}, {a}, {b})");
                }
            }
        }
    }
}

#[test]
fn linear_footprints_cross_cube_edges_and_corners_on_every_level() {
    let img = cube_image(1);
    let table = combined(
        view(&img, ViewType::Cube, LEVELS, 6),
        linear_state(),
        ImageDim::Cube,
        false,
    );
    for l in 0..LEVELS {
        let points = edge_points(l);
        run_points(&table, image_op::SAMPLE, 0, None, l, &points, |i, got| {
            let (face, s, t) = points[i];
            let d = direction(face, s, t);
            assert_near(
                got,
                ref_linear(0, d, l),
                &format!("level {l} face {face} (s, t) = ({s}, {t})"),
            );
        });
    }
}

#[test]
fn cube_array_layers_filter_seamlessly_within_their_own_cube() {
    let img = cube_image(2);
    let table = combined(
        view(&img, ViewType::CubeArray, LEVELS, 12),
        linear_state(),
        ImageDim::Cube,
        true,
    );
    for cube in 0..2 {
        for l in 0..LEVELS {
            let points = edge_points(l);
            run_points(
                &table,
                image_op::SAMPLE,
                0,
                Some(cube),
                l,
                &points,
                |i, got| {
                    let (face, s, t) = points[i];
                    let d = direction(face, s, t);
                    assert_near(
                        got,
                        ref_linear(cube, d, l),
                        &format!("cube {cube} level {l} face {face} (s, t) = ({s}, {t})"),
                    );
                },
            );
        }
    }
}

#[test]
fn gathers_take_edge_and_corner_texels_from_the_neighbouring_faces() {
    let img = cube_image(1);
    let table = combined(
        view(&img, ViewType::Cube, LEVELS, 6),
        // Gather uses the LINEAR rules whatever the sampler's filters.
        sampler_state(),
        ImageDim::Cube,
        false,
    );
    let points = edge_points(0);
    for component in 0..4u32 {
        run_points(
            &table,
            image_op::GATHER,
            component,
            None,
            0,
            &points,
            |i, got| {
                let (face, s, t) = points[i];
                let d = direction(face, s, t);
                assert_near(
                    got,
                    ref_gather(0, d, component as usize),
                    &format!("component {component} face {face} (s, t) = ({s}, {t})"),
                );
            },
        );
    }
}

#[test]
fn nearest_filtering_clamps_to_the_selected_face() {
    let img = cube_image(1);
    let table = combined(
        view(&img, ViewType::Cube, LEVELS, 6),
        sampler_state(),
        ImageDim::Cube,
        false,
    );
    let points = edge_points(0);
    run_points(&table, image_op::SAMPLE, 0, None, 0, &points, |i, got| {
        let (face, s, t) = points[i];
        let (f, s2, t2) = select(direction(face, s, t));
        let n = SIZE as f32;
        let at = |c: f32| ((c * n).floor() as i64).clamp(0, i64::from(SIZE) - 1);
        assert_near(
            got,
            texel(f, 0, at(s2), at(t2)),
            &format!("face {face} (s, t) = ({s}, {t})"),
        );
    });
}
