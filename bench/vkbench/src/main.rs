//! softgpu-vkbench: Vulkan compute and graphics benchmarks through the system loader, on whatever driver
//! it picks (`VK_DRIVER_FILES` decides): lavapipe, softgpu, or a real GPU.
//!
//! ```text
//! softgpu-vkbench [--runs N] [--only W1,W2,...] [--json] [--quick] [--device I] [--no-timestamps]
//! ```
//! Workloads: saxpy (16M floats, GB/s at 12 bytes per element), sgemm-naive and sgemm-tiled
//! (1024³, GFLOP/s = 2n³/t), reduction (64M u32, GB/s at 4 bytes per element),
//! pipeline-latency (saxpy module + pipeline creation + first dispatch, ms); on a 1920×1080
//! RGBA8 target: blend-fullscreen and opaque-fullscreen (128 full-screen quads per submission,
//! Mpix/s), tris-8px (1M triangles of 8 px) and tris-128px (60k of 128 px, Mtris/s),
//! graphics-pipeline-latency (two modules + graphics pipeline + first draw, ms). Each figure is
//! the median wall-clock time of N runs (default 5) around vkQueueSubmit + vkWaitForFences,
//! after one untimed run; every result is checked against the CPU before its figure is
//! reported (the raster workloads: every pixel of one checked run).

mod buffer;
mod gpu;
mod kernel;
mod raster;
mod report;
mod submit;
mod target;
mod texture;
mod workloads;

use std::process::ExitCode;

use gpu::Gpu;
use workloads::{Settings, Sizes, Workload};

const USAGE: &str = "\
usage: softgpu-vkbench [options]
  --runs N          timed runs per workload, median reported (default 5)
  --only LIST       comma-separated workloads: saxpy,sgemm-naive,sgemm-tiled,reduction,
                    pipeline-latency,blend-fullscreen,opaque-fullscreen,tris-8px,tris-128px,
                    graphics-pipeline-latency,bilinear-fullscreen,trilinear-fullscreen
  --json            print one JSON object instead of the human table
  --quick           small problem sizes: checks the program and a driver, measures nothing useful
  --device I        use the I-th physical device (default: the first with a compute queue)
  --no-timestamps   do not record GPU timestamps (wall-clock figures are reported either way)
  --max-binding-bytes B  split the reduction's input into bindings of at most B bytes
                    (it already splits at the device's maxStorageBufferRange; for tests)
  --driver-cache    keep Mesa's on-disk shader cache (by default it is turned off, see below)
Mesa drivers (lavapipe) cache compiled shaders on disk, so a \"fresh\" pipeline of a module seen
before skips compilation; MESA_SHADER_CACHE_DISABLE=true is set unless given or --driver-cache.
Output: one line per workload, `workload<TAB>median<TAB>unit<TAB>device`, then a table.";

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}\n{USAGE}")]
    Usage(String),
    #[error("{0}")]
    Gpu(#[from] gpu::GpuError),
}

struct Options {
    runs: usize,
    only: Vec<Workload>,
    json: bool,
    quick: bool,
    device: Option<usize>,
    timestamps: bool,
    driver_cache: bool,
    max_binding_bytes: Option<u64>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, CliError> {
    let mut o = Options {
        runs: 5,
        only: Workload::ALL.to_vec(),
        json: false,
        quick: false,
        device: None,
        timestamps: true,
        driver_cache: false,
        max_binding_bytes: None,
    };
    let mut args = args.into_iter();
    let usage = |m: String| CliError::Usage(m);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| usage(format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--runs" | "-n" => {
                let v = value("--runs")?;
                o.runs = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| usage(format!("--runs {v}: not a positive number")))?;
            }
            "--only" => {
                let v = value("--only")?;
                o.only = v
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        Workload::parse(s).ok_or_else(|| usage(format!("unknown workload {s:?}")))
                    })
                    .collect::<Result<_, _>>()?;
                if o.only.is_empty() {
                    return Err(usage("--only names no workload".into()));
                }
            }
            "--device" => {
                let v = value("--device")?;
                o.device = Some(
                    v.parse()
                        .map_err(|_| usage(format!("--device {v}: not an index")))?,
                );
            }
            "--max-binding-bytes" => {
                let v = value("--max-binding-bytes")?;
                o.max_binding_bytes = Some(
                    v.parse()
                        .ok()
                        .filter(|&b| b >= 4096)
                        .ok_or_else(|| usage(format!("--max-binding-bytes {v}: need >= 4096")))?,
                );
            }
            "--json" => o.json = true,
            "--quick" => o.quick = true,
            "--no-timestamps" => o.timestamps = false,
            "--driver-cache" => o.driver_cache = true,
            "--help" | "-h" => return Ok(None),
            other => return Err(usage(format!("unknown argument {other:?}"))),
        }
    }
    Ok(Some(o))
}

