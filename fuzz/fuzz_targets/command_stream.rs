//! The guest's command stream decoder (`protocol::stream`), on raw bytes and on well-formed
//! streams with damage. Checks: decoding never panics; whatever decodes re-encodes and decodes
//! to the same commands; a stream decoded command by command stops at its first error.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use protocol::stream::{decode_all, decode_stream, encode_all};
use softgpu_fuzz::commands::arbitrary_commands;

fn check_stream(bytes: &[u8]) {
    let mut decoded = Vec::new();
    let mut failed = false;
    for item in decode_stream(bytes) {
        assert!(!failed, "the decoder went on after an error");
        match item {
            Ok(cmd) => decoded.push(cmd),
            Err(_) => failed = true,
        }
    }
    if failed {
        assert!(decode_all(bytes).is_err());
        return;
    }
    let again = encode_all(&decoded).unwrap_or_else(|e| panic!("re-encoding failed: {e}"));
    assert_eq!(
        decode_all(&again).as_ref(),
        Ok(&decoded),
        "round trip changed the commands"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        check_stream(rest);
        return;
    }
    // Structure-aware: a valid stream, then damage at a chosen byte (or none).
    let mut u = Unstructured::new(rest);
    let Ok(cmds) = arbitrary_commands(&mut u, 32) else {
        return;
    };
    let Ok(mut stream) = encode_all(&cmds) else {
        return;
    };
    assert_eq!(
        decode_all(&stream).as_ref(),
        Ok(&cmds),
        "a valid stream did not decode back"
    );
    if let (Ok(at), Ok(value)) = (u.arbitrary::<u16>(), u.arbitrary::<u8>()) {
        if !stream.is_empty() && mode & 2 != 0 {
            let at = usize::from(at) % stream.len();
            match mode >> 2 & 3 {
                0 => stream[at] = value,
                1 => stream.truncate(at),
                2 => stream.insert(at, value),
                _ => {
                    stream.remove(at);
                }
            }
        }
    }
    check_stream(&stream);
});
