//! The supervisor: jit-host's parent process (DESIGN §4, §5).
//!
//! Single-threaded and small on purpose: create the arena before reading any request, fork
//! a compile worker, hand the device the arena fd, then loop — forward compile requests to
//! the worker, place what comes back, answer. It never calls into LLVM, so it cannot be
//! taken over through the code generator; it trusts the worker's output no further than the
//! bounds checks in `arena::CodeArena::place`.
//!
//! Once the arena exists it locks itself down (`crate::sandbox`: MDWE and the supervisor
//! allow-list) before it forks the first worker, so every worker starts under that filter and
//! stacks its own. A compile that runs past `Options::compile_timeout` (the watchdog) gets
//! its worker killed and the device the error "shader compile exceeded N s".
//!
//! Every request except `Free` gets exactly one answer, in request order. One compile is in
//! flight at a time; answer-bearing requests that arrive meanwhile wait in a short queue.
//! If the worker dies, the in-flight compile is answered with an error and a new worker is
//! forked; the arena and every placed kernel stay. When the device closes its socket the
//! supervisor kills its worker and exits.

mod child;

use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use jit_host_client::wire::{
    self, read_message, write_message, ArenaLayout, Hello, Request, Response, TargetInfo, WireError,
};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::arena::{self, CodeArena};
use crate::sandbox::{self, Profile, SandboxError, Violation};
use crate::worker::{WorkerMessage, WorkerRequest};
use child::Worker;

/// Answer-bearing requests that may wait behind an in-flight compile; more means the peer
/// ignores the protocol.
const MAX_PENDING: usize = 64;

/// Default compile watchdog: no real shader takes anywhere near this long.
pub const DEFAULT_COMPILE_TIMEOUT: Duration = Duration::from_secs(10);

/// Default `RLIMIT_AS` of a compile worker. The worker starts as a copy of the supervisor
/// (binary, libLLVM, heap: a few hundred MiB of address space, most of it never touched);
/// 2 GiB leaves LLVM well over a GiB for one module and stops a runaway compile long before it
/// hurts the host.
pub const DEFAULT_WORKER_ADDRESS_SPACE: u64 = 2 << 30;

#[derive(Clone, Debug)]
pub struct Options {
    /// Honour test-only requests (`StallWorker`, `LinkObjectForTest`).
    pub allow_test_requests: bool,
    pub layout: ArenaLayout,
    /// A compile running longer than this gets its worker killed and the pipeline an error.
    pub compile_timeout: Duration,
    /// What a seccomp violation does; `None` runs without MDWE and seccomp (debugging only).
    pub sandbox: Option<Violation>,
    /// `RLIMIT_AS` of each compile worker, in bytes.
    pub worker_address_space: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            allow_test_requests: false,
            layout: arena::DEFAULT_LAYOUT,
            compile_timeout: DEFAULT_COMPILE_TIMEOUT,
            sandbox: Some(Violation::Kill),
            worker_address_space: DEFAULT_WORKER_ADDRESS_SPACE,
        }
    }
}

