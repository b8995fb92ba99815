//! Whole draws (vertex fetch → vertex stage → assembly → raster → fragment stage → output)
//! with closure stages, checked against CPU references written here: which pixels a
//! primitive must and must not cover (pixel centres clearly inside / outside its edges),
//! winding and culling, primitive restart, instancing, robust out-of-bounds reads, indirect
//! draws, viewport flips and depth testing across draws.
#![allow(
    clippy::unwrap_used,
    clippy::needless_range_loop,
    clippy::type_complexity
)]

use std::sync::{Arc, Mutex};

use renderer::draw::{
    clear_attachments, clear_color_rect, clear_depth_stencil_rect, draw, draw_indirect,
    draw_indirect_count, ClearAttachment, ClearRect, ClosureFragmentStage, ClosureVertexStage,
    DrawCall, DrawError, DrawResources, DrawStats, FragmentIo, GraphicsPipeline, GraphicsState,
    IndexBufferBinding, IndexType, IndirectDraw, InputRate, RenderTargets, StageInterface,
    Topology, VertexAttribute, VertexBinding, VertexBufferBinding, VertexFormat, VertexInputState,
    MAX_WINDOW_VERTICES,
};
use renderer::format::{unpack_color, unpack_depth, ColorValue, Format};
use renderer::image::{Image, ImageDesc, ImageType, Tiling};
use renderer::output::{
    BlendFactor, BlendOp, BlendState, ColorAttachment, CompareOp, DepthState,
    DepthStencilAttachment,
};
use renderer::raster::{CullMode, FrontFace, Rect};
use renderer::{Buffer, DescriptorSet, RendererError, WorkerPool, Workers};
use shader::ir::OutputTarget;

const W: u32 = 64;
const H: u32 = 64;
/// The worker pool the draws of these tests run on (two threads: the caller and one worker).
fn workers() -> Workers<'static> {
    static POOL: std::sync::OnceLock<WorkerPool> = std::sync::OnceLock::new();
    Workers::Pool(POOL.get_or_init(|| WorkerPool::new(2).unwrap()))
}

fn image(format: Format, w: u32, h: u32) -> Image {
    Image::new_host(ImageDesc {
        image_type: ImageType::D2,
        format,
        extent: [w, h, 1],
        mip_levels: 1,
        array_layers: 1,
        tiling: Tiling::Optimal,
    })
    .unwrap()
}

fn pixel(img: &Image, x: u32, y: u32) -> [f32; 4] {
    let mut t = vec![0u8; img.format().texel_size() as usize];
    img.read_texel(0, 0, [x, y, 0], &mut t).unwrap();
    match unpack_color(img.format(), &t).unwrap() {
        ColorValue::Float(v) => v,
        other => panic!("not a float texel: {other:?}"),
    }
}

