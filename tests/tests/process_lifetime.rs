//! The embedded default leaves nothing behind: once a program that used softgpu exits, no
//! vhost-device or jit-host process of this build is left.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Pids of running processes whose executable is `exe`.
fn processes_running(exe: &Path) -> Vec<u32> {
    let exe = exe.canonicalize().unwrap_or_else(|_| exe.to_path_buf());
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(target) = std::fs::read_link(entry.path().join("exe")) {
            if target == exe {
                pids.push(pid);
            }
        }
    }
    pids
}

#[test]
fn no_softgpu_process_outlives_the_program() {
    if common::reference_run() {
        return;
    }
    let target = softgpu_e2e::target_dir();
    let demo = target.join("softgpu-demo");
    assert!(
        demo.exists(),
        "{} missing: build the workspace first",
        demo.display()
    );
    let device: PathBuf = target.join("vhost-device");
    let jit: PathBuf = target.join("jit-host");
    let before = (
        processes_running(&device).len(),
        processes_running(&jit).len(),
    );

    let png = common::work_dir().join("lifetime.png");
    let out = Command::new(&demo)
        .arg(&png)
        .args(["64", "48"])
        .envs(common::env().iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "demo failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("softgpu"));
    assert!(png.exists());

    // The device notices the closed connection and exits; jit-host follows its device.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = (
            processes_running(&device).len(),
            processes_running(&jit).len(),
        );
        if now.0 <= before.0 && now.1 <= before.1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: {now:?} (before: {before:?})"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
