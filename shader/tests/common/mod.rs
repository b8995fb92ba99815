//! Helpers shared by the front-end tests: compiling GLSL / SPIR-V assembly with the Khronos
//! tools, lowering + validating, and the reference IR interpreter.

#![allow(dead_code)]

pub mod interp;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use shader::ir::Module;
use shader::{lower_compute, SpecializationInfo};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn scratch(ext: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("softgpu-front-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(format!("t{n}.{ext}"))
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("tool runs");
    assert!(
        out.status.success(),
        "{:?} failed:\n{}{}",
        cmd,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// GLSL compute shader → SPIR-V (glslangValidator, Vulkan 1.1).
pub fn glsl(src: &str) -> Vec<u8> {
    glsl_with(src, &[])
}

/// As [`glsl`], with extra glslangValidator flags (debug info, ...).
pub fn glsl_with(src: &str, flags: &[&str]) -> Vec<u8> {
    let (input, output) = (scratch("comp"), scratch("spv"));
    std::fs::write(&input, src).expect("write shader");
    run(Command::new("glslangValidator")
        .args(["-V", "--target-env", "vulkan1.1", "-S", "comp"])
        .args(flags)
        .arg("-o")
        .arg(&output)
        .arg(&input));
    std::fs::read(&output).expect("read spirv")
}

/// Runs `spirv-opt -O` on a module (phis, cross-block values, merged blocks).
pub fn optimize(spv: &[u8]) -> Vec<u8> {
    optimize_with(spv, &["-O"])
}

/// Runs `spirv-opt` with the given passes.
pub fn optimize_with(spv: &[u8], passes: &[&str]) -> Vec<u8> {
    let (input, output) = (scratch("spv"), scratch("spv"));
    std::fs::write(&input, spv).expect("write spirv");
    run(Command::new("spirv-opt")
        .args(passes)
        .arg("--target-env=vulkan1.1")
        .arg(&input)
        .arg("-o")
        .arg(&output));
    std::fs::read(&output).expect("read spirv")
}

/// Pass lists that reshape control flow in different ways.
pub const PASS_SETS: &[&[&str]] = &[
    &["-O"],
    &["-Os"],
    &[
        "--merge-return",
        "--eliminate-local-multi-store",
        "--merge-blocks",
        "--loop-unswitch",
        "--simplify-instructions",
    ],
    &[
        "--eliminate-local-multi-store",
        "--loop-peeling",
        "--loop-unroll-partial=2",
        "--if-conversion",
        "--ccp",
        "--eliminate-dead-branches",
    ],
];

/// The plain module and one per entry of [`PASS_SETS`], all lowered and validated.
pub fn variants(src: &str) -> Vec<Module> {
    let spv = glsl(src);
    let mut out = vec![lower(&spv)];
    for passes in PASS_SETS {
        out.push(lower(&optimize_with(&spv, passes)));
    }
    out
}

/// SPIR-V assembly → binary (spirv-as).
pub fn asm(src: &str) -> Vec<u8> {
    let (input, output) = (scratch("spvasm"), scratch("spv"));
    std::fs::write(&input, src).expect("write asm");
    run(Command::new("spirv-as")
        .args(["--target-env", "vulkan1.1"])
        .arg(&input)
        .arg("-o")
        .arg(&output));
    std::fs::read(&output).expect("read spirv")
}

/// Lowers `main` and validates the result; panics with the error otherwise.
pub fn lower(spv: &[u8]) -> Module {
    lower_spec(spv, &SpecializationInfo::default())
}

pub fn lower_spec(spv: &[u8], spec: &SpecializationInfo) -> Module {
    let m = lower_compute(spv, "main", spec).unwrap_or_else(|e| panic!("lowering failed: {e}"));
    if let Err(e) = shader::valid::validate(&m) {
        panic!("lowered module does not validate: {e}\n{m:#?}");
    }
    m
}

/// Both the plain and the `spirv-opt -O` form of a GLSL shader, lowered and validated.
pub fn both(src: &str) -> [Module; 2] {
    let spv = glsl(src);
    let opt = optimize(&spv);
    [lower(&spv), lower(&opt)]
}

/// Index of the buffer slot bound to (set, binding, 0).
pub fn slot(m: &Module, set: u32, binding: u32) -> usize {
    m.buffers
        .iter()
        .position(|b| b.set == set && b.binding == binding && b.array_index == 0)
        .unwrap_or_else(|| panic!("no buffer for set {set} binding {binding}: {:?}", m.buffers))
}

/// Runs `m` with the given (set, binding) → bytes buffers; returns them afterwards.
pub fn run_with(
    m: &Module,
    groups: [u32; 3],
    bufs: &[(u32, u32, Vec<u8>)],
    push: &[u8],
) -> Vec<Vec<u8>> {
    let mut slots: Vec<Vec<u8>> = vec![Vec::new(); m.buffers.len()];
    for (set, binding, bytes) in bufs {
        if let Some(i) = m
            .buffers
            .iter()
            .position(|b| b.set == *set && b.binding == *binding)
        {
            slots[i] = bytes.clone();
        }
    }
    interp::dispatch(m, groups, &mut slots, push);
    slots
}

pub fn u32s(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub fn f32s(b: &[u8]) -> Vec<f32> {
    u32s(b).into_iter().map(f32::from_bits).collect()
}

pub fn bytes_u32(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Deterministic xorshift64* generator for test data and fuzzing.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn f32_in(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next() >> 40) as f32 / (1u64 << 24) as f32)
    }
}

/// Counts statements matching `pred` anywhere in a statement tree.
pub fn count(stmts: &[shader::ir::Stmt], pred: &dyn Fn(&shader::ir::Stmt) -> bool) -> usize {
    use shader::ir::Stmt;
    let mut n = 0;
    for s in stmts {
        if pred(s) {
            n += 1;
        }
        n += match s {
            Stmt::If {
                then_body,
                else_body,
                ..
            } => count(then_body, pred) + count(else_body, pred),
            Stmt::Loop {
                body, continuing, ..
            } => count(body, pred) + count(continuing, pred),
            Stmt::Breakable { body, .. } => count(body, pred),
            _ => 0,
        };
    }
    n
}
