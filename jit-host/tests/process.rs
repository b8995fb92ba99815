//! The real jit-host process, driven through the client: sandbox shape, compiling, reuse,
//! worker death, shutdown.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{kernel_object, maps, Flaw, TestContext, ARENA_MAP_NAME};
use jit_host_client::{ClientError, CompiledKernel, JitHost, SpawnOptions};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn spawn(allow_test_requests: bool) -> Arc<JitHost> {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_jit-host"));
    JitHost::spawn(&SpawnOptions {
        path: Some(path),
        allow_test_requests,
    })
    .expect("spawning jit-host")
}

/// Runs a test kernel (see `common::kernel_object`) and returns what it stored.
fn run(kernel: &CompiledKernel, first_workgroup: u32, count: u32) -> u32 {
    let mut ctx = TestContext::new(vec![vec![0; 4]], 0, kernel.scratch_size());
    let kctx = ctx.context([1, 1, 1]);
    // SAFETY: test kernels only write buffers[0][0], which `ctx` provides.
    unsafe { kernel.call(&kctx, first_workgroup, count) };
    ctx.buffers[0][0]
}

/// Whether `pid` is a live process (a zombie, waiting for a reaper that may never come in a
/// container, counts as dead).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn jit_host_processes_map_nothing_executable_but_their_code() {
    let host = spawn(true);
    let binary = std::fs::canonicalize(env!("CARGO_BIN_EXE_jit-host")).unwrap();
    let worker = host.worker_pid().unwrap();
    assert_ne!(worker, host.supervisor_pid());
    for (who, pid) in [("supervisor", host.supervisor_pid()), ("worker", worker)] {
        let all = maps(pid);
        for m in &all {
            assert!(
                !(m.writable() && m.executable()),
                "{who}: W+X mapping {m:?}"
            );
            if m.executable() {
                let allowed = m.path == binary.to_string_lossy()
                    || m.path.ends_with(".so")
                    || m.path.contains(".so.")
                    || m.path == "[vdso]"
                    || m.path == "[vsyscall]";
                assert!(allowed, "{who}: unexpected executable mapping {m:?}");
            }
        }
        let arena: Vec<_> = all.iter().filter(|m| m.path == ARENA_MAP_NAME).collect();
        match who {
            // The supervisor holds the only writable view, and no other.
            "supervisor" => assert_eq!(
                arena.iter().map(|m| m.perms.as_str()).collect::<Vec<_>>(),
                ["rw-s"]
            ),
            _ => assert!(
                arena.is_empty(),
                "the worker must not see the arena: {arena:?}"
            ),
        }
    }
    // The device (this process) sees the arena read+execute and read-only, never writable.
    let ours: Vec<_> = maps(std::process::id())
        .into_iter()
        .filter(|m| m.path == ARENA_MAP_NAME)
        .collect();
    assert!(ours.iter().all(|m| !m.writable()), "{ours:?}");
    assert!(
        ours.iter().any(|m| m.perms == "r-xs") && ours.iter().any(|m| m.perms == "r--s"),
        "{ours:?}"
    );
    // The worker keeps only stdio and its socket to the supervisor.
    let fds: Vec<_> = std::fs::read_dir(format!("/proc/{worker}/fd"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(fds.len(), 4, "worker fds: {fds:?}");
}

#[test]
fn placed_kernels_run_and_freed_space_is_reused_with_a_new_generation() {
    let host = spawn(true);
    let first = host
        .compile_object_for_test(&kernel_object(100, 20, Flaw::None), 128)
        .unwrap();
    assert_eq!(first.scratch_size(), 128);
    assert_eq!(run(&first, 3, 4), 127);
    let (offset, len) = first.code_range();
    let second = host
        .compile_object_for_test(&kernel_object(5, 6, Flaw::None), 0)
        .unwrap();
    assert_ne!(second.code_range().0, offset);
    assert!(!second.placement().reused);

    let generation = jit_host_client::arena::generation();
    drop(first);
    let third = host
        .compile_object_for_test(&kernel_object(1, 2, Flaw::None), 0)
        .unwrap();
    assert_eq!(
        third.code_range(),
        (offset, len),
        "the freed range is reused"
    );
    assert!(third.placement().reused);
    assert!(jit_host_client::arena::generation() > generation);
    // The rewritten code is the new kernel's, not the old one's.
    assert_eq!(run(&third, 0, 0), 3);
    assert_eq!(run(&second, 1, 1), 13);
}

#[test]
fn link_errors_come_back_as_errors_and_the_host_keeps_working() {
    let host = spawn(true);
    match host.compile_object_for_test(&kernel_object(1, 2, Flaw::UndefinedCall), 0) {
        Err(ClientError::JitHost(message)) => assert!(message.contains("sinf"), "{message}"),
        other => panic!("expected a link error, got {:?}", other.map(|_| ())),
    }
    let kernel = host
        .compile_object_for_test(&kernel_object(1, 2, Flaw::None), 0)
        .unwrap();
    assert_eq!(run(&kernel, 0, 0), 3);
}

#[test]
fn test_requests_are_refused_unless_enabled() {
    let host = spawn(false);
    assert!(
        matches!(host.stall_worker_for_test(), Err(ClientError::JitHost(m)) if m.contains("not enabled"))
    );
    let linked = host.compile_object_for_test(&kernel_object(1, 2, Flaw::None), 0);
    assert!(matches!(linked, Err(ClientError::JitHost(_))));
    // The worker was never stalled: it still answers.
    assert!(host.worker_pid().is_ok());
}

#[test]
fn killed_worker_fails_the_compile_in_flight_and_is_replaced() {
    let host = spawn(true);
    let before = host
        .compile_object_for_test(&kernel_object(10, 20, Flaw::None), 0)
        .unwrap();
    let worker = host.worker_pid().unwrap();
    host.stall_worker_for_test().unwrap();

    let h = Arc::clone(&host);
    let blocked = std::thread::spawn(move || {
        h.compile_object_for_test(&kernel_object(1, 1, Flaw::None), 0)
            .map(|_| ())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !blocked.is_finished(),
        "the compile should wait on the stalled worker"
    );
    kill(Pid::from_raw(worker as i32), Signal::SIGKILL).unwrap();
    match blocked.join().unwrap() {
        Err(ClientError::JitHost(message)) => {
            assert!(
                message.contains("compile worker died") && message.contains("signal 9"),
                "{message}"
            )
        }
        other => panic!("expected the in-flight compile to fail, got {other:?}"),
    }

    let new_worker = host.worker_pid().unwrap();
    assert_ne!(new_worker, worker);
    assert!(!alive(worker), "the dead worker was reaped");
    let after = host
        .compile_object_for_test(&kernel_object(7, 8, Flaw::None), 0)
        .unwrap();
    assert_eq!(run(&after, 0, 0), 15);
    // Code compiled before the death still runs.
    assert_eq!(run(&before, 1, 2), 33);
}

#[test]
fn dead_supervisor_fails_requests_but_compiled_kernels_keep_running() {
    let host = spawn(true);
    let kernel = host
        .compile_object_for_test(&kernel_object(40, 2, Flaw::None), 0)
        .unwrap();
    let worker = host.worker_pid().unwrap();
    kill(Pid::from_raw(host.supervisor_pid() as i32), Signal::SIGKILL).unwrap();
    assert!(host
        .compile_object_for_test(&kernel_object(1, 2, Flaw::None), 0)
        .is_err());
    assert!(host.worker_pid().is_err());
    assert_eq!(run(&kernel, 0, 0), 42);
    // The worker dies with its supervisor (PR_SET_PDEATHSIG).
    let mut waited = 0;
    while alive(worker) && waited < 200 {
        std::thread::sleep(Duration::from_millis(10));
        waited += 1;
    }
    assert!(!alive(worker));
}

#[test]
fn dropping_the_host_ends_both_processes() {
    let host = spawn(true);
    let (supervisor, worker) = (host.supervisor_pid(), host.worker_pid().unwrap());
    assert!(alive(supervisor) && alive(worker));
    drop(host);
    // The supervisor was reaped by the drop; its worker was killed and reaped by it.
    assert!(!alive(supervisor));
    assert!(!alive(worker));
}
