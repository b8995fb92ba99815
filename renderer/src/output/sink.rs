//! [`OutputSink`]: the [`FragmentSink`] that runs the fragment operations and writes the
//! attachments. See the module docs of [`super`] for the tile-ownership invariant.
//!
//! The rasterizer hands over runs of 4×2 blocks ([`FragmentRun`]; a single batch is a run of
//! one block). A run is clipped to the tile's part of the render area once, tested against
//! depth/stencil block by block (early, before the shader, or late), shaded with one
//! [`FragmentShader::shade_run`] call, and written to each colour attachment over its whole
//! blocks ([`super::targets`]); the attachments' memory is resolved once per draw
//! ([`crate::image::BlockAccess`]) and each run's blocks bounds-checked once
//! ([`crate::image::BlockSpan`]). Blocks a LINEAR attachment cannot give whole (its right and
//! bottom edges) go texel by texel.
//!
//! Where nothing differs from fragment to fragment, the rasterizer's covered rectangles
//! ([`CoveredRect`]) are written whole instead: with no active depth/stencil test, a shader
//! whose colours are constants for the draw ([`TileState::covered_rect`]), or whose colours
//! depend only on inputs that are constant over the primitive, evaluated once per rectangle
//! ([`TileState::covered_rect_shaded`]). Each attachment then blends one source texel in
//! fixed point or stores one packed texel, micro-tile row by micro-tile row. A shader that
//! only copies one sampled texel into a single RGBA8/BGRA8 UNORM attachment, unblended and
//! untested, has its covered rectangles sampled by the copy kernel instead of shaded
//! ([`TileState::sampled_rect`], `crate::sampler`'s copy sampler): packed texels stored
//! block by block, no kernel call and no f32 colour.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::format::ValueKind;
use crate::image::{Image, ImageError};
use crate::raster::{
    CoveredRect, FragmentBatch, FragmentNeeds, FragmentRun, FragmentSink, Rect, TileFragments,
    LANES, RUN_BLOCKS,
};

use super::blend::{clamp_for, write_byte_mask};
use super::color_block::{BlockShading, ColorCodec};
use super::depth_stencil::{clamp_depth, DepthStencilTest};
use super::state::component;
use super::targets::{ColorTarget, DepthStencilTarget, ErrorSlot, RectSource};
use super::CopiedColor;
use super::{
    AttachmentSlot, ColorAttachment, DepthStencilAttachment, FragmentOutputs, FragmentShader,
    OutputError, OutputState, MAX_COLOR_ATTACHMENTS,
};

/// Counts of one draw, for tests and statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputStats {
    /// Lanes handed to the fragment shader as live.
    pub shaded: u64,
    /// Fragments that passed every test and reached the colour attachments.
    pub written: u64,
    /// Of those, fragments of covered rectangles whose texels the output merger had the
    /// shader's copy kernel sample ([`FragmentShader::sampled_rect`]) instead of shading
    /// them.
    pub sampled: u64,
}

struct Shared<S> {
    shader: S,
    colors: Vec<ColorTarget>,
    depth_stencil: Option<DepthStencilTarget>,
    /// Render area as [x0, x1) × [y0, y1).
    area: [u32; 4],
    early: bool,
    /// What the shader and the depth/stencil tests read of a fragment.
    needs: FragmentNeeds,
    /// Every access texel by texel with the format-generic conversions: the reference the
    /// block paths are tested against.
    per_texel: bool,
    /// Covered rectangles are written whole ([`TileState::covered_rect`]): the shader's
    /// colours are constants, nothing is tested, and every colour attachment is prepared
    /// ([`ColorTarget::prepare_rect`]).
    rects: bool,
    /// Covered rectangles of primitives whose inputs are constant over them are written whole
    /// ([`TileState::covered_rect_shaded`]): the shader's colours depend only on its inputs
    /// ([`FragmentShader::input_colors`]), nothing is tested, and every colour attachment can
    /// take rectangles ([`ColorTarget::rects_possible`]).
    input_rects: bool,
    /// Covered rectangles of primitives whose inputs are constant over them are written
    /// with texels the shader samples itself ([`TileState::sampled_rect`]): the shader copies
    /// one sampled texel ([`FragmentShader::sampled_rect`]) to the one attachment, an 8-bit
    /// RGBA or BGRA UNORM one that stores texels as they are, and nothing is tested. `Some`
    /// holds the attachment's byte order (true: BGRA).
    sampled_rects: Option<bool>,
    /// With [`Self::input_rects`] and one colour attachment: where its colour words come
    /// from ([`FragmentShader::copied_color`]), so a rectangle's colour is taken from its
    /// inputs without asking the shader.
    copied_color: Option<[CopiedColor; 4]>,
    /// `copied_color` is four consecutive inputs.
    copied_run: bool,
    /// The ended tiles' counts ([`OutputStats`]'s fields) and first error.
    shaded: AtomicU64,
    written: AtomicU64,
    sampled: AtomicU64,
    error: Mutex<Option<OutputError>>,
    /// Shader output buffers of ended tiles, reused by later ones (a run's worth is ~17 KiB:
    /// allocating and zeroing it per tile would cost as much as a small tile's pixels). Their
    /// words are stale, as between the batches of one tile: a shader writes every word the
    /// attachments read (the JIT stage zeroes the ones it does not write).
    spare_outputs: Mutex<Vec<Vec<FragmentOutputs>>>,
}

