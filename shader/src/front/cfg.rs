//! Structurizer: SPIR-V's structured control flow (OpSelectionMerge / OpLoopMerge) → the IR's
//! statement tree.
//!
//! A region is emitted from a start block until a branch reaches the region's stop block (the
//! merge of the construct being emitted, a loop's continue target, or the loop header for a
//! continuing region). Branches elsewhere are resolved against the stack of enclosing
//! constructs: a loop's merge is a `Break`, its continue target a `Continue`, a switch's or
//! selection's merge a `Break` out of a `Breakable`. OpPhi becomes one var per phi, set on
//! every incoming edge right before the jump and read at the top of its block.

use spirv::Op;

use super::lower::{Lower, Value};
use super::module::{id_at, result_id, result_type, Merge};
use super::types::{Id, Type};
use super::{malformed, FrontError, Result};
use crate::ir::{BinOp, CmpOp, LabelId, Op as IrOp, ScalarType, Stmt, UnOp, ValueId, VarId};

/// Most blocks emitted for one module (inlining makes this larger than the block count).
const MAX_BLOCKS_EMITTED: usize = 1 << 18;

pub(crate) enum Construct {
    Loop {
        header: Id,
        merge: Id,
        cont: Id,
        label: LabelId,
        /// Definition counter at the first `Continue` to this loop.
        cutoff: Option<u64>,
        in_continuing: bool,
    },
    Select {
        merge: Id,
        label: LabelId,
        used: bool,
    },
    Switch {
        merge: Id,
        label: LabelId,
        targets: Vec<Id>,
    },
}

enum Jump {
    End,
    Break(LabelId),
    Continue(LabelId),
    Goto(Id),
}

/// Branch targets of a block's terminator (and of its merge instruction, whose targets are
/// also where its construct leads).
fn successors(block: &super::module::Block<'_>) -> Vec<Id> {
    let skip = match block.term.class.opcode {
        Op::Branch => 0,
        Op::BranchConditional | Op::Switch => 1,
        _ => return Vec::new(),
    };
    let mut out: Vec<Id> = block
        .term
        .operands
        .iter()
        .skip(skip)
        .filter_map(|o| match o {
            rspirv::dr::Operand::IdRef(id) => Some(*id),
            _ => None,
        })
        .collect();
    match block.merge {
        Merge::Selection(m) => out.push(m),
        Merge::Loop { merge, cont } => out.extend([merge, cont]),
        Merge::None => {}
    }
    out
}

fn unstructured<T>(what: impl Into<String>) -> Result<T> {
    Err(FrontError::Unstructured(what.into()))
}

