//! Pipeline creation + first dispatch latency of saxpy: per run, vkCreateShaderModule,
//! vkCreateComputePipelines (no pipeline cache), recording and submitting one tiny dispatch,
//! and waiting for it. Lavapipe compiles at first use, not at pipeline creation, so only the sum
//! compares drivers fairly; the creation part alone is kept as a note.
//!
//! Every run builds a fresh module and pipeline from the same SPIR-V and destroys them before
//! the next, so a driver cache holding code only while a pipeline lives cannot hit. The first
//! run (one-time start-up costs) is reported separately as "cold".

use std::time::{Duration, Instant};

use softgpu_bench::shaders::{spirv, ShaderSource};
use softgpu_bench::stats::{median, ms};

use super::reference::{self as r, SAXPY_A};
use super::{wrong, Measurement, Settings, WorkloadError};
use crate::buffer::HostBuffer;
use crate::kernel::{DescriptorSets, Kernel, KernelLayout};
use crate::submit::{record_dispatch, record_host_read_barrier, Submission};

/// Elements of the tiny dispatch: one workgroup.
const TINY_N: u32 = 256;

pub fn pipeline_latency(gpu: &crate::gpu::Gpu, s: &Settings) -> Result<Measurement, WorkloadError> {
    let code = spirv(&ShaderSource::renderer_test("saxpy"))?;
    let layout = KernelLayout::new(gpu, 2, 8)?;
    let n = TINY_N as usize;
    let (x, y) = (HostBuffer::new(gpu, n)?, HostBuffer::new(gpu, n)?);
    x.fill(r::saxpy_x);
    let sets = DescriptorSets::new(gpu, 1, 2)?;
    let set = sets.bind(&layout, &[&x, &y])?;
    let push: Vec<u8> = [SAXPY_A.to_bits(), TINY_N]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    // Timestamps would add a query reset and two writes to the measured path: not here.
    let sub = Submission::new(gpu, false)?;

    let mut totals = Vec::with_capacity(s.runs);
    let mut creates = Vec::with_capacity(s.runs);
    let mut cold = Duration::ZERO;
    for run in 0..=s.runs {
        y.fill(r::saxpy_y0);
        let start = Instant::now();
        let kernel = Kernel::new(&layout, &code)?;
        let created = start.elapsed();
        sub.record(|dev, cmd| {
            record_dispatch(dev, cmd, &kernel, set, &push, [1, 1, 1])?;
            record_host_read_barrier(dev, cmd);
            Ok(())
        })?;
        sub.run()?;
        let total = start.elapsed();
        y.view(
            |ys: &[f32]| match (0..n).find(|&i| ys[i] != r::saxpy_expected(i, 1)) {
                None => Ok(()),
                Some(i) => Err(wrong(format!(
                    "y[{i}] = {}, expected {} (run {run})",
                    ys[i],
                    r::saxpy_expected(i, 1)
                ))),
            },
        )?;
        drop(kernel);
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
