//! Clip-space clipping: Sutherland–Hodgman against the planes that matter.
//!
//! Always `w >= ε` (so the divide is defined), near `z >= 0` and far `z <= w` unless depth
//! clamp is on (Vulkan §27 "Fixed-Function Vertex Post-Processing"), and the four guard-band
//! planes: x/y are not clipped to the viewport (the scissor and tile bounds do that for free)
//! unless a vertex would land beyond ±[`GUARD_BAND`] pixels, where fixed point could overflow.
//! Attributes are interpolated linearly in clip space, which is perspective-correct.

use super::{Viewport, GUARD_BAND};

/// Smallest `w` a vertex may have after clipping.
const W_EPSILON: f32 = 1e-20;
/// Planes a polygon is clipped against: w, near, far, and the guard band's four.
pub(crate) const MAX_PLANES: usize = 7;
// Outcodes evaluate every plane in one 8-lane array.
const _: () = assert!(MAX_PLANES <= 8);

/// `d(p) = n · p`; a point is inside where `d >= 0`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plane([f32; 4], f32);

impl Plane {
    fn distance(&self, p: &[f32; 4]) -> f32 {
        self.0[0] * p[0] + self.0[1] * p[1] + self.0[2] * p[2] + self.0[3] * p[3] + self.1
    }
}

/// The clip planes of one draw.
#[derive(Clone, Debug)]
pub(crate) struct ClipPlanes {
    planes: [Plane; MAX_PLANES],
    count: usize,
    /// The same planes transposed, one lane per plane (unused lanes zero), for outcodes.
    lanes: PlaneLanes,
    /// The guard-band planes' non-zero coefficients and whether near/far are clipped, for
    /// [`ClipPlanes::all_inside`].
    band: GuardBand,
}

/// `d = h·c + k·w` for the guard-band planes (`c` the x or y coordinate), low then high side.
#[derive(Clone, Copy, Debug)]
struct GuardBand {
    hx: [f32; 2],
    kx: [f32; 2],
    hy: [f32; 2],
    ky: [f32; 2],
    depth: bool,
}

/// Plane coefficients lane-wise: `d_i = nx_i·x + ny_i·y + nz_i·z + nw_i·w + k_i`.
#[derive(Clone, Debug, Default)]
struct PlaneLanes {
    n: [[f32; 8]; 4],
    k: [f32; 8],
}

impl ClipPlanes {
    pub(crate) fn new(viewport: &Viewport, depth_clamp: bool) -> Self {
        let (hx, hy) = (viewport.width * 0.5, viewport.height * 0.5);
        let (ox, oy) = (viewport.x + hx, viewport.y + hy);
        let g = GUARD_BAND;
        let mut planes = [Plane([0.0; 4], 0.0); MAX_PLANES];
        let mut count = 0;
        let mut push = |p: Plane| {
            planes[count] = p;
            count += 1;
        };
        push(Plane([0.0, 0.0, 0.0, 1.0], -W_EPSILON));
        if !depth_clamp {
            push(Plane([0.0, 0.0, 1.0, 0.0], 0.0));
            push(Plane([0.0, 0.0, -1.0, 1.0], 0.0));
        }
        // x_fb = ox + hx·x/w >= -g  ⇔  hx·x + (ox + g)·w >= 0  (w > 0, clipped first).
        push(Plane([hx, 0.0, 0.0, ox + g], 0.0));
        push(Plane([-hx, 0.0, 0.0, g - ox], 0.0));
        push(Plane([0.0, hy, 0.0, oy + g], 0.0));
        push(Plane([0.0, -hy, 0.0, g - oy], 0.0));
        let mut lanes = PlaneLanes::default();
        for (i, plane) in planes.iter().enumerate() {
            for axis in 0..4 {
                lanes.n[axis][i] = plane.0[axis];
            }
            lanes.k[i] = plane.1;
        }
        let band = GuardBand {
            hx: [hx, -hx],
            kx: [ox + g, g - ox],
            hy: [hy, -hy],
            ky: [oy + g, g - oy],
            depth: !depth_clamp,
        };
        Self {
            planes,
            count,
            lanes,
            band,
        }
    }

