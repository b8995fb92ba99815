//! Compiles IR with jit-host's library in this process (validate → LLVM → link → place in a
//! sealed arena mapped read+execute, as `jit-host/tests/codegen_exec.rs` does) and runs the
//! code on canaried buffers, through the entry ABI of the module's stage (compute kernel,
//! vertex groups, or an array of fragment batches; `shader::abi`).
//!
//! The run happens in a forked child: a guest shader may loop forever (a hang there is the
//! guest's business, bounded in production by the device, not a finding), while a fault or a
//! damaged canary is a real escape, reported as a panic in the parent.

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use jit_host::arena::CodeArena;
use jit_host::codegen::Target;
use jit_host::compile::compile_module;
use jit_host::link::LinkedBlob;
use jit_host_client::arena::{sync_instruction_stream, ArenaMapping};
use jit_host_client::wire::ArenaLayout;
use shader::abi::{
    BufferDescriptor, ComputeKernelFn, FragmentBatchIo, FragmentContext, FragmentKernelFn,
    KernelContext, VertexContext, VertexKernelFn, GRAPHICS_LANES,
};
use shader::ir::{Module, Stage};

use crate::canary::CanariedBuffer;

/// Workgroup memory and scratch beyond these are not run (the device caps them far lower).
const MAX_RUN_MEMORY: usize = 1 << 20;
/// A run longer than this is a shader that loops; the child is killed.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(2);
/// Invocations per run beyond this are not run (keeps an iteration cheap).
const MAX_RUN_INVOCATIONS: u64 = 4096;

/// Exit statuses of the child.
const EXIT_OK: i32 = 0;
const EXIT_CANARY: i32 = 71;
const EXIT_SETUP: i32 = 72;

/// How to run a compiled kernel: buffer sizes, contents, push constants, dispatch size.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct RunParams {
    /// Size of each bound buffer in bytes (the module's bindings take them in order; missing
    /// ones are 0 bytes, extra ones are unused).
    pub buffer_sizes: [u8; 4],
    pub fill: u8,
    pub push_constants: Vec<u8>,
    pub groups: [u8; 3],
    /// Bind the last buffer as unbound (null, 0 bytes) instead.
    pub unbound_last: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// Ran to completion with every canary intact.
    Ran,
    /// The module asks for more than a fuzz iteration runs (not an error).
    Skipped,
    /// Killed after [`RUN_TIMEOUT`].
    TimedOut,
}

pub struct JitRig {
    target: Target,
    arena: CodeArena,
    mapping: ArenaMapping,
}

#[derive(Debug)]
pub struct RigError(pub String);

impl JitRig {
    pub fn new() -> Result<JitRig, RigError> {
        let target = Target::host().map_err(|e| RigError(format!("target: {e}")))?;
        let layout = ArenaLayout {
            code_size: 16 << 20,
            data_size: 4 << 20,
        };
        let arena = CodeArena::create(layout).map_err(|e| RigError(format!("arena: {e}")))?;
        let fd: BorrowedFd<'_> = arena.fd().ok_or(RigError("arena has no fd".into()))?;
        let owned = fd
            .try_clone_to_owned()
            .map_err(|e| RigError(format!("dup: {e}")))?;
        let mapping =
            ArenaMapping::map(owned, layout).map_err(|e| RigError(format!("map: {e}")))?;
        Ok(JitRig {
            target,
            arena,
            mapping,
        })
    }

    /// Validates and compiles `m`; `None` when it is refused (a clean error).
    pub fn compile(&self, m: &Module) -> Option<LinkedBlob> {
        compile_module(m, &self.target).ok()
    }

    /// Places a blob (from the compiler, or a hostile worker's message) and frees it again;
    /// returns whether it was placed.
    pub fn place_and_free(&mut self, blob: &LinkedBlob) -> bool {
        match self.arena.place(blob) {
            Ok(range) => {
                // A placement the arena reports must be one the device accepts.
                if let Err(e) = self.mapping.check_range(&range) {
                    panic!("arena placed {range:?}, which the device's check refuses: {e}");
                }
                self.arena.free(range.code_offset);
                true
            }
            Err(_) => false,
        }
    }

