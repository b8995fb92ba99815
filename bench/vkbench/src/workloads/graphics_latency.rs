//! Graphics pipeline creation + first draw latency: per run, vkCreateShaderModule (vertex and
//! fragment), vkCreateGraphicsPipelines (no pipeline cache), recording and submitting one
//! full-screen quad on a small target (with a copy of the image for the check), and waiting
//! for it. As with compute, lavapipe compiles at first use, so only the sum compares drivers;
//! creation alone is a note.
//!
//! Every run specializes the fragment shader with a different blue level (constant_id 0), so
//! neither a driver cache keyed by module and specialization nor a pipeline kept alive can
//! answer; the drawn pixels must carry that run's blue, which proves the pipeline drew them.

use std::time::{Duration, Instant};

use softgpu_bench::stats::{median, ms};

use super::raster::{shader_code, vertex_buffer};
use super::scene::{self, pack};
use super::{wrong, Measurement, Settings, WorkloadError};
use crate::gpu::Gpu;
use crate::raster::{Blend, RasterLayout, RasterPipeline, ShaderModule};
use crate::submit::Submission;
use crate::target::{Extent, RenderTarget};

/// The target of the first draw: small, so the draw itself costs next to nothing.
const TARGET: Extent = Extent {
    width: 64,
    height: 64,
};
/// The quad's colour; blue is replaced by the specialization constant.
const QUAD_RGBA: [u8; 4] = [200, 100, 0, 255];

/// The blue level of run `run`: 1..=254, different in consecutive runs.
fn blue_of(run: usize) -> u8 {
    (run % 254) as u8 + 1
}

pub fn graphics_pipeline_latency(gpu: &Gpu, s: &Settings) -> Result<Measurement, WorkloadError> {
    let (vs_code, fs_code) = shader_code("raster_variant.frag")?;
    let target = RenderTarget::new(gpu, TARGET)?;
    let layout = RasterLayout::new(gpu)?;
    let quad = scene::fullscreen_quad(TARGET, QUAD_RGBA);
    let vertices = vertex_buffer(gpu, &quad)?;
    let count = quad.len() as u32;
    // Timestamps would add a query reset and two writes to the measured path: not here.
    let sub = Submission::new(gpu, false)?;

    let mut totals = Vec::with_capacity(s.runs);
    let mut creates = Vec::with_capacity(s.runs);
    let mut cold = Duration::ZERO;
    for run in 0..=s.runs {
        let blue = blue_of(run);
        let start = Instant::now();
        let vs = ShaderModule::new(gpu, &vs_code)?;
        let fs = ShaderModule::new(gpu, &fs_code)?;
        let spec = f32::from(blue) / 255.0;
        let pipeline = RasterPipeline::new(&layout, &target, &vs, &fs, Blend::Off, &[spec])?;
        let created = start.elapsed();
        sub.record(|_, cmd| {
            target.record_begin(cmd, scene::clear_color());
            pipeline.record_bind(cmd, TARGET, vertices.buffer);
            pipeline.record_draw(cmd, count, 0);
            target.record_end(cmd);
            target.record_readback(cmd);
            Ok(())
        })?;
        sub.run()?;
        let total = start.elapsed();
        let [r, g, _, a] = QUAD_RGBA;
        let want = pack([r, g, blue, a]);
        target.pixels(|px: &[u32]| match px.iter().position(|&p| p != want) {
            None => Ok(()),
            Some(i) => Err(wrong(format!(
                "pixel {i} = {:?}, expected {:?} (run {run})",
                px[i].to_le_bytes(),
                want.to_le_bytes()
            ))),
        })?;
        drop(pipeline);
        if run == 0 {
            cold = total;
        } else {
            totals.push(total);
            creates.push(created);
        }
    }
    Ok(Measurement {
        median: ms(median(&mut totals)),
        gpu_median: None,
        runs: totals.len(),
        notes: vec![
            ("create only", ms(median(&mut creates)), "ms"),
            ("cold (first run)", ms(cold), "ms"),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_runs_get_different_nonzero_blue_levels() {
        for run in 0..600 {
            assert_ne!(blue_of(run), blue_of(run + 1));
            assert_ne!(blue_of(run), 0);
        }
    }
}
