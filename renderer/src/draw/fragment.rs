//! The fragment stage as the output merger's [`FragmentShader`]: [`FragmentGlue`] turns
//! rasterizer batches and runs into the stage's inputs and its output words into attachment
//! words.
//!
//! A run ([`FragmentShader::shade_run`]) is shaded with one stage call per run (one kernel
//! call for a JIT stage): the run's attributes are the stage's inputs as they are (block-major,
//! `components` per block). Where output slot `s` is attachment `s / 4`'s component `s % 4`
//! (every location bound to the attachment of the same index, as in most pipelines) and the
//! stage writes every output word, each block's output words are its [`FragmentOutputs`]'
//! colour words themselves and nothing is copied; otherwise they go to one per-run block and
//! are copied from there.
//!
//! A stage whose outputs are the same for every fragment of the draw
//! ([`FragmentStage::constant_outputs`]: colours from constants, push constants, uniform
//! buffers) is called once, when the glue is made: every block then gets those colour words,
//! and no kernel runs per block.

use std::sync::Arc;

use shader::abi::GRAPHICS_LANES;

use crate::error::RendererError;
use crate::output::{CopiedColor, FragmentOutputs, FragmentShader, MAX_COLOR_ATTACHMENTS};
use crate::raster::{FragmentBatch, FragmentNeeds, FragmentRun, LANES, RUN_BLOCKS};
use crate::sampler::CopySampler;

use super::execute::DrawResources;
use super::pipeline::{ColorOutput, GraphicsPipeline};
use super::stage::{pixel_centres, FragmentIo, FragmentRunIo, FragmentStage, StageResources};
use super::DrawError;

/// The fragment stage as the output merger's [`FragmentShader`]: interpolated attributes in,
/// colour words per attachment and `FragDepth` out.
pub(super) struct FragmentGlue {
    stage: Option<(Arc<dyn FragmentStage>, StageResources)>,
    /// (output slot, attachment index in the sink, component).
    colors: Vec<(usize, usize, usize)>,
    /// (attachment, component) written by no output: zeroed in every shaded block (the
    /// others are overwritten anyway).
    unwritten: Vec<(usize, usize)>,
    frag_depth_slot: Option<usize>,
    output_slots: usize,
    /// The stage writes output slot `s` straight into colour words `[s / 4][s % 4]` of a
    /// block's [`FragmentOutputs`] (see the module doc).
    direct: bool,
    /// Where the stage's outputs are the same for every fragment of the draw: the colour
    /// words of every shaded block (attachments `..attachments`; the rest zero), computed
    /// once.
    constant: Option<Box<ConstantColors>>,
    /// The outputs are exactly attachment 0's four components ([`Self::writes_one_attachment`]):
    /// a sampled copy's texels may go to it whole.
    copy_target: bool,
    /// Where the stage only copies inputs and constants to its outputs
    /// ([`FragmentStage::copied_inputs`]): where each colour word of attachments
    /// `..attachments` comes from (constant 0 where no output writes it), worked out once.
    copied: Option<Box<[[CopiedColor; 4]]>>,
}

/// The colour words every block of a draw-constant stage gets: what [`FragmentGlue`] would
/// hand over after any kernel call (zero where no output writes a component).
struct ConstantColors {
    color: [[[u32; LANES]; 4]; MAX_COLOR_ATTACHMENTS],
    /// Attachments of the sink (the words it reads), at most [`MAX_COLOR_ATTACHMENTS`].
    attachments: usize,
}

impl ConstantColors {
    /// Writes the colour words into a shaded block's outputs.
    #[inline(always)]
    fn write(&self, out: &mut FragmentOutputs) {
        // One fixed-size copy per attachment (a few vector stores), not a call to memcpy.
        for (out, words) in out.color.iter_mut().zip(&self.color).take(self.attachments) {
            *out = *words;
        }
    }
}

/// Most output words a fragment module can have: every location's four components plus
/// `FragDepth`, 8 lanes each.
const MAX_FRAGMENT_OUTPUT_WORDS: usize =
    (shader::ir::MAX_INTERFACE_LOCATIONS as usize * 4 + 1) * GRAPHICS_LANES;

