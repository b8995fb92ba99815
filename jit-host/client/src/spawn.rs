//! Finding and starting the jit-host binary.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

use crate::ClientError;

/// Environment variable naming the jit-host binary.
pub const JIT_HOST_ENV: &str = "SOFTGPU_JIT_HOST";

const BINARY_NAME: &str = "jit-host";

/// Picks the binary: `explicit`, else `$SOFTGPU_JIT_HOST`, else `jit-host` next to the current
/// executable, else in its parent directory (cargo puts test binaries in `deps/`).
pub(crate) fn locate(explicit: Option<&Path>) -> Result<PathBuf, ClientError> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    if let Some(path) = std::env::var_os(JIT_HOST_ENV) {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().map_err(ClientError::Spawn)?;
    let dir = exe.parent();
    let candidates = [
        dir.map(|d| d.join(BINARY_NAME)),
        dir.and_then(Path::parent).map(|d| d.join(BINARY_NAME)),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            ClientError::NotFound(format!(
                "no {BINARY_NAME} next to {}; set {JIT_HOST_ENV}",
                exe.display()
            ))
        })
}

/// Starts jit-host with one end of a fresh socketpair; returns the process and our end.
pub(crate) fn start(
    path: &Path,
    allow_test_requests: bool,
) -> Result<(Child, UnixStream), ClientError> {
    let (ours, theirs): (OwnedFd, OwnedFd) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| ClientError::Spawn(e.into()))?;
    let child_fd = theirs.as_raw_fd();
    let mut cmd = Command::new(path);
    cmd.arg("--socket-fd")
        .arg(child_fd.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if allow_test_requests {
        cmd.arg("--allow-test-requests");
    }
    let keep_socket = move || {
        // Our end stays close-on-exec; only jit-host's end survives the exec.
        // SAFETY: F_SETFD on a descriptor number only changes its flags.
        if unsafe { libc::fcntl(child_fd, libc::F_SETFD, 0) } == -1 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    };
    // SAFETY: the closure runs in the forked child before exec and only calls fcntl, which is
    // async-signal-safe; it allocates nothing and takes no locks.
    unsafe { cmd.pre_exec(keep_socket) };
    let child = cmd.spawn().map_err(ClientError::Spawn)?;
    drop(theirs);
    Ok((child, UnixStream::from(ours)))
}
