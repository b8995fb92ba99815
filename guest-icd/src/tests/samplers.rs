//! Samplers, buffer views, and image / texel-buffer / sampler descriptors through the entry
//! points: what goes on the wire, and the states refused with a `VkResult` before anything is
//! sent.

use super::*;
use ash::vk::Handle;

fn sampler_info() -> vk::SamplerCreateInfo<'static> {
    vk::SamplerCreateInfo::default()
        .mag_filter(vk::Filter::LINEAR)
        .min_filter(vk::Filter::NEAREST)
        .address_mode_u(vk::SamplerAddressMode::CLAMP_TO_BORDER)
        .border_color(vk::BorderColor::FLOAT_OPAQUE_WHITE)
        .max_lod(4.0)
}

/// Sends the queued top-level commands (an empty submission) and returns their names.
fn flushed(c: &Ctx) -> Vec<Command> {
    let cb = cmd_buffer(c);
    // SAFETY: a recording command buffer of this device.
    unsafe { c.device.end_command_buffer(cb) }.unwrap();
    submit(c, cb, vk::Fence::null()).unwrap();
    // SAFETY: the device of this context.
    unsafe { c.device.device_wait_idle() }.unwrap();
    c.mock.top.lock().unwrap().clone()
}

#[test]
fn invalid_sampler_states_get_an_error_result_and_nothing_is_sent() {
    let c = ctx();
    let d = &c.device;
    let cases = [
        (
            sampler_info().anisotropy_enable(true).max_anisotropy(16.0),
            vk::Result::ERROR_FEATURE_NOT_PRESENT,
        ),
        (
            sampler_info().address_mode_v(vk::SamplerAddressMode::MIRROR_CLAMP_TO_EDGE),
            vk::Result::ERROR_FEATURE_NOT_PRESENT,
        ),
        (
            sampler_info().mip_lod_bias(20.0),
            vk::Result::ERROR_INITIALIZATION_FAILED,
        ),
        (
            sampler_info().min_lod(5.0),
            vk::Result::ERROR_INITIALIZATION_FAILED,
        ),
        (
            sampler_info().unnormalized_coordinates(true),
            vk::Result::ERROR_INITIALIZATION_FAILED,
        ),
    ];
    for (info, wanted) in cases {
        // SAFETY: a create info Vulkan allows to be refused; our device.
        let r = unsafe { d.create_sampler(&info, None) };
        assert_eq!(r.err(), Some(wanted), "{info:?}");
    }
    let top = flushed(&c);
    assert!(
        top.iter().all(|cmd| cmd.name() != "CreateSampler"),
        "{top:?}"
    );
}

