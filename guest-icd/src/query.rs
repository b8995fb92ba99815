//! Query pools of type TIMESTAMP. Each query is 16 bytes of device memory: the timestamp (a
//! `u64` of nanoseconds) and an availability `u64` the device sets to 1 after it
//! (`CmdWriteTimestamp`). Resets write 0 to the availability word (`CmdWriteGuestU32`; the
//! high half is never non-zero).

use crate::command_buffer::record;
use crate::device::{device, Device};
use crate::entry::{guard, guard_void, write_out};
use crate::error::{IcdError, IcdResult};
use crate::handle::{object, take_object, to_handle};
use crate::memory::Allocation;
use ash::vk;
use protocol::stream::{CmdWriteGuestU32, CmdWriteTimestamp};
use protocol::Command;

const SLOT: u64 = 16;

pub(crate) struct QueryPool {
    slots: Allocation,
    count: u32,
}

impl QueryPool {
    fn check(&self, first: u32, count: u32) -> IcdResult<()> {
        if first.checked_add(count).is_none_or(|e| e > self.count) {
            return Err(IcdError::vk(
                vk::Result::ERROR_DEVICE_LOST,
                format!("queries {first}+{count} outside a pool of {}", self.count),
            ));
        }
        Ok(())
    }
}

/// # Safety
/// `h` is null or a live pool of ours.
unsafe fn pool<'a>(h: vk::QueryPool) -> IcdResult<&'a QueryPool> {
    // SAFETY: caller contract.
    unsafe { object::<_, QueryPool>(h) }.ok_or_else(|| crate::handle::null_handle("query pool"))
}

/// # Safety
/// Vulkan valid usage for `vkCreateQueryPool`.
pub(crate) unsafe extern "system" fn create_query_pool(
    dev: vk::Device,
    p_create_info: *const vk::QueryPoolCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_pool: *mut vk::QueryPool,
) -> vk::Result {
    guard("vkCreateQueryPool", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        if info.query_type != vk::QueryType::TIMESTAMP {
            return Err(IcdError::vk(
                vk::Result::ERROR_FEATURE_NOT_PRESENT,
                format!("query type {:?} is not supported", info.query_type),
            ));
        }
        let size = u64::from(info.query_count.max(1)) * SLOT;
        // Zero-filled: every query starts unavailable.
        let slots = dev.memory.allocate(size, 8)?;
        // SAFETY: output pointer (valid usage).
        unsafe {
            write_out(
                p_pool,
                to_handle(QueryPool {
                    slots,
                    count: info.query_count,
                }),
            )
        }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyQueryPool`.
pub(crate) unsafe extern "system" fn destroy_query_pool(
    dev: vk::Device,
    p: vk::QueryPool,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyQueryPool", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live pool, not used again (valid usage).
        if let Some(p) = unsafe { take_object::<_, QueryPool>(p) } {
            dev.memory.free(&p.slots);
        }
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkCmdResetQueryPool`.
pub(crate) unsafe extern "system" fn cmd_reset_query_pool(
    cb: vk::CommandBuffer,
    p: vk::QueryPool,
    first: u32,
    count: u32,
) {
    // SAFETY: valid usage.
    unsafe {
        record(cb, "vkCmdResetQueryPool", |_| {
            let p = pool(p)?;
            p.check(first, count)?;
            Ok((first..first + count)
                .map(|q| {
                    Command::from(CmdWriteGuestU32 {
                        dst: p.slots.location(u64::from(q) * SLOT + 8),
                        value: 0,
                    })
                })
                .collect())
        })
    }
}

fn write_timestamp(p: vk::QueryPool, query: u32) -> IcdResult<Vec<Command>> {
    // SAFETY: valid usage of the calling command.
    let p = unsafe { pool(p) }?;
    p.check(query, 1)?;
    Ok(vec![CmdWriteTimestamp {
        dst: p.slots.location(u64::from(query) * SLOT),
    }
    .into()])
}

/// # Safety
/// Vulkan valid usage for `vkCmdWriteTimestamp`.
pub(crate) unsafe extern "system" fn cmd_write_timestamp(
    cb: vk::CommandBuffer,
    _stage: vk::PipelineStageFlags,
    p: vk::QueryPool,
    query: u32,
) {
    // SAFETY: valid usage.
    unsafe { record(cb, "vkCmdWriteTimestamp", |_| write_timestamp(p, query)) }
}

/// # Safety
/// Vulkan valid usage for `vkCmdWriteTimestamp2`.
pub(crate) unsafe extern "system" fn cmd_write_timestamp2_khr(
    cb: vk::CommandBuffer,
    _stage: vk::PipelineStageFlags2,
    p: vk::QueryPool,
    query: u32,
) {
    // SAFETY: valid usage.
    unsafe { record(cb, "vkCmdWriteTimestamp2KHR", |_| write_timestamp(p, query)) }
}

/// # Safety
/// Vulkan valid usage for `vkGetQueryPoolResults`.
pub(crate) unsafe extern "system" fn get_query_pool_results(
    dev: vk::Device,
    p: vk::QueryPool,
    first: u32,
    count: u32,
    data_size: usize,
    p_data: *mut std::ffi::c_void,
    stride: vk::DeviceSize,
    flags: vk::QueryResultFlags,
) -> vk::Result {
    guard("vkGetQueryPoolResults", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let p = unsafe { pool(p) }?;
        p.check(first, count)?;
        let wide = flags.contains(vk::QueryResultFlags::TYPE_64);
        let avail_flag = flags.contains(vk::QueryResultFlags::WITH_AVAILABILITY);
        let elem: u64 = if wide { 8 } else { 4 };
        let per_query = elem * if avail_flag { 2 } else { 1 };
        // VUID-vkGetQueryPoolResults-dataSize-00817: the data holds every query's values.
        let needed = u64::from(count.saturating_sub(1))
            .checked_mul(stride)
            .and_then(|v| v.checked_add(per_query));
        if count > 0 && (p_data.is_null() || needed.is_none_or(|n| n > data_size as u64)) {
            return Err(IcdError::vk(
                vk::Result::ERROR_INITIALIZATION_FAILED,
                "query results do not fit the data",
            ));
        }
        let mut result = vk::Result::SUCCESS;
        for i in 0..count {
            let slot = u64::from(first + i) * SLOT;
            let mut available = p.slots.read_u64(slot + 8) != 0;
            if !available && flags.contains(vk::QueryResultFlags::WAIT) {
                // Everything that can make it available has been submitted (else the wait
                // could never end, which valid usage excludes): wait for it.
                dev.wait_idle()?;
                available = p.slots.read_u64(slot + 8) != 0;
                if !available {
                    log::warn!(
                        "vkGetQueryPoolResults: query {} waited for but never written",
                        first + i
                    );
                }
            }
            let out = p_data
                .cast::<u8>()
                .wrapping_add((u64::from(i) * stride) as usize);
            let put = |at: u64, v: u64| {
                // SAFETY: at + elem ≤ per_query ≤ the bytes of this query (checked above).
                unsafe {
                    if wide {
                        out.add(at as usize).cast::<u64>().write_unaligned(v)
                    } else {
                        out.add(at as usize).cast::<u32>().write_unaligned(v as u32)
                    }
                }
            };
            if available {
                put(0, p.slots.read_u64(slot));
            } else {
                result = vk::Result::NOT_READY;
            }
            if avail_flag {
                put(elem, u64::from(available));
            }
        }
        Ok(result)
    })
}