    /// True when all three vertices are inside every plane (all their outcodes are 0); the
    /// common case, decided without the per-plane outcodes. Conservative: a vertex with a
    /// non-finite coordinate is never reported inside, whatever its outcode. For finite
    /// coordinates the zero terms of [`Plane::distance`] add ±0, which changes no sum, so
    /// each distance here is bit-identical to the plane's and the answer is exact.
    #[inline]
    pub(crate) fn all_inside(&self, p: [&[f32; 4]; 3]) -> bool {
        self.vertex_inside(p[0]) & self.vertex_inside(p[1]) & self.vertex_inside(p[2])
    }

    /// One vertex of [`Self::all_inside`].
    #[inline(always)]
    pub(crate) fn vertex_inside(&self, &[x, y, z, w]: &[f32; 4]) -> bool {
        self.inside_lanes(&[x], &[y], &[z], &[w])[0]
    }

    /// [`Self::vertex_inside`] of `N` vertices given lane by lane.
    #[inline(always)]
    pub(crate) fn inside_lanes<const N: usize>(
        &self,
        x: &[f32; N],
        y: &[f32; N],
        z: &[f32; N],
        w: &[f32; N],
    ) -> [bool; N] {
        let b = &self.band;
        let mut out = [false; N];
        for k in 0..N {
            let (x, y, z, w) = (x[k], y[k], z[k], w[k]);
            let finite = x.is_finite() & y.is_finite() & z.is_finite() & w.is_finite();
            let w_ok = w + -W_EPSILON >= 0.0;
            // `&`, not `&&`: every test is cheap, and branch-free code vectorises.
            let depth_ok = !b.depth | ((z >= 0.0) & (-z + w >= 0.0));
            let x_ok = (b.hx[0] * x + b.kx[0] * w >= 0.0) & (b.hx[1] * x + b.kx[1] * w >= 0.0);
            let y_ok = (b.hy[0] * y + b.ky[0] * w >= 0.0) & (b.hy[1] * y + b.ky[1] * w >= 0.0);
            out[k] = finite & w_ok & depth_ok & x_ok & y_ok;
        }
        out
    }

    fn planes(&self) -> &[Plane] {
        &self.planes[..self.count]
    }

    /// Bit `i` set where vertex `p` is outside plane `i` (or is NaN).
    #[inline]
    pub(crate) fn outcode(&self, p: &[f32; 4]) -> u32 {
        // Every plane at once, one per lane, unused lanes masked off after (every vertex of
        // every triangle comes through here). Same operation order as `Plane::distance`.
        // Plain loops over fixed arrays: they vectorise (an `array::from_fn` here became a
        // call per lane).
        let l = &self.lanes;
        let mut d = [0.0f32; 8];
        for (i, d) in d.iter_mut().enumerate() {
            *d = l.n[0][i] * p[0] + l.n[1][i] * p[1] + l.n[2][i] * p[2] + l.n[3][i] * p[3] + l.k[i];
        }
        let mut code = 0;
        for (i, d) in d.iter().enumerate() {
            code |= u32::from(!is_inside(*d)) << i;
        }
        code & ((1 << self.count) - 1)
    }

    /// Clips `polygon` in place against the planes in `mask`. An empty result means nothing is
    /// left.
    pub(crate) fn clip_polygon(
        &self,
        polygon: &mut ClipPolygon,
        scratch: &mut ClipPolygon,
        mask: u32,
    ) {
        for (i, plane) in self.planes().iter().enumerate() {
            if mask & (1 << i) == 0 {
                continue;
            }
            scratch.clear(polygon.components);
            let n = polygon.len();
            for a in 0..n {
                let b = if a + 1 == n { 0 } else { a + 1 };
                let da = plane.distance(&polygon.positions[a]);
                let db = plane.distance(&polygon.positions[b]);
                if da >= 0.0 {
                    scratch.push_copy(polygon, a);
                }
                if (da >= 0.0) != (db >= 0.0) && da.is_finite() && db.is_finite() {
                    // An edge shared by two triangles is walked in opposite directions by
                    // them; computing its intersection from a canonical end makes both get
                    // the bit-identical vertex, so no crack or overlap opens along it.
                    if precedes(&polygon.positions[a], &polygon.positions[b]) {
                        scratch.push_lerp(polygon, a, b, da / (da - db));
                    } else {
                        scratch.push_lerp(polygon, b, a, db / (db - da));
                    }
                }
            }
            std::mem::swap(polygon, scratch);
            if polygon.len() < 3 {
                polygon.clear(polygon.components);
                return;
            }
        }
    }

