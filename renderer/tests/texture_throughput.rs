//! Rough in-process textured fill rate through `Device::draw` with JIT shaders: the
//! `bilinear-fullscreen` and `trilinear-fullscreen` workloads of `bench/vkbench` (1080p
//! full-screen quads, each pixel sampling an RGBA8 OPTIMAL texture spanning the screen once,
//! blending off) without the Vulkan layers. A measurement, not a test: ignored, run in release
//! with
//!
//! ```text
//! cargo test --release -p renderer --test texture_throughput -- --ignored --nocapture
//! ```
//!
//! Each workload runs twice: with CLAMP_TO_EDGE (the sampler's fast path) and with
//! CLAMP_TO_BORDER, which the fast path leaves to the generic per-lane path — the same work
//! but at the texture's outermost half texel, so the pair is the before/after comparison.
//! `SOFTGPU_THROUGHPUT_THREADS` (e.g. `1,2`) picks the device thread counts,
//! `SOFTGPU_THROUGHPUT_ONLY` (`bilinear` or `trilinear`) one workload, and
//! `SOFTGPU_THROUGHPUT_PATH` (`fast` or `generic`) one path (for profiles).
#![allow(clippy::unwrap_used)]

mod common;
mod image_fixture;

use std::time::Instant;

use common::throughput::{
    device, f32_constants, full_screen_quad, pipeline, runs, thread_counts, time_draws, Mode,
    Timing, HEIGHT, WIDTH,
};
use renderer::format::{aspect, Format};
use renderer::image::{Image, ImageDesc, ImageType, Tiling};
use renderer::output::BlendState;
use renderer::sampler::{
    AddressMode, BorderColor, ComponentSwizzle, Filter, ImageDescriptor, ImageView, MipmapMode,
    Sampler, SamplerState, ViewType,
};
use renderer::DescriptorSet;
use shader::abi::{image_flag, image_op, FRAGMENT_LANE_OFFSETS, GRAPHICS_LANES};
use shader::ir::ImageDim;

/// Quads per timed run.
const QUADS: usize = 8;

/// A `side`² RGBA8 OPTIMAL texture of `levels` levels holding a ramp (red along x, green
/// along y) on every level.
fn texture(side: u32, levels: u32) -> Image {
    let image = Image::new_host(ImageDesc {
        image_type: ImageType::D2,
        format: Format::R8G8B8A8_UNORM,
        extent: [side, side, 1],
        mip_levels: levels,
        array_layers: 1,
        tiling: Tiling::Optimal,
    })
    .unwrap();
    for level in 0..levels {
        let n = (side >> level).max(1);
        for y in 0..n {
            for x in 0..n {
                let ramp = |v: u32| (v * 255 / (n.max(2) - 1)) as u8;
                image
                    .write_texel(level, 0, [x, y, 0], &[ramp(x), ramp(y), 0, 255])
                    .unwrap();
            }
        }
    }
    image
}

fn view_and_sampler(
    image: &Image,
    levels: u32,
    mipmap: MipmapMode,
    address: AddressMode,
) -> (ImageView, SamplerState) {
    let state = SamplerState {
        mag_filter: Filter::Linear,
        min_filter: Filter::Linear,
        mipmap_mode: mipmap,
        address_modes: [address; 3],
        mip_lod_bias: 0.0,
        compare: None,
        min_lod: 0.0,
        max_lod: 1000.0,
        border_color: BorderColor::FloatOpaqueBlack,
        unnormalized_coordinates: false,
    };
    let view = ImageView {
        image: image.clone(),
        view_type: ViewType::D2,
        format: Format::R8G8B8A8_UNORM,
        components: [ComponentSwizzle::Identity; 4],
        aspect_mask: aspect::COLOR,
        base_level: 0,
        level_count: levels,
        base_layer: 0,
        layer_count: 1,
    };
    (view, state)
}

fn descriptor_set(
    image: &Image,
    levels: u32,
    mipmap: MipmapMode,
    address: AddressMode,
) -> DescriptorSet {
    let (view, state) = view_and_sampler(image, levels, mipmap, address);
    let sampler = Sampler::new(state).unwrap();
    let mut set = DescriptorSet::new();
    set.bind_image(
        0,
        0,
        ImageDescriptor::Image {
            view,
            sampler: Some(sampler),
        },
    );
    set
}

