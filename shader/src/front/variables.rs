//! Where each SPIR-V variable lives: buffer slots for descriptors, the push-constant block,
//! offsets in workgroup memory, and registers or private memory for Function and Private
//! variables (the latter when some access chain indexes them dynamically).

use std::collections::{HashMap, HashSet};

use spirv::{BuiltIn, Op, StorageClass};

use super::interface::InterfaceLeaf;
use super::lower::{Lower, Value};
use super::memory::{Ptr, Root};
use super::module::{id_at, ModuleInfo};
use super::types::{Id, Type};
use super::{malformed, FrontError, Result};
use crate::ir::{self, BufferBinding, BufferKind, Space, ValueId, VarId};

/// Largest variable (in scalar leaves) kept in registers.
const MAX_REGISTER_LEAVES: usize = 128;

pub(crate) struct MemoryState {
    pub dynamic: HashSet<Id>,
    pub buffers: Vec<BufferBinding>,
    pub slots: HashMap<(Id, u32), u32>,
    pub push_constant_size: u64,
    pub workgroup_size: u64,
    pub workgroup_alloc: HashMap<Id, u64>,
    pub private_size: u64,
    pub private_alloc: HashMap<Id, u64>,
    pub reg_vars: HashMap<Id, Vec<VarId>>,
    pub masks: HashMap<BuiltIn, ValueId>,
    /// Leaves of each stage interface variable (vertex and fragment).
    pub interface: HashMap<Id, Vec<InterfaceLeaf>>,
    pub inputs: Vec<ir::InputSlot>,
    pub outputs: Vec<ir::OutputSlot>,
    pub images: Vec<ir::ImageBinding>,
    pub image_slots: HashMap<(Id, u32), u32>,
    pub samplers: Vec<ir::SamplerBinding>,
    pub sampler_slots: HashMap<(Id, u32), u32>,
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
            masks: HashMap::new(),
            interface: HashMap::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            images: Vec::new(),
            image_slots: HashMap::new(),
            samplers: Vec::new(),
            sampler_slots: HashMap::new(),
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
    let off = total
        .checked_next_multiple_of(align.max(4))
        .unwrap_or(u64::MAX);
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
    pub fn mem_ptr(&self, ty: Id, ptr_ty: Id, space: Space, off: u64, explicit: bool) -> Ptr {
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
            StorageClass::Input | StorageClass::Output if self.mem.interface.contains_key(&id) => {
                Ok(Ptr {
                    ty,
                    ptr_ty,
                    root: Root::Interface { var: id, first: 0 },
                })
            }
            StorageClass::Input => match self.m.decos.builtin.get(&id) {
                Some(b) => Ok(Ptr {
                    ty,
                    ptr_ty,
                    root: Root::Input {
                        builtin: *b,
                        first: 0,
                    },
                }),
                None => Err(FrontError::Unsupported(format!(
                    "Input variables without a BuiltIn decoration in {:?}",
                    self.m.stage
                ))),
            },
            StorageClass::Output => Err(FrontError::Unsupported(format!(
                "Output variable %{id} in {:?} (not in the entry point's interface?)",
                self.m.stage
            ))),
            StorageClass::UniformConstant => self.handle_ptr(id, ty, ptr_ty),
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
        self.bind(id, Value::Ptr(ptr.clone()))?;
        if let Some(rspirv::dr::Operand::IdRef(init)) = inst.operands.get(1) {
            let (_, leaves) = self.data(*init)?;
            self.store(&ptr, &leaves)?;
        }
        Ok(())
    }

    pub fn buffer_slot(&mut self, var: Id, index: u32) -> Result<u32> {
        self.buffer_run(var, index, 1)
    }

    /// The first of `len` consecutive slots for elements `first..first + len` of buffer
    /// variable `var` (a dynamically indexed array takes all its elements): the slots already
    /// given to them when those are consecutive, else a fresh run (which later constant
    /// indices then share).
    pub fn buffer_run(&mut self, var: Id, first: u32, len: u32) -> Result<u32> {
        if len == 1 {
            if let Some(s) = self.mem.slots.get(&(var, first)) {
                return Ok(*s);
            }
        }
        let template = self.buffer_binding(var)?;
        let mem = &mut self.mem;
        Ok(super::handles::run_of(
            &mut mem.buffers,
            &mut mem.slots,
            var,
            first,
            len,
            |array_index| BufferBinding {
                array_index,
                ..template
            },
        ))
    }

    /// The binding of element 0 of buffer variable `var`.
    fn buffer_binding(&self, var: Id) -> Result<BufferBinding> {
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
        Ok(BufferBinding {
            set: *set,
            binding: *binding,
            array_index: 0,
            kind,
            read_only,
        })
    }
}
