//! Subgroup operations: the IR they map to (relative shuffles become `Shuffle` with a
//! computed lane) and what they compute in one-lane subgroups.

// In tests a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shader::ir::{BinOp, Builtin, Op, ScanKind, Stmt, SubgroupOp, ValueId};

const SRC: &str = r#"#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_vote : require
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_shuffle_relative : require
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x = 4) in;
layout(set = 0, binding = 0) buffer O { uint o[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    uint v = o[i * 16u];
    uint b = i * 16u;
    o[b + 1] = subgroupShuffleXor(v, 1u);
    o[b + 2] = subgroupShuffleUp(v, 2u);
    o[b + 3] = subgroupShuffleDown(v, 3u);
    o[b + 4] = subgroupBroadcast(v, 0u);
    o[b + 5] = subgroupAdd(v);
    o[b + 6] = subgroupInclusiveMul(v);
    o[b + 7] = subgroupExclusiveMax(v);
    uvec4 bal = subgroupBallot(v > 3u);
    o[b + 8] = subgroupBallotBitCount(bal);
    o[b + 9] = subgroupBallotFindLSB(bal);
    o[b + 10] = uint(subgroupAll(v > 0u)) + 2u * uint(subgroupAny(v > 100u)) + 4u * uint(subgroupAllEqual(v));
    o[b + 11] = uint(subgroupElect()) + 2u * uint(subgroupInverseBallot(uvec4(1u, 0u, 0u, 0u)));
    o[b + 12] = subgroupBroadcastFirst(v) + subgroupBallotExclusiveBitCount(bal) * 1000u;
    o[b + 13] = uint(subgroupBallotBitExtract(bal, 0u)) + subgroupOr(v & 6u) * 10u;
    o[b + 14] = uint(subgroupMax(float(v)));
    subgroupBarrier();
    o[b + 15] = subgroupBallotFindMSB(bal) + subgroupExclusiveAdd(v);
}
"#;

fn defs(stmts: &[Stmt], out: &mut Vec<(ValueId, Op)>) {
    for s in stmts {
        match s {
            Stmt::Def { id, op } => out.push((*id, op.clone())),
            Stmt::If {
                then_body,
                else_body,
                ..
            } => {
                defs(then_body, out);
                defs(else_body, out);
            }
            Stmt::Loop {
                body, continuing, ..
            } => {
                defs(body, out);
                defs(continuing, out);
            }
            Stmt::Breakable { body, .. } => defs(body, out),
            _ => {}
        }
    }
}

#[test]
fn relative_shuffles_index_from_the_lane_id() {
    let m = lower(&glsl(SRC));
    let mut all = Vec::new();
    defs(&m.body, &mut all);
    let op_of = |v: ValueId| {
        all.iter()
            .find(|(id, _)| *id == v)
            .map(|(_, op)| op.clone())
    };
    let is_lane = |v: ValueId| {
        matches!(
            op_of(v),
            Some(Op::Builtin(Builtin::SubgroupLocalInvocationId))
        )
    };
    let mut kinds = Vec::new();
    for (_, op) in &all {
        if let Op::Subgroup(SubgroupOp::Shuffle { index, .. }) = op {
            kinds.push(match op_of(*index) {
                Some(Op::Binary(b, l, _)) if is_lane(l) => Some(b),
                Some(Op::Const(_)) => None,
                other => panic!("unexpected shuffle index {other:?}"),
            });
        }
    }
    assert_eq!(
        kinds,
        vec![Some(BinOp::Xor), Some(BinOp::ISub), Some(BinOp::IAdd), None]
    );
    let scans: Vec<ScanKind> = all
        .iter()
        .filter_map(|(_, op)| match op {
            Op::Subgroup(SubgroupOp::Scan { kind, .. }) => Some(*kind),
            _ => None,
        })
        .collect();
    assert_eq!(
        scans,
        vec![
            ScanKind::Reduce,
            ScanKind::InclusiveScan,
            ScanKind::ExclusiveScan,
            ScanKind::Reduce,
            ScanKind::Reduce,
            ScanKind::ExclusiveScan
        ]
    );
    assert!(
        count(&m.body, &|s| matches!(s, Stmt::MemoryBarrier)) == 1,
        "subgroupBarrier is a memory barrier"
    );
    assert!(count(&m.body, &|s| matches!(s, Stmt::Barrier)) == 0);
}

#[test]
fn one_lane_subgroups_compute_the_single_lane_answers() {
    for m in both(SRC) {
        let mut init = vec![0u32; 4 * 16];
        for (i, v) in [0u32, 3, 4, 200].iter().enumerate() {
            init[i * 16] = *v;
        }
        let out = run_with(&m, [1, 1, 1], &[(0, 0, bytes_u32(&init))], &[]);
        let o = u32s(&out[slot(&m, 0, 0)]);
        for (i, v) in [0u32, 3, 4, 200].iter().copied().enumerate() {
            let big = v > 3;
            let want = [
                v,
                v,
                v,
                v,
                v,
                v,
                v,
                0,
                u32::from(big),
                if big { 0 } else { u32::MAX },
                u32::from(v > 0) + 2 * u32::from(v > 100) + 4,
                1 + 2,
                v,
                u32::from(big) + (v & 6) * 10,
                v,
                if big { 0 } else { u32::MAX },
            ];
            assert_eq!(&o[i * 16..i * 16 + 16], &want, "input {v}");
        }
    }
}
