//! Writes the `vk_executor` seed corpus from the scenarios of the executor's tests
//! (vhost-device/src/vk/tests: compute, image transfers and clears, render passes, dynamic
//! rendering, graphics pipelines and draws):
//! `cargo run --manifest-path fuzz/Cargo.toml --example vk_seed_corpus -- SPV_DIR CORPUS_DIR`
//! where SPV_DIR holds `saxpy.spv`, `draw_color.vert.spv` and `draw_color.frag.spv`
//! (`scripts/fuzz --seed` compiles them). Seeds are named by content.
//!
//! Input layout (see fuzz_targets/vk_executor.rs): ops of `[tag, len u16 LE, bytes]`, tag 0 a
//! top-level stream, tag 1 a command buffer submitted by range.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A developer tool: fail loudly.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use protocol::format::Format;
use protocol::graphics::*;
use protocol::stream::*;

const MEMORY: u32 = 1;
const REPLIES: u32 = 3;

fn op(tag: u8, cmds: &[Command]) -> Vec<u8> {
    let bytes = encode_all(cmds).unwrap();
    let mut out = vec![tag];
    out.extend(u16::try_from(bytes.len()).unwrap().to_le_bytes());
    out.extend(bytes);
    out
}

fn top(cmds: &[Command]) -> Vec<u8> {
    op(0, cmds)
}

fn rec(cmds: &[Command]) -> Vec<u8> {
    op(1, cmds)
}

fn at(resource: u32, offset: u64) -> GuestLocation {
    GuestLocation { resource, offset }
}

fn words(path: &Path) -> Vec<u32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn write_seed(corpus: &Path, parts: &[Vec<u8>]) {
    let bytes: Vec<u8> = parts.concat();
    let dir = corpus.join("vk_executor");
    std::fs::create_dir_all(&dir).unwrap();
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    std::fs::write(dir.join(format!("seed-{:016x}", h.finish())), bytes).unwrap();
}

fn buffers() -> Vec<Command> {
    vec![
        CreateBuffer {
            id: 1,
            size: 4096,
            usage: 0x1ff,
        }
        .into(),
        BindBufferMemory {
            buffer: 1,
            memory: at(MEMORY, 0),
        }
        .into(),
        CreateBuffer {
            id: 2,
            size: 4096,
            usage: 0x1ff,
        }
        .into(),
        BindBufferMemory {
            buffer: 2,
            memory: at(MEMORY, 4096),
        }
        .into(),
    ]
}

