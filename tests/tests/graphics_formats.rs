//! Render-then-read-back for every colour and depth/stencil format of issue 6's list: a
//! 16×16 attachment is cleared to one value, the top half is drawn with another (the fragment
//! shader writes a push-constant value of the format's numeric kind; depth comes from the
//! vertices; stencil from a REPLACE op), and the copy to a buffer must hold, texel by texel,
//! what the CPU computes for the format's conversion (UNORM/SNORM/sRGB within one code, floats
//! and integers exactly, D24 within one code, depth and stencil aspects copied separately).
//!
//! Runs on softgpu; `SOFTGPU_E2E_DRIVER=lavapipe` or `SOFTGPU_E2E_REFERENCE_ONLY=1` runs it on
//! lavapipe to check the test.
#![allow(clippy::unwrap_used)]

mod common;

use ash::vk;
use softgpu_e2e::graphics::format::{Numeric, COLOR_FORMATS, DEPTH_FORMATS};
use softgpu_e2e::graphics::{
    shader, Aspect, Clear, FormatInfo, GraphicsContext, GraphicsPipeline, Mat4, PassMode,
    PipelineDesc, PosColor, ReadImage, RenderTarget,
};

const SIZE: u32 = 16;
/// Rows [0, DRAWN_ROWS) are drawn; the rest keep the clear value.
const DRAWN_ROWS: u32 = 8;

/// Whether this run checks the test on lavapipe instead of softgpu.
/// (clear value, drawn value) for a numeric kind, exactly representable where it matters.
fn values(numeric: Numeric) -> ([f64; 4], [f64; 4]) {
    match numeric {
        Numeric::Unorm | Numeric::Srgb => ([0.25, 0.5, 0.75, 1.0], [1.0, 0.0, 0.5, 0.25]),
        Numeric::Snorm => ([-0.5, 0.25, -1.0, 1.0], [1.0, -0.25, 0.5, -0.75]),
        Numeric::Uint => ([1.0, 2.0, 3.0, 4.0], [200.0, 100.0, 7.0, 3.0]),
        Numeric::Sint => ([-1.0, 2.0, -3.0, 4.0], [-100.0, 50.0, 7.0, -8.0]),
        Numeric::Sfloat => ([0.5, -2.0, 0.25, 1.0], [1.5, 0.125, -4.0, 0.75]),
        Numeric::Ufloat => ([0.5, 2.0, 0.25, 1.0], [1.5, 0.125, 4.0, 1.0]),
    }
}

fn clear_value(numeric: Numeric, v: [f64; 4]) -> vk::ClearColorValue {
    match numeric {
        Numeric::Uint => vk::ClearColorValue {
            uint32: v.map(|x| x as u32),
        },
        Numeric::Sint => vk::ClearColorValue {
            int32: v.map(|x| x as i32),
        },
        _ => vk::ClearColorValue {
            float32: v.map(|x| x as f32),
        },
    }
}

/// The fragment-shader push constants after the 64-byte matrix: vec4 f, uvec4 u, ivec4 i.
fn fill_push(v: [f64; 4]) -> Vec<u8> {
    let mut bytes = Mat4::IDENTITY.bytes();
    bytes.extend(v.iter().flat_map(|x| (*x as f32).to_le_bytes()));
    bytes.extend(v.iter().flat_map(|x| (*x as u32).to_le_bytes()));
    bytes.extend(v.iter().flat_map(|x| (*x as i32).to_le_bytes()));
    bytes
}

/// The top half of the target as two triangles at depth `z`.
fn top_half(z: f32) -> Vec<PosColor> {
    let y = DRAWN_ROWS as f32 / SIZE as f32 * 2.0 - 1.0;
    let v = |x, y| PosColor::new(x, y, z, [1.0; 4]);
    vec![
        v(-1.0, -1.0),
        v(1.0, -1.0),
        v(1.0, y),
        v(-1.0, -1.0),
        v(1.0, y),
        v(-1.0, y),
    ]
}

