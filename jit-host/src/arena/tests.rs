#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
use super::*;
use crate::link::{Fixup, LinkedBlob};

#[test]
fn allocations_are_aligned_and_fresh_until_space_is_freed() {
    let mut a = RangeAllocator::new(1024);
    assert_eq!(a.alloc(1), Some((0, false)));
    assert_eq!(a.alloc(65), Some((64, false)));
    assert_eq!(a.alloc(64), Some((192, false)));
    a.free(64, 65);
    // First fit inside the freed 128 bytes, reported as reused.
    assert_eq!(a.alloc(10), Some((64, true)));
    assert_eq!(a.alloc(64), Some((128, true)));
    assert_eq!(a.alloc(64), Some((256, false)));
}

#[test]
fn freed_neighbours_coalesce_and_exhaustion_is_reported() {
    let mut a = RangeAllocator::new(256);
    for expected in [0, 64, 128, 192] {
        assert_eq!(a.alloc(64), Some((expected, false)));
    }
    assert_eq!(a.alloc(1), None);
    a.free(64, 64);
    a.free(192, 64);
    a.free(128, 64);
    // 64..256 is one range now.
    assert_eq!(a.alloc(192), Some((64, true)));
    assert_eq!(a.alloc(1), None);
    assert_eq!(RangeAllocator::new(100).alloc(u64::MAX), None);
}

fn small_layout() -> ArenaLayout {
    ArenaLayout {
        code_size: 1 << 16,
        data_size: 1 << 14,
    }
}

fn blob(text_len: usize, rodata_len: usize, fixups: Vec<Fixup>) -> LinkedBlob {
    LinkedBlob {
        text: vec![0x90; text_len],
        rodata: vec![7; rodata_len],
        fixups,
        entry_offset: 0,
        scratch_size: 0,
    }
}

#[test]
fn placement_reports_offsets_in_the_right_regions() {
    let mut arena = CodeArena::create(small_layout()).unwrap();
    let first = arena.place(&blob(100, 10, vec![])).unwrap();
    assert_eq!(
        (first.code_offset, first.code_len, first.reused),
        (0, 100, false)
    );
    assert_eq!((first.data_offset, first.data_len), (1 << 16, 10));
    let second = arena.place(&blob(8, 0, vec![])).unwrap();
    assert_eq!(
        (second.code_offset, second.data_offset, second.data_len),
        (128, 0, 0)
    );
    assert!(arena.free(0));
    assert!(!arena.free(0), "double free is ignored");
    assert!(!arena.free(12345), "unknown offset is ignored");
    let third = arena.place(&blob(64, 10, vec![])).unwrap();
    assert_eq!(
        (third.code_offset, third.reused, third.data_offset),
        (0, true, 1 << 16)
    );
}

#[test]
fn malformed_blobs_are_refused_and_leak_nothing() {
    let mut arena = CodeArena::create(small_layout()).unwrap();
    let outside = blob(16, 4, vec![Fixup { at: 13, target: 0 }]);
    assert!(matches!(arena.place(&outside), Err(ArenaError::BadBlob(_))));
    let mut bad_entry = blob(16, 0, vec![]);
    bad_entry.entry_offset = 16;
    assert!(matches!(
        arena.place(&bad_entry),
        Err(ArenaError::BadBlob(_))
    ));
    let far = blob(
        16,
        4,
        vec![Fixup {
            at: 0,
            target: i64::from(i32::MAX),
        }],
    );
    assert!(matches!(
        arena.place(&far),
        Err(ArenaError::FixupOutOfRange { .. })
    ));
    assert!(matches!(
        arena.place(&blob(0, 0, vec![])),
        Err(ArenaError::BadBlob(_))
    ));
    // The failed placements gave their space back: the next kernel starts at 0, fresh.
    let ok = arena.place(&blob(16, 4, vec![])).unwrap();
    assert_eq!(ok.code_offset, 0);
    assert!(!ok.reused);
    let too_big = blob(1 << 17, 0, vec![]);
    assert!(matches!(
        arena.place(&too_big),
        Err(ArenaError::Full { what: "code" })
    ));
}

#[test]
fn bad_layouts_are_refused() {
    for layout in [
        ArenaLayout {
            code_size: 0,
            data_size: 4096,
        },
        ArenaLayout {
            code_size: 4096,
            data_size: 100,
        },
        ArenaLayout {
            code_size: 4 << 30,
            data_size: 4096,
        },
    ] {
        assert!(matches!(
            CodeArena::create(layout),
            Err(ArenaError::BadLayout(_))
        ));
    }
}
