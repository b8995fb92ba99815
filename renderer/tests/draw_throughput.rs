//! Rough in-process draw throughput through `Device::draw` with JIT shaders: the workloads of
//! `bench/vkbench` (1080p blended full-screen quads, 1M triangles of 8 pixels, 60k of 128)
//! without the Vulkan layers. The blended quads run twice: drawn one by one, and deferred
//! into one batch rasterized tile by tile (as a render pass's draws are in the device). A measurement, not a test: ignored, run in release with
//!
//! ```text
//! cargo test --release -p renderer --test draw_throughput -- --ignored --nocapture
//! ```
//!
//! `SOFTGPU_THROUGHPUT_THREADS` (e.g. `1,2`) picks the device thread counts,
//! `SOFTGPU_THROUGHPUT_ONLY` (`fill` or `tris`) one half of the workloads (for profiles).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Instant;

use renderer::draw::{
    DrawCall, DrawResources, GraphicsPipeline, GraphicsState, InputRate, PassBatch, RenderTargets,
    ShaderStageSource, VertexAttribute, VertexBinding, VertexBufferBinding, VertexFormat,
    VertexInputState,
};
use renderer::format::Format;
use renderer::image::{Image, ImageDesc, ImageType, Tiling};
use renderer::output::{BlendState, ColorAttachment};
use renderer::raster::Rect;
use renderer::{DescriptorSet, Device, DeviceConfig, SpecializationEntry, SpecializationInfo};

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
/// Timed runs per workload; the best is reported.
const RUNS: usize = 3;

/// x, y in pixels (f32) and RGBA8: 12 bytes per vertex, as vkbench lays them out.
fn vertex_bytes(vertices: &[(f32, f32, [u8; 4])]) -> Vec<u8> {
    let mut out = Vec::with_capacity(vertices.len() * 12);
    for (x, y, rgba) in vertices {
        out.extend(x.to_le_bytes());
        out.extend(y.to_le_bytes());
        out.extend(rgba);
    }
    out
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

fn pipeline(dev: &Device, fragment: &str, spec: &SpecializationInfo) -> GraphicsPipeline {
    let vert = common::spirv_file("bench_raster.vert", &[]);
    let frag = common::spirv_file(fragment, &[]);
    let none = SpecializationInfo::default();
    let stage = |spirv, spec| ShaderStageSource {
        spirv,
        entry: "main",
        spec,
    };
    dev.create_graphics_pipeline(Some(&stage(&vert, &none)), Some(&stage(&frag, spec)))
        .unwrap()
}

/// User + system CPU time of this process so far, in seconds (`/proc/self/stat`, clock ticks
/// of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields.iter().sum::<u64>() as f64 / 100.0
}

/// How the draws of a run are issued.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `Device::draw`: each draw rasterized before the next starts.
    Immediate,
    /// `Device::draw_deferred` into one batch, flushed at the end (a render pass).
    Deferred,
}

