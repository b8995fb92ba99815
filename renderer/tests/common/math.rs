//! The math test shader (math.comp) and the checking loop shared by the GLSL.std.450 tests.

use std::sync::OnceLock;

use renderer::ComputePipeline;

use super::*;

/// 2^-23: one ulp of 1.0, the relative spacing bound of f32 (ulp(x) ≤ 2^-23·|x|).
pub const EPS: f64 = 1.0 / 8_388_608.0;

pub fn math_pipeline() -> &'static ComputePipeline {
    static P: OnceLock<ComputePipeline> = OnceLock::new();
    P.get_or_init(|| pipeline(device(), "math", &[]))
}

/// Runs opcode `op` of math.comp over vec4 operands (flat, 4 floats per invocation).
pub fn run(op: u32, x: &[f32], y: &[f32], z: &[f32]) -> Vec<f32> {
    assert!(x.len().is_multiple_of(4) && y.len() == x.len() && z.len() == x.len());
    let dev = device();
    let n = (x.len() / 4) as u32;
    let (bx, by, bz) = (
        buffer_from(dev, x),
        buffer_from(dev, y),
        buffer_from(dev, z),
    );
    let out = buffer_zeroed::<f32>(dev, x.len());
    dev.dispatch(
        math_pipeline(),
        &[&storage_set(&[&bx, &by, &bz, &out])],
        &words(&[op, n]),
        [n.div_ceil(64), 1, 1],
    )
    .unwrap();
    read_all(&out)
}

/// `count` scalars: `edges` first, then values from `gen`, padded to a multiple of 4.
pub fn inputs(edges: &[f32], count: usize, mut gen: impl FnMut() -> f32) -> Vec<f32> {
    let mut v: Vec<f32> = edges.to_vec();
    while v.len() < count || !v.len().is_multiple_of(4) {
        v.push(gen());
    }
    v
}

pub const N: usize = 8192;

/// Checks a component-wise function: `bound(x, y, z)` gives (exact reference, allowed absolute
/// error), or `None` to skip an input the spec leaves undefined.
pub fn check_unary_like(
    name: &'static str,
    op: u32,
    x: &[f32],
    y: &[f32],
    z: &[f32],
    bound: impl Fn(f32, f32, f32) -> Option<(f64, f64)>,
) {
    let got = run(op, x, y, z);
    let mut worst = Worst::new(name);
    for i in 0..x.len() {
        if let Some((reference, allowed)) = bound(x[i], y[i], z[i]) {
            let g = got[i];
            let err = if g as f64 == reference {
                0.0
            } else if g.is_nan() || reference.is_nan() {
                f64::INFINITY
            } else {
                (g as f64 - reference).abs()
            };
            worst.check(err, allowed, || {
                format!(
                    "{name}({}, {}, {}) = {g:e}, reference {reference:e}",
                    x[i], y[i], z[i]
                )
            });
        }
    }
    worst.assert_ok();
}

pub fn unary(name: &'static str, op: u32, x: &[f32], bound: impl Fn(f32) -> Option<(f64, f64)>) {
    let zeros = vec![0f32; x.len()];
    check_unary_like(name, op, x, &zeros, &zeros, |a, _, _| bound(a));
}
