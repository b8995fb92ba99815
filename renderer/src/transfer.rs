//! Transfer commands on buffers: vkCmdCopyBuffer, vkCmdFillBuffer, vkCmdUpdateBuffer.
//!
//! Each command checks every region against the Vulkan valid-usage rules first and touches
//! memory only when all pass, so a refused command has no effect. Copies use `ptr::copy`
//! (memmove): overlapping source and destination are undefined in Vulkan
//! (VUID-vkCmdCopyBuffer-pRegions-00117) but two buffers may be windows of the same memory, so
//! an overlap must give some bytes, never a fault.

use crate::buffer::Buffer;
use crate::descriptor::WHOLE_SIZE;
use crate::error::RendererError;

/// vkCmdUpdateBuffer's limit on `dataSize` (VUID-vkCmdUpdateBuffer-dataSize-00037).
pub const MAX_UPDATE_BUFFER_SIZE: u64 = 65536;

/// One `VkBufferCopy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferCopy {
    pub src_offset: u64,
    pub dst_offset: u64,
    pub size: u64,
}

fn require_multiple_of_4(what: &'static str, value: u64) -> Result<(), RendererError> {
    if value.is_multiple_of(4) {
        Ok(())
    } else {
        Err(RendererError::MisalignedTransfer { what, value })
    }
}

impl Buffer {
    /// vkCmdCopyBuffer from `src` into `self`.
    pub fn copy_from(&self, src: &Buffer, regions: &[BufferCopy]) -> Result<(), RendererError> {
        for r in regions {
            // VUID-VkBufferCopy-size-01988, VUID-vkCmdCopyBuffer-srcOffset-00113,
            // -dstOffset-00114, -size-00115, -size-00116.
            if r.size == 0 {
                return Err(RendererError::EmptyTransfer("vkCmdCopyBuffer region"));
            }
            src.range_ptr(r.src_offset, r.size)?;
            self.range_ptr(r.dst_offset, r.size)?;
        }
        for r in regions {
            let from = src.range_ptr(r.src_offset, r.size)?;
            let to = self.range_ptr(r.dst_offset, r.size)?;
            // `size` fits in usize: both ranges were checked to lie in live memory.
            let len = r.size as usize;
            // SAFETY: `from` and `to` are each valid for `len` bytes (checked by `range_ptr`,
            // the buffers keep their memory alive); `ptr::copy` allows the ranges to overlap.
            unsafe { std::ptr::copy(from, to, len) };
        }
        Ok(())
    }

    /// vkCmdFillBuffer: writes the little-endian word `data` over `[offset, offset + size)`.
    /// `size` may be [`WHOLE_SIZE`]: up to the end of the buffer, rounded down to a multiple
    /// of 4.
    pub fn fill(&self, offset: u64, size: u64, data: u32) -> Result<(), RendererError> {
        // VUID-vkCmdFillBuffer-dstOffset-00024, -00025, -size-00026, -00027, -00028.
        require_multiple_of_4("vkCmdFillBuffer dstOffset", offset)?;
        if offset >= self.size() {
            return Err(RendererError::OutOfRange {
                offset,
                len: size,
                size: self.size(),
            });
        }
        let size = if size == WHOLE_SIZE {
            (self.size() - offset) & !3
        } else {
            require_multiple_of_4("vkCmdFillBuffer size", size)?;
            if size == 0 {
                return Err(RendererError::EmptyTransfer("vkCmdFillBuffer"));
            }
            size
        };
        let dst = self.range_ptr(offset, size)?;
        let bytes = data.to_le_bytes();
        // `size` fits in usize: the range was checked to lie in live memory.
        let len = size as usize;
        if bytes.iter().all(|&b| b == bytes[0]) {
            // SAFETY: `dst` is valid for `len` bytes (checked by `range_ptr`).
            unsafe { std::ptr::write_bytes(dst, bytes[0], len) };
        } else {
            for word in 0..len / 4 {
                // SAFETY: `word * 4 + 4 <= len`, so the pointer stays inside the checked range.
                let at = unsafe { dst.add(word * 4) };
                // SAFETY: `at` is valid for 4 bytes (see above); the write is unaligned.
                unsafe { at.cast::<[u8; 4]>().write_unaligned(bytes) };
            }
        }
        Ok(())
    }

