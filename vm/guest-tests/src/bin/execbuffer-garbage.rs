//! Guest test: hostile input through the kernel must not stop the device. Sends a few hundred
//! `EXECBUFFER`s of garbage (random bytes, truncated frames, absurd counts, `Submit`s naming
//! missing resources or ranges outside a real one, unknown opcodes, buffers bound outside
//! memory; seeded, see `garbage`), each waited on through its sync_file; creates resources with
//! odd sizes and targets; sends transfers on bad handles and outside a resource. The device
//! answers malformed submissions with an error response, which the guest kernel does not pass
//! on, so the verdict is that every fence still signals and that afterwards the device serves
//! a fresh buffer (map, write, TRANSFER + WAIT, read back) and a valid `Submit`.

use softgpu_guest_tests::garbage::{self, frame, hostile_stream, submit_payload, Rng, CASES};
use softgpu_guest_tests::report::{measure, Checks};
use softgpu_guest_tests::virtgpu::{
    wait_sync_file, BufferResource, Direction, RenderNode, ResourceParams, VirtgpuError,
    BUFFER_BIND, BUFFER_FORMAT, PIPE_BUFFER,
};

/// The seed of every hostile input; change it to explore, keep it to reproduce.
const SEED: u64 = 0x5eed_9a7b_a9e0_0001;
/// Rounds over the seven kinds of hostile stream: 280 submissions.
const ROUNDS: usize = 40;
const TARGET_BYTES: u32 = 4096;
/// A fence that takes longer than this means the device stopped answering.
const FENCE_TIMEOUT_MS: i32 = 20_000;
const SIGNAL_OFFSET: u64 = 128;
const SIGNAL_VALUE: u64 = 0x0000_ddc0_ffee_5eed;

fn unexpected(msg: String) -> VirtgpuError {
    VirtgpuError::Unexpected(msg)
}

/// Sends every hostile stream and waits for each fence. `Ok((signalled, refused))`: how many
/// the device completed and how many the kernel refused before they reached it.
fn send_garbage(node: &RenderNode, target: &BufferResource) -> Result<(u32, u32), VirtgpuError> {
    let mut rng = Rng::new(SEED);
    let (mut signalled, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        for case in CASES {
            let stream = hostile_stream(&mut rng, case, target.res_handle, TARGET_BYTES.into());
            match node.execbuffer(&stream, &[target.bo_handle]) {
                Ok(fence) => {
                    if !wait_sync_file(&fence, FENCE_TIMEOUT_MS)? {
                        return Err(unexpected(format!(
                            "round {round} {case:?}: the fence did not signal in {FENCE_TIMEOUT_MS} ms"
                        )));
                    }
                    signalled += 1;
                }
                Err(e) => {
                    if refused < 3 {
                        println!("round {round} {case:?}: the kernel refused it: {e}");
                    }
                    refused += 1;
                }
            }
        }
    }
    Ok((signalled, refused))
}

/// Resources with odd sizes and targets; each one that the kernel creates gets a transfer and
/// a wait (which must come back) and is closed. Returns how many were created.
fn odd_resources(node: &RenderNode) -> Result<u32, VirtgpuError> {
    let buffer = |width, size| ResourceParams {
        target: PIPE_BUFFER,
        format: BUFFER_FORMAT,
        bind: BUFFER_BIND,
        width,
        height: 1,
        size,
    };
    let odd = [
        buffer(0, 0),
        buffer(1, 1),
        buffer(3, 3),
        buffer(4097, 4097),
        buffer(0, 4096),
        buffer(u32::MAX, 4096),
        buffer(4096, 1 << 20 | 1),
        ResourceParams {
            height: 0,
            ..buffer(64, 64)
        },
        ResourceParams {
            height: 1000,
            ..buffer(64, 64)
        },
        // A 2D texture, a cube map, an unknown target: our device accepts only buffers.
        ResourceParams {
            target: 2,
            format: 1,
            bind: 2,
            ..buffer(64, 64 * 64 * 4)
        },
        ResourceParams {
            target: 5,
            ..buffer(16, 4096)
        },
        ResourceParams {
            target: 99,
            format: 9999,
            bind: u32::MAX,
            ..buffer(16, 4096)
        },
    ];
    let mut created = 0;
    for p in odd {
        let Ok(res) = node.create_resource(p) else {
            continue;
        };
        created += 1;
        // The device may refuse the transfer; the kernel waits for the response either way.
        let _ = node.transfer_raw(Direction::ToHost, res.bo_handle, 0, p.width, 0);
        node.wait_handle(res.bo_handle)
            .map_err(|e| unexpected(format!("wait after odd resource {p:?}: {e}")))?;
        node.close_handle(res.bo_handle)?;
    }
    Ok(created)
}

