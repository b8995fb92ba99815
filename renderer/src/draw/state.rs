//! The fixed-function state of a draw, as typed values with validated constructors.
//!
//! Each piece has a `from_vk`-style constructor taking the raw numbers of the Vulkan structs
//! (`VkVertexInputBindingDescription`, `VkPrimitiveTopology`, `VkPolygonMode`, ...), so the
//! device layer can fill it from pipeline state and dynamic state alike without `ash`.
//! Depth/stencil and blending reuse [`crate::output::state`]; viewport, scissor, cull mode
//! and front face reuse [`crate::raster`].

use crate::output::{DepthState, StencilState};
use crate::raster::{CullMode, DepthBias, FrontFace, Rect, Viewport};

use super::vertex_format::VertexFormat;
use super::DrawError;

/// `maxVertexInputBindings`.
pub const MAX_VERTEX_BINDINGS: u32 = 32;
/// `maxVertexInputAttributes` (also bounds attribute locations).
pub const MAX_VERTEX_ATTRIBUTES: u32 = 32;
/// `maxVertexInputBindingStride`.
pub const MAX_VERTEX_BINDING_STRIDE: u32 = 2048;
/// `maxVertexInputAttributeOffset`.
pub const MAX_VERTEX_ATTRIBUTE_OFFSET: u32 = 2047;

/// `VkVertexInputRate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputRate {
    Vertex,
    Instance,
}

impl InputRate {
    pub fn from_vk(raw: u32) -> Result<InputRate, DrawError> {
        match raw {
            0 => Ok(InputRate::Vertex),
            1 => Ok(InputRate::Instance),
            _ => Err(DrawError::UnknownEnum {
                what: "VkVertexInputRate",
                value: raw,
            }),
        }
    }
}

/// `VkVertexInputBindingDescription`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VertexBinding {
    pub binding: u32,
    pub stride: u32,
    pub rate: InputRate,
}

/// `VkVertexInputAttributeDescription`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VertexAttribute {
    pub location: u32,
    pub binding: u32,
    pub format: VertexFormat,
    pub offset: u32,
}

/// `VkPipelineVertexInputStateCreateInfo`, validated: bindings and locations unique and in
/// range, every attribute naming a described binding (VUID-VkPipelineVertexInputStateCreateInfo-
/// pVertexBindingDescriptions-00616, -pVertexAttributeDescriptions-00617, -binding-00615).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VertexInputState {
    bindings: Vec<VertexBinding>,
    attributes: Vec<VertexAttribute>,
}

impl VertexInputState {
    pub fn new(
        bindings: Vec<VertexBinding>,
        attributes: Vec<VertexAttribute>,
    ) -> Result<VertexInputState, DrawError> {
        if bindings.len() > MAX_VERTEX_BINDINGS as usize {
            return Err(DrawError::InvalidVertexInput("more than 32 bindings"));
        }
        if attributes.len() > MAX_VERTEX_ATTRIBUTES as usize {
            return Err(DrawError::InvalidVertexInput("more than 32 attributes"));
        }
        for (i, b) in bindings.iter().enumerate() {
            if b.binding >= MAX_VERTEX_BINDINGS {
                return Err(DrawError::InvalidVertexInput("binding number ≥ 32"));
            }
            if b.stride > MAX_VERTEX_BINDING_STRIDE {
                return Err(DrawError::InvalidVertexInput("stride above 2048"));
            }
            if bindings[..i].iter().any(|o| o.binding == b.binding) {
                return Err(DrawError::InvalidVertexInput("binding described twice"));
            }
        }
        for (i, a) in attributes.iter().enumerate() {
            if a.location >= MAX_VERTEX_ATTRIBUTES {
                return Err(DrawError::InvalidVertexInput("location ≥ 32"));
            }
            if a.offset > MAX_VERTEX_ATTRIBUTE_OFFSET {
                return Err(DrawError::InvalidVertexInput("attribute offset above 2047"));
            }
            if !bindings.iter().any(|b| b.binding == a.binding) {
                return Err(DrawError::InvalidVertexInput(
                    "attribute names a binding that is not described",
                ));
            }
            if attributes[..i].iter().any(|o| o.location == a.location) {
                return Err(DrawError::InvalidVertexInput("location described twice"));
            }
        }
        Ok(VertexInputState {
            bindings,
            attributes,
        })
    }

    pub fn bindings(&self) -> &[VertexBinding] {
        &self.bindings
    }

    pub fn attributes(&self) -> &[VertexAttribute] {
        &self.attributes
    }

    pub(crate) fn binding(&self, binding: u32) -> Option<&VertexBinding> {
        self.bindings.iter().find(|b| b.binding == binding)
    }

