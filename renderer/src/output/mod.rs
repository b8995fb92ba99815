//! The output merger: what happens to a fragment after rasterization — depth bounds, stencil
//! and depth tests with their writes (early, before the fragment shader, or late, after it),
//! blending, the colour write mask and format conversion into up to
//! [`MAX_COLOR_ATTACHMENTS`] colour attachments and one depth/stencil attachment
//! (Vulkan §29 "Fragment Operations", §29.12 "Blending").
//!
//! [`OutputSink`] is a [`crate::raster::FragmentSink`]; fragment colours come from a
//! [`FragmentShader`] (the JIT's fragment stage later; tests pass a closure). The sink trusts
//! the rasterizer for nothing but the tile-ownership invariant below: every lane is clipped to
//! the render area and the tile, and every texel access is bounds-checked by [`Image`].
//!
//! Tile ownership: the rasterizer hands each tile to exactly one worker, which feeds it the
//! tile's batches in primitive order. An [`OutputTile`] only touches pixels inside its tile,
//! and tiles do not overlap, so no two workers ever read or write the same texel during a
//! draw, and the result is independent of the thread count. A batch is a 4×2 block aligned to
//! 4×2 and tiles are aligned to 64, so a block never straddles two tiles: reading a whole
//! block (texels outside the render area or the image's edge included) touches only the
//! tile's own texels, and only covered pixels change (a block may be stored whole with the
//! bytes just read back in its uncovered pixels). Texels are read and written through
//! [`crate::image::BlockSpan`] (the memory's pointer and length resolved once per draw, one
//! bounds check per run of blocks, then raw copies into the image's memory), or
//! [`Image::read_texel`] / [`Image::write_texel`] where a LINEAR block is cut by the image's
//! edge; no locks per fragment.

mod blend;
#[cfg(test)]
mod block_equivalence;
mod color_block;
mod depth_stencil;
mod sink;
pub mod state;
mod targets;

use crate::format::{Format, FormatError};
use crate::image::{Image, ImageError};
use crate::raster::LANES;

pub use sink::{OutputSink, OutputStats, OutputTile};
pub use state::{
    component, BlendFactor, BlendOp, BlendState, CompareOp, DepthState, StencilFace, StencilOp,
    StencilState,
};

/// `maxColorAttachments`.
pub const MAX_COLOR_ATTACHMENTS: usize = 8;

/// Where a colour word of [`FragmentShader::copied_color`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopiedColor {
    /// That input value's bits (one value per attribute component).
    Input(usize),
    /// This word.
    Constant(u32),
}

impl CopiedColor {
    /// The word for fragments whose inputs are `inputs`; `None` where that input is missing.
    #[inline(always)]
    pub fn word(self, inputs: &[f32]) -> Option<u32> {
        match self {
            CopiedColor::Input(n) => inputs.get(n).map(|v| v.to_bits()),
            CopiedColor::Constant(word) => Some(word),
        }
    }
}

