//! VkPhysicalDevice: the one softgpu device, described honestly from the capset the device
//! sent and from the limits both sides share (`protocol::image`, the renderer's). Graphics is
//! single-sample, vertex + fragment only. Samplers, sampled and storage images and texel
//! buffers are offered (no anisotropy). Format queries live in [`crate::format`].

use crate::entry::{enumerate, guard, guard_void, walk_chain, write_out};
use crate::error::IcdError;
use crate::handle::dispatchable;
use crate::transport::Transport;
use ash::vk;
use protocol::descriptor::{
    MAX_PER_STAGE_RESOURCES, MAX_STORAGE_BUFFERS_DYNAMIC, MAX_UNIFORM_BUFFERS_DYNAMIC, PER_LAYOUT,
    PER_STAGE,
};
use protocol::image::{MAX_IMAGE_ARRAY_LAYERS, MAX_IMAGE_DIMENSION_2D, MAX_IMAGE_DIMENSION_3D};
use protocol::sampler::{
    MAX_SAMPLER_ALLOCATION_COUNT, MAX_SAMPLER_ANISOTROPY, MAX_SAMPLER_LOD_BIAS,
    MAX_TEXEL_BUFFER_ELEMENTS, MIN_TEXEL_BUFFER_OFFSET_ALIGNMENT,
};
use std::ffi::{c_char, CStr};
use std::sync::Arc;

/// PCI ids of the virtio-gpu device the guest sees (`lspci`: 1af4:1050): softgpu *is* a
/// virtio-gpu device, the ids are registered to it, and no application special-cases them.
/// (VK_VENDOR_ID_MESA would claim a driver stack we are not.)
pub(crate) const VENDOR_ID: u32 = 0x1af4;
pub(crate) const DEVICE_ID: u32 = 0x1050;
/// The same on every transport: the device is one virtio-gpu device, however the ICD reaches it.
pub(crate) const DEVICE_NAME: &str = "softgpu (CPU, virtio-gpu)";
/// API 1.0: newer functionality is exposed through KHR extensions.
pub(crate) const API_VERSION: u32 = vk::make_api_version(0, 1, 0, vk::HEADER_VERSION);
pub(crate) const DRIVER_VERSION: u32 = vk::make_api_version(0, 0, 1, 0);
/// Identifies our (empty) pipeline cache format; changes with the driver version.
pub(crate) const PIPELINE_CACHE_UUID: [u8; 16] = *b"softgpu-icd-0.1\0";
/// Colour attachments a subpass / dynamic rendering may have (the renderer's
/// MAX_COLOR_ATTACHMENTS).
pub(crate) const MAX_COLOR_ATTACHMENTS: u32 = protocol::descriptor::MAX_COLOR_ATTACHMENTS;
/// Alignment of every buffer and memory sub-allocation (≥ every min*OffsetAlignment).
pub(crate) const BUFFER_ALIGNMENT: u64 = 256;

pub(crate) struct PhysicalDevice {
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) capset: protocol::Capset,
}

impl PhysicalDevice {
    pub(crate) fn new(transport: Arc<dyn Transport>) -> PhysicalDevice {
        let capset = *transport.capset();
        PhysicalDevice { transport, capset }
    }

