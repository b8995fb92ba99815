//! Pointers: access chains, loads, stores, atomics and `OpArrayLength`.
//!
//! Pointers are compile-time objects. A pointer into memory is (space, dynamic I64 part,
//! constant part, layout context); a pointer into a register-held variable is (variable,
//! first leaf); a pointer into a builtin input is (builtin, first component). Access-chain
//! indices are signed (SPIR-V §3.32.8) and are sign-extended to the I64 offset; the back end
//! bounds-checks every access, so a wild index reads 0 or writes nothing.

use spirv::BuiltIn;

use super::handles::{HandleIndex, MAX_DYNAMIC_DESCRIPTOR_ARRAY};
use super::interface::InterfaceLeaf;
use super::lower::Lower;
use super::types::{Id, MatrixLayout, Type};
use super::{malformed, FrontError, Result};
use crate::ir::{
    AtomicOp, BinOp, BufferKind, CmpOp, ConvOp, DescriptorIndex, MemRef, Op as IrOp, ScalarType,
    Space, Stmt, ValueId, VarId,
};

/// Longest dynamically indexed buffer array `OpArrayLength` takes (one select per element).
const MAX_BUFFER_ARRAY_LENGTH_CHAIN: u32 = 64;

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
    /// A stage interface variable (super::interface), from leaf `first`.
    Interface {
        var: Id,
        first: usize,
    },
    /// An arrayed buffer binding, not yet indexed.
    DescArray {
        var: Id,
    },
    /// A `UniformConstant` image/sampler variable; `index` is the array element (`None` while
    /// an arrayed binding is not yet indexed).
    Handles {
        var: Id,
        index: Option<HandleIndex>,
    },
}

