//! Textured fill rate: full-screen passes on the 1080p RGBA8 target (one render pass with a
//! clear and one quad each), each pixel sampling an RGBA8 texture that spans the screen once,
//! blending off. `bilinear-fullscreen` samples a
//! 1024×1024 texture with linear filtering and no mip chain (magnified); `trilinear-fullscreen`
//! a 2048×2048 texture with its full chain and linear mip blending (minified by about 1.9
//! vertically, so every pixel blends levels 0 and 1). Mpixels/s = passes × pixels / time.
//!
//! Checked before any timing like the other raster workloads: the texture is a linear ramp
//! (red along x, green along y), which bilinear filtering reproduces and the CPU-built mip
//! levels preserve, so every pixel has a predictable colour.

use softgpu_bench::shaders::{spirv_file, ShaderDir};

use super::raster::{compare_pixels, vertex_buffer};
use super::scene;
use super::throughput::timed_runs;
use super::{rate_figure, Measurement, Settings, WorkloadError};
use crate::raster::{Blend, RasterLayout, RasterPipeline, ShaderModule};
use crate::submit::Submission;
use crate::target::{Extent, RenderTarget};
use crate::texture::{mip_chain, Filtering, MipLevel, Texture};

/// How far (in 1/255 steps) a channel may be from the ramp: texels are rounded to 8 bits
/// (half a step), each mip level rounds again, and drivers filter with 8-bit weights.
const TOLERANCE: f64 = 3.0;
/// Quads drawn by the checked run.
const CHECK_QUADS: u32 = 1;

/// The texture's side and level count for `filtering`.
fn texture_size(filtering: Filtering, target: Extent) -> (u32, u32) {
    // The QUICK sizes use a small target: keep the same magnification / minification.
    let side = |full: u32| {
        if target.width >= 1920 {
            full
        } else {
            (full * target.width / 1920).next_power_of_two()
        }
    };
    match filtering {
        Filtering::Bilinear => (side(1024), 1),
        Filtering::Trilinear => {
            let s = side(2048);
            (s, 32 - s.leading_zeros())
        }
    }
}

/// The ramp's value (0..255) at normalized coordinate `u` on a `texels`-wide axis, clamped
/// to the edge texels' centres.
fn ramp_at(u: f64, texels: u32) -> f64 {
    let n = f64::from(texels);
    let t = (u * n - 0.5).clamp(0.0, n - 1.0);
    t * 255.0 / (n - 1.0)
}

pub fn fullscreen(
    gpu: &crate::gpu::Gpu,
    s: &Settings,
    filtering: Filtering,
) -> Result<Measurement, WorkloadError> {
    let extent = s.sizes.target;
    let quads = s.sizes.textured_quads;
    let (side, levels) = texture_size(filtering, extent);
    let chain = mip_chain(MipLevel::ramp(side, side), levels);
    let texture = Texture::new(gpu, &chain, filtering)?;
    let target = RenderTarget::new(gpu, extent)?;
    let quad = scene::fullscreen_quad(extent, [255, 255, 255, 255]);
    let vertices = vertex_buffer(gpu, &quad)?;
    let vs_code = spirv_file(ShaderDir::Bench, "raster.vert", &[])?;
    let fs_code = spirv_file(ShaderDir::Bench, "textured.frag", &[])?;
    let (vs, fs) = (
        ShaderModule::new(gpu, &vs_code)?,
        ShaderModule::new(gpu, &fs_code)?,
    );
    let layout = RasterLayout::with_sets(gpu, &[texture.set_layout])?;
    let spec = [1.0 / extent.width as f32, 1.0 / extent.height as f32];
    let pipeline = RasterPipeline::new(&layout, &target, &vs, &fs, Blend::Off, &spec)?;
    let count = quad.len() as u32;

    // One render pass per quad: llvmpipe drops the binned work of earlier opaque draws that a
    // later one covers within a pass, so several quads in one pass would measure one.
    let record = |sub: &Submission<'_>, passes: u32, readback: bool| {
        sub.record(|dev, cmd| {
            for _ in 0..passes {
                target.record_begin(cmd, scene::clear_color());
                pipeline.record_bind(cmd, extent, vertices.buffer);
                // SAFETY: `cmd` is recording inside the render pass; the set is live and
                // matches set 0 of the pipeline's layout; no dynamic offsets.
                unsafe {
                    dev.cmd_bind_descriptor_sets(
                        cmd,
                        ash::vk::PipelineBindPoint::GRAPHICS,
                        layout.layout,
                        0,
                        &[texture.set],
                        &[],
                    )
                };
                pipeline.record_draw(cmd, count, 0);
                target.record_end(cmd);
            }
            if readback {
                target.record_readback(cmd);
            }
            Ok(())
        })
    };

    let check = Submission::new(gpu, false)?;
    record(&check, CHECK_QUADS, true)?;
    check.run()?;
    target.pixels(|px| {
        compare_pixels(px, extent.width, |x, y, p| {
            let u = (f64::from(x) + 0.5) / f64::from(extent.width);
            let v = (f64::from(y) + 0.5) / f64::from(extent.height);
            let want = [ramp_at(u, side), ramp_at(v, side), 96.0, 255.0];
            let got = p.to_le_bytes();
            let off = got
                .iter()
                .zip(want)
                .any(|(&g, w)| (f64::from(g) - w).abs() > TOLERANCE);
            if off {
                Err(format!(
                    "({x}, {y}) = {got:?}, expected {want:.1?} ± {TOLERANCE}"
                ))
            } else {
                Ok(())
            }
        })
    })?;

    let timed = Submission::new(gpu, s.timestamps)?;
    record(&timed, quads, false)?;
    let samples = timed_runs(&timed, s.runs)?;
    let pixels = f64::from(quads) * extent.pixels() as f64;
    Ok(rate_figure(&samples, pixels, 1e6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ramp_is_clamped_to_the_edge_texel_centres() {
        assert_eq!(ramp_at(0.0, 4), 0.0);
        assert_eq!(ramp_at(1.0, 4), 255.0);
        assert!((ramp_at(0.5, 4) - 127.5).abs() < 1e-9);
    }

    #[test]
    fn the_full_target_samples_a_1024_texture_and_a_2048_chain() {
        let full = Extent {
            width: 1920,
            height: 1080,
        };
        assert_eq!(texture_size(Filtering::Bilinear, full), (1024, 1));
        assert_eq!(texture_size(Filtering::Trilinear, full), (2048, 12));
        let quick = Extent {
            width: 200,
            height: 120,
        };
        assert_eq!(texture_size(Filtering::Trilinear, quick), (256, 9));
    }
}
