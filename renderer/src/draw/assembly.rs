//! Primitive assembly (Vulkan §21.1 "Primitive Topologies"): elements (shaded vertices, or a
//! restart) in, point / line / triangle index lists out. The first vertex of each primitive
//! is its provoking vertex; strips keep the spec's winding: triangle `i` of a strip is
//! `(v_i, v_{i+1+i%2}, v_{i+2-i%2})`, of a fan `(v_{i+1}, v_{i+2}, v_0)`.
//!
//! Vertices are named by their slot in the current [`VertexStore`] window; when a window is
//! flushed, the vertices a pending primitive still needs are carried into the next window.

use shader::abi::GRAPHICS_LANES;

use crate::raster::{PostTransform, PostVertices, ScreenVertex, POST_LANES};

use super::state::Topology;

// A store group's positions go to the post-transform whole.
const _: () = assert!(GRAPHICS_LANES == POST_LANES);

/// Post-vertex-shader data of one window, in the rasterizer's layout.
///
/// The columns keep their length from window to window (a cleared store holds no vertex, but
/// its columns keep the stale ones): growing it again writes no defaults first, which was a
/// serial pass over a megabyte per window. Every vertex it holds was written since: by
/// [`StorePiece::fill`], which writes every column of every vertex of its piece, or by
/// [`VertexStore::copy_from`].
#[derive(Debug, Default)]
pub(crate) struct VertexStore {
    /// Vertices held: the first `len` of each column.
    len: usize,
    positions: Vec<[f32; 4]>,
    /// `components` values per vertex.
    attributes: Vec<f32>,
    point_sizes: Vec<f32>,
    pub components: usize,
    /// Each vertex's screen position and clip test ([`PostTransform::vertices`]), made with
    /// [`OutputLayout::post`].
    screen: Vec<ScreenVertex>,
    inside: Vec<bool>,
}

impl VertexStore {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn clear(&mut self, components: usize) {
        self.len = 0;
        self.components = components;
    }

    pub fn positions(&self) -> &[[f32; 4]] {
        self.positions.get(..self.len).unwrap_or_default()
    }

    /// `components` values per vertex.
    pub fn attributes(&self) -> &[f32] {
        let end = self.len.saturating_mul(self.components);
        self.attributes.get(..end).unwrap_or_default()
    }

    pub fn point_sizes(&self) -> &[f32] {
        self.point_sizes.get(..self.len).unwrap_or_default()
    }

    /// The vertices' screen positions and clip tests, for the rasterizer.
    pub fn transformed(&self) -> PostVertices<'_> {
        PostVertices {
            screen: self.screen.get(..self.len).unwrap_or_default(),
            inside: self.inside.get(..self.len).unwrap_or_default(),
        }
    }

    /// Columns long enough for `n` vertices (grown with defaults only past their length).
    fn room(&mut self, n: usize) {
        fn at_least<T: Clone>(column: &mut Vec<T>, n: usize, default: T) {
            if column.len() < n {
                column.resize(n, default);
            }
        }
        at_least(&mut self.positions, n, [0.0; 4]);
        at_least(&mut self.attributes, n * self.components, 0.0);
        at_least(&mut self.point_sizes, n, 1.0);
        at_least(&mut self.screen, n, ScreenVertex::default());
        at_least(&mut self.inside, n, false);
    }

    /// Appends a copy of vertex `slot` of `other` (which has the same components); returns
    /// its new slot.
    fn copy_from(&mut self, other: &VertexStore, slot: u32) -> u32 {
        let (s, new) = (slot as usize, self.len);
        self.room(new + 1);
        let c = self.components;
        let transformed = other.transformed();
        if let Some(p) = self.positions.get_mut(new) {
            *p = other.positions().get(s).copied().unwrap_or([0.0; 4]);
        }
        if let Some(dst) = self.attributes.get_mut(new * c..(new + 1) * c) {
            match other.attributes().get(s * c..(s + 1) * c) {
                Some(a) => dst.copy_from_slice(a),
                None => dst.fill(0.0),
            }
        }
        if let Some(size) = self.point_sizes.get_mut(new) {
            *size = other.point_sizes().get(s).copied().unwrap_or(1.0);
        }
        if let Some(screen) = self.screen.get_mut(new) {
            *screen = transformed.screen.get(s).copied().unwrap_or_default();
        }
        if let Some(inside) = self.inside.get_mut(new) {
            *inside = transformed.inside.get(s).copied().unwrap_or(false);
        }
        self.len = new + 1;
        new as u32
    }

    /// Appends one vertex (tests).
    #[cfg(test)]
    fn push(&mut self, position: [f32; 4], attributes: &[f32], point_size: f32) {
        let (new, c) = (self.len, self.components);
        self.room(new + 1);
        self.positions[new] = position;
        self.attributes[new * c..(new + 1) * c].copy_from_slice(attributes);
        self.point_sizes[new] = point_size;
        self.screen[new] = ScreenVertex::default();
        self.inside[new] = false;
        self.len = new + 1;
    }
}

