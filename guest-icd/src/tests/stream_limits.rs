//! The device's `max_stream_size` (capset), against a mock that enforces it as vhost-device
//! does — a stream or a recorded command buffer past it fails the submission and loses the
//! device: queued top-level commands that outgrow one stream go in several, in order, and none
//! is dropped; a batch of many command buffers becomes several `Submit`s; a single command
//! larger than a stream is refused at the call that queued it; a recording past the limit
//! fails `vkEndCommandBuffer`. The device is never lost.

use super::mock::{self, MockTransport};
use super::{buffer, cmd_buffer, ctx_with, device_survives, spirv, Ctx};
use ash::vk;
use protocol::Command;
use std::sync::atomic::Ordering;

/// A stream limit small enough that a few hundred small commands outgrow it.
const MAX_STREAM: u32 = 1024;

fn small_streams() -> Ctx {
    let mut capset = mock::capset();
    capset.max_stream_size = MAX_STREAM;
    ctx_with(MockTransport::with_capset(capset))
}

/// Every stream the mock received fitted the limit (the mock loses the device otherwise).
fn all_streams_fit(c: &Ctx) {
    let sizes = c.mock.stream_sizes.lock().unwrap();
    assert!(sizes.iter().all(|&s| s <= MAX_STREAM as usize), "{sizes:?}");
}

fn top(c: &Ctx, pick: impl Fn(&Command) -> bool) -> Vec<Command> {
    c.mock
        .top
        .lock()
        .unwrap()
        .iter()
        .filter(|c| pick(c))
        .cloned()
        .collect()
}

fn shader_module(c: &Ctx, code: &[u32]) -> Result<vk::ShaderModule, vk::Result> {
    // SAFETY: valid create info.
    unsafe {
        c.device
            .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(code), None)
    }
}

