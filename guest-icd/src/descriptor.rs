//! Descriptor set layouts, pools, sets and their updates. Only buffer descriptors exist yet
//! (storage, uniform and their dynamic variants); a write of any other type is logged and
//! marks the set broken, so that binding it breaks the command buffer (fails at submit).

use crate::device::{device, Device};
use crate::entry::{guard, guard_void, slice, write_out};
use crate::error::{IcdError, IcdResult};
use crate::handle::{new_id, object, take_object, to_handle};
use crate::memory::poisoned;
use ash::vk::{self, Handle};
use protocol::stream::{
    CopyDescriptorSet, CreateDescriptorSet, CreateDescriptorSetLayout, DescriptorBufferInfo,
    DescriptorSetLayoutBinding, DestroyDescriptorSet, DestroyDescriptorSetLayout,
    WriteDescriptorSet,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

pub(crate) struct DescriptorSetLayout {
    pub(crate) id: u64,
    /// Descriptors a set of this layout holds (the sum of the bindings' counts), as the
    /// device counts them against its per-client cap.
    descriptors: u64,
}

pub(crate) struct DescriptorPool {
    max_sets: u32,
    /// Handles of the live sets allocated from this pool.
    sets: Mutex<Vec<u64>>,
}

pub(crate) struct DescriptorSet {
    pub(crate) id: u64,
    /// Its layout's descriptor count, released from the cap when the set is freed.
    descriptors: u64,
    /// A write we could not encode reached this set.
    pub(crate) broken: AtomicBool,
}

fn supported(ty: vk::DescriptorType) -> bool {
    [
        vk::DescriptorType::UNIFORM_BUFFER,
        vk::DescriptorType::STORAGE_BUFFER,
        vk::DescriptorType::UNIFORM_BUFFER_DYNAMIC,
        vk::DescriptorType::STORAGE_BUFFER_DYNAMIC,
    ]
    .contains(&ty)
}

/// # Safety
/// `h` is null or a live layout of ours.
pub(crate) unsafe fn layout<'a>(h: vk::DescriptorSetLayout) -> IcdResult<&'a DescriptorSetLayout> {
    // SAFETY: caller contract.
    unsafe { object::<_, DescriptorSetLayout>(h) }
        .ok_or_else(|| crate::handle::null_handle("descriptor set layout"))
}

/// # Safety
/// `h` is null or a live set of ours.
pub(crate) unsafe fn set<'a>(h: vk::DescriptorSet) -> IcdResult<&'a DescriptorSet> {
    // SAFETY: caller contract.
    unsafe { object::<_, DescriptorSet>(h) }
        .ok_or_else(|| crate::handle::null_handle("descriptor set"))
}

/// # Safety
/// Vulkan valid usage for `vkCreateDescriptorSetLayout`.
pub(crate) unsafe extern "system" fn create_descriptor_set_layout(
    dev: vk::Device,
    p_create_info: *const vk::DescriptorSetLayoutCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_layout: *mut vk::DescriptorSetLayout,
) -> vk::Result {
    guard("vkCreateDescriptorSetLayout", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        // SAFETY: (pointer, count) of a valid create info.
        let bindings = unsafe { slice(info.p_bindings, info.binding_count) };
        let mut wire = Vec::with_capacity(bindings.len());
        for b in bindings {
            if !supported(b.descriptor_type) && b.descriptor_count > 0 {
                return Err(IcdError::vk(
                    vk::Result::ERROR_FEATURE_NOT_PRESENT,
                    format!(
                        "descriptor type {:?} is not supported yet",
                        b.descriptor_type
                    ),
                ));
            }
            wire.push(DescriptorSetLayoutBinding {
                binding: b.binding,
                descriptor_type: b.descriptor_type.as_raw() as u32,
                count: b.descriptor_count,
                stages: b.stage_flags.as_raw(),
            });
        }
        let descriptors = bindings.iter().map(|b| u64::from(b.descriptor_count)).sum();
        let id = new_id();
        dev.enqueue(CreateDescriptorSetLayout { id, bindings: wire })?;
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_layout, to_handle(DescriptorSetLayout { id, descriptors })) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyDescriptorSetLayout`.
pub(crate) unsafe extern "system" fn destroy_descriptor_set_layout(
    dev: vk::Device,
    l: vk::DescriptorSetLayout,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyDescriptorSetLayout", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live layout, not used again (valid usage).
        if let Some(l) = unsafe { take_object::<_, DescriptorSetLayout>(l) } {
            dev.enqueue(DestroyDescriptorSetLayout { id: l.id })?;
        }
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkCreateDescriptorPool`.
pub(crate) unsafe extern "system" fn create_descriptor_pool(
    _dev: vk::Device,
    p_create_info: *const vk::DescriptorPoolCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_pool: *mut vk::DescriptorPool,
) -> vk::Result {
    guard("vkCreateDescriptorPool", || {
        // SAFETY: valid usage.
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        let pool = DescriptorPool {
            max_sets: info.max_sets,
            sets: Mutex::new(Vec::new()),
        };
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_pool, to_handle(pool)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// Frees every set of the pool (pool reset or destruction).
fn free_all(dev: &Device, pool: &DescriptorPool) -> IcdResult<()> {
    let sets = std::mem::take(&mut *pool.sets.lock().map_err(|_| poisoned())?);
    for s in sets {
        // SAFETY: the pool only lists live sets it allocated; they die with it.
        if let Some(s) = unsafe { take_object::<_, DescriptorSet>(vk::DescriptorSet::from_raw(s)) }
        {
            dev.enqueue_holding([(DestroyDescriptorSet { id: s.id }.into(), s.descriptors)])?;
        }
    }
    Ok(())
}

/// # Safety
/// Vulkan valid usage for `vkDestroyDescriptorPool`.
pub(crate) unsafe extern "system" fn destroy_descriptor_pool(
    dev: vk::Device,
    pool: vk::DescriptorPool,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyDescriptorPool", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live pool, not used again (valid usage).
        if let Some(p) = unsafe { take_object::<_, DescriptorPool>(pool) } {
            free_all(dev, &p)?;
        }
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkResetDescriptorPool`.
pub(crate) unsafe extern "system" fn reset_descriptor_pool(
    dev: vk::Device,
    pool: vk::DescriptorPool,
    _flags: vk::DescriptorPoolResetFlags,
) -> vk::Result {
    guard("vkResetDescriptorPool", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let p = unsafe { object::<_, DescriptorPool>(pool) }
            .ok_or_else(|| crate::handle::null_handle("descriptor pool"))?;
        free_all(dev, p)?;
        Ok(vk::Result::SUCCESS)
    })
}

/// Sets the `n` output handles of a failed vkAllocateDescriptorSets to VK_NULL_HANDLE.
///
/// # Safety
/// `p_sets` is valid for `n` writes.
unsafe fn write_null_sets(p_sets: *mut vk::DescriptorSet, n: usize) {
    for i in 0..n {
        // SAFETY: i < n, and `p_sets` holds n handles (caller contract).
        let slot = unsafe { p_sets.add(i) };
        // SAFETY: as above.
        unsafe { slot.write(vk::DescriptorSet::null()) };
    }
}

/// # Safety
/// Vulkan valid usage for `vkAllocateDescriptorSets`.
pub(crate) unsafe extern "system" fn allocate_descriptor_sets(
    dev: vk::Device,
    p_allocate_info: *const vk::DescriptorSetAllocateInfo<'_>,
    p_sets: *mut vk::DescriptorSet,
) -> vk::Result {
    guard("vkAllocateDescriptorSets", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let info = unsafe { p_allocate_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(
                vk::Result::ERROR_INITIALIZATION_FAILED,
                "null allocate info",
            )
        })?;
        // SAFETY: valid usage.
        let pool = unsafe { object::<_, DescriptorPool>(info.descriptor_pool) }
            .ok_or_else(|| crate::handle::null_handle("descriptor pool"))?;
        // SAFETY: (pointer, count) of a valid allocate info.
        let layouts = unsafe { slice(info.p_set_layouts, info.descriptor_set_count) };
        if p_sets.is_null() && !layouts.is_empty() {
            return Err(IcdError::vk(
                vk::Result::ERROR_INITIALIZATION_FAILED,
                "null output array",
            ));
        }
        let mut sets = pool.sets.lock().map_err(|_| poisoned())?;
        if sets.len() + layouts.len() > pool.max_sets as usize {
            // Vulkan 1.0 §14.2.3: a pool out of sets may fail with either error; write NULLs.
            // SAFETY: the app's array holds descriptor_set_count handles.
            unsafe { write_null_sets(p_sets, layouts.len()) };
            return Ok(vk::Result::ERROR_OUT_OF_POOL_MEMORY);
        }
        let mut new = Vec::with_capacity(layouts.len());
        for l in layouts {
            // SAFETY: valid usage.
            let l = unsafe { layout(*l) }?;
            new.push((new_id(), l.id, l.descriptors));
        }
        // All sets or none (Vulkan §14.2.3: on failure no set is created and every output
        // handle is VK_NULL_HANDLE).
        let creates = new.iter().map(|&(id, layout, descriptors)| {
            (CreateDescriptorSet { id, layout }.into(), descriptors)
        });
        if let Err(e) = dev.enqueue_holding(creates) {
            // SAFETY: the app's array holds descriptor_set_count handles.
            unsafe { write_null_sets(p_sets, layouts.len()) };
            return Err(e);
        }
        for (i, (id, _, descriptors)) in new.into_iter().enumerate() {
            let h: vk::DescriptorSet = to_handle(DescriptorSet {
                id,
                descriptors,
                broken: AtomicBool::new(false),
            });
            sets.push(h.as_raw());
            // SAFETY: i < descriptor_set_count, the app's array length.
            unsafe { p_sets.add(i).write(h) };
        }
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkFreeDescriptorSets`.
pub(crate) unsafe extern "system" fn free_descriptor_sets(
    dev: vk::Device,
    pool: vk::DescriptorPool,
    count: u32,
    p_sets: *const vk::DescriptorSet,
) -> vk::Result {
    guard("vkFreeDescriptorSets", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let pool = unsafe { object::<_, DescriptorPool>(pool) }
            .ok_or_else(|| crate::handle::null_handle("descriptor pool"))?;
        let mut sets = pool.sets.lock().map_err(|_| poisoned())?;
        // SAFETY: (pointer, count) (valid usage).
        for h in unsafe { slice(p_sets, count) } {
            let Some(i) = sets.iter().position(|s| *s == h.as_raw()) else {
                continue;
            };
            sets.swap_remove(i);
            // SAFETY: a live set of this pool (found in its list), not used again.
            if let Some(s) = unsafe { take_object::<_, DescriptorSet>(*h) } {
                dev.enqueue_holding([(DestroyDescriptorSet { id: s.id }.into(), s.descriptors)])?;
            }
        }
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkUpdateDescriptorSets`.
pub(crate) unsafe extern "system" fn update_descriptor_sets(
    dev: vk::Device,
    write_count: u32,
    p_writes: *const vk::WriteDescriptorSet<'_>,
    copy_count: u32,
    p_copies: *const vk::CopyDescriptorSet<'_>,
) {
    guard_void("vkUpdateDescriptorSets", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: (pointer, count) (valid usage).
        for w in unsafe { slice(p_writes, write_count) } {
            // SAFETY: valid usage.
            let dst = unsafe { set(w.dst_set) }?;
            if !supported(w.descriptor_type) || w.p_buffer_info.is_null() {
                dst.broken.store(true, Ordering::Relaxed);
                log::error!(
                    "vkUpdateDescriptorSets: descriptor type {:?} is not supported yet",
                    w.descriptor_type
                );
                continue;
            }
            let mut buffers = Vec::with_capacity(w.descriptor_count as usize);
            // SAFETY: pBufferInfo holds descriptorCount elements for buffer types (valid usage).
            for bi in unsafe { slice(w.p_buffer_info, w.descriptor_count) } {
                let id = if bi.buffer == vk::Buffer::null() {
                    0
                } else {
                    // SAFETY: valid usage.
                    unsafe { crate::buffer::buffer(bi.buffer) }?.id
                };
                buffers.push(DescriptorBufferInfo {
                    buffer: id,
                    offset: bi.offset,
                    range: bi.range,
                });
            }
            dev.enqueue(WriteDescriptorSet {
                set: dst.id,
                binding: w.dst_binding,
                array_element: w.dst_array_element,
                descriptor_type: w.descriptor_type.as_raw() as u32,
                buffers,
            })?;
        }
        // SAFETY: (pointer, count) (valid usage).
        for c in unsafe { slice(p_copies, copy_count) } {
            // SAFETY: valid usage.
            let (src, dst) = unsafe { (set(c.src_set)?, set(c.dst_set)?) };
            if src.broken.load(Ordering::Relaxed) {
                dst.broken.store(true, Ordering::Relaxed);
            }
            dev.enqueue(CopyDescriptorSet {
                src_set: src.id,
                src_binding: c.src_binding,
                src_array_element: c.src_array_element,
                dst_set: dst.id,
                dst_binding: c.dst_binding,
                dst_array_element: c.dst_array_element,
                count: c.descriptor_count,
            })?;
        }
        Ok(())
    })
}
