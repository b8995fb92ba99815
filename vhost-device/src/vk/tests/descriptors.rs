//! Samplers, buffer views and every descriptor type through encoded streams: creation rules,
//! layouts with immutable samplers, writes and copies with their valid-usage checks, and the
//! device's `DescriptorSource` resolving what a draw or dispatch would read.

use protocol::format::{aspect, Format};
use protocol::sampler::{DescriptorImageInfo, SamplerCreateInfo};
use protocol::stream::*;
use renderer::sampler::{AddressMode, Filter, ImageDescriptor, ViewType};
use renderer::DescriptorSource;

use super::super::guest::GuestScope;
use super::super::image::usage as image_usage;
use super::super::submit::{BoundDescriptors, BoundSet};
use super::super::MAX_BOUND_DESCRIPTOR_SETS;
use super::images::{create_image, image_info, view};
use super::*;

const TEXEL_BUFFER: u64 = 1;
const IMAGE: u64 = 2;
const VIEW: u64 = 3;
/// An image (and its view) with TRANSFER_DST usage only.
const PLAIN_IMAGE: u64 = 4;
const PLAIN_VIEW: u64 = 5;
const LINEAR: u64 = 6;
const NEAREST: u64 = 7;
const STORAGE_TEXELS: u64 = 8;
/// A buffer with only UNIFORM_TEXEL_BUFFER usage, and a view of it.
const UNIFORM_ONLY_BUFFER: u64 = 9;
const UNIFORM_TEXELS: u64 = 10;
const LAYOUT: u64 = 20;
const SET: u64 = 22;
const OTHER_SET: u64 = 23;

const STAGES: u32 = 0x30;
const FRAGMENT: u32 = 0x10;

fn sampler_info(filter: u32, address_mode: u32) -> SamplerCreateInfo {
    SamplerCreateInfo {
        flags: 0,
        mag_filter: filter,
        min_filter: filter,
        mipmap_mode: 0,
        address_modes: [address_mode; 3],
        mip_lod_bias: 0.0,
        anisotropy_enable: false,
        max_anisotropy: 1.0,
        compare_enable: false,
        compare_op: 0,
        min_lod: 0.0,
        max_lod: 4.0,
        border_color: 0,
        unnormalized_coordinates: false,
    }
}

fn buffer_view(id: u64, buffer: u64, format: Format) -> Command {
    CreateBufferView {
        id,
        buffer,
        format: format.vk(),
        offset: 0,
        range: WHOLE_SIZE,
    }
    .into()
}

/// Buffers, images, views, samplers and buffer views the tests name.
fn objects() -> Vec<Command> {
    let texel_usage = usage::UNIFORM_TEXEL_BUFFER | usage::STORAGE_TEXEL_BUFFER;
    let mut cmds: Vec<Command> = vec![
        CreateBuffer {
            id: TEXEL_BUFFER,
            size: 4096,
            usage: texel_usage,
        }
        .into(),
        BindBufferMemory {
            buffer: TEXEL_BUFFER,
            memory: at(MEMORY, 0),
        }
        .into(),
        CreateBuffer {
            id: UNIFORM_ONLY_BUFFER,
            size: 4096,
            usage: usage::UNIFORM_TEXEL_BUFFER,
        }
        .into(),
        BindBufferMemory {
            buffer: UNIFORM_ONLY_BUFFER,
            memory: at(MEMORY, 4096),
        }
        .into(),
    ];
    let all = image_usage::SAMPLED | image_usage::STORAGE | image_usage::INPUT_ATTACHMENT;
    let rgba8 = Format::R8G8B8A8_UNORM;
    cmds.extend(create_image(
        IMAGE,
        image_info(rgba8, [8, 8], 0, all),
        16384,
    ));
    cmds.push(view(VIEW, IMAGE, rgba8, aspect::COLOR));
    let plain = image_info(rgba8, [8, 8], 0, image_usage::TRANSFER_DST);
    cmds.extend(create_image(PLAIN_IMAGE, plain, 32768));
    cmds.push(view(PLAIN_VIEW, PLAIN_IMAGE, rgba8, aspect::COLOR));
    cmds.extend([
        CreateSampler {
            id: LINEAR,
            info: sampler_info(1, 0),
        }
        .into(),
        CreateSampler {
            id: NEAREST,
            info: sampler_info(0, 2),
        }
        .into(),
        buffer_view(STORAGE_TEXELS, TEXEL_BUFFER, Format::R32_UINT),
        buffer_view(UNIFORM_TEXELS, UNIFORM_ONLY_BUFFER, Format::R8G8B8A8_UNORM),
    ]);
    cmds
}