/// Which vertex stage output slot feeds each column of a [`VertexStore`] (`None`: the
/// column keeps its default, 0 for positions and attributes, 1 for the point size).
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutputLayout<'a> {
    pub position_slots: [Option<usize>; 4],
    /// Per attribute component.
    pub varyings: &'a [Option<usize>],
    pub point_size_slot: Option<usize>,
    /// The draw's viewport transform and clip test, applied to each vertex once its position
    /// is stored (`None`: the store's screen positions and clip tests stay unset).
    pub post: Option<&'a PostTransform>,
}

/// Consecutive vertices of a [`VertexStore`], filled from vertex stage outputs (one per
/// shading chunk, so chunks fill their vertices in parallel).
pub(crate) struct StorePiece<'a> {
    pub positions: &'a mut [[f32; 4]],
    /// `components` values per vertex.
    pub attributes: &'a mut [f32],
    pub point_sizes: &'a mut [f32],
    pub components: usize,
    pub screen: &'a mut [ScreenVertex],
    pub inside: &'a mut [bool],
}

impl VertexStore {
    /// Grows the store by `count` vertices and splits them into pieces of `piece_vertices`
    /// (the last may be shorter). Their values are whatever the columns held: each piece's
    /// [`StorePiece::fill`] writes them all.
    pub fn grow_in_pieces(&mut self, count: usize, piece_vertices: usize) -> Vec<StorePiece<'_>> {
        let first = self.len;
        let c = self.components;
        self.room(first + count);
        self.len = first + count;
        let end = first + count;
        let n = piece_vertices.max(1);
        let mut attributes = self
            .attributes
            .get_mut(first * c..end * c)
            .unwrap_or_default();
        let mut pieces = Vec::with_capacity(count.div_ceil(n));
        let positions = self.positions.get_mut(first..end).unwrap_or_default();
        let sizes = self.point_sizes.get_mut(first..end).unwrap_or_default();
        let screen = self.screen.get_mut(first..end).unwrap_or_default();
        let inside = self.inside.get_mut(first..end).unwrap_or_default();
        let columns = positions
            .chunks_mut(n)
            .zip(sizes.chunks_mut(n))
            .zip(screen.chunks_mut(n).zip(inside.chunks_mut(n)));
        for ((positions, point_sizes), (screen, inside)) in columns {
            let split = (positions.len() * c).min(attributes.len());
            let (head, rest) = std::mem::take(&mut attributes).split_at_mut(split);
            attributes = rest;
            pieces.push(StorePiece {
                positions,
                attributes: head,
                point_sizes,
                components: c,
                screen,
                inside,
            });
        }
        pieces
    }
}

