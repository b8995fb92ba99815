//! VkInstance: creation, instance extensions, and the one physical device, found on first
//! enumeration by connecting to the device ([`crate::transport`]).

use crate::entry::{enumerate, guard, guard_void, slice};
use crate::error::{IcdError, IcdResult};
use crate::handle::{dispatchable, take_dispatchable, Dispatchable};
use crate::physical_device::PhysicalDevice;
use crate::transport::{Transport, TransportError};
use ash::vk;
use std::ffi::{c_char, CStr};
use std::sync::{Arc, OnceLock};

/// Instance extensions we implement.
pub(crate) const INSTANCE_EXTENSIONS: &[(&CStr, u32)] =
    &[(vk::KHR_GET_PHYSICAL_DEVICE_PROPERTIES2_NAME, 2)];

pub(crate) struct Instance {
    /// The physical device, once enumerated; `None` when no device could be reached.
    physical: OnceLock<Option<Box<Dispatchable<PhysicalDevice>>>>,
}

/// The connection to the device: the process-wide transport (tests inject a mock).
fn connect() -> Result<Arc<dyn Transport>, TransportError> {
    #[cfg(test)]
    return crate::tests::injected_transport();
    #[cfg(not(test))]
    crate::transport::connect_default()
}

impl Instance {
    fn physical_device(&self) -> Option<&Dispatchable<PhysicalDevice>> {
        self.physical
            .get_or_init(|| match connect() {
                Ok(t) => Some(Dispatchable::boxed(PhysicalDevice::new(t))),
                Err(e) => {
                    log::warn!("softgpu: no device, exposing no physical device: {e}");
                    None
                }
            })
            .as_deref()
    }
}

pub(crate) fn extension_properties(list: &[(&CStr, u32)]) -> Vec<vk::ExtensionProperties> {
    list.iter()
        .map(|(name, spec)| {
            let mut p = vk::ExtensionProperties {
                spec_version: *spec,
                ..Default::default()
            };
            for (d, s) in p.extension_name.iter_mut().zip(name.to_bytes()) {
                *d = *s as c_char;
            }
            p
        })
        .collect()
}

/// Checks that every requested extension is one of `list` (Vulkan §5: else
/// `VK_ERROR_EXTENSION_NOT_PRESENT`).
///
/// # Safety
/// `names` holds valid NUL-terminated strings (or nulls, which are refused).
pub(crate) unsafe fn check_extensions(
    names: &[*const c_char],
    list: &[(&CStr, u32)],
) -> IcdResult<()> {
    for &n in names {
        if n.is_null() {
            return Err(IcdError::vk(
                vk::Result::ERROR_EXTENSION_NOT_PRESENT,
                "null extension name",
            ));
        }
        // SAFETY: non-null, NUL-terminated (caller contract).
        let n = unsafe { CStr::from_ptr(n) };
        if !list.iter().any(|(e, _)| *e == n) {
            return Err(IcdError::vk(
                vk::Result::ERROR_EXTENSION_NOT_PRESENT,
                format!("extension {n:?} not supported"),
            ));
        }
    }
    Ok(())
}

/// # Safety
/// Vulkan valid usage for `vkCreateInstance`.
pub(crate) unsafe extern "system" fn create_instance(
    p_create_info: *const vk::InstanceCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_instance: *mut vk::Instance,
) -> vk::Result {
    crate::logger::init();
    guard("vkCreateInstance", || {
        // SAFETY: null or valid (valid usage).
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        // SAFETY: (pointer, count) from a valid create info.
        let exts = unsafe {
            slice(
                info.pp_enabled_extension_names,
                info.enabled_extension_count,
            )
        };
        // SAFETY: valid strings (valid usage).
        unsafe { check_extensions(exts, INSTANCE_EXTENSIONS) }?;
        if info.enabled_layer_count != 0 {
            // The loader implements layers; an ICD never sees them enabled.
            return Err(IcdError::vk(
                vk::Result::ERROR_LAYER_NOT_PRESENT,
                "layers requested from the ICD",
            ));
        }
        let instance = Dispatchable::boxed(Instance {
            physical: OnceLock::new(),
        });
        // SAFETY: output pointer, valid by valid usage; null checked inside.
        unsafe { crate::entry::write_out(p_instance, instance.handle()) }?;
        Box::leak(instance);
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyInstance`.
pub(crate) unsafe extern "system" fn destroy_instance(
    instance: vk::Instance,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyInstance", || {
        // SAFETY: null or our live instance, not used again (valid usage).
        drop(unsafe { take_dispatchable::<_, Instance>(instance) });
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkEnumerateInstanceExtensionProperties`.
pub(crate) unsafe extern "system" fn enumerate_instance_extension_properties(
    p_layer_name: *const c_char,
    p_property_count: *mut u32,
    p_properties: *mut vk::ExtensionProperties,
) -> vk::Result {
    guard("vkEnumerateInstanceExtensionProperties", || {
        if !p_layer_name.is_null() {
            return Err(IcdError::vk(
                vk::Result::ERROR_LAYER_NOT_PRESENT,
                "we have no layers",
            ));
        }
        // SAFETY: output array of *p_property_count (valid usage).
        Ok(unsafe {
            enumerate(
                p_property_count,
                p_properties,
                &extension_properties(INSTANCE_EXTENSIONS),
            )
        })
    })
}

/// # Safety
/// Vulkan valid usage for `vkEnumerateInstanceLayerProperties`.
pub(crate) unsafe extern "system" fn enumerate_instance_layer_properties(
    p_property_count: *mut u32,
    p_properties: *mut vk::LayerProperties,
) -> vk::Result {
    guard("vkEnumerateInstanceLayerProperties", || {
        // SAFETY: output array of *p_property_count (valid usage).
        Ok(unsafe { enumerate(p_property_count, p_properties, &[]) })
    })
}

/// # Safety
/// Vulkan valid usage for `vkEnumeratePhysicalDevices`.
pub(crate) unsafe extern "system" fn enumerate_physical_devices(
    instance: vk::Instance,
    p_physical_device_count: *mut u32,
    p_physical_devices: *mut vk::PhysicalDevice,
) -> vk::Result {
    guard("vkEnumeratePhysicalDevices", || {
        // SAFETY: our live instance (valid usage).
        let instance = unsafe { dispatchable::<_, Instance>(instance) }
            .ok_or_else(|| crate::handle::null_handle("instance"))?;
        let devices: Vec<vk::PhysicalDevice> = instance
            .physical_device()
            .map(|d| vk::PhysicalDevice::from_raw(d as *const _ as u64))
            .into_iter()
            .collect();
        // SAFETY: output array of *count (valid usage).
        Ok(unsafe { enumerate(p_physical_device_count, p_physical_devices, &devices) })
    })
}

use ash::vk::Handle as _;
