//! Images, render passes, graphics pipelines and graphics recording, through the C entry
//! points against the mock device.

use super::{buffer, cmd_buffer, ctx, mock, spirv, submit, Ctx};
use ash::vk;
use protocol::graphics::{DynamicState, RenderTargets};
use protocol::image::{ImageDesc, ImageLayout, ImageType, Tiling};
use protocol::stream as wire;
use protocol::Command;

fn image_info(format: vk::Format, w: u32, h: u32) -> vk::ImageCreateInfo<'static> {
    vk::ImageCreateInfo::default()
        .image_type(vk::ImageType::TYPE_2D)
        .format(format)
        .extent(vk::Extent3D {
            width: w,
            height: h,
            depth: 1,
        })
        .mip_levels(1)
        .array_layers(1)
        .samples(vk::SampleCountFlags::TYPE_1)
        .tiling(vk::ImageTiling::OPTIMAL)
        .usage(vk::ImageUsageFlags::COLOR_ATTACHMENT | vk::ImageUsageFlags::TRANSFER_SRC)
}

fn top(c: &Ctx) -> Vec<Command> {
    c.mock.top.lock().unwrap().clone()
}

/// Sends what is queued (object creation travels with the next submission).
fn flush(c: &Ctx) {
    // SAFETY: valid device.
    unsafe { c.device.device_wait_idle() }.unwrap();
}

#[test]
fn image_memory_requirements_and_layouts_are_the_protocol_layout() {
    let c = ctx();
    let d = &c.device;
    // SAFETY: valid create infos and handles.
    unsafe {
        let info = image_info(vk::Format::R8G8B8A8_UNORM, 10, 6).mip_levels(3);
        let img = d.create_image(&info, None).unwrap();
        let want = ImageLayout::new(&ImageDesc {
            image_type: ImageType::D2,
            format: protocol::format::Format::R8G8B8A8_UNORM,
            extent: [10, 6, 1],
            mip_levels: 3,
            array_layers: 1,
            tiling: Tiling::Optimal,
        })
        .unwrap();
        let req = d.get_image_memory_requirements(img);
        assert_eq!((req.size, req.alignment), (want.size(), want.alignment()));
        assert_eq!(req.memory_type_bits, 1);
        let mem = d
            .allocate_memory(
                &vk::MemoryAllocateInfo::default()
                    .allocation_size(req.size + 64)
                    .memory_type_index(0),
                None,
            )
            .unwrap();
        // Misaligned, then too far: refused; aligned and inside: bound.
        assert!(d.bind_image_memory(img, mem, 8).is_err());
        assert!(d.bind_image_memory(img, mem, 128).is_err());
        d.bind_image_memory(img, mem, 64).unwrap();

        let linear = image_info(vk::Format::D24_UNORM_S8_UINT, 5, 3)
            .tiling(vk::ImageTiling::LINEAR)
            .usage(vk::ImageUsageFlags::TRANSFER_DST)
            .array_layers(2);
        let limg = d.create_image(&linear, None).unwrap();
        let l = d.get_image_subresource_layout(
            limg,
            vk::ImageSubresource {
                aspect_mask: vk::ImageAspectFlags::STENCIL,
                mip_level: 0,
                array_layer: 1,
            },
        );
        assert_eq!((l.offset, l.row_pitch, l.array_pitch), (60, 20, 60));
        flush(&c);
        let t = top(&c);
        let created = t.iter().find_map(|c| match c {
            Command::CreateImage(i) if i.info.mip_levels == 3 => Some(i.info),
            _ => None,
        });
        assert_eq!(
            created.map(|i| (i.format, i.extent, i.tiling, i.usage)),
            Some((37, [10, 6, 1], 0, 0x11))
        );
        assert!(t
            .iter()
            .any(|c| matches!(c, Command::BindImageMemory(b) if b.memory.offset % 64 == 0)));
        d.destroy_image(img, None);
        d.destroy_image(limg, None);
    }
}

