//! Setting up and binning primitives into 64×64 tiles, then rasterizing the tiles, both on the
//! worker pool ([`Workers`]).
//!
//! Setup runs in chunks of at most [`SETUP_CHUNK`] primitives, each chunk clipping, setting up
//! and binning its own primitives into its own [`ChunkBins`]. Every tile is then rasterized by
//! exactly one thread, walking the chunks' bins for that tile in chunk order, so primitive
//! order per tile is kept and the result does not depend on the number of threads or on which
//! thread took which chunk or tile.
//!
//! The two halves are separate: [`bin_window`] sets up and bins a window of primitives into an
//! owned [`Binned`], and [`rasterize_binned`] rasterizes the binned windows of one draw or of
//! many (a render pass's deferred draws, `crate::draw::PassBatch`), each tile on one thread
//! running every draw's windows in order — the same per-tile order as drawing one by one.
//!
//! A triangle spanning several tiles is binned only into the tiles its edges may reach
//! ([`may_cover`]), not every tile of its bounding box.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::error::RendererError;
use crate::pool::Workers;

use super::primitives::{Frontend, PostVertices, SetupList};
use super::setup::{Origin, RectSetup, SetupContext};
use super::sink::{FragmentSink, TileFragments};
use super::tile::{TileBounds, TileRaster};
use super::{Primitives, RasterError, RasterState, RasterStats, VertexStream, TILE_SIZE};

/// Primitives set up per chunk: large enough that a chunk costs far more than handing it
/// out, small enough that a window of primitives spreads over every thread.
const SETUP_CHUNK: usize = 1024;

/// The set-up triangles of one chunk of primitives and their tile bins. Bins cover only the
/// rectangle of tiles the chunk's triangles touch, so a chunk of small triangles costs little
/// whatever the framebuffer size.
struct ChunkBins {
    list: SetupList,
    /// Inclusive tile rectangle (x0, y0, x1, y1); `None` when no triangle was set up.
    rect: Option<(u32, u32, u32, u32)>,
    /// Local tile `l`'s triangles (indices into `list.setups`, in primitive order) are
    /// `indices[starts[l]..starts[l + 1]]`; local tiles are row-major within `rect`.
    starts: Vec<u32>,
    indices: Vec<u32>,
}

impl ChunkBins {
    fn bin(&self, tx: u32, ty: u32) -> &[u32] {
        let Some((x0, y0, x1, y1)) = self.rect else {
            return &[];
        };
        if tx < x0 || tx > x1 || ty < y0 || ty > y1 {
            return &[];
        }
        let local = ((ty - y0) * (x1 - x0 + 1) + tx - x0) as usize;
        let start = self.starts.get(local).copied().unwrap_or(0) as usize;
        let end = self.starts.get(local + 1).copied().unwrap_or(0) as usize;
        self.indices.get(start..end).unwrap_or(&[])
    }
}

/// The framebuffer's tile grid.
#[derive(Clone, Copy)]
struct TileGrid {
    tiles_x: u32,
    tiles_y: u32,
}

/// Tile of a pixel coordinate (setup clamps bounds into the framebuffer: non-negative).
fn tile_of(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0) / TILE_SIZE
}

/// Marks a bin entry as an index into [`SetupList::rects`] (otherwise into `setups`).
const RECT_ENTRY: u32 = 1 << 31;

