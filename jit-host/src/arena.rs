//! The writer's side of the code arena (DESIGN §4), owned by the supervisor.
//!
//! One sparse memfd holds a code region then a data region. The supervisor maps it
//! read+write once, then seals it (`SHRINK | GROW | FUTURE_WRITE | SEAL`): its own mapping
//! stays writable, and nobody — the device included — can make another writable view. The fd
//! goes to the device, which maps it read+execute / read-only.
//!
//! Linked code is placed here: text into the code region, constants into the data region,
//! PC-relative fixups computed from the two final offsets. Ranges come from a first-fit
//! allocator with 64-byte granularity; freed space is reused only after the device says the
//! kernel is gone, and a placement in reused code space is reported so the device can
//! serialise its threads before running it.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;

use jit_host_client::arena::required_seals;
use jit_host_client::wire::{ArenaLayout, CompiledRange};
use nix::fcntl::{fcntl, FcntlArg};
use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};

use crate::link::LinkedBlob;

/// Granularity and alignment of every arena allocation (a cache line).
pub const ARENA_ALIGN: u64 = 64;

/// The production layout: 256 MiB of code, 64 MiB of constants (sparse: untouched pages cost
/// nothing).
pub const DEFAULT_LAYOUT: ArenaLayout = ArenaLayout {
    code_size: 256 << 20,
    data_size: 64 << 20,
};

/// Padding and freed code are filled with `int3`, so a stray jump traps.
const CODE_FILL: u8 = 0xcc;