fn binding(binding: u32, ty: u32, count: u32, immutable: Vec<u64>) -> DescriptorSetLayoutBinding {
    DescriptorSetLayoutBinding {
        binding,
        descriptor_type: ty,
        count,
        stages: if ty == descriptor_type::INPUT_ATTACHMENT {
            FRAGMENT
        } else {
            STAGES
        },
        immutable_samplers: immutable,
    }
}

/// Bindings 0..=9: two samplers, a combined image sampler, a sampled image, a storage image,
/// uniform and storage texel buffers, a uniform buffer, an input attachment, then a combined
/// image sampler and a sampler with immutable samplers (NEAREST and LINEAR).
fn every_type_layout() -> Command {
    use descriptor_type as t;
    CreateDescriptorSetLayout {
        id: LAYOUT,
        bindings: vec![
            binding(0, t::SAMPLER, 2, vec![]),
            binding(1, t::COMBINED_IMAGE_SAMPLER, 1, vec![]),
            binding(2, t::SAMPLED_IMAGE, 1, vec![]),
            binding(3, t::STORAGE_IMAGE, 1, vec![]),
            binding(4, t::UNIFORM_TEXEL_BUFFER, 1, vec![]),
            binding(5, t::STORAGE_TEXEL_BUFFER, 1, vec![]),
            binding(6, t::UNIFORM_BUFFER, 1, vec![]),
            binding(7, t::INPUT_ATTACHMENT, 1, vec![]),
            binding(8, t::COMBINED_IMAGE_SAMPLER, 1, vec![NEAREST]),
            binding(9, t::SAMPLER, 1, vec![LINEAR]),
        ],
    }
    .into()
}

fn image(sampler: u64, image_view: u64) -> DescriptorImageInfo {
    DescriptorImageInfo {
        sampler,
        image_view,
        image_layout: 5,
    }
}

fn write_images(binding: u32, ty: u32, images: Vec<DescriptorImageInfo>) -> Command {
    WriteDescriptorImages {
        set: SET,
        binding,
        array_element: 0,
        descriptor_type: ty,
        images,
    }
    .into()
}

fn write_texels(binding: u32, ty: u32, views: Vec<u64>) -> Command {
    WriteDescriptorTexelBuffers {
        set: SET,
        binding,
        array_element: 0,
        descriptor_type: ty,
        views,
    }
    .into()
}

/// Every binding of the layout written (the immutable ones need nothing but the view).
fn writes() -> Vec<Command> {
    use descriptor_type as t;
    vec![
        write_images(0, t::SAMPLER, vec![image(LINEAR, 0), image(NEAREST, 0)]),
        write_images(1, t::COMBINED_IMAGE_SAMPLER, vec![image(LINEAR, VIEW)]),
        write_images(2, t::SAMPLED_IMAGE, vec![image(0, VIEW)]),
        write_images(3, t::STORAGE_IMAGE, vec![image(0, VIEW)]),
        write_texels(4, t::UNIFORM_TEXEL_BUFFER, vec![UNIFORM_TEXELS]),
        write_texels(5, t::STORAGE_TEXEL_BUFFER, vec![STORAGE_TEXELS]),
        write_images(7, t::INPUT_ATTACHMENT, vec![image(0, VIEW)]),
        // The written sampler of an immutable binding is ignored: even an id that names nothing.
        write_images(8, t::COMBINED_IMAGE_SAMPLER, vec![image(999, VIEW)]),
    ]
}

/// A context holding the objects, the layout and set SET with every binding written.
fn written_context(r: &FakeResources) -> VkContext {
    let mut ctx = context();
    let mut cmds = objects();
    cmds.push(every_type_layout());
    cmds.push(
        CreateDescriptorSet {
            id: SET,
            layout: LAYOUT,
        }
        .into(),
    );
    cmds.extend(writes());
    ctx.submit(&stream(cmds), r).unwrap();
    ctx
}

/// Resolves descriptors of `set` bound at set number 0, as a draw or dispatch would.
fn with_bound<T>(
    ctx: &VkContext,
    r: &FakeResources,
    set: u64,
    f: impl FnOnce(&BoundDescriptors<'_, '_>) -> T,
) -> T {
    let scope = GuestScope::new(r);
    let mut sets: [Option<BoundSet>; MAX_BOUND_DESCRIPTOR_SETS] = Default::default();
    sets[0] = Some(BoundSet::without_offsets(set));
    let bound = BoundDescriptors {
        ctx,
        sets: &sets,
        scope: &scope,
    };
    f(&bound)
}

