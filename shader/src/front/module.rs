//! What a SPIR-V module declares: header checks, parsing, capabilities, decorations, types,
//! constants (with specialization applied), global variables, functions and the entry
//! point's execution modes.

use std::collections::{HashMap, HashSet};

use rspirv::dr::{self, Instruction, Operand};
use spirv::{BuiltIn, Capability, Decoration, ExecutionMode, ExecutionModel, Op, StorageClass};

use super::consts::{self, ConstVal};
use super::types::{Id, Type, Types};
use super::{malformed, FrontError, Result, SpecializationInfo};
use crate::ir::MAX_WORKGROUP_INVOCATIONS;

/// Largest id bound we accept (a sanity cap; real shaders stay far below it).
pub(crate) const MAX_ID_BOUND: u32 = 4 * 1024 * 1024;
const MAGIC: u32 = 0x0723_0203;
const OP_EXECUTION_MODE_ID: u32 = 331;
const OP_EXT_INST_IMPORT: u32 = 11;
const OP_EXT_INST: u32 = 12;
const OP_FUNCTION: u32 = 54;
const OP_FUNCTION_END: u32 = 56;
const OP_UNDEF: u32 = 1;
const OP_SPEC_CONSTANT_OP: u32 = 52;

/// The module's words in host order, with `OpExecutionModeId` taken out (rspirv 0.12's loader
/// refuses it) and kept here.
pub(crate) struct Words {
    pub words: Vec<u32>,
    /// (entry point, mode, operand ids) of each `OpExecutionModeId`.
    pub mode_ids: Vec<(Id, u32, Vec<Id>)>,
    /// Each `OpSpecConstantOp` by result id: (opcode, operand words). rspirv 0.12 parses only
    /// one literal of VectorShuffle / CompositeExtract / CompositeInsert here, so these are
    /// replaced in the stream by an `OpUndef` of the same id and type, and decoded by us.
    pub spec_ops: HashMap<Id, (u32, Vec<u32>)>,
    pub bound: u32,
}

/// Checks the header and the instruction framing (SPIR-V §2.3, §2.4).
pub(crate) fn prepare_words(bytes: &[u8]) -> Result<Words> {
    if bytes.len() % 4 != 0 {
        return malformed(format!("length {} is not a multiple of 4", bytes.len()));
    }
    if bytes.len() < 20 {
        return malformed("shorter than the 5-word header");
    }
    let le = |c: &[u8]| u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    let first = le(&bytes[..4]);
    let swap = match first {
        MAGIC => false,
        m if m == MAGIC.swap_bytes() => true,
        m => return malformed(format!("bad magic number {m:#010x}")),
    };
    let words: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| if swap { le(c).swap_bytes() } else { le(c) })
        .collect();
    let version = words[1];
    if version & 0xff00_00ff != 0 || version > 0x0001_0600 || version < 0x0001_0000 {
        return malformed(format!("unsupported SPIR-V version word {version:#010x}"));
    }
    let bound = words[3];
    if bound == 0 || bound > MAX_ID_BOUND {
        return malformed(format!("id bound {bound} outside 1..={MAX_ID_BOUND}"));
    }
    let mut out = Vec::with_capacity(words.len());
    out.extend_from_slice(&words[..5]);
    let mut mode_ids = Vec::new();
    let mut spec_ops = HashMap::new();
    // Ids of `NonSemantic.*` instruction sets: their module-level OpExtInsts (debug info) are
    // dropped here because rspirv 0.12's loader refuses instructions outside functions it does
    // not know; inside functions they are skipped during lowering.
    let mut non_semantic = HashSet::new();
    let mut in_function = false;
    let mut i = 5;
    while i < words.len() {
        let count = (words[i] >> 16) as usize;
        let opcode = words[i] & 0xffff;
        if count == 0 {
            return malformed(format!("instruction at word {i} has word count 0"));
        }
        let Some(inst) = words.get(i..i + count) else {
            return malformed(format!("instruction at word {i} runs past the end"));
        };
        match opcode {
            OP_EXT_INST_IMPORT if count >= 3 => {
                let name: Vec<u8> = inst[2..].iter().flat_map(|w| w.to_le_bytes()).collect();
                if name.starts_with(b"NonSemantic.") {
                    non_semantic.insert(inst[1]);
                }
            }
            OP_FUNCTION => in_function = true,
            OP_FUNCTION_END => in_function = false,
            _ => {}
        }
        if opcode == OP_EXT_INST && !in_function && count >= 4 && non_semantic.contains(&inst[3]) {
            // Module-level non-semantic debug info: meaningless to us.
        } else if opcode == OP_SPEC_CONSTANT_OP && count >= 4 {
            spec_ops.insert(inst[2], (inst[3], inst[4..].to_vec()));
            out.extend_from_slice(&[(3 << 16) | OP_UNDEF, inst[1], inst[2]]);
        } else if opcode == OP_EXECUTION_MODE_ID {
            if count < 3 {
                return malformed("OpExecutionModeId too short");
            }
            mode_ids.push((inst[1], inst[2], inst[3..].to_vec()));
        } else {
            out.extend_from_slice(inst);
        }
        i += count;
    }
    Ok(Words {
        words: out,
        mode_ids,
        spec_ops,
        bound,
    })
}