/// Output words kept on a small stack block (two vec4 outputs): zeroing the largest possible
/// block for every batch would cost more than a small shader's whole run.
const SMALL_FRAGMENT_OUTPUT_WORDS: usize = 8 * GRAPHICS_LANES;

/// Per-run output blocks, smallest first: a run uses the first that holds all its blocks'
/// words (zeroing a block costs in proportion to its size, and short runs are common); the
/// last holds at least one block of any module, so a long run of a module with many outputs
/// takes several stage calls.
const RUN_WORDS: [usize; 3] = [4 * GRAPHICS_LANES * 4, 16 * GRAPHICS_LANES * 4, 2048];
const _: () = assert!(MAX_FRAGMENT_OUTPUT_WORDS <= RUN_WORDS[2]);

impl FragmentGlue {
    /// The glue of `pipeline`'s fragment stage for one view of a draw: `remap` gives the
    /// sink's attachment index of each colour location (`None`: not written), `attachments`
    /// the sink's attachment count.
    pub(super) fn new(
        pipeline: &GraphicsPipeline,
        resources: &DrawResources<'_>,
        view: u32,
        remap: &[Option<usize>],
        attachments: usize,
    ) -> Result<FragmentGlue, RendererError> {
        let stage = match &pipeline.fragment {
            None => None,
            Some((stage, interface)) => Some((
                stage.clone(),
                StageResources::resolve(
                    &interface.buffers,
                    resources.descriptors,
                    resources.push_constants,
                )?
                .with_images(
                    &interface.images,
                    &interface.samplers,
                    resources.descriptors,
                )?
                .with_view_index(view),
            )),
        };
        let colors: Vec<(usize, usize, usize)> = pipeline
            .color_outputs
            .iter()
            .filter_map(
                |&ColorOutput {
                     slot,
                     location,
                     component,
                 }| {
                    Some((slot, remap.get(location).copied().flatten()?, component))
                },
            )
            .collect();
        let output_slots = pipeline.fragment.as_ref().map_or(0, |f| f.1.outputs.len());
        if output_slots * GRAPHICS_LANES > MAX_FRAGMENT_OUTPUT_WORDS {
            return Err(DrawError::InvalidState("fragment module has too many outputs").into());
        }
        Ok(FragmentGlue::from_parts(
            stage,
            colors,
            attachments,
            pipeline.frag_depth_slot,
            output_slots,
        ))
    }

    fn from_parts(
        stage: Option<(Arc<dyn FragmentStage>, StageResources)>,
        colors: Vec<(usize, usize, usize)>,
        attachments: usize,
        frag_depth_slot: Option<usize>,
        output_slots: usize,
    ) -> FragmentGlue {
        let unwritten = (0..attachments)
            .flat_map(|attachment| (0..4).map(move |component| (attachment, component)))
            .filter(|&(attachment, component)| {
                !colors
                    .iter()
                    .any(|&(_, a, c)| a == attachment && c == component)
            })
            .collect();
        let direct = stage
            .as_ref()
            .is_some_and(|(stage, _)| stage.writes_every_output())
            && direct_layout(&colors, attachments, frag_depth_slot, output_slots);
        let mut glue = FragmentGlue {
            stage,
            colors,
            unwritten,
            frag_depth_slot,
            output_slots,
            direct,
            constant: None,
            copy_target: false,
            copied: None,
        };
        glue.constant = glue.constant_colors(attachments);
        glue.copied = glue.copied_sources(attachments);
        glue.copy_target = glue.writes_one_attachment();
        glue
    }

    /// The colour words of every block, where the stage's outputs are the same for every
    /// fragment (and the module has no `FragDepth`, whose default is per fragment).
    fn constant_colors(&self, attachments: usize) -> Option<Box<ConstantColors>> {
        let (stage, resources) = self.stage.as_ref()?;
        if self.frag_depth_slot.is_some() || attachments > MAX_COLOR_ATTACHMENTS {
            return None;
        }
        let words = stage.constant_outputs(resources)?;
        if words.len() != self.block_words() {
            return None;
        }
        let mut out = FragmentOutputs::default();
        self.write_outputs(&words, &mut out);
        Some(Box::new(ConstantColors {
            color: out.color,
            attachments,
        }))
    }

