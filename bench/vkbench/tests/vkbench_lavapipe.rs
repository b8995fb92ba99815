//! softgpu-vkbench end to end on lavapipe (a project dependency, see scripts/install-deps):
//! every workload at the small `--quick` sizes, through the real Vulkan loader, with its
//! results checked against the CPU by the program itself.

use std::process::Command;

const LAVAPIPE_ICD: &str = "/usr/share/vulkan/icd.d/lvp_icd.json";
const WORKLOADS: [&str; 5] = [
    "saxpy",
    "sgemm-naive",
    "sgemm-tiled",
    "reduction",
    "pipeline-latency",
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
