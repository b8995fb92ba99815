//! Descriptor set layouts, pipeline layouts and descriptor sets (vkCreateDescriptorSetLayout,
//! vkCreatePipelineLayout, vkAllocateDescriptorSets, vkUpdateDescriptorSets).
//!
//! A set stores, per descriptor, the buffer id and the validated range — not the buffer's
//! memory: memory is resolved per submission (`guest`), and a destroyed buffer makes a later
//! dispatch that uses the descriptor fail cleanly.

//! Descriptor set layouts and pipeline layouts (vkCreateDescriptorSetLayout,
//! vkCreatePipelineLayout). The sets themselves and their updates are in `descriptor_set`.
//!
//! A layout binding may carry immutable samplers: their validated values are copied into the
//! layout when it is created (Vulkan §14.2.1), so destroying the samplers afterwards changes
//! nothing.

use std::sync::Arc;

use protocol::stream::{descriptor_type, DescriptorSetLayoutBinding, PushConstantRange};
use renderer::sampler::Sampler;
use renderer::{DescriptorType, MAX_STORAGE_BUFFER_RANGE, MAX_UNIFORM_BUFFER_RANGE};

use super::buffer::usage;
use super::{
    ExecError, MAX_BINDINGS_PER_SET_LAYOUT, MAX_BOUND_DESCRIPTOR_SETS,
    MAX_DESCRIPTORS_PER_SET_LAYOUT, MAX_PUSH_CONSTANTS_SIZE,
};

/// `VK_SHADER_STAGE_FRAGMENT_BIT`.
const STAGE_FRAGMENT: u32 = 0x10;

/// The descriptor types of the stream (`VkDescriptorType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DescriptorKind {
    Sampler,
    CombinedImageSampler,
    SampledImage,
    StorageImage,
    UniformTexelBuffer,
    StorageTexelBuffer,
    Uniform,
    Storage,
    UniformDynamic,
    StorageDynamic,
    InputAttachment,
}

impl DescriptorKind {
    pub(crate) fn from_vk(ty: u32) -> Result<DescriptorKind, ExecError> {
        use descriptor_type as t;
        Ok(match ty {
            t::SAMPLER => DescriptorKind::Sampler,
            t::COMBINED_IMAGE_SAMPLER => DescriptorKind::CombinedImageSampler,
            t::SAMPLED_IMAGE => DescriptorKind::SampledImage,
            t::STORAGE_IMAGE => DescriptorKind::StorageImage,
            t::UNIFORM_TEXEL_BUFFER => DescriptorKind::UniformTexelBuffer,
            t::STORAGE_TEXEL_BUFFER => DescriptorKind::StorageTexelBuffer,
            t::UNIFORM_BUFFER => DescriptorKind::Uniform,
            t::STORAGE_BUFFER => DescriptorKind::Storage,
            t::UNIFORM_BUFFER_DYNAMIC => DescriptorKind::UniformDynamic,
            t::STORAGE_BUFFER_DYNAMIC => DescriptorKind::StorageDynamic,
            t::INPUT_ATTACHMENT => DescriptorKind::InputAttachment,
            other => {
                return Err(ExecError::Invalid(format!(
                    "unsupported descriptor type {other}"
                )))
            }
        })
    }

    pub(crate) fn is_dynamic(self) -> bool {
        matches!(
            self,
            DescriptorKind::UniformDynamic | DescriptorKind::StorageDynamic
        )
    }

    /// Types whose bindings may have immutable samplers.
    pub(crate) fn takes_sampler(self) -> bool {
        matches!(
            self,
            DescriptorKind::Sampler | DescriptorKind::CombinedImageSampler
        )
    }

    /// What the renderer (and the shader) sees of a buffer descriptor; `None` for the other
    /// kinds.
    pub(crate) fn buffer_type(self) -> Option<DescriptorType> {
        match self {
            DescriptorKind::Uniform | DescriptorKind::UniformDynamic => {
                Some(DescriptorType::UniformBuffer)
            }
            DescriptorKind::Storage | DescriptorKind::StorageDynamic => {
                Some(DescriptorType::StorageBuffer)
            }
            _ => None,
        }
    }

