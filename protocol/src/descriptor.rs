//! Descriptor limits: what the ICD reports in `VkPhysicalDeviceLimits` and the device
//! enforces when it creates a pipeline layout (one definition for both sides).

/// `maxPerStageDescriptor*` and `maxDescriptorSet*` (Vulkan §48.1), by descriptor class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DescriptorLimits {
    /// Samplers (SAMPLER and COMBINED_IMAGE_SAMPLER descriptors).
    pub samplers: u32,
    /// UNIFORM_BUFFER and UNIFORM_BUFFER_DYNAMIC.
    pub uniform_buffers: u32,
    /// STORAGE_BUFFER and STORAGE_BUFFER_DYNAMIC.
    pub storage_buffers: u32,
    /// COMBINED_IMAGE_SAMPLER, SAMPLED_IMAGE and UNIFORM_TEXEL_BUFFER.
    pub sampled_images: u32,
    /// STORAGE_IMAGE and STORAGE_TEXEL_BUFFER.
    pub storage_images: u32,
    /// INPUT_ATTACHMENT.
    pub input_attachments: u32,
}

/// Colour attachments a subpass may have (`maxColorAttachments`); input attachments are
/// limited to as many.
pub const MAX_COLOR_ATTACHMENTS: u32 = 8;

/// The `maxPerStageDescriptor*` limits: descriptors of each class one shader stage can
/// reach through all the set layouts of a pipeline layout.
pub const PER_STAGE: DescriptorLimits = DescriptorLimits {
    samplers: 1024,
    uniform_buffers: 1024,
    storage_buffers: 1024,
    sampled_images: 1024,
    storage_images: 1024,
    input_attachments: MAX_COLOR_ATTACHMENTS,
};

/// `maxPerStageResources`: uniform and storage buffers, sampled and storage images, input
/// attachments and colour attachments one stage can reach.
pub const MAX_PER_STAGE_RESOURCES: u32 = 4096;

/// The `maxDescriptorSet*` limits: descriptors of each class in all the set layouts of a
/// pipeline layout together. The same numbers as per stage: nothing in softgpu is shared
/// between stages, so one stage may use all of them.
pub const PER_LAYOUT: DescriptorLimits = PER_STAGE;

/// `maxDescriptorSetUniformBuffersDynamic`.
pub const MAX_UNIFORM_BUFFERS_DYNAMIC: u32 = 64;
/// `maxDescriptorSetStorageBuffersDynamic`.
pub const MAX_STORAGE_BUFFERS_DYNAMIC: u32 = 64;
