//! Helpers for driving softgpu through the real Vulkan loader: where the built binaries are,
//! the ICD manifest, GLSL → SPIR-V, a small compute harness on `ash`, an offscreen graphics
//! harness ([`graphics`]) and the named scenes the graphics comparison tests render ([`scenes`]).
//!
//! Nothing here knows softgpu's internals: the harness runs on any ICD the loader picks, which
//! is what makes lavapipe usable as the reference for the same program.

pub mod graphics;
pub mod harness;
pub mod paths;
pub mod scenes;

pub use harness::{Gpu, GpuBuffer, GpuError, Pipeline};
pub use paths::{glsl_to_spirv, softgpu_env, target_dir, write_manifest};
