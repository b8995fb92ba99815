//! Vertex attribute fetch (Vulkan §22.3, §22.4): for each vertex, each input location's
//! attribute is read from its binding's buffer at `offset + stride × index + attribute
//! offset`, converted by its [`VertexFormat`], and its components scattered into the input
//! slots of the ABI's slot-major 8-lane groups.
//!
//! Robust: an attribute lying even partly outside its buffer (or a negative vertex index)
//! reads as zero bytes, so its present components are 0 and missing ones (0, 0, 0, 1). An
//! input location with no attribute or no bound buffer reads (0, 0, 0, 1) likewise.

use shader::abi::GRAPHICS_LANES;
use shader::ir::{InputSlot, ScalarType};

use crate::buffer::Buffer;

use super::state::{InputRate, VertexInputState};
use super::vertex_format::{AttributeClass, ComponentSource, VertexFormat};

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
    /// How each of `slots` is converted in bulk (same order).
    decoders: Vec<ColumnDecoder>,
}

/// One component's bulk conversion, chosen once per draw.
enum ColumnDecoder {
    /// Not in the format (or not decoded from bytes).
    Constant(u32),
    /// A 32-bit component whose word is its bytes.
    Word { offset: usize },
    /// An 8-bit component: every code's word, looked up.
    Byte {
        offset: usize,
        table: Box<[u32; 256]>,
    },
    /// Anything else (16-bit and packed formats): extracted and converted per vertex.
    Bits {
        offset: usize,
        bytes: usize,
        shift: u32,
        bits: u32,
    },
}

impl ColumnDecoder {
    fn new(format: VertexFormat, component: usize) -> ColumnDecoder {
        match format.component_source(component) {
            ComponentSource::Constant(word) => ColumnDecoder::Constant(word),
            ComponentSource::Bits {
                offset,
                bytes: 4,
                shift: 0,
                bits: 32,
            } if matches!(
                format.class(),
                AttributeClass::Uint | AttributeClass::Sint | AttributeClass::Sfloat
            ) =>
            {
                ColumnDecoder::Word { offset }
            }
            ComponentSource::Bits {
                offset,
                bytes: 1,
                shift: 0,
                bits: 8,
            } => ColumnDecoder::Byte {
                offset,
                table: Box::new(std::array::from_fn(|code| format.convert(code as u32, 8))),
            },
            ComponentSource::Bits {
                offset,
                bytes,
                shift,
                bits,
            } => ColumnDecoder::Bits {
                offset,
                bytes,
                shift,
                bits,
            },
        }
    }
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
                let location = &mut locations[index];
                location.slots.push((slot, component));
                location
                    .decoders
                    .push(ColumnDecoder::new(location.format, component));
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
                decoders: vec![ColumnDecoder::new(attribute.format, component)],
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
        self.fill_into(vertex_indices, false, instance, inputs);
    }

    /// [`FetchPlan::fill`] into words already sized for whole groups (words beyond `inputs`
    /// are not written; the caller sizes it `groups × slots × 8`). Every word of those
    /// groups is written, padding lanes included, so `inputs` need not be cleared first.
    ///
    /// Works a location at a time over the whole run: the attribute bytes of every vertex
    /// are gathered once (one bounds-checked copy when the run's indices are consecutive),
    /// then each component is converted by a loop specialised for its width and class,
    /// straight into the lane groups. `consecutive`: the caller knows the indices are
    /// consecutive (a direct draw's); otherwise they are checked here.
    pub(crate) fn fill_into(
        &self,
        vertex_indices: &[Option<u64>],
        consecutive: bool,
        instance: u64,
        inputs: &mut [u32],
    ) {
        const L: usize = GRAPHICS_LANES;
        let consecutive = consecutive || is_consecutive(vertex_indices);
        let count = vertex_indices.len();
        let groups = count.div_ceil(L);
        let group_words = self.slots * L;
        if group_words == 0 {
            return;
        }
        for &(slot, word) in &self.constants {
            for group in inputs.chunks_mut(group_words).take(groups) {
                if let Some(lanes) = group.get_mut(slot * L..(slot + 1) * L) {
                    lanes.fill(word);
                }
            }
        }
        let mut bytes = Vec::new();
        let mut column = vec![0u32; groups * L];
        for location in &self.locations {
            // `None`: per instance, the same words for every vertex.
            let source = if location.per_instance {
                None
            } else if consecutive {
                Some(location.span(vertex_indices, &mut bytes))
            } else {
                Some(location.gather(vertex_indices, &mut bytes))
            };
            let instance_words = location.per_instance.then(|| location.read(Some(instance)));
            for (&(slot, component), decoder) in location.slots.iter().zip(&location.decoders) {
                match (source, instance_words) {
                    (Some(run), _) => {
                        let (head, padding) = column.split_at_mut(count);
                        decode_column(location.format, decoder, &bytes, run, head);
                        padding.fill(0);
                    }
                    (None, words) => {
                        column.fill(words.map_or(0, |w| w[component]));
                    }
                }
                for (group, lanes) in inputs.chunks_mut(group_words).zip(column.chunks_exact(L)) {
                    if let Some(dst) = group.get_mut(slot * L..(slot + 1) * L) {
                        dst.copy_from_slice(lanes);
                    }
                }
            }
        }
    }
}

