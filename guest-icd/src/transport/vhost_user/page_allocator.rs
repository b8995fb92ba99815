//! Physical page allocation over one range of guest RAM: what a guest kernel's page allocator
//! does for the virtio-gpu driver. Pages are 4 KiB; a [`PageRun`] is a physically contiguous
//! run of them. Memory blocks are handed out as *scattered* runs in shuffled order, as a
//! Linux guest's shmem pages arrive at the device, so the device really has to stitch its
//! contiguous view from many backing entries.

use std::collections::BTreeMap;

pub const PAGE_SIZE: u64 = crate::transport::BLOCK_PAGE_SIZE;

/// `count` physically contiguous pages starting at page `first` (page numbers, not bytes,
/// relative to the start of guest RAM).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRun {
    pub first: u64,
    pub count: u64,
}

impl PageRun {
    pub fn end(&self) -> u64 {
        self.first + self.count
    }
}

/// A free list of page runs, coalesced on free. Not thread-safe by itself: the owner wraps it
/// in a mutex.
#[derive(Debug)]
pub struct PageAllocator {
    /// first page → page count; runs never touch or overlap (coalesced on free).
    free: BTreeMap<u64, u64>,
    free_pages: u64,
    /// The range this allocator manages; `free` rejects anything outside it.
    range: PageRun,
}

impl PageAllocator {
    /// An allocator owning the pages of `range`, all free.
    pub fn new(range: PageRun) -> PageAllocator {
        let mut free = BTreeMap::new();
        if range.count > 0 {
            free.insert(range.first, range.count);
        }
        PageAllocator {
            free,
            free_pages: range.count,
            range,
        }
    }

    pub fn free_pages(&self) -> u64 {
        self.free_pages
    }

    /// One physically contiguous run of `count` pages (first fit), or `None`.
    pub fn alloc_contiguous(&mut self, count: u64) -> Option<PageRun> {
        if count == 0 {
            return None;
        }
        let (&first, &len) = self.free.iter().find(|(_, &len)| len >= count)?;
        self.take(first, len, count);
        Some(PageRun { first, count })
    }

    /// `count` pages as runs of `chunk.0..=chunk.1` pages (lengths drawn from `rng`), taken
    /// wherever free space is, then put in shuffled order: the returned order is the order of
    /// the pages in the block. Runs that happen to be physically adjacent in that order are
    /// merged. `None` (and nothing allocated) if fewer than `count` pages are free.
    pub fn alloc_scattered(
        &mut self,
        count: u64,
        chunk: (u64, u64),
        rng: &mut Shuffler,
    ) -> Option<Vec<PageRun>> {
        if count == 0 || count > self.free_pages {
            return None;
        }
        // At least two runs whenever there are two pages, so even a small block is scattered.
        let cap = if count >= 2 { count / 2 } else { 1 };
        let hi = chunk.1.max(chunk.0).min(cap).max(1);
        let lo = chunk.0.clamp(1, hi);
        let mut runs = Vec::new();
        let mut left = count;
        while left > 0 {
            let want = lo.saturating_add(rng.below(hi - lo + 1)).min(left);
            // Enough pages are free (checked above), so the map is not empty.
            let (&first, &len) = self.free.iter().next()?;
            let got = want.min(len);
            self.take(first, len, got);
            runs.push(PageRun { first, count: got });
            left -= got;
        }
        rng.shuffle(&mut runs);
        // A shuffle can land on physical order; any other order breaks the range somewhere.
        if runs.len() >= 2 && runs.windows(2).all(|w| w[0].first < w[1].first) {
            runs.swap(0, 1);
        }
        Some(merge_adjacent(runs))
    }

    /// Gives `run` back. Panics never: a run outside the range or overlapping free pages is
    /// a bug of ours, reported as `false` and ignored (the pages leak rather than double-use).
    pub fn free(&mut self, run: PageRun) -> bool {
        if run.count == 0 || run.first < self.range.first || run.end() > self.range.end() {
            return false;
        }
        let before = self
            .free
            .range(..=run.first)
            .next_back()
            .map(|(&f, &c)| (f, c));
        let after = self.free.range(run.first..).next().map(|(&f, &c)| (f, c));
        if before.is_some_and(|(f, c)| f + c > run.first)
            || after.is_some_and(|(f, _)| f < run.end())
        {
            return false;
        }
        let mut first = run.first;
        let mut count = run.count;
        if let Some((f, c)) = before.filter(|(f, c)| f + c == run.first) {
            self.free.remove(&f);
            first = f;
            count += c;
        }
        if let Some((f, c)) = after.filter(|(f, _)| *f == run.end()) {
            self.free.remove(&f);
            count += c;
        }
        self.free.insert(first, count);
        self.free_pages += run.count;
        true
    }

    fn take(&mut self, first: u64, len: u64, count: u64) {
        self.free.remove(&first);
        if len > count {
            self.free.insert(first + count, len - count);
        }
        self.free_pages -= count;
    }
}

