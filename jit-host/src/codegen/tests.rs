//! Back-end unit tests on hand-built IR: the object must be emitted, define the entry symbol and
//! contain no undefined symbols (running the code: `jit-host/tests/codegen_exec.rs`).

use object::{Object, ObjectSymbol};

use super::test_ir::{reduction, saxpy};
use super::{emit_object, Target};

fn check_object(bytes: &[u8]) {
    let file = object::File::parse(bytes).expect("object parses");
    let entry = file
        .symbols()
        .find(|s| s.name() == Ok(shader::abi::COMPUTE_ENTRY_SYMBOL));
    assert!(entry.is_some(), "entry symbol present");
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
