//! A reference interpreter for the softgpu IR, written from the IR documentation (`ir.rs`)
//! only, to check what lowered shaders compute.
//!
//! One OS thread per invocation of a workgroup, so `Barrier` has its real meaning; memory
//! lives behind one mutex. Subgroups are one invocation wide (SubgroupSize = 1).

use std::sync::{Barrier, Mutex};

use shader::ir::{
    AtomicOp, BinOp, Builtin, CmpOp, ConvOp, GroupOp, MemRef, Module, Op, ScalarType, ScanKind,
    Space, Stmt, SubgroupOp, UnOp,
};

const MAX_STEPS: u64 = 20_000_000;

struct Shared {
    buffers: Vec<Vec<u8>>,
    workgroup: Vec<u8>,
}

/// Runs a whole dispatch. `buffers[i]` is bound to `module.buffers[i]`.
pub fn dispatch(m: &Module, groups: [u32; 3], buffers: &mut Vec<Vec<u8>>, push: &[u8]) {
    assert_eq!(
        buffers.len(),
        m.buffers.len(),
        "one buffer per module buffer slot"
    );
    let shared = Mutex::new(Shared {
        buffers: std::mem::take(buffers),
        workgroup: Vec::new(),
    });
    let [sx, sy, sz] = m.workgroup_size;
    let n = (sx * sy * sz) as usize;
    for gz in 0..groups[2] {
        for gy in 0..groups[1] {
            for gx in 0..groups[0] {
                shared.lock().unwrap().workgroup = vec![0; m.workgroup_memory_size as usize];
                let barrier = Barrier::new(n);
                std::thread::scope(|s| {
                    for index in 0..n as u32 {
                        let local = [index % sx, (index / sx) % sy, index / (sx * sy)];
                        let group = [gx, gy, gz];
                        let (shared, barrier) = (&shared, &barrier);
                        s.spawn(move || {
                            let mut inv = Invocation {
                                m,
                                vals: vec![0; m.value_types.len()],
                                vars: vec![0; m.var_types.len()],
                                private: vec![0; m.private_memory_size as usize],
                                shared,
                                barrier,
                                push,
                                local,
                                group,
                                groups,
                                index,
                                steps: 0,
                            };
                            inv.list(&m.body);
                        });
                    }
                });
            }
        }
    }
    *buffers = shared.into_inner().unwrap().buffers;
}

enum Flow {
    Normal,
    Break(shader::ir::LabelId),
    Continue(shader::ir::LabelId),
    Return,
}

struct Invocation<'a> {
    m: &'a Module,
    vals: Vec<u64>,
    vars: Vec<u64>,
    private: Vec<u8>,
    shared: &'a Mutex<Shared>,
    barrier: &'a Barrier,
    push: &'a [u8],
    local: [u32; 3],
    group: [u32; 3],
    groups: [u32; 3],
    index: u32,
    steps: u64,
}

fn mask(ty: ScalarType, v: u64) -> u64 {
    match ty.bits() {
        64 => v,
        b => v & ((1u64 << b) - 1),
    }
}

fn sx(ty: ScalarType, v: u64) -> i64 {
    let b = ty.bits();
    if b == 64 {
        v as i64
    } else {
        ((v << (64 - b)) as i64) >> (64 - b)
    }
}

fn f(v: u64) -> f32 {
    f32::from_bits(v as u32)
}

fn fb(x: f32) -> u64 {
    u64::from(x.to_bits())
}

/// f32 → f16 bits, round to nearest even, computed with f64 arithmetic.
pub fn to_half(x: f32) -> u16 {
    let sign: u16 = if x.is_sign_negative() { 0x8000 } else { 0 };
    let a = f64::from(x.abs());
    if x.is_nan() {
        return sign | 0x7e00;
    }
    if a >= 65520.0 {
        return sign | 0x7c00;
    }
    let tiny = 2f64.powi(-14);
    if a < tiny {
        let m = (a * 2f64.powi(24)).round_ties_even();
        return sign | m as u16;
    }
    let mut e = a.log2().floor() as i32;
    if 2f64.powi(e) > a {
        e -= 1;
    }
    if 2f64.powi(e + 1) <= a {
        e += 1;
    }
    let mut m = (a / 2f64.powi(e) * 1024.0).round_ties_even() as u32;
    if m == 2048 {
        m = 1024;
        e += 1;
    }
    if e > 15 {
        return sign | 0x7c00;
    }
    sign | (((e + 15) as u16) << 10) | (m - 1024) as u16
}

