//! The structures graphics commands carry: images and views, render passes, graphics pipeline
//! state, dynamic state and transfer regions.
//!
//! Enumerations travel as their raw Vulkan numbers (`u32`) and flags as `VkFlags`: the device
//! checks each one when it uses it, so an unknown value is a clear error there rather than a
//! decoding failure here. Image layouts do not travel at all: softgpu's storage of an image
//! does not depend on its layout, so layout transitions are no-ops.

use serde::{Deserialize, Serialize};

/// `VK_ATTACHMENT_UNUSED`.
pub const ATTACHMENT_UNUSED: u32 = u32::MAX;

/// `maxMultiviewViewCount`: view masks may use bits 0..8 (the ICD reports it, the device
/// refuses masks beyond it).
pub const MAX_MULTIVIEW_VIEW_COUNT: u32 = 8;

/// A `VkClearValue` as its 16 raw bytes: the four words of a `VkClearColorValue` (float,
/// int or uint bits, read by the attachment's format class), or for depth/stencil the
/// `f32` depth bits in word 0 and the stencil value in word 1.
pub type ClearValue = [u32; 4];

/// `VkImageSubresourceRange`; counts may be `VK_REMAINING_*` (`u32::MAX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSubresourceRange {
    pub aspect_mask: u32,
    pub base_mip_level: u32,
    pub level_count: u32,
    pub base_array_layer: u32,
    pub layer_count: u32,
}

/// `VkImageSubresourceLayers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSubresourceLayers {
    pub aspect_mask: u32,
    pub mip_level: u32,
    pub base_array_layer: u32,
    pub layer_count: u32,
}

/// `VkRect2D`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect2D {
    pub offset: [i32; 2],
    pub extent: [u32; 2],
}

/// `VkViewport`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Viewport {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    pub min_depth: f32,
    pub max_depth: f32,
}

/// `VkImageCreateInfo` (no queue families, no pNext: softgpu has one queue and no external
/// memory). The image's initial layout does not travel (see the module note).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageCreateInfo {
    pub flags: u32,
    /// `VkImageType`.
    pub image_type: u32,
    /// `VkFormat`.
    pub format: u32,
    pub extent: [u32; 3],
    pub mip_levels: u32,
    pub array_layers: u32,
    /// `VkSampleCountFlagBits` (only 1 is offered).
    pub samples: u32,
    /// `VkImageTiling`.
    pub tiling: u32,
    /// `VkImageUsageFlags`.
    pub usage: u32,
}

/// `VkImageViewCreateInfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageViewCreateInfo {
    pub image: u64,
    /// `VkImageViewType`.
    pub view_type: u32,
    /// `VkFormat`.
    pub format: u32,
    /// `VkComponentSwizzle` of r, g, b, a.
    pub components: [u32; 4],
    pub range: ImageSubresourceRange,
}

/// `VkBufferImageCopy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BufferImageCopy {
    pub buffer_offset: u64,
    pub buffer_row_length: u32,
    pub buffer_image_height: u32,
    pub image_subresource: ImageSubresourceLayers,
    pub image_offset: [i32; 3],
    pub image_extent: [u32; 3],
}

/// `VkImageCopy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageCopy {
    pub src_subresource: ImageSubresourceLayers,
    pub src_offset: [i32; 3],
    pub dst_subresource: ImageSubresourceLayers,
    pub dst_offset: [i32; 3],
    pub extent: [u32; 3],
}

/// `VkImageBlit`: two corners of each region (x, y, z).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageBlit {
    pub src_subresource: ImageSubresourceLayers,
    pub src_offsets: [[i32; 3]; 2],
    pub dst_subresource: ImageSubresourceLayers,
    pub dst_offsets: [[i32; 3]; 2],
}

/// `VkClearAttachment`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearAttachment {
    pub aspect_mask: u32,
    pub color_attachment: u32,
    pub value: ClearValue,
}

/// `VkClearRect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearRect {
    pub rect: Rect2D,
    pub base_array_layer: u32,
    pub layer_count: u32,
}

