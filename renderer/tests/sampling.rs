//! The image helper's filtered reads against CPU references written here from the Vulkan
//! spec's formulas ("Texel Coordinate Wrapping", "Linear Filtering", "Level-of-Detail
//! Operation", "Cube Map Face Selection", "Depth Compare Operation", "Texel Gathering"):
//! a 4×4 RGBA8 image with a 3-level mip chain of distinct texels, sampled at chosen points.

#![allow(clippy::unwrap_used)]

mod image_fixture;

use image_fixture::*;
use renderer::format::{unpack_color, ColorValue, Format};
use renderer::image::{Image, ImageType};
use renderer::sampler::{
    AddressMode, BorderColor, CompareOp, ComponentSwizzle, Filter, MipmapMode, SamplerState,
    ViewType,
};
use shader::abi::{image_flag, image_op};
use shader::ir::ImageDim;

/// Texel (x, y) of level `l` of the test image, as bytes.
fn texel_bytes(l: u32, x: u32, y: u32) -> [u8; 4] {
    [
        (x * 60 + 10 + l) as u8,
        (y * 60 + 20 + l) as u8,
        (l * 80 + 30) as u8,
        (255 - x - 4 * y) as u8,
    ]
}

fn texel(l: u32, x: u32, y: u32) -> [f32; 4] {
    texel_bytes(l, x, y).map(|b| f32::from(b) / 255.0)
}

fn mip_image() -> Image {
    let img = image(ImageType::D2, Format::R8G8B8A8_UNORM, [4, 4, 1], 3, 1);
    for l in 0..3 {
        let n = 4 >> l;
        for y in 0..n {
            for x in 0..n {
                img.write_texel(l, 0, [x, y, 0], &texel_bytes(l, x, y))
                    .unwrap();
            }
        }
    }
    img
}

/// The spec's wrapping table, written out again.
fn ref_wrap(mode: AddressMode, i: i64, size: i64) -> Option<i64> {
    let mirror = |a: i64| if a >= 0 { a } else { -(1 + a) };
    match mode {
        AddressMode::Repeat => Some(((i % size) + size) % size),
        AddressMode::MirroredRepeat => {
            let m = ((i % (2 * size)) + 2 * size) % (2 * size);
            Some((size - 1) - mirror(m - size))
        }
        AddressMode::ClampToEdge => Some(i.max(0).min(size - 1)),
        AddressMode::ClampToBorder => {
            if i < 0 || i >= size {
                None
            } else {
                Some(i)
            }
        }
        AddressMode::MirrorClampToEdge => Some(mirror(i).max(0).min(size - 1)),
    }
}

fn ref_fetch(l: u32, mode: AddressMode, i: i64, j: i64, border: [f32; 4]) -> [f32; 4] {
    let n = 4i64 >> l;
    match (ref_wrap(mode, i, n), ref_wrap(mode, j, n)) {
        (Some(x), Some(y)) => texel(l, x as u32, y as u32),
        _ => border,
    }
}

fn ref_nearest(l: u32, mode: AddressMode, s: f32, t: f32) -> [f32; 4] {
    let n = (4 >> l) as f32;
    let (i, j) = ((s * n).floor() as i64, (t * n).floor() as i64);
    ref_fetch(l, mode, i, j, [0.0; 4])
}

fn ref_linear(l: u32, mode: AddressMode, s: f32, t: f32, border: [f32; 4]) -> [f32; 4] {
    let n = (4 >> l) as f32;
    let (u, v) = (s * n - 0.5, t * n - 0.5);
    let (i0, j0) = (u.floor() as i64, v.floor() as i64);
    let (a, b) = (u - u.floor(), v - v.floor());
    let t00 = ref_fetch(l, mode, i0, j0, border);
    let t10 = ref_fetch(l, mode, i0 + 1, j0, border);
    let t01 = ref_fetch(l, mode, i0, j0 + 1, border);
    let t11 = ref_fetch(l, mode, i0 + 1, j0 + 1, border);
    std::array::from_fn(|c| {
        (1.0 - a) * (1.0 - b) * t00[c]
            + a * (1.0 - b) * t10[c]
            + (1.0 - a) * b * t01[c]
            + a * b * t11[c]
    })
}

fn mip_table(state: SamplerState) -> renderer::sampler::ImageTable {
    combined(
        view(&mip_image(), ViewType::D2, 3, 1),
        state,
        ImageDim::D2,
        false,
    )
}

