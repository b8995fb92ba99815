//! Renders one named scene of issue 6's comparison tests on whatever driver the loader picks,
//! writes every readback raw (`<scene>.<attachment>.raw`) and as a PNG
//! (`<scene>.<attachment>.png`) into OUT-DIR, then runs the scene's own check.
//!
//! Usage: softgpu-scene SCENE OUT-DIR   (softgpu-scene --list names the scenes)
//! Prints `device: <name>` first; exits non-zero when rendering or the check fails.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use softgpu_e2e::graphics::{GraphicsContext, Picture, ReadImage};
use softgpu_e2e::scenes::{self, SceneError};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--list") {
        for s in scenes::SCENES {
            println!("{}", s.name);
        }
        return ExitCode::SUCCESS;
    }
    let (Some(name), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: softgpu-scene SCENE OUT-DIR | --list");
        return ExitCode::FAILURE;
    };
    match run(name, Path::new(out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("softgpu-scene: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(name: &str, out: &Path) -> Result<(), SceneError> {
    let scene = scenes::find(name)?;
    let ctx = GraphicsContext::new()?;
    println!("device: {}", ctx.name());
    let t = std::time::Instant::now();
    let (images, checked) = scenes::run(&ctx, scene)?;
    println!(
        "rendered {name} in {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    for img in &images {
        let files = write(out, name, img)?;
        println!("wrote {}", files.display());
    }
    checked
}

/// Writes `img` raw and as PNG; returns the PNG's path.
fn write(out: &Path, scene: &str, img: &ReadImage) -> Result<PathBuf, SceneError> {
    let io = |p: &Path, e: std::io::Error| {
        SceneError::Gpu(softgpu_e2e::GpuError::Setup(format!(
            "{}: {e}",
            p.display()
        )))
    };
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    let raw = out.join(format!("{scene}.{}.raw", img.name));
    std::fs::write(&raw, &img.bytes).map_err(|e| io(&raw, e))?;
    let png = out.join(format!("{scene}.{}.png", img.name));
    Picture::new(img.width, img.height, img.to_rgba8())?.write_png(&png)?;
    Ok(png)
}
