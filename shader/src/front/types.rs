//! The SPIR-V type table and memory layouts.
//!
//! Types are entered in declaration order and may only refer to types entered before them, so
//! the table is acyclic; each entry records its nesting depth and scalar-leaf count at
//! insertion, which bounds every recursive walk below.
//!
//! Values are flattened into scalar *leaves* in a fixed order: vector components in order,
//! matrix columns then rows, array elements in order, struct members in order.
//!
//! Two layouts exist. *Explicit* (buffers and push constants) follows the `Offset`,
//! `ArrayStride`, `MatrixStride` and `RowMajor` decorations. *Implicit* (workgroup, private and
//! function memory, which no one else sees) is our own natural layout: scalars aligned to their
//! size (bools as 4-byte words), vectors and matrix columns packed, array strides rounded up to
//! the element alignment, struct members in order at their alignment.

use std::collections::{HashMap, HashSet};

use spirv::StorageClass;

use super::{malformed, FrontError, Result};
use crate::ir::ScalarType;

pub(crate) type Id = u32;

/// Deepest type nesting accepted (arrays of structs of arrays ...).
const MAX_TYPE_DEPTH: u32 = 32;
/// Most scalar leaves a value (a loaded or constructed composite) may have.
pub(crate) const MAX_LEAVES: u64 = 16 * 1024;

/// `x` rounded up to a multiple of `a`, saturating (sizes of hostile types saturate).
fn round_up(x: u64, a: u64) -> u64 {
    x.checked_next_multiple_of(a).unwrap_or(u64::MAX)
}

#[derive(Clone, Debug)]
pub(crate) enum Type {
    Void,
    Bool,
    Int {
        bits: u32,
    },
    /// 32-bit float (16- and 64-bit floats are refused at declaration).
    Float,
    Vector {
        elem: Id,
        count: u32,
    },
    Matrix {
        column: Id,
        columns: u32,
    },
    Array {
        elem: Id,
        len: u32,
    },
    RuntimeArray {
        elem: Id,
    },
    Struct {
        members: Vec<Id>,
    },
    Pointer {
        class: StorageClass,
        pointee: Id,
    },
    Function,
    /// `OpTypeImage` (a handle: no scalar leaves).
    Image(ImageType),
    /// `OpTypeSampler`.
    Sampler,
    /// `OpTypeSampledImage` of image type `image`.
    SampledImage {
        image: Id,
    },
    /// Declared but not lowerable (images, samplers, ...): an error when used.
    Unsupported(String),
}

/// What an `OpTypeImage` declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ImageType {
    pub sampled_type: crate::ir::SampledType,
    pub dim: crate::ir::ImageDim,
    /// Depth = 1 (shadow image); 0 and 2 are both treated as "not known to be depth".
    pub depth: bool,
    pub arrayed: bool,
    pub multisampled: bool,
    /// 1: used with a sampler, 2: storage (read/write without a sampler).
    pub sampled: u32,
    /// A `VkFormat` number (0: Unknown).
    pub format: u32,
}

/// Layout decorations, gathered from the module's annotations.
#[derive(Default, Debug)]
pub(crate) struct Layouts {
    pub array_stride: HashMap<Id, u32>,
    pub member_offset: HashMap<(Id, u32), u32>,
    pub member_matrix_stride: HashMap<(Id, u32), u32>,
    pub member_row_major: HashSet<(Id, u32)>,
}

/// Where the matrices reached through a struct member live in explicit layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MatrixLayout {
    pub row_major: bool,
    pub stride: u32,
}

struct Entry {
    ty: Type,
    depth: u32,
    leaves: u64,
}

#[derive(Default)]
pub(crate) struct Types {
    entries: HashMap<Id, Entry>,
    pub layouts: Layouts,
    /// Integer types declared with signedness 1 (the sampled type of `Int` images).
    pub signed_ints: HashSet<Id>,
}

