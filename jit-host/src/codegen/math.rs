//! Transcendental functions as IR polynomials (no libm calls may appear in the object).
//! Accuracy targets are the Vulkan spec's ("Precision and Operation of SPIR-V
//! Instructions"): exp2/exp 3 + 2|x| ULP, log2/log 3 ULP outside [0.5, 2] and 2^-21 absolute
//! inside, sin/cos 2^-11 absolute in [-π, π], atan family 4096 ULP, pow inherited from
//! exp2(y * log2(x)). Coefficients are the classic single-precision minimax fits (Cephes).

use inkwell::values::{BasicValueEnum, InstructionOpcode as I};
use inkwell::FloatPredicate as FP;
use inkwell::IntPredicate as IP;
use shader::ir::ScalarType;

use super::emit::R;
use super::kernel::Gen;

type V<'ctx> = BasicValueEnum<'ctx>;

impl<'ctx> Gen<'ctx, '_> {
    fn c(&self, like: V<'ctx>, x: f32) -> V<'ctx> {
        self.fconst(x, like.is_vector_value())
    }
    fn ci(&self, like: V<'ctx>, x: u32) -> V<'ctx> {
        self.konst(ScalarType::I32, u64::from(x), like.is_vector_value())
    }
    fn fmul(&self, a: V<'ctx>, b: V<'ctx>) -> R<V<'ctx>> {
        self.bin(I::FMul, a, b)
    }
    fn fadd(&self, a: V<'ctx>, b: V<'ctx>) -> R<V<'ctx>> {
        self.bin(I::FAdd, a, b)
    }
    fn fsub(&self, a: V<'ctx>, b: V<'ctx>) -> R<V<'ctx>> {
        self.bin(I::FSub, a, b)
    }
    fn fma3(&self, a: V<'ctx>, b: V<'ctx>, c: V<'ctx>) -> R<V<'ctx>> {
        self.intr("llvm.fma", &[a.get_type()], &[a, b, c])
    }
    /// Horner: c[0] * x^(n-1) + ... + c[n-1].
    fn poly(&self, x: V<'ctx>, c: &[f32]) -> R<V<'ctx>> {
        let mut acc = self.c(x, c[0]);
        for k in &c[1..] {
            acc = self.fma3(acc, x, self.c(x, *k))?;
        }
        Ok(acc)
    }
    fn i32_of(&self, like: V<'ctx>) -> inkwell::types::BasicTypeEnum<'ctx> {
        let _ = like;
        self.cx.i32_type().into()
    }

    /// 2^n for integer-valued float n in [-126, 127], by building the exponent bits.
    fn pow2i(&self, n: V<'ctx>) -> R<V<'ctx>> {
        let ni = self.cast(I::FPToSI, n, self.i32_of(n))?;
        let e = self.bin(I::Add, ni, self.ci(n, 127))?;
        let e = self.bin(I::Shl, e, self.ci(n, 23))?;
        self.cast(I::BitCast, e, self.cx.f32_type().into())
    }

    pub fn exp2(&self, x: V<'ctx>) -> R<V<'ctx>> {
        let ty = x.get_type();
        let xc = self.intr("llvm.maxnum", &[ty], &[x, self.c(x, -252.0)])?;
        let xc = self.intr("llvm.minnum", &[ty], &[xc, self.c(x, 254.0)])?;
        let n = self.intr("llvm.roundeven", &[ty], &[xc])?;
        let f = self.fsub(xc, n)?; // [-0.5, 0.5]
        let p = self.poly(
            f,
            &[
                1.535_336_2e-4,
                1.339_887_4e-3,
                9.618_437e-3,
                5.550_332_5e-2,
                2.402_264_8e-1,
                6.931_472e-1,
            ],
        )?;
        let p = self.fma3(p, f, self.c(x, 1.0))?;
        // 2^n as 2^(n/2) * 2^(n - n/2): both halves stay in the normal exponent range.
        let h = self.fmul(n, self.c(x, 0.5))?;
        let h = self.intr("llvm.floor", &[ty], &[h])?;
        let r = self.fsub(n, h)?;
        let s = self.fmul(p, self.pow2i(h)?)?;
        let s = self.fmul(s, self.pow2i(r)?)?;
        let nan = self.fcmp(FP::UNO, x, x)?;
        self.select(nan, x, s)
    }

    /// Natural log of x > 0 (NaN for x < 0, -inf at 0, +inf at +inf).
    pub fn ln(&self, x: V<'ctx>) -> R<V<'ctx>> {
        let ty = x.get_type();
        let i32t = self.i32_of(x);
        // Scale denormals into the normal range first.
        let tiny = self.fcmp(FP::OLT, x, self.c(x, f32::MIN_POSITIVE))?;
        let xs = self.fmul(x, self.c(x, 8_388_608.0))?;
        let xn = self.select(tiny, xs, x)?;
        let adj = self.select(tiny, self.c(x, -23.0), self.c(x, 0.0))?;
        let bits = self.cast(I::BitCast, xn, i32t)?;
        let e = self.bin(I::LShr, bits, self.ci(x, 23))?;
        let e = self.bin(I::And, e, self.ci(x, 0xff))?;
        let e = self.bin(I::Sub, e, self.ci(x, 126))?; // m in [0.5, 1)
        let mb = self.bin(I::And, bits, self.ci(x, 0x007f_ffff))?;
        let mb = self.bin(I::Or, mb, self.ci(x, 0x3f00_0000))?;
        let m = self.cast(I::BitCast, mb, self.cx.f32_type().into())?;
        let mut ef = self.cast(I::SIToFP, e, self.cx.f32_type().into())?;
        ef = self.fadd(ef, adj)?;
        // m < sqrt(1/2): use 2m - 1 and e - 1, else m - 1.
        let small = self.fcmp(FP::OLT, m, self.c(x, std::f32::consts::FRAC_1_SQRT_2))?;
        let m2 = self.fadd(m, m)?;
        let mm = self.select(small, m2, m)?;
        let e1 = self.fsub(ef, self.c(x, 1.0))?;
        let ef = self.select(small, e1, ef)?;
        let z = self.fsub(mm, self.c(x, 1.0))?;
        let z2 = self.fmul(z, z)?;
        let p = self.poly(
            z,
            &[
                7.037_683_6e-2,
                -1.151_461e-1,
                1.167_699_9e-1,
                -1.242_014_1e-1,
                1.424_932_3e-1,
                -1.666_805_8e-1,
                2.000_071_4e-1,
                -2.499_999_4e-1,
                3.333_333e-1,
            ],
        )?;
        let y = self.fmul(self.fmul(p, z)?, z2)?;
        let y = self.fma3(ef, self.c(x, -2.121_944_4e-4), y)?;
        let y = self.fma3(z2, self.c(x, -0.5), y)?;
        let r = self.fadd(z, y)?;
        let r = self.fma3(ef, self.c(x, 0.693_359_4), r)?;
        // Special values.
        let zero = self.fcmp(FP::OEQ, x, self.c(x, 0.0))?;
        let r = self.select(zero, self.c(x, f32::NEG_INFINITY), r)?;
        let neg = self.fcmp(FP::ULT, x, self.c(x, 0.0))?;
        let r = self.select(neg, self.c(x, f32::NAN), r)?;
        let inf = self.fcmp(FP::OEQ, x, self.c(x, f32::INFINITY))?;
        let _ = ty;
        self.select(inf, x, r)
    }

    pub fn log2(&self, x: V<'ctx>) -> R<V<'ctx>> {
        let l = self.ln(x)?;
        self.fmul(l, self.c(x, std::f32::consts::LOG2_E))
    }

    pub fn pow(&self, x: V<'ctx>, y: V<'ctx>) -> R<V<'ctx>> {
        let l = self.log2(x)?;
        let p = self.fmul(y, l)?;
        self.exp2(p)
    }

    /// sin (cos = false) or cos of x.
    pub fn sin_cos(&self, x: V<'ctx>, cos: bool) -> R<V<'ctx>> {
        let ty = x.get_type();
        let j = self.fmul(x, self.c(x, std::f32::consts::FRAC_2_PI))?;
        let j = self.intr("llvm.roundeven", &[ty], &[j])?;
        // Cody-Waite: x - j * pi/2 in three parts.
        let r = self.fma3(j, self.c(x, -1.570_312_5), x)?;
        let r = self.fma3(j, self.c(x, -4.837_513e-4), r)?;
        let r = self.fma3(j, self.c(x, -7.549_79e-8), r)?;
        let z = self.fmul(r, r)?;
        let sp = self.poly(z, &[-1.951_529_6e-4, 8.332_161e-3, -1.666_665_5e-1])?;
        let s = self.fma3(self.fmul(sp, z)?, r, r)?;
        let cp = self.poly(z, &[2.443_315_7e-5, -1.388_731_6e-3, 4.166_664_6e-2])?;
        let c = self.fmul(self.fmul(cp, z)?, z)?;
        let c = self.fma3(z, self.c(x, -0.5), c)?;
        let c = self.fadd(c, self.c(x, 1.0))?;
        let q = self.cast(I::FPToSI, j, self.i32_of(x))?;
        let q = if cos {
            self.bin(I::Add, q, self.ci(x, 1))?
        } else {
            q
        };
        let odd = self.bin(I::And, q, self.ci(x, 1))?;
        let use_cos = self.icmp(IP::NE, odd, self.ci(x, 0))?;
        let v = self.select(use_cos, c, s)?;
        let hi = self.bin(I::And, q, self.ci(x, 2))?;
        let negate = self.icmp(IP::NE, hi, self.ci(x, 0))?;
        let nv = self.fsub(self.c(x, -0.0), v)?;
        self.select(negate, nv, v)
    }

    pub fn atan(&self, x: V<'ctx>) -> R<V<'ctx>> {
        let ty = x.get_type();
        let t = self.intr("llvm.fabs", &[ty], &[x])?;
        let big = self.fcmp(FP::OGT, t, self.c(x, 2.414_213_6))?;
        let mid = self.fcmp(FP::OGT, t, self.c(x, 0.414_213_57))?;
        let inv = self.bin(I::FDiv, self.c(x, -1.0), t)?;
        let tm = self.bin(
            I::FDiv,
            self.fsub(t, self.c(x, 1.0))?,
            self.fadd(t, self.c(x, 1.0))?,
        )?;
        let tt = self.select(mid, tm, t)?;
        let tt = self.select(big, inv, tt)?;
        let y0 = self.select(mid, self.c(x, std::f32::consts::FRAC_PI_4), self.c(x, 0.0))?;
        let y0 = self.select(big, self.c(x, std::f32::consts::FRAC_PI_2), y0)?;
        let z = self.fmul(tt, tt)?;
        let p = self.poly(
            z,
            &[
                8.053_744_5e-2,
                -1.387_768_6e-1,
                1.997_771_1e-1,
                -3.333_295e-1,
            ],
        )?;
        let y = self.fma3(self.fmul(p, z)?, tt, tt)?;
        let y = self.fadd(y0, y)?;
        self.intr("llvm.copysign", &[ty], &[y, x])
    }

    pub fn atan2(&self, y: V<'ctx>, x: V<'ctx>) -> R<V<'ctx>> {
        let q = self.bin(I::FDiv, y, x)?;
        let a = self.atan(q)?;
        let xneg = self.fcmp(FP::OLT, x, self.c(x, 0.0))?;
        let ypos = self.fcmp(FP::OGE, y, self.c(x, 0.0))?;
        let pi = self.select(
            ypos,
            self.c(x, std::f32::consts::PI),
            self.c(x, -std::f32::consts::PI),
        )?;
        let ap = self.fadd(a, pi)?;
        self.select(xneg, ap, a)
    }
}
