//! What a parsed SPIR-V module declares: capabilities, extensions, decorations, the
//! declarations of [`super::declare`], functions split into blocks, and the entry point's
//! execution modes.

use std::collections::{HashMap, HashSet};

use rspirv::dr::{self, Instruction, Operand};
use spirv::{BuiltIn, Capability, Decoration, ExecutionMode, ExecutionModel, Op, StorageClass};

use super::consts::ConstVal;
use super::declare::{declare, DeclContext, Declared, TypeCaps};
use super::header::Words;
use super::types::{Id, Type, Types};
use super::{malformed, FrontError, Result, SpecializationInfo};
use crate::ir::{DepthMode, FragmentModes, Stage, MAX_WORKGROUP_INVOCATIONS};

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
    /// Interface decorations, on variables (member `None`) or struct members.
    pub member_builtin: HashMap<(Id, u32), BuiltIn>,
    pub location: HashMap<(Id, Option<u32>), u32>,
    pub component: HashMap<(Id, Option<u32>), u32>,
    /// Flat, NoPerspective, Centroid, Sample, Patch and the like.
    pub interp: HashMap<(Id, Option<u32>), Vec<Decoration>>,
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
    pub stage: Stage,
    /// The entry point's interface variables (OpEntryPoint operands).
    pub interface: Vec<Id>,
    pub workgroup_size: [u32; 3],
    pub fragment: FragmentModes,
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
        C::DemoteToHelperInvocation,
        C::DrawParameters,
        C::MultiView,
        C::DerivativeControl,
        C::ImageQuery,
        C::Sampled1D,
        C::Image1D,
        C::SampledBuffer,
        C::ImageBuffer,
        C::SampledCubeArray,
        C::ImageCubeArray,
        C::ImageMSArray,
        C::ImageGatherExtended,
        C::InputAttachment,
        C::StorageImageExtendedFormats,
        C::StorageImageReadWithoutFormat,
        C::StorageImageWriteWithoutFormat,
        C::StorageImageMultisample,
        C::MinLod,
        // Dynamically uniform indices into arrays of descriptors (runtime arrays are refused
        // where they are indexed).
        C::SampledImageArrayDynamicIndexing,
        C::StorageImageArrayDynamicIndexing,
        C::UniformBufferArrayDynamicIndexing,
        C::StorageBufferArrayDynamicIndexing,
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
            "SPV_KHR_non_semantic_info",
            "SPV_GOOGLE_decorate_string",
            "SPV_GOOGLE_hlsl_functionality1",
            "SPV_GOOGLE_user_type",
            "SPV_EXT_demote_to_helper_invocation",
            "SPV_KHR_terminate_invocation",
            "SPV_KHR_shader_draw_parameters",
            "SPV_KHR_multiview",
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
                    Decoration::Location => {
                        d.location.insert((target, None), lit_at(inst, 2)?);
                    }
                    Decoration::Component => {
                        d.component.insert((target, None), lit_at(inst, 2)?);
                    }
                    Decoration::Flat
                    | Decoration::NoPerspective
                    | Decoration::Centroid
                    | Decoration::Sample
                    | Decoration::Patch
                    | Decoration::PerVertexKHR => {
                        d.interp.entry((target, None)).or_default().push(*deco);
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
                    Decoration::BuiltIn => match inst.operands.get(3) {
                        Some(Operand::BuiltIn(b)) => {
                            d.member_builtin.insert(key, *b);
                        }
                        _ => return malformed("BuiltIn member decoration without a builtin"),
                    },
                    Decoration::Location => {
                        d.location.insert((target, Some(member)), lit_at(inst, 3)?);
                    }
                    Decoration::Component => {
                        d.component.insert((target, Some(member)), lit_at(inst, 3)?);
                    }
                    Decoration::Flat
                    | Decoration::NoPerspective
                    | Decoration::Centroid
                    | Decoration::Sample
                    | Decoration::Patch
                    | Decoration::PerVertexKHR => {
                        d.interp
                            .entry((target, Some(member)))
                            .or_default()
                            .push(*deco);
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
        stage: Stage,
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
        let mut declared = Declared::default();
        let decos = collect_decorations(m, &mut declared.types)?;
        let has = |c: &[Capability]| c.iter().any(|c| caps.contains(c));
        let cx = DeclContext {
            decos: &decos,
            spec,
            caps: TypeCaps {
                int8: has(&[
                    Capability::Int8,
                    Capability::StorageBuffer8BitAccess,
                    Capability::UniformAndStorageBuffer8BitAccess,
                    Capability::StoragePushConstant8,
                ]),
                int16: has(&[
                    Capability::Int16,
                    Capability::StorageBuffer16BitAccess,
                    Capability::UniformAndStorageBuffer16BitAccess,
                    Capability::StoragePushConstant16,
                ]),
                int64: has(&[Capability::Int64]),
            },
            ext_sets: &ext_sets,
            spec_ops: &words.spec_ops,
        };
        for inst in &m.types_global_values {
            declare(inst, &mut declared, &cx)?;
        }
        let Declared {
            types,
            consts,
            globals,
            ..
        } = declared;
        let mut functions = HashMap::new();
        for f in &m.functions {
            let (id, info) = function_info(f)?;
            if functions.insert(id, info).is_some() {
                return malformed(format!("function %{id} defined twice"));
            }
        }
        let wanted = match stage {
            Stage::Compute => ExecutionModel::GLCompute,
            Stage::Vertex => ExecutionModel::Vertex,
            Stage::Fragment => ExecutionModel::Fragment,
        };
        let mut entry = None;
        for ep in &m.entry_points {
            let model = ep.operands.first();
            let name = ep.operands.get(2);
            if model == Some(&Operand::ExecutionModel(wanted))
                && matches!(name, Some(Operand::LiteralString(n)) if n == entry_point)
            {
                let interface = (3..ep.operands.len())
                    .map(|i| id_at(ep, i))
                    .collect::<Result<Vec<_>>>()?;
                entry = Some((id_at(ep, 1)?, interface));
            }
        }
        let Some((entry_fn, interface)) = entry else {
            return Err(FrontError::EntryPointNotFound(format!(
                "{wanted:?} entry point {entry_point:?}"
            )));
        };
        match functions.get(&entry_fn) {
            Some(f) if f.params.is_empty() && matches!(types.get(f.ret_ty)?, Type::Void) => {}
            Some(_) => {
                return malformed("entry point function must return void and take no parameters")
            }
            None => return malformed("entry point names no function"),
        }
        let (workgroup_size, fragment) = match stage {
            Stage::Compute => (
                workgroup_size(m, words, entry_fn, &consts, &decos)?,
                FragmentModes::default(),
            ),
            Stage::Vertex | Stage::Fragment => {
                ([1, 1, 1], graphics_modes(m, words, entry_fn, stage)?)
            }
        };
        Ok(ModuleInfo {
            types,
            consts,
            globals,
            decos,
            functions,
            ext_sets,
            entry_fn,
            entry_name: entry_point.to_string(),
            stage,
            interface,
            workgroup_size,
            fragment,
        })
    }
}

