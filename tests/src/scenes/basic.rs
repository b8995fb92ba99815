//! Scenes of plain triangles: the fill convention, alpha blending, many small triangles and
//! an instanced draw.

use ash::vk;

use super::{
    color_desc, color_shaders, draw_list, expect_rgba8, image, ndc, quad, rgba8, unorm8,
    vertex_buffer, Rng,
};
use crate::graphics::{
    attribute, blend, bytes_of, GraphicsContext, GraphicsPipeline, HostBuffer, PassMode, PosColor,
    ReadImage, RenderTarget,
};
use crate::GpuError;

const FAN_SIZE: u32 = 128;
/// The fan's centre and outer vertices in pixel coordinates. All lie on pixel centres, and the
/// spokes include a horizontal, a vertical, 45° and shallow slopes, so many pixel centres lie
/// exactly on shared edges, and the centre itself is a pixel centre shared by all triangles.
const FAN_CENTER: [f64; 2] = [64.5, 64.5];
const FAN_RIM: [[f64; 2]; 7] = [
    [114.5, 64.5],
    [104.5, 104.5],
    [64.5, 119.5],
    [34.5, 109.5],
    [14.5, 39.5],
    [44.5, 14.5],
    [94.5, 19.5],
];
/// One layer of the additive blend: 64 of 255 in red, green and blue.
const LAYER: f32 = 64.0 / 255.0;

/// A closed fan of seven triangles around a pixel centre, drawn with additive blending
/// (ONE, ONE), so a pixel drawn twice shows twice the value and a gap shows none.
pub fn fan_fill(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let size = (FAN_SIZE, FAN_SIZE);
    let target = RenderTarget::new(
        ctx,
        FAN_SIZE,
        FAN_SIZE,
        &[vk::Format::R8G8B8A8_UNORM],
        None,
        PassMode::RenderPass,
    )?;
    let shaders = color_shaders()?;
    let mut desc = color_desc(&shaders);
    desc.blend = vec![blend(vk::BlendFactor::ONE, vk::BlendFactor::ONE)];
    let pipeline = GraphicsPipeline::new(ctx, &desc, &target)?;
    let v = |p: [f64; 2]| {
        PosColor::new(
            ndc(p[0] as f32, size.0),
            ndc(p[1] as f32, size.1),
            0.5,
            [LAYER, LAYER, LAYER, LAYER],
        )
    };
    let mut vertices = Vec::new();
    for i in 0..FAN_RIM.len() {
        vertices.extend([
            v(FAN_CENTER),
            v(FAN_RIM[i]),
            v(FAN_RIM[(i + 1) % FAN_RIM.len()]),
        ]);
    }
    let vbuf = vertex_buffer(ctx, &vertices)?;
    draw_list(&target, &pipeline, &vbuf, vertices.len() as u32)
}

/// Twice the signed area of (a, b, p): which side of the edge a→b the point p lies on.
fn edge(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
}

/// Whether pixel centre `p` is inside the fan and not on its outer boundary (where the top-left
/// rule may go either way), counting spokes and the centre as inside.
fn strictly_inside_fan(p: [f64; 2]) -> bool {
    let n = FAN_RIM.len();
    (0..n).any(|i| {
        let (a, b, c) = (FAN_CENTER, FAN_RIM[i], FAN_RIM[(i + 1) % n]);
        let sign = edge(a, b, c).signum();
        let e_ab = edge(a, b, p) * sign;
        let e_bc = edge(b, c, p) * sign;
        let e_ca = edge(c, a, p) * sign;
        // On or inside the spokes (ab, ca), strictly inside the rim edge (bc).
        e_ab >= 0.0 && e_ca >= 0.0 && e_bc > 0.0
    })
}

/// Whether pixel centre `p` is strictly outside every triangle of the fan.
fn outside_fan(p: [f64; 2]) -> bool {
    let n = FAN_RIM.len();
    (0..n).all(|i| {
        let (a, b, c) = (FAN_CENTER, FAN_RIM[i], FAN_RIM[(i + 1) % n]);
        let sign = edge(a, b, c).signum();
        [edge(a, b, p), edge(b, c, p), edge(c, a, p)]
            .iter()
            .any(|e| e * sign < 0.0)
    })
}

