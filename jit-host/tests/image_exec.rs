//! Image operations and derivatives, run for real: GLSL → SPIR-V → IR → code, called with an
//! `image_op` written here that records every request and answers a known function of it. The
//! tests check, per lane, that the right operation, flags, coordinates, LOD / bias / gradients,
//! depth reference, offsets and mask arrive, and that the answers land in the right outputs.
#![allow(clippy::needless_range_loop)]

mod common;
mod graphics;

use common::kernel_run::run_compute;
use common::recording_images::{
    image_slot, take_calls, Answers, Tables, COMBINED_BASE, IMAGE_BASE, SAMPLER_BASE,
};
use graphics::*;
use jit_host::codegen::Target;
use shader::abi::{image_atomic, image_flag, image_op, ImageRequest};
use shader::ir::Stage;

/// Added to an image descriptor's fake address when the slot's components are integers.
const INT_IMAGE: usize = 8;

/// The test helper's answers: a known function of the request.
struct KnownFunction;

impl Answers for KnownFunction {
    const INT_IMAGE_TAG: usize = INT_IMAGE;

    /// What the test helper answers for component `c` of lane `l`.
    fn answer(image: usize, r: &ImageRequest, c: usize, l: usize) -> u32 {
        let int_image = image & INT_IMAGE != 0;
        match r.op {
            image_op::SAMPLE | image_op::GATHER | image_op::QUERY_LOD => {
                (f32::from_bits(r.coords[0][l]) + 10.0 * c as f32 + 100.0 * r.op as f32).to_bits()
            }
            image_op::FETCH | image_op::READ if !int_image => {
                (r.coords[0][l] as i32 as f32 + 10.0 * c as f32 + 100.0 * r.op as f32).to_bits()
            }
            image_op::FETCH | image_op::READ => {
                (r.coords[0][l] as i32 + 10 * c as i32 + 100 * r.op as i32) as u32
            }
            image_op::ATOMIC => 1000 + r.coords[0][l],
            image_op::QUERY_SIZE => (64u32 >> (r.lod[l] & 7)) + c as u32,
            image_op::QUERY_LEVELS => 7,
            _ => 0xdead,
        }
    }
}

fn f(bits: u32) -> f32 {
    f32::from_bits(bits)
}

const SAMPLING: &str = r#"#version 450
layout(location = 0) in vec2 uv;
layout(set = 0, binding = 0) uniform sampler2D tex;
layout(set = 0, binding = 1) uniform sampler2DShadow shadow;
layout(set = 0, binding = 2) uniform texture2D sep;
layout(set = 0, binding = 3) uniform sampler samp;
layout(location = 0) out vec4 o0;
layout(location = 1) out vec4 o1;
layout(location = 2) out vec4 o2;
layout(location = 3) out vec4 o3;
layout(location = 4) out vec4 o4;
layout(location = 5) out vec4 o5;
layout(location = 6) out vec4 o6;
layout(location = 7) out vec4 o7;
void main() {
    o0 = texture(tex, uv);
    o1 = textureLod(tex, uv, 2.5);
    o2 = textureGrad(tex, uv, vec2(0.125, 0.25), vec2(0.375, 0.5));
    o3 = textureOffset(tex, uv, ivec2(1, -2), 0.75);
    o4 = texelFetch(tex, ivec2(uv), 1);
    o5 = textureGather(tex, uv, 2);
    o6 = vec4(texture(shadow, vec3(uv, 0.625)), vec2(textureSize(tex, 1)), float(textureQueryLevels(tex)));
    o7 = texture(sampler2D(sep, samp), uv);
}
"#;

