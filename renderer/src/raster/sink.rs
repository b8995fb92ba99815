//! Where fragments go: the [`FragmentSink`] seam the graphics pipeline plugs into, and
//! [`CoverageSink`], a counting sink for tests and measurements.
//!
//! A sink is shared by the worker threads; each tile is handed to exactly one worker, which
//! asks the sink for a per-tile target, feeds it every batch of that tile in primitive order,
//! and gives it back. A sink that owns its attachments per tile needs no locking per fragment.

use std::sync::{Mutex, PoisonError};

use super::LANES;

/// Pixel offset of lane `lane` within its 4×2 block: lanes 0–3 are the left 2×2 quad
/// (top-left, top-right, bottom-left, bottom-right), lanes 4–7 the right one.
pub const fn lane_offset(lane: usize) -> (u32, u32) {
    let quad = (lane / 4) as u32;
    let within = (lane % 4) as u32;
    (quad * 2 + within % 2, within / 2)
}

/// One 4×2 pixel block of one primitive: two 2×2 quads, [`LANES`] lanes.
///
/// Every lane carries depth, 1/w and attributes, covered or not, so a fragment shader can take
/// derivatives across a quad (uncovered lanes are helpers). Values the tile's
/// [`FragmentNeeds`] leave out are unspecified (stale).
#[derive(Clone, Copy, Debug)]
pub struct FragmentBatch<'a> {
    /// Framebuffer position of the block's top-left pixel (x a multiple of 4, y of 2).
    pub x: u32,
    pub y: u32,
    /// Bit `l` set where lane `l`'s pixel centre is covered (and inside the scissor).
    pub mask: u8,
    pub front_facing: bool,
    /// Index of the primitive in the draw's primitive list.
    pub primitive: u32,
    /// Framebuffer depth (z/w interpolated linearly in screen space, plus depth bias).
    pub depth: [f32; LANES],
    /// `1/w` of the clip-space position, interpolated linearly in screen space
    /// (`FragCoord.w`).
    pub inv_w: [f32; LANES],
    /// One `[f32; LANES]` per attribute component, interpolated as the component asks.
    pub attributes: &'a [[f32; LANES]],
    /// `PointCoord` s and t per lane for points (Vulkan §28.8.1: (0, 0) at the point's
    /// upper-left corner, sampled at pixel centres); 0.5 for lines and triangles.
    pub point_coord: [[f32; LANES]; 2],
}

/// Most blocks in one [`FragmentRun`]: a tile's width of 4×2 blocks.
pub const RUN_BLOCKS: usize = (super::TILE_SIZE / 4) as usize;

/// Consecutive 4×2 blocks of one primitive along one block row (block `i` has its top-left
/// pixel at `(x + 4·i, y)`), with every per-lane value laid out block after block, so that a
/// sink can work on many blocks per call. Block `i` is exactly [`FragmentRun::batch`]`(i)`;
/// a block whose mask is 0 carries values but has no covered lane.
#[derive(Clone, Copy, Debug)]
pub struct FragmentRun<'a> {
    /// Framebuffer position of the first block's top-left pixel (x a multiple of 4, y of 2).
    pub x: u32,
    pub y: u32,
    /// One coverage mask per block (as [`FragmentBatch::mask`]); 1..=[`RUN_BLOCKS`] blocks.
    pub masks: &'a [u8],
    pub front_facing: bool,
    pub primitive: u32,
    /// One entry per block, as the [`FragmentBatch`] fields of the same names.
    pub depth: &'a [[f32; LANES]],
    pub inv_w: &'a [[f32; LANES]],
    pub point_coord: &'a [[[f32; LANES]; 2]],
    /// Attribute components per block.
    pub components: usize,
    /// `masks.len() × components` entries: block `i`'s components are
    /// `attributes[i * components..(i + 1) * components]`.
    pub attributes: &'a [[f32; LANES]],
}

impl<'a> FragmentRun<'a> {
    /// Blocks in the run.
    pub fn blocks(&self) -> usize {
        self.masks.len()
    }

    /// Block `i` as a single batch; `None` past the end (or where a field is short).
    pub fn batch(&self, i: usize) -> Option<FragmentBatch<'a>> {
        let start = i.checked_mul(self.components)?;
        let end = start.checked_add(self.components)?;
        Some(FragmentBatch {
            x: self.x.checked_add(u32::try_from(i).ok()?.checked_mul(4)?)?,
            y: self.y,
            mask: *self.masks.get(i)?,
            front_facing: self.front_facing,
            primitive: self.primitive,
            depth: *self.depth.get(i)?,
            inv_w: *self.inv_w.get(i)?,
            attributes: self.attributes.get(start..end)?,
            point_coord: *self.point_coord.get(i)?,
        })
    }
}

