//! The vertex half of one draw step: elements read (vertex numbers or indices, primitive
//! restarts), vertex reuse for indexed draws, then attribute fetch, vertex shading and the
//! copy of the outputs into the window's [`VertexStore`] in chunks of groups spread over the
//! worker pool (each chunk owns its piece of every buffer, so nothing is copied serially).
//!
//! Reuse: an index seen earlier in the same step is shaded once. A direct-mapped cache keyed
//! by the index's low bits remembers which of the step's vertices it was; a collision only
//! costs a second shading of the same vertex (the vertex stage is a function of its inputs,
//! `VertexIndex` and `InstanceIndex`, so the results are the same either way).

use std::sync::{Mutex, PoisonError};

use shader::abi::GRAPHICS_LANES;

use crate::error::RendererError;
use crate::pool::Workers;

use super::assembly::{OutputLayout, StorePiece, VertexStore};
use super::execute::DrawCall;
use super::fetch::FetchPlan;
use super::stage::{StageResources, VertexBatch, VertexStage};
use super::state::GraphicsState;
use super::stream::IndexBufferBinding;

/// Entries of the reuse cache (a power of two, at least a step's elements, so a step whose
/// distinct indices fit in a window of this size is shaded without any repeat).
const REUSE_CACHE_SIZE: usize = 1 << 14;
/// Groups of [`GRAPHICS_LANES`] vertices fetched and shaded per pool chunk.
const SHADE_CHUNK_GROUPS: usize = 32;

/// A reuse cache entry: which vertex of the step an index became, valid for step `stamp`.
#[derive(Clone, Copy, Default)]
struct ReuseEntry {
    index: u32,
    vertex: u32,
    stamp: u64,
}

/// What vertex shading of one instance needs besides the step's elements.
pub(crate) struct VertexShading<'a> {
    pub stage: &'a dyn VertexStage,
    pub resources: &'a StageResources,
    pub plan: &'a FetchPlan,
    pub workers: Workers<'a>,
    pub input_slots: usize,
    pub output_slots: usize,
    /// Which output slots feed the vertex store's columns.
    pub layout: OutputLayout<'a>,
    pub base_instance: u32,
    pub instance_index: u32,
    /// The buffer element per-instance attributes read.
    pub instance_element: u64,
}

/// One step's elements and shaded vertices; buffers are reused across steps.
#[derive(Default)]
pub(crate) struct StepVertices {
    indices: Vec<u32>,
    index_bytes: Vec<u8>,
    /// Per element: `None` for a primitive restart, else the number of its vertex among the
    /// step's shaded vertices. Empty where `consecutive`.
    pub elements: Vec<Option<u32>>,
    /// A direct draw's step: element `k` is vertex `k` (no restart, each vertex once, in
    /// order), and vertex `k` fetches buffer index `first + k` — not listed in `elements`.
    pub consecutive: bool,
    /// Per shaded vertex: `VertexIndex` and the buffer index fetched.
    vertex_ids: Vec<u32>,
    fetch: Vec<Option<u64>>,
    inputs: Vec<u32>,
    /// The vertex stage's output words of the shaded vertices (slot-major groups).
    outputs: Vec<u32>,
    reuse: Vec<ReuseEntry>,
    stamp: u64,
    base_vertex: i32,
}

impl StepVertices {
    /// Vertices shaded by the last [`StepVertices::shade`].
    pub(crate) fn shaded(&self) -> usize {
        self.fetch.len()
    }

