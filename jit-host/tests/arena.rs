//! The device-side arena mapping is never writable, and the seals make sure it cannot become so.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

mod common;

use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::ptr::NonNull;

use common::{maps, ARENA_MAP_NAME};
use jit_host::arena::CodeArena;
use jit_host_client::arena::{ArenaError, ArenaMapping};
use jit_host_client::wire::ArenaLayout;
use nix::errno::Errno;
use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
use nix::sys::mman::{mmap, mprotect, munmap, MapFlags, ProtFlags};

const LAYOUT: ArenaLayout = ArenaLayout {
    code_size: 1 << 20,
    data_size: 1 << 16,
};

/// The tests of this binary run on parallel threads of one process, and every arena has the
/// same memfd name: a test that counts the process's arena mappings holds this lock, and so
/// does every test that creates an arena.
static ARENAS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn arenas() -> std::sync::MutexGuard<'static, ()> {
    ARENAS.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn device_view_is_code_rx_and_data_r_and_cannot_be_made_writable() {
    let _only_arena = arenas();
    let arena = CodeArena::create(LAYOUT).unwrap();
    let fd = arena.fd().unwrap().try_clone_to_owned().unwrap();

    // A new writable shared mapping of the sealed fd is refused (F_SEAL_FUTURE_WRITE).
    let len = NonZeroUsize::new(4096).unwrap();
    // SAFETY: maps a fresh range chosen by the kernel; if it unexpectedly succeeds we unmap it.
    let rw = unsafe {
        mmap(
            None,
            len,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
            fd.as_fd(),
            0,
        )
    };
    if let Ok(p) = rw {
        // SAFETY: `p` is the 4096-byte mapping just made.
        let _ = unsafe { munmap(p, 4096) };
        panic!("a writable mapping of the sealed arena succeeded");
    }
    assert_eq!(rw.unwrap_err(), Errno::EPERM);

    let mapping = ArenaMapping::map(fd, LAYOUT).unwrap();
    let base = mapping.base() as usize;
    let ours: Vec<_> = maps(std::process::id())
        .into_iter()
        .filter(|m| m.path == ARENA_MAP_NAME)
        .collect();
    // The supervisor-side mapping (same process in this test) is the only writable one.
    let device_side: Vec<_> = ours.iter().filter(|m| !m.writable()).collect();
    assert!(
        ours.iter().all(|m| !(m.writable() && m.executable())),
        "{ours:?}"
    );
    assert!(device_side.iter().any(|m| m.perms == "r-xs"), "{ours:?}");
    assert!(device_side.iter().any(|m| m.perms == "r--s"), "{ours:?}");
    assert_eq!(
        ours.iter().filter(|m| m.executable()).count(),
        1,
        "{ours:?}"
    );

    // mprotect of the code view to writable (with or without exec) is refused.
    let code = NonNull::new(base as *mut std::ffi::c_void).unwrap();
    for prot in [
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE | ProtFlags::PROT_EXEC,
    ] {
        // SAFETY: changing protection of our own mapping; expected to fail, and had it
        // succeeded nothing would write through it.
        let result = unsafe { mprotect(code, 4096, prot) };
        assert_eq!(result, Err(Errno::EACCES));
    }
    let data = NonNull::new((base + LAYOUT.code_size as usize) as *mut std::ffi::c_void).unwrap();
    // SAFETY: as above, on the data view.
    let result = unsafe { mprotect(data, 4096, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE) };
    assert_eq!(result, Err(Errno::EACCES));
    drop(mapping);
    drop(arena);
}

#[test]
fn unsealed_or_wrong_sized_fds_are_not_mapped() {
    let _only_arena = arenas();
    let fd = memfd_create(
        c"unsealed",
        MemFdCreateFlag::MFD_CLOEXEC | MemFdCreateFlag::MFD_ALLOW_SEALING,
    )
    .unwrap();
    nix::unistd::ftruncate(&fd, (LAYOUT.code_size + LAYOUT.data_size) as i64).unwrap();
    assert!(matches!(
        ArenaMapping::map(fd, LAYOUT),
        Err(ArenaError::NotSealed { .. })
    ));

    let arena = CodeArena::create(LAYOUT).unwrap();
    let fd = arena.fd().unwrap().try_clone_to_owned().unwrap();
    let bigger = ArenaLayout {
        code_size: LAYOUT.code_size * 2,
        ..LAYOUT
    };
    assert!(matches!(
        ArenaMapping::map(fd, bigger),
        Err(ArenaError::WrongSize { .. })
    ));
    let fd = arena.fd().unwrap().try_clone_to_owned().unwrap();
    let odd = ArenaLayout {
        code_size: 1000,
        data_size: LAYOUT.data_size,
    };
    assert!(matches!(
        ArenaMapping::map(fd, odd),
        Err(ArenaError::BadLayout(_))
    ));
}

#[test]
fn ranges_outside_the_arena_are_refused() {
    let _only_arena = arenas();
    let arena = CodeArena::create(LAYOUT).unwrap();
    let mapping =
        ArenaMapping::map(arena.fd().unwrap().try_clone_to_owned().unwrap(), LAYOUT).unwrap();
    let ok = jit_host_client::wire::CompiledRange {
        code_offset: 64,
        code_len: 64,
        data_offset: LAYOUT.code_size,
        data_len: 8,
        entry_offset: 10,
        scratch_size: 0,
        reused: false,
    };
    assert!(mapping.check_range(&ok).is_ok());
    let bad = [
        jit_host_client::wire::CompiledRange {
            entry_offset: 64,
            ..ok
        },
        jit_host_client::wire::CompiledRange {
            code_offset: LAYOUT.code_size - 32,
            ..ok
        },
        jit_host_client::wire::CompiledRange {
            code_offset: u64::MAX - 10,
            ..ok
        },
        jit_host_client::wire::CompiledRange {
            data_offset: 0,
            ..ok
        },
        jit_host_client::wire::CompiledRange {
            data_offset: LAYOUT.code_size + LAYOUT.data_size,
            ..ok
        },
        jit_host_client::wire::CompiledRange {
            code_len: 0,
            entry_offset: 0,
            ..ok
        },
    ];
    for range in bad {
        assert!(mapping.entry_address(&range).is_err(), "{range:?}");
    }
}
