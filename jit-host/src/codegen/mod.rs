//! The back end: validated IR → LLVM IR in SoA form → optimised x86-64 object code.
//!
//! Runs only in jit-host compile workers. The emitted object is position independent
//! (small code model, no jump tables, no libcalls), defines `abi::entry_symbol(stage)`, and
//! reaches its constants only through PC-relative relocations; `crate::link` checks all of
//! that again rather than trusting this module.
//!
//! Module layout: `analysis` (uniformity, builtin shapes), `kernel` (compute entry, workgroup
//! loop, parallel regions around barriers), `stage` (vertex and fragment entries, their
//! interface and builtins), `lane` (statements and control flow under an execution
//! mask), `ops` (value operations), `memory` (bounds-checked loads, stores, atomics),
//! `math` (polynomial transcendental functions), `subgroup`, `emit` (typed helpers over
//! inkwell).

mod analysis;
mod emit;
mod image;
mod kernel;
mod lane;
mod math;
mod memory;
mod ops;
mod stage;
mod subgroup;

use inkwell::context::Context;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target as LlvmTarget, TargetMachine,
};
use inkwell::OptimizationLevel;
use shader::ir;

/// What the code is generated for: SIMD width and the CPU whose features it may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// W: lanes per subgroup (16 with AVX-512, 8 with AVX2, 4 otherwise).
    pub simd_width: u32,
    /// LLVM CPU name, e.g. `znver4`.
    pub cpu: String,
    /// LLVM feature string, e.g. `+avx512f,+avx2,...`.
    pub features: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("LLVM has no x86-64 target: {0}")]
    NoTarget(String),
    #[error("cannot create a target machine for {0}")]
    TargetMachine(String),
    #[error("the host CPU lacks {0}, which the back end needs")]
    MissingFeature(&'static str),
    #[error("LLVM builder error: {0}")]
    Builder(#[from] inkwell::builder::BuilderError),
    #[error("generated LLVM IR does not verify: {0}")]
    Verify(String),
    #[error("LLVM optimisation failed: {0}")]
    Passes(String),
    #[error("LLVM code emission failed: {0}")]
    Emit(String),
    #[error("unsupported IR construct: {0}")]
    Unsupported(String),
    #[error("IR refers to a missing item: {0}")]
    Missing(String),
}

/// Result of [`emit_object`].
pub struct ObjectCode {
    /// An x86-64 ELF relocatable object.
    pub object: Vec<u8>,
    /// Bytes of per-thread scratch the kernel needs (`KernelContext::scratch`).
    pub scratch_size: u32,
}

const TRIPLE: &str = "x86_64-unknown-linux-gnu";

fn init_llvm() -> Result<(), CodegenError> {
    LlvmTarget::initialize_x86(&InitializationConfig::default());
    Ok(())
}

impl Target {
    /// The host CPU, with W chosen from its vector features.
    pub fn host() -> Result<Target, CodegenError> {
        init_llvm()?;
        let cpu = TargetMachine::get_host_cpu_name().to_string();
        let features = TargetMachine::get_host_cpu_features().to_string();
        let has = |f: &str| features.split(',').any(|x| x == format!("+{f}"));
        let simd_width = if has("avx512f") && has("avx512bw") && has("avx512vl") && has("avx512dq")
        {
            16
        } else if has("avx2") && has("fma") {
            8
        } else if has("sse4.1") {
            4
        } else {
            return Err(CodegenError::MissingFeature("SSE4.1"));
        };
        if !has("f16c") {
            // packHalf2x16 / unpackHalf2x16 are emitted as fptrunc/fpext to half, which needs
            // F16C to stay free of libcalls.
            return Err(CodegenError::MissingFeature("F16C"));
        }
        Ok(Target {
            simd_width,
            cpu,
            features,
        })
    }

    fn machine(&self) -> Result<TargetMachine, CodegenError> {
        init_llvm()?;
        let triple = inkwell::targets::TargetTriple::create(TRIPLE);
        let target =
            LlvmTarget::from_triple(&triple).map_err(|e| CodegenError::NoTarget(e.to_string()))?;
        target
            .create_target_machine(
                &triple,
                &self.cpu,
                &self.features,
                OptimizationLevel::Aggressive,
                RelocMode::PIC,
                CodeModel::Small,
            )
            .ok_or_else(|| CodegenError::TargetMachine(self.cpu.clone()))
    }
}

/// Lowers one validated module (any stage) to an object file.
///
/// The caller must have run `shader::valid::validate` on `module`: ids, types and scoping are
/// trusted here (a violation gives an error or a verifier failure, never unsafety, since
/// every memory access is bounds-checked by construction).
pub fn emit_object(module: &ir::Module, target: &Target) -> Result<ObjectCode, CodegenError> {
    let machine = target.machine()?;
    let cx = Context::create();
    let llmod = cx.create_module("softgpu_kernel");
    llmod.set_triple(&machine.get_triple());
    llmod.set_data_layout(&machine.get_target_data().get_data_layout());

    let scratch_size = match module.stage {
        ir::Stage::Compute => kernel::build_kernel(&cx, &llmod, module, target)?,
        ir::Stage::Vertex | ir::Stage::Fragment => {
            stage::build_graphics(&cx, &llmod, module, target)?
        }
    };

    llmod
        .verify()
        .map_err(|e| CodegenError::Verify(e.to_string()))?;
    let opts = PassBuilderOptions::create();
    opts.set_loop_vectorization(false);
    opts.set_loop_slp_vectorization(true);
    opts.set_loop_unrolling(true);
    llmod
        .run_passes("default<O2>", &machine, opts)
        .map_err(|e| CodegenError::Passes(e.to_string()))?;
    if std::env::var_os("SOFTGPU_DUMP_LLVM").is_some() {
        eprintln!("{}", llmod.print_to_string().to_string());
    }
    let buf = machine
        .write_to_memory_buffer(&llmod, FileType::Object)
        .map_err(|e| CodegenError::Emit(e.to_string()))?;
    Ok(ObjectCode {
        object: buf.as_slice().to_vec(),
        scratch_size,
    })
}

#[cfg(test)]
mod test_ir;
#[cfg(test)]
mod tests;