impl Lower<'_> {
    /// Emits blocks from `start` until control reaches `stop`. `header_started`: `start` is a
    /// loop header whose `Loop` statement is already open.
    pub fn region(&mut self, start: Id, stop: Option<Id>, header_started: bool) -> Result<()> {
        let mut cur = start;
        let mut in_header = header_started;
        loop {
            self.blocks_emitted += 1;
            if self.blocks_emitted > MAX_BLOCKS_EMITTED {
                return Err(FrontError::Limit("too many blocks after inlining".into()));
            }
            let func = self.frame()?.func;
            let Some(block) = func.blocks.get(&cur) else {
                return malformed(format!(
                    "branch to %{cur}, which is not a block of this function"
                ));
            };
            let after = match block.merge {
                Merge::Loop { merge, cont } if !in_header => {
                    self.emit_loop(cur, merge, cont)?;
                    merge
                }
                merge => {
                    in_header = false;
                    self.phis_in(cur)?;
                    for inst in &block.body {
                        self.instruction(inst)?;
                        self.b.check_limits()?;
                    }
                    let term = block.term;
                    match term.class.opcode {
                        Op::Return => return self.emit_return(None),
                        Op::ReturnValue => return self.emit_return(Some(id_at(term, 0)?)),
                        Op::Unreachable => return Ok(()),
                        Op::Branch => {
                            let t = id_at(term, 0)?;
                            self.edge(cur, t)?;
                            match self.resolve(t, stop)? {
                                Jump::Goto(n) => {
                                    cur = n;
                                    continue;
                                }
                                j => return self.jump(j),
                            }
                        }
                        Op::BranchConditional => {
                            let (c, t, f) = (id_at(term, 0)?, id_at(term, 1)?, id_at(term, 2)?);
                            match merge {
                                Merge::Selection(m) => {
                                    self.emit_if(cur, c, t, f, m)?;
                                    m
                                }
                                _ => match self.branch_conditional(cur, c, t, f, stop)? {
                                    Some(n) => {
                                        cur = n;
                                        continue;
                                    }
                                    None => return Ok(()),
                                },
                            }
                        }
                        Op::Switch => {
                            let Merge::Selection(m) = merge else {
                                return unstructured("OpSwitch without OpSelectionMerge");
                            };
                            self.emit_switch(cur, term, m)?;
                            m
                        }
                        Op::Kill | Op::TerminateInvocation => {
                            return Err(FrontError::UnsupportedOpcode(format!(
                                "{:?} (in compute)",
                                term.class.opcode
                            )))
                        }
                        other => return Err(FrontError::UnsupportedOpcode(format!("{other:?}"))),
                    }
                }
            };
            match self.resolve(after, stop)? {
                Jump::Goto(n) => cur = n,
                j => return self.jump(j),
            }
        }
    }

    fn jump(&mut self, j: Jump) -> Result<()> {
        match j {
            Jump::End => {}
            Jump::Break(l) => self.b.push(Stmt::Break(l)),
            Jump::Continue(l) => self.b.push(Stmt::Continue(l)),
            Jump::Goto(t) => return malformed(format!("unexpected branch to %{t}")),
        }
        Ok(())
    }

    fn resolve(&mut self, target: Id, stop: Option<Id>) -> Result<Jump> {
        if stop == Some(target) {
            return Ok(Jump::End);
        }
        let seq = self.b.seq();
        for c in self.frame()?.constructs.iter_mut().rev() {
            match c {
                Construct::Loop {
                    merge,
                    cont,
                    header,
                    label,
                    cutoff,
                    in_continuing,
                } => {
                    if target == *merge {
                        return Ok(Jump::Break(*label));
                    }
                    if target == *cont || target == *header {
                        if *in_continuing {
                            return unstructured(
                                "branch to a loop's continue target from its continue construct",
                            );
                        }
                        cutoff.get_or_insert(seq);
                        return Ok(Jump::Continue(*label));
                    }
                }
                Construct::Select { merge, label, used } if target == *merge => {
                    *used = true;
                    return Ok(Jump::Break(*label));
                }
                Construct::Switch { merge, label, .. } if target == *merge => {
                    return Ok(Jump::Break(*label))
                }
                Construct::Switch { targets, .. } if targets.contains(&target) => {
                    return unstructured(format!(
                        "branch into switch case %{target} from other than the case before it"
                    ));
                }
                _ => {}
            }
        }
        Ok(Jump::Goto(target))
    }

    fn emit_loop(&mut self, header: Id, merge: Id, cont: Id) -> Result<()> {
        let label = self.b.label();
        let saved = self.b.enter()?;
        let body_scope = self.b.current_scope();
        self.frame()?.constructs.push(Construct::Loop {
            header,
            merge,
            cont,
            label,
            cutoff: None,
            in_continuing: false,
        });
        let r = self.region(header, Some(cont), true);
        let body = self.b.leave(saved, false);
        r?;
        let mut continuing = Vec::new();
        if cont != header {
            let cut = match self.frame()?.constructs.last_mut() {
                Some(Construct::Loop {
                    cutoff,
                    in_continuing,
                    ..
                }) => {
                    *in_continuing = true;
                    cutoff.unwrap_or(u64::MAX)
                }
                _ => return malformed("construct stack out of order"),
            };
            self.b.set_partial(body_scope, Some(cut));
            let saved = self.b.enter()?;
            let r = self.region(cont, Some(header), false);
            continuing = self.b.leave(saved, false);
            self.b.set_partial(body_scope, None);
            r?;
        }
        self.frame()?.constructs.pop();
        self.b.push(Stmt::Loop {
            label,
            body,
            continuing,
        });
        Ok(())
    }

    /// One arm of an `If`: the edge's phi writes, then (`whole`) the arm's blocks up to
    /// `stop`. Without `whole` (an unstructured conditional branch) a target that continues
    /// in this region is returned instead, to be emitted after the `If`.
    fn arm(
        &mut self,
        from: Id,
        target: Id,
        stop: Option<Id>,
        whole: bool,
    ) -> Result<(Vec<Stmt>, Option<Id>)> {
        let saved = self.b.enter()?;
        let r = (|| {
            self.edge(from, target)?;
            match self.resolve(target, stop)? {
                Jump::Goto(n) if whole => self.region(n, stop, false).map(|()| None),
                Jump::Goto(n) => Ok(Some(n)),
                j => self.jump(j).map(|()| None),
            }
        })();
        let body = self.b.leave(saved, false);
        Ok((body, r?))
    }

    fn condition(&mut self, c: Id) -> Result<ValueId> {
        let cond = self.scalar(c)?;
        if self.b.ty(cond) != ScalarType::Bool {
            return malformed("branch condition is not a bool");
        }
        Ok(cond)
    }

    fn emit_if(&mut self, from: Id, c: Id, t: Id, f: Id, merge: Id) -> Result<()> {
        let cond = self.condition(c)?;
        let label = self.b.label();
        self.frame()?.constructs.push(Construct::Select {
            merge,
            label,
            used: false,
        });
        let (then_body, _) = self.arm(from, t, Some(merge), true)?;
        let (else_body, _) = self.arm(from, f, Some(merge), true)?;
        let used = match self.frame()?.constructs.pop() {
            Some(Construct::Select { used, .. }) => used,
            _ => return malformed("construct stack out of order"),
        };
        let stmt = Stmt::If {
            cond,
            then_body,
            else_body,
        };
        if used {
            self.b.push(Stmt::Breakable {
                label,
                body: vec![stmt],
            });
        } else {
            self.b.push(stmt);
        }
        Ok(())
    }

    /// A conditional branch without a selection merge: at most one side may continue in this
    /// region, the other must leave it (break, continue, or reach the region's end).
    fn branch_conditional(
        &mut self,
        from: Id,
        c: Id,
        t: Id,
        f: Id,
        stop: Option<Id>,
    ) -> Result<Option<Id>> {
        if t == f {
            self.edge(from, t)?;
            return match self.resolve(t, stop)? {
                Jump::Goto(n) => Ok(Some(n)),
                j => self.jump(j).map(|()| None),
            };
        }
        let cond = self.condition(c)?;
        let (t_goto, f_goto) = (self.continues_here(t, stop)?, self.continues_here(f, stop)?);
        if t_goto && f_goto {
            return unstructured(format!(
                "conditional branch in %{from} without OpSelectionMerge"
            ));
        }
        // When one side continues in this region, the other must jump out explicitly even
        // if it goes to the region's own end.
        let stop_for = |goto: bool| {
            if (t_goto || f_goto) && !goto {
                None
            } else {
                stop
            }
        };
        let (then_body, tn) = self.arm(from, t, stop_for(t_goto), false)?;
        let (else_body, fn_) = self.arm(from, f, stop_for(f_goto), false)?;
        self.b.push(Stmt::If {
            cond,
            then_body,
            else_body,
        });
        Ok(tn.or(fn_))
    }

    /// Whether a branch to `target` stays in the current region (resolves to no jump).
    fn continues_here(&self, target: Id, stop: Option<Id>) -> Result<bool> {
        if stop == Some(target) {
            return Ok(false);
        }
        let Some(frame) = self.frames.last() else {
            return malformed("branch outside a function");
        };
        Ok(!frame.constructs.iter().any(|c| match c {
            Construct::Loop {
                merge,
                cont,
                header,
                ..
            } => [*merge, *cont, *header].contains(&target),
            Construct::Select { merge, .. } => *merge == target,
            Construct::Switch { merge, targets, .. } => {
                *merge == target || targets.contains(&target)
            }
        }))
    }

    fn emit_switch(&mut self, from: Id, term: &rspirv::dr::Instruction, merge: Id) -> Result<()> {
        let sel = self.scalar(id_at(term, 0)?)?;
        let st = self.b.ty(sel);
        if !st.is_int() {
            return malformed("OpSwitch selector is not an integer");
        }
        let default = id_at(term, 1)?;
        let mut cases = Vec::new();
        for pair in term.operands[2..].chunks(2) {
            let lit = match pair.first() {
                Some(rspirv::dr::Operand::LiteralBit32(v)) => u64::from(*v),
                Some(rspirv::dr::Operand::LiteralBit64(v)) => *v,
                _ => return malformed("OpSwitch case without a literal"),
            };
            let Some(rspirv::dr::Operand::IdRef(target)) = pair.get(1) else {
                return malformed("OpSwitch case without a target");
            };
            cases.push((super::consts::mask(st, lit), *target));
        }
        let func = self.frame()?.func;
        let order = |id: &Id| func.blocks.get(id).map(|b| b.order);
        let mut edges: Vec<Id> = std::iter::once(default)
            .chain(cases.iter().map(|c| c.1))
            .collect();
        edges.sort_by_key(order);
        edges.dedup();
        for t in &edges {
            if order(t).is_none() {
                return malformed(format!("OpSwitch target %{t} is not a block"));
            }
        }
        let mut targets = edges.clone();
        targets.retain(|t| *t != merge);
        let targets = self.fallthrough_order(targets, merge)?;

        let label = self.b.label();
        self.frame()?.constructs.push(Construct::Switch {
            merge,
            label,
            targets: targets.clone(),
        });
        let saved = self.b.enter()?;
        let r = self.switch_cases(from, sel, default, &cases, &targets, &edges, merge);
        let body = self.b.leave(saved, false);
        self.frame()?.constructs.pop();
        r?;
        self.b.push(Stmt::Breakable { label, body });
        Ok(())
    }

    /// Orders case targets so that every case that falls through to another comes right
    /// before it (SPIR-V §2.11: a case construct may branch only to the next case's target).
    /// Chains are kept in block order otherwise.
    fn fallthrough_order(&self, targets: Vec<Id>, merge: Id) -> Result<Vec<Id>> {
        let Some(frame) = self.frames.last() else {
            return malformed("switch outside a function");
        };
        let mut stops: std::collections::HashSet<Id> = targets.iter().copied().collect();
        stops.insert(merge);
        for c in &frame.constructs {
            match c {
                Construct::Loop {
                    header,
                    merge,
                    cont,
                    ..
                } => stops.extend([*header, *merge, *cont]),
                Construct::Select { merge, .. } => {
                    stops.insert(*merge);
                }
                Construct::Switch { merge, targets, .. } => {
                    stops.insert(*merge);
                    stops.extend(targets.iter().copied());
                }
            }
        }
        let mut next: std::collections::HashMap<Id, Id> = std::collections::HashMap::new();
        for t in &targets {
            let mut seen = std::collections::HashSet::from([*t]);
            let mut work = vec![*t];
            while let Some(b) = work.pop() {
                let Some(block) = frame.func.blocks.get(&b) else {
                    continue;
                };
                for succ in successors(block) {
                    if succ != *t && targets.contains(&succ) {
                        if next.insert(*t, succ).is_some_and(|prev| prev != succ) {
                            return unstructured(format!(
                                "switch case %{t} falls through to two cases"
                            ));
                        }
                    } else if !stops.contains(&succ) && seen.insert(succ) {
                        work.push(succ);
                    }
                }
            }
        }
        let has_pred: std::collections::HashSet<Id> = next.values().copied().collect();
        let mut out = Vec::with_capacity(targets.len());
        for t in targets.iter().filter(|t| !has_pred.contains(t)) {
            let mut cur = Some(*t);
            while let Some(c) = cur {
                if out.contains(&c) {
                    return unstructured("switch cases fall through in a cycle");
                }
                out.push(c);
                cur = next.get(&c).copied();
            }
        }
        if out.len() != targets.len() {
            return unstructured("switch cases fall through in a cycle");
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn switch_cases(
        &mut self,
        from: Id,
        sel: ValueId,
        default: Id,
        cases: &[(u64, Id)],
        targets: &[Id],
        edges: &[Id],
        merge: Id,
    ) -> Result<()> {
        // Every edge out of the switch block writes its phis up front: a case reached by
        // falling through overwrites them on its own edge.
        for t in edges {
            self.edge(from, *t)?;
        }
        let st = self.b.ty(sel);
        let active: VarId = self.b.var(ScalarType::Bool);
        let no = self.ki(ScalarType::Bool, 0);
        self.b.push(Stmt::SetVar {
            var: active,
            value: no,
        });
        let mut matches = Vec::with_capacity(cases.len());
        for (lit, t) in cases {
            let k = self.ki(st, *lit);
            matches.push((self.cmp(CmpOp::Eq, sel, k), *t));
        }
        for (i, t) in targets.iter().enumerate() {
            let mut matched = no;
            for (m, target) in &matches {
                if target == t {
                    matched = self.bin(BinOp::Or, matched, *m);
                }
            }
            if *t == default {
                let mut any = no;
                for (m, _) in &matches {
                    any = self.bin(BinOp::Or, any, *m);
                }
                let none = self.un(UnOp::Not, any);
                matched = self.bin(BinOp::Or, matched, none);
            }
            let prev = self.b.def(ScalarType::Bool, IrOp::GetVar(active));
            let now = self.bin(BinOp::Or, prev, matched);
            self.b.push(Stmt::SetVar {
                var: active,
                value: now,
            });
            let stop = targets.get(i + 1).copied().unwrap_or(merge);
            let saved = self.b.enter()?;
            let r = self.region(*t, Some(stop), false);
            let body = self.b.leave(saved, false);
            r?;
            self.b.push(Stmt::If {
                cond: now,
                then_body: body,
                else_body: Vec::new(),
            });
        }
        Ok(())
    }

    fn phi_vars_of(&mut self, phi: Id, ty: Id) -> Result<Vec<VarId>> {
        if let Some(v) = self.phi_vars.get(&phi) {
            return Ok(v.clone());
        }
        if let Type::Pointer { .. } = self.m.types.get(ty)? {
            return Err(FrontError::Unsupported(
                "OpPhi of pointers (variable pointers)".into(),
            ));
        }
        let vars: Vec<VarId> = self
            .m
            .types
            .leaves(ty)?
            .into_iter()
            .map(|t| self.b.var(t))
            .collect();
        self.phi_vars.insert(phi, vars.clone());
        Ok(vars)
    }

    /// Reads the phis of `block` at its top.
    fn phis_in(&mut self, block: Id) -> Result<()> {
        let func = self.frame()?.func;
        let Some(b) = func.blocks.get(&block) else {
            return Ok(());
        };
        for phi in &b.phis {
            let (id, ty) = (result_id(phi)?, result_type(phi)?);
            let vars = self.phi_vars_of(id, ty)?;
            let leaves = vars
                .iter()
                .map(|v| self.b.def(self.b.var_types[v.0 as usize], IrOp::GetVar(*v)))
                .collect();
            self.bind(id, Value::Data { ty, leaves })?;
        }
        Ok(())
    }

    /// Writes the phis of `to` for the edge from `from` (all incoming values are read first,
    /// so phis that read each other see the old values).
    fn edge(&mut self, from: Id, to: Id) -> Result<()> {
        let func = self.frame()?.func;
        let Some(b) = func.blocks.get(&to) else {
            return malformed(format!(
                "branch to %{to}, which is not a block of this function"
            ));
        };
        let mut writes = Vec::new();
        for phi in &b.phis {
            let (id, ty) = (result_id(phi)?, result_type(phi)?);
            let vars = self.phi_vars_of(id, ty)?;
            let mut incoming = None;
            for pair in phi.operands.chunks(2) {
                if let [rspirv::dr::Operand::IdRef(v), rspirv::dr::Operand::IdRef(p)] = pair {
                    if *p == from {
                        incoming = Some(*v);
                    }
                }
            }
            let Some(v) = incoming else {
                return malformed(format!("OpPhi %{id} has no value for predecessor %{from}"));
            };
            let leaves = if self.is_known(v) {
                self.data(v)?.1
            } else {
                // Only an unreachable predecessor can name a value we never emitted; any
                // value will do on an edge that is never taken.
                vars.iter()
                    .map(|var| self.b.def(self.b.var_types[var.0 as usize], IrOp::Undef))
                    .collect()
            };
            if leaves.len() != vars.len() {
                return malformed(format!("OpPhi %{id} incoming value of the wrong type"));
            }
            writes.extend(vars.into_iter().zip(leaves));
        }
        for (var, value) in writes {
            if self.b.var_types[var.0 as usize] != self.b.ty(value) {
                return malformed("OpPhi incoming value of the wrong type");
            }
            self.b.push(Stmt::SetVar { var, value });
        }
        Ok(())
    }

    fn is_known(&self, id: Id) -> bool {
        self.frames
            .last()
            .is_some_and(|f| f.values.contains_key(&id))
            || self.m.consts.contains_key(&id)
            || self.m.globals.contains_key(&id)
    }
}
