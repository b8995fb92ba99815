//! Scenes of issue 7: textured quads per address mode and filter, and mip selection on a
//! receding plane. The texture coordinates ride in the vertex colour's x and y
//! (`color.vert` + `textured.frag`).

use ash::vk;

use super::{color_shaders, image, ndc, rgba8, vertex_buffer};
use crate::graphics::{
    GraphicsContext, GraphicsPipeline, Mat4, PassMode, PipelineDesc, PosColor, ReadImage,
    RenderTarget, Sampler, Texture, TextureDesc, TextureSets,
};
use crate::GpuError;

/// The 4×4 texture of the address-mode scene: 16 distinct, far-apart colours.
pub(super) const PALETTE: [[u8; 4]; 16] = [
    [230, 25, 75, 255],
    [60, 180, 75, 255],
    [255, 225, 25, 255],
    [0, 130, 200, 255],
    [245, 130, 48, 255],
    [145, 30, 180, 255],
    [70, 240, 240, 255],
    [240, 50, 230, 255],
    [210, 245, 60, 255],
    [250, 190, 212, 255],
    [0, 128, 128, 255],
    [220, 190, 255, 255],
    [170, 110, 40, 255],
    [255, 250, 200, 255],
    [128, 0, 0, 255],
    [0, 0, 128, 255],
];
const ADDRESS_MODES: [vk::SamplerAddressMode; 4] = [
    vk::SamplerAddressMode::REPEAT,
    vk::SamplerAddressMode::MIRRORED_REPEAT,
    vk::SamplerAddressMode::CLAMP_TO_EDGE,
    vk::SamplerAddressMode::CLAMP_TO_BORDER,
];
const FILTERS: [vk::Filter; 2] = [vk::Filter::NEAREST, vk::Filter::LINEAR];
/// Side of one cell of the address-mode grid, in pixels.
const CELL: u32 = 56;
/// Texture coordinates across a cell: 3.5 repeats, starting outside [0, 1].
const UV_RANGE: [f32; 2] = [-1.25, 2.25];

/// `color.vert` with the fragment shader `fragment` (a file of the graphics shader
/// directory) compiled with `defines`.
pub(super) fn textured_shaders(
    fragment: &str,
    defines: &[(&str, &str)],
) -> Result<(Vec<u32>, Vec<u32>), GpuError> {
    Ok((
        color_shaders()?.0,
        crate::graphics::shader(fragment, defines)?,
    ))
}

/// A quad over the pixel rectangle with texture coordinates `uv0` at its top-left and `uv1`
/// at its bottom-right corner.
pub(super) fn uv_quad(
    size: (u32, u32),
    [x0, y0, x1, y1]: [f32; 4],
    uv0: [f32; 2],
    uv1: [f32; 2],
) -> [PosColor; 6] {
    let (ax, ay, bx, by) = (
        ndc(x0, size.0),
        ndc(y0, size.1),
        ndc(x1, size.0),
        ndc(y1, size.1),
    );
    let v = |x, y, u, t| PosColor::new(x, y, 0.5, [u, t, 0.0, 0.0]);
    [
        v(ax, ay, uv0[0], uv0[1]),
        v(bx, ay, uv1[0], uv0[1]),
        v(bx, by, uv1[0], uv1[1]),
        v(ax, ay, uv0[0], uv0[1]),
        v(bx, by, uv1[0], uv1[1]),
        v(ax, by, uv0[0], uv1[1]),
    ]
}

pub(super) fn sampler_info(
    filter: vk::Filter,
    mipmap: vk::SamplerMipmapMode,
    address: vk::SamplerAddressMode,
    max_lod: f32,
) -> vk::SamplerCreateInfo<'static> {
    vk::SamplerCreateInfo::default()
        .mag_filter(filter)
        .min_filter(filter)
        .mipmap_mode(mipmap)
        .address_mode_u(address)
        .address_mode_v(address)
        .address_mode_w(address)
        .border_color(vk::BorderColor::FLOAT_OPAQUE_WHITE)
        .min_lod(0.0)
        .max_lod(max_lod)
}

