//! Memory: buffer layouts (std140, std430, row-major matrices), push constants, workgroup
//! memory with barriers, atomics, runtime array lengths, descriptor arrays, small and wide
//! integer types. Run in the reference interpreter, plain and optimized.

// In tests a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shader::ir::{BufferKind, Stmt};

/// A buffer where the 32-bit word at byte offset `o` holds the bits of `o as f32`.
fn offset_pattern(len: usize) -> Vec<u8> {
    (0..len / 4)
        .flat_map(|w| ((w * 4) as f32).to_bits().to_le_bytes())
        .collect()
}

#[test]
fn std140_uniform_block_members_are_read_from_their_offsets() {
    let src = r#"#version 450
layout(local_size_x = 1) in;
layout(std140, set = 0, binding = 0) uniform U {
    float f;            // 0
    vec3 v;             // 16
    mat3 m;             // 32, columns 16 apart
    layout(row_major) mat2x3 rm;   // 80, rows 16 apart
    float arr[3];       // 128, stride 16
    ivec2 iv;           // 176
};
layout(set = 0, binding = 1) buffer O { uint o[]; };
void main() {
    uint n = 0;
    o[n++] = floatBitsToUint(f);
    for (int k = 0; k < 3; k++) o[n++] = floatBitsToUint(v[k]);
    for (int c = 0; c < 3; c++) for (int r = 0; r < 3; r++) o[n++] = floatBitsToUint(m[c][r]);
    for (int c = 0; c < 2; c++) for (int r = 0; r < 3; r++) o[n++] = floatBitsToUint(rm[c][r]);
    vec3 col = rm[1]; o[n++] = floatBitsToUint(col.z);
    for (uint k = 0; k < 3u; k++) o[n++] = floatBitsToUint(arr[k + o[63]]);
    o[n++] = uint(iv.y);
}
"#;
    let mut want: Vec<f32> = vec![0.0, 16.0, 20.0, 24.0];
    for c in 0..3 {
        for r in 0..3 {
            want.push((32 + 16 * c + 4 * r) as f32);
        }
    }
    for c in 0..2 {
        for r in 0..3 {
            want.push((80 + 16 * r + 4 * c) as f32);
        }
    }
    want.push((80 + 16 * 2 + 4) as f32);
    want.extend([128.0, 144.0, 160.0, 180.0]);
    for m in both(src) {
        assert_eq!(m.buffers[slot(&m, 0, 0)].kind, BufferKind::Uniform);
        let out = run_with(
            &m,
            [1, 1, 1],
            &[(0, 0, offset_pattern(192)), (0, 1, vec![0; 256])],
            &[],
        );
        let got = u32s(&out[slot(&m, 0, 1)]);
        let want_bits: Vec<u32> = want.iter().map(|f| f.to_bits()).collect();
        assert_eq!(&got[..want_bits.len()], &want_bits[..]);
    }
}

#[test]
fn std430_struct_arrays_are_written_at_their_offsets() {
    let src = r#"#version 450
layout(local_size_x = 4) in;
struct P { vec2 a; float b; uvec3 c; };   // 0, 8, 16; stride 32
layout(std430, set = 0, binding = 0) buffer S { uint count; P ps[]; };  // ps at 16
layout(std430, set = 0, binding = 1) buffer T { layout(row_major) mat2 rm[2]; mat2 cm; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    ps[i].a = vec2(float(i), 0.5);
    ps[i].b = 2.0 * float(i);
    ps[i].c = uvec3(i, i * 10u, 7u);
    if (i == 0u) {
        count = uint(ps.length());
        rm[1] = mat2(1.0, 2.0, 3.0, 4.0);
        cm[1][0] = 9.0;
    }
}
"#;
    for m in both(src) {
        let out = run_with(
            &m,
            [1, 1, 1],
            &[(0, 0, vec![0; 16 + 4 * 32 + 8]), (0, 1, vec![0; 48])],
            &[],
        );
        let s = u32s(&out[slot(&m, 0, 0)]);
        // (16 + 4 * 32 + 8 - 16) / 32 = 4 elements (the trailing 8 bytes are a partial element).
        assert_eq!(s[0], 4, "ps.length()");
        for i in 0..4u32 {
            let base = (16 + 32 * i as usize) / 4;
            assert_eq!(f32::from_bits(s[base]), i as f32);
            assert_eq!(f32::from_bits(s[base + 1]), 0.5);
            assert_eq!(f32::from_bits(s[base + 2]), 2.0 * i as f32);
            assert_eq!(&s[base + 4..base + 7], &[i, i * 10, 7]);
        }
        let t = f32s(&out[slot(&m, 0, 1)]);
        // rm[1] row-major: row r at 16 + 8r, element (c, r) at 16 + 8r + 4c.
        assert_eq!(&t[4..8], &[1.0, 3.0, 2.0, 4.0]);
        assert_eq!(t[8 + 2], 9.0, "cm[1][0] at 32 + 8");
    }
}

