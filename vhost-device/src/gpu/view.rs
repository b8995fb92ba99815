//! Host views of guest backing (DESIGN §3): a resource's scattered guest-physical ranges mapped
//! back to back into one contiguous host mapping, straight from the vhost-user memory regions'
//! files — no copies. The view owns its mapping: dropping the last `Arc<GuestView>` unmaps it,
//! so work in flight keeps the memory it uses mapped even after the guest detaches the backing.
//!
//! Trusts nothing about the entries: each is checked for zero length, overflow, 4 KiB alignment
//! and lying inside guest memory; the total against the resource's size and the client's
//! budget; the number of mappings against a cap far below `vm.max_map_count`.

use std::os::fd::AsRawFd;

use thiserror::Error;
use vm_memory::bitmap::Bitmap;
use vm_memory::{GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

use crate::context::GuestMemoryView;

/// Guest pages are mapped individually, so entries must be whole 4 KiB pages.
pub const PAGE_SIZE: u64 = 4096;

/// `struct virtio_gpu_mem_entry` (the padding dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemEntry {
    pub addr: u64,
    pub len: u32,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ViewError {
    #[error("no backing entries")]
    NoEntries,
    #[error("backing entry {index} has length 0")]
    ZeroLength { index: usize },
    #[error("backing entry {index} ({addr:#x}+{len:#x}) is not 4 KiB aligned: the device maps guest pages and needs page-aligned addresses and lengths")]
    Unaligned { index: usize, addr: u64, len: u32 },
    #[error("backing entry {index} ({addr:#x}+{len:#x}) overflows the address space")]
    Overflow { index: usize, addr: u64, len: u32 },
    #[error("backing range {addr:#x}+{len:#x} is outside guest memory")]
    OutsideGuestMemory { addr: u64, len: u64 },
    #[error("guest memory region at {addr:#x} has no file the device can map")]
    NotShared { addr: u64 },
    #[error("backing of {total} bytes is smaller than the resource's {needed}")]
    TooSmall { total: u64, needed: u64 },
    #[error(
        "backing of {requested} bytes exceeds the {available} bytes left in this client's budget"
    )]
    OverBudget { requested: u64, available: u64 },
    #[error("backing needs {runs} mappings, {available} left for this client")]
    TooManyRuns { runs: usize, available: usize },
    #[error("mmap failed: {0}")]
    Map(String),
}

/// What a new view may still use (the client's remaining budget).
#[derive(Clone, Copy, Debug)]
pub struct ViewBudget {
    pub bytes: u64,
    pub runs: usize,
}

/// One contiguous host mapping of a resource's guest backing.
#[derive(Debug)]
pub struct GuestView {
    /// Start of the reservation (an address, not a pointer, so the type is `Send + Sync`:
    /// the bytes are shared guest RAM, accessed only through raw-pointer copies).
    base: usize,
    /// Bytes reserved and mapped (the sum of the entries).
    mapped: usize,
    /// Bytes the resource uses (≤ `mapped`).
    len: usize,
    /// Number of file mappings the view is made of.
    runs: usize,
}

/// A piece of one view: `len` bytes of `fd` at `file_offset`.
struct Piece {
    fd: i32,
    file_offset: u64,
    len: u64,
}

impl GuestView {
    /// Maps `entries` of `mem` back to back. `needed` is the resource's size (the view's
    /// `len()`); the entries must cover at least that many bytes.
    pub fn map<B: Bitmap>(
        mem: &GuestMemoryMmap<B>,
        entries: &[MemEntry],
        needed: u64,
        budget: ViewBudget,
    ) -> Result<GuestView, ViewError> {
        let runs = merge_runs(entries)?;
        let total = runs.iter().map(|r| r.1).sum::<u64>();
        if total < needed {
            return Err(ViewError::TooSmall { total, needed });
        }
        if total > budget.bytes {
            return Err(ViewError::OverBudget {
                requested: total,
                available: budget.bytes,
            });
        }
        let mut pieces = Vec::new();
        for &(addr, len) in &runs {
            split_by_region(mem, addr, len, &mut pieces)?;
            if pieces.len() > budget.runs {
                return Err(ViewError::TooManyRuns {
                    runs: pieces.len(),
                    available: budget.runs,
                });
            }
        }
        let mapped = usize::try_from(total).map_err(|_| ViewError::Map("too large".into()))?;
        let len = usize::try_from(needed).map_err(|_| ViewError::Map("too large".into()))?;
        // SAFETY: `map_pieces` reserves fresh address space (no existing mapping is touched)
        // and maps each piece inside it; the fds belong to `mem`'s regions, alive for the call.
        let base = unsafe { map_pieces(&pieces, mapped)? };
        Ok(GuestView {
            base,
            mapped,
            len,
            runs: pieces.len(),
        })
    }

