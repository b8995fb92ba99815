//! Multiview end to end: a render pass whose subpass has view mask 0b101 clears and draws
//! into layers 0 and 2 of a 3-layer attachment (the fragment shader colours by
//! `gl_ViewIndex`) and leaves layer 1 alone; vkCmdClearAttachments reaches every view;
//! dynamic rendering's view mask clears its views' layers; too few layers are refused.

use protocol::format::{aspect, Format};
use protocol::graphics::*;
use protocol::stream::*;

use super::super::image::usage as image_usage;
use super::super::vk_result;
use super::graphics::{
    create_pipeline, modules_and_layout, pipeline_info, vertex_buffer, GEOMETRY, PIPELINE, VERTICES,
};
use super::images::{
    create_image, full_range, image_info, run, run_error, transfer_buffers, DST, DST_OFFSET,
    IMAGE_MEMORY,
};
use super::*;

/// Red from the vertex colour, green = ViewIndex / 2.
const FRAGMENT_BY_VIEW: &str = r#"#version 450
#extension GL_EXT_multiview : require
layout(location = 0) in vec4 v_color;
layout(location = 0) out vec4 out_color;
void main() { out_color = vec4(v_color.r, float(gl_ViewIndex) / 2.0, 0.0, 1.0); }
"#;

const FS_BY_VIEW: u64 = 56;
const LAYERS: u32 = 3;
const SIDE: u32 = 16;

/// A `layers`-layer 2D-array view `id` of image `image`.
fn array_view(id: u64, image: u64, layers: u32) -> Command {
    CreateImageView {
        id,
        info: ImageViewCreateInfo {
            image,
            view_type: 5,
            format: Format::R8G8B8A8_UNORM.vk(),
            components: [0; 4],
            range: ImageSubresourceRange {
                aspect_mask: aspect::COLOR,
                base_mip_level: 0,
                level_count: 1,
                base_array_layer: 0,
                layer_count: layers,
            },
        },
    }
    .into()
}

/// Image 10 (16×16 RGBA8, 3 layers, 3-layer view 20 and 1-layer view 22) and the left-half
/// red triangle in vertex buffer `VERTICES`.
fn image_setup(r: &FakeResources) -> Vec<Command> {
    let verts: [[f32; 6]; 3] = [
        [-1.0, -1.0, 1.0, 0.0, 0.0, 1.0],
        [0.0, -1.0, 1.0, 0.0, 0.0, 1.0],
        [-1.0, 1.0, 1.0, 0.0, 0.0, 1.0],
    ];
    let bytes: Vec<u8> = verts
        .iter()
        .flatten()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    r.write(MEMORY, GEOMETRY, &bytes);
    let mut setup = transfer_buffers();
    let color_usage =
        image_usage::COLOR_ATTACHMENT | image_usage::TRANSFER_SRC | image_usage::TRANSFER_DST;
    let mut info = image_info(Format::R8G8B8A8_UNORM, [SIDE, SIDE], 0, color_usage);
    info.array_layers = LAYERS;
    setup.extend(create_image(10, info, IMAGE_MEMORY));
    setup.push(array_view(20, 10, LAYERS));
    setup.push(array_view(22, 10, 1));
    setup.extend(vertex_buffer(256));
    setup
}

fn render_pass(id: u64, view_masks: &[u32]) -> Command {
    CreateRenderPass {
        id,
        attachments: vec![AttachmentDescription {
            flags: 0,
            format: Format::R8G8B8A8_UNORM.vk(),
            samples: 1,
            load_op: 1,
            store_op: 0,
            stencil_load_op: 2,
            stencil_store_op: 1,
        }],
        subpasses: view_masks
            .iter()
            .map(|&view_mask| SubpassDescription {
                flags: 0,
                input_attachments: vec![],
                color_attachments: vec![AttachmentReference {
                    attachment: 0,
                    aspect_mask: 0,
                }],
                resolve_attachments: vec![],
                depth_stencil_attachment: None,
                preserve_attachments: vec![],
                view_mask,
            })
            .collect(),
    }
    .into()
}

