//! The image helper compiled shaders call for every image operation ([`image_op`], a
//! `shader::abi::ImageOpFn`): it decodes the request once per call — view geometry, sampler,
//! operation — and loops over the lanes of `request.mask`.
//!
//! Robustness: a null image gives zeros (reads, queries) and ignores writes and atomics; an
//! integer coordinate, level, layer or sample index outside the view reads as an all-zero
//! texel (R, G, B = 0; A = 0, or 1 where the format has no alpha — robustImageAccess2) and
//! drops the write; sampling operations without a sampler, or on a texel buffer, give zeros.
//! Nothing a request holds can make the helper panic, and should a bug panic anyway, the
//! panic is caught here and never unwinds into compiled code.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use shader::abi::{
    image_atomic, image_flag, image_op as op, ImageRequest, ImageResult, MAX_IMAGE_LANES,
};

use crate::format::ValueKind;

use super::address::{cube_coords, cube_derivative};
use super::filter::{LanePos, Sampling};
use super::resolved::{ResolvedImage, ResolvedSampler};
use super::ViewType;

/// The image helper (`shader::abi::ImageOpFn`).
///
/// # Safety
/// `request` and `result` are null or valid for reading (`request`) and writing (`result`)
/// one value each; `image` is null or points to a [`ResolvedImage`] and `sampler` is null or
/// points to a [`ResolvedSampler`], both alive for the call (the pointers of an
/// [`super::ImageTable`]'s slots while the table lives).
pub unsafe extern "C" fn image_op(
    image: *const c_void,
    sampler: *const c_void,
    request: *const ImageRequest,
    result: *mut ImageResult,
) {
    // SAFETY: the caller's contract: `request` is null or valid for reads of one request,
    // which nothing writes during the call (it is on the calling kernel's stack).
    let Some(request) = (unsafe { request.as_ref() }) else {
        return;
    };
    // SAFETY: the caller's contract: `result` is null or valid for writes of one result,
    // distinct from `request`.
    let Some(result) = (unsafe { result.as_mut() }) else {
        return;
    };
    // SAFETY: the caller's contract: `image` is null or points to a live `ResolvedImage`.
    let image = unsafe { image.cast::<ResolvedImage>().as_ref() };
    // SAFETY: the caller's contract: `sampler` is null or points to a live `ResolvedSampler`.
    let sampler = unsafe { sampler.cast::<ResolvedSampler>().as_ref() };
    let mask = active_lanes(request);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        perform(image, sampler, request, mask, result)
    }));
    if outcome.is_err() {
        log::error!("image helper panicked (op {}): results zeroed", request.op);
        write_lanes(result, mask, |_| [0; 4]);
    }
}

/// The lanes to perform: `mask` limited to `lanes` (at most [`MAX_IMAGE_LANES`]).
fn active_lanes(request: &ImageRequest) -> u32 {
    let lanes = (request.lanes as usize).min(MAX_IMAGE_LANES);
    let all = if lanes >= 32 {
        u32::MAX
    } else {
        (1u32 << lanes) - 1
    };
    request.mask & all
}

fn lanes_of(mask: u32) -> impl Iterator<Item = usize> {
    (0..MAX_IMAGE_LANES).filter(move |l| mask >> l & 1 == 1)
}

fn write_lanes(result: &mut ImageResult, mask: u32, mut value: impl FnMut(usize) -> [u32; 4]) {
    for l in lanes_of(mask) {
        let v = value(l);
        for (c, row) in result.texel.iter_mut().enumerate() {
            row[l] = v[c];
        }
    }
}

/// Spatial dimensions of a sampling coordinate (cube maps: the 3-component direction),
/// whether an array layer follows, and whether it is a cube map.
fn sample_geometry(view: Option<ViewType>) -> (usize, bool, bool) {
    match view {
        None | Some(ViewType::D1) => (1, false, false),
        Some(ViewType::D1Array) => (1, true, false),
        Some(ViewType::D2) => (2, false, false),
        Some(ViewType::D2Array) => (2, true, false),
        Some(ViewType::D3) => (3, false, false),
        Some(ViewType::Cube) => (3, false, true),
        Some(ViewType::CubeArray) => (3, true, true),
    }
}

/// Spatial dimensions of an integer coordinate and whether a layer follows (cube maps are
/// addressed as 2D arrays of faces: layer = face + 6 × cube).
fn integer_geometry(view: Option<ViewType>) -> (usize, bool) {
    match view {
        None | Some(ViewType::D1) => (1, false),
        Some(ViewType::D1Array) => (1, true),
        Some(ViewType::D2) => (2, false),
        Some(ViewType::D3) => (3, false),
        Some(ViewType::D2Array | ViewType::Cube | ViewType::CubeArray) => (2, true),
    }
}

