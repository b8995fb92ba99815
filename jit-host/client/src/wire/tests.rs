#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use super::*;

fn compile_request() -> Request {
    Request::Compile {
        ir: (0..200u8).collect(),
    }
}

#[test]
fn requests_and_responses_survive_a_round_trip() {
    let messages = [
        compile_request(),
        Request::Free {
            code_offset: 0x1240,
        },
        Request::WorkerPid,
        Request::StallWorker,
        Request::LinkObjectForTest {
            object: vec![0x7f, b'E'],
            scratch_size: 64,
        },
    ];
    for msg in messages {
        let frame = encode_frame(&msg).unwrap();
        let (back, used) = decode_frame::<Request>(&frame).unwrap();
        assert_eq!((back, used), (msg, frame.len()));
    }
    let range = CompiledRange {
        code_offset: 64,
        code_len: 128,
        data_offset: 1 << 28,
        data_len: 64,
        entry_offset: 16,
        scratch_size: 4096,
        reused: true,
    };
    let frame = encode_frame(&Response::Compiled(range)).unwrap();
    let back: Response = read_message(&frame[..]).unwrap();
    assert_eq!(back, Response::Compiled(range));
}

#[test]
fn every_truncation_of_a_frame_is_an_error() {
    let frame = encode_frame(&compile_request()).unwrap();
    for cut in 0..frame.len() {
        let part = &frame[..cut];
        assert!(
            matches!(
                decode_frame::<Request>(part),
                Err(WireError::Truncated { .. })
            ),
            "decode_frame, cut at {cut}"
        );
        let read = read_message::<Request>(part);
        if cut == 0 {
            assert!(matches!(read, Err(WireError::Closed)));
        } else {
            assert!(
                matches!(read, Err(WireError::Truncated { .. })),
                "read_message, cut at {cut}"
            );
        }
    }
}

#[test]
fn oversized_lengths_are_refused_before_reading_the_body() {
    let mut frame = u32::MAX.to_le_bytes().to_vec();
    frame.extend_from_slice(&[0; 16]);
    assert!(matches!(
        decode_frame::<Request>(&frame),
        Err(WireError::TooLarge(_))
    ));
    assert!(matches!(
        read_message::<Request>(&frame[..]),
        Err(WireError::TooLarge(_))
    ));
    let just_over = (MAX_MESSAGE_SIZE as u32 + 1).to_le_bytes();
    assert!(matches!(
        read_message::<Request>(&just_over[..]),
        Err(WireError::TooLarge(_))
    ));
}

#[test]
fn a_length_larger_than_the_bytes_sent_is_truncation() {
    let mut frame = (1u32 << 20).to_le_bytes().to_vec();
    frame.extend_from_slice(&[1, 2, 3]);
    assert!(matches!(
        read_message::<Request>(&frame[..]),
        Err(WireError::Truncated {
            expected: 1048576,
            got: 3
        })
    ));
}

#[test]
fn trailing_bytes_and_unknown_variants_are_rejected() {
    let mut body = postcard::to_stdvec(&Request::WorkerPid).unwrap();
    body.push(0);
    assert!(matches!(
        decode_body::<Request>(&body),
        Err(WireError::TrailingBytes(1))
    ));
    assert!(matches!(
        decode_body::<Request>(&[200]),
        Err(WireError::Malformed(_))
    ));
    assert!(matches!(
        decode_body::<Response>(&[]),
        Err(WireError::Malformed(_))
    ));
    // A byte vector claiming far more bytes than present.
    let lying_vec = [0u8, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2];
    assert!(matches!(
        decode_body::<Request>(&lying_vec),
        Err(WireError::Malformed(_))
    ));
}

#[test]
fn random_garbage_never_panics_the_decoder() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut decoded = 0;
    for round in 0..20_000 {
        let len = (next() % 64) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Bias the first byte towards valid variant tags so decoding goes deeper.
        if let Some(first) = bytes.first_mut() {
            *first %= 6;
        }
        decoded += usize::from(decode_body::<Request>(&bytes).is_ok());
        decoded += usize::from(decode_body::<Response>(&bytes).is_ok());
        let _ = decode_body::<Hello>(&bytes);
        if round % 7 == 0 {
            let _ = decode_frame::<Request>(&bytes);
        }
    }
    // Some random inputs are valid messages (e.g. `WorkerPid` is the single byte 2).
    assert!(decoded > 0);
}

fn hello() -> Hello {
    Hello {
        protocol_version: PROTOCOL_VERSION,
        target: TargetInfo {
            simd_width: 16,
            cpu: "znver4".into(),
            features: "+avx512f".into(),
        },
        arena: ArenaLayout {
            code_size: 1 << 20,
            data_size: 1 << 18,
        },
    }
}

#[test]
fn hello_carries_a_working_fd() {
    let (a, b) = UnixStream::pair().unwrap();
    let (mut pipe_read, pipe_write) = std::io::pipe().unwrap();
    send_hello(&a, &hello(), std::os::fd::AsFd::as_fd(&pipe_write)).unwrap();
    drop(pipe_write);
    let (got, fd) = recv_hello(&b).unwrap();
    assert_eq!(got, hello());
    // The received fd is the pipe's write end: bytes written to it come out of the pipe.
    let mut writer = std::fs::File::from(fd);
    writer.write_all(b"arena").unwrap();
    drop(writer);
    let mut out = String::new();
    pipe_read.read_to_string(&mut out).unwrap();
    assert_eq!(out, "arena");
}

#[test]
fn hello_without_an_fd_is_refused() {
    let (a, b) = UnixStream::pair().unwrap();
    write_message(&a, &hello()).unwrap();
    assert!(matches!(recv_hello(&b), Err(WireError::MissingFd)));
    drop(a);
    assert!(matches!(recv_hello(&b), Err(WireError::Closed)));
}