/// Codes within `tolerance` of each other, integers compared with sign extension.
fn close(info: &FormatInfo, got: [u64; 4], want: [u64; 4], tolerance: u64) -> bool {
    (0..4).all(|i| {
        let bits = info.fields[i].bits;
        if bits == 0 {
            return true;
        }
        let ext = |c: u64| -> i64 {
            let shift = 64 - u32::from(bits);
            ((c << shift) as i64) >> shift
        };
        let (g, w) = match info.numeric {
            Numeric::Snorm | Numeric::Sint => (ext(got[i]), ext(want[i])),
            _ => (got[i] as i64, want[i] as i64),
        };
        g.abs_diff(w) <= tolerance
    })
}

/// Checks every texel of `img`: drawn rows hold `drawn`, the rest `cleared`.
fn check_texels(
    img: &ReadImage,
    cleared: [u64; 4],
    drawn: [u64; 4],
    tolerance: u64,
) -> Result<(), String> {
    for y in 0..img.height {
        for x in 0..img.width {
            let want = if y < DRAWN_ROWS { drawn } else { cleared };
            let got = img.codes(x, y);
            if !close(&img.info, got, want, tolerance) {
                return Err(format!(
                    "{:?} {:?} texel ({x}, {y}): codes {got:x?}, expected {want:x?} ± {tolerance}",
                    img.info.format, img.aspect
                ));
            }
        }
    }
    Ok(())
}

fn color_format_round_trip(ctx: &GraphicsContext, format: vk::Format) -> Result<(), String> {
    let info = FormatInfo::of(format).map_err(|e| e.to_string())?;
    let kind = match info.numeric {
        Numeric::Uint => "1",
        Numeric::Sint => "2",
        _ => "0",
    };
    let vert = shader("color.vert", &[]).map_err(|e| e.to_string())?;
    let frag = shader("fill.frag", &[("KIND", kind)]).map_err(|e| e.to_string())?;
    let (clear, draw) = values(info.numeric);
    let mut target = RenderTarget::new(ctx, SIZE, SIZE, &[format], None, PassMode::RenderPass)
        .map_err(|e| format!("{format:?}: {e}"))?;
    target.clear = Clear {
        colors: vec![clear_value(info.numeric, clear)],
        depth: 1.0,
        stencil: 0,
    };
    let mut desc = PipelineDesc::new(&vert, &frag);
    desc.push_constant_size = 112;
    let pipeline =
        GraphicsPipeline::new(ctx, &desc, &target).map_err(|e| format!("{format:?}: {e}"))?;
    let vbuf = softgpu_e2e::graphics::HostBuffer::with_bytes(
        ctx,
        vk::BufferUsageFlags::VERTEX_BUFFER,
        &softgpu_e2e::graphics::vertex_bytes(&top_half(0.5)),
    )
    .map_err(|e| e.to_string())?;
    let images = target
        .render(|r| {
            r.pipeline(&pipeline);
            r.push(&pipeline, &fill_push(draw))?;
            r.vertex_buffer(0, &vbuf);
            r.draw(6, 1, 0, 0);
            Ok(())
        })
        .map_err(|e| format!("{format:?}: {e}"))?;
    let tolerance = match info.numeric {
        Numeric::Unorm | Numeric::Snorm | Numeric::Srgb => 1,
        _ => 0,
    };
    let img = images.first().ok_or("no readback")?;
    check_texels(img, info.encode(clear), info.encode(draw), tolerance)
}

#[test]
fn every_color_format_renders_and_reads_back_its_conversion() {
    let ctx = common::graphics_context();
    let failures: Vec<String> = COLOR_FORMATS
        .iter()
        .filter(|&&f| {
            // Lavapipe cannot attach R8_SRGB and R8G8_SRGB (the spec does not require it);
            // softgpu must, so only the reference run leaves them out.
            let attachable = ctx
                .format_features(f)
                .contains(vk::FormatFeatureFlags::COLOR_ATTACHMENT);
            if !attachable && common::lavapipe_only() {
                println!(
                    "{f:?}: not an attachment format on {}; left out",
                    ctx.name()
                );
            }
            attachable || !common::lavapipe_only()
        })
        .filter_map(|&f| color_format_round_trip(&ctx, f).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} colour formats failed:\n{}",
        failures.len(),
        COLOR_FORMATS.len(),
        failures.join("\n")
    );
}

