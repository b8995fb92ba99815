//! The image helper's integer operations — fetch, storage read/write with format conversion,
//! atomics, queries, texel buffers — and the resolution of image slots against bound
//! descriptors, against references written here from the spec.

#![allow(clippy::unwrap_used)]

mod image_fixture;

use std::sync::Arc;

use image_fixture::*;
use renderer::format::Format;
use renderer::image::{Image, ImageType};
use renderer::sampler::{BufferView, ImageDescriptor, ImageTable, Sampler, ViewType};
use renderer::{
    Buffer, DescriptorSet, DescriptorSource, ExternalMemory, HostMemory, RendererError,
};
use shader::abi::{image_atomic, image_flag, image_op};
use shader::ir::{ImageDim, ImageKind, SamplerBinding};

fn storage(
    img: &Image,
    view_type: ViewType,
    layers: u32,
    dim: ImageDim,
    arrayed: bool,
) -> ImageTable {
    table(
        ImageKind::Storage,
        dim,
        arrayed,
        ImageDescriptor::Image {
            view: view(img, view_type, 1, layers),
            sampler: None,
        },
    )
}

#[test]
fn fetch_reads_levels_and_gives_the_robust_value_out_of_range() {
    let img = image(ImageType::D2, Format::R8G8B8A8_UNORM, [4, 4, 1], 2, 1);
    img.write_texel(0, 0, [3, 1, 0], &[255, 0, 51, 102])
        .unwrap();
    img.write_texel(1, 0, [1, 1, 0], &[0, 255, 0, 255]).unwrap();
    let t = table(
        ImageKind::Sampled,
        ImageDim::D2,
        false,
        ImageDescriptor::Image {
            view: view(&img, ViewType::D2, 2, 1),
            sampler: None,
        },
    );
    let mut req = request(image_op::FETCH, image_flag::LOD, 6, 2);
    let cases: [([i32; 2], i32); 6] = [
        ([3, 1], 0),
        ([1, 1], 1),
        ([4, 0], 0),  // x past the level's width
        ([2, 2], 1),  // past level 1's 2×2
        ([-1, 0], 0), // negative
        ([0, 0], 2),  // no level 2 in the view
    ];
    for (l, (xy, level)) in cases.iter().enumerate() {
        set_int_coords(&mut req, l, xy);
        req.lod[l] = *level as u32;
    }
    let res = call(&t, &req, None);
    assert_close(floats(&res, 0), [1.0, 0.0, 0.2, 0.4], "level 0");
    assert_close(floats(&res, 1), [0.0, 1.0, 0.0, 1.0], "level 1");
    // Out of range: (0, 0, 0, 0) for a format with alpha.
    for l in 2..6 {
        assert_eq!(floats(&res, l), [0.0; 4], "case {l}");
    }

    // A format without alpha reads (0, 0, 0, 1) out of range.
    let r32 = image(ImageType::D2, Format::R32_SFLOAT, [2, 2, 1], 1, 1);
    let t = storage(&r32, ViewType::D2, 1, ImageDim::D2, false);
    let mut req = request(image_op::READ, 0, 1, 2);
    set_int_coords(&mut req, 0, &[5, 0]);
    assert_eq!(floats(&call(&t, &req, None), 0), [0.0, 0.0, 0.0, 1.0]);
}

/// Quantizes like the spec's float → UNORM / SNORM conversions.
fn unorm(v: f32, bits: u32) -> f32 {
    let max = ((1u64 << bits) - 1) as f32;
    (v.clamp(0.0, 1.0) * max).round() / max
}