fn host_buffer(bytes: &[u8]) -> Buffer {
    let memory = renderer::HostMemory::new_zeroed(bytes.len().max(1) as u64).unwrap();
    let buffer = Buffer::from_external(Arc::new(memory), 0, bytes.len().max(1) as u64).unwrap();
    buffer.write(0, bytes).unwrap();
    buffer
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn u32_bytes(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A vertex: framebuffer-pixel position, depth and RGBA colour.
#[derive(Clone, Copy)]
struct V {
    x: f32,
    y: f32,
    z: f32,
    color: [f32; 4],
}

fn v(x: f32, y: f32, color: [f32; 4]) -> V {
    V {
        x,
        y,
        z: 0.5,
        color,
    }
}

/// Interleaved `[clip x, y, z, w, r, g, b, a]`, stride 32.
fn vertex_bytes(vs: &[V]) -> Vec<u8> {
    let floats: Vec<f32> = vs
        .iter()
        .flat_map(|v| {
            let x = 2.0 * v.x / W as f32 - 1.0;
            let y = 2.0 * v.y / H as f32 - 1.0;
            [
                x, y, v.z, 1.0, v.color[0], v.color[1], v.color[2], v.color[3],
            ]
        })
        .collect();
    f32_bytes(&floats)
}

fn location(location: u32, component: u8) -> OutputTarget {
    OutputTarget::Location {
        location,
        component,
    }
}

/// Vertex stage: location 0 = clip position, location 1 = colour, passed through;
/// fragment stage: colour to location 0.
fn pass_through_pipeline() -> GraphicsPipeline {
    let mut outputs: Vec<OutputTarget> = (0..4).map(OutputTarget::Position).collect();
    outputs.extend((0..4).map(|c| location(0, c)));
    let vs_interface = StageInterface::with_float_inputs(&[0, 1], &outputs);
    let fs_interface = StageInterface::with_float_inputs(
        &[0],
        &(0..4).map(|c| location(0, c)).collect::<Vec<_>>(),
    );
    let vs = ClosureVertexStage(|inputs: &[u32], _, _, out: &mut [u32]| {
        out[..8].copy_from_slice(&inputs[..8]);
    });
    let fs = ClosureFragmentStage(|io: &mut FragmentIo<'_>| {
        for c in 0..4 {
            for lane in 0..8 {
                io.outputs[c * 8 + lane] = io.inputs[c][lane].to_bits();
            }
        }
        io.live
    });
    GraphicsPipeline::from_stages(
        Arc::new(vs),
        vs_interface,
        Some((Arc::new(fs), fs_interface)),
    )
    .unwrap()
}

fn vertex_input(stride: u32) -> VertexInputState {
    VertexInputState::new(
        vec![VertexBinding {
            binding: 0,
            stride,
            rate: InputRate::Vertex,
        }],
        vec![
            VertexAttribute {
                location: 0,
                binding: 0,
                format: VertexFormat::from_vk(109).unwrap(),
                offset: 0,
            },
            VertexAttribute {
                location: 1,
                binding: 0,
                format: VertexFormat::from_vk(109).unwrap(),
                offset: 16,
            },
        ],
    )
    .unwrap()
}

fn state(topology: Topology) -> GraphicsState {
    let mut s = GraphicsState::covering(W, H);
    s.vertex_input = vertex_input(32);
    s.input_assembly.topology = topology;
    s
}

struct Target {
    color: Image,
    depth: Option<Image>,
    blend: BlendState,
}

impl Target {
    fn new() -> Target {
        Target {
            color: image(Format::R32G32B32A32_SFLOAT, W, H),
            depth: None,
            blend: BlendState::REPLACE,
        }
    }

    fn draw_with(
        &self,
        pipeline: &GraphicsPipeline,
        state: &GraphicsState,
        vertices: &Buffer,
        index: Option<&IndexBufferBinding>,
        call: DrawCall,
    ) -> Result<DrawStats, RendererError> {
        self.draw_on(workers(), pipeline, state, vertices, index, call)
    }

    fn draw_on(
        &self,
        workers: Workers<'_>,
        pipeline: &GraphicsPipeline,
        state: &GraphicsState,
        vertices: &Buffer,
        index: Option<&IndexBufferBinding>,
        call: DrawCall,
    ) -> Result<DrawStats, RendererError> {
        let colors = [Some(ColorAttachment {
            image: self.color.clone(),
            level: 0,
            layer: 0,
            blend: self.blend,
        })];
        let depth = self.depth.as_ref().map(|d| DepthStencilAttachment {
            image: d.clone(),
            level: 0,
            layer: 0,
        });
        let targets = RenderTargets {
            render_area: Rect {
                x: 0,
                y: 0,
                width: W,
                height: H,
            },
            colors: &colors,
            depth_stencil: depth.as_ref(),
            view_mask: 0,
        };
        let sets: &[&DescriptorSet] = &[];
        let vbs = [Some(VertexBufferBinding {
            buffer: vertices.clone(),
            offset: 0,
        })];
        let resources = DrawResources {
            vertex_buffers: &vbs,
            index_buffer: index,
            descriptors: &sets,
            push_constants: &[],
        };
        draw(pipeline, state, &targets, &resources, &call, workers)
    }

    fn draw(&self, state: &GraphicsState, vs: &[V]) -> DrawStats {
        let buffer = host_buffer(&vertex_bytes(vs));
        self.draw_with(
            &pass_through_pipeline(),
            state,
            &buffer,
            None,
            DrawCall::Direct {
                vertex_count: vs.len() as u32,
                instance_count: 1,
                first_vertex: 0,
                first_instance: 0,
            },
        )
        .unwrap()
    }
}

/// Where a pixel centre lies relative to a framebuffer-space triangle.
#[derive(PartialEq, Debug)]
enum Side {
    Inside,
    Outside,
    Edge,
}

fn side(tri: [(f32, f32); 3], px: u32, py: u32) -> Side {
    let (x, y) = (px as f64 + 0.5, py as f64 + 0.5);
    let p = tri.map(|(a, b)| (f64::from(a), f64::from(b)));
    let area = (p[1].0 - p[0].0) * (p[2].1 - p[0].1) - (p[2].0 - p[0].0) * (p[1].1 - p[0].1);
    let mut inside = true;
    for i in 0..3 {
        let (a, b) = (p[i], p[(i + 1) % 3]);
        let e = ((b.0 - a.0) * (y - a.1) - (b.1 - a.1) * (x - a.0)) * area.signum();
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        if e / len < -0.01 {
            return Side::Outside;
        }
        if e / len < 0.01 {
            inside = false;
        }
    }
    if inside {
        Side::Inside
    } else {
        Side::Edge
    }
}

/// Checks that every pixel clearly inside one of `tris` has that triangle's colour, and
/// every pixel clearly outside all of them is still `background`.
fn check_coverage(img: &Image, tris: &[([(f32, f32); 3], [f32; 4])], background: [f32; 4]) {
    for y in 0..H {
        for x in 0..W {
            let sides: Vec<Side> = tris.iter().map(|(t, _)| side(*t, x, y)).collect();
            let got = pixel(img, x, y);
            if let Some(i) = sides.iter().rposition(|s| *s == Side::Inside) {
                if sides[i + 1..].iter().all(|s| *s == Side::Outside) {
                    assert_eq!(got, tris[i].1, "pixel ({x}, {y}) inside triangle {i}");
                }
            } else if sides.iter().all(|s| *s == Side::Outside) {
                assert_eq!(got, background, "pixel ({x}, {y}) outside every triangle");
            }
        }
    }
}

const RED: [f32; 4] = [1.0, 0.0, 0.0, 1.0];
const GREEN: [f32; 4] = [0.0, 1.0, 0.0, 1.0];
const BLUE: [f32; 4] = [0.0, 0.0, 1.0, 1.0];
const CLEAR: [f32; 4] = [0.0; 4];

/// Signed area in framebuffer coordinates by the spec's formula (§28.7.1): positive is
/// front-facing for COUNTER_CLOCKWISE.
fn spec_area(t: [(f32, f32); 3]) -> f32 {
    -0.5 * (0..3)
        .map(|i| {
            let (a, b) = (t[i], t[(i + 1) % 3]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum::<f32>()
}

#[test]
fn triangle_list_covers_its_interior_and_back_faces_are_culled() {
    let a = [(4.0, 4.0), (30.0, 6.0), (10.0, 40.0)];
    let b = [(60.0, 60.0), (50.0, 20.0), (34.0, 58.0)];
    assert!(spec_area(a) * spec_area(b) < 0.0, "one of each facing");
    let vs: Vec<V> = a
        .iter()
        .map(|p| v(p.0, p.1, RED))
        .chain(b.iter().map(|p| v(p.0, p.1, GREEN)))
        .collect();
    let t = Target::new();
    t.draw(&state(Topology::TriangleList), &vs);
    check_coverage(&t.color, &[(a, RED), (b, GREEN)], CLEAR);

    // Cull the back faces: only the triangle with positive spec area (front for CCW) stays.
    let mut s = state(Topology::TriangleList);
    s.rasterization.cull_mode = CullMode::Back;
    let t = Target::new();
    let stats = t.draw(&s, &vs);
    assert_eq!(stats.raster.culled, 1);
    let (front, back) = if spec_area(a) > 0.0 { (a, b) } else { (b, a) };
    let front_color = if spec_area(a) > 0.0 { RED } else { GREEN };
    check_coverage(&t.color, &[(front, front_color)], CLEAR);

    // Flipping the front face flips which one survives.
    s.rasterization.front_face = FrontFace::Clockwise;
    let t = Target::new();
    t.draw(&s, &vs);
    let back_color = if front_color == RED { GREEN } else { RED };
    check_coverage(&t.color, &[(back, back_color)], CLEAR);
}

/// A strip zig-zagging along a band: every triangle of a strip has the same facing.
fn band_strip(n: usize, y0: f32, y1: f32, color: [f32; 4]) -> Vec<V> {
    (0..n)
        .map(|i| {
            let x = 2.0 + 60.0 * (i / 2) as f32 / ((n - 1) / 2) as f32;
            v(x, if i % 2 == 0 { y0 } else { y1 }, color)
        })
        .collect()
}

#[test]
fn strips_and_fans_keep_one_winding_so_culling_takes_all_or_nothing() {
    let strip = band_strip(10, 10.0, 30.0, BLUE);
    // Triangle 0 of the strip decides the facing of all.
    let first = [
        (strip[0].x, strip[0].y),
        (strip[1].x, strip[1].y),
        (strip[2].x, strip[2].y),
    ];
    let front_is_ccw = spec_area(first) > 0.0;
    for (cull, expect_drawn) in [
        (CullMode::Back, front_is_ccw),
        (CullMode::Front, !front_is_ccw),
    ] {
        let mut s = state(Topology::TriangleStrip);
        s.rasterization.cull_mode = cull;
        let t = Target::new();
        let stats = t.draw(&s, &strip);
        if expect_drawn {
            assert_eq!(stats.raster.culled, 0);
            check_coverage(
                &t.color,
                &[
                    ([(2.0, 10.0), (62.0, 10.0), (62.0, 30.0)], BLUE),
                    ([(2.0, 10.0), (62.0, 30.0), (2.0, 30.0)], BLUE),
                ],
                CLEAR,
            );
        } else {
            assert_eq!(stats.raster.culled, 8);
            assert_eq!(stats.output.written, 0);
        }
    }

    // A fan around a centre: a disc-like polygon, one facing for all triangles.
    let centre = (32.0, 32.0);
    let mut fan = vec![v(centre.0, centre.1, RED)];
    for k in 0..=8 {
        let angle = std::f32::consts::TAU * k as f32 / 8.0;
        fan.push(v(
            centre.0 + 20.0 * angle.cos(),
            centre.1 + 20.0 * angle.sin(),
            RED,
        ));
    }
    let first = [
        (fan[1].x, fan[1].y),
        (fan[2].x, fan[2].y),
        (fan[0].x, fan[0].y),
    ];
    let mut s = state(Topology::TriangleFan);
    s.rasterization.cull_mode = if spec_area(first) > 0.0 {
        CullMode::Back
    } else {
        CullMode::Front
    };
    let t = Target::new();
    let stats = t.draw(&s, &fan);
    assert_eq!(stats.raster.culled, 0);
    assert_eq!(pixel(&t.color, 32, 32), RED);
    assert_eq!(pixel(&t.color, 40, 30), RED);
    s.rasterization.cull_mode = CullMode::FrontAndBack;
    let t = Target::new();
    assert_eq!(t.draw(&s, &fan).raster.culled, 8);
}

fn indexed(index_type: IndexType, indices: &[u32]) -> IndexBufferBinding {
    let bytes: Vec<u8> = match index_type {
        IndexType::U16 => indices
            .iter()
            .flat_map(|&i| (i as u16).to_le_bytes())
            .collect(),
        IndexType::U32 => u32_bytes(indices),
    };
    IndexBufferBinding {
        buffer: host_buffer(&bytes),
        offset: 0,
        index_type,
    }
}

#[test]
fn primitive_restart_cuts_indexed_strips_for_both_index_sizes() {
    // Two quads (as 4-vertex strips) joined by a restart: without the restart a bridging
    // triangle would cover the gap between them.
    let vs = [
        v(4.0, 4.0, RED),
        v(4.0, 20.0, RED),
        v(20.0, 4.0, RED),
        v(20.0, 20.0, RED),
        v(40.0, 40.0, GREEN),
        v(40.0, 60.0, GREEN),
        v(60.0, 40.0, GREEN),
        v(60.0, 60.0, GREEN),
    ];
    let buffer = host_buffer(&vertex_bytes(&vs));
    let quads = [
        ([(4.0, 4.0), (20.0, 4.0), (20.0, 20.0)], RED),
        ([(4.0, 4.0), (20.0, 20.0), (4.0, 20.0)], RED),
        ([(40.0, 40.0), (60.0, 40.0), (60.0, 60.0)], GREEN),
        ([(40.0, 40.0), (60.0, 60.0), (40.0, 60.0)], GREEN),
    ];
    for (index_type, restart) in [(IndexType::U16, 0xffff), (IndexType::U32, u32::MAX)] {
        let ib = indexed(index_type, &[0, 1, 2, 3, restart, 4, 5, 6, 7]);
        let mut s = state(Topology::TriangleStrip);
        s.input_assembly.primitive_restart = true;
        let t = Target::new();
        let call = DrawCall::Indexed {
            index_count: 9,
            instance_count: 1,
            first_index: 0,
            vertex_offset: 0,
            first_instance: 0,
        };
        let stats = t
            .draw_with(&pass_through_pipeline(), &s, &buffer, Some(&ib), call)
            .unwrap();
        assert_eq!(stats.raster.triangles, 4, "{index_type:?}");
        assert_eq!(stats.vertices_shaded, 8);
        check_coverage(&t.color, &quads, CLEAR);
        assert_eq!(pixel(&t.color, 30, 30), CLEAR, "the gap stays empty");
    }
}

#[test]
fn instanced_draws_read_per_instance_attributes() {
    // Binding 0: per-vertex offsets of a small quad; binding 1: per-instance position and
    // colour. The vertex stage adds them.
    let quad: Vec<f32> = [(0.0f32, 0.0f32), (8.0, 0.0), (0.0, 8.0), (8.0, 8.0)]
        .iter()
        .flat_map(|&(x, y)| [x, y])
        .collect();
    let instances: Vec<f32> = [
        (4.0f32, 4.0f32, RED),
        (30.0, 10.0, GREEN),
        (12.0, 40.0, BLUE),
    ]
    .iter()
    .flat_map(|&(x, y, c)| [x, y, c[0], c[1], c[2], c[3]])
    .collect();
    let vertex_input = VertexInputState::new(
        vec![
            VertexBinding {
                binding: 0,
                stride: 8,
                rate: InputRate::Vertex,
            },
            VertexBinding {
                binding: 1,
                stride: 24,
                rate: InputRate::Instance,
            },
        ],
        vec![
            VertexAttribute {
                location: 0,
                binding: 0,
                format: VertexFormat::from_vk(103).unwrap(),
                offset: 0,
            },
            VertexAttribute {
                location: 1,
                binding: 1,
                format: VertexFormat::from_vk(103).unwrap(),
                offset: 0,
            },
            VertexAttribute {
                location: 2,
                binding: 1,
                format: VertexFormat::from_vk(109).unwrap(),
                offset: 8,
            },
        ],
    )
    .unwrap();
    let mut outputs: Vec<OutputTarget> = (0..4).map(OutputTarget::Position).collect();
    outputs.extend((0..4).map(|c| location(0, c)));
    let seen_instances = Arc::new(Mutex::new(Vec::new()));
    let seen = seen_instances.clone();
    let vs = ClosureVertexStage(move |inputs: &[u32], _, instance: u32, out: &mut [u32]| {
        let f = |i: usize| f32::from_bits(inputs[i]);
        seen.lock().unwrap().push(instance);
        let x = f(0) + f(4);
        let y = f(1) + f(5);
        let clip = [2.0 * x / W as f32 - 1.0, 2.0 * y / H as f32 - 1.0, 0.5, 1.0];
        for c in 0..4 {
            out[c] = clip[c].to_bits();
            out[4 + c] = inputs[8 + c];
        }
    });
    let fs = pass_through_pipeline()
        .fragment_interface()
        .unwrap()
        .clone();
    let fs_stage = ClosureFragmentStage(|io: &mut FragmentIo<'_>| {
        for c in 0..4 {
            for lane in 0..8 {
                io.outputs[c * 8 + lane] = io.inputs[c][lane].to_bits();
            }
        }
        io.live
    });
    let pipeline = GraphicsPipeline::from_stages(
        Arc::new(vs),
        StageInterface::with_float_inputs(&[0, 1, 2], &outputs),
        Some((Arc::new(fs_stage), fs)),
    )
    .unwrap();
    let mut s = state(Topology::TriangleStrip);
    s.vertex_input = vertex_input;
    let t = Target::new();
    let colors = [Some(ColorAttachment {
        image: t.color.clone(),
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
    let vbs = [
        Some(VertexBufferBinding {
            buffer: host_buffer(&f32_bytes(&quad)),
            offset: 0,
        }),
        Some(VertexBufferBinding {
            buffer: host_buffer(&f32_bytes(&instances)),
            offset: 0,
        }),
    ];
    let resources = DrawResources {
        vertex_buffers: &vbs,
        index_buffer: None,
        descriptors: &sets,
        push_constants: &[],
    };
    // firstInstance 1: instances 1 and 2 only.
    let call = DrawCall::Direct {
        vertex_count: 4,
        instance_count: 2,
        first_vertex: 0,
        first_instance: 1,
    };
    draw(&pipeline, &s, &targets, &resources, &call, workers()).unwrap();
    assert_eq!(pixel(&t.color, 8, 8), CLEAR, "instance 0 is not drawn");
    assert_eq!(pixel(&t.color, 34, 14), GREEN);
    assert_eq!(pixel(&t.color, 16, 44), BLUE);
    let mut seen = seen_instances.lock().unwrap().clone();
    seen.dedup();
    assert_eq!(seen, vec![1, 2], "InstanceIndex counts from firstInstance");
}

/// A vertex stage recording the input words it sees, drawing nothing visible.
fn recording_pipeline(slots: usize) -> (GraphicsPipeline, Arc<Mutex<Vec<(u32, Vec<u32>)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let vs = ClosureVertexStage(move |inputs: &[u32], index: u32, _, _: &mut [u32]| {
        record.lock().unwrap().push((index, inputs.to_vec()));
    });
    let locations: Vec<u32> = (0..slots as u32 / 4).collect();
    let pipeline = GraphicsPipeline::from_stages(
        Arc::new(vs),
        StageInterface::with_float_inputs(&locations, &[]),
        None,
    )
    .unwrap();
    (pipeline, seen)
}

/// Independent reference for array formats: `(channels, bits, class, bgr)` by VkFormat.
fn reference_array_format(raw: u32) -> Option<(usize, u32, &'static str, bool)> {
    const EIGHT: [&str; 7] = [
        "unorm", "snorm", "uscaled", "sscaled", "uint", "sint", "srgb",
    ];
    const SIXTEEN: [&str; 7] = [
        "unorm", "snorm", "uscaled", "sscaled", "uint", "sint", "sfloat",
    ];
    const THIRTY_TWO: [&str; 3] = ["uint", "sint", "sfloat"];
    let families8 = [
        (9, 1, false),
        (16, 2, false),
        (23, 3, false),
        (30, 3, true),
        (37, 4, false),
        (44, 4, true),
    ];
    for (base, channels, bgr) in families8 {
        if (base..base + 7).contains(&raw) {
            return Some((channels, 8, EIGHT[(raw - base) as usize], bgr));
        }
    }
    for (k, base) in [70, 77, 84, 91].into_iter().enumerate() {
        if (base..base + 7).contains(&raw) {
            return Some((k + 1, 16, SIXTEEN[(raw - base) as usize], false));
        }
    }
    for (k, base) in [98, 101, 104, 107].into_iter().enumerate() {
        if (base..base + 3).contains(&raw) {
            return Some((k + 1, 32, THIRTY_TWO[(raw - base) as usize], false));
        }
    }
    None
}

fn reference_component(code: u64, bits: u32, class: &str) -> u32 {
    let max = ((1u64 << bits) - 1) as f64;
    let signed = if code >> (bits - 1) & 1 == 1 {
        code as i64 - (1i64 << bits)
    } else {
        code as i64
    };
    match class {
        "unorm" => ((code as f64 / max) as f32).to_bits(),
        "snorm" => ((signed as f64 / (max / 2.0).floor()).max(-1.0) as f32).to_bits(),
        "uscaled" => (code as f32).to_bits(),
        "sscaled" => (signed as f32).to_bits(),
        "uint" => code as u32,
        "sint" => signed as i32 as u32,
        "sfloat" if bits == 16 => half_to_f32(code as u16).to_bits(),
        "sfloat" => code as u32,
        _ => unreachable!(),
    }
}

fn half_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let mant = f64::from(h & 0x3ff);
    let v = match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + mant / 1024.0) * 2f64.powi(e - 15),
    };
    (sign * v) as f32
}

#[test]
fn every_array_vertex_format_converts_as_the_spec_says() {
    let bytes: Vec<u8> = (0..16u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(0x81))
        .collect();
    let mut checked = 0;
    for raw in 0..130 {
        let Some((channels, bits, class, bgr)) = reference_array_format(raw) else {
            continue;
        };
        let Ok(format) = VertexFormat::from_vk(raw) else {
            assert_eq!(class, "srgb", "VkFormat {raw} should be a vertex format");
            continue;
        };
        let mut s = state(Topology::PointList);
        s.vertex_input = VertexInputState::new(
            vec![VertexBinding {
                binding: 0,
                stride: 16,
                rate: InputRate::Vertex,
            }],
            vec![VertexAttribute {
                location: 0,
                binding: 0,
                format,
                offset: 0,
            }],
        )
        .unwrap();
        let (pipeline, seen) = recording_pipeline(4);
        let t = Target::new();
        let buffer = host_buffer(&bytes);
        t.draw_with(
            &pipeline,
            &s,
            &buffer,
            None,
            DrawCall::Direct {
                vertex_count: 1,
                instance_count: 1,
                first_vertex: 0,
                first_instance: 0,
            },
        )
        .unwrap();
        let words = seen.lock().unwrap()[0].1.clone();
        let integer = class == "uint" || class == "sint";
        let one = if integer { 1 } else { 1.0f32.to_bits() };
        let mut expected = [0, 0, 0, one];
        let size = (bits / 8) as usize;
        for c in 0..channels {
            let mut code = 0u64;
            for b in 0..size {
                code |= u64::from(bytes[c * size + b]) << (8 * b);
            }
            let dst = if bgr && c < 3 { 2 - c } else { c };
            expected[dst] = reference_component(code, bits, class);
        }
        assert_eq!(
            words,
            expected.to_vec(),
            "VkFormat {raw} ({class}, {channels}×{bits})"
        );
        checked += 1;
    }
    assert_eq!(checked, 6 * 6 + 28 + 12);
}

#[test]
fn out_of_bounds_vertex_and_index_reads_give_zero() {
    // 2 vertices of 16 bytes in the buffer, 4 drawn: vertices 2 and 3 read zeros (w = 1).
    let mut s = state(Topology::PointList);
    s.vertex_input = VertexInputState::new(
        vec![VertexBinding {
            binding: 0,
            stride: 16,
            rate: InputRate::Vertex,
        }],
        vec![VertexAttribute {
            location: 0,
            binding: 0,
            format: VertexFormat::from_vk(109).unwrap(),
            offset: 0,
        }],
    )
    .unwrap();
    let data = f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    let buffer = host_buffer(&data);
    let (pipeline, seen) = recording_pipeline(4);
    let t = Target::new();
    let direct = DrawCall::Direct {
        vertex_count: 4,
        instance_count: 1,
        first_vertex: 0,
        first_instance: 0,
    };
    t.draw_with(&pipeline, &s, &buffer, None, direct).unwrap();
    // Every component of the 4-component format is present: all read 0.
    let zeros = vec![0, 0, 0, 0];
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 4);
        assert_eq!(
            seen[1].1,
            f32_bytes(&[5.0, 6.0, 7.0, 8.0])
                .chunks(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                .collect::<Vec<_>>()
        );
        assert_eq!(seen[2].1, zeros);
        assert_eq!(seen[3].1, zeros);
    }
    seen.lock().unwrap().clear();

    // Huge first vertex and instance numbers at the ends of the u32 range: no fault.
    let far = DrawCall::Direct {
        vertex_count: 3,
        instance_count: 1,
        first_vertex: u32::MAX - 1,
        first_instance: u32::MAX,
    };
    t.draw_with(&pipeline, &s, &buffer, None, far).unwrap();
    assert!(seen.lock().unwrap().iter().all(|(_, w)| *w == zeros));
    seen.lock().unwrap().clear();

    // Indices past the end of the index buffer read 0 (vertex 0's data); a negative
    // vertexOffset makes index 0 read before the buffer: zeros. A repeated index is shaded
    // once (vertex reuse).
    let ib = indexed(IndexType::U16, &[1, 1]);
    let call = DrawCall::Indexed {
        index_count: 4,
        instance_count: 1,
        first_index: 1,
        vertex_offset: 0,
        first_instance: 0,
    };
    t.draw_with(&pipeline, &s, &buffer, Some(&ib), call)
        .unwrap();
    {
        let seen = seen.lock().unwrap();
        let indices: Vec<u32> = seen.iter().map(|(i, _)| *i).collect();
        assert_eq!(indices, vec![1, 0]);
        assert_eq!(f32::from_bits(seen[1].1[0]), 1.0);
    }
    seen.lock().unwrap().clear();
    let call = DrawCall::Indexed {
        index_count: 2,
        instance_count: 1,
        first_index: u32::MAX,
        vertex_offset: -1,
        first_instance: 0,
    };
    t.draw_with(&pipeline, &s, &buffer, Some(&ib), call)
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert!(seen.iter().all(|(i, w)| *i == u32::MAX && *w == zeros));
}

/// A large blended indexed mesh (several steps, windows, vertex-shading chunks and setup
/// chunks per draw, heavy vertex reuse, overdraw): the same image and statistics on the
/// calling thread alone and on pools of 1, 2 and 4 threads.
#[test]
fn large_indexed_draws_render_identically_whatever_the_thread_count() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        (seed.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f32 / (1u64 << 53) as f32
    };
    const COLUMNS: u32 = 60;
    let vs: Vec<V> = (0..3000u32)
        .map(|i| V {
            x: (i % COLUMNS) as f32 + rnd() - 0.5,
            y: (i / COLUMNS) as f32 * 1.2 + rnd() - 0.5,
            z: 0.5,
            color: [rnd(), rnd(), rnd(), 0.3 + 0.5 * rnd()],
        })
        .collect();
    let mut indices = Vec::new();
    for _ in 0..12_000 {
        let i = (rnd() * (3000 - COLUMNS - 1) as f32) as u32;
        let quad = [i, i + 1, i + COLUMNS, i + 1, i + COLUMNS + 1, i + COLUMNS];
        indices.extend_from_slice(if rnd() < 0.5 { &quad[..3] } else { &quad[3..] });
    }
    let buffer = host_buffer(&vertex_bytes(&vs));
    let ib = indexed(IndexType::U32, &indices);
    let call = DrawCall::Indexed {
        index_count: indices.len() as u32,
        instance_count: 1,
        first_index: 0,
        vertex_offset: 0,
        first_instance: 0,
    };
    let render = |workers: Workers<'_>| {
        let mut t = Target::new();
        t.blend = BlendState::ALPHA;
        let stats = t
            .draw_on(
                workers,
                &pass_through_pipeline(),
                &state(Topology::TriangleList),
                &buffer,
                Some(&ib),
                call,
            )
            .unwrap();
        let pixels: Vec<[u32; 4]> = (0..W * H)
            .map(|i| pixel(&t.color, i % W, i / W).map(f32::to_bits))
            .collect();
        (stats, pixels)
    };
    let (stats, one) = render(Workers::CallingThread);
    assert!(stats.output.written > 4 * u64::from(W * H) / 2, "{stats:?}");
    assert!(
        stats.vertices_shaded < indices.len() as u64 / 2,
        "repeated indices are shaded once per step: {stats:?}"
    );
    for threads in [1, 2, 4] {
        let pool = WorkerPool::new(threads).unwrap();
        let (s, pixels) = render(Workers::Pool(&pool));
        assert_eq!(s, stats, "{threads} threads");
        assert!(pixels == one, "{threads} threads: the image differs");
    }
}

