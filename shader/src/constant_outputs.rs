//! Which fragment modules write the same outputs for every fragment of a draw: no value they
//! compute depends on the fragment (its inputs, position, facing, coverage or lane), so one
//! evaluation per draw gives every fragment's output words, and the renderer need not call
//! the kernel per block of fragments.
//!
//! The analysis is a walk over the statement tree that accepts only value sources that are
//! the same in every invocation of a draw — constants (specialization constants are constants
//! by now), push constants, uniform buffers (no shader stage can write them), buffer sizes,
//! `ViewIndex` (one per view, and the renderer shades each view with its own resources),
//! the subgroup size — and operations on values so made. Every value is then uniform by
//! induction, so every branch and loop condition is uniform too, and per-invocation state
//! (vars, private memory) evolves identically in every invocation. The module must also have
//! no side effect (no stores outside private memory, no atomics, no image operations), never
//! discard (a discard decides per fragment which outputs count) and not write `FragDepth`
//! (the renderer's default depth is per fragment).
//!
//! Storage buffers are refused even when the fragment stage only reads them: another stage of
//! the same draw (a vertex shader) may write them while fragments are shaded.

use crate::ir::{
    BufferKind, Builtin, MemRef, Module, Op, OutputTarget, ScalarType, Space, Stage, Stmt, ValueId,
    VarId,
};

/// The first thing found that makes a module's outputs differ between fragments of a draw
/// (or that the analysis does not prove uniform).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PerFragment {
    /// Not a fragment module.
    NotFragment,
    /// It reads a stage input (`Op::Input`).
    Input,
    /// It reads a per-fragment builtin (FragCoord, FrontFacing, PointCoord, helper state,
    /// subgroup lane id).
    Builtin(Builtin),
    /// `Op::IsHelperInvocation`.
    HelperInvocation,
    /// A derivative (reads the quad's other lanes).
    Derivative,
    /// A subgroup operation (reads other lanes, or the live mask).
    Subgroup,
    /// A load from memory that may differ per fragment or change during the draw.
    Load(Space),
    /// A store outside private memory, an atomic, or an image operation: a side effect, or a
    /// read the analysis does not follow.
    SideEffect,
    /// A barrier (not meaningful in a fragment shader).
    Barrier,
    /// Kill, TerminateInvocation or DemoteToHelperInvocation.
    Discard,
    /// The module writes `FragDepth`.
    FragDepth,
}

/// `None` when every output of fragment module `module` has the same value in every
/// invocation of a draw (for one set of push constants, uniform buffers and view index);
/// otherwise the first reason found why it may not.
pub fn per_fragment_source(module: &Module) -> Option<PerFragment> {
    source(module, Inputs::PerFragment)
}

/// Whether every output of `module` is the same for every fragment whose inputs are the same
/// (a primitive whose every input is constant over it: flat, or the same at every vertex),
/// for one set of push constants, uniform buffers and view index: what
/// [`per_fragment_source`] checks with stage inputs taken as uniform.
pub fn outputs_depend_only_on_inputs(module: &Module) -> bool {
    source(module, Inputs::Uniform).is_none()
}

/// What an output slot of a module that only copies its inputs receives ([`copied_inputs`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopiedWord {
    /// Input slot `n`'s word, as it is.
    Input(u32),
    /// A constant word (an output never set reads 0).
    Constant(u32),
}

/// For a fragment module whose straight-line body only stores its inputs and constants, as
/// they are, to its outputs (a vertex-colour shader), each output slot's source, in
/// `Module::outputs` order: the kernel's output words for any inputs, bit for bit, without
/// running it. `None` where the module does anything more: computes, branches, reads a
/// builtin or memory, discards or writes `FragDepth`.
pub fn copied_inputs(module: &Module) -> Option<Vec<CopiedWord>> {
    if module.stage != Stage::Fragment
        || module.fragment.discards
        || module.fragment.depth_replacing
    {
        return None;
    }
    let word = |id: ValueId| -> bool {
        matches!(
            module.value_types.get(id.0 as usize),
            Some(ScalarType::F32 | ScalarType::I32)
        )
    };
    let mut values: Vec<(ValueId, CopiedWord)> = Vec::new();
    let mut vars: Vec<(VarId, CopiedWord)> = Vec::new();
    let find = |list: &[(ValueId, CopiedWord)], id: ValueId| {
        list.iter().rev().find(|(v, _)| *v == id).map(|&(_, w)| w)
    };
    for (n, stmt) in module.body.iter().enumerate() {
        match stmt {
            Stmt::Def { id, op } if word(*id) => {
                let copied = match *op {
                    Op::Input(slot) => {
                        module.inputs.get(slot as usize)?;
                        CopiedWord::Input(slot)
                    }
                    Op::Const(c) => CopiedWord::Constant(c.0 as u32),
                    Op::GetVar(var) => vars
                        .iter()
                        .find(|(x, _)| *x == var)
                        .map_or(CopiedWord::Constant(0), |&(_, w)| w),
                    _ => return None,
                };
                values.push((*id, copied));
            }
            Stmt::SetVar { var, value } => {
                let copied = find(&values, *value)?;
                vars.retain(|(x, _)| x != var);
                vars.push((*var, copied));
            }
            Stmt::Return if n + 1 == module.body.len() => {}
            _ => return None,
        }
    }
    module
        .outputs
        .iter()
        .map(|slot| match slot.target {
            OutputTarget::Location { .. } => Some(
                vars.iter()
                    .find(|(x, _)| *x == slot.var)
                    .map_or(CopiedWord::Constant(0), |&(_, w)| w),
            ),
            _ => None,
        })
        .collect()
}

