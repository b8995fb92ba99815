//! softgpu's device: a vhost-user virtio-gpu backend (one process per VM) that executes the
//! guest's Vulkan command stream on the renderer (DESIGN §1, §3).

pub mod context;
pub mod vk;
