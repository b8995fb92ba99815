//! Descriptor set layouts, pipeline layouts and descriptor sets (vkCreateDescriptorSetLayout,
//! vkCreatePipelineLayout, vkAllocateDescriptorSets, vkUpdateDescriptorSets).
//!
//! A set stores, per descriptor, the buffer id and the validated range — not the buffer's
//! memory: memory is resolved per submission (`guest`), and a destroyed buffer makes a later
//! dispatch that uses the descriptor fail cleanly.

use std::sync::Arc;

use protocol::stream::{
    descriptor_type, DescriptorBufferInfo, DescriptorSetLayoutBinding, PushConstantRange,
    WHOLE_SIZE,
};
use renderer::{
    DescriptorType, MAX_STORAGE_BUFFER_RANGE, MAX_UNIFORM_BUFFER_RANGE, MIN_BUFFER_OFFSET_ALIGNMENT,
};

use super::buffer::{usage, Buffers};
use super::{
    ExecError, MAX_BINDINGS_PER_SET_LAYOUT, MAX_BOUND_DESCRIPTOR_SETS,
    MAX_DESCRIPTORS_PER_SET_LAYOUT, MAX_PUSH_CONSTANTS_SIZE,
};

/// The buffer descriptor types of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BufferDescriptorKind {
    Uniform,
    Storage,
    UniformDynamic,
    StorageDynamic,
}

impl BufferDescriptorKind {
    fn from_vk(ty: u32) -> Result<BufferDescriptorKind, ExecError> {
        match ty {
            descriptor_type::UNIFORM_BUFFER => Ok(BufferDescriptorKind::Uniform),
            descriptor_type::STORAGE_BUFFER => Ok(BufferDescriptorKind::Storage),
            descriptor_type::UNIFORM_BUFFER_DYNAMIC => Ok(BufferDescriptorKind::UniformDynamic),
            descriptor_type::STORAGE_BUFFER_DYNAMIC => Ok(BufferDescriptorKind::StorageDynamic),
            other => Err(ExecError::Invalid(format!(
                "unsupported descriptor type {other}"
            ))),
        }
    }

    pub(crate) fn is_dynamic(self) -> bool {
        matches!(
            self,
            BufferDescriptorKind::UniformDynamic | BufferDescriptorKind::StorageDynamic
        )
    }

    /// What the renderer (and the shader) sees.
    pub(crate) fn renderer_type(self) -> DescriptorType {
        match self {
            BufferDescriptorKind::Uniform | BufferDescriptorKind::UniformDynamic => {
                DescriptorType::UniformBuffer
            }
            BufferDescriptorKind::Storage | BufferDescriptorKind::StorageDynamic => {
                DescriptorType::StorageBuffer
            }
        }
    }

    fn required_usage(self) -> u32 {
        match self.renderer_type() {
            DescriptorType::UniformBuffer => usage::UNIFORM_BUFFER,
            DescriptorType::StorageBuffer => usage::STORAGE_BUFFER,
        }
    }

