//! Images at the renderer level: every format's texel encoding against references written
//! here, and clears and copies over 1D/2D/3D, layers, mips and both tilings, read back
//! through LINEAR memory and compared texel by texel, with canaries around every window.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use renderer::format::texel::{pack_stencil, unpack_stencil};
use renderer::format::{
    aspect, pack_color, pack_depth, unpack_color, unpack_depth, ColorValue, Format, NumericClass,
};
use renderer::image::copy::{BufferImageCopy, ImageCopy};
use renderer::image::{
    Image, ImageDesc, ImageError, ImageType, SubresourceLayers, SubresourceRange, Tiling, REMAINING,
};
use renderer::{Buffer, ExternalMemory, HostMemory};

fn pack(format: Format, v: ColorValue) -> Vec<u8> {
    let mut t = vec![0u8; format.texel_size() as usize];
    pack_color(format, v, &mut t).unwrap();
    t
}

fn unpack(format: Format, t: &[u8]) -> ColorValue {
    unpack_color(format, t).unwrap()
}

#[test]
fn half_floats_match_known_bit_patterns_both_ways() {
    let table: [(f32, u16); 12] = [
        (0.0, 0x0000),
        (-0.0, 0x8000),
        (1.0, 0x3c00),
        (-2.0, 0xc000),
        (0.5, 0x3800),
        (65504.0, 0x7bff),
        (6.103_515_6e-5, 0x0400), // 2^-14, smallest normal
        (5.960_464_5e-8, 0x0001), // 2^-24, smallest subnormal
        (f32::INFINITY, 0x7c00),
        (f32::NEG_INFINITY, 0xfc00),
        (0.333_251_95, 0x3555),
        (1e6, 0x7c00), // overflow rounds to infinity
    ];
    for (value, bits) in table {
        let t = pack(
            Format::R16_SFLOAT,
            ColorValue::Float([value, 0.0, 0.0, 0.0]),
        );
        assert_eq!(u16::from_le_bytes([t[0], t[1]]), bits, "{value}");
        if bits != 0x7c00 || value.is_infinite() {
            let ColorValue::Float(v) = unpack(Format::R16_SFLOAT, &t) else {
                panic!()
            };
            assert_eq!(v[0].to_bits(), value.to_bits(), "{bits:#x}");
        }
    }
    let t = pack(
        Format::R16_SFLOAT,
        ColorValue::Float([f32::NAN, 0.0, 0.0, 0.0]),
    );
    let h = u16::from_le_bytes([t[0], t[1]]);
    assert_eq!(h & 0x7c00, 0x7c00);
    assert_ne!(h & 0x3ff, 0);
}

#[test]
fn srgb_codes_decode_by_the_spec_formula_and_round_trip() {
    for code in 0..=255u8 {
        let c = f64::from(code) / 255.0;
        let linear = if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        };
        let t = [code, code, code, code];
        let ColorValue::Float(v) = unpack(Format::R8G8B8A8_SRGB, &t) else {
            panic!()
        };
        assert!((f64::from(v[0]) - linear).abs() < 1e-6, "code {code}");
        assert!((f64::from(v[3]) - c).abs() < 1e-6, "alpha is linear");
        assert_eq!(
            pack(Format::R8G8B8A8_SRGB, ColorValue::Float(v)),
            t.to_vec()
        );
        assert_eq!(
            pack(Format::B8G8R8A8_SRGB, ColorValue::Float(v)),
            t.to_vec()
        );
    }
}

