//! The named scenes of issue 6's and issue 7's comparison tests. Each scene renders through
//! [`crate::graphics`] on whatever driver the loader picks and has its own check, which holds
//! on any correct driver (lavapipe or softgpu): the fill convention of a closed fan, the colour
//! of known pixels, stencil values. `softgpu-scene` renders one and runs its check; the test
//! compares the pictures of two drivers.

mod basic;
mod blits;
mod cube;
mod cube_array;
mod depth;
mod dynamic;
mod storage_unformatted;
mod texture_ops;
mod textures;
mod topology;

use ash::vk;
use thiserror::Error;

use crate::graphics::{
    vertex_bytes, GraphicsContext, GraphicsPipeline, HostBuffer, Mat4, PipelineDesc, PosColor,
    ReadImage, RenderTarget,
};
use crate::GpuError;

#[derive(Debug, Error)]
pub enum SceneError {
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error("no scene named {0:?} (known: {1})")]
    Unknown(String, String),
    #[error("scene {scene}: {what}")]
    Check { scene: &'static str, what: String },
}

/// A scene: how it renders and what its rendering must satisfy.
pub struct Scene {
    pub name: &'static str,
    pub render: fn(&GraphicsContext) -> Result<Vec<ReadImage>, GpuError>,
    pub check: fn(&[ReadImage]) -> Result<(), String>,
}

/// Every scene, in the order the issue lists them.
pub const SCENES: &[Scene] = &[
    Scene {
        name: "triangle-fan-fill",
        render: basic::fan_fill,
        check: basic::check_fan_fill,
    },
    Scene {
        name: "cube-depth",
        render: depth::cube,
        check: depth::check_cube,
    },
    Scene {
        name: "alpha-blend",
        render: basic::alpha_blend,
        check: basic::check_alpha_blend,
    },
    Scene {
        name: "stencil-mask",
        render: depth::stencil,
        check: depth::check_stencil,
    },
    Scene {
        name: "flat-rects",
        render: basic::rects,
        check: basic::check_rects,
    },
    Scene {
        name: "many-triangles",
        render: basic::many_triangles,
        check: basic::check_many_triangles,
    },
    Scene {
        name: "clipping",
        render: depth::clipping,
        check: depth::check_clipping,
    },
    Scene {
        name: "instanced",
        render: basic::instanced,
        check: basic::check_instanced,
    },
    Scene {
        name: "points-lines",
        render: topology::points_lines,
        check: topology::check_points_lines,
    },
    Scene {
        name: "multiple-targets",
        render: dynamic::mrt,
        check: dynamic::check_mrt,
    },
    Scene {
        name: "dynamic-rendering",
        render: dynamic::dynamic_rendering,
        check: dynamic::check_dynamic_rendering,
    },
    Scene {
        name: "strips-fans-restart",
        render: topology::strips_fans,
        check: topology::check_strips_fans,
    },
    Scene {
        name: "indirect",
        render: topology::indirect,
        check: topology::check_indirect,
    },
    Scene {
        name: "texture-address-filter",
        render: textures::address_filter,
        check: textures::check_address_filter,
    },
    Scene {
        name: "texture-address-filter-fragcoord",
        render: textures::address_filter_fragcoord,
        check: textures::check_address_filter,
    },
    Scene {
        name: "texture-mip-plane",
        render: textures::mip_plane,
        check: textures::check_mip_plane,
    },
    Scene {
        name: "texture-derivatives",
        render: texture_ops::derivatives,
        check: texture_ops::check_derivatives,
    },
    Scene {
        name: "texture-gather",
        render: texture_ops::gather,
        check: texture_ops::check_gather,
    },
    Scene {
        name: "texture-depth-compare",
        render: texture_ops::depth_compare,
        check: texture_ops::check_depth_compare,
    },
    Scene {
        name: "texel-buffers",
        render: texture_ops::texel_buffers,
        check: texture_ops::check_texel_buffers,
    },
    Scene {
        name: "storage-image-compute-to-fragment",
        render: texture_ops::storage_image,
        check: texture_ops::check_storage_image,
    },
    Scene {
        name: "input-attachments",
        render: texture_ops::input_attachments,
        check: texture_ops::check_input_attachments,
    },
    Scene {
        name: "cube-seams",
        render: cube::seams,
        check: cube::check_seams,
    },
    Scene {
        name: "blit-formats",
        render: blits::blit_formats,
        check: blits::check_blit_formats,
    },
    Scene {
        name: "storage-image-unformatted",
        render: storage_unformatted::unformatted,
        check: storage_unformatted::check_unformatted,
    },
    Scene {
        name: "cube-array-sample",
        render: cube_array::sample,
        check: cube_array::check_sample,
    },
    Scene {
        name: "cube-array-lod",
        render: cube_array::lod,
        check: cube_array::check_lod,
    },
    Scene {
        name: "cube-array-gather",
        render: cube_array::gather,
        check: cube_array::check_gather,
    },
];

/// The scene called `name`.
pub fn find(name: &str) -> Result<&'static Scene, SceneError> {
    SCENES.iter().find(|s| s.name == name).ok_or_else(|| {
        let known: Vec<_> = SCENES.iter().map(|s| s.name).collect();
        SceneError::Unknown(name.to_string(), known.join(", "))
    })
}

