//! Tests through the C entry points, as the loader calls them: ash's function loaders over
//! `vk_icdGetInstanceProcAddr`, with a [`mock::MockTransport`] injected per test thread.

#![allow(clippy::unwrap_used)]

mod graphics;
mod mock;
mod object_caps;
mod samplers;
mod stream_limits;

use crate::transport::{Transport, TransportError};
use ash::vk;
use mock::MockTransport;
use protocol::stream as wire;
use protocol::Command;
use std::cell::RefCell;
use std::ffi::CStr;
use std::sync::Arc;

thread_local! {
    static INJECTED: RefCell<Option<Arc<MockTransport>>> = const { RefCell::new(None) };
}

/// The transport `vkEnumeratePhysicalDevices` connects to in tests: this thread's mock.
pub(crate) fn injected_transport() -> Result<Arc<dyn Transport>, TransportError> {
    match INJECTED.with(|i| i.borrow().clone()) {
        Some(m) if m.unavailable => Err(TransportError::Unavailable("mock says no device".into())),
        Some(m) => Ok(m),
        None => Err(TransportError::Unavailable("no transport injected".into())),
    }
}

struct Ctx {
    mock: Arc<MockTransport>,
    _entry: ash::Entry,
    instance: ash::Instance,
    pd: vk::PhysicalDevice,
    device: ash::Device,
    queue: vk::Queue,
}

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: handles made by this context, destroyed once.
        unsafe {
            self.device.destroy_device(None);
            self.instance.destroy_instance(None);
        }
    }
}

fn entry() -> ash::Entry {
    // SAFETY: our GetInstanceProcAddr follows the Vulkan contract.
    unsafe {
        ash::Entry::from_static_fn(ash::StaticFn {
            get_instance_proc_addr: crate::vk_icdGetInstanceProcAddr,
        })
    }
}

fn instance_with(mock: Arc<MockTransport>) -> (ash::Entry, ash::Instance) {
    INJECTED.with(|i| *i.borrow_mut() = Some(mock));
    let entry = entry();
    let exts = [vk::KHR_GET_PHYSICAL_DEVICE_PROPERTIES2_NAME.as_ptr()];
    let info = vk::InstanceCreateInfo::default().enabled_extension_names(&exts);
    // SAFETY: valid create info.
    let instance = unsafe { entry.create_instance(&info, None) }.unwrap();
    (entry, instance)
}

fn ctx() -> Ctx {
    ctx_with(MockTransport::new())
}

/// A device on `mock`.
fn ctx_with(mock: MockTransport) -> Ctx {
    let mock = Arc::new(mock);
    let (entry, instance) = instance_with(mock.clone());
    // SAFETY: valid instance.
    let pd = unsafe { instance.enumerate_physical_devices() }.unwrap()[0];
    let prio = [1.0];
    let queues = [vk::DeviceQueueCreateInfo::default()
        .queue_family_index(0)
        .queue_priorities(&prio)];
    let exts = [
        vk::KHR_TIMELINE_SEMAPHORE_NAME.as_ptr(),
        vk::KHR_SYNCHRONIZATION2_NAME.as_ptr(),
    ];
    let mut timeline =
        vk::PhysicalDeviceTimelineSemaphoreFeatures::default().timeline_semaphore(true);
    let info = vk::DeviceCreateInfo::default()
        .queue_create_infos(&queues)
        .enabled_extension_names(&exts)
        .push_next(&mut timeline);
    // SAFETY: valid create info.
    let device = unsafe { instance.create_device(pd, &info, None) }.unwrap();
    // SAFETY: family 0 index 0 exists.
    let queue = unsafe { device.get_device_queue(0, 0) };
    Ctx {
        mock,
        _entry: entry,
        instance,
        pd,
        device,
        queue,
    }
}

/// Sends what is queued and runs a fenced submission to completion: the device is not lost.
fn device_survives(c: &Ctx) {
    // SAFETY: handles of this device; the fence is waited for before it is destroyed.
    unsafe {
        c.device.device_wait_idle().unwrap();
        let fence = c
            .device
            .create_fence(&vk::FenceCreateInfo::default(), None)
            .unwrap();
        c.device.queue_submit(c.queue, &[], fence).unwrap();
        c.device.wait_for_fences(&[fence], true, u64::MAX).unwrap();
        c.device.destroy_fence(fence, None);
    }
}

