//! The fixed-function state of the output merger, as typed values: compare and stencil ops,
//! blend factors and ops (each with `from_vk` for the raw `Vk*` enum numbers the pipeline
//! layer decodes), and the depth, stencil and per-attachment blend state structs.

use super::OutputError;

macro_rules! vk_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $vk:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant,)* }

        impl $name {
            /// Every value, in `Vk*` order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The value with this raw Vulkan number.
            pub fn from_vk(raw: u32) -> Result<$name, OutputError> {
                match raw {
                    $($vk => Ok($name::$variant),)*
                    _ => Err(OutputError::UnknownEnum { what: stringify!($name), value: raw }),
                }
            }
        }
    };
}

vk_enum! {
    /// `VkCompareOp`: `reference OP stored`.
    CompareOp {
        Never = 0,
        Less = 1,
        Equal = 2,
        LessOrEqual = 3,
        Greater = 4,
        NotEqual = 5,
        GreaterOrEqual = 6,
        Always = 7,
    }
}

vk_enum! {
    /// `VkStencilOp`.
    StencilOp {
        Keep = 0,
        Zero = 1,
        Replace = 2,
        IncrementAndClamp = 3,
        DecrementAndClamp = 4,
        Invert = 5,
        IncrementAndWrap = 6,
        DecrementAndWrap = 7,
    }
}

vk_enum! {
    /// `VkBlendFactor`. The `Src1*` (dual-source) factors decode but are refused by
    /// [`super::OutputSink::new`].
    BlendFactor {
        Zero = 0,
        One = 1,
        SrcColor = 2,
        OneMinusSrcColor = 3,
        DstColor = 4,
        OneMinusDstColor = 5,
        SrcAlpha = 6,
        OneMinusSrcAlpha = 7,
        DstAlpha = 8,
        OneMinusDstAlpha = 9,
        ConstantColor = 10,
        OneMinusConstantColor = 11,
        ConstantAlpha = 12,
        OneMinusConstantAlpha = 13,
        SrcAlphaSaturate = 14,
        Src1Color = 15,
        OneMinusSrc1Color = 16,
        Src1Alpha = 17,
        OneMinusSrc1Alpha = 18,
    }
}

vk_enum! {
    /// `VkBlendOp`, the basic ops (the advanced ones of VK_EXT_blend_operation_advanced are
    /// not offered).
    BlendOp {
        Add = 0,
        Subtract = 1,
        ReverseSubtract = 2,
        Min = 3,
        Max = 4,
    }
}

impl CompareOp {
    /// Whether `reference OP stored` holds.
    pub fn passes<T: PartialOrd>(self, reference: T, stored: T) -> bool {
        match self {
            CompareOp::Never => false,
            CompareOp::Less => reference < stored,
            CompareOp::Equal => reference == stored,
            CompareOp::LessOrEqual => reference <= stored,
            CompareOp::Greater => reference > stored,
            CompareOp::NotEqual => reference != stored,
            CompareOp::GreaterOrEqual => reference >= stored,
            CompareOp::Always => true,
        }
    }
}

impl StencilOp {
    /// The new 8-bit stencil value (before the write mask) (Vulkan §29.9 "Stencil Test").
    pub fn apply(self, stored: u8, reference: u8) -> u8 {
        match self {
            StencilOp::Keep => stored,
            StencilOp::Zero => 0,
            StencilOp::Replace => reference,
            StencilOp::IncrementAndClamp => stored.saturating_add(1),
            StencilOp::DecrementAndClamp => stored.saturating_sub(1),
            StencilOp::Invert => !stored,
            StencilOp::IncrementAndWrap => stored.wrapping_add(1),
            StencilOp::DecrementAndWrap => stored.wrapping_sub(1),
        }
    }
}

impl BlendFactor {
    /// Whether this factor reads the second fragment output (dual-source blending).
    pub fn is_dual_source(self) -> bool {
        matches!(
            self,
            BlendFactor::Src1Color
                | BlendFactor::OneMinusSrc1Color
                | BlendFactor::Src1Alpha
                | BlendFactor::OneMinusSrc1Alpha
        )
    }
}

/// `VkPipelineDepthStencilStateCreateInfo`'s depth part (plus the depth-bounds range).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DepthState {
    pub test_enable: bool,
    /// Only honoured while `test_enable` is set (Vulkan: depth writes are always disabled
    /// when the depth test is).
    pub write_enable: bool,
    pub compare_op: CompareOp,
    /// `depthBoundsTestEnable` with `(minDepthBounds, maxDepthBounds)`.
    pub bounds: Option<(f32, f32)>,
}

