//! Per-invocation private memory and workgroup memory: guest-sized arrays are refused at
//! pipeline creation above the limits we report (a clean error, never a crash or a huge
//! allocation), and memory one pipeline leaves behind on a worker is never seen by the next
//! (each workgroup starts with zeroed workgroup and private memory).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use renderer::{ComputePipeline, Device, DeviceConfig, RendererError, SpecializationInfo};

fn try_pipeline(
    dev: &Device,
    name: &str,
    defines: &[(&str, &str)],
) -> Result<ComputePipeline, RendererError> {
    dev.create_compute_pipeline(
        &spirv(name, defines),
        "main",
        &SpecializationInfo::default(),
    )
}

/// The pipeline still works after a refusal: the device and its jit-host are unharmed.
fn assert_device_still_dispatches(dev: &Device) {
    let p = pipeline(dev, "huge_private", &[("WORDS", "16")]);
    let io = buffer_from(dev, &[3u32, 0xABCD, 0, 3]);
    dev.dispatch(&p, &[&storage_set(&[&io])], &[], [1, 1, 1])
        .unwrap();
    assert_eq!(read_all::<u32>(&io)[2], 0xABCD);
}

#[test]
fn private_array_above_the_cap_is_a_pipeline_error_not_a_crash() {
    let dev = device();
    let max_words = shader::ir::MAX_PRIVATE_MEMORY / 4;
    // At the cap: accepted and correct.
    let p = pipeline(dev, "huge_private", &[("WORDS", &max_words.to_string())]);
    let io = buffer_from(dev, &[max_words - 1, 77, 0, max_words - 1]);
    dev.dispatch(&p, &[&storage_set(&[&io])], &[], [1, 1, 1])
        .unwrap();
    assert_eq!(read_all::<u32>(&io)[2], 77);
    // One word above, 4 MiB, and 1 GiB (whose byte size overflows u32 arithmetic).
    for words in [max_words + 1, 1 << 20, 1 << 28] {
        let err = try_pipeline(dev, "huge_private", &[("WORDS", &words.to_string())])
            .expect_err("an oversized private array must be refused");
        assert!(
            matches!(err, RendererError::Shader(_)),
            "{words} words: {err}"
        );
        // Either the private-memory cap or the front end's cap on one value's size.
        let message = err.to_string();
        assert!(
            message.contains("private memory") || message.contains("exceeds a limit"),
            "{message}"
        );
    }
    assert_device_still_dispatches(dev);
}

#[test]
fn shared_array_above_max_compute_shared_memory_size_is_a_pipeline_error() {
    let dev = device();
    let max_words = shader::ir::MAX_WORKGROUP_MEMORY / 4;
    let p = pipeline(dev, "huge_shared", &[("WORDS", &max_words.to_string())]);
    assert_eq!(p.workgroup_memory_size(), shader::ir::MAX_WORKGROUP_MEMORY);
    let mut init = vec![0u32; 4 + 64];
    init[0] = max_words - 64;
    init[1] = 1000;
    init[3] = max_words - 64;
    let io = buffer_from(dev, &init);
    dev.dispatch(&p, &[&storage_set(&[&io])], &[], [1, 1, 1])
        .unwrap();
    let out = read_all::<u32>(&io);
    for i in 0..64u32 {
        assert_eq!(out[4 + i as usize], 1000 + i);
    }
    for words in [max_words + 1, 1 << 20, 1 << 28] {
        let err = try_pipeline(dev, "huge_shared", &[("WORDS", &words.to_string())])
            .expect_err("an oversized shared array must be refused");
        assert!(
            matches!(err, RendererError::Shader(_)),
            "{words} words: {err}"
        );
        assert!(err.to_string().contains("workgroup memory"), "{err}");
    }
    assert_device_still_dispatches(dev);
}

#[test]
fn accepted_pipelines_stay_within_the_scratch_cap() {
    let dev = device();
    let max_words = shader::ir::MAX_PRIVATE_MEMORY / 4;
    let p = pipeline(dev, "huge_private", &[("WORDS", &max_words.to_string())]);
    assert!(p.scratch_size() >= u64::from(shader::ir::MAX_PRIVATE_MEMORY));
    assert!(p.scratch_size() <= renderer::MAX_KERNEL_SCRATCH);
    assert!(p.host_bytes() >= p.scratch_size());
}

#[test]
fn shared_and_private_memory_left_by_one_client_read_as_zero_for_the_next() {
    // One worker thread: the reader's workgroups run on exactly the blocks the writer used.
    let dev = Device::new(DeviceConfig {
        threads: Some(1),
        ..config()
    })
    .unwrap();
    const SECRET: u32 = 0x5EC2_E7A5;
    let secret = format!("{SECRET:#x}u");
    let writer = pipeline(
        &dev,
        "uninit_memory",
        &[("WRITER", "1"), ("SECRET", &secret)],
    );
    let reader = pipeline(&dev, "uninit_memory", &[("WRITER", "0"), ("SECRET", "0u")]);
    assert_eq!(
        writer.workgroup_memory_size(),
        reader.workgroup_memory_size()
    );
    let groups = 16u32;
    let out = buffer_zeroed::<u32>(&dev, (groups * 64) as usize);
    let set = storage_set(&[&out]);
    dev.dispatch(&writer, &[&set], &[], [groups, 1, 1]).unwrap();
    // The writer really left the secret in both memories.
    assert!(read_all::<u32>(&out).iter().all(|&v| v == SECRET));
    dev.dispatch(&reader, &[&set], &[], [groups, 1, 1]).unwrap();
    let seen = read_all::<u32>(&out);
    assert!(
        seen.iter().all(|&v| v == 0),
        "the reader saw non-zero memory: {:#x?}",
        &seen[..8]
    );
}
