//! Scenes of issue 7's shader operations: derivatives of known functions, `textureGather`,
//! depth-compare sampling, texel buffers and a storage image written in compute and read in
//! a fragment shader, each checked here against the spec's formulas.

use ash::vk;

use super::textures::{
    draw_with, palette_texture, sampler_info, textured_shaders, uv_quad, PALETTE,
};
use super::{color_desc, draw_list, image, quad, rgba8, vertex_buffer};
use crate::graphics::{
    BufferView, ComputePipeline, DescriptorSet, GraphicsContext, GraphicsPipeline, HostBuffer,
    Mat4, PassMode, ReadImage, RenderTarget, Resource, Sampler, StorageImage, Texture, TextureDesc,
    TextureSets,
};
use crate::GpuError;

const SIZE: u32 = 64;

fn target(ctx: &GraphicsContext) -> Result<RenderTarget<'_>, GpuError> {
    RenderTarget::new(
        ctx,
        SIZE,
        SIZE,
        &[vk::Format::R8G8B8A8_UNORM],
        None,
        PassMode::RenderPass,
    )
}

/// A full-target quad with `derivatives.frag`.
pub fn derivatives(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let target = target(ctx)?;
    let shaders = (
        crate::graphics::shader("color.vert", &[])?,
        crate::graphics::shader("derivatives.frag", &[])?,
    );
    let pipeline = GraphicsPipeline::new(ctx, &color_desc(&shaders), &target)?;
    let vertices = quad(
        (SIZE, SIZE),
        [0.0, 0.0, SIZE as f32, SIZE as f32],
        0.5,
        [1.0; 4],
    );
    let vbuf = vertex_buffer(ctx, &vertices)?;
    draw_list(&target, &pipeline, &vbuf, vertices.len() as u32)
}

/// Per pixel (x, y) in quad (x0, y0) = (x & !1, y & !1), with pixel centres at +0.5:
/// red = 4·d(x²/1024)/dx (fine) = (2·x0 + 2)/256, green = 4·d(xy/1024)/dy (fine) =
/// (x + 0.5)/256, blue = 4·d(xy/1024)/dx (coarse) = (y0 + 0.5)/256, or the fine value
/// (y + 0.5)/256, which the spec also allows for coarse derivatives.
pub fn check_derivatives(images: &[ReadImage]) -> Result<(), String> {
    let img = image(images, "color0")?;
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (x0, y0) = (f64::from(x & !1), f64::from(y & !1));
            let got = rgba8(img, x, y).map(f64::from);
            let red = (2.0 * x0 + 2.0) / 256.0 * 255.0;
            let green = (f64::from(x) + 0.5) / 256.0 * 255.0;
            let blue_coarse = (y0 + 0.5) / 256.0 * 255.0;
            let blue_fine = (f64::from(y) + 0.5) / 256.0 * 255.0;
            let close = |g: f64, w: f64| (g - w).abs() <= 1.0;
            if !close(got[0], red)
                || !close(got[1], green)
                || !(close(got[2], blue_coarse) || close(got[2], blue_fine))
            {
                return Err(format!(
                    "pixel ({x}, {y}) is {got:?}, expected ({red:.1}, {green:.1}, \
                     {blue_coarse:.1} or {blue_fine:.1})"
                ));
            }
        }
    }
    Ok(())
}

/// Gather components (defines `COMPONENT`) of the 4×4 palette texture over the target, one
/// quad per component in the four quarters.
pub fn gather(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let target = target(ctx)?;
    let texture = palette_texture(ctx)?;
    let sampler = Sampler::new(
        ctx,
        &sampler_info(
            vk::Filter::LINEAR,
            vk::SamplerMipmapMode::NEAREST,
            vk::SamplerAddressMode::REPEAT,
            0.0,
        ),
    )?;
    let sets = TextureSets::all_of(ctx, 1, &texture, &sampler)?;
    let half = (SIZE / 2) as f32;
    let mut images = Vec::new();
    for component in 0..4u32 {
        let c = component.to_string();
        let shaders = textured_shaders("gather.frag", &[("COMPONENT", &c)])?;
        let quads = [uv_quad(
            (SIZE, SIZE),
            [0.0, 0.0, 2.0 * half, 2.0 * half],
            [0.0, 0.0],
            [1.0, 1.0],
        )];
        let mut out = draw_with(ctx, &target, &sets, &quads, &shaders)?;
        for img in &mut out {
            img.name = format!("{}-gather{component}", img.name);
        }
        images.extend(out);
    }
    Ok(images)
}

