//! The front end: primitives in clip space → clipped → screen-space triangles set up.
//!
//! Triangles are clipped (only when a vertex is outside a plane) and fanned. Lines use the
//! spec's rectangle rasterization (`VK_LINE_RASTERIZATION_MODE_RECTANGULAR`, the strict-lines
//! rule): a width-1 rectangle centred on the segment, not extended past its endpoints, split
//! in two triangles whose corners carry their endpoint's depth, 1/w and attributes, so
//! interpolation is exactly the spec's projection onto the segment. Points are discarded when
//! their vertex is outside the clip volume (Vulkan §27.3) and otherwise become a centred
//! square of side `PointSize` (clamped to [1, MAX_POINT_SIZE]) with the vertex's attributes.

use std::sync::{Mutex, PoisonError};

use super::clip::{ClipPlanes, ClipPolygon};
use super::setup::{
    Origin, Placed, PointSprite, RectSetup, ScreenVertex, SetupContext, TriangleSetup,
};
use super::{RasterError, RasterState, RasterStats, VertexStream, MAX_POINT_SIZE};

/// Set-up triangles of a draw and the attribute arena they point into.
#[derive(Debug, Default)]
pub(crate) struct SetupList {
    pub setups: Vec<TriangleSetup>,
    /// Pairs of triangles set up as one rectangle, in primitive order among themselves (and
    /// by primitive number among `setups`).
    pub rects: Vec<RectSetup>,
    pub arena: Vec<f32>,
    pub stats: RasterStats,
}

/// Bytes of set-up lists kept for reuse at most. A window's lists are large and short-lived;
/// fresh ones would fault in new pages on every window (glibc hands large blocks back to the
/// kernel when they are freed), so finished lists are cleared and kept, up to this much.
const MAX_SPARE_BYTES: usize = 16 << 20;

/// Cleared set-up lists waiting to be reused, and the bytes they hold.
static SPARE_LISTS: Mutex<(Vec<SetupList>, usize)> = Mutex::new((Vec::new(), 0));

impl SetupList {
    /// An empty list, reusing a spare one's memory when there is one.
    pub(crate) fn take() -> SetupList {
        let mut spare = SPARE_LISTS.lock().unwrap_or_else(PoisonError::into_inner);
        match spare.0.pop() {
            Some(list) => {
                spare.1 = spare.1.saturating_sub(list.bytes());
                list
            }
            None => SetupList::default(),
        }
    }

    /// Clears the list and keeps its memory for a later [`SetupList::take`] (or frees it
    /// when enough is kept already).
    pub(crate) fn recycle(mut self) {
        self.setups.clear();
        self.rects.clear();
        self.arena.clear();
        self.stats = RasterStats::default();
        let bytes = self.bytes();
        let mut spare = SPARE_LISTS.lock().unwrap_or_else(PoisonError::into_inner);
        if spare.1.saturating_add(bytes) <= MAX_SPARE_BYTES {
            spare.1 += bytes;
            spare.0.push(self);
        }
    }

    fn bytes(&self) -> usize {
        self.setups.capacity() * std::mem::size_of::<TriangleSetup>()
            + self.rects.capacity() * std::mem::size_of::<RectSetup>()
            + self.arena.capacity() * std::mem::size_of::<f32>()
    }

    fn push(
        &mut self,
        ctx: &SetupContext<'_>,
        v: [ScreenVertex; 3],
        attrs: [&[f32]; 3],
        provoking: &[f32],
        origin: Origin,
        primitive: u32,
    ) {
        let placed = ctx.triangle_into(
            v,
            attrs,
            provoking,
            origin,
            primitive,
            &mut self.arena,
            &mut self.setups,
        );
        match placed {
            Placed::Ready => self.stats.triangles += 1,
            Placed::Culled => self.stats.culled += 1,
            Placed::Dropped => {}
        }
    }
}

/// The viewport transform and clip-volume test of one draw, vertex by vertex: what the
/// front end does to each vertex of a triangle, which the vertex stage can do once per vertex
/// and many lanes at a time ([`PostTransform::vertices`]).
#[derive(Clone, Debug)]
pub(crate) struct PostTransform {
    /// The draw's clip planes (the front end clips against them too).
    planes: ClipPlanes,
    /// Viewport transform: x_f = ox + hx·x_d, y_f = oy + hy·y_d, z_f = oz + pz·z_d.
    ox: f32,
    oy: f32,
    hx: f32,
    hy: f32,
    oz: f32,
    pz: f32,
}

