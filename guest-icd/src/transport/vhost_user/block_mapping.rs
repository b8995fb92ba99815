//! This process's contiguous view of a memory block whose guest pages are scattered: each
//! physical run of the guest-RAM memfd is mapped back to back into one reserved address range,
//! the way `VIRTGPU_MAP` gives a guest application one contiguous view of a resource.

use std::fs::File;
use std::os::fd::AsRawFd;

use super::page_allocator::{PageRun, PAGE_SIZE};

/// A mapping made by [`BlockMapping::map`]; unmapped on drop.
#[derive(Debug)]
pub struct BlockMapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value; any thread may unmap it
// (drop) and the pointer is only handed out, never dereferenced here.
unsafe impl Send for BlockMapping {}
// SAFETY: `&BlockMapping` only exposes the address and length.
unsafe impl Sync for BlockMapping {}

impl BlockMapping {
    /// Maps `runs` (in block order) of `file` contiguously, read + write, shared.
    pub fn map(file: &File, runs: &[PageRun]) -> std::io::Result<BlockMapping> {
        let pages: u64 = runs.iter().map(|r| r.count).sum();
        let len = usize::try_from(pages * PAGE_SIZE)
            .map_err(|_| std::io::Error::from_raw_os_error(libc::ENOMEM))?;
        if len == 0 {
            return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: a fresh anonymous PROT_NONE reservation at an address the kernel picks; it
        // overlaps nothing of ours.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // From here on, dropping `mapping` releases the whole range, fixed parts included.
        let mapping = BlockMapping {
            ptr: base.cast(),
            len,
        };
        let mut offset = 0usize;
        for run in runs {
            let run_len = (run.count * PAGE_SIZE) as usize;
            let at = mapping.ptr.wrapping_add(offset);
            // SAFETY: `offset + run_len <= len` (the runs sum to `len`), so MAP_FIXED replaces
            // only pages of our own reservation; the file range lies inside guest RAM.
            let got = unsafe {
                libc::mmap(
                    at.cast(),
                    run_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED | libc::MAP_FIXED,
                    file.as_raw_fd(),
                    (run.first * PAGE_SIZE) as libc::off_t,
                )
            };
            if got == libc::MAP_FAILED {
                return Err(std::io::Error::last_os_error());
            }
            offset += run_len;
        }
        Ok(mapping)
    }

    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for BlockMapping {
    fn drop(&mut self) {
        // SAFETY: `ptr..ptr+len` is exactly the range this value mapped; nobody is promised
        // access to it after the block is destroyed (Vulkan: memory must be unmapped first).
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::guest_ram::{GuestRam, MIN_GUEST_RAM};
    use super::*;
    use vm_memory::{Bytes, GuestAddress};

    #[test]
    fn contiguous_view_stitches_scattered_pages_in_block_order() {
        let ram = GuestRam::new(MIN_GUEST_RAM).unwrap();
        let runs = ram.alloc_block_pages(200).unwrap();
        assert!(runs.len() > 1, "need scattered runs for this test");
        let map = BlockMapping::map(ram.file(), &runs).unwrap();
        assert_eq!(map.len(), 200 * 4096);
        // Write a page index into each page through the view; read it back through guest RAM
        // at the physical page the block's i-th page is backed by.
        // SAFETY: the mapping is `len` bytes, read-write, and nothing else aliases it here.
        let view = unsafe { std::slice::from_raw_parts_mut(map.ptr(), map.len()) };
        for i in 0..200usize {
            view[i * 4096..i * 4096 + 8].copy_from_slice(&(i as u64 + 1000).to_le_bytes());
        }
        let mut i = 0u64;
        for run in &runs {
            for p in run.first..run.end() {
                let v: u64 = ram
                    .memory()
                    .read_obj(GuestAddress(GuestRam::gpa_of_page(p)))
                    .unwrap();
                assert_eq!(
                    v,
                    i + 1000,
                    "block page {i} not backed by physical page {p}"
                );
                i += 1;
            }
        }
    }
}
