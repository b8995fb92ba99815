//! Scene of issue 7: seamless cube-map filtering. A 16×16-per-face RGBA8 cube whose faces
//! hold distinct gradients is sampled with LINEAR filtering along directions that sweep
//! across each of the cube's 12 edges and 8 corners (one cell each); the direction rides in
//! the vertex colour (`color.vert` + `cube_lookup.frag`). The check compares every pixel
//! with a CPU sampler that follows the spec's "Cube Map Edge Handling": texels beyond an
//! edge come from the adjacent face, a texel beyond a corner is the average of the three
//! texels that meet there.

use ash::vk;

use super::textures::{draw_with, sampler_info, textured_shaders};
use super::{image, ndc, rgba8};
use crate::graphics::{
    GraphicsContext, PassMode, PosColor, ReadImage, RenderTarget, Sampler, Texture, TextureDesc,
    TextureSets,
};
use crate::GpuError;

/// Face side in texels.
pub(super) const FACE: u32 = 16;
/// Side of one cell, in pixels.
pub(super) const CELL: u32 = 24;
pub(super) const COLUMNS: u32 = 5;
pub(super) const ROWS: u32 = 4;
/// Half the extent of a cell's sweep, relative to the length of its centre direction.
const SPAN: f32 = 0.3;

/// Texel (x, y) of face `face` (+X, −X, +Y, −Y, +Z, −Z).
pub(super) fn texel(face: u32, x: u32, y: u32) -> [u8; 4] {
    [
        (x * 16 + 8) as u8,
        (y * 16 + 8) as u8,
        (face * 40 + 20) as u8,
        255,
    ]
}

/// The centre directions of the cells: the midpoints of the 12 edges, then the 8 corners.
pub(super) fn centres() -> Vec<[f32; 3]> {
    let mut out = Vec::new();
    for axis in 0..3 {
        for a in [-1.0f32, 1.0] {
            for b in [-1.0f32, 1.0] {
                let mut c = [0.0; 3];
                c[(axis + 1) % 3] = a;
                c[(axis + 2) % 3] = b;
                out.push(c);
            }
        }
    }
    for x in [-1.0f32, 1.0] {
        for y in [-1.0f32, 1.0] {
            for z in [-1.0f32, 1.0] {
                out.push([x, y, z]);
            }
        }
    }
    out
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn scaled(v: [f32; 3], len: f32) -> [f32; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    v.map(|c| c * len / n)
}

/// Cell `centre`'s direction at (a, b) ∈ [−1, 1]²: the centre plus two perpendicular sweeps.
pub(super) fn cell_direction(centre: [f32; 3], a: f32, b: f32) -> [f32; 3] {
    let len = (centre.iter().map(|c| c * c).sum::<f32>()).sqrt() * SPAN;
    // An axis that is not parallel to the centre (none of them is: every centre has two
    // or three non-zero coordinates).
    let u = scaled(cross(centre, [1.0, 0.0, 0.0]), len);
    let u = if u.iter().all(|c| c.is_finite()) && u != [0.0; 3] {
        u
    } else {
        scaled(cross(centre, [0.0, 1.0, 0.0]), len)
    };
    let v = scaled(cross(centre, u), len);
    std::array::from_fn(|k| centre[k] + a * u[k] + b * v[k])
}

/// One quad per cell with the cell's directions at its corners.
fn cell_quads(size: (u32, u32)) -> Vec<[PosColor; 6]> {
    centres()
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let (col, row) = (i as u32 % COLUMNS, i as u32 / COLUMNS);
            let (x0, y0) = ((col * CELL) as f32, (row * CELL) as f32);
            let (x1, y1) = (x0 + CELL as f32, y0 + CELL as f32);
            let v = |x: f32, y: f32, a: f32, b: f32| {
                let d = cell_direction(c, a, b);
                PosColor::new(ndc(x, size.0), ndc(y, size.1), 0.5, [d[0], d[1], d[2], 0.0])
            };
            [
                v(x0, y0, -1.0, -1.0),
                v(x1, y0, 1.0, -1.0),
                v(x1, y1, 1.0, 1.0),
                v(x0, y0, -1.0, -1.0),
                v(x1, y1, 1.0, 1.0),
                v(x0, y1, -1.0, 1.0),
            ]
        })
        .collect()
}

/// The cube of [`texel`] sampled with LINEAR filtering across every edge and corner.
pub fn seams(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let size = (CELL * COLUMNS, CELL * ROWS);
    let target = RenderTarget::new(
        ctx,
        size.0,
        size.1,
        &[vk::Format::R8G8B8A8_UNORM],
        None,
        PassMode::RenderPass,
    )?;
    let faces: Vec<Vec<u8>> = (0..6)
        .map(|f| {
            (0..FACE * FACE)
                .flat_map(|i| texel(f, i % FACE, i / FACE))
                .collect()
        })
        .collect();
    let data = [faces];
    let texture = Texture::new(
        ctx,
        &TextureDesc {
            format: vk::Format::R8G8B8A8_UNORM,
            width: FACE,
            height: FACE,
            data: &data,
            view_type: vk::ImageViewType::CUBE,
            aspect: vk::ImageAspectFlags::COLOR,
        },
    )?;
    let sampler = Sampler::new(
        ctx,
        &sampler_info(
            vk::Filter::LINEAR,
            vk::SamplerMipmapMode::NEAREST,
            vk::SamplerAddressMode::CLAMP_TO_EDGE,
            0.0,
        ),
    )?;
    let quads = cell_quads(size);
    let sets = TextureSets::all_of(ctx, quads.len() as u32, &texture, &sampler)?;
    draw_with(
        ctx,
        &target,
        &sets,
        &quads,
        &textured_shaders("cube_lookup.frag", &[])?,
    )
}

