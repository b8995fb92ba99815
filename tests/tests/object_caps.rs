//! A device started with a small object cap (`--max-objects`): the ICD learns the cap from the
//! capset and refuses a create past it at once, with VK_ERROR_OUT_OF_HOST_MEMORY, instead of
//! sending it and losing the device at the next wait; destroying an object makes room again,
//! and the same device then still runs work correctly. The cap is the client's — this
//! process's connection — so a second VkDevice of the process meets what the first holds.
//!
//! The test process talks to its own external device (`SOFTGPU_VHOST_SOCKET`), so it lives in
//! a file of its own: the variable is process-wide and is set before the loader is loaded.
#![allow(clippy::unwrap_used)]

mod common;

use ash::vk;
use softgpu_e2e::{Gpu, GpuError};

/// Live objects the device allows this client: the pipeline below takes 5 (module, set layout,
/// pipeline layout, pipeline, descriptor set), which leaves room for 3 buffers.
const MAX_OBJECTS: u32 = 8;

fn is_refused(result: Result<impl Sized, GpuError>) -> bool {
    matches!(
        result,
        Err(GpuError::Vk {
            result: vk::Result::ERROR_OUT_OF_HOST_MEMORY,
            ..
        })
    )
}

#[test]
fn creates_past_the_object_cap_fail_at_once_and_the_device_is_not_lost() {
    if common::reference_run() || common::system_icd() {
        // lavapipe has no such cap; in the guest the device's caps are the VMM's choice.
        return;
    }
    let max_objects = MAX_OBJECTS.to_string();
    let mut device = common::ExternalDevice::start(
        &common::work_dir().join("object-caps"),
        &["--max-objects", &max_objects],
    );
    device.use_for_this_process();

    let gpu = Gpu::new().unwrap();
    let pipeline = gpu
        .pipeline(&common::shader("saxpy", &[]), 2, 8, &[])
        .unwrap();
    let n = 1024usize;
    let x = gpu.buffer((n * 4) as u64).unwrap();
    let spare = gpu.buffer(64).unwrap();
    let third = gpu.buffer(64).unwrap();
    // The cap is reached: the next create is refused synchronously, every time.
    assert!(is_refused(gpu.buffer(64)), "a 9th object was not refused");
    assert!(is_refused(gpu.buffer(64)), "a refusal freed something");
    // Destroying an object makes room for exactly one more.
    gpu.destroy_buffer(spare);
    let y = gpu.buffer((n * 4) as u64).unwrap();
    assert!(is_refused(gpu.buffer(64)));

    // The device was never lost: a dispatch on it still gives the right answer.
    let xs: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let ys: Vec<f32> = (0..n).map(|i| 1000.0 - i as f32).collect();
    x.write(&xs);
    y.write(&ys);
    let mut push = Vec::new();
    push.extend(2.0f32.to_le_bytes());
    push.extend((n as u32).to_le_bytes());
    gpu.dispatch(&pipeline, &[&x, &y], &push, [(n / 256) as u32, 1, 1])
        .unwrap();
    let got: Vec<f32> = y.read(n);
    for i in 0..n {
        assert_eq!(got[i], 2.0 * xs[i] + ys[i], "y[{i}]");
    }

    // A second VkDevice of this process is the same client of the device (one connection):
    // it meets the cap the first one holds at once, instead of losing the device later.
    let second = Gpu::new().unwrap();
    assert!(
        is_refused(second.buffer(64)),
        "the second VkDevice did not see the first one's objects"
    );
    // A destroy on the first frees room for the second once it is sent.
    gpu.destroy_buffer(third);
    // SAFETY: a live device.
    unsafe { gpu.device.device_wait_idle() }.unwrap();
    let moved = second.buffer(64).unwrap();
    assert!(is_refused(second.buffer(64)));
    assert!(is_refused(gpu.buffer(64)));
    second.submit_and_wait(|_| {}).unwrap();
    second.destroy_buffer(moved);
    drop(second);

    gpu.destroy_buffer(x);
    gpu.destroy_buffer(y);
    gpu.destroy_pipeline(pipeline);
    drop(gpu);
    device.assert_alive();
}
