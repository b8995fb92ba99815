//! Samplers and texel-buffer views (vkCreateSampler, vkCreateBufferView and their destroys).
//!
//! A sampler is an immutable, validated [`renderer::sampler::Sampler`] value. A buffer view
//! keeps the buffer's id and its validated window, like a buffer descriptor: the buffer's
//! memory is resolved per submission ([`BufferViews::resolve`]), and a buffer destroyed under
//! a live view makes a later use fail cleanly.

use protocol::format::Format;
use protocol::sampler::{buffer_view_range, SamplerCreateInfo};
use protocol::stream::CreateBufferView;
use renderer::sampler::{
    AddressMode, BorderColor, BufferView, CompareOp, Filter, MipmapMode, Sampler, SamplerState,
};

use super::buffer::{usage, Buffers};
use super::guest::GuestScope;
use super::objects::ObjectTable;
use super::ExecError;

fn invalid(message: String) -> ExecError {
    ExecError::Invalid(message)
}

/// vkCreateSampler: the wire rules both sides share ([`SamplerCreateInfo::check`]), then the
/// renderer's own ([`Sampler::new`]).
pub(crate) fn sampler_from_wire(info: &SamplerCreateInfo) -> Result<Sampler, ExecError> {
    info.check().map_err(|e| invalid(e.to_string()))?;
    let enum_value = |what: &str, raw: u32| invalid(format!("unknown {what} {raw}"));
    let filter = |raw| Filter::from_vk(raw).ok_or_else(|| enum_value("VkFilter", raw));
    let mut address_modes = [AddressMode::Repeat; 3];
    for (mode, &raw) in address_modes.iter_mut().zip(&info.address_modes) {
        *mode = AddressMode::from_vk(raw).ok_or_else(|| enum_value("VkSamplerAddressMode", raw))?;
    }
    // VUID-VkSamplerCreateInfo-addressModeU-01078: borderColor is read only when an address
    // mode clamps to the border.
    let border_color = if address_modes.contains(&AddressMode::ClampToBorder) {
        BorderColor::from_vk(info.border_color)
            .ok_or_else(|| enum_value("VkBorderColor", info.border_color))?
    } else {
        BorderColor::FloatTransparentBlack
    };
    let compare = if info.compare_enable {
        Some(
            CompareOp::from_vk(info.compare_op)
                .map_err(|_| enum_value("VkCompareOp", info.compare_op))?,
        )
    } else {
        None
    };
    let state = SamplerState {
        mag_filter: filter(info.mag_filter)?,
        min_filter: filter(info.min_filter)?,
        mipmap_mode: MipmapMode::from_vk(info.mipmap_mode)
            .ok_or_else(|| enum_value("VkSamplerMipmapMode", info.mipmap_mode))?,
        address_modes,
        mip_lod_bias: info.mip_lod_bias,
        compare,
        min_lod: info.min_lod,
        max_lod: info.max_lod,
        border_color,
        unnormalized_coordinates: info.unnormalized_coordinates,
    };
    Ok(Sampler::new(state)?)
}

/// A validated texel-buffer view: `range` bytes of buffer `buffer` from `offset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BufferViewObject {
    pub(crate) buffer: u64,
    pub(crate) format: Format,
    pub(crate) offset: u64,
    pub(crate) range: u64,
    /// The buffer's texel-buffer usage bits (`usage::UNIFORM_TEXEL_BUFFER` /
    /// `usage::STORAGE_TEXEL_BUFFER`) when the view was made.
    pub(crate) usage: u32,
}

impl BufferViewObject {
    /// vkCreateBufferView's valid usage (VUID-VkBufferViewCreateInfo-*): the rules both sides
    /// share ([`buffer_view_range`]) and memory being bound (-buffer-00935).
    pub(crate) fn new(
        c: &CreateBufferView,
        buffers: &Buffers,
    ) -> Result<BufferViewObject, ExecError> {
        let buffer = buffers.get(c.buffer)?;
        let bad = |why: String| {
            invalid(format!(
                "buffer view of buffer {} (offset {}, range {}): {why}",
                c.buffer, c.offset, c.range
            ))
        };
        let range = buffer_view_range(buffer.size, buffer.usage, c.format, c.offset, c.range)
            .map_err(|e| bad(e.to_string()))?;
        if buffer.memory.is_none() {
            return Err(bad("the buffer has no memory bound".into()));
        }
        let format = Format::from_vk(c.format).map_err(|e| bad(e.to_string()))?;
        Ok(BufferViewObject {
            buffer: c.buffer,
            format,
            offset: c.offset,
            range,
            usage: buffer.usage & (usage::UNIFORM_TEXEL_BUFFER | usage::STORAGE_TEXEL_BUFFER),
        })
    }
}

