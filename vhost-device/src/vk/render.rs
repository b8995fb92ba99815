//! Recorded graphics commands: the graphics bind point's state (pipeline, descriptor sets,
//! vertex and index buffers, dynamic state — separate from compute's), render pass instances
//! (`pass`) and draws, which go to the renderer's draw API.
//!
//! Every draw checks what Vulkan requires of the moment it runs: inside a render pass
//! instance, a graphics pipeline bound that renders to the current attachments, every
//! dynamic state it declared set. A violation fails the submission with a named error.
//!
//! Draws are deferred: each runs its vertex work when recorded and waits in the command
//! stream's [`PassBatch`] for its fragments, which are rasterized for all pending draws
//! together, tile by tile, when the batch is flushed ([`flushes_pending_draws`] says before
//! which commands; the command stream's end flushes too). The images are those of drawing
//! each draw at once.

use std::sync::Arc;

use protocol::stream::{CmdBindVertexBuffers, Command, WHOLE_SIZE};
use renderer::draw::{
    DrawCall, DrawResources, IndexBufferBinding, IndexType, IndirectDraw, PassBatch, RenderTargets,
    VertexBufferBinding,
};

use super::buffer::usage as buffer_usage;
use super::context::VkContext;
use super::dynamic_state::{self, DynamicValues};
use super::graphics_pipeline::GraphicsPipelineObject;
use super::guest::GuestScope;
use super::pass::PassInstance;
use super::submit::{BoundDescriptors, BoundSet};
use super::{ExecError, MAX_BOUND_DESCRIPTOR_SETS};

/// `VkBufferUsageFlagBits` of vertex and index buffers.
const INDEX_BUFFER: u32 = 0x40;
const VERTEX_BUFFER: u32 = 0x80;

/// `maxVertexInputBindings`.
const MAX_VERTEX_BINDINGS: usize = renderer::draw::state::MAX_VERTEX_BINDINGS as usize;

fn invalid(message: String) -> ExecError {
    ExecError::Invalid(message)
}

/// One vertex-buffer binding: buffer id, offset and, from vkCmdBindVertexBuffers2, size and
/// stride.
#[derive(Clone, Copy, Debug)]
struct BoundVertexBuffer {
    buffer: u64,
    offset: u64,
    size: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
struct BoundIndexBuffer {
    buffer: u64,
    offset: u64,
    index_type: IndexType,
}

/// The graphics bind point's state in one command buffer.
pub(crate) struct GraphicsCommandState {
    pipeline: Option<Arc<GraphicsPipelineObject>>,
    pub(crate) sets: [Option<BoundSet>; MAX_BOUND_DESCRIPTOR_SETS],
    vertex_buffers: [Option<BoundVertexBuffer>; MAX_VERTEX_BINDINGS],
    strides: [Option<u64>; MAX_VERTEX_BINDINGS],
    index_buffer: Option<BoundIndexBuffer>,
    dynamic: DynamicValues,
    pass: Option<PassInstance>,
    /// Draws recorded but not rasterized yet.
    batch: PassBatch,
}

/// Whether pending draws must be rasterized before `cmd` runs: every command may observe or
/// change what they touch (attachments, buffers their fragment stages use, the pass they
/// belong to) except those on this list, which only change binding state that recorded
/// draws have already captured, or record more draws.
pub(crate) fn flushes_pending_draws(cmd: &Command) -> bool {
    !matches!(
        cmd,
        Command::CmdBindGraphicsPipeline(_)
            | Command::CmdBindGraphicsDescriptorSets(_)
            | Command::CmdBindVertexBuffers(_)
            | Command::CmdBindIndexBuffer(_)
            | Command::CmdSetDynamicState(_)
            | Command::CmdBindComputePipeline(_)
            | Command::CmdBindDescriptorSets(_)
            | Command::CmdPushConstants(_)
            | Command::CmdDraw(_)
            | Command::CmdDrawIndexed(_)
            | Command::CmdDrawIndirect(_)
            | Command::CmdDrawIndirectCount(_)
    )
}

impl GraphicsCommandState {
    pub(crate) fn new() -> GraphicsCommandState {
        GraphicsCommandState {
            pipeline: None,
            sets: Default::default(),
            vertex_buffers: [None; MAX_VERTEX_BINDINGS],
            strides: [None; MAX_VERTEX_BINDINGS],
            index_buffer: None,
            dynamic: DynamicValues::default(),
            pass: None,
            batch: PassBatch::new(),
        }
    }

    /// A render pass instance is active.
    pub(crate) fn in_pass(&self) -> bool {
        self.pass.is_some()
    }

