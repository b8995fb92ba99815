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

use renderer::draw::RenderTargets;
use renderer::draw::ShaderStageSource;
use renderer::draw::{
    DrawCall, DrawResources, GraphicsPipeline, GraphicsState, InputRate, VertexAttribute,
    VertexBinding, VertexBufferBinding, VertexFormat, VertexInputState,
};
use renderer::format::{aspect, Format};
use renderer::image::{Image, ImageDesc, ImageType, Tiling};
use renderer::output::{BlendState, ColorAttachment};
use renderer::raster::Rect;
use renderer::sampler::{
    AddressMode, BorderColor, ComponentSwizzle, Filter, ImageDescriptor, ImageView, MipmapMode,
    Sampler, SamplerState, ViewType,
};
use renderer::{DescriptorSet, Device, DeviceConfig, SpecializationEntry, SpecializationInfo};
use shader::abi::{image_flag, image_op, FRAGMENT_LANE_OFFSETS, GRAPHICS_LANES};
use shader::ir::ImageDim;

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
/// Timed runs per workload; the best is reported.
const RUNS: usize = 3;
/// Quads per timed run.
const QUADS: usize = 8;

/// User + system CPU time of this process so far, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields.iter().sum::<u64>() as f64 / 100.0
}

fn state() -> GraphicsState {
    let mut s = GraphicsState::covering(WIDTH, HEIGHT);
    s.vertex_input = VertexInputState::new(
        vec![VertexBinding {
            binding: 0,
            stride: 12,
            rate: InputRate::Vertex,
        }],
        vec![
            VertexAttribute {
                location: 0,
                binding: 0,
                format: VertexFormat::from_vk(103).unwrap(), // R32G32_SFLOAT
                offset: 0,
            },
            VertexAttribute {
                location: 1,
                binding: 0,
                format: VertexFormat::from_vk(37).unwrap(), // R8G8B8A8_UNORM
                offset: 8,
            },
        ],
    )
    .unwrap();
    s
}

fn pipeline(dev: &Device) -> GraphicsPipeline {
    let vert = common::spirv_file("bench_raster.vert", &[]);
    let frag = common::spirv_file("bench_textured.frag", &[]);
    let spec = SpecializationInfo {
        entries: (0..2)
            .map(|i| SpecializationEntry {
                constant_id: i,
                offset: 4 * i,
                size: 4,
            })
            .collect(),
        data: [1.0 / WIDTH as f32, 1.0 / HEIGHT as f32]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
    };
    let none = SpecializationInfo::default();
    let stage = |spirv, spec| ShaderStageSource {
        spirv,
        entry: "main",
        spec,
    };
    dev.create_graphics_pipeline(Some(&stage(&vert, &none)), Some(&stage(&frag, &spec)))
        .unwrap()
}

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

/// Draws `QUADS` full-screen quads `RUNS` times; the best time (s), the CPU cores busy on
/// average in that run, and the target's centre pixel.
fn time_quads(
    dev: &Device,
    pipeline: &GraphicsPipeline,
    set: &DescriptorSet,
) -> (f64, f64, [u8; 4]) {
    let target = Image::new_host(ImageDesc {
        image_type: ImageType::D2,
        format: Format::R8G8B8A8_UNORM,
        extent: [WIDTH, HEIGHT, 1],
        mip_levels: 1,
        array_layers: 1,
        tiling: Tiling::Optimal,
    })
    .unwrap();
    let colors = [Some(ColorAttachment {
        image: target.clone(),
        level: 0,
        layer: 0,
        blend: BlendState::REPLACE,
    })];
    let targets = RenderTargets {
        render_area: Rect {
            x: 0,
            y: 0,
            width: WIDTH,
            height: HEIGHT,
        },
        colors: &colors,
        depth_stencil: None,
        view_mask: 0,
    };
    let (w, h) = (WIDTH as f32, HEIGHT as f32);
    let mut bytes = Vec::new();
    for (x, y) in [(0.0, 0.0), (w, 0.0), (w, h), (0.0, 0.0), (w, h), (0.0, h)] {
        bytes.extend(f32::to_le_bytes(x));
        bytes.extend(f32::to_le_bytes(y));
        bytes.extend([255u8; 4]);
    }
    let words: Vec<u32> = bytes
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let vbs = [Some(VertexBufferBinding {
        buffer: common::buffer_from(dev, &words),
        offset: 0,
    })];
    let sets: &[&DescriptorSet] = &[set];
    let push: Vec<u8> = [2.0 / w, 2.0 / h]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let resources = DrawResources {
        vertex_buffers: &vbs,
        index_buffer: None,
        descriptors: &sets,
        push_constants: &push,
    };
    let call = DrawCall::Direct {
        vertex_count: 6,
        instance_count: 1,
        first_vertex: 0,
        first_instance: 0,
    };
    let s = state();
    let mut best = (f64::INFINITY, 0.0);
    for _ in 0..RUNS {
        let (start, cpu) = (Instant::now(), cpu_seconds());
        for _ in 0..QUADS {
            dev.draw(pipeline, &s, &targets, &resources, &call).unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        if secs < best.0 {
            best = (secs, (cpu_seconds() - cpu) / secs);
        }
    }
    let mut centre = [0u8; 4];
    target
        .read_texel(0, 0, [WIDTH / 2, HEIGHT / 2, 0], &mut centre)
        .unwrap();
    (best.0, best.1, centre)
}

#[test]
#[ignore]
fn texture_throughput() {
    let thread_counts: Vec<usize> = std::env::var("SOFTGPU_THROUGHPUT_THREADS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect();
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
    for threads in thread_counts {
        let dev = Device::new(DeviceConfig {
            threads: Some(threads),
            ..common::config()
        })
        .unwrap();
        let pipeline = pipeline(&dev);
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
                let (secs, cores, centre) = time_quads(&dev, &pipeline, &set);
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
    for _ in 0..RUNS {
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