/// How the analysis takes `Op::Input`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Inputs {
    /// A per-fragment source.
    PerFragment,
    /// The same in every invocation (the caller guarantees it).
    Uniform,
}

fn source(module: &Module, inputs: Inputs) -> Option<PerFragment> {
    if module.stage != Stage::Fragment {
        return Some(PerFragment::NotFragment);
    }
    if module.fragment.discards {
        return Some(PerFragment::Discard);
    }
    if module.fragment.depth_replacing
        || module
            .outputs
            .iter()
            .any(|o| o.target == OutputTarget::FragDepth)
    {
        return Some(PerFragment::FragDepth);
    }
    first_in(module, &module.body, inputs)
}

/// Whether every output of `module` is the same for every fragment of a draw
/// ([`per_fragment_source`] finds nothing).
pub fn outputs_are_draw_constant(module: &Module) -> bool {
    per_fragment_source(module).is_none()
}

/// The first per-fragment source in `body`.
fn first_in(module: &Module, body: &[Stmt], inputs: Inputs) -> Option<PerFragment> {
    body.iter().find_map(|stmt| match stmt {
        Stmt::Def { op, .. } => op_source(module, op, inputs),
        Stmt::Store { mem, .. } => match mem.space {
            Space::Private => None,
            _ => Some(PerFragment::SideEffect),
        },
        Stmt::AtomicStore { .. } | Stmt::Image { .. } => Some(PerFragment::SideEffect),
        Stmt::SetVar { .. }
        | Stmt::Break(_)
        | Stmt::Continue(_)
        | Stmt::Return
        | Stmt::MemoryBarrier => None,
        Stmt::If {
            then_body,
            else_body,
            ..
        } => first_in(module, then_body, inputs).or_else(|| first_in(module, else_body, inputs)),
        Stmt::Loop {
            body, continuing, ..
        } => first_in(module, body, inputs).or_else(|| first_in(module, continuing, inputs)),
        Stmt::Breakable { body, .. } => first_in(module, body, inputs),
        Stmt::Barrier => Some(PerFragment::Barrier),
        Stmt::Kill | Stmt::Demote => Some(PerFragment::Discard),
    })
}

/// Why `op` may differ between fragments, if it may (its operands are uniform by induction).
fn op_source(module: &Module, op: &Op, inputs: Inputs) -> Option<PerFragment> {
    match op {
        Op::Const(_)
        | Op::Undef
        | Op::Unary(..)
        | Op::Binary(..)
        | Op::Fma(..)
        | Op::Cmp(..)
        | Op::Select(..)
        | Op::Convert(..)
        | Op::GetVar(_)
        | Op::BufferLength(_) => None,
        Op::Builtin(builtin) => match builtin {
            Builtin::ViewIndex | Builtin::SubgroupSize => None,
            other => Some(PerFragment::Builtin(*other)),
        },
        Op::Load(mem) => load_source(module, mem),
        Op::Atomic { .. } => Some(PerFragment::SideEffect),
        Op::Subgroup(_) => Some(PerFragment::Subgroup),
        Op::Input(_) => (inputs == Inputs::PerFragment).then_some(PerFragment::Input),
        Op::IsHelperInvocation => Some(PerFragment::HelperInvocation),
        Op::Derivative { .. } => Some(PerFragment::Derivative),
    }
}

