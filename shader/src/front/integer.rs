//! Integer instructions with more than one result or a bit-field shape (OpIAddCarry,
//! OpISubBorrow, OpUMulExtended, OpSMulExtended, OpBitField*) and the atomics.

use rspirv::dr::Instruction;
use spirv::Op;

use super::lower::Lower;
use super::module::id_at;
use super::{malformed, Result};
use crate::ir::{AtomicOp, BinOp, CmpOp, UnOp};

impl Lower<'_> {
    /// OpIAddCarry / OpISubBorrow / OpUMulExtended / OpSMulExtended: a two-member struct.
    pub fn extended(&mut self, inst: &Instruction) -> Result<()> {
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

    pub fn bitfield(&mut self, inst: &Instruction) -> Result<()> {
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

    pub fn atomic_inst(&mut self, inst: &Instruction) -> Result<()> {
        let op = inst.class.opcode;
        if let super::lower::Value::Handle(h) = self.value(id_at(inst, 0)?)? {
            return self.image_atomic(inst, h);
        }
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
