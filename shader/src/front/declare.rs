//! Declarations in the types/constants/globals section, in module order: types, constants
//! (with the application's specialization values applied and `OpSpecConstantOp` folded) and
//! global variables.

use std::collections::HashMap;

use rspirv::dr::{Instruction, Operand};
use spirv::Op;

use super::consts::{self, ConstVal};
use super::module::{
    id_at, lit_at, op_name, result_id, result_type, Decorations, ExtSet, GlobalVar,
};
use super::types::{Id, Type, Types};
use super::{malformed, FrontError, Result, SpecializationInfo};

/// The value an application's specialization data gives constant `spec_id`, if any.
fn spec_value(spec: &SpecializationInfo, spec_id: u32, size: u32) -> Result<Option<u64>> {
    let Some(e) = spec.entries.iter().find(|e| e.constant_id == spec_id) else {
        return Ok(None);
    };
    if e.size != size {
        return Err(FrontError::Specialization(format!(
            "constant {spec_id} has size {} but its type needs {size} bytes",
            e.size
        )));
    }
    let start = e.offset as usize;
    let Some(bytes) = start
        .checked_add(size as usize)
        .and_then(|end| spec.data.get(start..end))
    else {
        return Err(FrontError::Specialization(format!(
            "constant {spec_id}: offset {} + size {size} exceeds the {} data bytes",
            e.offset,
            spec.data.len()
        )));
    };
    let mut buf = [0u8; 8];
    buf[..bytes.len()].copy_from_slice(bytes);
    Ok(Some(u64::from_le_bytes(buf)))
}

/// Which integer widths the declared capabilities allow.
pub(crate) struct TypeCaps {
    pub int8: bool,
    pub int16: bool,
    pub int64: bool,
}

/// What the declarations depend on, besides what was declared before them.
pub(crate) struct DeclContext<'s> {
    pub decos: &'s Decorations,
    pub spec: &'s SpecializationInfo,
    pub caps: TypeCaps,
    pub ext_sets: &'s HashMap<Id, ExtSet>,
    pub spec_ops: &'s HashMap<Id, (u32, Vec<u32>)>,
}

/// Most scalar leaves all constants together may hold: composites of composites can
/// otherwise make a small module expand into gigabytes.
const MAX_CONSTANT_LEAVES: usize = 1 << 20;

/// Everything declared so far.
#[derive(Default)]
pub(crate) struct Declared {
    pub types: Types,
    pub consts: HashMap<Id, ConstVal>,
    pub globals: HashMap<Id, GlobalVar>,
    /// Scalar leaves of all constants so far.
    pub constant_leaves: usize,
}

fn is_constant(op: Op) -> bool {
    matches!(
        op,
        Op::ConstantComposite
            | Op::SpecConstantComposite
            | Op::ConstantNull
            | Op::Undef
            | Op::Constant
            | Op::SpecConstant
    )
}

