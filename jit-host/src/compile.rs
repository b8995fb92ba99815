//! The whole compile pipeline for one module, free of any process concern: the compile worker
//! runs it, and so does the in-process benchmark.

use shader::ir;
use shader::valid::{self, ValidationError};

use crate::codegen::{self, CodegenError, Target};
use crate::link::{self, LinkError, LinkedBlob};

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("invalid IR: {0}")]
    Invalid(#[from] ValidationError),
    #[error("code generation: {0}")]
    Codegen(#[from] CodegenError),
    #[error("linking: {0}")]
    Link(#[from] LinkError),
}

/// Validates `module`, generates code for `target`, and links the object.
pub fn compile_module(module: &ir::Module, target: &Target) -> Result<LinkedBlob, CompileError> {
    valid::validate(module)?;
    let object = codegen::emit_object(module, target)?;
    let entry = shader::abi::entry_symbol(module.stage);
    Ok(link::link_entry(
        &object.object,
        entry,
        object.scratch_size,
    )?)
}