/// DESIGN §5: nothing is spawned after start-up. Vertex shading and fragment work of a draw
/// run on the calling thread and the pool's own workers, nowhere else.
#[test]
fn draws_run_only_on_the_calling_thread_and_the_pool_workers() {
    let threads = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let name = || std::thread::current().name().unwrap_or("").to_string();
    let (vs_seen, fs_seen) = (threads.clone(), threads.clone());
    let mut outputs: Vec<OutputTarget> = (0..4).map(OutputTarget::Position).collect();
    outputs.extend((0..4).map(|c| location(0, c)));
    let vs = ClosureVertexStage(move |inputs: &[u32], _, _, out: &mut [u32]| {
        vs_seen.lock().unwrap().insert(name());
        out[..8].copy_from_slice(&inputs[..8]);
    });
    let fs = ClosureFragmentStage(move |io: &mut FragmentIo<'_>| {
        fs_seen.lock().unwrap().insert(name());
        io.live
    });
    let pipeline = GraphicsPipeline::from_stages(
        Arc::new(vs),
        StageInterface::with_float_inputs(&[0, 1], &outputs),
        Some((
            Arc::new(fs),
            StageInterface::with_float_inputs(
                &[0],
                &(0..4).map(|c| location(0, c)).collect::<Vec<_>>(),
            ),
        )),
    )
    .unwrap();
    // Many full-target triangles: every tile busy, several vertex chunks.
    let tri = [v(-8.0, -8.0, RED), v(200.0, -8.0, RED), v(-8.0, 200.0, RED)];
    let vs: Vec<V> = tri.iter().copied().cycle().take(3 * 3000).collect();
    let buffer = host_buffer(&vertex_bytes(&vs));
    let pool = WorkerPool::new(4).unwrap();
    let call = DrawCall::Direct {
        vertex_count: vs.len() as u32,
        instance_count: 1,
        first_vertex: 0,
        first_instance: 0,
    };
    Target::new()
        .draw_on(
            Workers::Pool(&pool),
            &pipeline,
            &state(Topology::TriangleList),
            &buffer,
            None,
            call,
        )
        .unwrap();
    let caller = name();
    let seen = threads.lock().unwrap();
    assert!(
        seen.iter()
            .all(|t| *t == caller || t.starts_with("softgpu-worker-")),
        "{seen:?}"
    );
}