/// Which attachment an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachmentSlot {
    Color(usize),
    DepthStencil,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutputError {
    #[error("{0} colour attachments, more than the maximum {MAX_COLOR_ATTACHMENTS}")]
    TooManyColorAttachments(usize),
    #[error("colour attachment {index} has format {format:?}, which is not a colour format")]
    NotColorFormat { index: usize, format: Format },
    #[error("depth/stencil attachment has format {0:?}, which has no depth or stencil aspect")]
    NotDepthStencilFormat(Format),
    #[error("colour attachment {0} uses a dual-source blend factor, which is not supported")]
    DualSourceBlend(usize),
    #[error("logic op {0} is not supported (logicOp feature not offered)")]
    LogicOpUnsupported(u32),
    #[error("value {value} is not a valid {what}")]
    UnknownEnum { what: &'static str, value: u32 },
    #[error("render area {area:?} does not lie inside attachment {slot:?}")]
    RenderAreaOutside {
        slot: AttachmentSlot,
        area: crate::raster::Rect,
    },
    #[error("attachment {slot:?}: mip level {level} / layer {layer} is not in the image")]
    NoSuchSubresource {
        slot: AttachmentSlot,
        level: u32,
        layer: u32,
    },
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Format(#[from] FormatError),
}

/// A colour attachment: one mip level and layer of a colour image, with its blend state.
#[derive(Clone, Debug)]
pub struct ColorAttachment {
    pub image: Image,
    pub level: u32,
    pub layer: u32,
    pub blend: BlendState,
}

/// The depth/stencil attachment: one mip level and layer of a depth and/or stencil image.
#[derive(Clone, Debug)]
pub struct DepthStencilAttachment {
    pub image: Image,
    pub level: u32,
    pub layer: u32,
}

/// Draw-wide state of the fragment operations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutputState {
    /// Fragments outside it are dropped (`VkRenderPassBeginInfo::renderArea`).
    pub render_area: crate::raster::Rect,
    pub depth: DepthState,
    /// `None` when `stencilTestEnable` is false.
    pub stencil: Option<StencilState>,
    pub blend_constants: [f32; 4],
    /// `Some(VkLogicOp)` when `logicOpEnable` is set: refused, the feature is not offered.
    pub logic_op: Option<u32>,
    /// The fragment shader's `EarlyFragmentTests` (or the pipeline found early tests safe):
    /// depth/stencil run before the shader, which is not called for killed fragments; a
    /// depth the shader writes is then ignored, and a discard no longer undoes the
    /// depth/stencil writes.
    pub early_fragment_tests: bool,
}

/// What the fragment shader writes for one batch: per colour attachment, component and lane,
/// the output variable's 32-bit word (read as f32, u32 or i32 by the attachment's format
/// class), and optionally `FragDepth`. Component-major, as the shader's SIMD lanes produce
/// them and the block path of the output merger consumes them.
#[derive(Clone, Debug)]
pub struct FragmentOutputs {
    pub color: [[[u32; LANES]; 4]; MAX_COLOR_ATTACHMENTS],
    /// Per-lane `FragDepth`; set to the interpolated depth before the shader runs.
    pub depth: [f32; LANES],
    /// Set by a shader that wrote `FragDepth` (late tests then use [`Self::depth`]).
    pub depth_written: bool,
}

impl Default for FragmentOutputs {
    fn default() -> Self {
        Self {
            color: [[[0; LANES]; 4]; MAX_COLOR_ATTACHMENTS],
            depth: [0.0; LANES],
            depth_written: false,
        }
    }
}

impl FragmentOutputs {
    pub fn set_float(&mut self, attachment: usize, lane: usize, value: [f32; 4]) {
        self.set_uint(attachment, lane, value.map(f32::to_bits));
    }

    pub fn set_uint(&mut self, attachment: usize, lane: usize, value: [u32; 4]) {
        if let Some(components) = self.color.get_mut(attachment) {
            for (component, word) in components.iter_mut().zip(value) {
                if let Some(slot) = component.get_mut(lane) {
                    *slot = word;
                }
            }
        }
    }

    pub fn set_sint(&mut self, attachment: usize, lane: usize, value: [i32; 4]) {
        self.set_uint(attachment, lane, value.map(|v| v as u32));
    }

    /// The four words of `attachment`'s output in `lane` (zeros outside the arrays).
    pub fn words(&self, attachment: usize, lane: usize) -> [u32; 4] {
        let component = |c: usize| {
            self.color
                .get(attachment)
                .and_then(|a| a[c].get(lane))
                .copied()
                .unwrap_or(0)
        };
        [component(0), component(1), component(2), component(3)]
    }
}

/// The fragment stage as the output merger sees it.
pub trait FragmentShader: Sync + Send {
    /// Shades the lanes of `batch` set in `live` (uncovered lanes may be computed as helpers)
    /// into `out`, and returns the lanes that were not discarded (bits outside `live` are
    /// ignored).
    fn shade(
        &self,
        batch: &crate::raster::FragmentBatch<'_>,
        live: u8,
        out: &mut FragmentOutputs,
    ) -> u8;

    /// What the shader reads of a fragment besides its position, coverage, facing and point
    /// coordinate (asked once per draw); everything by default. `depth` covers the default
    /// `FragDepth` too.
    fn needs(&self) -> crate::raster::FragmentNeeds {
        crate::raster::FragmentNeeds::ALL
    }

    /// Where every block the shader shades gets the same colour words and keeps all its live
    /// lanes, whatever the fragment (outputs from constants, push constants or uniform
    /// buffers; no discard, no `FragDepth`): those words, by attachment. The output merger
    /// then fills its blocks with them once per tile and calls neither
    /// [`FragmentShader::shade`] nor [`FragmentShader::shade_run`]. `None` by default.
    fn constant_colors(&self) -> Option<&[[[u32; LANES]; 4]; MAX_COLOR_ATTACHMENTS]> {
        None
    }

    /// Whether [`FragmentShader::input_colors`] may give colours (asked once per draw).
    fn colors_follow_inputs(&self) -> bool {
        false
    }

    /// Where the shader only copies inputs and constants to its outputs (asked once per
    /// draw): where each of attachment 0's four colour words comes from, so that
    /// [`FragmentShader::input_colors`] of any `inputs` is those words taken from `inputs`
    /// (for `inputs` long enough; it declines shorter ones). `None` by default.
    fn copied_color(&self) -> Option<[CopiedColor; 4]> {
        None
    }

    /// Where the shader's colours depend on nothing of a fragment but its inputs (attribute
    /// components; no discard, no `FragDepth`): writes into `colors` the colour words, by
    /// attachment and component, that [`FragmentShader::shade`] would give every lane of a
    /// block whose lanes all carry `inputs` (one value per component), evaluated once, and
    /// returns true (attachments past the sink's may be left alone). The output merger
    /// writes covered rectangles of primitives whose inputs are constant over them with
    /// these. False by default.
    fn input_colors(&self, inputs: &[f32], colors: &mut [[u32; 4]; MAX_COLOR_ATTACHMENTS]) -> bool {
        let _ = (inputs, colors);
        false
    }

    /// Whether [`FragmentShader::sampled_rect`] may give texels for a single RGBA8 or BGRA8
    /// UNORM attachment (asked once per draw). False by default.
    fn takes_sampled_rects(&self) -> bool {
        false
    }

    /// Where the shader's colour is one sampled texel at coordinates computed from the
    /// pixel position and inputs (here `inputs`, one value per attribute component, the same
    /// at every pixel): calls `row(y, texels)` for each block row of `area` (`[x0, x1, y0, y1]`,
    /// block-aligned) with its blocks' packed attachment texels (block `i` at `x0 + 4i`,
    /// pixel `p` of a block at `(p % 4, p / 4)`; `bgra`: the attachment is B8G8R8A8 UNORM,
    /// else R8G8B8A8), the texels [`FragmentShader::shade`] would
    /// give those pixels up to the rounding of the filter (at most one code), and returns
    /// true. Returns false, having called nothing, where it cannot. The default cannot.
    fn sampled_rect(
        &self,
        inputs: &[f32],
        area: [u32; 4],
        bgra: bool,
        row: &mut dyn FnMut(u32, &[[u32; LANES]]),
    ) -> bool {
        let _ = (inputs, area, bgra, row);
        false
    }

    /// Shades every block of `run`: block `i`'s lanes `live[i]` into `out[i]`, its surviving
    /// lanes into `survivors[i]` (0 for a block with no live lane, which need not be shaded).
    /// Before shading, `out[i].depth` is the block's interpolated depth and
    /// `out[i].depth_written` false, as for [`FragmentShader::shade`]. `live`, `out` and
    /// `survivors` have at least `run.blocks()` entries; extra entries are left alone. The
    /// default shades block by block; stages override it to shade a run per call.
    fn shade_run(
        &self,
        run: &crate::raster::FragmentRun<'_>,
        live: &[u8],
        out: &mut [FragmentOutputs],
        survivors: &mut [u8],
    ) {
        let blocks = out.iter_mut().zip(survivors.iter_mut()).zip(live);
        for (i, ((out, survivor), &live)) in blocks.take(run.blocks()).enumerate() {
            *survivor = 0;
            if live == 0 {
                continue;
            }
            let Some(batch) = run.batch(i) else {
                continue;
            };
            out.depth = batch.depth;
            out.depth_written = false;
            *survivor = self.shade(&batch, live, out) & live;
        }
    }
}

impl<F> FragmentShader for F
where
    F: Fn(&crate::raster::FragmentBatch<'_>, u8, &mut FragmentOutputs) -> u8 + Sync + Send,
{
    fn shade(
        &self,
        batch: &crate::raster::FragmentBatch<'_>,
        live: u8,
        out: &mut FragmentOutputs,
    ) -> u8 {
        self(batch, live, out)
    }
}
