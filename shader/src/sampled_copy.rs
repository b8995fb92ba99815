//! Which fragment modules only copy one sampled texel to their colour: the module samples one
//! 2D texture once, at coordinates computed from `FragCoord.xy`, its inputs and constants by
//! f32 additions, subtractions, multiplications, fused multiply-adds and negations, and writes
//! the texel's components (or constants) to the four components of location 0. Nothing else:
//! no branch, no memory access, no discard, no `FragDepth`.
//!
//! Such a module (a textured quad, a blit or a post-processing copy) needs no kernel call per
//! fragment: the renderer evaluates the coordinate [`SampledCopy::program`] itself, f32
//! operation by f32 operation as the kernel would (so the coordinates are bit for bit the
//! kernel's), and filters the texel on its sampling fast path.

use crate::ir::{
    BinOp, Builtin, ImageDim, ImageKind, ImageLod, ImageOpKind, Module, Op, OutputTarget,
    SampledType, ScalarType, Stage, Stmt, UnOp, ValueId, VarId,
};

/// One f32 operation of a coordinate program; operands name earlier steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CoordOp {
    Const(f32),
    /// The module's input slot `n` (`Module::inputs[n]`, an F32 input).
    Input(u32),
    /// `FragCoord` x (0) or y (1): the pixel centre.
    FragCoord(u8),
    Add(usize, usize),
    Sub(usize, usize),
    Mul(usize, usize),
    /// `a · b + c`, rounded once.
    Fma(usize, usize, usize),
    Neg(usize),
}

/// What an output component of location 0 receives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CopiedComponent {
    /// Component `k` of the sampled texel.
    Sampled(u8),
    /// A constant (f32).
    Constant(f32),
}

/// A fragment module that writes one sampled texel (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct SampledCopy {
    /// The sampled image's slot (`Module::images`): a 2D, non-arrayed, single-sample, float
    /// sampled image.
    pub image: u32,
    /// The separate sampler's slot (`Module::samplers`); `None`: the image slot's own
    /// (a combined image sampler).
    pub sampler: Option<u32>,
    /// Steps in order; each operand names an earlier step.
    pub program: Vec<CoordOp>,
    /// The steps giving the normalized coordinates u and v.
    pub coords: [usize; 2],
    /// Location 0's components R, G, B, A.
    pub outputs: [CopiedComponent; 4],
    /// The program reads module inputs (else only `FragCoord` and constants).
    pub reads_inputs: bool,
    /// u reads no `FragCoord.y` and v no `FragCoord.x` (an axis-aligned mapping: every pixel
    /// of a column has the same u, every pixel of a row the same v, bit for bit).
    pub separable: bool,
}

impl SampledCopy {
    /// Evaluates the program on one lane: `frag_coord` is the pixel centre, `input(n)` module
    /// input `n`. Returns u and v. f32 arithmetic, each operation rounded as the kernel
    /// rounds it.
    pub fn coordinates(&self, frag_coord: [f32; 2], input: impl Fn(u32) -> f32) -> [f32; 2] {
        let mut steps = [0f32; MAX_STEPS];
        for (i, op) in self.program.iter().enumerate().take(MAX_STEPS) {
            let at = |k: usize| steps.get(k).copied().unwrap_or(0.0);
            steps[i] = match *op {
                CoordOp::Const(c) => c,
                CoordOp::Input(n) => input(n),
                CoordOp::FragCoord(axis) => frag_coord[usize::from(axis & 1)],
                CoordOp::Add(a, b) => at(a) + at(b),
                CoordOp::Sub(a, b) => at(a) - at(b),
                CoordOp::Mul(a, b) => at(a) * at(b),
                CoordOp::Fma(a, b, c) => at(a).mul_add(at(b), at(c)),
                CoordOp::Neg(a) => -at(a),
            };
        }
        self.coords.map(|k| steps.get(k).copied().unwrap_or(0.0))
    }
}

