//! `jit-host --socket-fd N [--allow-test-requests]`: the supervisor process (see
//! `jit_host::supervisor`). Started by the device with one end of a unix socketpair as fd N.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use jit_host::supervisor::{self, Options};
use nix::sys::stat::{fstat, SFlag};

fn usage() -> ExitCode {
    eprintln!("usage: jit-host --socket-fd N [--allow-test-requests]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let mut socket_fd: Option<RawFd> = None;
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--socket-fd" => match args.next().and_then(|n| n.parse().ok()) {
                Some(fd) => socket_fd = Some(fd),
                None => return usage(),
            },
            "--allow-test-requests" => options.allow_test_requests = true,
            _ => return usage(),
        }
    }
    let Some(fd) = socket_fd.filter(|&fd| fd > 2) else {
        return usage();
    };
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
