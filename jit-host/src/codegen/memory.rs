//! Loads, stores and atomics, bounds-checked by construction (robustBufferAccess2 semantics):
//! a lane whose access would not lie entirely inside its space reads 0 and writes nothing,
//! whatever the IR computed. Uniform addresses use one scalar access; addresses that are
//! consecutive across lanes use one masked vector access; the rest gather / scatter.
//! Stores and atomics use the effect mask (fragment helper lanes compute but write nothing).

use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValueEnum, IntValue, PointerValue, VectorValue};
use inkwell::{AtomicOrdering, AtomicRMWBinOp, IntPredicate as IP};
use shader::abi;
use shader::ir::{AtomicOp, DescriptorIndex, MemRef, ScalarType, Space, ValueId};

use super::emit::{Val, R};
use super::kernel::Gen;
use super::CodegenError;

/// Where the bytes of one access live.
enum Place<'ctx> {
    /// One region shared by all lanes: base pointer and length in bytes.
    Shared(PointerValue<'ctx>, IntValue<'ctx>),
    /// Per-lane private memory of `size` bytes per invocation.
    Private(u64),
}

impl<'ctx> Gen<'ctx, '_> {
    fn place(&self, space: Space) -> R<Place<'ctx>> {
        Ok(match space {
            Space::Buffer(i) => {
                let i = i as usize;
                match (self.buf_base.get(i), self.buf_len.get(i)) {
                    (Some(b), Some(l)) => Place::Shared(*b, *l),
                    _ => return Err(CodegenError::Missing(format!("buffer slot {i}"))),
                }
            }
            Space::BufferArray { first, index } => {
                let (base, len) = self.buffer_array_element(first, index)?;
                Place::Shared(base, len)
            }
            Space::PushConstant => Place::Shared(self.push_ptr, self.push_len),
            Space::Workgroup => Place::Shared(
                self.wg_mem,
                self.i64c(u64::from(self.ir.workgroup_memory_size)),
            ),
            Space::Private => Place::Private(u64::from(self.ir.private_memory_size)),
        })
    }

    /// Base and length of the element of a dynamically indexed buffer array that the first
    /// executing lane's index picks (the index is dynamically uniform, as for image arrays);
    /// an index at or past `index.len` gives length 0, so every access is out of bounds.
    fn buffer_array_element(
        &self,
        first: u32,
        index: DescriptorIndex,
    ) -> R<(PointerValue<'ctx>, IntValue<'ctx>)> {
        // Validated already; a run past the table would read outside it.
        if u64::from(first) + u64::from(index.len) > self.ir.buffers.len() as u64 {
            return Err(CodegenError::Missing(format!(
                "buffer slots {first}+{}",
                index.len
            )));
        }
        let e = self.array_element(first, Some(index), self.mask()?)?;
        let off =
            self.b
                .build_int_mul(e.slot, self.i64c(abi::BUFFER_DESCRIPTOR_SIZE as u64), "")?;
        let desc = self.byte_ptr(self.buf_table, off)?;
        let ptr_t = self.cx.ptr_type(inkwell::AddressSpace::default());
        let base = self.b.build_load(ptr_t, desc, "")?.into_pointer_value();
        let len_p = self.byte_ptr(desc, self.i64c(8))?;
        let len = self
            .b
            .build_load(self.cx.i64_type(), len_p, "")?
            .into_int_value();
        let len = match e.in_range {
            Some(ok) => self
                .b
                .build_select(ok, len, self.cx.i64_type().const_zero(), "")?
                .into_int_value(),
            None => len,
        };
        Ok((base, len))
    }

    /// Memory representation of a value type (Bool is a 32-bit word).
    fn mem_type(&self, t: ScalarType) -> BasicTypeEnum<'ctx> {
        if t == ScalarType::Bool {
            self.cx.i32_type().into()
        } else {
            self.sty(t)
        }
    }

    /// `off <= len - size` without overflow, for a scalar or vector i64 offset.
    fn in_bounds(
        &self,
        off: BasicValueEnum<'ctx>,
        len: IntValue<'ctx>,
        size: u32,
    ) -> R<BasicValueEnum<'ctx>> {
        let i64t = self.cx.i64_type();
        let sz = i64t.const_int(u64::from(size), false);
        let fits = self.b.build_int_compare(IP::UGE, len, sz, "")?;
        let lim = self.b.build_int_sub(len, sz, "")?;
        let lim = self.b.build_int_add(lim, i64t.const_int(1, false), "")?;
        let lim = self.b.build_select(fits, lim, i64t.const_zero(), "")?;
        let lim = if off.is_vector_value() {
            self.splat(lim)?
        } else {
            lim
        };
        self.icmp(IP::ULT, off, lim)
    }

    /// Per-lane byte offsets into private memory (lane-major: invocation i at i * size).
    fn private_ptrs(&self, off: BasicValueEnum<'ctx>, per: u64) -> R<VectorValue<'ctx>> {
        let i64t = self.cx.i64_type();
        let g = self.b.build_int_z_extend(self.group, i64t, "")?;
        let gbase = self
            .b
            .build_int_mul(g, self.i64c(u64::from(self.w) * per), "")?;
        let gbase = self
            .b
            .build_int_add(gbase, self.i64c(self.private_off), "")?;
        let lanes = self
            .b
            .build_int_z_extend(self.iota(), i64t.vec_type(self.w), "")?;
        let lanes = self.b.build_int_mul(
            lanes,
            self.splat(self.i64c(per).into())?.into_vector_value(),
            "",
        )?;
        let o = self
            .b
            .build_int_add(lanes, self.splat(gbase.into())?.into_vector_value(), "")?;
        let o = self
            .b
            .build_int_add(o, self.splat(off)?.into_vector_value(), "")?;
        self.vec_ptrs(self.scratch, o)
    }

    fn vec_ptrs(&self, base: PointerValue<'ctx>, offs: VectorValue<'ctx>) -> R<VectorValue<'ctx>> {
        let i64t = self.cx.i64_type();
        let bi = self.b.build_ptr_to_int(base, i64t, "")?;
        let a = self
            .b
            .build_int_add(self.splat(bi.into())?.into_vector_value(), offs, "")?;
        let pt = self
            .cx
            .ptr_type(inkwell::AddressSpace::default())
            .vec_type(self.w);
        Ok(self.b.build_int_to_ptr(a, pt, "")?)
    }

    fn value_from_mem(&self, v: BasicValueEnum<'ctx>, t: ScalarType) -> R<BasicValueEnum<'ctx>> {
        if t != ScalarType::Bool {
            return Ok(v);
        }
        let z = if v.is_vector_value() {
            self.konst(ScalarType::I32, 0, true)
        } else {
            self.i32c(0).into()
        };
        self.icmp(IP::NE, v, z)
    }

    fn value_to_mem(&self, v: BasicValueEnum<'ctx>, t: ScalarType) -> R<BasicValueEnum<'ctx>> {
        if t != ScalarType::Bool {
            return Ok(v);
        }
        self.cast(
            inkwell::values::InstructionOpcode::ZExt,
            v,
            self.cx.i32_type().into(),
        )
    }

    /// `if cond { f() } else { zero }` as a branch and a phi.
    fn guarded(
        &mut self,
        cond: IntValue<'ctx>,
        zero: BasicValueEnum<'ctx>,
        f: impl FnOnce(&mut Self) -> R<BasicValueEnum<'ctx>>,
    ) -> R<BasicValueEnum<'ctx>> {
        let pre = self
            .b
            .get_insert_block()
            .ok_or_else(|| CodegenError::Missing("block".into()))?;
        let (yes, join) = (self.new_block("ld"), self.new_block("ld.join"));
        self.b.build_conditional_branch(cond, yes, join)?;
        self.b.position_at_end(yes);
        let v = f(self)?;
        let yes_end = self
            .b
            .get_insert_block()
            .ok_or_else(|| CodegenError::Missing("block".into()))?;
        self.b.build_unconditional_branch(join)?;
        self.b.position_at_end(join);
        let phi = self.b.build_phi(zero.get_type(), "")?;
        phi.add_incoming(&[(&zero, pre), (&v, yes_end)]);
        Ok(phi.as_basic_value())
    }

    pub fn lower_load(&mut self, mem: &MemRef, t: ScalarType) -> R<Val<'ctx>> {
        let off = self.val(mem.offset)?;
        let mt = self.mem_type(t);
        let size = t.size();
        let place = self.place(mem.space)?;
        let m = self.mask()?;
        match place {
            Place::Shared(base, len) if off.uniform => {
                let ok = self.in_bounds(off.v, len, size)?.into_int_value();
                let zero = mt.const_zero();
                let offv = off.v.into_int_value();
                let v = self.guarded(ok, zero, |g| {
                    let p = g.byte_ptr(base, offv)?;
                    g.load_as(mt, p)
                })?;
                Ok(Val::uni(self.value_from_mem(v, t)?))
            }
            Place::Shared(base, len) => {
                let (offs, contiguous) = self.lane_offsets(&off, size)?;
                let ok = self.in_bounds(offs.into(), len, size)?.into_vector_value();
                let lm = self.b.build_and(ok, m, "")?;
                let vt = self.vec_of_type(mt);
                let v = match contiguous {
                    Some(b0) => {
                        let p = self.byte_ptr(base, b0)?;
                        self.contiguous_load(p, vt.into(), lm)?
                    }
                    None => {
                        let ptrs = self.vec_ptrs(base, offs)?;
                        self.intr(
                            "llvm.masked.gather",
                            &[vt.into(), ptrs.get_type().into()],
                            &[
                                ptrs.into(),
                                self.i32c(1).into(),
                                lm.into(),
                                vt.const_zero().into(),
                            ],
                        )?
                    }
                };
                Ok(Val::vary(self.value_from_mem(v, t)?))
            }
            Place::Private(per) => {
                let ok = self
                    .in_bounds(self.wide(&off)?, self.i64c(per), size)?
                    .into_vector_value();
                let lm = self.b.build_and(ok, m, "")?;
                let ptrs = self.private_ptrs(self.wide(&off)?, per)?;
                let vt = self.vec_of_type(mt);
                let v = self.intr(
                    "llvm.masked.gather",
                    &[vt.into(), ptrs.get_type().into()],
                    &[
                        ptrs.into(),
                        self.i32c(1).into(),
                        lm.into(),
                        vt.const_zero().into(),
                    ],
                )?;
                Ok(Val::vary(self.value_from_mem(v, t)?))
            }
        }
    }

    /// One vector load of consecutive elements at `p` for the lanes in `lm`. When every lane
    /// is active and in bounds (the common case) it is a plain vector load; masked loads and
    /// stores cost several times more on some cores (AMD's `vmaskmov` stores).
    fn contiguous_load(
        &mut self,
        p: PointerValue<'ctx>,
        vt: BasicTypeEnum<'ctx>,
        lm: VectorValue<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        let all = self.all(lm)?;
        let (full, part, join) = (
            self.new_block("vld.full"),
            self.new_block("vld.part"),
            self.new_block("vld.join"),
        );
        self.b.build_conditional_branch(all, full, part)?;
        self.b.position_at_end(full);
        let a = self.load_as(vt, p)?;
        self.b.build_unconditional_branch(join)?;
        self.b.position_at_end(part);
        let b = self.intr(
            "llvm.masked.load",
            &[vt, p.get_type().into()],
            &[p.into(), self.i32c(1).into(), lm.into(), vt.const_zero()],
        )?;
        let part_end = self
            .b
            .get_insert_block()
            .ok_or_else(|| CodegenError::Missing("block".into()))?;
        self.b.build_unconditional_branch(join)?;
        self.b.position_at_end(join);
        let phi = self.b.build_phi(vt, "")?;
        phi.add_incoming(&[(&a, full), (&b, part_end)]);
        Ok(phi.as_basic_value())
    }

    /// The store counterpart of [`Gen::contiguous_load`].
    fn contiguous_store(
        &mut self,
        p: PointerValue<'ctx>,
        v: BasicValueEnum<'ctx>,
        vt: BasicTypeEnum<'ctx>,
        lm: VectorValue<'ctx>,
    ) -> R<()> {
        let all = self.all(lm)?;
        let (full, part, join) = (
            self.new_block("vst.full"),
            self.new_block("vst.part"),
            self.new_block("vst.join"),
        );
        self.b.build_conditional_branch(all, full, part)?;
        self.b.position_at_end(full);
        self.store_unaligned(p, v)?;
        self.b.build_unconditional_branch(join)?;
        self.b.position_at_end(part);
        self.intr_void(
            "llvm.masked.store",
            &[vt, p.get_type().into()],
            &[v, p.into(), self.i32c(1).into(), lm.into()],
        )?;
        self.b.build_unconditional_branch(join)?;
        self.b.position_at_end(join);
        Ok(())
    }

    /// Per-lane offsets of a varying offset value; for an affine one with stride == access
    /// size, also the first lane's offset (the access is one contiguous vector). The offsets
    /// are computed from the affine form itself, so the bounds check covers exactly the
    /// bytes the vector access touches.
    fn lane_offsets(
        &self,
        off: &Val<'ctx>,
        size: u32,
    ) -> R<(VectorValue<'ctx>, Option<IntValue<'ctx>>)> {
        if let Some((b0, stride)) = off.affine {
            if stride == i64::from(size) && b0.get_type().get_bit_width() == 64 {
                let i64t = self.cx.i64_type();
                let lanes = self
                    .b
                    .build_int_z_extend(self.iota(), i64t.vec_type(self.w), "")?;
                let st = self
                    .splat(self.i64c(stride as u64).into())?
                    .into_vector_value();
                let lanes = self.b.build_int_mul(lanes, st, "")?;
                let v =
                    self.b
                        .build_int_add(self.splat(b0.into())?.into_vector_value(), lanes, "")?;
                return Ok((v, Some(b0)));
            }
        }
        Ok((self.wide(off)?.into_vector_value(), None))
    }

    pub fn lower_store(&mut self, mem: &MemRef, value: ValueId) -> R<()> {
        let t = self.vtype(value)?;
        let off = self.val(mem.offset)?;
        let val = self.val(value)?;
        let mt = self.mem_type(t);
        let size = t.size();
        let place = self.place(mem.space)?;
        let m = self.effect_mask()?;
        match place {
            Place::Shared(base, len) if off.uniform && val.uniform => {
                let ok = self.in_bounds(off.v, len, size)?.into_int_value();
                let any = self.any(m)?;
                let c = self.b.build_and(ok, any, "")?;
                let (yes, join) = (self.new_block("st"), self.new_block("st.join"));
                self.b.build_conditional_branch(c, yes, join)?;
                self.b.position_at_end(yes);
                let p = self.byte_ptr(base, off.v.into_int_value())?;
                let v = self.value_to_mem(val.v, t)?;
                self.store_unaligned(p, v)?;
                self.b.build_unconditional_branch(join)?;
                self.b.position_at_end(join);
                Ok(())
            }
            Place::Shared(base, len) => {
                let (offs, contiguous) = self.lane_offsets(&off, size)?;
                let ok = self.in_bounds(offs.into(), len, size)?.into_vector_value();
                let lm = self.b.build_and(ok, m, "")?;
                let v = self.value_to_mem(self.wide(&val)?, t)?;
                let vt = self.vec_of_type(mt);
                match contiguous {
                    Some(b0) => {
                        let p = self.byte_ptr(base, b0)?;
                        self.contiguous_store(p, v, vt.into(), lm)
                    }
                    None => {
                        let ptrs = self.vec_ptrs(base, offs)?;
                        self.intr_void(
                            "llvm.masked.scatter",
                            &[vt.into(), ptrs.get_type().into()],
                            &[v, ptrs.into(), self.i32c(1).into(), lm.into()],
                        )
                    }
                }
            }
            Place::Private(per) => {
                let offs = self.wide(&off)?;
                let ok = self
                    .in_bounds(offs, self.i64c(per), size)?
                    .into_vector_value();
                let lm = self.b.build_and(ok, m, "")?;
                let ptrs = self.private_ptrs(offs, per)?;
                let v = self.value_to_mem(self.wide(&val)?, t)?;
                let vt = self.vec_of_type(mt);
                self.intr_void(
                    "llvm.masked.scatter",
                    &[vt.into(), ptrs.get_type().into()],
                    &[v, ptrs.into(), self.i32c(1).into(), lm.into()],
                )
            }
        }
    }

    /// Runs `body(lane, ptr)` for every active, in-bounds, naturally aligned lane, one lane at
    /// a time, collecting its result (if any) into a vector.
    fn per_lane_atomic(
        &mut self,
        mem: &MemRef,
        t: ScalarType,
        mut body: impl FnMut(
            &mut Self,
            IntValue<'ctx>,
            PointerValue<'ctx>,
        ) -> R<Option<BasicValueEnum<'ctx>>>,
    ) -> R<Val<'ctx>> {
        if !matches!(t, ScalarType::I32 | ScalarType::I64) {
            return Err(CodegenError::Unsupported(format!("atomic on {t:?}")));
        }
        let (base, len) = match self.place(mem.space)? {
            Place::Shared(b, l) => (b, l),
            Place::Private(_) => {
                return Err(CodegenError::Unsupported("atomic on private memory".into()))
            }
        };
        let size = t.size();
        let off = self.val(mem.offset)?;
        let offs = self.wide(&off)?.into_vector_value();
        let ok = self.in_bounds(offs.into(), len, size)?.into_vector_value();
        // Misaligned atomics could split a cache line (split-lock traps): treat as out of bounds.
        let i64v = self.cx.i64_type().vec_type(self.w);
        let am = self.b.build_and(
            offs,
            self.splat(self.i64c(u64::from(size - 1)).into())?
                .into_vector_value(),
            "",
        )?;
        let aligned = self
            .b
            .build_int_compare(IP::EQ, am, i64v.const_zero(), "")?;
        let m = self.effect_mask()?;
        let lm = self.b.build_and(ok, m, "")?;
        let lm = self.b.build_and(lm, aligned, "")?;
        let res_t = self.vty(t);
        let res = self.alloca(res_t.into())?;
        self.b.build_store(res, res_t.const_zero())?;

        let i32t = self.cx.i32_type();
        let pre = self
            .b
            .get_insert_block()
            .ok_or_else(|| CodegenError::Missing("block".into()))?;
        let (head, doit, next, out) = (
            self.new_block("at"),
            self.new_block("at.do"),
            self.new_block("at.next"),
            self.new_block("at.out"),
        );
        self.b.build_unconditional_branch(head)?;
        self.b.position_at_end(head);
        let l = self.b.build_phi(i32t, "lane")?;
        l.add_incoming(&[(&i32t.const_zero(), pre)]);
        let lv = l.as_basic_value().into_int_value();
        let bit = self.b.build_extract_element(lm, lv, "")?.into_int_value();
        self.b.build_conditional_branch(bit, doit, next)?;
        self.b.position_at_end(doit);
        let o = self.b.build_extract_element(offs, lv, "")?.into_int_value();
        let p = self.byte_ptr(base, o)?;
        if let Some(old) = body(self, lv, p)? {
            let cur = self.b.build_load(res_t, res, "")?.into_vector_value();
            let upd = self.b.build_insert_element(cur, old, lv, "")?;
            self.b.build_store(res, upd)?;
        }
        self.b.build_unconditional_branch(next)?;
        self.b.position_at_end(next);
        let n = self.b.build_int_add(lv, i32t.const_int(1, false), "")?;
        l.add_incoming(&[(&n, next)]);
        let c =
            self.b
                .build_int_compare(IP::ULT, n, i32t.const_int(u64::from(self.w), false), "")?;
        self.b.build_conditional_branch(c, head, out)?;
        self.b.position_at_end(out);
        let v = self.b.build_load(res_t, res, "")?;
        Ok(Val::vary(v))
    }

    pub fn lower_atomic(
        &mut self,
        op: AtomicOp,
        mem: &MemRef,
        value: ValueId,
        comparator: Option<ValueId>,
        t: ScalarType,
    ) -> R<Val<'ctx>> {
        let val = self.val(value)?;
        let vals = self.wide(&val)?.into_vector_value();
        let cmps = match comparator {
            Some(c) => {
                let c = self.val(c)?;
                Some(self.wide(&c)?.into_vector_value())
            }
            None => None,
        };
        let ord = AtomicOrdering::SequentiallyConsistent;
        let it = self.sty(t);
        self.per_lane_atomic(mem, t, |g, lane, p| {
            let x = g.b.build_extract_element(vals, lane, "")?.into_int_value();
            let old: BasicValueEnum = match op {
                AtomicOp::Load => {
                    let v = g.b.build_load(it, p, "")?;
                    if let Some(i) = inkwell::values::BasicValue::as_instruction_value(&v) {
                        i.set_atomic_ordering(ord)
                            .map_err(|e| CodegenError::Unsupported(e.to_string()))?;
                        let _ = i.set_alignment(t.size());
                    }
                    v
                }
                AtomicOp::CompareExchange => {
                    let cmps = cmps.ok_or_else(|| {
                        CodegenError::Missing("compare-exchange comparator".into())
                    })?;
                    let c = g.b.build_extract_element(cmps, lane, "")?.into_int_value();
                    let r = g.b.build_cmpxchg(p, c, x, ord, ord)?;
                    g.b.build_extract_value(r, 0, "")?
                }
                _ => {
                    let rop = match op {
                        AtomicOp::Add => AtomicRMWBinOp::Add,
                        AtomicOp::Sub => AtomicRMWBinOp::Sub,
                        AtomicOp::SMin => AtomicRMWBinOp::Min,
                        AtomicOp::SMax => AtomicRMWBinOp::Max,
                        AtomicOp::UMin => AtomicRMWBinOp::UMin,
                        AtomicOp::UMax => AtomicRMWBinOp::UMax,
                        AtomicOp::And => AtomicRMWBinOp::And,
                        AtomicOp::Or => AtomicRMWBinOp::Or,
                        AtomicOp::Xor => AtomicRMWBinOp::Xor,
                        _ => AtomicRMWBinOp::Xchg,
                    };
                    g.b.build_atomicrmw(rop, p, x, ord)?.into()
                }
            };
            Ok(Some(old))
        })
    }

    pub fn lower_atomic_store(&mut self, mem: &MemRef, value: ValueId) -> R<()> {
        let t = self.vtype(value)?;
        let val = self.val(value)?;
        let vals = self.wide(&val)?.into_vector_value();
        self.per_lane_atomic(mem, t, |g, lane, p| {
            let x = g.b.build_extract_element(vals, lane, "")?.into_int_value();
            g.b.build_atomicrmw(
                AtomicRMWBinOp::Xchg,
                p,
                x,
                AtomicOrdering::SequentiallyConsistent,
            )?;
            Ok(None)
        })?;
        Ok(())
    }
}
