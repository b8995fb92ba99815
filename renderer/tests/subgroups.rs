//! Subgroup operations against a CPU model: a subgroup is W = `device.subgroup_size()`
//! consecutive invocations of a workgroup (by local invocation index), lanes in order.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

const WG: usize = 64;
const GROUPS: usize = 64;
const N: usize = WG * GROUPS;

fn w() -> usize {
    let w = device().subgroup_size() as usize;
    assert!(
        w.is_power_of_two() && (4..=32).contains(&w) && WG.is_multiple_of(w),
        "subgroup size {w}"
    );
    w
}

/// The subgroups of the dispatch: ranges of global invocation indices.
fn subgroups() -> impl Iterator<Item = std::ops::Range<usize>> {
    let w = w();
    (0..N / w).map(move |s| s * w..(s + 1) * w)
}

fn run(shader: &str, inputs: &[&[u32]], per_invocation: usize) -> Vec<u32> {
    let dev = device();
    let p = pipeline(dev, shader, &[]);
    let mut buffers: Vec<_> = inputs.iter().map(|d| buffer_from(dev, d)).collect();
    buffers.push(buffer_zeroed::<u32>(dev, N * per_invocation));
    let refs: Vec<_> = buffers.iter().collect();
    dev.dispatch(&p, &[&storage_set(&refs)], &[], [GROUPS as u32, 1, 1])
        .unwrap();
    read_all(buffers.last().unwrap())
}

fn random_values(seed: u64) -> Vec<u32> {
    let mut rng = Rng::new(seed);
    (0..N).map(|_| rng.next_u32()).collect()
}

#[test]
fn builtins_elect_votes_ballots_and_broadcasts_match_the_lane_model() {
    let w = w();
    let v = random_values(1);
    // Half the subgroups hold one value everywhere (allEqual true), the others vary.
    let mut rng = Rng::new(2);
    let mut g = vec![0u32; N];
    for (s, range) in subgroups().enumerate() {
        let same = rng.next_u32();
        for i in range {
            g[i] = if s % 2 == 0 { same } else { rng.below(2) };
        }
    }
    let res = run("subgroup_basic", &[&v, &g], 17);
    for range in subgroups() {
        let lanes = &v[range.clone()];
        let p: Vec<bool> = lanes.iter().map(|x| x % 8 != 0).collect();
        let ballot: u32 = p.iter().enumerate().map(|(l, b)| u32::from(*b) << l).sum();
        let all_eq = g[range.clone()].iter().all(|x| *x == g[range.start]);
        for (lane, i) in range.clone().enumerate() {
            let r = &res[i * 17..i * 17 + 17];
            let local = i % WG;
            let ctx = format!("invocation {i} (lane {lane}): {r:?}");
            assert_eq!(r[0], w as u32, "gl_SubgroupSize, {ctx}");
            assert_eq!(r[1], lane as u32, "gl_SubgroupInvocationID, {ctx}");
            assert_eq!(r[2], (local / w) as u32, "gl_SubgroupID, {ctx}");
            assert_eq!(r[3], (WG / w) as u32, "gl_NumSubgroups, {ctx}");
            assert_eq!(r[4], u32::from(lane == 0), "subgroupElect, {ctx}");
            assert_eq!(r[5], u32::from(p.iter().all(|b| *b)), "subgroupAll, {ctx}");
            assert_eq!(
                r[6],
                u32::from(lanes.iter().any(|x| x % 16 == 0)),
                "subgroupAny, {ctx}"
            );
            assert_eq!(r[7], u32::from(all_eq), "subgroupAllEqual, {ctx}");
            assert_eq!(r[8], ballot, "subgroupBallot, {ctx}");
            assert_eq!(r[9], ballot.count_ones(), "subgroupBallotBitCount, {ctx}");
            let bit = v[i] as usize % w;
            assert_eq!(
                r[10],
                (ballot >> bit) & 1,
                "subgroupBallotBitExtract, {ctx}"
            );
            if ballot != 0 {
                assert_eq!(
                    r[11],
                    ballot.trailing_zeros(),
                    "subgroupBallotFindLSB, {ctx}"
                );
                assert_eq!(
                    r[12],
                    31 - ballot.leading_zeros(),
                    "subgroupBallotFindMSB, {ctx}"
                );
            }
            assert_eq!(r[13], lanes[1], "subgroupBroadcast lane 1, {ctx}");
            assert_eq!(r[14], lanes[0], "subgroupBroadcastFirst, {ctx}");
            assert_eq!(
                r[15],
                (ballot & ((1u64 << lane) - 1) as u32).count_ones(),
                "subgroupBallotExclusiveBitCount, {ctx}"
            );
            assert_eq!(r[16], 0, "ballot words above W, {ctx}");
        }
    }
}

