//! The guest's command stream decoder (`protocol::stream`), on raw bytes and on well-formed
//! streams with damage. Checks: decoding never panics; whatever decodes re-encodes and decodes
//! to the same commands (compared by their encoding, so NaN floats count as equal); a stream decoded command by command stops at its first error.
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
    // Compared as bytes, not as values: a NaN float (a viewport, a depth) round-trips bit for
    // bit but is never equal to itself.
    let again = encode_all(&decoded).unwrap_or_else(|e| panic!("re-encoding failed: {e}"));
    let redecoded = decode_all(&again).unwrap_or_else(|e| panic!("re-decoding failed: {e}"));
    let third = encode_all(&redecoded).unwrap_or_else(|e| panic!("re-encoding failed: {e}"));
    assert_eq!(again, third, "round trip changed the commands");
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
    let back =
        decode_all(&stream).unwrap_or_else(|e| panic!("a valid stream did not decode back: {e}"));
    assert_eq!(
        encode_all(&back).as_ref(),
        Ok(&stream),
        "a valid stream did not decode back to the same commands"
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
