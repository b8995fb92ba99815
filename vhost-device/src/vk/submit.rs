//! vkQueueSubmit: recorded command buffers copied out of guest memory, decoded, and executed
//! in order with their binding state; then the submission's signal words are written.

use std::sync::Arc;

use protocol::stream::{Command, Submit};
use renderer::sampler::{ImageDescriptor, Sampler};
use renderer::{BufferCopy, BufferRange, DescriptorSource, RendererError};

use super::buffer::usage;
use super::context::VkContext;
use super::descriptor::{DescriptorKind, LayoutBinding, PipelineLayout};
use super::descriptor_set::{Descriptor, WrittenSampler};
use super::guest::GuestScope;
use super::limits::Quantity;
use super::pipeline::PipelineObject;
use super::render::{flushes_pending_draws, GraphicsCommandState};
use super::{ExecError, MAX_BOUND_DESCRIPTOR_SETS, MAX_PUSH_CONSTANTS_SIZE};

/// A bound descriptor set and its dynamic offsets (vkCmdBindDescriptorSets).
#[derive(Default)]
pub(crate) struct BoundSet {
    set: u64,
    dynamic_offsets: Vec<u32>,
}

impl BoundSet {
    /// Set `set` bound without dynamic offsets (for tests of descriptor resolution).
    #[cfg(test)]
    pub(crate) fn without_offsets(set: u64) -> BoundSet {
        BoundSet {
            set,
            dynamic_offsets: Vec::new(),
        }
    }
}

/// The state a command buffer starts with empty (Vulkan: none is inherited across command
/// buffers). Compute and graphics bind points are separate; push constants are shared.
struct CommandState {
    pipeline: Option<Arc<PipelineObject>>,
    sets: [Option<BoundSet>; MAX_BOUND_DESCRIPTOR_SETS],
    push_constants: [u8; MAX_PUSH_CONSTANTS_SIZE as usize],
    graphics: GraphicsCommandState,
}

impl CommandState {
    fn new() -> CommandState {
        CommandState {
            pipeline: None,
            sets: Default::default(),
            push_constants: [0; MAX_PUSH_CONSTANTS_SIZE as usize],
            graphics: GraphicsCommandState::new(),
        }
    }
}

/// Nanoseconds of CLOCK_MONOTONIC (timestampPeriod 1).
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// Looks up the descriptors a dispatch's or draw's kernels use in the bound sets of its bind
/// point, at dispatch or draw time.
pub(crate) struct BoundDescriptors<'a, 's> {
    pub(crate) ctx: &'a VkContext,
    pub(crate) sets: &'a [Option<BoundSet>; MAX_BOUND_DESCRIPTOR_SETS],
    pub(crate) scope: &'a GuestScope<'s>,
}

