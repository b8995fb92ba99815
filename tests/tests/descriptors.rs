//! Samplers, buffer views and every descriptor type through the loader, the ICD and the
//! device: create them, write a set with each type (immutable samplers included), copy it,
//! bind it, submit, and destroy everything — the device accepts all of it (a refusal would
//! fail the submission). Invalid sampler states get an error `VkResult`.
#![allow(clippy::unwrap_used)]

mod common;

use ash::vk;

/// A buffer or image's own memory of the harness's host-visible type.
fn memory_for(gpu: &softgpu_e2e::Gpu, req: vk::MemoryRequirements) -> vk::DeviceMemory {
    assert_ne!(req.memory_type_bits & (1 << gpu.memory_type), 0);
    let info = vk::MemoryAllocateInfo::default()
        .allocation_size(req.size)
        .memory_type_index(gpu.memory_type);
    // SAFETY: live device; valid allocate info.
    unsafe { gpu.device.allocate_memory(&info, None) }.unwrap()
}

fn sampler_info() -> vk::SamplerCreateInfo<'static> {
    vk::SamplerCreateInfo::default()
        .mag_filter(vk::Filter::LINEAR)
        .min_filter(vk::Filter::LINEAR)
        .mipmap_mode(vk::SamplerMipmapMode::LINEAR)
        .address_mode_u(vk::SamplerAddressMode::REPEAT)
        .address_mode_v(vk::SamplerAddressMode::CLAMP_TO_BORDER)
        .border_color(vk::BorderColor::INT_OPAQUE_BLACK)
        .max_lod(vk::LOD_CLAMP_NONE)
}

#[test]
fn invalid_sampler_states_are_error_results_and_the_device_keeps_working() {
    let gpu = common::gpu();
    let d = &gpu.device;
    if !common::reference_run() {
        // softgpu offers no anisotropic filtering (lavapipe does).
        let aniso = sampler_info().anisotropy_enable(true).max_anisotropy(4.0);
        // SAFETY: live device.
        let r = unsafe { d.create_sampler(&aniso, None) };
        assert_eq!(r.err(), Some(vk::Result::ERROR_FEATURE_NOT_PRESENT));
        // SAFETY: live device; an invalid state the ICD refuses.
        let r = unsafe { d.create_sampler(&sampler_info().mip_lod_bias(100.0), None) };
        assert!(r.is_err());
        // SAFETY: as above.
        let r = unsafe { d.create_sampler(&sampler_info().min_lod(3.0).max_lod(1.0), None) };
        assert!(r.is_err());
    }
    // SAFETY: live device; a valid state.
    let s = unsafe { d.create_sampler(&sampler_info(), None) }.unwrap();
    // The device still runs work (a refused create would have failed this submission).
    gpu.submit_and_wait(|_| {}).unwrap();
    // SAFETY: not in use.
    unsafe { d.destroy_sampler(s, None) };
    gpu.submit_and_wait(|_| {}).unwrap();
}

