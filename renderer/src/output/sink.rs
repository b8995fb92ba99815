//! [`OutputSink`]: the [`FragmentSink`] that runs the fragment operations and writes the
//! attachments. See the module docs of [`super`] for the tile-ownership invariant.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::format::convert::{float_to_unorm, unorm_to_float};
use crate::format::{pack_color, unpack_color, ColorValue, Format, NumericClass, ValueKind};
use crate::image::Image;
use crate::raster::{lane_offset, FragmentBatch, FragmentSink, Rect, TileFragments, LANES};

use super::blend::{blend, clamp_for, write_byte_mask, MAX_TEXEL};
use super::depth_stencil::{clamp_depth, DepthStencilTest};
use super::state::{component, BlendState};
use super::{
    AttachmentSlot, ColorAttachment, DepthStencilAttachment, FragmentOutputs, FragmentShader,
    OutputError, OutputState, MAX_COLOR_ATTACHMENTS,
};

/// Largest depth/stencil texel (D32_SFLOAT_S8_UINT).
const MAX_DS_TEXEL: usize = 8;

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
    format: Format,
    class: NumericClass,
    texel_size: usize,
    blend: BlendState,
    /// Blending on and the format blendable (integer formats never blend).
    blending: bool,
    /// Packed-texel bytes the write mask lets through.
    byte_mask: [u8; MAX_TEXEL],
    /// The write mask lets every bit through: the old texel need not be read unless blending.
    full_write: bool,
    /// Blend constants clamped for this attachment's class.
    constants: [f32; 4],
    /// For the 8-bit UNORM RGBA / BGRA formats: the byte of R, G, B and A in the texel, for
    /// the direct path of [`OutputTile::write_unorm8`].
    unorm8: Option<[usize; 4]>,
}

/// `unorm_to_float(code, 8)` for every code.
fn unorm8_table() -> &'static [f32; 256] {
    static TABLE: OnceLock<[f32; 256]> = OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|code| unorm_to_float(code as u32, 8)))
}

struct DepthStencilTarget {
    image: Image,
    level: u32,
    layer: u32,
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
    totals: Mutex<(OutputStats, Option<OutputError>)>,
}

/// Writes fragments into attachments; one per draw.
pub struct OutputSink<S> {
    shared: Arc<Shared<S>>,
}

/// One tile's view of an [`OutputSink`]: it touches only pixels of its tile.
pub struct OutputTile<S> {
    shared: Arc<Shared<S>>,
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
) -> Result<(), OutputError> {
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
    Ok(())
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
            check_subresource(&a.image, a.level, a.layer, slot, area, ra)?;
            let class = format.info().class;
            let texel_size = format.texel_size() as usize;
            let byte_mask = write_byte_mask(format, a.blend.write_mask);
            let full_mask = write_byte_mask(format, component::ALL);
            targets.push(ColorTarget {
                image: a.image.clone(),
                level: a.level,
                layer: a.layer,
                format,
                class,
                texel_size,
                blend: a.blend,
                blending: a.blend.enable && class.value_kind() == ValueKind::Float,
                full_write: byte_mask[..texel_size] == full_mask[..texel_size],
                byte_mask,
                constants: clamp_for(class, state.blend_constants),
                unorm8: match format {
                    Format::R8G8B8A8_UNORM => Some([0, 1, 2, 3]),
                    Format::B8G8R8A8_UNORM => Some([2, 1, 0, 3]),
                    _ => None,
                },
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
                check_subresource(&a.image, a.level, a.layer, slot, area, ra)?;
                let test = DepthStencilTest::new(format, state.depth, state.stencil);
                test.is_active().then(|| DepthStencilTarget {
                    image: a.image.clone(),
                    level: a.level,
                    layer: a.layer,
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
                totals: Mutex::new((OutputStats::default(), None)),
            }),
        })
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
            bounds,
            outputs: Box::default(),
            stats: OutputStats::default(),
            error: None,
        }
    }

    fn end_tile(&self, tile: OutputTile<S>) {
        let mut totals = self
            .shared
            .totals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        totals.0.shaded += tile.stats.shaded;
        totals.0.written += tile.stats.written;
        if totals.1.is_none() {
            totals.1 = tile.error;
        }
    }
}

impl<S: FragmentShader> OutputTile<S> {
    fn record(&mut self, error: impl Into<OutputError>) {
        if self.error.is_none() {
            self.error = Some(error.into());
        }
    }

