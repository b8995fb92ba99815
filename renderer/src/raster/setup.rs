//! Triangle setup: fixed point, facing and culling, edge functions with the top-left rule,
//! bounding box against the scissor, depth plane with bias, attribute deltas.
//!
//! Positions are snapped to [`SUBPIXEL_BITS`] fractional bits. The caller keeps every vertex
//! within ±2·[`GUARD_BAND`] pixels (2^24 sub-pixels), so edge coefficients stay below 2^25,
//! products below 2^50 and every edge value fits i64 with room to spare.

use super::{
    CullMode, DepthBias, DepthResolution, FrontFace, Interpolation, RasterState, GUARD_BAND,
    SUBPIXEL_BITS,
};

const ONE: i64 = 1 << SUBPIXEL_BITS;
const HALF: i64 = ONE / 2;

/// A vertex after the perspective divide and viewport transform (framebuffer coordinates).
/// Laid out as `[x, y, z, inv_w]` (so one is a 16-byte copy of four lanes' values).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub(crate) struct ScreenVertex {
    pub x: f32,
    pub y: f32,
    pub z: f32,
    pub inv_w: f32,
}

/// `E(X, Y) = a·X + b·Y + c` over sub-pixel sample positions; a sample is covered where
/// `E >= 0`. The top-left rule is folded into `c` (non-top-left edges are moved in by one unit,
/// 2^-16 pixel², so samples exactly on them are outside).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Edge {
    pub a: i64,
    pub b: i64,
    pub c: i64,
}

impl Edge {
    /// The edge from `(px, py)` to `(qx, qy)` (sub-pixels), with the top-left rule folded in.
    #[inline(always)]
    fn through(px: i64, py: i64, qx: i64, qy: i64) -> Edge {
        let a = py - qy;
        let b = qx - px;
        let top_left = a > 0 || (a == 0 && b > 0);
        let c = -(a * px + b * py) - i64::from(!top_left);
        Edge { a, b, c }
    }

    /// Value at the centre of pixel (x, y).
    pub(crate) fn at_pixel_centre(&self, x: i64, y: i64) -> i64 {
        self.a * (x * ONE + HALF) + self.b * (y * ONE + HALF) + self.c
    }

    /// Change per pixel step in x and in y.
    pub(crate) fn pixel_steps(&self) -> (i64, i64) {
        (self.a * ONE, self.b * ONE)
    }
}

/// One screen-space triangle ready for the tile rasterizer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TriangleSetup {
    /// Edge `i` is opposite vertex `i`; `E_i / area2` is vertex `i`'s screen-space barycentric.
    pub edges: [Edge; 3],
    /// Twice the triangle's area in sub-pixel² units, positive (vertices are reordered so).
    pub inv_area2: f32,
    /// Inclusive pixel bounds, already within the scissor and framebuffer.
    pub min_x: i32,
    pub min_y: i32,
    pub max_x: i32,
    pub max_y: i32,
    /// Depth at vertex 0 (bias included) and its deltas to vertices 1 and 2.
    pub z0: f32,
    pub dz1: f32,
    pub dz2: f32,
    pub inv_w: [f32; 3],
    pub front_facing: bool,
    pub primitive: u32,
    /// Offset in the attribute arena of `[a0; C] [a1 - a0; C] [a2 - a0; C]` (flat: the
    /// provoking value and zeros).
    pub attributes: usize,
    /// For the two triangles of a point: the point's square, for `PointCoord`.
    pub sprite: Option<PointSprite>,
    /// Where the triangle is half of an axis-aligned rectangle (three of its corners).
    pub half_rect: Option<HalfRect>,
}

/// A triangle whose vertices are three corners of an axis-aligned rectangle. Two such
/// triangles with the same rectangle and opposite missing corners cover exactly the pixels
/// whose centres lie inside the rectangle (the shared diagonal's pixels belong to exactly one
/// of them), which the rasterizer can then take as one rectangle ([`HalfRect::pair`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HalfRect {
    /// The rectangle in sub-pixels: x0 < x1, y0 < y1.
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
    /// The corner that is not a vertex: bit 0 set for x1 (else x0), bit 1 for y1.
    pub missing: u8,
}

impl HalfRect {
    /// The half rectangle of the snapped vertices, if they are three corners of one.
    #[inline(always)]
    fn of(xs: &[i64; 3], ys: &[i64; 3]) -> Option<HalfRect> {
        let (x0, x1) = (xs.iter().min()?, xs.iter().max()?);
        let (y0, y1) = (ys.iter().min()?, ys.iter().max()?);
        let two = |v: &[i64; 3], lo: i64, hi: i64| v.iter().all(|&c| c == lo || c == hi);
        if x0 == x1 || y0 == y1 || !two(xs, *x0, *x1) || !two(ys, *y0, *y1) {
            return None;
        }
        // Corner code of each vertex; the three are distinct (non-zero area), so the
        // missing one is the XOR of all four codes with the three present.
        let code = |i: usize| u8::from(xs[i] == *x1) | (u8::from(ys[i] == *y1) << 1);
        let narrow = |v: i64| i32::try_from(v).ok();
        Some(HalfRect {
            x0: narrow(*x0)?,
            y0: narrow(*y0)?,
            x1: narrow(*x1)?,
            y1: narrow(*y1)?,
            missing: code(0) ^ code(1) ^ code(2),
        })
    }