// ---- Render passes ---------------------------------------------------------------------------

/// `VkAttachmentDescription` (layouts omitted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentDescription {
    pub flags: u32,
    pub format: u32,
    pub samples: u32,
    /// `VkAttachmentLoadOp` / `VkAttachmentStoreOp`.
    pub load_op: u32,
    pub store_op: u32,
    pub stencil_load_op: u32,
    pub stencil_store_op: u32,
}

/// `VkAttachmentReference` (layout omitted); `attachment` may be [`ATTACHMENT_UNUSED`].
/// `aspect_mask` is `VkAttachmentReference2::aspectMask` (input attachments; 0 from
/// vkCreateRenderPass).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentReference {
    pub attachment: u32,
    pub aspect_mask: u32,
}

/// `VkSubpassDescription` (graphics bind point only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubpassDescription {
    pub flags: u32,
    pub input_attachments: Vec<AttachmentReference>,
    pub color_attachments: Vec<AttachmentReference>,
    /// Empty, or one per colour attachment.
    pub resolve_attachments: Vec<AttachmentReference>,
    pub depth_stencil_attachment: Option<AttachmentReference>,
    pub preserve_attachments: Vec<u32>,
    /// `VkSubpassDescription2::viewMask`: views 0..[`MAX_MULTIVIEW_VIEW_COUNT`] (0: no multiview).
    pub view_mask: u32,
}

/// vkCmdBeginRendering's `VkRenderingAttachmentInfo` (layouts omitted); `view` 0 means
/// `VK_NULL_HANDLE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderingAttachment {
    pub view: u64,
    /// `VkResolveModeFlagBits` (only NONE: no multisampling) and its view.
    pub resolve_mode: u32,
    pub resolve_view: u64,
    pub load_op: u32,
    pub store_op: u32,
    pub clear_value: ClearValue,
}

/// Attachment formats a pipeline renders to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RenderTargets {
    /// A subpass of a render pass object.
    RenderPass { render_pass: u64, subpass: u32 },
    /// `VkPipelineRenderingCreateInfo` (dynamic rendering); formats are `VkFormat` numbers,
    /// 0 for `VK_FORMAT_UNDEFINED` (no attachment at that location).
    Dynamic {
        view_mask: u32,
        color_formats: Vec<u32>,
        depth_format: u32,
        stencil_format: u32,
    },
}

// ---- Graphics pipelines -----------------------------------------------------------------------

/// One `VkPipelineShaderStageCreateInfo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShaderStage {
    /// `VkShaderStageFlagBits` (one bit).
    pub stage: u32,
    pub module: u64,
    pub entry: String,
    pub spec_map: Vec<crate::stream::SpecializationMapEntry>,
    pub spec_data: Vec<u8>,
}

/// `VkVertexInputBindingDescription`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VertexBinding {
    pub binding: u32,
    pub stride: u32,
    /// `VkVertexInputRate`.
    pub input_rate: u32,
}

/// `VkVertexInputAttributeDescription`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VertexAttribute {
    pub location: u32,
    pub binding: u32,
    pub format: u32,
    pub offset: u32,
}

/// `VkStencilOpState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StencilOpState {
    pub fail_op: u32,
    pub pass_op: u32,
    pub depth_fail_op: u32,
    pub compare_op: u32,
    pub compare_mask: u32,
    pub write_mask: u32,
    pub reference: u32,
}

/// `VkPipelineRasterizationStateCreateInfo`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RasterizationState {
    pub depth_clamp_enable: bool,
    pub rasterizer_discard_enable: bool,
    pub polygon_mode: u32,
    pub cull_mode: u32,
    pub front_face: u32,
    pub depth_bias_enable: bool,
    pub depth_bias_constant_factor: f32,
    pub depth_bias_clamp: f32,
    pub depth_bias_slope_factor: f32,
    pub line_width: f32,
}

/// `VkPipelineMultisampleStateCreateInfo`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultisampleState {
    pub rasterization_samples: u32,
    pub sample_shading_enable: bool,
    pub min_sample_shading: f32,
    /// First word of `pSampleMask` (`None` when null: all samples).
    pub sample_mask: Option<u32>,
    pub alpha_to_coverage_enable: bool,
    pub alpha_to_one_enable: bool,
}