impl<S: FragmentShader> Shared<S> {
    /// Prepares the attachments for covered rectangles where the draw allows them, and sets
    /// [`Self::rects`].
    fn prepare_rects(&mut self) {
        for target in &mut self.colors {
            target.whole_blocks = target.access.whole_blocks().unwrap_or([0, 0]);
        }
        let constant = self.shader.constant_colors().copied();
        for (target, words) in self.colors.iter_mut().zip(constant.iter().flatten()) {
            target.prepare_rect([0, 1, 2, 3].map(|c| words[c][0]));
        }
        self.rects = constant.is_some()
            && self.depth_stencil.is_none()
            && !self.per_texel
            && self.colors.iter().all(|t| t.rect.is_some());
        self.input_rects = !self.rects
            && self.shader.colors_follow_inputs()
            && self.depth_stencil.is_none()
            && !self.per_texel
            && self.colors.iter().all(|t| t.rects_possible());
        self.copied_color = match self.colors.as_slice() {
            [_] if self.input_rects => self.shader.copied_color(),
            _ => None,
        };
        self.copied_run = match self.copied_color {
            Some([CopiedColor::Input(n), b, c, d]) => {
                [b, c, d] == [1, 2, 3].map(|k| CopiedColor::Input(n + k))
            }
            _ => false,
        };
        self.sampled_rects = match self.colors.as_slice() {
            [target] if !self.rects && !self.input_rects => target
                .stores_rgba8()
                .filter(|_| self.depth_stencil.is_none() && !self.per_texel)
                .filter(|_| self.shader.takes_sampled_rects()),
            _ => None,
        };
    }
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

/// The mutable part of an [`OutputTile`] (kept apart so runs borrow the shared part
/// without touching its reference count).
struct TileState {
    /// Tile ∩ render area as [x0, x1) × [y0, y1).
    bounds: [u32; 4],
    /// The shader's outputs, one per block of a run; grown to the longest run seen, never
    /// re-zeroed.
    outputs: Vec<FragmentOutputs>,
    stats: OutputStats,
    errors: ErrorSlot,
    /// Leading blocks of `outputs` that hold the shader's constant colours
    /// ([`FragmentShader::constant_colors`]): nothing else writes them during the tile.
    constant_blocks: usize,
}

fn check_subresource(
    image: &Image,
    level: u32,
    layer: u32,
    slot: AttachmentSlot,
    area: [u32; 4],
    render_area: Rect,
) -> Result<crate::image::BlockAccess, OutputError> {
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
    Ok(image.block_access(level, layer)?)
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
            let access = check_subresource(&a.image, a.level, a.layer, slot, area, ra)?;
            let class = format.info().class;
            let texel_size = format.texel_size() as usize;
            let byte_mask = write_byte_mask(format, a.blend.write_mask);
            let full_mask = write_byte_mask(format, component::ALL);
            let blending = a.blend.enable && class.value_kind() == ValueKind::Float;
            targets.push(ColorTarget {
                image: a.image.clone(),
                level: a.level,
                layer: a.layer,
                access,
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
                word_mask: u32::from_le_bytes([
                    byte_mask[0],
                    byte_mask[1],
                    byte_mask[2],
                    byte_mask[3],
                ]),
                constants: clamp_for(class, state.blend_constants),
                rect: None,
                whole_blocks: [0, 0],
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
                let access = check_subresource(&a.image, a.level, a.layer, slot, area, ra)?;
                let test = DepthStencilTest::new(format, state.depth, state.stencil);
                test.is_active().then(|| DepthStencilTarget {
                    image: a.image.clone(),
                    level: a.level,
                    layer: a.layer,
                    access,
                    texel_size: format.texel_size() as usize,
                    test,
                })
            }
        };
        let tests = FragmentNeeds {
            depth: ds.is_some(),
            ..FragmentNeeds::NONE
        };
        let needs = shader.needs().union(tests);
        let mut shared = Shared {
            needs,
            shader,
            colors: targets,
            depth_stencil: ds,
            area,
            early: state.early_fragment_tests,
            per_texel: false,
            rects: false,
            input_rects: false,
            sampled_rects: None,
            copied_color: None,
            copied_run: false,
            shaded: AtomicU64::new(0),
            written: AtomicU64::new(0),
            sampled: AtomicU64::new(0),
            error: Mutex::new(None),
            spare_outputs: Mutex::new(Vec::new()),
        };
        shared.prepare_rects();
        Ok(Self {
            shared: Arc::new(shared),
        })
    }