impl Types {
    pub fn get(&self, id: Id) -> Result<&Type> {
        match self.entries.get(&id) {
            Some(e) => Ok(&e.ty),
            None => malformed(format!("%{id} is not a type")),
        }
    }

    pub fn contains(&self, id: Id) -> bool {
        self.entries.contains_key(&id)
    }

    /// Adds a type; everything it refers to must already be in the table.
    pub fn insert(&mut self, id: Id, ty: Type) -> Result<()> {
        if self.entries.contains_key(&id) {
            return malformed(format!("type %{id} defined twice"));
        }
        let children: Vec<Id> = match &ty {
            Type::Vector { elem, .. } | Type::Array { elem, .. } | Type::RuntimeArray { elem } => {
                vec![*elem]
            }
            Type::Matrix { column, .. } => vec![*column],
            Type::Struct { members } => members.clone(),
            // Pointers and function types are not walked for leaves or layouts.
            _ => Vec::new(),
        };
        let mut depth = 0;
        let mut leaves: u64 = 0;
        for c in &children {
            let Some(e) = self.entries.get(c) else {
                return malformed(format!(
                    "type %{id} refers to %{c}, not a type declared before it"
                ));
            };
            depth = depth.max(e.depth);
            leaves = leaves.saturating_add(e.leaves);
        }
        let leaves = match &ty {
            Type::Bool | Type::Int { .. } | Type::Float => 1,
            Type::Vector { count, .. } => leaves.saturating_mul(u64::from(*count)),
            Type::Matrix { columns, .. } => leaves.saturating_mul(u64::from(*columns)),
            Type::Array { len, .. } => leaves.saturating_mul(u64::from(*len)),
            Type::RuntimeArray { .. } => u64::MAX,
            Type::Struct { .. } => leaves,
            _ => 0,
        };
        if let Type::Vector { elem, .. } = &ty {
            if let Ok(Type::Unsupported(what)) = self.get(*elem) {
                // A vector of 16- or 64-bit floats: refused only if something uses it.
                let ty = Type::Unsupported(what.clone());
                self.entries.insert(
                    id,
                    Entry {
                        ty,
                        depth: 1,
                        leaves: 0,
                    },
                );
                return Ok(());
            }
        }
        match &ty {
            Type::Vector { elem, count }
                if !(2..=4).contains(count) || self.scalar(*elem).is_err() =>
            {
                return malformed(format!("OpTypeVector %{id}: bad component type or count"));
            }
            Type::Matrix { column, columns } => {
                let ok = matches!(self.get(*column)?, Type::Vector { elem, .. }
                    if matches!(self.get(*elem), Ok(Type::Float)));
                if !ok || !(2..=4).contains(columns) {
                    return malformed(format!("OpTypeMatrix %{id}: bad column type or count"));
                }
            }
            Type::Array { len: 0, .. } => return malformed(format!("OpTypeArray %{id}: length 0")),
            _ => {}
        }
        let depth = depth + 1;
        if depth > MAX_TYPE_DEPTH {
            return Err(FrontError::Limit(format!(
                "type %{id} nested deeper than {MAX_TYPE_DEPTH}"
            )));
        }
        self.entries.insert(id, Entry { ty, depth, leaves });
        Ok(())
    }

    /// The IR type of a scalar SPIR-V type.
    pub fn scalar(&self, id: Id) -> Result<ScalarType> {
        match self.get(id)? {
            Type::Bool => Ok(ScalarType::Bool),
            Type::Float => Ok(ScalarType::F32),
            Type::Int { bits: 8, .. } => Ok(ScalarType::I8),
            Type::Int { bits: 16, .. } => Ok(ScalarType::I16),
            Type::Int { bits: 32, .. } => Ok(ScalarType::I32),
            Type::Int { bits: 64, .. } => Ok(ScalarType::I64),
            Type::Unsupported(what) => Err(FrontError::Unsupported(what.clone())),
            _ => malformed(format!("%{id} is not a scalar type")),
        }
    }