pub fn from_half(h: u16) -> f32 {
    let s = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e = i32::from((h >> 10) & 0x1f);
    let m = f64::from(h & 0x3ff);
    let v = match e {
        0 => m * 2f64.powi(-24),
        31 if m == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1.0 + m / 1024.0) * 2f64.powi(e - 15),
    };
    (s * v) as f32
}

impl Invocation<'_> {
    fn ty(&self, v: shader::ir::ValueId) -> ScalarType {
        self.m.value_types[v.0 as usize]
    }

    fn v(&self, v: shader::ir::ValueId) -> u64 {
        self.vals[v.0 as usize]
    }

    fn list(&mut self, stmts: &[Stmt]) -> Flow {
        for s in stmts {
            self.steps += 1;
            assert!(self.steps < MAX_STEPS, "interpreter step limit");
            match self.stmt(s) {
                Flow::Normal => {}
                other => return other,
            }
        }
        Flow::Normal
    }

    fn stmt(&mut self, s: &Stmt) -> Flow {
        match s {
            Stmt::Def { id, op } => {
                let ty = self.ty(*id);
                let v = self.op(ty, op);
                self.vals[id.0 as usize] = mask(ty, v);
            }
            Stmt::Store { mem, value } | Stmt::AtomicStore { mem, value } => {
                let ty = self.ty(*value);
                let v = self.v(*value);
                self.store(mem, ty, v);
            }
            Stmt::SetVar { var, value } => self.vars[var.0 as usize] = self.v(*value),
            Stmt::Kill | Stmt::Demote | Stmt::Image { .. } => {
                panic!("the compute interpreter met {s:?}")
            }
            Stmt::If {
                cond,
                then_body,
                else_body,
            } => {
                return if self.v(*cond) != 0 {
                    self.list(then_body)
                } else {
                    self.list(else_body)
                };
            }
            Stmt::Loop {
                label,
                body,
                continuing,
            } => loop {
                match self.list(body) {
                    Flow::Normal => {}
                    Flow::Continue(l) if l == *label => {}
                    Flow::Break(l) if l == *label => return Flow::Normal,
                    other => return other,
                }
                match self.list(continuing) {
                    Flow::Normal => {}
                    Flow::Break(l) if l == *label => return Flow::Normal,
                    other => return other,
                }
            },
            Stmt::Breakable { label, body } => {
                return match self.list(body) {
                    Flow::Break(l) if l == *label => Flow::Normal,
                    other => other,
                };
            }
            Stmt::Break(l) => return Flow::Break(*l),
            Stmt::Continue(l) => return Flow::Continue(*l),
            Stmt::Return => return Flow::Return,
            Stmt::Barrier => {
                self.barrier.wait();
            }
            Stmt::MemoryBarrier => {}
        }
        Flow::Normal
    }

    fn with_mem<R>(&mut self, space: Space, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        match space {
            Space::Private => f(&mut self.private),
            Space::PushConstant => f(&mut self.push.to_vec()),
            Space::Workgroup => f(&mut self.shared.lock().unwrap().workgroup),
            Space::Buffer(i) => f(&mut self.shared.lock().unwrap().buffers[i as usize]),
            // One invocation at a time: its own index picks the element (the back end takes
            // the first executing lane's; they agree for the dynamically uniform indices
            // Vulkan requires). Past the end: a null descriptor.
            Space::BufferArray { first, index } => {
                let mut k = self.v(index.index);
                if self.ty(index.index) == ScalarType::I32 {
                    k &= 0xffff_ffff;
                }
                if k < u64::from(index.len) {
                    f(&mut self.shared.lock().unwrap().buffers[first as usize + k as usize])
                } else {
                    f(&mut Vec::new())
                }
            }
        }
    }

    fn load(&mut self, mem: &MemRef, ty: ScalarType) -> u64 {
        let off = self.v(mem.offset);
        let size = ty.size() as usize;
        let raw = self.with_mem(mem.space, |bytes| {
            let start = usize::try_from(off).ok()?;
            let s = bytes.get(start..start.checked_add(size)?)?;
            let mut buf = [0u8; 8];
            buf[..size].copy_from_slice(s);
            Some(u64::from_le_bytes(buf))
        });
        let raw = raw.unwrap_or(0);
        if ty == ScalarType::Bool {
            u64::from(raw != 0)
        } else {
            raw
        }
    }

    fn store(&mut self, mem: &MemRef, ty: ScalarType, v: u64) {
        let off = self.v(mem.offset);
        let size = ty.size() as usize;
        self.with_mem(mem.space, |bytes| {
            let Ok(start) = usize::try_from(off) else {
                return;
            };
            let Some(end) = start.checked_add(size) else {
                return;
            };
            if let Some(s) = bytes.get_mut(start..end) {
                s.copy_from_slice(&v.to_le_bytes()[..size]);
            }
        });
    }

    fn op(&mut self, ty: ScalarType, op: &Op) -> u64 {
        match op {
            Op::Const(c) => c.0,
            Op::Undef => 0,
            Op::Unary(u, a) => self.unary(*u, self.ty(*a), self.v(*a)),
            Op::Binary(b, x, y) => binary(*b, ty, self.v(*x), self.v(*y)),
            Op::Fma(a, b, c) => fb(f(self.v(*a)).mul_add(f(self.v(*b)), f(self.v(*c)))),
            Op::Cmp(c, a, b) => u64::from(compare(*c, self.ty(*a), self.v(*a), self.v(*b))),
            Op::Select(c, a, b) => {
                if self.v(*c) != 0 {
                    self.v(*a)
                } else {
                    self.v(*b)
                }
            }
            Op::Convert(c, a) => convert(*c, self.ty(*a), ty, self.v(*a)),
            Op::Builtin(b) => u64::from(self.builtin(*b)),
            Op::Load(mem) => self.load(mem, ty),
            Op::Atomic {
                op,
                mem,
                value,
                comparator,
            } => {
                let v = self.v(*value);
                let cmpv = comparator.map(|c| self.v(c));
                let off = self.v(mem.offset);
                let size = ty.size() as usize;
                let (op, space) = (*op, mem.space);
                self.with_mem(space, |bytes| {
                    let start = usize::try_from(off).ok()?;
                    let s = bytes.get_mut(start..start.checked_add(size)?)?;
                    let mut buf = [0u8; 8];
                    buf[..size].copy_from_slice(s);
                    let old = u64::from_le_bytes(buf);
                    let new = match op {
                        AtomicOp::Add => old.wrapping_add(v),
                        AtomicOp::Sub => old.wrapping_sub(v),
                        AtomicOp::SMin => {
                            if sx(ty, v) < sx(ty, old) {
                                v
                            } else {
                                old
                            }
                        }
                        AtomicOp::SMax => {
                            if sx(ty, v) > sx(ty, old) {
                                v
                            } else {
                                old
                            }
                        }
                        AtomicOp::UMin => old.min(v),
                        AtomicOp::UMax => old.max(v),
                        AtomicOp::And => old & v,
                        AtomicOp::Or => old | v,
                        AtomicOp::Xor => old ^ v,
                        AtomicOp::Exchange => v,
                        AtomicOp::CompareExchange => {
                            if Some(old) == cmpv {
                                v
                            } else {
                                old
                            }
                        }
                        AtomicOp::Load => old,
                    };
                    s.copy_from_slice(&mask(ty, new).to_le_bytes()[..size]);
                    Some(old)
                })
                .unwrap_or(0)
            }
            Op::GetVar(var) => self.vars[var.0 as usize],
            Op::Subgroup(s) => match *s {
                SubgroupOp::Elect => 1,
                SubgroupOp::All(v) | SubgroupOp::Any(v) | SubgroupOp::BroadcastFirst(v) => {
                    self.v(v)
                }
                SubgroupOp::AllEqual(_) => 1,
                SubgroupOp::Ballot(v) => self.v(v) & 1,
                SubgroupOp::Shuffle { value, .. } => self.v(value),
                SubgroupOp::Scan { op, kind, value } => match kind {
                    ScanKind::Reduce | ScanKind::InclusiveScan => self.v(value),
                    ScanKind::ExclusiveScan => identity(op, ty),
                },
            },
            Op::BufferLength(i) => self.shared.lock().unwrap().buffers[*i as usize].len() as u64,
            Op::Input(_) | Op::IsHelperInvocation | Op::Derivative { .. } => {
                panic!("the compute interpreter has no stage inputs or quads ({op:?})")
            }
        }
    }

    fn builtin(&self, b: Builtin) -> u32 {
        let size = self.m.workgroup_size;
        match b {
            Builtin::GlobalInvocationId(c) => {
                self.group[c as usize] * size[c as usize] + self.local[c as usize]
            }
            Builtin::LocalInvocationId(c) => self.local[c as usize],
            Builtin::LocalInvocationIndex => self.index,
            Builtin::WorkgroupId(c) => self.group[c as usize],
            Builtin::NumWorkgroups(c) => self.groups[c as usize],
            Builtin::SubgroupSize => 1,
            Builtin::SubgroupLocalInvocationId => 0,
            Builtin::SubgroupId => self.index,
            Builtin::NumSubgroups => size.iter().product(),
            other => panic!("the compute interpreter has no {other:?}"),
        }
    }

    fn unary(&self, u: UnOp, ty: ScalarType, a: u64) -> u64 {
        let w = ty.bits();
        let x = f(a);
        match u {
            UnOp::INeg => a.wrapping_neg(),
            UnOp::FNeg => fb(-x),
            UnOp::Not => {
                if ty == ScalarType::Bool {
                    a ^ 1
                } else {
                    !a
                }
            }
            UnOp::IAbs => sx(ty, a).wrapping_abs() as u64,
            UnOp::FAbs => fb(x.abs()),
            UnOp::BitCount => u64::from(mask(ty, a).count_ones()),
            UnOp::BitReverse => mask(ty, a).reverse_bits() >> (64 - w),
            UnOp::FindLsb => {
                if mask(ty, a) == 0 {
                    u64::MAX
                } else {
                    u64::from(a.trailing_zeros())
                }
            }
            UnOp::FindUMsb => {
                let m = mask(ty, a);
                if m == 0 {
                    u64::MAX
                } else {
                    u64::from(63 - m.leading_zeros())
                }
            }
            UnOp::FindSMsb => {
                let s = sx(ty, a);
                let m = if s < 0 { !s } else { s } as u64;
                if m == 0 {
                    u64::MAX
                } else {
                    u64::from(63 - m.leading_zeros())
                }
            }
            UnOp::Sqrt => fb(x.sqrt()),
            UnOp::InverseSqrt => fb(1.0 / x.sqrt()),
            UnOp::Floor => fb(x.floor()),
            UnOp::Ceil => fb(x.ceil()),
            UnOp::Trunc => fb(x.trunc()),
            UnOp::RoundEven => fb(x.round_ties_even()),
            UnOp::Round => fb(x.round()),
            UnOp::Fract => fb(x - x.floor()),
            UnOp::Exp2 => fb(x.exp2()),
            UnOp::Log2 => fb(x.log2()),
            UnOp::Exp => fb(x.exp()),
            UnOp::Log => fb(x.ln()),
            UnOp::Sin => fb(x.sin()),
            UnOp::Cos => fb(x.cos()),
            UnOp::Tan => fb(x.tan()),
            UnOp::Asin => fb(x.asin()),
            UnOp::Acos => fb(x.acos()),
            UnOp::Atan => fb(x.atan()),
            UnOp::F32ToF16Bits => u64::from(to_half(x)),
            UnOp::F16BitsToF32 => fb(from_half(a as u16)),
            UnOp::IsNan => u64::from(x.is_nan()),
            UnOp::IsInf => u64::from(x.is_infinite()),
        }
    }
}

