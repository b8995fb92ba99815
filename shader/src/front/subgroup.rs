//! Subgroup operations (OpGroupNonUniform*), Subgroup scope only. Ballot queries are
//! computed from word 0 of the ballot (the subgroup is at most 32 lanes wide); shuffles with
//! a relative index become `SubgroupOp::Shuffle` with a computed lane.

use rspirv::dr::{Instruction, Operand};
use spirv::{GroupOperation, Op};

use super::instr::scope_id_at;
use super::lower::Lower;
use super::module::id_at;
use super::{malformed, FrontError, Result};
use crate::ir::{
    BinOp, Builtin, CmpOp, GroupOp, Op as IrOp, ScalarType, ScanKind, SubgroupOp, UnOp, ValueId,
};

const SCOPE_SUBGROUP: u64 = 3;

impl Lower<'_> {
    fn sg(&mut self, ty: ScalarType, op: SubgroupOp) -> ValueId {
        self.b.def(ty, IrOp::Subgroup(op))
    }

    /// Word 0 of a ballot operand (the other words are 0 for subgroups of ≤ 32 lanes).
    fn ballot_word(&mut self, id: u32) -> Result<ValueId> {
        match self.data(id)?.1.first() {
            Some(w) if self.b.ty(*w) == ScalarType::I32 => Ok(*w),
            _ => malformed("ballot operand is not a uvec4"),
        }
    }

    fn lane_index(&mut self, id: u32) -> Result<ValueId> {
        let v = self.scalar(id)?;
        if !self.b.ty(v).is_int() {
            return malformed("subgroup lane index is not an integer");
        }
        Ok(self.int_to(v, ScalarType::I32, false))
    }

    pub fn subgroup_inst(&mut self, inst: &Instruction) -> Result<()> {
        let op = inst.class.opcode;
        if self.const_u64(scope_id_at(inst, 0)?) != Some(SCOPE_SUBGROUP) {
            return Err(FrontError::Unsupported(format!(
                "Op{op:?} with a scope other than Subgroup"
            )));
        }
        let i32t = ScalarType::I32;
        let out: Vec<ValueId> = match op {
            Op::GroupNonUniformElect => vec![self.sg(ScalarType::Bool, SubgroupOp::Elect)],
            Op::GroupNonUniformAll | Op::GroupNonUniformAny => {
                let p = self.scalar(id_at(inst, 1)?)?;
                let s = if op == Op::GroupNonUniformAll {
                    SubgroupOp::All(p)
                } else {
                    SubgroupOp::Any(p)
                };
                vec![self.sg(ScalarType::Bool, s)]
            }
            Op::GroupNonUniformAllEqual => {
                let (_, v) = self.data(id_at(inst, 1)?)?;
                let mut acc: Option<ValueId> = None;
                for x in v {
                    let e = self.sg(ScalarType::Bool, SubgroupOp::AllEqual(x));
                    acc = Some(match acc {
                        None => e,
                        Some(a) => self.bin(BinOp::And, a, e),
                    });
                }
                vec![acc.ok_or_else(|| FrontError::Malformed("AllEqual of nothing".into()))?]
            }
            Op::GroupNonUniformBallot => {
                let p = self.scalar(id_at(inst, 1)?)?;
                let w = self.sg(i32t, SubgroupOp::Ballot(p));
                let zero = self.ki(i32t, 0);
                vec![w, zero, zero, zero]
            }
            Op::GroupNonUniformInverseBallot => {
                let w = self.ballot_word(id_at(inst, 1)?)?;
                let lane = self.b.builtin(Builtin::SubgroupLocalInvocationId);
                vec![self.bit_of(w, lane)]
            }
            Op::GroupNonUniformBallotBitExtract => {
                let (_, words) = self.data(id_at(inst, 1)?)?;
                let idx = self.lane_index(id_at(inst, 2)?)?;
                let k5 = self.ki(i32t, 5);
                let which = self.bin(BinOp::LShr, idx, k5);
                let Some((first, rest)) = words.split_first() else {
                    return malformed("empty ballot");
                };
                let mut w = *first;
                for (i, x) in rest.iter().enumerate() {
                    let k = self.ki(i32t, i as u64 + 1);
                    let hit = self.cmp(CmpOp::Eq, which, k);
                    w = self.select(hit, *x, w);
                }
                vec![self.bit_of(w, idx)]
            }
            Op::GroupNonUniformBallotBitCount => {
                let Some(Operand::GroupOperation(g)) = inst.operands.get(1) else {
                    return malformed("BallotBitCount without a group operation");
                };
                let w = self.ballot_word(id_at(inst, 2)?)?;
                let size_mask = self.subgroup_size_mask();
                let lane = self.b.builtin(Builtin::SubgroupLocalInvocationId);
                let one = self.ki(i32t, 1);
                let eq = self.bin(BinOp::Shl, one, lane);
                let lt = self.bin(BinOp::ISub, eq, one);
                let mask = match g {
                    GroupOperation::Reduce => size_mask,
                    GroupOperation::InclusiveScan => self.bin(BinOp::Or, lt, eq),
                    GroupOperation::ExclusiveScan => lt,
                    other => {
                        return Err(FrontError::Unsupported(format!(
                            "BallotBitCount with {other:?}"
                        )))
                    }
                };
                let m = self.bin(BinOp::And, w, mask);
                vec![self.un(UnOp::BitCount, m)]
            }
            Op::GroupNonUniformBallotFindLSB | Op::GroupNonUniformBallotFindMSB => {
                let w = self.ballot_word(id_at(inst, 1)?)?;
                let size_mask = self.subgroup_size_mask();
                let m = self.bin(BinOp::And, w, size_mask);
                let u = if op == Op::GroupNonUniformBallotFindLSB {
                    UnOp::FindLsb
                } else {
                    UnOp::FindUMsb
                };
                vec![self.un(u, m)]
            }
            Op::GroupNonUniformBroadcastFirst => {
                let (_, v) = self.data(id_at(inst, 1)?)?;
                v.iter()
                    .map(|x| self.sg(self.b.ty(*x), SubgroupOp::BroadcastFirst(*x)))
                    .collect()
            }
            Op::GroupNonUniformBroadcast
            | Op::GroupNonUniformShuffle
            | Op::GroupNonUniformShuffleXor
            | Op::GroupNonUniformShuffleUp
            | Op::GroupNonUniformShuffleDown => {
                let (_, v) = self.data(id_at(inst, 1)?)?;
                let arg = self.lane_index(id_at(inst, 2)?)?;
                let index = match op {
                    Op::GroupNonUniformBroadcast | Op::GroupNonUniformShuffle => arg,
                    _ => {
                        let lane = self.b.builtin(Builtin::SubgroupLocalInvocationId);
                        let b = match op {
                            Op::GroupNonUniformShuffleXor => BinOp::Xor,
                            Op::GroupNonUniformShuffleUp => BinOp::ISub,
                            _ => BinOp::IAdd,
                        };
                        self.bin(b, lane, arg)
                    }
                };
                v.iter()
                    .map(|x| self.sg(self.b.ty(*x), SubgroupOp::Shuffle { value: *x, index }))
                    .collect()
            }
            _ => {
                let gop = match op {
                    Op::GroupNonUniformIAdd => GroupOp::IAdd,
                    Op::GroupNonUniformFAdd => GroupOp::FAdd,
                    Op::GroupNonUniformIMul => GroupOp::IMul,
                    Op::GroupNonUniformFMul => GroupOp::FMul,
                    Op::GroupNonUniformSMin => GroupOp::SMin,
                    Op::GroupNonUniformUMin => GroupOp::UMin,
                    Op::GroupNonUniformFMin => GroupOp::FMin,
                    Op::GroupNonUniformSMax => GroupOp::SMax,
                    Op::GroupNonUniformUMax => GroupOp::UMax,
                    Op::GroupNonUniformFMax => GroupOp::FMax,
                    Op::GroupNonUniformBitwiseAnd | Op::GroupNonUniformLogicalAnd => GroupOp::And,
                    Op::GroupNonUniformBitwiseOr | Op::GroupNonUniformLogicalOr => GroupOp::Or,
                    Op::GroupNonUniformBitwiseXor | Op::GroupNonUniformLogicalXor => GroupOp::Xor,
                    other => return Err(FrontError::UnsupportedOpcode(format!("{other:?}"))),
                };
                let kind = match inst.operands.get(1) {
                    Some(Operand::GroupOperation(GroupOperation::Reduce)) => ScanKind::Reduce,
                    Some(Operand::GroupOperation(GroupOperation::InclusiveScan)) => {
                        ScanKind::InclusiveScan
                    }
                    Some(Operand::GroupOperation(GroupOperation::ExclusiveScan)) => {
                        ScanKind::ExclusiveScan
                    }
                    Some(Operand::GroupOperation(other)) => {
                        return Err(FrontError::Unsupported(format!(
                            "subgroup operation {other:?}"
                        )))
                    }
                    _ => return malformed("subgroup arithmetic without a group operation"),
                };
                if inst.operands.len() > 3 {
                    return Err(FrontError::Unsupported(
                        "clustered subgroup operations".into(),
                    ));
                }
                let (_, v) = self.data(id_at(inst, 2)?)?;
                v.iter()
                    .map(|x| {
                        self.sg(
                            self.b.ty(*x),
                            SubgroupOp::Scan {
                                op: gop,
                                kind,
                                value: *x,
                            },
                        )
                    })
                    .collect()
            }
        };
        self.bind_data(inst, out)
    }

    /// Bool: bit `index & 31` of `word`.
    fn bit_of(&mut self, word: ValueId, index: ValueId) -> ValueId {
        let i32t = ScalarType::I32;
        let (k31, one, zero) = (self.ki(i32t, 31), self.ki(i32t, 1), self.ki(i32t, 0));
        let sh = self.bin(BinOp::And, index, k31);
        let t = self.bin(BinOp::LShr, word, sh);
        let b = self.bin(BinOp::And, t, one);
        self.cmp(CmpOp::Ne, b, zero)
    }
}