impl BoundDescriptors<'_, '_> {
    /// The set bound at `set`, its layout binding and the descriptor written at
    /// (binding, array_index): `Ok(None)` when no set is bound there.
    fn lookup(
        &self,
        set: u32,
        binding: u32,
        array_index: u32,
    ) -> Result<Option<Element<'_>>, ExecError> {
        let Some(bound) = self.sets.get(set as usize).and_then(Option::as_ref) else {
            return Ok(None);
        };
        let object = self.ctx.sets.get(bound.set)?;
        let Some((layout_binding, slot)) = object.layout.element(binding, array_index) else {
            return Err(ExecError::Invalid(format!(
                "descriptor set {} has no binding {binding}[{array_index}]",
                bound.set
            )));
        };
        Ok(Some(Element {
            bound,
            binding: layout_binding,
            descriptor: object.entries.get(slot).and_then(Option::as_ref),
        }))
    }

    fn resolve(
        &self,
        set: u32,
        binding: u32,
        array_index: u32,
    ) -> Result<Option<BufferRange>, ExecError> {
        let Some(element) = self.lookup(set, binding, array_index)? else {
            return Ok(None);
        };
        let (bound, layout_binding) = (element.bound, element.binding);
        let Some(ty) = layout_binding.kind.buffer_type() else {
            return Err(ExecError::Invalid(format!(
                "binding {binding} is {:?}, not a buffer",
                layout_binding.kind
            )));
        };
        let Some(&Descriptor::Buffer {
            buffer,
            offset,
            range,
        }) = element.descriptor
        else {
            return Ok(None);
        };
        let mut offset = offset;
        if layout_binding.kind.is_dynamic() {
            let index = (layout_binding.first_dynamic + array_index) as usize;
            let dynamic = bound.dynamic_offsets.get(index).copied().unwrap_or(0);
            offset += u64::from(dynamic);
        }
        let object = self.ctx.buffers.get(buffer)?;
        // VUID-vkCmdBindDescriptorSets-pDynamicOffsets-01979: the effective range fits.
        if offset
            .checked_add(range)
            .is_none_or(|end| end > object.size)
        {
            return Err(ExecError::Invalid(format!(
                "descriptor set {} binding {binding}[{array_index}]: range {range} at offset {offset} is outside buffer {buffer} ({} bytes)",
                bound.set, object.size
            )));
        }
        let resolved = self.ctx.buffers.resolve(buffer, 0, self.scope)?;
        Ok(Some(BufferRange {
            ty,
            buffer: resolved,
            offset,
            range,
        }))
    }

    /// A written sampler, unless it was destroyed since.
    fn live_sampler(&self, written: &WrittenSampler) -> Result<Sampler, ExecError> {
        if written.id != 0 {
            self.ctx.samplers.samplers.get(written.id)?;
        }
        Ok(written.sampler.clone())
    }

    fn resolve_image(
        &self,
        set: u32,
        binding: u32,
        array_index: u32,
    ) -> Result<Option<ImageDescriptor>, ExecError> {
        let Some(element) = self.lookup(set, binding, array_index)? else {
            return Ok(None);
        };
        let b = element.binding;
        match (b.kind, element.descriptor) {
            (
                DescriptorKind::SampledImage
                | DescriptorKind::StorageImage
                | DescriptorKind::InputAttachment
                | DescriptorKind::CombinedImageSampler,
                Some(Descriptor::Image { view, sampler }),
            ) => {
                let view = self.ctx.images.view(*view)?.sampling_view(self.scope)?;
                let sampler = if b.kind == DescriptorKind::CombinedImageSampler {
                    match (sampler, b.immutable_sampler(array_index)) {
                        (_, Some(immutable)) => Some(immutable.clone()),
                        (Some(written), None) => Some(self.live_sampler(written)?),
                        (None, None) => {
                            return Err(ExecError::Invalid(format!(
                                "combined image sampler {binding}[{array_index}] has no sampler"
                            )))
                        }
                    }
                } else {
                    None
                };
                Ok(Some(ImageDescriptor::Image { view, sampler }))
            }
            (
                DescriptorKind::UniformTexelBuffer | DescriptorKind::StorageTexelBuffer,
                Some(Descriptor::TexelBuffer(id)),
            ) => {
                let view =
                    self.ctx
                        .samplers
                        .resolve_buffer_view(*id, &self.ctx.buffers, self.scope)?;
                Ok(Some(ImageDescriptor::TexelBuffer(view)))
            }
            (
                DescriptorKind::SampledImage
                | DescriptorKind::StorageImage
                | DescriptorKind::InputAttachment
                | DescriptorKind::CombinedImageSampler
                | DescriptorKind::UniformTexelBuffer
                | DescriptorKind::StorageTexelBuffer,
                None,
            ) => Ok(None),
            (kind, _) => Err(ExecError::Invalid(format!(
                "binding {binding} is {kind:?}, not an image or texel buffer"
            ))),
        }
    }

    fn resolve_sampler(
        &self,
        set: u32,
        binding: u32,
        array_index: u32,
    ) -> Result<Option<Sampler>, ExecError> {
        let Some(element) = self.lookup(set, binding, array_index)? else {
            return Ok(None);
        };
        let b = element.binding;
        if b.kind != DescriptorKind::Sampler {
            return Err(ExecError::Invalid(format!(
                "binding {binding} is {:?}, not a sampler",
                b.kind
            )));
        }
        if let Some(immutable) = b.immutable_sampler(array_index) {
            return Ok(Some(immutable.clone()));
        }
        match element.descriptor {
            Some(Descriptor::Sampler(written)) => Ok(Some(self.live_sampler(written)?)),
            _ => Ok(None),
        }
    }
}

