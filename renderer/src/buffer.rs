//! `Buffer`: a Vulkan buffer with its memory bound — a window `[offset, offset + size)` into
//! an [`ExternalMemory`] (guest RAM through the device layer, or host memory of its own).
//!
//! Cloning a `Buffer` clones a handle: descriptor sets and dispatches hold clones so the memory
//! outlives any work that uses it. Every access is a bounds-checked raw-pointer copy; no Rust
//! reference into the memory is ever formed (the guest may change it at any time).

use std::sync::Arc;

use crate::error::RendererError;
use crate::memory::{ExternalMemory, HostMemory};

/// A plain scalar that can be copied in and out of a buffer as little-endian bytes.
pub trait BufferElement: Copy + sealed::Sealed {
    const SIZE: usize;
    fn write_le(self, out: &mut [u8]);
    fn read_le(bytes: &[u8]) -> Self;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! buffer_element {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl BufferElement for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn write_le(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
            fn read_le(bytes: &[u8]) -> Self {
                let mut raw = [0u8; std::mem::size_of::<$t>()];
                raw.copy_from_slice(bytes);
                <$t>::from_le_bytes(raw)
            }
        }
    )*};
}
buffer_element!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);

/// A buffer object: a window of `size` bytes at `offset` in its memory.
#[derive(Clone)]
pub struct Buffer {
    memory: Arc<dyn ExternalMemory>,
    /// Invariant: `offset + size <= memory.len()`, checked at construction (the memory's
    /// length never changes, `ExternalMemory`'s contract).
    offset: usize,
    size: u64,
}

impl Buffer {
    /// Creates a buffer of `size` zeroed bytes in host memory of its own (Vulkan: `size` must
    /// be > 0).
    pub(crate) fn new(size: u64) -> Result<Buffer, RendererError> {
        if size == 0 {
            return Err(RendererError::InvalidBufferSize(size));
        }
        let memory: Arc<dyn ExternalMemory> = Arc::new(HostMemory::new_zeroed(size)?);
        Buffer::from_external(memory, 0, size)
    }

    /// A buffer whose bytes are `[offset, offset + size)` of `memory` (vkBindBufferMemory).
    /// `size` must be > 0 and the window must lie inside the memory.
    pub fn from_external(
        memory: Arc<dyn ExternalMemory>,
        offset: u64,
        size: u64,
    ) -> Result<Buffer, RendererError> {
        if size == 0 {
            return Err(RendererError::InvalidBufferSize(size));
        }
        let len = memory.len() as u64;
        match offset.checked_add(size) {
            Some(end) if end <= len => {}
            _ => {
                return Err(RendererError::OutOfRange {
                    offset,
                    len: size,
                    size: len,
                })
            }
        }
        // `offset + size <= len <= usize::MAX`, so the conversion cannot fail.
        let offset = usize::try_from(offset).map_err(|_| RendererError::OutOfRange {
            offset,
            len: size,
            size: len,
        })?;
        Ok(Buffer {
            memory,
            offset,
            size,
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// True if both handles name the same window of the same memory.
    pub fn same_as(&self, other: &Buffer) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.memory), Arc::as_ptr(&other.memory))
            && self.offset == other.offset
            && self.size == other.size
    }

