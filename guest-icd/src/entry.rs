//! Wrapping of entry points: no panic crosses the C ABI, and every error is logged once with
//! the command's name.

use crate::error::IcdResult;
use ash::vk;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs the body of a `VkResult` command. A panic (a bug) becomes
/// `VK_ERROR_INITIALIZATION_FAILED` rather than unwinding into C.
pub(crate) fn guard(name: &str, body: impl FnOnce() -> IcdResult<vk::Result>) -> vk::Result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            log::warn!("{name}: {e}");
            e.result()
        }
        Err(_) => {
            log::error!("{name}: internal error (panic)");
            vk::Result::ERROR_INITIALIZATION_FAILED
        }
    }
}

/// Runs the body of a `void` command; errors can only be logged.
pub(crate) fn guard_void(name: &str, body: impl FnOnce() -> IcdResult<()>) {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => log::error!("{name}: {e}"),
        Err(_) => log::error!("{name}: internal error (panic)"),
    }
}

/// Vulkan's two-call enumeration idiom (Vulkan §3.6.2): with a null `p_items` report the
/// count; otherwise copy up to `*p_count` items and return `VK_INCOMPLETE` if some did not fit.
///
/// # Safety
/// `p_count` is null or valid; `p_items` is null or valid for `*p_count` writes.
pub(crate) unsafe fn enumerate<T: Clone>(
    p_count: *mut u32,
    p_items: *mut T,
    items: &[T],
) -> vk::Result {
    if p_count.is_null() {
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    }
    let n = u32::try_from(items.len()).unwrap_or(u32::MAX);
    if p_items.is_null() {
        // SAFETY: non-null count pointer (checked), valid by caller contract.
        unsafe { *p_count = n };
        return vk::Result::SUCCESS;
    }
    // SAFETY: as above.
    let room = unsafe { *p_count };
    let copied = room.min(n);
    for (i, item) in items.iter().take(copied as usize).enumerate() {
        // SAFETY: i < copied ≤ *p_count, the caller's array length.
        unsafe { p_items.add(i).write(item.clone()) };
    }
    // SAFETY: as above.
    unsafe { *p_count = copied };
    if copied < n {
        vk::Result::INCOMPLETE
    } else {
        vk::Result::SUCCESS
    }
}

/// A slice from a Vulkan (pointer, count) pair; empty when the count is 0 or the pointer null.
///
/// # Safety
/// If `ptr` is non-null it points to `count` valid `T`s that outlive `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, count: u32) -> &'a [T] {
    if ptr.is_null() || count == 0 {
        return &[];
    }
    // SAFETY: non-null, `count` elements (caller contract).
    unsafe { std::slice::from_raw_parts(ptr, count as usize) }
}

/// Writes `value` through an output pointer, or reports a null one.
///
/// # Safety
/// `ptr` is null or valid for a write of `T`.
pub(crate) unsafe fn write_out<T>(ptr: *mut T, value: T) -> IcdResult<()> {
    if ptr.is_null() {
        return Err(crate::error::IcdError::vk(
            vk::Result::ERROR_INITIALIZATION_FAILED,
            "null output pointer",
        ));
    }
    // SAFETY: non-null, valid by caller contract.
    unsafe { ptr.write(value) };
    Ok(())
}

/// Walks a `pNext` chain, calling `f` with each structure's type and address. Unknown types
/// are the caller's to skip.
///
/// # Safety
/// `p_next` is null or the head of a valid chain of Vulkan structures.
pub(crate) unsafe fn walk_chain(
    p_next: *const std::ffi::c_void,
    mut f: impl FnMut(vk::StructureType, *const vk::BaseInStructure<'static>),
) {
    let mut p = p_next.cast::<vk::BaseInStructure<'static>>();
    // A bound on the walk: a looping chain (invalid usage) must not hang us.
    let mut ttl = 256;
    while !p.is_null() && ttl > 0 {
        // SAFETY: non-null element of a valid chain (caller contract); every Vulkan structure
        // starts with sType, pNext.
        let base = unsafe { &*p };
        f(base.s_type, p);
        p = base.p_next;
        ttl -= 1;
    }
}