/// `VkPipelineDepthStencilStateCreateInfo`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DepthStencilState {
    pub depth_test_enable: bool,
    pub depth_write_enable: bool,
    pub depth_compare_op: u32,
    pub depth_bounds_test_enable: bool,
    pub stencil_test_enable: bool,
    pub front: StencilOpState,
    pub back: StencilOpState,
    pub min_depth_bounds: f32,
    pub max_depth_bounds: f32,
}

/// `VkPipelineColorBlendAttachmentState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColorBlendAttachment {
    pub blend_enable: bool,
    pub src_color_blend_factor: u32,
    pub dst_color_blend_factor: u32,
    pub color_blend_op: u32,
    pub src_alpha_blend_factor: u32,
    pub dst_alpha_blend_factor: u32,
    pub alpha_blend_op: u32,
    pub color_write_mask: u32,
}

/// `VkPipelineColorBlendStateCreateInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColorBlendState {
    pub logic_op_enable: bool,
    pub logic_op: u32,
    pub attachments: Vec<ColorBlendAttachment>,
    pub blend_constants: [f32; 4],
}

/// `VkGraphicsPipelineCreateInfo`, with the state structures the pipeline's dynamic states
/// and rasterizer-discard rules leave meaningful. A state whose pointer the application may
/// leave null (viewport, multisample, depth/stencil, colour blend) is `None` when it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphicsPipelineInfo {
    pub flags: u32,
    pub layout: u64,
    pub stages: Vec<ShaderStage>,
    pub vertex_bindings: Vec<VertexBinding>,
    pub vertex_attributes: Vec<VertexAttribute>,
    /// `VkPrimitiveTopology`.
    pub topology: u32,
    pub primitive_restart_enable: bool,
    /// `viewportCount` / `scissorCount` and, unless dynamic, the rectangles.
    pub viewport_count: u32,
    pub viewports: Vec<Viewport>,
    pub scissor_count: u32,
    pub scissors: Vec<Rect2D>,
    pub rasterization: RasterizationState,
    pub multisample: Option<MultisampleState>,
    pub depth_stencil: Option<DepthStencilState>,
    pub color_blend: Option<ColorBlendState>,
    /// `VkDynamicState` values.
    pub dynamic_states: Vec<u32>,
    pub targets: RenderTargets,
}

/// One piece of dynamic state (vkCmdSet*). Face masks are `VkStencilFaceFlags`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DynamicState {
    /// vkCmdSetViewport: viewports from `first`.
    Viewport {
        first: u32,
        viewports: Vec<Viewport>,
    },
    Scissor {
        first: u32,
        scissors: Vec<Rect2D>,
    },
    /// vkCmdSetViewportWithCount / vkCmdSetScissorWithCount.
    ViewportWithCount(Vec<Viewport>),
    ScissorWithCount(Vec<Rect2D>),
    LineWidth(f32),
    DepthBias {
        constant: f32,
        clamp: f32,
        slope: f32,
    },
    BlendConstants([f32; 4]),
    DepthBounds {
        min: f32,
        max: f32,
    },
    StencilCompareMask {
        faces: u32,
        mask: u32,
    },
    StencilWriteMask {
        faces: u32,
        mask: u32,
    },
    StencilReference {
        faces: u32,
        reference: u32,
    },
    CullMode(u32),
    FrontFace(u32),
    PrimitiveTopology(u32),
    DepthTestEnable(bool),
    DepthWriteEnable(bool),
    DepthCompareOp(u32),
    DepthBoundsTestEnable(bool),
    StencilTestEnable(bool),
    StencilOp {
        faces: u32,
        fail_op: u32,
        pass_op: u32,
        depth_fail_op: u32,
        compare_op: u32,
    },
    RasterizerDiscardEnable(bool),
    DepthBiasEnable(bool),
    PrimitiveRestartEnable(bool),
}