fn merge_adjacent(runs: Vec<PageRun>) -> Vec<PageRun> {
    let mut merged: Vec<PageRun> = Vec::with_capacity(runs.len());
    for run in runs {
        match merged.last_mut() {
            Some(last) if last.end() == run.first => last.count += run.count,
            _ => merged.push(run),
        }
    }
    merged
}

/// A small xorshift generator for shuffling backing pages (not for anything secret).
#[derive(Debug)]
pub struct Shuffler(u64);

impl Shuffler {
    pub fn new(seed: u64) -> Shuffler {
        Shuffler(seed | 1)
    }

    /// Seeded from the clock and the pid: different layouts from run to run.
    pub fn from_entropy() -> Shuffler {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Shuffler::new(nanos ^ (u64::from(std::process::id()) << 32))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-enough value in `0..n` (`n` > 0; 0 for `n` == 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pages_of(runs: &[PageRun]) -> Vec<u64> {
        runs.iter().flat_map(|r| r.first..r.end()).collect()
    }

    #[test]
    fn contiguous_allocations_do_not_overlap_and_free_coalesces() {
        let mut a = PageAllocator::new(PageRun {
            first: 10,
            count: 100,
        });
        let x = a.alloc_contiguous(30).unwrap();
        let y = a.alloc_contiguous(30).unwrap();
        let z = a.alloc_contiguous(40).unwrap();
        assert_eq!(a.free_pages(), 0);
        assert!(a.alloc_contiguous(1).is_none());
        assert!(x.end() <= y.first && y.end() <= z.first);
        // Free the middle, then the ends: must coalesce back into one run of 100.
        assert!(a.free(y));
        assert!(a.free(x));
        assert!(a.free(z));
        assert_eq!(a.free_pages(), 100);
        assert_eq!(
            a.alloc_contiguous(100),
            Some(PageRun {
                first: 10,
                count: 100
            })
        );
    }

    #[test]
    fn double_free_and_foreign_runs_are_refused() {
        let mut a = PageAllocator::new(PageRun {
            first: 0,
            count: 16,
        });
        let x = a.alloc_contiguous(4).unwrap();
        assert!(a.free(x));
        assert!(!a.free(x), "double free accepted");
        assert!(
            !a.free(PageRun {
                first: 15,
                count: 2
            }),
            "run past the range accepted"
        );
        assert!(!a.free(PageRun { first: 2, count: 0 }));
        assert_eq!(a.free_pages(), 16);
    }

    #[test]
    fn scattered_allocation_covers_exact_count_with_unique_pages_out_of_order() {
        let mut a = PageAllocator::new(PageRun {
            first: 0,
            count: 4096,
        });
        let mut rng = Shuffler::new(42);
        let runs = a.alloc_scattered(1000, (1, 8), &mut rng).unwrap();
        let pages = pages_of(&runs);
        assert_eq!(pages.len(), 1000);
        let mut sorted = pages.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 1000, "a page was handed out twice");
        assert_ne!(pages, sorted, "backing is in physical order: not shuffled");
        assert!(
            runs.len() > 10,
            "too few runs to exercise stitching: {}",
            runs.len()
        );
        for w in runs.windows(2) {
            assert_ne!(w[0].end(), w[1].first, "adjacent runs not merged");
        }
        assert_eq!(a.free_pages(), 4096 - 1000);
        for r in runs {
            assert!(a.free(r));
        }
        assert_eq!(a.alloc_contiguous(4096).map(|r| r.count), Some(4096));
    }

    #[test]
    fn small_scattered_allocations_are_never_one_physical_range() {
        for seed in 1..200 {
            let mut a = PageAllocator::new(PageRun {
                first: 0,
                count: 1024,
            });
            let mut rng = Shuffler::new(seed);
            let runs = a
                .alloc_scattered(2 + seed % 70, (16, 64), &mut rng)
                .unwrap();
            assert!(runs.len() >= 2, "seed {seed}: one contiguous run {runs:?}");
        }
    }

    #[test]
    fn scattered_allocation_fails_whole_when_space_is_short() {
        let mut a = PageAllocator::new(PageRun {
            first: 0,
            count: 64,
        });
        let mut rng = Shuffler::new(7);
        let _held = a.alloc_contiguous(60).unwrap();
        assert!(a.alloc_scattered(5, (1, 2), &mut rng).is_none());
        assert_eq!(a.free_pages(), 4, "a failed allocation took pages");
    }

    #[test]
    fn scattered_allocation_uses_fragmented_free_space() {
        let mut a = PageAllocator::new(PageRun {
            first: 0,
            count: 32,
        });
        let mut rng = Shuffler::new(3);
        let held: Vec<_> = (0..16).map(|_| a.alloc_contiguous(2).unwrap()).collect();
        // Free every other 2-page run: no contiguous 3 pages remain.
        for r in held.iter().step_by(2) {
            assert!(a.free(*r));
        }
        assert!(a.alloc_contiguous(3).is_none());
        let runs = a.alloc_scattered(16, (4, 8), &mut rng).unwrap();
        assert_eq!(pages_of(&runs).len(), 16);
        assert_eq!(a.free_pages(), 0);
    }
}