fn perform(
    image: Option<&ResolvedImage>,
    sampler: Option<&ResolvedSampler>,
    req: &ImageRequest,
    mask: u32,
    out: &mut ImageResult,
) {
    let Some(img) = image else {
        // A null descriptor: reads and queries give 0, writes and atomics do nothing.
        write_lanes(out, mask, |_| [0; 4]);
        return;
    };
    match req.op {
        op::SAMPLE | op::GATHER | op::QUERY_LOD => match (sampler, img.view_type) {
            (Some(smp), Some(_)) => {
                if !super::fast::try_sample(img, &smp.state, req, mask, out) {
                    sample(img, smp, req, mask, out);
                }
            }
            _ => write_lanes(out, mask, |_| [0; 4]),
        },
        op::FETCH | op::READ => {
            let level_flag = req.op == op::FETCH && req.flags & image_flag::LOD != 0;
            write_lanes(out, mask, |l| {
                let level = if level_flag { req.lod[l] } else { 0 };
                match texel_address(img, req, l, level) {
                    Some((level, layer, at)) => img.swizzle(img.load(level, layer, at)),
                    None => img.swizzle(img.outside()),
                }
            });
        }
        op::WRITE => {
            for l in lanes_of(mask) {
                if let Some((level, layer, at)) = texel_address(img, req, l, 0) {
                    let texel = std::array::from_fn(|c| req.texel[c][l]);
                    img.store(level, layer, at, texel);
                }
            }
        }
        op::ATOMIC => write_lanes(out, mask, |l| {
            let old = texel_address(img, req, l, 0).and_then(|(level, layer, at)| {
                let (value, comparator) = (req.texel[0][l], req.texel[1][l]);
                img.atomic(level, layer, at, |old| {
                    atomic_update(req.atomic_op, img.value, old, value, comparator)
                })
            });
            [old.unwrap_or(0), 0, 0, 0]
        }),
        op::QUERY_SIZE => {
            let level_flag = req.flags & image_flag::LOD != 0;
            write_lanes(out, mask, |l| {
                let level = if level_flag { req.lod[l] } else { 0 };
                query_size(img, level)
            });
        }
        op::QUERY_LEVELS => write_lanes(out, mask, |_| [img.level_count, 0, 0, 0]),
        op::QUERY_SAMPLES => write_lanes(out, mask, |_| [1, 0, 0, 0]),
        _ => write_lanes(out, mask, |_| [0; 4]),
    }
}

/// The view-relative (level, layer, texel) of lane `l`'s integer coordinate, or `None` when
/// it lies outside the view.
fn texel_address(
    img: &ResolvedImage,
    req: &ImageRequest,
    l: usize,
    level: u32,
) -> Option<(u32, u32, [u32; 3])> {
    let (dims, arrayed) = integer_geometry(img.view_type);
    let offsets = req.flags & image_flag::OFFSET != 0 && req.op == op::FETCH;
    let mut at = [0u32; 3];
    for (d, slot) in at.iter_mut().enumerate().take(dims) {
        let mut c = req.coords[d][l] as i32;
        if offsets {
            c = c.checked_add(req.offset[d][l])?;
        }
        *slot = u32::try_from(c).ok()?;
    }
    let layer = if arrayed {
        u32::try_from(req.coords[dims][l] as i32).ok()?
    } else {
        0
    };
    if req.flags & image_flag::SAMPLE_INDEX != 0 && req.sample[l] != 0 {
        return None;
    }
    img.contains(level, layer, at).then_some((level, layer, at))
}

fn query_size(img: &ResolvedImage, level: u32) -> [u32; 4] {
    if level >= img.level_count {
        return [0; 4];
    }
    let [w, h, d] = img.level_extent(level);
    let layers = img.layer_count;
    match img.view_type {
        None => [img.elements, 0, 0, 0],
        Some(ViewType::D1) => [w, 0, 0, 0],
        Some(ViewType::D1Array) => [w, layers, 0, 0],
        Some(ViewType::D2 | ViewType::Cube) => [w, h, 0, 0],
        Some(ViewType::D2Array) => [w, h, layers, 0],
        Some(ViewType::CubeArray) => [w, h, layers / 6, 0],
        Some(ViewType::D3) => [w, h, d, 0],
    }
}

/// The new value of an atomic (`None`: unchanged). R32_SFLOAT takes exchange, load and store
/// only; other ops leave it unchanged.
fn atomic_update(
    atomic_op: u32,
    kind: ValueKind,
    old: u32,
    value: u32,
    comparator: u32,
) -> Option<u32> {
    use image_atomic::*;
    if kind == ValueKind::Float && !matches!(atomic_op, EXCHANGE | LOAD | STORE) {
        return None;
    }
    let (o, v) = (old as i32, value as i32);
    match atomic_op {
        EXCHANGE | STORE => Some(value),
        COMPARE_EXCHANGE => (old == comparator).then_some(value),
        ADD => Some(old.wrapping_add(value)),
        SUB => Some(old.wrapping_sub(value)),
        SMIN => Some(o.min(v) as u32),
        SMAX => Some(o.max(v) as u32),
        UMIN => Some(old.min(value)),
        UMAX => Some(old.max(value)),
        AND => Some(old & value),
        OR => Some(old | value),
        XOR => Some(old ^ value),
        _ => None,
    }
}

