//! Vulkan handles. Dispatchable handles (instance, physical device, device, queue, command
//! buffer) point to a [`Dispatchable`], whose first word the loader owns (its dispatch table;
//! we initialise it to `ICD_LOADER_MAGIC` as the loader–ICD interface requires).
//! Non-dispatchable handles are the address of a boxed object.
//!
//! Handle validity is the application's obligation (Vulkan valid usage): a handle we are given
//! is null or one we returned and have not freed. Null is checked everywhere.

use ash::vk::{self, Handle};
use std::sync::atomic::{AtomicU64, Ordering};

/// The value the loader expects in a new dispatchable object's first word.
pub(crate) const ICD_LOADER_MAGIC: usize = 0x01CD_C0DE;

#[repr(C)]
pub(crate) struct Dispatchable<T> {
    /// The loader's dispatch slot; must stay the first field.
    loader_data: usize,
    pub(crate) object: T,
}

impl<T> Dispatchable<T> {
    pub(crate) fn boxed(object: T) -> Box<Dispatchable<T>> {
        Box::new(Dispatchable {
            loader_data: ICD_LOADER_MAGIC,
            object,
        })
    }

    /// The handle for this object (its address).
    pub(crate) fn handle<H: Handle>(&self) -> H {
        H::from_raw(self as *const Self as u64)
    }
}

/// The object behind a dispatchable handle.
///
/// # Safety
/// `h` is null or a handle made by [`Dispatchable::handle`] for a `Dispatchable<T>` that is
/// still alive for `'a`.
pub(crate) unsafe fn dispatchable<'a, H: Handle, T>(h: H) -> Option<&'a T> {
    let p = h.as_raw() as *const Dispatchable<T>;
    // SAFETY: null or a live `Dispatchable<T>` (caller contract).
    unsafe { p.as_ref() }.map(|d| &d.object)
}

/// Takes back ownership of a dispatchable object (destroy/free).
///
/// # Safety
/// As for [`dispatchable`], and no other reference to the object outlives this call.
pub(crate) unsafe fn take_dispatchable<H: Handle, T>(h: H) -> Option<Box<Dispatchable<T>>> {
    let p = h.as_raw() as *mut Dispatchable<T>;
    if p.is_null() {
        return None;
    }
    // SAFETY: a pointer from `Box::into_raw`/a leaked box of this type (caller contract).
    Some(unsafe { Box::from_raw(p) })
}

/// Turns a new non-dispatchable object into its handle.
pub(crate) fn to_handle<H: Handle, T>(object: T) -> H {
    H::from_raw(Box::into_raw(Box::new(object)) as u64)
}

/// The object behind a non-dispatchable handle.
///
/// # Safety
/// `h` is null or a handle made by [`to_handle`] with the same `T`, alive for `'a`.
pub(crate) unsafe fn object<'a, H: Handle, T>(h: H) -> Option<&'a T> {
    let p = h.as_raw() as *const T;
    // SAFETY: null or a live boxed `T` (caller contract).
    unsafe { p.as_ref() }
}

/// Takes back a non-dispatchable object (vkDestroy*/vkFree*); `None` for the null handle.
///
/// # Safety
/// As for [`object`], and the handle is not used again.
pub(crate) unsafe fn take_object<H: Handle, T>(h: H) -> Option<Box<T>> {
    let p = h.as_raw() as *mut T;
    if p.is_null() {
        return None;
    }
    // SAFETY: made by `Box::into_raw` in `to_handle` with this `T` (caller contract).
    Some(unsafe { Box::from_raw(p) })
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh wire id for a device object: non-zero and unique in this process (hence per
/// connection).
pub(crate) fn new_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Shorthand for the error a null handle gets.
pub(crate) fn null_handle(what: &str) -> crate::error::IcdError {
    crate::error::IcdError::vk(
        vk::Result::ERROR_INITIALIZATION_FAILED,
        format!("null {what} handle"),
    )
}
