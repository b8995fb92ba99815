//! Scenes of issue 7: cube-map arrays (imageCubeArray). Two 16×16 RGBA8 cubes with two
//! levels: cube 0's level 0 is the cube-seams scene's texture ([`cube::texel`]), cube 1's
//! the same with red inverted and alpha 128; level 1 is one colour per cube. The cells of
//! the cube-seams scene (directions across every edge and corner) are drawn once per cube
//! with `cube_array_lookup.frag`: implicit-LOD sampling, explicit LOD 0, 0.5 and 1 (LINEAR
//! between levels), and gathers of red and blue across the edges. Every variant also checks
//! `textureSize` (w, h, cubes) in the shader. The checks use the cube-seams scene's CPU
//! sampler, which follows the spec's cube-map edge handling.

use ash::vk;

use super::cube::{self, CELL, COLUMNS, FACE, ROWS};
use super::textures::{draw_with, sampler_info, textured_shaders};
use super::{image, ndc, rgba8};
use crate::graphics::{
    GraphicsContext, PassMode, PosColor, ReadImage, RenderTarget, Sampler, Texture, TextureDesc,
    TextureSets,
};
use crate::GpuError;

/// Level-1 colour of each cube.
const LEVEL1: [[u8; 4]; 2] = [[30, 200, 90, 255], [200, 30, 90, 128]];

/// Level-0 texel (x, y) of face `face` of cube `c`.
fn texel(c: u32, face: u32, x: u32, y: u32) -> [u8; 4] {
    let t = cube::texel(face, x, y);
    if c == 0 {
        t
    } else {
        [255 - t[0], t[1], t[2], 128]
    }
}

/// Cube 1's value of a (linear) combination of cube 0's texels.
fn of_cube(c: u32, v: [f64; 4]) -> [f64; 4] {
    if c == 0 {
        v
    } else {
        [255.0 - v[0], v[1], v[2], 128.0]
    }
}

/// What a scene draws: the shader's MODE, the sampler's largest LOD, the code each cell
/// gets (packed in the direction's w with the cube), and how many of the cells it draws.
struct Variant {
    mode: &'static str,
    max_lod: f32,
    code: fn(usize) -> u32,
    cells: usize,
}

const SAMPLE: Variant = Variant {
    mode: "0",
    max_lod: 0.0,
    code: |_| 0,
    cells: 20,
};
const LOD: Variant = Variant {
    mode: "1",
    max_lod: 1.0,
    code: |i| (i % 3) as u32,
    cells: 20,
};
/// Edge cells only: a gather at a corner has no fourth texel the spec defines.
const GATHER: Variant = Variant {
    mode: "2",
    max_lod: 0.0,
    code: |i| (i % 2) as u32,
    cells: 12,
};

fn size() -> (u32, u32) {
    (CELL * COLUMNS, 2 * CELL * ROWS)
}

/// Cell `i` of cube `c`: its pixel origin.
fn cell_origin(c: u32, i: usize) -> (u32, u32) {
    let (col, row) = (i as u32 % COLUMNS, i as u32 / COLUMNS);
    (col * CELL, (row + c * ROWS) * CELL)
}

fn quads(v: &Variant) -> Vec<[PosColor; 6]> {
    let size = size();
    let mut out = Vec::new();
    for c in 0..2u32 {
        for (i, centre) in cube::centres().into_iter().enumerate().take(v.cells) {
            let (x0, y0) = cell_origin(c, i);
            let (x0, y0) = (x0 as f32, y0 as f32);
            let (x1, y1) = (x0 + CELL as f32, y0 + CELL as f32);
            let w = (c + 2 * (v.code)(i)) as f32;
            let p = |x: f32, y: f32, a: f32, b: f32| {
                let d = cube::cell_direction(centre, a, b);
                PosColor::new(ndc(x, size.0), ndc(y, size.1), 0.5, [d[0], d[1], d[2], w])
            };
            out.push([
                p(x0, y0, -1.0, -1.0),
                p(x1, y0, 1.0, -1.0),
                p(x1, y1, 1.0, 1.0),
                p(x0, y0, -1.0, -1.0),
                p(x1, y1, 1.0, 1.0),
                p(x0, y1, -1.0, 1.0),
            ]);
        }
    }
    out
}

fn render(ctx: &GraphicsContext, v: &Variant) -> Result<Vec<ReadImage>, GpuError> {
    let size = size();
    let target = RenderTarget::new(
        ctx,
        size.0,
        size.1,
        &[vk::Format::R8G8B8A8_UNORM],
        None,
        PassMode::RenderPass,
    )?;
    let level0: Vec<Vec<u8>> = (0..12)
        .map(|layer| {
            (0..FACE * FACE)
                .flat_map(|i| texel(layer / 6, layer % 6, i % FACE, i / FACE))
                .collect()
        })
        .collect();
    let half = FACE / 2;
    let level1: Vec<Vec<u8>> = (0..12)
        .map(|layer: u32| LEVEL1[(layer / 6) as usize].repeat((half * half) as usize))
        .collect();
    let data = [level0, level1];
    let texture = Texture::new(
        ctx,
        &TextureDesc {
            format: vk::Format::R8G8B8A8_UNORM,
            width: FACE,
            height: FACE,
            data: &data,
            view_type: vk::ImageViewType::CUBE_ARRAY,
            aspect: vk::ImageAspectFlags::COLOR,
        },
    )?;
    let sampler = Sampler::new(
        ctx,
        &sampler_info(
            vk::Filter::LINEAR,
            vk::SamplerMipmapMode::LINEAR,
            vk::SamplerAddressMode::CLAMP_TO_EDGE,
            v.max_lod,
        ),
    )?;
    let quads = quads(v);
    let sets = TextureSets::all_of(ctx, quads.len() as u32, &texture, &sampler)?;
    draw_with(
        ctx,
        &target,
        &sets,
        &quads,
        &textured_shaders("cube_array_lookup.frag", &[("MODE", v.mode)])?,
    )
}

