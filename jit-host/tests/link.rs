//! The linker, and placement into a real arena whose read+execute view we then call.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

mod common;

use common::{kernel_object, Flaw, TestContext, MAIN_AT};
use jit_host::arena::CodeArena;
use jit_host::link::{link_entry, link_object, LinkError};
use jit_host_client::arena::ArenaMapping;
use jit_host_client::wire::ArenaLayout;
use shader::abi::ComputeKernelFn;

const LAYOUT: ArenaLayout = ArenaLayout {
    code_size: 1 << 20,
    data_size: 1 << 16,
};

#[test]
fn linked_object_has_text_constants_and_two_fixups() {
    let blob = link_object(&kernel_object(40, 2, Flaw::None), 256).unwrap();
    assert_eq!(blob.scratch_size, 256);
    assert_eq!(
        blob.fixups.len(),
        2,
        "main → .rodata.cst4 and helper → .rodata"
    );
    // The entry is MAIN_AT into .text.main, wherever that section landed.
    assert_eq!(&blob.text[blob.entry_offset as usize..][..1], &[0xe8]);
    assert!(blob.entry_offset as u64 >= MAIN_AT);
    // Both constants are in the constant image.
    for c in [40u32, 2] {
        assert!(
            blob.rodata.windows(4).any(|w| w == c.to_le_bytes()),
            "constant {c}"
        );
    }
    // The call was resolved here: its target is the helper (`mov eax, [rip+..]`).
    let call_at = blob.entry_offset as usize;
    let disp = i32::from_le_bytes(blob.text[call_at + 1..call_at + 5].try_into().unwrap());
    let helper = (call_at as i64 + 5 + i64::from(disp)) as usize;
    assert_eq!(&blob.text[helper..helper + 2], &[0x8b, 0x05]);
}

/// Places `object` in a fresh arena, maps the arena as the device does, and calls the kernel
/// with `first_workgroup`, `count`; returns what it stored.
fn place_and_call(object: &[u8], first_workgroup: u32, count: u32) -> u32 {
    let blob = link_object(object, 0).unwrap();
    let mut arena = CodeArena::create(LAYOUT).unwrap();
    // Put something in front so the kernel's offsets are not zero.
    let filler = link_object(&kernel_object(0, 0, Flaw::None), 0).unwrap();
    arena.place(&filler).unwrap();
    let range = arena.place(&blob).unwrap();
    assert!(range.code_offset > 0 && range.data_offset > LAYOUT.code_size);
    let fd = arena.fd().unwrap().try_clone_to_owned().unwrap();
    let mapping = ArenaMapping::map(fd, LAYOUT).unwrap();
    let entry = mapping.entry_address(&range).unwrap();
    let mut ctx = TestContext::new(vec![vec![0; 4]], 0, 0);
    let kctx = ctx.context([1, 1, 1]);
    // SAFETY: `entry` is the entry point of the test kernel just placed in the read+execute
    // mapping, which follows the ComputeKernelFn ABI and only writes buffers[0][0].
    let kernel: ComputeKernelFn =
        unsafe { std::mem::transmute::<*const u8, ComputeKernelFn>(entry) };
    // SAFETY: `kctx` points at live buffers owned by `ctx`.
    unsafe { kernel(&kctx, first_workgroup, count) };
    ctx.buffers[0][0]
}

#[test]
fn placed_kernel_runs_and_reads_its_constants_through_fixups() {
    assert_eq!(
        place_and_call(&kernel_object(1000, 300, Flaw::None), 20, 1),
        1321
    );
    assert_eq!(
        place_and_call(&kernel_object(7, 0x1000_0000, Flaw::None), 0, 5),
        0x1000_000c
    );
}

type ErrorCheck = fn(&LinkError) -> bool;

#[test]
fn hostile_objects_are_rejected() {
    let cases: [(Flaw, ErrorCheck); 6] = [
        (
            Flaw::UndefinedCall,
            |e| matches!(e, LinkError::UndefinedSymbol(name) if name == "sinf"),
        ),
        (Flaw::GotLoad, |e| {
            matches!(e, LinkError::UnsupportedRelocation { r_type: 42, .. })
        }),
        (Flaw::Absolute64, |e| {
            matches!(e, LinkError::UnsupportedRelocation { r_type: 1, .. })
        }),
        (
            Flaw::WritableData,
            |e| matches!(e, LinkError::WritableSection(name) if name == ".data"),
        ),
        (Flaw::NoEntry, |e| matches!(e, LinkError::MissingEntry(_))),
        (Flaw::RelocatedRodata, |e| {
            matches!(e, LinkError::RelocatedData(_))
        }),
    ];
    for (flaw, expected) in cases {
        match link_object(&kernel_object(1, 2, flaw), 0) {
            Err(e) if expected(&e) => {}
            other => panic!("{flaw:?}: got {other:?}"),
        }
    }
}

#[test]
fn garbage_and_foreign_objects_are_rejected() {
    assert!(matches!(
        link_object(b"not an object", 0),
        Err(LinkError::Parse(_))
    ));
    assert!(matches!(link_object(&[], 0), Err(LinkError::Parse(_))));
    let good = kernel_object(1, 2, Flaw::None);
    for cut in [16, 64, good.len() / 2, good.len() - 1] {
        assert!(link_object(&good[..cut], 0).is_err(), "truncated at {cut}");
    }
    let mut obj = object::write::Object::new(
        object::BinaryFormat::Elf,
        object::Architecture::Aarch64,
        object::Endianness::Little,
    );
    let text = obj.add_section(vec![], b".text".to_vec(), object::SectionKind::Text);
    obj.append_section_data(text, &[0; 4], 4);
    assert!(matches!(
        link_object(&obj.write().unwrap(), 0),
        Err(LinkError::WrongKind)
    ));
}

#[test]
fn entry_symbol_is_the_one_of_the_requested_stage() {
    let object = kernel_object(1, 2, Flaw::None);
    let compute = link_entry(&object, shader::abi::COMPUTE_ENTRY_SYMBOL, 0).unwrap();
    assert_eq!(compute, link_object(&object, 0).unwrap());
    for stage in [shader::ir::Stage::Vertex, shader::ir::Stage::Fragment] {
        let symbol = shader::abi::entry_symbol(stage);
        match link_entry(&object, symbol, 0) {
            Err(LinkError::MissingEntry(name)) => assert_eq!(name, symbol),
            other => panic!("{stage:?}: got {other:?}"),
        }
    }
}