fn spirv(marker: u32) -> Vec<u32> {
    vec![0x0723_0203, marker, 0, 8, 0]
}

/// A storage buffer of `size` bytes bound to fresh memory.
fn buffer(c: &Ctx, size: u64) -> (vk::Buffer, vk::DeviceMemory) {
    let d = &c.device;
    // SAFETY: valid create infos; handles of this device.
    unsafe {
        let b = d
            .create_buffer(
                &vk::BufferCreateInfo::default()
                    .size(size)
                    .usage(vk::BufferUsageFlags::STORAGE_BUFFER),
                None,
            )
            .unwrap();
        let req = d.get_buffer_memory_requirements(b);
        assert_eq!(req.alignment, 256);
        assert_eq!(req.memory_type_bits, 1);
        let m = d
            .allocate_memory(
                &vk::MemoryAllocateInfo::default()
                    .allocation_size(req.size)
                    .memory_type_index(0),
                None,
            )
            .unwrap();
        d.bind_buffer_memory(b, m, 0).unwrap();
        (b, m)
    }
}

fn cmd_buffer(c: &Ctx) -> vk::CommandBuffer {
    // SAFETY: valid create infos.
    unsafe {
        let pool = c
            .device
            .create_command_pool(
                &vk::CommandPoolCreateInfo::default().queue_family_index(0),
                None,
            )
            .unwrap();
        let cb = c
            .device
            .allocate_command_buffers(
                &vk::CommandBufferAllocateInfo::default()
                    .command_pool(pool)
                    .command_buffer_count(1),
            )
            .unwrap()[0];
        c.device
            .begin_command_buffer(cb, &vk::CommandBufferBeginInfo::default())
            .unwrap();
        cb
    }
}

fn submit(c: &Ctx, cb: vk::CommandBuffer, fence: vk::Fence) -> Result<(), vk::Result> {
    let cbs = [cb];
    // SAFETY: recorded command buffer of this device.
    unsafe {
        c.device.queue_submit(
            c.queue,
            &[vk::SubmitInfo::default().command_buffers(&cbs)],
            fence,
        )
    }
}

#[test]
fn every_entry_point_resolves_and_device_level_ones_only_through_device_proc_addr() {
    for name in crate::entry_points::NAMES {
        let c = std::ffi::CString::new(*name).unwrap();
        // SAFETY: NUL-terminated name.
        let f = unsafe { crate::vk_icdGetInstanceProcAddr(vk::Instance::null(), c.as_ptr()) };
        assert!(f.is_some(), "{name} missing");
    }
    // SAFETY: NUL-terminated names.
    unsafe {
        assert!(crate::device_proc_addr(c"vkCmdDispatch".as_ptr()).is_some());
        assert!(crate::device_proc_addr(c"vkCreateInstance".as_ptr()).is_none());
        assert!(crate::vk_icdGetPhysicalDeviceProcAddr(
            vk::Instance::null(),
            c"vkGetPhysicalDeviceFeatures2KHR".as_ptr()
        )
        .is_some());
        assert!(crate::vk_icdGetPhysicalDeviceProcAddr(
            vk::Instance::null(),
            c"vkCmdDispatch".as_ptr()
        )
        .is_none());
        assert!(
            crate::vk_icdGetInstanceProcAddr(vk::Instance::null(), c"vkNoSuchThing".as_ptr())
                .is_none()
        );
    }
}

#[test]
fn loader_interface_version_5_is_agreed_and_older_refused() {
    let mut v = 7;
    assert_eq!(
        // SAFETY: valid pointer.
        unsafe { crate::vk_icdNegotiateLoaderICDInterfaceVersion(&mut v) },
        vk::Result::SUCCESS
    );
    assert_eq!(v, 5);
    let mut v = 4;
    assert_eq!(
        // SAFETY: valid pointer.
        unsafe { crate::vk_icdNegotiateLoaderICDInterfaceVersion(&mut v) },
        vk::Result::ERROR_INCOMPATIBLE_DRIVER
    );
}

