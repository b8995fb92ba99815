//! softgpu's device: a vhost-user virtio-gpu backend (one process per VM) that executes the
//! guest's Vulkan command stream on the renderer (DESIGN §1, §3).
//!
//! * [`server`]: the command line, start-up, lockdown and the accept loop.
//! * [`backend`]: the vhost-user backend of one connection (queues, features, config).
//! * [`gpu`]: virtio-gpu commands, resources, contexts and guest-memory views.
//! * [`context`]: the seam to the Vulkan executor ([`vk`]).
//! * [`lockdown`]: MDWE + seccomp once set up.

pub mod backend;
pub mod context;
pub mod gpu;
pub mod lockdown;
pub mod server;
pub mod vk;
