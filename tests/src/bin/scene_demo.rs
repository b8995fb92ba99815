//! The graphics demo: five lit, depth-tested, textured cubes spinning around each other (a
//! 128×128 brick texture whose mip chain is made on the device by blits, sampled
//! trilinearly), rendered offscreen at 800×600 for N frames on whatever driver the loader picks (through
//! `scripts/demo`, softgpu's embedded default). Writes the last frame as a PNG and prints
//! frames per second. The animation depends on the frame number only, so the last frame of a
//! run is the same picture on every driver.
//!
//! Usage: softgpu-scene-demo [OUT.png] [FRAMES]   (defaults: out/frame.png, 60)

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use ash::vk;
use softgpu_e2e::graphics::{
    attribute, bytes_of, mesh, shader, Clear, GraphicsContext, GraphicsPipeline, HostBuffer, Mat4,
    PassMode, Picture, PipelineDesc, RenderTarget, Sampler, Texture, TextureSets,
};
use softgpu_e2e::GpuError;

const WIDTH: u32 = 800;
const HEIGHT: u32 = 600;
const CUBES: usize = 5;
const COLORS: [[f32; 3]; CUBES] = [
    [0.95, 0.35, 0.25],
    [0.30, 0.80, 0.35],
    [0.30, 0.50, 0.95],
    [0.95, 0.80, 0.25],
    [0.80, 0.40, 0.90],
];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("softgpu-scene-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Side of the brick texture's level 0.
const TEXTURE_SIDE: usize = 128;

/// Level 0 of the brick texture, RGBA8: rows of 32×16 bricks, every other row offset by half
/// a brick, 2-texel light mortar, each brick a slightly different shade.
fn bricks() -> Vec<u8> {
    let mut out = Vec::with_capacity(TEXTURE_SIDE * TEXTURE_SIDE * 4);
    for y in 0..TEXTURE_SIDE {
        let row = y / 16;
        for x in 0..TEXTURE_SIDE {
            let shifted = x + if row % 2 == 1 { 16 } else { 0 };
            let (bx, by) = (shifted % 32, y % 16);
            let texel = if bx < 2 || by < 2 {
                [225, 220, 210, 255]
            } else {
                let brick = (shifted / 32 + 7 * row) % 5;
                let shade = 200 + 12 * brick as u8;
                [shade, shade - 25, shade - 40, 255]
            };
            out.extend(texel);
        }
    }
    out
}

/// Model matrix of cube `i` at frame `frame`: on a ring that turns, each cube spinning on its
/// own axes.
fn model(i: usize, frame: u32) -> Mat4 {
    let t = frame as f32 / 30.0;
    let around = t * 0.6 + i as f32 * std::f32::consts::TAU / CUBES as f32;
    let (s, c) = around.sin_cos();
    Mat4::translate(2.2 * c, 0.6 * s, -7.0 + 2.2 * s)
        .mul(&Mat4::rotate_y(t * 1.3 + i as f32))
        .mul(&Mat4::rotate_x(t * 0.9 + 0.5 * i as f32))
        .mul(&Mat4::scale(0.7))
}

fn run() -> Result<(), GpuError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(args.first().map_or("out/frame.png", String::as_str));
    let frames: u32 =
        match args.get(1) {
            Some(s) => s.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                GpuError::Setup(format!("FRAMES must be a positive number: {s:?}"))
            })?,
            None => 60,
        };

    let t = Instant::now();
    let vert = shader("textured_lit.vert", &[])?;
    let frag = shader("textured_lit.frag", &[])?;
    let ctx = GraphicsContext::new()?;
    println!("device: {}", ctx.name());
    let mut target = RenderTarget::new(
        &ctx,
        WIDTH,
        HEIGHT,
        &[vk::Format::R8G8B8A8_UNORM],
        Some(vk::Format::D32_SFLOAT),
        PassMode::RenderPass,
    )?;
    target.clear = Clear::color([0.08, 0.09, 0.12, 1.0], 1);
    // Level 0 uploaded, the rest of the chain made by blits on the device.
    let side = TEXTURE_SIDE as u32;
    let texture = Texture::with_blit_mips(
        &ctx,
        vk::Format::R8G8B8A8_SRGB,
        side,
        32 - side.leading_zeros(),
        &bricks(),
    )?;
    let sampler = Sampler::new(
        &ctx,
        &vk::SamplerCreateInfo::default()
            .mag_filter(vk::Filter::LINEAR)
            .min_filter(vk::Filter::LINEAR)
            .mipmap_mode(vk::SamplerMipmapMode::LINEAR)
            .address_mode_u(vk::SamplerAddressMode::REPEAT)
            .address_mode_v(vk::SamplerAddressMode::REPEAT)
            .address_mode_w(vk::SamplerAddressMode::REPEAT)
            .max_lod(vk::LOD_CLAMP_NONE),
    )?;
    let sets = TextureSets::new(&ctx, 1)?;
    sets.write(0, &texture, &sampler)?;
    let mut desc = PipelineDesc::new(&vert, &frag);
    desc.set_layouts = vec![sets.layout];
    desc.bindings = vec![vk::VertexInputBindingDescription {
        binding: 0,
        stride: 44,
        input_rate: vk::VertexInputRate::VERTEX,
    }];
    desc.attributes = vec![
        attribute(0, 0, vk::Format::R32G32B32_SFLOAT, 0),
        attribute(1, 0, vk::Format::R32G32B32_SFLOAT, 12),
        attribute(2, 0, vk::Format::R32G32B32_SFLOAT, 24),
        attribute(3, 0, vk::Format::R32G32_SFLOAT, 36),
    ];
    desc.cull_mode = vk::CullModeFlags::BACK;
    desc.depth_test = true;
    desc.depth_write = true;
    desc.push_constant_size = 128;
    let pipeline = GraphicsPipeline::new(&ctx, &desc, &target)?;

    // One vertex buffer with every cube's vertices (their colours differ), one index buffer.
    let (cube, indices) = mesh::cube();
    let mut floats = Vec::new();
    for color in COLORS {
        for v in &cube {
            floats.extend(v.pos);
            floats.extend(v.normal);
            floats.extend(color);
            floats.extend(v.uv);
        }
    }
    let vbuf = HostBuffer::with_bytes(
        &ctx,
        vk::BufferUsageFlags::VERTEX_BUFFER,
        &bytes_of(&floats),
    )?;
    let ibuf = HostBuffer::with_bytes(
        &ctx,
        vk::BufferUsageFlags::INDEX_BUFFER,
        &bytes_of(&indices),
    )?;
    let t_setup = t.elapsed();

    let proj = Mat4::perspective(0.9, WIDTH as f32 / HEIGHT as f32, 0.5, 50.0);
    let start = Instant::now();
    let mut first_frame = None;
    let mut last = Vec::new();
    for frame in 0..frames {
        let t_frame = Instant::now();
        let read_back = frame + 1 == frames;
        last = target.render_frame(
            |r| {
                r.pipeline(&pipeline);
                r.descriptor_set(&pipeline, 0, sets.sets[0]);
                r.vertex_buffer(0, &vbuf);
                r.index_buffer(&ibuf, vk::IndexType::UINT16);
                for i in 0..CUBES {
                    let m = model(i, frame);
                    let mut push = proj.mul(&m).bytes();
                    push.extend(m.bytes());
                    r.push(&pipeline, &push)?;
                    r.draw_indexed(indices.len() as u32, 1, 0, (i * cube.len()) as i32);
                }
                Ok(())
            },
            read_back,
        )?;
        first_frame.get_or_insert(t_frame.elapsed());
    }
    let elapsed = start.elapsed();
    let color = last
        .first()
        .ok_or_else(|| GpuError::Setup("the last frame was not read back".into()))?;
    Picture::new(color.width, color.height, color.to_rgba8())?.write_png(&out)?;

    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    println!("wrote {} ({WIDTH}×{HEIGHT}, frame {frames})", out.display());
    println!("  shaders + device + pipeline   {:8.1} ms", ms(t_setup));
    println!(
        "  first frame                   {:8.1} ms",
        ms(first_frame.unwrap_or_default())
    );
    println!(
        "  {frames} frames                  {:8.1} ms  ({:.1} frames per second)",
        ms(elapsed),
        f64::from(frames) / elapsed.as_secs_f64()
    );
    Ok(())
}
