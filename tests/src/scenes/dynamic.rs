//! Scenes of several attachments and of dynamic state: multiple render targets (with
//! `vkCmdClearAttachments`), and dynamic rendering with the extended dynamic states.

use ash::vk;

use super::{color_shaders, expect_rgba8, image, quad, rgba8, unorm8, vertex_buffer};
use crate::graphics::{
    GraphicsContext, GraphicsPipeline, Mat4, PassMode, PipelineDesc, PosColor, ReadImage,
    RenderTarget,
};
use crate::GpuError;

const MRT_SIZE: u32 = 128;
const MRT_CLEARED: [f32; 4] = [1.0, 1.0, 0.0, 1.0];
const MRT_CLEAR_RECT: [u32; 4] = [8, 8, 24, 16];

/// One triangle into RGBA8, RGBA16F and R32_UINT targets (`mrt.frag`), then a rectangle of the
/// first target cleared with `vkCmdClearAttachments`.
pub fn mrt(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let s = MRT_SIZE;
    let formats = [
        vk::Format::R8G8B8A8_UNORM,
        vk::Format::R16G16B16A16_SFLOAT,
        vk::Format::R32_UINT,
    ];
    let target = RenderTarget::new(ctx, s, s, &formats, None, PassMode::RenderPass)?;
    let vert = crate::graphics::shader("color.vert", &[])?;
    let frag = crate::graphics::shader("mrt.frag", &[])?;
    let mut desc = PipelineDesc::new(&vert, &frag);
    desc.push_constant_size = 64;
    let pipeline = GraphicsPipeline::new(ctx, &desc, &target)?;
    let vertices = [
        PosColor::new(-0.9, -0.8, 0.5, [1.0, 0.0, 0.0, 1.0]),
        PosColor::new(0.9, -0.6, 0.5, [0.0, 1.0, 0.0, 1.0]),
        PosColor::new(-0.2, 0.95, 0.5, [0.0, 0.0, 1.0, 1.0]),
    ];
    let vbuf = vertex_buffer(ctx, &vertices)?;
    let [x, y, w, h] = MRT_CLEAR_RECT;
    target.render(|r| {
        r.pipeline(&pipeline);
        r.push(&pipeline, &Mat4::IDENTITY.bytes())?;
        r.vertex_buffer(0, &vbuf);
        r.draw(3, 1, 0, 0);
        r.clear_color_rect(
            0,
            MRT_CLEARED,
            vk::Rect2D {
                offset: vk::Offset2D {
                    x: x as i32,
                    y: y as i32,
                },
                extent: vk::Extent2D {
                    width: w,
                    height: h,
                },
            },
        );
        Ok(())
    })
}

pub fn check_mrt(images: &[ReadImage]) -> Result<(), String> {
    let c0 = image(images, "color0")?;
    let c1 = image(images, "color1")?;
    let c2 = image(images, "color2")?;
    let [rx, ry, rw, rh] = MRT_CLEAR_RECT;
    let mut drawn = 0;
    for y in 0..c0.height {
        for x in 0..c0.width {
            let in_rect = x >= rx && x < rx + rw && y >= ry && y < ry + rh;
            let p0 = rgba8(c0, x, y);
            let code = c2.codes(x, y)[0];
            if in_rect {
                expect_rgba8(c0, x, y, unorm8(MRT_CLEARED), 0)?;
            }
            if code == 0 {
                if !in_rect && p0 != [0; 4] {
                    return Err(format!("color0 ({x}, {y}) drawn but color2 not"));
                }
                continue;
            }
            drawn += 1;
            let want = u64::from((x ^ (y * 3)) + 1000);
            if code != want {
                return Err(format!("color2 ({x}, {y}) is {code}, expected {want}"));
            }
            if in_rect {
                continue;
            }
            // color1 = color0.bgr / 2 (color0 quantized to 8 bits, color1 to half floats).
            let v1: Vec<f64> = (0..4)
                .map(|i| c1.info.decode_channel(i, c1.codes(x, y)[i]))
                .collect();
            let v0: Vec<f64> = p0.iter().map(|&v| f64::from(v) / 255.0).collect();
            let want1 = [v0[2] / 2.0, v0[1] / 2.0, v0[0] / 2.0, 1.0];
            if v1.iter().zip(want1).any(|(a, b)| (a - b).abs() > 0.006) {
                return Err(format!("color1 ({x}, {y}) is {v1:?}, expected {want1:?}"));
            }
        }
    }
    if drawn < 3000 {
        return Err(format!("only {drawn} pixels drawn"));
    }
    Ok(())
}

const DYN_SIZE: u32 = 128;
const GREEN: [f32; 4] = [0.0, 1.0, 0.0, 1.0];
const RED: [f32; 4] = [1.0, 0.0, 0.0, 1.0];
const BLUE: [f32; 4] = [0.0, 0.0, 1.0, 1.0];
const YELLOW: [f32; 4] = [1.0, 1.0, 0.0, 1.0];
const CYAN: [f32; 4] = [0.0, 1.0, 1.0, 1.0];