    /// The buffer usage a buffer descriptor needs and its maximum range.
    pub(crate) fn buffer_rules(self) -> Option<(u32, u64)> {
        match self.buffer_type()? {
            DescriptorType::UniformBuffer => {
                Some((usage::UNIFORM_BUFFER, MAX_UNIFORM_BUFFER_RANGE))
            }
            DescriptorType::StorageBuffer => {
                Some((usage::STORAGE_BUFFER, MAX_STORAGE_BUFFER_RANGE))
            }
        }
    }
}

/// An immutable sampler of a layout binding. Two layouts with samplers of equal state are
/// identically defined (Vulkan §14.2.2, pipeline layout compatibility).
#[derive(Clone, Debug)]
pub(crate) struct ImmutableSampler(pub(crate) Sampler);

impl PartialEq for ImmutableSampler {
    fn eq(&self, other: &ImmutableSampler) -> bool {
        self.0.state() == other.0.state()
    }
}

impl Eq for ImmutableSampler {}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LayoutBinding {
    pub(crate) binding: u32,
    pub(crate) kind: DescriptorKind,
    pub(crate) count: u32,
    pub(crate) stages: u32,
    /// Index of element 0 in the set's flat descriptor array.
    pub(crate) first: u32,
    /// Index of element 0 among the set's dynamic descriptors (dynamic kinds only).
    pub(crate) first_dynamic: u32,
    /// Empty, or one sampler per element.
    pub(crate) immutable_samplers: Vec<ImmutableSampler>,
}

impl LayoutBinding {
    /// The immutable sampler of element `element`, if the binding has them.
    pub(crate) fn immutable_sampler(&self, element: u32) -> Option<&Sampler> {
        self.immutable_samplers.get(element as usize).map(|s| &s.0)
    }
}

/// A validated descriptor set layout; bindings sorted by binding number.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SetLayout {
    pub(crate) bindings: Vec<LayoutBinding>,
    pub(crate) descriptor_count: u32,
    pub(crate) dynamic_count: u32,
}

impl SetLayout {
    /// `sampler` looks an immutable sampler up by id.
    pub(crate) fn new(
        bindings: Vec<DescriptorSetLayoutBinding>,
        sampler: impl Fn(u64) -> Result<Sampler, ExecError>,
    ) -> Result<SetLayout, ExecError> {
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
            let kind = DescriptorKind::from_vk(b.descriptor_type)?;
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
            // VUID-VkDescriptorSetLayoutBinding-descriptorType-01510: input attachments are
            // read by fragment shaders only.
            if kind == DescriptorKind::InputAttachment
                && b.count != 0
                && b.stages & !STAGE_FRAGMENT != 0
            {
                return Err(ExecError::Invalid(format!(
                    "input attachment binding {} has stages {:#x} (only FRAGMENT may read it)",
                    b.binding, b.stages
                )));
            }
            // pImmutableSamplers: none, or one per element of a sampler type (the ICD sends
            // none for other types, which ignore the member).
            let immutable_samplers = if b.immutable_samplers.is_empty() {
                Vec::new()
            } else if kind.takes_sampler() && b.immutable_samplers.len() == b.count as usize {
                b.immutable_samplers
                    .iter()
                    .map(|&id| sampler(id).map(ImmutableSampler))
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                return Err(ExecError::Invalid(format!(
                    "binding {} ({kind:?}, {} descriptors) has {} immutable samplers",
                    b.binding,
                    b.count,
                    b.immutable_samplers.len()
                )));
            };
            out.push(LayoutBinding {
                binding: b.binding,
                kind,
                count: b.count,
                stages: b.stages,
                first,
                first_dynamic,
                immutable_samplers,
            });
        }
        Ok(SetLayout {
            bindings: out,
            descriptor_count: total,
            dynamic_count: dynamic,
        })
    }

    /// Host bytes the layout holds.
    pub(crate) fn host_bytes(&self) -> u64 {
        let samplers: usize = self
            .bindings
            .iter()
            .map(|b| b.immutable_samplers.len())
            .sum();
        let bytes = self.bindings.len() * std::mem::size_of::<LayoutBinding>()
            + samplers * std::mem::size_of::<ImmutableSampler>();
        bytes as u64
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

    /// `count` consecutive descriptors from (binding, array element), rolling over into the
    /// following bindings as vkUpdateDescriptorSets does (Vulkan §14.2.4: "the remainder will
    /// be used to update the subsequent binding"); every binding reached must have the type,
    /// stages and immutable-sampler use of the first (VUID-VkWriteDescriptorSet-
    /// descriptorCount-00318). Each element is (its binding, its element in the binding, its
    /// flat index).
    pub(crate) fn consecutive(
        &self,
        binding: u32,
        array_element: u32,
        count: u32,
    ) -> Result<Vec<(&LayoutBinding, u32, usize)>, ExecError> {
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
                if b.kind != first.kind
                    || b.stages != first.stages
                    || b.immutable_samplers.is_empty() != first.immutable_samplers.is_empty()
                {
                    return Err(ExecError::Invalid(format!(
                        "descriptors from binding {binding} roll over into binding {} of another type, stages or sampler use",
                        b.binding
                    )));
                }
            }
            let b = &self.bindings[index];
            out.push((b, element, (b.first + element) as usize));
            element += 1;
        }
        Ok(out)
    }
}