fn compute(spv: &Path) -> Vec<Vec<u8>> {
    let binding = |b| DescriptorSetLayoutBinding {
        binding: b,
        descriptor_type: descriptor_type::STORAGE_BUFFER,
        count: 1,
        stages: 0x20,
        immutable_samplers: vec![],
    };
    let mut setup = buffers();
    setup.extend([
        CreateShaderModule {
            id: 1,
            code: words(&spv.join("saxpy.spv")),
        }
        .into(),
        CreateDescriptorSetLayout {
            id: 1,
            bindings: vec![binding(0), binding(1)],
        }
        .into(),
        CreatePipelineLayout {
            id: 1,
            set_layouts: vec![1],
            push_constant_ranges: vec![PushConstantRange {
                stages: 0x20,
                offset: 0,
                size: 8,
            }],
        }
        .into(),
        CreateDescriptorSet { id: 1, layout: 1 }.into(),
        WriteDescriptorSet {
            set: 1,
            binding: 0,
            array_element: 0,
            descriptor_type: descriptor_type::STORAGE_BUFFER,
            buffers: vec![
                DescriptorBufferInfo {
                    buffer: 1,
                    offset: 0,
                    range: WHOLE_SIZE,
                },
                DescriptorBufferInfo {
                    buffer: 2,
                    offset: 0,
                    range: 1024,
                },
            ],
        }
        .into(),
        CreateComputePipeline {
            id: 1,
            layout: 1,
            module: 1,
            entry: "main".into(),
            spec_map: vec![],
            spec_data: vec![],
            reply: at(REPLIES, 0),
        }
        .into(),
    ]);
    let work: Vec<Command> = vec![
        CmdBindComputePipeline { pipeline: 1 }.into(),
        CmdBindDescriptorSets {
            layout: 1,
            first_set: 0,
            sets: vec![1],
            dynamic_offsets: vec![],
        }
        .into(),
        CmdPushConstants {
            layout: 1,
            stages: 0x20,
            offset: 0,
            data: vec![0, 0, 0, 64, 0, 1, 0, 0],
        }
        .into(),
        CmdDispatch {
            base: [0; 3],
            groups: [1, 1, 1],
        }
        .into(),
        CmdCopyBuffer {
            src: 1,
            dst: 2,
            regions: vec![BufferCopy {
                src_offset: 0,
                dst_offset: 16,
                size: 32,
            }],
        }
        .into(),
        CmdFillBuffer {
            dst: 1,
            offset: 0,
            size: WHOLE_SIZE,
            data: 7,
        }
        .into(),
        CmdUpdateBuffer {
            dst: 2,
            offset: 4,
            data: vec![9; 12],
        }
        .into(),
        CmdWriteTimestamp {
            dst: at(REPLIES, 64),
        }
        .into(),
        CmdWriteGuestU32 {
            dst: at(REPLIES, 128),
            value: 1,
        }
        .into(),
        CmdWaitGuestU32 {
            src: at(REPLIES, 128),
            value: 1,
        }
        .into(),
    ];
    vec![
        top(&setup),
        rec(&work),
        top(&[
            DestroyPipeline { id: 1 }.into(),
            DestroyDescriptorSet { id: 1 }.into(),
        ]),
    ]
}

