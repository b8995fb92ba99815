//! Third-party judges: Debian's `vulkaninfo` loads our ICD through the real loader.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

#[test]
fn vulkaninfo_shows_the_softgpu_device() {
    if common::reference_run() {
        return;
    }
    let out = Command::new("vulkaninfo")
        .arg("--summary")
        .envs(common::env().iter().map(|(k, v)| (k, v)))
        .output()
        .expect("vulkaninfo (Debian vulkan-tools) must be installed: scripts/install-deps");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "vulkaninfo failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("softgpu"),
        "no softgpu device in:\n{stdout}"
    );
    assert!(
        stdout.contains("PHYSICAL_DEVICE_TYPE_CPU"),
        "device type:\n{stdout}"
    );
}