/// Descriptors of each class (see [`protocol::descriptor::DescriptorLimits`]), dynamic
/// buffers and stage resources.
#[derive(Clone, Copy, Debug, Default)]
struct ClassCounts {
    samplers: u64,
    uniform_buffers: u64,
    storage_buffers: u64,
    sampled_images: u64,
    storage_images: u64,
    input_attachments: u64,
    uniform_dynamic: u64,
    storage_dynamic: u64,
}

impl ClassCounts {
    fn add(&mut self, kind: DescriptorKind, count: u64) {
        use DescriptorKind as K;
        match kind {
            K::Sampler => self.samplers += count,
            K::CombinedImageSampler => {
                self.samplers += count;
                self.sampled_images += count;
            }
            K::SampledImage | K::UniformTexelBuffer => self.sampled_images += count,
            K::StorageImage | K::StorageTexelBuffer => self.storage_images += count,
            K::Uniform => self.uniform_buffers += count,
            K::UniformDynamic => {
                self.uniform_buffers += count;
                self.uniform_dynamic += count;
            }
            K::Storage => self.storage_buffers += count,
            K::StorageDynamic => {
                self.storage_buffers += count;
                self.storage_dynamic += count;
            }
            K::InputAttachment => self.input_attachments += count,
        }
    }

