//! softgpu-bench: compile latency and compute throughput.
//!
//! ```text
//! softgpu-bench compile [--runs N]   in-process compile vs jit-host round trip, per shader
//! softgpu-bench saxpy   [--runs N]   16M-element saxpy, GB/s (12 bytes per element)
//! softgpu-bench sgemm   [--runs N]   1024³ SGEMM, naive and tiled, GFLOP/s (2n³ / t)
//! softgpu-bench all     [--runs N]
//! ```
//! Every figure is the median of N runs after one warm-up run. Build with `--release` and keep
//! the machine otherwise idle.

mod compile_bench;
mod throughput;

use softgpu_bench::{shaders, stats};

use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("usage: softgpu-bench <compile|saxpy|sgemm|all> [--runs N]")]
    Usage,
    #[error("shader: {0}")]
    Shader(#[from] shaders::ShaderError),
    #[error("renderer: {0}")]
    Renderer(#[from] renderer::RendererError),
    #[error("jit-host: {0}")]
    Client(#[from] jit_host_client::ClientError),
    #[error("SPIR-V front end: {0}")]
    Front(#[from] shader::front::FrontError),
    #[error("in-process compile: {0}")]
    Compile(#[from] jit_host::compile::CompileError),
    #[error("code generation target: {0}")]
    Target(#[from] jit_host::codegen::CodegenError),
    #[error("{0}")]
    WrongResult(String),
}

struct Args {
    command: String,
    runs: usize,
}

fn parse_args() -> Result<Args, BenchError> {
    let mut args = std::env::args().skip(1);
    let command = args.next().ok_or(BenchError::Usage)?;
    let mut runs = 10;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" | "-n" => {
                runs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or(BenchError::Usage)?;
            }
            _ => return Err(BenchError::Usage),
        }
    }
    Ok(Args { command, runs })
}

fn run(args: &Args) -> Result<(), BenchError> {
    match args.command.as_str() {
        "compile" => compile_bench::run(args.runs),
        "saxpy" => throughput::saxpy(args.runs),
        "sgemm" => throughput::sgemm(args.runs),
        "all" => {
            compile_bench::run(args.runs)?;
            throughput::saxpy(args.runs)?;
            throughput::sgemm(args.runs)
        }
        _ => Err(BenchError::Usage),
    }
}

fn main() -> ExitCode {
    match parse_args().and_then(|args| run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("softgpu-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
