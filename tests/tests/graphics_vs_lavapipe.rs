//! Every scene of `softgpu-scene` rendered on softgpu (loader → ICD → vhost-device → jit-host)
//! and on lavapipe, in the same test: both renderings must pass the scene's own check (the
//! binary exits non-zero otherwise), and every readback (colour, depth, stencil as 8-bit
//! pictures) must match lavapipe's within the stated per-channel tolerance, with at most the
//! stated number of differing pixels (edges where rasterization rules may round differently).
//! A failing comparison writes both PNGs and a diff image (red: beyond tolerance) under
//! `<target>/graphics-compare/<scene>/` and names them in the message.
//!
//! `SOFTGPU_E2E_REFERENCE_ONLY=1` renders the lavapipe side only and runs the scene checks
//! (to check the tests themselves while softgpu cannot render); `SOFTGPU_E2E_DRIVER=lavapipe`
//! puts lavapipe on both sides. A missing lavapipe is a failure.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use softgpu_e2e::graphics::{compare, Picture};

const LAVAPIPE: &str = "/usr/share/vulkan/icd.d/lvp_icd.json";

fn lavapipe_env() -> Vec<(String, String)> {
    assert!(
        Path::new(LAVAPIPE).exists(),
        "lavapipe is the reference: install mesa-vulkan-drivers (scripts/install-deps)"
    );
    vec![
        ("VK_DRIVER_FILES".into(), LAVAPIPE.into()),
        ("VK_ICD_FILENAMES".into(), LAVAPIPE.into()),
        ("VK_LOADER_LAYERS_DISABLE".into(), "~explicit~".into()),
    ]
}

fn reference_only() -> bool {
    std::env::var("SOFTGPU_E2E_REFERENCE_ONLY").is_ok_and(|v| v == "1")
}

/// Runs `softgpu-scene scene dir` with `env`; asserts success and that the loader picked a
/// device whose name contains `device`. Returns the PNGs written, sorted.
fn render(scene: &str, dir: &Path, env: &[(String, String)], device: &str) -> Vec<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    let out = Command::new(softgpu_e2e::target_dir().join("softgpu-scene"))
        .arg(scene)
        .arg(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{scene} on {device} failed (pictures in {}):\n{stdout}{stderr}",
        dir.display()
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("device:") && l.contains(device)),
        "{scene}: expected a {device} device:\n{stdout}"
    );
    let mut pngs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pngs.sort();
    assert!(!pngs.is_empty(), "{scene} on {device} wrote no pictures");
    pngs
}