#[test]
fn indirect_and_indirect_count_draws_match_direct_draws() {
    let vs = [
        v(4.0, 4.0, RED),
        v(30.0, 4.0, RED),
        v(4.0, 30.0, RED),
        v(34.0, 34.0, GREEN),
        v(60.0, 34.0, GREEN),
        v(34.0, 60.0, GREEN),
    ];
    let buffer = host_buffer(&vertex_bytes(&vs));
    let s = state(Topology::TriangleList);
    let pipeline = pass_through_pipeline();
    let reference = Target::new();
    for first in [0, 3] {
        reference
            .draw_with(
                &pipeline,
                &s,
                &buffer,
                None,
                DrawCall::Direct {
                    vertex_count: 3,
                    instance_count: 1,
                    first_vertex: first,
                    first_instance: 0,
                },
            )
            .unwrap();
    }
    // Two commands with stride 32 after a 4-byte offset.
    let mut words = vec![0u32; 1 + 16];
    words[1..5].copy_from_slice(&[3, 1, 0, 0]);
    words[9..13].copy_from_slice(&[3, 1, 3, 0]);
    let commands = host_buffer(&u32_bytes(&words));
    let count = host_buffer(&u32_bytes(&[7]));
    for use_count in [false, true] {
        let t = Target::new();
        let colors = [Some(ColorAttachment {
            image: t.color.clone(),
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
            buffer: buffer.clone(),
            offset: 0,
        })];
        let resources = DrawResources {
            vertex_buffers: &vbs,
            index_buffer: None,
            descriptors: &sets,
            push_constants: &[],
        };
        let indirect = IndirectDraw {
            buffer: &commands,
            offset: 4,
            draw_count: 2,
            stride: 32,
            indexed: false,
        };
        let stats = if use_count {
            // The count buffer says 7; maxDrawCount (2) caps it.
            draw_indirect_count(
                &pipeline,
                &s,
                &targets,
                &resources,
                &indirect,
                &count,
                0,
                workers(),
            )
            .unwrap()
        } else {
            draw_indirect(&pipeline, &s, &targets, &resources, &indirect, workers()).unwrap()
        };
        assert_eq!(stats.raster.triangles, 2);
        for y in 0..H {
            for x in 0..W {
                assert_eq!(
                    pixel(&t.color, x, y),
                    pixel(&reference.color, x, y),
                    "({x}, {y})"
                );
            }
        }
        // Commands past the end of the buffer are refused before drawing anything.
        let past = IndirectDraw {
            draw_count: 3,
            ..indirect
        };
        assert!(matches!(
            draw_indirect(&pipeline, &s, &targets, &resources, &past, workers()),
            Err(RendererError::Draw(DrawError::Indirect(_)))
        ));
    }
}

