//! Hand-built modules, valid and each kind of invalid.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

use super::{validate, ValidationError, MAX_NESTING_DEPTH};
use crate::ir::*;
use ScalarType::{Bool, F32, I32, I64};

fn v(i: u32) -> ValueId {
    ValueId(i)
}

fn def(id: u32, op: Op) -> Stmt {
    Stmt::Def { id: v(id), op }
}

fn konst(id: u32, bits: u64) -> Stmt {
    def(id, Op::Const(Const(bits)))
}

fn module(value_types: &[ScalarType], body: Vec<Stmt>) -> Module {
    Module {
        version: IR_VERSION,
        stage: Stage::Compute,
        entry_point: "main".into(),
        workgroup_size: [64, 1, 1],
        inputs: vec![],
        outputs: vec![],
        fragment: Default::default(),
        value_types: value_types.to_vec(),
        var_types: vec![I32, Bool],
        buffers: vec![
            BufferBinding {
                set: 0,
                binding: 0,
                array_index: 0,
                kind: BufferKind::Storage,
                read_only: false,
            },
            BufferBinding {
                set: 0,
                binding: 1,
                array_index: 0,
                kind: BufferKind::Storage,
                read_only: true,
            },
            BufferBinding {
                set: 0,
                binding: 2,
                array_index: 0,
                kind: BufferKind::Uniform,
                read_only: false,
            },
        ],
        images: vec![],
        samplers: vec![],
        push_constant_size: 16,
        workgroup_memory_size: 1024,
        private_memory_size: 64,
        body,
    }
}

fn buf(index: u32, offset: u32) -> MemRef {
    MemRef {
        space: Space::Buffer(index),
        offset: v(offset),
    }
}

fn type_error(result: Result<(), ValidationError>) -> bool {
    matches!(result, Err(ValidationError::Type { .. }))
}

/// A module using every construct the way a front end would: loads, stores, atomics, vars,
/// an `If`, a `Loop` with `continuing`, a `Breakable`, subgroup ops, builtins.
fn rich_valid_module() -> Module {
    let types = [
        I64, I32, I32, Bool, F32, F32, I32, I32, Bool, I32, I32, I32, Bool, I32, F32,
    ];
    let body = vec![
        konst(0, 16),
        def(1, Op::Builtin(Builtin::GlobalInvocationId(0))),
        def(2, Op::Load(buf(1, 0))),
        def(3, Op::Cmp(CmpOp::ULt, v(1), v(2))),
        def(
            4,
            Op::Load(MemRef {
                space: Space::PushConstant,
                offset: v(0),
            }),
        ),
        Stmt::If {
            cond: v(3),
            then_body: vec![
                def(5, Op::Binary(BinOp::FMul, v(4), v(4))),
                Stmt::Store {
                    mem: buf(0, 0),
                    value: v(5),
                },
            ],
            else_body: vec![Stmt::SetVar {
                var: VarId(0),
                value: v(1),
            }],
        },
        Stmt::Loop {
            label: LabelId(1),
            body: vec![
                def(6, Op::GetVar(VarId(0))),
                def(7, Op::Binary(BinOp::IAdd, v(6), v(1))),
                def(8, Op::Cmp(CmpOp::SGe, v(7), v(2))),
                Stmt::If {
                    cond: v(8),
                    then_body: vec![Stmt::Break(LabelId(1))],
                    else_body: vec![],
                },
            ],
            // v7 is defined before any Continue, so it is in scope here.
            continuing: vec![Stmt::SetVar {
                var: VarId(0),
                value: v(7),
            }],
        },
        Stmt::Breakable {
            label: LabelId(2),
            body: vec![
                def(
                    9,
                    Op::Atomic {
                        op: AtomicOp::CompareExchange,
                        mem: buf(0, 0),
                        value: v(1),
                        comparator: Some(v(2)),
                    },
                ),
                Stmt::If {
                    cond: v(3),
                    then_body: vec![Stmt::Break(LabelId(2))],
                    else_body: vec![],
                },
                Stmt::AtomicStore {
                    mem: MemRef {
                        space: Space::Workgroup,
                        offset: v(0),
                    },
                    value: v(9),
                },
                Stmt::Barrier,
            ],
        },
        def(10, Op::Subgroup(SubgroupOp::Ballot(v(3)))),
        def(
            11,
            Op::Subgroup(SubgroupOp::Scan {
                op: GroupOp::IAdd,
                kind: ScanKind::InclusiveScan,
                value: v(10),
            }),
        ),
        def(12, Op::Subgroup(SubgroupOp::AllEqual(v(11)))),
        def(13, Op::Convert(ConvOp::ZextOrTrunc, v(12))),
        def(14, Op::Convert(ConvOp::Bitcast, v(13))),
        Stmt::Store {
            mem: MemRef {
                space: Space::Private,
                offset: v(0),
            },
            value: v(12),
        },
        Stmt::Return,
    ];
    module(&types, body)
}