#[test]
fn unavailable_device_means_zero_physical_devices() {
    let mut mock = MockTransport::new();
    mock.unavailable = true;
    let (_e, instance) = instance_with(Arc::new(mock));
    // SAFETY: valid instance.
    unsafe {
        assert!(instance.enumerate_physical_devices().unwrap().is_empty());
        instance.destroy_instance(None);
    }
}

#[test]
fn unknown_instance_extension_is_refused() {
    INJECTED.with(|i| *i.borrow_mut() = Some(Arc::new(MockTransport::new())));
    let exts = [c"VK_KHR_surface".as_ptr()];
    // SAFETY: valid create info.
    let r = unsafe {
        entry().create_instance(
            &vk::InstanceCreateInfo::default().enabled_extension_names(&exts),
            None,
        )
    };
    assert_eq!(r.err(), Some(vk::Result::ERROR_EXTENSION_NOT_PRESENT));
}

#[test]
fn physical_device_reports_capset_limits_and_one_coherent_memory_type() {
    let c = ctx();
    // SAFETY: valid physical device.
    unsafe {
        let p = c.instance.get_physical_device_properties(c.pd);
        assert_eq!(
            CStr::from_ptr(p.device_name.as_ptr()),
            c"softgpu (CPU, virtio-gpu)"
        );
        assert_eq!(p.device_type, vk::PhysicalDeviceType::CPU);
        assert_eq!(p.vendor_id, 0x1af4);
        assert_eq!(vk::api_version_minor(p.api_version), 0);
        assert_eq!(p.limits.max_push_constants_size, 256);
        assert_eq!(p.limits.max_compute_work_group_size, [1024, 1024, 64]);
        assert_eq!(p.limits.timestamp_period, 1.0);
        let m = c.instance.get_physical_device_memory_properties(c.pd);
        assert_eq!((m.memory_type_count, m.memory_heap_count), (1, 1));
        assert_eq!(m.memory_heaps[0].size, 3 << 30);
        let all = vk::MemoryPropertyFlags::DEVICE_LOCAL
            | vk::MemoryPropertyFlags::HOST_VISIBLE
            | vk::MemoryPropertyFlags::HOST_COHERENT
            | vk::MemoryPropertyFlags::HOST_CACHED;
        assert_eq!(m.memory_types[0].property_flags, all);
        let q = c.instance.get_physical_device_queue_family_properties(c.pd);
        assert_eq!(q.len(), 1);
        assert_eq!(
            q[0].queue_flags,
            vk::QueueFlags::GRAPHICS | vk::QueueFlags::COMPUTE | vk::QueueFlags::TRANSFER
        );
        assert_eq!(q[0].timestamp_valid_bits, 64);
        let f = c.instance.get_physical_device_features(c.pd);
        assert_eq!(
            (
                f.robust_buffer_access,
                f.shader_int64,
                f.shader_float64,
                f.geometry_shader
            ),
            (1, 1, 0, 0)
        );
        let mut tl = vk::PhysicalDeviceTimelineSemaphoreFeatures::default();
        let mut f2 = vk::PhysicalDeviceFeatures2::default().push_next(&mut tl);
        ash::khr::get_physical_device_properties2::Instance::new(&c._entry, &c.instance)
            .get_physical_device_features2(c.pd, &mut f2);
        assert_eq!(tl.timeline_semaphore, vk::TRUE);
        assert!(c
            .instance
            .get_physical_device_format_properties(c.pd, vk::Format::R8G8B8A8_UNORM)
            .optimal_tiling_features
            .contains(vk::FormatFeatureFlags::COLOR_ATTACHMENT_BLEND));
        let r = c.instance.get_physical_device_image_format_properties(
            c.pd,
            vk::Format::R8G8B8A8_UNORM,
            vk::ImageType::TYPE_2D,
            vk::ImageTiling::OPTIMAL,
            vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::STORAGE,
            vk::ImageCreateFlags::empty(),
        );
        assert!(r.is_ok());
        // sRGB has no storage format.
        let r = c.instance.get_physical_device_image_format_properties(
            c.pd,
            vk::Format::R8G8B8A8_SRGB,
            vk::ImageType::TYPE_2D,
            vk::ImageTiling::OPTIMAL,
            vk::ImageUsageFlags::STORAGE,
            vk::ImageCreateFlags::empty(),
        );
        assert_eq!(r.err(), Some(vk::Result::ERROR_FORMAT_NOT_SUPPORTED));
        let exts = c
            .instance
            .enumerate_device_extension_properties(c.pd)
            .unwrap();
        assert_eq!(exts.len(), crate::physical_device::DEVICE_EXTENSIONS.len());
    }
}

