//! Hand-built IR modules for back-end tests (shared with `jit-host/tests/codegen_exec.rs`).

#![allow(dead_code)]

use shader::ir::*;

pub(crate) struct Builder {
    pub m: Module,
}

impl Builder {
    pub fn new(workgroup_size: [u32; 3]) -> Self {
        Builder {
            m: Module {
                version: IR_VERSION,
                stage: Stage::Compute,
                entry_point: "main".into(),
                workgroup_size,
                inputs: vec![],
                outputs: vec![],
                fragment: Default::default(),
                value_types: vec![],
                var_types: vec![],
                buffers: vec![],
                images: vec![],
                samplers: vec![],
                push_constant_size: 0,
                workgroup_memory_size: 0,
                private_memory_size: 0,
                body: vec![],
            },
        }
    }
    pub fn def(&mut self, out: &mut Vec<Stmt>, t: ScalarType, op: Op) -> ValueId {
        let id = ValueId(self.m.value_types.len() as u32);
        self.m.value_types.push(t);
        out.push(Stmt::Def { id, op });
        id
    }
    pub fn c64(&mut self, out: &mut Vec<Stmt>, x: u64) -> ValueId {
        self.def(out, ScalarType::I64, Op::Const(Const(x)))
    }
    pub fn c32(&mut self, out: &mut Vec<Stmt>, x: u32) -> ValueId {
        self.def(out, ScalarType::I32, Op::Const(Const(u64::from(x))))
    }
    pub fn buffer(&mut self, binding: u32) -> u32 {
        self.m.buffers.push(BufferBinding {
            set: 0,
            binding,
            array_index: 0,
            kind: BufferKind::Storage,
            read_only: false,
        });
        self.m.buffers.len() as u32 - 1
    }
}

/// y[i] = a * x[i] + y[i] for i < n; push constants {a: f32, n: u32}.
pub(crate) fn saxpy() -> Module {
    use ScalarType::*;
    let mut b = Builder::new([64, 1, 1]);
    let (x, y) = (b.buffer(0), b.buffer(1));
    b.m.push_constant_size = 8;
    let mut s = Vec::new();
    let gid = b.def(&mut s, I32, Op::Builtin(Builtin::GlobalInvocationId(0)));
    let c4 = b.c64(&mut s, 4);
    let n = b.def(
        &mut s,
        I32,
        Op::Load(MemRef {
            space: Space::PushConstant,
            offset: c4,
        }),
    );
    let inr = b.def(&mut s, Bool, Op::Cmp(CmpOp::ULt, gid, n));
    let mut t = Vec::new();
    let g64 = b.def(&mut t, I64, Op::Convert(ConvOp::ZextOrTrunc, gid));
    let off = b.def(&mut t, I64, Op::Binary(BinOp::IMul, g64, c4));
    let xv = b.def(
        &mut t,
        F32,
        Op::Load(MemRef {
            space: Space::Buffer(x),
            offset: off,
        }),
    );
    let yv = b.def(
        &mut t,
        F32,
        Op::Load(MemRef {
            space: Space::Buffer(y),
            offset: off,
        }),
    );
    let c0 = b.c64(&mut t, 0);
    let a = b.def(
        &mut t,
        F32,
        Op::Load(MemRef {
            space: Space::PushConstant,
            offset: c0,
        }),
    );
    let r = b.def(&mut t, F32, Op::Fma(a, xv, yv));
    t.push(Stmt::Store {
        mem: MemRef {
            space: Space::Buffer(y),
            offset: off,
        },
        value: r,
    });
    s.push(Stmt::If {
        cond: inr,
        then_body: t,
        else_body: vec![],
    });
    b.m.body = s;
    b.m
}