/// Every pixel shows zero or one layer; every pixel centre inside the fan (on shared edges and
/// the shared vertex included) shows exactly one; every centre outside shows none.
pub fn check_fan_fill(images: &[ReadImage]) -> Result<(), String> {
    let img = image(images, "color0")?;
    let layer = unorm8([LAYER; 4])[0];
    let mut gaps = Vec::new();
    let mut doubles = Vec::new();
    let mut spills = Vec::new();
    for y in 0..img.height {
        for x in 0..img.width {
            let p = [f64::from(x) + 0.5, f64::from(y) + 0.5];
            let r = rgba8(img, x, y)[0];
            if r != 0 && r != layer {
                doubles.push((x, y, r));
            } else if r == 0 && strictly_inside_fan(p) {
                gaps.push((x, y));
            } else if r != 0 && outside_fan(p) {
                spills.push((x, y));
            }
        }
    }
    if gaps.is_empty() && doubles.is_empty() && spills.is_empty() {
        return Ok(());
    }
    Err(format!(
        "fill convention broken: {} gaps {:?}, {} pixels blended more than once {:?}, {} pixels \
         outside drawn {:?} (first 8 of each)",
        gaps.len(),
        &gaps[..gaps.len().min(8)],
        doubles.len(),
        &doubles[..doubles.len().min(8)],
        spills.len(),
        &spills[..spills.len().min(8)]
    ))
}

const BLEND_SIZE: (u32, u32) = (128, 128);
const BLEND_BACKGROUND: [f32; 4] = [0.2, 0.2, 0.2, 1.0];
/// Rectangles in pixels and their colours, drawn in this order with SRC_ALPHA blending.
const BLEND_LAYERS: [([f32; 4], [f32; 4]); 3] = [
    ([10.0, 10.0, 70.0, 70.0], [1.0, 0.0, 0.0, 0.5]),
    ([40.0, 30.0, 100.0, 90.0], [0.0, 1.0, 0.0, 0.5]),
    ([25.0, 50.0, 85.0, 118.0], [0.0, 0.0, 1.0, 0.75]),
];
/// Blend-constant quad: colour × constant + destination × (1 − constant).
const CONSTANT_RECT: [f32; 4] = [90.0, 100.0, 124.0, 124.0];
const BLEND_CONSTANT: [f32; 4] = [0.25, 0.5, 0.75, 1.0];
const CONSTANT_COLOR: [f32; 4] = [1.0, 1.0, 1.0, 1.0];

/// A `w`×`h` RGBA8 render-pass target cleared to [`BLEND_BACKGROUND`], for the blending
/// scenes.
fn background_target(
    ctx: &GraphicsContext,
    (w, h): (u32, u32),
) -> Result<RenderTarget<'_>, GpuError> {
    let mut target = RenderTarget::new(
        ctx,
        w,
        h,
        &[vk::Format::R8G8B8A8_UNORM],
        None,
        PassMode::RenderPass,
    )?;
    target.clear = crate::graphics::Clear::color(BLEND_BACKGROUND, 1);
    Ok(target)
}

/// Three overlapping translucent rectangles (SRC_ALPHA, ONE_MINUS_SRC_ALPHA) and a rectangle
/// blended by dynamic blend constants.
pub fn alpha_blend(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let target = background_target(ctx, BLEND_SIZE)?;
    let shaders = color_shaders()?;
    let mut desc = color_desc(&shaders);
    desc.blend = vec![blend(
        vk::BlendFactor::SRC_ALPHA,
        vk::BlendFactor::ONE_MINUS_SRC_ALPHA,
    )];
    let alpha = GraphicsPipeline::new(ctx, &desc, &target)?;
    desc.blend = vec![blend(
        vk::BlendFactor::CONSTANT_COLOR,
        vk::BlendFactor::ONE_MINUS_CONSTANT_COLOR,
    )];
    desc.dynamic_states = vec![vk::DynamicState::BLEND_CONSTANTS];
    let constant = GraphicsPipeline::new(ctx, &desc, &target)?;
    let mut vertices = Vec::new();
    for (rect, color) in BLEND_LAYERS {
        vertices.extend(quad(BLEND_SIZE, rect, 0.5, color));
    }
    vertices.extend(quad(BLEND_SIZE, CONSTANT_RECT, 0.5, CONSTANT_COLOR));
    let vbuf = vertex_buffer(ctx, &vertices)?;
    target.render(|r| {
        let identity = crate::graphics::Mat4::IDENTITY.bytes();
        r.pipeline(&alpha);
        r.push(&alpha, &identity)?;
        r.vertex_buffer(0, &vbuf);
        r.draw(18, 1, 0, 0);
        r.pipeline(&constant);
        r.push(&constant, &identity)?;
        r.blend_constants(BLEND_CONSTANT);
        r.draw(6, 1, 18, 0);
        Ok(())
    })
}

