//! Forking, watching and reaping the compile worker.

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use jit_host_client::wire::{read_message, TargetInfo};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, getpid, getppid, ForkResult, Pid};

use super::{Options, SupervisorError};
use crate::arena::CodeArena;
use crate::worker::{self, WorkerMessage, WorkerSetup};

/// How long a worker may take to start, or to finish sending or receiving one message.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A live compile worker.
pub(super) struct Worker {
    pub pid: Pid,
    pub sock: UnixStream,
}

/// Forks a worker and waits for it to report its target.
///
/// # Safety
/// The calling process must be single-threaded: the child runs arbitrary code (allocation,
/// LLVM) after `fork`.
pub(super) unsafe fn fork_worker(
    arena: &mut CodeArena,
    options: &Options,
) -> Result<(Worker, TargetInfo), SupervisorError> {
    let setup = WorkerSetup {
        sandbox: options.sandbox,
        address_space: options.worker_address_space,
    };
    let (ours, theirs) = UnixStream::pair()?;
    let parent = getpid();
    // SAFETY: the caller guarantees this process is single-threaded, so no lock or
    // allocator state is held by another thread at the fork.
    match unsafe { fork() }? {
        ForkResult::Child => {
            drop(ours);
            // SAFETY: we are the freshly forked child, still single-threaded.
            unsafe { become_worker(arena, theirs, parent, setup) }
        }
        ForkResult::Parent { child } => {
            drop(theirs);
            let mut worker = Worker {
                pid: child,
                sock: ours,
            };
            match wait_ready(&worker) {
                Ok(target) => Ok((worker, target)),
                Err(e) => {
                    let _ = kill_and_reap(&mut worker);
                    Err(e)
                }
            }
        }
    }
}

fn wait_ready(worker: &Worker) -> Result<TargetInfo, SupervisorError> {
    worker.sock.set_read_timeout(Some(IO_TIMEOUT))?;
    worker.sock.set_write_timeout(Some(IO_TIMEOUT))?;
    match read_message::<WorkerMessage>(&worker.sock) {
        Ok(WorkerMessage::Ready { target }) => Ok(target),
        Ok(WorkerMessage::StartFailed { message }) => Err(SupervisorError::WorkerStart(message)),
        Ok(other) => Err(SupervisorError::WorkerStart(format!(
            "unexpected first message {other:?}"
        ))),
        Err(e) => Err(SupervisorError::WorkerStart(e.to_string())),
    }
}

/// The child side of `fork_worker`: drop everything the worker must not have, then run the
/// worker loop and exit. Never returns into the supervisor's code.
///
/// # Safety
/// Only in the child just forked by `fork_worker` (single-threaded). Inherited descriptors
/// (the client socket, the arena fd) are closed here behind their owners' backs; that is
/// sound because this function never returns, so those owners are never used or dropped in
/// this process.
unsafe fn become_worker(
    arena: &mut CodeArena,
    sock: UnixStream,
    parent: Pid,
    setup: WorkerSetup,
) -> ! {
    // Die with the supervisor; if it already died, the new parent is not ours to serve.
    if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err() || getppid() != parent {
        std::process::exit(1);
    }
    arena.release_in_child();
    let keep = sock.as_raw_fd();
    // Close every inherited descriptor except stdio and our socket (the client socket among
    // them): the worker talks only to the supervisor.
    for (first, last) in [(3, keep - 1), (keep + 1, i32::MAX)] {
        if first <= last {
            // SAFETY: closing descriptors this process will never use again (see above).
            unsafe { libc::close_range(first as u32, last as u32, 0) };
        }
    }
    let status =
        std::panic::catch_unwind(AssertUnwindSafe(|| worker::run(sock, setup))).unwrap_or(101);
    std::process::exit(status)
}

/// Describes how a worker ended, reaping it; kills it first if it has not ended within a
/// short grace period (its socket closing usually means it already has).
pub(super) fn reap(worker: &mut Worker) -> String {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match waitpid(worker.pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(WaitStatus::StillAlive) => return kill_and_reap(worker),
            Ok(status) => return describe(status),
            Err(e) => return format!("vanished ({e})"),
        }
    }
}

/// Kills the worker and reaps it.
pub(super) fn kill_and_reap(worker: &mut Worker) -> String {
    let _ = kill(worker.pid, Signal::SIGKILL);
    match waitpid(worker.pid, None) {
        Ok(status) => describe(status),
        Err(e) => format!("vanished ({e})"),
    }
}

fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exited with status {code}"),
        WaitStatus::Signaled(_, signal, _) => {
            format!("signal {} ({})", signal as i32, signal.as_str())
        }
        other => format!("{other:?}"),
    }
}
