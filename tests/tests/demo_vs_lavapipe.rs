//! The demo program on softgpu and on lavapipe (the reference) gives the same picture, within
//! a tolerance: float differences (FMA contraction, transcendental precision) can move the
//! escape iteration of pixels right at the set's boundary, nothing more.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

const LAVAPIPE: &str = "/usr/share/vulkan/icd.d/lvp_icd.json";

fn render(png: &Path, env: &[(String, String)]) {
    let out = Command::new(softgpu_e2e::target_dir().join("softgpu-demo"))
        .arg(png)
        // The whole set at 64 iterations: most pixels escape early, so only pixels right at
        // the boundary are sensitive to float differences (a deep zoom is chaotic everywhere).
        .args(["320", "200", "64", "-0.6", "0.0", "3.2"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "demo failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn decode(png: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(png).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn demo_picture_matches_lavapipe() {
    if common::reference_run() || !Path::new(LAVAPIPE).exists() {
        assert!(
            common::reference_run(),
            "lavapipe is the reference: install mesa-vulkan-drivers (scripts/install-deps)"
        );
        return;
    }
    let dir = common::work_dir();
    let ours = dir.join("demo-softgpu.png");
    let theirs = dir.join("demo-lavapipe.png");
    render(&ours, common::env());
    let lvp_env = vec![
        ("VK_DRIVER_FILES".to_string(), LAVAPIPE.to_string()),
        ("VK_ICD_FILENAMES".to_string(), LAVAPIPE.to_string()),
        (
            "VK_LOADER_LAYERS_DISABLE".to_string(),
            "~explicit~".to_string(),
        ),
    ];
    render(&theirs, &lvp_env);
    let (w, h, a) = decode(&ours);
    let (w2, h2, b) = decode(&theirs);
    assert_eq!((w, h), (w2, h2));
    let pixels = (w * h) as usize;
    let mut far = 0;
    let mut max_diff = 0u8;
    for (pa, pb) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        let d = pa
            .iter()
            .zip(pb)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap();
        max_diff = max_diff.max(d);
        if d > 4 {
            far += 1;
        }
    }
    // The picture is not trivially uniform: both drivers drew the same structure.
    let distinct: std::collections::HashSet<&[u8]> = a.chunks_exact(4).collect();
    assert!(
        distinct.len() > 100,
        "only {} colours: nothing was drawn",
        distinct.len()
    );
    assert!(
        far * 100 < pixels,
        "{far} of {pixels} pixels differ from lavapipe by more than 4 (max {max_diff}); see {} and {}",
        ours.display(),
        theirs.display()
    );
}