#[test]
fn storage_writes_convert_to_the_format_and_read_back() {
    let cases: [(Format, [u32; 4], [u32; 4]); 6] = [
        (
            Format::R32_UINT,
            [0xdead_beef, 5, 6, 7],
            [0xdead_beef, 0, 0, 1],
        ),
        (
            Format::R16G16_SINT,
            [(-5i32) as u32, 70000, 1, 2],
            // Integer writes saturate to the component's range.
            [(-5i32) as u32, 32767, 0, 1],
        ),
        (
            Format::R32G32B32A32_SFLOAT,
            [1.5f32, -2.0, 1e30, 0.25].map(f32::to_bits),
            [1.5f32, -2.0, 1e30, 0.25].map(f32::to_bits),
        ),
        (
            Format::R8G8B8A8_UNORM,
            [0.3f32, 1.7, -1.0, 0.5].map(f32::to_bits),
            [unorm(0.3, 8), 1.0, 0.0, unorm(0.5, 8)].map(f32::to_bits),
        ),
        (
            Format::R16_SFLOAT,
            [0.333_333_34f32, 9.0, 9.0, 9.0].map(f32::to_bits),
            [0.333_251_95f32, 0.0, 0.0, 1.0].map(f32::to_bits),
        ),
        (
            Format::A2B10G10R10_UNORM_PACK32,
            [0.5f32, 0.25, 1.0, 0.4].map(f32::to_bits),
            [unorm(0.5, 10), unorm(0.25, 10), 1.0, unorm(0.4, 2)].map(f32::to_bits),
        ),
    ];
    for (format, written, want) in cases {
        let img = image(ImageType::D2, format, [3, 2, 1], 1, 1);
        let t = storage(&img, ViewType::D2, 1, ImageDim::D2, false);
        let mut w = request(image_op::WRITE, 0, 2, 2);
        set_int_coords(&mut w, 0, &[2, 1]);
        set_int_coords(&mut w, 1, &[3, 1]); // outside: dropped
        for (row, &value) in w.texel.iter_mut().zip(&written) {
            row[0] = value;
            row[1] = value;
        }
        call(&t, &w, None);
        let mut r = request(image_op::READ, 0, 6, 2);
        for (l, xy) in [[2, 1], [0, 0], [1, 0], [2, 0], [0, 1], [1, 1]]
            .iter()
            .enumerate()
        {
            set_int_coords(&mut r, l, xy);
        }
        let res = call(&t, &r, None);
        assert_eq!(words(&res, 0), want, "{format:?}");
        // Every other texel is still zero (the dropped write landed nowhere).
        let zero = call(
            &t,
            &{
                let mut z = request(image_op::READ, 0, 1, 2);
                set_int_coords(&mut z, 0, &[9, 9]);
                z
            },
            None,
        );
        for l in 1..6 {
            assert_eq!(words(&res, l), words(&zero, 0), "{format:?} lane {l}");
        }
    }
}

#[test]
fn storage_arrays_and_cubes_address_layers() {
    let img = image(ImageType::D2, Format::R32_UINT, [2, 2, 1], 1, 6);
    let t = storage(&img, ViewType::Cube, 6, ImageDim::Cube, false);
    let mut w = request(image_op::WRITE, 0, 2, 3);
    set_int_coords(&mut w, 0, &[1, 0, 4]);
    set_int_coords(&mut w, 1, &[1, 0, 6]); // no face 6: dropped
    w.texel[0][0] = 44;
    w.texel[0][1] = 66;
    call(&t, &w, None);
    let mut out = [0u8; 4];
    img.read_texel(0, 4, [1, 0, 0], &mut out).unwrap();
    assert_eq!(u32::from_le_bytes(out), 44);
}

