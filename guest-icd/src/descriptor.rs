//! Descriptor set layouts, pools, sets and their updates, for every Vulkan 1.0 descriptor
//! type. Immutable samplers travel as sampler ids in the layout (the device copies them).
//! A write the ICD cannot encode (an unknown descriptor type, a missing info array) is logged
//! and marks the set broken, so that binding it breaks the command buffer (fails at submit).

use crate::device::{device, Device};
use crate::entry::{guard, guard_void, slice, write_out};
use crate::error::{IcdError, IcdResult};
use crate::handle::{new_id, object, take_object, to_handle};
use crate::memory::poisoned;
use ash::vk::{self, Handle};
use protocol::sampler::DescriptorImageInfo;
use protocol::stream::{
    Command, CopyDescriptorSet, CreateDescriptorSet, CreateDescriptorSetLayout,
    DescriptorBufferInfo, DescriptorSetLayoutBinding, DestroyDescriptorSet,
    DestroyDescriptorSetLayout, WriteDescriptorImages, WriteDescriptorSet,
    WriteDescriptorTexelBuffers,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) struct DescriptorSetLayout {
    pub(crate) id: u64,
    /// Descriptors a set of this layout holds (the sum of the bindings' counts), as the
    /// device counts them against its per-client cap.
    descriptors: u64,
    /// Binding numbers that have immutable samplers (sorted).
    immutable: Arc<Vec<u32>>,
}

pub(crate) struct DescriptorPool {
    max_sets: u32,
    /// Handles of the live sets allocated from this pool.
    sets: Mutex<Vec<u64>>,
}

pub(crate) struct DescriptorSet {
    pub(crate) id: u64,
    /// Its layout's bindings with immutable samplers: writes there ignore `sampler`, which
    /// may then be any value and is never looked at.
    immutable: Arc<Vec<u32>>,
    /// Its layout's descriptor count, released from the cap when the set is freed.
    descriptors: u64,
    /// A write we could not encode reached this set.
    pub(crate) broken: AtomicBool,
}

/// How a descriptor type's writes travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriteFamily {
    /// `pBufferInfo` → WriteDescriptorSet.
    Buffer,
    /// `pImageInfo` → WriteDescriptorImages.
    Image,
    /// `pTexelBufferView` → WriteDescriptorTexelBuffers.
    TexelBuffer,
}

/// The family of a Vulkan 1.0 descriptor type; `None` for the types of extensions we do not
/// expose (inline uniform blocks, acceleration structures, …).
fn family(ty: vk::DescriptorType) -> Option<WriteFamily> {
    use vk::DescriptorType as T;
    match ty {
        T::UNIFORM_BUFFER
        | T::STORAGE_BUFFER
        | T::UNIFORM_BUFFER_DYNAMIC
        | T::STORAGE_BUFFER_DYNAMIC => Some(WriteFamily::Buffer),
        T::SAMPLER
        | T::COMBINED_IMAGE_SAMPLER
        | T::SAMPLED_IMAGE
        | T::STORAGE_IMAGE
        | T::INPUT_ATTACHMENT => Some(WriteFamily::Image),
        T::UNIFORM_TEXEL_BUFFER | T::STORAGE_TEXEL_BUFFER => Some(WriteFamily::TexelBuffer),
        _ => None,
    }
}