    fn max_range(self) -> u64 {
        match self.renderer_type() {
            DescriptorType::UniformBuffer => MAX_UNIFORM_BUFFER_RANGE,
            DescriptorType::StorageBuffer => MAX_STORAGE_BUFFER_RANGE,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LayoutBinding {
    pub(crate) binding: u32,
    pub(crate) kind: BufferDescriptorKind,
    pub(crate) count: u32,
    pub(crate) stages: u32,
    /// Index of element 0 in the set's flat descriptor array.
    pub(crate) first: u32,
    /// Index of element 0 among the set's dynamic descriptors (dynamic kinds only).
    pub(crate) first_dynamic: u32,
}

/// A validated descriptor set layout; bindings sorted by binding number.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SetLayout {
    pub(crate) bindings: Vec<LayoutBinding>,
    pub(crate) descriptor_count: u32,
    pub(crate) dynamic_count: u32,
}

impl SetLayout {
    pub(crate) fn new(bindings: Vec<DescriptorSetLayoutBinding>) -> Result<SetLayout, ExecError> {
        if bindings.len() > MAX_BINDINGS_PER_SET_LAYOUT {
            return Err(ExecError::Limit {
                what: "bindings in a set layout",
                value: bindings.len() as u64,
                limit: MAX_BINDINGS_PER_SET_LAYOUT as u64,
            });
        }
        let mut sorted = bindings;
        sorted.sort_by_key(|b| b.binding);
        let mut out = Vec::with_capacity(sorted.len());
        let (mut total, mut dynamic) = (0u32, 0u32);
        for (i, b) in sorted.iter().enumerate() {
            // VUID-VkDescriptorSetLayoutCreateInfo-binding-00279: binding numbers are unique.
            if i > 0 && sorted[i - 1].binding == b.binding {
                return Err(ExecError::Invalid(format!(
                    "binding {} appears twice",
                    b.binding
                )));
            }
            let kind = BufferDescriptorKind::from_vk(b.descriptor_type)?;
            let first = total;
            total = total
                .checked_add(b.count)
                .filter(|&t| t <= MAX_DESCRIPTORS_PER_SET_LAYOUT)
                .ok_or(ExecError::Limit {
                    what: "descriptors in a set layout",
                    value: u64::from(total) + u64::from(b.count),
                    limit: u64::from(MAX_DESCRIPTORS_PER_SET_LAYOUT),
                })?;
            let first_dynamic = dynamic;
            if kind.is_dynamic() {
                // `dynamic <= total`, which was just bounded.
                dynamic += b.count;
            }
            out.push(LayoutBinding {
                binding: b.binding,
                kind,
                count: b.count,
                stages: b.stages,
                first,
                first_dynamic,
            });
        }
        Ok(SetLayout {
            bindings: out,
            descriptor_count: total,
            dynamic_count: dynamic,
        })
    }

    fn binding_index(&self, binding: u32) -> Option<usize> {
        self.bindings
            .binary_search_by_key(&binding, |b| b.binding)
            .ok()
    }

    /// The binding `binding` and the flat index of its element `array_index`.
    pub(crate) fn element(
        &self,
        binding: u32,
        array_index: u32,
    ) -> Option<(&LayoutBinding, usize)> {
        let b = &self.bindings[self.binding_index(binding)?];
        (array_index < b.count).then(|| (b, (b.first + array_index) as usize))
    }

    /// Flat indices of `count` consecutive descriptors from (binding, array element), rolling
    /// over into the following bindings as vkUpdateDescriptorSets does (Vulkan §14.2.4: "the
    /// remainder will be used to update the subsequent binding"); every binding reached must
    /// have the kind and stages of the first (VUID-VkWriteDescriptorSet-descriptorCount-00318).
    fn consecutive(
        &self,
        binding: u32,
        array_element: u32,
        count: u32,
    ) -> Result<(BufferDescriptorKind, Vec<usize>), ExecError> {
        let mut index = self.binding_index(binding).ok_or_else(|| {
            ExecError::Invalid(format!("binding {binding} is not in the set layout"))
        })?;
        let first = &self.bindings[index];
        if count > self.descriptor_count {
            return Err(ExecError::Invalid(format!(
                "{count} descriptors overflow the set layout"
            )));
        }
        let mut element = array_element;
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            while element >= self.bindings[index].count {
                element -= self.bindings[index].count;
                index += 1;
                let b = self.bindings.get(index).ok_or_else(|| {
                    ExecError::Invalid(format!("binding {binding}[{array_element}] + {count} descriptors overflow the set layout"))
                })?;
                if b.kind != first.kind || b.stages != first.stages {
                    return Err(ExecError::Invalid(format!(
                        "descriptors from binding {binding} roll over into binding {} of another type or stages",
                        b.binding
                    )));
                }
            }
            let b = &self.bindings[index];
            out.push((b.first + element) as usize);
            element += 1;
        }
        Ok((first.kind, out))
    }
}

pub(crate) struct PipelineLayout {
    pub(crate) sets: Vec<Arc<SetLayout>>,
    pub(crate) push_constant_ranges: Vec<PushConstantRange>,
}

impl PipelineLayout {
    pub(crate) fn new(
        sets: Vec<Arc<SetLayout>>,
        ranges: Vec<PushConstantRange>,
    ) -> Result<PipelineLayout, ExecError> {
        // VUID-VkPipelineLayoutCreateInfo-setLayoutCount-00286.
        if sets.len() > MAX_BOUND_DESCRIPTOR_SETS {
            return Err(ExecError::Limit {
                what: "set layouts in a pipeline layout",
                value: sets.len() as u64,
                limit: MAX_BOUND_DESCRIPTOR_SETS as u64,
            });
        }
        for (i, r) in ranges.iter().enumerate() {
            // VUID-VkPushConstantRange-offset-00294, -00295, -size-00296, -00297, -00298,
            // -stageFlags-requiredbitmask.
            let end = u64::from(r.offset) + u64::from(r.size);
            if r.offset % 4 != 0
                || r.size % 4 != 0
                || r.size == 0
                || end > u64::from(MAX_PUSH_CONSTANTS_SIZE)
                || r.stages == 0
            {
                return Err(ExecError::Invalid(format!(
                    "push constant range {i} (offset {}, size {}, stages {:#x}) is invalid",
                    r.offset, r.size, r.stages
                )));
            }
            // VUID-VkPipelineLayoutCreateInfo-pPushConstantRanges-00292: one range per stage.
            if ranges[..i].iter().any(|o| o.stages & r.stages != 0) {
                return Err(ExecError::Invalid(format!(
                    "push constant range {i} repeats a stage"
                )));
            }
        }
        Ok(PipelineLayout {
            sets,
            push_constant_ranges: ranges,
        })
    }