/// The colour of pixel (x, y) blended on the CPU in 8-bit steps, as a UNORM8 target stores it.
fn expected_blend(x: f32, y: f32) -> [u8; 4] {
    let inside = |r: [f32; 4]| x >= r[0] && x < r[2] && y >= r[1] && y < r[3];
    let mut dst = unorm8(BLEND_BACKGROUND).map(|v| f32::from(v) / 255.0);
    for (rect, c) in BLEND_LAYERS {
        if inside(rect) {
            let a = c[3];
            for i in 0..4 {
                let v = c[i] * a + dst[i] * (1.0 - a);
                dst[i] = (v * 255.0).round() / 255.0;
            }
        }
    }
    if inside(CONSTANT_RECT) {
        for i in 0..4 {
            let k = BLEND_CONSTANT[i];
            dst[i] = CONSTANT_COLOR[i] * k + dst[i] * (1.0 - k);
        }
    }
    unorm8(dst)
}

pub fn check_alpha_blend(images: &[ReadImage]) -> Result<(), String> {
    let img = image(images, "color0")?;
    for (x, y) in [
        (5, 5),
        (20, 20),
        (60, 40),
        (60, 60),
        (45, 65),
        (95, 80),
        (50, 110),
        (110, 110),
        (95, 95),
    ] {
        expect_rgba8(img, x, y, expected_blend(x as f32 + 0.5, y as f32 + 0.5), 2)?;
    }
    Ok(())
}

const MANY_SIZE: u32 = 256;
const MANY_COUNT: usize = 4000;

/// 4,000 small triangles (1–8 pixels across) of random colours at random places, opaque,
/// drawn in order: later ones cover earlier ones exactly as on any correct driver.
pub fn many_triangles(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let target = RenderTarget::new(
        ctx,
        MANY_SIZE,
        MANY_SIZE,
        &[vk::Format::R8G8B8A8_UNORM],
        None,
        PassMode::RenderPass,
    )?;
    let shaders = color_shaders()?;
    let pipeline = GraphicsPipeline::new(ctx, &color_desc(&shaders), &target)?;
    let mut rng = Rng(0x5eed_cafe);
    let mut vertices = Vec::with_capacity(MANY_COUNT * 3);
    let s = MANY_SIZE as f32;
    for _ in 0..MANY_COUNT {
        let (cx, cy) = (rng.unit() * s, rng.unit() * s);
        let reach = 1.0 + rng.unit() * 7.0;
        let color = [rng.unit(), rng.unit(), rng.unit(), 1.0];
        for _ in 0..3 {
            let x = cx + (rng.unit() - 0.5) * 2.0 * reach;
            let y = cy + (rng.unit() - 0.5) * 2.0 * reach;
            vertices.push(PosColor::new(
                ndc(x, MANY_SIZE),
                ndc(y, MANY_SIZE),
                0.5,
                color,
            ));
        }
    }
    let vbuf = vertex_buffer(ctx, &vertices)?;
    draw_list(&target, &pipeline, &vbuf, vertices.len() as u32)
}

pub fn check_many_triangles(images: &[ReadImage]) -> Result<(), String> {
    let img = image(images, "color0")?;
    let pixels = (img.width * img.height) as usize;
    let mut covered = 0;
    let mut colors = std::collections::HashSet::new();
    for y in 0..img.height {
        for x in 0..img.width {
            let p = rgba8(img, x, y);
            if p != [0, 0, 0, 0] {
                covered += 1;
                colors.insert(p);
            }
        }
    }
    if covered * 4 < pixels || colors.len() < 1000 {
        return Err(format!(
            "{covered} of {pixels} pixels covered, {} colours: expected a quarter or more and \
             1000 colours or more",
            colors.len()
        ));
    }
    Ok(())
}

const INSTANCE_GRID: u32 = 4;
const INSTANCE_SIZE: u32 = 128;