    pub(crate) fn features() -> vk::PhysicalDeviceFeatures {
        vk::PhysicalDeviceFeatures {
            // The JIT bounds-checks every buffer access (DESIGN §4).
            robust_buffer_access: vk::TRUE,
            // The SPIR-V front end accepts Int16 and Int64, not Float64.
            shader_int64: vk::TRUE,
            shader_int16: vk::TRUE,
            // Graphics (issue 6): what the rasterizer executes.
            full_draw_index_uint32: vk::TRUE,
            independent_blend: vk::TRUE,
            depth_clamp: vk::TRUE,
            depth_bias_clamp: vk::TRUE,
            depth_bounds: vk::TRUE,
            large_points: vk::TRUE,
            multi_draw_indirect: vk::TRUE,
            draw_indirect_first_instance: vk::TRUE,
            // Storage buffers in both graphics stages, with helper lanes making no stores
            // (tests/tests/graphics_storage.rs).
            vertex_pipeline_stores_and_atomics: vk::TRUE,
            fragment_stores_and_atomics: vk::TRUE,
            // Textures (issue 7): every storage-capable format the format table lists is
            // usable in a storage image (protocol::format). Anisotropic filtering is not
            // offered (samplerAnisotropy stays false).
            shader_storage_image_extended_formats: vk::TRUE,
            // `tex[i]` / `blocks[i]` with a dynamically uniform `i`: every element of the
            // array has a slot, the JIT bounds-checks the index (null descriptor past the
            // end; tests/tests/buffer_arrays.rs, jit-host/tests/buffer_array_exec.rs).
            shader_sampled_image_array_dynamic_indexing: vk::TRUE,
            shader_storage_image_array_dynamic_indexing: vk::TRUE,
            shader_uniform_buffer_array_dynamic_indexing: vk::TRUE,
            shader_storage_buffer_array_dynamic_indexing: vk::TRUE,
            // Storage images without a format: loads and stores convert through the bound
            // view's format (scene storage-image-unformatted).
            shader_storage_image_read_without_format: vk::TRUE,
            shader_storage_image_write_without_format: vk::TRUE,
            // CUBE_ARRAY views and samplerCubeArray (scenes cube-array-*).
            image_cube_array: vk::TRUE,
            ..Default::default()
        }
    }

