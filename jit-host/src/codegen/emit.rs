//! Small typed helpers over inkwell that work the same on scalars and `<W x T>` vectors, so
//! that the lowering code can treat a uniform value (scalar) and a varying one (vector) alike.

use inkwell::intrinsics::Intrinsic;
use inkwell::types::{BasicTypeEnum, VectorType};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValue, BasicValueEnum, IntValue, PointerValue, VectorValue,
};
use inkwell::{FloatPredicate, IntPredicate};
use shader::ir::ScalarType;

use super::kernel::Gen;
use super::CodegenError;

pub(super) type R<T> = Result<T, CodegenError>;

/// A lowered IR value.
#[derive(Clone, Copy, Debug)]
pub(super) struct Val<'ctx> {
    /// A scalar when `uniform`, else a `<W x T>` vector.
    pub v: BasicValueEnum<'ctx>,
    pub uniform: bool,
    /// For varying integers known to equal `base + lane * stride` (base: scalar of the same
    /// type as the value).
    pub affine: Option<(IntValue<'ctx>, i64)>,
}

impl<'ctx> Val<'ctx> {
    pub fn uni(v: BasicValueEnum<'ctx>) -> Self {
        Val {
            v,
            uniform: true,
            affine: None,
        }
    }
    pub fn vary(v: BasicValueEnum<'ctx>) -> Self {
        Val {
            v,
            uniform: false,
            affine: None,
        }
    }
}