    /// Lanes of `mask` whose pixel lies in this tile's part of the render area.
    fn clip(&self, batch: &FragmentBatch<'_>) -> u8 {
        let [x0, x1, y0, y1] = self.bounds;
        let mut live = 0;
        for lane in 0..LANES {
            let (dx, dy) = lane_offset(lane);
            let (px, py) = (batch.x.saturating_add(dx), batch.y.saturating_add(dy));
            if batch.mask & (1 << lane) != 0 && px >= x0 && px < x1 && py >= y0 && py < y1 {
                live |= 1 << lane;
            }
        }
        live
    }

    /// Depth bounds, stencil and depth tests of the `live` lanes; returns the survivors.
    fn depth_stencil(&mut self, batch: &FragmentBatch<'_>, live: u8, depth: &[f32; LANES]) -> u8 {
        let shared = Arc::clone(&self.shared);
        let Some(ds) = &shared.depth_stencil else {
            return live;
        };
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

    /// Blends (where enabled) and writes lane `lane`'s output into colour attachment `index`.
    fn write_color(&mut self, target: &ColorTarget, index: usize, coord: [u32; 3], lane: usize) {
        let words = self.outputs.color[index][lane];
        if let Some(order) = target.unorm8 {
            return self.write_unorm8(target, order, words, coord);
        }
        let n = target.texel_size;
        let mut old = [0u8; MAX_TEXEL];
        let mut new = [0u8; MAX_TEXEL];
        let (old, new) = (&mut old[..n], &mut new[..n]);
        if target.blending || !target.full_write {
            if let Err(e) = target
                .image
                .read_texel(target.level, target.layer, coord, old)
            {
                return self.record(e);
            }
        }
        let value = match target.class.value_kind() {
            ValueKind::Uint => ColorValue::Uint(words),
            ValueKind::Sint => ColorValue::Sint(words.map(|w| w as i32)),
            ValueKind::Float if !target.blending => ColorValue::Float(words.map(f32::from_bits)),
            ValueKind::Float => {
                let src = clamp_for(target.class, words.map(f32::from_bits));
                let dst = match unpack_color(target.format, old) {
                    Ok(ColorValue::Float(d)) => clamp_for(target.class, d),
                    Ok(_) => return,
                    Err(e) => return self.record(e),
                };
                ColorValue::Float(blend(
                    &target.blend,
                    target.class,
                    src,
                    dst,
                    &target.constants,
                ))
            }
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

impl<S: FragmentShader> OutputTile<S> {
    /// [`OutputTile::write_color`] for an 8-bit UNORM RGBA / BGRA attachment whose byte
    /// order is `order`: the same conversions and blend (`unorm_to_float` / `float_to_unorm`
    /// of 8 bits, [`blend`]), without the format-generic unpack and pack.
    fn write_unorm8(
        &mut self,
        target: &ColorTarget,
        order: [usize; 4],
        words: [u32; 4],
        coord: [u32; 3],
    ) {
        let src = words.map(f32::from_bits);
        let texel = |old: [u8; 4]| {
            let value = if target.blending {
                let table = unorm8_table();
                let dst = order.map(|at| table[usize::from(old[at])]);
                blend(
                    &target.blend,
                    target.class,
                    clamp_for(target.class, src),
                    dst,
                    &target.constants,
                )
            } else {
                src
            };
            let mut new = [0u8; 4];
            for (channel, &at) in order.iter().enumerate() {
                new[at] = float_to_unorm(value[channel], 8) as u8;
            }
            if !target.full_write {
                for ((n, o), m) in new.iter_mut().zip(old).zip(&target.byte_mask) {
                    *n = (*n & m) | (o & !m);
                }
            }
            new
        };
        let (level, layer) = (target.level, target.layer);
        let written = if target.blending || !target.full_write {
            target.image.update_texel(level, layer, coord, texel)
        } else {
            target
                .image
                .write_texel(level, layer, coord, &texel([0; 4]))
        };
        if let Err(e) = written {
            self.record(e);
        }
    }
}

impl<S: FragmentShader> TileFragments for OutputTile<S> {
    fn batch(&mut self, batch: &FragmentBatch<'_>) {
        let mut live = self.clip(batch);
        if live == 0 {
            return;
        }
        let shared = Arc::clone(&self.shared);
        let mut depth = batch.depth.map(clamp_depth);
        if shared.early {
            live = self.depth_stencil(batch, live, &depth);
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
            live = self.depth_stencil(batch, live, &depth);
        }
        if live == 0 {
            return;
        }
        self.stats.written += u64::from(live.count_ones());
        for lane in (0..LANES).filter(|l| live & (1 << l) != 0) {
            let (dx, dy) = lane_offset(lane);
            let coord = [batch.x + dx, batch.y + dy, 0];
            for (index, target) in shared.colors.iter().enumerate() {
                self.write_color(target, index, coord, lane);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
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
            out.color[0] = values;
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
            Arc::get_mut(&mut sink.shared).unwrap().colors[0].unorm8 = None;
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