    /// This glue calling the stage for every block even where its outputs are constant (tests
    /// compare the two).
    #[cfg(test)]
    fn without_constant_outputs(mut self) -> FragmentGlue {
        self.constant = None;
        self
    }

    /// Whether the outputs are exactly attachment 0's four components, with nothing else
    /// written (no `FragDepth`, no constant colours): where a sampled copy's texel can go to
    /// the attachment as it is.
    fn writes_one_attachment(&self) -> bool {
        let mut components = [false; 4];
        for &(_, attachment, component) in &self.colors {
            if attachment != 0
                || component >= 4
                || std::mem::replace(&mut components[component], true)
            {
                return false;
            }
        }
        self.frag_depth_slot.is_none()
            && self.constant.is_none()
            && components == [true; 4]
            && self
                .unwritten
                .iter()
                .all(|&(attachment, _)| attachment != 0)
    }

    /// The stage's sampled copy and the copy kernel's sampler for its texture, where the
    /// glue hands its one texel to attachment 0 ([`FragmentGlue::copy_target`]) and the kernel takes
    /// the view and sampler.
    fn copy_parts(&self) -> Option<(&shader::sampled_copy::SampledCopy, CopySampler<'_>)> {
        let (stage, resources) = self.stage.as_ref().filter(|_| self.copy_target)?;
        let copy = stage.sampled_copy()?;
        let (img, smp) = resources.sampled(copy.image, copy.sampler)?;
        Some((copy, CopySampler::new(img, smp)?))
    }

    /// Output words of one block.
    fn block_words(&self) -> usize {
        self.output_slots * GRAPHICS_LANES
    }

    /// Zeroes the words of `colors` that no output writes.
    fn zero_unwritten_colors(&self, colors: &mut [[u32; 4]; MAX_COLOR_ATTACHMENTS]) {
        for &(attachment, component) in &self.unwritten {
            if let Some(word) = colors
                .get_mut(attachment)
                .and_then(|a| a.get_mut(component))
            {
                *word = 0;
            }
        }
    }

    /// Where each colour word of attachments `..attachments` comes from, where the stage only
    /// copies inputs and constants (and the module has no `FragDepth`): the copied source of
    /// the output slot that writes it, constant 0 where none does.
    fn copied_sources(&self, attachments: usize) -> Option<Box<[[CopiedColor; 4]]>> {
        use shader::constant_outputs::CopiedWord;
        let (stage, _) = self.stage.as_ref()?;
        let copied = stage.copied_inputs()?;
        if self.frag_depth_slot.is_some()
            || copied.len() != self.output_slots
            || attachments > MAX_COLOR_ATTACHMENTS
        {
            return None;
        }
        let mut sources = vec![[CopiedColor::Constant(0); 4]; attachments];
        for &(slot, attachment, component) in &self.colors {
            let source = match *copied.get(slot)? {
                CopiedWord::Input(n) => CopiedColor::Input(n as usize),
                CopiedWord::Constant(word) => CopiedColor::Constant(word),
            };
            if let Some(target) = sources
                .get_mut(attachment)
                .and_then(|a| a.get_mut(component))
            {
                *target = source;
            }
        }
        Some(sources.into_boxed_slice())
    }

    /// Zeroes the colour words that no output writes.
    fn zero_unwritten(&self, out: &mut FragmentOutputs) {
        for &(attachment, component) in &self.unwritten {
            if let Some(target) = out
                .color
                .get_mut(attachment)
                .and_then(|a| a.get_mut(component))
            {
                *target = [0; LANES];
            }
        }
    }

