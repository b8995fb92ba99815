//! The colour path of the output merger on a whole 4×2 block at once: the 8 pixels as
//! `[f32; 8]` per component (so the compiler vectorizes), unpacked and packed by a
//! [`ColorCodec`] chosen once per draw, blended by [`blend_block`] with the factors and ops
//! matched once per component rather than per pixel.
//!
//! 8-bit UNORM RGBA / BGRA attachments have a kernel of their own in AVX2 + FMA intrinsics
//! ([`BlockShading::shade_unorm8`]): unpack, blend, pack, write mask and coverage merge on the
//! block's 8 lanes in registers, the texels read and stored as two 16-byte rows.
//!
//! Blending into those attachments runs in 8-bit fixed point instead where the blend state
//! allows ([`BlockShading::blend_unorm8_run`], [`unorm8_fixed`]): a whole run per call,
//! within 1 LSB of the f32 path rather than bit-exact with it.
//!
//! Otherwise bit-exact with the per-texel path ([`super::blend::blend`], `pack_color`, `unpack_color`):
//! the same f32 operations in the same order, the same conversion functions.

use crate::format::convert::{self, f16_to_f32, f32_to_f16};
use crate::format::{Format, NumericClass};
use crate::image::{BlockAccess, BlockSpan, BLOCK_TEXELS};

use crate::raster::{lane_offset, LANES};

use super::blend::{canonical_nan, clamp_one};
use super::state::{BlendFactor, BlendOp, BlendState};
use super::FragmentOutputs;

/// The block pixel (`x + 4·y` from the block's corner) of each rasterizer lane.
pub(super) const LANE_PIXEL: [usize; LANES] = {
    let mut out = [0; LANES];
    let mut lane = 0;
    while lane < LANES {
        let (dx, dy) = lane_offset(lane);
        out[lane] = (dx + 4 * dy) as usize;
        lane += 1;
    }
    out
};

/// The lane of each block pixel (the inverse of [`LANE_PIXEL`]).
pub(super) const PIXEL_LANE: [usize; BLOCK_TEXELS] = {
    let mut out = [0; BLOCK_TEXELS];
    let mut lane = 0;
    while lane < LANES {
        out[LANE_PIXEL[lane]] = lane;
        lane += 1;
    }
    out
};

/// What the block path needs of one colour attachment with a fast [`ColorCodec`], fixed for
/// the draw.
#[derive(Clone, Copy, Debug)]
pub(super) struct BlockShading {
    pub codec: ColorCodec,
    pub class: NumericClass,
    pub blend: BlendState,
    /// Blending enabled (and the format blendable).
    pub blending: bool,
    /// Blend constants clamped for `class`.
    pub constants: [f32; 4],
    /// The CPU has AVX2: the kernel runs in its AVX2 build (8 f32 per instruction).
    avx2: bool,
    /// 8-bit UNORM on a CPU with AVX2 and FMA: [`Self::shade_unorm8`] serves the attachment.
    wide: bool,
    /// `wide`, blending, and a blend state with a fixed-point form: [`Self::blend_unorm8_run`]
    /// serves the attachment.
    fixed: Option<FixedBlend>,
    /// Runs whose source is one colour take the once-per-run path (tests turn it off to
    /// compare the two).
    uniform_runs: bool,
}

impl BlockShading {
    pub(super) fn new(
        codec: ColorCodec,
        class: NumericClass,
        blend: BlendState,
        blending: bool,
        constants: [f32; 4],
    ) -> BlockShading {
        #[cfg(target_arch = "x86_64")]
        let avx2 = std::arch::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        #[cfg(target_arch = "x86_64")]
        let fma = std::arch::is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let fma = false;
        let wide =
            avx2 && fma && matches!(codec, ColorCodec::Unorm8(_)) && class == NumericClass::Unorm;
        let fixed = match codec {
            ColorCodec::Unorm8(order) if wide && blending => {
                FixedBlend::new(&blend, order, &constants)
            }
            _ => None,
        };
        BlockShading {
            codec,
            class,
            blend,
            blending,
            constants,
            avx2,
            wide,
            fixed,
            uniform_runs: true,
        }
    }

