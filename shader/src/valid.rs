//! IR validation: the one pass that decides whether a [`Module`] is well formed.
//!
//! The JIT back end trusts validated modules: every id is in range, every value is defined
//! exactly once and used only where it is in scope (see the scoping rules in [`crate::ir`]),
//! every operand has the type its operation needs, every `Break`/`Continue` names an enclosing
//! construct, and every size is within the limits we report to Vulkan. Nothing here looks at
//! run-time values: bounds of memory accesses are the back end's job.
//!
//! The walk recurses once per nested statement list and refuses modules nested deeper than
//! [`MAX_NESTING_DEPTH`], so its stack use is bounded whatever the input.

use std::collections::HashSet;

use crate::ir::{
    FragmentModes, Interpolation, LabelId, Module, OutputTarget, ScalarType, Stage, Stmt, ValueId,
    VarId, IR_VERSION, MAX_INTERFACE_LOCATIONS, MAX_PRIVATE_MEMORY, MAX_PUSH_CONSTANTS, MAX_VARS,
    MAX_WORKGROUP_INVOCATIONS, MAX_WORKGROUP_MEMORY,
};

/// Deepest nesting of statement lists (`If`/`Loop`/`Breakable` bodies) a module may have.
pub const MAX_NESTING_DEPTH: usize = 256;

/// Why a module is not valid. Each variant names the offending item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("IR version {found} is not the supported version {IR_VERSION}")]
    Version { found: u32 },
    #[error("workgroup size {0:?} has a zero dimension or more than {MAX_WORKGROUP_INVOCATIONS} invocations")]
    WorkgroupSize([u32; 3]),
    #[error("{what} size {size} exceeds the limit {limit}")]
    MemorySize {
        what: &'static str,
        size: u32,
        limit: u32,
    },
    #[error("{0} vars exceed the limit {MAX_VARS}")]
    TooManyVars(usize),
    #[error("value {0:?} is out of range")]
    ValueOutOfRange(ValueId),
    #[error("var {0:?} is out of range")]
    VarOutOfRange(VarId),
    #[error("buffer index {0} is out of range")]
    BufferOutOfRange(u32),
    #[error("image slot {0} is out of range")]
    ImageOutOfRange(u32),
    #[error("sampler slot {0} is out of range")]
    SamplerOutOfRange(u32),
    #[error("image operation: {0}")]
    Image(String),
    #[error("value {0:?} is defined more than once")]
    Redefined(ValueId),
    #[error("value {0:?} is used where it is not in scope (before its definition or outside the list that defines it)")]
    NotInScope(ValueId),
    #[error("label {0:?} names more than one construct")]
    DuplicateLabel(LabelId),
    #[error("break to {0:?}, which is not an enclosing loop or breakable construct")]
    BadBreak(LabelId),
    #[error("continue to {0:?}, which is not an enclosing loop, or is inside that loop's continuing block")]
    BadContinue(LabelId),
    #[error("statement lists nested deeper than {MAX_NESTING_DEPTH}")]
    TooDeep,
    #[error("{0}")]
    Stage(String),
    #[error("stage interface: {0}")]
    Interface(String),
    #[error("at value {at:?}: {what}")]
    Type { at: ValueId, what: String },
}

type Result<T> = std::result::Result<T, ValidationError>;

/// Checks the whole module. `Ok(())` means the back end may rely on every rule in this
/// module's documentation.
pub fn validate(m: &Module) -> Result<()> {
    check_header(m)?;
    let mut checker = Checker {
        m,
        visible: vec![false; m.value_types.len()],
        def_seq: vec![None; m.value_types.len()],
        next_seq: 0,
        labels: HashSet::new(),
        constructs: Vec::new(),
    };
    checker.list(&m.body)
}