#[test]
fn norm_formats_round_trip_every_code_and_clamp() {
    for code in 0..=255u8 {
        let ColorValue::Float(v) = unpack(Format::R8_UNORM, &[code]) else {
            panic!()
        };
        assert_eq!(f64::from(v[0]), (f64::from(code) / 255.0) as f32 as f64);
        assert_eq!(pack(Format::R8_UNORM, ColorValue::Float(v)), vec![code]);
        if code != 0x80 {
            let ColorValue::Float(s) = unpack(Format::R8_SNORM, &[code]) else {
                panic!()
            };
            assert_eq!(pack(Format::R8_SNORM, ColorValue::Float(s)), vec![code]);
        }
    }
    for code in (0..=65535u16).step_by(257) {
        let t = code.to_le_bytes();
        let ColorValue::Float(v) = unpack(Format::R16_UNORM, &t) else {
            panic!()
        };
        assert_eq!(pack(Format::R16_UNORM, ColorValue::Float(v)), t.to_vec());
    }
    assert_eq!(
        pack(Format::R8_UNORM, ColorValue::Float([0.5, 0.0, 0.0, 0.0])),
        vec![128]
    );
    assert_eq!(
        pack(Format::R8_UNORM, ColorValue::Float([2.0, 0.0, 0.0, 0.0])),
        vec![255]
    );
    assert_eq!(
        pack(Format::R8_UNORM, ColorValue::Float([-1.0, 0.0, 0.0, 0.0])),
        vec![0]
    );
    assert_eq!(
        pack(Format::R8_SNORM, ColorValue::Float([-3.0, 0.0, 0.0, 0.0])),
        vec![0x81]
    );
    assert_eq!(
        unpack(Format::R8_SNORM, &[0x80]),
        ColorValue::Float([-1.0, 0.0, 0.0, 1.0])
    );
    assert_eq!(
        pack(
            Format::R16G16_SNORM,
            ColorValue::Float([1.0, -1.0, 0.0, 0.0])
        ),
        vec![0xff, 0x7f, 0x01, 0x80]
    );
}

#[test]
fn integer_formats_saturate_and_sign_extend() {
    assert_eq!(
        pack(Format::R8_UINT, ColorValue::Uint([300, 0, 0, 0])),
        vec![255]
    );
    assert_eq!(
        pack(Format::R8G8_SINT, ColorValue::Sint([-200, 200, 0, 0])),
        vec![0x80, 0x7f]
    );
    assert_eq!(
        unpack(Format::R8G8_SINT, &[0x80, 0xff]),
        ColorValue::Sint([-128, -1, 0, 1])
    );
    assert_eq!(
        unpack(Format::R16_UINT, &[0xff, 0xff]),
        ColorValue::Uint([65535, 0, 0, 1])
    );
    let t = pack(
        Format::R32G32B32A32_SINT,
        ColorValue::Sint([i32::MIN, -1, 0, i32::MAX]),
    );
    assert_eq!(
        unpack(Format::R32G32B32A32_SINT, &t),
        ColorValue::Sint([i32::MIN, -1, 0, i32::MAX])
    );
}

#[test]
fn packed_formats_place_components_at_their_bits() {
    let t = pack(
        Format::A2B10G10R10_UNORM_PACK32,
        ColorValue::Float([1.0, 0.0, 1.0, 1.0 / 3.0]),
    );
    assert_eq!(
        u32::from_le_bytes(t.try_into().unwrap()),
        0x3ff | 0x3ff << 20 | 1 << 30
    );
    // 1.0 is exponent 15, mantissa 0 in both the 11- and 10-bit unsigned floats.
    let t = pack(
        Format::B10G11R11_UFLOAT_PACK32,
        ColorValue::Float([1.0, 0.5, -4.0, 0.0]),
    );
    assert_eq!(
        u32::from_le_bytes(t.clone().try_into().unwrap()),
        15 << 6 | (14 << 6) << 11
    );
    assert_eq!(
        unpack(Format::B10G11R11_UFLOAT_PACK32, &t),
        ColorValue::Float([1.0, 0.5, 0.0, 1.0])
    );
}

