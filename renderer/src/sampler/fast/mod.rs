//! The sampling fast path: SAMPLE on 2D and 2D-array views of 8-bit RGBA/BGRA UNORM and sRGB
//! formats with the identity component mapping, NEAREST or LINEAR filters, NEAREST or LINEAR
//! mipmaps, implicit (quad), explicit or gradient LOD, and every address mode but
//! CLAMP_TO_BORDER. Everything else goes through the generic per-lane path
//! ([`super::filter::Sampling`]), which stays the reference.
//!
//! [`Texels8`] resolves the view once per draw or dispatch: the memory's base pointer, each
//! level's byte offset, pitches and extent, and a proof that every texel of every level and
//! layer of the view lies inside the memory. A call then works on 8 lanes at a time. When the
//! CPU has AVX2 and FMA and the 8 lanes read the same level (or the same two levels) of a
//! non-arrayed view, [`avx2`] does the whole chunk in registers; otherwise SoA lane arrays
//! (which the compiler vectorizes) hold texel coordinates, wrapping and addresses for all
//! lanes, with one raw 4-byte load per texel and the filter in f32.
//!
//! Agreement with the generic path: level selection uses the generic code itself, so levels
//! and weights are identical; the filtered values differ only by f32 rounding (the fast path
//! scales by 1/255 after filtering instead of before), at most 1e-6 in [0, 1].
//!
//! Robustness: wrapped coordinates lie inside the level by construction, layers are clamped
//! to the view, and every load offset is additionally clamped to the last 4 bytes of the
//! memory, so no request can address memory outside the image's memory. Coordinates that are
//! not finite or beyond ±1024 (where i32 texel arithmetic would not be exact) take the
//! generic path.

// Lane loops index several arrays by lane on purpose: that is the shape the vectorizer takes.
#![allow(clippy::needless_range_loop)]

use std::sync::Arc;

use shader::abi::{image_flag, image_op as op, ImageRequest, ImageResult, MAX_IMAGE_LANES};

use crate::format::{unpack_color, ColorValue, Format};
use crate::image::{Image, ImageType, Tiling};
use crate::memory::ExternalMemory;

#[cfg(target_arch = "x86_64")]
mod avx2;
mod copy;

pub(crate) use copy::{Arrangement, CopySampler, Lanes, OutByte, GROUP_LANES, RECT_BLOCKS};

use super::address::wrap;
use super::filter::{LevelChoice, Sampling};
use super::helper::{array_layer, quad_differences};
use super::{AddressMode, ComponentSwizzle, Filter, ImageView, SamplerState, ViewType};

/// Lanes per SIMD step (AVX2's f32 width).
const CHUNK: usize = 8;
/// Largest |coordinate| the fast path takes: × the largest extent (16384) stays exact in i32.
const MAX_COORD: f32 = 1024.0;
/// The flags the fast path handles.
const FAST_FLAGS: u32 = image_flag::LOD
    | image_flag::BIAS
    | image_flag::GRAD
    | image_flag::QUAD_DERIVATIVES
    | image_flag::MIN_LOD;

/// One view level's placement.
#[derive(Clone, Copy, Debug)]
struct LevelGeometry {
    /// Byte offset from [`Texels8::ptr`] of texel (0, 0) of the view's first layer.
    base: u32,
    /// Bytes from one layer to the next.
    array_pitch: u32,
    /// Bytes from one row of micro-tiles (LINEAR: of texels) to the next.
    row_pitch: u32,
    width: u32,
    height: u32,
}

/// A 4-byte RGBA8/BGRA8 view resolved for raw reads.
pub(crate) struct Texels8 {
    /// Keeps `ptr` valid (`ExternalMemory`: the pointer is stable while the memory lives).
    _memory: Arc<dyn ExternalMemory>,
    /// The first byte of the view's first level (its first layer) in the memory.
    ptr: *const u8,
    /// Largest offset from `ptr` a 4-byte read may start at (every texel of the view is at
    /// or below it, and `ptr + last + 4` is inside the memory).
    last: u32,
    levels: Vec<LevelGeometry>,
    layer_count: u32,
    /// log2 of the micro-tile side: 2 for OPTIMAL, 0 for LINEAR.
    tile_shift: u32,
    /// Memory byte 0 is B (BGRA formats).
    bgra: bool,
    /// sRGB: the decoded value of each code for R, G, B (alpha is linear).
    srgb: Option<Box<[f32; 256]>>,
    /// Every level's width and height are powers of two.
    pow2: bool,
}

// SAFETY: `ptr` points into `_memory`, which is `Send + Sync` and only ever read here through
// raw pointers (no references are formed); the rest is plain data.
unsafe impl Send for Texels8 {}
// SAFETY: as for `Send`: immutable after construction.
unsafe impl Sync for Texels8 {}

impl std::fmt::Debug for Texels8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Texels8")
            .field("levels", &self.levels)
            .field("tile_shift", &self.tile_shift)
            .finish_non_exhaustive()
    }
}

/// The in-layer byte offset of texel (x, y) of a level with `row_pitch` (4-byte texels).
#[inline(always)]
fn texel_offset(tile_shift: u32, row_pitch: u32, x: u32, y: u32) -> u32 {
    let m = (1u32 << tile_shift) - 1;
    (y >> tile_shift)
        .wrapping_mul(row_pitch)
        .wrapping_add((x >> tile_shift) << (2 + 2 * tile_shift))
        .wrapping_add((y & m) << (2 + tile_shift))
        .wrapping_add((x & m) << 2)
}

impl Texels8 {
    /// The fast-path view of `view` read as `format`, or `None` when the view is not one the
    /// fast path takes (or its geometry does not fit the fast path's arithmetic).
    pub(crate) fn from_view(view: &ImageView) -> Option<Texels8> {
        let (bgra, srgb) = match view.format {
            Format::R8G8B8A8_UNORM => (false, false),
            Format::B8G8R8A8_UNORM => (true, false),
            Format::R8G8B8A8_SRGB => (false, true),
            Format::B8G8R8A8_SRGB => (true, true),
            _ => return None,
        };
        let identity = view.components.iter().enumerate().all(|(i, c)| {
            *c == ComponentSwizzle::Identity
                || [
                    ComponentSwizzle::R,
                    ComponentSwizzle::G,
                    ComponentSwizzle::B,
                    ComponentSwizzle::A,
                ][i] == *c
        });
        let desc = view.image.desc();
        if !identity
            || !matches!(view.view_type, ViewType::D2 | ViewType::D2Array)
            || desc.image_type != ImageType::D2
            || desc.format.texel_size() != 4
            || view.aspect_mask != crate::format::aspect::COLOR
        {
            return None;
        }
        let tile_shift = match desc.tiling {
            Tiling::Optimal => 2,
            Tiling::Linear => 0,
        };
        let (start, end, levels) = level_geometry(&view.image, view, tile_shift)?;
        let pow2 = levels
            .iter()
            .all(|l| l.width.is_power_of_two() && l.height.is_power_of_two());
        let (memory, _) = view.image.memory_window();
        let memory = Arc::clone(memory);
        // `level_geometry` proved start < end ≤ memory.len() and end − start ≤ i32::MAX.
        let last = u32::try_from(end.checked_sub(start)?.checked_sub(4)?).ok()?;
        if end > memory.len() {
            return None;
        }
        let srgb = srgb.then(|| srgb_table(view.format));
        // SAFETY: `start < end ≤ memory.len()` (checked just above and in `level_geometry`), so
        // the pointer stays inside the memory's allocation.
        let ptr = unsafe { memory.as_ptr().cast_const().add(start) };
        Some(Texels8 {
            ptr,
            _memory: memory,
            last,
            levels,
            layer_count: view.layer_count,
            tile_shift,
            bgra,
            srgb,
            pow2,
        })
    }