/// Transfers on handles that do not exist must be refused by the kernel.
fn transfers_on_bad_handles(
    node: &RenderNode,
    target: &BufferResource,
) -> Result<(), VirtgpuError> {
    for handle in [0, target.bo_handle + 1000, u32::MAX] {
        for dir in [Direction::ToHost, Direction::FromHost] {
            if node.transfer_raw(dir, handle, 0, 16, 0).is_ok() {
                return Err(unexpected(format!(
                    "{dir:?} on GEM handle {handle} succeeded"
                )));
            }
        }
        if node.wait_handle(handle).is_ok() {
            return Err(unexpected(format!("WAIT on GEM handle {handle} succeeded")));
        }
    }
    Ok(())
}

/// Transfers outside a real resource reach the device (the kernel does not check 3D boxes);
/// the wait on the resource must still come back.
fn transfers_out_of_range(node: &RenderNode, target: &BufferResource) -> Result<(), VirtgpuError> {
    let boxes = [
        (TARGET_BYTES, 16, 0),
        (TARGET_BYTES - 8, 64, 0),
        (u32::MAX - 4, 16, 0),
        (0, u32::MAX, 0),
        (0, 16, u32::MAX),
    ];
    for (x, w, offset) in boxes {
        for dir in [Direction::ToHost, Direction::FromHost] {
            let _ = node.transfer_raw(dir, target.bo_handle, x, w, offset);
            node.wait_handle(target.bo_handle).map_err(|e| {
                unexpected(format!(
                    "wait after {dir:?} x {x} w {w} offset {offset}: {e}"
                ))
            })?;
        }
    }
    Ok(())
}

fn pattern(i: usize) -> u32 {
    (i as u32).wrapping_mul(0x2c1b_3c6d) ^ 0xa5a5_5a5a
}

/// A fresh buffer: map, write, TRANSFER_TO_HOST + WAIT, read back.
fn fresh_buffer_round_trip(node: &RenderNode) -> Result<(), VirtgpuError> {
    let res = node.create_buffer(65536)?;
    let result = (|| {
        let mut map = node.map(&res)?;
        map.fill(pattern);
        node.transfer_to_host(&res, 0, res.size)?;
        node.wait(&res)?;
        match map.first_mismatch(pattern) {
            None => Ok(()),
            Some((i, v)) => Err(unexpected(format!(
                "word {i} reads {v:#x}, wrote {:#x}",
                pattern(i)
            ))),
        }
    })();
    node.close(res)?;
    result
}

/// A valid `Submit` whose only work is a signal write into `target`: the device must still
/// execute submissions, and its write must show through the mapping.
fn valid_submit(node: &RenderNode, target: &BufferResource) -> Result<(), VirtgpuError> {
    let map = node.map(target)?;
    let word = (SIGNAL_OFFSET / 4) as usize;
    let before = (map.read(word), map.read(word + 1));
    let stream = frame(
        garbage::opcode::SUBMIT,
        &submit_payload(&[], &[(target.res_handle, SIGNAL_OFFSET, SIGNAL_VALUE)]),
    );
    let fence = node.execbuffer(&stream, &[target.bo_handle])?;
    if !wait_sync_file(&fence, FENCE_TIMEOUT_MS)? {
        return Err(unexpected("the valid Submit's fence did not signal".into()));
    }
    let got = match (map.read(word), map.read(word + 1)) {
        (Some(lo), Some(hi)) => u64::from(lo) | u64::from(hi) << 32,
        _ => return Err(unexpected("signal word outside the mapping".into())),
    };
    if got != SIGNAL_VALUE {
        return Err(unexpected(format!(
            "signal word reads {got:#x} (before {before:?}), want {SIGNAL_VALUE:#x}"
        )));
    }
    Ok(())
}

fn main() {
    let mut checks = Checks::new();
    let Some(node) = checks.check("find_render_node", RenderNode::find_virtio_gpu()) else {
        std::process::exit(checks.finish());
    };
    let Some(target) = checks.check("target_buffer", node.create_buffer(TARGET_BYTES)) else {
        std::process::exit(checks.finish());
    };
    // The garbage never names valid bytes of the target, so it stays zero (fresh pages).
    if let Some((signalled, refused)) =
        checks.check("hostile_submits_all_signal", send_garbage(&node, &target))
    {
        println!("{signalled} hostile submissions signalled, {refused} refused by the kernel");
        measure("garbage_submits_signalled", signalled, "submits");
    }
    if let Some(n) = checks.check("odd_resources_answered", odd_resources(&node)) {
        println!("{n} odd resources created, transferred and closed");
    }
    checks.check(
        "transfers_on_bad_handles_refused",
        transfers_on_bad_handles(&node, &target),
    );
    checks.check(
        "transfers_out_of_range_answered",
        transfers_out_of_range(&node, &target),
    );
    checks.check(
        "fresh_buffer_round_trip_after_garbage",
        fresh_buffer_round_trip(&node),
    );
    checks.check("valid_submit_after_garbage", valid_submit(&node, &target));
    checks.check("gem_close", node.close(target));
    std::process::exit(checks.finish());
}