    /// Blends the `live` blocks (`live[i]` for block `i` of `span`) of colour attachment
    /// `index` (the source words in `outputs[i]`) in 8-bit fixed point and stores them,
    /// keeping the bits outside `byte_mask` (the write mask over a packed texel) and the
    /// pixels outside `live`. Returns the blocks it could not read or store (bit `i`) for
    /// the caller's fallback, or `None` (nothing done) where the fixed-point path does not
    /// serve this attachment. Within 1 LSB of [`Self::shade`] for 8-bit sources; see
    /// [`unorm8_fixed`] for the rule.
    #[inline]
    pub(super) fn blend_unorm8_run(
        &self,
        span: &BlockSpan<'_>,
        live: &[u8],
        outputs: &[FragmentOutputs],
        index: usize,
        byte_mask: u32,
    ) -> Option<u32> {
        let fixed = self.fixed.as_ref()?;
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: `fixed` is set only where `wide` is, which holds only where the running
            // CPU reports AVX2 and FMA (`new`).
            let run = unsafe { unorm8_fixed_avx2::FixedRun::new(fixed, byte_mask) };
            // SAFETY: as above.
            let left = unsafe { run.write(span, live, outputs, index, self.uniform_runs) };
            Some(left)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (fixed, span, live, outputs, index, byte_mask);
            None
        }
    }

    /// The 8-bit UNORM texel (bytes in memory order) of the shader output `words` for an
    /// attachment with the [`ColorCodec::Unorm8`] codec, as the block paths pack it; `None`
    /// for other codecs.
    pub(super) fn unorm8_texel(&self, words: [u32; 4]) -> Option<[u8; 4]> {
        let ColorCodec::Unorm8(order) = self.codec else {
            return None;
        };
        if self.class != NumericClass::Unorm {
            return None;
        }
        // Built in a register: four byte stores read back as one word would stall.
        let mut texel = 0u32;
        for (c, &at) in order.iter().enumerate() {
            if at >= 4 {
                return None;
            }
            texel |= u32::from(float_to_unorm8(f32::from_bits(words[c]))) << (8 * at);
        }
        Some(texel.to_le_bytes())
    }

    /// Whether [`Self::blend_unorm8_rect`] serves this attachment (the fixed-point blend, in
    /// its AVX2 build).
    pub(super) fn blends_rects(&self) -> bool {
        cfg!(target_arch = "x86_64") && self.fixed.is_some()
    }

    /// The packed source texel [`Self::blend_unorm8_rect`] takes for the shader output
    /// `words`, where it serves this attachment.
    pub(super) fn unorm8_rect_texel(&self, words: [u32; 4]) -> Option<u32> {
        let fixed = self.fixed.as_ref().filter(|_| self.blends_rects())?;
        Some(fixed.pack_texel(words))
    }

    /// [`Self::blend_unorm8_run`] of one source colour (`texel`, from
    /// [`Self::unorm8_rect_texel`]) over every block of the block-aligned rectangle `area`
    /// (`[x0, x1, y0, y1]`) of `access`: false, with nothing written, where the fixed-point
    /// path does not serve this attachment or a block row of the rectangle is not a whole
    /// span.
    pub(super) fn blend_unorm8_rect(
        &self,
        access: &BlockAccess,
        area: [u32; 4],
        texel: u32,
        byte_mask: u32,
    ) -> bool {
        let Some(fixed) = self.fixed.as_ref() else {
            return false;
        };
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: `fixed` is set only where `wide` is, which holds only where the running
            // CPU reports AVX2 and FMA (`new`).
            let run = unsafe { unorm8_fixed_avx2::FixedRun::new(fixed, byte_mask) };
            // SAFETY: as above.
            unsafe { run.write_rect(access, area, texel) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (fixed, access, area, texel, byte_mask);
            false
        }
    }

    /// This shading with every run's source converted pixel by pixel (tests compare the
    /// once-per-run path with it).
    #[cfg(test)]
    pub(super) fn without_uniform_runs(mut self) -> Self {
        self.uniform_runs = false;
        self
    }

    /// Whether [`Self::shade_unorm8`] serves this attachment.
    pub(super) fn wide(&self) -> bool {
        self.wide
    }

    /// This shading without the 8-bit UNORM kernel (tests compare the two); `plain` also
    /// without the AVX2 build of the block path.
    #[cfg(test)]
    pub(super) fn narrow(mut self, plain: bool) -> Self {
        self.wide = false;
        self.fixed = None;
        if plain {
            self.avx2 = false;
        }
        self
    }

    /// An 8-bit UNORM block in one go: the packed texels (two rows of 4) of the shader's
    /// outputs `words` (by lane), blended over `old` (the block's rows, read when blending
    /// or `merge`). With `merge` the result keeps `old`'s bits outside `byte_mask` (the write
    /// mask over a packed texel) and in the pixels of lanes outside `live`, so that it can be
    /// stored whole; without it (no blending, full write mask, every lane live) `old` is not
    /// read. The same bits as [`Self::shade`] followed by the sink's masking. `None` where
    /// [`Self::wide`] is false.
    #[inline(always)]
    pub(super) fn shade_unorm8(
        &self,
        words: &[[u32; LANES]; 4],
        old: [[u8; 16]; 2],
        merge: bool,
        live: u8,
        byte_mask: u32,
    ) -> Option<[[u8; 16]; 2]> {
        let ColorCodec::Unorm8(order) = self.codec else {
            return None;
        };
        if !self.wide {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        {
            let kernel = unorm8_avx2::Unorm8Block {
                order,
                blend: &self.blend,
                blending: self.blending,
                constants: &self.constants,
                byte_mask,
            };
            // SAFETY: `wide` is set only where the running CPU reports AVX2 and FMA (`new`).
            Some(unsafe { kernel.shade(words, old, merge, live) })
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (order, words, old, merge, live, byte_mask);
            None
        }
    }

    /// The packed texels (into `new`, 8 texels pixel-major) of the shader's outputs `words`
    /// (by lane), blended over `old` (the block's texels; read only when blending).
    #[inline]
    pub(super) fn shade(&self, words: &[[u32; LANES]; 4], old: &[u8], new: &mut [u8]) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only where the running CPU reports AVX2 (`new`).
            return unsafe { self.shade_avx2(words, old, new) };
        }
        self.shade_portable(words, old, new);
    }

    /// [`Self::shade`] compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn shade_avx2(&self, words: &[[u32; LANES]; 4], old: &[u8], new: &mut [u8]) {
        self.shade_portable(words, old, new);
    }

    #[inline(always)]
    fn shade_portable(&self, words: &[[u32; LANES]; 4], old: &[u8], new: &mut [u8]) {
        let mut src: Rgba = [[0.0; BLOCK_TEXELS]; 4];
        for (c, component) in src.iter_mut().enumerate() {
            for (p, value) in component.iter_mut().enumerate() {
                *value = f32::from_bits(words[c][PIXEL_LANE[p]]);
            }
        }
        let value = if self.blending {
            let dst = clamp_block(self.class, &self.codec.unpack(old));
            let src = clamp_block(self.class, &src);
            blend_block(&self.blend, self.class, &src, &dst, &self.constants)
        } else {
            src
        };
        self.codec.pack(&value, new);
    }
}

