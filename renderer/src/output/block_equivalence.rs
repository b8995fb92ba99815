//! The block paths of the output merger against its texel-by-texel reference: random
//! attachments contents, coverage, shader outputs and discards, blend states and write masks,
//! depth/stencil states, LINEAR and OPTIMAL images whose sizes leave partial blocks at the
//! right and bottom edges. Both must leave the same bytes and the same counts. The same
//! fragments go in as single batches or as random runs of blocks (with and without the
//! 16-lane colour kernel), inside random render areas.
//!
//! Blending into 8-bit UNORM attachments runs in fixed point where the blend state allows
//! (see `color_block::unorm8_fixed`): there the colour bytes may differ from the reference
//! by 1 (one pass over random contents, shader outputs without NaN, whose fixed-point
//! meaning differs), and the paths that stay in f32 must still match exactly.

#![allow(clippy::unwrap_used)]

use crate::format::Format;
use crate::image::{Image, ImageDesc, ImageType, Tiling};
use crate::raster::{
    CoveredRect, FragmentBatch, FragmentNeeds, FragmentRun, FragmentSink, Rect, TileFragments,
    LANES, RUN_BLOCKS,
};

use super::state::{
    component, BlendFactor, BlendOp, BlendState, CompareOp, DepthState, StencilFace, StencilOp,
    StencilState,
};
use super::{
    ColorAttachment, CopiedColor, DepthStencilAttachment, FragmentOutputs, FragmentShader,
    OutputSink, OutputState, OutputStats, MAX_COLOR_ATTACHMENTS,
};

/// xorshift*, deterministic.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 = mix(self.0);
        (self.0 >> 32) as u32
    }
    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.next() as usize % from.len()]
    }
}

/// A shader output word for (seed, x, y, lane, component): mostly values around [−0.5, 1.5],
/// sometimes ±∞ and, unless `finite`, NaN or a raw integer.
fn output_word(seed: u64, (x, y): (u32, u32), lane: usize, c: usize, finite: bool) -> u32 {
    let h = mix(seed ^ (u64::from(x) << 40) ^ (u64::from(y) << 20) ^ ((lane * 4 + c) as u64 + 1));
    match h % 16 {
        0 if !finite => f32::NAN.to_bits(),
        1 => f32::INFINITY.to_bits(),
        2 => f32::NEG_INFINITY.to_bits(),
        3 if !finite => (h >> 32) as u32,
        _ => (((h >> 40) % 2000) as f32 / 1000.0 - 0.5).to_bits(),
    }
}

fn image(format: Format, tiling: Tiling, extent: [u32; 2], seed: u64) -> Image {
    let image = Image::new_host(ImageDesc {
        image_type: ImageType::D2,
        format,
        extent: [extent[0], extent[1], 1],
        mip_levels: 1,
        array_layers: 1,
        tiling,
    })
    .unwrap();
    let ts = format.texel_size() as usize;
    let mut rng = Rng(seed);
    for y in 0..extent[1] {
        for x in 0..extent[0] {
            let texel: Vec<u8> = (0..ts).map(|_| rng.next() as u8).collect();
            image.write_texel(0, 0, [x, y, 0], &texel).unwrap();
        }
    }
    image
}

/// Every attachment's bytes, colours first.
fn read_back(colors: &[ColorAttachment], ds: Option<&DepthStencilAttachment>) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = colors.iter().map(|a| contents(&a.image)).collect();
    out.extend(ds.iter().map(|a| contents(&a.image)));
    out
}

fn contents(image: &Image) -> Vec<u8> {
    let [w, h, _] = image.desc().extent;
    let ts = image.format().texel_size() as usize;
    let mut out = vec![0u8; w as usize * h as usize * ts];
    for (i, texel) in out.chunks_mut(ts).enumerate() {
        let (x, y) = (i as u32 % w, i as u32 / w);
        image.read_texel(0, 0, [x, y, 0], texel).unwrap();
    }
    out
}

struct Case {
    formats: Vec<Format>,
    blends: Vec<BlendState>,
    depth_format: Option<Format>,
    depth: DepthState,
    stencil: Option<StencilState>,
    early: bool,
    tiling: Tiling,
    extent: [u32; 2],
    /// Render area as (x, y, width, height) inside the extent.
    area: [u32; 4],
    seed: u64,
    /// Every lane of every fragment carries the same colour (per attachment).
    uniform: bool,
}