    /// Clips the segment `polygon[0]–polygon[1]` in place; false when nothing is left.
    pub(crate) fn clip_segment(&self, segment: &mut ClipPolygon, mask: u32) -> bool {
        let (mut t0, mut t1) = (0.0f32, 1.0f32);
        for (i, plane) in self.planes().iter().enumerate() {
            if mask & (1 << i) == 0 {
                continue;
            }
            let da = plane.distance(&segment.positions[0]);
            let db = plane.distance(&segment.positions[1]);
            if !is_inside(da) && !is_inside(db) {
                return false;
            }
            if !is_inside(da) || !is_inside(db) {
                let t = da / (da - db);
                if !t.is_finite() {
                    return false;
                }
                if da < 0.0 {
                    t0 = t0.max(t);
                } else {
                    t1 = t1.min(t);
                }
            }
        }
        if t0.partial_cmp(&t1) != Some(std::cmp::Ordering::Less) {
            return false;
        }
        let mut out = ClipPolygon::default();
        out.clear(segment.components);
        out.push_lerp(segment, 0, 1, t0);
        out.push_lerp(segment, 0, 1, t1);
        *segment = out;
        true
    }
}

/// A plane distance counts as inside when `>= 0`; NaN is outside.
fn is_inside(distance: f32) -> bool {
    distance >= 0.0
}

/// A total order on positions (by bit pattern), to pick a canonical end of an edge.
fn precedes(p: &[f32; 4], q: &[f32; 4]) -> bool {
    p.map(f32::to_bits) <= q.map(f32::to_bits)
}

/// A polygon being clipped: positions and `components` attributes per vertex.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClipPolygon {
    pub(crate) positions: Vec<[f32; 4]>,
    pub(crate) attributes: Vec<f32>,
    pub(crate) components: usize,
}

impl ClipPolygon {
    pub(crate) fn clear(&mut self, components: usize) {
        self.positions.clear();
        self.attributes.clear();
        self.components = components;
    }

    pub(crate) fn len(&self) -> usize {
        self.positions.len()
    }

    pub(crate) fn push(&mut self, position: [f32; 4], attributes: &[f32]) {
        self.positions.push(position);
        self.attributes.extend_from_slice(attributes);
    }

    pub(crate) fn attributes_of(&self, vertex: usize) -> &[f32] {
        let c = self.components;
        &self.attributes[vertex * c..(vertex + 1) * c]
    }

    fn push_copy(&mut self, from: &ClipPolygon, v: usize) {
        self.positions.push(from.positions[v]);
        self.attributes.extend_from_slice(from.attributes_of(v));
    }