/// The sampler and buffer-view tables of a context.
pub(crate) struct Samplers {
    pub(crate) samplers: ObjectTable<Sampler>,
    pub(crate) buffer_views: ObjectTable<BufferViewObject>,
}

impl Samplers {
    pub(crate) fn new() -> Samplers {
        Samplers {
            samplers: ObjectTable::new("sampler"),
            buffer_views: ObjectTable::new("buffer view"),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.samplers.len() + self.buffer_views.len()
    }

    /// The renderer's view of buffer view `id` for this submission. The buffer is looked up
    /// again (it may have been destroyed, or its id reused by a smaller buffer since).
    pub(crate) fn resolve_buffer_view(
        &self,
        id: u64,
        buffers: &Buffers,
        scope: &GuestScope<'_>,
    ) -> Result<BufferView, ExecError> {
        let view = self.buffer_views.get(id)?;
        let buffer = buffers.get(view.buffer)?;
        if view
            .offset
            .checked_add(view.range)
            .is_none_or(|end| end > buffer.size)
        {
            return Err(invalid(format!(
                "buffer view {id}: its window is outside buffer {} ({} bytes)",
                view.buffer, buffer.size
            )));
        }
        let resolved = buffers.resolve(view.buffer, view.usage, scope)?;
        Ok(BufferView {
            buffer: resolved,
            format: view.format,
            offset: view.offset,
            range: view.range,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    pub(crate) fn linear_repeat() -> SamplerCreateInfo {
        SamplerCreateInfo {
            flags: 0,
            mag_filter: 1,
            min_filter: 1,
            mipmap_mode: 1,
            address_modes: [0, 0, 0],
            mip_lod_bias: 0.0,
            anisotropy_enable: false,
            max_anisotropy: 1.0,
            compare_enable: false,
            compare_op: 99,
            min_lod: 0.0,
            max_lod: 1000.0,
            border_color: 99,
            unnormalized_coordinates: false,
        }
    }

    #[test]
    fn sampler_state_comes_from_the_wire_values() {
        let info = SamplerCreateInfo {
            address_modes: [3, 2, 1],
            border_color: 4,
            compare_enable: true,
            compare_op: 3,
            mip_lod_bias: -2.0,
            ..linear_repeat()
        };
        let s = sampler_from_wire(&info).unwrap();
        let st = s.state();
        assert_eq!(
            st.address_modes,
            [
                AddressMode::ClampToBorder,
                AddressMode::ClampToEdge,
                AddressMode::MirroredRepeat
            ]
        );
        assert_eq!(st.border_color, BorderColor::FloatOpaqueWhite);
        assert_eq!(st.compare, Some(CompareOp::LessOrEqual));
        assert_eq!(st.mip_lod_bias, -2.0);
        // Unread fields (compare op, border colour) may hold anything.
        assert!(sampler_from_wire(&linear_repeat())
            .unwrap()
            .state()
            .compare
            .is_none());
    }

    #[test]
    fn the_reported_lod_bias_limit_is_the_renderers() {
        assert_eq!(
            protocol::sampler::MAX_SAMPLER_LOD_BIAS,
            renderer::sampler::MAX_SAMPLER_LOD_BIAS
        );
    }

    #[test]
    fn invalid_sampler_states_are_refused() {
        let good = linear_repeat();
        let bad = [
            SamplerCreateInfo {
                anisotropy_enable: true,
                max_anisotropy: 16.0,
                ..good
            },
            SamplerCreateInfo { flags: 1, ..good },
            SamplerCreateInfo {
                mag_filter: 2,
                ..good
            },
            SamplerCreateInfo {
                mipmap_mode: 2,
                ..good
            },
            SamplerCreateInfo {
                address_modes: [4, 0, 0],
                ..good
            },
            SamplerCreateInfo {
                address_modes: [0, 0, 5],
                ..good
            },
            SamplerCreateInfo {
                address_modes: [3, 0, 0],
                border_color: 1_000_287_003,
                ..good
            },
            SamplerCreateInfo {
                compare_enable: true,
                compare_op: 8,
                ..good
            },
            SamplerCreateInfo {
                mip_lod_bias: 16.0,
                ..good
            },
            SamplerCreateInfo {
                min_lod: 2.0,
                max_lod: 1.0,
                ..good
            },
            SamplerCreateInfo {
                max_lod: f32::NAN,
                ..good
            },
            SamplerCreateInfo {
                unnormalized_coordinates: true,
                ..good
            },
        ];
        for b in bad {
            assert!(sampler_from_wire(&b).is_err(), "{b:?}");
        }
    }
}