fn check_header(m: &Module) -> Result<()> {
    if m.version != IR_VERSION {
        return Err(ValidationError::Version { found: m.version });
    }
    check_interface(m)?;
    let [x, y, z] = m.workgroup_size;
    let invocations = x.checked_mul(y).and_then(|xy| xy.checked_mul(z));
    match invocations {
        Some(n) if (1..=MAX_WORKGROUP_INVOCATIONS).contains(&n) => {}
        _ => return Err(ValidationError::WorkgroupSize(m.workgroup_size)),
    }
    let limits = [
        ("push constant", m.push_constant_size, MAX_PUSH_CONSTANTS),
        (
            "workgroup memory",
            m.workgroup_memory_size,
            MAX_WORKGROUP_MEMORY,
        ),
        ("private memory", m.private_memory_size, MAX_PRIVATE_MEMORY),
    ];
    for (what, size, limit) in limits {
        if size > limit {
            return Err(ValidationError::MemorySize { what, size, limit });
        }
    }
    if m.var_types.len() > MAX_VARS {
        return Err(ValidationError::TooManyVars(m.var_types.len()));
    }
    Ok(())
}

/// The stage's interface tables and modes: what the back end and the rasterizer read.
fn check_interface(m: &Module) -> Result<()> {
    let bad = |what: String| Err(ValidationError::Interface(what));
    if m.stage == Stage::Compute {
        if !m.inputs.is_empty() || !m.outputs.is_empty() {
            return bad("a compute module has stage inputs or outputs".into());
        }
    } else {
        if m.workgroup_size != [1, 1, 1] || m.workgroup_memory_size != 0 {
            return bad(format!("a {:?} module has a workgroup", m.stage));
        }
    }
    if m.stage != Stage::Fragment && m.fragment != FragmentModes::default() {
        return bad(format!("a {:?} module has fragment modes", m.stage));
    }
    let max_slots = (MAX_INTERFACE_LOCATIONS as usize) * 4;
    if m.inputs.len() > max_slots || m.outputs.len() > max_slots + 6 {
        return bad("more slots than locations".into());
    }
    let mut seen = HashSet::new();
    for s in &m.inputs {
        if s.location >= MAX_INTERFACE_LOCATIONS || s.component >= 4 {
            return bad(format!(
                "input slot {}.{} out of range",
                s.location, s.component
            ));
        }
        if !matches!(s.ty, ScalarType::I32 | ScalarType::F32) {
            return bad(format!("input slot of type {:?}", s.ty));
        }
        if m.stage == Stage::Fragment && s.ty == ScalarType::I32 && s.interp != Interpolation::Flat
        {
            return bad(format!(
                "integer input at location {} is not Flat",
                s.location
            ));
        }
        if !seen.insert((s.location, s.component)) {
            return bad(format!("input slot {}.{} twice", s.location, s.component));
        }
    }
    let mut targets = HashSet::new();
    for s in &m.outputs {
        let ok_stage = match s.target {
            OutputTarget::Location {
                location,
                component,
            } => {
                if location >= MAX_INTERFACE_LOCATIONS || component >= 4 {
                    return bad(format!("output slot {location}.{component} out of range"));
                }
                true
            }
            OutputTarget::Position(c) => m.stage == Stage::Vertex && c < 4,
            OutputTarget::PointSize => m.stage == Stage::Vertex,
            OutputTarget::FragDepth => m.stage == Stage::Fragment,
        };
        if !ok_stage {
            return bad(format!("output {:?} in a {:?} shader", s.target, m.stage));
        }
        if !matches!(s.ty, ScalarType::I32 | ScalarType::F32)
            || m.var_types.get(s.var.0 as usize) != Some(&s.ty)
        {
            return bad(format!(
                "output {:?}: var {:?} is not of type {:?}",
                s.target, s.var, s.ty
            ));
        }
        if !targets.insert(s.target) {
            return bad(format!("output {:?} twice", s.target));
        }
    }
    Ok(())
}

/// An enclosing construct that `Break`/`Continue` may name.
struct Construct {
    /// `None` for an `If`, which only counts towards the nesting depth.
    label: Option<LabelId>,
    kind: ConstructKind,
}

enum ConstructKind {
    If,
    Breakable,
    Loop {
        /// Set while the walk is inside this loop's `continuing` list.
        in_continuing: bool,
        /// Definition sequence number at the first `Continue` to this loop, if any: body
        /// values defined at or after it are not visible in `continuing`.
        first_continue_seq: Option<u64>,
    },
}

struct Checker<'m> {
    m: &'m Module,
    /// Values currently in scope.
    visible: Vec<bool>,
    /// Order of definition of each defined value (also marks "defined once").
    def_seq: Vec<Option<u64>>,
    next_seq: u64,
    labels: HashSet<LabelId>,
    /// Enclosing constructs, innermost last; its length is the nesting depth.
    constructs: Vec<Construct>,
}