const POINTS: [(f32, f32); 8] = [
    (-0.6, 1.3),
    (1.9, -0.1),
    (-1.2, 2.4),
    (0.5, 0.5),
    (0.1, 0.9),
    (-0.05, -0.95),
    (3.3, 1.01),
    (-2.6, -1.7),
];

#[test]
fn every_address_mode_wraps_coordinates_outside_zero_one() {
    for &mode in AddressMode::ALL {
        for filter in [Filter::Nearest, Filter::Linear] {
            let state = SamplerState {
                address_modes: [mode; 3],
                mag_filter: filter,
                min_filter: filter,
                ..sampler_state()
            };
            let table = mip_table(state);
            let mut req = request(image_op::SAMPLE, image_flag::LOD, 8, 2);
            for (l, &(s, t)) in POINTS.iter().enumerate() {
                set_coords(&mut req, l, &[s, t]);
            }
            let res = call(&table, &req, None);
            for (l, &(s, t)) in POINTS.iter().enumerate() {
                let want = match filter {
                    Filter::Nearest => ref_nearest(0, mode, s, t),
                    Filter::Linear => ref_linear(0, mode, s, t, [0.0; 4]),
                };
                assert_close(
                    floats(&res, l),
                    want,
                    &format!("{mode:?} {filter:?} at ({s}, {t})"),
                );
            }
        }
    }
}

#[test]
fn linear_weights_at_chosen_points_follow_the_fractions() {
    let state = SamplerState {
        mag_filter: Filter::Linear,
        address_modes: [AddressMode::Repeat; 3],
        ..sampler_state()
    };
    let table = mip_table(state);
    let mut req = request(image_op::SAMPLE, image_flag::LOD, 3, 2);
    // u = 4s − 0.5: (0.4375, 0.5) is a quarter of the way from texel 1 to texel 2 in x and
    // exactly between rows 1 and 2.
    set_coords(&mut req, 0, &[0.4375, 0.5]);
    set_coords(&mut req, 1, &[0.125, 0.125]); // exactly texel (0, 0)
    set_coords(&mut req, 2, &[0.0, 0.0]); // the corner: four texels, wrapped, a quarter each
    let res = call(&table, &req, None);
    let t = |x, y| texel(0, x, y);
    let mix = |w: [(f32, [f32; 4]); 4]| -> [f32; 4] {
        std::array::from_fn(|c| w.iter().map(|(k, v)| k * v[c]).sum())
    };
    assert_close(
        floats(&res, 0),
        mix([
            (0.375, t(1, 1)),
            (0.125, t(2, 1)),
            (0.375, t(1, 2)),
            (0.125, t(2, 2)),
        ]),
        "quarter weights",
    );
    assert_close(floats(&res, 1), t(0, 0), "texel centre");
    assert_close(
        floats(&res, 2),
        mix([
            (0.25, t(3, 3)),
            (0.25, t(0, 3)),
            (0.25, t(3, 0)),
            (0.25, t(0, 0)),
        ]),
        "corner",
    );
}