    /// With `other`, the rectangle's other half: the inclusive pixel bounds
    /// `[x0, y0, x1, y1]` of the pixels whose centres the two cover together (left and top
    /// sides in, right and bottom sides out, as the top-left rule gives the outer edges);
    /// `None` if they are not two halves of one rectangle or cover no pixel.
    pub(crate) fn pair(&self, other: &HalfRect) -> Option<[i64; 4]> {
        let same = (self.x0, self.y0, self.x1, self.y1) == (other.x0, other.y0, other.x1, other.y1);
        if !same || self.missing ^ other.missing != 3 {
            return None;
        }
        let bounds = [
            pixel_at_or_after(i64::from(self.x0)),
            pixel_at_or_after(i64::from(self.y0)),
            pixel_at_or_before(i64::from(self.x1) - 1),
            pixel_at_or_before(i64::from(self.y1) - 1),
        ];
        (bounds[0] <= bounds[2] && bounds[1] <= bounds[3]).then_some(bounds)
    }
}

/// Two consecutive triangles of a draw set up as one: the two halves of one axis-aligned
/// rectangle ([`HalfRect::pair`]) with the same facing and the same finite attribute values at
/// all six vertices, so that every fragment of either gets exactly those values. Its pixels
/// (the rectangle's, within the scissor) are whole 4×2 blocks, which a sink that takes
/// covered rectangles writes at once; for any other sink the rasterizer sets the two
/// triangles up again from the vertices kept here ([`SetupContext::triangle_into`]), which
/// gives exactly the setups they would have had.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RectSetup {
    /// Inclusive pixel bounds within the scissor and framebuffer: `min_x`, `max_x + 1`
    /// multiples of 4, `min_y`, `max_y + 1` of 2.
    pub min_x: i32,
    pub min_y: i32,
    pub max_x: i32,
    pub max_y: i32,
    pub front_facing: bool,
    /// The two triangles' primitive numbers.
    pub primitives: [u32; 2],
    /// Offset in the attribute arena of the `C` values every vertex carries.
    pub attributes: usize,
    /// Each triangle's vertices, in their original order.
    pub vertices: [[ScreenVertex; 3]; 2],
}

impl RectSetup {
    /// `[min_x, min_y, max_x, max_y]`.
    pub(crate) fn bounds(&self) -> [i32; 4] {
        [self.min_x, self.min_y, self.max_x, self.max_y]
    }
}

/// The square a point covers (framebuffer coordinates, y down), for `PointCoord`
/// (Vulkan §28.8.1: s = 1/2 + (x_f − x_w)/size, t = 1/2 + (y_f − y_w)/size, which is
/// (x_f − left)/size, (y_f − top)/size).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct PointSprite {
    pub left: f32,
    pub top: f32,
    pub inv_size: f32,
}

/// The per-draw part of setup.
pub(crate) struct SetupContext<'a> {
    /// Scissor ∩ framebuffer, half-open pixel bounds.
    pub clip_x0: i32,
    pub clip_y0: i32,
    pub clip_x1: i32,
    pub clip_y1: i32,
    pub cull_mode: CullMode,
    pub front_face: FrontFace,
    pub depth_bias: Option<DepthBias>,
    pub depth_resolution: DepthResolution,
    pub interpolation: &'a [Interpolation],
}

/// Whether a triangle came from a polygon (culling and depth bias apply) or from a point or
/// line (always front-facing, never biased).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Polygon,
    PointOrLine,
}

#[cfg(test)]
#[derive(Debug, PartialEq)]
pub(crate) enum SetupOutcome {
    Ready(TriangleSetup),
    Culled,
    /// Zero area after snapping, non-finite, or no pixel centre of the scissor in its bounds.
    Dropped,
}

/// What [`SetupContext::triangle_into`] did with a triangle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placed {
    /// Set up and appended to the list.
    Ready,
    Culled,
    /// Zero area after snapping, non-finite, or no pixel centre of the scissor in its bounds.
    Dropped,
}

