//! An offscreen graphics harness on `ash`: a graphics device ([`GraphicsContext`]), attachments
//! of the formats, render targets drawn through a render pass or dynamic rendering,
//! pipelines from GLSL, draws recorded through [`Recorder`], readback of every aspect and PNG
//! pictures. Like the compute harness it runs on any ICD, so lavapipe can render the same
//! program as the reference. Errors are the crate's [`GpuError`].

pub mod context;
pub mod descriptors;
pub mod format;
pub mod math;
pub mod mesh;
pub mod picture;
pub mod pipeline;
pub mod recorder;
pub mod resources;
pub mod target;
pub mod texture;

use ash::vk;

use crate::GpuError;

pub use context::GraphicsContext;
pub use descriptors::{BufferView, ComputePipeline, DescriptorSet, Resource, StorageImage};
pub use format::FormatInfo;
pub use math::Mat4;
pub use picture::{compare, Difference, Picture};
pub use pipeline::{
    attribute, blend, opaque, vertex_bytes, GraphicsPipeline, PipelineDesc, PosColor,
};
pub use recorder::Recorder;
pub use resources::{bytes_of, Attachment, HostBuffer};
pub use target::{Aspect, Clear, PassMode, ReadImage, RenderTarget};
pub use texture::{Sampler, Texture, TextureDesc, TextureSets};

/// Attaches the failing call's name to a `VkResult` error.
pub(crate) trait VkContext<T> {
    fn ctx(self, call: &'static str) -> Result<T, GpuError>;
}

impl<T> VkContext<T> for Result<T, vk::Result> {
    fn ctx(self, call: &'static str) -> Result<T, GpuError> {
        self.map_err(|result| GpuError::Vk { call, result })
    }
}

/// The directory of this crate's GLSL sources: `SOFTGPU_E2E_SHADER_DIR`'s `graphics/`
/// subdirectory if set, else `tests/shaders/graphics`.
pub fn shader_dir() -> std::path::PathBuf {
    std::env::var_os("SOFTGPU_E2E_SHADER_DIR").map_or_else(
        || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("shaders/graphics"),
        |d| std::path::PathBuf::from(d).join("graphics"),
    )
}

/// `tests/shaders/graphics/<file>` compiled to SPIR-V with `defines`.
pub fn shader(file: &str, defines: &[(&str, &str)]) -> Result<Vec<u32>, GpuError> {
    crate::glsl_to_spirv(&shader_dir().join(file), defines)
}
