//! Vertex attribute fetch (Vulkan §22.3, §22.4): for each vertex, each input location's
//! attribute is read from its binding's buffer at `offset + stride × index + attribute
//! offset`, converted by its [`VertexFormat`], and its components scattered into the input
//! slots of the ABI's slot-major 8-lane groups.
//!
//! Robust: an attribute lying even partly outside its buffer (or a negative vertex index)
//! reads as zero bytes, so its present components are 0 and missing ones (0, 0, 0, 1). An
//! input location with no attribute or no bound buffer reads (0, 0, 0, 1) likewise.

use shader::ir::{InputSlot, ScalarType};

use crate::buffer::Buffer;

use super::stage::group_word;
use super::state::{InputRate, VertexInputState};
use super::vertex_format::VertexFormat;

/// vkCmdBindVertexBuffers: one binding's buffer and offset.
#[derive(Clone, Debug)]
pub struct VertexBufferBinding {
    pub buffer: Buffer,
    pub offset: u64,
}

/// One input location's source.
struct LocationFetch {
    format: VertexFormat,
    /// `None`: no buffer bound to the attribute's binding.
    buffer: Option<Buffer>,
    base: u64,
    stride: u64,
    attribute_offset: u64,
    per_instance: bool,
    /// (input slot, component) pairs this location feeds.
    slots: Vec<(usize, usize)>,
}

/// How one draw fills the vertex stage's input words.
pub(crate) struct FetchPlan {
    locations: Vec<LocationFetch>,
    /// Slots without an attribute: their constant word.
    constants: Vec<(usize, u32)>,
    slots: usize,
}

fn default_word(slot: &InputSlot) -> u32 {
    let one = match slot.ty {
        ScalarType::I32 => 1,
        _ => 1.0f32.to_bits(),
    };
    if slot.component == 3 {
        one
    } else {
        0
    }
}

impl FetchPlan {
    pub(crate) fn new(
        inputs: &[InputSlot],
        state: &VertexInputState,
        buffers: &[Option<VertexBufferBinding>],
    ) -> FetchPlan {
        let mut locations: Vec<LocationFetch> = Vec::new();
        let mut location_of: Vec<(u32, usize)> = Vec::new();
        let mut constants = Vec::new();
        for (slot, input) in inputs.iter().enumerate() {
            let attribute = state.attribute(input.location);
            let binding = attribute.and_then(|a| state.binding(a.binding));
            let (Some(attribute), Some(binding)) = (attribute, binding) else {
                constants.push((slot, default_word(input)));
                continue;
            };
            let component = usize::from(input.component.min(3));
            if let Some(&(_, index)) = location_of.iter().find(|(l, _)| *l == input.location) {
                locations[index].slots.push((slot, component));
                continue;
            }
            let bound = buffers
                .get(binding.binding as usize)
                .and_then(Option::as_ref);
            location_of.push((input.location, locations.len()));
            locations.push(LocationFetch {
                format: attribute.format,
                buffer: bound.map(|b| b.buffer.clone()),
                base: bound.map_or(0, |b| b.offset),
                stride: u64::from(binding.stride),
                attribute_offset: u64::from(attribute.offset),
                per_instance: binding.rate == InputRate::Instance,
                slots: vec![(slot, component)],
            });
        }
        FetchPlan {
            locations,
            constants,
            slots: inputs.len(),
        }
    }

    /// Fills `inputs` (resized to whole groups) for vertices whose buffer indices are
    /// `vertex_indices` (`None`: negative, reads zeros), of instance buffer index `instance`.
    #[cfg(test)]
    pub(crate) fn fill(
        &self,
        vertex_indices: &[Option<u64>],
        instance: u64,
        inputs: &mut Vec<u32>,
    ) {
        let groups = vertex_indices.len().div_ceil(shader::abi::GRAPHICS_LANES);
        inputs.clear();
        inputs.resize(groups * self.slots * shader::abi::GRAPHICS_LANES, 0);
        self.fill_into(vertex_indices, instance, inputs);
    }

    /// [`FetchPlan::fill`] into words already sized for whole groups (words beyond `inputs`
    /// are not written; the caller sizes it `groups × slots × 8`).
    pub(crate) fn fill_into(
        &self,
        vertex_indices: &[Option<u64>],
        instance: u64,
        inputs: &mut [u32],
    ) {
        let mut put = |at: usize, word: u32| {
            if let Some(w) = inputs.get_mut(at) {
                *w = word;
            }
        };
        for (v, index) in vertex_indices.iter().enumerate() {
            for &(slot, word) in &self.constants {
                put(group_word(v, slot, self.slots), word);
            }
            for location in &self.locations {
                let element = if location.per_instance {
                    Some(instance)
                } else {
                    *index
                };
                let words = location.read(element);
                for &(slot, component) in &location.slots {
                    put(group_word(v, slot, self.slots), words[component]);
                }
            }
        }
    }
}

impl LocationFetch {
    fn read(&self, element: Option<u64>) -> [u32; 4] {
        let mut bytes = [0u8; 16];
        let size = self.format.size();
        let address = element.and_then(|e| {
            e.checked_mul(self.stride)?
                .checked_add(self.base)?
                .checked_add(self.attribute_offset)
        });
        let read = match (&self.buffer, address) {
            (Some(buffer), Some(address)) => buffer.read(address, &mut bytes[..size]).is_ok(),
            _ => false,
        };
        if read {
            self.format.fetch(&bytes[..size])
        } else {
            self.format.fetch(&[])
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::draw::state::{VertexAttribute, VertexBinding};
    use shader::ir::Interpolation;

    fn slots(location: u32, n: u8) -> Vec<InputSlot> {
        (0..n)
            .map(|component| InputSlot {
                location,
                component,
                ty: ScalarType::F32,
                interp: Interpolation::Smooth,
            })
            .collect()
    }

    #[test]
    fn attributes_past_the_buffer_read_zero_and_missing_ones_default() {
        let buffer = Buffer::new(8).unwrap();
        buffer.write_slice(0, &[1.0f32, 2.0]).unwrap();
        let state = VertexInputState::new(
            vec![VertexBinding {
                binding: 0,
                stride: 8,
                rate: InputRate::Vertex,
            }],
            vec![VertexAttribute {
                location: 0,
                binding: 0,
                format: VertexFormat::from_vk(103).unwrap(), // R32G32_SFLOAT
                offset: 0,
            }],
        )
        .unwrap();
        let mut inputs = slots(0, 4);
        inputs.extend(slots(1, 4));
        let bound = [Some(VertexBufferBinding { buffer, offset: 0 })];
        let plan = FetchPlan::new(&inputs, &state, &bound);
        let mut words = Vec::new();
        plan.fill(&[Some(0), Some(1), None, Some(u64::MAX)], 0, &mut words);
        assert_eq!(words.len(), 8 * 8);
        let at = |v: usize, s: usize| f32::from_bits(words[group_word(v, s, 8)]);
        assert_eq!(
            [at(0, 0), at(0, 1), at(0, 2), at(0, 3)],
            [1.0, 2.0, 0.0, 1.0]
        );
        for v in 1..4 {
            assert_eq!(
                [at(v, 0), at(v, 1), at(v, 3)],
                [0.0, 0.0, 1.0],
                "vertex {v}"
            );
        }
        // Location 1 has no attribute: (0, 0, 0, 1).
        assert_eq!([at(0, 4), at(0, 7)], [0.0, 1.0]);
    }
}