impl Case {
    /// Fresh attachments of the case's formats, filled with seeded random bytes.
    fn attachments(&self) -> (Vec<ColorAttachment>, Option<DepthStencilAttachment>) {
        let colors = self
            .formats
            .iter()
            .zip(&self.blends)
            .enumerate()
            .map(|(i, (&format, &blend))| ColorAttachment {
                image: image(format, self.tiling, self.extent, self.seed + i as u64),
                level: 0,
                layer: 0,
                blend,
            })
            .collect();
        let ds = self.depth_format.map(|format| DepthStencilAttachment {
            image: image(format, self.tiling, self.extent, self.seed ^ 0xd5),
            level: 0,
            layer: 0,
        });
        (colors, ds)
    }

    fn output_state(&self) -> OutputState {
        OutputState {
            render_area: Rect {
                x: self.area[0] as i32,
                y: self.area[1] as i32,
                width: self.area[2],
                height: self.area[3],
            },
            depth: self.depth,
            stencil: self.stencil,
            blend_constants: [0.3, -0.6, 1.9, 0.25],
            logic_op: None,
            early_fragment_tests: self.early,
        }
    }

    /// Whether an attachment may blend in 8-bit fixed point (a colour within 1 LSB of the
    /// reference instead of exact).
    fn fixed_point(&self) -> bool {
        self.formats.iter().zip(&self.blends).any(|(f, b)| {
            matches!(f, Format::R8G8B8A8_UNORM | Format::B8G8R8A8_UNORM)
                && b.enable
                && !b.factors().contains(&BlendFactor::SrcAlphaSaturate)
        })
    }
}

/// How the fragments reach the sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Feed {
    /// Texel by texel, one batch at a time: the reference.
    Reference,
    /// One batch at a time through the block paths.
    Batches,
    /// Random runs of blocks; `narrow` without the 8-bit UNORM colour kernels, `plain`
    /// also without the AVX2 build of the block path.
    Runs { narrow: bool, plain: bool },
    /// Random runs of blocks, the fixed-point kernel converting a run's source pixel by
    /// pixel even where it is one colour.
    RunsPerPixelSource,
}

/// Asserts that `got` has `want`'s counts and bytes, the first `colors` attachments' bytes
/// within `tolerance`.
fn assert_close(
    got: &(Vec<Vec<u8>>, OutputStats),
    want: &(Vec<Vec<u8>>, OutputStats),
    colors: usize,
    tolerance: u8,
    context: &str,
) {
    assert_eq!(got.1, want.1, "{context}");
    assert_eq!(got.0.len(), want.0.len(), "{context}");
    for (a, (g, w)) in got.0.iter().zip(&want.0).enumerate() {
        let tolerance = if a < colors { tolerance } else { 0 };
        assert_eq!(g.len(), w.len(), "{context}");
        for (i, (x, y)) in g.iter().zip(w).enumerate() {
            assert!(
                x.abs_diff(*y) <= tolerance,
                "{context}: attachment {a} byte {i}: {x} vs {y}"
            );
        }
    }
}

/// `run` of `case` fed as `feed` against the texel-by-texel reference: exact, or within
/// 1 for colours where the feed may take the fixed-point path.
fn check(case: &Case, feed: Feed, reference: &(Vec<Vec<u8>>, OutputStats), context: &str) {
    let fixed = case.fixed_point() && !matches!(feed, Feed::Runs { narrow: true, .. });
    let tolerance = u8::from(fixed);
    let got = run(case, feed);
    assert_close(&got, reference, case.formats.len(), tolerance, context);
}

