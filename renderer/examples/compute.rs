//! The compute example: saxpy over 16M floats and a 1024³ SGEMM (naive and shared-memory
//! tiled), each checked against the CPU, with pipeline-creation and dispatch timings.
//!
//! Run with `scripts/run-example` (release build; needs `glslangValidator` and the jit-host
//! binary, found next to this executable or via `$SOFTGPU_JIT_HOST`).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use renderer::{
    ComputePipeline, DescriptorSet, Device, DeviceConfig, SpecializationInfo, WHOLE_SIZE,
};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const TIMED_RUNS: usize = 5;

fn main() -> Result<()> {
    let dev = Device::new(DeviceConfig {
        jit_host_path: std::env::var_os("SOFTGPU_JIT_HOST").map(PathBuf::from),
        ..DeviceConfig::default()
    })?;
    println!(
        "softgpu compute example: {} worker threads, subgroup size {}",
        dev.threads(),
        dev.subgroup_size()
    );
    saxpy(&dev)?;
    let n = 1024;
    let (a, b) = (matrix(n, 1), matrix(n, 2));
    let reference = CpuProduct::new(&a, &b, n);
    for shader in ["matmul_naive", "matmul_tiled"] {
        sgemm(&dev, shader, &a, &b, &reference)?;
    }
    Ok(())
}

/// Compiles `renderer/tests/shaders/<name>.comp` to SPIR-V with glslangValidator.
fn spirv(name: &str) -> Result<Vec<u8>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/shaders")
        .join(format!("{name}.comp"));
    let out =
        std::env::temp_dir().join(format!("softgpu-example-{}-{name}.spv", std::process::id()));
    let status = Command::new("glslangValidator")
        .args(["-V", "--target-env", "vulkan1.1", "-o"])
        .arg(&out)
        .arg(&src)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("running glslangValidator: {e}"))?;
    if !status.success() {
        return Err(format!("glslangValidator failed on {}", src.display()).into());
    }
    let words = std::fs::read(&out)?;
    let _ = std::fs::remove_file(&out);
    Ok(words)
}

fn create(dev: &Device, name: &str) -> Result<(ComputePipeline, Duration)> {
    let words = spirv(name)?;
    let start = Instant::now();
    let p = dev.create_compute_pipeline(&words, "main", &SpecializationInfo::default())?;
    Ok((p, start.elapsed()))
}

