//! "Guest RAM" for the host transport: one large sparse memfd, mapped shared here and handed to
//! the device with `SET_MEM_TABLE` as one region. Pages cost nothing until written; freed
//! memory-block pages go back to the OS (`fallocate(PUNCH_HOLE)`), which also makes them read
//! as zero when they are handed out again.
//!
//! Layout (page numbers from the start of the region):
//! `[0, QUEUE_PAGES)` virtqueues · `[QUEUE_PAGES, staging_end)` request/response staging
//! (never punched: reused at the rate of submissions) · `[staging_end, end)` memory blocks.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::Mutex;

use thiserror::Error;
use vm_memory::{FileOffset, GuestAddress, GuestMemoryMmap, GuestRegionMmap, MmapRegion};

use super::page_allocator::{PageAllocator, PageRun, Shuffler, PAGE_SIZE};

/// Guest-physical address of the region's first byte (QEMU guests start RAM at 0; any base
/// works, and a non-zero one catches GPA/offset mix-ups).
pub const GUEST_RAM_BASE: u64 = 1 << 20;
/// Pages reserved for the virtqueues' rings.
pub const QUEUE_PAGES: u64 = 256;
/// Smallest guest RAM we accept (queues + staging + a few blocks).
pub const MIN_GUEST_RAM: u64 = 16 << 20;
/// Backing runs of a memory block are 16–64 pages (64–256 KiB) long: scattered like a guest
/// kernel's, yet a 64 MiB block costs ~400 mappings, not 16384 (vm.max_map_count is 65530).
pub const BLOCK_RUN_PAGES: (u64, u64) = (16, 64);

#[derive(Debug, Error)]
pub enum GuestRamError {
    #[error("guest RAM of {0} bytes is smaller than {MIN_GUEST_RAM} or not page aligned")]
    BadSize(u64),
    #[error("memfd_create/ftruncate failed: {0}")]
    Create(std::io::Error),
    #[error("mapping guest RAM failed: {0}")]
    Map(String),
}

/// Which pool an allocation comes from; decides whether its pages are punched on free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pool {
    Staging,
    Blocks,
}

/// A contiguous guest-RAM buffer (request/response staging).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestBuffer {
    pub gpa: u64,
    pub len: u64,
    pub run: PageRun,
    pub pool: Pool,
}

pub struct GuestRam {
    file: File,
    size: u64,
    memory: GuestMemoryMmap,
    staging: Mutex<PageAllocator>,
    blocks: Mutex<PageAllocator>,
    shuffler: Mutex<Shuffler>,
}

