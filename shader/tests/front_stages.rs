//! Vertex and fragment entry points: stage interface slots, builtins, fragment controls and
//! execution modes, from GLSL compiled by glslangValidator.

use std::path::Path;
use std::process::Command;

use shader::ir::{
    Builtin, DepthMode, InputSlot, Interpolation, Module, Op, OutputTarget, ScalarType, Stage, Stmt,
};
use shader::{lower, FrontError, SpecializationInfo};

/// Compiles `tests/shaders/<name>` for its stage (from the extension).
fn spirv(name: &str) -> Vec<u8> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/shaders")
        .join(name);
    let stage = name.rsplit('.').next().expect("extension");
    let out = std::env::temp_dir().join(format!("softgpu-h1-{}-{name}.spv", std::process::id()));
    let status = Command::new("glslangValidator")
        .args(["-V", "--target-env", "vulkan1.1", "-S", stage, "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("run glslangValidator");
    assert!(status.success(), "glslangValidator failed on {name}");
    std::fs::read(&out).expect("read spirv")
}

fn lower_ok(name: &str, stage: Stage) -> Module {
    let m = lower(&spirv(name), stage, "main", &SpecializationInfo::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    shader::valid::validate(&m).unwrap_or_else(|e| panic!("{name}: invalid IR: {e}"));
    let round = Module::decode(&m.encode()).expect("IR round trip");
    assert_eq!(round, m);
    m
}

fn lower_err(name: &str, stage: Stage) -> String {
    match lower(&spirv(name), stage, "main", &SpecializationInfo::default()) {
        Ok(_) => panic!("{name} lowered but should not"),
        Err(e) => e.to_string(),
    }
}

fn walk(stmts: &[Stmt], f: &mut impl FnMut(&Stmt)) {
    for s in stmts {
        f(s);
        match s {
            Stmt::If {
                then_body,
                else_body,
                ..
            } => {
                walk(then_body, f);
                walk(else_body, f);
            }
            Stmt::Loop {
                body, continuing, ..
            } => {
                walk(body, f);
                walk(continuing, f);
            }
            Stmt::Breakable { body, .. } => walk(body, f),
            _ => {}
        }
    }
}

fn has_stmt(m: &Module, want: &Stmt) -> bool {
    let mut found = false;
    walk(&m.body, &mut |s| found |= s == want);
    found
}

fn has_op(m: &Module, pred: impl Fn(&Op) -> bool) -> bool {
    let mut found = false;
    walk(&m.body, &mut |s| {
        if let Stmt::Def { op, .. } = s {
            found |= pred(op);
        }
    });
    found
}

fn slot(location: u32, component: u8, ty: ScalarType, interp: Interpolation) -> InputSlot {
    InputSlot {
        location,
        component,
        ty,
        interp,
    }
}

#[test]
fn vertex_interface_slots_and_builtins_are_as_declared() {
    let m = lower_ok("interface.vert", Stage::Vertex);
    assert_eq!(m.stage, Stage::Vertex);
    use Interpolation::Smooth;
    use ScalarType::{F32, I32};
    let mut inputs = m.inputs.clone();
    inputs.sort_by_key(|s| (s.location, s.component));
    assert_eq!(
        inputs,
        vec![
            slot(0, 0, F32, Smooth),
            slot(0, 1, F32, Smooth),
            slot(0, 2, F32, Smooth),
            slot(1, 0, F32, Smooth),
            slot(1, 1, F32, Smooth),
            slot(2, 2, F32, Smooth),
        ]
    );
    let mut targets: Vec<_> = m.outputs.iter().map(|o| (o.target, o.ty)).collect();
    targets.sort_by_key(|(t, _)| format!("{t:?}"));
    let loc = |location, component| OutputTarget::Location {
        location,
        component,
    };
    let mut want = vec![
        (loc(0, 0), F32),
        (loc(0, 1), F32),
        (loc(0, 2), F32),
        (loc(0, 3), F32),
        (loc(1, 0), I32),
        (loc(2, 1), F32),
        (loc(2, 2), F32),
        (OutputTarget::Position(0), F32),
        (OutputTarget::Position(1), F32),
        (OutputTarget::Position(2), F32),
        (OutputTarget::Position(3), F32),
        (OutputTarget::PointSize, F32),
    ];
    want.sort_by_key(|(t, _)| format!("{t:?}"));
    assert_eq!(targets, want);
    for b in [
        Builtin::VertexIndex,
        Builtin::InstanceIndex,
        Builtin::BaseInstance,
    ] {
        assert!(has_op(&m, |op| *op == Op::Builtin(b)), "{b:?} not read");
    }
    // Every output var is written by the shader.
    for o in &m.outputs {
        assert!(
            {
                let mut w = false;
                walk(&m.body, &mut |s| {
                    w |= matches!(s, Stmt::SetVar { var, .. } if *var == o.var)
                });
                w
            },
            "{:?} never written",
            o.target
        );
    }
    assert_eq!(m.buffers.len(), 1);
    assert!(m.push_constant_size >= 4);
}

#[test]
fn fragment_interface_interpolation_discard_and_modes() {
    let m = lower_ok("interface.frag", Stage::Fragment);
    use Interpolation::{Flat, NoPerspective, Smooth};
    use ScalarType::{F32, I32};
    let mut inputs = m.inputs.clone();
    inputs.sort_by_key(|s| (s.location, s.component));
    assert_eq!(
        inputs,
        vec![
            slot(0, 0, F32, Smooth),
            slot(0, 1, F32, Smooth),
            slot(0, 2, F32, Smooth),
            slot(0, 3, F32, Smooth),
            slot(1, 0, I32, Flat),
            slot(2, 1, F32, NoPerspective),
            slot(2, 2, F32, NoPerspective),
            // centroid is lowered as pixel center: plain smooth.
            slot(3, 0, F32, Smooth),
        ]
    );
    let outs: Vec<_> = m.outputs.iter().map(|o| (o.target, o.ty)).collect();
    assert_eq!(outs.len(), 6);
    assert!(outs.contains(&(
        OutputTarget::Location {
            location: 1,
            component: 1
        },
        I32
    )));
    assert!(has_stmt(&m, &Stmt::Kill), "discard not lowered to Kill");
    assert!(has_op(&m, |op| *op == Op::Builtin(Builtin::FragCoord(0))));
    assert!(has_op(&m, |op| *op == Op::Builtin(Builtin::FrontFacing)));
    assert!(has_op(&m, |op| *op == Op::Builtin(Builtin::HelperInvocation)));
    assert!(m.fragment.early_fragment_tests);
    assert!(m.fragment.discards);
    assert!(!m.fragment.depth_replacing);
    assert_eq!(m.buffers.len(), 1);
}

#[test]
fn fragment_demote_helper_query_and_depth_modes() {
    let m = lower_ok("depth.frag", Stage::Fragment);
    assert!(has_stmt(&m, &Stmt::Demote));
    assert!(has_op(&m, |op| *op == Op::IsHelperInvocation));
    assert!(m.fragment.depth_replacing);
    assert_eq!(m.fragment.depth, DepthMode::Greater);
    assert!(!m.fragment.early_fragment_tests);
    assert!(m
        .outputs
        .iter()
        .any(|o| o.target == OutputTarget::FragDepth));
}

#[test]
fn terminate_invocation_becomes_kill() {
    let m = lower_ok("terminate.frag", Stage::Fragment);
    assert!(has_stmt(&m, &Stmt::Kill));
}

#[test]
fn clip_distance_is_refused_by_name() {
    let e = lower_err("clip.vert", Stage::Vertex);
    assert!(e.contains("ClipDistance"), "{e}");
}

#[test]
fn sample_interpolation_is_refused_by_name() {
    let e = lower_err("sample.frag", Stage::Fragment);
    assert!(e.contains("Sample"), "{e}");
}

#[test]
fn entry_point_is_found_by_execution_model() {
    let e = lower(
        &spirv("interface.vert"),
        Stage::Fragment,
        "main",
        &SpecializationInfo::default(),
    );
    assert!(matches!(e, Err(FrontError::EntryPointNotFound(_))), "{e:?}");
    let e = shader::lower_compute(
        &spirv("terminate.frag"),
        "main",
        &SpecializationInfo::default(),
    );
    assert!(matches!(e, Err(FrontError::EntryPointNotFound(_))), "{e:?}");
}

#[test]
fn validator_refuses_kill_outside_fragment() {
    let mut m = lower_ok("interface.vert", Stage::Vertex);
    m.body.push(Stmt::Kill);
    assert!(shader::valid::validate(&m).is_err());
    let mut m = lower_ok("terminate.frag", Stage::Fragment);
    m.stage = Stage::Vertex;
    assert!(shader::valid::validate(&m).is_err());
}

#[test]
fn view_index_lowers_to_the_builtin_in_vertex_and_fragment_stages() {
    for (name, stage) in [
        ("multiview.vert", Stage::Vertex),
        ("multiview.frag", Stage::Fragment),
    ] {
        let m = lower_ok(name, stage);
        assert!(
            has_op(&m, |op| *op == Op::Builtin(Builtin::ViewIndex)),
            "{name}: ViewIndex not read"
        );
    }
    assert!(Builtin::ViewIndex.allowed_in(Stage::Vertex));
    assert!(Builtin::ViewIndex.allowed_in(Stage::Fragment));
    assert!(!Builtin::ViewIndex.allowed_in(Stage::Compute));
    assert_eq!(Builtin::ViewIndex.ty(), ScalarType::I32);
}
