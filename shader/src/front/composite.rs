//! Composites and matrices: construct/extract/insert, shuffles, dynamic vector indexing,
//! dot products, the matrix products, transposes, and bit casts between shapes.

use rspirv::dr::Instruction;
use spirv::Op;

use super::instr::int_type;
use super::lower::Lower;
use super::module::{id_at, lit_at, result_type};
use super::types::{Id, Type};
use super::{malformed, FrontError, Result};
use crate::ir::{BinOp, CmpOp, ConvOp, Op as IrOp, ScalarType, ValueId};

impl Lower<'_> {
    /// OpCompositeConstruct/Extract/Insert, OpVectorShuffle, OpVector{Extract,Insert}Dynamic.
    pub fn composite(&mut self, inst: &Instruction) -> Result<()> {
        match inst.class.opcode {
            Op::CompositeConstruct => {
                let mut out = Vec::new();
                for i in 0..inst.operands.len() {
                    out.extend(self.data(id_at(inst, i)?)?.1);
                }
                self.bind_data(inst, out)
            }
            Op::CompositeExtract => {
                let (ty, a) = self.data(id_at(inst, 0)?)?;
                let idx = (1..inst.operands.len())
                    .map(|i| lit_at(inst, i))
                    .collect::<Result<Vec<_>>>()?;
                let (t, first) = self.m.types.path(ty, &idx)?;
                let n = self.m.types.leaf_count(t)?;
                match a.get(first..first + n) {
                    Some(s) => self.bind_data(inst, s.to_vec()),
                    None => malformed("OpCompositeExtract out of range"),
                }
            }
            Op::CompositeInsert => {
                let (_, obj) = self.data(id_at(inst, 0)?)?;
                let (ty, mut comp) = self.data(id_at(inst, 1)?)?;
                let idx = (2..inst.operands.len())
                    .map(|i| lit_at(inst, i))
                    .collect::<Result<Vec<_>>>()?;
                let (_, first) = self.m.types.path(ty, &idx)?;
                match comp.get_mut(first..first + obj.len()) {
                    Some(s) => s.copy_from_slice(&obj),
                    None => return malformed("OpCompositeInsert out of range"),
                }
                self.bind_data(inst, comp)
            }
            Op::VectorShuffle => {
                let (a, b) = (self.data(id_at(inst, 0)?)?.1, self.data(id_at(inst, 1)?)?.1);
                let st = self.m.types.component(result_type(inst)?)?;
                let mut out = Vec::new();
                for i in 2..inst.operands.len() {
                    let k = lit_at(inst, i)? as usize;
                    out.push(if k == 0xffff_ffff {
                        self.b.def(st, IrOp::Undef)
                    } else if let Some(v) = a.get(k) {
                        *v
                    } else {
                        match b.get(k - a.len()) {
                            Some(v) => *v,
                            None => return malformed("OpVectorShuffle component out of range"),
                        }
                    });
                }
                self.bind_data(inst, out)
            }
            Op::VectorExtractDynamic => {
                let (_, v) = self.data(id_at(inst, 0)?)?;
                let idx_id = id_at(inst, 1)?;
                if let Some(k) = self.const_u64(idx_id) {
                    // Out-of-range indices are undefined; component 0 will do.
                    let x = *v
                        .get(k as usize)
                        .or(v.first())
                        .ok_or_else(|| FrontError::Malformed("empty vector".into()))?;
                    return self.bind_data(inst, vec![x]);
                }
                let idx = self.scalar(idx_id)?;
                let it = self.b.ty(idx);
                let Some((first, rest)) = v.split_first() else {
                    return malformed("empty vector");
                };
                let mut r = *first;
                for (i, x) in rest.iter().enumerate() {
                    let k = self.ki(it, i as u64 + 1);
                    let hit = self.cmp(CmpOp::Eq, idx, k);
                    r = self.select(hit, *x, r);
                }
                self.bind_data(inst, vec![r])
            }
            Op::VectorInsertDynamic => {
                let (_, v) = self.data(id_at(inst, 0)?)?;
                let comp = self.scalar(id_at(inst, 1)?)?;
                let idx = self.scalar(id_at(inst, 2)?)?;
                let it = self.b.ty(idx);
                let out = v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| {
                        let k = self.ki(it, i as u64);
                        let hit = self.cmp(CmpOp::Eq, idx, k);
                        self.select(hit, comp, *x)
                    })
                    .collect();
                self.bind_data(inst, out)
            }
            other => Err(FrontError::UnsupportedOpcode(format!("{other:?}"))),
        }
    }

    pub fn dot(&mut self, a: &[ValueId], b: &[ValueId]) -> Result<ValueId> {
        let mut acc: Option<ValueId> = None;
        for (x, y) in a.iter().zip(b) {
            let p = self.bin(BinOp::FMul, *x, *y);
            acc = Some(match acc {
                None => p,
                Some(s) => self.bin(BinOp::FAdd, s, p),
            });
        }
        acc.ok_or_else(|| FrontError::Malformed("dot product of empty vectors".into()))
    }

    /// (columns, rows) of a matrix type.
    fn matrix_dims(&self, ty: Id) -> Result<(usize, usize)> {
        let Type::Matrix { column, columns } = self.m.types.get(ty)? else {
            return malformed(format!("%{ty} is not a matrix"));
        };
        let Type::Vector { count, .. } = self.m.types.get(*column)? else {
            return malformed("matrix column is not a vector");
        };
        Ok((*columns as usize, *count as usize))
    }

    pub fn matrix_op(&mut self, inst: &Instruction) -> Result<()> {
        let op = inst.class.opcode;
        let (ta, a) = self.data(id_at(inst, 0)?)?;
        let rt = result_type(inst)?;
        let mut out = Vec::new();
        match op {
            Op::Transpose => {
                let (c, r) = self.matrix_dims(ta)?;
                for i in 0..r {
                    for j in 0..c {
                        out.push(a[j * r + i]);
                    }
                }
            }
            Op::OuterProduct => {
                let (_, b) = self.data(id_at(inst, 1)?)?;
                for y in &b {
                    for x in &a {
                        out.push(self.bin(BinOp::FMul, *x, *y));
                    }
                }
            }
            Op::MatrixTimesVector => {
                let (c, r) = self.matrix_dims(ta)?;
                let (_, v) = self.data(id_at(inst, 1)?)?;
                if v.len() != c {
                    return malformed("OpMatrixTimesVector size mismatch");
                }
                for i in 0..r {
                    let row: Vec<ValueId> = (0..c).map(|j| a[j * r + i]).collect();
                    out.push(self.dot(&row, &v)?);
                }
            }
            Op::VectorTimesMatrix => {
                let (tb, m) = self.data(id_at(inst, 1)?)?;
                let (c, r) = self.matrix_dims(tb)?;
                if a.len() != r {
                    return malformed("OpVectorTimesMatrix size mismatch");
                }
                for j in 0..c {
                    out.push(self.dot(&a, &m[j * r..(j + 1) * r])?);
                }
            }
            _ => {
                // MatrixTimesMatrix: (A·B)[col j][row i] = Σ_k A[k][i] · B[j][k].
                let (ca, ra) = self.matrix_dims(ta)?;
                let (tb, b) = self.data(id_at(inst, 1)?)?;
                let (cb, rb) = self.matrix_dims(tb)?;
                if rb != ca {
                    return malformed("OpMatrixTimesMatrix size mismatch");
                }
                for j in 0..cb {
                    for i in 0..ra {
                        let row: Vec<ValueId> = (0..ca).map(|k| a[k * ra + i]).collect();
                        out.push(self.dot(&row, &b[j * rb..(j + 1) * rb])?);
                    }
                }
            }
        }
        if out.len() != self.m.types.leaf_count(rt)? {
            return malformed(format!("Op{op:?} result shape mismatch"));
        }
        self.bind_data(inst, out)
    }

    /// OpBitcast between types of equal total size (vectors may change component count).
    pub fn bitcast(
        &mut self,
        src: &[ValueId],
        dst: &[crate::ir::ScalarType],
    ) -> Result<Vec<ValueId>> {
        let src_bits: u32 = src.iter().map(|v| self.b.ty(*v).bits()).sum();
        let dst_bits: u32 = dst.iter().map(|t| t.bits()).sum();
        if src_bits != dst_bits
            || src.is_empty()
            || src.iter().any(|v| self.b.ty(*v) == ScalarType::Bool)
        {
            return malformed("OpBitcast between types of different sizes");
        }
        if src.len() == dst.len() {
            return Ok(src
                .iter()
                .zip(dst)
                .map(|(v, t)| {
                    if self.b.ty(*v) == *t {
                        *v
                    } else {
                        self.conv(ConvOp::Bitcast, *t, *v)
                    }
                })
                .collect());
        }
        let sw = self.b.ty(src[0]).bits();
        let dw = dst[0].bits();
        let as_int: Vec<ValueId> = src
            .iter()
            .map(|v| {
                if self.b.ty(*v).is_float() {
                    self.conv(ConvOp::Bitcast, ScalarType::I32, *v)
                } else {
                    *v
                }
            })
            .collect();
        let di = int_type(dw);
        let mut ints = Vec::with_capacity(dst.len());
        if dw > sw {
            let r = (dw / sw) as usize;
            for chunk in as_int.chunks(r) {
                let mut acc = self.conv(ConvOp::ZextOrTrunc, di, chunk[0]);
                for (k, part) in chunk.iter().enumerate().skip(1) {
                    let wide = self.conv(ConvOp::ZextOrTrunc, di, *part);
                    let sh = self.ki(di, (k as u64) * u64::from(sw));
                    let moved = self.bin(BinOp::Shl, wide, sh);
                    acc = self.bin(BinOp::Or, acc, moved);
                }
                ints.push(acc);
            }
        } else {
            let r = sw / dw;
            for v in &as_int {
                let st = self.b.ty(*v);
                for k in 0..r {
                    let sh = self.ki(st, u64::from(k * dw));
                    let moved = if k == 0 {
                        *v
                    } else {
                        self.bin(BinOp::LShr, *v, sh)
                    };
                    ints.push(self.conv(ConvOp::ZextOrTrunc, di, moved));
                }
            }
        }
        Ok(ints
            .into_iter()
            .zip(dst)
            .map(|(v, t)| {
                if t.is_float() {
                    self.conv(ConvOp::Bitcast, *t, v)
                } else {
                    v
                }
            })
            .collect())
    }
}