/// Samplers, a texel-buffer view, an image view and a layout with every descriptor type
/// (immutable samplers included); a set written with each type, copied, then everything
/// destroyed.
fn descriptors() -> Vec<Vec<u8>> {
    use protocol::sampler::{DescriptorImageInfo, SamplerCreateInfo};
    let sampler = SamplerCreateInfo {
        flags: 0,
        mag_filter: 1,
        min_filter: 1,
        mipmap_mode: 1,
        address_modes: [0, 2, 3],
        mip_lod_bias: 0.5,
        anisotropy_enable: false,
        max_anisotropy: 1.0,
        compare_enable: false,
        compare_op: 0,
        min_lod: 0.0,
        max_lod: 8.0,
        border_color: 4,
        unnormalized_coordinates: false,
    };
    let mut setup = buffers();
    // SAMPLED | STORAGE | INPUT_ATTACHMENT | COLOR_ATTACHMENT.
    setup.extend(image(1, Format::R8G8B8A8_UNORM, 0x9c, 16384));
    let binding = |b: u32, ty: u32, immutable: Vec<u64>| DescriptorSetLayoutBinding {
        binding: b,
        descriptor_type: ty,
        count: 1,
        stages: if ty == descriptor_type::INPUT_ATTACHMENT {
            0x10
        } else {
            0x30
        },
        immutable_samplers: immutable,
    };
    setup.extend([
        CreateImageView {
            id: 1,
            info: ImageViewCreateInfo {
                image: 1,
                view_type: 1,
                format: Format::R8G8B8A8_UNORM.vk(),
                components: [0; 4],
                range: ImageSubresourceRange {
                    aspect_mask: 1,
                    base_mip_level: 0,
                    level_count: 1,
                    base_array_layer: 0,
                    layer_count: 1,
                },
            },
        }
        .into(),
        CreateSampler {
            id: 1,
            info: sampler,
        }
        .into(),
        CreateBufferView {
            id: 1,
            buffer: 1,
            format: Format::R32_UINT.vk(),
            offset: 0,
            range: WHOLE_SIZE,
        }
        .into(),
        CreateDescriptorSetLayout {
            id: 1,
            bindings: (0..=5)
                .map(|ty| binding(ty, ty, vec![]))
                .chain([
                    binding(6, descriptor_type::UNIFORM_BUFFER, vec![]),
                    binding(10, descriptor_type::INPUT_ATTACHMENT, vec![]),
                    binding(11, descriptor_type::COMBINED_IMAGE_SAMPLER, vec![1]),
                ])
                .collect(),
        }
        .into(),
        CreateDescriptorSet { id: 1, layout: 1 }.into(),
        CreateDescriptorSet { id: 2, layout: 1 }.into(),
    ]);
    let image_info = |sampler, image_view| DescriptorImageInfo {
        sampler,
        image_view,
        image_layout: 5,
    };
    let images = |binding, ty, info| -> Command {
        WriteDescriptorImages {
            set: 1,
            binding,
            array_element: 0,
            descriptor_type: ty,
            images: vec![info],
        }
        .into()
    };
    let texels = |binding, ty| -> Command {
        WriteDescriptorTexelBuffers {
            set: 1,
            binding,
            array_element: 0,
            descriptor_type: ty,
            views: vec![1],
        }
        .into()
    };
    let writes = vec![
        images(0, descriptor_type::SAMPLER, image_info(1, 0)),
        images(1, descriptor_type::COMBINED_IMAGE_SAMPLER, image_info(1, 1)),
        images(2, descriptor_type::SAMPLED_IMAGE, image_info(0, 1)),
        images(3, descriptor_type::STORAGE_IMAGE, image_info(0, 1)),
        texels(4, descriptor_type::UNIFORM_TEXEL_BUFFER),
        texels(5, descriptor_type::STORAGE_TEXEL_BUFFER),
        images(10, descriptor_type::INPUT_ATTACHMENT, image_info(0, 1)),
        images(
            11,
            descriptor_type::COMBINED_IMAGE_SAMPLER,
            image_info(0, 1),
        ),
        CopyDescriptorSet {
            src_set: 1,
            src_binding: 0,
            src_array_element: 0,
            dst_set: 2,
            dst_binding: 0,
            dst_array_element: 0,
            count: 1,
        }
        .into(),
    ];
    vec![
        top(&setup),
        top(&writes),
        top(&[
            DestroyDescriptorSet { id: 2 }.into(),
            DestroyDescriptorSet { id: 1 }.into(),
            DestroyDescriptorSetLayout { id: 1 }.into(),
            DestroyBufferView { id: 1 }.into(),
            DestroySampler { id: 1 }.into(),
            DestroyImageView { id: 1 }.into(),
        ]),
    ]
}

fn image(id: u64, format: Format, usage: u32, offset: u64) -> Vec<Command> {
    vec![
        CreateImage {
            id,
            info: ImageCreateInfo {
                flags: 0,
                image_type: 1,
                format: format.vk(),
                extent: [16, 16, 1],
                mip_levels: 1,
                array_layers: 1,
                samples: 1,
                tiling: 0,
                usage,
            },
        }
        .into(),
        BindImageMemory {
            image: id,
            memory: at(MEMORY, offset),
        }
        .into(),
    ]
}

fn view(id: u64, image: u64, format: Format, aspect_mask: u32) -> Command {
    CreateImageView {
        id,
        info: ImageViewCreateInfo {
            image,
            view_type: 1,
            format: format.vk(),
            components: [0; 4],
            range: ImageSubresourceRange {
                aspect_mask,
                base_mip_level: 0,
                level_count: 1,
                base_array_layer: 0,
                layer_count: 1,
            },
        },
    }
    .into()
}

fn layers(aspect_mask: u32) -> ImageSubresourceLayers {
    ImageSubresourceLayers {
        aspect_mask,
        mip_level: 0,
        base_array_layer: 0,
        layer_count: 1,
    }
}

