//! Mostly-valid executor commands for the `vk_executor` target: real opcodes, ids from a
//! small set (so that commands name objects created earlier), formats the device supports,
//! small extents, and offsets/sizes near the edges of the fake guest resources
//! ([`crate::vk`]). Now and then a field takes an arbitrary value instead.
//!
//! [`top_level`] draws commands of the top-level stream (object creation and destruction),
//! [`recorded`] commands of a command buffer (compute, transfers, graphics 0x1100–0x1135).

use arbitrary::Unstructured;
use protocol::format::Format;
use protocol::graphics::*;
use protocol::sampler::{DescriptorImageInfo, SamplerCreateInfo};
use protocol::stream::*;

use crate::arb_serde::arbitrary_value;
use crate::vk::{COMMANDS, COMMANDS_SIZE, MEMORY, MEMORY_SIZE, ODD, REPLIES, REPLIES_SIZE};

type R<T> = arbitrary::Result<T>;

/// Any value of a serde wire type (rarely used: mostly invalid).
fn any<T: serde::de::DeserializeOwned>(u: &mut Unstructured<'_>) -> R<T> {
    arbitrary_value(u).map_err(|_| arbitrary::Error::IncorrectFormat)
}

/// One time in `n`.
fn rarely(u: &mut Unstructured<'_>, n: u8) -> R<bool> {
    Ok(u.int_in_range(0..=n.saturating_sub(1))? == 0)
}

/// An object id: mostly 1..=4, sometimes 0 or anything.
pub fn id(u: &mut Unstructured<'_>) -> R<u64> {
    Ok(match u.int_in_range(0u8..=15)? {
        0 => 0,
        1 => u.arbitrary()?,
        n => u64::from(n % 4 + 1),
    })
}

fn ids(u: &mut Unstructured<'_>, max: u8) -> R<Vec<u64>> {
    let n = u.int_in_range(0..=max)?;
    (0..n).map(|_| id(u)).collect()
}

/// A small count or index, with the edges now and then.
fn small(u: &mut Unstructured<'_>) -> R<u32> {
    Ok(match u.int_in_range(0u8..=19)? {
        0 => u32::MAX,
        1 => u32::MAX / 2 + 1,
        2 => u.arbitrary()?,
        n => u32::from(n % 5),
    })
}

/// A byte size or offset: page-ish sizes, the resources' edges, whole-size and overflows.
fn size(u: &mut Unstructured<'_>) -> R<u64> {
    const SIZES: [u64; 14] = [
        0,
        1,
        4,
        16,
        64,
        256,
        1024,
        4096,
        REPLIES_SIZE as u64,
        COMMANDS_SIZE as u64,
        MEMORY_SIZE as u64,
        MEMORY_SIZE as u64 - 4,
        WHOLE_SIZE,
        u64::MAX - 3,
    ];
    Ok(match u.int_in_range(0u8..=19)? {
        0 => u.arbitrary()?,
        1 => u64::from(u.arbitrary::<u16>()?),
        n => SIZES[usize::from(n) % SIZES.len()],
    })
}

/// A guest location: a known resource (or none), at an edge-ish offset.
fn location(u: &mut Unstructured<'_>) -> R<GuestLocation> {
    let resource =
        [MEMORY, MEMORY, MEMORY, COMMANDS, REPLIES, REPLIES, ODD, 9][u.choose_index(8)?];
    let offset = match u.int_in_range(0u8..=3)? {
        0 => size(u)?,
        _ => u64::from(u.int_in_range(0u16..=255)?) * 64,
    };
    Ok(GuestLocation { resource, offset })
}

fn reply(u: &mut Unstructured<'_>) -> R<GuestLocation> {
    if rarely(u, 8)? {
        return location(u);
    }
    Ok(GuestLocation {
        resource: REPLIES,
        offset: u64::from(u.int_in_range(0u16..=511)?) * 8,
    })
}

/// A supported format, sometimes an unsupported number.
fn format(u: &mut Unstructured<'_>) -> R<u32> {
    if rarely(u, 12)? {
        return u.arbitrary();
    }
    Ok(Format::ALL[u.choose_index(Format::ALL.len())?].vk())
}

