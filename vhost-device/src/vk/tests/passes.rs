//! Render pass instances end to end: render pass and dynamic-rendering load ops read back,
//! vkCmdClearAttachments, and every malformed image or pass command refused without a panic.

use protocol::format::{aspect, Format};
use protocol::graphics::*;
use protocol::stream::*;

use super::super::image::usage as image_usage;
use super::images::{
    create_image, full_range, image_info, region, run, run_error, transfer_buffers, view, DST,
    DST_OFFSET, IMAGE_MEMORY, SRC,
};
use super::*;

/// A colour image 10 (8×8 RGBA8, view 20) and a D24S8 image 11 (view 21), both attachments
/// and transfer sources/destinations, zeroed by clears, in render pass 30 / framebuffer 31:
/// subpass 0 uses colour 0; subpass 1 uses colour 0 and depth 1; both attachments clear.
fn pass_setup() -> Vec<Command> {
    let color_usage =
        image_usage::COLOR_ATTACHMENT | image_usage::TRANSFER_SRC | image_usage::TRANSFER_DST;
    let ds_usage = image_usage::DEPTH_STENCIL_ATTACHMENT
        | image_usage::TRANSFER_SRC
        | image_usage::TRANSFER_DST;
    let mut setup = transfer_buffers();
    setup.extend(create_image(
        10,
        image_info(Format::R8G8B8A8_UNORM, [8, 8], 0, color_usage),
        IMAGE_MEMORY,
    ));
    setup.extend(create_image(
        11,
        image_info(Format::D24_UNORM_S8_UINT, [8, 8], 0, ds_usage),
        IMAGE_MEMORY + 4096,
    ));
    setup.push(view(20, 10, Format::R8G8B8A8_UNORM, aspect::COLOR));
    setup.push(view(
        21,
        11,
        Format::D24_UNORM_S8_UINT,
        aspect::DEPTH | aspect::STENCIL,
    ));
    let attachment = |format: Format| AttachmentDescription {
        flags: 0,
        format: format.vk(),
        samples: 1,
        load_op: 1,
        store_op: 0,
        stencil_load_op: 1,
        stencil_store_op: 0,
    };
    let reference = |attachment| AttachmentReference {
        attachment,
        aspect_mask: 0,
    };
    let subpass = |depth: Option<u32>| SubpassDescription {
        flags: 0,
        input_attachments: vec![],
        color_attachments: vec![reference(0)],
        resolve_attachments: vec![],
        depth_stencil_attachment: depth.map(reference),
        preserve_attachments: vec![],
        view_mask: 0,
    };
    setup.push(
        CreateRenderPass {
            id: 30,
            attachments: vec![
                attachment(Format::R8G8B8A8_UNORM),
                attachment(Format::D24_UNORM_S8_UINT),
            ],
            subpasses: vec![subpass(None), subpass(Some(1))],
        }
        .into(),
    );
    setup.push(
        CreateFramebuffer {
            id: 31,
            render_pass: 30,
            attachments: vec![20, 21],
            width: 8,
            height: 8,
            layers: 1,
        }
        .into(),
    );
    setup
}

fn area(x: i32, y: i32, w: u32, h: u32) -> Rect2D {
    Rect2D {
        offset: [x, y],
        extent: [w, h],
    }
}

fn zero_images() -> Vec<Command> {
    vec![
        CmdClearColorImage {
            image: 10,
            color: [0; 4],
            ranges: vec![full_range(aspect::COLOR)],
        }
        .into(),
        CmdClearDepthStencilImage {
            image: 11,
            depth: 0.0,
            stencil: 0,
            ranges: vec![full_range(aspect::DEPTH | aspect::STENCIL)],
        }
        .into(),
    ]
}

fn read_back() -> Vec<Command> {
    vec![
        CmdCopyImageToBuffer {
            image: 10,
            buffer: DST,
            regions: vec![region(0, aspect::COLOR, [0, 0], [8, 8])],
        }
        .into(),
        CmdCopyImageToBuffer {
            image: 11,
            buffer: DST,
            regions: vec![region(256, aspect::DEPTH, [0, 0], [8, 8])],
        }
        .into(),
        CmdCopyImageToBuffer {
            image: 11,
            buffer: DST,
            regions: vec![region(512, aspect::STENCIL, [0, 0], [8, 8])],
        }
        .into(),
    ]
}