fn framebuffer(id: u64, view: u64) -> Command {
    CreateFramebuffer {
        id,
        render_pass: 30,
        attachments: vec![view],
        width: SIDE,
        height: SIDE,
        layers: 1,
    }
    .into()
}

fn blue_everywhere() -> Command {
    CmdClearColorImage {
        image: 10,
        color: [0.0f32, 0.0, 1.0, 1.0].map(f32::to_bits),
        ranges: vec![full_range(aspect::COLOR)],
    }
    .into()
}

/// Copies the three layers to `DST`, one after the other.
fn read_layers() -> Vec<Command> {
    (0..LAYERS)
        .map(|layer| {
            CmdCopyImageToBuffer {
                image: 10,
                buffer: DST,
                regions: vec![BufferImageCopy {
                    buffer_offset: u64::from(layer * SIDE * SIDE * 4),
                    buffer_row_length: 0,
                    buffer_image_height: 0,
                    image_subresource: ImageSubresourceLayers {
                        aspect_mask: aspect::COLOR,
                        mip_level: 0,
                        base_array_layer: layer,
                        layer_count: 1,
                    },
                    image_offset: [0, 0, 0],
                    image_extent: [SIDE, SIDE, 1],
                }],
            }
            .into()
        })
        .collect()
}

fn texel(r: &FakeResources, layer: u32, x: u32, y: u32) -> Vec<u8> {
    let at = u64::from((layer * SIDE * SIDE + y * SIDE + x) * 4);
    r.read(MEMORY, DST_OFFSET + at, 4)
}

fn viewport_and_scissor() -> Vec<Command> {
    vec![
        CmdSetDynamicState {
            state: DynamicState::Viewport {
                first: 0,
                viewports: vec![Viewport {
                    x: 0.0,
                    y: 0.0,
                    width: SIDE as f32,
                    height: SIDE as f32,
                    min_depth: 0.0,
                    max_depth: 1.0,
                }],
            },
        }
        .into(),
        CmdSetDynamicState {
            state: DynamicState::Scissor {
                first: 0,
                scissors: vec![Rect2D {
                    offset: [0, 0],
                    extent: [SIDE, SIDE],
                }],
            },
        }
        .into(),
    ]
}

#[test]
fn view_mask_101_clears_and_draws_layers_0_and_2_and_leaves_layer_1() {
    let r = resources();
    let mut ctx = context();
    let mut setup = image_setup(&r);
    setup.push(render_pass(30, &[0b101]));
    setup.push(framebuffer(31, 20));
    setup.extend(modules_and_layout());
    setup.push(
        CreateShaderModule {
            id: FS_BY_VIEW,
            code: spirv_stage(FRAGMENT_BY_VIEW, "frag"),
        }
        .into(),
    );
    let mut info = pipeline_info();
    info.stages[1].module = FS_BY_VIEW;
    info.targets = RenderTargets::RenderPass {
        render_pass: 30,
        subpass: 0,
    };
    setup.push(create_pipeline(PIPELINE, info, 0));
    let white = [1.0f32; 4].map(f32::to_bits);
    let mut cmds = vec![
        blue_everywhere(),
        CmdBeginRenderPass {
            render_pass: 30,
            framebuffer: 31,
            render_area: Rect2D {
                offset: [0, 0],
                extent: [SIDE, SIDE],
            },
            clear_values: vec![[0; 4]],
        }
        .into(),
        CmdBindGraphicsPipeline { pipeline: PIPELINE }.into(),
        CmdBindVertexBuffers {
            first_binding: 0,
            buffers: vec![VERTICES],
            offsets: vec![0],
            sizes: vec![],
            strides: vec![],
        }
        .into(),
    ];
    cmds.extend(viewport_and_scissor());
    cmds.push(
        CmdDraw {
            vertex_count: 3,
            instance_count: 1,
            first_vertex: 0,
            first_instance: 0,
        }
        .into(),
    );
    // In a multiview pass the rectangle names layer 0 and reaches every view.
    cmds.push(
        CmdClearAttachments {
            attachments: vec![ClearAttachment {
                aspect_mask: aspect::COLOR,
                color_attachment: 0,
                value: white,
            }],
            rects: vec![ClearRect {
                rect: Rect2D {
                    offset: [15, 15],
                    extent: [1, 1],
                },
                base_array_layer: 0,
                layer_count: 1,
            }],
        }
        .into(),
    );
    cmds.push(CmdEndRenderPass {}.into());
    cmds.extend(read_layers());
    run(&mut ctx, &r, setup, cmds);
    assert_eq!(reply(&r, 0).map(|p| p.result), Some(vk_result::SUCCESS));
    let blue = [0, 0, 255, 255];
    // View 0: red, view 2: red + green; the right half cleared to zero; the corner white.
    assert_eq!(texel(&r, 0, 1, 1), [255, 0, 0, 255]);
    assert_eq!(texel(&r, 2, 1, 1), [255, 255, 0, 255]);
    for layer in [0, 2] {
        assert_eq!(texel(&r, layer, 12, 8), [0; 4], "layer {layer}");
        assert_eq!(texel(&r, layer, 15, 15), [255; 4], "layer {layer}");
    }
    for (x, y) in [(1, 1), (12, 8), (15, 15)] {
        assert_eq!(texel(&r, 1, x, y), blue, "layer 1 ({x}, {y})");
    }
}