#[test]
fn fragment_sampling_requests_carry_operands_per_lane_and_answers_reach_outputs() {
    let mut p = glsl(Stage::Fragment, SAMPLING);
    let tables = Tables::new::<KnownFunction>(&p.module);
    p.images = tables.resources();
    let m = p.module.clone();
    let (tex, shadow, sep) = (
        image_slot(&m, 0, 0),
        image_slot(&m, 1, 0),
        image_slot(&m, 2, 0),
    );
    // Lanes 3 and 6 are helpers: they must still take part in sampling.
    let live = 0b1011_0111;
    let mut batch = Batch::at(&m, 10, 20, live);
    let u: [f32; L] = std::array::from_fn(|l| 1.0 + l as f32 * 0.25);
    let v: [f32; L] = std::array::from_fn(|l| 2.0 + l as f32 * 0.5);
    batch.set_f32(p.input(0, 0), u);
    batch.set_f32(p.input(0, 1), v);
    let outs_in = vec![0u32; L * m.outputs.len()];
    take_calls();
    let (_, out) = p.run_fragment(&batch, &outs_in, &mut [], &[]);
    let calls = take_calls();
    assert_eq!(calls.len(), 10, "one helper call per image operation");
    for c in &calls {
        assert_eq!(c.req.lanes, L as u32);
        assert_eq!(c.req.mask, 0xff, "every executing lane, helpers included");
    }
    let tex_image = IMAGE_BASE + 16 * tex;
    let tex_sampler = COMBINED_BASE + 16 * tex;
    let quad = image_flag::QUAD_DERIVATIVES;
    let expect = [
        (image_op::SAMPLE, quad, tex_image, tex_sampler),
        (image_op::SAMPLE, image_flag::LOD, tex_image, tex_sampler),
        (image_op::SAMPLE, image_flag::GRAD, tex_image, tex_sampler),
        (
            image_op::SAMPLE,
            quad | image_flag::BIAS | image_flag::OFFSET,
            tex_image,
            tex_sampler,
        ),
        (image_op::FETCH, image_flag::LOD, tex_image, 0),
        (image_op::GATHER, 0, tex_image, tex_sampler),
        (
            image_op::SAMPLE,
            quad | image_flag::DREF,
            IMAGE_BASE + 16 * shadow,
            COMBINED_BASE + 16 * shadow,
        ),
        (image_op::QUERY_SIZE, image_flag::LOD, tex_image, 0),
        (image_op::QUERY_LEVELS, 0, tex_image, 0),
        (image_op::SAMPLE, quad, IMAGE_BASE + 16 * sep, SAMPLER_BASE),
    ];
    for (i, (c, (op, flags, image, sampler))) in calls.iter().zip(expect).enumerate() {
        assert_eq!(c.req.op, op, "call {i}: op");
        assert_eq!(c.req.flags, flags, "call {i}: flags");
        assert_eq!(c.image, image, "call {i}: image descriptor");
        assert_eq!(c.sampler, sampler, "call {i}: sampler descriptor");
    }
    for l in 0..L {
        for i in [0, 1, 2, 3, 5, 6, 9] {
            let r = &calls[i].req;
            assert_eq!(r.coord_count, 2, "call {i}");
            assert_eq!(
                (f(r.coords[0][l]), f(r.coords[1][l])),
                (u[l], v[l]),
                "call {i}"
            );
        }
        assert_eq!(f(calls[1].req.lod[l]), 2.5);
        assert_eq!(
            (calls[2].req.ddx[0][l], calls[2].req.ddx[1][l]),
            (0.125, 0.25)
        );
        assert_eq!(
            (calls[2].req.ddy[0][l], calls[2].req.ddy[1][l]),
            (0.375, 0.5)
        );
        assert_eq!(f(calls[3].req.lod[l]), 0.75);
        assert_eq!(
            (calls[3].req.offset[0][l], calls[3].req.offset[1][l]),
            (1, -2)
        );
        let fetch = &calls[4].req;
        assert_eq!(
            (fetch.coords[0][l] as i32, fetch.coords[1][l] as i32),
            (u[l] as i32, v[l] as i32)
        );
        assert_eq!(fetch.lod[l], 1);
        assert_eq!(calls[5].req.component, 2);
        assert_eq!(calls[6].req.dref[l], 0.625);
        assert_eq!(calls[7].req.lod[l], 1);
    }
    // Answers in the outputs of live lanes.
    let word = |loc: u32, comp: u8, l: usize| f32_word(&out, p.location(loc, comp), l);
    for l in (0..L).filter(|l| live & (1 << l) != 0) {
        for c in 0..4u8 {
            let sampled = u[l] + 10.0 * f32::from(c) + 100.0;
            for loc in [0, 1, 2, 3, 7] {
                assert_eq!(word(loc, c, l), sampled, "o{loc}.{c} lane {l}");
            }
            assert_eq!(word(5, c, l), sampled + 100.0, "gather o5.{c} lane {l}");
            assert_eq!(
                word(4, c, l),
                (u[l] as i32) as f32 + 10.0 * f32::from(c) + 300.0,
                "fetch o4.{c} lane {l}"
            );
        }
        assert_eq!(word(6, 0, l), u[l] + 100.0, "shadow lane {l}");
        assert_eq!(
            (word(6, 1, l), word(6, 2, l)),
            (32.0, 33.0),
            "size lane {l}"
        );
        assert_eq!(word(6, 3, l), 7.0, "levels lane {l}");
    }
}