/// Runs `case` fed as `feed`; returns every attachment's bytes and the counts.
fn run(case: &Case, feed: Feed) -> (Vec<Vec<u8>>, OutputStats) {
    let (colors, ds) = case.attachments();
    let [w, h] = case.extent;
    let state = case.output_state();
    let seed = case.seed;
    let attachments = colors.len();
    let (finite, uniform) = (case.fixed_point(), case.uniform);
    let shader = move |batch: &FragmentBatch<'_>, live: u8, out: &mut FragmentOutputs| {
        for a in 0..attachments {
            for lane in 0..LANES {
                let words = std::array::from_fn(|c| match uniform {
                    true => output_word(seed + a as u64, (0, 0), 0, c, finite),
                    false => output_word(seed + a as u64, (batch.x, batch.y), lane, c, finite),
                });
                out.set_uint(a, lane, words);
            }
        }
        // Some lanes discard.
        live & !(mix(seed ^ u64::from(batch.x * 7 + batch.y)) as u8 & 0x11)
    };
    let mut sink = OutputSink::new(&state, &colors, ds.as_ref(), shader).unwrap();
    match feed {
        Feed::Reference => sink = sink.per_texel().unwrap(),
        Feed::Runs {
            narrow: true,
            plain,
        } => sink = sink.narrow(plain).unwrap(),
        Feed::RunsPerPixelSource => sink = sink.without_uniform_runs().unwrap(),
        _ => {}
    }
    let mut rng = Rng(seed ^ 0xabcd);
    let mut runs = Rng(seed ^ 0x7777);
    // Two passes so blending and depth see earlier writes; one where colours may differ by
    // 1 (a second pass would blend over the difference).
    let passes = if case.fixed_point() { 1 } else { 2 };
    for _ in 0..passes {
        let mut tile = sink.begin_tile(0, 0, w, h);
        for y in (0..h).step_by(2) {
            let front_facing = rng.next().is_multiple_of(2);
            let blocks: Vec<Block> = (0..w.div_ceil(4))
                .map(|_| Block::random(&mut rng))
                .collect();
            let mut first = 0;
            while first < blocks.len() {
                let len = match feed {
                    Feed::Runs { .. } | Feed::RunsPerPixelSource => {
                        1 + runs.next() as usize % RUN_BLOCKS
                    }
                    _ => 1,
                };
                let chunk = &blocks[first..(first + len).min(blocks.len())];
                feed_blocks(&mut tile, (4 * first as u32, y), front_facing, chunk, feed);
                first += chunk.len();
            }
        }
        sink.end_tile(tile);
    }
    let stats = sink.finish().unwrap();
    let out = read_back(&colors, ds.as_ref());
    (out, stats)
}

/// One block's rasterizer values.
struct Block {
    mask: u8,
    depth: [f32; LANES],
}

impl Block {
    fn random(rng: &mut Rng) -> Block {
        let mask = match rng.next() % 3 {
            0 => 0xff,
            _ => rng.next() as u8,
        };
        let depth = std::array::from_fn(|_| match rng.next() % 10 {
            0 => f32::NAN,
            1 => 1.5,
            _ => (rng.next() % 1000) as f32 / 999.0,
        });
        Block { mask, depth }
    }
}

/// Hands `blocks` (the first at (`x`, `y`)) to `tile` as `feed` says.
fn feed_blocks<T: TileFragments>(
    tile: &mut T,
    (x, y): (u32, u32),
    front_facing: bool,
    blocks: &[Block],
    feed: Feed,
) {
    if let Feed::Runs { .. } | Feed::RunsPerPixelSource = feed {
        let masks: Vec<u8> = blocks.iter().map(|b| b.mask).collect();
        let depth: Vec<[f32; LANES]> = blocks.iter().map(|b| b.depth).collect();
        let n = blocks.len();
        tile.run(&FragmentRun {
            x,
            y,
            masks: &masks,
            front_facing,
            primitive: 0,
            depth: &depth,
            inv_w: &vec![[1.0; LANES]; n],
            point_coord: &vec![[[0.5; LANES]; 2]; n],
            components: 0,
            attributes: &[],
        });
        return;
    }
    for (i, block) in blocks.iter().enumerate() {
        if block.mask == 0 {
            continue;
        }
        tile.batch(&FragmentBatch {
            x: x + 4 * i as u32,
            y,
            mask: block.mask,
            front_facing,
            primitive: 0,
            depth: block.depth,
            inv_w: [1.0; LANES],
            attributes: &[],
            point_coord: [[0.5; LANES]; 2],
        });
    }
}

fn random_area(rng: &mut Rng, [w, h]: [u32; 2]) -> [u32; 4] {
    if rng.next().is_multiple_of(2) {
        return [0, 0, w, h];
    }
    let (x, y) = (rng.next() % w, rng.next() % h);
    [x, y, 1 + rng.next() % (w - x), 1 + rng.next() % (h - y)]
}

