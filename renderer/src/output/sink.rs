//! [`OutputSink`]: the [`FragmentSink`] that runs the fragment operations and writes the
//! attachments. See the module docs of [`super`] for the tile-ownership invariant.
//!
//! Each batch is one 4×2 block: every attachment is addressed once per block
//! ([`Image::block_layout`], computed once per draw, then [`Image::read_block`] /
//! [`Image::write_block`]), colours go through the block path of [`super::color_block`]
//! where the format has a fast codec and texel by texel inside the block otherwise. Blocks a
//! LINEAR attachment cannot give whole (its right and bottom edges) go texel by texel.

use std::sync::{Arc, Mutex, PoisonError};

use crate::format::{
    pack_color, unpack_color, ColorValue, Format, FormatError, NumericClass, ValueKind,
};
use crate::image::{BlockLayout, BlockRows, Image, BLOCK_TEXELS};
use crate::raster::{lane_offset, FragmentBatch, FragmentSink, Rect, TileFragments, LANES};

use super::blend::{blend, clamp_for, write_byte_mask, MAX_TEXEL};
use super::color_block::{BlockShading, ColorCodec, LANE_PIXEL, PIXEL_LANE};
use super::depth_stencil::{clamp_depth, DepthStencilTest};
use super::state::{component, BlendState};
use super::{
    AttachmentSlot, ColorAttachment, DepthStencilAttachment, FragmentOutputs, FragmentShader,
    OutputError, OutputState, MAX_COLOR_ATTACHMENTS,
};

/// Largest depth/stencil texel (D32_SFLOAT_S8_UINT).
const MAX_DS_TEXEL: usize = 8;

/// A lane mask as a pixel mask: lanes 0, 1, 4, 5 are the top row's pixels 0–3 and lanes 2,
/// 3, 6, 7 the bottom row's (see [`LANE_PIXEL`]), so bits 2–3 and 4–5 trade places.
fn lanes_to_pixels(lanes: u8) -> u8 {
    (lanes & 0b1100_0011) | ((lanes & 0b0000_1100) << 2) | ((lanes & 0b0011_0000) >> 2)
}

/// A pixel mask as a lane mask (the same exchange, which is its own inverse).
fn pixels_to_lanes(pixels: u8) -> u8 {
    lanes_to_pixels(pixels)
}

/// Counts of one draw, for tests and statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputStats {
    /// Lanes handed to the fragment shader as live.
    pub shaded: u64,
    /// Fragments that passed every test and reached the colour attachments.
    pub written: u64,
}

/// A colour attachment resolved for writing.
struct ColorTarget {
    image: Image,
    level: u32,
    layer: u32,
    layout: BlockLayout,
    format: Format,
    class: NumericClass,
    texel_size: usize,
    /// The block path (used when `shading.codec` is not `Generic`).
    shading: BlockShading,
    blend: BlendState,
    /// Blending on and the format blendable (integer formats never blend).
    blending: bool,
    /// Packed-texel bytes the write mask lets through.
    byte_mask: [u8; MAX_TEXEL],
    /// [`Self::byte_mask`] for each texel of a block.
    block_mask: [u8; BLOCK_TEXELS * MAX_TEXEL],
    /// The write mask lets every bit through: the old texel need not be read unless blending.
    full_write: bool,
    /// Blend constants clamped for this attachment's class.
    constants: [f32; 4],
}

impl ColorTarget {
    fn needs_old(&self) -> bool {
        self.blending || !self.full_write
    }
}

struct DepthStencilTarget {
    image: Image,
    level: u32,
    layer: u32,
    layout: BlockLayout,
    texel_size: usize,
    test: DepthStencilTest,
}

struct Shared<S> {
    shader: S,
    colors: Vec<ColorTarget>,
    depth_stencil: Option<DepthStencilTarget>,
    /// Render area as [x0, x1) × [y0, y1).
    area: [u32; 4],
    early: bool,
    /// Every access texel by texel with the format-generic conversions: the reference the
    /// block paths are tested against.
    per_texel: bool,
    totals: Mutex<(OutputStats, Option<OutputError>)>,
}

/// Writes fragments into attachments; one per draw.
pub struct OutputSink<S> {
    shared: Arc<Shared<S>>,
}

