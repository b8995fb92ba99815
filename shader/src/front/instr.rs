//! Lowering of the instructions inside blocks: the dispatch, plus arithmetic, comparisons
//! and conversions. Everything is per scalar leaf.

use rspirv::dr::{Instruction, Operand};
use spirv::Op;

use super::lower::{Bound, Lower, Value};
use super::module::{id_at, lit_at, result_id, result_type, ExtSet};
use super::opcodes::{binop, cmpop, is_atomic, is_subgroup};
use super::types::{Id, Type};
use super::{malformed, FrontError, Result};
use crate::ir::{BinOp, CmpOp, ConvOp, Op as IrOp, ScalarType, Stmt, UnOp, ValueId};

const SCOPE_WORKGROUP: u64 = 2;
const SCOPE_SUBGROUP: u64 = 3;

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
                if matches!(p.root, super::memory::Root::Handles { .. }) {
                    let h = self.load_handle(&p)?;
                    return self.bind(result_id(inst)?, Value::Handle(h));
                }
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
            Op::DemoteToHelperInvocation => self.demote(),
            Op::IsHelperInvocationEXT => self.is_helper_invocation(inst),
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
            Op::CompositeConstruct
            | Op::CompositeExtract
            | Op::CompositeInsert
            | Op::VectorShuffle
            | Op::VectorExtractDynamic
            | Op::VectorInsertDynamic => self.composite(inst),
            Op::IAddCarry | Op::ISubBorrow | Op::UMulExtended | Op::SMulExtended => {
                self.extended(inst)
            }
            Op::BitFieldInsert | Op::BitFieldSExtract | Op::BitFieldUExtract => self.bitfield(inst),
            Op::SampledImage | Op::Image | Op::ImageTexelPointer => self.handle_inst(inst),
            op if super::image::is_image_op(op) => self.image_inst(inst),
            op if super::derivative::is_derivative(op) => self.derivative(inst),
            op if is_atomic(op) => self.atomic_inst(inst),
            op if is_subgroup(op) => self.subgroup_inst(inst),
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

    pub fn two(&mut self, inst: &Instruction) -> Result<(Vec<ValueId>, Vec<ValueId>)> {
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
}
