//! Whole-kernel analyses the SoA lowering relies on:
//!
//! * **Uniformity**: which values and vars are the same in every active lane of a subgroup
//!   (they become plain scalars), and which loops / breakable blocks are only ever left by all
//!   active lanes together (they become ordinary branches instead of masked loops).
//!   Optimistic fixed point: everything starts uniform and is demoted until nothing changes.
//! * **Builtin shapes**: for the compile-time workgroup size and W, whether a local-id
//!   component is constant within each subgroup, affine with stride 1 in the lane, or neither.
//! * **Barriers**: whether the kernel needs parallel regions at all.

use std::collections::HashMap;

use shader::ir::{
    Builtin, LabelId, Module, Op, OutputTarget, ScanKind, Space, Stmt, SubgroupOp, ValueId,
};

/// How a builtin varies across the W lanes of one subgroup.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shape {
    /// Same value in every lane of a subgroup (may differ between subgroups).
    Uniform,
    /// `value(lane) = value(0) + lane` in every subgroup.
    AffineUnit,
    Varying,
}

pub struct Analysis {
    pub value_uniform: Vec<bool>,
    pub var_uniform: Vec<bool>,
    /// Uniform exit for every `Loop` / `Breakable` label.
    pub label_uniform: HashMap<LabelId, bool>,
    pub has_barrier: bool,
    /// Shapes of LocalInvocationId x/y/z.
    pub local_id_shape: [Shape; 3],
}

impl Analysis {
    pub fn run(module: &Module, simd_width: u32) -> Analysis {
        let mut var_uniform = vec![true; module.var_types.len()];
        // Output vars are read for every lane at the end. They must be per lane when a lane
        // can leave early (a later write by the others must not reach it), and FragDepth's
        // starts at the incoming per-lane depth, not 0.
        let returns = contains_return(&module.body);
        for o in &module.outputs {
            if returns || o.target == OutputTarget::FragDepth {
                if let Some(u) = var_uniform.get_mut(o.var.0 as usize) {
                    *u = false;
                }
            }
        }
        let mut an = Analysis {
            value_uniform: vec![true; module.value_types.len()],
            var_uniform,
            label_uniform: HashMap::new(),
            has_barrier: contains_barrier(&module.body),
            local_id_shape: local_id_shapes(module.workgroup_size, simd_width),
        };
        collect_labels(&module.body, &mut an.label_uniform);
        loop {
            let mut walk = Walk {
                an: &mut an,
                changed: false,
                labels: Vec::new(),
            };
            walk.stmts(&module.body, true);
            if !walk.changed {
                break;
            }
        }
        an
    }

    pub fn uniform(&self, v: ValueId) -> bool {
        self.value_uniform
            .get(v.0 as usize)
            .copied()
            .unwrap_or(false)
    }

    pub fn label_is_uniform(&self, l: LabelId) -> bool {
        self.label_uniform.get(&l).copied().unwrap_or(false)
    }

    pub fn builtin_shape(&self, b: Builtin) -> Shape {
        match b {
            Builtin::WorkgroupId(_)
            | Builtin::NumWorkgroups(_)
            | Builtin::SubgroupSize
            | Builtin::SubgroupId
            | Builtin::NumSubgroups
            // Per draw call (vertex) or per primitive (fragment: a batch never mixes them).
            | Builtin::InstanceIndex
            | Builtin::BaseVertex
            | Builtin::BaseInstance
            | Builtin::FrontFacing
            // Per draw call and view.
            | Builtin::ViewIndex => Shape::Uniform,
            Builtin::LocalInvocationId(c) | Builtin::GlobalInvocationId(c) => self
                .local_id_shape
                .get(c as usize)
                .copied()
                .unwrap_or(Shape::Uniform),
            Builtin::LocalInvocationIndex | Builtin::SubgroupLocalInvocationId => Shape::AffineUnit,
            // VertexIndex, FragCoord, PointCoord, HelperInvocation: read per lane.
            Builtin::VertexIndex
            | Builtin::FragCoord(_)
            | Builtin::PointCoord(_)
            | Builtin::HelperInvocation => Shape::Varying,
        }
    }
}

