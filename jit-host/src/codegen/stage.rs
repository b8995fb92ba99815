//! Vertex and fragment entry points (`shader::abi`, graphics part).
//!
//! Both stages run [`abi::GRAPHICS_LANES`] lanes per SIMD group, whatever the target's compute
//! width. A vertex kernel loops over `ceil(count / 8)` groups of the call; a fragment kernel
//! loops over the `count` batches of its batch array, one pass of the body per batch. Stage
//! inputs and outputs are contiguous 8-word groups per slot, so each
//! `Op::Input` is one vector load and each output one vector store at the end of the group.
//!
//! Fragment lanes: every lane computes (helpers too, for derivatives); a *survive* mask —
//! live at entry, not killed, not demoted — gates stores and atomics and is the kernel's
//! batch's result (written back into its `live` word). `Kill` also ends the lane like `Return`; `Demote` only clears it from the
//! survive mask. `FragDepth`'s var starts at the incoming output word so that a shader that
//! does not write it keeps the rasterizer's depth.

use std::collections::HashMap;

use inkwell::context::Context;
use inkwell::module::Module as LlModule;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValueEnum, IntValue, PointerValue, VectorValue};
use inkwell::IntPredicate;
use shader::abi;
use shader::ir::{self, Builtin, OutputTarget, ScalarType, Stage};

use super::analysis::Analysis;
use super::emit::{Val, R};
use super::kernel::{declare_entry, load_buffers, Gen};
use super::{CodegenError, Target};

// The live mask is read as one byte of lane bits.
const _: () = assert!(abi::GRAPHICS_LANES == 8);

/// Lanes of a graphics group, as the code generator's width.
const LANES: u32 = abi::GRAPHICS_LANES as u32;
/// Bytes of one slot's words in a group.
const SLOT_BYTES: u64 = 4 * abi::GRAPHICS_LANES as u64;

/// Where the current group's interface values live.
#[derive(Clone, Copy)]
pub(super) struct StageIo<'ctx> {
    pub stage: Stage,
    /// This group's input words (slot-major, [`SLOT_BYTES`] per slot).
    pub inputs: PointerValue<'ctx>,
    /// This group's output words.
    pub outputs: PointerValue<'ctx>,
    /// Vertex: this group's 8 `VertexIndex` words. Fragment: the current `FragmentBatchIo`.
    pub lanes_base: PointerValue<'ctx>,
    /// Vertex: InstanceIndex, BaseVertex, BaseInstance (i32).
    pub instance_index: IntValue<'ctx>,
    pub base_vertex: IntValue<'ctx>,
    pub base_instance: IntValue<'ctx>,
    /// Fragment: FrontFacing (i1).
    pub front_facing: IntValue<'ctx>,
    /// Vertex and fragment: ViewIndex (i32), from the context.
    pub view_index: IntValue<'ctx>,
    /// Fragment: lanes live at entry (`<8 x i1>`); all lanes for vertex.
    pub live: VectorValue<'ctx>,
    /// Fragment: `<8 x i1>` alloca, lanes live and neither killed nor demoted.
    pub survive_slot: PointerValue<'ctx>,
}

fn align64(x: u64) -> u64 {
    x.div_ceil(64) * 64
}