    /// A command buffer must not end inside a render pass instance unless it suspended
    /// dynamic rendering (VUID-vkEndCommandBuffer-commandBuffer-00060); a suspended instance
    /// ends here and the next command buffer resumes it (without loads).
    pub(crate) fn finish(&self) -> Result<(), ExecError> {
        match &self.pass {
            Some(p) if !p.is_suspending() => Err(invalid(
                "the command buffer ends inside a render pass instance".into(),
            )),
            _ => Ok(()),
        }
    }
}

impl VkContext {
    /// Rasterizes the draws pending in `g`'s batch; a failure is the error the draws
    /// themselves would have given.
    pub(crate) fn flush_draws(&self, g: &mut GraphicsCommandState) -> Result<(), ExecError> {
        if !g.batch.is_empty() {
            self.device.flush(&mut g.batch)?;
        }
        Ok(())
    }

    /// Executes `cmd` if it is a graphics command; `Ok(Some(cmd))` hands it back otherwise.
    pub(crate) fn execute_graphics(
        &self,
        cmd: Command,
        g: &mut GraphicsCommandState,
        push_constants: &[u8],
        scope: &GuestScope<'_>,
    ) -> Result<Option<Command>, ExecError> {
        match cmd {
            Command::CmdBindGraphicsPipeline(c) => {
                g.pipeline = Some(self.graphics_pipelines.get(c.pipeline)?.clone());
            }
            Command::CmdBindGraphicsDescriptorSets(c) => self.bind_descriptor_sets(
                c.layout,
                c.first_set,
                &c.sets,
                &c.dynamic_offsets,
                &mut g.sets,
            )?,
            Command::CmdBindVertexBuffers(c) => self.bind_vertex_buffers(&c, g)?,
            Command::CmdBindIndexBuffer(c) => {
                let index_type = IndexType::from_vk(c.index_type)?;
                let buffer = self.buffers.get(c.buffer)?;
                // VUID-vkCmdBindIndexBuffer-buffer-08784, -offset-08782/08783.
                check_buffer_usage(c.buffer, buffer.usage, INDEX_BUFFER)?;
                if c.offset >= buffer.size || c.offset % index_type.size() != 0 {
                    return Err(invalid(format!(
                        "index buffer offset {} is outside buffer {} or misaligned",
                        c.offset, c.buffer
                    )));
                }
                g.index_buffer = Some(BoundIndexBuffer {
                    buffer: c.buffer,
                    offset: c.offset,
                    index_type,
                });
            }
            Command::CmdSetDynamicState(c) => g.dynamic.set(&c.state)?,
            Command::CmdBeginRenderPass(c) => {
                if g.pass.is_some() {
                    return Err(misplaced("CmdBeginRenderPass", "inside a render pass"));
                }
                g.pass = Some(self.begin_render_pass(&c, scope)?);
            }
            Command::CmdNextSubpass(_) => {
                let pass = g
                    .pass
                    .as_mut()
                    .ok_or_else(|| misplaced("CmdNextSubpass", "outside a render pass"))?;
                self.next_subpass(pass, scope)?;
            }
            Command::CmdEndRenderPass(_) => {
                let pass = g
                    .pass
                    .take()
                    .ok_or_else(|| misplaced("CmdEndRenderPass", "outside a render pass"))?;
                VkContext::end_render_pass(pass)?;
            }
            Command::CmdBeginRendering(c) => {
                if g.pass.is_some() {
                    return Err(misplaced("CmdBeginRendering", "inside a render pass"));
                }
                g.pass = Some(self.begin_rendering(&c, scope)?);
            }
            Command::CmdEndRendering(_) => {
                let pass = g
                    .pass
                    .take()
                    .ok_or_else(|| misplaced("CmdEndRendering", "outside a render pass"))?;
                VkContext::end_rendering(pass)?;
            }
            Command::CmdClearAttachments(c) => {
                let pass = g
                    .pass
                    .as_ref()
                    .ok_or_else(|| misplaced("CmdClearAttachments", "outside a render pass"))?;
                self.clear_attachments(pass, &c, scope)?;
            }
            Command::CmdDraw(c) => self.draw(
                g,
                push_constants,
                scope,
                Draw::Direct(DrawCall::Direct {
                    vertex_count: c.vertex_count,
                    instance_count: c.instance_count,
                    first_vertex: c.first_vertex,
                    first_instance: c.first_instance,
                }),
            )?,
            Command::CmdDrawIndexed(c) => self.draw(
                g,
                push_constants,
                scope,
                Draw::Direct(DrawCall::Indexed {
                    index_count: c.index_count,
                    instance_count: c.instance_count,
                    first_index: c.first_index,
                    vertex_offset: c.vertex_offset,
                    first_instance: c.first_instance,
                }),
            )?,
            Command::CmdDrawIndirect(c) => self.draw(
                g,
                push_constants,
                scope,
                Draw::Indirect {
                    indexed: c.indexed,
                    buffer: c.buffer,
                    offset: c.offset,
                    draw_count: c.draw_count,
                    stride: c.stride,
                    count: None,
                },
            )?,
            Command::CmdDrawIndirectCount(c) => self.draw(
                g,
                push_constants,
                scope,
                Draw::Indirect {
                    indexed: c.indexed,
                    buffer: c.buffer,
                    offset: c.offset,
                    draw_count: c.max_draw_count,
                    stride: c.stride,
                    count: Some((c.count_buffer, c.count_offset)),
                },
            )?,
            other => return Ok(Some(other)),
        }
        Ok(None)
    }

