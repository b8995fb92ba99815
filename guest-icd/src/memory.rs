//! Device memory: large blocks from the transport (each one guest-RAM resource the device
//! also sees), sub-allocated like any real driver to keep the number of resources and
//! mappings small (DESIGN §3). Requests of a block's size or more get a block of their own.
//! Memory is HOST_COHERENT for real — the device reads the very pages we write — so flush and
//! invalidate have nothing to do.
//!
//! Every block is counted against the client's device-memory budget before the device sees it
//! ([`crate::object_caps::ClientAccount`]): past it, vkAllocateMemory fails at once with
//! `VK_ERROR_OUT_OF_DEVICE_MEMORY`. When a shared block no longer fits the budget, a request
//! gets a block of just its own size.

use crate::device::{device, Device};
use crate::entry::{guard, guard_void, write_out};
use crate::error::{IcdError, IcdResult};
use crate::handle::{object, take_object, to_handle};
use crate::physical_device::BUFFER_ALIGNMENT;
use crate::transport::{MemoryBlock, Transport};
use ash::vk;
use std::ffi::c_void;
use std::sync::{Arc, Mutex};

/// Size of a shared block.
pub(crate) const BLOCK_SIZE: u64 = 64 << 20;

/// A sub-allocation: `size` bytes at `offset` in resource `resource`, mapped at `ptr`.
#[derive(Debug)]
pub(crate) struct Allocation {
    pub(crate) resource: u32,
    pub(crate) offset: u64,
    pub(crate) size: u64,
    pub(crate) ptr: *mut u8,
}

// SAFETY: `ptr` points into a shared mapping that stays valid until the allocation is freed;
// Vulkan lets any thread access mapped memory.
unsafe impl Send for Allocation {}
// SAFETY: as for `Send`: `&Allocation` exposes the address only.
unsafe impl Sync for Allocation {}

// The u32/u64 accessors check the alignment of block base (page-aligned) + offset before
// casting.
#[allow(clippy::cast_ptr_alignment)]
impl Allocation {
    pub(crate) fn location(&self, at: u64) -> protocol::stream::GuestLocation {
        protocol::stream::GuestLocation {
            resource: self.resource,
            offset: self.offset + at,
        }
    }

    /// Writes `bytes` at `at` (bounds-checked against the allocation).
    pub(crate) fn write(&self, at: u64, bytes: &[u8]) -> IcdResult<()> {
        let end = at.checked_add(bytes.len() as u64);
        if end.is_none_or(|e| e > self.size) {
            return Err(IcdError::vk(
                vk::Result::ERROR_UNKNOWN,
                "write outside an internal allocation",
            ));
        }
        // SAFETY: `at + len <= size` (checked), and the allocation's bytes are mapped.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.add(at as usize), bytes.len())
        };
        Ok(())
    }

    /// Reads a `u64` the device may write concurrently (volatile: no caching by the compiler).
    pub(crate) fn read_u64(&self, at: u64) -> u64 {
        if at.checked_add(8).is_none_or(|e| e > self.size) || (self.offset + at) % 8 != 0 {
            return 0;
        }
        // SAFETY: in bounds and 8-aligned (checked: blocks are page-aligned).
        unsafe { std::ptr::read_volatile(self.ptr.add(at as usize).cast::<u64>()) }
    }

    pub(crate) fn write_u64(&self, at: u64, v: u64) {
        if at.checked_add(8).is_none_or(|e| e > self.size) || (self.offset + at) % 8 != 0 {
            return;
        }
        // SAFETY: in bounds and 8-aligned (checked).
        unsafe { std::ptr::write_volatile(self.ptr.add(at as usize).cast::<u64>(), v) };
    }

    pub(crate) fn read_u32(&self, at: u64) -> u32 {
        if at.checked_add(4).is_none_or(|e| e > self.size) || (self.offset + at) % 4 != 0 {
            return 0;
        }
        // SAFETY: in bounds and 4-aligned (checked).
        unsafe { std::ptr::read_volatile(self.ptr.add(at as usize).cast::<u32>()) }
    }

    pub(crate) fn write_u32(&self, at: u64, v: u32) {
        if at.checked_add(4).is_none_or(|e| e > self.size) || (self.offset + at) % 4 != 0 {
            return;
        }
        // SAFETY: in bounds and 4-aligned (checked).
        unsafe { std::ptr::write_volatile(self.ptr.add(at as usize).cast::<u32>(), v) };
    }
}

