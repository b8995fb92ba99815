//! Arrays of uniform and storage buffer blocks indexed by a dynamically uniform value
//! (shaderUniformBufferArrayDynamicIndexing, shaderStorageBufferArrayDynamicIndexing): a
//! compute shader (`buffer_arrays.comp`) picks its elements by workgroup id, loads from both
//! arrays, stores to and atomically increments its storage element; every buffer is checked
//! against a CPU reference.
//!
//! Runs on softgpu; `SOFTGPU_E2E_DRIVER=lavapipe` or `SOFTGPU_E2E_REFERENCE_ONLY=1` runs it on
//! lavapipe to check the test.
#![allow(clippy::unwrap_used)]

mod common;

use ash::vk;
use softgpu_e2e::graphics::{shader, ComputePipeline, DescriptorSet, HostBuffer, Resource};

const GROUPS: u32 = 8;
const LANES: u32 = 16;
const UNIFORMS: u32 = 3;
const STORAGES: u32 = 4;
const STORAGE_WORDS: usize = 256;
const COUNTER: usize = 200;

/// Word (column c, row r) of uniform element `e`'s `uvec4 scale[4]`.
fn scale(e: u32, c: u32, r: u32) -> u32 {
    e * 100 + c * 4 + r + 1
}

/// Initial word `k` of storage element `e`.
fn initial(e: u32, k: usize) -> u32 {
    (e + 1) * 7 + k as u32 * 3
}

fn words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// The outputs and final storage elements the shader gives.
fn cpu_reference() -> (Vec<u32>, Vec<Vec<u32>>) {
    let mut storage: Vec<Vec<u32>> = (0..STORAGES)
        .map(|e| (0..STORAGE_WORDS).map(|k| initial(e, k)).collect())
        .collect();
    let mut out = vec![0u32; (GROUPS * LANES) as usize];
    for g in 0..GROUPS {
        let (u, s) = (g % UNIFORMS, (g / 2) as usize);
        for i in 0..LANES {
            let a = scale(u, i % 4, i / 4);
            let b = initial(s as u32, i as usize);
            out[(g * LANES + i) as usize] = a * 1000 + b;
            storage[s][(16 + g * 16 + i) as usize] = a + b + g;
            storage[s][COUNTER] += i + 1;
        }
    }
    (out, storage)
}

#[test]
fn dynamically_indexed_buffer_arrays_match_cpu() {
    let ctx = common::graphics_context();
    let uniforms: Vec<HostBuffer> = (0..UNIFORMS)
        .map(|e| {
            let bytes: Vec<u8> = (0..4)
                .flat_map(|c| (0..4).map(move |r| scale(e, c, r)))
                .flat_map(u32::to_le_bytes)
                .collect();
            HostBuffer::with_bytes(&ctx, vk::BufferUsageFlags::UNIFORM_BUFFER, &bytes).unwrap()
        })
        .collect();
    let storages: Vec<HostBuffer> = (0..STORAGES)
        .map(|e| {
            let bytes: Vec<u8> = (0..STORAGE_WORDS)
                .flat_map(|k| initial(e, k).to_le_bytes())
                .collect();
            HostBuffer::with_bytes(&ctx, vk::BufferUsageFlags::STORAGE_BUFFER, &bytes).unwrap()
        })
        .collect();
    let out = HostBuffer::new(
        &ctx,
        u64::from(4 * GROUPS * LANES),
        vk::BufferUsageFlags::STORAGE_BUFFER,
    )
    .unwrap();
    let set = DescriptorSet::new(
        &ctx,
        vk::ShaderStageFlags::COMPUTE,
        &[
            Resource::UniformBuffers(uniforms.iter().map(|b| b.buffer).collect()),
            Resource::StorageBuffers(storages.iter().map(|b| b.buffer).collect()),
            Resource::StorageBuffers(vec![out.buffer]),
        ],
    )
    .unwrap();
    let pipeline = ComputePipeline::new(
        &ctx,
        &shader("buffer_arrays.comp", &[]).unwrap(),
        set.layout,
    )
    .unwrap();
    ctx.submit_and_wait(|cb| {
        pipeline.record_dispatch(cb, set.set, [GROUPS, 1, 1]);
        Ok(())
    })
    .unwrap();
    let (want_out, want_storage) = cpu_reference();
    assert_eq!(
        words(&out.read((4 * GROUPS * LANES) as usize)),
        want_out,
        "outputs"
    );
    for (e, (buf, want)) in storages.iter().zip(&want_storage).enumerate() {
        assert_eq!(
            &words(&buf.read(4 * STORAGE_WORDS)),
            want,
            "storage element {e}"
        );
    }
}
