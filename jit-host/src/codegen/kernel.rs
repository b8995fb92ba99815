//! The kernel skeleton: entry, the loop over the workgroup range, and the parallel regions.
//!
//! A workgroup of N invocations is G = ceil(N / W) subgroups of W lanes. Without barriers the
//! whole body is one *region*: a loop over the G subgroups running the body with W lanes. With
//! barriers (DESIGN §4, PoCL-style parallel regions) the body is cut at every barrier; each
//! barrier-free run of statements is a region, and statements that contain a barrier (ifs,
//! loops, breakable blocks — workgroup-uniform by the Vulkan rules) become workgroup-level
//! control flow around their regions. Values and vars that live from one region into another
//! are kept per subgroup in the thread's scratch memory, as is each subgroup's "alive" mask.

use std::collections::{HashMap, HashSet};

use inkwell::attributes::AttributeLoc;
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module as LlModule};
use inkwell::values::{BasicValueEnum, FunctionValue, IntValue, PointerValue};
use inkwell::IntPredicate;
use shader::abi;
use shader::ir::{self, LabelId, Op, ScalarType, Stmt, ValueId};

use super::analysis::{stmt_contains_barrier, Analysis};
use super::emit::{Val, R};
use super::lane::LaneConstruct;
use super::stage::StageIo;
use super::{CodegenError, Target};

/// Pending-exit code meaning "some lanes returned" (see `Gen::pending_slot`).
pub(super) const PENDING_RETURN: u64 = u32::MAX as u64;

pub(super) struct Gen<'ctx, 'm> {
    pub cx: &'ctx Context,
    pub module: &'m LlModule<'ctx>,
    pub b: Builder<'ctx>,
    /// Builder for allocas in the entry block.
    pub ab: Builder<'ctx>,
    pub func: FunctionValue<'ctx>,
    pub entry: BasicBlock<'ctx>,
    pub ir: &'m ir::Module,
    pub an: Analysis,
    pub w: u32,
    /// Subgroups per workgroup.
    pub groups: u32,
    pub invocations: u32,
    pub has_barrier: bool,

    pub buf_base: Vec<PointerValue<'ctx>>,
    pub buf_len: Vec<IntValue<'ctx>>,
    /// The context's buffer descriptor table (`module.buffers.len()` descriptors), for
    /// dynamically indexed buffer arrays.
    pub buf_table: PointerValue<'ctx>,
    pub push_ptr: PointerValue<'ctx>,
    pub push_len: IntValue<'ctx>,
    pub wg_mem: PointerValue<'ctx>,
    pub scratch: PointerValue<'ctx>,
    pub num_wg: [IntValue<'ctx>; 3],
    pub wg_id: [IntValue<'ctx>; 3],

    /// Current subgroup index (i32), valid inside a region.
    pub group: IntValue<'ctx>,
    /// `<W x i1>` execution mask of the current point.
    pub mask_slot: PointerValue<'ctx>,
    /// `<W x i1>` lanes of the current subgroup that have not returned.
    pub alive_slot: PointerValue<'ctx>,
    /// i32 code of a pending workgroup-level exit out of the current region (0 = none).
    pub pending_slot: PointerValue<'ctx>,
    /// Block that ends the current subgroup's pass through the current region.
    pub group_end: Option<BasicBlock<'ctx>>,
    pub values: Vec<Option<Val<'ctx>>>,
    pub var_slots: Vec<PointerValue<'ctx>>,
    pub lane_stack: Vec<LaneConstruct<'ctx>>,
    /// Workgroup-level labels → their pending-exit code base.
    pub wg_labels: HashMap<LabelId, u64>,
    /// Workgroup-level labels → (exit block, continuing block for loops).
    pub wg_label_blocks: HashMap<LabelId, (BasicBlock<'ctx>, Option<BasicBlock<'ctx>>)>,

    // Scratch layout (bytes from `scratch`).
    pub private_off: u64,
    pub spill_off: HashMap<ValueId, u64>,
    /// Values live across a barrier that are recomputed in each region that reads them
    /// instead of being spilled (see `rematerializable`), with their definitions.
    pub remat: HashMap<ValueId, &'m Op>,
    pub var_off: Vec<u64>,
    pub alive_off: u64,
    /// Vertex / fragment interface (None for compute kernels).
    pub gfx: Option<StageIo<'ctx>>,
    /// Image state (None for modules without image slots).
    pub img: Option<super::image::ImageCtx<'ctx>>,
}

fn align64(x: u64) -> u64 {
    x.div_ceil(64) * 64
}

/// A statement list cut at barriers.
enum WgNode<'a> {
    Region(&'a [Stmt]),
    If {
        cond: ValueId,
        then_body: Vec<WgNode<'a>>,
        else_body: Vec<WgNode<'a>>,
    },
    Loop {
        label: LabelId,
        body: Vec<WgNode<'a>>,
        continuing: Vec<WgNode<'a>>,
    },
    Breakable {
        label: LabelId,
        body: Vec<WgNode<'a>>,
    },
}

fn split_regions(stmts: &[Stmt]) -> Vec<WgNode<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, s) in stmts.iter().enumerate() {
        if !stmt_contains_barrier(s) {
            continue;
        }
        if start < i {
            out.push(WgNode::Region(&stmts[start..i]));
        }
        start = i + 1;
        match s {
            Stmt::If {
                cond,
                then_body,
                else_body,
            } => out.push(WgNode::If {
                cond: *cond,
                then_body: split_regions(then_body),
                else_body: split_regions(else_body),
            }),
            Stmt::Loop {
                label,
                body,
                continuing,
            } => out.push(WgNode::Loop {
                label: *label,
                body: split_regions(body),
                continuing: split_regions(continuing),
            }),
            Stmt::Breakable { label, body } => out.push(WgNode::Breakable {
                label: *label,
                body: split_regions(body),
            }),
            _ => {} // the barrier itself only separates regions
        }
    }
    if start < stmts.len() {
        out.push(WgNode::Region(&stmts[start..]));
    }
    out
}

