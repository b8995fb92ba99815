//! Shared pieces of softgpu's fuzz targets (`fuzz_targets/`).
//!
//! * [`arb_serde`]: structure-aware values of any serde wire type from the fuzzer's bytes.
//! * [`commands`]: well-formed softgpu command streams (protocol crate).
//! * [`guest`]: a small fake guest RAM (memfd-backed `GuestMemoryMmap`, as vhost-user gives).
//! * [`canary`]: buffers fenced by canary bytes and guard pages, to catch escaping accesses.
//! * [`spirv`]: the SPIR-V input layout, front-end check and instruction-level mutator.
//! * [`kernel`]: compile IR in-process with jit-host's library and run the code on canaried
//!   buffers in a forked child (a guest shader may legitimately loop forever).
//! * [`vk`]: fake guest-RAM resources for the device's Vulkan executor, and a jit-host that
//!   refuses every compile (the `vk_executor` binary serves as it).
//! * [`vk_commands`]: mostly-valid executor commands (objects, compute, transfers, graphics).
//!
//! The rule every target checks: nothing a guest or a peer sends may make the code under test
//! panic, crash, hang in the parser, or touch memory outside what it was given.

pub mod arb_serde;
pub mod canary;
pub mod commands;
pub mod guest;
pub mod kernel;
pub mod spirv;
pub mod vk;
pub mod vk_commands;
