//! Function calls are inlined: the callee's body is emitted in place. Returns from inside a
//! construct leave a `Breakable` wrapped around the body, with the return value in vars; a
//! body that only returns at its end is spliced in directly.

use std::collections::HashMap;

use super::lower::{Bound, Frame, Lower, Ret, Value, MAX_CALL_DEPTH};
use super::types::{Id, Type};
use super::{malformed, FrontError, Result};
use crate::ir::{Op, Stmt};

impl Lower<'_> {
    /// Lowers a call of `fn_id` (the entry function when `entry`) at the current point and
    /// returns its result.
    pub fn call(&mut self, fn_id: Id, args: Vec<Bound>, entry: bool) -> Result<Option<Value>> {
        if self.frames.iter().any(|f| f.fn_id == fn_id) {
            return Err(FrontError::Unsupported(format!(
                "recursion (function %{fn_id})"
            )));
        }
        if self.frames.len() >= MAX_CALL_DEPTH {
            return Err(FrontError::Limit(format!(
                "calls nested deeper than {MAX_CALL_DEPTH}"
            )));
        }
        let Some(func) = self.m.functions.get(&fn_id) else {
            return malformed(format!("call of %{fn_id}, which is not a function"));
        };
        if func.params.len() != args.len() {
            return malformed(format!("call of %{fn_id} with the wrong argument count"));
        }
        let ret = if entry {
            None
        } else {
            Some(Ret {
                label: self.b.label(),
                ty: func.ret_ty,
                vars: None,
                nested: false,
                top: None,
            })
        };
        self.frames.push(Frame {
            func,
            fn_id,
            values: HashMap::new(),
            constructs: Vec::new(),
            ret,
        });
        let saved = if entry { None } else { Some(self.b.enter()?) };
        for ((param, _), arg) in func.params.iter().zip(args) {
            self.bind_as(*param, arg)?;
        }
        for var in &func.variables {
            self.function_variable(var)?;
        }
        self.region(func.entry, None, false)?;
        let Some(frame) = self.frames.pop() else {
            return malformed("call stack underflow");
        };
        let (Some(saved), Some(ret)) = (saved, frame.ret) else {
            return Ok(None);
        };
        let void = matches!(self.m.types.get(ret.ty)?, Type::Void);
        if ret.nested {
            let body = self.b.leave(saved, false);
            self.b.push(Stmt::Breakable {
                label: ret.label,
                body,
            });
            if void {
                return Ok(None);
            }
            let Some(vars) = ret.vars else {
                return malformed("function returned no value");
            };
            let leaves = vars
                .iter()
                .map(|v| self.b.def(self.b.var_types[v.0 as usize], Op::GetVar(*v)))
                .collect();
            return Ok(Some(Value::Data { ty: ret.ty, leaves }));
        }
        let body = self.b.leave(saved, true);
        self.b.cur.extend(body);
        if void {
            return Ok(None);
        }
        let leaves = match ret.top {
            Some(l) => l,
            // Never returns (it loops forever or hits OpUnreachable): any value will do.
            None => self
                .m
                .types
                .leaves(ret.ty)?
                .into_iter()
                .map(|t| self.b.def(t, Op::Undef))
                .collect(),
        };
        Ok(Some(Value::Data { ty: ret.ty, leaves }))
    }

    /// OpReturn / OpReturnValue.
    pub fn emit_return(&mut self, value: Option<Id>) -> Result<()> {
        let leaves = match value {
            Some(v) => Some(self.data(v)?.1),
            None => None,
        };
        let ret_ty = self.frame()?.ret.as_ref().map(|r| r.ty);
        if let (Some(l), Some(ty)) = (&leaves, ret_ty) {
            let want = self.m.types.leaves(ty)?;
            if want.len() != l.len() || want.iter().zip(l).any(|(t, v)| *t != self.b.ty(*v)) {
                return malformed("OpReturnValue of a value that is not of the function's type");
            }
        }
        let top_level = self.frame()?.constructs.is_empty();
        let Some(mut ret) = self.frame()?.ret.take() else {
            if !top_level {
                self.b.push(Stmt::Return);
            }
            return Ok(());
        };
        if let Some(leaves) = leaves {
            if ret.vars.is_none() && (ret.nested || !top_level) {
                let tys = self.m.types.leaves(ret.ty)?;
                ret.vars = Some(tys.into_iter().map(|t| self.b.var(t)).collect());
            }
            if let Some(vars) = &ret.vars {
                if vars.len() != leaves.len() {
                    return malformed("OpReturnValue of the wrong type");
                }
                for (var, value) in vars.iter().zip(&leaves) {
                    self.b.push(Stmt::SetVar {
                        var: *var,
                        value: *value,
                    });
                }
            }
            if top_level {
                ret.top = Some(leaves);
            }
        }
        if !top_level {
            ret.nested = true;
            self.b.push(Stmt::Break(ret.label));
        }
        self.frame()?.ret = Some(ret);
        Ok(())
    }
}
