//! Subgroup operations: a subgroup is the W lanes of one SIMD group, and these operate on its
//! active lanes (the current execution mask).

use inkwell::values::{BasicValueEnum, InstructionOpcode as I, IntValue, VectorValue};
use inkwell::IntPredicate as IP;
use shader::ir::{GroupOp, ScalarType, ScanKind, SubgroupOp};

use super::emit::{Val, R};
use super::kernel::Gen;

impl<'ctx> Gen<'ctx, '_> {
    /// Index of the lowest active lane (i32).
    pub(super) fn first_lane(&self, m: VectorValue<'ctx>) -> R<IntValue<'ctx>> {
        let bits = self.mask_bits(m)?;
        let tz = self.intr(
            "llvm.cttz",
            &[bits.get_type().into()],
            &[bits.into(), self.cx.bool_type().const_int(0, false).into()],
        )?;
        let tz =
            self.b
                .build_int_z_extend_or_bit_cast(tz.into_int_value(), self.cx.i32_type(), "")?;
        // An empty mask gives W; clamp so that extracts stay in range.
        let w1 = self.i32c(u64::from(self.w - 1));
        Ok(self.b.build_and(tz, w1, "")?)
    }

    fn identity(&self, op: GroupOp, t: ScalarType) -> BasicValueEnum<'ctx> {
        let bits = t.bits();
        let all = if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        let smax = all >> 1;
        match op {
            GroupOp::IAdd | GroupOp::Or | GroupOp::Xor | GroupOp::UMax => self.konst(t, 0, true),
            GroupOp::FAdd => self.fconst(0.0, true),
            GroupOp::IMul => self.konst(t, 1, true),
            GroupOp::FMul => self.fconst(1.0, true),
            GroupOp::And | GroupOp::UMin => self.konst(t, all, true),
            GroupOp::SMin => self.konst(t, smax, true),
            GroupOp::SMax => self.konst(t, smax + 1, true),
            GroupOp::FMin => self.fconst(f32::INFINITY, true),
            GroupOp::FMax => self.fconst(f32::NEG_INFINITY, true),
        }
    }

    fn combine(
        &self,
        op: GroupOp,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        let ty = a.get_type();
        match op {
            GroupOp::IAdd => self.bin(I::Add, a, b),
            GroupOp::FAdd => self.bin(I::FAdd, a, b),
            GroupOp::IMul => self.bin(I::Mul, a, b),
            GroupOp::FMul => self.bin(I::FMul, a, b),
            GroupOp::And => self.bin(I::And, a, b),
            GroupOp::Or => self.bin(I::Or, a, b),
            GroupOp::Xor => self.bin(I::Xor, a, b),
            GroupOp::SMin => self.intr("llvm.smin", &[ty], &[a, b]),
            GroupOp::SMax => self.intr("llvm.smax", &[ty], &[a, b]),
            GroupOp::UMin => self.intr("llvm.umin", &[ty], &[a, b]),
            GroupOp::UMax => self.intr("llvm.umax", &[ty], &[a, b]),
            GroupOp::FMin => self.intr("llvm.minnum", &[ty], &[a, b]),
            GroupOp::FMax => self.intr("llvm.maxnum", &[ty], &[a, b]),
        }
    }

    /// Lanes shifted up by `k` (lane i gets lane i - k), identity shifted in.
    fn shift_up(
        &self,
        v: VectorValue<'ctx>,
        id: VectorValue<'ctx>,
        k: u32,
    ) -> R<VectorValue<'ctx>> {
        let i32t = self.cx.i32_type();
        let idx: Vec<IntValue> = (0..self.w)
            .map(|i| {
                if i >= k {
                    i32t.const_int(u64::from(i - k), false)
                } else {
                    i32t.const_int(u64::from(self.w + i), false)
                }
            })
            .collect();
        let mask = inkwell::types::VectorType::const_vector(&idx);
        Ok(self.b.build_shuffle_vector(v, id, mask, "")?)
    }

    pub fn lower_subgroup(&mut self, sg: &SubgroupOp, t: ScalarType) -> R<Val<'ctx>> {
        let m = self.mask()?;
        match *sg {
            SubgroupOp::Elect => {
                let f = self.first_lane(m)?;
                let fv = self.splat(f.into())?.into_vector_value();
                let eq = self.b.build_int_compare(IP::EQ, self.iota(), fv, "")?;
                Ok(Val::vary(self.b.build_and(eq, m, "")?.into()))
            }
            SubgroupOp::All(v) | SubgroupOp::Any(v) => {
                let x = self.val(v)?;
                let xv = self.wide(&x)?.into_vector_value();
                let r = if matches!(sg, SubgroupOp::All(_)) {
                    let nx = self.b.build_not(xv, "")?;
                    let bad = self.b.build_and(nx, m, "")?;
                    let any = self.any(bad)?;
                    self.b.build_not(any, "")?
                } else {
                    let good = self.b.build_and(xv, m, "")?;
                    self.any(good)?
                };
                Ok(Val::uni(r.into()))
            }
            SubgroupOp::AllEqual(v) => {
                let vt = self.vtype(v)?;
                let x = self.val(v)?;
                let xv = self.wide(&x)?.into_vector_value();
                let f = self.first_lane(m)?;
                let first = self.b.build_extract_element(xv, f, "")?;
                let fv = self.splat(first)?;
                let eq = if vt.is_float() {
                    self.fcmp(inkwell::FloatPredicate::OEQ, xv.into(), fv)?
                } else {
                    self.icmp(IP::EQ, xv.into(), fv)?
                };
                let ne = self.b.build_not(eq.into_vector_value(), "")?;
                let bad = self.b.build_and(ne, m, "")?;
                let any = self.any(bad)?;
                Ok(Val::uni(self.b.build_not(any, "")?.into()))
            }
            SubgroupOp::Ballot(v) => {
                let x = self.val(v)?;
                let xv = self.wide(&x)?.into_vector_value();
                let on = self.b.build_and(xv, m, "")?;
                let bits = self.mask_bits(on)?;
                Ok(Val::uni(
                    self.b
                        .build_int_z_extend_or_bit_cast(bits, self.cx.i32_type(), "")?
                        .into(),
                ))
            }
            SubgroupOp::BroadcastFirst(v) => {
                let x = self.val(v)?;
                if x.uniform {
                    return Ok(Val::uni(x.v));
                }
                let f = self.first_lane(m)?;
                Ok(Val::uni(self.b.build_extract_element(
                    x.v.into_vector_value(),
                    f,
                    "",
                )?))
            }
            SubgroupOp::Shuffle { value, index } => {
                let x = self.val(value)?;
                let i = self.val(index)?;
                if x.uniform {
                    return Ok(Val::uni(x.v));
                }
                let w1 = u64::from(self.w - 1);
                if i.uniform {
                    let iv = self.b.build_and(i.v.into_int_value(), self.i32c(w1), "")?;
                    return Ok(Val::uni(self.b.build_extract_element(
                        x.v.into_vector_value(),
                        iv,
                        "",
                    )?));
                }
                // Spill the vector and gather lanes from it.
                let vt = self.vty(t);
                let slot = self.alloca(vt.into())?;
                self.b.build_store(slot, x.v)?;
                let idx = self.b.build_and(
                    i.v.into_vector_value(),
                    self.splat(self.i32c(w1).into())?.into_vector_value(),
                    "",
                )?;
                let es = u64::from(t.size().max(1));
                let i64v = self.cx.i64_type().vec_type(self.w);
                let offs = self.b.build_int_z_extend(idx, i64v, "")?;
                let offs = self.b.build_int_mul(
                    offs,
                    self.splat(self.i64c(if t == ScalarType::Bool { 1 } else { es }).into())?
                        .into_vector_value(),
                    "",
                )?;
                if t == ScalarType::Bool {
                    // <W x i1> has no addressable lanes: select lane by lane instead.
                    let bits = self.mask_bits(x.v.into_vector_value())?;
                    let bw = bits.get_type();
                    let idxw =
                        self.b
                            .build_int_z_extend_or_bit_cast(idx, bw.vec_type(self.w), "")?;
                    let sh = self.b.build_right_shift(
                        self.splat(bits.into())?.into_vector_value(),
                        idxw,
                        false,
                        "",
                    )?;
                    let one = self
                        .splat(bw.const_int(1, false).into())?
                        .into_vector_value();
                    let b1 = self.b.build_and(sh, one, "")?;
                    let r = self.b.build_int_compare(
                        IP::NE,
                        b1,
                        bw.vec_type(self.w).const_zero(),
                        "",
                    )?;
                    return Ok(Val::vary(r.into()));
                }
                let bi = self.b.build_ptr_to_int(slot, self.cx.i64_type(), "")?;
                let a =
                    self.b
                        .build_int_add(self.splat(bi.into())?.into_vector_value(), offs, "")?;
                let pt = self
                    .cx
                    .ptr_type(inkwell::AddressSpace::default())
                    .vec_type(self.w);
                let ptrs = self.b.build_int_to_ptr(a, pt, "")?;
                let r = self.intr(
                    "llvm.masked.gather",
                    &[vt.into(), pt.into()],
                    &[
                        ptrs.into(),
                        self.i32c(1).into(),
                        self.all_true().into(),
                        vt.const_zero().into(),
                    ],
                )?;
                Ok(Val::vary(r))
            }
            SubgroupOp::Scan { op, kind, value } => {
                let x = self.val(value)?;
                let xv = self.wide(&x)?.into_vector_value();
                let id = self.identity(op, t).into_vector_value();
                let v = self.b.build_select(m, xv, id, "")?.into_vector_value();
                match kind {
                    ScanKind::Reduce => {
                        let mut acc = v;
                        let mut k = self.w / 2;
                        while k >= 1 {
                            // Fold the upper half onto the lower half.
                            let i32t = self.cx.i32_type();
                            let idx: Vec<IntValue> = (0..self.w)
                                .map(|i| {
                                    i32t.const_int(
                                        u64::from(if i + k < self.w { i + k } else { self.w + i }),
                                        false,
                                    )
                                })
                                .collect();
                            let sh = self.b.build_shuffle_vector(
                                acc,
                                id,
                                inkwell::types::VectorType::const_vector(&idx),
                                "",
                            )?;
                            acc = self.combine(op, acc.into(), sh.into())?.into_vector_value();
                            k /= 2;
                        }
                        Ok(Val::uni(self.b.build_extract_element(
                            acc,
                            self.i32c(0),
                            "",
                        )?))
                    }
                    ScanKind::InclusiveScan | ScanKind::ExclusiveScan => {
                        let mut acc = v;
                        let mut k = 1;
                        while k < self.w {
                            let sh = self.shift_up(acc, id, k)?;
                            acc = self.combine(op, acc.into(), sh.into())?.into_vector_value();
                            k *= 2;
                        }
                        if kind == ScanKind::ExclusiveScan {
                            acc = self.shift_up(acc, id, 1)?;
                        }
                        Ok(Val::vary(acc.into()))
                    }
                }
            }
        }
    }
}
