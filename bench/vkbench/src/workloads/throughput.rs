//! Throughput workloads: saxpy (memory bound), SGEMM naive and tiled (compute bound), a
//! two-pass reduction (memory bound, shared memory and barriers). Each records one command
//! buffer, submits it once untimed (lavapipe compiles at first use) and then `runs` times timed.

use softgpu_bench::shaders::{spirv, ShaderSource};

use super::reference::{self as r, SAXPY_A};
use super::{throughput_figure, wrong, Measurement, Settings, WorkloadError};
use crate::buffer::HostBuffer;
use crate::gpu::{Gpu, GpuError};
use crate::kernel::{BufferRange, DescriptorSets, Kernel, KernelLayout};
use crate::submit::{
    record_compute_barrier, record_dispatch, record_host_read_barrier, Sample, Submission,
};

/// The workgroup size of saxpy.comp and reduce_sum.comp.
const WG: u32 = 256;

fn push_bytes(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn check_workgroup_limits(gpu: &Gpu, size: [u32; 2]) -> Result<(), GpuError> {
    let l = &gpu.properties.limits;
    gpu.require(
        "maxComputeWorkGroupInvocations",
        l.max_compute_work_group_invocations.into(),
        u64::from(size[0]) * u64::from(size[1]),
    )?;
    gpu.require(
        "maxComputeWorkGroupSize[0]",
        l.max_compute_work_group_size[0].into(),
        size[0].into(),
    )?;
    gpu.require(
        "maxComputeWorkGroupSize[1]",
        l.max_compute_work_group_size[1].into(),
        size[1].into(),
    )
}

/// One untimed submission, then `runs` timed ones.
pub(super) fn timed_runs(sub: &Submission<'_>, runs: usize) -> Result<Vec<Sample>, GpuError> {
    sub.run()?;
    (0..runs).map(|_| sub.run()).collect()
}

pub fn saxpy(gpu: &Gpu, s: &Settings) -> Result<Measurement, WorkloadError> {
    let n = s.sizes.saxpy_n;
    let n32 = u32::try_from(n).map_err(|_| GpuError::Misuse(format!("saxpy n = {n}")))?;
    check_workgroup_limits(gpu, [WG, 1])?;
    let layout = KernelLayout::new(gpu, 2, 8)?;
    let kernel = Kernel::new(&layout, &spirv(&ShaderSource::renderer_test("saxpy"))?)?;
    let (x, y) = (HostBuffer::new(gpu, n)?, HostBuffer::new(gpu, n)?);
    x.fill(r::saxpy_x);
    y.fill(r::saxpy_y0);
    let sets = DescriptorSets::new(gpu, 1, 2)?;
    let set = sets.bind(&layout, &[&x, &y])?;
    let grid = r::grid_2d(
        n32.div_ceil(WG),
        gpu.properties.limits.max_compute_work_group_count[0],
    );
    let push = push_bytes(&[SAXPY_A.to_bits(), n32]);
    let sub = Submission::new(gpu, s.timestamps)?;
    sub.record(|dev, cmd| {
        record_dispatch(dev, cmd, &kernel, set, &push, grid)?;
        record_host_read_barrier(dev, cmd);
        Ok(())
    })?;
    let samples = timed_runs(&sub, s.runs)?;
    // Every run applied y = a·x + y once more.
    let times = s.runs + 1;
    y.view(
        |ys: &[f32]| match (0..n).find(|&i| ys[i] != r::saxpy_expected(i, times)) {
            None => Ok(()),
            Some(i) => Err(wrong(format!(
                "y[{i}] = {} after {times} runs, expected {}",
                ys[i],
                r::saxpy_expected(i, times)
            ))),
        },
    )?;
    Ok(throughput_figure(&samples, 12.0 * n as f64))
}

pub fn sgemm(gpu: &Gpu, s: &Settings, shader: &'static str) -> Result<Measurement, WorkloadError> {
    const TILE: u32 = 16;
    let n = s.sizes.sgemm_n;
    let cells = (n as usize) * (n as usize);
    check_workgroup_limits(gpu, [TILE, TILE])?;
    let groups = n.div_ceil(TILE);
    let max = gpu.properties.limits.max_compute_work_group_count;
    gpu.require("maxComputeWorkGroupCount[0]", max[0].into(), groups.into())?;
    gpu.require("maxComputeWorkGroupCount[1]", max[1].into(), groups.into())?;
    let layout = KernelLayout::new(gpu, 3, 4)?;
    let kernel = Kernel::new(&layout, &spirv(&ShaderSource::renderer_test(shader))?)?;
    let a = HostBuffer::new(gpu, cells)?;
    let b = HostBuffer::new(gpu, cells)?;
    let c = HostBuffer::new(gpu, cells)?;
    a.fill(r::sgemm_a);
    b.fill(r::sgemm_b);
    c.fill(|_| f32::NAN);
    let sets = DescriptorSets::new(gpu, 1, 3)?;
    let set = sets.bind(&layout, &[&a, &b, &c])?;
    let push = push_bytes(&[n]);
    let sub = Submission::new(gpu, s.timestamps)?;
    sub.record(|dev, cmd| {
        record_dispatch(dev, cmd, &kernel, set, &push, [groups, groups, 1])?;
        record_host_read_barrier(dev, cmd);
        Ok(())
    })?;
    let samples = timed_runs(&sub, s.runs)?;
    let n = n as usize;
    c.view(|cs: &[f32]| {
        for (row, col) in r::sample_points(n, 256) {
            let (got, want) = (cs[row * n + col], r::sgemm_element(n, row, col));
            if got != want {
                return Err(wrong(format!("C[{row}][{col}] = {got}, expected {want}")));
            }
        }
        Ok(())
    })?;
    Ok(throughput_figure(&samples, 2.0 * (n as f64).powi(3)))
}

/// How the reduction's input is cut so that no binding exceeds `max_range` bytes:
/// `(chunks, elements per chunk)`, chunk starts a multiple of 1024 elements (4 KiB, more than
/// any minStorageBufferOffsetAlignment, which Vulkan caps at 256).
fn reduction_chunks(n: usize, max_range: u64) -> (usize, usize) {
    const STEP: usize = 1024;
    let max_elems = ((max_range / 4) as usize / STEP * STEP).max(STEP);
    let chunks = n.div_ceil(max_elems).max(1);
    let per_chunk = n.div_ceil(chunks).div_ceil(STEP) * STEP;
    (chunks, per_chunk)
}

pub fn reduction(gpu: &Gpu, s: &Settings) -> Result<Measurement, WorkloadError> {
    let n = s.sizes.reduce_n;
    check_workgroup_limits(gpu, [WG, 1])?;
    // First pass: per chunk of the input (one, unless maxStorageBufferRange is below the input
    // size: lavapipe's is 128 MiB), `groups` workgroups each write one partial sum; second
    // pass: one workgroup sums the partial sums.
    let limits = &gpu.properties.limits;
    let groups = 1024u32.min(limits.max_compute_work_group_count[0]);
    let max_range =
        u64::from(limits.max_storage_buffer_range).min(s.max_binding_bytes.unwrap_or(u64::MAX));
    let (chunks, per_chunk) = reduction_chunks(n, max_range);
    let layout = KernelLayout::new(gpu, 2, 4)?;
    let kernel = Kernel::new(&layout, &spirv(&ShaderSource::bench("reduce_sum"))?)?;
    let input = HostBuffer::new(gpu, n)?;
    let partial_count = chunks * groups as usize;
    let partial = HostBuffer::new(gpu, partial_count)?;
    let total = HostBuffer::new(gpu, 1)?;
    input.fill(r::reduce_value);
    let set_count = u32::try_from(chunks + 1).map_err(|_| GpuError::Misuse("chunks".into()))?;
    let sets = DescriptorSets::new(gpu, set_count, 2 * set_count)?;
    let mut first_pass = Vec::with_capacity(chunks);
    for c in 0..chunks {
        let start = c * per_chunk;
        let len = per_chunk.min(n - start);
        let len32 = u32::try_from(len).map_err(|_| GpuError::Misuse(format!("chunk of {len}")))?;
        let set = sets.bind_ranges(
            &layout,
            &[
                BufferRange {
                    buffer: &input,
                    offset: 4 * start as u64,
                    bytes: 4 * len as u64,
                },
                BufferRange {
                    buffer: &partial,
                    offset: 4 * u64::from(groups) * c as u64,
                    bytes: 4 * u64::from(groups),
                },
            ],
        )?;
        first_pass.push((set, push_bytes(&[len32])));
    }
    let partial32 =
        u32::try_from(partial_count).map_err(|_| GpuError::Misuse("partials".into()))?;
    let second = sets.bind(&layout, &[&partial, &total])?;
    let sub = Submission::new(gpu, s.timestamps)?;
    sub.record(|dev, cmd| {
        for (set, push) in &first_pass {
            record_dispatch(dev, cmd, &kernel, *set, push, [groups, 1, 1])?;
        }
        record_compute_barrier(dev, cmd);
        record_dispatch(
            dev,
            cmd,
            &kernel,
            second,
            &push_bytes(&[partial32]),
            [1, 1, 1],
        )?;
        record_host_read_barrier(dev, cmd);
        Ok(())
    })?;
    let mut samples = Vec::with_capacity(s.runs);
    let want = r::reduce_sum(n);
    // Untimed first run, then the timed ones; the sum is cleared and checked around each.
    for run in 0..=s.runs {
        total.fill(|_| 0xdead_beefu32);
        let sample = sub.run()?;
        let got = total.view(|t: &[u32]| t.first().copied().unwrap_or_default());
        if got != want {
            return Err(wrong(format!("sum = {got}, expected {want} (run {run})")));
        }
        if run > 0 {
            samples.push(sample);
        }
    }
    Ok(throughput_figure(&samples, 4.0 * n as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduction_chunks_fit_the_range_limit_and_cover_the_input() {
        let n = 64 << 20;
        for max_range in [128u64 << 20, 100 << 20, u64::from(u32::MAX), 4096] {
            let (chunks, per_chunk) = reduction_chunks(n, max_range);
            assert!(4 * per_chunk as u64 <= max_range.max(4096), "{max_range}");
            assert!(
                chunks * per_chunk >= n && (chunks - 1) * per_chunk < n,
                "{max_range}"
            );
            assert_eq!(per_chunk % 1024, 0);
        }
        assert_eq!(reduction_chunks(n, 128 << 20), (2, 32 << 20));
        assert_eq!(reduction_chunks(n, u64::from(u32::MAX)).0, 1);
    }
}