/// One tile's view of an [`OutputSink`]: it touches only pixels of its tile.
pub struct OutputTile<S> {
    shared: Arc<Shared<S>>,
    state: TileState,
}

/// The mutable part of an [`OutputTile`] (kept apart so batches borrow the shared part
/// without touching its reference count).
struct TileState {
    /// Tile ∩ render area as [x0, x1) × [y0, y1).
    bounds: [u32; 4],
    outputs: Box<FragmentOutputs>,
    stats: OutputStats,
    error: Option<OutputError>,
}

fn check_subresource(
    image: &Image,
    level: u32,
    layer: u32,
    slot: AttachmentSlot,
    area: [u32; 4],
    render_area: Rect,
) -> Result<BlockLayout, OutputError> {
    let desc = image.desc();
    if level >= desc.mip_levels || layer >= desc.array_layers {
        return Err(OutputError::NoSuchSubresource { slot, level, layer });
    }
    let [w, h, _] = desc.mip_extent(level);
    if area[1] > w || area[3] > h {
        return Err(OutputError::RenderAreaOutside {
            slot,
            area: render_area,
        });
    }
    Ok(image.block_layout(level, layer)?)
}

impl<S: FragmentShader> OutputSink<S> {
    /// Resolves the attachments and state for one draw; refuses what is not supported
    /// (logic ops, dual-source blending) or does not fit (render area outside an attachment).
    pub fn new(
        state: &OutputState,
        colors: &[ColorAttachment],
        depth_stencil: Option<&DepthStencilAttachment>,
        shader: S,
    ) -> Result<Self, OutputError> {
        if let Some(op) = state.logic_op {
            return Err(OutputError::LogicOpUnsupported(op));
        }
        if colors.len() > MAX_COLOR_ATTACHMENTS {
            return Err(OutputError::TooManyColorAttachments(colors.len()));
        }
        let ra = state.render_area;
        let outside = |slot| OutputError::RenderAreaOutside { slot, area: ra };
        let x0 = u32::try_from(ra.x).map_err(|_| outside(AttachmentSlot::Color(0)))?;
        let y0 = u32::try_from(ra.y).map_err(|_| outside(AttachmentSlot::Color(0)))?;
        let x1 = x0
            .checked_add(ra.width)
            .ok_or_else(|| outside(AttachmentSlot::Color(0)))?;
        let y1 = y0
            .checked_add(ra.height)
            .ok_or_else(|| outside(AttachmentSlot::Color(0)))?;
        let area = [x0, x1, y0, y1];

        let mut targets = Vec::with_capacity(colors.len());
        for (index, a) in colors.iter().enumerate() {
            let format = a.image.format();
            if !format.is_color() {
                return Err(OutputError::NotColorFormat { index, format });
            }
            if a.blend.enable && a.blend.factors().iter().any(|f| f.is_dual_source()) {
                return Err(OutputError::DualSourceBlend(index));
            }
            let slot = AttachmentSlot::Color(index);
            let layout = check_subresource(&a.image, a.level, a.layer, slot, area, ra)?;
            let class = format.info().class;
            let texel_size = format.texel_size() as usize;
            let byte_mask = write_byte_mask(format, a.blend.write_mask);
            let full_mask = write_byte_mask(format, component::ALL);
            let blending = a.blend.enable && class.value_kind() == ValueKind::Float;
            targets.push(ColorTarget {
                image: a.image.clone(),
                level: a.level,
                layer: a.layer,
                layout,
                format,
                class,
                texel_size,
                shading: BlockShading::new(
                    ColorCodec::for_format(format),
                    class,
                    a.blend,
                    blending,
                    clamp_for(class, state.blend_constants),
                ),
                blend: a.blend,
                blending,
                full_write: byte_mask[..texel_size] == full_mask[..texel_size],
                byte_mask,
                block_mask: std::array::from_fn(|i| byte_mask[i % texel_size]),
                constants: clamp_for(class, state.blend_constants),
            });
        }
        let ds = match depth_stencil {
            None => None,
            Some(a) => {
                let format = a.image.format();
                if !(format.has_depth() || format.has_stencil()) {
                    return Err(OutputError::NotDepthStencilFormat(format));
                }
                let slot = AttachmentSlot::DepthStencil;
                let layout = check_subresource(&a.image, a.level, a.layer, slot, area, ra)?;
                let test = DepthStencilTest::new(format, state.depth, state.stencil);
                test.is_active().then(|| DepthStencilTarget {
                    image: a.image.clone(),
                    level: a.level,
                    layer: a.layer,
                    layout,
                    texel_size: format.texel_size() as usize,
                    test,
                })
            }
        };
        Ok(Self {
            shared: Arc::new(Shared {
                shader,
                colors: targets,
                depth_stencil: ds,
                area,
                early: state.early_fragment_tests,
                per_texel: false,
                totals: Mutex::new((OutputStats::default(), None)),
            }),
        })
    }

