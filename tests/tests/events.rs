//! Events through the whole stack: a command buffer waits for an event that the host sets
//! only after the submission (allowed outside render passes), and sets another event that the
//! host then sees. The copy behind the wait must see data the host wrote before `vkSetEvent`.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use ash::vk;

#[test]
fn a_device_wait_on_an_event_the_host_sets_after_submission() {
    let gpu = common::gpu();
    let d = &gpu.device;
    let src = gpu.buffer(4096).unwrap();
    let dst = gpu.buffer(4096).unwrap();
    // SAFETY: live device; the events are destroyed below.
    let (gate, done) = unsafe {
        (
            d.create_event(&vk::EventCreateInfo::default(), None)
                .unwrap(),
            d.create_event(&vk::EventCreateInfo::default(), None)
                .unwrap(),
        )
    };
    let alloc = vk::CommandBufferAllocateInfo::default()
        .command_pool(gpu.command_pool())
        .level(vk::CommandBufferLevel::PRIMARY)
        .command_buffer_count(1);
    // SAFETY: live pool.
    let cb = unsafe { d.allocate_command_buffers(&alloc) }.unwrap()[0];
    // SAFETY: recording a fresh command buffer with live objects.
    unsafe {
        d.begin_command_buffer(cb, &vk::CommandBufferBeginInfo::default())
            .unwrap();
        d.cmd_wait_events(
            cb,
            &[gate],
            vk::PipelineStageFlags::HOST,
            vk::PipelineStageFlags::TRANSFER,
            &[vk::MemoryBarrier::default()
                .src_access_mask(vk::AccessFlags::HOST_WRITE)
                .dst_access_mask(vk::AccessFlags::TRANSFER_READ)],
            &[],
            &[],
        );
        d.cmd_copy_buffer(
            cb,
            src.buffer,
            dst.buffer,
            &[vk::BufferCopy {
                src_offset: 0,
                dst_offset: 0,
                size: 4096,
            }],
        );
        d.cmd_set_event(cb, done, vk::PipelineStageFlags::TRANSFER);
        d.end_command_buffer(cb).unwrap();
    }
    // SAFETY: live device.
    let fence = unsafe { d.create_fence(&vk::FenceCreateInfo::default(), None) }.unwrap();
    let cbs = [cb];
    // SAFETY: executable command buffer, unsignalled fence.
    unsafe {
        d.queue_submit(
            gpu.queue,
            &[vk::SubmitInfo::default().command_buffers(&cbs)],
            fence,
        )
    }
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: live objects.
    unsafe {
        assert!(
            !d.get_fence_status(fence).unwrap(),
            "the submission ran past an unset event"
        );
        assert!(
            !d.get_event_status(done).unwrap(),
            "the event after the wait is already set"
        );
    }
    // The queue is blocked in the device on the event, yet the device keeps serving: memory
    // allocation (virtio-gpu resource creation on the control queue) and a second buffer work.
    let t = std::time::Instant::now();
    let extra = gpu.buffer(64 << 20).unwrap();
    extra.write(&[1u32; 16]);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "allocation waited for the queue"
    );
    // SAFETY: live fence.
    assert!(!unsafe { d.get_fence_status(fence) }.unwrap());
    // The host writes the data, then opens the gate.
    let data: Vec<u32> = (0..1024).map(|i| i * 7 + 1).collect();
    src.write(&data);
    // SAFETY: live event.
    unsafe { d.set_event(gate) }.unwrap();
    // SAFETY: the fence was submitted.
    unsafe { d.wait_for_fences(&[fence], true, 10_000_000_000) }.unwrap();
    assert_eq!(
        dst.read::<u32>(1024),
        data,
        "the copy ran before the host's writes"
    );
    // SAFETY: live event; the work is done, so nothing uses the objects any more.
    unsafe {
        assert!(
            d.get_event_status(done).unwrap(),
            "the device did not set the event"
        );
        d.destroy_fence(fence, None);
        d.free_command_buffers(gpu.command_pool(), &cbs);
        d.destroy_event(gate, None);
        d.destroy_event(done, None);
    }
    gpu.destroy_buffer(extra);
}
