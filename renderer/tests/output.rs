//! The output merger (depth/stencil tests, blending, attachment writes) checked against CPU
//! references written here in f64 from the spec's equations. Per-pixel coverage, depth and
//! attributes of each triangle come from the rasterizer's `CoverageSink` (drawn one triangle
//! at a time), so the references test the merger, not the rasterizer.
#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

use std::sync::atomic::{AtomicU64, Ordering};

use renderer::format::texel::unpack_stencil;
use renderer::format::{pack_color, unpack_color, unpack_depth, ColorValue, Format};
use renderer::image::{Image, ImageDesc, ImageType, Tiling};
use renderer::output::{
    component, BlendFactor, BlendOp, BlendState, ColorAttachment, CompareOp, DepthState,
    DepthStencilAttachment, FragmentOutputs, OutputError, OutputSink, OutputState, StencilFace,
    StencilOp, StencilState,
};
use renderer::raster::{
    lane_offset, rasterize, rasterize_on, CoverageSink, FragmentBatch, Interpolation, Primitives,
    RasterState, Rect, VertexStream, LANES,
};

use renderer::{WorkerPool, Workers};

const W: u32 = 128;
const H: u32 = 96;

fn raster_state() -> RasterState {
    RasterState::covering(W, H)
}

fn output_state() -> OutputState {
    OutputState {
        render_area: Rect {
            x: 0,
            y: 0,
            width: W,
            height: H,
        },
        depth: DepthState::DISABLED,
        stencil: None,
        blend_constants: [0.0; 4],
        logic_op: None,
        early_fragment_tests: false,
    }
}

/// A triangle: framebuffer-space vertices `(x, y, z)` and an RGBA colour per vertex.
#[derive(Clone, Copy)]
struct Tri {
    v: [(f64, f64, f64); 3],
    color: [[f32; 4]; 3],
}

impl Tri {
    fn flat(v: [(f64, f64, f64); 3], color: [f32; 4]) -> Tri {
        Tri {
            v,
            color: [color; 3],
        }
    }
}

struct Mesh {
    positions: Vec<[f32; 4]>,
    attributes: Vec<f32>,
    tris: Vec<[u32; 3]>,
}

fn mesh(tris: &[Tri]) -> Mesh {
    let mut m = Mesh {
        positions: vec![],
        attributes: vec![],
        tris: vec![],
    };
    for t in tris {
        let base = m.positions.len() as u32;
        for (i, &(x, y, z)) in t.v.iter().enumerate() {
            m.positions.push([
                (2.0 * x / f64::from(W) - 1.0) as f32,
                (2.0 * y / f64::from(H) - 1.0) as f32,
                z as f32,
                1.0,
            ]);
            m.attributes.extend_from_slice(&t.color[i]);
        }
        m.tris.push([base, base + 1, base + 2]);
    }
    m
}

const INTERP: [Interpolation; 4] = [Interpolation::Smooth; 4];

/// Rasterizes `tris` into `sink` on a pool of `threads` threads.
fn draw<S: renderer::raster::FragmentSink>(tris: &[Tri], sink: &S, threads: usize) {
    let m = mesh(tris);
    let vertices = VertexStream {
        positions: &m.positions,
        attributes: &m.attributes,
        interpolation: &INTERP,
        point_sizes: None,
    };
    let pool = WorkerPool::new(threads).unwrap();
    rasterize_on(
        Workers::Pool(&pool),
        &raster_state(),
        &vertices,
        Primitives::Triangles(&m.tris),
        sink,
    )
    .unwrap();
}

/// Per pixel of one triangle: covered?, depth, colour (from the rasterizer alone).
struct Coverage {
    covered: Vec<bool>,
    depth: Vec<f32>,
    color: Vec<[f32; 4]>,
}

fn coverage(t: &Tri) -> Coverage {
    let sink = CoverageSink::new(W, H, 4);
    draw(&[*t], &sink, 1);
    let img = sink.images();
    let n = (W * H) as usize;
    Coverage {
        covered: (0..n).map(|i| img.counts[i] == 1).collect(),
        depth: img.depth.clone(),
        color: (0..n)
            .map(|i| [0, 1, 2, 3].map(|c| img.attributes[i * 4 + c]))
            .collect(),
    }
}

/// The fragment shader of these tests: colour = interpolated attributes 0..4 into every
/// float attachment.
fn color_shader(batch: &FragmentBatch<'_>, live: u8, out: &mut FragmentOutputs) -> u8 {
    for lane in 0..LANES {
        let c = [0, 1, 2, 3].map(|i| batch.attributes[i][lane]);
        out.set_float(0, lane, c);
    }
    live
}

fn image(format: Format) -> Image {
    Image::new_host(ImageDesc {
        image_type: ImageType::D2,
        format,
        extent: [W, H, 1],
        mip_levels: 1,
        array_layers: 1,
        tiling: Tiling::Optimal,
    })
    .unwrap()
}