#[test]
fn atomics_on_r32_formats_return_old_values_and_combine() {
    let img = image(ImageType::D2, Format::R32_UINT, [2, 2, 1], 1, 1);
    let t = storage(&img, ViewType::D2, 1, ImageDim::D2, false);
    let mut add = request(image_op::ATOMIC, 0, 8, 2);
    add.atomic_op = image_atomic::ADD;
    for l in 0..8 {
        set_int_coords(&mut add, l, &[1, 1]);
        add.texel[0][l] = 1 << l;
    }
    let res = call(&t, &add, None);
    // Lanes run in order: lane l sees the sum of the lanes before it.
    for l in 0..8 {
        assert_eq!(words(&res, l)[0], (1u32 << l) - 1);
    }
    let mut load = request(image_op::ATOMIC, 0, 1, 2);
    load.atomic_op = image_atomic::LOAD;
    set_int_coords(&mut load, 0, &[1, 1]);
    assert_eq!(words(&call(&t, &load, None), 0)[0], 255);

    let mut cas = request(image_op::ATOMIC, 0, 2, 2);
    cas.atomic_op = image_atomic::COMPARE_EXCHANGE;
    set_int_coords(&mut cas, 0, &[1, 1]);
    set_int_coords(&mut cas, 1, &[1, 1]);
    cas.texel = [[7; 16], [255; 16], [0; 16], [0; 16]];
    cas.texel[1][1] = 255; // the second compare sees 7 and fails
    let res = call(&t, &cas, None);
    assert_eq!((words(&res, 0)[0], words(&res, 1)[0]), (255, 7));
    assert_eq!(words(&call(&t, &load, None), 0)[0], 7);

    // Out of range: no write, result 0.
    let mut oob = add;
    oob.lanes = 1;
    oob.mask = 1;
    set_int_coords(&mut oob, 0, &[2, 0]);
    assert_eq!(words(&call(&t, &oob, None), 0)[0], 0);

    let simg = image(ImageType::D2, Format::R32_SINT, [1, 1, 1], 1, 1);
    let st = storage(&simg, ViewType::D2, 1, ImageDim::D2, false);
    for (op, value, want) in [
        (image_atomic::SMIN, -5i32, -5i32),
        (image_atomic::SMAX, 3, 3),
        (image_atomic::UMAX, -1, -1),
        (image_atomic::AND, 0x0f, 0x0f),
        (image_atomic::XOR, 0x0c, 0x03),
        (image_atomic::OR, 0x30, 0x33),
        (image_atomic::SUB, 0x33, 0),
        (image_atomic::EXCHANGE, 42, 42),
    ] {
        let mut r = request(image_op::ATOMIC, 0, 1, 2);
        r.atomic_op = op;
        r.texel[0][0] = value as u32;
        call(&st, &r, None);
        let mut out = [0u8; 4];
        simg.read_texel(0, 0, [0, 0, 0], &mut out).unwrap();
        assert_eq!(i32::from_le_bytes(out), want, "op {op}");
    }

    let fimg = image(ImageType::D2, Format::R32_SFLOAT, [1, 1, 1], 1, 1);
    let ft = storage(&fimg, ViewType::D2, 1, ImageDim::D2, false);
    let mut x = request(image_op::ATOMIC, 0, 1, 2);
    x.atomic_op = image_atomic::EXCHANGE;
    x.texel[0][0] = 2.5f32.to_bits();
    assert_eq!(words(&call(&ft, &x, None), 0)[0], 0);
    x.atomic_op = image_atomic::ADD; // not a float atomic: unchanged
    x.texel[0][0] = 1.0f32.to_bits();
    assert_eq!(f32::from_bits(words(&call(&ft, &x, None), 0)[0]), 2.5);
    let mut out = [0u8; 4];
    fimg.read_texel(0, 0, [0, 0, 0], &mut out).unwrap();
    assert_eq!(f32::from_le_bytes(out), 2.5);
}