/// Draws each quad of `quads` with `textured.frag` and the texture set of the same index.
fn draw_textured(
    ctx: &GraphicsContext,
    target: &RenderTarget<'_>,
    sets: &TextureSets<'_>,
    quads: &[[PosColor; 6]],
) -> Result<Vec<ReadImage>, GpuError> {
    draw_with(
        ctx,
        target,
        sets,
        quads,
        &textured_shaders("textured.frag", &[])?,
    )
}

/// Draws each quad of `quads` with `shaders` and the texture set of the same index.
pub(super) fn draw_with(
    ctx: &GraphicsContext,
    target: &RenderTarget<'_>,
    sets: &TextureSets<'_>,
    quads: &[[PosColor; 6]],
    shaders: &(Vec<u32>, Vec<u32>),
) -> Result<Vec<ReadImage>, GpuError> {
    let mut desc = PipelineDesc::new(&shaders.0, &shaders.1);
    desc.push_constant_size = 64;
    desc.set_layouts = vec![sets.layout];
    let pipeline = GraphicsPipeline::new(ctx, &desc, target)?;
    let vertices: Vec<PosColor> = quads.iter().flatten().copied().collect();
    let vbuf = vertex_buffer(ctx, &vertices)?;
    target.render(|r| {
        r.pipeline(&pipeline);
        r.push(&pipeline, &Mat4::IDENTITY.bytes())?;
        r.vertex_buffer(0, &vbuf);
        for (i, set) in sets.sets.iter().enumerate().take(quads.len()) {
            r.descriptor_set(&pipeline, 0, *set);
            r.draw(6, 1, 6 * i as u32, 0);
        }
        Ok(())
    })
}

/// The 4×4 RGBA8 texture of [`PALETTE`].
pub(super) fn palette_texture(ctx: &GraphicsContext) -> Result<Texture<'_>, GpuError> {
    let texels: Vec<u8> = PALETTE.iter().flatten().copied().collect();
    let data = [vec![texels]];
    Texture::new(
        ctx,
        &TextureDesc {
            format: vk::Format::R8G8B8A8_UNORM,
            width: 4,
            height: 4,
            data: &data,
            view_type: vk::ImageViewType::TYPE_2D,
            aspect: vk::ImageAspectFlags::COLOR,
        },
    )
}

/// A 4×4 RGBA8 texture of [`PALETTE`] under each address mode (columns) with NEAREST (top
/// row) and LINEAR (bottom row) filtering, texture coordinates from -1.25 to 2.25.
pub fn address_filter(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    address_grid(ctx, false)
}

/// [`address_filter`]'s picture with the texture coordinates computed in the fragment shader
/// from `FragCoord` and the cell's corner (a vertex input equal at every vertex of the
/// quad): a shader that only copies one sampled texel, whose covered blocks softgpu samples
/// without running the shader.
pub fn address_filter_fragcoord(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    address_grid(ctx, true)
}

/// The address-mode grid; `fragcoord`: coordinates from `FragCoord` (see
/// [`address_filter_fragcoord`]), else interpolated.
fn address_grid(ctx: &GraphicsContext, fragcoord: bool) -> Result<Vec<ReadImage>, GpuError> {
    let size = (
        CELL * ADDRESS_MODES.len() as u32,
        CELL * FILTERS.len() as u32,
    );
    let target = RenderTarget::new(
        ctx,
        size.0,
        size.1,
        &[vk::Format::R8G8B8A8_UNORM],
        None,
        PassMode::RenderPass,
    )?;
    let texture = palette_texture(ctx)?;
    let cells = ADDRESS_MODES.len() * FILTERS.len();
    let sets = TextureSets::new(ctx, cells as u32)?;
    let mut samplers = Vec::new();
    let mut quads = Vec::new();
    for (row, &filter) in FILTERS.iter().enumerate() {
        for (col, &mode) in ADDRESS_MODES.iter().enumerate() {
            let sampler = Sampler::new(
                ctx,
                &sampler_info(filter, vk::SamplerMipmapMode::NEAREST, mode, 0.0),
            )?;
            sets.write(samplers.len(), &texture, &sampler)?;
            samplers.push(sampler);
            let (x, y) = ((col as u32 * CELL) as f32, (row as u32 * CELL) as f32);
            let rect = [x, y, x + CELL as f32, y + CELL as f32];
            quads.push(if fragcoord {
                // The cell's corner at every vertex.
                let mut quad = uv_quad(size, rect, [0.0; 2], [0.0; 2]);
                for v in &mut quad {
                    v.color = [x, y, 0.0, 0.0];
                }
                quad
            } else {
                uv_quad(size, rect, [UV_RANGE[0]; 2], [UV_RANGE[1]; 2])
            });
        }
    }
    if fragcoord {
        let shaders = textured_shaders("textured.frag", &[("FROM_FRAGCOORD", "1")])?;
        return draw_with(ctx, &target, &sets, &quads, &shaders);
    }
    draw_textured(ctx, &target, &sets, &quads)
}

