//! Descriptor sets: which buffer range each (binding, array element) of a set refers to.
//!
//! A small Vulkan-like model: a `DescriptorSet` is written with buffer ranges
//! (vkUpdateDescriptorSets), and a dispatch takes the bound sets in set-number order
//! (vkCmdBindDescriptorSets with firstSet 0). Ranges are validated when written, so a dispatch
//! only has to look them up.

use std::collections::BTreeMap;

use crate::buffer::Buffer;
use crate::error::RendererError;
use crate::sampler::{ImageDescriptor, Sampler};

/// `VK_WHOLE_SIZE`: the range from the offset to the end of the buffer.
pub const WHOLE_SIZE: u64 = u64::MAX;

/// minStorageBufferOffsetAlignment and minUniformBufferOffsetAlignment.
pub const MIN_BUFFER_OFFSET_ALIGNMENT: u64 = 16;

/// maxUniformBufferRange.
pub const MAX_UNIFORM_BUFFER_RANGE: u64 = 65536;

/// maxStorageBufferRange.
pub const MAX_STORAGE_BUFFER_RANGE: u64 = u32::MAX as u64;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DescriptorType {
    StorageBuffer,
    UniformBuffer,
}

impl DescriptorType {
    fn max_range(self) -> u64 {
        match self {
            DescriptorType::StorageBuffer => MAX_STORAGE_BUFFER_RANGE,
            DescriptorType::UniformBuffer => MAX_UNIFORM_BUFFER_RANGE,
        }
    }
}

/// One written descriptor: a validated range of a buffer.
#[derive(Clone, Debug)]
pub struct BufferRange {
    pub ty: DescriptorType,
    pub buffer: Buffer,
    pub offset: u64,
    pub range: u64,
}

/// Where a dispatch finds the descriptor of each buffer slot its kernel uses: a list of bound
/// [`DescriptorSet`]s (`&[&DescriptorSet]`, set `i` at index `i`), or a device layer that
/// resolves its own descriptor tables at dispatch time without building sets.
pub trait DescriptorSource {
    /// The descriptor at (set, binding, array element): `Ok(None)` if nothing is bound there
    /// (a null descriptor), an error if what is bound there cannot be used.
    fn buffer_descriptor(
        &self,
        set: u32,
        binding: u32,
        array_index: u32,
    ) -> Result<Option<BufferRange>, RendererError>;

    /// The image or texel-buffer descriptor at (set, binding, array element) for an image slot
    /// (`shader::ir::ImageBinding`): `Ok(None)` for a null descriptor.
    fn image_descriptor(
        &self,
        set: u32,
        binding: u32,
        array_index: u32,
    ) -> Result<Option<ImageDescriptor>, RendererError>;

    /// The sampler at (set, binding, array element) for a separate-sampler slot
    /// (`shader::ir::SamplerBinding`): `Ok(None)` if nothing is bound there.
    fn sampler_descriptor(
        &self,
        set: u32,
        binding: u32,
        array_index: u32,
    ) -> Result<Option<Sampler>, RendererError>;
}

impl DescriptorSource for &[&DescriptorSet] {
    fn buffer_descriptor(
        &self,
        set: u32,
        binding: u32,
        array_index: u32,
    ) -> Result<Option<BufferRange>, RendererError> {
        Ok(self
            .get(set as usize)
            .and_then(|s| s.get(binding, array_index))
            .cloned())
    }

    fn image_descriptor(
        &self,
        set: u32,
        binding: u32,
        array_index: u32,
    ) -> Result<Option<ImageDescriptor>, RendererError> {
        Ok(self
            .get(set as usize)
            .and_then(|s| s.images.get(&(binding, array_index)))
            .cloned())
    }

    fn sampler_descriptor(
        &self,
        set: u32,
        binding: u32,
        array_index: u32,
    ) -> Result<Option<Sampler>, RendererError> {
        Ok(self
            .get(set as usize)
            .and_then(|s| s.samplers.get(&(binding, array_index)))
            .cloned())
    }
}

/// One descriptor set: (binding, array element) → buffer range, image or sampler.
#[derive(Clone, Debug, Default)]
pub struct DescriptorSet {
    entries: BTreeMap<(u32, u32), BufferRange>,
    images: BTreeMap<(u32, u32), ImageDescriptor>,
    samplers: BTreeMap<(u32, u32), Sampler>,
}

impl DescriptorSet {
    pub fn new() -> DescriptorSet {
        DescriptorSet::default()
    }

    /// Writes a storage-buffer descriptor (`range` may be [`WHOLE_SIZE`]).
    pub fn bind_storage_buffer(
        &mut self,
        binding: u32,
        array_element: u32,
        buffer: &Buffer,
        offset: u64,
        range: u64,
    ) -> Result<(), RendererError> {
        self.bind(
            DescriptorType::StorageBuffer,
            binding,
            array_element,
            buffer,
            offset,
            range,
        )
    }