/// Which per-lane values a tile's consumer reads. The rasterizer may leave the others
/// unspecified (stale from earlier runs) in the batches and runs it hands over; coverage,
/// position, facing, primitive and point coordinates are always given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragmentNeeds {
    /// [`FragmentBatch::depth`]: depth tests, `FragCoord.z`, the default `FragDepth`.
    pub depth: bool,
    /// [`FragmentBatch::inv_w`]: `FragCoord.w`.
    pub inv_w: bool,
    /// [`FragmentBatch::attributes`]: the shader's inputs.
    pub attributes: bool,
}

impl FragmentNeeds {
    /// Every value.
    pub const ALL: FragmentNeeds = FragmentNeeds {
        depth: true,
        inv_w: true,
        attributes: true,
    };
    /// No value beyond coverage and position.
    pub const NONE: FragmentNeeds = FragmentNeeds {
        depth: false,
        inv_w: false,
        attributes: false,
    };

    /// What either `self` or `other` needs.
    pub fn union(self, other: FragmentNeeds) -> FragmentNeeds {
        FragmentNeeds {
            depth: self.depth || other.depth,
            inv_w: self.inv_w || other.inv_w,
            attributes: self.attributes || other.attributes,
        }
    }
}

/// A block-aligned rectangle every pixel of which one primitive covers (its pixel centres
/// lie inside all three edges), handed to a sink whole by [`TileFragments::covered_rect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoveredRect {
    /// Half-open framebuffer pixel bounds: `x0`, `x1` multiples of 4, `y0`, `y1` of 2,
    /// `x0 < x1`, `y0 < y1`.
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
    pub front_facing: bool,
    pub primitive: u32,
}

impl CoveredRect {
    /// The 4×2 blocks of the rectangle.
    pub fn blocks(&self) -> usize {
        let (w, h) = (
            self.x1.saturating_sub(self.x0),
            self.y1.saturating_sub(self.y0),
        );
        (w / 4) as usize * (h / 2) as usize
    }
}

