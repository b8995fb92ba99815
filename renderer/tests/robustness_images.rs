//! Robust image access (issue 5): out-of-range coordinates, levels and texel-buffer elements
//! read 0, and out-of-range image stores, texel-buffer stores and image atomics change
//! nothing, for storage images, sampled images (texelFetch), and uniform and storage texel
//! buffers, whatever the index: the WebGPU CTS set (0, len-1, len, -1, ±1e6, u32::MAX,
//! i32::MAX) and values that wrap to in-range offsets in 32-bit arithmetic.
//!
//! Every image and texel buffer lives in one allocation between canary bytes, so an unchecked
//! access would land on a canary instead of faulting: the test sees it.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use renderer::format::Format;
use renderer::image::{Image, ImageDesc, ImageLayout, ImageType, Tiling};
use renderer::sampler::{
    AddressMode, BorderColor, BufferView, ComponentSwizzle, Filter, ImageDescriptor, ImageView,
    MipmapMode, Sampler, SamplerState, ViewType,
};
use renderer::{Buffer, DescriptorSet, ExternalMemory, HostMemory};

const SIDE: u32 = 8;
const TEXELS: usize = 32; // elements of each texel buffer
const CANARY: u32 = 0xCACA_CACA;
const GAP: u64 = 256;

fn indices() -> Vec<i32> {
    vec![
        0,
        SIDE as i32 - 1,
        SIDE as i32,
        -1,
        1_000_000,
        -1_000_000,
        i32::MAX,
        i32::MIN,
        0x4000_0000, // × 4 wraps to 0 in 32-bit arithmetic
        -0x4000_0000,
        1,
        TEXELS as i32 - 1,
        TEXELS as i32,
        2,
    ]
}

fn desc(levels: u32) -> ImageDesc {
    ImageDesc {
        image_type: ImageType::D2,
        format: Format::R32_UINT,
        extent: [SIDE, SIDE, 1],
        mip_levels: levels,
        array_layers: 1,
        tiling: Tiling::Optimal,
    }
}

fn view(image: &Image, levels: u32) -> ImageView {
    ImageView {
        image: image.clone(),
        view_type: ViewType::D2,
        format: Format::R32_UINT,
        components: [ComponentSwizzle::Identity; 4],
        aspect_mask: 1,
        base_level: 0,
        level_count: levels,
        base_layer: 0,
        layer_count: 1,
    }
}

fn read_u32(img: &Image, level: u32, x: u32, y: u32) -> u32 {
    let mut t = [0u8; 4];
    img.read_texel(level, 0, [x, y, 0], &mut t).unwrap();
    u32::from_le_bytes(t)
}

fn write_u32(img: &Image, level: u32, x: u32, y: u32, v: u32) {
    img.write_texel(level, 0, [x, y, 0], &v.to_le_bytes())
        .unwrap();
}

