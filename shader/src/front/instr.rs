//! Lowering of the instructions inside blocks: dispatch, arithmetic, comparisons,
//! conversions and composites. Everything is per scalar leaf.

use rspirv::dr::{Instruction, Operand};
use spirv::Op;

use super::lower::{Bound, Lower, Value};
use super::module::{id_at, lit_at, result_id, result_type, ExtSet};
use super::types::{Id, Type};
use super::{malformed, FrontError, Result};
use crate::ir::{AtomicOp, BinOp, CmpOp, ConvOp, Op as IrOp, ScalarType, Stmt, UnOp, ValueId};

const SCOPE_WORKGROUP: u64 = 2;
const SCOPE_SUBGROUP: u64 = 3;

fn binop(op: Op) -> Option<BinOp> {
    Some(match op {
        Op::IAdd => BinOp::IAdd,
        Op::ISub => BinOp::ISub,
        Op::IMul => BinOp::IMul,
        Op::UDiv => BinOp::UDiv,
        Op::SDiv => BinOp::SDiv,
        Op::UMod => BinOp::UMod,
        Op::SRem => BinOp::SRem,
        Op::SMod => BinOp::SMod,
        Op::FAdd => BinOp::FAdd,
        Op::FSub => BinOp::FSub,
        Op::FMul => BinOp::FMul,
        Op::FDiv => BinOp::FDiv,
        Op::FRem => BinOp::FRem,
        Op::FMod => BinOp::FMod,
        Op::BitwiseAnd | Op::LogicalAnd => BinOp::And,
        Op::BitwiseOr | Op::LogicalOr => BinOp::Or,
        Op::BitwiseXor | Op::LogicalNotEqual => BinOp::Xor,
        Op::ShiftLeftLogical => BinOp::Shl,
        Op::ShiftRightLogical => BinOp::LShr,
        Op::ShiftRightArithmetic => BinOp::AShr,
        _ => return None,
    })
}

fn cmpop(op: Op) -> Option<CmpOp> {
    Some(match op {
        Op::IEqual => CmpOp::Eq,
        Op::INotEqual => CmpOp::Ne,
        Op::ULessThan => CmpOp::ULt,
        Op::ULessThanEqual => CmpOp::ULe,
        Op::UGreaterThan => CmpOp::UGt,
        Op::UGreaterThanEqual => CmpOp::UGe,
        Op::SLessThan => CmpOp::SLt,
        Op::SLessThanEqual => CmpOp::SLe,
        Op::SGreaterThan => CmpOp::SGt,
        Op::SGreaterThanEqual => CmpOp::SGe,
        Op::FOrdEqual => CmpOp::FOEq,
        Op::FOrdNotEqual => CmpOp::FONe,
        Op::FOrdLessThan => CmpOp::FOLt,
        Op::FOrdLessThanEqual => CmpOp::FOLe,
        Op::FOrdGreaterThan => CmpOp::FOGt,
        Op::FOrdGreaterThanEqual => CmpOp::FOGe,
        Op::FUnordEqual => CmpOp::FUEq,
        Op::FUnordNotEqual => CmpOp::FUNe,
        Op::FUnordLessThan => CmpOp::FULt,
        Op::FUnordLessThanEqual => CmpOp::FULe,
        Op::FUnordGreaterThan => CmpOp::FUGt,
        Op::FUnordGreaterThanEqual => CmpOp::FUGe,
        _ => return None,
    })
}