/// Longest run of attribute bytes copied in one piece (a run of vertices whose stride makes
/// the span larger is gathered vertex by vertex instead).
const MAX_SPAN_BYTES: u64 = 64 << 10;

/// True when the run's buffer indices are all present and increase by one.
fn is_consecutive(indices: &[Option<u64>]) -> bool {
    let Some(Some(first)) = indices.first() else {
        return false;
    };
    indices.iter().zip(0u64..).all(|(index, k)| {
        first
            .checked_add(k)
            .is_some_and(|want| *index == Some(want))
    })
}

/// Where a run's attribute bytes were put: vertex `v`'s attribute starts at byte
/// `v × stride`; vertices from `valid` on read as zero bytes.
#[derive(Clone, Copy)]
struct ByteRun {
    stride: usize,
    valid: usize,
}

/// Converts one component of the first `valid` vertices of `run` into `out`; the rest get
/// what zero bytes convert to (an attribute outside its buffer).
fn decode_column(
    format: VertexFormat,
    decoder: &ColumnDecoder,
    bytes: &[u8],
    run: ByteRun,
    out: &mut [u32],
) {
    let valid = run.valid.min(out.len());
    let (head, tail) = out.split_at_mut(valid);
    let stride = run.stride;
    match *decoder {
        ColumnDecoder::Constant(word) => {
            out.fill(word);
        }
        ColumnDecoder::Word { offset } => {
            tail.fill(0);
            decode_run::<4>(bytes, stride, offset, head, |code| code);
        }
        ColumnDecoder::Byte { offset, ref table } => {
            tail.fill(table[0]);
            decode_run::<1>(bytes, stride, offset, head, |code| {
                table[(code & 0xff) as usize]
            });
        }
        ColumnDecoder::Bits {
            offset,
            bytes: width,
            shift,
            bits,
        } => {
            tail.fill(format.convert(0, bits));
            let mask = u32::MAX >> (32 - bits.clamp(1, 32));
            let convert = |code: u32| format.convert((code >> shift) & mask, bits);
            match width {
                1 => decode_run::<1>(bytes, stride, offset, head, convert),
                2 => decode_run::<2>(bytes, stride, offset, head, convert),
                _ => decode_run::<4>(bytes, stride, offset, head, convert),
            }
        }
    }
}

/// `out[v] = convert(the N little-endian bytes at v × stride + offset)`.
#[inline(always)]
fn decode_run<const N: usize>(
    bytes: &[u8],
    stride: usize,
    offset: usize,
    out: &mut [u32],
    convert: impl Fn(u32) -> u32,
) {
    for (v, word) in out.iter_mut().enumerate() {
        let at = v * stride + offset;
        let mut code = [0u8; 4];
        if let Some(b) = bytes.get(at..at + N) {
            code[..N].copy_from_slice(b);
        }
        *word = convert(u32::from_le_bytes(code));
    }
}