#[test]
fn out_of_range_image_accesses_read_zero_and_leave_canaries_intact() {
    let dev = device();
    let p = pipeline(dev, "robustness_images", &[]);
    // Layout of the one allocation: canary, storage image, canary, sampled image (2 levels),
    // canary, storage texels, canary, uniform texels, canary.
    let img_size = ImageLayout::new(&desc(1)).unwrap().size();
    let tex_size = ImageLayout::new(&desc(2)).unwrap().size();
    let texel_bytes = (TEXELS * 4) as u64;
    let img_at = GAP;
    let tex_at = img_at + img_size.next_multiple_of(64) + GAP;
    let storage_at = tex_at + tex_size.next_multiple_of(64) + GAP;
    let uniform_at = storage_at + texel_bytes + GAP;
    let total = uniform_at + texel_bytes + GAP;
    let memory: Arc<dyn ExternalMemory> = Arc::new(HostMemory::new_zeroed(total).unwrap());
    let whole = Buffer::from_external(memory.clone(), 0, total).unwrap();
    whole
        .write_slice(0, &vec![CANARY; (total / 4) as usize])
        .unwrap();
    let img = Image::bind(desc(1), memory.clone(), img_at).unwrap();
    let tex = Image::bind(desc(2), memory.clone(), tex_at).unwrap();
    let mut img_cpu = vec![vec![0u32; SIDE as usize]; SIDE as usize];
    for y in 0..SIDE {
        for x in 0..SIDE {
            let v = 0x1000 + 8 * y + x;
            write_u32(&img, 0, x, y, v);
            img_cpu[y as usize][x as usize] = v;
            write_u32(&tex, 0, x, y, 0x2000 + 8 * y + x);
            if x < SIDE / 2 && y < SIDE / 2 {
                write_u32(&tex, 1, x, y, 0x2100 + 8 * y + x);
            }
        }
    }
    let mut storage_cpu: Vec<u32> = (0..TEXELS as u32).map(|j| 0x3000 + j).collect();
    let uniform_data: Vec<u32> = (0..TEXELS as u32).map(|j| 0x4000 + j).collect();
    whole.write_slice(storage_at, &storage_cpu).unwrap();
    whole.write_slice(uniform_at, &uniform_data).unwrap();
    let before = read_all::<u32>(&whole);

    let sampler = Sampler::new(SamplerState {
        mag_filter: Filter::Nearest,
        min_filter: Filter::Nearest,
        mipmap_mode: MipmapMode::Nearest,
        address_modes: [AddressMode::ClampToEdge; 3],
        mip_lod_bias: 0.0,
        compare: None,
        min_lod: 0.0,
        max_lod: 1.0,
        border_color: BorderColor::IntTransparentBlack,
        unnormalized_coordinates: false,
    })
    .unwrap();
    let texel_view = |at: u64| BufferView {
        buffer: Buffer::from_external(memory.clone(), at, texel_bytes).unwrap(),
        format: Format::R32_UINT,
        offset: 0,
        range: texel_bytes,
    };
    let idx = indices();
    let idx_buf = buffer_from(dev, &idx);
    let results = buffer_zeroed::<u32>(dev, idx.len() * 6);
    let mut set = DescriptorSet::new();
    set.bind_image(
        0,
        0,
        ImageDescriptor::Image {
            view: view(&img, 1),
            sampler: None,
        },
    );
    set.bind_image(
        1,
        0,
        ImageDescriptor::Image {
            view: view(&tex, 2),
            sampler: Some(sampler),
        },
    );
    set.bind_image(2, 0, ImageDescriptor::TexelBuffer(texel_view(storage_at)));
    set.bind_image(3, 0, ImageDescriptor::TexelBuffer(texel_view(uniform_at)));
    set.bind_storage_buffer(4, 0, &idx_buf, 0, renderer::WHOLE_SIZE)
        .unwrap();
    set.bind_storage_buffer(5, 0, &results, 0, renderer::WHOLE_SIZE)
        .unwrap();
    dev.dispatch(&p, &[&set], &words(&[idx.len() as u32]), [1, 1, 1])
        .unwrap();

    // CPU replay with robust semantics: out of range reads 0, writes and atomics do nothing.
    let side = i64::from(SIDE);
    let inside = |v: i64, n: i64| (0..n).contains(&v);
    let tex_at_level = |level: i64, x: i64, y: i64| -> u32 {
        match level {
            0 if inside(x, side) && inside(y, side) => 0x2000 + 8 * y as u32 + x as u32,
            1 if inside(x, side / 2) && inside(y, side / 2) => 0x2100 + 8 * y as u32 + x as u32,
            _ => 0,
        }
    };
    let mut expected = Vec::new();
    for (k, &i) in idx.iter().enumerate() {
        let i = i64::from(i);
        let load = |cpu: &Vec<Vec<u32>>, x: i64, y: i64| {
            if inside(x, side) && inside(y, side) {
                cpu[y as usize][x as usize]
            } else {
                0
            }
        };
        expected.push(load(&img_cpu, i, 0));
        expected.push(load(&img_cpu, 0, i));
        expected.push(tex_at_level(0, i, 1));
        expected.push(tex_at_level(i, 1, 1));
        expected.push(if inside(i, TEXELS as i64) {
            uniform_data[i as usize]
        } else {
            0
        });
        expected.push(if inside(i, TEXELS as i64) {
            storage_cpu[i as usize]
        } else {
            0
        });
        if inside(i, side) {
            img_cpu[1][i as usize] = 0xA000_0000 | k as u32;
        }
        if inside(i, TEXELS as i64) {
            storage_cpu[i as usize] = 0xB000_0000 | k as u32;
        }
        if inside(i, side) {
            let t = &mut img_cpu[i as usize][2];
            *t = t.wrapping_add(0x100);
        }
    }
    let got = read_all::<u32>(&results);
    let names = [
        "imageLoad x",
        "imageLoad y",
        "texelFetch x",
        "texelFetch level",
        "uniform texel buffer",
        "storage texel buffer",
    ];
    for (k, &i) in idx.iter().enumerate() {
        for (j, name) in names.iter().enumerate() {
            assert_eq!(
                got[k * 6 + j],
                expected[k * 6 + j],
                "{name} at index {i} (step {k})"
            );
        }
    }
    for y in 0..SIDE {
        for x in 0..SIDE {
            assert_eq!(
                read_u32(&img, 0, x, y),
                img_cpu[y as usize][x as usize],
                "storage image texel ({x}, {y}) after the replayed stores and atomics"
            );
        }
    }
    let after = read_all::<u32>(&whole);
    let w = |from: u64, to: u64| (from / 4) as usize..(to / 4) as usize;
    assert_eq!(
        after[w(storage_at, storage_at + texel_bytes)],
        storage_cpu[..]
    );
    for (name, range) in [
        ("canary before the storage image", w(0, img_at)),
        (
            "canary after the storage image",
            w(img_at + img_size, tex_at),
        ),
        ("sampled image and its canaries", w(tex_at, storage_at)),
        (
            "canary after the storage texels",
            w(storage_at + texel_bytes, total),
        ),
    ] {
        assert_eq!(after[range.clone()], before[range], "{name} changed");
    }
}
