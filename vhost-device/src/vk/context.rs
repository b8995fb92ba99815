//! One context: its object tables and the top-level commands that create and destroy objects.
//!
//! Every object a context creates is charged to its client's budget ([`super::limits`]) before
//! it is allocated and returned when it is destroyed or the context is dropped.

use std::mem::size_of;
use std::sync::Arc;
use std::time::Duration;

use protocol::stream::{Command, CreateComputePipeline};

use super::buffer::Buffers;
use super::descriptor::{PipelineLayout, SetLayout};
use super::descriptor_set::{DescriptorSetObject, WriteSources};
use super::graphics_pipeline::GraphicsPipelineObject;
use super::guest::GuestScope;
use super::image::Images;
use super::limits::{ClientBudget, ClientLimits, ContextAccount, Quantity};
use super::objects::ObjectTable;
use super::pipeline::{self, PipelineObject, ShaderModule};
use super::render_pass::{FramebufferObject, RenderPassObject};
use super::sampler::{sampler_from_wire, BufferViewObject, Samplers};
use super::{vk_result, ExecError};
use crate::context::{ContextBackend, ResourceViews, SubmitError};

pub struct VkContext {
    pub(crate) device: Arc<renderer::Device>,
    ctx_id: u32,
    pub(crate) account: ContextAccount,
    pub(crate) buffers: Buffers,
    pub(crate) modules: ObjectTable<ShaderModule>,
    set_layouts: ObjectTable<Arc<SetLayout>>,
    pipeline_layouts: ObjectTable<Arc<PipelineLayout>>,
    pub(crate) sets: ObjectTable<DescriptorSetObject>,
    pub(crate) pipelines: ObjectTable<Arc<PipelineObject>>,
    pub(crate) graphics_pipelines: ObjectTable<Arc<GraphicsPipelineObject>>,
    pub(crate) images: Images,
    pub(crate) samplers: Samplers,
    pub(crate) render_passes: ObjectTable<Arc<RenderPassObject>>,
    pub(crate) framebuffers: ObjectTable<Arc<FramebufferObject>>,
    /// Longest a guest-memory wait (`Submit.waits`, `CmdWaitGuestU32`) may poll.
    pub(crate) guest_wait_limit: Duration,
}

/// Host bytes a descriptor set of `descriptors` descriptors holds.
fn descriptor_set_bytes(descriptors: u32) -> u64 {
    DescriptorSetObject::host_bytes(descriptors)
}

/// Host bytes a sampler or buffer view holds.
fn sampler_bytes() -> u64 {
    size_of::<renderer::sampler::SamplerState>() as u64
}

/// Host bytes a pipeline layout of `sets` set layouts and `ranges` push-constant ranges holds.
fn pipeline_layout_bytes(sets: usize, ranges: usize) -> u64 {
    (sets as u64 + ranges as u64).saturating_mul(16)
}

impl VkContext {
    /// A context with a budget of its own (default limits): for tests and single-context use.
    pub fn new(device: Arc<renderer::Device>, ctx_id: u32, name: &str) -> VkContext {
        VkContext::with_budget(
            device,
            ClientBudget::new(ClientLimits::default()),
            ctx_id,
            name,
        )
    }

    /// A context charging `budget`, its client's.
    pub fn with_budget(
        device: Arc<renderer::Device>,
        budget: Arc<ClientBudget>,
        ctx_id: u32,
        name: &str,
    ) -> VkContext {
        log::debug!(
            "context {ctx_id} created ({:?})",
            name.chars().take(64).collect::<String>()
        );
        VkContext {
            device,
            ctx_id,
            account: ContextAccount::new(budget),
            buffers: Buffers::new(),
            modules: ObjectTable::new("shader module"),
            set_layouts: ObjectTable::new("descriptor set layout"),
            pipeline_layouts: ObjectTable::new("pipeline layout"),
            sets: ObjectTable::new("descriptor set"),
            pipelines: ObjectTable::new("pipeline"),
            graphics_pipelines: ObjectTable::new("pipeline"),
            images: Images::new(),
            samplers: Samplers::new(),
            render_passes: ObjectTable::new("render pass"),
            framebuffers: ObjectTable::new("framebuffer"),
            guest_wait_limit: Duration::from_millis(protocol::stream::MAX_GUEST_WAIT_MS),
        }
    }