/// Each vertex's clip test and screen position ([`PostTransform::vertices`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PostVertices<'a> {
    pub screen: &'a [ScreenVertex],
    /// Inside the clip volume (every plane, finite): [`ClipPlanes::vertex_inside`].
    pub inside: &'a [bool],
}

/// Vertices transformed at once by [`PostTransform::vertices`].
pub(crate) const POST_LANES: usize = 8;

impl PostTransform {
    pub(crate) fn new(state: &RasterState) -> PostTransform {
        let vp = &state.viewport;
        PostTransform {
            planes: ClipPlanes::new(vp, state.depth_clamp),
            hx: vp.width * 0.5,
            hy: vp.height * 0.5,
            ox: vp.x + vp.width * 0.5,
            oy: vp.y + vp.height * 0.5,
            oz: vp.min_depth,
            pz: vp.max_depth - vp.min_depth,
        }
    }

    /// The perspective divide and viewport transform of clip-space `p`.
    #[inline(always)]
    pub(crate) fn to_screen(&self, p: [f32; 4]) -> ScreenVertex {
        let inv_w = 1.0 / p[3];
        ScreenVertex {
            x: self.ox + self.hx * (p[0] * inv_w),
            y: self.oy + self.hy * (p[1] * inv_w),
            z: self.oz + self.pz * (p[2] * inv_w),
            inv_w,
        }
    }

    /// For every vertex of `positions`: whether it is inside the clip volume, and its screen
    /// position — the same operations as [`ClipPlanes::vertex_inside`] and
    /// [`Self::to_screen`], [`POST_LANES`] vertices at a time, so the same bits.
    pub(crate) fn vertices(
        &self,
        positions: &[[f32; 4]],
        screen: &mut [ScreenVertex],
        inside: &mut [bool],
    ) {
        const N: usize = POST_LANES;
        let groups = positions
            .chunks(N)
            .zip(screen.chunks_mut(N))
            .zip(inside.chunks_mut(N));
        for ((p, s), i) in groups {
            if p.len() < N {
                for ((p, s), i) in p.iter().zip(s).zip(i) {
                    *i = self.planes.vertex_inside(p);
                    *s = self.to_screen(*p);
                }
                continue;
            }
            let (mut x, mut y, mut z, mut w) = ([0.0f32; N], [0.0f32; N], [0.0f32; N], [0.0f32; N]);
            for (k, p) in p.iter().enumerate().take(N) {
                [x[k], y[k], z[k], w[k]] = *p;
            }
            self.lanes([&x, &y, &z, &w], s, i);
        }
    }

    /// [`Self::vertices`] of [`POST_LANES`] vertices given coordinate by coordinate
    /// (`[x, y, z, w]`, lane `k` vertex `k`), into the first lanes of `screen` and `inside`.
    #[inline(always)]
    pub(crate) fn lanes(
        &self,
        [x, y, z, w]: [&[f32; POST_LANES]; 4],
        screen: &mut [ScreenVertex],
        inside: &mut [bool],
    ) {
        const N: usize = POST_LANES;
        let mut inv_w = [0.0f32; N];
        let (mut sx, mut sy, mut sz) = ([0.0f32; N], [0.0f32; N], [0.0f32; N]);
        for k in 0..N {
            inv_w[k] = 1.0 / w[k];
            sx[k] = self.ox + self.hx * (x[k] * inv_w[k]);
            sy[k] = self.oy + self.hy * (y[k] * inv_w[k]);
            sz[k] = self.oz + self.pz * (z[k] * inv_w[k]);
        }
        let flags = self.planes.inside_lanes(x, y, z, w);
        if let (Ok(screen), Ok(inside)) = (
            <&mut [ScreenVertex; N]>::try_from(&mut *screen),
            <&mut [bool; N]>::try_from(&mut *inside),
        ) {
            // A whole group: one transpose in registers.
            let rows = crate::cpu::rows_of_columns([&sx, &sy, &sz, &inv_w]);
            for (s, [x, y, z, inv_w]) in screen.iter_mut().zip(rows) {
                *s = ScreenVertex { x, y, z, inv_w };
            }
            *inside = flags;
            return;
        }
        for (k, (s, i)) in screen.iter_mut().zip(inside).take(N).enumerate() {
            *s = ScreenVertex {
                x: sx[k],
                y: sy[k],
                z: sz[k],
                inv_w: inv_w[k],
            };
            *i = flags[k];
        }
    }
}