/// Receives the fragment batches of one tile.
pub trait TileFragments {
    fn batch(&mut self, batch: &FragmentBatch<'_>);

    /// Whether [`TileFragments::covered_rect`] may take rectangles at all in this tile (asked
    /// once per primitive, so that a sink that never does is not offered any). The default:
    /// false.
    fn takes_rects(&self) -> bool {
        false
    }

    /// Takes every pixel of `rect` as covered by one primitive, at once, where the sink can do
    /// so without per-lane values (a colour fixed for the draw, no depth test); returns false,
    /// having done nothing, where it cannot, and the rasterizer then walks the rectangle as
    /// runs. The default declines.
    fn covered_rect(&mut self, rect: &CoveredRect) -> bool {
        let _ = rect;
        false
    }

    /// Whether [`TileFragments::covered_rect_shaded`] may take rectangles at all in this
    /// tile. The default: false.
    fn takes_shaded_rects(&self) -> bool {
        false
    }

    /// [`TileFragments::covered_rect`] of a primitive whose interpolated inputs are the same
    /// at every pixel (`inputs`, one value per attribute component): taken where the sink's
    /// colours depend on nothing else. The default declines.
    fn covered_rect_shaded(&mut self, rect: &CoveredRect, inputs: &[f32]) -> bool {
        let _ = (rect, inputs);
        false
    }

    /// The per-lane values this tile reads (asked once per primitive); everything by default.
    fn needs(&self) -> FragmentNeeds {
        FragmentNeeds::ALL
    }

    /// Receives a run of blocks; the same as [`TileFragments::batch`] on each covered block
    /// in order, which is what the default does. Sinks override it to amortise per-call work.
    fn run(&mut self, run: &FragmentRun<'_>) {
        for i in 0..run.blocks() {
            if let Some(batch) = run.batch(i) {
                if batch.mask != 0 {
                    self.batch(&batch);
                }
            }
        }
    }
}

/// A fragment consumer shared by the rasterizer's workers.
pub trait FragmentSink: Sync {
    type Tile: TileFragments;
    /// Starts tile `(x, y, width, height)` (pixels, clipped to the framebuffer).
    fn begin_tile(&self, x: u32, y: u32, width: u32, height: u32) -> Self::Tile;
    /// Ends a tile begun with [`FragmentSink::begin_tile`].
    fn end_tile(&self, tile: Self::Tile);
    /// Whether this sink's tiles may take covered rectangles at all
    /// ([`TileFragments::takes_rects`], [`TileFragments::takes_shaded_rects`]): the draw
    /// then sets rectangles made of two triangles up as one ([`super::RasterState::rect_pairs`]).
    /// The default: false.
    fn may_take_rects(&self) -> bool {
        false
    }
}

/// Counts covered samples per pixel and keeps the last fragment's depth, attributes and
/// facing — enough to check coverage rules, interpolation and determinism.
#[derive(Debug)]
pub struct CoverageSink {
    width: u32,
    height: u32,
    components: usize,
    images: Mutex<CoverageImages>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoverageImages {
    pub counts: Vec<u32>,
    pub depth: Vec<f32>,
    /// `components` values per pixel.
    pub attributes: Vec<f32>,
    pub front_facing: Vec<bool>,
}

/// A tile's share of a [`CoverageSink`], merged back when the tile ends.
#[derive(Debug)]
pub struct CoverageTile {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    components: usize,
    local: CoverageImages,
}

impl CoverageSink {
    /// A sink for a `width × height` framebuffer with `components` attribute components.
    pub fn new(width: u32, height: u32, components: usize) -> Self {
        let pixels = width as usize * height as usize;
        Self {
            width,
            height,
            components,
            images: Mutex::new(CoverageImages {
                counts: vec![0; pixels],
                depth: vec![f32::NAN; pixels],
                attributes: vec![f32::NAN; pixels * components],
                front_facing: vec![false; pixels],
            }),
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The images accumulated so far.
    pub fn images(&self) -> CoverageImages {
        self.images
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl FragmentSink for CoverageSink {
    type Tile = CoverageTile;

    fn begin_tile(&self, x: u32, y: u32, width: u32, height: u32) -> CoverageTile {
        let pixels = width as usize * height as usize;
        CoverageTile {
            x,
            y,
            width,
            height,
            components: self.components,
            local: CoverageImages {
                counts: vec![0; pixels],
                depth: vec![f32::NAN; pixels],
                attributes: vec![f32::NAN; pixels * self.components],
                front_facing: vec![false; pixels],
            },
        }
    }

    fn end_tile(&self, tile: CoverageTile) {
        let mut images = self.images.lock().unwrap_or_else(PoisonError::into_inner);
        let c = self.components;
        for ty in 0..tile.height {
            for tx in 0..tile.width {
                let local = (ty * tile.width + tx) as usize;
                if tile.local.counts[local] == 0 {
                    continue;
                }
                let global = ((tile.y + ty) * self.width + tile.x + tx) as usize;
                images.counts[global] += tile.local.counts[local];
                images.depth[global] = tile.local.depth[local];
                images.front_facing[global] = tile.local.front_facing[local];
                images.attributes[global * c..(global + 1) * c]
                    .copy_from_slice(&tile.local.attributes[local * c..(local + 1) * c]);
            }
        }
    }
}

impl TileFragments for CoverageTile {
    fn batch(&mut self, batch: &FragmentBatch<'_>) {
        for lane in 0..LANES {
            if batch.mask & (1 << lane) == 0 {
                continue;
            }
            let (dx, dy) = lane_offset(lane);
            let (px, py) = (batch.x + dx, batch.y + dy);
            // The rasterizer only sets mask bits inside the tile; a stray one is ignored.
            if px < self.x || py < self.y || px >= self.x + self.width || py >= self.y + self.height
            {
                continue;
            }
            let i = ((py - self.y) * self.width + px - self.x) as usize;
            self.local.counts[i] += 1;
            self.local.depth[i] = batch.depth[lane];
            self.local.front_facing[i] = batch.front_facing;
            for (c, values) in batch.attributes.iter().enumerate().take(self.components) {
                self.local.attributes[i * self.components + c] = values[lane];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_cover_a_four_by_two_block_once() {
        let mut seen = [[false; 4]; 2];
        for lane in 0..LANES {
            let (x, y) = lane_offset(lane);
            assert!(!seen[y as usize][x as usize]);
            seen[y as usize][x as usize] = true;
        }
        assert_eq!(lane_offset(3), (1, 1));
        assert_eq!(lane_offset(4), (2, 0));
    }

    #[test]
    fn coverage_tile_merges_into_global_position() {
        let sink = CoverageSink::new(8, 4, 1);
        let mut tile = sink.begin_tile(4, 2, 4, 2);
        let attrs = [[7.0; LANES]];
        tile.batch(&FragmentBatch {
            x: 4,
            y: 2,
            mask: 0b1000_0001,
            front_facing: true,
            primitive: 0,
            depth: [0.25; LANES],
            inv_w: [1.0; LANES],
            attributes: &attrs,
            point_coord: [[0.5; LANES]; 2],
        });
        sink.end_tile(tile);
        let images = sink.images();
        assert_eq!(images.counts.iter().sum::<u32>(), 2);
        assert_eq!(images.counts[2 * 8 + 4], 1);
        assert_eq!(images.counts[3 * 8 + 7], 1);
        assert_eq!(images.attributes[3 * 8 + 7], 7.0);
    }
}
