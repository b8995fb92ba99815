//! Variables and pointers: where each SPIR-V variable lives, access chains, loads, stores,
//! atomics and `OpArrayLength`.
//!
//! Pointers are compile-time objects. A pointer into memory is (space, dynamic I64 part,
//! constant part, layout context); a pointer into a register-held variable is (variable,
//! first leaf). Function and Private variables live in registers (one IR var per scalar leaf)
//! unless some access chain indexes them dynamically or they are large; those get a slot in
//! per-invocation `Private` memory.

use std::collections::{HashMap, HashSet};

use spirv::{BuiltIn, Op, StorageClass};

use super::lower::Lower;
use super::module::{id_at, ModuleInfo};
use super::types::{Id, MatrixLayout, Type};
use super::{malformed, FrontError, Result};
use crate::ir::{
    self, AtomicOp, BinOp, BufferBinding, BufferKind, Builtin, CmpOp, ConvOp, MemRef, Op as IrOp,
    ScalarType, Space, Stmt, ValueId, VarId,
};

/// Largest variable (in scalar leaves) kept in registers.
const MAX_REGISTER_LEAVES: usize = 128;

#[derive(Clone, Debug)]
pub(crate) struct Ptr {
    /// Pointee type.
    pub ty: Id,
    /// The SPIR-V pointer type (for `ArrayStride` on `OpPtrAccessChain` bases).
    pub ptr_ty: Id,
    pub root: Root,
}

#[derive(Clone, Debug)]
pub(crate) enum Root {
    Mem {
        space: Space,
        dyn_off: Option<ValueId>,
        off: u64,
        explicit: bool,
        mat: Option<MatrixLayout>,
        /// Component stride of a row-major matrix column.
        comp_stride: Option<u64>,
    },
    Reg {
        var: Id,
        first: usize,
    },
    Input {
        builtin: BuiltIn,
        first: usize,
    },
    /// An arrayed buffer binding, not yet indexed.
    DescArray {
        var: Id,
    },
}

pub(crate) struct MemoryState {
    dynamic: HashSet<Id>,
    pub buffers: Vec<BufferBinding>,
    slots: HashMap<(Id, u32), u32>,
    pub push_constant_size: u64,
    pub workgroup_size: u64,
    workgroup_alloc: HashMap<Id, u64>,
    pub private_size: u64,
    private_alloc: HashMap<Id, u64>,
    reg_vars: HashMap<Id, Vec<VarId>>,
    builtins: HashMap<BuiltIn, Vec<ValueId>>,
}

impl MemoryState {
    pub fn new(dynamic: HashSet<Id>) -> Self {
        MemoryState {
            dynamic,
            buffers: Vec::new(),
            slots: HashMap::new(),
            push_constant_size: 0,
            workgroup_size: 0,
            workgroup_alloc: HashMap::new(),
            private_size: 0,
            private_alloc: HashMap::new(),
            reg_vars: HashMap::new(),
            builtins: HashMap::new(),
        }
    }
}