pub(crate) struct Frontend<'a> {
    vertices: &'a VertexStream<'a>,
    ctx: SetupContext<'a>,
    depth_clamp: bool,
    /// Set up two consecutive triangles that make one rectangle as one ([`RectSetup`]),
    /// where the vertices come with their post-transform (`transformed`).
    rect_pairs: bool,
    /// The viewport transform.
    post: PostTransform,
    /// Each vertex's [`PostTransform`], where the vertex stage worked it out already.
    transformed: Option<PostVertices<'a>>,
    out: SetupList,
    polygon: ClipPolygon,
    scratch: ClipPolygon,
    provoking: Vec<f32>,
}

impl<'a> Frontend<'a> {
    #[cfg(test)]
    pub(crate) fn new(state: &RasterState, vertices: &'a VertexStream<'a>) -> Self {
        Self::with_transformed(state, vertices, None)
    }

    /// A front end that takes each vertex's clip test and screen position from `transformed`
    /// (made by [`PostTransform::vertices`] for this state), where it has every vertex.
    pub(crate) fn with_transformed(
        state: &RasterState,
        vertices: &'a VertexStream<'a>,
        transformed: Option<PostVertices<'a>>,
    ) -> Self {
        let count = vertices.positions.len();
        Self {
            vertices,
            ctx: SetupContext::new(state, vertices.interpolation),
            depth_clamp: state.depth_clamp,
            rect_pairs: state.rect_pairs,
            post: PostTransform::new(state),
            transformed: transformed.filter(|t| t.screen.len() == count && t.inside.len() == count),
            out: SetupList::take(),
            polygon: ClipPolygon::default(),
            scratch: ClipPolygon::default(),
            provoking: Vec::new(),
        }
    }

    pub(crate) fn finish(self) -> SetupList {
        self.out
    }

    /// Room for `triangles` more setups and their attribute deltas.
    fn reserve(&mut self, triangles: usize) {
        self.out.setups.reserve(triangles);
        self.out
            .arena
            .reserve(triangles.saturating_mul(3 * self.components()));
    }

    fn components(&self) -> usize {
        self.vertices.interpolation.len()
    }

    fn vertex(&self, primitive: usize, index: u32) -> Result<([f32; 4], &'a [f32]), RasterError> {
        let count = self.vertices.positions.len();
        let i = index as usize;
        let position =
            *self
                .vertices
                .positions
                .get(i)
                .ok_or(RasterError::VertexIndexOutOfRange {
                    primitive,
                    index,
                    count,
                })?;
        let c = self.components();
        // `validate` checked attributes.len() == count * c, and i < count.
        let attributes = self
            .vertices
            .attributes
            .get(i * c..(i + 1) * c)
            .unwrap_or(&[]);
        Ok((position, attributes))
    }

    fn to_screen(&self, p: [f32; 4]) -> ScreenVertex {
        self.post.to_screen(p)
    }

    /// Whether the three vertices `tri` (positions `p`) are inside the clip volume, and their
    /// screen positions where they are.
    #[inline(always)]
    fn inside(&self, tri: &[u32; 3], p: [&[f32; 4]; 3]) -> Option<[ScreenVertex; 3]> {
        if let Some(t) = &self.transformed {
            let at = |k: usize| tri[k] as usize;
            // `vertex` checked every index against the vertex count, which `t` matches.
            let inside = t.inside.get(at(0)).copied().unwrap_or(false)
                & t.inside.get(at(1)).copied().unwrap_or(false)
                & t.inside.get(at(2)).copied().unwrap_or(false);
            if !inside {
                return None;
            }
            let screen = |k: usize| t.screen.get(at(k)).copied().unwrap_or_default();
            return Some([screen(0), screen(1), screen(2)]);
        }
        self.post
            .planes
            .all_inside(p)
            .then(|| p.map(|p| self.to_screen(*p)))
    }

