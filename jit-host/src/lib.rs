//! jit-host library. (being written)
pub mod codegen;
