//! Indirect draws: vkCmdDrawIndirect / vkCmdDrawIndexedIndirect and their `Count` variants.
//! The draw parameters are read from a buffer, one command at a time (nothing is allocated
//! by the draw count); every range is checked against the buffer before the first draw.

use crate::buffer::Buffer;
use crate::error::RendererError;
use crate::pool::Workers;

use super::deferred::PassBatch;
use super::execute::{draw_deferred, DrawCall, DrawResources, DrawStats, RenderTargets};
use super::pipeline::GraphicsPipeline;
use super::state::GraphicsState;
use super::DrawError;

/// `sizeof(VkDrawIndirectCommand)`.
pub const DRAW_INDIRECT_COMMAND_SIZE: u64 = 16;
/// `sizeof(VkDrawIndexedIndirectCommand)`.
pub const DRAW_INDEXED_INDIRECT_COMMAND_SIZE: u64 = 20;
/// `maxDrawIndirectCount`. Draws are read one at a time, so this costs no memory; the
/// buffer's size bounds the real count (commands must lie inside it).
pub const MAX_DRAW_INDIRECT_COUNT: u32 = u32::MAX;

/// Where the commands of an indirect draw are.
#[derive(Clone, Copy, Debug)]
pub struct IndirectDraw<'a> {
    pub buffer: &'a Buffer,
    pub offset: u64,
    /// `drawCount`, or `maxDrawCount` for the count variants.
    pub draw_count: u32,
    pub stride: u32,
    /// `VkDrawIndexedIndirectCommand`s rather than `VkDrawIndirectCommand`s.
    pub indexed: bool,
}