impl SampledCopy {
    /// Whether u reads no `FragCoord.y` and v no `FragCoord.x` ([`SampledCopy::separable`]).
    fn axes_separate(program: &[CoordOp], coords: [usize; 2]) -> bool {
        // Which FragCoord axes each step reads, directly or through its operands.
        let mut reads = vec![[false; 2]; program.len()];
        for (i, op) in program.iter().enumerate() {
            let of = |k: usize| reads.get(k).copied().unwrap_or([true; 2]);
            let or = |a: [bool; 2], b: [bool; 2]| [a[0] || b[0], a[1] || b[1]];
            reads[i] = match *op {
                CoordOp::Const(_) | CoordOp::Input(_) => [false; 2],
                CoordOp::FragCoord(axis) => [axis & 1 == 0, axis & 1 == 1],
                CoordOp::Add(a, b) | CoordOp::Sub(a, b) | CoordOp::Mul(a, b) => or(of(a), of(b)),
                CoordOp::Fma(a, b, c) => or(or(of(a), of(b)), of(c)),
                CoordOp::Neg(a) => of(a),
            };
        }
        let [u, v] = coords.map(|k| reads.get(k).copied().unwrap_or([true; 2]));
        !u[1] && !v[0]
    }

    /// [`SampledCopy::coordinates`] of `N` lanes at once, at pixel centres `x`, `y`, with
    /// input `n` the same `inputs[n]` in every lane (0 past the end): u and v per lane,
    /// bit for bit what `coordinates` gives each lane. `steps` is scratch space (its values
    /// are overwritten); a program longer than it gives zeros.
    #[inline]
    pub fn coordinates_of_lanes<const N: usize>(
        &self,
        x: &[f32; N],
        y: &[f32; N],
        inputs: &[f32],
        steps: &mut [[f32; N]],
        u: &mut [f32; N],
        v: &mut [f32; N],
    ) {
        if self.program.len() > steps.len() {
            *u = [0.0; N];
            *v = [0.0; N];
            return;
        }
        for (i, op) in self.program.iter().enumerate() {
            let (done, rest) = steps.split_at_mut(i);
            let Some(out) = rest.first_mut() else {
                break;
            };
            let at = |k: usize| done.get(k).unwrap_or(&[0.0; N]);
            match *op {
                CoordOp::Const(c) => *out = [c; N],
                CoordOp::Input(n) => *out = [inputs.get(n as usize).copied().unwrap_or(0.0); N],
                CoordOp::FragCoord(axis) => *out = if axis & 1 == 0 { *x } else { *y },
                CoordOp::Add(a, b) => lanes2(out, at(a), at(b), |a, b| a + b),
                CoordOp::Sub(a, b) => lanes2(out, at(a), at(b), |a, b| a - b),
                CoordOp::Mul(a, b) => lanes2(out, at(a), at(b), |a, b| a * b),
                CoordOp::Fma(a, b, c) => {
                    let (a, b, c) = (at(a), at(b), at(c));
                    for l in 0..N {
                        out[l] = a[l].mul_add(b[l], c[l]);
                    }
                }
                CoordOp::Neg(a) => {
                    let a = at(a);
                    for l in 0..N {
                        out[l] = -a[l];
                    }
                }
            }
        }
        let [cu, cv] = self.coords;
        *u = steps.get(cu).copied().unwrap_or([0.0; N]);
        *v = steps.get(cv).copied().unwrap_or([0.0; N]);
    }
}

/// `out[l] = f(a[l], b[l])` for every lane (a shape the vectorizer takes).
#[inline(always)]
fn lanes2<const N: usize>(
    out: &mut [f32; N],
    a: &[f32; N],
    b: &[f32; N],
    f: impl Fn(f32, f32) -> f32,
) {
    for l in 0..N {
        out[l] = f(a[l], b[l]);
    }
}

/// Most steps a coordinate program may have (longer ones are not worth the fast path).
pub const MAX_STEPS: usize = 32;

