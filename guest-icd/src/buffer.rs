//! VkBuffer: created on the device at once (queued with the next submission), bound to a
//! sub-allocation of a memory block. Buffer views (texel buffers) wait for issue 7.

use crate::device::{device, Device};
use crate::entry::{guard, guard_void, write_out};
use crate::error::{IcdError, IcdResult};
use crate::handle::{new_id, object, take_object, to_handle};
use crate::memory::memory;
use crate::physical_device::BUFFER_ALIGNMENT;
use ash::vk;
use protocol::stream::{BindBufferMemory, CreateBuffer, DestroyBuffer};

pub(crate) struct Buffer {
    pub(crate) id: u64,
    pub(crate) size: u64,
    /// `VkBufferUsageFlags` (buffer views check their texel-buffer bits).
    pub(crate) usage: u32,
}

/// # Safety
/// `h` is null or a live buffer of ours.
pub(crate) unsafe fn buffer<'a>(h: vk::Buffer) -> IcdResult<&'a Buffer> {
    // SAFETY: caller contract.
    unsafe { object::<_, Buffer>(h) }.ok_or_else(|| crate::handle::null_handle("buffer"))
}

/// # Safety
/// Vulkan valid usage for `vkCreateBuffer`.
pub(crate) unsafe extern "system" fn create_buffer(
    dev: vk::Device,
    p_create_info: *const vk::BufferCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_buffer: *mut vk::Buffer,
) -> vk::Result {
    guard("vkCreateBuffer", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        if info.flags.intersects(
            vk::BufferCreateFlags::SPARSE_BINDING
                | vk::BufferCreateFlags::SPARSE_RESIDENCY
                | vk::BufferCreateFlags::SPARSE_ALIASED,
        ) {
            return Err(IcdError::vk(
                vk::Result::ERROR_FEATURE_NOT_PRESENT,
                "sparse buffers are not supported",
            ));
        }
        if info.size > dev.capset.max_memory_allocation_size {
            return Err(IcdError::vk(
                vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                format!(
                    "buffer of {} bytes exceeds the largest allocation",
                    info.size
                ),
            ));
        }
        let id = new_id();
        dev.enqueue(CreateBuffer {
            id,
            size: info.size,
            usage: info.usage.as_raw(),
        })?;
        // SAFETY: output pointer (valid usage).
        unsafe {
            write_out(
                p_buffer,
                to_handle(Buffer {
                    id,
                    size: info.size,
                    usage: info.usage.as_raw(),
                }),
            )
        }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyBuffer`.
pub(crate) unsafe extern "system" fn destroy_buffer(
    dev: vk::Device,
    buf: vk::Buffer,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyBuffer", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live buffer, not used again (valid usage).
        if let Some(b) = unsafe { take_object::<_, Buffer>(buf) } {
            dev.enqueue(DestroyBuffer { id: b.id })?;
        }
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetBufferMemoryRequirements`.
pub(crate) unsafe extern "system" fn get_buffer_memory_requirements(
    _dev: vk::Device,
    buf: vk::Buffer,
    p_requirements: *mut vk::MemoryRequirements,
) {
    guard_void("vkGetBufferMemoryRequirements", || {
        // SAFETY: valid usage.
        let b = unsafe { buffer(buf) }?;
        let size = b
            .size
            .max(1)
            .checked_next_multiple_of(BUFFER_ALIGNMENT)
            .unwrap_or(u64::MAX);
        let r = vk::MemoryRequirements {
            size,
            alignment: BUFFER_ALIGNMENT,
            memory_type_bits: 1,
        };
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_requirements, r) }
    })
}

/// # Safety
/// Vulkan valid usage for `vkBindBufferMemory`.
pub(crate) unsafe extern "system" fn bind_buffer_memory(
    dev: vk::Device,
    buf: vk::Buffer,
    mem: vk::DeviceMemory,
    offset: vk::DeviceSize,
) -> vk::Result {
    guard("vkBindBufferMemory", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let (b, m) = unsafe { (buffer(buf)?, memory(mem)?) };
        // VUID-vkBindBufferMemory-size-01037: the buffer fits the memory from `offset`.
        if offset % BUFFER_ALIGNMENT != 0
            || offset
                .checked_add(b.size)
                .is_none_or(|e| e > m.allocation.size)
        {
            return Err(IcdError::vk(
                vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                format!(
                    "buffer of {} bytes at {offset} does not fit its memory",
                    b.size
                ),
            ));
        }
        dev.enqueue(BindBufferMemory {
            buffer: b.id,
            memory: m.allocation.location(offset),
        })?;
        Ok(vk::Result::SUCCESS)
    })
}