/// Median wall time of `TIMED_RUNS` calls of `f`, after one warm-up call.
fn median_time(mut f: impl FnMut() -> Result<()>) -> Result<Duration> {
    f()?;
    let mut times = Vec::with_capacity(TIMED_RUNS);
    for _ in 0..TIMED_RUNS {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[TIMED_RUNS / 2])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Deterministic values in [-1, 1).
fn matrix(n: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9) | 1;
    (0..n * n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

fn saxpy(dev: &Device) -> Result<()> {
    let n: usize = 16 << 20;
    let (p, create_time) = create(dev, "saxpy")?;
    let x: Vec<f32> = (0..n).map(|i| (i % 4099) as f32 * 0.25).collect();
    let y: Vec<f32> = (0..n).map(|i| (i % 1021) as f32 - 500.0).collect();
    let a = 3.0f32;
    let (bx, by) = (
        dev.create_buffer(4 * n as u64)?,
        dev.create_buffer(4 * n as u64)?,
    );
    bx.write_slice(0, &x)?;
    by.write_slice(0, &y)?;
    let mut set = DescriptorSet::new();
    set.bind_storage_buffer(0, 0, &bx, 0, WHOLE_SIZE)?;
    set.bind_storage_buffer(1, 0, &by, 0, WHOLE_SIZE)?;
    let pc = [a.to_le_bytes(), (n as u32).to_le_bytes()].concat();
    let groups = (n as u32).div_ceil(256);
    let grid = [groups.min(4096), groups.div_ceil(4096), 1];

    let first = Instant::now();
    dev.dispatch(&p, &[&set], &pc, grid)?;
    let first = first.elapsed();
    let got: Vec<f32> = by.read_vec(0, n)?;
    // Inputs are small multiples of 1/4: a·x + y is exact in f32, fused or not.
    let wrong = (0..n).filter(|&i| got[i] != a * x[i] + y[i]).count();
    if wrong != 0 {
        return Err(format!("saxpy: {wrong} of {n} results differ from the CPU").into());
    }
    let t = median_time(|| Ok(dev.dispatch(&p, &[&set], &pc, grid)?))?;
    let gbs = 12.0 * n as f64 / t.as_secs_f64() / 1e9;
    println!(
        "saxpy {n} f32: results match the CPU; pipeline {:.2} ms, first dispatch {:.2} ms, dispatch {:.2} ms (median of {TIMED_RUNS}), {gbs:.1} GB/s",
        ms(create_time),
        ms(first),
        ms(t)
    );
    Ok(())
}

/// The exact product (f64) and Σ|aᵢₖ·bₖⱼ| per element, for an error bound.
struct CpuProduct {
    exact: Vec<f64>,
    magnitude: Vec<f64>,
}

impl CpuProduct {
    fn new(a: &[f32], b: &[f32], n: usize) -> CpuProduct {
        let (mut exact, mut magnitude) = (vec![0f64; n * n], vec![0f64; n * n]);
        for r in 0..n {
            let (row, mag) = (
                &mut exact[r * n..(r + 1) * n],
                &mut magnitude[r * n..(r + 1) * n],
            );
            for k in 0..n {
                let av = f64::from(a[r * n + k]);
                for (c, bv) in b[k * n..(k + 1) * n].iter().enumerate() {
                    let t = av * f64::from(*bv);
                    row[c] += t;
                    mag[c] += t.abs();
                }
            }
        }
        CpuProduct { exact, magnitude }
    }
}

fn sgemm(dev: &Device, shader: &str, a: &[f32], b: &[f32], reference: &CpuProduct) -> Result<()> {
    let n = 1024usize;
    let (p, create_time) = create(dev, shader)?;
    let bytes = 4 * (n * n) as u64;
    let (ba, bb, bc) = (
        dev.create_buffer(bytes)?,
        dev.create_buffer(bytes)?,
        dev.create_buffer(bytes)?,
    );
    ba.write_slice(0, a)?;
    bb.write_slice(0, b)?;
    let mut set = DescriptorSet::new();
    for (i, buf) in [&ba, &bb, &bc].into_iter().enumerate() {
        set.bind_storage_buffer(i as u32, 0, buf, 0, WHOLE_SIZE)?;
    }
    let pc = (n as u32).to_le_bytes();
    let groups = [(n / 16) as u32, (n / 16) as u32, 1];
    let first = Instant::now();
    dev.dispatch(&p, &[&set], &pc, groups)?;
    let first = first.elapsed();
    let got: Vec<f32> = bc.read_vec(0, n * n)?;
    // Any summation order: |error| ≤ n·2^-23·Σ|a·b|.
    let bound = n as f64 * f64::from(f32::EPSILON);
    let wrong = (0..n * n)
        .filter(|&i| {
            (f64::from(got[i]) - reference.exact[i]).abs() > bound * reference.magnitude[i] + 1e-30
        })
        .count();
    if wrong != 0 {
        return Err(format!(
            "{shader}: {wrong} of {} results outside the error bound",
            n * n
        )
        .into());
    }
    let t = median_time(|| Ok(dev.dispatch(&p, &[&set], &pc, groups)?))?;
    let gflops = 2.0 * (n as f64).powi(3) / t.as_secs_f64() / 1e9;
    println!(
        "sgemm {n}³ ({shader}): results match the CPU; pipeline {:.2} ms, first dispatch {:.1} ms, dispatch {:.1} ms (median of {TIMED_RUNS}), {gflops:.2} GFLOP/s",
        ms(create_time),
        ms(first),
        ms(t)
    );
    Ok(())
}