    /// The 4 bytes at each of `at` (see [`Texels8::load`]); `AVX2`: the caller runs with
    /// AVX2 enabled.
    #[inline(always)]
    fn gather<const AVX2: bool>(&self, at: &[u32; CHUNK]) -> [u32; CHUNK] {
        #[cfg(target_arch = "x86_64")]
        if AVX2 {
            // SAFETY: `AVX2` is true only in the build `sample_lanes_avx2` runs, which
            // `try_sample` calls only when the CPU has AVX2.
            return unsafe { gather_avx2(self.ptr, self.last, at) };
        }
        std::array::from_fn(|l| self.load(at[l]))
    }

    /// The 4 bytes at `at` from `ptr` (clamped to the view's bytes).
    #[inline(always)]
    fn load(&self, at: u32) -> u32 {
        let at = at.min(self.last) as usize;
        // SAFETY: `ptr + last + 4` is inside the memory (see `last`) and `at ≤ last` (clamped
        // just above); the memory is valid for reads while `_memory` lives (ExternalMemory's
        // contract); the read is a raw unaligned copy, no reference is formed.
        let texel = unsafe { self.ptr.add(at) };
        // SAFETY: as above: 4 bytes at `texel` are inside the memory; unaligned read.
        unsafe { texel.cast::<u32>().read_unaligned() }
    }
}

/// Eight 4-byte loads from `ptr + min(at[l], last)` with one AVX2 gather.
///
/// # Safety
/// The CPU has AVX2; `ptr + last + 4` is inside one allocation valid for reads and
/// `last ≤ i32::MAX` (the gather's indices are signed), as [`Texels8`] guarantees.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
#[allow(clippy::cast_ptr_alignment)] // unaligned loads, stores and gathers
unsafe fn gather_avx2(ptr: *const u8, last: u32, at: &[u32; CHUNK]) -> [u32; CHUNK] {
    use std::arch::x86_64::{
        __m256i, _mm256_i32gather_epi32, _mm256_loadu_si256, _mm256_min_epu32, _mm256_set1_epi32,
        _mm256_storeu_si256,
    };
    let mut out = [0u32; CHUNK];
    // SAFETY: `at` is 8 u32s, 32 bytes; `loadu` has no alignment requirement.
    let index = unsafe { _mm256_loadu_si256(at.as_ptr().cast::<__m256i>()) };
    let index = _mm256_min_epu32(index, _mm256_set1_epi32(last as i32));
    // SAFETY: every index is clamped to `last` just above, so each lane reads 4 bytes at
    // `ptr + index` with `index + 4 ≤ last + 4`, inside the allocation (the caller's
    // contract); the gather has no alignment requirement.
    let texels = unsafe { _mm256_i32gather_epi32::<1>(ptr.cast::<i32>(), index) };
    // SAFETY: `out` is 8 u32s, 32 bytes; `storeu` has no alignment requirement.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast::<__m256i>(), texels) };
    out
}

/// Each view level's geometry relative to the view's first byte, with the byte range
/// `[start, end)` of the memory holding every texel of the view: `end ≤ memory.len()` and
/// `end − start ≤ i32::MAX`. The address formula is cross-checked against the image layout's.
fn level_geometry(
    image: &Image,
    view: &ImageView,
    tile_shift: u32,
) -> Option<(usize, usize, Vec<LevelGeometry>)> {
    let (memory, image_offset) = image.memory_window();
    let layout = image.layout();
    let mut spans = Vec::with_capacity(view.level_count as usize);
    for lv in 0..view.level_count {
        let abs = view.base_level.checked_add(lv)?;
        let mip = layout.mip(abs)?;
        if mip.depth != 1 {
            return None;
        }
        let array_pitch = usize::try_from(mip.array_pitch).ok()?;
        let base = image_offset
            .checked_add(usize::try_from(mip.offset).ok()?)?
            .checked_add(array_pitch.checked_mul(view.base_layer as usize)?)?;
        let end = base.checked_add(array_pitch.checked_mul(view.layer_count as usize)?)?;
        spans.push((abs, mip, base, end));
    }
    let start = spans.iter().map(|s| s.2).min()?;
    let end = spans.iter().map(|s| s.3).max()?;
    if end > memory.len() || end - start > i32::MAX as usize || end - start < 4 {
        return None;
    }
    let mut levels = Vec::with_capacity(spans.len());
    for (abs, mip, base, _) in spans {
        let geometry = LevelGeometry {
            base: u32::try_from(base - start).ok()?,
            array_pitch: u32::try_from(mip.array_pitch).ok()?,
            row_pitch: u32::try_from(mip.row_pitch).ok()?,
            width: mip.width,
            height: mip.height,
        };
        let (w, h) = (mip.width, mip.height);
        for (x, y) in [(w - 1, h - 1), (w.min(6) - 1, h.min(7) - 1), (w / 2, h / 2)] {
            let want = layout.texel_offset(abs, view.base_layer, [x, y, 0]).ok()?;
            let got = (base - image_offset) as u64
                + u64::from(texel_offset(tile_shift, geometry.row_pitch, x, y));
            if want != got {
                return None;
            }
        }
        levels.push(geometry);
    }
    Some((start, end, levels))
}

/// The linear value of each sRGB code, from the generic decoder itself.
fn srgb_table(format: Format) -> Box<[f32; 256]> {
    let mut table = Box::new([0.0f32; 256]);
    for (code, v) in table.iter_mut().enumerate() {
        let c = code as u8;
        *v = match unpack_color(format, &[c, c, c, 255]) {
            Ok(ColorValue::Float(rgba)) => rgba[1],
            _ => f32::from(c) / 255.0,
        };
    }
    table
}

/// Whether the CPU runs the AVX2 + FMA build of the lane loops.
fn has_avx2() -> bool {
    crate::cpu::has_avx2()
}

/// Performs a SAMPLE request on the fast path when it can: `false` (nothing written) when
/// the request, view or sampler is not one it takes.
pub(crate) fn try_sample(
    img: &super::ResolvedImage,
    smp: &SamplerState,
    req: &ImageRequest,
    mask: u32,
    out: &mut ImageResult,
) -> bool {
    let Some(texels) = img.texels8.as_ref() else {
        return false;
    };
    if req.op != op::SAMPLE
        || req.flags & !FAST_FLAGS != 0
        || smp.unnormalized_coordinates
        || smp.address_modes[..2].contains(&AddressMode::ClampToBorder)
    {
        return false;
    }
    // Coordinates of the lanes to perform within the exact range. On the bits of |c|: finite
    // floats order as their bits do, and NaNs and infinities lie above every finite one.
    let limit = MAX_COORD.to_bits();
    let mut outside = 0u32;
    for row in &req.coords[..2] {
        for (l, &bits) in row.iter().enumerate() {
            outside |= u32::from(bits & 0x7fff_ffff > limit) << l;
        }
    }
    if outside & mask != 0 {
        return false;
    }
    let choices = level_choices(img, smp, req, mask);
    let arrayed = img.view_type == Some(ViewType::D2Array);
    if has_avx2() {
        // SAFETY: the CPU has AVX2 and FMA (checked at run time just above).
        unsafe { sample_lanes_avx2(texels, smp, req, mask, &choices, arrayed, out) }
    } else {
        sample_lanes::<false>(texels, smp, req, mask, &choices, arrayed, out);
    }
    true
}

/// The lanes' level choices: one for all, or one per lane.
#[allow(clippy::large_enum_variant)] // lives on the stack for one call
enum Choices {
    Uniform(LevelChoice),
    PerLane([LevelChoice; MAX_IMAGE_LANES]),
}

impl Choices {
    #[inline(always)]
    fn lane(&self, l: usize) -> &LevelChoice {
        match self {
            Choices::Uniform(c) => c,
            Choices::PerLane(all) => &all[l % MAX_IMAGE_LANES],
        }
    }
}

