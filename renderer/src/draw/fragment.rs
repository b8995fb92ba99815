//! The fragment stage as the output merger's [`FragmentShader`]: [`FragmentGlue`] turns
//! rasterizer batches into the stage's inputs and its output words into attachment words.

use std::sync::Arc;

use shader::abi::GRAPHICS_LANES;

use crate::output::{FragmentOutputs, FragmentShader};
use crate::raster::{lane_offset, FragmentBatch, LANES};

use super::stage::{FragmentIo, FragmentStage, StageResources};

/// The fragment stage as the output merger's [`FragmentShader`]: interpolated attributes in,
/// colour words per attachment and `FragDepth` out.
pub(super) struct FragmentGlue {
    pub(super) stage: Option<(Arc<dyn FragmentStage>, StageResources)>,
    /// (output slot, attachment index in the sink, component).
    pub(super) colors: Vec<(usize, usize, usize)>,
    pub(super) attachments: usize,
    /// Some component of some attachment is written by no output: the attachments' words
    /// must be zeroed before each batch (else every word is overwritten anyway).
    pub(super) zero_colors: bool,
    pub(super) frag_depth_slot: Option<usize>,
    pub(super) output_slots: usize,
}

/// Most output words a fragment module can have: every location's four components plus
/// `FragDepth`, 8 lanes each.
pub(super) const MAX_FRAGMENT_OUTPUT_WORDS: usize =
    (shader::ir::MAX_INTERFACE_LOCATIONS as usize * 4 + 1) * GRAPHICS_LANES;

/// Output words kept on a small stack block (two vec4 outputs): zeroing the largest possible
/// block for every batch would cost more than a small shader's whole run.
const SMALL_FRAGMENT_OUTPUT_WORDS: usize = 8 * GRAPHICS_LANES;

impl FragmentShader for FragmentGlue {
    fn shade(&self, batch: &FragmentBatch<'_>, live: u8, out: &mut FragmentOutputs) -> u8 {
        let Some((stage, resources)) = &self.stage else {
            return live;
        };
        let n = self.output_slots * GRAPHICS_LANES;
        if n <= SMALL_FRAGMENT_OUTPUT_WORDS {
            let mut words = [0u32; SMALL_FRAGMENT_OUTPUT_WORDS];
            self.shade_into(stage.as_ref(), resources, batch, live, out, &mut words[..n])
        } else {
            let mut words = [0u32; MAX_FRAGMENT_OUTPUT_WORDS];
            match words.get_mut(..n) {
                Some(outputs) => {
                    self.shade_into(stage.as_ref(), resources, batch, live, out, outputs)
                }
                None => 0,
            }
        }
    }
}

impl FragmentGlue {
    /// Runs the stage on one batch with `outputs` (zeroed, `output_slots × 8` words) as its
    /// output block, then hands colours and depth to the output merger.
    fn shade_into(
        &self,
        stage: &dyn FragmentStage,
        resources: &StageResources,
        batch: &FragmentBatch<'_>,
        live: u8,
        out: &mut FragmentOutputs,
        outputs: &mut [u32],
    ) -> u8 {
        if let Some(slot) = self.frag_depth_slot {
            for lane in 0..LANES {
                outputs[slot * LANES + lane] = batch.depth[lane].to_bits();
            }
        }
        const DX: [u32; LANES] = lane_axis(0);
        const DY: [u32; LANES] = lane_axis(1);
        let at = |offsets: &[u32; LANES], origin: u32| -> [f32; LANES] {
            std::array::from_fn(|lane| origin.wrapping_add(offsets[lane]) as f32 + 0.5)
        };
        let frag_coord = [at(&DX, batch.x), at(&DY, batch.y), batch.depth, batch.inv_w];
        let mut io = FragmentIo {
            inputs: batch.attributes,
            outputs,
            frag_coord,
            point_coord: batch.point_coord,
            front_facing: batch.front_facing,
            live,
        };
        let survivors = stage.shade(resources, &mut io) & live;
        if self.zero_colors {
            for attachment in out.color.iter_mut().take(self.attachments) {
                *attachment = [[0; LANES]; 4];
            }
        }
        for &(slot, attachment, component) in &self.colors {
            let words = io.outputs.get(slot * LANES..).and_then(|w| w.first_chunk());
            let target = out
                .color
                .get_mut(attachment)
                .and_then(|a| a.get_mut(component));
            if let (Some(words), Some(target)) = (words, target) {
                *target = *words;
            }
        }
        if let Some(slot) = self.frag_depth_slot {
            for lane in 0..LANES {
                out.depth[lane] = f32::from_bits(io.outputs[slot * LANES + lane]);
            }
            out.depth_written = true;
        }
        survivors
    }
}

/// The x (`axis` 0) or y (1) offset of every lane in its block.
const fn lane_axis(axis: usize) -> [u32; LANES] {
    let mut out = [0; LANES];
    let mut lane = 0;
    while lane < LANES {
        let (dx, dy) = lane_offset(lane);
        out[lane] = if axis == 0 { dx } else { dy };
        lane += 1;
    }
    out
}