#[test]
fn negative_viewport_height_flips_y() {
    // A triangle in the top half in NDC-as-pixels terms lands in the bottom half when the
    // viewport is flipped (y = H, height = -H).
    let tri = [(8.0, 4.0), (56.0, 4.0), (32.0, 24.0)];
    let vs: Vec<V> = tri.iter().map(|p| v(p.0, p.1, RED)).collect();
    let mut s = state(Topology::TriangleList);
    s.viewport.y = H as f32;
    s.viewport.height = -(H as f32);
    let t = Target::new();
    t.draw(&s, &vs);
    let flipped = tri.map(|(x, y)| (x, H as f32 - y));
    check_coverage(&t.color, &[(flipped, RED)], CLEAR);
}

#[test]
fn depth_test_keeps_the_nearer_of_two_draws_in_either_order() {
    let quad = |z: f32, color| {
        [
            (2.0, 2.0),
            (62.0, 2.0),
            (2.0, 62.0),
            (62.0, 2.0),
            (62.0, 62.0),
            (2.0, 62.0),
        ]
        .map(|(x, y)| V { x, y, z, color })
    };
    for near_first in [true, false] {
        let mut t = Target::new();
        let depth = image(Format::D32_SFLOAT, W, H);
        let full = Rect {
            x: 0,
            y: 0,
            width: W,
            height: H,
        };
        clear_depth_stencil_rect(&depth, 0, 0, full, 2, 1.0, 0).unwrap();
        t.depth = Some(depth.clone());
        let mut s = state(Topology::TriangleList);
        s.depth = DepthState {
            test_enable: true,
            write_enable: true,
            compare_op: CompareOp::Less,
            bounds: None,
        };
        let (near, far) = (quad(0.25, RED), quad(0.75, GREEN));
        let order = if near_first { [near, far] } else { [far, near] };
        for q in order {
            t.draw(&s, &q);
        }
        assert_eq!(pixel(&t.color, 30, 30), RED, "near_first = {near_first}");
        let mut texel = [0u8; 4];
        depth.read_texel(0, 0, [30, 30, 0], &mut texel).unwrap();
        assert_eq!(unpack_depth(Format::D32_SFLOAT, &texel).unwrap(), 0.25);
        depth.read_texel(0, 0, [0, 0, 0], &mut texel).unwrap();
        assert_eq!(
            unpack_depth(Format::D32_SFLOAT, &texel).unwrap(),
            1.0,
            "outside the quad"
        );
    }
}

