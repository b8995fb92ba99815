//! Deferred draws: a render pass's draws binned as they come and rasterized together, tile by
//! tile ([`PassBatch`]).
//!
//! A draw's vertex work (fetch, vertex shading, assembly, setup and binning) runs when it is
//! recorded; its fragment work waits in the batch as a [`PendingDraw`]: the draw's output sink
//! (which owns its attachments, blend state and fragment stage resources) and its binned
//! windows. [`PassBatch::flush`] then hands every busy tile to one worker, which runs every
//! pending draw's windows for that tile in API order, each draw with its own tile of its sink.
//! A tile's pixels thus see exactly the primitives, in exactly the order, that drawing one
//! draw after the other gives (Vulkan §28.1 "Primitive Order"), so the images are bit for bit
//! those of immediate drawing on any number of threads — but each tile of the attachments is
//! brought into cache once per flush instead of once per draw.
//!
//! Memory is bounded whatever the guest records: the batch rasterizes what it holds as soon as
//! its set-up primitives exceed [`MAX_PENDING_BYTES`] or it holds [`MAX_PENDING_DRAWS`] draws
//! (between windows of a huge draw too), never sizing anything by a draw's counts.
//!
//! The caller flushes before anything could observe or change what pending draws touch (the
//! end of a subpass, a clear, a barrier, a copy, the end of the command stream): a pending
//! draw reads its fragment stage's buffers and writes its attachments only at the flush.

use crate::error::RendererError;
use crate::output::OutputSink;
use crate::pool::Workers;
use crate::raster::{rasterize_binned, Binned, RasterError};

use super::execute::DrawStats;
use super::fragment::FragmentGlue;
use super::DrawError;

/// Bytes of set-up primitives and bins a batch holds before it rasterizes them.
pub const MAX_PENDING_BYTES: usize = 2 << 20;
/// Draws (views of multiview draws count each) a batch holds before it rasterizes them.
pub const MAX_PENDING_DRAWS: usize = 1024;

/// One recorded draw (one view of it) whose fragments are not produced yet.
struct PendingDraw {
    sink: OutputSink<FragmentGlue>,
    /// Binned windows not rasterized yet, in order.
    windows: Vec<Binned>,
    /// Still being recorded: more windows may come, so its output totals are not final.
    open: bool,
}

/// The pending draws of one command stream's render pass instance, in API order.
pub struct PassBatch {
    draws: Vec<PendingDraw>,
    /// Rasterize what is pending once the set-up primitives exceed this many bytes ...
    max_bytes: usize,
    /// ... or this many draws are pending.
    max_draws: usize,
    /// [`Binned::bytes`] of every pending window.
    pending_bytes: usize,
    /// Totals of the draws recorded since the last [`PassBatch::flush`].
    stats: DrawStats,
    /// The first error a draw's output met when its tiles were written by an automatic
    /// rasterization; returned by the next [`PassBatch::flush`].
    error: Option<RendererError>,
}

impl std::fmt::Debug for PassBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassBatch")
            .field("draws", &self.draws.len())
            .field("pending_bytes", &self.pending_bytes)
            .finish()
    }
}

fn raster_error(e: RasterError) -> RendererError {
    match e {
        RasterError::Cancelled => RendererError::Cancelled,
        RasterError::WorkerFailed => RendererError::WorkerFailed,
        e => DrawError::from(e).into(),
    }
}

impl Default for PassBatch {
    fn default() -> PassBatch {
        PassBatch::with_limits(MAX_PENDING_BYTES, MAX_PENDING_DRAWS)
    }
}

impl PassBatch {
    pub fn new() -> PassBatch {
        PassBatch::default()
    }

    /// A batch that rasterizes what it holds once its set-up primitives exceed `max_bytes`
    /// or `max_draws` draws are pending (at least one).
    pub fn with_limits(max_bytes: usize, max_draws: usize) -> PassBatch {
        PassBatch {
            draws: Vec::new(),
            max_bytes,
            max_draws: max_draws.max(1),
            pending_bytes: 0,
            stats: DrawStats::default(),
            error: None,
        }
    }

    /// Bytes of set-up primitives and bins pending.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// No draw is waiting (nothing to flush).
    pub fn is_empty(&self) -> bool {
        self.draws.is_empty() && self.error.is_none()
    }