/// Renders `scene` and runs its check; the images come back even when the check fails, so
/// they can be written out for a look.
pub fn run(
    ctx: &GraphicsContext,
    scene: &Scene,
) -> Result<(Vec<ReadImage>, Result<(), SceneError>), SceneError> {
    let images = (scene.render)(ctx)?;
    let checked = (scene.check)(&images).map_err(|what| SceneError::Check {
        scene: scene.name,
        what,
    });
    Ok((images, checked))
}

// ---- helpers shared by the scenes ----

/// The colour-per-vertex shaders (`color.vert`, `color.frag`).
pub(crate) fn color_shaders() -> Result<(Vec<u32>, Vec<u32>), GpuError> {
    Ok((
        crate::graphics::shader("color.vert", &[])?,
        crate::graphics::shader("color.frag", &[])?,
    ))
}

/// A pipeline description for `color.vert`/`color.frag` with a 64-byte `mvp` push constant.
pub(crate) fn color_desc<'a>(shaders: &'a (Vec<u32>, Vec<u32>)) -> PipelineDesc<'a> {
    let mut desc = PipelineDesc::new(&shaders.0, &shaders.1);
    desc.push_constant_size = 64;
    desc
}

/// Pixel coordinate → normalized device coordinate along an axis of `size` pixels.
pub(crate) fn ndc(px: f32, size: u32) -> f32 {
    px / size as f32 * 2.0 - 1.0
}

/// Two triangles covering the pixel rectangle [x0, x1) × [y0, y1) of a `w`×`h` target.
pub(crate) fn quad(
    (w, h): (u32, u32),
    [x0, y0, x1, y1]: [f32; 4],
    z: f32,
    color: [f32; 4],
) -> [PosColor; 6] {
    let (ax, ay, bx, by) = (ndc(x0, w), ndc(y0, h), ndc(x1, w), ndc(y1, h));
    let v = |x, y| PosColor::new(x, y, z, color);
    [
        v(ax, ay),
        v(bx, ay),
        v(bx, by),
        v(ax, ay),
        v(bx, by),
        v(ax, by),
    ]
}

/// A vertex buffer holding `vertices`.
pub(crate) fn vertex_buffer<'c>(
    ctx: &'c GraphicsContext,
    vertices: &[PosColor],
) -> Result<HostBuffer<'c>, GpuError> {
    HostBuffer::with_bytes(
        ctx,
        vk::BufferUsageFlags::VERTEX_BUFFER,
        &vertex_bytes(vertices),
    )
}

/// Renders `vertices` as one triangle list with `pipeline` (identity `mvp`).
pub(crate) fn draw_list(
    target: &RenderTarget<'_>,
    pipeline: &GraphicsPipeline<'_>,
    vbuf: &HostBuffer<'_>,
    count: u32,
) -> Result<Vec<ReadImage>, GpuError> {
    target.render(|r| {
        r.pipeline(pipeline);
        r.push(pipeline, &Mat4::IDENTITY.bytes())?;
        r.vertex_buffer(0, vbuf);
        r.draw(count, 1, 0, 0);
        Ok(())
    })
}

/// The readback called `name` (`color0`.., `depth`, `stencil`).
pub(crate) fn image<'a>(images: &'a [ReadImage], name: &str) -> Result<&'a ReadImage, String> {
    images
        .iter()
        .find(|i| i.name == name)
        .ok_or_else(|| format!("no {name} readback"))
}

/// The 8-bit RGBA value of the pixel at (x, y) of a colour readback.
pub(crate) fn rgba8(img: &ReadImage, x: u32, y: u32) -> [u8; 4] {
    img.info.to_rgba8(img.texel(x, y))
}

/// Fails unless the pixel at (x, y) is within `tolerance` of `want` in every channel.
pub(crate) fn expect_rgba8(
    img: &ReadImage,
    x: u32,
    y: u32,
    want: [u8; 4],
    tolerance: u8,
) -> Result<(), String> {
    let got = rgba8(img, x, y);
    if got
        .iter()
        .zip(want)
        .all(|(g, w)| g.abs_diff(w) <= tolerance)
    {
        Ok(())
    } else {
        Err(format!(
            "{} pixel ({x}, {y}) is {got:?}, expected {want:?} ± {tolerance}",
            img.name
        ))
    }
}

/// A float colour as the 8-bit UNORM values it stores as.
pub(crate) fn unorm8(c: [f32; 4]) -> [u8; 4] {
    c.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
}

/// Deterministic pseudo-random numbers (xorshift64*), the same on every driver.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 / (1u32 << 24) as f32
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scene_names_are_unique_and_found() {
        for s in SCENES {
            assert_eq!(find(s.name).unwrap().name, s.name);
            assert_eq!(SCENES.iter().filter(|t| t.name == s.name).count(), 1);
        }
        assert!(matches!(find("nope"), Err(SceneError::Unknown(..))));
    }

    #[test]
    fn quad_spans_the_pixel_rectangle_in_ndc() {
        let q = quad((100, 50), [0.0, 25.0, 50.0, 50.0], 0.5, [1.0; 4]);
        assert_eq!(q[0].pos, [-1.0, 0.0, 0.5, 1.0]);
        assert_eq!(q[2].pos, [0.0, 1.0, 0.5, 1.0]);
    }
}