/// How an instruction touches memory.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Load,
    Store,
    /// Read-modify-write atomics.
    AtomicRmw,
    AtomicLoad,
    AtomicStore,
}

fn type_err(at: ValueId, what: impl Into<String>) -> ValidationError {
    ValidationError::Type {
        at,
        what: what.into(),
    }
}

impl Checker<'_> {
    /// Walks one statement list; values it defines go out of scope at its end.
    fn list(&mut self, stmts: &[Stmt]) -> Result<()> {
        let mut scope = Vec::new();
        let result = self.list_in_scope(stmts, &mut scope);
        self.hide(&scope);
        result
    }

    fn hide(&mut self, ids: &[ValueId]) {
        for id in ids {
            if let Some(v) = self.visible.get_mut(id.0 as usize) {
                *v = false;
            }
        }
    }

    /// Walks a list, recording the values it defines in `scope` (left visible).
    fn list_in_scope(&mut self, stmts: &[Stmt], scope: &mut Vec<ValueId>) -> Result<()> {
        for stmt in stmts {
            self.stmt(stmt, scope)?;
        }
        Ok(())
    }

    fn enter(&mut self, label: LabelId, kind: ConstructKind) -> Result<()> {
        if self.constructs.len() >= MAX_NESTING_DEPTH {
            return Err(ValidationError::TooDeep);
        }
        if !self.labels.insert(label) {
            return Err(ValidationError::DuplicateLabel(label));
        }
        self.constructs.push(Construct {
            label: Some(label),
            kind,
        });
        Ok(())
    }

    fn stmt(&mut self, stmt: &Stmt, scope: &mut Vec<ValueId>) -> Result<()> {
        match stmt {
            Stmt::Def { id, op } => {
                let ty = self.result_type(*id)?;
                if self.def_seq[id.0 as usize].is_some() {
                    return Err(ValidationError::Redefined(*id));
                }
                self.op(*id, ty, op)?;
                self.define(*id, scope);
            }
            Stmt::Image { results, op } => {
                self.image(results, op)?;
                for id in results {
                    self.result_type(*id)?;
                    if self.def_seq[id.0 as usize].is_some() {
                        return Err(ValidationError::Redefined(*id));
                    }
                    self.define(*id, scope);
                }
            }
            Stmt::Store { mem, value } => {
                let ty = self.use_value(*value)?;
                self.mem(*value, mem, ty, Access::Store)?;
            }
            Stmt::AtomicStore { mem, value } => {
                let ty = self.use_value(*value)?;
                self.mem(*value, mem, ty, Access::AtomicStore)?;
            }
            Stmt::SetVar { var, value } => {
                let ty = self.use_value(*value)?;
                let var_ty = self.var_type(*var)?;
                if ty != var_ty {
                    return Err(type_err(
                        *value,
                        format!("SetVar of a {ty:?} into {var:?} of type {var_ty:?}"),
                    ));
                }
            }
            Stmt::If {
                cond,
                then_body,
                else_body,
            } => {
                self.expect(*cond, ScalarType::Bool, "If condition")?;
                // An If is not a Break target; it still counts towards the nesting depth.
                if self.constructs.len() >= MAX_NESTING_DEPTH {
                    return Err(ValidationError::TooDeep);
                }
                self.constructs.push(Construct {
                    label: None,
                    kind: ConstructKind::If,
                });
                let result = self.list(then_body).and_then(|()| self.list(else_body));
                self.constructs.pop();
                result?;
            }
            Stmt::Loop {
                label,
                body,
                continuing,
            } => {
                self.enter(
                    *label,
                    ConstructKind::Loop {
                        in_continuing: false,
                        first_continue_seq: None,
                    },
                )?;
                let result = self.loop_lists(body, continuing);
                self.constructs.pop();
                result?;
            }
            Stmt::Breakable { label, body } => {
                self.enter(*label, ConstructKind::Breakable)?;
                let result = self.list(body);
                self.constructs.pop();
                result?;
            }
            Stmt::Break(label) => {
                let found = self.constructs.iter().any(|c| {
                    c.label == Some(*label)
                        && matches!(
                            c.kind,
                            ConstructKind::Breakable | ConstructKind::Loop { .. }
                        )
                });
                if !found {
                    return Err(ValidationError::BadBreak(*label));
                }
            }
            Stmt::Continue(label) => {
                let seq = self.next_seq;
                let target = self
                    .constructs
                    .iter_mut()
                    .rev()
                    .find(|c| c.label == Some(*label));
                match target.map(|c| &mut c.kind) {
                    Some(ConstructKind::Loop {
                        in_continuing: false,
                        first_continue_seq,
                    }) => {
                        first_continue_seq.get_or_insert(seq);
                    }
                    _ => return Err(ValidationError::BadContinue(*label)),
                }
            }
            Stmt::Return | Stmt::MemoryBarrier => {}
            Stmt::Barrier if self.m.stage != Stage::Compute => {
                return Err(ValidationError::Stage(format!(
                    "Barrier in a {:?} shader",
                    self.m.stage
                )))
            }
            Stmt::Barrier => {}
            Stmt::Kill | Stmt::Demote if self.m.stage != Stage::Fragment => {
                return Err(ValidationError::Stage(format!(
                    "{stmt:?} in a {:?} shader",
                    self.m.stage
                )))
            }
            Stmt::Kill | Stmt::Demote => {}
        }
        Ok(())
    }

    /// Marks `id` (in range, not yet defined) as defined here.
    fn define(&mut self, id: ValueId, scope: &mut Vec<ValueId>) {
        self.def_seq[id.0 as usize] = Some(self.next_seq);
        self.next_seq += 1;
        self.visible[id.0 as usize] = true;
        scope.push(id);
    }

    /// The body and continuing lists of the innermost (just entered) loop.
    fn loop_lists(&mut self, body: &[Stmt], continuing: &[Stmt]) -> Result<()> {
        let mut body_scope = Vec::new();
        let result = self.list_in_scope(body, &mut body_scope);
        if let Err(e) = result {
            self.hide(&body_scope);
            return Err(e);
        }
        // Body values defined after the first `Continue` may be skipped on the way to
        // `continuing`, so they are not in scope there (ir.rs, `Stmt::Loop`).
        let cutoff = match self.constructs.last_mut().map(|c| &mut c.kind) {
            Some(ConstructKind::Loop {
                in_continuing,
                first_continue_seq,
            }) => {
                *in_continuing = true;
                *first_continue_seq
            }
            _ => None,
        };
        if let Some(cutoff) = cutoff {
            for id in &body_scope {
                if self.def_seq[id.0 as usize].is_some_and(|seq| seq >= cutoff) {
                    self.visible[id.0 as usize] = false;
                }
            }
        }
        let result = self.list(continuing);
        self.hide(&body_scope);
        result
    }

    fn result_type(&self, id: ValueId) -> Result<ScalarType> {
        self.m
            .value_types
            .get(id.0 as usize)
            .copied()
            .ok_or(ValidationError::ValueOutOfRange(id))
    }

    fn var_type(&self, var: VarId) -> Result<ScalarType> {
        self.m
            .var_types
            .get(var.0 as usize)
            .copied()
            .ok_or(ValidationError::VarOutOfRange(var))
    }

    /// The type of an operand that must be in scope here.
    fn use_value(&self, v: ValueId) -> Result<ScalarType> {
        let ty = self.result_type(v)?;
        if !self.visible[v.0 as usize] {
            return Err(ValidationError::NotInScope(v));
        }
        Ok(ty)
    }

    fn expect(&self, v: ValueId, want: ScalarType, role: &str) -> Result<()> {
        let ty = self.use_value(v)?;
        if ty != want {
            return Err(type_err(
                v,
                format!("{role} must be {want:?}, found {ty:?}"),
            ));
        }
        Ok(())
    }

    /// Checks an operand that must have exactly the result's type.
    fn same(&self, id: ValueId, v: ValueId, ty: ScalarType) -> Result<()> {
        let found = self.use_value(v)?;
        if found != ty {
            return Err(type_err(
                id,
                format!("operand {v:?} is {found:?}, the result is {ty:?}"),
            ));
        }
        Ok(())
    }
}

mod image;
mod ops;

#[cfg(test)]
mod tests;