impl<'a> SetupContext<'a> {
    pub(crate) fn new(state: &RasterState, interpolation: &'a [Interpolation]) -> Self {
        let s = &state.scissor;
        let fb_w = i64::from(state.width);
        let fb_h = i64::from(state.height);
        let x0 = i64::from(s.x).clamp(0, fb_w);
        let y0 = i64::from(s.y).clamp(0, fb_h);
        let x1 = (i64::from(s.x) + i64::from(s.width)).clamp(x0, fb_w);
        let y1 = (i64::from(s.y) + i64::from(s.height)).clamp(y0, fb_h);
        let to_i32 = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
        Self {
            clip_x0: to_i32(x0),
            clip_y0: to_i32(y0),
            clip_x1: to_i32(x1),
            clip_y1: to_i32(y1),
            cull_mode: state.cull_mode,
            front_face: state.front_face,
            depth_bias: state.depth_bias,
            depth_resolution: state.depth_resolution,
            interpolation,
        }
    }

    /// Sets up one triangle on its own (tests): [`SetupContext::triangle_into`] with a list
    /// of one.
    #[cfg(test)]
    pub(crate) fn triangle(
        &self,
        v: [ScreenVertex; 3],
        attrs: [&[f32]; 3],
        provoking: &[f32],
        origin: Origin,
        primitive: u32,
        arena: &mut Vec<f32>,
    ) -> SetupOutcome {
        let mut setups = Vec::with_capacity(1);
        match self.triangle_into(v, attrs, provoking, origin, primitive, arena, &mut setups) {
            Placed::Ready => match setups.pop() {
                Some(setup) => SetupOutcome::Ready(setup),
                None => SetupOutcome::Dropped,
            },
            Placed::Culled => SetupOutcome::Culled,
            Placed::Dropped => SetupOutcome::Dropped,
        }
    }

    /// Sets up one triangle; `attrs[i]` are vertex `i`'s components, `provoking` the values
    /// flat components take. When it is Ready, appends the attribute deltas to `arena` and
    /// the setup to `setups` (built in place: a returned setup was copied twice per triangle).
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn triangle_into(
        &self,
        mut v: [ScreenVertex; 3],
        mut attrs: [&[f32]; 3],
        provoking: &[f32],
        origin: Origin,
        primitive: u32,
        arena: &mut Vec<f32>,
        setups: &mut Vec<TriangleSetup>,
    ) -> Placed {
        let limit = 2.0 * GUARD_BAND;
        let ok = |p: &ScreenVertex| {
            p.x.abs() <= limit && p.y.abs() <= limit && p.z.is_finite() && p.inv_w.is_finite()
        };
        if !v.iter().all(ok) {
            return Placed::Dropped;
        }
        let (mut xs, mut ys) = snap(&v);
        let mut area2 = (xs[1] - xs[0]) * (ys[2] - ys[0]) - (xs[2] - xs[0]) * (ys[1] - ys[0]);
        if area2 == 0 {
            return Placed::Dropped;
        }
        // Vulkan's a = -area2 / 2 (y down): positive a is counter-clockwise.
        let front_facing = match origin {
            Origin::PointOrLine => true,
            Origin::Polygon => self.front_facing(area2),
        };
        if origin == Origin::Polygon && self.culls(front_facing) {
            return Placed::Culled;
        }
        if area2 < 0 {
            v.swap(1, 2);
            attrs.swap(1, 2);
            xs.swap(1, 2);
            ys.swap(1, 2);
            area2 = -area2;
        }

        let min_x = pixel_at_or_after(*xs.iter().min().unwrap_or(&0)).max(i64::from(self.clip_x0));
        let max_x =
            pixel_at_or_before(*xs.iter().max().unwrap_or(&0)).min(i64::from(self.clip_x1) - 1);
        let min_y = pixel_at_or_after(*ys.iter().min().unwrap_or(&0)).max(i64::from(self.clip_y0));
        let max_y =
            pixel_at_or_before(*ys.iter().max().unwrap_or(&0)).min(i64::from(self.clip_y1) - 1);
        if min_x > max_x || min_y > max_y {
            return Placed::Dropped;
        }

        // Spelled out: `array::from_fn` here built the edges on the stack in 8-byte stores
        // that the copy into `setups` then read back in 16-byte loads (a store-forwarding
        // stall per triangle).
        let edges = [
            Edge::through(xs[1], ys[1], xs[2], ys[2]),
            Edge::through(xs[2], ys[2], xs[0], ys[0]),
            Edge::through(xs[0], ys[0], xs[1], ys[1]),
        ];

        let dz1 = v[1].z - v[0].z;
        let dz2 = v[2].z - v[0].z;
        let bias = match (origin, self.depth_bias) {
            (Origin::Polygon, Some(bias)) => self.bias_offset(&bias, edges, area2, dz1, dz2, v),
            _ => 0.0,
        };

        let attributes = arena.len();
        let components = self.interpolation.len();
        let any_flat = self.interpolation.contains(&Interpolation::Flat);
        if !any_flat && attrs.iter().all(|a| a.len() == components) {
            // No flat component: the provoking values are not needed, and each vertex's
            // components are whole slices (same values as the general path below).
            // Common small counts: a fixed-size append, no zero fill.
            let appended = match components {
                1 => append_deltas::<1>(attrs, arena),
                2 => append_deltas::<2>(attrs, arena),
                3 => append_deltas::<3>(attrs, arena),
                4 => append_deltas::<4>(attrs, arena),
                8 => append_deltas::<8>(attrs, arena),
                _ => false,
            };
            if !appended {
                self.push_attributes_plain(attrs, arena);
            }
        } else {
            self.push_attributes_general(attrs, provoking, arena);
        }

        // All bounds were clamped into the i32 scissor range above.
        let narrow = |v: i64| i32::try_from(v).unwrap_or(0);
        setups.push(TriangleSetup {
            edges,
            inv_area2: (1.0 / area2 as f64) as f32,
            min_x: narrow(min_x),
            min_y: narrow(min_y),
            max_x: narrow(max_x),
            max_y: narrow(max_y),
            z0: v[0].z + bias,
            dz1,
            dz2,
            inv_w: [v[0].inv_w, v[1].inv_w, v[2].inv_w],
            front_facing,
            primitive,
            attributes,
            sprite: None,
            half_rect: HalfRect::of(&xs, &ys),
        });
        Placed::Ready
    }

