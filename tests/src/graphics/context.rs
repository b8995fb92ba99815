//! The graphics device: one instance (API 1.0), the first physical device, one graphics queue,
//! a resettable command pool, and the loaders of the extensions the scenes use when the driver
//! offers them (`VK_KHR_dynamic_rendering`, `VK_EXT_extended_dynamic_state`(2)). Runs on any ICD.

use std::ffi::{c_char, CStr};

use ash::vk;

use super::VkContext;
use crate::GpuError;

/// Device extensions enabled when the driver lists them: dynamic rendering and its chain of
/// prerequisites for a 1.0 device, and the extended dynamic states.
const WANTED_DEVICE_EXTENSIONS: [&CStr; 7] = [
    c"VK_KHR_dynamic_rendering",
    c"VK_KHR_create_renderpass2",
    c"VK_KHR_depth_stencil_resolve",
    c"VK_KHR_multiview",
    c"VK_KHR_maintenance2",
    c"VK_EXT_extended_dynamic_state",
    c"VK_EXT_extended_dynamic_state2",
];

/// A graphics-capable device with its queue and command pool.
pub struct GraphicsContext {
    _entry: ash::Entry,
    pub instance: ash::Instance,
    pub physical_device: vk::PhysicalDevice,
    pub device: ash::Device,
    pub queue: vk::Queue,
    pub queue_family: u32,
    pub properties: vk::PhysicalDeviceProperties,
    memory: vk::PhysicalDeviceMemoryProperties,
    command_pool: vk::CommandPool,
    /// Whether `multiDrawIndirect` is enabled (indirect draws with a count above 1).
    pub multi_draw_indirect: bool,
    /// `VK_KHR_dynamic_rendering`, when the driver offers it.
    pub dynamic_rendering: Option<ash::khr::dynamic_rendering::Device>,
    /// `VK_EXT_extended_dynamic_state`, when the driver offers it.
    pub extended_dynamic_state: Option<ash::ext::extended_dynamic_state::Device>,
    /// `VK_EXT_extended_dynamic_state2`, when the driver offers it.
    pub extended_dynamic_state2: Option<ash::ext::extended_dynamic_state2::Device>,
}

impl GraphicsContext {
    /// Loads the system Vulkan loader and opens the first physical device with a graphics queue.
    pub fn new() -> Result<GraphicsContext, GpuError> {
        // SAFETY: loading libvulkan.so.1 runs its initialisers; the loader is designed to be
        // loaded this way.
        let entry = unsafe { ash::Entry::load() }.map_err(|e| GpuError::Load(e.to_string()))?;
        // SAFETY: `entry` is a loaded loader.
        let instance_exts = unsafe { entry.enumerate_instance_extension_properties(None) }
            .ctx("vkEnumerateInstanceExtensionProperties")?;
        let props2 = c"VK_KHR_get_physical_device_properties2";
        let enabled_instance: Vec<*const c_char> = instance_exts
            .iter()
            .filter(|e| e.extension_name_as_c_str() == Ok(props2))
            .map(|_| props2.as_ptr())
            .collect();
        let app = vk::ApplicationInfo::default()
            .application_name(c"softgpu-e2e-graphics")
            .api_version(vk::API_VERSION_1_0);
        let info = vk::InstanceCreateInfo::default()
            .application_info(&app)
            .enabled_extension_names(&enabled_instance);
        // SAFETY: `info` and what it points to live across the call.
        let instance = unsafe { entry.create_instance(&info, None) }.ctx("vkCreateInstance")?;
        match Self::open(entry, instance.clone()) {
            Ok(ctx) => Ok(ctx),
            Err(e) => {
                // SAFETY: no child object of the instance exists on this path.
                unsafe { instance.destroy_instance(None) };
                Err(e)
            }
        }
    }