#[test]
fn module_using_every_construct_is_valid() {
    assert_eq!(validate(&rich_valid_module()), Ok(()));
}

#[test]
fn wrong_version_is_rejected() {
    let mut m = rich_valid_module();
    m.version = IR_VERSION + 1;
    assert_eq!(
        validate(&m),
        Err(ValidationError::Version {
            found: IR_VERSION + 1
        })
    );
}

#[test]
fn empty_oversized_or_overflowing_workgroups_are_rejected() {
    for size in [[0, 1, 1], [1025, 1, 1], [32, 32, 2], [65536, 65536, 2]] {
        let mut m = rich_valid_module();
        m.workgroup_size = size;
        assert_eq!(
            validate(&m),
            Err(ValidationError::WorkgroupSize(size)),
            "{size:?}"
        );
    }
    let mut m = rich_valid_module();
    m.workgroup_size = [8, 8, 16];
    assert_eq!(validate(&m), Ok(()));
}

#[test]
fn memory_sizes_over_the_limits_are_rejected() {
    let mut m = rich_valid_module();
    m.push_constant_size = MAX_PUSH_CONSTANTS + 1;
    assert!(matches!(
        validate(&m),
        Err(ValidationError::MemorySize {
            what: "push constant",
            ..
        })
    ));
    let mut m = rich_valid_module();
    m.workgroup_memory_size = MAX_WORKGROUP_MEMORY + 1;
    assert!(matches!(
        validate(&m),
        Err(ValidationError::MemorySize {
            what: "workgroup memory",
            ..
        })
    ));
    let mut m = rich_valid_module();
    m.var_types = vec![ScalarType::I32; crate::ir::MAX_VARS + 1];
    assert!(matches!(validate(&m), Err(ValidationError::TooManyVars(_))));
    let mut m = rich_valid_module();
    m.private_memory_size = MAX_PRIVATE_MEMORY + 1;
    assert!(matches!(
        validate(&m),
        Err(ValidationError::MemorySize {
            what: "private memory",
            ..
        })
    ));
}

#[test]
fn ids_out_of_range_are_rejected() {
    let m = module(&[I32], vec![konst(1, 0)]);
    assert_eq!(validate(&m), Err(ValidationError::ValueOutOfRange(v(1))));
    let m = module(
        &[I32, I32],
        vec![konst(0, 0), def(1, Op::Binary(BinOp::IAdd, v(0), v(7)))],
    );
    assert_eq!(validate(&m), Err(ValidationError::ValueOutOfRange(v(7))));
    let m = module(&[I32], vec![def(0, Op::GetVar(VarId(2)))]);
    assert_eq!(validate(&m), Err(ValidationError::VarOutOfRange(VarId(2))));
    let m = module(&[I64, I32], vec![konst(0, 0), def(1, Op::Load(buf(3, 0)))]);
    assert_eq!(validate(&m), Err(ValidationError::BufferOutOfRange(3)));
    let m = module(&[I64], vec![def(0, Op::BufferLength(3))]);
    assert_eq!(validate(&m), Err(ValidationError::BufferOutOfRange(3)));
    assert_eq!(
        validate(&module(&[I64], vec![def(0, Op::BufferLength(2))])),
        Ok(())
    );
}

