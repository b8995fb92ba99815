//! SPIR-V front end and the softgpu shader IR.
//!
//! `front` turns SPIR-V into [`ir::Module`]; `valid` checks a module's structure (the JIT
//! back end trusts only validated modules); `abi` is the calling convention of compiled code.

pub mod abi;
pub mod constant_outputs;
pub mod front;
pub mod ir;
pub mod opt;
pub mod sampled_copy;
pub mod valid;

pub use front::{lower, lower_compute, FrontError, SpecializationEntry, SpecializationInfo};