/// Values used by `stmts` (operands, offsets, conditions) and values they define.
pub(super) fn uses_defs(stmts: &[Stmt], uses: &mut HashSet<ValueId>, defs: &mut HashSet<ValueId>) {
    for s in stmts {
        match s {
            Stmt::Def { id, op } => {
                defs.insert(*id);
                op_operands(op, &mut |v| {
                    uses.insert(v);
                });
            }
            Stmt::Store { mem, value } | Stmt::AtomicStore { mem, value } => {
                uses.extend(mem.operands());
                uses.insert(*value);
            }
            Stmt::SetVar { value, .. } => {
                uses.insert(*value);
            }
            Stmt::If {
                cond,
                then_body,
                else_body,
            } => {
                uses.insert(*cond);
                uses_defs(then_body, uses, defs);
                uses_defs(else_body, uses, defs);
            }
            Stmt::Loop {
                body, continuing, ..
            } => {
                uses_defs(body, uses, defs);
                uses_defs(continuing, uses, defs);
            }
            Stmt::Breakable { body, .. } => uses_defs(body, uses, defs),
            Stmt::Image { results, op } => {
                uses.extend(op.operands());
                defs.extend(results.iter().copied());
            }
            _ => {}
        }
    }
}

pub(super) fn op_operands(op: &Op, f: &mut impl FnMut(ValueId)) {
    use ir::SubgroupOp as S;
    match op {
        Op::Const(_)
        | Op::Undef
        | Op::Builtin(_)
        | Op::GetVar(_)
        | Op::BufferLength(_)
        | Op::Input(_)
        | Op::IsHelperInvocation => {}
        Op::Unary(_, a) | Op::Convert(_, a) | Op::Derivative { value: a, .. } => f(*a),
        Op::Binary(_, a, b) | Op::Cmp(_, a, b) => {
            f(*a);
            f(*b)
        }
        Op::Fma(a, b, c) | Op::Select(a, b, c) => {
            f(*a);
            f(*b);
            f(*c)
        }
        Op::Load(m) => m.operands().for_each(f),
        Op::Atomic {
            mem,
            value,
            comparator,
            ..
        } => {
            mem.operands().for_each(&mut *f);
            f(*value);
            if let Some(c) = comparator {
                f(*c)
            }
        }
        Op::Subgroup(sg) => match sg {
            S::Elect => {}
            S::All(v) | S::Any(v) | S::AllEqual(v) | S::Ballot(v) | S::BroadcastFirst(v) => f(*v),
            S::Shuffle { value, index } => {
                f(*value);
                f(*index)
            }
            S::Scan { value, .. } => f(*value),
        },
    }
}

fn collect_cross_region(
    nodes: &[WgNode],
    remat: &HashMap<ValueId, &Op>,
    spilled: &mut HashSet<ValueId>,
) {
    for n in nodes {
        match n {
            WgNode::Region(stmts) => {
                let (mut uses, mut defs) = (HashSet::new(), HashSet::new());
                uses_defs(stmts, &mut uses, &mut defs);
                spilled.extend(
                    uses.difference(&defs)
                        .filter(|v| !remat.contains_key(v))
                        .copied(),
                );
            }
            WgNode::If {
                cond,
                then_body,
                else_body,
            } => {
                // Workgroup-level conditions are read from their spill slot.
                spilled.insert(*cond);
                collect_cross_region(then_body, remat, spilled);
                collect_cross_region(else_body, remat, spilled);
            }
            WgNode::Loop {
                body, continuing, ..
            } => {
                collect_cross_region(body, remat, spilled);
                collect_cross_region(continuing, remat, spilled);
            }
            WgNode::Breakable { body, .. } => collect_cross_region(body, remat, spilled),
        }
    }
}

/// Largest expression (in IR ops) recomputed per region instead of spilled.
const MAX_REMAT_OPS: usize = 24;

