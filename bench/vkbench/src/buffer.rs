//! Buffers (storage, vertex, copy destinations) in host-visible, host-coherent memory, mapped
//! for their whole life.
//!
//! The device's memory is host memory for both drivers measured here (lavapipe, softgpu), so
//! inputs are written and results read straight through the mapping — no staging copies.
//! Access goes through copies and short-lived slices taken only while no submitted work uses
//! the buffer (the workloads wait for their fence before reading).

use ash::vk;

use crate::gpu::{failed, Gpu, GpuError};

/// A 4-byte scalar for which every bit pattern is a valid value.
pub trait Scalar: Copy + Default + 'static {}
impl Scalar for f32 {}
impl Scalar for u32 {}

pub struct HostBuffer<'g> {
    gpu: &'g Gpu,
    pub buffer: vk::Buffer,
    memory: vk::DeviceMemory,
    mapped: *mut u8,
    /// Size in bytes, as requested.
    pub size: u64,
}

impl<'g> HostBuffer<'g> {
    /// A storage buffer of `count` 4-byte elements.
    pub fn new(gpu: &'g Gpu, count: usize) -> Result<Self, GpuError> {
        let size = (count as u64)
            .checked_mul(4)
            .ok_or_else(|| GpuError::Misuse(format!("buffer of {count} elements")))?;
        Self::with_usage(gpu, size, vk::BufferUsageFlags::STORAGE_BUFFER)
    }

    /// A buffer of `size` bytes (a non-zero multiple of 4) for `usage`.
    pub fn with_usage(
        gpu: &'g Gpu,
        size: u64,
        usage: vk::BufferUsageFlags,
    ) -> Result<Self, GpuError> {
        if size == 0 || !size.is_multiple_of(4) {
            return Err(GpuError::Misuse(format!("buffer of {size} bytes")));
        }
        let info = vk::BufferCreateInfo::default()
            .size(size)
            .usage(usage)
            .sharing_mode(vk::SharingMode::EXCLUSIVE);
        // SAFETY: `info` is valid for the call.
        let buffer =
            unsafe { gpu.device.create_buffer(&info, None) }.map_err(failed("vkCreateBuffer"))?;
        let mut this = HostBuffer {
            gpu,
            buffer,
            memory: vk::DeviceMemory::null(),
            mapped: std::ptr::null_mut(),
            size,
        };
        // From here on, `this` destroys what exists if a step fails.
        // SAFETY: `buffer` is a live buffer of this device.
        let req = unsafe { gpu.device.get_buffer_memory_requirements(buffer) };
        let alloc = vk::MemoryAllocateInfo::default()
            .allocation_size(req.size)
            .memory_type_index(gpu.host_memory_type(req.memory_type_bits)?);
        // SAFETY: `alloc` names a memory type of this device.
        this.memory = unsafe { gpu.device.allocate_memory(&alloc, None) }
            .map_err(failed("vkAllocateMemory"))?;
        // SAFETY: the memory was just allocated with `req.size` ≥ the buffer's needs, offset 0
        // satisfies any alignment.
        unsafe { gpu.device.bind_buffer_memory(buffer, this.memory, 0) }
            .map_err(failed("vkBindBufferMemory"))?;
        // SAFETY: the memory is HOST_VISIBLE and not mapped yet.
        let ptr = unsafe {
            gpu.device
                .map_memory(this.memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
        }
        .map_err(failed("vkMapMemory"))?;
        if ptr.is_null() || !(ptr as usize).is_multiple_of(4) {
            return Err(GpuError::Misuse(format!("vkMapMemory returned {ptr:p}")));
        }
        this.mapped = ptr.cast();
        Ok(this)
    }

    fn len<T: Scalar>(&self) -> usize {
        (self.size / std::mem::size_of::<T>() as u64) as usize
    }

    /// Fills the buffer with `f(index)`. Call only while no submitted work uses the buffer.
    pub fn fill<T: Scalar>(&self, mut f: impl FnMut(usize) -> T) {
        let len = self.len::<T>();
        // SAFETY: `mapped` covers `size` bytes, 4-aligned (checked in `new`), mapped while
        // `self` lives; T is a 4-byte plain scalar. No other reference to this memory exists
        // on the host, and the caller runs this only while the device does not use it.
        let slice = unsafe { std::slice::from_raw_parts_mut(self.mapped.cast::<T>(), len) };
        for (i, v) in slice.iter_mut().enumerate() {
            *v = f(i);
        }
    }

    /// Copies `bytes` to the start of the buffer. Call only while no submitted work uses it.
    pub fn write_bytes(&self, bytes: &[u8]) -> Result<(), GpuError> {
        if bytes.len() as u64 > self.size {
            return Err(GpuError::Misuse(format!(
                "{} bytes into a {}-byte buffer",
                bytes.len(),
                self.size
            )));
        }
        // SAFETY: `mapped` covers `size` ≥ `bytes.len()` bytes (checked above) while `self`
        // lives; `bytes` is host memory that cannot overlap the mapping we own exclusively; the
        // device does not use the buffer now (the caller's contract).
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.mapped, bytes.len()) };
        Ok(())
    }

    /// Lends the contents to `f`. Call only while no submitted work writes the buffer.
    pub fn view<T: Scalar, R>(&self, f: impl FnOnce(&[T]) -> R) -> R {
        let len = self.len::<T>();
        // SAFETY: as in `fill`; the device does not write while `f` runs, and the slice
        // does not outlive this call.
        let slice = unsafe { std::slice::from_raw_parts(self.mapped.cast::<T>(), len) };
        f(slice)
    }
}

impl Drop for HostBuffer<'_> {
    fn drop(&mut self) {
        // SAFETY: the workloads wait for their work before dropping buffers; `Gpu` outlives
        // `self` (borrowed).
        unsafe { self.gpu.device.destroy_buffer(self.buffer, None) };
        // SAFETY: as above, and the buffer bound to it is gone. Freeing mapped memory unmaps
        // it (Vulkan §11.2.7); a null handle (allocation failed) is ignored.
        unsafe { self.gpu.device.free_memory(self.memory, None) };
    }
}