    /// VUID-vkCmdPushConstants-offset-01795 and -01796: every byte written is in a range of
    /// every stage in `stages`, and `stages` covers every range that includes the byte.
    pub(crate) fn check_push_constants(
        &self,
        stages: u32,
        offset: u32,
        size: usize,
    ) -> Result<(), ExecError> {
        let end = u64::from(offset) + size as u64;
        // VUID-vkCmdPushConstants-offset-00368, -size-00369, -offset-00370, -size-00371.
        if offset % 4 != 0
            || size % 4 != 0
            || size == 0
            || end > u64::from(MAX_PUSH_CONSTANTS_SIZE)
            || stages == 0
        {
            return Err(ExecError::Invalid(format!(
                "push constants of {size} bytes at offset {offset} (stages {stages:#x}) are invalid"
            )));
        }
        for byte in offset..end as u32 {
            let mut covering = 0;
            for r in &self.push_constant_ranges {
                if byte >= r.offset && byte < r.offset + r.size {
                    if stages & r.stages != r.stages {
                        return Err(ExecError::Invalid(format!(
                            "byte {byte} is also in a range of stages {:#x}",
                            r.stages
                        )));
                    }
                    covering |= r.stages;
                }
            }
            if covering & stages != stages {
                return Err(ExecError::Invalid(format!(
                    "byte {byte} is not in a push constant range of stages {stages:#x}"
                )));
            }
        }
        Ok(())
    }

    /// End of the highest push constant range.
    pub(crate) fn push_constant_end(&self) -> u32 {
        self.push_constant_ranges
            .iter()
            .map(|r| r.offset + r.size)
            .max()
            .unwrap_or(0)
    }
}

/// One written descriptor: a buffer and the validated range within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DescriptorEntry {
    pub(crate) buffer: u64,
    pub(crate) offset: u64,
    pub(crate) range: u64,
}

pub(crate) struct DescriptorSetObject {
    pub(crate) layout: Arc<SetLayout>,
    pub(crate) entries: Vec<Option<DescriptorEntry>>,
}