#[test]
fn every_border_colour_replaces_texels_outside_the_image() {
    let float_borders = [
        (BorderColor::FloatTransparentBlack, [0.0, 0.0, 0.0, 0.0]),
        (BorderColor::FloatOpaqueBlack, [0.0, 0.0, 0.0, 1.0]),
        (BorderColor::FloatOpaqueWhite, [1.0, 1.0, 1.0, 1.0]),
    ];
    for (border, colour) in float_borders {
        let state = SamplerState {
            address_modes: [AddressMode::ClampToBorder; 3],
            border_color: border,
            mag_filter: Filter::Linear,
            min_filter: Filter::Linear,
            ..sampler_state()
        };
        let table = mip_table(state);
        let mut req = request(image_op::SAMPLE, image_flag::LOD, 2, 2);
        set_coords(&mut req, 0, &[1.5, 0.5]);
        set_coords(&mut req, 1, &[0.0, 0.5]); // half border, half edge texels
        let res = call(&table, &req, None);
        assert_close(floats(&res, 0), colour, &format!("{border:?}"));
        assert_close(
            floats(&res, 1),
            ref_linear(0, AddressMode::ClampToBorder, 0.0, 0.5, colour),
            &format!("{border:?} blended"),
        );
    }
    let int_borders = [
        (BorderColor::IntTransparentBlack, [0, 0, 0, 0]),
        (BorderColor::IntOpaqueBlack, [0, 0, 0, 1]),
        (BorderColor::IntOpaqueWhite, [1, 1, 1, 1]),
    ];
    let img = image(ImageType::D2, Format::R8G8B8A8_UINT, [2, 2, 1], 1, 1);
    img.write_texel(0, 0, [0, 0, 0], &[7, 8, 9, 10]).unwrap();
    for (border, colour) in int_borders {
        let state = SamplerState {
            address_modes: [AddressMode::ClampToBorder; 3],
            border_color: border,
            ..sampler_state()
        };
        let table = combined(view(&img, ViewType::D2, 1, 1), state, ImageDim::D2, false);
        let mut req = request(image_op::SAMPLE, image_flag::LOD, 2, 2);
        set_coords(&mut req, 0, &[-0.5, 0.25]);
        set_coords(&mut req, 1, &[0.25, 0.25]);
        let res = call(&table, &req, None);
        assert_eq!(words(&res, 0), colour, "{border:?}");
        assert_eq!(words(&res, 1), [7, 8, 9, 10]);
    }
}

/// Samples lane 0 at `(s, t)` with explicit gradients `(dsdx, dtdy)`.
fn sample_with_gradients(
    state: SamplerState,
    s: f32,
    t: f32,
    dsdx: f32,
    extra: u32,
    value: f32,
) -> [f32; 4] {
    let table = mip_table(state);
    let mut req = request(image_op::SAMPLE, image_flag::GRAD | extra, 1, 2);
    set_coords(&mut req, 0, &[s, t]);
    req.ddx[0][0] = dsdx;
    req.ddy[1][0] = dsdx / 2.0;
    req.lod[0] = value.to_bits();
    req.min_lod[0] = value;
    floats(&call(&table, &req, None), 0)
}

#[test]
fn gradients_select_levels_by_log2_rho_and_linear_mipmaps_blend() {
    let (s, t) = (0.3, 0.6);
    let mode = AddressMode::ClampToEdge;
    // ρ = |ds/dx| × 4 texels: 1 → λ 0, 2 → λ 1, 4 → λ 2.
    for (level, dsdx) in [(0u32, 0.25f32), (1, 0.5), (2, 1.0), (2, 8.0)] {
        let got = sample_with_gradients(sampler_state(), s, t, dsdx, 0, 0.0);
        assert_close(
            got,
            ref_nearest(level, mode, s, t),
            &format!("ρ {}", dsdx * 4.0),
        );
    }
    // Nearest mipmapping rounds λ = 1.5 down and 1.6 up.
    let rho = |lambda: f32| lambda.exp2() / 4.0;
    let got = sample_with_gradients(sampler_state(), s, t, rho(1.5), 0, 0.0);
    assert_close(got, ref_nearest(1, mode, s, t), "λ 1.5");
    let got = sample_with_gradients(sampler_state(), s, t, rho(1.6), 0, 0.0);
    assert_close(got, ref_nearest(2, mode, s, t), "λ 1.6");
    // Trilinear: λ = 1.25 blends levels 1 and 2 by 0.75 / 0.25.
    let linear = SamplerState {
        mipmap_mode: MipmapMode::Linear,
        ..sampler_state()
    };
    let got = sample_with_gradients(linear, s, t, rho(1.25), 0, 0.0);
    let (a, b) = (ref_nearest(1, mode, s, t), ref_nearest(2, mode, s, t));
    assert_close(
        got,
        std::array::from_fn(|c| 0.75 * a[c] + 0.25 * b[c]),
        "trilinear",
    );
    // Sampler bias and the Bias operand add to λ; MinLod and the sampler's minLod clamp it.
    let biased = SamplerState {
        mip_lod_bias: 1.0,
        ..sampler_state()
    };
    let got = sample_with_gradients(biased, s, t, 0.25, 0, 0.0);
    assert_close(got, ref_nearest(1, mode, s, t), "sampler bias");
    let got = sample_with_gradients(sampler_state(), s, t, 0.25, image_flag::BIAS, 2.0);
    assert_close(got, ref_nearest(2, mode, s, t), "operand bias");
    let got = sample_with_gradients(sampler_state(), s, t, 0.25, image_flag::MIN_LOD, 1.0);
    assert_close(got, ref_nearest(1, mode, s, t), "MinLod operand");
    let clamped = SamplerState {
        max_lod: 1.0,
        ..sampler_state()
    };
    let got = sample_with_gradients(clamped, s, t, 1.0, 0, 0.0);
    assert_close(got, ref_nearest(1, mode, s, t), "maxLod");
}

