//! Memory that compiled kernels read and write, behind a (pointer, length) pair.
//!
//! [`ExternalMemory`] is what a buffer is a window into: guest RAM mapped by the device layer,
//! or [`HostMemory`], one owned, 64-byte aligned, zeroed allocation (buffers made by
//! `Device::create_buffer`, per-thread scratch).
//!
//! The memory is shared with kernel threads (and, for guest RAM, with the guest), which access
//! it through raw pointers, so nothing here hands out `&[u8]` or `&mut [u8]` views: every
//! host-side access is a bounds-checked raw copy.

use std::alloc::{self, Layout};
use std::ptr::NonNull;

use crate::error::RendererError;

/// Alignment of every allocation: a cache line, and enough for any vector load.
pub const ALLOCATION_ALIGN: usize = 64;

/// Largest single allocation (64 GiB): far beyond what the host can back, but it keeps all
/// offset arithmetic comfortably inside `u64`/`isize`.
pub const MAX_ALLOCATION: u64 = protocol::image::MAX_IMAGE_SIZE;

/// A block of memory that buffers can be windows into.
///
/// # Safety
///
/// Implementors promise that for as long as the object lives, `as_ptr()` returns the same
/// non-null pointer, valid for reads and writes of `len()` bytes through raw pointers, and that
/// `len()` never changes. The bytes may change under the renderer at any time (guest RAM):
/// the renderer never forms Rust references into them, so that is allowed.
pub unsafe trait ExternalMemory: Send + Sync {
    /// Start of the memory; valid for `len()` bytes.
    fn as_ptr(&self) -> *mut u8;
    /// Length in bytes.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A zeroed, 64-byte aligned block of host memory of a fixed length.
pub struct HostMemory {
    ptr: NonNull<u8>,
    len: usize,
    layout: Layout,
}

// SAFETY: `HostMemory` owns its allocation; all access goes through raw-pointer copies
// (`read`/`write`) or through pointers handed to kernels, never through Rust references, so
// sharing it between threads creates no aliasing references. Concurrent host writes and kernel
// accesses to the same bytes give unspecified contents, as Vulkan specifies for unsynchronized
// host access, but never touch memory outside the allocation.
unsafe impl Send for HostMemory {}
// SAFETY: see `Send` above; `&HostMemory` exposes no reference into the allocation.
unsafe impl Sync for HostMemory {}

impl HostMemory {
    /// Allocates `len` zeroed bytes (`len` may be 0: a 64-byte block is allocated anyway so
    /// that the pointer is always valid and aligned).
    pub fn new_zeroed(len: u64) -> Result<HostMemory, RendererError> {
        if len > MAX_ALLOCATION {
            return Err(RendererError::InvalidBufferSize(len));
        }
        let bytes = usize::try_from(len).map_err(|_| RendererError::InvalidBufferSize(len))?;
        let layout = Layout::from_size_align(bytes.max(ALLOCATION_ALIGN), ALLOCATION_ALIGN)
            .map_err(|_| RendererError::InvalidBufferSize(len))?;
        // SAFETY: `layout` has a non-zero size (at least ALLOCATION_ALIGN).
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).ok_or(RendererError::OutOfHostMemory(len))?;
        Ok(HostMemory {
            ptr,
            len: bytes,
            layout,
        })
    }

    /// Length in bytes, as requested.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Base address, valid for `len()` bytes for as long as `self` lives.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Checks that `[offset, offset + len)` lies inside the allocation and returns `offset` as
    /// a `usize`.
    pub fn check_range(&self, offset: u64, len: u64) -> Result<usize, RendererError> {
        let size = self.len as u64;
        match offset.checked_add(len) {
            Some(end) if end <= size => Ok(offset as usize),
            _ => Err(RendererError::OutOfRange { offset, len, size }),
        }
    }

