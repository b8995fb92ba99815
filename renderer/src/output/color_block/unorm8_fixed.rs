//! Fixed-point blending for 8-bit UNORM RGBA / BGRA attachments: the rule ([`FixedBlend`]),
//! its portable scalar reference ([`FixedBlend::blend_texel`]) and, in
//! [`super::unorm8_fixed_avx2`], the AVX2 kernel that runs it on whole runs of blocks.
//!
//! # The rule
//! The source colour is converted to 8 bits first (`float_to_unorm8`: clamped to [0, 1],
//! NaN → 0, round half up), as is every blend constant. A factor is then an 8-bit code `f`
//! (`1 − x` is `255 − x`), and with `s`, `d` the source and destination codes each
//! component is
//!
//! - ADD: `round((s·sf + d·df) / 255)`, SUBTRACT: `round(max(s·sf − d·df, 0) / 255)`,
//!   REVERSE_SUBTRACT the other way round, each clamped to 255;
//! - MIN / MAX: `min(s, d)` / `max(s, d)`.
//!
//! The sum is exact (16 bits) and rounded once: `round(t / 255) = ((t + 128)·257) >> 16`
//! for every `t` up to 255² (a test checks all; 255 being odd, `t / 255` is never a tie).
//! Factors ZERO, ONE, SRC_COLOR, ONE_MINUS_SRC_COLOR, DST_COLOR, ONE_MINUS_DST_COLOR,
//! SRC_ALPHA, ONE_MINUS_SRC_ALPHA, DST_ALPHA, ONE_MINUS_DST_ALPHA and the four CONSTANT_*
//! run here; SRC_ALPHA_SATURATE (and the refused dual-source ones) keep the f32 path.
//!
//! # Distance from the f32 path, and why the spec allows it
//! The f32 path ([`super::blend_block`] then `float_to_unorm8`) blends the unquantized
//! source. Where the source is representable in 8 bits (every `k / 255`) the only
//! difference is where the single rounding falls: at most 1 LSB (tests check every factor
//! and op, and every (source alpha, destination alpha) pair of SRC_ALPHA /
//! ONE_MINUS_SRC_ALPHA). For other sources the quantization error, at most ½ LSB per
//! quantized value, enters each product: for "over" blending (SRC_ALPHA /
//! ONE_MINUS_SRC_ALPHA) the result before rounding moves by `εa·(s − d) + εs·a` < 1 LSB,
//! so the result stays within 1 LSB (checked on large random inputs); factor pairs that
//! use a source value twice in one sum (e.g. SRC_COLOR with SRC_ALPHA) can reach 2 LSB.
//! A NaN source component blends as 0 here, where the f32 path gives NaN → 0 for the whole
//! sum.
//!
//! Vulkan (§29.12 "Blending", and "Fixed-Point Data Conversions") treats blending on a
//! fixed-point attachment as if in floating point "with a precision and dynamic range no
//! lower than that used to represent destination components": 8 bits here. The source and
//! factors quantized to the destination's 8 bits, products kept exact and rounded once, is
//! that precision; the deviation is the one the spec's fixed-point conversion (round to
//! nearest, not necessarily correctly rounded) already admits, and it is what lavapipe's
//! own 8-bit "linear" path does.

use super::super::state::{BlendFactor, BlendOp, BlendState};
use super::float_to_unorm8;

/// Where a fixed-point factor's code comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FactorSource {
    /// The channel's entry of the side's constants (ZERO, ONE, CONSTANT_*).
    Constant,
    /// The source's own component, or 255 minus it.
    Src,
    OneMinusSrc,
    Dst,
    OneMinusDst,
    /// The source's or destination's alpha, or 255 minus it.
    SrcAlpha,
    OneMinusSrcAlpha,
    DstAlpha,
    OneMinusDstAlpha,
}

impl FactorSource {
    /// Whether the factor reads the destination (so it cannot be computed once per run).
    pub(super) fn reads_dst(self) -> bool {
        matches!(
            self,
            FactorSource::Dst
                | FactorSource::OneMinusDst
                | FactorSource::DstAlpha
                | FactorSource::OneMinusDstAlpha
        )
    }

    /// For the alpha channel, where a component is the alpha: the `*Alpha` form, so that
    /// a colour factor SRC_ALPHA and an alpha factor SRC_COLOR read the same vector.
    fn for_alpha(self) -> FactorSource {
        match self {
            FactorSource::Src => FactorSource::SrcAlpha,
            FactorSource::OneMinusSrc => FactorSource::OneMinusSrcAlpha,
            FactorSource::Dst => FactorSource::DstAlpha,
            FactorSource::OneMinusDst => FactorSource::OneMinusDstAlpha,
            other => other,
        }
    }
}