    /// Checks that `[offset, offset + len)` lies inside the buffer and returns a pointer to its
    /// first byte, valid for `len` bytes for as long as `self` (which holds the memory) lives.
    pub(crate) fn range_ptr(&self, offset: u64, len: u64) -> Result<*mut u8, RendererError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => {}
            _ => {
                return Err(RendererError::OutOfRange {
                    offset,
                    len,
                    size: self.size,
                })
            }
        }
        // `self.offset + offset + len <= memory.len()` by the construction invariant and the
        // check above, so both additions stay inside the memory (and inside `usize`).
        let start = self.offset + offset as usize;
        // SAFETY: `start <= memory.len()` (see above), so the pointer stays inside (or one past
        // the end of) the memory's single valid range.
        Ok(unsafe { self.memory.as_ptr().add(start) })
    }

    /// Copies bytes out of the buffer.
    pub fn read(&self, offset: u64, dst: &mut [u8]) -> Result<(), RendererError> {
        let src = self.range_ptr(offset, dst.len() as u64)?;
        // SAFETY: `src` is valid for `dst.len()` bytes (checked by `range_ptr`); `dst` is a
        // distinct Rust slice, so the ranges do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    /// Copies bytes into the buffer.
    pub fn write(&self, offset: u64, src: &[u8]) -> Result<(), RendererError> {
        let dst = self.range_ptr(offset, src.len() as u64)?;
        // SAFETY: `dst` is valid for `src.len()` bytes (checked by `range_ptr`); `src` is a
        // distinct Rust slice, so the ranges do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
        Ok(())
    }

    /// Writes `values` as consecutive little-endian elements starting at byte `offset`.
    pub fn write_slice<T: BufferElement>(
        &self,
        offset: u64,
        values: &[T],
    ) -> Result<(), RendererError> {
        let mut bytes = vec![0u8; values.len() * T::SIZE];
        for (chunk, v) in bytes.chunks_exact_mut(T::SIZE).zip(values) {
            v.write_le(chunk);
        }
        self.write(offset, &bytes)
    }

    /// Reads `count` consecutive little-endian elements starting at byte `offset`.
    pub fn read_vec<T: BufferElement>(
        &self,
        offset: u64,
        count: usize,
    ) -> Result<Vec<T>, RendererError> {
        let len = (count as u64).saturating_mul(T::SIZE as u64);
        self.range_ptr(offset, len)?;
        let mut bytes = vec![0u8; count * T::SIZE];
        self.read(offset, &mut bytes)?;
        Ok(bytes.chunks_exact(T::SIZE).map(T::read_le).collect())
    }

    /// Fills the whole buffer with `value` (vkCmdFillBuffer over the whole size, host side).
    pub fn fill_u32(&self, value: u32) -> Result<(), RendererError> {
        let words = vec![value; (self.size() / 4) as usize];
        self.write_slice(0, &words)
    }
}

impl std::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buffer")
            .field("memory", &self.memory.as_ptr())
            .field("offset", &self.offset)
            .field("size", &self.size)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn host(len: u64) -> Arc<dyn ExternalMemory> {
        Arc::new(HostMemory::new_zeroed(len).unwrap())
    }

    #[test]
    fn external_windows_see_each_others_writes_at_their_offsets() {
        let memory = host(64);
        let a = Buffer::from_external(memory.clone(), 16, 32).unwrap();
        let b = Buffer::from_external(memory.clone(), 0, 64).unwrap();
        a.write_slice(4, &[7u32]).unwrap();
        assert_eq!(b.read_vec::<u32>(20, 1).unwrap(), vec![7]);
        assert!(!a.same_as(&b));
        assert!(a.same_as(&Buffer::from_external(memory, 16, 32).unwrap()));
        assert!(a.read_vec::<u32>(32, 1).is_err());
    }

    #[test]
    fn external_windows_outside_the_memory_or_empty_are_refused() {
        let memory = host(64);
        assert!(Buffer::from_external(memory.clone(), 0, 0).is_err());
        assert!(Buffer::from_external(memory.clone(), 60, 8).is_err());
        assert!(Buffer::from_external(memory.clone(), u64::MAX, 2).is_err());
        assert!(Buffer::from_external(memory.clone(), 8, u64::MAX).is_err());
        assert!(Buffer::from_external(memory, 60, 4).is_ok());
    }

    #[test]
    fn typed_writes_are_little_endian_and_read_back() {
        let b = Buffer::new(16).unwrap();
        b.write_slice(0, &[0x0403_0201u32, 0x0807_0605]).unwrap();
        let mut raw = [0u8; 8];
        b.read(0, &mut raw).unwrap();
        assert_eq!(raw, [1, 2, 3, 4, 5, 6, 7, 8]);
        b.write_slice(8, &[1.5f32, -2.0]).unwrap();
        assert_eq!(b.read_vec::<f32>(8, 2).unwrap(), vec![1.5, -2.0]);
        assert_eq!(b.read_vec::<u16>(0, 2).unwrap(), vec![0x0201, 0x0403]);
    }

    #[test]
    fn zero_sized_buffer_is_refused() {
        assert!(Buffer::new(0).is_err());
    }

    #[test]
    fn typed_reads_past_the_end_are_refused_before_allocating() {
        let b = Buffer::new(16).unwrap();
        assert!(b.read_vec::<u32>(8, 3).is_err());
        assert!(b.read_vec::<u64>(0, usize::MAX / 4).is_err());
    }
}