#[test]
fn images_the_device_cannot_have_are_errors_not_crashes() {
    let c = ctx();
    let d = &c.device;
    let base = image_info(vk::Format::R8G8B8A8_UNORM, 16, 16);
    let cases = [
        (
            base.format(vk::Format::R8G8B8_UNORM),
            vk::Result::ERROR_FEATURE_NOT_PRESENT,
        ),
        (
            base.samples(vk::SampleCountFlags::TYPE_4),
            vk::Result::ERROR_FEATURE_NOT_PRESENT,
        ),
        (
            base.usage(vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT),
            vk::Result::ERROR_FEATURE_NOT_PRESENT,
        ),
        (
            base.extent(vk::Extent3D {
                width: 0,
                height: 4,
                depth: 1,
            }),
            vk::Result::ERROR_INITIALIZATION_FAILED,
        ),
        (base.mip_levels(9), vk::Result::ERROR_INITIALIZATION_FAILED),
        (
            base.extent(vk::Extent3D {
                width: 16384,
                height: 16384,
                depth: 1,
            })
            .array_layers(2048)
            .format(vk::Format::R32G32B32A32_SFLOAT),
            vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
        ),
    ];
    for (info, want) in cases {
        // SAFETY: a structurally valid create info with unsupported contents.
        let r = unsafe { d.create_image(&info, None) };
        assert_eq!(r.err(), Some(want), "{info:?}");
    }
    let create = d.fp_v1_0().create_image;
    let mut out = vk::Image::null();
    // SAFETY: a null create info must be refused, not dereferenced.
    let r = unsafe { create(d.handle(), std::ptr::null(), std::ptr::null(), &mut out) };
    assert_eq!(r, vk::Result::ERROR_INITIALIZATION_FAILED);
    // SAFETY: valid create info, null output pointer.
    let r = unsafe { create(d.handle(), &base, std::ptr::null(), std::ptr::null_mut()) };
    assert_eq!(r, vk::Result::ERROR_INITIALIZATION_FAILED);
}

#[test]
fn image_format_queries_follow_the_format_table() {
    let c = ctx();
    // SAFETY: valid physical device.
    unsafe {
        let d24 = c
            .instance
            .get_physical_device_format_properties(c.pd, vk::Format::D24_UNORM_S8_UINT);
        assert!(d24
            .optimal_tiling_features
            .contains(vk::FormatFeatureFlags::DEPTH_STENCIL_ATTACHMENT));
        assert!(!d24
            .linear_tiling_features
            .contains(vk::FormatFeatureFlags::DEPTH_STENCIL_ATTACHMENT));
        let bc = c
            .instance
            .get_physical_device_format_properties(c.pd, vk::Format::BC1_RGB_UNORM_BLOCK);
        assert!(bc.optimal_tiling_features.is_empty() && bc.linear_tiling_features.is_empty());
        let p = c
            .instance
            .get_physical_device_image_format_properties(
                c.pd,
                vk::Format::D32_SFLOAT,
                vk::ImageType::TYPE_2D,
                vk::ImageTiling::OPTIMAL,
                vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT,
                vk::ImageCreateFlags::empty(),
            )
            .unwrap();
        assert_eq!(p.sample_counts, vk::SampleCountFlags::TYPE_1);
        assert_eq!(p.max_array_layers, 2048);
        let p2 = ash::khr::get_physical_device_properties2::Instance::new(&c._entry, &c.instance);
        let mut out = vk::ImageFormatProperties2::default();
        let r = p2.get_physical_device_image_format_properties2(
            c.pd,
            &vk::PhysicalDeviceImageFormatInfo2::default()
                .format(vk::Format::R8G8B8A8_UNORM)
                .ty(vk::ImageType::TYPE_3D)
                .tiling(vk::ImageTiling::OPTIMAL)
                .usage(vk::ImageUsageFlags::TRANSFER_DST),
            &mut out,
        );
        assert!(r.is_ok());
        assert_eq!(out.image_format_properties.max_extent.depth, 2048);
        assert_eq!(out.image_format_properties.max_array_layers, 1);
    }
}