#[derive(Debug, thiserror::Error)]
pub enum ArenaError {
    #[error("creating the arena memfd: {0}")]
    Sys(#[from] nix::Error),
    #[error("arena layout {0:?} is not page-aligned, empty, or too large")]
    BadLayout(ArenaLayout),
    #[error("the code arena is full ({what} region)")]
    Full { what: &'static str },
    #[error("linked blob is malformed: {0}")]
    BadBlob(&'static str),
    #[error("a fixup at text offset {at} cannot reach its target (distance {distance})")]
    FixupOutOfRange { at: u32, distance: i64 },
}

/// First-fit allocator over `[0, size)` in [`ARENA_ALIGN`] units.
#[derive(Debug)]
pub struct RangeAllocator {
    size: u64,
    /// Everything at or above this offset has never been handed out.
    fresh_from: u64,
    /// Free ranges below `fresh_from`: start → length, coalesced.
    free: BTreeMap<u64, u64>,
}

impl RangeAllocator {
    pub fn new(size: u64) -> RangeAllocator {
        RangeAllocator {
            size,
            fresh_from: 0,
            free: BTreeMap::new(),
        }
    }

    /// Rounds a length up to the allocation granularity.
    pub fn round(len: u64) -> Option<u64> {
        len.checked_add(ARENA_ALIGN - 1)
            .map(|l| l & !(ARENA_ALIGN - 1))
    }

    /// Allocates `len` bytes (rounded up); returns the offset and whether the space was used
    /// before.
    pub fn alloc(&mut self, len: u64) -> Option<(u64, bool)> {
        let len = Self::round(len.max(1))?;
        let found = self
            .free
            .iter()
            .find(|(_, &free_len)| free_len >= len)
            .map(|(&s, &l)| (s, l));
        if let Some((start, free_len)) = found {
            self.free.remove(&start);
            if free_len > len {
                self.free.insert(start + len, free_len - len);
            }
            return Some((start, true));
        }
        let end = self.fresh_from.checked_add(len)?;
        if end > self.size {
            return None;
        }
        let start = self.fresh_from;
        self.fresh_from = end;
        Some((start, false))
    }

    /// Takes back an allocation nothing was written to: fresh space becomes fresh again.
    fn undo(&mut self, start: u64, len: u64, reused: bool) {
        let end = Self::round(len.max(1)).and_then(|l| start.checked_add(l));
        if !reused && end == Some(self.fresh_from) {
            self.fresh_from = start;
        } else {
            self.free(start, len);
        }
    }

    /// Returns `[start, start + len)` (len as passed to `alloc`) to the free list.
    pub fn free(&mut self, start: u64, len: u64) {
        let Some(mut len) = Self::round(len.max(1)) else {
            return;
        };
        let mut start = start;
        if let Some((&prev, &prev_len)) = self.free.range(..start).next_back() {
            if prev + prev_len == start {
                self.free.remove(&prev);
                start = prev;
                len += prev_len;
            }
        }
        if let Some(next_len) = self.free.remove(&(start + len)) {
            len += next_len;
        }
        self.free.insert(start, len);
    }
}

/// A kernel's ranges, keyed in the arena by its code offset.
#[derive(Debug, Clone, Copy)]
struct Allocation {
    code_len: u64,
    /// Offset within the data region and length, if the kernel has constants.
    data: Option<(u64, u64)>,
}

/// The arena, mapped read+write in this process only.
pub struct CodeArena {
    fd: Option<OwnedFd>,
    map: Option<NonNull<u8>>,
    layout: ArenaLayout,
    code: RangeAllocator,
    data: RangeAllocator,
    live: BTreeMap<u64, Allocation>,
}

impl CodeArena {
    /// Creates the memfd, maps it read+write, and seals it.
    pub fn create(layout: ArenaLayout) -> Result<CodeArena, ArenaError> {
        let ArenaLayout {
            code_size,
            data_size,
        } = layout;
        let ok = |s: u64| {
            s > 0 && s.is_multiple_of(4096) && s <= jit_host_client::arena::MAX_REGION_SIZE
        };
        if !ok(code_size) || !ok(data_size) {
            return Err(ArenaError::BadLayout(layout));
        }
        let total = code_size + data_size;
        let fd = memfd_create(
            c"softgpu-code-arena",
            MemFdCreateFlag::MFD_CLOEXEC | MemFdCreateFlag::MFD_ALLOW_SEALING,
        )?;
        nix::unistd::ftruncate(&fd, total as i64)?;
        let len = NonZeroUsize::new(total as usize).ok_or(ArenaError::BadLayout(layout))?;
        // SAFETY: a new shared mapping of our own fresh memfd at an address the kernel picks;
        // it aliases nothing in this process.
        let map = unsafe {
            mmap(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                fd.as_fd(),
                0,
            )
        }?;
        let raw_fd = fd.as_raw_fd();
        // Owned from here on, so the mapping is undone if sealing fails.
        let arena = CodeArena {
            map: Some(map.cast()),
            fd: Some(fd),
            layout,
            code: RangeAllocator::new(code_size),
            data: RangeAllocator::new(data_size),
            live: BTreeMap::new(),
        };
        fcntl(raw_fd, FcntlArg::F_ADD_SEALS(required_seals()))?;
        Ok(arena)
    }

    pub fn layout(&self) -> ArenaLayout {
        self.layout
    }

    /// The sealed memfd, until [`Self::close_fd`].
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(|fd| fd.as_fd())
    }

    /// Closes our copy of the fd once it has been sent (our mapping stays).
    pub fn close_fd(&mut self) {
        self.fd = None;
    }

    /// In a freshly forked compile worker: drops the writable mapping and the fd, so the
    /// worker never sees the arena.
    pub fn release_in_child(&mut self) {
        self.fd = None;
        self.unmap();
    }

    fn unmap(&mut self) {
        if let Some(map) = self.map.take() {
            let total = (self.layout.code_size + self.layout.data_size) as usize;
            // SAFETY: `map` is the mapping `create` made, `total` bytes long; taking it out of
            // `self.map` ensures nothing writes through it afterwards.
            if let Err(e) = unsafe { munmap(map.cast(), total) } {
                log::warn!("unmapping the code arena: {e}");
            }
        }
    }

    /// Writes `bytes` at arena offset `at` (bounds checked).
    fn write(&mut self, at: u64, bytes: &[u8]) -> Result<(), ArenaError> {
        let total = self.layout.code_size + self.layout.data_size;
        let end = at
            .checked_add(bytes.len() as u64)
            .ok_or(ArenaError::BadBlob("range overflows"))?;
        let map = self.map.ok_or(ArenaError::BadBlob("arena is not mapped"))?;
        if end > total {
            return Err(ArenaError::BadBlob("write outside the arena"));
        }
        // [at, end) is inside our read+write mapping of `total` bytes (checked above); the
        // device reads this range only after our answer (or, once freed, never), so nothing
        // races the copy.
        let dst = map.as_ptr().wrapping_add(at as usize);
        // SAFETY: see above; `dst` is in bounds, and `bytes` is a separate Rust slice.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len()) };
        Ok(())
    }

    /// Places a linked blob: allocates, copies, applies fixups. The answer's offsets follow
    /// [`CompiledRange`]'s conventions.
    pub fn place(&mut self, blob: &LinkedBlob) -> Result<CompiledRange, ArenaError> {
        let text_len = blob.text.len() as u64;
        if text_len == 0 || u64::from(blob.entry_offset) >= text_len {
            return Err(ArenaError::BadBlob("entry point outside the text"));
        }
        let (code_off, reused) = self
            .code
            .alloc(text_len)
            .ok_or(ArenaError::Full { what: "code" })?;
        let data = if blob.rodata.is_empty() {
            None
        } else {
            match self.data.alloc(blob.rodata.len() as u64) {
                Some((off, data_reused)) => Some((off, blob.rodata.len() as u64, data_reused)),
                None => {
                    self.code.undo(code_off, text_len, reused);
                    return Err(ArenaError::Full { what: "data" });
                }
            }
        };
        let alloc = Allocation {
            code_len: text_len,
            data: data.map(|(off, len, _)| (off, len)),
        };
        let text = match self.relocated_text(blob, code_off, alloc) {
            Ok(text) => text,
            Err(e) => {
                // Nothing was written: the space is as it was.
                self.code.undo(code_off, text_len, reused);
                if let Some((off, len, data_reused)) = data {
                    self.data.undo(off, len, data_reused);
                }
                return Err(e);
            }
        };
        if let Err(e) = self.write_kernel(&text, &blob.rodata, code_off, alloc) {
            self.release(code_off, alloc);
            return Err(e);
        }
        self.live.insert(code_off, alloc);
        let (data_offset, data_len) = alloc
            .data
            .map_or((0, 0), |(off, len)| (self.layout.code_size + off, len));
        Ok(CompiledRange {
            code_offset: code_off,
            code_len: text_len,
            data_offset,
            data_len,
            entry_offset: u64::from(blob.entry_offset),
            scratch_size: blob.scratch_size,
            reused,
        })
    }

    /// The blob's text with every fixup applied for this placement, padded with `int3` to
    /// the allocation granularity.
    fn relocated_text(
        &self,
        blob: &LinkedBlob,
        code_off: u64,
        alloc: Allocation,
    ) -> Result<Vec<u8>, ArenaError> {
        let mut text = blob.text.clone();
        // Where the kernel's constants start, relative to its code.
        let data_delta = alloc.data.map_or(0, |(off, _)| {
            (self.layout.code_size + off) as i64 - code_off as i64
        });
        for fixup in &blob.fixups {
            let at = fixup.at as usize;
            let slot = at.checked_add(4).and_then(|end| text.get_mut(at..end));
            let slot = slot.ok_or(ArenaError::BadBlob("fixup outside the text"))?;
            // value = (data base + target) - (code base + at), per `link::Fixup`.
            let distance = data_delta
                .checked_add(fixup.target)
                .and_then(|d| d.checked_sub(i64::from(fixup.at)))
                .ok_or(ArenaError::FixupOutOfRange {
                    at: fixup.at,
                    distance: i64::MAX,
                })?;
            let value = i32::try_from(distance).map_err(|_| ArenaError::FixupOutOfRange {
                at: fixup.at,
                distance,
            })?;
            slot.copy_from_slice(&value.to_le_bytes());
        }
        let padded = RangeAllocator::round(text.len() as u64).unwrap_or(text.len() as u64);
        text.resize(padded as usize, CODE_FILL);
        Ok(text)
    }

    fn write_kernel(
        &mut self,
        text: &[u8],
        rodata: &[u8],
        code_off: u64,
        alloc: Allocation,
    ) -> Result<(), ArenaError> {
        self.write(code_off, text)?;
        if let Some((off, _)) = alloc.data {
            let mut rodata = rodata.to_vec();
            let padded = RangeAllocator::round(rodata.len() as u64).unwrap_or(rodata.len() as u64);
            rodata.resize(padded as usize, 0);
            self.write(self.layout.code_size + off, &rodata)?;
        }
        Ok(())
    }

    fn release(&mut self, code_off: u64, alloc: Allocation) {
        self.code.free(code_off, alloc.code_len);
        if let Some((off, len)) = alloc.data {
            self.data.free(off, len);
        }
    }

    /// Frees the kernel placed at `code_offset`. The device sends this only when nothing can
    /// run the kernel any more. Unknown offsets (a confused or hostile peer) are ignored.
    pub fn free(&mut self, code_offset: u64) -> bool {
        let Some(alloc) = self.live.remove(&code_offset) else {
            return false;
        };
        let padded = RangeAllocator::round(alloc.code_len).unwrap_or(alloc.code_len);
        // Freed code becomes int3: a stale call traps instead of running old code.
        let _ = self.write(code_offset, &vec![CODE_FILL; padded as usize]);
        self.release(code_offset, alloc);
        true
    }
}

impl Drop for CodeArena {
    fn drop(&mut self) {
        self.unmap();
    }
}

#[cfg(test)]
mod tests;
