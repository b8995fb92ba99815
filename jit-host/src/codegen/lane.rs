//! Statements under an execution mask: structured control flow in SoA form.
//!
//! The current mask lives in `mask_slot` (an alloca that mem2reg turns into SSA). A branch on
//! a uniform condition stays a branch. A divergent `if` runs each arm under its share of the
//! mask, skipping an arm no lane takes. A loop whose exits are all uniform is an ordinary loop;
//! otherwise it runs while any lane is still in it, with `break` / `continue` moving lanes into
//! per-loop masks. `return` clears lanes from the subgroup's alive mask; a fragment `kill` does
//! the same and also takes them out of the survivors (see `stage`).

use inkwell::basic_block::BasicBlock;
use inkwell::values::{PointerValue, VectorValue};
use shader::ir::{LabelId, Stmt};

use super::emit::{Val, R};
use super::kernel::{Gen, PENDING_RETURN};
use super::CodegenError;

pub(super) enum LaneConstruct<'ctx> {
    Loop {
        label: LabelId,
        uniform: bool,
        exit: BasicBlock<'ctx>,
        cont: BasicBlock<'ctx>,
        break_mask: PointerValue<'ctx>,
        cont_mask: PointerValue<'ctx>,
    },
    Breakable {
        label: LabelId,
        uniform: bool,
        exit: BasicBlock<'ctx>,
        break_mask: PointerValue<'ctx>,
    },
}

