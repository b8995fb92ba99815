//! Filtered reads through a sampler (Vulkan "Texel Filtering", "Level-of-Detail Operation",
//! "Image Level(s) Selection", "Depth Compare Operation", "Texel Gathering"): level of
//! detail from gradients, level selection, nearest and linear filtering with wrapping,
//! border texels, depth compare, and the four texels of a gather.
//!
//! Everything here works on one lane; the helper resolves the image, sampler and operation
//! once per call and loops lanes.

use crate::format::{NumericClass, ValueKind};

use super::address::{border, cube_edge_texel, wrap};
use super::resolved::{Aspect, ResolvedImage};
use super::{AddressMode, CompareOp, Filter, MipmapMode, SamplerState, MAX_SAMPLER_LOD_BIAS};

/// One lane's position in the view: normalized (or unnormalized) coordinates per spatial
/// dimension (cube maps: the face's s, t), the view-relative layer (cube maps: face + 6 ×
/// cube), the texel offset and, for compares, the reference.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LanePos {
    pub coord: [f32; 3],
    pub layer: u32,
    pub offset: [i32; 3],
    pub dref: f32,
}

/// The level(s) a lane reads and how.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LevelChoice {
    pub filter: Filter,
    /// View-relative level and its weight; the second level has weight 0 when unused.
    pub levels: [(u32, f32); 2],
}

/// A sampling setup for one call: image, sampler and the parts of the operation that are the
/// same for every lane.
pub(crate) struct Sampling<'a> {
    pub img: &'a ResolvedImage,
    pub smp: &'a SamplerState,
    /// Spatial dimensions addressed: 1, 2 or 3 (cube maps: 2, on the selected face).
    pub dims: usize,
    pub cube: bool,
    /// The depth compare of a Dref operation (`None`: a plain read).
    pub compare: Option<CompareOp>,
    border: [u32; 4],
    /// Integer views are only ever filtered with NEAREST.
    integer: bool,
    /// Dref is clamped to [0, 1] for fixed-point depth formats.
    clamp_dref: bool,
}