const LANE_DEFAULT: LevelChoice = LevelChoice {
    filter: Filter::Nearest,
    levels: [(0, 1.0), (0, 0.0)],
};

/// A quad's coordinate differences along x and along y.
type QuadGradients = ([f32; 3], [f32; 3]);

/// The level choice of every lane, computed as the generic path does (per quad where the
/// inputs are the quad's).
fn level_choices(
    img: &super::ResolvedImage,
    smp: &SamplerState,
    req: &ImageRequest,
    mask: u32,
) -> Choices {
    // One level and one filter whatever λ is: no LOD to compute.
    if img.level_count == 1 && smp.mag_filter == smp.min_filter {
        return Choices::Uniform(LevelChoice {
            filter: smp.mag_filter,
            levels: [(0, 1.0), (0, 0.0)],
        });
    }
    let s = Sampling::new(img, smp, 2, false, None);
    let flags = req.flags;
    let mut out = [LANE_DEFAULT; MAX_IMAGE_LANES];
    let min_lod = |l: usize| {
        if flags & image_flag::MIN_LOD != 0 {
            req.min_lod[l]
        } else {
            f32::NEG_INFINITY
        }
    };
    let extent = img.level_extent(0);
    let scale = [extent[0] as f32, extent[1] as f32];
    let op_bias = |l: usize| {
        if flags & image_flag::BIAS != 0 {
            f32::from_bits(req.lod[l])
        } else {
            0.0
        }
    };
    let scaled = |d: [f32; 3]| [d[0] * scale[0], d[1] * scale[1], 0.0];
    let coord = |m: usize| {
        [
            f32::from_bits(req.coords[0][m]),
            f32::from_bits(req.coords[1][m]),
            0.0,
        ]
    };
    if flags & !image_flag::QUAD_DERIVATIVES == 0 && flags != 0 {
        // Implicit LOD and nothing per lane: one choice per quad (what the per-lane loop
        // below computes for each of its lanes), and one for the call when the quads agree.
        let mut quads = [None; MAX_IMAGE_LANES / 4];
        // The last quad's differences and choice: neighbouring quads of an affine mapping
        // have the same differences, bit for bit, and so the same choice.
        let mut last: Option<(QuadGradients, LevelChoice)> = None;
        for (q, slot) in quads.iter_mut().enumerate() {
            if mask >> (4 * q) & 0xf == 0 {
                continue;
            }
            let (dx, dy) = if mask >> (4 * q) & 0xf == 0xf {
                // A whole quad: what `quad_differences` takes, without its fallbacks.
                let [c0, c1, c2] = [coord(4 * q), coord(4 * q + 1), coord(4 * q + 2)];
                let diff = |a: [f32; 3], b: [f32; 3]| [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
                (diff(c0, c1), diff(c0, c2))
            } else {
                quad_differences(mask, 4 * q, coord)
            };
            let same = |(px, py): QuadGradients| {
                let bits = |v: [f32; 3]| v.map(f32::to_bits);
                bits(px) == bits(dx) && bits(py) == bits(dy)
            };
            let choice = match last {
                Some((prev, choice)) if same(prev) => choice,
                _ => {
                    let lambda = s.lod_from_gradients(scaled(dx), scaled(dy), 0.0);
                    s.choose_levels(s.clamp_lod(lambda, f32::NEG_INFINITY))
                }
            };
            last = Some(((dx, dy), choice));
            *slot = Some(choice);
        }
        let mut active = quads.iter().flatten();
        if let Some(first) = active.next() {
            if active.all(|c| c == first) {
                return Choices::Uniform(*first);
            }
        }
        let mut out = [LANE_DEFAULT; MAX_IMAGE_LANES];
        for (l, lane) in out.iter_mut().enumerate() {
            if mask >> l & 1 == 1 {
                *lane = quads[l / 4].unwrap_or(LANE_DEFAULT);
            }
        }
        return Choices::PerLane(out);
    }
    // The quad's λ' when no per-lane input changes it.
    let mut quad_lambda: [Option<f32>; MAX_IMAGE_LANES / 4] = [None; MAX_IMAGE_LANES / 4];
    for l in (0..MAX_IMAGE_LANES).filter(|l| mask >> l & 1 == 1) {
        let lambda = if flags & image_flag::LOD != 0 {
            f32::from_bits(req.lod[l]) + s.bias(0.0)
        } else if flags & image_flag::GRAD != 0 {
            let dx = scaled([req.ddx[0][l], req.ddx[1][l], 0.0]);
            let dy = scaled([req.ddy[0][l], req.ddy[1][l], 0.0]);
            s.lod_from_gradients(dx, dy, op_bias(l))
        } else if flags & image_flag::QUAD_DERIVATIVES != 0 {
            let compute = || {
                let (dx, dy) = quad_differences(mask, l, coord);
                s.lod_from_gradients(scaled(dx), scaled(dy), op_bias(l))
            };
            if flags & image_flag::BIAS != 0 {
                compute()
            } else {
                *quad_lambda[l / 4].get_or_insert_with(compute)
            }
        } else {
            s.bias(0.0)
        };
        out[l] = s.choose_levels(s.clamp_lod(lambda, min_lod(l)));
    }
    Choices::PerLane(out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
/// [`sample_lanes`] compiled for AVX2 + FMA.
///
/// # Safety
/// The CPU supports AVX2 and FMA.
unsafe fn sample_lanes_avx2(
    t: &Texels8,
    smp: &SamplerState,
    req: &ImageRequest,
    mask: u32,
    choices: &Choices,
    arrayed: bool,
    out: &mut ImageResult,
) {
    sample_lanes::<true>(t, smp, req, mask, choices, arrayed, out);
}

/// Without x86-64 there is no AVX2 build (never called: `has_avx2` is false).
///
/// # Safety
/// None.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn sample_lanes_avx2(
    t: &Texels8,
    smp: &SamplerState,
    req: &ImageRequest,
    mask: u32,
    choices: &Choices,
    arrayed: bool,
    out: &mut ImageResult,
) {
    sample_lanes::<false>(t, smp, req, mask, choices, arrayed, out);
}

/// Samples the lanes of `mask`, 8 at a time, and writes their results. `AVX2`: the caller
/// runs with AVX2 enabled (texels are fetched with gathers).
#[inline(always)]
fn sample_lanes<const AVX2: bool>(
    t: &Texels8,
    smp: &SamplerState,
    req: &ImageRequest,
    mask: u32,
    choices: &Choices,
    arrayed: bool,
    out: &mut ImageResult,
) {
    for first in (0..MAX_IMAGE_LANES).step_by(CHUNK) {
        let chunk_mask = (mask >> first) & 0xff;
        if chunk_mask == 0 {
            continue;
        }
        // All ones for the lanes to perform: the others read coordinate 0.
        let keep: [u32; CHUNK] = std::array::from_fn(|l| ((chunk_mask >> l) & 1).wrapping_neg());
        let x: [f32; CHUNK] =
            std::array::from_fn(|l| f32::from_bits(req.coords[0][first + l] & keep[l]));
        let y: [f32; CHUNK] =
            std::array::from_fn(|l| f32::from_bits(req.coords[1][first + l] & keep[l]));
        #[cfg(target_arch = "x86_64")]
        if AVX2 && !arrayed {
            // SAFETY: `AVX2` is true only in the build `sample_lanes_avx2` runs, which
            // `try_sample` calls only when the CPU has AVX2 and FMA.
            let texel = unsafe { uniform_chunk(t, smp, choices, first, chunk_mask, &x, &y) };
            if let Some(texel) = texel {
                write_chunk(out, first, chunk_mask, &texel);
                continue;
            }
        }
        let mut job = Chunk {
            x,
            y,
            ..Chunk::default()
        };
        let layers: [u32; CHUNK] = std::array::from_fn(|l| {
            if arrayed {
                array_layer(f32::from_bits(req.coords[2][first + l]), t.layer_count)
            } else {
                0
            }
        });
        match choices {
            Choices::Uniform(choice) if !arrayed => {
                let linear = choice.filter == Filter::Linear;
                job.half = [if linear { 0.5 } else { 0.0 }; CHUNK];
                job.linear = [if linear { 1.0 } else { 0.0 }; CHUNK];
                for (k, &(level, weight)) in choice.levels.iter().enumerate() {
                    job.level[k].set(0, t, level, 0);
                    job.level[k].broadcast_first();
                    job.weight[k] = [weight; CHUNK];
                }
            }
            _ => {
                for l in 0..CHUNK {
                    let choice = choices.lane(first + l);
                    let linear = choice.filter == Filter::Linear;
                    job.half[l] = if linear { 0.5 } else { 0.0 };
                    job.linear[l] = if linear { 1.0 } else { 0.0 };
                    for (k, &(level, weight)) in choice.levels.iter().enumerate() {
                        job.level[k].set(l, t, level, layers[l]);
                        job.weight[k][l] = weight;
                    }
                }
            }
        }
        let texel = sample_chunk::<AVX2>(t, smp, &job);
        write_chunk(out, first, chunk_mask, &texel);
    }
}

/// Stores the chunk's values into the result for the lanes of `chunk_mask` (lanes
/// `first..first + 8`).
#[inline(always)]
fn write_chunk(out: &mut ImageResult, first: usize, chunk_mask: u32, texel: &[[f32; CHUNK]; 4]) {
    if chunk_mask == 0xff {
        for (row, values) in out.texel.iter_mut().zip(texel) {
            for (slot, value) in row[first..first + CHUNK].iter_mut().zip(values) {
                *slot = value.to_bits();
            }
        }
        return;
    }
    for (c, row) in out.texel.iter_mut().enumerate() {
        for l in 0..CHUNK {
            let wanted = chunk_mask >> l & 1 == 1;
            let slot = &mut row[first + l];
            *slot = if wanted { texel[c][l].to_bits() } else { *slot };
        }
    }
}

/// The chunk's lanes (`first..first + 8`, those of `chunk_mask`) filtered by the AVX2 kernel
/// when they all read the same level, or the same two levels, with one filter, of a
/// non-arrayed view, and the kernel wraps both address modes; `None` (nothing done)
/// otherwise. `x` and `y` are the lanes' coordinates (0 outside the mask).
///
/// # Safety
/// The CPU supports AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn uniform_chunk(
    t: &Texels8,
    smp: &SamplerState,
    choices: &Choices,
    first: usize,
    chunk_mask: u32,
    x: &[f32; CHUNK],
    y: &[f32; CHUNK],
) -> Option<[[f32; CHUNK]; 4]> {
    use avx2::LevelRead;
    let [mode_u, mode_v, _] = smp.address_modes;
    if !avx2::wraps(mode_u, t.pow2) || !avx2::wraps(mode_v, t.pow2) {
        return None;
    }
    let lead = (0..CHUNK).find(|l| chunk_mask >> l & 1 == 1)?;
    let head = choices.lane(first + lead);
    // As `LaneLevels::set`: a level past the last reads the last.
    let clamp_level = |level: u32| (level as usize).min(t.levels.len().saturating_sub(1));
    let mut reads = [
        LevelRead {
            level: clamp_level(head.levels[0].0),
            weight: [0.0; CHUNK],
        },
        LevelRead {
            level: 0,
            weight: [0.0; CHUNK],
        },
    ];
    let linear = head.filter == Filter::Linear;
    if let Choices::Uniform(choice) = choices {
        // One choice for every lane: its weights broadcast.
        let [(_, w0), (level, w1)] = choice.levels;
        reads[0].weight = [w0; CHUNK];
        let count = if w1 != 0.0 {
            reads[1] = LevelRead {
                level: clamp_level(level),
                weight: [w1; CHUNK],
            };
            2
        } else {
            1
        };
        // SAFETY: the caller's contract (AVX2 and FMA).
        return Some(unsafe { avx2::sample8(t, &reads[..count], [mode_u, mode_v], linear, x, y) });
    }
    let mut second = None;
    for l in (0..CHUNK).filter(|l| chunk_mask >> l & 1 == 1) {
        let choice = choices.lane(first + l);
        if choice.filter != head.filter || choice.levels[0].0 != head.levels[0].0 {
            return None;
        }
        reads[0].weight[l] = choice.levels[0].1;
        let (level, weight) = choice.levels[1];
        if weight != 0.0 {
            match second {
                None => second = Some(level),
                Some(s) if s == level => {}
                Some(_) => return None,
            }
            reads[1].weight[l] = weight;
        }
    }
    let count = match second {
        Some(level) => {
            reads[1].level = clamp_level(level);
            2
        }
        None => 1,
    };
    // SAFETY: the caller's contract (AVX2 and FMA).
    Some(unsafe { avx2::sample8(t, &reads[..count], [mode_u, mode_v], linear, x, y) })
}

/// Per-lane geometry of the level each of 8 lanes reads.
#[derive(Default)]
struct LaneLevels {
    width: [i32; CHUNK],
    height: [i32; CHUNK],
    row_pitch: [u32; CHUNK],
    /// Byte offset from `Texels8::ptr` of texel (0, 0) of the lane's level and layer.
    base: [u32; CHUNK],
}

impl LaneLevels {
    fn set(&mut self, l: usize, t: &Texels8, level: u32, layer: u32) {
        let last = t.levels.len().saturating_sub(1);
        let Some(g) = t.levels.get((level as usize).min(last)) else {
            return;
        };
        self.width[l] = g.width as i32;
        self.height[l] = g.height as i32;
        self.row_pitch[l] = g.row_pitch;
        // Inside the view's span (layer < layer_count): no overflow; loads clamp anyway.
        self.base[l] = g.base.wrapping_add(g.array_pitch.wrapping_mul(layer));
    }

    /// Every lane takes lane 0's level.
    fn broadcast_first(&mut self) {
        self.width = [self.width[0]; CHUNK];
        self.height = [self.height[0]; CHUNK];
        self.row_pitch = [self.row_pitch[0]; CHUNK];
        self.base = [self.base[0]; CHUNK];
    }
}

/// The inputs of 8 lanes: coordinates, filter, and the two levels with their weights
/// (the second weight is 0 where one level is read).
#[derive(Default)]
struct Chunk {
    x: [f32; CHUNK],
    y: [f32; CHUNK],
    /// 0.5 for LINEAR lanes, 0 for NEAREST ones.
    half: [f32; CHUNK],
    /// 1 for LINEAR lanes, 0 for NEAREST ones.
    linear: [f32; CHUNK],
    level: [LaneLevels; 2],
    weight: [[f32; CHUNK]; 2],
}

/// Filtered values (R, G, B, A per lane) of 8 lanes.
#[inline(always)]
fn sample_chunk<const AVX2: bool>(
    t: &Texels8,
    smp: &SamplerState,
    job: &Chunk,
) -> [[f32; CHUNK]; 4] {
    let taps = if job.linear.iter().any(|&w| w != 0.0) {
        4
    } else {
        1
    };
    let a = filter_level::<AVX2>(t, smp, job, &job.level[0], taps);
    if job.weight[1].iter().all(|&w| w == 0.0) {
        return a;
    }
    let b = filter_level::<AVX2>(t, smp, job, &job.level[1], taps);
    let mut out = a;
    for c in 0..4 {
        for l in 0..CHUNK {
            let (w0, w1) = (job.weight[0][l], job.weight[1][l]);
            let mixed = w0 * a[c][l] + w1 * b[c][l];
            out[c][l] = if w1 == 0.0 { a[c][l] } else { mixed };
        }
    }
    out
}

/// Wraps the texel coordinates `i` of 8 lanes into `[0, size)` by `mode`.
#[inline(always)]
fn wrap_lanes(mode: AddressMode, pow2: bool, size: &[i32; CHUNK], i: &mut [i32; CHUNK]) {
    match (mode, pow2) {
        (AddressMode::ClampToEdge, _) => {
            for l in 0..CHUNK {
                i[l] = i[l].max(0).min(size[l] - 1);
            }
        }
        (AddressMode::Repeat, true) => {
            for l in 0..CHUNK {
                i[l] &= size[l] - 1;
            }
        }
        (AddressMode::MirrorClampToEdge, _) => {
            for l in 0..CHUNK {
                let m = i[l] ^ (i[l] >> 31);
                i[l] = m.min(size[l] - 1);
            }
        }
        (AddressMode::MirroredRepeat, true) => {
            for l in 0..CHUNK {
                let m = (i[l] & (2 * size[l] - 1)) - size[l];
                i[l] = (size[l] - 1) - (m ^ (m >> 31));
            }
        }
        _ => {
            for l in 0..CHUNK {
                let w = wrap(mode, i64::from(i[l]), i64::from(size[l].max(1))).unwrap_or(0);
                i[l] = w as i32;
            }
        }
    }
}

/// One level per lane filtered (R, G, B, A as f32): the bilinear footprint (NEAREST lanes:
/// weight 1 on the first texel) read with `taps` texels (1 when every lane is NEAREST).
#[inline(always)]
fn filter_level<const AVX2: bool>(
    t: &Texels8,
    smp: &SamplerState,
    job: &Chunk,
    lv: &LaneLevels,
    taps: usize,
) -> [[f32; CHUNK]; 4] {
    let mut i0 = [0i32; CHUNK];
    let mut j0 = [0i32; CHUNK];
    let mut fx = [0.0f32; CHUNK];
    let mut fy = [0.0f32; CHUNK];
    for l in 0..CHUNK {
        let tu = job.x[l] * lv.width[l] as f32 - job.half[l];
        let tv = job.y[l] * lv.height[l] as f32 - job.half[l];
        let (bu, bv) = (tu.floor(), tv.floor());
        // SAFETY: |coord| ≤ MAX_COORD (checked by `try_sample`; masked-out lanes are 0) and
        // extents ≤ 16384, so `bu` and `bv` are finite integers of magnitude < 2^25.
        i0[l] = unsafe { bu.to_int_unchecked::<i32>() };
        // SAFETY: as above.
        j0[l] = unsafe { bv.to_int_unchecked::<i32>() };
        fx[l] = (tu - bu) * job.linear[l];
        fy[l] = (tv - bv) * job.linear[l];
    }
    let mut i1: [i32; CHUNK] = std::array::from_fn(|l| i0[l] + 1);
    let mut j1: [i32; CHUNK] = std::array::from_fn(|l| j0[l] + 1);
    let [mode_u, mode_v, _] = smp.address_modes;
    wrap_lanes(mode_u, t.pow2, &lv.width, &mut i0);
    wrap_lanes(mode_v, t.pow2, &lv.height, &mut j0);
    if taps > 1 {
        wrap_lanes(mode_u, t.pow2, &lv.width, &mut i1);
        wrap_lanes(mode_v, t.pow2, &lv.height, &mut j1);
    }
    let ts = t.tile_shift;
    let corners = [(&i0, &j0), (&i1, &j0), (&i0, &j1), (&i1, &j1)];
    let mut raw = [[0u32; CHUNK]; 4];
    for (tap, (i, j)) in corners.into_iter().enumerate().take(taps) {
        let mut at = [0u32; CHUNK];
        for l in 0..CHUNK {
            let off = texel_offset(ts, lv.row_pitch[l], i[l] as u32, j[l] as u32);
            at[l] = lv.base[l].wrapping_add(off);
        }
        raw[tap] = t.gather::<AVX2>(&at);
    }
    let mut weight = [[0.0f32; CHUNK]; 4];
    for l in 0..CHUNK {
        let (gx, gy) = (1.0 - fx[l], 1.0 - fy[l]);
        weight[0][l] = gx * gy;
        weight[1][l] = fx[l] * gy;
        weight[2][l] = gx * fy[l];
        weight[3][l] = fx[l] * fy[l];
    }
    // Memory byte order → R, G, B, A.
    let shifts: [u32; 4] = if t.bgra {
        [16, 8, 0, 24]
    } else {
        [0, 8, 16, 24]
    };
    let mut out = [[0.0f32; CHUNK]; 4];
    for (c, &shift) in shifts.iter().enumerate() {
        let mut value = [[0.0f32; CHUNK]; 4];
        match t.srgb.as_deref() {
            Some(table) if c < 3 => {
                for tap in 0..taps {
                    for l in 0..CHUNK {
                        value[tap][l] = table[((raw[tap][l] >> shift) & 0xff) as usize];
                    }
                }
            }
            _ => {
                for tap in 0..taps {
                    for l in 0..CHUNK {
                        value[tap][l] =
                            ((raw[tap][l] >> shift) & 0xff) as i32 as f32 * (1.0 / 255.0);
                    }
                }
            }
        }
        if taps == 1 {
            out[c] = value[0];
            continue;
        }
        for l in 0..CHUNK {
            let mut sum = weight[0][l] * value[0][l];
            sum += weight[1][l] * value[1][l];
            sum += weight[2][l] * value[2][l];
            sum += weight[3][l] * value[3][l];
            out[c][l] = sum;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::copy::{Lanes, LodCache, ROW_MAJOR_QUADS};
    use super::*;
    use crate::image::ImageDesc;
    use crate::sampler::{BorderColor, MipmapMode, ResolvedImage, ResolvedSampler, Sampler};
    use shader::abi::GRAPHICS_LANES;

    /// xorshift64*.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn float(&mut self, lo: f32, hi: f32) -> f32 {
            lo + (hi - lo) * ((self.next() >> 40) as f32 / (1u64 << 24) as f32)
        }
    }

    struct Case {
        format: Format,
        tiling: Tiling,
        extent: [u32; 2],
        levels: u32,
        layers: u32,
        /// View subrange: base level, level count, base layer, layer count.
        view: [u32; 4],
    }

    fn view_of(case: &Case, rng: &mut Rng) -> ImageView {
        let image = Image::new_host(ImageDesc {
            image_type: ImageType::D2,
            format: case.format,
            extent: [case.extent[0], case.extent[1], 1],
            mip_levels: case.levels,
            array_layers: case.layers,
            tiling: case.tiling,
        })
        .unwrap();
        for level in 0..case.levels {
            let [w, h, _] = image.desc().mip_extent(level);
            for layer in 0..case.layers {
                for y in 0..h {
                    for x in 0..w {
                        let bytes = (rng.next() as u32).to_le_bytes();
                        image.write_texel(level, layer, [x, y, 0], &bytes).unwrap();
                    }
                }
            }
        }
        let [base_level, level_count, base_layer, layer_count] = case.view;
        ImageView {
            image,
            view_type: if case.layers > 1 {
                ViewType::D2Array
            } else {
                ViewType::D2
            },
            format: case.format,
            components: [ComponentSwizzle::Identity; 4],
            aspect_mask: crate::format::aspect::COLOR,
            base_level,
            level_count,
            base_layer,
            layer_count,
        }
    }

    fn cases() -> Vec<Case> {
        let one = |format, tiling, extent: [u32; 2], levels, layers, view| Case {
            format,
            tiling,
            extent,
            levels,
            layers,
            view,
        };
        vec![
            one(
                Format::R8G8B8A8_UNORM,
                Tiling::Optimal,
                [16, 8],
                5,
                1,
                [0, 5, 0, 1],
            ),
            one(
                Format::B8G8R8A8_UNORM,
                Tiling::Optimal,
                [13, 7],
                4,
                1,
                [0, 4, 0, 1],
            ),
            one(
                Format::R8G8B8A8_SRGB,
                Tiling::Linear,
                [8, 16],
                5,
                1,
                [0, 5, 0, 1],
            ),
            one(
                Format::B8G8R8A8_SRGB,
                Tiling::Optimal,
                [32, 32],
                6,
                1,
                [1, 4, 0, 1],
            ),
            one(
                Format::R8G8B8A8_UNORM,
                Tiling::Optimal,
                [16, 16],
                5,
                4,
                [1, 3, 1, 2],
            ),
            one(
                Format::R8G8B8A8_UNORM,
                Tiling::Linear,
                [5, 3],
                3,
                3,
                [0, 3, 0, 3],
            ),
        ]
    }

    const MODES: [AddressMode; 4] = [
        AddressMode::Repeat,
        AddressMode::MirroredRepeat,
        AddressMode::ClampToEdge,
        AddressMode::MirrorClampToEdge,
    ];

    /// A request of random coordinates (within ±3 of the image, or huge), layers, LODs,
    /// gradients and mask for `flags`.
    fn random_request(rng: &mut Rng, flags: u32, arrayed: bool) -> ImageRequest {
        // SAFETY: `ImageRequest` is plain integers and floats; all-zero bits are valid.
        let mut req: ImageRequest = unsafe { std::mem::zeroed() };
        req.op = op::SAMPLE;
        req.flags = flags;
        req.lanes = GRAPHICS_LANES as u32;
        req.mask = (rng.next() as u32
            | if rng.next().is_multiple_of(2) {
                0xff
            } else {
                0
            })
            & 0xff;
        req.coord_count = if arrayed { 3 } else { 2 };
        for l in 0..MAX_IMAGE_LANES {
            // Quads near one point, so implicit LODs vary but stay meaningful.
            let quad_seed = (l / 4) as f32;
            for d in 0..2 {
                let c = rng.float(-3.0, 4.0) * 0.05 + quad_seed * 0.3 + rng.float(-0.2, 0.2);
                req.coords[d][l] = c.to_bits();
            }
            req.coords[2][l] = rng.float(-1.0, 5.0).to_bits();
            req.lod[l] = rng.float(-2.0, 7.0).to_bits();
            req.min_lod[l] = rng.float(-1.0, 3.0);
            for d in 0..3 {
                req.ddx[d][l] = rng.float(-0.6, 0.6);
                req.ddy[d][l] = rng.float(-0.6, 0.6);
            }
        }
        req
    }

    fn states(rng: &mut Rng) -> impl Iterator<Item = SamplerState> + '_ {
        let filters = [Filter::Nearest, Filter::Linear];
        let mips = [MipmapMode::Nearest, MipmapMode::Linear];
        (0..32).map(move |i| SamplerState {
            mag_filter: filters[i & 1],
            min_filter: filters[i >> 1 & 1],
            mipmap_mode: mips[i >> 2 & 1],
            address_modes: [
                MODES[(i >> 3) & 3],
                MODES[rng.next() as usize % 4],
                MODES[0],
            ],
            mip_lod_bias: if i % 3 == 0 {
                0.0
            } else {
                rng.float(-2.0, 2.0)
            },
            compare: None,
            min_lod: if i % 5 == 0 { rng.float(0.0, 1.5) } else { 0.0 },
            max_lod: if i % 7 == 0 {
                rng.float(1.0, 3.0)
            } else {
                1000.0
            },
            border_color: BorderColor::FloatOpaqueBlack,
            unnormalized_coordinates: false,
        })
    }

    fn run_both(
        img: &ResolvedImage,
        smp: &ResolvedSampler,
        req: &ImageRequest,
    ) -> (bool, ImageResult, ImageResult) {
        let sentinel = ImageResult {
            texel: [[0xdead_beef; MAX_IMAGE_LANES]; 4],
        };
        let (mut fast, mut generic) = (sentinel, sentinel);
        let taken = try_sample(img, &smp.state, req, req.mask, &mut fast);
        super::super::helper::sample(img, smp, req, req.mask, &mut generic);
        (taken, fast, generic)
    }

    /// Checks `run_both`'s results: lanes of the request's mask within 1e-6 of the generic
    /// path, the others untouched (the sentinel). Returns how many values were compared.
    fn assert_agree(
        req: &ImageRequest,
        fast: &ImageResult,
        generic: &ImageResult,
        what: impl Fn() -> String,
    ) -> usize {
        let mut compared = 0;
        for l in 0..MAX_IMAGE_LANES {
            for c in 0..4 {
                let (f, g) = (fast.texel[c][l], generic.texel[c][l]);
                if req.mask >> l & 1 == 0 {
                    assert_eq!(f, 0xdead_beef, "{}: lane {l} outside the mask", what());
                    continue;
                }
                let (f, g) = (f32::from_bits(f), f32::from_bits(g));
                assert!(
                    (f - g).abs() <= 1e-6,
                    "{} lane {l} c {c}: fast {f} generic {g}",
                    what()
                );
                compared += 1;
            }
        }
        compared
    }

    #[test]
    fn fast_path_agrees_with_the_generic_path_on_random_requests() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let flag_sets = [
            image_flag::QUAD_DERIVATIVES,
            image_flag::QUAD_DERIVATIVES | image_flag::BIAS,
            image_flag::QUAD_DERIVATIVES | image_flag::MIN_LOD,
            image_flag::LOD,
            image_flag::GRAD,
            image_flag::GRAD | image_flag::BIAS | image_flag::MIN_LOD,
            0,
        ];
        let mut compared = 0;
        for case in cases() {
            let view = view_of(&case, &mut rng);
            let img = ResolvedImage::from_view(&view).unwrap();
            assert!(
                img.texels8.is_some(),
                "{:?} takes the fast path",
                case.format
            );
            let arrayed = case.layers > 1;
            let all_states: Vec<SamplerState> = states(&mut rng).collect();
            for state in all_states {
                let smp = ResolvedSampler::new(&Sampler::new(state).unwrap());
                for &flags in &flag_sets {
                    for _ in 0..4 {
                        let req = random_request(&mut rng, flags, arrayed);
                        let (taken, fast, generic) = run_both(&img, &smp, &req);
                        assert!(taken, "{state:?} flags {flags:#x}");
                        compared += assert_agree(&req, &fast, &generic, || {
                            format!("{:?} {state:?} flags {flags:#x}", case.format)
                        });
                    }
                }
            }
        }
        assert!(compared > 10_000, "{compared}");
    }

    #[test]
    fn requests_outside_the_fast_path_are_left_to_the_generic_path() {
        let mut rng = Rng(7);
        let view = view_of(&cases()[0], &mut rng);
        let img = ResolvedImage::from_view(&view).unwrap();
        let mut state = states(&mut rng).next().unwrap();
        let smp = ResolvedSampler::new(&Sampler::new(state).unwrap());
        let mut req = random_request(&mut rng, image_flag::QUAD_DERIVATIVES, false);
        req.mask = 0xff;
        for bad in [f32::NAN, f32::INFINITY, 1e9, -2000.0] {
            let mut r = req;
            r.coords[1][5] = bad.to_bits();
            assert!(!run_both(&img, &smp, &r).0, "{bad}");
        }
        let mut r = req;
        r.flags |= image_flag::OFFSET;
        assert!(!run_both(&img, &smp, &r).0);
        state.address_modes[1] = AddressMode::ClampToBorder;
        let border = ResolvedSampler::new(&Sampler::new(state).unwrap());
        assert!(!run_both(&img, &border, &req).0);
        // A swizzled view has no fast path.
        let mut swizzled = view.clone();
        swizzled.components[0] = ComponentSwizzle::B;
        assert!(ResolvedImage::from_view(&swizzled)
            .unwrap()
            .texels8
            .is_none());
    }

    /// A request like a draw's: 8 lanes of two 2×2 quads of adjacent pixels mapped onto the
    /// image by one affine map of `texels_per_pixel`, from a random origin.
    fn draw_like_request(rng: &mut Rng, extent: [u32; 2], texels_per_pixel: f32) -> ImageRequest {
        // SAFETY: `ImageRequest` is plain integers and floats; all-zero bits are valid.
        let mut req: ImageRequest = unsafe { std::mem::zeroed() };
        req.op = op::SAMPLE;
        req.flags = image_flag::QUAD_DERIVATIVES;
        req.lanes = GRAPHICS_LANES as u32;
        req.mask = 0xff;
        req.coord_count = 2;
        let origin = [rng.float(-2.0, 2.0), rng.float(-2.0, 2.0)];
        for l in 0..GRAPHICS_LANES {
            let (px, py) = shader::abi::FRAGMENT_LANE_OFFSETS[l];
            let pixel = [px as f32 + 0.5, py as f32 + 0.5];
            for d in 0..2 {
                let c = origin[d] + pixel[d] * texels_per_pixel / extent[d] as f32;
                req.coords[d][l] = c.to_bits();
            }
        }
        req
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn draw_like_requests_take_the_avx2_kernel_and_agree_with_the_generic_path() {
        if !has_avx2() {
            return;
        }
        let mut rng = Rng(0x5eed_0fa5);
        let mut kernel_chunks = 0;
        for case in cases().into_iter().filter(|c| c.layers == 1) {
            let view = view_of(&case, &mut rng);
            let img = ResolvedImage::from_view(&view).unwrap();
            let t = img.texels8.as_ref().unwrap();
            let all_states: Vec<SamplerState> = states(&mut rng).collect();
            for state in all_states {
                let [u, v, _] = state.address_modes;
                if !avx2::wraps(u, t.pow2) || !avx2::wraps(v, t.pow2) {
                    continue;
                }
                let smp = ResolvedSampler::new(&Sampler::new(state).unwrap());
                for scale in [0.3, 1.0, 1.7, 2.0, 3.1, 6.0] {
                    let req = draw_like_request(&mut rng, case.extent, scale);
                    let choices = level_choices(&img, &state, &req, req.mask);
                    let (x, y) = (
                        std::array::from_fn(|l| f32::from_bits(req.coords[0][l])),
                        std::array::from_fn(|l| f32::from_bits(req.coords[1][l])),
                    );
                    // SAFETY: the CPU has AVX2 and FMA (checked at the top).
                    let kernel = unsafe { uniform_chunk(t, &state, &choices, 0, 0xff, &x, &y) };
                    kernel_chunks += usize::from(kernel.is_some());
                    let (taken, fast, generic) = run_both(&img, &smp, &req);
                    assert!(taken);
                    assert_agree(&req, &fast, &generic, || {
                        format!("{:?} {state:?} ×{scale}", case.format)
                    });
                }
            }
        }
        // Affine maps give every quad the same λ: the kernel takes nearly all of them.
        assert!(kernel_chunks > 300, "{kernel_chunks}");
    }

    #[test]
    fn baseline_and_avx2_builds_agree() {
        if !has_avx2() {
            return;
        }
        let mut rng = Rng(0xfeed);
        for case in cases() {
            let view = view_of(&case, &mut rng);
            let img = ResolvedImage::from_view(&view).unwrap();
            let t = img.texels8.as_ref().unwrap();
            let all_states: Vec<SamplerState> = states(&mut rng).collect();
            for state in all_states {
                let req = random_request(&mut rng, image_flag::QUAD_DERIVATIVES, case.layers > 1);
                let choices = level_choices(&img, &state, &req, req.mask);
                let arrayed = case.layers > 1;
                let zero = ImageResult {
                    texel: [[0; MAX_IMAGE_LANES]; 4],
                };
                let (mut base, mut wide) = (zero, zero);
                sample_lanes::<false>(t, &state, &req, req.mask, &choices, arrayed, &mut base);
                // SAFETY: the CPU has AVX2 (checked at the top).
                unsafe {
                    sample_lanes_avx2(t, &state, &req, req.mask, &choices, arrayed, &mut wide)
                };
                for c in 0..4 {
                    for l in 0..MAX_IMAGE_LANES {
                        let (b, w) = (base.texel[c][l], wide.texel[c][l]);
                        let close = (f32::from_bits(b) - f32::from_bits(w)).abs() <= 1e-6;
                        assert!(b == w || close, "{state:?} lane {l} c {c}: {b:#x} {w:#x}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_load_stays_inside_the_view_whatever_the_lane_levels() {
        // Lane geometry for a level past the last (never chosen by the generic level choice)
        // still reads inside the view's bytes: loads clamp to `last`.
        let mut rng = Rng(99);
        let view = view_of(&cases()[4], &mut rng);
        let t = Texels8::from_view(&view).unwrap();
        let mut levels = LaneLevels::default();
        for l in 0..CHUNK {
            levels.set(l, &t, 40 + l as u32, 1000);
        }
        for l in 0..CHUNK {
            let at = levels.base[l].wrapping_add(texel_offset(
                t.tile_shift,
                levels.row_pitch[l],
                u32::MAX,
                u32::MAX,
            ));
            // Would be far outside; the load clamps it.
            let _ = t.load(at);
            assert!(at.min(t.last) as usize + 4 <= view.image.layout().size() as usize);
        }
    }

    /// The generic path's codes (rounded, memory byte order) for a row-major 4×2 block of
    /// lanes at (`u`, `v`).
    fn generic_codes(
        img: &ResolvedImage,
        smp: &ResolvedSampler,
        u: &[f32; CHUNK],
        v: &[f32; CHUNK],
    ) -> [[u8; 4]; CHUNK] {
        // SAFETY: `ImageRequest` is plain integers and floats; all-zero bits are valid.
        let mut req: ImageRequest = unsafe { std::mem::zeroed() };
        req.op = op::SAMPLE;
        req.flags = image_flag::QUAD_DERIVATIVES;
        req.lanes = CHUNK as u32;
        req.mask = 0xff;
        req.coord_count = 2;
        let order: [usize; CHUNK] = std::array::from_fn(|k| ROW_MAJOR_QUADS[k / 4][k % 4]);
        for (k, &l) in order.iter().enumerate() {
            req.coords[0][k] = u[l].to_bits();
            req.coords[1][k] = v[l].to_bits();
        }
        let mut out = ImageResult {
            texel: [[0; MAX_IMAGE_LANES]; 4],
        };
        super::super::helper::sample(img, smp, &req, req.mask, &mut out);
        let bgra = img.texels8.as_ref().is_some_and(|t| t.bgra);
        let bytes: [usize; 4] = if bgra { [2, 1, 0, 3] } else { [0, 1, 2, 3] };
        let mut codes = [[0u8; 4]; CHUNK];
        for (k, &l) in order.iter().enumerate() {
            for (byte, &c) in bytes.iter().enumerate() {
                let value = f32::from_bits(out.texel[c][k]);
                codes[l][byte] = (value.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
        codes
    }

    #[test]
    fn copy_sampler_codes_are_the_generic_paths_rounded_within_one() {
        let mut rng = Rng(0xc0b1_e5ed);
        let (mut blocks, mut values, mut off_by_one) = (0usize, 0usize, 0usize);
        let unorm = |c: &Case| matches!(c.format, Format::R8G8B8A8_UNORM | Format::B8G8R8A8_UNORM);
        for case in cases().into_iter().filter(|c| c.layers == 1 && unorm(c)) {
            let view = view_of(&case, &mut rng);
            let img = ResolvedImage::from_view(&view).unwrap();
            let all_states: Vec<SamplerState> = states(&mut rng).collect();
            for state in all_states {
                let smp = ResolvedSampler::new(&Sampler::new(state).unwrap());
                let Some(copy) = CopySampler::new(&img, &smp) else {
                    continue;
                };
                let mut cache = LodCache::default();
                let memory_order = Arrangement::new(
                    [0u8, 1, 2, 3].map(|b| {
                        OutByte::Component(if copy.bgra() {
                            [2, 1, 0, 3][usize::from(b)]
                        } else {
                            b
                        })
                    }),
                    copy.bgra(),
                );
                for k in 0..60 {
                    // Affine blocks (scaled, sheared, some rotated), blocks of unrelated
                    // lanes (quads with their own λ), and some outside the exact range.
                    let scale = [0.2, 0.9, 1.0, 2.3, 5.0][k % 5];
                    let [w, h] = case.extent.map(|e| e as f32);
                    let origin = [rng.float(-2.0, 3.0), rng.float(-2.0, 3.0)];
                    let shear = if k % 3 == 0 {
                        rng.float(-0.7, 0.7)
                    } else {
                        0.0
                    };
                    let (mut u, mut v) = ([0f32; CHUNK], [0f32; CHUNK]);
                    for l in 0..CHUNK {
                        let (px, py) = ((l % 4) as f32 + 0.5, (l / 4) as f32 + 0.5);
                        u[l] = origin[0] + (px + shear * py) * scale / w;
                        v[l] = origin[1] + (py - shear * px) * scale / h;
                        if k % 7 == 6 {
                            u[l] = rng.float(-3.0, 4.0);
                            v[l] = rng.float(-3.0, 4.0);
                        }
                    }
                    if k % 11 == 10 {
                        u[3] = 4096.0;
                        v[5] = f32::NAN;
                    }
                    let got = copy.block(&u, &v, &ROW_MAJOR_QUADS, &mut cache, &memory_order);
                    let want = generic_codes(&img, &smp, &u, &v);
                    for l in 0..CHUNK {
                        let bytes = got[l].to_le_bytes();
                        for c in 0..4 {
                            let diff = (i32::from(bytes[c]) - i32::from(want[l][c])).abs();
                            assert!(
                                diff <= 1,
                                "{:?} {state:?} lane {l} channel {c}: {} vs {} (u {u:?} v {v:?})",
                                case.format,
                                bytes[c],
                                want[l][c]
                            );
                            off_by_one += diff as usize;
                            values += 1;
                        }
                    }
                    blocks += 1;
                }
            }
        }
        assert!(blocks > 1000, "{blocks}");
        // Only values within 3/128 of a half code may round the other way.
        assert!(off_by_one * 50 < values, "{off_by_one} of {values}");
    }

    #[test]
    fn arrangements_pick_components_and_constants_for_either_byte_order() {
        let bytes = [
            OutByte::Component(2),
            OutByte::Constant(7),
            OutByte::Component(0),
            OutByte::Component(3),
        ];
        // R = 1, G = 2, B = 3, A = 4 in memory order.
        let rgba = u32::from_le_bytes([1, 2, 3, 4]);
        let bgra = u32::from_le_bytes([3, 2, 1, 4]);
        let want = u32::from_le_bytes([3, 7, 1, 4]);
        assert_eq!(Arrangement::new(bytes, false).apply(rgba), want);
        assert_eq!(Arrangement::new(bytes, true).apply(bgra), want);
    }

    #[test]
    fn copy_sampler_refuses_what_its_kernel_does_not_take() {
        let mut rng = Rng(7);
        let all = cases();
        let srgb = view_of(&all[2], &mut rng);
        let arrayed = view_of(&all[4], &mut rng);
        let npot = view_of(&all[1], &mut rng);
        let plain = view_of(&all[0], &mut rng);
        let state = |modes: [AddressMode; 2]| SamplerState {
            mag_filter: Filter::Linear,
            min_filter: Filter::Linear,
            mipmap_mode: crate::sampler::MipmapMode::Linear,
            address_modes: [modes[0], modes[1], AddressMode::Repeat],
            mip_lod_bias: 0.0,
            compare: None,
            min_lod: 0.0,
            max_lod: 1000.0,
            border_color: BorderColor::FloatOpaqueBlack,
            unnormalized_coordinates: false,
        };
        let takes = |view: &ImageView, s: SamplerState| {
            let img = ResolvedImage::from_view(view).unwrap();
            let smp = ResolvedSampler::new(&Sampler::new(s).unwrap());
            CopySampler::new(&img, &smp).is_some()
        };
        let clamp = [AddressMode::ClampToEdge; 2];
        assert_eq!(takes(&plain, state(clamp)), has_avx2());
        assert!(!takes(&srgb, state(clamp)));
        assert!(!takes(&arrayed, state(clamp)));
        assert!(!takes(
            &npot,
            state([AddressMode::Repeat, AddressMode::ClampToEdge])
        ));
        assert_eq!(takes(&npot, state(clamp)), has_avx2());
        let border = [AddressMode::ClampToBorder, AddressMode::ClampToEdge];
        assert!(!takes(&plain, state(border)));
        let mut compare = state(clamp);
        compare.compare = Some(crate::output::CompareOp::Less);
        assert!(!takes(&plain, compare));
    }

    #[test]
    fn separable_rectangles_give_what_the_general_loop_gives() {
        let mut rng = Rng(0x5e9a_7ab1);
        let unorm = |c: &Case| matches!(c.format, Format::R8G8B8A8_UNORM | Format::B8G8R8A8_UNORM);
        let mut rects = 0;
        for case in cases().into_iter().filter(|c| c.layers == 1 && unorm(c)) {
            let view = view_of(&case, &mut rng);
            let img = ResolvedImage::from_view(&view).unwrap();
            let all_states: Vec<SamplerState> = states(&mut rng).collect();
            for state in all_states {
                let smp = ResolvedSampler::new(&Sampler::new(state).unwrap());
                let Some(copy) = CopySampler::new(&img, &smp) else {
                    continue;
                };
                let order = Arrangement::new(
                    [
                        OutByte::Component(0),
                        OutByte::Component(1),
                        OutByte::Constant(9),
                        OutByte::Component(3),
                    ],
                    copy.bgra(),
                );
                for k in 0..6 {
                    let x0 = 4 * (rng.next() % 8) as u32 + 64;
                    let y0 = 2 * (rng.next() % 16) as u32;
                    let x1 = x0 + 4 * (1 + (rng.next() % 14) as u32);
                    let y1 = y0 + 2 * (1 + (rng.next() % 16) as u32);
                    let scale = [0.3, 1.0, 2.2][k % 3];
                    let [w, h] = case.extent.map(|e| e as f32);
                    let (su, sv) = (
                        scale / w * rng.float(0.5, 1.5),
                        scale / h * rng.float(0.5, 1.5),
                    );
                    let (ou, ov) = (rng.float(-3.0, 2.0), rng.float(-3.0, 2.0));
                    let mut coords = |x: &Lanes, y: &Lanes, u: &mut Lanes, v: &mut Lanes| {
                        for l in 0..x.len() {
                            u[l] = x[l] * su + ou;
                            v[l] = y[l] * sv + ov;
                        }
                    };
                    let area = [x0, x1, y0, y1];
                    let mut run = |separable: bool| {
                        let mut rows = Vec::new();
                        copy.rect(area, &order, separable, &mut coords, &mut |y, texels| {
                            rows.push((y, texels.to_vec()));
                        });
                        rows
                    };
                    let (fast, general) = (run(true), run(false));
                    assert_eq!(fast.len() as u32, (y1 - y0) / 2);
                    assert_eq!(fast, general, "{:?} {state:?} {area:?}", case.format);
                    rects += 1;
                }
            }
        }
        assert!(rects > 200, "{rects}");
    }
}