#[test]
fn graphics_extensions_and_features_are_reported_and_checked() {
    let c = ctx();
    // SAFETY: valid handles and chains.
    unsafe {
        let exts = c
            .instance
            .enumerate_device_extension_properties(c.pd)
            .unwrap();
        let names: Vec<_> = exts
            .iter()
            .map(|e| e.extension_name_as_c_str().unwrap().to_owned())
            .collect();
        assert!(names.contains(&vk::KHR_DYNAMIC_RENDERING_NAME.to_owned()));
        assert!(names.contains(&vk::KHR_DEPTH_STENCIL_RESOLVE_NAME.to_owned()));
        let mut dr = vk::PhysicalDeviceDynamicRenderingFeatures::default();
        let mut eds2 = vk::PhysicalDeviceExtendedDynamicState2FeaturesEXT::default();
        let mut mv = vk::PhysicalDeviceMultiviewFeatures::default().multiview(true);
        let mut f2 = vk::PhysicalDeviceFeatures2::default()
            .push_next(&mut dr)
            .push_next(&mut eds2)
            .push_next(&mut mv);
        ash::khr::get_physical_device_properties2::Instance::new(&c._entry, &c.instance)
            .get_physical_device_features2(c.pd, &mut f2);
        let f = f2.features;
        assert_eq!(
            (f.independent_blend, f.depth_clamp, f.logic_op, f.wide_lines),
            (1, 1, 0, 0)
        );
        assert_eq!((dr.dynamic_rendering, mv.multiview), (1, 1));
        assert_eq!(
            (
                mv.multiview_geometry_shader,
                mv.multiview_tessellation_shader
            ),
            (0, 0)
        );
        let mut mvp = vk::PhysicalDeviceMultiviewProperties::default();
        let mut p2 = vk::PhysicalDeviceProperties2::default().push_next(&mut mvp);
        ash::khr::get_physical_device_properties2::Instance::new(&c._entry, &c.instance)
            .get_physical_device_properties2(c.pd, &mut p2);
        assert!(mvp.max_multiview_view_count >= 6);
        assert_eq!(mvp.max_multiview_instance_index, (1 << 27) - 1);
        assert_eq!(
            (
                eds2.extended_dynamic_state2,
                eds2.extended_dynamic_state2_logic_op,
                eds2.extended_dynamic_state2_patch_control_points
            ),
            (1, 0, 0)
        );
        let p = c.instance.get_physical_device_properties(c.pd);
        assert_eq!(p.limits.max_color_attachments, 8);
        assert_eq!(p.limits.point_size_range, [1.0, 64.0]);
        assert_eq!(p.limits.sub_pixel_precision_bits, 8);
        let prio = [1.0];
        let queues = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(0)
            .queue_priorities(&prio)];
        // Multiview itself is offered; with geometry shaders it is not.
        let mut want_mv = vk::PhysicalDeviceMultiviewFeatures::default().multiview(true);
        let mv_device = c
            .instance
            .create_device(
                c.pd,
                &vk::DeviceCreateInfo::default()
                    .queue_create_infos(&queues)
                    .push_next(&mut want_mv),
                None,
            )
            .unwrap();
        mv_device.destroy_device(None);
        let mut want_mv_gs = vk::PhysicalDeviceMultiviewFeatures::default()
            .multiview(true)
            .multiview_geometry_shader(true);
        let r = c.instance.create_device(
            c.pd,
            &vk::DeviceCreateInfo::default()
                .queue_create_infos(&queues)
                .push_next(&mut want_mv_gs),
            None,
        );
        assert_eq!(r.err(), Some(vk::Result::ERROR_FEATURE_NOT_PRESENT));
    }
}

