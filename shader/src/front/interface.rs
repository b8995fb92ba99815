//! Stage interface of vertex and fragment entry points: `Input` and `Output` variables by
//! `Location` + `Component`, flattened into one slot per 32-bit lane (Vulkan §15.1.4
//! "Location Assignment": each array element, matrix column and struct member starts a new
//! location), and the output builtins (`Position`, `PointSize`, `FragDepth`).
//!
//! Inputs become [`ir::InputSlot`]s read with `Op::Input`; outputs become
//! [`ir::OutputSlot`]s backed by vars, so the shader may read back what it wrote and the
//! back end takes each var's value when the invocation ends.

use spirv::{BuiltIn, Decoration, StorageClass};

use super::lower::Lower;
use super::types::{Id, Type};
use super::{malformed, FrontError, Result};
use crate::ir::{
    InputSlot, Interpolation, OutputSlot, OutputTarget, ScalarType, Stage, VarId,
    MAX_INTERFACE_LOCATIONS,
};

/// What one scalar leaf of an interface variable is.
#[derive(Clone, Debug)]
pub(crate) enum InterfaceLeaf {
    /// `Module::inputs[n]`.
    Input(u32),
    /// The var backing an output slot.
    Output(VarId),
    /// A builtin we do not implement yet: any access is an error naming it.
    Refused(BuiltIn),
}

/// One flattened lane: (location, component, type).
type Lane = (u32, u8, ScalarType);