/// Values that are cheap, pure functions of constants, builtins and push constants: a
/// region that reads one recomputes it rather than loading a per-lane spill (which costs a
/// vector store per subgroup at the definition and a load per subgroup per region, and loses
/// the uniform / affine shape the memory lowering relies on).
fn rematerializable(body: &[Stmt]) -> HashMap<ValueId, &Op> {
    fn defs<'a>(stmts: &'a [Stmt], out: &mut HashMap<ValueId, &'a Op>) {
        for s in stmts {
            match s {
                Stmt::Def { id, op } => {
                    out.insert(*id, op);
                }
                Stmt::If {
                    then_body,
                    else_body,
                    ..
                } => {
                    defs(then_body, out);
                    defs(else_body, out);
                }
                Stmt::Loop {
                    body, continuing, ..
                } => {
                    defs(body, out);
                    defs(continuing, out);
                }
                Stmt::Breakable { body, .. } => defs(body, out),
                _ => {}
            }
        }
    }
    let mut all = HashMap::new();
    defs(body, &mut all);
    // Cost in ops (None: not rematerializable); memoised, operands defined before use.
    fn cost(
        v: ValueId,
        all: &HashMap<ValueId, &Op>,
        memo: &mut HashMap<ValueId, Option<usize>>,
    ) -> Option<usize> {
        if let Some(c) = memo.get(&v) {
            return *c;
        }
        memo.insert(v, None); // guards against malformed cycles
        let c = match all.get(&v) {
            Some(Op::Const(_) | Op::Undef | Op::Builtin(_) | Op::BufferLength(_)) => Some(1),
            Some(Op::Load(m)) if m.space == ir::Space::PushConstant => {
                cost(m.offset, all, memo).map(|c| c + 1)
            }
            Some(
                op @ (Op::Unary(..)
                | Op::Binary(..)
                | Op::Convert(..)
                | Op::Cmp(..)
                | Op::Select(..)
                | Op::Fma(..)),
            ) => {
                let mut total = Some(1usize);
                op_operands(op, &mut |o| {
                    total = match (total, cost(o, all, memo)) {
                        (Some(t), Some(c)) => Some(t + c),
                        _ => None,
                    };
                });
                total
            }
            _ => None,
        }
        .filter(|c| *c <= MAX_REMAT_OPS);
        memo.insert(v, c);
        c
    }
    let mut memo = HashMap::new();
    let ids: Vec<ValueId> = all.keys().copied().collect();
    ids.into_iter()
        .filter(|v| cost(*v, &all, &mut memo).is_some())
        .filter_map(|v| all.get(&v).map(|op| (v, *op)))
        .collect()
}

