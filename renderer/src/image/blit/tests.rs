//! Blits against per-texel expectations computed here from the spec's formulas.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::format::convert::srgb_to_linear;
use crate::image::{ImageType, Tiling};

fn image(format: Format, ty: ImageType, extent: [u32; 3], levels: u32, layers: u32) -> Image {
    Image::new_host(ImageDesc {
        image_type: ty,
        format,
        extent,
        mip_levels: levels,
        array_layers: layers,
        tiling: Tiling::Optimal,
    })
    .unwrap()
}

fn rgba8(w: u32, h: u32) -> Image {
    image(Format::R8G8B8A8_UNORM, ImageType::D2, [w, h, 1], 1, 1)
}

fn put(img: &Image, x: u32, y: u32, texel: [u8; 4]) {
    img.write_texel(0, 0, [x, y, 0], &texel).unwrap();
}

fn get(img: &Image, x: u32, y: u32) -> [u8; 4] {
    let mut t = [0u8; 4];
    img.read_texel(0, 0, [x, y, 0], &mut t).unwrap();
    t
}

fn color_layers() -> SubresourceLayers {
    SubresourceLayers {
        aspect_mask: aspect::COLOR,
        mip_level: 0,
        base_array_layer: 0,
        layer_count: 1,
    }
}

fn region(src: [[i32; 3]; 2], dst: [[i32; 3]; 2]) -> ImageBlit {
    ImageBlit {
        src_subresource: color_layers(),
        src_offsets: src,
        dst_subresource: color_layers(),
        dst_offsets: dst,
    }
}

/// A 4×4 image whose texel (x, y) is (16x + 1, 16y + 2, 40x + 40y, 255).
fn pattern() -> Image {
    let img = rgba8(4, 4);
    for y in 0..4 {
        for x in 0..4 {
            put(
                &img,
                x,
                y,
                [16 * x as u8 + 1, 16 * y as u8 + 2, 40 * (x + y) as u8, 255],
            );
        }
    }
    img
}

#[test]
fn linear_halving_averages_each_two_by_two_footprint() {
    let src = pattern();
    let dst = rgba8(2, 2);
    blit_image(
        &src,
        &dst,
        &[region([[0, 0, 0], [4, 4, 1]], [[0, 0, 0], [2, 2, 1]])],
        BlitFilter::Linear,
    )
    .unwrap();
    for y in 0..2 {
        for x in 0..2 {
            let quad = [
                get(&src, 2 * x, 2 * y),
                get(&src, 2 * x + 1, 2 * y),
                get(&src, 2 * x, 2 * y + 1),
                get(&src, 2 * x + 1, 2 * y + 1),
            ];
            let got = get(&dst, x, y);
            for c in 0..4 {
                let mean = quad.iter().map(|t| f64::from(t[c])).sum::<f64>() / 4.0;
                assert!(
                    (f64::from(got[c]) - mean).abs() <= 0.5 + 1e-6,
                    "texel ({x}, {y}) component {c}: {} vs mean {mean}",
                    got[c]
                );
            }
        }
    }
}

#[test]
fn nearest_doubling_repeats_each_texel_two_by_two() {
    let src = pattern();
    let dst = rgba8(8, 8);
    blit_image(
        &src,
        &dst,
        &[region([[0, 0, 0], [4, 4, 1]], [[0, 0, 0], [8, 8, 1]])],
        BlitFilter::Nearest,
    )
    .unwrap();
    for y in 0..8 {
        for x in 0..8 {
            assert_eq!(get(&dst, x, y), get(&src, x / 2, y / 2), "({x}, {y})");
        }
    }
}

#[test]
fn reversed_destination_offsets_mirror_the_region() {
    let src = pattern();
    let dst = rgba8(4, 4);
    blit_image(
        &src,
        &dst,
        &[region([[0, 0, 0], [4, 4, 1]], [[4, 0, 0], [0, 4, 1]])],
        BlitFilter::Nearest,
    )
    .unwrap();
    for y in 0..4 {
        for x in 0..4 {
            assert_eq!(get(&dst, x, y), get(&src, 3 - x, y), "({x}, {y})");
        }
    }
}