#[test]
fn every_color_format_round_trips_representable_values() {
    for &f in Format::ALL.iter().filter(|f| f.is_color()) {
        let class = f.info().class;
        let value = match class {
            NumericClass::Uint => ColorValue::Uint([0, 1, 127, 3]),
            NumericClass::Sint => ColorValue::Sint([-1, 1, 127, -128]),
            NumericClass::Sfloat => ColorValue::Float([1.5, -2.0, 0.25, 1.0]),
            NumericClass::Ufloat => ColorValue::Float([1.5, 2.0, 0.25, 1.0]),
            NumericClass::Snorm => ColorValue::Float([1.0, -1.0, 0.0, 1.0]),
            _ => ColorValue::Float([1.0, 0.0, 1.0, 1.0]),
        };
        let back = unpack(f, &pack(f, value));
        let channels = match f.info().encoding {
            renderer::format::Encoding::Array { channels, .. } => usize::from(channels),
            renderer::format::Encoding::B10G11R11 => 3,
            _ => 4,
        };
        let same = match (value, back) {
            (ColorValue::Float(a), ColorValue::Float(b)) => a[..channels] == b[..channels],
            (ColorValue::Uint(a), ColorValue::Uint(b)) => a[..channels] == b[..channels],
            (ColorValue::Sint(a), ColorValue::Sint(b)) => a[..channels] == b[..channels],
            _ => false,
        };
        assert!(same, "{f:?}: {value:?} came back as {back:?}");
    }
}

#[test]
fn depth_formats_encode_unorm_and_float_depth() {
    let mut t = [0u8; 2];
    pack_depth(Format::D16_UNORM, 0.5, &mut t).unwrap();
    assert_eq!(u16::from_le_bytes(t), 32768);
    let mut t = [0u8; 4];
    pack_depth(Format::D24_UNORM_S8_UINT, 1.0 / 3.0, &mut t).unwrap();
    assert_eq!(u32::from_le_bytes(t), 0x55_5555);
    assert_eq!(
        unpack_depth(Format::D24_UNORM_S8_UINT, &t).unwrap(),
        (f64::from(0x55_5555) / f64::from(0xff_ffff)) as f32
    );
    let mut t = [0u8; 8];
    pack_depth(Format::D32_SFLOAT_S8_UINT, 0.25, &mut t).unwrap();
    pack_stencil(Format::D32_SFLOAT_S8_UINT, 7, &mut t).unwrap();
    assert_eq!(t, [0, 0, 0x80, 0x3e, 7, 0, 0, 0]);
    assert_eq!(unpack_stencil(Format::D32_SFLOAT_S8_UINT, &t).unwrap(), 7);
}

// ---- images ---------------------------------------------------------------------------

const CANARY: u8 = 0xcd;

/// Memory of `len` canary bytes around a window at `at`.
fn canary_memory(len: u64) -> Arc<dyn ExternalMemory> {
    let m = HostMemory::new_zeroed(len).unwrap();
    m.write(0, &vec![CANARY; len as usize]).unwrap();
    Arc::new(m)
}

/// An image bound at offset 64 of memory with 64 canary bytes after it.
fn image_in_canaries(desc: ImageDesc) -> (Image, Arc<dyn ExternalMemory>) {
    let size = renderer::image::ImageLayout::new(&desc).unwrap().size();
    let memory = canary_memory(size + 128);
    let img = Image::bind(desc, memory.clone(), 64).unwrap();
    // Start from zeroed image bytes so only the outside holds canaries.
    let zero = vec![0u8; size as usize];
    Buffer::from_external(memory.clone(), 64, size)
        .unwrap()
        .write(0, &zero)
        .unwrap();
    (img, memory)
}

fn assert_canaries(memory: &Arc<dyn ExternalMemory>, image_size: u64) {
    let all = Buffer::from_external(memory.clone(), 0, memory.len() as u64).unwrap();
    let mut head = [0u8; 64];
    all.read(0, &mut head).unwrap();
    let mut tail = [0u8; 64];
    all.read(64 + image_size, &mut tail).unwrap();
    assert!(
        head.iter().chain(&tail).all(|&b| b == CANARY),
        "a canary was overwritten"
    );
}

fn desc(
    ty: ImageType,
    format: Format,
    extent: [u32; 3],
    mips: u32,
    layers: u32,
    tiling: Tiling,
) -> ImageDesc {
    ImageDesc {
        image_type: ty,
        format,
        extent,
        mip_levels: mips,
        array_layers: layers,
        tiling,
    }
}