#[test]
#[ignore]
fn texture_throughput() {
    let only = std::env::var("SOFTGPU_THROUGHPUT_ONLY").unwrap_or_default();
    let path = std::env::var("SOFTGPU_THROUGHPUT_PATH").unwrap_or_default();
    let workloads = [
        ("bilinear", 1024u32, 1u32, MipmapMode::Nearest),
        ("trilinear", 2048, 12, MipmapMode::Linear),
    ];
    let paths = [
        ("fast", AddressMode::ClampToEdge),
        ("generic", AddressMode::ClampToBorder),
    ];
    let textures: Vec<Image> = workloads
        .iter()
        .map(|&(name, side, levels, _)| {
            if only.is_empty() || only == name {
                texture(side, levels)
            } else {
                texture(1, 1)
            }
        })
        .collect();
    let spec = f32_constants(&[1.0 / WIDTH as f32, 1.0 / HEIGHT as f32]);
    let quad = full_screen_quad([255; 4]);
    for threads in thread_counts() {
        let dev = device(threads);
        let pipeline = pipeline(&dev, "bench_textured.frag", &spec);
        for (&(name, _, levels, mipmap), image) in workloads.iter().zip(&textures) {
            if !only.is_empty() && only != name {
                continue;
            }
            for &(path_name, address) in &paths {
                if !path.is_empty() && path != path_name {
                    continue;
                }
                if threads == 1 {
                    helper_alone(image, levels, mipmap, address, name, path_name);
                }
                let set = descriptor_set(image, levels, mipmap, address);
                let Timing {
                    secs,
                    cores,
                    target,
                } = time_draws(
                    &dev,
                    &pipeline,
                    BlendState::REPLACE,
                    &quad,
                    &[&set],
                    QUADS,
                    Mode::Immediate,
                );
                let mut centre = [0u8; 4];
                target
                    .read_texel(0, 0, [WIDTH / 2, HEIGHT / 2, 0], &mut centre)
                    .unwrap();
                let pixels = QUADS as f64 * f64::from(WIDTH * HEIGHT);
                println!(
                    "{threads} thread(s): {name:9} 1080p quads, {path_name:7} path: {:8.1} Mpix/s ({:6.1} Mpix per CPU-second, {cores:.2} cores busy; centre {centre:?})",
                    pixels / secs / 1e6,
                    pixels / (secs * cores.max(0.01)) / 1e6,
                );
                // The ramp's centre is about half-way on both axes.
                assert!(
                    centre[0].abs_diff(128) <= 3 && centre[1].abs_diff(128) <= 3,
                    "{centre:?}"
                );
            }
        }
    }
}

/// The image helper alone on the same requests the fragment shader makes for one 1080p
/// quad (8-lane groups of two 2×2 quads, 64×64-pixel tiles in raster order), called as
/// compiled code calls it: the part of a draw's time spent sampling.
fn helper_alone(
    image: &Image,
    levels: u32,
    mipmap: MipmapMode,
    address: AddressMode,
    name: &str,
    path: &str,
) {
    let (view, state) = view_and_sampler(image, levels, mipmap, address);
    let table = image_fixture::combined(view, state, ImageDim::D2, false);
    let resources = table.resources();
    let helper = resources.image_op.unwrap();
    let slot = table.slots()[0];
    let mut req = image_fixture::request(
        image_op::SAMPLE,
        image_flag::QUAD_DERIVATIVES,
        GRAPHICS_LANES,
        2,
    );
    let mut result = shader::abi::ImageResult {
        texel: [[0; shader::abi::MAX_IMAGE_LANES]; 4],
    };
    let (inv_w, inv_h) = (1.0 / WIDTH as f32, 1.0 / HEIGHT as f32);
    let mut best = f64::INFINITY;
    let mut checksum = 0u64;
    for _ in 0..runs() {
        let start = Instant::now();
        for tile_y in (0..HEIGHT).step_by(64) {
            for tile_x in (0..WIDTH).step_by(64) {
                for y in (tile_y..(tile_y + 64).min(HEIGHT)).step_by(2) {
                    for x in (tile_x..(tile_x + 64).min(WIDTH)).step_by(4) {
                        for (l, (dx, dy)) in FRAGMENT_LANE_OFFSETS.iter().enumerate() {
                            // Two quads side by side: lanes 4..8 are the right one.
                            let qx = x + dx + if l >= 4 { 2 } else { 0 };
                            let fx = (qx as f32 + 0.5) * inv_w;
                            let fy = ((y + dy) as f32 + 0.5) * inv_h;
                            req.coords[0][l] = fx.to_bits();
                            req.coords[1][l] = fy.to_bits();
                        }
                        // SAFETY: the slot's pointers come from `table`, alive for the call;
                        // request and result are distinct locals.
                        unsafe { helper(slot.image, slot.sampler, &req, &mut result) };
                        checksum = checksum.wrapping_add(u64::from(result.texel[0][0]));
                    }
                }
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    let calls = f64::from(WIDTH * HEIGHT) / GRAPHICS_LANES as f64;
    println!(
        "helper alone: {name:9} {path:7} path: {:8.1} Mpix/s ({:.1} ns per 8-lane call; checksum {checksum:x})",
        f64::from(WIDTH * HEIGHT) / best / 1e6,
        best / calls * 1e9
    );
}
