//! IR-to-IR clean-ups that the back end's analyses depend on.
//!
//! [`promote_single_store_vars`]: the front end routes every SPIR-V `Function` variable through
//! an IR var, so `uint i = gl_GlobalInvocationID.x; … x[i]` reads `i` back with `GetVar`. The
//! back end's affine-address tracking (stride-1 accesses become vector loads instead of
//! gathers, DESIGN §4) follows values, not vars. A var written exactly once, and read only
//! after that write in the same statement list (or inside later statements of it), always reads
//! the written value, so its reads can use that value directly.

use std::collections::HashMap;

use crate::ir::{Module, Op, Stmt, SubgroupOp, ValueId, VarId};

/// Where a statement sits: the chain of (statement index, sub-body) from the top-level body to
/// its list, and its index in that list.
#[derive(Clone, Debug)]
struct Position {
    list: Vec<(usize, u8)>,
    index: usize,
}

impl Position {
    /// True if a statement at `self` always runs after one at `earlier` and only when that
    /// one ran (structured control flow: later in the same list, or nested in a later statement).
    fn follows(&self, earlier: &Position) -> bool {
        if self.list.len() < earlier.list.len()
            || self.list[..earlier.list.len()] != earlier.list[..]
        {
            return false;
        }
        match self.list.get(earlier.list.len()) {
            None => self.index > earlier.index,
            Some((k, _)) => *k > earlier.index,
        }
    }
}

#[derive(Default)]
struct VarInfo {
    stores: Vec<(Position, ValueId)>,
    loads: Vec<(Position, ValueId)>,
}

fn scan(stmts: &[Stmt], list: &mut Vec<(usize, u8)>, vars: &mut HashMap<VarId, VarInfo>) {
    for (index, s) in stmts.iter().enumerate() {
        let here = || Position {
            list: list.clone(),
            index,
        };
        match s {
            Stmt::SetVar { var, value } => {
                vars.entry(*var).or_default().stores.push((here(), *value))
            }
            Stmt::Def {
                id,
                op: Op::GetVar(var),
            } => vars.entry(*var).or_default().loads.push((here(), *id)),
            Stmt::If {
                then_body,
                else_body,
                ..
            } => {
                for (sub, body) in [(0u8, then_body), (1, else_body)] {
                    list.push((index, sub));
                    scan(body, list, vars);
                    list.pop();
                }
            }
            Stmt::Loop {
                body, continuing, ..
            } => {
                for (sub, body) in [(0u8, body), (1, continuing)] {
                    list.push((index, sub));
                    scan(body, list, vars);
                    list.pop();
                }
            }
            Stmt::Breakable { body, .. } => {
                list.push((index, 0));
                scan(body, list, vars);
                list.pop();
            }
            _ => {}
        }
    }
}

/// Replaces reads of single-store vars with the stored value (see the module docs). The
/// `GetVar` definitions stay (now unused); the back end drops dead code.
pub fn promote_single_store_vars(m: &mut Module) {
    let mut vars = HashMap::new();
    scan(&m.body, &mut Vec::new(), &mut vars);
    let mut subst: HashMap<ValueId, ValueId> = HashMap::new();
    for info in vars.values() {
        let [(store_at, value)] = info.stores.as_slice() else {
            continue;
        };
        if info.loads.iter().all(|(at, _)| at.follows(store_at)) {
            for (_, id) in &info.loads {
                subst.insert(*id, *value);
            }
        }
    }
    if subst.is_empty() {
        return;
    }
    // Chains (a stored value that is itself a promoted read) resolve to their root; the chain
    // is acyclic because each value is stored after it is defined.
    let resolve = |mut v: ValueId| {
        for _ in 0..=subst.len() {
            match subst.get(&v) {
                Some(n) => v = *n,
                None => break,
            }
        }
        v
    };
    rewrite(&mut m.body, &|v| resolve(v));
}

fn rewrite(stmts: &mut [Stmt], f: &impl Fn(ValueId) -> ValueId) {
    for s in stmts {
        match s {
            Stmt::Def { op, .. } => rewrite_op(op, f),
            Stmt::Store { mem, value } | Stmt::AtomicStore { mem, value } => {
                mem.map_operands(f);
                *value = f(*value);
            }
            Stmt::SetVar { value, .. } => *value = f(*value),
            Stmt::If {
                cond,
                then_body,
                else_body,
            } => {
                *cond = f(*cond);
                rewrite(then_body, f);
                rewrite(else_body, f);
            }
            Stmt::Loop {
                body, continuing, ..
            } => {
                rewrite(body, f);
                rewrite(continuing, f);
            }
            Stmt::Breakable { body, .. } => rewrite(body, f),
            Stmt::Break(_)
            | Stmt::Continue(_)
            | Stmt::Return
            | Stmt::Barrier
            | Stmt::MemoryBarrier
            | Stmt::Kill
            | Stmt::Demote => {}
            Stmt::Image { op, .. } => op.map_operands(f),
        }
    }
}

