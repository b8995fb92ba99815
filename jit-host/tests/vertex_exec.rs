//! Vertex kernels run for real (see `graphics/mod.rs`) and compared with a CPU reference:
//! push-constant transforms, location + component packing, storage buffers, VertexIndex /
//! InstanceIndex / BaseVertex / BaseInstance, and partial groups whose inactive lanes make no
//! stores.

// Parallel arrays indexed by lane read best as index loops.
#![allow(clippy::needless_range_loop)]

mod common;
mod graphics;

use graphics::*;
use shader::ir::{OutputTarget, Stage};

const TRANSFORM: &str = r#"
#version 460
layout(location = 0) in vec3 pos;
layout(location = 1) in vec2 uv;
layout(location = 1, component = 2) in float extra;
layout(location = 2) in ivec2 ids;
layout(push_constant) uniform PC { mat4 mvp; float scale; } pc;
layout(std430, set = 0, binding = 0) readonly buffer Offsets { vec4 offs[]; } offsets;
layout(std430, set = 0, binding = 1) buffer Log { uint log[]; } lg;
layout(location = 0) out vec2 o_uv;
layout(location = 0, component = 2) out float o_extra;
layout(location = 1) flat out int o_id;
layout(location = 1, component = 1) flat out int o_vi;
void main() {
    gl_Position = pc.mvp * vec4(pos, 1.0) + offsets.offs[gl_InstanceIndex];
    gl_PointSize = pc.scale;
    o_uv = uv * pc.scale;
    o_extra = extra + float(gl_VertexIndex);
    o_id = ids.x * 3 + ids.y + gl_InstanceIndex * 1000 + gl_BaseInstance * 100000;
    o_vi = gl_VertexIndex - gl_BaseVertex;
    lg.log[gl_VertexIndex] = uint(gl_VertexIndex) * 10u + 1u;
}
"#;

struct Vertex {
    pos: [f32; 3],
    uv: [f32; 2],
    extra: f32,
    ids: [i32; 2],
}

fn vertex(i: usize) -> Vertex {
    let f = i as f32;
    Vertex {
        pos: [f * 0.5 - 3.0, 1.0 - f * 0.25, f * 0.125],
        uv: [f / 7.0, 1.0 - f / 9.0],
        extra: f * 3.0,
        ids: [i as i32 * 7 - 20, 5 - i as i32],
    }
}

fn mvp() -> [f32; 16] {
    // Column-major, as GLSL's mat4 in a push-constant block.
    [
        1.5, 0.25, 0.0, 0.0, //
        -0.5, 2.0, 0.125, 0.0, //
        0.0, 0.75, -1.0, -1.0, //
        3.0, -2.0, 0.5, 4.0,
    ]
}

#[test]
fn transform_packing_buffers_and_indices_match_cpu_for_partial_groups() {
    let mut k = glsl(Stage::Vertex, TRANSFORM);
    let (instance, base_vertex, base_instance) = (3u32, 40i32, 2u32);
    let scale = 1.75f32;
    let mut push = f32s_to_bytes(&mvp());
    push.extend_from_slice(&scale.to_le_bytes());
    let offs: Vec<f32> = (0..4 * 8).map(|i| i as f32 * 0.5 - 4.0).collect();

    for count in [1u32, 7, 8, 9, 100] {
        let n = count as usize;
        let groups = n.div_ceil(L);
        // Real vertices get odd indices (base_vertex + 2i + 1); padded lanes carry even ones,
        // so a store by an inactive lane would show in the log.
        let indices: Vec<u32> = (0..groups * L)
            .map(|i| {
                if i < n {
                    base_vertex as u32 + 2 * i as u32 + 1
                } else {
                    base_vertex as u32 + 2 * i as u32
                }
            })
            .collect();
        let n_in = k.module.inputs.len();
        let mut inputs = vec![0u32; groups * n_in * L];
        for i in 0..groups * L {
            let v = vertex(i);
            let (g, lane) = (i / L, i % L);
            let mut put = |slot: usize, word: u32| inputs[(g * n_in + slot) * L + lane] = word;
            for c in 0..3 {
                put(k.input(0, c as u8), v.pos[c].to_bits());
            }
            put(k.input(1, 0), v.uv[0].to_bits());
            put(k.input(1, 1), v.uv[1].to_bits());
            put(k.input(1, 2), v.extra.to_bits());
            put(k.input(2, 0), v.ids[0] as u32);
            put(k.input(2, 1), v.ids[1] as u32);
        }
        let sentinel = 0x5555_5555u32;
        let log_len = base_vertex as usize + 2 * groups * L + 2;
        let mut offs_b = f32s_to_bytes(&offs);
        let mut log_b = u32s_to_bytes(&vec![sentinel; log_len]);
        let out = k.run_vertex(
            count,
            &indices,
            &inputs,
            (instance, base_vertex, base_instance),
            &mut [&mut offs_b, &mut log_b],
            &push,
        );
        let n_out = k.module.outputs.len();
        let word = |i: usize, slot: usize| out[((i / L) * n_out + slot) * L + i % L];
        let m = mvp();
        for i in 0..n {
            let v = vertex(i);
            let vi = indices[i];
            let p4 = [v.pos[0], v.pos[1], v.pos[2], 1.0];
            for r in 0..4 {
                let mut want = 0.0f32;
                for (c, pc) in p4.iter().enumerate() {
                    want += m[c * 4 + r] * pc;
                }
                want += offs[instance as usize * 4 + r];
                let got = f32::from_bits(word(i, k.output(OutputTarget::Position(r as u8))));
                assert!(
                    close(got, want),
                    "count {count} vertex {i} pos.{r}: {got} vs {want}"
                );
            }
            let ps = f32::from_bits(word(i, k.output(OutputTarget::PointSize)));
            assert_eq!(ps, scale, "count {count} vertex {i} point size");
            for c in 0..2 {
                let got = f32::from_bits(word(i, k.location(0, c as u8)));
                assert_eq!(got, v.uv[c] * scale, "count {count} vertex {i} uv.{c}");
            }
            let got = f32::from_bits(word(i, k.location(0, 2)));
            assert_eq!(got, v.extra + vi as f32, "count {count} vertex {i} extra");
            let want_id =
                v.ids[0] * 3 + v.ids[1] + instance as i32 * 1000 + base_instance as i32 * 100000;
            assert_eq!(
                word(i, k.location(1, 0)) as i32,
                want_id,
                "count {count} vertex {i} id"
            );
            assert_eq!(
                word(i, k.location(1, 1)) as i32,
                vi as i32 - base_vertex,
                "count {count} vertex {i} vertex index"
            );
        }
        let log = bytes_to_u32s(&log_b);
        for (j, &w) in log.iter().enumerate() {
            let written = indices[..n].contains(&(j as u32));
            let want = if written { j as u32 * 10 + 1 } else { sentinel };
            assert_eq!(
                w, want,
                "count {count}: log[{j}] (inactive lanes must not store)"
            );
        }
    }
}

