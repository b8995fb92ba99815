//! Image formats: the table lives in [`protocol::format`] (the ICD and the device must agree on
//! it); [`texel`] packs and unpacks texels, [`convert`] holds the scalar conversions of the
//! Vulkan spec's "Fixed-Point Data Conversions" and "Floating Point Formats" sections.

pub mod convert;
pub mod texel;

pub use protocol::format::*;
pub use texel::{pack_color, pack_depth, unpack_color, unpack_depth, ColorValue};