fn random_blend(rng: &mut Rng) -> BlendState {
    let factors: Vec<BlendFactor> = BlendFactor::ALL
        .iter()
        .copied()
        .filter(|f| !f.is_dual_source())
        .collect();
    match rng.next() % 4 {
        0 => BlendState {
            write_mask: (rng.next() % 16) as u8,
            ..BlendState::REPLACE
        },
        1 => BlendState::ALPHA,
        _ => BlendState {
            enable: !rng.next().is_multiple_of(4),
            src_color: rng.pick(&factors),
            dst_color: rng.pick(&factors),
            color_op: rng.pick(BlendOp::ALL),
            src_alpha: rng.pick(&factors),
            dst_alpha: rng.pick(&factors),
            alpha_op: rng.pick(BlendOp::ALL),
            write_mask: match rng.next() % 2 {
                0 => component::ALL,
                _ => (rng.next() % 16) as u8,
            },
        },
    }
}

fn random_face(rng: &mut Rng) -> StencilFace {
    StencilFace {
        fail_op: rng.pick(StencilOp::ALL),
        pass_op: rng.pick(StencilOp::ALL),
        depth_fail_op: rng.pick(StencilOp::ALL),
        compare_op: rng.pick(CompareOp::ALL),
        compare_mask: rng.next() & 0xff,
        write_mask: rng.next() & 0xff,
        reference: rng.next() & 0xff,
    }
}

#[test]
fn block_paths_write_exactly_what_the_texel_path_writes() {
    let color_formats = [
        Format::R8G8B8A8_UNORM,
        Format::B8G8R8A8_UNORM,
        Format::R8G8B8A8_SRGB,
        Format::R32G32B32A32_SFLOAT,
        Format::R16G16B16A16_SFLOAT,
        Format::R8_UNORM,
        Format::R8G8_SNORM,
        Format::R32_UINT,
        Format::R16G16_SINT,
        Format::A2B10G10R10_UNORM_PACK32,
        Format::B10G11R11_UFLOAT_PACK32,
    ];
    let depth_formats = [
        None,
        Some(Format::D32_SFLOAT),
        Some(Format::D16_UNORM),
        Some(Format::D24_UNORM_S8_UINT),
        Some(Format::D32_SFLOAT_S8_UINT),
        Some(Format::S8_UINT),
    ];
    let mut rng = Rng(0x5eed_0fb1_0c00);
    for round in 0..120u64 {
        let attachments = 1 + rng.next() as usize % 2;
        let formats: Vec<Format> = (0..attachments).map(|_| rng.pick(&color_formats)).collect();
        let blends = (0..attachments).map(|_| random_blend(&mut rng)).collect();
        let case = Case {
            formats,
            blends,
            depth_format: rng.pick(&depth_formats),
            depth: DepthState {
                test_enable: !rng.next().is_multiple_of(4),
                write_enable: rng.next().is_multiple_of(2),
                compare_op: rng.pick(CompareOp::ALL),
                bounds: (rng.next().is_multiple_of(4)).then_some((0.2, 0.8)),
            },
            stencil: (rng.next().is_multiple_of(2)).then(|| StencilState {
                front: random_face(&mut rng),
                back: random_face(&mut rng),
            }),
            early: rng.next().is_multiple_of(2),
            tiling: rng.pick(&[Tiling::Optimal, Tiling::Linear]),
            extent: [rng.pick(&[4, 8, 13, 17, 30]), rng.pick(&[2, 3, 7, 10])],
            area: [0; 4],
            seed: round * 0x9e37_79b9 + 17,
            uniform: false,
        };
        let case = Case {
            area: random_area(&mut rng, case.extent),
            ..case
        };
        let reference = run(&case, Feed::Reference);
        for feed in [
            Feed::Batches,
            Feed::Runs {
                narrow: false,
                plain: false,
            },
        ] {
            let context = format!(
                "round {round} {feed:?}: {:?} {:?} {:?} {:?} {:?} {:?}",
                case.formats, case.blends, case.depth_format, case.tiling, case.extent, case.area
            );
            check(&case, feed, &reference, &context);
        }
    }
}