/// True if any statement in the list (recursively) is a `Return`.
fn contains_return(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|s| match s {
        Stmt::Return => true,
        Stmt::If {
            then_body,
            else_body,
            ..
        } => contains_return(then_body) || contains_return(else_body),
        Stmt::Loop {
            body, continuing, ..
        } => contains_return(body) || contains_return(continuing),
        Stmt::Breakable { body, .. } => contains_return(body),
        _ => false,
    })
}

/// True if any statement in the list (recursively) is a workgroup barrier.
pub fn contains_barrier(stmts: &[Stmt]) -> bool {
    stmts.iter().any(stmt_contains_barrier)
}

pub fn stmt_contains_barrier(s: &Stmt) -> bool {
    match s {
        Stmt::Barrier => true,
        Stmt::If {
            then_body,
            else_body,
            ..
        } => contains_barrier(then_body) || contains_barrier(else_body),
        Stmt::Loop {
            body, continuing, ..
        } => contains_barrier(body) || contains_barrier(continuing),
        Stmt::Breakable { body, .. } => contains_barrier(body),
        _ => false,
    }
}

fn collect_labels(stmts: &[Stmt], out: &mut HashMap<LabelId, bool>) {
    for s in stmts {
        match s {
            Stmt::If {
                then_body,
                else_body,
                ..
            } => {
                collect_labels(then_body, out);
                collect_labels(else_body, out);
            }
            Stmt::Loop {
                label,
                body,
                continuing,
            } => {
                out.insert(*label, true);
                collect_labels(body, out);
                collect_labels(continuing, out);
            }
            Stmt::Breakable { label, body } => {
                out.insert(*label, true);
                collect_labels(body, out);
            }
            _ => {}
        }
    }
}

fn local_id_shapes(size: [u32; 3], w: u32) -> [Shape; 3] {
    let total = size[0]
        .saturating_mul(size[1])
        .saturating_mul(size[2])
        .max(1);
    let mut shapes = [Shape::Uniform; 3];
    for (c, shape) in shapes.iter_mut().enumerate() {
        let comp = |i: u32| -> u32 {
            let (sx, sy) = (size[0].max(1), size[1].max(1));
            match c {
                0 => i % sx,
                1 => (i / sx) % sy,
                _ => i / (sx * sy),
            }
        };
        let (mut uniform, mut affine) = (true, true);
        let mut first = 0;
        while first < total {
            let v0 = comp(first);
            for lane in 1..w {
                let i = first + lane;
                if i >= total {
                    break;
                }
                let v = comp(i);
                uniform &= v == v0;
                affine &= v == v0 + lane;
            }
            first += w;
        }
        *shape = if uniform {
            Shape::Uniform
        } else if affine {
            Shape::AffineUnit
        } else {
            Shape::Varying
        };
    }
    shapes
}

struct Walk<'a> {
    an: &'a mut Analysis,
    changed: bool,
    /// Enclosing Loop / Breakable labels, innermost last.
    labels: Vec<LabelId>,
}