fn layers(mask: u32, level: u32, base: u32, count: u32) -> SubresourceLayers {
    SubresourceLayers {
        aspect_mask: mask,
        mip_level: level,
        base_array_layer: base,
        layer_count: count,
    }
}

fn whole_level(img: &Image, level: u32, mask: u32) -> BufferImageCopy {
    let [w, h, d] = img.desc().mip_extent(level);
    BufferImageCopy {
        buffer_offset: 0,
        buffer_row_length: 0,
        buffer_image_height: 0,
        image_subresource: layers(mask, level, 0, img.desc().array_layers),
        image_offset: [0; 3],
        image_extent: [w, h, d],
    }
}

fn host_buffer(len: u64) -> Buffer {
    Buffer::from_external(Arc::new(HostMemory::new_zeroed(len).unwrap()), 0, len).unwrap()
}

/// Reads one texel of a LINEAR image straight from its memory through
/// vkGetImageSubresourceLayout's pitches, as an app mapping the memory would.
fn linear_texel(
    img: &Image,
    memory: &Arc<dyn ExternalMemory>,
    level: u32,
    layer: u32,
    [x, y, z]: [u32; 3],
) -> Vec<u8> {
    let s = img.layout().subresource(level, layer).unwrap();
    let ts = img.format().texel_size();
    let at = 64
        + s.offset
        + u64::from(z) * s.depth_pitch
        + u64::from(y) * s.row_pitch
        + u64::from(x) * ts;
    let mut t = vec![0u8; ts as usize];
    Buffer::from_external(memory.clone(), 0, memory.len() as u64)
        .unwrap()
        .read(at, &mut t)
        .unwrap();
    t
}

/// Uploads a distinct pattern into every level of `img` (optimal), copies each level into a
/// LINEAR twin, and checks the twin's memory texel by texel against the pattern.
fn upload_copy_and_compare(ty: ImageType, extent: [u32; 3], mips: u32, layer_count: u32) {
    let format = Format::R32_UINT;
    let opt_desc = desc(ty, format, extent, mips, layer_count, Tiling::Optimal);
    let (opt, opt_mem) = image_in_canaries(opt_desc);
    let (lin, lin_mem) = image_in_canaries(ImageDesc {
        tiling: Tiling::Linear,
        ..opt_desc
    });
    let value = |level: u32, layer: u32, [x, y, z]: [u32; 3]| {
        level << 28 | layer << 24 | z << 16 | y << 8 | x
    };
    for level in 0..mips {
        let [w, h, d] = opt_desc.mip_extent(level);
        let mut words = Vec::new();
        for layer in 0..layer_count {
            for z in 0..d {
                for y in 0..h {
                    for x in 0..w {
                        words.push(value(level, layer, [x, y, z]));
                    }
                }
            }
        }
        let buffer = host_buffer(words.len() as u64 * 4);
        buffer.write_slice(0, &words).unwrap();
        opt.copy_from_buffer(&buffer, &[whole_level(&opt, level, aspect::COLOR)])
            .unwrap();
        let region = ImageCopy {
            src_subresource: layers(aspect::COLOR, level, 0, layer_count),
            src_offset: [0; 3],
            dst_subresource: layers(aspect::COLOR, level, 0, layer_count),
            dst_offset: [0; 3],
            extent: [w, h, d],
        };
        lin.copy_from_image(&opt, &[region]).unwrap();
        for layer in 0..layer_count {
            for z in 0..d {
                for y in 0..h {
                    for x in 0..w {
                        let t = linear_texel(&lin, &lin_mem, level, layer, [x, y, z]);
                        assert_eq!(
                            u32::from_le_bytes(t.try_into().unwrap()),
                            value(level, layer, [x, y, z])
                        );
                    }
                }
            }
        }
        // And back out through a buffer.
        let out = host_buffer(words.len() as u64 * 4);
        opt.copy_to_buffer(&out, &[whole_level(&opt, level, aspect::COLOR)])
            .unwrap();
        assert_eq!(out.read_vec::<u32>(0, words.len()).unwrap(), words);
    }
    assert_canaries(&opt_mem, opt.layout().size());
    assert_canaries(&lin_mem, lin.layout().size());
}