#[test]
fn a_value_defined_twice_is_rejected() {
    let m = module(
        &[Bool, I32],
        vec![
            konst(0, 1),
            Stmt::If {
                cond: v(0),
                then_body: vec![konst(1, 1)],
                else_body: vec![konst(1, 0)],
            },
        ],
    );
    assert_eq!(validate(&m), Err(ValidationError::Redefined(v(1))));
    let m = module(
        &[I32],
        vec![
            Stmt::Breakable {
                label: LabelId(0),
                body: vec![konst(0, 1)],
            },
            konst(0, 2),
        ],
    );
    assert_eq!(validate(&m), Err(ValidationError::Redefined(v(0))));
}

#[test]
fn use_before_definition_and_self_reference_are_rejected() {
    let m = module(
        &[I32, I32],
        vec![def(1, Op::Unary(UnOp::INeg, v(0))), konst(0, 3)],
    );
    assert_eq!(validate(&m), Err(ValidationError::NotInScope(v(0))));
    let m = module(&[I32], vec![def(0, Op::Unary(UnOp::INeg, v(0)))]);
    assert_eq!(validate(&m), Err(ValidationError::NotInScope(v(0))));
}

#[test]
fn values_defined_inside_a_construct_are_not_visible_after_it() {
    let inner = vec![konst(1, 5)];
    let after = Stmt::SetVar {
        var: VarId(0),
        value: v(1),
    };
    let m = module(
        &[Bool, I32],
        vec![
            konst(0, 1),
            Stmt::If {
                cond: v(0),
                then_body: inner.clone(),
                else_body: vec![],
            },
            after.clone(),
        ],
    );
    assert_eq!(validate(&m), Err(ValidationError::NotInScope(v(1))));
    let m = module(
        &[Bool, I32],
        vec![
            Stmt::Loop {
                label: LabelId(0),
                body: inner.clone(),
                continuing: vec![Stmt::Break(LabelId(0))],
            },
            after.clone(),
        ],
    );
    assert_eq!(validate(&m), Err(ValidationError::NotInScope(v(1))));
    // then-branch values are not visible in the else branch.
    let m = module(
        &[Bool, I32],
        vec![
            konst(0, 1),
            Stmt::If {
                cond: v(0),
                then_body: inner,
                else_body: vec![after.clone()],
            },
        ],
    );
    assert_eq!(validate(&m), Err(ValidationError::NotInScope(v(1))));
    // Values of enclosing lists are visible in nested ones.
    let m = module(
        &[Bool, I32],
        vec![
            konst(1, 5),
            konst(0, 1),
            Stmt::If {
                cond: v(0),
                then_body: vec![after],
                else_body: vec![],
            },
        ],
    );
    assert_eq!(validate(&m), Ok(()));
}

#[test]
fn body_values_after_a_continue_are_not_visible_in_continuing() {
    let loop_with = |body: Vec<Stmt>| {
        module(
            &[Bool, I32, I32],
            vec![
                konst(0, 1),
                Stmt::Loop {
                    label: LabelId(4),
                    body,
                    continuing: vec![Stmt::SetVar {
                        var: VarId(0),
                        value: v(2),
                    }],
                },
            ],
        )
    };
    let cont = Stmt::If {
        cond: v(0),
        then_body: vec![Stmt::Continue(LabelId(4))],
        else_body: vec![],
    };
    assert_eq!(
        validate(&loop_with(vec![konst(2, 1), cont.clone()])),
        Ok(())
    );
    assert_eq!(
        validate(&loop_with(vec![cont, konst(2, 1)])),
        Err(ValidationError::NotInScope(v(2)))
    );
}

