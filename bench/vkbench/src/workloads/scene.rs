//! The geometry of the raster workloads and the image each must produce, computed on the CPU.
//!
//! Full-screen quads: two triangles covering the target, one colour. Triangle grids: the
//! target cut into `cell`×`cell` squares, each split along its diagonal into two triangles of
//! `cell²/2` pixels; triangle pairs fill the cells in order and wrap around, layer after layer,
//! so the last pair drawn over a cell decides its colour. Both triangles of a pair have the
//! pair's colour: which of them owns the pixels on the shared diagonal is the driver's choice,
//! the colour is not; a gap or a double-drawn edge of another pair shows as a wrong colour.
//! (Each triangle's area is exactly cell²/2 pixels; the `cell` pixel centres on the diagonal go
//! to one of the two, so a 4-pixel cell's triangles shade 6 and 10 pixels, 8 on average.)

use crate::raster::Vertex;
use crate::target::Extent;

/// The target's clear colour in the raster workloads (opaque dark blue).
pub const CLEAR_RGBA: [u8; 4] = [0, 0, 64, 255];

pub fn clear_color() -> [f32; 4] {
    CLEAR_RGBA.map(|c| f32::from(c) / 255.0)
}

/// Packs RGBA8 as the read-back pixel does (little-endian: red in the low byte).
pub fn pack(rgba: [u8; 4]) -> u32 {
    u32::from_le_bytes(rgba)
}

/// Six vertices (two triangles) covering the whole target in `rgba`.
pub fn fullscreen_quad(extent: Extent, rgba: [u8; 4]) -> Vec<Vertex> {
    let (w, h) = (extent.width as f32, extent.height as f32);
    [(0.0, 0.0), (w, 0.0), (w, h), (0.0, 0.0), (w, h), (0.0, h)]
        .into_iter()
        .map(|(x, y)| Vertex { x, y, rgba })
        .collect()
}

/// The colour after `quads` blends (src·α + dst·(1 − α) on all four channels) of `src` over
/// `dst`, in exact arithmetic; drivers round after every blend, so compare within a tolerance.
pub fn blended(dst: [u8; 4], src: [u8; 4], quads: u32) -> [f64; 4] {
    let alpha = f64::from(src[3]) / 255.0;
    let mut out = dst.map(|c| f64::from(c) / 255.0);
    for _ in 0..quads {
        for (o, s) in out.iter_mut().zip(src) {
            *o = f64::from(s) / 255.0 * alpha + *o * (1.0 - alpha);
        }
    }
    out.map(|c| c * 255.0)
}

/// A grid of `cell`-pixel squares over the target, `pairs` triangle pairs drawn over it.
#[derive(Clone, Copy, Debug)]
pub struct TriangleGrid {
    pub extent: Extent,
    pub cell: u32,
    pub pairs: u32,
}

impl TriangleGrid {
    /// The grid for `triangles` triangles (an even number) of `cell²/2` pixels each.
    pub fn new(extent: Extent, cell: u32, triangles: u32) -> Option<TriangleGrid> {
        let grid = TriangleGrid {
            extent,
            cell,
            pairs: triangles / 2,
        };
        (cell > 0 && triangles > 0 && triangles.is_multiple_of(2) && grid.cells() > 0)
            .then_some(grid)
    }

    fn columns(&self) -> u32 {
        self.extent.width / self.cell
    }

    fn cells(&self) -> u32 {
        self.columns() * (self.extent.height / self.cell)
    }

    pub fn triangles(&self) -> u32 {
        self.pairs * 2
    }

    /// The colour of pair `p`: a mix of its index, opaque, never the clear colour, and
    /// (almost always) different from the pair drawn before it on the same cell.
    pub fn pair_color(p: u32) -> [u8; 4] {
        let h = p.wrapping_mul(0x9E37_79B1).rotate_left(13) ^ 0x5bd1_e995;
        let [r, g, b, _] = h.to_le_bytes();
        // Green is odd, the clear colour's is 0.
        [r, g | 1, b, 255]
    }

    /// Every pair's two triangles, in drawing order.
    pub fn vertices(&self) -> Vec<Vertex> {
        let cells = self.cells();
        let mut out = Vec::with_capacity(self.pairs as usize * 6);
        for p in 0..self.pairs {
            let c = p % cells;
            let x0 = ((c % self.columns()) * self.cell) as f32;
            let y0 = ((c / self.columns()) * self.cell) as f32;
            let (x1, y1) = (x0 + self.cell as f32, y0 + self.cell as f32);
            let rgba = Self::pair_color(p);
            for (x, y) in [(x0, y0), (x1, y0), (x1, y1), (x0, y0), (x1, y1), (x0, y1)] {
                out.push(Vertex { x, y, rgba });
            }
        }
        out
    }

