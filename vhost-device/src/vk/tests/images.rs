//! Images end to end through encoded streams: creation and binding, copies buffer → image →
//! buffer in several formats and tilings, clears read back, and the client limits. Helpers
//! here are shared by the render pass and graphics tests.

use protocol::format::{aspect, Format};
use protocol::graphics::*;
use protocol::stream::*;

use super::super::image::usage as image_usage;
use super::*;

/// Buffer 1 (transfer source, at 0) and 2 (transfer destination, at 8 KiB), 8 KiB each.
pub(super) const SRC: u64 = 1;
pub(super) const DST: u64 = 2;
pub(super) const DST_OFFSET: u64 = 8192;
/// Images live from here on in the memory resource.
pub(super) const IMAGE_MEMORY: u64 = 16384;

pub(super) fn transfer_buffers() -> Vec<Command> {
    let both = usage::TRANSFER_SRC | usage::TRANSFER_DST;
    vec![
        CreateBuffer {
            id: SRC,
            size: 8192,
            usage: both,
        }
        .into(),
        BindBufferMemory {
            buffer: SRC,
            memory: at(MEMORY, 0),
        }
        .into(),
        CreateBuffer {
            id: DST,
            size: 8192,
            usage: both,
        }
        .into(),
        BindBufferMemory {
            buffer: DST,
            memory: at(MEMORY, DST_OFFSET),
        }
        .into(),
    ]
}

pub(super) fn image_info(
    format: Format,
    extent: [u32; 2],
    tiling: u32,
    usage_bits: u32,
) -> ImageCreateInfo {
    ImageCreateInfo {
        flags: 0,
        image_type: 1,
        format: format.vk(),
        extent: [extent[0], extent[1], 1],
        mip_levels: 1,
        array_layers: 1,
        samples: 1,
        tiling,
        usage: usage_bits,
    }
}

pub(super) fn create_image(id: u64, info: ImageCreateInfo, offset: u64) -> Vec<Command> {
    vec![
        CreateImage { id, info }.into(),
        BindImageMemory {
            image: id,
            memory: at(MEMORY, offset),
        }
        .into(),
    ]
}