/// (colour texel, depth as 24-bit unorm, stencil) at (x, y) of what [`read_back`] copied.
fn texel_at(r: &FakeResources, x: usize, y: usize) -> ([u8; 4], u32, u8) {
    let i = y * 8 + x;
    let c = r.read(MEMORY, DST_OFFSET + i as u64 * 4, 4);
    let d = r.read(MEMORY, DST_OFFSET + 256 + i as u64 * 4, 4);
    let s = r.read(MEMORY, DST_OFFSET + 512 + i as u64, 1);
    (
        [c[0], c[1], c[2], c[3]],
        u32::from_le_bytes([d[0], d[1], d[2], d[3]]) & 0xff_ffff,
        s[0],
    )
}

#[test]
fn render_pass_load_op_clear_clears_the_render_area_on_first_use() {
    let r = resources();
    let mut ctx = context();
    let red = [1.0f32, 0.0, 0.0, 1.0].map(f32::to_bits);
    let depth_clear = [1.0f32.to_bits(), 7, 0, 0];
    let mut cmds = zero_images();
    cmds.push(
        CmdBeginRenderPass {
            render_pass: 30,
            framebuffer: 31,
            render_area: area(2, 1, 4, 5),
            clear_values: vec![red, depth_clear],
        }
        .into(),
    );
    cmds.push(CmdNextSubpass {}.into());
    cmds.push(CmdEndRenderPass {}.into());
    cmds.extend(read_back());
    run(&mut ctx, &r, pass_setup(), cmds);
    for y in 0..8 {
        for x in 0..8 {
            let inside = (2..6).contains(&x) && (1..6).contains(&y);
            let (c, d, s) = texel_at(&r, x, y);
            if inside {
                assert_eq!((c, d, s), ([255, 0, 0, 255], 0xff_ffff, 7), "({x}, {y})");
            } else {
                assert_eq!((c, d, s), ([0; 4], 0, 0), "({x}, {y})");
            }
        }
    }
}

#[test]
fn dynamic_rendering_clears_unless_resuming_and_clear_attachments_clears_rects() {
    let r = resources();
    let mut ctx = context();
    let green = [0.0f32, 1.0, 0.0, 1.0].map(f32::to_bits);
    let rendering = |flags, load_op| CmdBeginRendering {
        flags,
        render_area: area(0, 0, 8, 8),
        layer_count: 1,
        view_mask: 0,
        color_attachments: vec![RenderingAttachment {
            view: 20,
            resolve_mode: 0,
            resolve_view: 0,
            load_op,
            store_op: 0,
            clear_value: green,
        }],
        depth_attachment: Some(RenderingAttachment {
            view: 21,
            resolve_mode: 0,
            resolve_view: 0,
            load_op: 0,
            store_op: 1,
            clear_value: [0; 4],
        }),
        stencil_attachment: None,
    };
    let mut cmds = zero_images();
    // Resuming performs no load: the image stays zero.
    cmds.push(rendering(4, 1).into());
    cmds.push(CmdEndRendering {}.into());
    cmds.extend(read_back());
    run(&mut ctx, &r, pass_setup(), cmds);
    assert_eq!(texel_at(&r, 3, 3).0, [0; 4]);

    let mut cmds = vec![rendering(0, 1).into()];
    cmds.push(
        CmdClearAttachments {
            attachments: vec![
                ClearAttachment {
                    aspect_mask: aspect::COLOR,
                    color_attachment: 0,
                    value: [0, 0, 1.0f32.to_bits(), 0],
                },
                ClearAttachment {
                    aspect_mask: aspect::STENCIL,
                    color_attachment: 0,
                    value: [0, 9, 0, 0],
                },
            ],
            rects: vec![ClearRect {
                rect: area(0, 0, 1, 2),
                base_array_layer: 0,
                layer_count: 1,
            }],
        }
        .into(),
    );
    cmds.push(CmdEndRendering {}.into());
    cmds.extend(read_back());
    run(&mut ctx, &r, vec![], cmds);
    assert_eq!(texel_at(&r, 0, 1), ([0, 0, 255, 0], 0, 9));
    assert_eq!(texel_at(&r, 1, 1), ([0, 255, 0, 255], 0, 0));
}