    /// This sink with every access texel by texel through the format-generic conversions:
    /// the reference the block paths are tested against.
    #[cfg(test)]
    pub(super) fn per_texel(mut self) -> Option<Self> {
        let shared = Arc::get_mut(&mut self.shared)?;
        shared.per_texel = true;
        shared.prepare_rects();
        Some(self)
    }

    /// This sink without the 8-bit UNORM colour kernel; `plain`: and without the AVX2
    /// build of the block path.
    #[cfg(test)]
    pub(super) fn narrow(mut self, plain: bool) -> Option<Self> {
        let shared = Arc::get_mut(&mut self.shared)?;
        for target in &mut shared.colors {
            target.shading = target.shading.narrow(plain);
        }
        shared.prepare_rects();
        Some(self)
    }

    /// This sink with every 8-bit fixed-point run's source converted pixel by pixel, never
    /// once per run.
    #[cfg(test)]
    pub(super) fn without_uniform_runs(mut self) -> Option<Self> {
        for target in &mut Arc::get_mut(&mut self.shared)?.colors {
            target.shading = target.shading.without_uniform_runs();
        }
        Some(self)
    }

    /// The draw's counts, or the first error met while writing (an attachment access that
    /// failed; the fragment concerned was dropped).
    pub fn finish(&self) -> Result<OutputStats, OutputError> {
        let error = self
            .shared
            .error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &*error {
            Some(e) => Err(e.clone()),
            None => Ok(OutputStats {
                shaded: self.shared.shaded.load(Ordering::Relaxed),
                written: self.shared.written.load(Ordering::Relaxed),
                sampled: self.shared.sampled.load(Ordering::Relaxed),
            }),
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
                // Taken from the spare buffers when a run first needs them
                // (`TileState::outputs_for`): a tile of covered rectangles never does.
                outputs: Vec::new(),
                stats: OutputStats::default(),
                errors: ErrorSlot::default(),
                constant_blocks: 0,
            },
        }
    }

    fn may_take_rects(&self) -> bool {
        let shared = &self.shared;
        shared.rects || shared.input_rects || shared.sampled_rects.is_some()
    }

    fn end_tile(&self, tile: OutputTile<S>) {
        let state = tile.state;
        let shared = &self.shared;
        shared
            .shaded
            .fetch_add(state.stats.shaded, Ordering::Relaxed);
        shared
            .written
            .fetch_add(state.stats.written, Ordering::Relaxed);
        shared
            .sampled
            .fetch_add(state.stats.sampled, Ordering::Relaxed);
        if let Some(e) = state.errors.0 {
            let mut first = shared.error.lock().unwrap_or_else(PoisonError::into_inner);
            first.get_or_insert(e);
        }
        if !state.outputs.is_empty() {
            shared
                .spare_outputs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(state.outputs);
        }
    }
}

/// Live lanes in the masks of a run's blocks (word-wide population counts, not one per
/// block).
#[inline(always)]
fn lane_count(masks: &[u8; RUN_BLOCKS]) -> u32 {
    const _: () = assert!(RUN_BLOCKS.is_multiple_of(8));
    masks
        .chunks_exact(8)
        .map(|word| {
            let word: [u8; 8] = word.try_into().unwrap_or_default();
            u64::from_le_bytes(word).count_ones()
        })
        .sum()
}

