//! What the benchmark binaries share: the shader sources (compiled at start-up) and timing
//! statistics. `softgpu-bench` drives the renderer in-process; `softgpu-vkbench` drives any
//! Vulkan driver through the system loader.

pub mod shaders;
pub mod stats;