#[test]
fn linear_magnification_clamps_to_the_edge_texels() {
    // A 2×1 source (0 and 200 in red) stretched to 8×1: centres at source 0.125..1.875;
    // the outer quarter on each side clamps to the edge texel.
    let src = rgba8(2, 1);
    put(&src, 0, 0, [0, 0, 0, 255]);
    put(&src, 1, 0, [200, 0, 0, 255]);
    let dst = rgba8(8, 1);
    blit_image(
        &src,
        &dst,
        &[region([[0, 0, 0], [2, 1, 1]], [[0, 0, 0], [8, 1, 1]])],
        BlitFilter::Linear,
    )
    .unwrap();
    for x in 0..8u32 {
        let u = (f64::from(x) + 0.5) * 2.0 / 8.0 - 0.5;
        let want = 200.0 * u.clamp(0.0, 1.0);
        let got = f64::from(get(&dst, x, 0)[0]);
        assert!((got - want).abs() <= 0.5 + 1e-6, "x {x}: {got} vs {want}");
    }
}

#[test]
fn unorm_to_float_converts_and_srgb_is_decoded() {
    let src = image(Format::R8G8B8A8_SRGB, ImageType::D2, [1, 1, 1], 1, 1);
    src.write_texel(0, 0, [0, 0, 0], &[128, 64, 255, 51])
        .unwrap();
    let dst = image(Format::R32G32B32A32_SFLOAT, ImageType::D2, [1, 1, 1], 1, 1);
    blit_image(
        &src,
        &dst,
        &[region([[0, 0, 0], [1, 1, 1]], [[0, 0, 0], [1, 1, 1]])],
        BlitFilter::Nearest,
    )
    .unwrap();
    let mut raw = [0u8; 16];
    dst.read_texel(0, 0, [0, 0, 0], &mut raw).unwrap();
    let got: Vec<f32> = raw
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let want = [
        srgb_to_linear(128.0 / 255.0),
        srgb_to_linear(64.0 / 255.0),
        1.0,
        51.0 / 255.0,
    ];
    for c in 0..4 {
        assert!(
            (got[c] - want[c]).abs() < 1e-6,
            "component {c}: {got:?} vs {want:?}"
        );
    }
}

#[test]
fn mip_chain_generation_level_by_level() {
    let img = image(Format::R8G8B8A8_UNORM, ImageType::D2, [8, 8, 1], 4, 1);
    for y in 0..8 {
        for x in 0..8 {
            img.write_texel(0, 0, [x, y, 0], &[(x * 32) as u8, (y * 32) as u8, 0, 255])
                .unwrap();
        }
    }
    for level in 1..4u32 {
        let size = 8 >> level;
        let r = ImageBlit {
            src_subresource: SubresourceLayers {
                mip_level: level - 1,
                ..color_layers()
            },
            src_offsets: [[0, 0, 0], [2 * size, 2 * size, 1]],
            dst_subresource: SubresourceLayers {
                mip_level: level,
                ..color_layers()
            },
            dst_offsets: [[0, 0, 0], [size, size, 1]],
        };
        blit_image(&img, &img, &[r], BlitFilter::Linear).unwrap();
    }
    // The last level is the mean of the whole ramp (0..224 averages to 112), within the
    // rounding of three successive levels.
    let mut t = [0u8; 4];
    img.read_texel(3, 0, [0, 0, 0], &mut t).unwrap();
    assert!(
        (i32::from(t[0]) - 112).abs() <= 2 && (i32::from(t[1]) - 112).abs() <= 2,
        "{t:?}"
    );
}