#[test]
fn copies_round_trip_over_1d_2d_3d_layers_and_mips() {
    upload_copy_and_compare(ImageType::D1, [13, 1, 1], 4, 3);
    upload_copy_and_compare(ImageType::D2, [9, 7, 1], 4, 2);
    upload_copy_and_compare(ImageType::D2, [64, 64, 1], 7, 1);
    upload_copy_and_compare(ImageType::D3, [5, 6, 7], 3, 1);
}

#[test]
fn clear_color_hits_only_the_named_subresources() {
    for tiling in [Tiling::Optimal, Tiling::Linear] {
        let d = desc(
            ImageType::D2,
            Format::R8G8B8A8_SRGB,
            [6, 5, 1],
            3,
            3,
            tiling,
        );
        let (img, memory) = image_in_canaries(d);
        let raw = [0.5f32, 0.0, 1.0, 0.5].map(f32::to_bits);
        let value = ColorValue::from_clear_words(Format::R8G8B8A8_SRGB, raw);
        let range = SubresourceRange {
            aspect_mask: aspect::COLOR,
            base_mip_level: 1,
            level_count: REMAINING,
            base_array_layer: 1,
            layer_count: 1,
        };
        img.clear_color(value, &[range]).unwrap();
        for level in 0..3 {
            let [w, h, _] = d.mip_extent(level);
            for layer in 0..3 {
                for y in 0..h {
                    for x in 0..w {
                        let mut t = [0u8; 4];
                        img.read_texel(level, layer, [x, y, 0], &mut t).unwrap();
                        let want = if level >= 1 && layer == 1 {
                            [188, 0, 255, 128]
                        } else {
                            [0; 4]
                        };
                        assert_eq!(t, want, "{tiling:?} level {level} layer {layer} ({x},{y})");
                        if tiling == Tiling::Linear {
                            assert_eq!(
                                linear_texel(&img, &memory, level, layer, [x, y, 0]),
                                want.to_vec()
                            );
                        }
                    }
                }
            }
        }
        assert_canaries(&memory, img.layout().size());
    }
}

#[test]
fn clear_color_on_3d_and_integer_images_uses_the_format_class() {
    let d = desc(
        ImageType::D3,
        Format::R16G16_SINT,
        [3, 3, 4],
        2,
        1,
        Tiling::Optimal,
    );
    let (img, memory) = image_in_canaries(d);
    let value = ColorValue::from_clear_words(d.format, [(-5i32) as u32, 70000, 0, 0]);
    let all = SubresourceRange {
        aspect_mask: aspect::COLOR,
        base_mip_level: 0,
        level_count: REMAINING,
        base_array_layer: 0,
        layer_count: REMAINING,
    };
    img.clear_color(value, &[all]).unwrap();
    let mut t = [0u8; 4];
    img.read_texel(1, 0, [0, 0, 1], &mut t).unwrap();
    assert_eq!(unpack(d.format, &t), ColorValue::Sint([-5, 32767, 0, 1]));
    assert!(img
        .clear_color(ColorValue::Float([0.0; 4]), &[all])
        .is_err());
    assert_canaries(&memory, img.layout().size());
}

