//! The per-sample depth bounds, stencil and depth tests with their writes (Vulkan §29.8–§29.10),
//! on one packed depth/stencil texel.
//!
//! Order as the spec gives it: depth bounds (on the stored depth; a failure only kills the
//! sample), stencil (a failure applies `failOp`), depth (a failure applies `depthFailOp`, a
//! pass `passOp` and, with writes enabled, stores the depth).

use crate::format::texel::{pack_stencil, unpack_stencil};
use crate::format::{convert, pack_depth, unpack_depth, Encoding, Format, FormatError};

use super::state::{CompareOp, DepthState, StencilFace, StencilState};

/// Depth/stencil state resolved against the attachment's format: tests the format lacks an
/// aspect for are off (a missing aspect always passes and is never written).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DepthStencilTest {
    pub format: Format,
    pub depth: DepthState,
    pub stencil: Option<StencilState>,
}

/// What happened to one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub passed: bool,
    /// The texel was modified and must be written back.
    pub modified: bool,
}

/// Clamps an incoming depth to [0, 1] (NaN → 0): a UNORM attachment cannot hold more, and
/// without VK_EXT_depth_range_unrestricted a float one is not given more either.
pub(crate) fn clamp_depth(z: f32) -> f32 {
    if z.is_nan() {
        0.0
    } else {
        z.clamp(0.0, 1.0)
    }
}

impl DepthStencilTest {
    pub(crate) fn new(format: Format, depth: DepthState, stencil: Option<StencilState>) -> Self {
        let depth = if format.has_depth() {
            depth
        } else {
            DepthState::DISABLED
        };
        let stencil = stencil.filter(|_| format.has_stencil());
        Self {
            format,
            depth,
            stencil,
        }
    }

    /// Whether any test or write touches the attachment at all.
    pub(crate) fn is_active(&self) -> bool {
        self.depth.test_enable || self.depth.bounds.is_some() || self.stencil.is_some()
    }

    /// The encoding of a depth-only test (depth test on, no stencil, no depth bounds) that
    /// [`Self::test_depth_block`] runs; `None` when the test needs the general path.
    pub(crate) fn depth_only(&self) -> Option<Encoding> {
        let encoding = self.format.info().encoding;
        let simple =
            self.depth.test_enable && self.depth.bounds.is_none() && self.stencil.is_none();
        let supported = matches!(
            encoding,
            Encoding::D16 | Encoding::D24S8 | Encoding::D32 | Encoding::D32S8
        );
        (simple && supported).then_some(encoding)
    }

    /// The depth-only test ([`Self::depth_only`] gave `encoding`) of the pixels in `pixels`
    /// of a block of 8 texels of `texel_size` bytes (`block`, pixel-major), with depths `z`
    /// (already clamped, by pixel). Writes passing depths where writes are on; returns the
    /// pixels that passed. The same comparisons and conversions as [`Self::test`].
    pub(crate) fn test_depth_block(
        &self,
        encoding: Encoding,
        block: &mut [u8],
        texel_size: usize,
        pixels: u8,
        z: &[f32; 8],
    ) -> u8 {
        let op = self.depth.compare_op;
        let write = self.depth.write_enable;
        match (encoding, texel_size, block.first_chunk_mut::<32>()) {
            (Encoding::D32, 4, Some(block)) => return depth32_block(op, write, block, pixels, z),
            (Encoding::D16, 2, _) => {
                if let Some(block) = block.first_chunk_mut::<16>() {
                    return depth16_block(op, write, block, pixels, z);
                }
            }
            _ => {}
        }
        let mut passed = 0u8;
        for (p, texel) in block.chunks_exact_mut(texel_size).take(8).enumerate() {
            if pixels & (1 << p) == 0 {
                continue;
            }
            let pass = match encoding {
                Encoding::D16 => {
                    let code = convert::float_to_unorm(z[p], 16);
                    let pass = op.passes(code, u32::from(u16::from_le_bytes([texel[0], texel[1]])));
                    if pass && write {
                        texel[..2].copy_from_slice(&(code as u16).to_le_bytes());
                    }
                    pass
                }
                Encoding::D24S8 => {
                    let code = convert::float_to_unorm(z[p], 24);
                    let stored = u32::from_le_bytes([texel[0], texel[1], texel[2], 0]);
                    let pass = op.passes(code, stored);
                    if pass && write {
                        texel[..3].copy_from_slice(&code.to_le_bytes()[..3]);
                    }
                    pass
                }
                _ => {
                    let stored = f32::from_le_bytes([texel[0], texel[1], texel[2], texel[3]]);
                    let pass = op.passes(z[p], stored);
                    if pass && write {
                        texel[..4].copy_from_slice(&z[p].to_le_bytes());
                    }
                    pass
                }
            };
            if pass {
                passed |= 1 << p;
            }
        }
        passed
    }

