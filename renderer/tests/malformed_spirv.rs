//! Hostile SPIR-V and specialization data given to `create_compute_pipeline`: always an error
//! value (or, for random mutations that happen to stay valid, a pipeline), never a panic.
#![allow(clippy::unwrap_used)]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::*;
use renderer::{SpecializationEntry, SpecializationInfo};

fn to_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn to_words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Creates a pipeline from `bytes`, turning a panic into a test failure that names `what`.
fn create(bytes: &[u8], entry: &str, spec: &SpecializationInfo, what: &str) -> bool {
    let dev = device();
    match catch_unwind(AssertUnwindSafe(|| {
        dev.create_compute_pipeline(bytes, entry, spec)
    })) {
        Ok(r) => r.is_ok(),
        Err(_) => panic!("create_compute_pipeline panicked on {what}"),
    }
}

#[test]
fn structurally_broken_modules_are_errors() {
    let valid = spirv("fill", &[("VALUE", "3")]);
    let spec = SpecializationInfo::default();
    assert!(
        create(&valid, "main", &spec, "the valid module"),
        "the reference module must compile"
    );
    let words = to_words(&valid);
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), vec![]),
        ("3 bytes".into(), valid[..3].to_vec()),
        (
            "not a multiple of 4 bytes".into(),
            valid[..valid.len() - 2].to_vec(),
        ),
        ("header only".into(), valid[..20].to_vec()),
        (
            "garbage".into(),
            (0..1000u32)
                .flat_map(|i| i.wrapping_mul(0x9E37_79B9).to_le_bytes())
                .collect(),
        ),
    ];
    let mut bad_magic = words.clone();
    bad_magic[0] = 0xDEAD_BEEF;
    cases.push(("wrong magic".into(), to_bytes(&bad_magic)));
    let mut zero_count = words.clone();
    zero_count[5] &= 0x0000_FFFF; // first instruction claims 0 words
    cases.push((
        "instruction with word count 0".into(),
        to_bytes(&zero_count),
    ));
    let mut long_count = words.clone();
    long_count[5] = (long_count[5] & 0xFFFF) | 0xFFFF_0000; // runs past the end
    cases.push((
        "instruction longer than the module".into(),
        to_bytes(&long_count),
    ));
    let mut huge_bound = words.clone();
    huge_bound[3] = u32::MAX; // id bound
    cases.push(("id bound 2^32-1".into(), to_bytes(&huge_bound)));
    // Every strict prefix lacks at least the final OpFunctionEnd.
    for cut in (5..words.len()).step_by(3) {
        cases.push((format!("truncated to {cut} words"), to_bytes(&words[..cut])));
    }
    for (what, bytes) in &cases {
        assert!(!create(bytes, "main", &spec, what), "{what} was accepted");
    }
    assert!(
        !create(&valid, "not_main", &spec, "a wrong entry point name"),
        "a missing entry point was accepted"
    );
}

#[test]
fn out_of_range_specialization_data_is_an_error() {
    let valid = spirv("spec_constants", &[]);
    let entry = |constant_id, offset, size| SpecializationEntry {
        constant_id,
        offset,
        size,
    };
    let cases = [
        (
            "offset past the data",
            SpecializationInfo {
                entries: vec![entry(1, 8, 4)],
                data: vec![0; 8],
            },
        ),
        (
            "size past the data",
            SpecializationInfo {
                entries: vec![entry(1, 6, 4)],
                data: vec![0; 8],
            },
        ),
        (
            "size not the constant's size",
            SpecializationInfo {
                entries: vec![entry(1, 0, 3)],
                data: vec![0; 8],
            },
        ),
        (
            "huge offset",
            SpecializationInfo {
                entries: vec![entry(1, u32::MAX - 1, 4)],
                data: vec![0; 8],
            },
        ),
        (
            "zero workgroup size",
            SpecializationInfo {
                entries: vec![entry(0, 0, 4)],
                data: vec![0; 4],
            },
        ),
        (
            "workgroup size above 1024",
            SpecializationInfo {
                entries: vec![entry(0, 0, 4)],
                data: 1025u32.to_le_bytes().to_vec(),
            },
        ),
    ];
    for (what, spec) in &cases {
        assert!(!create(&valid, "main", spec, what), "{what} was accepted");
    }
}

#[test]
fn thousands_of_random_mutations_never_panic() {
    let base = to_words(&spirv("histogram", &[]));
    let spec = SpecializationInfo::default();
    let mut rng = Rng::new(0x5EED);
    let mut accepted = 0;
    for round in 0..1500 {
        let mut words = base.clone();
        let edits = 1 + rng.below(3);
        for _ in 0..edits {
            let at = 5 + rng.below(words.len() as u32 - 5) as usize;
            words[at] = match rng.below(4) {
                0 => words[at] ^ (1 << rng.below(32)),
                1 => rng.next_u32(),
                2 => words[at].wrapping_add(1),
                _ => (words[at] & 0xFFFF) | (rng.below(8) << 16), // word count
            };
        }
        if create(
            &to_bytes(&words),
            "main",
            &spec,
            &format!("mutation round {round}"),
        ) {
            accepted += 1;
        }
    }
    // Most single-word edits break something; if nearly all were accepted the checks are not
    // running.
    assert!(
        accepted < 1200,
        "{accepted} of 1500 mutated modules were accepted"
    );
}
