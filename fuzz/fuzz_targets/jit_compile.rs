//! jit-host: its request decoders and its compiler, in-process.
//!
//! Byte 0 picks the input kind:
//! * 0: a frame of the device ⇄ jit-host wire (`Request`), then the supervisor ⇄ worker
//!   messages; a `Linked` blob from a (compromised) worker is placed into a real sealed arena,
//!   whose answer must pass the device's range check.
//! * 1: an IR module drawn structure-aware from the bytes (serde-driven).
//! * 2: SPIR-V, lowered by the front end as a compute shader.
//! * 4, 5: SPIR-V, lowered as a vertex / fragment shader.
//! * others: an encoded IR module (the seeds are the front end's output for the test shaders).
//!
//! Every module the validator accepts is compiled (validate → LLVM → link), placed in the
//! arena, and run on small canaried buffers (and, for vertex and fragment modules, canaried
//! stage interface arrays) in a forked child: no fault, no damaged canary.
#![no_main]

use std::cell::RefCell;

use arbitrary::Unstructured;
use jit_host::worker::{WorkerMessage, WorkerRequest};
use jit_host_client::wire::{decode_body, decode_frame, Request};
use libfuzzer_sys::fuzz_target;
use shader::ir::{Module, Stage, IR_VERSION};
use softgpu_fuzz::arb_serde::arbitrary_value;
use softgpu_fuzz::kernel::{JitRig, RunOutcome, RunParams};
use softgpu_fuzz::spirv::{check_front_end, spec_from};

thread_local! {
    /// One compiler target and arena for the whole run (libFuzzer calls from one thread).
    static RIG: RefCell<Option<JitRig>> = const { RefCell::new(None) };
}

/// Bytes of run parameters taken from the end of the input.
const PARAM_BYTES: usize = 24;

fn decode_messages(rig: &mut JitRig, bytes: &[u8]) {
    if let Ok((Request::Compile { ir }, _)) = decode_frame::<Request>(bytes) {
        let _ = Module::decode(&ir);
    }
    let _ = decode_body::<Request>(bytes);
    let _ = decode_body::<WorkerRequest>(bytes);
    if let Ok(WorkerMessage::Linked(blob)) = decode_body::<WorkerMessage>(bytes) {
        rig.place_and_free(&blob);
    }
    // The same messages, well-formed: a blob with arbitrary text, rodata and fixups.
    let mut u = Unstructured::new(bytes);
    if let Ok(WorkerMessage::Linked(blob)) = arbitrary_value::<WorkerMessage>(&mut u) {
        rig.place_and_free(&blob);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    RIG.with_borrow_mut(|slot| one_input(slot, kind, rest));
});

fn one_input(slot: &mut Option<JitRig>, kind: u8, rest: &[u8]) {
    if slot.is_none() {
        match JitRig::new() {
            Ok(rig) => *slot = Some(rig),
            Err(e) => panic!("cannot set up the jit rig: {e:?}"),
        }
    }
    let Some(rig) = slot.as_mut() else {
        return;
    };
    if kind == 0 {
        decode_messages(rig, rest);
        return;
    }
    let split = rest.len().saturating_sub(PARAM_BYTES);
    let (body, param_bytes) = rest.split_at(split);
    let Ok(params) = Unstructured::new(param_bytes).arbitrary::<RunParams>() else {
        return;
    };
    let module = match kind {
        1 => {
            let mut u = Unstructured::new(body);
            match arbitrary_value::<Module>(&mut u) {
                Ok(m) => Module {
                    version: IR_VERSION,
                    ..m
                },
                Err(_) => return,
            }
        }
        2 => {
            let (spec, spirv) = spec_from(body);
            match check_front_end(spirv, &spec) {
                Some(m) => m,
                None => return,
            }
        }
        4 | 5 => {
            let (spec, spirv) = spec_from(body);
            let stage = if kind == 4 {
                Stage::Vertex
            } else {
                Stage::Fragment
            };
            match shader::lower(spirv, stage, "main", &spec) {
                Ok(m) if shader::valid::validate(&m).is_ok() => m,
                _ => return,
            }
        }
        _ => match Module::decode(body) {
            Ok(m) => m,
            Err(_) => return,
        },
    };
    let Some(blob) = rig.compile(&module) else {
        return;
    };
    let outcome = rig.run(&module, &blob, &params);
    STATS.with_borrow_mut(|s| s.count(&outcome));
}

/// How deep inputs get: modules compiled, and what their runs did (printed now and then, so
/// a campaign's log says whether code actually ran).
#[derive(Default)]
struct Stats {
    compiled: u64,
    ran: u64,
    skipped: u64,
    timed_out: u64,
}

impl Stats {
    fn count(&mut self, outcome: &RunOutcome) {
        self.compiled += 1;
        match outcome {
            RunOutcome::Ran => self.ran += 1,
            RunOutcome::Skipped => self.skipped += 1,
            RunOutcome::TimedOut => self.timed_out += 1,
        }
        if self.compiled.is_power_of_two() && self.compiled >= 64 {
            eprintln!(
                "jit_compile: {} modules compiled, {} ran, {} skipped (too large), {} timed out",
                self.compiled, self.ran, self.skipped, self.timed_out
            );
        }
    }
}

thread_local! {
    static STATS: RefCell<Stats> = RefCell::new(Stats::default());
}
