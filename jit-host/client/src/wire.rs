//! The device ⇄ jit-host wire format.
//!
//! A unix stream socket carries frames: a little-endian `u32` length, then that many bytes of
//! one `postcard`-encoded message. The first frame, from jit-host, is a [`Hello`] and carries
//! the code-arena memfd as `SCM_RIGHTS`. After it the device sends [`Request`]s and jit-host
//! answers each one except [`Request::Free`] with exactly one [`Response`], in order.
//!
//! Decoding trusts nothing: the length is capped at [`MAX_MESSAGE_SIZE`] before anything is
//! allocated, the body is read only as far as bytes arrive, and the message must use every
//! byte of its frame.

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Version of this protocol; the hello carries it and the client refuses any other. It
/// covers the calling convention of the code jit-host emits (`shader::abi`) too, so that a
/// device and a jit-host built against different entry ABIs refuse each other at the hello.
/// 2: a fragment kernel shades an array of batches per call, each batch's per-lane
/// `FragCoord` z, w and `PointCoord` by pointer and its x, y from the batch's position.
pub const PROTOCOL_VERSION: u32 = 2;

/// Largest frame body either side accepts.
pub const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// What jit-host compiles for.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TargetInfo {
    /// W: SIMD lanes per subgroup (4, 8 or 16).
    pub simd_width: u32,
    /// CPU name the code is tuned for (LLVM's name, e.g. `znver4`).
    pub cpu: String,
    /// CPU features the code may use (LLVM feature string); part of any code cache key.
    pub features: String,
}

/// Sizes of the two regions of the code arena. The memfd holds the code region at file
/// offset 0 and the data region right after it; the device maps them at the same distance.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArenaLayout {
    pub code_size: u64,
    pub data_size: u64,
}

/// First message from jit-host, sent with the arena fd.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub protocol_version: u32,
    pub target: TargetInfo,
    pub arena: ArenaLayout,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Compile an encoded `shader::ir::Module`. Answer: `Compiled` or `Error`.
    Compile { ir: Vec<u8> },
    /// The kernel at `code_offset` will never run again; its ranges may be reused.
    /// No answer.
    Free { code_offset: u64 },
    /// Answer: `WorkerPid`.
    WorkerPid,
    /// Test only (jit-host started with `--allow-test-requests`): the compile worker blocks
    /// forever on its next instruction. Answer: `Stalling`, at once.
    StallWorker,
    /// Test only: link and place a prepared x86-64 ELF object as if the back end had
    /// produced it. Answer: `Compiled` or `Error`.
    LinkObjectForTest { object: Vec<u8>, scratch_size: u32 },
}