    /// The pixel bounds `[min_x, min_y, max_x, max_y]` and facing of two triangles `a`, `b`
    /// that [`RectSetup`] may stand for: each would be set up (finite, within the guard band,
    /// not degenerate, not culled) with the same facing, they are the two halves of one
    /// rectangle, and the rectangle's pixels inside the scissor are a non-empty rectangle of
    /// whole 4×2 blocks. `None` otherwise (set them up one by one).
    // Inlined: a returned tuple went through memory in 4-byte stores read back as 16 bytes
    // (a store-forwarding stall per rectangle).
    #[inline(always)]
    pub(crate) fn rect_pair(
        &self,
        a: &[ScreenVertex; 3],
        b: &[ScreenVertex; 3],
    ) -> Option<([i32; 4], bool)> {
        let limit = 2.0 * GUARD_BAND;
        let mut finite = true;
        let mut c = [0.0f32; 16];
        for (k, p) in a.iter().chain(b).enumerate() {
            finite &=
                (p.x.abs() <= limit) & (p.y.abs() <= limit) & p.z.is_finite() & p.inv_w.is_finite();
            c[k] = p.x;
            c[8 + k] = p.y;
        }
        if !finite {
            return None;
        }
        // Sub-pixel x (lanes 0..6) and y (8..14) of the six vertices, as `snap` gives them.
        let fixed = snap_lanes(&c);
        // Each triangle: three corners of one rectangle (`HalfRect::of`), not degenerate,
        // and its facing.
        let half = |k: usize| {
            let xs = [fixed[k], fixed[k + 1], fixed[k + 2]].map(i64::from);
            let ys = [fixed[8 + k], fixed[9 + k], fixed[10 + k]].map(i64::from);
            let area2 = (xs[1] - xs[0]) * (ys[2] - ys[0]) - (xs[2] - xs[0]) * (ys[1] - ys[0]);
            if area2 == 0 {
                return None;
            }
            Some((HalfRect::of(&xs, &ys)?, self.front_facing(area2)))
        };
        let ((first, front_facing), (second, second_facing)) = (half(0)?, half(3)?);
        if self.culls(front_facing) || second_facing != front_facing {
            return None;
        }
        let [x0, y0, x1, y1] = first.pair(&second)?;
        let min_x = x0.max(i64::from(self.clip_x0));
        let min_y = y0.max(i64::from(self.clip_y0));
        let max_x = x1.min(i64::from(self.clip_x1) - 1);
        let max_y = y1.min(i64::from(self.clip_y1) - 1);
        if min_x > max_x || min_y > max_y || !on_block_grid([min_x, min_y, max_x, max_y]) {
            return None;
        }
        // Within the i32 scissor range (clamped above).
        let narrow = |v: i64| i32::try_from(v).ok();
        Some((
            [
                narrow(min_x)?,
                narrow(min_y)?,
                narrow(max_x)?,
                narrow(max_y)?,
            ],
            front_facing,
        ))
    }

    /// Whether a polygon whose snapped vertices give `area2` (twice its signed area, y down)
    /// faces the front: Vulkan's a = -area2 / 2, positive counter-clockwise.
    #[inline(always)]
    fn front_facing(&self, area2: i64) -> bool {
        match self.front_face {
            FrontFace::CounterClockwise => area2 < 0,
            FrontFace::Clockwise => area2 > 0,
        }
    }

