//! softgpu's Vulkan ICD.

pub mod transport;
