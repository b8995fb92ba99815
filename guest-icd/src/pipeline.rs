//! Pipeline layouts, pipeline caches and compute pipelines. Compute pipeline creation is the
//! one call that waits for the device: it compiles the shader and answers through the
//! device's reply slot, so an invalid shader gives the application an error `VkResult`.
//! Pipeline caches are valid but empty: the device caches compiled code by content itself.

use crate::device::{device, Device};
use crate::entry::{guard, guard_void, slice, write_out};
use crate::error::{IcdError, IcdResult};
use crate::handle::{new_id, object, take_object, to_handle};
use crate::physical_device::{DEVICE_ID, PIPELINE_CACHE_UUID, VENDOR_ID};
use ash::vk;
use protocol::stream::{
    Command, CreateComputePipeline, CreatePipelineLayout, DestroyPipeline, DestroyPipelineLayout,
    GuestLocation, PushConstantRange, SpecializationMapEntry,
};
use std::ffi::{c_void, CStr};

pub(crate) struct PipelineLayout {
    pub(crate) id: u64,
}

pub(crate) struct Pipeline {
    pub(crate) id: u64,
}

pub(crate) struct PipelineCache;

/// # Safety
/// `h` is null or a live pipeline layout of ours.
pub(crate) unsafe fn pipeline_layout<'a>(h: vk::PipelineLayout) -> IcdResult<&'a PipelineLayout> {
    // SAFETY: caller contract.
    unsafe { object::<_, PipelineLayout>(h) }
        .ok_or_else(|| crate::handle::null_handle("pipeline layout"))
}

/// # Safety
/// `h` is null or a live pipeline of ours.
pub(crate) unsafe fn pipeline<'a>(h: vk::Pipeline) -> IcdResult<&'a Pipeline> {
    // SAFETY: caller contract.
    unsafe { object::<_, Pipeline>(h) }.ok_or_else(|| crate::handle::null_handle("pipeline"))
}