/// The wire command of one VkWriteDescriptorSet, or why it cannot be encoded.
///
/// # Safety
/// `w` is a valid write (Vulkan valid usage): its info array for the type holds
/// `descriptorCount` elements of live handles of ours.
unsafe fn encode_write(set: &DescriptorSet, w: &vk::WriteDescriptorSet<'_>) -> IcdResult<Command> {
    // Bindings a write rolls over into have the same immutable-sampler use as the first
    // (VUID-VkWriteDescriptorSet-descriptorCount-00318).
    let immutable = set.immutable.binary_search(&w.dst_binding).is_ok();
    let set = set.id;
    let unsupported = |why: String| IcdError::vk(vk::Result::ERROR_FEATURE_NOT_PRESENT, why);
    let family = family(w.descriptor_type).ok_or_else(|| {
        unsupported(format!(
            "descriptor type {:?} is not supported",
            w.descriptor_type
        ))
    })?;
    let missing = |what: &str| unsupported(format!("{:?} write without {what}", w.descriptor_type));
    let ty = w.descriptor_type.as_raw() as u32;
    let (binding, array_element) = (w.dst_binding, w.dst_array_element);
    Ok(match family {
        WriteFamily::Buffer => {
            if w.p_buffer_info.is_null() {
                return Err(missing("pBufferInfo"));
            }
            let mut buffers = Vec::with_capacity(w.descriptor_count as usize);
            // SAFETY: pBufferInfo holds descriptorCount elements (caller contract).
            for bi in unsafe { slice(w.p_buffer_info, w.descriptor_count) } {
                let id = if bi.buffer == vk::Buffer::null() {
                    0
                } else {
                    // SAFETY: a live buffer (caller contract).
                    unsafe { crate::buffer::buffer(bi.buffer) }?.id
                };
                buffers.push(DescriptorBufferInfo {
                    buffer: id,
                    offset: bi.offset,
                    range: bi.range,
                });
            }
            WriteDescriptorSet {
                set,
                binding,
                array_element,
                descriptor_type: ty,
                buffers,
            }
            .into()
        }
        WriteFamily::Image => {
            if w.p_image_info.is_null() {
                return Err(missing("pImageInfo"));
            }
            // Which members are read depends on the type (Vulkan §14.2.4): a handle the type
            // ignores may be anything, so it is not looked at.
            let reads_sampler = !immutable
                && matches!(
                    w.descriptor_type,
                    vk::DescriptorType::SAMPLER | vk::DescriptorType::COMBINED_IMAGE_SAMPLER
                );
            let reads_view = w.descriptor_type != vk::DescriptorType::SAMPLER;
            let mut images = Vec::with_capacity(w.descriptor_count as usize);
            // SAFETY: pImageInfo holds descriptorCount elements (caller contract).
            for ii in unsafe { slice(w.p_image_info, w.descriptor_count) } {
                let sampler = if reads_sampler {
                    // SAFETY: null or a live sampler (caller contract: the binding has no
                    // immutable samplers, so the member is read).
                    unsafe { crate::sampler::sampler_id(ii.sampler) }
                } else {
                    0
                };
                let image_view = if reads_view {
                    // SAFETY: null or a live image view (caller contract).
                    unsafe { crate::image::view_id(ii.image_view) }
                } else {
                    0
                };
                images.push(DescriptorImageInfo {
                    sampler,
                    image_view,
                    image_layout: ii.image_layout.as_raw() as u32,
                });
            }
            WriteDescriptorImages {
                set,
                binding,
                array_element,
                descriptor_type: ty,
                images,
            }
            .into()
        }
        WriteFamily::TexelBuffer => {
            if w.p_texel_buffer_view.is_null() {
                return Err(missing("pTexelBufferView"));
            }
            // SAFETY: pTexelBufferView holds descriptorCount elements (caller contract).
            let views = unsafe { slice(w.p_texel_buffer_view, w.descriptor_count) }
                .iter()
                // SAFETY: null or live buffer views (caller contract).
                .map(|&v| unsafe { crate::sampler::buffer_view_id(v) })
                .collect();
            WriteDescriptorTexelBuffers {
                set,
                binding,
                array_element,
                descriptor_type: ty,
                views,
            }
            .into()
        }
    })
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
            if family(b.descriptor_type).is_none() && b.descriptor_count > 0 {
                return Err(IcdError::vk(
                    vk::Result::ERROR_FEATURE_NOT_PRESENT,
                    format!("descriptor type {:?} is not supported", b.descriptor_type),
                ));
            }
            // pImmutableSamplers is read for sampler types only (Vulkan §14.2.1).
            let takes_samplers = matches!(
                b.descriptor_type,
                vk::DescriptorType::SAMPLER | vk::DescriptorType::COMBINED_IMAGE_SAMPLER
            );
            let immutable_samplers = if takes_samplers && !b.p_immutable_samplers.is_null() {
                // SAFETY: descriptorCount live samplers (valid usage).
                unsafe { slice(b.p_immutable_samplers, b.descriptor_count) }
                    .iter()
                    // SAFETY: live samplers of ours (valid usage).
                    .map(|&s| unsafe { crate::sampler::sampler_id(s) })
                    .collect()
            } else {
                Vec::new()
            };
            // The device refuses VK_NULL_HANDLE among them; refuse it here with a result.
            if immutable_samplers.contains(&0) {
                return Err(IcdError::vk(
                    vk::Result::ERROR_INITIALIZATION_FAILED,
                    format!("binding {}: a null immutable sampler", b.binding),
                ));
            }
            if b.descriptor_type == vk::DescriptorType::INPUT_ATTACHMENT
                && b.descriptor_count > 0
                && !(b.stage_flags & !vk::ShaderStageFlags::FRAGMENT).is_empty()
            {
                return Err(IcdError::vk(
                    vk::Result::ERROR_INITIALIZATION_FAILED,
                    format!(
                        "input attachment binding {} with stages {:?}",
                        b.binding, b.stage_flags
                    ),
                ));
            }
            wire.push(DescriptorSetLayoutBinding {
                binding: b.binding,
                descriptor_type: b.descriptor_type.as_raw() as u32,
                count: b.descriptor_count,
                stages: b.stage_flags.as_raw(),
                immutable_samplers,
            });
        }
        let descriptors = bindings.iter().map(|b| u64::from(b.descriptor_count)).sum();
        let mut immutable: Vec<u32> = wire
            .iter()
            .filter(|b| !b.immutable_samplers.is_empty())
            .map(|b| b.binding)
            .collect();
        immutable.sort_unstable();
        let id = new_id();
        dev.enqueue(CreateDescriptorSetLayout { id, bindings: wire })?;
        let layout = DescriptorSetLayout {
            id,
            descriptors,
            immutable: Arc::new(immutable),
        };
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_layout, to_handle(layout)) }?;
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
            new.push((new_id(), l.id, l.descriptors, l.immutable.clone()));
        }
        // All sets or none (Vulkan §14.2.3: on failure no set is created and every output
        // handle is VK_NULL_HANDLE).
        let creates = new.iter().map(|&(id, layout, descriptors, _)| {
            (CreateDescriptorSet { id, layout }.into(), descriptors)
        });
        if let Err(e) = dev.enqueue_holding(creates) {
            // SAFETY: the app's array holds descriptor_set_count handles.
            unsafe { write_null_sets(p_sets, layouts.len()) };
            return Err(e);
        }
        for (i, (id, _, descriptors, immutable)) in new.into_iter().enumerate() {
            let h: vk::DescriptorSet = to_handle(DescriptorSet {
                id,
                immutable,
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
            // vkUpdateDescriptorSets cannot fail: a write that cannot be queued (one write
            // larger than the device's stream limit) breaks its set, so that binding it fails
            // the command buffer visibly instead of running with stale descriptors.
            // SAFETY: a valid write (valid usage).
            match unsafe { encode_write(dst, w) }.and_then(|cmd| dev.enqueue(cmd)) {
                Ok(()) => {}
                Err(e) => {
                    dst.broken.store(true, Ordering::Relaxed);
                    log::error!("vkUpdateDescriptorSets: {e}");
                }
            }
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