    /// Hands one block's output words to the output merger: colours (zero where no output
    /// writes a component) and, where the shader has one, `FragDepth`.
    fn write_outputs(&self, words: &[u32], out: &mut FragmentOutputs) {
        self.zero_unwritten(out);
        for &(slot, attachment, component) in &self.colors {
            let words = words.get(slot * LANES..).and_then(|w| w.first_chunk());
            let target = out
                .color
                .get_mut(attachment)
                .and_then(|a| a.get_mut(component));
            if let (Some(words), Some(target)) = (words, target) {
                *target = *words;
            }
        }
        if let Some(slot) = self.frag_depth_slot {
            if let Some(depth) = words.get(slot * LANES..).and_then(|w| w.first_chunk()) {
                out.depth = depth.map(f32::from_bits);
                out.depth_written = true;
            }
        }
    }

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
        let [x, y] = pixel_centres(batch.x, batch.y);
        let mut io = FragmentIo {
            inputs: batch.attributes,
            outputs,
            x: batch.x,
            y: batch.y,
            frag_coord: [x, y, batch.depth, batch.inv_w],
            point_coord: batch.point_coord,
            front_facing: batch.front_facing,
            live,
        };
        let survivors = stage.shade(resources, &mut io) & live;
        self.write_outputs(io.outputs, out);
        survivors
    }

    /// [`FragmentShader::shade_run`] on blocks `..blocks` of `run` (every slice holds that
    /// many), `W` words of output block per stage call (at least one block's words).
    #[allow(clippy::too_many_arguments)]
    fn shade_run_in<const W: usize>(
        &self,
        stage: &dyn FragmentStage,
        resources: &StageResources,
        run: &FragmentRun<'_>,
        blocks: usize,
        live: &[u8],
        out: &mut [FragmentOutputs],
        survivors: &mut [u8],
    ) {
        let n = self.block_words();
        let per_call = W.checked_div(n).unwrap_or(RUN_BLOCKS).clamp(1, RUN_BLOCKS);
        let mut first = 0;
        while first < blocks {
            let count = per_call.min(blocks - first);
            let range = first..first + count;
            self.shade_blocks::<W>(
                stage,
                resources,
                run,
                first,
                &live[range.clone()],
                &mut out[range.clone()],
                &mut survivors[range],
            );
            first += count;
        }
    }

    /// One stage call on blocks `first..first + live.len()` of `run` (at most
    /// [`RUN_BLOCKS`], their output words at most `W`).
    #[allow(clippy::too_many_arguments)]
    fn shade_blocks<const W: usize>(
        &self,
        stage: &dyn FragmentStage,
        resources: &StageResources,
        run: &FragmentRun<'_>,
        first: usize,
        live: &[u8],
        out: &mut [FragmentOutputs],
        survivors: &mut [u8],
    ) {
        let n = self.block_words();
        let count = live.len();
        let mut words = [0u32; W];
        let (Some(words), true) = (
            count.checked_mul(n).and_then(|len| words.get_mut(..len)),
            count <= RUN_BLOCKS,
        ) else {
            // Not reachable with the block counts `shade_run_in` makes; nothing is shaded.
            survivors.fill(0);
            return;
        };
        let depth = tail(run.depth, first);
        let mut block_live = [0u8; RUN_BLOCKS];
        block_live[..count].copy_from_slice(live);
        if let Some(slot) = self.frag_depth_slot {
            for ((block, &live), depth) in words.chunks_exact_mut(n).zip(live).zip(depth) {
                if live != 0 {
                    if let Some(target) = block.get_mut(slot * LANES..(slot + 1) * LANES) {
                        for (word, d) in target.iter_mut().zip(depth) {
                            *word = d.to_bits();
                        }
                    }
                }
            }
        }
        let mut outputs: [&mut [u32]; RUN_BLOCKS] = Default::default();
        if n != 0 {
            for (slice, block) in outputs.iter_mut().zip(words.chunks_exact_mut(n)) {
                *slice = block;
            }
        }
        let shaded = call_stage(
            stage,
            resources,
            run,
            first,
            &mut outputs[..count],
            &mut block_live[..count],
        );
        if !shaded {
            survivors.fill(0);
            return;
        }
        let words: &[u32] = words;
        for (k, (out, survivor)) in out.iter_mut().zip(survivors.iter_mut()).enumerate() {
            let live = live[k];
            *survivor = 0;
            if live == 0 {
                continue;
            }
            // As `FragmentRun::batch`: a block without its values is not shaded.
            let Some(depth) = depth.get(k) else {
                continue;
            };
            out.depth = *depth;
            out.depth_written = false;
            *survivor = block_live[k] & live;
            self.write_outputs(words.get(k * n..).unwrap_or_default(), out);
        }
    }
}

