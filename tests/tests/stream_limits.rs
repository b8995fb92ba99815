//! A device started with a small stream limit (`--max-stream-size`): the ICD learns it from the
//! capset and, instead of dropping what outgrows one stream, sends queued top-level commands in
//! several streams and cuts a batch of many command buffers into several `Submit`s — and the
//! results are still right. A single command larger than the limit is refused at its call
//! (VK_ERROR_OUT_OF_HOST_MEMORY), a command buffer that records past it fails
//! vkEndCommandBuffer (VK_ERROR_OUT_OF_DEVICE_MEMORY), and the device is never lost.
//!
//! The test process talks to its own external device (`SOFTGPU_VHOST_SOCKET`), so it lives in
//! a file of its own: the variable is process-wide and is set before the loader is loaded.
#![allow(clippy::unwrap_used)]

mod common;

use ash::vk;
use softgpu_e2e::Gpu;

/// Bytes of one stream: a few hundred commands outgrow it.
const MAX_STREAM: u32 = 8192;

fn start_device() -> common::ExternalDevice {
    let device = common::ExternalDevice::start(
        &common::work_dir().join("stream-limits"),
        &["--max-stream-size", &MAX_STREAM.to_string()],
    );
    device.use_for_this_process();
    device
}

fn command_buffers(gpu: &Gpu, n: u32) -> Vec<vk::CommandBuffer> {
    let info = vk::CommandBufferAllocateInfo::default()
        .command_pool(gpu.command_pool())
        .level(vk::CommandBufferLevel::PRIMARY)
        .command_buffer_count(n);
    // SAFETY: the pool is live and used by this thread only.
    unsafe { gpu.device.allocate_command_buffers(&info) }.unwrap()
}

fn submit_and_wait(gpu: &Gpu, cbs: &[vk::CommandBuffer]) {
    let d = &gpu.device;
    // SAFETY: recorded command buffers of this device; the fence is waited for before it goes.
    unsafe {
        let fence = d
            .create_fence(&vk::FenceCreateInfo::default(), None)
            .unwrap();
        let info = [vk::SubmitInfo::default().command_buffers(cbs)];
        d.queue_submit(gpu.queue, &info, fence).unwrap();
        d.wait_for_fences(&[fence], true, u64::MAX).unwrap();
        d.destroy_fence(fence, None);
    }
}

