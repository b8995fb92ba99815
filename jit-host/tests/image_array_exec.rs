//! Dynamically indexed arrays of images, samplers and combined image samplers, run for real:
//! GLSL → SPIR-V → IR → code, called with an `image_op` written here that records which
//! image and sampler descriptors each request arrives with. In range, the element the index
//! names reaches the helper; out of range (past the end, or negative), the null descriptor
//! does (a null image pointer, so the helper answers zeros and drops writes).
#![allow(clippy::needless_range_loop)]

mod common;
mod graphics;

use common::kernel_run::run_compute;
use common::recording_images::{
    image_slot, sampler_slot, take_calls, Answers, Call, Tables, COMBINED_BASE, IMAGE_BASE,
    SAMPLER_BASE,
};
use graphics::*;
use shader::abi::{image_op, ImageRequest};
use shader::ir::{Module, Stage};

/// The helper's answer: zeros for the null image (what the renderer's helper gives),
/// else the image address plus the component, so the output names the element used.
fn answer(image: usize, c: usize) -> u32 {
    if image == 0 {
        0
    } else {
        (image + c) as u32
    }
}

/// The test helper's answers: [`answer`]; image addresses carry no integer tag.
struct ElementAddress;

impl Answers for ElementAddress {
    const INT_IMAGE_TAG: usize = 0;

    fn answer(image: usize, _: &ImageRequest, c: usize, _: usize) -> u32 {
        answer(image, c)
    }
}

const FRAGMENT: &str = r#"#version 450
layout(location = 0) in vec2 uv;
layout(set = 0, binding = 0) uniform sampler2D tex[4];
layout(set = 0, binding = 1) uniform texture2D sep[3];
layout(set = 0, binding = 2) uniform sampler samps[2];
layout(push_constant) uniform P { int i; int j; int k; };
layout(location = 0) out vec4 o0;
layout(location = 1) out vec4 o1;
layout(location = 2) out vec4 o2;
void main() {
    o0 = texture(tex[i], uv);
    o1 = texture(sampler2D(sep[j], samps[k]), uv);
    o2 = texelFetch(tex[2], ivec2(uv), 0);
}
"#;

/// `FRAGMENT` compiled, with the recording helper's tables (keep them while it runs).
fn placed_fragment() -> (Placed, Tables) {
    let mut p = glsl(Stage::Fragment, FRAGMENT);
    let tables = Tables::new::<ElementAddress>(&p.module);
    p.images = tables.resources();
    (p, tables)
}

/// Runs `FRAGMENT` with push constants (i, j, k); returns the three calls and the outputs.
fn run_fragment_with(p: &mut Placed, i: i32, j: i32, k: i32) -> (Vec<Call>, Vec<u32>) {
    let m = p.module.clone();
    let live = 0b1111_0111;
    let mut batch = Batch::at(&m, 0, 0, live);
    batch.set_f32(p.input(0, 0), std::array::from_fn(|l| 1.0 + l as f32));
    batch.set_f32(p.input(0, 1), [2.0; L]);
    let push: Vec<u8> = [i, j, k].iter().flat_map(|x| x.to_le_bytes()).collect();
    take_calls();
    let (_, out) = p.run_fragment(&batch, &vec![0u32; L * m.outputs.len()], &mut [], &push);
    (take_calls(), out)
}

#[test]
fn fragment_dynamic_index_picks_the_element_in_range_and_null_out_of_range() {
    let (mut p, _tables) = placed_fragment();
    let m = p.module.clone();
    // Every element of the indexed arrays has a slot.
    for e in 0..4 {
        assert_eq!(m.images[image_slot(&m, 0, e)].array_index, e);
    }
    for (i, j, k) in [(0, 0, 0), (3, 2, 1), (1, 1, 0), (2, 0, 1)] {
        let (calls, out) = run_fragment_with(&mut p, i, j, k);
        assert_eq!(calls.len(), 3, "i={i}");
        let tex = image_slot(&m, 0, i as u32);
        assert_eq!(calls[0].req.op, image_op::SAMPLE);
        assert_eq!(calls[0].image, IMAGE_BASE + 16 * tex, "tex[{i}]");
        assert_eq!(
            calls[0].sampler,
            COMBINED_BASE + 16 * tex,
            "tex[{i}]'s sampler"
        );
        let sep = image_slot(&m, 1, j as u32);
        let samp = sampler_slot(&m, 2, k as u32);
        assert_eq!(calls[1].image, IMAGE_BASE + 16 * sep, "sep[{j}]");
        assert_eq!(calls[1].sampler, SAMPLER_BASE + 16 * samp, "samps[{k}]");
        // A constant index into the same array still names its own element.
        assert_eq!(calls[2].image, IMAGE_BASE + 16 * image_slot(&m, 0, 2));
        for l in 0..L {
            for c in 0..4u8 {
                let word = |loc: u32| out[p.location(loc, c) * L + l];
                assert_eq!(word(0), answer(IMAGE_BASE + 16 * tex, c.into()));
                assert_eq!(word(1), answer(IMAGE_BASE + 16 * sep, c.into()));
            }
        }
    }
}

