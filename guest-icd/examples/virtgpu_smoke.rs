//! Smoke test of the virtgpu transport, run inside a guest with softgpu's virtio-gpu device:
//! finds the render node, creates a memory block, writes and reads it through the mapping,
//! submits an empty `Submit` that asks the device to write a completion word into the block,
//! waits for the fence, and checks the word arrived through the same mapping (zero copy).
//!
//! Build static for the guest (baseline x86-64):
//! `RUSTFLAGS="-C target-feature=+crt-static -C target-cpu=x86-64" cargo build -p guest-icd
//!  --example virtgpu_smoke --target x86_64-unknown-linux-gnu`
//!
//! Prints `virtgpu_smoke: ok` and exits 0, or names the failed step and exits 1.

use std::path::Path;
use std::process::ExitCode;

use protocol::stream::{Command, GuestLocation, SignalWrite, Submit};
use softgpu_icd::transport::virtgpu::{discovery::DRI_DIR, FenceMode, VirtgpuTransport};
use softgpu_icd::transport::Transport;

const BLOCK_SIZE: u64 = 1 << 20;
const SIGNAL_OFFSET: u64 = 4096;
const SIGNAL_VALUE: u64 = 0x5eed_0f_50f7_69b0;
const FENCE_TIMEOUT_NS: u64 = 30_000_000_000;

fn run() -> Result<(), String> {
    let mode = FenceMode::from_env().map_err(|e| e.to_string())?;
    let t = VirtgpuTransport::open(Path::new(DRI_DIR), mode).map_err(|e| format!("open: {e}"))?;
    let caps = t.capset();
    println!(
        "virtgpu_smoke: {} features {:?}; capset v{} subgroup {} threads {} max stream {}",
        t.path().display(),
        t.features(),
        caps.protocol_version,
        caps.subgroup_size,
        caps.threads,
        caps.max_stream_size
    );

    let block = t
        .create_memory(BLOCK_SIZE)
        .map_err(|e| format!("create_memory: {e}"))?;
    let len = usize::try_from(block.size).map_err(|e| e.to_string())?;
    // SAFETY: the transport mapped `block.size` bytes read + write at `block.ptr`, valid until
    // `destroy_memory`; the device writes only the signal word, after we read the pattern back
    // and not before the submission below.
    let bytes = unsafe { std::slice::from_raw_parts_mut(block.ptr, len) };
    if bytes.iter().any(|&b| b != 0) {
        return Err("a new block is not zero-filled".into());
    }
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    if bytes.iter().enumerate().any(|(i, &b)| b != (i % 251) as u8) {
        return Err("the pattern did not read back through the mapping".into());
    }
    let signal_at = usize::try_from(SIGNAL_OFFSET).map_err(|e| e.to_string())?;
    bytes[signal_at..signal_at + 8].fill(0);

    let submit = Command::Submit(Submit {
        waits: Vec::new(),
        command_buffers: Vec::new(),
        signals: vec![SignalWrite {
            dst: GuestLocation {
                resource: block.resource_id,
                offset: SIGNAL_OFFSET,
            },
            value: SIGNAL_VALUE,
        }],
    });
    let mut stream = Vec::new();
    protocol::encode_command(&submit, &mut stream).map_err(|e| e.to_string())?;
    let fence = t.submit(&stream).map_err(|e| format!("submit: {e}"))?;
    match t.wait(fence, FENCE_TIMEOUT_NS) {
        Ok(true) => {}
        Ok(false) => return Err(format!("fence {fence} did not complete in 30 s")),
        Err(e) => return Err(format!("wait: {e}")),
    }
    // SAFETY: 8 bytes inside the live mapping; read volatile because the device wrote them.
    let word = unsafe { std::ptr::read_volatile(block.ptr.add(signal_at).cast::<u64>()) };
    if u64::from_le(word) != SIGNAL_VALUE {
        return Err(format!(
            "the device's completion word reads {word:#x}, expected {SIGNAL_VALUE:#x}"
        ));
    }
    if !t.is_complete(fence).map_err(|e| e.to_string())? {
        return Err("a waited fence reads as incomplete".into());
    }
    t.destroy_memory(block);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => {
            println!("virtgpu_smoke: ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("virtgpu_smoke: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