    /// Draws (views) waiting for their fragments.
    pub fn pending_draws(&self) -> usize {
        self.draws.len()
    }

    /// Rasterizes every pending draw and returns the totals of the draws recorded since the
    /// last flush, or the first error one of them met (the others are written regardless).
    pub fn flush(&mut self, workers: Workers<'_>) -> Result<DrawStats, RendererError> {
        for draw in &mut self.draws {
            draw.open = false;
        }
        let result = self.rasterize_pending(workers);
        let stats = std::mem::take(&mut self.stats);
        let error = self.error.take();
        result?;
        match error {
            Some(e) => Err(e),
            None => Ok(stats),
        }
    }

    /// Vertices shaded by the draw being recorded.
    pub(super) fn count_vertices(&mut self, shaded: u64) {
        self.stats.vertices_shaded += shaded;
    }

    /// Starts recording a draw whose fragments go to `sink`.
    pub(super) fn open_draw(
        &mut self,
        sink: OutputSink<FragmentGlue>,
        workers: Workers<'_>,
    ) -> Result<(), RendererError> {
        if self.draws.len() >= self.max_draws {
            self.rasterize_pending(workers)?;
        }
        self.draws.push(PendingDraw {
            sink,
            windows: Vec::new(),
            open: true,
        });
        Ok(())
    }

    /// Adds a binned window to the draw being recorded; rasterizes everything pending when
    /// the batch holds too much.
    pub(super) fn add_window(
        &mut self,
        window: Binned,
        workers: Workers<'_>,
    ) -> Result<(), RendererError> {
        let stats = window.stats();
        let bytes = window.bytes();
        let Some(draw) = self.draws.last_mut().filter(|d| d.open) else {
            window.recycle();
            return Err(DrawError::InvalidState("a window without a draw being recorded").into());
        };
        draw.windows.push(window);
        self.stats.raster.triangles += stats.triangles;
        self.stats.raster.culled += stats.culled;
        self.pending_bytes = self.pending_bytes.saturating_add(bytes);
        if self.pending_bytes > self.max_bytes {
            self.rasterize_pending(workers)?;
        }
        Ok(())
    }

    /// Ends recording the current draw (also after it failed: what it binned stays pending,
    /// as an immediate draw's earlier windows stay drawn).
    pub(super) fn close_draw(&mut self) {
        if let Some(draw) = self.draws.last_mut() {
            draw.open = false;
        }
    }

    /// Rasterizes every pending window, then retires the draws no longer being recorded
    /// (their output totals and errors are final). On a rasterization failure (cancelled,
    /// a worker died) every pending draw is dropped.
    fn rasterize_pending(&mut self, workers: Workers<'_>) -> Result<(), RendererError> {
        let draws: Vec<(&OutputSink<FragmentGlue>, &[Binned])> = self
            .draws
            .iter()
            .filter(|d| !d.windows.is_empty())
            .map(|d| (&d.sink, d.windows.as_slice()))
            .collect();
        let result = if draws.is_empty() {
            Ok(0)
        } else {
            rasterize_binned(workers, &draws)
        };
        drop(draws);
        for draw in &mut self.draws {
            for window in draw.windows.drain(..) {
                window.recycle();
            }
        }
        self.pending_bytes = 0;
        let batches = match result {
            Ok(batches) => batches,
            Err(e) => {
                self.draws.clear();
                return Err(raster_error(e));
            }
        };
        self.stats.raster.batches += batches;
        let mut kept = Vec::new();
        for draw in self.draws.drain(..) {
            if draw.open {
                kept.push(draw);
                continue;
            }
            match draw.sink.finish() {
                Ok(output) => {
                    self.stats.output.shaded += output.shaded;
                    self.stats.output.written += output.written;
                    self.stats.output.sampled += output.sampled;
                }
                Err(e) => {
                    self.error.get_or_insert(DrawError::from(e).into());
                }
            }
        }
        self.draws = kept;
        Ok(())
    }
}

impl Drop for PassBatch {
    fn drop(&mut self) {
        for draw in &mut self.draws {
            for window in draw.windows.drain(..) {
                window.recycle();
            }
        }
    }
}