/// A small extent component (0 and huge now and then).
fn dim(u: &mut Unstructured<'_>) -> R<u32> {
    Ok(match u.int_in_range(0u8..=15)? {
        0 => 0,
        1 => 16384,
        2 => u.arbitrary()?,
        n => [1, 2, 3, 4, 7, 8, 16, 17][usize::from(n) % 8],
    })
}

fn offset_i32(u: &mut Unstructured<'_>) -> R<i32> {
    Ok(match u.int_in_range(0u8..=11)? {
        0 => -1,
        1 => i32::MAX,
        2 => i32::MIN,
        n => i32::from(n % 5),
    })
}

fn aspect(u: &mut Unstructured<'_>) -> R<u32> {
    Ok([1, 1, 1, 2, 4, 6, 0, 8][u.choose_index(8)?])
}

fn rect(u: &mut Unstructured<'_>) -> R<Rect2D> {
    Ok(Rect2D {
        offset: [offset_i32(u)?, offset_i32(u)?],
        extent: [dim(u)?, dim(u)?],
    })
}

fn clear_value(u: &mut Unstructured<'_>) -> R<ClearValue> {
    u.arbitrary()
}

fn subresource_range(u: &mut Unstructured<'_>) -> R<ImageSubresourceRange> {
    Ok(ImageSubresourceRange {
        aspect_mask: aspect(u)?,
        base_mip_level: small(u)?,
        level_count: if rarely(u, 3)? { u32::MAX } else { small(u)? },
        base_array_layer: small(u)?,
        layer_count: if rarely(u, 3)? { u32::MAX } else { small(u)? },
    })
}

fn subresource_layers(u: &mut Unstructured<'_>) -> R<ImageSubresourceLayers> {
    Ok(ImageSubresourceLayers {
        aspect_mask: aspect(u)?,
        mip_level: if rarely(u, 2)? { 0 } else { small(u)? },
        base_array_layer: if rarely(u, 2)? { 0 } else { small(u)? },
        layer_count: if rarely(u, 2)? { 1 } else { small(u)? },
    })
}

fn extent3(u: &mut Unstructured<'_>) -> R<[u32; 3]> {
    Ok([dim(u)?, dim(u)?, if rarely(u, 4)? { dim(u)? } else { 1 }])
}

fn offset3(u: &mut Unstructured<'_>) -> R<[i32; 3]> {
    Ok([
        offset_i32(u)?,
        offset_i32(u)?,
        if rarely(u, 4)? { offset_i32(u)? } else { 0 },
    ])
}

fn buffer_image_copy(u: &mut Unstructured<'_>) -> R<BufferImageCopy> {
    Ok(BufferImageCopy {
        buffer_offset: size(u)?,
        buffer_row_length: if rarely(u, 2)? { 0 } else { dim(u)? },
        buffer_image_height: if rarely(u, 2)? { 0 } else { dim(u)? },
        image_subresource: subresource_layers(u)?,
        image_offset: offset3(u)?,
        image_extent: extent3(u)?,
    })
}

