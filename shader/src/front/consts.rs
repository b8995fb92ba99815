//! Constants known at lowering time: `OpConstant*`, specialization constants after the
//! application's values are applied, and `OpSpecConstantOp` folded here with the same
//! semantics the IR gives the corresponding run-time operations.

use std::collections::HashMap;

use rspirv::dr::Operand;
use spirv::Op;

use super::types::{Id, Type, Types};
use super::{malformed, FrontError, Result};
use crate::ir::ScalarType;

/// A constant value: its type and the bits of each scalar leaf (ints zero-extended and masked
/// to their width, f32 as `to_bits`, bools 0/1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConstVal {
    pub ty: Id,
    pub bits: Vec<u64>,
}

pub(crate) fn mask(st: ScalarType, v: u64) -> u64 {
    match st.bits() {
        64 => v,
        b => v & ((1u64 << b) - 1),
    }
}

/// Sign-extends the low `st.bits()` bits.
pub(crate) fn sext(st: ScalarType, v: u64) -> i64 {
    let b = st.bits();
    if b == 64 {
        return v as i64;
    }
    let shift = 64 - b;
    ((v << shift) as i64) >> shift
}

/// f32 bits → nearest f16 bits (round to nearest even; overflow → infinity).
pub(crate) fn f32_to_f16_bits(x: u32) -> u16 {
    let sign = ((x >> 16) & 0x8000) as u16;
    let exp = ((x >> 23) & 0xff) as i32;
    let mant = x & 0x7f_ffff;
    if exp == 0xff {
        let nan = if mant != 0 {
            0x200 | (mant >> 13) as u16
        } else {
            0
        };
        return sign | 0x7c00 | nan;
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let m = mant | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let rem = m & ((1u32 << shift) - 1);
        let mut r = m >> shift;
        if rem > half || (rem == half && r & 1 == 1) {
            r += 1;
        }
        return sign | r as u16;
    }
    let mut r = ((e as u32) << 10) | (mant >> 13);
    let rem = mant & 0x1fff;
    if rem > 0x1000 || (rem == 0x1000 && r & 1 == 1) {
        r += 1;
    }
    sign | r as u16
}

/// f16 bits → f32 bits (exact).
pub(crate) fn f16_bits_to_f32(h: u16) -> u32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let mant = u32::from(h & 0x3ff);
    match exp {
        0 => {
            let mag = (mant as f32) * (1.0 / 16_777_216.0);
            sign | mag.to_bits()
        }
        31 => sign | 0x7f80_0000 | (mant << 13),
        _ => sign | ((exp + 112) << 23) | (mant << 13),
    }
}

fn cmp_bool(b: bool) -> u64 {
    u64::from(b)
}

/// Folds one scalar binary operation of `OpSpecConstantOp` on leaves of type `st`.
fn fold_binary(op: Op, st: ScalarType, a: u64, b: u64) -> Option<u64> {
    let w = u64::from(st.bits());
    let (sa, sb) = (sext(st, a), sext(st, b));
    let r = match op {
        Op::IAdd => a.wrapping_add(b),
        Op::ISub => a.wrapping_sub(b),
        Op::IMul => a.wrapping_mul(b),
        Op::UDiv => a.checked_div(b).unwrap_or(0),
        Op::UMod => a.checked_rem(b).unwrap_or(0),
        Op::SDiv => match sa.checked_div(sb) {
            Some(q) => q as u64,
            None if sb == 0 => 0,
            None => sa as u64, // MIN / -1
        },
        Op::SRem => sa.checked_rem(sb).unwrap_or(0) as u64,
        Op::SMod => {
            let r = sa.checked_rem(sb).unwrap_or(0);
            if r != 0 && ((r < 0) != (sb < 0)) {
                r.wrapping_add(sb) as u64
            } else {
                r as u64
            }
        }
        Op::ShiftLeftLogical => a << (b % w),
        Op::ShiftRightLogical => a >> (b % w),
        Op::ShiftRightArithmetic => (sa >> (b % w)) as u64,
        Op::BitwiseAnd | Op::LogicalAnd => a & b,
        Op::BitwiseOr | Op::LogicalOr => a | b,
        Op::BitwiseXor | Op::LogicalNotEqual => a ^ b,
        Op::LogicalEqual => cmp_bool(a == b),
        Op::IEqual => cmp_bool(a == b),
        Op::INotEqual => cmp_bool(a != b),
        Op::ULessThan => cmp_bool(a < b),
        Op::ULessThanEqual => cmp_bool(a <= b),
        Op::UGreaterThan => cmp_bool(a > b),
        Op::UGreaterThanEqual => cmp_bool(a >= b),
        Op::SLessThan => cmp_bool(sa < sb),
        Op::SLessThanEqual => cmp_bool(sa <= sb),
        Op::SGreaterThan => cmp_bool(sa > sb),
        Op::SGreaterThanEqual => cmp_bool(sa >= sb),
        _ => return None,
    };
    Some(r)
}