#[test]
fn every_descriptor_type_is_written_copied_bound_and_destroyed() {
    use vk::DescriptorType as T;
    let gpu = common::gpu();
    let d = &gpu.device;
    let limits = gpu.properties.limits;
    assert!(limits.max_sampler_lod_bias >= 2.0);
    assert!(limits.max_texel_buffer_elements >= 65536);
    let align = limits.min_texel_buffer_offset_alignment;
    // SAFETY: live device; every create info is valid and every handle this device's.
    unsafe {
        // A texel buffer and two views of it.
        let texel_usage =
            vk::BufferUsageFlags::UNIFORM_TEXEL_BUFFER | vk::BufferUsageFlags::STORAGE_TEXEL_BUFFER;
        let buf = d
            .create_buffer(
                &vk::BufferCreateInfo::default()
                    .size(4096)
                    .usage(texel_usage),
                None,
            )
            .unwrap();
        let buf_mem = memory_for(&gpu, d.get_buffer_memory_requirements(buf));
        d.bind_buffer_memory(buf, buf_mem, 0).unwrap();
        let view_info = vk::BufferViewCreateInfo::default()
            .buffer(buf)
            .format(vk::Format::R32_UINT)
            .offset(align)
            .range(vk::WHOLE_SIZE);
        let storage_texels = d.create_buffer_view(&view_info, None).unwrap();
        let uniform_texels = d
            .create_buffer_view(
                &view_info
                    .format(vk::Format::R8G8B8A8_UNORM)
                    .offset(0)
                    .range(256),
                None,
            )
            .unwrap();
        // An image that can be sampled, stored to and read as an input attachment.
        let image = d
            .create_image(
                &vk::ImageCreateInfo::default()
                    .image_type(vk::ImageType::TYPE_2D)
                    .format(vk::Format::R8G8B8A8_UNORM)
                    .extent(vk::Extent3D {
                        width: 16,
                        height: 16,
                        depth: 1,
                    })
                    .mip_levels(1)
                    .array_layers(1)
                    .samples(vk::SampleCountFlags::TYPE_1)
                    .usage(
                        vk::ImageUsageFlags::SAMPLED
                            | vk::ImageUsageFlags::STORAGE
                            | vk::ImageUsageFlags::INPUT_ATTACHMENT
                            | vk::ImageUsageFlags::COLOR_ATTACHMENT,
                    ),
                None,
            )
            .unwrap();
        let image_mem = memory_for(&gpu, d.get_image_memory_requirements(image));
        d.bind_image_memory(image, image_mem, 0).unwrap();
        let view = d
            .create_image_view(
                &vk::ImageViewCreateInfo::default()
                    .image(image)
                    .view_type(vk::ImageViewType::TYPE_2D)
                    .format(vk::Format::R8G8B8A8_UNORM)
                    .subresource_range(vk::ImageSubresourceRange {
                        aspect_mask: vk::ImageAspectFlags::COLOR,
                        base_mip_level: 0,
                        level_count: 1,
                        base_array_layer: 0,
                        layer_count: 1,
                    }),
                None,
            )
            .unwrap();
        let linear = d.create_sampler(&sampler_info(), None).unwrap();
        let nearest = d
            .create_sampler(
                &sampler_info()
                    .mag_filter(vk::Filter::NEAREST)
                    .min_filter(vk::Filter::NEAREST),
                None,
            )
            .unwrap();
        let immutable = [nearest, nearest];
        let all = vk::ShaderStageFlags::COMPUTE | vk::ShaderStageFlags::FRAGMENT;
        let b = |binding: u32, ty: T, count: u32| {
            vk::DescriptorSetLayoutBinding::default()
                .binding(binding)
                .descriptor_type(ty)
                .descriptor_count(count)
                .stage_flags(if ty == T::INPUT_ATTACHMENT {
                    vk::ShaderStageFlags::FRAGMENT
                } else {
                    all
                })
        };
        let bindings = [
            b(0, T::SAMPLER, 2),
            b(1, T::COMBINED_IMAGE_SAMPLER, 1),
            b(2, T::SAMPLED_IMAGE, 3),
            b(3, T::STORAGE_IMAGE, 1),
            b(4, T::UNIFORM_TEXEL_BUFFER, 1),
            b(5, T::STORAGE_TEXEL_BUFFER, 1),
            b(6, T::INPUT_ATTACHMENT, 1),
            b(7, T::COMBINED_IMAGE_SAMPLER, 2).immutable_samplers(&immutable),
            b(8, T::SAMPLER, 2).immutable_samplers(&immutable),
        ];
        let set_layout = d
            .create_descriptor_set_layout(
                &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
                None,
            )
            .unwrap();
        // Immutable samplers are copied into the layout: the sampler may go now.
        d.destroy_sampler(nearest, None);
        let sizes: Vec<vk::DescriptorPoolSize> = [
            (T::SAMPLER, 8),
            (T::COMBINED_IMAGE_SAMPLER, 6),
            (T::SAMPLED_IMAGE, 6),
            (T::STORAGE_IMAGE, 2),
            (T::UNIFORM_TEXEL_BUFFER, 2),
            (T::STORAGE_TEXEL_BUFFER, 2),
            (T::INPUT_ATTACHMENT, 2),
        ]
        .into_iter()
        .map(|(ty, descriptor_count)| vk::DescriptorPoolSize {
            ty,
            descriptor_count,
        })
        .collect();
        let pool = d
            .create_descriptor_pool(
                &vk::DescriptorPoolCreateInfo::default()
                    .max_sets(2)
                    .pool_sizes(&sizes),
                None,
            )
            .unwrap();
        let layouts = [set_layout, set_layout];
        let sets = d
            .allocate_descriptor_sets(
                &vk::DescriptorSetAllocateInfo::default()
                    .descriptor_pool(pool)
                    .set_layouts(&layouts),
            )
            .unwrap();
        let info = |sampler, image_layout| vk::DescriptorImageInfo {
            sampler,
            image_view: view,
            image_layout,
        };
        let read = vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL;
        let samplers = [info(linear, read), info(linear, read)];
        let combined = [info(linear, read)];
        let sampled = [info(vk::Sampler::null(), read); 3];
        let storage = [info(vk::Sampler::null(), vk::ImageLayout::GENERAL)];
        let input = [info(vk::Sampler::null(), read)];
        // The binding's immutable samplers apply; the written sampler is ignored.
        let immutable_combined = [info(vk::Sampler::null(), read); 2];
        let uniform_views = [uniform_texels];
        let storage_views = [storage_texels];
        let w = |binding: u32, ty: T| {
            vk::WriteDescriptorSet::default()
                .dst_set(sets[0])
                .dst_binding(binding)
                .descriptor_type(ty)
        };
        let writes = [
            w(0, T::SAMPLER).image_info(&samplers),
            w(1, T::COMBINED_IMAGE_SAMPLER).image_info(&combined),
            w(2, T::SAMPLED_IMAGE).image_info(&sampled),
            w(3, T::STORAGE_IMAGE).image_info(&storage),
            w(4, T::UNIFORM_TEXEL_BUFFER).texel_buffer_view(&uniform_views),
            w(5, T::STORAGE_TEXEL_BUFFER).texel_buffer_view(&storage_views),
            w(6, T::INPUT_ATTACHMENT).image_info(&input),
            w(7, T::COMBINED_IMAGE_SAMPLER).image_info(&immutable_combined),
        ];
        let copies: Vec<vk::CopyDescriptorSet> = bindings
            .iter()
            .filter(|b| b.descriptor_type != T::SAMPLER || b.p_immutable_samplers.is_null())
            .map(|b| {
                vk::CopyDescriptorSet::default()
                    .src_set(sets[0])
                    .src_binding(b.binding)
                    .dst_set(sets[1])
                    .dst_binding(b.binding)
                    .descriptor_count(b.descriptor_count)
            })
            .collect();
        d.update_descriptor_sets(&writes, &copies);
        let pipeline_layout = d
            .create_pipeline_layout(
                &vk::PipelineLayoutCreateInfo::default().set_layouts(&layouts),
                None,
            )
            .unwrap();
        // Binding both sets runs the device's checks on them; a refused write or copy would
        // have failed this submission (VK_ERROR_DEVICE_LOST).
        gpu.submit_and_wait(|cb| {
            d.cmd_bind_descriptor_sets(
                cb,
                vk::PipelineBindPoint::COMPUTE,
                pipeline_layout,
                0,
                &sets,
                &[],
            );
            d.cmd_bind_descriptor_sets(
                cb,
                vk::PipelineBindPoint::GRAPHICS,
                pipeline_layout,
                0,
                &sets,
                &[],
            );
        })
        .unwrap();
        d.destroy_pipeline_layout(pipeline_layout, None);
        d.free_descriptor_sets(pool, &sets).unwrap();
        d.destroy_descriptor_pool(pool, None);
        d.destroy_descriptor_set_layout(set_layout, None);
        d.destroy_sampler(linear, None);
        d.destroy_image_view(view, None);
        d.destroy_image(image, None);
        d.free_memory(image_mem, None);
        d.destroy_buffer_view(storage_texels, None);
        d.destroy_buffer_view(uniform_texels, None);
        d.destroy_buffer(buf, None);
        d.free_memory(buf_mem, None);
        d.device_wait_idle().unwrap();
    }
    // Everything was destroyed cleanly: the device still runs work.
    gpu.submit_and_wait(|_| {}).unwrap();
}