    /// Shortens the bound on guest-memory waits (default [`protocol::stream::MAX_GUEST_WAIT_MS`];
    /// a longer `limit` is clamped to it). For fuzzing and tests, where a wait that never
    /// holds would otherwise cost seconds per input.
    pub fn set_guest_wait_limit(&mut self, limit: Duration) {
        self.guest_wait_limit =
            limit.min(Duration::from_millis(protocol::stream::MAX_GUEST_WAIT_MS));
    }

    /// What this context holds of `q` in its client's budget. With no command running, the
    /// object count equals [`Self::live_objects`] and nothing holds a compile slot.
    pub fn held(&self, q: Quantity) -> u64 {
        self.account.held(q)
    }

    /// Live objects of every kind.
    pub fn live_objects(&self) -> usize {
        self.buffers.len()
            + self.modules.len()
            + self.set_layouts.len()
            + self.pipeline_layouts.len()
            + self.sets.len()
            + self.pipelines.len()
            + self.graphics_pipelines.len()
            + self.images.len()
            + self.samplers.len()
            + self.render_passes.len()
            + self.framebuffers.len()
    }

    pub(crate) fn limits(&self) -> ClientLimits {
        *self.account.limits()
    }

    pub(crate) fn pipeline_layout(&self, id: u64) -> Result<&Arc<PipelineLayout>, ExecError> {
        self.pipeline_layouts.get(id)
    }

