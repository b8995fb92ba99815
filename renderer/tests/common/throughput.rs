//! The shared setup of the in-process throughput measurements (`draw_throughput`,
//! `texture_throughput`): vkbench's 1080p RGBA8 target and vertex layout (x, y in pixels as
//! f32, then RGBA8: 12 bytes a vertex, scaled to clip space by push constants), the device
//! thread counts to try, and best-of-`RUNS` timing with the CPU cores kept busy.

use std::time::Instant;

use renderer::draw::{
    DrawCall, DrawResources, GraphicsPipeline, GraphicsState, PassBatch, RenderTargets,
    ShaderStageSource, VertexBufferBinding,
};
use renderer::format::Format;
use renderer::image::{Image, ImageDesc, ImageType, Tiling};
use renderer::output::{BlendState, ColorAttachment};
use renderer::raster::Rect;
use renderer::{DescriptorSet, Device, DeviceConfig, SpecializationEntry, SpecializationInfo};

pub const WIDTH: u32 = 1920;
pub const HEIGHT: u32 = 1080;
/// Timed runs per workload by default; the best is reported.
pub const RUNS: usize = 3;

/// Timed runs per workload: `SOFTGPU_THROUGHPUT_RUNS` (more for profiles), else [`RUNS`].
pub fn runs() -> usize {
    std::env::var("SOFTGPU_THROUGHPUT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(RUNS)
}

/// x, y in pixels and RGBA8.
pub type Vertex = (f32, f32, [u8; 4]);

/// The device thread counts of `SOFTGPU_THROUGHPUT_THREADS` (e.g. `1,2`; that by default).
pub fn thread_counts() -> Vec<usize> {
    std::env::var("SOFTGPU_THROUGHPUT_THREADS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect()
}

/// A device of `threads` worker threads with its own jit-host.
pub fn device(threads: usize) -> Device {
    Device::new(DeviceConfig {
        threads: Some(threads),
        ..super::config()
    })
    .unwrap()
}

/// User + system CPU time of this process so far, in seconds (`/proc/self/stat`, clock ticks
/// of 1/100 s).
pub fn cpu_seconds() -> f64 {
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

/// Triangle lists over the 1080p target, reading [`Vertex`]es from binding 0.
pub fn state() -> GraphicsState {
    let mut s = GraphicsState::covering(WIDTH, HEIGHT);
    // Position (R32G32_SFLOAT) and colour (R8G8B8A8_UNORM).
    s.vertex_input = super::interleaved_input(12, &[(0, 103), (8, 37)]);
    s
}

/// `bench_raster.vert` with `tests/shaders/<fragment>` specialized by `spec`.
pub fn pipeline(dev: &Device, fragment: &str, spec: &SpecializationInfo) -> GraphicsPipeline {
    let vert = super::spirv_file("bench_raster.vert", &[]);
    let frag = super::spirv_file(fragment, &[]);
    let none = SpecializationInfo::default();
    let stage = |spirv, spec| ShaderStageSource {
        spirv,
        entry: "main",
        spec,
    };
    dev.create_graphics_pipeline(Some(&stage(&vert, &none)), Some(&stage(&frag, spec)))
        .unwrap()
}

/// Specialization constants 0.. holding `values`, 4 bytes each.
pub fn f32_constants(values: &[f32]) -> SpecializationInfo {
    SpecializationInfo {
        entries: (0..values.len() as u32)
            .map(|i| SpecializationEntry {
                constant_id: i,
                offset: 4 * i,
                size: 4,
            })
            .collect(),
        data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// Two triangles covering the target, every vertex coloured `rgba`.
pub fn full_screen_quad(rgba: [u8; 4]) -> Vec<Vertex> {
    let (w, h) = (WIDTH as f32, HEIGHT as f32);
    [(0.0, 0.0), (w, 0.0), (w, h), (0.0, 0.0), (w, h), (0.0, h)]
        .into_iter()
        .map(|(x, y)| (x, y, rgba))
        .collect()
}

/// The vertices as vkbench lays them out, 12 bytes each, in little-endian words.
fn vertex_words(vertices: &[Vertex]) -> Vec<u32> {
    let mut bytes = Vec::with_capacity(vertices.len() * 12);
    for (x, y, rgba) in vertices {
        bytes.extend(x.to_le_bytes());
        bytes.extend(y.to_le_bytes());
        bytes.extend(rgba);
    }
    bytes
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// How the draws of a run are issued.
#[derive(Clone, Copy, PartialEq)]
pub enum Mode {
    /// `Device::draw`: each draw rasterized before the next starts.
    Immediate,
    /// `Device::draw_deferred` into one batch, flushed at the end (a render pass).
    Deferred,
}

/// What the best run of [`time_draws`] took.
pub struct Timing {
    /// Wall-clock seconds.
    pub secs: f64,
    /// CPU cores the run kept busy on average.
    pub cores: f64,
    /// The 1080p RGBA8 target drawn into.
    pub target: Image,
}

/// Draws `draws` times all of `vertices` with `sets` bound into a fresh 1080p RGBA8 OPTIMAL
/// target blended with `blend`, `RUNS` times.
pub fn time_draws(
    dev: &Device,
    pipeline: &GraphicsPipeline,
    blend: BlendState,
    vertices: &[Vertex],
    sets: &[&DescriptorSet],
    draws: usize,
    mode: Mode,
) -> Timing {
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
    let vbs = [Some(VertexBufferBinding {
        buffer: super::buffer_from(dev, &vertex_words(vertices)),
        offset: 0,
    })];
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
    for _ in 0..runs() {
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
    Timing {
        secs: best.0,
        cores: best.1,
        target,
    }
}