    /// Runs the tests for a sample of depth `z` (already clamped) against `texel`, updating it.
    pub(crate) fn test(
        &self,
        texel: &mut [u8],
        front_facing: bool,
        z: f32,
    ) -> Result<Outcome, FormatError> {
        let f = self.format;
        if let Some((min, max)) = self.depth.bounds {
            if f.has_depth() {
                let stored = unpack_depth(f, texel)?;
                if !(min <= stored && stored <= max) {
                    return Ok(Outcome {
                        passed: false,
                        modified: false,
                    });
                }
            }
        }
        let face = self
            .stencil
            .map(|s| if front_facing { s.front } else { s.back });
        let stored_stencil = match face {
            Some(_) => unpack_stencil(f, texel)?,
            None => 0,
        };
        let mut modified = false;
        let stencil_update = |texel: &mut [u8], face: &StencilFace, op: super::StencilOp| {
            let new = op.apply(stored_stencil, face.reference as u8);
            let mask = face.write_mask as u8;
            let written = (stored_stencil & !mask) | (new & mask);
            if written == stored_stencil {
                return Ok(false);
            }
            pack_stencil(f, written, texel).map(|()| true)
        };
        if let Some(face) = &face {
            let mask = face.compare_mask as u8;
            let reference = face.reference as u8 & mask;
            if !face.compare_op.passes(reference, stored_stencil & mask) {
                modified |= stencil_update(texel, face, face.fail_op)?;
                return Ok(Outcome {
                    passed: false,
                    modified,
                });
            }
        }
        if self.depth.test_enable {
            let passed = self.depth_passes(texel, z)?;
            if !passed {
                if let Some(face) = &face {
                    modified |= stencil_update(texel, face, face.depth_fail_op)?;
                }
                return Ok(Outcome {
                    passed: false,
                    modified,
                });
            }
            if self.depth.write_enable {
                pack_depth(f, z, texel)?;
                modified = true;
            }
        }
        if let Some(face) = &face {
            modified |= stencil_update(texel, face, face.pass_op)?;
        }
        Ok(Outcome {
            passed: true,
            modified,
        })
    }

    /// The depth comparison, made on the attachment's own representation: a UNORM depth is
    /// converted to its code first ("Depth Comparison": z is converted to the attachment's
    /// format), so equal-looking values compare as the stored bits do.
    fn depth_passes(&self, texel: &[u8], z: f32) -> Result<bool, FormatError> {
        let op = self.depth.compare_op;
        let f = self.format;
        let code = |bytes: &[u8], n: usize| {
            let mut raw = [0u8; 4];
            raw[..n].copy_from_slice(&bytes[..n]);
            u32::from_le_bytes(raw)
        };
        Ok(match f.info().encoding {
            Encoding::D16 => op.passes(convert::float_to_unorm(z, 16), code(texel, 2)),
            Encoding::D24S8 => op.passes(convert::float_to_unorm(z, 24), code(texel, 3)),
            _ => op.passes(z, unpack_depth(f, texel)?),
        })
    }
}

