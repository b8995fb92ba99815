//! Fragment kernels run for real (see `graphics/mod.rs`) and compared with a CPU reference:
//! interpolated and flat inputs, FragCoord / FrontFacing / PointCoord, integer outputs,
//! FragDepth written or kept, discard (the returned survivor mask), demote and helper
//! invocations (no stores from helpers), early fragment tests, and one call over many batches.

// Parallel arrays indexed by lane read best as index loops.
#![allow(clippy::needless_range_loop)]

mod common;
mod graphics;

use graphics::*;
use shader::ir::{OutputTarget, Stage};

const ALL: u32 = (1 << L) - 1;

#[test]
fn colours_from_inputs_fragcoord_and_facing_with_flat_integer_outputs() {
    let src = r#"
#version 450
layout(location = 0) in vec3 col;
layout(location = 1) flat in int id;
layout(location = 0) out vec4 o;
layout(location = 1) out ivec2 oi;
void main() {
    o = vec4(col * gl_FragCoord.x, gl_FrontFacing ? 1.0 : 0.25);
    o.y += gl_FragCoord.y * 0.5 + gl_FragCoord.z + gl_FragCoord.w + gl_PointCoord.x;
    oi = ivec2(id * 2, int(gl_FragCoord.x));
}
"#;
    let mut k = glsl(Stage::Fragment, src);
    for (front, live) in [(1u32, ALL), (0, 0b1011_0110)] {
        let mut b = Batch::at(&k.module, 10, 20, live);
        b.front_facing = front;
        let cols: Vec<[f32; L]> = (0..3)
            .map(|c| std::array::from_fn(|l| l as f32 * 0.125 + c as f32))
            .collect();
        for c in 0..3 {
            b.set_f32(k.input(0, c as u8), cols[c]);
        }
        let ids: [i32; L] = std::array::from_fn(|l| 7 - 3 * l as i32);
        b.set_i32(k.input(1, 0), ids);
        let outs_in = vec![0u32; L * k.module.outputs.len()];
        let (survivors, out) = k.run_fragment(&b, &outs_in, &mut [], &[]);
        assert_eq!(survivors, live, "no discard: every live lane survives");
        for l in 0..L {
            let fc = [
                b.frag_coord[0][l],
                b.frag_coord[1][l],
                b.frag_coord[2][l],
                b.frag_coord[3][l],
            ];
            let want = [
                cols[0][l] * fc[0],
                cols[1][l] * fc[0] + (fc[1] * 0.5 + fc[2] + fc[3] + b.point_coord[0][l]),
                cols[2][l] * fc[0],
                if front != 0 { 1.0 } else { 0.25 },
            ];
            for (c, w) in want.iter().enumerate() {
                let got = f32_word(&out, k.location(0, c as u8), l);
                assert!(close(got, *w), "lane {l} o.{c}: {got} vs {w}");
            }
            assert_eq!(out[k.location(1, 0) * L + l] as i32, ids[l] * 2, "lane {l}");
            assert_eq!(
                out[k.location(1, 1) * L + l] as i32,
                fc[0] as i32,
                "lane {l}"
            );
        }
    }
}

#[test]
fn frag_depth_written_where_the_shader_writes_it_and_kept_elsewhere() {
    let src = r#"
#version 450
layout(location = 0) in float d;
layout(location = 0) out vec4 o;
void main() {
    if (d > 0.5) gl_FragDepth = d * 0.5;
    o = vec4(d);
}
"#;
    let mut k = glsl(Stage::Fragment, src);
    assert!(k.module.fragment.depth_replacing);
    let mut b = Batch::at(&k.module, 0, 0, ALL);
    let ds: [f32; L] = std::array::from_fn(|l| l as f32 / 8.0 + 0.05);
    b.set_f32(k.input(0, 0), ds);
    let depth_slot = k.output(OutputTarget::FragDepth);
    let mut outs_in = vec![0u32; L * k.module.outputs.len()];
    let incoming: [f32; L] = std::array::from_fn(|l| 0.9 - l as f32 * 0.01);
    for l in 0..L {
        outs_in[depth_slot * L + l] = incoming[l].to_bits();
    }
    let (survivors, out) = k.run_fragment(&b, &outs_in, &mut [], &[]);
    assert_eq!(survivors, ALL);
    for l in 0..L {
        let want = if ds[l] > 0.5 {
            ds[l] * 0.5
        } else {
            incoming[l]
        };
        assert_eq!(f32_word(&out, depth_slot, l), want, "lane {l} depth");
        assert_eq!(
            f32_word(&out, k.location(0, 0), l),
            ds[l],
            "lane {l} colour"
        );
    }

    // A shader that never writes FragDepth has no such output slot at all.
    let k2 = glsl(
        Stage::Fragment,
        "#version 450\nlayout(location = 0) out vec4 o;\nvoid main() { o = vec4(1.0); }\n",
    );
    assert!(!k2.module.fragment.depth_replacing);
    assert!(k2
        .module
        .outputs
        .iter()
        .all(|o| o.target != OutputTarget::FragDepth));
}

