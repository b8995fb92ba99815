//! Where the built softgpu pieces are and how to point the Vulkan loader at them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::GpuError;

/// `target/<profile>` of the running executable: `SOFTGPU_TARGET_DIR` if set, else the
/// directory of this executable, or its parent for test binaries in `target/<profile>/deps`.
pub fn target_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("SOFTGPU_TARGET_DIR") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir.pop();
    }
    dir
}

/// Writes `softgpu_icd.json` into `dir`, naming `libsoftgpu_icd.so` in `target` by absolute path.
pub fn write_manifest(dir: &Path, target: &Path) -> Result<PathBuf, GpuError> {
    let lib = target.join("libsoftgpu_icd.so");
    if !lib.exists() {
        return Err(GpuError::Setup(format!(
            "{} not found: build the workspace first (cargo build --workspace)",
            lib.display()
        )));
    }
    let lib = lib
        .canonicalize()
        .map_err(|e| GpuError::Setup(format!("{}: {e}", lib.display())))?;
    let json = format!(
        "{{\n  \"file_format_version\": \"1.0.0\",\n  \"ICD\": {{\n    \"library_path\": \"{}\",\n    \"api_version\": \"1.0.0\"\n  }}\n}}\n",
        lib.display()
    );
    let path = dir.join("softgpu_icd.json");
    std::fs::write(&path, json).map_err(|e| GpuError::Setup(format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// The environment that makes the loader use softgpu only: a manifest in `dir`, explicit layers
/// off (Debian's validation layer rejects newer SPIR-V; see FACTS), device logs in `dir`.
pub fn softgpu_env(dir: &Path, target: &Path) -> Result<Vec<(String, String)>, GpuError> {
    let manifest = write_manifest(dir, target)?;
    Ok(vec![
        ("VK_DRIVER_FILES".into(), manifest.display().to_string()),
        ("VK_ICD_FILENAMES".into(), manifest.display().to_string()),
        ("VK_LOADER_LAYERS_DISABLE".into(), "~explicit~".into()),
        ("SOFTGPU_LOG_DIR".into(), dir.display().to_string()),
    ])
}

/// Compiles a GLSL compute shader with `glslangValidator -V` and `-D` definitions.
pub fn glsl_to_spirv(path: &Path, defines: &[(&str, &str)]) -> Result<Vec<u32>, GpuError> {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!("softgpu-e2e-{}-{n}.spv", std::process::id()));
    let mut cmd = Command::new("glslangValidator");
    cmd.arg("-V").arg("--target-env").arg("vulkan1.1");
    for (k, v) in defines {
        cmd.arg(format!("-D{k}={v}"));
    }
    cmd.arg("-o").arg(&out).arg(path);
    let result = cmd
        .output()
        .map_err(|e| GpuError::Setup(format!("glslangValidator: {e}")))?;
    if !result.status.success() {
        return Err(GpuError::Setup(format!(
            "glslangValidator {}: {}",
            path.display(),
            String::from_utf8_lossy(&result.stdout)
        )));
    }
    let bytes = std::fs::read(&out).map_err(|e| GpuError::Setup(format!("{e}")))?;
    let _ = std::fs::remove_file(&out);
    if bytes.len() % 4 != 0 {
        return Err(GpuError::Setup(
            "SPIR-V is not a whole number of words".into(),
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}