struct Block {
    memory: MemoryBlock,
    /// Free ranges `(offset, len)`, sorted by offset, never adjacent (coalesced).
    free: Vec<(u64, u64)>,
}

impl Block {
    fn take(&mut self, size: u64, align: u64) -> Option<u64> {
        for i in 0..self.free.len() {
            let (start, len) = self.free[i];
            let aligned = start.checked_next_multiple_of(align)?;
            let pad = aligned - start;
            if len < pad.checked_add(size)? {
                continue;
            }
            let rest = len - pad - size;
            let mut replace = Vec::with_capacity(2);
            if pad > 0 {
                replace.push((start, pad));
            }
            if rest > 0 {
                replace.push((aligned + size, rest));
            }
            self.free.splice(i..=i, replace);
            return Some(aligned);
        }
        None
    }

    fn give_back(&mut self, offset: u64, size: u64) {
        let i = self.free.partition_point(|&(o, _)| o < offset);
        self.free.insert(i, (offset, size));
        // Coalesce with the next, then the previous neighbour.
        if i + 1 < self.free.len() && self.free[i].0 + self.free[i].1 == self.free[i + 1].0 {
            self.free[i].1 += self.free[i + 1].1;
            self.free.remove(i + 1);
        }
        if i > 0 && self.free[i - 1].0 + self.free[i - 1].1 == self.free[i].0 {
            self.free[i - 1].1 += self.free[i].1;
            self.free.remove(i);
        }
    }

    fn is_empty(&self) -> bool {
        self.free.len() == 1 && self.free[0] == (0, self.memory.size)
    }
}

/// The device's memory allocator.
pub(crate) struct MemoryAllocator {
    transport: Arc<dyn Transport>,
    blocks: Mutex<Vec<Block>>,
}

impl MemoryAllocator {
    pub(crate) fn new(transport: Arc<dyn Transport>) -> MemoryAllocator {
        MemoryAllocator {
            transport,
            blocks: Mutex::new(Vec::new()),
        }
    }

    /// `size` bytes aligned to `align` (a power of two ≤ 4096), zero-filled.
    pub(crate) fn allocate(&self, size: u64, align: u64) -> IcdResult<Allocation> {
        let size = size.max(1);
        let mut blocks = self.blocks.lock().map_err(|_| poisoned())?;
        let found = blocks.iter_mut().find_map(|b| {
            b.take(size, align)
                .map(|o| (b.memory.resource_id, o, b.memory.ptr))
        });
        let (resource, offset, base) = match found {
            Some(f) => f,
            None => {
                let memory = self.create_block(size)?;
                let mut block = Block {
                    free: vec![(0, memory.size)],
                    memory,
                };
                let Some(offset) = block.take(size, align) else {
                    self.destroy_block(block.memory);
                    return Err(IcdError::vk(
                        vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                        format!("no room for {size} bytes aligned to {align} in a new block"),
                    ));
                };
                let found = (block.memory.resource_id, offset, block.memory.ptr);
                blocks.push(block);
                found
            }
        };
        // SAFETY: offset + size ≤ block size (the free list only holds in-block ranges).
        let ptr = unsafe { base.add(offset as usize) };
        // Sub-allocations are reused: Vulkan says nothing of their content, but internal users
        // (replies, counters, query slots) rely on zeroes, and a fresh block is zero anyway.
        // SAFETY: the range is in the block and ours alone now.
        unsafe { std::ptr::write_bytes(ptr, 0, size as usize) };
        Ok(Allocation {
            resource,
            offset,
            size,
            ptr,
        })
    }

