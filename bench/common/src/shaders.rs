//! The benchmark shaders: GLSL compute shaders compiled with glslangValidator at start-up —
//! the renderer's test shaders and the few written for the benchmarks (`bench/shaders/`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum ShaderError {
    #[error("running glslangValidator (is glslang-tools installed?): {0}")]
    Spawn(std::io::Error),
    #[error("glslangValidator failed on {}", .0.display())]
    Compile(PathBuf),
    #[error("reading {path}: {err}", path = .0.display(), err = .1)]
    Read(PathBuf, std::io::Error),
}

/// Where a shader's source lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShaderDir {
    /// `renderer/tests/shaders/`: the renderer's test shaders (or `$SOFTGPU_RENDERER_SHADER_DIR`:
    /// the test guest has its own copy).
    RendererTests,
    /// `bench/shaders/`: shaders written for the benchmarks (or `$SOFTGPU_BENCH_SHADER_DIR`).
    Bench,
}

impl ShaderDir {
    fn path(self) -> PathBuf {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        match self {
            ShaderDir::RendererTests => std::env::var_os("SOFTGPU_RENDERER_SHADER_DIR")
                .map_or_else(
                    || manifest.join("../../renderer/tests/shaders"),
                    PathBuf::from,
                ),
            ShaderDir::Bench => std::env::var_os("SOFTGPU_BENCH_SHADER_DIR")
                .map_or_else(|| manifest.join("../shaders"), PathBuf::from),
        }
    }
}

/// A shader by directory, file name (`<dir>/<file>.comp`) and `-D` definitions.
pub struct ShaderSource {
    pub label: &'static str,
    pub dir: ShaderDir,
    pub file: &'static str,
    pub defines: &'static [(&'static str, &'static str)],
}

impl ShaderSource {
    /// A renderer test shader without definitions.
    pub const fn renderer_test(file: &'static str) -> Self {
        ShaderSource {
            label: file,
            dir: ShaderDir::RendererTests,
            file,
            defines: &[],
        }
    }

    /// A shader of `bench/shaders/` without definitions.
    pub const fn bench(file: &'static str) -> Self {
        ShaderSource {
            label: file,
            dir: ShaderDir::Bench,
            file,
            defines: &[],
        }
    }

    pub fn source_path(&self) -> PathBuf {
        self.dir.path().join(format!("{}.comp", self.file))
    }
}

pub const COMPILE_SET: [ShaderSource; 5] = [
    ShaderSource {
        label: "saxpy",
        ..ShaderSource::renderer_test("saxpy")
    },
    ShaderSource {
        label: "sgemm naive",
        ..ShaderSource::renderer_test("matmul_naive")
    },
    ShaderSource {
        label: "sgemm tiled",
        ..ShaderSource::renderer_test("matmul_tiled")
    },
    ShaderSource {
        label: "reduction 256",
        defines: &[("WG", "256")],
        ..ShaderSource::renderer_test("reduce")
    },
    ShaderSource {
        label: "mandelbrot",
        ..ShaderSource::renderer_test("mandelbrot")
    },
];

/// Compiles `source` to SPIR-V (Vulkan 1.0 target, so every 1.0 driver accepts it) and
/// returns the module's bytes.
pub fn spirv(source: &ShaderSource) -> Result<Vec<u8>, ShaderError> {
    spirv_file(source.dir, &format!("{}.comp", source.file), source.defines)
}

/// Compiles `<dir>/<file_name>` of any stage (glslangValidator picks the stage from the
/// extension: `.vert`, `.frag`, `.comp`) to SPIR-V for Vulkan 1.0.
pub fn spirv_file(
    dir: ShaderDir,
    file_name: &str,
    defines: &[(&str, &str)],
) -> Result<Vec<u8>, ShaderError> {
    let src = dir.path().join(file_name);
    let out = std::env::temp_dir().join(format!(
        "softgpu-bench-{}-{file_name}.spv",
        std::process::id(),
    ));
    let mut cmd = Command::new("glslangValidator");
    cmd.args(["-V", "--target-env", "vulkan1.0"])
        .stdout(Stdio::null());
    for (k, v) in defines {
        cmd.arg(format!("-D{k}={v}"));
    }
    let status = cmd
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status()
        .map_err(ShaderError::Spawn)?;
    if !status.success() {
        return Err(ShaderError::Compile(src));
    }
    let words = std::fs::read(&out).map_err(|e| ShaderError::Read(out.clone(), e))?;
    let _ = std::fs::remove_file(&out);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_benchmark_shader_source_exists() {
        for s in COMPILE_SET
            .iter()
            .chain([&ShaderSource::bench("reduce_sum")])
        {
            assert!(s.source_path().is_file(), "{}", s.source_path().display());
        }
    }

    #[test]
    fn compiled_module_starts_with_the_spirv_magic() {
        let words = spirv(&ShaderSource::bench("reduce_sum")).expect("glslangValidator");
        assert_eq!(words.get(..4), Some(&0x0723_0203u32.to_le_bytes()[..]));
    }

    #[test]
    fn graphics_stages_compile_by_file_extension() {
        for file in [
            "raster.vert",
            "raster.frag",
            "raster_variant.frag",
            "fill.frag",
        ] {
            let words = spirv_file(ShaderDir::Bench, file, &[]).expect(file);
            assert_eq!(
                words.get(..4),
                Some(&0x0723_0203u32.to_le_bytes()[..]),
                "{file}"
            );
        }
    }
}
