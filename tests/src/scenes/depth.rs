//! Scenes with a depth/stencil attachment: an indexed cube pair with depth, stencil masking,
//! and clipping (a triangle through the near plane, a huge one, one wholly outside).

use ash::vk;

use super::{color_desc, color_shaders, expect_rgba8, image, rgba8, vertex_buffer};
use crate::graphics::{
    bytes_of, mesh, Clear, GraphicsContext, GraphicsPipeline, HostBuffer, Mat4, PassMode, PosColor,
    ReadImage, RenderTarget,
};
use crate::GpuError;

const CUBE_SIZE: u32 = 256;
const FACE_COLORS: [[f32; 4]; 6] = [
    [0.9, 0.2, 0.2, 1.0],
    [0.2, 0.9, 0.2, 1.0],
    [0.2, 0.2, 0.9, 1.0],
    [0.9, 0.9, 0.2, 1.0],
    [0.2, 0.9, 0.9, 1.0],
    [0.9, 0.2, 0.9, 1.0],
];
const CUBE_BACKGROUND: [f32; 4] = [0.05, 0.05, 0.1, 1.0];

/// The model-view-projection of cube `i` of the depth scene.
fn cube_mvp(i: usize) -> Mat4 {
    let proj = Mat4::perspective(1.0, 1.0, 0.5, 20.0);
    let model = if i == 0 {
        Mat4::translate(-0.4, 0.0, -5.0)
            .mul(&Mat4::rotate_y(0.6))
            .mul(&Mat4::rotate_x(0.4))
    } else {
        Mat4::translate(0.6, 0.3, -5.5)
            .mul(&Mat4::rotate_y(-0.9))
            .mul(&Mat4::rotate_x(0.8))
            .mul(&Mat4::scale(0.9))
    };
    proj.mul(&model)
}

/// Two interpenetrating cubes drawn with 16-bit indices, back-face culling and a D32 depth
/// test; colour and depth are read back.
pub fn cube(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let mut target = RenderTarget::new(
        ctx,
        CUBE_SIZE,
        CUBE_SIZE,
        &[vk::Format::R8G8B8A8_UNORM],
        Some(vk::Format::D32_SFLOAT),
        PassMode::RenderPass,
    )?;
    target.clear = Clear::color(CUBE_BACKGROUND, 1);
    let shaders = color_shaders()?;
    let mut desc = color_desc(&shaders);
    desc.cull_mode = vk::CullModeFlags::BACK;
    desc.front_face = vk::FrontFace::COUNTER_CLOCKWISE;
    desc.depth_test = true;
    desc.depth_write = true;
    desc.depth_compare = vk::CompareOp::LESS;
    let pipeline = GraphicsPipeline::new(ctx, &desc, &target)?;
    let (verts, indices) = mesh::cube();
    let vertices: Vec<PosColor> = verts
        .iter()
        .map(|v| PosColor::new(v.pos[0], v.pos[1], v.pos[2], FACE_COLORS[v.face]))
        .collect();
    let vbuf = vertex_buffer(ctx, &vertices)?;
    let ibuf =
        HostBuffer::with_bytes(ctx, vk::BufferUsageFlags::INDEX_BUFFER, &bytes_of(&indices))?;
    target.render(|r| {
        r.pipeline(&pipeline);
        r.vertex_buffer(0, &vbuf);
        r.index_buffer(&ibuf, vk::IndexType::UINT16);
        for i in 0..2 {
            r.push(&pipeline, &cube_mvp(i).bytes())?;
            r.draw_indexed(indices.len() as u32, 1, 0, 0);
        }
        Ok(())
    })
}

pub fn check_cube(images: &[ReadImage]) -> Result<(), String> {
    let color = image(images, "color0")?;
    let depth = image(images, "depth")?;
    let background = super::unorm8(CUBE_BACKGROUND);
    expect_rgba8(color, 2, 2, background, 0)?;
    let face_colors: Vec<[u8; 4]> = FACE_COLORS.iter().map(|c| super::unorm8(*c)).collect();
    let mut drawn = 0;
    for y in 0..color.height {
        for x in 0..color.width {
            let p = rgba8(color, x, y);
            let d = depth.info.decode_channel(0, depth.codes(x, y)[0]);
            if p == background {
                if d != 1.0 {
                    return Err(format!("background pixel ({x}, {y}) has depth {d}"));
                }
                continue;
            }
            drawn += 1;
            let near_face = face_colors
                .iter()
                .any(|f| f.iter().zip(p).all(|(a, b)| a.abs_diff(b) <= 2));
            if !near_face {
                return Err(format!("pixel ({x}, {y}) is {p:?}, not a face colour"));
            }
            if !(0.0..1.0).contains(&d) {
                return Err(format!("drawn pixel ({x}, {y}) has depth {d}"));
            }
        }
    }
    if drawn < 5000 {
        return Err(format!("only {drawn} pixels drawn"));
    }
    Ok(())
}