impl StorePiece<'_> {
    /// Copies the piece's vertices out of the vertex stage's output words (slot-major groups
    /// of [`GRAPHICS_LANES`], `slots` per group) a group at a time, each slot's lanes as a
    /// column. Slots absent from `outputs` leave the defaults.
    pub fn fill(&mut self, layout: &OutputLayout<'_>, outputs: &[u32], slots: usize) {
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::has_avx2() {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { self.fill_avx2(layout, outputs, slots) };
            return;
        }
        self.fill_lanes(layout, outputs, slots);
    }

    /// [`Self::fill`] built for AVX2 ([`crate::cpu`]): the post-transform's lanes in one
    /// vector (about 5% of a small-triangle draw).
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn fill_avx2(&mut self, layout: &OutputLayout<'_>, outputs: &[u32], slots: usize) {
        self.fill_lanes(layout, outputs, slots);
    }

    #[inline(always)]
    fn fill_lanes(&mut self, layout: &OutputLayout<'_>, outputs: &[u32], slots: usize) {
        const L: usize = GRAPHICS_LANES;
        let c = self.components;
        let group_words = (slots * L).max(1);
        let zeros = [0u32; L];
        let count = self.positions.len();
        for g in 0..count.div_ceil(L) {
            let v0 = g * L;
            let n = L.min(count - v0);
            let group = outputs
                .get(g * group_words..(g + 1) * group_words)
                .unwrap_or(&[]);
            // A slot's eight lanes (only the first `n` are used), or zeros where no output
            // writes the slot.
            let present = |slot: Option<usize>| -> Option<&[u32; L]> {
                slot.and_then(|s| group.get(s * L..(s + 1) * L))
                    .and_then(|w| w.try_into().ok())
            };
            let lanes = |slot: Option<usize>| present(slot).unwrap_or(&zeros);
            let mut coords = [[0.0f32; POST_LANES]; 4];
            for (column, &slot) in coords.iter_mut().zip(&layout.position_slots) {
                for (c, &word) in column.iter_mut().zip(lanes(slot)) {
                    *c = f32::from_bits(word);
                }
            }
            if let Some(positions) = self.positions.get_mut(v0..v0 + n) {
                // A whole group: one transpose in registers.
                match <&mut [[f32; 4]; L]>::try_from(&mut *positions) {
                    Ok(group) => {
                        let [x, y, z, w] = &coords;
                        *group = crate::cpu::rows_of_columns([x, y, z, w]);
                    }
                    Err(_) => {
                        for (k, position) in positions.iter_mut().enumerate() {
                            *position = [coords[0][k], coords[1][k], coords[2][k], coords[3][k]];
                        }
                    }
                }
            }
            if let (Some(post), Some(screen), Some(inside)) = (
                layout.post,
                self.screen.get_mut(v0..v0 + n),
                self.inside.get_mut(v0..v0 + n),
            ) {
                let [x, y, z, w] = &coords;
                post.lanes([x, y, z, w], screen, inside);
            }
            if let Some(attributes) = self.attributes.get_mut(v0 * c..(v0 + n) * c) {
                let source = |j: usize| lanes(layout.varyings.get(j).copied().flatten());
                // Four components at a time, then the rest: each vertex's values are
                // contiguous, each source slot's are a lane column.
                let mut j = 0;
                if c == 4 {
                    // The common vec4 of varyings: one transpose in registers.
                    if let Ok(group) =
                        <&mut [[f32; 4]; L]>::try_from(attributes.as_chunks_mut::<4>().0)
                    {
                        let [a, b, c, d]: [[f32; L]; 4] =
                            std::array::from_fn(|j| source(j).map(f32::from_bits));
                        *group = crate::cpu::rows_of_columns([&a, &b, &c, &d]);
                        j = 4;
                    }
                }
                while j + 4 <= c {
                    scatter::<4>(std::array::from_fn(|i| source(j + i)), attributes, c, j);
                    j += 4;
                }
                match c - j {
                    1 => scatter::<1>([source(j)], attributes, c, j),
                    2 => scatter::<2>([source(j), source(j + 1)], attributes, c, j),
                    3 => scatter::<3>(std::array::from_fn(|i| source(j + i)), attributes, c, j),
                    _ => {}
                }
            }
            if let Some(sizes) = self.point_sizes.get_mut(v0..v0 + n) {
                match present(layout.point_size_slot) {
                    Some(words) => {
                        for (size, &word) in sizes.iter_mut().zip(words) {
                            *size = f32::from_bits(word);
                        }
                    }
                    None => sizes.fill(1.0),
                }
            }
        }
        if layout.post.is_none() {
            self.screen.fill(ScreenVertex::default());
            self.inside.fill(false);
        }
    }
}

