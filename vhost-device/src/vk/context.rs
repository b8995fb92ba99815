//! One context: its object tables and the top-level commands that create and destroy objects.

use std::sync::Arc;

use protocol::stream::{Command, CreateComputePipeline};

use super::buffer::Buffers;
use super::descriptor::{DescriptorSetObject, PipelineLayout, SetLayout};
use super::guest::GuestScope;
use super::objects::ObjectTable;
use super::pipeline::{self, PipelineObject, ShaderModule};
use super::{
    ExecError, MAX_DESCRIPTORS_PER_CONTEXT, MAX_OBJECTS, MAX_SHADER_BYTES_PER_CONTEXT,
    MAX_SHADER_MODULE_WORDS,
};
use crate::context::{ContextBackend, ResourceViews, SubmitError};

pub struct VkContext {
    pub(crate) device: Arc<renderer::Device>,
    ctx_id: u32,
    pub(crate) buffers: Buffers,
    modules: ObjectTable<ShaderModule>,
    shader_bytes: usize,
    set_layouts: ObjectTable<Arc<SetLayout>>,
    pipeline_layouts: ObjectTable<Arc<PipelineLayout>>,
    pub(crate) sets: ObjectTable<DescriptorSetObject>,
    descriptors: u64,
    pub(crate) pipelines: ObjectTable<Arc<PipelineObject>>,
}

impl VkContext {
    pub fn new(device: Arc<renderer::Device>, ctx_id: u32, name: &str) -> VkContext {
        log::debug!(
            "context {ctx_id} created ({:?})",
            name.chars().take(64).collect::<String>()
        );
        VkContext {
            device,
            ctx_id,
            buffers: Buffers::new(),
            modules: ObjectTable::new("shader module"),
            shader_bytes: 0,
            set_layouts: ObjectTable::new("descriptor set layout"),
            pipeline_layouts: ObjectTable::new("pipeline layout"),
            sets: ObjectTable::new("descriptor set"),
            descriptors: 0,
            pipelines: ObjectTable::new("pipeline"),
        }
    }

    /// Live objects of every kind.
    pub fn live_objects(&self) -> usize {
        self.buffers.len()
            + self.modules.len()
            + self.set_layouts.len()
            + self.pipeline_layouts.len()
            + self.sets.len()
            + self.pipelines.len()
    }

    fn check_object_budget(&self) -> Result<(), ExecError> {
        if self.live_objects() >= MAX_OBJECTS {
            return Err(ExecError::TooManyObjects);
        }
        Ok(())
    }

    pub(crate) fn pipeline_layout(&self, id: u64) -> Result<&Arc<PipelineLayout>, ExecError> {
        self.pipeline_layouts.get(id)
    }

    /// Executes one top-level command.
    fn execute_top_level(&mut self, cmd: Command, scope: &GuestScope<'_>) -> Result<(), ExecError> {
        match cmd {
            Command::CreateBuffer(c) => {
                self.check_object_budget()?;
                self.buffers.create(c.id, c.size, c.usage)
            }
            Command::DestroyBuffer(c) => self.buffers.destroy(c.id, scope),
            Command::BindBufferMemory(c) => self.buffers.bind(c.buffer, c.memory, scope),
            Command::CreateShaderModule(c) => {
                self.check_object_budget()?;
                self.modules.check_new(c.id)?;
                if c.code.len() > MAX_SHADER_MODULE_WORDS {
                    return Err(ExecError::Limit {
                        what: "shader module words",
                        value: c.code.len() as u64,
                        limit: MAX_SHADER_MODULE_WORDS as u64,
                    });
                }
                let bytes = c.code.len() * 4;
                if self.shader_bytes + bytes > MAX_SHADER_BYTES_PER_CONTEXT {
                    return Err(ExecError::Limit {
                        what: "shader bytes in the context",
                        value: (self.shader_bytes + bytes) as u64,
                        limit: MAX_SHADER_BYTES_PER_CONTEXT as u64,
                    });
                }
                self.modules.insert(c.id, ShaderModule::new(&c.code))?;
                self.shader_bytes += bytes;
                Ok(())
            }
            Command::DestroyShaderModule(c) => {
                let module = self.modules.remove(c.id)?;
                self.shader_bytes -= module.spirv.len();
                Ok(())
            }
            Command::CreateDescriptorSetLayout(c) => {
                self.check_object_budget()?;
                self.set_layouts.check_new(c.id)?;
                let layout = SetLayout::new(c.bindings)?;
                self.set_layouts.insert(c.id, Arc::new(layout))
            }
            Command::DestroyDescriptorSetLayout(c) => self.set_layouts.remove(c.id).map(drop),
            Command::CreatePipelineLayout(c) => {
                self.check_object_budget()?;
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
                self.pipeline_layouts.insert(c.id, Arc::new(layout))
            }
            Command::DestroyPipelineLayout(c) => self.pipeline_layouts.remove(c.id).map(drop),
            Command::CreateDescriptorSet(c) => {
                self.check_object_budget()?;
                self.sets.check_new(c.id)?;
                let layout = self.set_layouts.get(c.layout)?.clone();
                let count = u64::from(layout.descriptor_count);
                if self.descriptors + count > MAX_DESCRIPTORS_PER_CONTEXT {
                    return Err(ExecError::Limit {
                        what: "descriptors in the context",
                        value: self.descriptors + count,
                        limit: MAX_DESCRIPTORS_PER_CONTEXT,
                    });
                }
                self.sets.insert(c.id, DescriptorSetObject::new(layout))?;
                self.descriptors += count;
                Ok(())
            }
            Command::DestroyDescriptorSet(c) => {
                let set = self.sets.remove(c.id)?;
                self.descriptors -= u64::from(set.layout.descriptor_count);
                Ok(())
            }
            Command::WriteDescriptorSet(c) => {
                let buffers = &self.buffers;
                let set = self.sets.get_mut(c.set)?;
                set.write(
                    c.binding,
                    c.array_element,
                    c.descriptor_type,
                    &c.buffers,
                    buffers,
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
            Command::DestroyPipeline(c) => self.pipelines.remove(c.id).map(drop),
            Command::Submit(c) => self.run_submit(c, scope),
            other => Err(ExecError::Misplaced {
                command: other.name(),
                place: "outside a command buffer",
            }),
        }
    }

    /// Ids and the reply location are the submission's business (an error fails it); what the
    /// application observes — SPIR-V the front end rejects, a shader that does not fit its
    /// layout — goes into the reply.
    fn create_compute_pipeline(
        &mut self,
        c: &CreateComputePipeline,
        scope: &GuestScope<'_>,
    ) -> Result<(), ExecError> {
        self.check_object_budget()?;
        self.pipelines.check_new(c.id)?;
        let layout = self.pipeline_layouts.get(c.layout)?.clone();
        let module = self.modules.get(c.module)?;
        scope.check_range(
            c.reply.resource,
            c.reply.offset,
            protocol::stream::Reply::SIZE as u64,
        )?;
        let result = match pipeline::compile(&self.device, module, &layout, c) {
            Ok(p) => {
                self.pipelines.insert(c.id, Arc::new(p))?;
                super::vk_result::SUCCESS
            }
            Err(code) => code,
        };
        scope.write(c.reply.resource, c.reply.offset, &pipeline::reply(result))
    }
}

impl ContextBackend for VkContext {
    fn submit(&mut self, stream: &[u8], resources: &dyn ResourceViews) -> Result<(), SubmitError> {
        let commands = protocol::stream::decode_all(stream)?;
        let scope = GuestScope::new(resources);
        for cmd in commands {
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