#[test]
fn explicit_lod_and_quad_derivatives_pick_levels() {
    let table = mip_table(sampler_state());
    let mode = AddressMode::ClampToEdge;
    let mut req = request(image_op::SAMPLE, image_flag::LOD, 3, 2);
    for (l, lod) in [0.0f32, 1.0, 2.0].into_iter().enumerate() {
        set_coords(&mut req, l, &[0.8, 0.2]);
        req.lod[l] = lod.to_bits();
    }
    let res = call(&table, &req, None);
    for l in 0..3 {
        assert_close(
            floats(&res, l),
            ref_nearest(l as u32, mode, 0.8, 0.2),
            "explicit",
        );
    }

    // Quad 0 steps 1/4 per pixel (ρ = 1, level 0), quad 1 steps 1 per pixel (ρ = 4, level 2).
    let mut req = request(image_op::SAMPLE, image_flag::QUAD_DERIVATIVES, 8, 2);
    let offsets = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)];
    let mut coords = Vec::new();
    for (q, step) in [(0usize, 0.25f32), (1, 1.0)] {
        for (i, (dx, dy)) in offsets.into_iter().enumerate() {
            let (s, t) = (0.1 + dx * step, 0.1 + dy * step);
            set_coords(&mut req, 4 * q + i, &[s, t]);
            coords.push((s, t));
        }
    }
    let res = call(&table, &req, None);
    for (l, &(s, t)) in coords.iter().enumerate() {
        let level = if l < 4 { 0 } else { 2 };
        assert_close(
            floats(&res, l),
            ref_nearest(level, mode, s, t),
            &format!("quad lane {l}"),
        );
    }

    // QueryLod gives (level position, λ) from the same derivatives.
    req.op = image_op::QUERY_LOD;
    let res = call(&table, &req, None);
    assert_eq!((floats(&res, 0)[0], floats(&res, 0)[1]), (0.0, 0.0));
    assert_eq!((floats(&res, 5)[0], floats(&res, 5)[1]), (2.0, 2.0));
}

#[test]
fn cube_directions_select_the_spec_face_and_face_coordinates() {
    // A 2×2 cube: texel (x, y) of face f holds (f, x, y, 1).
    let img = image(ImageType::D2, Format::R8G8B8A8_UINT, [2, 2, 1], 1, 6);
    for f in 0..6u32 {
        for y in 0..2 {
            for x in 0..2 {
                img.write_texel(0, f, [x, y, 0], &[f as u8, x as u8, y as u8, 1])
                    .unwrap();
            }
        }
    }
    let table = combined(
        view(&img, ViewType::Cube, 1, 6),
        sampler_state(),
        ImageDim::Cube,
        false,
    );
    // (direction, face, sc, tc, |ma|) per the spec's face table.
    let cases: [([f32; 3], u32, f32, f32, f32); 6] = [
        ([1.0, -0.5, 0.25], 0, -0.25, 0.5, 1.0),
        ([-1.0, 0.5, 0.25], 1, 0.25, -0.5, 1.0),
        ([0.5, 2.0, -1.5], 2, 0.5, -1.5, 2.0),
        ([-0.5, -1.0, 0.5], 3, -0.5, -0.5, 1.0),
        ([0.5, -0.25, 1.0], 4, 0.5, 0.25, 1.0),
        ([0.5, 0.5, -1.0], 5, -0.5, -0.5, 1.0),
    ];
    let mut req = request(image_op::SAMPLE, image_flag::LOD, 6, 3);
    for (l, (dir, ..)) in cases.iter().enumerate() {
        set_coords(&mut req, l, dir);
    }
    let res = call(&table, &req, None);
    for (l, &(dir, face, sc, tc, ma)) in cases.iter().enumerate() {
        let s = 0.5 * sc / ma + 0.5;
        let t = 0.5 * tc / ma + 0.5;
        let (x, y) = (
            ((s * 2.0).floor() as u32).min(1),
            ((t * 2.0).floor() as u32).min(1),
        );
        assert_eq!(words(&res, l), [face, x, y, 1], "direction {dir:?}");
    }
}

