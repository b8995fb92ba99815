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

use super::lower::Lower;
use super::module::{id_at, Merge};
use super::types::Id;
use super::{malformed, FrontError, Result};
use crate::ir::{LabelId, ScalarType, Stmt, ValueId};

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

pub(crate) fn unstructured<T>(what: impl Into<String>) -> Result<T> {
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
                        Op::Kill | Op::TerminateInvocation => return self.kill(term.class.opcode),
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
}