    /// This sink with every access texel by texel through the format-generic conversions:
    /// the reference the block paths are tested against.
    #[cfg(test)]
    pub(super) fn per_texel(mut self) -> Option<Self> {
        Arc::get_mut(&mut self.shared)?.per_texel = true;
        Some(self)
    }

    /// The draw's counts, or the first error met while writing (an attachment access that
    /// failed; the fragment concerned was dropped).
    pub fn finish(&self) -> Result<OutputStats, OutputError> {
        let totals = self
            .shared
            .totals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &totals.1 {
            Some(e) => Err(e.clone()),
            None => Ok(totals.0),
        }
    }
}

impl<S: FragmentShader> FragmentSink for OutputSink<S> {
    type Tile = OutputTile<S>;

    fn begin_tile(&self, x: u32, y: u32, width: u32, height: u32) -> OutputTile<S> {
        let [ax0, ax1, ay0, ay1] = self.shared.area;
        let bounds = [
            x.max(ax0),
            x.saturating_add(width).min(ax1),
            y.max(ay0),
            y.saturating_add(height).min(ay1),
        ];
        OutputTile {
            shared: Arc::clone(&self.shared),
            state: TileState {
                bounds,
                outputs: Box::default(),
                stats: OutputStats::default(),
                error: None,
            },
        }
    }

    fn end_tile(&self, tile: OutputTile<S>) {
        let mut totals = self
            .shared
            .totals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        totals.0.shaded += tile.state.stats.shaded;
        totals.0.written += tile.state.stats.written;
        if totals.1.is_none() {
            totals.1 = tile.state.error;
        }
    }
}

impl<S: FragmentShader> TileFragments for OutputTile<S> {
    fn batch(&mut self, batch: &FragmentBatch<'_>) {
        self.state.batch(&self.shared, batch);
    }
}

impl TileState {
    fn record(&mut self, error: impl Into<OutputError>) {
        if self.error.is_none() {
            self.error = Some(error.into());
        }
    }

    fn batch<S: FragmentShader>(&mut self, shared: &Shared<S>, batch: &FragmentBatch<'_>) {
        let mut live = self.clip(batch);
        if live == 0 {
            return;
        }
        let mut depth = match shared.depth_stencil {
            Some(_) => batch.depth.map(clamp_depth),
            None => batch.depth,
        };
        let tested = shared.depth_stencil.is_some();
        if shared.early {
            if tested {
                live = self.depth_stencil(shared, batch, live, &depth);
            }
            if live == 0 {
                return;
            }
            self.outputs.depth = batch.depth;
            self.outputs.depth_written = false;
            self.stats.shaded += u64::from(live.count_ones());
            live &= shared.shader.shade(batch, live, &mut self.outputs);
        } else {
            self.outputs.depth = batch.depth;
            self.outputs.depth_written = false;
            self.stats.shaded += u64::from(live.count_ones());
            live &= shared.shader.shade(batch, live, &mut self.outputs);
            if self.outputs.depth_written {
                depth = self.outputs.depth.map(clamp_depth);
            }
            if tested {
                live = self.depth_stencil(shared, batch, live, &depth);
            }
        }
        if live == 0 {
            return;
        }
        self.stats.written += u64::from(live.count_ones());
        for (index, target) in shared.colors.iter().enumerate() {
            match target.layout.rows(batch.x, batch.y) {
                Some(rows) if !shared.per_texel => {
                    self.write_color_block(target, index, rows, live);
                }
                _ => {
                    for lane in (0..LANES).filter(|l| live & (1 << l) != 0) {
                        let (dx, dy) = lane_offset(lane);
                        let coord = [batch.x + dx, batch.y + dy, 0];
                        self.write_color_texel(target, index, coord, lane);
                    }
                }
            }
        }
    }