#[test]
fn depth_only_blit_keeps_the_destination_stencil() {
    let fmt = Format::D24_UNORM_S8_UINT;
    let src = image(fmt, ImageType::D2, [2, 2, 1], 1, 1);
    let dst = image(fmt, ImageType::D2, [2, 2, 1], 1, 1);
    for y in 0..2 {
        for x in 0..2 {
            let mut t = [0u8; 4];
            pack_depth(fmt, 0.25 * (x + 2 * y) as f32, &mut t).unwrap();
            pack_stencil(fmt, 7, &mut t).unwrap();
            src.write_texel(0, 0, [x, y, 0], &t).unwrap();
            let mut d = [0u8; 4];
            pack_stencil(fmt, 200, &mut d).unwrap();
            dst.write_texel(0, 0, [x, y, 0], &d).unwrap();
        }
    }
    let depth = SubresourceLayers {
        aspect_mask: aspect::DEPTH,
        ..color_layers()
    };
    let r = ImageBlit {
        src_subresource: depth,
        src_offsets: [[0, 0, 0], [2, 2, 1]],
        dst_subresource: depth,
        dst_offsets: [[0, 0, 0], [2, 2, 1]],
    };
    blit_image(&src, &dst, &[r], BlitFilter::Nearest).unwrap();
    for y in 0..2 {
        for x in 0..2 {
            let mut t = [0u8; 4];
            dst.read_texel(0, 0, [x, y, 0], &mut t).unwrap();
            let want = 0.25 * (x + 2 * y) as f32;
            assert!((unpack_depth(fmt, &t).unwrap() - want).abs() < 1e-6);
            assert_eq!(unpack_stencil(fmt, &t).unwrap(), 200);
        }
    }
    assert!(blit_image(&src, &dst, &[r], BlitFilter::Linear).is_err());
}

#[test]
fn three_d_linear_halving_averages_eight_texels() {
    let fmt = Format::R8G8B8A8_UNORM;
    let src = image(fmt, ImageType::D3, [2, 2, 2], 1, 1);
    let mut sum = 0u32;
    for z in 0..2 {
        for y in 0..2 {
            for x in 0..2 {
                let v = (10 + 30 * x + 60 * y + 100 * z) as u8;
                sum += u32::from(v);
                src.write_texel(0, 0, [x, y, z], &[v, 0, 0, 255]).unwrap();
            }
        }
    }
    let dst = image(fmt, ImageType::D3, [1, 1, 1], 1, 1);
    let r = region([[0, 0, 0], [2, 2, 2]], [[0, 0, 0], [1, 1, 1]]);
    blit_image(&src, &dst, &[r], BlitFilter::Linear).unwrap();
    let mut t = [0u8; 4];
    dst.read_texel(0, 0, [0, 0, 0], &mut t).unwrap();
    assert!(
        (f64::from(t[0]) - f64::from(sum) / 8.0).abs() <= 0.5 + 1e-6,
        "{t:?}"
    );
}

#[test]
fn invalid_blits_are_refused_and_write_nothing() {
    let src = pattern();
    let dst = rgba8(4, 4);
    let ok = region([[0, 0, 0], [4, 4, 1]], [[0, 0, 0], [4, 4, 1]]);
    let outside = region([[0, 0, 0], [5, 4, 1]], [[0, 0, 0], [4, 4, 1]]);
    let negative = region([[-1, 0, 0], [4, 4, 1]], [[0, 0, 0], [4, 4, 1]]);
    let flat_z = region([[0, 0, 0], [4, 4, 2]], [[0, 0, 0], [4, 4, 1]]);
    let mut layers = ok;
    layers.dst_subresource.layer_count = 2;
    for bad in [outside, negative, flat_z, layers] {
        assert!(
            blit_image(&src, &dst, &[ok, bad], BlitFilter::Nearest).is_err(),
            "{bad:?}"
        );
        assert_eq!(get(&dst, 1, 1), [0; 4], "a refused blit wrote texels");
    }
    let uint = image(Format::R8G8B8A8_UINT, ImageType::D2, [4, 4, 1], 1, 1);
    let sint = image(Format::R8G8B8A8_SINT, ImageType::D2, [4, 4, 1], 1, 1);
    assert!(blit_image(&src, &uint, &[ok], BlitFilter::Nearest).is_err());
    assert!(blit_image(&uint, &sint, &[ok], BlitFilter::Nearest).is_err());
    assert!(blit_image(&uint, &uint, &[ok], BlitFilter::Linear).is_err());
    assert!(blit_image(&uint, &uint, &[ok], BlitFilter::Nearest).is_ok());
    let depth = image(Format::D32_SFLOAT, ImageType::D2, [4, 4, 1], 1, 1);
    assert!(blit_image(&depth, &src, &[ok], BlitFilter::Nearest).is_err());
}
