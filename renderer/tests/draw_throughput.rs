//! Rough in-process draw throughput through `Device::draw` with JIT shaders: the workloads of
//! `bench/vkbench` (1080p blended full-screen quads, 1M triangles of 8 pixels, 60k of 128)
//! without the Vulkan layers. The blended quads run twice: drawn one by one, and deferred
//! into one batch rasterized tile by tile (as a render pass's draws are in the device). A measurement, not a test: ignored, run in release with
//!
//! ```text
//! cargo test --release -p renderer --test draw_throughput -- --ignored --nocapture
//! ```
//!
//! `SOFTGPU_THROUGHPUT_THREADS` (e.g. `1,2`) picks the device thread counts, `SOFTGPU_THROUGHPUT_RUNS`
//! the timed runs (3; more for profiles),
//! `SOFTGPU_THROUGHPUT_ONLY` (`fill` or `tris`) one half of the workloads, or (`deferred`)
//! only the blended quads drawn in one batch (for profiles).
#![allow(clippy::unwrap_used)]

mod common;

use common::throughput::{
    device, f32_constants, full_screen_quad, pipeline, thread_counts, time_draws, Mode, Timing,
    Vertex, HEIGHT, WIDTH,
};
use renderer::output::BlendState;
use renderer::{Device, SpecializationInfo};

/// `pairs` pairs of triangles on `cell`-pixel squares over the target (vkbench's grid).
fn grid(cell: u32, pairs: u32) -> Vec<Vertex> {
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
    let only = std::env::var("SOFTGPU_THROUGHPUT_ONLY").unwrap_or_default();
    for threads in thread_counts() {
        let dev = device(threads);

        if only != "tris" {
            fill_workloads(&dev, threads, only == "deferred");
        }
        if only != "fill" && only != "deferred" {
            triangle_workloads(&dev, threads);
        }
    }
}

/// The full-screen quads; `deferred_only`: only the blended ones drawn in one batch.
fn fill_workloads(dev: &Device, threads: usize, deferred_only: bool) {
    let rgba = [255u8, 0, 128, 64];
    let spec = f32_constants(&rgba.map(|c| f32::from(c) / 255.0));
    let fill = pipeline(dev, "bench_fill.frag", &spec);
    let quad = full_screen_quad(rgba);
    let quads = 128;
    let pixels = quads as f64 * f64::from(WIDTH * HEIGHT);
    let modes = match deferred_only {
        true => &[(Mode::Deferred, "deferred ")][..],
        false => &[
            (Mode::Immediate, "immediate"),
            (Mode::Deferred, "deferred "),
        ][..],
    };
    for &(mode, name) in modes {
        let Timing { secs, cores, .. } =
            time_draws(dev, &fill, BlendState::ALPHA, &quad, &[], quads, mode);
        println!(
            "{threads} thread(s): blended 1080p quads, {name}: {:8.1} Mpix/s ({quads} draws in {:.1} ms, {cores:.2} cores busy)",
            pixels / secs / 1e6,
            secs * 1e3
        );
    }
    if deferred_only {
        return;
    }
    let quads = 16;
    let pixels = quads as f64 * f64::from(WIDTH * HEIGHT);
    let Timing { secs, cores, .. } = time_draws(
        dev,
        &fill,
        BlendState::REPLACE,
        &quad,
        &[],
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
        let Timing { secs, cores, .. } = time_draws(
            dev,
            &color,
            BlendState::REPLACE,
            &vertices,
            &[],
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
