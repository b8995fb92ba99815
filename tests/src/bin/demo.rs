//! The README's demo: a Mandelbrot picture computed by a Vulkan compute shader on whatever
//! driver the loader picks — through `scripts/demo`, softgpu's embedded default (loader → ICD →
//! vhost-user → vhost-device → jit-host). Writes a PNG and prints how long each stage took.
//!
//! Usage: softgpu-demo [OUT.png] [WIDTH HEIGHT] [MAX_ITER] [CENTER_X CENTER_Y SPAN]
//! (SPAN: width of the view in the complex plane; default a deep view of seahorse valley).

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

    let shader = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders/demo_mandelbrot.comp");
    let t = Instant::now();
    let spirv = glsl_to_spirv(&shader, &[])?;
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
    println!("  GLSL → SPIR-V (glslangValidator)         {:8.1} ms", ms(t_glsl));
    println!("  instance + device (starts the device)    {:8.1} ms", ms(t_open));
    println!("  buffer + compute pipeline (JIT compile)  {:8.1} ms", ms(t_create));
    println!("  first dispatch (submit → fence)          {:8.1} ms", ms(first));
    println!("  second dispatch                          {:8.1} ms", ms(second));
    println!("  read back + PNG                          {:8.1} ms", ms(t_png));
    Ok(())
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