/// Calls `f(local tile, entry)` for every tile each of `list`'s primitives touches, in
/// primitive order (triangles and rectangles merged by primitive number); local tiles are
/// numbered row-major in a rectangle `width` tiles wide from `origin`, which contains every
/// primitive's tiles. An entry is an index into `list.setups`, or one into `list.rects` with
/// [`RECT_ENTRY`] set.
fn for_each_tile(list: &SetupList, origin: (u32, u32), width: u32, mut f: impl FnMut(usize, u32)) {
    let mut tiles = |bounds: [i32; 4], test: &dyn Fn(u32, u32) -> bool, entry: u32| {
        let (tx0, tx1) = (tile_of(bounds[0]), tile_of(bounds[2]));
        let (ty0, ty1) = (tile_of(bounds[1]), tile_of(bounds[3]));
        // A triangle within one tile touches it; a larger one skips the tiles of its box
        // that lie wholly outside an edge (half of them for a full-screen triangle).
        let one_row_or_column = tx0 == tx1 || ty0 == ty1;
        for ty in ty0..=ty1 {
            for tx in tx0..=tx1 {
                if one_row_or_column || test(tx, ty) {
                    f(((ty - origin.1) * width + tx - origin.0) as usize, entry);
                }
            }
        }
    };
    let mut rects = list.rects.iter().zip(0u32..).peekable();
    for (s, i) in list.setups.iter().zip(0u32..) {
        while let Some((r, j)) = rects.next_if(|(r, _)| r.primitives[0] < s.primitive) {
            // A rectangle covers its whole box.
            tiles(r.bounds(), &|_, _| true, j | RECT_ENTRY);
        }
        tiles(
            [s.min_x, s.min_y, s.max_x, s.max_y],
            &|tx, ty| may_cover(s, tx, ty),
            i,
        );
    }
    for (r, j) in rects {
        tiles(r.bounds(), &|_, _| true, j | RECT_ENTRY);
    }
}

/// False when no pixel centre of tile (`tx`, `ty`) lies inside all three edges of `s`: some
/// edge is negative at the tile's corner pixel where it is largest. Exact for the whole
/// 64×64 tile, so conservative for one the framebuffer cuts.
fn may_cover(s: &super::setup::TriangleSetup, tx: u32, ty: u32) -> bool {
    let (x, y) = (i64::from(tx * TILE_SIZE), i64::from(ty * TILE_SIZE));
    let last = i64::from(TILE_SIZE) - 1;
    s.edges.iter().all(|edge| {
        let (sx, sy) = edge.pixel_steps();
        // |E| < 2^51, |steps| < 2^34, last < 2^6: no overflow in i64.
        edge.at_pixel_centre(x, y) + sx.max(0) * last + sy.max(0) * last >= 0
    })
}

impl TileGrid {
    fn new(state: &RasterState) -> TileGrid {
        TileGrid {
            tiles_x: state.width.div_ceil(TILE_SIZE),
            tiles_y: state.height.div_ceil(TILE_SIZE),
        }
    }

    /// Bins a chunk's triangles (a counting sort by tile, within the chunk's rectangle).
    fn bin(&self, list: SetupList) -> ChunkBins {
        let boxes = list
            .setups
            .iter()
            .map(|s| [s.min_x, s.min_y, s.max_x, s.max_y])
            .chain(list.rects.iter().map(RectSetup::bounds));
        let rect = boxes.fold(None, |rect, [min_x, min_y, max_x, max_y]| {
            let (x0, y0, x1, y1) = (
                tile_of(min_x),
                tile_of(min_y),
                tile_of(max_x),
                tile_of(max_y),
            );
            Some(match rect {
                None => (x0, y0, x1, y1),
                Some((a, b, c, d)) => (x0.min(a), y0.min(b), x1.max(c), y1.max(d)),
            })
        });
        let Some((rx0, ry0, rx1, ry1)) = rect else {
            return ChunkBins {
                list,
                rect: None,
                starts: Vec::new(),
                indices: Vec::new(),
            };
        };
        let width = rx1 - rx0 + 1;
        let local_tiles = width as usize * (ry1 - ry0 + 1) as usize;
        let mut starts = vec![0u32; local_tiles + 1];
        for_each_tile(&list, (rx0, ry0), width, |tile, _| {
            if let Some(count) = starts.get_mut(tile + 1) {
                *count += 1;
            }
        });
        for t in 0..local_tiles {
            starts[t + 1] += starts[t];
        }
        let mut indices = vec![0u32; starts[local_tiles] as usize];
        let mut cursor = starts.clone();
        for_each_tile(&list, (rx0, ry0), width, |tile, index| {
            if let Some(at) = cursor.get_mut(tile) {
                if let Some(slot) = indices.get_mut(*at as usize) {
                    *slot = index;
                }
                *at += 1;
            }
        });
        ChunkBins {
            list,
            rect,
            starts,
            indices,
        }
    }
}

fn primitive_count(primitives: &Primitives<'_>) -> usize {
    match primitives {
        Primitives::Points(p) => p.len(),
        Primitives::Lines(l) => l.len(),
        Primitives::Triangles(t) => t.len(),
    }
}