#[test]
fn shuffles_by_index_xor_up_and_down_read_the_right_lane() {
    let w = w();
    let v = random_values(3);
    let idx = random_values(4);
    let res = run("subgroup_shuffle", &[&v, &idx], 8);
    for range in subgroups() {
        let lanes = &v[range.clone()];
        for (lane, i) in range.clone().enumerate() {
            let r = &res[i * 8..i * 8 + 8];
            let ctx = format!("invocation {i} (lane {lane})");
            assert_eq!(r[0], lanes[idx[i] as usize % w], "subgroupShuffle, {ctx}");
            assert_eq!(
                r[1],
                (lanes[w - 1 - lane] & 0x007F_FFFF) | 0x3F80_0000,
                "float subgroupShuffle, {ctx}"
            );
            assert_eq!(r[2], lanes[lane ^ 1], "subgroupShuffleXor 1, {ctx}");
            assert_eq!(r[3], lanes[lane ^ (w - 1)], "subgroupShuffleXor W-1, {ctx}");
            // Lanes outside the subgroup are undefined: only in-range ones are checked.
            if lane >= 1 {
                assert_eq!(r[4], lanes[lane - 1], "subgroupShuffleUp 1, {ctx}");
            }
            if lane >= 3 {
                assert_eq!(r[5], lanes[lane - 3], "subgroupShuffleUp 3, {ctx}");
            }
            if lane + 1 < w {
                assert_eq!(r[6], lanes[lane + 1], "subgroupShuffleDown 1, {ctx}");
            }
            if lane + 2 < w {
                assert_eq!(r[7], lanes[lane + 2], "subgroupShuffleDown 2, {ctx}");
            }
        }
    }
}

/// One operator of the arithmetic test: identity and combine, on raw u32 words.
struct Operator {
    name: &'static str,
    identity: u32,
    combine: fn(u32, u32) -> u32,
}

fn f(x: u32) -> f32 {
    f32::from_bits(x)
}

const OPERATORS: [Operator; 12] = [
    Operator {
        name: "add",
        identity: 0,
        combine: |a, b| a.wrapping_add(b),
    },
    Operator {
        name: "mul",
        identity: 1,
        combine: |a, b| a.wrapping_mul(b),
    },
    Operator {
        name: "umin",
        identity: u32::MAX,
        combine: |a, b| a.min(b),
    },
    Operator {
        name: "umax",
        identity: 0,
        combine: |a, b| a.max(b),
    },
    Operator {
        name: "and",
        identity: u32::MAX,
        combine: |a, b| a & b,
    },
    Operator {
        name: "or",
        identity: 0,
        combine: |a, b| a | b,
    },
    Operator {
        name: "xor",
        identity: 0,
        combine: |a, b| a ^ b,
    },
    Operator {
        name: "smin",
        identity: i32::MAX as u32,
        combine: |a, b| (a as i32).min(b as i32) as u32,
    },
    Operator {
        name: "smax",
        identity: i32::MIN as u32,
        combine: |a, b| (a as i32).max(b as i32) as u32,
    },
    // Float operands are small integers: every partial sum is exact in any order.
    Operator {
        name: "fadd",
        identity: 0,
        combine: |a, b| (f(a) + f(b)).to_bits(),
    },
    Operator {
        name: "fmin",
        identity: 0x7F80_0000,
        combine: |a, b| f(a).min(f(b)).to_bits(),
    },
    Operator {
        name: "fmax",
        identity: 0xFF80_0000,
        combine: |a, b| f(a).max(f(b)).to_bits(),
    },
];