const STENCIL_SIZE: u32 = 128;
const MARK: u32 = 0x80;
const INCREMENT_RECT: [f32; 4] = [90.0, 10.0, 120.0, 40.0];

/// The first of D24_UNORM_S8_UINT and D32_SFLOAT_S8_UINT the driver can attach.
fn stencil_format(ctx: &GraphicsContext) -> vk::Format {
    let d24 = vk::Format::D24_UNORM_S8_UINT;
    if ctx
        .format_features(d24)
        .contains(vk::FormatFeatureFlags::DEPTH_STENCIL_ATTACHMENT)
    {
        d24
    } else {
        vk::Format::D32_SFLOAT_S8_UINT
    }
}

fn stencil_state(compare: vk::CompareOp, pass: vk::StencilOp) -> vk::StencilOpState {
    vk::StencilOpState {
        fail_op: vk::StencilOp::KEEP,
        pass_op: pass,
        depth_fail_op: vk::StencilOp::KEEP,
        compare_op: compare,
        compare_mask: 0xff,
        write_mask: 0xff,
        reference: MARK,
    }
}

/// A diamond writes 0x80 into the stencil buffer (colour writes masked off), a square is
/// incremented twice; then a full-screen red quad passes where stencil == 0x80 and a blue one
/// where it is not. Colour and stencil are read back.
pub fn stencil(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let s = STENCIL_SIZE;
    let target = RenderTarget::new(
        ctx,
        s,
        s,
        &[vk::Format::R8G8B8A8_UNORM],
        Some(stencil_format(ctx)),
        PassMode::RenderPass,
    )?;
    let shaders = color_shaders()?;
    let masked = vk::PipelineColorBlendAttachmentState::default();
    let mut desc = color_desc(&shaders);
    desc.blend = vec![masked];
    desc.stencil = Some(stencil_state(vk::CompareOp::ALWAYS, vk::StencilOp::REPLACE));
    desc.dynamic_states = vec![vk::DynamicState::STENCIL_REFERENCE];
    let mark = GraphicsPipeline::new(ctx, &desc, &target)?;
    desc.stencil = Some(stencil_state(
        vk::CompareOp::ALWAYS,
        vk::StencilOp::INCREMENT_AND_CLAMP,
    ));
    let increment = GraphicsPipeline::new(ctx, &desc, &target)?;
    desc.blend = Vec::new();
    desc.dynamic_states = Vec::new();
    desc.stencil = Some(stencil_state(vk::CompareOp::EQUAL, vk::StencilOp::KEEP));
    let equal = GraphicsPipeline::new(ctx, &desc, &target)?;
    desc.stencil = Some(stencil_state(vk::CompareOp::NOT_EQUAL, vk::StencilOp::KEEP));
    let not_equal = GraphicsPipeline::new(ctx, &desc, &target)?;

    let white = [1.0; 4];
    let mut vertices = vec![
        PosColor::new(0.0, -0.7, 0.5, white),
        PosColor::new(0.7, 0.0, 0.5, white),
        PosColor::new(0.0, 0.7, 0.5, white),
        PosColor::new(0.0, -0.7, 0.5, white),
        PosColor::new(0.0, 0.7, 0.5, white),
        PosColor::new(-0.7, 0.0, 0.5, white),
    ];
    vertices.extend(super::quad((s, s), INCREMENT_RECT, 0.5, white));
    vertices.extend(super::quad(
        (s, s),
        [0.0, 0.0, s as f32, s as f32],
        0.5,
        [1.0, 0.0, 0.0, 1.0],
    ));
    vertices.extend(super::quad(
        (s, s),
        [0.0, 0.0, s as f32, s as f32],
        0.5,
        [0.0, 0.0, 1.0, 1.0],
    ));
    let vbuf = vertex_buffer(ctx, &vertices)?;
    let identity = Mat4::IDENTITY.bytes();
    target.render(|r| {
        r.vertex_buffer(0, &vbuf);
        r.pipeline(&mark);
        r.push(&mark, &identity)?;
        r.stencil_reference(MARK);
        r.draw(6, 1, 0, 0);
        r.pipeline(&increment);
        r.stencil_reference(0);
        r.draw(6, 1, 6, 0);
        r.draw(6, 1, 6, 0);
        r.pipeline(&equal);
        r.draw(6, 1, 12, 0);
        r.pipeline(&not_equal);
        r.draw(6, 1, 18, 0);
        Ok(())
    })
}