#[test]
fn push_constants_are_read_at_their_offsets_and_sized() {
    let src = r#"#version 450
layout(local_size_x = 1) in;
layout(push_constant) uniform P { uint a; layout(offset = 16) vec4 v; uint tail[2]; } pc;
layout(set = 0, binding = 0) buffer O { uint o[]; };
void main() { o[0] = pc.a; o[1] = floatBitsToUint(pc.v.w); o[2] = pc.tail[1]; }
"#;
    for m in both(src) {
        assert_eq!(m.push_constant_size, 40);
        let mut push = vec![0u8; 40];
        push[0..4].copy_from_slice(&11u32.to_le_bytes());
        push[28..32].copy_from_slice(&2.5f32.to_le_bytes());
        push[36..40].copy_from_slice(&77u32.to_le_bytes());
        let out = run_with(&m, [1, 1, 1], &[(0, 0, vec![0; 12])], &push);
        assert_eq!(u32s(&out[slot(&m, 0, 0)]), vec![11, 2.5f32.to_bits(), 77]);
    }
}

#[test]
fn workgroup_reduction_with_barriers_sums_each_group() {
    let src = r#"#version 450
layout(local_size_x = 16) in;
layout(set = 0, binding = 0) buffer D { float d[]; };
layout(set = 0, binding = 1) buffer R { float r[]; };
shared float tile[16];
shared bool seen[16];
void main() {
    uint l = gl_LocalInvocationIndex;
    tile[l] = d[gl_GlobalInvocationID.x];
    seen[l] = tile[l] > 10.0;
    barrier();
    for (uint s = 8u; s > 0u; s >>= 1) {
        if (l < s) tile[l] += tile[l + s];
        barrier();
    }
    if (l == 0u) {
        uint big = 0;
        for (int k = 0; k < 16; k++) big += seen[k] ? 1u : 0u;
        r[gl_WorkGroupID.x * 2u] = tile[0];
        r[gl_WorkGroupID.x * 2u + 1u] = float(big);
    }
}
"#;
    let data: Vec<f32> = (0..48).map(|i| i as f32 * 0.5).collect();
    for m in both(src) {
        assert!(m.workgroup_memory_size >= 16 * 4 * 2);
        assert!(count(&m.body, &|s| matches!(s, Stmt::Barrier)) >= 2);
        let out = run_with(
            &m,
            [3, 1, 1],
            &[(0, 0, bytes_f32(&data)), (0, 1, vec![0; 24])],
            &[],
        );
        let r = f32s(&out[slot(&m, 0, 1)]);
        for g in 0..3 {
            let chunk = &data[g * 16..(g + 1) * 16];
            assert_eq!(r[g * 2], chunk.iter().sum::<f32>());
            assert_eq!(
                r[g * 2 + 1],
                chunk.iter().filter(|v| **v > 10.0).count() as f32
            );
        }
    }
}

#[test]
fn atomics_on_buffers_and_shared_memory_return_old_values() {
    let src = r#"#version 450
layout(local_size_x = 8) in;
layout(set = 0, binding = 0) buffer C { uint counter; int smin; uint umax; uint bits; uint xchg; uint cas; uint slots[]; };
shared uint local_sum;
void main() {
    uint i = gl_LocalInvocationIndex;
    if (i == 0u) local_sum = 0u;
    barrier();
    uint old = atomicAdd(counter, i + 1u);
    slots[i] = old;
    atomicMin(smin, -int(i));
    atomicMax(umax, i * 3u);
    atomicOr(bits, 1u << i);
    atomicXor(bits, 1u << 16);
    atomicAnd(bits, 0xffffu | (1u << 16));
    atomicExchange(xchg, 5u);
    atomicCompSwap(cas, i, i + 100u);
    atomicAdd(local_sum, i);
    barrier();
    if (i == 0u) slots[8] = local_sum;
}
"#;
    for m in both(src) {
        let mut init = bytes_u32(&[1000, 0, 0, 0, 0, 3]);
        init.extend(vec![0u8; 4 * 9]);
        let out = run_with(&m, [1, 1, 1], &[(0, 0, init)], &[]);
        let v = u32s(&out[slot(&m, 0, 0)]);
        assert_eq!(v[0], 1000 + 36);
        assert_eq!(v[1] as i32, -7);
        assert_eq!(v[2], 21);
        assert_eq!(v[3], 0xff, "eight XORs of bit 16 cancel out");
        assert_eq!(v[4], 5);
        assert_eq!(v[5], 103, "only invocation 3 swaps");
        let mut olds: Vec<u32> = v[6..14].to_vec();
        olds.sort_unstable();
        // Every invocation saw a distinct old value: partial sums of a permutation of 1..=8.
        olds.dedup();
        assert_eq!(olds.len(), 8);
        assert_eq!(v[14], 28);
    }
}

