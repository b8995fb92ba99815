//! Image operations and derivatives.
//!
//! An image operation fills the kernel's `ImageRequest` (an entry-block alloca, 64-byte
//! aligned, `abi::REQUEST_OFFSET_*` layout, one row of `MAX_IMAGE_LANES` words per component),
//! and calls `image_resources.image_op` — a pointer read from the context, never an address
//! in code — with the slot's opaque image and sampler descriptors. Results come back in the
//! `ImageResult` alloca, one row per component. The call is skipped when no lane executes.
//!
//! Derivatives are lane shuffles over the 2×2 quads of a fragment batch: lanes `4q..4q+3`
//! are top-left, top-right, bottom-left, bottom-right (`abi::FRAGMENT_LANE_OFFSETS`).

use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValue, BasicValueEnum, IntValue, PointerValue, VectorValue};
use inkwell::IntPredicate;
use shader::abi::{self, image_atomic, image_flag, image_op};
use shader::ir::{
    AtomicOp, DerivAxis, DescriptorIndex, ImageLod, ImageOp, ImageOpKind, Stage, ValueId,
};

use super::emit::{Val, R};
use super::kernel::Gen;
use super::CodegenError;

/// The image state of one kernel call, read from its context at entry.
#[derive(Clone, Copy)]
pub(super) struct ImageCtx<'ctx> {
    /// `ImageResources::images`.
    images: PointerValue<'ctx>,
    /// `ImageResources::samplers`.
    samplers: PointerValue<'ctx>,
    /// `ImageResources::image_op` (may be null only when the renderer binds no image; the
    /// renderer guarantees it for every module with image slots).
    op_fn: PointerValue<'ctx>,
    /// The `ImageRequest` and `ImageResult` allocas.
    request: PointerValue<'ctx>,
    result: PointerValue<'ctx>,
}

/// The slot an operation uses within a descriptor run (`Gen::array_element`).
pub(super) struct ArrayElement<'ctx> {
    /// Slot index (i64).
    pub(super) slot: IntValue<'ctx>,
    /// For a dynamic index: whether it is below the run's length (i1).
    pub(super) in_range: Option<IntValue<'ctx>>,
}

fn atomic_code(op: AtomicOp) -> u32 {
    match op {
        AtomicOp::Add => image_atomic::ADD,
        AtomicOp::Sub => image_atomic::SUB,
        AtomicOp::SMin => image_atomic::SMIN,
        AtomicOp::SMax => image_atomic::SMAX,
        AtomicOp::UMin => image_atomic::UMIN,
        AtomicOp::UMax => image_atomic::UMAX,
        AtomicOp::And => image_atomic::AND,
        AtomicOp::Or => image_atomic::OR,
        AtomicOp::Xor => image_atomic::XOR,
        AtomicOp::Exchange => image_atomic::EXCHANGE,
        AtomicOp::CompareExchange => image_atomic::COMPARE_EXCHANGE,
        AtomicOp::Load => image_atomic::LOAD,
    }
}

/// `(op, atomic_op)` request words of an operation.
fn op_code(kind: ImageOpKind) -> (u32, u32) {
    match kind {
        ImageOpKind::Sample => (image_op::SAMPLE, 0),
        ImageOpKind::Gather { .. } => (image_op::GATHER, 0),
        ImageOpKind::Fetch => (image_op::FETCH, 0),
        ImageOpKind::Read => (image_op::READ, 0),
        ImageOpKind::Write => (image_op::WRITE, 0),
        ImageOpKind::Atomic(a) => (image_op::ATOMIC, atomic_code(a)),
        ImageOpKind::AtomicStore => (image_op::ATOMIC, image_atomic::STORE),
        ImageOpKind::QuerySize => (image_op::QUERY_SIZE, 0),
        ImageOpKind::QueryLevels => (image_op::QUERY_LEVELS, 0),
        ImageOpKind::QuerySamples => (image_op::QUERY_SAMPLES, 0),
        ImageOpKind::QueryLod => (image_op::QUERY_LOD, 0),
    }
}

