//! Vertex and fragment modules through the real jit-host process and the client's
//! stage-checked entry calls.

mod common;
mod graphics;

use std::path::PathBuf;

use graphics::{lower_glsl, L};
use jit_host_client::{ClientError, JitHost, SpawnOptions};
use shader::abi::{FragmentBatchIo, FragmentContext, KernelContext, VertexContext};
use shader::ir::{OutputTarget, Stage};

fn spawn() -> std::sync::Arc<JitHost> {
    JitHost::spawn(&SpawnOptions {
        path: Some(PathBuf::from(env!("CARGO_BIN_EXE_jit-host"))),
        allow_test_requests: false,
    })
    .expect("jit-host starts")
}

#[test]
fn client_runs_vertex_and_fragment_kernels_and_refuses_the_wrong_entry() {
    let host = spawn();
    let vs = lower_glsl(
        Stage::Vertex,
        "#version 450\nlayout(location = 0) in float x;\n\
         void main() { gl_Position = vec4(x * 2.0, float(gl_VertexIndex), 0.0, 1.0); }\n",
    );
    let pos_x = vs
        .outputs
        .iter()
        .position(|o| o.target == OutputTarget::Position(0))
        .expect("position.x");
    let pos_y = vs
        .outputs
        .iter()
        .position(|o| o.target == OutputTarget::Position(1))
        .expect("position.y");
    let n_out = vs.outputs.len();
    let vk = host.compile(&vs).expect("vertex compiles");
    assert_eq!(vk.stage(), Stage::Vertex);
    let count = 11u32;
    let indices: Vec<u32> = (0..2 * L as u32).map(|i| i + 5).collect();
    let inputs: Vec<u32> = (0..2 * L).map(|i| (i as f32).to_bits()).collect();
    let mut outputs = vec![0u32; 2 * L * n_out];
    let mut scratch = vec![0u8; vk.scratch_size() + 64];
    let sp = scratch.as_mut_ptr();
    let ctx = VertexContext {
        buffers: std::ptr::null(),
        push_constants: std::ptr::null(),
        push_constants_len: 0,
        base_vertex: 0,
        base_instance: 0,
        instance_index: 0,
        vertex_indices: indices.as_ptr(),
        inputs: inputs.as_ptr(),
        outputs: outputs.as_mut_ptr(),
        scratch: sp.wrapping_add(sp.align_offset(64)),
        view_index: 0,
        _pad: 0,
        image_resources: shader::abi::ImageResources::NONE,
    };
    // SAFETY: two whole groups of indices, inputs (1 slot) and outputs; no buffers are used.
    unsafe { vk.call_vertex(&ctx, count) }.expect("vertex entry");
    for i in 0..count as usize {
        let word = |slot: usize| f32::from_bits(outputs[((i / L) * n_out + slot) * L + i % L]);
        assert_eq!(word(pos_x), i as f32 * 2.0, "vertex {i}");
        assert_eq!(word(pos_y), (i + 5) as f32, "vertex {i}");
    }

    let fs = lower_glsl(
        Stage::Fragment,
        "#version 450\nlayout(location = 0) out vec4 o;\n\
         void main() { if (gl_FragCoord.x > 2.0) discard; o = vec4(gl_FragCoord.x); }\n",
    );
    let n_out = fs.outputs.len();
    let fk = host.compile(&fs).expect("fragment compiles");
    let mut outputs = vec![0u32; L * n_out];
    let fctx = FragmentContext {
        buffers: std::ptr::null(),
        push_constants: std::ptr::null(),
        push_constants_len: 0,
        view_index: 0,
        scratch: sp.wrapping_add(sp.align_offset(64)),
        image_resources: shader::abi::ImageResources::NONE,
    };
    let depth = [0.5f32; L];
    let inv_w = [1.0f32; L];
    let point_coord = [[0.5f32; L]; 2];
    let batch_at = |outputs: *mut u32, x: u32, live: u32| FragmentBatchIo {
        inputs: std::ptr::null(),
        outputs,
        depth: &depth,
        inv_w: &inv_w,
        point_coord: &point_coord,
        x,
        y: 0,
        front_facing: 1,
        live,
    };
    let mut io = [batch_at(outputs.as_mut_ptr(), 0, 0xff)];
    // SAFETY: no inputs, one batch of outputs, no buffers.
    unsafe { fk.call_fragment(&fctx, &mut io) }.expect("fragment entry");
    assert_eq!(io[0].live, 0b1111, "x = 0.5 and 1.5 survive: the left quad");
    assert_eq!(f32::from_bits(outputs[0]), 0.5);
    // Lanes 1 and 2 are pixels (1, 0) and (0, 1) of the left quad.
    assert_eq!(f32::from_bits(outputs[1]), 1.5);
    assert_eq!(f32::from_bits(outputs[2]), 0.5);

    // Several batches in one call: each as if shaded alone. Lanes with FragCoord.x <= 2
    // survive: the left column of a batch at x = 1, none at x = 8.
    let origins = [0u32, 1, 0, 8];
    let live = [0xffu32, 0b0101_0101, 0, 0xff];
    let mut many_outputs = vec![[0u32; L * 4]; live.len()];
    assert_eq!(n_out, 4);
    let mut batches: Vec<FragmentBatchIo> = many_outputs
        .iter_mut()
        .zip(origins.iter().zip(live))
        .map(|(outputs, (&x, live))| batch_at(outputs.as_mut_ptr(), x, live))
        .collect();
    let alone: Vec<(u32, [u32; L * 4])> = batches
        .iter()
        .map(|b| {
            let mut outputs = [0u32; L * 4];
            let mut one = [FragmentBatchIo {
                outputs: outputs.as_mut_ptr(),
                ..*b
            }];
            // SAFETY: as above, one batch of 4 output slots.
            unsafe { fk.call_fragment(&fctx, &mut one) }.expect("fragment entry");
            (one[0].live, outputs)
        })
        .collect();
    // SAFETY: each batch has its own 4 output slots; no inputs, no buffers.
    unsafe { fk.call_fragment(&fctx, &mut batches) }.expect("fragment entry");
    for (i, (b, (live, words))) in batches.iter().zip(&alone).enumerate() {
        assert_eq!(b.live, *live, "batch {i}: survivors");
        assert_eq!(many_outputs[i], *words, "batch {i}: outputs");
    }
    let survivors: Vec<u32> = batches.iter().map(|b| b.live).collect();
    assert_eq!(survivors, [0b1111, 0b0101, 0, 0]);

    // The wrong entry ABI is refused, not called.
    // SAFETY: refused before any call.
    let wrong = unsafe { fk.call_vertex(&ctx, 1) };
    assert!(matches!(
        wrong,
        Err(ClientError::WrongStage {
            expected: Stage::Vertex,
            found: Stage::Fragment
        })
    ));
    let kctx = KernelContext {
        buffers: std::ptr::null(),
        push_constants: std::ptr::null(),
        push_constants_len: 0,
        num_workgroups: [1; 3],
        base_workgroup: [0; 3],
        workgroup_memory: std::ptr::null_mut(),
        scratch: std::ptr::null_mut(),
        image_resources: shader::abi::ImageResources::NONE,
    };
    // SAFETY: a vertex kernel called as compute is refused before any call.
    unsafe { vk.call(&kctx, 0, 1) };
}