#[test]
fn big_strips_crossing_windows_cover_every_pixel_exactly_once() {
    // A strip of far more vertices than one window holds, covering the whole target with
    // thin triangles; additive blending counts how often each pixel is written.
    let n = MAX_WINDOW_VERTICES * 2 + 101;
    let vs: Vec<V> = (0..n)
        .map(|i| {
            let x = 64.0 * (i / 2) as f32 / ((n - 1) / 2) as f32;
            v(x, if i % 2 == 0 { 0.0 } else { 64.0 }, [1.0, 0.0, 0.0, 1.0])
        })
        .collect();
    let mut t = Target::new();
    t.blend = BlendState {
        enable: true,
        src_color: BlendFactor::One,
        dst_color: BlendFactor::One,
        color_op: BlendOp::Add,
        src_alpha: BlendFactor::One,
        dst_alpha: BlendFactor::Zero,
        alpha_op: BlendOp::Add,
        write_mask: 0xf,
    };
    let stats = t.draw(&state(Topology::TriangleStrip), &vs);
    assert_eq!(stats.vertices_shaded, n as u64);
    for y in 0..H {
        for x in 0..W {
            assert_eq!(pixel(&t.color, x, y)[0], 1.0, "pixel ({x}, {y})");
        }
    }
}

#[test]
fn line_widths_other_than_one_and_missing_index_buffers_are_errors() {
    let mut s = state(Topology::LineList);
    s.rasterization.line_width = 2.0;
    let t = Target::new();
    let buffer = host_buffer(&vertex_bytes(&[v(1.0, 1.0, RED), v(9.0, 9.0, RED)]));
    let call = DrawCall::Direct {
        vertex_count: 2,
        instance_count: 1,
        first_vertex: 0,
        first_instance: 0,
    };
    assert!(matches!(
        t.draw_with(&pass_through_pipeline(), &s, &buffer, None, call),
        Err(RendererError::Draw(DrawError::LineWidth(_)))
    ));
    // Triangle pipelines may carry any line width.
    s.input_assembly.topology = Topology::TriangleList;
    assert!(t
        .draw_with(&pass_through_pipeline(), &s, &buffer, None, call)
        .is_ok());
    let indexed_call = DrawCall::Indexed {
        index_count: 3,
        instance_count: 1,
        first_index: 0,
        vertex_offset: 0,
        first_instance: 0,
    };
    assert!(t
        .draw_with(&pass_through_pipeline(), &s, &buffer, None, indexed_call)
        .is_err());
}

