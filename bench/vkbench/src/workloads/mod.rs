//! The workloads: what each one computes, how its figure is derived from the median time,
//! and the CPU check that every result passes before a figure is reported.

mod graphics_latency;
mod latency;
mod raster;
mod reference;
mod scene;
mod textured;
mod throughput;

use std::time::Duration;

use softgpu_bench::shaders::ShaderError;
use softgpu_bench::stats::median;

use crate::gpu::{Gpu, GpuError};
use crate::raster::Blend;
use crate::submit::Sample;
use crate::target::Extent;

#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error("shader: {0}")]
    Shader(#[from] ShaderError),
    #[error("WRONG RESULT: {0}")]
    WrongResult(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    Saxpy,
    SgemmNaive,
    SgemmTiled,
    Reduction,
    PipelineLatency,
    BlendFullscreen,
    OpaqueFullscreen,
    Tris8px,
    Tris128px,
    GraphicsPipelineLatency,
    BilinearFullscreen,
    TrilinearFullscreen,
}

impl Workload {
    pub const ALL: [Workload; 12] = [
        Workload::Saxpy,
        Workload::SgemmNaive,
        Workload::SgemmTiled,
        Workload::Reduction,
        Workload::PipelineLatency,
        Workload::BlendFullscreen,
        Workload::OpaqueFullscreen,
        Workload::Tris8px,
        Workload::Tris128px,
        Workload::GraphicsPipelineLatency,
        Workload::BilinearFullscreen,
        Workload::TrilinearFullscreen,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Saxpy => "saxpy",
            Workload::SgemmNaive => "sgemm-naive",
            Workload::SgemmTiled => "sgemm-tiled",
            Workload::Reduction => "reduction",
            Workload::PipelineLatency => "pipeline-latency",
            Workload::BlendFullscreen => "blend-fullscreen",
            Workload::OpaqueFullscreen => "opaque-fullscreen",
            Workload::Tris8px => "tris-8px",
            Workload::Tris128px => "tris-128px",
            Workload::GraphicsPipelineLatency => "graphics-pipeline-latency",
            Workload::BilinearFullscreen => "bilinear-fullscreen",
            Workload::TrilinearFullscreen => "trilinear-fullscreen",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Workload::Saxpy | Workload::Reduction => "GB/s",
            Workload::SgemmNaive | Workload::SgemmTiled => "GFLOP/s",
            Workload::PipelineLatency | Workload::GraphicsPipelineLatency => "ms",
            Workload::BlendFullscreen
            | Workload::OpaqueFullscreen
            | Workload::BilinearFullscreen
            | Workload::TrilinearFullscreen => "Mpix/s",
            Workload::Tris8px | Workload::Tris128px => "Mtris/s",
        }
    }

    /// Whether a bigger figure is better (throughput) or a smaller one (latency).
    pub fn higher_is_better(self) -> bool {
        !matches!(
            self,
            Workload::PipelineLatency | Workload::GraphicsPipelineLatency
        )
    }

    pub fn parse(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }
}

/// Problem sizes: the benchmark's, or small ones for a quick check of the whole program.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    pub saxpy_n: usize,
    pub sgemm_n: u32,
    pub reduce_n: usize,
    /// The raster workloads' colour target.
    pub target: Extent,
    /// Full-screen quads per submission (blend-fullscreen, opaque-fullscreen).
    pub fullscreen_quads: u32,
    /// Full-screen quads of the textured workloads.
    pub textured_quads: u32,
    /// Triangles of tris-8px and tris-128px (even numbers: they are drawn in pairs).
    pub tris_8px: u32,
    pub tris_128px: u32,
}

impl Sizes {
    pub const FULL: Sizes = Sizes {
        saxpy_n: 16 << 20,
        sgemm_n: 1024,
        reduce_n: 64 << 20,
        target: Extent {
            width: 1920,
            height: 1080,
        },
        // About 60 ms per submission on lavapipe (4.5 Gpix/s).
        fullscreen_quads: 128,
        textured_quads: 32,
        tris_8px: 1_000_000,
        tris_128px: 60_000,
    };
    /// A target that is no multiple of 64 in either direction (partial tiles), a few
    /// layers of triangles.
    pub const QUICK: Sizes = Sizes {
        saxpy_n: (1 << 16) + 37,
        sgemm_n: 64,
        reduce_n: (1 << 20) + 5,
        target: Extent {
            width: 200,
            height: 120,
        },
        fullscreen_quads: 4,
        textured_quads: 2,
        tris_8px: 8_000,
        tris_128px: 600,
    };
}

pub struct Settings {
    pub runs: usize,
    pub sizes: Sizes,
    pub timestamps: bool,
    /// A cap on each reduction binding below the device's maxStorageBufferRange (tests the
    /// chunked path on a device with a large limit).
    pub max_binding_bytes: Option<u64>,
}