    /// A new block for a request of `size` bytes, counted against the client's device-memory
    /// budget before the device sees it: a shared block if the budget has room for one, else
    /// a block of just the request (whole pages), else `VK_ERROR_OUT_OF_DEVICE_MEMORY`.
    fn create_block(&self, size: u64) -> IcdResult<MemoryBlock> {
        let capset = self.transport.capset();
        let exact = crate::transport::block_size(capset, size)?;
        // A device whose largest allocation is below a shared block's size gets exact blocks.
        let shared = crate::transport::block_size(capset, size.max(BLOCK_SIZE)).unwrap_or(exact);
        let account = self.transport.client();
        let bytes = match account.reserve_memory(shared) {
            Ok(()) => shared,
            Err(e) if exact == shared => return Err(e),
            Err(_) => {
                account.reserve_memory(exact)?;
                exact
            }
        };
        match self.transport.create_memory(bytes) {
            Ok(memory) if memory.size == bytes => Ok(memory),
            Ok(memory) => {
                // Every transport rounds as `block_size` does; a block of another size would
                // leave the account wrong: give it back.
                self.transport.destroy_memory(memory);
                account.release_memory(bytes);
                Err(IcdError::vk(
                    vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                    "transport returned a block of another size than asked",
                ))
            }
            Err(e) => {
                account.release_memory(bytes);
                Err(e.into())
            }
        }
    }

    /// Gives a block back to the device and uncounts it.
    fn destroy_block(&self, memory: MemoryBlock) {
        let bytes = memory.size;
        self.transport.destroy_memory(memory);
        self.transport.client().release_memory(bytes);
    }

    pub(crate) fn free(&self, a: &Allocation) {
        let Ok(mut blocks) = self.blocks.lock() else {
            return;
        };
        let Some(i) = blocks
            .iter()
            .position(|b| b.memory.resource_id == a.resource)
        else {
            log::error!("freeing memory of unknown resource {}", a.resource);
            return;
        };
        blocks[i].give_back(a.offset, a.size);
        if blocks[i].is_empty() {
            let block = blocks.swap_remove(i);
            self.destroy_block(block.memory);
        }
    }

    /// Releases every block (device destruction).
    pub(crate) fn release_all(&self) {
        let Ok(mut blocks) = self.blocks.lock() else {
            return;
        };
        for b in blocks.drain(..) {
            self.destroy_block(b.memory);
        }
    }
}

pub(crate) fn poisoned() -> IcdError {
    IcdError::vk(
        vk::Result::ERROR_DEVICE_LOST,
        "internal lock poisoned by an earlier panic",
    )
}

/// A VkDeviceMemory.
pub(crate) struct DeviceMemory {
    pub(crate) allocation: Allocation,
    pub(crate) requested: u64,
}

/// # Safety
/// `h` is null or a live VkDeviceMemory of ours.
pub(crate) unsafe fn memory<'a>(h: vk::DeviceMemory) -> IcdResult<&'a DeviceMemory> {
    // SAFETY: caller contract.
    unsafe { object::<_, DeviceMemory>(h) }.ok_or_else(|| crate::handle::null_handle("memory"))
}

