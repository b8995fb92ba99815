//! Raster throughput workloads on a 1080p RGBA8 target: full-screen quads (fill rate, with and
//! without blending) and grids of small triangles (setup and binning rate). Vertex data is
//! written once into a host-visible vertex buffer; the timed part is submit + wait of one
//! pre-recorded command buffer (render pass with a clear, the draws). Before any timing, the
//! same scene plus a copy of the image is drawn once by a second command buffer and every pixel
//! is compared with the CPU's expectation: a driver that draws nothing, or the wrong thing,
//! gets no figure.

use ash::vk;
use softgpu_bench::shaders::{spirv_file, ShaderDir};

use super::scene::{self, TriangleGrid};
use super::throughput::timed_runs;
use super::{rate_figure, wrong, Measurement, Settings, WorkloadError};
use crate::buffer::HostBuffer;
use crate::gpu::{Gpu, GpuError};
use crate::raster::{Blend, RasterLayout, RasterPipeline, ShaderModule, Vertex, VERTEX_BYTES};
use crate::submit::{Sample, Submission};
use crate::target::RenderTarget;

/// The blended quads' colour: α = 64/255, so three blends leave a colour far from both the
/// clear colour and the source (the check), and many converge on the source.
const BLEND_RGBA: [u8; 4] = [255, 0, 128, 64];
/// The opaque quads' colour.
const OPAQUE_RGBA: [u8; 4] = [32, 224, 96, 255];
/// Quads drawn by the checked run of the full-screen workloads.
const CHECK_QUADS: u32 = 3;
/// How far (in 1/255 steps) a blended channel may be from the exact value: every blend
/// rounds to 8 bits (half a step each, shrinking by 1 − α per later blend) and drivers may
/// approximate x·α/255; the check is there to catch missing or unblended quads (≥ 40 steps
/// off here), not rounding.
const BLEND_TOLERANCE: f64 = 3.0;

/// A host-visible vertex buffer holding `vertices`.
pub(super) fn vertex_buffer<'g>(
    gpu: &'g Gpu,
    vertices: &[Vertex],
) -> Result<HostBuffer<'g>, GpuError> {
    let mut bytes = Vec::with_capacity(vertices.len() * VERTEX_BYTES);
    for v in vertices {
        v.encode(&mut bytes);
    }
    let buffer =
        HostBuffer::with_usage(gpu, bytes.len() as u64, vk::BufferUsageFlags::VERTEX_BUFFER)?;
    buffer.write_bytes(&bytes)?;
    Ok(buffer)
}

/// The SPIR-V of `raster.vert` and of the fragment shader `fragment` (a file of
/// `bench/shaders/`).
pub(super) fn shader_code(fragment: &str) -> Result<(Vec<u8>, Vec<u8>), WorkloadError> {
    Ok((
        spirv_file(ShaderDir::Bench, "raster.vert", &[])?,
        spirv_file(ShaderDir::Bench, fragment, &[])?,
    ))
}

fn vertex_count(count: usize) -> Result<u32, GpuError> {
    u32::try_from(count).map_err(|_| GpuError::Misuse(format!("{count} vertices")))
}

/// What one command buffer of a raster workload draws: clear, then `draws` draws of `count`
/// vertices each from the start of `vertices`.
struct Frame<'a, 'g> {
    target: &'a RenderTarget<'g>,
    pipeline: &'a RasterPipeline<'g>,
    vertices: &'a HostBuffer<'g>,
    draws: u32,
    count: u32,
}

impl Frame<'_, '_> {
    /// Records the frame into `sub`, plus a copy to the target's read-back buffer when
    /// `readback`.
    fn record(&self, sub: &Submission<'_>, readback: bool) -> Result<(), GpuError> {
        sub.record(|_, cmd| {
            self.target.record_begin(cmd, scene::clear_color());
            self.pipeline
                .record_bind(cmd, self.target.extent, self.vertices.buffer);
            for _ in 0..self.draws {
                self.pipeline.record_draw(cmd, self.count, 0);
            }
            self.target.record_end(cmd);
            if readback {
                self.target.record_readback(cmd);
            }
            Ok(())
        })
    }

    /// Draws the frame once with a read-back and hands the pixels to `check`.
    fn check_once(
        &self,
        gpu: &Gpu,
        check: impl FnOnce(&[u32]) -> Result<(), WorkloadError>,
    ) -> Result<(), WorkloadError> {
        let sub = Submission::new(gpu, false)?;
        self.record(&sub, true)?;
        sub.run()?;
        self.target.pixels(check)
    }

    /// The timed part: one untimed run, then `s.runs` timed ones.
    fn timed(&self, gpu: &Gpu, s: &Settings) -> Result<Vec<Sample>, WorkloadError> {
        let sub = Submission::new(gpu, s.timestamps)?;
        self.record(&sub, false)?;
        Ok(timed_runs(&sub, s.runs)?)
    }
}

