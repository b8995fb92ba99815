//! The device's view of the code arena (DESIGN §4): mapped once, never writable.
//!
//! jit-host sends a sealed memfd. We check the seals, reserve the whole span with one
//! `PROT_NONE` anonymous mapping, map the code region `PROT_READ | PROT_EXEC` and the data
//! region `PROT_READ` over it (both `MAP_SHARED | MAP_FIXED`), and close the fd. The
//! `F_SEAL_FUTURE_WRITE` seal means no writable view of these pages can ever be made here:
//! only jit-host's supervisor, which mapped it before sealing, writes code.
//!
//! Reused code ranges follow the Intel SDM's cross-modifying-code rule: a reply that lands
//! in reused space bumps a global generation, and a thread that has not yet seen the current
//! generation executes a serialising instruction before calling into the arena.

use std::cell::Cell;
use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::mman::{mmap, mmap_anonymous, munmap, MapFlags, ProtFlags};

use crate::wire::{ArenaLayout, CompiledRange};

/// Largest region size we accept: keeps the whole span far inside ±2 GiB, the reach of the
/// PC-relative references from code to its constants.
pub const MAX_REGION_SIZE: u64 = 1 << 30;

/// The seals a code-arena memfd must carry before we map it.
pub fn required_seals() -> SealFlag {
    SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_FUTURE_WRITE
        | SealFlag::F_SEAL_SEAL
}

#[derive(Debug, thiserror::Error)]
pub enum ArenaError {
    #[error("arena layout {0:?} is not page-aligned, empty, or too large")]
    BadLayout(ArenaLayout),
    #[error("arena fd is {found} bytes, the layout needs {expected}")]
    WrongSize { found: u64, expected: u64 },
    #[error("arena fd lacks the seals {missing:?}")]
    NotSealed { missing: SealFlag },
    #[error("arena fd: {0}")]
    Sys(#[from] nix::Error),
    #[error("compiled range {0:?} lies outside the arena")]
    BadRange(CompiledRange),
}

/// The arena mapped read+execute (code) and read-only (data). Unmapped on drop, so it must
/// outlive every kernel that runs from it (kernels hold an `Arc` to it, through the host).
#[derive(Debug)]
pub struct ArenaMapping {
    base: NonNull<u8>,
    layout: ArenaLayout,
}

// SAFETY: the mapping is never written through this process (it cannot be: the memfd is
// sealed against new writable mappings), and `base` is only used to compute addresses, so
// sharing it between threads is sound.
unsafe impl Send for ArenaMapping {}
// SAFETY: as above; no interior mutability.
unsafe impl Sync for ArenaMapping {}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

impl ArenaMapping {
    /// Checks `fd` (sealed, the right size), maps it, and closes it.
    pub fn map(fd: OwnedFd, layout: ArenaLayout) -> Result<ArenaMapping, ArenaError> {
        let page = page_size();
        let ArenaLayout {
            code_size,
            data_size,
        } = layout;
        let region_ok = |s: u64| s > 0 && s.is_multiple_of(page) && s <= MAX_REGION_SIZE;
        if !region_ok(code_size) || !region_ok(data_size) {
            return Err(ArenaError::BadLayout(layout));
        }
        let total = code_size + data_size;
        let stat = nix::sys::stat::fstat(fd.as_raw_fd())?;
        let found = u64::try_from(stat.st_size).unwrap_or(0);
        if found != total {
            return Err(ArenaError::WrongSize {
                found,
                expected: total,
            });
        }
        let seals = SealFlag::from_bits_truncate(fcntl(fd.as_raw_fd(), FcntlArg::F_GET_SEALS)?);
        let missing = required_seals() - seals;
        if !missing.is_empty() {
            return Err(ArenaError::NotSealed { missing });
        }
        // Sizes are ≤ 2 GiB (checked above), so they fit usize and are non-zero.
        let (code_len, data_len, total_len) =
            (code_size as usize, data_size as usize, total as usize);
        let nz = |n: usize| NonZeroUsize::new(n).ok_or(ArenaError::BadLayout(layout));
        // SAFETY: a fresh anonymous PROT_NONE reservation; it aliases nothing.
        let reserve = unsafe {
            mmap_anonymous(
                None,
                nz(total_len)?,
                ProtFlags::PROT_NONE,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE,
            )
        }?;
        let mapping = ArenaMapping {
            base: reserve.cast(),
            layout,
        };
        // SAFETY: MAP_FIXED replaces the first `code_len` bytes of our own reservation,
        // which nothing else uses; the file range [0, code_size) exists (size checked).
        unsafe {
            mmap(
                Some(nz(reserve.as_ptr() as usize)?),
                nz(code_len)?,
                ProtFlags::PROT_READ | ProtFlags::PROT_EXEC,
                MapFlags::MAP_SHARED | MapFlags::MAP_FIXED,
                fd.as_fd(),
                0,
            )
        }?;
        let data_at = nz(reserve.as_ptr() as usize + code_len)?;
        // SAFETY: replaces the rest of the reservation, [code_len, total), with the data
        // region; the file range [code_size, total) exists.
        unsafe {
            mmap(
                Some(data_at),
                nz(data_len)?,
                ProtFlags::PROT_READ,
                MapFlags::MAP_SHARED | MapFlags::MAP_FIXED,
                fd.as_fd(),
                i64::try_from(code_size).map_err(|_| ArenaError::BadLayout(layout))?,
            )
        }?;
        drop(fd);
        Ok(mapping)
    }

