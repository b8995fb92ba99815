//! Storage buffers in both graphics stages (vertexPipelineStoresAndAtomics,
//! fragmentStoresAndAtomics): the vertex shader writes one word per vertex, the fragment
//! shader counts its invocations with atomics into a per-pixel array after discarding the
//! right-hand columns. Every covered, kept pixel must be counted exactly once (the fill
//! convention), discarded and helper invocations must store nothing, and the colour
//! attachment must show the kept pixels.
//!
//! Runs on softgpu; `SOFTGPU_E2E_DRIVER=lavapipe` or `SOFTGPU_E2E_REFERENCE_ONLY=1` runs it on
//! lavapipe to check the test.
#![allow(clippy::unwrap_used)]

mod common;

use ash::vk;
use softgpu_e2e::graphics::{
    shader, vertex_bytes, Clear, GraphicsPipeline, HostBuffer, PassMode, PipelineDesc, PosColor,
    RenderTarget,
};

const WIDTH: u32 = 32;
const HEIGHT: u32 = 32;
const DISCARD_FROM: u32 = 24;
/// Words before the per-pixel array: count, pad, six vertex words.
const HEADER_WORDS: usize = 8;

#[test]
fn both_stages_write_storage_buffers_and_discarded_fragments_store_nothing() {
    let ctx = common::graphics_context();
    let width = WIDTH.to_string();
    let discard_from = DISCARD_FROM.to_string();
    let vert = shader("storage.vert", &[]).unwrap();
    let frag = shader(
        "storage.frag",
        &[
            ("WIDTH", width.as_str()),
            ("DISCARD_FROM", discard_from.as_str()),
        ],
    )
    .unwrap();
    let mut target = RenderTarget::new(
        &ctx,
        WIDTH,
        HEIGHT,
        &[vk::Format::R8G8B8A8_UNORM],
        None,
        PassMode::RenderPass,
    )
    .unwrap();
    target.clear = Clear {
        colors: vec![vk::ClearColorValue {
            float32: [0.0, 0.0, 1.0, 1.0],
        }],
        depth: 1.0,
        stencil: 0,
    };
    let mut desc = PipelineDesc::new(&vert, &frag);
    desc.storage_buffer = true;
    let pipeline = GraphicsPipeline::new(&ctx, &desc, &target).unwrap();
    let words = HEADER_WORDS + (WIDTH * HEIGHT) as usize;
    let data = HostBuffer::with_bytes(
        &ctx,
        vk::BufferUsageFlags::STORAGE_BUFFER,
        &vec![0u8; words * 4],
    )
    .unwrap();
    pipeline.bind_buffer(&data).unwrap();
    let v = |x, y| PosColor::new(x, y, 0.5, [1.0; 4]);
    let quad = [
        v(-1.0, -1.0),
        v(1.0, -1.0),
        v(1.0, 1.0),
        v(-1.0, -1.0),
        v(1.0, 1.0),
        v(-1.0, 1.0),
    ];
    let vbuf = HostBuffer::with_bytes(
        &ctx,
        vk::BufferUsageFlags::VERTEX_BUFFER,
        &vertex_bytes(&quad),
    )
    .unwrap();
    let images = target
        .render(|r| {
            // Binds the pipeline and its storage-buffer set.
            r.pipeline(&pipeline);
            r.vertex_buffer(0, &vbuf);
            r.draw(6, 1, 0, 0);
            Ok(())
        })
        .unwrap();
    let out: Vec<u32> = data
        .read(words * 4)
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let kept = DISCARD_FROM * HEIGHT;
    assert_eq!(out[0], kept, "fragment invocations counted");
    for i in 0..6 {
        assert_eq!(out[2 + i], i as u32 * 3 + 1, "vertex word {i}");
    }
    let img = images.first().unwrap();
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let hits = out[HEADER_WORDS + (y * WIDTH + x) as usize];
            let kept = x < DISCARD_FROM;
            assert_eq!(hits, u32::from(kept), "hits of pixel ({x}, {y})");
            let rgba = img.codes(x, y);
            let want: [u64; 4] = if kept {
                [255, 0, 0, 255]
            } else {
                [0, 0, 255, 255]
            };
            assert_eq!(rgba, want, "colour of pixel ({x}, {y})");
        }
    }
}