    /// Whether the cull mode drops a polygon of that facing.
    #[inline(always)]
    fn culls(&self, front_facing: bool) -> bool {
        match self.cull_mode {
            CullMode::None => false,
            CullMode::Front => front_facing,
            CullMode::Back => !front_facing,
            CullMode::FrontAndBack => true,
        }
    }

    /// Appends `[a0; C] [a1 - a0; C] [a2 - a0; C]` when no component is flat and every
    /// slice has all C components. A few components: one resize and a plain loop beat three
    /// extends (each a call, the first a memcpy).
    fn push_attributes_plain(&self, attrs: [&[f32]; 3], arena: &mut Vec<f32>) {
        let components = self.interpolation.len();
        let start = arena.len();
        arena.resize(start + 3 * components, 0.0);
        let (d0, rest) = arena[start..].split_at_mut(components);
        let (d1, d2) = rest.split_at_mut(components);
        let [a0, a1, a2] = attrs;
        for (((d0, d1), d2), ((&a0, &a1), &a2)) in
            d0.iter_mut().zip(d1).zip(d2).zip(a0.iter().zip(a1).zip(a2))
        {
            *d0 = a0;
            *d1 = a1 - a0;
            *d2 = a2 - a0;
        }
    }

    /// Appends `[a0; C] [a1 - a0; C] [a2 - a0; C]` with flat components taking the
    /// provoking value (and zero deltas); a component missing from a slice reads 0.
    fn push_attributes_general(&self, attrs: [&[f32]; 3], provoking: &[f32], arena: &mut Vec<f32>) {
        let at = |values: &[f32], c: usize| values.get(c).copied().unwrap_or(0.0);
        arena.extend(
            modes_enumerated(self.interpolation).map(|(c, mode)| match mode {
                Interpolation::Flat => at(provoking, c),
                _ => at(attrs[0], c),
            }),
        );
        for vertex in [attrs[1], attrs[2]] {
            arena.extend(
                modes_enumerated(self.interpolation).map(|(c, mode)| match mode {
                    Interpolation::Flat => 0.0,
                    _ => at(vertex, c) - at(attrs[0], c),
                }),
            );
        }
    }

    /// Vulkan §28.9.4: `o = m·slope + r·constant`, clamped; `m` the larger screen-space depth
    /// slope.
    fn bias_offset(
        &self,
        bias: &DepthBias,
        edges: [Edge; 3],
        area2: i64,
        dz1: f32,
        dz2: f32,
        v: [ScreenVertex; 3],
    ) -> f32 {
        let per_pixel = ONE as f64 / area2 as f64;
        let dzdx =
            (edges[1].a as f64 * f64::from(dz1) + edges[2].a as f64 * f64::from(dz2)) * per_pixel;
        let dzdy =
            (edges[1].b as f64 * f64::from(dz1) + edges[2].b as f64 * f64::from(dz2)) * per_pixel;
        let m = dzdx.abs().max(dzdy.abs());
        let r = match self.depth_resolution {
            DepthResolution::Unorm { bits } => (-f64::from(bits.min(32))).exp2(),
            DepthResolution::Float => {
                let max_z = v.iter().map(|p| p.z.abs()).fold(0.0f32, f32::max);
                let exponent = ((max_z.to_bits() >> 23) & 0xff) as i32 - 127;
                f64::from(exponent.max(-126) - 23).exp2()
            }
        };
        let o = m * f64::from(bias.slope) + r * f64::from(bias.constant);
        let clamped = if bias.clamp > 0.0 {
            o.min(f64::from(bias.clamp))
        } else if bias.clamp < 0.0 {
            o.max(f64::from(bias.clamp))
        } else {
            o
        };
        clamped as f32
    }
}

/// Appends `[a0; N] [a1 - a0; N] [a2 - a0; N]` when every slice has exactly `N` components
/// (returns false, appending nothing, otherwise).
#[inline(always)]
fn append_deltas<const N: usize>(attrs: [&[f32]; 3], arena: &mut Vec<f32>) -> bool {
    let fixed = |a: &[f32]| <[f32; N]>::try_from(a).ok();
    let (Some(a0), Some(a1), Some(a2)) = (fixed(attrs[0]), fixed(attrs[1]), fixed(attrs[2])) else {
        return false;
    };
    let mut block = [[0.0f32; N]; 3];
    for c in 0..N {
        block[0][c] = a0[c];
        block[1][c] = a1[c] - a0[c];
        block[2][c] = a2[c] - a0[c];
    }
    arena.extend_from_slice(block.as_flattened());
    true
}

/// Each component's index and interpolation mode.
fn modes_enumerated(
    modes: &[Interpolation],
) -> impl ExactSizeIterator<Item = (usize, Interpolation)> + '_ {
    modes.iter().copied().enumerate()
}