fn vec_of<T>(
    u: &mut Unstructured<'_>,
    max: u8,
    mut f: impl FnMut(&mut Unstructured<'_>) -> R<T>,
) -> R<Vec<T>> {
    let n = u.int_in_range(0..=max)?;
    (0..n).map(|_| f(u)).collect()
}

fn image_info(u: &mut Unstructured<'_>) -> R<ImageCreateInfo> {
    if rarely(u, 16)? {
        return any(u);
    }
    let image_type = [1, 1, 1, 0, 2][u.choose_index(5)?];
    Ok(ImageCreateInfo {
        flags: [0, 0, 0x10, 0x20][u.choose_index(4)?],
        image_type,
        format: format(u)?,
        extent: [
            dim(u)?,
            if image_type == 0 { 1 } else { dim(u)? },
            if image_type == 2 { dim(u)? } else { 1 },
        ],
        mip_levels: [1, 1, 2, 3, 0, 32][u.choose_index(6)?],
        array_layers: [1, 1, 2, 6, 0][u.choose_index(5)?],
        samples: [1, 1, 1, 4, 3][u.choose_index(5)?],
        tiling: [0, 1, 2][u.choose_index(3)?],
        usage: if rarely(u, 8)? {
            u.arbitrary()?
        } else {
            0x1 | 0x2 | u32::from(u.arbitrary::<u8>()?) << 2
        },
    })
}

fn view_info(u: &mut Unstructured<'_>) -> R<ImageViewCreateInfo> {
    Ok(ImageViewCreateInfo {
        image: id(u)?,
        view_type: [1, 1, 1, 0, 2, 3, 4, 5, 6, 9][u.choose_index(10)?],
        format: format(u)?,
        components: if rarely(u, 6)? {
            u.arbitrary()?
        } else {
            [0; 4]
        },
        range: subresource_range(u)?,
    })
}

fn attachment_description(u: &mut Unstructured<'_>) -> R<AttachmentDescription> {
    Ok(AttachmentDescription {
        flags: 0,
        format: format(u)?,
        samples: [1, 1, 1, 4][u.choose_index(4)?],
        load_op: [0, 1, 2, 1_000_400_000, 7][u.choose_index(5)?],
        store_op: [0, 1, 1_000_301_000, 5][u.choose_index(4)?],
        stencil_load_op: [0, 1, 2][u.choose_index(3)?],
        stencil_store_op: [0, 1][u.choose_index(2)?],
    })
}

fn attachment_ref(u: &mut Unstructured<'_>) -> R<AttachmentReference> {
    Ok(AttachmentReference {
        attachment: if rarely(u, 6)? {
            ATTACHMENT_UNUSED
        } else {
            small(u)?
        },
        aspect_mask: aspect(u)?,
    })
}

fn subpass(u: &mut Unstructured<'_>) -> R<SubpassDescription> {
    Ok(SubpassDescription {
        flags: 0,
        input_attachments: vec_of(u, 1, attachment_ref)?,
        color_attachments: vec_of(u, 3, attachment_ref)?,
        resolve_attachments: vec_of(u, 1, attachment_ref)?,
        depth_stencil_attachment: if u.arbitrary()? {
            Some(attachment_ref(u)?)
        } else {
            None
        },
        preserve_attachments: vec_of(u, 1, small)?,
        view_mask: [0, 0, 0, 1, 3, 5, 0x100, u32::MAX][u.choose_index(8)?],
    })
}

fn rendering_attachment(u: &mut Unstructured<'_>) -> R<RenderingAttachment> {
    Ok(RenderingAttachment {
        view: id(u)?,
        resolve_mode: if rarely(u, 6)? { small(u)? } else { 0 },
        resolve_view: if rarely(u, 6)? { id(u)? } else { 0 },
        load_op: [0, 1, 2, 9][u.choose_index(4)?],
        store_op: [0, 1][u.choose_index(2)?],
        clear_value: clear_value(u)?,
    })
}

fn shader_stage(u: &mut Unstructured<'_>) -> R<ShaderStage> {
    Ok(ShaderStage {
        stage: [1, 0x10, 0x10, 0x20, 2, 0][u.choose_index(6)?],
        module: id(u)?,
        entry: if rarely(u, 8)? {
            any(u)?
        } else {
            "main".into()
        },
        spec_map: if rarely(u, 4)? { any(u)? } else { vec![] },
        spec_data: if rarely(u, 4)? { any(u)? } else { vec![] },
    })
}

fn pipeline_info(u: &mut Unstructured<'_>) -> R<GraphicsPipelineInfo> {
    // Most fields from the generic generator; the ones that name objects and the stage list
    // made to match the small id set.
    let mut info: GraphicsPipelineInfo = any(u)?;
    info.layout = id(u)?;
    info.stages = vec_of(u, 3, shader_stage)?;
    if !rarely(u, 4)? {
        info.targets = match u.arbitrary::<bool>()? {
            true => RenderTargets::RenderPass {
                render_pass: id(u)?,
                subpass: if rarely(u, 4)? { small(u)? } else { 0 },
            },
            false => RenderTargets::Dynamic {
                view_mask: if rarely(u, 4)? { small(u)? } else { 0 },
                color_formats: vec_of(u, 2, format)?,
                depth_format: if u.arbitrary()? { format(u)? } else { 0 },
                stencil_format: if rarely(u, 4)? { format(u)? } else { 0 },
            },
        };
    }
    if !rarely(u, 4)? {
        info.viewport_count = 1;
        info.scissor_count = 1;
        info.dynamic_states = vec![0, 1];
    }
    Ok(info)
}

fn spirv(u: &mut Unstructured<'_>) -> R<Vec<u32>> {
    // A SPIR-V header, then words: the front end runs at pipeline creation, not here.
    let mut code = vec![0x0723_0203, 0x0001_0300, 0, u.int_in_range(1..=64)?, 0];
    let n = u.int_in_range(0..=48)?;
    for _ in 0..n {
        code.push(u.arbitrary()?);
    }
    if rarely(u, 8)? {
        code.truncate(u.int_in_range(0..=code.len())?);
    }
    Ok(code)
}

/// A sampler state: mostly valid, with the edges (bias and LOD limits, unnormalized
/// coordinates, anisotropy, unknown enums) now and then.
fn sampler_info(u: &mut Unstructured<'_>) -> R<SamplerCreateInfo> {
    if rarely(u, 16)? {
        return any(u);
    }
    let lod = |u: &mut Unstructured<'_>| -> R<f32> {
        Ok([0.0, 0.25, 1.0, 15.0, 16.0, -15.0, 1000.0, f32::NAN][u.choose_index(8)?])
    };
    let filter = |u: &mut Unstructured<'_>| -> R<u32> { Ok([0, 1, 1, 2][u.choose_index(4)?]) };
    let mode = |u: &mut Unstructured<'_>| -> R<u32> { Ok(u.int_in_range(0..=5)?) };
    Ok(SamplerCreateInfo {
        flags: if rarely(u, 16)? { 1 } else { 0 },
        mag_filter: filter(u)?,
        min_filter: filter(u)?,
        mipmap_mode: u.int_in_range(0..=2)?,
        address_modes: [mode(u)?, mode(u)?, mode(u)?],
        mip_lod_bias: lod(u)?,
        anisotropy_enable: rarely(u, 8)?,
        max_anisotropy: 16.0,
        compare_enable: u.arbitrary()?,
        compare_op: u.int_in_range(0..=8)?,
        min_lod: lod(u)?,
        max_lod: lod(u)?,
        border_color: u.int_in_range(0..=6)?,
        unnormalized_coordinates: rarely(u, 4)?,
    })
}

