//! The embedded default device: at first need, bind a listener in a private directory and
//! start `vhost-device --embedded 3` on it with `posix_spawn` — never a fork of the app, no
//! inherited descriptor but the listener, output to a log file rather than the app's pipes.
//! The device serves our one connection and exits when it closes; dropping
//! [`EmbeddedDevice`] (after the connection) reaps it and removes the directory.

use std::ffi::{CStr, CString, OsStr};
use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::transport::TransportError;

/// The fd the device inherits its listener on.
const LISTENER_FD: i32 = 3;

#[derive(Debug)]
pub struct EmbeddedDevice {
    pid: libc::pid_t,
    dir: PathBuf,
    log: PathBuf,
}

fn unavailable(what: impl std::fmt::Display) -> TransportError {
    TransportError::Unavailable(format!("embedded vhost-device: {what}"))
}

impl EmbeddedDevice {
    /// Starts the device and connects to it.
    pub fn start() -> Result<(EmbeddedDevice, UnixStream), TransportError> {
        let binary = device_binary()?;
        let dir = private_dir()?;
        let log_dir = std::env::var_os("SOFTGPU_LOG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.clone());
        let log = log_dir.join("device.log");
        let result = Self::spawn_in(&binary, &dir, &log);
        match result {
            Ok((pid, stream)) => Ok((EmbeddedDevice { pid, dir, log }, stream)),
            Err(e) => {
                remove_private_dir(&dir);
                Err(e)
            }
        }
    }

    fn spawn_in(
        binary: &Path,
        dir: &Path,
        log: &Path,
    ) -> Result<(libc::pid_t, UnixStream), TransportError> {
        let socket = dir.join("device.sock");
        let listener = UnixListener::bind(&socket)
            .map_err(|e| unavailable(format!("bind {}: {e}", socket.display())))?;
        let log_file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(log)
            .map_err(|e| unavailable(format!("open {}: {e}", log.display())))?;
        // Move both above the fds the child's file actions write (0–3), so no dup2 there can
        // clobber the other's source, and dup2 onto 3 always clears close-on-exec.
        let listener_fd = dup_high(&listener)?;
        let log_fd = dup_high(&log_file)?;
        let pid = spawn(binary, listener_fd.as_raw_fd(), log_fd.as_raw_fd())?;
        drop((listener, listener_fd, log_fd, log_file));
        // The device holds the listening socket; the connection queues in its backlog even
        // if it has not reached accept() yet.
        match UnixStream::connect(&socket) {
            Ok(stream) => {
                // The path is no longer needed by anyone.
                let _ = std::fs::remove_file(&socket);
                Ok((pid, stream))
            }
            Err(e) => {
                reap(pid, Duration::from_millis(100));
                Err(unavailable(format!("connect {}: {e}", socket.display())))
            }
        }
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }
}

impl Drop for EmbeddedDevice {
    fn drop(&mut self) {
        // The connection is closed by now (it is dropped first): the device exits by itself.
        let clean = reap(self.pid, Duration::from_secs(2));
        if clean {
            remove_private_dir(&self.dir);
        } else {
            log::error!(
                "embedded vhost-device did not exit cleanly; its log: {}",
                self.log.display()
            );
        }
    }
}

/// Waits up to `grace` for `pid` to exit, then kills it. True if it exited with status 0.
fn reap(pid: libc::pid_t, grace: Duration) -> bool {
    let deadline = Instant::now() + grace;
    let mut status = 0;
    loop {
        // SAFETY: waitpid on our own child with a valid status pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            return libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        }
        if rc < 0 {
            return false;
        }
        if Instant::now() >= deadline {
            // SAFETY: `pid` is our child and not yet reaped (waitpid returned 0), so the id
            // cannot have been reused by another process.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // SAFETY: as above; blocking wait for the child we just killed.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn remove_private_dir(dir: &Path) {
    for name in ["device.sock", "device.log"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let _ = std::fs::remove_dir(dir);
}

fn dup_high(fd: &impl AsRawFd) -> Result<OwnedFd, TransportError> {
    // SAFETY: F_DUPFD_CLOEXEC on a valid fd; the result is a new fd we own.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if new < 0 {
        return Err(unavailable(format!(
            "dup: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: `new` is a fresh fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// A directory only we can use: `mkdtemp` under `$XDG_RUNTIME_DIR` or `/tmp` (mode 0700).
fn private_dir() -> Result<PathBuf, TransportError> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    let template = base.join("softgpu-XXXXXX");
    let mut bytes = template.as_os_str().as_bytes().to_vec();
    bytes.push(0);
    // SAFETY: `bytes` is a NUL-terminated, writable template ending in XXXXXX, as mkdtemp
    // requires; it writes only inside it.
    let p = unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) };
    if p.is_null() {
        return Err(unavailable(format!(
            "mkdtemp in {}: {}",
            base.display(),
            std::io::Error::last_os_error()
        )));
    }
    bytes.pop();
    Ok(PathBuf::from(OsStr::from_bytes(&bytes)))
}

/// `SOFTGPU_DEVICE`, else `vhost-device` beside the shared object this code is in.
fn device_binary() -> Result<PathBuf, TransportError> {
    if let Some(p) = std::env::var_os("SOFTGPU_DEVICE") {
        return Ok(PathBuf::from(p));
    }
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    // SAFETY: dladdr reads the address of one of our functions and fills `info`.
    let rc = unsafe { libc::dladdr(device_binary as *const libc::c_void, info.as_mut_ptr()) };
    // SAFETY: `info` was zero-initialized (all-null pointers are valid) and dladdr filled it.
    let info = unsafe { info.assume_init() };
    if rc == 0 || info.dli_fname.is_null() {
        return Err(unavailable(
            "cannot find our own shared object (dladdr); set SOFTGPU_DEVICE",
        ));
    }
    // SAFETY: dli_fname is a NUL-terminated string owned by the dynamic loader, valid while
    // this object is loaded (which it is: we are running its code).
    let own = PathBuf::from(OsStr::from_bytes(
        unsafe { CStr::from_ptr(info.dli_fname) }.to_bytes(),
    ));
    let own = std::fs::canonicalize(&own).unwrap_or(own);
    let binary = own
        .parent()
        .map(|d| d.join("vhost-device"))
        .unwrap_or_default();
    if !binary.is_file() {
        return Err(unavailable(format!(
            "no device binary at {} (set SOFTGPU_DEVICE)",
            binary.display()
        )));
    }
    Ok(binary)
}

fn cstring(b: &[u8]) -> Result<CString, TransportError> {
    CString::new(b).map_err(|_| unavailable("a path or variable contains a NUL byte"))
}

/// posix_spawn with: listener → fd 3, stdin ← /dev/null, stdout/stderr → log, nothing else.
fn spawn(binary: &Path, listener_fd: i32, log_fd: i32) -> Result<libc::pid_t, TransportError> {
    let path = cstring(binary.as_os_str().as_bytes())?;
    let argv_owned = [
        path.clone(),
        cstring(b"--embedded")?,
        cstring(LISTENER_FD.to_string().as_bytes())?,
    ];
    let env_owned: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    let mut argv: Vec<*mut libc::c_char> =
        argv_owned.iter().map(|s| s.as_ptr().cast_mut()).collect();
    argv.push(std::ptr::null_mut());
    let mut envp: Vec<*mut libc::c_char> =
        env_owned.iter().map(|s| s.as_ptr().cast_mut()).collect();
    envp.push(std::ptr::null_mut());

    let mut actions = SpawnActions::new()?;
    let fa = actions.as_mut_ptr();
    let check = |rc: i32, what: &str| {
        if rc == 0 {
            Ok(())
        } else {
            Err(unavailable(format!(
                "{what}: {}",
                std::io::Error::from_raw_os_error(rc)
            )))
        }
    };
    // Each call below: `fa` is an initialized file-actions object owned by `actions`, the fds
    // are valid in this process and "/dev/null" is NUL-terminated.
    // SAFETY: see above.
    let rc = unsafe { libc::posix_spawn_file_actions_adddup2(fa, log_fd, 1) };
    check(rc, "adddup2 stdout")?;
    // SAFETY: see above.
    let rc = unsafe { libc::posix_spawn_file_actions_adddup2(fa, log_fd, 2) };
    check(rc, "adddup2 stderr")?;
    // SAFETY: see above.
    let rc = unsafe { libc::posix_spawn_file_actions_adddup2(fa, listener_fd, LISTENER_FD) };
    check(rc, "adddup2 listener")?;
    // SAFETY: see above.
    let rc = unsafe {
        libc::posix_spawn_file_actions_addopen(fa, 0, c"/dev/null".as_ptr(), libc::O_RDONLY, 0)
    };
    check(rc, "addopen /dev/null")?;
    // SAFETY: see above (glibc >= 2.34 has closefrom_np).
    let rc = unsafe { libc::posix_spawn_file_actions_addclosefrom_np(fa, LISTENER_FD + 1) };
    check(rc, "addclosefrom")?;

    let mut pid: libc::pid_t = 0;
    // SAFETY: `path`, `argv` and `envp` are NUL-terminated arrays of valid C strings that
    // outlive the call; `fa` is initialized; a null attribute pointer means defaults.
    let rc = unsafe {
        libc::posix_spawn(
            &mut pid,
            path.as_ptr(),
            fa,
            std::ptr::null(),
            argv.as_ptr(),
            envp.as_ptr(),
        )
    };
    check(rc, &format!("posix_spawn {}", binary.display()))?;
    Ok(pid)
}

/// An initialized `posix_spawn_file_actions_t`, destroyed on drop.
struct SpawnActions(Box<std::mem::MaybeUninit<libc::posix_spawn_file_actions_t>>);

impl SpawnActions {
    fn new() -> Result<SpawnActions, TransportError> {
        let mut fa = Box::new(std::mem::MaybeUninit::uninit());
        // SAFETY: init writes a fresh file-actions object into our (heap-stable) storage.
        let rc = unsafe { libc::posix_spawn_file_actions_init(fa.as_mut_ptr()) };
        if rc != 0 {
            return Err(unavailable("posix_spawn_file_actions_init failed"));
        }
        Ok(SpawnActions(fa))
    }

    fn as_mut_ptr(&mut self) -> *mut libc::posix_spawn_file_actions_t {
        self.0.as_mut_ptr()
    }
}

impl Drop for SpawnActions {
    fn drop(&mut self) {
        // SAFETY: initialized in `new`, destroyed exactly once here.
        unsafe { libc::posix_spawn_file_actions_destroy(self.0.as_mut_ptr()) };
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::Read;

    /// A stand-in device (a shell script) reports its arguments and open fds into the log.
    #[test]
    fn child_gets_only_the_listener_and_log_and_its_output_goes_to_the_log() {
        let dir = private_dir().unwrap();
        let script = dir.join("fake-device");
        std::fs::write(&script, "#!/bin/sh\necho args:$1,$2\nls /proc/self/fd | sort -n | tr '\\n' ' '\necho\nread x || echo stdin-eof\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let log = dir.join("device.log");
        let (pid, _stream) = EmbeddedDevice::spawn_in(&script, &dir, &log).unwrap();
        assert!(reap(pid, Duration::from_secs(10)), "fake device failed");
        let mut out = String::new();
        File::open(&log).unwrap().read_to_string(&mut out).unwrap();
        assert!(out.contains("args:--embedded,3"), "{out}");
        // fds of `ls` itself: 0 1 2 3 plus the one it opens for /proc/self/fd.
        let fds: Vec<u32> = out
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(&fds[..4], &[0, 1, 2, 3], "{out}");
        assert!(fds.len() <= 5, "child inherited extra fds: {out}");
        assert!(out.contains("stdin-eof"), "stdin is not /dev/null: {out}");
        remove_private_dir(&dir);
        let _ = std::fs::remove_file(&script);
        let _ = std::fs::remove_dir(&dir);
    }

    #[test]
    fn private_dir_is_mode_0700() {
        use std::os::unix::fs::PermissionsExt;
        let dir = private_dir().unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        std::fs::remove_dir(&dir).unwrap();
        assert_eq!(mode, 0o700);
    }
}