/// Builds the kernel function into `llmod`; returns the scratch size it needs.
pub(super) fn build_kernel<'ctx>(
    cx: &'ctx Context,
    llmod: &LlModule<'ctx>,
    module: &ir::Module,
    target: &Target,
) -> Result<u32, CodegenError> {
    let w = target.simd_width;
    let [sx, sy, sz] = module.workgroup_size;
    let invocations = sx.max(1) * sy.max(1) * sz.max(1);
    let groups = invocations.div_ceil(w);
    let an = Analysis::run(module, w);
    let has_barrier = an.has_barrier;

    let ptr_t = cx.ptr_type(inkwell::AddressSpace::default());
    let i32t = cx.i32_type();
    let fn_t = cx
        .void_type()
        .fn_type(&[ptr_t.into(), i32t.into(), i32t.into()], false);
    let func = declare_entry(cx, llmod, abi::COMPUTE_ENTRY_SYMBOL, fn_t, target, w);

    let entry = cx.append_basic_block(func, "entry");
    let b = cx.create_builder();
    let ab = cx.create_builder();
    b.position_at_end(entry);

    let params = func.get_params();
    let (ctx_p, first, count) = match params.as_slice() {
        [c, f, n] => (
            c.into_pointer_value(),
            f.into_int_value(),
            n.into_int_value(),
        ),
        _ => return Err(CodegenError::Missing("kernel parameters".into())),
    };

    // Context fields.
    let ld_field =
        |off: usize, ty: inkwell::types::BasicTypeEnum<'ctx>| -> R<BasicValueEnum<'ctx>> {
            // SAFETY: constant in-struct offset of the repr(C) KernelContext; address arithmetic only.
            let p = unsafe {
                b.build_gep(
                    cx.i8_type(),
                    ctx_p,
                    &[cx.i64_type().const_int(off as u64, false)],
                    "",
                )?
            };
            Ok(b.build_load(ty, p, "")?)
        };
    let bufs_p = ld_field(abi::OFFSET_BUFFERS, ptr_t.into())?.into_pointer_value();
    let push_ptr = ld_field(abi::OFFSET_PUSH_CONSTANTS, ptr_t.into())?.into_pointer_value();
    let push_len32 = ld_field(abi::OFFSET_PUSH_CONSTANTS_LEN, i32t.into())?.into_int_value();
    let push_len = b.build_int_z_extend(push_len32, cx.i64_type(), "")?;
    let wg_mem = ld_field(abi::OFFSET_WORKGROUP_MEMORY, ptr_t.into())?.into_pointer_value();
    let scratch = ld_field(abi::OFFSET_SCRATCH, ptr_t.into())?.into_pointer_value();
    let mut num_wg = [i32t.const_zero(); 3];
    let mut base_wg = [i32t.const_zero(); 3];
    for c in 0..3 {
        num_wg[c] = ld_field(abi::OFFSET_NUM_WORKGROUPS + 4 * c, i32t.into())?.into_int_value();
        base_wg[c] = ld_field(abi::OFFSET_BASE_WORKGROUP + 4 * c, i32t.into())?.into_int_value();
    }
    let (buf_base, buf_len) = load_buffers(cx, &b, bufs_p, module.buffers.len())?;

    // Scratch layout.
    let lanes_total = u64::from(groups) * u64::from(w);
    let mut off = 0u64;
    let private_off = off;
    off = align64(off + lanes_total * u64::from(module.private_memory_size));
    let mut spill_off = HashMap::new();
    let mut var_off = Vec::new();
    let mut alive_off = off;
    let nodes = if has_barrier {
        split_regions(&module.body)
    } else {
        Vec::new()
    };
    let remat = if has_barrier {
        rematerializable(&module.body)
    } else {
        HashMap::new()
    };
    if has_barrier {
        let mut spilled = HashSet::new();
        collect_cross_region(&nodes, &remat, &mut spilled);
        let mut spilled: Vec<ValueId> = spilled.into_iter().collect();
        spilled.sort();
        for v in spilled {
            let t = module
                .value_types
                .get(v.0 as usize)
                .copied()
                .unwrap_or(ScalarType::I32);
            spill_off.insert(v, off);
            off = align64(off + lanes_total * u64::from(spill_size(t)));
        }
        for t in &module.var_types {
            var_off.push(off);
            off = align64(off + lanes_total * u64::from(spill_size(*t)));
        }
        alive_off = off;
        off = align64(off + u64::from(groups) * 4);
    }
    let scratch_size = u32::try_from(off)
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
        w,
        groups,
        invocations,
        has_barrier,
        buf_base,
        buf_len,
        buf_table: bufs_p,
        push_ptr,
        push_len,
        wg_mem,
        scratch,
        num_wg,
        wg_id: [i32t.const_zero(); 3],
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
        private_off,
        spill_off,
        remat,
        var_off,
        alive_off,
        gfx: None,
        img: None,
    };
    g.init_images(ctx_p, abi::OFFSET_IMAGE_RESOURCES)?;
    let mask_t = cx.bool_type().vec_type(w);
    g.mask_slot = g.alloca(mask_t.into())?;
    g.alive_slot = g.alloca(mask_t.into())?;
    g.pending_slot = g.alloca(i32t.into())?;
    for (i, t) in module.var_types.iter().enumerate() {
        let ty = if g.an.var_uniform.get(i).copied().unwrap_or(false) {
            g.sty(*t)
        } else {
            g.vty(*t).into()
        };
        let slot = g.alloca(ty)?;
        g.var_slots.push(slot);
    }

    // for k in 0..count: workgroup first + k
    let pre =
        g.b.get_insert_block()
            .ok_or_else(|| CodegenError::Missing("block".into()))?;
    let head = g.new_block("wg.head");
    let body = g.new_block("wg.body");
    let done = g.new_block("wg.done");
    g.b.build_unconditional_branch(head)?;
    g.b.position_at_end(head);
    let k = g.b.build_phi(i32t, "k")?;
    k.add_incoming(&[(&i32t.const_zero(), pre)]);
    let kv = k.as_basic_value().into_int_value();
    let more = g.b.build_int_compare(IntPredicate::ULT, kv, count, "")?;
    g.b.build_conditional_branch(more, body, done)?;
    g.b.position_at_end(body);
    let linear = g.b.build_int_add(first, kv, "")?;
    let one = i32t.const_int(1, false);
    let nx = g.umax1(num_wg[0])?;
    let ny = g.umax1(num_wg[1])?;
    let x = g.b.build_int_unsigned_rem(linear, nx, "")?;
    let t = g.b.build_int_unsigned_div(linear, nx, "")?;
    let y = g.b.build_int_unsigned_rem(t, ny, "")?;
    let z = g.b.build_int_unsigned_div(t, ny, "")?;
    g.wg_id = [
        g.b.build_int_add(base_wg[0], x, "")?,
        g.b.build_int_add(base_wg[1], y, "")?,
        g.b.build_int_add(base_wg[2], z, "")?,
    ];
    g.zero_bytes(g.wg_mem, u64::from(module.workgroup_memory_size))?;
    g.zero_bytes(
        g.scratch,
        align64(lanes_total * u64::from(module.private_memory_size)),
    )?;
    if has_barrier {
        // Vars start at 0; every subgroup starts with its valid lanes alive.
        let var_start = g.var_off.first().copied().unwrap_or(g.alive_off);
        g.zero_range(var_start, g.alive_off - var_start)?;
        for gi in 0..groups {
            let valid = g.valid_bits(gi);
            let p = g.byte_ptr(g.scratch, g.i64c(g.alive_off + u64::from(gi) * 4))?;
            g.b.build_store(p, i32t.const_int(valid, false))?;
        }
        let wg_end = g.new_block("wg.end");
        g.emit_wg_nodes(&nodes, wg_end)?;
        if !g.terminated() {
            g.b.build_unconditional_branch(wg_end)?;
        }
        g.b.position_at_end(wg_end);
    } else {
        g.emit_region(&module.body)?;
    }
    let latch =
        g.b.get_insert_block()
            .ok_or_else(|| CodegenError::Missing("block".into()))?;
    let next = g.b.build_int_add(kv, one, "")?;
    k.add_incoming(&[(&next, latch)]);
    g.b.build_unconditional_branch(head)?;
    g.b.position_at_end(done);
    g.b.build_return(None)?;
    Ok(scratch_size)
}