/// # Safety
/// Vulkan valid usage for `vkCreatePipelineLayout`.
pub(crate) unsafe extern "system" fn create_pipeline_layout(
    dev: vk::Device,
    p_create_info: *const vk::PipelineLayoutCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_layout: *mut vk::PipelineLayout,
) -> vk::Result {
    guard("vkCreatePipelineLayout", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        let mut set_layouts = Vec::new();
        // SAFETY: (pointer, count) of a valid create info.
        for l in unsafe { slice(info.p_set_layouts, info.set_layout_count) } {
            // SAFETY: valid usage.
            set_layouts.push(unsafe { crate::descriptor::layout(*l) }?.id);
        }
        // SAFETY: as above.
        let push_constant_ranges =
            unsafe { slice(info.p_push_constant_ranges, info.push_constant_range_count) }
                .iter()
                .map(|r| PushConstantRange {
                    stages: r.stage_flags.as_raw(),
                    offset: r.offset,
                    size: r.size,
                })
                .collect();
        let id = new_id();
        dev.enqueue(CreatePipelineLayout {
            id,
            set_layouts,
            push_constant_ranges,
        })?;
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_layout, to_handle(PipelineLayout { id })) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyPipelineLayout`.
pub(crate) unsafe extern "system" fn destroy_pipeline_layout(
    dev: vk::Device,
    l: vk::PipelineLayout,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyPipelineLayout", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live layout, not used again (valid usage).
        if let Some(l) = unsafe { take_object::<_, PipelineLayout>(l) } {
            dev.enqueue(DestroyPipelineLayout { id: l.id })?;
        }
        Ok(())
    })
}

/// Creates one compute pipeline and waits for the device's verdict.
fn create_compute(
    dev: &Device,
    info: &vk::ComputePipelineCreateInfo<'_>,
) -> IcdResult<vk::Pipeline> {
    let stage = &info.stage;
    if stage.stage != vk::ShaderStageFlags::COMPUTE {
        return Err(IcdError::vk(
            vk::Result::ERROR_INITIALIZATION_FAILED,
            format!("stage {:?} in a compute pipeline", stage.stage),
        ));
    }
    // SAFETY: valid usage.
    let module = unsafe { crate::shader::module(stage.module) }?;
    // SAFETY: valid usage.
    let layout = unsafe { pipeline_layout(info.layout) }?;
    if stage.p_name.is_null() {
        return Err(IcdError::vk(
            vk::Result::ERROR_INITIALIZATION_FAILED,
            "null entry point name",
        ));
    }
    // SAFETY: NUL-terminated (valid usage).
    let entry = unsafe { CStr::from_ptr(stage.p_name) }
        .to_string_lossy()
        .into_owned();
    let (mut spec_map, mut spec_data) = (Vec::new(), Vec::new());
    // SAFETY: null or valid (valid usage).
    if let Some(spec) = unsafe { stage.p_specialization_info.as_ref() } {
        // SAFETY: (pointer, count) of a valid specialization info.
        spec_map = unsafe { slice(spec.p_map_entries, spec.map_entry_count) }
            .iter()
            .map(|e| SpecializationMapEntry {
                constant_id: e.constant_id,
                offset: e.offset,
                size: e.size as u32,
            })
            .collect();
        let len = u32::try_from(spec.data_size).map_err(|_| {
            IcdError::vk(
                vk::Result::ERROR_OUT_OF_HOST_MEMORY,
                "specialization data too large",
            )
        })?;
        // SAFETY: pData holds dataSize bytes (valid usage).
        spec_data = unsafe { slice(spec.p_data.cast::<u8>(), len) }.to_vec();
    }
    create_with_reply(dev, "compute", |id, reply| {
        CreateComputePipeline {
            id,
            layout: layout.id,
            module: module.id,
            entry,
            spec_map,
            spec_data,
            reply,
        }
        .into()
    })
}

/// Sends the creation command `make(id, reply)` of a new pipeline and waits for the device's
/// verdict (it compiles the shaders); a refusal is the application's error `VkResult`.
pub(crate) fn create_with_reply(
    dev: &Device,
    kind: &str,
    make: impl FnOnce(u64, GuestLocation) -> Command,
) -> IcdResult<vk::Pipeline> {
    let id = new_id();
    let result = dev.call(|reply| make(id, reply))?;
    if result != vk::Result::SUCCESS {
        return Err(IcdError::vk(
            result,
            format!("the device refused the {kind} pipeline"),
        ));
    }
    Ok(to_handle(Pipeline { id }))
}

/// Creates each of `infos` into `out` (vkCreate*Pipelines, Vulkan §10.1): a failed element
/// gets VK_NULL_HANDLE and the others are still made; the result is the last failure's code,
/// except that a lost device ends the call.
///
/// # Safety
/// `out` is valid for `infos.len()` writes (valid usage of the command).
pub(crate) unsafe fn create_each<I>(
    name: &str,
    dev: &Device,
    infos: &[I],
    out: *mut vk::Pipeline,
    create: impl Fn(&Device, &I) -> IcdResult<vk::Pipeline>,
) -> IcdResult<vk::Result> {
    let mut result = vk::Result::SUCCESS;
    for (i, info) in infos.iter().enumerate() {
        let h = match create(dev, info) {
            Ok(h) => h,
            Err(e) => {
                log::warn!("{name}[{i}]: {e}");
                if e.result() == vk::Result::ERROR_DEVICE_LOST {
                    return Err(e);
                }
                result = e.result();
                vk::Pipeline::null()
            }
        };
        // SAFETY: i < infos.len(), the app's array length (caller's guarantee).
        unsafe { out.add(i).write(h) };
    }
    Ok(result)
}

/// # Safety
/// Vulkan valid usage for `vkCreateComputePipelines`.
pub(crate) unsafe extern "system" fn create_compute_pipelines(
    dev: vk::Device,
    _cache: vk::PipelineCache,
    count: u32,
    p_create_infos: *const vk::ComputePipelineCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_pipelines: *mut vk::Pipeline,
) -> vk::Result {
    guard("vkCreateComputePipelines", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        if p_pipelines.is_null() && count > 0 {
            return Err(IcdError::vk(
                vk::Result::ERROR_INITIALIZATION_FAILED,
                "null output array",
            ));
        }
        // SAFETY: (pointer, count) (valid usage).
        let infos = unsafe { slice(p_create_infos, count) };
        // SAFETY: `p_pipelines` holds `count` elements (valid usage; null checked above).
        unsafe {
            create_each(
                "vkCreateComputePipelines",
                dev,
                infos,
                p_pipelines,
                create_compute,
            )
        }
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyPipeline`.
pub(crate) unsafe extern "system" fn destroy_pipeline(
    dev: vk::Device,
    p: vk::Pipeline,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyPipeline", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live pipeline, not used again (valid usage).
        if let Some(p) = unsafe { take_object::<_, Pipeline>(p) } {
            dev.enqueue(DestroyPipeline { id: p.id })?;
        }
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkCreatePipelineCache`.
pub(crate) unsafe extern "system" fn create_pipeline_cache(
    _dev: vk::Device,
    _p_create_info: *const vk::PipelineCacheCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_cache: *mut vk::PipelineCache,
) -> vk::Result {
    // Initial data from another driver version is ignored, as Vulkan §10.7 allows.
    guard("vkCreatePipelineCache", || {
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_cache, to_handle(PipelineCache)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyPipelineCache`.
pub(crate) unsafe extern "system" fn destroy_pipeline_cache(
    _dev: vk::Device,
    c: vk::PipelineCache,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    // SAFETY: our live cache, not used again (valid usage).
    drop(unsafe { take_object::<_, PipelineCache>(c) });
}

/// The cache header of Vulkan §10.7.4 (version one), with no data after it.
fn cache_header() -> [u8; 32] {
    let mut h = [0u8; 32];
    h[0..4].copy_from_slice(&32u32.to_le_bytes());
    h[4..8].copy_from_slice(&(vk::PipelineCacheHeaderVersion::ONE.as_raw() as u32).to_le_bytes());
    h[8..12].copy_from_slice(&VENDOR_ID.to_le_bytes());
    h[12..16].copy_from_slice(&DEVICE_ID.to_le_bytes());
    h[16..32].copy_from_slice(&PIPELINE_CACHE_UUID);
    h
}

/// # Safety
/// Vulkan valid usage for `vkGetPipelineCacheData`.
pub(crate) unsafe extern "system" fn get_pipeline_cache_data(
    _dev: vk::Device,
    _cache: vk::PipelineCache,
    p_data_size: *mut usize,
    p_data: *mut c_void,
) -> vk::Result {
    guard("vkGetPipelineCacheData", || {
        let header = cache_header();
        if p_data_size.is_null() {
            return Err(IcdError::vk(
                vk::Result::ERROR_INITIALIZATION_FAILED,
                "null size",
            ));
        }
        if p_data.is_null() {
            // SAFETY: non-null (checked), valid (valid usage).
            unsafe { *p_data_size = header.len() };
            return Ok(vk::Result::SUCCESS);
        }
        // SAFETY: as above.
        if unsafe { *p_data_size } < header.len() {
            // Vulkan §10.7.3: nothing written when even the header does not fit.
            // SAFETY: as above.
            unsafe { *p_data_size = 0 };
            return Ok(vk::Result::INCOMPLETE);
        }
        // SAFETY: the app's buffer holds *p_data_size ≥ 32 bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(header.as_ptr(), p_data.cast::<u8>(), header.len())
        };
        // SAFETY: as above.
        unsafe { *p_data_size = header.len() };
        Ok(vk::Result::SUCCESS)
    })
}

/// Empty caches merge into an empty cache.
///
/// # Safety
/// Vulkan valid usage for `vkMergePipelineCaches`.
pub(crate) unsafe extern "system" fn merge_pipeline_caches(
    _dev: vk::Device,
    _dst: vk::PipelineCache,
    _count: u32,
    _p_src: *const vk::PipelineCache,
) -> vk::Result {
    vk::Result::SUCCESS
}
