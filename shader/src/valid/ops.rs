//! Type rules of each [`Op`] and of memory accesses.

use super::{type_err, Access, Checker, Result};
use crate::ir::{
    AtomicOp, BinOp, Builtin, CmpOp, Const, ConvOp, GroupOp, MemRef, Op, ScalarType, Space, Stage,
    SubgroupOp, UnOp, ValueId,
};
use ScalarType::{Bool, F32, I32, I64};

fn is_int_or_bool(ty: ScalarType) -> bool {
    ty.is_int() || ty == Bool
}

impl Checker<'_> {
    /// Checks `op` as the definition of `id` of type `ty`.
    pub(super) fn op(&self, id: ValueId, ty: ScalarType, op: &Op) -> Result<()> {
        match op {
            Op::Const(c) => const_fits(id, ty, *c),
            Op::Undef => Ok(()),
            Op::Unary(op, a) => self.unary(id, ty, *op, *a),
            Op::Binary(op, a, b) => self.binary(id, ty, *op, *a, *b),
            Op::Fma(a, b, c) => {
                require(id, ty == F32, "Fma result must be F32")?;
                self.same(id, *a, ty)?;
                self.same(id, *b, ty)?;
                self.same(id, *c, ty)
            }
            Op::Cmp(op, a, b) => self.cmp(id, ty, *op, *a, *b),
            Op::Select(cond, a, b) => {
                self.expect(*cond, Bool, "Select condition")?;
                self.same(id, *a, ty)?;
                self.same(id, *b, ty)
            }
            Op::Convert(op, a) => self.convert(id, ty, *op, *a),
            Op::Builtin(b) => builtin(id, ty, *b, self.m.stage),
            Op::Input(index) => match self.m.inputs.get(*index as usize) {
                Some(slot) => require(id, slot.ty == ty, "Input result type must be the slot's"),
                None => require(id, false, || format!("input slot {index} does not exist")),
            },
            Op::IsHelperInvocation => {
                require(
                    id,
                    self.m.stage == Stage::Fragment,
                    "IsHelperInvocation outside a fragment shader",
                )?;
                require(id, ty == Bool, "IsHelperInvocation gives a Bool")
            }
            Op::Derivative { value, .. } => {
                require(
                    id,
                    self.m.stage == Stage::Fragment,
                    "derivatives outside a fragment shader",
                )?;
                require(id, ty == F32, "a derivative gives an F32")?;
                self.same(id, *value, ty)
            }
            Op::Load(mem) => self.mem(id, mem, ty, Access::Load),
            Op::Atomic {
                op,
                mem,
                value,
                comparator,
            } => self.atomic(id, ty, *op, mem, *value, *comparator),
            Op::GetVar(var) => {
                let var_ty = self.var_type(*var)?;
                require(
                    id,
                    var_ty == ty,
                    "GetVar result type must equal the var's type",
                )
            }
            Op::Subgroup(op) => self.subgroup(id, ty, op),
            Op::BufferLength(index) => {
                if self.m.buffers.get(*index as usize).is_none() {
                    return Err(super::ValidationError::BufferOutOfRange(*index));
                }
                require(id, ty == I64, "BufferLength gives an I64")
            }
        }
    }

    fn unary(&self, id: ValueId, ty: ScalarType, op: UnOp, a: ValueId) -> Result<()> {
        let a_ty = self.use_value(a)?;
        let ok = match op {
            UnOp::INeg
            | UnOp::IAbs
            | UnOp::BitCount
            | UnOp::BitReverse
            | UnOp::FindLsb
            | UnOp::FindUMsb
            | UnOp::FindSMsb => ty.is_int() && a_ty == ty,
            UnOp::Not => is_int_or_bool(ty) && a_ty == ty,
            UnOp::F32ToF16Bits => ty == I32 && a_ty == F32,
            UnOp::F16BitsToF32 => ty == F32 && a_ty == I32,
            UnOp::IsNan | UnOp::IsInf => ty == Bool && a_ty == F32,
            UnOp::FNeg
            | UnOp::FAbs
            | UnOp::Sqrt
            | UnOp::InverseSqrt
            | UnOp::Floor
            | UnOp::Ceil
            | UnOp::Trunc
            | UnOp::RoundEven
            | UnOp::Round
            | UnOp::Fract
            | UnOp::Exp2
            | UnOp::Log2
            | UnOp::Exp
            | UnOp::Log
            | UnOp::Sin
            | UnOp::Cos
            | UnOp::Tan
            | UnOp::Asin
            | UnOp::Acos
            | UnOp::Atan => ty == F32 && a_ty == F32,
        };
        require(id, ok, || format!("{op:?} of a {a_ty:?} giving {ty:?}"))
    }

    fn binary(&self, id: ValueId, ty: ScalarType, op: BinOp, a: ValueId, b: ValueId) -> Result<()> {
        let type_ok = match op {
            BinOp::IAdd
            | BinOp::ISub
            | BinOp::IMul
            | BinOp::UDiv
            | BinOp::SDiv
            | BinOp::UMod
            | BinOp::SRem
            | BinOp::SMod
            | BinOp::Shl
            | BinOp::LShr
            | BinOp::AShr
            | BinOp::SMin
            | BinOp::SMax
            | BinOp::UMin
            | BinOp::UMax
            | BinOp::UMulHi
            | BinOp::SMulHi => ty.is_int(),
            BinOp::And | BinOp::Or | BinOp::Xor => is_int_or_bool(ty),
            BinOp::FAdd
            | BinOp::FSub
            | BinOp::FMul
            | BinOp::FDiv
            | BinOp::FRem
            | BinOp::FMod
            | BinOp::FMin
            | BinOp::FMax
            | BinOp::Pow
            | BinOp::Atan2 => ty == F32,
        };
        require(id, type_ok, || format!("{op:?} cannot give a {ty:?}"))?;
        // Both operands (shift amounts included) have the result's type: the back end never
        // converts operands implicitly.
        self.same(id, a, ty)?;
        self.same(id, b, ty)
    }

    fn cmp(&self, id: ValueId, ty: ScalarType, op: CmpOp, a: ValueId, b: ValueId) -> Result<()> {
        require(id, ty == Bool, "Cmp result must be Bool")?;
        let a_ty = self.use_value(a)?;
        let b_ty = self.use_value(b)?;
        require(id, a_ty == b_ty, || {
            format!("Cmp operands differ: {a_ty:?} and {b_ty:?}")
        })?;
        let ok = match op {
            CmpOp::Eq | CmpOp::Ne => is_int_or_bool(a_ty),
            CmpOp::ULt
            | CmpOp::ULe
            | CmpOp::UGt
            | CmpOp::UGe
            | CmpOp::SLt
            | CmpOp::SLe
            | CmpOp::SGt
            | CmpOp::SGe => a_ty.is_int(),
            CmpOp::FOEq
            | CmpOp::FONe
            | CmpOp::FOLt
            | CmpOp::FOLe
            | CmpOp::FOGt
            | CmpOp::FOGe
            | CmpOp::FUEq
            | CmpOp::FUNe
            | CmpOp::FULt
            | CmpOp::FULe
            | CmpOp::FUGt
            | CmpOp::FUGe => a_ty == F32,
        };
        require(id, ok, || format!("{op:?} on {a_ty:?} operands"))
    }

    fn convert(&self, id: ValueId, ty: ScalarType, op: ConvOp, a: ValueId) -> Result<()> {
        let from = self.use_value(a)?;
        let ok = match op {
            ConvOp::ZextOrTrunc | ConvOp::SextOrTrunc => is_int_or_bool(from) && ty.is_int(),
            ConvOp::FToS | ConvOp::FToU => from == F32 && ty.is_int(),
            ConvOp::SToF | ConvOp::UToF => from.is_int() && ty == F32,
            ConvOp::Bitcast => from != Bool && ty != Bool && from.size() == ty.size(),
        };
        require(id, ok, || format!("{op:?} from {from:?} to {ty:?}"))
    }

    fn atomic(
        &self,
        id: ValueId,
        ty: ScalarType,
        op: AtomicOp,
        mem: &MemRef,
        value: ValueId,
        comparator: Option<ValueId>,
    ) -> Result<()> {
        if op == AtomicOp::Load {
            // `value` is ignored by an atomic load but must still name a value in scope.
            self.use_value(value)?;
            require(id, comparator.is_none(), "atomic Load takes no comparator")?;
            return self.mem(id, mem, ty, Access::AtomicLoad);
        }
        self.same(id, value, ty)?;
        match (op, comparator) {
            (AtomicOp::CompareExchange, Some(c)) => self.same(id, c, ty)?,
            (AtomicOp::CompareExchange, None) => {
                return Err(type_err(id, "CompareExchange needs a comparator"))
            }
            (_, Some(_)) => return Err(type_err(id, format!("atomic {op:?} takes no comparator"))),
            (_, None) => {}
        }
        self.mem(id, mem, ty, Access::AtomicRmw)
    }

    fn subgroup(&self, id: ValueId, ty: ScalarType, op: &SubgroupOp) -> Result<()> {
        match *op {
            SubgroupOp::Elect => require(id, ty == Bool, "Elect gives a Bool"),
            SubgroupOp::All(v) | SubgroupOp::Any(v) => {
                require(id, ty == Bool, "All/Any give a Bool")?;
                self.expect(v, Bool, "All/Any operand")
            }
            SubgroupOp::AllEqual(v) => {
                require(id, ty == Bool, "AllEqual gives a Bool")?;
                self.use_value(v).map(drop)
            }
            SubgroupOp::Ballot(v) => {
                require(id, ty == I32, "Ballot gives an I32")?;
                self.expect(v, Bool, "Ballot operand")
            }
            SubgroupOp::Shuffle { value, index } => {
                self.same(id, value, ty)?;
                self.expect(index, I32, "Shuffle index")
            }
            SubgroupOp::BroadcastFirst(v) => self.same(id, v, ty),
            SubgroupOp::Scan { op, kind: _, value } => {
                let ok = match op {
                    GroupOp::IAdd
                    | GroupOp::IMul
                    | GroupOp::SMin
                    | GroupOp::UMin
                    | GroupOp::SMax
                    | GroupOp::UMax => ty.is_int(),
                    GroupOp::FAdd | GroupOp::FMul | GroupOp::FMin | GroupOp::FMax => ty == F32,
                    GroupOp::And | GroupOp::Or | GroupOp::Xor => is_int_or_bool(ty),
                };
                require(id, ok, || format!("subgroup {op:?} on {ty:?}"))?;
                self.same(id, value, ty)
            }
        }
    }

    /// Checks a memory access of a `ty` at `mem`; `at` names the value for messages.
    pub(super) fn mem(
        &self,
        at: ValueId,
        mem: &MemRef,
        ty: ScalarType,
        access: Access,
    ) -> Result<()> {
        self.expect(mem.offset, I64, "memory offset")?;
        let atomic = matches!(
            access,
            Access::AtomicRmw | Access::AtomicLoad | Access::AtomicStore
        );
        let writes = matches!(
            access,
            Access::Store | Access::AtomicRmw | Access::AtomicStore
        );
        if atomic {
            require(at, ty == I32 || ty == I64, || {
                format!("atomic access of a {ty:?}")
            })?;
        }
        match mem.space {
            Space::Buffer(index) => {
                let binding = self
                    .m
                    .buffers
                    .get(index as usize)
                    .ok_or(super::ValidationError::BufferOutOfRange(index))?;
                let read_only = binding.read_only || binding.kind == crate::ir::BufferKind::Uniform;
                require(at, !(writes && read_only), "write to a read-only buffer")?;
                require(
                    at,
                    ty != Bool,
                    "Bool in buffer memory (the front end stores I32)",
                )
            }
            Space::BufferArray { first, index } => {
                let run = self.run(first, index, self.m.buffers.len(), "buffer")?;
                let elements = self.m.buffers.get(run).unwrap_or_default();
                let kind = elements.first().map(|b| b.kind);
                require(
                    at,
                    elements.iter().all(|b| Some(b.kind) == kind),
                    "buffer array of slots of different kinds",
                )?;
                let read_only = elements
                    .iter()
                    .any(|b| b.read_only || b.kind == crate::ir::BufferKind::Uniform);
                require(at, !(writes && read_only), "write to a read-only buffer")?;
                require(
                    at,
                    ty != Bool,
                    "Bool in buffer memory (the front end stores I32)",
                )
            }
            Space::PushConstant => {
                require(
                    at,
                    !writes && !atomic,
                    "push constants are read-only, non-atomic",
                )?;
                require(at, ty != Bool, "Bool in push-constant memory")
            }
            Space::Workgroup => require(at, ty != Bool, "Bool in workgroup memory"),
            // Private memory is ours alone: a Bool is kept as a 32-bit 0/1 word.
            Space::Private => Ok(()),
        }
    }
}