/// Parses with rspirv.
pub(crate) fn parse(words: &[u32]) -> Result<dr::Module> {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    // Last line of defence: rspirv's parser has internal `panic!`s and `unwrap`s on operand
    // shapes it assumes (e.g. an OpSwitch selector); we must turn any of them into an error
    // rather than let application bytes take the device down. Everything it touches is
    // local to the closure, so no broken state survives an unwind.
    let result = std::panic::catch_unwind(|| dr::load_bytes(&bytes));
    match result {
        Ok(Ok(m)) => Ok(m),
        Ok(Err(e)) => malformed(e.to_string()),
        Err(_) => malformed("the SPIR-V parser rejected the module"),
    }
}

pub(crate) enum ExtSet {
    Glsl,
    NonSemantic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Merge {
    None,
    Selection(Id),
    Loop { merge: Id, cont: Id },
}

pub(crate) struct Block<'a> {
    pub order: usize,
    pub phis: Vec<&'a Instruction>,
    pub body: Vec<&'a Instruction>,
    pub merge: Merge,
    pub term: &'a Instruction,
}

pub(crate) struct FuncInfo<'a> {
    pub ret_ty: Id,
    pub params: Vec<(Id, Id)>,
    pub variables: Vec<&'a Instruction>,
    pub entry: Id,
    pub blocks: HashMap<Id, Block<'a>>,
}

pub(crate) struct GlobalVar {
    pub class: StorageClass,
    pub ptr_ty: Id,
    pub pointee: Id,
    pub init: Option<Id>,
}

#[derive(Default)]
pub(crate) struct Decorations {
    pub builtin: HashMap<Id, BuiltIn>,
    pub set: HashMap<Id, u32>,
    pub binding: HashMap<Id, u32>,
    pub block: HashSet<Id>,
    pub buffer_block: HashSet<Id>,
    pub non_writable: HashSet<Id>,
    pub member_non_writable: HashSet<(Id, u32)>,
    pub spec_id: HashMap<Id, u32>,
}

pub(crate) struct ModuleInfo<'a> {
    pub types: Types,
    pub consts: HashMap<Id, ConstVal>,
    pub globals: HashMap<Id, GlobalVar>,
    pub decos: Decorations,
    pub functions: HashMap<Id, FuncInfo<'a>>,
    pub ext_sets: HashMap<Id, ExtSet>,
    pub entry_fn: Id,
    pub entry_name: String,
    pub workgroup_size: [u32; 3],
}

pub(crate) fn op_name(op: Op) -> String {
    format!("{op:?}")
}

pub(crate) fn id_at(inst: &Instruction, i: usize) -> Result<Id> {
    match inst.operands.get(i) {
        Some(Operand::IdRef(id)) => Ok(*id),
        _ => malformed(format!(
            "Op{:?}: operand {i} is not an id",
            inst.class.opcode
        )),
    }
}

pub(crate) fn lit_at(inst: &Instruction, i: usize) -> Result<u32> {
    match inst.operands.get(i) {
        Some(Operand::LiteralBit32(v)) => Ok(*v),
        _ => malformed(format!(
            "Op{:?}: operand {i} is not a literal",
            inst.class.opcode
        )),
    }
}

pub(crate) fn result_id(inst: &Instruction) -> Result<Id> {
    inst.result_id.ok_or_else(|| {
        FrontError::Malformed(format!("Op{:?} without a result id", inst.class.opcode))
    })
}

pub(crate) fn result_type(inst: &Instruction) -> Result<Id> {
    inst.result_type.ok_or_else(|| {
        FrontError::Malformed(format!("Op{:?} without a result type", inst.class.opcode))
    })
}