fn images() -> Vec<Command> {
    let mut c = buffers();
    c.extend(image(1, Format::R8G8B8A8_UNORM, 0x9f, 8192));
    c.extend(image(2, Format::D32_SFLOAT, 0x23, 16384));
    c.extend(image(3, Format::R8G8B8A8_UNORM, 0x9f, 24576));
    c
}

fn transfers() -> Vec<Vec<u8>> {
    let region = |aspect| BufferImageCopy {
        buffer_offset: 0,
        buffer_row_length: 0,
        buffer_image_height: 0,
        image_subresource: layers(aspect),
        image_offset: [0, 0, 0],
        image_extent: [16, 16, 1],
    };
    let range = |aspect_mask| ImageSubresourceRange {
        aspect_mask,
        base_mip_level: 0,
        level_count: u32::MAX,
        base_array_layer: 0,
        layer_count: u32::MAX,
    };
    let work: Vec<Command> = vec![
        CmdCopyBufferToImage {
            buffer: 1,
            image: 1,
            regions: vec![region(1)],
        }
        .into(),
        CmdClearColorImage {
            image: 3,
            color: [0x3f80_0000, 0, 0, 0x3f80_0000],
            ranges: vec![range(1)],
        }
        .into(),
        CmdClearDepthStencilImage {
            image: 2,
            depth: 0.5,
            stencil: 0,
            ranges: vec![range(2)],
        }
        .into(),
        CmdCopyImage {
            src: 1,
            dst: 3,
            regions: vec![ImageCopy {
                src_subresource: layers(1),
                src_offset: [4, 4, 0],
                dst_subresource: layers(1),
                dst_offset: [0, 0, 0],
                extent: [8, 8, 1],
            }],
        }
        .into(),
        CmdCopyImageToBuffer {
            image: 3,
            buffer: 2,
            regions: vec![region(1)],
        }
        .into(),
        CmdCopyImageToBuffer {
            image: 2,
            buffer: 2,
            regions: vec![region(2)],
        }
        .into(),
    ];
    vec![top(&images()), rec(&work)]
}