#[cfg(target_arch = "x86_64")]
mod unorm8_avx2;
mod unorm8_fixed;
#[cfg(target_arch = "x86_64")]
mod unorm8_fixed_avx2;

use unorm8_fixed::FixedBlend;

/// One component of the block's 8 pixels (pixel-major order, see [`crate::image::block`]).
pub(super) type Lanes = [f32; BLOCK_TEXELS];
/// R, G, B, A of the block's pixels.
pub(super) type Rgba = [Lanes; 4];

/// How a colour attachment's texels are unpacked and packed, chosen once per draw. Formats
/// without a fast codec go texel by texel through `pack_color` / `unpack_color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ColorCodec {
    /// 8-bit UNORM RGBA or BGRA: the byte of R, G, B and A in the texel.
    Unorm8([usize; 4]),
    /// 8-bit sRGB RGBA or BGRA (R, G, B through the sRGB transfer function, A linear).
    Srgb8([usize; 4]),
    /// R32G32B32A32_SFLOAT.
    Float32x4,
    /// R16G16B16A16_SFLOAT.
    Float16x4,
    Generic,
}

/// `float_to_unorm(v, 8)`, with the final conversion written as a signed one (the value is
/// in [0.5, 255.5] there) so that it vectorizes: x86 has no vector f64 → u32 conversion
/// before AVX-512.
#[inline(always)]
// `clamp` keeps NaN; `max` then `min` map it to 0, as `float_to_unorm` does.
#[allow(clippy::manual_clamp)]
fn float_to_unorm8(v: f32) -> u8 {
    // `max` and `min` give the non-NaN operand: NaN → 0, the rest clamped to [0, 1] — the
    // same as `float_to_unorm`'s test and clamp, without a branch per value.
    let v = f64::from(v).max(0.0).min(1.0);
    let scaled = v * 255.0 + 0.5;
    // SAFETY: `v` is in [0, 1], so `scaled` is finite and in [0.5, 255.5]: its truncation
    // fits an i32 (the plain `as` would add saturation code that keeps this scalar).
    unsafe { scaled.to_int_unchecked::<i32>() as u8 }
}

