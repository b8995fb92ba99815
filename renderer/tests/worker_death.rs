//! A jit-host compile worker killed in the middle of a compile: that pipeline creation fails
//! cleanly, the next one succeeds on a fresh worker, and kernels compiled before keep running
//! (DESIGN §5).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use renderer::{ComputePipeline, Device, DeviceConfig, SpecializationInfo};

fn run_fill(dev: &Device, p: &ComputePipeline, value: u32) {
    let out = buffer_zeroed::<u32>(dev, 96);
    dev.dispatch(p, &[&storage_set(&[&out])], &[], [3, 1, 1])
        .unwrap();
    assert_eq!(
        read_all::<u32>(&out),
        (0..96).map(|i| value * i).collect::<Vec<_>>()
    );
}

#[test]
fn killed_worker_fails_its_compile_only_and_earlier_kernels_keep_running() {
    let dev = Device::new(DeviceConfig {
        allow_test_requests: true,
        ..config()
    })
    .unwrap();
    let a = pipeline(&dev, "fill", &[("VALUE", "21")]);
    run_fill(&dev, &a, 21);

    let spirv_b = spirv("fill", &[("VALUE", "22")]);
    let spirv_c = spirv("fill", &[("VALUE", "23")]);
    let victim = dev.jit().worker_pid().unwrap();
    dev.jit().stall_worker_for_test().unwrap();

    let b_result = std::thread::scope(|s| {
        let b = s.spawn(|| {
            dev.create_compute_pipeline(&spirv_b, "main", &SpecializationInfo::default())
        });
        // Let B's request reach the stalled worker, then kill it.
        std::thread::sleep(Duration::from_millis(300));
        let status = std::process::Command::new("kill")
            .args(["-9", &victim.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -9 {victim}");
        b.join().unwrap()
    });
    assert!(
        b_result.is_err(),
        "the compile in flight on the killed worker must fail"
    );

    let c = dev
        .create_compute_pipeline(&spirv_c, "main", &SpecializationInfo::default())
        .unwrap();
    assert_ne!(
        dev.jit().worker_pid().unwrap().to_string(),
        victim.to_string(),
        "a new worker was forked"
    );
    run_fill(&dev, &c, 23);
    run_fill(&dev, &a, 21);
}