/// One descriptor of a bound set, as a lookup finds it.
struct Element<'a> {
    bound: &'a BoundSet,
    binding: &'a LayoutBinding,
    descriptor: Option<&'a Descriptor>,
}

fn descriptor_error(set: u32, binding: u32, array_index: u32, e: ExecError) -> RendererError {
    RendererError::Descriptor {
        set,
        binding,
        array_index,
        reason: e.to_string(),
    }
}

impl DescriptorSource for BoundDescriptors<'_, '_> {
    fn buffer_descriptor(
        &self,
        set: u32,
        binding: u32,
        array_index: u32,
    ) -> Result<Option<BufferRange>, RendererError> {
        self.resolve(set, binding, array_index)
            .map_err(|e| descriptor_error(set, binding, array_index, e))
    }

    fn image_descriptor(
        &self,
        set: u32,
        binding: u32,
        array_index: u32,
    ) -> Result<Option<ImageDescriptor>, RendererError> {
        self.resolve_image(set, binding, array_index)
            .map_err(|e| descriptor_error(set, binding, array_index, e))
    }

    fn sampler_descriptor(
        &self,
        set: u32,
        binding: u32,
        array_index: u32,
    ) -> Result<Option<Sampler>, RendererError> {
        self.resolve_sampler(set, binding, array_index)
            .map_err(|e| descriptor_error(set, binding, array_index, e))
    }
}

impl VkContext {
    pub(crate) fn run_submit(
        &mut self,
        submit: Submit,
        scope: &GuestScope<'_>,
    ) -> Result<(), ExecError> {
        let limit = self.guest_wait_limit;
        for wait in &submit.waits {
            scope.wait_u64_at_least(wait.src.resource, wait.src.offset, wait.value, limit)?;
        }
        let max_size = self.limits().max_command_buffer_size;
        for (index, range) in submit.command_buffers.iter().enumerate() {
            if range.len > max_size {
                return Err(ExecError::Limit {
                    what: "command buffer bytes",
                    value: range.len,
                    limit: max_size,
                });
            }
            // The copy is host memory held for the client while it runs: charged, returned below.
            self.account
                .reserve(Quantity::HostBytes, range.len, "command buffer copies")?;
            let result = self.run_command_buffer(index, range, scope);
            self.account.release(Quantity::HostBytes, range.len);
            result?;
        }
        for signal in &submit.signals {
            scope.write(
                signal.dst.resource,
                signal.dst.offset,
                &signal.value.to_le_bytes(),
            )?;
        }
        Ok(())
    }

    /// Copies one command buffer out of guest memory (once: the guest may rewrite the bytes
    /// while we execute them), checks that all of it decodes, then decodes and runs it command
    /// by command, so the decoded form never holds more than one command at a time.
    fn run_command_buffer(
        &self,
        index: usize,
        range: &protocol::stream::GuestRange,
        scope: &GuestScope<'_>,
    ) -> Result<(), ExecError> {
        let bytes = scope.read(range.resource, range.offset, range.len)?;
        protocol::stream::validate_stream(&bytes)
            .map_err(|source| ExecError::CommandBufferStream { index, source })?;
        let mut state = CommandState::new();
        let result = self.run_commands(index, &bytes, &mut state, scope);
        // Pending draws never outlive the command stream (the guest memory they use is only
        // ours for the submission), also when it failed: what was recorded before the
        // failure is drawn, as it would have been drawing each draw at once.
        let flushed = self
            .flush_draws(&mut state.graphics)
            .map_err(|e| ExecError::Invalid(format!("command buffer {index}: draws: {e}")));
        result?;
        flushed?;
        state
            .graphics
            .finish()
            .map_err(|e| ExecError::Invalid(format!("command buffer {index}: {e}")))
    }