/// The sRGB conversions of 8-bit codes as tables: decoding is one lookup; encoding finds the
/// code by binary search in the thresholds, the smallest f32 reaching each code.
struct Srgb8Tables {
    /// `srgb_to_linear(unorm_to_float(code, 8))` per code.
    decode: [f32; 256],
    /// `thresholds[c]` (c ≥ 1): the smallest f32 in [0, 1] that `srgb8_code` maps to ≥ c;
    /// `thresholds[0]` is 0.
    thresholds: [f32; 256],
}

/// `float_to_unorm(linear_to_srgb(v), 8)`: the sRGB encoding the format table does.
fn srgb8_code(v: f32) -> u32 {
    convert::float_to_unorm(convert::linear_to_srgb(v), 8)
}

fn srgb8_tables() -> &'static Srgb8Tables {
    static TABLES: std::sync::OnceLock<Srgb8Tables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let decode = std::array::from_fn(|code| {
            convert::srgb_to_linear(convert::unorm_to_float(code as u32, 8))
        });
        // The encoding is monotonic in v (a test checks every f32 in [0, 1]), so each
        // threshold is found by bisection over the bit patterns of [0, 1], which order as
        // the values do.
        let thresholds = std::array::from_fn(|code| {
            let (mut lo, mut hi) = (0u32, 1.0f32.to_bits());
            if code == 0 {
                return 0.0;
            }
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if srgb8_code(f32::from_bits(mid)) >= code as u32 {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            f32::from_bits(lo)
        });
        Srgb8Tables { decode, thresholds }
    })
}

impl Srgb8Tables {
    /// [`srgb8_code`] of `v`: the number of codes ≥ 1 whose threshold `v` reaches (NaN and
    /// values ≤ 0 reach none, values ≥ 1 all 255).
    #[inline(always)]
    fn encode(&self, v: f32) -> u8 {
        let mut code = 0usize;
        let mut step = 128;
        while step > 0 {
            if v >= self.thresholds[code + step] {
                code += step;
            }
            step /= 2;
        }
        // `code` ≤ 255: the steps sum to 255.
        code as u8
    }
}

/// `unorm_to_float(code, 8)`, as one f32 division: the correctly rounded quotient, which is
/// what the f64 division rounded to f32 gives for every 8-bit code (a test checks all 256).
#[inline(always)]
fn unorm8_to_float(code: u8) -> f32 {
    f32::from(code) / 255.0
}

impl ColorCodec {
    pub(super) fn for_format(format: Format) -> ColorCodec {
        match format {
            Format::R8G8B8A8_UNORM => ColorCodec::Unorm8([0, 1, 2, 3]),
            Format::B8G8R8A8_UNORM => ColorCodec::Unorm8([2, 1, 0, 3]),
            Format::R8G8B8A8_SRGB => ColorCodec::Srgb8([0, 1, 2, 3]),
            Format::B8G8R8A8_SRGB => ColorCodec::Srgb8([2, 1, 0, 3]),
            Format::R32G32B32A32_SFLOAT => ColorCodec::Float32x4,
            Format::R16G16B16A16_SFLOAT => ColorCodec::Float16x4,
            _ => ColorCodec::Generic,
        }
    }

