//! Whole programs of the kind applications run: tiled matrix multiply and bitonic sort in
//! workgroup memory with barriers inside loops, and a function-heavy ray caster with structs
//! passed by value. Run in the reference interpreter against Rust.

// In tests a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;

#[test]
fn tiled_matrix_multiply_matches_rust() {
    let src = r#"#version 450
layout(local_size_x = 4, local_size_y = 4) in;
layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform P { uint n; };
shared float ta[4][4];
shared float tb[4][4];
void main() {
    uint row = gl_GlobalInvocationID.y, col = gl_GlobalInvocationID.x;
    uint lr = gl_LocalInvocationID.y, lc = gl_LocalInvocationID.x;
    float acc = 0.0;
    for (uint t = 0; t < n / 4u; t++) {
        ta[lr][lc] = a[row * n + t * 4u + lc];
        tb[lr][lc] = b[(t * 4u + lr) * n + col];
        barrier();
        for (uint k = 0; k < 4u; k++) acc += ta[lr][k] * tb[k][lc];
        barrier();
    }
    c[row * n + col] = acc;
}
"#;
    let n = 8usize;
    let mut r = Rng(99);
    let a: Vec<f32> = (0..n * n).map(|_| r.below(9) as f32 - 4.0).collect();
    let b: Vec<f32> = (0..n * n).map(|_| r.below(9) as f32 - 4.0).collect();
    let mut want = vec![0f32; n * n];
    for i in 0..n {
        for j in 0..n {
            want[i * n + j] = (0..n).map(|k| a[i * n + k] * b[k * n + j]).sum();
        }
    }
    for m in variants(src) {
        assert!(!m.buffers[slot(&m, 0, 0)]
            .kind
            .eq(&shader::ir::BufferKind::Uniform));
        assert!(m.buffers[slot(&m, 0, 0)].read_only);
        let out = run_with(
            &m,
            [2, 2, 1],
            &[
                (0, 0, bytes_f32(&a)),
                (0, 1, bytes_f32(&b)),
                (0, 2, vec![0; n * n * 4]),
            ],
            &bytes_u32(&[n as u32]),
        );
        assert_eq!(f32s(&out[slot(&m, 0, 2)]), want);
    }
}

#[test]
fn bitonic_sort_in_shared_memory_sorts() {
    let src = r#"#version 450
layout(local_size_x = 16) in;
layout(set = 0, binding = 0) buffer D { uint d[32]; };
shared uint s[32];
void main() {
    uint t = gl_LocalInvocationIndex;
    s[t] = d[t]; s[t + 16u] = d[t + 16u];
    barrier();
    for (uint size = 2u; size <= 32u; size <<= 1) {
        for (uint stride = size >> 1; stride > 0u; stride >>= 1) {
            uint pos = 2u * t - (t & (stride - 1u));
            bool up = ((pos & size) == 0u);
            uint x = s[pos], y = s[pos + stride];
            if ((x > y) == up) { s[pos] = y; s[pos + stride] = x; }
            barrier();
        }
    }
    d[t] = s[t]; d[t + 16u] = s[t + 16u];
}
"#;
    let mut r = Rng(7);
    let data: Vec<u32> = (0..32).map(|_| r.below(1000) as u32).collect();
    let mut want = data.clone();
    want.sort_unstable();
    for m in variants(src) {
        let out = run_with(&m, [1, 1, 1], &[(0, 0, bytes_u32(&data))], &[]);
        assert_eq!(u32s(&out[slot(&m, 0, 0)]), want);
    }
}

#[test]
fn ray_caster_with_structs_and_functions_matches_rust() {
    let src = r#"#version 450
layout(local_size_x = 4) in;
struct Ray { vec3 o; vec3 d; };
struct Hit { bool hit; float t; int id; };
struct Sphere { vec3 c; float r; };
layout(std140, set = 0, binding = 0) uniform Scene { Sphere spheres[3]; int count; };
layout(set = 0, binding = 1) buffer O { vec2 o[]; };
Hit sphere(Ray ray, Sphere s, int id) {
    vec3 oc = ray.o - s.c;
    float b = dot(oc, ray.d);
    float c = dot(oc, oc) - s.r * s.r;
    float disc = b * b - c;
    if (disc < 0.0) return Hit(false, 0.0, -1);
    float t = -b - sqrt(disc);
    if (t < 0.0) t = -b + sqrt(disc);
    return Hit(t >= 0.0, t, id);
}
Hit trace(Ray ray) {
    Hit best = Hit(false, 1e30, -1);
    for (int k = 0; k < count; k++) {
        Hit h = sphere(ray, spheres[k], k);
        if (h.hit && h.t < best.t) best = h;
    }
    return best;
}
void main() {
    uint i = gl_GlobalInvocationID.x;
    float x = float(i) / 8.0 - 1.0;
    Ray r = Ray(vec3(0.0), normalize(vec3(x, 0.1, 1.0)));
    Hit h = trace(r);
    o[i] = h.hit ? vec2(h.t, float(h.id)) : vec2(-1.0);
}
"#;
    // std140: Sphere = vec3 c @0, float r @12, stride 16; count @48.
    let spheres = [
        ([0.0f32, 0.0, 5.0], 1.0f32),
        ([-1.0, 0.5, 3.0], 0.5),
        ([1.0, 0.0, 4.0], 1.5),
    ];
    let mut ubo = Vec::new();
    for (c, r) in &spheres {
        ubo.extend(bytes_f32(&[c[0], c[1], c[2], *r]));
    }
    ubo.extend(bytes_u32(&[3, 0, 0, 0]));
    let dot = |a: [f32; 3], b: [f32; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let want: Vec<f32> = (0..16)
        .flat_map(|i| {
            let x = i as f32 / 8.0 - 1.0;
            let v = [x, 0.1, 1.0];
            let l = 1.0 / dot(v, v).sqrt();
            let d = [v[0] * l, v[1] * l, v[2] * l];
            let mut best: Option<(f32, usize)> = None;
            for (k, (c, r)) in spheres.iter().enumerate() {
                let oc = [-c[0], -c[1], -c[2]];
                let b = dot(oc, d);
                let cc = dot(oc, oc) - r * r;
                let disc = b * b - cc;
                if disc < 0.0 {
                    continue;
                }
                let mut t = -b - disc.sqrt();
                if t < 0.0 {
                    t = -b + disc.sqrt();
                }
                if t >= 0.0 && best.is_none_or(|(bt, _)| t < bt) {
                    best = Some((t, k));
                }
            }
            match best {
                Some((t, k)) => [t, k as f32],
                None => [-1.0, -1.0],
            }
        })
        .collect();
    for m in variants(src) {
        let out = run_with(
            &m,
            [4, 1, 1],
            &[(0, 0, ubo.clone()), (0, 1, vec![0; 16 * 8])],
            &[],
        );
        let got = f32s(&out[slot(&m, 0, 1)]);
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                "got {got:?}\nwant {want:?}"
            );
        }
    }
}