impl LocationFetch {
    /// One attribute's four words (per-instance attributes).
    fn read(&self, element: Option<u64>) -> [u32; 4] {
        let mut bytes = [0u8; 16];
        let size = self.format.size();
        let address = element.and_then(|e| self.address(e));
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

    /// Byte address of element `e`'s attribute in the buffer.
    fn address(&self, e: u64) -> Option<u64> {
        e.checked_mul(self.stride)?
            .checked_add(self.base)?
            .checked_add(self.attribute_offset)
    }

    /// Copies the attribute bytes of a run of consecutive elements (starting at
    /// `indices[0]`) into `bytes` in one piece, stopping at the first vertex whose attribute
    /// is not wholly inside the buffer. A span too large to copy at once is gathered.
    fn span(&self, indices: &[Option<u64>], bytes: &mut Vec<u8>) -> ByteRun {
        let size = self.format.size() as u64;
        let count = indices.len() as u64;
        let stride = self.stride;
        let invalid = ByteRun {
            stride: stride as usize,
            valid: 0,
        };
        let span = count
            .saturating_sub(1)
            .checked_mul(stride)
            .and_then(|s| s.checked_add(size));
        match span {
            Some(span) if span <= MAX_SPAN_BYTES => {}
            _ => return self.gather(indices, bytes),
        }
        let (Some(buffer), Some(Some(first))) = (&self.buffer, indices.first()) else {
            return invalid;
        };
        let Some(start) = self.address(*first) else {
            return invalid;
        };
        // Vertex v is wholly inside when start + v·stride + size <= buffer size.
        let Some(room) = buffer
            .size()
            .checked_sub(start)
            .and_then(|r| r.checked_sub(size))
        else {
            return invalid;
        };
        let valid = match room.checked_div(stride) {
            Some(steps) => steps.saturating_add(1).min(count),
            None => count, // stride 0: every vertex reads the same, present, attribute.
        };
        // valid ≥ 1, and (valid − 1)·stride + size ≤ span ≤ MAX_SPAN_BYTES.
        let len = (valid - 1) * stride + size;
        bytes.clear();
        bytes.resize(len as usize, 0);
        if buffer.read(start, bytes).is_err() {
            return invalid;
        }
        ByteRun {
            stride: stride as usize,
            valid: valid as usize,
        }
    }

    /// Copies each vertex's attribute bytes into `bytes`, packed (`stride` = the format's
    /// size); a vertex outside the buffer (or with a negative index) gets zero bytes.
    fn gather(&self, indices: &[Option<u64>], bytes: &mut Vec<u8>) -> ByteRun {
        let size = self.format.size();
        bytes.clear();
        bytes.resize(indices.len() * size, 0);
        if let Some(buffer) = &self.buffer {
            for (index, dst) in indices.iter().zip(bytes.chunks_exact_mut(size)) {
                let address = index.and_then(|e| self.address(e));
                if let Some(address) = address {
                    if buffer.read(address, dst).is_err() {
                        dst.fill(0);
                    }
                }
            }
        }
        ByteRun {
            stride: size,
            valid: indices.len(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::draw::stage::group_word;
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

    /// The per-vertex path: each vertex's attribute read and converted on its own.
    fn reference_fill(plan: &FetchPlan, indices: &[Option<u64>], instance: u64) -> Vec<u32> {
        let groups = indices.len().div_ceil(GRAPHICS_LANES);
        let mut words = vec![0; groups * plan.slots * GRAPHICS_LANES];
        for (v, index) in indices.iter().enumerate() {
            for &(slot, word) in &plan.constants {
                words[group_word(v, slot, plan.slots)] = word;
            }
            for location in &plan.locations {
                let element = if location.per_instance {
                    Some(instance)
                } else {
                    *index
                };
                let value = location.read(element);
                for &(slot, component) in &location.slots {
                    words[group_word(v, slot, plan.slots)] = value[component];
                }
            }
        }
        words
    }

    #[test]
    fn fill_into_writes_every_word_of_its_groups() {
        let buffer = Buffer::new(64).unwrap();
        buffer.write_slice(0, &[1.0f32, 2.0, 3.0, 4.0]).unwrap();
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
        inputs.extend(slots(1, 2)); // no attribute: constants
        let bound = [Some(VertexBufferBinding { buffer, offset: 0 })];
        let plan = FetchPlan::new(&inputs, &state, &bound);
        for run in [
            (0..11).map(Some).collect::<Vec<_>>(),
            vec![Some(1), None, Some(0)],
        ] {
            let words = run.len().div_ceil(GRAPHICS_LANES) * plan.slots * GRAPHICS_LANES;
            let mut clean = vec![0u32; words];
            let mut stale = vec![0xdead_beefu32; words];
            plan.fill_into(&run, false, 0, &mut clean);
            plan.fill_into(&run, false, 0, &mut stale);
            assert_eq!(clean, stale, "run {run:?}");
        }
    }

    #[test]
    fn bulk_fetch_matches_the_per_vertex_path_for_every_format_and_run_shape() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        let formats: Vec<VertexFormat> = (0..200)
            .filter_map(|r| VertexFormat::from_vk(r).ok())
            .collect();
        for (n, &format) in formats.iter().enumerate() {
            let other = formats[(n * 7 + 3) % formats.len()];
            // A buffer that ends mid-run, so some attributes straddle its end.
            let len = 200 + next() % 300;
            let buffer = Buffer::new(len).unwrap();
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            buffer.write(0, &bytes).unwrap();
            for stride in [0u32, 4, 12, 20, 33, 2048] {
                let state = VertexInputState::new(
                    vec![
                        VertexBinding {
                            binding: 0,
                            stride,
                            rate: InputRate::Vertex,
                        },
                        VertexBinding {
                            binding: 1,
                            stride: 8,
                            rate: InputRate::Instance,
                        },
                    ],
                    vec![
                        VertexAttribute {
                            location: 0,
                            binding: 0,
                            format,
                            offset: 1,
                        },
                        VertexAttribute {
                            location: 1,
                            binding: 0,
                            format: other,
                            offset: 0,
                        },
                        VertexAttribute {
                            location: 2,
                            binding: 1,
                            format: other,
                            offset: 4,
                        },
                    ],
                )
                .unwrap();
                let mut inputs = slots(0, 4);
                inputs.extend(slots(1, 3));
                inputs.extend(slots(2, 4));
                inputs.extend(slots(3, 4)); // no attribute
                let bound = [
                    Some(VertexBufferBinding {
                        buffer: buffer.clone(),
                        offset: 2,
                    }),
                    Some(VertexBufferBinding {
                        buffer: buffer.clone(),
                        offset: 0,
                    }),
                ];
                let plan = FetchPlan::new(&inputs, &state, &bound);
                let first = next() % 8;
                let runs: [Vec<Option<u64>>; 3] = [
                    (0..37).map(|i| Some(first + i)).collect(),
                    (0..21).map(|_| Some(next() % 40)).collect(),
                    vec![Some(3), None, Some(u64::MAX), Some(4)],
                ];
                for run in &runs {
                    let instance = next() % 64;
                    let mut words = Vec::new();
                    plan.fill(run, instance, &mut words);
                    // Lanes past the run's end (padding of the last group) are don't-care.
                    let live = |words: Vec<u32>| -> Vec<u32> {
                        (0..run.len())
                            .flat_map(|v| (0..plan.slots).map(move |s| (v, s)))
                            .map(|(v, s)| words[group_word(v, s, plan.slots)])
                            .collect()
                    };
                    assert_eq!(
                        live(words),
                        live(reference_fill(&plan, run, instance)),
                        "format {} stride {stride} run {run:?}",
                        format.vk()
                    );
                }
            }
        }
    }
}
