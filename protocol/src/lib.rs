//! softgpu's guest ⇄ device wire format, one definition for both sides (DESIGN §3).
//!
//! * [`capset`]: the capability set with id [`capset::SOFTGPU_CAPSET_VK`] (24) that the device
//!   reports through `GET_CAPSET` — protocol version and device limits.
//! * [`stream`]: the command stream carried by `SUBMIT_3D` and by recorded command buffers in
//!   guest RAM — `{opcode, length, payload}` frames, little-endian.
//!
//! This crate trusts nothing it decodes: every length and count is checked against the bytes
//! present before anything is allocated, and a malformed stream is an `Err`, never a panic.

pub mod capset;
pub mod descriptor;
pub mod format;
pub mod graphics;
pub mod image;
pub mod sampler;
pub mod stream;
pub mod vertex_format;

pub use capset::{
    object_effect, Capset, CapsetError, ClientCaps, ObjectEffect, PROTOCOL_VERSION,
    SOFTGPU_CAPSET_VK,
};
pub use stream::{decode_stream, encode_command, Command, StreamError};