    /// vkCmdBindVertexBuffers(2) (VUID-vkCmdBindVertexBuffers-firstBinding-00624/00625,
    /// -pOffsets-00626, -pBuffers-00627; vkCmdBindVertexBuffers2 -pSizes-03358,
    /// -pStrides-03362/06209).
    fn bind_vertex_buffers(
        &self,
        c: &CmdBindVertexBuffers,
        g: &mut GraphicsCommandState,
    ) -> Result<(), ExecError> {
        let n = c.buffers.len();
        let first = c.first_binding as usize;
        if first
            .checked_add(n)
            .is_none_or(|end| end > MAX_VERTEX_BINDINGS)
            || n == 0
        {
            return Err(invalid(format!(
                "vertex bindings {first}..+{n} are outside 0..{MAX_VERTEX_BINDINGS} or empty"
            )));
        }
        if c.offsets.len() != n
            || !(c.sizes.is_empty() || c.sizes.len() == n)
            || !(c.strides.is_empty() || c.strides.len() == n)
        {
            return Err(invalid(
                "vertex buffer offsets, sizes or strides do not match the buffers".into(),
            ));
        }
        let mut bound = Vec::with_capacity(n);
        for (i, &id) in c.buffers.iter().enumerate() {
            if id == 0 {
                return Err(invalid(
                    "a null vertex buffer (nullDescriptor is not offered)".into(),
                ));
            }
            let buffer = self.buffers.get(id)?;
            check_buffer_usage(id, buffer.usage, VERTEX_BUFFER)?;
            let offset = c.offsets[i];
            let size = match c.sizes.get(i).copied() {
                None | Some(WHOLE_SIZE) => None,
                Some(size) => Some(size),
            };
            let end = offset.checked_add(size.unwrap_or(0));
            if offset >= buffer.size || end.is_none_or(|e| e > buffer.size) || size == Some(0) {
                return Err(invalid(format!(
                    "vertex buffer {id}: range at offset {offset} (size {size:?}) is outside its {} bytes",
                    buffer.size
                )));
            }
            let stride = c.strides.get(i).copied();
            if stride
                .is_some_and(|s| s > u64::from(renderer::draw::state::MAX_VERTEX_BINDING_STRIDE))
            {
                return Err(invalid(format!(
                    "vertex stride {stride:?} exceeds the limit"
                )));
            }
            bound.push((
                BoundVertexBuffer {
                    buffer: id,
                    offset,
                    size,
                },
                stride,
            ));
        }
        for (i, (b, stride)) in bound.into_iter().enumerate() {
            g.vertex_buffers[first + i] = Some(b);
            if stride.is_some() {
                g.strides[first + i] = stride;
            }
        }
        Ok(())
    }

    /// Records a draw into `g`'s batch.
    fn draw(
        &self,
        g: &mut GraphicsCommandState,
        push_constants: &[u8],
        scope: &GuestScope<'_>,
        draw: Draw,
    ) -> Result<(), ExecError> {
        let mut batch = std::mem::take(&mut g.batch);
        let result = self.record_draw(&mut batch, g, push_constants, scope, draw);
        g.batch = batch;
        result
    }