    /// vkCmdUpdateBuffer: copies `data` to `offset`.
    pub fn update(&self, offset: u64, data: &[u8]) -> Result<(), RendererError> {
        // VUID-vkCmdUpdateBuffer-dstOffset-00032, -00036, -dataSize-00033, -00037, -00038.
        let size = data.len() as u64;
        require_multiple_of_4("vkCmdUpdateBuffer dstOffset", offset)?;
        require_multiple_of_4("vkCmdUpdateBuffer dataSize", size)?;
        if size == 0 || size > MAX_UPDATE_BUFFER_SIZE {
            return Err(RendererError::UpdateSize(size));
        }
        self.write(offset, data)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn filled(size: u64) -> Buffer {
        let b = Buffer::new(size).unwrap();
        let bytes: Vec<u8> = (0..size).map(|i| i as u8).collect();
        b.write(0, &bytes).unwrap();
        b
    }

    #[test]
    fn copy_moves_every_region_and_nothing_else() {
        let src = filled(64);
        let dst = Buffer::new(64).unwrap();
        let regions = [
            BufferCopy {
                src_offset: 0,
                dst_offset: 32,
                size: 4,
            },
            BufferCopy {
                src_offset: 60,
                dst_offset: 0,
                size: 4,
            },
        ];
        dst.copy_from(&src, &regions).unwrap();
        let out = dst.read_vec::<u8>(0, 64).unwrap();
        assert_eq!(&out[32..36], &[0, 1, 2, 3]);
        assert_eq!(&out[0..4], &[60, 61, 62, 63]);
        assert!(out[4..32].iter().chain(&out[36..]).all(|&b| b == 0));
    }

    #[test]
    fn copy_with_one_bad_region_changes_nothing() {
        let src = filled(64);
        let dst = Buffer::new(64).unwrap();
        let regions = [
            BufferCopy {
                src_offset: 0,
                dst_offset: 0,
                size: 4,
            },
            BufferCopy {
                src_offset: 0,
                dst_offset: 62,
                size: 4,
            },
        ];
        assert!(dst.copy_from(&src, &regions).is_err());
        assert!(dst.read_vec::<u8>(0, 64).unwrap().iter().all(|&b| b == 0));
        let empty = [BufferCopy {
            src_offset: 0,
            dst_offset: 0,
            size: 0,
        }];
        assert!(dst.copy_from(&src, &empty).is_err());
        let huge = [BufferCopy {
            src_offset: u64::MAX,
            dst_offset: 0,
            size: 2,
        }];
        assert!(dst.copy_from(&src, &huge).is_err());
    }

    #[test]
    fn overlapping_copy_within_one_buffer_behaves_like_memmove() {
        let b = filled(16);
        b.copy_from(
            &b,
            &[BufferCopy {
                src_offset: 0,
                dst_offset: 4,
                size: 8,
            }],
        )
        .unwrap();
        assert_eq!(
            b.read_vec::<u8>(0, 16).unwrap(),
            vec![0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15]
        );
    }

    #[test]
    fn fill_whole_size_rounds_down_to_whole_words() {
        let b = Buffer::new(14).unwrap();
        b.fill(4, WHOLE_SIZE, 0x0403_0201).unwrap();
        assert_eq!(
            b.read_vec::<u8>(0, 14).unwrap(),
            vec![0, 0, 0, 0, 1, 2, 3, 4, 1, 2, 3, 4, 0, 0]
        );
        b.fill(0, 4, 0xabab_abab).unwrap();
        assert_eq!(b.read_vec::<u32>(0, 1).unwrap(), vec![0xabab_abab]);
    }

    #[test]
    fn fill_refuses_misaligned_empty_or_out_of_range() {
        let b = Buffer::new(16).unwrap();
        assert!(b.fill(2, 4, 0).is_err());
        assert!(b.fill(0, 6, 0).is_err());
        assert!(b.fill(0, 0, 0).is_err());
        assert!(b.fill(16, WHOLE_SIZE, 0).is_err());
        assert!(b.fill(8, 12, 0).is_err());
        assert!(b.fill(12, WHOLE_SIZE, 1).is_ok());
    }

    #[test]
    fn update_checks_alignment_and_the_65536_byte_limit() {
        let b = Buffer::new(1 << 17).unwrap();
        b.update(8, &[9, 8, 7, 6]).unwrap();
        assert_eq!(b.read_vec::<u8>(8, 4).unwrap(), vec![9, 8, 7, 6]);
        assert!(b.update(2, &[0; 4]).is_err());
        assert!(b.update(0, &[0; 3]).is_err());
        assert!(b.update(0, &[]).is_err());
        assert!(b.update(0, &vec![0; 65540]).is_err());
        assert!(b.update(0, &vec![0; 65536]).is_ok());
        assert!(b.update((1 << 17) - 4, &[0; 8]).is_err());
    }
}
