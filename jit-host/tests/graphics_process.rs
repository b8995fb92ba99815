//! Vertex and fragment modules through the real jit-host process and the client's
//! stage-checked entry calls.

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
    };
    let mut frag_coord = [[0.0f32; L]; 4];
    for (l, x) in frag_coord[0].iter_mut().enumerate() {
        *x = l as f32 + 0.5;
    }
    let mut io = FragmentBatchIo {
        inputs: std::ptr::null(),
        outputs: outputs.as_mut_ptr(),
        frag_coord,
        point_coord: [[0.5; L]; 2],
        front_facing: 1,
        live: 0xff,
    };
    // SAFETY: no inputs, one batch of outputs, no buffers.
    let survivors = unsafe { fk.call_fragment(&fctx, &mut io) }.expect("fragment entry");
    assert_eq!(survivors, 0b11, "x = 0.5 and 1.5 survive");

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
    };
    // SAFETY: a vertex kernel called as compute is refused before any call.
    unsafe { vk.call(&kctx, 0, 1) };
}