/// Writes components `first .. first + C` of each vertex of `attributes` (`stride` values per
/// vertex) from the lane columns `columns` (lane `k`: vertex `k`).
#[inline(always)]
fn scatter<const C: usize>(
    columns: [&[u32; GRAPHICS_LANES]; C],
    attributes: &mut [f32],
    stride: usize,
    first: usize,
) {
    for (k, vertex) in attributes.chunks_exact_mut(stride.max(1)).enumerate() {
        if let (Some(values), true) = (vertex.get_mut(first..first + C), k < GRAPHICS_LANES) {
            for (value, column) in values.iter_mut().zip(columns) {
                *value = f32::from_bits(column[k]);
            }
        }
    }
}

/// Primitives assembled in the current window.
#[derive(Debug, Default)]
pub(crate) struct PrimitiveLists {
    pub points: Vec<u32>,
    pub lines: Vec<[u32; 2]>,
    pub triangles: Vec<[u32; 3]>,
}

impl PrimitiveLists {
    pub fn clear(&mut self) {
        self.points.clear();
        self.lines.clear();
        self.triangles.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty() && self.lines.is_empty() && self.triangles.is_empty()
    }
}

/// The assembly state machine of one strip / list.
#[derive(Debug)]
pub(crate) struct Assembler {
    topology: Topology,
    /// Lists: the vertices of the primitive being collected. Strips: the last two vertices.
    /// Fans: the first vertex and the last one.
    held: [u32; 2],
    /// Valid entries of `held` (for fans: 1 = only the first seen).
    count: usize,
    /// Triangles emitted since the strip began (its parity picks the winding).
    parity: bool,
}

impl Assembler {
    pub fn new(topology: Topology) -> Assembler {
        Assembler {
            topology,
            held: [0; 2],
            count: 0,
            parity: false,
        }
    }

    /// Starts a new strip (primitive restart, or a new instance).
    pub fn restart(&mut self) {
        self.count = 0;
        self.parity = false;
    }

    /// Feeds the vertex at `slot` (once per element of the draw, on the calling thread: kept
    /// inlinable into the draw loop).
    #[inline]
    pub fn push(&mut self, slot: u32, out: &mut PrimitiveLists) {
        let [a, b] = self.held;
        match self.topology {
            Topology::PointList => out.points.push(slot),
            Topology::LineList => {
                if self.count == 1 {
                    out.lines.push([a, slot]);
                    self.count = 0;
                } else {
                    self.held[0] = slot;
                    self.count = 1;
                }
            }
            Topology::LineStrip => {
                if self.count == 1 {
                    out.lines.push([a, slot]);
                }
                self.held[0] = slot;
                self.count = 1;
            }
            Topology::TriangleList => {
                if self.count == 2 {
                    out.triangles.push([a, b, slot]);
                    self.count = 0;
                } else {
                    self.held[self.count] = slot;
                    self.count += 1;
                }
            }
            Topology::TriangleStrip => {
                if self.count == 2 {
                    out.triangles.push(if self.parity {
                        [a, slot, b]
                    } else {
                        [a, b, slot]
                    });
                    self.parity = !self.parity;
                    self.held = [b, slot];
                } else {
                    self.held[self.count] = slot;
                    self.count += 1;
                }
            }
            Topology::TriangleFan => {
                if self.count == 2 {
                    out.triangles.push([b, slot, a]);
                    self.held[1] = slot;
                } else {
                    self.held[self.count] = slot;
                    self.count += 1;
                }
            }
        }
    }

    /// [`Self::push`] of slots `first .. first + n`, in order; a triangle list's whole
    /// triangles at once.
    pub fn push_run(&mut self, first: u32, n: u32, out: &mut PrimitiveLists) {
        let end = first.saturating_add(n);
        let mut slot = first;
        if self.topology == Topology::TriangleList {
            // Complete the triangle begun by an earlier run, then whole ones.
            while self.count != 0 && slot < end {
                self.push(slot, out);
                slot += 1;
            }
            let whole = (end - slot) / 3;
            out.triangles
                .extend((0..whole).map(|t| slot + 3 * t).map(|v| [v, v + 1, v + 2]));
            slot += 3 * whole;
        }
        for slot in slot..end {
            self.push(slot, out);
        }
    }