/// Runs `matches(x, y, pixel)` on every pixel; reports the first mismatch and how many.
pub(super) fn compare_pixels(
    pixels: &[u32],
    width: u32,
    mut matches: impl FnMut(u32, u32, u32) -> Result<(), String>,
) -> Result<(), WorkloadError> {
    let mut first = None;
    let mut bad = 0usize;
    for (i, &p) in pixels.iter().enumerate() {
        let (x, y) = (i as u32 % width, i as u32 / width);
        if let Err(e) = matches(x, y, p) {
            bad += 1;
            first.get_or_insert(e);
        }
    }
    match first {
        None => Ok(()),
        Some(e) => Err(wrong(format!(
            "{bad} of {} pixels wrong; first: {e}",
            pixels.len()
        ))),
    }
}

/// `blend-fullscreen` and `opaque-fullscreen`: Mpixels/s = quads × pixels / time.
///
/// Opaque quads are reported, not a target: llvmpipe (lavapipe) drops every command binned
/// before an opaque draw that covers a whole bin, so all but the last of its quads cost
/// nearly nothing there and the figure says little about fill rate.
pub fn fullscreen(gpu: &Gpu, s: &Settings, blend: Blend) -> Result<Measurement, WorkloadError> {
    let extent = s.sizes.target;
    let quads = s.sizes.fullscreen_quads;
    let color = match blend {
        Blend::Off => OPAQUE_RGBA,
        Blend::SrcAlphaOver => BLEND_RGBA,
    };
    let target = RenderTarget::new(gpu, extent)?;
    let quad = scene::fullscreen_quad(extent, color);
    let vertices = vertex_buffer(gpu, &quad)?;
    let (vs_code, fs_code) = shader_code("fill.frag")?;
    let (vs, fs) = (
        ShaderModule::new(gpu, &vs_code)?,
        ShaderModule::new(gpu, &fs_code)?,
    );
    let layout = RasterLayout::new(gpu)?;
    let spec = color.map(|c| f32::from(c) / 255.0);
    let pipeline = RasterPipeline::new(&layout, &target, &vs, &fs, blend, &spec)?;
    let mut frame = Frame {
        target: &target,
        pipeline: &pipeline,
        vertices: &vertices,
        draws: CHECK_QUADS,
        count: vertex_count(quad.len())?,
    };

    let want = match blend {
        Blend::Off => color.map(f64::from),
        Blend::SrcAlphaOver => scene::blended(scene::CLEAR_RGBA, color, CHECK_QUADS),
    };
    let tolerance = if blend == Blend::Off {
        0.0
    } else {
        BLEND_TOLERANCE
    };
    frame.check_once(gpu, |px| {
        compare_pixels(px, extent.width, |x, y, p| {
            let got = p.to_le_bytes();
            let off = got
                .iter()
                .zip(want)
                .any(|(&g, w)| (f64::from(g) - w).abs() > tolerance);
            if off {
                Err(format!(
                    "({x}, {y}) = {got:?}, expected {want:.1?} ± {tolerance} \
                     after {CHECK_QUADS} quads"
                ))
            } else {
                Ok(())
            }
        })
    })?;

    frame.draws = quads;
    let samples = frame.timed(gpu, s)?;
    let pixels = f64::from(quads) * extent.pixels() as f64;
    Ok(rate_figure(&samples, pixels, 1e6))
}

/// `tris-8px` and `tris-128px`: `triangles` triangles of cell²/2 pixels in one draw, blending
/// and depth off; Mtris/s = triangles / time.
pub fn triangles(
    gpu: &Gpu,
    s: &Settings,
    cell: u32,
    triangles: u32,
) -> Result<Measurement, WorkloadError> {
    let extent = s.sizes.target;
    let grid = TriangleGrid::new(extent, cell, triangles).ok_or_else(|| {
        GpuError::Misuse(format!(
            "{triangles} triangles of {cell}-pixel cells on {extent:?}"
        ))
    })?;
    let target = RenderTarget::new(gpu, extent)?;
    let geometry = grid.vertices();
    let vertices = vertex_buffer(gpu, &geometry)?;
    let (vs_code, fs_code) = shader_code("raster.frag")?;
    let (vs, fs) = (
        ShaderModule::new(gpu, &vs_code)?,
        ShaderModule::new(gpu, &fs_code)?,
    );
    let layout = RasterLayout::new(gpu)?;
    let pipeline = RasterPipeline::new(&layout, &target, &vs, &fs, Blend::Off, &[])?;
    let frame = Frame {
        target: &target,
        pipeline: &pipeline,
        vertices: &vertices,
        draws: 1,
        count: vertex_count(geometry.len())?,
    };
    frame.check_once(gpu, |px| {
        compare_pixels(px, extent.width, |x, y, p| {
            let want = grid.expected_pixel(x, y);
            if p == want {
                Ok(())
            } else {
                Err(format!(
                    "({x}, {y}) = {:?}, expected {:?}",
                    p.to_le_bytes(),
                    want.to_le_bytes()
                ))
            }
        })
    })?;
    let samples = frame.timed(gpu, s)?;
    Ok(rate_figure(&samples, f64::from(grid.triangles()), 1e6))
}