/// The module as a [`SampledCopy`], or `None` where it is anything more.
pub fn sampled_copy(module: &Module) -> Option<SampledCopy> {
    if module.stage != Stage::Fragment
        || module.fragment.discards
        || module.fragment.depth_replacing
    {
        return None;
    }
    let mut b = Builder::default();
    for (n, stmt) in module.body.iter().enumerate() {
        match stmt {
            Stmt::Def { id, op } => b.def(module, *id, op)?,
            Stmt::Image { results, op } => {
                if b.sample.is_some() {
                    return None;
                }
                let slot = module.images.get(op.image as usize)?;
                let plain = op.kind == ImageOpKind::Sample
                    && op.lod == ImageLod::Implicit
                    && !op.proj
                    && op.dref.is_none()
                    && op.offset.is_empty()
                    && op.min_lod.is_none()
                    && op.sample.is_none()
                    && op.image_index.is_none()
                    && op.sampler_index.is_none();
                let image_ok = slot.dim == ImageDim::D2
                    && !slot.arrayed
                    && !slot.multisampled
                    && slot.sampled_type == SampledType::Float
                    && match op.sampler {
                        None => slot.kind == ImageKind::CombinedImageSampler,
                        Some(s) => {
                            slot.kind == ImageKind::Sampled && (s as usize) < module.samplers.len()
                        }
                    };
                let [u, v] = op.coords.as_slice() else {
                    return None;
                };
                if !plain || !image_ok || results.len() > 4 {
                    return None;
                }
                let coords = [b.step_of(*u)?, b.step_of(*v)?];
                for (k, &r) in results.iter().enumerate() {
                    b.values.push((r, Value::Sampled(k as u8)));
                }
                b.sample = Some((op.image, op.sampler, coords));
            }
            Stmt::SetVar { var, value } => {
                let v = b.value(*value)?;
                b.vars.retain(|(x, _)| x != var);
                b.vars.push((*var, v));
            }
            Stmt::Return if n + 1 == module.body.len() => {}
            _ => return None,
        }
    }
    let (image, sampler, coords) = b.sample?;
    let mut outputs = [CopiedComponent::Constant(0.0); 4];
    let mut written = [false; 4];
    for slot in &module.outputs {
        let OutputTarget::Location {
            location: 0,
            component,
        } = slot.target
        else {
            return None;
        };
        let c = usize::from(component);
        if c >= 4 || written[c] || slot.ty != ScalarType::F32 {
            return None;
        }
        written[c] = true;
        outputs[c] = match b.vars.iter().find(|(x, _)| *x == slot.var) {
            // Vars start at 0.
            None => CopiedComponent::Constant(0.0),
            Some((_, Value::Sampled(k))) => CopiedComponent::Sampled(*k),
            Some((_, Value::Unusable)) => return None,
            // A constant stored to an output; any other step is computed per fragment.
            Some((_, Value::Step(k))) => match b.program.get(*k) {
                Some(&CoordOp::Const(c)) => CopiedComponent::Constant(c),
                _ => return None,
            },
        };
    }
    if written != [true; 4] {
        return None;
    }
    // Only the steps the coordinates need, in order.
    let (program, coords) = prune(&b.program, coords);
    let reads_inputs = program.iter().any(|op| matches!(op, CoordOp::Input(_)));
    let separable = SampledCopy::axes_separate(&program, coords);
    Some(SampledCopy {
        image,
        sampler,
        program,
        coords,
        outputs,
        reads_inputs,
        separable,
    })
}

/// What a value of the walk is.
#[derive(Clone, Copy, Debug)]
enum Value {
    /// A program step (an f32 coordinate value).
    Step(usize),
    /// Component `k` of the sampled texel.
    Sampled(u8),
    /// A per-fragment value that is no program step (`FragCoord` z and w): neither a
    /// coordinate nor a copied output.
    Unusable,
}

#[derive(Default)]
struct Builder {
    program: Vec<CoordOp>,
    /// Values defined so far (a module's straight-line body has few).
    values: Vec<(ValueId, Value)>,
    vars: Vec<(VarId, Value)>,
    sample: Option<(u32, Option<u32>, [usize; 2])>,
}

impl Builder {
    fn value(&self, id: ValueId) -> Option<Value> {
        self.values
            .iter()
            .rev()
            .find(|(v, _)| *v == id)
            .map(|&(_, v)| v)
    }

    /// The program step of an f32 value.
    fn step_of(&self, id: ValueId) -> Option<usize> {
        match self.value(id)? {
            Value::Step(k) => Some(k),
            _ => None,
        }
    }

    fn push(&mut self, id: ValueId, op: CoordOp) -> Option<()> {
        if self.program.len() >= MAX_STEPS {
            return None;
        }
        self.program.push(op);
        self.values.push((id, Value::Step(self.program.len() - 1)));
        Some(())
    }

