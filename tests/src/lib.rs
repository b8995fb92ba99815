//! Helpers for driving softgpu through the real Vulkan loader: where the built binaries are,
//! the ICD manifest, GLSL → SPIR-V, and a small compute harness on `ash`.
//!
//! Nothing here knows softgpu's internals: the harness runs on any ICD the loader picks, which
//! is what makes lavapipe usable as the reference for the same program.

pub mod harness;
pub mod paths;

pub use harness::{Gpu, GpuBuffer, GpuError, Pipeline};
pub use paths::{glsl_to_spirv, softgpu_env, target_dir, write_manifest};