#[test]
fn clear_attachments_clears_rects_inside_the_render_area_only() {
    let color = image(Format::R32G32B32A32_SFLOAT, W, H);
    clear_color_rect(
        &color,
        0,
        0,
        Rect {
            x: 0,
            y: 0,
            width: W,
            height: H,
        },
        [0; 4],
    )
    .unwrap();
    let colors = [
        None,
        Some(ColorAttachment {
            image: color.clone(),
            level: 0,
            layer: 0,
            blend: BlendState::REPLACE,
        }),
    ];
    let targets = RenderTargets {
        render_area: Rect {
            x: 8,
            y: 8,
            width: 32,
            height: 32,
        },
        colors: &colors,
        depth_stencil: None,
        view_mask: 0,
    };
    let red = RED.map(f32::to_bits);
    let rect = ClearRect {
        rect: Rect {
            x: 10,
            y: 12,
            width: 4,
            height: 2,
        },
        base_array_layer: 0,
        layer_count: 1,
    };
    clear_attachments(
        &targets,
        &[
            ClearAttachment::Color {
                location: 1,
                value: red,
            },
            ClearAttachment::Color {
                location: 0,
                value: red,
            },
        ],
        &[rect],
    )
    .unwrap();
    assert_eq!(pixel(&color, 10, 12), RED);
    assert_eq!(pixel(&color, 13, 13), RED);
    assert_eq!(pixel(&color, 14, 13), CLEAR);
    assert_eq!(pixel(&color, 10, 14), CLEAR);
    let outside = ClearRect {
        rect: Rect {
            x: 30,
            y: 30,
            width: 20,
            height: 2,
        },
        ..rect
    };
    assert!(clear_attachments(
        &targets,
        &[ClearAttachment::Color {
            location: 1,
            value: red
        }],
        &[outside]
    )
    .is_err());
    let layers = ClearRect {
        layer_count: 2,
        ..rect
    };
    assert!(clear_attachments(
        &targets,
        &[ClearAttachment::Color {
            location: 1,
            value: red
        }],
        &[layers]
    )
    .is_err());
}