/// `v.round() as i64` (halves away from zero) for |v| < 2^62, without the libm call: the
/// truncation and the fraction are exact in f64. The reference [`snap`] is tested against.
#[cfg(test)]
fn round_half_away(v: f64) -> i64 {
    let whole = v as i64;
    let fraction = v - whole as f64;
    whole + i64::from(fraction >= 0.5) - i64::from(fraction <= -0.5)
}

/// The vertices' x and y in sub-pixels, rounded half away from zero: the same values as
/// `round_half_away(f64::from(c) * ONE)`, all six in one pass of 8 f32 lanes (it vectorises).
/// Exact for |c| <= 2·[`GUARD_BAND`] (the caller checked): `c · ONE` scales by a power of two
/// and stays within ±2^24, so it, its truncation (which fits i32) and the fraction are exact
/// in f32.
#[inline(always)]
fn snap(v: &[ScreenVertex; 3]) -> ([i64; 3], [i64; 3]) {
    let c = [v[0].x, v[1].x, v[2].x, v[0].y, v[1].y, v[2].y, 0.0, 0.0];
    let mut fixed = [0i32; 8];
    for (f, &c) in fixed.iter_mut().zip(&c) {
        *f = snap_lane(c);
    }
    let w = |i: usize| i64::from(fixed[i]);
    ([w(0), w(1), w(2)], [w(3), w(4), w(5)])
}

/// [`snap`]'s rounding of 16 coordinates at once (two passes of 8 lanes when it vectorises);
/// the same bits, lane by lane, under the same bound.
#[inline(always)]
fn snap_lanes(c: &[f32; 16]) -> [i32; 16] {
    let mut fixed = [0i32; 16];
    for (f, &c) in fixed.iter_mut().zip(c) {
        *f = snap_lane(c);
    }
    fixed
}

/// `|c · ONE|` for `|c|` = 2·[`GUARD_BAND`], the largest coordinate snapped (2^24).
const SNAP_LIMIT: f32 = 2.0 * GUARD_BAND * ONE as f32;

/// One coordinate of [`snap`]. Branch-free and without Rust's saturating float-to-int cast
/// (which does not vectorise): `c · ONE` is clamped to ±[`SNAP_LIMIT`] first (NaN to the
/// lower bound), which changes nothing for the coordinates callers snap, and makes the
/// truncation always in range.
#[inline(always)]
// `clamp` keeps NaN, which the truncation below must not see.
#[allow(clippy::manual_clamp)]
fn snap_lane(c: f32) -> i32 {
    let s = (c * ONE as f32).max(-SNAP_LIMIT).min(SNAP_LIMIT);
    // SAFETY: `s` is finite (`max` returns the bound for NaN) and |s| <= 2^24 < 2^31, the
    // range `to_int_unchecked` requires for i32.
    let whole: i32 = unsafe { s.to_int_unchecked() };
    let fraction = s - whole as f32;
    whole + i32::from(fraction >= 0.5) - i32::from(fraction <= -0.5)
}

/// Whether the inclusive pixel bounds `[x_lo, y_lo, x_hi, y_hi]` are whole 4×2 blocks: every
/// side on the block grid.
pub(super) fn on_block_grid([x_lo, y_lo, x_hi, y_hi]: [i64; 4]) -> bool {
    x_lo.rem_euclid(4) == 0
        && (x_hi + 1).rem_euclid(4) == 0
        && y_lo.rem_euclid(2) == 0
        && (y_hi + 1).rem_euclid(2) == 0
}

/// First pixel whose centre is at or after sub-pixel coordinate `v`.
fn pixel_at_or_after(v: i64) -> i64 {
    (v - HALF + ONE - 1).div_euclid(ONE)
}