#[test]
fn array_layers_round_to_nearest_even_and_clamp() {
    let img = image(ImageType::D2, Format::R8_UINT, [1, 1, 1], 1, 4);
    for layer in 0..4u32 {
        img.write_texel(0, layer, [0, 0, 0], &[10 + layer as u8])
            .unwrap();
    }
    let table = combined(
        view(&img, ViewType::D2Array, 1, 4),
        sampler_state(),
        ImageDim::D2,
        true,
    );
    let layers = [
        (0.5f32, 0u32),
        (1.5, 2),
        (2.5, 2),
        (1.49, 1),
        (-1.0, 0),
        (7.0, 3),
        (f32::NAN, 0),
    ];
    let mut req = request(image_op::SAMPLE, image_flag::LOD, layers.len(), 3);
    for (l, &(a, _)) in layers.iter().enumerate() {
        set_coords(&mut req, l, &[0.5, 0.5, a]);
    }
    let res = call(&table, &req, None);
    for (l, &(a, want)) in layers.iter().enumerate() {
        assert_eq!(words(&res, l)[0], 10 + want, "layer coordinate {a}");
    }
}

#[test]
fn depth_compare_uses_every_op_and_linear_filtering_averages_results() {
    let img = image(ImageType::D2, Format::D32_SFLOAT, [2, 2, 1], 1, 1);
    let depths = [[0.2f32, 0.4], [0.6, 0.8]];
    for y in 0..2u32 {
        for x in 0..2u32 {
            img.write_texel(
                0,
                0,
                [x, y, 0],
                &depths[y as usize][x as usize].to_le_bytes(),
            )
            .unwrap();
        }
    }
    for &op in CompareOp::ALL {
        for filter in [Filter::Nearest, Filter::Linear] {
            let state = SamplerState {
                compare: Some(op),
                mag_filter: filter,
                min_filter: filter,
                ..sampler_state()
            };
            let table = combined(view(&img, ViewType::D2, 1, 1), state, ImageDim::D2, false);
            let refs = [0.1f32, 0.4, 0.5, 0.8, 0.9];
            let mut req = request(
                image_op::SAMPLE,
                image_flag::LOD | image_flag::DREF,
                refs.len(),
                2,
            );
            for (l, &r) in refs.iter().enumerate() {
                // Nearest reads texel (0, 0) at (0.25, 0.25); linear at the centre takes all four.
                let at = if filter == Filter::Nearest { 0.25 } else { 0.5 };
                set_coords(&mut req, l, &[at, at]);
                req.dref[l] = r;
            }
            let res = call(&table, &req, None);
            for (l, &r) in refs.iter().enumerate() {
                let pass = |d: f32| -> f32 {
                    let p = match op {
                        CompareOp::Never => false,
                        CompareOp::Less => r < d,
                        CompareOp::Equal => r == d,
                        CompareOp::LessOrEqual => r <= d,
                        CompareOp::Greater => r > d,
                        CompareOp::NotEqual => r != d,
                        CompareOp::GreaterOrEqual => r >= d,
                        CompareOp::Always => true,
                    };
                    if p {
                        1.0
                    } else {
                        0.0
                    }
                };
                let want = match filter {
                    Filter::Nearest => pass(0.2),
                    Filter::Linear => depths.iter().flatten().map(|&d| pass(d)).sum::<f32>() / 4.0,
                };
                assert_eq!(
                    floats(&res, l),
                    [want, 0.0, 0.0, 1.0],
                    "{op:?} {filter:?} ref {r}"
                );
            }
        }
    }
}