impl DescriptorSetObject {
    pub(crate) fn new(layout: Arc<SetLayout>) -> DescriptorSetObject {
        let entries = vec![None; layout.descriptor_count as usize];
        DescriptorSetObject { layout, entries }
    }

    /// One VkWriteDescriptorSet; nothing changes unless every descriptor is valid.
    pub(crate) fn write(
        &mut self,
        binding: u32,
        array_element: u32,
        ty: u32,
        infos: &[DescriptorBufferInfo],
        buffers: &Buffers,
    ) -> Result<(), ExecError> {
        let kind = BufferDescriptorKind::from_vk(ty)?;
        let count = u32::try_from(infos.len()).unwrap_or(u32::MAX);
        let (layout_kind, slots) = self.layout.consecutive(binding, array_element, count)?;
        // VUID-VkWriteDescriptorSet-descriptorType-00319: the binding's type.
        if layout_kind != kind {
            return Err(ExecError::Invalid(format!(
                "binding {binding} is {layout_kind:?}, the write is {kind:?}"
            )));
        }
        let mut entries = Vec::with_capacity(infos.len());
        for info in infos {
            entries.push(validate_buffer_info(kind, info, buffers)?);
        }
        for (slot, entry) in slots.into_iter().zip(entries) {
            if let Some(e) = self.entries.get_mut(slot) {
                *e = Some(entry);
            }
        }
        Ok(())
    }

    /// The entries a VkCopyDescriptorSet reads (checked against this set's layout).
    pub(crate) fn copy_out(
        &self,
        binding: u32,
        array_element: u32,
        count: u32,
    ) -> Result<(BufferDescriptorKind, Vec<Option<DescriptorEntry>>), ExecError> {
        let (kind, slots) = self.layout.consecutive(binding, array_element, count)?;
        Ok((
            kind,
            slots
                .into_iter()
                .map(|s| self.entries.get(s).copied().flatten())
                .collect(),
        ))
    }

    /// The writing half of a VkCopyDescriptorSet.
    pub(crate) fn copy_in(
        &mut self,
        binding: u32,
        array_element: u32,
        kind: BufferDescriptorKind,
        entries: Vec<Option<DescriptorEntry>>,
    ) -> Result<(), ExecError> {
        let count = u32::try_from(entries.len()).unwrap_or(u32::MAX);
        let (dst_kind, slots) = self.layout.consecutive(binding, array_element, count)?;
        // VUID-VkCopyDescriptorSet-dstBinding-02632: same descriptor type.
        if dst_kind != kind {
            return Err(ExecError::Invalid(format!(
                "copy from {kind:?} descriptors into {dst_kind:?} binding {binding}"
            )));
        }
        for (slot, entry) in slots.into_iter().zip(entries) {
            if let Some(e) = self.entries.get_mut(slot) {
                *e = entry;
            }
        }
        Ok(())
    }
}

