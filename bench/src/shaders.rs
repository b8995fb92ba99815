//! The benchmark shaders: the GLSL test shaders of the renderer, compiled with glslangValidator
//! at start-up.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::BenchError;

/// A shader by file name (`renderer/tests/shaders/<file>.comp`) and `-D` definitions.
pub struct ShaderSource {
    pub label: &'static str,
    pub file: &'static str,
    pub defines: &'static [(&'static str, &'static str)],
}

pub const COMPILE_SET: [ShaderSource; 5] = [
    ShaderSource {
        label: "saxpy",
        file: "saxpy",
        defines: &[],
    },
    ShaderSource {
        label: "sgemm naive",
        file: "matmul_naive",
        defines: &[],
    },
    ShaderSource {
        label: "sgemm tiled",
        file: "matmul_tiled",
        defines: &[],
    },
    ShaderSource {
        label: "reduction 256",
        file: "reduce",
        defines: &[("WG", "256")],
    },
    ShaderSource {
        label: "mandelbrot",
        file: "mandelbrot",
        defines: &[],
    },
];

pub fn spirv(source: &ShaderSource) -> Result<Vec<u8>, BenchError> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../renderer/tests/shaders");
    let src = dir.join(format!("{}.comp", source.file));
    let out = std::env::temp_dir().join(format!(
        "softgpu-bench-{}-{}.spv",
        std::process::id(),
        source.file
    ));
    let mut cmd = Command::new("glslangValidator");
    cmd.args(["-V", "--target-env", "vulkan1.1"])
        .stdout(Stdio::null());
    for (k, v) in source.defines {
        cmd.arg(format!("-D{k}={v}"));
    }
    let status = cmd
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status()
        .map_err(|e| BenchError::Shader(format!("running glslangValidator: {e}")))?;
    if !status.success() {
        return Err(BenchError::Shader(format!(
            "glslangValidator failed on {}",
            src.display()
        )));
    }
    let words = std::fs::read(&out)
        .map_err(|e| BenchError::Shader(format!("reading {}: {e}", out.display())))?;
    let _ = std::fs::remove_file(&out);
    Ok(words)
}
