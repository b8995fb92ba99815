//! Derivatives (`OpDPdx`, `OpDPdy`, `OpFwidth` and their `Fine` / `Coarse` forms) as
//! [`ir::Op::Derivative`] per component. Plain forms are coarse (the spec allows either; it
//! is also what llvmpipe does). Fragment shaders only: no derivative-group extension is
//! exposed, so anywhere else is an error naming the opcode.

use rspirv::dr::Instruction;
use spirv::Op;

use super::lower::Lower;
use super::module::id_at;
use super::{malformed, FrontError, Result};
use crate::ir::{self, BinOp, DerivAxis, ScalarType, Stage, UnOp};

pub(crate) fn is_derivative(op: Op) -> bool {
    matches!(
        op,
        Op::DPdx
            | Op::DPdy
            | Op::Fwidth
            | Op::DPdxFine
            | Op::DPdyFine
            | Op::FwidthFine
            | Op::DPdxCoarse
            | Op::DPdyCoarse
            | Op::FwidthCoarse
    )
}

impl Lower<'_> {
    pub fn derivative(&mut self, inst: &Instruction) -> Result<()> {
        let op = inst.class.opcode;
        if self.m.stage != Stage::Fragment {
            return Err(FrontError::UnsupportedOpcode(format!(
                "{op:?} in a {:?} shader (derivatives need fragment quads; no derivative-group \
                 extension is exposed)",
                self.m.stage
            )));
        }
        let fine = matches!(op, Op::DPdxFine | Op::DPdyFine | Op::FwidthFine);
        let axes: &[DerivAxis] = match op {
            Op::DPdx | Op::DPdxFine | Op::DPdxCoarse => &[DerivAxis::X],
            Op::DPdy | Op::DPdyFine | Op::DPdyCoarse => &[DerivAxis::Y],
            _ => &[DerivAxis::X, DerivAxis::Y],
        };
        let (_, a) = self.data(id_at(inst, 0)?)?;
        let mut out = Vec::with_capacity(a.len());
        for x in a {
            if self.b.ty(x) != ScalarType::F32 {
                return malformed(format!("Op{op:?} of a non-float value"));
            }
            let mut sum = None;
            for &axis in axes {
                let d = self.b.def(
                    ScalarType::F32,
                    ir::Op::Derivative {
                        axis,
                        fine,
                        value: x,
                    },
                );
                // fwidth = |dPdx| + |dPdy|.
                sum = Some(match (axes.len(), sum) {
                    (1, _) => d,
                    (_, None) => self.un(UnOp::FAbs, d),
                    (_, Some(s)) => {
                        let ad = self.un(UnOp::FAbs, d);
                        self.bin(BinOp::FAdd, s, ad)
                    }
                });
            }
            match sum {
                Some(v) => out.push(v),
                None => return malformed("derivative of nothing"),
            }
        }
        self.bind_data(inst, out)
    }
}