#[test]
fn reduce_inclusive_and_exclusive_scans_of_every_operator_match_the_lane_model() {
    let v = random_values(5);
    let res = run("subgroup_arith", &[&v], 36);
    for range in subgroups() {
        for (k, op) in OPERATORS.iter().enumerate() {
            let operand = |x: u32| {
                if k >= 9 {
                    ((x % 201) as i32 - 100) as f32
                } else {
                    0.0
                }
            };
            let lanes: Vec<u32> = v[range.clone()]
                .iter()
                .map(|&x| if k >= 9 { operand(x).to_bits() } else { x })
                .collect();
            let total = lanes
                .iter()
                .fold(op.identity, |acc, x| (op.combine)(acc, *x));
            let mut running = op.identity;
            for (lane, i) in range.clone().enumerate() {
                let exclusive = running;
                running = (op.combine)(running, lanes[lane]);
                let r = &res[i * 36 + 3 * k..i * 36 + 3 * k + 3];
                let ctx = format!("{} at invocation {i} (lane {lane})", op.name);
                let eq = |a: u32, b: u32| if k >= 9 { f(a) == f(b) } else { a == b };
                assert!(eq(r[0], total), "reduce {ctx}: {:#x} want {total:#x}", r[0]);
                assert!(
                    eq(r[1], running),
                    "inclusive {ctx}: {:#x} want {running:#x}",
                    r[1]
                );
                assert!(
                    eq(r[2], exclusive),
                    "exclusive {ctx}: {:#x} want {exclusive:#x}",
                    r[2]
                );
            }
        }
    }
}

#[test]
fn subgroup_operations_in_divergent_branches_see_only_active_lanes() {
    let v: Vec<u32> = random_values(6).into_iter().map(|x| x >> 4).collect();
    let res = run("subgroup_divergent", &[&v], 12);
    const SENTINEL: u32 = 0xEEEE_EEEE;
    for range in subgroups() {
        let lanes = &v[range.clone()];
        let active: Vec<usize> = (0..lanes.len()).filter(|l| l % 3 == 0).collect();
        let inactive: Vec<usize> = (0..lanes.len()).filter(|l| l % 3 != 0).collect();
        let mask = |set: &[usize]| set.iter().map(|l| 1u32 << l).sum::<u32>();
        let sum = |set: &[usize]| set.iter().fold(0u32, |s, l| s.wrapping_add(lanes[*l]));
        let odd: Vec<usize> = (0..lanes.len()).filter(|l| lanes[*l] & 1 == 1).collect();
        for (lane, i) in range.clone().enumerate() {
            let r = &res[i * 12..i * 12 + 12];
            let ctx = format!("invocation {i} (lane {lane}): {r:x?}");
            if lane % 3 == 0 {
                let before: Vec<usize> = active.iter().copied().filter(|l| *l < lane).collect();
                assert_eq!(r[0], u32::from(lane == 0), "elect, {ctx}");
                assert_eq!(r[1], mask(&active), "ballot(true), {ctx}");
                assert_eq!(r[2], sum(&active), "add, {ctx}");
                assert_eq!(
                    r[3],
                    sum(&before).wrapping_add(lanes[lane]),
                    "inclusive add, {ctx}"
                );
                assert_eq!(r[4], sum(&before), "exclusive add, {ctx}");
                assert_eq!(r[5], lanes[0], "broadcastFirst, {ctx}");
                assert_eq!(
                    r[6],
                    u32::from(active.iter().all(|l| !lanes[*l].is_multiple_of(4))),
                    "all, {ctx}"
                );
                assert_eq!(
                    r[7],
                    u32::from(active.iter().any(|l| lanes[*l].is_multiple_of(8))),
                    "any, {ctx}"
                );
                assert_eq!(
                    r[8],
                    active.iter().map(|l| lanes[*l]).max().unwrap(),
                    "max, {ctx}"
                );
                assert_eq!(
                    r[9..11],
                    [SENTINEL, SENTINEL],
                    "else branch must not run, {ctx}"
                );
            } else {
                assert_eq!(r[..9], [SENTINEL; 9], "then branch must not run, {ctx}");
                assert_eq!(r[9], sum(&inactive), "add in the else branch, {ctx}");
                assert_eq!(r[10], mask(&inactive), "ballot in the else branch, {ctx}");
            }
            if lanes[lane] & 1 == 1 {
                let rank = odd.iter().filter(|l| **l < lane).count() as u32;
                assert_eq!(r[11], rank, "exclusive add of 1 over odd lanes, {ctx}");
            } else {
                assert_eq!(r[11], SENTINEL, "{ctx}");
            }
        }
    }
}
