//! Lowering driver: the entry function, with every call inlined, into one IR body.
//!
//! SPIR-V lets a value be used wherever its definition dominates; the IR only where its
//! definition is lexically visible. Lowering therefore runs in passes: each pass records the
//! SPIR-V ids used where they were not visible, and the next pass gives exactly those ids a
//! backing var (a `SetVar` after the definition, a `GetVar` at each such use). Other values
//! stay plain SSA values, which keeps the back end's uniformity analysis precise.

use std::collections::{HashMap, HashSet};

use super::builder::{Builder, DefRec};
use super::cfg::Construct;
use super::handles::HandleIndex;
use super::memory::{Ptr, Root};
use super::module::{FuncInfo, ModuleInfo};
use super::types::Id;
use super::variables;
use super::{malformed, FrontError, Result};
use crate::ir::{self, LabelId, Op, ScalarType, Stmt, ValueId, VarId};

/// Passes before giving up on making every use visible.
const MAX_PASSES: usize = 6;
/// Most scalar leaves bound to SPIR-V ids at once (copies of large composites cost memory
/// without defining IR values).
const MAX_BOUND_LEAVES: usize = 1 << 22;
/// Deepest chain of inlined calls.
pub(crate) const MAX_CALL_DEPTH: usize = 64;

/// What a SPIR-V id stands for during lowering.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    /// A value of type `ty`, flattened into scalar leaves.
    Data { ty: Id, leaves: Vec<ValueId> },
    /// A pointer: a compile-time object.
    Ptr(Ptr),
    /// An image, sampler, sampled image or texel pointer: a compile-time object.
    Handle(super::handles::Handle),
}

impl Value {
    /// The IR values this value carries (what a backing var must hold).
    fn carried(&self) -> Vec<ValueId> {
        match self {
            Value::Data { leaves, .. } => leaves.clone(),
            Value::Ptr(Ptr {
                root: Root::Mem {
                    dyn_off: Some(v), ..
                },
                ..
            }) => vec![*v],
            Value::Ptr(Ptr {
                root:
                    Root::Handles {
                        index: Some(HandleIndex::Dynamic(d)),
                        ..
                    },
                ..
            }) => vec![d.index],
            Value::Ptr(_) => Vec::new(),
            Value::Handle(h) => h.carried(),
        }
    }