/// `batch` as a run of one block.
fn single_run<'a>(batch: &'a FragmentBatch<'a>) -> FragmentRun<'a> {
    FragmentRun {
        x: batch.x,
        y: batch.y,
        masks: std::slice::from_ref(&batch.mask),
        front_facing: batch.front_facing,
        primitive: batch.primitive,
        depth: std::slice::from_ref(&batch.depth),
        inv_w: std::slice::from_ref(&batch.inv_w),
        point_coord: std::slice::from_ref(&batch.point_coord),
        components: batch.attributes.len(),
        attributes: batch.attributes,
    }
}

impl<S: FragmentShader> TileFragments for OutputTile<S> {
    fn needs(&self) -> FragmentNeeds {
        self.shared.needs
    }

    fn batch(&mut self, batch: &FragmentBatch<'_>) {
        self.state
            .run(&self.shared, &single_run(batch), Some(batch));
    }

    fn run(&mut self, run: &FragmentRun<'_>) {
        self.state.run(&self.shared, run, None);
    }

    fn takes_rects(&self) -> bool {
        self.shared.rects
    }

    fn covered_rect(&mut self, rect: &CoveredRect) -> bool {
        self.state.covered_rect(&self.shared, rect)
    }

    fn takes_shaded_rects(&self) -> bool {
        self.shared.input_rects || self.shared.sampled_rects.is_some()
    }

    fn covered_rect_shaded(&mut self, rect: &CoveredRect, inputs: &[f32]) -> bool {
        match self.shared.sampled_rects {
            Some(bgra) => self.state.sampled_rect(&self.shared, rect, inputs, bgra),
            None => self.state.covered_rect_shaded(&self.shared, rect, inputs),
        }
    }
}

impl TileState {
    /// The fragment operations of `run`; `single`: the run is this one batch (shaded with
    /// [`FragmentShader::shade`] directly).
    #[inline(always)]
    fn run<S: FragmentShader>(
        &mut self,
        shared: &Shared<S>,
        run: &FragmentRun<'_>,
        single: Option<&FragmentBatch<'_>>,
    ) {
        if run.blocks() > RUN_BLOCKS || run.depth.len() < run.blocks() {
            return self.unusual_run(shared, run);
        }
        self.checked_run(shared, run, single);
    }

    /// Writes every pixel of `rect` at once where nothing differs from fragment to fragment
    /// ([`Shared::rects`]) and the rectangle fits ([`Self::rect_area`]), with each colour
    /// attachment's prepared source. Otherwise returns false, having done nothing.
    fn covered_rect<S: FragmentShader>(&mut self, shared: &Shared<S>, rect: &CoveredRect) -> bool {
        let Some(area) = self.rect_area(shared, rect).filter(|_| shared.rects) else {
            return false;
        };
        let sources = shared.colors.iter().map(|t| t.rect.as_ref());
        self.write_area(shared, rect, area, sources);
        true
    }

    /// Writes every pixel of `rect`, whose fragments all carry `inputs`, at once with the
    /// shader's colours for those inputs ([`Shared::input_rects`]), where the rectangle fits
    /// ([`Self::rect_area`]) and every colour attachment can write its colour whole.
    /// Otherwise returns false, having done nothing.
    fn covered_rect_shaded<S: FragmentShader>(
        &mut self,
        shared: &Shared<S>,
        rect: &CoveredRect,
        inputs: &[f32],
    ) -> bool {
        let Some(area) = self.rect_area(shared, rect).filter(|_| shared.input_rects) else {
            return false;
        };
        if let (Some(copied), [target]) = (&shared.copied_color, shared.colors.as_slice()) {
            // The shader's colour, taken from the inputs as it would copy them: four
            // consecutive inputs in one load (the usual vec4), others word by word.
            let words = match *copied {
                [CopiedColor::Input(n), ..] if shared.copied_run => {
                    match inputs
                        .get(n..n + 4)
                        .and_then(|w| <[f32; 4]>::try_from(w).ok())
                    {
                        Some(values) => values.map(f32::to_bits),
                        None => return false,
                    }
                }
                _ => {
                    let mut words = [0u32; 4];
                    for (word, source) in words.iter_mut().zip(copied) {
                        match source.word(inputs) {
                            Some(w) => *word = w,
                            None => return false,
                        }
                    }
                    words
                }
            };
            let Some(source) = target.rect_source(words) else {
                return false;
            };
            self.write_area(shared, rect, area, std::iter::once(Some(&source)));
            return true;
        }
        let mut colors = [[0u32; 4]; MAX_COLOR_ATTACHMENTS];
        if !shared.shader.input_colors(inputs, &mut colors) {
            return false;
        }
        if let [target] = shared.colors.as_slice() {
            // One attachment (the common case): no array of sources to fill.
            let Some(source) = target.rect_source(colors[0]) else {
                return false;
            };
            self.write_area(shared, rect, area, std::iter::once(Some(&source)));
            return true;
        }
        let mut sources: [Option<RectSource>; MAX_COLOR_ATTACHMENTS] = Default::default();
        for ((source, target), &words) in sources.iter_mut().zip(&shared.colors).zip(&colors) {
            *source = target.rect_source(words);
            if source.is_none() {
                return false;
            }
        }
        self.write_area(shared, rect, area, sources.iter().map(Option::as_ref));
        true
    }