    /// The scalar type of a scalar or of a vector's components.
    pub fn component(&self, id: Id) -> Result<ScalarType> {
        match self.get(id)? {
            Type::Vector { elem, .. } => self.scalar(*elem),
            _ => self.scalar(id),
        }
    }

    /// Scalar-leaf count; an error for types that cannot be a value (runtime arrays, ...).
    pub fn leaf_count(&self, id: Id) -> Result<usize> {
        let e = match self.entries.get(&id) {
            Some(e) => e,
            None => return malformed(format!("%{id} is not a type")),
        };
        if let Type::Unsupported(what) = &e.ty {
            return Err(FrontError::Unsupported(what.clone()));
        }
        if e.leaves > MAX_LEAVES {
            return Err(FrontError::Limit(format!(
                "a value of type %{id} has more than {MAX_LEAVES} scalars"
            )));
        }
        Ok(e.leaves as usize)
    }

    /// The IR types of the scalar leaves of a value of type `id`.
    pub fn leaves(&self, id: Id) -> Result<Vec<ScalarType>> {
        let n = self.leaf_count(id)?;
        let mut out = Vec::with_capacity(n);
        self.push_leaves(id, &mut out)?;
        Ok(out)
    }

    fn push_leaves(&self, id: Id, out: &mut Vec<ScalarType>) -> Result<()> {
        match self.get(id)? {
            Type::Vector { elem, count } => {
                let s = self.scalar(*elem)?;
                out.extend(std::iter::repeat_n(s, *count as usize));
            }
            Type::Matrix { column, columns } => {
                for _ in 0..*columns {
                    self.push_leaves(*column, out)?;
                }
            }
            Type::Array { elem, len } => {
                for _ in 0..*len {
                    self.push_leaves(*elem, out)?;
                }
            }
            Type::Struct { members } => {
                for m in members {
                    self.push_leaves(*m, out)?;
                }
            }
            _ => out.push(self.scalar(id)?),
        }
        Ok(())
    }

    /// Follows one composite index: the member/element type and its first leaf.
    pub fn step(&self, id: Id, index: u32) -> Result<(Id, usize)> {
        let oob = || malformed(format!("index {index} out of bounds of type %{id}"));
        match self.get(id)? {
            Type::Vector { elem, count } => {
                if index >= *count {
                    return oob();
                }
                Ok((*elem, index as usize))
            }
            Type::Matrix { column, columns } => {
                if index >= *columns {
                    return oob();
                }
                Ok((*column, index as usize * self.leaf_count(*column)?))
            }
            Type::Array { elem, len } => {
                if index >= *len {
                    return oob();
                }
                Ok((*elem, index as usize * self.leaf_count(*elem)?))
            }
            Type::Struct { members } => {
                let Some(m) = members.get(index as usize) else {
                    return oob();
                };
                let mut first = 0;
                for prev in &members[..index as usize] {
                    first += self.leaf_count(*prev)?;
                }
                Ok((*m, first))
            }
            _ => malformed(format!("composite index into non-composite type %{id}")),
        }
    }

    /// Follows a path of literal indices: (type, first leaf).
    pub fn path(&self, id: Id, indices: &[u32]) -> Result<(Id, usize)> {
        let mut ty = id;
        let mut first = 0;
        for &i in indices {
            let (t, f) = self.step(ty, i)?;
            ty = t;
            first += f;
        }
        Ok((ty, first))
    }

    // ---- layouts ----

