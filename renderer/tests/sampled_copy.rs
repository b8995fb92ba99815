//! Fragment shaders that only copy one sampled texel (`shader::sampled_copy`): where a
//! primitive covers whole blocks, the output merger has the copy kernel sample its texels in
//! 8-bit fixed point instead of calling the compiled shader. Each case draws the same
//! geometry twice, with the copy shader and with its twin that multiplies the texel by a
//! constant 1.0 (shaded by the kernel and the image helper: the reference), and checks that
//! every pixel agrees within one code, that few differ at all, and that the copy path did
//! write most pixels (and the twin none).
#![allow(clippy::unwrap_used)]

mod common;

use renderer::draw::{
    DrawCall, DrawResources, GraphicsPipeline, GraphicsState, RenderTargets, ShaderStageSource,
    VertexBufferBinding,
};
use renderer::format::{aspect, Format};
use renderer::image::{Image, ImageDesc, ImageType, Tiling};
use renderer::output::{BlendState, ColorAttachment};
use renderer::raster::Rect;
use renderer::sampler::{
    AddressMode, BorderColor, ComponentSwizzle, Filter, ImageDescriptor, ImageView, MipmapMode,
    Sampler, SamplerState, ViewType,
};
use renderer::{DescriptorSet, Device, SpecializationEntry, SpecializationInfo};

const WIDTH: u32 = 200;
const HEIGHT: u32 = 136;

struct Case {
    name: &'static str,
    texture: Format,
    tiling: Tiling,
    side: [u32; 2],
    levels: u32,
    filter: Filter,
    mipmap: MipmapMode,
    address: AddressMode,
    target: Format,
    target_tiling: Tiling,
    /// Texels per pixel along x and y, and the offset of pixel (0, 0) in normalized units.
    scale: [f32; 2],
    offset: [f32; 2],
    /// Coordinates turned by this much per pixel (not a separable mapping), or none.
    rotate: Option<f32>,
}

/// A texture of random texels on every level.
fn texture(case: &Case, seed: u64) -> Image {
    let image = Image::new_host(ImageDesc {
        image_type: ImageType::D2,
        format: case.texture,
        extent: [case.side[0], case.side[1], 1],
        mip_levels: case.levels,
        array_layers: 1,
        tiling: case.tiling,
    })
    .unwrap();
    let mut rng = common::Rng::new(seed);
    for level in 0..case.levels {
        let [w, h, _] = image.desc().mip_extent(level);
        for y in 0..h {
            for x in 0..w {
                let texel = rng.next_u32().to_le_bytes();
                image.write_texel(level, 0, [x, y, 0], &texel).unwrap();
            }
        }
    }
    image
}

fn descriptor_set(case: &Case, image: &Image) -> DescriptorSet {
    let state = SamplerState {
        mag_filter: case.filter,
        min_filter: case.filter,
        mipmap_mode: case.mipmap,
        address_modes: [case.address; 3],
        mip_lod_bias: 0.0,
        compare: None,
        min_lod: 0.0,
        max_lod: 1000.0,
        border_color: BorderColor::FloatOpaqueBlack,
        unnormalized_coordinates: false,
    };
    let view = ImageView {
        image: image.clone(),
        view_type: ViewType::D2,
        format: case.texture,
        components: [ComponentSwizzle::Identity; 4],
        aspect_mask: aspect::COLOR,
        base_level: 0,
        level_count: case.levels,
        base_layer: 0,
        layer_count: 1,
    };
    let mut set = DescriptorSet::new();
    set.bind_image(
        0,
        0,
        ImageDescriptor::Image {
            view,
            sampler: Some(Sampler::new(state).unwrap()),
        },
    );
    set
}

fn pipeline(dev: &Device, fragment: &str, case: &Case) -> GraphicsPipeline {
    let values = [
        case.scale[0] / case.side[0] as f32,
        case.scale[1] / case.side[1] as f32,
        case.offset[0],
        case.offset[1],
        1.0,
        case.rotate.unwrap_or(0.0),
    ];
    let spec = SpecializationInfo {
        entries: (0..values.len() as u32)
            .map(|i| SpecializationEntry {
                constant_id: i,
                offset: 4 * i,
                size: 4,
            })
            .collect(),
        data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    };
    let vert = common::spirv_file("bench_raster.vert", &[]);
    let defines: &[(&str, &str)] = if case.rotate.is_some() {
        &[("ROTATED", "1")]
    } else {
        &[]
    };
    let frag = common::spirv_file(fragment, defines);
    let none = SpecializationInfo::default();
    let stage = |spirv, spec| ShaderStageSource {
        spirv,
        entry: "main",
        spec,
    };
    dev.create_graphics_pipeline(Some(&stage(&vert, &none)), Some(&stage(&frag, &spec)))
        .unwrap()
}

