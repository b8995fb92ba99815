//! `jit-host --socket-fd N [options]`: the supervisor process (see `jit_host::supervisor`).
//! Started by the device with one end of a unix socketpair as fd N.
//!
//! Options (each limit also from the environment; the flag wins):
//! * `--allow-test-requests`: honour `StallWorker` and `LinkObjectForTest`.
//! * `--compile-timeout-ms MS` (`SOFTGPU_JIT_COMPILE_TIMEOUT_MS`, default 10 000): a compile
//!   running longer is killed and reported as "shader compile exceeded N s".
//! * `--worker-address-space-mib MIB` (`SOFTGPU_JIT_WORKER_AS_MIB`, default 2048): each compile
//!   worker's `RLIMIT_AS`.
//! * `--seccomp-violation kill|errno|log` (`SOFTGPU_JIT_SECCOMP_VIOLATION`, default `kill`):
//!   what a refused system call does;
//!   `errno` and `log` are for tests and for finding the syscalls a new LLVM needs.
//! * `--no-sandbox`: no MDWE and no seccomp filter. Debugging only; logs a loud warning.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::Duration;

use jit_host::sandbox::Violation;
use jit_host::supervisor::{self, Options};
use nix::sys::stat::{fstat, SFlag};

const USAGE: &str = "usage: jit-host --socket-fd N [--allow-test-requests] \
[--compile-timeout-ms MS] [--worker-address-space-mib MIB] \
[--seccomp-violation kill|errno|log] [--no-sandbox]";

const COMPILE_TIMEOUT_ENV: &str = "SOFTGPU_JIT_COMPILE_TIMEOUT_MS";
const ADDRESS_SPACE_ENV: &str = "SOFTGPU_JIT_WORKER_AS_MIB";
const VIOLATION_ENV: &str = "SOFTGPU_JIT_SECCOMP_VIOLATION";

/// Below this a worker cannot even start (libLLVM alone maps a few hundred MiB).
const MIN_ADDRESS_SPACE_MIB: u64 = 512;
/// Far beyond any real need; keeps the byte count from overflowing.
const MAX_ADDRESS_SPACE_MIB: u64 = 1 << 24;

fn usage(why: &str) -> ExitCode {
    eprintln!("jit-host: {why}\n{USAGE}");
    ExitCode::from(2)
}

fn compile_timeout(ms: &str) -> Option<Duration> {
    ms.parse::<u64>()
        .ok()
        .filter(|&ms| ms > 0)
        .map(Duration::from_millis)
}

fn address_space(mib: &str) -> Option<u64> {
    mib.parse::<u64>()
        .ok()
        .filter(|mib| (MIN_ADDRESS_SPACE_MIB..=MAX_ADDRESS_SPACE_MIB).contains(mib))
        .map(|mib| mib << 20)
}

/// Parses the command line (after the environment's defaults); `Err` is the usage complaint.
fn parse(mut args: impl Iterator<Item = String>) -> Result<(RawFd, Options), String> {
    let mut socket_fd: Option<RawFd> = None;
    let mut options = Options::default();
    if let Ok(ms) = std::env::var(COMPILE_TIMEOUT_ENV) {
        options.compile_timeout =
            compile_timeout(&ms).ok_or(format!("bad {COMPILE_TIMEOUT_ENV}={ms}"))?;
    }
    if let Ok(mib) = std::env::var(ADDRESS_SPACE_ENV) {
        options.worker_address_space =
            address_space(&mib).ok_or(format!("bad {ADDRESS_SPACE_ENV}={mib}"))?;
    }
    if let Ok(v) = std::env::var(VIOLATION_ENV) {
        options.sandbox = Some(v.parse().map_err(|e| format!("{VIOLATION_ENV}: {e}"))?);
    }
    let mut no_sandbox = false;
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--socket-fd" => {
                let n = value()?;
                socket_fd = Some(n.parse().map_err(|_| format!("bad fd {n}"))?);
            }
            "--allow-test-requests" => options.allow_test_requests = true,
            "--compile-timeout-ms" => {
                let ms = value()?;
                options.compile_timeout =
                    compile_timeout(&ms).ok_or(format!("bad compile timeout {ms}"))?;
            }
            "--worker-address-space-mib" => {
                let mib = value()?;
                options.worker_address_space = address_space(&mib).ok_or(format!(
                    "worker address space {mib} MiB is outside \
                     {MIN_ADDRESS_SPACE_MIB}..={MAX_ADDRESS_SPACE_MIB}"
                ))?;
            }
            "--seccomp-violation" => {
                let v: Violation = value()?.parse().map_err(|e| format!("{e}"))?;
                options.sandbox = Some(v);
            }
            "--no-sandbox" => no_sandbox = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if no_sandbox {
        options.sandbox = None;
    }
    let fd = socket_fd
        .filter(|&fd| fd > 2)
        .ok_or("--socket-fd N (N > 2) is required")?;
    Ok((fd, options))
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let (fd, options) = match parse(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(why) => return usage(&why),
    };
    if options.sandbox.is_none() {
        log::warn!(
            "!!! jit-host --no-sandbox: NO seccomp filter and NO MDWE — never in production !!!"
        );
    }
    let is_socket = fstat(fd)
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFSOCK);
    if !is_socket {
        log::error!("fd {fd} is not an open socket");
        return ExitCode::from(2);
    }
    // SAFETY: fd is open (fstat succeeded), is a socket, and was handed to this process by its
    // spawner for our exclusive use; nothing else in this process refers to it.
    let client = UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
    // SAFETY: called first thing in main; no thread has been started.
    match unsafe { supervisor::run(client, options) } {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("jit-host: {e}");
            ExitCode::FAILURE
        }
    }
}
