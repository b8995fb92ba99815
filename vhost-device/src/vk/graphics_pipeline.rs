//! Graphics pipelines (vkCreateGraphicsPipelines): the wire's `GraphicsPipelineInfo` decoded
//! and validated into the renderer's types, both stages compiled through the renderer and
//! jit-host, and the outcome written as the reply's `VkResult`, as compute pipelines do.
//!
//! Ids (layout, modules, render pass) are the submission's business: an unknown one fails the
//! submission. Everything the application chose — state values, formats, SPIR-V — becomes an
//! error `VkResult` in the reply when refused, never a failed submission.

use std::sync::Arc;

use protocol::format::{feature, Format};
use protocol::graphics::{GraphicsPipelineInfo, RenderTargets};
use protocol::stream::CreateGraphicsPipeline;
use renderer::draw::{GraphicsPipeline, ShaderStageSource};
use renderer::output::BlendState;
use renderer::{SpecializationEntry, SpecializationInfo};

use super::context::VkContext;
use super::descriptor::PipelineLayout;
use super::dynamic_state::{DynamicMask, FixedState};
use super::guest::GuestScope;
use super::limits::Quantity;
use super::pipeline::{
    self, check_images_against_layout, check_interface_against_layout, ShaderModule,
};
use super::pipeline_state::{check_state, CheckedState};
pub(crate) use super::pipeline_state::{TargetFormats, TargetKind};
use super::render_pass::check_view_mask;
use super::{vk_result, ExecError};

/// `VkShaderStageFlagBits` of the stages softgpu runs.
const STAGE_VERTEX: u32 = 0x1;
const STAGE_FRAGMENT: u32 = 0x10;

fn invalid(message: String) -> ExecError {
    ExecError::Invalid(message)
}

pub(crate) struct GraphicsPipelineObject {
    pub(crate) pipeline: GraphicsPipeline,
    pub(crate) fixed: FixedState,
    pub(crate) dynamic: DynamicMask,
    /// Per colour location.
    pub(crate) blend: Vec<BlendState>,
    pub(crate) targets: TargetFormats,
    pub(crate) target_kind: TargetKind,
    /// Host bytes charged to the client besides the object overhead.
    pub(crate) host_bytes: u64,
}

impl VkContext {
    /// The formats and target kind `targets` names (an unknown render pass id is an `Err`
    /// of the outer result: the submission's business).
    fn target_formats(
        &self,
        targets: &RenderTargets,
    ) -> Result<Result<(TargetFormats, TargetKind), ExecError>, ExecError> {
        match targets {
            RenderTargets::RenderPass {
                render_pass,
                subpass,
            } => {
                let rp = self.render_passes.get(*render_pass)?;
                let Some(s) = rp.subpasses.get(*subpass as usize) else {
                    return Ok(Err(invalid(format!(
                        "subpass {subpass} of render pass {render_pass}, which has {}",
                        rp.subpasses.len()
                    ))));
                };
                let format = |a: u32| rp.attachments[a as usize].format;
                let ds = s.depth_stencil.map(format);
                Ok(Ok((
                    TargetFormats {
                        colors: s.colors.iter().map(|c| c.map(format)).collect(),
                        depth: ds.filter(|f| f.has_depth()),
                        stencil: ds.filter(|f| f.has_stencil()),
                        view_mask: s.view_mask,
                    },
                    TargetKind::Subpass(*subpass as usize),
                )))
            }
            RenderTargets::Dynamic {
                view_mask,
                color_formats,
                depth_format,
                stencil_format,
            } => Ok((|| {
                // VUID-VkPipelineRenderingCreateInfo-multiview-06577 / -viewMask-06578.
                check_view_mask("pipeline rendering", *view_mask)?;
                if color_formats.len() > renderer::output::MAX_COLOR_ATTACHMENTS {
                    return Err(invalid(format!("{} colour formats", color_formats.len())));
                }
                let optional = |raw: u32| match raw {
                    0 => Ok(None),
                    raw => Format::from_vk(raw)
                        .map(Some)
                        .map_err(|e| invalid(e.to_string())),
                };
                let mut colors = Vec::with_capacity(color_formats.len());
                for &raw in color_formats {
                    let f = optional(raw)?;
                    // VUID-VkPipelineRenderingCreateInfo-pColorAttachmentFormats-06064.
                    if f.is_some_and(|f| {
                        f.features().optimal_tiling & feature::COLOR_ATTACHMENT == 0
                    }) {
                        return Err(invalid(format!(
                            "colour format {raw} cannot be rendered to"
                        )));
                    }
                    colors.push(f);
                }
                let depth = optional(*depth_format)?;
                let stencil = optional(*stencil_format)?;
                // -depthAttachmentFormat-06065 / -stencilAttachmentFormat-06164 / -06589.
                if depth.is_some_and(|f| !f.has_depth())
                    || stencil.is_some_and(|f| !f.has_stencil())
                    || (depth.is_some() && stencil.is_some() && depth != stencil)
                {
                    return Err(invalid("depth/stencil formats do not fit".into()));
                }
                Ok((
                    TargetFormats {
                        colors,
                        depth,
                        stencil,
                        view_mask: *view_mask,
                    },
                    TargetKind::Dynamic,
                ))
            })()),
        }
    }

