//! Command pools and command buffers. Recording appends frames of the command stream to a
//! growing byte buffer; `vkEndCommandBuffer` copies it into device memory, so a submission
//! names it by `GuestRange` and large command buffers never travel through the transport.
//! A command we cannot record marks the buffer broken: its submission fails with
//! `VK_ERROR_DEVICE_LOST` and a log line, never a silent success.
//!
//! A command buffer runs on the device as one stream, with binding state that lives from one
//! command to the next inside it (vhost-device `CommandState`, reset per command buffer), so it
//! cannot be split into several: a recording that grows past the capset's `max_stream_size` is
//! out of device memory — `vkEndCommandBuffer` returns `VK_ERROR_OUT_OF_DEVICE_MEMORY`, as
//! Vulkan reports a recording that ran out of memory, and a submission of it fails the same way.
//! The recorded bytes are dropped at once, so the recording stops growing.

use crate::device::{device, Device};
use crate::entry::{guard, guard_void, slice, write_out};
use crate::error::{IcdError, IcdResult};
use crate::handle::{dispatchable, take_dispatchable, to_handle, Dispatchable};
use crate::memory::{poisoned, Allocation};
use ash::vk::{self, Handle};
use protocol::stream::{
    BufferCopy, CmdBindComputePipeline, CmdBindDescriptorSets, CmdBindGraphicsDescriptorSets,
    CmdBindGraphicsPipeline, CmdCopyBuffer, CmdDispatch, CmdDispatchIndirect, CmdFillBuffer,
    CmdPushConstants, CmdUpdateBuffer, GuestRange,
};
use protocol::Command;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

pub(crate) struct CommandPool {
    device: Arc<Device>,
    /// Raw handles of the live command buffers allocated from this pool.
    buffers: Mutex<Vec<u64>>,
}

pub(crate) struct CommandBuffer {
    device: Arc<Device>,
    recording: Mutex<Recording>,
}

#[derive(Default)]
pub(crate) struct Recording {
    bytes: Vec<u8>,
    /// Why this buffer cannot be executed, if it cannot.
    broken: Option<String>,
    /// The recording outgrew the device's stream limit (`broken` says so too).
    too_large: bool,
    /// The recorded stream in device memory, once ended.
    stored: Option<Allocation>,
}

impl CommandBuffer {
    fn release(&self, r: &mut Recording) {
        if let Some(a) = r.stored.take() {
            self.device.memory.free(&a);
        }
        r.bytes.clear();
        r.broken = None;
        r.too_large = false;
    }

    /// What a submission names to run this buffer: `Ok(None)` for an empty buffer.
    pub(crate) fn range(&self) -> IcdResult<Option<GuestRange>> {
        let r = self.recording.lock().map_err(|_| poisoned())?;
        if let Some(why) = &r.broken {
            let result = if r.too_large {
                vk::Result::ERROR_OUT_OF_DEVICE_MEMORY
            } else {
                vk::Result::ERROR_DEVICE_LOST
            };
            return Err(IcdError::vk(
                result,
                format!("submitted a broken command buffer: {why}"),
            ));
        }
        Ok(r.stored.as_ref().map(|a| GuestRange {
            resource: a.resource,
            offset: a.offset,
            len: r.bytes.len() as u64,
        }))
    }
}

/// # Safety
/// `h` is null or a live command buffer of ours.
pub(crate) unsafe fn command_buffer<'a>(h: vk::CommandBuffer) -> IcdResult<&'a CommandBuffer> {
    // SAFETY: caller contract.
    unsafe { dispatchable::<_, CommandBuffer>(h) }
        .ok_or_else(|| crate::handle::null_handle("command buffer"))
}

