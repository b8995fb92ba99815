//! The command stream (DESIGN §3), version [`crate::PROTOCOL_VERSION`].
//!
//! A stream is a sequence of frames `{opcode: u32 LE, length: u32 LE, payload: [u8; length]}`.
//! The payload is the command's fields in `postcard` encoding (little-endian varints, counts
//! before sequences); it must be consumed exactly. The same framing is used for the top-level
//! stream of a `SUBMIT_3D` and for command buffers recorded into guest RAM.
//!
//! Object ids (`u64`) are chosen by the guest, so creation needs no round trip; 0 is never a
//! valid id. Guest memory is named by virtio-gpu resource id + byte offset ([`GuestLocation`]).
//! Commands whose outcome the application can observe (pipeline creation) name a reply
//! location; the device writes a [`Reply`] there before it completes the submission's fence.
//!
//! Decoding trusts nothing: frame lengths are checked against the bytes present, and postcard
//! never allocates a sequence larger than the bytes left can encode (every element takes at
//! least one byte), so a hostile count cannot make the decoder allocate more than the stream's
//! own size.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::graphics::*;
use crate::sampler::{DescriptorImageInfo, SamplerCreateInfo};

/// Bytes of the frame header (opcode + length).
pub const FRAME_HEADER_SIZE: usize = 8;

/// `VK_WHOLE_SIZE` in buffer ranges.
pub const WHOLE_SIZE: u64 = u64::MAX;

/// A byte offset in a guest-RAM resource (a device-memory block attached to the context).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestLocation {
    pub resource: u32,
    pub offset: u64,
}

/// A byte range in a guest-RAM resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestRange {
    pub resource: u32,
    pub offset: u64,
    pub len: u64,
}

/// What the device writes at a reply location: a `VkResult` code as a little-endian `i32`,
/// followed by a `u32` that is 1 once written (the ICD zeroes the word before submitting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    pub result: i32,
}

impl Reply {
    pub const SIZE: usize = 8;
    pub const WRITTEN: u32 = 1;

    pub fn encode(&self) -> [u8; Reply::SIZE] {
        let mut b = [0u8; Reply::SIZE];
        b[..4].copy_from_slice(&self.result.to_le_bytes());
        b[4..].copy_from_slice(&Reply::WRITTEN.to_le_bytes());
        b
    }

    /// `None` until the device has written the reply.
    pub fn decode(b: &[u8; Reply::SIZE]) -> Option<Reply> {
        let written = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        (written == Reply::WRITTEN).then(|| Reply {
            result: i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        })
    }
}