impl Walk<'_> {
    fn demote_value(&mut self, v: ValueId) {
        if let Some(u) = self.an.value_uniform.get_mut(v.0 as usize) {
            if *u {
                *u = false;
                self.changed = true;
            }
        }
    }

    fn demote_label(&mut self, l: LabelId) {
        if let Some(u) = self.an.label_uniform.get_mut(&l) {
            if *u {
                *u = false;
                self.changed = true;
            }
        }
    }

    fn stmts(&mut self, stmts: &[Stmt], uni: bool) {
        for s in stmts {
            self.stmt(s, uni);
        }
    }

    fn stmt(&mut self, s: &Stmt, uni: bool) {
        match s {
            Stmt::Def { id, op } => {
                if !self.op_uniform(op) {
                    self.demote_value(*id);
                }
            }
            Stmt::SetVar { var, value } => {
                if !uni || !self.an.uniform(*value) {
                    if let Some(u) = self.an.var_uniform.get_mut(var.0 as usize) {
                        if *u {
                            *u = false;
                            self.changed = true;
                        }
                    }
                }
            }
            Stmt::If {
                cond,
                then_body,
                else_body,
            } => {
                let inner = uni && self.an.uniform(*cond);
                self.stmts(then_body, inner);
                self.stmts(else_body, inner);
            }
            Stmt::Loop {
                label,
                body,
                continuing,
            } => {
                let inner = uni && self.an.label_is_uniform(*label);
                self.labels.push(*label);
                self.stmts(body, inner);
                self.stmts(continuing, inner);
                self.labels.pop();
            }
            Stmt::Breakable { label, body } => {
                let inner = uni && self.an.label_is_uniform(*label);
                self.labels.push(*label);
                self.stmts(body, inner);
                self.labels.pop();
            }
            Stmt::Break(l) | Stmt::Continue(l) => {
                if !uni {
                    self.demote_label(*l);
                }
            }
            // A lane leaving early (or being killed) under a divergent condition leaves every
            // enclosing construct without its neighbours.
            Stmt::Return | Stmt::Kill => {
                if !uni {
                    for l in self.labels.clone() {
                        self.demote_label(l);
                    }
                }
            }
            Stmt::Store { .. }
            | Stmt::AtomicStore { .. }
            | Stmt::Barrier
            | Stmt::MemoryBarrier
            | Stmt::Demote => {}
            Stmt::Image { results, .. } => {
                for r in results {
                    self.demote_value(*r);
                }
            }
        }
    }

    fn op_uniform(&self, op: &Op) -> bool {
        let u = |v: &ValueId| self.an.uniform(*v);
        match op {
            Op::Const(_) | Op::Undef | Op::BufferLength(_) => true,
            Op::Unary(_, a) | Op::Convert(_, a) | Op::Derivative { value: a, .. } => u(a),
            Op::Binary(_, a, b) | Op::Cmp(_, a, b) => u(a) && u(b),
            Op::Fma(a, b, c) | Op::Select(a, b, c) => u(a) && u(b) && u(c),
            Op::Builtin(b) => self.an.builtin_shape(*b) == Shape::Uniform,
            Op::Load(mem) => mem.space != Space::Private && u(&mem.offset),
            Op::Atomic { .. } | Op::Input(_) | Op::IsHelperInvocation => false,
            Op::GetVar(v) => self
                .an
                .var_uniform
                .get(v.0 as usize)
                .copied()
                .unwrap_or(false),
            Op::Subgroup(sg) => match sg {
                SubgroupOp::Elect => false,
                SubgroupOp::All(_)
                | SubgroupOp::Any(_)
                | SubgroupOp::AllEqual(_)
                | SubgroupOp::Ballot(_)
                | SubgroupOp::BroadcastFirst(_) => true,
                SubgroupOp::Shuffle { value, index } => u(value) || u(index),
                SubgroupOp::Scan { kind, .. } => *kind == ScanKind::Reduce,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_id_x_is_affine_when_rows_are_multiples_of_w() {
        let s = local_id_shapes([16, 16, 1], 16);
        assert_eq!(s, [Shape::AffineUnit, Shape::Uniform, Shape::Uniform]);
        let s = local_id_shapes([8, 8, 1], 16);
        assert_eq!(s[0], Shape::Varying);
        assert_eq!(s[1], Shape::Varying);
        let s = local_id_shapes([256, 1, 1], 16);
        assert_eq!(s, [Shape::AffineUnit, Shape::Uniform, Shape::Uniform]);
        // A partial last subgroup is still affine.
        let s = local_id_shapes([20, 1, 1], 16);
        assert_eq!(s[0], Shape::AffineUnit);
    }
}