fn fill_color(img: &Image, value: ColorValue) {
    let mut t = vec![0u8; img.format().texel_size() as usize];
    pack_color(img.format(), value, &mut t).unwrap();
    for y in 0..H {
        for x in 0..W {
            img.write_texel(0, 0, [x, y, 0], &t).unwrap();
        }
    }
}

fn texel(img: &Image, i: usize) -> Vec<u8> {
    let mut t = vec![0u8; img.format().texel_size() as usize];
    img.read_texel(0, 0, [i as u32 % W, i as u32 / W, 0], &mut t)
        .unwrap();
    t
}

fn color_at(img: &Image, i: usize) -> ColorValue {
    unpack_color(img.format(), &texel(img, i)).unwrap()
}

fn rgba8(img: &Image, i: usize) -> [u8; 4] {
    let t = texel(img, i);
    [t[0], t[1], t[2], t[3]]
}

fn unorm8(v: f64) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

fn color_attachment(image: &Image, blend: BlendState) -> ColorAttachment {
    ColorAttachment {
        image: image.clone(),
        level: 0,
        layer: 0,
        blend,
    }
}

fn ds_attachment(image: &Image) -> DepthStencilAttachment {
    DepthStencilAttachment {
        image: image.clone(),
        level: 0,
        layer: 0,
    }
}

fn reference_compare(op: CompareOp, a: f64, b: f64) -> bool {
    match op {
        CompareOp::Never => false,
        CompareOp::Less => a < b,
        CompareOp::Equal => a == b,
        CompareOp::LessOrEqual => a <= b,
        CompareOp::Greater => a > b,
        CompareOp::NotEqual => a != b,
        CompareOp::GreaterOrEqual => a >= b,
        CompareOp::Always => true,
    }
}

/// The stored representation of depth `z` as f64: UNORM codes, or the f32 value.
fn quantize_depth(format: Format, z: f32) -> f64 {
    let z = f64::from(z).clamp(0.0, 1.0);
    match format {
        Format::D16_UNORM => (z * 65535.0).round(),
        Format::D24_UNORM_S8_UINT => (z * 16_777_215.0).round(),
        _ => z,
    }
}

fn two_overlapping() -> [Tri; 2] {
    [
        // z rises left to right from 0.1 to 0.9.
        Tri {
            v: [(4.0, 4.0, 0.1), (120.0, 10.0, 0.9), (30.0, 90.0, 0.1)],
            color: [[1.0, 0.0, 0.0, 1.0]; 3],
        },
        // A constant 0.5 plane (plus one vertex at exactly the clear value) crossing it.
        Tri {
            v: [(10.0, 20.0, 0.5), (124.0, 40.0, 0.5), (60.0, 94.0, 0.5)],
            color: [[0.0, 1.0, 0.0, 1.0]; 3],
        },
    ]
}

#[test]
fn depth_test_matches_reference_for_every_compare_op_and_depth_format() {
    let tris = two_overlapping();
    let covs: Vec<Coverage> = tris.iter().map(coverage).collect();
    for format in [
        Format::D16_UNORM,
        Format::D24_UNORM_S8_UINT,
        Format::D32_SFLOAT,
        Format::D32_SFLOAT_S8_UINT,
    ] {
        for &op in CompareOp::ALL {
            let color = image(Format::R8G8B8A8_UNORM);
            let depth = image(format);
            let clear = 0.5f32;
            let mut t = vec![0u8; format.texel_size() as usize];
            renderer::format::pack_depth(format, clear, &mut t).unwrap();
            for i in 0..(W * H) as usize {
                depth
                    .write_texel(0, 0, [i as u32 % W, i as u32 / W, 0], &t)
                    .unwrap();
            }
            let mut state = output_state();
            state.depth = DepthState {
                test_enable: true,
                write_enable: true,
                compare_op: op,
                bounds: None,
            };
            let sink = OutputSink::new(
                &state,
                &[color_attachment(&color, BlendState::REPLACE)],
                Some(&ds_attachment(&depth)),
                color_shader,
            )
            .unwrap();
            draw(&tris, &sink, 2);
            sink.finish().unwrap();

            for i in 0..(W * H) as usize {
                let mut stored = quantize_depth(format, clear);
                let mut expected = [0u8; 4];
                for (tri, cov) in tris.iter().zip(&covs) {
                    if !cov.covered[i] {
                        continue;
                    }
                    let z = quantize_depth(format, cov.depth[i]);
                    if reference_compare(op, z, stored) {
                        stored = z;
                        expected = tri.color[0].map(|c| unorm8(f64::from(c)));
                    }
                }
                assert_eq!(rgba8(&color, i), expected, "{format:?} {op:?} pixel {i}");
                let got = f64::from(unpack_depth(format, &texel(&depth, i)).unwrap());
                let want = match format {
                    Format::D16_UNORM => stored / 65535.0,
                    Format::D24_UNORM_S8_UINT => stored / 16_777_215.0,
                    _ => stored,
                };
                assert!((got - want).abs() < 1e-6, "{format:?} {op:?} depth {i}");
            }
        }
    }
}