impl Lower<'_> {
    /// Enters the entry point's Input/Output variables (vertex and fragment only).
    pub fn declare_interface(&mut self) -> Result<()> {
        if self.m.stage == Stage::Compute {
            return Ok(());
        }
        let mut ids = self.m.interface.clone();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let Some(g) = self.m.globals.get(&id) else {
                return malformed(format!("entry point interface %{id} is not a variable"));
            };
            let (class, ty) = (g.class, g.pointee);
            match class {
                StorageClass::Input | StorageClass::Output => {}
                _ => continue,
            }
            let leaves = if let Some(b) = self.m.decos.builtin.get(&id) {
                if class == StorageClass::Input {
                    // Whole-variable input builtins are read through `builtin_leaves`.
                    continue;
                }
                self.output_builtin(*b, ty)?
            } else if self.has_member_builtins(ty)? {
                if class == StorageClass::Input {
                    return Err(FrontError::Unsupported(format!(
                        "builtin input blocks in a {:?} shader",
                        self.m.stage
                    )));
                }
                let Type::Struct { members } = self.m.types.get(ty)?.clone() else {
                    return malformed("builtin block is not a struct");
                };
                let mut leaves = Vec::new();
                for (i, member) in members.iter().enumerate() {
                    let key = (ty, i as u32);
                    let Some(b) = self.m.decos.member_builtin.get(&key) else {
                        return malformed("block mixes builtin and user members");
                    };
                    leaves.extend(self.output_builtin(*b, *member)?);
                }
                leaves
            } else {
                self.location_leaves(id, ty, class)?
            };
            self.mem.interface.insert(id, leaves);
        }
        Ok(())
    }

    fn has_member_builtins(&self, ty: Id) -> Result<bool> {
        Ok(match self.m.types.get(ty)? {
            Type::Struct { members } => (0..members.len() as u32)
                .any(|i| self.m.decos.member_builtin.contains_key(&(ty, i))),
            _ => false,
        })
    }

    /// Leaves of an output builtin of SPIR-V type `ty`.
    fn output_builtin(&mut self, b: BuiltIn, ty: Id) -> Result<Vec<InterfaceLeaf>> {
        let stage = self.m.stage;
        let types = self.m.types.leaves(ty)?;
        let targets: Vec<OutputTarget> = match (stage, b) {
            (Stage::Vertex, BuiltIn::Position) => (0..4).map(OutputTarget::Position).collect(),
            (Stage::Vertex, BuiltIn::PointSize) => vec![OutputTarget::PointSize],
            (Stage::Fragment, BuiltIn::FragDepth) => vec![OutputTarget::FragDepth],
            (_, BuiltIn::ClipDistance | BuiltIn::CullDistance) => {
                return Ok(vec![InterfaceLeaf::Refused(b); types.len()])
            }
            (_, other) => {
                return Err(FrontError::Unsupported(format!(
                    "output builtin {other:?} in a {stage:?} shader"
                )))
            }
        };
        if types.len() != targets.len() || types.iter().any(|t| *t != ScalarType::F32) {
            return malformed(format!("output builtin {b:?} declared with the wrong type"));
        }
        Ok(targets
            .into_iter()
            .map(|target| InterfaceLeaf::Output(self.output_slot(target, ScalarType::F32)))
            .collect())
    }

    fn output_slot(&mut self, target: OutputTarget, ty: ScalarType) -> VarId {
        let var = self.b.var(ty);
        self.mem.outputs.push(OutputSlot { target, ty, var });
        var
    }

    /// Leaves of a user (Location-decorated) interface variable.
    fn location_leaves(
        &mut self,
        id: Id,
        ty: Id,
        class: StorageClass,
    ) -> Result<Vec<InterfaceLeaf>> {
        let d = &self.m.decos;
        let var_loc = d.location.get(&(id, None)).copied();
        let comp = d.component.get(&(id, None)).copied().unwrap_or(0);
        let var_interp = self.interpolation(id, None)?;
        let mut lanes: Vec<(Lane, Interpolation)> = Vec::new();
        match (var_loc, self.m.types.get(ty)?.clone()) {
            (Some(loc), _) => {
                let mut out = Vec::new();
                self.flatten(ty, loc, comp, &mut out)?;
                lanes.extend(out.into_iter().map(|l| (l, var_interp)));
            }
            // A block whose members carry the locations (Vulkan §15.1.4).
            (None, Type::Struct { members }) => {
                for (i, member) in members.iter().enumerate() {
                    let key = (ty, Some(i as u32));
                    let Some(loc) = d.location.get(&key).copied() else {
                        return malformed(format!("interface variable %{id} lacks a Location"));
                    };
                    let comp = d.component.get(&key).copied().unwrap_or(0);
                    let interp = match self.interpolation(ty, Some(i as u32))? {
                        Interpolation::Smooth => var_interp,
                        other => other,
                    };
                    let mut out = Vec::new();
                    self.flatten(*member, loc, comp, &mut out)?;
                    lanes.extend(out.into_iter().map(|l| (l, interp)));
                }
            }
            (None, _) => return malformed(format!("interface variable %{id} lacks a Location")),
        }
        let mut leaves = Vec::with_capacity(lanes.len());
        for ((location, component, ty), interp) in lanes {
            let taken = match class {
                StorageClass::Input => self
                    .mem
                    .inputs
                    .iter()
                    .any(|s| s.location == location && s.component == component),
                _ => self.mem.outputs.iter().any(|s| {
                    s.target
                        == OutputTarget::Location {
                            location,
                            component,
                        }
                }),
            };
            if taken {
                return malformed(format!(
                    "location {location} component {component} is used twice"
                ));
            }
            if class == StorageClass::Input {
                // Vulkan VUID-StandaloneSpirv-Flat-04744: integer fragment inputs are Flat.
                let interp = match self.m.stage {
                    Stage::Fragment => interp,
                    _ => Interpolation::Smooth,
                };
                if self.m.stage == Stage::Fragment
                    && ty == ScalarType::I32
                    && interp != Interpolation::Flat
                {
                    return malformed(format!(
                        "integer fragment input at location {location} is not Flat"
                    ));
                }
                let index = self.mem.inputs.len() as u32;
                self.mem.inputs.push(InputSlot {
                    location,
                    component,
                    ty,
                    interp,
                });
                leaves.push(InterfaceLeaf::Input(index));
            } else {
                let target = OutputTarget::Location {
                    location,
                    component,
                };
                leaves.push(InterfaceLeaf::Output(self.output_slot(target, ty)));
            }
        }
        Ok(leaves)
    }

    /// The interpolation decorations on a variable or member; refuses those we lack.
    fn interpolation(&self, target: Id, member: Option<u32>) -> Result<Interpolation> {
        let mut interp = Interpolation::Smooth;
        for deco in self
            .m
            .decos
            .interp
            .get(&(target, member))
            .into_iter()
            .flatten()
        {
            match deco {
                Decoration::Flat => interp = Interpolation::Flat,
                Decoration::NoPerspective => interp = Interpolation::NoPerspective,
                // Single-sample rendering: the centroid is the pixel center.
                Decoration::Centroid => {}
                other => {
                    return Err(FrontError::Unsupported(format!(
                        "interpolation decoration {other:?}"
                    )))
                }
            }
        }
        Ok(interp)
    }

    /// Appends the 32-bit lanes of `ty` placed at `loc`/`comp`; returns the locations used.
    fn flatten(&self, ty: Id, loc: u32, comp: u32, out: &mut Vec<Lane>) -> Result<u32> {
        let over = || {
            FrontError::Limit(format!(
                "interface locations beyond {MAX_INTERFACE_LOCATIONS}"
            ))
        };
        if loc >= MAX_INTERFACE_LOCATIONS {
            return Err(over());
        }
        match self.m.types.get(ty)?.clone() {
            Type::Int { .. } | Type::Float | Type::Bool => {
                let st = self.lane_type(ty)?;
                self.push_lanes(loc, comp, 1, st, out)?;
                Ok(1)
            }
            Type::Vector { elem, count } => {
                let st = self.lane_type(elem)?;
                self.push_lanes(loc, comp, count, st, out)?;
                Ok(1)
            }
            Type::Matrix { column, columns } => self.flatten_array(column, columns, loc, comp, out),
            Type::Array { elem, len } => self.flatten_array(elem, len, loc, comp, out),
            Type::Struct { members } => {
                if comp != 0 {
                    return malformed("Component decoration on a struct");
                }
                let mut used = 0u32;
                for m in members {
                    let at = loc.checked_add(used).ok_or_else(over)?;
                    used = used
                        .checked_add(self.flatten(m, at, 0, out)?)
                        .ok_or_else(over)?;
                }
                Ok(used)
            }
            other => Err(FrontError::Unsupported(format!(
                "interface variable of type {other:?}"
            ))),
        }
    }

    fn flatten_array(
        &self,
        elem: Id,
        len: u32,
        loc: u32,
        comp: u32,
        out: &mut Vec<Lane>,
    ) -> Result<u32> {
        let over = || {
            FrontError::Limit(format!(
                "interface locations beyond {MAX_INTERFACE_LOCATIONS}"
            ))
        };
        // Each element takes at least one location, so `len` is bounded before any work.
        if len > MAX_INTERFACE_LOCATIONS {
            return Err(over());
        }
        let mut used = 0u32;
        for _ in 0..len {
            let at = loc.checked_add(used).ok_or_else(over)?;
            used = used
                .checked_add(self.flatten(elem, at, comp, out)?)
                .ok_or_else(over)?;
        }
        Ok(used)
    }

    fn lane_type(&self, scalar: Id) -> Result<ScalarType> {
        match self.m.types.get(scalar)? {
            Type::Float => Ok(ScalarType::F32),
            Type::Int { bits: 32 } => Ok(ScalarType::I32),
            Type::Int { bits } => Err(FrontError::Unsupported(format!(
                "{bits}-bit integers in the stage interface"
            ))),
            _ => malformed("Bool in the stage interface"),
        }
    }

    fn push_lanes(
        &self,
        loc: u32,
        comp: u32,
        n: u32,
        st: ScalarType,
        out: &mut Vec<Lane>,
    ) -> Result<()> {
        if comp.checked_add(n).is_none_or(|end| end > 4) {
            return malformed(format!(
                "location {loc}: component {comp} + {n} components exceeds 4"
            ));
        }
        if loc >= MAX_INTERFACE_LOCATIONS {
            return Err(FrontError::Limit(format!(
                "interface locations beyond {MAX_INTERFACE_LOCATIONS}"
            )));
        }
        out.extend((comp..comp + n).map(|c| (loc, c as u8, st)));
        Ok(())
    }

    /// The interface leaves `first .. first + n` of variable `var`.
    pub fn interface_leaves(&self, var: Id, first: usize, n: usize) -> Result<Vec<InterfaceLeaf>> {
        let leaves = self
            .mem
            .interface
            .get(&var)
            .and_then(|l| l.get(first..first.checked_add(n)?));
        let Some(leaves) = leaves else {
            return malformed("interface variable access out of range");
        };
        if let Some(InterfaceLeaf::Refused(b)) = leaves
            .iter()
            .find(|l| matches!(l, InterfaceLeaf::Refused(_)))
        {
            return Err(FrontError::Unsupported(format!("builtin {b:?}")));
        }
        Ok(leaves.to_vec())
    }
}
