//! Draws through JIT-compiled vertex and fragment stages (GLSL compiled with
//! glslangValidator, lowered, compiled by jit-host), compared with the same draw through
//! closure stages computing the shaders' maths on the CPU; and graphics pipeline creation
//! errors.
#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

mod common;

use std::sync::Arc;

use renderer::draw::{
    ClosureFragmentStage, ClosureVertexStage, DrawCall, DrawError, DrawResources, FragmentIo,
    GraphicsPipeline, GraphicsState, RenderTargets, ShaderStageSource, StageInterface,
    VertexBufferBinding,
};
use renderer::format::{unpack_color, ColorValue, Format};
use renderer::image::{Image, ImageDesc, ImageType, Tiling};
use renderer::output::{BlendState, ColorAttachment};
use renderer::raster::Rect;
use renderer::{DescriptorSet, Device, RendererError, SpecializationInfo};
use shader::ir::OutputTarget;

const W: u32 = 64;
const H: u32 = 64;

fn stage<'a>(spirv: &'a [u8], spec: &'a SpecializationInfo) -> ShaderStageSource<'a> {
    ShaderStageSource {
        spirv,
        entry: "main",
        spec,
    }
}

fn target() -> Image {
    Image::new_host(ImageDesc {
        image_type: ImageType::D2,
        format: Format::R32G32B32A32_SFLOAT,
        extent: [W, H, 1],
        mip_levels: 1,
        array_layers: 1,
        tiling: Tiling::Optimal,
    })
    .unwrap()
}

fn pixels(img: &Image) -> Vec<[f32; 4]> {
    let mut out = Vec::new();
    for y in 0..H {
        for x in 0..W {
            let mut t = [0u8; 16];
            img.read_texel(0, 0, [x, y, 0], &mut t).unwrap();
            match unpack_color(Format::R32G32B32A32_SFLOAT, &t).unwrap() {
                ColorValue::Float(v) => out.push(v),
                other => panic!("{other:?}"),
            }
        }
    }
    out
}

/// Two triangles: vec2 positions (clip space) and vec3 colours, interleaved (stride 20).
fn vertices(dev: &Device) -> renderer::Buffer {
    let data: [[f32; 5]; 6] = [
        [-0.9, -0.9, 1.0, 0.0, 0.0],
        [0.5, -0.8, 0.0, 1.0, 0.0],
        [-0.7, 0.6, 0.0, 0.0, 1.0],
        [0.9, 0.9, 1.0, 1.0, 0.0],
        [0.0, 0.8, 0.0, 1.0, 1.0],
        [0.8, -0.2, 1.0, 0.0, 1.0],
    ];
    let flat: Vec<f32> = data.iter().flatten().copied().collect();
    common::buffer_from(dev, &flat)
}

fn graphics_state() -> GraphicsState {
    let mut s = GraphicsState::covering(W, H);
    // Position (R32G32_SFLOAT) and R32G32B32_SFLOAT.
    s.vertex_input = common::interleaved_input(20, &[(0, 103), (8, 106)]);
    s
}

fn run(dev: &Device, pipeline: &GraphicsPipeline, push: [f32; 2]) -> Image {
    let img = target();
    let colors = [Some(ColorAttachment {
        image: img.clone(),
        level: 0,
        layer: 0,
        blend: BlendState::REPLACE,
    })];
    let targets = RenderTargets {
        render_area: Rect {
            x: 0,
            y: 0,
            width: W,
            height: H,
        },
        colors: &colors,
        depth_stencil: None,
        view_mask: 0,
    };
    let sets: &[&DescriptorSet] = &[];
    let vbs = [Some(VertexBufferBinding {
        buffer: vertices(dev),
        offset: 0,
    })];
    let push: Vec<u8> = push.iter().flat_map(|v| v.to_le_bytes()).collect();
    let resources = DrawResources {
        vertex_buffers: &vbs,
        index_buffer: None,
        descriptors: &sets,
        push_constants: &push,
    };
    let call = DrawCall::Direct {
        vertex_count: 6,
        instance_count: 1,
        first_vertex: 0,
        first_instance: 0,
    };
    dev.draw(pipeline, &graphics_state(), &targets, &resources, &call)
        .unwrap();
    img
}