#[test]
fn descriptor_arrays_get_one_buffer_slot_per_used_element() {
    let src = r#"#version 450
layout(local_size_x = 1) in;
layout(set = 1, binding = 3) buffer Arr { uint v[]; } arrs[3];
layout(set = 0, binding = 0) readonly buffer In { uint x; };
void main() { arrs[2].v[0] = x + 1u; arrs[0].v[1] = x + 2u; }
"#;
    for m in both(src) {
        let mut elems: Vec<(u32, u32, u32)> = m
            .buffers
            .iter()
            .map(|b| (b.set, b.binding, b.array_index))
            .collect();
        elems.sort_unstable();
        assert_eq!(elems, vec![(0, 0, 0), (1, 3, 0), (1, 3, 2)]);
        let ro = m.buffers.iter().find(|b| b.set == 0).map(|b| b.read_only);
        assert_eq!(ro, Some(true));
        let mut slots: Vec<Vec<u8>> = vec![vec![0; 8]; m.buffers.len()];
        slots[slot(&m, 0, 0)] = bytes_u32(&[40]);
        common::interp::dispatch(&m, [1, 1, 1], &mut slots, &[]);
        let i2 = m
            .buffers
            .iter()
            .position(|b| b.set == 1 && b.array_index == 2)
            .unwrap();
        let i0 = m
            .buffers
            .iter()
            .position(|b| b.set == 1 && b.array_index == 0)
            .unwrap();
        assert_eq!(u32s(&slots[i2]), vec![41, 0]);
        assert_eq!(u32s(&slots[i0]), vec![0, 42]);
    }
}

#[test]
fn sixty_four_bit_integers_compute_like_rust() {
    let src = r#"#version 450
#extension GL_ARB_gpu_shader_int64 : require
#extension GL_EXT_shader_atomic_int64 : require
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer B { uint64_t a; uint64_t b; uint64_t r[8]; };
void main() {
    r[0] = a * b + (a >> 7);
    r[1] = uint64_t(int64_t(a) / int64_t(b | 1ul));
    r[2] = a % (b | 1ul);
    uvec2 parts = unpackUint2x32(a);
    r[3] = uint64_t(parts.y) | (uint64_t(parts.x) << 32);
    r[4] = packUint2x32(uvec2(0x89abcdefu, 0x01234567u));
    r[5] = uint64_t(uint(b)) + uint64_t(int(a));
    r[6] = a << (b & 63ul);
    atomicAdd(r[7], a);
}
"#;
    let (a, b): (u64, u64) = (0xdead_beef_1234_5678, 0x0000_0001_0000_0003);
    for m in both(src) {
        let mut bytes = Vec::new();
        for v in [a, b, 0, 0, 0, 0, 0, 0, 0, 10] {
            bytes.extend(v.to_le_bytes());
        }
        let out = run_with(&m, [1, 1, 1], &[(0, 0, bytes)], &[]);
        let w: Vec<u64> = out[slot(&m, 0, 0)]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(w[2], a.wrapping_mul(b).wrapping_add(a >> 7));
        assert_eq!(w[3], ((a as i64) / ((b | 1) as i64)) as u64);
        assert_eq!(w[4], a % (b | 1));
        assert_eq!(w[5], a.rotate_left(32));
        assert_eq!(w[6], 0x0123_4567_89ab_cdef);
        assert_eq!(
            w[7],
            u64::from(b as u32).wrapping_add(a as u32 as i32 as i64 as u64)
        );
        assert_eq!(w[8], a << (b & 63));
        assert_eq!(w[9], 10u64.wrapping_add(a));
    }
}