    fn def(&mut self, module: &Module, id: ValueId, op: &Op) -> Option<()> {
        if module.value_types.get(id.0 as usize) != Some(&ScalarType::F32) {
            return None;
        }
        if let Op::GetVar(var) = *op {
            // The var's current value (straight-line code: the last SetVar), 0 if unset.
            return match self.vars.iter().find(|(x, _)| *x == var) {
                Some(&(_, v)) => {
                    if self.values.len() >= 4 * MAX_STEPS {
                        return None;
                    }
                    self.values.push((id, v));
                    Some(())
                }
                None => self.push(id, CoordOp::Const(0.0)),
            };
        }
        let step = match *op {
            Op::Const(c) => CoordOp::Const(f32::from_bits(c.0 as u32)),
            Op::Input(n) => {
                let slot = module.inputs.get(n as usize)?;
                if slot.ty != ScalarType::F32 {
                    return None;
                }
                CoordOp::Input(n)
            }
            // z and w may be defined (front ends load the whole vector) but never feed the
            // coordinates: they have no step (`step_of` refuses them).
            Op::Builtin(Builtin::FragCoord(axis)) if axis < 2 => CoordOp::FragCoord(axis),
            Op::Builtin(Builtin::FragCoord(_)) => {
                if self.values.len() >= 4 * MAX_STEPS {
                    return None;
                }
                self.values.push((id, Value::Unusable));
                return Some(());
            }
            Op::Unary(UnOp::FNeg, a) => CoordOp::Neg(self.step_of(a)?),
            Op::Binary(bin, a, b) => {
                let (a, b) = (self.step_of(a)?, self.step_of(b)?);
                match bin {
                    BinOp::FAdd => CoordOp::Add(a, b),
                    BinOp::FSub => CoordOp::Sub(a, b),
                    BinOp::FMul => CoordOp::Mul(a, b),
                    _ => return None,
                }
            }
            Op::Fma(a, b, c) => CoordOp::Fma(self.step_of(a)?, self.step_of(b)?, self.step_of(c)?),
            _ => return None,
        };
        self.push(id, step)
    }
}

