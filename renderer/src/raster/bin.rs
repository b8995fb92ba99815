//! Binning set-up triangles into 64×64 tiles and rasterizing the tiles in parallel.
//!
//! Every tile is rasterized by exactly one worker, walking its bin in primitive order, so the
//! result does not depend on the number of threads or on which worker took which tile.
//! Workers are scoped threads taking tile numbers from a shared counter (uneven tiles balance
//! out); a thread that cannot be started is simply not used.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::primitives::SetupList;
use super::sink::FragmentSink;
use super::tile::{TileBounds, TileRaster};
use super::{Interpolation, RasterState, TILE_SIZE};

/// Triangle indices per tile, in primitive order.
struct Bins {
    tiles_x: u32,
    bins: Vec<Vec<u32>>,
}

impl Bins {
    fn new(state: &RasterState, list: &SetupList) -> Self {
        let tiles_x = state.width.div_ceil(TILE_SIZE);
        let tiles_y = state.height.div_ceil(TILE_SIZE);
        let mut bins = vec![Vec::new(); tiles_x as usize * tiles_y as usize];
        for (i, setup) in list.setups.iter().enumerate() {
            // Setup clamps bounds into the framebuffer, so these are non-negative.
            let tile = |v: i32| u32::try_from(v).unwrap_or(0) / TILE_SIZE;
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            for ty in tile(setup.min_y)..=tile(setup.max_y) {
                for tx in tile(setup.min_x)..=tile(setup.max_x) {
                    if let Some(bin) = bins.get_mut((ty * tiles_x + tx) as usize) {
                        bin.push(index);
                    }
                }
            }
        }
        Self { tiles_x, bins }
    }
}

/// Rasterizes every binned triangle into `sink`; returns the number of batches emitted.
pub(crate) fn run<S: FragmentSink>(
    state: &RasterState,
    interpolation: &[Interpolation],
    list: &SetupList,
    sink: &S,
) -> usize {
    let bins = Bins::new(state, list);
    let busy: Vec<usize> = (0..bins.bins.len())
        .filter(|&t| !bins.bins[t].is_empty())
        .collect();
    let depth_range = state.depth_clamp.then(|| {
        let (a, b) = (state.viewport.min_depth, state.viewport.max_depth);
        (a.min(b), a.max(b))
    });
    let next = AtomicUsize::new(0);
    let batches = AtomicUsize::new(0);
    let worker = || {
        let mut raster = TileRaster::new(interpolation, &list.arena, depth_range);
        let mut emitted = 0;
        loop {
            let n = next.fetch_add(1, Ordering::Relaxed);
            let Some(&tile) = busy.get(n) else { break };
            let (tx, ty) = (tile as u32 % bins.tiles_x, tile as u32 / bins.tiles_x);
            let (x, y) = (tx * TILE_SIZE, ty * TILE_SIZE);
            let (w, h) = (
                TILE_SIZE.min(state.width - x),
                TILE_SIZE.min(state.height - y),
            );
            let bounds = TileBounds {
                x0: x as i32,
                y0: y as i32,
                x1: (x + w) as i32,
                y1: (y + h) as i32,
            };
            let mut target = sink.begin_tile(x, y, w, h);
            for &index in &bins.bins[tile] {
                if let Some(setup) = list.setups.get(index as usize) {
                    emitted += raster.triangle(setup, bounds, &mut target);
                }
            }
            sink.end_tile(target);
        }
        batches.fetch_add(emitted, Ordering::Relaxed);
    };
    let threads = state.threads.min(busy.len()).max(1);
    std::thread::scope(|scope| {
        for _ in 1..threads {
            // Failing to start a helper only costs parallelism: the caller does the rest.
            let _ = std::thread::Builder::new()
                .name("raster".into())
                .spawn_scoped(scope, worker);
        }
        worker();
    });
    batches.load(Ordering::Relaxed)
}