pub fn check_stencil(images: &[ReadImage]) -> Result<(), String> {
    let color = image(images, "color0")?;
    let stencil = image(images, "stencil")?;
    let (red, blue) = ([255, 0, 0, 255], [0, 0, 255, 255]);
    expect_rgba8(color, 64, 64, red, 0)?;
    expect_rgba8(color, 64, 30, red, 0)?;
    expect_rgba8(color, 5, 5, blue, 0)?;
    expect_rgba8(color, 105, 25, blue, 0)?;
    for y in 0..color.height {
        for x in 0..color.width {
            let p = rgba8(color, x, y);
            if p != red && p != blue {
                return Err(format!("pixel ({x}, {y}) is {p:?}, neither red nor blue"));
            }
            let s = stencil.codes(x, y)[0];
            if (p == red) != (s == u64::from(MARK)) {
                return Err(format!("pixel ({x}, {y}) is {p:?} with stencil {s:#x}"));
            }
        }
    }
    for (x, y, want) in [(64, 64, MARK), (105, 25, 2), (5, 5, 0)] {
        let s = stencil.codes(x, y)[0];
        if s != u64::from(want) {
            return Err(format!(
                "stencil at ({x}, {y}) is {s:#x}, expected {want:#x}"
            ));
        }
    }
    Ok(())
}

const CLIP_SIZE: u32 = 128;
const HUGE_COLOR: [f32; 4] = [0.0, 0.8, 0.0, 1.0];
const OUTSIDE_COLOR: [f32; 4] = [1.0, 0.0, 1.0, 1.0];

/// A floor triangle seen in perspective with one vertex behind the camera (crossing the near
/// plane and w = 0), a triangle whose vertices lie ±100,000 outside the viewport (covering the
/// half x + y < 0.25 of clip space), and one wholly outside the viewport; depth-tested.
pub fn clipping(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let s = CLIP_SIZE;
    let target = RenderTarget::new(
        ctx,
        s,
        s,
        &[vk::Format::R8G8B8A8_UNORM],
        Some(vk::Format::D32_SFLOAT),
        PassMode::RenderPass,
    )?;
    let shaders = color_shaders()?;
    let mut desc = color_desc(&shaders);
    desc.depth_test = true;
    desc.depth_write = true;
    let pipeline = GraphicsPipeline::new(ctx, &desc, &target)?;
    let big = 100_000.0f32;
    let vertices = [
        // Huge: the edge from (-big, big + 0.25) to (big, -big + 0.25) is x + y = 0.25.
        PosColor::new(-big, big + 0.25, 0.9, HUGE_COLOR),
        PosColor::new(big, -big + 0.25, 0.9, HUGE_COLOR),
        PosColor::new(-big, -big, 0.9, HUGE_COLOR),
        // Wholly right of the viewport.
        PosColor::new(1.5, -0.5, 0.1, OUTSIDE_COLOR),
        PosColor::new(3.0, 0.0, 0.1, OUTSIDE_COLOR),
        PosColor::new(1.5, 0.5, 0.1, OUTSIDE_COLOR),
        // Floor at y = -1 from 4 ahead to 3 behind the camera (world space).
        PosColor::new(-3.0, -1.0, -4.0, [1.0, 0.0, 0.0, 1.0]),
        PosColor::new(3.0, -1.0, -4.0, [0.0, 1.0, 0.0, 1.0]),
        PosColor::new(0.0, -1.0, 3.0, [0.0, 0.0, 1.0, 1.0]),
    ];
    let vbuf = vertex_buffer(ctx, &vertices)?;
    let proj = Mat4::perspective(std::f32::consts::FRAC_PI_2, 1.0, 0.5, 10.0);
    target.render(|r| {
        r.pipeline(&pipeline);
        r.vertex_buffer(0, &vbuf);
        r.push(&pipeline, &Mat4::IDENTITY.bytes())?;
        r.draw(6, 1, 0, 0);
        r.push(&pipeline, &proj.bytes())?;
        r.draw(3, 1, 6, 0);
        Ok(())
    })
}

pub fn check_clipping(images: &[ReadImage]) -> Result<(), String> {
    let color = image(images, "color0")?;
    let green = super::unorm8(HUGE_COLOR);
    let magenta = super::unorm8(OUTSIDE_COLOR);
    for y in 0..color.height {
        for x in 0..color.width {
            let p = rgba8(color, x, y);
            if p == magenta {
                return Err(format!(
                    "pixel ({x}, {y}) shows the triangle outside the viewport"
                ));
            }
            // Above the horizon (upper half) only the huge triangle or the clear colour.
            let (nx, ny) = (
                super::ndc(x as f32 + 0.5, color.width),
                super::ndc(y as f32 + 0.5, color.height),
            );
            let huge = nx + ny < 0.24;
            let beyond = nx + ny > 0.26;
            if ny < -0.01 {
                if huge && p != green {
                    return Err(format!(
                        "pixel ({x}, {y}) is {p:?}, expected the huge triangle"
                    ));
                }
                if beyond && p != [0; 4] {
                    return Err(format!("pixel ({x}, {y}) is {p:?}, expected nothing"));
                }
            }
        }
    }
    // Below the horizon near the bottom centre: the floor (nearer than the huge triangle),
    // interpolated from its three vertex colours, so not pure green.
    for (x, y) in [(64, 120), (20, 126), (110, 100)] {
        let p = rgba8(color, x, y);
        if p == green || p == [0; 4] || p[3] != 255 {
            return Err(format!("pixel ({x}, {y}) is {p:?}, expected the floor"));
        }
    }
    Ok(())
}