const DISCARD: &str = r#"
#version 450
layout(location = 0) in float v;
layout(push_constant) uniform PC { int kill_all; } pc;
layout(std430, set = 0, binding = 0) buffer Counter { uint count; uint seen[]; } c;
layout(location = 0) out vec4 o;
void main() {
    if (pc.kill_all != 0) discard;
    int lane = int(gl_FragCoord.x) + 4 * int(gl_FragCoord.y);
    float acc = 0.0;
    for (int i = 0; i < 4; i++) {
        if (float(i) >= v * 4.0) discard;
        acc += 1.0;
    }
    atomicAdd(c.count, 1u);
    c.seen[lane] = uint(acc);
    o = vec4(acc);
}
"#;

fn lane_index(b: &Batch, l: usize) -> usize {
    b.frag_coord[0][l] as usize + 4 * b.frag_coord[1][l] as usize
}

#[test]
fn discard_ends_lanes_returns_survivors_and_stops_their_stores() {
    let mut k = glsl(Stage::Fragment, DISCARD);
    assert!(k.module.fragment.discards);
    let sentinel = 0xaaaa_aaaau32;
    for live in [ALL, 0b0111_1101] {
        let mut b = Batch::at(&k.module, 0, 0, live);
        // v > 0.75 survives the loop (i = 0..3 all < 4v); smaller values are discarded.
        let vs: [f32; L] = [0.9, 0.1, 1.0, 0.5, 0.8, 0.3, 0.95, 0.76];
        b.set_f32(k.input(0, 0), vs);
        let outs_in = vec![0u32; L * k.module.outputs.len()];
        let mut buf = u32s_to_bytes(
            &[0u32; 1]
                .iter()
                .copied()
                .chain([sentinel; 32])
                .collect::<Vec<_>>(),
        );
        let push = 0i32.to_le_bytes();
        let (survivors, _out) = k.run_fragment(&b, &outs_in, &mut [&mut buf], &push);
        let want: u32 = (0..L)
            .filter(|&l| live & (1 << l) != 0 && vs[l] > 0.75)
            .map(|l| 1 << l)
            .sum();
        assert_eq!(survivors, want, "live {live:#b}");
        let words = bytes_to_u32s(&buf);
        assert_eq!(words[0], want.count_ones(), "atomic count, live {live:#b}");
        for l in 0..L {
            let idx = lane_index(&b, l);
            let expect = if want & (1 << l) != 0 { 4 } else { sentinel };
            assert_eq!(words[1 + idx], expect, "lane {l}, live {live:#b}");
        }

        // A uniform discard kills every lane.
        let mut buf = u32s_to_bytes(&[0u32; 33]);
        let push = 1i32.to_le_bytes();
        let (survivors, _) = k.run_fragment(&b, &outs_in, &mut [&mut buf], &push);
        assert_eq!(survivors, 0);
        assert!(bytes_to_u32s(&buf).iter().all(|&w| w == 0));
    }
}