/// Sets up and bins primitives `first .. first + size` (as far as there are).
fn setup_chunk(
    state: &RasterState,
    grid: TileGrid,
    vertices: &VertexStream<'_>,
    transformed: PostVertices<'_>,
    primitives: &Primitives<'_>,
    (first, size): (usize, usize),
) -> Result<ChunkBins, RasterError> {
    let mut frontend = Frontend::with_transformed(state, vertices, Some(transformed));
    let range = |len: usize| first.min(len)..first.saturating_add(size).min(len);
    match primitives {
        Primitives::Triangles(t) => {
            frontend.triangles(t.get(range(t.len())).unwrap_or(&[]), first)?
        }
        Primitives::Lines(l) => frontend.lines(l.get(range(l.len())).unwrap_or(&[]), first)?,
        Primitives::Points(p) => frontend.points(p.get(range(p.len())).unwrap_or(&[]), first)?,
    }
    Ok(grid.bin(frontend.finish()))
}

/// How `primitives` are split for setup over `threads`: the chunk count and size. Chunks
/// hold at most [`SETUP_CHUNK`] primitives and are of equal, even size (a pair of triangles
/// that makes a rectangle stays in one chunk where the draw's pairs start at even primitive
/// numbers). Where that keeps them at least half as large, their count is a multiple of the
/// threads, so that every thread gets as many: a window of 5,461 triangles on two threads is
/// 6 chunks of 912, not 5 of 1,024 and one of 341.
fn setup_chunks(primitives: usize, threads: usize) -> (usize, usize) {
    let mut count = primitives.div_ceil(SETUP_CHUNK);
    let even = count.next_multiple_of(threads.max(1));
    if primitives / even.max(1) >= SETUP_CHUNK / 2 {
        count = even;
    }
    let size = primitives
        .div_ceil(count.max(1))
        .next_multiple_of(2)
        .clamp(2, SETUP_CHUNK);
    (primitives.div_ceil(size), size)
}

fn pool_error(e: RendererError) -> RasterError {
    match e {
        RendererError::Cancelled => RasterError::Cancelled,
        _ => RasterError::WorkerFailed,
    }
}

/// A window of primitives set up and binned, owning everything its tiles need: the chunks'
/// set-up triangles and bins, the interpolation modes and the depth clamp range. Rasterizing
/// it later, tile by tile ([`rasterize_binned`]), gives exactly what [`run`] gives.
pub(crate) struct Binned {
    chunks: Vec<ChunkBins>,
    interpolation: Vec<super::Interpolation>,
    depth_range: Option<(f32, f32)>,
    /// The draw's state, to set the triangles of a [`RectSetup`] up again where a tile's
    /// sink does not take the rectangle.
    state: RasterState,
    /// Framebuffer size in pixels (`RasterState::width`, `height`).
    width: u32,
    height: u32,
    grid: TileGrid,
    /// Union of the chunks' tile rectangles, within the grid; `None`: no tile is busy.
    rect: Option<(u32, u32, u32, u32)>,
    stats: RasterStats,
}

impl Binned {
    /// Triangles set up and culled (`batches` is counted when tiles are rasterized).
    pub(crate) fn stats(&self) -> RasterStats {
        self.stats
    }

    /// Bytes held by the set-up triangles, their attributes and the bins.
    pub(crate) fn bytes(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| {
                c.list.setups.len() * std::mem::size_of::<super::setup::TriangleSetup>()
                    + c.list.rects.len() * std::mem::size_of::<RectSetup>()
                    + (c.list.arena.len() + c.indices.len() + c.starts.len())
                        * std::mem::size_of::<u32>()
            })
            .sum()
    }

    /// Whether tile `(tx, ty)` has a primitive of this window.
    fn busy(&self, tx: u32, ty: u32) -> bool {
        tx < self.grid.tiles_x
            && ty < self.grid.tiles_y
            && self.chunks.iter().any(|c| !c.bin(tx, ty).is_empty())
    }

    /// Gives the set-up lists back for reuse.
    pub(crate) fn recycle(self) {
        for chunk in self.chunks {
            chunk.list.recycle();
        }
    }
}