#[test]
fn runs_of_8_bit_unorm_attachments_write_exactly_what_the_texel_path_writes() {
    let color_formats = [Format::R8G8B8A8_UNORM, Format::B8G8R8A8_UNORM];
    let depth_formats = [
        None,
        None,
        Some(Format::D32_SFLOAT),
        Some(Format::D16_UNORM),
        Some(Format::D24_UNORM_S8_UINT),
    ];
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for round in 0..150u64 {
        let attachments = 1 + rng.next() as usize % 2;
        let formats: Vec<Format> = (0..attachments).map(|_| rng.pick(&color_formats)).collect();
        let blends = (0..attachments).map(|_| random_blend(&mut rng)).collect();
        let extent = [rng.pick(&[8, 17, 40, 70, 129]), rng.pick(&[2, 5, 8])];
        let case = Case {
            formats,
            blends,
            depth_format: rng.pick(&depth_formats),
            depth: DepthState {
                test_enable: !rng.next().is_multiple_of(3),
                write_enable: !rng.next().is_multiple_of(3),
                compare_op: rng.pick(CompareOp::ALL),
                bounds: None,
            },
            stencil: None,
            early: rng.next().is_multiple_of(2),
            tiling: rng.pick(&[Tiling::Optimal, Tiling::Linear]),
            extent,
            area: random_area(&mut rng, extent),
            seed: round * 0x51_7cc1_b727 + 5,
            uniform: rng.next().is_multiple_of(3),
        };
        let reference = run(&case, Feed::Reference);
        let runs = |narrow, plain| Feed::Runs { narrow, plain };
        for feed in [
            runs(false, false),
            runs(true, false),
            runs(true, true),
            Feed::Batches,
            Feed::RunsPerPixelSource,
        ] {
            let context = format!(
                "round {round} {feed:?}: {:?} {:?} {:?} {:?} {:?} {:?} uniform {}",
                case.formats,
                case.blends,
                case.depth_format,
                case.tiling,
                case.extent,
                case.area,
                case.uniform
            );
            check(&case, feed, &reference, &context);
        }
    }
}

#[test]
fn one_colour_runs_blend_to_the_same_bits_once_per_run_as_pixel_by_pixel() {
    let factors: Vec<BlendFactor> = BlendFactor::ALL
        .iter()
        .copied()
        .filter(|f| !f.is_dual_source() && *f != BlendFactor::SrcAlphaSaturate)
        .collect();
    let mut rng = Rng(0x00c0_105e_0f0e);
    let mut fixed = 0;
    for round in 0..120u64 {
        let format = rng.pick(&[Format::R8G8B8A8_UNORM, Format::B8G8R8A8_UNORM]);
        let blend = match round % 3 {
            0 => BlendState {
                write_mask: (rng.next() % 16) as u8,
                ..BlendState::ALPHA
            },
            _ => BlendState {
                enable: true,
                src_color: rng.pick(&factors),
                dst_color: rng.pick(&factors),
                color_op: rng.pick(BlendOp::ALL),
                src_alpha: rng.pick(&factors),
                dst_alpha: rng.pick(&factors),
                alpha_op: rng.pick(BlendOp::ALL),
                write_mask: component::ALL,
            },
        };
        let extent = [rng.pick(&[8, 17, 64, 129]), rng.pick(&[2, 5, 8])];
        let case = Case {
            formats: vec![format],
            blends: vec![blend],
            depth_format: rng.pick(&[None, Some(Format::D32_SFLOAT)]),
            depth: DepthState {
                test_enable: rng.next().is_multiple_of(2),
                write_enable: true,
                compare_op: rng.pick(CompareOp::ALL),
                bounds: None,
            },
            stencil: None,
            early: true,
            tiling: rng.pick(&[Tiling::Optimal, Tiling::Linear]),
            extent,
            area: random_area(&mut rng, extent),
            seed: round * 0x3_0000_0001 + 9,
            uniform: true,
        };
        fixed += usize::from(case.fixed_point());
        let once = run(
            &case,
            Feed::Runs {
                narrow: false,
                plain: false,
            },
        );
        let per_pixel = run(&case, Feed::RunsPerPixelSource);
        assert_eq!(once, per_pixel, "round {round}: {format:?} {blend:?}");
    }
    assert_eq!(fixed, 120);
}

/// Formats of the rectangle tests: the fixed-point blend's two, and some of the others'.
const RECT_FORMATS: [Format; 7] = [
    Format::R8G8B8A8_UNORM,
    Format::B8G8R8A8_UNORM,
    Format::R8G8B8A8_UNORM,
    Format::R8G8B8A8_SRGB,
    Format::R16G16B16A16_SFLOAT,
    Format::R32_UINT,
    Format::R8_UNORM,
];

