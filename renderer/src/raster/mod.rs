//! The rasterizer core: clip-space primitives in, 2×2-quad fragment batches out.
//!
//! Pipeline (DESIGN §6): clip against near/far and, only where fixed point would overflow, the
//! guard band ([`clip`]); perspective divide, viewport transform, 8-sub-pixel-bit fixed point,
//! culling and edge/plane setup ([`setup`]); points and lines become screen-space rectangles
//! ([`primitives`]); binning into 64×64 tiles and tiles rasterized in parallel ([`bin`]), each
//! tile in 4×2-pixel batches of two 2×2 quads, W = 8 lanes ([`tile`]); the fragment work is a
//! [`FragmentSink`] that the graphics pipeline plugs in ([`sink`]).
//!
//! This module trusts nothing about its input: indices, lengths and counts are checked, and
//! non-finite positions drop the primitive (the spec leaves such primitives undefined).
//!
//! Conventions (Vulkan §28 "Rasterization"): framebuffer y points down; a triangle's area is
//! `a = -1/2 Σ (x_i y_{i+1} - x_{i+1} y_i)`, positive area is front-facing for
//! `COUNTER_CLOCKWISE`; zero-area triangles are dropped. Sample points on a shared edge are
//! resolved by the top-left rule (a sample exactly on a top or left edge is inside), which
//! satisfies the spec's "exactly one of the polygons" requirement.

use crate::pool::Workers;

mod bin;
mod clip;
mod primitives;
mod setup;
mod sink;
mod tile;

pub(crate) use bin::{bin_window, rasterize_binned, Binned};
pub(crate) use primitives::{PostTransform, PostVertices, POST_LANES};
pub(crate) use setup::ScreenVertex;
pub use sink::{
    lane_offset, CoverageImages, CoverageSink, CoverageTile, CoveredRect, FragmentBatch,
    FragmentNeeds, FragmentRun, FragmentSink, TileFragments, RUN_BLOCKS,
};

/// Side of a bin tile in pixels.
pub const TILE_SIZE: u32 = 64;
/// Fractional bits of the fixed-point vertex positions.
pub const SUBPIXEL_BITS: u32 = 8;
/// Lanes of one fragment batch: two 2×2 quads side by side (a 4×2 pixel block).
pub const LANES: usize = 8;
/// Most interpolated components a vertex may carry (Vulkan `maxFragmentInputComponents`).
pub const MAX_COMPONENTS: usize = 128;
/// Framebuffer coordinates are kept within ±this (pixels); primitives reaching beyond are
/// clipped to it for real, so fixed-point edge functions never overflow i64.
pub const GUARD_BAND: f32 = 32768.0;
/// Largest point size rasterized; larger sizes are clamped (Vulkan `pointSizeRange`).
pub const MAX_POINT_SIZE: f32 = 64.0;
/// Largest framebuffer side rasterized (pixels).
pub const MAX_EXTENT: u32 = 32768;

/// `VkViewport`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Viewport {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    pub min_depth: f32,
    pub max_depth: f32,
}

/// A pixel rectangle (`VkRect2D`): the scissor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

/// `VkCullModeFlags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CullMode {
    None,
    Front,
    Back,
    FrontAndBack,
}

/// `VkFrontFace`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrontFace {
    CounterClockwise,
    Clockwise,
}

/// Depth bias parameters (`depthBiasConstantFactor`, `depthBiasSlopeFactor`, `depthBiasClamp`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DepthBias {
    pub constant: f32,
    pub slope: f32,
    pub clamp: f32,
}

/// What `r`, the minimum resolvable depth difference of the depth attachment, is
/// (Vulkan §28.9.4 "Depth Bias").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepthResolution {
    /// A UNORM depth format with this many bits: `r = 2^-bits`.
    Unorm { bits: u32 },
    /// A floating-point depth format: `r = 2^(e - 23)`, `e` the largest exponent of the
    /// primitive's depth values.
    Float,
}

/// How one attribute component is interpolated across a primitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    /// Perspective-correct (the default, `smooth`).
    Smooth,
    /// Linear in screen space (`noperspective`).
    NoPerspective,
    /// The provoking (first) vertex's value, bit for bit (`flat`).
    Flat,
}

/// Fixed-function state one draw is rasterized with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RasterState {
    /// Framebuffer (render area) size in pixels; nothing outside it is produced.
    pub width: u32,
    pub height: u32,
    pub viewport: Viewport,
    pub scissor: Rect,
    pub cull_mode: CullMode,
    pub front_face: FrontFace,
    /// `depthClampEnable`: no near/far clipping, fragment depth clamped to the viewport range.
    pub depth_clamp: bool,
    pub depth_bias: Option<DepthBias>,
    pub depth_resolution: DepthResolution,
    /// Set up two consecutive triangles that are the halves of one rectangle of whole 4×2
    /// blocks, with the same attribute values at every vertex, as one primitive (less setup
    /// and binning, and one rectangle for the sink). Worth it only where the sink takes covered
    /// rectangles ([`FragmentSink::may_take_rects`]); any other sink gets the two triangles,
    /// set up again when their tiles are rasterized.
    pub rect_pairs: bool,
}

