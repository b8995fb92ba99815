//! The whole pipeline on real IR: validate → LLVM → link → place → call, in-process and
//! through the jit-host process.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

mod common;

use std::path::PathBuf;

use common::TestContext;
use jit_host::arena::CodeArena;
use jit_host::codegen::Target;
use jit_host::compile::{compile_module, CompileError};
use jit_host_client::arena::ArenaMapping;
use jit_host_client::wire::ArenaLayout;
use jit_host_client::{ClientError, JitHost, SpawnOptions};
use shader::abi::ComputeKernelFn;
use shader::ir::*;

const WORKGROUP: u32 = 64;
const GROUPS: u32 = 3;
const N: usize = (WORKGROUP * GROUPS) as usize;

/// For every invocation i: `ints[i] = 3 * i + 7` and `floats[i] = i * 0.5 + 1.25` (as f32 bits).
fn module() -> Module {
    use ScalarType::*;
    let types = [I32, I32, I32, I32, I32, I64, I64, I64, F32, F32, F32, F32];
    let def = |id: u32, op: Op| Stmt::Def {
        id: ValueId(id),
        op,
    };
    let v = ValueId;
    let buffer = |binding| BufferBinding {
        set: 0,
        binding,
        array_index: 0,
        kind: BufferKind::Storage,
        read_only: false,
    };
    Module {
        version: IR_VERSION,
        stage: Stage::Compute,
        entry_point: "main".into(),
        workgroup_size: [WORKGROUP, 1, 1],
        inputs: vec![],
        outputs: vec![],
        fragment: Default::default(),
        value_types: types.to_vec(),
        var_types: vec![],
        buffers: vec![buffer(0), buffer(1)],
        images: vec![],
        samplers: vec![],
        push_constant_size: 0,
        workgroup_memory_size: 0,
        private_memory_size: 0,
        body: vec![
            def(0, Op::Builtin(Builtin::GlobalInvocationId(0))),
            def(1, Op::Const(Const(3))),
            def(2, Op::Binary(BinOp::IMul, v(0), v(1))),
            def(3, Op::Const(Const(7))),
            def(4, Op::Binary(BinOp::IAdd, v(2), v(3))),
            def(5, Op::Convert(ConvOp::ZextOrTrunc, v(0))),
            def(6, Op::Const(Const(4))),
            def(7, Op::Binary(BinOp::IMul, v(5), v(6))),
            Stmt::Store {
                mem: MemRef {
                    space: Space::Buffer(0),
                    offset: v(7),
                },
                value: v(4),
            },
            def(8, Op::Convert(ConvOp::UToF, v(0))),
            def(9, Op::Const(Const(u64::from(0.5f32.to_bits())))),
            def(10, Op::Const(Const(u64::from(1.25f32.to_bits())))),
            def(11, Op::Fma(v(8), v(9), v(10))),
            Stmt::Store {
                mem: MemRef {
                    space: Space::Buffer(1),
                    offset: v(7),
                },
                value: v(11),
            },
        ],
    }
}

fn check_results(ctx: &TestContext) {
    for i in 0..N {
        assert_eq!(ctx.buffers[0][i], 3 * i as u32 + 7, "ints[{i}]");
        assert_eq!(
            f32::from_bits(ctx.buffers[1][i]),
            i as f32 * 0.5 + 1.25,
            "floats[{i}]"
        );
    }
    assert_eq!(
        ctx.buffers[0][N], 0xffff_ffff,
        "the store past the dispatch is not made"
    );
}

fn fresh_context(scratch: usize) -> TestContext {
    TestContext::new(vec![vec![0xffff_ffff; N + 1], vec![0; N + 1]], 0, scratch)
}

#[test]
fn compiled_module_runs_from_an_arena_in_process() {
    let target = Target::host().unwrap();
    let blob = compile_module(&module(), &target).unwrap();
    // LLVM keeps the float constants in .rodata: the fixup path is exercised.
    assert!(!blob.fixups.is_empty() && !blob.rodata.is_empty());
    let layout = ArenaLayout {
        code_size: 1 << 20,
        data_size: 1 << 16,
    };
    let mut arena = CodeArena::create(layout).unwrap();
    let range = arena.place(&blob).unwrap();
    let mapping =
        ArenaMapping::map(arena.fd().unwrap().try_clone_to_owned().unwrap(), layout).unwrap();
    let entry = mapping.entry_address(&range).unwrap();
    let mut ctx = fresh_context(blob.scratch_size as usize);
    let kctx = ctx.context([GROUPS, 1, 1]);
    // SAFETY: `entry` is the entry point of a kernel compiled for the ComputeKernelFn ABI,
    // placed in the read+execute view; `kctx` points at buffers and scratch owned by `ctx`.
    let kernel: ComputeKernelFn =
        unsafe { std::mem::transmute::<*const u8, ComputeKernelFn>(entry) };
    // SAFETY: as above.
    unsafe { kernel(&kctx, 0, GROUPS) };
    check_results(&ctx);
}

#[test]
fn invalid_ir_is_refused_before_code_generation() {
    let mut m = module();
    m.value_types[4] = ScalarType::I64;
    let target = Target::host().unwrap();
    assert!(matches!(
        compile_module(&m, &target),
        Err(CompileError::Invalid(_))
    ));
}

fn spawn() -> std::sync::Arc<JitHost> {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_jit-host"));
    JitHost::spawn(&SpawnOptions {
        path: Some(path),
        allow_test_requests: false,
    })
    .unwrap()
}

#[test]
fn jit_host_compiles_ir_into_a_kernel_that_runs_here() {
    let host = spawn();
    assert!([4, 8, 16].contains(&host.target().simd_width));
    let kernel = host.compile(&module()).unwrap();
    let mut ctx = fresh_context(kernel.scratch_size());
    let kctx = ctx.context([GROUPS, 1, 1]);
    // Two calls over disjoint workgroup ranges cover the dispatch.
    // SAFETY: `kctx` describes two live buffers of N + 1 u32 and enough scratch.
    unsafe {
        kernel.call(&kctx, 0, 1);
    }
    // SAFETY: as above.
    unsafe { kernel.call(&kctx, 1, GROUPS - 1) };
    check_results(&ctx);
}

#[test]
fn jit_host_answers_invalid_ir_with_an_error() {
    let host = spawn();
    let mut m = module();
    m.body.push(Stmt::Break(LabelId(9)));
    match host.compile(&m) {
        Err(ClientError::JitHost(message)) => assert!(message.contains("invalid IR"), "{message}"),
        other => panic!("expected a validation error, got {:?}", other.map(|_| ())),
    }
    let mut wrong_version = module();
    wrong_version.version += 1;
    assert!(matches!(
        host.compile(&wrong_version),
        Err(ClientError::JitHost(_))
    ));
    assert!(host.compile(&module()).is_ok());
}
