//! VkShaderModule: the SPIR-V is sent to the device once, at creation; the device validates
//! it when a pipeline uses it, and pipeline creation reports its verdict.

use crate::device::{device, Device};
use crate::entry::{guard, guard_void, write_out};
use crate::error::{IcdError, IcdResult};
use crate::handle::{new_id, object, take_object, to_handle};
use ash::vk;
use protocol::stream::{CreateShaderModule, DestroyShaderModule};

pub(crate) struct ShaderModule {
    pub(crate) id: u64,
}

const SPIRV_MAGIC: u32 = 0x0723_0203;
/// Words in the SPIR-V header (magic, version, generator, bound, schema).
const SPIRV_HEADER_WORDS: usize = 5;

/// # Safety
/// `h` is null or a live module of ours.
pub(crate) unsafe fn module<'a>(h: vk::ShaderModule) -> IcdResult<&'a ShaderModule> {
    // SAFETY: caller contract.
    unsafe { object::<_, ShaderModule>(h) }
        .ok_or_else(|| crate::handle::null_handle("shader module"))
}

/// # Safety
/// Vulkan valid usage for `vkCreateShaderModule`.
pub(crate) unsafe extern "system" fn create_shader_module(
    dev: vk::Device,
    p_create_info: *const vk::ShaderModuleCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_module: *mut vk::ShaderModule,
) -> vk::Result {
    guard("vkCreateShaderModule", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        // VUID-VkShaderModuleCreateInfo-codeSize-08735 and -pCode-08736: a multiple of 4
        // bytes of SPIR-V. Checked so that garbage gets an error, not a device round trip.
        let words = info.code_size / 4;
        if info.p_code.is_null() || info.code_size % 4 != 0 || words < SPIRV_HEADER_WORDS {
            return Err(IcdError::vk(
                vk::Result::ERROR_INVALID_SHADER_NV,
                format!("{} bytes are not SPIR-V", info.code_size),
            ));
        }
        // Before the copy: a module past the device's cap is refused here, not by the device
        // after the submission (which would lose the device).
        crate::object_caps::check_shader_module(&dev.capset.client, words)?;
        // SAFETY: pCode holds codeSize bytes, 4-aligned (valid usage).
        let code = unsafe { std::slice::from_raw_parts(info.p_code, words) }.to_vec();
        if code[0] != SPIRV_MAGIC {
            return Err(IcdError::vk(
                vk::Result::ERROR_INVALID_SHADER_NV,
                format!("SPIR-V magic {:#010x} is wrong", code[0]),
            ));
        }
        let id = new_id();
        dev.enqueue(CreateShaderModule { id, code })?;
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_module, to_handle(ShaderModule { id })) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyShaderModule`.
pub(crate) unsafe extern "system" fn destroy_shader_module(
    dev: vk::Device,
    m: vk::ShaderModule,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyShaderModule", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live module, not used again (valid usage).
        if let Some(m) = unsafe { take_object::<_, ShaderModule>(m) } {
            dev.enqueue(DestroyShaderModule { id: m.id })?;
        }
        Ok(())
    })
}