#[test]
fn dynamic_rendering_view_mask_clears_the_layers_of_its_views() {
    let r = resources();
    let mut ctx = context();
    let green = [0.0f32, 1.0, 0.0, 1.0].map(f32::to_bits);
    let rendering = |view, view_mask| CmdBeginRendering {
        flags: 0,
        render_area: Rect2D {
            offset: [0, 0],
            extent: [SIDE, SIDE],
        },
        layer_count: 0,
        view_mask,
        color_attachments: vec![RenderingAttachment {
            view,
            resolve_mode: 0,
            resolve_view: 0,
            load_op: 1,
            store_op: 0,
            clear_value: green,
        }],
        depth_attachment: None,
        stencil_attachment: None,
    };
    let mut cmds = vec![blue_everywhere(), rendering(20, 0b110).into()];
    cmds.push(CmdEndRendering {}.into());
    cmds.extend(read_layers());
    run(&mut ctx, &r, image_setup(&r), cmds);
    assert_eq!(texel(&r, 0, 4, 4), [0, 0, 255, 255]);
    assert_eq!(texel(&r, 1, 4, 4), [0, 255, 0, 255]);
    assert_eq!(texel(&r, 2, 4, 4), [0, 255, 0, 255]);

    // View 1 needs two layers; view 22 has one.
    let e = run_error(&mut ctx, &r, vec![], vec![rendering(22, 0b10).into()]);
    assert!(e.contains("layers"), "{e}");
    // Views beyond maxMultiviewViewCount.
    let e = run_error(&mut ctx, &r, vec![], vec![rendering(20, 1 << 8).into()]);
    assert!(e.contains("maxMultiviewViewCount"), "{e}");
}

#[test]
fn multiview_render_passes_and_framebuffers_are_checked() {
    let r = resources();
    let mut ctx = context();
    ctx.submit(&stream(image_setup(&r)), &r).unwrap();
    // Multiview is all or nothing across subpasses (VUID-VkRenderPassCreateInfo2-viewMask-03058).
    assert!(ctx
        .submit(&stream(vec![render_pass(40, &[0b1, 0])]), &r)
        .is_err());
    ctx.submit(&stream(vec![render_pass(30, &[0b101])]), &r)
        .unwrap();
    // View 2 needs a third layer (VUID-VkFramebufferCreateInfo-renderPass-04536).
    assert!(ctx.submit(&stream(vec![framebuffer(31, 22)]), &r).is_err());
    // A multiview framebuffer has one layer (-renderPass-02531).
    let layered = CreateFramebuffer {
        id: 32,
        render_pass: 30,
        attachments: vec![20],
        width: SIDE,
        height: SIDE,
        layers: 2,
    };
    assert!(ctx.submit(&stream(vec![layered.into()]), &r).is_err());
    ctx.submit(&stream(vec![framebuffer(33, 20)]), &r).unwrap();
}