    /// The first class over `limits`, as (its name in `names`, value, limit); `names` are
    /// samplers, uniform buffers, storage buffers, sampled images, storage images and input
    /// attachments, in that order.
    fn over(
        &self,
        limits: &protocol::descriptor::DescriptorLimits,
        names: [&'static str; 6],
    ) -> Option<(&'static str, u64, u32)> {
        let values = [
            (self.samplers, limits.samplers),
            (self.uniform_buffers, limits.uniform_buffers),
            (self.storage_buffers, limits.storage_buffers),
            (self.sampled_images, limits.sampled_images),
            (self.storage_images, limits.storage_images),
            (self.input_attachments, limits.input_attachments),
        ];
        names
            .into_iter()
            .zip(values)
            .find(|&(_, (value, limit))| value > u64::from(limit))
            .map(|(name, (value, limit))| (name, value, limit))
    }
}

/// The descriptor limits the ICD reports (`protocol::descriptor`), over all the set layouts
/// of a pipeline layout: per shader stage (VUID-VkPipelineLayoutCreateInfo-descriptorType-
/// 03016 to -03022, -03287) and for the layout as a whole (-03028 to -03036).
fn check_descriptor_limits(sets: &[Arc<SetLayout>]) -> Result<(), ExecError> {
    use protocol::descriptor::{
        MAX_PER_STAGE_RESOURCES, MAX_STORAGE_BUFFERS_DYNAMIC, MAX_UNIFORM_BUFFERS_DYNAMIC,
        PER_LAYOUT, PER_STAGE,
    };
    /// Stage bits counted apart: the graphics stages and compute (`VkShaderStageFlagBits`).
    const STAGES: [u32; 6] = [0x1, 0x2, 0x4, 0x8, 0x10, 0x20];
    const STAGE_NAMES: [&str; 6] = [
        "samplers one shader stage reaches",
        "uniform buffers one shader stage reaches",
        "storage buffers one shader stage reaches",
        "sampled images one shader stage reaches",
        "storage images one shader stage reaches",
        "input attachments one shader stage reaches",
    ];
    const LAYOUT_NAMES: [&str; 6] = [
        "samplers in a pipeline layout",
        "uniform buffers in a pipeline layout",
        "storage buffers in a pipeline layout",
        "sampled images in a pipeline layout",
        "storage images in a pipeline layout",
        "input attachments in a pipeline layout",
    ];
    let mut whole = ClassCounts::default();
    let mut per_stage = [ClassCounts::default(); STAGES.len()];
    for b in sets.iter().flat_map(|s| &s.bindings) {
        let count = u64::from(b.count);
        whole.add(b.kind, count);
        for (stage, counts) in STAGES.iter().zip(per_stage.iter_mut()) {
            if b.stages & stage != 0 {
                counts.add(b.kind, count);
            }
        }
    }
    let limit = |what: &'static str, value: u64, limit: u32| ExecError::Limit {
        what,
        value,
        limit: u64::from(limit),
    };
    for counts in &per_stage {
        if let Some((what, value, max)) = counts.over(&PER_STAGE, STAGE_NAMES) {
            return Err(limit(what, value, max));
        }
        let resources = counts.uniform_buffers
            + counts.storage_buffers
            + counts.sampled_images
            + counts.storage_images
            + counts.input_attachments;
        if resources > u64::from(MAX_PER_STAGE_RESOURCES) {
            return Err(limit(
                "resources one shader stage reaches",
                resources,
                MAX_PER_STAGE_RESOURCES,
            ));
        }
    }
    if let Some((what, value, max)) = whole.over(&PER_LAYOUT, LAYOUT_NAMES) {
        return Err(limit(what, value, max));
    }
    if whole.uniform_dynamic > u64::from(MAX_UNIFORM_BUFFERS_DYNAMIC) {
        return Err(limit(
            "dynamic uniform buffers in a pipeline layout",
            whole.uniform_dynamic,
            MAX_UNIFORM_BUFFERS_DYNAMIC,
        ));
    }
    if whole.storage_dynamic > u64::from(MAX_STORAGE_BUFFERS_DYNAMIC) {
        return Err(limit(
            "dynamic storage buffers in a pipeline layout",
            whole.storage_dynamic,
            MAX_STORAGE_BUFFERS_DYNAMIC,
        ));
    }
    Ok(())
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
        check_descriptor_limits(&sets)?;
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
            immutable_samplers: vec![],
        }
    }

    fn no_samplers(id: u64) -> Result<Sampler, ExecError> {
        Err(ExecError::UnknownId {
            kind: "sampler",
            id,
        })
    }

    fn slots(
        l: &SetLayout,
        binding: u32,
        element: u32,
        count: u32,
    ) -> Result<Vec<usize>, ExecError> {
        Ok(l.consecutive(binding, element, count)?
            .into_iter()
            .map(|(_, _, s)| s)
            .collect())
    }

    #[test]
    fn writes_roll_over_into_the_next_binding_of_the_same_type() {
        let layout = SetLayout::new(
            vec![
                binding(3, descriptor_type::STORAGE_BUFFER, 1),
                binding(0, descriptor_type::STORAGE_BUFFER, 2),
                binding(1, descriptor_type::STORAGE_BUFFER, 0),
                binding(5, descriptor_type::UNIFORM_BUFFER, 1),
            ],
            no_samplers,
        )
        .unwrap();
        // Binding 0 elements 1.., then binding 1 (empty, skipped), then binding 3.
        assert_eq!(slots(&layout, 0, 1, 2).unwrap(), vec![1, 2]);
        // Rolling from binding 3 into binding 5 changes type.
        assert!(slots(&layout, 3, 0, 2).is_err());
        assert!(slots(&layout, 5, 0, 2).is_err());
        assert!(slots(&layout, 7, 0, 1).is_err());
        assert!(slots(&layout, 0, 0, u32::MAX).is_err());
    }

    #[test]
    fn dynamic_descriptors_are_numbered_in_binding_order() {
        let layout = SetLayout::new(
            vec![
                binding(2, descriptor_type::STORAGE_BUFFER_DYNAMIC, 1),
                binding(0, descriptor_type::UNIFORM_BUFFER_DYNAMIC, 2),
                binding(1, descriptor_type::STORAGE_BUFFER, 4),
            ],
            no_samplers,
        )
        .unwrap();
        assert_eq!(layout.dynamic_count, 3);
        assert_eq!(layout.element(2, 0).unwrap().0.first_dynamic, 2);
        assert_eq!(layout.element(1, 3).unwrap().1, 5);
        assert!(layout.element(1, 4).is_none());
    }

    #[test]
    fn bad_layouts_are_refused() {
        assert!(SetLayout::new(vec![binding(0, 7, 1), binding(0, 7, 1)], no_samplers).is_err());
        assert!(SetLayout::new(vec![binding(0, 11, 1)], no_samplers).is_err());
        assert!(
            SetLayout::new(vec![binding(0, 7, u32::MAX), binding(1, 7, 2)], no_samplers).is_err()
        );
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

    #[test]
    fn pipeline_layouts_keep_to_the_descriptor_limits_the_icd_reports() {
        use protocol::descriptor::{
            MAX_PER_STAGE_RESOURCES, MAX_UNIFORM_BUFFERS_DYNAMIC, PER_STAGE,
        };
        use protocol::stream::descriptor_type as t;
        let set = |bindings: Vec<(u32, u32, u32)>| {
            let bindings = bindings
                .into_iter()
                .enumerate()
                .map(|(i, (ty, count, stages))| DescriptorSetLayoutBinding {
                    stages,
                    ..binding(i as u32, ty, count)
                })
                .collect();
            Arc::new(SetLayout::new(bindings, no_samplers).unwrap())
        };
        let layout = |sets: Vec<Arc<SetLayout>>| PipelineLayout::new(sets, vec![]);
        let (vertex, fragment, compute) = (0x1, 0x10, 0x20);
        let limit = PER_STAGE.sampled_images;
        // At the per-stage limit, split over two sets: accepted.
        let half = limit / 2;
        let two = vec![
            set(vec![(t::SAMPLED_IMAGE, half, fragment)]),
            set(vec![(t::SAMPLED_IMAGE, limit - half, fragment)]),
        ];
        assert!(layout(two).is_ok());
        // One more, in either set: refused, naming the class.
        let over = vec![
            set(vec![(t::SAMPLED_IMAGE, half, fragment)]),
            set(vec![(
                t::COMBINED_IMAGE_SAMPLER,
                limit - half + 1,
                fragment,
            )]),
        ];
        let e = layout(over)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("sampled images one shader stage reaches"), "{e}");
        // The same number spread over two stages is within each stage's limit but over the
        // layout's.
        let spread = vec![
            set(vec![(t::STORAGE_IMAGE, limit, vertex)]),
            set(vec![(t::STORAGE_IMAGE, 1, compute)]),
        ];
        let e = layout(spread)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("storage images in a pipeline layout"), "{e}");
        // Input attachments: at most as many as colour attachments.
        let inputs = |n| vec![set(vec![(t::INPUT_ATTACHMENT, n, fragment)])];
        assert!(layout(inputs(PER_STAGE.input_attachments)).is_ok());
        assert!(layout(inputs(PER_STAGE.input_attachments + 1)).is_err());
        // Dynamic uniform buffers have a layout limit of their own.
        let dynamic = |n| vec![set(vec![(t::UNIFORM_BUFFER_DYNAMIC, n, compute)])];
        assert!(layout(dynamic(MAX_UNIFORM_BUFFERS_DYNAMIC)).is_ok());
        assert!(layout(dynamic(MAX_UNIFORM_BUFFERS_DYNAMIC + 1)).is_err());
        // Every buffer and image class at its limit in one stage: exactly the stage's
        // resource limit; one input attachment more is over it (though within its class).
        let full = |inputs| {
            let mut sets = vec![
                set(vec![
                    (t::UNIFORM_BUFFER, 1024, fragment),
                    (t::STORAGE_BUFFER, 1024, fragment),
                ]),
                set(vec![
                    (t::SAMPLED_IMAGE, 1024, fragment),
                    (t::STORAGE_IMAGE, 1024, fragment),
                ]),
            ];
            if inputs > 0 {
                sets.push(set(vec![(t::INPUT_ATTACHMENT, inputs, fragment)]));
            }
            sets
        };
        assert_eq!(4 * 1024, MAX_PER_STAGE_RESOURCES);
        assert!(layout(full(0)).is_ok());
        let e = layout(full(1))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("resources one shader stage reaches"), "{e}");
    }
}
