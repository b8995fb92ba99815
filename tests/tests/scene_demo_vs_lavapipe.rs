//! The graphics demo (`softgpu-scene-demo`) on softgpu and on lavapipe gives the same last
//! frame within a tolerance: lighting is computed in floats (FMA contraction may move a value
//! by one step) and a few silhouette pixels may round differently.
//! `SOFTGPU_E2E_REFERENCE_ONLY=1` runs the lavapipe side only; `SOFTGPU_E2E_DRIVER=lavapipe`
//! puts lavapipe on both sides. A missing lavapipe is a failure.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use softgpu_e2e::graphics::{compare, Picture};

const LAVAPIPE: &str = "/usr/share/vulkan/icd.d/lvp_icd.json";
/// Frames rendered per run: enough to exercise the per-frame path, quick on both drivers.
const FRAMES: &str = "5";
/// Per-channel tolerance and the most pixels allowed beyond it (of 480,000).
const TOLERANCE: u8 = 3;
const MAX_DIFFERING: usize = 400;

fn render(png: &Path, env: &[(String, String)], device: &str) {
    let out = Command::new(softgpu_e2e::target_dir().join("softgpu-scene-demo"))
        .arg(png)
        .arg(FRAMES)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo on {device} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("device:") && l.contains(device)),
        "expected a {device} device:\n{stdout}"
    );
    assert!(stdout.contains("frames per second"), "{stdout}");
}

#[test]
fn spinning_cubes_match_lavapipe() {
    assert!(
        Path::new(LAVAPIPE).exists(),
        "lavapipe is the reference: install mesa-vulkan-drivers (scripts/install-deps)"
    );
    let lvp_env = vec![
        ("VK_DRIVER_FILES".to_string(), LAVAPIPE.to_string()),
        ("VK_ICD_FILENAMES".to_string(), LAVAPIPE.to_string()),
        (
            "VK_LOADER_LAYERS_DISABLE".to_string(),
            "~explicit~".to_string(),
        ),
    ];
    let dir = softgpu_e2e::target_dir()
        .join("graphics-compare")
        .join("scene-demo");
    std::fs::create_dir_all(&dir).unwrap();
    let theirs = dir.join("lavapipe.png");
    render(&theirs, &lvp_env, "llvmpipe");
    let b = Picture::read_png(&theirs).unwrap();
    // Something was drawn: the background plus several lit faces of five flat-shaded cubes.
    assert!(
        b.distinct_colors() >= 8,
        "only {} colours",
        b.distinct_colors()
    );
    if std::env::var("SOFTGPU_E2E_REFERENCE_ONLY").is_ok_and(|v| v == "1") {
        return;
    }
    let ours = dir.join("softgpu.png");
    if common::reference_run() {
        render(&ours, &lvp_env, "llvmpipe");
    } else {
        render(&ours, common::env(), "softgpu");
    }
    let a = Picture::read_png(&ours).unwrap();
    let d = compare(&a, &b, TOLERANCE).unwrap();
    if d.differing > MAX_DIFFERING {
        let diff = dir.join("diff.png");
        d.diff.write_png(&diff).unwrap();
        panic!(
            "{} pixels differ by more than {TOLERANCE} (at most {MAX_DIFFERING} may; largest {}); \
             softgpu {}, lavapipe {}, diff {}",
            d.differing,
            d.max,
            ours.display(),
            theirs.display(),
            diff.display()
        );
    }
}