/// One top-level command: objects are created, bound, written and destroyed.
pub fn top_level(u: &mut Unstructured<'_>) -> R<Command> {
    Ok(match u.int_in_range(0u8..=31)? {
        0 => CreateBuffer {
            id: id(u)?,
            size: size(u)?,
            usage: if rarely(u, 8)? { u.arbitrary()? } else { 0x1ff },
        }
        .into(),
        1 => DestroyBuffer { id: id(u)? }.into(),
        2 => BindBufferMemory {
            buffer: id(u)?,
            memory: location(u)?,
        }
        .into(),
        3 => CreateShaderModule {
            id: id(u)?,
            code: spirv(u)?,
        }
        .into(),
        4 => DestroyShaderModule { id: id(u)? }.into(),
        5 => CreateDescriptorSetLayout {
            id: id(u)?,
            bindings: vec_of(u, 3, |u| {
                let count = small(u)?;
                let descriptor_type = [6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 10, 11][u.choose_index(12)?];
                // Immutable samplers: none, one per element, or a wrong number.
                let immutable_samplers = match u.int_in_range(0u8..=3)? {
                    0 if count <= 4 => (0..count).map(|_| id(u)).collect::<R<Vec<_>>>()?,
                    1 => ids(u, 3)?,
                    _ => vec![],
                };
                Ok(DescriptorSetLayoutBinding {
                    binding: small(u)?,
                    descriptor_type,
                    count,
                    stages: [0x20, 0x1, 0x10, 0x11, 0x7fff_ffff][u.choose_index(5)?],
                    immutable_samplers,
                })
            })?,
        }
        .into(),
        6 => DestroyDescriptorSetLayout { id: id(u)? }.into(),
        7 => CreatePipelineLayout {
            id: id(u)?,
            set_layouts: ids(u, 3)?,
            push_constant_ranges: vec_of(u, 2, |u| {
                Ok(PushConstantRange {
                    stages: [0x20, 0x1, 0x10, 0x11][u.choose_index(4)?],
                    offset: small(u)?.wrapping_mul(4),
                    size: small(u)?.wrapping_mul(4),
                })
            })?,
        }
        .into(),
        8 => DestroyPipelineLayout { id: id(u)? }.into(),
        9 => CreateDescriptorSet {
            id: id(u)?,
            layout: id(u)?,
        }
        .into(),
        10 => DestroyDescriptorSet { id: id(u)? }.into(),
        11 => WriteDescriptorSet {
            set: id(u)?,
            binding: small(u)?,
            array_element: small(u)?,
            descriptor_type: [6, 7, 8, 9, 2][u.choose_index(5)?],
            buffers: vec_of(u, 3, |u| {
                Ok(DescriptorBufferInfo {
                    buffer: id(u)?,
                    offset: size(u)?,
                    range: size(u)?,
                })
            })?,
        }
        .into(),
        12 => CopyDescriptorSet {
            src_set: id(u)?,
            src_binding: small(u)?,
            src_array_element: small(u)?,
            dst_set: id(u)?,
            dst_binding: small(u)?,
            dst_array_element: small(u)?,
            count: small(u)?,
        }
        .into(),
        13 => CreateComputePipeline {
            id: id(u)?,
            layout: id(u)?,
            module: id(u)?,
            entry: "main".into(),
            spec_map: vec![],
            spec_data: vec![],
            reply: reply(u)?,
        }
        .into(),
        14 => DestroyPipeline { id: id(u)? }.into(),
        15 => CreateGraphicsPipeline {
            id: id(u)?,
            info: pipeline_info(u)?,
            reply: reply(u)?,
        }
        .into(),
        16 => CreateImage {
            id: id(u)?,
            info: image_info(u)?,
        }
        .into(),
        17 => DestroyImage { id: id(u)? }.into(),
        18 => BindImageMemory {
            image: id(u)?,
            memory: location(u)?,
        }
        .into(),
        19 => CreateImageView {
            id: id(u)?,
            info: view_info(u)?,
        }
        .into(),
        20 => DestroyImageView { id: id(u)? }.into(),
        21 => CreateRenderPass {
            id: id(u)?,
            attachments: vec_of(u, 3, attachment_description)?,
            subpasses: vec_of(u, 2, subpass)?,
        }
        .into(),
        22 => DestroyRenderPass { id: id(u)? }.into(),
        23 => CreateFramebuffer {
            id: id(u)?,
            render_pass: id(u)?,
            attachments: ids(u, 3)?,
            width: dim(u)?,
            height: dim(u)?,
            layers: [1, 1, 1, 2, 0][u.choose_index(5)?],
        }
        .into(),
        24 => DestroyFramebuffer { id: id(u)? }.into(),
        25 => CreateSampler {
            id: id(u)?,
            info: sampler_info(u)?,
        }
        .into(),
        26 => DestroySampler { id: id(u)? }.into(),
        27 => CreateBufferView {
            id: id(u)?,
            buffer: id(u)?,
            format: format(u)?,
            offset: size(u)?,
            range: size(u)?,
        }
        .into(),
        28 => DestroyBufferView { id: id(u)? }.into(),
        29 => WriteDescriptorImages {
            set: id(u)?,
            binding: small(u)?,
            array_element: small(u)?,
            descriptor_type: [0, 1, 2, 3, 10, 4, 6][u.choose_index(7)?],
            images: vec_of(u, 3, |u| {
                Ok(DescriptorImageInfo {
                    sampler: id(u)?,
                    image_view: id(u)?,
                    image_layout: [0, 1, 5, 7][u.choose_index(4)?],
                })
            })?,
        }
        .into(),
        30 => WriteDescriptorTexelBuffers {
            set: id(u)?,
            binding: small(u)?,
            array_element: small(u)?,
            descriptor_type: [4, 5, 2, 7][u.choose_index(4)?],
            views: ids(u, 3)?,
        }
        .into(),
        // A submit of whatever lies in the command-buffer resource.
        _ => Submit {
            waits: vec![],
            command_buffers: vec_of(u, 2, |u| {
                Ok(GuestRange {
                    resource: if rarely(u, 6)? { MEMORY } else { COMMANDS },
                    offset: size(u)?,
                    len: size(u)?,
                })
            })?,
            signals: vec![],
        }
        .into(),
    })
}