impl std::fmt::Debug for GuestRam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestRam")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl GuestRam {
    /// Creates `size` bytes of sparse shared guest RAM.
    pub fn new(size: u64) -> Result<GuestRam, GuestRamError> {
        if size < MIN_GUEST_RAM || size & (PAGE_SIZE - 1) != 0 || usize::try_from(size).is_err() {
            return Err(GuestRamError::BadSize(size));
        }
        let name = c"softgpu-guest-ram";
        // SAFETY: `name` is a valid NUL-terminated string; the flags are valid memfd flags.
        let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(GuestRamError::Create(std::io::Error::last_os_error()));
        }
        // SAFETY: `fd` was just returned by memfd_create and is owned by nobody else.
        let file = unsafe { File::from_raw_fd(fd) };
        file.set_len(size).map_err(GuestRamError::Create)?;
        let map_file = file.try_clone().map_err(GuestRamError::Create)?;
        let region = MmapRegion::from_file(FileOffset::new(map_file, 0), size as usize)
            .map_err(|e| GuestRamError::Map(e.to_string()))?;
        let region = GuestRegionMmap::new(region, GuestAddress(GUEST_RAM_BASE))
            .ok_or_else(|| GuestRamError::Map("region overflows the address space".into()))?;
        let memory = GuestMemoryMmap::from_regions(vec![region])
            .map_err(|e| GuestRamError::Map(e.to_string()))?;
        let pages = size / PAGE_SIZE;
        let staging_pages = (pages / 8).clamp(256, 16384);
        let staging_end = QUEUE_PAGES + staging_pages;
        Ok(GuestRam {
            file,
            size,
            memory,
            staging: Mutex::new(PageAllocator::new(PageRun {
                first: QUEUE_PAGES,
                count: staging_pages,
            })),
            blocks: Mutex::new(PageAllocator::new(PageRun {
                first: staging_end,
                count: pages - staging_end,
            })),
            shuffler: Mutex::new(Shuffler::from_entropy()),
        })
    }

    pub fn memory(&self) -> &GuestMemoryMmap {
        &self.memory
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Start of this process's mapping of the whole region.
    pub fn host_base(&self) -> *mut u8 {
        use vm_memory::GuestMemoryBackend;
        self.memory
            .get_host_address(GuestAddress(GUEST_RAM_BASE))
            .unwrap_or(std::ptr::null_mut())
    }

    pub fn gpa_of_page(page: u64) -> u64 {
        GUEST_RAM_BASE + page * PAGE_SIZE
    }

    /// A contiguous buffer of at least `len` bytes: from the staging pool, else from the block
    /// pool (for an unusually large request). `None` when guest RAM is exhausted.
    pub fn alloc_buffer(&self, len: u64) -> Option<GuestBuffer> {
        let pages = len.max(1).div_ceil(PAGE_SIZE);
        if let Some(run) = lock(&self.staging).alloc_contiguous(pages) {
            return Some(GuestBuffer {
                gpa: Self::gpa_of_page(run.first),
                len,
                run,
                pool: Pool::Staging,
            });
        }
        let run = lock(&self.blocks).alloc_contiguous(pages)?;
        Some(GuestBuffer {
            gpa: Self::gpa_of_page(run.first),
            len,
            run,
            pool: Pool::Blocks,
        })
    }

    pub fn free_buffer(&self, buffer: GuestBuffer) {
        match buffer.pool {
            Pool::Staging => {
                lock(&self.staging).free(buffer.run);
            }
            Pool::Blocks => self.free_block_pages(&[buffer.run]),
        }
    }

    /// Pages for a memory block of `pages` pages, scattered and shuffled; they read as zero.
    pub fn alloc_block_pages(&self, pages: u64) -> Option<Vec<PageRun>> {
        let mut rng = lock(&self.shuffler);
        lock(&self.blocks).alloc_scattered(pages, BLOCK_RUN_PAGES, &mut rng)
    }

    /// Returns block pages to the OS, then to the allocator (so they come back zeroed).
    pub fn free_block_pages(&self, runs: &[PageRun]) {
        for run in runs {
            // SAFETY: fallocate on our own memfd with a range inside its size (runs come from
            // the block allocator, whose range lies inside the file); it touches no memory of
            // this process other than the pages' contents, which nobody here uses any more.
            let rc = unsafe {
                libc::fallocate(
                    self.file.as_raw_fd(),
                    libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                    (run.first * PAGE_SIZE) as libc::off_t,
                    (run.count * PAGE_SIZE) as libc::off_t,
                )
            };
            if rc != 0 {
                // The pages stay resident and dirty; handing them out again would break the
                // zero-fill promise, so they leak instead.
                log::error!(
                    "punching guest RAM pages failed: {}",
                    std::io::Error::last_os_error()
                );
                continue;
            }
            lock(&self.blocks).free(*run);
        }
    }

    pub fn free_block_page_count(&self) -> u64 {
        lock(&self.blocks).free_pages()
    }
}

/// A poisoned allocator lock means a panic elsewhere while it was held; the free list itself
/// is updated in single steps that keep it consistent, so keep using it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use vm_memory::Bytes;

    #[test]
    fn freed_block_pages_read_back_as_zero_and_leave_the_page_cache() {
        let ram = GuestRam::new(MIN_GUEST_RAM).unwrap();
        let runs = ram.alloc_block_pages(64).unwrap();
        let gpa = GuestRam::gpa_of_page(runs[0].first);
        ram.memory()
            .write_slice(&[0xAB; 4096], GuestAddress(gpa))
            .unwrap();
        let before = ram.free_block_page_count();
        ram.free_block_pages(&runs);
        assert_eq!(ram.free_block_page_count(), before + 64);
        let mut page = [1u8; 4096];
        ram.memory()
            .read_slice(&mut page, GuestAddress(gpa))
            .unwrap();
        assert!(
            page.iter().all(|&b| b == 0),
            "punched page kept its contents"
        );
    }

    #[test]
    fn buffers_come_from_staging_before_blocks() {
        let ram = GuestRam::new(MIN_GUEST_RAM).unwrap();
        let small = ram.alloc_buffer(100).unwrap();
        assert_eq!(small.pool, Pool::Staging);
        assert!(small.gpa >= GuestRam::gpa_of_page(QUEUE_PAGES));
        // Larger than the whole staging pool: must fall back to block pages.
        let big = ram.alloc_buffer(8 << 20).unwrap();
        assert_eq!(big.pool, Pool::Blocks);
        ram.free_buffer(small);
        ram.free_buffer(big);
    }

    #[test]
    fn rejects_tiny_or_unaligned_sizes() {
        assert!(GuestRam::new(4096).is_err());
        assert!(GuestRam::new(MIN_GUEST_RAM + 1).is_err());
    }
}