/// Per-instance placement and colour of instance `i`.
fn instance(i: u32) -> ([f32; 4], [f32; 4]) {
    let (gx, gy) = ((i % INSTANCE_GRID) as f32, (i / INSTANCE_GRID) as f32);
    let step = 2.0 / INSTANCE_GRID as f32;
    let place = [
        -1.0 + step * (gx + 0.5),
        -1.0 + step * (gy + 0.5),
        step * 0.35,
        0.0,
    ];
    let color = [0.2 + 0.2 * gx, 0.2 + 0.2 * gy, 1.0 - 0.05 * i as f32, 1.0];
    (place, color)
}

/// One quad drawn 16 times: placement and colour per instance (input rate INSTANCE), a shade
/// from `gl_InstanceIndex`.
pub fn instanced(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let target = RenderTarget::new(
        ctx,
        INSTANCE_SIZE,
        INSTANCE_SIZE,
        &[vk::Format::R8G8B8A8_UNORM],
        None,
        PassMode::RenderPass,
    )?;
    let vert = crate::graphics::shader("instanced.vert", &[])?;
    let frag = crate::graphics::shader("color.frag", &[])?;
    let mut desc = crate::graphics::PipelineDesc::new(&vert, &frag);
    desc.bindings = vec![
        vk::VertexInputBindingDescription {
            binding: 0,
            stride: 8,
            input_rate: vk::VertexInputRate::VERTEX,
        },
        vk::VertexInputBindingDescription {
            binding: 1,
            stride: 32,
            input_rate: vk::VertexInputRate::INSTANCE,
        },
    ];
    desc.attributes = vec![
        attribute(0, 0, vk::Format::R32G32_SFLOAT, 0),
        attribute(1, 1, vk::Format::R32G32B32A32_SFLOAT, 0),
        attribute(2, 1, vk::Format::R32G32B32A32_SFLOAT, 16),
    ];
    let pipeline = GraphicsPipeline::new(ctx, &desc, &target)?;
    let corners: [f32; 12] = [
        -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0, 1.0,
    ];
    let per_vertex = HostBuffer::with_bytes(
        ctx,
        vk::BufferUsageFlags::VERTEX_BUFFER,
        &bytes_of(&corners),
    )?;
    let count = INSTANCE_GRID * INSTANCE_GRID;
    let per_instance: Vec<f32> = (0..count)
        .flat_map(|i| {
            let (p, c) = instance(i);
            p.into_iter().chain(c)
        })
        .collect();
    let instances = HostBuffer::with_bytes(
        ctx,
        vk::BufferUsageFlags::VERTEX_BUFFER,
        &bytes_of(&per_instance),
    )?;
    target.render(|r| {
        r.pipeline(&pipeline);
        r.vertex_buffer(0, &per_vertex);
        r.vertex_buffer(1, &instances);
        r.draw(6, count, 0, 0);
        Ok(())
    })
}

pub fn check_instanced(images: &[ReadImage]) -> Result<(), String> {
    let img = image(images, "color0")?;
    let cell = INSTANCE_SIZE / INSTANCE_GRID;
    for i in 0..INSTANCE_GRID * INSTANCE_GRID {
        let (x, y) = (
            (i % INSTANCE_GRID) * cell + cell / 2,
            (i / INSTANCE_GRID) * cell + cell / 2,
        );
        let (_, c) = instance(i);
        let shade = 1.0 - (i % 4) as f32 * 0.125;
        let want = unorm8([c[0] * shade, c[1] * shade, c[2] * shade, 1.0]);
        expect_rgba8(img, x, y, want, 1).map_err(|e| format!("instance {i}: {e}"))?;
        // Between instances: the background.
        expect_rgba8(
            img,
            (i % INSTANCE_GRID) * cell + 1,
            (i / INSTANCE_GRID) * cell + 1,
            [0; 4],
            0,
        )?;
    }
    Ok(())
}

const RECTS_SIZE: (u32, u32) = (200, 136);
const OPAQUE_RECTS: usize = 40;
const BLENDED_RECTS: usize = 12;

