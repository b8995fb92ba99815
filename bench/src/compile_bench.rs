//! Compile latency: the same IR modules compiled in this process (validate → LLVM → linked
//! blob) and through the jit-host process (request, compile in the worker, placement in the
//! arena, answer).

use jit_host::codegen::Target;
use jit_host::compile::compile_module;
use jit_host_client::{JitHost, SpawnOptions};
use shader::front::{lower_compute, SpecializationInfo};

use crate::shaders::{spirv, COMPILE_SET};
use crate::stats::{median_of, ms};
use crate::BenchError;

pub fn run(runs: usize) -> Result<(), BenchError> {
    let target = Target::host()?;
    let jit = JitHost::spawn(&SpawnOptions::default())?;
    println!(
        "compile latency, median of {runs} (W = {}, cpu {})",
        target.simd_width, target.cpu
    );
    println!(
        "{:<15} {:>12} {:>14} {:>14} {:>8}",
        "shader", "lower ms", "in-process ms", "jit-host ms", "ratio"
    );
    for source in &COMPILE_SET {
        let words = spirv(source)?;
        let spec = SpecializationInfo::default();
        let lower = median_of(runs, || lower_compute(&words, "main", &spec).map(drop))?;
        let module = lower_compute(&words, "main", &spec)?;
        let local = median_of(runs, || compile_module(&module, &target).map(drop))?;
        // Each kernel is dropped right away, so its arena range is freed and reused.
        let remote = median_of(runs, || jit.compile(&module).map(drop))?;
        println!(
            "{:<15} {:>12.3} {:>14.2} {:>14.2} {:>7.2}x",
            source.label,
            ms(lower),
            ms(local),
            ms(remote),
            remote.as_secs_f64() / local.as_secs_f64().max(1e-9)
        );
    }
    Ok(())
}
