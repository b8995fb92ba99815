//! Buffers in host-visible memory (vertices, indices, uniforms, indirect commands, readback) and
//! images used as attachments (colour or depth/stencil, optimal tiling, transfer source).
//! Each object borrows its [`GraphicsContext`], so it is destroyed before the device.

use ash::vk;

use super::format::FormatInfo;
use super::{GraphicsContext, VkContext};
use crate::GpuError;

/// A buffer bound to its own host-visible, coherent, mapped allocation.
pub struct HostBuffer<'c> {
    ctx: &'c GraphicsContext,
    pub buffer: vk::Buffer,
    memory: vk::DeviceMemory,
    pub size: u64,
    ptr: *mut u8,
}

impl<'c> HostBuffer<'c> {
    /// A buffer of `size` bytes (at least 1) with `usage`, zero-filled.
    pub fn new(
        ctx: &'c GraphicsContext,
        size: u64,
        usage: vk::BufferUsageFlags,
    ) -> Result<HostBuffer<'c>, GpuError> {
        let size = size.max(4);
        let d = &ctx.device;
        let info = vk::BufferCreateInfo::default().size(size).usage(usage);
        // SAFETY: `d` is live; `info` outlives the call.
        let buffer = unsafe { d.create_buffer(&info, None) }.ctx("vkCreateBuffer")?;
        let destroy_buffer = |e| {
            // SAFETY: `buffer` is unbound and unused.
            unsafe { d.destroy_buffer(buffer, None) };
            e
        };
        // SAFETY: `buffer` is live.
        let req = unsafe { d.get_buffer_memory_requirements(buffer) };
        let memory_type = ctx
            .memory_type(
                req.memory_type_bits,
                vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT,
            )
            .map_err(destroy_buffer)?;
        let alloc = vk::MemoryAllocateInfo::default()
            .allocation_size(req.size)
            .memory_type_index(memory_type);
        // SAFETY: as above.
        let memory = unsafe { d.allocate_memory(&alloc, None) }
            .ctx("vkAllocateMemory")
            .map_err(destroy_buffer)?;
        // SAFETY: fresh buffer and memory of sufficient size and a compatible type; host-visible
        // memory, not mapped yet.
        let mapped = unsafe {
            d.bind_buffer_memory(buffer, memory, 0)
                .ctx("vkBindBufferMemory")
                .and_then(|()| {
                    d.map_memory(memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
                        .ctx("vkMapMemory")
                })
        };
        let ptr = match mapped {
            Ok(p) => p.cast::<u8>(),
            Err(e) => {
                // SAFETY: neither object is in use.
                unsafe { d.free_memory(memory, None) };
                return Err(destroy_buffer(e));
            }
        };
        // SAFETY: the mapping covers `req.size >= size` bytes and nothing else writes it yet.
        unsafe { std::ptr::write_bytes(ptr, 0, size as usize) };
        Ok(HostBuffer {
            ctx,
            buffer,
            memory,
            size,
            ptr,
        })
    }

    /// A buffer with `usage` holding `bytes`.
    pub fn with_bytes(
        ctx: &'c GraphicsContext,
        usage: vk::BufferUsageFlags,
        bytes: &[u8],
    ) -> Result<HostBuffer<'c>, GpuError> {
        let buf = HostBuffer::new(ctx, bytes.len() as u64, usage)?;
        buf.write(0, bytes)?;
        Ok(buf)
    }

    /// Copies `bytes` into the buffer at `offset`; refuses a range past the end.
    pub fn write(&self, offset: u64, bytes: &[u8]) -> Result<(), GpuError> {
        let end = offset
            .checked_add(bytes.len() as u64)
            .filter(|&e| e <= self.size)
            .ok_or_else(|| {
                GpuError::Setup(format!(
                    "write of {} bytes at {offset} past a {}-byte buffer",
                    bytes.len(),
                    self.size
                ))
            })?;
        debug_assert!(end <= self.size);
        // SAFETY: `offset + len <= size` (checked above) lies inside the mapping; no GPU work
        // using this buffer is pending (every submission is waited for).
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.ptr.add(offset as usize),
                bytes.len(),
            )
        };
        Ok(())
    }

    /// The first `len` bytes (clamped to the size).
    pub fn read(&self, len: usize) -> Vec<u8> {
        let len = len.min(self.size as usize);
        let mut out = vec![0u8; len];
        // SAFETY: `len <= size` bytes of the mapping; no GPU work using the buffer is pending.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr, out.as_mut_ptr(), len) };
        out
    }
}

impl Drop for HostBuffer<'_> {
    fn drop(&mut self) {
        // SAFETY: every submission is waited for, so nothing uses the buffer.
        unsafe {
            self.ctx.device.destroy_buffer(self.buffer, None);
            self.ctx.device.free_memory(self.memory, None);
        }
    }
}