/// Bit `i` set where `reference[i] OP stored[i]` ([`CompareOp::passes`]), with the op matched
/// once for the 8 pixels so that the comparisons vectorize.
#[inline(always)]
fn compare8<T: PartialOrd + Copy>(op: CompareOp, reference: &[T; 8], stored: &[T; 8]) -> u8 {
    #[inline(always)]
    fn bits<T: Copy>(a: &[T; 8], b: &[T; 8], f: impl Fn(T, T) -> bool) -> u8 {
        let mut m = 0;
        for i in 0..8 {
            m |= u8::from(f(a[i], b[i])) << i;
        }
        m
    }
    match op {
        CompareOp::Never => 0,
        CompareOp::Less => bits(reference, stored, |a, b| a < b),
        CompareOp::Equal => bits(reference, stored, |a, b| a == b),
        CompareOp::LessOrEqual => bits(reference, stored, |a, b| a <= b),
        CompareOp::Greater => bits(reference, stored, |a, b| a > b),
        CompareOp::NotEqual => bits(reference, stored, |a, b| a != b),
        CompareOp::GreaterOrEqual => bits(reference, stored, |a, b| a >= b),
        CompareOp::Always => 0xff,
    }
}

/// The D32_SFLOAT depth-only test of a block (8 texels of 4 bytes): the comparison on f32
/// (`passes(z, stored)`), passing depths written where writes are on.
#[inline(always)]
fn depth32_block(op: CompareOp, write: bool, block: &mut [u8; 32], pixels: u8, z: &[f32; 8]) -> u8 {
    let mut stored = [0u32; 8];
    for (s, t) in stored.iter_mut().zip(block.chunks_exact(4)) {
        *s = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
    }
    let passed = compare8(op, z, &stored.map(f32::from_bits)) & pixels;
    if write && passed != 0 {
        for (p, t) in block.chunks_exact_mut(4).enumerate() {
            let word = if passed & (1 << p) != 0 {
                z[p].to_bits()
            } else {
                stored[p]
            };
            t.copy_from_slice(&word.to_le_bytes());
        }
    }
    passed
}

/// `float_to_unorm(z, 16)` of a depth already clamped to [0, 1] (no NaN), in a form that
/// vectorizes: the same f64 product and sum, truncated.
#[inline(always)]
fn depth_to_unorm16(z: f32) -> u32 {
    // `max` / `min` keep the clamp of `float_to_unorm` (NaN → 0) for any input.
    #[allow(clippy::manual_clamp)]
    let v = f64::from(z).max(0.0).min(1.0);
    let scaled = v * 65535.0 + 0.5;
    // SAFETY: `v` is in [0, 1], so `scaled` is finite and in [0.5, 65535.5]: its truncation
    // fits an i32.
    unsafe { scaled.to_int_unchecked::<i32>() as u32 }
}