    fn with_carried(&self, new: Vec<ValueId>) -> Value {
        match self {
            Value::Data { ty, .. } => Value::Data {
                ty: *ty,
                leaves: new,
            },
            Value::Ptr(p) => {
                let mut p = p.clone();
                match &mut p.root {
                    Root::Mem { dyn_off, .. } => *dyn_off = new.first().copied(),
                    Root::Handles {
                        index: Some(HandleIndex::Dynamic(d)),
                        ..
                    } => {
                        if let Some(v) = new.first() {
                            d.index = *v;
                        }
                    }
                    _ => {}
                }
                Value::Ptr(p)
            }
            Value::Handle(h) => Value::Handle(h.with_carried(&new)),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Bound {
    pub value: Value,
    pub rec: DefRec,
}

/// How an inlined function's returns reach its caller.
pub(crate) struct Ret {
    pub label: LabelId,
    pub ty: Id,
    pub vars: Option<Vec<VarId>>,
    /// Some return happened inside a construct (so the body needs a `Breakable`).
    pub nested: bool,
    /// The value returned at the function's top level, if it returned there.
    pub top: Option<Vec<ValueId>>,
}

pub(crate) struct Frame<'a> {
    pub func: &'a FuncInfo<'a>,
    pub fn_id: Id,
    pub values: HashMap<Id, Bound>,
    pub constructs: Vec<Construct>,
    /// `None` for the entry function.
    pub ret: Option<Ret>,
}

pub(crate) struct Lower<'a> {
    pub m: &'a ModuleInfo<'a>,
    pub b: Builder,
    pub frames: Vec<Frame<'a>>,
    globals: HashMap<Id, Bound>,
    var_backed: HashSet<Id>,
    pub invisible: HashSet<Id>,
    backing: HashMap<Id, Vec<VarId>>,
    pub phi_vars: HashMap<Id, Vec<VarId>>,
    pub mem: variables::MemoryState,
    /// Blocks emitted so far (bounds the work on hostile control flow).
    pub blocks_emitted: usize,
    /// Scalar leaves bound to ids so far.
    bound_leaves: usize,
    /// A Kill or Demote was emitted.
    pub discards: bool,
}

/// Refuses the first instruction we do not lower, in the entry function and everything it
/// calls, before any work: the message names the opcode.
fn check_opcodes(m: &ModuleInfo) -> Result<()> {
    let mut order = vec![m.entry_fn];
    let mut seen = HashSet::from([m.entry_fn]);
    let mut i = 0;
    while let Some(f) = order.get(i).copied() {
        i += 1;
        let Some(func) = m.functions.get(&f) else {
            continue;
        };
        let mut blocks: Vec<_> = func.blocks.values().collect();
        blocks.sort_by_key(|b| b.order);
        for b in blocks {
            for inst in b.body.iter().chain(std::iter::once(&b.term)) {
                let op = inst.class.opcode;
                if !super::opcodes::supported(op) {
                    return Err(FrontError::UnsupportedOpcode(format!("{op:?}")));
                }
                if op == spirv::Op::FunctionCall {
                    if let Some(rspirv::dr::Operand::IdRef(callee)) = inst.operands.first() {
                        if seen.insert(*callee) {
                            order.push(*callee);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn lower_entry(m: &ModuleInfo) -> Result<ir::Module> {
    check_opcodes(m)?;
    let dynamic = variables::dynamically_indexed(m)?;
    let mut backed = HashSet::new();
    for _ in 0..MAX_PASSES {
        let mut l = Lower::new(m, backed.clone(), dynamic.clone());
        l.run()?;
        if l.invisible.is_subset(&backed) {
            return l.finish();
        }
        let Lower { invisible, .. } = l;
        backed.extend(invisible);
    }
    Err(FrontError::Limit(
        "values used outside their definition's reach did not settle".into(),
    ))
}

impl<'a> Lower<'a> {
    fn new(m: &'a ModuleInfo<'a>, var_backed: HashSet<Id>, dynamic: HashSet<Id>) -> Self {
        Lower {
            m,
            b: Builder::new(),
            frames: Vec::new(),
            globals: HashMap::new(),
            var_backed,
            invisible: HashSet::new(),
            backing: HashMap::new(),
            phi_vars: HashMap::new(),
            mem: variables::MemoryState::new(dynamic),
            blocks_emitted: 0,
            bound_leaves: 0,
            discards: false,
        }
    }

    fn run(&mut self) -> Result<()> {
        self.declare_interface()?;
        // Private variables with initializers are set before anything else runs.
        let mut inits: Vec<Id> = self
            .m
            .globals
            .iter()
            .filter(|(_, g)| g.class == spirv::StorageClass::Private && g.init.is_some())
            .map(|(id, _)| *id)
            .collect();
        inits.sort_unstable();
        for id in inits {
            let ptr = self.ptr(id)?;
            if let Some(init) = self.m.globals.get(&id).and_then(|g| g.init) {
                let (_, leaves) = self.data(init)?;
                self.store(&ptr, &leaves)?;
            }
        }
        self.call(self.m.entry_fn, Vec::new(), true)?;
        Ok(())
    }

    fn finish(self) -> Result<ir::Module> {
        let Lower { b, mem, .. } = self;
        let mut body = b.prologue;
        body.extend(b.cur);
        let limit = |what: &str, size: u64, max: u32| -> Result<u32> {
            if size > u64::from(max) {
                return Err(FrontError::Limit(format!(
                    "{what} of {size} bytes exceeds {max}"
                )));
            }
            Ok(size as u32)
        };
        Ok(ir::Module {
            version: ir::IR_VERSION,
            stage: self.m.stage,
            entry_point: self.m.entry_name.clone(),
            workgroup_size: self.m.workgroup_size,
            inputs: mem.inputs,
            outputs: mem.outputs,
            fragment: ir::FragmentModes {
                discards: self.discards,
                ..self.m.fragment
            },
            value_types: b.value_types,
            var_types: b.var_types,
            buffers: mem.buffers,
            images: mem.images,
            samplers: mem.samplers,
            push_constant_size: limit(
                "push constant block",
                mem.push_constant_size,
                ir::MAX_PUSH_CONSTANTS,
            )?,
            workgroup_memory_size: limit(
                "workgroup memory",
                mem.workgroup_size,
                ir::MAX_WORKGROUP_MEMORY,
            )?,
            private_memory_size: limit("private memory", mem.private_size, ir::MAX_PRIVATE_MEMORY)?,
            body,
        })
    }

    pub fn frame(&mut self) -> Result<&mut Frame<'a>> {
        match self.frames.last_mut() {
            Some(f) => Ok(f),
            None => malformed("instruction outside a function"),
        }
    }

    // ---- values ----

    /// Binds the result of an instruction at the current point.
    pub fn bind(&mut self, id: Id, value: Value) -> Result<()> {
        if let Value::Data { leaves, .. } = &value {
            self.bound_leaves = self.bound_leaves.saturating_add(leaves.len());
            if self.bound_leaves > MAX_BOUND_LEAVES {
                return Err(FrontError::Limit(format!(
                    "more than {MAX_BOUND_LEAVES} scalars bound"
                )));
            }
        }
        let rec = self.b.rec();
        if self.var_backed.contains(&id) {
            let carried = value.carried();
            if !carried.is_empty() {
                let vars = match self.backing.get(&id) {
                    Some(v) => v.clone(),
                    None => {
                        let v: Vec<VarId> =
                            carried.iter().map(|c| self.b.var(self.b.ty(*c))).collect();
                        self.backing.insert(id, v.clone());
                        v
                    }
                };
                if vars.len() != carried.len() {
                    return malformed(format!("%{id} changes shape between inlined calls"));
                }
                for (var, value) in vars.iter().zip(&carried) {
                    self.b.push(Stmt::SetVar {
                        var: *var,
                        value: *value,
                    });
                }
            }
        }
        let frame = self.frame()?;
        if frame.values.insert(id, Bound { value, rec }).is_some() {
            return malformed(format!("%{id} defined twice"));
        }
        self.b.check_limits()
    }

    /// Binds with an explicit record (function parameters take their argument's).
    pub fn bind_as(&mut self, id: Id, bound: Bound) -> Result<()> {
        self.frame()?.values.insert(id, bound);
        Ok(())
    }

    /// The value of `id` as usable at the current point.
    pub fn value(&mut self, id: Id) -> Result<Value> {
        if let Some(bd) = self.frames.last().and_then(|f| f.values.get(&id)).cloned() {
            if self.b.visible(bd.rec) {
                return Ok(bd.value);
            }
            let carried = bd.value.carried();
            if carried.is_empty() {
                return Ok(bd.value);
            }
            self.invisible.insert(id);
            if let Some(vars) = self.backing.get(&id).cloned() {
                let fresh: Vec<ValueId> = vars
                    .iter()
                    .map(|v| {
                        let ty = self.b.var_types[v.0 as usize];
                        self.b.def(ty, Op::GetVar(*v))
                    })
                    .collect();
                return Ok(bd.value.with_carried(fresh));
            }
            // First pass: keep going; the next pass backs this id with a var.
            return Ok(bd.value);
        }
        if let Some(bd) = self.globals.get(&id) {
            return Ok(bd.value.clone());
        }
        let value = if let Some(c) = self.m.consts.get(&id) {
            let leaves = self.m.types.leaves(c.ty)?;
            let leaves = leaves
                .iter()
                .zip(&c.bits)
                .map(|(t, b)| self.b.konst(*t, *b))
                .collect();
            Value::Data { ty: c.ty, leaves }
        } else if self.m.globals.contains_key(&id) {
            Value::Ptr(self.global_ptr(id)?)
        } else {
            return malformed(format!("%{id} used before its definition or not a value"));
        };
        self.globals.insert(
            id,
            Bound {
                value: value.clone(),
                rec: DefRec::GLOBAL,
            },
        );
        Ok(value)
    }

    pub fn data(&mut self, id: Id) -> Result<(Id, Vec<ValueId>)> {
        match self.value(id)? {
            Value::Data { ty, leaves } => Ok((ty, leaves)),
            Value::Ptr(_) => Err(FrontError::Unsupported(format!(
                "pointer %{id} used as a value"
            ))),
            Value::Handle(_) => Err(FrontError::Unsupported(format!(
                "image or sampler %{id} used as a value (OpPhi, OpSelect or a composite of \
                 handles)"
            ))),
        }
    }

    pub fn ptr(&mut self, id: Id) -> Result<Ptr> {
        match self.value(id)? {
            Value::Ptr(p) => Ok(p),
            Value::Data { .. } | Value::Handle(_) => malformed(format!("%{id} is not a pointer")),
        }
    }

    /// A scalar operand.
    pub fn scalar(&mut self, id: Id) -> Result<ValueId> {
        match self.data(id)?.1.as_slice() {
            [v] => Ok(*v),
            _ => malformed(format!("%{id} is not a scalar")),
        }
    }

    /// The value of a constant id (scopes, literal-like operands), if it is one.
    pub fn const_u64(&self, id: Id) -> Option<u64> {
        match self.m.consts.get(&id)?.bits.as_slice() {
            [v] => Some(*v),
            _ => None,
        }
    }

    // ---- calls ----

    // ---- small IR helpers ----

    pub fn un(&mut self, op: ir::UnOp, a: ValueId) -> ValueId {
        let ty = self.b.ty(a);
        self.b.def(ty, Op::Unary(op, a))
    }

    pub fn bin(&mut self, op: ir::BinOp, a: ValueId, b: ValueId) -> ValueId {
        let ty = self.b.ty(a);
        self.b.def(ty, Op::Binary(op, a, b))
    }

    pub fn cmp(&mut self, op: ir::CmpOp, a: ValueId, b: ValueId) -> ValueId {
        self.b.def(ScalarType::Bool, Op::Cmp(op, a, b))
    }

    pub fn select(&mut self, c: ValueId, a: ValueId, b: ValueId) -> ValueId {
        let ty = self.b.ty(a);
        self.b.def(ty, Op::Select(c, a, b))
    }

    pub fn conv(&mut self, op: ir::ConvOp, to: ScalarType, a: ValueId) -> ValueId {
        self.b.def(to, Op::Convert(op, a))
    }

    pub fn kf(&mut self, f: f32) -> ValueId {
        self.b.konst(ScalarType::F32, u64::from(f.to_bits()))
    }

    pub fn ki(&mut self, ty: ScalarType, v: u64) -> ValueId {
        self.b.konst(ty, v)
    }

    /// Converts an integer to `to` width, zero- or sign-extending.
    pub fn int_to(&mut self, v: ValueId, to: ScalarType, signed: bool) -> ValueId {
        if self.b.ty(v) == to {
            return v;
        }
        let op = if signed {
            ir::ConvOp::SextOrTrunc
        } else {
            ir::ConvOp::ZextOrTrunc
        };
        self.conv(op, to, v)
    }
}