struct Scene {
    render_pass: vk::RenderPass,
    layout: vk::PipelineLayout,
    module: vk::ShaderModule,
    view: vk::ImageView,
    framebuffer: vk::Framebuffer,
}

fn scene(c: &Ctx) -> Scene {
    let d = &c.device;
    // SAFETY: valid create infos and handles.
    unsafe {
        let img = d
            .create_image(&image_info(vk::Format::B8G8R8A8_UNORM, 64, 32), None)
            .unwrap();
        let view = d
            .create_image_view(
                &vk::ImageViewCreateInfo::default()
                    .image(img)
                    .view_type(vk::ImageViewType::TYPE_2D)
                    .format(vk::Format::B8G8R8A8_UNORM)
                    .components(vk::ComponentMapping {
                        r: vk::ComponentSwizzle::B,
                        ..Default::default()
                    })
                    .subresource_range(vk::ImageSubresourceRange {
                        aspect_mask: vk::ImageAspectFlags::COLOR,
                        base_mip_level: 0,
                        level_count: 1,
                        base_array_layer: 0,
                        layer_count: vk::REMAINING_ARRAY_LAYERS,
                    }),
                None,
            )
            .unwrap();
        let attachments = [vk::AttachmentDescription::default()
            .format(vk::Format::B8G8R8A8_UNORM)
            .samples(vk::SampleCountFlags::TYPE_1)
            .load_op(vk::AttachmentLoadOp::CLEAR)
            .store_op(vk::AttachmentStoreOp::STORE)];
        let color = [vk::AttachmentReference {
            attachment: 0,
            layout: vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL,
        }];
        let subpasses = [vk::SubpassDescription::default()
            .pipeline_bind_point(vk::PipelineBindPoint::GRAPHICS)
            .color_attachments(&color)];
        let render_pass = d
            .create_render_pass(
                &vk::RenderPassCreateInfo::default()
                    .attachments(&attachments)
                    .subpasses(&subpasses),
                None,
            )
            .unwrap();
        let views = [view];
        let framebuffer = d
            .create_framebuffer(
                &vk::FramebufferCreateInfo::default()
                    .render_pass(render_pass)
                    .attachments(&views)
                    .width(64)
                    .height(32)
                    .layers(1),
                None,
            )
            .unwrap();
        let layout = d
            .create_pipeline_layout(&vk::PipelineLayoutCreateInfo::default(), None)
            .unwrap();
        let code = spirv(1);
        let module = d
            .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&code), None)
            .unwrap();
        Scene {
            render_pass,
            layout,
            module,
            view,
            framebuffer,
        }
    }
}

/// Creates one pipeline from `info` with the scene's stages, returning the raw result.
fn create_pipeline(
    c: &Ctx,
    info: vk::GraphicsPipelineCreateInfo<'_>,
) -> Result<vk::Pipeline, vk::Result> {
    // SAFETY: valid handles; the infos' pointers live for the call.
    let r = unsafe {
        c.device
            .create_graphics_pipelines(vk::PipelineCache::null(), &[info], None)
    };
    r.map(|p| p[0]).map_err(|(p, e)| {
        assert_eq!(p, vec![vk::Pipeline::null()]);
        e
    })
}