/// Where a compiled kernel lies in the arena. Offsets are from the arena base (the start of
/// the code region); `entry_offset` is from `code_offset`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompiledRange {
    pub code_offset: u64,
    pub code_len: u64,
    /// In the data region (`>= code_size`), or 0 with `data_len == 0` when there is none.
    pub data_offset: u64,
    pub data_len: u64,
    pub entry_offset: u64,
    pub scratch_size: u32,
    /// The code range held other code before: threads must serialise before running it.
    pub reused: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Response {
    Compiled(CompiledRange),
    Error { message: String },
    WorkerPid { pid: u32 },
    Stalling,
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("socket I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("peer closed the connection")]
    Closed,
    #[error("message of {0} bytes exceeds the limit of {MAX_MESSAGE_SIZE}")]
    TooLarge(usize),
    #[error("message truncated: {got} of {expected} bytes")]
    Truncated { expected: usize, got: usize },
    #[error("malformed message: {0}")]
    Malformed(#[from] postcard::Error),
    #[error("{0} bytes left over after the message")]
    TrailingBytes(usize),
    #[error("the hello carried no arena fd, or more than one")]
    MissingFd,
    #[error("sendmsg/recvmsg: {0}")]
    Sys(#[from] nix::Error),
}

type Result<T> = std::result::Result<T, WireError>;

/// Encodes one message as a frame (length prefix included).
pub fn encode_frame<T: Serialize>(msg: &T) -> Result<Vec<u8>> {
    let mut frame = postcard::to_extend(msg, vec![0u8; 4])?;
    let len = frame.len() - 4;
    if len > MAX_MESSAGE_SIZE {
        return Err(WireError::TooLarge(len));
    }
    // len <= MAX_MESSAGE_SIZE < u32::MAX, checked above.
    frame[..4].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(frame)
}

/// Decodes a frame body: one message that uses every byte.
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    if body.len() > MAX_MESSAGE_SIZE {
        return Err(WireError::TooLarge(body.len()));
    }
    let (msg, rest) = postcard::take_from_bytes(body)?;
    if !rest.is_empty() {
        return Err(WireError::TrailingBytes(rest.len()));
    }
    Ok(msg)
}

/// Decodes the first frame of `bytes`; returns the message and the bytes it used.
pub fn decode_frame<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize)> {
    let Some(prefix) = bytes.get(..4) else {
        return Err(WireError::Truncated {
            expected: 4,
            got: bytes.len(),
        });
    };
    let len = body_len(prefix)?;
    let body = bytes.get(4..4 + len).ok_or(WireError::Truncated {
        expected: len,
        got: bytes.len() - 4,
    })?;
    Ok((decode_body(body)?, 4 + len))
}

fn body_len(prefix: &[u8]) -> Result<usize> {
    let mut le = [0u8; 4];
    le.copy_from_slice(prefix);
    let len = u32::from_le_bytes(le) as usize;
    if len > MAX_MESSAGE_SIZE {
        return Err(WireError::TooLarge(len));
    }
    Ok(len)
}

/// Writes one message.
pub fn write_message<T: Serialize>(mut w: impl Write, msg: &T) -> Result<()> {
    w.write_all(&encode_frame(msg)?)?;
    Ok(())
}

/// Reads one message. End of stream before the first byte is [`WireError::Closed`].
pub fn read_message<T: DeserializeOwned>(mut r: impl Read) -> Result<T> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut prefix[got..]) {
            Ok(0) if got == 0 => return Err(WireError::Closed),
            Ok(0) => return Err(WireError::Truncated { expected: 4, got }),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    read_body(r, body_len(&prefix)?)
}

fn read_body<T: DeserializeOwned>(r: impl Read, len: usize) -> Result<T> {
    // Grows only as bytes arrive: a lying length costs nothing.
    let mut body = Vec::new();
    r.take(len as u64).read_to_end(&mut body)?;
    if body.len() != len {
        return Err(WireError::Truncated {
            expected: len,
            got: body.len(),
        });
    }
    decode_body(&body)
}

/// Sends the hello frame with the arena fd attached (`SCM_RIGHTS`).
pub fn send_hello(sock: &UnixStream, hello: &Hello, arena_fd: BorrowedFd<'_>) -> Result<()> {
    let frame = encode_frame(hello)?;
    let fds = [arena_fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let sent = loop {
        match sendmsg::<()>(
            sock.as_raw_fd(),
            &[IoSlice::new(&frame)],
            &cmsg,
            MsgFlags::empty(),
            None,
        ) {
            Err(nix::Error::EINTR) => continue,
            other => break other?,
        }
    };
    (&*sock).write_all(&frame[sent..])?;
    Ok(())
}

/// Receives the hello frame and the arena fd that comes with it. The fd is close-on-exec.
pub fn recv_hello(sock: &UnixStream) -> Result<(Hello, OwnedFd)> {
    let mut prefix = [0u8; 4];
    let mut cmsg_buf = nix::cmsg_space!([RawFd; 4]);
    let (got, fds) = loop {
        let mut iov = [IoSliceMut::new(&mut prefix)];
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg_buf),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(msg) => {
                let truncated = msg.flags.contains(MsgFlags::MSG_CTRUNC);
                let mut fds = Vec::new();
                for cmsg in msg.cmsgs()? {
                    if let ControlMessageOwned::ScmRights(raw) = cmsg {
                        for fd in raw {
                            // SAFETY: the kernel just installed `fd` in our table for this
                            // message; nothing else knows it, so we are its only owner.
                            fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                        }
                    }
                }
                if truncated {
                    return Err(WireError::MissingFd);
                }
                break (msg.bytes, fds);
            }
        }
    };
    if got == 0 {
        return Err(WireError::Closed);
    }
    (&*sock)
        .read_exact(&mut prefix[got..])
        .map_err(|_| WireError::Truncated { expected: 4, got })?;
    let hello = read_body(sock, body_len(&prefix)?)?;
    let mut fds = fds.into_iter();
    match (fds.next(), fds.next()) {
        (Some(fd), None) => Ok((hello, fd)),
        _ => Err(WireError::MissingFd),
    }
}

#[cfg(test)]
mod tests;
