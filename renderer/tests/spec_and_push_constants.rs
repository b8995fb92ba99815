//! Specialization constants (workgroup size, scalars, spec-constant-op expressions) and push
//! constants (scalars, vectors, an array, dynamic indexing).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use renderer::{SpecializationEntry, SpecializationInfo};

struct SpecResult {
    values: Vec<i32>,
    meta: Vec<u32>,
}

fn run_spec(spec: &SpecializationInfo, groups: u32) -> (SpecResult, [u32; 3]) {
    let dev = device();
    let p = pipeline_spec(dev, "spec_constants", &[], spec);
    let wg = p.workgroup_size();
    let n = (wg[0] * groups) as usize;
    let values = buffer_zeroed::<i32>(dev, n);
    let meta = buffer_zeroed::<u32>(dev, 5);
    dev.dispatch(&p, &[&storage_set(&[&values, &meta])], &[], [groups, 1, 1])
        .unwrap();
    (
        SpecResult {
            values: values.read_vec(0, n).unwrap(),
            meta: read_all(&meta),
        },
        wg,
    )
}

#[test]
fn spec_constants_take_their_defaults_without_specialization() {
    let (r, wg) = run_spec(&SpecializationInfo::default(), 9);
    assert_eq!(wg, [1, 1, 1]);
    let expected: Vec<i32> = (0..9).map(|i| i * 2 - 1).collect();
    assert_eq!(r.values, expected);
    assert_eq!(r.meta[0], 1, "gl_WorkGroupSize.x");
    assert_eq!(r.meta[1], 7, "DERIVED = SCALE * 3 + 1");
    assert_eq!(r.meta[2] as i32, -6, "SHIFTED = (OFFSET << 2) - SCALE");
    assert_eq!(f32::from_bits(r.meta[3]), 1.5);
    assert_eq!(r.meta[4], 9, "gl_NumWorkGroups.x");
}

#[test]
fn specialization_sets_workgroup_size_scalars_and_derived_expressions() {
    let mut data = Vec::new();
    for w in [64u32, 5, (-7i32) as u32, 1, 2.0f32.to_bits()] {
        data.extend_from_slice(&w.to_le_bytes());
    }
    // Entries out of constant-id order, one id (99) that the shader does not have (ignored).
    let spec = SpecializationInfo {
        entries: vec![
            SpecializationEntry {
                constant_id: 3,
                offset: 12,
                size: 4,
            },
            SpecializationEntry {
                constant_id: 0,
                offset: 0,
                size: 4,
            },
            SpecializationEntry {
                constant_id: 2,
                offset: 8,
                size: 4,
            },
            SpecializationEntry {
                constant_id: 1,
                offset: 4,
                size: 4,
            },
            SpecializationEntry {
                constant_id: 4,
                offset: 16,
                size: 4,
            },
            SpecializationEntry {
                constant_id: 99,
                offset: 0,
                size: 4,
            },
        ],
        data,
    };
    let (r, wg) = run_spec(&spec, 10);
    assert_eq!(wg, [64, 1, 1]);
    let expected: Vec<i32> = (0..640).map(|i| -(i * 5 - 7)).collect();
    assert_eq!(r.values, expected);
    assert_eq!(r.meta[0], 64);
    assert_eq!(r.meta[1], 16, "DERIVED = 5 * 3 + 1");
    assert_eq!(r.meta[2] as i32, -33, "SHIFTED = (-7 << 2) - 5");
    assert_eq!(f32::from_bits(r.meta[3]), 6.0);
    assert_eq!(r.meta[4], 10);
}

fn push_block() -> Vec<u8> {
    let mut pc = vec![0u8; 80];
    let mut put = |offset: usize, w: u32| pc[offset..offset + 4].copy_from_slice(&w.to_le_bytes());
    put(0, 1.25f32.to_bits());
    put(4, 13);
    put(8, (-3.5f32).to_bits());
    put(12, 1e-3f32.to_bits());
    for (k, v) in [-1i32, 2, i32::MIN, 77].iter().enumerate() {
        put(16 + 4 * k, *v as u32);
    }
    for k in 0..5 {
        put(32 + 4 * k, (10.0 + k as f32 * 0.5).to_bits());
    }
    put(64, 0xDEAD_BEEF);
    put(68, 0);
    put(72, u32::MAX);
    put(76, (-42i32) as u32);
    pc
}

#[test]
fn push_constant_members_scalars_vectors_and_arrays_reach_the_shader() {
    let dev = device();
    let p = pipeline(dev, "push_constants", &[]);
    assert_eq!(p.push_constant_size(), 80);
    let out = buffer_zeroed::<u32>(dev, 18);
    dev.dispatch(&p, &[&storage_set(&[&out])], &push_block(), [1, 1, 1])
        .unwrap();
    let w: Vec<u32> = read_all(&out);
    assert_eq!(f32::from_bits(w[0]), 2.5);
    assert_eq!(w[1], 14);
    assert_eq!((f32::from_bits(w[2]), f32::from_bits(w[3])), (-3.5, 1e-3));
    assert_eq!(w[4..8], [(-1i32) as u32, 2, i32::MIN as u32, 77]);
    let arr: Vec<f32> = w[8..13].iter().map(|b| f32::from_bits(*b)).collect();
    assert_eq!(arr, [10.0, 10.5, 11.0, 11.5, 12.0]);
    assert_eq!(
        f32::from_bits(w[13]),
        11.5,
        "arr[13 % 5] via a dynamic index"
    );
    assert_eq!(w[14..17], [0xDEAD_BEEF, 0, u32::MAX]);
    assert_eq!(w[17] as i32, -42);
}

#[test]
fn push_constants_larger_than_256_bytes_are_refused() {
    let dev = device();
    let p = pipeline(dev, "push_constants", &[]);
    let out = buffer_zeroed::<u32>(dev, 18);
    let err = dev.dispatch(&p, &[&storage_set(&[&out])], &[0u8; 260], [1, 1, 1]);
    assert!(matches!(
        err,
        Err(renderer::RendererError::PushConstantsTooLarge(260))
    ));
    assert_eq!(read_all::<u32>(&out), vec![0; 18], "nothing ran");
}