#[test]
fn every_descriptor_type_resolves_to_what_was_written() {
    let r = resources();
    let ctx = written_context(&r);
    with_bound(&ctx, &r, SET, |d| {
        let s = d.sampler_descriptor(0, 0, 1).unwrap().unwrap();
        assert_eq!(s.state().mag_filter, Filter::Nearest);
        assert_eq!(s.state().address_modes[0], AddressMode::ClampToEdge);
        let s = d.sampler_descriptor(0, 0, 0).unwrap().unwrap();
        assert_eq!(s.state().mag_filter, Filter::Linear);
        match d.image_descriptor(0, 1, 0).unwrap().unwrap() {
            ImageDescriptor::Image { view, sampler } => {
                assert_eq!(view.view_type, ViewType::D2);
                assert_eq!(view.format, Format::R8G8B8A8_UNORM);
                assert_eq!((view.level_count, view.layer_count), (1, 1));
                assert_eq!(sampler.unwrap().state().mag_filter, Filter::Linear);
            }
            other => panic!("{other:?}"),
        }
        for binding in [2, 3, 7] {
            match d.image_descriptor(0, binding, 0).unwrap().unwrap() {
                ImageDescriptor::Image { sampler, .. } => assert!(sampler.is_none()),
                other => panic!("{other:?}"),
            }
        }
        match d.image_descriptor(0, 5, 0).unwrap().unwrap() {
            ImageDescriptor::TexelBuffer(v) => {
                assert_eq!((v.format, v.offset, v.range), (Format::R32_UINT, 0, 4096));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            d.image_descriptor(0, 4, 0).unwrap().unwrap(),
            ImageDescriptor::TexelBuffer(_)
        ));
        // Immutable samplers come from the layout.
        match d.image_descriptor(0, 8, 0).unwrap().unwrap() {
            ImageDescriptor::Image { sampler, .. } => {
                assert_eq!(sampler.unwrap().state().mag_filter, Filter::Nearest)
            }
            other => panic!("{other:?}"),
        }
        let s = d.sampler_descriptor(0, 9, 0).unwrap().unwrap();
        assert_eq!(s.state().mag_filter, Filter::Linear);
        // Unwritten: a null descriptor. Kind mismatches and missing bindings: errors.
        assert!(d.buffer_descriptor(0, 6, 0).unwrap().is_none());
        assert!(d.image_descriptor(0, 6, 0).is_err());
        assert!(d.sampler_descriptor(0, 2, 0).is_err());
        assert!(d.buffer_descriptor(0, 2, 0).is_err());
        assert!(d.image_descriptor(0, 10, 0).is_err());
        assert!(d.image_descriptor(0, 2, 1).is_err());
        // Nothing bound at set 1.
        assert!(d.image_descriptor(1, 2, 0).unwrap().is_none());
    });
}

#[test]
fn destroyed_views_buffers_and_samplers_fail_resolution_cleanly() {
    let r = resources();
    let mut ctx = written_context(&r);
    ctx.submit(
        &stream(vec![
            DestroyImageView { id: VIEW }.into(),
            DestroySampler { id: LINEAR }.into(),
            DestroyBuffer { id: TEXEL_BUFFER }.into(),
        ]),
        &r,
    )
    .unwrap();
    with_bound(&ctx, &r, SET, |d| {
        let e = d.image_descriptor(0, 2, 0).unwrap_err().to_string();
        assert!(e.contains("image view 3 does not exist"), "{e}");
        let e = d.sampler_descriptor(0, 0, 0).unwrap_err().to_string();
        assert!(e.contains("sampler 6 does not exist"), "{e}");
        let e = d.image_descriptor(0, 5, 0).unwrap_err().to_string();
        assert!(e.contains("buffer 1 does not exist"), "{e}");
        // A sampler copied into the layout outlives the sampler object.
        assert!(d.sampler_descriptor(0, 9, 0).unwrap().is_some());
        // Others are untouched.
        assert!(d.sampler_descriptor(0, 0, 1).unwrap().is_some());
    });
}