impl FragmentGlue {
    /// One stage call on blocks `first..first + live.len()` of `run` (at most
    /// [`RUN_BLOCKS`]), the stage writing each block's colour words in place (`self.direct`).
    #[allow(clippy::too_many_arguments)]
    fn shade_blocks_direct(
        &self,
        stage: &dyn FragmentStage,
        resources: &StageResources,
        run: &FragmentRun<'_>,
        first: usize,
        live: &[u8],
        out: &mut [FragmentOutputs],
        survivors: &mut [u8],
    ) {
        let n = self.block_words();
        let count = live.len();
        if count > RUN_BLOCKS || count > out.len() {
            // Not reachable with the block counts `shade_run` makes; nothing is shaded.
            survivors.fill(0);
            return;
        };
        let depth = tail(run.depth, first);
        let depth_at = self.frag_depth_slot.map(|slot| (slot / 4, slot % 4));
        for ((out, &live), depth) in out.iter_mut().zip(live).zip(depth) {
            if live != 0 {
                self.zero_unwritten(out);
                if let Some(target) = depth_at.and_then(|(a, c)| out.color.get_mut(a)?.get_mut(c)) {
                    *target = depth.map(f32::to_bits);
                }
            }
        }
        let mut block_live = [0u8; RUN_BLOCKS];
        block_live[..count].copy_from_slice(live);
        let mut outputs: [&mut [u32]; RUN_BLOCKS] = Default::default();
        for (slice, out) in outputs.iter_mut().zip(out.iter_mut()) {
            // n ≤ every colour word of a block (`direct_layout`).
            *slice = out
                .color
                .as_flattened_mut()
                .as_flattened_mut()
                .get_mut(..n)
                .unwrap_or_default();
        }
        let shaded = call_stage(
            stage,
            resources,
            run,
            first,
            &mut outputs[..count],
            &mut block_live[..count],
        );
        if !shaded {
            survivors.fill(0);
            return;
        }
        let blocks = out.iter_mut().zip(survivors.iter_mut()).zip(live);
        for (k, ((out, survivor), &live)) in blocks.enumerate() {
            *survivor = 0;
            if live == 0 {
                continue;
            }
            // As `FragmentRun::batch`: a block without its values is not shaded.
            let Some(depth) = depth.get(k) else {
                continue;
            };
            *survivor = block_live[k] & live;
            match depth_at.and_then(|(a, c)| out.color.get(a)?.get(c)) {
                Some(words) => {
                    out.depth = words.map(f32::from_bits);
                    out.depth_written = true;
                }
                None => {
                    out.depth = *depth;
                    out.depth_written = false;
                }
            }
        }
    }
}

/// One `stage.shade_run` call on blocks `first..first + outputs.len()` of `run`, with
/// `outputs` as the blocks' output words and `live` their live lanes, replaced by the
/// survivors. False, with nothing shaded, where the blocks' position does not fit u32 (not
/// reachable with the runs the rasterizer makes).
fn call_stage(
    stage: &dyn FragmentStage,
    resources: &StageResources,
    run: &FragmentRun<'_>,
    first: usize,
    outputs: &mut [&mut [u32]],
    live: &mut [u8],
) -> bool {
    let x = u32::try_from(first)
        .ok()
        .and_then(|first| first.checked_mul(4))
        .and_then(|dx| run.x.checked_add(dx));
    let Some(x) = x else {
        return false;
    };
    let inputs = first
        .checked_mul(run.components)
        .and_then(|at| run.attributes.get(at..))
        .unwrap_or_default();
    let mut io = FragmentRunIo {
        x,
        y: run.y,
        front_facing: run.front_facing,
        input_stride: run.components,
        inputs,
        outputs,
        depth: tail(run.depth, first),
        inv_w: tail(run.inv_w, first),
        point_coord: tail(run.point_coord, first),
        live,
    };
    stage.shade_run(resources, &mut io);
    true
}

/// `values[first..]`, empty past the end.
fn tail<T>(values: &[T], first: usize) -> &[T] {
    values.get(first..).unwrap_or_default()
}

