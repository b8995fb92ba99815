//! Primitive assembly (Vulkan §21.1 "Primitive Topologies"): elements (shaded vertices, or a
//! restart) in, point / line / triangle index lists out. The first vertex of each primitive
//! is its provoking vertex; strips keep the spec's winding: triangle `i` of a strip is
//! `(v_i, v_{i+1+i%2}, v_{i+2-i%2})`, of a fan `(v_{i+1}, v_{i+2}, v_0)`.
//!
//! Vertices are named by their slot in the current [`VertexStore`] window; when a window is
//! flushed, the vertices a pending primitive still needs are carried into the next window.

use super::state::Topology;

/// Post-vertex-shader data of one window, in the rasterizer's layout.
#[derive(Debug, Default)]
pub(crate) struct VertexStore {
    pub positions: Vec<[f32; 4]>,
    /// `components` values per vertex.
    pub attributes: Vec<f32>,
    pub point_sizes: Vec<f32>,
    pub components: usize,
}

impl VertexStore {
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    pub fn clear(&mut self, components: usize) {
        self.positions.clear();
        self.attributes.clear();
        self.point_sizes.clear();
        self.components = components;
    }

    /// Appends a copy of vertex `slot` of `other`; returns its new slot.
    fn copy_from(&mut self, other: &VertexStore, slot: u32) -> u32 {
        let s = slot as usize;
        let new = self.len() as u32;
        self.positions
            .push(other.positions.get(s).copied().unwrap_or([0.0; 4]));
        let c = other.components;
        match other.attributes.get(s * c..(s + 1) * c) {
            Some(a) => self.attributes.extend_from_slice(a),
            None => self.attributes.extend(std::iter::repeat_n(0.0, c)),
        }
        self.point_sizes
            .push(other.point_sizes.get(s).copied().unwrap_or(1.0));
        new
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
    fn carried_vertices_continue_a_strip_in_the_next_window() {
        let mut old = VertexStore::default();
        old.clear(1);
        for i in 0..4 {
            old.positions.push([i as f32; 4]);
            old.attributes.push(10.0 + i as f32);
            old.point_sizes.push(1.0);
        }
        let mut a = Assembler::new(Topology::TriangleStrip);
        let mut out = PrimitiveLists::default();
        for v in 0..4 {
            a.push(v, &mut out);
        }
        let mut new = VertexStore::default();
        new.clear(1);
        a.carry(&old, &mut new);
        assert_eq!(new.attributes, vec![12.0, 13.0]);
        out.clear();
        a.push(2, &mut out);
        // Triangle 2 of the strip: (v2, v3, v4), even parity.
        assert_eq!(out.triangles, vec![[0, 1, 2]]);
    }
}