#[test]
fn graphics_pipelines_send_only_the_state_that_is_not_ignored() {
    let c = ctx();
    let s = scene(&c);
    let stages = [
        vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::VERTEX)
            .module(s.module)
            .name(c"vs"),
        vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::FRAGMENT)
            .module(s.module)
            .name(c"fs"),
    ];
    let bindings = [vk::VertexInputBindingDescription {
        binding: 0,
        stride: 24,
        input_rate: vk::VertexInputRate::INSTANCE,
    }];
    let attributes = [vk::VertexInputAttributeDescription {
        location: 1,
        binding: 0,
        format: vk::Format::R32G32B32_SFLOAT,
        offset: 12,
    }];
    let vi = vk::PipelineVertexInputStateCreateInfo::default()
        .vertex_binding_descriptions(&bindings)
        .vertex_attribute_descriptions(&attributes);
    let ia = vk::PipelineInputAssemblyStateCreateInfo::default()
        .topology(vk::PrimitiveTopology::TRIANGLE_FAN);
    let vp = vk::PipelineViewportStateCreateInfo::default()
        .viewport_count(1)
        .scissor_count(1);
    let rs = vk::PipelineRasterizationStateCreateInfo::default()
        .cull_mode(vk::CullModeFlags::BACK)
        .line_width(1.0);
    let ms = vk::PipelineMultisampleStateCreateInfo::default()
        .rasterization_samples(vk::SampleCountFlags::TYPE_1);
    let blend = [vk::PipelineColorBlendAttachmentState::default()
        .blend_enable(true)
        .color_write_mask(vk::ColorComponentFlags::RGBA)];
    let cb = vk::PipelineColorBlendStateCreateInfo::default().attachments(&blend);
    let dyn_states = [vk::DynamicState::VIEWPORT, vk::DynamicState::SCISSOR];
    let dynamic = vk::PipelineDynamicStateCreateInfo::default().dynamic_states(&dyn_states);
    // The subpass has no depth/stencil attachment: the (dangling) pointer must be ignored.
    let dangling = std::ptr::NonNull::<vk::PipelineDepthStencilStateCreateInfo>::dangling();
    let mut info = vk::GraphicsPipelineCreateInfo::default()
        .stages(&stages)
        .vertex_input_state(&vi)
        .input_assembly_state(&ia)
        .viewport_state(&vp)
        .rasterization_state(&rs)
        .multisample_state(&ms)
        .color_blend_state(&cb)
        .dynamic_state(&dynamic)
        .layout(s.layout)
        .render_pass(s.render_pass)
        .subpass(0);
    info.p_depth_stencil_state = dangling.as_ptr();
    let p = create_pipeline(&c, info).unwrap();
    assert_ne!(p, vk::Pipeline::null());
    let sent = top(&c)
        .into_iter()
        .find_map(|c| match c {
            Command::CreateGraphicsPipeline(p) => Some(p.info),
            _ => None,
        })
        .unwrap();
    assert_eq!(sent.stages.len(), 2);
    assert_eq!(sent.stages[1].entry, "fs");
    assert_eq!(sent.vertex_bindings[0].input_rate, 1);
    assert_eq!(sent.vertex_attributes[0].format, 106);
    assert_eq!(sent.topology, 5);
    assert_eq!((sent.viewport_count, sent.viewports.len()), (1, 0));
    assert_eq!(sent.depth_stencil, None);
    assert_eq!(sent.color_blend.map(|b| b.attachments.len()), Some(1));
    assert_eq!(sent.dynamic_states, vec![0, 1]);
    assert!(matches!(
        sent.targets,
        RenderTargets::RenderPass { subpass: 0, .. }
    ));

    // Rasterizer discard: viewport, multisample and blend state are all ignored.
    let rs_discard = rs.rasterizer_discard_enable(true);
    let mut discard = info.rasterization_state(&rs_discard);
    discard.p_viewport_state = std::ptr::NonNull::dangling().as_ptr();
    discard.p_multisample_state = std::ptr::NonNull::dangling().as_ptr();
    discard.p_color_blend_state = std::ptr::NonNull::dangling().as_ptr();
    assert!(create_pipeline(&c, discard).is_ok());

    // Malformed pipelines: an error for that element, never a crash.
    let fs_only = &stages[1..];
    let bad = [
        info.stages(fs_only),
        info.stages(&[]),
        {
            let mut i = info;
            i.p_vertex_input_state = std::ptr::null();
            i
        },
        {
            let mut i = info;
            i.p_color_blend_state = std::ptr::null();
            i
        },
        info.subpass(3),
    ];
    for b in bad {
        assert_eq!(
            create_pipeline(&c, b),
            Err(vk::Result::ERROR_INITIALIZATION_FAILED)
        );
    }
    let geometry = [stages[0], stages[1].stage(vk::ShaderStageFlags::GEOMETRY)];
    assert_eq!(
        create_pipeline(&c, info.stages(&geometry)),
        Err(vk::Result::ERROR_FEATURE_NOT_PRESENT)
    );
    let logic = [vk::DynamicState::LOGIC_OP_EXT];
    let dyn_logic = vk::PipelineDynamicStateCreateInfo::default().dynamic_states(&logic);
    assert_eq!(
        create_pipeline(&c, info.dynamic_state(&dyn_logic)),
        Err(vk::Result::ERROR_FEATURE_NOT_PRESENT)
    );
    // The device's refusal (bad SPIR-V) reaches the app.
    let code = spirv(mock::BAD_SPIRV_MARKER);
    // SAFETY: valid create info.
    let bad_module = unsafe {
        c.device
            .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&code), None)
    }
    .unwrap();
    let bad_stages = [stages[0].module(bad_module), stages[1]];
    assert_eq!(
        create_pipeline(&c, info.stages(&bad_stages)),
        Err(vk::Result::ERROR_INITIALIZATION_FAILED)
    );
    // Dynamic rendering: formats come from VkPipelineRenderingCreateInfo.
    let formats = [vk::Format::R8G8B8A8_UNORM];
    let mut rendering = vk::PipelineRenderingCreateInfo::default()
        .color_attachment_formats(&formats)
        .depth_attachment_format(vk::Format::D32_SFLOAT);
    let ds = vk::PipelineDepthStencilStateCreateInfo::default()
        .depth_test_enable(true)
        .depth_compare_op(vk::CompareOp::LESS);
    let dyn_info = info
        .render_pass(vk::RenderPass::null())
        .depth_stencil_state(&ds)
        .push_next(&mut rendering);
    assert!(create_pipeline(&c, dyn_info).is_ok());
    let last = top(&c)
        .into_iter()
        .rev()
        .find_map(|c| match c {
            Command::CreateGraphicsPipeline(p) => Some(p.info),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        last.targets,
        RenderTargets::Dynamic {
            view_mask: 0,
            color_formats: vec![37],
            depth_format: 126,
            stencil_format: 0
        }
    );
    assert_eq!(last.depth_stencil.map(|d| d.depth_compare_op), Some(1));
}