    /// Copies the vertices still needed from `old` into `new` (which the caller cleared) and
    /// renames them.
    pub fn carry(&mut self, old: &VertexStore, new: &mut VertexStore) {
        for i in 0..self.count {
            self.held[i] = new.copy_from(old, self.held[i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assemble(topology: Topology, elements: &[Option<u32>]) -> PrimitiveLists {
        let mut a = Assembler::new(topology);
        let mut out = PrimitiveLists::default();
        for e in elements {
            match e {
                Some(v) => a.push(*v, &mut out),
                None => a.restart(),
            }
        }
        out
    }

    fn seq(n: u32) -> Vec<Option<u32>> {
        (0..n).map(Some).collect()
    }

    #[test]
    fn runs_of_slots_assemble_as_pushing_them_one_by_one() {
        let topologies = [
            Topology::PointList,
            Topology::LineList,
            Topology::LineStrip,
            Topology::TriangleList,
            Topology::TriangleStrip,
            Topology::TriangleFan,
        ];
        for topology in topologies {
            for runs in [
                &[7u32, 5, 9][..],
                &[1, 1, 1, 2],
                &[0, 12, 4],
                &[2, 3, 3, 3, 1],
            ] {
                let (mut one, mut bulk) = (Assembler::new(topology), Assembler::new(topology));
                let (mut want, mut got) = (PrimitiveLists::default(), PrimitiveLists::default());
                let mut first = 3;
                for &n in runs {
                    for slot in first..first + n {
                        one.push(slot, &mut want);
                    }
                    bulk.push_run(first, n, &mut got);
                    first += n + 1;
                }
                assert_eq!(
                    (want.points, want.lines, want.triangles),
                    (got.points, got.lines, got.triangles),
                    "{topology:?} {runs:?}"
                );
            }
        }
    }

    #[test]
    fn strips_alternate_winding_with_the_first_vertex_provoking() {
        let out = assemble(Topology::TriangleStrip, &seq(5));
        assert_eq!(out.triangles, vec![[0, 1, 2], [1, 3, 2], [2, 3, 4]]);
    }

    #[test]
    fn fans_pivot_on_the_first_vertex() {
        let out = assemble(Topology::TriangleFan, &seq(5));
        assert_eq!(out.triangles, vec![[1, 2, 0], [2, 3, 0], [3, 4, 0]]);
    }

    #[test]
    fn restart_cuts_strips_fans_and_partial_list_primitives() {
        let mut e = seq(4);
        e.insert(2, None);
        // 0 1 | 2 3: no triangle either side.
        assert!(assemble(Topology::TriangleStrip, &e).triangles.is_empty());
        let e = vec![
            Some(0),
            Some(1),
            Some(2),
            Some(3),
            None,
            Some(4),
            Some(5),
            Some(6),
        ];
        assert_eq!(
            assemble(Topology::TriangleStrip, &e).triangles,
            vec![[0, 1, 2], [1, 3, 2], [4, 5, 6]]
        );
        assert_eq!(
            assemble(Topology::TriangleFan, &e).triangles,
            vec![[1, 2, 0], [2, 3, 0], [5, 6, 4]]
        );
        let e = vec![Some(0), Some(1), None, Some(2), Some(3), Some(4)];
        assert_eq!(
            assemble(Topology::TriangleList, &e).triangles,
            vec![[2, 3, 4]]
        );
        assert_eq!(
            assemble(Topology::LineStrip, &e).lines,
            vec![[0, 1], [2, 3], [3, 4]]
        );
    }

    #[test]
    fn lists_drop_incomplete_trailing_primitives() {
        assert_eq!(assemble(Topology::TriangleList, &seq(7)).triangles.len(), 2);
        assert_eq!(
            assemble(Topology::LineList, &seq(5)).lines,
            vec![[0, 1], [2, 3]]
        );
        assert_eq!(assemble(Topology::PointList, &seq(3)).points, vec![0, 1, 2]);
    }

    #[test]
    fn store_pieces_take_outputs_by_slot_with_defaults_for_missing_slots() {
        // 3 output slots: 0 = position x, 1 = attribute 1, 2 = point size; 11 vertices,
        // pieces of 8 (so the second piece starts a new group and ends mid-group).
        let (slots, count) = (3usize, 11usize);
        let groups = count.div_ceil(GRAPHICS_LANES);
        let mut outputs = vec![0u32; groups * slots * GRAPHICS_LANES];
        for v in 0..count {
            for s in 0..slots {
                let at = (v / GRAPHICS_LANES) * slots * GRAPHICS_LANES
                    + s * GRAPHICS_LANES
                    + v % GRAPHICS_LANES;
                outputs[at] = (100.0 * s as f32 + v as f32).to_bits();
            }
        }
        let layout = OutputLayout {
            position_slots: [Some(0), None, None, None],
            varyings: &[None, Some(1)],
            point_size_slot: Some(2),
            post: None,
        };
        let mut store = VertexStore::default();
        // A window of stale vertices first: what a cleared store keeps must never show.
        store.clear(2);
        for _ in 0..20 {
            store.push([7.0; 4], &[7.0, 7.0], 7.0);
        }
        store.clear(2);
        store.push([9.0; 4], &[9.0, 9.0], 9.0);
        let words = GRAPHICS_LANES * slots;
        for (i, mut piece) in store.grow_in_pieces(count, 8).into_iter().enumerate() {
            piece.fill(&layout, &outputs[i * words..], slots);
        }
        assert_eq!(store.len(), 1 + count);
        assert_eq!(store.positions()[0], [9.0; 4], "earlier vertices are kept");
        for v in 0..count {
            let f = v as f32;
            assert_eq!(store.positions()[1 + v], [f, 0.0, 0.0, 0.0]);
            assert_eq!(
                store.attributes()[2 * (1 + v)..2 * (2 + v)],
                [0.0, 100.0 + f]
            );
            assert_eq!(store.point_sizes()[1 + v], 200.0 + f);
        }
        assert_eq!(store.positions().len(), 1 + count);
        // With the draw's post-transform: each vertex's, as the rasterizer's own gives it.
        let post = PostTransform::new(&crate::raster::RasterState::covering(16, 16));
        let with_post = OutputLayout {
            position_slots: [Some(0), Some(1), None, Some(2)],
            post: Some(&post),
            ..layout
        };
        let mut transformed = VertexStore::default();
        transformed.clear(2);
        for (i, mut piece) in transformed.grow_in_pieces(count, 8).into_iter().enumerate() {
            piece.fill(&with_post, &outputs[i * words..], slots);
        }
        let (mut screen, mut inside) = (vec![ScreenVertex::default(); count], vec![false; count]);
        post.vertices(transformed.positions(), &mut screen, &mut inside);
        assert_eq!(transformed.transformed().screen, screen);
        assert_eq!(transformed.transformed().inside, inside);
        assert_eq!(transformed.positions()[3], [3.0, 103.0, 0.0, 203.0]);
        assert_eq!(store.attributes().len(), 2 * (1 + count));
        assert!(store.transformed().inside.iter().all(|&i| !i));
        let mut bare = VertexStore::default();
        bare.clear(0);
        for _ in 0..5 {
            bare.push([7.0; 4], &[], 7.0);
        }
        bare.clear(0);
        for mut piece in bare.grow_in_pieces(3, 8) {
            piece.fill(&layout, &[], 0);
        }
        assert_eq!(
            bare.point_sizes(),
            [1.0; 3],
            "no outputs: default point size"
        );
        assert_eq!(
            bare.positions(),
            [[0.0; 4]; 3],
            "no outputs: default position"
        );
    }

    #[test]
    fn carried_vertices_continue_a_strip_in_the_next_window() {
        let mut old = VertexStore::default();
        old.clear(1);
        for i in 0..4 {
            old.push([i as f32; 4], &[10.0 + i as f32], 1.0);
        }
        let mut a = Assembler::new(Topology::TriangleStrip);
        let mut out = PrimitiveLists::default();
        for v in 0..4 {
            a.push(v, &mut out);
        }
        let mut new = VertexStore::default();
        new.clear(1);
        a.carry(&old, &mut new);
        assert_eq!(new.attributes(), [12.0, 13.0]);
        out.clear();
        a.push(2, &mut out);
        // Triangle 2 of the strip: (v2, v3, v4), even parity.
        assert_eq!(out.triangles, vec![[0, 1, 2]]);
    }
}