#[test]
fn depth_stencil_aspects_copy_in_their_buffer_encodings() {
    let d = desc(
        ImageType::D2,
        Format::D24_UNORM_S8_UINT,
        [4, 3, 1],
        1,
        1,
        Tiling::Optimal,
    );
    let (img, memory) = image_in_canaries(d);
    let range = SubresourceRange {
        aspect_mask: aspect::DEPTH | aspect::STENCIL,
        base_mip_level: 0,
        level_count: 1,
        base_array_layer: 0,
        layer_count: 1,
    };
    img.clear_depth_stencil(1.0, 0x42, &[range]).unwrap();
    let depth = host_buffer(48);
    img.copy_to_buffer(&depth, &[whole_level(&img, 0, aspect::DEPTH)])
        .unwrap();
    assert!(depth
        .read_vec::<u32>(0, 12)
        .unwrap()
        .iter()
        .all(|&w| w == 0x00ff_ffff));
    // Upload stencil bytes; depth must survive.
    let stencil = host_buffer(12);
    stencil.write(0, &(0..12u8).collect::<Vec<_>>()).unwrap();
    img.copy_from_buffer(&stencil, &[whole_level(&img, 0, aspect::STENCIL)])
        .unwrap();
    let mut t = [0u8; 4];
    img.read_texel(0, 0, [1, 2, 0], &mut t).unwrap();
    assert_eq!(u32::from_le_bytes(t), 9 << 24 | 0x00ff_ffff);
    // Both aspects in one buffer region are refused (VUID-VkBufferImageCopy-aspectMask-00212).
    assert!(matches!(
        img.copy_to_buffer(
            &depth,
            &[whole_level(&img, 0, aspect::DEPTH | aspect::STENCIL)]
        ),
        Err(ImageError::InvalidAspect { .. })
    ));
    // D32S8 depth copies as 4-byte floats.
    let d32 = Image::new_host(desc(
        ImageType::D2,
        Format::D32_SFLOAT_S8_UINT,
        [2, 2, 1],
        1,
        1,
        Tiling::Linear,
    ))
    .unwrap();
    img.clear_depth_stencil(0.0, 0, &[range]).unwrap();
    d32.clear_depth_stencil(0.75, 3, &[range]).unwrap();
    let out = host_buffer(16);
    d32.copy_to_buffer(&out, &[whole_level(&d32, 0, aspect::DEPTH)])
        .unwrap();
    assert_eq!(out.read_vec::<f32>(0, 4).unwrap(), vec![0.75; 4]);
    assert_canaries(&memory, img.layout().size());
}

#[test]
fn buffer_row_length_and_image_height_stride_the_buffer() {
    let img = Image::new_host(desc(
        ImageType::D2,
        Format::R8_UINT,
        [8, 8, 1],
        1,
        2,
        Tiling::Optimal,
    ))
    .unwrap();
    // Buffer rows of 5 texels, slices of 4 rows; copy a 3×2 box at (2,5) of layers 0..2.
    let buffer = host_buffer(64);
    buffer.write(0, &(0..64u8).collect::<Vec<_>>()).unwrap();
    let region = BufferImageCopy {
        buffer_offset: 3,
        buffer_row_length: 5,
        buffer_image_height: 4,
        image_subresource: layers(aspect::COLOR, 0, 0, 2),
        image_offset: [2, 5, 0],
        image_extent: [3, 2, 1],
    };
    img.copy_from_buffer(&buffer, &[region]).unwrap();
    let mut t = [0u8; 1];
    for layer in 0..2u32 {
        for y in 0..2u32 {
            for x in 0..3u32 {
                img.read_texel(0, layer, [2 + x, 5 + y, 0], &mut t).unwrap();
                assert_eq!(u32::from(t[0]), 3 + layer * 20 + y * 5 + x);
            }
        }
    }
    img.read_texel(0, 0, [1, 5, 0], &mut t).unwrap();
    assert_eq!(t[0], 0);
}

#[test]
fn array_layers_copy_into_3d_slices() {
    let src = Image::new_host(desc(
        ImageType::D2,
        Format::R32_SFLOAT,
        [4, 4, 1],
        1,
        3,
        Tiling::Optimal,
    ))
    .unwrap();
    let dst = Image::new_host(desc(
        ImageType::D3,
        Format::R32_UINT,
        [4, 4, 4],
        1,
        1,
        Tiling::Linear,
    ))
    .unwrap();
    for layer in 0..3 {
        let r = SubresourceRange {
            aspect_mask: aspect::COLOR,
            base_mip_level: 0,
            level_count: 1,
            base_array_layer: layer,
            layer_count: 1,
        };
        src.clear_color(ColorValue::Float([layer as f32 + 1.0, 0.0, 0.0, 0.0]), &[r])
            .unwrap();
    }
    let region = ImageCopy {
        src_subresource: layers(aspect::COLOR, 0, 0, 3),
        src_offset: [0; 3],
        dst_subresource: layers(aspect::COLOR, 0, 0, 1),
        dst_offset: [0, 0, 1],
        extent: [4, 4, 3],
    };
    dst.copy_from_image(&src, &[region]).unwrap();
    for z in 0..4u32 {
        let mut t = [0u8; 4];
        dst.read_texel(0, 0, [3, 3, z], &mut t).unwrap();
        let want = if z == 0 { 0 } else { (z as f32).to_bits() };
        assert_eq!(u32::from_le_bytes(t), want, "slice {z}");
    }
}