    /// Reads elements `pos .. pos + n` of `call`.
    pub(crate) fn read(
        &mut self,
        call: &DrawCall,
        index_buffer: Option<&IndexBufferBinding>,
        pos: u32,
        n: u32,
        state: &GraphicsState,
    ) {
        self.elements.clear();
        self.vertex_ids.clear();
        self.fetch.clear();
        self.consecutive = false;
        match (*call, index_buffer) {
            (
                DrawCall::Indexed {
                    first_index,
                    vertex_offset,
                    ..
                },
                Some(binding),
            ) => {
                binding.read(
                    first_index,
                    u64::from(pos),
                    n as usize,
                    &mut self.indices,
                    &mut self.index_bytes,
                );
                let restart = state
                    .input_assembly
                    .primitive_restart
                    .then(|| binding.index_type.restart_value());
                if self.reuse.is_empty() {
                    self.reuse = vec![ReuseEntry::default(); REUSE_CACHE_SIZE];
                }
                self.stamp += 1;
                for &index in &self.indices {
                    if Some(index) == restart {
                        self.elements.push(None);
                        continue;
                    }
                    let entry = &mut self.reuse[index as usize & (REUSE_CACHE_SIZE - 1)];
                    if entry.stamp == self.stamp && entry.index == index {
                        self.elements.push(Some(entry.vertex));
                        continue;
                    }
                    // Fewer vertices than elements, and a step has at most u32::MAX elements.
                    let vertex = self.fetch.len() as u32;
                    *entry = ReuseEntry {
                        index,
                        vertex,
                        stamp: self.stamp,
                    };
                    self.elements.push(Some(vertex));
                    self.vertex_ids
                        .push((index as i32).wrapping_add(vertex_offset) as u32);
                    let element = i64::from(index) + i64::from(vertex_offset);
                    self.fetch.push(u64::try_from(element).ok());
                }
                self.base_vertex = vertex_offset;
            }
            (DrawCall::Direct { .. }, _) | (DrawCall::Indexed { .. }, None) => {
                let first_vertex = match *call {
                    DrawCall::Direct { first_vertex, .. } => first_vertex,
                    DrawCall::Indexed { .. } => 0,
                };
                // pos + n <= the draw's count, a u32.
                let range = pos..pos.saturating_add(n);
                self.consecutive = true;
                self.vertex_ids
                    .extend(range.clone().map(|i| first_vertex.wrapping_add(i)));
                self.fetch
                    .extend(range.map(|i| Some(u64::from(first_vertex) + u64::from(i))));
                self.base_vertex = first_vertex as i32;
            }
        }
    }

    /// Fetches and shades the step's vertices and appends them to `store` (in their order,
    /// columns as `ctx.layout` says), in chunks on the worker pool: each chunk fills its own
    /// piece of the store right after its kernel call, while its output words are in cache.
    pub(crate) fn shade(
        &mut self,
        ctx: &VertexShading<'_>,
        store: &mut VertexStore,
    ) -> Result<(), RendererError> {
        const L: usize = GRAPHICS_LANES;
        let count = self.fetch.len();
        let groups = count.div_ceil(L);
        self.vertex_ids.resize(groups * L, 0);
        // Not cleared here: each chunk's fetch writes every input word of its piece, and
        // each chunk zeroes its own output words before its kernel call (in parallel, and
        // while they are about to be in cache anyway).
        self.inputs.resize(groups * ctx.input_slots * L, 0);
        self.outputs.resize(groups * ctx.output_slots * L, 0);
        if count == 0 {
            return Ok(());
        }
        let chunks = groups.div_ceil(SHADE_CHUNK_GROUPS);
        let inputs = chunk_pieces(&mut self.inputs, ctx.input_slots, chunks);
        let outputs = chunk_pieces(&mut self.outputs, ctx.output_slots, chunks);
        let pieces: Vec<Mutex<StorePiece<'_>>> = store
            .grow_in_pieces(count, SHADE_CHUNK_GROUPS * L)
            .into_iter()
            .map(Mutex::new)
            .collect();
        let (fetch, vertex_ids, base_vertex) = (&self.fetch, &self.vertex_ids, self.base_vertex);
        let consecutive = self.consecutive;
        ctx.workers.run_scoped_split(chunks, &|chunk| {
            let first = chunk * SHADE_CHUNK_GROUPS * L;
            let end = (first + SHADE_CHUNK_GROUPS * L).min(count);
            let padded_end = end.next_multiple_of(L);
            let (Some(input_piece), Some(output_piece), Some(store_piece)) =
                (inputs.get(chunk), outputs.get(chunk), pieces.get(chunk))
            else {
                return Err(RendererError::InvalidConfig("vertex chunk out of range"));
            };
            let mut input_words = input_piece.lock().unwrap_or_else(PoisonError::into_inner);
            let mut output_words = output_piece.lock().unwrap_or_else(PoisonError::into_inner);
            // Outputs the kernel leaves unwritten read 0, whatever an earlier step left.
            output_words.fill(0);
            ctx.plan.fill_into(
                fetch.get(first..end).unwrap_or(&[]),
                consecutive,
                ctx.instance_element,
                &mut input_words,
            );
            let batch = VertexBatch {
                count: end - first,
                base_vertex,
                base_instance: ctx.base_instance,
                instance_index: ctx.instance_index,
                vertex_indices: vertex_ids.get(first..padded_end).unwrap_or(&[]),
                inputs: &input_words,
                input_slots: ctx.input_slots,
            };
            ctx.stage.shade(ctx.resources, &batch, &mut output_words)?;
            store_piece
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .fill(&ctx.layout, &output_words, ctx.output_slots);
            Ok(())
        })
    }
}

