//! Value operations: constants, arithmetic, comparisons, conversions, builtins.
//! Uniform operands stay scalar; a varying operand makes the result a `<W x T>` vector.
//! Integer values of the form `base + lane * stride` keep that form (`Val::affine`) so that
//! memory accesses can become plain vector loads and stores.

use inkwell::values::{BasicValueEnum, InstructionOpcode as I, IntValue};
use inkwell::{FloatPredicate as FP, IntPredicate as IP};
use shader::ir::{BinOp, Builtin, CmpOp, ConvOp, Op, ScalarType, UnOp, ValueId};

use super::analysis::Shape;
use super::emit::{Val, R};
use super::kernel::Gen;
use super::CodegenError;

impl<'ctx> Gen<'ctx, '_> {
    /// Both operands at a common shape: scalars if both uniform, else vectors.
    fn pair(
        &self,
        a: &Val<'ctx>,
        b: &Val<'ctx>,
    ) -> R<(BasicValueEnum<'ctx>, BasicValueEnum<'ctx>, bool)> {
        if a.uniform && b.uniform {
            Ok((a.v, b.v, true))
        } else {
            Ok((self.wide(a)?, self.wide(b)?, false))
        }
    }

    fn mk(&self, v: BasicValueEnum<'ctx>, uniform: bool) -> Val<'ctx> {
        Val {
            v,
            uniform,
            affine: None,
        }
    }

    fn const_of(&self, v: &Val<'ctx>) -> Option<i64> {
        if !v.uniform {
            return None;
        }
        match v.v {
            BasicValueEnum::IntValue(i) => i.get_sign_extended_constant(),
            _ => None,
        }
    }

    pub fn lower_op(&mut self, op: &Op, t: ScalarType) -> R<Val<'ctx>> {
        match op {
            Op::Const(c) => Ok(Val::uni(self.konst(t, c.0, false))),
            Op::Undef => Ok(Val::uni(self.konst(t, 0, false))),
            Op::Unary(u, a) => {
                let a = self.val(*a)?;
                self.unary(*u, &a, t)
            }
            Op::Binary(o, a, b) => {
                let (at, a, b) = (self.vtype(*a)?, self.val(*a)?, self.val(*b)?);
                self.binary(*o, &a, &b, at)
            }
            Op::Fma(a, b, c) => {
                let (a, b, c) = (self.val(*a)?, self.val(*b)?, self.val(*c)?);
                let uni = a.uniform && b.uniform && c.uniform;
                let (a, b, c) = if uni {
                    (a.v, b.v, c.v)
                } else {
                    (self.wide(&a)?, self.wide(&b)?, self.wide(&c)?)
                };
                let r = self.intr("llvm.fma", &[a.get_type()], &[a, b, c])?;
                Ok(self.mk(r, uni))
            }
            Op::Cmp(c, a, b) => {
                let at = self.vtype(*a)?;
                let (a, b) = (self.val(*a)?, self.val(*b)?);
                let (x, y, uni) = self.pair(&a, &b)?;
                let r = self.compare(*c, x, y, at)?;
                Ok(self.mk(r, uni))
            }
            Op::Select(c, a, b) => {
                let (c, a, b) = (self.val(*c)?, self.val(*a)?, self.val(*b)?);
                if c.uniform {
                    let (x, y, uni) = self.pair(&a, &b)?;
                    Ok(self.mk(self.select(c.v, x, y)?, uni))
                } else {
                    let r = self.select(c.v, self.wide(&a)?, self.wide(&b)?)?;
                    Ok(self.mk(r, false))
                }
            }
            Op::Convert(c, a) => {
                let from = self.vtype(*a)?;
                let a = self.val(*a)?;
                self.convert(*c, &a, from, t)
            }
            Op::Builtin(b) => self.builtin(*b),
            Op::Load(mem) => self.lower_load(mem, t),
            Op::Atomic {
                op,
                mem,
                value,
                comparator,
            } => self.lower_atomic(*op, mem, *value, *comparator, t),
            Op::GetVar(var) => {
                let i = var.0 as usize;
                let slot = *self
                    .var_slots
                    .get(i)
                    .ok_or_else(|| CodegenError::Missing(format!("{var:?}")))?;
                let uni = self.an.var_uniform.get(i).copied().unwrap_or(false);
                let ty = if uni { self.sty(t) } else { self.vty(t).into() };
                let v = self.b.build_load(ty, slot, "")?;
                Ok(self.mk(v, uni))
            }
            Op::Subgroup(sg) => self.lower_subgroup(sg, t),
            Op::BufferLength(i) => {
                let len = *self
                    .buf_len
                    .get(*i as usize)
                    .ok_or_else(|| CodegenError::Missing(format!("buffer slot {i}")))?;
                Ok(Val::uni(len.into()))
            }
            Op::Input(i) => self.lower_input(*i, t),
            Op::IsHelperInvocation => self.is_helper(),
            Op::Derivative { axis, fine, value } => self.lower_derivative(*axis, *fine, *value),
        }
    }

    fn compare(
        &self,
        c: CmpOp,
        x: BasicValueEnum<'ctx>,
        y: BasicValueEnum<'ctx>,
        at: ScalarType,
    ) -> R<BasicValueEnum<'ctx>> {
        let ip = |p| self.icmp(p, x, y);
        let fp = |p| self.fcmp(p, x, y);
        match c {
            CmpOp::Eq if at.is_float() => fp(FP::OEQ),
            CmpOp::Ne if at.is_float() => fp(FP::UNE),
            CmpOp::Eq => ip(IP::EQ),
            CmpOp::Ne => ip(IP::NE),
            CmpOp::ULt => ip(IP::ULT),
            CmpOp::ULe => ip(IP::ULE),
            CmpOp::UGt => ip(IP::UGT),
            CmpOp::UGe => ip(IP::UGE),
            CmpOp::SLt => ip(IP::SLT),
            CmpOp::SLe => ip(IP::SLE),
            CmpOp::SGt => ip(IP::SGT),
            CmpOp::SGe => ip(IP::SGE),
            CmpOp::FOEq => fp(FP::OEQ),
            CmpOp::FONe => fp(FP::ONE),
            CmpOp::FOLt => fp(FP::OLT),
            CmpOp::FOLe => fp(FP::OLE),
            CmpOp::FOGt => fp(FP::OGT),
            CmpOp::FOGe => fp(FP::OGE),
            CmpOp::FUEq => fp(FP::UEQ),
            CmpOp::FUNe => fp(FP::UNE),
            CmpOp::FULt => fp(FP::ULT),
            CmpOp::FULe => fp(FP::ULE),
            CmpOp::FUGt => fp(FP::UGT),
            CmpOp::FUGe => fp(FP::UGE),
        }
    }

    fn unary(&mut self, u: UnOp, a: &Val<'ctx>, t: ScalarType) -> R<Val<'ctx>> {
        let uni = a.uniform;
        let x = a.v;
        let vec = !uni;
        let ty = x.get_type();
        let r: BasicValueEnum<'ctx> = match u {
            UnOp::INeg => {
                let r = self.bin(I::Sub, self.konst(t, 0, vec), x)?;
                let aff = a
                    .affine
                    .map(|(b, s)| -> R<(IntValue<'ctx>, i64)> {
                        Ok((self.b.build_int_neg(b, "")?, -s))
                    })
                    .transpose()?;
                return Ok(Val {
                    v: r,
                    uniform: uni,
                    affine: aff,
                });
            }
            UnOp::FNeg => self.bin(I::FSub, self.fconst(-0.0, vec), x)?,
            UnOp::Not => self.bin(I::Xor, x, self.konst(t, u64::MAX, vec))?,
            UnOp::IAbs => self.intr(
                "llvm.abs",
                &[ty],
                &[x, self.cx.bool_type().const_zero().into()],
            )?,
            UnOp::FAbs => self.intr("llvm.fabs", &[ty], &[x])?,
            UnOp::BitCount => self.intr("llvm.ctpop", &[ty], &[x])?,
            UnOp::BitReverse => self.intr("llvm.bitreverse", &[ty], &[x])?,
            UnOp::FindLsb => {
                let tz = self.intr(
                    "llvm.cttz",
                    &[ty],
                    &[x, self.cx.bool_type().const_zero().into()],
                )?;
                let z = self.icmp(IP::EQ, x, self.konst(t, 0, vec))?;
                self.select(z, self.konst(t, u64::MAX, vec), tz)?
            }
            UnOp::FindUMsb => self.find_umsb(x, t, vec)?,
            UnOp::FindSMsb => {
                let neg = self.icmp(IP::SLT, x, self.konst(t, 0, vec))?;
                let inv = self.bin(I::Xor, x, self.konst(t, u64::MAX, vec))?;
                let y = self.select(neg, inv, x)?;
                self.find_umsb(y, t, vec)?
            }
            UnOp::Sqrt => self.intr("llvm.sqrt", &[ty], &[x])?,
            UnOp::InverseSqrt => {
                let s = self.intr("llvm.sqrt", &[ty], &[x])?;
                self.bin(I::FDiv, self.fconst(1.0, vec), s)?
            }
            UnOp::Floor => self.intr("llvm.floor", &[ty], &[x])?,
            UnOp::Ceil => self.intr("llvm.ceil", &[ty], &[x])?,
            UnOp::Trunc => self.intr("llvm.trunc", &[ty], &[x])?,
            UnOp::RoundEven => self.intr("llvm.roundeven", &[ty], &[x])?,
            UnOp::Round => {
                // Half away from zero: trunc(x + copysign(0.5 - ulp/2, x)) is exact.
                let h = self.intr("llvm.copysign", &[ty], &[self.fconst(0.49999997, vec), x])?;
                let s = self.bin(I::FAdd, x, h)?;
                self.intr("llvm.trunc", &[ty], &[s])?
            }
            UnOp::Fract => {
                let f = self.intr("llvm.floor", &[ty], &[x])?;
                let d = self.bin(I::FSub, x, f)?;
                self.intr("llvm.minnum", &[ty], &[d, self.fconst(0.99999994, vec)])?
            }
            UnOp::Exp2 => self.exp2(x)?,
            UnOp::Log2 => self.log2(x)?,
            UnOp::Exp => {
                let y = self.bin(I::FMul, x, self.fconst(std::f32::consts::LOG2_E, vec))?;
                self.exp2(y)?
            }
            UnOp::Log => self.ln(x)?,
            UnOp::Sin => self.sin_cos(x, false)?,
            UnOp::Cos => self.sin_cos(x, true)?,
            UnOp::Tan => {
                let s = self.sin_cos(x, false)?;
                let c = self.sin_cos(x, true)?;
                self.bin(I::FDiv, s, c)?
            }
            UnOp::Asin | UnOp::Acos => {
                let one = self.fconst(1.0, vec);
                let a1 = self.bin(I::FSub, one, x)?;
                let a2 = self.bin(I::FAdd, one, x)?;
                let p = self.bin(I::FMul, a1, a2)?;
                let c = self.intr("llvm.sqrt", &[ty], &[p])?;
                if u == UnOp::Asin {
                    self.atan2(x, c)?
                } else {
                    self.atan2(c, x)?
                }
            }
            UnOp::Atan => self.atan(x)?,
            UnOp::F32ToF16Bits => {
                let h = self.cast(I::FPTrunc, x, self.cx.f16_type().into())?;
                let hb = self.cast(I::BitCast, h, self.cx.i16_type().into())?;
                self.cast(I::ZExt, hb, self.cx.i32_type().into())?
            }
            UnOp::F16BitsToF32 => {
                let hb = self.cast(I::Trunc, x, self.cx.i16_type().into())?;
                let h = self.cast(I::BitCast, hb, self.cx.f16_type().into())?;
                self.cast(I::FPExt, h, self.cx.f32_type().into())?
            }
            UnOp::IsNan => self.fcmp(FP::UNO, x, x)?,
            UnOp::IsInf => {
                let ab = self.intr("llvm.fabs", &[ty], &[x])?;
                self.fcmp(FP::OEQ, ab, self.fconst(f32::INFINITY, vec))?
            }
        };
        Ok(self.mk(r, uni))
    }

    fn find_umsb(
        &self,
        x: BasicValueEnum<'ctx>,
        t: ScalarType,
        vec: bool,
    ) -> R<BasicValueEnum<'ctx>> {
        // bits-1 - ctlz(x); ctlz(0) = bits gives -1 as required.
        let lz = self.intr(
            "llvm.ctlz",
            &[x.get_type()],
            &[x, self.cx.bool_type().const_zero().into()],
        )?;
        self.bin(I::Sub, self.konst(t, u64::from(t.bits() - 1), vec), lz)
    }

    fn binary(&mut self, o: BinOp, a: &Val<'ctx>, b: &Val<'ctx>, t: ScalarType) -> R<Val<'ctx>> {
        let (x, y, uni) = self.pair(a, b)?;
        let vec = !uni;
        let ty = x.get_type();
        let zero = self.konst(t, 0, vec);
        let one = self.konst(t, 1, vec);
        let r = match o {
            BinOp::IAdd | BinOp::ISub | BinOp::IMul | BinOp::Shl => {
                return self.int_affine_op(o, a, b, x, y, uni, t)
            }
            BinOp::And => self.bin(I::And, x, y)?,
            BinOp::Or => self.bin(I::Or, x, y)?,
            BinOp::Xor => self.bin(I::Xor, x, y)?,
            BinOp::UDiv | BinOp::UMod => {
                let z = self.icmp(IP::EQ, y, zero)?;
                let d = self.select(z, one, y)?;
                let r = self.bin(if o == BinOp::UDiv { I::UDiv } else { I::URem }, x, d)?;
                self.select(z, zero, r)?
            }
            BinOp::SDiv | BinOp::SRem | BinOp::SMod => {
                let min = self.konst(t, 1u64 << (t.bits() - 1), vec);
                let z = self.icmp(IP::EQ, y, zero)?;
                let xm = self.icmp(IP::EQ, x, min)?;
                let ym = self.icmp(IP::EQ, y, self.konst(t, u64::MAX, vec))?;
                let ov = self.bin(I::And, xm, ym)?;
                let bad = self.bin(I::Or, z, ov)?;
                let d = self.select(bad, one, y)?;
                if o == BinOp::SDiv {
                    let q = self.bin(I::SDiv, x, d)?;
                    self.select(z, zero, q)?
                } else {
                    let r = self.bin(I::SRem, x, d)?;
                    let r = self.select(z, zero, r)?;
                    if o == BinOp::SRem {
                        r
                    } else {
                        // Sign of the divisor: adjust when r != 0 and signs differ.
                        let nz = self.icmp(IP::NE, r, zero)?;
                        let sx = self.bin(I::Xor, r, y)?;
                        let diff = self.icmp(IP::SLT, sx, zero)?;
                        let fix = self.bin(I::And, nz, diff)?;
                        let ry = self.bin(I::Add, r, y)?;
                        self.select(fix, ry, r)?
                    }
                }
            }
            BinOp::LShr | BinOp::AShr => {
                let m = self.bin(I::And, y, self.konst(t, u64::from(t.bits() - 1), vec))?;
                self.bin(if o == BinOp::LShr { I::LShr } else { I::AShr }, x, m)?
            }
            BinOp::SMin => self.intr("llvm.smin", &[ty], &[x, y])?,
            BinOp::SMax => self.intr("llvm.smax", &[ty], &[x, y])?,
            BinOp::UMin => self.intr("llvm.umin", &[ty], &[x, y])?,
            BinOp::UMax => self.intr("llvm.umax", &[ty], &[x, y])?,
            BinOp::FAdd => self.bin(I::FAdd, x, y)?,
            BinOp::FSub => self.bin(I::FSub, x, y)?,
            BinOp::FMul => self.bin(I::FMul, x, y)?,
            BinOp::FDiv => self.bin(I::FDiv, x, y)?,
            BinOp::FRem | BinOp::FMod => {
                let q = self.bin(I::FDiv, x, y)?;
                let name = if o == BinOp::FRem {
                    "llvm.trunc"
                } else {
                    "llvm.floor"
                };
                let q = self.intr(name, &[ty], &[q])?;
                let p = self.bin(I::FMul, y, q)?;
                self.bin(I::FSub, x, p)?
            }
            BinOp::FMin => self.intr("llvm.minnum", &[ty], &[x, y])?,
            BinOp::FMax => self.intr("llvm.maxnum", &[ty], &[x, y])?,
            BinOp::Pow => self.pow(x, y)?,
            BinOp::Atan2 => self.atan2(x, y)?,
            BinOp::UMulHi | BinOp::SMulHi => {
                let wide = self.int_ty(t.bits() * 2);
                let ext = if o == BinOp::UMulHi { I::ZExt } else { I::SExt };
                let xw = self.cast(ext, x, wide.into())?;
                let yw = self.cast(ext, y, wide.into())?;
                let p = self.bin(I::Mul, xw, yw)?;
                let sh = if vec {
                    self.splat(wide.const_int(u64::from(t.bits()), false).into())?
                } else {
                    wide.const_int(u64::from(t.bits()), false).into()
                };
                let hi = self.bin(I::LShr, p, sh)?;
                self.cast(I::Trunc, hi, self.sty(t))?
            }
        };
        Ok(self.mk(r, uni))
    }

    #[allow(clippy::too_many_arguments)]
    fn int_affine_op(
        &self,
        o: BinOp,
        a: &Val<'ctx>,
        b: &Val<'ctx>,
        x: BasicValueEnum<'ctx>,
        y: BasicValueEnum<'ctx>,
        uni: bool,
        t: ScalarType,
    ) -> R<Val<'ctx>> {
        let y = if o == BinOp::Shl {
            self.bin(I::And, y, self.konst(t, u64::from(t.bits() - 1), !uni))?
        } else {
            y
        };
        let opc = match o {
            BinOp::IAdd => I::Add,
            BinOp::ISub => I::Sub,
            BinOp::IMul => I::Mul,
            _ => I::Shl,
        };
        let r = self.bin(opc, x, y)?;
        let mut affine = None;
        if !uni {
            // Track base + lane * stride through add / sub / mul-by-constant / shl-by-constant.
            let base = |v: &Val<'ctx>| -> Option<(IntValue<'ctx>, i64)> {
                if v.uniform {
                    v.v.is_int_value().then(|| (v.v.into_int_value(), 0))
                } else {
                    v.affine
                }
            };
            if let (Some((ba, sa)), Some((bb, sb))) = (base(a), base(b)) {
                affine = match o {
                    BinOp::IAdd => Some((self.b.build_int_add(ba, bb, "")?, sa.wrapping_add(sb))),
                    BinOp::ISub => Some((self.b.build_int_sub(ba, bb, "")?, sa.wrapping_sub(sb))),
                    BinOp::IMul if sb == 0 => self
                        .const_of(b)
                        .map(|c| -> R<_> {
                            Ok((self.b.build_int_mul(ba, bb, "")?, sa.wrapping_mul(c)))
                        })
                        .transpose()?,
                    BinOp::IMul if sa == 0 => self
                        .const_of(a)
                        .map(|c| -> R<_> {
                            Ok((self.b.build_int_mul(ba, bb, "")?, sb.wrapping_mul(c)))
                        })
                        .transpose()?,
                    BinOp::Shl if sb == 0 => self
                        .const_of(b)
                        .filter(|c| (0..32).contains(c))
                        .map(|c| -> R<_> {
                            let sh = ba.get_type().const_int(c as u64, false);
                            Ok((
                                self.b.build_left_shift(ba, sh, "")?,
                                sa.wrapping_shl(c as u32),
                            ))
                        })
                        .transpose()?,
                    _ => None,
                };
            }
        }
        Ok(Val {
            v: r,
            uniform: uni,
            affine,
        })
    }

    fn convert(
        &mut self,
        c: ConvOp,
        a: &Val<'ctx>,
        from: ScalarType,
        to: ScalarType,
    ) -> R<Val<'ctx>> {
        let x = a.v;
        let uni = a.uniform;
        let tt = self.sty(to);
        let r = match c {
            ConvOp::ZextOrTrunc | ConvOp::SextOrTrunc => {
                let (fb, tb) = (from.bits(), to.bits());
                let signed = c == ConvOp::SextOrTrunc;
                let op = if tb > fb {
                    if signed {
                        I::SExt
                    } else {
                        I::ZExt
                    }
                } else if tb < fb {
                    I::Trunc
                } else {
                    return Ok(*a);
                };
                let r = self.cast(op, x, tt)?;
                let affine = match (a.affine, op) {
                    (Some((b, s)), I::SExt | I::ZExt) => {
                        let bt =
                            self.b
                                .build_int_cast_sign_flag(b, tt.into_int_type(), signed, "")?;
                        Some((bt, s))
                    }
                    _ => None,
                };
                return Ok(Val {
                    v: r,
                    uniform: uni,
                    affine,
                });
            }
            ConvOp::FToS => self.intr(
                "llvm.fptosi.sat",
                &[self.shape_ty(tt, uni), x.get_type()],
                &[x],
            )?,
            ConvOp::FToU => self.intr(
                "llvm.fptoui.sat",
                &[self.shape_ty(tt, uni), x.get_type()],
                &[x],
            )?,
            ConvOp::SToF => self.cast(I::SIToFP, x, tt)?,
            ConvOp::UToF => self.cast(I::UIToFP, x, tt)?,
            ConvOp::Bitcast => {
                if from.bits() != to.bits() {
                    return Err(CodegenError::Unsupported(format!(
                        "bitcast {from:?} -> {to:?}"
                    )));
                }
                if from == to {
                    return Ok(*a);
                }
                self.cast(I::BitCast, x, tt)?
            }
        };
        Ok(self.mk(r, uni))
    }

    fn shape_ty(
        &self,
        t: inkwell::types::BasicTypeEnum<'ctx>,
        uni: bool,
    ) -> inkwell::types::BasicTypeEnum<'ctx> {
        if uni {
            t
        } else {
            self.vec_of_type(t).into()
        }
    }

    /// `g * W + lane` as an i32 vector, and its scalar base.
    fn local_index(&self) -> R<(IntValue<'ctx>, BasicValueEnum<'ctx>)> {
        let base = self
            .b
            .build_int_mul(self.group, self.i32c(u64::from(self.w)), "")?;
        let v = self.b.build_int_add(
            self.splat(base.into())?.into_vector_value(),
            self.iota(),
            "",
        )?;
        Ok((base, v.into()))
    }

    fn local_id_component(&self, c: u8, index: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        let [sx, sy, _] = self.ir.workgroup_size;
        let (sx, sy) = (u64::from(sx.max(1)), u64::from(sy.max(1)));
        Ok(match c {
            0 => self
                .b
                .build_int_unsigned_rem(index, index.get_type().const_int(sx, false), "")?,
            1 => {
                let q = self.b.build_int_unsigned_div(
                    index,
                    index.get_type().const_int(sx, false),
                    "",
                )?;
                self.b
                    .build_int_unsigned_rem(q, index.get_type().const_int(sy, false), "")?
            }
            _ => self.b.build_int_unsigned_div(
                index,
                index.get_type().const_int(sx * sy, false),
                "",
            )?,
        })
    }

    fn local_id_vec(&self, c: u8) -> R<Val<'ctx>> {
        let (base, idx) = self.local_index()?;
        let c = c.min(2);
        match self.an.local_id_shape[c as usize] {
            Shape::Uniform => Ok(Val::uni(self.local_id_component(c, base)?.into())),
            Shape::AffineUnit => {
                let b0 = self.local_id_component(c, base)?;
                let v = self.b.build_int_add(
                    self.splat(b0.into())?.into_vector_value(),
                    self.iota(),
                    "",
                )?;
                Ok(Val {
                    v: v.into(),
                    uniform: false,
                    affine: Some((b0, 1)),
                })
            }
            Shape::Varying => {
                let iv = idx.into_vector_value();
                let [sx, sy, _] = self.ir.workgroup_size;
                let (sx, sy) = (u64::from(sx.max(1)), u64::from(sy.max(1)));
                let k = |x: u64| -> R<inkwell::values::VectorValue<'ctx>> {
                    Ok(self.splat(self.i32c(x).into())?.into_vector_value())
                };
                let v = match c {
                    0 => self.b.build_int_unsigned_rem(iv, k(sx)?, "")?,
                    1 => {
                        let q = self.b.build_int_unsigned_div(iv, k(sx)?, "")?;
                        self.b.build_int_unsigned_rem(q, k(sy)?, "")?
                    }
                    _ => self.b.build_int_unsigned_div(iv, k(sx * sy)?, "")?,
                };
                Ok(Val::vary(v.into()))
            }
        }
    }

    fn builtin(&mut self, b: Builtin) -> R<Val<'ctx>> {
        let i32t = self.cx.i32_type();
        Ok(match b {
            Builtin::WorkgroupId(c) => Val::uni(self.wg_id[usize::from(c.min(2))].into()),
            Builtin::NumWorkgroups(c) => Val::uni(self.num_wg[usize::from(c.min(2))].into()),
            Builtin::SubgroupSize => Val::uni(i32t.const_int(u64::from(self.w), false).into()),
            Builtin::NumSubgroups => Val::uni(i32t.const_int(u64::from(self.groups), false).into()),
            Builtin::SubgroupId => Val::uni(self.group.into()),
            Builtin::SubgroupLocalInvocationId => Val {
                v: self.iota().into(),
                uniform: false,
                affine: Some((i32t.const_zero(), 1)),
            },
            Builtin::LocalInvocationIndex => {
                let (base, v) = self.local_index()?;
                Val {
                    v,
                    uniform: false,
                    affine: Some((base, 1)),
                }
            }
            Builtin::LocalInvocationId(c) => self.local_id_vec(c)?,
            Builtin::GlobalInvocationId(c) => {
                let c = c.min(2);
                let size = i32t.const_int(u64::from(self.ir.workgroup_size[usize::from(c)]), false);
                let wg = self.b.build_int_mul(self.wg_id[usize::from(c)], size, "")?;
                let l = self.local_id_vec(c)?;
                if l.uniform {
                    Val::uni(self.b.build_int_add(wg, l.v.into_int_value(), "")?.into())
                } else {
                    let v = self.b.build_int_add(
                        self.splat(wg.into())?.into_vector_value(),
                        l.v.into_vector_value(),
                        "",
                    )?;
                    let affine = l
                        .affine
                        .map(|(b0, s)| -> R<_> { Ok((self.b.build_int_add(wg, b0, "")?, s)) })
                        .transpose()?;
                    Val {
                        v: v.into(),
                        uniform: false,
                        affine,
                    }
                }
            }
            other => return self.graphics_builtin(other),
        })
    }

    #[allow(dead_code)]
    pub fn value_type(&self, v: ValueId) -> R<ScalarType> {
        self.vtype(v)
    }
}