impl IndirectDraw<'_> {
    fn command_size(&self) -> u64 {
        if self.indexed {
            DRAW_INDEXED_INDIRECT_COMMAND_SIZE
        } else {
            DRAW_INDIRECT_COMMAND_SIZE
        }
    }

    /// VUID-vkCmdDrawIndirect-offset-02710, -drawCount-00476 / -00488 and the
    /// indexed / count equivalents: offset aligned, stride aligned and large enough when more
    /// than one command is read, the last command inside the buffer.
    fn validate(&self) -> Result<(), DrawError> {
        if !self.offset.is_multiple_of(4) {
            return Err(DrawError::Misaligned {
                what: "indirect buffer offset",
                value: self.offset,
                align: 4,
            });
        }
        if self.draw_count == 0 {
            return Ok(());
        }
        let size = self.command_size();
        if self.draw_count > 1 && (!self.stride.is_multiple_of(4) || u64::from(self.stride) < size)
        {
            return Err(DrawError::Indirect(
                "stride must be a multiple of 4 and at least the command size",
            ));
        }
        let end = u64::from(self.draw_count - 1)
            .checked_mul(u64::from(self.stride))
            .and_then(|s| s.checked_add(self.offset))
            .and_then(|s| s.checked_add(size));
        match end {
            Some(end) if end <= self.buffer.size() => Ok(()),
            _ => Err(DrawError::Indirect(
                "the commands run past the end of the buffer",
            )),
        }
    }

    /// Command `i` (inside the buffer: checked by `validate`).
    fn command(&self, i: u32) -> Result<DrawCall, RendererError> {
        let at = u64::from(i) * u64::from(self.stride) + self.offset;
        let mut raw = [0u8; DRAW_INDEXED_INDIRECT_COMMAND_SIZE as usize];
        let raw = &mut raw[..self.command_size() as usize];
        self.buffer.read(at, raw)?;
        let word = |k: usize| {
            u32::from_le_bytes([raw[4 * k], raw[4 * k + 1], raw[4 * k + 2], raw[4 * k + 3]])
        };
        Ok(if self.indexed {
            DrawCall::Indexed {
                index_count: word(0),
                instance_count: word(1),
                first_index: word(2),
                vertex_offset: word(3) as i32,
                first_instance: word(4),
            }
        } else {
            DrawCall::Direct {
                vertex_count: word(0),
                instance_count: word(1),
                first_vertex: word(2),
                first_instance: word(3),
            }
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    batch: &mut PassBatch,
    pipeline: &GraphicsPipeline,
    state: &GraphicsState,
    targets: &RenderTargets<'_>,
    resources: &DrawResources<'_>,
    indirect: &IndirectDraw<'_>,
    count: u32,
    workers: Workers<'_>,
) -> Result<(), RendererError> {
    for i in 0..count {
        let call = indirect.command(i)?;
        draw_deferred(batch, pipeline, state, targets, resources, &call, workers)?;
    }
    Ok(())
}

/// Flushes a batch of one recording: the recording's error first, else the flush's result.
fn flushed(
    mut batch: PassBatch,
    recorded: Result<(), RendererError>,
    workers: Workers<'_>,
) -> Result<DrawStats, RendererError> {
    let flushed = batch.flush(workers);
    recorded?;
    flushed
}

/// vkCmdDrawIndirect / vkCmdDrawIndexedIndirect.
pub fn draw_indirect(
    pipeline: &GraphicsPipeline,
    state: &GraphicsState,
    targets: &RenderTargets<'_>,
    resources: &DrawResources<'_>,
    indirect: &IndirectDraw<'_>,
    workers: Workers<'_>,
) -> Result<DrawStats, RendererError> {
    let mut batch = PassBatch::new();
    let recorded = draw_indirect_deferred(
        &mut batch, pipeline, state, targets, resources, indirect, workers,
    );
    flushed(batch, recorded, workers)
}

/// [`draw_indirect`] recorded into `batch` (see [`super::draw_deferred`]); the commands are
/// read now.
pub fn draw_indirect_deferred(
    batch: &mut PassBatch,
    pipeline: &GraphicsPipeline,
    state: &GraphicsState,
    targets: &RenderTargets<'_>,
    resources: &DrawResources<'_>,
    indirect: &IndirectDraw<'_>,
    workers: Workers<'_>,
) -> Result<(), RendererError> {
    indirect.validate()?;
    run(
        batch,
        pipeline,
        state,
        targets,
        resources,
        indirect,
        indirect.draw_count,
        workers,
    )
}

/// vkCmdDrawIndirectCount / vkCmdDrawIndexedIndirectCount: the draw count is the u32 at
/// `count_offset` in `count_buffer`, capped by `indirect.draw_count` (`maxDrawCount`).
#[allow(clippy::too_many_arguments)]
pub fn draw_indirect_count(
    pipeline: &GraphicsPipeline,
    state: &GraphicsState,
    targets: &RenderTargets<'_>,
    resources: &DrawResources<'_>,
    indirect: &IndirectDraw<'_>,
    count_buffer: &Buffer,
    count_offset: u64,
    workers: Workers<'_>,
) -> Result<DrawStats, RendererError> {
    let mut batch = PassBatch::new();
    let recorded = draw_indirect_count_deferred(
        &mut batch,
        pipeline,
        state,
        targets,
        resources,
        indirect,
        count_buffer,
        count_offset,
        workers,
    );
    flushed(batch, recorded, workers)
}

/// [`draw_indirect_count`] recorded into `batch`; the count and commands are read now.
#[allow(clippy::too_many_arguments)]
pub fn draw_indirect_count_deferred(
    batch: &mut PassBatch,
    pipeline: &GraphicsPipeline,
    state: &GraphicsState,
    targets: &RenderTargets<'_>,
    resources: &DrawResources<'_>,
    indirect: &IndirectDraw<'_>,
    count_buffer: &Buffer,
    count_offset: u64,
    workers: Workers<'_>,
) -> Result<(), RendererError> {
    // VUID-vkCmdDrawIndirectCount-countBufferOffset-02716, -04129.
    if !count_offset.is_multiple_of(4) {
        return Err(DrawError::Misaligned {
            what: "count buffer offset",
            value: count_offset,
            align: 4,
        }
        .into());
    }
    indirect.validate()?;
    let mut raw = [0u8; 4];
    count_buffer.read(count_offset, &mut raw)?;
    let count = u32::from_le_bytes(raw).min(indirect.draw_count);
    run(
        batch, pipeline, state, targets, resources, indirect, count, workers,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ranges_strides_and_offsets_are_checked_before_drawing() {
        let buffer = Buffer::new(64).unwrap();
        let ok = IndirectDraw {
            buffer: &buffer,
            offset: 16,
            draw_count: 3,
            stride: 16,
            indexed: false,
        };
        assert!(ok.validate().is_ok());
        assert!(IndirectDraw {
            draw_count: 4,
            ..ok
        }
        .validate()
        .is_err());
        assert!(IndirectDraw { offset: 2, ..ok }.validate().is_err());
        assert!(IndirectDraw { stride: 12, ..ok }.validate().is_err());
        assert!(IndirectDraw {
            indexed: true,
            ..ok
        }
        .validate()
        .is_err());
        // One command needs no stride.
        assert!(IndirectDraw {
            draw_count: 1,
            stride: 0,
            offset: 48,
            ..ok
        }
        .validate()
        .is_ok());
        assert!(IndirectDraw {
            draw_count: u32::MAX,
            stride: u32::MAX,
            ..ok
        }
        .validate()
        .is_err());
        assert!(IndirectDraw {
            draw_count: 0,
            ..ok
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn commands_decode_with_a_signed_vertex_offset() {
        let buffer = Buffer::new(40).unwrap();
        buffer
            .write_slice(20, &[6u32, 2, 3, (-4i32) as u32, 7])
            .unwrap();
        let indirect = IndirectDraw {
            buffer: &buffer,
            offset: 0,
            draw_count: 2,
            stride: 20,
            indexed: true,
        };
        assert_eq!(
            indirect.command(1).unwrap(),
            DrawCall::Indexed {
                index_count: 6,
                instance_count: 2,
                first_index: 3,
                vertex_offset: -4,
                first_instance: 7
            }
        );
    }
}