/// The steps `coords` depend on, renumbered in their order.
fn prune(program: &[CoordOp], coords: [usize; 2]) -> (Vec<CoordOp>, [usize; 2]) {
    let mut needed = vec![false; program.len()];
    let mut stack: Vec<usize> = coords.to_vec();
    while let Some(k) = stack.pop() {
        if std::mem::replace(&mut needed[k], true) {
            continue;
        }
        match program[k] {
            CoordOp::Const(_) | CoordOp::Input(_) | CoordOp::FragCoord(_) => {}
            CoordOp::Add(a, b) | CoordOp::Sub(a, b) | CoordOp::Mul(a, b) => {
                stack.extend([a, b]);
            }
            CoordOp::Fma(a, b, c) => stack.extend([a, b, c]),
            CoordOp::Neg(a) => stack.push(a),
        }
    }
    let mut renumber = vec![0usize; program.len()];
    let mut out = Vec::new();
    for (k, op) in program.iter().enumerate() {
        if !needed[k] {
            continue;
        }
        let r = |x: usize| renumber[x];
        out.push(match *op {
            CoordOp::Add(a, b) => CoordOp::Add(r(a), r(b)),
            CoordOp::Sub(a, b) => CoordOp::Sub(r(a), r(b)),
            CoordOp::Mul(a, b) => CoordOp::Mul(r(a), r(b)),
            CoordOp::Fma(a, b, c) => CoordOp::Fma(r(a), r(b), r(c)),
            CoordOp::Neg(a) => CoordOp::Neg(r(a)),
            other => other,
        });
        renumber[k] = out.len() - 1;
    }
    (out, coords.map(|k| renumber[k]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ir::{
        Const, FragmentModes, ImageBinding, ImageOp, InputSlot, Interpolation, OutputSlot,
        SamplerBinding, IR_VERSION,
    };

    fn def(id: u32, op: Op) -> Stmt {
        Stmt::Def {
            id: ValueId(id),
            op,
        }
    }

    fn f32c(id: u32, v: f32) -> Stmt {
        def(id, Op::Const(Const(u64::from(v.to_bits()))))
    }

    fn sample(results: [u32; 4], u: u32, v: u32) -> Stmt {
        Stmt::Image {
            results: results.iter().map(|&r| ValueId(r)).collect(),
            op: Box::new(ImageOp {
                image: 0,
                sampler: None,
                kind: ImageOpKind::Sample,
                coords: vec![ValueId(u), ValueId(v)],
                proj: false,
                lod: ImageLod::Implicit,
                dref: None,
                offset: vec![],
                min_lod: None,
                sample: None,
                texel: vec![],
                image_index: None,
                sampler_index: None,
            }),
        }
    }

    fn set(var: u32, value: u32) -> Stmt {
        Stmt::SetVar {
            var: VarId(var),
            value: ValueId(value),
        }
    }

    /// A fragment module with a vec4 colour output at location 0 (vars 0..4), two F32
    /// inputs, a combined image sampler (2D) in image slot 0 and `body`.
    fn fragment(body: Vec<Stmt>) -> Module {
        let input = |component| InputSlot {
            location: 0,
            component,
            ty: ScalarType::F32,
            interp: Interpolation::Smooth,
        };
        Module {
            version: IR_VERSION,
            stage: Stage::Fragment,
            entry_point: "main".into(),
            workgroup_size: [1, 1, 1],
            inputs: vec![input(0), input(1)],
            outputs: (0..4)
                .map(|c| OutputSlot {
                    target: OutputTarget::Location {
                        location: 0,
                        component: c,
                    },
                    ty: ScalarType::F32,
                    var: VarId(u32::from(c)),
                })
                .collect(),
            fragment: FragmentModes::default(),
            value_types: vec![ScalarType::F32; 32],
            var_types: vec![ScalarType::F32; 4],
            buffers: vec![],
            images: vec![ImageBinding {
                set: 0,
                binding: 0,
                array_index: 0,
                kind: ImageKind::CombinedImageSampler,
                dim: ImageDim::D2,
                arrayed: false,
                multisampled: false,
                format: 0,
                sampled_type: SampledType::Float,
            }],
            samplers: vec![SamplerBinding {
                set: 0,
                binding: 1,
                array_index: 0,
            }],
            push_constant_size: 0,
            workgroup_memory_size: 0,
            private_memory_size: 0,
            body,
        }
    }

    /// `texture(tex, FragCoord.xy * (1/8, 1/4) + in.xy)` written as RGB, alpha 1.
    fn textured() -> Vec<Stmt> {
        vec![
            def(0, Op::Builtin(Builtin::FragCoord(0))),
            def(1, Op::Builtin(Builtin::FragCoord(1))),
            def(2, Op::Builtin(Builtin::FragCoord(3))),
            f32c(3, 0.125),
            f32c(4, 0.25),
            def(5, Op::Input(0)),
            def(6, Op::Input(1)),
            def(7, Op::Fma(ValueId(0), ValueId(3), ValueId(5))),
            def(8, Op::Binary(BinOp::FMul, ValueId(1), ValueId(4))),
            def(9, Op::Binary(BinOp::FAdd, ValueId(8), ValueId(6))),
            def(10, Op::Unary(UnOp::FNeg, ValueId(9))),
            sample([11, 12, 13, 14], 7, 10),
            f32c(15, 1.0),
            set(0, 11),
            set(1, 12),
            set(2, 13),
            set(3, 15),
            Stmt::Return,
        ]
    }

    #[test]
    fn a_textured_colour_becomes_a_program_that_computes_what_the_module_computes() {
        let copy = sampled_copy(&fragment(textured())).unwrap();
        assert_eq!(copy.image, 0);
        assert_eq!(copy.sampler, None);
        assert!(copy.reads_inputs);
        assert_eq!(
            copy.outputs,
            [
                CopiedComponent::Sampled(0),
                CopiedComponent::Sampled(1),
                CopiedComponent::Sampled(2),
                CopiedComponent::Constant(1.0)
            ]
        );
        // FragCoord.w is not a step: the program keeps only what the coordinates read.
        assert!(!copy.program.contains(&CoordOp::FragCoord(3)));
        let inputs = [0.3f32, -0.7];
        for (x, y) in [(0.5f32, 0.5f32), (13.5, 7.5), (1023.5, 511.5)] {
            let got = copy.coordinates([x, y], |n| inputs[n as usize]);
            let u = x.mul_add(0.125, inputs[0]);
            let v = -(y * 0.25 + inputs[1]);
            assert_eq!(got.map(f32::to_bits), [u.to_bits(), v.to_bits()]);
        }
    }

    #[test]
    fn anything_more_than_a_copy_is_refused() {
        let base = textured();
        let with = |f: &dyn Fn(&mut Module)| {
            let mut m = fragment(base.clone());
            f(&mut m);
            sampled_copy(&m)
        };
        assert!(with(&|_| {}).is_some());
        // A branch, a discard, FragDepth.
        assert!(with(&|m| m.body.insert(
            0,
            Stmt::If {
                cond: ValueId(0),
                then_body: vec![],
                else_body: vec![]
            }
        ))
        .is_none());
        assert!(with(&|m| m.fragment.discards = true).is_none());
        assert!(with(&|m| m.outputs[3].target = OutputTarget::FragDepth).is_none());
        // An output at another location, a missing component.
        assert!(with(&|m| {
            m.outputs[3].target = OutputTarget::Location {
                location: 1,
                component: 0,
            }
        })
        .is_none());
        assert!(with(&|m| {
            m.outputs.pop();
        })
        .is_none());
        // A coordinate from FragCoord.w, a division, an integer.
        assert!(with(&|m| m.body[10] = def(10, Op::Unary(UnOp::FNeg, ValueId(2)))).is_none());
        assert!(with(&|m| {
            m.body[8] = def(8, Op::Binary(BinOp::FDiv, ValueId(1), ValueId(4)));
        })
        .is_none());
        assert!(with(&|m| m.value_types[8] = ScalarType::I32).is_none());
        // A colour computed from the texel.
        assert!(with(&|m| {
            m.body[14] = def(15, Op::Binary(BinOp::FMul, ValueId(11), ValueId(12)));
        })
        .is_none());
        // Sampling with a bias, an offset, an array image, a 3D image, an integer image.
        let image_op = |f: &dyn Fn(&mut ImageOp)| {
            with(&|m| {
                if let Stmt::Image { op, .. } = &mut m.body[11] {
                    f(op);
                }
            })
        };
        assert!(image_op(&|op| op.lod = ImageLod::Bias(ValueId(3))).is_none());
        assert!(image_op(&|op| op.offset = vec![ValueId(3), ValueId(3)]).is_none());
        assert!(image_op(&|op| op.kind = ImageOpKind::Gather { component: 0 }).is_none());
        assert!(with(&|m| m.images[0].arrayed = true).is_none());
        assert!(with(&|m| m.images[0].dim = ImageDim::D3).is_none());
        assert!(with(&|m| m.images[0].sampled_type = SampledType::Uint).is_none());
        // A separate sampler on a combined slot; a sampled image with its sampler.
        assert!(image_op(&|op| op.sampler = Some(0)).is_none());
        let separate = with(&|m| {
            m.images[0].kind = ImageKind::Sampled;
            if let Stmt::Image { op, .. } = &mut m.body[11] {
                op.sampler = Some(0);
            }
        });
        assert_eq!(separate.map(|c| c.sampler), Some(Some(0)));
        // Two samples.
        assert!(with(&|m| m.body.insert(12, sample([20, 21, 22, 23], 7, 10))).is_none());
    }

    #[test]
    fn a_copy_from_the_position_alone_reads_no_input_and_unset_outputs_are_zero() {
        let m = fragment(vec![
            def(0, Op::Builtin(Builtin::FragCoord(0))),
            def(1, Op::Builtin(Builtin::FragCoord(1))),
            sample([2, 3, 4, 5], 1, 0),
            set(0, 5),
            set(1, 2),
            set(1, 3),
        ]);
        let copy = sampled_copy(&m).unwrap();
        assert!(!copy.reads_inputs);
        assert_eq!(
            copy.outputs,
            [
                CopiedComponent::Sampled(3),
                CopiedComponent::Sampled(1),
                CopiedComponent::Constant(0.0),
                CopiedComponent::Constant(0.0)
            ]
        );
        assert_eq!(copy.coordinates([2.5, 9.5], |_| 0.0), [9.5, 2.5]);
        // u from y and v from x: not separable.
        assert!(!copy.separable);
    }

    #[test]
    fn separability_follows_which_axis_each_coordinate_reads() {
        // u = x·⅛ + in0 (through an FMA), v = −(y·¼ + in1).
        let copy = sampled_copy(&fragment(textured())).unwrap();
        assert!(copy.separable);
        // v reading x as well.
        let mut body = textured();
        body[9] = def(9, Op::Binary(BinOp::FAdd, ValueId(8), ValueId(0)));
        assert!(!sampled_copy(&fragment(body)).unwrap().separable);
    }

    #[test]
    fn lanes_at_once_give_what_each_lane_gives() {
        let copy = sampled_copy(&fragment(textured())).unwrap();
        let inputs = [0.37f32, -1.25];
        let x: [f32; 16] = std::array::from_fn(|l| 100.5 + l as f32 * 1.75);
        let y: [f32; 16] = std::array::from_fn(|l| 3.5 + (l * l) as f32);
        let (mut u, mut v) = ([0f32; 16], [0f32; 16]);
        let mut steps = vec![[f32::NAN; 16]; MAX_STEPS];
        copy.coordinates_of_lanes(&x, &y, &inputs, &mut steps, &mut u, &mut v);
        for l in 0..16 {
            let want = copy.coordinates([x[l], y[l]], |n| inputs[n as usize]);
            assert_eq!([u[l].to_bits(), v[l].to_bits()], want.map(f32::to_bits));
        }
    }
}