/// Converts plain-old-data values to bytes (vertex data, indices, push constants).
pub fn bytes_of<T: Copy>(values: &[T]) -> Vec<u8> {
    let len = std::mem::size_of_val(values);
    let mut out = vec![0u8; len];
    // SAFETY: `values` spans `len` initialised bytes; callers pass padding-free types (f32,
    // u32, u16 and arrays of them).
    unsafe { std::ptr::copy_nonoverlapping(values.as_ptr().cast::<u8>(), out.as_mut_ptr(), len) };
    out
}

/// A 2D image with one mip level and layer used as an attachment and copied from afterwards.
pub struct Attachment<'c> {
    ctx: &'c GraphicsContext,
    pub image: vk::Image,
    memory: vk::DeviceMemory,
    pub view: vk::ImageView,
    pub format: vk::Format,
    pub info: FormatInfo,
    pub width: u32,
    pub height: u32,
}

impl<'c> Attachment<'c> {
    /// An attachment of `format`; colour or depth/stencil usage follows from the format.
    pub fn new(
        ctx: &'c GraphicsContext,
        format: vk::Format,
        width: u32,
        height: u32,
    ) -> Result<Attachment<'c>, GpuError> {
        let info = FormatInfo::of(format)?;
        let (usage, feature) = if info.is_depth_stencil() {
            (
                vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT,
                vk::FormatFeatureFlags::DEPTH_STENCIL_ATTACHMENT,
            )
        } else {
            (
                vk::ImageUsageFlags::COLOR_ATTACHMENT | vk::ImageUsageFlags::INPUT_ATTACHMENT,
                vk::FormatFeatureFlags::COLOR_ATTACHMENT,
            )
        };
        if !ctx.format_features(format).contains(feature) {
            return Err(GpuError::Setup(format!(
                "{format:?} is not reported as an attachment format by {}",
                ctx.name()
            )));
        }
        let d = &ctx.device;
        let image_info = vk::ImageCreateInfo::default()
            .image_type(vk::ImageType::TYPE_2D)
            .format(format)
            .extent(vk::Extent3D {
                width,
                height,
                depth: 1,
            })
            .mip_levels(1)
            .array_layers(1)
            .samples(vk::SampleCountFlags::TYPE_1)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(usage | vk::ImageUsageFlags::TRANSFER_SRC | vk::ImageUsageFlags::TRANSFER_DST)
            .initial_layout(vk::ImageLayout::UNDEFINED);
        // SAFETY: `d` is live; the create info outlives the call.
        let image = unsafe { d.create_image(&image_info, None) }.ctx("vkCreateImage")?;
        let mut att = Attachment {
            ctx,
            image,
            memory: vk::DeviceMemory::null(),
            view: vk::ImageView::null(),
            format,
            info,
            width,
            height,
        };
        att.memory = bind_image_memory(ctx, image)?;
        let view_info = vk::ImageViewCreateInfo::default()
            .image(image)
            .view_type(vk::ImageViewType::TYPE_2D)
            .format(format)
            .subresource_range(att.range());
        // SAFETY: `image` is live and bound.
        att.view = unsafe { d.create_image_view(&view_info, None) }.ctx("vkCreateImageView")?;
        Ok(att)
    }

    /// The whole image, every aspect of the format.
    pub fn range(&self) -> vk::ImageSubresourceRange {
        vk::ImageSubresourceRange {
            aspect_mask: self.info.aspects(),
            base_mip_level: 0,
            level_count: 1,
            base_array_layer: 0,
            layer_count: 1,
        }
    }
}

impl Drop for Attachment<'_> {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: every submission is waited for; null handles are ignored by vkDestroy*.
        unsafe {
            d.destroy_image_view(self.view, None);
            d.destroy_image(self.image, None);
            d.free_memory(self.memory, None);
        }
    }
}

/// Allocates memory for `image` (device-local if offered) and binds it at offset 0; the
/// memory is freed again if binding fails.
pub(crate) fn bind_image_memory(
    ctx: &GraphicsContext,
    image: vk::Image,
) -> Result<vk::DeviceMemory, GpuError> {
    let d = &ctx.device;
    // SAFETY: `image` is a live image of this device (the caller's contract).
    let req = unsafe { d.get_image_memory_requirements(image) };
    let memory_type = ctx
        .memory_type(req.memory_type_bits, vk::MemoryPropertyFlags::DEVICE_LOCAL)
        .or_else(|_| ctx.memory_type(req.memory_type_bits, vk::MemoryPropertyFlags::empty()))?;
    let alloc = vk::MemoryAllocateInfo::default()
        .allocation_size(req.size)
        .memory_type_index(memory_type);
    // SAFETY: `d` is live; `alloc` names a memory type of this device.
    let memory = unsafe { d.allocate_memory(&alloc, None) }.ctx("vkAllocateMemory")?;
    // SAFETY: fresh image and memory of the required size and a compatible type.
    if let Err(e) = unsafe { d.bind_image_memory(image, memory, 0) }.ctx("vkBindImageMemory") {
        // SAFETY: the memory is unused (the bind failed).
        unsafe { d.free_memory(memory, None) };
        return Err(e);
    }
    Ok(memory)
}