    /// Writes a uniform-buffer descriptor (`range` may be [`WHOLE_SIZE`]).
    pub fn bind_uniform_buffer(
        &mut self,
        binding: u32,
        array_element: u32,
        buffer: &Buffer,
        offset: u64,
        range: u64,
    ) -> Result<(), RendererError> {
        self.bind(
            DescriptorType::UniformBuffer,
            binding,
            array_element,
            buffer,
            offset,
            range,
        )
    }

    /// Writes an image or texel-buffer descriptor (sampled, storage, combined image sampler,
    /// input attachment, texel buffer).
    pub fn bind_image(&mut self, binding: u32, array_element: u32, descriptor: ImageDescriptor) {
        self.images.insert((binding, array_element), descriptor);
    }

    /// Writes a sampler descriptor.
    pub fn bind_sampler(&mut self, binding: u32, array_element: u32, sampler: Sampler) {
        self.samplers.insert((binding, array_element), sampler);
    }

    /// The buffer descriptor at (binding, array element), if written.
    pub fn get(&self, binding: u32, array_element: u32) -> Option<&BufferRange> {
        self.entries.get(&(binding, array_element))
    }

    fn bind(
        &mut self,
        ty: DescriptorType,
        binding: u32,
        array_element: u32,
        buffer: &Buffer,
        offset: u64,
        range: u64,
    ) -> Result<(), RendererError> {
        // VUID-VkDescriptorBufferInfo-offset-00340: offset < size; -range-00341/00342: the
        // range is > 0 and fits; VUID-VkWriteDescriptorSet-descriptorType-00327/00328: offset
        // alignment; -00332/00333: range within maxUniformBufferRange / maxStorageBufferRange.
        let size = buffer.size();
        if !offset.is_multiple_of(MIN_BUFFER_OFFSET_ALIGNMENT) {
            return Err(RendererError::MisalignedOffset {
                offset,
                align: MIN_BUFFER_OFFSET_ALIGNMENT,
            });
        }
        if offset >= size {
            return Err(RendererError::OutOfRange {
                offset,
                len: range,
                size,
            });
        }
        let range = if range == WHOLE_SIZE {
            size - offset
        } else {
            range
        };
        if range == 0 || range > size - offset {
            return Err(RendererError::OutOfRange {
                offset,
                len: range,
                size,
            });
        }
        if range > ty.max_range() {
            return Err(RendererError::RangeTooLarge {
                range,
                limit: ty.max_range(),
            });
        }
        let entry = BufferRange {
            ty,
            buffer: buffer.clone(),
            offset,
            range,
        };
        self.entries.insert((binding, array_element), entry);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn buffer(size: u64) -> Buffer {
        Buffer::new(size).unwrap()
    }

    #[test]
    fn whole_size_covers_from_offset_to_end() {
        let b = buffer(256);
        let mut set = DescriptorSet::new();
        set.bind_storage_buffer(3, 1, &b, 64, WHOLE_SIZE).unwrap();
        let e = set.get(3, 1).unwrap();
        assert_eq!(
            (e.offset, e.range, e.ty),
            (64, 192, DescriptorType::StorageBuffer)
        );
        assert!(set.get(3, 0).is_none());
    }

    #[test]
    fn ranges_outside_the_buffer_are_refused() {
        let b = buffer(256);
        let mut set = DescriptorSet::new();
        assert!(set.bind_storage_buffer(0, 0, &b, 256, WHOLE_SIZE).is_err());
        assert!(set.bind_storage_buffer(0, 0, &b, 0, 257).is_err());
        assert!(set.bind_storage_buffer(0, 0, &b, 128, 129).is_err());
        assert!(set.bind_storage_buffer(0, 0, &b, 0, 0).is_err());
        assert!(set.bind_storage_buffer(0, 0, &b, 16, u64::MAX - 1).is_err());
        assert!(set.bind_storage_buffer(0, 0, &b, 128, 128).is_ok());
    }

    #[test]
    fn misaligned_offsets_are_refused() {
        let b = buffer(256);
        let mut set = DescriptorSet::new();
        assert!(matches!(
            set.bind_uniform_buffer(0, 0, &b, 4, 16),
            Err(RendererError::MisalignedOffset { .. })
        ));
    }

    #[test]
    fn uniform_range_is_limited_to_max_uniform_buffer_range() {
        let b = buffer(MAX_UNIFORM_BUFFER_RANGE + 16);
        let mut set = DescriptorSet::new();
        assert!(matches!(
            set.bind_uniform_buffer(0, 0, &b, 0, WHOLE_SIZE),
            Err(RendererError::RangeTooLarge { .. })
        ));
        assert!(set.bind_storage_buffer(0, 0, &b, 0, WHOLE_SIZE).is_ok());
        assert!(set.bind_uniform_buffer(1, 0, &b, 16, WHOLE_SIZE).is_ok());
    }
}