#[test]
fn device_creation_refuses_unsupported_features_and_extensions() {
    let c = ctx();
    let prio = [1.0];
    let queues = [vk::DeviceQueueCreateInfo::default()
        .queue_family_index(0)
        .queue_priorities(&prio)];
    let features = vk::PhysicalDeviceFeatures::default().geometry_shader(true);
    // SAFETY: valid create infos.
    unsafe {
        let r = c.instance.create_device(
            c.pd,
            &vk::DeviceCreateInfo::default()
                .queue_create_infos(&queues)
                .enabled_features(&features),
            None,
        );
        assert_eq!(r.err(), Some(vk::Result::ERROR_FEATURE_NOT_PRESENT));
        let exts = [c"VK_KHR_swapchain".as_ptr()];
        let r = c.instance.create_device(
            c.pd,
            &vk::DeviceCreateInfo::default()
                .queue_create_infos(&queues)
                .enabled_extension_names(&exts),
            None,
        );
        assert_eq!(r.err(), Some(vk::Result::ERROR_EXTENSION_NOT_PRESENT));
    }
}

#[test]
fn memory_is_sub_allocated_from_blocks_and_big_allocations_get_their_own() {
    let c = ctx();
    let d = &c.device;
    // The device's reply slot already took the first block.
    assert_eq!(c.mock.live_blocks(), vec![64 << 20]);
    let info = |size| {
        vk::MemoryAllocateInfo::default()
            .allocation_size(size)
            .memory_type_index(0)
    };
    // SAFETY: valid allocate infos; memory of this device.
    unsafe {
        let a = d.allocate_memory(&info(1000), None).unwrap();
        let b = d.allocate_memory(&info(1000), None).unwrap();
        assert_eq!(c.mock.live_blocks(), vec![64 << 20]);
        let pa = d
            .map_memory(a, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
            .unwrap() as usize;
        let pb = d
            .map_memory(b, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
            .unwrap() as usize;
        assert_eq!(pa % 256, 0);
        assert_eq!(pb % 256, 0);
        assert!(pa.abs_diff(pb) >= 1024, "sub-allocations overlap");
        let big = d.allocate_memory(&info(65 << 20), None).unwrap();
        assert_eq!(c.mock.live_blocks(), vec![64 << 20, 65 << 20]);
        d.free_memory(big, None);
        assert_eq!(c.mock.live_blocks(), vec![64 << 20]);
        let r = d.map_memory(a, 2000, 16, vk::MemoryMapFlags::empty());
        assert_eq!(r.err(), Some(vk::Result::ERROR_MEMORY_MAP_FAILED));
        d.free_memory(a, None);
        d.free_memory(b, None);
        let bad = d.allocate_memory(
            &vk::MemoryAllocateInfo::default()
                .allocation_size(16)
                .memory_type_index(1),
            None,
        );
        assert_eq!(bad.err(), Some(vk::Result::ERROR_OUT_OF_DEVICE_MEMORY));
    }
}

#[test]
fn a_compute_dispatch_sends_objects_then_the_recorded_commands() {
    let c = ctx();
    let d = &c.device;
    let (buf, mem) = buffer(&c, 4096);
    // SAFETY: valid create infos and handles of this device throughout.
    unsafe {
        let code = spirv(1);
        let module = d
            .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&code), None)
            .unwrap();
        let bindings = [vk::DescriptorSetLayoutBinding::default()
            .binding(0)
            .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
            .descriptor_count(1)
            .stage_flags(vk::ShaderStageFlags::COMPUTE)];
        let dsl = d
            .create_descriptor_set_layout(
                &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
                None,
            )
            .unwrap();
        let dsls = [dsl];
        let ranges = [vk::PushConstantRange {
            stage_flags: vk::ShaderStageFlags::COMPUTE,
            offset: 0,
            size: 8,
        }];
        let layout = d
            .create_pipeline_layout(
                &vk::PipelineLayoutCreateInfo::default()
                    .set_layouts(&dsls)
                    .push_constant_ranges(&ranges),
                None,
            )
            .unwrap();
        let sizes = [vk::DescriptorPoolSize {
            ty: vk::DescriptorType::STORAGE_BUFFER,
            descriptor_count: 1,
        }];
        let pool = d
            .create_descriptor_pool(
                &vk::DescriptorPoolCreateInfo::default()
                    .max_sets(1)
                    .pool_sizes(&sizes),
                None,
            )
            .unwrap();
        let set = d
            .allocate_descriptor_sets(
                &vk::DescriptorSetAllocateInfo::default()
                    .descriptor_pool(pool)
                    .set_layouts(&dsls),
            )
            .unwrap()[0];
        let more = d.allocate_descriptor_sets(
            &vk::DescriptorSetAllocateInfo::default()
                .descriptor_pool(pool)
                .set_layouts(&dsls),
        );
        assert_eq!(more.err(), Some(vk::Result::ERROR_OUT_OF_POOL_MEMORY));
        let infos = [vk::DescriptorBufferInfo {
            buffer: buf,
            offset: 0,
            range: vk::WHOLE_SIZE,
        }];
        let write = vk::WriteDescriptorSet::default()
            .dst_set(set)
            .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
            .buffer_info(&infos);
        d.update_descriptor_sets(&[write], &[]);
        let stage = vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::COMPUTE)
            .module(module)
            .name(c"main");
        let pipeline = d
            .create_compute_pipelines(
                vk::PipelineCache::null(),
                &[vk::ComputePipelineCreateInfo::default()
                    .stage(stage)
                    .layout(layout)],
                None,
            )
            .unwrap()[0];
        let cb = cmd_buffer(&c);
        d.cmd_bind_pipeline(cb, vk::PipelineBindPoint::COMPUTE, pipeline);
        d.cmd_bind_descriptor_sets(cb, vk::PipelineBindPoint::COMPUTE, layout, 0, &[set], &[]);
        d.cmd_push_constants(
            cb,
            layout,
            vk::ShaderStageFlags::COMPUTE,
            0,
            &[1, 2, 3, 4, 5, 6, 7, 8],
        );
        d.cmd_pipeline_barrier(
            cb,
            vk::PipelineStageFlags::COMPUTE_SHADER,
            vk::PipelineStageFlags::COMPUTE_SHADER,
            vk::DependencyFlags::empty(),
            &[],
            &[],
            &[],
        );
        d.cmd_dispatch(cb, 64, 2, 1);
        d.cmd_fill_buffer(cb, buf, 0, vk::WHOLE_SIZE, 7);
        d.cmd_update_buffer(cb, buf, 16, &[9, 9, 9, 9]);
        d.cmd_copy_buffer(
            cb,
            buf,
            buf,
            &[vk::BufferCopy {
                src_offset: 0,
                dst_offset: 2048,
                size: 16,
            }],
        );
        d.cmd_dispatch_indirect(cb, buf, 32);
        d.end_command_buffer(cb).unwrap();
        let fence = d
            .create_fence(&vk::FenceCreateInfo::default(), None)
            .unwrap();
        submit(&c, cb, fence).unwrap();
        d.wait_for_fences(&[fence], true, u64::MAX).unwrap();
        assert_eq!(d.get_fence_status(fence), Ok(true));

        let top = c.mock.top.lock().unwrap().clone();
        let names: Vec<&str> = top.iter().map(|c| c.name()).collect();
        assert_eq!(
            names,
            [
                "CreateBuffer",
                "BindBufferMemory",
                "CreateShaderModule",
                "CreateDescriptorSetLayout",
                "CreatePipelineLayout",
                "CreateDescriptorSet",
                "WriteDescriptorSet",
                "CreateComputePipeline",
                "Submit"
            ]
        );
        let Command::CreateBuffer(cbuf) = &top[0] else {
            panic!()
        };
        let Command::BindBufferMemory(bind) = &top[1] else {
            panic!()
        };
        assert_eq!((bind.buffer, bind.memory.offset % 256), (cbuf.id, 0));
        let Command::CreateComputePipeline(p) = &top[7] else {
            panic!()
        };
        assert_eq!(p.entry, "main");
        let executed = c.mock.executed.lock().unwrap().clone();
        assert_eq!(executed.len(), 8);
        assert_eq!(
            executed[0],
            Command::from(wire::CmdBindComputePipeline { pipeline: p.id })
        );
        let Command::CmdBindDescriptorSets(bs) = &executed[1] else {
            panic!()
        };
        assert_eq!((bs.layout, bs.first_set, bs.sets.len()), (p.layout, 0, 1));
        assert_eq!(
            executed[2],
            Command::from(wire::CmdPushConstants {
                layout: p.layout,
                stages: 0x20,
                offset: 0,
                data: vec![1, 2, 3, 4, 5, 6, 7, 8]
            })
        );
        assert_eq!(
            executed[3],
            Command::from(wire::CmdDispatch {
                base: [0; 3],
                groups: [64, 2, 1]
            })
        );
        assert_eq!(
            executed[4],
            Command::from(wire::CmdFillBuffer {
                dst: cbuf.id,
                offset: 0,
                size: u64::MAX,
                data: 7
            })
        );
        assert_eq!(
            executed[5],
            Command::from(wire::CmdUpdateBuffer {
                dst: cbuf.id,
                offset: 16,
                data: vec![9; 4]
            })
        );
        assert_eq!(
            executed[7],
            Command::from(wire::CmdDispatchIndirect {
                buffer: cbuf.id,
                offset: 32
            })
        );

        d.destroy_pipeline(pipeline, None);
        d.free_memory(mem, None);
        d.destroy_buffer(buf, None);
        d.device_wait_idle().unwrap();
        let top = c.mock.top.lock().unwrap();
        assert!(top.iter().any(|c| matches!(c, Command::DestroyPipeline(_))));
        assert!(top
            .iter()
            .any(|c| matches!(c, Command::DestroyBuffer(b) if b.id == cbuf.id)));
    }
}

