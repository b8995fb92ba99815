//! OpPhi: one var per phi (per scalar leaf). Every edge into a block writes the block's phi
//! vars right before its jump; the block reads them at its top.

use super::lower::{Lower, Value};
use super::module::{result_id, result_type};
use super::types::{Id, Type};
use super::{malformed, FrontError, Result};
use crate::ir::{Op as IrOp, Stmt, VarId};

impl Lower<'_> {
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
    pub fn phis_in(&mut self, block: Id) -> Result<()> {
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
    pub fn edge(&mut self, from: Id, to: Id) -> Result<()> {
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