/// Whether `instruction` (or the structurizer, for terminators and merges) lowers `op`.
pub(crate) fn supported(op: Op) -> bool {
    binop(op).is_some()
        || cmpop(op).is_some()
        || matches!(
            op,
            Op::Nop
                | Op::Line
                | Op::NoLine
                | Op::LifetimeStart
                | Op::LifetimeStop
                | Op::Undef
                | Op::Load
                | Op::Store
                | Op::CopyMemory
                | Op::AccessChain
                | Op::InBoundsAccessChain
                | Op::PtrAccessChain
                | Op::InBoundsPtrAccessChain
                | Op::ArrayLength
                | Op::CopyObject
                | Op::CopyLogical
                | Op::FunctionCall
                | Op::ExtInst
                | Op::ControlBarrier
                | Op::MemoryBarrier
                | Op::SNegate
                | Op::FNegate
                | Op::Not
                | Op::LogicalNot
                | Op::BitReverse
                | Op::BitCount
                | Op::IsNan
                | Op::IsInf
                | Op::LogicalEqual
                | Op::UConvert
                | Op::SConvert
                | Op::ConvertFToS
                | Op::ConvertFToU
                | Op::ConvertSToF
                | Op::ConvertUToF
                | Op::FConvert
                | Op::Bitcast
                | Op::QuantizeToF16
                | Op::Select
                | Op::Any
                | Op::All
                | Op::Dot
                | Op::VectorTimesScalar
                | Op::MatrixTimesScalar
                | Op::MatrixTimesVector
                | Op::VectorTimesMatrix
                | Op::MatrixTimesMatrix
                | Op::OuterProduct
                | Op::Transpose
                | Op::CompositeConstruct
                | Op::CompositeExtract
                | Op::CompositeInsert
                | Op::VectorShuffle
                | Op::VectorExtractDynamic
                | Op::VectorInsertDynamic
                | Op::IAddCarry
                | Op::ISubBorrow
                | Op::UMulExtended
                | Op::SMulExtended
                | Op::BitFieldInsert
                | Op::BitFieldSExtract
                | Op::BitFieldUExtract
                | Op::AtomicLoad
                | Op::AtomicStore
                | Op::AtomicExchange
                | Op::AtomicCompareExchange
                | Op::AtomicCompareExchangeWeak
                | Op::AtomicIIncrement
                | Op::AtomicIDecrement
                | Op::AtomicIAdd
                | Op::AtomicISub
                | Op::AtomicSMin
                | Op::AtomicUMin
                | Op::AtomicSMax
                | Op::AtomicUMax
                | Op::AtomicAnd
                | Op::AtomicOr
                | Op::AtomicXor
                | Op::GroupNonUniformElect
                | Op::GroupNonUniformAll
                | Op::GroupNonUniformAny
                | Op::GroupNonUniformAllEqual
                | Op::GroupNonUniformBallot
                | Op::GroupNonUniformInverseBallot
                | Op::GroupNonUniformBallotBitExtract
                | Op::GroupNonUniformBallotBitCount
                | Op::GroupNonUniformBallotFindLSB
                | Op::GroupNonUniformBallotFindMSB
                | Op::GroupNonUniformBroadcast
                | Op::GroupNonUniformBroadcastFirst
                | Op::GroupNonUniformShuffle
                | Op::GroupNonUniformShuffleXor
                | Op::GroupNonUniformShuffleUp
                | Op::GroupNonUniformShuffleDown
                | Op::GroupNonUniformIAdd
                | Op::GroupNonUniformFAdd
                | Op::GroupNonUniformIMul
                | Op::GroupNonUniformFMul
                | Op::GroupNonUniformSMin
                | Op::GroupNonUniformUMin
                | Op::GroupNonUniformFMin
                | Op::GroupNonUniformSMax
                | Op::GroupNonUniformUMax
                | Op::GroupNonUniformFMax
                | Op::GroupNonUniformBitwiseAnd
                | Op::GroupNonUniformBitwiseOr
                | Op::GroupNonUniformBitwiseXor
                | Op::GroupNonUniformLogicalAnd
                | Op::GroupNonUniformLogicalOr
                | Op::GroupNonUniformLogicalXor
                | Op::Phi
                | Op::Variable
                | Op::SelectionMerge
                | Op::LoopMerge
                | Op::Branch
                | Op::BranchConditional
                | Op::Switch
                | Op::Return
                | Op::ReturnValue
                | Op::Unreachable
        )
}

/// An id operand that may be encoded as a scope or memory-semantics id.
pub(crate) fn scope_id_at(inst: &Instruction, i: usize) -> Result<Id> {
    match inst.operands.get(i) {
        Some(Operand::IdRef(id) | Operand::IdScope(id) | Operand::IdMemorySemantics(id)) => Ok(*id),
        _ => malformed(format!(
            "Op{:?}: operand {i} is not an id",
            inst.class.opcode
        )),
    }
}

pub(crate) fn int_type(bits: u32) -> ScalarType {
    match bits {
        8 => ScalarType::I8,
        16 => ScalarType::I16,
        64 => ScalarType::I64,
        _ => ScalarType::I32,
    }
}