#[test]
fn demoted_and_non_live_lanes_are_helpers_and_make_no_stores() {
    let src = r#"
#version 450
#extension GL_EXT_demote_to_helper_invocation : require
layout(location = 0) in float v;
layout(std430, set = 0, binding = 0) buffer B { uint w[]; } b;
layout(location = 0) out vec4 o;
void main() {
    int lane = int(gl_FragCoord.x) + 4 * int(gl_FragCoord.y);
    bool h0 = gl_HelperInvocation;
    if (v < 0.5) demote;
    bool h1 = helperInvocationEXT();
    b.w[lane] = h1 ? 2u : 1u;
    atomicAdd(b.w[16], 1u);
    o = vec4(h0 ? 1.0 : 0.0, h1 ? 1.0 : 0.0, v, 1.0);
}
"#;
    let mut k = glsl(Stage::Fragment, src);
    let live = 0b1101_0111u32;
    let mut b = Batch::at(&k.module, 0, 0, live);
    let vs: [f32; L] = [0.9, 0.1, 1.0, 0.7, 0.2, 0.6, 0.95, 0.3];
    b.set_f32(k.input(0, 0), vs);
    let outs_in = vec![0u32; L * k.module.outputs.len()];
    let sentinel = 0x7777_7777u32;
    let mut buf = u32s_to_bytes(
        &[sentinel; 16]
            .iter()
            .copied()
            .chain([0u32])
            .collect::<Vec<_>>(),
    );
    let (survivors, out) = k.run_fragment(&b, &outs_in, &mut [&mut buf], &[]);
    let is_live = |l: usize| live & (1 << l) != 0;
    let want: u32 = (0..L)
        .filter(|&l| is_live(l) && vs[l] >= 0.5)
        .map(|l| 1 << l)
        .sum();
    assert_eq!(survivors, want);
    let words = bytes_to_u32s(&buf);
    assert_eq!(words[16], want.count_ones(), "atomics only from survivors");
    for l in 0..L {
        let idx = lane_index(&b, l);
        let expect = if want & (1 << l) != 0 { 1 } else { sentinel };
        assert_eq!(words[idx], expect, "lane {l}: store");
        // Helpers still compute (their outputs are produced, the renderer ignores them).
        let h0 = f32_word(&out, k.location(0, 0), l);
        let h1 = f32_word(&out, k.location(0, 1), l);
        assert_eq!(
            h0,
            if is_live(l) { 0.0 } else { 1.0 },
            "lane {l}: gl_HelperInvocation"
        );
        let helper_now = !is_live(l) || vs[l] < 0.5;
        assert_eq!(
            h1,
            if helper_now { 1.0 } else { 0.0 },
            "lane {l}: helperInvocationEXT"
        );
        assert_eq!(
            f32_word(&out, k.location(0, 2), l),
            vs[l],
            "lane {l}: helpers compute"
        );
    }
}

#[test]
fn early_fragment_tests_shader_stores_from_live_lanes_only() {
    let src = r#"
#version 450
layout(early_fragment_tests) in;
layout(location = 0) flat in uint id;
layout(std430, set = 0, binding = 0) buffer B { uint w[]; } b;
layout(location = 0) out uvec4 o;
void main() {
    b.w[id] = id + 100u;
    o = uvec4(id, 1u, 2u, 3u);
}
"#;
    let mut k = glsl(Stage::Fragment, src);
    assert!(k.module.fragment.early_fragment_tests);
    let live = 0b0011_1100u32;
    let mut b = Batch::at(&k.module, 4, 4, live);
    b.set_i32(k.input(0, 0), std::array::from_fn(|l| l as i32));
    let outs_in = vec![0u32; L * k.module.outputs.len()];
    let mut buf = u32s_to_bytes(&[0u32; L]);
    let (survivors, out) = k.run_fragment(&b, &outs_in, &mut [&mut buf], &[]);
    assert_eq!(survivors, live);
    let words = bytes_to_u32s(&buf);
    for l in 0..L {
        let expect = if live & (1 << l) != 0 {
            l as u32 + 100
        } else {
            0
        };
        assert_eq!(words[l], expect, "lane {l}");
        assert_eq!(out[k.location(0, 0) * L + l], l as u32);
        assert_eq!(out[k.location(0, 3) * L + l], 3);
    }
}

