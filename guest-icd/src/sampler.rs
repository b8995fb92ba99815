//! Samplers and texel-buffer views (vkCreateSampler, vkCreateBufferView and their destroys).
//!
//! Creation travels to the device with the next submission, so a state the device would
//! refuse must be refused here, with a `VkResult`, not later as a failed submission: both
//! sides run the same rules (`protocol::sampler`). Valid Vulkan that softgpu does not offer
//! (anisotropy, mirror-clamp-to-edge, custom border colours, YCbCr conversion) is
//! VK_ERROR_FEATURE_NOT_PRESENT; a violated valid-usage rule VK_ERROR_INITIALIZATION_FAILED.

use crate::device::{device, Device};
use crate::entry::{guard, guard_void, walk_chain, write_out};
use crate::error::IcdError;
use crate::handle::{new_id, object, take_object, to_handle};
use ash::vk;
use protocol::sampler::{buffer_view_range, SamplerCreateInfo, SamplerError};
use protocol::stream::{CreateBufferView, CreateSampler, DestroyBufferView, DestroySampler};

pub(crate) struct Sampler {
    pub(crate) id: u64,
}

pub(crate) struct BufferView {
    pub(crate) id: u64,
}

/// The id of a sampler handle; VK_NULL_HANDLE is 0 (which the device refuses where it reads
/// one).
///
/// # Safety
/// `h` is null or a live sampler of ours.
pub(crate) unsafe fn sampler_id(h: vk::Sampler) -> u64 {
    // SAFETY: caller contract.
    unsafe { object::<_, Sampler>(h) }.map_or(0, |s| s.id)
}

/// The id of a buffer-view handle, 0 for VK_NULL_HANDLE.
///
/// # Safety
/// `h` is null or a live buffer view of ours.
pub(crate) unsafe fn buffer_view_id(h: vk::BufferView) -> u64 {
    // SAFETY: caller contract.
    unsafe { object::<_, BufferView>(h) }.map_or(0, |v| v.id)
}

fn refusal(e: SamplerError) -> IcdError {
    let code = match e {
        SamplerError::Unsupported(_) => vk::Result::ERROR_FEATURE_NOT_PRESENT,
        SamplerError::Invalid(_) => vk::Result::ERROR_INITIALIZATION_FAILED,
    };
    IcdError::vk(code, e.to_string())
}

/// The wire form of a create info.
pub(crate) fn wire_sampler(info: &vk::SamplerCreateInfo<'_>) -> SamplerCreateInfo {
    SamplerCreateInfo {
        flags: info.flags.as_raw(),
        mag_filter: info.mag_filter.as_raw() as u32,
        min_filter: info.min_filter.as_raw() as u32,
        mipmap_mode: info.mipmap_mode.as_raw() as u32,
        address_modes: [
            info.address_mode_u.as_raw() as u32,
            info.address_mode_v.as_raw() as u32,
            info.address_mode_w.as_raw() as u32,
        ],
        mip_lod_bias: info.mip_lod_bias,
        anisotropy_enable: info.anisotropy_enable != vk::FALSE,
        max_anisotropy: info.max_anisotropy,
        compare_enable: info.compare_enable != vk::FALSE,
        compare_op: info.compare_op.as_raw() as u32,
        min_lod: info.min_lod,
        max_lod: info.max_lod,
        border_color: info.border_color.as_raw() as u32,
        unnormalized_coordinates: info.unnormalized_coordinates != vk::FALSE,
    }
}

/// # Safety
/// Vulkan valid usage for `vkCreateSampler`.
pub(crate) unsafe extern "system" fn create_sampler(
    dev: vk::Device,
    p_create_info: *const vk::SamplerCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_sampler: *mut vk::Sampler,
) -> vk::Result {
    guard("vkCreateSampler", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage (null checked).
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        // No sampler extension structure is offered (custom border colours, YCbCr
        // conversion, reduction modes).
        let mut extended = None;
        // SAFETY: the app's valid chain; only the types are looked at.
        unsafe { walk_chain(info.p_next, |ty, _| extended = extended.or(Some(ty))) };
        if let Some(ty) = extended {
            return Err(IcdError::vk(
                vk::Result::ERROR_FEATURE_NOT_PRESENT,
                format!("{ty:?} in VkSamplerCreateInfo's chain is not supported"),
            ));
        }
        let wire = wire_sampler(info);
        wire.check().map_err(refusal)?;
        let id = new_id();
        dev.enqueue(CreateSampler { id, info: wire })?;
        // SAFETY: output pointer (valid usage; null checked).
        unsafe { write_out(p_sampler, to_handle(Sampler { id })) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroySampler`.
pub(crate) unsafe extern "system" fn destroy_sampler(
    dev: vk::Device,
    s: vk::Sampler,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroySampler", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live sampler, not used again (valid usage).
        if let Some(s) = unsafe { take_object::<_, Sampler>(s) } {
            dev.enqueue(DestroySampler { id: s.id })?;
        }
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkCreateBufferView`.
pub(crate) unsafe extern "system" fn create_buffer_view(
    dev: vk::Device,
    p_create_info: *const vk::BufferViewCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_view: *mut vk::BufferView,
) -> vk::Result {
    guard("vkCreateBufferView", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage (null checked).
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        // SAFETY: valid usage.
        let buffer = unsafe { crate::buffer::buffer(info.buffer) }?;
        let format = info.format.as_raw() as u32;
        buffer_view_range(buffer.size, buffer.usage, format, info.offset, info.range)
            .map_err(refusal)?;
        let id = new_id();
        dev.enqueue(CreateBufferView {
            id,
            buffer: buffer.id,
            format,
            offset: info.offset,
            range: info.range,
        })?;
        // SAFETY: output pointer (valid usage; null checked).
        unsafe { write_out(p_view, to_handle(BufferView { id })) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyBufferView`.
pub(crate) unsafe extern "system" fn destroy_buffer_view(
    dev: vk::Device,
    view: vk::BufferView,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyBufferView", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live view, not used again (valid usage).
        if let Some(v) = unsafe { take_object::<_, BufferView>(view) } {
            dev.enqueue(DestroyBufferView { id: v.id })?;
        }
        Ok(())
    })
}
