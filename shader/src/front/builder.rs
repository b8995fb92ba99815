//! The IR under construction: value and var numbering, the constant prologue, the statement
//! list being filled, and the lexical scopes that decide whether an IR value may be used at
//! the current point (the IR's scoping rule, `ir.rs`, `Stmt::Loop`).

use std::collections::HashMap;

use super::{FrontError, Result};
use crate::ir::{Builtin, Const, LabelId, Op, ScalarType, Stmt, ValueId, VarId};

/// Most IR values one module may define.
const MAX_VALUES: usize = 1 << 20;
/// Most statements one module may have (inlining can multiply a module's size).
const MAX_STATEMENTS: usize = 1 << 21;
/// Deepest nesting of statement lists we produce (the validator accepts 256).
const MAX_DEPTH: usize = 192;

/// Where a SPIR-V value was defined: a scope and the definition counter at that point.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DefRec {
    scope: u32,
    seq: u64,
}

impl DefRec {
    /// Always visible (constants and builtins live in the prologue).
    pub const GLOBAL: DefRec = DefRec { scope: 0, seq: 0 };
}

pub(crate) struct Builder {
    pub value_types: Vec<ScalarType>,
    pub var_types: Vec<ScalarType>,
    next_label: u32,
    /// Definitions of constants and builtins, placed before the body.
    pub prologue: Vec<Stmt>,
    consts: HashMap<(ScalarType, u64), ValueId>,
    builtins: HashMap<Builtin, ValueId>,
    inputs: HashMap<u32, ValueId>,
    /// The statement list being filled.
    pub cur: Vec<Stmt>,
    open: Vec<bool>,
    /// A closed scope whose statements were spliced into another scope.
    alias: Vec<Option<u32>>,
    /// Per scope: `Some(cutoff)` while emitting the `continuing` of the loop whose body it is.
    partial: Vec<Option<u64>>,
    stack: Vec<u32>,
    seq: u64,
    /// Statements emitted so far (all lists).
    statements: usize,
}

impl Builder {
    pub fn new() -> Self {
        Builder {
            value_types: Vec::new(),
            var_types: Vec::new(),
            next_label: 0,
            prologue: Vec::new(),
            consts: HashMap::new(),
            builtins: HashMap::new(),
            inputs: HashMap::new(),
            cur: Vec::new(),
            open: vec![true],
            alias: vec![None],
            partial: vec![None],
            stack: vec![0],
            seq: 1,
            statements: 0,
        }
    }

    pub fn value(&mut self, ty: ScalarType) -> ValueId {
        let id = ValueId(self.value_types.len() as u32);
        self.value_types.push(ty);
        id
    }

    pub fn check_limits(&self) -> Result<()> {
        if self.value_types.len() > MAX_VALUES {
            return Err(FrontError::Limit(format!(
                "more than {MAX_VALUES} IR values"
            )));
        }
        if self.statements > MAX_STATEMENTS {
            return Err(FrontError::Limit(format!(
                "more than {MAX_STATEMENTS} IR statements"
            )));
        }
        Ok(())
    }

    pub fn ty(&self, v: ValueId) -> ScalarType {
        self.value_types[v.0 as usize]
    }

    pub fn var(&mut self, ty: ScalarType) -> VarId {
        let id = VarId(self.var_types.len() as u32);
        self.var_types.push(ty);
        id
    }

    pub fn label(&mut self) -> LabelId {
        self.next_label += 1;
        LabelId(self.next_label)
    }

    pub fn push(&mut self, s: Stmt) {
        self.statements += 1;
        self.cur.push(s);
    }

    /// Defines a new value in the current list.
    pub fn def(&mut self, ty: ScalarType, op: Op) -> ValueId {
        let id = self.value(ty);
        self.push(Stmt::Def { id, op });
        id
    }

    /// A constant, defined once in the prologue.
    pub fn konst(&mut self, ty: ScalarType, bits: u64) -> ValueId {
        let bits = super::consts::mask(ty, bits);
        if let Some(v) = self.consts.get(&(ty, bits)) {
            return *v;
        }
        let id = self.value(ty);
        self.prologue.push(Stmt::Def {
            id,
            op: Op::Const(Const(bits)),
        });
        self.consts.insert((ty, bits), id);
        id
    }

    /// A builtin input, read once in the prologue.
    pub fn builtin(&mut self, b: Builtin) -> ValueId {
        if let Some(v) = self.builtins.get(&b) {
            return *v;
        }
        let ty = b.ty();
        let id = self.value(ty);
        self.prologue.push(Stmt::Def {
            id,
            op: Op::Builtin(b),
        });
        self.builtins.insert(b, id);
        id
    }

    /// Stage input slot `index` (of type `ty`), read once in the prologue.
    pub fn input(&mut self, index: u32, ty: ScalarType) -> ValueId {
        if let Some(v) = self.inputs.get(&index) {
            return *v;
        }
        let id = self.value(ty);
        self.prologue.push(Stmt::Def {
            id,
            op: Op::Input(index),
        });
        self.inputs.insert(index, id);
        id
    }

    // ---- scopes ----

    /// The record for a SPIR-V value defined now.
    pub fn rec(&mut self) -> DefRec {
        let r = DefRec {
            scope: *self.stack.last().unwrap_or(&0),
            seq: self.seq,
        };
        self.seq += 1;
        r
    }

    /// The definition counter; a `Continue` emitted now hides later body values from
    /// `continuing`.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    fn resolve(&self, mut s: u32) -> u32 {
        // Aliases always point to scopes created earlier, so this walk ends.
        while let Some(Some(a)) = self.alias.get(s as usize) {
            s = *a;
        }
        s
    }

    pub fn visible(&self, r: DefRec) -> bool {
        let s = self.resolve(r.scope) as usize;
        self.open[s] || matches!(self.partial[s], Some(cut) if r.seq < cut)
    }

    pub fn current_scope(&self) -> u32 {
        *self.stack.last().unwrap_or(&0)
    }

    /// Starts a nested statement list; returns what `leave` needs to restore.
    pub fn enter(&mut self) -> Result<(Vec<Stmt>, u32)> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(FrontError::Limit(format!(
                "control flow nested deeper than {MAX_DEPTH}"
            )));
        }
        let s = self.open.len() as u32;
        self.open.push(true);
        self.alias.push(None);
        self.partial.push(None);
        self.stack.push(s);
        Ok((std::mem::take(&mut self.cur), s))
    }

    /// Ends a nested list and returns its statements. With `splice`, the caller puts the
    /// statements into the enclosing list itself, so its values stay visible there.
    pub fn leave(&mut self, saved: (Vec<Stmt>, u32), splice: bool) -> Vec<Stmt> {
        let (outer, s) = saved;
        self.stack.pop();
        self.open[s as usize] = false;
        if splice {
            self.alias[s as usize] = Some(self.current_scope());
        }
        std::mem::replace(&mut self.cur, outer)
    }

    pub fn set_partial(&mut self, scope: u32, cutoff: Option<u64>) {
        if let Some(p) = self.partial.get_mut(scope as usize) {
            *p = cutoff;
        }
    }
}