/// # Safety
/// Vulkan valid usage for `vkAllocateMemory`.
pub(crate) unsafe extern "system" fn allocate_memory(
    dev: vk::Device,
    p_allocate_info: *const vk::MemoryAllocateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_memory: *mut vk::DeviceMemory,
) -> vk::Result {
    guard("vkAllocateMemory", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let info = unsafe { p_allocate_info.as_ref() }
            .ok_or_else(|| IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null info"))?;
        if info.memory_type_index != 0 {
            return Err(IcdError::vk(
                vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                format!("no memory type {}", info.memory_type_index),
            ));
        }
        if info.allocation_size > dev.capset.max_memory_allocation_size {
            return Err(IcdError::vk(
                vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                format!(
                    "{} bytes exceed the device's largest allocation",
                    info.allocation_size
                ),
            ));
        }
        let size = info
            .allocation_size
            .checked_next_multiple_of(BUFFER_ALIGNMENT)
            .ok_or_else(|| {
                IcdError::vk(vk::Result::ERROR_OUT_OF_DEVICE_MEMORY, "size overflows")
            })?;
        let allocation = dev.memory.allocate(size, BUFFER_ALIGNMENT)?;
        let handle = to_handle(DeviceMemory {
            allocation,
            requested: info.allocation_size,
        });
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_memory, handle) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkFreeMemory`.
pub(crate) unsafe extern "system" fn free_memory(
    dev: vk::Device,
    mem: vk::DeviceMemory,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkFreeMemory", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live memory object, not used again (valid usage).
        if let Some(m) = unsafe { take_object::<_, DeviceMemory>(mem) } {
            dev.memory.free(&m.allocation);
        }
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkMapMemory`.
pub(crate) unsafe extern "system" fn map_memory(
    _dev: vk::Device,
    mem: vk::DeviceMemory,
    offset: vk::DeviceSize,
    size: vk::DeviceSize,
    _flags: vk::MemoryMapFlags,
    pp_data: *mut *mut c_void,
) -> vk::Result {
    guard("vkMapMemory", || {
        // SAFETY: valid usage.
        let m = unsafe { memory(mem) }?;
        let end = if size == vk::WHOLE_SIZE {
            Some(m.requested)
        } else {
            offset.checked_add(size)
        };
        if offset >= m.requested || end.is_none_or(|e| e > m.requested) {
            return Err(IcdError::vk(
                vk::Result::ERROR_MEMORY_MAP_FAILED,
                format!("range {offset}+{size} outside {} bytes", m.requested),
            ));
        }
        // SAFETY: offset < requested ≤ allocation size (checked).
        let p = unsafe { m.allocation.ptr.add(offset as usize) };
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(pp_data, p.cast::<c_void>()) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// Nothing to undo: blocks stay mapped for their life.
///
/// # Safety
/// Vulkan valid usage for `vkUnmapMemory`.
pub(crate) unsafe extern "system" fn unmap_memory(_dev: vk::Device, _mem: vk::DeviceMemory) {}

/// HOST_COHERENT is true coherence: the device reads the very pages the app wrote.
///
/// # Safety
/// Vulkan valid usage for `vkFlushMappedMemoryRanges`.
pub(crate) unsafe extern "system" fn flush_mapped_memory_ranges(
    _dev: vk::Device,
    _count: u32,
    _ranges: *const vk::MappedMemoryRange<'_>,
) -> vk::Result {
    vk::Result::SUCCESS
}

/// As for flush.
///
/// # Safety
/// Vulkan valid usage for `vkInvalidateMappedMemoryRanges`.
pub(crate) unsafe extern "system" fn invalidate_mapped_memory_ranges(
    _dev: vk::Device,
    _count: u32,
    _ranges: *const vk::MappedMemoryRange<'_>,
) -> vk::Result {
    vk::Result::SUCCESS
}

/// # Safety
/// Vulkan valid usage for `vkGetDeviceMemoryCommitment`.
pub(crate) unsafe extern "system" fn get_device_memory_commitment(
    _dev: vk::Device,
    mem: vk::DeviceMemory,
    p_committed: *mut vk::DeviceSize,
) {
    guard_void("vkGetDeviceMemoryCommitment", || {
        // SAFETY: valid usage.
        let m = unsafe { memory(mem) }?;
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_committed, m.allocation.size) }
    })
}
