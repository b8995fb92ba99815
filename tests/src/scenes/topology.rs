//! Scenes of other primitive topologies and draw calls: points and lines (width 1), indexed
//! triangle strips and fans with primitive restart, and indirect draws.

use ash::vk;

use super::{color_desc, color_shaders, expect_rgba8, image, quad, rgba8, unorm8, vertex_buffer};
use crate::graphics::{
    bytes_of, GraphicsContext, GraphicsPipeline, HostBuffer, Mat4, PassMode, PosColor, ReadImage,
    RenderTarget,
};
use crate::GpuError;

const PL_SIZE: u32 = 64;
const POINT_COLOR: [f32; 4] = [1.0, 1.0, 1.0, 1.0];
const LINE_COLOR: [f32; 4] = [1.0, 0.5, 0.0, 1.0];
const STRIP_COLOR: [f32; 4] = [0.0, 0.75, 1.0, 1.0];

fn at(x: f32, y: f32, color: [f32; 4]) -> PosColor {
    PosColor::new(super::ndc(x, PL_SIZE), super::ndc(y, PL_SIZE), 0.5, color)
}

/// The pixel of point `i` (all on pixel centres).
fn point_pixel(i: u32) -> (u32, u32) {
    (4 + 7 * (i % 8), 3 + 4 * (i / 8))
}

/// Sixteen one-pixel points on pixel centres, a line list (horizontal, vertical, diagonal,
/// shallow) and a line strip, all of width 1.
pub fn points_lines(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let target = RenderTarget::new(
        ctx,
        PL_SIZE,
        PL_SIZE,
        &[vk::Format::R8G8B8A8_UNORM],
        None,
        PassMode::RenderPass,
    )?;
    let shaders = color_shaders()?;
    let mut desc = color_desc(&shaders);
    desc.topology = vk::PrimitiveTopology::POINT_LIST;
    let points = GraphicsPipeline::new(ctx, &desc, &target)?;
    desc.topology = vk::PrimitiveTopology::LINE_LIST;
    let lines = GraphicsPipeline::new(ctx, &desc, &target)?;
    desc.topology = vk::PrimitiveTopology::LINE_STRIP;
    let strip = GraphicsPipeline::new(ctx, &desc, &target)?;
    let mut v: Vec<PosColor> = (0..16)
        .map(|i| {
            let (x, y) = point_pixel(i);
            at(x as f32 + 0.5, y as f32 + 0.5, POINT_COLOR)
        })
        .collect();
    v.extend([
        at(2.0, 20.5, LINE_COLOR),
        at(62.0, 20.5, LINE_COLOR),
        at(30.5, 24.0, LINE_COLOR),
        at(30.5, 60.0, LINE_COLOR),
        at(2.0, 26.0, LINE_COLOR),
        at(28.0, 52.0, LINE_COLOR),
        at(2.0, 60.0, LINE_COLOR),
        at(26.0, 55.0, LINE_COLOR),
    ]);
    v.extend([
        at(36.5, 28.5, STRIP_COLOR),
        at(60.5, 36.5, STRIP_COLOR),
        at(36.5, 44.5, STRIP_COLOR),
        at(60.5, 52.5, STRIP_COLOR),
    ]);
    let vbuf = vertex_buffer(ctx, &v)?;
    let identity = Mat4::IDENTITY.bytes();
    target.render(|r| {
        r.vertex_buffer(0, &vbuf);
        r.pipeline(&points);
        r.push(&points, &identity)?;
        r.draw(16, 1, 0, 0);
        r.pipeline(&lines);
        r.draw(8, 1, 16, 0);
        r.pipeline(&strip);
        r.draw(4, 1, 24, 0);
        Ok(())
    })
}

pub fn check_points_lines(images: &[ReadImage]) -> Result<(), String> {
    let c = image(images, "color0")?;
    let (white, orange, blue) = (unorm8(POINT_COLOR), unorm8(LINE_COLOR), unorm8(STRIP_COLOR));
    for i in 0..16 {
        let (x, y) = point_pixel(i);
        expect_rgba8(c, x, y, white, 0).map_err(|e| format!("point {i}: {e}"))?;
        expect_rgba8(c, x + 1, y, [0; 4], 0).map_err(|e| format!("point {i}: {e}"))?;
        expect_rgba8(c, x, y + 1, [0; 4], 0).map_err(|e| format!("point {i}: {e}"))?;
    }
    for (x, y) in [(10, 20), (50, 20), (30, 30), (30, 55), (15, 39)] {
        expect_rgba8(c, x, y, orange, 0)?;
    }
    // One pixel wide: the rows beside the horizontal line stay empty.
    for x in 5..60 {
        expect_rgba8(c, x, 19, [0; 4], 0)?;
        expect_rgba8(c, x, 21, [0; 4], 0)?;
    }
    expect_rgba8(c, 48, 32, blue, 0)?;
    expect_rgba8(c, 48, 40, blue, 0)?;
    let lit = (0..c.height)
        .flat_map(|y| (0..c.width).map(move |x| (x, y)))
        .filter(|&(x, y)| rgba8(c, x, y) != [0; 4])
        .count();
    if !(150..=260).contains(&lit) {
        return Err(format!(
            "{lit} pixels lit; one-pixel lines and points light about 200"
        ));
    }
    Ok(())
}

