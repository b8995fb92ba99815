//! A module compiled with jit-host's pipeline for this host and placed in a code arena of its
//! own, mapped into this process: the tests call its entry directly.

use std::os::fd::BorrowedFd;

use jit_host::arena::CodeArena;
use jit_host::codegen::Target;
use jit_host::compile::compile_module;
use jit_host_client::arena::ArenaMapping;
use jit_host_client::wire::ArenaLayout;
use shader::ir::Module;

/// Placed code: `entry` is valid while this lives.
pub struct PlacedCode {
    pub entry: *const u8,
    /// Bytes of scratch the kernel's context must point at (64-byte aligned).
    pub scratch_size: usize,
    _arena: CodeArena,
    _mapping: ArenaMapping,
}

/// Compiles `m` for this host and places it in a fresh 16 MiB + 4 MiB arena.
pub fn compile_and_place(m: &Module) -> PlacedCode {
    let target = Target::host().expect("target");
    let blob = compile_module(m, &target).expect("compiles");
    let layout = ArenaLayout {
        code_size: 16 << 20,
        data_size: 4 << 20,
    };
    let mut arena = CodeArena::create(layout).expect("arena");
    let fd: BorrowedFd = arena.fd().expect("fd");
    let mapping = ArenaMapping::map(fd.try_clone_to_owned().expect("dup"), layout).expect("map");
    let range = arena.place(&blob).expect("place");
    let entry = mapping.entry_address(&range).expect("entry");
    PlacedCode {
        entry,
        scratch_size: blob.scratch_size as usize,
        _arena: arena,
        _mapping: mapping,
    }
}