    pub(crate) fn attribute(&self, location: u32) -> Option<&VertexAttribute> {
        self.attributes.iter().find(|a| a.location == location)
    }
}

/// `VkPrimitiveTopology` (the adjacency and patch topologies need geometry / tessellation
/// shaders, which are not offered).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    PointList,
    LineList,
    LineStrip,
    TriangleList,
    TriangleStrip,
    TriangleFan,
}

impl Topology {
    pub fn from_vk(raw: u32) -> Result<Topology, DrawError> {
        match raw {
            0 => Ok(Topology::PointList),
            1 => Ok(Topology::LineList),
            2 => Ok(Topology::LineStrip),
            3 => Ok(Topology::TriangleList),
            4 => Ok(Topology::TriangleStrip),
            5 => Ok(Topology::TriangleFan),
            6..=10 => Err(DrawError::Unsupported(
                "adjacency and patch topologies (no geometry or tessellation shaders)",
            )),
            _ => Err(DrawError::UnknownEnum {
                what: "VkPrimitiveTopology",
                value: raw,
            }),
        }
    }

    pub(crate) fn is_line(self) -> bool {
        matches!(self, Topology::LineList | Topology::LineStrip)
    }
}

/// `VkPipelineInputAssemblyStateCreateInfo`. With `primitive_restart`, the all-ones index cuts
/// strips and fans (and, as `primitiveTopologyListRestart` would, lists).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputAssembly {
    pub topology: Topology,
    pub primitive_restart: bool,
}

/// `VkPolygonMode`: only `FILL` is offered (`fillModeNonSolid` is not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolygonMode {
    Fill,
}

impl PolygonMode {
    pub fn from_vk(raw: u32) -> Result<PolygonMode, DrawError> {
        match raw {
            0 => Ok(PolygonMode::Fill),
            1 | 2 => Err(DrawError::Unsupported(
                "polygon mode LINE / POINT (fillModeNonSolid is not offered)",
            )),
            _ => Err(DrawError::UnknownEnum {
                what: "VkPolygonMode",
                value: raw,
            }),
        }
    }
}

/// `VkCullModeFlags` from its raw bits.
pub fn cull_mode_from_vk(raw: u32) -> Result<CullMode, DrawError> {
    match raw {
        0 => Ok(CullMode::None),
        1 => Ok(CullMode::Front),
        2 => Ok(CullMode::Back),
        3 => Ok(CullMode::FrontAndBack),
        _ => Err(DrawError::UnknownEnum {
            what: "VkCullModeFlags",
            value: raw,
        }),
    }
}

/// `VkFrontFace` from its raw number.
pub fn front_face_from_vk(raw: u32) -> Result<FrontFace, DrawError> {
    match raw {
        0 => Ok(FrontFace::CounterClockwise),
        1 => Ok(FrontFace::Clockwise),
        _ => Err(DrawError::UnknownEnum {
            what: "VkFrontFace",
            value: raw,
        }),
    }
}

/// `VkPipelineRasterizationStateCreateInfo` (plus the dynamic line width and depth bias).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RasterizationState {
    pub polygon_mode: PolygonMode,
    pub cull_mode: CullMode,
    pub front_face: FrontFace,
    pub depth_clamp: bool,
    /// `depthBiasEnable` with its three parameters.
    pub depth_bias: Option<DepthBias>,
    /// Must be 1.0 when lines are drawn (`wideLines` is not offered); checked at draw time
    /// so triangle pipelines with any line width keep working.
    pub line_width: f32,
    pub rasterizer_discard: bool,
}

impl RasterizationState {
    /// Fill mode, no culling, counter-clockwise front faces, no clamp or bias, width 1.
    pub const DEFAULT: RasterizationState = RasterizationState {
        polygon_mode: PolygonMode::Fill,
        cull_mode: CullMode::None,
        front_face: FrontFace::CounterClockwise,
        depth_clamp: false,
        depth_bias: None,
        line_width: 1.0,
        rasterizer_discard: false,
    };

    /// From the raw fields of `VkPipelineRasterizationStateCreateInfo`; `depth_bias` is
    /// `(constantFactor, clamp, slopeFactor)` when `depthBiasEnable` is set.
    #[allow(clippy::too_many_arguments)]
    pub fn from_vk(
        depth_clamp: bool,
        rasterizer_discard: bool,
        polygon_mode: u32,
        cull_mode: u32,
        front_face: u32,
        depth_bias: Option<(f32, f32, f32)>,
        line_width: f32,
    ) -> Result<RasterizationState, DrawError> {
        let depth_bias = match depth_bias {
            None => None,
            Some((constant, clamp, slope)) => {
                if !(constant.is_finite() && clamp.is_finite() && slope.is_finite()) {
                    return Err(DrawError::InvalidState("non-finite depth bias"));
                }
                Some(DepthBias {
                    constant,
                    slope,
                    clamp,
                })
            }
        };
        Ok(RasterizationState {
            polygon_mode: PolygonMode::from_vk(polygon_mode)?,
            cull_mode: cull_mode_from_vk(cull_mode)?,
            front_face: front_face_from_vk(front_face)?,
            depth_clamp,
            depth_bias,
            line_width,
            rasterizer_discard,
        })
    }
}