impl<'ctx> Gen<'ctx, '_> {
    pub fn sty(&self, t: ScalarType) -> BasicTypeEnum<'ctx> {
        match t {
            ScalarType::Bool => self.cx.bool_type().into(),
            ScalarType::I8 => self.cx.i8_type().into(),
            ScalarType::I16 => self.cx.i16_type().into(),
            ScalarType::I32 => self.cx.i32_type().into(),
            ScalarType::I64 => self.cx.i64_type().into(),
            ScalarType::F32 => self.cx.f32_type().into(),
        }
    }

    pub fn vty(&self, t: ScalarType) -> VectorType<'ctx> {
        self.vec_of_type(self.sty(t))
    }

    pub fn vec_of_type(&self, t: BasicTypeEnum<'ctx>) -> VectorType<'ctx> {
        match t {
            BasicTypeEnum::IntType(i) => i.vec_type(self.w),
            BasicTypeEnum::FloatType(f) => f.vec_type(self.w),
            BasicTypeEnum::PointerType(p) => p.vec_type(self.w),
            other => other.into_vector_type(),
        }
    }

    /// Broadcast a scalar to all W lanes.
    pub fn splat(&self, v: BasicValueEnum<'ctx>) -> R<BasicValueEnum<'ctx>> {
        if v.is_vector_value() {
            return Ok(v);
        }
        let vt = self.vec_of_type(v.get_type());
        let undef = vt.get_poison();
        let i0 = self.cx.i32_type().const_zero();
        let one = self.b.build_insert_element(undef, v, i0, "")?;
        let zeros = self.cx.i32_type().vec_type(self.w).const_zero();
        Ok(self.b.build_shuffle_vector(one, undef, zeros, "")?.into())
    }

    /// The value as a W-lane vector.
    pub fn wide(&self, v: &Val<'ctx>) -> R<BasicValueEnum<'ctx>> {
        if v.uniform {
            self.splat(v.v)
        } else {
            Ok(v.v)
        }
    }

    /// A constant with `bits` of type `t`, shaped like `like` (scalar or vector).
    pub fn konst(&self, t: ScalarType, bits: u64, vector: bool) -> BasicValueEnum<'ctx> {
        let s: BasicValueEnum<'ctx> = match t {
            ScalarType::F32 => self
                .cx
                .f32_type()
                .const_float(f64::from(f32::from_bits(bits as u32)))
                .into(),
            _ => self.sty(t).into_int_type().const_int(bits, false).into(),
        };
        if vector {
            match s {
                BasicValueEnum::IntValue(i) => {
                    let elems = vec![i; self.w as usize];
                    VectorType::const_vector(&elems).into()
                }
                BasicValueEnum::FloatValue(f) => {
                    let elems = vec![f; self.w as usize];
                    VectorType::const_vector(&elems).into()
                }
                other => other,
            }
        } else {
            s
        }
    }

    pub fn fconst(&self, x: f32, vector: bool) -> BasicValueEnum<'ctx> {
        self.konst(ScalarType::F32, u64::from(x.to_bits()), vector)
    }

    /// `<0, 1, ..., W-1>` as i32.
    pub fn iota(&self) -> VectorValue<'ctx> {
        let i32t = self.cx.i32_type();
        let elems: Vec<IntValue> = (0..self.w)
            .map(|i| i32t.const_int(u64::from(i), false))
            .collect();
        VectorType::const_vector(&elems)
    }

    pub fn i32c(&self, x: u64) -> IntValue<'ctx> {
        self.cx.i32_type().const_int(x, false)
    }

    pub fn i64c(&self, x: u64) -> IntValue<'ctx> {
        self.cx.i64_type().const_int(x, false)
    }

    pub fn all_true(&self) -> VectorValue<'ctx> {
        let t = self.cx.bool_type().const_int(1, false);
        VectorType::const_vector(&vec![t; self.w as usize])
    }

    pub fn all_false(&self) -> VectorValue<'ctx> {
        self.cx.bool_type().vec_type(self.w).const_zero()
    }

    /// An integer type of `bits` bits (1..=256).
    pub fn int_ty(&self, bits: u32) -> inkwell::types::IntType<'ctx> {
        match bits {
            1 => self.cx.bool_type(),
            8 => self.cx.i8_type(),
            16 => self.cx.i16_type(),
            32 => self.cx.i32_type(),
            64 => self.cx.i64_type(),
            128 => self.cx.i128_type(),
            _ => std::num::NonZeroU32::new(bits)
                .and_then(|b| self.cx.custom_width_int_type(b).ok())
                .unwrap_or_else(|| self.cx.i64_type()),
        }
    }

    /// The mask as a W-bit integer.
    pub fn mask_bits(&self, m: VectorValue<'ctx>) -> R<IntValue<'ctx>> {
        let it = self.int_ty(self.w);
        Ok(self.b.build_bit_cast(m, it, "")?.into_int_value())
    }

    pub fn bits_to_mask(&self, bits: IntValue<'ctx>) -> R<VectorValue<'ctx>> {
        let it = self.int_ty(self.w);
        let bits = self.b.build_int_truncate_or_bit_cast(bits, it, "")?;
        Ok(self
            .b
            .build_bit_cast(bits, self.cx.bool_type().vec_type(self.w), "")?
            .into_vector_value())
    }

    /// True if any lane of the mask is set.
    pub fn any(&self, m: VectorValue<'ctx>) -> R<IntValue<'ctx>> {
        let bits = self.mask_bits(m)?;
        Ok(self
            .b
            .build_int_compare(IntPredicate::NE, bits, bits.get_type().const_zero(), "")?)
    }

    /// True if every lane of `m` is set.
    pub fn all(&self, m: VectorValue<'ctx>) -> R<IntValue<'ctx>> {
        let bits = self.mask_bits(m)?;
        Ok(self.b.build_int_compare(
            IntPredicate::EQ,
            bits,
            bits.get_type().const_all_ones(),
            "",
        )?)
    }

    pub fn icmp(
        &self,
        p: IntPredicate,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        Ok(match (a, b) {
            (BasicValueEnum::VectorValue(x), BasicValueEnum::VectorValue(y)) => {
                self.b.build_int_compare(p, x, y, "")?.into()
            }
            (a, b) => self
                .b
                .build_int_compare(p, a.into_int_value(), b.into_int_value(), "")?
                .into(),
        })
    }

    pub fn fcmp(
        &self,
        p: FloatPredicate,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        Ok(match (a, b) {
            (BasicValueEnum::VectorValue(x), BasicValueEnum::VectorValue(y)) => {
                self.b.build_float_compare(p, x, y, "")?.into()
            }
            (a, b) => self
                .b
                .build_float_compare(p, a.into_float_value(), b.into_float_value(), "")?
                .into(),
        })
    }

    pub fn select(
        &self,
        c: BasicValueEnum<'ctx>,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        Ok(match c {
            BasicValueEnum::VectorValue(cv) => self.b.build_select(cv, a, b, "")?,
            other => self.b.build_select(other.into_int_value(), a, b, "")?,
        })
    }

    pub fn bin(
        &self,
        op: inkwell::values::InstructionOpcode,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        Ok(self.b.build_binop(op, a, b, "")?)
    }

    pub fn cast(
        &self,
        op: inkwell::values::InstructionOpcode,
        v: BasicValueEnum<'ctx>,
        elem: BasicTypeEnum<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        let ty: BasicTypeEnum<'ctx> = if v.is_vector_value() {
            self.vec_of_type(elem).into()
        } else {
            elem
        };
        Ok(self.b.build_cast(op, v, ty, "")?)
    }

    /// Calls an overloaded LLVM intrinsic.
    pub fn intr(
        &self,
        name: &str,
        overloads: &[BasicTypeEnum<'ctx>],
        args: &[BasicValueEnum<'ctx>],
    ) -> R<BasicValueEnum<'ctx>> {
        let f = Intrinsic::find(name)
            .and_then(|i| i.get_declaration(self.module, overloads))
            .ok_or_else(|| CodegenError::Unsupported(format!("LLVM intrinsic {name}")))?;
        let args: Vec<BasicMetadataValueEnum> = args.iter().map(|a| (*a).into()).collect();
        let call = self.b.build_call(f, &args, "")?;
        call.try_as_basic_value()
            .basic()
            .ok_or_else(|| CodegenError::Unsupported(format!("{name} returns void")))
    }

    /// Calls an intrinsic returning void.
    pub fn intr_void(
        &self,
        name: &str,
        overloads: &[BasicTypeEnum<'ctx>],
        args: &[BasicValueEnum<'ctx>],
    ) -> R<()> {
        let f = Intrinsic::find(name)
            .and_then(|i| i.get_declaration(self.module, overloads))
            .ok_or_else(|| CodegenError::Unsupported(format!("LLVM intrinsic {name}")))?;
        let args: Vec<BasicMetadataValueEnum> = args.iter().map(|a| (*a).into()).collect();
        self.b.build_call(f, &args, "")?;
        Ok(())
    }

    /// An alloca in the entry block (so that mem2reg promotes it).
    pub fn alloca(&self, ty: BasicTypeEnum<'ctx>) -> R<PointerValue<'ctx>> {
        match self.entry.get_first_instruction() {
            Some(i) => self.ab.position_before(&i),
            None => self.ab.position_at_end(self.entry),
        }
        Ok(self.ab.build_alloca(ty, "")?)
    }

    /// `base + off` bytes.
    pub fn byte_ptr(&self, base: PointerValue<'ctx>, off: IntValue<'ctx>) -> R<PointerValue<'ctx>> {
        // SAFETY: a plain (not inbounds) i8 GEP is only address arithmetic; every access through
        // the result is bounds-checked by the caller before it happens.
        Ok(unsafe { self.b.build_gep(self.cx.i8_type(), base, &[off], "")? })
    }

    pub fn load_as(
        &self,
        ty: BasicTypeEnum<'ctx>,
        ptr: PointerValue<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        let v = self.b.build_load(ty, ptr, "")?;
        if let Some(i) = v.as_instruction_value() {
            let _ = i.set_alignment(1);
        }
        Ok(v)
    }

    pub fn store_unaligned(&self, ptr: PointerValue<'ctx>, v: BasicValueEnum<'ctx>) -> R<()> {
        let st = self.b.build_store(ptr, v)?;
        let _ = st.set_alignment(1);
        Ok(())
    }

    pub fn new_block(&self, name: &str) -> inkwell::basic_block::BasicBlock<'ctx> {
        self.cx.append_basic_block(self.func, name)
    }

    /// Whether the builder's current block already ends in a terminator.
    pub fn terminated(&self) -> bool {
        self.b
            .get_insert_block()
            .and_then(|bb| bb.get_terminator())
            .is_some()
    }
}
