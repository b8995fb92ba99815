//! `Buffer`: a Vulkan buffer with its memory bound, as host memory.
//!
//! Cloning a `Buffer` clones a handle: descriptor sets hold clones so the memory outlives any
//! dispatch that uses it.

use std::sync::Arc;

use crate::error::RendererError;
use crate::memory::HostMemory;

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

/// A buffer object bound to zero-initialised host memory of its full size.
#[derive(Clone, Debug)]
pub struct Buffer {
    memory: Arc<HostMemory>,
}

impl Buffer {
    /// Creates a buffer of `size` zeroed bytes (Vulkan: `size` must be > 0).
    pub(crate) fn new(size: u64) -> Result<Buffer, RendererError> {
        if size == 0 {
            return Err(RendererError::InvalidBufferSize(size));
        }
        Ok(Buffer {
            memory: Arc::new(HostMemory::new_zeroed(size)?),
        })
    }

    pub fn size(&self) -> u64 {
        self.memory.len() as u64
    }

    pub(crate) fn memory(&self) -> &HostMemory {
        &self.memory
    }

    /// True if both handles name the same buffer.
    pub fn same_as(&self, other: &Buffer) -> bool {
        Arc::ptr_eq(&self.memory, &other.memory)
    }

    pub fn read(&self, offset: u64, dst: &mut [u8]) -> Result<(), RendererError> {
        self.memory.read(offset, dst)
    }

    pub fn write(&self, offset: u64, src: &[u8]) -> Result<(), RendererError> {
        self.memory.write(offset, src)
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
        self.memory.check_range(offset, len)?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