    /// Writes every pixel of `rect`, whose fragments all carry `inputs`, with the texels the
    /// shader samples for them ([`FragmentShader::sampled_rect`]), stored block row by block
    /// row, where the rectangle fits ([`Self::rect_area`]). Otherwise returns false, having
    /// done nothing.
    fn sampled_rect<S: FragmentShader>(
        &mut self,
        shared: &Shared<S>,
        rect: &CoveredRect,
        inputs: &[f32],
        bgra: bool,
    ) -> bool {
        let (Some(area), [target]) = (self.rect_area(shared, rect), shared.colors.as_slice())
        else {
            return false;
        };
        let errors = &mut self.errors;
        let mut store =
            |y: u32, texels: &[[u32; LANES]]| match target.access.span(area[0], y, texels.len()) {
                Some(span) if span.blocks() == texels.len() => {
                    for (i, block) in texels.iter().enumerate() {
                        if !span.write_texels32(i, block) {
                            errors.record(ImageError::InvalidRegion("block not writable whole"));
                        }
                    }
                }
                _ => errors.record(ImageError::InvalidRegion("rectangle not writable whole")),
            };
        if !shared.shader.sampled_rect(inputs, area, bgra, &mut store) {
            return false;
        }
        let pixels = (rect.blocks() * LANES) as u64;
        self.stats.shaded += pixels;
        self.stats.written += pixels;
        self.stats.sampled += pixels;
        true
    }

    /// `rect` as `[x0, x1, y0, y1]` where it lies inside this tile's part of the render area
    /// and every colour attachment holds it whole ([`ColorTarget::holds_rect`]).
    fn rect_area<S>(&self, shared: &Shared<S>, rect: &CoveredRect) -> Option<[u32; 4]> {
        let [x0, x1, y0, y1] = self.bounds;
        let inside = rect.x0 >= x0 && rect.x1 <= x1 && rect.y0 >= y0 && rect.y1 <= y1;
        let area = [rect.x0, rect.x1, rect.y0, rect.y1];
        (inside && shared.colors.iter().all(|t| t.holds_rect(area))).then_some(area)
    }

