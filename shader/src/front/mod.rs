//! SPIR-V front end: one compute entry point of a SPIR-V module → one [`ir::Module`].
//!
//! The module owns everything between the bytes an application handed to
//! `vkCreateShaderModule` and the scalar, structured IR the JIT trusts after validation.
//! Nothing in the input is trusted: the header and the instruction stream are checked before
//! `rspirv` sees them, every operand is fetched through checked accessors, every size or count
//! is bounded before anything is allocated for it, and anything we do not lower is an error
//! that names the opcode, capability or decoration.
//!
//! Layout of the work:
//! * [`header`] checks the binary's framing and parses it, [`module`] collects what the
//!   module declares (capabilities, decorations, functions, execution modes) with the
//!   types, constants and global variables entered by [`declare`];
//! * [`types`] is the type table and the memory layouts, [`consts`] evaluates constants and
//!   specialization constants;
//! * [`lower`] drives the lowering of the entry function (inlining every call), with the
//!   structurizer in [`cfg`] and the instruction lowering in [`instr`], [`memory`],
//!   [`glsl_std`] and [`subgroup`]; [`builder`] is the IR under construction.

mod builder;
mod builtins;
mod call;
mod cfg;
mod composite;
mod consts;
mod declare;
mod derivative;
mod glsl_std;
mod handles;
mod header;
mod image;
mod instr;
mod integer;
mod interface;
mod lower;
mod memory;
mod module;
mod opcodes;
mod phi;
mod subgroup;
mod switch;
mod types;
mod variables;

use crate::ir;

/// Specialization data, mirroring `VkSpecializationInfo`. `Default` means no specialization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecializationInfo {
    pub entries: Vec<SpecializationEntry>,
    pub data: Vec<u8>,
}

/// One `VkSpecializationMapEntry`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecializationEntry {
    pub constant_id: u32,
    pub offset: u32,
    pub size: u32,
}

/// Why a SPIR-V module could not be lowered. Messages name the SPIR-V item at fault.
#[derive(Debug, thiserror::Error)]
pub enum FrontError {
    #[error("malformed SPIR-V: {0}")]
    Malformed(String),
    #[error("unsupported SPIR-V opcode Op{0}")]
    UnsupportedOpcode(String),
    #[error("unsupported capability {0}")]
    UnsupportedCapability(String),
    #[error("unsupported SPIR-V extension {0}")]
    UnsupportedExtension(String),
    #[error("unsupported extended instruction set {0}")]
    UnsupportedExtInstSet(String),
    #[error("unsupported GLSL.std.450 instruction {0}")]
    UnsupportedGlslInstruction(String),
    #[error("unsupported {0}")]
    Unsupported(String),
    #[error("no {0}")]
    EntryPointNotFound(String),
    #[error("specialization: {0}")]
    Specialization(String),
    #[error("unstructured control flow: {0}")]
    Unstructured(String),
    #[error("shader exceeds a limit: {0}")]
    Limit(String),
}

pub(crate) type Result<T> = std::result::Result<T, FrontError>;

/// Shorthand for a [`FrontError::Malformed`].
pub(crate) fn malformed<T>(what: impl Into<String>) -> Result<T> {
    Err(FrontError::Malformed(what.into()))
}

/// Lowers the `GLCompute` entry point `entry_point` of `spirv` (see [`lower`]).
pub fn lower_compute(
    spirv: &[u8],
    entry_point: &str,
    spec: &SpecializationInfo,
) -> Result<ir::Module> {
    lower(spirv, ir::Stage::Compute, entry_point, spec)
}

/// Lowers the entry point `entry_point` of execution model `stage` (GLCompute, Vertex or
/// Fragment) of `spirv` into a fully specialised IR module. The result still needs
/// [`crate::valid::validate`] before a back end may use it.
pub fn lower(
    spirv: &[u8],
    stage: ir::Stage,
    entry_point: &str,
    spec: &SpecializationInfo,
) -> Result<ir::Module> {
    let words = header::prepare_words(spirv)?;
    let parsed = header::parse(&words.words)?;
    let info = module::ModuleInfo::build(&parsed, &words, stage, entry_point, spec)?;
    let mut m = lower::lower_entry(&info)?;
    crate::opt::promote_single_store_vars(&mut m);
    Ok(m)
}