    fn run_commands(
        &self,
        index: usize,
        bytes: &[u8],
        state: &mut CommandState,
        scope: &GuestScope<'_>,
    ) -> Result<(), ExecError> {
        for cmd in protocol::stream::decode_stream(bytes) {
            let cmd = cmd.map_err(|source| ExecError::CommandBufferStream { index, source })?;
            let name = cmd.name();
            let run = || {
                if flushes_pending_draws(&cmd) {
                    self.flush_draws(&mut state.graphics)?;
                }
                self.execute_recorded(cmd, state, scope)
            };
            run()
                .map_err(|e| ExecError::Invalid(format!("command buffer {index}: {name}: {e}")))?;
        }
        Ok(())
    }

    fn execute_recorded(
        &self,
        cmd: Command,
        state: &mut CommandState,
        scope: &GuestScope<'_>,
    ) -> Result<(), ExecError> {
        match cmd {
            Command::CmdBindComputePipeline(c) => {
                state.pipeline = Some(self.pipelines.get(c.pipeline)?.clone());
                Ok(())
            }
            Command::CmdBindDescriptorSets(c) => self.bind_descriptor_sets(
                c.layout,
                c.first_set,
                &c.sets,
                &c.dynamic_offsets,
                &mut state.sets,
            ),
            Command::CmdPushConstants(c) => {
                let layout = self.pipeline_layout(c.layout)?;
                layout.check_push_constants(c.stages, c.offset, c.data.len())?;
                let start = c.offset as usize;
                // Checked above: offset + len <= MAX_PUSH_CONSTANTS_SIZE.
                if let Some(dst) = state.push_constants.get_mut(start..start + c.data.len()) {
                    dst.copy_from_slice(&c.data);
                }
                Ok(())
            }
            Command::CmdDispatch(c) => {
                let pipeline = bound_pipeline(state)?;
                let descriptors = BoundDescriptors {
                    ctx: self,
                    sets: &state.sets,
                    scope,
                };
                self.device.dispatch_with(
                    &pipeline.pipeline,
                    &descriptors,
                    &state.push_constants,
                    c.base,
                    c.groups,
                )?;
                Ok(())
            }
            Command::CmdDispatchIndirect(c) => {
                let pipeline = bound_pipeline(state)?;
                let buffer = self
                    .buffers
                    .resolve(c.buffer, usage::INDIRECT_BUFFER, scope)?;
                let descriptors = BoundDescriptors {
                    ctx: self,
                    sets: &state.sets,
                    scope,
                };
                self.device.dispatch_indirect_with(
                    &pipeline.pipeline,
                    &descriptors,
                    &state.push_constants,
                    &buffer,
                    c.offset,
                )?;
                Ok(())
            }
            Command::CmdCopyBuffer(c) => {
                let src = self.buffers.resolve(c.src, usage::TRANSFER_SRC, scope)?;
                let dst = self.buffers.resolve(c.dst, usage::TRANSFER_DST, scope)?;
                let regions: Vec<BufferCopy> = c
                    .regions
                    .iter()
                    .map(|r| BufferCopy {
                        src_offset: r.src_offset,
                        dst_offset: r.dst_offset,
                        size: r.size,
                    })
                    .collect();
                dst.copy_from(&src, &regions)?;
                Ok(())
            }
            Command::CmdFillBuffer(c) => {
                let dst = self.buffers.resolve(c.dst, usage::TRANSFER_DST, scope)?;
                dst.fill(c.offset, c.size, c.data)?;
                Ok(())
            }
            Command::CmdUpdateBuffer(c) => {
                let dst = self.buffers.resolve(c.dst, usage::TRANSFER_DST, scope)?;
                dst.update(c.offset, &c.data)?;
                Ok(())
            }
            Command::CmdWriteTimestamp(c) => {
                let mut words = [0u8; 16];
                words[..8].copy_from_slice(&monotonic_ns().to_le_bytes());
                words[8..].copy_from_slice(&1u64.to_le_bytes());
                scope.write(c.dst.resource, c.dst.offset, &words)
            }
            Command::CmdWriteGuestU32(c) => {
                scope.write(c.dst.resource, c.dst.offset, &c.value.to_le_bytes())
            }
            Command::CmdWaitGuestU32(c) => {
                scope.wait_u32(c.src.resource, c.src.offset, c.value, self.guest_wait_limit)
            }
            other => {
                let in_pass = state.graphics.in_pass();
                let Some(other) = self.execute_image_command(other, in_pass, scope)? else {
                    return Ok(());
                };
                let push_constants = &state.push_constants;
                match self.execute_graphics(other, &mut state.graphics, push_constants, scope)? {
                    None => Ok(()),
                    Some(other) => Err(ExecError::Misplaced {
                        command: other.name(),
                        place: "inside a command buffer",
                    }),
                }
            }
        }
    }