/// Every pixel against the spec's gather: at (u, v) the footprint's top-left texel is
/// (floor(4u − 0.5), floor(4v − 0.5)) wrapped (REPEAT); the result is component c of texels
/// (i0, j1), (i1, j1), (i1, j0), (i0, j0). Pixels whose 4u − 0.5 or 4v − 0.5 lies within a
/// fiftieth of an integer may pick either footprint and are skipped.
pub fn check_gather(images: &[ReadImage]) -> Result<(), String> {
    for component in 0..4usize {
        let img = image(images, &format!("color0-gather{component}"))?;
        for y in 0..SIZE {
            for x in 0..SIZE {
                let s = (f64::from(x) + 0.5) / f64::from(SIZE) * 4.0 - 0.5;
                let t = (f64::from(y) + 0.5) / f64::from(SIZE) * 4.0 - 0.5;
                let near = |c: f64| {
                    let f = c - c.floor();
                    f.min(1.0 - f) < 0.02
                };
                if near(s) || near(t) {
                    continue;
                }
                let (i0, j0) = (s.floor() as i64, t.floor() as i64);
                let at = |i: i64, j: i64| {
                    PALETTE[(4 * j.rem_euclid(4) + i.rem_euclid(4)) as usize][component]
                };
                let want = [
                    at(i0, j0 + 1),
                    at(i0 + 1, j0 + 1),
                    at(i0 + 1, j0),
                    at(i0, j0),
                ];
                let got = rgba8(img, x, y);
                if got.iter().zip(want).any(|(&g, w)| g.abs_diff(w) > 1) {
                    return Err(format!(
                        "gather {component} at pixel ({x}, {y}) is {got:?}, expected {want:?}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Side of the depth texture of the shadow scene.
const DEPTH_SIDE: u32 = 8;

/// Depth texel (x, y) of the shadow scene: a ramp along x.
fn stored_depth(x: u32, _y: u32) -> f32 {
    (x as f32 + 0.5) / DEPTH_SIDE as f32
}

/// A D32_SFLOAT texture compared with LESS (reference < stored passes) and LINEAR filtering
/// over the target: the reference rises from 0 at the top to 1 at the bottom, the stored depth
/// from 0 at the left to 1 at the right, so the lit region is the upper right triangle with a
/// filtered edge.
pub fn depth_compare(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let target = target(ctx)?;
    let mut bytes = Vec::new();
    for y in 0..DEPTH_SIDE {
        for x in 0..DEPTH_SIDE {
            bytes.extend(stored_depth(x, y).to_le_bytes());
        }
    }
    let data = [vec![bytes]];
    let texture = Texture::new(
        ctx,
        &TextureDesc {
            format: vk::Format::D32_SFLOAT,
            width: DEPTH_SIDE,
            height: DEPTH_SIDE,
            data: &data,
            view_type: vk::ImageViewType::TYPE_2D,
            aspect: vk::ImageAspectFlags::DEPTH,
        },
    )?;
    let info = sampler_info(
        vk::Filter::LINEAR,
        vk::SamplerMipmapMode::NEAREST,
        vk::SamplerAddressMode::CLAMP_TO_EDGE,
        0.0,
    )
    .compare_enable(true)
    .compare_op(vk::CompareOp::LESS);
    let sampler = Sampler::new(ctx, &info)?;
    let sets = TextureSets::all_of(ctx, 1, &texture, &sampler)?;
    let shaders = textured_shaders("shadow.frag", &[])?;
    let mut q = uv_quad(
        (SIZE, SIZE),
        [0.0, 0.0, SIZE as f32, SIZE as f32],
        [0.0, 0.0],
        [1.0, 1.0],
    );
    // The reference (z of the texture coordinates) follows v.
    for v in &mut q {
        v.color[2] = v.color[1];
    }
    draw_with(ctx, &target, &sets, &[q], &shaders)
}

/// Far from the diagonal, pixels are fully lit (reference well below the stored depth) or
/// fully shadowed; every pixel lies between 0 and 1 and rows darken monotonically to the left.
pub fn check_depth_compare(images: &[ReadImage]) -> Result<(), String> {
    let img = image(images, "color0")?;
    for y in 0..SIZE {
        let reference = (f64::from(y) + 0.5) / f64::from(SIZE);
        let mut previous = 255u8;
        for x in (0..SIZE).rev() {
            let got = rgba8(img, x, y)[0];
            let u = (f64::from(x) + 0.5) / f64::from(SIZE);
            // Stored depth at u (the ramp is linear in texel space, clamped at the edges).
            let stored = u.clamp(0.5 / 8.0, 7.5 / 8.0);
            let margin = 1.5 / f64::from(DEPTH_SIDE);
            if reference < stored - margin && got != 255 {
                return Err(format!("pixel ({x}, {y}) should be lit, is {got}"));
            }
            if reference > stored + margin && got != 0 {
                return Err(format!("pixel ({x}, {y}) should be shadowed, is {got}"));
            }
            if got > previous.saturating_add(1) {
                return Err(format!("row {y} gets lighter leftwards at x = {x}"));
            }
            previous = got;
        }
    }
    Ok(())
}

/// Entry `i` of the texel-buffer scene's colour buffer (RGBA8).
fn cell_color(i: u32) -> [u8; 4] {
    [
        (i * 37 % 256) as u8,
        (i * 91 % 256) as u8,
        (255 - i * 4) as u8,
        255,
    ]
}
const SCALES: [f32; 4] = [1.0, 0.5, 0.75, 0.25];

/// A full-target quad whose fragments read a uniform and a storage texel buffer
/// (`texel_buffer.frag`).
pub fn texel_buffers(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let target = target(ctx)?;
    let colors: Vec<u8> = (0..64).flat_map(cell_color).collect();
    let scales: Vec<u8> = SCALES.iter().flat_map(|s| s.to_le_bytes()).collect();
    let color_buf =
        HostBuffer::with_bytes(ctx, vk::BufferUsageFlags::UNIFORM_TEXEL_BUFFER, &colors)?;
    let scale_buf =
        HostBuffer::with_bytes(ctx, vk::BufferUsageFlags::STORAGE_TEXEL_BUFFER, &scales)?;
    let color_view = BufferView::new(ctx, &color_buf, vk::Format::R8G8B8A8_UNORM)?;
    let scale_view = BufferView::new(ctx, &scale_buf, vk::Format::R32_SFLOAT)?;
    let set = DescriptorSet::new(
        ctx,
        vk::ShaderStageFlags::FRAGMENT,
        &[
            Resource::UniformTexelBuffer(color_view.view),
            Resource::StorageTexelBuffer(scale_view.view),
        ],
    )?;
    let shaders = textured_shaders("texel_buffer.frag", &[])?;
    draw_full_target(ctx, &target, &set, &shaders)
}

/// One full-target quad drawn with `shaders` and `set` bound at set 0.
/// Makes compute shader writes visible to shader reads in the `dst` stages.
pub(super) fn compute_write_barrier(
    ctx: &GraphicsContext,
    cb: vk::CommandBuffer,
    dst: vk::PipelineStageFlags,
) {
    let barrier = [vk::MemoryBarrier::default()
        .src_access_mask(vk::AccessFlags::SHADER_WRITE)
        .dst_access_mask(vk::AccessFlags::SHADER_READ)];
    // SAFETY: `cb` is recording outside a render pass.
    unsafe {
        ctx.device.cmd_pipeline_barrier(
            cb,
            vk::PipelineStageFlags::COMPUTE_SHADER,
            dst,
            vk::DependencyFlags::empty(),
            &barrier,
            &[],
            &[],
        )
    };
}

/// Draws one quad over the whole target with `set` bound and returns the target's images.
pub(super) fn draw_full_target(
    ctx: &GraphicsContext,
    target: &RenderTarget<'_>,
    set: &DescriptorSet<'_>,
    shaders: &(Vec<u32>, Vec<u32>),
) -> Result<Vec<ReadImage>, GpuError> {
    let mut desc = color_desc(shaders);
    desc.set_layouts = vec![set.layout];
    let pipeline = GraphicsPipeline::new(ctx, &desc, target)?;
    let (w, h) = (target.width, target.height);
    let vertices = quad((w, h), [0.0, 0.0, w as f32, h as f32], 0.5, [1.0; 4]);
    let vbuf = vertex_buffer(ctx, &vertices)?;
    target.render(|r| {
        r.pipeline(&pipeline);
        r.push(&pipeline, &Mat4::IDENTITY.bytes())?;
        r.descriptor_set(&pipeline, 0, set.set);
        r.vertex_buffer(0, &vbuf);
        r.draw(vertices.len() as u32, 1, 0, 0);
        Ok(())
    })
}

/// Each 8×8 cell is its colour entry times its scale (rounded to 8 bits).
pub fn check_texel_buffers(images: &[ReadImage]) -> Result<(), String> {
    let img = image(images, "color0")?;
    for y in 0..SIZE {
        for x in 0..SIZE {
            let i = (y / 8) * 8 + x / 8;
            let scale = f64::from(SCALES[(i % 4) as usize]);
            let want = cell_color(i).map(|c| f64::from(c) * scale);
            let got = rgba8(img, x, y);
            if got
                .iter()
                .zip(want)
                .any(|(&g, w)| (f64::from(g) - w).abs() > 1.0)
            {
                return Err(format!("pixel ({x}, {y}) is {got:?}, expected {want:.1?}"));
            }
        }
    }
    Ok(())
}

/// A compute shader writes a 64×64 RGBA8 storage image (`storage_write.comp`); a fragment
/// shader then reads it texel for texel (`fetch.frag`).
pub fn storage_image(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let target = target(ctx)?;
    let storage = StorageImage::new(ctx, vk::Format::R8G8B8A8_UNORM, SIZE, SIZE)?;
    let write_set = DescriptorSet::new(
        ctx,
        vk::ShaderStageFlags::COMPUTE,
        &[Resource::StorageImage(storage.view)],
    )?;
    let code = crate::graphics::shader("storage_write.comp", &[])?;
    let compute = ComputePipeline::new(ctx, &code, write_set.layout)?;
    ctx.submit_and_wait(|cb| {
        compute.record_dispatch(cb, write_set.set, [SIZE / 8, SIZE / 8, 1]);
        compute_write_barrier(ctx, cb, vk::PipelineStageFlags::FRAGMENT_SHADER);
        Ok(())
    })?;
    let sampler = Sampler::new(
        ctx,
        &sampler_info(
            vk::Filter::NEAREST,
            vk::SamplerMipmapMode::NEAREST,
            vk::SamplerAddressMode::CLAMP_TO_EDGE,
            0.0,
        ),
    )?;
    let read_set = DescriptorSet::new(
        ctx,
        vk::ShaderStageFlags::FRAGMENT,
        &[Resource::CombinedImageSampler(
            storage.view,
            sampler.sampler,
            vk::ImageLayout::GENERAL,
        )],
    )?;
    let shaders = textured_shaders("fetch.frag", &[])?;
    draw_full_target(ctx, &target, &read_set, &shaders)
}

/// Every pixel is what the compute shader wrote there.
pub fn check_storage_image(images: &[ReadImage]) -> Result<(), String> {
    let img = image(images, "color0")?;
    for y in 0..SIZE {
        for x in 0..SIZE {
            let b = if (x ^ y) & 8 != 0 { 1.0 } else { 0.2 };
            let want = [f64::from(x) / 63.0, f64::from(y) / 63.0, b, 1.0].map(|v| v * 255.0);
            let got = rgba8(img, x, y);
            if got
                .iter()
                .zip(want)
                .any(|(&g, w)| (f64::from(g) - w).abs() > 0.6)
            {
                return Err(format!("pixel ({x}, {y}) is {got:?}, expected {want:.1?}"));
            }
        }
    }
    Ok(())
}

/// Quads drawn by the first subpass of the input-attachment scene: pixel rectangle and colour.
const SUBPASS_QUADS: [([f32; 4], [f32; 4]); 3] = [
    ([4.0, 4.0, 40.0, 36.0], [0.9, 0.2, 0.1, 1.0]),
    ([20.0, 24.0, 60.0, 60.0], [0.1, 0.7, 0.3, 1.0]),
    ([30.0, 2.0, 62.0, 20.0], [0.2, 0.3, 0.95, 1.0]),
];

/// Two subpasses: the first draws three overlapping quads into colour 0, the second reads
/// colour 0 as an input attachment and writes a rearrangement of it to colour 1
/// (`subpass_read.frag`).
pub fn input_attachments(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let format = vk::Format::R8G8B8A8_UNORM;
    let target = RenderTarget::new(
        ctx,
        SIZE,
        SIZE,
        &[format, format],
        None,
        PassMode::InputSubpass,
    )?;
    let color = super::color_shaders()?;
    let mut first = color_desc(&color);
    first.subpass = 0;
    let scene = GraphicsPipeline::new(ctx, &first, &target)?;
    let set = DescriptorSet::new(
        ctx,
        vk::ShaderStageFlags::FRAGMENT,
        &[Resource::InputAttachment(target.colors[0].view)],
    )?;
    let read = textured_shaders("subpass_read.frag", &[])?;
    let mut second = color_desc(&read);
    second.set_layouts = vec![set.layout];
    second.subpass = 1;
    let post = GraphicsPipeline::new(ctx, &second, &target)?;
    let mut vertices: Vec<_> = SUBPASS_QUADS
        .iter()
        .flat_map(|(rect, c)| quad((SIZE, SIZE), *rect, 0.5, *c))
        .collect();
    let full = quad(
        (SIZE, SIZE),
        [0.0, 0.0, SIZE as f32, SIZE as f32],
        0.5,
        [1.0; 4],
    );
    vertices.extend(full);
    let vbuf = vertex_buffer(ctx, &vertices)?;
    let scene_count = 6 * SUBPASS_QUADS.len() as u32;
    target.render(|r| {
        r.pipeline(&scene);
        r.push(&scene, &Mat4::IDENTITY.bytes())?;
        r.vertex_buffer(0, &vbuf);
        r.draw(scene_count, 1, 0, 0);
        r.next_subpass();
        r.pipeline(&post);
        r.push(&post, &Mat4::IDENTITY.bytes())?;
        r.descriptor_set(&post, 0, set.set);
        r.vertex_buffer(0, &vbuf);
        r.draw(6, 1, scene_count, 0);
        Ok(())
    })
}

/// Colour 0 holds the last quad covering each pixel (or transparent black); colour 1 is its
/// rearrangement (b, 1 − r, g, 1).
pub fn check_input_attachments(images: &[ReadImage]) -> Result<(), String> {
    let first = image(images, "color0")?;
    let second = image(images, "color1")?;
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let want0 = SUBPASS_QUADS
                .iter()
                .rev()
                .find(|(r, _)| px > r[0] && px < r[2] && py > r[1] && py < r[3])
                .map_or([0.0; 4], |(_, c)| *c);
            let want1 = [want0[2], 1.0 - want0[0], want0[1], 1.0];
            for (img, want) in [(first, want0), (second, want1)] {
                let got = rgba8(img, x, y);
                let want = want.map(|v| f64::from(v) * 255.0);
                if got
                    .iter()
                    .zip(want)
                    .any(|(&g, w)| (f64::from(g) - w).abs() > 1.0)
                {
                    return Err(format!(
                        "{} pixel ({x}, {y}) is {got:?}, expected {want:.1?}",
                        img.name
                    ));
                }
            }
        }
    }
    Ok(())
}