    /// The packed colour pixel (x, y) must have after every pair was drawn.
    pub fn expected_pixel(&self, x: u32, y: u32) -> u32 {
        let (column, row) = (x / self.cell, y / self.cell);
        if column >= self.columns() || row >= self.extent.height / self.cell {
            return pack(CLEAR_RGBA);
        }
        let c = row * self.columns() + column;
        if c >= self.pairs {
            return pack(CLEAR_RGBA);
        }
        let cells = self.cells();
        let last = c + (self.pairs - 1 - c) / cells * cells;
        pack(Self::pair_color(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HD: Extent = Extent {
        width: 1920,
        height: 1080,
    };

    #[test]
    fn blending_converges_from_the_clear_colour_to_the_source() {
        let src = [255, 0, 128, 64];
        assert_eq!(blended(CLEAR_RGBA, src, 0), CLEAR_RGBA.map(f64::from));
        let one = blended(CLEAR_RGBA, src, 1);
        let a = 64.0 / 255.0;
        assert!((one[0] - 255.0 * a).abs() < 1e-9);
        assert!((one[2] - (128.0 * a + 64.0 * (1.0 - a))).abs() < 1e-9);
        let many = blended(CLEAR_RGBA, src, 200);
        assert!(
            (many[0] - 255.0).abs() < 1e-6 && many[1].abs() < 1e-6,
            "{many:?}"
        );
    }

    #[test]
    fn the_eight_pixel_grid_has_eight_pixel_triangles_and_wraps_in_layers() {
        let g = TriangleGrid::new(HD, 4, 1_000_000).expect("grid");
        assert_eq!(g.cell * g.cell / 2, 8);
        assert_eq!(g.cells(), 480 * 270);
        assert_eq!(g.triangles(), 1_000_000);
        // 500,000 pairs over 129,600 cells: cell 0 is drawn by pairs 0, 129600, 259200, 388800.
        assert_eq!(
            g.expected_pixel(0, 0),
            pack(TriangleGrid::pair_color(388_800))
        );
        // The last cell only three times.
        assert_eq!(
            g.expected_pixel(1919, 1079),
            pack(TriangleGrid::pair_color(129_599 + 2 * 129_600))
        );
    }

    #[test]
    fn pixels_outside_the_grid_or_never_drawn_keep_the_clear_colour() {
        // 1080 / 16 = 67 rows of cells: the bottom 8 rows of pixels are outside the grid.
        let g = TriangleGrid::new(HD, 16, 60_000).expect("grid");
        assert_eq!(g.expected_pixel(5, 1075), pack(CLEAR_RGBA));
        let few = TriangleGrid::new(HD, 16, 4).expect("grid");
        assert_eq!(few.expected_pixel(16, 0), pack(TriangleGrid::pair_color(1)));
        assert_eq!(few.expected_pixel(32, 0), pack(CLEAR_RGBA));
    }

    #[test]
    fn grid_vertices_cover_their_cell_with_the_pair_colour() {
        let g = TriangleGrid::new(HD, 16, 4).expect("grid");
        let v = g.vertices();
        assert_eq!(v.len(), 12);
        assert_eq!((v[6].x, v[6].y, v[8].x, v[8].y), (16.0, 0.0, 32.0, 16.0));
        assert!(v[6..].iter().all(|v| v.rgba == TriangleGrid::pair_color(1)));
    }

    #[test]
    fn pair_colours_differ_from_the_clear_colour_and_from_the_previous_layer() {
        let cells = 480 * 270;
        for p in 0..1000u32 {
            assert_ne!(TriangleGrid::pair_color(p), CLEAR_RGBA);
            assert_ne!(
                TriangleGrid::pair_color(p),
                TriangleGrid::pair_color(p + cells)
            );
        }
    }

    #[test]
    fn odd_or_empty_triangle_counts_make_no_grid() {
        assert!(TriangleGrid::new(HD, 4, 7).is_none());
        assert!(TriangleGrid::new(HD, 4, 0).is_none());
        assert!(TriangleGrid::new(HD, 4096, 2).is_none());
    }
}