#[test]
fn break_and_continue_must_name_an_enclosing_construct() {
    let m = module(&[], vec![Stmt::Break(LabelId(3))]);
    assert_eq!(validate(&m), Err(ValidationError::BadBreak(LabelId(3))));
    let m = module(
        &[],
        vec![
            Stmt::Breakable {
                label: LabelId(3),
                body: vec![],
            },
            Stmt::Break(LabelId(3)),
        ],
    );
    assert_eq!(validate(&m), Err(ValidationError::BadBreak(LabelId(3))));
    let m = module(
        &[],
        vec![Stmt::Breakable {
            label: LabelId(3),
            body: vec![Stmt::Continue(LabelId(3))],
        }],
    );
    assert_eq!(validate(&m), Err(ValidationError::BadContinue(LabelId(3))));
    // A loop's continuing may break out of it but not continue it.
    let m = module(
        &[],
        vec![Stmt::Loop {
            label: LabelId(1),
            body: vec![],
            continuing: vec![Stmt::Break(LabelId(1))],
        }],
    );
    assert_eq!(validate(&m), Ok(()));
    let m = module(
        &[],
        vec![Stmt::Loop {
            label: LabelId(1),
            body: vec![],
            continuing: vec![Stmt::Continue(LabelId(1))],
        }],
    );
    assert_eq!(validate(&m), Err(ValidationError::BadContinue(LabelId(1))));
    // An inner loop may continue an outer one and break out of a breakable around it.
    let inner = Stmt::Loop {
        label: LabelId(2),
        body: vec![Stmt::Continue(LabelId(1)), Stmt::Break(LabelId(0))],
        continuing: vec![],
    };
    let outer = Stmt::Loop {
        label: LabelId(1),
        body: vec![inner],
        continuing: vec![],
    };
    let m = module(
        &[],
        vec![Stmt::Breakable {
            label: LabelId(0),
            body: vec![outer],
        }],
    );
    assert_eq!(validate(&m), Ok(()));
}

#[test]
fn a_label_naming_two_constructs_is_rejected() {
    let m = module(
        &[],
        vec![
            Stmt::Breakable {
                label: LabelId(7),
                body: vec![],
            },
            Stmt::Loop {
                label: LabelId(7),
                body: vec![Stmt::Break(LabelId(7))],
                continuing: vec![],
            },
        ],
    );
    assert_eq!(
        validate(&m),
        Err(ValidationError::DuplicateLabel(LabelId(7)))
    );
}

fn nested(depth: u32) -> Module {
    let mut stmts = vec![Stmt::Break(LabelId(0))];
    for level in 0..depth {
        stmts = vec![Stmt::Breakable {
            label: LabelId(level),
            body: stmts,
        }];
    }
    module(&[], stmts)
}

#[test]
fn nesting_is_bounded() {
    assert_eq!(validate(&nested(MAX_NESTING_DEPTH as u32)), Ok(()));
    assert_eq!(
        validate(&nested(MAX_NESTING_DEPTH as u32 + 1)),
        Err(ValidationError::TooDeep)
    );
    let mut ifs = vec![];
    for _ in 0..=MAX_NESTING_DEPTH {
        ifs = vec![Stmt::If {
            cond: v(0),
            then_body: ifs,
            else_body: vec![],
        }];
    }
    ifs.insert(0, konst(0, 1));
    assert_eq!(
        validate(&module(&[Bool], ifs)),
        Err(ValidationError::TooDeep)
    );
}

/// Defines v0 = I64 offset 0, v1 = I32, v2 = I64, v3 = F32, v4 = Bool, then `stmt`, with
/// v5 of type `result` free for the statement to define.
fn with_operands(result: ScalarType, stmt: Stmt) -> Result<(), ValidationError> {
    let m = module(
        &[I64, I32, I64, F32, Bool, result],
        vec![
            konst(0, 0),
            konst(1, 1),
            konst(2, 2),
            konst(3, 0),
            konst(4, 1),
            stmt,
        ],
    );
    validate(&m)
}