impl DepthState {
    pub const DISABLED: DepthState = DepthState {
        test_enable: false,
        write_enable: false,
        compare_op: CompareOp::Always,
        bounds: None,
    };
}

/// `VkStencilOpState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StencilFace {
    pub fail_op: StencilOp,
    pub pass_op: StencilOp,
    pub depth_fail_op: StencilOp,
    pub compare_op: CompareOp,
    pub compare_mask: u32,
    pub write_mask: u32,
    pub reference: u32,
}

impl StencilFace {
    pub const KEEP_ALWAYS: StencilFace = StencilFace {
        fail_op: StencilOp::Keep,
        pass_op: StencilOp::Keep,
        depth_fail_op: StencilOp::Keep,
        compare_op: CompareOp::Always,
        compare_mask: 0xff,
        write_mask: 0xff,
        reference: 0,
    };
}

/// The stencil test: `None` when `stencilTestEnable` is false.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StencilState {
    pub front: StencilFace,
    pub back: StencilFace,
}

/// `VkColorComponentFlagBits`.
pub mod component {
    pub const R: u8 = 0x1;
    pub const G: u8 = 0x2;
    pub const B: u8 = 0x4;
    pub const A: u8 = 0x8;
    pub const ALL: u8 = 0xf;
}

/// `VkPipelineColorBlendAttachmentState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlendState {
    pub enable: bool,
    pub src_color: BlendFactor,
    pub dst_color: BlendFactor,
    pub color_op: BlendOp,
    pub src_alpha: BlendFactor,
    pub dst_alpha: BlendFactor,
    pub alpha_op: BlendOp,
    /// [`component`] bits of the components written.
    pub write_mask: u8,
}

impl BlendState {
    /// Blending off, every component written.
    pub const REPLACE: BlendState = BlendState {
        enable: false,
        src_color: BlendFactor::One,
        dst_color: BlendFactor::Zero,
        color_op: BlendOp::Add,
        src_alpha: BlendFactor::One,
        dst_alpha: BlendFactor::Zero,
        alpha_op: BlendOp::Add,
        write_mask: component::ALL,
    };

    /// Classic "over" blending: `src·αs + dst·(1 − αs)` on colour and alpha.
    pub const ALPHA: BlendState = BlendState {
        enable: true,
        src_color: BlendFactor::SrcAlpha,
        dst_color: BlendFactor::OneMinusSrcAlpha,
        color_op: BlendOp::Add,
        src_alpha: BlendFactor::SrcAlpha,
        dst_alpha: BlendFactor::OneMinusSrcAlpha,
        alpha_op: BlendOp::Add,
        write_mask: component::ALL,
    };

    pub(crate) fn factors(&self) -> [BlendFactor; 4] {
        [
            self.src_color,
            self.dst_color,
            self.src_alpha,
            self.dst_alpha,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_numbers_round_trip_and_unknown_ones_are_refused() {
        for (i, op) in CompareOp::ALL.iter().enumerate() {
            assert_eq!(CompareOp::from_vk(i as u32), Ok(*op));
        }
        assert_eq!(BlendFactor::ALL.len(), 19);
        assert!(matches!(
            BlendOp::from_vk(1_000_148_000),
            Err(OutputError::UnknownEnum {
                what: "BlendOp",
                ..
            })
        ));
        assert!(StencilOp::from_vk(8).is_err());
    }

    #[test]
    fn stencil_ops_clamp_or_wrap_at_the_ends() {
        assert_eq!(StencilOp::IncrementAndClamp.apply(255, 0), 255);
        assert_eq!(StencilOp::IncrementAndWrap.apply(255, 0), 0);
        assert_eq!(StencilOp::DecrementAndClamp.apply(0, 0), 0);
        assert_eq!(StencilOp::DecrementAndWrap.apply(0, 0), 255);
        assert_eq!(StencilOp::Invert.apply(0x0f, 0), 0xf0);
        assert_eq!(StencilOp::Replace.apply(3, 9), 9);
    }

    #[test]
    fn compare_ops_put_the_reference_on_the_left() {
        assert!(CompareOp::Less.passes(1, 2));
        assert!(!CompareOp::Less.passes(2, 1));
        assert!(CompareOp::GreaterOrEqual.passes(2, 2));
        assert!(!CompareOp::Never.passes(0, 0));
    }
}