/// Last pixel whose centre is at or before sub-pixel coordinate `v`.
fn pixel_at_or_before(v: i64) -> i64 {
    (v - HALF).div_euclid(ONE)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn context(cull_mode: CullMode) -> SetupContext<'static> {
        SetupContext {
            clip_x0: 0,
            clip_y0: 0,
            clip_x1: 100,
            clip_y1: 100,
            cull_mode,
            front_face: FrontFace::CounterClockwise,
            depth_bias: None,
            depth_resolution: DepthResolution::Float,
            interpolation: &[],
        }
    }

    fn sv(x: f32, y: f32) -> ScreenVertex {
        ScreenVertex {
            x,
            y,
            z: 0.5,
            inv_w: 1.0,
        }
    }

    /// A polygon triangle with no attributes set up under `cull_mode` (scissor 100×100).
    fn set_up(cull_mode: CullMode, v: [ScreenVertex; 3]) -> SetupOutcome {
        context(cull_mode).triangle(v, [&[]; 3], &[], Origin::Polygon, 0, &mut Vec::new())
    }

    /// [`set_up`] without culling, which must give a triangle.
    fn ready(v: [ScreenVertex; 3]) -> TriangleSetup {
        match set_up(CullMode::None, v) {
            SetupOutcome::Ready(setup) => setup,
            out => panic!("expected a triangle, got {out:?}"),
        }
    }

    /// Pixels (x, y) of `clip` whose centres `tri` covers.
    fn covered(tri: &TriangleSetup, clip: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        for y in tri.min_y.into()..=tri.max_y.into() {
            for x in tri.min_x.into()..=tri.max_x.into() {
                if x < clip && y < clip && tri.edges.iter().all(|e| e.at_pixel_centre(x, y) >= 0) {
                    out.push((x, y));
                }
            }
        }
        out
    }

    #[test]
    fn two_halves_of_a_rectangle_cover_exactly_the_pixels_of_their_pair_bounds() {
        let mut seed = 0x5eed_1234_u64;
        let mut unit = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut pairs, mut pixels) = (0, 0);
        for n in 0..3000 {
            // Corners on sub-pixels, pixel centres, pixel edges and half sub-pixels.
            let coord = |u: f64, n: usize| -> f32 {
                let v = 90.0 * u;
                match n % 4 {
                    0 => v as f32,
                    1 => (v.floor() + 0.5) as f32,
                    2 => v.floor() as f32,
                    _ => ((v * 512.0).floor() / 512.0) as f32,
                }
            };
            let (xa, xb) = (coord(unit(), n), coord(unit(), n / 4));
            let (ya, yb) = (coord(unit(), n / 2), coord(unit(), n / 3));
            let corners = [sv(xa, ya), sv(xb, ya), sv(xb, yb), sv(xa, yb)];
            // Either diagonal, either winding, either order of the halves.
            let d = n % 2;
            let (p, q) = (corners[d], corners[d + 2]);
            let (r, t) = (corners[(d + 1) % 4], corners[(d + 3) % 4]);
            let mut halves = [[p, q, r], [q, p, t]];
            if n % 3 == 0 {
                halves = [[p, r, q], [q, t, p]];
            }
            if n % 5 == 0 {
                halves.swap(0, 1);
            }
            let setups: Vec<TriangleSetup> = halves
                .iter()
                .filter_map(|&v| match set_up(CullMode::None, v) {
                    SetupOutcome::Ready(t) => Some(t),
                    _ => None,
                })
                .collect();
            let [a, b] = setups.as_slice() else {
                continue;
            };
            let (ha, hb) = (a.half_rect.unwrap(), b.half_rect.unwrap());
            assert_eq!(ha.pair(&ha), None, "the same half twice is no pair");
            let mut union = covered(a, 100);
            union.extend(covered(b, 100));
            let before = union.len();
            union.sort_unstable();
            union.dedup();
            assert_eq!(before, union.len(), "{n}: a pixel of the diagonal twice");
            let want = match (union.first(), union.last()) {
                (Some(&(_, y0)), Some(&(_, y1))) => {
                    let x0 = union.iter().map(|p| p.0).min().unwrap();
                    let x1 = union.iter().map(|p| p.0).max().unwrap();
                    assert_eq!(union.len() as i64, (x1 - x0 + 1) * (y1 - y0 + 1), "{n}");
                    Some([x0, y0, x1, y1])
                }
                _ => None,
            };
            assert_eq!(ha.pair(&hb), want, "{n}: {halves:?}");
            pairs += 1;
            pixels += union.len();
        }
        assert!(
            pairs > 2000 && pixels > 100_000,
            "{pairs} pairs, {pixels} pixels"
        );
        // Not three corners of a rectangle: no half.
        let setup = ready([sv(1.0, 1.0), sv(9.0, 1.5), sv(1.0, 9.0)]);
        assert_eq!(setup.half_rect, None);
    }

    #[test]
    fn edge_value_at_opposite_vertex_is_twice_the_area() {
        let setup = ready([sv(1.0, 1.0), sv(9.0, 1.0), sv(1.0, 9.0)]);
        let area2 = 8 * 8 * ONE * ONE;
        assert!((setup.inv_area2 - 1.0 / area2 as f32).abs() < 1e-12);
        // Vertex 0 at pixel-centre-aligned (1,1) sub-pixels = 256: edge 0 evaluated there.
        let e0 = setup.edges[0].a * ONE + setup.edges[0].b * ONE + setup.edges[0].c;
        assert!((e0 - area2).abs() <= 1);
    }

    #[test]
    fn visually_clockwise_triangle_is_back_facing_for_counter_clockwise_front() {
        // (1,1) → (9,1) → (1,9) turns clockwise on a y-down screen: Vulkan area < 0.
        let clockwise = [sv(1.0, 1.0), sv(9.0, 1.0), sv(1.0, 9.0)];
        assert_eq!(set_up(CullMode::Back, clockwise), SetupOutcome::Culled);
        let out = set_up(CullMode::Front, clockwise);
        assert!(matches!(out, SetupOutcome::Ready(s) if !s.front_facing));
    }

    #[test]
    fn zero_area_and_non_finite_triangles_are_dropped() {
        let ctx = context(CullMode::None);
        let line = [sv(1.0, 1.0), sv(5.0, 5.0), sv(9.0, 9.0)];
        assert_eq!(
            ctx.triangle(line, [&[]; 3], &[], Origin::Polygon, 0, &mut Vec::new()),
            SetupOutcome::Dropped
        );
        let nan = [sv(f32::NAN, 1.0), sv(5.0, 5.0), sv(9.0, 1.0)];
        assert_eq!(
            ctx.triangle(nan, [&[]; 3], &[], Origin::Polygon, 0, &mut Vec::new()),
            SetupOutcome::Dropped
        );
    }

    #[test]
    fn rounding_matches_f64_round_including_halves() {
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.49999999999999994,
        ];
        let mut seed = 0x1234_5678u64;
        for _ in 0..10_000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let f = f32::from_bits((seed >> 32) as u32);
            if f.is_finite() && f.abs() <= 2.0 * GUARD_BAND {
                values.push(f64::from(f) * ONE as f64);
            }
            values.push(((seed >> 40) as f64 - 8e6) / 2.0);
        }
        for v in values {
            assert_eq!(round_half_away(v), v.round() as i64, "{v}");
        }
    }

    #[test]
    fn snapping_in_f32_lanes_matches_f64_rounding() {
        let limit = 2.0 * GUARD_BAND;
        let mut coords = vec![0.0f32, -0.0, limit, -limit, 1.0 / 512.0, -1.0 / 512.0];
        // Exact halves of a sub-pixel, on both sides of zero and near the limit.
        for k in [1i32, 3, 5, 255, 257, (1 << 25) - 1] {
            let h = k as f32 / 512.0;
            coords.extend([h, -h]);
        }
        let mut seed = 0x9e37_79b9u64;
        for _ in 0..20_000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let f = f32::from_bits((seed >> 32) as u32);
            if f.is_finite() && f.abs() <= limit {
                coords.push(f);
            }
            coords.push(((seed >> 38) as f32 - 33_554_432.0) / 512.0);
        }
        for chunk in coords.chunks_exact(6) {
            let vertex = |x: f32, y: f32| ScreenVertex {
                x,
                y,
                z: 0.0,
                inv_w: 1.0,
            };
            let v = [
                vertex(chunk[0], chunk[3]),
                vertex(chunk[1], chunk[4]),
                vertex(chunk[2], chunk[5]),
            ];
            let reference = |f: f32| round_half_away(f64::from(f) * ONE as f64);
            let expected = (
                [
                    reference(chunk[0]),
                    reference(chunk[1]),
                    reference(chunk[2]),
                ],
                [
                    reference(chunk[3]),
                    reference(chunk[4]),
                    reference(chunk[5]),
                ],
            );
            assert_eq!(snap(&v), expected, "{chunk:?}");
        }
    }

    #[test]
    fn attribute_deltas_are_the_same_for_every_component_count() {
        let modes = [Interpolation::Smooth; 9];
        for components in 1..=modes.len() {
            let ctx = SetupContext {
                interpolation: &modes[..components],
                ..context(CullMode::None)
            };
            let value = |vertex: usize, c: usize| (vertex * 16 + c) as f32 * 0.37 - 2.0;
            let a: Vec<Vec<f32>> = (0..3)
                .map(|vertex| (0..components).map(|c| value(vertex, c)).collect())
                .collect();
            let mut arena = vec![7.0];
            let out = ctx.triangle(
                [sv(1.0, 1.0), sv(9.0, 1.0), sv(1.0, 9.0)],
                [&a[0], &a[1], &a[2]],
                &a[0],
                Origin::Polygon,
                0,
                &mut arena,
            );
            let SetupOutcome::Ready(setup) = out else {
                panic!("expected a triangle, got {out:?}")
            };
            assert_eq!(setup.attributes, 1);
            let mut expected = vec![7.0];
            expected.extend(a[0].iter().copied());
            for vertex in [&a[1], &a[2]] {
                expected.extend(vertex.iter().zip(&a[0]).map(|(v, v0)| v - v0));
            }
            assert_eq!(arena, expected, "{components} components");
        }
    }

    #[test]
    fn pixel_bounds_follow_pixel_centres() {
        assert_eq!(pixel_at_or_after(HALF), 0);
        assert_eq!(pixel_at_or_after(HALF + 1), 1);
        assert_eq!(pixel_at_or_before(HALF - 1), -1);
        assert_eq!(pixel_at_or_before(ONE + HALF), 1);
    }
}