/// One or two attachments of [`RECT_FORMATS`], each blending over (a third of them) or with
/// a random blend state.
fn rect_targets(rng: &mut Rng) -> (Vec<Format>, Vec<BlendState>) {
    let attachments = 1 + rng.next() as usize % 2;
    let formats = (0..attachments).map(|_| rng.pick(&RECT_FORMATS)).collect();
    let blends = (0..attachments)
        .map(|_| match rng.next() % 3 {
            0 => BlendState::ALPHA,
            _ => random_blend(rng),
        })
        .collect();
    (formats, blends)
}

/// A fragment stage whose colours are constants, as the JIT stage reports them: the output
/// merger takes covered rectangles of it whole.
struct ConstantShader {
    colors: [[[u32; LANES]; 4]; MAX_COLOR_ATTACHMENTS],
}

impl FragmentShader for ConstantShader {
    fn shade(&self, _: &FragmentBatch<'_>, live: u8, out: &mut FragmentOutputs) -> u8 {
        out.color = self.colors;
        live
    }

    fn needs(&self) -> FragmentNeeds {
        FragmentNeeds::NONE
    }

    fn constant_colors(&self) -> Option<&[[[u32; LANES]; 4]; MAX_COLOR_ATTACHMENTS]> {
        Some(&self.colors)
    }
}

/// Draws `rects` (block-aligned, inside the extent) with a [`ConstantShader`] of `case`'s
/// attachments: handed to the sink as covered rectangles where `whole` (as runs of full
/// blocks where it declines one), else always as runs. Returns the attachments' bytes, the
/// counts and how many rectangles the sink took whole.
fn draw_rects(
    case: &Case,
    rects: &[CoveredRect],
    whole: bool,
) -> (Vec<Vec<u8>>, OutputStats, usize) {
    let (colors, ds) = case.attachments();
    let state = case.output_state();
    let shader = ConstantShader {
        colors: std::array::from_fn(|a| {
            std::array::from_fn(|c| [output_word(case.seed + a as u64, (0, 0), 0, c, false); LANES])
        }),
    };
    let sink = OutputSink::new(&state, &colors, ds.as_ref(), shader).unwrap();
    let [w, h] = case.extent;
    let mut tile = sink.begin_tile(0, 0, w, h);
    let mut taken = 0;
    for rect in rects {
        if whole && tile.covered_rect(rect) {
            taken += 1;
            continue;
        }
        let blocks = ((rect.x1 - rect.x0) / 4) as usize;
        let full: Vec<Block> = (0..blocks)
            .map(|_| Block {
                mask: 0xff,
                depth: [0.5; LANES],
            })
            .collect();
        for y in (rect.y0..rect.y1).step_by(2) {
            for (i, chunk) in full.chunks(RUN_BLOCKS).enumerate() {
                let x = rect.x0 + (4 * RUN_BLOCKS * i) as u32;
                let feed = Feed::Runs {
                    narrow: false,
                    plain: false,
                };
                feed_blocks(&mut tile, (x, y), rect.front_facing, chunk, feed);
            }
        }
    }
    sink.end_tile(tile);
    let stats = sink.finish().unwrap();
    let out = read_back(&colors, ds.as_ref());
    (out, stats, taken)
}