fn binary(b: BinOp, ty: ScalarType, a: u64, c: u64) -> u64 {
    let w = u64::from(ty.bits());
    let (sa, sc) = (sx(ty, a), sx(ty, c));
    let (x, y) = (f(a), f(c));
    let (ma, mc) = (mask(ty, a), mask(ty, c));
    match b {
        BinOp::IAdd => a.wrapping_add(c),
        BinOp::ISub => a.wrapping_sub(c),
        BinOp::IMul => a.wrapping_mul(c),
        BinOp::UDiv => ma.checked_div(mc).unwrap_or(0),
        BinOp::SDiv => {
            if sc == 0 {
                0
            } else {
                sa.wrapping_div(sc) as u64
            }
        }
        BinOp::UMod => ma.checked_rem(mc).unwrap_or(0),
        BinOp::SRem => {
            if sc == 0 {
                0
            } else {
                sa.wrapping_rem(sc) as u64
            }
        }
        BinOp::SMod => {
            if sc == 0 {
                0
            } else {
                let r = sa.wrapping_rem(sc);
                if r != 0 && (r < 0) != (sc < 0) {
                    r.wrapping_add(sc) as u64
                } else {
                    r as u64
                }
            }
        }
        BinOp::Shl => ma << (mc % w),
        BinOp::LShr => ma >> (mc % w),
        BinOp::AShr => (sa >> (mc % w)) as u64,
        BinOp::And => a & c,
        BinOp::Or => a | c,
        BinOp::Xor => a ^ c,
        BinOp::SMin => {
            if sa < sc {
                a
            } else {
                c
            }
        }
        BinOp::SMax => {
            if sa > sc {
                a
            } else {
                c
            }
        }
        BinOp::UMin => ma.min(mc),
        BinOp::UMax => ma.max(mc),
        BinOp::FAdd => fb(x + y),
        BinOp::FSub => fb(x - y),
        BinOp::FMul => fb(x * y),
        BinOp::FDiv => fb(x / y),
        BinOp::FRem => fb(x % y),
        BinOp::FMod => fb(x - y * (x / y).floor()),
        BinOp::FMin => fb(x.min(y)),
        BinOp::FMax => fb(x.max(y)),
        BinOp::Pow => fb(x.powf(y)),
        BinOp::Atan2 => fb(x.atan2(y)),
        BinOp::UMulHi => ((u128::from(ma) * u128::from(mc)) >> w) as u64,
        BinOp::SMulHi => ((i128::from(sa) * i128::from(sc)) >> w) as u64,
    }
}

