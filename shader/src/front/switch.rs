//! OpSwitch → a `Breakable` holding a fallthrough-safe chain of `If`s: an `active` flag is
//! set when a case's literal matches (or, for the default, when none does) and stays set, so
//! a case that falls through runs the next case's body too.

use std::collections::{HashMap, HashSet};

use spirv::Op;

use super::cfg::{unstructured, Construct};
use super::lower::Lower;
use super::module::{id_at, Merge};
use super::types::Id;
use super::{malformed, Result};
use crate::ir::{BinOp, CmpOp, Op as IrOp, ScalarType, Stmt, UnOp, ValueId, VarId};

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

impl Lower<'_> {
    pub fn emit_switch(
        &mut self,
        from: Id,
        term: &rspirv::dr::Instruction,
        merge: Id,
    ) -> Result<()> {
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
        let mut stops: HashSet<Id> = targets.iter().copied().collect();
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
        let mut next: HashMap<Id, Id> = HashMap::new();
        for t in &targets {
            let mut seen = HashSet::from([*t]);
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
        let has_pred: HashSet<Id> = next.values().copied().collect();
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
}