/// Mesa's disk cache would turn pipeline-latency into a cache lookup after the first run ever
/// (lavapipe: about 1 ms instead of 20): turn it off before the loader loads the driver.
const MESA_CACHE_VAR: &str = "MESA_SHADER_CACHE_DISABLE";

fn run(o: &Options) -> Result<bool, CliError> {
    if !o.driver_cache && std::env::var_os(MESA_CACHE_VAR).is_none() {
        // Single-threaded here, before any library that reads the environment is loaded.
        std::env::set_var(MESA_CACHE_VAR, "true");
    }
    let gpu = Gpu::open(o.device)?;
    eprintln!(
        "softgpu-vkbench: device \"{}\", API {}, loader {}, timestamps {}, {MESA_CACHE_VAR}={}",
        gpu.name,
        gpu.api_version(),
        gpu.loader_version().map_or_else(
            || "1.0".to_owned(),
            |v| format!(
                "{}.{}.{}",
                ash::vk::api_version_major(v),
                ash::vk::api_version_minor(v),
                ash::vk::api_version_patch(v)
            )
        ),
        match (o.timestamps, gpu.timestamp_period_ns) {
            (false, _) => "off".to_owned(),
            (true, None) => "unsupported".to_owned(),
            (true, Some(p)) => format!("on ({p} ns/tick)"),
        },
        std::env::var(MESA_CACHE_VAR).unwrap_or_default()
    );
    let settings = Settings {
        runs: o.runs,
        sizes: if o.quick { Sizes::QUICK } else { Sizes::FULL },
        timestamps: o.timestamps,
        max_binding_bytes: o.max_binding_bytes,
    };
    let mut results = Vec::with_capacity(o.only.len());
    let mut all_ok = true;
    for &w in &o.only {
        let outcome = workloads::run(&gpu, w, &settings).map_err(|e| e.to_string());
        if let Err(e) = &outcome {
            eprintln!("softgpu-vkbench: {}: {e}", w.name());
            all_ok = false;
        }
        if !o.json {
            println!("{}", report::tab_line(w, &outcome, &gpu.name));
        }
        results.push((w, outcome));
    }
    if o.json {
        println!(
            "{}",
            report::json(&results, &gpu.name, &gpu.api_version(), o.runs)
        );
    } else {
        println!();
        print!("{}", report::table(&results, &gpu.name, o.runs));
    }
    Ok(all_ok)
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some(o)) => match run(&o) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("softgpu-vkbench: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("softgpu-vkbench: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>, CliError> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn defaults_run_every_workload_five_times() {
        let o = parse(&[]).ok().flatten().expect("defaults parse");
        assert_eq!(
            (o.runs, o.only.len(), o.json, o.timestamps),
            (5, Workload::ALL.len(), false, true)
        );
    }

    #[test]
    fn only_selects_workloads_in_the_given_order() {
        let o = parse(&["--only", "reduction,saxpy", "--runs", "3"])
            .ok()
            .flatten()
            .expect("parse");
        assert_eq!(o.only, vec![Workload::Reduction, Workload::Saxpy]);
        assert_eq!(o.runs, 3);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for bad in [
            &["--runs", "0"][..],
            &["--only", "sgemm"],
            &["--runs"],
            &["--frobnicate"],
        ] {
            assert!(matches!(parse(bad), Err(CliError::Usage(_))), "{bad:?}");
        }
    }
}