/// The CPU version of draw_color.vert + draw_color.frag (or draw_discard.frag).
fn reference_pipeline(discard: bool, push: [f32; 2]) -> GraphicsPipeline {
    let mut vs_out: Vec<OutputTarget> = (0..4).map(OutputTarget::Position).collect();
    vs_out.extend((0..3).map(|component| OutputTarget::Location {
        location: 0,
        component,
    }));
    let mut vs_interface = StageInterface::with_float_inputs(&[0, 1], &vs_out);
    vs_interface
        .inputs
        .retain(|s| s.location == 0 && s.component < 2 || s.location == 1 && s.component < 3);
    let vs = ClosureVertexStage(move |inputs: &[u32], _, _, out: &mut [u32]| {
        let f = |i: usize| f32::from_bits(inputs[i]);
        let position = [f(0) + push[0], f(1) + push[1], 0.5, 1.0];
        for c in 0..4 {
            out[c] = position[c].to_bits();
        }
        out[4..7].copy_from_slice(&inputs[2..5]);
    });
    let fs_out: Vec<OutputTarget> = (0..4)
        .map(|component| OutputTarget::Location {
            location: 0,
            component,
        })
        .collect();
    let mut fs_interface = StageInterface::with_float_inputs(&[0], &fs_out);
    fs_interface.inputs.truncate(3);
    fs_interface.fragment.discards = discard;
    let fs = ClosureFragmentStage(move |io: &mut FragmentIo<'_>| {
        let mut live = io.live;
        for lane in 0..8 {
            let color = if discard {
                if io.frag_coord[0][lane] < 32.0 {
                    live &= !(1 << lane);
                }
                [
                    io.inputs[0][lane],
                    f32::from(u8::from(io.front_facing)),
                    0.0,
                    1.0,
                ]
            } else {
                [
                    io.inputs[0][lane],
                    io.inputs[1][lane],
                    io.inputs[2][lane],
                    1.0,
                ]
            };
            for c in 0..4 {
                io.outputs[c * 8 + lane] = color[c].to_bits();
            }
        }
        live
    });
    GraphicsPipeline::from_stages(
        Arc::new(vs),
        vs_interface,
        Some((Arc::new(fs), fs_interface)),
    )
    .unwrap()
}

fn assert_close(got: &[[f32; 4]], want: &[[f32; 4]]) {
    let mut differing = 0;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g.iter().zip(w).any(|(a, b)| (a - b).abs() > 1e-5) {
            differing += 1;
            assert!(differing < 4, "pixel {i}: {g:?} vs {w:?}");
        }
    }
}

#[test]
fn jit_vertex_and_fragment_stages_match_the_cpu_reference() {
    let dev = common::device();
    let spec = SpecializationInfo::default();
    let vert = common::spirv_file("draw_color.vert", &[]);
    for (frag_file, discard) in [("draw_color.frag", false), ("draw_discard.frag", true)] {
        let frag = common::spirv_file(frag_file, &[]);
        let pipeline = dev
            .create_graphics_pipeline(Some(&stage(&vert, &spec)), Some(&stage(&frag, &spec)))
            .unwrap();
        assert_eq!(pipeline.early_fragment_tests(), !discard);
        let push = [0.05, -0.1];
        let got = pixels(&run(dev, &pipeline, push));
        let want = pixels(&run(dev, &reference_pipeline(discard, push), push));
        assert!(
            want.iter().any(|p| p[3] == 1.0),
            "the reference draws something"
        );
        assert_close(&got, &want);
    }
}

#[test]
fn pipelines_without_a_vertex_stage_or_with_the_wrong_stage_are_refused() {
    let dev = common::device();
    let spec = SpecializationInfo::default();
    let vert = common::spirv_file("draw_color.vert", &[]);
    let frag = common::spirv_file("draw_color.frag", &[]);
    assert!(matches!(
        dev.create_graphics_pipeline(None, Some(&stage(&frag, &spec))),
        Err(RendererError::Draw(DrawError::MissingStage("vertex")))
    ));
    // A fragment module where the vertex stage belongs (and the reverse): the entry point
    // is not of the stage asked for.
    assert!(dev
        .create_graphics_pipeline(Some(&stage(&frag, &spec)), None)
        .is_err());
    assert!(dev
        .create_graphics_pipeline(Some(&stage(&vert, &spec)), Some(&stage(&vert, &spec)))
        .is_err());
    // Garbage SPIR-V is an error, not a crash.
    assert!(dev
        .create_graphics_pipeline(Some(&stage(&[1, 2, 3, 4], &spec)), None)
        .is_err());
}