/// Enters one instruction of the types/constants/globals section.
pub(crate) fn declare(inst: &Instruction, out: &mut Declared, cx: &DeclContext) -> Result<()> {
    let Declared {
        types,
        consts,
        globals,
        constant_leaves,
    } = out;
    if *constant_leaves > MAX_CONSTANT_LEAVES {
        return Err(FrontError::Limit(format!(
            "constants hold more than {MAX_CONSTANT_LEAVES} scalars"
        )));
    }
    if let Some(ty) = inst.result_type {
        if is_constant(inst.class.opcode) {
            *constant_leaves = constant_leaves.saturating_add(types.leaf_count(ty)?);
        }
    }
    let DeclContext {
        decos,
        spec,
        caps,
        ext_sets,
        spec_ops,
    } = cx;
    let op = inst.class.opcode;
    let unsupported = |ty: &mut Types| -> Result<()> {
        ty.insert(
            result_id(inst)?,
            Type::Unsupported(format!("SPIR-V opcode Op{op:?}")),
        )
    };
    match op {
        Op::TypeVoid => types.insert(result_id(inst)?, Type::Void)?,
        Op::TypeBool => types.insert(result_id(inst)?, Type::Bool)?,
        Op::TypeInt => {
            let bits = lit_at(inst, 0)?;
            let ok = match bits {
                8 => caps.int8,
                16 => caps.int16,
                32 => true,
                64 => caps.int64,
                _ => false,
            };
            if !ok {
                return Err(FrontError::Unsupported(format!(
                    "{bits}-bit integer type (capability missing or width invalid)"
                )));
            }
            if lit_at(inst, 1)? != 0 {
                types.signed_ints.insert(result_id(inst)?);
            }
            types.insert(result_id(inst)?, Type::Int { bits })?
        }
        Op::TypeFloat => {
            let ty = match lit_at(inst, 0)? {
                32 => Type::Float,
                16 => Type::Unsupported("16-bit floats (Float16)".into()),
                64 => Type::Unsupported("64-bit floats (Float64)".into()),
                w => return malformed(format!("OpTypeFloat width {w}")),
            };
            types.insert(result_id(inst)?, ty)?
        }
        Op::TypeVector => {
            let ty = Type::Vector {
                elem: id_at(inst, 0)?,
                count: lit_at(inst, 1)?,
            };
            types.insert(result_id(inst)?, ty)?
        }
        Op::TypeMatrix => {
            let ty = Type::Matrix {
                column: id_at(inst, 0)?,
                columns: lit_at(inst, 1)?,
            };
            types.insert(result_id(inst)?, ty)?
        }
        Op::TypeArray => {
            let len_id = id_at(inst, 1)?;
            let Some(c) = consts.get(&len_id) else {
                return malformed(format!("array length %{len_id} is not a constant"));
            };
            let len = match (c.bits.as_slice(), types.get(c.ty)?) {
                ([v], Type::Int { .. }) => {
                    u32::try_from(*v).map_err(|_| FrontError::Limit(format!("array length {v}")))?
                }
                _ => return malformed("array length is not an integer scalar"),
            };
            types.insert(
                result_id(inst)?,
                Type::Array {
                    elem: id_at(inst, 0)?,
                    len,
                },
            )?
        }
        Op::TypeRuntimeArray => types.insert(
            result_id(inst)?,
            Type::RuntimeArray {
                elem: id_at(inst, 0)?,
            },
        )?,
        Op::TypeStruct => {
            let members = (0..inst.operands.len())
                .map(|i| id_at(inst, i))
                .collect::<Result<_>>()?;
            types.insert(result_id(inst)?, Type::Struct { members })?
        }
        Op::TypePointer => {
            let Some(Operand::StorageClass(class)) = inst.operands.first() else {
                return malformed("OpTypePointer without a storage class");
            };
            let pointee = id_at(inst, 1)?;
            if !types.contains(pointee) {
                return malformed(format!("pointer to undeclared type %{pointee}"));
            }
            types.insert(
                result_id(inst)?,
                Type::Pointer {
                    class: *class,
                    pointee,
                },
            )?
        }
        Op::TypeFunction => types.insert(result_id(inst)?, Type::Function)?,
        Op::TypeImage => {
            let ty = super::handles::image_type(inst, types)?;
            types.insert(result_id(inst)?, Type::Image(ty))?
        }
        Op::TypeSampler => types.insert(result_id(inst)?, Type::Sampler)?,
        Op::TypeSampledImage => {
            let image = id_at(inst, 0)?;
            if !matches!(types.get(image)?, Type::Image(_)) {
                return malformed("OpTypeSampledImage of a non-image type");
            }
            types.insert(result_id(inst)?, Type::SampledImage { image })?
        }
        Op::TypeEvent
        | Op::TypeDeviceEvent
        | Op::TypeReserveId
        | Op::TypeQueue
        | Op::TypePipe
        | Op::TypeAccelerationStructureKHR
        | Op::TypeRayQueryKHR
        | Op::TypeOpaque => unsupported(types)?,
        Op::ConstantTrue | Op::ConstantFalse | Op::SpecConstantTrue | Op::SpecConstantFalse => {
            let (ty, id) = (result_type(inst)?, result_id(inst)?);
            if !matches!(types.get(ty)?, Type::Bool) {
                return malformed("boolean constant of non-bool type");
            }
            let mut v = u64::from(matches!(op, Op::ConstantTrue | Op::SpecConstantTrue));
            if matches!(op, Op::SpecConstantTrue | Op::SpecConstantFalse) {
                if let Some(sid) = decos.spec_id.get(&id) {
                    if let Some(x) = spec_value(spec, *sid, 4)? {
                        v = u64::from(x as u32 != 0);
                    }
                }
            }
            consts.insert(id, ConstVal { ty, bits: vec![v] });
        }
        Op::Constant | Op::SpecConstant => {
            let (ty, id) = (result_type(inst)?, result_id(inst)?);
            let st = types.scalar(ty)?;
            let mut v = consts::literal_bits(types, ty, inst.operands.first())?;
            if op == Op::SpecConstant {
                if let Some(sid) = decos.spec_id.get(&id) {
                    if let Some(x) = spec_value(spec, *sid, st.size())? {
                        v = consts::mask(st, x);
                    }
                }
            }
            consts.insert(id, ConstVal { ty, bits: vec![v] });
        }
        Op::ConstantComposite | Op::SpecConstantComposite => {
            let (ty, id) = (result_type(inst)?, result_id(inst)?);
            let n = types.leaf_count(ty)?;
            let mut bits = Vec::with_capacity(n);
            for i in 0..inst.operands.len() {
                let c = id_at(inst, i)?;
                match consts.get(&c) {
                    Some(cv) if bits.len() + cv.bits.len() <= n => bits.extend_from_slice(&cv.bits),
                    Some(_) => return malformed("composite constant larger than its type"),
                    None => {
                        return malformed(format!("composite constituent %{c} is not a constant"))
                    }
                }
            }
            if bits.len() != n {
                return malformed("composite constant does not fill its type");
            }
            consts.insert(id, ConstVal { ty, bits });
        }
        Op::Undef if inst.result_id.is_some_and(|id| spec_ops.contains_key(&id)) => {
            let (ty, id) = (result_type(inst)?, result_id(inst)?);
            let Some((opcode, words)) = spec_ops.get(&id) else {
                return malformed("OpSpecConstantOp lost");
            };
            let Some(inner) = Op::from_u32(*opcode) else {
                return malformed(format!("OpSpecConstantOp with unknown opcode {opcode}"));
            };
            let ids = match inner {
                Op::VectorShuffle | Op::CompositeInsert => 2,
                Op::CompositeExtract => 1,
                _ => words.len(),
            };
            let operands: Vec<Operand> = words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    if i < ids {
                        Operand::IdRef(*w)
                    } else {
                        Operand::LiteralBit32(*w)
                    }
                })
                .collect();
            let v = consts::fold_spec_op(types, consts, ty, inner, &operands)?;
            consts.insert(id, v);
        }
        Op::ConstantNull | Op::Undef => {
            let (ty, id) = (result_type(inst)?, result_id(inst)?);
            if let Type::Pointer { .. } = types.get(ty)? {
                return Err(FrontError::Unsupported("null or undefined pointers".into()));
            }
            consts.insert(id, consts::null(types, ty)?);
        }
        Op::Variable => {
            let (ptr_ty, id) = (result_type(inst)?, result_id(inst)?);
            let Type::Pointer { class, pointee } = types.get(ptr_ty)?.clone() else {
                return malformed("OpVariable of non-pointer type");
            };
            let init = match inst.operands.get(1) {
                Some(Operand::IdRef(i)) => Some(*i),
                _ => None,
            };
            globals.insert(
                id,
                GlobalVar {
                    class,
                    ptr_ty,
                    pointee,
                    init,
                },
            );
        }
        Op::Line | Op::NoLine | Op::Nop => {}
        Op::ExtInst => match inst.operands.first() {
            Some(Operand::IdRef(set)) if matches!(ext_sets.get(set), Some(ExtSet::NonSemantic)) => {
            }
            _ => {
                return Err(FrontError::UnsupportedOpcode(
                    "ExtInst (outside a function)".into(),
                ))
            }
        },
        other => return Err(FrontError::UnsupportedOpcode(op_name(other))),
    }
    Ok(())
}