pub(super) fn view(id: u64, image: u64, format: Format, aspect_mask: u32) -> Command {
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

pub(super) fn layers(aspect_mask: u32) -> ImageSubresourceLayers {
    ImageSubresourceLayers {
        aspect_mask,
        mip_level: 0,
        base_array_layer: 0,
        layer_count: 1,
    }
}

pub(super) fn region(
    buffer_offset: u64,
    aspect_mask: u32,
    offset: [i32; 2],
    extent: [u32; 2],
) -> BufferImageCopy {
    BufferImageCopy {
        buffer_offset,
        buffer_row_length: 0,
        buffer_image_height: 0,
        image_subresource: layers(aspect_mask),
        image_offset: [offset[0], offset[1], 0],
        image_extent: [extent[0], extent[1], 1],
    }
}

pub(super) fn full_range(aspect_mask: u32) -> ImageSubresourceRange {
    ImageSubresourceRange {
        aspect_mask,
        base_mip_level: 0,
        level_count: REMAINING_COUNT,
        base_array_layer: 0,
        layer_count: REMAINING_COUNT,
    }
}

const REMAINING_COUNT: u32 = u32::MAX;

/// Runs `cmds` as one command buffer after `setup` at top level.
pub(super) fn run(ctx: &mut VkContext, r: &FakeResources, setup: Vec<Command>, cmds: Vec<Command>) {
    let cb = record(r, cmds);
    let mut all = setup;
    all.push(run_only(cb));
    ctx.submit(&stream(all), r).unwrap();
}

/// The error of running `cmds` as one command buffer after `setup`.
pub(super) fn run_error(
    ctx: &mut VkContext,
    r: &FakeResources,
    setup: Vec<Command>,
    cmds: Vec<Command>,
) -> String {
    let cb = record(r, cmds);
    let mut all = setup;
    all.push(run_only(cb));
    error_of(ctx, r, all)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn buffer_image_buffer_round_trips_in_several_formats_and_tilings() {
    let formats = [
        (Format::R8_UNORM, aspect::COLOR),
        (Format::R8G8B8A8_SRGB, aspect::COLOR),
        (Format::B8G8R8A8_UNORM, aspect::COLOR),
        (Format::R16G16_SINT, aspect::COLOR),
        (Format::R32G32B32A32_UINT, aspect::COLOR),
        (Format::A2B10G10R10_UNORM_PACK32, aspect::COLOR),
        (Format::D16_UNORM, aspect::DEPTH),
        (Format::S8_UINT, aspect::STENCIL),
    ];
    let (w, h) = (7u32, 5u32);
    for (format, aspect_mask) in formats {
        // Depth/stencil LINEAR images are transfer-only, which is all this needs.
        for tiling in [0, 1] {
            let r = resources();
            let mut ctx = context();
            let usage_bits = image_usage::TRANSFER_SRC | image_usage::TRANSFER_DST;
            let texel = format.aspect_copy_size(aspect_mask).unwrap() as usize;
            let bytes = pattern(texel * (w * h) as usize, format.vk() as u8);
            r.write(MEMORY, 0, &bytes);
            let mut setup = transfer_buffers();
            setup.extend(create_image(
                10,
                image_info(format, [w, h], tiling, usage_bits),
                IMAGE_MEMORY,
            ));
            run(
                &mut ctx,
                &r,
                setup,
                vec![
                    CmdCopyBufferToImage {
                        buffer: SRC,
                        image: 10,
                        regions: vec![region(0, aspect_mask, [0, 0], [w, h])],
                    }
                    .into(),
                    CmdCopyImageToBuffer {
                        image: 10,
                        buffer: DST,
                        regions: vec![region(0, aspect_mask, [0, 0], [w, h])],
                    }
                    .into(),
                ],
            );
            assert_eq!(
                r.read(MEMORY, DST_OFFSET, bytes.len()),
                bytes,
                "{format:?} tiling {tiling}"
            );
        }
    }
}

#[test]
fn depth_stencil_aspects_copy_separately_and_image_to_image_copies_keep_texels() {
    let r = resources();
    let mut ctx = context();
    let usage_bits = image_usage::TRANSFER_SRC | image_usage::TRANSFER_DST;
    let (w, h) = (4u32, 4u32);
    let depth: Vec<u8> = (0..w * h)
        .flat_map(|i| ((i * 0x0001_0101) & 0x00ff_ffff).to_le_bytes())
        .collect();
    let stencil: Vec<u8> = (0..(w * h) as u8).map(|i| 200 - i).collect();
    r.write(MEMORY, 0, &depth);
    r.write(MEMORY, 1024, &stencil);
    let mut setup = transfer_buffers();
    let info = image_info(Format::D24_UNORM_S8_UINT, [w, h], 0, usage_bits);
    setup.extend(create_image(10, info, IMAGE_MEMORY));
    setup.extend(create_image(11, info, IMAGE_MEMORY + 4096));
    let whole = |a| region(0, a, [0, 0], [w, h]);
    run(
        &mut ctx,
        &r,
        setup,
        vec![
            CmdCopyBufferToImage {
                buffer: SRC,
                image: 10,
                regions: vec![whole(aspect::DEPTH)],
            }
            .into(),
            CmdCopyBufferToImage {
                buffer: SRC,
                image: 10,
                regions: vec![BufferImageCopy {
                    buffer_offset: 1024,
                    ..whole(aspect::STENCIL)
                }],
            }
            .into(),
            CmdCopyImage {
                src: 10,
                dst: 11,
                regions: vec![ImageCopy {
                    src_subresource: layers(aspect::DEPTH | aspect::STENCIL),
                    src_offset: [0, 0, 0],
                    dst_subresource: layers(aspect::DEPTH | aspect::STENCIL),
                    dst_offset: [0, 0, 0],
                    extent: [w, h, 1],
                }],
            }
            .into(),
            CmdCopyImageToBuffer {
                image: 11,
                buffer: DST,
                regions: vec![whole(aspect::DEPTH)],
            }
            .into(),
            CmdCopyImageToBuffer {
                image: 11,
                buffer: DST,
                regions: vec![BufferImageCopy {
                    buffer_offset: 1024,
                    ..whole(aspect::STENCIL)
                }],
            }
            .into(),
        ],
    );
    assert_eq!(r.read(MEMORY, DST_OFFSET, depth.len()), depth);
    assert_eq!(r.read(MEMORY, DST_OFFSET + 1024, stencil.len()), stencil);
}

#[test]
fn clears_of_color_and_depth_images_read_back_packed() {
    let r = resources();
    let mut ctx = context();
    let usage_bits = image_usage::TRANSFER_SRC | image_usage::TRANSFER_DST;
    let mut setup = transfer_buffers();
    setup.extend(create_image(
        10,
        image_info(Format::R8G8B8A8_UNORM, [4, 4], 0, usage_bits),
        IMAGE_MEMORY,
    ));
    setup.extend(create_image(
        11,
        image_info(Format::D32_SFLOAT, [4, 4], 0, usage_bits),
        IMAGE_MEMORY + 4096,
    ));
    setup.extend(create_image(
        12,
        image_info(Format::R32_SINT, [4, 4], 1, usage_bits),
        IMAGE_MEMORY + 8192,
    ));
    let color = [1.0f32, 0.0, 0.5, 1.0].map(f32::to_bits);
    run(
        &mut ctx,
        &r,
        setup,
        vec![
            CmdClearColorImage {
                image: 10,
                color,
                ranges: vec![full_range(aspect::COLOR)],
            }
            .into(),
            CmdClearDepthStencilImage {
                image: 11,
                depth: 0.75,
                stencil: 0,
                ranges: vec![full_range(aspect::DEPTH)],
            }
            .into(),
            CmdClearColorImage {
                image: 12,
                color: [(-5i32) as u32, 0, 0, 0],
                ranges: vec![full_range(aspect::COLOR)],
            }
            .into(),
            CmdCopyImageToBuffer {
                image: 10,
                buffer: DST,
                regions: vec![region(0, aspect::COLOR, [0, 0], [4, 4])],
            }
            .into(),
            CmdCopyImageToBuffer {
                image: 11,
                buffer: DST,
                regions: vec![region(64, aspect::DEPTH, [0, 0], [4, 4])],
            }
            .into(),
            CmdCopyImageToBuffer {
                image: 12,
                buffer: DST,
                regions: vec![region(128, aspect::COLOR, [0, 0], [4, 4])],
            }
            .into(),
        ],
    );
    let rgba = r.read(MEMORY, DST_OFFSET, 64);
    assert!(
        rgba.chunks_exact(4).all(|t| t == [255, 0, 128, 255]),
        "{rgba:?}"
    );
    assert!(floats(&r.read(MEMORY, DST_OFFSET + 64, 64))
        .iter()
        .all(|&d| d == 0.75));
    let ints = r.read(MEMORY, DST_OFFSET + 128, 64);
    assert!(ints
        .chunks_exact(4)
        .all(|t| i32::from_le_bytes([t[0], t[1], t[2], t[3]]) == -5));
}

#[test]
fn image_objects_count_against_the_client_limits_and_are_returned_on_destroy() {
    use super::super::limits::{ClientBudget, ClientLimits, Quantity};
    let r = resources();
    let budget = ClientBudget::new(ClientLimits {
        max_objects: 3,
        ..ClientLimits::default()
    });
    let mut ctx = VkContext::with_budget(device(), budget.clone(), 1, "limits");
    let xfer = image_usage::TRANSFER_SRC;
    let mut setup = create_image(
        1,
        image_info(Format::R8_UNORM, [4, 4], 0, xfer),
        IMAGE_MEMORY,
    );
    setup.push(view(2, 1, Format::R8_UNORM, aspect::COLOR));
    setup.push(
        CreateImage {
            id: 3,
            info: image_info(Format::R8_UNORM, [4, 4], 0, xfer),
        }
        .into(),
    );
    ctx.submit(&stream(setup), &r).unwrap();
    let m = error_of(
        &mut ctx,
        &r,
        vec![CreateImage {
            id: 4,
            info: image_info(Format::R8_UNORM, [4, 4], 0, xfer),
        }
        .into()],
    );
    assert!(m.contains("already holds 3 objects"), "{m}");
    let m = error_of(
        &mut ctx,
        &r,
        vec![view(5, 1, Format::R8_UNORM, aspect::COLOR)],
    );
    assert!(m.contains("already holds 3 objects"), "{m}");
    ctx.submit(
        &stream(vec![
            DestroyImageView { id: 2 }.into(),
            DestroyImage { id: 3 }.into(),
        ]),
        &r,
    )
    .unwrap();
    assert_eq!(budget.used(Quantity::Objects), 1);
    drop(ctx);
    assert_eq!(budget.used(Quantity::Objects), 0);
    assert_eq!(budget.used(Quantity::HostBytes), 0);
}
