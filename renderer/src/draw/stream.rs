//! The element stream of a draw: which vertex each element names (Vulkan §22.3 "Vertex
//! Input Address Calculation"), read from the index buffer for indexed draws.
//!
//! Index reads are robust (robustBufferAccess2-like): an index that lies, even partly,
//! outside the bound index buffer reads as 0. Nothing is read out of bounds and nothing is
//! allocated by the draw's counts: elements are read in windows.

use crate::buffer::Buffer;

use super::DrawError;

/// `VkIndexType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexType {
    U16,
    U32,
}

impl IndexType {
    pub fn from_vk(raw: u32) -> Result<IndexType, DrawError> {
        match raw {
            0 => Ok(IndexType::U16),
            1 => Ok(IndexType::U32),
            1_000_165_000 => Err(DrawError::Unsupported("VK_INDEX_TYPE_NONE_KHR")),
            1_000_265_000 => Err(DrawError::Unsupported(
                "VK_INDEX_TYPE_UINT8 (indexTypeUint8 is not offered)",
            )),
            _ => Err(DrawError::UnknownEnum {
                what: "VkIndexType",
                value: raw,
            }),
        }
    }

    pub fn size(self) -> u64 {
        match self {
            IndexType::U16 => 2,
            IndexType::U32 => 4,
        }
    }

    /// The primitive restart index (all ones).
    pub fn restart_value(self) -> u32 {
        match self {
            IndexType::U16 => 0xffff,
            IndexType::U32 => u32::MAX,
        }
    }
}

/// vkCmdBindIndexBuffer.
#[derive(Clone, Debug)]
pub struct IndexBufferBinding {
    pub buffer: Buffer,
    pub offset: u64,
    pub index_type: IndexType,
}

impl IndexBufferBinding {
    /// Checks VUID-vkCmdBindIndexBuffer-offset-08783 (offset a multiple of the index size).
    pub(crate) fn validate(&self) -> Result<(), DrawError> {
        let align = self.index_type.size();
        if !self.offset.is_multiple_of(align) {
            return Err(DrawError::Misaligned {
                what: "index buffer offset",
                value: self.offset,
                align,
            });
        }
        Ok(())
    }

    /// Reads indices `first + start .. first + start + n` into `out` (cleared first); each
    /// index outside the buffer reads 0. `bytes` is scratch reused across calls.
    pub(crate) fn read(
        &self,
        first: u32,
        start: u64,
        n: usize,
        out: &mut Vec<u32>,
        bytes: &mut Vec<u8>,
    ) {
        out.clear();
        let size = self.index_type.size();
        let begin = u64::from(first)
            .checked_add(start)
            .and_then(|e| e.checked_mul(size))
            .and_then(|b| b.checked_add(self.offset));
        let Some(begin) = begin else {
            out.resize(n, 0);
            return;
        };
        // Whole indices inside the buffer, from `begin`.
        let available = self.buffer.size().saturating_sub(begin) / size;
        let inside = (n as u64).min(available) as usize;
        bytes.clear();
        bytes.resize(inside * size as usize, 0);
        if inside > 0 && self.buffer.read(begin, bytes).is_err() {
            // Cannot happen (the range was computed inside the buffer); read zeros if it does.
            bytes.fill(0);
        }
        match self.index_type {
            IndexType::U16 => out.extend(
                bytes
                    .chunks_exact(2)
                    .map(|b| u32::from(u16::from_le_bytes([b[0], b[1]]))),
            ),
            IndexType::U32 => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            ),
        }
        out.resize(n, 0);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn binding(words: &[u16], offset: u64, index_type: IndexType) -> IndexBufferBinding {
        let buffer = Buffer::new((words.len() * 2) as u64).unwrap();
        buffer.write_slice(0, words).unwrap();
        IndexBufferBinding {
            buffer,
            offset,
            index_type,
        }
    }

    #[test]
    fn indices_past_the_end_read_zero() {
        let b = binding(&[5, 6, 7], 0, IndexType::U16);
        let (mut out, mut bytes) = (Vec::new(), Vec::new());
        b.read(1, 0, 4, &mut out, &mut bytes);
        assert_eq!(out, vec![6, 7, 0, 0]);
        b.read(u32::MAX, u64::MAX, 2, &mut out, &mut bytes);
        assert_eq!(out, vec![0, 0]);
    }

    #[test]
    fn a_partly_outside_u32_index_reads_zero() {
        // 6 bytes: one whole u32 index and half of another.
        let b = binding(&[1, 0, 0xffff], 0, IndexType::U32);
        let (mut out, mut bytes) = (Vec::new(), Vec::new());
        b.read(0, 0, 2, &mut out, &mut bytes);
        assert_eq!(out, vec![1, 0]);
    }

    #[test]
    fn misaligned_offsets_and_unknown_types_are_refused() {
        assert!(binding(&[0, 0], 1, IndexType::U16).validate().is_err());
        assert!(binding(&[0, 0], 2, IndexType::U32).validate().is_err());
        assert!(binding(&[0, 0], 2, IndexType::U16).validate().is_ok());
        assert!(IndexType::from_vk(1_000_265_000).is_err());
        assert_eq!(IndexType::from_vk(1).unwrap(), IndexType::U32);
    }
}