    pub(crate) fn properties(&self) -> vk::PhysicalDeviceProperties {
        let c = &self.capset;
        let limits = vk::PhysicalDeviceLimits {
            max_uniform_buffer_range: c.max_uniform_buffer_range,
            max_storage_buffer_range: c.max_storage_buffer_range,
            max_push_constants_size: c.max_push_constants_size,
            // Device memory objects are sub-allocations: only host memory bounds their count.
            max_memory_allocation_count: 1 << 20,
            buffer_image_granularity: 1,
            max_bound_descriptor_sets: c.max_bound_descriptor_sets,
            // Descriptor limits (protocol::descriptor, which the device enforces).
            max_per_stage_descriptor_uniform_buffers: PER_STAGE.uniform_buffers,
            max_per_stage_descriptor_storage_buffers: PER_STAGE.storage_buffers,
            max_per_stage_descriptor_samplers: PER_STAGE.samplers,
            max_per_stage_descriptor_sampled_images: PER_STAGE.sampled_images,
            max_per_stage_descriptor_storage_images: PER_STAGE.storage_images,
            max_per_stage_descriptor_input_attachments: PER_STAGE.input_attachments,
            max_per_stage_resources: MAX_PER_STAGE_RESOURCES,
            max_descriptor_set_uniform_buffers: PER_LAYOUT.uniform_buffers,
            max_descriptor_set_uniform_buffers_dynamic: MAX_UNIFORM_BUFFERS_DYNAMIC,
            max_descriptor_set_storage_buffers: PER_LAYOUT.storage_buffers,
            max_descriptor_set_storage_buffers_dynamic: MAX_STORAGE_BUFFERS_DYNAMIC,
            max_descriptor_set_samplers: PER_LAYOUT.samplers,
            max_descriptor_set_sampled_images: PER_LAYOUT.sampled_images,
            max_descriptor_set_storage_images: PER_LAYOUT.storage_images,
            max_descriptor_set_input_attachments: PER_LAYOUT.input_attachments,
            // Samplers and texel buffers (protocol::sampler, shared with the device).
            max_sampler_allocation_count: MAX_SAMPLER_ALLOCATION_COUNT,
            max_sampler_lod_bias: MAX_SAMPLER_LOD_BIAS,
            max_sampler_anisotropy: MAX_SAMPLER_ANISOTROPY,
            max_texel_buffer_elements: MAX_TEXEL_BUFFER_ELEMENTS as u32,
            min_texel_buffer_offset_alignment: MIN_TEXEL_BUFFER_OFFSET_ALIGNMENT,
            // Vulkan's minimum ranges for constant texel offsets (OpImage* ConstOffset(s)).
            min_texel_offset: -8,
            max_texel_offset: 7,
            min_texel_gather_offset: -8,
            max_texel_gather_offset: 7,
            max_compute_shared_memory_size: c.max_compute_shared_memory_size,
            max_compute_work_group_count: c.max_compute_workgroup_count,
            max_compute_work_group_invocations: c.max_compute_workgroup_invocations,
            max_compute_work_group_size: c.max_compute_workgroup_size,
            // Mapped pointers are block base (page-aligned) + a 256-aligned offset.
            min_memory_map_alignment: BUFFER_ALIGNMENT as usize,
            min_uniform_buffer_offset_alignment: u64::from(c.min_uniform_buffer_offset_alignment),
            min_storage_buffer_offset_alignment: u64::from(c.min_storage_buffer_offset_alignment),
            max_draw_indirect_count: u32::MAX,
            max_draw_indexed_index_value: u32::MAX,
            max_image_dimension1_d: MAX_IMAGE_DIMENSION_2D,
            max_image_dimension2_d: MAX_IMAGE_DIMENSION_2D,
            max_image_dimension3_d: MAX_IMAGE_DIMENSION_3D,
            max_image_dimension_cube: MAX_IMAGE_DIMENSION_2D,
            max_image_array_layers: MAX_IMAGE_ARRAY_LAYERS,
            max_framebuffer_width: MAX_IMAGE_DIMENSION_2D,
            max_framebuffer_height: MAX_IMAGE_DIMENSION_2D,
            max_framebuffer_layers: MAX_IMAGE_ARRAY_LAYERS,
            framebuffer_color_sample_counts: vk::SampleCountFlags::TYPE_1,
            framebuffer_depth_sample_counts: vk::SampleCountFlags::TYPE_1,
            framebuffer_stencil_sample_counts: vk::SampleCountFlags::TYPE_1,
            framebuffer_no_attachments_sample_counts: vk::SampleCountFlags::TYPE_1,
            sampled_image_color_sample_counts: vk::SampleCountFlags::TYPE_1,
            sampled_image_integer_sample_counts: vk::SampleCountFlags::TYPE_1,
            sampled_image_depth_sample_counts: vk::SampleCountFlags::TYPE_1,
            sampled_image_stencil_sample_counts: vk::SampleCountFlags::TYPE_1,
            storage_image_sample_counts: vk::SampleCountFlags::TYPE_1,
            max_sample_mask_words: 1,
            max_color_attachments: MAX_COLOR_ATTACHMENTS,
            max_fragment_output_attachments: MAX_COLOR_ATTACHMENTS,
            max_fragment_combined_output_resources: MAX_COLOR_ATTACHMENTS + 1024,
            // The renderer's vertex fetch limits (renderer::draw::state).
            max_vertex_input_attributes: 32,
            max_vertex_input_bindings: 32,
            max_vertex_input_attribute_offset: 2047,
            max_vertex_input_binding_stride: 2048,
            max_vertex_output_components: 128,
            max_fragment_input_components: 128,
            max_viewports: 1,
            max_viewport_dimensions: [MAX_IMAGE_DIMENSION_2D; 2],
            // Vulkan §33.2's minimum: [-2 × maxViewportDimensions, 2 × … − 1].
            viewport_bounds_range: [
                -2.0 * MAX_IMAGE_DIMENSION_2D as f32,
                2.0 * MAX_IMAGE_DIMENSION_2D as f32 - 1.0,
            ],
            // Triangle setup is fixed point with 8 sub-pixel bits (DESIGN §6).
            viewport_sub_pixel_bits: 8,
            sub_pixel_precision_bits: 8,
            sub_texel_precision_bits: 4,
            mipmap_precision_bits: 4,
            // Points up to the rasterizer's MAX_POINT_SIZE; lines are 1 pixel wide.
            point_size_range: [1.0, 64.0],
            point_size_granularity: 0.125,
            line_width_range: [1.0, 1.0],
            line_width_granularity: 0.0,
            strict_lines: vk::FALSE,
            standard_sample_locations: vk::TRUE,
            timestamp_compute_and_graphics: vk::TRUE,
            // CmdWriteTimestamp writes nanoseconds.
            timestamp_period: 1.0,
            discrete_queue_priorities: 2,
            optimal_buffer_copy_offset_alignment: 1,
            optimal_buffer_copy_row_pitch_alignment: 1,
            // Memory is truly coherent; this only bounds flush ranges.
            non_coherent_atom_size: 64,
            ..Default::default()
        };
        let mut p = vk::PhysicalDeviceProperties {
            api_version: API_VERSION,
            driver_version: DRIVER_VERSION,
            vendor_id: VENDOR_ID,
            device_id: DEVICE_ID,
            device_type: vk::PhysicalDeviceType::CPU,
            limits,
            pipeline_cache_uuid: PIPELINE_CACHE_UUID,
            ..Default::default()
        };
        for (d, s) in p.device_name.iter_mut().zip(DEVICE_NAME.bytes()) {
            *d = s as c_char;
        }
        p
    }