/// An axis-aligned rectangle off the block grid (two triangles: a rectangle pair), a
/// rotated triangle over part of it and a thin sliver: pixels of covered rectangles, of
/// rectangle edges and of plain triangle runs.
fn geometry() -> Vec<(f32, f32)> {
    let (x0, y0, x1, y1) = (3.3, 5.0, 190.7, 130.5);
    vec![
        (x0, y0),
        (x1, y0),
        (x1, y1),
        (x0, y0),
        (x1, y1),
        (x0, y1),
        (20.0, 120.0),
        (150.0, 20.0),
        (180.0, 110.0),
        (0.0, 0.0),
        (200.0, 3.0),
        (0.0, 2.0),
    ]
}

/// Draws `geometry()` with `pipeline` into a fresh target of `case.target`.
fn draw(
    dev: &Device,
    pipeline: &GraphicsPipeline,
    case: &Case,
    set: &DescriptorSet,
) -> (Image, u64, u64) {
    let target = Image::new_host(ImageDesc {
        image_type: ImageType::D2,
        format: case.target,
        extent: [WIDTH, HEIGHT, 1],
        mip_levels: 1,
        array_layers: 1,
        tiling: case.target_tiling,
    })
    .unwrap();
    let colors = [Some(ColorAttachment {
        image: target.clone(),
        level: 0,
        layer: 0,
        blend: BlendState::REPLACE,
    })];
    let targets = RenderTargets {
        render_area: Rect {
            x: 0,
            y: 0,
            width: WIDTH,
            height: HEIGHT,
        },
        colors: &colors,
        depth_stencil: None,
        view_mask: 0,
    };
    let vertices = geometry();
    let words: Vec<u32> = vertices
        .iter()
        .flat_map(|&(x, y)| [x.to_bits(), y.to_bits(), u32::MAX])
        .collect();
    let vbs = [Some(VertexBufferBinding {
        buffer: common::buffer_from(dev, &words),
        offset: 0,
    })];
    let push: Vec<u8> = [2.0 / WIDTH as f32, 2.0 / HEIGHT as f32]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let sets: &[&DescriptorSet] = &[set];
    let resources = DrawResources {
        vertex_buffers: &vbs,
        index_buffer: None,
        descriptors: &sets,
        push_constants: &push,
    };
    let call = DrawCall::Direct {
        vertex_count: vertices.len() as u32,
        instance_count: 1,
        first_vertex: 0,
        first_instance: 0,
    };
    let mut state = GraphicsState::covering(WIDTH, HEIGHT);
    state.vertex_input = common::interleaved_input(12, &[(0, 103), (8, 37)]);
    let stats = dev
        .draw(pipeline, &state, &targets, &resources, &call)
        .unwrap();
    (target, stats.output.written, stats.output.sampled)
}

fn check(dev: &Device, case: &Case) {
    let image = texture(case, 0x5a3 ^ u64::from(case.side[0]));
    let set = descriptor_set(case, &image);
    let copy = pipeline(dev, "sampled_copy.frag", case);
    let reference = pipeline(dev, "sampled_copy_reference.frag", case);
    let (got, written, sampled) = draw(dev, &copy, case, &set);
    let (want, want_written, want_sampled) = draw(dev, &reference, case, &set);
    let name = case.name;
    assert_eq!(written, want_written, "{name}: fragments written");
    assert_eq!(
        want_sampled, 0,
        "{name}: the reference is shaded by its kernel"
    );
    // The rectangle's inside blocks and the triangles' covered tiles: most of the pixels.
    assert!(
        sampled * 2 > written,
        "{name}: {sampled} of {written} fragments sampled by the copy kernel"
    );
    let (mut differing, mut values) = (0, 0);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let (mut a, mut b) = ([0u8; 4], [0u8; 4]);
            got.read_texel(0, 0, [x, y, 0], &mut a).unwrap();
            want.read_texel(0, 0, [x, y, 0], &mut b).unwrap();
            for (p, q) in a.iter().zip(&b) {
                let diff = p.abs_diff(*q);
                assert!(diff <= 1, "{name}: pixel ({x}, {y}): {a:?} vs {b:?}");
                differing += usize::from(diff != 0);
                values += 1;
            }
        }
    }
    // Only filtered values within 7/128 of a half code may round the other way.
    assert!(
        differing * 25 < values,
        "{name}: {differing} of {values} channel values differ by one"
    );
}