/// Per-lane inputs of a sampling operation after projection.
struct Lane {
    /// The coordinate (cube maps: the direction), projected.
    coord: [f32; 3],
    layer: f32,
    dref: f32,
}

pub(super) fn sample(
    img: &ResolvedImage,
    smp: &ResolvedSampler,
    req: &ImageRequest,
    mask: u32,
    out: &mut ImageResult,
) {
    let smp = &smp.state;
    let (dims, arrayed, cube) = sample_geometry(img.view_type);
    let flags = req.flags;
    let dref = flags & image_flag::DREF != 0;
    // A Dref operation compares with the sampler's op, or always passes without one.
    let compare = dref.then(|| smp.compare.unwrap_or(super::CompareOp::Always));
    let s = Sampling::new(img, smp, if cube { 2 } else { dims }, cube, compare);
    let proj = flags & image_flag::PROJ != 0;
    let divisor_row = (req.coord_count as usize).min(3);

    // Projected coordinates of every lane of the request (quads read their neighbours).
    let lanes: [Lane; MAX_IMAGE_LANES] = std::array::from_fn(|l| {
        let f = |row: usize| f32::from_bits(req.coords[row][l]);
        let q = if proj && req.coord_count < 4 {
            f(divisor_row)
        } else {
            1.0
        };
        let mut coord = [0.0f32; 3];
        for (d, c) in coord.iter_mut().enumerate().take(dims) {
            *c = f(d) / q;
        }
        Lane {
            coord,
            layer: if arrayed { f(dims) } else { 0.0 },
            dref: req.dref[l] / q,
        }
    });

    // Texel-space positions on the view's base level, for implicit derivatives.
    let extent = img.level_extent(0);
    let scale = |d: usize| {
        if smp.unnormalized_coordinates {
            1.0
        } else {
            extent[d] as f32
        }
    };
    let texel_pos = |l: &Lane| -> [f32; 3] {
        let mut p = [0.0; 3];
        for (d, v) in p.iter_mut().enumerate().take(dims) {
            *v = l.coord[d];
        }
        p
    };
    let derivative_of = |dir: [f32; 3], d: [f32; 3]| -> [f32; 3] {
        if cube {
            let [ds, dt] = cube_derivative(dir, d);
            [ds * scale(0), dt * scale(0), 0.0]
        } else {
            std::array::from_fn(|k| if k < dims { d[k] * scale(k) } else { 0.0 })
        }
    };

    let lod_mode = if flags & image_flag::LOD != 0 {
        LodMode::Explicit
    } else if flags & image_flag::GRAD != 0 {
        LodMode::Gradients
    } else if flags & image_flag::QUAD_DERIVATIVES != 0 {
        LodMode::Quad
    } else {
        LodMode::Base
    };
    let op_bias = |l: usize| {
        if flags & image_flag::BIAS != 0 {
            f32::from_bits(req.lod[l])
        } else {
            0.0
        }
    };

    write_lanes(out, mask, |l| {
        let lane = &lanes[l];
        // λ' (unclamped).
        let lambda = if smp.unnormalized_coordinates {
            0.0
        } else {
            match lod_mode {
                LodMode::Explicit => f32::from_bits(req.lod[l]) + s.bias(0.0),
                LodMode::Gradients => {
                    let q = if proj && req.coord_count < 4 {
                        f32::from_bits(req.coords[divisor_row][l])
                    } else {
                        1.0
                    };
                    let dx = derivative_of(lane.coord, req.ddx.map(|row| row[l] / q));
                    let dy = derivative_of(lane.coord, req.ddy.map(|row| row[l] / q));
                    s.lod_from_gradients(dx, dy, op_bias(l))
                }
                LodMode::Quad => {
                    let (dx, dy) = quad_differences(mask, l, |m| texel_pos(&lanes[m]));
                    s.lod_from_gradients(
                        derivative_of(lane.coord, dx),
                        derivative_of(lane.coord, dy),
                        op_bias(l),
                    )
                }
                LodMode::Base => s.bias(0.0),
            }
        };
        let min_lod = if flags & image_flag::MIN_LOD != 0 {
            req.min_lod[l]
        } else {
            f32::NEG_INFINITY
        };
        let clamped = s.clamp_lod(lambda, min_lod);
        if req.op == op::QUERY_LOD {
            return [s.level_position(clamped).to_bits(), lambda.to_bits(), 0, 0];
        }
        let mut pos = LanePos {
            dref: lane.dref,
            ..LanePos::default()
        };
        if cube {
            let (face, sf, tf) = cube_coords(lane.coord);
            pos.coord = [sf, tf, 0.0];
            let cubes = (img.layer_count / 6).max(1);
            pos.layer = face + 6 * array_layer(lane.layer, cubes);
        } else {
            pos.coord = lane.coord;
            pos.layer = array_layer(lane.layer, img.layer_count);
            if flags & image_flag::OFFSET != 0 {
                for d in 0..dims {
                    pos.offset[d] = req.offset[d][l];
                }
            }
        }
        if req.op == op::GATHER {
            return s.gather(req.component as usize, &pos);
        }
        let value = s.sample(&s.choose_levels(clamped), &pos);
        if dref {
            [value[0], 0, 0, 1.0f32.to_bits()]
        } else {
            value
        }
    });
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LodMode {
    Explicit,
    Gradients,
    Quad,
    /// No LOD information (a non-fragment implicit sample): the base level.
    Base,
}

/// layer = clamp(RNE(a), 0, count − 1) (NaN: 0).
pub(super) fn array_layer(a: f32, count: u32) -> u32 {
    let r = a.round_ties_even();
    if r.is_nan() || r <= 0.0 {
        0
    } else {
        (r.min((count.max(1) - 1) as f32)) as u32
    }
}

/// Coarse derivatives of lane `l`'s quad (lanes 4q..4q+3: top-left, top-right, bottom-left,
/// bottom-right): d/dx from the top row (the bottom row where a top lane is missing), d/dy
/// from the left column (the right one likewise), 0 where neither pair is in `mask`.
pub(super) fn quad_differences(
    mask: u32,
    l: usize,
    value: impl Fn(usize) -> [f32; 3],
) -> ([f32; 3], [f32; 3]) {
    let q = l & !3;
    let has = |i: usize| mask >> (q + i) & 1 == 1;
    let diff = |a: usize, b: usize| {
        let (va, vb) = (value(q + a), value(q + b));
        std::array::from_fn(|k| vb[k] - va[k])
    };
    let pair = |a: (usize, usize), b: (usize, usize)| {
        if has(a.0) && has(a.1) {
            diff(a.0, a.1)
        } else if has(b.0) && has(b.1) {
            diff(b.0, b.1)
        } else {
            [0.0; 3]
        }
    };
    (pair((0, 1), (2, 3)), pair((0, 2), (1, 3)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quad_differences_fall_back_to_the_other_row_and_to_zero() {
        let v = |l: usize| {
            [
                [0.0, 0.0, 0.0],
                [1.0, 0.0, 0.0],
                [0.0, 2.0, 0.0],
                [3.0, 2.0, 0.0],
            ][l % 4]
        };
        assert_eq!(
            quad_differences(0b1111, 2, v),
            ([1.0, 0.0, 0.0], [0.0, 2.0, 0.0])
        );
        assert_eq!(
            quad_differences(0b1110, 1, v),
            ([3.0, 0.0, 0.0], [2.0, 2.0, 0.0])
        );
        assert_eq!(quad_differences(0b0001, 0, v), ([0.0; 3], [0.0; 3]));
    }

    #[test]
    fn array_layers_round_to_nearest_even_and_clamp() {
        assert_eq!(array_layer(0.5, 4), 0);
        assert_eq!(array_layer(1.5, 4), 2);
        assert_eq!(array_layer(2.49, 4), 2);
        assert_eq!(array_layer(-3.0, 4), 0);
        assert_eq!(array_layer(99.0, 4), 3);
        assert_eq!(array_layer(f32::NAN, 4), 0);
    }

    #[test]
    fn atomics_compute_the_spec_results() {
        use image_atomic::*;
        let u = ValueKind::Uint;
        assert_eq!(atomic_update(ADD, u, u32::MAX, 2, 0), Some(1));
        assert_eq!(
            atomic_update(SMIN, ValueKind::Sint, 5, (-3i32) as u32, 0),
            Some((-3i32) as u32)
        );
        assert_eq!(atomic_update(UMIN, u, 5, (-3i32) as u32, 0), Some(5));
        assert_eq!(atomic_update(COMPARE_EXCHANGE, u, 7, 9, 7), Some(9));
        assert_eq!(atomic_update(COMPARE_EXCHANGE, u, 7, 9, 8), None);
        assert_eq!(atomic_update(LOAD, u, 7, 9, 8), None);
        assert_eq!(atomic_update(ADD, ValueKind::Float, 7, 9, 8), None);
        assert_eq!(atomic_update(EXCHANGE, ValueKind::Float, 7, 9, 8), Some(9));
    }
}
