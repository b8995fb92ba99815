//! Deferred draws ([`PassBatch`]): a pass's draws recorded and rasterized together, tile by
//! tile, give bit for bit the images (and statistics) of drawing them one after the other,
//! on any number of threads — with overlapping blended and depth-tested draws, draws spanning
//! several vertex windows, different pipelines, render areas and depth clamping, multiview,
//! and batches that fill up and rasterize on their own.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use renderer::draw::{
    draw, draw_deferred, ClosureFragmentStage, ClosureVertexStage, DrawCall, DrawResources,
    DrawStats, FragmentIo, GraphicsPipeline, GraphicsState, InputRate, PassBatch, RenderTargets,
    StageInterface, Topology, VertexAttribute, VertexBinding, VertexBufferBinding, VertexFormat,
    VertexInputState, MAX_PENDING_DRAWS, MAX_WINDOW_VERTICES,
};
use renderer::format::Format;
use renderer::image::{Image, ImageDesc, ImageType, Tiling};
use renderer::output::{
    BlendState, ColorAttachment, CompareOp, DepthState, DepthStencilAttachment,
};
use renderer::raster::Rect;
use renderer::{Buffer, DescriptorSet, RendererError, WorkerPool, Workers};
use shader::ir::OutputTarget;

/// Not a multiple of the 64-pixel tile: edge tiles are partial.
const W: u32 = 200;
const H: u32 = 150;
const LAYERS: u32 = 2;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f32 / (1u64 << 53) as f32
    }
}

fn location(location: u32, component: u8) -> OutputTarget {
    OutputTarget::Location {
        location,
        component,
    }
}

