//! jit-host's lockdown as the kernel sees it (DESIGN §5): both processes under seccomp (the
//! worker's filter stacked on the supervisor's), nothing writable+executable, the worker's
//! RLIMIT_AS, and the compile watchdog.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{address_space_limit, alive, kernel_object, maps, status_field, Flaw, RawHost};
use jit_host_client::wire::{Request, Response};
use jit_host_client::{JitHost, SpawnOptions};

fn spawn_default() -> Arc<JitHost> {
    JitHost::spawn(&SpawnOptions {
        path: Some(PathBuf::from(env!("CARGO_BIN_EXE_jit-host"))),
        allow_test_requests: true,
    })
    .unwrap()
}

fn link_request(c1: u32, c2: u32) -> Request {
    Request::LinkObjectForTest {
        object: kernel_object(c1, c2, Flaw::None),
        scratch_size: 0,
    }
}

#[test]
fn supervisor_and_worker_run_under_stacked_seccomp_filters_with_nothing_writable_and_executable() {
    let host = spawn_default();
    // A placement first: the supervisor has written into the arena, the worker has worked.
    let kernel = host
        .compile_object_for_test(&kernel_object(1, 2, Flaw::None), 0)
        .unwrap();
    let supervisor = host.supervisor_pid();
    let worker = host.worker_pid().unwrap();
    for (who, pid, filters) in [("supervisor", supervisor, "1"), ("worker", worker, "2")] {
        assert_eq!(status_field(pid, "Seccomp"), "2", "{who} is in filter mode");
        assert_eq!(
            status_field(pid, "Seccomp_filters"),
            filters,
            "{who}: the worker stacks its own filter on the supervisor's"
        );
        assert_eq!(status_field(pid, "NoNewPrivs"), "1", "{who}");
        for m in maps(pid) {
            assert!(
                !(m.writable() && m.executable()),
                "{who}: W+X mapping {m:?}"
            );
        }
    }
    drop(kernel);
}

#[test]
fn worker_address_space_is_capped_and_the_cap_is_configurable() {
    let host = spawn_default();
    let worker = host.worker_pid().unwrap();
    assert_eq!(address_space_limit(worker), (2u64 << 30).to_string());
    assert_eq!(address_space_limit(host.supervisor_pid()), "unlimited");

    let raw = RawHost::spawn(&[
        "--allow-test-requests",
        "--worker-address-space-mib",
        "1024",
    ]);
    assert_eq!(
        address_space_limit(raw.worker_pid()),
        (1u64 << 30).to_string()
    );
    // The worker still works under the smaller cap.
    assert!(matches!(
        raw.ask(&link_request(1, 2)),
        Response::Compiled(_)
    ));
}

#[test]
fn runaway_compile_is_killed_reported_and_its_worker_replaced() {
    let host = RawHost::spawn(&["--allow-test-requests", "--compile-timeout-ms", "400"]);
    let stalled = host.worker_pid();
    assert!(matches!(
        host.ask(&Request::StallWorker),
        Response::Stalling
    ));

    let started = Instant::now();
    let answer = host.ask(&link_request(3, 4));
    let waited = started.elapsed();
    match answer {
        Response::Error { message } => assert!(
            message.contains("shader compile exceeded 0.4 s"),
            "{message}"
        ),
        other => panic!("expected the watchdog's error, got {other:?}"),
    }
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");

    let replacement = host.worker_pid();
    assert_ne!(replacement, stalled);
    assert!(!alive(stalled), "the runaway worker was killed and reaped");
    match host.ask(&link_request(5, 6)) {
        Response::Compiled(range) => assert!(range.code_len > 0),
        other => panic!("the next compile should work, got {other:?}"),
    }
}

#[test]
fn no_sandbox_flag_runs_both_processes_unfiltered() {
    let host = RawHost::spawn(&["--no-sandbox"]);
    let worker = host.worker_pid();
    assert_eq!(status_field(host.child.id(), "Seccomp"), "0");
    assert_eq!(status_field(worker, "Seccomp"), "0");
    // The memory cap is not part of the sandbox switch.
    assert_eq!(address_space_limit(worker), (2u64 << 30).to_string());
}

#[test]
fn bad_limits_are_refused_at_start() {
    for args in [
        &["--compile-timeout-ms", "0"][..],
        &["--worker-address-space-mib", "16"],
        &["--seccomp-violation", "allow"],
    ] {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_jit-host"))
            .args(["--socket-fd", "3"])
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}");
    }
}
