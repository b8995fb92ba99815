//! softgpu's Vulkan ICD: the Vulkan loader loads this library (through `softgpu_icd.json`) and
//! calls the three `vk_icd*` exports below; everything else is reached through the name table
//! in [`entry_points`]. Vulkan calls are encoded into softgpu's command stream
//! ([`protocol::stream`]) and sent to the device over a [`transport::Transport`].
//!
//! Layout by object family, like lavapipe: [`instance`], [`physical_device`], [`device`]
//! (device and queue), [`memory`], [`buffer`], [`image`] (images and views), [`format`]
//! (format queries), [`descriptor`], [`pipeline`] (layouts, caches, compute),
//! [`graphics_pipeline`], [`render_pass`] (render passes, framebuffers), [`shader`],
//! [`command_buffer`] (recording; graphics in [`draw`], [`dynamic_state`],
//! [`image_transfer`]), [`sync`] (fences, semaphores, events, queue submission), [`query`].
//! Commands not implemented yet live in [`unimplemented`] and fail visibly.
//!
//! Trust: the application is trusted as far as the Vulkan valid-usage rules let a driver
//! assume (VUIDs); beyond that every pointer is checked for null before use, unknown `pNext`
//! structures are skipped, and no panic crosses the C ABI ([`entry::guard`]).

pub mod transport;

mod buffer;
mod command_buffer;
mod descriptor;
mod device;
mod draw;
mod dynamic_state;
mod entry;
mod entry_points;
mod error;
mod format;
mod graphics_pipeline;
mod handle;
mod image;
mod image_transfer;
mod instance;
mod logger;
mod memory;
mod object_caps;
mod physical_device;
mod pipeline;
mod query;
mod render_pass;
mod sampler;
mod shader;
mod sync;
mod unimplemented;

#[cfg(test)]
mod tests;

use ash::vk;
use std::ffi::{c_char, CStr};

/// The loader–ICD interface version we speak (loader docs, "Loader and ICD interface
/// negotiation"): 5 means physical-device functions via `vk_icdGetPhysicalDeviceProcAddr` and
/// no `VK_ERROR_INCOMPATIBLE_DRIVER` for an `apiVersion` above ours.
pub const ICD_INTERFACE_VERSION: u32 = 5;

/// Called by the loader before anything else.
///
/// # Safety
/// `p_supported_version` is null or points to a writable `u32` (loader contract).
#[no_mangle]
pub unsafe extern "system" fn vk_icdNegotiateLoaderICDInterfaceVersion(
    p_supported_version: *mut u32,
) -> vk::Result {
    logger::init();
    if p_supported_version.is_null() {
        return vk::Result::ERROR_INCOMPATIBLE_DRIVER;
    }
    // SAFETY: non-null, and the loader passes a valid `u32` (loader contract).
    let offered = unsafe { *p_supported_version };
    // Versions below 5 would oblige us to old behaviours (e.g. refusing apiVersion > 1.0).
    if offered < ICD_INTERFACE_VERSION {
        return vk::Result::ERROR_INCOMPATIBLE_DRIVER;
    }
    // SAFETY: as above.
    unsafe { *p_supported_version = ICD_INTERFACE_VERSION };
    vk::Result::SUCCESS
}

/// `vkGetInstanceProcAddr` as the loader calls it: every command we have, at every level.
///
/// # Safety
/// `p_name` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "system" fn vk_icdGetInstanceProcAddr(
    _instance: vk::Instance,
    p_name: *const c_char,
) -> vk::PFN_vkVoidFunction {
    // SAFETY: forwarded contract.
    let name = unsafe { name_bytes(p_name) }?;
    if name == b"vkGetInstanceProcAddr" {
        let f: vk::PFN_vkGetInstanceProcAddr = vk_icdGetInstanceProcAddr;
        // SAFETY: fn-pointer to fn-pointer cast; the caller casts back to the real type.
        return Some(unsafe {
            std::mem::transmute::<vk::PFN_vkGetInstanceProcAddr, unsafe extern "system" fn()>(f)
        });
    }
    entry_points::lookup(name).map(|(_, f)| f)
}

/// Physical-device commands the loader does not know by name (interface version ≥ 4).
///
/// # Safety
/// `p_name` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "system" fn vk_icdGetPhysicalDeviceProcAddr(
    _instance: vk::Instance,
    p_name: *const c_char,
) -> vk::PFN_vkVoidFunction {
    // SAFETY: forwarded contract.
    let name = unsafe { name_bytes(p_name) }?;
    match entry_points::lookup(name) {
        Some((entry_points::Level::PhysicalDevice, f)) => Some(f),
        _ => None,
    }
}

/// `vkGetDeviceProcAddr`: device-level commands only (Vulkan §4.1: other names give NULL).
///
/// # Safety
/// `p_name` is null or a NUL-terminated string.
pub(crate) unsafe fn device_proc_addr(p_name: *const c_char) -> vk::PFN_vkVoidFunction {
    // SAFETY: forwarded contract.
    let name = unsafe { name_bytes(p_name) }?;
    match entry_points::lookup(name) {
        Some((entry_points::Level::Device, f)) => Some(f),
        _ => None,
    }
}

/// # Safety
/// `p_name` is null or a NUL-terminated string that outlives the returned slice.
unsafe fn name_bytes<'a>(p_name: *const c_char) -> Option<&'a [u8]> {
    if p_name.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated (caller contract).
    Some(unsafe { CStr::from_ptr(p_name) }.to_bytes())
}