    /// (size, alignment) in the implicit layout.
    pub fn implicit_size_align(&self, id: Id) -> Result<(u64, u64)> {
        Ok(match self.get(id)? {
            Type::Vector { elem, count } => {
                let s = u64::from(self.scalar(*elem)?.size());
                (s * u64::from(*count), s)
            }
            Type::Matrix { column, columns } => {
                let (cs, ca) = self.implicit_size_align(*column)?;
                (cs * u64::from(*columns), ca)
            }
            Type::Array { elem, len } => {
                let (stride, a) = self.implicit_stride(*elem)?;
                (stride.saturating_mul(u64::from(*len)), a)
            }
            Type::RuntimeArray { .. } => {
                return Err(FrontError::Unsupported(
                    "runtime arrays outside buffer blocks".into(),
                ))
            }
            Type::Struct { members } => {
                let mut size = 0u64;
                let mut align = 1u64;
                for m in members {
                    let (s, a) = self.implicit_size_align(*m)?;
                    size = round_up(size, a).saturating_add(s);
                    align = align.max(a);
                }
                (round_up(size, align), align)
            }
            _ => {
                let s = u64::from(self.scalar(id)?.size());
                (s, s)
            }
        })
    }

    fn implicit_stride(&self, elem: Id) -> Result<(u64, u64)> {
        let (s, a) = self.implicit_size_align(elem)?;
        Ok((round_up(s, a), a))
    }

    /// Byte offset of struct member `index`.
    pub fn member_offset(&self, st: Id, index: u32, explicit: bool) -> Result<u64> {
        let Type::Struct { members } = self.get(st)? else {
            return malformed(format!("%{st} is not a struct"));
        };
        if index as usize >= members.len() {
            return malformed(format!("member {index} out of bounds of struct %{st}"));
        }
        if explicit {
            return match self.layouts.member_offset.get(&(st, index)) {
                Some(o) => Ok(u64::from(*o)),
                None => malformed(format!(
                    "member {index} of struct %{st} lacks an Offset decoration"
                )),
            };
        }
        let mut off = 0u64;
        for (i, m) in members.iter().enumerate() {
            let (s, a) = self.implicit_size_align(*m)?;
            off = round_up(off, a);
            if i == index as usize {
                break;
            }
            off = off.saturating_add(s);
        }
        Ok(off)
    }

    /// The matrix layout a struct member imposes (explicit layouts only).
    pub fn member_matrix(&self, st: Id, index: u32) -> Option<MatrixLayout> {
        let stride = *self.layouts.member_matrix_stride.get(&(st, index))?;
        Some(MatrixLayout {
            row_major: self.layouts.member_row_major.contains(&(st, index)),
            stride,
        })
    }

    /// Element stride of an array or runtime array type.
    pub fn array_stride(&self, arr: Id, explicit: bool) -> Result<u64> {
        let elem = match self.get(arr)? {
            Type::Array { elem, .. } | Type::RuntimeArray { elem } => *elem,
            _ => return malformed(format!("%{arr} is not an array")),
        };
        if explicit {
            return match self.layouts.array_stride.get(&arr) {
                Some(s) => Ok(u64::from(*s)),
                None => malformed(format!("array type %{arr} lacks an ArrayStride decoration")),
            };
        }
        Ok(self.implicit_stride(elem)?.0)
    }

    /// Size of a type in a layout (a struct ending in a runtime array counts it as empty).
    pub fn size(&self, id: Id, explicit: bool) -> Result<u64> {
        if !explicit {
            return Ok(self.implicit_size_align(id)?.0);
        }
        Ok(match self.get(id)? {
            Type::Array { elem: _, len } => {
                self.array_stride(id, true)?.saturating_mul(u64::from(*len))
            }
            Type::RuntimeArray { .. } => 0,
            Type::Struct { members } => {
                let mut end = 0u64;
                for (i, m) in members.iter().enumerate() {
                    let off = self.member_offset(id, i as u32, true)?;
                    let size = match self.member_matrix(id, i as u32) {
                        Some(ml) => self.matrix_span(*m, ml)?,
                        None => self.size(*m, true)?,
                    };
                    end = end.max(off.saturating_add(size));
                }
                end
            }
            _ => self.implicit_size_align(id)?.0,
        })
    }