    /// Lanes of `mask` whose pixel lies in this tile's part of the render area.
    fn clip(&self, batch: &FragmentBatch<'_>) -> u8 {
        let [x0, x1, y0, y1] = self.bounds;
        let (bx, by) = (batch.x, batch.y);
        if bx >= x0 && by >= y0 && bx.saturating_add(4) <= x1 && by.saturating_add(2) <= y1 {
            return batch.mask;
        }
        let mut live = 0;
        for lane in 0..LANES {
            let (dx, dy) = lane_offset(lane);
            let (px, py) = (bx.saturating_add(dx), by.saturating_add(dy));
            if batch.mask & (1 << lane) != 0 && px >= x0 && px < x1 && py >= y0 && py < y1 {
                live |= 1 << lane;
            }
        }
        live
    }

    /// Depth bounds, stencil and depth tests of the `live` lanes; returns the survivors.
    fn depth_stencil<S>(
        &mut self,
        shared: &Shared<S>,
        batch: &FragmentBatch<'_>,
        live: u8,
        depth: &[f32; LANES],
    ) -> u8 {
        let Some(ds) = &shared.depth_stencil else {
            return live;
        };
        let ts = ds.texel_size;
        let rows = match ds.layout.rows(batch.x, batch.y) {
            Some(rows) if !shared.per_texel => rows,
            _ => return self.depth_stencil_texels(ds, batch, live, depth),
        };
        let mut block = [0u8; BLOCK_TEXELS * MAX_DS_TEXEL];
        let block = &mut block[..BLOCK_TEXELS * ts];
        if let Err(e) = ds.image.read_block(&ds.layout, rows, block) {
            self.record(e);
            return 0;
        }
        if let Some(encoding) = ds.test.depth_only() {
            let pixels = lanes_to_pixels(live);
            let z = PIXEL_LANE.map(|lane| depth[lane]);
            let passed = ds.test.test_depth_block(encoding, block, ts, pixels, &z);
            if ds.test.depth.write_enable && passed != 0 {
                if let Err(e) = ds.image.write_block(&ds.layout, rows, block, passed) {
                    self.record(e);
                }
            }
            return pixels_to_lanes(passed);
        }
        let (mut passed, mut modified) = (0u8, 0u8);
        for lane in (0..LANES).filter(|l| live & (1 << l) != 0) {
            let p = LANE_PIXEL[lane];
            let texel = &mut block[p * ts..(p + 1) * ts];
            match ds.test.test(texel, batch.front_facing, depth[lane]) {
                Ok(outcome) => {
                    if outcome.modified {
                        modified |= 1 << p;
                    }
                    if outcome.passed {
                        passed |= 1 << lane;
                    }
                }
                Err(e) => self.record(e),
            }
        }
        if modified != 0 {
            if let Err(e) = ds.image.write_block(&ds.layout, rows, block, modified) {
                self.record(e);
            }
        }
        passed
    }

    /// [`Self::depth_stencil`] texel by texel.
    fn depth_stencil_texels(
        &mut self,
        ds: &DepthStencilTarget,
        batch: &FragmentBatch<'_>,
        live: u8,
        depth: &[f32; LANES],
    ) -> u8 {
        let mut passed = 0;
        let mut texel = [0u8; MAX_DS_TEXEL];
        let texel = &mut texel[..ds.texel_size];
        for lane in (0..LANES).filter(|l| live & (1 << l) != 0) {
            let (dx, dy) = lane_offset(lane);
            let coord = [batch.x + dx, batch.y + dy, 0];
            if let Err(e) = ds.image.read_texel(ds.level, ds.layer, coord, texel) {
                self.record(e);
                continue;
            }
            match ds.test.test(texel, batch.front_facing, depth[lane]) {
                Ok(outcome) => {
                    if outcome.modified {
                        if let Err(e) = ds.image.write_texel(ds.level, ds.layer, coord, texel) {
                            self.record(e);
                        }
                    }
                    if outcome.passed {
                        passed |= 1 << lane;
                    }
                }
                Err(e) => self.record(e),
            }
        }
        passed
    }

