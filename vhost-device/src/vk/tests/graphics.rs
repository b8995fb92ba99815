//! Graphics pipelines and draws end to end: GLSL compiled with glslangValidator, pipelines
//! created through the stream (replies checked), draws recorded into command buffers and the
//! attachments read back; malformed pipelines answered with an error `VkResult`.

use protocol::format::{aspect, Format};
use protocol::graphics::*;
use protocol::stream::*;

use super::super::image::usage as image_usage;
use super::super::vk_result;
use super::images::{
    create_image, image_info, region, run, run_error, transfer_buffers, view, DST, DST_OFFSET,
    IMAGE_MEMORY,
};
use super::*;

const VERTEX: &str = r#"#version 450
layout(location = 0) in vec2 pos;
layout(location = 1) in vec4 color;
layout(location = 0) out vec4 v_color;
void main() {
    gl_Position = vec4(pos, 0.5, 1.0);
    v_color = color;
}
"#;

const FRAGMENT: &str = r#"#version 450
layout(location = 0) in vec4 v_color;
layout(location = 0) out vec4 out_color;
void main() { out_color = v_color; }
"#;

const VS: u64 = 50;
const FS: u64 = 51;
pub(super) const LAYOUT: u64 = 52;
pub(super) const PIPELINE: u64 = 53;
pub(super) const VERTICES: u64 = 3;
const INDICES: u64 = 4;
const INDIRECT: u64 = 5;
/// Vertex, index and indirect buffers live here.
pub(super) const GEOMETRY: u64 = 12288;

fn stage(stage_bit: u32, module: u64) -> ShaderStage {
    ShaderStage {
        stage: stage_bit,
        module,
        entry: "main".into(),
        spec_map: vec![],
        spec_data: vec![],
    }
}

