//! Dynamically indexed arrays of uniform and storage buffer blocks (`Space::BufferArray`),
//! run for real: GLSL → SPIR-V → IR → code, called on buffers here. In range, the element the
//! (dynamically uniform) index names is read, written and incremented; out of range (past the
//! end, or negative), loads give 0 and stores and atomics are dropped, whatever the element
//! buffers hold. The fragment stage's helper lanes pick the same element and store nothing.

mod common;
mod graphics;

use common::kernel_run::run_compute;
use graphics::{bytes_to_u32s, glsl, lower_glsl, u32s_to_bytes, Batch, L};
use shader::abi::ImageResources;
use shader::ir::Stage;

const SHADER: &str = r#"#version 450
layout(local_size_x = 8) in;
layout(set = 0, binding = 0) uniform U { uvec4 v[2]; } us[3];
layout(set = 0, binding = 1) buffer S { uint w[16]; } ss[2];
layout(set = 0, binding = 2) buffer O { uint o[]; };
layout(push_constant) uniform P { int k; int j; };
void main() {
    uint i = gl_LocalInvocationID.x;
    o[i] = us[k].v[i / 4u][i % 4u] + ss[j].w[i];
    ss[j].w[8u + i] = i + 100u;
    o[8u + i] = atomicAdd(ss[j].w[0], 1u);
}
"#;

#[test]
fn buffer_array_elements_are_picked_by_index_and_out_of_range_is_robust() {
    let m = lower_glsl(Stage::Compute, SHADER);
    let uniform = |e: u32| -> Vec<u32> { (0..8).map(|c| 1000 * (e + 1) + c).collect() };
    let storage = |e: u32| -> Vec<u32> { (0..16).map(|c| 10 * (e + 1) + c).collect() };
    for (k, j) in [
        (0i32, 0i32),
        (2, 1),
        (1, 0),
        (3, 2),
        (-1, -1),
        (i32::MAX, 1),
    ] {
        let mut bufs: Vec<Vec<u8>> = m
            .buffers
            .iter()
            .map(|b| match b.binding {
                0 => u32s_to_bytes(&uniform(b.array_index)),
                1 => u32s_to_bytes(&storage(b.array_index)),
                _ => u32s_to_bytes(&[0xdead; 16]),
            })
            .collect();
        let push = u32s_to_bytes(&[k as u32, j as u32]);
        run_compute(&m, 1, &mut bufs, &push, ImageResources::NONE);
        let k_ok = (0..3).contains(&k);
        let j_ok = (0..2).contains(&j);
        let out_slot = m
            .buffers
            .iter()
            .position(|b| b.binding == 2)
            .expect("output buffer slot");
        let out = bytes_to_u32s(&bufs[out_slot]);
        for i in 0..8u32 {
            let u = if k_ok {
                uniform(k as u32)[i as usize]
            } else {
                0
            };
            let s = if j_ok {
                storage(j as u32)[i as usize]
            } else {
                0
            };
            assert_eq!(out[i as usize], u + s, "k {k} j {j} lane {i}");
        }
        let mut olds: Vec<u32> = out[8..].to_vec();
        olds.sort_unstable();
        if j_ok {
            let first = storage(j as u32)[0];
            assert_eq!(olds, (first..first + 8).collect::<Vec<_>>(), "k {k} j {j}");
        } else {
            assert_eq!(olds, [0; 8], "k {k} j {j}: atomics past the array give 0");
        }
        for (slot, b) in m.buffers.iter().enumerate() {
            if b.binding != 1 {
                continue;
            }
            let got = bytes_to_u32s(&bufs[slot]);
            let mut want = storage(b.array_index);
            if j_ok && b.array_index == j as u32 {
                want[0] += 8;
                for i in 0..8 {
                    want[8 + i] = i as u32 + 100;
                }
            }
            assert_eq!(got, want, "k {k} j {j}: ss[{}]", b.array_index);
        }
    }
}

const FRAGMENT: &str = r#"#version 450
layout(set = 0, binding = 0) uniform U { vec4 c; } us[3];
layout(set = 0, binding = 1) buffer S { uint n[4]; } ss[2];
layout(push_constant) uniform P { int k; int j; };
layout(location = 0) out vec4 o;
void main() {
    o = us[k].c;
    atomicAdd(ss[j].n[1], 1u);
}
"#;

#[test]
fn fragment_buffer_arrays_read_the_element_and_count_live_lanes_only() {
    let mut p = glsl(Stage::Fragment, FRAGMENT);
    let colour = |e: u32| -> [f32; 4] { [0.25 * e as f32, 0.5, 1.0 - 0.25 * e as f32, 1.0] };
    let live = 0b1011_0110u32;
    for (k, j) in [(1i32, 0i32), (2, 1), (3, 2)] {
        let mut bufs: Vec<Vec<u8>> = p
            .module
            .buffers
            .iter()
            .map(|b| match b.binding {
                0 => colour(b.array_index)
                    .iter()
                    .flat_map(|f| f.to_le_bytes())
                    .collect(),
                _ => vec![0; 16],
            })
            .collect();
        let batch = Batch::at(&p.module, 0, 0, live);
        let outs_in = vec![0u32; L * p.module.outputs.len()];
        let push = u32s_to_bytes(&[k as u32, j as u32]);
        let mut refs: Vec<&mut [u8]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
        let (_, out) = p.run_fragment(&batch, &outs_in, &mut refs, &push);
        for l in (0..L).filter(|l| live >> l & 1 == 1) {
            for c in 0..4 {
                let got = f32::from_bits(out[p.location(0, c as u8) * L + l]);
                let want = if (0..3).contains(&k) {
                    colour(k as u32)[c]
                } else {
                    0.0
                };
                assert_eq!(got, want, "k {k} lane {l} component {c}");
            }
        }
        for (slot, b) in p.module.buffers.iter().enumerate() {
            if b.binding != 1 {
                continue;
            }
            let count = bytes_to_u32s(&bufs[slot])[1];
            let want = if b.array_index as i32 == j {
                live.count_ones()
            } else {
                0
            };
            assert_eq!(count, want, "k {k} j {j}: ss[{}]", b.array_index);
        }
    }
}