fn rewrite_op(op: &mut Op, f: &impl Fn(ValueId) -> ValueId) {
    match op {
        Op::Const(_)
        | Op::Undef
        | Op::Builtin(_)
        | Op::GetVar(_)
        | Op::BufferLength(_)
        | Op::Input(_)
        | Op::IsHelperInvocation => {}
        Op::Unary(_, a) | Op::Convert(_, a) | Op::Derivative { value: a, .. } => *a = f(*a),
        Op::Binary(_, a, b) | Op::Cmp(_, a, b) => {
            *a = f(*a);
            *b = f(*b);
        }
        Op::Fma(a, b, c) | Op::Select(a, b, c) => {
            *a = f(*a);
            *b = f(*b);
            *c = f(*c);
        }
        Op::Load(m) => m.map_operands(f),
        Op::Atomic {
            mem,
            value,
            comparator,
            ..
        } => {
            mem.map_operands(f);
            *value = f(*value);
            if let Some(c) = comparator {
                *c = f(*c);
            }
        }
        Op::Subgroup(sg) => match sg {
            SubgroupOp::Elect => {}
            SubgroupOp::All(v)
            | SubgroupOp::Any(v)
            | SubgroupOp::AllEqual(v)
            | SubgroupOp::Ballot(v)
            | SubgroupOp::BroadcastFirst(v) => *v = f(*v),
            SubgroupOp::Shuffle { value, index } => {
                *value = f(*value);
                *index = f(*index);
            }
            SubgroupOp::Scan { value, .. } => *value = f(*value),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{BinOp, Builtin, Const};

    fn def(id: u32, op: Op) -> Stmt {
        Stmt::Def {
            id: ValueId(id),
            op,
        }
    }

    fn uses_of(stmts: &[Stmt]) -> Vec<ValueId> {
        let mut out = Vec::new();
        for s in stmts {
            match s {
                Stmt::Def {
                    op: Op::Binary(_, a, b),
                    ..
                } => out.extend([*a, *b]),
                Stmt::If {
                    then_body,
                    else_body,
                    ..
                } => {
                    out.extend(uses_of(then_body));
                    out.extend(uses_of(else_body));
                }
                Stmt::Loop {
                    body, continuing, ..
                } => {
                    out.extend(uses_of(body));
                    out.extend(uses_of(continuing));
                }
                _ => {}
            }
        }
        out
    }

    fn module(body: Vec<Stmt>) -> Module {
        Module {
            version: crate::ir::IR_VERSION,
            stage: crate::ir::Stage::Compute,
            entry_point: "main".into(),
            workgroup_size: [1, 1, 1],
            inputs: vec![],
            outputs: vec![],
            fragment: Default::default(),
            value_types: vec![crate::ir::ScalarType::I32; 16],
            var_types: vec![crate::ir::ScalarType::I32; 2],
            buffers: vec![],
            images: vec![],
            samplers: vec![],
            push_constant_size: 0,
            workgroup_memory_size: 0,
            private_memory_size: 0,
            body,
        }
    }

    #[test]
    fn read_after_the_only_store_uses_the_stored_value() {
        let mut m = module(vec![
            def(0, Op::Builtin(Builtin::GlobalInvocationId(0))),
            Stmt::SetVar {
                var: VarId(0),
                value: ValueId(0),
            },
            def(1, Op::GetVar(VarId(0))),
            Stmt::If {
                cond: ValueId(0),
                then_body: vec![
                    def(2, Op::GetVar(VarId(0))),
                    def(3, Op::Binary(BinOp::IAdd, ValueId(1), ValueId(2))),
                ],
                else_body: vec![],
            },
        ]);
        promote_single_store_vars(&mut m);
        assert_eq!(uses_of(&m.body), vec![ValueId(0), ValueId(0)]);
    }

    #[test]
    fn vars_stored_twice_or_read_before_or_outside_are_kept() {
        let loop_body = vec![
            def(1, Op::GetVar(VarId(0))),
            Stmt::SetVar {
                var: VarId(0),
                value: ValueId(0),
            },
        ];
        let mut m = module(vec![
            def(0, Op::Const(Const(1))),
            // Read before the store in a loop: the first iteration reads 0.
            Stmt::Loop {
                label: crate::ir::LabelId(0),
                body: loop_body,
                continuing: vec![],
            },
            def(2, Op::Binary(BinOp::IAdd, ValueId(1), ValueId(1))),
            // Stored inside an if, read after it: may read 0.
            Stmt::If {
                cond: ValueId(0),
                then_body: vec![Stmt::SetVar {
                    var: VarId(1),
                    value: ValueId(0),
                }],
                else_body: vec![],
            },
            def(3, Op::GetVar(VarId(1))),
            def(4, Op::Binary(BinOp::IAdd, ValueId(3), ValueId(3))),
        ]);
        let before = m.clone();
        promote_single_store_vars(&mut m);
        assert_eq!(m, before);
    }
}
