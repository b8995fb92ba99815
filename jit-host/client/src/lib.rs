//! The device's half of jit-host (DESIGN §1, §4): it starts the jit-host process, speaks its
//! wire protocol, and owns the only executable view of the code arena.
//!
//! This crate never links LLVM. It trusts jit-host to write correct code into the arena (the
//! arena is jit-host's to write), but checks everything jit-host says about where that code
//! lies before it computes an address from it.
//!
//! * [`wire`]: frames and messages, shared with jit-host.
//! * [`arena`]: mapping the sealed memfd read+execute / read-only; the reuse generation.
//! * [`JitHost`] / [`CompiledKernel`]: the process and the kernels it compiled.

pub mod arena;
mod host;
mod spawn;
pub mod wire;

use std::path::PathBuf;

pub use host::{CompiledKernel, JitHost};
pub use spawn::JIT_HOST_ENV;
pub use wire::TargetInfo;

/// How to start jit-host.
#[derive(Clone, Debug, Default)]
pub struct SpawnOptions {
    /// The binary; `None` searches (see [`JitHost::spawn`]).
    pub path: Option<PathBuf>,
    /// Start it with `--allow-test-requests` (stalling the worker, linking raw objects).
    pub allow_test_requests: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot start jit-host: {0}")]
    Spawn(std::io::Error),
    #[error("jit-host binary not found: {0}")]
    NotFound(String),
    #[error("talking to jit-host: {0}")]
    Wire(#[from] wire::WireError),
    #[error("jit-host speaks protocol version {found}, we speak {expected}", expected = wire::PROTOCOL_VERSION)]
    Version { found: u32 },
    #[error("jit-host sent an unexpected message: {0}")]
    Protocol(String),
    #[error("code arena: {0}")]
    Arena(#[from] arena::ArenaError),
    #[error("jit-host: {0}")]
    JitHost(String),
    #[error("the connection to jit-host broke earlier and is unusable")]
    Broken,
    #[error("a {found:?} kernel called as a {expected:?} kernel")]
    WrongStage {
        expected: shader::ir::Stage,
        found: shader::ir::Stage,
    },
    #[error("{0} fragment batches in one kernel call (at most u32::MAX)")]
    TooManyBatches(usize),
}