/// The scene's rectangles in drawing order, with their colours: first the opaque ones, then
/// the translucent ones. Most lie on 4×2-pixel block boundaries (whole tiles, block rows and
/// rectangles inside one tile), some on odd pixels, some on sub-pixel positions.
fn flat_rects() -> Vec<([f32; 4], [f32; 4])> {
    let mut rng = Rng(0x00f1_a7ec_7000);
    let (w, h) = (RECTS_SIZE.0 as f32, RECTS_SIZE.1 as f32);
    (0..OPAQUE_RECTS + BLENDED_RECTS)
        .map(|i| {
            let unit = |rng: &mut Rng| rng.next_u32() as f32 / u32::MAX as f32;
            let (a, b) = (unit(&mut rng) * w, unit(&mut rng) * w);
            let (c, d) = (unit(&mut rng) * h, unit(&mut rng) * h);
            let snap = |v: f32, step: f32| match i % 5 {
                0..=2 => (v / step).round() * step,
                3 => v.round(),
                _ => (v * 16.0).round() / 16.0,
            };
            let rect = [
                snap(a.min(b), 4.0),
                snap(c.min(d), 2.0),
                snap(a.max(b), 4.0),
                snap(c.max(d), 2.0),
            ];
            let alpha = if i < OPAQUE_RECTS {
                1.0
            } else {
                0.25 + 0.5 * unit(&mut rng)
            };
            let color = [unit(&mut rng), unit(&mut rng), unit(&mut rng), alpha];
            (rect, color)
        })
        .collect()
}

/// Flat-coloured rectangles drawn as pairs of triangles: 40 opaque ones, then 12 blended over
/// them (SRC_ALPHA, ONE_MINUS_SRC_ALPHA), on a target of partial tiles. The rasterizer hands
/// aligned ones to the output merger as whole rectangles.
pub fn rects(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let target = background_target(ctx, RECTS_SIZE)?;
    let shaders = color_shaders()?;
    let mut desc = color_desc(&shaders);
    let opaque = GraphicsPipeline::new(ctx, &desc, &target)?;
    desc.blend = vec![blend(
        vk::BlendFactor::SRC_ALPHA,
        vk::BlendFactor::ONE_MINUS_SRC_ALPHA,
    )];
    let translucent = GraphicsPipeline::new(ctx, &desc, &target)?;
    let vertices: Vec<PosColor> = flat_rects()
        .into_iter()
        .flat_map(|(rect, color)| quad(RECTS_SIZE, rect, 0.5, color))
        .collect();
    let vbuf = vertex_buffer(ctx, &vertices)?;
    target.render(|r| {
        let identity = crate::graphics::Mat4::IDENTITY.bytes();
        r.pipeline(&opaque);
        r.push(&opaque, &identity)?;
        r.vertex_buffer(0, &vbuf);
        r.draw(6 * OPAQUE_RECTS as u32, 1, 0, 0);
        r.pipeline(&translucent);
        r.push(&translucent, &identity)?;
        r.draw(6 * BLENDED_RECTS as u32, 1, 6 * OPAQUE_RECTS as u32, 0);
        Ok(())
    })
}

/// Every pixel against the rectangles drawn on the CPU in order (a pixel belongs to a
/// rectangle whose [x0, x1) × [y0, y1) holds its centre), blending in 8-bit steps. Pixels
/// whose centre lies within 1/64 pixel of a rectangle's side are skipped (the side's
/// rounding to sub-pixels decides them).
pub fn check_rects(images: &[ReadImage]) -> Result<(), String> {
    let img = image(images, "color0")?;
    let rects = flat_rects();
    let mut checked = 0;
    for y in 0..img.height {
        for x in 0..img.width {
            let (cx, cy) = (x as f32 + 0.5, y as f32 + 0.5);
            let near = |v: f32, side: f32| (v - side).abs() < 1.0 / 64.0;
            if rects
                .iter()
                .any(|(r, _)| near(cx, r[0]) || near(cx, r[2]) || near(cy, r[1]) || near(cy, r[3]))
            {
                continue;
            }
            let mut dst = unorm8(BLEND_BACKGROUND).map(|v| f32::from(v) / 255.0);
            for (r, c) in &rects {
                if cx >= r[0] && cx < r[2] && cy >= r[1] && cy < r[3] {
                    let a = c[3];
                    for i in 0..4 {
                        let v = c[i] * a + dst[i] * (1.0 - a);
                        dst[i] = (v * 255.0).round() / 255.0;
                    }
                }
            }
            expect_rgba8(img, x, y, unorm8(dst), 2)?;
            checked += 1;
        }
    }
    let pixels = img.width * img.height;
    if checked * 10 < pixels * 9 {
        return Err(format!("only {checked} of {pixels} pixels checked"));
    }
    Ok(())
}