    /// Places `blob` (compiled from `m`), runs it per `params`, frees it.
    pub fn run(&mut self, m: &Module, blob: &LinkedBlob, params: &RunParams) -> RunOutcome {
        // u128: three u32 dimensions times at most 27 workgroups cannot overflow it.
        let invocations = m
            .workgroup_size
            .iter()
            .map(|&d| u128::from(d))
            .product::<u128>()
            * params
                .groups
                .iter()
                .map(|&g| u128::from(g % 3 + 1))
                .product::<u128>();
        if invocations > u128::from(MAX_RUN_INVOCATIONS)
            || m.workgroup_memory_size as usize > MAX_RUN_MEMORY
            || blob.scratch_size as usize > MAX_RUN_MEMORY
        {
            return RunOutcome::Skipped;
        }
        let range = match self.arena.place(blob) {
            Ok(r) => r,
            Err(e) => panic!("a blob the compiler produced does not place: {e}"),
        };
        let entry = match self.mapping.entry_address(&range) {
            Ok(e) => e,
            Err(e) => panic!("placed range {range:?} refused by the device's check: {e}"),
        };
        let outcome = run_in_child(m, blob.scratch_size, entry, params);
        self.arena.free(range.code_offset);
        outcome
    }
}

/// Forks; the child builds the buffers, calls the kernel and checks the canaries.
fn run_in_child(m: &Module, scratch: u32, entry: *const u8, params: &RunParams) -> RunOutcome {
    // SAFETY: fork in a process whose other threads (if any) hold no lock the child needs: the
    // child only maps memory, calls the kernel and `_exit`s, all async-signal-safe or
    // lock-free.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        panic!("fork: {}", std::io::Error::last_os_error());
    }
    if pid == 0 {
        let code = child_run(m, scratch, entry, params);
        // SAFETY: `_exit` ends the child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: waits on our own child with a valid status pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            if libc::WIFSIGNALED(status) {
                panic!(
                    "compiled kernel crashed with signal {} (module {m:?}, params {params:?})",
                    libc::WTERMSIG(status)
                );
            }
            match libc::WEXITSTATUS(status) {
                EXIT_OK => return RunOutcome::Ran,
                EXIT_CANARY => panic!(
                    "compiled kernel wrote outside its buffers (module {m:?}, params {params:?})"
                ),
                code => panic!("kernel child failed to set up (exit {code})"),
            }
        }
        if start.elapsed() > RUN_TIMEOUT {
            // SAFETY: signals and reaps our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return RunOutcome::TimedOut;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Workgroup memory bytes to give the kernel: what the ABI promises (`shader::abi`), or, with
/// `SOFTGPU_FUZZ_WG_ALIGN64=1`, rounded up to 64 bytes — a knob for long local campaigns while
/// the known bug (the kernel zeroes `align64(workgroup_memory_size)` bytes, more than the ABI
/// asks the caller to provide) is open, so that it does not hide other findings. CI never sets it.
fn workgroup_memory_len(m: &Module) -> usize {
    let len = m.workgroup_memory_size as usize;
    if std::env::var_os("SOFTGPU_FUZZ_WG_ALIGN64").is_some_and(|v| v == "1") {
        len.div_ceil(64) * 64
    } else {
        len
    }
}

fn child_run(m: &Module, scratch_size: u32, entry: *const u8, params: &RunParams) -> i32 {
    let mut buffers = Vec::new();
    for (i, _) in m.buffers.iter().enumerate() {
        let size = params.buffer_sizes.get(i).copied().unwrap_or(0);
        match CanariedBuffer::new(usize::from(size), params.fill) {
            Ok(b) => buffers.push(b),
            Err(_) => return EXIT_SETUP,
        }
    }
    let mut descs: Vec<BufferDescriptor> = buffers
        .iter()
        .map(|b| BufferDescriptor {
            base: b.as_mut_ptr(),
            len: b.len() as u64,
        })
        .collect();
    if params.unbound_last {
        if let Some(d) = descs.last_mut() {
            *d = BufferDescriptor {
                base: std::ptr::null_mut(),
                len: 0,
            };
        }
    }
    let (Ok(wg), Ok(scratch), Ok(push)) = (
        CanariedBuffer::new(workgroup_memory_len(m), 0x5a),
        CanariedBuffer::new(scratch_size as usize, 0x3c),
        CanariedBuffer::new(params.push_constants.len(), 0),
    ) else {
        return EXIT_SETUP;
    };
    // SAFETY: `push` holds exactly push_constants.len() writable bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(
            params.push_constants.as_ptr(),
            push.as_mut_ptr(),
            params.push_constants.len(),
        )
    };
    let groups = params.groups.map(|g| u32::from(g % 3 + 1));
    let interface = match call_entry(m, entry, params, groups, &descs, &push, &wg, &scratch) {
        Ok(interface) => interface,
        Err(code) => return code,
    };
    let named = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("buffer {i}"), b))
        .chain([
            (
                format!("workgroup memory ({} bytes)", m.workgroup_memory_size),
                &wg,
            ),
            (format!("scratch ({scratch_size} bytes)"), &scratch),
            ("push constants".to_string(), &push),
        ])
        .chain(
            interface
                .iter()
                .enumerate()
                .map(|(i, b)| (format!("stage interface array {i}"), b)),
        );
    let mut code = EXIT_OK;
    for (name, b) in named {
        if let Some(at) = b.first_damaged_canary() {
            // The parent reports the failure; this line says where.
            eprintln!("kernel child: canary damaged at offset {at} of {name}");
            code = EXIT_CANARY;
        }
    }
    code
}