#[test]
fn gather_returns_the_footprint_in_spec_order_and_honours_offsets() {
    let table = mip_table(sampler_state());
    for component in 0..4u32 {
        let mut req = request(image_op::GATHER, 0, 2, 2);
        req.component = component;
        // u = 4·0.5 − 0.5 = 1.5: i0 = 1, j0 = 1.
        set_coords(&mut req, 0, &[0.5, 0.5]);
        set_coords(&mut req, 1, &[0.5, 0.5]);
        let res = call(&table, &req, None);
        let c = component as usize;
        let want = [
            texel(0, 1, 2)[c],
            texel(0, 2, 2)[c],
            texel(0, 2, 1)[c],
            texel(0, 1, 1)[c],
        ];
        assert_close(floats(&res, 0), want, &format!("component {component}"));
    }
    let mut req = request(image_op::GATHER, image_flag::OFFSET, 1, 2);
    set_coords(&mut req, 0, &[0.5, 0.5]);
    req.offset[0][0] = -1;
    req.offset[1][0] = 1;
    let res = call(&table, &req, None);
    let want = [
        texel(0, 0, 3)[0],
        texel(0, 1, 3)[0],
        texel(0, 1, 2)[0],
        texel(0, 0, 2)[0],
    ];
    assert_close(floats(&res, 0), want, "offset gather");
}

#[test]
fn swizzles_apply_to_sampled_values() {
    let img = mip_image();
    let mut v = view(&img, ViewType::D2, 3, 1);
    v.components = [
        ComponentSwizzle::B,
        ComponentSwizzle::One,
        ComponentSwizzle::Zero,
        ComponentSwizzle::R,
    ];
    let table = combined(v, sampler_state(), ImageDim::D2, false);
    let mut req = request(image_op::SAMPLE, image_flag::LOD, 1, 2);
    set_coords(&mut req, 0, &[0.6, 0.1]);
    let res = call(&table, &req, None);
    let t = texel(0, 2, 0);
    assert_close(floats(&res, 0), [t[2], 1.0, 0.0, t[0]], "B1 0R");
}

#[test]
fn srgb_texels_are_decoded_before_filtering() {
    let img = image(ImageType::D2, Format::R8G8B8A8_SRGB, [2, 1, 1], 1, 1);
    img.write_texel(0, 0, [0, 0, 0], &[0, 128, 0, 0]).unwrap();
    img.write_texel(0, 0, [1, 0, 0], &[255, 128, 255, 255])
        .unwrap();
    let state = SamplerState {
        mag_filter: Filter::Linear,
        ..sampler_state()
    };
    let table = combined(view(&img, ViewType::D2, 1, 1), state, ImageDim::D2, false);
    let mut req = request(image_op::SAMPLE, image_flag::LOD, 1, 2);
    set_coords(&mut req, 0, &[0.5, 0.5]);
    let res = call(&table, &req, None);
    // The sRGB EOTF from the spec.
    let eotf = |c: f32| {
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let g = eotf(128.0 / 255.0);
    assert_close(floats(&res, 0), [0.5, g, 0.5, 0.5], "sRGB midpoint");
    let ColorValue::Float(direct) = unpack_color(Format::R8G8B8A8_SRGB, &[0, 128, 0, 0]).unwrap()
    else {
        panic!()
    };
    assert!((direct[1] - g).abs() < 1e-6);
}

#[test]
fn unnormalized_coordinates_offsets_and_projection_address_texels() {
    let unnormalized = SamplerState {
        unnormalized_coordinates: true,
        max_lod: 0.0,
        ..sampler_state()
    };
    let table = mip_table(unnormalized);
    let mut req = request(image_op::SAMPLE, image_flag::LOD, 2, 2);
    set_coords(&mut req, 0, &[2.5, 3.9]);
    set_coords(&mut req, 1, &[9.0, -1.0]);
    let res = call(&table, &req, None);
    assert_close(floats(&res, 0), texel(0, 2, 3), "unnormalized");
    assert_close(floats(&res, 1), texel(0, 3, 0), "unnormalized clamped");

    let table = mip_table(SamplerState {
        address_modes: [AddressMode::Repeat; 3],
        ..sampler_state()
    });
    let mut req = request(image_op::SAMPLE, image_flag::LOD | image_flag::OFFSET, 1, 2);
    set_coords(&mut req, 0, &[0.1, 0.1]);
    req.offset[0][0] = 3;
    req.offset[1][0] = -2;
    let res = call(&table, &req, None);
    assert_close(floats(&res, 0), texel(0, 3, 2), "offset wraps");

    let mut req = request(image_op::SAMPLE, image_flag::LOD | image_flag::PROJ, 1, 2);
    set_coords(&mut req, 0, &[1.2, 0.4, 2.0]); // (0.6, 0.2)
    let res = call(&table, &req, None);
    assert_close(floats(&res, 0), texel(0, 2, 0), "projective");
}