/// Two front-facing (counter-clockwise on screen, y down) triangles covering the framebuffer.
fn full_screen(z: f64, color: [f32; 4]) -> [Tri; 2] {
    let (w, h) = (f64::from(W), f64::from(H));
    [
        Tri::flat([(0.0, 0.0, z), (0.0, h, z), (w, 0.0, z)], color),
        Tri::flat([(w, 0.0, z), (0.0, h, z), (w, h, z)], color),
    ]
}

#[test]
fn stencil_mask_limits_a_second_draw_to_the_first_triangles_pixels() {
    let mask_tri = Tri::flat(
        [(20.0, 10.0, 0.5), (110.0, 30.0, 0.5), (40.0, 85.0, 0.5)],
        [1.0; 4],
    );
    let mask_cov = coverage(&mask_tri);
    for format in [
        Format::S8_UINT,
        Format::D24_UNORM_S8_UINT,
        Format::D32_SFLOAT_S8_UINT,
    ] {
        let color = image(Format::R8G8B8A8_UNORM);
        let ds = image(format);
        // Pass 1: write stencil 1 where the mask triangle covers, colour writes off.
        let mut state = output_state();
        let replace = StencilFace {
            pass_op: StencilOp::Replace,
            reference: 1,
            ..StencilFace::KEEP_ALWAYS
        };
        state.stencil = Some(StencilState {
            front: replace,
            back: replace,
        });
        let no_color = BlendState {
            write_mask: 0,
            ..BlendState::REPLACE
        };
        let sink = OutputSink::new(
            &state,
            &[color_attachment(&color, no_color)],
            Some(&ds_attachment(&ds)),
            color_shader,
        )
        .unwrap();
        draw(&[mask_tri], &sink, 2);
        sink.finish().unwrap();
        // Pass 2: a full-screen red pair drawn where stencil == 1 (front faces); the back
        // state, never used by these front-facing triangles, would pass everywhere.
        let equal = StencilFace {
            compare_op: CompareOp::Equal,
            reference: 1,
            pass_op: StencilOp::IncrementAndWrap,
            ..StencilFace::KEEP_ALWAYS
        };
        state.stencil = Some(StencilState {
            front: equal,
            back: StencilFace::KEEP_ALWAYS,
        });
        let sink = OutputSink::new(
            &state,
            &[color_attachment(&color, BlendState::REPLACE)],
            Some(&ds_attachment(&ds)),
            color_shader,
        )
        .unwrap();
        let quad = full_screen(0.5, [1.0, 0.0, 0.0, 1.0]);
        assert!(coverage(&quad[0]).covered.iter().any(|&c| c));
        draw(&quad, &sink, 2);
        sink.finish().unwrap();
        for i in 0..(W * H) as usize {
            let inside = mask_cov.covered[i];
            let want = if inside { [255, 0, 0, 255] } else { [0; 4] };
            assert_eq!(rgba8(&color, i), want, "{format:?} pixel {i}");
            let s = unpack_stencil(format, &texel(&ds, i)).unwrap();
            assert_eq!(s, if inside { 2 } else { 0 }, "{format:?} stencil {i}");
        }
    }
}

#[test]
fn back_faces_use_the_back_stencil_state() {
    let ds = image(Format::S8_UINT);
    let color = image(Format::R8G8B8A8_UNORM);
    let mut state = output_state();
    let never = StencilFace {
        compare_op: CompareOp::Never,
        fail_op: StencilOp::DecrementAndWrap,
        ..StencilFace::KEEP_ALWAYS
    };
    let always = StencilFace {
        pass_op: StencilOp::Replace,
        reference: 7,
        write_mask: 0x3,
        ..StencilFace::KEEP_ALWAYS
    };
    state.stencil = Some(StencilState {
        front: never,
        back: always,
    });
    // Framebuffer y points down: (0,0),(w,0),(0,h) is clockwise on screen, which is
    // back-facing under COUNTER_CLOCKWISE; its mirror is front-facing.
    let back = Tri::flat(
        [
            (0.0, 0.0, 0.5),
            (f64::from(W), 0.0, 0.5),
            (0.0, f64::from(H), 0.5),
        ],
        [0.0, 0.0, 1.0, 1.0],
    );
    let front = Tri::flat(
        [
            (0.0, 0.0, 0.5),
            (0.0, f64::from(H), 0.5),
            (f64::from(W), 0.0, 0.5),
        ],
        [0.0, 1.0, 0.0, 1.0],
    );
    let back_cov = coverage(&back);
    let sink = OutputSink::new(
        &state,
        &[color_attachment(&color, BlendState::REPLACE)],
        Some(&ds_attachment(&ds)),
        color_shader,
    )
    .unwrap();
    draw(&[back, front], &sink, 1);
    sink.finish().unwrap();
    for i in 0..(W * H) as usize {
        // The mirrored triangles cover the same pixels: the back one writes 7 & 0x3, then the
        // front one fails and DecrementAndWrap turns 3 into 2.
        let s = unpack_stencil(Format::S8_UINT, &texel(&ds, i)).unwrap();
        if back_cov.covered[i] {
            assert_eq!(s, 2, "pixel {i}");
            assert_eq!(rgba8(&color, i), [0, 0, 255, 255]);
        } else {
            assert_eq!(s, 0, "pixel {i}");
            assert_eq!(rgba8(&color, i), [0; 4]);
        }
    }
}

