//! The real `vhost-device` binary, locked down, with a real jit-host: serves frontends one
//! after another on one listener, releases each one's descriptors, and `--embedded` exits
//! when its one frontend goes. Needs a built jit-host (this crate never builds LLVM):
//! `$SOFTGPU_JIT_HOST`, else `jit-host` in this test's `target/<profile>` (scripts/test builds it).

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

mod common;

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{request, resp_type, Vmm};
use protocol::Capset;
use virtio_bindings::virtio_gpu as vg;

fn jit_host() -> PathBuf {
    if let Some(p) = std::env::var_os("SOFTGPU_JIT_HOST") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("jit-host");
    assert!(
        path.exists(),
        "{} not found: build the workspace first (scripts/test does) or set SOFTGPU_JIT_HOST",
        path.display()
    );
    path
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("softgpu-dev-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Processes whose parent is `pid` (jit-host's supervisor, for the device).
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // Fields after the parenthesised command name: state, ppid, ...
        let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
        if after.split_whitespace().nth(1) == Some(&pid.to_string()) {
            out.push(child);
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s[s.rfind(')').map_or(0, |i| i + 1)..]
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The code arena's memfd name as jit-host creates it (`jit-host/src/arena.rs`).
const ARENA: &str = "/memfd:softgpu-code-arena (deleted)";

/// DESIGN §5's invariants, read from outside: seccomp on (MDWE first, then our two filters),
/// no writable+executable mapping, and nothing executable but the device's binary, shared
/// libraries, the kernel's vdso/vsyscall and the one arena mapping (shared, read+execute).
fn check_sandbox(pid: u32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name} in\n{status}"))
            .to_owned()
    };
    assert_eq!(field("Seccomp:"), "2", "filter mode");
    let filters: u32 = field("Seccomp_filters:").parse().unwrap();
    assert!(
        filters >= 3,
        "the two answer filters (ENOSYS, EACCES) and the allow-list: {filters}"
    );
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    let exe = exe.to_str().unwrap();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut arena = 0;
    for line in maps.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let perms = f[1];
        assert!(
            !(perms.contains('w') && perms.contains('x')),
            "W+X mapping: {line}"
        );
        if !perms.contains('x') {
            continue;
        }
        let path = f.get(5..).map(|p| p.join(" ")).unwrap_or_default();
        let file_name = path.rsplit('/').next().unwrap_or("");
        if path == ARENA {
            assert_eq!(
                perms, "r-xs",
                "the arena is a shared read+execute view: {line}"
            );
            arena += 1;
        } else {
            assert!(
                path == exe
                    || path == "[vdso]"
                    || path == "[vsyscall]"
                    || (path.starts_with('/') && (file_name.ends_with(".so") || file_name.contains(".so."))),
                "executable mapping that is not the binary, a library, the vdso or the arena: {line}\n{maps}"
            );
        }
    }
    assert_eq!(arena, 1, "exactly one arena mapping:\n{maps}");
}

struct Device(Child);

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str], log: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vhost-device"));
    c.args(args)
        .arg("--jit-host")
        .arg(jit_host())
        .arg("-vv")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    c
}

fn session(vmm: &mut Vmm) {
    // QEMU's display socket arrives first (DRIVER_OK); the locked-down device must take it
    // (the vhost crate checks its SO_DOMAIN) and go on serving.
    let (display, _qemu_side) = std::os::unix::net::UnixStream::pair().unwrap();
    vmm.set_gpu_socket(&display);
    drop(display);
    let r = vmm.request(&request(
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_CAPSET,
        0,
        0,
        0,
        &[24, 1],
    ));
    let capset = Capset::decode(&r[24..]).unwrap();
    assert!([4, 8, 16].contains(&capset.subgroup_size), "{capset:?}");
    let r = vmm.request(&request(
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE,
        0,
        0,
        1,
        &[0; 18],
    ));
    assert_eq!(
        resp_type(&r),
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_NODATA
    );
    let create = [1, 0, 0, 0, 4096, 1, 1, 1, 0, 0, 0, 0];
    vmm.request(&request(
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_3D,
        0,
        0,
        1,
        &create,
    ));
    let attach = [1, 1, 0x40_0000, 0, 4096, 0];
    let r = vmm.request(&request(
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
        0,
        0,
        0,
        &attach,
    ));
    assert_eq!(
        resp_type(&r),
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_NODATA
    );
    // A malformed stream reaches the Vulkan executor and comes back as an error response.
    let mut submit = request(
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SUBMIT_3D,
        vg::VIRTIO_GPU_FLAG_FENCE,
        7,
        1,
        &[3, 0],
    );
    submit.extend([0xff, 0xff, 0xff]);
    let r = vmm.request(&submit);
    assert_eq!(
        resp_type(&r),
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER
    );
    assert_eq!(&r[8..16], &7u64.to_le_bytes());
}

#[test]
fn locked_down_device_serves_frontends_one_after_another() {
    let dir = scratch("bin");
    let sock = dir.join("gpu.sock");
    let sock_arg = sock.to_str().unwrap().to_owned();
    let dev = Device(
        spawn(&["--socket-path", &sock_arg], &dir.join("device.log"))
            .spawn()
            .unwrap(),
    );
    let pid = dev.0.id();
    wait_for("the socket", || sock.exists());
    check_sandbox(pid);
    let baseline = fd_count(pid);
    for _ in 0..2 {
        let mut vmm = Vmm::connect(&sock);
        session(&mut vmm);
        drop(vmm);
        wait_for("descriptors back to baseline", || fd_count(pid) == baseline);
    }
    check_sandbox(pid);
    let log = std::fs::read_to_string(dir.join("device.log")).unwrap();
    assert!(log.contains("locked down"), "{log}");
    // After each session the device says what its contexts still hold (scripts/vm-test reads
    // this line): nothing.
    let live = "live after the session: objects 0 descriptors 0 host_bytes 0 compiles 0";
    assert_eq!(log.matches(live).count(), 2, "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn embedded_device_exits_when_its_frontend_goes() {
    let dir = scratch("emb");
    let sock = dir.join("gpu.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let fd = listener.as_raw_fd();
    let listener_link = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .unwrap()
        .display()
        .to_string();
    // Let exactly this descriptor through exec.
    nix::fcntl::fcntl(
        fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .unwrap();
    let mut dev = Device(
        spawn(&["--embedded", &fd.to_string()], &dir.join("device.log"))
            .spawn()
            .unwrap(),
    );
    drop(listener);
    let mut vmm = Vmm::connect(&sock);
    session(&mut vmm);
    let helpers = children(dev.0.id());
    assert!(!helpers.is_empty(), "jit-host runs as the device's child");
    for &h in &helpers {
        // The inherited listener stays in the device: jit-host never holds it.
        let fds = std::fs::read_dir(format!("/proc/{h}/fd"))
            .unwrap()
            .flatten();
        let links: Vec<String> = fds
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .map(|p| p.display().to_string())
            .collect();
        assert!(
            !links.contains(&listener_link),
            "jit-host {h} holds the device's listener: {links:?}"
        );
    }
    drop(vmm);
    let mut status = None;
    wait_for("the device to exit", || {
        status = dev.0.try_wait().unwrap();
        status.is_some()
    });
    assert!(
        status.unwrap().success(),
        "{}",
        std::fs::read_to_string(dir.join("device.log")).unwrap()
    );
    wait_for("jit-host to be gone too", || {
        !helpers.iter().any(|&p| alive(p))
    });
    let _ = std::fs::remove_dir_all(&dir);
}