fn is_compare(op: Op) -> bool {
    matches!(
        op,
        Op::IEqual
            | Op::INotEqual
            | Op::ULessThan
            | Op::ULessThanEqual
            | Op::UGreaterThan
            | Op::UGreaterThanEqual
            | Op::SLessThan
            | Op::SLessThanEqual
            | Op::SGreaterThan
            | Op::SGreaterThanEqual
            | Op::LogicalEqual
            | Op::LogicalNotEqual
    )
}

fn id_operand(ops: &[Operand], i: usize) -> Result<Id> {
    match ops.get(i) {
        Some(Operand::IdRef(id)) => Ok(*id),
        _ => malformed(format!("OpSpecConstantOp: operand {i} is not an id")),
    }
}

fn literal_operand(ops: &[Operand], i: usize) -> Result<u32> {
    match ops.get(i) {
        Some(Operand::LiteralBit32(v)) => Ok(*v),
        _ => malformed(format!("OpSpecConstantOp: operand {i} is not a literal")),
    }
}

/// Evaluates `OpSpecConstantOp` (`operands` after the opcode) with result type `ty`.
pub(crate) fn fold_spec_op(
    types: &Types,
    consts: &HashMap<Id, ConstVal>,
    ty: Id,
    op: Op,
    operands: &[Operand],
) -> Result<ConstVal> {
    let get = |i: usize| -> Result<&ConstVal> {
        let id = id_operand(operands, i)?;
        consts.get(&id).ok_or_else(|| {
            FrontError::Malformed(format!("OpSpecConstantOp operand %{id} is not a constant"))
        })
    };
    let leaves = types.leaves(ty)?;
    let bits: Vec<u64> = match op {
        Op::SConvert
        | Op::UConvert
        | Op::FConvert
        | Op::SNegate
        | Op::Not
        | Op::LogicalNot
        | Op::QuantizeToF16 => {
            let a = get(0)?;
            let src = types.leaves(a.ty)?;
            if src.len() != leaves.len() {
                return malformed("OpSpecConstantOp: component count mismatch");
            }
            let mut out = Vec::with_capacity(leaves.len());
            for ((&v, &s), &d) in a.bits.iter().zip(&src).zip(&leaves) {
                let r = match op {
                    Op::SConvert => sext(s, v) as u64,
                    Op::UConvert => v,
                    Op::FConvert if s == ScalarType::F32 && d == ScalarType::F32 => v,
                    Op::SNegate => v.wrapping_neg(),
                    Op::Not => !v,
                    Op::LogicalNot => v ^ 1,
                    Op::QuantizeToF16 => u64::from(f16_bits_to_f32(f32_to_f16_bits(v as u32))),
                    _ => {
                        return Err(FrontError::Unsupported(format!(
                            "OpSpecConstantOp Op{op:?} on these types"
                        )))
                    }
                };
                out.push(mask(d, r));
            }
            out
        }
        Op::Select => {
            let (c, a, b) = (get(0)?, get(1)?, get(2)?);
            if a.bits.len() != leaves.len() || b.bits.len() != leaves.len() {
                return malformed("OpSpecConstantOp Select: operand shapes differ");
            }
            (0..leaves.len())
                .map(|i| {
                    let cond = if c.bits.len() == 1 {
                        c.bits[0]
                    } else {
                        *c.bits.get(i).unwrap_or(&0)
                    };
                    if cond != 0 {
                        a.bits[i]
                    } else {
                        b.bits[i]
                    }
                })
                .collect()
        }
        Op::VectorShuffle => {
            let (a, b) = (get(0)?, get(1)?);
            let mut out = Vec::with_capacity(leaves.len());
            for i in 0..leaves.len() {
                let sel = literal_operand(operands, 2 + i)? as usize;
                let v = if sel == 0xffff_ffff {
                    0
                } else if sel < a.bits.len() {
                    a.bits[sel]
                } else {
                    match b.bits.get(sel - a.bits.len()) {
                        Some(v) => *v,
                        None => return malformed("OpVectorShuffle: component index out of range"),
                    }
                };
                out.push(v);
            }
            out
        }
        Op::CompositeExtract => {
            let a = get(0)?;
            let idx: Vec<u32> = (1..operands.len())
                .map(|i| literal_operand(operands, i))
                .collect::<Result<_>>()?;
            let (_, first) = types.path(a.ty, &idx)?;
            match a.bits.get(first..first + leaves.len()) {
                Some(s) => s.to_vec(),
                None => return malformed("OpCompositeExtract out of range"),
            }
        }
        Op::CompositeInsert => {
            let (obj, comp) = (get(0)?, get(1)?);
            let idx: Vec<u32> = (2..operands.len())
                .map(|i| literal_operand(operands, i))
                .collect::<Result<_>>()?;
            let (_, first) = types.path(comp.ty, &idx)?;
            let mut out = comp.bits.clone();
            match out.get_mut(first..first + obj.bits.len()) {
                Some(s) => s.copy_from_slice(&obj.bits),
                None => return malformed("OpCompositeInsert out of range"),
            }
            out
        }
        _ => {
            let (a, b) = (get(0)?, get(1)?);
            let src = types.leaves(a.ty)?;
            if a.bits.len() != leaves.len() || b.bits.len() != leaves.len() {
                return malformed(format!("OpSpecConstantOp Op{op:?}: operand shapes differ"));
            }
            let mut out = Vec::with_capacity(leaves.len());
            for i in 0..leaves.len() {
                let st = src[i];
                if !(st.is_int() || st == ScalarType::Bool) {
                    return Err(FrontError::Unsupported(format!(
                        "OpSpecConstantOp Op{op:?} on floats"
                    )));
                }
                let bv = if is_compare(op) {
                    b.bits[i]
                } else {
                    mask(st, b.bits[i])
                };
                let Some(r) = fold_binary(op, st, a.bits[i], bv) else {
                    return Err(FrontError::Unsupported(format!(
                        "OpSpecConstantOp with Op{op:?}"
                    )));
                };
                out.push(mask(leaves[i], r));
            }
            out
        }
    };
    if bits.len() != leaves.len() {
        return malformed(format!(
            "OpSpecConstantOp Op{op:?}: result shape does not match its type"
        ));
    }
    Ok(ConstVal { ty, bits })
}