impl RasterState {
    /// A draw over the whole `width`×`height` framebuffer: viewport (depth 0..1) and scissor
    /// covering it, no culling, counter-clockwise front faces, no depth clamp or bias, a float
    /// depth attachment.
    pub fn covering(width: u32, height: u32) -> RasterState {
        RasterState {
            width,
            height,
            viewport: Viewport {
                x: 0.0,
                y: 0.0,
                width: width as f32,
                height: height as f32,
                min_depth: 0.0,
                max_depth: 1.0,
            },
            scissor: Rect {
                x: 0,
                y: 0,
                width,
                height,
            },
            cull_mode: CullMode::None,
            front_face: FrontFace::CounterClockwise,
            depth_clamp: false,
            depth_bias: None,
            depth_resolution: DepthResolution::Float,
            rect_pairs: false,
        }
    }
}

/// Post-vertex-shader data: clip-space positions and `components` attributes per vertex.
#[derive(Clone, Copy, Debug)]
pub struct VertexStream<'a> {
    pub positions: &'a [[f32; 4]],
    /// `positions.len() * interpolation.len()` values, vertex-major.
    pub attributes: &'a [f32],
    /// One entry per attribute component.
    pub interpolation: &'a [Interpolation],
    /// `PointSize` per vertex; 1.0 when absent. Only read for points.
    pub point_sizes: Option<&'a [f32]>,
}

/// Assembled primitives, as indices into a [`VertexStream`]. The first vertex of each is the
/// provoking vertex.
#[derive(Clone, Copy, Debug)]
pub enum Primitives<'a> {
    Points(&'a [u32]),
    Lines(&'a [[u32; 2]]),
    Triangles(&'a [[u32; 3]]),
}

/// What a draw did, for tests and statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RasterStats {
    /// Screen-space triangles set up and binned (clipping and points/lines can add some).
    pub triangles: usize,
    /// Triangles dropped by face culling.
    pub culled: usize,
    /// Fragment batches handed to the sink.
    pub batches: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RasterError {
    #[error("primitive {primitive} uses vertex {index}, but only {count} vertices were given")]
    VertexIndexOutOfRange {
        primitive: usize,
        index: u32,
        count: usize,
    },
    #[error(
        "{components} attribute components per vertex, more than the maximum {MAX_COMPONENTS}"
    )]
    TooManyComponents { components: usize },
    #[error("{given} attribute values given, {expected} expected (vertices × components)")]
    AttributeLength { given: usize, expected: usize },
    #[error("{given} point sizes given for {expected} vertices")]
    PointSizeLength { given: usize, expected: usize },
    #[error("invalid viewport: {0}")]
    InvalidViewport(&'static str),
    #[error("framebuffer {width}×{height} is larger than {MAX_EXTENT}×{MAX_EXTENT}")]
    InvalidExtent { width: u32, height: u32 },
    #[error("the work was cancelled")]
    Cancelled,
    #[error("a worker thread failed")]
    WorkerFailed,
}

/// Rasterizes `primitives` on the calling thread and hands every covered 4×2 block to `sink`,
/// tile by tile, in primitive order within each tile.
pub fn rasterize<S: FragmentSink>(
    state: &RasterState,
    vertices: &VertexStream<'_>,
    primitives: Primitives<'_>,
    sink: &S,
) -> Result<RasterStats, RasterError> {
    rasterize_on(Workers::CallingThread, state, vertices, primitives, sink)
}

/// [`rasterize`] with setup, binning and tiles spread over `workers`; the result is the same
/// whatever the number of threads.
pub fn rasterize_on<S: FragmentSink>(
    workers: Workers<'_>,
    state: &RasterState,
    vertices: &VertexStream<'_>,
    primitives: Primitives<'_>,
    sink: &S,
) -> Result<RasterStats, RasterError> {
    bin::run(workers, state, vertices, primitives, sink)
}

fn validate(state: &RasterState, vertices: &VertexStream<'_>) -> Result<(), RasterError> {
    let vp = &state.viewport;
    let all = [vp.x, vp.y, vp.width, vp.height, vp.min_depth, vp.max_depth];
    if all.iter().any(|v| !v.is_finite()) {
        return Err(RasterError::InvalidViewport("non-finite value"));
    }
    if vp.width <= 0.0 || vp.height == 0.0 {
        return Err(RasterError::InvalidViewport(
            "zero or negative width, or zero height",
        ));
    }
    if vp.x.abs() > GUARD_BAND
        || vp.y.abs() > GUARD_BAND
        || vp.width > GUARD_BAND
        || vp.height.abs() > GUARD_BAND
    {
        return Err(RasterError::InvalidViewport(
            "outside the viewport bounds range",
        ));
    }
    if state.width > MAX_EXTENT || state.height > MAX_EXTENT {
        return Err(RasterError::InvalidExtent {
            width: state.width,
            height: state.height,
        });
    }
    let components = vertices.interpolation.len();
    if components > MAX_COMPONENTS {
        return Err(RasterError::TooManyComponents { components });
    }
    // components <= 128, so this cannot overflow for any slice length that fits in memory;
    // checked anyway.
    let expected = vertices.positions.len().saturating_mul(components);
    if vertices.attributes.len() != expected {
        return Err(RasterError::AttributeLength {
            given: vertices.attributes.len(),
            expected,
        });
    }
    if let Some(sizes) = vertices.point_sizes {
        if sizes.len() != vertices.positions.len() {
            return Err(RasterError::PointSizeLength {
                given: sizes.len(),
                expected: vertices.positions.len(),
            });
        }
    }
    Ok(())
}
