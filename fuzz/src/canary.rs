//! Buffers fenced against escaping accesses: each lives in its own mapping, between a
//! PROT_NONE guard page on each side (a far access faults) and canary bytes filling the rest of
//! its pages (a near access is caught when the canaries are checked).

use std::ptr::NonNull;

const PAGE: usize = 4096;
/// Canary bytes right before the buffer (then the guard page).
pub const LEAD: usize = 64;
/// The canary byte pattern.
pub const CANARY: u8 = 0xa5;

/// One fenced buffer of `len` bytes; its contents start as `fill`.
pub struct CanariedBuffer {
    /// Start of the whole reservation (guard, data pages, guard).
    map: NonNull<u8>,
    map_len: usize,
    len: usize,
}

#[derive(Debug)]
pub struct CanaryError(pub String);

impl CanariedBuffer {
    pub fn new(len: usize, fill: u8) -> Result<CanariedBuffer, CanaryError> {
        let data_pages = (LEAD + len + 1).div_ceil(PAGE);
        let map_len = (data_pages + 2) * PAGE;
        // SAFETY: a fresh anonymous reservation; no existing mapping is touched.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(CanaryError(format!(
                "mmap: {}",
                std::io::Error::last_os_error()
            )));
        }
        let map = NonNull::new(map.cast::<u8>()).ok_or(CanaryError("mmap gave null".into()))?;
        let buf = CanariedBuffer { map, map_len, len };
        let inner = buf.inner();
        // SAFETY: inner..inner+data_pages*PAGE lies inside the reservation made above.
        let rc = unsafe {
            libc::mprotect(
                inner.cast(),
                data_pages * PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            return Err(CanaryError(format!(
                "mprotect: {}",
                std::io::Error::last_os_error()
            )));
        }
        // SAFETY: the data pages are now readable and writable, and only this value uses them.
        unsafe {
            std::ptr::write_bytes(inner, CANARY, data_pages * PAGE);
            std::ptr::write_bytes(inner.add(LEAD), fill, len);
        }
        Ok(buf)
    }

    fn inner(&self) -> *mut u8 {
        self.map.as_ptr().wrapping_add(PAGE)
    }

    fn data_len(&self) -> usize {
        self.map_len - 2 * PAGE
    }

    /// The buffer itself (64-byte aligned).
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.inner().wrapping_add(LEAD)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first byte outside the buffer that no longer holds the canary, as an offset from the
    /// buffer's start (negative: before it).
    pub fn first_damaged_canary(&self) -> Option<isize> {
        let inner = self.inner();
        (0..self.data_len())
            .filter(|&i| i < LEAD || i >= LEAD + self.len)
            // SAFETY: i < data_len: inside the readable data pages.
            .find(|&i| unsafe { inner.add(i).read_volatile() } != CANARY)
            .map(|i| i as isize - LEAD as isize)
    }
}

impl Drop for CanariedBuffer {
    fn drop(&mut self) {
        // SAFETY: the reservation is this value's alone, and nothing uses it any more.
        unsafe { libc::munmap(self.map.as_ptr().cast(), self.map_len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_just_past_the_end_is_reported() {
        let b = CanariedBuffer::new(100, 0).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(b.first_damaged_canary(), None);
        // SAFETY: one byte past the buffer is still inside its readable canary bytes.
        unsafe { b.as_mut_ptr().add(100).write(0) };
        assert_eq!(b.first_damaged_canary(), Some(100));
    }

    #[test]
    fn a_write_just_before_the_start_is_reported() {
        let b = CanariedBuffer::new(0, 0).unwrap_or_else(|e| panic!("{e:?}"));
        // SAFETY: the byte before the buffer is the last lead canary, inside the data pages.
        unsafe { b.as_mut_ptr().sub(1).write(0) };
        assert_eq!(b.first_damaged_canary(), Some(-1));
    }
}