#[test]
fn operand_types_must_match_the_operation() {
    // Good forms first, so the bad ones below fail for the reason they name.
    assert_eq!(
        with_operands(I64, def(5, Op::Binary(BinOp::Shl, v(2), v(2)))),
        Ok(())
    );
    assert_eq!(
        with_operands(Bool, def(5, Op::Cmp(CmpOp::FOLt, v(3), v(3)))),
        Ok(())
    );
    assert_eq!(
        with_operands(F32, def(5, Op::Select(v(4), v(3), v(3)))),
        Ok(())
    );
    assert_eq!(
        with_operands(I32, def(5, Op::Unary(UnOp::F32ToF16Bits, v(3)))),
        Ok(())
    );

    let bad = [
        (I32, Op::Binary(BinOp::IAdd, v(1), v(2))),
        (I64, Op::Binary(BinOp::Shl, v(2), v(1))),
        (I32, Op::Binary(BinOp::FAdd, v(1), v(1))),
        (F32, Op::Binary(BinOp::IMul, v(3), v(3))),
        (Bool, Op::Binary(BinOp::IAdd, v(4), v(4))),
        (Bool, Op::Cmp(CmpOp::Eq, v(1), v(2))),
        (Bool, Op::Cmp(CmpOp::SLt, v(3), v(3))),
        (Bool, Op::Cmp(CmpOp::FOLt, v(1), v(1))),
        (I32, Op::Cmp(CmpOp::Eq, v(1), v(1))),
        (F32, Op::Select(v(1), v(3), v(3))),
        (F32, Op::Select(v(4), v(3), v(1))),
        (F32, Op::Fma(v(3), v(3), v(1))),
        (I32, Op::Unary(UnOp::Sqrt, v(1))),
        (I64, Op::Unary(UnOp::BitCount, v(1))),
        (I32, Op::Unary(UnOp::IsNan, v(3))),
        (I64, Op::Convert(ConvOp::Bitcast, v(3))),
        (Bool, Op::Convert(ConvOp::ZextOrTrunc, v(1))),
        (Bool, Op::Convert(ConvOp::FToS, v(3))),
        (F32, Op::Convert(ConvOp::SToF, v(3))),
        (I32, Op::Convert(ConvOp::FToU, v(1))),
        (I32, Op::Const(Const(1 << 32))),
        (Bool, Op::Const(Const(2))),
        (I32, Op::Builtin(Builtin::WorkgroupId(3))),
        (I64, Op::Builtin(Builtin::LocalInvocationIndex)),
        (I32, Op::Subgroup(SubgroupOp::Ballot(v(1)))),
        (
            F32,
            Op::Subgroup(SubgroupOp::Scan {
                op: GroupOp::IAdd,
                kind: ScanKind::Reduce,
                value: v(3),
            }),
        ),
        (
            I32,
            Op::Subgroup(SubgroupOp::Shuffle {
                value: v(1),
                index: v(2),
            }),
        ),
        (Bool, Op::GetVar(VarId(0))),
        (I32, Op::BufferLength(0)),
    ];
    for (ty, op) in bad {
        let result = with_operands(ty, def(5, op.clone()));
        assert!(
            type_error(result.clone()),
            "{op:?} -> {ty:?} gave {result:?}"
        );
    }
    assert!(type_error(with_operands(
        I32,
        Stmt::SetVar {
            var: VarId(1),
            value: v(1)
        }
    )));
    let if_on_int = Stmt::If {
        cond: v(1),
        then_body: vec![],
        else_body: vec![],
    };
    assert!(type_error(with_operands(I32, if_on_int)));
}

