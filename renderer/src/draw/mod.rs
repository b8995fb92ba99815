//! Draws: one Vulkan draw call from vertex buffers to attachments.
//!
//! * [`state`]: the fixed-function state (vertex input, input assembly, rasterization, ...)
//!   with `from_vk` constructors taking the raw numbers of the Vulkan structs.
//! * [`vertex_format`]: vertex attribute formats and their conversion to shader words.
//! * `stream` / `fetch`: index reading (robust: indices outside the index buffer read 0),
//!   vertex attribute fetch (robust: bytes outside a vertex buffer read 0) into the kernel
//!   ABI's slot-major 8-lane groups (`shader::abi`).
//! * `vertices`: one step's elements, vertex reuse for indexed draws, fetch and vertex
//!   shading in chunks on the worker pool.
//! * `assembly`: primitives from the shaded vertices per topology, with primitive restart.
//! * [`stage`]: the [`VertexStage`] and [`FragmentStage`] seams (JIT kernels or closures).
//! * [`pipeline`]: [`GraphicsPipeline`], the two stages and their checked interface.
//! * `execute`: the draw itself: windows of at most [`MAX_WINDOW_VERTICES`] shaded
//!   vertices are assembled, set up and binned by [`crate::raster`] for an [`crate::output`]
//!   sink.
//! * `deferred`: [`PassBatch`], the draws of a render pass waiting for their fragments, then
//!   rasterized together tile by tile (an immediate draw is a batch of one, flushed at once).
//! * `indirect`: `VkDrawIndirectCommand` / `VkDrawIndexedIndirectCommand` reading.
//! * `clear`: render-area clears (LOAD_OP_CLEAR) and vkCmdClearAttachments.
//!
//! Everything here trusts nothing about counts, offsets and strides (the guest chooses them):
//! arithmetic is checked or done in 64 bits, and no allocation is sized by a draw count.

mod assembly;
pub mod clear;
mod deferred;
mod execute;
mod fetch;
mod fragment;
mod indirect;
pub mod pipeline;
pub mod stage;
pub mod state;
mod stream;
pub mod vertex_format;
mod vertices;

pub use clear::{
    clear_attachments, clear_color_rect, clear_depth_stencil_rect, ClearAttachment, ClearRect,
};
pub use deferred::{PassBatch, MAX_PENDING_BYTES, MAX_PENDING_DRAWS};
pub use execute::{
    draw, draw_deferred, DrawCall, DrawResources, DrawStats, IndexBufferBinding, IndexType,
    RenderTargets, VertexBufferBinding,
};
pub use indirect::{
    draw_indirect, draw_indirect_count, draw_indirect_count_deferred, draw_indirect_deferred,
    IndirectDraw, DRAW_INDEXED_INDIRECT_COMMAND_SIZE, DRAW_INDIRECT_COMMAND_SIZE,
    MAX_DRAW_INDIRECT_COUNT,
};
pub use pipeline::{GraphicsPipeline, ShaderStageSource, StageInterface};
pub use stage::{
    ClosureFragmentStage, ClosureVertexStage, FragmentIo, FragmentStage, StageResources,
    VertexBatch, VertexStage,
};
pub use state::{
    GraphicsState, InputAssembly, InputRate, PolygonMode, RasterizationState, Topology,
    VertexAttribute, VertexBinding, VertexInputState,
};
pub use vertex_format::VertexFormat;

use crate::output::OutputError;
use crate::raster::RasterError;

/// Most vertices shaded and kept before the primitives that use them are rasterized. Bounds
/// the memory one draw holds whatever its counts (a few MiB at the largest interfaces).
pub const MAX_WINDOW_VERTICES: usize = 16384;

#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    #[error("value {value} is not a valid {what}")]
    UnknownEnum { what: &'static str, value: u32 },
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    #[error("VkFormat {0} is not a supported vertex attribute format")]
    UnsupportedVertexFormat(u32),
    #[error("invalid vertex input state: {0}")]
    InvalidVertexInput(&'static str),
    #[error("invalid state: {0}")]
    InvalidState(&'static str),
    #[error("line width {0} is not 1.0 (wideLines is not offered)")]
    LineWidth(f32),
    #[error("the pipeline has no {0} stage")]
    MissingStage(&'static str),
    #[error("the {stage} module is a {found:?} module")]
    WrongStage {
        stage: &'static str,
        found: shader::ir::Stage,
    },
    #[error("vertex output location {location} component {component} is {output:?}, the fragment input reads {input:?}")]
    InterfaceTypeMismatch {
        location: u32,
        component: u8,
        output: shader::ir::ScalarType,
        input: shader::ir::ScalarType,
    },
    #[error("fragment output location {0} is beyond the {max} colour attachments", max = crate::output::MAX_COLOR_ATTACHMENTS)]
    FragmentOutputLocation(u32),
    #[error("{0} interpolated fragment input components, more than {max}", max = crate::raster::MAX_COMPONENTS)]
    TooManyVaryings(usize),
    #[error("{what} {value} is not a multiple of {align}")]
    Misaligned {
        what: &'static str,
        value: u64,
        align: u64,
    },
    #[error("indirect draw: {0}")]
    Indirect(&'static str),
    #[error("{0} colour attachments, the fragment stage may write at most {max}", max = crate::output::MAX_COLOR_ATTACHMENTS)]
    TooManyAttachments(usize),
    #[error("clear: {0}")]
    Clear(&'static str),
    #[error(transparent)]
    Raster(#[from] RasterError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
    #[error(transparent)]
    Format(#[from] crate::format::FormatError),
}