/// The all-zero constant of a type (OpConstantNull).
pub(crate) fn null(types: &Types, ty: Id) -> Result<ConstVal> {
    Ok(ConstVal {
        ty,
        bits: vec![0; types.leaf_count(ty)?],
    })
}

/// Reads a literal of scalar type `ty` from a constant instruction's operand.
pub(crate) fn literal_bits(types: &Types, ty: Id, op: Option<&Operand>) -> Result<u64> {
    let st = types.scalar(ty)?;
    let raw = match op {
        Some(Operand::LiteralBit32(v)) => u64::from(*v),
        Some(Operand::LiteralBit64(v)) => *v,
        _ => return malformed("OpConstant without a literal value"),
    };
    if matches!(types.get(ty)?, Type::Bool) {
        return malformed("OpConstant of bool type");
    }
    Ok(mask(st, raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nearest f16 by brute force: the candidate (over all finite f16s) closest to `x` in
    /// f64, ties to the even bit pattern; beyond the largest finite value by half an ulp or
    /// more, infinity.
    fn nearest_half(x: f32) -> u16 {
        let sign = if x.is_sign_negative() { 0x8000 } else { 0 };
        let a = f64::from(x.abs());
        if a >= 65520.0 {
            return sign | 0x7c00;
        }
        let mut best = 0u16;
        let mut best_err = f64::INFINITY;
        for h in 0..0x7c00u16 {
            let v = f64::from(f32::from_bits(f16_bits_to_f32(h)));
            let err = (v - a).abs();
            if err < best_err || (err == best_err && h & 1 == 0) {
                best = h;
                best_err = err;
            }
        }
        sign | best
    }

    #[test]
    fn f32_to_f16_rounds_to_nearest_even_like_brute_force() {
        let mut samples = vec![
            0.0f32,
            -0.0,
            1.0,
            65504.0,
            65519.0,
            65520.0,
            6.0e-8,
            2.9e-8,
            3.0e-8,
            6.1e-5,
            1.0 / 3.0,
        ];
        let mut s = 0x9e37_79b9u32;
        for _ in 0..300 {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            // Exponents spanning f16's range and a bit beyond.
            let e = 100 + (s >> 24) % 50;
            samples.push(f32::from_bits((s & 0x807f_ffff) | (e << 23)));
        }
        for x in samples {
            assert_eq!(f32_to_f16_bits(x.to_bits()), nearest_half(x), "{x:e}");
        }
        assert_eq!(f32_to_f16_bits(f32::INFINITY.to_bits()), 0x7c00);
        assert_eq!(f32_to_f16_bits(f32::NAN.to_bits()) & 0x7e00, 0x7e00);
    }

    #[test]
    fn f16_to_f32_is_exact_for_every_half() {
        for h in 0..0x7c00u16 {
            let e = i32::from(h >> 10);
            let m = f64::from(h & 0x3ff);
            let want = if e == 0 {
                m * 2f64.powi(-24)
            } else {
                (1.0 + m / 1024.0) * 2f64.powi(e - 15)
            };
            assert_eq!(
                f64::from(f32::from_bits(f16_bits_to_f32(h))),
                want,
                "{h:#x}"
            );
            assert_eq!(f32_to_f16_bits(f16_bits_to_f32(h)), h, "round trip {h:#x}");
        }
    }

    #[test]
    fn folded_integer_ops_follow_the_ir_definitions() {
        let i32t = ScalarType::I32;
        let m = |v: i64| mask(i32t, v as u64);
        let f = |op, a, b| fold_binary(op, i32t, a, b).map(|v| mask(i32t, v));
        let min = i64::from(i32::MIN);
        assert_eq!(f(Op::SDiv, m(-7), m(2)), Some(m(-3)));
        assert_eq!(f(Op::SDiv, m(min), m(-1)), Some(m(min)));
        assert_eq!(f(Op::SDiv, m(5), 0), Some(0));
        assert_eq!(f(Op::SRem, m(-7), m(3)), Some(m(-1)));
        assert_eq!(f(Op::SMod, m(-7), m(3)), Some(m(2)));
        assert_eq!(f(Op::SMod, m(7), m(-3)), Some(m(-2)));
        assert_eq!(f(Op::UMod, 7, 0), Some(0));
        assert_eq!(f(Op::ShiftLeftLogical, 1, 33), Some(2));
        assert_eq!(f(Op::ShiftRightArithmetic, m(-8), 1), Some(m(-4)));
        assert_eq!(f(Op::SLessThan, m(-1), 0), Some(1));
        assert_eq!(f(Op::ULessThan, m(-1), 0), Some(0));
    }
}