fn compare(c: CmpOp, ty: ScalarType, a: u64, b: u64) -> bool {
    let (sa, sb) = (sx(ty, a), sx(ty, b));
    let (x, y) = (f(a), f(b));
    let unordered = x.is_nan() || y.is_nan();
    match c {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::ULt => a < b,
        CmpOp::ULe => a <= b,
        CmpOp::UGt => a > b,
        CmpOp::UGe => a >= b,
        CmpOp::SLt => sa < sb,
        CmpOp::SLe => sa <= sb,
        CmpOp::SGt => sa > sb,
        CmpOp::SGe => sa >= sb,
        CmpOp::FOEq => x == y,
        CmpOp::FONe => !unordered && x != y,
        CmpOp::FOLt => x < y,
        CmpOp::FOLe => x <= y,
        CmpOp::FOGt => x > y,
        CmpOp::FOGe => x >= y,
        CmpOp::FUEq => unordered || x == y,
        CmpOp::FUNe => x != y,
        CmpOp::FULt => unordered || x < y,
        CmpOp::FULe => unordered || x <= y,
        CmpOp::FUGt => unordered || x > y,
        CmpOp::FUGe => unordered || x >= y,
    }
}

fn convert(c: ConvOp, from: ScalarType, to: ScalarType, a: u64) -> u64 {
    let x = f(a);
    match c {
        ConvOp::ZextOrTrunc => mask(from, a),
        ConvOp::SextOrTrunc => {
            if from == ScalarType::Bool {
                if a != 0 {
                    u64::MAX
                } else {
                    0
                }
            } else {
                sx(from, a) as u64
            }
        }
        ConvOp::FToS => match to {
            ScalarType::I8 => x as i8 as u64,
            ScalarType::I16 => x as i16 as u64,
            ScalarType::I32 => x as i32 as u64,
            _ => x as i64 as u64,
        },
        ConvOp::FToU => match to {
            ScalarType::I8 => u64::from(x as u8),
            ScalarType::I16 => u64::from(x as u16),
            ScalarType::I32 => u64::from(x as u32),
            _ => x as u64,
        },
        ConvOp::SToF => fb(sx(from, a) as f32),
        ConvOp::UToF => fb(mask(from, a) as f32),
        ConvOp::Bitcast => a,
    }
}

fn identity(op: GroupOp, ty: ScalarType) -> u64 {
    match op {
        GroupOp::IAdd | GroupOp::Or | GroupOp::Xor | GroupOp::UMax => 0,
        GroupOp::FAdd => fb(0.0),
        GroupOp::IMul => 1,
        GroupOp::FMul => fb(1.0),
        GroupOp::SMin => mask(ty, u64::MAX >> (65 - ty.bits())),
        GroupOp::UMin | GroupOp::And => mask(ty, u64::MAX),
        GroupOp::FMin => fb(f32::INFINITY),
        GroupOp::SMax => mask(ty, 1u64 << (ty.bits() - 1)),
        GroupOp::FMax => fb(f32::NEG_INFINITY),
    }
}