/// The point of `face`'s plane (major axis ±1) at face coordinates (sc, tc).
fn face_point(face: u32, sc: f64, tc: f64) -> [f64; 3] {
    match face {
        0 => [1.0, -tc, -sc],
        1 => [-1.0, -tc, sc],
        2 => [sc, 1.0, tc],
        3 => [sc, -1.0, -tc],
        4 => [sc, -tc, 1.0],
        _ => [-sc, -tc, -1.0],
    }
}

/// Face selection (z wins ties, then y) and the face coordinates (s, t).
pub(super) fn select(d: [f64; 3]) -> (u32, f64, f64) {
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

/// Texel (i, j) of `face`, one texel beyond at most one edge in each direction: beyond one
/// edge, the neighbouring face's texel that touches the edge at the same place (the face's
/// plane folded about the edge); beyond a corner, the average of the three texels there.
pub(super) fn seamless_texel(face: u32, i: i64, j: i64) -> [f64; 4] {
    let n = i64::from(FACE);
    let inside = |c: i64| (0..n).contains(&c);
    let fetch = |f: u32, x: i64, y: i64| texel(f, x as u32, y as u32).map(f64::from);
    let neighbour = |i: i64, j: i64| {
        let centre = |c: i64| (2 * c + 1) as f64 / n as f64 - 1.0;
        let mut p = face_point(face, centre(i), centre(j));
        let major = (0..3).find(|&k| p[k].abs() == 1.0).unwrap_or(0);
        if let Some(k) = (0..3).find(|&k| k != major && p[k].abs() > 1.0) {
            let excess = p[k].abs() - 1.0;
            p[k] = p[k].signum();
            p[major] = p[major].signum() * (1.0 - excess);
        }
        let (f, s, t) = select(p);
        let at = |c: f64| ((c * n as f64).floor() as i64).clamp(0, n - 1);
        fetch(f, at(s), at(t))
    };
    match (inside(i), inside(j)) {
        (true, true) => fetch(face, i, j),
        (false, false) => {
            let (ci, cj) = (i.clamp(0, n - 1), j.clamp(0, n - 1));
            let three = [fetch(face, ci, cj), neighbour(i, cj), neighbour(ci, j)];
            std::array::from_fn(|c| (three[0][c] + three[1][c] + three[2][c]) / 3.0)
        }
        _ => neighbour(i, j),
    }
}

/// The spec's LINEAR cube sample along `dir`.
pub(super) fn sample(dir: [f64; 3]) -> [f64; 4] {
    let (face, s, t) = select(dir);
    let n = f64::from(FACE);
    let (u, v) = (s * n - 0.5, t * n - 0.5);
    let (i0, j0) = (u.floor(), v.floor());
    let (a, b) = (u - i0, v - j0);
    let (i0, j0) = (i0 as i64, j0 as i64);
    let mut out = [0.0; 4];
    for (di, dj, w) in [
        (0, 0, (1.0 - a) * (1.0 - b)),
        (1, 0, a * (1.0 - b)),
        (0, 1, (1.0 - a) * b),
        (1, 1, a * b),
    ] {
        let c = seamless_texel(face, i0 + di, j0 + dj);
        for k in 0..4 {
            out[k] += w * c[k];
        }
    }
    out
}

/// Every pixel against [`sample`] at its centre's direction (± 6 of 255; up to 1 % of the
/// pixels may differ more where the direction's rounding picks another face at a corner).
/// A per-face clamp (no seamless filtering) misses by up to 20 in blue along every seam.
pub fn check_seams(images: &[ReadImage]) -> Result<(), String> {
    let img = image(images, "color0")?;
    let mut bad = Vec::new();
    let mut total = 0usize;
    for (i, c) in centres().into_iter().enumerate() {
        let (col, row) = (i as u32 % COLUMNS, i as u32 / COLUMNS);
        for py in 0..CELL {
            for px in 0..CELL {
                let ab = |p: u32| (f64::from(p) + 0.5) / f64::from(CELL) * 2.0 - 1.0;
                let d = cell_direction(c, ab(px) as f32, ab(py) as f32).map(f64::from);
                let want = sample(d);
                let (x, y) = (col * CELL + px, row * CELL + py);
                let got = rgba8(img, x, y);
                total += 1;
                if got
                    .iter()
                    .zip(want)
                    .any(|(&g, w)| (f64::from(g) - w).abs() > 6.0)
                {
                    bad.push(format!(
                        "pixel ({x}, {y}) direction {d:.3?} is {got:?}, expected {want:.1?}"
                    ));
                }
            }
        }
    }
    if bad.len() * 100 > total {
        return Err(format!(
            "{} of {total} pixels off by more than 6, first: {}",
            bad.len(),
            bad.first().map_or("", String::as_str)
        ));
    }
    Ok(())
}
