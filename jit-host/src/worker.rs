//! The compile worker: a child of the supervisor that turns IR into linked code.
//!
//! It has no arena and no client socket (the supervisor drops both right after fork), only
//! its socket to the supervisor. Everything LLVM does happens here, so a crash or a hang in
//! code generation costs one worker, which the supervisor replaces.
//!
//! Before it says `Ready` (so before it reads any request) it caps its address space and
//! locks itself down with the worker filter, stacked on the supervisor's it inherited
//! (`crate::sandbox`). The host CPU is queried (cpuid, no files) before that.

use std::os::unix::net::UnixStream;

use jit_host_client::wire::{read_message, write_message, TargetInfo, WireError};
use serde::{Deserialize, Serialize};
use shader::ir;

use crate::codegen::Target;
use crate::compile::compile_module;
use crate::link::{link_object, LinkedBlob};
use crate::sandbox::{self, Profile, Violation};

/// Supervisor → worker.
#[derive(Serialize, Deserialize, Debug)]
pub enum WorkerRequest {
    /// An encoded `ir::Module`.
    Compile { ir: Vec<u8> },
    /// Test only: link a prepared object.
    LinkObject { object: Vec<u8>, scratch_size: u32 },
    /// Test only: block forever.
    Stall,
}

/// Worker → supervisor. The first message is `Ready` or `StartFailed`; then one `Linked` or
/// `Failed` per compile request.
#[derive(Serialize, Deserialize, Debug)]
pub enum WorkerMessage {
    Ready { target: TargetInfo },
    StartFailed { message: String },
    Linked(LinkedBlob),
    Failed { message: String },
}

/// How a worker confines itself before serving (from the supervisor's options).
#[derive(Clone, Copy, Debug)]
pub struct WorkerSetup {
    /// `None`: no filter (debugging only).
    pub sandbox: Option<Violation>,
    /// `RLIMIT_AS`, bytes.
    pub address_space: u64,
}

/// Caps memory, queries the host CPU, locks down: everything before the first request.
fn start(setup: WorkerSetup) -> Result<Target, String> {
    sandbox::limit_address_space(setup.address_space).map_err(|e| e.to_string())?;
    let target = Target::host().map_err(|e| e.to_string())?;
    if let Some(violation) = setup.sandbox {
        sandbox::lock_down(Profile::Worker, violation).map_err(|e| e.to_string())?;
    }
    Ok(target)
}

/// The worker's main loop; returns the process exit status.
pub fn run(sock: UnixStream, setup: WorkerSetup) -> i32 {
    let target = match start(setup) {
        Ok(target) => target,
        Err(message) => {
            let _ = write_message(&sock, &WorkerMessage::StartFailed { message });
            return 1;
        }
    };
    let info = TargetInfo {
        simd_width: target.simd_width,
        cpu: target.cpu.clone(),
        features: target.features.clone(),
    };
    if write_message(&sock, &WorkerMessage::Ready { target: info }).is_err() {
        return 1;
    }
    loop {
        let request = match read_message::<WorkerRequest>(&sock) {
            Ok(request) => request,
            Err(WireError::Closed) => return 0,
            Err(e) => {
                log::error!("compile worker: bad request from the supervisor: {e}");
                return 1;
            }
        };
        let result = match request {
            WorkerRequest::Compile { ir } => compile_encoded(&ir, &target),
            WorkerRequest::LinkObject {
                object,
                scratch_size,
            } => link_object(&object, scratch_size).map_err(|e| format!("linking: {e}")),
            WorkerRequest::Stall => stall_forever(),
        };
        let reply = match result {
            Ok(blob) => WorkerMessage::Linked(blob),
            Err(message) => WorkerMessage::Failed { message },
        };
        if let Err(e) = write_message(&sock, &reply) {
            // A blob over the message limit is a compile failure, not a broken pipe.
            let failed = WorkerMessage::Failed {
                message: format!("sending the result: {e}"),
            };
            if matches!(e, WireError::TooLarge(_)) && write_message(&sock, &failed).is_ok() {
                continue;
            }
            return 1;
        }
    }
}

fn compile_encoded(bytes: &[u8], target: &Target) -> Result<LinkedBlob, String> {
    let module = ir::Module::decode(bytes).map_err(|e| format!("decoding IR: {e}"))?;
    compile_module(&module, target).map_err(|e| e.to_string())
}

fn stall_forever() -> ! {
    log::warn!("compile worker stalling on request (test mode)");
    loop {
        std::thread::park();
    }
}
