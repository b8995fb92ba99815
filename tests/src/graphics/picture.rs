//! 8-bit RGBA pictures: PNG files in and out, and the comparison the scene tests make between
//! two drivers' renderings (per-channel difference, count of differing pixels, a diff image).

use std::path::Path;

use crate::GpuError;

/// An 8-bit RGBA picture, rows top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl Picture {
    pub fn new(width: u32, height: u32, rgba: Vec<u8>) -> Result<Picture, GpuError> {
        if rgba.len() as u64 != u64::from(width) * u64::from(height) * 4 {
            return Err(GpuError::Setup(format!(
                "{} bytes is not a {width}×{height} RGBA picture",
                rgba.len()
            )));
        }
        Ok(Picture {
            width,
            height,
            rgba,
        })
    }

    /// The pixel at (x, y); transparent black outside.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let at = (y as usize * self.width as usize + x as usize) * 4;
        match self.rgba.get(at..at + 4) {
            Some(p) if x < self.width && y < self.height => [p[0], p[1], p[2], p[3]],
            _ => [0; 4],
        }
    }

    pub fn write_png(&self, path: &Path) -> Result<(), GpuError> {
        let io = |e: std::io::Error| GpuError::Setup(format!("{}: {e}", path.display()));
        let png_err = |e: png::EncodingError| GpuError::Setup(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = std::fs::File::create(path).map_err(io)?;
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(png_err)?;
        writer.write_image_data(&self.rgba).map_err(png_err)?;
        writer.finish().map_err(png_err)
    }

    /// Reads an 8-bit RGBA PNG (as [`Picture::write_png`] writes).
    pub fn read_png(path: &Path) -> Result<Picture, GpuError> {
        let err = |e: &dyn std::fmt::Display| GpuError::Setup(format!("{}: {e}", path.display()));
        let file = std::fs::File::open(path).map_err(|e| err(&e))?;
        let mut reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .map_err(|e| err(&e))?;
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).map_err(|e| err(&e))?;
        if info.color_type != png::ColorType::Rgba || info.bit_depth != png::BitDepth::Eight {
            return Err(err(&format!(
                "{:?} {:?}, expected 8-bit RGBA",
                info.color_type, info.bit_depth
            )));
        }
        buf.truncate(info.buffer_size());
        Picture::new(info.width, info.height, buf)
    }

    /// The number of distinct colours (a picture with one colour shows nothing was drawn).
    pub fn distinct_colors(&self) -> usize {
        let set: std::collections::HashSet<&[u8]> = self.rgba.chunks_exact(4).collect();
        set.len()
    }
}

/// How two pictures differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// Pixels whose largest channel difference exceeds the tolerance.
    pub differing: usize,
    /// The largest channel difference anywhere.
    pub max: u8,
    /// Black where equal within tolerance, red where not, grey levels for small differences.
    pub diff: Picture,
}

/// Compares `a` with `b` channel by channel; a pixel differs when a channel is more than
/// `tolerance` apart. Pictures of different sizes are an error.
pub fn compare(a: &Picture, b: &Picture, tolerance: u8) -> Result<Difference, GpuError> {
    if (a.width, a.height) != (b.width, b.height) {
        return Err(GpuError::Setup(format!(
            "sizes differ: {}×{} vs {}×{}",
            a.width, a.height, b.width, b.height
        )));
    }
    let mut differing = 0;
    let mut max = 0u8;
    let mut diff = Vec::with_capacity(a.rgba.len());
    for (pa, pb) in a.rgba.chunks_exact(4).zip(b.rgba.chunks_exact(4)) {
        let d = pa
            .iter()
            .zip(pb)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0);
        max = max.max(d);
        if d > tolerance {
            differing += 1;
            diff.extend([255, 0, 0, 255]);
        } else {
            let g = d.saturating_mul(16);
            diff.extend([g, g, g, 255]);
        }
    }
    Ok(Difference {
        differing,
        max,
        diff: Picture::new(a.width, a.height, diff)?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn compare_counts_only_pixels_beyond_tolerance() {
        let a = Picture::new(2, 1, vec![10, 10, 10, 255, 0, 0, 0, 255]).unwrap();
        let b = Picture::new(2, 1, vec![12, 10, 10, 255, 0, 90, 0, 255]).unwrap();
        let d = compare(&a, &b, 2).unwrap();
        assert_eq!(d.differing, 1);
        assert_eq!(d.max, 90);
        assert_eq!(d.diff.pixel(1, 0), [255, 0, 0, 255]);
        assert_eq!(d.diff.pixel(0, 0), [32, 32, 32, 255]);
    }

    #[test]
    fn compare_refuses_different_sizes() {
        let a = Picture::new(1, 1, vec![0; 4]).unwrap();
        let b = Picture::new(1, 2, vec![0; 8]).unwrap();
        assert!(compare(&a, &b, 0).is_err());
    }

    #[test]
    fn png_round_trips() {
        let dir = std::env::temp_dir().join(format!("softgpu-picture-{}", std::process::id()));
        let p = Picture::new(3, 2, (0..24).collect()).unwrap();
        let path = dir.join("p.png");
        p.write_png(&path).unwrap();
        assert_eq!(Picture::read_png(&path).unwrap(), p);
        let _ = std::fs::remove_dir_all(dir);
    }
}