#[test]
fn fragment_out_of_range_or_negative_index_passes_the_null_descriptor() {
    let (mut p, _tables) = placed_fragment();
    let m = p.module.clone();
    // (i, j, k): tex past its end; sep negative; samps past its end with sep in range.
    for (i, j, k) in [(4, -1, 0), (1000, 3, 1), (-1, 0, 2), (i32::MIN, 1, -7)] {
        let (calls, out) = run_fragment_with(&mut p, i, j, k);
        assert_eq!(calls.len(), 3);
        let tex_in = (0..4).contains(&i);
        let sep_in = (0..3).contains(&j) && (0..2).contains(&k);
        if !tex_in {
            assert_eq!((calls[0].image, calls[0].sampler), (0, 0), "tex[{i}]");
        }
        if !sep_in {
            assert_eq!(
                (calls[1].image, calls[1].sampler),
                (0, 0),
                "sep[{j}] with samps[{k}]"
            );
        }
        for l in 0..L {
            for c in 0..4u8 {
                let word = |loc: u32| out[p.location(loc, c) * L + l];
                if !tex_in {
                    assert_eq!(word(0), 0, "robust zeros for tex[{i}]");
                }
                if !sep_in {
                    assert_eq!(word(1), 0, "robust zeros for sep[{j}]/samps[{k}]");
                }
            }
        }
        assert_eq!(calls[2].image, IMAGE_BASE + 16 * image_slot(&m, 0, 2));
    }
}

const COMPUTE: &str = r#"#version 450
layout(local_size_x = 3) in;
layout(set = 0, binding = 0, r32ui) uniform uimage2D imgs[3];
layout(set = 0, binding = 1) uniform U { uint sel; };
layout(set = 0, binding = 2) buffer B { uint o[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    uvec4 v = imageLoad(imgs[sel], ivec2(i, 7));
    imageStore(imgs[sel], ivec2(i, 1), uvec4(i));
    uint old = imageAtomicAdd(imgs[sel], ivec2(i, 2), 5u);
    o[i] = v.x;
    o[i + 3u] = old;
}
"#;

/// Runs `COMPUTE` with `sel`; returns the calls and the output words.
fn run_compute_with(m: &Module, sel: u32) -> (Vec<Call>, Vec<u32>) {
    let mut u = sel.to_le_bytes().to_vec();
    let mut o = vec![0xffu8; 4 * 6];
    let order: Vec<u32> = m.buffers.iter().map(|b| b.binding).collect();
    let tables = Tables::new::<ElementAddress>(m);
    take_calls();
    match order.as_slice() {
        [1, 2] => run_compute(m, 1, &mut [&mut u, &mut o], &[], tables.resources()),
        [2, 1] => run_compute(m, 1, &mut [&mut o, &mut u], &[], tables.resources()),
        other => panic!("unexpected buffer slots {other:?}"),
    }
    (take_calls(), bytes_to_u32s(&o))
}

#[test]
fn compute_dynamic_index_from_a_uniform_reaches_load_store_and_atomic() {
    let m = lower_glsl(Stage::Compute, COMPUTE);
    for sel in 0..3u32 {
        let (calls, o) = run_compute_with(&m, sel);
        assert_eq!(calls.len(), 3, "sel={sel}");
        let image = IMAGE_BASE + 16 * image_slot(&m, 0, sel);
        let ops: Vec<u32> = calls.iter().map(|c| c.req.op).collect();
        assert_eq!(ops, [image_op::READ, image_op::WRITE, image_op::ATOMIC]);
        for c in &calls {
            assert_eq!(c.image, image, "imgs[{sel}]");
            assert_eq!(c.sampler, 0);
            assert_eq!(c.req.mask, 0b111);
        }
        for l in 0..3 {
            assert_eq!(o[l], answer(image, 0), "imageLoad lane {l}");
            assert_eq!(o[l + 3], answer(image, 0), "atomic lane {l}");
        }
    }
}

#[test]
fn compute_out_of_range_index_passes_null_so_writes_and_atomics_drop() {
    let m = lower_glsl(Stage::Compute, COMPUTE);
    for sel in [3u32, 4, 0x8000_0000, u32::MAX] {
        let (calls, o) = run_compute_with(&m, sel);
        assert_eq!(calls.len(), 3, "sel={sel}");
        for c in &calls {
            assert_eq!(
                (c.image, c.sampler),
                (0, 0),
                "imgs[{sel}] is the null image"
            );
        }
        assert_eq!(o, [0; 6], "loads and atomics of the null image give zeros");
    }
}