    fn record_draw(
        &self,
        batch: &mut PassBatch,
        g: &GraphicsCommandState,
        push_constants: &[u8],
        scope: &GuestScope<'_>,
        draw: Draw,
    ) -> Result<(), ExecError> {
        // VUID-vkCmdDraw-renderpass.
        let pass = g
            .pass
            .as_ref()
            .ok_or_else(|| misplaced("a draw", "outside a render pass"))?;
        let pipeline = g
            .pipeline
            .as_ref()
            .ok_or_else(|| invalid("no graphics pipeline is bound".into()))?;
        pass.check_pipeline(pipeline)?;
        let state =
            dynamic_state::resolve(&pipeline.fixed, pipeline.dynamic, &g.dynamic, &g.strides)?;
        let (colors, depth_stencil) = pass.resolve(Some(pipeline), scope)?;
        let targets = RenderTargets {
            render_area: pass.render_area,
            colors: &colors,
            depth_stencil: depth_stencil.as_ref(),
            view_mask: pass.view_mask,
        };
        let mut vertex_buffers: Vec<Option<VertexBufferBinding>> =
            Vec::with_capacity(MAX_VERTEX_BINDINGS);
        for b in &g.vertex_buffers {
            vertex_buffers.push(match b {
                None => None,
                Some(b) => Some(self.vertex_buffer(b, scope)?),
            });
        }
        let index_buffer = match &g.index_buffer {
            None => None,
            Some(b) => Some(IndexBufferBinding {
                buffer: self.buffers.resolve(b.buffer, INDEX_BUFFER, scope)?,
                offset: b.offset,
                index_type: b.index_type,
            }),
        };
        let descriptors = BoundDescriptors {
            ctx: self,
            sets: &g.sets,
            scope,
        };
        let resources = DrawResources {
            vertex_buffers: &vertex_buffers,
            index_buffer: index_buffer.as_ref(),
            descriptors: &descriptors,
            push_constants,
        };
        let p = &pipeline.pipeline;
        match draw {
            Draw::Direct(call) => {
                if matches!(call, DrawCall::Indexed { .. }) && index_buffer.is_none() {
                    return Err(invalid("indexed draw without an index buffer".into()));
                }
                self.device
                    .draw_deferred(batch, p, &state, &targets, &resources, &call)?;
            }
            Draw::Indirect {
                indexed,
                buffer,
                offset,
                draw_count,
                stride,
                count,
            } => {
                if indexed && index_buffer.is_none() {
                    return Err(invalid("indexed draw without an index buffer".into()));
                }
                let buffer = self
                    .buffers
                    .resolve(buffer, buffer_usage::INDIRECT_BUFFER, scope)?;
                let indirect = IndirectDraw {
                    buffer: &buffer,
                    offset,
                    draw_count,
                    stride,
                    indexed,
                };
                match count {
                    None => {
                        self.device.draw_indirect_deferred(
                            batch, p, &state, &targets, &resources, &indirect,
                        )?;
                    }
                    Some((count_buffer, count_offset)) => {
                        let count_buffer = self.buffers.resolve(
                            count_buffer,
                            buffer_usage::INDIRECT_BUFFER,
                            scope,
                        )?;
                        self.device.draw_indirect_count_deferred(
                            batch,
                            p,
                            &state,
                            &targets,
                            &resources,
                            &indirect,
                            &count_buffer,
                            count_offset,
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The renderer binding of a vertex buffer: with a size from vkCmdBindVertexBuffers2, a
    /// window of exactly that range, so fetches beyond it read zero as robustness requires.
    fn vertex_buffer(
        &self,
        b: &BoundVertexBuffer,
        scope: &GuestScope<'_>,
    ) -> Result<VertexBufferBinding, ExecError> {
        match b.size {
            None => Ok(VertexBufferBinding {
                buffer: self.buffers.resolve(b.buffer, VERTEX_BUFFER, scope)?,
                offset: b.offset,
            }),
            Some(size) => {
                let object = self.buffers.get(b.buffer)?;
                let memory = object
                    .memory
                    .ok_or_else(|| invalid(format!("buffer {} has no memory bound", b.buffer)))?;
                let start = memory
                    .offset
                    .checked_add(b.offset)
                    .ok_or_else(|| invalid("vertex buffer offset overflows".into()))?;
                Ok(VertexBufferBinding {
                    buffer: scope.buffer_window(memory.resource, start, size)?,
                    offset: 0,
                })
            }
        }
    }
}

enum Draw {
    Direct(DrawCall),
    Indirect {
        indexed: bool,
        buffer: u64,
        offset: u64,
        draw_count: u32,
        stride: u32,
        count: Option<(u64, u64)>,
    },
}

fn misplaced(command: &'static str, place: &'static str) -> ExecError {
    ExecError::Misplaced { command, place }
}

fn check_buffer_usage(id: u64, has: u32, needed: u32) -> Result<(), ExecError> {
    if has & needed != needed {
        return Err(invalid(format!(
            "buffer {id} lacks usage {needed:#x} (has {has:#x})"
        )));
    }
    Ok(())
}