    pub(crate) fn queue_family() -> vk::QueueFamilyProperties {
        vk::QueueFamilyProperties {
            queue_flags: vk::QueueFlags::GRAPHICS
                | vk::QueueFlags::COMPUTE
                | vk::QueueFlags::TRANSFER,
            queue_count: 1,
            timestamp_valid_bits: 64,
            min_image_transfer_granularity: vk::Extent3D {
                width: 1,
                height: 1,
                depth: 1,
            },
        }
    }

    pub(crate) fn memory_properties(&self) -> vk::PhysicalDeviceMemoryProperties {
        let mut m = vk::PhysicalDeviceMemoryProperties {
            memory_type_count: 1,
            memory_heap_count: 1,
            ..Default::default()
        };
        m.memory_types[0] = vk::MemoryType {
            property_flags: vk::MemoryPropertyFlags::DEVICE_LOCAL
                | vk::MemoryPropertyFlags::HOST_VISIBLE
                | vk::MemoryPropertyFlags::HOST_COHERENT
                | vk::MemoryPropertyFlags::HOST_CACHED,
            heap_index: 0,
        };
        m.memory_heaps[0] = vk::MemoryHeap {
            size: self.capset.device_memory_budget,
            flags: vk::MemoryHeapFlags::DEVICE_LOCAL,
        };
        m
    }
}

/// The physical device behind a handle.
///
/// # Safety
/// `h` is null or a physical device we enumerated, whose instance is alive.
pub(crate) unsafe fn physical<'a>(h: vk::PhysicalDevice) -> Result<&'a PhysicalDevice, IcdError> {
    // SAFETY: caller contract.
    unsafe { dispatchable::<_, PhysicalDevice>(h) }
        .ok_or_else(|| crate::handle::null_handle("physical device"))
}