fn check_capabilities(m: &dr::Module) -> Result<HashSet<Capability>> {
    use Capability as C;
    let accepted = [
        C::Shader,
        C::Matrix,
        C::Int8,
        C::Int16,
        C::Int64,
        C::Int64Atomics,
        C::StorageBuffer8BitAccess,
        C::UniformAndStorageBuffer8BitAccess,
        C::StoragePushConstant8,
        C::StorageBuffer16BitAccess,
        C::UniformAndStorageBuffer16BitAccess,
        C::StoragePushConstant16,
        C::GroupNonUniform,
        C::GroupNonUniformVote,
        C::GroupNonUniformArithmetic,
        C::GroupNonUniformBallot,
        C::GroupNonUniformShuffle,
        C::GroupNonUniformShuffleRelative,
    ];
    let mut caps = HashSet::new();
    for inst in &m.capabilities {
        let Some(Operand::Capability(c)) = inst.operands.first() else {
            return malformed("OpCapability without a capability");
        };
        if !accepted.contains(c) {
            return Err(FrontError::UnsupportedCapability(format!("{c:?}")));
        }
        caps.insert(*c);
    }
    for inst in &m.extensions {
        let Some(Operand::LiteralString(name)) = inst.operands.first() else {
            return malformed("OpExtension without a name");
        };
        let ok = [
            "SPV_KHR_storage_buffer_storage_class",
            "SPV_KHR_8bit_storage",
            "SPV_KHR_16bit_storage",
            "SPV_KHR_shader_non_semantic_info",
            "SPV_GOOGLE_decorate_string",
            "SPV_GOOGLE_hlsl_functionality1",
            "SPV_GOOGLE_user_type",
        ];
        if !ok.contains(&name.as_str()) {
            return Err(FrontError::UnsupportedExtension(name.clone()));
        }
    }
    if let Some(mm) = &m.memory_model {
        if mm.operands.first() != Some(&Operand::AddressingModel(spirv::AddressingModel::Logical)) {
            return Err(FrontError::Unsupported(
                "addressing models other than Logical".into(),
            ));
        }
    } else {
        return malformed("no OpMemoryModel");
    }
    Ok(caps)
}

fn collect_decorations(m: &dr::Module, types: &mut Types) -> Result<Decorations> {
    let mut d = Decorations::default();
    for inst in &m.annotations {
        match inst.class.opcode {
            Op::Decorate => {
                let target = id_at(inst, 0)?;
                let Some(Operand::Decoration(deco)) = inst.operands.get(1) else {
                    return malformed("OpDecorate without a decoration");
                };
                match deco {
                    Decoration::BuiltIn => match inst.operands.get(2) {
                        Some(Operand::BuiltIn(b)) => {
                            d.builtin.insert(target, *b);
                        }
                        _ => return malformed("BuiltIn decoration without a builtin"),
                    },
                    Decoration::SpecId => {
                        d.spec_id.insert(target, lit_at(inst, 2)?);
                    }
                    Decoration::DescriptorSet => {
                        d.set.insert(target, lit_at(inst, 2)?);
                    }
                    Decoration::Binding => {
                        d.binding.insert(target, lit_at(inst, 2)?);
                    }
                    Decoration::ArrayStride => {
                        types.layouts.array_stride.insert(target, lit_at(inst, 2)?);
                    }
                    Decoration::Block => {
                        d.block.insert(target);
                    }
                    Decoration::BufferBlock => {
                        d.buffer_block.insert(target);
                    }
                    Decoration::NonWritable => {
                        d.non_writable.insert(target);
                    }
                    _ => {}
                }
            }
            Op::MemberDecorate => {
                let target = id_at(inst, 0)?;
                let member = lit_at(inst, 1)?;
                let Some(Operand::Decoration(deco)) = inst.operands.get(2) else {
                    return malformed("OpMemberDecorate without a decoration");
                };
                let key = (target, member);
                match deco {
                    Decoration::Offset => {
                        types.layouts.member_offset.insert(key, lit_at(inst, 3)?);
                    }
                    Decoration::MatrixStride => {
                        types
                            .layouts
                            .member_matrix_stride
                            .insert(key, lit_at(inst, 3)?);
                    }
                    Decoration::RowMajor => {
                        types.layouts.member_row_major.insert(key);
                    }
                    Decoration::ColMajor => {
                        types.layouts.member_row_major.remove(&key);
                    }
                    Decoration::NonWritable => {
                        d.member_non_writable.insert(key);
                    }
                    _ => {}
                }
            }
            Op::DecorateId | Op::DecorateString | Op::MemberDecorateString => {}
            other => return Err(FrontError::UnsupportedOpcode(op_name(other))),
        }
    }
    Ok(d)
}

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

struct TypeCaps {
    int8: bool,
    int16: bool,
    int64: bool,
}