#[test]
fn queries_report_the_view() {
    let img = image(ImageType::D2, Format::R8G8B8A8_UNORM, [8, 4, 1], 3, 12);
    let cases: [(ViewType, u32, ImageDim, bool, [u32; 3]); 3] = [
        (ViewType::D2, 1, ImageDim::D2, false, [8, 4, 0]),
        (ViewType::D2Array, 5, ImageDim::D2, true, [8, 4, 5]),
        (ViewType::D2Array, 12, ImageDim::D2, true, [8, 4, 12]),
    ];
    for (vt, layers, dim, arrayed, want) in cases {
        let v = view(&img, vt, 3, layers);
        let t = table(
            ImageKind::Sampled,
            dim,
            arrayed,
            ImageDescriptor::Image {
                view: v,
                sampler: None,
            },
        );
        let mut q = request(image_op::QUERY_SIZE, image_flag::LOD, 3, 0);
        q.lod = [0, 1, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let res = call(&t, &q, None);
        assert_eq!(words(&res, 0)[..3], want, "{vt:?}");
        assert_eq!(words(&res, 1)[..2], [4, 2], "{vt:?} level 1");
        assert_eq!(words(&res, 2), [0; 4], "no level 7");
        let levels = call(&t, &request(image_op::QUERY_LEVELS, 0, 1, 0), None);
        assert_eq!(words(&levels, 0)[0], 3);
        let samples = call(&t, &request(image_op::QUERY_SAMPLES, 0, 1, 0), None);
        assert_eq!(words(&samples, 0)[0], 1);
    }
    let cube = image(ImageType::D2, Format::R8G8B8A8_UNORM, [4, 4, 1], 1, 12);
    let t = table(
        ImageKind::Sampled,
        ImageDim::Cube,
        true,
        ImageDescriptor::Image {
            view: view(&cube, ViewType::CubeArray, 1, 12),
            sampler: None,
        },
    );
    let res = call(&t, &request(image_op::QUERY_SIZE, 0, 1, 0), None);
    assert_eq!(words(&res, 0), [4, 4, 2, 0]);
}

fn texel_buffer(format: Format, bytes: u64, offset: u64, range: u64) -> (Buffer, BufferView) {
    let memory: Arc<dyn ExternalMemory> = Arc::new(HostMemory::new_zeroed(bytes).unwrap());
    let buffer = Buffer::from_external(memory, 0, bytes).unwrap();
    let view = BufferView {
        buffer: buffer.clone(),
        format,
        offset,
        range,
    };
    (buffer, view)
}

#[test]
fn texel_buffers_fetch_write_and_count_whole_elements() {
    // 42 bytes from offset 16 of R16G16 (4 bytes a texel): 10 elements; the last 2 bytes
    // are no element.
    let (buffer, bv) = texel_buffer(Format::R16G16_UINT, 128, 16, 42);
    buffer.write(16 + 4 * 9, &[1, 0, 2, 0]).unwrap();
    let t = table(
        ImageKind::StorageTexelBuffer,
        ImageDim::Buffer,
        false,
        ImageDescriptor::TexelBuffer(bv),
    );
    let mut r = request(image_op::READ, 0, 3, 1);
    set_int_coords(&mut r, 0, &[9]);
    set_int_coords(&mut r, 1, &[10]); // 42 / 4 = 10 elements
    set_int_coords(&mut r, 2, &[-1]);
    let res = call(&t, &r, None);
    assert_eq!(words(&res, 0), [1, 2, 0, 1]);
    assert_eq!(words(&res, 1), [0, 0, 0, 1]);
    assert_eq!(words(&res, 2), [0, 0, 0, 1]);

    let mut w = request(image_op::WRITE, 0, 2, 1);
    set_int_coords(&mut w, 0, &[0]);
    set_int_coords(&mut w, 1, &[10]); // outside the view: dropped
    w.texel[0] = [0x1234; 16];
    w.texel[1] = [0x5678; 16];
    call(&t, &w, None);
    let mut bytes = [0u8; 128];
    buffer.read(0, &mut bytes).unwrap();
    assert_eq!(&bytes[16..20], &[0x34, 0x12, 0x78, 0x56]);
    let mut expected = [0u8; 128];
    expected[16..20].copy_from_slice(&[0x34, 0x12, 0x78, 0x56]);
    expected[52..56].copy_from_slice(&[1, 0, 2, 0]);
    assert_eq!(bytes, expected, "nothing else written");

    let q = call(&t, &request(image_op::QUERY_SIZE, 0, 1, 0), None);
    assert_eq!(words(&q, 0)[0], 10);

    let (_, abv) = texel_buffer(Format::R32_UINT, 64, 0, 64);
    let at = table(
        ImageKind::StorageTexelBuffer,
        ImageDim::Buffer,
        false,
        ImageDescriptor::TexelBuffer(abv),
    );
    let mut a = request(image_op::ATOMIC, 0, 4, 1);
    a.atomic_op = image_atomic::UMAX;
    for (l, v) in [5u32, 9, 3, 7].into_iter().enumerate() {
        set_int_coords(&mut a, l, &[15]);
        a.texel[0][l] = v;
    }
    let res = call(&at, &a, None);
    let olds: Vec<u32> = (0..4).map(|l| words(&res, l)[0]).collect();
    assert_eq!(olds, [0, 5, 9, 9]);
}

fn resolve_error(
    kind: ImageKind,
    dim: ImageDim,
    arrayed: bool,
    descriptor: ImageDescriptor,
) -> RendererError {
    let mut set = DescriptorSet::new();
    set.bind_image(0, 0, descriptor);
    let sets = [&set];
    let source: &[&DescriptorSet] = &sets;
    ImageTable::resolve(
        &[binding(kind, dim, arrayed)],
        &[],
        &source as &dyn DescriptorSource,
    )
    .unwrap_err()
}

#[test]
fn descriptors_of_the_wrong_kind_or_shape_are_refused() {
    let img = image(ImageType::D2, Format::R8G8B8A8_UNORM, [4, 4, 1], 1, 2);
    let d2 = || ImageDescriptor::Image {
        view: view(&img, ViewType::D2, 1, 1),
        sampler: None,
    };
    let (_, bv) = texel_buffer(Format::R32_UINT, 64, 0, 64);
    let errors = [
        resolve_error(
            ImageKind::Sampled,
            ImageDim::D2,
            false,
            ImageDescriptor::TexelBuffer(bv.clone()),
        ),
        resolve_error(ImageKind::UniformTexelBuffer, ImageDim::Buffer, false, d2()),
        resolve_error(ImageKind::CombinedImageSampler, ImageDim::D2, false, d2()),
        resolve_error(ImageKind::Sampled, ImageDim::D2, true, d2()),
        resolve_error(ImageKind::Sampled, ImageDim::D3, false, d2()),
        resolve_error(
            ImageKind::Sampled,
            ImageDim::D1,
            false,
            ImageDescriptor::Image {
                view: view(&img, ViewType::D1, 1, 1),
                sampler: None,
            },
        ),
        resolve_error(
            ImageKind::Sampled,
            ImageDim::D2,
            true,
            ImageDescriptor::Image {
                view: view(&img, ViewType::D2Array, 1, 3), // only 2 layers
                sampler: None,
            },
        ),
    ];
    for e in errors {
        assert!(matches!(e, RendererError::Descriptor { .. }), "{e}");
    }
}

#[test]
fn unbound_slots_are_null_descriptors_and_separate_samplers_resolve() {
    let set = DescriptorSet::new();
    let sets = [&set];
    let source: &[&DescriptorSet] = &sets;
    let t = ImageTable::resolve(
        &[binding(ImageKind::Sampled, ImageDim::D2, false)],
        &[SamplerBinding {
            set: 0,
            binding: 1,
            array_index: 0,
        }],
        &source as &dyn DescriptorSource,
    )
    .unwrap();
    assert!(t.slots()[0].image.is_null());
    assert!(t.samplers()[0].is_null());
    let mut req = request(image_op::SAMPLE, image_flag::LOD, 2, 2);
    req.mask = 0b01;
    let res = call(&t, &req, Some(0));
    assert_eq!(words(&res, 0), [0; 4]);
    assert_eq!(
        words(&res, 1),
        [0xdead_beef; 4],
        "lanes outside the mask are untouched"
    );

    // A sampled image with a separate sampler.
    let img = image(ImageType::D2, Format::R8G8B8A8_UNORM, [1, 1, 1], 1, 1);
    img.write_texel(0, 0, [0, 0, 0], &[255, 0, 0, 255]).unwrap();
    let mut set = DescriptorSet::new();
    set.bind_image(
        0,
        0,
        ImageDescriptor::Image {
            view: view(&img, ViewType::D2, 1, 1),
            sampler: None,
        },
    );
    set.bind_sampler(1, 0, Sampler::new(sampler_state()).unwrap());
    let sets = [&set];
    let source: &[&DescriptorSet] = &sets;
    let t = ImageTable::resolve(
        &[binding(ImageKind::Sampled, ImageDim::D2, false)],
        &[SamplerBinding {
            set: 0,
            binding: 1,
            array_index: 0,
        }],
        &source as &dyn DescriptorSource,
    )
    .unwrap();
    let res = call(
        &t,
        &request(image_op::SAMPLE, image_flag::LOD, 1, 2),
        Some(0),
    );
    assert_eq!(floats(&res, 0), [1.0, 0.0, 0.0, 1.0]);
    assert!(t.resources().image_op.is_some());
    assert!(ImageTable::none().resources().image_op.is_none());
}