/// Dynamic rendering (no render pass object) into RGBA8 + D32, with cull mode, front face,
/// topology, depth test/write/compare and primitive restart set as dynamic state between
/// draws of one pipeline.
pub fn dynamic_rendering(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let s = (DYN_SIZE, DYN_SIZE);
    let target = RenderTarget::new(
        ctx,
        s.0,
        s.1,
        &[vk::Format::R8G8B8A8_UNORM],
        Some(vk::Format::D32_SFLOAT),
        PassMode::Dynamic,
    )?;
    let shaders = color_shaders()?;
    let mut desc = super::color_desc(&shaders);
    desc.depth_test = true;
    desc.dynamic_states = vec![
        vk::DynamicState::CULL_MODE_EXT,
        vk::DynamicState::FRONT_FACE_EXT,
        vk::DynamicState::PRIMITIVE_TOPOLOGY_EXT,
        vk::DynamicState::DEPTH_TEST_ENABLE_EXT,
        vk::DynamicState::DEPTH_WRITE_ENABLE_EXT,
        vk::DynamicState::DEPTH_COMPARE_OP_EXT,
        vk::DynamicState::PRIMITIVE_RESTART_ENABLE_EXT,
    ];
    let pipeline = GraphicsPipeline::new(ctx, &desc, &target)?;
    let mut v = Vec::new();
    // 0..6: near green rectangle; 6..12: far red rectangle overlapping it.
    v.extend(quad(s, [10.0, 10.0, 70.0, 70.0], 0.3, GREEN));
    v.extend(quad(s, [40.0, 40.0, 100.0, 100.0], 0.6, RED));
    // 12..18: blue, farther than both, drawn with compare ALWAYS and no depth write.
    v.extend(quad(s, [60.0, 5.0, 120.0, 30.0], 0.9, BLUE));
    // 18..21: a clockwise triangle (on screen): culled as a back face with CCW front faces.
    let p =
        |x: f32, y: f32, c| PosColor::new(super::ndc(x, DYN_SIZE), super::ndc(y, DYN_SIZE), 0.2, c);
    v.extend([
        p(10.0, 80.0, YELLOW),
        p(40.0, 80.0, YELLOW),
        p(10.0, 120.0, YELLOW),
    ]);
    // 21..25: a strip of two triangles (a rectangle) at depth 0.1.
    v.extend([
        p(70.0, 105.0, CYAN),
        p(120.0, 105.0, CYAN),
        p(70.0, 125.0, CYAN),
        p(120.0, 125.0, CYAN),
    ]);
    let vbuf = vertex_buffer(ctx, &v)?;
    target.render(|r| {
        r.pipeline(&pipeline);
        r.push(&pipeline, &Mat4::IDENTITY.bytes())?;
        r.vertex_buffer(0, &vbuf);
        r.cull_mode(vk::CullModeFlags::NONE)?;
        r.front_face(vk::FrontFace::COUNTER_CLOCKWISE)?;
        r.topology(vk::PrimitiveTopology::TRIANGLE_LIST)?;
        r.primitive_restart(false)?;
        r.depth(true, true, vk::CompareOp::LESS)?;
        r.draw(12, 1, 0, 0);
        r.depth(true, false, vk::CompareOp::ALWAYS)?;
        r.draw(6, 1, 12, 0);
        r.depth(true, true, vk::CompareOp::LESS)?;
        r.cull_mode(vk::CullModeFlags::BACK)?;
        r.draw(3, 1, 18, 0);
        // The same triangle again at the side, now with clockwise front faces: drawn.
        r.front_face(vk::FrontFace::CLOCKWISE)?;
        r.viewport(40.0, 0.0, DYN_SIZE as f32, DYN_SIZE as f32, 0.0, 1.0);
        r.draw(3, 1, 18, 0);
        r.viewport(0.0, 0.0, DYN_SIZE as f32, DYN_SIZE as f32, 0.0, 1.0);
        r.cull_mode(vk::CullModeFlags::NONE)?;
        r.topology(vk::PrimitiveTopology::TRIANGLE_STRIP)?;
        r.draw(4, 1, 21, 0);
        Ok(())
    })
}

pub fn check_dynamic_rendering(images: &[ReadImage]) -> Result<(), String> {
    let c = image(images, "color0")?;
    let depth = image(images, "depth")?;
    // Near green wins over far red in the overlap; red alone beyond it.
    expect_rgba8(c, 55, 55, unorm8(GREEN), 0)?;
    expect_rgba8(c, 90, 90, unorm8(RED), 0)?;
    // Blue passes with ALWAYS over green and red, without writing depth.
    expect_rgba8(c, 65, 20, unorm8(BLUE), 0)?;
    let d = depth.info.decode_channel(0, depth.codes(65, 20)[0]);
    if (d - 0.3).abs() > 1e-6 {
        return Err(format!(
            "depth under the blue rectangle is {d}, expected green's 0.3"
        ));
    }
    // The back-facing triangle was culled; the copy with clockwise front faces was drawn.
    expect_rgba8(c, 15, 90, [0; 4], 0)?;
    expect_rgba8(c, 55, 90, unorm8(YELLOW), 0)?;
    // The strip covers its whole rectangle.
    for (x, y) in [(72, 107), (118, 107), (72, 123), (118, 123), (95, 115)] {
        expect_rgba8(c, x, y, unorm8(CYAN), 0)?;
    }
    Ok(())
}