/// A workload's result: the median over the timed runs, in the workload's unit.
#[derive(Clone, Debug)]
pub struct Measurement {
    pub median: f64,
    /// The same figure from GPU timestamps, when the device wrote them.
    pub gpu_median: Option<f64>,
    pub runs: usize,
    /// Extra figures worth a column in the human table (name, value, unit).
    pub notes: Vec<(&'static str, f64, &'static str)>,
}

pub fn run(
    gpu: &Gpu,
    workload: Workload,
    settings: &Settings,
) -> Result<Measurement, WorkloadError> {
    match workload {
        Workload::Saxpy => throughput::saxpy(gpu, settings),
        Workload::SgemmNaive => throughput::sgemm(gpu, settings, "matmul_naive"),
        Workload::SgemmTiled => throughput::sgemm(gpu, settings, "matmul_tiled"),
        Workload::Reduction => throughput::reduction(gpu, settings),
        Workload::PipelineLatency => latency::pipeline_latency(gpu, settings),
        Workload::BlendFullscreen => raster::fullscreen(gpu, settings, Blend::SrcAlphaOver),
        Workload::OpaqueFullscreen => raster::fullscreen(gpu, settings, Blend::Off),
        Workload::Tris8px => raster::triangles(gpu, settings, 4, settings.sizes.tris_8px),
        Workload::Tris128px => raster::triangles(gpu, settings, 16, settings.sizes.tris_128px),
        Workload::GraphicsPipelineLatency => {
            graphics_latency::graphics_pipeline_latency(gpu, settings)
        }
        Workload::BilinearFullscreen => {
            textured::fullscreen(gpu, settings, crate::texture::Filtering::Bilinear)
        }
        Workload::TrilinearFullscreen => {
            textured::fullscreen(gpu, settings, crate::texture::Filtering::Trilinear)
        }
    }
}

/// Turns timed samples of a throughput workload into its figure: `work / median time`, in
/// units of 1e9 (GB/s, GFLOP/s), for wall-clock and (when all runs have them) GPU times.
fn throughput_figure(samples: &[Sample], work: f64) -> Measurement {
    rate_figure(samples, work, 1e9)
}

/// `work / median time` in units of `unit` per second (1e6: Mpix/s, Mtris/s; 1e9: GB/s).
fn rate_figure(samples: &[Sample], work: f64, unit: f64) -> Measurement {
    let per_second = |d: Duration| work / d.as_secs_f64().max(1e-12) / unit;
    let mut wall: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    let gpu: Option<Vec<Duration>> = samples.iter().map(|s| s.gpu).collect();
    Measurement {
        median: per_second(median(&mut wall)),
        gpu_median: gpu.map(|mut g| per_second(median(&mut g))),
        runs: samples.len(),
        notes: Vec::new(),
    }
}

fn wrong(detail: String) -> WorkloadError {
    WorkloadError::WrongResult(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_name_parses_back() {
        for w in Workload::ALL {
            assert_eq!(Workload::parse(w.name()), Some(w));
        }
        assert_eq!(Workload::parse("sgemm"), None);
    }

    #[test]
    fn throughput_is_work_over_median_time() {
        let s = |ms| Sample {
            wall: Duration::from_millis(ms),
            gpu: None,
        };
        let m = throughput_figure(&[s(30), s(10), s(20)], 2e9);
        assert!((m.median - 100.0).abs() < 1e-9, "{}", m.median);
        assert_eq!(m.gpu_median, None);
        assert_eq!(m.runs, 3);
    }

    #[test]
    fn rate_figure_scales_to_the_unit() {
        let s = |ms| Sample {
            wall: Duration::from_millis(ms),
            gpu: Some(Duration::from_millis(ms / 2)),
        };
        // 1M triangles in a median 80 ms: 12.5 Mtris/s; 25 by the (halved) GPU times.
        let m = rate_figure(&[s(80), s(90), s(70)], 1e6, 1e6);
        assert!((m.median - 12.5).abs() < 1e-9, "{}", m.median);
        assert!((m.gpu_median.unwrap_or_default() - 25.0).abs() < 1e-9);
    }

    #[test]
    fn latencies_are_lower_is_better_and_raster_units_match_the_issue() {
        assert!(!Workload::GraphicsPipelineLatency.higher_is_better());
        assert!(Workload::BlendFullscreen.higher_is_better());
        assert_eq!(Workload::BlendFullscreen.unit(), "Mpix/s");
        assert_eq!(Workload::Tris8px.unit(), "Mtris/s");
        assert_eq!(Workload::GraphicsPipelineLatency.unit(), "ms");
    }
}