/// "10", "0.25": a duration in seconds as people write it.
pub fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        return d.as_secs().to_string();
    }
    let text = format!("{:.3}", d.as_secs_f64());
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("code arena: {0}")]
    Arena(#[from] arena::ArenaError),
    #[error("system call: {0}")]
    Sys(#[from] nix::Error),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("talking to the device: {0}")]
    Client(#[from] WireError),
    #[error("compile worker failed to start: {0}")]
    WorkerStart(String),
    #[error("the device sent more than {MAX_PENDING} requests without waiting for answers")]
    Flooded,
    #[error("locking down: {0}")]
    Sandbox(#[from] SandboxError),
}

/// Runs the supervisor until the device closes `client`.
///
/// # Safety
/// The calling process must be single-threaded (it forks workers that go on running
/// arbitrary code); the jit-host binary calls this from `main` before anything else.
pub unsafe fn run(client: UnixStream, options: Options) -> Result<(), SupervisorError> {
    let mut arena = CodeArena::create(options.layout)?;
    // The arena exists: from here on the supervisor only forks, copies bytes and answers.
    // Every worker, the first included, is forked under this filter and stacks its own.
    match options.sandbox {
        Some(violation) => sandbox::lock_down(Profile::Supervisor, violation)?,
        None => log::warn!("jit-host runs WITHOUT its sandbox (--no-sandbox): debugging only"),
    }
    // SAFETY: single-threaded, per this function's contract.
    let (worker, target) = unsafe { child::fork_worker(&mut arena, &options) }?;
    let hello = Hello {
        protocol_version: wire::PROTOCOL_VERSION,
        target: target.clone(),
        arena: arena.layout(),
    };
    let sent = match arena.fd() {
        Some(fd) => wire::send_hello(&client, &hello, fd),
        None => Err(WireError::MissingFd),
    };
    if let Err(e) = sent {
        let mut worker = worker;
        child::kill_and_reap(&mut worker);
        return Err(e.into());
    }
    // The device has its copy; ours is no longer needed (our mapping stays).
    arena.close_fd();
    let mut supervisor = Supervisor {
        client,
        arena,
        worker: Some(worker),
        target,
        options,
        in_flight: None,
        pending: VecDeque::new(),
    };
    let result = supervisor.serve();
    if let Some(mut worker) = supervisor.worker.take() {
        child::kill_and_reap(&mut worker);
    }
    result
}

struct Supervisor {
    client: UnixStream,
    arena: CodeArena,
    worker: Option<Worker>,
    target: TargetInfo,
    options: Options,
    /// Start of the compile the worker is running, if any.
    in_flight: Option<Instant>,
    pending: VecDeque<Request>,
}

enum Event {
    Worker,
    Client,
    Timeout,
}

impl Supervisor {
    fn serve(&mut self) -> Result<(), SupervisorError> {
        loop {
            match self.wait()? {
                Event::Worker => self.on_worker_message()?,
                Event::Timeout => {
                    let message = format!(
                        "shader compile exceeded {} s; its worker was killed",
                        seconds(self.options.compile_timeout)
                    );
                    log::warn!("{message}");
                    if let Some(worker) = &self.worker {
                        let _ =
                            nix::sys::signal::kill(worker.pid, nix::sys::signal::Signal::SIGKILL);
                    }
                    self.worker_lost(Some(message))?;
                }
                Event::Client => match read_message::<Request>(&self.client) {
                    Ok(request) => self.on_request(request)?,
                    Err(WireError::Closed) => return Ok(()),
                    // The frame was read whole, so the stream is still in step: refuse it.
                    Err(e @ (WireError::Malformed(_) | WireError::TrailingBytes(_))) => self
                        .answer(&Response::Error {
                            message: format!("bad request: {e}"),
                        })?,
                    Err(e) => return Err(e.into()),
                },
            }
        }
    }

    fn wait(&self) -> Result<Event, SupervisorError> {
        let timeout = match self.in_flight {
            Some(since) => {
                let left = self.options.compile_timeout.saturating_sub(since.elapsed());
                PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX)
            }
            None => PollTimeout::NONE,
        };
        let mut fds = vec![PollFd::new(self.client.as_fd(), PollFlags::POLLIN)];
        if let Some(worker) = &self.worker {
            fds.push(PollFd::new(worker.sock.as_fd(), PollFlags::POLLIN));
        }
        loop {
            let ready = match poll(&mut fds, timeout) {
                Err(nix::Error::EINTR) => continue,
                other => other?,
            };
            let fired = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
            // The worker first: its answer completes the in-flight request.
            if fds.get(1).is_some_and(fired) {
                return Ok(Event::Worker);
            }
            if fired(&fds[0]) {
                return Ok(Event::Client);
            }
            if ready == 0 && self.in_flight.is_some() {
                return Ok(Event::Timeout);
            }
        }
    }

    fn answer(&self, response: &Response) -> Result<(), SupervisorError> {
        Ok(write_message(&self.client, response)?)
    }

    fn on_request(&mut self, request: Request) -> Result<(), SupervisorError> {
        if let Request::Free { code_offset } = request {
            if !self.arena.free(code_offset) {
                log::warn!("device freed {code_offset:#x}, which holds no kernel");
            }
            return Ok(());
        }
        if self.in_flight.is_some() {
            if self.pending.len() >= MAX_PENDING {
                return Err(SupervisorError::Flooded);
            }
            self.pending.push_back(request);
            return Ok(());
        }
        let allowed = self.options.allow_test_requests;
        match request {
            Request::Compile { ir } => self.dispatch(WorkerRequest::Compile { ir }),
            Request::LinkObjectForTest {
                object,
                scratch_size,
            } if allowed => self.dispatch(WorkerRequest::LinkObject {
                object,
                scratch_size,
            }),
            Request::StallWorker if allowed => {
                // No answer comes from a stalled worker; the next request finds it stuck.
                if let Some(worker) = &self.worker {
                    if let Err(e) = write_message(&worker.sock, &WorkerRequest::Stall) {
                        log::warn!("telling the worker to stall: {e}");
                    }
                }
                self.answer(&Response::Stalling)
            }
            Request::WorkerPid => match self.ensure_worker() {
                Ok(pid) => self.answer(&Response::WorkerPid { pid }),
                Err(message) => self.answer(&Response::Error { message }),
            },
            Request::StallWorker | Request::LinkObjectForTest { .. } => {
                self.answer(&Response::Error {
                    message: "test requests are not enabled (--allow-test-requests)".into(),
                })
            }
            Request::Free { .. } => Ok(()),
        }
    }

    /// Makes sure a worker runs (forking one if the last died); returns its pid.
    fn ensure_worker(&mut self) -> Result<u32, String> {
        if self.worker.is_none() {
            // SAFETY: the supervisor is single-threaded (`run`'s contract).
            let (worker, target) = unsafe { child::fork_worker(&mut self.arena, &self.options) }
                .map_err(|e| e.to_string())?;
            if target != self.target {
                log::warn!(
                    "new worker targets {target:?}, the device was told {:?}",
                    self.target
                );
            }
            self.worker = Some(worker);
        }
        let pid = self.worker.as_ref().map_or(0, |w| w.pid.as_raw());
        Ok(pid.unsigned_abs())
    }

    fn dispatch(&mut self, request: WorkerRequest) -> Result<(), SupervisorError> {
        if let Err(message) = self.ensure_worker() {
            return self.answer(&Response::Error {
                message: format!("no compile worker: {message}"),
            });
        }
        let sent = match &self.worker {
            Some(worker) => write_message(&worker.sock, &request),
            None => Ok(()),
        };
        self.in_flight = Some(Instant::now());
        if let Err(e) = sent {
            log::warn!("sending to the compile worker: {e}");
            return self.worker_lost(None);
        }
        Ok(())
    }

    fn on_worker_message(&mut self) -> Result<(), SupervisorError> {
        let Some(worker) = &self.worker else {
            return Ok(());
        };
        let message = match read_message::<WorkerMessage>(&worker.sock) {
            Ok(message) => message,
            Err(e) => {
                if !matches!(e, WireError::Closed) {
                    log::warn!("reading from the compile worker: {e}");
                }
                return self.worker_lost(None);
            }
        };
        if self.in_flight.is_none() {
            log::warn!("compile worker spoke out of turn; replacing it");
            return self.worker_lost(None);
        }
        let response = match message {
            WorkerMessage::Linked(blob) => match self.arena.place(&blob) {
                Ok(range) => Response::Compiled(range),
                Err(e) => Response::Error {
                    message: e.to_string(),
                },
            },
            WorkerMessage::Failed { message } => Response::Error { message },
            other => {
                log::warn!("compile worker sent {other:?} mid-compile; replacing it");
                return self.worker_lost(None);
            }
        };
        self.in_flight = None;
        self.answer(&response)?;
        self.drain_pending()
    }

    /// The worker died or misbehaved: reap it, fail the in-flight request, carry on with a
    /// new worker (forked on the next request that needs one).
    fn worker_lost(&mut self, reason: Option<String>) -> Result<(), SupervisorError> {
        let how = match self.worker.take() {
            Some(mut worker) => {
                let how = child::reap(&mut worker);
                log::warn!("compile worker {} died: {how}", worker.pid);
                how
            }
            None => "no worker was running".to_owned(),
        };
        if self.in_flight.take().is_some() {
            let message = reason.unwrap_or_else(|| format!("compile worker died: {how}"));
            self.answer(&Response::Error { message })?;
        }
        if let Err(message) = self.ensure_worker() {
            log::error!("restarting the compile worker: {message}");
        }
        self.drain_pending()
    }

    fn drain_pending(&mut self) -> Result<(), SupervisorError> {
        while self.in_flight.is_none() {
            let Some(request) = self.pending.pop_front() else {
                break;
            };
            self.on_request(request)?;
        }
        Ok(())
    }
}