#[test]
fn out_of_range_regions_are_errors_and_write_nothing() {
    let d = desc(
        ImageType::D2,
        Format::R8G8B8A8_UNORM,
        [8, 8, 1],
        2,
        2,
        Tiling::Optimal,
    );
    let (img, memory) = image_in_canaries(d);
    let buffer = host_buffer(512);
    buffer.write(0, &[0xee; 512]).unwrap();
    let good = whole_level(&img, 0, aspect::COLOR);
    let bad = [
        BufferImageCopy {
            image_offset: [1, 0, 0],
            ..good
        },
        BufferImageCopy {
            image_offset: [-1, 0, 0],
            ..good
        },
        BufferImageCopy {
            image_extent: [8, 8, 2],
            ..good
        },
        BufferImageCopy {
            image_extent: [0, 8, 1],
            ..good
        },
        BufferImageCopy {
            image_subresource: layers(aspect::COLOR, 2, 0, 1),
            ..good
        },
        BufferImageCopy {
            image_subresource: layers(aspect::COLOR, 0, 1, 2),
            ..good
        },
        BufferImageCopy {
            image_subresource: layers(aspect::COLOR, 0, u32::MAX, 2),
            ..good
        },
        BufferImageCopy {
            image_subresource: layers(aspect::DEPTH, 0, 0, 1),
            ..good
        },
        BufferImageCopy {
            buffer_offset: 2,
            ..good
        },
        BufferImageCopy {
            buffer_offset: 4,
            ..good
        }, // 512 bytes from 4 overrun the buffer
        BufferImageCopy {
            buffer_row_length: 7,
            ..good
        },
        BufferImageCopy {
            buffer_row_length: u32::MAX,
            buffer_image_height: u32::MAX,
            ..good
        },
        BufferImageCopy {
            buffer_offset: u64::MAX - 3,
            ..good
        },
    ];
    for region in bad {
        // A valid region first: the whole command must be refused before either is applied.
        assert!(
            img.copy_from_buffer(&buffer, &[whole_level(&img, 1, aspect::COLOR), region])
                .is_err(),
            "{region:?}"
        );
        assert!(
            img.copy_to_buffer(&buffer, &[region]).is_err(),
            "{region:?}"
        );
    }
    let mut t = [0u8; 4];
    img.read_texel(1, 0, [0, 0, 0], &mut t).unwrap();
    assert_eq!(t, [0; 4], "a refused copy wrote");
    assert!(buffer
        .read_vec::<u8>(0, 512)
        .unwrap()
        .iter()
        .all(|&b| b == 0xee));
    let other = Image::new_host(desc(
        ImageType::D2,
        Format::R16_UNORM,
        [8, 8, 1],
        1,
        1,
        Tiling::Optimal,
    ))
    .unwrap();
    let region = ImageCopy {
        src_subresource: layers(aspect::COLOR, 0, 0, 1),
        src_offset: [0; 3],
        dst_subresource: layers(aspect::COLOR, 0, 0, 1),
        dst_offset: [0; 3],
        extent: [8, 8, 1],
    };
    assert!(matches!(
        img.copy_from_image(&other, &[region]),
        Err(ImageError::IncompatibleFormats { .. })
    ));
    let wide = ImageCopy {
        dst_offset: [4, 0, 0],
        ..region
    };
    let same = Image::new_host(d).unwrap();
    assert!(img.copy_from_image(&same, &[wide]).is_err());
    assert_canaries(&memory, img.layout().size());
}