/// Builds a vertex or fragment entry into `llmod`; returns the scratch size it needs.
pub(super) fn build_graphics<'ctx>(
    cx: &'ctx Context,
    llmod: &LlModule<'ctx>,
    module: &ir::Module,
    target: &Target,
) -> Result<u32, CodegenError> {
    let an = Analysis::run(module, LANES);
    if an.has_barrier {
        return Err(CodegenError::Unsupported(format!(
            "workgroup barrier in a {:?} shader",
            module.stage
        )));
    }
    if module.workgroup_memory_size != 0 {
        return Err(CodegenError::Unsupported(format!(
            "workgroup memory in a {:?} shader",
            module.stage
        )));
    }
    let ptr_t = cx.ptr_type(inkwell::AddressSpace::default());
    let i32t = cx.i32_type();
    let fn_t = match module.stage {
        Stage::Vertex => cx.void_type().fn_type(&[ptr_t.into(), i32t.into()], false),
        Stage::Fragment => cx
            .void_type()
            .fn_type(&[ptr_t.into(), ptr_t.into(), i32t.into()], false),
        Stage::Compute => {
            return Err(CodegenError::Unsupported(
                "a compute module has no graphics entry".into(),
            ))
        }
    };
    let func = declare_entry(
        cx,
        llmod,
        abi::entry_symbol(module.stage),
        fn_t,
        target,
        LANES,
    );
    let entry = cx.append_basic_block(func, "entry");
    let b = cx.create_builder();
    let ab = cx.create_builder();
    b.position_at_end(entry);
    let params = func.get_params();
    // Vertex: (ctx, count). Fragment: (ctx, batches, count).
    let (ctx_p, arg, batch_count) = match (module.stage, params.as_slice()) {
        (Stage::Vertex, [c, a]) => (c.into_pointer_value(), *a, i32t.const_zero()),
        (Stage::Fragment, [c, a, n]) => (c.into_pointer_value(), *a, n.into_int_value()),
        _ => return Err(CodegenError::Missing("kernel parameters".into())),
    };
    let (off_bufs, off_push, off_push_len, off_scratch) = match module.stage {
        Stage::Vertex => (
            abi::VERTEX_OFFSET_BUFFERS,
            abi::VERTEX_OFFSET_PUSH_CONSTANTS,
            abi::VERTEX_OFFSET_PUSH_CONSTANTS_LEN,
            abi::VERTEX_OFFSET_SCRATCH,
        ),
        _ => (
            abi::FRAGMENT_OFFSET_BUFFERS,
            abi::FRAGMENT_OFFSET_PUSH_CONSTANTS,
            abi::FRAGMENT_OFFSET_PUSH_CONSTANTS_LEN,
            abi::FRAGMENT_OFFSET_SCRATCH,
        ),
    };
    let ld = |base: PointerValue<'ctx>,
              off: usize,
              ty: BasicTypeEnum<'ctx>|
     -> R<BasicValueEnum<'ctx>> {
        // SAFETY: constant in-struct offset of a repr(C) ABI struct; address arithmetic only.
        let p = unsafe {
            b.build_gep(
                cx.i8_type(),
                base,
                &[cx.i64_type().const_int(off as u64, false)],
                "",
            )?
        };
        Ok(b.build_load(ty, p, "")?)
    };
    let bufs_p = ld(ctx_p, off_bufs, ptr_t.into())?.into_pointer_value();
    let push_ptr = ld(ctx_p, off_push, ptr_t.into())?.into_pointer_value();
    let push_len32 = ld(ctx_p, off_push_len, i32t.into())?.into_int_value();
    let push_len = b.build_int_z_extend(push_len32, cx.i64_type(), "")?;
    let scratch = ld(ctx_p, off_scratch, ptr_t.into())?.into_pointer_value();
    let (buf_base, buf_len) = load_buffers(cx, &b, bufs_p, module.buffers.len())?;

    let mask_t = cx.bool_type().vec_type(LANES);
    let one = cx.bool_type().const_int(1, false);
    let all_lanes = inkwell::types::VectorType::const_vector(&[one; abi::GRAPHICS_LANES]);
    let mut io = StageIo {
        stage: module.stage,
        inputs: ptr_t.const_null(),
        outputs: ptr_t.const_null(),
        lanes_base: ptr_t.const_null(),
        instance_index: i32t.const_zero(),
        base_vertex: i32t.const_zero(),
        base_instance: i32t.const_zero(),
        front_facing: cx.bool_type().const_zero(),
        view_index: i32t.const_zero(),
        live: all_lanes,
        survive_slot: ptr_t.const_null(),
    };
    match module.stage {
        Stage::Vertex => {
            io.instance_index =
                ld(ctx_p, abi::VERTEX_OFFSET_INSTANCE_INDEX, i32t.into())?.into_int_value();
            io.base_vertex =
                ld(ctx_p, abi::VERTEX_OFFSET_BASE_VERTEX, i32t.into())?.into_int_value();
            io.base_instance =
                ld(ctx_p, abi::VERTEX_OFFSET_BASE_INSTANCE, i32t.into())?.into_int_value();
            io.lanes_base =
                ld(ctx_p, abi::VERTEX_OFFSET_VERTEX_INDICES, ptr_t.into())?.into_pointer_value();
            io.inputs = ld(ctx_p, abi::VERTEX_OFFSET_INPUTS, ptr_t.into())?.into_pointer_value();
            io.outputs = ld(ctx_p, abi::VERTEX_OFFSET_OUTPUTS, ptr_t.into())?.into_pointer_value();
            io.view_index = ld(ctx_p, abi::VERTEX_OFFSET_VIEW_INDEX, i32t.into())?.into_int_value();
        }
        _ => {
            io.view_index =
                ld(ctx_p, abi::FRAGMENT_OFFSET_VIEW_INDEX, i32t.into())?.into_int_value();
            // The per-batch fields are read inside the batch loop (`fragment_batches`).
            io.lanes_base = arg.into_pointer_value();
        }
    }

    let private_bytes = align64(u64::from(LANES) * u64::from(module.private_memory_size));
    let scratch_size = u32::try_from(private_bytes)
        .map_err(|_| CodegenError::Unsupported("kernel needs more than 4 GiB of scratch".into()))?;

    let mut g = Gen {
        cx,
        module: llmod,
        b,
        ab,
        func,
        entry,
        ir: module,
        an,
        w: LANES,
        groups: 1,
        invocations: LANES,
        has_barrier: false,
        buf_base,
        buf_len,
        buf_table: bufs_p,
        push_ptr,
        push_len,
        wg_mem: ptr_t.const_null(),
        scratch,
        num_wg: [i32t.const_zero(); 3],
        wg_id: [i32t.const_zero(); 3],
        // Private memory is indexed by subgroup: there is one group per pass here.
        group: i32t.const_zero(),
        mask_slot: ptr_t.const_null(),
        alive_slot: ptr_t.const_null(),
        pending_slot: ptr_t.const_null(),
        group_end: None,
        values: vec![None; module.value_types.len()],
        var_slots: Vec::new(),
        lane_stack: Vec::new(),
        wg_labels: HashMap::new(),
        wg_label_blocks: HashMap::new(),
        private_off: 0,
        spill_off: HashMap::new(),
        remat: HashMap::new(),
        var_off: Vec::new(),
        alive_off: 0,
        gfx: None,
        img: None,
    };
    let resources_off = match module.stage {
        Stage::Vertex => abi::VERTEX_OFFSET_IMAGE_RESOURCES,
        _ => abi::FRAGMENT_OFFSET_IMAGE_RESOURCES,
    };
    g.init_images(ctx_p, resources_off)?;
    g.mask_slot = g.alloca(mask_t.into())?;
    g.alive_slot = g.alloca(mask_t.into())?;
    g.pending_slot = g.alloca(i32t.into())?;
    io.survive_slot = g.alloca(mask_t.into())?;
    for (i, t) in module.var_types.iter().enumerate() {
        let ty = if g.an.var_uniform.get(i).copied().unwrap_or(false) {
            g.sty(*t)
        } else {
            g.vty(*t).into()
        };
        let slot = g.alloca(ty)?;
        g.var_slots.push(slot);
    }
    match module.stage {
        Stage::Vertex => g.vertex_groups(io, arg.into_int_value(), private_bytes)?,
        _ => g.fragment_batches(io, batch_count, private_bytes)?,
    }
    Ok(scratch_size)
}