/// `Const` bits must fit the type: ints are zero-extended, `Bool` is 0 or 1.
fn const_fits(id: ValueId, ty: ScalarType, c: Const) -> Result<()> {
    let max: u64 = match ty {
        Bool => 1,
        ScalarType::I64 => u64::MAX,
        other => (1u64 << other.bits()) - 1,
    };
    require(id, c.0 <= max, || {
        format!("constant {:#x} does not fit {ty:?}", c.0)
    })
}

fn builtin(id: ValueId, ty: ScalarType, b: Builtin, stage: Stage) -> Result<()> {
    let component = b.component();
    require(id, component < b.components(), || {
        format!("{b:?} has no component {component}")
    })?;
    require(id, b.allowed_in(stage), || {
        format!("builtin {b:?} in a {stage:?} shader")
    })?;
    require(id, ty == b.ty(), || {
        format!("builtin {b:?} is {:?}, not {ty:?}", b.ty())
    })
}

/// Something that produces an error message only when needed.
trait Message {
    fn text(self) -> String;
}

impl Message for &str {
    fn text(self) -> String {
        self.to_owned()
    }
}

impl<F: FnOnce() -> String> Message for F {
    fn text(self) -> String {
        self()
    }
}

fn require(at: ValueId, ok: bool, what: impl Message) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(type_err(at, what.text()))
    }
}