    /// Bytes covered by a matrix (or array of matrices) under a member's matrix layout.
    fn matrix_span(&self, id: Id, ml: MatrixLayout) -> Result<u64> {
        match self.get(id)? {
            Type::Matrix { column, columns } => {
                let Type::Vector { count, .. } = self.get(*column)? else {
                    return malformed("matrix column is not a vector");
                };
                let (major, minor) = if ml.row_major {
                    (*count, *columns)
                } else {
                    (*columns, *count)
                };
                Ok(u64::from(ml.stride) * u64::from(major - 1) + 4 * u64::from(minor))
            }
            Type::Array { .. } => self.size(id, true),
            _ => self.size(id, true),
        }
    }

    /// The (leaf type, byte offset) of every leaf of a value of type `id` in memory.
    /// `comp_stride` overrides the component stride when `id` is a row-major column vector.
    pub fn mem_leaves(
        &self,
        id: Id,
        explicit: bool,
        mat: Option<MatrixLayout>,
        comp_stride: Option<u64>,
    ) -> Result<Vec<(ScalarType, u64)>> {
        let mut out = Vec::with_capacity(self.leaf_count(id)?);
        self.push_mem_leaves(id, explicit, mat, comp_stride, 0, &mut out)?;
        Ok(out)
    }

    fn push_mem_leaves(
        &self,
        id: Id,
        explicit: bool,
        mat: Option<MatrixLayout>,
        comp_stride: Option<u64>,
        base: u64,
        out: &mut Vec<(ScalarType, u64)>,
    ) -> Result<()> {
        match self.get(id)? {
            Type::Vector { elem, count } => {
                let s = self.scalar(*elem)?;
                let stride = comp_stride.unwrap_or(u64::from(s.size()));
                for i in 0..u64::from(*count) {
                    out.push((s, base.saturating_add(i.saturating_mul(stride))));
                }
            }
            Type::Matrix { column, columns } => {
                for c in 0..*columns {
                    let (off, cs) = self.column_location(id, c, explicit, mat)?;
                    self.push_mem_leaves(
                        *column,
                        explicit,
                        None,
                        cs,
                        base.saturating_add(off),
                        out,
                    )?;
                }
            }
            Type::Array { elem, len } => {
                let stride = self.array_stride(id, explicit)?;
                for i in 0..u64::from(*len) {
                    let off = base.saturating_add(i.saturating_mul(stride));
                    self.push_mem_leaves(*elem, explicit, mat, None, off, out)?;
                }
            }
            Type::Struct { members } => {
                for (i, m) in members.iter().enumerate() {
                    let off = base.saturating_add(self.member_offset(id, i as u32, explicit)?);
                    let ml = if explicit {
                        self.member_matrix(id, i as u32)
                    } else {
                        None
                    };
                    self.push_mem_leaves(*m, explicit, ml, None, off, out)?;
                }
            }
            _ => out.push((self.scalar(id)?, base)),
        }
        Ok(())
    }

    /// Offset of column `c` of matrix type `id`, and the stride of its components when they
    /// are not packed (row-major).
    pub fn column_location(
        &self,
        id: Id,
        c: u32,
        explicit: bool,
        mat: Option<MatrixLayout>,
    ) -> Result<(u64, Option<u64>)> {
        let Type::Matrix { column, .. } = self.get(id)? else {
            return malformed(format!("%{id} is not a matrix"));
        };
        let elem = u64::from(self.component(*column)?.size());
        if !explicit {
            let (cs, _) = self.implicit_size_align(*column)?;
            return Ok((u64::from(c) * cs, None));
        }
        let Some(ml) = mat else {
            return malformed(format!(
                "matrix type %{id} in a block lacks a MatrixStride decoration"
            ));
        };
        if ml.row_major {
            Ok((u64::from(c) * elem, Some(u64::from(ml.stride))))
        } else {
            Ok((u64::from(c) * u64::from(ml.stride), None))
        }
    }
}
