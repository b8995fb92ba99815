//! Timeline semaphores (VK_KHR_timeline_semaphore) through the whole stack, including
//! wait-before-signal: a submission waits for a value that only the host signals afterwards.
//! `vkQueueSubmit` must return at once; the work runs when the host signals.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use ash::vk;

#[test]
fn a_submission_waits_for_a_timeline_value_the_host_signals_later() {
    common::use_softgpu();
    // SAFETY: loading the system loader.
    let entry = unsafe { ash::Entry::load() }.unwrap();
    let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_0);
    // SAFETY: valid create info.
    let instance = unsafe {
        entry.create_instance(
            &vk::InstanceCreateInfo::default().application_info(&app),
            None,
        )
    }
    .unwrap();
    // SAFETY: live instance.
    let pd = unsafe { instance.enumerate_physical_devices() }.unwrap()[0];
    // SAFETY: as above.
    let exts = unsafe { instance.enumerate_device_extension_properties(pd) }.unwrap();
    let name = ash::khr::timeline_semaphore::NAME;
    assert!(
        exts.iter().any(|e| e.extension_name_as_c_str() == Ok(name)),
        "the device does not expose VK_KHR_timeline_semaphore"
    );
    // SAFETY: as above.
    let families = unsafe { instance.get_physical_device_queue_family_properties(pd) };
    let qf = families
        .iter()
        .position(|f| f.queue_flags.contains(vk::QueueFlags::COMPUTE))
        .unwrap() as u32;
    let mut timeline_features =
        vk::PhysicalDeviceTimelineSemaphoreFeatures::default().timeline_semaphore(true);
    let priorities = [1.0f32];
    let queues = [vk::DeviceQueueCreateInfo::default()
        .queue_family_index(qf)
        .queue_priorities(&priorities)];
    let ext_names = [name.as_ptr()];
    let info = vk::DeviceCreateInfo::default()
        .queue_create_infos(&queues)
        .enabled_extension_names(&ext_names)
        .push_next(&mut timeline_features);
    // SAFETY: valid create info; the feature struct outlives the call.
    let device = unsafe { instance.create_device(pd, &info, None) }.unwrap();
    let timeline = ash::khr::timeline_semaphore::Device::new(&instance, &device);
    // SAFETY: one queue was requested.
    let queue = unsafe { device.get_device_queue(qf, 0) };

    // A host-visible buffer the gated work fills.
    // SAFETY: live device and physical device; objects destroyed at the end.
    let (buffer, memory, ptr) = unsafe {
        let buffer = device
            .create_buffer(
                &vk::BufferCreateInfo::default()
                    .size(4096)
                    .usage(vk::BufferUsageFlags::TRANSFER_DST),
                None,
            )
            .unwrap();
        let req = device.get_buffer_memory_requirements(buffer);
        let props = instance.get_physical_device_memory_properties(pd);
        let wanted = vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT;
        let mt = (0..props.memory_type_count)
            .find(|&i| {
                req.memory_type_bits & (1 << i) != 0
                    && props.memory_types[i as usize]
                        .property_flags
                        .contains(wanted)
            })
            .unwrap();
        let memory = device
            .allocate_memory(
                &vk::MemoryAllocateInfo::default()
                    .allocation_size(req.size)
                    .memory_type_index(mt),
                None,
            )
            .unwrap();
        device.bind_buffer_memory(buffer, memory, 0).unwrap();
        let ptr = device
            .map_memory(memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
            .unwrap()
            .cast::<u32>();
        (buffer, memory, ptr)
    };
    let mut type_info = vk::SemaphoreTypeCreateInfo::default()
        .semaphore_type(vk::SemaphoreType::TIMELINE)
        .initial_value(0);
    // SAFETY: live device; the type info outlives the call.
    let sem = unsafe {
        device.create_semaphore(
            &vk::SemaphoreCreateInfo::default().push_next(&mut type_info),
            None,
        )
    }
    .unwrap();
    // SAFETY: live device.
    let pool = unsafe {
        device.create_command_pool(
            &vk::CommandPoolCreateInfo::default().queue_family_index(qf),
            None,
        )
    }
    .unwrap();
    // SAFETY: live pool.
    let cb = unsafe {
        device.allocate_command_buffers(
            &vk::CommandBufferAllocateInfo::default()
                .command_pool(pool)
                .command_buffer_count(1),
        )
    }
    .unwrap()[0];
    // SAFETY: recording a fresh command buffer.
    unsafe {
        device
            .begin_command_buffer(cb, &vk::CommandBufferBeginInfo::default())
            .unwrap();
        device.cmd_fill_buffer(cb, buffer, 0, vk::WHOLE_SIZE, 0x5eed_5eed);
        device.end_command_buffer(cb).unwrap();
    }

    let (wait_values, signal_values) = ([1u64], [2u64]);
    let mut timeline_info = vk::TimelineSemaphoreSubmitInfo::default()
        .wait_semaphore_values(&wait_values)
        .signal_semaphore_values(&signal_values);
    let sems = [sem];
    let stages = [vk::PipelineStageFlags::TRANSFER];
    let cbs = [cb];
    let submit = vk::SubmitInfo::default()
        .wait_semaphores(&sems)
        .wait_dst_stage_mask(&stages)
        .command_buffers(&cbs)
        .signal_semaphores(&sems)
        .push_next(&mut timeline_info);
    let t = Instant::now();
    // SAFETY: valid submission; nothing signals value 1 yet (wait-before-signal is allowed
    // for timeline semaphores).
    unsafe { device.queue_submit(queue, &[submit], vk::Fence::null()) }.unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "vkQueueSubmit blocked on wait-before-signal"
    );
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: live semaphore; mapped memory.
    unsafe {
        assert_eq!(timeline.get_semaphore_counter_value(sem).unwrap(), 0);
        assert_eq!(
            ptr.read_volatile(),
            0,
            "the gated work ran before the host signalled"
        );
        timeline
            .signal_semaphore(&vk::SemaphoreSignalInfo::default().semaphore(sem).value(1))
            .unwrap();
        let values = [2u64];
        timeline
            .wait_semaphores(
                &vk::SemaphoreWaitInfo::default()
                    .semaphores(&sems)
                    .values(&values),
                10_000_000_000,
            )
            .unwrap();
        assert_eq!(timeline.get_semaphore_counter_value(sem).unwrap(), 2);
        for i in 0..1024 {
            assert_eq!(ptr.add(i).read_volatile(), 0x5eed_5eed, "word {i}");
        }
        device.device_wait_idle().unwrap();
        device.destroy_command_pool(pool, None);
        device.destroy_semaphore(sem, None);
        device.destroy_buffer(buffer, None);
        device.free_memory(memory, None);
        device.destroy_device(None);
        instance.destroy_instance(None);
    }
}