#[test]
fn samplers_views_and_every_descriptor_type_travel_as_ids() {
    let c = ctx();
    let d = &c.device;
    // SAFETY: valid create infos and handles of this device throughout.
    unsafe {
        let sampler = d.create_sampler(&sampler_info(), None).unwrap();
        let buf = d
            .create_buffer(
                &vk::BufferCreateInfo::default().size(4096).usage(
                    vk::BufferUsageFlags::UNIFORM_TEXEL_BUFFER
                        | vk::BufferUsageFlags::STORAGE_TEXEL_BUFFER,
                ),
                None,
            )
            .unwrap();
        let view_info = vk::BufferViewCreateInfo::default()
            .buffer(buf)
            .format(vk::Format::R32_UINT)
            .offset(0)
            .range(vk::WHOLE_SIZE);
        let texels = d.create_buffer_view(&view_info, None).unwrap();
        // Misaligned offsets, partial texels and non-texel formats are refused here.
        for bad in [
            view_info.offset(4),
            view_info.range(6),
            view_info.format(vk::Format::R8G8B8A8_SRGB),
        ] {
            assert!(d.create_buffer_view(&bad, None).is_err(), "{bad:?}");
        }
        let immutable = [sampler];
        let t = vk::DescriptorType::SAMPLER;
        let bindings = [
            vk::DescriptorSetLayoutBinding::default()
                .binding(0)
                .descriptor_type(t)
                .descriptor_count(1)
                .stage_flags(vk::ShaderStageFlags::FRAGMENT),
            vk::DescriptorSetLayoutBinding::default()
                .binding(1)
                .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
                .descriptor_count(1)
                .stage_flags(vk::ShaderStageFlags::FRAGMENT)
                .immutable_samplers(&immutable),
            vk::DescriptorSetLayoutBinding::default()
                .binding(2)
                .descriptor_type(vk::DescriptorType::STORAGE_TEXEL_BUFFER)
                .descriptor_count(1)
                .stage_flags(vk::ShaderStageFlags::FRAGMENT),
        ];
        let dsl = d
            .create_descriptor_set_layout(
                &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
                None,
            )
            .unwrap();
        let sizes = [vk::DescriptorPoolSize {
            ty: t,
            descriptor_count: 3,
        }];
        let pool = d
            .create_descriptor_pool(
                &vk::DescriptorPoolCreateInfo::default()
                    .max_sets(2)
                    .pool_sizes(&sizes),
                None,
            )
            .unwrap();
        let dsls = [dsl, dsl];
        let sets = d
            .allocate_descriptor_sets(
                &vk::DescriptorSetAllocateInfo::default()
                    .descriptor_pool(pool)
                    .set_layouts(&dsls),
            )
            .unwrap();
        let samplers = [vk::DescriptorImageInfo {
            sampler,
            image_view: vk::ImageView::null(),
            image_layout: vk::ImageLayout::UNDEFINED,
        }];
        // The sampler of a binding with immutable samplers is ignored, so it may be anything:
        // the ICD must not look at it.
        let garbage = [vk::DescriptorImageInfo {
            sampler: vk::Sampler::from_raw(0xdead_beef),
            image_view: vk::ImageView::null(),
            image_layout: vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL,
        }];
        let views = [texels];
        let writes = [
            vk::WriteDescriptorSet::default()
                .dst_set(sets[0])
                .descriptor_type(t)
                .image_info(&samplers),
            vk::WriteDescriptorSet::default()
                .dst_set(sets[0])
                .dst_binding(1)
                .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
                .image_info(&garbage),
            vk::WriteDescriptorSet::default()
                .dst_set(sets[0])
                .dst_binding(2)
                .descriptor_type(vk::DescriptorType::STORAGE_TEXEL_BUFFER)
                .texel_buffer_view(&views),
        ];
        let copy = vk::CopyDescriptorSet::default()
            .src_set(sets[0])
            .dst_set(sets[1])
            .descriptor_count(1);
        d.update_descriptor_sets(&writes, &[copy]);
        d.destroy_descriptor_pool(pool, None);
        d.destroy_descriptor_set_layout(dsl, None);
        d.destroy_buffer_view(texels, None);
        d.destroy_buffer(buf, None);
        d.destroy_sampler(sampler, None);
    }
    let top = flushed(&c);
    let names: Vec<&str> = top.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "CreateSampler",
            "CreateBuffer",
            "CreateBufferView",
            "CreateDescriptorSetLayout",
            "CreateDescriptorSet",
            "CreateDescriptorSet",
            "WriteDescriptorImages",
            "WriteDescriptorImages",
            "WriteDescriptorTexelBuffers",
            "CopyDescriptorSet",
            "DestroyDescriptorSet",
            "DestroyDescriptorSet",
            "DestroyDescriptorSetLayout",
            "DestroyBufferView",
            "DestroyBuffer",
            "DestroySampler",
            "Submit",
        ]
    );
    let Command::CreateSampler(s) = &top[0] else {
        panic!()
    };
    assert_eq!(
        (s.info.mag_filter, s.info.address_modes, s.info.border_color),
        (1, [3, 0, 0], 4)
    );
    let Command::CreateBufferView(v) = &top[2] else {
        panic!()
    };
    assert_eq!((v.format, v.range), (98, vk::WHOLE_SIZE));
    let Command::CreateDescriptorSetLayout(l) = &top[3] else {
        panic!()
    };
    assert_eq!(l.bindings[1].immutable_samplers, vec![s.id]);
    assert!(l.bindings[0].immutable_samplers.is_empty());
    let Command::WriteDescriptorImages(w) = &top[6] else {
        panic!()
    };
    assert_eq!((w.images[0].sampler, w.images[0].image_view), (s.id, 0));
    let Command::WriteDescriptorImages(w) = &top[7] else {
        panic!()
    };
    assert_eq!(w.images[0].sampler, 0);
    let Command::WriteDescriptorTexelBuffers(w) = &top[8] else {
        panic!()
    };
    assert_eq!(w.views, vec![v.id]);
}