    fn push_lerp(&mut self, from: &ClipPolygon, a: usize, b: usize, t: f32) {
        let (pa, pb) = (from.positions[a], from.positions[b]);
        self.positions
            .push(std::array::from_fn(|i| pa[i] + t * (pb[i] - pa[i])));
        let (aa, ab) = (from.attributes_of(a), from.attributes_of(b));
        self.attributes
            .extend(aa.iter().zip(ab).map(|(x, y)| x + t * (y - x)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewport() -> Viewport {
        Viewport {
            x: 0.0,
            y: 0.0,
            width: 100.0,
            height: 100.0,
            min_depth: 0.0,
            max_depth: 1.0,
        }
    }

    #[test]
    fn triangle_crossing_near_plane_becomes_quad_with_interpolated_attributes() {
        let planes = ClipPlanes::new(&viewport(), false);
        let mut poly = ClipPolygon::default();
        poly.clear(1);
        poly.push([0.0, 0.0, -1.0, 1.0], &[0.0]);
        poly.push([0.0, 0.5, 1.0, 1.0], &[2.0]);
        poly.push([0.5, 0.0, 1.0, 1.0], &[2.0]);
        let mask = (0..3).fold(0, |m, v| m | planes.outcode(&poly.positions[v]));
        assert_eq!(mask, 0b10, "only the near plane is crossed");
        let mut scratch = ClipPolygon::default();
        planes.clip_polygon(&mut poly, &mut scratch, mask);
        assert_eq!(poly.len(), 4);
        for v in 0..4 {
            assert!(poly.positions[v][2] >= 0.0);
            // attribute is linear in z here: z = -1 → 0, z = 1 → 2.
            assert!((poly.attributes_of(v)[0] - (poly.positions[v][2] + 1.0)).abs() < 1e-6);
        }
    }

    #[test]
    fn lane_wise_outcodes_match_plane_by_plane_distances() {
        let mut seed = 0x0dd_ba11u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 4.0
        };
        for clamp in [false, true] {
            let planes = ClipPlanes::new(&viewport(), clamp);
            let specials = [f32::NAN, f32::INFINITY, -f32::INFINITY, 0.0, -0.0, 1e30];
            for n in 0..5000 {
                let mut p = [next(), next(), next(), next().abs()];
                if n % 7 == 0 {
                    p[n % 4] = specials[n % specials.len()];
                }
                let mut want = 0;
                for (i, plane) in planes.planes().iter().enumerate() {
                    if !is_inside(plane.distance(&p)) {
                        want |= 1 << i;
                    }
                }
                assert_eq!(planes.outcode(&p), want, "{p:?}");
            }
        }
    }

    #[test]
    fn all_inside_agrees_with_outcodes_and_never_passes_non_finite_vertices() {
        let mut seed = 0x5eed_1234u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 4.0
        };
        let specials = [
            f32::NAN,
            f32::INFINITY,
            -f32::INFINITY,
            0.0,
            -0.0,
            1e30,
            -1e-30,
        ];
        let viewports = [
            viewport(),
            Viewport {
                x: 30000.0,
                y: -20000.0,
                width: 32768.0,
                height: -32768.0,
                min_depth: 0.0,
                max_depth: 1.0,
            },
        ];
        let mut inside_seen = 0;
        for vp in &viewports {
            for clamp in [false, true] {
                let planes = ClipPlanes::new(vp, clamp);
                for n in 0..20_000 {
                    let mut tri = [[0.0f32; 4]; 3];
                    for (k, p) in tri.iter_mut().enumerate() {
                        // Mostly well inside, some far outside or special.
                        let scale = if (n + k) % 5 == 0 { 1e5 } else { 1.0 };
                        *p = [
                            next() * scale,
                            next() * scale,
                            next().abs() * 0.2,
                            next().abs() + 0.5,
                        ];
                        if (n + k) % 11 == 0 {
                            p[(n + k) % 4] = specials[(n / 3 + k) % specials.len()];
                        }
                    }
                    let codes = tri.map(|p| planes.outcode(&p));
                    let fast = planes.all_inside([&tri[0], &tri[1], &tri[2]]);
                    let finite = tri.iter().flatten().all(|c| c.is_finite());
                    assert_eq!(fast, finite && codes == [0; 3], "{tri:?} {codes:?}");
                    inside_seen += usize::from(fast);
                }
            }
        }
        assert!(
            inside_seen > 500,
            "too few inside triangles exercised: {inside_seen}"
        );
    }

    #[test]
    fn depth_clamp_disables_near_and_far_planes() {
        let planes = ClipPlanes::new(&viewport(), true);
        assert_eq!(planes.outcode(&[0.0, 0.0, -5.0, 1.0]), 0);
        assert_ne!(planes.outcode(&[0.0, 0.0, 0.0, -1.0]), 0);
    }

    #[test]
    fn guard_band_planes_only_reject_far_outside() {
        let planes = ClipPlanes::new(&viewport(), false);
        assert_eq!(
            planes.outcode(&[100.0, -100.0, 0.5, 1.0]),
            0,
            "5000 px away is inside the guard band"
        );
        assert_ne!(planes.outcode(&[1e6, 0.0, 0.5, 1.0]), 0);
        assert_ne!(planes.outcode(&[f32::NAN, 0.0, 0.5, 1.0]), 0);
    }

    #[test]
    fn segment_clipped_to_far_plane() {
        let planes = ClipPlanes::new(&viewport(), false);
        let mut seg = ClipPolygon::default();
        seg.clear(1);
        seg.push([0.0, 0.0, 0.0, 1.0], &[0.0]);
        seg.push([0.0, 0.0, 2.0, 1.0], &[1.0]);
        let mask = planes.outcode(&seg.positions[1]);
        assert!(planes.clip_segment(&mut seg, mask));
        assert!((seg.positions[1][2] - 1.0).abs() < 1e-6);
        assert!((seg.attributes_of(1)[0] - 0.5).abs() < 1e-6);
    }
}