/// Renders `scene` on both drivers and compares every picture: a pixel differs when a channel
/// is more than `tolerance` apart; at most `max_differing` pixels may differ per picture.
fn compare_scene(scene: &str, tolerance: u8, max_differing: usize) {
    let root = softgpu_e2e::target_dir()
        .join("graphics-compare")
        .join(scene);
    let theirs_dir = root.join("lavapipe");
    let theirs = render(scene, &theirs_dir, &lavapipe_env(), "llvmpipe");
    if reference_only() {
        return;
    }
    let (ours_env, ours_device) = if common::reference_run() {
        (lavapipe_env(), "llvmpipe")
    } else {
        (common::env().clone(), "softgpu")
    };
    let ours_dir = root.join("softgpu");
    let ours = render(scene, &ours_dir, &ours_env, ours_device);
    let names = |v: &[PathBuf]| -> Vec<String> {
        v.iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names(&ours), names(&theirs), "{scene}: different readbacks");
    let mut failures = Vec::new();
    for (a, b) in ours.iter().zip(&theirs) {
        let pa = Picture::read_png(a).unwrap();
        let pb = Picture::read_png(b).unwrap();
        let d = compare(&pa, &pb, tolerance).unwrap();
        if d.differing > max_differing {
            let diff = root.join(format!("diff-{}", a.file_name().unwrap().to_string_lossy()));
            d.diff.write_png(&diff).unwrap();
            failures.push(format!(
                "{}: {} pixels differ by more than {tolerance} (at most {max_differing} may; \
                 largest difference {}); softgpu {}, lavapipe {}, diff {}",
                a.file_name().unwrap().to_string_lossy(),
                d.differing,
                d.max,
                a.display(),
                b.display(),
                diff.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{scene}:\n{}", failures.join("\n"));
}

/// The fill convention: tied edges resolve the same way on both (top-left rule), exactly.
#[test]
fn triangle_fan_fill_matches_lavapipe() {
    compare_scene("triangle-fan-fill", 1, 0);
}

#[test]
fn cube_depth_matches_lavapipe() {
    compare_scene("cube-depth", 2, 64);
}

#[test]
fn alpha_blend_matches_lavapipe() {
    compare_scene("alpha-blend", 2, 0);
}

#[test]
fn stencil_mask_matches_lavapipe() {
    compare_scene("stencil-mask", 0, 16);
}

#[test]
fn flat_rectangles_match_lavapipe() {
    compare_scene("flat-rects", 2, 0);
}

#[test]
fn many_triangles_match_lavapipe() {
    compare_scene("many-triangles", 2, 200);
}

#[test]
fn clipping_matches_lavapipe() {
    compare_scene("clipping", 3, 64);
}

#[test]
fn instanced_matches_lavapipe() {
    compare_scene("instanced", 1, 0);
}

/// Line rasterization rules (diamond exit vs. strict parallelograms) may differ at endpoints.
#[test]
fn points_lines_match_lavapipe() {
    compare_scene("points-lines", 0, 40);
}

#[test]
fn multiple_targets_match_lavapipe() {
    compare_scene("multiple-targets", 1, 32);
}

#[test]
fn dynamic_rendering_matches_lavapipe() {
    compare_scene("dynamic-rendering", 0, 16);
}

#[test]
fn strips_fans_restart_match_lavapipe() {
    compare_scene("strips-fans-restart", 1, 32);
}

#[test]
fn indirect_matches_lavapipe() {
    compare_scene("indirect", 0, 0);
}

/// Issue 7: a 4×4 texture under every address mode with NEAREST and LINEAR filtering. Texel
/// boundaries under NEAREST may round either way where a pixel centre falls on one.
#[test]
fn texture_address_modes_and_filters_match_lavapipe() {
    compare_scene("texture-address-filter", 3, 64);
}

/// The same picture with coordinates from `FragCoord`: softgpu samples the covered blocks of
/// this copy shader itself (the copy kernel) instead of running it.
#[test]
fn texture_address_modes_from_fragcoord_match_lavapipe() {
    compare_scene("texture-address-filter-fragcoord", 3, 64);
}

/// Issue 7: trilinear mip selection on a receding plane. Drivers may approximate the LOD
/// (the spec allows ρ from either axis' maximum or the vector lengths, and an approximate
/// log2), and the level colours here are far apart, so a small LOD difference moves a
/// blended colour by several steps: softgpu and lavapipe differ by at most 10 of 255.
#[test]
fn texture_mip_selection_matches_lavapipe() {
    compare_scene("texture-mip-plane", 12, 64);
}

/// Issue 7: fine and coarse derivatives of known functions of the pixel position.
#[test]
fn derivatives_match_lavapipe() {
    compare_scene("texture-derivatives", 1, 0);
}

/// Issue 7: textureGather of each component of the palette texture.
#[test]
fn texture_gather_matches_lavapipe() {
    compare_scene("texture-gather", 1, 32);
}

/// Issue 7: seamless LINEAR cube-map filtering across every edge and corner of a 16×16
/// cube (corners are averages of three texels, which drivers may round differently).
#[test]
fn cube_seams_match_lavapipe() {
    compare_scene("cube-seams", 3, 40);
}

/// Issue 7: depth-compare sampling with LINEAR filtering (percentage-closer filtering of
/// four compare results; drivers may weight the four in fixed point).
#[test]
fn depth_compare_sampling_matches_lavapipe() {
    compare_scene("texture-depth-compare", 4, 32);
}

/// Issue 7: uniform and storage texel buffers read in a fragment shader.
#[test]
fn texel_buffers_match_lavapipe() {
    compare_scene("texel-buffers", 1, 0);
}

/// Issue 7: a storage image written by a compute shader, read texel for texel by a fragment
/// shader.
#[test]
fn storage_image_from_compute_matches_lavapipe() {
    compare_scene("storage-image-compute-to-fragment", 1, 0);
}

/// Issue 7: input attachments across two subpasses.
#[test]
fn input_attachments_match_lavapipe() {
    compare_scene("input-attachments", 1, 0);
}

/// Issue 7: vkCmdBlitImage between every pair of blit-compatible colour formats (LINEAR ×2
/// scaling among float-valued formats, NEAREST among integer ones). Drivers may filter in
/// fixed point and round conversions either way, so values may differ by a couple of steps.
#[test]
fn blits_between_every_format_pair_match_lavapipe() {
    compare_scene("blit-formats", 3, 0);
}

/// Issue 7: storage images declared without a format, written and read as RGBA8_UNORM,
/// RGBA16_SFLOAT and R32_UINT (shaderStorageImage{Read,Write}WithoutFormat).
#[test]
fn unformatted_storage_images_match_lavapipe() {
    compare_scene("storage-image-unformatted", 1, 0);
}

/// Issue 7: a two-cube array sampled with implicit LOD across every edge and corner of both
/// cubes (corners are averages of three texels, which drivers may round differently).
#[test]
fn cube_array_sampling_matches_lavapipe() {
    compare_scene("cube-array-sample", 3, 80);
}

/// Issue 7: a two-cube array sampled at explicit LOD 0, 0.5 and 1 (LINEAR between levels).
#[test]
fn cube_array_explicit_lod_matches_lavapipe() {
    compare_scene("cube-array-lod", 3, 80);
}

/// Issue 7: gathers of red and blue from a two-cube array across every edge. A pixel centre
/// on a texel boundary may gather either side's texels.
#[test]
fn cube_array_gather_matches_lavapipe() {
    compare_scene("cube-array-gather", 1, 120);
}

/// Every scene the binary knows has a test above.
#[test]
fn every_scene_is_compared() {
    let source = include_str!("graphics_vs_lavapipe.rs");
    for s in softgpu_e2e::scenes::SCENES {
        assert!(
            source.contains(&format!("compare_scene(\"{}\"", s.name)),
            "scene {} has no comparison test",
            s.name
        );
    }
}