const SF_SIZE: u32 = 128;
const BAND_COLORS: [[f32; 4]; 2] = [[1.0, 0.3, 0.3, 1.0], [0.3, 1.0, 0.3, 1.0]];
const FAN_COLORS: [[f32; 4]; 2] = [[0.3, 0.3, 1.0, 1.0], [1.0, 1.0, 0.3, 1.0]];
const FAN_CENTERS: [(f32, f32); 2] = [(35.0, 95.0), (93.0, 95.0)];

/// Two bands as one indexed triangle strip (16-bit indices, restart 0xFFFF) and two hexagons
/// as one indexed triangle fan (32-bit indices, restart 0xFFFFFFFF).
pub fn strips_fans(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let target = RenderTarget::new(
        ctx,
        SF_SIZE,
        SF_SIZE,
        &[vk::Format::R8G8B8A8_UNORM],
        None,
        PassMode::RenderPass,
    )?;
    let shaders = color_shaders()?;
    let mut desc = color_desc(&shaders);
    desc.primitive_restart = true;
    desc.topology = vk::PrimitiveTopology::TRIANGLE_STRIP;
    let strip = GraphicsPipeline::new(ctx, &desc, &target)?;
    desc.topology = vk::PrimitiveTopology::TRIANGLE_FAN;
    let fan = GraphicsPipeline::new(ctx, &desc, &target)?;
    let p =
        |x: f32, y: f32, c| PosColor::new(super::ndc(x, SF_SIZE), super::ndc(y, SF_SIZE), 0.5, c);
    let mut v = Vec::new();
    let mut strip_idx: Vec<u16> = Vec::new();
    for (band, color) in BAND_COLORS.iter().enumerate() {
        let top = 10.0 + 30.0 * band as f32;
        for k in 0..5 {
            let x = 10.0 + 27.0 * k as f32;
            strip_idx.push(v.len() as u16);
            v.push(p(x, top, *color));
            strip_idx.push(v.len() as u16);
            v.push(p(x, top + 20.0, *color));
        }
        strip_idx.push(u16::MAX);
    }
    let mut fan_idx: Vec<u32> = Vec::new();
    for (i, &(cx, cy)) in FAN_CENTERS.iter().enumerate() {
        let center = v.len() as u32;
        v.push(p(cx, cy, FAN_COLORS[i]));
        fan_idx.push(center);
        for k in 0..=6 {
            let a = std::f32::consts::TAU * (k % 6) as f32 / 6.0;
            if k < 6 {
                v.push(p(cx + 25.0 * a.cos(), cy + 25.0 * a.sin(), FAN_COLORS[i]));
            }
            fan_idx.push(center + 1 + (k % 6));
        }
        fan_idx.push(u32::MAX);
    }
    let vbuf = vertex_buffer(ctx, &v)?;
    let sbuf = HostBuffer::with_bytes(
        ctx,
        vk::BufferUsageFlags::INDEX_BUFFER,
        &bytes_of(&strip_idx),
    )?;
    let fbuf =
        HostBuffer::with_bytes(ctx, vk::BufferUsageFlags::INDEX_BUFFER, &bytes_of(&fan_idx))?;
    let identity = Mat4::IDENTITY.bytes();
    target.render(|r| {
        r.vertex_buffer(0, &vbuf);
        r.pipeline(&strip);
        r.push(&strip, &identity)?;
        r.index_buffer(&sbuf, vk::IndexType::UINT16);
        r.draw_indexed(strip_idx.len() as u32, 1, 0, 0);
        r.pipeline(&fan);
        r.index_buffer(&fbuf, vk::IndexType::UINT32);
        r.draw_indexed(fan_idx.len() as u32, 1, 0, 0);
        Ok(())
    })
}