    /// Sets up `triangles`, the first of which is primitive `first` of the draw.
    pub(crate) fn triangles(
        &mut self,
        triangles: &[[u32; 3]],
        first: usize,
    ) -> Result<(), RasterError> {
        // Most triangles give one setup: size the lists once (a chunk has at most
        // SETUP_CHUNK primitives) instead of growing them by copies.
        self.reserve(triangles.len());
        let pairs = self.rect_pairs.then_some(self.transformed).flatten();
        if pairs.is_some() {
            // Room for every pair to be a rectangle, as for every triangle to be a setup.
            self.out.rects.reserve(triangles.len() / 2);
        }
        let mut k = 0;
        while let Some(tri) = triangles.get(k) {
            let i = first + k;
            k += 1;
            if let (Some(t), Some(next)) = (pairs, triangles.get(k)) {
                if self.transformed_rect_pair(t, tri, next, i) {
                    k += 1;
                    continue;
                }
            }
            let id = u32::try_from(i).unwrap_or(u32::MAX);
            let (p0, a0) = self.vertex(i, tri[0])?;
            let (p1, a1) = self.vertex(i, tri[1])?;
            let (p2, a2) = self.vertex(i, tri[2])?;
            if let Some(v) = self.inside(tri, [&p0, &p1, &p2]) {
                self.out
                    .push(&self.ctx, v, [a0, a1, a2], a0, Origin::Polygon, id);
                continue;
            }
            let codes = [
                self.post.planes.outcode(&p0),
                self.post.planes.outcode(&p1),
                self.post.planes.outcode(&p2),
            ];
            if codes[0] & codes[1] & codes[2] != 0 {
                continue;
            }
            let crossed = codes[0] | codes[1] | codes[2];
            if crossed == 0 {
                let v = [p0, p1, p2].map(|p| self.to_screen(p));
                self.out
                    .push(&self.ctx, v, [a0, a1, a2], a0, Origin::Polygon, id);
                continue;
            }
            let components = self.components();
            self.polygon.clear(components);
            self.polygon.push(p0, a0);
            self.polygon.push(p1, a1);
            self.polygon.push(p2, a2);
            self.post
                .planes
                .clip_polygon(&mut self.polygon, &mut self.scratch, crossed);
            self.provoking.clear();
            self.provoking.extend_from_slice(a0);
            for k in 1..self.polygon.len().saturating_sub(1) {
                let fan = [0, k, k + 1];
                let v = fan.map(|j| self.to_screen(self.polygon.positions[j]));
                let attrs = fan.map(|j| self.polygon.attributes_of(j));
                self.out
                    .push(&self.ctx, v, attrs, &self.provoking, Origin::Polygon, id);
            }
        }
        Ok(())
    }

    /// Sets triangle `i` (`tri`) and the next one (`next`) up as one [`RectSetup`] where
    /// they are two halves of one rectangle of whole blocks, inside the clip volume, with the
    /// same attribute values at all six vertices ([`SetupContext::rect_pair`]), reading their
    /// clip tests and screen positions from `t`. False (nothing done) otherwise, or where an
    /// index is out of range (the triangle-by-triangle path then reports it).
    #[inline(always)]
    fn transformed_rect_pair(
        &mut self,
        t: PostVertices<'a>,
        tri: &[u32; 3],
        next: &[u32; 3],
        i: usize,
    ) -> bool {
        let at = [tri[0], tri[1], tri[2], next[0], next[1], next[2]].map(|v| v as usize);
        // `t` has exactly one entry per vertex (`with_transformed`).
        if at.iter().any(|&v| v >= t.inside.len()) {
            return false;
        }
        let mut inside = true;
        let mut screen = [ScreenVertex::default(); 6];
        for (s, &v) in screen.iter_mut().zip(&at) {
            inside &= t.inside.get(v).copied().unwrap_or(false);
            *s = t.screen.get(v).copied().unwrap_or_default();
        }
        let v = [screen[0], screen[1], screen[2]];
        let w = [screen[3], screen[4], screen[5]];
        if !inside || !maybe_half_rect(&v) || !maybe_half_rect(&w) {
            return false;
        }
        let c = self.components();
        let attributes = self.vertices.attributes;
        let Some(values) = attributes.get(at[0] * c..at[0] * c + c) else {
            return false;
        };
        let same = at[1..].iter().all(|&v| {
            attributes
                .get(v * c..v * c + c)
                .is_some_and(|other| bits_equal(other, values))
        });
        if !same || !all_finite(values) {
            return false;
        }
        let Some(([min_x, min_y, max_x, max_y], front_facing)) = self.ctx.rect_pair(&v, &w) else {
            return false;
        };
        let id = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        let attributes = self.out.arena.len();
        self.out.arena.extend_from_slice(values);
        self.out.rects.push(RectSetup {
            min_x,
            min_y,
            max_x,
            max_y,
            front_facing,
            primitives: [id(i), id(i + 1)],
            attributes,
            vertices: [v, w],
        });
        self.out.stats.triangles += 2;
        true
    }