    /// The block's values from its packed texels (`block` is 8 texels, pixel-major).
    /// `Generic` gives zeros: callers go texel by texel for it.
    #[inline(always)]
    pub(super) fn unpack(self, block: &[u8]) -> Rgba {
        let mut out = [[0.0; BLOCK_TEXELS]; 4];
        match self {
            ColorCodec::Unorm8(order) => {
                let Some(block) = block.first_chunk::<{ 4 * BLOCK_TEXELS }>() else {
                    return out;
                };
                let mut words = [0u32; BLOCK_TEXELS];
                for (w, texel) in words.iter_mut().zip(block.chunks_exact(4)) {
                    *w = u32::from_le_bytes([texel[0], texel[1], texel[2], texel[3]]);
                }
                for (c, &at) in order.iter().enumerate() {
                    for (o, &w) in out[c].iter_mut().zip(&words) {
                        *o = unorm8_to_float((w >> (8 * at)) as u8);
                    }
                }
            }
            ColorCodec::Srgb8(order) => {
                let Some(block) = block.first_chunk::<{ 4 * BLOCK_TEXELS }>() else {
                    return out;
                };
                let decode = &srgb8_tables().decode;
                for (c, &at) in order.iter().enumerate() {
                    for (o, texel) in out[c].iter_mut().zip(block.chunks_exact(4)) {
                        let code = texel[at];
                        *o = if c == 3 {
                            unorm8_to_float(code)
                        } else {
                            decode[usize::from(code)]
                        };
                    }
                }
            }
            ColorCodec::Float32x4 => {
                for (p, texel) in block.chunks_exact(16).take(BLOCK_TEXELS).enumerate() {
                    for (c, word) in texel.chunks_exact(4).enumerate() {
                        out[c][p] = f32::from_le_bytes([word[0], word[1], word[2], word[3]]);
                    }
                }
            }
            ColorCodec::Float16x4 => {
                for (p, texel) in block.chunks_exact(8).take(BLOCK_TEXELS).enumerate() {
                    for (c, half) in texel.chunks_exact(2).enumerate() {
                        out[c][p] = f16_to_f32(u16::from_le_bytes([half[0], half[1]]));
                    }
                }
            }
            ColorCodec::Generic => {}
        }
        out
    }

    /// Packs `value` into `block` (8 texels, pixel-major). `Generic` writes nothing.
    #[inline(always)]
    pub(super) fn pack(self, value: &Rgba, block: &mut [u8]) {
        match self {
            ColorCodec::Unorm8(order) => {
                let Some(block) = block.first_chunk_mut::<{ 4 * BLOCK_TEXELS }>() else {
                    return;
                };
                let mut words = [0u32; BLOCK_TEXELS];
                for (c, &at) in order.iter().enumerate() {
                    for (w, &v) in words.iter_mut().zip(&value[c]) {
                        *w |= u32::from(float_to_unorm8(v)) << (8 * at);
                    }
                }
                for (texel, w) in block.chunks_exact_mut(4).zip(words) {
                    texel.copy_from_slice(&w.to_le_bytes());
                }
            }
            ColorCodec::Srgb8(order) => {
                let Some(block) = block.first_chunk_mut::<{ 4 * BLOCK_TEXELS }>() else {
                    return;
                };
                let tables = srgb8_tables();
                for (c, &at) in order.iter().enumerate() {
                    for (texel, &v) in block.chunks_exact_mut(4).zip(&value[c]) {
                        texel[at] = if c == 3 {
                            float_to_unorm8(v)
                        } else {
                            tables.encode(v)
                        };
                    }
                }
            }
            ColorCodec::Float32x4 => {
                for (p, texel) in block.chunks_exact_mut(16).take(BLOCK_TEXELS).enumerate() {
                    for (c, word) in texel.chunks_exact_mut(4).enumerate() {
                        word.copy_from_slice(&value[c][p].to_le_bytes());
                    }
                }
            }
            ColorCodec::Float16x4 => {
                for (p, texel) in block.chunks_exact_mut(8).take(BLOCK_TEXELS).enumerate() {
                    for (c, half) in texel.chunks_exact_mut(2).enumerate() {
                        half.copy_from_slice(&f32_to_f16(value[c][p]).to_le_bytes());
                    }
                }
            }
            ColorCodec::Generic => {}
        }
    }
}