/// A pipeline for 16×16 RGBA8 dynamic rendering: vec2 position + vec4 colour per vertex
/// (binding 0, stride 24), triangle lists, dynamic viewport and scissor.
pub(super) fn pipeline_info() -> GraphicsPipelineInfo {
    GraphicsPipelineInfo {
        flags: 0,
        layout: LAYOUT,
        stages: vec![stage(0x1, VS), stage(0x10, FS)],
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

pub(super) fn modules_and_layout() -> Vec<Command> {
    vec![
        CreateShaderModule {
            id: VS,
            code: spirv_stage(VERTEX, "vert"),
        }
        .into(),
        CreateShaderModule {
            id: FS,
            code: spirv_stage(FRAGMENT, "frag"),
        }
        .into(),
        CreatePipelineLayout {
            id: LAYOUT,
            set_layouts: vec![],
            push_constant_ranges: vec![],
        }
        .into(),
    ]
}

pub(super) fn create_pipeline(id: u64, info: GraphicsPipelineInfo, reply_offset: u64) -> Command {
    CreateGraphicsPipeline {
        id,
        info,
        reply: at(REPLIES, reply_offset),
    }
    .into()
}

/// Image 10 (16×16 RGBA8, view 20), the geometry buffers and the pipeline.
fn draw_setup(r: &FakeResources) -> Vec<Command> {
    // One triangle covering the left half of the target (x ≤ 0 in NDC), red; indices 0 1 2;
    // an indirect command drawing it again.
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
    r.write(MEMORY, GEOMETRY + 256, &[0u8, 0, 1, 0, 2, 0]);
    let indirect: Vec<u8> = [3u32, 1, 0, 0]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    r.write(MEMORY, GEOMETRY + 512, &indirect);
    let mut setup = transfer_buffers();
    let color_usage =
        image_usage::COLOR_ATTACHMENT | image_usage::TRANSFER_SRC | image_usage::TRANSFER_DST;
    setup.extend(create_image(
        10,
        image_info(Format::R8G8B8A8_UNORM, [16, 16], 0, color_usage),
        IMAGE_MEMORY,
    ));
    setup.push(view(20, 10, Format::R8G8B8A8_UNORM, aspect::COLOR));
    for (id, offset, usage_bits) in [
        (VERTICES, 0, 0x80),
        (INDICES, 256, 0x40),
        (INDIRECT, 512, usage::INDIRECT_BUFFER),
    ] {
        setup.push(
            CreateBuffer {
                id,
                size: 256,
                usage: usage_bits,
            }
            .into(),
        );
        setup.push(
            BindBufferMemory {
                buffer: id,
                memory: at(MEMORY, GEOMETRY + offset),
            }
            .into(),
        );
    }
    setup.extend(modules_and_layout());
    setup.push(create_pipeline(PIPELINE, pipeline_info(), 0));
    setup
}

fn rendering() -> Command {
    CmdBeginRendering {
        flags: 0,
        render_area: Rect2D {
            offset: [0, 0],
            extent: [16, 16],
        },
        layer_count: 1,
        view_mask: 0,
        color_attachments: vec![RenderingAttachment {
            view: 20,
            resolve_mode: 0,
            resolve_view: 0,
            load_op: 1,
            store_op: 0,
            clear_value: [0, 0, 0, 0],
        }],
        depth_attachment: None,
        stencil_attachment: None,
    }
    .into()
}

fn bind_and_state() -> Vec<Command> {
    vec![
        CmdBindGraphicsPipeline { pipeline: PIPELINE }.into(),
        CmdBindVertexBuffers {
            first_binding: 0,
            buffers: vec![VERTICES],
            offsets: vec![0],
            sizes: vec![],
            strides: vec![],
        }
        .into(),
        CmdBindIndexBuffer {
            buffer: INDICES,
            offset: 0,
            index_type: 0,
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
                scissors: vec![Rect2D {
                    offset: [0, 0],
                    extent: [16, 16],
                }],
            },
        }
        .into(),
    ]
}

fn pixel(r: &FakeResources, x: u64, y: u64) -> Vec<u8> {
    r.read(MEMORY, DST_OFFSET + (y * 16 + x) * 4, 4)
}

fn read_back() -> Command {
    CmdCopyImageToBuffer {
        image: 10,
        buffer: DST,
        regions: vec![region(0, aspect::COLOR, [0, 0], [16, 16])],
    }
    .into()
}

#[test]
fn direct_indexed_and_indirect_draws_fill_the_left_half_red() {
    let draws: Vec<Command> = vec![
        CmdDraw {
            vertex_count: 3,
            instance_count: 1,
            first_vertex: 0,
            first_instance: 0,
        }
        .into(),
        CmdDrawIndexed {
            index_count: 3,
            instance_count: 1,
            first_index: 0,
            vertex_offset: 0,
            first_instance: 0,
        }
        .into(),
        CmdDrawIndirect {
            indexed: false,
            buffer: INDIRECT,
            offset: 0,
            draw_count: 1,
            stride: 16,
        }
        .into(),
    ];
    for draw in draws {
        let r = resources();
        let mut ctx = context();
        let mut cmds = vec![rendering()];
        cmds.extend(bind_and_state());
        cmds.push(draw.clone());
        cmds.push(CmdEndRendering {}.into());
        cmds.push(read_back());
        run(&mut ctx, &r, draw_setup(&r), cmds);
        assert_eq!(reply(&r, 0).map(|p| p.result), Some(vk_result::SUCCESS));
        // Left half below the diagonal: red; right half: the clear colour.
        assert_eq!(pixel(&r, 1, 8), [255, 0, 0, 255], "{draw:?}");
        assert_eq!(pixel(&r, 4, 4), [255, 0, 0, 255], "{draw:?}");
        assert_eq!(pixel(&r, 12, 8), [0, 0, 0, 0], "{draw:?}");
        assert_eq!(pixel(&r, 7, 14), [0, 0, 0, 0], "{draw:?}");
    }
}

#[test]
fn malformed_pipelines_get_an_error_result_not_a_failed_submission() {
    let r = resources();
    let mut ctx = context();
    let mut setup = modules_and_layout();
    setup.push(
        CreateRenderPass {
            id: 60,
            attachments: vec![AttachmentDescription {
                flags: 0,
                format: Format::R8G8B8A8_UINT.vk(),
                samples: 1,
                load_op: 0,
                store_op: 0,
                stencil_load_op: 2,
                stencil_store_op: 1,
            }],
            subpasses: vec![SubpassDescription {
                flags: 0,
                input_attachments: vec![],
                color_attachments: vec![AttachmentReference {
                    attachment: 0,
                    aspect_mask: 0,
                }],
                resolve_attachments: vec![],
                depth_stencil_attachment: None,
                preserve_attachments: vec![],
                view_mask: 0,
            }],
        }
        .into(),
    );
    // A fragment shader reading 16 bytes of push constants; the layout has no ranges.
    setup.push(
        CreateShaderModule {
            id: 61,
            code: spirv_stage(
                "#version 450\n\
                 layout(push_constant) uniform P { vec4 c; } p;\n\
                 layout(location = 0) out vec4 o;\n\
                 void main() { o = p.c; }\n",
                "frag",
            ),
        }
        .into(),
    );
    ctx.submit(&stream(setup), &r).unwrap();
    let base = pipeline_info();
    let mut cases: Vec<(&str, GraphicsPipelineInfo)> = vec![];
    let mut p = base.clone();
    p.stages[1] = stage(0x10, 61);
    cases.push(("push constants beyond the layout's ranges", p));
    let mut p = base.clone();
    p.stages.remove(0);
    cases.push(("missing vertex stage", p));
    let mut p = base.clone();
    p.stages.push(stage(0x1, VS));
    cases.push(("a stage twice", p));
    let mut p = base.clone();
    p.stages[0].stage = 0x8;
    cases.push(("geometry stage", p));
    let mut p = base.clone();
    p.stages[1].module = VS;
    cases.push(("vertex module as fragment", p));
    let mut p = base.clone();
    p.stages[0].entry = "nope".into();
    cases.push(("unknown entry point", p));
    let mut p = base.clone();
    p.vertex_attributes[0].format = 130;
    cases.push(("bad vertex format", p));
    let mut p = base.clone();
    p.vertex_attributes[0].binding = 3;
    cases.push(("attribute of an undescribed binding", p));
    let mut p = base.clone();
    p.topology = 10;
    cases.push(("patch topology", p));
    let mut p = base.clone();
    p.rasterization.polygon_mode = 1;
    cases.push(("line fill", p));
    let mut p = base.clone();
    if let Some(m) = p.multisample.as_mut() {
        m.rasterization_samples = 4;
    }
    cases.push(("4 samples", p));
    let mut p = base.clone();
    if let Some(c) = p.color_blend.as_mut() {
        c.logic_op_enable = true;
    }
    cases.push(("logic op", p));
    let mut p = base.clone();
    if let Some(c) = p.color_blend.as_mut() {
        c.attachments[0].src_color_blend_factor = 15;
        c.attachments[0].blend_enable = true;
    }
    cases.push(("dual-source blending", p));
    let mut p = base.clone();
    if let Some(c) = p.color_blend.as_mut() {
        c.attachments.clear();
    }
    cases.push(("blend attachments for other targets", p));
    let mut p = base.clone();
    p.dynamic_states = vec![0, 1, 0];
    cases.push(("dynamic state twice", p));
    let mut p = base.clone();
    p.dynamic_states = vec![1_000_099_000];
    cases.push(("unknown dynamic state", p));
    let mut p = base.clone();
    p.dynamic_states = vec![1];
    cases.push(("static viewport missing", p));
    let mut p = base.clone();
    p.viewport_count = 2;
    cases.push(("two viewports", p));
    let mut p = base.clone();
    p.multisample = None;
    cases.push(("no multisample state", p));
    let mut p = base.clone();
    p.targets = RenderTargets::Dynamic {
        view_mask: 1 << 8,
        color_formats: vec![Format::R8G8B8A8_UNORM.vk()],
        depth_format: 0,
        stencil_format: 0,
    };
    cases.push(("view beyond maxMultiviewViewCount", p));
    let mut p = base.clone();
    p.targets = RenderTargets::Dynamic {
        view_mask: 0,
        color_formats: vec![Format::R8G8B8A8_UNORM.vk()],
        depth_format: Format::R8_UNORM.vk(),
        stencil_format: 0,
    };
    cases.push(("colour format as depth", p));
    let mut p = base.clone();
    p.targets = RenderTargets::RenderPass {
        render_pass: 60,
        subpass: 1,
    };
    cases.push(("subpass beyond the render pass", p));
    let mut p = base.clone();
    p.targets = RenderTargets::RenderPass {
        render_pass: 60,
        subpass: 0,
    };
    if let Some(c) = p.color_blend.as_mut() {
        c.attachments[0].blend_enable = true;
    }
    cases.push(("blending an integer format", p));
    for (i, (what, info)) in cases.into_iter().enumerate() {
        let offset = 8 * i as u64 + 8;
        ctx.submit(
            &stream(vec![create_pipeline(100 + i as u64, info, offset)]),
            &r,
        )
        .unwrap_or_else(|e| panic!("{what}: the submission failed: {e:?}"));
        let result = reply(&r, offset).map(|p| p.result);
        assert!(
            matches!(result, Some(code) if code < 0),
            "{what}: {result:?}"
        );
        // Nothing was created under the refused id.
        let m = error_of(
            &mut ctx,
            &r,
            vec![DestroyPipeline { id: 100 + i as u64 }.into()],
        );
        assert!(m.contains("does not exist"), "{what}: {m}");
    }
    // Unknown ids are the submission's business.
    let mut p = base.clone();
    p.layout = 999;
    let m = error_of(&mut ctx, &r, vec![create_pipeline(200, p, 0)]);
    assert!(m.contains("pipeline layout 999"), "{m}");
}

#[test]
fn draws_check_their_pipeline_against_the_pass_and_dynamic_state() {
    let r = resources();
    let mut ctx = context();
    let mut setup = draw_setup(&r);
    // A pipeline for an RGBA16 target, and one with a static viewport but no static scissor
    // set dynamically later.
    let mut other = pipeline_info();
    other.targets = RenderTargets::Dynamic {
        view_mask: 0,
        color_formats: vec![Format::R16G16B16A16_UNORM.vk()],
        depth_format: 0,
        stencil_format: 0,
    };
    setup.push(create_pipeline(54, other, 8));
    ctx.submit(&stream(setup), &r).unwrap();
    assert_eq!(reply(&r, 0).map(|p| p.result), Some(vk_result::SUCCESS));
    assert_eq!(reply(&r, 8).map(|p| p.result), Some(vk_result::SUCCESS));
    let draw: Command = CmdDraw {
        vertex_count: 3,
        instance_count: 1,
        first_vertex: 0,
        first_instance: 0,
    }
    .into();
    let mut wrong_target = vec![rendering(), CmdBindGraphicsPipeline { pipeline: 54 }.into()];
    wrong_target.push(draw.clone());
    let m = run_error(&mut ctx, &r, vec![], wrong_target);
    assert!(m.contains("renders to"), "{m}");
    let unset = vec![
        rendering(),
        CmdBindGraphicsPipeline { pipeline: PIPELINE }.into(),
        draw.clone(),
    ];
    let m = run_error(&mut ctx, &r, vec![], unset);
    assert!(m.contains("was not set"), "{m}");
    let mut indexed = vec![
        rendering(),
        CmdBindGraphicsPipeline { pipeline: PIPELINE }.into(),
    ];
    indexed.extend(
        bind_and_state()
            .into_iter()
            .filter(|c| !matches!(c, Command::CmdBindIndexBuffer(_))),
    );
    indexed.push(
        CmdDrawIndexed {
            index_count: 3,
            instance_count: 1,
            first_index: 0,
            vertex_offset: 0,
            first_instance: 0,
        }
        .into(),
    );
    let m = run_error(&mut ctx, &r, vec![], indexed);
    assert!(m.contains("index buffer"), "{m}");
}

const VERTEX_3D: &str = r#"#version 450
layout(location = 0) in vec3 pos;
layout(location = 1) in vec4 color;
layout(location = 0) out vec4 v_color;
void main() {
    gl_Position = vec4(pos, 1.0);
    v_color = color;
}
"#;

/// Two full-target triangles per quad: `(z, rgba)` quads covering x in `x0..x1` (NDC).
/// The two triangles of a full-height quad from x0 to x1 (NDC).
fn quad_corners(x0: f32, x1: f32) -> [[f32; 2]; 6] {
    [
        [x0, -1.0],
        [x1, -1.0],
        [x0, 1.0],
        [x1, -1.0],
        [x1, 1.0],
        [x0, 1.0],
    ]
}

fn quad(x0: f32, x1: f32, z: f32, color: [f32; 4]) -> Vec<u8> {
    quad_corners(x0, x1)
        .iter()
        .flat_map(|[x, y]| [*x, *y, z].into_iter().chain(color))
        .flat_map(f32::to_le_bytes)
        .collect()
}

/// Buffer `VERTICES` of `size` bytes (vertex-buffer usage) bound at `GEOMETRY`.
pub(super) fn vertex_buffer(size: u64) -> [Command; 2] {
    [
        CreateBuffer {
            id: VERTICES,
            size,
            usage: 0x80,
        }
        .into(),
        BindBufferMemory {
            buffer: VERTICES,
            memory: at(MEMORY, GEOMETRY),
        }
        .into(),
    ]
}

#[test]
fn render_pass_draws_are_depth_tested_scissored_and_instanced() {
    let r = resources();
    let mut ctx = context();
    let mut geometry = quad(-1.0, 1.0, 0.5, [0.0, 1.0, 0.0, 1.0]);
    geometry.extend(quad(-1.0, 1.0, 0.7, [1.0, 0.0, 0.0, 1.0]));
    geometry.extend(quad(-1.0, 0.0, 0.3, [0.0, 0.0, 1.0, 1.0]));
    r.write(MEMORY, GEOMETRY, &geometry);
    let mut setup = transfer_buffers();
    let color_usage = image_usage::COLOR_ATTACHMENT | image_usage::TRANSFER_SRC;
    setup.extend(create_image(
        10,
        image_info(Format::R8G8B8A8_UNORM, [16, 16], 0, color_usage),
        IMAGE_MEMORY,
    ));
    setup.extend(create_image(
        11,
        image_info(
            Format::D32_SFLOAT,
            [16, 16],
            0,
            image_usage::DEPTH_STENCIL_ATTACHMENT,
        ),
        IMAGE_MEMORY + 2048,
    ));
    setup.push(view(20, 10, Format::R8G8B8A8_UNORM, aspect::COLOR));
    setup.push(view(21, 11, Format::D32_SFLOAT, aspect::DEPTH));
    setup.extend(vertex_buffer(geometry.len() as u64));
    let attachment = |format: Format| AttachmentDescription {
        flags: 0,
        format: format.vk(),
        samples: 1,
        load_op: 1,
        store_op: 0,
        stencil_load_op: 2,
        stencil_store_op: 1,
    };
    let reference = |attachment| AttachmentReference {
        attachment,
        aspect_mask: 0,
    };
    setup.push(
        CreateRenderPass {
            id: 30,
            attachments: vec![
                attachment(Format::R8G8B8A8_UNORM),
                attachment(Format::D32_SFLOAT),
            ],
            subpasses: vec![SubpassDescription {
                flags: 0,
                input_attachments: vec![],
                color_attachments: vec![reference(0)],
                resolve_attachments: vec![],
                depth_stencil_attachment: Some(reference(1)),
                preserve_attachments: vec![],
                view_mask: 0,
            }],
        }
        .into(),
    );
    setup.push(
        CreateFramebuffer {
            id: 31,
            render_pass: 30,
            attachments: vec![20, 21],
            width: 16,
            height: 16,
            layers: 1,
        }
        .into(),
    );
    setup.extend(modules_and_layout());
    setup.push(
        CreateShaderModule {
            id: 55,
            code: spirv_stage(VERTEX_3D, "vert"),
        }
        .into(),
    );
    let mut info = pipeline_info();
    info.stages[0].module = 55;
    info.vertex_bindings[0].stride = 28;
    info.vertex_attributes[0].format = 106;
    info.vertex_attributes[1].offset = 12;
    info.targets = RenderTargets::RenderPass {
        render_pass: 30,
        subpass: 0,
    };
    info.depth_stencil = Some(DepthStencilState {
        depth_test_enable: true,
        depth_write_enable: true,
        depth_compare_op: 1,
        depth_bounds_test_enable: false,
        stencil_test_enable: false,
        front: StencilOpState {
            fail_op: 0,
            pass_op: 0,
            depth_fail_op: 0,
            compare_op: 7,
            compare_mask: 0,
            write_mask: 0,
            reference: 0,
        },
        back: StencilOpState {
            fail_op: 0,
            pass_op: 0,
            depth_fail_op: 0,
            compare_op: 7,
            compare_mask: 0,
            write_mask: 0,
            reference: 0,
        },
        min_depth_bounds: 0.0,
        max_depth_bounds: 1.0,
    });
    // The viewport is static; the scissor stays dynamic.
    info.dynamic_states = vec![1];
    info.viewports = vec![Viewport {
        x: 0.0,
        y: 0.0,
        width: 16.0,
        height: 16.0,
        min_depth: 0.0,
        max_depth: 1.0,
    }];
    setup.push(create_pipeline(PIPELINE, info, 0));
    let scissor = |x: i32, w: u32| -> Command {
        CmdSetDynamicState {
            state: DynamicState::Scissor {
                first: 0,
                scissors: vec![Rect2D {
                    offset: [x, 0],
                    extent: [w, 16],
                }],
            },
        }
        .into()
    };
    let draw = |first_vertex, instance_count| -> Command {
        CmdDraw {
            vertex_count: 6,
            instance_count,
            first_vertex,
            first_instance: 0,
        }
        .into()
    };
    let cmds = vec![
        CmdBeginRenderPass {
            render_pass: 30,
            framebuffer: 31,
            render_area: Rect2D {
                offset: [0, 0],
                extent: [16, 16],
            },
            clear_values: vec![[0; 4], [1.0f32.to_bits(), 0, 0, 0]],
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
        // Green at 0.5 everywhere but the last 2 columns (scissored), drawn twice as two
        // instances (the second fails the LESS test); red behind it; blue in front on the left.
        scissor(0, 14),
        draw(0, 2),
        scissor(0, 16),
        draw(6, 1),
        draw(12, 1),
        CmdEndRenderPass {}.into(),
        read_back(),
    ];
    run(&mut ctx, &r, setup, cmds);
    assert_eq!(reply(&r, 0).map(|p| p.result), Some(vk_result::SUCCESS));
    assert_eq!(pixel(&r, 3, 8), [0, 0, 255, 255]);
    assert_eq!(pixel(&r, 11, 8), [0, 255, 0, 255]);
    // Outside the first scissor only the red quad (depth 0.7 < cleared 1.0) landed.
    assert_eq!(pixel(&r, 15, 3), [255, 0, 0, 255]);
}

#[test]
fn graphics_pipelines_and_render_passes_count_against_the_client_limits() {
    use super::super::limits::{ClientBudget, ClientLimits, Quantity};
    let r = resources();
    // Two modules and the layout take 3 of 5 objects; the pipeline the fourth.
    let budget = ClientBudget::new(ClientLimits {
        max_objects: 5,
        ..ClientLimits::default()
    });
    let mut ctx = VkContext::with_budget(device(), budget.clone(), 1, "limits");
    let mut setup = modules_and_layout();
    setup.push(create_pipeline(PIPELINE, pipeline_info(), 0));
    ctx.submit(&stream(setup), &r).unwrap();
    assert_eq!(reply(&r, 0).map(|p| p.result), Some(vk_result::SUCCESS));
    let render_pass = |id| -> Command {
        CreateRenderPass {
            id,
            attachments: vec![],
            subpasses: vec![SubpassDescription {
                flags: 0,
                input_attachments: vec![],
                color_attachments: vec![],
                resolve_attachments: vec![],
                depth_stencil_attachment: None,
                preserve_attachments: vec![],
                view_mask: 0,
            }],
        }
        .into()
    };
    ctx.submit(&stream(vec![render_pass(60)]), &r).unwrap();
    let m = error_of(&mut ctx, &r, vec![render_pass(61)]);
    assert!(m.contains("already holds 5 objects"), "{m}");
    // A pipeline beyond the cap is an error result (host memory, as the app sees it).
    ctx.submit(
        &stream(vec![create_pipeline(PIPELINE + 1, pipeline_info(), 8)]),
        &r,
    )
    .unwrap();
    assert_eq!(
        reply(&r, 8).map(|p| p.result),
        Some(vk_result::ERROR_OUT_OF_HOST_MEMORY)
    );
    let held = budget.used(Quantity::HostBytes);
    ctx.submit(
        &stream(vec![
            DestroyPipeline { id: PIPELINE }.into(),
            DestroyRenderPass { id: 60 }.into(),
        ]),
        &r,
    )
    .unwrap();
    assert_eq!(budget.used(Quantity::Objects), 3);
    assert!(budget.used(Quantity::HostBytes) < held);
    drop(ctx);
    assert_eq!(budget.used(Quantity::Objects), 0);
    assert_eq!(budget.used(Quantity::HostBytes), 0);
}

/// Draws are deferred and rasterized together at the end of the pass: the image is the one a
/// rasterization after every draw gives (here forced by a command that is not a bind, state
/// or draw), with overlapping alpha-blended quads over several tiles.
#[test]
fn a_pass_of_blended_draws_matches_a_flush_after_each_draw() {
    const WIDTH: u32 = 96;
    const HEIGHT: u32 = 16;
    let quads: [(f32, f32, [f32; 4]); 5] = [
        (-1.0, 1.0, [1.0, 0.0, 0.0, 0.5]),
        (-0.5, 0.6, [0.0, 1.0, 0.0, 0.5]),
        (0.2, 0.9, [0.0, 0.0, 1.0, 0.7]),
        (-0.9, 0.3, [1.0, 1.0, 0.0, 0.3]),
        (-0.2, 1.0, [0.0, 1.0, 1.0, 0.6]),
    ];
    let render = |flush_each: bool| {
        let r = resources();
        let mut ctx = context();
        // vec2 position + vec4 colour, stride 24, as `pipeline_info` reads them.
        let geometry: Vec<u8> = quads
            .iter()
            .flat_map(|&(x0, x1, color)| {
                quad_corners(x0, x1)
                    .into_iter()
                    .flat_map(move |p| p.into_iter().chain(color))
            })
            .flat_map(f32::to_le_bytes)
            .collect();
        r.write(MEMORY, GEOMETRY, &geometry);
        let mut setup = transfer_buffers();
        let color_usage = image_usage::COLOR_ATTACHMENT | image_usage::TRANSFER_SRC;
        setup.extend(create_image(
            10,
            image_info(Format::R8G8B8A8_UNORM, [WIDTH, HEIGHT], 0, color_usage),
            IMAGE_MEMORY,
        ));
        setup.push(view(20, 10, Format::R8G8B8A8_UNORM, aspect::COLOR));
        setup.extend(vertex_buffer(geometry.len() as u64));
        setup.extend(modules_and_layout());
        let mut info = pipeline_info();
        if let Some(blend) = info.color_blend.as_mut() {
            let a = &mut blend.attachments[0];
            a.blend_enable = true;
            // SRC_ALPHA, ONE_MINUS_SRC_ALPHA, ADD.
            (a.src_color_blend_factor, a.dst_color_blend_factor) = (6, 7);
            (a.src_alpha_blend_factor, a.dst_alpha_blend_factor) = (6, 7);
        }
        setup.push(create_pipeline(PIPELINE, info, 0));
        let mut cmds = vec![CmdBeginRendering {
            flags: 0,
            render_area: area_of(WIDTH, HEIGHT),
            layer_count: 1,
            view_mask: 0,
            color_attachments: vec![RenderingAttachment {
                view: 20,
                resolve_mode: 0,
                resolve_view: 0,
                load_op: 1,
                store_op: 0,
                clear_value: [
                    0.1f32.to_bits(),
                    0.2f32.to_bits(),
                    0.3f32.to_bits(),
                    1.0f32.to_bits(),
                ],
            }],
            depth_attachment: None,
            stencil_attachment: None,
        }
        .into()];
        cmds.push(CmdBindGraphicsPipeline { pipeline: PIPELINE }.into());
        cmds.push(
            CmdBindVertexBuffers {
                first_binding: 0,
                buffers: vec![VERTICES],
                offsets: vec![0],
                sizes: vec![],
                strides: vec![],
            }
            .into(),
        );
        cmds.push(
            CmdSetDynamicState {
                state: DynamicState::Viewport {
                    first: 0,
                    viewports: vec![Viewport {
                        x: 0.0,
                        y: 0.0,
                        width: WIDTH as f32,
                        height: HEIGHT as f32,
                        min_depth: 0.0,
                        max_depth: 1.0,
                    }],
                },
            }
            .into(),
        );
        cmds.push(
            CmdSetDynamicState {
                state: DynamicState::Scissor {
                    first: 0,
                    scissors: vec![area_of(WIDTH, HEIGHT)],
                },
            }
            .into(),
        );
        for i in 0..quads.len() as u32 {
            cmds.push(
                CmdDraw {
                    vertex_count: 6,
                    instance_count: 1,
                    first_vertex: 6 * i,
                    first_instance: 0,
                }
                .into(),
            );
            if flush_each {
                cmds.push(
                    CmdWriteGuestU32 {
                        dst: at(MEMORY, GEOMETRY + 4000),
                        value: i,
                    }
                    .into(),
                );
            }
        }
        cmds.push(CmdEndRendering {}.into());
        cmds.push(
            CmdCopyImageToBuffer {
                image: 10,
                buffer: DST,
                regions: vec![region(0, aspect::COLOR, [0, 0], [WIDTH, HEIGHT])],
            }
            .into(),
        );
        run(&mut ctx, &r, setup, cmds);
        assert_eq!(reply(&r, 0).map(|p| p.result), Some(vk_result::SUCCESS));
        r.read(MEMORY, DST_OFFSET, (WIDTH * HEIGHT * 4) as usize)
    };
    let together = render(false);
    let flushed = render(true);
    assert!(together == flushed, "the images differ");
    // Column 36 lies under quads 0, 1 and 3, column 2 under quad 0 only, column 94 under
    // quads 0 and 4.
    let texel = |x: usize| &together[(8 * WIDTH as usize + x) * 4..][..4];
    assert_ne!(texel(36), texel(2));
    assert_ne!(texel(94), texel(2));
}

fn area_of(width: u32, height: u32) -> Rect2D {
    Rect2D {
        offset: [0, 0],
        extent: [width, height],
    }
}