    /// vkCmdBindDescriptorSets for one bind point's `slots`.
    pub(crate) fn bind_descriptor_sets(
        &self,
        layout_id: u64,
        first_set: u32,
        sets: &[u64],
        dynamic_offsets: &[u32],
        slots: &mut [Option<BoundSet>; MAX_BOUND_DESCRIPTOR_SETS],
    ) -> Result<(), ExecError> {
        let layout: &PipelineLayout = self.pipeline_layout(layout_id)?;
        // VUID-vkCmdBindDescriptorSets-firstSet-00360.
        let first = first_set as usize;
        if first
            .checked_add(sets.len())
            .is_none_or(|end| end > layout.sets.len())
        {
            return Err(ExecError::Invalid(format!(
                "sets {first}..+{} exceed pipeline layout {}'s {} set layouts",
                sets.len(),
                layout_id,
                layout.sets.len()
            )));
        }
        let mut dynamic_offsets = dynamic_offsets;
        let mut bound = Vec::with_capacity(sets.len());
        for (i, &id) in sets.iter().enumerate() {
            let set = self.sets.get(id)?;
            let expected = &layout.sets[first + i];
            // VUID-vkCmdBindDescriptorSets-pDescriptorSets-00358: compatible layouts (the same
            // bindings; identical definitions are compatible, Vulkan §14.2.2).
            if !Arc::ptr_eq(&set.layout, expected) && *set.layout != **expected {
                return Err(ExecError::Invalid(format!(
                    "descriptor set {id} does not match set layout {} of pipeline layout {}",
                    first + i,
                    layout_id
                )));
            }
            let count = set.layout.dynamic_count as usize;
            // VUID-vkCmdBindDescriptorSets-dynamicOffsetCount-00359.
            if dynamic_offsets.len() < count {
                return Err(ExecError::Invalid("too few dynamic offsets".into()));
            }
            let (mine, rest) = dynamic_offsets.split_at(count);
            dynamic_offsets = rest;
            // VUID-vkCmdBindDescriptorSets-pDynamicOffsets-01971 / -01972.
            if let Some(bad) = mine
                .iter()
                .find(|&&o| u64::from(o) % renderer::MIN_BUFFER_OFFSET_ALIGNMENT != 0)
            {
                return Err(ExecError::Invalid(format!(
                    "dynamic offset {bad} is not aligned"
                )));
            }
            bound.push(BoundSet {
                set: id,
                dynamic_offsets: mine.to_vec(),
            });
        }
        if !dynamic_offsets.is_empty() {
            return Err(ExecError::Invalid("too many dynamic offsets".into()));
        }
        for (slot, b) in slots.iter_mut().skip(first).zip(bound) {
            *slot = Some(b);
        }
        Ok(())
    }
}

fn bound_pipeline(state: &CommandState) -> Result<Arc<PipelineObject>, ExecError> {
    state
        .pipeline
        .clone()
        .ok_or_else(|| ExecError::Invalid("no compute pipeline is bound".into()))
}
