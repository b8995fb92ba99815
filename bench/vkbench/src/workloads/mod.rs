//! The workloads: what each one computes, how its figure is derived from the median time,
//! and the CPU check that every result passes before a figure is reported.

mod latency;
mod reference;
mod throughput;

use std::time::Duration;

use softgpu_bench::shaders::ShaderError;
use softgpu_bench::stats::median;

use crate::gpu::{Gpu, GpuError};
use crate::submit::Sample;

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
}

impl Workload {
    pub const ALL: [Workload; 5] = [
        Workload::Saxpy,
        Workload::SgemmNaive,
        Workload::SgemmTiled,
        Workload::Reduction,
        Workload::PipelineLatency,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Saxpy => "saxpy",
            Workload::SgemmNaive => "sgemm-naive",
            Workload::SgemmTiled => "sgemm-tiled",
            Workload::Reduction => "reduction",
            Workload::PipelineLatency => "pipeline-latency",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Workload::Saxpy | Workload::Reduction => "GB/s",
            Workload::SgemmNaive | Workload::SgemmTiled => "GFLOP/s",
            Workload::PipelineLatency => "ms",
        }
    }

    /// Whether a bigger figure is better (throughput) or a smaller one (latency).
    pub fn higher_is_better(self) -> bool {
        self != Workload::PipelineLatency
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
}

impl Sizes {
    pub const FULL: Sizes = Sizes {
        saxpy_n: 16 << 20,
        sgemm_n: 1024,
        reduce_n: 64 << 20,
    };
    pub const QUICK: Sizes = Sizes {
        saxpy_n: (1 << 16) + 37,
        sgemm_n: 64,
        reduce_n: (1 << 20) + 5,
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
    }
}

/// Turns timed samples of a throughput workload into its figure: `work / median time`, in
/// units of 1e9 (GB/s, GFLOP/s), for wall-clock and (when all runs have them) GPU times.
fn throughput_figure(samples: &[Sample], work: f64) -> Measurement {
    let per_second = |d: Duration| work / d.as_secs_f64().max(1e-12) / 1e9;
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
}
