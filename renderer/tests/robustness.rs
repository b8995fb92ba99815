//! Robust buffer access: out-of-bounds loads return 0 and out-of-bounds stores and atomics
//! change nothing, for storage buffers, uniform buffers and push constants, whatever the index
//! (negative, huge, or one that wraps to an in-bounds offset in 32-bit arithmetic).
//!
//! The index list holds the WebGPU CTS set (0, len-1, len, -1, ±1e6, u32::MAX, i32::MAX), each
//! used both as a signed and as an unsigned index into storage and uniform buffers.
//!
//! All ranges are bound out of one allocation so that an unchecked access would land on
//! neighbouring canary bytes instead of faulting: the test sees it.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use renderer::DescriptorSet;

const LEN: usize = 64; // words in the bound data range
const CANARY: u32 = 0xCACA_CACA;
const UNIFORM_PAD: u32 = 0x5A5A_5A5A;

// Layout of the one allocation (bytes).
const LO: u64 = 0;
const DATA: u64 = 256;
const HI: u64 = DATA + (LEN as u64) * 4;
const UNIFORM_BEFORE: u64 = HI + 256;
const UNIFORM: u64 = UNIFORM_BEFORE + 256;
const UNIFORM_AFTER: u64 = UNIFORM + 256;
const TOTAL: u64 = UNIFORM_AFTER + 256;

fn indices() -> Vec<i32> {
    vec![
        0,
        LEN as i32 - 1,
        LEN as i32,
        -1,
        1_000_000,
        -1_000_000,
        i32::MAX,
        -1, // u32::MAX as an unsigned index
        i32::MIN,
        0x4000_0000, // × 4 wraps to offset 0 in 32-bit arithmetic
        0x4000_0001,
        -0x4000_0000,
        1,
        5,
        15,
        16,
        LEN as i32 + 1,
        -2,
    ]
}

#[test]
fn out_of_bounds_loads_give_zero_and_stores_and_atomics_leave_canaries_intact() {
    let dev = device();
    let p = pipeline(dev, "robustness", &[]);
    let mem = dev.create_buffer(TOTAL).unwrap();
    let fill = |from: u64, to: u64, value: u32| {
        mem.write_slice(from, &vec![value; ((to - from) / 4) as usize])
            .unwrap()
    };
    fill(LO, DATA, CANARY);
    let data0: Vec<u32> = (0..LEN as u32).map(|j| 0x1000 + j).collect();
    mem.write_slice(DATA, &data0).unwrap();
    fill(HI, UNIFORM_BEFORE, CANARY);
    fill(UNIFORM_BEFORE, UNIFORM, UNIFORM_PAD);
    // std140 uvec4 u[16]: u[j].x = 0x2000 + j, other components 0x77.
    let uniform: Vec<u32> = (0..16u32)
        .flat_map(|j| [0x2000 + j, 0x77, 0x77, 0x77])
        .collect();
    mem.write_slice(UNIFORM, &uniform).unwrap();
    fill(UNIFORM_AFTER, TOTAL, UNIFORM_PAD);
    let before_all: Vec<u32> = read_all(&mem);

    let idx = indices();
    let idx_buf = buffer_from(dev, &idx);
    let results = buffer_zeroed::<u32>(dev, idx.len() * 5);
    let mut set = DescriptorSet::new();
    set.bind_storage_buffer(0, 0, &mem, LO, DATA - LO).unwrap();
    set.bind_storage_buffer(1, 0, &mem, DATA, HI - DATA)
        .unwrap();
    set.bind_storage_buffer(2, 0, &mem, HI, UNIFORM_BEFORE - HI)
        .unwrap();
    set.bind_storage_buffer(3, 0, &idx_buf, 0, renderer::WHOLE_SIZE)
        .unwrap();
    set.bind_storage_buffer(4, 0, &results, 0, renderer::WHOLE_SIZE)
        .unwrap();
    set.bind_uniform_buffer(5, 0, &mem, UNIFORM, 256).unwrap();
    // The block declares 32 bytes; only count, pad, arr[0] and arr[1] are provided.
    let push = words(&[idx.len() as u32, 0, 0x3000, 0x3001]);
    assert_eq!(p.push_constant_size(), 32);
    dev.dispatch(&p, &[&set], &push, [1, 1, 1]).unwrap();

    // CPU replay of the shader with robustBufferAccess2 semantics.
    let mut data = data0.clone();
    let mut expected = Vec::new();
    let in_range = |i: i64, len: usize| (0..len as i64).contains(&i);
    for (k, &si) in idx.iter().enumerate() {
        let s = i64::from(si);
        let u = i64::from(si as u32);
        expected.push(if in_range(s, LEN) {
            data[s as usize]
        } else {
            0
        });
        expected.push(if in_range(u, LEN) {
            data[u as usize]
        } else {
            0
        });
        expected.push(if in_range(s, 16) {
            0x2000 + si as u32
        } else {
            0
        });
        // Robustness is per bound range, not per declared array (robustBufferAccess2): arr[i]
        // is the word at byte 8 + 4i of the provided push constants, or 0 outside them.
        let push_words = [idx.len() as u32, 0, 0x3000, 0x3001];
        expected.push(match s.checked_add(2) {
            Some(w) if (0..4).contains(&w) => push_words[w as usize],
            _ => 0,
        });
        expected.push(if in_range(u, 16) {
            0x2000 + u as u32
        } else {
            0
        });
        if in_range(s, LEN) {
            data[s as usize] = 0xA000_0000 | k as u32;
        }
        if in_range(u, LEN) {
            data[u as usize] = 0xB000_0000 | k as u32;
        }
        if in_range(s, LEN) {
            data[s as usize] = data[s as usize].wrapping_add(0x100);
        }
    }
    let got: Vec<u32> = read_all(&results);
    for (k, &si) in idx.iter().enumerate() {
        let names = [
            "storage load (int index)",
            "storage load (uint index)",
            "uniform load",
            "push-constant load",
            "uniform load (uint index)",
        ];
        for (j, name) in names.iter().enumerate() {
            assert_eq!(
                got[k * 5 + j],
                expected[k * 5 + j],
                "{name} at index {si} (step {k})"
            );
        }
    }
    let after_all: Vec<u32> = read_all(&mem);
    let words_of = |from: u64, to: u64| (from / 4) as usize..(to / 4) as usize;
    assert_eq!(
        after_all[words_of(DATA, HI)],
        data[..],
        "data range after the replayed stores"
    );
    for (name, range) in [
        ("low canary", words_of(LO, DATA)),
        ("high canary", words_of(HI, UNIFORM_BEFORE)),
        (
            "uniform and its surroundings",
            words_of(UNIFORM_BEFORE, TOTAL),
        ),
    ] {
        assert_eq!(
            after_all[range.clone()],
            before_all[range],
            "{name} changed"
        );
    }
}
