//! Back-end unit tests on hand-built IR: the object must be emitted, define the entry symbol and
//! contain no undefined symbols (running the code: `jit-host/tests/codegen_exec.rs`).

use object::{Object, ObjectSymbol};

use shader::abi;
use shader::ir::{
    Const, InputSlot, Interpolation, Module, Op, OutputSlot, OutputTarget, ScalarType, Stage, Stmt,
    ValueId, VarId,
};

use super::analysis::Analysis;
use super::test_ir::{reduction, saxpy, Builder};
use super::{emit_object, Target};

fn check_object(bytes: &[u8]) {
    check_object_entry(bytes, abi::COMPUTE_ENTRY_SYMBOL);
}

fn check_object_entry(bytes: &[u8], symbol: &str) {
    let file = object::File::parse(bytes).expect("object parses");
    let entry = file.symbols().find(|s| s.name() == Ok(symbol));
    assert!(entry.is_some(), "entry symbol {symbol} present");
    let undefined: Vec<_> = file
        .symbols()
        .filter(|s| s.is_undefined() && !s.name().unwrap_or("").is_empty())
        .map(|s| s.name().unwrap_or("?").to_string())
        .collect();
    assert!(
        undefined.is_empty(),
        "no external symbols, found {undefined:?}"
    );
}

#[test]
fn saxpy_emits_a_self_contained_object() {
    let t = Target::host().expect("host target");
    let o = emit_object(&saxpy(), &t).expect("emits");
    check_object(&o.object);
}

#[test]
fn barrier_reduction_emits_with_scratch_for_live_state() {
    let t = Target::host().expect("host target");
    for n in [256, 1024] {
        let o = emit_object(&reduction(n), &t).expect("emits");
        check_object(&o.object);
        assert!(
            o.scratch_size > 0,
            "vars and cross-region values need scratch"
        );
    }
}

/// A fragment module: `if input0 > 0.5 { depth = input0; kill }`, colour = input0.
fn fragment_with_depth_and_kill() -> Module {
    let mut b = Builder::new([1, 1, 1]);
    b.m.stage = Stage::Fragment;
    b.m.inputs = vec![InputSlot {
        location: 0,
        component: 0,
        ty: ScalarType::F32,
        interp: Interpolation::Smooth,
    }];
    b.m.var_types = vec![ScalarType::F32, ScalarType::F32];
    b.m.outputs = vec![
        OutputSlot {
            target: OutputTarget::Location {
                location: 0,
                component: 0,
            },
            ty: ScalarType::F32,
            var: VarId(0),
        },
        OutputSlot {
            target: OutputTarget::FragDepth,
            ty: ScalarType::F32,
            var: VarId(1),
        },
    ];
    b.m.fragment.depth_replacing = true;
    b.m.fragment.discards = true;
    let mut body = Vec::new();
    let x = b.def(&mut body, ScalarType::F32, Op::Input(0));
    let half = b.def(
        &mut body,
        ScalarType::F32,
        Op::Const(Const(u64::from(0.5f32.to_bits()))),
    );
    let c = b.def(
        &mut body,
        ScalarType::Bool,
        Op::Cmp(shader::ir::CmpOp::FOGt, x, half),
    );
    body.push(Stmt::SetVar {
        var: VarId(0),
        value: x,
    });
    body.push(Stmt::If {
        cond: c,
        then_body: vec![
            Stmt::SetVar {
                var: VarId(1),
                value: x,
            },
            Stmt::Kill,
        ],
        else_body: vec![],
    });
    b.m.body = body;
    b.m
}

#[test]
fn fragment_module_emits_its_own_entry_symbol() {
    let t = Target::host().expect("host target");
    let m = fragment_with_depth_and_kill();
    shader::valid::validate(&m).expect("valid IR");
    let o = emit_object(&m, &t).expect("emits");
    check_object_entry(&o.object, abi::FRAGMENT_ENTRY_SYMBOL);
    let file = object::File::parse(&*o.object).expect("object parses");
    assert!(file
        .symbols()
        .all(|s| s.name() != Ok(abi::COMPUTE_ENTRY_SYMBOL)));
}

#[test]
fn frag_depth_var_is_varying_even_when_set_from_a_uniform_value() {
    let mut m = fragment_with_depth_and_kill();
    // depth = 0.5 (a uniform constant) in uniform control flow.
    m.body.push(Stmt::SetVar {
        var: VarId(1),
        value: ValueId(1),
    });
    let an = Analysis::run(&m, 8);
    assert!(!an.var_uniform[1], "FragDepth starts per lane");
    let mut m2 = m.clone();
    m2.outputs.truncate(1);
    m2.fragment.depth_replacing = false;
    let an2 = Analysis::run(&m2, 8);
    assert!(!an2.var_uniform[0], "colour var is set from an input");
}

#[test]
fn vertex_module_with_a_barrier_or_kill_is_refused() {
    let t = Target::host().expect("host target");
    let mut m = Builder::new([1, 1, 1]).m;
    m.stage = Stage::Vertex;
    m.body = vec![Stmt::Kill];
    assert!(emit_object(&m, &t).is_err());
    m.body = vec![Stmt::Barrier];
    assert!(emit_object(&m, &t).is_err());
    m.body = vec![];
    let o = emit_object(&m, &t).expect("an empty vertex shader emits");
    check_object_entry(&o.object, abi::VERTEX_ENTRY_SYMBOL);
}