/// Workgroup sum with shared memory and a barrier loop: out[wg] = Σ in[wg*N + i].
pub(crate) fn reduction(n: u32) -> Module {
    use ScalarType::*;
    let mut b = Builder::new([n, 1, 1]);
    let (inp, out) = (b.buffer(0), b.buffer(1));
    b.m.workgroup_memory_size = 4 * n;
    b.m.var_types.push(I32); // s
    let s_var = VarId(0);
    let mut s = Vec::new();
    let lid = b.def(&mut s, I32, Op::Builtin(Builtin::LocalInvocationId(0)));
    let gid = b.def(&mut s, I32, Op::Builtin(Builtin::GlobalInvocationId(0)));
    let c4 = b.c64(&mut s, 4);
    let g64 = b.def(&mut s, I64, Op::Convert(ConvOp::ZextOrTrunc, gid));
    let goff = b.def(&mut s, I64, Op::Binary(BinOp::IMul, g64, c4));
    let v = b.def(
        &mut s,
        F32,
        Op::Load(MemRef {
            space: Space::Buffer(inp),
            offset: goff,
        }),
    );
    let l64 = b.def(&mut s, I64, Op::Convert(ConvOp::ZextOrTrunc, lid));
    let loff = b.def(&mut s, I64, Op::Binary(BinOp::IMul, l64, c4));
    s.push(Stmt::Store {
        mem: MemRef {
            space: Space::Workgroup,
            offset: loff,
        },
        value: v,
    });
    s.push(Stmt::Barrier);
    let half = b.c32(&mut s, n / 2);
    s.push(Stmt::SetVar {
        var: s_var,
        value: half,
    });
    // loop { st = s; if st == 0 break; if lid < st { sh[lid] += sh[lid+st] } barrier; s = st >> 1 }
    let mut body = Vec::new();
    let st = b.def(&mut body, I32, Op::GetVar(s_var));
    let zero = b.c32(&mut body, 0);
    let done = b.def(&mut body, Bool, Op::Cmp(CmpOp::Eq, st, zero));
    body.push(Stmt::If {
        cond: done,
        then_body: vec![Stmt::Break(LabelId(0))],
        else_body: vec![],
    });
    let act = b.def(&mut body, Bool, Op::Cmp(CmpOp::ULt, lid, st));
    let mut arm = Vec::new();
    let other = b.def(&mut arm, I32, Op::Binary(BinOp::IAdd, lid, st));
    let o64 = b.def(&mut arm, I64, Op::Convert(ConvOp::ZextOrTrunc, other));
    let ooff = b.def(&mut arm, I64, Op::Binary(BinOp::IMul, o64, c4));
    let a = b.def(
        &mut arm,
        F32,
        Op::Load(MemRef {
            space: Space::Workgroup,
            offset: loff,
        }),
    );
    let bb = b.def(
        &mut arm,
        F32,
        Op::Load(MemRef {
            space: Space::Workgroup,
            offset: ooff,
        }),
    );
    let sum = b.def(&mut arm, F32, Op::Binary(BinOp::FAdd, a, bb));
    arm.push(Stmt::Store {
        mem: MemRef {
            space: Space::Workgroup,
            offset: loff,
        },
        value: sum,
    });
    body.push(Stmt::If {
        cond: act,
        then_body: arm,
        else_body: vec![],
    });
    body.push(Stmt::Barrier);
    let one = b.c32(&mut body, 1);
    let nx = b.def(&mut body, I32, Op::Binary(BinOp::LShr, st, one));
    body.push(Stmt::SetVar {
        var: s_var,
        value: nx,
    });
    s.push(Stmt::Loop {
        label: LabelId(0),
        body,
        continuing: vec![],
    });
    let z = b.c32(&mut s, 0);
    let first = b.def(&mut s, Bool, Op::Cmp(CmpOp::Eq, lid, z));
    let mut w = Vec::new();
    let c0 = b.c64(&mut w, 0);
    let tot = b.def(
        &mut w,
        F32,
        Op::Load(MemRef {
            space: Space::Workgroup,
            offset: c0,
        }),
    );
    let wg = b.def(&mut w, I32, Op::Builtin(Builtin::WorkgroupId(0)));
    let w64 = b.def(&mut w, I64, Op::Convert(ConvOp::ZextOrTrunc, wg));
    let woff = b.def(&mut w, I64, Op::Binary(BinOp::IMul, w64, c4));
    w.push(Stmt::Store {
        mem: MemRef {
            space: Space::Buffer(out),
            offset: woff,
        },
        value: tot,
    });
    s.push(Stmt::If {
        cond: first,
        then_body: w,
        else_body: vec![],
    });
    b.m.body = s;
    b.m
}