#[test]
fn point_and_line_lists_draw_single_pixels_and_spans() {
    // Points at pixel centres light exactly their pixel (size 1: no PointSize output).
    let points = [v(3.5, 5.5, RED), v(40.5, 20.5, GREEN)];
    let t = Target::new();
    let stats = t.draw(&state(Topology::PointList), &points);
    assert_eq!(stats.output.written, 2);
    assert_eq!(pixel(&t.color, 3, 5), RED);
    assert_eq!(pixel(&t.color, 40, 20), GREEN);
    // A horizontal line strip along a row of pixel centres covers the span once per pixel
    // (the shared endpoint is not drawn twice: additive blending would show 2).
    let strip = [v(4.0, 10.5, RED), v(20.0, 10.5, RED), v(36.0, 10.5, RED)];
    let mut t = Target::new();
    t.blend = BlendState {
        enable: true,
        src_color: BlendFactor::One,
        dst_color: BlendFactor::One,
        color_op: BlendOp::Add,
        src_alpha: BlendFactor::One,
        dst_alpha: BlendFactor::Zero,
        alpha_op: BlendOp::Add,
        write_mask: 0xf,
    };
    t.draw(&state(Topology::LineStrip), &strip);
    for x in 5..35 {
        assert_eq!(pixel(&t.color, x, 10)[0], 1.0, "x = {x}");
        assert_eq!(pixel(&t.color, x, 9), CLEAR);
        assert_eq!(pixel(&t.color, x, 11), CLEAR);
    }
}