/// Draws `draws` times `count` vertices of `vertices`, `RUNS` times; the best time (s) and
/// the CPU cores that run kept busy on average.
fn time_draws(
    dev: &Device,
    pipeline: &GraphicsPipeline,
    blend: BlendState,
    vertices: &[(f32, f32, [u8; 4])],
    draws: usize,
    mode: Mode,
) -> (f64, f64) {
    let image = Image::new_host(ImageDesc {
        image_type: ImageType::D2,
        format: Format::R8G8B8A8_UNORM,
        extent: [WIDTH, HEIGHT, 1],
        mip_levels: 1,
        array_layers: 1,
        tiling: Tiling::Optimal,
    })
    .unwrap();
    let colors = [Some(ColorAttachment {
        image,
        level: 0,
        layer: 0,
        blend,
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
    let bytes = vertex_bytes(vertices);
    let words: Vec<u32> = bytes
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let vbs = [Some(VertexBufferBinding {
        buffer: common::buffer_from(dev, &words),
        offset: 0,
    })];
    let sets: &[&DescriptorSet] = &[];
    let push: Vec<u8> = [2.0 / WIDTH as f32, 2.0 / HEIGHT as f32]
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
        vertex_count: vertices.len() as u32,
        instance_count: 1,
        first_vertex: 0,
        first_instance: 0,
    };
    let s = state();
    let mut best = (f64::INFINITY, 0.0);
    for _ in 0..RUNS {
        let (start, cpu) = (Instant::now(), cpu_seconds());
        match mode {
            Mode::Immediate => {
                for _ in 0..draws {
                    dev.draw(pipeline, &s, &targets, &resources, &call).unwrap();
                }
            }
            Mode::Deferred => {
                let mut batch = PassBatch::new();
                for _ in 0..draws {
                    dev.draw_deferred(&mut batch, pipeline, &s, &targets, &resources, &call)
                        .unwrap();
                }
                dev.flush(&mut batch).unwrap();
            }
        }
        let secs = start.elapsed().as_secs_f64();
        if secs < best.0 {
            best = (secs, (cpu_seconds() - cpu) / secs);
        }
    }
    best
}

/// `pairs` pairs of triangles on `cell`-pixel squares over the target (vkbench's grid).
fn grid(cell: u32, pairs: u32) -> Vec<(f32, f32, [u8; 4])> {
    let columns = WIDTH / cell;
    let cells = columns * (HEIGHT / cell);
    let mut out = Vec::with_capacity(pairs as usize * 6);
    for p in 0..pairs {
        let c = p % cells;
        let x0 = ((c % columns) * cell) as f32;
        let y0 = ((c / columns) * cell) as f32;
        let (x1, y1) = (x0 + cell as f32, y0 + cell as f32);
        let [r, g, b, _] = p.wrapping_mul(0x9E37_79B1).to_le_bytes();
        for (x, y) in [(x0, y0), (x1, y0), (x1, y1), (x0, y0), (x1, y1), (x0, y1)] {
            out.push((x, y, [r, g | 1, b, 255]));
        }
    }
    out
}

#[test]
#[ignore]
fn draw_throughput() {
    let thread_counts: Vec<usize> = std::env::var("SOFTGPU_THROUGHPUT_THREADS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect();
    let only = std::env::var("SOFTGPU_THROUGHPUT_ONLY").unwrap_or_default();
    for threads in thread_counts {
        let dev = Device::new(DeviceConfig {
            threads: Some(threads),
            ..common::config()
        })
        .unwrap();

        if only != "tris" {
            fill_workloads(&dev, threads);
        }
        if only != "fill" {
            triangle_workloads(&dev, threads);
        }
    }
}

fn fill_workloads(dev: &Device, threads: usize) {
    let rgba = [255u8, 0, 128, 64];
    let spec = SpecializationInfo {
        entries: (0..4)
            .map(|i| SpecializationEntry {
                constant_id: i,
                offset: 4 * i,
                size: 4,
            })
            .collect(),
        data: rgba
            .iter()
            .flat_map(|&c| (f32::from(c) / 255.0).to_le_bytes())
            .collect(),
    };
    let fill = pipeline(dev, "bench_fill.frag", &spec);
    let (w, h) = (WIDTH as f32, HEIGHT as f32);
    let quad: Vec<_> = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, 0.0), (w, h), (0.0, h)]
        .into_iter()
        .map(|(x, y)| (x, y, rgba))
        .collect();
    let quads = 128;
    let pixels = quads as f64 * f64::from(WIDTH * HEIGHT);
    for (mode, name) in [
        (Mode::Immediate, "immediate"),
        (Mode::Deferred, "deferred "),
    ] {
        let (secs, cores) = time_draws(dev, &fill, BlendState::ALPHA, &quad, quads, mode);
        println!(
            "{threads} thread(s): blended 1080p quads, {name}: {:8.1} Mpix/s ({quads} draws in {:.1} ms, {cores:.2} cores busy)",
            pixels / secs / 1e6,
            secs * 1e3
        );
    }
    let quads = 16;
    let pixels = quads as f64 * f64::from(WIDTH * HEIGHT);
    let (secs, cores) = time_draws(
        dev,
        &fill,
        BlendState::REPLACE,
        &quad,
        quads,
        Mode::Immediate,
    );
    println!(
        "{threads} thread(s): opaque 1080p quads:  {:8.1} Mpix/s ({cores:.2} cores busy)",
        pixels / secs / 1e6
    );
}

fn triangle_workloads(dev: &Device, threads: usize) {
    let color = pipeline(dev, "bench_color.frag", &SpecializationInfo::default());
    for (cell, triangles) in [(4u32, 1_000_000u32), (16, 60_000)] {
        let vertices = grid(cell, triangles / 2);
        let (secs, cores) = time_draws(
            dev,
            &color,
            BlendState::REPLACE,
            &vertices,
            1,
            Mode::Immediate,
        );
        println!(
                "{threads} thread(s): {triangles} triangles of {} px: {:6.2} Mtris/s ({:.1} ms, {cores:.2} cores busy)",
                cell * cell / 2,
                f64::from(triangles) / secs / 1e6,
                secs * 1e3
            );
    }
}