/// One command of a command buffer.
pub fn recorded(u: &mut Unstructured<'_>) -> R<Command> {
    Ok(match u.int_in_range(0u8..=37)? {
        0 => CmdBindComputePipeline { pipeline: id(u)? }.into(),
        1 | 2 => {
            let (layout, first_set, sets, dynamic_offsets) =
                (id(u)?, small(u)?, ids(u, 3)?, vec_of(u, 2, small)?);
            if u.arbitrary()? {
                CmdBindDescriptorSets {
                    layout,
                    first_set,
                    sets,
                    dynamic_offsets,
                }
                .into()
            } else {
                CmdBindGraphicsDescriptorSets {
                    layout,
                    first_set,
                    sets,
                    dynamic_offsets,
                }
                .into()
            }
        }
        3 => CmdPushConstants {
            layout: id(u)?,
            stages: [0x20, 0x1, 0x10, 0x11][u.choose_index(4)?],
            offset: small(u)?.wrapping_mul(4),
            data: vec![0xab; usize::from(u.int_in_range(0u8..=20)?) * 4],
        }
        .into(),
        4 => CmdDispatch {
            base: [small(u)?, 0, 0],
            groups: [small(u)?, small(u)?, 1],
        }
        .into(),
        5 => CmdDispatchIndirect {
            buffer: id(u)?,
            offset: size(u)?,
        }
        .into(),
        6 => CmdCopyBuffer {
            src: id(u)?,
            dst: id(u)?,
            regions: vec_of(u, 3, |u| {
                Ok(BufferCopy {
                    src_offset: size(u)?,
                    dst_offset: size(u)?,
                    size: size(u)?,
                })
            })?,
        }
        .into(),
        7 => CmdFillBuffer {
            dst: id(u)?,
            offset: size(u)?,
            size: size(u)?,
            data: u.arbitrary()?,
        }
        .into(),
        8 => CmdUpdateBuffer {
            dst: id(u)?,
            offset: size(u)?,
            data: vec![
                0x5a;
                usize::from(u.int_in_range(0u8..=17)?) * 4 + usize::from(rarely(u, 8)?)
            ],
        }
        .into(),
        9 => CmdWriteTimestamp { dst: location(u)? }.into(),
        10 => CmdWriteGuestU32 {
            dst: location(u)?,
            value: small(u)?,
        }
        .into(),
        // Zeroed memory: a wait for 0 holds at once, another value times out (the target
        // shortens the bound).
        11 => CmdWaitGuestU32 {
            src: location(u)?,
            value: if rarely(u, 4)? { 1 } else { 0 },
        }
        .into(),
        12 => CmdBindGraphicsPipeline { pipeline: id(u)? }.into(),
        13 => {
            let n = u.int_in_range(0u8..=3)?;
            let per_buffer = |u: &mut Unstructured<'_>, f: fn(&mut Unstructured<'_>) -> R<u64>| {
                if rarely(u, 3)? {
                    Ok(vec![])
                } else {
                    (0..n + u8::from(rarely(u, 8)?))
                        .map(|_| f(u))
                        .collect::<R<Vec<_>>>()
                }
            };
            CmdBindVertexBuffers {
                first_binding: small(u)?,
                buffers: (0..n).map(|_| id(u)).collect::<R<_>>()?,
                offsets: (0..n).map(|_| size(u)).collect::<R<_>>()?,
                sizes: per_buffer(u, size)?,
                strides: per_buffer(u, |u| Ok(u64::from(small(u)?) * 4))?,
            }
            .into()
        }
        14 => CmdBindIndexBuffer {
            buffer: id(u)?,
            offset: size(u)?,
            index_type: [0, 1, 1_000_265_000, 5][u.choose_index(4)?],
        }
        .into(),
        15 | 16 => CmdDraw {
            vertex_count: small(u)?,
            instance_count: small(u)?,
            first_vertex: small(u)?,
            first_instance: small(u)?,
        }
        .into(),
        17 => CmdDrawIndexed {
            index_count: small(u)?,
            instance_count: small(u)?,
            first_index: small(u)?,
            vertex_offset: offset_i32(u)?,
            first_instance: small(u)?,
        }
        .into(),
        18 => CmdDrawIndirect {
            indexed: u.arbitrary()?,
            buffer: id(u)?,
            offset: size(u)?,
            draw_count: small(u)?,
            stride: small(u)?.wrapping_mul(4),
        }
        .into(),
        19 => CmdDrawIndirectCount {
            indexed: u.arbitrary()?,
            buffer: id(u)?,
            offset: size(u)?,
            count_buffer: id(u)?,
            count_offset: size(u)?,
            max_draw_count: small(u)?,
            stride: small(u)?.wrapping_mul(4),
        }
        .into(),
        20 | 21 => CmdBeginRenderPass {
            render_pass: id(u)?,
            framebuffer: id(u)?,
            render_area: rect(u)?,
            clear_values: vec_of(u, 3, clear_value)?,
        }
        .into(),
        22 => CmdNextSubpass {}.into(),
        23 => CmdEndRenderPass {}.into(),
        24 | 25 => CmdBeginRendering {
            flags: if rarely(u, 4)? { small(u)? } else { 0 },
            render_area: rect(u)?,
            layer_count: [1, 1, 1, 2, 0][u.choose_index(5)?],
            view_mask: if rarely(u, 4)? { small(u)? } else { 0 },
            color_attachments: vec_of(u, 2, rendering_attachment)?,
            depth_attachment: if rarely(u, 3)? {
                Some(rendering_attachment(u)?)
            } else {
                None
            },
            stencil_attachment: if rarely(u, 4)? {
                Some(rendering_attachment(u)?)
            } else {
                None
            },
        }
        .into(),
        26 => CmdEndRendering {}.into(),
        27 => CmdSetDynamicState { state: any(u)? }.into(),
        28 => CmdClearColorImage {
            image: id(u)?,
            color: clear_value(u)?,
            ranges: vec_of(u, 2, subresource_range)?,
        }
        .into(),
        29 => CmdClearDepthStencilImage {
            image: id(u)?,
            depth: [0.0, 1.0, 0.5, -1.0, f32::NAN, 2.0][u.choose_index(6)?],
            stencil: small(u)?,
            ranges: vec_of(u, 2, subresource_range)?,
        }
        .into(),
        30 => CmdClearAttachments {
            attachments: vec_of(u, 2, |u| {
                Ok(ClearAttachment {
                    aspect_mask: aspect(u)?,
                    color_attachment: small(u)?,
                    value: clear_value(u)?,
                })
            })?,
            rects: vec_of(u, 2, |u| {
                Ok(ClearRect {
                    rect: rect(u)?,
                    base_array_layer: small(u)?,
                    layer_count: small(u)?,
                })
            })?,
        }
        .into(),
        31 | 32 => CmdCopyBufferToImage {
            buffer: id(u)?,
            image: id(u)?,
            regions: vec_of(u, 2, buffer_image_copy)?,
        }
        .into(),
        33 => CmdCopyImageToBuffer {
            image: id(u)?,
            buffer: id(u)?,
            regions: vec_of(u, 2, buffer_image_copy)?,
        }
        .into(),
        34 => CmdCopyImage {
            src: id(u)?,
            dst: id(u)?,
            regions: vec_of(u, 2, |u| {
                Ok(ImageCopy {
                    src_subresource: subresource_layers(u)?,
                    src_offset: offset3(u)?,
                    dst_subresource: subresource_layers(u)?,
                    dst_offset: offset3(u)?,
                    extent: extent3(u)?,
                })
            })?,
        }
        .into(),
        35 => CmdBlitImage {
            src: id(u)?,
            dst: id(u)?,
            regions: vec_of(u, 2, |u| {
                Ok(ImageBlit {
                    src_subresource: subresource_layers(u)?,
                    src_offsets: [offset3(u)?, offset3(u)?],
                    dst_subresource: subresource_layers(u)?,
                    dst_offsets: [offset3(u)?, offset3(u)?],
                })
            })?,
            filter: u.int_in_range(0..=2)?,
        }
        .into(),
        // A top-level command where a recorded one belongs (refused).
        _ => top_level(u)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_commands_encode_and_decode_back() {
        let bytes: Vec<u8> = (1..=8192u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        let mut u = Unstructured::new(&bytes);
        let mut cmds = Vec::new();
        while let (Ok(a), Ok(b)) = (top_level(&mut u), recorded(&mut u)) {
            cmds.push(a);
            cmds.push(b);
        }
        assert!(cmds.len() > 20, "only {} commands", cmds.len());
        // Compared as bytes: NaN fields make the commands unequal to themselves.
        let stream = encode_all(&cmds).unwrap_or_else(|e| panic!("{e}"));
        let back = decode_all(&stream).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.len(), cmds.len());
        assert_eq!(encode_all(&back).ok(), Some(stream));
    }
}
