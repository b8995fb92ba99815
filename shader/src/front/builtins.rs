//! Builtin inputs: read once in the prologue (so they are visible everywhere), the
//! subgroup masks computed from the lane id; and the fragment controls (kill, demote,
//! helper queries).

use spirv::BuiltIn;

use super::lower::Lower;
use super::{malformed, FrontError, Result};
use crate::ir::{self, BinOp, Builtin, CmpOp, ScalarType, Stage, Stmt, ValueId};

/// A per-component builtin constructor (`Builtin::GlobalInvocationId` and the like).
type ComponentBuiltin = fn(u8) -> Builtin;

impl Lower<'_> {
    /// Leaves `first .. first + n` of a builtin input, read once each in the prologue.
    pub fn builtin_leaves(&mut self, b: BuiltIn, first: usize, n: usize) -> Result<Vec<ValueId>> {
        let (count, xyz): (usize, Option<ComponentBuiltin>) = match b {
            BuiltIn::GlobalInvocationId => (3, Some(Builtin::GlobalInvocationId)),
            BuiltIn::LocalInvocationId => (3, Some(Builtin::LocalInvocationId)),
            BuiltIn::WorkgroupId => (3, Some(Builtin::WorkgroupId)),
            BuiltIn::NumWorkgroups => (3, Some(Builtin::NumWorkgroups)),
            BuiltIn::WorkgroupSize => (3, None),
            BuiltIn::FragCoord => (4, Some(Builtin::FragCoord)),
            BuiltIn::PointCoord => (2, Some(Builtin::PointCoord)),
            BuiltIn::SubgroupEqMask
            | BuiltIn::SubgroupGeMask
            | BuiltIn::SubgroupGtMask
            | BuiltIn::SubgroupLeMask
            | BuiltIn::SubgroupLtMask => (4, None),
            _ => (1, None),
        };
        if first.checked_add(n).is_none_or(|end| end > count) {
            return malformed(format!("access to builtin {b:?} out of range"));
        }
        if !self.builtin_allowed(b) {
            return Err(self.builtin_refused(b));
        }
        let mut out = Vec::with_capacity(n);
        for i in first..first + n {
            let v = match (b, xyz) {
                (_, Some(f)) => self.b.builtin(f(i as u8)),
                (BuiltIn::WorkgroupSize, _) => {
                    self.ki(ScalarType::I32, u64::from(self.m.workgroup_size[i]))
                }
                (_, _) if count == 4 && i > 0 => self.ki(ScalarType::I32, 0),
                (_, _) if count == 4 => self.subgroup_mask(b),
                (BuiltIn::LocalInvocationIndex, _) => self.b.builtin(Builtin::LocalInvocationIndex),
                (BuiltIn::SubgroupSize, _) => self.b.builtin(Builtin::SubgroupSize),
                (BuiltIn::SubgroupLocalInvocationId, _) => {
                    self.b.builtin(Builtin::SubgroupLocalInvocationId)
                }
                (BuiltIn::SubgroupId, _) => self.b.builtin(Builtin::SubgroupId),
                (BuiltIn::NumSubgroups, _) => self.b.builtin(Builtin::NumSubgroups),
                (BuiltIn::VertexIndex, _) => self.b.builtin(Builtin::VertexIndex),
                (BuiltIn::InstanceIndex, _) => self.b.builtin(Builtin::InstanceIndex),
                (BuiltIn::BaseVertex, _) => self.b.builtin(Builtin::BaseVertex),
                (BuiltIn::BaseInstance, _) => self.b.builtin(Builtin::BaseInstance),
                (BuiltIn::FrontFacing, _) => self.b.builtin(Builtin::FrontFacing),
                (BuiltIn::HelperInvocation, _) => self.b.builtin(Builtin::HelperInvocation),
                (BuiltIn::ViewIndex, _) => self.b.builtin(Builtin::ViewIndex),
                (other, _) => return Err(self.builtin_refused(other)),
            };
            out.push(v);
        }
        Ok(out)
    }

    fn builtin_refused(&self, b: BuiltIn) -> FrontError {
        FrontError::Unsupported(format!("builtin {b:?} in a {:?} shader", self.m.stage))
    }

    /// Whether the current stage may read builtin input `b` (checked before any component).
    fn builtin_allowed(&self, b: BuiltIn) -> bool {
        let stage = self.m.stage;
        let ir_builtin = match b {
            BuiltIn::GlobalInvocationId => Builtin::GlobalInvocationId(0),
            BuiltIn::LocalInvocationId => Builtin::LocalInvocationId(0),
            BuiltIn::WorkgroupId => Builtin::WorkgroupId(0),
            BuiltIn::NumWorkgroups => Builtin::NumWorkgroups(0),
            BuiltIn::LocalInvocationIndex => Builtin::LocalInvocationIndex,
            BuiltIn::SubgroupId => Builtin::SubgroupId,
            BuiltIn::NumSubgroups => Builtin::NumSubgroups,
            BuiltIn::WorkgroupSize => return stage == Stage::Compute,
            BuiltIn::VertexIndex => Builtin::VertexIndex,
            BuiltIn::InstanceIndex => Builtin::InstanceIndex,
            BuiltIn::BaseVertex => Builtin::BaseVertex,
            BuiltIn::BaseInstance => Builtin::BaseInstance,
            BuiltIn::FragCoord => Builtin::FragCoord(0),
            BuiltIn::PointCoord => Builtin::PointCoord(0),
            BuiltIn::FrontFacing => Builtin::FrontFacing,
            BuiltIn::HelperInvocation => Builtin::HelperInvocation,
            BuiltIn::ViewIndex => Builtin::ViewIndex,
            // Subgroup size, lane id and masks: every stage.
            _ => return true,
        };
        ir_builtin.allowed_in(stage)
    }

    /// OpKill / OpTerminateInvocation (a block terminator): ends the fragment invocation.
    pub fn kill(&mut self, op: spirv::Op) -> Result<()> {
        if self.m.stage != Stage::Fragment {
            return Err(FrontError::UnsupportedOpcode(format!("{op:?}")));
        }
        self.discards = true;
        self.b.push(Stmt::Kill);
        Ok(())
    }

    /// OpDemoteToHelperInvocation.
    pub fn demote(&mut self) -> Result<()> {
        if self.m.stage != Stage::Fragment {
            return Err(FrontError::UnsupportedOpcode(format!(
                "DemoteToHelperInvocation in a {:?} shader",
                self.m.stage
            )));
        }
        self.discards = true;
        self.b.push(Stmt::Demote);
        Ok(())
    }

    /// OpIsHelperInvocationEXT: the current helper state (after any demote).
    pub fn is_helper_invocation(&mut self, inst: &rspirv::dr::Instruction) -> Result<()> {
        if self.m.stage != Stage::Fragment {
            return Err(FrontError::UnsupportedOpcode(format!(
                "IsHelperInvocationEXT in a {:?} shader",
                self.m.stage
            )));
        }
        let ty = super::module::result_type(inst)?;
        if !matches!(self.m.types.get(ty)?, super::types::Type::Bool) {
            return malformed("OpIsHelperInvocationEXT result is not a Bool");
        }
        let v = self.b.def(ScalarType::Bool, ir::Op::IsHelperInvocation);
        self.bind(
            super::module::result_id(inst)?,
            super::lower::Value::Data {
                ty,
                leaves: vec![v],
            },
        )
    }

    /// Word 0 of a subgroup mask builtin, defined in the prologue (so visible everywhere).
    pub fn subgroup_mask(&mut self, b: BuiltIn) -> ValueId {
        if let Some(v) = self.mem.masks.get(&b) {
            return *v;
        }
        let saved = std::mem::take(&mut self.b.cur);
        let lane = self.b.builtin(Builtin::SubgroupLocalInvocationId);
        let one = self.ki(ScalarType::I32, 1);
        let eq = self.bin(BinOp::Shl, one, lane);
        let lt = self.bin(BinOp::ISub, eq, one);
        let le = self.bin(BinOp::Or, lt, eq);
        let word = match b {
            BuiltIn::SubgroupEqMask => eq,
            BuiltIn::SubgroupLtMask => lt,
            BuiltIn::SubgroupLeMask => le,
            _ => {
                let above = if b == BuiltIn::SubgroupGeMask { lt } else { le };
                let inv = self.un(ir::UnOp::Not, above);
                let size_mask = self.subgroup_size_mask();
                self.bin(BinOp::And, inv, size_mask)
            }
        };
        let defs = std::mem::replace(&mut self.b.cur, saved);
        self.b.prologue.extend(defs);
        self.mem.masks.insert(b, word);
        word
    }

    /// Bits 0..SubgroupSize set (SubgroupSize ≤ 32). Emitted where the caller is emitting.
    pub fn subgroup_size_mask(&mut self) -> ValueId {
        let size = self.b.builtin(Builtin::SubgroupSize);
        let one = self.ki(ScalarType::I32, 1);
        let all = self.ki(ScalarType::I32, 0xffff_ffff);
        let thirty_two = self.ki(ScalarType::I32, 32);
        let shifted = self.bin(BinOp::Shl, one, size);
        let partial = self.bin(BinOp::ISub, shifted, one);
        let full = self.cmp(CmpOp::UGe, size, thirty_two);
        self.select(full, all, partial)
    }
}