/// Everything fixed-function a draw needs besides its attachments and resources. Blend state
/// travels with each [`crate::output::ColorAttachment`].
#[derive(Clone, Debug, PartialEq)]
pub struct GraphicsState {
    pub vertex_input: VertexInputState,
    pub input_assembly: InputAssembly,
    pub viewport: Viewport,
    pub scissor: Rect,
    pub rasterization: RasterizationState,
    pub depth: DepthState,
    /// `None` when `stencilTestEnable` is false.
    pub stencil: Option<StencilState>,
    pub blend_constants: [f32; 4],
    /// `Some(VkLogicOp)` when `logicOpEnable` is set: refused at draw time.
    pub logic_op: Option<u32>,
}

impl GraphicsState {
    /// Triangle lists over a `width`×`height` target: viewport (depth 0..1) and scissor
    /// covering it, no vertex input, default rasterization, no depth or stencil test.
    pub fn covering(width: u32, height: u32) -> GraphicsState {
        GraphicsState {
            vertex_input: VertexInputState::default(),
            input_assembly: InputAssembly {
                topology: Topology::TriangleList,
                primitive_restart: false,
            },
            viewport: Viewport {
                x: 0.0,
                y: 0.0,
                width: width as f32,
                height: height as f32,
                min_depth: 0.0,
                max_depth: 1.0,
            },
            scissor: Rect {
                x: 0,
                y: 0,
                width,
                height,
            },
            rasterization: RasterizationState::DEFAULT,
            depth: DepthState::DISABLED,
            stencil: None,
            blend_constants: [0.0; 4],
            logic_op: None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn attr(location: u32, binding: u32) -> VertexAttribute {
        VertexAttribute {
            location,
            binding,
            format: VertexFormat::from_vk(109).unwrap(),
            offset: 0,
        }
    }

    fn binding(binding: u32) -> VertexBinding {
        VertexBinding {
            binding,
            stride: 16,
            rate: InputRate::Vertex,
        }
    }

    #[test]
    fn vertex_input_refuses_duplicates_and_dangling_bindings() {
        assert!(VertexInputState::new(vec![binding(0)], vec![attr(0, 0), attr(1, 0)]).is_ok());
        assert!(VertexInputState::new(vec![binding(0), binding(0)], vec![]).is_err());
        assert!(VertexInputState::new(vec![binding(0)], vec![attr(0, 0), attr(0, 0)]).is_err());
        assert!(VertexInputState::new(vec![binding(0)], vec![attr(0, 1)]).is_err());
        assert!(VertexInputState::new(vec![binding(32)], vec![]).is_err());
        let mut wide = binding(0);
        wide.stride = 4096;
        assert!(VertexInputState::new(vec![wide], vec![]).is_err());
    }

    #[test]
    fn raw_enums_decode_and_unsupported_ones_are_clear_errors() {
        assert_eq!(Topology::from_vk(5).unwrap(), Topology::TriangleFan);
        assert!(matches!(
            Topology::from_vk(6),
            Err(DrawError::Unsupported(_))
        ));
        assert!(matches!(
            Topology::from_vk(99),
            Err(DrawError::UnknownEnum { .. })
        ));
        assert!(matches!(
            PolygonMode::from_vk(1),
            Err(DrawError::Unsupported(_))
        ));
        assert_eq!(cull_mode_from_vk(3).unwrap(), CullMode::FrontAndBack);
        assert!(cull_mode_from_vk(4).is_err());
        assert!(InputRate::from_vk(2).is_err());
        let r =
            RasterizationState::from_vk(false, false, 0, 2, 1, Some((1.0, 0.0, 2.0)), 1.0).unwrap();
        assert_eq!(r.cull_mode, CullMode::Back);
        assert_eq!(r.front_face, FrontFace::Clockwise);
        assert_eq!(r.depth_bias.unwrap().slope, 2.0);
        assert!(RasterizationState::from_vk(
            false,
            false,
            0,
            0,
            0,
            Some((f32::NAN, 0.0, 0.0)),
            1.0
        )
        .is_err());
    }
}