/// The fixed-point form of one factor for channel `c` (3 = alpha), with the 8-bit blend
/// constants `k` (RGBA): where it comes from and, for [`FactorSource::Constant`], its code.
/// `None` for factors the fixed-point path leaves to the f32 one.
fn fixed_factor(f: BlendFactor, c: usize, k: &[u8; 4]) -> Option<(FactorSource, u8)> {
    let constant = |v: u8| Some((FactorSource::Constant, v));
    let from = |s: FactorSource| Some((s, 0));
    match f {
        BlendFactor::Zero => constant(0),
        BlendFactor::One => constant(255),
        BlendFactor::SrcColor => from(FactorSource::Src),
        BlendFactor::OneMinusSrcColor => from(FactorSource::OneMinusSrc),
        BlendFactor::DstColor => from(FactorSource::Dst),
        BlendFactor::OneMinusDstColor => from(FactorSource::OneMinusDst),
        BlendFactor::SrcAlpha => from(FactorSource::SrcAlpha),
        BlendFactor::OneMinusSrcAlpha => from(FactorSource::OneMinusSrcAlpha),
        BlendFactor::DstAlpha => from(FactorSource::DstAlpha),
        BlendFactor::OneMinusDstAlpha => from(FactorSource::OneMinusDstAlpha),
        BlendFactor::ConstantColor => constant(k[c]),
        BlendFactor::OneMinusConstantColor => constant(255 - k[c]),
        BlendFactor::ConstantAlpha => constant(k[3]),
        BlendFactor::OneMinusConstantAlpha => constant(255 - k[3]),
        BlendFactor::SrcAlphaSaturate
        | BlendFactor::Src1Color
        | BlendFactor::OneMinusSrc1Color
        | BlendFactor::Src1Alpha
        | BlendFactor::OneMinusSrc1Alpha => None,
    }
}

/// The factors and op of the colour channels or of the alpha channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ChannelRule {
    pub src: FactorSource,
    pub dst: FactorSource,
    pub op: BlendOp,
}

impl ChannelRule {
    /// Whether the op multiplies by factors (MIN and MAX ignore them).
    pub(super) fn uses_factors(&self) -> bool {
        !matches!(self.op, BlendOp::Min | BlendOp::Max)
    }
}

/// A blend state in 8-bit fixed point (see the module docs), fixed for the draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FixedBlend {
    /// Byte of R, G, B, A in the texel.
    pub order: [usize; 4],
    pub color: ChannelRule,
    /// Already in the `*Alpha` form (the same vectors as the colour channels' read).
    pub alpha: ChannelRule,
    /// Codes of the source / destination factors that are constants, by channel (RGBA);
    /// 0 where the factor is not a constant.
    pub src_constants: [u8; 4],
    pub dst_constants: [u8; 4],
    /// The same as 16-bit components of 4 texels in memory order, as the kernel loads them.
    pub src_constant_words: [i16; 16],
    pub dst_constant_words: [i16; 16],
}

impl FixedBlend {
    /// The fixed-point form of `state` for a texel with R, G, B, A at bytes `order`, with
    /// blend constants `constants` (clamped to [0, 1]); `None` where a factor has no
    /// fixed-point form here.
    pub(super) fn new(
        state: &BlendState,
        order: [usize; 4],
        constants: &[f32; 4],
    ) -> Option<FixedBlend> {
        let k = constants.map(float_to_unorm8);
        let (mut src_constants, mut dst_constants) = ([0u8; 4], [0u8; 4]);
        let mut rules = [None; 4];
        for (c, rule) in rules.iter_mut().enumerate() {
            let (sf, df, op) = if c == 3 {
                (state.src_alpha, state.dst_alpha, state.alpha_op)
            } else {
                (state.src_color, state.dst_color, state.color_op)
            };
            let (src, sk) = fixed_factor(sf, c, &k)?;
            let (dst, dk) = fixed_factor(df, c, &k)?;
            (src_constants[c], dst_constants[c]) = (sk, dk);
            *rule = Some(match c {
                3 => ChannelRule {
                    src: src.for_alpha(),
                    dst: dst.for_alpha(),
                    op,
                },
                _ => ChannelRule { src, dst, op },
            });
        }
        let words = |k: [u8; 4]| -> [i16; 16] {
            let mut texel = [0i16; 4];
            for (c, &at) in order.iter().enumerate() {
                if let Some(w) = texel.get_mut(at) {
                    *w = i16::from(k[c]);
                }
            }
            std::array::from_fn(|i| texel[i % 4])
        };
        Some(FixedBlend {
            order,
            color: rules[0]?,
            alpha: rules[3]?,
            src_constants,
            dst_constants,
            src_constant_words: words(src_constants),
            dst_constant_words: words(dst_constants),
        })
    }