    /// Sets up `lines`, the first of which is primitive `first` of the draw.
    pub(crate) fn lines(&mut self, lines: &[[u32; 2]], first: usize) -> Result<(), RasterError> {
        self.reserve(2 * lines.len());
        for (i, line) in (first..).zip(lines) {
            let id = u32::try_from(i).unwrap_or(u32::MAX);
            let (p0, a0) = self.vertex(i, line[0])?;
            let (p1, a1) = self.vertex(i, line[1])?;
            let (c0, c1) = (self.post.planes.outcode(&p0), self.post.planes.outcode(&p1));
            if c0 & c1 != 0 {
                continue;
            }
            self.polygon.clear(self.components());
            self.polygon.push(p0, a0);
            self.polygon.push(p1, a1);
            if c0 | c1 != 0 && !self.post.planes.clip_segment(&mut self.polygon, c0 | c1) {
                continue;
            }
            let s = self.to_screen(self.polygon.positions[0]);
            let e = self.to_screen(self.polygon.positions[1]);
            let (dx, dy) = (e.x - s.x, e.y - s.y);
            let length = dx.hypot(dy);
            if length.is_nan() || length <= 0.0 || !length.is_finite() {
                continue;
            }
            let (nx, ny) = (-dy / length * 0.5, dx / length * 0.5);
            let at = |v: &ScreenVertex, sign: f32| ScreenVertex {
                x: v.x + sign * nx,
                y: v.y + sign * ny,
                ..*v
            };
            let corners = [at(&s, 1.0), at(&s, -1.0), at(&e, -1.0), at(&e, 1.0)];
            let (sa, ea) = (self.polygon.attributes_of(0), self.polygon.attributes_of(1));
            let attrs = [sa, sa, ea, ea];
            for tri in [[0, 1, 3], [1, 2, 3]] {
                self.out.push(
                    &self.ctx,
                    tri.map(|j| corners[j]),
                    tri.map(|j| attrs[j]),
                    a0,
                    Origin::PointOrLine,
                    id,
                );
            }
        }
        Ok(())
    }

    /// Sets up `points`, the first of which is primitive `first` of the draw.
    pub(crate) fn points(&mut self, points: &[u32], first: usize) -> Result<(), RasterError> {
        self.reserve(2 * points.len());
        for (i, &index) in (first..).zip(points) {
            let id = u32::try_from(i).unwrap_or(u32::MAX);
            let (p, attrs) = self.vertex(i, index)?;
            let [x, y, z, w] = p;
            let inside_xy = x >= -w && x <= w && y >= -w && y <= w && w > 0.0;
            let inside_z = self.depth_clamp || (z >= 0.0 && z <= w);
            if !(inside_xy && inside_z) {
                continue;
            }
            let size = self
                .vertices
                .point_sizes
                .and_then(|s| s.get(index as usize))
                .copied()
                .unwrap_or(1.0);
            let half = if size.is_nan() {
                0.5
            } else {
                size.clamp(1.0, MAX_POINT_SIZE) * 0.5
            };
            let c = self.to_screen(p);
            let at = |sx: f32, sy: f32| ScreenVertex {
                x: c.x + sx * half,
                y: c.y + sy * half,
                ..c
            };
            let corners = [at(-1.0, -1.0), at(1.0, -1.0), at(1.0, 1.0), at(-1.0, 1.0)];
            let first = self.out.setups.len();
            for tri in [[0, 1, 3], [1, 2, 3]] {
                self.out.push(
                    &self.ctx,
                    tri.map(|j| corners[j]),
                    [attrs; 3],
                    attrs,
                    Origin::PointOrLine,
                    id,
                );
            }
            let sprite = PointSprite {
                left: c.x - half,
                top: c.y - half,
                inv_size: 0.5 / half,
            };
            for setup in self.out.setups.iter_mut().skip(first) {
                setup.sprite = Some(sprite);
            }
        }
        Ok(())
    }
}