    /// Decodes and checks everything but the shaders.
    fn check_graphics_state(
        &self,
        info: &GraphicsPipelineInfo,
    ) -> Result<Result<CheckedState, ExecError>, ExecError> {
        let (targets, target_kind) = match self.target_formats(&info.targets)? {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
        Ok(check_state(info, targets, target_kind))
    }

    /// vkCreateGraphicsPipelines for one pipeline.
    pub(crate) fn create_graphics_pipeline(
        &mut self,
        c: &CreateGraphicsPipeline,
        scope: &GuestScope<'_>,
    ) -> Result<(), ExecError> {
        self.pipelines.check_new(c.id)?;
        self.graphics_pipelines.check_new(c.id)?;
        let layout = self.pipeline_layout(c.info.layout)?.clone();
        for stage in &c.info.stages {
            self.modules.get(stage.module)?;
        }
        scope.check_range(
            c.reply.resource,
            c.reply.offset,
            protocol::stream::Reply::SIZE as u64,
        )?;
        let refuse = |e: ExecError| {
            log::warn!("graphics pipeline {}: {e}", c.id);
            match e.vk_result() {
                vk_result::ERROR_TOO_MANY_OBJECTS => vk_result::ERROR_OUT_OF_HOST_MEMORY,
                code => code,
            }
        };
        let result = match self.check_graphics_state(&c.info)? {
            Err(e) => refuse(e),
            Ok(state) => match self.compile_graphics_within_budget(c, &layout, state) {
                Ok(p) => {
                    self.graphics_pipelines.insert(c.id, Arc::new(p))?;
                    vk_result::SUCCESS
                }
                Err(e) => refuse(e),
            },
        };
        scope.write(c.reply.resource, c.reply.offset, &pipeline::reply(result))
    }

    fn compile_graphics_within_budget(
        &mut self,
        c: &CreateGraphicsPipeline,
        layout: &PipelineLayout,
        state: CheckedState,
    ) -> Result<GraphicsPipelineObject, ExecError> {
        self.account.reserve(Quantity::Objects, 1, "objects")?;
        if let Err(e) = self.account.reserve(Quantity::Compiles, 1, "compiles") {
            self.account.release(Quantity::Objects, 1);
            return Err(e);
        }
        let compiled = self.compile_graphics(c, layout);
        self.account.release(Quantity::Compiles, 1);
        self.account.release(Quantity::Objects, 1);
        let pipeline = compiled?;
        let host_bytes = pipeline.host_bytes();
        self.account.reserve_object(host_bytes)?;
        Ok(GraphicsPipelineObject {
            pipeline,
            fixed: state.fixed,
            dynamic: state.dynamic,
            blend: state.blend,
            targets: state.targets,
            target_kind: state.target_kind,
            host_bytes,
        })
    }

    fn compile_graphics(
        &self,
        c: &CreateGraphicsPipeline,
        layout: &PipelineLayout,
    ) -> Result<GraphicsPipeline, ExecError> {
        let mut vertex = None;
        let mut fragment = None;
        for stage in &c.info.stages {
            let slot = match stage.stage {
                STAGE_VERTEX => &mut vertex,
                STAGE_FRAGMENT => &mut fragment,
                other => {
                    return Err(invalid(format!(
                        "shader stage {other:#x} is not supported (vertex and fragment only)"
                    )))
                }
            };
            // VUID-VkGraphicsPipelineCreateInfo-stage-06897: each stage at most once.
            if slot.is_some() {
                return Err(invalid(format!(
                    "shader stage {:#x} given twice",
                    stage.stage
                )));
            }
            let module: &ShaderModule = self.modules.get(stage.module)?;
            let spec = SpecializationInfo {
                entries: stage
                    .spec_map
                    .iter()
                    .map(|e| SpecializationEntry {
                        constant_id: e.constant_id,
                        offset: e.offset,
                        size: e.size,
                    })
                    .collect(),
                data: stage.spec_data.clone(),
            };
            *slot = Some((module, stage.entry.as_str(), spec));
        }
        fn source<'a>(
            s: &'a Option<(&'a ShaderModule, &'a str, SpecializationInfo)>,
        ) -> Option<ShaderStageSource<'a>> {
            s.as_ref().map(|(m, entry, spec)| ShaderStageSource {
                spirv: m.spirv.as_slice(),
                entry,
                spec,
            })
        }
        let vs = source(&vertex);
        let fs = source(&fragment);
        let pipeline = self
            .device
            .create_graphics_pipeline(vs.as_ref(), fs.as_ref())?;
        let vertex = pipeline.vertex_interface();
        check_interface_against_layout(Some(vertex.push_constant_size), &vertex.buffers, layout)?;
        check_images_against_layout(&vertex.images, &vertex.samplers, layout)?;
        if let Some(f) = pipeline.fragment_interface() {
            check_interface_against_layout(Some(f.push_constant_size), &f.buffers, layout)?;
            check_images_against_layout(&f.images, &f.samplers, layout)?;
        }
        Ok(pipeline)
    }
}
