//! Shader modules and compute pipelines (vkCreateShaderModule, vkCreateComputePipelines).
//!
//! A module keeps its SPIR-V words; all SPIR-V validation happens when a pipeline is created
//! (the renderer's front end), and its outcome reaches the application as the pipeline's
//! [`Reply`]: an invalid module is an error `VkResult`, never a failed submission.

use protocol::stream::{CreateComputePipeline, Reply};
use renderer::{
    BufferKind, ComputePipeline, DescriptorType, RendererError, SpecializationEntry,
    SpecializationInfo,
};

use shader::ir::{ImageBinding, ImageKind, SamplerBinding};

use super::descriptor::{DescriptorKind, PipelineLayout};
use super::{vk_result, ExecError};

pub(crate) struct ShaderModule {
    pub(crate) spirv: Vec<u8>,
}

impl ShaderModule {
    pub(crate) fn new(words: &[u32]) -> ShaderModule {
        ShaderModule {
            spirv: words.iter().flat_map(|w| w.to_le_bytes()).collect(),
        }
    }
}

pub(crate) struct PipelineObject {
    pub(crate) pipeline: ComputePipeline,
    /// Host bytes charged to the client for this pipeline (besides the object overhead).
    pub(crate) host_bytes: u64,
}

/// The `VkResult` an application gets for a failed pipeline creation.
pub(crate) fn vk_result_of(error: &RendererError) -> i32 {
    match error {
        RendererError::OutOfHostMemory(_) | RendererError::ScratchTooLarge { .. } => {
            vk_result::ERROR_OUT_OF_HOST_MEMORY
        }
        _ => vk_result::ERROR_UNKNOWN,
    }
}

/// Compiles `cmd`'s entry point and checks it against `layout` (VUID-VkComputePipelineCreateInfo
/// -layout-07987: push constants within the layout's ranges; -07988: every buffer the shader
/// uses has a binding of that type in the layout). `Err` is the reply code.
pub(crate) fn compile(
    device: &renderer::Device,
    module: &ShaderModule,
    layout: &PipelineLayout,
    cmd: &CreateComputePipeline,
) -> Result<PipelineObject, i32> {
    let spec = SpecializationInfo {
        entries: cmd
            .spec_map
            .iter()
            .map(|e| SpecializationEntry {
                constant_id: e.constant_id,
                offset: e.offset,
                size: e.size,
            })
            .collect(),
        data: cmd.spec_data.clone(),
    };
    let pipeline = device
        .create_compute_pipeline(&module.spirv, &cmd.entry, &spec)
        .map_err(|e| {
            log::warn!("compute pipeline {}: {e}", cmd.id);
            vk_result_of(&e)
        })?;
    check_against_layout(&pipeline, layout).map_err(|e| {
        log::warn!("compute pipeline {}: {e}", cmd.id);
        vk_result::ERROR_UNKNOWN
    })?;
    Ok(PipelineObject {
        pipeline,
        host_bytes: 0,
    })
}

fn check_against_layout(
    pipeline: &ComputePipeline,
    layout: &PipelineLayout,
) -> Result<(), ExecError> {
    check_interface_against_layout(
        Some(pipeline.push_constant_size()),
        pipeline.buffer_bindings(),
        layout,
    )?;
    check_images_against_layout(
        pipeline.image_bindings(),
        pipeline.sampler_bindings(),
        layout,
    )
}

/// The shader's push constants (when known) fit the layout's ranges and every buffer it uses
/// has a binding of that type in the layout.
pub(crate) fn check_interface_against_layout(
    push_constant_size: Option<u32>,
    buffers: &[renderer::BufferBinding],
    layout: &PipelineLayout,
) -> Result<(), ExecError> {
    if let Some(size) = push_constant_size {
        if size > layout.push_constant_end() {
            return Err(ExecError::Invalid(format!(
                "the shader's {size} push-constant bytes exceed the layout's ranges ({} bytes)",
                layout.push_constant_end()
            )));
        }
    }
    for slot in buffers {
        let binding = layout
            .sets
            .get(slot.set as usize)
            .and_then(|s| s.element(slot.binding, slot.array_index));
        let Some((binding, _)) = binding else {
            return Err(ExecError::Invalid(format!(
                "the shader uses set {} binding {}[{}], which the layout does not have",
                slot.set, slot.binding, slot.array_index
            )));
        };
        let wanted = match slot.kind {
            BufferKind::Storage => DescriptorType::StorageBuffer,
            BufferKind::Uniform => DescriptorType::UniformBuffer,
        };
        if binding.kind.buffer_type() != Some(wanted) {
            return Err(ExecError::Invalid(format!(
                "set {} binding {} is {:?} in the layout, the shader uses a {wanted:?}",
                slot.set, slot.binding, binding.kind
            )));
        }
    }
    Ok(())
}

/// Every image and separate-sampler slot the shader uses has a binding of a matching type in
/// the layout (Vulkan "Shader Resource and Descriptor Type Correspondence": the layout's
/// descriptor type matches the shader's resource).
pub(crate) fn check_images_against_layout(
    images: &[ImageBinding],
    samplers: &[SamplerBinding],
    layout: &PipelineLayout,
) -> Result<(), ExecError> {
    let binding_at = |set: u32, binding: u32, index: u32| {
        layout
            .sets
            .get(set as usize)
            .and_then(|s| s.element(binding, index))
            .map(|(b, _)| b.kind)
            .ok_or_else(|| {
                ExecError::Invalid(format!(
                    "the shader uses set {set} binding {binding}[{index}], which the layout \
                     does not have"
                ))
            })
    };
    for slot in images {
        let kind = binding_at(slot.set, slot.binding, slot.array_index)?;
        let matches = match slot.kind {
            // A sampled image in SPIR-V may come from a combined image sampler binding.
            ImageKind::Sampled => matches!(
                kind,
                DescriptorKind::SampledImage | DescriptorKind::CombinedImageSampler
            ),
            ImageKind::CombinedImageSampler => kind == DescriptorKind::CombinedImageSampler,
            ImageKind::Storage => kind == DescriptorKind::StorageImage,
            ImageKind::UniformTexelBuffer => kind == DescriptorKind::UniformTexelBuffer,
            ImageKind::StorageTexelBuffer => kind == DescriptorKind::StorageTexelBuffer,
            ImageKind::InputAttachment => kind == DescriptorKind::InputAttachment,
        };
        if !matches {
            return Err(ExecError::Invalid(format!(
                "set {} binding {} is {kind:?} in the layout, the shader uses a {:?} image",
                slot.set, slot.binding, slot.kind
            )));
        }
    }
    for slot in samplers {
        let kind = binding_at(slot.set, slot.binding, slot.array_index)?;
        if !matches!(
            kind,
            DescriptorKind::Sampler | DescriptorKind::CombinedImageSampler
        ) {
            return Err(ExecError::Invalid(format!(
                "set {} binding {} is {kind:?} in the layout, the shader uses a sampler",
                slot.set, slot.binding
            )));
        }
    }
    Ok(())
}

/// Encodes the reply for `result`.
pub(crate) fn reply(result: i32) -> [u8; Reply::SIZE] {
    Reply { result }.encode()
}