#[test]
fn covered_rectangles_of_constant_colours_write_what_runs_of_full_blocks_write() {
    let mut rng = Rng(0x0c0e_7ec7_0000);
    let (mut taken, mut declined) = (0, 0);
    for round in 0..200u64 {
        let (formats, blends) = rect_targets(&mut rng);
        let extent = [rng.pick(&[8, 17, 40, 70, 129]), rng.pick(&[2, 5, 8, 21])];
        let case = Case {
            formats,
            blends,
            depth_format: rng.pick(&[None, None, None, Some(Format::D32_SFLOAT)]),
            depth: DepthState {
                test_enable: true,
                write_enable: true,
                compare_op: CompareOp::Always,
                bounds: None,
            },
            stencil: None,
            early: true,
            tiling: rng.pick(&[Tiling::Optimal, Tiling::Linear]),
            extent,
            area: random_area(&mut rng, extent),
            seed: round * 0x2_0000_0003 + 11,
            uniform: true,
        };
        let (bw, bh) = (extent[0] / 4, extent[1] / 2);
        let rects: Vec<CoveredRect> = (0..4)
            .map(|k| {
                let (a, b) = (rng.next() % bw, rng.next() % bw);
                let (c, d) = (rng.next() % bh, rng.next() % bh);
                CoveredRect {
                    x0: 4 * a.min(b),
                    x1: 4 * (a.max(b) + 1),
                    y0: 2 * c.min(d),
                    y1: 2 * (c.max(d) + 1),
                    front_facing: k % 2 == 0,
                    primitive: k,
                }
            })
            .collect();
        let (bytes, stats, n) = draw_rects(&case, &rects, true);
        let (want, want_stats, _) = draw_rects(&case, &rects, false);
        taken += n;
        declined += rects.len() - n;
        let context = format!(
            "round {round}: {:?} {:?} {:?} {:?} {:?} {:?} {rects:?}",
            case.formats, case.blends, case.depth_format, case.tiling, case.extent, case.area
        );
        assert_eq!(stats, want_stats, "{context}");
        assert!(bytes == want, "{context}");
    }
    // Both happen: attachments that take rectangles, and render areas, depth attachments and
    // blends that send them back to the runs.
    assert!(
        taken > 100 && declined > 100,
        "{taken} taken, {declined} declined"
    );
}

/// A fragment stage whose colours are a function of its inputs alone: the output merger
/// takes covered rectangles of primitives with constant inputs with it. With `copied`, it
/// copies inputs and constants to attachment 0 (the others get the same words, turned), and
/// says so ([`FragmentShader::copied_color`]).
struct InputShader {
    seed: u64,
    copied: Option<[CopiedColor; 4]>,
}

impl InputShader {
    /// Attachment `a`'s words for fragments whose inputs are `inputs` (a few values read
    /// straight through, the others mixed with the seed: NaN, infinities and raw words
    /// included), or the copy's; `None` where a copied input is missing.
    fn words(&self, a: usize, inputs: &[f32]) -> Option<[u32; 4]> {
        if let Some(copied) = self.copied {
            let mut words = [0u32; 4];
            for (word, source) in words.iter_mut().zip(copied) {
                *word = source.word(inputs)?;
            }
            words.rotate_left(a % 4);
            return Some(words);
        }
        Some(std::array::from_fn(|c| match (a + c) % 3 {
            0 => inputs[c % inputs.len()].to_bits(),
            1 => (inputs[(c + 1) % inputs.len()] * 0.5 + 0.25).to_bits(),
            _ => {
                let bits = u64::from(inputs[0].to_bits());
                output_word(self.seed ^ bits, (0, 0), a, c, false)
            }
        }))
    }
}

impl FragmentShader for InputShader {
    fn shade(&self, batch: &FragmentBatch<'_>, live: u8, out: &mut FragmentOutputs) -> u8 {
        for lane in 0..LANES {
            let inputs: Vec<f32> = batch.attributes.iter().map(|c| c[lane]).collect();
            for a in 0..MAX_COLOR_ATTACHMENTS {
                // Blocks always carry every input a copy needs (rectangles that do not are
                // declined and come back as blocks with their own inputs).
                out.set_uint(a, lane, self.words(a, &inputs).unwrap_or([0; 4]));
            }
        }
        live
    }

    fn needs(&self) -> FragmentNeeds {
        FragmentNeeds {
            attributes: true,
            ..FragmentNeeds::NONE
        }
    }

    fn colors_follow_inputs(&self) -> bool {
        true
    }

    fn copied_color(&self) -> Option<[CopiedColor; 4]> {
        self.copied
    }

    fn input_colors(&self, inputs: &[f32], colors: &mut [[u32; 4]; MAX_COLOR_ATTACHMENTS]) -> bool {
        for (a, words) in colors.iter_mut().enumerate() {
            match self.words(a, inputs) {
                Some(w) => *words = w,
                None => return false,
            }
        }
        true
    }
}

#[test]
fn covered_rectangles_with_constant_inputs_write_what_their_runs_write() {
    check_input_rects(0x1eaf_c0de_0001, |round, _| InputShader {
        seed: round,
        copied: None,
    });
}