    /// Shader output words (f32 bits, R, G, B, A) as the packed texel of their codes in
    /// memory order.
    pub(super) fn pack_texel(&self, words: [u32; 4]) -> u32 {
        let mut texel = 0;
        for (c, &at) in self.order.iter().enumerate() {
            texel |= u32::from(float_to_unorm8(f32::from_bits(words[c]))) << (8 * at);
        }
        texel
    }

    /// One texel blended: `src` and `dst` as codes in RGBA order. The reference the AVX2
    /// kernel is tested against.
    #[cfg(test)]
    pub(super) fn blend_texel(&self, src: [u8; 4], dst: [u8; 4]) -> [u8; 4] {
        std::array::from_fn(|c| {
            let rule = if c == 3 { &self.alpha } else { &self.color };
            let (s, d) = (u32::from(src[c]), u32::from(dst[c]));
            let factor = |source: FactorSource, constant: u8| -> u32 {
                u32::from(match source {
                    FactorSource::Constant => constant,
                    FactorSource::Src => src[c],
                    FactorSource::OneMinusSrc => 255 - src[c],
                    FactorSource::Dst => dst[c],
                    FactorSource::OneMinusDst => 255 - dst[c],
                    FactorSource::SrcAlpha => src[3],
                    FactorSource::OneMinusSrcAlpha => 255 - src[3],
                    FactorSource::DstAlpha => dst[3],
                    FactorSource::OneMinusDstAlpha => 255 - dst[3],
                })
            };
            let a = s * factor(rule.src, self.src_constants[c]);
            let b = d * factor(rule.dst, self.dst_constants[c]);
            let t = match rule.op {
                BlendOp::Min => return src[c].min(dst[c]),
                BlendOp::Max => return src[c].max(dst[c]),
                BlendOp::Add => a + b,
                BlendOp::Subtract => a.saturating_sub(b),
                BlendOp::ReverseSubtract => b.saturating_sub(a),
            };
            // Saturated at 255: `t` can reach 2·255².
            div255(t).min(255) as u8
        })
    }

    /// Whether the source-factor term of every channel can be computed once for a run
    /// whose source is one colour (no source factor reads the destination).
    pub(super) fn src_term_is_per_run(&self) -> bool {
        !(self.color.src.reads_dst() || self.alpha.src.reads_dst())
    }

    /// As [`Self::src_term_is_per_run`] for the destination factors.
    pub(super) fn dst_factor_is_per_run(&self) -> bool {
        !(self.color.dst.reads_dst() || self.alpha.dst.reads_dst())
    }
}