/// Descriptor types, numbered as `VkDescriptorType`.
pub mod descriptor_type {
    pub const SAMPLER: u32 = 0;
    pub const COMBINED_IMAGE_SAMPLER: u32 = 1;
    pub const SAMPLED_IMAGE: u32 = 2;
    pub const STORAGE_IMAGE: u32 = 3;
    pub const UNIFORM_TEXEL_BUFFER: u32 = 4;
    pub const STORAGE_TEXEL_BUFFER: u32 = 5;
    pub const UNIFORM_BUFFER: u32 = 6;
    pub const STORAGE_BUFFER: u32 = 7;
    pub const UNIFORM_BUFFER_DYNAMIC: u32 = 8;
    pub const STORAGE_BUFFER_DYNAMIC: u32 = 9;
    pub const INPUT_ATTACHMENT: u32 = 10;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescriptorSetLayoutBinding {
    pub binding: u32,
    /// A `VkDescriptorType` value ([`descriptor_type`]).
    pub descriptor_type: u32,
    pub count: u32,
    /// `VkShaderStageFlags`.
    pub stages: u32,
    /// `pImmutableSamplers` as sampler ids: empty, or `count` ids for a SAMPLER or
    /// COMBINED_IMAGE_SAMPLER binding (the device copies the samplers into the layout).
    pub immutable_samplers: Vec<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushConstantRange {
    pub stages: u32,
    pub offset: u32,
    pub size: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecializationMapEntry {
    pub constant_id: u32,
    pub offset: u32,
    pub size: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescriptorBufferInfo {
    pub buffer: u64,
    pub offset: u64,
    /// Bytes, or [`WHOLE_SIZE`].
    pub range: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BufferCopy {
    pub src_offset: u64,
    pub dst_offset: u64,
    pub size: u64,
}

macro_rules! commands {
    ($(
        $(#[$doc:meta])*
        $name:ident = $opcode:literal { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }
    )*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
            pub struct $name { $($(#[$fdoc])* pub $field: $ty),* }
        )*

        /// Every command of the stream, by opcode.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Command { $($name($name)),* }

        /// Every command's name and opcode, in definition order.
        pub const COMMAND_NAMES: &[(&str, u32)] = &[$((stringify!($name), $opcode)),*];

        /// Opcodes, as they appear in frame headers.
        pub mod opcode {
            $(#[allow(non_upper_case_globals)] pub const $name: u32 = $opcode;)*
        }

        impl Command {
            pub fn opcode(&self) -> u32 {
                match self { $(Command::$name(_) => $opcode),* }
            }

            /// The command's name, for logs and errors.
            pub fn name(&self) -> &'static str {
                match self { $(Command::$name(_) => stringify!($name)),* }
            }

            fn encode_payload(&self, out: Vec<u8>) -> Result<Vec<u8>, postcard::Error> {
                match self { $(Command::$name(c) => postcard::to_extend(c, out)),* }
            }

            fn decode_payload(opcode: u32, payload: &[u8]) -> Result<Command, StreamError> {
                match opcode {
                    $($opcode => {
                        let (c, rest) = postcard::take_from_bytes::<$name>(payload)
                            .map_err(|e| StreamError::Payload { opcode, name: stringify!($name), reason: e.to_string() })?;
                        if !rest.is_empty() {
                            return Err(StreamError::TrailingBytes { opcode, extra: rest.len() });
                        }
                        Ok(Command::$name(c))
                    })*
                    _ => Err(StreamError::UnknownOpcode(opcode)),
                }
            }
        }

        $(impl From<$name> for Command {
            fn from(c: $name) -> Command { Command::$name(c) }
        })*
    };
}

commands! {
    // ---- Objects (top-level stream only) ---------------------------------------------------

    /// vkCreateBuffer: a buffer of `size` bytes, no memory bound yet.
    CreateBuffer = 0x0100 { id: u64, size: u64, usage: u32 }
    DestroyBuffer = 0x0101 { id: u64 }
    /// vkBindBufferMemory: the buffer's bytes are `memory.offset ..` of a guest-RAM resource.
    BindBufferMemory = 0x0102 { buffer: u64, memory: GuestLocation }

    /// vkCreateShaderModule: SPIR-V words.
    CreateShaderModule = 0x0200 { id: u64, code: Vec<u32> }
    DestroyShaderModule = 0x0201 { id: u64 }

    CreateDescriptorSetLayout = 0x0300 { id: u64, bindings: Vec<DescriptorSetLayoutBinding> }
    DestroyDescriptorSetLayout = 0x0301 { id: u64 }
    /// vkCreatePipelineLayout: set layouts in set-number order.
    CreatePipelineLayout = 0x0302 { id: u64, set_layouts: Vec<u64>, push_constant_ranges: Vec<PushConstantRange> }
    DestroyPipelineLayout = 0x0303 { id: u64 }
    /// vkAllocateDescriptorSets (one set).
    CreateDescriptorSet = 0x0304 { id: u64, layout: u64 }
    /// vkFreeDescriptorSets / pool reset or destroy (one set).
    DestroyDescriptorSet = 0x0305 { id: u64 }
    /// One VkWriteDescriptorSet of buffer descriptors: consecutive array elements from
    /// `array_element`, rolling over into following bindings as Vulkan specifies.
    WriteDescriptorSet = 0x0306 { set: u64, binding: u32, array_element: u32, descriptor_type: u32, buffers: Vec<DescriptorBufferInfo> }
    /// One VkWriteDescriptorSet of SAMPLER, COMBINED_IMAGE_SAMPLER, SAMPLED_IMAGE,
    /// STORAGE_IMAGE or INPUT_ATTACHMENT descriptors (rolling over as [`WriteDescriptorSet`]).
    WriteDescriptorImages = 0x0308 { set: u64, binding: u32, array_element: u32, descriptor_type: u32, images: Vec<DescriptorImageInfo> }
    /// One VkWriteDescriptorSet of UNIFORM_TEXEL_BUFFER or STORAGE_TEXEL_BUFFER descriptors:
    /// buffer-view ids.
    WriteDescriptorTexelBuffers = 0x0309 { set: u64, binding: u32, array_element: u32, descriptor_type: u32, views: Vec<u64> }
    /// One VkCopyDescriptorSet.
    CopyDescriptorSet = 0x0307 { src_set: u64, src_binding: u32, src_array_element: u32, dst_set: u64, dst_binding: u32, dst_array_element: u32, count: u32 }

    /// vkCreateComputePipelines (one pipeline). The device compiles it and writes a [`Reply`]
    /// (`VK_SUCCESS`, or the error the application gets) at `reply`.
    CreateComputePipeline = 0x0400 {
        id: u64, layout: u64, module: u64, entry: String,
        spec_map: Vec<SpecializationMapEntry>, spec_data: Vec<u8>,
        reply: GuestLocation,
    }
    DestroyPipeline = 0x0401 { id: u64 }
    /// vkCreateGraphicsPipelines (one pipeline); replies as [`CreateComputePipeline`] does.
    CreateGraphicsPipeline = 0x0402 { id: u64, info: GraphicsPipelineInfo, reply: GuestLocation }

    /// vkCreateImage: no memory bound yet. Its memory size and alignment are
    /// `protocol::image::ImageLayout`'s, which the ICD reports without asking.
    CreateImage = 0x0600 { id: u64, info: ImageCreateInfo }
    DestroyImage = 0x0601 { id: u64 }
    /// vkBindImageMemory.
    BindImageMemory = 0x0602 { image: u64, memory: GuestLocation }
    CreateImageView = 0x0603 { id: u64, info: ImageViewCreateInfo }
    DestroyImageView = 0x0604 { id: u64 }

    /// vkCreateSampler.
    CreateSampler = 0x0800 { id: u64, info: SamplerCreateInfo }
    DestroySampler = 0x0801 { id: u64 }
    /// vkCreateBufferView: `range` bytes (or [`WHOLE_SIZE`]) of `buffer` from `offset`, read
    /// as texels of `format` (a `VkFormat`).
    CreateBufferView = 0x0802 { id: u64, buffer: u64, format: u32, offset: u64, range: u64 }
    DestroyBufferView = 0x0803 { id: u64 }

    /// vkCreateRenderPass / vkCreateRenderPass2. Subpass dependencies do not travel: the
    /// device runs a queue's commands in order.
    CreateRenderPass = 0x0700 { id: u64, attachments: Vec<AttachmentDescription>, subpasses: Vec<SubpassDescription> }
    DestroyRenderPass = 0x0701 { id: u64 }
    /// vkCreateFramebuffer: `attachments` are image-view ids (imageless framebuffers are not
    /// offered).
    CreateFramebuffer = 0x0702 { id: u64, render_pass: u64, attachments: Vec<u64>, width: u32, height: u32, layers: u32 }
    DestroyFramebuffer = 0x0703 { id: u64 }

    /// vkQueueSubmit (one batch): wait for each of `waits` (timeline semaphores the host may
    /// still signal), run the recorded command buffers in order, then write each `signals`
    /// value (a `u64`, little-endian) — timeline-semaphore payloads and similar completion
    /// words the ICD polls.
    Submit = 0x0500 { waits: Vec<TimelineWait>, command_buffers: Vec<GuestRange>, signals: Vec<SignalWrite> }

    // ---- Recorded commands (command buffers only) -------------------------------------------

    /// vkCmdBindPipeline (compute bind point).
    CmdBindComputePipeline = 0x1000 { pipeline: u64 }
    /// vkCmdBindDescriptorSets (compute bind point).
    CmdBindDescriptorSets = 0x1001 { layout: u64, first_set: u32, sets: Vec<u64>, dynamic_offsets: Vec<u32> }
    CmdPushConstants = 0x1002 { layout: u64, stages: u32, offset: u32, data: Vec<u8> }
    /// vkCmdDispatch and vkCmdDispatchBase.
    CmdDispatch = 0x1003 { base: [u32; 3], groups: [u32; 3] }
    CmdDispatchIndirect = 0x1004 { buffer: u64, offset: u64 }
    CmdCopyBuffer = 0x1005 { src: u64, dst: u64, regions: Vec<BufferCopy> }
    /// `size` may be [`WHOLE_SIZE`].
    CmdFillBuffer = 0x1006 { dst: u64, offset: u64, size: u64, data: u32 }
    CmdUpdateBuffer = 0x1007 { dst: u64, offset: u64, data: Vec<u8> }
    /// vkCmdWriteTimestamp: a `u64` of nanoseconds (timestampPeriod 1) at `dst`, followed by
    /// a `u64` availability word set to 1.
    CmdWriteTimestamp = 0x1008 { dst: GuestLocation }
    /// Writes a `u32` into guest memory when reached: vkCmdSetEvent / vkCmdResetEvent (event
    /// state lives in guest RAM) and query resets.
    CmdWriteGuestU32 = 0x1009 { dst: GuestLocation, value: u32 }
    /// Waits until the `u32` at `src` equals `value` — vkCmdWaitEvents on an event that may be
    /// set later (by the host writing guest memory, or not yet). The device bounds the wait
    /// ([`MAX_GUEST_WAIT_MS`]); past it the submission fails (the app sees DEVICE_LOST).
    CmdWaitGuestU32 = 0x100a { src: GuestLocation, value: u32 }

    // ---- Graphics (command buffers only) ----------------------------------------------------

    /// vkCmdBindPipeline (graphics bind point).
    CmdBindGraphicsPipeline = 0x1100 { pipeline: u64 }
    /// vkCmdBindDescriptorSets (graphics bind point).
    CmdBindGraphicsDescriptorSets = 0x1101 { layout: u64, first_set: u32, sets: Vec<u64>, dynamic_offsets: Vec<u32> }
    /// vkCmdBindVertexBuffers / vkCmdBindVertexBuffers2: `sizes` and `strides` are empty or
    /// one per buffer (sizes may be [`WHOLE_SIZE`]); a buffer id of 0 unbinds (nullDescriptor
    /// is not offered, so the device refuses it).
    CmdBindVertexBuffers = 0x1102 { first_binding: u32, buffers: Vec<u64>, offsets: Vec<u64>, sizes: Vec<u64>, strides: Vec<u64> }
    /// vkCmdBindIndexBuffer: `index_type` is a `VkIndexType`.
    CmdBindIndexBuffer = 0x1103 { buffer: u64, offset: u64, index_type: u32 }
    CmdDraw = 0x1104 { vertex_count: u32, instance_count: u32, first_vertex: u32, first_instance: u32 }
    CmdDrawIndexed = 0x1105 { index_count: u32, instance_count: u32, first_index: u32, vertex_offset: i32, first_instance: u32 }
    /// vkCmdDrawIndirect / vkCmdDrawIndexedIndirect.
    CmdDrawIndirect = 0x1106 { indexed: bool, buffer: u64, offset: u64, draw_count: u32, stride: u32 }
    /// vkCmdDrawIndirectCount / vkCmdDrawIndexedIndirectCount.
    CmdDrawIndirectCount = 0x1107 { indexed: bool, buffer: u64, offset: u64, count_buffer: u64, count_offset: u64, max_draw_count: u32, stride: u32 }
    /// vkCmdBeginRenderPass: one clear value per attachment (fewer when the later ones do not
    /// clear).
    CmdBeginRenderPass = 0x1110 { render_pass: u64, framebuffer: u64, render_area: Rect2D, clear_values: Vec<ClearValue> }
    CmdNextSubpass = 0x1111 {}
    CmdEndRenderPass = 0x1112 {}
    /// vkCmdBeginRendering: `flags` are `VkRenderingFlags` (suspending/resuming only change
    /// when loads and stores happen, which the device handles).
    CmdBeginRendering = 0x1113 {
        flags: u32, render_area: Rect2D, layer_count: u32, view_mask: u32,
        color_attachments: Vec<RenderingAttachment>,
        depth_attachment: Option<RenderingAttachment>,
        stencil_attachment: Option<RenderingAttachment>,
    }
    CmdEndRendering = 0x1114 {}
    /// Any vkCmdSet* of the core dynamic states.
    CmdSetDynamicState = 0x1120 { state: DynamicState }
    /// vkCmdClearColorImage.
    CmdClearColorImage = 0x1130 { image: u64, color: ClearValue, ranges: Vec<ImageSubresourceRange> }
    /// vkCmdClearDepthStencilImage.
    CmdClearDepthStencilImage = 0x1131 { image: u64, depth: f32, stencil: u32, ranges: Vec<ImageSubresourceRange> }
    /// vkCmdClearAttachments (inside a render pass or dynamic rendering).
    CmdClearAttachments = 0x1132 { attachments: Vec<ClearAttachment>, rects: Vec<ClearRect> }
    CmdCopyBufferToImage = 0x1133 { buffer: u64, image: u64, regions: Vec<BufferImageCopy> }
    CmdCopyImageToBuffer = 0x1134 { image: u64, buffer: u64, regions: Vec<BufferImageCopy> }
    CmdCopyImage = 0x1135 { src: u64, dst: u64, regions: Vec<ImageCopy> }
    /// vkCmdBlitImage; `filter` is a `VkFilter`.
    CmdBlitImage = 0x1136 { src: u64, dst: u64, regions: Vec<ImageBlit>, filter: u32 }
}

/// Longest a [`CmdWaitGuestU32`] may wait, in milliseconds. While it waits, the device runs
/// nothing else for this guest (one queue, completed in order).
pub const MAX_GUEST_WAIT_MS: u64 = 10_000;

/// Wait until the little-endian `u64` at `src` is at least `value` (a timeline semaphore's
/// payload, which the host side may still raise with vkSignalSemaphore), for at most
/// [`MAX_GUEST_WAIT_MS`]; past that the submission fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineWait {
    pub src: GuestLocation,
    pub value: u64,
}

/// A `u64` the device writes into guest memory when a submission is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalWrite {
    pub dst: GuestLocation,
    pub value: u64,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum StreamError {
    #[error("truncated frame header at byte {at} ({left} bytes left)")]
    TruncatedHeader { at: usize, left: usize },
    #[error("frame at byte {at} says {len} payload bytes but only {left} are left")]
    TruncatedPayload { at: usize, len: u32, left: usize },
    #[error("unknown opcode {0:#06x}")]
    UnknownOpcode(u32),
    #[error("malformed {name} (opcode {opcode:#06x}): {reason}")]
    Payload {
        opcode: u32,
        name: &'static str,
        reason: String,
    },
    #[error("opcode {opcode:#06x}: {extra} bytes after the payload")]
    TrailingBytes { opcode: u32, extra: usize },
    #[error("command does not fit in a frame: {0}")]
    Encode(String),
}

/// Appends one frame for `cmd` to `out`.
pub fn encode_command(cmd: &Command, out: &mut Vec<u8>) -> Result<(), StreamError> {
    let start = out.len();
    out.extend_from_slice(&cmd.opcode().to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let taken = std::mem::take(out);
    let mut filled = cmd
        .encode_payload(taken)
        .map_err(|e| StreamError::Encode(e.to_string()))?;
    let len = filled.len() - start - FRAME_HEADER_SIZE;
    let len = u32::try_from(len).map_err(|_| StreamError::Encode(format!("{len} bytes")))?;
    filled[start + 4..start + 8].copy_from_slice(&len.to_le_bytes());
    *out = filled;
    Ok(())
}

/// Iterates over the frames of `bytes`, decoding each; stops at the first error.
pub fn decode_stream(bytes: &[u8]) -> StreamDecoder<'_> {
    StreamDecoder {
        bytes,
        at: 0,
        failed: false,
    }
}

pub struct StreamDecoder<'a> {
    bytes: &'a [u8],
    at: usize,
    failed: bool,
}

impl Iterator for StreamDecoder<'_> {
    type Item = Result<Command, StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.bytes.len() {
            return None;
        }
        let rest = &self.bytes[self.at..];
        let result = (|| {
            let header = rest
                .get(..FRAME_HEADER_SIZE)
                .ok_or(StreamError::TruncatedHeader {
                    at: self.at,
                    left: rest.len(),
                })?;
            let opcode = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
            let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            let payload = usize::try_from(len)
                .ok()
                .and_then(|l| rest[FRAME_HEADER_SIZE..].get(..l))
                .ok_or(StreamError::TruncatedPayload {
                    at: self.at,
                    len,
                    left: rest.len() - FRAME_HEADER_SIZE,
                })?;
            let cmd = Command::decode_payload(opcode, payload)?;
            Ok((cmd, FRAME_HEADER_SIZE + payload.len()))
        })();
        match result {
            Ok((cmd, used)) => {
                self.at += used;
                Some(Ok(cmd))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Decodes a whole stream into owned commands, or the first error.
pub fn decode_all(bytes: &[u8]) -> Result<Vec<Command>, StreamError> {
    decode_stream(bytes).collect()
}

/// Checks that every frame of `bytes` decodes, keeping nothing: a consumer that then runs the
/// stream command by command ([`decode_stream`]) refuses a malformed stream before executing
/// any of it, without ever holding the whole decoded form (which can be several times larger
/// than the stream).
pub fn validate_stream(bytes: &[u8]) -> Result<usize, StreamError> {
    let mut frames = 0;
    for cmd in decode_stream(bytes) {
        cmd?;
        frames += 1;
    }
    Ok(frames)
}

/// Encodes commands into one stream.
pub fn encode_all(cmds: &[Command]) -> Result<Vec<u8>, StreamError> {
    let mut out = Vec::new();
    for c in cmds {
        encode_command(c, &mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn graphics_pipeline() -> GraphicsPipelineInfo {
        GraphicsPipelineInfo {
            flags: 0,
            layout: 4,
            stages: vec![ShaderStage {
                stage: 1,
                module: 2,
                entry: "main".into(),
                spec_map: vec![],
                spec_data: vec![],
            }],
            vertex_bindings: vec![VertexBinding {
                binding: 0,
                stride: 24,
                input_rate: 0,
            }],
            vertex_attributes: vec![VertexAttribute {
                location: 1,
                binding: 0,
                format: 106,
                offset: 12,
            }],
            topology: 3,
            primitive_restart_enable: false,
            viewport_count: 1,
            viewports: vec![Viewport {
                x: 0.0,
                y: 0.0,
                width: 640.0,
                height: -480.0,
                min_depth: 0.0,
                max_depth: 1.0,
            }],
            scissor_count: 1,
            scissors: vec![],
            rasterization: RasterizationState {
                depth_clamp_enable: false,
                rasterizer_discard_enable: false,
                polygon_mode: 0,
                cull_mode: 2,
                front_face: 0,
                depth_bias_enable: true,
                depth_bias_constant_factor: 1.5,
                depth_bias_clamp: 0.0,
                depth_bias_slope_factor: -2.0,
                line_width: 1.0,
            },
            multisample: None,
            depth_stencil: None,
            color_blend: Some(ColorBlendState {
                logic_op_enable: false,
                logic_op: 0,
                attachments: vec![],
                blend_constants: [0.25; 4],
            }),
            dynamic_states: vec![0, 1],
            targets: RenderTargets::Dynamic {
                view_mask: 0,
                color_formats: vec![37, 0],
                depth_format: 126,
                stencil_format: 0,
            },
        }
    }

    fn samples() -> Vec<Command> {
        vec![
            CreateGraphicsPipeline {
                id: 10,
                info: graphics_pipeline(),
                reply: GuestLocation {
                    resource: 1,
                    offset: 64,
                },
            }
            .into(),
            CmdSetDynamicState {
                state: DynamicState::StencilOp {
                    faces: 3,
                    fail_op: 1,
                    pass_op: 2,
                    depth_fail_op: 0,
                    compare_op: 7,
                },
            }
            .into(),
            CmdBeginRendering {
                flags: 0,
                render_area: Rect2D {
                    offset: [0, 0],
                    extent: [64, 32],
                },
                layer_count: 1,
                view_mask: 0,
                color_attachments: vec![RenderingAttachment {
                    view: 5,
                    resolve_mode: 0,
                    resolve_view: 0,
                    load_op: 1,
                    store_op: 0,
                    clear_value: [0x3f80_0000, 0, 0, 0x3f80_0000],
                }],
                depth_attachment: None,
                stencil_attachment: None,
            }
            .into(),
            CmdDrawIndexed {
                index_count: 36,
                instance_count: 2,
                first_index: 0,
                vertex_offset: -4,
                first_instance: 1,
            }
            .into(),
            CmdEndRendering {}.into(),
            CreateBuffer {
                id: 1,
                size: 1 << 20,
                usage: 0x20,
            }
            .into(),
            BindBufferMemory {
                buffer: 1,
                memory: GuestLocation {
                    resource: 3,
                    offset: 4096,
                },
            }
            .into(),
            CreateShaderModule {
                id: 2,
                code: vec![0x0723_0203, 0x0001_0000, 7, 9, 0],
            }
            .into(),
            CreateComputePipeline {
                id: 9,
                layout: 4,
                module: 2,
                entry: "main".into(),
                spec_map: vec![SpecializationMapEntry {
                    constant_id: 0,
                    offset: 0,
                    size: 4,
                }],
                spec_data: vec![1, 0, 0, 0],
                reply: GuestLocation {
                    resource: 5,
                    offset: 64,
                },
            }
            .into(),
            WriteDescriptorSet {
                set: 7,
                binding: 0,
                array_element: 0,
                descriptor_type: descriptor_type::STORAGE_BUFFER,
                buffers: vec![DescriptorBufferInfo {
                    buffer: 1,
                    offset: 0,
                    range: WHOLE_SIZE,
                }],
            }
            .into(),
            CmdDispatch {
                base: [0, 0, 0],
                groups: [65536, 1, 1],
            }
            .into(),
            CreateSampler {
                id: 11,
                info: SamplerCreateInfo {
                    flags: 0,
                    mag_filter: 1,
                    min_filter: 0,
                    mipmap_mode: 1,
                    address_modes: [0, 2, 3],
                    mip_lod_bias: -1.5,
                    anisotropy_enable: false,
                    max_anisotropy: 1.0,
                    compare_enable: true,
                    compare_op: 3,
                    min_lod: 0.0,
                    max_lod: 1000.0,
                    border_color: 4,
                    unnormalized_coordinates: false,
                },
            }
            .into(),
            CreateBufferView {
                id: 12,
                buffer: 1,
                format: 37,
                offset: 256,
                range: WHOLE_SIZE,
            }
            .into(),
            CreateDescriptorSetLayout {
                id: 13,
                bindings: vec![DescriptorSetLayoutBinding {
                    binding: 2,
                    descriptor_type: descriptor_type::COMBINED_IMAGE_SAMPLER,
                    count: 2,
                    stages: 0x10,
                    immutable_samplers: vec![11, 11],
                }],
            }
            .into(),
            WriteDescriptorImages {
                set: 7,
                binding: 1,
                array_element: 3,
                descriptor_type: descriptor_type::SAMPLED_IMAGE,
                images: vec![DescriptorImageInfo {
                    sampler: 0,
                    image_view: 5,
                    image_layout: 5,
                }],
            }
            .into(),
            WriteDescriptorTexelBuffers {
                set: 7,
                binding: 4,
                array_element: 0,
                descriptor_type: descriptor_type::STORAGE_TEXEL_BUFFER,
                views: vec![12, 0],
            }
            .into(),
            CmdPushConstants {
                layout: 4,
                stages: 0x20,
                offset: 0,
                data: vec![0; 128],
            }
            .into(),
            Submit {
                waits: vec![TimelineWait {
                    src: GuestLocation {
                        resource: 5,
                        offset: 8,
                    },
                    value: 2,
                }],
                command_buffers: vec![GuestRange {
                    resource: 3,
                    offset: 0,
                    len: 100,
                }],
                signals: vec![SignalWrite {
                    dst: GuestLocation {
                        resource: 5,
                        offset: 0,
                    },
                    value: 3,
                }],
            }
            .into(),
        ]
    }

    #[test]
    fn stream_round_trips() {
        let cmds = samples();
        let bytes = encode_all(&cmds).unwrap();
        assert_eq!(decode_all(&bytes).unwrap(), cmds);
    }

    #[test]
    fn validate_counts_frames_and_refuses_a_stream_with_a_bad_last_frame() {
        let cmds = samples();
        let mut bytes = encode_all(&cmds).unwrap();
        assert_eq!(validate_stream(&bytes).unwrap(), cmds.len());
        // An unknown opcode at the very end: the good frames before it do not make it valid.
        bytes.extend(0xdead_u32.to_le_bytes());
        bytes.extend(0u32.to_le_bytes());
        assert!(validate_stream(&bytes).is_err());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = encode_all(&samples()).unwrap();
        let whole = decode_all(&bytes).unwrap().len();
        for cut in 0..bytes.len() {
            // A cut on a frame boundary decodes a prefix; anywhere else it is an error.
            match decode_all(&bytes[..cut]) {
                Ok(prefix) => assert!(prefix.len() < whole),
                Err(_) => {}
            }
        }
    }

    #[test]
    fn unknown_opcode_and_trailing_bytes_are_named() {
        let mut bytes = vec![];
        bytes.extend(0xdeadu32.to_le_bytes());
        bytes.extend(0u32.to_le_bytes());
        assert_eq!(decode_all(&bytes), Err(StreamError::UnknownOpcode(0xdead)));

        let mut frame = encode_all(&[DestroyBuffer { id: 5 }.into()]).unwrap();
        frame.push(0);
        frame[4] += 1;
        assert_eq!(
            decode_all(&frame),
            Err(StreamError::TrailingBytes {
                opcode: opcode::DestroyBuffer,
                extra: 1
            })
        );
    }

    #[test]
    fn huge_counts_do_not_allocate() {
        // CreateShaderModule with id 1 and a claimed count of 2^32-1 words, 3 bytes present.
        let payload = [1u8, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3];
        let mut bytes = vec![];
        bytes.extend(opcode::CreateShaderModule.to_le_bytes());
        bytes.extend((payload.len() as u32).to_le_bytes());
        bytes.extend(payload);
        assert!(matches!(
            decode_all(&bytes),
            Err(StreamError::Payload { .. })
        ));
        // A frame length beyond the bytes present.
        let mut bytes = vec![];
        bytes.extend(opcode::DestroyBuffer.to_le_bytes());
        bytes.extend(u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_all(&bytes),
            Err(StreamError::TruncatedPayload { .. })
        ));
    }

    #[test]
    fn reply_is_unwritten_until_marked() {
        assert_eq!(Reply::decode(&[0; 8]), None);
        let r = Reply { result: -3 };
        assert_eq!(Reply::decode(&r.encode()), Some(r));
    }
}