    /// Executes one top-level command.
    fn execute_top_level(&mut self, cmd: Command, scope: &GuestScope<'_>) -> Result<(), ExecError> {
        match cmd {
            Command::CreateBuffer(c) => {
                self.buffers.check_new(c.id)?;
                self.account.reserve_object(0)?;
                self.buffers.create(c.id, c.size, c.usage).inspect_err(|_| {
                    self.account.release_object(0);
                })
            }
            Command::DestroyBuffer(c) => {
                self.buffers.destroy(c.id, scope)?;
                self.account.release_object(0);
                Ok(())
            }
            Command::BindBufferMemory(c) => self.buffers.bind(c.buffer, c.memory, scope),
            Command::CreateShaderModule(c) => {
                self.modules.check_new(c.id)?;
                let words = c.code.len() as u64;
                let limit = self.limits().max_shader_module_words;
                if words > limit {
                    return Err(ExecError::Limit {
                        what: "shader module words",
                        value: words,
                        limit,
                    });
                }
                // The module keeps a byte copy of the words.
                self.account.reserve_object(words * 4)?;
                self.modules.insert(c.id, ShaderModule::new(&c.code))
            }
            Command::DestroyShaderModule(c) => {
                let module = self.modules.remove(c.id)?;
                self.account.release_object(module.spirv.len() as u64);
                Ok(())
            }
            Command::CreateDescriptorSetLayout(c) => {
                self.set_layouts.check_new(c.id)?;
                let samplers = &self.samplers.samplers;
                let layout = SetLayout::new(c.bindings, |id| samplers.get(id).cloned())?;
                self.account.reserve_object(layout.host_bytes())?;
                self.set_layouts.insert(c.id, Arc::new(layout))
            }
            Command::DestroyDescriptorSetLayout(c) => {
                let layout = self.set_layouts.remove(c.id)?;
                self.account.release_object(layout.host_bytes());
                Ok(())
            }
            Command::CreateSampler(c) => {
                self.samplers.samplers.check_new(c.id)?;
                let sampler = sampler_from_wire(&c.info)?;
                self.account.reserve_object(sampler_bytes())?;
                self.samplers.samplers.insert(c.id, sampler)
            }
            Command::DestroySampler(c) => {
                self.samplers.samplers.remove(c.id)?;
                self.account.release_object(sampler_bytes());
                Ok(())
            }
            Command::CreateBufferView(c) => {
                self.samplers.buffer_views.check_new(c.id)?;
                let view = BufferViewObject::new(&c, &self.buffers)?;
                self.account.reserve_object(sampler_bytes())?;
                self.samplers.buffer_views.insert(c.id, view)
            }
            Command::DestroyBufferView(c) => {
                self.samplers.buffer_views.remove(c.id)?;
                self.account.release_object(sampler_bytes());
                Ok(())
            }
            Command::CreatePipelineLayout(c) => {
                self.pipeline_layouts.check_new(c.id)?;
                if c.set_layouts.len() > super::MAX_BOUND_DESCRIPTOR_SETS {
                    return Err(ExecError::Limit {
                        what: "set layouts in a pipeline layout",
                        value: c.set_layouts.len() as u64,
                        limit: super::MAX_BOUND_DESCRIPTOR_SETS as u64,
                    });
                }
                let sets = c
                    .set_layouts
                    .iter()
                    .map(|&id| self.set_layouts.get(id).cloned())
                    .collect::<Result<Vec<_>, _>>()?;
                let layout = PipelineLayout::new(sets, c.push_constant_ranges)?;
                let bytes =
                    pipeline_layout_bytes(layout.sets.len(), layout.push_constant_ranges.len());
                self.account.reserve_object(bytes)?;
                self.pipeline_layouts.insert(c.id, Arc::new(layout))
            }
            Command::DestroyPipelineLayout(c) => {
                let layout = self.pipeline_layouts.remove(c.id)?;
                self.account.release_object(pipeline_layout_bytes(
                    layout.sets.len(),
                    layout.push_constant_ranges.len(),
                ));
                Ok(())
            }
            Command::CreateDescriptorSet(c) => {
                self.sets.check_new(c.id)?;
                let layout = self.set_layouts.get(c.layout)?.clone();
                let count = layout.descriptor_count;
                self.account
                    .reserve(Quantity::Descriptors, u64::from(count), "descriptors")?;
                if let Err(e) = self.account.reserve_object(descriptor_set_bytes(count)) {
                    self.account
                        .release(Quantity::Descriptors, u64::from(count));
                    return Err(e);
                }
                self.sets.insert(c.id, DescriptorSetObject::new(layout))
            }
            Command::DestroyDescriptorSet(c) => {
                let set = self.sets.remove(c.id)?;
                let count = set.layout.descriptor_count;
                self.account
                    .release(Quantity::Descriptors, u64::from(count));
                self.account.release_object(descriptor_set_bytes(count));
                Ok(())
            }
            Command::WriteDescriptorSet(c) => {
                let buffers = &self.buffers;
                let set = self.sets.get_mut(c.set)?;
                set.write_buffers(
                    c.binding,
                    c.array_element,
                    c.descriptor_type,
                    &c.buffers,
                    buffers,
                )
            }
            Command::WriteDescriptorImages(c) => {
                let sources = WriteSources {
                    images: &self.images,
                    samplers: &self.samplers,
                };
                let set = self.sets.get_mut(c.set)?;
                set.write_images(
                    c.binding,
                    c.array_element,
                    c.descriptor_type,
                    &c.images,
                    &sources,
                )
            }
            Command::WriteDescriptorTexelBuffers(c) => {
                let samplers = &self.samplers;
                let set = self.sets.get_mut(c.set)?;
                set.write_texel_buffers(
                    c.binding,
                    c.array_element,
                    c.descriptor_type,
                    &c.views,
                    samplers,
                )
            }
            Command::CopyDescriptorSet(c) => {
                let (kind, entries) = self.sets.get(c.src_set)?.copy_out(
                    c.src_binding,
                    c.src_array_element,
                    c.count,
                )?;
                self.sets.get_mut(c.dst_set)?.copy_in(
                    c.dst_binding,
                    c.dst_array_element,
                    kind,
                    entries,
                )
            }
            Command::CreateComputePipeline(c) => self.create_compute_pipeline(&c, scope),
            Command::CreateGraphicsPipeline(c) => self.create_graphics_pipeline(&c, scope),
            Command::DestroyPipeline(c) => {
                // Compute and graphics pipelines share one id space.
                let bytes = match self.pipelines.remove(c.id) {
                    Ok(p) => p.host_bytes,
                    Err(_) => self.graphics_pipelines.remove(c.id)?.host_bytes,
                };
                self.account.release_object(bytes);
                Ok(())
            }
            Command::Submit(c) => self.run_submit(c, scope),
            other => match self.execute_render_object(other, scope)? {
                None => Ok(()),
                Some(other) => Err(ExecError::Misplaced {
                    command: other.name(),
                    place: "outside a command buffer",
                }),
            },
        }
    }

