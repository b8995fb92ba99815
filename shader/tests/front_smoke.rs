//! The smallest end-to-end check: a saxpy shader lowered and run in the reference interpreter.

// In tests a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;

#[test]
fn saxpy_computes_a_times_x_plus_y() {
    let src = r#"#version 450
layout(local_size_x = 4) in;
layout(set = 0, binding = 0) buffer X { float x[]; };
layout(set = 0, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform P { float a; uint n; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < n) y[i] = a * x[i] + y[i];
}
"#;
    let mut modules = both(src).to_vec();
    // Debug info: OpLine/OpSource, and NonSemantic.Shader.DebugInfo.100 instructions.
    modules.push(lower(&glsl_with(src, &["-g"])));
    modules.push(lower(&glsl_with(src, &["-gVS"])));
    for m in modules {
        let xs: Vec<f32> = (0..10).map(|i| i as f32).collect();
        let ys: Vec<f32> = (0..10).map(|i| 100.0 + i as f32).collect();
        let mut push = bytes_f32(&[2.5]);
        push.extend(bytes_u32(&[9]));
        let out = run_with(
            &m,
            [3, 1, 1],
            &[(0, 0, bytes_f32(&xs)), (0, 1, bytes_f32(&ys))],
            &push,
        );
        let got = f32s(&out[slot(&m, 0, 1)]);
        for i in 0..10 {
            let want = if i < 9 { 2.5 * xs[i] + ys[i] } else { ys[i] };
            assert_eq!(got[i], want, "element {i}");
        }
    }
}