/// Implicit-LOD LINEAR sampling of both cubes (level 0: the sampler's max LOD is 0).
pub fn sample(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    render(ctx, &SAMPLE)
}

/// Explicit LOD 0, 0.5 and 1 in turn across the cells.
pub fn lod(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    render(ctx, &LOD)
}

/// Gathers of red and blue in turn across the edge cells.
pub fn gather(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    render(ctx, &GATHER)
}

/// The four texels' component `k` a gather along `dir` reads from cube `c` (i0j1, i1j1,
/// i1j0, i0j0, as `OpImageGather` orders them).
fn gathered(c: u32, dir: [f64; 3], k: usize) -> [f64; 4] {
    let (face, s, t) = cube::select(dir);
    let n = f64::from(FACE);
    let (i0, j0) = ((s * n - 0.5).floor() as i64, (t * n - 0.5).floor() as i64);
    [(0, 1), (1, 1), (1, 0), (0, 0)]
        .map(|(di, dj)| of_cube(c, cube::seamless_texel(face, i0 + di, j0 + dj))[k])
}

/// What pixel (px, py) of cell `i` of cube `c` should hold.
fn expected(v: &Variant, c: u32, i: usize, dir: [f64; 3]) -> [f64; 4] {
    let code = (v.code)(i);
    match v.mode {
        "0" => of_cube(c, cube::sample(dir)),
        "1" => {
            let l0 = of_cube(c, cube::sample(dir));
            let l1 = LEVEL1[c as usize].map(f64::from);
            let f = f64::from(code) * 0.5;
            std::array::from_fn(|k| l0[k] * (1.0 - f) + l1[k] * f)
        }
        _ => gathered(c, dir, if code == 0 { 0 } else { 2 }),
    }
}

/// Every drawn pixel against [`expected`] at its centre's direction: within `tolerance`,
/// save at most `percent` % of them (directions whose rounding picks another face at a
/// corner, or, for gathers, another texel at a texel boundary).
fn check(images: &[ReadImage], v: &Variant, tolerance: f64, percent: usize) -> Result<(), String> {
    let img = image(images, "color0")?;
    let mut bad = Vec::new();
    let mut total = 0usize;
    for c in 0..2u32 {
        for (i, centre) in cube::centres().into_iter().enumerate().take(v.cells) {
            let (x0, y0) = cell_origin(c, i);
            for py in 0..CELL {
                for px in 0..CELL {
                    let ab = |p: u32| (f64::from(p) + 0.5) / f64::from(CELL) * 2.0 - 1.0;
                    let d =
                        cube::cell_direction(centre, ab(px) as f32, ab(py) as f32).map(f64::from);
                    let want = expected(v, c, i, d);
                    let (x, y) = (x0 + px, y0 + py);
                    let got = rgba8(img, x, y);
                    total += 1;
                    if got == [255, 0, 255, 255] {
                        return Err(format!("pixel ({x}, {y}): textureSize is wrong (magenta)"));
                    }
                    if got
                        .iter()
                        .zip(want)
                        .any(|(&g, w)| (f64::from(g) - w).abs() > tolerance)
                    {
                        bad.push(format!(
                            "pixel ({x}, {y}) cube {c} direction {d:.3?} is {got:?}, \
                             expected {want:.1?}"
                        ));
                    }
                }
            }
        }
    }
    if bad.len() * 100 > total * percent {
        return Err(format!(
            "{} of {total} pixels off by more than {tolerance}, first: {}",
            bad.len(),
            bad.first().map_or("", String::as_str)
        ));
    }
    Ok(())
}

pub fn check_sample(images: &[ReadImage]) -> Result<(), String> {
    check(images, &SAMPLE, 6.0, 1)
}

pub fn check_lod(images: &[ReadImage]) -> Result<(), String> {
    check(images, &LOD, 6.0, 1)
}

pub fn check_gather(images: &[ReadImage]) -> Result<(), String> {
    check(images, &GATHER, 1.0, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cube_one_inverts_red_and_halves_alpha() {
        let t0 = texel(0, 2, 3, 4);
        let t1 = texel(1, 2, 3, 4);
        assert_eq!([255 - t0[0], t0[1], t0[2], 128], t1);
        assert_eq!(of_cube(1, t0.map(f64::from)), t1.map(f64::from));
    }

    #[test]
    fn gathers_inside_a_face_read_the_four_neighbours() {
        // +Z face centre: s = t = 0.5, so texels 7 and 8 in each direction.
        let g = gathered(0, [0.0, 0.0, 1.0], 0);
        let red = |x: u32| f64::from(cube::texel(4, x, 0)[0]);
        assert_eq!(g, [red(7), red(8), red(8), red(7)]);
    }
}