/// Function and Private variables that some access chain indexes with a non-constant index,
/// following pointers through access chains, copies and call arguments.
pub(crate) fn dynamically_indexed(m: &ModuleInfo) -> Result<HashSet<Id>> {
    let mut parents: HashMap<Id, Vec<Id>> = HashMap::new();
    let mut seeds = Vec::new();
    let is_const = |id: Id| m.consts.contains_key(&id);
    for f in m.functions.values() {
        for block in f.blocks.values() {
            for inst in &block.body {
                let Some(result) = inst.result_id else {
                    continue;
                };
                match inst.class.opcode {
                    Op::AccessChain
                    | Op::InBoundsAccessChain
                    | Op::PtrAccessChain
                    | Op::InBoundsPtrAccessChain => {
                        let base = id_at(inst, 0)?;
                        let dynamic = inst.operands[1..]
                            .iter()
                            .any(|o| !matches!(o, rspirv::dr::Operand::IdRef(i) if is_const(*i)));
                        if dynamic {
                            seeds.push(base);
                        }
                        parents.entry(result).or_default().push(base);
                    }
                    Op::CopyObject => parents.entry(result).or_default().push(id_at(inst, 0)?),
                    Op::FunctionCall => {
                        let callee = id_at(inst, 0)?;
                        if let Some(cf) = m.functions.get(&callee) {
                            for (i, (param, _)) in cf.params.iter().enumerate() {
                                parents.entry(*param).or_default().push(id_at(inst, i + 1)?);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let mut set = HashSet::new();
    while let Some(x) = seeds.pop() {
        if set.insert(x) {
            if let Some(ps) = parents.get(&x) {
                seeds.extend(ps.iter().copied());
            }
        }
    }
    Ok(set)
}

fn alloc(total: &mut u64, size: u64, align: u64, limit: u32, what: &str) -> Result<u64> {
    let off = total.next_multiple_of(align.max(4));
    let end = off.saturating_add(size);
    if end > u64::from(limit) {
        return Err(FrontError::Limit(format!(
            "{what} needs more than {limit} bytes"
        )));
    }
    *total = end;
    Ok(off)
}

impl Lower<'_> {
    fn mem_ptr(&self, ty: Id, ptr_ty: Id, space: Space, off: u64, explicit: bool) -> Ptr {
        Ptr {
            ty,
            ptr_ty,
            root: Root::Mem {
                space,
                dyn_off: None,
                off,
                explicit,
                mat: None,
                comp_stride: None,
            },
        }
    }

    /// The pointer a global variable stands for.
    pub fn global_ptr(&mut self, id: Id) -> Result<Ptr> {
        let Some(g) = self.m.globals.get(&id) else {
            return malformed(format!("%{id} is not a variable"));
        };
        let (ty, ptr_ty) = (g.pointee, g.ptr_ty);
        match g.class {
            StorageClass::StorageBuffer | StorageClass::Uniform => {
                if let Type::Array { .. } | Type::RuntimeArray { .. } = self.m.types.get(ty)? {
                    return Ok(Ptr {
                        ty,
                        ptr_ty,
                        root: Root::DescArray { var: id },
                    });
                }
                let slot = self.buffer_slot(id, 0)?;
                Ok(self.mem_ptr(ty, ptr_ty, Space::Buffer(slot), 0, true))
            }
            StorageClass::PushConstant => {
                let size = self.m.types.size(ty, true)?;
                self.mem.push_constant_size = self.mem.push_constant_size.max(size);
                Ok(self.mem_ptr(ty, ptr_ty, Space::PushConstant, 0, true))
            }
            StorageClass::Workgroup => {
                if let Some(init) = g.init {
                    if self
                        .m
                        .consts
                        .get(&init)
                        .is_none_or(|c| c.bits.iter().any(|b| *b != 0))
                    {
                        return Err(FrontError::Unsupported(
                            "Workgroup variables with non-null initializers".into(),
                        ));
                    }
                }
                let off = match self.mem.workgroup_alloc.get(&id) {
                    Some(o) => *o,
                    None => {
                        let (size, align) = self.m.types.implicit_size_align(ty)?;
                        let o = alloc(
                            &mut self.mem.workgroup_size,
                            size,
                            align,
                            ir::MAX_WORKGROUP_MEMORY,
                            "workgroup memory",
                        )?;
                        self.mem.workgroup_alloc.insert(id, o);
                        o
                    }
                };
                Ok(self.mem_ptr(ty, ptr_ty, Space::Workgroup, off, false))
            }
            StorageClass::Private => self.local_ptr(id, ty, ptr_ty),
            StorageClass::Input => match self.m.decos.builtin.get(&id) {
                Some(b) => Ok(Ptr {
                    ty,
                    ptr_ty,
                    root: Root::Input {
                        builtin: *b,
                        first: 0,
                    },
                }),
                None => Err(FrontError::Unsupported(
                    "Input variables without a BuiltIn decoration in compute".into(),
                )),
            },
            StorageClass::UniformConstant => Err(FrontError::Unsupported(
                "UniformConstant variables (images, samplers)".into(),
            )),
            other => Err(FrontError::Unsupported(format!("storage class {other:?}"))),
        }
    }

    /// Register or private-memory home of a Function or Private variable.
    fn local_ptr(&mut self, id: Id, ty: Id, ptr_ty: Id) -> Result<Ptr> {
        let leaves = self.m.types.leaf_count(ty)?;
        if self.mem.dynamic.contains(&id) || leaves > MAX_REGISTER_LEAVES {
            let off = match self.mem.private_alloc.get(&id) {
                Some(o) => *o,
                None => {
                    let (size, align) = self.m.types.implicit_size_align(ty)?;
                    let o = alloc(
                        &mut self.mem.private_size,
                        size,
                        align,
                        ir::MAX_PRIVATE_MEMORY,
                        "private memory",
                    )?;
                    self.mem.private_alloc.insert(id, o);
                    o
                }
            };
            return Ok(self.mem_ptr(ty, ptr_ty, Space::Private, off, false));
        }
        if !self.mem.reg_vars.contains_key(&id) {
            let vars = self
                .m
                .types
                .leaves(ty)?
                .into_iter()
                .map(|t| self.b.var(t))
                .collect();
            self.mem.reg_vars.insert(id, vars);
        }
        Ok(Ptr {
            ty,
            ptr_ty,
            root: Root::Reg { var: id, first: 0 },
        })
    }

    /// An `OpVariable` in a function's first block: bound, then initialised.
    pub fn function_variable(&mut self, inst: &rspirv::dr::Instruction) -> Result<()> {
        let (Some(ptr_ty), Some(id)) = (inst.result_type, inst.result_id) else {
            return malformed("OpVariable without a result");
        };
        let Type::Pointer {
            class: StorageClass::Function,
            pointee,
        } = self.m.types.get(ptr_ty)?
        else {
            return malformed("function OpVariable not of Function storage class");
        };
        let ptr = self.local_ptr(id, *pointee, ptr_ty)?;
        self.bind(id, super::lower::Value::Ptr(ptr.clone()))?;
        if let Some(rspirv::dr::Operand::IdRef(init)) = inst.operands.get(1) {
            let (_, leaves) = self.data(*init)?;
            self.store(&ptr, &leaves)?;
        }
        Ok(())
    }

    fn buffer_slot(&mut self, var: Id, index: u32) -> Result<u32> {
        if let Some(s) = self.mem.slots.get(&(var, index)) {
            return Ok(*s);
        }
        let Some(g) = self.m.globals.get(&var) else {
            return malformed(format!("%{var} is not a variable"));
        };
        let block = match self.m.types.get(g.pointee)? {
            Type::Array { elem, .. } | Type::RuntimeArray { elem } => *elem,
            _ => g.pointee,
        };
        let d = &self.m.decos;
        let kind = match g.class {
            StorageClass::StorageBuffer => BufferKind::Storage,
            _ if d.buffer_block.contains(&block) => BufferKind::Storage,
            _ if d.block.contains(&block) => BufferKind::Uniform,
            _ => {
                return malformed(format!(
                    "Uniform variable %{var} is neither Block nor BufferBlock"
                ))
            }
        };
        let (Some(set), Some(binding)) = (d.set.get(&var), d.binding.get(&var)) else {
            return malformed(format!(
                "buffer variable %{var} lacks DescriptorSet/Binding"
            ));
        };
        let members = match self.m.types.get(block)? {
            Type::Struct { members } => members.len() as u32,
            _ => return malformed(format!("buffer variable %{var} is not a struct block")),
        };
        let read_only = kind == BufferKind::Uniform
            || d.non_writable.contains(&var)
            || (0..members).all(|i| d.member_non_writable.contains(&(block, i)));
        let slot = self.mem.buffers.len() as u32;
        self.mem.buffers.push(BufferBinding {
            set: *set,
            binding: *binding,
            array_index: index,
            kind,
            read_only,
        });
        self.mem.slots.insert((var, index), slot);
        Ok(slot)
    }

    /// A constant access-chain index, sign-extended (SPIR-V indices are signed).
    fn const_index(&self, id: Id) -> Result<Option<i64>> {
        let Some(c) = self.m.consts.get(&id) else {
            return Ok(None);
        };
        match c.bits.as_slice() {
            [v] => Ok(Some(super::consts::sext(self.m.types.scalar(c.ty)?, *v))),
            _ => malformed("access chain index is not a scalar"),
        }
    }

    /// Adds `index * stride` to a memory pointer's offset.
    fn add_index(&mut self, root: &mut Root, index: Id, stride: u64) -> Result<()> {
        let Root::Mem { dyn_off, off, .. } = root else {
            return malformed("indexing a non-memory pointer");
        };
        if let Some(k) = self.const_index(index)? {
            *off = off.wrapping_add((k as u64).wrapping_mul(stride));
            return Ok(());
        }
        let v = self.scalar(index)?;
        if !self.b.ty(v).is_int() {
            return malformed("access chain index is not an integer");
        }
        let v = self.int_to(v, ScalarType::I64, true);
        let scaled = if stride == 1 {
            v
        } else {
            let k = self.ki(ScalarType::I64, stride);
            self.bin(BinOp::IMul, v, k)
        };
        *dyn_off = Some(match *dyn_off {
            None => scaled,
            Some(d) => self.bin(BinOp::IAdd, d, scaled),
        });
        Ok(())
    }

    /// OpAccessChain / OpInBoundsAccessChain (and the tail of OpPtrAccessChain).
    pub fn access_chain(&mut self, base: Ptr, indices: &[Id], ptr_ty: Id) -> Result<Ptr> {
        let mut p = base;
        p.ptr_ty = ptr_ty;
        for &index in indices {
            let k = self.const_index(index)?;
            let ty = self.m.types.get(p.ty)?.clone();
            let step_const = |k: Option<i64>| -> Result<u32> {
                match k {
                    Some(k) if (0..=i64::from(u32::MAX)).contains(&k) => Ok(k as u32),
                    Some(k) => malformed(format!("constant index {k} out of range")),
                    None => Err(FrontError::Unsupported(
                        "dynamic index into a register variable or builtin".into(),
                    )),
                }
            };
            match &mut p.root {
                Root::DescArray { var } => {
                    let var = *var;
                    let k = match k {
                        Some(k) => step_const(Some(k))?,
                        None => {
                            return Err(FrontError::Unsupported(
                                "dynamic index into an array of descriptors".into(),
                            ))
                        }
                    };
                    let elem = match ty {
                        Type::Array { elem, len } if k < len => elem,
                        Type::RuntimeArray { elem } => elem,
                        _ => return malformed("descriptor index out of range"),
                    };
                    let slot = self.buffer_slot(var, k)?;
                    p = self.mem_ptr(elem, ptr_ty, Space::Buffer(slot), 0, true);
                }
                Root::Reg { first, .. } | Root::Input { first, .. } => {
                    let (t, f) = self.m.types.step(p.ty, step_const(k)?)?;
                    *first += f;
                    p.ty = t;
                }
                Root::Mem {
                    explicit,
                    mat,
                    comp_stride,
                    off,
                    ..
                } => {
                    let explicit = *explicit;
                    match ty {
                        Type::Struct { members } => {
                            let i = step_const(k)?;
                            let Some(t) = members.get(i as usize) else {
                                return malformed("struct member index out of range");
                            };
                            *off = off.wrapping_add(self.m.types.member_offset(p.ty, i, explicit)?);
                            *mat = if explicit {
                                self.m.types.member_matrix(p.ty, i)
                            } else {
                                None
                            };
                            *comp_stride = None;
                            p.ty = *t;
                        }
                        Type::Array { elem, .. } | Type::RuntimeArray { elem } => {
                            let stride = self.m.types.array_stride(p.ty, explicit)?;
                            self.add_index(&mut p.root, index, stride)?;
                            p.ty = elem;
                        }
                        Type::Matrix { column, .. } => {
                            let (col_stride, cs) =
                                self.m.types.column_location(p.ty, 1, explicit, *mat)?;
                            self.add_index(&mut p.root, index, col_stride)?;
                            if let Root::Mem { comp_stride, .. } = &mut p.root {
                                *comp_stride = cs;
                            }
                            p.ty = column;
                        }
                        Type::Vector { elem, .. } => {
                            let size = u64::from(self.m.types.scalar(elem)?.size());
                            let stride = comp_stride.unwrap_or(size);
                            self.add_index(&mut p.root, index, stride)?;
                            if let Root::Mem { comp_stride, .. } = &mut p.root {
                                *comp_stride = None;
                            }
                            p.ty = elem;
                        }
                        _ => return malformed("access chain into a scalar"),
                    }
                }
            }
        }
        Ok(p)
    }

    /// OpPtrAccessChain: `element` steps over whole pointees, by the base pointer type's
    /// ArrayStride (explicit layouts) or the pointee's size.
    pub fn ptr_access_chain(
        &mut self,
        base: Ptr,
        element: Id,
        indices: &[Id],
        ptr_ty: Id,
    ) -> Result<Ptr> {
        let mut base = base;
        match &base.root {
            Root::Mem { explicit, .. } => {
                let stride = if *explicit {
                    match self.m.types.layouts.array_stride.get(&base.ptr_ty) {
                        Some(s) => u64::from(*s),
                        None => {
                            return malformed(
                                "OpPtrAccessChain base pointer type lacks ArrayStride",
                            )
                        }
                    }
                } else {
                    self.m.types.implicit_size_align(base.ty)?.0
                };
                let mut root = base.root.clone();
                self.add_index(&mut root, element, stride)?;
                base.root = root;
            }
            _ if self.const_index(element)? == Some(0) => {}
            _ => {
                return Err(FrontError::Unsupported(
                    "OpPtrAccessChain outside memory".into(),
                ))
            }
        }
        self.access_chain(base, indices, ptr_ty)
    }

    /// The I64 address of `extra` bytes past a memory pointer.
    fn address(&mut self, root: &Root, extra: u64) -> Result<(Space, ValueId)> {
        let Root::Mem {
            space,
            dyn_off,
            off,
            ..
        } = root
        else {
            return malformed("not a memory pointer");
        };
        let total = off.wrapping_add(extra);
        let k = self.ki(ScalarType::I64, total);
        let addr = match dyn_off {
            None => k,
            Some(d) if total == 0 => *d,
            Some(d) => self.bin(BinOp::IAdd, *d, k),
        };
        Ok((*space, addr))
    }

    fn register_leaves(&self, var: Id, first: usize, n: usize) -> Result<Vec<VarId>> {
        match self
            .mem
            .reg_vars
            .get(&var)
            .and_then(|v| v.get(first..first + n))
        {
            Some(s) => Ok(s.to_vec()),
            None => malformed("register variable access out of range"),
        }
    }

    pub fn load(&mut self, p: &Ptr) -> Result<Vec<ValueId>> {
        match &p.root {
            Root::Mem {
                explicit,
                mat,
                comp_stride,
                ..
            } => {
                let leaves = self
                    .m
                    .types
                    .mem_leaves(p.ty, *explicit, *mat, *comp_stride)?;
                let mut out = Vec::with_capacity(leaves.len());
                for (st, o) in leaves {
                    let (space, offset) = self.address(&p.root, o)?;
                    let mem = MemRef { space, offset };
                    out.push(if st == ScalarType::Bool {
                        let w = self.b.def(ScalarType::I32, IrOp::Load(mem));
                        let zero = self.ki(ScalarType::I32, 0);
                        self.cmp(CmpOp::Ne, w, zero)
                    } else {
                        self.b.def(st, IrOp::Load(mem))
                    });
                }
                Ok(out)
            }
            Root::Reg { var, first } => {
                let n = self.m.types.leaf_count(p.ty)?;
                let vars = self.register_leaves(*var, *first, n)?;
                Ok(vars
                    .iter()
                    .map(|v| self.b.def(self.b.var_types[v.0 as usize], IrOp::GetVar(*v)))
                    .collect())
            }
            Root::Input { builtin, first } => {
                let n = self.m.types.leaf_count(p.ty)?;
                let all = self.builtin_leaves(*builtin)?;
                match all.get(*first..*first + n) {
                    Some(s) => Ok(s.to_vec()),
                    None => malformed("builtin access out of range"),
                }
            }
            Root::DescArray { .. } => Err(FrontError::Unsupported(
                "loading a whole descriptor array".into(),
            )),
        }
    }

    pub fn store(&mut self, p: &Ptr, values: &[ValueId]) -> Result<()> {
        match &p.root {
            Root::Mem {
                space,
                explicit,
                mat,
                comp_stride,
                ..
            } => {
                if *space == Space::PushConstant {
                    return malformed("store to push constants");
                }
                if let Space::Buffer(s) = space {
                    if self
                        .mem
                        .buffers
                        .get(*s as usize)
                        .is_some_and(|b| b.kind == BufferKind::Uniform)
                    {
                        return malformed("store to a uniform buffer");
                    }
                }
                let leaves = self
                    .m
                    .types
                    .mem_leaves(p.ty, *explicit, *mat, *comp_stride)?;
                if leaves.len() != values.len() {
                    return malformed("OpStore of a value of the wrong type");
                }
                for ((st, o), v) in leaves.into_iter().zip(values) {
                    let (space, offset) = self.address(&p.root, o)?;
                    let value = if st == ScalarType::Bool {
                        let (one, zero) =
                            (self.ki(ScalarType::I32, 1), self.ki(ScalarType::I32, 0));
                        self.select(*v, one, zero)
                    } else {
                        *v
                    };
                    self.b.push(Stmt::Store {
                        mem: MemRef { space, offset },
                        value,
                    });
                }
                Ok(())
            }
            Root::Reg { var, first } => {
                let vars = self.register_leaves(*var, *first, values.len())?;
                if self.m.types.leaf_count(p.ty)? != values.len() {
                    return malformed("OpStore of a value of the wrong type");
                }
                for (var, value) in vars.iter().zip(values) {
                    if self.b.var_types[var.0 as usize] != self.b.ty(*value) {
                        return malformed("OpStore of a value of the wrong type");
                    }
                    self.b.push(Stmt::SetVar {
                        var: *var,
                        value: *value,
                    });
                }
                Ok(())
            }
            Root::Input { .. } => malformed("store to an Input variable"),
            Root::DescArray { .. } => malformed("store to a descriptor array"),
        }
    }

    /// An atomic read-modify-write (or load) on an integer in buffer or workgroup memory.
    pub fn atomic(
        &mut self,
        op: AtomicOp,
        p: &Ptr,
        value: Option<ValueId>,
        comparator: Option<ValueId>,
    ) -> Result<ValueId> {
        let st = self.atomic_target(p)?;
        let (space, offset) = self.address(&p.root, 0)?;
        let value = match value {
            Some(v) => v,
            None => self.ki(st, 0),
        };
        if self.b.ty(value) != st || comparator.is_some_and(|c| self.b.ty(c) != st) {
            return malformed("atomic operand type differs from the pointee");
        }
        Ok(self.b.def(
            st,
            IrOp::Atomic {
                op,
                mem: MemRef { space, offset },
                value,
                comparator,
            },
        ))
    }

    pub fn atomic_store(&mut self, p: &Ptr, value: ValueId) -> Result<()> {
        let st = self.atomic_target(p)?;
        if self.b.ty(value) != st {
            return malformed("atomic operand type differs from the pointee");
        }
        let (space, offset) = self.address(&p.root, 0)?;
        self.b.push(Stmt::AtomicStore {
            mem: MemRef { space, offset },
            value,
        });
        Ok(())
    }

    fn atomic_target(&mut self, p: &Ptr) -> Result<ScalarType> {
        let st = self.m.types.scalar(p.ty)?;
        if !matches!(st, ScalarType::I32 | ScalarType::I64) {
            return Err(FrontError::Unsupported(format!("atomics on {st:?}")));
        }
        match &p.root {
            Root::Mem {
                space: Space::Buffer(_) | Space::Workgroup,
                ..
            } => Ok(st),
            _ => Err(FrontError::Unsupported(
                "atomics outside storage buffers and workgroup memory".into(),
            )),
        }
    }

    /// OpArrayLength: elements of the runtime array that is member `member` of the block.
    pub fn array_length(&mut self, p: &Ptr, member: u32) -> Result<ValueId> {
        let Root::Mem {
            space: Space::Buffer(slot),
            dyn_off: None,
            explicit: true,
            ..
        } = &p.root
        else {
            return Err(FrontError::Unsupported(
                "OpArrayLength on anything but a buffer block".into(),
            ));
        };
        let slot = *slot;
        let Type::Struct { members } = self.m.types.get(p.ty)? else {
            return malformed("OpArrayLength on a non-struct");
        };
        let Some(arr) = members.get(member as usize).copied() else {
            return malformed("OpArrayLength member out of range");
        };
        if !matches!(self.m.types.get(arr)?, Type::RuntimeArray { .. }) {
            return malformed("OpArrayLength member is not a runtime array");
        }
        let stride = self.m.types.array_stride(arr, true)?;
        if stride == 0 {
            return malformed("runtime array with ArrayStride 0");
        }
        let start_off = self.m.types.member_offset(p.ty, member, true)?;
        let (_, start) = self.address(&p.root, start_off)?;
        let size = self.b.def(ScalarType::I64, IrOp::BufferLength(slot));
        let short = self.cmp(CmpOp::ULt, size, start);
        let rest = self.bin(BinOp::ISub, size, start);
        let zero = self.ki(ScalarType::I64, 0);
        let avail = self.select(short, zero, rest);
        let k = self.ki(ScalarType::I64, stride);
        let n = self.bin(BinOp::UDiv, avail, k);
        // More than u32::MAX elements cannot be bound (maxStorageBufferRange is 32-bit).
        Ok(self.conv(ConvOp::ZextOrTrunc, ScalarType::I32, n))
    }

    /// The scalar leaves of a builtin input, computed once in the prologue.
    fn builtin_leaves(&mut self, b: BuiltIn) -> Result<Vec<ValueId>> {
        if let Some(v) = self.mem.builtins.get(&b) {
            return Ok(v.clone());
        }
        let xyz = |l: &mut Self, f: fn(u8) -> Builtin| -> Vec<ValueId> {
            (0..3).map(|i| l.b.builtin(f(i))).collect()
        };
        let leaves = match b {
            BuiltIn::GlobalInvocationId => xyz(self, Builtin::GlobalInvocationId),
            BuiltIn::LocalInvocationId => xyz(self, Builtin::LocalInvocationId),
            BuiltIn::WorkgroupId => xyz(self, Builtin::WorkgroupId),
            BuiltIn::NumWorkgroups => xyz(self, Builtin::NumWorkgroups),
            BuiltIn::LocalInvocationIndex => vec![self.b.builtin(Builtin::LocalInvocationIndex)],
            BuiltIn::SubgroupSize => vec![self.b.builtin(Builtin::SubgroupSize)],
            BuiltIn::SubgroupLocalInvocationId => {
                vec![self.b.builtin(Builtin::SubgroupLocalInvocationId)]
            }
            BuiltIn::SubgroupId => vec![self.b.builtin(Builtin::SubgroupId)],
            BuiltIn::NumSubgroups => vec![self.b.builtin(Builtin::NumSubgroups)],
            BuiltIn::WorkgroupSize => {
                let ws = self.m.workgroup_size;
                ws.iter()
                    .map(|d| self.ki(ScalarType::I32, u64::from(*d)))
                    .collect()
            }
            BuiltIn::SubgroupEqMask
            | BuiltIn::SubgroupGeMask
            | BuiltIn::SubgroupGtMask
            | BuiltIn::SubgroupLeMask
            | BuiltIn::SubgroupLtMask => {
                let word = self.subgroup_mask(b);
                let zero = self.ki(ScalarType::I32, 0);
                vec![word, zero, zero, zero]
            }
            other => {
                return Err(FrontError::Unsupported(format!(
                    "builtin {other:?} in compute"
                )))
            }
        };
        self.mem.builtins.insert(b, leaves.clone());
        Ok(leaves)
    }

    /// Word 0 of a subgroup mask builtin, defined in the prologue (so visible everywhere).
    fn subgroup_mask(&mut self, b: BuiltIn) -> ValueId {
        let saved = std::mem::take(&mut self.b.cur);
        let lane = self.b.builtin(Builtin::SubgroupLocalInvocationId);
        let one = self.ki(ScalarType::I32, 1);
        let eq = self.bin(BinOp::Shl, one, lane);
        let lt = self.bin(BinOp::ISub, eq, one);
        let le = self.bin(BinOp::Or, lt, eq);
        let word = match b {
            BuiltIn::SubgroupEqMask => eq,
            BuiltIn::SubgroupLtMask => lt,
            BuiltIn::SubgroupLeMask => le,
            _ => {
                let above = if b == BuiltIn::SubgroupGeMask { lt } else { le };
                let inv = self.un(ir::UnOp::Not, above);
                let size_mask = self.subgroup_size_mask();
                self.bin(BinOp::And, inv, size_mask)
            }
        };
        let defs = std::mem::replace(&mut self.b.cur, saved);
        self.b.prologue.extend(defs);
        word
    }

    /// Bits 0..SubgroupSize set (SubgroupSize ≤ 32). Emitted where the caller is emitting.
    pub fn subgroup_size_mask(&mut self) -> ValueId {
        let size = self.b.builtin(Builtin::SubgroupSize);
        let one = self.ki(ScalarType::I32, 1);
        let all = self.ki(ScalarType::I32, 0xffff_ffff);
        let thirty_two = self.ki(ScalarType::I32, 32);
        let shifted = self.bin(BinOp::Shl, one, size);
        let partial = self.bin(BinOp::ISub, shifted, one);
        let full = self.cmp(CmpOp::UGe, size, thirty_two);
        self.select(full, all, partial)
    }
}