/// Point sprites: a JIT fragment shader writing `gl_PointCoord` as colour. Vulkan §28.8.1:
/// (0, 0) at the point's upper-left corner, evaluated at pixel centres, so at pixel (x, y) of
/// a point centred at (cx, cy) of size `size`: s = (x + 0.5 − (cx − size/2)) / size, t the same
/// in y. One point on whole pixels, one on fractional ones.
#[test]
fn point_coord_runs_from_the_upper_left_corner_of_each_point() {
    let dev = common::device();
    let spec = SpecializationInfo::default();
    let vert = common::spirv_file("point_sprite.vert", &[]);
    let frag = common::spirv_file("point_coord.frag", &[]);
    let pipeline = dev
        .create_graphics_pipeline(Some(&stage(&vert, &spec)), Some(&stage(&frag, &spec)))
        .unwrap();
    // (centre x, centre y, size) in framebuffer pixels.
    let points = [(16.0f32, 16.0f32, 8.0f32), (40.25, 44.75, 5.0)];
    let data: Vec<f32> = points
        .iter()
        .flat_map(|&(x, y, size)| [2.0 * x / W as f32 - 1.0, 2.0 * y / H as f32 - 1.0, size])
        .collect();
    let mut state = GraphicsState::covering(W, H);
    state.input_assembly.topology = renderer::draw::Topology::PointList;
    // Position (R32G32_SFLOAT) and size (R32_SFLOAT).
    state.vertex_input = common::interleaved_input(12, &[(0, 103), (8, 100)]);
    let img = target();
    let colors = [Some(ColorAttachment {
        image: img.clone(),
        level: 0,
        layer: 0,
        blend: BlendState::REPLACE,
    })];
    let targets = RenderTargets {
        render_area: Rect {
            x: 0,
            y: 0,
            width: W,
            height: H,
        },
        colors: &colors,
        depth_stencil: None,
        view_mask: 0,
    };
    let sets: &[&DescriptorSet] = &[];
    let vbs = [Some(VertexBufferBinding {
        buffer: common::buffer_from(dev, &data),
        offset: 0,
    })];
    let resources = DrawResources {
        vertex_buffers: &vbs,
        index_buffer: None,
        descriptors: &sets,
        push_constants: &[],
    };
    let call = DrawCall::Direct {
        vertex_count: points.len() as u32,
        instance_count: 1,
        first_vertex: 0,
        first_instance: 0,
    };
    dev.draw(&pipeline, &state, &targets, &resources, &call)
        .unwrap();
    let got = pixels(&img);
    let mut covered = 0;
    for y in 0..H {
        for x in 0..W {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let inside = points.iter().find(|&&(cx, cy, size)| {
                let h = size / 2.0;
                px >= cx - h && px < cx + h && py >= cy - h && py < cy + h
            });
            let want = match inside {
                None => [0.0; 4],
                Some(&(cx, cy, size)) => {
                    covered += 1;
                    let h = size / 2.0;
                    [(px - (cx - h)) / size, (py - (cy - h)) / size, 0.0, 1.0]
                }
            };
            let g = got[(y * W + x) as usize];
            assert!(
                g.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-5),
                "pixel ({x}, {y}): {g:?}, expected {want:?}"
            );
        }
    }
    assert_eq!(covered, 64 + 25);
}

/// Multiview: a draw with view mask 0b101 renders view 0 into layer 0 and view 2 into layer
/// 2 of a 3-layer target, each with its own `ViewIndex` in both stages (the vertex stage
/// places the quad by it, the fragment stage colours by it); layer 1 is not touched.
#[test]
fn multiview_draw_renders_each_view_into_its_layer_with_its_view_index() {
    let dev = common::device();
    let spec = SpecializationInfo::default();
    let vert = common::spirv_file("multiview.vert", &[]);
    let frag = common::spirv_file("multiview.frag", &[]);
    let pipeline = dev
        .create_graphics_pipeline(Some(&stage(&vert, &spec)), Some(&stage(&frag, &spec)))
        .unwrap();
    let img = Image::new_host(ImageDesc {
        image_type: ImageType::D2,
        format: Format::R32G32B32A32_SFLOAT,
        extent: [W, H, 1],
        mip_levels: 1,
        array_layers: 3,
        tiling: Tiling::Optimal,
    })
    .unwrap();
    let colors = [Some(ColorAttachment {
        image: img.clone(),
        level: 0,
        layer: 0,
        blend: BlendState::REPLACE,
    })];
    let mut targets = RenderTargets {
        render_area: Rect {
            x: 0,
            y: 0,
            width: W,
            height: H,
        },
        colors: &colors,
        depth_stencil: None,
        view_mask: 0b101,
    };
    let sets: &[&DescriptorSet] = &[];
    let resources = DrawResources {
        vertex_buffers: &[],
        index_buffer: None,
        descriptors: &sets,
        push_constants: &[],
    };
    let call = DrawCall::Direct {
        vertex_count: 6,
        instance_count: 1,
        first_vertex: 0,
        first_instance: 0,
    };
    let state = GraphicsState::covering(W, H);
    let stats = dev
        .draw(&pipeline, &state, &targets, &resources, &call)
        .unwrap();
    assert_eq!(
        stats.vertices_shaded, 12,
        "the vertices are shaded once per view"
    );
    let texel = |layer: u32, x: u32, y: u32| {
        let mut t = [0u8; 16];
        img.read_texel(0, layer, [x, y, 0], &mut t).unwrap();
        match unpack_color(Format::R32G32B32A32_SFLOAT, &t).unwrap() {
            ColorValue::Float(v) => v,
            other => panic!("{other:?}"),
        }
    };
    let view0 = [0.0, 0.5, 0.0, 1.0];
    let view2 = [0.5, 0.5, 0.0, 1.0];
    for y in 0..H {
        for x in 0..W {
            let left = x < W / 2;
            assert_eq!(
                texel(0, x, y),
                if left { view0 } else { [0.0; 4] },
                "layer 0 ({x}, {y})"
            );
            assert_eq!(texel(1, x, y), [0.0; 4], "layer 1 ({x}, {y})");
            assert_eq!(
                texel(2, x, y),
                if left { [0.0; 4] } else { view2 },
                "layer 2 ({x}, {y})"
            );
        }
    }

    // A view past the attachment's layers is an error, not a write elsewhere.
    targets.view_mask = 0b1000;
    assert!(dev
        .draw(&pipeline, &state, &targets, &resources, &call)
        .is_err());
}