#[test]
fn derivatives_match_quad_differences_fine_and_coarse() {
    let src = r#"#version 450
layout(location = 0) out vec4 a;
layout(location = 1) out vec4 b;
void main() {
    float f = gl_FragCoord.x * gl_FragCoord.x + 3.0 * gl_FragCoord.y * gl_FragCoord.x;
    a = vec4(dFdxFine(f), dFdyFine(f), dFdxCoarse(f), dFdyCoarse(f));
    b = vec4(dFdx(f), dFdy(f), fwidthFine(f), fwidthCoarse(f));
}
"#;
    let mut p = glsl(Stage::Fragment, src);
    let m = p.module.clone();
    let batch = Batch::at(&m, 10, 20, 0b0001_0001);
    let outs_in = vec![0u32; L * m.outputs.len()];
    let (_, out) = p.run_fragment(&batch, &outs_in, &mut [], &[]);
    let fc = |l: usize| (batch.frag_coord[0][l], batch.frag_coord[1][l]);
    let func = |l: usize| {
        let (x, y) = fc(l);
        x * x + 3.0 * y * x
    };
    for l in 0..L {
        let q = l & !3;
        let (col, row) = (l & 1, (l >> 1) & 1);
        let fine_x = func(q + 2 * row + 1) - func(q + 2 * row);
        let fine_y = func(q + 2 + col) - func(q + col);
        let coarse_x = func(q + 1) - func(q);
        let coarse_y = func(q + 2) - func(q);
        let got = |loc: u32, c: u8| f32_word(&out, p.location(loc, c), l);
        // Only lanes 0 and 4 are live, yet the whole quad computes f.
        if l % 4 != 0 {
            continue;
        }
        assert_eq!(got(0, 0), fine_x, "dFdxFine lane {l}");
        assert_eq!(got(0, 1), fine_y, "dFdyFine lane {l}");
        assert_eq!(got(0, 2), coarse_x, "dFdxCoarse lane {l}");
        assert_eq!(got(0, 3), coarse_y, "dFdyCoarse lane {l}");
        assert_eq!(got(1, 0), coarse_x, "dFdx is coarse, lane {l}");
        assert_eq!(got(1, 1), coarse_y, "dFdy is coarse, lane {l}");
        assert!(
            close(got(1, 2), fine_x.abs() + fine_y.abs()),
            "fwidthFine lane {l}"
        );
        assert!(
            close(got(1, 3), coarse_x.abs() + coarse_y.abs()),
            "fwidthCoarse lane {l}"
        );
    }
}

#[test]
fn derivatives_differ_per_row_and_column_when_fine() {
    // All lanes live: check every lane (rows and columns of a quad differ for x*y).
    let src = r#"#version 450
layout(location = 0) out vec4 a;
void main() {
    float f = gl_FragCoord.x * gl_FragCoord.y;
    a = vec4(dFdxFine(f), dFdyFine(f), dFdxCoarse(f), dFdyCoarse(f));
}
"#;
    let mut p = glsl(Stage::Fragment, src);
    let m = p.module.clone();
    let batch = Batch::at(&m, 4, 6, 0xff);
    let (_, out) = p.run_fragment(&batch, &vec![0u32; L * m.outputs.len()], &mut [], &[]);
    for l in 0..L {
        let (y, x) = (batch.frag_coord[1][l], batch.frag_coord[0][l]);
        let q = l & !3;
        let (qx, qy) = (batch.frag_coord[0][q], batch.frag_coord[1][q]);
        let got = |c: u8| f32_word(&out, p.location(0, c), l);
        assert_eq!(got(0), y, "dFdxFine(x*y) = y, lane {l}");
        assert_eq!(got(1), x, "dFdyFine(x*y) = x, lane {l}");
        assert_eq!(got(2), qy, "dFdxCoarse uses the quad's top row, lane {l}");
        assert_eq!(
            got(3),
            qx,
            "dFdyCoarse uses the quad's left column, lane {l}"
        );
    }
}