    pub fn layout(&self) -> ArenaLayout {
        self.layout
    }

    /// Start of the code region (the arena base).
    pub fn base(&self) -> *const u8 {
        self.base.as_ptr()
    }

    /// Checks that `range` lies in the arena as the protocol says (code in the code region,
    /// entry inside the code, data in the data region).
    pub fn check_range(&self, range: &CompiledRange) -> Result<(), ArenaError> {
        let ArenaLayout {
            code_size,
            data_size,
        } = self.layout;
        let bad = || ArenaError::BadRange(*range);
        let code_end = range
            .code_offset
            .checked_add(range.code_len)
            .ok_or_else(bad)?;
        if range.code_len == 0 || code_end > code_size || range.entry_offset >= range.code_len {
            return Err(bad());
        }
        if range.data_len != 0 {
            let data_end = range
                .data_offset
                .checked_add(range.data_len)
                .ok_or_else(bad)?;
            if range.data_offset < code_size || data_end > code_size + data_size {
                return Err(bad());
            }
        }
        Ok(())
    }

    /// Address of the entry point of `range` (checked with [`Self::check_range`]).
    pub fn entry_address(&self, range: &CompiledRange) -> Result<*const u8, ArenaError> {
        self.check_range(range)?;
        // In bounds of the mapping: entry < code_offset + code_len <= code_size, checked.
        Ok(self
            .base()
            .wrapping_add((range.code_offset + range.entry_offset) as usize))
    }
}

impl Drop for ArenaMapping {
    fn drop(&mut self) {
        let total = (self.layout.code_size + self.layout.data_size) as usize;
        // SAFETY: [base, base + total) is the span this value mapped; every kernel that could
        // run from it holds a reference that keeps this value alive, so none remains.
        if let Err(e) = unsafe { munmap(self.base.cast(), total) } {
            log::warn!("unmapping the code arena: {e}");
        }
    }
}

/// Bumped whenever compiled code lands in reused arena space.
static ARENA_GENERATION: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static SEEN_GENERATION: Cell<u64> = const { Cell::new(0) };
}

/// The current arena generation.
pub fn generation() -> u64 {
    ARENA_GENERATION.load(Ordering::Acquire)
}

/// Records that new code was written over old code. Call before handing the kernel out.
pub(crate) fn note_code_rewritten() {
    ARENA_GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// Serialises the calling thread's instruction stream if arena code was rewritten since it
/// last did so (Intel SDM Vol. 3A §8.1.3, cross-modifying code: the executing processor runs
/// a serialising instruction after the writer's "code is ready" signal).
pub fn sync_instruction_stream() {
    let current = ARENA_GENERATION.load(Ordering::Acquire);
    SEEN_GENERATION.with(|seen| {
        if seen.get() != current {
            // CPUID is serialising on every x86-64 processor and has no side effects.
            std::hint::black_box(core::arch::x86_64::__cpuid(0));
            seen.set(current);
        }
    });
}
