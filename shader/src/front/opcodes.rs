//! Which SPIR-V opcodes the front end lowers, and the opcodes that map one-to-one onto IR
//! binary operations and comparisons.

use spirv::Op;

use crate::ir::{BinOp, CmpOp};

pub(crate) fn binop(op: Op) -> Option<BinOp> {
    Some(match op {
        Op::IAdd => BinOp::IAdd,
        Op::ISub => BinOp::ISub,
        Op::IMul => BinOp::IMul,
        Op::UDiv => BinOp::UDiv,
        Op::SDiv => BinOp::SDiv,
        Op::UMod => BinOp::UMod,
        Op::SRem => BinOp::SRem,
        Op::SMod => BinOp::SMod,
        Op::FAdd => BinOp::FAdd,
        Op::FSub => BinOp::FSub,
        Op::FMul => BinOp::FMul,
        Op::FDiv => BinOp::FDiv,
        Op::FRem => BinOp::FRem,
        Op::FMod => BinOp::FMod,
        Op::BitwiseAnd | Op::LogicalAnd => BinOp::And,
        Op::BitwiseOr | Op::LogicalOr => BinOp::Or,
        Op::BitwiseXor | Op::LogicalNotEqual => BinOp::Xor,
        Op::ShiftLeftLogical => BinOp::Shl,
        Op::ShiftRightLogical => BinOp::LShr,
        Op::ShiftRightArithmetic => BinOp::AShr,
        _ => return None,
    })
}

pub(crate) fn cmpop(op: Op) -> Option<CmpOp> {
    Some(match op {
        Op::IEqual => CmpOp::Eq,
        Op::INotEqual => CmpOp::Ne,
        Op::ULessThan => CmpOp::ULt,
        Op::ULessThanEqual => CmpOp::ULe,
        Op::UGreaterThan => CmpOp::UGt,
        Op::UGreaterThanEqual => CmpOp::UGe,
        Op::SLessThan => CmpOp::SLt,
        Op::SLessThanEqual => CmpOp::SLe,
        Op::SGreaterThan => CmpOp::SGt,
        Op::SGreaterThanEqual => CmpOp::SGe,
        Op::FOrdEqual => CmpOp::FOEq,
        Op::FOrdNotEqual => CmpOp::FONe,
        Op::FOrdLessThan => CmpOp::FOLt,
        Op::FOrdLessThanEqual => CmpOp::FOLe,
        Op::FOrdGreaterThan => CmpOp::FOGt,
        Op::FOrdGreaterThanEqual => CmpOp::FOGe,
        Op::FUnordEqual => CmpOp::FUEq,
        Op::FUnordNotEqual => CmpOp::FUNe,
        Op::FUnordLessThan => CmpOp::FULt,
        Op::FUnordLessThanEqual => CmpOp::FULe,
        Op::FUnordGreaterThan => CmpOp::FUGt,
        Op::FUnordGreaterThanEqual => CmpOp::FUGe,
        _ => return None,
    })
}