#[test]
fn eight_and_sixteen_bit_storage_and_arithmetic_work() {
    let src = r#"#version 450
#extension GL_EXT_shader_8bit_storage : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require
layout(local_size_x = 4) in;
layout(set = 0, binding = 0) buffer B8 { int8_t s8[4]; uint8_t u8[4]; };
layout(set = 0, binding = 1) buffer B16 { int16_t s16[4]; uint16_t u16[4]; uint widened[4]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    u8[i] = uint8_t(u8[i] * uint8_t(3));
    s16[i] = int16_t(s8[i]) * int16_t(-300);
    u16[i] = uint16_t(u16[i] >> 3) + uint16_t(1);
    widened[i] = uint(int(s8[i])) + uint(u16[i]);
}
"#;
    let s8: [i8; 4] = [-128, -1, 5, 127];
    let u8v: [u8; 4] = [0, 100, 200, 255];
    let u16v: [u16; 4] = [0, 9, 65535, 4096];
    for m in both(src) {
        let mut b8: Vec<u8> = s8.iter().map(|v| *v as u8).collect();
        b8.extend(u8v);
        let mut b16 = vec![0u8; 8];
        b16.extend(u16v.iter().flat_map(|v| v.to_le_bytes()));
        b16.extend(vec![0u8; 16]);
        let out = run_with(&m, [1, 1, 1], &[(0, 0, b8), (0, 1, b16)], &[]);
        let o8 = &out[slot(&m, 0, 0)];
        let o16 = &out[slot(&m, 0, 1)];
        for i in 0..4 {
            assert_eq!(o8[4 + i], u8v[i].wrapping_mul(3));
            let s = i16::from_le_bytes([o16[2 * i], o16[2 * i + 1]]);
            assert_eq!(s, i16::from(s8[i]).wrapping_mul(-300));
            let u = u16::from_le_bytes([o16[8 + 2 * i], o16[8 + 2 * i + 1]]);
            let want_u = (u16v[i] >> 3) + 1;
            assert_eq!(u, want_u);
            let w = u32::from_le_bytes(o16[16 + 4 * i..20 + 4 * i].try_into().unwrap());
            assert_eq!(w, (i32::from(s8[i]) as u32).wrapping_add(u32::from(want_u)));
        }
    }
}

#[test]
fn builtins_give_ids_sizes_and_subgroup_values() {
    let src = r#"#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
layout(local_size_x = 2, local_size_y = 3) in;
layout(set = 0, binding = 0) buffer O { uint o[]; };
void main() {
    uint i = gl_GlobalInvocationID.x + 4u * gl_GlobalInvocationID.y;
    uint base = i * 8u;
    o[base + 0] = gl_LocalInvocationIndex;
    o[base + 1] = gl_WorkGroupID.x + 10u * gl_WorkGroupID.y;
    o[base + 2] = gl_NumWorkGroups.x * 100u + gl_NumWorkGroups.y;
    o[base + 3] = gl_WorkGroupSize.x * 10u + gl_WorkGroupSize.y;
    o[base + 4] = gl_SubgroupSize;
    o[base + 5] = gl_SubgroupEqMask.x | (gl_SubgroupLtMask.x << 8) | (gl_SubgroupGeMask.x << 16);
    o[base + 6] = gl_SubgroupInvocationID + gl_NumSubgroups * 100u;
    o[base + 7] = subgroupBallot(true).x;
}
"#;
    for m in both(src) {
        let out = run_with(&m, [2, 2, 1], &[(0, 0, vec![0; 4 * 6 * 8 * 4])], &[]);
        let o = u32s(&out[slot(&m, 0, 0)]);
        for gy in 0..6u32 {
            for gx in 0..4u32 {
                let i = (gx + 4 * gy) as usize;
                let (lx, ly) = (gx % 2, gy % 3);
                // The interpreter's subgroups are one lane wide.
                assert_eq!(
                    &o[i * 8..i * 8 + 8],
                    &[
                        lx + 2 * ly,
                        gx / 2 + 10 * (gy / 3),
                        202,
                        23,
                        1,
                        1 | (1 << 16),
                        600,
                        1
                    ]
                );
            }
        }
    }
}

/// Bytes for every buffer slot of `m` from `bind(set, binding, array_index)`.
fn bind_slots(m: &shader::ir::Module, bind: impl Fn(u32, u32, u32) -> Vec<u8>) -> Vec<Vec<u8>> {
    m.buffers
        .iter()
        .map(|b| bind(b.set, b.binding, b.array_index))
        .collect()
}