/// Whether screen vertices `v` may be three corners of an axis-aligned rectangle: two
/// distinct x and two distinct y values, before snapping (a cheap test that few other
/// triangles pass). A triangle whose distinct values only snap together is not paired here;
/// it is set up on its own, and the tile rasterizer may still pair it
/// ([`super::tile::TileRaster::rect_pair`]).
#[inline(always)]
fn maybe_half_rect(v: &[ScreenVertex; 3]) -> bool {
    let two = |a: f32, b: f32, c: f32| (a == b) as u8 + (b == c) as u8 + (a == c) as u8 == 1;
    two(v[0].x, v[1].x, v[2].x) && two(v[0].y, v[1].y, v[2].y)
}

/// `a` and `b` hold the same bits (no early exit: a few values, compared in lanes).
#[inline(always)]
fn bits_equal(a: &[f32], b: &[f32]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // Four at a time (one vector compare), then the rest.
    let ((a4, a_rest), (b4, b_rest)) = (a.as_chunks::<4>(), b.as_chunks::<4>());
    let mut differ = [0u32; 4];
    for (x, y) in a4.iter().zip(b4) {
        for k in 0..4 {
            differ[k] |= x[k].to_bits() ^ y[k].to_bits();
        }
    }
    let rest = a_rest
        .iter()
        .zip(b_rest)
        .fold(0, |d, (x, y)| d | (x.to_bits() ^ y.to_bits()));
    differ == [0; 4] && rest == 0
}