#[test]
fn memory_accesses_are_checked() {
    let ok = [
        Stmt::Store {
            mem: buf(0, 0),
            value: v(3),
        },
        def(5, Op::Load(buf(2, 0))),
        Stmt::Store {
            mem: MemRef {
                space: Space::Private,
                offset: v(0),
            },
            value: v(4),
        },
        def(
            5,
            Op::Atomic {
                op: AtomicOp::Load,
                mem: buf(1, 0),
                value: v(3),
                comparator: None,
            },
        ),
    ];
    for stmt in ok {
        let ty = if matches!(
            stmt,
            Stmt::Def {
                op: Op::Atomic { .. },
                ..
            }
        ) {
            I32
        } else {
            F32
        };
        assert_eq!(with_operands(ty, stmt.clone()), Ok(()), "{stmt:?}");
    }
    let bad = [
        (
            I32,
            def(
                5,
                Op::Load(MemRef {
                    space: Space::Buffer(0),
                    offset: v(1),
                }),
            ),
        ),
        (
            I32,
            Stmt::Store {
                mem: buf(1, 0),
                value: v(1),
            },
        ),
        (
            I32,
            Stmt::Store {
                mem: buf(2, 0),
                value: v(1),
            },
        ),
        (
            I32,
            Stmt::Store {
                mem: MemRef {
                    space: Space::PushConstant,
                    offset: v(0),
                },
                value: v(1),
            },
        ),
        (
            I32,
            Stmt::Store {
                mem: buf(0, 0),
                value: v(4),
            },
        ),
        (
            Bool,
            def(
                5,
                Op::Load(MemRef {
                    space: Space::Workgroup,
                    offset: v(0),
                }),
            ),
        ),
        (
            F32,
            def(
                5,
                Op::Atomic {
                    op: AtomicOp::Add,
                    mem: buf(0, 0),
                    value: v(3),
                    comparator: None,
                },
            ),
        ),
        (
            I32,
            def(
                5,
                Op::Atomic {
                    op: AtomicOp::Add,
                    mem: buf(1, 0),
                    value: v(1),
                    comparator: None,
                },
            ),
        ),
        (
            I32,
            def(
                5,
                Op::Atomic {
                    op: AtomicOp::CompareExchange,
                    mem: buf(0, 0),
                    value: v(1),
                    comparator: None,
                },
            ),
        ),
        (
            I32,
            def(
                5,
                Op::Atomic {
                    op: AtomicOp::Add,
                    mem: buf(0, 0),
                    value: v(1),
                    comparator: Some(v(1)),
                },
            ),
        ),
        (
            I64,
            def(
                5,
                Op::Atomic {
                    op: AtomicOp::Exchange,
                    mem: buf(0, 0),
                    value: v(1),
                    comparator: None,
                },
            ),
        ),
        (
            I32,
            def(
                5,
                Op::Atomic {
                    op: AtomicOp::Load,
                    mem: MemRef {
                        space: Space::PushConstant,
                        offset: v(0),
                    },
                    value: v(1),
                    comparator: None,
                },
            ),
        ),
        (
            I32,
            Stmt::AtomicStore {
                mem: buf(0, 0),
                value: v(3),
            },
        ),
    ];
    for (ty, stmt) in bad {
        let result = with_operands(ty, stmt.clone());
        assert!(type_error(result.clone()), "{stmt:?} gave {result:?}");
    }
}

fn buffer_array(first: u32, len: u32, index: u32, offset: u32) -> MemRef {
    MemRef {
        space: Space::BufferArray {
            first,
            index: DescriptorIndex {
                len,
                index: v(index),
            },
        },
        offset: v(offset),
    }
}

#[test]
fn buffer_arrays_need_a_run_in_range_an_integer_index_and_writable_slots() {
    // Values: 0 = offset (I64), 1 = index (I32), 2 = loaded (I32), 3 = F32 index.
    let types = [I64, I32, I32, F32];
    let with = |mem: MemRef, store: bool| {
        let mut body = vec![konst(0, 0), konst(1, 1), konst(3, 0)];
        if store {
            body.push(Stmt::Store { mem, value: v(1) });
        } else {
            body.push(def(2, Op::Load(mem)));
        }
        validate(&module(&types, body))
    };
    // Slots 0..2 are storage buffers (1 read-only), 2 a uniform buffer.
    assert_eq!(with(buffer_array(0, 2, 1, 0), false), Ok(()));
    assert!(
        with(buffer_array(2, 2, 1, 0), false).is_err(),
        "run past the buffers"
    );
    assert!(with(buffer_array(0, 0, 1, 0), false).is_err(), "empty run");
    assert!(
        type_error(with(buffer_array(0, 2, 3, 0), false)),
        "F32 index"
    );
    assert!(
        with(buffer_array(0, 3, 1, 0), false).is_err(),
        "storage and uniform slots mixed"
    );
    assert!(
        type_error(with(buffer_array(0, 2, 1, 0), true)),
        "store to a run with a read-only slot"
    );
    assert_eq!(with(buffer_array(0, 1, 1, 0), true), Ok(()));
    // The index must be defined before the access.
    let m = module(
        &[I64, I32, I32],
        vec![
            konst(0, 0),
            def(2, Op::Load(buffer_array(0, 2, 1, 0))),
            konst(1, 1),
        ],
    );
    assert!(validate(&m).is_err());
}