#[test]
fn covered_rectangles_of_copied_inputs_write_what_their_runs_write() {
    use CopiedColor::{Constant, Input};
    let copies = [
        // Four consecutive inputs (one load), from 0 and from 1.
        [Input(0), Input(1), Input(2), Input(3)],
        [Input(1), Input(2), Input(3), Input(4)],
        // Swizzles and constants, word by word.
        [Input(2), Constant(0x3f80_0000), Input(0), Input(0)],
        [Constant(0), Input(3), Constant(0x7fc0_0000), Input(1)],
    ];
    check_input_rects(0x1eaf_c0de_0002, |round, rng| InputShader {
        seed: round,
        copied: Some(copies[(rng.next() % 4) as usize]),
    });
}

/// Rounds of four covered rectangles with constant inputs (1 to 5 values, some rectangles
/// short of what the shader copies) on random attachments, each written whole where the sink
/// takes it and as runs of blocks otherwise, against the same rectangles written as runs of
/// blocks only: the same bytes and statistics.
fn check_input_rects<S: FragmentShader>(seed: u64, shader: impl Fn(u64, &mut Rng) -> S) {
    let mut rng = Rng(seed);
    let (mut taken, mut declined) = (0, 0);
    for round in 0..150u64 {
        let (formats, blends) = rect_targets(&mut rng);
        let extent = [rng.pick(&[8, 17, 40, 70]), rng.pick(&[2, 5, 8, 21])];
        let tiling = rng.pick(&[Tiling::Optimal, Tiling::Linear]);
        let area = random_area(&mut rng, extent);
        let (bw, bh) = (extent[0] / 4, extent[1] / 2);
        let rects: Vec<(CoveredRect, Vec<f32>)> = (0..4)
            .map(|k| {
                let (a, b) = (rng.next() % bw, rng.next() % bw);
                let (c, d) = (rng.next() % bh, rng.next() % bh);
                // Usually all five values; now and then fewer than a copy needs.
                let count = match rng.next() % 4 {
                    0 => 1 + rng.next() % 5,
                    _ => 5,
                };
                let inputs = (0..count)
                    .map(|_| (rng.next() % 1500) as f32 / 1000.0 - 0.25)
                    .collect();
                let rect = CoveredRect {
                    x0: 4 * a.min(b),
                    x1: 4 * (a.max(b) + 1),
                    y0: 2 * c.min(d),
                    y1: 2 * (c.max(d) + 1),
                    front_facing: true,
                    primitive: k,
                };
                (rect, inputs)
            })
            .collect();
        let case = Case {
            formats: formats.clone(),
            blends: blends.clone(),
            depth_format: None,
            depth: DepthState {
                test_enable: false,
                write_enable: false,
                compare_op: CompareOp::Always,
                bounds: None,
            },
            stencil: None,
            early: true,
            tiling,
            extent,
            area,
            seed: round,
            uniform: false,
        };
        // Both drawings get the same shader.
        let shader_seed = u64::from(rng.next());
        let draw = |whole: bool| {
            let (colors, _) = case.attachments();
            let state = case.output_state();
            let shader = shader(round, &mut Rng(shader_seed));
            let sink = OutputSink::new(&state, &colors, None, shader).unwrap();
            let mut tile = sink.begin_tile(0, 0, extent[0], extent[1]);
            let mut n = 0;
            for (rect, inputs) in &rects {
                if whole && tile.covered_rect_shaded(rect, inputs) {
                    n += 1;
                    continue;
                }
                let attributes: Vec<[f32; LANES]> = inputs.iter().map(|&v| [v; LANES]).collect();
                for y in (rect.y0..rect.y1).step_by(2) {
                    for x in (rect.x0..rect.x1).step_by(4) {
                        tile.batch(&FragmentBatch {
                            x,
                            y,
                            mask: 0xff,
                            front_facing: true,
                            primitive: rect.primitive,
                            depth: [0.5; LANES],
                            inv_w: [1.0; LANES],
                            attributes: &attributes,
                            point_coord: [[0.5; LANES]; 2],
                        });
                    }
                }
            }
            sink.end_tile(tile);
            let stats = sink.finish().unwrap();
            (read_back(&colors, None), stats, n)
        };
        let (bytes, stats, n) = draw(true);
        let (want, want_stats, _) = draw(false);
        taken += n;
        declined += rects.len() - n;
        let context =
            format!("round {round}: {formats:?} {blends:?} {tiling:?} {extent:?} {area:?}");
        assert_eq!(stats, want_stats, "{context}");
        assert!(bytes == want, "{context}");
    }
    assert!(
        taken > 50 && declined > 50,
        "{taken} taken, {declined} declined"
    );
}