impl<'ctx> Gen<'ctx, '_> {
    /// `for g in 0..ceil(count / 8)`: one pass of the body per group, then its outputs.
    fn vertex_groups(&mut self, io: StageIo<'ctx>, count: IntValue<'ctx>, private: u64) -> R<()> {
        let i32t = self.cx.i32_type();
        let i64t = self.cx.i64_type();
        let eight = i32t.const_int(u64::from(LANES), false);
        // ceil(count / 8) without overflow.
        let whole = self.b.build_int_unsigned_div(count, eight, "")?;
        let rest = self.b.build_int_unsigned_rem(count, eight, "")?;
        let partial = self
            .b
            .build_int_compare(IntPredicate::NE, rest, i32t.const_zero(), "")?;
        let partial = self.b.build_int_z_extend(partial, i32t, "")?;
        let ngroups = self.b.build_int_add(whole, partial, "")?;
        let pre = self
            .b
            .get_insert_block()
            .ok_or_else(|| CodegenError::Missing("block".into()))?;
        let (head, body, done) = (
            self.new_block("vg.head"),
            self.new_block("vg.body"),
            self.new_block("vg.done"),
        );
        self.b.build_unconditional_branch(head)?;
        self.b.position_at_end(head);
        let gphi = self.b.build_phi(i32t, "g")?;
        gphi.add_incoming(&[(&i32t.const_zero(), pre)]);
        let gv = gphi.as_basic_value().into_int_value();
        let more = self
            .b
            .build_int_compare(IntPredicate::ULT, gv, ngroups, "")?;
        self.b.build_conditional_branch(more, body, done)?;
        self.b.position_at_end(body);

        // Group g's words: inputs / outputs at g * slots * 32 bytes, indices at g * 32.
        let g64 = self.b.build_int_z_extend(gv, i64t, "")?;
        let at = |g: &Self, slots: usize| -> R<IntValue<'ctx>> {
            let per = (slots as u64).saturating_mul(SLOT_BYTES);
            Ok(g.b.build_int_mul(g64, g.i64c(per), "")?)
        };
        let mut gio = io;
        gio.inputs = self.byte_ptr(io.inputs, at(self, self.ir.inputs.len())?)?;
        gio.outputs = self.byte_ptr(io.outputs, at(self, self.ir.outputs.len())?)?;
        gio.lanes_base = self.byte_ptr(io.lanes_base, at(self, 1)?)?;
        self.gfx = Some(gio);

        // Lanes below count: count - 8g > 0 here (g < ceil(count / 8)), so no overflow.
        let first = self.b.build_int_mul(gv, eight, "")?;
        let left = self.b.build_int_sub(count, first, "")?;
        let left = self.splat(left.into())?.into_vector_value();
        let active = self
            .b
            .build_int_compare(IntPredicate::ULT, self.iota(), left, "")?;
        self.run_body(active, private)?;

        let latch = self
            .b
            .get_insert_block()
            .ok_or_else(|| CodegenError::Missing("block".into()))?;
        let next = self.b.build_int_add(gv, i32t.const_int(1, false), "")?;
        gphi.add_incoming(&[(&next, latch)]);
        self.b.build_unconditional_branch(head)?;
        self.b.position_at_end(done);
        self.b.build_return(None)?;
        Ok(())
    }

    /// `for i in 0..count`: one pass of the body per batch of the array at `io.lanes_base`,
    /// then the batch's survive mask into its `live` word.
    fn fragment_batches(
        &mut self,
        io: StageIo<'ctx>,
        count: IntValue<'ctx>,
        private: u64,
    ) -> R<()> {
        let i32t = self.cx.i32_type();
        let i64t = self.cx.i64_type();
        let ptr_t = self.cx.ptr_type(inkwell::AddressSpace::default());
        let mt = self.cx.bool_type().vec_type(self.w);
        let pre = self
            .b
            .get_insert_block()
            .ok_or_else(|| CodegenError::Missing("block".into()))?;
        let (head, body, done) = (
            self.new_block("fb.head"),
            self.new_block("fb.body"),
            self.new_block("fb.done"),
        );
        self.b.build_unconditional_branch(head)?;
        self.b.position_at_end(head);
        let iphi = self.b.build_phi(i32t, "batch")?;
        iphi.add_incoming(&[(&i32t.const_zero(), pre)]);
        let iv = iphi.as_basic_value().into_int_value();
        let more = self.b.build_int_compare(IntPredicate::ULT, iv, count, "")?;
        self.b.build_conditional_branch(more, body, done)?;
        self.b.position_at_end(body);

        // Batch i at i * FRAGMENT_BATCH_SIZE (i < 2^32: no overflow in 64 bits).
        let i64v = self.b.build_int_z_extend(iv, i64t, "")?;
        let at = self
            .b
            .build_int_mul(i64v, self.i64c(abi::FRAGMENT_BATCH_SIZE as u64), "")?;
        let batch = self.byte_ptr(io.lanes_base, at)?;
        let field = |g: &Self, off: usize| g.byte_ptr(batch, g.i64c(off as u64));
        let mut bio = io;
        bio.lanes_base = batch;
        let p = field(self, abi::BATCH_OFFSET_INPUTS)?;
        bio.inputs = self.b.build_load(ptr_t, p, "")?.into_pointer_value();
        let p = field(self, abi::BATCH_OFFSET_OUTPUTS)?;
        bio.outputs = self.b.build_load(ptr_t, p, "")?.into_pointer_value();
        let p = field(self, abi::BATCH_OFFSET_FRONT_FACING)?;
        let ff = self.b.build_load(i32t, p, "")?.into_int_value();
        bio.front_facing = self
            .b
            .build_int_compare(IntPredicate::NE, ff, i32t.const_zero(), "")?;
        let live_p = field(self, abi::BATCH_OFFSET_LIVE)?;
        let live = self.b.build_load(i32t, live_p, "")?.into_int_value();
        // Bits above lane 7 are ignored (GRAPHICS_LANES == 8: one byte of lane bits).
        let live = self.b.build_int_truncate(live, self.cx.i8_type(), "")?;
        bio.live = self.b.build_bit_cast(live, mt, "")?.into_vector_value();
        self.gfx = Some(bio);

        self.b.build_store(bio.survive_slot, bio.live)?;
        self.run_body(self.all_true(), private)?;
        let survive = self
            .b
            .build_load(mt, bio.survive_slot, "")?
            .into_vector_value();
        let bits = self.mask_bits(survive)?;
        let bits = self.b.build_int_z_extend(bits, i32t, "")?;
        self.b.build_store(live_p, bits)?;

        let latch = self
            .b
            .get_insert_block()
            .ok_or_else(|| CodegenError::Missing("block".into()))?;
        let next = self.b.build_int_add(iv, i32t.const_int(1, false), "")?;
        iphi.add_incoming(&[(&next, latch)]);
        self.b.build_unconditional_branch(head)?;
        self.b.position_at_end(done);
        self.b.build_return(None)?;
        Ok(())
    }

    /// Runs the body once for the current group with `active` lanes, then stores its outputs.
    fn run_body(&mut self, active: VectorValue<'ctx>, private: u64) -> R<()> {
        self.zero_bytes(self.scratch, private)?;
        self.values = vec![None; self.ir.value_types.len()];
        self.b.build_store(self.alive_slot, active)?;
        self.b.build_store(self.mask_slot, active)?;
        self.load_vars()?;
        self.init_frag_depth()?;
        let end = self.new_block("group.end");
        self.group_end = Some(end);
        let ir = self.ir;
        self.lower_stmts(&ir.body, true)?;
        if !self.terminated() {
            self.b.build_unconditional_branch(end)?;
        }
        self.b.position_at_end(end);
        self.group_end = None;
        self.store_outputs()
    }

    fn io(&self) -> R<StageIo<'ctx>> {
        self.gfx
            .ok_or_else(|| CodegenError::Unsupported("stage interface in a compute kernel".into()))
    }

    /// Pointer to word group `slot` of `base`.
    fn slot_words(&self, base: PointerValue<'ctx>, slot: usize) -> R<PointerValue<'ctx>> {
        self.byte_ptr(base, self.i64c((slot as u64).saturating_mul(SLOT_BYTES)))
    }

    fn init_frag_depth(&mut self) -> R<()> {
        let io = self.io()?;
        let ir = self.ir;
        for (slot, o) in ir.outputs.iter().enumerate() {
            if o.target != OutputTarget::FragDepth {
                continue;
            }
            let var = *self
                .var_slots
                .get(o.var.0 as usize)
                .ok_or_else(|| CodegenError::Missing(format!("{:?}", o.var)))?;
            // The analysis keeps this var varying (per-lane start value).
            let p = self.slot_words(io.outputs, slot)?;
            let v = self.load_as(self.vty(o.ty).into(), p)?;
            self.b.build_store(var, v)?;
        }
        Ok(())
    }

    fn store_outputs(&mut self) -> R<()> {
        let io = self.io()?;
        let ir = self.ir;
        for (slot, o) in ir.outputs.iter().enumerate() {
            let i = o.var.0 as usize;
            let var = *self
                .var_slots
                .get(i)
                .ok_or_else(|| CodegenError::Missing(format!("{:?}", o.var)))?;
            let t = self.ir.var_types.get(i).copied().unwrap_or(o.ty);
            if t != o.ty || !matches!(t, ScalarType::I32 | ScalarType::F32) {
                return Err(CodegenError::Unsupported(format!(
                    "output of type {:?} (var of type {t:?})",
                    o.ty
                )));
            }
            let uniform = self.an.var_uniform.get(i).copied().unwrap_or(false);
            let v = if uniform {
                let s = self.b.build_load(self.sty(t), var, "")?;
                self.splat(s)?
            } else {
                self.b.build_load(self.vty(t), var, "")?
            };
            let p = self.slot_words(io.outputs, slot)?;
            self.store_unaligned(p, v)?;
        }
        Ok(())
    }

    /// `Op::Input(i)`: one vector load of the slot's 8 words.
    pub fn lower_input(&mut self, i: u32, t: ScalarType) -> R<Val<'ctx>> {
        let io = self.io()?;
        let slot = self
            .ir
            .inputs
            .get(i as usize)
            .ok_or_else(|| CodegenError::Missing(format!("input slot {i}")))?;
        if slot.ty != t {
            return Err(CodegenError::Unsupported(format!(
                "input slot {i} of type {:?} read as {t:?}",
                slot.ty
            )));
        }
        let p = self.slot_words(io.inputs, i as usize)?;
        Ok(Val::vary(self.load_as(self.vty(t).into(), p)?))
    }

    /// Stores and atomics happen only in these lanes: the execution mask, less fragment
    /// helpers (not live, demoted).
    pub fn effect_mask(&self) -> R<VectorValue<'ctx>> {
        let m = self.mask()?;
        match self.gfx {
            Some(io) if io.stage == Stage::Fragment => {
                let mt = self.cx.bool_type().vec_type(self.w);
                let s = self
                    .b
                    .build_load(mt, io.survive_slot, "")?
                    .into_vector_value();
                Ok(self.b.build_and(m, s, "")?)
            }
            _ => Ok(m),
        }
    }

    /// `Op::IsHelperInvocation`: the current lane is not live or was demoted.
    pub fn is_helper(&self) -> R<Val<'ctx>> {
        let io = self.fragment_io("IsHelperInvocation")?;
        let mt = self.cx.bool_type().vec_type(self.w);
        let s = self
            .b
            .build_load(mt, io.survive_slot, "")?
            .into_vector_value();
        Ok(Val::vary(self.b.build_not(s, "")?.into()))
    }

    fn fragment_io(&self, what: &str) -> R<StageIo<'ctx>> {
        match self.gfx {
            Some(io) if io.stage == Stage::Fragment => Ok(io),
            _ => Err(CodegenError::Unsupported(format!(
                "{what} outside a fragment shader"
            ))),
        }
    }

    fn vertex_io(&self, what: &str) -> R<StageIo<'ctx>> {
        match self.gfx {
            Some(io) if io.stage == Stage::Vertex => Ok(io),
            _ => Err(CodegenError::Unsupported(format!(
                "{what} outside a vertex shader"
            ))),
        }
    }

    /// `Stmt::Kill` (the lanes of the mask end; `Return` does the rest) and `Stmt::Demote`:
    /// both take the lanes out of the survive mask.
    pub fn drop_from_survivors(&mut self, what: &str) -> R<()> {
        let io = self.fragment_io(what)?;
        let mt = self.cx.bool_type().vec_type(self.w);
        let m = self.mask()?;
        let s = self
            .b
            .build_load(mt, io.survive_slot, "")?
            .into_vector_value();
        let nm = self.b.build_not(m, "")?;
        let s = self.b.build_and(s, nm, "")?;
        self.b.build_store(io.survive_slot, s)?;
        Ok(())
    }

    /// Vertex and fragment builtins.
    pub fn graphics_builtin(&mut self, b: Builtin) -> R<Val<'ctx>> {
        Ok(match b {
            Builtin::VertexIndex => {
                let io = self.vertex_io("VertexIndex")?;
                let t = self.vty(ScalarType::I32);
                Val::vary(self.load_as(t.into(), io.lanes_base)?)
            }
            Builtin::InstanceIndex => {
                Val::uni(self.vertex_io("InstanceIndex")?.instance_index.into())
            }
            Builtin::BaseVertex => Val::uni(self.vertex_io("BaseVertex")?.base_vertex.into()),
            Builtin::BaseInstance => Val::uni(self.vertex_io("BaseInstance")?.base_instance.into()),
            Builtin::FragCoord(c @ (0 | 1)) => {
                // Pixel centres: (origin + lane offset) as f32 + 0.5, as the renderer computes
                // them (u32 wrapping add, round-to-nearest conversion, then one f32 add).
                let io = self.fragment_io("FragCoord")?;
                let field = if c == 0 {
                    abi::BATCH_OFFSET_X
                } else {
                    abi::BATCH_OFFSET_Y
                };
                let i32t = self.cx.i32_type();
                let p = self.byte_ptr(io.lanes_base, self.i64c(field as u64))?;
                let origin = self.b.build_load(i32t, p, "")?;
                let origin = self.splat(origin)?.into_vector_value();
                let offsets: Vec<IntValue<'ctx>> = abi::FRAGMENT_LANE_OFFSETS
                    .iter()
                    .map(|&(dx, dy)| i32t.const_int(u64::from(if c == 0 { dx } else { dy }), false))
                    .collect();
                let offsets = inkwell::types::VectorType::const_vector(&offsets);
                let pixel = self.b.build_int_add(origin, offsets, "")?;
                let ft = self.cx.f32_type();
                let pixel = self
                    .b
                    .build_unsigned_int_to_float(pixel, ft.vec_type(self.w), "")?;
                let half = self.splat(ft.const_float(0.5).into())?.into_vector_value();
                Val::vary(self.b.build_float_add(pixel, half, "")?.into())
            }
            Builtin::FragCoord(c) | Builtin::PointCoord(c) => {
                let io = self.fragment_io("FragCoord / PointCoord")?;
                // FragCoord z and w, PointCoord s and t: per-lane words behind a pointer.
                let (field, offset) = match (b, c) {
                    (Builtin::FragCoord(_), 2) => (abi::BATCH_OFFSET_DEPTH, 0),
                    (Builtin::FragCoord(_), 3) => (abi::BATCH_OFFSET_INV_W, 0),
                    (Builtin::PointCoord(_), 0 | 1) => (abi::BATCH_OFFSET_POINT_COORD, c),
                    _ => return Err(CodegenError::Unsupported(format!("{b:?}"))),
                };
                let ptr_t = self.cx.ptr_type(inkwell::AddressSpace::default());
                let p = self.byte_ptr(io.lanes_base, self.i64c(field as u64))?;
                let words = self.b.build_load(ptr_t, p, "")?.into_pointer_value();
                let p = self.byte_ptr(words, self.i64c(u64::from(offset) * SLOT_BYTES))?;
                let t = self.vty(ScalarType::F32);
                Val::vary(self.load_as(t.into(), p)?)
            }
            Builtin::FrontFacing => Val::uni(self.fragment_io("FrontFacing")?.front_facing.into()),
            Builtin::ViewIndex => {
                let io = self.gfx.ok_or_else(|| {
                    CodegenError::Unsupported(format!(
                        "builtin ViewIndex in a {:?} shader",
                        self.ir.stage
                    ))
                })?;
                Val::uni(io.view_index.into())
            }
            Builtin::HelperInvocation => {
                let io = self.fragment_io("HelperInvocation")?;
                Val::vary(self.b.build_not(io.live, "")?.into())
            }
            other => {
                return Err(CodegenError::Unsupported(format!(
                    "builtin {other:?} in a {:?} shader",
                    self.ir.stage
                )))
            }
        })
    }
}