/// The request's flag bits for `op` in a shader of `stage`.
pub(super) fn request_flags(op: &ImageOp, stage: Stage) -> u32 {
    let mut f = 0;
    match &op.lod {
        ImageLod::None => {}
        ImageLod::Implicit => {}
        ImageLod::Bias(_) => f |= image_flag::BIAS,
        ImageLod::Explicit(_) => f |= image_flag::LOD,
        ImageLod::Grad { .. } => f |= image_flag::GRAD,
    }
    if (op.lod.is_implicit() || op.kind == ImageOpKind::QueryLod) && stage == Stage::Fragment {
        f |= image_flag::QUAD_DERIVATIVES;
    }
    if op.dref.is_some() {
        f |= image_flag::DREF;
    }
    if op.proj {
        f |= image_flag::PROJ;
    }
    if !op.offset.is_empty() {
        f |= image_flag::OFFSET;
    }
    if op.min_lod.is_some() {
        f |= image_flag::MIN_LOD;
    }
    if op.sample.is_some() {
        f |= image_flag::SAMPLE_INDEX;
    }
    f
}

impl<'ctx> Gen<'ctx, '_> {
    /// Reads the image state from the context at `ctx + resources_off` and creates the
    /// request and result allocas. Call with the builder in the entry block.
    pub fn init_images(&mut self, ctx: PointerValue<'ctx>, resources_off: usize) -> R<()> {
        if self.ir.images.is_empty() {
            return Ok(());
        }
        let ptr_t = self.cx.ptr_type(inkwell::AddressSpace::default());
        let field = |g: &Self, off: usize| -> R<PointerValue<'ctx>> {
            let p = g.byte_ptr(ctx, g.i64c((resources_off + off) as u64))?;
            Ok(g.b.build_load(ptr_t, p, "")?.into_pointer_value())
        };
        let images = field(self, abi::IMAGE_RESOURCES_OFFSET_IMAGES)?;
        let samplers = field(self, abi::IMAGE_RESOURCES_OFFSET_SAMPLERS)?;
        let op_fn = field(self, abi::IMAGE_RESOURCES_OFFSET_IMAGE_OP)?;
        let i8t = self.cx.i8_type();
        let request = self.alloca(i8t.array_type(abi::IMAGE_REQUEST_SIZE as u32).into())?;
        let result_size = core::mem::size_of::<abi::ImageResult>() as u32;
        let result = self.alloca(i8t.array_type(result_size).into())?;
        for p in [request, result] {
            if let Some(i) = p.as_instruction() {
                i.set_alignment(64)
                    .map_err(|e| CodegenError::Unsupported(e.to_string()))?;
            }
        }
        // Results of lanes a call skips stay defined (zero), never uninitialised memory.
        let row = self.cx.i32_type().vec_type(abi::MAX_IMAGE_LANES as u32);
        for c in 0..4u64 {
            let p = self.byte_ptr(result, self.i64c(c * abi::IMAGE_ROW_SIZE as u64))?;
            self.b.build_store(p, row.const_zero())?;
        }
        self.img = Some(ImageCtx {
            images,
            samplers,
            op_fn,
            request,
            result,
        });
        Ok(())
    }

    fn store_word(&self, base: PointerValue<'ctx>, off: usize, v: u32) -> R<()> {
        let p = self.byte_ptr(base, self.i64c(off as u64))?;
        self.b.build_store(p, self.i32c(u64::from(v)))?;
        Ok(())
    }

    /// Stores value `v` (broadcast if uniform) as row `off` of the request.
    fn store_row(&self, base: PointerValue<'ctx>, off: usize, v: ValueId) -> R<()> {
        let val = self.val(v)?;
        let wide = self.wide(&val)?;
        let p = self.byte_ptr(base, self.i64c(off as u64))?;
        let st = self.b.build_store(p, wide)?;
        st.set_alignment(4)
            .map_err(|e| CodegenError::Unsupported(e.to_string()))?;
        Ok(())
    }

    fn store_rows(&self, base: PointerValue<'ctx>, off: usize, vs: &[ValueId]) -> R<()> {
        for (i, v) in vs.iter().enumerate() {
            self.store_row(base, off + i * abi::IMAGE_ROW_SIZE, *v)?;
        }
        Ok(())
    }

    /// `Stmt::Image`.
    pub fn lower_image(&mut self, results: &[ValueId], op: &ImageOp) -> R<()> {
        let ic = self
            .img
            .ok_or_else(|| CodegenError::Missing("image resources".into()))?;
        // Validated already; a run past the slot tables would read outside them.
        let run_end = |first: u32, d: Option<DescriptorIndex>| {
            u64::from(first) + u64::from(d.map_or(1, |d| d.len))
        };
        if run_end(op.image, op.image_index) > self.ir.images.len() as u64 {
            return Err(CodegenError::Missing(format!("image slot {}", op.image)));
        }
        if let Some(s) = op.sampler {
            if run_end(s, op.sampler_index) > self.ir.samplers.len() as u64 {
                return Err(CodegenError::Missing(format!("sampler slot {s}")));
            }
        }
        // Writes and atomics skip fragment helper lanes; reads include them (derivatives of
        // their results need the whole quad).
        let mask = if op.kind.has_side_effects() {
            self.effect_mask()?
        } else {
            self.mask()?
        };
        let i32t = self.cx.i32_type();
        let bits = self.mask_bits(mask)?;
        let bits = self.b.build_int_z_extend_or_bit_cast(bits, i32t, "")?;
        let call_bb = self.new_block("image.call");
        let done_bb = self.new_block("image.done");
        let any = self
            .b
            .build_int_compare(IntPredicate::NE, bits, i32t.const_zero(), "")?;
        self.b.build_conditional_branch(any, call_bb, done_bb)?;
        self.b.position_at_end(call_bb);

        let rq = ic.request;
        let (code, atomic) = op_code(op.kind);
        self.store_word(rq, abi::REQUEST_OFFSET_OP, code)?;
        self.store_word(
            rq,
            abi::REQUEST_OFFSET_FLAGS,
            request_flags(op, self.ir.stage),
        )?;
        self.store_word(rq, abi::REQUEST_OFFSET_LANES, self.w)?;
        let p = self.byte_ptr(rq, self.i64c(abi::REQUEST_OFFSET_MASK as u64))?;
        self.b.build_store(p, bits)?;
        let component = match op.kind {
            ImageOpKind::Gather { component } => u32::from(component),
            _ => 0,
        };
        self.store_word(rq, abi::REQUEST_OFFSET_COMPONENT, component)?;
        self.store_word(rq, abi::REQUEST_OFFSET_ATOMIC_OP, atomic)?;
        let coord_count = op.coords.len().saturating_sub(usize::from(op.proj));
        self.store_word(rq, abi::REQUEST_OFFSET_COORD_COUNT, coord_count as u32)?;
        self.store_rows(rq, abi::REQUEST_OFFSET_COORDS, &op.coords)?;
        match &op.lod {
            ImageLod::None | ImageLod::Implicit => {}
            ImageLod::Bias(v) | ImageLod::Explicit(v) => {
                self.store_row(rq, abi::REQUEST_OFFSET_LOD, *v)?
            }
            ImageLod::Grad { ddx, ddy } => {
                self.store_rows(rq, abi::REQUEST_OFFSET_DDX, ddx)?;
                self.store_rows(rq, abi::REQUEST_OFFSET_DDY, ddy)?;
            }
        }
        if let Some(d) = op.dref {
            self.store_row(rq, abi::REQUEST_OFFSET_DREF, d)?;
        }
        if let Some(m) = op.min_lod {
            self.store_row(rq, abi::REQUEST_OFFSET_MIN_LOD, m)?;
        }
        self.store_rows(rq, abi::REQUEST_OFFSET_OFFSET, &op.offset)?;
        if let Some(s) = op.sample {
            self.store_row(rq, abi::REQUEST_OFFSET_SAMPLE, s)?;
        }
        self.store_rows(rq, abi::REQUEST_OFFSET_TEXEL, &op.texel)?;

        let (image, sampler) = self.descriptors(&ic, op, mask)?;
        let ptr_t = self.cx.ptr_type(inkwell::AddressSpace::default());
        let fn_t = self.cx.void_type().fn_type(
            &[ptr_t.into(), ptr_t.into(), ptr_t.into(), ptr_t.into()],
            false,
        );
        self.b.build_indirect_call(
            fn_t,
            ic.op_fn,
            &[image.into(), sampler.into(), rq.into(), ic.result.into()],
            "",
        )?;
        self.b.build_unconditional_branch(done_bb)?;
        self.b.position_at_end(done_bb);

        for (c, r) in results.iter().enumerate() {
            let t = self.vtype(*r)?;
            let p = self.byte_ptr(ic.result, self.i64c((c * abi::IMAGE_ROW_SIZE) as u64))?;
            let ty: BasicTypeEnum<'ctx> = self.vty(t).into();
            let v = self.b.build_load(ty, p, "")?;
            if let Some(i) = v.as_instruction_value() {
                i.set_alignment(64)
                    .map_err(|e| CodegenError::Unsupported(e.to_string()))?;
            }
            self.define(*r, t, Val::vary(v))?;
        }
        Ok(())
    }

    /// The image descriptor and the sampler (the slot's own for combined slots, the separate
    /// sampler for sampled slots, null for operations without one). A dynamically indexed
    /// array (`ImageOp::image_index` / `sampler_index`) takes its element from the index value
    /// of the first lane in `mask`: Vulkan requires such indices to be dynamically uniform
    /// (`shader*ArrayDynamicIndexing`), so every executing lane holds the same value and any
    /// of them may be read. An index at or past the array's length selects the null
    /// descriptor: the helper gets a null image pointer (and a null sampler), so samples and
    /// reads give zeros and writes and atomics are dropped; no slot outside the run is read.
    fn descriptors(
        &self,
        ic: &ImageCtx<'ctx>,
        op: &ImageOp,
        mask: VectorValue<'ctx>,
    ) -> R<(PointerValue<'ctx>, PointerValue<'ctx>)> {
        let ptr_t = self.cx.ptr_type(inkwell::AddressSpace::default());
        let image_elem = self.array_element(op.image, op.image_index, mask)?;
        let slot_off =
            self.b
                .build_int_mul(image_elem.slot, self.i64c(abi::IMAGE_SLOT_SIZE as u64), "")?;
        let slot = self.byte_ptr(ic.images, slot_off)?;
        let image = self.b.build_load(ptr_t, slot, "")?.into_pointer_value();
        let (sampler, sampler_in_range) = match op.sampler {
            Some(j) => {
                let e = self.array_element(j, op.sampler_index, mask)?;
                let off = self.b.build_int_mul(e.slot, self.i64c(8), "")?;
                let p = self.byte_ptr(ic.samplers, off)?;
                let s = self.b.build_load(ptr_t, p, "")?.into_pointer_value();
                (s, e.in_range)
            }
            None if op.kind.is_sampling() => {
                let off = core::mem::offset_of!(abi::ImageSlot, sampler) as u64;
                let p = self.byte_ptr(slot, self.i64c(off))?;
                let s = self.b.build_load(ptr_t, p, "")?.into_pointer_value();
                (s, None)
            }
            None => (ptr_t.const_null(), None),
        };
        let in_range = match (image_elem.in_range, sampler_in_range) {
            (Some(a), Some(b)) => Some(self.b.build_and(a, b, "")?),
            (a, b) => a.or(b),
        };
        let Some(in_range) = in_range else {
            return Ok((image, sampler));
        };
        let null = ptr_t.const_null();
        let image = self.b.build_select(in_range, image, null, "")?;
        let sampler = self.b.build_select(in_range, sampler, null, "")?;
        Ok((image.into_pointer_value(), sampler.into_pointer_value()))
    }

    /// The slot (i64) an operation reads from a run starting at `first`: `first` itself for a
    /// fixed slot; for a dynamic index, `first + index` when `index < len` (unsigned), else
    /// `first` (a slot of the run, read but not used) with `in_range` false.
    pub(super) fn array_element(
        &self,
        first: u32,
        dynamic: Option<DescriptorIndex>,
        mask: VectorValue<'ctx>,
    ) -> R<ArrayElement<'ctx>> {
        let i64t = self.cx.i64_type();
        let first_c = self.i64c(u64::from(first));
        let Some(d) = dynamic else {
            return Ok(ArrayElement {
                slot: first_c,
                in_range: None,
            });
        };
        let v = self.val(d.index)?;
        let index = if v.uniform {
            v.v.into_int_value()
        } else {
            let lane = self.first_lane(mask)?;
            self.b
                .build_extract_element(v.v.into_vector_value(), lane, "")?
                .into_int_value()
        };
        let index = self.b.build_int_z_extend_or_bit_cast(index, i64t, "")?;
        let in_range =
            self.b
                .build_int_compare(IntPredicate::ULT, index, self.i64c(u64::from(d.len)), "")?;
        let offset = self
            .b
            .build_select(in_range, index, i64t.const_zero(), "")?
            .into_int_value();
        Ok(ArrayElement {
            slot: self.b.build_int_add(first_c, offset, "")?,
            in_range: Some(in_range),
        })
    }

    /// `Op::Derivative`: differences across each 2×2 quad (see the module docs).
    pub fn lower_derivative(
        &mut self,
        axis: DerivAxis,
        fine: bool,
        value: ValueId,
    ) -> R<Val<'ctx>> {
        if self.ir.stage != Stage::Fragment || !self.w.is_multiple_of(4) {
            return Err(CodegenError::Unsupported(
                "derivatives outside a fragment shader".into(),
            ));
        }
        let v = self.val(value)?;
        if v.uniform {
            // The same value in every lane: no difference.
            return Ok(Val::uni(self.fconst(0.0, false)));
        }
        let v = v.v.into_vector_value();
        // For each lane: (the lane it subtracts from, the lane it subtracts).
        let pair = |lane: u32| -> (u32, u32) {
            let q = lane & !3;
            let (col, row) = (lane & 1, (lane >> 1) & 1);
            match (axis, fine) {
                (DerivAxis::X, false) => (q + 1, q),
                (DerivAxis::Y, false) => (q + 2, q),
                (DerivAxis::X, true) => (q + 2 * row + 1, q + 2 * row),
                (DerivAxis::Y, true) => (q + 2 + col, q + col),
            }
        };
        let i32t = self.cx.i32_type();
        let idx = |f: &dyn Fn(u32) -> u32| -> inkwell::values::VectorValue<'ctx> {
            let lanes: Vec<IntValue<'ctx>> = (0..self.w)
                .map(|l| i32t.const_int(u64::from(f(l)), false))
                .collect();
            inkwell::types::VectorType::const_vector(&lanes)
        };
        let hi = idx(&|l| pair(l).0);
        let lo = idx(&|l| pair(l).1);
        let a = self.b.build_shuffle_vector(v, v, hi, "")?;
        let b = self.b.build_shuffle_vector(v, v, lo, "")?;
        let d: BasicValueEnum<'ctx> = self.b.build_float_sub(a, b, "")?.into();
        Ok(Val::vary(d))
    }
}
