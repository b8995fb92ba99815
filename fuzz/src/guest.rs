//! A fake guest RAM like the one vhost-user hands the device: a few regions, each a window of a
//! shared memfd, with holes between them (so backing entries can fall outside guest memory).

use std::fs::File;
use std::os::fd::FromRawFd;

use vm_memory::{FileOffset, GuestAddress, GuestMemoryMmap};

/// `(guest address, size, offset in the memfd)` of each region.
pub const REGIONS: [(u64, u64, u64); 3] = [
    (0, 64 << 10, 0),
    (0x10_0000, 128 << 10, 64 << 10),
    // Right after the previous one in guest-physical space, but elsewhere in the file: a
    // backing that crosses it must be split into two mappings.
    (0x12_0000, 64 << 10, 320 << 10),
];

/// Bytes of the memfd behind [`REGIONS`].
const FILE_SIZE: u64 = 384 << 10;

#[derive(Debug)]
pub struct GuestError(pub String);

/// Builds the fake guest RAM. Each call makes a fresh memfd (callers keep one for the whole
/// fuzzing run).
pub fn guest_memory() -> Result<GuestMemoryMmap<()>, GuestError> {
    // SAFETY: memfd_create with a NUL-terminated name; the returned fd is checked and then
    // owned by the File below, nothing else.
    let fd = unsafe { libc::memfd_create(c"softgpu-fuzz-guest".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(GuestError(format!(
            "memfd_create: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let file = unsafe { File::from_raw_fd(fd) };
    file.set_len(FILE_SIZE)
        .map_err(|e| GuestError(format!("ftruncate: {e}")))?;
    let mut ranges = Vec::new();
    for (addr, size, offset) in REGIONS {
        let f = file
            .try_clone()
            .map_err(|e| GuestError(format!("dup: {e}")))?;
        ranges.push((
            GuestAddress(addr),
            size as usize,
            Some(FileOffset::new(f, offset)),
        ));
    }
    GuestMemoryMmap::from_ranges_with_files(ranges).map_err(|e| GuestError(e.to_string()))
}

/// A guest-physical page address for a fuzzer's choice: mostly pages inside a region, with
/// some addresses in the holes, unaligned or near the top of the address space.
pub fn page_address(region: u8, page: u8, skew: u8) -> u64 {
    match region % 8 {
        0..=5 => {
            let (addr, size, _) = REGIONS[usize::from(region % 3)];
            addr + (u64::from(page) * 4096) % size
        }
        6 => 0x4000_0000 + u64::from(page) * 4096 + u64::from(skew),
        _ => u64::MAX - u64::from(page) * 4096 - u64::from(skew),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm_memory::{Bytes, GuestMemoryBackend};

    #[test]
    fn regions_are_shared_windows_of_one_file() {
        let mem = guest_memory().unwrap_or_else(|e| panic!("{e:?}"));
        mem.write_slice(&[7u8; 16], GuestAddress(0x12_0000))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut back = [0u8; 16];
        mem.read_slice(&mut back, GuestAddress(0x12_0000))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, [7u8; 16]);
        assert!(mem.address_in_range(GuestAddress(0x13_0000 - 1)));
        assert!(!mem.address_in_range(GuestAddress(0x13_0000)));
    }

    #[test]
    fn most_page_choices_land_in_guest_memory() {
        let mem = guest_memory().unwrap_or_else(|e| panic!("{e:?}"));
        let inside = (0..=255u8)
            .filter(|&r| mem.address_in_range(GuestAddress(page_address(r, r, 0))))
            .count();
        assert!(inside > 128, "{inside}");
    }
}