/// Calls the placed code through its stage's ABI; returns the stage interface arrays it was
/// given (their canaries are checked too), or an exit code when they cannot be set up.
#[allow(clippy::too_many_arguments)]
fn call_entry(
    m: &Module,
    entry: *const u8,
    params: &RunParams,
    groups: [u32; 3],
    descs: &[BufferDescriptor],
    push: &CanariedBuffer,
    wg: &CanariedBuffer,
    scratch: &CanariedBuffer,
) -> Result<Vec<CanariedBuffer>, i32> {
    let count: u32 = groups.iter().product();
    sync_instruction_stream();
    match m.stage {
        Stage::Compute => {
            let ctx = KernelContext {
                buffers: descs.as_ptr(),
                push_constants: push.as_mut_ptr(),
                push_constants_len: push.len() as u32,
                num_workgroups: groups,
                base_workgroup: [0; 3],
                workgroup_memory: wg.as_mut_ptr(),
                scratch: scratch.as_mut_ptr(),
                image_resources: shader::abi::ImageResources::NONE,
            };
            // SAFETY: `entry` is the entry point of code just placed for `m`, a compute
            // module compiled for this host; it has the `ComputeKernelFn` signature.
            let f: ComputeKernelFn =
                unsafe { std::mem::transmute::<*const u8, ComputeKernelFn>(entry) };
            // SAFETY: every pointer in `ctx` is live for the call: one descriptor per module
            // binding, workgroup memory and scratch of the sizes the module and blob ask for.
            unsafe { f(&ctx, 0, count) };
            Ok(Vec::new())
        }
        Stage::Vertex => {
            let words = count.div_ceil(GRAPHICS_LANES as u32) as usize * GRAPHICS_LANES;
            let (Ok(indices), Ok(inputs), Ok(outputs)) = (
                CanariedBuffer::new(4 * words, params.fill),
                CanariedBuffer::new(4 * words * m.inputs.len(), params.fill ^ 0x11),
                CanariedBuffer::new(4 * words * m.outputs.len(), 0),
            ) else {
                return Err(EXIT_SETUP);
            };
            let ctx = VertexContext {
                buffers: descs.as_ptr(),
                push_constants: push.as_mut_ptr(),
                push_constants_len: push.len() as u32,
                base_vertex: i32::from(params.fill),
                base_instance: u32::from(params.buffer_sizes[0]),
                instance_index: u32::from(params.buffer_sizes[1]),
                vertex_indices: indices.as_mut_ptr().cast(),
                inputs: inputs.as_mut_ptr().cast(),
                outputs: outputs.as_mut_ptr().cast(),
                scratch: scratch.as_mut_ptr(),
                view_index: u32::from(params.buffer_sizes[0] & 7),
                _pad: 0,
                image_resources: shader::abi::ImageResources::NONE,
            };
            // SAFETY: `entry` is the entry of code just placed for `m`, a vertex module: it
            // has the `VertexKernelFn` signature.
            let f: VertexKernelFn =
                unsafe { std::mem::transmute::<*const u8, VertexKernelFn>(entry) };
            // SAFETY: indices, inputs and outputs hold ceil(count / 8) whole groups of the
            // module's slots; descriptors, push constants and scratch as for compute.
            unsafe { f(&ctx, count) };
            Ok(vec![indices, inputs, outputs])
        }
        Stage::Fragment => {
            // Two batches in one call (the renderer passes a run of blocks): they share the
            // input words and each has its own canaried output words.
            let (Ok(inputs), Ok(outputs), Ok(outputs2)) = (
                CanariedBuffer::new(4 * GRAPHICS_LANES * m.inputs.len(), params.fill),
                CanariedBuffer::new(4 * GRAPHICS_LANES * m.outputs.len(), 0),
                CanariedBuffer::new(4 * GRAPHICS_LANES * m.outputs.len(), 0),
            ) else {
                return Err(EXIT_SETUP);
            };
            let ctx = FragmentContext {
                buffers: descs.as_ptr(),
                push_constants: push.as_mut_ptr(),
                push_constants_len: push.len() as u32,
                view_index: u32::from(params.buffer_sizes[1] & 7),
                scratch: scratch.as_mut_ptr(),
                image_resources: shader::abi::ImageResources::NONE,
            };
            let lanes = [0.5f32; GRAPHICS_LANES];
            let point_coord = [lanes; 2];
            let batch = |outputs: &CanariedBuffer, live: u8| FragmentBatchIo {
                inputs: inputs.as_mut_ptr().cast(),
                outputs: outputs.as_mut_ptr().cast(),
                depth: &lanes,
                inv_w: &lanes,
                point_coord: &point_coord,
                x: u32::from(params.fill),
                y: u32::MAX - 1,
                front_facing: u32::from(params.unbound_last),
                live: u32::from(live),
            };
            let live = [params.fill, params.fill.rotate_left(3)];
            let mut io = [batch(&outputs, live[0]), batch(&outputs2, live[1])];
            // SAFETY: `entry` is the entry of code just placed for `m`, a fragment module:
            // it has the `FragmentKernelFn` signature.
            let f: FragmentKernelFn =
                unsafe { std::mem::transmute::<*const u8, FragmentKernelFn>(entry) };
            // SAFETY: `io` holds 2 batches; the inputs and each batch's outputs hold one
            // batch of the module's slots, their FragCoord / PointCoord words 8 lanes each;
            // descriptors, push constants and scratch as for compute.
            unsafe { f(&ctx, io.as_mut_ptr(), io.len() as u32) };
            for (b, live) in io.iter().zip(live) {
                if b.live & !u32::from(live) != 0 {
                    eprintln!(
                        "kernel child: survivors {:#x} outside live {live:#x}",
                        b.live
                    );
                    return Err(EXIT_CANARY);
                }
            }
            Ok(vec![inputs, outputs, outputs2])
        }
    }
}