/// Records into `cb`: `body` returns the commands to append. An error marks the buffer broken.
///
/// # Safety
/// `cb` is null or a live command buffer of ours, in the recording state (valid usage).
pub(crate) unsafe fn record(
    cb: vk::CommandBuffer,
    name: &str,
    body: impl FnOnce(&Device) -> IcdResult<Vec<Command>>,
) {
    guard_void(name, || {
        // SAFETY: caller contract.
        let cb = unsafe { command_buffer(cb) }?;
        let mut r = cb.recording.lock().map_err(|_| poisoned())?;
        if r.broken.is_some() {
            return Ok(());
        }
        let result = body(&cb.device).and_then(|cmds| {
            for c in &cmds {
                protocol::encode_command(c, &mut r.bytes)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            r.broken = Some(format!("{name}: {e}"));
            return Err(e);
        }
        let max = cb.device.capset.max_stream_size as usize;
        if r.bytes.len() > max {
            let why = format!(
                "{name}: the recording reached {} bytes, past the device's stream limit of \
                 {max} bytes (a command buffer runs as one stream)",
                r.bytes.len()
            );
            r.bytes = Vec::new();
            r.too_large = true;
            r.broken = Some(why.clone());
            return Err(IcdError::vk(vk::Result::ERROR_OUT_OF_DEVICE_MEMORY, why));
        }
        Ok(())
    })
}

/// A recorded command we do not implement: the buffer is broken.
///
/// # Safety
/// `cb` is null or a live command buffer of ours.
pub(crate) unsafe fn record_unimplemented(cb: vk::CommandBuffer, name: &str) {
    // SAFETY: caller contract.
    unsafe {
        record(cb, name, |_| {
            Err(IcdError::vk(
                vk::Result::ERROR_DEVICE_LOST,
                format!("{name} is not implemented"),
            ))
        })
    }
}

/// A command the device cannot run as recorded: the buffer is broken.
pub(crate) fn unsupported(what: String) -> IcdError {
    IcdError::vk(vk::Result::ERROR_DEVICE_LOST, what)
}

/// # Safety
/// Vulkan valid usage for `vkCreateCommandPool`.
pub(crate) unsafe extern "system" fn create_command_pool(
    dev: vk::Device,
    p_create_info: *const vk::CommandPoolCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_pool: *mut vk::CommandPool,
) -> vk::Result {
    guard("vkCreateCommandPool", || {
        // SAFETY: valid usage.
        let dev = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        if info.queue_family_index != 0 {
            return Err(IcdError::vk(
                vk::Result::ERROR_INITIALIZATION_FAILED,
                format!("no queue family {}", info.queue_family_index),
            ));
        }
        let pool = CommandPool {
            device: dev.clone(),
            buffers: Mutex::new(Vec::new()),
        };
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_pool, to_handle(pool)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// `h` is null or a live pool of ours.
unsafe fn pool<'a>(h: vk::CommandPool) -> IcdResult<&'a CommandPool> {
    // SAFETY: caller contract.
    unsafe { crate::handle::object::<_, CommandPool>(h) }
        .ok_or_else(|| crate::handle::null_handle("command pool"))
}

/// Frees one command buffer of `pool` (already removed from its list).
fn free_buffer(raw: u64) {
    let handle = vk::CommandBuffer::from_raw(raw);
    // SAFETY: the pool lists only live buffers it allocated; each is freed once, here.
    let cb = unsafe { take_dispatchable::<_, CommandBuffer>(handle) };
    if let Some(cb) = cb {
        if let Ok(mut r) = cb.object.recording.lock() {
            cb.object.release(&mut r);
        }
    }
}

/// # Safety
/// Vulkan valid usage for `vkDestroyCommandPool`.
pub(crate) unsafe extern "system" fn destroy_command_pool(
    _dev: vk::Device,
    p: vk::CommandPool,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyCommandPool", || {
        // SAFETY: our live pool, not used again (valid usage).
        if let Some(p) = unsafe { crate::handle::take_object::<_, CommandPool>(p) } {
            let list = std::mem::take(&mut *p.buffers.lock().map_err(|_| poisoned())?);
            list.into_iter().for_each(free_buffer);
        }
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkResetCommandPool`.
pub(crate) unsafe extern "system" fn reset_command_pool(
    _dev: vk::Device,
    p: vk::CommandPool,
    _flags: vk::CommandPoolResetFlags,
) -> vk::Result {
    guard("vkResetCommandPool", || {
        // SAFETY: valid usage.
        let p = unsafe { pool(p) }?;
        for &raw in p.buffers.lock().map_err(|_| poisoned())?.iter() {
            // SAFETY: a live buffer of this pool.
            let cb = unsafe { command_buffer(vk::CommandBuffer::from_raw(raw)) }?;
            let mut r = cb.recording.lock().map_err(|_| poisoned())?;
            cb.release(&mut r);
        }
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkAllocateCommandBuffers`.
pub(crate) unsafe extern "system" fn allocate_command_buffers(
    _dev: vk::Device,
    p_allocate_info: *const vk::CommandBufferAllocateInfo<'_>,
    p_command_buffers: *mut vk::CommandBuffer,
) -> vk::Result {
    guard("vkAllocateCommandBuffers", || {
        // SAFETY: valid usage.
        let info = unsafe { p_allocate_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(
                vk::Result::ERROR_INITIALIZATION_FAILED,
                "null allocate info",
            )
        })?;
        // SAFETY: valid usage.
        let p = unsafe { pool(info.command_pool) }?;
        if p_command_buffers.is_null() && info.command_buffer_count > 0 {
            return Err(IcdError::vk(
                vk::Result::ERROR_INITIALIZATION_FAILED,
                "null output array",
            ));
        }
        let mut list = p.buffers.lock().map_err(|_| poisoned())?;
        for i in 0..info.command_buffer_count as usize {
            let cb = Dispatchable::boxed(CommandBuffer {
                device: p.device.clone(),
                recording: Mutex::new(Recording::default()),
            });
            let h: vk::CommandBuffer = cb.handle();
            Box::leak(cb);
            list.push(h.as_raw());
            // SAFETY: i < commandBufferCount, the app's array length.
            unsafe { p_command_buffers.add(i).write(h) };
        }
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkFreeCommandBuffers`.
pub(crate) unsafe extern "system" fn free_command_buffers(
    _dev: vk::Device,
    p: vk::CommandPool,
    count: u32,
    p_command_buffers: *const vk::CommandBuffer,
) {
    guard_void("vkFreeCommandBuffers", || {
        // SAFETY: valid usage.
        let p = unsafe { pool(p) }?;
        let mut list = p.buffers.lock().map_err(|_| poisoned())?;
        // SAFETY: (pointer, count) (valid usage).
        for h in unsafe { slice(p_command_buffers, count) } {
            if let Some(i) = list.iter().position(|r| *r == h.as_raw()) {
                free_buffer(list.swap_remove(i));
            }
        }
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkBeginCommandBuffer`.
pub(crate) unsafe extern "system" fn begin_command_buffer(
    cb: vk::CommandBuffer,
    _p_begin_info: *const vk::CommandBufferBeginInfo<'_>,
) -> vk::Result {
    guard("vkBeginCommandBuffer", || {
        // SAFETY: valid usage.
        let cb = unsafe { command_buffer(cb) }?;
        let mut r = cb.recording.lock().map_err(|_| poisoned())?;
        cb.release(&mut r);
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkEndCommandBuffer`.
pub(crate) unsafe extern "system" fn end_command_buffer(cb: vk::CommandBuffer) -> vk::Result {
    guard("vkEndCommandBuffer", || {
        // SAFETY: valid usage.
        let cb = unsafe { command_buffer(cb) }?;
        let mut r = cb.recording.lock().map_err(|_| poisoned())?;
        if r.too_large {
            return Err(IcdError::vk(
                vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                r.broken.clone().unwrap_or_default(),
            ));
        }
        if r.broken.is_some() || r.bytes.is_empty() {
            return Ok(vk::Result::SUCCESS);
        }
        if r.bytes.len() > cb.device.capset.max_stream_size as usize {
            return Err(IcdError::vk(
                vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                format!(
                    "{} recorded bytes exceed the device's stream limit",
                    r.bytes.len()
                ),
            ));
        }
        let a = cb.device.memory.allocate(r.bytes.len() as u64, 8)?;
        a.write(0, &r.bytes)?;
        r.stored = Some(a);
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkResetCommandBuffer`.
pub(crate) unsafe extern "system" fn reset_command_buffer(
    cb: vk::CommandBuffer,
    _flags: vk::CommandBufferResetFlags,
) -> vk::Result {
    guard("vkResetCommandBuffer", || {
        // SAFETY: valid usage.
        let cb = unsafe { command_buffer(cb) }?;
        let mut r = cb.recording.lock().map_err(|_| poisoned())?;
        cb.release(&mut r);
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkCmdBindPipeline`.
pub(crate) unsafe extern "system" fn cmd_bind_pipeline(
    cb: vk::CommandBuffer,
    bind_point: vk::PipelineBindPoint,
    p: vk::Pipeline,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdBindPipeline", |_| {
            let pipeline = crate::pipeline::pipeline(p)?.id;
            Ok(vec![match bind_point {
                vk::PipelineBindPoint::COMPUTE => CmdBindComputePipeline { pipeline }.into(),
                vk::PipelineBindPoint::GRAPHICS => CmdBindGraphicsPipeline { pipeline }.into(),
                _ => return Err(unsupported(format!("bind point {bind_point:?}"))),
            }])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdBindDescriptorSets`.
pub(crate) unsafe extern "system" fn cmd_bind_descriptor_sets(
    cb: vk::CommandBuffer,
    bind_point: vk::PipelineBindPoint,
    layout: vk::PipelineLayout,
    first_set: u32,
    set_count: u32,
    p_sets: *const vk::DescriptorSet,
    dynamic_offset_count: u32,
    p_dynamic_offsets: *const u32,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdBindDescriptorSets", |_| {
            let graphics = match bind_point {
                vk::PipelineBindPoint::COMPUTE => false,
                vk::PipelineBindPoint::GRAPHICS => true,
                _ => return Err(unsupported(format!("bind point {bind_point:?}"))),
            };
            let mut sets = Vec::with_capacity(set_count as usize);
            for h in slice(p_sets, set_count) {
                let s = crate::descriptor::set(*h)?;
                if s.broken.load(Ordering::Relaxed) {
                    return Err(unsupported(
                        "a descriptor set holds descriptors we could not write".into(),
                    ));
                }
                sets.push(s.id);
            }
            let layout = crate::pipeline::pipeline_layout(layout)?.id;
            let dynamic_offsets = slice(p_dynamic_offsets, dynamic_offset_count).to_vec();
            Ok(vec![if graphics {
                CmdBindGraphicsDescriptorSets {
                    layout,
                    first_set,
                    sets,
                    dynamic_offsets,
                }
                .into()
            } else {
                CmdBindDescriptorSets {
                    layout,
                    first_set,
                    sets,
                    dynamic_offsets,
                }
                .into()
            }])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdPushConstants`.
pub(crate) unsafe extern "system" fn cmd_push_constants(
    cb: vk::CommandBuffer,
    layout: vk::PipelineLayout,
    stages: vk::ShaderStageFlags,
    offset: u32,
    size: u32,
    p_values: *const std::ffi::c_void,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdPushConstants", |_| {
            Ok(vec![CmdPushConstants {
                layout: crate::pipeline::pipeline_layout(layout)?.id,
                stages: stages.as_raw(),
                offset,
                data: slice(p_values.cast::<u8>(), size).to_vec(),
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdDispatch`.
pub(crate) unsafe extern "system" fn cmd_dispatch(cb: vk::CommandBuffer, x: u32, y: u32, z: u32) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdDispatch", |_| {
            Ok(vec![CmdDispatch {
                base: [0; 3],
                groups: [x, y, z],
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdDispatchIndirect`.
pub(crate) unsafe extern "system" fn cmd_dispatch_indirect(
    cb: vk::CommandBuffer,
    buffer: vk::Buffer,
    offset: vk::DeviceSize,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdDispatchIndirect", |_| {
            Ok(vec![CmdDispatchIndirect {
                buffer: crate::buffer::buffer(buffer)?.id,
                offset,
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdCopyBuffer`.
pub(crate) unsafe extern "system" fn cmd_copy_buffer(
    cb: vk::CommandBuffer,
    src: vk::Buffer,
    dst: vk::Buffer,
    region_count: u32,
    p_regions: *const vk::BufferCopy,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdCopyBuffer", |_| {
            let regions = slice(p_regions, region_count)
                .iter()
                .map(|r| BufferCopy {
                    src_offset: r.src_offset,
                    dst_offset: r.dst_offset,
                    size: r.size,
                })
                .collect();
            Ok(vec![CmdCopyBuffer {
                src: crate::buffer::buffer(src)?.id,
                dst: crate::buffer::buffer(dst)?.id,
                regions,
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdFillBuffer`.
pub(crate) unsafe extern "system" fn cmd_fill_buffer(
    cb: vk::CommandBuffer,
    dst: vk::Buffer,
    offset: vk::DeviceSize,
    size: vk::DeviceSize,
    data: u32,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdFillBuffer", |_| {
            Ok(vec![CmdFillBuffer {
                dst: crate::buffer::buffer(dst)?.id,
                offset,
                size,
                data,
            }
            .into()])
        })
    }
}

/// # Safety
/// Vulkan valid usage for `vkCmdUpdateBuffer`.
pub(crate) unsafe extern "system" fn cmd_update_buffer(
    cb: vk::CommandBuffer,
    dst: vk::Buffer,
    offset: vk::DeviceSize,
    size: vk::DeviceSize,
    p_data: *const std::ffi::c_void,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdUpdateBuffer", |_| {
            // VUID-vkCmdUpdateBuffer-dataSize-00037: at most 65536 bytes.
            let size = u32::try_from(size)
                .ok()
                .filter(|s| *s <= 65536)
                .ok_or_else(|| unsupported(format!("update of {size} bytes")))?;
            Ok(vec![CmdUpdateBuffer {
                dst: crate::buffer::buffer(dst)?.id,
                offset,
                data: slice(p_data.cast::<u8>(), size).to_vec(),
            }
            .into()])
        })
    }
}

/// The device executes a queue's commands in order, each complete before the next starts,
/// memory is coherent, and an image's storage does not depend on its layout: barriers
/// (image layout transitions included) have nothing to do.
///
/// # Safety
/// Vulkan valid usage for `vkCmdPipelineBarrier`.
pub(crate) unsafe extern "system" fn cmd_pipeline_barrier(
    _cb: vk::CommandBuffer,
    _src_stage: vk::PipelineStageFlags,
    _dst_stage: vk::PipelineStageFlags,
    _dependency_flags: vk::DependencyFlags,
    _memory_barrier_count: u32,
    _p_memory_barriers: *const vk::MemoryBarrier<'_>,
    _buffer_memory_barrier_count: u32,
    _p_buffer_memory_barriers: *const vk::BufferMemoryBarrier<'_>,
    _image_memory_barrier_count: u32,
    _p_image_memory_barriers: *const vk::ImageMemoryBarrier<'_>,
) {
}

/// As for [`cmd_pipeline_barrier`].
///
/// # Safety
/// Vulkan valid usage for `vkCmdPipelineBarrier2`.
pub(crate) unsafe extern "system" fn cmd_pipeline_barrier2_khr(
    _cb: vk::CommandBuffer,
    _p_dependency_info: *const vk::DependencyInfo<'_>,
) {
}