/// Declares an entry function `name` with the attributes every kernel gets (no libcalls, no
/// jump tables, inline stack probes, the target's CPU, vectors of `lanes` 32-bit lanes).
pub(super) fn declare_entry<'ctx>(
    cx: &'ctx Context,
    llmod: &LlModule<'ctx>,
    name: &str,
    fn_t: inkwell::types::FunctionType<'ctx>,
    target: &Target,
    lanes: u32,
) -> FunctionValue<'ctx> {
    let func = llmod.add_function(name, fn_t, Some(Linkage::External));
    for (k, v) in [
        ("no-builtins", ""),
        ("no-jump-tables", "true"),
        // A large frame (guest-sized arrays the optimiser puts on the stack, spills) touches
        // each page in order, so it hits the worker's guard page instead of jumping past it.
        ("probe-stack", "inline-asm"),
        ("target-cpu", target.cpu.as_str()),
        ("target-features", target.features.as_str()),
    ] {
        func.add_attribute(AttributeLoc::Function, cx.create_string_attribute(k, v));
    }
    let vw = (lanes * 32).to_string();
    func.add_attribute(
        AttributeLoc::Function,
        cx.create_string_attribute("min-legal-vector-width", &vw),
    );
    func.add_attribute(
        AttributeLoc::Function,
        cx.create_string_attribute("prefer-vector-width", &vw),
    );
    let nounwind = inkwell::attributes::Attribute::get_named_enum_kind_id("nounwind");
    func.add_attribute(
        AttributeLoc::Function,
        cx.create_enum_attribute(nounwind, 0),
    );
    func
}

/// Loads base and length of the `n` buffer descriptors at `bufs_p`.
pub(super) fn load_buffers<'ctx>(
    cx: &'ctx Context,
    b: &Builder<'ctx>,
    bufs_p: PointerValue<'ctx>,
    n: usize,
) -> R<(Vec<PointerValue<'ctx>>, Vec<IntValue<'ctx>>)> {
    let ptr_t = cx.ptr_type(inkwell::AddressSpace::default());
    let mut buf_base = Vec::new();
    let mut buf_len = Vec::new();
    for i in 0..n {
        let off = i * abi::BUFFER_DESCRIPTOR_SIZE;
        // SAFETY: index < buffers.len(); the renderer passes that many descriptors.
        let p = unsafe {
            b.build_gep(
                cx.i8_type(),
                bufs_p,
                &[cx.i64_type().const_int(off as u64, false)],
                "",
            )?
        };
        buf_base.push(b.build_load(ptr_t, p, "")?.into_pointer_value());
        // SAFETY: as above, +8 is the `len` field.
        let pl = unsafe { b.build_gep(cx.i8_type(), p, &[cx.i64_type().const_int(8, false)], "")? };
        buf_len.push(b.build_load(cx.i64_type(), pl, "")?.into_int_value());
    }
    Ok((buf_base, buf_len))
}

fn spill_size(t: ScalarType) -> u32 {
    match t {
        ScalarType::Bool => 1,
        other => other.size(),
    }
}