#[test]
fn compute_storage_image_load_store_atomic_mask_inactive_lanes() {
    let src = r#"#version 450
layout(local_size_x = 3) in;
layout(set = 0, binding = 0, r32ui) uniform uimage2D img;
layout(set = 0, binding = 1, rgba32f) uniform writeonly image2D fimg;
layout(set = 0, binding = 2) buffer B { uint o[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    uvec4 v = imageLoad(img, ivec2(i, 7));
    imageStore(fimg, ivec2(i, 1), vec4(float(i), 2.0, 3.0, 4.0));
    uint old = imageAtomicAdd(img, ivec2(i, 2), 5u);
    o[i] = v.x;
    o[i + 3u] = old;
}
"#;
    let m = lower_glsl(Stage::Compute, src);
    let w = Target::host().expect("target").simd_width;
    let mut o = vec![0u8; 4 * 6];
    take_calls();
    let tables = Tables::new::<KnownFunction>(&m);
    run_compute(&m, 1, &mut [&mut o[..]], &[], tables.resources());
    let calls = take_calls();
    assert_eq!(calls.len(), 3);
    let (img, fimg) = (image_slot(&m, 0, 0), image_slot(&m, 1, 0));
    for c in &calls {
        assert_eq!(c.req.lanes, w);
        assert_eq!(c.req.mask, 0b111, "lanes past the workgroup are masked");
        assert_eq!(c.req.coord_count, 2);
        assert_eq!(c.sampler, 0);
    }
    let (read, write, atomic) = (&calls[0], &calls[1], &calls[2]);
    assert_eq!(
        (read.req.op, read.image),
        (image_op::READ, IMAGE_BASE + 16 * img + INT_IMAGE)
    );
    assert_eq!(
        (write.req.op, write.image),
        (image_op::WRITE, IMAGE_BASE + 16 * fimg)
    );
    assert_eq!(atomic.req.op, image_op::ATOMIC);
    assert_eq!(atomic.req.atomic_op, image_atomic::ADD);
    for l in 0..3 {
        assert_eq!(
            (read.req.coords[0][l], read.req.coords[1][l]),
            (l as u32, 7)
        );
        assert_eq!(
            (write.req.coords[0][l], write.req.coords[1][l]),
            (l as u32, 1)
        );
        let texel: Vec<f32> = (0..4).map(|c| f(write.req.texel[c][l])).collect();
        assert_eq!(texel, [l as f32, 2.0, 3.0, 4.0]);
        assert_eq!(
            (atomic.req.coords[0][l], atomic.req.coords[1][l]),
            (l as u32, 2)
        );
        assert_eq!(atomic.req.texel[0][l], 5);
    }
    let o = bytes_to_u32s(&o);
    for l in 0..3u32 {
        assert_eq!(o[l as usize], l + 400, "imageLoad answer lane {l}");
        assert_eq!(o[l as usize + 3], 1000 + l, "atomic old value lane {l}");
    }
}

#[test]
fn fragment_image_store_skips_helper_lanes_and_mask_empty_skips_the_call() {
    let src = r#"#version 450
layout(location = 0) flat in int sel;
layout(set = 0, binding = 0, r32i) uniform iimage2D img;
void main() {
    imageStore(img, ivec2(gl_FragCoord.xy), ivec4(7));
    if (sel == 99) {
        imageStore(img, ivec2(0), ivec4(1));
    }
}
"#;
    let mut p = glsl(Stage::Fragment, src);
    let tables = Tables::new::<KnownFunction>(&p.module);
    p.images = tables.resources();
    let m = p.module.clone();
    let live = 0b0101_0011;
    let batch = Batch::at(&m, 0, 0, live);
    take_calls();
    p.run_fragment(&batch, &vec![0u32; L * m.outputs.len()], &mut [], &[]);
    let calls = take_calls();
    assert_eq!(calls.len(), 1, "the branch no lane takes makes no call");
    assert_eq!(calls[0].req.op, image_op::WRITE);
    assert_eq!(calls[0].req.mask, live, "helper lanes do not write");
    for l in 0..L {
        assert_eq!(calls[0].req.texel[0][l] as i32, 7);
    }
}