/// Whether every output slot `s` may be written straight into colour words `[s / 4][s % 4]`:
/// a colour output there is the one (and only) output of that attachment component, and any
/// other slot (`FragDepth`, a location with no attachment) lands in an attachment the sink
/// does not have.
fn direct_layout(
    colors: &[(usize, usize, usize)],
    attachments: usize,
    frag_depth_slot: Option<usize>,
    output_slots: usize,
) -> bool {
    output_slots <= MAX_COLOR_ATTACHMENTS * 4
        && (0..output_slots).all(|slot| {
            let here = (slot / 4, slot % 4);
            let mut from_slot = colors.iter().filter(|&&(s, _, _)| s == slot).peekable();
            if Some(slot) == frag_depth_slot || from_slot.peek().is_none() {
                here.0 >= attachments
            } else {
                from_slot.all(|&(_, a, c)| (a, c) == here)
                    && !colors.iter().any(|&(s, a, c)| s != slot && (a, c) == here)
            }
        })
}

impl FragmentShader for FragmentGlue {
    /// What the stage reads, and the depth where the module has a `FragDepth` (it starts as
    /// the interpolated depth); nothing without a stage.
    /// The words every block gets where the stage's outputs are the same for every fragment
    /// (zero in the attachments past the sink's).
    fn constant_colors(&self) -> Option<&[[[u32; LANES]; 4]; MAX_COLOR_ATTACHMENTS]> {
        self.constant.as_ref().map(|c| &c.color)
    }

    fn colors_follow_inputs(&self) -> bool {
        self.frag_depth_slot.is_none()
            && self
                .stage
                .as_ref()
                .is_some_and(|(stage, _)| stage.outputs_follow_inputs())
    }

    fn copied_color(&self) -> Option<[CopiedColor; 4]> {
        self.copied.as_ref()?.first().copied()
    }

    /// One stage call with every lane carrying `inputs`, its words handed over as for any
    /// block (zero where no output writes a component).
    fn input_colors(&self, inputs: &[f32], colors: &mut [[u32; 4]; MAX_COLOR_ATTACHMENTS]) -> bool {
        let Some((stage, resources)) = self.stage.as_ref() else {
            return false;
        };
        if let Some(sources) = &self.copied {
            // Each word straight from its source, no kernel call.
            for (words, sources) in colors.iter_mut().zip(sources.iter()) {
                for (word, source) in words.iter_mut().zip(sources) {
                    match source.word(inputs) {
                        Some(w) => *word = w,
                        None => return false,
                    }
                }
            }
            return true;
        }
        let n = self.block_words();
        if self.frag_depth_slot.is_some() || n > SMALL_FRAGMENT_OUTPUT_WORDS {
            return false;
        }
        let mut words = [0u32; SMALL_FRAGMENT_OUTPUT_WORDS];
        let words = &mut words[..n];
        if !stage.input_outputs(resources, inputs, words) {
            return false;
        }
        self.zero_unwritten_colors(colors);
        for &(slot, attachment, component) in &self.colors {
            let word = words.get(slot * LANES).copied();
            let target = colors
                .get_mut(attachment)
                .and_then(|a| a.get_mut(component));
            if let (Some(word), Some(target)) = (word, target) {
                *target = word;
            }
        }
        true
    }

    /// A stage that copies one sampled texel to location 0, whose four components are the
    /// one attachment's, with a view and sampler the copy kernel takes.
    fn takes_sampled_rects(&self) -> bool {
        self.copy_parts().is_some()
    }

    /// The texels of `area`'s block rows, a group of 4 blocks at a time: coordinates from
    /// the module's program, filtered by the copy kernel.
    fn sampled_rect(
        &self,
        inputs: &[f32],
        area: [u32; 4],
        bgra: bool,
        row: &mut dyn FnMut(u32, &[[u32; LANES]]),
    ) -> bool {
        use crate::sampler::{Arrangement, Lanes, OutByte, GROUP_LANES, RECT_BLOCKS};
        use shader::sampled_copy::{CopiedComponent, MAX_STEPS};
        let Some((copy, sampler)) = self.copy_parts() else {
            return false;
        };
        let [x0, x1, _, _] = area;
        let blocks = (x1.saturating_sub(x0) / 4) as usize;
        if blocks == 0 || blocks > RECT_BLOCKS || copy.program.len() > MAX_STEPS {
            return false;
        }
        // Attachment byte j holds component j (RGBA) or [2, 1, 0, 3][j] (BGRA).
        let bytes: [OutByte; 4] = std::array::from_fn(|j| {
            let component = if bgra { [2, 1, 0, 3][j] } else { j };
            match copy.outputs[component] {
                CopiedComponent::Sampled(k) => OutByte::Component(k),
                CopiedComponent::Constant(c) => {
                    OutByte::Constant(crate::format::convert::float_to_unorm(c, 8) as u8)
                }
            }
        });
        let order = Arrangement::new(bytes, sampler.bgra());
        let mut steps = [[0f32; GROUP_LANES]; MAX_STEPS];
        let mut coords = |x: &Lanes, y: &Lanes, u: &mut Lanes, v: &mut Lanes| {
            copy.coordinates_of_lanes(x, y, inputs, &mut steps, u, v);
        };
        sampler.rect(
            area,
            &order,
            copy.separable,
            &mut coords,
            &mut |y, texels| row(y, texels),
        );
        true
    }