/// `us[k]` and `ss[j]` with push-constant (dynamically uniform) indices: loads, stores and
/// atomics reach the chosen element; an index past the array reads 0 and drops writes.
#[test]
fn dynamically_indexed_buffer_arrays_pick_their_element_and_are_robust() {
    let src = r#"#version 450
layout(local_size_x = 4) in;
layout(set = 0, binding = 0) uniform U { uvec4 v; } us[3];
layout(set = 0, binding = 1) buffer S { uint w[4]; } ss[2];
layout(set = 0, binding = 2) buffer O { uint o[]; };
layout(push_constant) uniform P { uint k; uint j; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    o[i] = us[k].v[i] + ss[j].w[i];
    barrier();
    ss[j].w[i] = i * 10u;
    barrier();
    o[4 + i] = atomicAdd(ss[j].w[3], 1u);
}
"#;
    for m in both(src) {
        let arrays = m.buffers.iter().filter(|b| b.binding < 2).count();
        assert_eq!(arrays, 5, "a slot per element: {:?}", m.buffers);
        for (k, j) in [(2u32, 1u32), (0, 0), (5, 7)] {
            let mut slots = bind_slots(&m, |_, binding, e| match binding {
                0 => bytes_u32(&[
                    100 * (e + 1),
                    100 * (e + 1) + 1,
                    100 * (e + 1) + 2,
                    100 * (e + 1) + 3,
                ]),
                1 => bytes_u32(&[1000 * (e + 1); 4]),
                _ => vec![0; 32],
            });
            let push = bytes_u32(&[k, j]);
            interp::dispatch(&m, [1, 1, 1], &mut slots, &push);
            let out = u32s(&slots[slot(&m, 0, 2)]);
            for i in 0..4u32 {
                let u = if k < 3 { 100 * (k + 1) + i } else { 0 };
                let s = if j < 2 { 1000 * (j + 1) } else { 0 };
                assert_eq!(out[i as usize], u + s, "k {k} j {j} lane {i}");
            }
            for (e, b) in m.buffers.iter().enumerate() {
                if b.binding != 1 {
                    continue;
                }
                let words = u32s(&slots[e]);
                if b.array_index == j {
                    assert_eq!(words, [0, 10, 20, 34], "k {k} j {j}: ss[{j}] written");
                } else {
                    assert_eq!(words, [1000 * (b.array_index + 1); 4], "k {k} j {j}");
                }
            }
            let olds: Vec<u32> = (4..8).map(|i| out[i]).collect();
            if j < 2 {
                let mut sorted = olds.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, [30, 31, 32, 33], "k {k} j {j}");
            } else {
                assert_eq!(olds, [0; 4], "k {k} j {j}: no element, atomics give 0");
            }
        }
    }
}

/// A dynamic index into an array of buffer blocks stays in the IR as a run of slots.
#[test]
fn dynamic_buffer_array_index_lowers_to_a_buffer_array_space() {
    let src = "#version 450\nlayout(local_size_x = 1) in;\nlayout(set=0,binding=0) buffer B { uint v; } bs[4];\nlayout(push_constant) uniform P { uint k; };\nvoid main() { bs[k].v = 1u; }\n";
    let m = lower(&glsl(src));
    let store = m
        .body
        .iter()
        .find_map(|s| match s {
            Stmt::Store { mem, .. } => Some(*mem),
            _ => None,
        })
        .unwrap();
    let shader::ir::Space::BufferArray { first, index } = store.space else {
        panic!("store to {:?}", store.space);
    };
    assert_eq!(index.len, 4);
    let run = &m.buffers[first as usize..first as usize + 4];
    assert!(run
        .iter()
        .enumerate()
        .all(|(e, b)| b.array_index == e as u32 && b.binding == 0));
}

/// `ss[j].w.length()` with a dynamic `j` is the picked element's length, 0 past the array.
#[test]
fn runtime_array_length_in_a_dynamically_indexed_buffer_array() {
    let src = r#"#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer S { uint h; uint w[]; } ss[3];
layout(set = 0, binding = 1) buffer O { uint o[]; };
layout(push_constant) uniform P { uint j; };
void main() { o[0] = ss[j].w.length(); }
"#;
    let sizes = [12usize, 24, 4];
    for m in both(src) {
        for (j, want) in [(0u32, 2u32), (1, 5), (2, 0), (3, 0), (u32::MAX, 0)] {
            let mut slots = bind_slots(&m, |_, binding, e| match binding {
                0 => vec![0; sizes[e as usize]],
                _ => vec![0xff; 4],
            });
            interp::dispatch(&m, [1, 1, 1], &mut slots, &bytes_u32(&[j]));
            assert_eq!(u32s(&slots[slot(&m, 0, 1)]), [want], "j {j}");
        }
    }
}