fn blend_factor_ref(f: BlendFactor, i: usize, s: [f64; 4], d: [f64; 4], k: [f64; 4]) -> f64 {
    match f {
        BlendFactor::Zero => 0.0,
        BlendFactor::One => 1.0,
        BlendFactor::SrcColor => s[i],
        BlendFactor::OneMinusSrcColor => 1.0 - s[i],
        BlendFactor::DstColor => d[i],
        BlendFactor::OneMinusDstColor => 1.0 - d[i],
        BlendFactor::SrcAlpha => s[3],
        BlendFactor::OneMinusSrcAlpha => 1.0 - s[3],
        BlendFactor::DstAlpha => d[3],
        BlendFactor::OneMinusDstAlpha => 1.0 - d[3],
        BlendFactor::ConstantColor => k[i],
        BlendFactor::OneMinusConstantColor => 1.0 - k[i],
        BlendFactor::ConstantAlpha => k[3],
        BlendFactor::OneMinusConstantAlpha => 1.0 - k[3],
        BlendFactor::SrcAlphaSaturate if i == 3 => 1.0,
        BlendFactor::SrcAlphaSaturate => s[3].min(1.0 - d[3]),
        _ => unreachable!("dual-source factors are refused"),
    }
}

fn blend_ref(b: &BlendState, s: [f64; 4], d: [f64; 4], k: [f64; 4]) -> [f64; 4] {
    let mut out = [0.0; 4];
    for i in 0..4 {
        let (sf, df, op) = if i == 3 {
            (b.src_alpha, b.dst_alpha, b.alpha_op)
        } else {
            (b.src_color, b.dst_color, b.color_op)
        };
        let (sf, df) = (
            blend_factor_ref(sf, i, s, d, k),
            blend_factor_ref(df, i, s, d, k),
        );
        out[i] = match op {
            BlendOp::Add => s[i] * sf + d[i] * df,
            BlendOp::Subtract => s[i] * sf - d[i] * df,
            BlendOp::ReverseSubtract => d[i] * df - s[i] * sf,
            BlendOp::Min => s[i].min(d[i]),
            BlendOp::Max => s[i].max(d[i]),
        };
    }
    out
}

