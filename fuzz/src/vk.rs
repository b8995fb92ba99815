//! What the `vk_executor` target runs the device's Vulkan executor against: guest-RAM
//! resources faked by anonymous host mappings, and a jit-host that compiles nothing.
//!
//! The executor needs a `renderer::Device`, and a device needs a jit-host process. The target
//! binary doubles as that process: started as `<binary> --socket-fd N` (the way the device
//! starts jit-host), [`serve_as_refusing_jit_host_if_asked`] creates a real sealed code arena,
//! sends the hello, and answers every compile with an error — so pipeline creation runs the
//! device's whole front end and validation, then fails cleanly, without LLVM and at fuzzing
//! speed. `SOFTGPU_JIT_HOST=/path/to/jit-host` uses a real compiler instead.

use std::collections::HashMap;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::ptr::NonNull;
use std::sync::Arc;

use jit_host::arena::CodeArena;
use jit_host_client::wire::{
    read_message, send_hello, write_message, ArenaLayout, Hello, Request, Response, TargetInfo,
    PROTOCOL_VERSION,
};
use vhost_device::context::{GuestMemoryView, ResourceViews};

/// The flag the device starts jit-host with.
const SOCKET_FD_FLAG: &str = "--socket-fd";

/// If this process was started as jit-host (`--socket-fd N` among its arguments), serves as
/// the refusing compiler until the device hangs up, then exits; otherwise returns at once.
/// Call it first thing (libFuzzer's initialisation hook runs before it parses arguments).
pub fn serve_as_refusing_jit_host_if_asked() {
    let args: Vec<String> = std::env::args().collect();
    let Some(at) = args.iter().position(|a| a == SOCKET_FD_FLAG) else {
        return;
    };
    let code = match args.get(at + 1).and_then(|n| n.parse::<RawFd>().ok()) {
        Some(fd) => match serve(fd) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("refusing jit-host: {e}");
                1
            }
        },
        None => 2,
    };
    std::process::exit(code);
}

fn serve(fd: RawFd) -> Result<(), String> {
    if fd < 3 {
        return Err(format!("socket fd {fd} is a standard stream"));
    }
    // SAFETY: the device started this process with `fd` as its end of a socketpair and
    // nothing else in this process has touched it (we are still in libFuzzer's init hook).
    let sock = unsafe { UnixStream::from_raw_fd(fd) };
    let arena = CodeArena::create(ArenaLayout {
        code_size: 1 << 20,
        data_size: 1 << 20,
    })
    .map_err(|e| format!("arena: {e}"))?;
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        target: TargetInfo {
            simd_width: 8,
            cpu: "x86-64".into(),
            features: String::new(),
        },
        arena: arena.layout(),
    };
    let arena_fd = arena.fd().ok_or("arena without an fd")?;
    send_hello(&sock, &hello, arena_fd).map_err(|e| format!("hello: {e}"))?;
    loop {
        let answer = match read_message::<Request>(&sock) {
            // The device hung up (or sent garbage): the stub's job is over.
            Err(_) => return Ok(()),
            Ok(Request::Free { .. }) => continue,
            Ok(Request::WorkerPid) => Response::WorkerPid {
                pid: std::process::id(),
            },
            Ok(_) => Response::Error {
                message: "the fuzzing jit-host compiles nothing".into(),
            },
        };
        write_message(&sock, &answer).map_err(|e| format!("answer: {e}"))?;
    }
}

/// An anonymous, zeroed, page-aligned host mapping standing in for one resource's guest RAM.
pub struct HostView {
    base: NonNull<u8>,
    /// The resource's size (what the view reports); the mapping is rounded up to pages.
    len: usize,
    mapped: usize,
}

// SAFETY: the mapping is plain memory owned by this value; every access goes through raw
// pointers (the GuestMemoryView contract), so sharing it between threads is as safe as
// sharing guest RAM.
unsafe impl Send for HostView {}
// SAFETY: as above.
unsafe impl Sync for HostView {}

impl HostView {
    /// A zeroed view of `len` bytes (`len > 0`).
    pub fn new(len: usize) -> Option<HostView> {
        let mapped = len.checked_next_multiple_of(4096)?.max(4096);
        // SAFETY: a fresh private anonymous mapping at an address the kernel picks.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        Some(HostView {
            base: NonNull::new(p.cast())?,
            len,
            mapped,
        })
    }

    /// Copies `bytes` in at `offset`; false if they do not fit.
    pub fn write(&self, offset: usize, bytes: &[u8]) -> bool {
        match offset.checked_add(bytes.len()) {
            Some(end) if end <= self.len => {
                // SAFETY: `offset..end` lies inside the mapping (checked above); `bytes` is
                // host memory, not part of it.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        bytes.as_ptr(),
                        self.base.as_ptr().add(offset),
                        bytes.len(),
                    );
                }
                true
            }
            _ => false,
        }
    }
}

impl Drop for HostView {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` created; no pointer into it outlives the
        // last Arc of this view (the GuestMemoryView contract).
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.mapped) };
    }
}

impl GuestMemoryView for HostView {
    fn as_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }
    fn len(&self) -> usize {
        self.len
    }
}

/// Resource ids of the fake guest: device memory, recorded command buffers, replies, and a
/// small odd-sized one (views of any size must be handled).
pub const MEMORY: u32 = 1;
pub const COMMANDS: u32 = 2;
pub const REPLIES: u32 = 3;
pub const ODD: u32 = 5;

/// Sizes of [`MEMORY`], [`COMMANDS`], [`REPLIES`] and [`ODD`].
pub const MEMORY_SIZE: usize = 64 << 10;
pub const COMMANDS_SIZE: usize = 16 << 10;
pub const REPLIES_SIZE: usize = 4096;
pub const ODD_SIZE: usize = 100;

/// The resources attached to the fuzzed context.
pub struct FakeResources(HashMap<u32, Arc<HostView>>);

impl FakeResources {
    /// Fresh zeroed resources; `None` if the host is out of memory.
    pub fn new() -> Option<FakeResources> {
        let mut map = HashMap::new();
        for (id, len) in [
            (MEMORY, MEMORY_SIZE),
            (COMMANDS, COMMANDS_SIZE),
            (REPLIES, REPLIES_SIZE),
            (ODD, ODD_SIZE),
        ] {
            map.insert(id, Arc::new(HostView::new(len)?));
        }
        Some(FakeResources(map))
    }

    pub fn get(&self, id: u32) -> Option<&HostView> {
        self.0.get(&id).map(|v| &**v)
    }
}

impl ResourceViews for FakeResources {
    fn view(&self, resource: u32) -> Option<Arc<dyn GuestMemoryView>> {
        self.0
            .get(&resource)
            .map(|v| v.clone() as Arc<dyn GuestMemoryView>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_views_report_their_size_and_refuse_writes_past_it() {
        let r = FakeResources::new().unwrap_or_else(|| panic!("out of memory"));
        let odd = r.get(ODD).unwrap_or_else(|| panic!("no odd resource"));
        assert_eq!(odd.len(), ODD_SIZE);
        assert!(odd.write(ODD_SIZE - 4, &[1, 2, 3, 4]));
        assert!(!odd.write(ODD_SIZE - 3, &[1, 2, 3, 4]));
        assert!(!odd.write(usize::MAX, &[1]));
        assert!(r.view(4).is_none());
    }
}