    /// Blends (where enabled) and writes the `live` lanes' outputs into colour attachment
    /// `index`, whose block at the batch is `rows`.
    fn write_color_block(&mut self, target: &ColorTarget, index: usize, rows: BlockRows, live: u8) {
        let ts = target.texel_size;
        let n = BLOCK_TEXELS * ts;
        let mut old = [0u8; BLOCK_TEXELS * MAX_TEXEL];
        let mut new = [0u8; BLOCK_TEXELS * MAX_TEXEL];
        let (old, new) = (&mut old[..n], &mut new[..n]);
        if target.needs_old() {
            if let Err(e) = target.image.read_block(&target.layout, rows, old) {
                return self.record(e);
            }
        }
        let mut pixels = lanes_to_pixels(live);
        let words = &self.outputs.color[index];
        if target.shading.codec == ColorCodec::Generic {
            let mut failed = None;
            for (p, &lane) in PIXEL_LANE.iter().enumerate() {
                if pixels & (1 << p) == 0 {
                    continue;
                }
                let span = p * ts..(p + 1) * ts;
                let texel_words = [
                    words[0][lane],
                    words[1][lane],
                    words[2][lane],
                    words[3][lane],
                ];
                let texel = color_texel(target, texel_words, &old[span.clone()]);
                let packed = texel.and_then(|v| Ok(pack_color(target.format, v, &mut new[span])?));
                if let Err(e) = packed {
                    pixels &= !(1 << p);
                    failed.get_or_insert(e);
                }
            }
            if let Some(e) = failed {
                self.record(e);
            }
        } else {
            target.shading.shade(words, old, new);
        }
        if !target.full_write {
            for ((n, o), m) in new.iter_mut().zip(old.iter()).zip(&target.block_mask) {
                *n = (*n & m) | (*o & !m);
            }
        }
        if let Err(e) = target.image.write_block(&target.layout, rows, new, pixels) {
            self.record(e);
        }
    }

    /// Blends (where enabled) and writes lane `lane`'s output into colour attachment `index`
    /// at `coord`, addressing the texel on its own.
    fn write_color_texel(
        &mut self,
        target: &ColorTarget,
        index: usize,
        coord: [u32; 3],
        lane: usize,
    ) {
        let n = target.texel_size;
        let mut old = [0u8; MAX_TEXEL];
        let mut new = [0u8; MAX_TEXEL];
        let (old, new) = (&mut old[..n], &mut new[..n]);
        if target.needs_old() {
            if let Err(e) = target
                .image
                .read_texel(target.level, target.layer, coord, old)
            {
                return self.record(e);
            }
        }
        let value = match color_texel(target, self.outputs.words(index, lane), old) {
            Ok(v) => v,
            Err(e) => return self.record(e),
        };
        if let Err(e) = pack_color(target.format, value, new) {
            return self.record(e);
        }
        if !target.full_write {
            for ((n, o), m) in new.iter_mut().zip(old.iter()).zip(&target.byte_mask) {
                *n = (*n & m) | (*o & !m);
            }
        }
        if let Err(e) = target
            .image
            .write_texel(target.level, target.layer, coord, new)
        {
            self.record(e);
        }
    }
}