    fn open(entry: ash::Entry, instance: ash::Instance) -> Result<GraphicsContext, GpuError> {
        // SAFETY: `instance` is live.
        let pds =
            unsafe { instance.enumerate_physical_devices() }.ctx("vkEnumeratePhysicalDevices")?;
        let physical_device = *pds
            .first()
            .ok_or_else(|| GpuError::Setup("no physical device".into()))?;
        // SAFETY: `physical_device` came from this instance.
        let properties = unsafe { instance.get_physical_device_properties(physical_device) };
        // SAFETY: as above.
        let families =
            unsafe { instance.get_physical_device_queue_family_properties(physical_device) };
        let queue_family = families
            .iter()
            .position(|f| f.queue_flags.contains(vk::QueueFlags::GRAPHICS))
            .ok_or_else(|| GpuError::Setup("no graphics queue family".into()))?
            as u32;
        // SAFETY: as above.
        let memory = unsafe { instance.get_physical_device_memory_properties(physical_device) };
        // SAFETY: as above.
        let offered = unsafe { instance.enumerate_device_extension_properties(physical_device) }
            .ctx("vkEnumerateDeviceExtensionProperties")?;
        let has = |name: &CStr| {
            offered
                .iter()
                .any(|e| e.extension_name_as_c_str() == Ok(name))
        };
        let enabled: Vec<&CStr> = WANTED_DEVICE_EXTENSIONS
            .iter()
            .copied()
            .filter(|n| has(n))
            .collect();
        let enabled_ptrs: Vec<*const c_char> = enabled.iter().map(|n| n.as_ptr()).collect();
        let want_dr = enabled.contains(&c"VK_KHR_dynamic_rendering");
        let want_eds = enabled.contains(&c"VK_EXT_extended_dynamic_state");
        let want_eds2 = enabled.contains(&c"VK_EXT_extended_dynamic_state2");
        let mut dr_features =
            vk::PhysicalDeviceDynamicRenderingFeaturesKHR::default().dynamic_rendering(true);
        let mut eds_features = vk::PhysicalDeviceExtendedDynamicStateFeaturesEXT::default()
            .extended_dynamic_state(true);
        let mut eds2_features = vk::PhysicalDeviceExtendedDynamicState2FeaturesEXT::default()
            .extended_dynamic_state2(true);
        let priorities = [1.0f32];
        let queue_info = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(queue_family)
            .queue_priorities(&priorities)];
        // SAFETY: as above.
        let supported = unsafe { instance.get_physical_device_features(physical_device) };
        let multi_draw_indirect = supported.multi_draw_indirect == vk::TRUE;
        let vertex_stores = supported.vertex_pipeline_stores_and_atomics == vk::TRUE;
        let fragment_stores = supported.fragment_stores_and_atomics == vk::TRUE;
        let features = vk::PhysicalDeviceFeatures::default()
            .image_cube_array(supported.image_cube_array == vk::TRUE)
            .shader_storage_image_read_without_format(
                supported.shader_storage_image_read_without_format == vk::TRUE,
            )
            .shader_storage_image_write_without_format(
                supported.shader_storage_image_write_without_format == vk::TRUE,
            )
            .shader_uniform_buffer_array_dynamic_indexing(
                supported.shader_uniform_buffer_array_dynamic_indexing == vk::TRUE,
            )
            .shader_storage_buffer_array_dynamic_indexing(
                supported.shader_storage_buffer_array_dynamic_indexing == vk::TRUE,
            )
            .multi_draw_indirect(multi_draw_indirect)
            .vertex_pipeline_stores_and_atomics(vertex_stores)
            .fragment_stores_and_atomics(fragment_stores);
        let mut device_info = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queue_info)
            .enabled_extension_names(&enabled_ptrs)
            .enabled_features(&features);
        if want_dr {
            device_info = device_info.push_next(&mut dr_features);
        }
        if want_eds {
            device_info = device_info.push_next(&mut eds_features);
        }
        if want_eds2 {
            device_info = device_info.push_next(&mut eds2_features);
        }
        // SAFETY: the create info and its chain live across the call.
        let device = unsafe { instance.create_device(physical_device, &device_info, None) }
            .ctx("vkCreateDevice")?;
        // SAFETY: one queue was requested in `queue_family`.
        let queue = unsafe { device.get_device_queue(queue_family, 0) };
        let pool_info = vk::CommandPoolCreateInfo::default()
            .queue_family_index(queue_family)
            .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER);
        // SAFETY: `device` is live.
        let command_pool = match unsafe { device.create_command_pool(&pool_info, None) } {
            Ok(p) => p,
            Err(result) => {
                // SAFETY: nothing was created on the device yet.
                unsafe { device.destroy_device(None) };
                return Err(GpuError::Vk {
                    call: "vkCreateCommandPool",
                    result,
                });
            }
        };
        let dynamic_rendering =
            want_dr.then(|| ash::khr::dynamic_rendering::Device::new(&instance, &device));
        let extended_dynamic_state =
            want_eds.then(|| ash::ext::extended_dynamic_state::Device::new(&instance, &device));
        let extended_dynamic_state2 =
            want_eds2.then(|| ash::ext::extended_dynamic_state2::Device::new(&instance, &device));
        Ok(GraphicsContext {
            _entry: entry,
            instance,
            physical_device,
            device,
            queue,
            queue_family,
            properties,
            memory,
            command_pool,
            multi_draw_indirect,
            dynamic_rendering,
            extended_dynamic_state,
            extended_dynamic_state2,
        })
    }

    /// The device name the driver reports.
    pub fn name(&self) -> String {
        self.properties
            .device_name_as_c_str()
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The first memory type allowed by `type_bits` with all of `wanted`.
    pub fn memory_type(
        &self,
        type_bits: u32,
        wanted: vk::MemoryPropertyFlags,
    ) -> Result<u32, GpuError> {
        (0..self
            .memory
            .memory_type_count
            .min(vk::MAX_MEMORY_TYPES as u32))
            .find(|&i| {
                type_bits & (1 << i) != 0
                    && self.memory.memory_types[i as usize]
                        .property_flags
                        .contains(wanted)
            })
            .ok_or_else(|| {
                GpuError::Setup(format!("no memory type in {type_bits:#x} with {wanted:?}"))
            })
    }

    /// The optimal-tiling features of `format`.
    pub fn format_features(&self, format: vk::Format) -> vk::FormatFeatureFlags {
        // SAFETY: the physical device belongs to this instance.
        unsafe {
            self.instance
                .get_physical_device_format_properties(self.physical_device, format)
        }
        .optimal_tiling_features
    }

    /// Records a one-time command buffer with `record`, submits it with a fence and waits.
    /// Returns the wall time of submit + wait.
    pub fn submit_and_wait(
        &self,
        record: impl FnOnce(vk::CommandBuffer) -> Result<(), GpuError>,
    ) -> Result<std::time::Duration, GpuError> {
        let d = &self.device;
        let alloc = vk::CommandBufferAllocateInfo::default()
            .command_pool(self.command_pool)
            .level(vk::CommandBufferLevel::PRIMARY)
            .command_buffer_count(1);
        // SAFETY: the pool is live and used by this thread only (the context is not Sync).
        let cb = unsafe { d.allocate_command_buffers(&alloc) }.ctx("vkAllocateCommandBuffers")?[0];
        let cbs = [cb];
        let result = self.record_submit_wait(cb, record);
        // SAFETY: the work is done (or was never submitted), so the command buffer is idle.
        unsafe { d.free_command_buffers(self.command_pool, &cbs) };
        result
    }

    fn record_submit_wait(
        &self,
        cb: vk::CommandBuffer,
        record: impl FnOnce(vk::CommandBuffer) -> Result<(), GpuError>,
    ) -> Result<std::time::Duration, GpuError> {
        let d = &self.device;
        let begin = vk::CommandBufferBeginInfo::default()
            .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT);
        // SAFETY: fresh command buffer.
        unsafe { d.begin_command_buffer(cb, &begin) }.ctx("vkBeginCommandBuffer")?;
        let recorded = record(cb);
        // SAFETY: recording; ended even when `record` failed so the buffer can be freed.
        let ended = unsafe { d.end_command_buffer(cb) }.ctx("vkEndCommandBuffer");
        recorded?;
        ended?;
        // SAFETY: `d` is live.
        let fence = unsafe { d.create_fence(&vk::FenceCreateInfo::default(), None) }
            .ctx("vkCreateFence")?;
        let cbs = [cb];
        let submit = [vk::SubmitInfo::default().command_buffers(&cbs)];
        let start = std::time::Instant::now();
        // SAFETY: executable command buffer, unsignalled fence.
        let result = unsafe { d.queue_submit(self.queue, &submit, fence) }
            .ctx("vkQueueSubmit")
            .and_then(|()| {
                // SAFETY: the fence was submitted above.
                unsafe { d.wait_for_fences(&[fence], true, u64::MAX) }.ctx("vkWaitForFences")
            });
        let elapsed = start.elapsed();
        // SAFETY: the work is done (or failed to submit), so the fence is idle.
        unsafe { d.destroy_fence(fence, None) };
        result.map(|()| elapsed)
    }
}

impl Drop for GraphicsContext {
    fn drop(&mut self) {
        // SAFETY: every object made from this device borrows the context (lifetimes), so all
        // are gone; every submission was waited for.
        unsafe {
            self.device.destroy_command_pool(self.command_pool, None);
            self.device.destroy_device(None);
            self.instance.destroy_instance(None);
        }
    }
}