#[test]
fn invalid_spirv_gives_the_app_an_error_not_a_crash() {
    let c = ctx();
    let d = &c.device;
    // SAFETY: valid create infos; garbage only inside the SPIR-V words.
    unsafe {
        let garbage = [1u32, 2, 3, 4, 5];
        let r = d.create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&garbage), None);
        assert_eq!(r.err(), Some(vk::Result::ERROR_INVALID_SHADER_NV));
        let code = spirv(mock::BAD_SPIRV_MARKER);
        let module = d
            .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&code), None)
            .unwrap();
        let layout = d
            .create_pipeline_layout(&vk::PipelineLayoutCreateInfo::default(), None)
            .unwrap();
        let stage = vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::COMPUTE)
            .module(module)
            .name(c"main");
        let r = d.create_compute_pipelines(
            vk::PipelineCache::null(),
            &[vk::ComputePipelineCreateInfo::default()
                .stage(stage)
                .layout(layout)],
            None,
        );
        let (pipelines, err) = r.err().unwrap();
        assert_eq!(err, vk::Result::ERROR_INITIALIZATION_FAILED);
        assert_eq!(pipelines, vec![vk::Pipeline::null()]);
    }
}

#[test]
fn unimplemented_commands_fail_visibly() {
    let c = ctx();
    let d = &c.device;
    // SAFETY: valid create infos and handles.
    unsafe {
        let img = vk::ImageCreateInfo::default()
            .image_type(vk::ImageType::TYPE_2D)
            .format(vk::Format::R8G8B8A8_SRGB)
            .extent(vk::Extent3D {
                width: 4,
                height: 4,
                depth: 1,
            })
            .mip_levels(1)
            .array_layers(1)
            .samples(vk::SampleCountFlags::TYPE_1)
            .usage(vk::ImageUsageFlags::STORAGE);
        assert!(d.create_image(&img, None).is_err());
        let cb = cmd_buffer(&c);
        d.cmd_dispatch(cb, 1, 1, 1);
        d.cmd_execute_commands(cb, &[]);
        d.end_command_buffer(cb).unwrap();
        assert_eq!(
            submit(&c, cb, vk::Fence::null()),
            Err(vk::Result::ERROR_DEVICE_LOST)
        );
        // A broken command buffer is reusable after a reset.
        d.reset_command_buffer(cb, vk::CommandBufferResetFlags::empty())
            .unwrap();
        d.begin_command_buffer(cb, &vk::CommandBufferBeginInfo::default())
            .unwrap();
        d.cmd_dispatch(cb, 1, 1, 1);
        d.end_command_buffer(cb).unwrap();
        assert_eq!(submit(&c, cb, vk::Fence::null()), Ok(()));
    }
}