/// Where texel coordinate `i` (any integer) lands on a `n`-texel axis under `mode`; `None`
/// for the border.
fn wrap(i: i64, n: i64, mode: vk::SamplerAddressMode) -> Option<i64> {
    match mode {
        vk::SamplerAddressMode::REPEAT => Some(i.rem_euclid(n)),
        vk::SamplerAddressMode::MIRRORED_REPEAT => {
            let t = i.rem_euclid(2 * n);
            Some(if t < n { t } else { 2 * n - 1 - t })
        }
        vk::SamplerAddressMode::CLAMP_TO_EDGE => Some(i.clamp(0, n - 1)),
        _ => (0..n).contains(&i).then_some(i),
    }
}

/// The texel (or the opaque white border) at integer coordinates.
fn texel(x: i64, y: i64, mode: vk::SamplerAddressMode) -> [f64; 4] {
    match (wrap(x, 4, mode), wrap(y, 4, mode)) {
        (Some(x), Some(y)) => PALETTE[(4 * y + x) as usize].map(f64::from),
        _ => [255.0; 4],
    }
}

/// The spec's sampling of [`PALETTE`] at (u, v) with `filter` (unnormalized texel space).
fn sample(u: f64, v: f64, filter: vk::Filter, mode: vk::SamplerAddressMode) -> [f64; 4] {
    let (s, t) = (u * 4.0, v * 4.0);
    if filter == vk::Filter::NEAREST {
        return texel(s.floor() as i64, t.floor() as i64, mode);
    }
    let (s, t) = (s - 0.5, t - 0.5);
    let (i0, j0) = (s.floor(), t.floor());
    let (a, b) = (s - i0, t - j0);
    let (i0, j0) = (i0 as i64, j0 as i64);
    let mut out = [0.0; 4];
    for (di, dj, w) in [
        (0, 0, (1.0 - a) * (1.0 - b)),
        (1, 0, a * (1.0 - b)),
        (0, 1, (1.0 - a) * b),
        (1, 1, a * b),
    ] {
        let c = texel(i0 + di, j0 + dj, mode);
        for k in 0..4 {
            out[k] += w * c[k];
        }
    }
    out
}