#[test]
fn copied_texels_are_the_kernels_within_one_code() {
    let dev = common::device();
    let base = Case {
        name: "",
        texture: Format::R8G8B8A8_UNORM,
        tiling: Tiling::Optimal,
        side: [37, 23],
        levels: 1,
        filter: Filter::Linear,
        mipmap: MipmapMode::Nearest,
        address: AddressMode::ClampToEdge,
        target: Format::R8G8B8A8_UNORM,
        target_tiling: Tiling::Optimal,
        scale: [0.17, 0.29],
        offset: [-0.1, 0.05],
        rotate: None,
    };
    let cases = [
        Case {
            name: "bilinear, magnified, clamped, odd size",
            ..base
        },
        Case {
            name: "nearest into a LINEAR BGRA target, mirror-clamped",
            filter: Filter::Nearest,
            target_tiling: Tiling::Linear,
            address: AddressMode::MirrorClampToEdge,
            target: Format::B8G8R8A8_UNORM,
            offset: [-0.6, -0.3],
            ..base
        },
        Case {
            name: "BGRA LINEAR texture, repeated, about one texel per pixel",
            texture: Format::B8G8R8A8_UNORM,
            tiling: Tiling::Linear,
            side: [64, 32],
            address: AddressMode::Repeat,
            scale: [1.1, 0.93],
            offset: [-1.3, 2.2],
            ..base
        },
        Case {
            name: "trilinear, minified, mirrored repeat",
            side: [256, 256],
            levels: 9,
            mipmap: MipmapMode::Linear,
            address: AddressMode::MirroredRepeat,
            scale: [2.7, 1.9],
            offset: [0.3, -0.2],
            ..base
        },
        Case {
            name: "bilinear, rotated, repeated",
            side: [64, 64],
            address: AddressMode::Repeat,
            scale: [0.6, 0.8],
            rotate: Some(0.0023),
            ..base
        },
        Case {
            name: "trilinear, rotated and minified",
            side: [256, 256],
            levels: 9,
            mipmap: MipmapMode::Linear,
            // Not clamped: a clamped corner is one colour over a large area, and a colour
            // that lies near a half code there would make every pixel of it round apart.
            address: AddressMode::Repeat,
            scale: [2.2, 3.4],
            rotate: Some(-0.004),
            ..base
        },
        Case {
            name: "nearest mipmaps, strongly minified",
            side: [256, 128],
            levels: 8,
            mipmap: MipmapMode::Nearest,
            scale: [7.3, 3.1],
            ..base
        },
    ];
    for case in &cases {
        check(dev, case);
    }
}

#[test]
fn the_copy_shader_is_a_sampled_copy_and_its_twin_is_not() {
    let lower = |name: &str, defines: &[(&str, &str)]| {
        let spirv = common::spirv_file(name, defines);
        shader::lower(
            &spirv,
            shader::ir::Stage::Fragment,
            "main",
            &SpecializationInfo::default(),
        )
        .unwrap()
    };
    let copy = shader::sampled_copy::sampled_copy(&lower("sampled_copy.frag", &[]));
    assert!(copy.is_some_and(|c| !c.reads_inputs && c.separable));
    let rotated = lower("sampled_copy.frag", &[("ROTATED", "1")]);
    let rotated = shader::sampled_copy::sampled_copy(&rotated);
    assert!(rotated.is_some_and(|c| !c.separable));
    let twin = lower("sampled_copy_reference.frag", &[]);
    assert!(shader::sampled_copy::sampled_copy(&twin).is_none());
    let bench = lower("bench_textured.frag", &[]);
    assert!(shader::sampled_copy::sampled_copy(&bench).is_some());
}