/// The value one fragment with output `words` writes over the packed texel `old` (read only
/// when blending): blended where enabled, ready for `pack_color`.
fn color_texel(
    target: &ColorTarget,
    words: [u32; 4],
    old: &[u8],
) -> Result<ColorValue, OutputError> {
    Ok(match target.class.value_kind() {
        ValueKind::Uint => ColorValue::Uint(words),
        ValueKind::Sint => ColorValue::Sint(words.map(|w| w as i32)),
        ValueKind::Float if !target.blending => ColorValue::Float(words.map(f32::from_bits)),
        ValueKind::Float => {
            let src = clamp_for(target.class, words.map(f32::from_bits));
            let dst = match unpack_color(target.format, old)? {
                ColorValue::Float(d) => clamp_for(target.class, d),
                _ => {
                    return Err(FormatError::NotColor {
                        format: target.format,
                    }
                    .into())
                }
            };
            ColorValue::Float(blend(
                &target.blend,
                target.class,
                src,
                dst,
                &target.constants,
            ))
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lane_and_pixel_masks_map_through_the_lane_offsets() {
        for lanes in 0..=255u8 {
            let want = (0..LANES)
                .filter(|l| lanes & (1 << l) != 0)
                .fold(0u8, |m, l| m | 1 << LANE_PIXEL[l]);
            assert_eq!(lanes_to_pixels(lanes), want);
            assert_eq!(pixels_to_lanes(want), lanes);
        }
    }
    use crate::image::{ImageDesc, ImageType, Tiling};
    use crate::output::state::{BlendFactor, BlendOp, DepthState};

    /// One 8-pixel batch into a 4×2 `format` image holding `old`, with colour outputs
    /// `values` per lane; the generic path when `generic`. Returns the image's bytes.
    fn write_batch(
        format: Format,
        blend: BlendState,
        old: &[u8],
        values: [[u32; 4]; LANES],
        generic: bool,
    ) -> Vec<u8> {
        let image = Image::new_host(ImageDesc {
            image_type: ImageType::D2,
            format,
            extent: [4, 2, 1],
            mip_levels: 1,
            array_layers: 1,
            tiling: Tiling::Optimal,
        })
        .unwrap();
        for (i, texel) in old.chunks(4).enumerate() {
            let coord = [i as u32 % 4, i as u32 / 4, 0];
            image.write_texel(0, 0, coord, texel).unwrap();
        }
        let state = OutputState {
            render_area: Rect {
                x: 0,
                y: 0,
                width: 4,
                height: 2,
            },
            depth: DepthState::DISABLED,
            stencil: None,
            blend_constants: [0.3, 0.6, 0.9, 0.25],
            logic_op: None,
            early_fragment_tests: true,
        };
        let shader = move |_: &FragmentBatch<'_>, live: u8, out: &mut FragmentOutputs| {
            for (lane, value) in values.iter().enumerate() {
                out.set_uint(0, lane, *value);
            }
            live
        };
        let attachment = ColorAttachment {
            image: image.clone(),
            level: 0,
            layer: 0,
            blend,
        };
        let mut sink = OutputSink::new(&state, &[attachment], None, shader).unwrap();
        if generic {
            Arc::get_mut(&mut sink.shared).unwrap().per_texel = true;
        }
        let mut tile = sink.begin_tile(0, 0, 4, 2);
        tile.batch(&FragmentBatch {
            x: 0,
            y: 0,
            mask: 0xff,
            front_facing: true,
            primitive: 0,
            depth: [0.5; LANES],
            inv_w: [1.0; LANES],
            barycentric: [[0.0; LANES]; 3],
            attributes: &[],
            point_coord: [[0.5; LANES]; 2],
        });
        sink.end_tile(tile);
        sink.finish().unwrap();
        (0..8u32)
            .flat_map(|i| {
                let mut t = [0u8; 4];
                image.read_texel(0, 0, [i % 4, i / 4, 0], &mut t).unwrap();
                t
            })
            .collect()
    }

    #[test]
    fn the_unorm8_path_writes_exactly_what_the_generic_path_writes() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            seed.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32
        };
        let subtract = BlendState {
            src_color: BlendFactor::ConstantColor,
            dst_color: BlendFactor::OneMinusSrcColor,
            color_op: BlendOp::ReverseSubtract,
            src_alpha: BlendFactor::DstAlpha,
            dst_alpha: BlendFactor::One,
            alpha_op: BlendOp::Max,
            ..BlendState::ALPHA
        };
        let blends = [
            BlendState::REPLACE,
            BlendState::ALPHA,
            BlendState {
                write_mask: component::R | component::A,
                ..BlendState::ALPHA
            },
            BlendState {
                write_mask: component::G,
                ..BlendState::REPLACE
            },
            subtract,
        ];
        let specials = [f32::NAN, f32::INFINITY, -0.0, 1.0, 0.5 / 255.0];
        for format in [Format::R8G8B8A8_UNORM, Format::B8G8R8A8_UNORM] {
            for blend in blends {
                for round in 0..50 {
                    let old: Vec<u8> = (0..32).map(|_| next() as u8).collect();
                    let values: [[u32; 4]; LANES] = std::array::from_fn(|lane| {
                        std::array::from_fn(|c| {
                            let v = if round == 0 {
                                specials[(lane + c) % specials.len()]
                            } else {
                                (next() % 2000) as f32 / 1000.0 - 0.5
                            };
                            v.to_bits()
                        })
                    });
                    assert_eq!(
                        write_batch(format, blend, &old, values, false),
                        write_batch(format, blend, &old, values, true),
                        "{format:?} {blend:?} {values:?}"
                    );
                }
            }
        }
    }
}