#[test]
fn graphics_commands_are_recorded_in_order_with_their_ids() {
    let c = ctx();
    let s = scene(&c);
    let d = &c.device;
    let (vb, _) = buffer(&c, 4096);
    // SAFETY: valid handles; every array lives for its call.
    unsafe {
        let img = d
            .create_image(
                &image_info(vk::Format::D32_SFLOAT, 8, 8).usage(
                    vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT
                        | vk::ImageUsageFlags::TRANSFER_DST,
                ),
                None,
            )
            .unwrap();
        let cb = cmd_buffer(&c);
        let clear = [
            vk::ClearValue {
                color: vk::ClearColorValue {
                    float32: [1.0, 0.0, 0.0, 1.0],
                },
            },
            vk::ClearValue::default(),
        ];
        d.cmd_begin_render_pass(
            cb,
            &vk::RenderPassBeginInfo::default()
                .render_pass(s.render_pass)
                .framebuffer(s.framebuffer)
                .render_area(vk::Rect2D {
                    offset: vk::Offset2D { x: 0, y: 0 },
                    extent: vk::Extent2D {
                        width: 64,
                        height: 32,
                    },
                })
                .clear_values(&clear),
            vk::SubpassContents::INLINE,
        );
        d.cmd_set_viewport(
            cb,
            0,
            &[vk::Viewport {
                width: 64.0,
                height: 32.0,
                max_depth: 1.0,
                ..Default::default()
            }],
        );
        d.cmd_set_stencil_reference(cb, vk::StencilFaceFlags::FRONT_AND_BACK, 7);
        d.cmd_bind_vertex_buffers(cb, 2, &[vb, vk::Buffer::null()], &[16, 0]);
        d.cmd_bind_index_buffer(cb, vb, 256, vk::IndexType::UINT16);
        d.cmd_draw_indexed(cb, 36, 2, 1, -4, 1);
        let dic = ash::khr::draw_indirect_count::Device::new(&c.instance, d);
        dic.cmd_draw_indexed_indirect_count(cb, vb, 0, vb, 64, 10, 20);
        d.cmd_end_render_pass(cb);
        let eds = ash::ext::extended_dynamic_state::Device::new(&c.instance, d);
        eds.cmd_set_cull_mode(cb, vk::CullModeFlags::FRONT);
        d.cmd_pipeline_barrier(
            cb,
            vk::PipelineStageFlags::TOP_OF_PIPE,
            vk::PipelineStageFlags::TRANSFER,
            vk::DependencyFlags::empty(),
            &[],
            &[],
            &[vk::ImageMemoryBarrier::default()
                .image(img)
                .new_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)],
        );
        let range = vk::ImageSubresourceRange {
            aspect_mask: vk::ImageAspectFlags::DEPTH,
            base_mip_level: 0,
            level_count: 1,
            base_array_layer: 0,
            layer_count: 1,
        };
        d.cmd_clear_depth_stencil_image(
            cb,
            img,
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
            &vk::ClearDepthStencilValue {
                depth: 0.5,
                stencil: 3,
            },
            &[range],
        );
        let dr = ash::khr::dynamic_rendering::Device::new(&c.instance, d);
        let color = [vk::RenderingAttachmentInfo::default()
            .image_view(s.view)
            .load_op(vk::AttachmentLoadOp::LOAD)
            .store_op(vk::AttachmentStoreOp::STORE)];
        dr.cmd_begin_rendering(
            cb,
            &vk::RenderingInfo::default()
                .render_area(vk::Rect2D {
                    offset: vk::Offset2D { x: 1, y: 2 },
                    extent: vk::Extent2D {
                        width: 3,
                        height: 4,
                    },
                })
                .layer_count(1)
                .color_attachments(&color),
        );
        d.cmd_draw(cb, 3, 1, 0, 0);
        dr.cmd_end_rendering(cb);
        d.cmd_copy_image_to_buffer(
            cb,
            img,
            vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
            vb,
            &[vk::BufferImageCopy {
                buffer_offset: 512,
                image_subresource: vk::ImageSubresourceLayers {
                    aspect_mask: vk::ImageAspectFlags::DEPTH,
                    mip_level: 0,
                    base_array_layer: 0,
                    layer_count: 1,
                },
                image_extent: vk::Extent3D {
                    width: 8,
                    height: 8,
                    depth: 1,
                },
                ..Default::default()
            }],
        );
        d.end_command_buffer(cb).unwrap();
        submit(&c, cb, vk::Fence::null()).unwrap();
    }
    let ex = c.mock.executed.lock().unwrap().clone();
    let names: Vec<_> = ex.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "CmdBeginRenderPass",
            "CmdSetDynamicState",
            "CmdSetDynamicState",
            "CmdBindVertexBuffers",
            "CmdBindIndexBuffer",
            "CmdDrawIndexed",
            "CmdDrawIndirectCount",
            "CmdEndRenderPass",
            "CmdSetDynamicState",
            "CmdClearDepthStencilImage",
            "CmdBeginRendering",
            "CmdDraw",
            "CmdEndRendering",
            "CmdCopyImageToBuffer",
        ]
    );
    match &ex[0] {
        // One clear value per attachment: the extra one is dropped.
        Command::CmdBeginRenderPass(b) => {
            assert_eq!(b.clear_values, vec![[0x3f80_0000, 0, 0, 0x3f80_0000]]);
            assert_eq!(b.render_area.extent, [64, 32]);
        }
        other => panic!("{other:?}"),
    }
    match &ex[3] {
        Command::CmdBindVertexBuffers(b) => {
            assert_eq!(b.first_binding, 2);
            assert_eq!(b.buffers[1], 0);
            assert_eq!(b.offsets, vec![16, 0]);
            assert!(b.sizes.is_empty() && b.strides.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ex[2],
        Command::CmdSetDynamicState(wire::CmdSetDynamicState {
            state: DynamicState::StencilReference {
                faces: 3,
                reference: 7
            }
        })
    );
    assert_eq!(
        ex[8],
        Command::CmdSetDynamicState(wire::CmdSetDynamicState {
            state: DynamicState::CullMode(1)
        })
    );
    match &ex[6] {
        Command::CmdDrawIndirectCount(d) => {
            assert!(d.indexed);
            assert_eq!((d.count_offset, d.max_draw_count, d.stride), (64, 10, 20));
        }
        other => panic!("{other:?}"),
    }
    match &ex[10] {
        Command::CmdBeginRendering(r) => {
            assert_eq!(r.render_area.offset, [1, 2]);
            assert_eq!(r.color_attachments.len(), 1);
            assert_ne!(r.color_attachments[0].view, 0);
            assert_eq!(r.depth_attachment, None);
        }
        other => panic!("{other:?}"),
    }
    match &ex[9] {
        Command::CmdClearDepthStencilImage(c) => {
            assert_eq!((c.depth, c.stencil), (0.5, 3));
            assert_eq!(c.ranges[0].aspect_mask, 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unsupported_recorded_state_breaks_the_command_buffer() {
    let c = ctx();
    let d = &c.device;
    // SAFETY: valid handles.
    unsafe {
        let cb = cmd_buffer(&c);
        ash::ext::extended_dynamic_state2::Device::new(&c.instance, d)
            .cmd_set_logic_op(cb, vk::LogicOp::XOR);
        d.end_command_buffer(cb).unwrap();
        assert_eq!(
            submit(&c, cb, vk::Fence::null()),
            Err(vk::Result::ERROR_DEVICE_LOST)
        );
    }
}

#[test]
fn multiview_view_masks_reach_the_wire_and_oversized_ones_are_refused() {
    let c = ctx();
    let d = &c.device;
    let attachments = [vk::AttachmentDescription::default()
        .format(vk::Format::R8G8B8A8_UNORM)
        .samples(vk::SampleCountFlags::TYPE_1)
        .load_op(vk::AttachmentLoadOp::CLEAR)
        .store_op(vk::AttachmentStoreOp::STORE)];
    let color = [vk::AttachmentReference {
        attachment: 0,
        layout: vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL,
    }];
    let subpasses = [vk::SubpassDescription::default()
        .pipeline_bind_point(vk::PipelineBindPoint::GRAPHICS)
        .color_attachments(&color)];
    let create = |masks: &[u32]| {
        let mut multiview = vk::RenderPassMultiviewCreateInfo::default().view_masks(masks);
        // SAFETY: valid create info whose arrays live for the call.
        unsafe {
            d.create_render_pass(
                &vk::RenderPassCreateInfo::default()
                    .attachments(&attachments)
                    .subpasses(&subpasses)
                    .push_next(&mut multiview),
                None,
            )
        }
    };
    // vkCreateRenderPass (the 1.0 path) with VkRenderPassMultiviewCreateInfo.
    assert!(create(&[0b101]).is_ok());
    flush(&c);
    let last = top(&c)
        .into_iter()
        .rev()
        .find_map(|c| match c {
            Command::CreateRenderPass(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(last.subpasses[0].view_mask, 0b101);
    // Views beyond maxMultiviewViewCount (8).
    assert!(create(&[1 << 8]).is_err());
}