/// [`super::blend::clamp_for`] of a whole block.
#[inline(always)]
pub(super) fn clamp_block(class: NumericClass, v: &Rgba) -> Rgba {
    let mut out = *v;
    clamp_lanes(class, out.as_flattened_mut());
    out
}

/// [`clamp_one`] of every value, with the class matched once.
#[inline(always)]
fn clamp_lanes(class: NumericClass, values: &mut [f32]) {
    let (lo, hi) = match class {
        NumericClass::Unorm | NumericClass::Srgb => (0.0, 1.0),
        NumericClass::Snorm => (-1.0, 1.0),
        _ => return,
    };
    debug_assert_eq!(clamp_one(class, 2.0), hi);
    for v in values {
        *v = v.clamp(lo, hi);
    }
}

/// Factor `f` for component `i` of every pixel, clamped for `class`
/// (as `super::blend::blend` computes it per pixel).
#[inline(always)]
fn factor_block<const N: usize>(
    f: BlendFactor,
    i: usize,
    class: NumericClass,
    src: &[[f32; N]; 4],
    dst: &[[f32; N]; 4],
    constants: &[f32; 4],
) -> [f32; N] {
    let one_minus = |x: &[f32; N]| -> [f32; N] {
        let mut out = [0.0; N];
        for (o, &v) in out.iter_mut().zip(x) {
            *o = 1.0 - v;
        }
        out
    };
    let mut v: [f32; N] = match f {
        BlendFactor::Zero => [0.0; N],
        BlendFactor::One => [1.0; N],
        BlendFactor::SrcColor => src[i],
        BlendFactor::OneMinusSrcColor => one_minus(&src[i]),
        BlendFactor::DstColor => dst[i],
        BlendFactor::OneMinusDstColor => one_minus(&dst[i]),
        BlendFactor::SrcAlpha => src[3],
        BlendFactor::OneMinusSrcAlpha => one_minus(&src[3]),
        BlendFactor::DstAlpha => dst[3],
        BlendFactor::OneMinusDstAlpha => one_minus(&dst[3]),
        BlendFactor::ConstantColor => [constants[i]; N],
        BlendFactor::OneMinusConstantColor => [1.0 - constants[i]; N],
        BlendFactor::ConstantAlpha => [constants[3]; N],
        BlendFactor::OneMinusConstantAlpha => [1.0 - constants[3]; N],
        BlendFactor::SrcAlphaSaturate if i == 3 => [1.0; N],
        BlendFactor::SrcAlphaSaturate => {
            let mut out = one_minus(&dst[3]);
            for (o, &s) in out.iter_mut().zip(&src[3]) {
                *o = s.min(*o);
            }
            out
        }
        // Refused when the sink is built; zero keeps this total (as the per-pixel path).
        BlendFactor::Src1Color
        | BlendFactor::OneMinusSrc1Color
        | BlendFactor::Src1Alpha
        | BlendFactor::OneMinusSrc1Alpha => [0.0; N],
    };
    clamp_lanes(class, &mut v);
    v
}