/// Splits slot-major group words (`slots` per group) into one piece per chunk of
/// [`SHADE_CHUNK_GROUPS`] groups. Each chunk owns its piece; the locks are never contended
/// (one chunk, one lock), they only hand the `&mut` to whichever thread runs the chunk.
/// Interfaces without slots get empty pieces.
fn chunk_pieces(words: &mut [u32], slots: usize, chunks: usize) -> Vec<Mutex<&mut [u32]>> {
    let piece = SHADE_CHUNK_GROUPS * slots * GRAPHICS_LANES;
    let mut pieces: Vec<Mutex<&mut [u32]>> = if piece == 0 {
        Vec::new()
    } else {
        words.chunks_mut(piece).map(Mutex::new).collect()
    };
    pieces.resize_with(chunks, || Mutex::new(&mut []));
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draw::stream::IndexType;
    use crate::Buffer;

    fn indexed(indices: &[u32], restart: bool) -> StepVertices {
        let buffer = Buffer::new(indices.len() as u64 * 4).unwrap_or_else(|e| panic!("{e}"));
        let bytes: Vec<u8> = indices.iter().flat_map(|i| i.to_le_bytes()).collect();
        buffer.write(0, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let binding = IndexBufferBinding {
            buffer,
            offset: 0,
            index_type: IndexType::U32,
        };
        let mut state = GraphicsState::covering(4, 4);
        state.input_assembly.primitive_restart = restart;
        let call = DrawCall::Indexed {
            index_count: indices.len() as u32,
            instance_count: 1,
            first_index: 0,
            vertex_offset: 10,
            first_instance: 0,
        };
        let mut step = StepVertices::default();
        step.read(&call, Some(&binding), 0, indices.len() as u32, &state);
        step
    }

    #[test]
    fn repeated_indices_in_a_step_are_shaded_once() {
        let step = indexed(&[0, 1, 2, 2, 1, 3, u32::MAX, 0, 3], true);
        assert_eq!(
            step.elements,
            vec![
                Some(0),
                Some(1),
                Some(2),
                Some(2),
                Some(1),
                Some(3),
                None,
                Some(0),
                Some(3)
            ]
        );
        assert_eq!(step.shaded(), 4);
        // VertexIndex includes vertexOffset.
        assert_eq!(step.vertex_ids, vec![10, 11, 12, 13]);
        assert_eq!(step.fetch, vec![Some(10), Some(11), Some(12), Some(13)]);
    }

    #[test]
    fn indices_colliding_in_the_reuse_cache_are_shaded_again_not_mixed_up() {
        let far = REUSE_CACHE_SIZE as u32;
        let step = indexed(&[5, 5 + far, 5, 5 + far], false);
        // 5 and 5 + far share an entry: each replaces the other, so nothing is reused, but
        // every element names a vertex of its own index.
        let ids: Vec<u32> = step
            .elements
            .iter()
            .map(|e| step.vertex_ids[e.unwrap_or(u32::MAX) as usize])
            .collect();
        assert_eq!(ids, vec![15, 15 + far, 15, 15 + far]);
    }
}