#[test]
fn malformed_image_and_pass_commands_fail_the_submission_with_a_named_error() {
    let r = resources();
    let mut ctx = context();
    ctx.submit(&stream(pass_setup()), &r).unwrap();
    let xfer = image_usage::TRANSFER_SRC | image_usage::TRANSFER_DST;
    let top_level: Vec<(Vec<Command>, &str)> = vec![
        (
            vec![CreateImage {
                id: 40,
                info: ImageCreateInfo {
                    samples: 4,
                    ..image_info(Format::R8_UNORM, [4, 4], 0, xfer)
                },
            }
            .into()],
            "samples",
        ),
        (
            vec![CreateImage {
                id: 10,
                info: image_info(Format::R8_UNORM, [4, 4], 0, xfer),
            }
            .into()],
            "already exists",
        ),
        (
            create_image(
                41,
                image_info(Format::R8_UNORM, [4, 4], 0, xfer),
                IMAGE_MEMORY + 3,
            ),
            "multiple",
        ),
        (
            create_image(
                42,
                image_info(Format::R8_UNORM, [4096, 4096], 0, xfer),
                IMAGE_MEMORY,
            ),
            "outside resource",
        ),
        (
            vec![BindImageMemory {
                image: 10,
                memory: at(MEMORY, 0),
            }
            .into()],
            "already bound",
        ),
        (
            vec![
                CreateImage {
                    id: 43,
                    info: image_info(Format::R8_UNORM, [4, 4], 0, xfer),
                }
                .into(),
                view(44, 43, Format::R8_UNORM, aspect::COLOR),
            ],
            "no memory",
        ),
        (
            vec![view(45, 99, Format::R8_UNORM, aspect::COLOR)],
            "image 99 does not exist",
        ),
        (
            vec![CreateFramebuffer {
                id: 46,
                render_pass: 30,
                attachments: vec![20],
                width: 8,
                height: 8,
                layers: 1,
            }
            .into()],
            "views for a render pass",
        ),
        (
            vec![CreateFramebuffer {
                id: 46,
                render_pass: 30,
                attachments: vec![21, 20],
                width: 8,
                height: 8,
                layers: 1,
            }
            .into()],
            "format",
        ),
        (
            vec![CreateFramebuffer {
                id: 46,
                render_pass: 30,
                attachments: vec![20, 21],
                width: 9,
                height: 8,
                layers: 1,
            }
            .into()],
            "smaller",
        ),
        (
            vec![CreateRenderPass {
                id: 47,
                attachments: vec![],
                subpasses: vec![],
            }
            .into()],
            "subpasses",
        ),
        (
            vec![CmdDraw {
                vertex_count: 3,
                instance_count: 1,
                first_vertex: 0,
                first_instance: 0,
            }
            .into()],
            "outside a command buffer",
        ),
    ];
    for (cmds, want) in top_level {
        let m = error_of(&mut ctx, &r, cmds);
        assert!(m.contains(want), "{want}: {m}");
    }
    let begin = |render_area, clear_values| -> Command {
        CmdBeginRenderPass {
            render_pass: 30,
            framebuffer: 31,
            render_area,
            clear_values,
        }
        .into()
    };
    let two = vec![[0; 4], [0; 4]];
    let recorded: Vec<(Vec<Command>, &str)> = vec![
        (
            vec![CmdCopyImageToBuffer {
                image: 10,
                buffer: DST,
                regions: vec![region(0, aspect::COLOR, [6, 0], [4, 4])],
            }
            .into()],
            "region",
        ),
        (
            vec![CmdCopyImageToBuffer {
                image: 10,
                buffer: DST,
                regions: vec![region(8190, aspect::COLOR, [0, 0], [1, 1])],
            }
            .into()],
            "buffer",
        ),
        (
            vec![CmdCopyImageToBuffer {
                image: 10,
                buffer: DST,
                regions: vec![],
            }
            .into()],
            "none given",
        ),
        (
            vec![CmdClearColorImage {
                image: 11,
                color: [0; 4],
                ranges: vec![full_range(aspect::COLOR)],
            }
            .into()],
            "not a color format",
        ),
        (
            vec![CmdClearColorImage {
                image: 10,
                color: [0; 4],
                ranges: vec![ImageSubresourceRange {
                    base_mip_level: 1,
                    ..full_range(aspect::COLOR)
                }],
            }
            .into()],
            "mip",
        ),
        (
            vec![CmdClearDepthStencilImage {
                image: 11,
                depth: 2.0,
                stencil: 0,
                ranges: vec![full_range(aspect::DEPTH)],
            }
            .into()],
            "depth",
        ),
        (
            vec![
                begin(area(0, 0, 8, 8), two.clone()),
                CmdClearColorImage {
                    image: 10,
                    color: [0; 4],
                    ranges: vec![full_range(aspect::COLOR)],
                }
                .into(),
            ],
            "inside a render pass",
        ),
        (vec![begin(area(4, 4, 8, 8), two.clone())], "render area"),
        (vec![begin(area(-1, 0, 2, 2), two.clone())], "render area"),
        (vec![begin(area(0, 0, 8, 8), vec![[0; 4]])], "clear value"),
        (
            vec![
                begin(area(0, 0, 8, 8), two.clone()),
                CmdEndRenderPass {}.into(),
            ],
            "not the last",
        ),
        (
            vec![
                begin(area(0, 0, 8, 8), two.clone()),
                CmdNextSubpass {}.into(),
                CmdNextSubpass {}.into(),
            ],
            "no subpass after",
        ),
        (
            vec![
                begin(area(0, 0, 8, 8), two.clone()),
                CmdNextSubpass {}.into(),
            ],
            "ends inside a render pass",
        ),
        (
            vec![
                begin(area(0, 0, 8, 8), two.clone()),
                begin(area(0, 0, 8, 8), two.clone()),
            ],
            "inside a render pass",
        ),
        (vec![CmdEndRenderPass {}.into()], "outside a render pass"),
        (vec![CmdEndRendering {}.into()], "outside a render pass"),
        (vec![CmdNextSubpass {}.into()], "outside a render pass"),
        (
            vec![CmdDraw {
                vertex_count: 3,
                instance_count: 1,
                first_vertex: 0,
                first_instance: 0,
            }
            .into()],
            "outside a render pass",
        ),
        (
            vec![
                begin(area(0, 0, 8, 8), two.clone()),
                CmdDraw {
                    vertex_count: 3,
                    instance_count: 1,
                    first_vertex: 0,
                    first_instance: 0,
                }
                .into(),
            ],
            "no graphics pipeline",
        ),
        (
            vec![
                begin(area(0, 0, 8, 8), two.clone()),
                CmdClearAttachments {
                    attachments: vec![],
                    rects: vec![ClearRect {
                        rect: area(0, 0, 1, 1),
                        base_array_layer: 1,
                        layer_count: 1,
                    }],
                }
                .into(),
            ],
            "layers",
        ),
        (
            vec![
                begin(area(0, 0, 4, 4), two.clone()),
                CmdClearAttachments {
                    attachments: vec![ClearAttachment {
                        aspect_mask: aspect::COLOR,
                        color_attachment: 0,
                        value: [0; 4],
                    }],
                    rects: vec![ClearRect {
                        rect: area(2, 2, 4, 4),
                        base_array_layer: 0,
                        layer_count: 1,
                    }],
                }
                .into(),
            ],
            "render area",
        ),
        (
            vec![CmdBindGraphicsPipeline { pipeline: 77 }.into()],
            "pipeline 77 does not exist",
        ),
        (
            vec![CmdBindVertexBuffers {
                first_binding: 31,
                buffers: vec![SRC, SRC],
                offsets: vec![0, 0],
                sizes: vec![],
                strides: vec![],
            }
            .into()],
            "vertex bindings",
        ),
        (
            vec![CmdBindVertexBuffers {
                first_binding: 0,
                buffers: vec![SRC],
                offsets: vec![0],
                sizes: vec![],
                strides: vec![],
            }
            .into()],
            "lacks usage",
        ),
        (
            vec![CmdBindIndexBuffer {
                buffer: SRC,
                offset: 0,
                index_type: 7,
            }
            .into()],
            "VkIndexType",
        ),
        (
            vec![CmdSetDynamicState {
                state: DynamicState::Viewport {
                    first: 1,
                    viewports: vec![],
                },
            }
            .into()],
            "viewports",
        ),
        (
            vec![CmdSetDynamicState {
                state: DynamicState::StencilReference {
                    faces: 0,
                    reference: 1,
                },
            }
            .into()],
            "face mask",
        ),
        (
            vec![CmdSetDynamicState {
                state: DynamicState::DepthBounds {
                    min: -1.0,
                    max: 1.0,
                },
            }
            .into()],
            "depth bounds",
        ),
        (
            vec![CmdBeginRendering {
                flags: 0,
                render_area: area(0, 0, 8, 8),
                layer_count: 1,
                view_mask: 0,
                color_attachments: vec![RenderingAttachment {
                    view: 21,
                    resolve_mode: 0,
                    resolve_view: 0,
                    load_op: 0,
                    store_op: 0,
                    clear_value: [0; 4],
                }],
                depth_attachment: None,
                stencil_attachment: None,
            }
            .into()],
            "lacks usage",
        ),
    ];
    for (cmds, want) in recorded {
        let m = run_error(&mut ctx, &r, vec![], cmds);
        assert!(m.contains(want), "{want}: {m}");
    }
    // Nothing was left half-created or leaked: the context still works.
    run(&mut ctx, &r, vec![], zero_images());
}