/// `super::blend::blend` for every pixel of the block (or of `N` pixels); `src`, `dst` and
/// `constants` already clamped for `class`.
#[inline(always)]
pub(super) fn blend_block<const N: usize>(
    state: &BlendState,
    class: NumericClass,
    src: &[[f32; N]; 4],
    dst: &[[f32; N]; 4],
    constants: &[f32; 4],
) -> [[f32; N]; 4] {
    let mut out = [[0.0; N]; 4];
    for (i, value) in out.iter_mut().enumerate() {
        let (sf, df, op) = if i == 3 {
            (state.src_alpha, state.dst_alpha, state.alpha_op)
        } else {
            (state.src_color, state.dst_color, state.color_op)
        };
        let (s, d) = (&src[i], &dst[i]);
        match op {
            BlendOp::Min => {
                for p in 0..N {
                    value[p] = canonical_nan(s[p].min(d[p]));
                }
            }
            BlendOp::Max => {
                for p in 0..N {
                    value[p] = canonical_nan(s[p].max(d[p]));
                }
            }
            BlendOp::Add | BlendOp::Subtract | BlendOp::ReverseSubtract => {
                let sf = factor_block(sf, i, class, src, dst, constants);
                let df = factor_block(df, i, class, src, dst, constants);
                for p in 0..N {
                    let (a, b) = (s[p] * sf[p], d[p] * df[p]);
                    value[p] = canonical_nan(match op {
                        BlendOp::Subtract => a - b,
                        BlendOp::ReverseSubtract => b - a,
                        _ => a + b,
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::blend::{blend, clamp_for};
    use super::*;
    use crate::format::{pack_color, unpack_color, ColorValue};

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
        }
        fn value(&mut self) -> f32 {
            const SPECIALS: [f32; 8] = [
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                -0.0,
                1.0,
                0.5 / 255.0,
                65520.0,
                -1.5,
            ];
            match self.next() % 8 {
                0 => SPECIALS[(self.next() % 8) as usize],
                _ => (self.next() % 3000) as f32 / 1000.0 - 1.0,
            }
        }
    }

    const CODECS: [(Format, usize); 6] = [
        (Format::R8G8B8A8_UNORM, 4),
        (Format::B8G8R8A8_UNORM, 4),
        (Format::R8G8B8A8_SRGB, 4),
        (Format::B8G8R8A8_SRGB, 4),
        (Format::R32G32B32A32_SFLOAT, 16),
        (Format::R16G16B16A16_SFLOAT, 8),
    ];

    #[test]
    fn one_f32_division_decodes_every_unorm8_code_as_the_f64_conversion_does() {
        for code in 0..=255u8 {
            let want = crate::format::convert::unorm_to_float(u32::from(code), 8);
            assert_eq!(
                unorm8_to_float(code).to_bits(),
                want.to_bits(),
                "code {code}"
            );
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_unorm8_vector_conversions_match_the_scalar_ones_at_every_code_and_edge() {
        if !(std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma"))
        {
            return;
        }
        let mut rng = Rng(5);
        let edges = (0..=255).flat_map(|k| {
            let mid = (k as f32 + 0.5) / 255.0;
            (0..8).flat_map(move |d| {
                [
                    f32::from_bits(mid.to_bits() - d),
                    f32::from_bits(mid.to_bits() + d),
                ]
            })
        });
        let specials = [
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            1e-40,
            1.0,
        ];
        let random = (0..100_000).map(|_| f32::from_bits(rng.next()));
        let values: Vec<f32> = edges.chain(specials).chain(random).collect();
        for (chunk, codes) in values.chunks(8).zip((0..=255).cycle().step_by(8)) {
            let mut v = [0.0f32; 8];
            v[..chunk.len()].copy_from_slice(chunk);
            let c: [i32; 8] = std::array::from_fn(|i| (codes + i as i32) % 256);
            // SAFETY: AVX2 and FMA checked above.
            let (decoded, encoded) = unsafe { unorm8_avx2::convert_for_test(c, v) };
            for i in 0..8 {
                assert_eq!(encoded[i], i32::from(float_to_unorm8(v[i])), "{:e}", v[i]);
                assert_eq!(decoded[i].to_bits(), unorm8_to_float(c[i] as u8).to_bits());
            }
        }
    }

    #[test]
    fn the_vectorizable_unorm8_encoder_matches_float_to_unorm() {
        let mut rng = Rng(77);
        let edges = (0..=255).flat_map(|k| {
            let mid = (k as f32 + 0.5) / 255.0;
            [
                mid,
                f32::from_bits(mid.to_bits() - 1),
                f32::from_bits(mid.to_bits() + 1),
            ]
        });
        let specials = [
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            1e-40,
        ];
        let random = (0..100_000).map(|_| f32::from_bits(rng.next()));
        for v in edges.chain(specials).chain(random) {
            let want = crate::format::convert::float_to_unorm(v, 8);
            assert_eq!(u32::from(float_to_unorm8(v)), want, "{v:e}");
        }
    }

    #[test]
    fn srgb_encoding_by_thresholds_matches_the_transfer_function_near_every_code() {
        let tables = srgb8_tables();
        let mut rng = Rng(99);
        let near = tables.thresholds.iter().flat_map(|t| {
            let b = t.to_bits();
            (b.saturating_sub(3)..b + 3).map(f32::from_bits)
        });
        let specials = [f32::NAN, -1.0, -0.0, 0.0, 1.0, 2.0, f32::INFINITY, 1e-30];
        let random = (0..200_000).map(|_| (rng.next() >> 8) as f32 / (1 << 24) as f32);
        for v in near.chain(specials).chain(random) {
            assert_eq!(u32::from(tables.encode(v)), srgb8_code(v), "{v:e}");
        }
    }

    /// Every f32 in [0, 1] (about 10⁹ values): the thresholds rest on the encoding being
    /// monotonic. Slow; run with `--ignored` after changing the conversions.
    #[test]
    #[ignore]
    fn srgb_encoding_by_thresholds_matches_for_every_f32_in_the_unit_interval() {
        let tables = srgb8_tables();
        for bits in 0..=1.0f32.to_bits() {
            let v = f32::from_bits(bits);
            assert_eq!(u32::from(tables.encode(v)), srgb8_code(v), "{v:e}");
        }
    }

    #[test]
    fn codecs_pack_and_unpack_as_the_format_table_does() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for (format, ts) in CODECS {
            let codec = ColorCodec::for_format(format);
            assert_ne!(codec, ColorCodec::Generic);
            for _ in 0..200 {
                let value: Rgba = std::array::from_fn(|_| std::array::from_fn(|_| rng.value()));
                let mut block = vec![0u8; 8 * ts];
                codec.pack(&value, &mut block);
                for p in 0..8 {
                    let mut want = vec![0u8; ts];
                    let v = ColorValue::Float(std::array::from_fn(|c| value[c][p]));
                    pack_color(format, v, &mut want).unwrap();
                    assert_eq!(&block[p * ts..(p + 1) * ts], &want[..], "{format:?}");
                }
                let random: Vec<u8> = (0..8 * ts).map(|_| rng.next() as u8).collect();
                let got = codec.unpack(&random);
                for p in 0..8 {
                    let Ok(ColorValue::Float(want)) =
                        unpack_color(format, &random[p * ts..(p + 1) * ts])
                    else {
                        panic!("{format:?} unpacks to floats");
                    };
                    for c in 0..4 {
                        assert_eq!(got[c][p].to_bits(), want[c].to_bits(), "{format:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn block_blend_matches_the_per_pixel_blend_for_every_factor_and_op() {
        let mut rng = Rng(0x0bad_cafe_f00d_d00d);
        let classes = [
            NumericClass::Unorm,
            NumericClass::Snorm,
            NumericClass::Sfloat,
        ];
        for &sf in BlendFactor::ALL.iter().filter(|f| !f.is_dual_source()) {
            for &df in BlendFactor::ALL.iter().filter(|f| !f.is_dual_source()) {
                for &op in BlendOp::ALL {
                    let state = BlendState {
                        enable: true,
                        src_color: sf,
                        dst_color: df,
                        color_op: op,
                        src_alpha: df,
                        dst_alpha: sf,
                        alpha_op: BlendOp::ALL[(rng.next() % 5) as usize],
                        write_mask: 0xf,
                    };
                    let class = classes[(rng.next() % 3) as usize];
                    let k = clamp_for(class, std::array::from_fn(|_| rng.value()));
                    let random = |rng: &mut Rng| -> Rgba {
                        std::array::from_fn(|_| std::array::from_fn(|_| rng.value()))
                    };
                    let src = clamp_block(class, &random(&mut rng));
                    let dst = clamp_block(class, &random(&mut rng));
                    let got = blend_block(&state, class, &src, &dst, &k);
                    for p in 0..8 {
                        let px = |v: &Rgba| std::array::from_fn(|c| v[c][p]);
                        let want = blend(&state, class, px(&src), px(&dst), &k);
                        for c in 0..4 {
                            assert_eq!(
                                got[c][p].to_bits(),
                                want[c].to_bits(),
                                "{state:?} {class:?} pixel {p} component {c}"
                            );
                        }
                    }
                }
            }
        }
    }
}