/// Position and colour passed through; the fragment stage writes the colour, or (`shade`)
/// the colour scaled by the pixel's column, so two pipelines differ per pixel.
fn pipeline(shade: bool) -> GraphicsPipeline {
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
    let fs = ClosureFragmentStage(move |io: &mut FragmentIo<'_>| {
        for c in 0..4 {
            for lane in 0..8 {
                let scale = if shade && c < 3 {
                    io.frag_coord[0][lane] / W as f32
                } else {
                    1.0
                };
                io.outputs[c * 8 + lane] = (io.inputs[c][lane] * scale).to_bits();
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

fn state(depth_clamp: bool) -> GraphicsState {
    let mut s = GraphicsState::covering(W, H);
    let format = VertexFormat::from_vk(109).unwrap();
    s.vertex_input = VertexInputState::new(
        vec![VertexBinding {
            binding: 0,
            stride: 32,
            rate: InputRate::Vertex,
        }],
        vec![
            VertexAttribute {
                location: 0,
                binding: 0,
                format,
                offset: 0,
            },
            VertexAttribute {
                location: 1,
                binding: 0,
                format,
                offset: 16,
            },
        ],
    )
    .unwrap();
    s.input_assembly.topology = Topology::TriangleList;
    s.depth = DepthState {
        test_enable: true,
        write_enable: true,
        compare_op: CompareOp::LessOrEqual,
        bounds: None,
    };
    s.rasterization.depth_clamp = depth_clamp;
    s
}

/// `count` random triangles of about `size` pixels, `[clip x, y, z, w, r, g, b, a]` per vertex.
fn triangles(rng: &mut Rng, count: usize, size: f32) -> Buffer {
    let mut floats = Vec::with_capacity(count * 24);
    for _ in 0..count {
        let (cx, cy) = (rng.next() * W as f32, rng.next() * H as f32);
        let color = [rng.next(), rng.next(), rng.next(), 0.2 + 0.6 * rng.next()];
        for _ in 0..3 {
            let x = cx + (rng.next() - 0.5) * size;
            let y = cy + (rng.next() - 0.5) * size;
            // Some depths beyond [0, 1]: clipped, or clamped where depth clamp is on.
            let z = rng.next() * 1.2 - 0.1;
            floats.extend_from_slice(&[2.0 * x / W as f32 - 1.0, 2.0 * y / H as f32 - 1.0, z, 1.0]);
            floats.extend_from_slice(&color);
        }
    }
    let bytes: Vec<u8> = floats.iter().flat_map(|v| v.to_le_bytes()).collect();
    let memory = renderer::HostMemory::new_zeroed(bytes.len().max(1) as u64).unwrap();
    let buffer = Buffer::from_external(Arc::new(memory), 0, bytes.len().max(1) as u64).unwrap();
    buffer.write(0, &bytes).unwrap();
    buffer
}

/// One recorded draw of a pass.
struct PassDraw {
    pipeline: Arc<GraphicsPipeline>,
    state: GraphicsState,
    vertices: Buffer,
    vertex_count: u32,
    render_area: Rect,
    view_mask: u32,
}

/// A pass's draws, in order: big overlapping blended triangles, one draw over several vertex
/// windows, a second pipeline, a smaller render area with depth clamp, multiview draws, and
/// many small draws in between.
fn pass(seed: u64, small_draws: usize) -> Vec<PassDraw> {
    let mut rng = Rng(seed);
    let plain = Arc::new(pipeline(false));
    let shaded = Arc::new(pipeline(true));
    let full = Rect {
        x: 0,
        y: 0,
        width: W,
        height: H,
    };
    let inner = Rect {
        x: 10,
        y: 20,
        width: 150,
        height: 100,
    };
    let mut draws = Vec::new();
    let mut add =
        |rng: &mut Rng, pipeline: &Arc<GraphicsPipeline>, count, size, area, clamp, mask| {
            draws.push(PassDraw {
                pipeline: pipeline.clone(),
                state: state(clamp),
                vertices: triangles(rng, count, size),
                vertex_count: (count * 3) as u32,
                render_area: area,
                view_mask: mask,
            })
        };
    add(&mut rng, &plain, 40, 160.0, full, false, 0);
    // More vertices than one window holds.
    let big = MAX_WINDOW_VERTICES * 2 / 3 + 100;
    add(&mut rng, &plain, big, 12.0, full, false, 0);
    add(&mut rng, &shaded, 30, 120.0, full, false, 0);
    add(&mut rng, &plain, 30, 120.0, inner, true, 0);
    add(&mut rng, &shaded, 20, 100.0, full, false, 0b11);
    for i in 0..small_draws {
        let pipeline = if i % 3 == 0 { &shaded } else { &plain };
        let area = if i % 5 == 0 { inner } else { full };
        let mask = if i % 7 == 0 { 0b10 } else { 0 };
        add(&mut rng, pipeline, 3, 50.0, area, i % 4 == 0, mask);
    }
    add(&mut rng, &plain, 20, 200.0, full, false, 0b01);
    draws
}

struct Attachments {
    color: Image,
    depth: Image,
}

impl Attachments {
    fn new() -> Attachments {
        let image = |format| {
            Image::new_host(ImageDesc {
                image_type: ImageType::D2,
                format,
                extent: [W, H, 1],
                mip_levels: 1,
                array_layers: LAYERS,
                tiling: Tiling::Optimal,
            })
            .unwrap()
        };
        let a = Attachments {
            color: image(Format::R8G8B8A8_UNORM),
            depth: image(Format::D32_SFLOAT),
        };
        let all = Rect {
            x: 0,
            y: 0,
            width: W,
            height: H,
        };
        for layer in 0..LAYERS {
            renderer::draw::clear_depth_stencil_rect(&a.depth, 0, layer, all, 2, 1.0, 0).unwrap();
        }
        a
    }

    /// Every texel of both images, every layer.
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for image in [&self.color, &self.depth] {
            for layer in 0..LAYERS {
                for y in 0..H {
                    for x in 0..W {
                        let mut t = [0u8; 4];
                        image.read_texel(0, layer, [x, y, 0], &mut t).unwrap();
                        out.extend_from_slice(&t);
                    }
                }
            }
        }
        out
    }

    /// Records or runs `d` with these attachments.
    fn with_draw<R>(
        &self,
        d: &PassDraw,
        f: impl FnOnce(
            &GraphicsPipeline,
            &GraphicsState,
            &RenderTargets<'_>,
            &DrawResources<'_>,
            &DrawCall,
        ) -> R,
    ) -> R {
        let colors = [Some(ColorAttachment {
            image: self.color.clone(),
            level: 0,
            layer: 0,
            blend: BlendState::ALPHA,
        })];
        let depth = DepthStencilAttachment {
            image: self.depth.clone(),
            level: 0,
            layer: 0,
        };
        let targets = RenderTargets {
            render_area: d.render_area,
            colors: &colors,
            depth_stencil: Some(&depth),
            view_mask: d.view_mask,
        };
        let sets: &[&DescriptorSet] = &[];
        let vbs = [Some(VertexBufferBinding {
            buffer: d.vertices.clone(),
            offset: 0,
        })];
        let resources = DrawResources {
            vertex_buffers: &vbs,
            index_buffer: None,
            descriptors: &sets,
            push_constants: &[],
        };
        let call = DrawCall::Direct {
            vertex_count: d.vertex_count,
            instance_count: 1,
            first_vertex: 0,
            first_instance: 0,
        };
        f(&d.pipeline, &d.state, &targets, &resources, &call)
    }
}

fn sum(stats: impl IntoIterator<Item = DrawStats>) -> DrawStats {
    let mut total = DrawStats::default();
    for s in stats {
        total += s;
    }
    total
}

fn immediate(draws: &[PassDraw], workers: Workers<'_>) -> (DrawStats, Vec<u8>) {
    let a = Attachments::new();
    let stats = sum(draws
        .iter()
        .map(|d| a.with_draw(d, |p, s, t, r, c| draw(p, s, t, r, c, workers).unwrap())));
    (stats, a.bytes())
}

/// Records every draw into one batch, flushing only at the end (and when the batch fills).
fn deferred(draws: &[PassDraw], workers: Workers<'_>) -> (DrawStats, Vec<u8>, usize) {
    let mut batch = PassBatch::new();
    let a = Attachments::new();
    let mut most_pending = 0;
    for d in draws {
        a.with_draw(d, |p, s, t, r, c| {
            draw_deferred(&mut batch, p, s, t, r, c, workers)
        })
        .unwrap();
        most_pending = most_pending.max(batch.pending_draws());
    }
    let stats = batch.flush(workers).unwrap();
    assert!(batch.is_empty());
    (stats, a.bytes(), most_pending)
}

#[test]
fn deferred_pass_matches_immediate_draws_on_any_thread_count() {
    let draws = pass(0x9e37_79b9_7f4a_7c15, 24);
    let (stats, reference) = immediate(&draws, Workers::CallingThread);
    assert!(stats.output.written > u64::from(W * H), "{stats:?}");
    let (s, pixels, pending) = deferred(&draws, Workers::CallingThread);
    assert!(pending > 20, "the draws waited in the batch: {pending}");
    assert_eq!(s, stats);
    assert!(pixels == reference, "calling thread: the images differ");
    for threads in [1, 2, 4] {
        let pool = WorkerPool::new(threads).unwrap();
        let (s, pixels, _) = deferred(&draws, Workers::Pool(&pool));
        assert_eq!(s, stats, "{threads} threads");
        assert!(pixels == reference, "{threads} threads: the images differ");
    }
}

#[test]
fn a_full_batch_rasterizes_on_its_own_and_still_matches() {
    let draws = pass(0x1234_5678_9abc_def1, MAX_PENDING_DRAWS + 100);
    let pool = WorkerPool::new(2).unwrap();
    let (stats, reference) = immediate(&draws, Workers::Pool(&pool));
    let (s, pixels, most_pending) = deferred(&draws, Workers::Pool(&pool));
    assert!(most_pending <= MAX_PENDING_DRAWS, "{most_pending}");
    assert_eq!(s, stats);
    assert!(pixels == reference, "the images differ");
}

#[test]
fn a_failed_draw_leaves_earlier_draws_pending_and_flush_writes_them() {
    let draws = pass(7, 0);
    let a = Attachments::new();
    let b = Attachments::new();
    let workers = Workers::CallingThread;
    a.with_draw(&draws[0], |p, s, t, r, c| draw(p, s, t, r, c, workers))
        .unwrap();
    let mut batch = PassBatch::new();
    b.with_draw(&draws[0], |p, s, t, r, c| {
        draw_deferred(&mut batch, p, s, t, r, c, workers)
    })
    .unwrap();
    let mut bad = draws[2].state.clone();
    bad.input_assembly.topology = Topology::LineList;
    bad.rasterization.line_width = 2.0;
    let failed = b.with_draw(&draws[2], |p, _, t, r, c| {
        draw_deferred(&mut batch, p, &bad, t, r, c, workers)
    });
    assert!(matches!(failed, Err(RendererError::Draw(_))), "{failed:?}");
    assert_eq!(batch.pending_draws(), 1);
    assert!(batch.flush(workers).unwrap().output.written > 0);
    assert!(a.bytes() == b.bytes());
    // Nothing left: a second flush does nothing.
    assert_eq!(batch.flush(workers).unwrap(), DrawStats::default());
}

#[test]
fn a_batch_over_its_byte_limit_rasterizes_between_windows_and_still_matches() {
    let draws = pass(0xfeed_beef, 8);
    let (stats, reference) = immediate(&draws, Workers::CallingThread);
    // Far less than the multi-window draw's set-up triangles: every window goes out at once.
    let limit = 64 << 10;
    let mut batch = PassBatch::with_limits(limit, 3);
    let a = Attachments::new();
    let mut most_bytes = 0;
    for d in &draws {
        a.with_draw(d, |p, s, t, r, c| {
            draw_deferred(&mut batch, p, s, t, r, c, Workers::CallingThread)
        })
        .unwrap();
        assert!(batch.pending_draws() <= 3);
        most_bytes = most_bytes.max(batch.pending_bytes());
    }
    assert!(most_bytes <= limit, "{most_bytes}");
    assert_eq!(batch.flush(Workers::CallingThread).unwrap(), stats);
    assert!(a.bytes() == reference, "the images differ");
}