impl<'ctx> Gen<'ctx, '_> {
    pub fn mask(&self) -> R<VectorValue<'ctx>> {
        Ok(self
            .b
            .build_load(self.cx.bool_type().vec_type(self.w), self.mask_slot, "mask")?
            .into_vector_value())
    }

    fn set_mask(&self, m: VectorValue<'ctx>) -> R<()> {
        self.b.build_store(self.mask_slot, m)?;
        Ok(())
    }

    fn mask_or_into(&self, slot: PointerValue<'ctx>, m: VectorValue<'ctx>) -> R<()> {
        let t = self.cx.bool_type().vec_type(self.w);
        let old = self.b.build_load(t, slot, "")?.into_vector_value();
        let n = self.b.build_or(old, m, "")?;
        self.b.build_store(slot, n)?;
        Ok(())
    }

    pub fn lower_stmts(&mut self, stmts: &[Stmt], uni: bool) -> R<()> {
        for s in stmts {
            if self.terminated() {
                // Code after an unconditional exit: unreachable, but keep emitting validly.
                let dead = self.new_block("dead");
                self.b.position_at_end(dead);
            }
            self.lower_stmt(s, uni)?;
        }
        Ok(())
    }

    fn lower_stmt(&mut self, s: &Stmt, uni: bool) -> R<()> {
        match s {
            Stmt::Def { id, op } => {
                let t = self.vtype(*id)?;
                let v = self.lower_op(op, t)?;
                self.define(*id, t, v)
            }
            Stmt::Image { results, op } => self.lower_image(results, op),
            Stmt::Store { mem, value } => self.lower_store(mem, *value),
            Stmt::AtomicStore { mem, value } => self.lower_atomic_store(mem, *value),
            Stmt::SetVar { var, value } => {
                let i = var.0 as usize;
                let slot = *self
                    .var_slots
                    .get(i)
                    .ok_or_else(|| CodegenError::Missing(format!("{var:?}")))?;
                let v = self.val(*value)?;
                if self.an.var_uniform.get(i).copied().unwrap_or(false) {
                    self.b.build_store(slot, v.v)?;
                } else {
                    let t = self.vty(self.ir.var_types[i]);
                    let old = self.b.build_load(t, slot, "")?;
                    let new = self.wide(&v)?;
                    let m = self.mask()?;
                    let sel = self.b.build_select(m, new, old, "")?;
                    self.b.build_store(slot, sel)?;
                }
                Ok(())
            }
            Stmt::If {
                cond,
                then_body,
                else_body,
            } => self.lower_if(*cond, then_body, else_body, uni),
            Stmt::Loop {
                label,
                body,
                continuing,
            } => self.lower_loop(*label, body, continuing, uni),
            Stmt::Breakable { label, body } => self.lower_breakable(*label, body, uni),
            Stmt::Break(l) => self.lower_exit(*l, false, uni),
            Stmt::Continue(l) => self.lower_exit(*l, true, uni),
            Stmt::Demote => self.drop_from_survivors("Demote"),
            Stmt::Kill | Stmt::Return => {
                if matches!(s, Stmt::Kill) {
                    self.drop_from_survivors("Kill")?;
                }
                let m = self.mask()?;
                let t = self.cx.bool_type().vec_type(self.w);
                let alive = self
                    .b
                    .build_load(t, self.alive_slot, "")?
                    .into_vector_value();
                let nm = self.b.build_not(m, "")?;
                let alive = self.b.build_and(alive, nm, "")?;
                self.b.build_store(self.alive_slot, alive)?;
                self.set_mask(self.all_false())?;
                if self.has_barrier {
                    self.b
                        .build_store(self.pending_slot, self.i32c(PENDING_RETURN))?;
                }
                if uni {
                    let end = self
                        .group_end
                        .ok_or_else(|| CodegenError::Missing("region end".into()))?;
                    self.b.build_unconditional_branch(end)?;
                }
                Ok(())
            }
            Stmt::Barrier => Err(CodegenError::Unsupported(
                "workgroup barrier in non-uniform control flow".into(),
            )),
            Stmt::MemoryBarrier => {
                self.b
                    .build_fence(inkwell::AtomicOrdering::SequentiallyConsistent, false, "")?;
                Ok(())
            }
        }
    }

    /// Records the lowered value of `id` (and spills it if a later region reads it).
    pub fn define(
        &mut self,
        id: shader::ir::ValueId,
        t: shader::ir::ScalarType,
        v: Val<'ctx>,
    ) -> R<()> {
        if let Some(&off) = self.spill_off.get(&id) {
            self.spill_store(off, t, &v)?;
        }
        let slot = self
            .values
            .get_mut(id.0 as usize)
            .ok_or_else(|| CodegenError::Missing(format!("{id:?}")))?;
        *slot = Some(v);
        Ok(())
    }

    pub fn val(&self, v: shader::ir::ValueId) -> R<Val<'ctx>> {
        self.values
            .get(v.0 as usize)
            .copied()
            .flatten()
            .ok_or_else(|| CodegenError::Missing(format!("value {v:?} used before its definition")))
    }

    fn lower_if(
        &mut self,
        cond: shader::ir::ValueId,
        then_body: &[Stmt],
        else_body: &[Stmt],
        uni: bool,
    ) -> R<()> {
        let c = self.val(cond)?;
        let (tb, eb, mb) = (
            self.new_block("if.then"),
            self.new_block("if.else"),
            self.new_block("if.end"),
        );
        if c.uniform {
            self.b
                .build_conditional_branch(c.v.into_int_value(), tb, eb)?;
            for (bb, body) in [(tb, then_body), (eb, else_body)] {
                self.b.position_at_end(bb);
                self.lower_stmts(body, uni)?;
                if !self.terminated() {
                    self.b.build_unconditional_branch(mb)?;
                }
            }
            self.b.position_at_end(mb);
            return Ok(());
        }
        let mt = self.cx.bool_type().vec_type(self.w);
        let m = self.mask()?;
        let cv = c.v.into_vector_value();
        let tm = self.b.build_and(m, cv, "")?;
        let ncv = self.b.build_not(cv, "")?;
        let em = self.b.build_and(m, ncv, "")?;
        let then_end = self.alloca(mt.into())?;
        self.b.build_store(then_end, self.all_false())?;
        let else_end = self.alloca(mt.into())?;
        self.b.build_store(else_end, self.all_false())?;
        let after_then = self.new_block("if.else.check");
        let any_t = self.any(tm)?;
        self.b.build_conditional_branch(any_t, tb, after_then)?;
        self.b.position_at_end(tb);
        self.set_mask(tm)?;
        self.lower_stmts(then_body, false)?;
        let m_end = self.mask()?;
        self.b.build_store(then_end, m_end)?;
        self.b.build_unconditional_branch(after_then)?;
        self.b.position_at_end(after_then);
        let any_e = self.any(em)?;
        self.b.build_conditional_branch(any_e, eb, mb)?;
        self.b.position_at_end(eb);
        self.set_mask(em)?;
        self.lower_stmts(else_body, false)?;
        let m_end = self.mask()?;
        self.b.build_store(else_end, m_end)?;
        self.b.build_unconditional_branch(mb)?;
        self.b.position_at_end(mb);
        let a = self.b.build_load(mt, then_end, "")?.into_vector_value();
        let bm = self.b.build_load(mt, else_end, "")?.into_vector_value();
        let merged = self.b.build_or(a, bm, "")?;
        self.set_mask(merged)
    }

    fn lower_loop(
        &mut self,
        label: LabelId,
        body: &[Stmt],
        continuing: &[Stmt],
        uni: bool,
    ) -> R<()> {
        let uniform = uni && self.an.label_is_uniform(label);
        let mt = self.cx.bool_type().vec_type(self.w);
        let (hb, cb, xb) = (
            self.new_block("loop"),
            self.new_block("loop.cont"),
            self.new_block("loop.exit"),
        );
        let break_mask = self.alloca(mt.into())?;
        let cont_mask = self.alloca(mt.into())?;
        if uniform {
            self.lane_stack.push(LaneConstruct::Loop {
                label,
                uniform,
                exit: xb,
                cont: cb,
                break_mask,
                cont_mask,
            });
            self.b.build_unconditional_branch(hb)?;
            self.b.position_at_end(hb);
            self.lower_stmts(body, true)?;
            if !self.terminated() {
                self.b.build_unconditional_branch(cb)?;
            }
            self.b.position_at_end(cb);
            self.lower_stmts(continuing, true)?;
            if !self.terminated() {
                self.b.build_unconditional_branch(hb)?;
            }
            self.lane_stack.pop();
            self.b.position_at_end(xb);
            return Ok(());
        }
        let header_mask = self.alloca(mt.into())?;
        let m0 = self.mask()?;
        self.b.build_store(header_mask, m0)?;
        self.b.build_store(break_mask, self.all_false())?;
        self.b.build_unconditional_branch(hb)?;
        self.b.position_at_end(hb);
        let m = self.b.build_load(mt, header_mask, "")?.into_vector_value();
        self.set_mask(m)?;
        self.b.build_store(cont_mask, self.all_false())?;
        self.lane_stack.push(LaneConstruct::Loop {
            label,
            uniform,
            exit: xb,
            cont: cb,
            break_mask,
            cont_mask,
        });
        self.lower_stmts(body, false)?;
        if !self.terminated() {
            self.b.build_unconditional_branch(cb)?;
        }
        self.b.position_at_end(cb);
        let cur = self.mask()?;
        let cm = self.b.build_load(mt, cont_mask, "")?.into_vector_value();
        let m = self.b.build_or(cur, cm, "")?;
        self.set_mask(m)?;
        self.lower_stmts(continuing, false)?;
        self.lane_stack.pop();
        let end = self.mask()?;
        self.b.build_store(header_mask, end)?;
        let again = self.any(end)?;
        self.b.build_conditional_branch(again, hb, xb)?;
        self.b.position_at_end(xb);
        let bm = self.b.build_load(mt, break_mask, "")?.into_vector_value();
        self.set_mask(bm)
    }

    fn lower_breakable(&mut self, label: LabelId, body: &[Stmt], uni: bool) -> R<()> {
        let uniform = uni && self.an.label_is_uniform(label);
        let mt = self.cx.bool_type().vec_type(self.w);
        let xb = self.new_block("block.exit");
        let break_mask = self.alloca(mt.into())?;
        self.b.build_store(break_mask, self.all_false())?;
        self.lane_stack.push(LaneConstruct::Breakable {
            label,
            uniform,
            exit: xb,
            break_mask,
        });
        self.lower_stmts(body, uniform)?;
        self.lane_stack.pop();
        if !self.terminated() {
            self.b.build_unconditional_branch(xb)?;
        }
        self.b.position_at_end(xb);
        if !uniform {
            let cur = self.mask()?;
            let bm = self.b.build_load(mt, break_mask, "")?.into_vector_value();
            let m = self.b.build_or(cur, bm, "")?;
            self.set_mask(m)?;
        }
        Ok(())
    }

    fn lower_exit(&mut self, label: LabelId, is_continue: bool, uni: bool) -> R<()> {
        let found = self.lane_stack.iter().rev().find_map(|c| match c {
            LaneConstruct::Loop {
                label: l,
                uniform,
                exit,
                cont,
                break_mask,
                cont_mask,
            } if *l == label => Some((
                *uniform,
                if is_continue { *cont } else { *exit },
                if is_continue { *cont_mask } else { *break_mask },
            )),
            LaneConstruct::Breakable {
                label: l,
                uniform,
                exit,
                break_mask,
            } if *l == label && !is_continue => Some((*uniform, *exit, *break_mask)),
            _ => None,
        });
        match found {
            Some((true, bb, _)) => {
                self.b.build_unconditional_branch(bb)?;
                Ok(())
            }
            Some((false, _, slot)) => {
                let m = self.mask()?;
                self.mask_or_into(slot, m)?;
                self.set_mask(self.all_false())
            }
            None => {
                // A workgroup-level construct around this region.
                let code = *self.wg_labels.get(&label).ok_or_else(|| {
                    CodegenError::Missing(format!("target of break/continue {label:?}"))
                })?;
                let code = if is_continue { code + 1 } else { code };
                self.b.build_store(self.pending_slot, self.i32c(code))?;
                self.set_mask(self.all_false())?;
                if uni {
                    let end = self
                        .group_end
                        .ok_or_else(|| CodegenError::Missing("region end".into()))?;
                    self.b.build_unconditional_branch(end)?;
                }
                Ok(())
            }
        }
    }
}