/// Every value of `a` is finite (no early exit, as [`bits_equal`]).
#[inline(always)]
fn all_finite(a: &[f32]) -> bool {
    a.iter().fold(true, |ok, v| ok & v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::{Interpolation, RasterState};

    /// Setup cost alone, in ns per triangle, on the draw-throughput test's small-triangle
    /// workload (1M triangles of 8 px on 1920×1080, four smooth components, chunks of 1024
    /// like `bin`): `cargo test --release -p renderer --lib -- --ignored setup_throughput
    /// --nocapture`. `SOFTGPU_SETUP_RUNS` sets the runs (best of 7 by default);
    /// `SOFTGPU_SETUP_PAIRS_ONLY` times only rectangle pairs from transformed vertices (the
    /// draw's path), for profiles.
    #[test]
    #[ignore]
    fn setup_throughput() {
        let (width, height, cell) = (1920u32, 1080u32, 4u32);
        let clip = |x: u32, y: u32| {
            [
                x as f32 / width as f32 * 2.0 - 1.0,
                y as f32 / height as f32 * 2.0 - 1.0,
                0.5,
                1.0,
            ]
        };
        let (columns, rows) = (width / cell, height / cell);
        let mut positions = Vec::new();
        for pair in 0..500_000 {
            let c = pair % (columns * rows);
            let (x0, y0) = ((c % columns) * cell, (c / columns) * cell);
            let (x1, y1) = (x0 + cell, y0 + cell);
            for (x, y) in [(x0, y0), (x1, y0), (x1, y1), (x0, y0), (x1, y1), (x0, y1)] {
                positions.push(clip(x, y));
            }
        }
        let count = positions.len() / 3;
        let attributes = vec![0.5f32; positions.len() * 4];
        let stream = VertexStream {
            positions: &positions,
            attributes: &attributes,
            interpolation: &[Interpolation::Smooth; 4],
            point_sizes: None,
        };
        let triangles: Vec<[u32; 3]> = (0..count as u32)
            .map(|t| [3 * t, 3 * t + 1, 3 * t + 2])
            .collect();
        for rect_pairs in [false, true] {
            let state = RasterState {
                rect_pairs,
                ..RasterState::covering(width, height)
            };
            let n = positions.len();
            let (mut screen, mut inside) = (vec![ScreenVertex::default(); n], vec![false; n]);
            PostTransform::new(&state).vertices(&positions, &mut screen, &mut inside);
            for transformed in [false, true] {
                if std::env::var_os("SOFTGPU_SETUP_PAIRS_ONLY").is_some()
                    && !(transformed && rect_pairs)
                {
                    continue;
                }
                let post = transformed.then_some(PostVertices {
                    screen: &screen,
                    inside: &inside,
                });
                let (set_up, ns) = time_setup(&state, &stream, post, &triangles);
                assert_eq!(set_up, count);
                println!(
                    "setup: {count} triangles, rect pairs {rect_pairs}, transformed \
                     {transformed}: {ns:.1} ns per triangle"
                );
            }
        }
    }

    /// Best of `SOFTGPU_SETUP_RUNS` (7) runs of setting up `triangles` in chunks of 1024:
    /// triangles set up (pairs count twice) and ns per triangle.
    fn time_setup(
        state: &RasterState,
        stream: &VertexStream<'_>,
        transformed: Option<PostVertices<'_>>,
        triangles: &[[u32; 3]],
    ) -> (usize, f64) {
        let mut best = f64::INFINITY;
        let mut set_up = 0;
        let runs = std::env::var("SOFTGPU_SETUP_RUNS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(7);
        for _ in 0..runs {
            let start = std::time::Instant::now();
            set_up = 0;
            for (k, chunk) in triangles.chunks(1024).enumerate() {
                let mut frontend = Frontend::with_transformed(state, stream, transformed);
                frontend
                    .triangles(chunk, k * 1024)
                    .unwrap_or_else(|e| panic!("{e}"));
                let list = frontend.finish();
                set_up += list.stats.triangles;
                list.recycle();
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        (set_up, best * 1e9 / triangles.len() as f64)
    }

    #[test]
    fn vertices_transformed_at_once_are_each_vertex_transformed_alone() {
        let mut seed = 0x7ea5_1de5_u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 32) as u32
        };
        let specials = [
            0.0,
            -0.0,
            1e-20,
            -1e-30,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MAX,
            1e30,
        ];
        let positions: Vec<[f32; 4]> = (0..203)
            .map(|_| {
                std::array::from_fn(|_| match next() % 8 {
                    0 => specials[next() as usize % specials.len()],
                    _ => (next() as f32 / u32::MAX as f32 - 0.5) * 3.0,
                })
            })
            .collect();
        for depth_clamp in [false, true] {
            let mut state = RasterState::covering(200, 120);
            state.depth_clamp = depth_clamp;
            state.viewport.x = 7.5;
            state.viewport.height = -120.0;
            let post = PostTransform::new(&state);
            let n = positions.len();
            let (mut screen, mut inside) = (vec![ScreenVertex::default(); n], vec![false; n]);
            post.vertices(&positions, &mut screen, &mut inside);
            let planes = ClipPlanes::new(&state.viewport, depth_clamp);
            let bits = |v: &ScreenVertex| [v.x, v.y, v.z, v.inv_w].map(f32::to_bits);
            for (k, p) in positions.iter().enumerate() {
                assert_eq!(inside[k], planes.vertex_inside(p), "{p:?}");
                assert_eq!(bits(&screen[k]), bits(&post.to_screen(*p)), "{p:?}");
            }
            let count = inside.iter().filter(|&&i| i).count();
            assert!(count > 5 && count < n, "{count} of {n} inside");
        }
    }

    #[test]
    fn recycled_setup_lists_come_back_empty_with_their_memory() {
        let positions = [
            [0.0, 0.0, 0.5, 1.0],
            [1.0, 0.0, 0.5, 1.0],
            [0.0, 1.0, 0.5, 1.0],
        ];
        let attributes = [0.25; 3];
        let stream = VertexStream {
            positions: &positions,
            attributes: &attributes,
            interpolation: &[Interpolation::Smooth],
            point_sizes: None,
        };
        let mut frontend = Frontend::new(&RasterState::covering(16, 16), &stream);
        frontend
            .triangles(&[[0, 1, 2]; 40], 0)
            .unwrap_or_else(|e| panic!("{e}"));
        let list = frontend.finish();
        assert_eq!(list.setups.len(), 40);
        assert!(list.arena.len() >= 40 * 3);
        list.recycle();
        // Other tests may recycle or take lists at the same time: whatever comes back is empty.
        for _ in 0..8 {
            let list = SetupList::take();
            assert!(list.setups.is_empty() && list.arena.is_empty());
            assert_eq!(list.stats, RasterStats::default());
        }
    }
}
