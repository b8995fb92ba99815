//! GLSL.std.450 extended instructions. Those that are not backend primitives (`UnOp`,
//! `BinOp`) are expanded here into IR arithmetic, following the definitions in the
//! GLSL.std.450 specification.

use rspirv::dr::{Instruction, Operand};
use spirv::GLOp;

use super::lower::Lower;
use super::module::id_at;
use super::types::Id;
use super::{malformed, FrontError, Result};
use crate::ir::{BinOp, CmpOp, ConvOp, Op as IrOp, ScalarType, UnOp, ValueId};

impl Lower<'_> {
    pub fn glsl_std(&mut self, inst: &Instruction) -> Result<()> {
        let Some(Operand::LiteralExtInstInteger(n)) = inst.operands.get(1) else {
            return malformed("OpExtInst without an instruction number");
        };
        let Some(g) = GLOp::from_u32(*n) else {
            return Err(FrontError::UnsupportedGlslInstruction(format!(
                "number {n}"
            )));
        };
        let args = (2..inst.operands.len())
            .map(|i| id_at(inst, i))
            .collect::<Result<Vec<Id>>>()?;
        let arg = |i: usize| -> Result<Id> {
            args.get(i).copied().ok_or_else(|| {
                FrontError::Malformed(format!("GLSL.std.450 {g:?}: missing operand {i}"))
            })
        };
        let unop = match g {
            GLOp::Round => Some(UnOp::Round),
            GLOp::RoundEven => Some(UnOp::RoundEven),
            GLOp::Trunc => Some(UnOp::Trunc),
            GLOp::FAbs => Some(UnOp::FAbs),
            GLOp::SAbs => Some(UnOp::IAbs),
            GLOp::Floor => Some(UnOp::Floor),
            GLOp::Ceil => Some(UnOp::Ceil),
            GLOp::Fract => Some(UnOp::Fract),
            GLOp::Sin => Some(UnOp::Sin),
            GLOp::Cos => Some(UnOp::Cos),
            GLOp::Tan => Some(UnOp::Tan),
            GLOp::Asin => Some(UnOp::Asin),
            GLOp::Acos => Some(UnOp::Acos),
            GLOp::Atan => Some(UnOp::Atan),
            GLOp::Exp => Some(UnOp::Exp),
            GLOp::Log => Some(UnOp::Log),
            GLOp::Exp2 => Some(UnOp::Exp2),
            GLOp::Log2 => Some(UnOp::Log2),
            GLOp::Sqrt => Some(UnOp::Sqrt),
            GLOp::InverseSqrt => Some(UnOp::InverseSqrt),
            GLOp::FindILsb => Some(UnOp::FindLsb),
            GLOp::FindSMsb => Some(UnOp::FindSMsb),
            GLOp::FindUMsb => Some(UnOp::FindUMsb),
            _ => None,
        };
        if let Some(u) = unop {
            let (_, a) = self.data(arg(0)?)?;
            let out = a.iter().map(|x| self.un(u, *x)).collect();
            return self.bind_data(inst, out);
        }
        let binop = match g {
            GLOp::Atan2 => Some(BinOp::Atan2),
            GLOp::Pow => Some(BinOp::Pow),
            GLOp::FMin => Some(BinOp::FMin),
            GLOp::UMin => Some(BinOp::UMin),
            GLOp::SMin => Some(BinOp::SMin),
            GLOp::FMax => Some(BinOp::FMax),
            GLOp::UMax => Some(BinOp::UMax),
            GLOp::SMax => Some(BinOp::SMax),
            _ => None,
        };
        if let Some(b) = binop {
            let (x, y) = self.args2(arg(0)?, arg(1)?)?;
            let out = x
                .iter()
                .zip(&y)
                .map(|(a, b2)| self.bin(b, *a, *b2))
                .collect();
            return self.bind_data(inst, out);
        }
        let out: Vec<ValueId> = match g {
            GLOp::FSign => self.map1(arg(0)?, |l, x| {
                let (zero, one, neg) = (l.kf(0.0), l.kf(1.0), l.kf(-1.0));
                let pos = l.cmp(CmpOp::FOGt, x, zero);
                let negv = l.cmp(CmpOp::FOLt, x, zero);
                let s = l.select(negv, neg, zero);
                l.select(pos, one, s)
            })?,
            GLOp::SSign => self.map1(arg(0)?, |l, x| {
                let st = l.b.ty(x);
                let (one, neg) = (l.ki(st, 1), l.ki(st, u64::MAX));
                let lo = l.bin(BinOp::SMax, x, neg);
                l.bin(BinOp::SMin, lo, one)
            })?,
            GLOp::Radians => self.map1(arg(0)?, |l, x| {
                let k = l.kf(std::f32::consts::PI / 180.0);
                l.bin(BinOp::FMul, x, k)
            })?,
            GLOp::Degrees => self.map1(arg(0)?, |l, x| {
                let k = l.kf(180.0 / std::f32::consts::PI);
                l.bin(BinOp::FMul, x, k)
            })?,
            GLOp::Sinh | GLOp::Cosh => {
                let sub = g == GLOp::Sinh;
                self.map1(arg(0)?, move |l, x| {
                    let e = l.un(UnOp::Exp, x);
                    let nx = l.un(UnOp::FNeg, x);
                    let en = l.un(UnOp::Exp, nx);
                    let s = l.bin(if sub { BinOp::FSub } else { BinOp::FAdd }, e, en);
                    let half = l.kf(0.5);
                    l.bin(BinOp::FMul, s, half)
                })?
            }
            GLOp::Tanh => self.map1(arg(0)?, |l, x| {
                // tanh |x| = (1 - e^-2|x|) / (1 + e^-2|x|): no overflow for large |x|.
                let ax = l.un(UnOp::FAbs, x);
                let m2 = l.kf(-2.0);
                let p = l.bin(BinOp::FMul, ax, m2);
                let t = l.un(UnOp::Exp, p);
                let one = l.kf(1.0);
                let num = l.bin(BinOp::FSub, one, t);
                let den = l.bin(BinOp::FAdd, one, t);
                let r = l.bin(BinOp::FDiv, num, den);
                l.copy_sign(r, x)
            })?,
            GLOp::Asinh => self.map1(arg(0)?, |l, x| {
                let ax = l.un(UnOp::FAbs, x);
                let sq = l.bin(BinOp::FMul, ax, ax);
                let one = l.kf(1.0);
                let s1 = l.bin(BinOp::FAdd, sq, one);
                let r = l.un(UnOp::Sqrt, s1);
                let sum = l.bin(BinOp::FAdd, ax, r);
                let lg = l.un(UnOp::Log, sum);
                l.copy_sign(lg, x)
            })?,
            GLOp::Acosh => self.map1(arg(0)?, |l, x| {
                let sq = l.bin(BinOp::FMul, x, x);
                let one = l.kf(1.0);
                let s1 = l.bin(BinOp::FSub, sq, one);
                let r = l.un(UnOp::Sqrt, s1);
                let sum = l.bin(BinOp::FAdd, x, r);
                l.un(UnOp::Log, sum)
            })?,
            GLOp::Atanh => self.map1(arg(0)?, |l, x| {
                let one = l.kf(1.0);
                let num = l.bin(BinOp::FAdd, one, x);
                let den = l.bin(BinOp::FSub, one, x);
                let q = l.bin(BinOp::FDiv, num, den);
                let lg = l.un(UnOp::Log, q);
                let half = l.kf(0.5);
                l.bin(BinOp::FMul, lg, half)
            })?,
            GLOp::NMin | GLOp::NMax => {
                let b = if g == GLOp::NMin {
                    BinOp::FMin
                } else {
                    BinOp::FMax
                };
                let (x, y) = self.args2(arg(0)?, arg(1)?)?;
                x.iter()
                    .zip(&y)
                    .map(|(a, c)| self.nan_aware(b, *a, *c))
                    .collect()
            }
            GLOp::Step => {
                let (e, x) = self.args2(arg(0)?, arg(1)?)?;
                e.iter()
                    .zip(&x)
                    .map(|(e, x)| {
                        let below = self.cmp(CmpOp::FOLt, *x, *e);
                        let (zero, one) = (self.kf(0.0), self.kf(1.0));
                        self.select(below, zero, one)
                    })
                    .collect()
            }
            GLOp::FClamp | GLOp::UClamp | GLOp::SClamp | GLOp::NClamp => {
                let (lo_op, hi_op) = match g {
                    GLOp::UClamp => (BinOp::UMax, BinOp::UMin),
                    GLOp::SClamp => (BinOp::SMax, BinOp::SMin),
                    _ => (BinOp::FMax, BinOp::FMin),
                };
                let [x, lo, hi] = self.args3(arg(0)?, arg(1)?, arg(2)?)?;
                (0..x.len())
                    .map(|i| {
                        if g == GLOp::NClamp {
                            let a = self.nan_aware(lo_op, x[i], lo[i]);
                            self.nan_aware(hi_op, a, hi[i])
                        } else {
                            let a = self.bin(lo_op, x[i], lo[i]);
                            self.bin(hi_op, a, hi[i])
                        }
                    })
                    .collect()
            }
            GLOp::FMix => {
                let [x, y, a] = self.args3(arg(0)?, arg(1)?, arg(2)?)?;
                (0..x.len())
                    .map(|i| {
                        let one = self.kf(1.0);
                        let inv = self.bin(BinOp::FSub, one, a[i]);
                        let l = self.bin(BinOp::FMul, x[i], inv);
                        let r = self.bin(BinOp::FMul, y[i], a[i]);
                        self.bin(BinOp::FAdd, l, r)
                    })
                    .collect()
            }
            GLOp::SmoothStep => {
                let [e0, e1, x] = self.args3(arg(0)?, arg(1)?, arg(2)?)?;
                (0..x.len())
                    .map(|i| {
                        let num = self.bin(BinOp::FSub, x[i], e0[i]);
                        let den = self.bin(BinOp::FSub, e1[i], e0[i]);
                        let q = self.bin(BinOp::FDiv, num, den);
                        let (zero, one) = (self.kf(0.0), self.kf(1.0));
                        let lo = self.bin(BinOp::FMax, q, zero);
                        let t = self.bin(BinOp::FMin, lo, one);
                        let (two, three) = (self.kf(2.0), self.kf(3.0));
                        let tt = self.bin(BinOp::FMul, two, t);
                        let poly = self.bin(BinOp::FSub, three, tt);
                        let t2 = self.bin(BinOp::FMul, t, t);
                        self.bin(BinOp::FMul, t2, poly)
                    })
                    .collect()
            }
            GLOp::Fma => {
                let [a, b, c] = self.args3(arg(0)?, arg(1)?, arg(2)?)?;
                (0..a.len())
                    .map(|i| self.b.def(ScalarType::F32, IrOp::Fma(a[i], b[i], c[i])))
                    .collect()
            }
            GLOp::Length => {
                let (_, v) = self.data(arg(0)?)?;
                vec![self.length(&v)?]
            }
            GLOp::Distance => {
                let (a, b) = self.args2(arg(0)?, arg(1)?)?;
                let d: Vec<ValueId> = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| self.bin(BinOp::FSub, *x, *y))
                    .collect();
                vec![self.length(&d)?]
            }
            GLOp::Cross => {
                let (a, b) = self.args2(arg(0)?, arg(1)?)?;
                if a.len() != 3 {
                    return malformed("cross of non-3-component vectors");
                }
                (0..3)
                    .map(|i| {
                        let (j, k) = ((i + 1) % 3, (i + 2) % 3);
                        let p = self.bin(BinOp::FMul, a[j], b[k]);
                        let q = self.bin(BinOp::FMul, a[k], b[j]);
                        self.bin(BinOp::FSub, p, q)
                    })
                    .collect()
            }
            GLOp::Normalize => {
                let (_, v) = self.data(arg(0)?)?;
                let d = self.dot(&v, &v)?;
                let inv = self.un(UnOp::InverseSqrt, d);
                v.iter().map(|x| self.bin(BinOp::FMul, *x, inv)).collect()
            }
            GLOp::FaceForward => {
                let [n, i, nref] = self.args3(arg(0)?, arg(1)?, arg(2)?)?;
                let d = self.dot(&nref, &i)?;
                let zero = self.kf(0.0);
                let neg = self.cmp(CmpOp::FOLt, d, zero);
                n.iter()
                    .map(|x| {
                        let m = self.un(UnOp::FNeg, *x);
                        self.select(neg, *x, m)
                    })
                    .collect()
            }
            GLOp::Reflect => {
                let (i, n) = self.args2(arg(0)?, arg(1)?)?;
                let d = self.dot(&n, &i)?;
                let two = self.kf(2.0);
                let d2 = self.bin(BinOp::FMul, d, two);
                (0..i.len())
                    .map(|k| {
                        let s = self.bin(BinOp::FMul, d2, n[k]);
                        self.bin(BinOp::FSub, i[k], s)
                    })
                    .collect()
            }
            GLOp::Refract => {
                let (i, n) = self.args2(arg(0)?, arg(1)?)?;
                let eta = self.scalar(arg(2)?)?;
                let d = self.dot(&n, &i)?;
                let one = self.kf(1.0);
                let dd = self.bin(BinOp::FMul, d, d);
                let omd = self.bin(BinOp::FSub, one, dd);
                let ee = self.bin(BinOp::FMul, eta, eta);
                let t = self.bin(BinOp::FMul, ee, omd);
                let k = self.bin(BinOp::FSub, one, t);
                let zero = self.kf(0.0);
                let tir = self.cmp(CmpOp::FOLt, k, zero);
                let sk = self.un(UnOp::Sqrt, k);
                let ed = self.bin(BinOp::FMul, eta, d);
                let f = self.bin(BinOp::FAdd, ed, sk);
                (0..i.len())
                    .map(|c| {
                        let a = self.bin(BinOp::FMul, eta, i[c]);
                        let b = self.bin(BinOp::FMul, f, n[c]);
                        let r = self.bin(BinOp::FSub, a, b);
                        self.select(tir, zero, r)
                    })
                    .collect()
            }
            GLOp::Modf | GLOp::ModfStruct => {
                let (_, x) = self.data(arg(0)?)?;
                let whole: Vec<ValueId> = x.iter().map(|v| self.un(UnOp::Trunc, *v)).collect();
                let frac: Vec<ValueId> = x
                    .iter()
                    .zip(&whole)
                    .map(|(v, w)| self.bin(BinOp::FSub, *v, *w))
                    .collect();
                if g == GLOp::Modf {
                    let p = self.ptr(arg(1)?)?;
                    self.store(&p, &whole)?;
                    frac
                } else {
                    frac.into_iter().chain(whole).collect()
                }
            }
            GLOp::Frexp | GLOp::FrexpStruct => {
                let (_, x) = self.data(arg(0)?)?;
                let mut mants = Vec::with_capacity(x.len());
                let mut exps = Vec::with_capacity(x.len());
                for v in &x {
                    let (m, e) = self.frexp(*v);
                    mants.push(m);
                    exps.push(e);
                }
                if g == GLOp::Frexp {
                    let p = self.ptr(arg(1)?)?;
                    self.store(&p, &exps)?;
                    mants
                } else {
                    mants.into_iter().chain(exps).collect()
                }
            }
            GLOp::Ldexp => {
                let (x, e) = self.args2(arg(0)?, arg(1)?)?;
                x.iter().zip(&e).map(|(x, e)| self.ldexp(*x, *e)).collect()
            }
            GLOp::PackHalf2x16 => {
                let (_, v) = self.data(arg(0)?)?;
                let halves = v
                    .iter()
                    .map(|x| {
                        self.b
                            .def(ScalarType::I32, IrOp::Unary(UnOp::F32ToF16Bits, *x))
                    })
                    .collect::<Vec<_>>();
                vec![self.pack_fields(&halves, 16)?]
            }
            GLOp::UnpackHalf2x16 => {
                let p = self.scalar(arg(0)?)?;
                (0..2)
                    .map(|i| {
                        let sh = self.ki(ScalarType::I32, 16 * i);
                        let f = self.bin(BinOp::LShr, p, sh);
                        self.b
                            .def(ScalarType::F32, IrOp::Unary(UnOp::F16BitsToF32, f))
                    })
                    .collect()
            }
            GLOp::PackUnorm4x8 | GLOp::PackSnorm4x8 | GLOp::PackUnorm2x16 | GLOp::PackSnorm2x16 => {
                let (_, v) = self.data(arg(0)?)?;
                let signed = matches!(g, GLOp::PackSnorm4x8 | GLOp::PackSnorm2x16);
                let bits = if matches!(g, GLOp::PackUnorm4x8 | GLOp::PackSnorm4x8) {
                    8
                } else {
                    16
                };
                let scale = ((1u32 << (bits - u32::from(signed))) - 1) as f32;
                let fields = v
                    .iter()
                    .map(|x| {
                        let lo = self.kf(if signed { -1.0 } else { 0.0 });
                        let hi = self.kf(1.0);
                        let a = self.bin(BinOp::FMax, *x, lo);
                        let c = self.bin(BinOp::FMin, a, hi);
                        let k = self.kf(scale);
                        let s = self.bin(BinOp::FMul, c, k);
                        let r = self.un(UnOp::Round, s);
                        self.conv(
                            if signed { ConvOp::FToS } else { ConvOp::FToU },
                            ScalarType::I32,
                            r,
                        )
                    })
                    .collect::<Vec<_>>();
                vec![self.pack_fields(&fields, bits)?]
            }
            GLOp::UnpackUnorm4x8
            | GLOp::UnpackSnorm4x8
            | GLOp::UnpackUnorm2x16
            | GLOp::UnpackSnorm2x16 => {
                let p = self.scalar(arg(0)?)?;
                let signed = matches!(g, GLOp::UnpackSnorm4x8 | GLOp::UnpackSnorm2x16);
                let bits: u64 = if matches!(g, GLOp::UnpackUnorm4x8 | GLOp::UnpackSnorm4x8) {
                    8
                } else {
                    16
                };
                let scale = ((1u32 << (bits as u32 - u32::from(signed))) - 1) as f32;
                (0..32 / bits)
                    .map(|i| {
                        let f = if signed {
                            let up = self.ki(ScalarType::I32, 32 - bits * (i + 1));
                            let down = self.ki(ScalarType::I32, 32 - bits);
                            let t = self.bin(BinOp::Shl, p, up);
                            let s = self.bin(BinOp::AShr, t, down);
                            self.conv(ConvOp::SToF, ScalarType::F32, s)
                        } else {
                            let sh = self.ki(ScalarType::I32, bits * i);
                            let m = self.ki(ScalarType::I32, (1 << bits) - 1);
                            let t = self.bin(BinOp::LShr, p, sh);
                            let u = self.bin(BinOp::And, t, m);
                            self.conv(ConvOp::UToF, ScalarType::F32, u)
                        };
                        let k = self.kf(scale);
                        let q = self.bin(BinOp::FDiv, f, k);
                        if signed {
                            let lo = self.kf(-1.0);
                            self.bin(BinOp::FMax, q, lo)
                        } else {
                            q
                        }
                    })
                    .collect()
            }
            other => return Err(FrontError::UnsupportedGlslInstruction(format!("{other:?}"))),
        };
        self.bind_data(inst, out)
    }

    fn map1(&mut self, a: Id, f: impl Fn(&mut Self, ValueId) -> ValueId) -> Result<Vec<ValueId>> {
        let (_, a) = self.data(a)?;
        Ok(a.iter().map(|x| f(self, *x)).collect())
    }

    fn args2(&mut self, a: Id, b: Id) -> Result<(Vec<ValueId>, Vec<ValueId>)> {
        let (_, x) = self.data(a)?;
        let (_, y) = self.data(b)?;
        if x.len() != y.len() {
            return malformed("GLSL.std.450 operand shapes differ");
        }
        Ok((x, y))
    }

    fn args3(&mut self, a: Id, b: Id, c: Id) -> Result<[Vec<ValueId>; 3]> {
        let (x, y) = self.args2(a, b)?;
        let (_, z) = self.data(c)?;
        if z.len() != x.len() {
            return malformed("GLSL.std.450 operand shapes differ");
        }
        Ok([x, y, z])
    }

    /// min/max that returns the other operand when one is NaN (NMin, NMax).
    fn nan_aware(&mut self, op: BinOp, a: ValueId, b: ValueId) -> ValueId {
        let r = self.bin(op, a, b);
        let an = self.b.def(ScalarType::Bool, IrOp::Unary(UnOp::IsNan, a));
        let bn = self.b.def(ScalarType::Bool, IrOp::Unary(UnOp::IsNan, b));
        let r = self.select(an, b, r);
        self.select(bn, a, r)
    }

    /// `r` with the sign of `x` (r ≥ 0).
    fn copy_sign(&mut self, r: ValueId, x: ValueId) -> ValueId {
        let zero = self.kf(0.0);
        let neg = self.cmp(CmpOp::FOLt, x, zero);
        let m = self.un(UnOp::FNeg, r);
        self.select(neg, m, r)
    }

    fn length(&mut self, v: &[ValueId]) -> Result<ValueId> {
        if let [x] = v {
            return Ok(self.un(UnOp::FAbs, *x));
        }
        let d = self.dot(v, v)?;
        Ok(self.un(UnOp::Sqrt, d))
    }

    /// ORs `fields` (each in the low `bits` bits of an I32) into one I32, field 0 lowest.
    fn pack_fields(&mut self, fields: &[ValueId], bits: u32) -> Result<ValueId> {
        let mask = self.ki(ScalarType::I32, (1u64 << bits) - 1);
        let mut acc: Option<ValueId> = None;
        for (i, f) in fields.iter().enumerate() {
            let m = self.bin(BinOp::And, *f, mask);
            let sh = self.ki(ScalarType::I32, i as u64 * u64::from(bits));
            let moved = if i == 0 {
                m
            } else {
                self.bin(BinOp::Shl, m, sh)
            };
            acc = Some(match acc {
                None => moved,
                Some(a) => self.bin(BinOp::Or, a, moved),
            });
        }
        acc.ok_or_else(|| FrontError::Malformed("pack of an empty vector".into()))
    }

    /// (mantissa in [0.5, 1), exponent) with x = m · 2^e; zero gives (x, 0).
    fn frexp(&mut self, x: ValueId) -> (ValueId, ValueId) {
        let i32t = ScalarType::I32;
        let bits = self.conv(ConvOp::Bitcast, i32t, x);
        let abs_mask = self.ki(i32t, 0x7fff_ffff);
        let mag = self.bin(BinOp::And, bits, abs_mask);
        let zero_i = self.ki(i32t, 0);
        let is_zero = self.cmp(CmpOp::Eq, mag, zero_i);
        let min_normal = self.ki(i32t, 0x0080_0000);
        let denorm = self.cmp(CmpOp::ULt, mag, min_normal);
        // Denormals: scale by 2^32 first, then correct the exponent.
        let scale = self.kf(4_294_967_296.0);
        let scaled = self.bin(BinOp::FMul, x, scale);
        let xs = self.select(denorm, scaled, x);
        let bits2 = self.conv(ConvOp::Bitcast, i32t, xs);
        let (k23, kff) = (self.ki(i32t, 23), self.ki(i32t, 0xff));
        let sh = self.bin(BinOp::LShr, bits2, k23);
        let field = self.bin(BinOp::And, sh, kff);
        let k126 = self.ki(i32t, 126);
        let e = self.bin(BinOp::ISub, field, k126);
        let (k32, k0) = (self.ki(i32t, 32), self.ki(i32t, 0));
        let adj = self.select(denorm, k32, k0);
        let e = self.bin(BinOp::ISub, e, adj);
        let keep = self.ki(i32t, 0x807f_ffff);
        let half_exp = self.ki(i32t, 0x3f00_0000);
        let m = self.bin(BinOp::And, bits2, keep);
        let m = self.bin(BinOp::Or, m, half_exp);
        let m = self.conv(ConvOp::Bitcast, ScalarType::F32, m);
        let m = self.select(is_zero, x, m);
        let e = self.select(is_zero, zero_i, e);
        (m, e)
    }

    /// x · 2^e, as two exact power-of-two multiplications.
    fn ldexp(&mut self, x: ValueId, e: ValueId) -> ValueId {
        let i32t = ScalarType::I32;
        let e = self.int_to(e, i32t, true);
        let (hi, lo) = (self.ki(i32t, 254), self.ki(i32t, (-252i64) as u64));
        let e = self.bin(BinOp::SMin, e, hi);
        let e = self.bin(BinOp::SMax, e, lo);
        let one = self.ki(i32t, 1);
        let e1 = self.bin(BinOp::AShr, e, one);
        let e2 = self.bin(BinOp::ISub, e, e1);
        let (bias, k23) = (self.ki(i32t, 127), self.ki(i32t, 23));
        let mut r = x;
        for part in [e1, e2] {
            let biased = self.bin(BinOp::IAdd, part, bias);
            let b = self.bin(BinOp::Shl, biased, k23);
            let f = self.conv(ConvOp::Bitcast, ScalarType::F32, b);
            r = self.bin(BinOp::FMul, r, f);
        }
        r
    }
}