    /// Copies bytes out of the allocation.
    pub fn read(&self, offset: u64, dst: &mut [u8]) -> Result<(), RendererError> {
        let start = self.check_range(offset, dst.len() as u64)?;
        let src = self.as_ptr().wrapping_add(start);
        // SAFETY: `start + dst.len() <= self.len` was checked above, so the source lies inside
        // the live allocation; `dst` is a distinct Rust slice, so the ranges do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    /// Copies bytes into the allocation.
    pub fn write(&self, offset: u64, src: &[u8]) -> Result<(), RendererError> {
        let start = self.check_range(offset, src.len() as u64)?;
        let dst = self.as_ptr().wrapping_add(start);
        // SAFETY: `start + src.len() <= self.len` was checked above, so the destination lies
        // inside the live allocation; `src` is a distinct Rust slice, so they do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
        Ok(())
    }
}

// SAFETY: the allocation is owned by `self`, freed only in `Drop`, and `ptr`/`len` are fixed
// at construction; `ptr` is valid for `len` bytes (the layout is at least that large).
unsafe impl ExternalMemory for HostMemory {
    fn as_ptr(&self) -> *mut u8 {
        HostMemory::as_ptr(self)
    }
    fn len(&self) -> usize {
        HostMemory::len(self)
    }
    fn is_empty(&self) -> bool {
        HostMemory::is_empty(self)
    }
}

impl Drop for HostMemory {
    fn drop(&mut self) {
        // SAFETY: `ptr` was returned by `alloc_zeroed(self.layout)` and is freed only here.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

impl std::fmt::Debug for HostMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostMemory")
            .field("ptr", &self.ptr)
            .field("len", &self.len)
            .finish()
    }
}

/// A per-thread block (workgroup memory, kernel scratch) that grows on demand and is reused.
#[derive(Debug, Default)]
pub struct GrowableBlock {
    block: Option<HostMemory>,
}

impl GrowableBlock {
    /// Returns a 64-byte aligned pointer valid for at least `len` bytes, reallocating (zeroed)
    /// only when the current block is smaller.
    pub fn ensure(&mut self, len: u64) -> Result<*mut u8, RendererError> {
        let big_enough = self.block.as_ref().is_some_and(|b| b.len() as u64 >= len);
        if !big_enough {
            self.block = None;
            self.block = Some(HostMemory::new_zeroed(len)?);
        }
        match &self.block {
            Some(b) => Ok(b.as_ptr()),
            None => Err(RendererError::OutOfHostMemory(len)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn new_memory_is_zeroed_and_aligned() {
        let m = HostMemory::new_zeroed(1000).unwrap();
        assert_eq!(m.as_ptr() as usize % ALLOCATION_ALIGN, 0);
        let mut out = vec![0xAAu8; 1000];
        m.read(0, &mut out).unwrap();
        assert!(out.iter().all(|&b| b == 0));
    }

    #[test]
    fn write_then_read_round_trips_at_an_offset() {
        let m = HostMemory::new_zeroed(64).unwrap();
        m.write(10, &[1, 2, 3]).unwrap();
        let mut out = [0u8; 5];
        m.read(9, &mut out).unwrap();
        assert_eq!(out, [0, 1, 2, 3, 0]);
    }

    #[test]
    fn accesses_past_the_end_or_overflowing_are_refused() {
        let m = HostMemory::new_zeroed(16).unwrap();
        assert!(m.write(14, &[0; 3]).is_err());
        assert!(m.read(u64::MAX, &mut [0; 2]).is_err());
        assert!(m.write(16, &[]).is_ok());
        assert!(m.write(17, &[]).is_err());
    }

    #[test]
    fn oversized_allocation_is_an_error_not_an_abort() {
        assert!(matches!(
            HostMemory::new_zeroed(MAX_ALLOCATION + 1),
            Err(RendererError::InvalidBufferSize(_))
        ));
    }

    #[test]
    fn growable_block_keeps_its_block_when_large_enough() {
        let mut g = GrowableBlock::default();
        let a = g.ensure(100).unwrap();
        let b = g.ensure(50).unwrap();
        assert_eq!(a, b);
        let c = g.ensure(5000).unwrap();
        assert_eq!(c as usize % ALLOCATION_ALIGN, 0);
    }
}