    fn needs(&self) -> FragmentNeeds {
        let Some((stage, _)) = &self.stage else {
            return FragmentNeeds::NONE;
        };
        let default_depth = FragmentNeeds {
            depth: self.frag_depth_slot.is_some(),
            ..FragmentNeeds::NONE
        };
        stage.reads().union(default_depth)
    }

    fn shade(&self, batch: &FragmentBatch<'_>, live: u8, out: &mut FragmentOutputs) -> u8 {
        let Some((stage, resources)) = &self.stage else {
            return live;
        };
        if let Some(constant) = &self.constant {
            constant.write(out);
            return live;
        }
        let n = self.block_words();
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

    fn shade_run(
        &self,
        run: &FragmentRun<'_>,
        live: &[u8],
        out: &mut [FragmentOutputs],
        survivors: &mut [u8],
    ) {
        let blocks = run
            .blocks()
            .min(live.len())
            .min(out.len())
            .min(survivors.len());
        let (live, out, survivors) = (
            &live[..blocks],
            &mut out[..blocks],
            &mut survivors[..blocks],
        );
        let Some((stage, resources)) = &self.stage else {
            // No fragment shader: every live lane survives, nothing is written but the depth.
            survivors.fill(0);
            let blocks = out.iter_mut().zip(survivors).zip(live).zip(run.depth);
            for (((out, survivor), &live), depth) in blocks {
                *survivor = live;
                if live != 0 {
                    out.depth = *depth;
                    out.depth_written = false;
                }
            }
            return;
        };
        if let Some(constant) = &self.constant {
            // Every live block gets the draw's colour words and keeps its lanes (no discard:
            // `constant_outputs`); its depth is the caller's (no `FragDepth`). As
            // `FragmentRun::batch`: a block without its values is not shaded.
            let blocks = out.iter_mut().zip(survivors.iter_mut()).zip(live);
            for (k, ((out, survivor), &live)) in blocks.enumerate() {
                *survivor = 0;
                if live != 0 && k < run.depth.len() {
                    *survivor = live;
                    out.depth_written = false;
                    constant.write(out);
                }
            }
            return;
        }
        let stage = stage.as_ref();
        let n = self.block_words();
        let total = blocks.saturating_mul(n);
        if self.direct {
            let mut first = 0;
            while first < blocks {
                let range = first..blocks.min(first + RUN_BLOCKS);
                self.shade_blocks_direct(
                    stage,
                    resources,
                    run,
                    first,
                    &live[range.clone()],
                    &mut out[range.clone()],
                    &mut survivors[range.clone()],
                );
                first = range.end;
            }
        } else if total <= RUN_WORDS[0] {
            self.shade_run_in::<{ RUN_WORDS[0] }>(
                stage, resources, run, blocks, live, out, survivors,
            );
        } else if total <= RUN_WORDS[1] {
            self.shade_run_in::<{ RUN_WORDS[1] }>(
                stage, resources, run, blocks, live, out, survivors,
            );
        } else if n <= RUN_WORDS[2] {
            self.shade_run_in::<{ RUN_WORDS[2] }>(
                stage, resources, run, blocks, live, out, survivors,
            );
        } else {
            // More output words than any module has (checked in `new`): as `shade` does.
            survivors.fill(0);
        }
    }
}

#[cfg(test)]
mod tests;