/// Fills the extension structures we know in a `*2` query's `pNext` chain; skips the rest.
///
/// # Safety
/// `p_next` heads a valid chain of output structures.
unsafe fn fill_feature_chain(p_next: *mut std::ffi::c_void) {
    // SAFETY: caller contract; each structure is cast to the type its sType names.
    unsafe {
        walk_chain(p_next, |ty, p| match ty {
            vk::StructureType::PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES => {
                (*(p as *mut vk::PhysicalDeviceTimelineSemaphoreFeatures<'_>)).timeline_semaphore =
                    vk::TRUE;
            }
            vk::StructureType::PHYSICAL_DEVICE_SYNCHRONIZATION_2_FEATURES => {
                (*(p as *mut vk::PhysicalDeviceSynchronization2Features<'_>)).synchronization2 =
                    vk::TRUE;
            }
            vk::StructureType::PHYSICAL_DEVICE_DYNAMIC_RENDERING_FEATURES => {
                (*(p as *mut vk::PhysicalDeviceDynamicRenderingFeatures<'_>)).dynamic_rendering =
                    vk::TRUE;
            }
            vk::StructureType::PHYSICAL_DEVICE_EXTENDED_DYNAMIC_STATE_FEATURES_EXT => {
                (*(p as *mut vk::PhysicalDeviceExtendedDynamicStateFeaturesEXT<'_>))
                    .extended_dynamic_state = vk::TRUE;
            }
            vk::StructureType::PHYSICAL_DEVICE_EXTENDED_DYNAMIC_STATE_2_FEATURES_EXT => {
                let f = &mut *(p as *mut vk::PhysicalDeviceExtendedDynamicState2FeaturesEXT<'_>);
                f.extended_dynamic_state2 = vk::TRUE;
                f.extended_dynamic_state2_logic_op = vk::FALSE;
                f.extended_dynamic_state2_patch_control_points = vk::FALSE;
            }
            vk::StructureType::PHYSICAL_DEVICE_MULTIVIEW_FEATURES => {
                // Views are rendered one after the other into their layers; there are no
                // geometry or tessellation stages to combine them with.
                let f = &mut *(p as *mut vk::PhysicalDeviceMultiviewFeatures<'_>);
                f.multiview = vk::TRUE;
                f.multiview_geometry_shader = vk::FALSE;
                f.multiview_tessellation_shader = vk::FALSE;
            }
            _ => {}
        })
    }
}

/// # Safety
/// `p_next` heads a valid chain of output structures.
unsafe fn fill_property_chain(p_next: *mut std::ffi::c_void) {
    // SAFETY: caller contract; each structure is cast to the type its sType names.
    unsafe {
        walk_chain(p_next, |ty, p| match ty {
            vk::StructureType::PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_PROPERTIES => {
                (*(p as *mut vk::PhysicalDeviceTimelineSemaphoreProperties<'_>))
                    .max_timeline_semaphore_value_difference = u64::MAX;
            }
            vk::StructureType::PHYSICAL_DEVICE_DEPTH_STENCIL_RESOLVE_PROPERTIES => {
                // Resolves need a multisampled source, which is never offered; the spec still
                // requires SAMPLE_ZERO in both sets.
                let r = &mut *(p as *mut vk::PhysicalDeviceDepthStencilResolveProperties<'_>);
                r.supported_depth_resolve_modes = vk::ResolveModeFlags::SAMPLE_ZERO;
                r.supported_stencil_resolve_modes = vk::ResolveModeFlags::SAMPLE_ZERO;
                r.independent_resolve_none = vk::FALSE;
                r.independent_resolve = vk::FALSE;
            }
            vk::StructureType::PHYSICAL_DEVICE_MULTIVIEW_PROPERTIES => {
                let m = &mut *(p as *mut vk::PhysicalDeviceMultiviewProperties<'_>);
                m.max_multiview_view_count = MAX_MULTIVIEW_VIEW_COUNT;
                m.max_multiview_instance_index = MAX_MULTIVIEW_INSTANCE_INDEX;
            }
            vk::StructureType::PHYSICAL_DEVICE_POINT_CLIPPING_PROPERTIES => {
                // Points are clipped by their centre against the view volume, then their
                // squares by the scissor/viewport: VK_KHR_maintenance2's ALL_CLIP_PLANES.
                (*(p as *mut vk::PhysicalDevicePointClippingProperties<'_>))
                    .point_clipping_behavior = vk::PointClippingBehavior::ALL_CLIP_PLANES;
            }
            _ => {}
        })
    }
}

macro_rules! physical_query {
    ($name:literal, $pd:ident, $body:expr) => {
        guard_void($name, || {
            // SAFETY: a physical device we enumerated (valid usage).
            let $pd = unsafe { physical($pd) }?;
            $body
        })
    };
}

/// # Safety
/// Vulkan valid usage for `vkGetPhysicalDeviceFeatures`.
pub(crate) unsafe extern "system" fn get_physical_device_features(
    pd: vk::PhysicalDevice,
    p_features: *mut vk::PhysicalDeviceFeatures,
) {
    physical_query!("vkGetPhysicalDeviceFeatures", pd, {
        let _ = pd;
        // SAFETY: output pointer (valid usage; null checked).
        unsafe { write_out(p_features, PhysicalDevice::features()) }
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetPhysicalDeviceFeatures2`.
pub(crate) unsafe extern "system" fn get_physical_device_features2_khr(
    pd: vk::PhysicalDevice,
    p_features: *mut vk::PhysicalDeviceFeatures2<'_>,
) {
    physical_query!("vkGetPhysicalDeviceFeatures2KHR", pd, {
        let _ = pd;
        // SAFETY: output structure (valid usage; null checked).
        let f = unsafe { p_features.as_mut() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null features")
        })?;
        f.features = PhysicalDevice::features();
        // SAFETY: the app's valid chain.
        unsafe { fill_feature_chain(f.p_next) };
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetPhysicalDeviceProperties`.
pub(crate) unsafe extern "system" fn get_physical_device_properties(
    pd: vk::PhysicalDevice,
    p_properties: *mut vk::PhysicalDeviceProperties,
) {
    // SAFETY: output pointer (valid usage; null checked).
    physical_query!("vkGetPhysicalDeviceProperties", pd, unsafe {
        write_out(p_properties, pd.properties())
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetPhysicalDeviceProperties2`.
pub(crate) unsafe extern "system" fn get_physical_device_properties2_khr(
    pd: vk::PhysicalDevice,
    p_properties: *mut vk::PhysicalDeviceProperties2<'_>,
) {
    physical_query!("vkGetPhysicalDeviceProperties2KHR", pd, {
        // SAFETY: output structure (valid usage; null checked).
        let p = unsafe { p_properties.as_mut() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null properties")
        })?;
        p.properties = pd.properties();
        // SAFETY: the app's valid chain.
        unsafe { fill_property_chain(p.p_next) };
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetPhysicalDeviceQueueFamilyProperties`.
pub(crate) unsafe extern "system" fn get_physical_device_queue_family_properties(
    pd: vk::PhysicalDevice,
    p_count: *mut u32,
    p_properties: *mut vk::QueueFamilyProperties,
) {
    physical_query!("vkGetPhysicalDeviceQueueFamilyProperties", pd, {
        let _ = pd;
        // SAFETY: output array of *p_count (valid usage).
        let _ = unsafe { enumerate(p_count, p_properties, &[PhysicalDevice::queue_family()]) };
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetPhysicalDeviceQueueFamilyProperties2`.
pub(crate) unsafe extern "system" fn get_physical_device_queue_family_properties2_khr(
    pd: vk::PhysicalDevice,
    p_count: *mut u32,
    p_properties: *mut vk::QueueFamilyProperties2<'_>,
) {
    physical_query!("vkGetPhysicalDeviceQueueFamilyProperties2KHR", pd, {
        let _ = pd;
        if p_count.is_null() {
            return Err(IcdError::vk(
                vk::Result::ERROR_INITIALIZATION_FAILED,
                "null count",
            ));
        }
        if p_properties.is_null() {
            // SAFETY: non-null count pointer.
            unsafe { *p_count = 1 };
            return Ok(());
        }
        // SAFETY: non-null count pointer.
        if unsafe { *p_count } >= 1 {
            // SAFETY: the app's array holds ≥ 1 element; only the core part is written, its
            // sType/pNext stay the app's.
            unsafe { (*p_properties).queue_family_properties = PhysicalDevice::queue_family() };
            // SAFETY: as above.
            unsafe { *p_count = 1 };
        }
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetPhysicalDeviceMemoryProperties`.
pub(crate) unsafe extern "system" fn get_physical_device_memory_properties(
    pd: vk::PhysicalDevice,
    p_properties: *mut vk::PhysicalDeviceMemoryProperties,
) {
    // SAFETY: output pointer (valid usage; null checked).
    physical_query!("vkGetPhysicalDeviceMemoryProperties", pd, unsafe {
        write_out(p_properties, pd.memory_properties())
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetPhysicalDeviceMemoryProperties2`.
pub(crate) unsafe extern "system" fn get_physical_device_memory_properties2_khr(
    pd: vk::PhysicalDevice,
    p_properties: *mut vk::PhysicalDeviceMemoryProperties2<'_>,
) {
    physical_query!("vkGetPhysicalDeviceMemoryProperties2KHR", pd, {
        // SAFETY: output structure (valid usage; null checked).
        let p = unsafe { p_properties.as_mut() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null properties")
        })?;
        p.memory_properties = pd.memory_properties();
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetPhysicalDeviceSparseImageFormatProperties`.
pub(crate) unsafe extern "system" fn get_physical_device_sparse_image_format_properties(
    pd: vk::PhysicalDevice,
    _format: vk::Format,
    _ty: vk::ImageType,
    _samples: vk::SampleCountFlags,
    _usage: vk::ImageUsageFlags,
    _tiling: vk::ImageTiling,
    p_count: *mut u32,
    p_properties: *mut vk::SparseImageFormatProperties,
) {
    physical_query!("vkGetPhysicalDeviceSparseImageFormatProperties", pd, {
        let _ = pd;
        // SAFETY: output array of *p_count (valid usage). No sparse support: zero entries.
        let _ = unsafe { enumerate(p_count, p_properties, &[]) };
        Ok(())
    })
}

/// `VkPhysicalDeviceMultiviewProperties::maxMultiviewViewCount` (the spec asks for ≥ 6): the
/// protocol's, which the device enforces.
pub(crate) use protocol::graphics::MAX_MULTIVIEW_VIEW_COUNT;
/// `maxMultiviewInstanceIndex` (the spec's minimum, 2^27 − 1).
pub(crate) const MAX_MULTIVIEW_INSTANCE_INDEX: u32 = (1 << 27) - 1;

/// Device extensions we implement. VK_KHR_dynamic_rendering needs VK_KHR_depth_stencil_resolve,
/// which needs VK_KHR_create_renderpass2, which needs VK_KHR_multiview and VK_KHR_maintenance2
/// (on Vulkan 1.0). VK_KHR_multiview comes with its required `multiview` feature: the device
/// renders each view of a view mask into its own layer.
pub(crate) const DEVICE_EXTENSIONS: &[(&CStr, u32)] = &[
    (vk::KHR_TIMELINE_SEMAPHORE_NAME, 2),
    (vk::KHR_SYNCHRONIZATION2_NAME, 1),
    (vk::KHR_MAINTENANCE2_NAME, 1),
    (vk::KHR_MULTIVIEW_NAME, 1),
    (vk::KHR_CREATE_RENDERPASS2_NAME, 1),
    (vk::KHR_DEPTH_STENCIL_RESOLVE_NAME, 1),
    (vk::KHR_DYNAMIC_RENDERING_NAME, 1),
    (vk::KHR_DRAW_INDIRECT_COUNT_NAME, 1),
    (vk::EXT_EXTENDED_DYNAMIC_STATE_NAME, 1),
    (vk::EXT_EXTENDED_DYNAMIC_STATE2_NAME, 1),
];

/// # Safety
/// Vulkan valid usage for `vkEnumerateDeviceExtensionProperties`.
pub(crate) unsafe extern "system" fn enumerate_device_extension_properties(
    pd: vk::PhysicalDevice,
    p_layer_name: *const c_char,
    p_count: *mut u32,
    p_properties: *mut vk::ExtensionProperties,
) -> vk::Result {
    guard("vkEnumerateDeviceExtensionProperties", || {
        // SAFETY: a physical device we enumerated (valid usage).
        unsafe { physical(pd) }?;
        if !p_layer_name.is_null() {
            return Err(IcdError::vk(
                vk::Result::ERROR_LAYER_NOT_PRESENT,
                "we have no layers",
            ));
        }
        let list = crate::instance::extension_properties(DEVICE_EXTENSIONS);
        // SAFETY: output array of *p_count (valid usage).
        Ok(unsafe { enumerate(p_count, p_properties, &list) })
    })
}

/// # Safety
/// Vulkan valid usage for `vkEnumerateDeviceLayerProperties`.
pub(crate) unsafe extern "system" fn enumerate_device_layer_properties(
    _pd: vk::PhysicalDevice,
    p_count: *mut u32,
    p_properties: *mut vk::LayerProperties,
) -> vk::Result {
    guard("vkEnumerateDeviceLayerProperties", || {
        // SAFETY: output array of *p_count (valid usage).
        Ok(unsafe { enumerate(p_count, p_properties, &[]) })
    })
}