const STENCIL_CLEAR: u32 = 0x21;
const STENCIL_DRAWN: u32 = 0x5a;

fn depth_format_round_trip(ctx: &GraphicsContext, format: vk::Format) -> Result<(), String> {
    let info = FormatInfo::of(format).map_err(|e| e.to_string())?;
    let shaders = (
        shader("color.vert", &[]).map_err(|e| e.to_string())?,
        shader("color.frag", &[]).map_err(|e| e.to_string())?,
    );
    let mut target = RenderTarget::new(ctx, SIZE, SIZE, &[], Some(format), PassMode::RenderPass)
        .map_err(|e| format!("{format:?}: {e}"))?;
    target.clear = Clear {
        colors: Vec::new(),
        depth: 0.5,
        stencil: STENCIL_CLEAR,
    };
    let mut desc = PipelineDesc::new(&shaders.0, &shaders.1);
    desc.push_constant_size = 64;
    desc.depth_test = info.has_depth;
    desc.depth_write = info.has_depth;
    desc.depth_compare = vk::CompareOp::ALWAYS;
    desc.stencil = info.has_stencil.then_some(vk::StencilOpState {
        fail_op: vk::StencilOp::KEEP,
        pass_op: vk::StencilOp::REPLACE,
        depth_fail_op: vk::StencilOp::KEEP,
        compare_op: vk::CompareOp::ALWAYS,
        compare_mask: 0xff,
        write_mask: 0xff,
        reference: STENCIL_DRAWN,
    });
    let pipeline =
        GraphicsPipeline::new(ctx, &desc, &target).map_err(|e| format!("{format:?}: {e}"))?;
    let vbuf = softgpu_e2e::graphics::HostBuffer::with_bytes(
        ctx,
        vk::BufferUsageFlags::VERTEX_BUFFER,
        &softgpu_e2e::graphics::vertex_bytes(&top_half(0.25)),
    )
    .map_err(|e| e.to_string())?;
    let images = target
        .render(|r| {
            r.pipeline(&pipeline);
            r.push(&pipeline, &Mat4::IDENTITY.bytes())?;
            r.vertex_buffer(0, &vbuf);
            r.draw(6, 1, 0, 0);
            Ok(())
        })
        .map_err(|e| format!("{format:?}: {e}"))?;
    for img in &images {
        match img.aspect {
            Aspect::Depth => {
                let tolerance = u64::from(info.numeric == Numeric::Unorm);
                let enc = |d: f64| info.encode([d, 0.0, 0.0, 0.0]);
                check_texels(img, enc(0.5), enc(0.25), tolerance)?;
            }
            Aspect::Stencil => check_texels(
                img,
                [u64::from(STENCIL_CLEAR), 0, 0, 0],
                [u64::from(STENCIL_DRAWN), 0, 0, 0],
                0,
            )?,
            Aspect::Color => return Err(format!("{format:?}: unexpected colour readback")),
        }
    }
    let want = usize::from(info.has_depth) + usize::from(info.has_stencil);
    if images.len() != want {
        return Err(format!(
            "{format:?}: {} aspects read back, expected {want}",
            images.len()
        ));
    }
    Ok(())
}

#[test]
fn every_depth_stencil_format_renders_and_reads_back_each_aspect() {
    let ctx = common::graphics_context();
    let failures: Vec<String> = DEPTH_FORMATS
        .iter()
        .filter_map(|&f| depth_format_round_trip(&ctx, f).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} depth/stencil formats failed:\n{}",
        failures.len(),
        DEPTH_FORMATS.len(),
        failures.join("\n")
    );
}