#[test]
fn every_blend_factor_and_op_matches_the_f64_equations_on_a_float_target() {
    let tri = Tri {
        v: [(2.0, 2.0, 0.5), (60.0, 6.0, 0.5), (8.0, 40.0, 0.5)],
        color: [
            [0.9, 0.2, 0.4, 0.3],
            [0.1, 0.8, 0.5, 0.7],
            [0.6, 0.3, 0.9, 0.95],
        ],
    };
    let cov = coverage(&tri);
    let dst = [0.25f32, 0.5, 0.75, 0.6];
    let constants = [0.3f32, 0.6, 0.1, 0.45];
    let factors: Vec<BlendFactor> = BlendFactor::ALL
        .iter()
        .copied()
        .filter(|f| !f.is_dual_source())
        .collect();
    let color = image(Format::R32G32B32A32_SFLOAT);
    let mut checked = 0;
    for &op in BlendOp::ALL {
        for (n, &sf) in factors.iter().enumerate() {
            // Every factor as source and as destination, each op, colour and alpha paired
            // with different factors.
            let df = factors[(n * 7 + 3) % factors.len()];
            let state_blend = BlendState {
                enable: true,
                src_color: sf,
                dst_color: df,
                color_op: op,
                src_alpha: df,
                dst_alpha: sf,
                alpha_op: op,
                write_mask: component::ALL,
            };
            fill_color(&color, ColorValue::Float(dst));
            let mut state = output_state();
            state.blend_constants = constants;
            let sink = OutputSink::new(
                &state,
                &[color_attachment(&color, state_blend)],
                None,
                color_shader,
            )
            .unwrap();
            draw(&[tri], &sink, 1);
            sink.finish().unwrap();
            for i in (0..(W * H) as usize).filter(|&i| cov.covered[i]) {
                let s = cov.color[i].map(f64::from);
                let want = blend_ref(
                    &state_blend,
                    s,
                    dst.map(f64::from),
                    constants.map(f64::from),
                );
                let ColorValue::Float(got) = color_at(&color, i) else {
                    panic!("float target")
                };
                for c in 0..4 {
                    assert!(
                        (f64::from(got[c]) - want[c]).abs() < 1e-5,
                        "{op:?} {sf:?}/{df:?} pixel {i} component {c}: {got:?} vs {want:?}"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 1000);
}

#[test]
fn overlapping_translucent_triangles_blend_like_the_reference() {
    let tris = [
        Tri {
            v: [(5.0, 5.0, 0.5), (120.0, 15.0, 0.5), (20.0, 90.0, 0.5)],
            color: [
                [1.0, 0.0, 0.0, 0.5],
                [0.0, 1.0, 0.0, 0.25],
                [0.0, 0.0, 1.0, 0.75],
            ],
        },
        Tri {
            v: [(100.0, 2.0, 0.5), (110.0, 94.0, 0.5), (10.0, 50.0, 0.5)],
            color: [[0.2, 0.9, 0.9, 0.6]; 3],
        },
        Tri {
            v: [(64.0, 0.0, 0.5), (127.0, 95.0, 0.5), (0.0, 95.0, 0.5)],
            color: [
                [0.9, 0.9, 0.1, 0.3],
                [0.5, 0.5, 0.5, 0.9],
                [0.1, 0.2, 0.3, 0.1],
            ],
        },
    ];
    let covs: Vec<Coverage> = tris.iter().map(coverage).collect();
    for format in [Format::R8G8B8A8_UNORM, Format::B8G8R8A8_SRGB] {
        let color = image(format);
        fill_color(&color, ColorValue::Float([0.1, 0.2, 0.3, 1.0]));
        let sink = OutputSink::new(
            &output_state(),
            &[color_attachment(&color, BlendState::ALPHA)],
            None,
            color_shader,
        )
        .unwrap();
        draw(&tris, &sink, 3);
        sink.finish().unwrap();
        let srgb = format == Format::B8G8R8A8_SRGB;
        // The reference stores 8-bit codes between triangles, as the attachment does.
        let encode = |v: f64, alpha: bool| {
            let v = v.clamp(0.0, 1.0);
            if srgb && !alpha {
                let e = if v <= 0.0031308 {
                    12.92 * v
                } else {
                    1.055 * v.powf(1.0 / 2.4) - 0.055
                };
                (e * 255.0).round()
            } else {
                (v * 255.0).round()
            }
        };
        let decode = |c: f64, alpha: bool| {
            let e = c / 255.0;
            if srgb && !alpha {
                if e <= 0.04045 {
                    e / 12.92
                } else {
                    ((e + 0.055) / 1.055).powf(2.4)
                }
            } else {
                e
            }
        };
        let mut worst = 0.0f64;
        for i in 0..(W * H) as usize {
            let mut codes = [0.1, 0.2, 0.3, 1.0].map(|v| encode(v, false));
            codes[3] = encode(1.0, true);
            for cov in &covs {
                if !cov.covered[i] {
                    continue;
                }
                let s = cov.color[i].map(f64::from);
                let d = [0, 1, 2, 3].map(|c| decode(codes[c], c == 3));
                let out = blend_ref(&BlendState::ALPHA, s, d, [0.0; 4]);
                codes = [0, 1, 2, 3].map(|c| encode(out[c], c == 3));
            }
            let ColorValue::Float(got) = color_at(&color, i) else {
                panic!("unorm target")
            };
            for c in 0..4 {
                let got_code = encode(f64::from(got[c]), c == 3);
                worst = worst.max((got_code - codes[c]).abs());
            }
        }
        // f32 against f64 may flip one rounding per layer.
        assert!(worst <= 2.0, "{format:?}: worst difference {worst} codes");
    }
}

#[test]
fn shared_edges_are_blended_exactly_once() {
    // A fan of triangles around an off-grid centre, plus a quad split on its diagonal.
    let c = (55.3, 47.7);
    let ring: Vec<(f64, f64)> = (0..9)
        .map(|k| {
            let a = f64::from(k) * std::f64::consts::TAU / 9.0 + 0.1;
            (c.0 + 40.0 * a.cos(), c.1 + 40.0 * a.sin())
        })
        .collect();
    let mut tris: Vec<Tri> = (0..9)
        .map(|k| {
            let (p, q) = (ring[k], ring[(k + 1) % 9]);
            Tri::flat(
                [(c.0, c.1, 0.5), (p.0, p.1, 0.5), (q.0, q.1, 0.5)],
                [1.0, 1.0, 1.0, 0.5],
            )
        })
        .collect();
    let red = [1.0, 0.0, 0.0, 0.5];
    tris.push(Tri::flat(
        [(100.25, 3.5, 0.5), (126.75, 3.5, 0.5), (100.25, 90.1, 0.5)],
        red,
    ));
    tris.push(Tri::flat(
        [(126.75, 3.5, 0.5), (126.75, 90.1, 0.5), (100.25, 90.1, 0.5)],
        red,
    ));
    let union = CoverageSink::new(W, H, 0);
    {
        let m = mesh(&tris);
        let vertices = VertexStream {
            positions: &m.positions,
            attributes: &[],
            interpolation: &[],
            point_sizes: None,
        };
        rasterize(
            &raster_state(),
            &vertices,
            Primitives::Triangles(&m.tris),
            &union,
        )
        .unwrap();
    }
    let counts = union.images().counts;
    let color = image(Format::R8G8B8A8_UNORM);
    let sink = OutputSink::new(
        &output_state(),
        &[color_attachment(&color, BlendState::ALPHA)],
        None,
        color_shader,
    )
    .unwrap();
    draw(&tris, &sink, 4);
    let stats = sink.finish().unwrap();
    let covered: u64 = counts.iter().map(|&n| u64::from(n)).sum();
    assert_eq!(stats.written, covered);
    for i in 0..(W * H) as usize {
        let x = i as u32 % W;
        let want = match counts[i] {
            0 => [0; 4],
            // Colour 1·0.5 + 0·0.5, alpha 0.5·0.5 + 0·0.5.
            1 if x >= 100 => [128, 0, 0, 64],
            1 => [128, 128, 128, 64],
            n => panic!("rasterizer covered pixel {i} {n} times"),
        };
        assert_eq!(rgba8(&color, i), want, "pixel {i}");
    }
}

#[test]
fn multiple_render_targets_of_different_formats_get_their_own_outputs() {
    let tris = two_overlapping();
    let covs: Vec<Coverage> = tris.iter().map(coverage).collect();
    let rgba = image(Format::R8G8B8A8_UNORM);
    let rg32 = image(Format::R32G32_SFLOAT);
    let index = image(Format::R32_UINT);
    let a2b10 = image(Format::A2B10G10R10_UNORM_PACK32);
    fill_color(&a2b10, ColorValue::Float([0.0, 0.0, 1.0, 1.0]));
    let shader = |batch: &FragmentBatch<'_>, live: u8, out: &mut FragmentOutputs| {
        for lane in 0..LANES {
            let c = [0, 1, 2, 3].map(|i| batch.attributes[i][lane]);
            let (dx, dy) = lane_offset(lane);
            out.set_float(0, lane, c);
            out.set_float(
                1,
                lane,
                [batch.depth[lane], (batch.x + dx) as f32, 0.0, 0.0],
            );
            out.set_uint(2, lane, [batch.primitive * 1000 + batch.y + dy, 0, 0, 0]);
            out.set_float(3, lane, [1.0, 1.0, 0.0, 0.0]);
        }
        live
    };
    let only_red = BlendState {
        write_mask: component::R | component::A,
        ..BlendState::REPLACE
    };
    let sink = OutputSink::new(
        &output_state(),
        &[
            color_attachment(&rgba, BlendState::REPLACE),
            color_attachment(&rg32, BlendState::REPLACE),
            // Integer formats never blend, whatever the state asks.
            color_attachment(&index, BlendState::ALPHA),
            color_attachment(&a2b10, only_red),
        ],
        None,
        shader,
    )
    .unwrap();
    draw(&tris, &sink, 2);
    sink.finish().unwrap();
    for i in 0..(W * H) as usize {
        let last = (0..2).rev().find(|&t| covs[t].covered[i]);
        let Some(t) = last else {
            assert_eq!(rgba8(&rgba, i), [0; 4]);
            assert_eq!(color_at(&index, i), ColorValue::Uint([0, 0, 0, 1]));
            continue;
        };
        let want = tris[t].color[0].map(|c| unorm8(f64::from(c)));
        assert_eq!(rgba8(&rgba, i), want, "pixel {i}");
        assert_eq!(
            color_at(&rg32, i),
            ColorValue::Float([covs[t].depth[i], (i as u32 % W) as f32, 0.0, 1.0])
        );
        let y = i as u32 / W;
        assert_eq!(
            color_at(&index, i),
            ColorValue::Uint([t as u32 * 1000 + y, 0, 0, 1])
        );
        // R and A written (A=0 from the shader), G and B kept from the clear (0, 1).
        assert_eq!(color_at(&a2b10, i), ColorValue::Float([1.0, 0.0, 1.0, 0.0]));
    }
}

fn depth_image(format: Format, value: f32) -> Image {
    let img = image(format);
    let mut t = vec![0u8; format.texel_size() as usize];
    renderer::format::pack_depth(format, value, &mut t).unwrap();
    for i in 0..(W * H) as usize {
        img.write_texel(0, 0, [i as u32 % W, i as u32 / W, 0], &t)
            .unwrap();
    }
    img
}

#[test]
fn early_tests_skip_the_shader_for_killed_fragments_and_late_tests_see_its_depth() {
    let near = Tri::flat(
        [(10.0, 10.0, 0.2), (110.0, 20.0, 0.2), (30.0, 80.0, 0.2)],
        [1.0, 0.0, 0.0, 1.0],
    );
    let far = full_screen(0.6, [0.0, 1.0, 0.0, 1.0]);
    let near_cov = coverage(&near);
    let near_pixels = near_cov.covered.iter().filter(|&&c| c).count() as u64;
    let all = u64::from(W * H);
    let less = DepthState {
        test_enable: true,
        write_enable: true,
        compare_op: CompareOp::Less,
        bounds: None,
    };
    for early in [true, false] {
        let depth = depth_image(Format::D32_SFLOAT, 1.0);
        let color = image(Format::R8G8B8A8_UNORM);
        let mut state = output_state();
        state.depth = less;
        // Lay down the near triangle first.
        let sink = OutputSink::new(
            &state,
            &[color_attachment(&color, BlendState::REPLACE)],
            Some(&ds_attachment(&depth)),
            color_shader,
        )
        .unwrap();
        draw(&[near], &sink, 2);
        sink.finish().unwrap();
        state.early_fragment_tests = early;
        let calls = AtomicU64::new(0);
        let counting = |batch: &FragmentBatch<'_>, live: u8, out: &mut FragmentOutputs| {
            calls.fetch_add(u64::from(live.count_ones()), Ordering::Relaxed);
            color_shader(batch, live, out)
        };
        let sink = OutputSink::new(
            &state,
            &[color_attachment(&color, BlendState::REPLACE)],
            Some(&ds_attachment(&depth)),
            counting,
        )
        .unwrap();
        draw(&far, &sink, 2);
        let stats = sink.finish().unwrap();
        let expected_calls = if early { all - near_pixels } else { all };
        assert_eq!(
            calls.load(Ordering::Relaxed),
            expected_calls,
            "early {early}"
        );
        assert_eq!(stats.shaded, expected_calls);
        assert_eq!(stats.written, all - near_pixels);
        for i in 0..(W * H) as usize {
            let want = if near_cov.covered[i] {
                [255, 0, 0, 255]
            } else {
                [0, 255, 0, 255]
            };
            assert_eq!(rgba8(&color, i), want, "early {early} pixel {i}");
        }
    }

    // Late tests: a shader writing FragDepth 0 wins everywhere and stores 0; one that
    // discards leaves depth untouched. With early tests the depth (0.3, passing) is written
    // before the shader runs, so its discard no longer undoes it and its FragDepth is ignored.
    for (early, discard, z) in [(false, false, 0.6), (false, true, 0.6), (true, true, 0.3)] {
        let depth = depth_image(Format::D32_SFLOAT, 0.5);
        let color = image(Format::R8G8B8A8_UNORM);
        let mut state = output_state();
        state.depth = less;
        state.early_fragment_tests = early;
        let shader = move |batch: &FragmentBatch<'_>, live: u8, out: &mut FragmentOutputs| {
            color_shader(batch, live, out);
            out.depth = [0.0; LANES];
            out.depth_written = true;
            if discard {
                0
            } else {
                live
            }
        };
        let sink = OutputSink::new(
            &state,
            &[color_attachment(&color, BlendState::REPLACE)],
            Some(&ds_attachment(&depth)),
            shader,
        )
        .unwrap();
        // Interpolated depth 0.6 would fail LESS against 0.5.
        draw(&full_screen(z, [0.0, 1.0, 0.0, 1.0]), &sink, 2);
        assert_eq!(sink.finish().unwrap().shaded, all);
        for i in 0..(W * H) as usize {
            let d = unpack_depth(Format::D32_SFLOAT, &texel(&depth, i)).unwrap();
            let want = match (early, discard) {
                (true, _) => z,
                (false, true) => 0.5,
                (false, false) => 0.0,
            };
            assert!(
                (f64::from(d) - want).abs() < 1e-6,
                "early {early} discard {discard} pixel {i}: {d}"
            );
            let c = if discard { [0; 4] } else { [0, 255, 0, 255] };
            assert_eq!(rgba8(&color, i), c);
        }
    }
}

#[test]
fn a_scene_renders_identically_with_one_and_many_threads() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        (seed.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    let tris: Vec<Tri> = (0..300)
        .map(|_| {
            let (cx, cy) = (rnd() * f64::from(W), rnd() * f64::from(H));
            let mut v = [(0.0, 0.0, 0.0); 3];
            let mut color = [[0.0f32; 4]; 3];
            for k in 0..3 {
                v[k] = (cx + rnd() * 60.0 - 30.0, cy + rnd() * 60.0 - 30.0, rnd());
                color[k] = [rnd() as f32, rnd() as f32, rnd() as f32, rnd() as f32];
            }
            Tri { v, color }
        })
        .collect();
    let render = |threads: usize| {
        let color = image(Format::R16G16B16A16_SFLOAT);
        // Inside the depth bounds at first; depths written above 0.7 then block later ones.
        let ds = depth_image(Format::D24_UNORM_S8_UINT, 0.6);
        let mut state = output_state();
        state.depth = DepthState {
            test_enable: true,
            write_enable: true,
            compare_op: CompareOp::LessOrEqual,
            bounds: Some((0.0, 0.7)),
        };
        let count = StencilFace {
            pass_op: StencilOp::IncrementAndClamp,
            depth_fail_op: StencilOp::Invert,
            ..StencilFace::KEEP_ALWAYS
        };
        state.stencil = Some(StencilState {
            front: count,
            back: StencilFace {
                pass_op: StencilOp::DecrementAndWrap,
                ..count
            },
        });
        state.blend_constants = [0.2, 0.4, 0.6, 0.8];
        let blend = BlendState {
            dst_color: BlendFactor::OneMinusConstantColor,
            ..BlendState::ALPHA
        };
        let sink = OutputSink::new(
            &state,
            &[color_attachment(&color, blend)],
            Some(&ds_attachment(&ds)),
            color_shader,
        )
        .unwrap();
        draw(&tris, &sink, threads);
        let stats = sink.finish().unwrap();
        let bytes: Vec<Vec<u8>> = (0..(W * H) as usize)
            .flat_map(|i| [texel(&color, i), texel(&ds, i)])
            .collect();
        (stats, bytes)
    };
    let one = render(1);
    assert!(one.0.written > 0);
    for threads in [2, 4] {
        assert_eq!(render(threads), one, "{threads} threads");
    }
}

#[test]
fn unsupported_or_ill_fitting_state_is_refused() {
    let color = image(Format::R8G8B8A8_UNORM);
    let mut state = output_state();
    state.logic_op = Some(3);
    let refuse = |state: &OutputState, colors: &[ColorAttachment]| {
        OutputSink::new(state, colors, None, color_shader).err()
    };
    let one = [color_attachment(&color, BlendState::REPLACE)];
    assert_eq!(
        refuse(&state, &one),
        Some(OutputError::LogicOpUnsupported(3))
    );
    let dual = BlendState {
        src_color: BlendFactor::Src1Color,
        ..BlendState::ALPHA
    };
    assert_eq!(
        refuse(&output_state(), &[color_attachment(&color, dual)]),
        Some(OutputError::DualSourceBlend(0))
    );
    let mut big = output_state();
    big.render_area.width = W + 1;
    assert!(matches!(
        refuse(&big, &one),
        Some(OutputError::RenderAreaOutside { .. })
    ));
    let nine = vec![color_attachment(&color, BlendState::REPLACE); 9];
    assert_eq!(
        refuse(&output_state(), &nine),
        Some(OutputError::TooManyColorAttachments(9))
    );
    let depth = image(Format::D32_SFLOAT);
    assert!(matches!(
        refuse(
            &output_state(),
            &[color_attachment(&depth, BlendState::REPLACE)]
        ),
        Some(OutputError::NotColorFormat { index: 0, .. })
    ));
    let mut odd = ds_attachment(&depth);
    odd.layer = 1;
    assert!(matches!(
        OutputSink::new(&output_state(), &one, Some(&odd), color_shader).err(),
        Some(OutputError::NoSuchSubresource { .. })
    ));
}

#[test]
fn render_area_clips_fragments() {
    let color = image(Format::R8G8B8A8_UNORM);
    let mut state = output_state();
    state.render_area = Rect {
        x: 30,
        y: 20,
        width: 50,
        height: 40,
    };
    let sink = OutputSink::new(
        &state,
        &[color_attachment(&color, BlendState::REPLACE)],
        None,
        color_shader,
    )
    .unwrap();
    draw(&full_screen(0.5, [1.0; 4]), &sink, 2);
    assert_eq!(sink.finish().unwrap().written, 50 * 40);
    for i in 0..(W * H) as usize {
        let (x, y) = (i as u32 % W, i as u32 / W);
        let inside = (30..80).contains(&x) && (20..60).contains(&y);
        assert_eq!(rgba8(&color, i), if inside { [255; 4] } else { [0; 4] });
    }
}