/// `round(t / 255)` for `t` ≤ 255² (exact there; monotonic above): the kernel's
/// `mulhi(t + 128, 257)`.
#[cfg(test)]
fn div255(t: u32) -> u32 {
    ((t + 128) * 257) >> 16
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::super::blend::{blend, clamp_for};
    use super::super::unorm8_to_float;
    use super::*;
    use crate::format::NumericClass;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
        }
        /// A source value: an exact code (`exact`), else anything in about [−0.2, 1.2]
        /// with ±∞ now and then.
        fn source(&mut self, exact: bool) -> f32 {
            if exact {
                return unorm8_to_float(self.next() as u8);
            }
            match self.next() % 32 {
                0 => f32::INFINITY,
                1 => f32::NEG_INFINITY,
                _ => (self.next() % 1_400_000) as f32 / 1_000_000.0 - 0.2,
            }
        }
    }

    /// The f32 path's bytes for one texel (RGBA): clamp, `blend`, `float_to_unorm8`.
    fn f32_path(state: &BlendState, src: [f32; 4], dst: [u8; 4], k: &[f32; 4]) -> [u8; 4] {
        let class = NumericClass::Unorm;
        let src = clamp_for(class, src);
        let dst = dst.map(unorm8_to_float);
        blend(state, class, src, dst, k).map(float_to_unorm8)
    }

    fn fixed_path(fixed: &FixedBlend, src: [f32; 4], dst: [u8; 4]) -> [u8; 4] {
        fixed.blend_texel(src.map(float_to_unorm8), dst)
    }

    fn max_difference(a: [u8; 4], b: [u8; 4]) -> u8 {
        (0..4).map(|c| a[c].abs_diff(b[c])).max().unwrap_or(0)
    }

    fn accelerated_factors() -> Vec<BlendFactor> {
        BlendFactor::ALL
            .iter()
            .copied()
            .filter(|&f| fixed_factor(f, 0, &[0; 4]).is_some())
            .collect()
    }

    #[test]
    fn the_rounding_trick_divides_every_8_bit_product_by_255_rounding_to_nearest() {
        for t in 0..=255 * 255u32 {
            let exact = (2 * t + 255) / 510;
            assert_eq!(div255(t), exact, "{t}");
        }
        // Above 255², as the kernel's saturating sums meet it: never below 255.
        for t in 255 * 255..=2 * 255 * 255u32 {
            assert!(div255(t.min(65535)) >= 255, "{t}");
        }
    }

    #[test]
    fn over_blending_is_within_one_lsb_of_the_f32_path_for_every_alpha_pair() {
        let fixed = FixedBlend::new(&BlendState::ALPHA, [0, 1, 2, 3], &[0.0; 4]).unwrap();
        let mut rng = Rng(0x1357_9bdf);
        for sa in 0..=255u8 {
            for da in 0..=255u8 {
                let dst = [rng.next() as u8, rng.next() as u8, rng.next() as u8, da];
                let exact = [0, 1, 2].map(|_| rng.source(true));
                let src = [exact[0], exact[1], exact[2], unorm8_to_float(sa)];
                let want = f32_path(&BlendState::ALPHA, src, dst, &[0.0; 4]);
                let got = fixed_path(&fixed, src, dst);
                assert!(max_difference(got, want) <= 1, "{src:?} {dst:?}");
                // The same pair with an alpha between codes and any colour.
                let jitter = (rng.next() % 1000) as f32 / 1000.0 - 0.5;
                let src = [
                    rng.source(false),
                    rng.source(false),
                    rng.source(false),
                    (f32::from(sa) + jitter) / 255.0,
                ];
                let want = f32_path(&BlendState::ALPHA, src, dst, &[0.0; 4]);
                let got = fixed_path(&fixed, src, dst);
                assert!(max_difference(got, want) <= 1, "{src:?} {dst:?}");
            }
        }
    }

    #[test]
    fn every_factor_and_op_is_within_one_lsb_of_the_f32_path_for_8_bit_sources() {
        let factors = accelerated_factors();
        assert_eq!(factors.len(), 14);
        let mut rng = Rng(0x2468_ace0);
        for &sf in &factors {
            for &df in &factors {
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
                    let k = [0.3, 0.75, 1.0, 0.1].map(|v: f32| v + (rng.next() % 9) as f32 / 100.0);
                    let k = clamp_for(NumericClass::Unorm, k)
                        .map(|v| unorm8_to_float(float_to_unorm8(v)));
                    let fixed = FixedBlend::new(&state, [0, 1, 2, 3], &k).unwrap();
                    for _ in 0..300 {
                        let src = [0; 4].map(|_| rng.source(true));
                        let dst = [0; 4].map(|_| rng.next() as u8);
                        let want = f32_path(&state, src, dst, &k);
                        let got = fixed_path(&fixed, src, dst);
                        assert!(
                            max_difference(got, want) <= 1,
                            "{state:?} {src:?} {dst:?}: {got:?} vs {want:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn any_source_is_within_two_lsb_of_the_f32_path_for_every_factor_and_op() {
        let factors = accelerated_factors();
        let mut rng = Rng(0x0f0f_1234);
        let mut worst = 0;
        for &sf in &factors {
            for &df in &factors {
                for &op in BlendOp::ALL {
                    let state = BlendState {
                        enable: true,
                        src_color: sf,
                        dst_color: df,
                        color_op: op,
                        src_alpha: sf,
                        dst_alpha: df,
                        alpha_op: op,
                        write_mask: 0xf,
                    };
                    let k = [0.25, 0.5, 0.875, 0.6];
                    let fixed = FixedBlend::new(&state, [0, 1, 2, 3], &k).unwrap();
                    for _ in 0..300 {
                        let src = [0; 4].map(|_| rng.source(false));
                        let dst = [0; 4].map(|_| rng.next() as u8);
                        let want = f32_path(&state, src, dst, &k);
                        let got = fixed_path(&fixed, src, dst);
                        worst = worst.max(max_difference(got, want));
                        assert!(max_difference(got, want) <= 2, "{state:?} {src:?} {dst:?}");
                    }
                }
            }
        }
        assert!(worst >= 1, "the fixed-point path is not the f32 path");
    }

    #[test]
    fn saturate_and_dual_source_factors_keep_the_f32_path() {
        for f in [BlendFactor::SrcAlphaSaturate, BlendFactor::Src1Alpha] {
            let state = BlendState {
                dst_alpha: f,
                ..BlendState::ALPHA
            };
            assert_eq!(FixedBlend::new(&state, [0, 1, 2, 3], &[0.0; 4]), None);
        }
    }
}