/// Why a load from `mem` may differ between fragments, if it may.
fn load_source(module: &Module, mem: &MemRef) -> Option<PerFragment> {
    match mem.space {
        Space::PushConstant | Space::Private => None,
        Space::Buffer(slot) => {
            let uniform = module
                .buffers
                .get(slot as usize)
                .is_some_and(|b| b.kind == BufferKind::Uniform);
            (!uniform).then_some(PerFragment::Load(mem.space))
        }
        // The element is picked by the index, uniform by induction like the offset.
        Space::BufferArray { first, index } => {
            let run = (first as usize)..(first as usize).saturating_add(index.len as usize);
            let uniform = module
                .buffers
                .get(run)
                .is_some_and(|r| r.iter().all(|b| b.kind == BufferKind::Uniform));
            (!uniform).then_some(PerFragment::Load(mem.space))
        }
        Space::Workgroup => Some(PerFragment::Load(mem.space)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{
        BinOp, BufferBinding, CmpOp, Const, FragmentModes, LabelId, OutputSlot, ScalarType,
        ValueId, VarId, IR_VERSION,
    };

    fn def(id: u32, op: Op) -> Stmt {
        Stmt::Def {
            id: ValueId(id),
            op,
        }
    }

    fn set(var: u32, value: u32) -> Stmt {
        Stmt::SetVar {
            var: VarId(var),
            value: ValueId(value),
        }
    }

    /// A fragment module with one F32 colour output in var 0 and `body`; buffer slot 0 a
    /// uniform buffer, slot 1 a read-only storage buffer.
    fn fragment(body: Vec<Stmt>) -> Module {
        let buffer = |kind| BufferBinding {
            set: 0,
            binding: 0,
            array_index: 0,
            kind,
            read_only: true,
        };
        Module {
            version: IR_VERSION,
            stage: Stage::Fragment,
            entry_point: "main".into(),
            workgroup_size: [1, 1, 1],
            inputs: vec![],
            outputs: vec![OutputSlot {
                target: OutputTarget::Location {
                    location: 0,
                    component: 0,
                },
                ty: ScalarType::F32,
                var: VarId(0),
            }],
            fragment: FragmentModes::default(),
            value_types: vec![ScalarType::F32; 16],
            var_types: vec![ScalarType::F32; 2],
            buffers: vec![buffer(BufferKind::Uniform), buffer(BufferKind::Storage)],
            images: vec![],
            samplers: vec![],
            push_constant_size: 16,
            workgroup_memory_size: 0,
            private_memory_size: 16,
            body,
        }
    }

    fn load(id: u32, space: Space) -> Stmt {
        def(
            id,
            Op::Load(MemRef {
                space,
                offset: ValueId(0),
            }),
        )
    }

    #[test]
    fn a_colour_from_constants_push_constants_and_uniform_buffers_is_draw_constant() {
        let m = fragment(vec![
            def(0, Op::Const(Const(0))),
            load(1, Space::PushConstant),
            load(2, Space::Buffer(0)),
            def(3, Op::Binary(BinOp::FMul, ValueId(1), ValueId(2))),
            def(4, Op::Builtin(Builtin::ViewIndex)),
            def(5, Op::Cmp(CmpOp::Eq, ValueId(4), ValueId(0))),
            Stmt::If {
                cond: ValueId(5),
                then_body: vec![set(0, 3)],
                else_body: vec![set(1, 3)],
            },
            Stmt::Loop {
                label: LabelId(0),
                body: vec![
                    Stmt::Store {
                        mem: MemRef {
                            space: Space::Private,
                            offset: ValueId(0),
                        },
                        value: ValueId(3),
                    },
                    load(6, Space::Private),
                    Stmt::Break(LabelId(0)),
                ],
                continuing: vec![],
            },
            Stmt::Return,
        ]);
        assert_eq!(per_fragment_source(&m), None);
        assert!(outputs_are_draw_constant(&m));
    }

    #[test]
    fn per_fragment_reads_are_found_inside_nested_constructs() {
        let nested = |stmt: Stmt| {
            fragment(vec![
                def(0, Op::Const(Const(1))),
                Stmt::Breakable {
                    label: LabelId(0),
                    body: vec![Stmt::Loop {
                        label: LabelId(1),
                        body: vec![Stmt::If {
                            cond: ValueId(0),
                            then_body: vec![],
                            else_body: vec![stmt],
                        }],
                        continuing: vec![],
                    }],
                },
            ])
        };
        let cases = [
            (def(1, Op::Input(0)), PerFragment::Input),
            (
                def(1, Op::Builtin(Builtin::FragCoord(0))),
                PerFragment::Builtin(Builtin::FragCoord(0)),
            ),
            (
                def(1, Op::Builtin(Builtin::FrontFacing)),
                PerFragment::Builtin(Builtin::FrontFacing),
            ),
            (
                def(1, Op::Builtin(Builtin::SubgroupLocalInvocationId)),
                PerFragment::Builtin(Builtin::SubgroupLocalInvocationId),
            ),
            (
                def(1, Op::IsHelperInvocation),
                PerFragment::HelperInvocation,
            ),
            (
                def(
                    1,
                    Op::Derivative {
                        axis: crate::ir::DerivAxis::X,
                        fine: false,
                        value: ValueId(0),
                    },
                ),
                PerFragment::Derivative,
            ),
            (
                def(
                    1,
                    Op::Subgroup(crate::ir::SubgroupOp::BroadcastFirst(ValueId(0))),
                ),
                PerFragment::Subgroup,
            ),
            (
                load(1, Space::Buffer(1)),
                PerFragment::Load(Space::Buffer(1)),
            ),
            (
                load(1, Space::Buffer(7)),
                PerFragment::Load(Space::Buffer(7)),
            ),
            (
                Stmt::Store {
                    mem: MemRef {
                        space: Space::Buffer(1),
                        offset: ValueId(0),
                    },
                    value: ValueId(0),
                },
                PerFragment::SideEffect,
            ),
            (Stmt::Kill, PerFragment::Discard),
            (Stmt::Demote, PerFragment::Discard),
        ];
        for (stmt, want) in cases {
            let m = nested(stmt.clone());
            assert_eq!(per_fragment_source(&m), Some(want), "{stmt:?}");
            assert!(!outputs_are_draw_constant(&m));
            // Only the inputs become uniform when the primitive's inputs are constant.
            let per_input = want == PerFragment::Input;
            assert_eq!(outputs_depend_only_on_inputs(&m), per_input, "{stmt:?}");
        }
    }

    #[test]
    fn discarding_depth_writing_and_non_fragment_modules_are_not_draw_constant() {
        let mut discards = fragment(vec![]);
        discards.fragment.discards = true;
        assert_eq!(per_fragment_source(&discards), Some(PerFragment::Discard));

        let mut depth = fragment(vec![]);
        depth.outputs.push(OutputSlot {
            target: OutputTarget::FragDepth,
            ty: ScalarType::F32,
            var: VarId(1),
        });
        assert_eq!(per_fragment_source(&depth), Some(PerFragment::FragDepth));

        let mut compute = fragment(vec![]);
        compute.stage = Stage::Compute;
        assert_eq!(
            per_fragment_source(&compute),
            Some(PerFragment::NotFragment)
        );

        assert_eq!(per_fragment_source(&fragment(vec![])), None);
    }

    /// [`fragment`] with two F32 inputs and a second output slot (var 1).
    fn copying(body: Vec<Stmt>) -> Module {
        let mut m = fragment(body);
        m.inputs = (0..2)
            .map(|component| crate::ir::InputSlot {
                location: 0,
                component,
                ty: ScalarType::F32,
                interp: crate::ir::Interpolation::Smooth,
            })
            .collect();
        m.outputs.push(OutputSlot {
            target: OutputTarget::Location {
                location: 0,
                component: 1,
            },
            ty: ScalarType::F32,
            var: VarId(1),
        });
        m
    }

    #[test]
    fn inputs_and_constants_stored_as_they_are_are_copied_words() {
        let m = copying(vec![
            def(0, Op::Input(1)),
            def(1, Op::Const(Const(0x3f80_0000))),
            set(0, 0),
            set(1, 1),
            def(2, Op::GetVar(VarId(0))),
            set(1, 2),
            Stmt::Return,
        ]);
        assert_eq!(
            copied_inputs(&m),
            Some(vec![CopiedWord::Input(1), CopiedWord::Input(1)])
        );
        // An output never set reads 0; a constant is its bits.
        let m = copying(vec![def(0, Op::Const(Const(0x4000_0000))), set(0, 0)]);
        assert_eq!(
            copied_inputs(&m),
            Some(vec![
                CopiedWord::Constant(0x4000_0000),
                CopiedWord::Constant(0)
            ])
        );
    }

    #[test]
    fn anything_computed_read_or_discarded_is_no_copy() {
        let refused = [
            vec![
                def(0, Op::Input(0)),
                def(1, Op::Binary(BinOp::FAdd, ValueId(0), ValueId(0))),
                set(0, 1),
            ],
            vec![def(0, Op::Builtin(Builtin::FragCoord(0))), set(0, 0)],
            vec![load(0, Space::PushConstant), set(0, 0)],
            vec![def(0, Op::Input(0)), set(0, 0), Stmt::Kill],
            vec![
                def(0, Op::Input(0)),
                Stmt::If {
                    cond: ValueId(0),
                    then_body: vec![set(0, 0)],
                    else_body: vec![],
                },
            ],
            vec![def(0, Op::Input(5)), set(0, 0)],
        ];
        for body in refused {
            assert_eq!(copied_inputs(&copying(body.clone())), None, "{body:?}");
        }
        let mut discards = copying(vec![]);
        discards.fragment.discards = true;
        assert_eq!(copied_inputs(&discards), None);
        let mut depth = copying(vec![]);
        depth.outputs[1].target = OutputTarget::FragDepth;
        assert_eq!(copied_inputs(&depth), None);
    }
}
