//! Samplers, image views and texel-buffer views as sampling sees them, and the image helper
//! that compiled shaders call for every image operation (`shader::abi::ImageOpFn`).
//!
//! The types here are plain validated values; the device layer builds them from its Vulkan
//! objects when it resolves a draw's or dispatch's descriptors
//! ([`crate::DescriptorSource::image_descriptor`] / [`crate::DescriptorSource::sampler_descriptor`]).

mod address;
mod fast;
mod filter;
mod helper;
mod resolved;
mod table;

use std::sync::Arc;

use crate::buffer::Buffer;
use crate::error::RendererError;
use crate::format::Format;
use crate::image::Image;
pub use crate::output::CompareOp;
pub(crate) use fast::{Arrangement, CopySampler, Lanes, OutByte, GROUP_LANES, RECT_BLOCKS};
pub use helper::image_op;
pub use resolved::{ResolvedImage, ResolvedSampler};
pub use table::ImageTable;

macro_rules! vk_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $vk:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant,)* }

        impl $name {
            /// Every value, in `Vk*` order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The value with this raw Vulkan number, `None` for any other number.
            pub fn from_vk(raw: u32) -> Option<$name> {
                match raw {
                    $($vk => Some($name::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

vk_enum! {
    /// `VkFilter` (no cubic filtering).
    Filter {
        Nearest = 0,
        Linear = 1,
    }
}

vk_enum! {
    /// `VkSamplerMipmapMode`.
    MipmapMode {
        Nearest = 0,
        Linear = 1,
    }
}

vk_enum! {
    /// `VkSamplerAddressMode`.
    AddressMode {
        Repeat = 0,
        MirroredRepeat = 1,
        ClampToEdge = 2,
        ClampToBorder = 3,
        MirrorClampToEdge = 4,
    }
}

vk_enum! {
    /// `VkBorderColor` (no custom border colours).
    BorderColor {
        FloatTransparentBlack = 0,
        IntTransparentBlack = 1,
        FloatOpaqueBlack = 2,
        IntOpaqueBlack = 3,
        FloatOpaqueWhite = 4,
        IntOpaqueWhite = 5,
    }
}

vk_enum! {
    /// `VkImageViewType`.
    ViewType {
        D1 = 0,
        D2 = 1,
        D3 = 2,
        Cube = 3,
        D1Array = 4,
        D2Array = 5,
        CubeArray = 6,
    }
}

vk_enum! {
    /// `VkComponentSwizzle`.
    ComponentSwizzle {
        Identity = 0,
        Zero = 1,
        One = 2,
        R = 3,
        G = 4,
        B = 5,
        A = 6,
    }
}

/// maxSamplerLodBias.
pub const MAX_SAMPLER_LOD_BIAS: f32 = 15.0;

/// The parts of `VkSamplerCreateInfo` that sampling reads (anisotropy is not offered).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplerState {
    pub mag_filter: Filter,
    pub min_filter: Filter,
    pub mipmap_mode: MipmapMode,
    /// U, V, W.
    pub address_modes: [AddressMode; 3],
    pub mip_lod_bias: f32,
    /// `compareEnable` with its `compareOp`.
    pub compare: Option<CompareOp>,
    pub min_lod: f32,
    pub max_lod: f32,
    pub border_color: BorderColor,
    pub unnormalized_coordinates: bool,
}

/// A validated sampler; cloning clones a handle.
#[derive(Clone, Debug)]
pub struct Sampler {
    state: Arc<SamplerState>,
}

impl Sampler {
    /// vkCreateSampler's valid usage on the state (VUID-VkSamplerCreateInfo-mipLodBias-01069:
    /// |bias| within maxSamplerLodBias; -maxLod-01973: min ≤ max; -unnormalizedCoordinates-
    /// 01072..01076: unnormalized sampling is one filter, nearest mipmaps, LOD 0, clamping
    /// address modes for U and V, no compare).
    pub fn new(state: SamplerState) -> Result<Sampler, RendererError> {
        let lods = [state.mip_lod_bias, state.min_lod, state.max_lod];
        if lods.iter().any(|v| v.is_nan()) {
            return Err(RendererError::InvalidSampler("a LOD value is NaN"));
        }
        if state.mip_lod_bias.abs() > MAX_SAMPLER_LOD_BIAS {
            return Err(RendererError::InvalidSampler(
                "mipLodBias exceeds maxSamplerLodBias",
            ));
        }
        if state.min_lod > state.max_lod {
            return Err(RendererError::InvalidSampler(
                "minLod is greater than maxLod",
            ));
        }
        if state.unnormalized_coordinates {
            let clamping =
                |m: AddressMode| matches!(m, AddressMode::ClampToEdge | AddressMode::ClampToBorder);
            if state.mag_filter != state.min_filter
                || state.mipmap_mode != MipmapMode::Nearest
                || state.min_lod != 0.0
                || state.max_lod != 0.0
                || !clamping(state.address_modes[0])
                || !clamping(state.address_modes[1])
                || state.compare.is_some()
            {
                return Err(RendererError::InvalidSampler(
                    "unnormalizedCoordinates with a state it does not allow",
                ));
            }
        }
        Ok(Sampler {
            state: Arc::new(state),
        })
    }

    pub fn state(&self) -> &SamplerState {
        &self.state
    }
}

/// An image view as sampling and storage-image access see it: the image and the subresources
/// and component mapping the view names.
#[derive(Clone, Debug)]
pub struct ImageView {
    pub image: Image,
    pub view_type: ViewType,
    /// The view's format (equal to the image's, or size-compatible with MUTABLE_FORMAT).
    pub format: Format,
    /// R, G, B, A.
    pub components: [ComponentSwizzle; 4],
    /// `VkImageAspectFlags` of the view (one aspect for sampling a depth/stencil image).
    pub aspect_mask: u32,
    pub base_level: u32,
    pub level_count: u32,
    pub base_layer: u32,
    pub layer_count: u32,
}

/// A texel-buffer view (`VkBufferView`): `range` bytes of `buffer` from `offset`, read as
/// elements of `format`.
#[derive(Clone, Debug)]
pub struct BufferView {
    pub buffer: Buffer,
    pub format: Format,
    pub offset: u64,
    pub range: u64,
}

/// What an image slot (`shader::ir::ImageBinding`) is bound to.
#[derive(Clone, Debug)]
pub enum ImageDescriptor {
    /// A sampled, storage or input-attachment image; `sampler` is the combined image
    /// sampler's sampler (`None` for the other kinds).
    Image {
        view: ImageView,
        sampler: Option<Sampler>,
    },
    /// A uniform or storage texel buffer.
    TexelBuffer(BufferView),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::image::{ImageDesc, ImageType, Tiling};

    /// A resolved 2D RGBA8 view of `levels` levels of a `w`×`h` image (zeroed).
    pub(crate) fn rgba8_image(w: u32, h: u32, levels: u32) -> ResolvedImage {
        let image = Image::new_host(ImageDesc {
            image_type: ImageType::D2,
            format: Format::R8G8B8A8_UNORM,
            extent: [w, h, 1],
            mip_levels: levels,
            array_layers: 1,
            tiling: Tiling::Optimal,
        })
        .unwrap();
        ResolvedImage::from_view(&ImageView {
            image,
            view_type: ViewType::D2,
            format: Format::R8G8B8A8_UNORM,
            components: [ComponentSwizzle::Identity; 4],
            aspect_mask: crate::format::aspect::COLOR,
            base_level: 0,
            level_count: levels,
            base_layer: 0,
            layer_count: 1,
        })
        .unwrap()
    }
}