    /// Number of file mappings (counted against the client's cap).
    pub fn runs(&self) -> usize {
        self.runs
    }

    /// Bytes mapped (counted against the client's budget).
    pub fn mapped_bytes(&self) -> u64 {
        self.mapped as u64
    }

    /// Copies `dst.len()` bytes from `offset` of the view. The bytes are guest RAM that may
    /// change concurrently: this is a raw copy, never a reference.
    pub fn read_at(&self, offset: usize, dst: &mut [u8]) -> bool {
        match offset.checked_add(dst.len()) {
            Some(end) if end <= self.len => {
                let src = (self.base as *const u8).wrapping_add(offset);
                // SAFETY: offset..end lies inside the mapping (checked above), which lives as
                // long as `self`; `dst` is a distinct host buffer.
                unsafe { std::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), dst.len()) };
                true
            }
            _ => false,
        }
    }
}

impl GuestMemoryView for GuestView {
    fn as_ptr(&self) -> *mut u8 {
        self.base as *mut u8
    }

    fn len(&self) -> usize {
        self.len
    }
}

impl Drop for GuestView {
    fn drop(&mut self) {
        // SAFETY: base..base+mapped is the reservation this view created and owns alone; no
        // `Arc` of it is left, so nothing uses the memory any more.
        let rc = unsafe { libc::munmap(self.base as *mut libc::c_void, self.mapped) };
        if rc != 0 {
            log::error!(
                "munmap of a guest view failed: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Checks every entry and merges physically adjacent consecutive entries into runs.
fn merge_runs(entries: &[MemEntry]) -> Result<Vec<(u64, u64)>, ViewError> {
    if entries.is_empty() {
        return Err(ViewError::NoEntries);
    }
    let mut runs: Vec<(u64, u64)> = Vec::new();
    let mut total: u64 = 0;
    for (index, e) in entries.iter().enumerate() {
        let (addr, len) = (e.addr, e.len);
        if len == 0 {
            return Err(ViewError::ZeroLength { index });
        }
        if addr % PAGE_SIZE != 0 || u64::from(len) % PAGE_SIZE != 0 {
            return Err(ViewError::Unaligned { index, addr, len });
        }
        let end = addr
            .checked_add(u64::from(len))
            .ok_or(ViewError::Overflow { index, addr, len })?;
        total = total
            .checked_add(u64::from(len))
            .ok_or(ViewError::Overflow { index, addr, len })?;
        match runs.last_mut() {
            Some(last) if last.0 + last.1 == addr => last.1 += u64::from(len),
            _ => runs.push((addr, end - addr)),
        }
    }
    Ok(runs)
}

/// Splits the guest range `addr..addr+len` at region boundaries into file pieces.
fn split_by_region<B: Bitmap>(
    mem: &GuestMemoryMmap<B>,
    mut addr: u64,
    mut len: u64,
    out: &mut Vec<Piece>,
) -> Result<(), ViewError> {
    while len > 0 {
        let region = mem
            .find_region(GuestAddress(addr))
            .ok_or(ViewError::OutsideGuestMemory { addr, len })?;
        let offset_in_region = addr - region.start_addr().0;
        let here = (region.len() - offset_in_region).min(len);
        let fo = region.file_offset().ok_or(ViewError::NotShared { addr })?;
        let file_offset = fo
            .start()
            .checked_add(offset_in_region)
            .ok_or(ViewError::OutsideGuestMemory { addr, len })?;
        if file_offset % PAGE_SIZE != 0 || file_offset > i64::MAX as u64 {
            return Err(ViewError::Map(format!(
                "region file offset {file_offset:#x} unusable"
            )));
        }
        out.push(Piece {
            fd: fo.file().as_raw_fd(),
            file_offset,
            len: here,
        });
        addr += here;
        len -= here;
    }
    Ok(())
}

/// Reserves `total` bytes of address space and maps the pieces into it back to back.
/// Returns the base address.
///
/// # Safety
/// Every piece's fd must be an open, mappable file for the duration of the call, and the
/// pieces' lengths must sum to `total`.
unsafe fn map_pieces(pieces: &[Piece], total: usize) -> Result<usize, ViewError> {
    // SAFETY: a fresh anonymous PROT_NONE reservation; it touches no existing mapping.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            total,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(ViewError::Map(std::io::Error::last_os_error().to_string()));
    }
    let mut at = 0usize;
    for p in pieces {
        let len = p.len as usize;
        let addr = (base as *mut u8).wrapping_add(at);
        // SAFETY: base+at..base+at+len lies inside our reservation (the lengths sum to
        // `total`), so MAP_FIXED replaces only our own PROT_NONE pages; the fd is open
        // (caller's contract) and the offset is page-aligned (checked when splitting).
        let m = unsafe {
            libc::mmap(
                addr.cast(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_FIXED,
                p.fd,
                p.file_offset as libc::off_t,
            )
        };
        if m == libc::MAP_FAILED {
            let err = std::io::Error::last_os_error();
            // SAFETY: the whole reservation is ours and not yet handed out.
            unsafe { libc::munmap(base, total) };
            return Err(ViewError::Map(err.to_string()));
        }
        at += len;
    }
    Ok(base as usize)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
pub(crate) mod tests {
    use super::*;
    use std::fs::File;
    use std::os::fd::FromRawFd;
    use vm_memory::{Bytes, FileOffset};

    /// Guest memory of two regions (at 0 and 1 MiB + gap), backed by one memfd at different
    /// file offsets — as a vhost-user frontend shares it.
    pub(crate) fn guest_memory() -> GuestMemoryMmap<()> {
        let name = c"softgpu-test-guest";
        // SAFETY: memfd_create with a valid C string; the fd is owned by the File below.
        let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0);
        // SAFETY: fd is a fresh, owned descriptor.
        let file = unsafe { File::from_raw_fd(fd) };
        file.set_len(4 << 20).unwrap();
        let f2 = file.try_clone().unwrap();
        GuestMemoryMmap::from_ranges_with_files([
            (GuestAddress(0), 1 << 20, Some(FileOffset::new(file, 0))),
            (
                GuestAddress(0x20_0000),
                2 << 20,
                Some(FileOffset::new(f2, 1 << 20)),
            ),
        ])
        .unwrap()
    }

    const BUDGET: ViewBudget = ViewBudget {
        bytes: 1 << 30,
        runs: 1000,
    };

    fn fill_pages(mem: &GuestMemoryMmap<()>, pages: &[u64]) {
        for (i, &p) in pages.iter().enumerate() {
            mem.write_slice(&[i as u8 + 1; PAGE_SIZE as usize], GuestAddress(p))
                .unwrap();
        }
    }

    #[test]
    fn shuffled_pages_read_back_in_entry_order() {
        let mem = guest_memory();
        // Scattered, shuffled, across both regions, with two adjacent pages that merge.
        let pages = [0x21_3000, 0x5000, 0x6000, 0x1000, 0x3f_f000, 0x20_0000];
        fill_pages(&mem, &pages);
        let entries: Vec<_> = pages
            .iter()
            .map(|&addr| MemEntry {
                addr,
                len: PAGE_SIZE as u32,
            })
            .collect();
        let view = GuestView::map(&mem, &entries, 6 * PAGE_SIZE, BUDGET).unwrap();
        assert_eq!(view.runs(), 5, "0x5000 and 0x6000 merge");
        assert_eq!(view.len(), 6 * PAGE_SIZE as usize);
        for i in 0..pages.len() {
            let mut page = vec![0u8; PAGE_SIZE as usize];
            assert!(view.read_at(i * PAGE_SIZE as usize, &mut page));
            assert!(page.iter().all(|&b| b == i as u8 + 1), "page {i}");
        }
        // Writes through the view land in guest memory (zero copy).
        let p = view.as_ptr().wrapping_add(10);
        // SAFETY: offset 10 is inside the view, mapped while `view` lives.
        unsafe { p.write_volatile(0xab) };
        let mut b = [0u8; 1];
        mem.read_slice(&mut b, GuestAddress(pages[0] + 10)).unwrap();
        assert_eq!(b[0], 0xab);
    }

    #[test]
    fn entry_spanning_a_region_boundary_is_split() {
        let mem = guest_memory();
        // 0x20_0000..0x40_0000 is one region; 0xff000..0x101000 crosses out of region 0 into
        // the hole and must be refused, while a range inside region 1 maps as one piece.
        let bad = [MemEntry {
            addr: 0xf_f000,
            len: 0x2000,
        }];
        assert!(matches!(
            GuestView::map(&mem, &bad, 0x2000, BUDGET),
            Err(ViewError::OutsideGuestMemory { .. })
        ));
        let good = [MemEntry {
            addr: 0x20_0000,
            len: 0x20_0000,
        }];
        assert_eq!(
            GuestView::map(&mem, &good, 0x1000, BUDGET).unwrap().runs(),
            1
        );
    }

    #[test]
    fn hostile_entries_are_refused() {
        let mem = guest_memory();
        let page = PAGE_SIZE as u32;
        type Case<'a> = (&'a [MemEntry], fn(&ViewError) -> bool);
        let cases: [Case; 6] = [
            (&[], |e| matches!(e, ViewError::NoEntries)),
            (&[MemEntry { addr: 0, len: 0 }], |e| {
                matches!(e, ViewError::ZeroLength { .. })
            }),
            (
                &[MemEntry {
                    addr: 0x10,
                    len: page,
                }],
                |e| matches!(e, ViewError::Unaligned { .. }),
            ),
            (&[MemEntry { addr: 0, len: 100 }], |e| {
                matches!(e, ViewError::Unaligned { .. })
            }),
            (
                &[MemEntry {
                    addr: u64::MAX - 0xfff,
                    len: page,
                }],
                |e| matches!(e, ViewError::Overflow { .. }),
            ),
            (
                &[MemEntry {
                    addr: 0x100_0000,
                    len: page,
                }],
                |e| matches!(e, ViewError::OutsideGuestMemory { .. }),
            ),
        ];
        for (entries, check) in cases {
            let err = GuestView::map(&mem, entries, 0, BUDGET).unwrap_err();
            assert!(check(&err), "{entries:?}: {err}");
        }
        let one = [MemEntry { addr: 0, len: page }];
        assert!(matches!(
            GuestView::map(&mem, &one, 2 * PAGE_SIZE, BUDGET),
            Err(ViewError::TooSmall { .. })
        ));
        let small = ViewBudget {
            bytes: PAGE_SIZE - 1,
            runs: 10,
        };
        assert!(matches!(
            GuestView::map(&mem, &one, 0, small),
            Err(ViewError::OverBudget { .. })
        ));
        let two = [
            MemEntry { addr: 0, len: page },
            MemEntry {
                addr: 0x8000,
                len: page,
            },
        ];
        let one_run = ViewBudget {
            bytes: 1 << 20,
            runs: 1,
        };
        assert!(matches!(
            GuestView::map(&mem, &two, 0, one_run),
            Err(ViewError::TooManyRuns { .. })
        ));
    }

    #[test]
    fn overlapping_entries_alias_the_same_guest_page() {
        // Defined result, not an error: the device sees the page twice, as the guest does.
        let mem = guest_memory();
        fill_pages(&mem, &[0x4000]);
        let e = MemEntry {
            addr: 0x4000,
            len: PAGE_SIZE as u32,
        };
        let view = GuestView::map(&mem, &[e, e], 2 * PAGE_SIZE, BUDGET).unwrap();
        let p = view.as_ptr();
        // SAFETY: offset 0 is inside the view.
        unsafe { p.write_volatile(0x5a) };
        let mut b = [0u8; 1];
        assert!(view.read_at(PAGE_SIZE as usize, &mut b));
        assert_eq!(b[0], 0x5a);
    }

    #[test]
    fn view_outlives_the_guest_memory_table() {
        let mem = guest_memory();
        fill_pages(&mem, &[0x2000]);
        let view = GuestView::map(
            &mem,
            &[MemEntry {
                addr: 0x2000,
                len: 4096,
            }],
            4096,
            BUDGET,
        )
        .unwrap();
        drop(mem);
        let mut b = [0u8; 4];
        assert!(view.read_at(0, &mut b));
        assert_eq!(b, [1; 4]);
        assert!(!view.read_at(4094, &mut b), "reads past len are refused");
    }
}