impl Lower<'_> {
    pub fn instruction(&mut self, inst: &Instruction) -> Result<()> {
        let op = inst.class.opcode;
        if let Some(b) = binop(op) {
            return self.binary(inst, b);
        }
        if let Some(c) = cmpop(op) {
            return self.compare(inst, c);
        }
        match op {
            Op::Nop | Op::Line | Op::NoLine | Op::LifetimeStart | Op::LifetimeStop => Ok(()),
            Op::Undef => {
                let ty = result_type(inst)?;
                let leaves = self
                    .m
                    .types
                    .leaves(ty)?
                    .into_iter()
                    .map(|t| self.b.def(t, IrOp::Undef))
                    .collect();
                self.bind(result_id(inst)?, Value::Data { ty, leaves })
            }
            Op::Load => {
                let p = self.ptr(id_at(inst, 0)?)?;
                let leaves = self.load(&p)?;
                self.bind_data(inst, leaves)
            }
            Op::Store => {
                let p = self.ptr(id_at(inst, 0)?)?;
                let (_, v) = self.data(id_at(inst, 1)?)?;
                self.store(&p, &v)
            }
            Op::CopyMemory => {
                let dst = self.ptr(id_at(inst, 0)?)?;
                let src = self.ptr(id_at(inst, 1)?)?;
                if self.m.types.leaves(dst.ty)? != self.m.types.leaves(src.ty)? {
                    return malformed("OpCopyMemory between different types");
                }
                let v = self.load(&src)?;
                self.store(&dst, &v)
            }
            Op::AccessChain | Op::InBoundsAccessChain => {
                let base = self.ptr(id_at(inst, 0)?)?;
                let indices = (1..inst.operands.len())
                    .map(|i| id_at(inst, i))
                    .collect::<Result<Vec<_>>>()?;
                let p = self.access_chain(base, &indices, result_type(inst)?)?;
                self.bind(result_id(inst)?, Value::Ptr(p))
            }
            Op::PtrAccessChain | Op::InBoundsPtrAccessChain => {
                let base = self.ptr(id_at(inst, 0)?)?;
                let element = id_at(inst, 1)?;
                let indices = (2..inst.operands.len())
                    .map(|i| id_at(inst, i))
                    .collect::<Result<Vec<_>>>()?;
                let p = self.ptr_access_chain(base, element, &indices, result_type(inst)?)?;
                self.bind(result_id(inst)?, Value::Ptr(p))
            }
            Op::ArrayLength => {
                let p = self.ptr(id_at(inst, 0)?)?;
                let n = self.array_length(&p, lit_at(inst, 1)?)?;
                self.bind_data(inst, vec![n])
            }
            Op::CopyObject => {
                let v = self.value(id_at(inst, 0)?)?;
                self.bind(result_id(inst)?, v)
            }
            Op::CopyLogical => {
                let (_, v) = self.data(id_at(inst, 0)?)?;
                self.bind_data(inst, v)
            }
            Op::FunctionCall => {
                let callee = id_at(inst, 0)?;
                let mut args = Vec::with_capacity(inst.operands.len().saturating_sub(1));
                for i in 1..inst.operands.len() {
                    let value = self.value(id_at(inst, i)?)?;
                    args.push(Bound {
                        value,
                        rec: self.b.rec(),
                    });
                }
                let result = self.call(callee, args, false)?;
                match (result, inst.result_id) {
                    (Some(v), Some(id)) => self.bind(id, v),
                    _ => Ok(()),
                }
            }
            Op::ExtInst => match self.m.ext_sets.get(&id_at(inst, 0)?) {
                Some(ExtSet::NonSemantic) => Ok(()),
                Some(ExtSet::Glsl) => self.glsl_std(inst),
                None => malformed("OpExtInst of an unknown instruction set"),
            },
            Op::ControlBarrier => {
                match self.const_u64(scope_id_at(inst, 0)?) {
                    Some(SCOPE_WORKGROUP) => self.b.push(Stmt::Barrier),
                    Some(SCOPE_SUBGROUP) => self.b.push(Stmt::MemoryBarrier),
                    _ => return Err(FrontError::Unsupported(
                        "OpControlBarrier with an execution scope other than Workgroup or Subgroup"
                            .into(),
                    )),
                }
                Ok(())
            }
            Op::MemoryBarrier => {
                self.b.push(Stmt::MemoryBarrier);
                Ok(())
            }
            Op::SNegate => self.unary(inst, UnOp::INeg),
            Op::FNegate => self.unary(inst, UnOp::FNeg),
            Op::Not | Op::LogicalNot => self.unary(inst, UnOp::Not),
            Op::BitReverse => self.unary(inst, UnOp::BitReverse),
            Op::BitCount => {
                let (_, a) = self.data(id_at(inst, 0)?)?;
                let rt = self.m.types.component(result_type(inst)?)?;
                let out = a
                    .iter()
                    .map(|x| {
                        let c = self.un(UnOp::BitCount, *x);
                        self.int_to(c, rt, false)
                    })
                    .collect();
                self.bind_data(inst, out)
            }
            Op::IsNan | Op::IsInf => {
                let u = if op == Op::IsNan {
                    UnOp::IsNan
                } else {
                    UnOp::IsInf
                };
                let (_, a) = self.data(id_at(inst, 0)?)?;
                let out = a
                    .iter()
                    .map(|x| self.b.def(ScalarType::Bool, IrOp::Unary(u, *x)))
                    .collect();
                self.bind_data(inst, out)
            }
            Op::LogicalEqual => {
                let (a, b) = self.two(inst)?;
                let out = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| {
                        let d = self.bin(BinOp::Xor, *x, *y);
                        self.un(UnOp::Not, d)
                    })
                    .collect();
                self.bind_data(inst, out)
            }
            Op::UConvert
            | Op::SConvert
            | Op::ConvertFToS
            | Op::ConvertFToU
            | Op::ConvertSToF
            | Op::ConvertUToF
            | Op::FConvert => {
                let c = match op {
                    Op::UConvert => ConvOp::ZextOrTrunc,
                    Op::SConvert => ConvOp::SextOrTrunc,
                    Op::ConvertFToS => ConvOp::FToS,
                    Op::ConvertFToU => ConvOp::FToU,
                    Op::ConvertSToF => ConvOp::SToF,
                    Op::ConvertUToF => ConvOp::UToF,
                    _ => ConvOp::Bitcast,
                };
                let (_, a) = self.data(id_at(inst, 0)?)?;
                let rt = self.m.types.leaves(result_type(inst)?)?;
                if rt.len() != a.len() {
                    return malformed("conversion changes the component count");
                }
                let mut out = Vec::with_capacity(a.len());
                for (x, t) in a.iter().zip(rt) {
                    let from = self.b.ty(*x);
                    out.push(match c {
                        // f32 → f32 is the only FConvert we have.
                        ConvOp::Bitcast if from == t => *x,
                        ConvOp::Bitcast => {
                            return Err(FrontError::Unsupported(
                                "OpFConvert other than f32 to f32".into(),
                            ))
                        }
                        ConvOp::ZextOrTrunc | ConvOp::SextOrTrunc if from == t => *x,
                        _ => self.conv(c, t, *x),
                    });
                }
                self.bind_data(inst, out)
            }
            Op::Bitcast => {
                let rt = result_type(inst)?;
                if let Type::Pointer { .. } = self.m.types.get(rt)? {
                    return Err(FrontError::Unsupported("OpBitcast of pointers".into()));
                }
                let (_, a) = self.data(id_at(inst, 0)?)?;
                let out = self.bitcast(&a, &self.m.types.leaves(rt)?)?;
                self.bind_data(inst, out)
            }
            Op::QuantizeToF16 => {
                let (_, a) = self.data(id_at(inst, 0)?)?;
                let out = a
                    .iter()
                    .map(|x| {
                        let h = self
                            .b
                            .def(ScalarType::I32, IrOp::Unary(UnOp::F32ToF16Bits, *x));
                        self.b
                            .def(ScalarType::F32, IrOp::Unary(UnOp::F16BitsToF32, h))
                    })
                    .collect();
                self.bind_data(inst, out)
            }
            Op::Select => {
                let (_, c) = self.data(id_at(inst, 0)?)?;
                let (a, b) = (self.data(id_at(inst, 1)?)?.1, self.data(id_at(inst, 2)?)?.1);
                if a.len() != b.len() || (c.len() != 1 && c.len() != a.len()) {
                    return malformed("OpSelect operand shapes differ");
                }
                let out = (0..a.len())
                    .map(|i| {
                        let cond = if c.len() == 1 { c[0] } else { c[i] };
                        self.select(cond, a[i], b[i])
                    })
                    .collect();
                self.bind_data(inst, out)
            }
            Op::Any | Op::All => {
                let (_, a) = self.data(id_at(inst, 0)?)?;
                let b = if op == Op::Any { BinOp::Or } else { BinOp::And };
                let Some((first, rest)) = a.split_first() else {
                    return malformed("OpAny of nothing");
                };
                let r = rest.iter().fold(*first, |acc, x| self.bin(b, acc, *x));
                self.bind_data(inst, vec![r])
            }
            Op::Dot => {
                let (a, b) = self.two(inst)?;
                let r = self.dot(&a, &b)?;
                self.bind_data(inst, vec![r])
            }
            Op::VectorTimesScalar | Op::MatrixTimesScalar => {
                let (_, a) = self.data(id_at(inst, 0)?)?;
                let s = self.scalar(id_at(inst, 1)?)?;
                let out = a.iter().map(|x| self.bin(BinOp::FMul, *x, s)).collect();
                self.bind_data(inst, out)
            }
            Op::MatrixTimesVector
            | Op::VectorTimesMatrix
            | Op::MatrixTimesMatrix
            | Op::OuterProduct
            | Op::Transpose => self.matrix_op(inst),
            Op::CompositeConstruct => {
                let mut out = Vec::new();
                for i in 0..inst.operands.len() {
                    out.extend(self.data(id_at(inst, i)?)?.1);
                }
                self.bind_data(inst, out)
            }
            Op::CompositeExtract => {
                let (ty, a) = self.data(id_at(inst, 0)?)?;
                let idx = (1..inst.operands.len())
                    .map(|i| lit_at(inst, i))
                    .collect::<Result<Vec<_>>>()?;
                let (t, first) = self.m.types.path(ty, &idx)?;
                let n = self.m.types.leaf_count(t)?;
                match a.get(first..first + n) {
                    Some(s) => self.bind_data(inst, s.to_vec()),
                    None => malformed("OpCompositeExtract out of range"),
                }
            }
            Op::CompositeInsert => {
                let (_, obj) = self.data(id_at(inst, 0)?)?;
                let (ty, mut comp) = self.data(id_at(inst, 1)?)?;
                let idx = (2..inst.operands.len())
                    .map(|i| lit_at(inst, i))
                    .collect::<Result<Vec<_>>>()?;
                let (_, first) = self.m.types.path(ty, &idx)?;
                match comp.get_mut(first..first + obj.len()) {
                    Some(s) => s.copy_from_slice(&obj),
                    None => return malformed("OpCompositeInsert out of range"),
                }
                self.bind_data(inst, comp)
            }
            Op::VectorShuffle => {
                let (a, b) = (self.data(id_at(inst, 0)?)?.1, self.data(id_at(inst, 1)?)?.1);
                let st = self.m.types.component(result_type(inst)?)?;
                let mut out = Vec::new();
                for i in 2..inst.operands.len() {
                    let k = lit_at(inst, i)? as usize;
                    out.push(if k == 0xffff_ffff {
                        self.b.def(st, IrOp::Undef)
                    } else if let Some(v) = a.get(k) {
                        *v
                    } else {
                        match b.get(k - a.len()) {
                            Some(v) => *v,
                            None => return malformed("OpVectorShuffle component out of range"),
                        }
                    });
                }
                self.bind_data(inst, out)
            }
            Op::VectorExtractDynamic => {
                let (_, v) = self.data(id_at(inst, 0)?)?;
                let idx_id = id_at(inst, 1)?;
                if let Some(k) = self.const_u64(idx_id) {
                    // Out-of-range indices are undefined; component 0 will do.
                    let x = *v
                        .get(k as usize)
                        .or(v.first())
                        .ok_or_else(|| FrontError::Malformed("empty vector".into()))?;
                    return self.bind_data(inst, vec![x]);
                }
                let idx = self.scalar(idx_id)?;
                let it = self.b.ty(idx);
                let Some((first, rest)) = v.split_first() else {
                    return malformed("empty vector");
                };
                let mut r = *first;
                for (i, x) in rest.iter().enumerate() {
                    let k = self.ki(it, i as u64 + 1);
                    let hit = self.cmp(CmpOp::Eq, idx, k);
                    r = self.select(hit, *x, r);
                }
                self.bind_data(inst, vec![r])
            }
            Op::VectorInsertDynamic => {
                let (_, v) = self.data(id_at(inst, 0)?)?;
                let comp = self.scalar(id_at(inst, 1)?)?;
                let idx = self.scalar(id_at(inst, 2)?)?;
                let it = self.b.ty(idx);
                let out = v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| {
                        let k = self.ki(it, i as u64);
                        let hit = self.cmp(CmpOp::Eq, idx, k);
                        self.select(hit, comp, *x)
                    })
                    .collect();
                self.bind_data(inst, out)
            }
            Op::IAddCarry | Op::ISubBorrow | Op::UMulExtended | Op::SMulExtended => {
                self.extended(inst)
            }
            Op::BitFieldInsert | Op::BitFieldSExtract | Op::BitFieldUExtract => self.bitfield(inst),
            Op::AtomicLoad
            | Op::AtomicStore
            | Op::AtomicExchange
            | Op::AtomicCompareExchange
            | Op::AtomicCompareExchangeWeak
            | Op::AtomicIIncrement
            | Op::AtomicIDecrement
            | Op::AtomicIAdd
            | Op::AtomicISub
            | Op::AtomicSMin
            | Op::AtomicUMin
            | Op::AtomicSMax
            | Op::AtomicUMax
            | Op::AtomicAnd
            | Op::AtomicOr
            | Op::AtomicXor => self.atomic_inst(inst),
            Op::GroupNonUniformElect
            | Op::GroupNonUniformAll
            | Op::GroupNonUniformAny
            | Op::GroupNonUniformAllEqual
            | Op::GroupNonUniformBallot
            | Op::GroupNonUniformInverseBallot
            | Op::GroupNonUniformBallotBitExtract
            | Op::GroupNonUniformBallotBitCount
            | Op::GroupNonUniformBallotFindLSB
            | Op::GroupNonUniformBallotFindMSB
            | Op::GroupNonUniformBroadcast
            | Op::GroupNonUniformBroadcastFirst
            | Op::GroupNonUniformShuffle
            | Op::GroupNonUniformShuffleXor
            | Op::GroupNonUniformShuffleUp
            | Op::GroupNonUniformShuffleDown
            | Op::GroupNonUniformIAdd
            | Op::GroupNonUniformFAdd
            | Op::GroupNonUniformIMul
            | Op::GroupNonUniformFMul
            | Op::GroupNonUniformSMin
            | Op::GroupNonUniformUMin
            | Op::GroupNonUniformFMin
            | Op::GroupNonUniformSMax
            | Op::GroupNonUniformUMax
            | Op::GroupNonUniformFMax
            | Op::GroupNonUniformBitwiseAnd
            | Op::GroupNonUniformBitwiseOr
            | Op::GroupNonUniformBitwiseXor
            | Op::GroupNonUniformLogicalAnd
            | Op::GroupNonUniformLogicalOr
            | Op::GroupNonUniformLogicalXor => self.subgroup_inst(inst),
            other => Err(FrontError::UnsupportedOpcode(format!("{other:?}"))),
        }
    }

    /// Binds the result of `inst` as data of its result type.
    pub fn bind_data(&mut self, inst: &Instruction, leaves: Vec<ValueId>) -> Result<()> {
        let ty = result_type(inst)?;
        let want = self.m.types.leaves(ty)?;
        if want.len() != leaves.len() || want.iter().zip(&leaves).any(|(t, v)| *t != self.b.ty(*v))
        {
            return malformed(format!(
                "Op{:?} result does not match its type",
                inst.class.opcode
            ));
        }
        self.bind(result_id(inst)?, Value::Data { ty, leaves })
    }

    fn two(&mut self, inst: &Instruction) -> Result<(Vec<ValueId>, Vec<ValueId>)> {
        let a = self.data(id_at(inst, 0)?)?.1;
        let b = self.data(id_at(inst, 1)?)?.1;
        if a.len() != b.len() {
            return malformed(format!("Op{:?} operand shapes differ", inst.class.opcode));
        }
        Ok((a, b))
    }

    fn unary(&mut self, inst: &Instruction, op: UnOp) -> Result<()> {
        let (_, a) = self.data(id_at(inst, 0)?)?;
        let out = a.iter().map(|x| self.un(op, *x)).collect();
        self.bind_data(inst, out)
    }

    fn binary(&mut self, inst: &Instruction, op: BinOp) -> Result<()> {
        let (a, b) = self.two(inst)?;
        let shift = matches!(op, BinOp::Shl | BinOp::LShr | BinOp::AShr);
        let mut out = Vec::with_capacity(a.len());
        for (x, y) in a.iter().zip(&b) {
            let (tx, ty) = (self.b.ty(*x), self.b.ty(*y));
            let y = if tx != ty && shift && tx.is_int() && ty.is_int() {
                self.int_to(*y, tx, false)
            } else {
                *y
            };
            if self.b.ty(y) != tx {
                return malformed(format!("Op{:?} operand types differ", inst.class.opcode));
            }
            out.push(self.bin(op, *x, y));
        }
        self.bind_data(inst, out)
    }

    fn compare(&mut self, inst: &Instruction, op: CmpOp) -> Result<()> {
        let (a, b) = self.two(inst)?;
        let out = a
            .iter()
            .zip(&b)
            .map(|(x, y)| self.cmp(op, *x, *y))
            .collect();
        self.bind_data(inst, out)
    }

    pub fn dot(&mut self, a: &[ValueId], b: &[ValueId]) -> Result<ValueId> {
        let mut acc: Option<ValueId> = None;
        for (x, y) in a.iter().zip(b) {
            let p = self.bin(BinOp::FMul, *x, *y);
            acc = Some(match acc {
                None => p,
                Some(s) => self.bin(BinOp::FAdd, s, p),
            });
        }
        acc.ok_or_else(|| FrontError::Malformed("dot product of empty vectors".into()))
    }

    /// (columns, rows) of a matrix type.
    fn matrix_dims(&self, ty: Id) -> Result<(usize, usize)> {
        let Type::Matrix { column, columns } = self.m.types.get(ty)? else {
            return malformed(format!("%{ty} is not a matrix"));
        };
        let Type::Vector { count, .. } = self.m.types.get(*column)? else {
            return malformed("matrix column is not a vector");
        };
        Ok((*columns as usize, *count as usize))
    }

    fn matrix_op(&mut self, inst: &Instruction) -> Result<()> {
        let op = inst.class.opcode;
        let (ta, a) = self.data(id_at(inst, 0)?)?;
        let rt = result_type(inst)?;
        let mut out = Vec::new();
        match op {
            Op::Transpose => {
                let (c, r) = self.matrix_dims(ta)?;
                for i in 0..r {
                    for j in 0..c {
                        out.push(a[j * r + i]);
                    }
                }
            }
            Op::OuterProduct => {
                let (_, b) = self.data(id_at(inst, 1)?)?;
                for y in &b {
                    for x in &a {
                        out.push(self.bin(BinOp::FMul, *x, *y));
                    }
                }
            }
            Op::MatrixTimesVector => {
                let (c, r) = self.matrix_dims(ta)?;
                let (_, v) = self.data(id_at(inst, 1)?)?;
                if v.len() != c {
                    return malformed("OpMatrixTimesVector size mismatch");
                }
                for i in 0..r {
                    let row: Vec<ValueId> = (0..c).map(|j| a[j * r + i]).collect();
                    out.push(self.dot(&row, &v)?);
                }
            }
            Op::VectorTimesMatrix => {
                let (tb, m) = self.data(id_at(inst, 1)?)?;
                let (c, r) = self.matrix_dims(tb)?;
                if a.len() != r {
                    return malformed("OpVectorTimesMatrix size mismatch");
                }
                for j in 0..c {
                    out.push(self.dot(&a, &m[j * r..(j + 1) * r])?);
                }
            }
            _ => {
                // MatrixTimesMatrix: (A·B)[col j][row i] = Σ_k A[k][i] · B[j][k].
                let (ca, ra) = self.matrix_dims(ta)?;
                let (tb, b) = self.data(id_at(inst, 1)?)?;
                let (cb, rb) = self.matrix_dims(tb)?;
                if rb != ca {
                    return malformed("OpMatrixTimesMatrix size mismatch");
                }
                for j in 0..cb {
                    for i in 0..ra {
                        let row: Vec<ValueId> = (0..ca).map(|k| a[k * ra + i]).collect();
                        out.push(self.dot(&row, &b[j * rb..(j + 1) * rb])?);
                    }
                }
            }
        }
        if out.len() != self.m.types.leaf_count(rt)? {
            return malformed(format!("Op{op:?} result shape mismatch"));
        }
        self.bind_data(inst, out)
    }

    /// OpBitcast between types of equal total size (vectors may change component count).
    fn bitcast(&mut self, src: &[ValueId], dst: &[crate::ir::ScalarType]) -> Result<Vec<ValueId>> {
        let src_bits: u32 = src.iter().map(|v| self.b.ty(*v).bits()).sum();
        let dst_bits: u32 = dst.iter().map(|t| t.bits()).sum();
        if src_bits != dst_bits
            || src.is_empty()
            || src.iter().any(|v| self.b.ty(*v) == ScalarType::Bool)
        {
            return malformed("OpBitcast between types of different sizes");
        }
        if src.len() == dst.len() {
            return Ok(src
                .iter()
                .zip(dst)
                .map(|(v, t)| {
                    if self.b.ty(*v) == *t {
                        *v
                    } else {
                        self.conv(ConvOp::Bitcast, *t, *v)
                    }
                })
                .collect());
        }
        let sw = self.b.ty(src[0]).bits();
        let dw = dst[0].bits();
        let as_int: Vec<ValueId> = src
            .iter()
            .map(|v| {
                if self.b.ty(*v).is_float() {
                    self.conv(ConvOp::Bitcast, ScalarType::I32, *v)
                } else {
                    *v
                }
            })
            .collect();
        let di = int_type(dw);
        let mut ints = Vec::with_capacity(dst.len());
        if dw > sw {
            let r = (dw / sw) as usize;
            for chunk in as_int.chunks(r) {
                let mut acc = self.conv(ConvOp::ZextOrTrunc, di, chunk[0]);
                for (k, part) in chunk.iter().enumerate().skip(1) {
                    let wide = self.conv(ConvOp::ZextOrTrunc, di, *part);
                    let sh = self.ki(di, (k as u64) * u64::from(sw));
                    let moved = self.bin(BinOp::Shl, wide, sh);
                    acc = self.bin(BinOp::Or, acc, moved);
                }
                ints.push(acc);
            }
        } else {
            let r = sw / dw;
            for v in &as_int {
                let st = self.b.ty(*v);
                for k in 0..r {
                    let sh = self.ki(st, u64::from(k * dw));
                    let moved = if k == 0 {
                        *v
                    } else {
                        self.bin(BinOp::LShr, *v, sh)
                    };
                    ints.push(self.conv(ConvOp::ZextOrTrunc, di, moved));
                }
            }
        }
        Ok(ints
            .into_iter()
            .zip(dst)
            .map(|(v, t)| {
                if t.is_float() {
                    self.conv(ConvOp::Bitcast, *t, v)
                } else {
                    v
                }
            })
            .collect())
    }

    /// OpIAddCarry / OpISubBorrow / OpUMulExtended / OpSMulExtended: a two-member struct.
    fn extended(&mut self, inst: &Instruction) -> Result<()> {
        let (a, b) = self.two(inst)?;
        let op = inst.class.opcode;
        let mut lo = Vec::with_capacity(a.len());
        let mut hi = Vec::with_capacity(a.len());
        for (x, y) in a.iter().zip(&b) {
            let st = self.b.ty(*x);
            let (one, zero) = (self.ki(st, 1), self.ki(st, 0));
            match op {
                Op::IAddCarry => {
                    let s = self.bin(BinOp::IAdd, *x, *y);
                    let c = self.cmp(CmpOp::ULt, s, *x);
                    lo.push(s);
                    hi.push(self.select(c, one, zero));
                }
                Op::ISubBorrow => {
                    let d = self.bin(BinOp::ISub, *x, *y);
                    let c = self.cmp(CmpOp::ULt, *x, *y);
                    lo.push(d);
                    hi.push(self.select(c, one, zero));
                }
                Op::UMulExtended => {
                    lo.push(self.bin(BinOp::IMul, *x, *y));
                    hi.push(self.bin(BinOp::UMulHi, *x, *y));
                }
                _ => {
                    lo.push(self.bin(BinOp::IMul, *x, *y));
                    hi.push(self.bin(BinOp::SMulHi, *x, *y));
                }
            }
        }
        lo.extend(hi);
        self.bind_data(inst, lo)
    }

    fn bitfield(&mut self, inst: &Instruction) -> Result<()> {
        let op = inst.class.opcode;
        let (_, base) = self.data(id_at(inst, 0)?)?;
        let (ins, oi, ci) = if op == Op::BitFieldInsert {
            (Some(self.data(id_at(inst, 1)?)?.1), 2, 3)
        } else {
            (None, 1, 2)
        };
        let offset = self.scalar(id_at(inst, oi)?)?;
        let count = self.scalar(id_at(inst, ci)?)?;
        let mut out = Vec::with_capacity(base.len());
        for (i, x) in base.iter().enumerate() {
            let st = self.b.ty(*x);
            let w = u64::from(st.bits());
            let off = self.int_to(offset, st, false);
            let cnt = self.int_to(count, st, false);
            // Low `count` bits set, also for count == width.
            let (one, all, zero, width) = (
                self.ki(st, 1),
                self.ki(st, u64::MAX),
                self.ki(st, 0),
                self.ki(st, w),
            );
            let full = self.cmp(CmpOp::UGe, cnt, width);
            let shifted = self.bin(BinOp::Shl, one, cnt);
            let partial = self.bin(BinOp::ISub, shifted, one);
            let low = self.select(full, all, partial);
            out.push(match op {
                Op::BitFieldInsert => {
                    let Some(ins) = ins.as_ref().and_then(|v| v.get(i)) else {
                        return malformed("OpBitFieldInsert operand shapes differ");
                    };
                    let mask = self.bin(BinOp::Shl, low, off);
                    let keep = self.un(UnOp::Not, mask);
                    let kept = self.bin(BinOp::And, *x, keep);
                    let moved = self.bin(BinOp::Shl, *ins, off);
                    let put = self.bin(BinOp::And, moved, mask);
                    self.bin(BinOp::Or, kept, put)
                }
                Op::BitFieldUExtract => {
                    let t = self.bin(BinOp::LShr, *x, off);
                    self.bin(BinOp::And, t, low)
                }
                _ => {
                    let t = self.bin(BinOp::LShr, *x, off);
                    let s = self.bin(BinOp::ISub, width, cnt);
                    let up = self.bin(BinOp::Shl, t, s);
                    let r = self.bin(BinOp::AShr, up, s);
                    let none = self.cmp(CmpOp::Eq, cnt, zero);
                    self.select(none, zero, r)
                }
            });
        }
        self.bind_data(inst, out)
    }

    fn atomic_inst(&mut self, inst: &Instruction) -> Result<()> {
        let op = inst.class.opcode;
        let p = self.ptr(id_at(inst, 0)?)?;
        let rmw = |o| Some(o);
        let (aop, value_at) = match op {
            Op::AtomicStore => {
                let v = self.scalar(id_at(inst, 3)?)?;
                return self.atomic_store(&p, v);
            }
            Op::AtomicLoad => (AtomicOp::Load, None),
            Op::AtomicIIncrement | Op::AtomicIDecrement => {
                let st = self.m.types.scalar(p.ty)?;
                let one = self.ki(st, 1);
                let o = if op == Op::AtomicIIncrement {
                    AtomicOp::Add
                } else {
                    AtomicOp::Sub
                };
                let r = self.atomic(o, &p, Some(one), None)?;
                return self.bind_data(inst, vec![r]);
            }
            Op::AtomicCompareExchange | Op::AtomicCompareExchangeWeak => {
                let v = self.scalar(id_at(inst, 4)?)?;
                let c = self.scalar(id_at(inst, 5)?)?;
                let r = self.atomic(AtomicOp::CompareExchange, &p, Some(v), Some(c))?;
                return self.bind_data(inst, vec![r]);
            }
            Op::AtomicExchange => (AtomicOp::Exchange, rmw(3)),
            Op::AtomicIAdd => (AtomicOp::Add, rmw(3)),
            Op::AtomicISub => (AtomicOp::Sub, rmw(3)),
            Op::AtomicSMin => (AtomicOp::SMin, rmw(3)),
            Op::AtomicUMin => (AtomicOp::UMin, rmw(3)),
            Op::AtomicSMax => (AtomicOp::SMax, rmw(3)),
            Op::AtomicUMax => (AtomicOp::UMax, rmw(3)),
            Op::AtomicAnd => (AtomicOp::And, rmw(3)),
            Op::AtomicOr => (AtomicOp::Or, rmw(3)),
            _ => (AtomicOp::Xor, rmw(3)),
        };
        let value = match value_at {
            Some(i) => Some(self.scalar(id_at(inst, i)?)?),
            None => None,
        };
        let r = self.atomic(aop, &p, value, None)?;
        self.bind_data(inst, vec![r])
    }
}