impl<'ctx> Gen<'ctx, '_> {
    fn umax1(&self, v: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        let one = v.get_type().const_int(1, false);
        let c = self.b.build_int_compare(IntPredicate::ULT, v, one, "")?;
        Ok(self.b.build_select(c, one, v, "")?.into_int_value())
    }

    /// Bit mask of the lanes of subgroup `gi` that are real invocations.
    fn valid_bits(&self, gi: u32) -> u64 {
        let first = gi * self.w;
        let n = self.invocations.saturating_sub(first).min(self.w);
        if n >= 64 {
            u64::MAX
        } else {
            (1u64 << n) - 1
        }
    }

    /// Stores zeros over `[base, base + len)`, `len` a multiple of 64, as a loop of 64-byte
    /// stores ("no-builtins" keeps LLVM from turning it into a memset call).
    /// Zeroes exactly `len` bytes at `base`: 64-byte stores, then 8- and 1-byte ones for the
    /// tail (the caller's block may end right after `len`: the ABI promises no more; a fuzzer
    /// found workgroup memory of 68 bytes zeroed to 128).
    pub fn zero_bytes(&mut self, base: PointerValue<'ctx>, len: u64) -> R<()> {
        let full = len / 64 * 64;
        self.zero_chunks(base, full)?;
        let mut off = full;
        while off + 8 <= len {
            let p = self.byte_ptr(base, self.i64c(off))?;
            self.store_unaligned(p, self.cx.i64_type().const_zero().into())?;
            off += 8;
        }
        while off < len {
            let p = self.byte_ptr(base, self.i64c(off))?;
            self.store_unaligned(p, self.cx.i8_type().const_zero().into())?;
            off += 1;
        }
        Ok(())
    }

    /// Zeroes `len` bytes at `base` in 64-byte stores; `len` is a multiple of 64.
    fn zero_chunks(&mut self, base: PointerValue<'ctx>, len: u64) -> R<()> {
        if len == 0 {
            return Ok(());
        }
        let i64t = self.cx.i64_type();
        let chunk = self.cx.i32_type().vec_type(16);
        let pre = self
            .b
            .get_insert_block()
            .ok_or_else(|| CodegenError::Missing("block".into()))?;
        let lp = self.new_block("zero");
        let out = self.new_block("zero.done");
        self.b.build_unconditional_branch(lp)?;
        self.b.position_at_end(lp);
        let i = self.b.build_phi(i64t, "")?;
        i.add_incoming(&[(&i64t.const_zero(), pre)]);
        let iv = i.as_basic_value().into_int_value();
        let p = self.byte_ptr(base, iv)?;
        self.store_unaligned(p, chunk.const_zero().into())?;
        let n = self.b.build_int_add(iv, i64t.const_int(64, false), "")?;
        i.add_incoming(&[(&n, lp)]);
        let c = self
            .b
            .build_int_compare(IntPredicate::ULT, n, i64t.const_int(len, false), "")?;
        self.b.build_conditional_branch(c, lp, out)?;
        self.b.position_at_end(out);
        Ok(())
    }

    fn zero_range(&mut self, off: u64, len: u64) -> R<()> {
        let p = self.byte_ptr(self.scratch, self.i64c(off))?;
        self.zero_bytes(p, len)
    }

    /// Emits one region: a loop over the subgroups running `stmts` under each one's mask.
    fn emit_region(&mut self, stmts: &[Stmt]) -> R<()> {
        let i32t = self.cx.i32_type();
        let pre = self
            .b
            .get_insert_block()
            .ok_or_else(|| CodegenError::Missing("block".into()))?;
        let head = self.new_block("sg.head");
        let run = self.new_block("sg.run");
        let end = self.new_block("sg.end");
        let out = self.new_block("sg.out");
        self.b.build_unconditional_branch(head)?;
        self.b.position_at_end(head);
        let gphi = self.b.build_phi(i32t, "g")?;
        gphi.add_incoming(&[(&i32t.const_zero(), pre)]);
        self.group = gphi.as_basic_value().into_int_value();
        self.values = vec![None; self.ir.value_types.len()];
        self.group_end = Some(end);

        let alive = if self.has_barrier {
            let off = self
                .b
                .build_int_z_extend(self.group, self.cx.i64_type(), "")?;
            let off = self.b.build_int_mul(off, self.i64c(4), "")?;
            let off = self.b.build_int_add(off, self.i64c(self.alive_off), "")?;
            let p = self.byte_ptr(self.scratch, off)?;
            let bits = self.b.build_load(i32t, p, "")?.into_int_value();
            self.bits_to_mask(bits)?
        } else if self.invocations.is_multiple_of(self.w) {
            self.all_true()
        } else {
            let gw = self
                .b
                .build_int_mul(self.group, self.i32c(u64::from(self.w)), "")?;
            let lanes = self.b.build_int_add(
                self.splat(gw.into())?.into_vector_value(),
                self.iota(),
                "",
            )?;
            let n = self
                .splat(self.i32c(u64::from(self.invocations)).into())?
                .into_vector_value();
            self.b.build_int_compare(IntPredicate::ULT, lanes, n, "")?
        };
        self.b.build_store(self.alive_slot, alive)?;
        self.b.build_store(self.mask_slot, alive)?;
        self.load_vars()?;
        let any = self.any(alive)?;
        self.b.build_conditional_branch(any, run, end)?;

        self.b.position_at_end(run);
        if self.has_barrier {
            self.load_region_inputs(stmts)?;
        }
        self.lower_stmts(stmts, true)?;
        if !self.terminated() {
            self.b.build_unconditional_branch(end)?;
        }

        self.b.position_at_end(end);
        self.store_vars()?;
        if self.has_barrier {
            let alive =
                self.b
                    .build_load(self.cx.bool_type().vec_type(self.w), self.alive_slot, "")?;
            let bits = self.mask_bits(alive.into_vector_value())?;
            let bits = self.b.build_int_z_extend_or_bit_cast(bits, i32t, "")?;
            let off = self
                .b
                .build_int_z_extend(self.group, self.cx.i64_type(), "")?;
            let off = self.b.build_int_mul(off, self.i64c(4), "")?;
            let off = self.b.build_int_add(off, self.i64c(self.alive_off), "")?;
            let p = self.byte_ptr(self.scratch, off)?;
            self.b.build_store(p, bits)?;
        }
        let next = self
            .b
            .build_int_add(self.group, i32t.const_int(1, false), "")?;
        let latch = self
            .b
            .get_insert_block()
            .ok_or_else(|| CodegenError::Missing("block".into()))?;
        gphi.add_incoming(&[(&next, latch)]);
        let c = self.b.build_int_compare(
            IntPredicate::ULT,
            next,
            i32t.const_int(u64::from(self.groups), false),
            "",
        )?;
        self.b.build_conditional_branch(c, head, out)?;
        self.b.position_at_end(out);
        self.group_end = None;
        Ok(())
    }

    /// Per-lane scratch address of slot `base` (W lanes of `es` bytes per subgroup).
    fn slot_ptr(&self, base: u64, es: u32) -> R<PointerValue<'ctx>> {
        let g = self
            .b
            .build_int_z_extend(self.group, self.cx.i64_type(), "")?;
        let off = self
            .b
            .build_int_mul(g, self.i64c(u64::from(self.w) * u64::from(es)), "")?;
        let off = self.b.build_int_add(off, self.i64c(base), "")?;
        self.byte_ptr(self.scratch, off)
    }

    fn spill_elem(&self, t: ScalarType) -> inkwell::types::BasicTypeEnum<'ctx> {
        if t == ScalarType::Bool {
            self.cx.i8_type().into()
        } else {
            self.sty(t)
        }
    }

    /// Stores a lowered value (wide) into a per-subgroup scratch slot.
    pub fn spill_store(&self, base: u64, t: ScalarType, v: &Val<'ctx>) -> R<()> {
        let p = self.slot_ptr(base, spill_size(t))?;
        let mut wide = self.wide(v)?;
        if t == ScalarType::Bool {
            wide = self
                .b
                .build_int_z_extend(
                    wide.into_vector_value(),
                    self.cx.i8_type().vec_type(self.w),
                    "",
                )?
                .into();
        }
        self.store_unaligned(p, wide)
    }

    pub fn spill_load(&self, base: u64, t: ScalarType, uniform: bool) -> R<Val<'ctx>> {
        let p = self.slot_ptr(base, spill_size(t))?;
        let et = self.spill_elem(t);
        let mut v = self.load_as(self.vec_of_type(et).into(), p)?;
        if t == ScalarType::Bool {
            let z = self.cx.i8_type().vec_type(self.w).const_zero();
            v = self
                .b
                .build_int_compare(IntPredicate::NE, v.into_vector_value(), z, "")?
                .into();
        }
        if uniform {
            let s = self
                .b
                .build_extract_element(v.into_vector_value(), self.i32c(0), "")?;
            Ok(Val::uni(s))
        } else {
            Ok(Val::vary(v))
        }
    }

    pub(super) fn load_vars(&mut self) -> R<()> {
        for i in 0..self.var_slots.len() {
            let t = self.ir.var_types[i];
            let uni = self.an.var_uniform.get(i).copied().unwrap_or(false);
            let v = if self.has_barrier {
                self.spill_load(self.var_off[i], t, uni)?.v
            } else if uni {
                self.konst(t, 0, false)
            } else {
                self.konst(t, 0, true).into_vector_or_zero(self.vty(t))
            };
            self.b.build_store(self.var_slots[i], v)?;
        }
        Ok(())
    }

    fn store_vars(&mut self) -> R<()> {
        if !self.has_barrier {
            return Ok(());
        }
        for i in 0..self.var_slots.len() {
            let t = self.ir.var_types[i];
            let uni = self.an.var_uniform.get(i).copied().unwrap_or(false);
            let ty = if uni { self.sty(t) } else { self.vty(t).into() };
            let v = self.b.build_load(ty, self.var_slots[i], "")?;
            let val = Val {
                v,
                uniform: uni,
                affine: None,
            };
            self.spill_store(self.var_off[i], t, &val)?;
        }
        Ok(())
    }

    fn load_region_inputs(&mut self, stmts: &[Stmt]) -> R<()> {
        let (mut uses, mut defs) = (HashSet::new(), HashSet::new());
        uses_defs(stmts, &mut uses, &mut defs);
        let mut inputs: Vec<ValueId> = uses.difference(&defs).copied().collect();
        inputs.sort();
        for v in inputs {
            if let Some(&off) = self.spill_off.get(&v) {
                let t = self.vtype(v)?;
                let val = self.spill_load(off, t, self.an.uniform(v))?;
                if let Some(slot) = self.values.get_mut(v.0 as usize) {
                    *slot = Some(val);
                }
            } else if self.remat.contains_key(&v) {
                self.rematerialize(v)?;
            }
        }
        Ok(())
    }

    /// Recomputes a rematerializable value (and its operands) in the current region.
    fn rematerialize(&mut self, v: ValueId) -> R<()> {
        if matches!(self.values.get(v.0 as usize), Some(Some(_))) {
            return Ok(());
        }
        let op = *self
            .remat
            .get(&v)
            .ok_or_else(|| CodegenError::Missing(format!("rematerialized value {v:?}")))?;
        let mut operands = Vec::new();
        op_operands(op, &mut |o| operands.push(o));
        for o in operands {
            self.rematerialize(o)?;
        }
        let t = self.vtype(v)?;
        let val = self.lower_op(op, t)?;
        let slot = self
            .values
            .get_mut(v.0 as usize)
            .ok_or_else(|| CodegenError::Missing(format!("{v:?}")))?;
        *slot = Some(val);
        Ok(())
    }

    /// Reads a workgroup-uniform value at workgroup level: subgroup 0's lane 0.
    fn wg_uniform_bool(&mut self, v: ValueId) -> R<IntValue<'ctx>> {
        let off = *self
            .spill_off
            .get(&v)
            .ok_or_else(|| CodegenError::Missing(format!("workgroup-level condition {v:?}")))?;
        let p = self.byte_ptr(self.scratch, self.i64c(off))?;
        let byte = self
            .b
            .build_load(self.cx.i8_type(), p, "")?
            .into_int_value();
        Ok(self
            .b
            .build_int_compare(IntPredicate::NE, byte, self.cx.i8_type().const_zero(), "")?)
    }

    fn emit_wg_nodes(&mut self, nodes: &[WgNode], wg_end: BasicBlock<'ctx>) -> R<()> {
        for n in nodes {
            if self.terminated() {
                let dead = self.new_block("dead");
                self.b.position_at_end(dead);
            }
            match n {
                WgNode::Region(stmts) => {
                    self.b.build_store(self.pending_slot, self.i32c(0))?;
                    self.emit_region(stmts)?;
                    self.dispatch_pending(wg_end)?;
                }
                WgNode::If {
                    cond,
                    then_body,
                    else_body,
                } => {
                    let c = self.wg_uniform_bool(*cond)?;
                    let (tb, eb, mb) = (
                        self.new_block("wif.then"),
                        self.new_block("wif.else"),
                        self.new_block("wif.end"),
                    );
                    self.b.build_conditional_branch(c, tb, eb)?;
                    for (bb, body) in [(tb, then_body), (eb, else_body)] {
                        self.b.position_at_end(bb);
                        self.emit_wg_nodes(body, wg_end)?;
                        if !self.terminated() {
                            self.b.build_unconditional_branch(mb)?;
                        }
                    }
                    self.b.position_at_end(mb);
                }
                WgNode::Loop {
                    label,
                    body,
                    continuing,
                } => {
                    let (hb, cb, xb) = (
                        self.new_block("wloop"),
                        self.new_block("wloop.cont"),
                        self.new_block("wloop.exit"),
                    );
                    self.wg_label_blocks.insert(*label, (xb, Some(cb)));
                    let code = 2 * self.wg_labels.len() as u64 + 1;
                    self.wg_labels.insert(*label, code);
                    self.b.build_unconditional_branch(hb)?;
                    self.b.position_at_end(hb);
                    self.emit_wg_nodes(body, wg_end)?;
                    if !self.terminated() {
                        self.b.build_unconditional_branch(cb)?;
                    }
                    self.b.position_at_end(cb);
                    self.emit_wg_nodes(continuing, wg_end)?;
                    if !self.terminated() {
                        self.b.build_unconditional_branch(hb)?;
                    }
                    self.b.position_at_end(xb);
                }
                WgNode::Breakable { label, body } => {
                    let xb = self.new_block("wblock.exit");
                    self.wg_label_blocks.insert(*label, (xb, None));
                    let code = 2 * self.wg_labels.len() as u64 + 1;
                    self.wg_labels.insert(*label, code);
                    self.emit_wg_nodes(body, wg_end)?;
                    if !self.terminated() {
                        self.b.build_unconditional_branch(xb)?;
                    }
                    self.b.position_at_end(xb);
                }
            }
        }
        Ok(())
    }

    /// After a region: act on a break / continue / return that its lanes took out of it.
    fn dispatch_pending(&mut self, wg_end: BasicBlock<'ctx>) -> R<()> {
        let i32t = self.cx.i32_type();
        let p = self
            .b
            .build_load(i32t, self.pending_slot, "")?
            .into_int_value();
        let mut targets: Vec<(u64, BasicBlock<'ctx>)> = Vec::new();
        for (label, code) in &self.wg_labels {
            if let Some((exit, cont)) = self.wg_label_blocks.get(label) {
                targets.push((*code, *exit));
                if let Some(c) = cont {
                    targets.push((*code + 1, *c));
                }
            }
        }
        targets.sort_by_key(|t| t.0);
        for (code, bb) in targets {
            let next = self.new_block("pending.next");
            let c =
                self.b
                    .build_int_compare(IntPredicate::EQ, p, i32t.const_int(code, false), "")?;
            self.b.build_conditional_branch(c, bb, next)?;
            self.b.position_at_end(next);
        }
        // A return: leave the workgroup once no lane of any subgroup is alive.
        let is_ret = self.b.build_int_compare(
            IntPredicate::EQ,
            p,
            i32t.const_int(PENDING_RETURN, false),
            "",
        )?;
        let check = self.new_block("pending.ret");
        let cont = self.new_block("pending.none");
        self.b.build_conditional_branch(is_ret, check, cont)?;
        self.b.position_at_end(check);
        let mut acc = i32t.const_zero();
        for gi in 0..self.groups {
            let p = self.byte_ptr(self.scratch, self.i64c(self.alive_off + u64::from(gi) * 4))?;
            let bits = self.b.build_load(i32t, p, "")?.into_int_value();
            acc = self.b.build_or(acc, bits, "")?;
        }
        let none = self
            .b
            .build_int_compare(IntPredicate::EQ, acc, i32t.const_zero(), "")?;
        self.b.build_conditional_branch(none, wg_end, cont)?;
        self.b.position_at_end(cont);
        Ok(())
    }

    pub fn vtype(&self, v: ValueId) -> R<ScalarType> {
        self.ir
            .value_types
            .get(v.0 as usize)
            .copied()
            .ok_or_else(|| CodegenError::Missing(format!("type of {v:?}")))
    }
}

trait IntoVectorOrZero<'ctx> {
    fn into_vector_or_zero(self, t: inkwell::types::VectorType<'ctx>) -> BasicValueEnum<'ctx>;
}

impl<'ctx> IntoVectorOrZero<'ctx> for BasicValueEnum<'ctx> {
    fn into_vector_or_zero(self, t: inkwell::types::VectorType<'ctx>) -> BasicValueEnum<'ctx> {
        if self.is_vector_value() {
            self
        } else {
            t.const_zero().into()
        }
    }
}
