//! `Device::clear_color_rect` (LOAD_OP_CLEAR) spreads a clear over the worker pool in bands
//! of rows: the same bytes as one clear in one piece, and a rectangle outside the image
//! clears nothing.
#![allow(clippy::unwrap_used)]

mod common;

use renderer::draw::clear_color_rect;
use renderer::format::Format;
use renderer::image::{Image, ImageDesc, ImageType, Tiling};
use renderer::raster::Rect;

fn image(format: Format, tiling: Tiling, extent: [u32; 2], seed: u64) -> Image {
    let image = Image::new_host(ImageDesc {
        image_type: ImageType::D2,
        format,
        extent: [extent[0], extent[1], 1],
        mip_levels: 2,
        array_layers: 2,
        tiling,
    })
    .unwrap();
    let mut rng = common::Rng::new(seed);
    let size = format.texel_size() as usize;
    for level in 0..2 {
        let [w, h, _] = image.desc().mip_extent(level);
        for layer in 0..2 {
            for y in 0..h {
                for x in 0..w {
                    let texel: Vec<u8> = (0..size).map(|_| rng.next_u32() as u8).collect();
                    image.write_texel(level, layer, [x, y, 0], &texel).unwrap();
                }
            }
        }
    }
    image
}

fn bytes(image: &Image) -> Vec<Vec<u8>> {
    let size = image.format().texel_size() as usize;
    let mut out = Vec::new();
    for level in 0..2 {
        let [w, h, _] = image.desc().mip_extent(level);
        for layer in 0..2 {
            let mut texels = Vec::new();
            for y in 0..h {
                for x in 0..w {
                    let mut t = vec![0u8; size];
                    image.read_texel(level, layer, [x, y, 0], &mut t).unwrap();
                    texels.extend(t);
                }
            }
            out.push(texels);
        }
    }
    out
}

#[test]
fn banded_clears_write_what_one_clear_writes() {
    let dev = common::device();
    let value = [0x3f80_0000, 0x1234_5678, 7, 0xffff_ffff];
    let rects = [
        Rect {
            x: 0,
            y: 0,
            width: 300,
            height: 700,
        },
        Rect {
            x: 3,
            y: 5,
            width: 290,
            height: 611,
        },
        Rect {
            x: 17,
            y: 130,
            width: 1,
            height: 260,
        },
        Rect {
            x: 0,
            y: 1,
            width: 150,
            height: 350,
        },
    ];
    for (format, tiling) in [
        (Format::R8G8B8A8_UNORM, Tiling::Optimal),
        (Format::R16G16B16A16_SFLOAT, Tiling::Linear),
        (Format::R32_UINT, Tiling::Optimal),
    ] {
        for (k, rect) in rects.iter().enumerate() {
            let level = (k % 2) as u32;
            let (banded, whole) = (
                image(format, tiling, [300, 700], 9),
                image(format, tiling, [300, 700], 9),
            );
            let [w, h, _] = whole.desc().mip_extent(level);
            let outside = rect.x as u32 + rect.width > w || rect.y as u32 + rect.height > h;
            let got = dev.clear_color_rect(&banded, level, 1, *rect, value);
            let want = clear_color_rect(&whole, level, 1, *rect, value);
            assert_eq!(
                got.is_ok(),
                want.is_ok(),
                "{format:?} {rect:?}: {got:?} vs {want:?}"
            );
            assert_eq!(got.is_err(), outside, "{format:?} {rect:?}");
            assert!(
                bytes(&banded) == bytes(&whole),
                "{format:?} {tiling:?} {rect:?} level {level}"
            );
        }
    }
}