#[test]
fn invalid_samplers_and_buffer_views_are_refused() {
    let r = resources();
    let mut ctx = context();
    ctx.submit(&stream(objects()), &r).unwrap();
    let anisotropic = SamplerCreateInfo {
        anisotropy_enable: true,
        max_anisotropy: 16.0,
        ..sampler_info(1, 0)
    };
    let e = error_of(
        &mut ctx,
        &r,
        vec![CreateSampler {
            id: 30,
            info: anisotropic,
        }
        .into()],
    );
    assert!(e.contains("anisotropic"), "{e}");
    let misaligned = CreateBufferView {
        id: 31,
        buffer: TEXEL_BUFFER,
        format: Format::R32_UINT.vk(),
        offset: 4,
        range: 16,
    };
    let e = error_of(&mut ctx, &r, vec![misaligned.into()]);
    assert!(e.contains("minTexelBufferOffsetAlignment"), "{e}");
    // A buffer without texel usage; a storage view of a uniform-only buffer's format that has
    // no storage use; a format with no texel-buffer use.
    let no_usage = CreateBuffer {
        id: 32,
        size: 256,
        usage: usage::STORAGE_BUFFER,
    };
    ctx.submit(&stream(vec![no_usage.into()]), &r).unwrap();
    for bad in [
        buffer_view(33, 32, Format::R32_UINT),
        buffer_view(33, TEXEL_BUFFER, Format::R8G8B8A8_SRGB),
        buffer_view(33, TEXEL_BUFFER, Format::B8G8R8A8_UNORM),
        buffer_view(33, 77, Format::R32_UINT),
    ] {
        error_of(&mut ctx, &r, vec![bad]);
    }
    // Duplicate ids.
    let e = error_of(
        &mut ctx,
        &r,
        vec![CreateSampler {
            id: LINEAR,
            info: sampler_info(0, 0),
        }
        .into()],
    );
    assert!(e.contains("already exists"), "{e}");
}

#[test]
fn layouts_check_immutable_samplers_and_input_attachment_stages() {
    use descriptor_type as t;
    let r = resources();
    let mut ctx = context();
    ctx.submit(&stream(objects()), &r).unwrap();
    let layout = |b: DescriptorSetLayoutBinding| -> Command {
        CreateDescriptorSetLayout {
            id: 40,
            bindings: vec![b],
        }
        .into()
    };
    let bad = [
        // An unknown sampler, one sampler for two elements, samplers on a non-sampler type.
        binding(0, t::SAMPLER, 1, vec![99]),
        binding(0, t::COMBINED_IMAGE_SAMPLER, 2, vec![LINEAR]),
        binding(0, t::SAMPLED_IMAGE, 1, vec![LINEAR]),
        DescriptorSetLayoutBinding {
            stages: STAGES,
            ..binding(0, t::INPUT_ATTACHMENT, 1, vec![])
        },
    ];
    for b in bad {
        error_of(&mut ctx, &r, vec![layout(b)]);
    }
    // Immutable samplers are copied: destroying the sampler leaves the layout usable.
    ctx.submit(
        &stream(vec![
            layout(binding(0, t::SAMPLER, 1, vec![NEAREST])),
            DestroySampler { id: NEAREST }.into(),
            CreateDescriptorSet { id: 41, layout: 40 }.into(),
        ]),
        &r,
    )
    .unwrap();
    with_bound(&ctx, &r, 41, |d| {
        let s = d.sampler_descriptor(0, 0, 0).unwrap().unwrap();
        assert_eq!(s.state().mag_filter, Filter::Nearest);
    });
}

