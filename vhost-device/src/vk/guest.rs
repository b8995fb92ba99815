//! Guest memory as one submission sees it.
//!
//! A [`GuestScope`] lives for one `submit` call. It resolves resource ids through the
//! virtio-gpu layer's [`ResourceViews`] at first use and keeps the `Arc`s until the submission
//! returns: memory stays mapped while this submission's work uses it, and no longer. Buffers
//! bound to guest memory become renderer buffers (windows into the view) the same way.
//!
//! Guest RAM can change under us at any time: it is only ever copied with raw-pointer copies,
//! never borrowed as a Rust slice.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use renderer::ExternalMemory;

use super::ExecError;
use crate::context::{GuestMemoryView, ResourceViews};

/// A guest-memory view as renderer memory.
pub(crate) struct ViewMemory(Arc<dyn GuestMemoryView>);

// SAFETY: `GuestMemoryView`'s contract: the mapping starts at `as_ptr()`, is readable and
// writable for `len()` bytes (the resource's fixed size) and stays valid while any `Arc` of the
// view lives — `self.0` is one. The renderer accesses it only through raw pointers.
unsafe impl ExternalMemory for ViewMemory {
    fn as_ptr(&self) -> *mut u8 {
        self.0.as_ptr()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl ViewMemory {
    /// Checks that `[offset, offset + len)` lies in the view and returns a pointer to it.
    fn range_ptr(&self, resource: u32, offset: u64, len: u64) -> Result<*mut u8, ExecError> {
        let size = self.0.len() as u64;
        match offset.checked_add(len) {
            Some(end) if end <= size => {}
            _ => {
                return Err(ExecError::GuestOutOfRange {
                    resource,
                    offset,
                    len,
                    size,
                })
            }
        }
        // `offset <= size <= usize::MAX`: the conversion is exact.
        let start = offset as usize;
        // SAFETY: `start + len <= len()` (checked above), so the pointer stays inside (or one
        // past the end of) the mapping.
        Ok(unsafe { self.0.as_ptr().add(start) })
    }
}

pub(crate) struct GuestScope<'r> {
    resources: &'r dyn ResourceViews,
    views: RefCell<HashMap<u32, Arc<ViewMemory>>>,
    /// Buffer id → renderer buffer, for buffers used in this submission. Entries are dropped
    /// when the buffer is destroyed (its id may be reused with other memory).
    buffers: RefCell<HashMap<u64, renderer::Buffer>>,
}

impl<'r> GuestScope<'r> {
    pub(crate) fn new(resources: &'r dyn ResourceViews) -> GuestScope<'r> {
        GuestScope {
            resources,
            views: RefCell::new(HashMap::new()),
            buffers: RefCell::new(HashMap::new()),
        }
    }

    /// The view of `resource`, resolved once per submission.
    pub(crate) fn view(&self, resource: u32) -> Result<Arc<ViewMemory>, ExecError> {
        if let Some(v) = self.views.borrow().get(&resource) {
            return Ok(v.clone());
        }
        let view = self
            .resources
            .view(resource)
            .ok_or(ExecError::ResourceNotAttached(resource))?;
        let view = Arc::new(ViewMemory(view));
        self.views.borrow_mut().insert(resource, view.clone());
        Ok(view)
    }

    /// Checks that `[offset, offset + len)` lies in `resource`.
    pub(crate) fn check_range(
        &self,
        resource: u32,
        offset: u64,
        len: u64,
    ) -> Result<(), ExecError> {
        self.view(resource)?
            .range_ptr(resource, offset, len)
            .map(|_| ())
    }

    /// Copies `len` bytes out of guest memory (the caller bounds `len`).
    pub(crate) fn read(&self, resource: u32, offset: u64, len: u64) -> Result<Vec<u8>, ExecError> {
        let view = self.view(resource)?;
        let src = view.range_ptr(resource, offset, len)?;
        // `len` lies inside a live mapping, so it fits in usize.
        let mut out = vec![0u8; len as usize];
        // SAFETY: `src` is valid for `len` bytes (checked by `range_ptr`, `view` keeps the
        // mapping alive); `out` is a fresh allocation, so the ranges do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), out.len()) };
        Ok(out)
    }

    /// Waits until the aligned `u32` at `offset` equals `value` (the guest's host side writes
    /// it: an event), for at most `limit`.
    pub(crate) fn wait_u32(
        &self,
        resource: u32,
        offset: u64,
        value: u32,
        limit: std::time::Duration,
    ) -> Result<(), ExecError> {
        let p = self.aligned_word::<u32>(resource, offset, "CmdWaitGuestU32")?;
        // SAFETY: `p` is valid and aligned for one u32 in a mapping `self` keeps alive until
        // the submission ends; volatile: another agent writes it.
        Self::poll(|| unsafe { p.read_volatile() } == value, limit).map_err(|waited| {
            ExecError::Invalid(format!(
                "CmdWaitGuestU32: resource {resource} offset {offset} did not become {value} within {waited:?}"
            ))
        })
    }

    /// Waits until the aligned little-endian `u64` at `offset` is at least `value` (a timeline
    /// semaphore's payload), for at most `limit`.
    pub(crate) fn wait_u64_at_least(
        &self,
        resource: u32,
        offset: u64,
        value: u64,
        limit: std::time::Duration,
    ) -> Result<(), ExecError> {
        let p = self.aligned_word::<u64>(resource, offset, "Submit.waits")?;
        // SAFETY: as in `wait_u32`, for one u64.
        Self::poll(|| u64::from_le(unsafe { p.read_volatile() }) >= value, limit).map_err(|waited| {
            ExecError::Invalid(format!(
                "Submit.waits: timeline at resource {resource} offset {offset} did not reach {value} within {waited:?}"
            ))
        })
    }

    /// A pointer to a naturally aligned `T` at `offset` in `resource`; the mapping stays alive
    /// as long as `self` (views are held for the whole submission).
    fn aligned_word<T>(
        &self,
        resource: u32,
        offset: u64,
        what: &str,
    ) -> Result<*const T, ExecError> {
        let size = std::mem::size_of::<T>() as u64;
        if offset % size != 0 {
            return Err(ExecError::Invalid(format!(
                "{what}: offset {offset} in resource {resource} is not {size}-byte aligned"
            )));
        }
        let view = self.view(resource)?;
        // Views start page-aligned, so an aligned offset gives an aligned pointer.
        Ok(view
            .range_ptr(resource, offset, size)?
            .cast::<T>()
            .cast_const())
    }

    /// Polls `ready` until it holds or `limit` passes (`Err(limit)`): a short spin, then
    /// 50 µs sleeps.
    fn poll(
        mut ready: impl FnMut() -> bool,
        limit: std::time::Duration,
    ) -> Result<(), std::time::Duration> {
        let start = std::time::Instant::now();
        let mut spins = 0u32;
        loop {
            if ready() {
                return Ok(());
            }
            if start.elapsed() > limit {
                return Err(limit);
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
        }
    }

    /// Copies `bytes` into guest memory.
    pub(crate) fn write(&self, resource: u32, offset: u64, bytes: &[u8]) -> Result<(), ExecError> {
        let view = self.view(resource)?;
        let dst = view.range_ptr(resource, offset, bytes.len() as u64)?;
        // SAFETY: `dst` is valid for `bytes.len()` bytes (checked by `range_ptr`, `view` keeps
        // the mapping alive); `bytes` is host memory, distinct from the guest mapping.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len()) };
        Ok(())
    }

    /// The renderer buffer for buffer `id`, `size` bytes at `resource`/`offset`, made once
    /// per submission.
    pub(crate) fn buffer(
        &self,
        id: u64,
        resource: u32,
        offset: u64,
        size: u64,
    ) -> Result<renderer::Buffer, ExecError> {
        if let Some(b) = self.buffers.borrow().get(&id) {
            return Ok(b.clone());
        }
        let view = self.view(resource)?;
        view.range_ptr(resource, offset, size)?;
        let memory: Arc<dyn ExternalMemory> = view;
        let buffer = renderer::Buffer::from_external(memory, offset, size)?;
        self.buffers.borrow_mut().insert(id, buffer.clone());
        Ok(buffer)
    }

    /// The renderer image described by `desc` over `resource` from `offset` (the image's
    /// binding), for this submission. `Image::bind` checks the alignment and that the whole
    /// image lies in the view.
    pub(crate) fn image(
        &self,
        desc: renderer::image::ImageDesc,
        resource: u32,
        offset: u64,
    ) -> Result<renderer::image::Image, ExecError> {
        let view = self.view(resource)?;
        let memory: Arc<dyn ExternalMemory> = view;
        Ok(renderer::image::Image::bind(desc, memory, offset)?)
    }

    /// A renderer buffer over exactly `size` bytes at `resource`/`offset` (a sub-range of a
    /// buffer), not cached.
    pub(crate) fn buffer_window(
        &self,
        resource: u32,
        offset: u64,
        size: u64,
    ) -> Result<renderer::Buffer, ExecError> {
        let view = self.view(resource)?;
        view.range_ptr(resource, offset, size)?;
        let memory: Arc<dyn ExternalMemory> = view;
        Ok(renderer::Buffer::from_external(memory, offset, size)?)
    }

    /// Forgets the renderer buffer of `id` (destroyed; the id may come back).
    pub(crate) fn forget_buffer(&self, id: u64) {
        self.buffers.borrow_mut().remove(&id);
    }
}