pub fn check_strips_fans(images: &[ReadImage]) -> Result<(), String> {
    let c = image(images, "color0")?;
    for (band, color) in BAND_COLORS.iter().enumerate() {
        let y = 20 + 30 * band as u32;
        for x in [12, 40, 64, 100, 115] {
            expect_rgba8(c, x, y, unorm8(*color), 1).map_err(|e| format!("band {band}: {e}"))?;
        }
    }
    // Restart separated the bands and the fans: nothing between them.
    for (x, y) in [(64, 35), (64, 95), (5, 95), (124, 95)] {
        expect_rgba8(c, x, y, [0; 4], 0).map_err(|e| format!("restart: {e}"))?;
    }
    for (i, &(cx, cy)) in FAN_CENTERS.iter().enumerate() {
        for (dx, dy) in [
            (0.0, 0.0),
            (15.0, 0.0),
            (-15.0, 5.0),
            (0.0, -18.0),
            (5.0, 18.0),
        ] {
            let (x, y) = ((cx + dx) as u32, (cy + dy) as u32);
            expect_rgba8(c, x, y, unorm8(FAN_COLORS[i]), 1).map_err(|e| format!("fan {i}: {e}"))?;
        }
    }
    Ok(())
}

const IND_SIZE: u32 = 128;
const IND_RECTS: [([f32; 4], [f32; 4]); 4] = [
    ([8.0, 8.0, 56.0, 56.0], [1.0, 0.0, 0.0, 1.0]),
    ([72.0, 8.0, 120.0, 56.0], [0.0, 1.0, 0.0, 1.0]),
    ([8.0, 72.0, 56.0, 120.0], [1.0, 1.0, 1.0, 1.0]),
    ([72.0, 72.0, 120.0, 120.0], [0.0, 0.0, 1.0, 1.0]),
];

/// `vkCmdDrawIndirect` with three commands (the third with zero instances: rectangle 2 is
/// not drawn) and `vkCmdDrawIndexedIndirect` with one command using a vertex offset.
pub fn indirect(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let target = RenderTarget::new(
        ctx,
        IND_SIZE,
        IND_SIZE,
        &[vk::Format::R8G8B8A8_UNORM],
        None,
        PassMode::RenderPass,
    )?;
    let shaders = color_shaders()?;
    let pipeline = GraphicsPipeline::new(ctx, &color_desc(&shaders), &target)?;
    let mut v = Vec::new();
    for (rect, color) in IND_RECTS {
        v.extend(quad((IND_SIZE, IND_SIZE), rect, 0.5, color));
    }
    let vbuf = vertex_buffer(ctx, &v)?;
    let indices: [u16; 6] = [0, 1, 2, 3, 4, 5];
    let ibuf =
        HostBuffer::with_bytes(ctx, vk::BufferUsageFlags::INDEX_BUFFER, &bytes_of(&indices))?;
    // VkDrawIndirectCommand: vertexCount, instanceCount, firstVertex, firstInstance.
    let draws: [u32; 12] = [6, 1, 0, 0, 6, 1, 6, 0, 6, 0, 12, 0];
    // VkDrawIndexedIndirectCommand: indexCount, instanceCount, firstIndex, vertexOffset,
    // firstInstance, after 4 bytes of padding to test the offset.
    let indexed: [u32; 6] = [0xdead_beef, 6, 1, 0, 18, 0];
    let mut bytes = bytes_of(&draws);
    bytes.extend(bytes_of(&indexed));
    let buf = HostBuffer::with_bytes(ctx, vk::BufferUsageFlags::INDIRECT_BUFFER, &bytes)?;
    let multi = ctx.multi_draw_indirect;
    target.render(|r| {
        r.pipeline(&pipeline);
        r.push(&pipeline, &Mat4::IDENTITY.bytes())?;
        r.vertex_buffer(0, &vbuf);
        if multi {
            r.draw_indirect(&buf, 0, 3, 16);
        } else {
            for i in 0..3 {
                r.draw_indirect(&buf, 16 * i, 1, 16);
            }
        }
        r.index_buffer(&ibuf, vk::IndexType::UINT16);
        r.draw_indexed_indirect(&buf, 52, 1, 20);
        Ok(())
    })
}

pub fn check_indirect(images: &[ReadImage]) -> Result<(), String> {
    let c = image(images, "color0")?;
    for (i, (rect, color)) in IND_RECTS.iter().enumerate() {
        let (x, y) = (
            ((rect[0] + rect[2]) / 2.0) as u32,
            ((rect[1] + rect[3]) / 2.0) as u32,
        );
        let want = if i == 2 { [0; 4] } else { unorm8(*color) };
        expect_rgba8(c, x, y, want, 0).map_err(|e| format!("rectangle {i}: {e}"))?;
    }
    let lit = (0..c.height)
        .flat_map(|y| (0..c.width).map(move |x| (x, y)))
        .filter(|&(x, y)| rgba8(c, x, y) != [0; 4])
        .count();
    if lit != 3 * 48 * 48 {
        return Err(format!("{lit} pixels lit, expected three 48×48 rectangles"));
    }
    Ok(())
}