/// Sets up and bins `primitives` on `workers` (validating state and vertices first);
/// `transformed`: the vertices' [`super::PostTransform`] for `state`.
pub(crate) fn bin_window(
    workers: Workers<'_>,
    state: &RasterState,
    vertices: &VertexStream<'_>,
    transformed: PostVertices<'_>,
    primitives: Primitives<'_>,
) -> Result<Binned, RasterError> {
    super::validate(state, vertices)?;
    let grid = TileGrid::new(state);
    let (chunk_count, chunk_size) = setup_chunks(primitive_count(&primitives), workers.threads());
    let slots: Vec<Mutex<Option<Result<ChunkBins, RasterError>>>> =
        (0..chunk_count).map(|_| Mutex::new(None)).collect();
    workers
        .run_scoped_split(chunk_count, &|chunk| {
            let result = setup_chunk(
                state,
                grid,
                vertices,
                transformed,
                &primitives,
                (chunk * chunk_size, chunk_size),
            );
            if let Some(slot) = slots.get(chunk) {
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
            }
            Ok(())
        })
        .map_err(pool_error)?;
    let mut chunks = Vec::with_capacity(chunk_count);
    let mut stats = RasterStats::default();
    let mut failure = None;
    for slot in slots {
        let chunk = slot
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            // Every chunk ran (run_scoped returned Ok); the first error in primitive order
            // is the one reported, whichever thread saw it first.
            .ok_or(RasterError::WorkerFailed)
            .and_then(|r| r);
        match chunk {
            Ok(chunk) if failure.is_none() => {
                stats.triangles += chunk.list.stats.triangles;
                stats.culled += chunk.list.stats.culled;
                chunks.push(chunk);
            }
            Ok(chunk) => chunk.list.recycle(),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failure {
        for chunk in chunks {
            chunk.list.recycle();
        }
        return Err(e);
    }
    // Only tiles inside some chunk's rectangle can be busy.
    let rect = chunks
        .iter()
        .filter_map(|c| c.rect)
        .reduce(|(a, b, c, d), (x0, y0, x1, y1)| (a.min(x0), b.min(y0), c.max(x1), d.max(y1)))
        .and_then(|(x0, y0, x1, y1)| {
            let x1 = x1.min(grid.tiles_x.checked_sub(1)?);
            let y1 = y1.min(grid.tiles_y.checked_sub(1)?);
            (x0 <= x1 && y0 <= y1).then_some((x0, y0, x1, y1))
        });
    let depth_range = state.depth_clamp.then(|| {
        let (a, b) = (state.viewport.min_depth, state.viewport.max_depth);
        (a.min(b), a.max(b))
    });
    Ok(Binned {
        chunks,
        interpolation: vertices.interpolation.to_vec(),
        depth_range,
        state: *state,
        width: state.width,
        height: state.height,
        grid,
        rect,
        stats,
    })
}

/// Rasterizes binned windows of one or more draws: every busy tile by one worker, and within
/// a tile each draw in order — its sink's tile begun, its windows' triangles in order, the tile
/// ended — so every pixel sees the primitives in exactly the order that rasterizing the windows
/// one after the other would give, whatever the number of threads. Returns the fragment
/// blocks emitted.
pub(crate) fn rasterize_binned<S: FragmentSink>(
    workers: Workers<'_>,
    draws: &[(&S, &[Binned])],
) -> Result<usize, RasterError> {
    let union = draws
        .iter()
        .flat_map(|(_, windows)| windows.iter().filter_map(|w| w.rect))
        .reduce(|(a, b, c, d), (x0, y0, x1, y1)| (a.min(x0), b.min(y0), c.max(x1), d.max(y1)));
    // Busy tiles column by column, the calling thread taking them from the left and the
    // workers from the right (`run_scoped_split`): a tile then tends to stay with one thread
    // from batch to batch, with its attachment lines in that thread's cache. Handed out in
    // rows, in order, tiles changed threads between batches and each batch fetched its
    // pixels from the other core's cache (2 threads: tile work 1.6× that of 1 thread).
    let busy: Vec<(u32, u32)> = match union {
        None => Vec::new(),
        Some((x0, y0, x1, y1)) => (x0..=x1)
            .flat_map(|tx| (y0..=y1).map(move |ty| (tx, ty)))
            .filter(|&(tx, ty)| {
                draws
                    .iter()
                    .any(|(_, windows)| windows.iter().any(|w| w.busy(tx, ty)))
            })
            .collect(),
    };
    let batches = AtomicUsize::new(0);
    workers
        .run_scoped_split(busy.len(), &|n| {
            let Some(&(tx, ty)) = busy.get(n) else {
                return Ok(());
            };
            batches.fetch_add(rasterize_tile(draws, tx, ty), Ordering::Relaxed);
            Ok(())
        })
        .map_err(pool_error)?;
    Ok(batches.into_inner())
}

/// Depth ranges equal bit for bit (0.0 and -0.0 clamp differently).
fn same_bits(a: Option<(f32, f32)>, b: Option<(f32, f32)>) -> bool {
    let bits = |r: Option<(f32, f32)>| r.map(|(lo, hi)| (lo.to_bits(), hi.to_bits()));
    bits(a) == bits(b)
}

/// Tile `(tx, ty)` of every draw in `draws`, in order (see [`rasterize_binned`]).
fn rasterize_tile<S: FragmentSink>(draws: &[(&S, &[Binned])], tx: u32, ty: u32) -> usize {
    let (x, y) = (tx * TILE_SIZE, ty * TILE_SIZE);
    // The rasterizer state is kept from draw to draw while the interpolation modes and depth
    // range stay the same (it is reset per triangle).
    let mut raster: Option<(TileRaster<'_>, &Binned)> = None;
    let mut scratch = SetupList::default();
    let mut emitted = 0;
    for &(sink, windows) in draws {
        let Some(first) = windows.iter().find(|w| w.busy(tx, ty)) else {
            continue;
        };
        // Every window of a draw has the same framebuffer size.
        let (w, h) = (
            TILE_SIZE.min(first.width - x),
            TILE_SIZE.min(first.height - y),
        );
        let bounds = TileBounds {
            x0: x as i32,
            y0: y as i32,
            x1: (x + w) as i32,
            y1: (y + h) as i32,
        };
        let mut target = sink.begin_tile(x, y, w, h);
        for window in windows.iter().filter(|w| w.busy(tx, ty)) {
            let reuse = raster.as_ref().is_some_and(|(_, last)| {
                last.interpolation == window.interpolation
                    && same_bits(last.depth_range, window.depth_range)
            });
            if !reuse {
                raster = Some((
                    TileRaster::new(&window.interpolation, window.depth_range),
                    window,
                ));
            }
            let Some((tile_raster, _)) = raster.as_mut() else {
                continue;
            };
            let rects = target.takes_rects() || target.takes_shaded_rects();
            for chunk in &window.chunks {
                let (bin, setups) = (chunk.bin(tx, ty), &chunk.list.setups);
                let arena = &chunk.list.arena;
                let mut k = 0;
                while let Some(&index) = bin.get(k) {
                    k += 1;
                    if index & RECT_ENTRY != 0 {
                        prefetch_rect(&chunk.list, bin.get(k + PREFETCH_AHEAD).copied());
                        if let Some(rect) = chunk.list.rects.get((index & !RECT_ENTRY) as usize) {
                            emitted += rect_entry(
                                tile_raster,
                                rect,
                                arena,
                                bounds,
                                &mut target,
                                (window, &mut scratch),
                            );
                        }
                        continue;
                    }
                    let Some(setup) = setups.get(index as usize) else {
                        continue;
                    };
                    // Two halves of a rectangle, one after the other: one rectangle, where
                    // the sink takes it.
                    let next = bin
                        .get(k)
                        .filter(|&&n| rects && Some(n) == index.checked_add(1));
                    if let Some(second) = next.and_then(|&n| setups.get(n as usize)) {
                        if let Some(blocks) =
                            tile_raster.rect_pair(setup, second, arena, bounds, &mut target)
                        {
                            emitted += blocks;
                            k += 1;
                            continue;
                        }
                    }
                    emitted += tile_raster.triangle(setup, arena, bounds, &mut target);
                }
            }
        }
        sink.end_tile(target);
    }
    emitted
}

/// One [`RectSetup`] of `window` in `tile`: its pixels there as one rectangle where `out`
/// takes it; otherwise its two triangles, set up again (into `scratch`) exactly as the
/// front end would have set them up, one by one. Returns the blocks emitted.
fn rect_entry<T: TileFragments>(
    raster: &mut TileRaster<'_>,
    rect: &RectSetup,
    arena: &[f32],
    tile: TileBounds,
    out: &mut T,
    (window, scratch): (&Binned, &mut SetupList),
) -> usize {
    let components = window.interpolation.len();
    let Some(values) = arena.get(rect.attributes..rect.attributes + components) else {
        return 0;
    };
    if let Some(blocks) = raster.rect(rect, values, tile, out) {
        return blocks;
    }
    let ctx = SetupContext::new(&window.state, &window.interpolation);
    scratch.setups.clear();
    scratch.arena.clear();
    for (vertices, &primitive) in rect.vertices.iter().zip(&rect.primitives) {
        ctx.triangle_into(
            *vertices,
            [values; 3],
            values,
            Origin::Polygon,
            primitive,
            &mut scratch.arena,
            &mut scratch.setups,
        );
    }
    scratch
        .setups
        .iter()
        .map(|setup| raster.triangle(setup, &scratch.arena, tile, out))
        .sum()
}

/// Sets up, bins and rasterizes `primitives` into `sink` on `workers`.
pub(crate) fn run<S: FragmentSink>(
    workers: Workers<'_>,
    state: &RasterState,
    vertices: &VertexStream<'_>,
    primitives: Primitives<'_>,
    sink: &S,
) -> Result<RasterStats, RasterError> {
    // The vertices' clip tests and screen positions once each, as the vertex stage of a
    // draw makes them.
    let count = vertices.positions.len();
    let (mut screen, mut inside) = (vec![Default::default(); count], vec![false; count]);
    super::PostTransform::new(state).vertices(vertices.positions, &mut screen, &mut inside);
    let transformed = PostVertices {
        screen: &screen,
        inside: &inside,
    };
    let binned = bin_window(workers, state, vertices, transformed, primitives)?;
    let mut stats = binned.stats();
    let result = rasterize_binned(workers, &[(sink, std::slice::from_ref(&binned))]);
    binned.recycle();
    stats.batches = result?;
    Ok(stats)
}

/// Bin entries ahead of the current one whose rectangle [`prefetch_rect`] asks for: a tile's
/// rectangles were set up on whichever thread set up their chunk, so their first touch here
/// often misses the cache.
const PREFETCH_AHEAD: usize = 6;

/// Asks the cache for the start of rectangle entry `entry` of `list` (bounds, facing and
/// attribute offset) and its attribute values; nothing for triangle entries.
#[inline(always)]
fn prefetch_rect(list: &SetupList, entry: Option<u32>) {
    let Some(rect) = entry
        .filter(|e| e & RECT_ENTRY != 0)
        .and_then(|e| list.rects.get((e & !RECT_ENTRY) as usize))
    else {
        return;
    };
    prefetch(std::ptr::from_ref(rect).cast());
    prefetch(std::ptr::from_ref(&rect.attributes).cast());
    if let Some(value) = list.arena.get(rect.attributes) {
        prefetch(std::ptr::from_ref(value).cast());
    }
}

#[inline(always)]
fn prefetch(p: *const i8) {
    // SAFETY: SSE is part of the x86-64 baseline, and a prefetch never faults, whatever
    // address it is given.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::{setup_chunks, SETUP_CHUNK};

    #[test]
    fn setup_chunks_cover_every_primitive_in_equal_even_chunks_shared_by_the_threads() {
        assert_eq!(setup_chunks(5461, 2), (6, 912));
        assert_eq!(setup_chunks(0, 2).0, 0);
        for primitives in [1, 2, 3, 1023, 1024, 1025, 2047, 4096, 5461, 16382, 100_000] {
            for threads in [1, 2, 3, 4, 16] {
                let (count, size) = setup_chunks(primitives, threads);
                let case = format!("{primitives} primitives, {threads} threads");
                assert!(size <= SETUP_CHUNK && size % 2 == 0, "{case}: size {size}");
                // Every primitive in exactly one chunk, and no chunk empty.
                assert!(count * size >= primitives, "{case}");
                assert!((count - 1) * size < primitives, "{case}");
                if primitives >= threads * SETUP_CHUNK {
                    assert_eq!(count % threads, 0, "{case}: {count} chunks");
                }
            }
        }
    }
}