#[test]
fn vertex_early_return_still_writes_outputs_and_private_arrays_are_per_lane() {
    let src = r#"
#version 450
layout(location = 0) in float x;
layout(push_constant) uniform PC { int n; } pc;
layout(location = 0) out float o;
layout(location = 1) out float early;
void main() {
    float table[5];
    for (int i = 0; i < 5; i++) table[i] = x * float(i + 1);
    o = table[gl_VertexIndex % 5];
    gl_Position = vec4(x, 0.0, 0.0, 1.0);
    early = 1.0;
    if (x > 3.0) return;
    o += 100.0;
    early = 2.0;
}
"#;
    let mut k = glsl(Stage::Vertex, src);
    let count = 13u32;
    let groups = (count as usize).div_ceil(L);
    let indices: Vec<u32> = (0..(groups * L) as u32).collect();
    let xs: Vec<f32> = (0..groups * L).map(|i| i as f32 * 0.5).collect();
    let n_in = k.module.inputs.len();
    assert_eq!(n_in, 1);
    let inputs: Vec<u32> = xs.iter().map(|x| x.to_bits()).collect();
    let push = 5i32.to_le_bytes();
    let out = k.run_vertex(count, &indices, &inputs, (0, 0, 0), &mut [], &push);
    let n_out = k.module.outputs.len();
    let slot = k.location(0, 0);
    let early = k.location(1, 0);
    for i in 0..count as usize {
        let x = xs[i];
        let mut want = x * ((i % 5) + 1) as f32;
        if x <= 3.0 {
            want += 100.0;
        }
        let got = f32::from_bits(out[((i / L) * n_out + slot) * L + i % L]);
        assert_eq!(got, want, "vertex {i}");
        // A uniform write after a divergent return must not reach the lanes that left.
        let got = f32::from_bits(out[((i / L) * n_out + early) * L + i % L]);
        assert_eq!(got, if x > 3.0 { 1.0 } else { 2.0 }, "vertex {i} early");
    }
}

#[test]
fn view_index_from_the_context_reaches_vertex_and_fragment_kernels() {
    let vs = r#"
#version 450
#extension GL_EXT_multiview : require
layout(location = 0) flat out int o_view;
void main() {
    o_view = int(gl_ViewIndex) * 100 + gl_VertexIndex;
    gl_Position = vec4(float(gl_ViewIndex), 0.0, 0.0, 1.0);
}
"#;
    let fs = r#"
#version 450
#extension GL_EXT_multiview : require
layout(location = 0) out ivec4 o;
void main() { o = ivec4(int(gl_ViewIndex) + 7, 0, 0, 1); }
"#;
    let mut v = glsl(Stage::Vertex, vs);
    let mut f = glsl(Stage::Fragment, fs);
    let indices: Vec<u32> = (0..L as u32).collect();
    for view in [0u32, 2, 5] {
        v.view_index = view;
        let out = v.run_vertex(L as u32, &indices, &[], (0, 0, 0), &mut [], &[]);
        let slot = v.location(0, 0);
        let x = v.output(OutputTarget::Position(0));
        for lane in 0..L {
            assert_eq!(out[slot * L + lane] as i32, view as i32 * 100 + lane as i32);
            assert_eq!(f32_word(&out, x, lane), view as f32);
        }
        f.view_index = view;
        let batch = Batch::at(&f.module, 0, 0, (1 << L) - 1);
        let outs_in = vec![0u32; L * f.module.outputs.len()];
        let (_, out) = f.run_fragment(&batch, &outs_in, &mut [], &[]);
        let r = f.location(0, 0);
        for lane in 0..L {
            assert_eq!(out[r * L + lane], view + 7, "view {view} lane {lane}");
        }
    }
}
