//! DESIGN §2: the guest-facing process never links LLVM. Checked on the built binary, not the
//! crate graph (cargo unifies features across a workspace build).
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn vhost_device_binary_has_no_llvm() {
    let device = softgpu_e2e::target_dir().join("vhost-device");
    assert!(
        device.exists(),
        "{} missing: build the workspace first",
        device.display()
    );
    let dynamic = Command::new("readelf")
        .arg("-d")
        .arg(&device)
        .output()
        .unwrap();
    assert!(dynamic.status.success());
    let dynamic = String::from_utf8_lossy(&dynamic.stdout);
    assert!(
        dynamic.contains("NEEDED"),
        "readelf gave no dependencies:\n{dynamic}"
    );
    assert!(
        !dynamic.contains("LLVM"),
        "vhost-device links LLVM:\n{dynamic}"
    );

    let symbols = Command::new("nm").arg("-C").arg(&device).output().unwrap();
    assert!(symbols.status.success());
    let symbols = String::from_utf8_lossy(&symbols.stdout);
    assert!(
        symbols.lines().count() > 1000,
        "nm found too few symbols to judge"
    );
    let llvm: Vec<&str> = symbols
        .lines()
        .filter(|l| l.contains("llvm::") || l.contains("LLVMCreate") || l.contains("inkwell"))
        .take(5)
        .collect();
    assert!(llvm.is_empty(), "LLVM symbols in vhost-device: {llvm:?}");
}