    /// Ids and the reply location are the submission's business (an error fails it); what the
    /// application observes — SPIR-V the front end rejects, a shader that does not fit its
    /// layout, a client cap — goes into the reply as the `VkResult` of vkCreateComputePipelines.
    fn create_compute_pipeline(
        &mut self,
        c: &CreateComputePipeline,
        scope: &GuestScope<'_>,
    ) -> Result<(), ExecError> {
        self.pipelines.check_new(c.id)?;
        self.graphics_pipelines.check_new(c.id)?;
        let layout = self.pipeline_layouts.get(c.layout)?.clone();
        self.modules.get(c.module)?;
        scope.check_range(
            c.reply.resource,
            c.reply.offset,
            protocol::stream::Reply::SIZE as u64,
        )?;
        let result = match self.compile_within_budget(c, &layout) {
            Ok(p) => {
                self.pipelines.insert(c.id, Arc::new(p))?;
                vk_result::SUCCESS
            }
            Err(code) => code,
        };
        scope.write(c.reply.resource, c.reply.offset, &pipeline::reply(result))
    }

    /// Reserves the object and a compile slot, compiles, then charges what the pipeline holds.
    /// `Err` is the reply code; nothing stays reserved on failure.
    fn compile_within_budget(
        &mut self,
        c: &CreateComputePipeline,
        layout: &PipelineLayout,
    ) -> Result<PipelineObject, i32> {
        // vkCreateComputePipelines has no VK_ERROR_TOO_MANY_OBJECTS: a full object table is
        // host memory running out, as far as the application can tell.
        let refuse = |e: ExecError| {
            log::warn!("compute pipeline {}: {e}", c.id);
            match e.vk_result() {
                vk_result::ERROR_TOO_MANY_OBJECTS => vk_result::ERROR_OUT_OF_HOST_MEMORY,
                code => code,
            }
        };
        self.account
            .reserve(Quantity::Objects, 1, "objects")
            .map_err(refuse)?;
        if let Err(e) = self.account.reserve(Quantity::Compiles, 1, "compiles") {
            self.account.release(Quantity::Objects, 1);
            return Err(refuse(e));
        }
        let compiled = match self.modules.get(c.module) {
            Ok(module) => pipeline::compile(&self.device, module, layout, c),
            Err(e) => Err(refuse(e)),
        };
        self.account.release(Quantity::Compiles, 1);
        self.account.release(Quantity::Objects, 1);
        let mut p = compiled?;
        p.host_bytes = p.pipeline.host_bytes();
        self.account.reserve_object(p.host_bytes).map_err(refuse)?;
        Ok(p)
    }
}

impl ContextBackend for VkContext {
    fn submit(&mut self, stream: &[u8], resources: &dyn ResourceViews) -> Result<(), SubmitError> {
        // The whole stream must decode before any of it runs; then it runs frame by frame, so
        // the decoded form never holds more than one command (the stream is already bounded
        // by the capset's max_stream_size).
        protocol::stream::validate_stream(stream)?;
        let scope = GuestScope::new(resources);
        for cmd in protocol::stream::decode_stream(stream) {
            let cmd = cmd?;
            let name = cmd.name();
            self.execute_top_level(cmd, &scope).map_err(|e| {
                let message = format!("context {}: {name}: {e}", self.ctx_id);
                log::warn!("{message}");
                SubmitError::Invalid(message)
            })?;
        }
        Ok(())
    }
}