    /// Writes `area` (of `rect`) to each colour attachment from its source, and counts its
    /// fragments as shaded and written.
    fn write_area<'a, S>(
        &mut self,
        shared: &'a Shared<S>,
        rect: &CoveredRect,
        area: [u32; 4],
        sources: impl Iterator<Item = Option<&'a RectSource>>,
    ) {
        for (target, source) in shared.colors.iter().zip(sources) {
            target.write_rect_from(area, source, &mut self.errors);
        }
        let pixels = (rect.blocks() * LANES) as u64;
        self.stats.shaded += pixels;
        self.stats.written += pixels;
    }

    /// A run longer than [`RUN_BLOCKS`] or with short fields (not what the rasterizer
    /// makes): block by block, as the trait's default does.
    #[inline(never)]
    fn unusual_run<S: FragmentShader>(&mut self, shared: &Shared<S>, run: &FragmentRun<'_>) {
        for i in 0..run.blocks() {
            if let Some(batch) = run.batch(i) {
                if batch.mask != 0 {
                    self.checked_run(shared, &single_run(&batch), Some(&batch));
                }
            }
        }
    }

    /// [`Self::run`] of a run of at most [`RUN_BLOCKS`] blocks with every field long enough.
    #[inline(always)]
    fn checked_run<S: FragmentShader>(
        &mut self,
        shared: &Shared<S>,
        run: &FragmentRun<'_>,
        single: Option<&FragmentBatch<'_>>,
    ) {
        let n = run.blocks().min(RUN_BLOCKS);
        // Blocks `n..` stay 0, so lanes are counted over the whole array.
        let mut lanes = [0u8; RUN_BLOCKS];
        let live = &mut lanes[..n];
        if !self.clip(run, live) {
            return;
        }
        if self.outputs.len() < n {
            self.outputs_for(shared, n);
        }
        let tested = shared.depth_stencil.is_some();
        if shared.early && tested {
            self.depth_stencil(shared, run, live, false);
            if live.iter().all(|&l| l == 0) {
                return;
            }
        }
        self.stats.shaded += u64::from(lane_count(&lanes));
        let live = &mut lanes[..n];
        self.shade(shared, run, single.filter(|_| n == 1), live);
        if !shared.early && tested {
            self.depth_stencil(shared, run, live, true);
        }
        let written = lane_count(&lanes);
        if written == 0 {
            return;
        }
        let live = &lanes[..n];
        self.stats.written += u64::from(written);
        for (index, target) in shared.colors.iter().enumerate() {
            let span = match shared.per_texel {
                true => None,
                false => target.access.span(run.x, run.y, n),
            };
            let at = (run.x, run.y);
            let outputs = &self.outputs[..n];
            target.write_run(index, span, at, live, outputs, &mut self.errors);
        }
    }

    /// Makes `outputs` at least `n` long: a spare buffer of an ended tile first, when this
    /// tile has none yet.
    #[inline(never)]
    fn outputs_for<S>(&mut self, shared: &Shared<S>, n: usize) {
        if self.outputs.is_empty() {
            let spare = shared
                .spare_outputs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            if let Some(spare) = spare {
                self.outputs = spare;
            }
        }
        if self.outputs.len() < n {
            self.outputs.resize_with(n, FragmentOutputs::default);
        }
    }

    /// Clips every block's mask to this tile's part of the render area into `live`; false
    /// when no lane is left.
    #[inline(always)]
    fn clip(&self, run: &FragmentRun<'_>, live: &mut [u8]) -> bool {
        let [x0, x1, y0, y1] = self.bounds;
        let (rx, ry) = (run.x, run.y);
        let width = 4 * live.len() as u32;
        if rx >= x0 && ry >= y0 && rx.saturating_add(width) <= x1 && ry.saturating_add(2) <= y1 {
            let mut any = 0;
            for (l, &m) in live.iter_mut().zip(run.masks) {
                *l = m;
                any |= m;
            }
            return any != 0;
        }
        // Lanes by column (bit = lane) and by row: lanes 0, 2 are column 0, 1, 3 column 1,
        // 4, 6 column 2, 5, 7 column 3; lanes 0, 1, 4, 5 row 0, the others row 1.
        const COLUMN: [u8; 4] = [0b0000_0101, 0b0000_1010, 0b0101_0000, 0b1010_0000];
        let rows = (u8::from(ry >= y0 && ry < y1) * 0b0011_0011)
            | (u8::from(ry.saturating_add(1) >= y0 && ry.saturating_add(1) < y1) * 0b1100_1100);
        let mut any = false;
        for (i, (out, &mask)) in live.iter_mut().zip(run.masks).enumerate() {
            let bx = rx.saturating_add(4 * i as u32);
            let mut columns = 0;
            for (dx, lanes) in COLUMN.iter().enumerate() {
                let px = bx.saturating_add(dx as u32);
                if px >= x0 && px < x1 {
                    columns |= lanes;
                }
            }
            *out = mask & columns & rows;
            any |= *out != 0;
        }
        any
    }

    /// Shades the `live` lanes of `run` (of `single`, its one block, where given) into
    /// `self.outputs` with one call; leaves the lanes that were not discarded in `live`.
    #[inline(always)]
    fn shade<S: FragmentShader>(
        &mut self,
        shared: &Shared<S>,
        run: &FragmentRun<'_>,
        single: Option<&FragmentBatch<'_>>,
        live: &mut [u8],
    ) {
        let n = live.len();
        if let Some(colors) = shared.shader.constant_colors() {
            // Every live lane survives with the same colours: the blocks get them once per
            // tile (the depth is not read: `depth_written` is false).
            let attachments = shared.colors.len();
            let fresh = self
                .outputs
                .get_mut(self.constant_blocks..n)
                .unwrap_or_default();
            for out in fresh {
                out.color[..attachments].copy_from_slice(&colors[..attachments]);
                out.depth_written = false;
            }
            self.constant_blocks = self.constant_blocks.max(n);
            return;
        }
        if let (Some(batch), [lanes], Some(out)) = (single, &mut *live, self.outputs.first_mut()) {
            out.depth = batch.depth;
            out.depth_written = false;
            *lanes &= shared.shader.shade(batch, *lanes, out);
            return;
        }
        let outputs = &mut self.outputs[..n];
        if shared.needs.depth {
            for (out, depth) in outputs.iter_mut().zip(run.depth) {
                out.depth = *depth;
                out.depth_written = false;
            }
        } else {
            // Nothing reads the interpolated depth (the rasterizer need not even compute
            // it): the outputs' depth is left as it is, only marked as not written.
            for out in outputs.iter_mut() {
                out.depth_written = false;
            }
        }
        let mut survivors = [0u8; RUN_BLOCKS];
        shared
            .shader
            .shade_run(run, live, outputs, &mut survivors[..n]);
        for (l, s) in live.iter_mut().zip(survivors) {
            *l &= s;
        }
    }

    /// Depth bounds, stencil and depth tests of the `live` lanes of every block, leaving the
    /// survivors in `live`. `late`: after the shader, with its `FragDepth` where it wrote one.
    fn depth_stencil<S>(
        &mut self,
        shared: &Shared<S>,
        run: &FragmentRun<'_>,
        live: &mut [u8],
        late: bool,
    ) {
        let Some(ds) = &shared.depth_stencil else {
            return;
        };
        let span = match shared.per_texel {
            true => None,
            false => ds.access.span(run.x, run.y, live.len()),
        };
        let whole = span.map_or(0, |s| s.blocks());
        for (i, lanes) in live.iter_mut().enumerate() {
            if *lanes == 0 {
                continue;
            }
            let depth = match self.outputs.get(i) {
                Some(out) if late && out.depth_written => out.depth,
                _ => run.depth[i],
            }
            .map(clamp_depth);
            let errors = &mut self.errors;
            *lanes = match &span {
                Some(span) if i < whole => {
                    ds.test_block(span, i, run.front_facing, *lanes, &depth, errors)
                }
                _ => {
                    let at = (run.x.saturating_add(4 * i as u32), run.y);
                    ds.test_texels(at, run.front_facing, *lanes, &depth, errors)
                }
            };
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::format::Format;
    use crate::image::{ImageDesc, ImageType, Tiling};
    use crate::output::state::{BlendFactor, BlendOp, BlendState, DepthState};
    use crate::raster::LANES;

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

    /// A shader of one colour, given as constant colours or (`constant` false) written per
    /// block.
    struct OneColor {
        colors: [[[u32; LANES]; 4]; MAX_COLOR_ATTACHMENTS],
        constant: bool,
    }

    impl FragmentShader for OneColor {
        fn shade(&self, _: &FragmentBatch<'_>, live: u8, out: &mut FragmentOutputs) -> u8 {
            assert!(!self.constant, "a constant shader is not called");
            out.color = self.colors;
            live
        }

        fn needs(&self) -> FragmentNeeds {
            FragmentNeeds::NONE
        }

        fn constant_colors(&self) -> Option<&[[[u32; LANES]; 4]; MAX_COLOR_ATTACHMENTS]> {
            self.constant.then_some(&self.colors)
        }
    }

    #[test]
    fn constant_colours_are_written_as_a_shader_called_per_block_writes_them() {
        let draw = |constant: bool| {
            let images: Vec<Image> = [Format::R8G8B8A8_UNORM, Format::R32G32B32A32_SFLOAT]
                .into_iter()
                .map(|format| {
                    Image::new_host(ImageDesc {
                        image_type: ImageType::D2,
                        format,
                        extent: [70, 6, 1],
                        mip_levels: 1,
                        array_layers: 1,
                        tiling: Tiling::Optimal,
                    })
                    .unwrap()
                })
                .collect();
            let attachments: Vec<ColorAttachment> = images
                .iter()
                .map(|image| ColorAttachment {
                    image: image.clone(),
                    level: 0,
                    layer: 0,
                    blend: BlendState::ALPHA,
                })
                .collect();
            let state = OutputState {
                render_area: Rect {
                    x: 2,
                    y: 0,
                    width: 66,
                    height: 5,
                },
                depth: DepthState::DISABLED,
                stencil: None,
                blend_constants: [0.0; 4],
                logic_op: None,
                early_fragment_tests: true,
            };
            let mut colors = [[[0u32; LANES]; 4]; MAX_COLOR_ATTACHMENTS];
            for (a, attachment) in colors.iter_mut().enumerate() {
                for (c, component) in attachment.iter_mut().enumerate() {
                    *component = [(0.1 + 0.2 * c as f32 + 0.05 * a as f32).to_bits(); LANES];
                }
            }
            let shader = OneColor { colors, constant };
            let sink = OutputSink::new(&state, &attachments, None, shader).unwrap();
            for (tx, width) in [(0, 64), (64, 6)] {
                let mut tile = sink.begin_tile(tx, 0, width, 6);
                for (y, blocks, seed) in
                    [(0, 16, 0x5au8), (2, 3, 0xff), (4, 16, 0x81), (0, 1, 0x3c)]
                {
                    let masks: Vec<u8> = (0..blocks)
                        .map(|i| seed.rotate_left(i as u32) | (u8::from(i % 3 == 0) * 0xff))
                        .collect();
                    let blocks = masks.len().min(width.div_ceil(4) as usize);
                    let masks = &masks[..blocks];
                    let lanes = vec![[0.5f32; LANES]; blocks];
                    let pc = vec![[[0.5f32; LANES]; 2]; blocks];
                    tile.run(&FragmentRun {
                        x: tx,
                        y,
                        masks,
                        front_facing: true,
                        primitive: 0,
                        depth: &lanes,
                        inv_w: &lanes,
                        point_coord: &pc,
                        components: 0,
                        attributes: &[],
                    });
                }
                sink.end_tile(tile);
            }
            let stats = sink.finish().unwrap();
            let bytes: Vec<Vec<u8>> = images
                .iter()
                .map(|image| {
                    let size = image.format().texel_size() as usize;
                    let mut out = vec![0u8; 70 * 6 * size];
                    for (i, texel) in out.chunks_mut(size).enumerate() {
                        let coord = [i as u32 % 70, i as u32 / 70, 0];
                        image.read_texel(0, 0, coord, texel).unwrap();
                    }
                    out
                })
                .collect();
            (stats, bytes)
        };
        let (want_stats, want) = draw(false);
        let (got_stats, got) = draw(true);
        assert_eq!(got_stats, want_stats);
        assert!(want_stats.written > 100, "{want_stats:?}");
        assert_eq!(got, want);
    }

    /// Exact without blending; blending runs in 8-bit fixed point, within 1 of the generic
    /// path's bytes (for sources without NaN, which the fixed-point rule blends as 0).
    #[test]
    fn the_unorm8_path_writes_what_the_generic_path_writes() {
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
        let finite_specials = [f32::NEG_INFINITY, f32::INFINITY, -0.0, 1.0, 0.5 / 255.0];
        for format in [Format::R8G8B8A8_UNORM, Format::B8G8R8A8_UNORM] {
            for blend in blends {
                for round in 0..50 {
                    let old: Vec<u8> = (0..32).map(|_| next() as u8).collect();
                    let values: [[u32; 4]; LANES] = std::array::from_fn(|lane| {
                        std::array::from_fn(|c| {
                            let specials = match blend.enable {
                                true => &finite_specials,
                                false => &specials,
                            };
                            let v = if round == 0 {
                                specials[(lane + c) % specials.len()]
                            } else {
                                (next() % 2000) as f32 / 1000.0 - 0.5
                            };
                            v.to_bits()
                        })
                    });
                    let got = write_batch(format, blend, &old, values, false);
                    let want = write_batch(format, blend, &old, values, true);
                    let tolerance = u8::from(blend.enable);
                    for (g, w) in got.iter().zip(&want) {
                        assert!(
                            g.abs_diff(*w) <= tolerance,
                            "{format:?} {blend:?} {values:?}: {got:?} vs {want:?}"
                        );
                    }
                }
            }
        }
    }
}