/// Every single-byte corruption of a setup stream and of a recorded command buffer (object
/// creation, clears, copies, a render pass with clear attachments) is either run or refused
/// with an error — never a panic — and leaves the context usable.
#[test]
fn corrupted_streams_of_graphics_commands_are_refused_without_a_panic() {
    let r = resources();
    let red = [1.0f32, 0.0, 0.0, 1.0].map(f32::to_bits);
    let mut cmds = zero_images();
    cmds.push(
        CmdBeginRenderPass {
            render_pass: 30,
            framebuffer: 31,
            render_area: area(1, 1, 6, 6),
            clear_values: vec![red, [0; 4]],
        }
        .into(),
    );
    cmds.push(
        CmdClearAttachments {
            attachments: vec![ClearAttachment {
                aspect_mask: aspect::COLOR,
                color_attachment: 0,
                value: red,
            }],
            rects: vec![ClearRect {
                rect: area(2, 2, 2, 2),
                base_array_layer: 0,
                layer_count: 1,
            }],
        }
        .into(),
    );
    cmds.push(CmdNextSubpass {}.into());
    cmds.push(CmdEndRenderPass {}.into());
    cmds.extend(read_back());
    let recorded = stream(cmds);
    let setup = stream(pass_setup());
    for (which, original) in [("setup", &setup), ("command buffer", &recorded)] {
        for at in 0..original.len() {
            for flip in [0xffu8, 0x80] {
                let mut ctx = context();
                let mut bytes = original.clone();
                bytes[at] ^= flip;
                let (top, cb) = if which == "setup" {
                    (bytes, recorded.clone())
                } else {
                    (setup.clone(), bytes)
                };
                r.write(COMMANDS, 0, &cb);
                let range = GuestRange {
                    resource: COMMANDS,
                    offset: 0,
                    len: cb.len() as u64,
                };
                // Either outcome is fine; reaching the next line is the point.
                let _ = ctx.submit(&top, &r);
                let _ = ctx.submit(&stream(vec![run_only(range)]), &r);
            }
        }
    }
    // A clean context still runs the original afterwards.
    let mut ctx = context();
    ctx.submit(&setup, &r).unwrap();
    r.write(COMMANDS, 0, &recorded);
    let range = GuestRange {
        resource: COMMANDS,
        offset: 0,
        len: recorded.len() as u64,
    };
    ctx.submit(&stream(vec![run_only(range)]), &r).unwrap();
    assert_eq!(texel_at(&r, 2, 2).0, [255, 0, 0, 255]);
}