fn passes() -> Vec<Vec<u8>> {
    let mut setup = images();
    setup.extend([
        view(1, 1, Format::R8G8B8A8_UNORM, 1),
        view(2, 2, Format::D32_SFLOAT, 2),
        CreateRenderPass {
            id: 1,
            attachments: vec![
                AttachmentDescription {
                    flags: 0,
                    format: Format::R8G8B8A8_UNORM.vk(),
                    samples: 1,
                    load_op: 1,
                    store_op: 0,
                    stencil_load_op: 2,
                    stencil_store_op: 1,
                },
                AttachmentDescription {
                    flags: 0,
                    format: Format::D32_SFLOAT.vk(),
                    samples: 1,
                    load_op: 1,
                    store_op: 0,
                    stencil_load_op: 2,
                    stencil_store_op: 1,
                },
            ],
            subpasses: vec![SubpassDescription {
                flags: 0,
                input_attachments: vec![],
                color_attachments: vec![AttachmentReference {
                    attachment: 0,
                    aspect_mask: 1,
                }],
                resolve_attachments: vec![],
                depth_stencil_attachment: Some(AttachmentReference {
                    attachment: 1,
                    aspect_mask: 2,
                }),
                preserve_attachments: vec![],
                view_mask: 0,
            }],
        }
        .into(),
        CreateFramebuffer {
            id: 1,
            render_pass: 1,
            attachments: vec![1, 2],
            width: 16,
            height: 16,
            layers: 1,
        }
        .into(),
    ]);
    let area = |x, y, w, h| Rect2D {
        offset: [x, y],
        extent: [w, h],
    };
    let work: Vec<Command> = vec![
        CmdBeginRenderPass {
            render_pass: 1,
            framebuffer: 1,
            render_area: area(2, 2, 12, 12),
            clear_values: vec![[0x3f80_0000, 0, 0, 0x3f80_0000], [0x3f00_0000, 0, 0, 0]],
        }
        .into(),
        CmdClearAttachments {
            attachments: vec![ClearAttachment {
                aspect_mask: 1,
                color_attachment: 0,
                value: [0; 4],
            }],
            rects: vec![ClearRect {
                rect: area(4, 4, 4, 4),
                base_array_layer: 0,
                layer_count: 1,
            }],
        }
        .into(),
        CmdSetDynamicState {
            state: DynamicState::Viewport {
                first: 0,
                viewports: vec![Viewport {
                    x: 0.0,
                    y: 0.0,
                    width: 16.0,
                    height: 16.0,
                    min_depth: 0.0,
                    max_depth: 1.0,
                }],
            },
        }
        .into(),
        CmdSetDynamicState {
            state: DynamicState::Scissor {
                first: 0,
                scissors: vec![area(0, 0, 16, 16)],
            },
        }
        .into(),
        CmdDraw {
            vertex_count: 3,
            instance_count: 1,
            first_vertex: 0,
            first_instance: 0,
        }
        .into(),
        CmdEndRenderPass {}.into(),
        CmdBeginRendering {
            flags: 0,
            render_area: area(0, 0, 16, 16),
            layer_count: 1,
            view_mask: 0,
            color_attachments: vec![RenderingAttachment {
                view: 1,
                resolve_mode: 0,
                resolve_view: 0,
                load_op: 1,
                store_op: 0,
                clear_value: [0, 0x3f80_0000, 0, 0x3f80_0000],
            }],
            depth_attachment: Some(RenderingAttachment {
                view: 2,
                resolve_mode: 0,
                resolve_view: 0,
                load_op: 1,
                store_op: 0,
                clear_value: [0x3f80_0000, 0, 0, 0],
            }),
            stencil_attachment: None,
        }
        .into(),
        CmdClearAttachments {
            attachments: vec![ClearAttachment {
                aspect_mask: 2,
                color_attachment: 0,
                value: [0; 4],
            }],
            rects: vec![ClearRect {
                rect: area(0, 0, 8, 8),
                base_array_layer: 0,
                layer_count: 1,
            }],
        }
        .into(),
        CmdEndRendering {}.into(),
    ];
    vec![top(&setup), rec(&work)]
}

fn pipeline_info() -> GraphicsPipelineInfo {
    let stage = |stage, module| ShaderStage {
        stage,
        module,
        entry: "main".into(),
        spec_map: vec![],
        spec_data: vec![],
    };
    GraphicsPipelineInfo {
        flags: 0,
        layout: 1,
        stages: vec![stage(0x1, 1), stage(0x10, 2)],
        vertex_bindings: vec![VertexBinding {
            binding: 0,
            stride: 24,
            input_rate: 0,
        }],
        vertex_attributes: vec![
            VertexAttribute {
                location: 0,
                binding: 0,
                format: 103,
                offset: 0,
            },
            VertexAttribute {
                location: 1,
                binding: 0,
                format: 109,
                offset: 8,
            },
        ],
        topology: 3,
        primitive_restart_enable: false,
        viewport_count: 1,
        viewports: vec![],
        scissor_count: 1,
        scissors: vec![],
        rasterization: RasterizationState {
            depth_clamp_enable: false,
            rasterizer_discard_enable: false,
            polygon_mode: 0,
            cull_mode: 0,
            front_face: 0,
            depth_bias_enable: false,
            depth_bias_constant_factor: 0.0,
            depth_bias_clamp: 0.0,
            depth_bias_slope_factor: 0.0,
            line_width: 1.0,
        },
        multisample: Some(MultisampleState {
            rasterization_samples: 1,
            sample_shading_enable: false,
            min_sample_shading: 0.0,
            sample_mask: None,
            alpha_to_coverage_enable: false,
            alpha_to_one_enable: false,
        }),
        depth_stencil: None,
        color_blend: Some(ColorBlendState {
            logic_op_enable: false,
            logic_op: 0,
            attachments: vec![ColorBlendAttachment {
                blend_enable: false,
                src_color_blend_factor: 1,
                dst_color_blend_factor: 0,
                color_blend_op: 0,
                src_alpha_blend_factor: 1,
                dst_alpha_blend_factor: 0,
                alpha_blend_op: 0,
                color_write_mask: 0xf,
            }],
            blend_constants: [0.0; 4],
        }),
        dynamic_states: vec![0, 1],
        targets: RenderTargets::Dynamic {
            view_mask: 0,
            color_formats: vec![Format::R8G8B8A8_UNORM.vk()],
            depth_format: 0,
            stencil_format: 0,
        },
    }
}

