//! The README's demo: a Mandelbrot picture computed by a Vulkan compute shader on whatever
//! driver the loader picks — through `scripts/demo`, softgpu's embedded default (loader → ICD →
//! vhost-user → vhost-device → jit-host). Writes a PNG and prints how long each stage took.
//!
//! Usage: softgpu-demo [OUT.png] [WIDTH HEIGHT] [MAX_ITER] [CENTER_X CENTER_Y SPAN]
//! (SPAN: width of the view in the complex plane; default a deep view of seahorse valley).
//!
//! The shader is `tests/shaders/demo_mandelbrot.comp`, compiled with glslangValidator at run
//! time, or the precompiled SPIR-V file named by `SOFTGPU_DEMO_SPIRV` (the VM test guest has
//! no glslangValidator).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use softgpu_e2e::{glsl_to_spirv, Gpu, GpuError};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("softgpu-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), GpuError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(args.first().map(String::as_str).unwrap_or("out/demo.png"));
    let width: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1280);
    let height: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(800);
    let max_iter: u32 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let center_x: f32 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(-0.745);
    let center_y: f32 = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(0.186);
    let span: f32 = args.get(6).and_then(|s| s.parse().ok()).unwrap_or(0.06);

    let t = Instant::now();
    let (spirv, spirv_source) = match std::env::var_os("SOFTGPU_DEMO_SPIRV") {
        Some(path) if !path.is_empty() => {
            (read_spirv(Path::new(&path))?, "read precompiled SPIR-V")
        }
        _ => {
            let shader = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders/demo_mandelbrot.comp");
            (
                glsl_to_spirv(&shader, &[])?,
                "GLSL → SPIR-V (glslangValidator)",
            )
        }
    };
    let t_glsl = t.elapsed();

    let t = Instant::now();
    let gpu = Gpu::new()?;
    let t_open = t.elapsed();
    println!("device: {}", gpu.name());

    let t = Instant::now();
    let pixels = gpu.buffer(u64::from(width) * u64::from(height) * 4)?;
    let pipeline = gpu.pipeline(&spirv, 1, 24, &[])?;
    let t_create = t.elapsed();

    let mut push = Vec::new();
    push.extend(width.to_le_bytes());
    push.extend(height.to_le_bytes());
    push.extend(center_x.to_le_bytes());
    push.extend(center_y.to_le_bytes());
    push.extend((span / width as f32).to_le_bytes());
    push.extend(max_iter.to_le_bytes());
    let groups = [width.div_ceil(16), height.div_ceil(16), 1];
    let first = gpu.dispatch(&pipeline, &[&pixels], &push, groups)?;
    let second = gpu.dispatch(&pipeline, &[&pixels], &push, groups)?;

    let t = Instant::now();
    let rgba: Vec<u32> = pixels.read(width as usize * height as usize);
    write_png(&out, width, height, &rgba)?;
    let t_png = t.elapsed();

    gpu.destroy_pipeline(pipeline);
    gpu.destroy_buffer(pixels);
    drop(gpu);

    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    println!("wrote {} ({width}×{height})", out.display());
    println!("  {spirv_source:<40} {:8.1} ms", ms(t_glsl));
    println!(
        "  instance + device (starts the device)    {:8.1} ms",
        ms(t_open)
    );
    println!(
        "  buffer + compute pipeline (JIT compile)  {:8.1} ms",
        ms(t_create)
    );
    println!(
        "  first dispatch (submit → fence)          {:8.1} ms",
        ms(first)
    );
    println!(
        "  second dispatch                          {:8.1} ms",
        ms(second)
    );
    println!(
        "  read back + PNG                          {:8.1} ms",
        ms(t_png)
    );
    Ok(())
}

/// The SPIR-V magic number, as the first word of a module in host (little-endian) order.
const SPIRV_MAGIC: u32 = 0x0723_0203;

/// Reads a SPIR-V module from `path`: whole little-endian words starting with the magic number.
fn read_spirv(path: &Path) -> Result<Vec<u32>, GpuError> {
    let bytes = std::fs::read(path)
        .map_err(|e| GpuError::Setup(format!("SOFTGPU_DEMO_SPIRV {}: {e}", path.display())))?;
    spirv_words(&bytes).map_err(|why| GpuError::Setup(format!("{}: {why}", path.display())))
}

/// Splits a SPIR-V file into words; refuses a file that is not whole words or lacks the magic.
fn spirv_words(bytes: &[u8]) -> Result<Vec<u32>, String> {
    if bytes.len() % 4 != 0 {
        return Err(format!(
            "{} bytes is not a whole number of SPIR-V words",
            bytes.len()
        ));
    }
    let words: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    match words.first() {
        Some(&SPIRV_MAGIC) => Ok(words),
        Some(other) => Err(format!(
            "not SPIR-V (first word {other:#010x}, expected {SPIRV_MAGIC:#010x})"
        )),
        None => Err("empty file, not SPIR-V".into()),
    }
}

fn write_png(path: &Path, width: u32, height: u32, rgba: &[u32]) -> Result<(), GpuError> {
    let io = |e: std::io::Error| GpuError::Setup(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let file = std::fs::File::create(path).map_err(io)?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let bytes: Vec<u8> = rgba.iter().flat_map(|p| p.to_le_bytes()).collect();
    enc.write_header()
        .and_then(|mut w| w.write_image_data(&bytes))
        .map_err(|e| GpuError::Setup(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spirv_words_reads_little_endian_words_after_the_magic() {
        let mut bytes = SPIRV_MAGIC.to_le_bytes().to_vec();
        bytes.extend(0x0001_0300u32.to_le_bytes());
        assert_eq!(spirv_words(&bytes), Ok(vec![SPIRV_MAGIC, 0x0001_0300]));
    }

    #[test]
    fn spirv_words_refuses_partial_words_and_missing_magic() {
        let mut bytes = SPIRV_MAGIC.to_le_bytes().to_vec();
        bytes.push(0);
        assert!(spirv_words(&bytes).is_err());
        assert!(spirv_words(b"#version 450").is_err());
        assert!(spirv_words(&[]).is_err());
    }
}