impl<'a> Sampling<'a> {
    pub(crate) fn new(
        img: &'a ResolvedImage,
        smp: &'a SamplerState,
        dims: usize,
        cube: bool,
        compare: Option<CompareOp>,
    ) -> Sampling<'a> {
        Sampling {
            img,
            smp,
            dims: dims.clamp(1, 3),
            cube,
            compare,
            border: border(smp.border_color, img.value),
            integer: img.value != ValueKind::Float,
            clamp_dref: img.aspect == Aspect::Depth
                && img.format.info().class == NumericClass::Unorm,
        }
    }

    /// λ' (before clamping) from texel-space gradients, with the sampler's and the
    /// operation's bias (their sum clamped to ±maxSamplerLodBias).
    pub(crate) fn lod_from_gradients(&self, dx: [f32; 3], dy: [f32; 3], bias: f32) -> f32 {
        self.lod_from_rho_squared(self.rho_squared(dx, dy), bias)
    }

    /// ρ² of texel-space gradients: the larger squared length.
    pub(crate) fn rho_squared(&self, dx: [f32; 3], dy: [f32; 3]) -> f32 {
        let len2 = |d: [f32; 3]| d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        len2(dx).max(len2(dy))
    }

    /// [`Self::lod_from_gradients`] from ρ² ([`Self::rho_squared`]).
    pub(crate) fn lod_from_rho_squared(&self, rho2: f32, bias: f32) -> f32 {
        // max(√a, √b) = √max(a, b) bit for bit (a correctly rounded square root never
        // decreases; `max` drops a NaN on either side the same way): one root, not two.
        rho2.sqrt().log2() + self.bias(bias)
    }

    pub(crate) fn bias(&self, op_bias: f32) -> f32 {
        (self.smp.mip_lod_bias + op_bias).clamp(-MAX_SAMPLER_LOD_BIAS, MAX_SAMPLER_LOD_BIAS)
    }

    /// λ clamped to [max(minLod, MinLod operand), maxLod]. NaN becomes the lower bound.
    pub(crate) fn clamp_lod(&self, lambda: f32, min_lod_operand: f32) -> f32 {
        let low = self.smp.min_lod.max(min_lod_operand);
        lambda.max(low).min(self.smp.max_lod.max(low))
    }

    /// Filter and levels for a clamped λ.
    pub(crate) fn choose_levels(&self, lambda: f32) -> LevelChoice {
        let filter = if lambda <= 0.0 || lambda.is_nan() {
            self.smp.mag_filter
        } else {
            self.smp.min_filter
        };
        let q = self.img.level_count.saturating_sub(1) as f32;
        let d = self.level_position(lambda);
        if self.smp.mipmap_mode == MipmapMode::Nearest || self.integer || q == 0.0 {
            // d = ⌈d' + ½⌉ − 1: halves round down.
            let level = ((d + 0.5).ceil() - 1.0).clamp(0.0, q) as u32;
            return LevelChoice {
                filter,
                levels: [(level, 1.0), (level, 0.0)],
            };
        }
        let hi = d.floor();
        let delta = d - hi;
        let lo = (hi + 1.0).min(q);
        LevelChoice {
            filter,
            levels: [(hi as u32, 1.0 - delta), (lo as u32, delta)],
        }
    }

    /// d' = clamp(λ, 0, q) relative to the view's base level.
    pub(crate) fn level_position(&self, lambda: f32) -> f32 {
        let q = self.img.level_count.saturating_sub(1) as f32;
        lambda.max(0.0).min(q)
    }

    fn address_mode(&self, dim: usize) -> AddressMode {
        if self.cube {
            // Cube maps ignore the sampler's modes: NEAREST clamps to the face's edges, and
            // LINEAR footprints cross them through `footprint_texel` (Vulkan "Wrapping
            // Operation").
            AddressMode::ClampToEdge
        } else {
            self.smp.address_modes[dim]
        }
    }

    /// The raw texel at integer coordinates after wrapping, or `None` for the border.
    #[inline]
    fn raw_texel(&self, level: u32, layer: u32, ijk: [i64; 3]) -> Option<[u32; 4]> {
        let extent = self.img.level_extent(level);
        let mut at = [0u32; 3];
        for d in 0..self.dims {
            let w = wrap(self.address_mode(d), ijk[d], i64::from(extent[d]))?;
            at[d] = w as u32;
        }
        Some(self.img.load(level, layer, at))
    }

    /// A texel as filtering sees it: the border colour, or the swizzled texel; with a
    /// compare, the compare result (1.0 or 0.0) in every component.
    #[inline]
    pub(crate) fn texel(&self, level: u32, layer: u32, ijk: [i64; 3], dref: f32) -> [u32; 4] {
        let raw = self.raw_texel(level, layer, ijk);
        match self.compare {
            Some(op) => {
                let depth = f32::from_bits(raw.map_or(self.border[0], |t| t[0]));
                let dref = if self.clamp_dref {
                    dref.clamp(0.0, 1.0)
                } else {
                    dref
                };
                [if op.passes(dref, depth) { 1.0f32 } else { 0.0 }.to_bits(); 4]
            }
            None => raw.map_or(self.border, |t| self.img.swizzle(t)),
        }
    }

    /// A texel of a LINEAR footprint or a gather. On cube maps a texel beyond one edge of
    /// the face is read from the neighbouring face, and one beyond a corner (no neighbour
    /// holds it) is the average of the three texels that meet at that corner (Vulkan "Cube
    /// Map Edge Handling"); elsewhere it is [`Sampling::texel`].
    fn footprint_texel(&self, level: u32, layer: u32, ijk: [i64; 3], dref: f32) -> [u32; 4] {
        if !self.cube {
            return self.texel(level, layer, ijk, dref);
        }
        let n = i64::from(self.img.level_extent(level)[0]);
        let (face, first) = (layer % 6, layer - layer % 6);
        // A footprint reaches at most one texel past an edge; anything further (only a bug
        // could ask) is pulled back so it still reads a texel of this cube.
        let (i, j) = (ijk[0].clamp(-1, n), ijk[1].clamp(-1, n));
        let (ci, cj) = (i.clamp(0, n - 1), j.clamp(0, n - 1));
        let neighbour = |i: i64, j: i64| {
            let (f, a, b) = cube_edge_texel(face, i, j, n);
            self.texel(level, first + f, [a, b, 0], dref)
        };
        match (i != ci, j != cj) {
            (false, false) => self.texel(level, layer, [i, j, 0], dref),
            (true, false) | (false, true) => neighbour(i, j),
            (true, true) => self.average3(
                self.texel(level, layer, [ci, cj, 0], dref),
                neighbour(i, cj),
                neighbour(ci, j),
            ),
        }
    }

    /// The per-component average of three texels in the view's value kind (compare results
    /// are floats). Equal texels average to themselves exactly.
    fn average3(&self, a: [u32; 4], b: [u32; 4], c: [u32; 4]) -> [u32; 4] {
        let float = self.compare.is_some() || self.img.value == ValueKind::Float;
        std::array::from_fn(|k| {
            if float {
                let sum = f64::from(f32::from_bits(a[k]))
                    + f64::from(f32::from_bits(b[k]))
                    + f64::from(f32::from_bits(c[k]));
                ((sum / 3.0) as f32).to_bits()
            } else if self.img.value == ValueKind::Sint {
                let sum = i64::from(a[k] as i32) + i64::from(b[k] as i32) + i64::from(c[k] as i32);
                (sum / 3) as i32 as u32
            } else {
                ((u64::from(a[k]) + u64::from(b[k]) + u64::from(c[k])) / 3) as u32
            }
        })
    }

    /// Texel-space position of `pos` on `level` along each addressed dimension.
    fn texel_space(&self, level: u32, pos: &LanePos) -> [f32; 3] {
        let extent = self.img.level_extent(level);
        let mut u = [0.0f32; 3];
        for d in 0..self.dims {
            u[d] = if self.smp.unnormalized_coordinates {
                pos.coord[d]
            } else {
                pos.coord[d] * extent[d] as f32
            };
        }
        u
    }

    /// One level filtered with `filter` (f32 or integer bits).
    pub(crate) fn filter_level(&self, level: u32, filter: Filter, pos: &LanePos) -> [u32; 4] {
        let u = self.texel_space(level, pos);
        let off = |d: usize| i64::from(pos.offset[d]);
        if filter == Filter::Nearest || self.integer {
            let mut ijk = [0i64; 3];
            for d in 0..self.dims {
                ijk[d] = (u[d].floor() as i64).saturating_add(off(d));
            }
            return self.texel(level, pos.layer, ijk, pos.dref);
        }
        let mut base = [0i64; 3];
        let mut frac = [0.0f32; 3];
        for d in 0..self.dims {
            let t = u[d] - 0.5;
            let f = t.floor();
            base[d] = (f as i64).saturating_add(off(d));
            frac[d] = if (t - f).is_finite() { t - f } else { 0.0 };
        }
        let mut sum = [0.0f32; 4];
        for corner in 0..1usize << self.dims {
            let mut weight = 1.0f32;
            let mut ijk = base;
            for d in 0..self.dims {
                if corner >> d & 1 == 1 {
                    ijk[d] = ijk[d].saturating_add(1);
                    weight *= frac[d];
                } else {
                    weight *= 1.0 - frac[d];
                }
            }
            if weight == 0.0 {
                continue;
            }
            let t = self.footprint_texel(level, pos.layer, ijk, pos.dref);
            for c in 0..4 {
                sum[c] += weight * f32::from_bits(t[c]);
            }
        }
        sum.map(f32::to_bits)
    }

    /// The filtered value at `pos` for the level choice.
    pub(crate) fn sample(&self, choice: &LevelChoice, pos: &LanePos) -> [u32; 4] {
        let [(first, w0), (second, w1)] = choice.levels;
        let a = self.filter_level(first, choice.filter, pos);
        if w1 == 0.0 || self.integer {
            return a;
        }
        let b = self.filter_level(second, choice.filter, pos);
        std::array::from_fn(|c| (w0 * f32::from_bits(a[c]) + w1 * f32::from_bits(b[c])).to_bits())
    }

    /// The bilinear footprint's four texels on the view's base level, each reduced to
    /// `component` (or to its compare result), in the spec's order i0j1, i1j1, i1j0, i0j0.
    pub(crate) fn gather(&self, component: usize, pos: &LanePos) -> [u32; 4] {
        let u = self.texel_space(0, pos);
        let mut base = [0i64; 2];
        for (d, b) in base.iter_mut().enumerate() {
            *b = ((u[d] - 0.5).floor() as i64).saturating_add(i64::from(pos.offset[d]));
        }
        let [i0, j0] = base;
        let (i1, j1) = (i0.saturating_add(1), j0.saturating_add(1));
        let pick = |i: i64, j: i64| {
            let t = self.footprint_texel(0, pos.layer, [i, j, 0], pos.dref);
            if self.compare.is_some() {
                t[0]
            } else {
                t[component & 3]
            }
        };
        [pick(i0, j1), pick(i1, j1), pick(i1, j0), pick(i0, j0)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampler::BorderColor;

    fn state() -> SamplerState {
        SamplerState {
            mag_filter: Filter::Linear,
            min_filter: Filter::Nearest,
            mipmap_mode: MipmapMode::Linear,
            address_modes: [AddressMode::Repeat; 3],
            mip_lod_bias: 0.0,
            compare: None,
            min_lod: 0.0,
            max_lod: 1000.0,
            border_color: BorderColor::FloatOpaqueBlack,
            unnormalized_coordinates: false,
        }
    }

    #[test]
    fn one_root_of_the_larger_square_is_the_larger_root_bit_for_bit() {
        let smp = state();
        let img = crate::sampler::tests::rgba8_image(4, 4, 3);
        let s = Sampling::new(&img, &smp, 2, false, None);
        let two_roots = |dx: [f32; 3], dy: [f32; 3]| {
            let len = |d: [f32; 3]| (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            len(dx).max(len(dy)).log2() + s.bias(0.0)
        };
        let mut x = 0x9e37_79b9u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            // Random bits: every sign, exponent and mantissa, NaN and infinity included.
            f32::from_bits(x)
        };
        let specials = [0.0, -0.0, f32::NAN, f32::INFINITY, 1e-30, 3.0e19];
        for i in 0..20_000 {
            let mut v: [f32; 6] = std::array::from_fn(|_| next());
            if i % 4 == 0 {
                v[i % 6] = specials[i % specials.len()];
            }
            let (dx, dy) = ([v[0], v[1], v[2]], [v[3], v[4], v[5]]);
            let (a, b) = (s.lod_from_gradients(dx, dy, 0.0), two_roots(dx, dy));
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "{v:?}"
            );
        }
    }

    #[test]
    fn bias_sum_is_clamped_and_lod_clamps_to_min_and_max() {
        let mut smp = state();
        smp.mip_lod_bias = 10.0;
        smp.min_lod = 0.5;
        smp.max_lod = 2.0;
        let img = crate::sampler::tests::rgba8_image(4, 4, 3);
        let s = Sampling::new(&img, &smp, 2, false, None);
        assert_eq!(s.bias(10.0), MAX_SAMPLER_LOD_BIAS);
        assert_eq!(s.clamp_lod(-3.0, 0.0), 0.5);
        assert_eq!(s.clamp_lod(5.0, 0.0), 2.0);
        assert_eq!(s.clamp_lod(1.0, 1.5), 1.5);
        assert_eq!(s.clamp_lod(f32::NAN, 0.0), 0.5);
    }

    #[test]
    fn magnification_uses_the_mag_filter_and_linear_mips_blend_neighbours() {
        let smp = state();
        let img = crate::sampler::tests::rgba8_image(4, 4, 3);
        let s = Sampling::new(&img, &smp, 2, false, None);
        assert_eq!(
            s.choose_levels(0.0),
            LevelChoice {
                filter: Filter::Linear,
                levels: [(0, 1.0), (1, 0.0)]
            }
        );
        assert_eq!(
            s.choose_levels(1.25),
            LevelChoice {
                filter: Filter::Nearest,
                levels: [(1, 0.75), (2, 0.25)]
            }
        );
        assert_eq!(s.choose_levels(9.0).levels[0], (2, 1.0));
    }
}