fn graphics(spv: &Path) -> Vec<Vec<u8>> {
    let mut setup = images();
    setup.extend([
        view(1, 1, Format::R8G8B8A8_UNORM, 1),
        CreateShaderModule {
            id: 1,
            code: words(&spv.join("draw_color.vert.spv")),
        }
        .into(),
        CreateShaderModule {
            id: 2,
            code: words(&spv.join("draw_color.frag.spv")),
        }
        .into(),
        CreatePipelineLayout {
            id: 1,
            set_layouts: vec![],
            push_constant_ranges: vec![],
        }
        .into(),
        CreateGraphicsPipeline {
            id: 3,
            info: pipeline_info(),
            reply: at(REPLIES, 8),
        }
        .into(),
    ]);
    let area = Rect2D {
        offset: [0, 0],
        extent: [16, 16],
    };
    let work: Vec<Command> = vec![
        CmdBeginRendering {
            flags: 0,
            render_area: area,
            layer_count: 1,
            view_mask: 0,
            color_attachments: vec![RenderingAttachment {
                view: 1,
                resolve_mode: 0,
                resolve_view: 0,
                load_op: 1,
                store_op: 0,
                clear_value: [0; 4],
            }],
            depth_attachment: None,
            stencil_attachment: None,
        }
        .into(),
        CmdBindGraphicsPipeline { pipeline: 3 }.into(),
        CmdSetDynamicState {
            state: DynamicState::ViewportWithCount(vec![Viewport {
                x: 0.0,
                y: 0.0,
                width: 16.0,
                height: 16.0,
                min_depth: 0.0,
                max_depth: 1.0,
            }]),
        }
        .into(),
        CmdSetDynamicState {
            state: DynamicState::ScissorWithCount(vec![area]),
        }
        .into(),
        CmdBindVertexBuffers {
            first_binding: 0,
            buffers: vec![1],
            offsets: vec![0],
            sizes: vec![],
            strides: vec![],
        }
        .into(),
        CmdBindIndexBuffer {
            buffer: 2,
            offset: 0,
            index_type: 1,
        }
        .into(),
        CmdDraw {
            vertex_count: 6,
            instance_count: 1,
            first_vertex: 0,
            first_instance: 0,
        }
        .into(),
        CmdDrawIndexed {
            index_count: 6,
            instance_count: 2,
            first_index: 0,
            vertex_offset: 0,
            first_instance: 0,
        }
        .into(),
        CmdDrawIndirect {
            indexed: false,
            buffer: 2,
            offset: 64,
            draw_count: 1,
            stride: 16,
        }
        .into(),
        CmdDrawIndirectCount {
            indexed: true,
            buffer: 2,
            offset: 128,
            count_buffer: 2,
            count_offset: 0,
            max_draw_count: 2,
            stride: 20,
        }
        .into(),
        CmdEndRendering {}.into(),
    ];
    vec![
        top(&setup),
        rec(&work),
        top(&[DestroyPipeline { id: 3 }.into()]),
    ]
}

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [spv, corpus] = args.as_slice() else {
        panic!("usage: vk_seed_corpus SPV_DIR CORPUS_DIR");
    };
    write_seed(corpus, &compute(spv));
    write_seed(corpus, &transfers());
    write_seed(corpus, &passes());
    write_seed(corpus, &graphics(spv));
    write_seed(corpus, &descriptors());
    eprintln!("vk_executor seeds written under {}", corpus.display());
}