#[test]
fn queued_creates_past_the_stream_limit_go_in_several_streams_and_none_is_dropped() {
    let c = small_streams();
    let n = 300;
    let mut ids = Vec::new();
    for _ in 0..n {
        // SAFETY: valid create info.
        let b = unsafe {
            c.device.create_buffer(
                &vk::BufferCreateInfo::default()
                    .size(64)
                    .usage(vk::BufferUsageFlags::STORAGE_BUFFER),
                None,
            )
        }
        .unwrap();
        // SAFETY: a live buffer of ours.
        ids.push(unsafe { crate::buffer::buffer(b) }.unwrap().id);
    }
    // The queue outgrew one stream several times: those streams went out already.
    let early = c.mock.submits.load(Ordering::SeqCst);
    assert!(early >= 3, "only {early} streams sent while queueing");
    device_survives(&c);
    let sent: Vec<u64> = top(&c, |cmd| matches!(cmd, Command::CreateBuffer(_)))
        .into_iter()
        .map(|cmd| match cmd {
            Command::CreateBuffer(b) => b.id,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(sent, ids, "every create sent once, in order");
    all_streams_fit(&c);
}

#[test]
fn one_command_larger_than_a_stream_is_refused_at_its_call_and_holds_nothing() {
    let mut capset = mock::capset();
    capset.max_stream_size = MAX_STREAM;
    capset.client.max_objects = Some(1);
    let c = ctx_with(MockTransport::with_capset(capset));
    let mut big = spirv(7);
    // Words are varints on the wire: large ones take 5 bytes each.
    big.resize(MAX_STREAM as usize / 4 + 16, u32::MAX);
    assert_eq!(
        shader_module(&c, &big).err(),
        Some(vk::Result::ERROR_OUT_OF_HOST_MEMORY)
    );
    assert!(top(&c, |cmd| matches!(cmd, Command::CreateShaderModule(_))).is_empty());
    // The refused create holds no object: the one object the cap allows is still free.
    let small = shader_module(&c, &spirv(7)).unwrap();
    device_survives(&c);
    assert_eq!(
        top(&c, |cmd| matches!(cmd, Command::CreateShaderModule(_))).len(),
        1
    );
    all_streams_fit(&c);
    // SAFETY: a module of this device, not used again.
    unsafe { c.device.destroy_shader_module(small, None) };
}

#[test]
fn a_batch_of_more_command_buffers_than_one_submit_holds_is_split_in_order() {
    let c = small_streams();
    let (buf, _mem) = buffer(&c, 4096);
    let n = 400u32;
    let cbs: Vec<vk::CommandBuffer> = (0..n)
        .map(|i| {
            let cb = cmd_buffer(&c);
            // SAFETY: recording command buffers of this device.
            unsafe {
                c.device.cmd_fill_buffer(cb, buf, 0, 4, i);
                c.device.end_command_buffer(cb).unwrap();
            }
            cb
        })
        .collect();
    // SAFETY: valid create infos; handles of this device throughout.
    unsafe {
        let mut kind = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(0);
        let sem = c
            .device
            .create_semaphore(
                &vk::SemaphoreCreateInfo::default().push_next(&mut kind),
                None,
            )
            .unwrap();
        let fence = c
            .device
            .create_fence(&vk::FenceCreateInfo::default(), None)
            .unwrap();
        let (sems, values) = ([sem], [7u64]);
        let mut timeline =
            vk::TimelineSemaphoreSubmitInfo::default().signal_semaphore_values(&values);
        let info = vk::SubmitInfo::default()
            .command_buffers(&cbs)
            .signal_semaphores(&sems)
            .push_next(&mut timeline);
        c.device.queue_submit(c.queue, &[info], fence).unwrap();
        c.device.wait_for_fences(&[fence], true, u64::MAX).unwrap();
        let tl = ash::khr::timeline_semaphore::Device::new(&c.instance, &c.device);
        assert_eq!(tl.get_semaphore_counter_value(sem), Ok(7));
        c.device.destroy_fence(fence, None);
        c.device.destroy_semaphore(sem, None);
    }
    let fills: Vec<u32> = c
        .mock
        .executed
        .lock()
        .unwrap()
        .iter()
        .filter_map(|cmd| match cmd {
            Command::CmdFillBuffer(f) => Some(f.data),
            _ => None,
        })
        .collect();
    assert_eq!(
        fills,
        (0..n).collect::<Vec<_>>(),
        "every command buffer ran once, in order"
    );
    let submits = top(&c, |cmd| matches!(cmd, Command::Submit(_)));
    assert!(submits.len() >= 2, "one Submit of {n} ranges cannot fit");
    // The batch's signal travels with its last part only.
    let signalling: Vec<bool> = submits
        .iter()
        .map(|cmd| matches!(cmd, Command::Submit(s) if !s.signals.is_empty()))
        .collect();
    assert_eq!(signalling.iter().filter(|s| **s).count(), 1);
    assert_eq!(signalling.last(), Some(&true));
    all_streams_fit(&c);
}

#[test]
fn a_recording_past_the_stream_limit_fails_end_and_submit_with_out_of_device_memory() {
    let c = small_streams();
    let (buf, _mem) = buffer(&c, 4096);
    let cb = cmd_buffer(&c);
    // SAFETY: a recording command buffer of this device.
    unsafe {
        for i in 0..200 {
            c.device.cmd_fill_buffer(cb, buf, 0, 4, i);
        }
        assert_eq!(
            c.device.end_command_buffer(cb).err(),
            Some(vk::Result::ERROR_OUT_OF_DEVICE_MEMORY)
        );
    }
    assert_eq!(
        super::submit(&c, cb, vk::Fence::null()).err(),
        Some(vk::Result::ERROR_OUT_OF_DEVICE_MEMORY),
        "never sent, never silently skipped"
    );
    assert!(c.mock.executed.lock().unwrap().is_empty());
    device_survives(&c);
    // Re-recorded within the limit, the same command buffer runs.
    // SAFETY: as above; the buffer is not pending.
    unsafe {
        c.device
            .begin_command_buffer(cb, &vk::CommandBufferBeginInfo::default())
            .unwrap();
        c.device.cmd_fill_buffer(cb, buf, 0, 4, 9);
        c.device.end_command_buffer(cb).unwrap();
    }
    super::submit(&c, cb, vk::Fence::null()).unwrap();
    device_survives(&c);
    assert_eq!(c.mock.executed.lock().unwrap().len(), 1);
    all_streams_fit(&c);
}

#[test]
fn a_descriptor_write_larger_than_a_stream_breaks_its_set_visibly() {
    // vkUpdateDescriptorSets cannot fail: the write that cannot be sent is not dropped
    // silently — the set is broken, and a command buffer that binds it fails at submission.
    let c = small_streams();
    let d = &c.device;
    let (buf, _mem) = buffer(&c, 4096);
    let n = 200u32;
    // SAFETY: valid create infos and handles of this device throughout.
    unsafe {
        let bindings = [vk::DescriptorSetLayoutBinding::default()
            .binding(0)
            .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
            .descriptor_count(n)
            .stage_flags(vk::ShaderStageFlags::COMPUTE)];
        let dsl = d
            .create_descriptor_set_layout(
                &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
                None,
            )
            .unwrap();
        let layouts = [dsl];
        let layout = d
            .create_pipeline_layout(
                &vk::PipelineLayoutCreateInfo::default().set_layouts(&layouts),
                None,
            )
            .unwrap();
        let pool = d
            .create_descriptor_pool(&vk::DescriptorPoolCreateInfo::default().max_sets(1), None)
            .unwrap();
        let set = d
            .allocate_descriptor_sets(
                &vk::DescriptorSetAllocateInfo::default()
                    .descriptor_pool(pool)
                    .set_layouts(&layouts),
            )
            .unwrap()[0];
        let infos: Vec<vk::DescriptorBufferInfo> = (0..n)
            .map(|_| vk::DescriptorBufferInfo {
                buffer: buf,
                offset: 0,
                range: vk::WHOLE_SIZE,
            })
            .collect();
        let write = vk::WriteDescriptorSet::default()
            .dst_set(set)
            .dst_binding(0)
            .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
            .buffer_info(&infos);
        d.update_descriptor_sets(&[write], &[]);
        let cb = cmd_buffer(&c);
        d.cmd_bind_descriptor_sets(cb, vk::PipelineBindPoint::COMPUTE, layout, 0, &[set], &[]);
        d.end_command_buffer(cb).unwrap();
        assert_eq!(
            super::submit(&c, cb, vk::Fence::null()).err(),
            Some(vk::Result::ERROR_DEVICE_LOST)
        );
    }
    assert!(top(&c, |cmd| matches!(cmd, Command::WriteDescriptorSet(_))).is_empty());
    device_survives(&c);
    all_streams_fit(&c);
}