#[test]
fn fences_wait_for_the_device_and_time_out() {
    let c = ctx();
    let d = &c.device;
    c.mock
        .auto_complete
        .store(false, std::sync::atomic::Ordering::SeqCst);
    // SAFETY: valid handles.
    unsafe {
        let fence = d
            .create_fence(&vk::FenceCreateInfo::default(), None)
            .unwrap();
        assert_eq!(d.get_fence_status(fence), Ok(false));
        d.queue_submit(c.queue, &[], fence).unwrap();
        assert_eq!(d.get_fence_status(fence), Ok(false));
        assert_eq!(
            d.wait_for_fences(&[fence], true, 1_000_000),
            Err(vk::Result::TIMEOUT)
        );
        c.mock.complete_all();
        assert_eq!(d.wait_for_fences(&[fence], true, 1_000_000), Ok(()));
        d.reset_fences(&[fence]).unwrap();
        assert_eq!(d.get_fence_status(fence), Ok(false));
        let signaled = d
            .create_fence(
                &vk::FenceCreateInfo::default().flags(vk::FenceCreateFlags::SIGNALED),
                None,
            )
            .unwrap();
        assert_eq!(d.wait_for_fences(&[fence, signaled], false, 0), Ok(()));
    }
}

#[test]
fn timeline_semaphores_are_signaled_by_submissions_and_the_host() {
    let c = ctx();
    let d = &c.device;
    let tl = ash::khr::timeline_semaphore::Device::new(&c.instance, d);
    // SAFETY: valid create infos and handles.
    unsafe {
        let mut ty = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(2);
        let sem = d
            .create_semaphore(&vk::SemaphoreCreateInfo::default().push_next(&mut ty), None)
            .unwrap();
        assert_eq!(tl.get_semaphore_counter_value(sem), Ok(2));
        let sems = [sem];
        let values = [5u64];
        let mut tsi = vk::TimelineSemaphoreSubmitInfo::default().signal_semaphore_values(&values);
        let cb = cmd_buffer(&c);
        d.end_command_buffer(cb).unwrap();
        let cbs = [cb];
        let si = vk::SubmitInfo::default()
            .command_buffers(&cbs)
            .signal_semaphores(&sems)
            .push_next(&mut tsi);
        d.queue_submit(c.queue, &[si], vk::Fence::null()).unwrap();
        assert_eq!(
            tl.wait_semaphores(
                &vk::SemaphoreWaitInfo::default()
                    .semaphores(&sems)
                    .values(&values),
                1_000_000_000
            ),
            Ok(())
        );
        assert_eq!(tl.get_semaphore_counter_value(sem), Ok(5));
        let later = [9u64];
        assert_eq!(
            tl.wait_semaphores(
                &vk::SemaphoreWaitInfo::default()
                    .semaphores(&sems)
                    .values(&later),
                1_000_000
            ),
            Err(vk::Result::TIMEOUT)
        );
        tl.signal_semaphore(&vk::SemaphoreSignalInfo::default().semaphore(sem).value(9))
            .unwrap();
        assert_eq!(
            tl.wait_semaphores(
                &vk::SemaphoreWaitInfo::default()
                    .semaphores(&sems)
                    .values(&later),
                0
            ),
            Ok(())
        );
        let Some(Command::Submit(s)) = c.mock.top.lock().unwrap().last().cloned() else {
            panic!()
        };
        assert_eq!(s.signals.len(), 1);
        assert_eq!(s.signals[0].value, 5);
        d.destroy_semaphore(sem, None);
    }
}