fn declare(
    inst: &Instruction,
    types: &mut Types,
    consts: &mut HashMap<Id, ConstVal>,
    globals: &mut HashMap<Id, GlobalVar>,
    decos: &Decorations,
    spec: &SpecializationInfo,
    caps: &TypeCaps,
    ext_sets: &HashMap<Id, ExtSet>,
    spec_ops: &HashMap<Id, (u32, Vec<u32>)>,
) -> Result<()> {
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
        Op::TypeImage
        | Op::TypeSampler
        | Op::TypeSampledImage
        | Op::TypeEvent
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

fn function_info(f: &dr::Function) -> Result<(Id, FuncInfo<'_>)> {
    let Some(def) = &f.def else {
        return malformed("function without OpFunction");
    };
    let id = result_id(def)?;
    let ret_ty = result_type(def)?;
    let params = f
        .parameters
        .iter()
        .map(|p| Ok((result_id(p)?, result_type(p)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut blocks = HashMap::new();
    let mut variables = Vec::new();
    let mut entry = None;
    for (order, b) in f.blocks.iter().enumerate() {
        let Some(label) = b.label.as_ref().and_then(|l| l.result_id) else {
            return malformed("block without a label");
        };
        entry.get_or_insert(label);
        let Some((term, rest)) = b.instructions.split_last() else {
            return malformed("empty block");
        };
        let mut phis = Vec::new();
        let mut body = Vec::new();
        let mut merge = Merge::None;
        for (i, inst) in rest.iter().enumerate() {
            match inst.class.opcode {
                Op::Phi => phis.push(inst),
                Op::Variable if order == 0 => variables.push(inst),
                Op::Variable => return malformed("OpVariable outside the first block"),
                Op::SelectionMerge | Op::LoopMerge if i + 1 != rest.len() => {
                    return malformed("merge instruction not right before the terminator")
                }
                Op::SelectionMerge => merge = Merge::Selection(id_at(inst, 0)?),
                Op::LoopMerge => {
                    merge = Merge::Loop {
                        merge: id_at(inst, 0)?,
                        cont: id_at(inst, 1)?,
                    }
                }
                _ => body.push(inst),
            }
        }
        if blocks
            .insert(
                label,
                Block {
                    order,
                    phis,
                    body,
                    merge,
                    term,
                },
            )
            .is_some()
        {
            return malformed(format!("block %{label} defined twice"));
        }
    }
    let Some(entry) = entry else {
        return Err(FrontError::Unsupported(
            "function declarations without a body".into(),
        ));
    };
    Ok((
        id,
        FuncInfo {
            ret_ty,
            params,
            variables,
            entry,
            blocks,
        },
    ))
}

impl<'a> ModuleInfo<'a> {
    pub fn build(
        m: &'a dr::Module,
        words: &Words,
        entry_point: &str,
        spec: &SpecializationInfo,
    ) -> Result<Self> {
        let caps = check_capabilities(m)?;
        let bound = words.bound;
        for inst in m.all_inst_iter() {
            if let Some(id) = inst.result_id {
                if id == 0 || id >= bound {
                    return malformed(format!("result id %{id} outside the id bound {bound}"));
                }
            }
        }
        let mut ext_sets = HashMap::new();
        for inst in &m.ext_inst_imports {
            let Some(Operand::LiteralString(name)) = inst.operands.first() else {
                return malformed("OpExtInstImport without a name");
            };
            let set = if name == "GLSL.std.450" {
                ExtSet::Glsl
            } else if name.starts_with("NonSemantic.") {
                ExtSet::NonSemantic
            } else {
                return Err(FrontError::UnsupportedExtInstSet(name.clone()));
            };
            ext_sets.insert(result_id(inst)?, set);
        }
        let mut types = Types::default();
        let decos = collect_decorations(m, &mut types)?;
        let type_caps = TypeCaps {
            int8: caps.contains(&Capability::Int8)
                || caps.contains(&Capability::StorageBuffer8BitAccess)
                || caps.contains(&Capability::UniformAndStorageBuffer8BitAccess)
                || caps.contains(&Capability::StoragePushConstant8),
            int16: caps.contains(&Capability::Int16)
                || caps.contains(&Capability::StorageBuffer16BitAccess)
                || caps.contains(&Capability::UniformAndStorageBuffer16BitAccess)
                || caps.contains(&Capability::StoragePushConstant16),
            int64: caps.contains(&Capability::Int64),
        };
        let mut consts = HashMap::new();
        let mut globals = HashMap::new();
        for inst in &m.types_global_values {
            declare(
                inst,
                &mut types,
                &mut consts,
                &mut globals,
                &decos,
                spec,
                &type_caps,
                &ext_sets,
                &words.spec_ops,
            )?;
        }
        let mut functions = HashMap::new();
        for f in &m.functions {
            let (id, info) = function_info(f)?;
            if functions.insert(id, info).is_some() {
                return malformed(format!("function %{id} defined twice"));
            }
        }
        let mut entry_fn = None;
        for ep in &m.entry_points {
            let model = ep.operands.first();
            let name = ep.operands.get(2);
            if model == Some(&Operand::ExecutionModel(ExecutionModel::GLCompute))
                && matches!(name, Some(Operand::LiteralString(n)) if n == entry_point)
            {
                entry_fn = Some(id_at(ep, 1)?);
            }
        }
        let Some(entry_fn) = entry_fn else {
            return Err(FrontError::EntryPointNotFound(entry_point.to_string()));
        };
        match functions.get(&entry_fn) {
            Some(f) if f.params.is_empty() && matches!(types.get(f.ret_ty)?, Type::Void) => {}
            Some(_) => {
                return malformed("entry point function must return void and take no parameters")
            }
            None => return malformed("entry point names no function"),
        }
        let workgroup_size = workgroup_size(m, words, entry_fn, &consts, &decos)?;
        Ok(ModuleInfo {
            types,
            consts,
            globals,
            decos,
            functions,
            ext_sets,
            entry_fn,
            entry_name: entry_point.to_string(),
            workgroup_size,
        })
    }
}

fn workgroup_size(
    m: &dr::Module,
    words: &Words,
    entry: Id,
    consts: &HashMap<Id, ConstVal>,
    decos: &Decorations,
) -> Result<[u32; 3]> {
    let mut size = None;
    let scalar = |id: Id| -> Result<u32> {
        match consts.get(&id).map(|c| c.bits.as_slice()) {
            Some([v]) => {
                u32::try_from(*v).map_err(|_| FrontError::Limit(format!("workgroup size {v}")))
            }
            _ => malformed(format!(
                "LocalSizeId operand %{id} is not a scalar constant"
            )),
        }
    };
    for inst in &m.execution_modes {
        if id_at(inst, 0)? != entry {
            continue;
        }
        let Some(Operand::ExecutionMode(mode)) = inst.operands.get(1) else {
            return malformed("OpExecutionMode without a mode");
        };
        match mode {
            ExecutionMode::LocalSize => {
                size = Some([lit_at(inst, 2)?, lit_at(inst, 3)?, lit_at(inst, 4)?])
            }
            ExecutionMode::LocalSizeHint => {}
            other => return Err(FrontError::Unsupported(format!("execution mode {other:?}"))),
        }
    }
    for (ep, mode, ids) in &words.mode_ids {
        if *ep != entry {
            continue;
        }
        match ExecutionMode::from_u32(*mode) {
            Some(ExecutionMode::LocalSizeId) => {
                let [x, y, z] = ids.as_slice() else {
                    return malformed("LocalSizeId needs three operands");
                };
                size = Some([scalar(*x)?, scalar(*y)?, scalar(*z)?]);
            }
            Some(ExecutionMode::LocalSizeHintId) => {}
            other => {
                return Err(FrontError::Unsupported(format!(
                    "execution mode {other:?} (OpExecutionModeId)"
                )))
            }
        }
    }
    // A constant decorated BuiltIn WorkgroupSize overrides the execution mode.
    for (id, b) in &decos.builtin {
        if *b == BuiltIn::WorkgroupSize {
            if let Some(c) = consts.get(id) {
                match c.bits.as_slice() {
                    [x, y, z] => {
                        let conv = |v: u64| {
                            u32::try_from(v)
                                .map_err(|_| FrontError::Limit(format!("workgroup size {v}")))
                        };
                        size = Some([conv(*x)?, conv(*y)?, conv(*z)?]);
                    }
                    _ => return malformed("WorkgroupSize constant is not a 3-component vector"),
                }
            }
        }
    }
    let Some(size) = size else {
        return malformed("compute entry point without a LocalSize execution mode");
    };
    let total = size.iter().try_fold(1u32, |acc, &d| acc.checked_mul(d));
    match total {
        Some(n) if n >= 1 && n <= MAX_WORKGROUP_INVOCATIONS => Ok(size),
        _ => Err(FrontError::Limit(format!(
            "workgroup size {size:?} is empty or exceeds {MAX_WORKGROUP_INVOCATIONS} invocations"
        ))),
    }
}