/// Every pixel against [`sample`] at its centre's texture coordinates, except those within a
/// twentieth of a texel of a texel boundary (NEAREST) where rounding may pick either side.
pub fn check_address_filter(images: &[ReadImage]) -> Result<(), String> {
    let img = image(images, "color0")?;
    let per_pixel = f64::from(UV_RANGE[1] - UV_RANGE[0]) / f64::from(CELL);
    for (row, &filter) in FILTERS.iter().enumerate() {
        for (col, &mode) in ADDRESS_MODES.iter().enumerate() {
            for py in 0..CELL {
                for px in 0..CELL {
                    let uv = |p: u32| f64::from(UV_RANGE[0]) + (f64::from(p) + 0.5) * per_pixel;
                    let (u, v) = (uv(px), uv(py));
                    let near_edge = |c: f64| {
                        let f = (c * 4.0).fract().abs();
                        f.min(1.0 - f) < 0.05
                    };
                    if filter == vk::Filter::NEAREST && (near_edge(u) || near_edge(v)) {
                        continue;
                    }
                    let want = sample(u, v, filter, mode);
                    let (x, y) = (col as u32 * CELL + px, row as u32 * CELL + py);
                    let got = rgba8(img, x, y);
                    if got
                        .iter()
                        .zip(want)
                        .any(|(&g, w)| (f64::from(g) - w).abs() > 4.0)
                    {
                        return Err(format!(
                            "{filter:?} {mode:?}: pixel ({x}, {y}) at uv ({u:.3}, {v:.3}) is \
                             {got:?}, expected {want:.1?} ± 4"
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Solid colours of the mip-plane texture's levels, level 0 first.
const LEVEL_COLORS: [[u8; 4]; 7] = [
    [255, 40, 40, 255],
    [40, 220, 40, 255],
    [40, 80, 255, 255],
    [240, 220, 40, 255],
    [220, 40, 220, 255],
    [40, 220, 220, 255],
    [250, 250, 250, 255],
];
const PLANE_SIZE: u32 = 128;

/// A floor plane receding into the distance (clip-space w from 1 at the bottom edge to 8 at
/// the horizon), textured with a 64×64 mip chain whose levels are solid colours, sampled
/// trilinearly: the colour bands show which levels each row reads.
pub fn mip_plane(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let target = RenderTarget::new(
        ctx,
        PLANE_SIZE,
        PLANE_SIZE,
        &[vk::Format::R8G8B8A8_UNORM],
        None,
        PassMode::RenderPass,
    )?;
    let data: Vec<Vec<Vec<u8>>> = LEVEL_COLORS
        .iter()
        .enumerate()
        .map(|(level, c)| {
            let side = 64usize >> level;
            vec![c.repeat(side * side)]
        })
        .collect();
    let texture = Texture::new(
        ctx,
        &TextureDesc {
            format: vk::Format::R8G8B8A8_UNORM,
            width: 64,
            height: 64,
            data: &data,
            view_type: vk::ImageViewType::TYPE_2D,
            aspect: vk::ImageAspectFlags::COLOR,
        },
    )?;
    let sampler = Sampler::new(
        ctx,
        &sampler_info(
            vk::Filter::LINEAR,
            vk::SamplerMipmapMode::LINEAR,
            vk::SamplerAddressMode::REPEAT,
            vk::LOD_CLAMP_NONE,
        ),
    )?;
    let sets = TextureSets::all_of(ctx, 1, &texture, &sampler)?;
    // Near edge at the bottom (w = 1, full width), far edge near the top (w = 8).
    let v = |x: f32, y: f32, w: f32, u: f32, t: f32| {
        let mut p = PosColor::new(x * w, y * w, 0.5 * w, [u, t, 0.0, 0.0]);
        p.pos[3] = w;
        p
    };
    let (near, far) = (1.0, 8.0);
    let quad = [
        v(-1.0, 1.0, near, 0.0, 0.0),
        v(1.0, 1.0, near, 4.0, 0.0),
        v(1.0, -0.8, far, 4.0, 32.0),
        v(-1.0, 1.0, near, 0.0, 0.0),
        v(1.0, -0.8, far, 4.0, 32.0),
        v(-1.0, -0.8, far, 0.0, 32.0),
    ];
    draw_textured(ctx, &target, &sets, &[quad])
}

/// Level colours get coarser going up the plane: the bottom centre mostly reads level 0-1,
/// rows near the horizon read level 3 or beyond, and the region above the plane is the clear
/// colour (black).
pub fn check_mip_plane(images: &[ReadImage]) -> Result<(), String> {
    let img = image(images, "color0")?;
    let nearest_level = |c: [u8; 4]| {
        LEVEL_COLORS
            .iter()
            .enumerate()
            .min_by_key(|(_, l)| {
                l.iter()
                    .zip(c)
                    .map(|(&a, b)| u32::from(a.abs_diff(b)).pow(2))
                    .sum::<u32>()
            })
            .map_or(0, |(i, _)| i)
    };
    let mid = PLANE_SIZE / 2;
    let bottom = nearest_level(rgba8(img, mid, PLANE_SIZE - 2));
    let horizon = nearest_level(rgba8(img, mid, 14));
    if bottom > 1 {
        return Err(format!(
            "the near edge reads level {bottom}, expected 0 or 1"
        ));
    }
    if horizon < 3 {
        return Err(format!(
            "the far edge reads level {horizon}, expected 3 or more"
        ));
    }
    let sky = rgba8(img, mid, 2);
    if sky[..3] != [0, 0, 0] {
        return Err(format!(
            "above the plane is {sky:?}, expected the clear colour"
        ));
    }
    Ok(())
}