#[test]
fn writes_check_ids_types_and_usage() {
    use descriptor_type as t;
    let r = resources();
    let mut ctx = written_context(&r);
    let cases: Vec<(Command, &str)> = vec![
        // The binding's type differs from the write's.
        (
            write_images(2, t::STORAGE_IMAGE, vec![image(0, VIEW)]),
            "is SampledImage",
        ),
        // Ids that name nothing.
        (
            write_images(2, t::SAMPLED_IMAGE, vec![image(0, 77)]),
            "image view 77",
        ),
        (
            write_images(0, t::SAMPLER, vec![image(77, 0)]),
            "sampler 77",
        ),
        (
            write_images(1, t::COMBINED_IMAGE_SAMPLER, vec![image(0, VIEW)]),
            "sampler 0",
        ),
        (
            write_texels(5, t::STORAGE_TEXEL_BUFFER, vec![77]),
            "buffer view 77",
        ),
        // Missing usage.
        (
            write_images(2, t::SAMPLED_IMAGE, vec![image(0, PLAIN_VIEW)]),
            "lacks usage SAMPLED",
        ),
        (
            write_images(3, t::STORAGE_IMAGE, vec![image(0, PLAIN_VIEW)]),
            "lacks usage STORAGE",
        ),
        (
            write_images(7, t::INPUT_ATTACHMENT, vec![image(0, PLAIN_VIEW)]),
            "lacks usage INPUT_ATTACHMENT",
        ),
        (
            write_texels(5, t::STORAGE_TEXEL_BUFFER, vec![UNIFORM_TEXELS]),
            "lacks usage 0x8",
        ),
        // Samplers cannot be written into immutable sampler bindings.
        (
            write_images(9, t::SAMPLER, vec![image(LINEAR, 0)]),
            "immutable samplers",
        ),
        // Past the end of the layout, and a binding that does not exist.
        (
            write_images(1, t::COMBINED_IMAGE_SAMPLER, vec![image(LINEAR, VIEW); 2]),
            "roll over",
        ),
        (
            write_images(12, t::SAMPLED_IMAGE, vec![image(0, VIEW)]),
            "not in the set layout",
        ),
        (
            WriteDescriptorSet {
                set: SET,
                binding: 2,
                array_element: 0,
                descriptor_type: t::SAMPLED_IMAGE,
                buffers: vec![],
            }
            .into(),
            "cannot be written with this command",
        ),
        (
            write_texels(2, t::SAMPLED_IMAGE, vec![VIEW]),
            "cannot be written with this command",
        ),
    ];
    for (cmd, wanted) in cases {
        let name = cmd.name();
        let e = error_of(&mut ctx, &r, vec![cmd]);
        assert!(e.contains(wanted), "{name}: {e:?} lacks {wanted:?}");
    }
    // A failed write changed nothing.
    with_bound(&ctx, &r, SET, |d| {
        assert!(d.sampler_descriptor(0, 0, 0).unwrap().is_some());
        assert!(matches!(
            d.image_descriptor(0, 5, 0).unwrap().unwrap(),
            ImageDescriptor::TexelBuffer(v) if v.format == Format::R32_UINT
        ));
    });
}

#[test]
fn copies_move_every_type_and_respect_immutable_samplers() {
    let r = resources();
    let mut ctx = written_context(&r);
    let copy = |src_binding, dst_binding, count| -> Command {
        CopyDescriptorSet {
            src_set: SET,
            src_binding,
            src_array_element: 0,
            dst_set: OTHER_SET,
            dst_binding,
            dst_array_element: 0,
            count,
        }
        .into()
    };
    let mut cmds = vec![CreateDescriptorSet {
        id: OTHER_SET,
        layout: LAYOUT,
    }
    .into()];
    // Bindings 0..=7 are one copy each (they differ in type, so no roll-over).
    cmds.push(copy(0, 0, 2));
    for b in 1..=7 {
        cmds.push(copy(b, b, 1));
    }
    // The combined image sampler with an immutable sampler into one without: the immutable
    // sampler travels with the view.
    cmds.push(copy(8, 1, 1));
    ctx.submit(&stream(cmds), &r).unwrap();
    with_bound(&ctx, &r, OTHER_SET, |d| {
        assert!(d.sampler_descriptor(0, 0, 1).unwrap().is_some());
        for b in [2, 3, 4, 5, 7] {
            assert!(
                d.image_descriptor(0, b, 0).unwrap().is_some(),
                "binding {b}"
            );
        }
        match d.image_descriptor(0, 1, 0).unwrap().unwrap() {
            ImageDescriptor::Image { sampler, .. } => {
                assert_eq!(sampler.unwrap().state().mag_filter, Filter::Nearest)
            }
            other => panic!("{other:?}"),
        }
    });
    // Into an immutable combined binding: the destination's sampler wins.
    ctx.submit(&stream(vec![copy(1, 8, 1)]), &r).unwrap();
    with_bound(&ctx, &r, OTHER_SET, |d| {
        match d.image_descriptor(0, 8, 0).unwrap().unwrap() {
            ImageDescriptor::Image { sampler, .. } => {
                assert_eq!(sampler.unwrap().state().mag_filter, Filter::Nearest)
            }
            other => panic!("{other:?}"),
        }
    });
    // Type mismatches and samplers into immutable sampler bindings are refused.
    let e = error_of(&mut ctx, &r, vec![copy(2, 3, 1)]);
    assert!(e.contains("copy from SampledImage"), "{e}");
    let e = error_of(&mut ctx, &r, vec![copy(0, 9, 1)]);
    assert!(e.contains("immutable samplers"), "{e}");
}