/// Whether `instruction` (or the structurizer, for terminators and merges) lowers `op`.
pub(crate) fn supported(op: Op) -> bool {
    binop(op).is_some()
        || cmpop(op).is_some()
        || is_atomic(op)
        || is_subgroup(op)
        || super::image::is_image_op(op)
        || super::derivative::is_derivative(op)
        || matches!(op, Op::SampledImage | Op::Image | Op::ImageTexelPointer)
        || matches!(
            op,
            Op::Nop
                | Op::Line
                | Op::NoLine
                | Op::LifetimeStart
                | Op::LifetimeStop
                | Op::Undef
                | Op::Load
                | Op::Store
                | Op::CopyMemory
                | Op::AccessChain
                | Op::InBoundsAccessChain
                | Op::PtrAccessChain
                | Op::InBoundsPtrAccessChain
                | Op::ArrayLength
                | Op::CopyObject
                | Op::CopyLogical
                | Op::FunctionCall
                | Op::ExtInst
                | Op::ControlBarrier
                | Op::MemoryBarrier
                | Op::SNegate
                | Op::FNegate
                | Op::Not
                | Op::LogicalNot
                | Op::BitReverse
                | Op::BitCount
                | Op::IsNan
                | Op::IsInf
                | Op::LogicalEqual
                | Op::UConvert
                | Op::SConvert
                | Op::ConvertFToS
                | Op::ConvertFToU
                | Op::ConvertSToF
                | Op::ConvertUToF
                | Op::FConvert
                | Op::Bitcast
                | Op::QuantizeToF16
                | Op::Select
                | Op::Any
                | Op::All
                | Op::Dot
                | Op::VectorTimesScalar
                | Op::MatrixTimesScalar
                | Op::MatrixTimesVector
                | Op::VectorTimesMatrix
                | Op::MatrixTimesMatrix
                | Op::OuterProduct
                | Op::Transpose
                | Op::CompositeConstruct
                | Op::CompositeExtract
                | Op::CompositeInsert
                | Op::VectorShuffle
                | Op::VectorExtractDynamic
                | Op::VectorInsertDynamic
                | Op::IAddCarry
                | Op::ISubBorrow
                | Op::UMulExtended
                | Op::SMulExtended
                | Op::BitFieldInsert
                | Op::BitFieldSExtract
                | Op::BitFieldUExtract
                | Op::Phi
                | Op::Variable
                | Op::SelectionMerge
                | Op::LoopMerge
                | Op::Branch
                | Op::BranchConditional
                | Op::Switch
                | Op::Return
                | Op::ReturnValue
                | Op::Unreachable
                | Op::Kill
                | Op::TerminateInvocation
                | Op::DemoteToHelperInvocation
                | Op::IsHelperInvocationEXT
        )
}

/// Atomic instructions (lowered by `atomic_inst`).
pub(crate) fn is_atomic(op: Op) -> bool {
    matches!(
        op,
        Op::AtomicLoad
            | Op::AtomicStore
            | Op::AtomicExchange
            | Op::AtomicCompareExchange
            | Op::AtomicCompareExchangeWeak
            | Op::AtomicIIncrement
            | Op::AtomicIDecrement
            | Op::AtomicIAdd
            | Op::AtomicISub
            | Op::AtomicSMin
            | Op::AtomicUMin
            | Op::AtomicSMax
            | Op::AtomicUMax
            | Op::AtomicAnd
            | Op::AtomicOr
            | Op::AtomicXor
    )
}

/// `OpGroupNonUniform*` instructions (lowered by `subgroup_inst`).
pub(crate) fn is_subgroup(op: Op) -> bool {
    matches!(
        op,
        Op::GroupNonUniformElect
            | Op::GroupNonUniformAll
            | Op::GroupNonUniformAny
            | Op::GroupNonUniformAllEqual
            | Op::GroupNonUniformBallot
            | Op::GroupNonUniformInverseBallot
            | Op::GroupNonUniformBallotBitExtract
            | Op::GroupNonUniformBallotBitCount
            | Op::GroupNonUniformBallotFindLSB
            | Op::GroupNonUniformBallotFindMSB
            | Op::GroupNonUniformBroadcast
            | Op::GroupNonUniformBroadcastFirst
            | Op::GroupNonUniformShuffle
            | Op::GroupNonUniformShuffleXor
            | Op::GroupNonUniformShuffleUp
            | Op::GroupNonUniformShuffleDown
            | Op::GroupNonUniformIAdd
            | Op::GroupNonUniformFAdd
            | Op::GroupNonUniformIMul
            | Op::GroupNonUniformFMul
            | Op::GroupNonUniformSMin
            | Op::GroupNonUniformUMin
            | Op::GroupNonUniformFMin
            | Op::GroupNonUniformSMax
            | Op::GroupNonUniformUMax
            | Op::GroupNonUniformFMax
            | Op::GroupNonUniformBitwiseAnd
            | Op::GroupNonUniformBitwiseOr
            | Op::GroupNonUniformBitwiseXor
            | Op::GroupNonUniformLogicalAnd
            | Op::GroupNonUniformLogicalOr
            | Op::GroupNonUniformLogicalXor
    )
}
