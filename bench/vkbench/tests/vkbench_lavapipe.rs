//! softgpu-vkbench end to end on lavapipe (a project dependency, see scripts/install-deps):
//! every workload at the small `--quick` sizes, through the real Vulkan loader, with its
//! results checked against the CPU by the program itself (the raster workloads: every pixel
//! of a 200×120 target).

use std::process::Command;

const LAVAPIPE_ICD: &str = "/usr/share/vulkan/icd.d/lvp_icd.json";
const WORKLOADS: [&str; 12] = [
    "saxpy",
    "sgemm-naive",
    "sgemm-tiled",
    "reduction",
    "pipeline-latency",
    "blend-fullscreen",
    "opaque-fullscreen",
    "tris-8px",
    "tris-128px",
    "graphics-pipeline-latency",
    "bilinear-fullscreen",
    "trilinear-fullscreen",
];

fn vkbench(args: &[&str]) -> std::process::Output {
    assert!(
        std::path::Path::new(LAVAPIPE_ICD).is_file(),
        "{LAVAPIPE_ICD} missing: install mesa-vulkan-drivers (scripts/install-deps)"
    );
    Command::new(env!("CARGO_BIN_EXE_softgpu-vkbench"))
        .args(args)
        .env("VK_DRIVER_FILES", LAVAPIPE_ICD)
        .env("VK_LOADER_LAYERS_DISABLE", "~explicit~")
        .output()
        .expect("running softgpu-vkbench")
}

#[test]
fn every_workload_verifies_and_reports_one_tab_line_on_lavapipe() {
    let out = vkbench(&["--quick", "--runs", "2"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f.len() == 4)
        .collect();
    let names: Vec<&str> = lines.iter().map(|f| f[0]).collect();
    assert_eq!(names, WORKLOADS);
    for f in &lines {
        let median: f64 = f[1].parse().unwrap_or(f64::NAN);
        assert!(median > 0.0 && median.is_finite(), "{f:?}");
        assert!(f[3].contains("llvmpipe"), "device name {:?}", f[3]);
    }
}

#[test]
fn json_output_names_the_device_and_each_selected_workload() {
    let out = vkbench(&[
        "--quick",
        "--runs",
        "1",
        "--json",
        "--only",
        "reduction,pipeline-latency",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("{\"device\":\"llvmpipe"), "{stdout}");
    assert!(stdout.contains("\"workload\":\"reduction\""), "{stdout}");
    assert!(stdout.contains("\"create_only_ms\":"), "{stdout}");
    assert!(!stdout.contains("\"workload\":\"saxpy\""), "{stdout}");
}

#[test]
fn an_unknown_workload_is_a_usage_error() {
    let out = vkbench(&["--only", "fft"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown workload"));
}

#[test]
fn reduction_split_into_many_bindings_still_sums_correctly() {
    // 1M+5 elements in bindings of at most 1 MiB: five first-pass dispatches.
    let out = vkbench(&[
        "--quick",
        "--runs",
        "1",
        "--only",
        "reduction",
        "--max-binding-bytes",
        "1048576",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("reduction\t"), "{stdout}");
}

#[test]
fn graphics_workloads_report_their_units_and_latency_notes_in_json() {
    let out = vkbench(&[
        "--quick",
        "--runs",
        "1",
        "--json",
        "--only",
        "blend-fullscreen,tris-128px,graphics-pipeline-latency",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "\"workload\":\"blend-fullscreen\",\"unit\":\"Mpix/s\",\"higher_is_better\":true",
        "\"workload\":\"tris-128px\",\"unit\":\"Mtris/s\"",
        "\"workload\":\"graphics-pipeline-latency\",\"unit\":\"ms\",\"higher_is_better\":false",
        "\"create_only_ms\":",
    ] {
        assert!(stdout.contains(want), "{want} missing from {stdout}");
    }
}

#[test]
fn a_driver_that_draws_the_wrong_colour_gets_no_raster_figure() {
    // The benchmark's shaders, with raster.frag writing transparent black: the triangle grid's
    // pixel check must fail the workload instead of reporting a figure.
    let dir = std::env::temp_dir().join(format!("vkbench-wrong-shaders-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let shaders = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shaders");
    for entry in std::fs::read_dir(&shaders).expect("bench/shaders") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("file name");
        std::fs::copy(&path, dir.join(name)).expect("copy shader");
    }
    let frag = std::fs::read_to_string(dir.join("raster.frag")).expect("raster.frag");
    let broken = frag.replace("frag_color = v_color;", "frag_color = vec4(0.0);");
    assert_ne!(broken, frag, "raster.frag no longer writes v_color");
    std::fs::write(dir.join("raster.frag"), broken).expect("write raster.frag");

    let out = Command::new(env!("CARGO_BIN_EXE_softgpu-vkbench"))
        .args(["--quick", "--runs", "1", "--only", "tris-8px"])
        .env("VK_DRIVER_FILES", LAVAPIPE_ICD)
        .env("VK_LOADER_LAYERS_DISABLE", "~explicit~")
        .env("SOFTGPU_BENCH_SHADER_DIR", &dir)
        .output()
        .expect("running softgpu-vkbench");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("tris-8px\tFAILED\t"), "{stdout}");
    assert!(stderr.contains("WRONG RESULT"), "{stderr}");
}