#[test]
fn buffer_view_rules_are_error_results() {
    if common::reference_run() {
        // Invalid usage: lavapipe need not refuse it.
        return;
    }
    let gpu = common::gpu();
    let d = &gpu.device;
    // SAFETY: live device; handles of it.
    unsafe {
        let buf = d
            .create_buffer(
                &vk::BufferCreateInfo::default()
                    .size(1024)
                    .usage(vk::BufferUsageFlags::UNIFORM_TEXEL_BUFFER),
                None,
            )
            .unwrap();
        let mem = memory_for(&gpu, d.get_buffer_memory_requirements(buf));
        d.bind_buffer_memory(buf, mem, 0).unwrap();
        let good = vk::BufferViewCreateInfo::default()
            .buffer(buf)
            .format(vk::Format::R8G8B8A8_UNORM)
            .range(vk::WHOLE_SIZE);
        for bad in [
            good.offset(4),
            good.range(6),
            good.range(2048),
            good.format(vk::Format::R8G8B8A8_SRGB),
        ] {
            assert!(d.create_buffer_view(&bad, None).is_err(), "{bad:?}");
        }
        let v = d.create_buffer_view(&good, None).unwrap();
        gpu.submit_and_wait(|_| {}).unwrap();
        d.destroy_buffer_view(v, None);
        d.destroy_buffer(buf, None);
        d.free_memory(mem, None);
    }
    gpu.submit_and_wait(|_| {}).unwrap();
}