/// VkDescriptorBufferInfo rules (VUID-VkDescriptorBufferInfo-offset-00340, -range-00341,
/// -range-00342, VUID-VkWriteDescriptorSet-descriptorType-00327/00328 (alignment),
/// -00329 (memory bound), -00330/00331 (usage), -00332/00333 (maximum range)).
fn validate_buffer_info(
    kind: BufferDescriptorKind,
    info: &DescriptorBufferInfo,
    buffers: &Buffers,
) -> Result<DescriptorEntry, ExecError> {
    let id = info.buffer;
    let buffer = buffers.get(id)?;
    let bad = |why: &str| {
        ExecError::Invalid(format!(
            "buffer {id} offset {} range {}: {why}",
            info.offset, info.range
        ))
    };
    if buffer.memory.is_none() {
        return Err(bad("no memory bound"));
    }
    if buffer.usage & kind.required_usage() == 0 {
        return Err(bad(
            "the buffer's usage does not allow this descriptor type",
        ));
    }
    if info.offset % MIN_BUFFER_OFFSET_ALIGNMENT != 0 {
        return Err(bad("offset is not aligned"));
    }
    if info.offset >= buffer.size {
        return Err(bad("offset is past the end"));
    }
    let range = if info.range == WHOLE_SIZE {
        buffer.size - info.offset
    } else {
        info.range
    };
    if range == 0 || range > buffer.size - info.offset {
        return Err(bad("range is empty or past the end"));
    }
    if range > kind.max_range() {
        return Err(bad("range exceeds the limit for the type"));
    }
    Ok(DescriptorEntry {
        buffer: id,
        offset: info.offset,
        range,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn binding(binding: u32, ty: u32, count: u32) -> DescriptorSetLayoutBinding {
        DescriptorSetLayoutBinding {
            binding,
            descriptor_type: ty,
            count,
            stages: 0x20,
        }
    }

    #[test]
    fn writes_roll_over_into_the_next_binding_of_the_same_type() {
        let layout = SetLayout::new(vec![
            binding(3, descriptor_type::STORAGE_BUFFER, 1),
            binding(0, descriptor_type::STORAGE_BUFFER, 2),
            binding(1, descriptor_type::STORAGE_BUFFER, 0),
            binding(5, descriptor_type::UNIFORM_BUFFER, 1),
        ])
        .unwrap();
        // Binding 0 elements 1.., then binding 1 (empty, skipped), then binding 3.
        let (_, slots) = layout.consecutive(0, 1, 2).unwrap();
        assert_eq!(slots, vec![1, 2]);
        // Rolling from binding 3 into binding 5 changes type.
        assert!(layout.consecutive(3, 0, 2).is_err());
        assert!(layout.consecutive(5, 0, 2).is_err());
        assert!(layout.consecutive(7, 0, 1).is_err());
        assert!(layout.consecutive(0, 0, u32::MAX).is_err());
    }

    #[test]
    fn dynamic_descriptors_are_numbered_in_binding_order() {
        let layout = SetLayout::new(vec![
            binding(2, descriptor_type::STORAGE_BUFFER_DYNAMIC, 1),
            binding(0, descriptor_type::UNIFORM_BUFFER_DYNAMIC, 2),
            binding(1, descriptor_type::STORAGE_BUFFER, 4),
        ])
        .unwrap();
        assert_eq!(layout.dynamic_count, 3);
        assert_eq!(layout.element(2, 0).unwrap().0.first_dynamic, 2);
        assert_eq!(layout.element(1, 3).unwrap().1, 5);
        assert!(layout.element(1, 4).is_none());
    }

    #[test]
    fn bad_layouts_are_refused() {
        assert!(SetLayout::new(vec![binding(0, 7, 1), binding(0, 7, 1)]).is_err());
        assert!(SetLayout::new(vec![binding(0, 1, 1)]).is_err());
        assert!(SetLayout::new(vec![binding(0, 7, u32::MAX), binding(1, 7, 2)]).is_err());
    }

    #[test]
    fn push_constant_writes_must_match_the_ranges() {
        let layout = PipelineLayout::new(
            vec![],
            vec![PushConstantRange {
                stages: 0x20,
                offset: 0,
                size: 16,
            }],
        )
        .unwrap();
        layout.check_push_constants(0x20, 0, 16).unwrap();
        layout.check_push_constants(0x20, 4, 8).unwrap();
        assert!(layout.check_push_constants(0x20, 8, 16).is_err());
        assert!(layout.check_push_constants(0x21, 0, 4).is_err());
        assert!(layout.check_push_constants(0x20, 2, 4).is_err());
        assert!(layout.check_push_constants(0x20, 0, 0).is_err());
        assert!(PipelineLayout::new(
            vec![],
            vec![PushConstantRange {
                stages: 0x20,
                offset: 252,
                size: 8
            }]
        )
        .is_err());
        assert!(PipelineLayout::new(
            vec![],
            vec![
                PushConstantRange {
                    stages: 0x20,
                    offset: 0,
                    size: 4
                },
                PushConstantRange {
                    stages: 0x20,
                    offset: 4,
                    size: 4
                }
            ]
        )
        .is_err());
    }
}