/// The D16_UNORM depth-only test of a block (8 texels of 2 bytes): the depth converted to
/// its 16-bit code first, compared with the stored code.
#[inline(always)]
fn depth16_block(op: CompareOp, write: bool, block: &mut [u8; 16], pixels: u8, z: &[f32; 8]) -> u8 {
    let mut stored = [0u32; 8];
    for (s, t) in stored.iter_mut().zip(block.chunks_exact(2)) {
        *s = u32::from(u16::from_le_bytes([t[0], t[1]]));
    }
    let codes = z.map(depth_to_unorm16);
    let passed = compare8(op, &codes, &stored) & pixels;
    if write && passed != 0 {
        for (p, t) in block.chunks_exact_mut(2).enumerate() {
            let code = if passed & (1 << p) != 0 {
                codes[p]
            } else {
                stored[p]
            };
            t.copy_from_slice(&(code as u16).to_le_bytes());
        }
    }
    passed
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::state::StencilOp;
    use super::*;

    #[test]
    fn depth_block_fast_paths_match_the_per_texel_test() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            (seed.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
        };
        for format in [Format::D32_SFLOAT, Format::D16_UNORM] {
            let ts = format.texel_size() as usize;
            for &op in CompareOp::ALL {
                for round in 0..200 {
                    let depth = DepthState {
                        test_enable: true,
                        write_enable: round % 3 != 0,
                        compare_op: op,
                        bounds: None,
                    };
                    let t = DepthStencilTest::new(format, depth, None);
                    let encoding = t.depth_only().unwrap();
                    let mut block: Vec<u8> = (0..8 * ts).map(|_| next() as u8).collect();
                    if round % 2 == 0 {
                        // Stored depths the incoming ones can equal.
                        for texel in block.chunks_mut(ts) {
                            pack_depth(format, (next() % 5) as f32 / 4.0, texel).unwrap();
                        }
                    }
                    let z: [f32; 8] = std::array::from_fn(|_| (next() % 5) as f32 / 4.0);
                    let pixels = next() as u8;
                    let mut want = block.clone();
                    let mut want_passed = 0u8;
                    for p in 0..8 {
                        if pixels & (1 << p) == 0 {
                            continue;
                        }
                        let texel = &mut want[p * ts..(p + 1) * ts];
                        if t.test(texel, true, z[p]).unwrap().passed {
                            want_passed |= 1 << p;
                        }
                    }
                    let passed = t.test_depth_block(encoding, &mut block, ts, pixels, &z);
                    assert_eq!(passed, want_passed, "{format:?} {op:?}");
                    if depth.write_enable {
                        assert_eq!(block, want, "{format:?} {op:?}");
                    }
                }
            }
        }
    }

    fn less_write() -> DepthState {
        DepthState {
            test_enable: true,
            write_enable: true,
            compare_op: CompareOp::Less,
            bounds: None,
        }
    }

    #[test]
    fn d16_compares_quantized_codes() {
        let t = DepthStencilTest::new(Format::D16_UNORM, less_write(), None);
        let mut texel = [0u8; 2];
        pack_depth(Format::D16_UNORM, 0.5, &mut texel).unwrap();
        // 0.5 + 1e-6 rounds to the same 16-bit code: not less, not written.
        let out = t.test(&mut texel, true, 0.5 + 1e-6).unwrap();
        assert!(!out.passed && !out.modified);
        let out = t.test(&mut texel, true, 0.25).unwrap();
        assert!(out.passed && out.modified);
        assert_eq!(u16::from_le_bytes(texel), 16384);
    }

    #[test]
    fn stencil_fail_applies_fail_op_under_the_write_mask_and_keeps_depth() {
        let face = StencilFace {
            fail_op: StencilOp::Invert,
            compare_op: CompareOp::Never,
            write_mask: 0x0f,
            ..StencilFace::KEEP_ALWAYS
        };
        let t = DepthStencilTest::new(
            Format::D24_UNORM_S8_UINT,
            less_write(),
            Some(StencilState {
                front: face,
                back: StencilFace::KEEP_ALWAYS,
            }),
        );
        let mut texel = 0x5a80_0000u32.to_le_bytes();
        let out = t.test(&mut texel, true, 0.0).unwrap();
        assert!(!out.passed && out.modified);
        assert_eq!(u32::from_le_bytes(texel), 0x5580_0000);
        // The back face keeps and always passes: depth is written.
        let mut texel = 0x5a80_0000u32.to_le_bytes();
        assert!(t.test(&mut texel, false, 0.0).unwrap().passed);
        assert_eq!(u32::from_le_bytes(texel), 0x5a00_0000);
    }

    #[test]
    fn depth_bounds_read_the_stored_depth() {
        let state = DepthState {
            bounds: Some((0.25, 0.5)),
            ..DepthState::DISABLED
        };
        let t = DepthStencilTest::new(Format::D32_SFLOAT, state, None);
        let mut texel = 0.75f32.to_le_bytes();
        assert!(!t.test(&mut texel, true, 0.3).unwrap().passed);
        let mut texel = 0.3f32.to_le_bytes();
        assert!(t.test(&mut texel, true, 0.9).unwrap().passed);
    }

    #[test]
    fn missing_aspects_always_pass() {
        let stencil = StencilState {
            front: StencilFace {
                compare_op: CompareOp::Never,
                ..StencilFace::KEEP_ALWAYS
            },
            back: StencilFace::KEEP_ALWAYS,
        };
        let t = DepthStencilTest::new(Format::D32_SFLOAT, less_write(), Some(stencil));
        assert!(t.stencil.is_none());
        let t = DepthStencilTest::new(Format::S8_UINT, less_write(), None);
        assert!(!t.is_active());
    }
}