/// Discard, demote, helpers, a conditional `FragDepth` write, private memory and stores.
const MIXED: &str = r#"
#version 450
#extension GL_EXT_demote_to_helper_invocation : require
layout(location = 0) in float v;
layout(location = 1) flat in int id;
layout(std430, set = 0, binding = 0) buffer B { uint count; uint w[]; } b;
layout(location = 0) out vec4 o;
void main() {
    float arr[4];
    int k = int(gl_FragCoord.x) & 3;
    // Lanes that skip the write read private memory as it starts for the batch.
    if (v > 0.5) arr[k] = v * float(id + 1);
    bool h0 = gl_HelperInvocation;
    if (v < 0.2) discard;
    if (v < 0.4) demote;
    bool h1 = helperInvocationEXT();
    uint pix = uint(gl_FragCoord.x) + 64u * uint(gl_FragCoord.y);
    b.w[pix] = uint(id) + 1u;
    atomicAdd(b.count, 1u);
    if (v > 0.7) gl_FragDepth = v * 0.5;
    o = vec4(arr[k], gl_FrontFacing ? v : -v, h0 ? 1.0 : 0.0, h1 ? 1.0 : 0.0);
}
"#;

#[test]
fn one_call_over_many_batches_gives_each_batch_what_a_call_on_it_alone_gives() {
    let mut k = glsl(Stage::Fragment, MIXED);
    let depth_slot = k.output(OutputTarget::FragDepth);
    let lives = [
        ALL,
        0b1011_0110,
        0,
        0b0000_1111,
        0b1000_0001,
        ALL,
        0b0110_0110,
    ];
    let mut seed = 0x9e37_79b9u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        (seed >> 8) as f32 / (1u32 << 24) as f32
    };
    let batches: Vec<Batch> = lives
        .iter()
        .enumerate()
        .map(|(i, &live)| {
            let mut b = Batch::at(&k.module, 4 * i as u32, 2, live);
            b.front_facing = (i % 2) as u32;
            b.set_f32(k.input(0, 0), std::array::from_fn(|_| next()));
            b.set_i32(k.input(1, 0), [i as i32; L]);
            b
        })
        .collect();
    let outs_in: Vec<Vec<u32>> = batches
        .iter()
        .map(|b| {
            let mut words = vec![0x5555_5555u32; L * k.module.outputs.len()];
            for l in 0..L {
                words[depth_slot * L + l] = b.frag_coord[2][l].to_bits();
            }
            words
        })
        .collect();
    let buffer = || u32s_to_bytes(&vec![0u32; 1 + 64 * 4]);

    let mut alone_buf = buffer();
    let alone: Vec<(u32, Vec<u32>)> = batches
        .iter()
        .zip(&outs_in)
        .map(|(b, o)| k.run_fragment(b, o, &mut [&mut alone_buf], &[]))
        .collect();
    let mut together_buf = buffer();
    let pairs: Vec<(&Batch, &[u32])> = batches
        .iter()
        .zip(&outs_in)
        .map(|(b, o)| (b, o.as_slice()))
        .collect();
    let together = k.run_fragments(&pairs, &mut [&mut together_buf], &[]);

    assert_eq!(together.len(), batches.len());
    for (i, (t, a)) in together.iter().zip(&alone).enumerate() {
        assert_eq!(t.0, a.0, "batch {i}: survivors");
        assert_eq!(t.1, a.1, "batch {i}: output words");
        assert_eq!(t.0 & !lives[i], 0, "batch {i}: survivors are live lanes");
    }
    assert_eq!(together_buf, alone_buf, "stores and atomics");
    // The case is not trivial: some live lanes survive, some are discarded or demoted, some
    // depths are replaced.
    let survivors: u32 = together.iter().map(|t| t.0.count_ones()).sum();
    let live: u32 = lives.iter().map(|l| l.count_ones()).sum();
    assert!(survivors > 0 && survivors < live, "{survivors} of {live}");
    assert_eq!(bytes_to_u32s(&together_buf)[0], survivors);
    let replaced = together
        .iter()
        .zip(&outs_in)
        .filter(|(t, o)| t.1[depth_slot * L..][..L] != o[depth_slot * L..][..L])
        .count();
    assert!(replaced > 0);

    // An empty array is a call that does nothing.
    let mut untouched = buffer();
    assert!(k.run_fragments(&[], &mut [&mut untouched], &[]).is_empty());
    assert_eq!(untouched, buffer());
}