#[test]
fn timestamps_and_events_go_through_device_memory() {
    let c = ctx();
    let d = &c.device;
    let sync2 = ash::khr::synchronization2::Device::new(&c.instance, d);
    // SAFETY: valid create infos and handles.
    unsafe {
        let qp = d
            .create_query_pool(
                &vk::QueryPoolCreateInfo::default()
                    .query_type(vk::QueryType::TIMESTAMP)
                    .query_count(4),
                None,
            )
            .unwrap();
        let bad = d.create_query_pool(
            &vk::QueryPoolCreateInfo::default()
                .query_type(vk::QueryType::OCCLUSION)
                .query_count(1),
            None,
        );
        assert_eq!(bad.err(), Some(vk::Result::ERROR_FEATURE_NOT_PRESENT));
        let ev = d
            .create_event(&vk::EventCreateInfo::default(), None)
            .unwrap();
        assert_eq!(d.get_event_status(ev), Ok(false));
        d.set_event(ev).unwrap();
        assert_eq!(d.get_event_status(ev), Ok(true));
        d.reset_event(ev).unwrap();

        let cb = cmd_buffer(&c);
        d.cmd_reset_query_pool(cb, qp, 0, 4);
        d.cmd_write_timestamp(cb, vk::PipelineStageFlags::BOTTOM_OF_PIPE, qp, 1);
        sync2.cmd_write_timestamp2(cb, vk::PipelineStageFlags2::ALL_COMMANDS, qp, 2);
        d.cmd_set_event(cb, ev, vk::PipelineStageFlags::ALL_COMMANDS);
        d.end_command_buffer(cb).unwrap();
        let cbs = [vk::CommandBufferSubmitInfo::default().command_buffer(cb)];
        sync2
            .queue_submit2(
                c.queue,
                &[vk::SubmitInfo2::default().command_buffer_infos(&cbs)],
                vk::Fence::null(),
            )
            .unwrap();
        d.queue_wait_idle(c.queue).unwrap();

        assert_eq!(d.get_event_status(ev), Ok(true));
        let mut out = [[0u64; 2]; 2];
        d.get_query_pool_results(
            qp,
            1,
            &mut out,
            vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WITH_AVAILABILITY,
        )
        .unwrap();
        assert_eq!(out, [[1234, 1], [1234, 1]]);
        let mut unwritten = [[7u32; 2]; 1];
        let r = d.get_query_pool_results(
            qp,
            0,
            &mut unwritten,
            vk::QueryResultFlags::WITH_AVAILABILITY,
        );
        assert_eq!(r, Err(vk::Result::NOT_READY));
        assert_eq!(unwritten[0][1], 0);
        d.destroy_query_pool(qp, None);
        d.destroy_event(ev, None);
    }
}

#[test]
fn pipeline_cache_data_is_a_valid_empty_header() {
    let c = ctx();
    // SAFETY: valid handles.
    unsafe {
        let cache = c
            .device
            .create_pipeline_cache(&vk::PipelineCacheCreateInfo::default(), None)
            .unwrap();
        let data = c.device.get_pipeline_cache_data(cache).unwrap();
        assert_eq!(data.len(), 32);
        assert_eq!(u32::from_le_bytes(data[0..4].try_into().unwrap()), 32);
        assert_eq!(u32::from_le_bytes(data[4..8].try_into().unwrap()), 1);
        assert_eq!(u32::from_le_bytes(data[8..12].try_into().unwrap()), 0x1af4);
        c.device.destroy_pipeline_cache(cache, None);
    }
}