impl Lower<'_> {
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

    /// A dynamic descriptor-array index as an I32 or I64 value (narrower integers are
    /// sign-extended, as SPIR-V indices are signed; the back end compares it unsigned).
    fn descriptor_index(&mut self, index: Id) -> Result<ValueId> {
        let v = self.scalar(index)?;
        match self.b.ty(v) {
            ScalarType::I32 | ScalarType::I64 => Ok(v),
            ScalarType::I8 | ScalarType::I16 => Ok(self.int_to(v, ScalarType::I32, true)),
            _ => malformed("access chain index is not an integer"),
        }
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
                    let k = match (k, &ty) {
                        (Some(k), _) => step_const(Some(k))?,
                        (None, &Type::Array { elem, len }) => {
                            p = self.buffer_array_ptr(var, elem, len, index, ptr_ty)?;
                            continue;
                        }
                        (None, _) => {
                            return Err(FrontError::Unsupported(
                                "OpAccessChain: dynamic index into a runtime array of buffer \
                                 blocks (descriptor indexing)"
                                    .into(),
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
                Root::Handles { index: element, .. } => {
                    let (Type::Array { elem, .. } | Type::RuntimeArray { elem }) = ty else {
                        return malformed("access chain into an image or sampler");
                    };
                    if element.is_some() {
                        return malformed("access chain into an image or sampler");
                    }
                    *element = Some(match (k, ty) {
                        (Some(k), ty) => {
                            let i = step_const(Some(k))?;
                            if let Type::Array { len, .. } = ty {
                                if i >= len {
                                    return malformed("descriptor index out of range");
                                }
                            }
                            HandleIndex::Const(i)
                        }
                        (None, Type::Array { len, .. }) => {
                            if len > MAX_DYNAMIC_DESCRIPTOR_ARRAY {
                                return Err(FrontError::Limit(format!(
                                    "dynamic index into an array of {len} image or sampler \
                                     descriptors (at most {MAX_DYNAMIC_DESCRIPTOR_ARRAY})"
                                )));
                            }
                            HandleIndex::Dynamic(DescriptorIndex {
                                len,
                                index: self.descriptor_index(index)?,
                            })
                        }
                        (None, _) => {
                            return Err(FrontError::Unsupported(
                                "dynamic index into a runtime array of image or sampler \
                                 descriptors (descriptor indexing)"
                                    .into(),
                            ))
                        }
                    });
                    p.ty = elem;
                }
                Root::Reg { first, .. }
                | Root::Input { first, .. }
                | Root::Interface { first, .. } => {
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

    /// Element `index` (not a constant) of the array of `len` buffer blocks `var`
    /// (shader{Uniform,Storage}BufferArrayDynamicIndexing): a pointer into a run of slots for
    /// all the elements, picked at run time.
    fn buffer_array_ptr(
        &mut self,
        var: Id,
        elem: Id,
        len: u32,
        index: Id,
        ptr_ty: Id,
    ) -> Result<Ptr> {
        if len > MAX_DYNAMIC_DESCRIPTOR_ARRAY {
            return Err(FrontError::Limit(format!(
                "OpAccessChain: dynamic index into an array of {len} buffer blocks (at most \
                 {MAX_DYNAMIC_DESCRIPTOR_ARRAY})"
            )));
        }
        if len == 0 {
            return malformed("array of 0 buffer blocks");
        }
        let first = self.buffer_run(var, 0, len)?;
        let index = DescriptorIndex {
            len,
            index: self.descriptor_index(index)?,
        };
        Ok(self.mem_ptr(elem, ptr_ty, Space::BufferArray { first, index }, 0, true))
    }

    /// The bound size (I64) of the element of a buffer array that `index` picks: a chain of
    /// selects over the run's `Op::BufferLength`s, 0 past the end (a null descriptor).
    fn buffer_array_length(&mut self, first: u32, index: DescriptorIndex) -> Result<ValueId> {
        if index.len > MAX_BUFFER_ARRAY_LENGTH_CHAIN {
            return Err(FrontError::Limit(format!(
                "OpArrayLength on a dynamically indexed array of {} buffer blocks (at most \
                 {MAX_BUFFER_ARRAY_LENGTH_CHAIN})",
                index.len
            )));
        }
        let ty = self.b.ty(index.index);
        let mut size = self.ki(ScalarType::I64, 0);
        for e in 0..index.len {
            let Some(slot) = first.checked_add(e) else {
                return malformed("buffer array slots overflow");
            };
            let len = self.b.def(ScalarType::I64, IrOp::BufferLength(slot));
            let k = self.ki(ty, u64::from(e));
            let here = self.cmp(CmpOp::Eq, index.index, k);
            size = self.select(here, len, size);
        }
        Ok(size)
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
                let leaves = self.builtin_leaves(*builtin, *first, n)?;
                let declared = self.m.types.leaves(p.ty)?;
                if leaves.len() != declared.len()
                    || leaves
                        .iter()
                        .zip(&declared)
                        .any(|(v, t)| self.b.ty(*v) != *t)
                {
                    return malformed(format!("builtin {builtin:?} declared with the wrong type"));
                }
                Ok(leaves)
            }
            Root::Interface { var, first } => {
                let declared = self.m.types.leaves(p.ty)?;
                let leaves = self.interface_leaves(*var, *first, declared.len())?;
                let mut out = Vec::with_capacity(leaves.len());
                for (leaf, ty) in leaves.iter().zip(&declared) {
                    let v = match leaf {
                        InterfaceLeaf::Input(i) => self.b.input(*i, *ty),
                        InterfaceLeaf::Output(var) => self.b.def(*ty, IrOp::GetVar(*var)),
                        InterfaceLeaf::Refused(b) => {
                            return Err(FrontError::Unsupported(format!("builtin {b:?}")))
                        }
                    };
                    out.push(v);
                }
                Ok(out)
            }
            Root::DescArray { .. } | Root::Handles { .. } => Err(FrontError::Unsupported(
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
                let slot = match space {
                    Space::Buffer(s) | Space::BufferArray { first: s, .. } => Some(*s),
                    _ => None,
                };
                if let Some(s) = slot {
                    if self
                        .mem
                        .buffers
                        .get(s as usize)
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
            Root::Interface { var, first } => {
                if self.m.types.leaf_count(p.ty)? != values.len() {
                    return malformed("OpStore of a value of the wrong type");
                }
                let leaves = self.interface_leaves(*var, *first, values.len())?;
                for (leaf, value) in leaves.iter().zip(values) {
                    let InterfaceLeaf::Output(var) = leaf else {
                        return malformed("store to an Input variable");
                    };
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
            Root::DescArray { .. } | Root::Handles { .. } => {
                malformed("store to a descriptor array or handle")
            }
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
                space: Space::Buffer(_) | Space::BufferArray { .. } | Space::Workgroup,
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
            space: space @ (Space::Buffer(_) | Space::BufferArray { .. }),
            dyn_off: None,
            explicit: true,
            ..
        } = &p.root
        else {
            return Err(FrontError::Unsupported(
                "OpArrayLength on anything but a buffer block".into(),
            ));
        };
        let space = *space;
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
        let size = match space {
            Space::BufferArray { first, index } => self.buffer_array_length(first, index)?,
            Space::Buffer(slot) => self.b.def(ScalarType::I64, IrOp::BufferLength(slot)),
            _ => return malformed("OpArrayLength outside buffer memory"),
        };
        let short = self.cmp(CmpOp::ULt, size, start);
        let rest = self.bin(BinOp::ISub, size, start);
        let zero = self.ki(ScalarType::I64, 0);
        let avail = self.select(short, zero, rest);
        let k = self.ki(ScalarType::I64, stride);
        let n = self.bin(BinOp::UDiv, avail, k);
        // More than u32::MAX elements cannot be bound (maxStorageBufferRange is 32-bit).
        Ok(self.conv(ConvOp::ZextOrTrunc, ScalarType::I32, n))
    }
}