/// Execution modes of a vertex or fragment entry point (Vulkan §"Fragment Shaders"; a
/// fragment entry point must declare `OriginUpperLeft`, VUID-StandaloneSpirv-OriginLowerLeft-04653
/// and -PixelCenterInteger-04654 forbid the others).
fn graphics_modes(m: &dr::Module, words: &Words, entry: Id, stage: Stage) -> Result<FragmentModes> {
    let mut f = FragmentModes::default();
    let mut upper_left = false;
    for inst in &m.execution_modes {
        if id_at(inst, 0)? != entry {
            continue;
        }
        let Some(Operand::ExecutionMode(mode)) = inst.operands.get(1) else {
            return malformed("OpExecutionMode without a mode");
        };
        let depth = |f: &mut FragmentModes, d: DepthMode| -> Result<()> {
            if f.depth != DepthMode::Any && f.depth != d {
                return malformed("more than one of DepthGreater/DepthLess/DepthUnchanged");
            }
            f.depth = d;
            Ok(())
        };
        match (stage, mode) {
            (Stage::Fragment, ExecutionMode::OriginUpperLeft) => upper_left = true,
            (
                Stage::Fragment,
                ExecutionMode::OriginLowerLeft | ExecutionMode::PixelCenterInteger,
            ) => return malformed(format!("execution mode {mode:?} is not allowed in Vulkan")),
            (Stage::Fragment, ExecutionMode::EarlyFragmentTests) => f.early_fragment_tests = true,
            (Stage::Fragment, ExecutionMode::DepthReplacing) => f.depth_replacing = true,
            (Stage::Fragment, ExecutionMode::DepthGreater) => depth(&mut f, DepthMode::Greater)?,
            (Stage::Fragment, ExecutionMode::DepthLess) => depth(&mut f, DepthMode::Less)?,
            (Stage::Fragment, ExecutionMode::DepthUnchanged) => {
                depth(&mut f, DepthMode::Unchanged)?
            }
            (_, other) => {
                return Err(FrontError::Unsupported(format!(
                    "execution mode {other:?} in a {stage:?} shader"
                )))
            }
        }
    }
    if let Some((_, mode, _)) = words.mode_ids.iter().find(|(ep, _, _)| *ep == entry) {
        return Err(FrontError::Unsupported(format!(
            "execution mode {mode} (OpExecutionModeId) in a {stage:?} shader"
        )));
    }
    if stage == Stage::Fragment && !upper_left {
        return malformed("fragment entry point without the OriginUpperLeft execution mode");
    }
    Ok(f)
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
        Some(n) if (1..=MAX_WORKGROUP_INVOCATIONS).contains(&n) => Ok(size),
        _ => Err(FrontError::Limit(format!(
            "workgroup size {size:?} is empty or exceeds {MAX_WORKGROUP_INVOCATIONS} invocations"
        ))),
    }
}