#[test]
fn work_past_the_stream_limit_is_split_not_dropped_and_runs_correctly() {
    if common::reference_run() || common::system_icd() {
        // lavapipe has no stream; in the guest the device's limit is the VMM's choice.
        return;
    }
    let device = start_device();
    let gpu = Gpu::new().unwrap();
    assert!(
        gpu.name().contains("softgpu"),
        "loader picked {:?}",
        gpu.name()
    );
    let d = &gpu.device;

    // 1. Thousands of creates queued between submissions: several streams, none dropped.
    let info = vk::BufferCreateInfo::default()
        .size(256)
        .usage(vk::BufferUsageFlags::STORAGE_BUFFER);
    // SAFETY: valid create info.
    let many: Vec<vk::Buffer> = (0..2000)
        .map(|_| unsafe { d.create_buffer(&info, None) }.unwrap())
        .collect();

    // 2. One batch of more command buffers than one Submit frame names, each writing its own
    //    16 bytes with vkCmdUpdateBuffer: every one runs, in order.
    let n = 2048u32;
    let dst = gpu.buffer(u64::from(n) * 16).unwrap();
    dst.write(&vec![0u32; n as usize * 4]);
    let cbs = command_buffers(&gpu, n);
    for (i, &cb) in cbs.iter().enumerate() {
        let words: Vec<u8> = (0..4u32)
            .flat_map(|k| (i as u32 * 4 + k + 1).to_le_bytes())
            .collect();
        // SAFETY: fresh command buffers of this device; `dst` is a TRANSFER_DST buffer.
        unsafe {
            d.begin_command_buffer(cb, &vk::CommandBufferBeginInfo::default())
                .unwrap();
            d.cmd_update_buffer(cb, dst.buffer, i as u64 * 16, &words);
            d.end_command_buffer(cb).unwrap();
        }
    }
    submit_and_wait(&gpu, &cbs);
    let got: Vec<u32> = dst.read(n as usize * 4);
    for (j, v) in got.iter().enumerate() {
        assert_eq!(*v, j as u32 + 1, "word {j}");
    }

    // 3. Many fills in one command buffer, within the limit: one stream, correct.
    let fills = gpu.buffer(200 * 4).unwrap();
    // SAFETY: as above.
    unsafe {
        let cb = cbs[0];
        d.begin_command_buffer(cb, &vk::CommandBufferBeginInfo::default())
            .unwrap();
        for i in 0..200u32 {
            d.cmd_fill_buffer(cb, fills.buffer, u64::from(i) * 4, 4, 1000 + i);
        }
        d.end_command_buffer(cb).unwrap();
    }
    submit_and_wait(&gpu, &cbs[..1]);
    let got: Vec<u32> = fills.read(200);
    assert_eq!(got, (1000..1200).collect::<Vec<u32>>());

    // 4. A command buffer recorded past the limit: vkEndCommandBuffer says so, nothing runs.
    // SAFETY: as above.
    unsafe {
        let cb = cbs[1];
        d.begin_command_buffer(cb, &vk::CommandBufferBeginInfo::default())
            .unwrap();
        for i in 0..1000u32 {
            d.cmd_update_buffer(cb, dst.buffer, 0, &i.to_le_bytes().repeat(4));
        }
        assert_eq!(
            d.end_command_buffer(cb).err(),
            Some(vk::Result::ERROR_OUT_OF_DEVICE_MEMORY)
        );
    }

    // 5. One top-level command larger than the limit: refused at its call.
    let mut code = vec![0x0723_0203u32, 0x0001_0000, 0, 8, 0];
    code.resize(MAX_STREAM as usize, u32::MAX);
    // SAFETY: valid create info (the words are not a real module: it is never sent).
    let big =
        unsafe { d.create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&code), None) };
    assert_eq!(big.err(), Some(vk::Result::ERROR_OUT_OF_HOST_MEMORY));

    // The device was never lost: a dispatch still gives the right answer.
    let pipeline = gpu
        .pipeline(&common::shader("saxpy", &[]), 2, 8, &[])
        .unwrap();
    let m = 1024usize;
    let x = gpu.buffer((m * 4) as u64).unwrap();
    let y = gpu.buffer((m * 4) as u64).unwrap();
    let xs: Vec<f32> = (0..m).map(|i| i as f32).collect();
    let ys: Vec<f32> = (0..m).map(|i| 1000.0 - i as f32).collect();
    x.write(&xs);
    y.write(&ys);
    let mut push = Vec::new();
    push.extend(2.0f32.to_le_bytes());
    push.extend((m as u32).to_le_bytes());
    gpu.dispatch(&pipeline, &[&x, &y], &push, [(m / 256) as u32, 1, 1])
        .unwrap();
    let got: Vec<f32> = y.read(m);
    for i in 0..m {
        assert_eq!(got[i], 2.0 * xs[i] + ys[i], "y[{i}]");
    }

    // SAFETY: nothing pending uses these (every submission was waited for).
    unsafe {
        d.free_command_buffers(gpu.command_pool(), &cbs);
        for b in many {
            d.destroy_buffer(b, None);
        }
    }
    gpu.destroy_pipeline(pipeline);
    for b in [dst, fills, x, y] {
        gpu.destroy_buffer(b);
    }
    drop(gpu);
    let mut device = device;
    device.assert_alive();
    let log = std::fs::read_to_string(&device.log).unwrap_or_default();
    assert!(
        !log.contains("exceeds max_stream_size"),
        "the device saw an oversized stream:\n{log}"
    );
}
