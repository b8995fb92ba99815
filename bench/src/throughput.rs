//! Compute throughput through the renderer: saxpy (memory bound) and SGEMM (compute bound).

use renderer::{
    Buffer, ComputePipeline, DescriptorSet, Device, DeviceConfig, SpecializationInfo, WHOLE_SIZE,
};

use crate::shaders::{spirv, ShaderSource};
use crate::stats::{median_of, ms};
use crate::BenchError;

fn device() -> Result<Device, BenchError> {
    Ok(Device::new(DeviceConfig::default())?)
}

fn pipeline(dev: &Device, file: &'static str) -> Result<ComputePipeline, BenchError> {
    let words = spirv(&ShaderSource::renderer_test(file))?;
    Ok(dev.create_compute_pipeline(&words, "main", &SpecializationInfo::default())?)
}

fn storage_set(buffers: &[&Buffer]) -> Result<DescriptorSet, BenchError> {
    let mut set = DescriptorSet::new();
    for (i, b) in buffers.iter().enumerate() {
        set.bind_storage_buffer(i as u32, 0, b, 0, WHOLE_SIZE)?;
    }
    Ok(set)
}

pub fn saxpy(runs: usize) -> Result<(), BenchError> {
    let dev = device()?;
    let p = pipeline(&dev, "saxpy")?;
    let n: usize = 16 << 20;
    let (x, y) = (
        dev.create_buffer(4 * n as u64)?,
        dev.create_buffer(4 * n as u64)?,
    );
    x.write_slice(0, &vec![1.0f32; n])?;
    let set = storage_set(&[&x, &y])?;
    let pc = [1.0f32.to_le_bytes(), (n as u32).to_le_bytes()].concat();
    let groups = (n as u32).div_ceil(256);
    let grid = [groups.min(4096), groups.div_ceil(4096), 1];
    let t = median_of(runs, || dev.dispatch(&p, &[&set], &pc, grid))?;
    // y started at 0 and gained 1.0 per dispatch (warm-up included): a cheap sanity check.
    let expected = (runs + 1) as f32;
    let sample: Vec<f32> = y.read_vec(4 * (n as u64 - 1), 1)?;
    if sample[0] != expected {
        return Err(BenchError::WrongResult(format!(
            "saxpy: y[n-1] = {}, expected {expected}",
            sample[0]
        )));
    }
    println!(
        "saxpy {n} f32: {:.2} ms, {:.1} GB/s ({} threads, median of {runs})",
        ms(t),
        12.0 * n as f64 / t.as_secs_f64() / 1e9,
        dev.threads()
    );
    Ok(())
}

pub fn sgemm(runs: usize) -> Result<(), BenchError> {
    let dev = device()?;
    let n = 1024usize;
    let bytes = 4 * (n * n) as u64;
    let (a, b, c) = (
        dev.create_buffer(bytes)?,
        dev.create_buffer(bytes)?,
        dev.create_buffer(bytes)?,
    );
    // A = 1, B = 2: every element of C is 2n, exact in f32 — a cheap sanity check.
    a.write_slice(0, &vec![1.0f32; n * n])?;
    b.write_slice(0, &vec![2.0f32; n * n])?;
    let set = storage_set(&[&a, &b, &c])?;
    let pc = (n as u32).to_le_bytes();
    for file in ["matmul_naive", "matmul_tiled"] {
        let p = pipeline(&dev, file)?;
        c.fill_u32(0)?;
        let groups = [(n / 16) as u32, (n / 16) as u32, 1];
        let t = median_of(runs, || dev.dispatch(&p, &[&set], &pc, groups))?;
        let corner: Vec<f32> = c.read_vec(bytes - 4, 1)?;
        if corner[0] != 2.0 * n as f32 {
            return Err(BenchError::WrongResult(format!(
                "{file}: C[n-1][n-1] = {}",
                corner[0]
            )));
        }
        println!(
            "sgemm {n}³ ({file}): {:.1} ms, {:.2} GFLOP/s (median of {runs})",
            ms(t),
            2.0 * (n as f64).powi(3) / t.as_secs_f64() / 1e9
        );
    }
    Ok(())
}
