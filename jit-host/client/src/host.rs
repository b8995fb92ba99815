//! A running jit-host and the kernels it compiled.

use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use shader::abi::{
    ComputeKernelFn, FragmentBatchIo, FragmentContext, FragmentKernelFn, KernelContext,
    VertexContext, VertexKernelFn,
};
use shader::ir;

use crate::arena::{self, ArenaMapping};
use crate::wire::{self, CompiledRange, Request, Response, TargetInfo, PROTOCOL_VERSION};
use crate::{spawn, ClientError, SpawnOptions};

/// How long jit-host may take to create the arena and start its first worker.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a dropped host waits for jit-host to exit on its own before killing it.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// A jit-host process: compiles IR into the shared code arena.
///
/// Requests that expect an answer are serialised (one in flight at a time); `Free` messages
/// from dropped kernels go out at any time. Any I/O failure mid-exchange marks the
/// connection broken, since the stream can no longer be trusted to be in step.
pub struct JitHost {
    child: Mutex<Child>,
    pid: u32,
    /// Held for a whole request/answer exchange; guards the reading side.
    exchange: Mutex<UnixStream>,
    /// Guards whole-frame writes.
    writer: Mutex<UnixStream>,
    broken: AtomicBool,
    arena: Arc<ArenaMapping>,
    target: TargetInfo,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the stream half-written without also
    // setting `broken`, which every user checks.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl JitHost {
    /// Spawns jit-host (path: explicit, else `$SOFTGPU_JIT_HOST`, else `jit-host` next to the
    /// current executable, else in its parent directory), receives the hello and the arena
    /// fd, maps the arena and closes the fd.
    pub fn spawn(opts: &SpawnOptions) -> Result<Arc<JitHost>, ClientError> {
        let path = spawn::locate(opts.path.as_deref())?;
        let (mut child, sock) = spawn::start(&path, opts.allow_test_requests)?;
        match handshake(&sock) {
            Ok((target, arena)) => {
                let writer = sock.try_clone().map_err(ClientError::Spawn)?;
                Ok(Arc::new(JitHost {
                    pid: child.id(),
                    child: Mutex::new(child),
                    exchange: Mutex::new(sock),
                    writer: Mutex::new(writer),
                    broken: AtomicBool::new(false),
                    arena: Arc::new(arena),
                    target,
                }))
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    pub fn target(&self) -> &TargetInfo {
        &self.target
    }

    pub fn supervisor_pid(&self) -> u32 {
        self.pid
    }

    /// The arena mapping (shared with every kernel compiled into it).
    pub fn arena(&self) -> &Arc<ArenaMapping> {
        &self.arena
    }

    /// Compiles a module. The module is validated again inside jit-host.
    pub fn compile(
        self: &Arc<Self>,
        module: &ir::Module,
    ) -> Result<Arc<CompiledKernel>, ClientError> {
        let answer = self.exchange(&Request::Compile {
            ir: module.encode(),
        })?;
        self.kernel_from(answer, module.stage)
    }

    /// Test only (needs `allow_test_requests`): links and places a prepared x86-64 ELF object
    /// as if the back end had produced it.
    pub fn compile_object_for_test(
        self: &Arc<Self>,
        object: &[u8],
        scratch_size: u32,
    ) -> Result<Arc<CompiledKernel>, ClientError> {
        let answer = self.exchange(&Request::LinkObjectForTest {
            object: object.to_vec(),
            scratch_size,
        })?;
        self.kernel_from(answer, ir::Stage::Compute)
    }

    /// Pid of the current compile worker.
    pub fn worker_pid(&self) -> Result<u32, ClientError> {
        match self.exchange(&Request::WorkerPid)? {
            Response::WorkerPid { pid } => Ok(pid),
            other => Err(unexpected(other)),
        }
    }

    /// Test only: the compile worker blocks forever on its next instruction. Returns at once.
    pub fn stall_worker_for_test(&self) -> Result<(), ClientError> {
        match self.exchange(&Request::StallWorker)? {
            Response::Stalling => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    fn kernel_from(
        self: &Arc<Self>,
        answer: Response,
        stage: ir::Stage,
    ) -> Result<Arc<CompiledKernel>, ClientError> {
        let range = match answer {
            Response::Compiled(range) => range,
            other => return Err(unexpected(other)),
        };
        self.arena.check_range(&range)?;
        if range.reused {
            arena::note_code_rewritten();
        }
        Ok(Arc::new(CompiledKernel {
            host: Arc::clone(self),
            range,
            stage,
        }))
    }

    /// Sends a request and reads its answer.
    fn exchange(&self, request: &Request) -> Result<Response, ClientError> {
        let frame = wire::encode_frame(request)?;
        let reader = lock(&self.exchange);
        self.send_frame(&frame)?;
        match wire::read_message::<Response>(&*reader) {
            Ok(answer) => Ok(answer),
            Err(e) => {
                self.broken.store(true, Ordering::Release);
                Err(e.into())
            }
        }
    }

    fn send_frame(&self, frame: &[u8]) -> Result<(), ClientError> {
        if self.broken.load(Ordering::Acquire) {
            return Err(ClientError::Broken);
        }
        let writer = lock(&self.writer);
        if let Err(e) = std::io::Write::write_all(&mut &*writer, frame) {
            self.broken.store(true, Ordering::Release);
            return Err(ClientError::Wire(e.into()));
        }
        Ok(())
    }
}

fn unexpected(answer: Response) -> ClientError {
    match answer {
        Response::Error { message } => ClientError::JitHost(message),
        other => ClientError::Protocol(format!("{other:?}")),
    }
}

fn handshake(sock: &UnixStream) -> Result<(TargetInfo, ArenaMapping), ClientError> {
    sock.set_read_timeout(Some(HELLO_TIMEOUT))
        .map_err(ClientError::Spawn)?;
    let (hello, fd) = wire::recv_hello(sock)?;
    sock.set_read_timeout(None).map_err(ClientError::Spawn)?;
    if hello.protocol_version != PROTOCOL_VERSION {
        return Err(ClientError::Version {
            found: hello.protocol_version,
        });
    }
    if ![4, 8, 16].contains(&hello.target.simd_width) {
        return Err(ClientError::Protocol(format!(
            "SIMD width {}",
            hello.target.simd_width
        )));
    }
    let arena = ArenaMapping::map(fd, hello.arena)?;
    Ok((hello.target, arena))
}

impl Drop for JitHost {
    fn drop(&mut self) {
        // Closing our end tells the supervisor to kill its worker and exit.
        let _ = lock(&self.writer).shutdown(Shutdown::Both);
        let child = self.child.get_mut().unwrap_or_else(PoisonError::into_inner);
        let deadline = Instant::now() + EXIT_GRACE;
        while Instant::now() < deadline {
            match child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A kernel in the arena. Dropping it tells jit-host its ranges are free, so drop it only
/// when no queued or running work can still call it (the `Arc` makes that natural).
pub struct CompiledKernel {
    host: Arc<JitHost>,
    range: CompiledRange,
    /// The module's stage: which entry ABI the code has (`shader::abi`).
    stage: ir::Stage,
}

impl CompiledKernel {
    /// Bytes of per-thread scratch memory the kernel needs (`KernelContext::scratch`).
    pub fn scratch_size(&self) -> usize {
        self.range.scratch_size as usize
    }

    /// `(offset, len)` of the code in the arena.
    pub fn code_range(&self) -> (u64, u64) {
        (self.range.code_offset, self.range.code_len)
    }

    /// Everything jit-host said about where the kernel lies.
    pub fn placement(&self) -> &CompiledRange {
        &self.range
    }

    /// The stage the kernel was compiled for (its entry ABI).
    pub fn stage(&self) -> ir::Stage {
        self.stage
    }

    /// Address of the entry point, after serialising this thread's instruction stream.
    fn entry(&self) -> *const u8 {
        arena::sync_instruction_stream();
        self.host
            .arena
            .base()
            .wrapping_add((self.range.code_offset + self.range.entry_offset) as usize)
    }

    fn check_stage(&self, expected: ir::Stage) -> Result<(), ClientError> {
        if self.stage == expected {
            Ok(())
        } else {
            Err(ClientError::WrongStage {
                expected,
                found: self.stage,
            })
        }
    }

    /// Runs workgroups `first_workgroup .. first_workgroup + count` (see `shader::abi`).
    /// A kernel of another stage is not called (and logged): its entry has another ABI.
    ///
    /// # Safety
    /// `ctx` must be a valid `KernelContext` for this kernel's module: every buffer
    /// descriptor, the push constants, and per-thread workgroup memory and scratch (at least
    /// [`Self::scratch_size`] bytes, 64-byte aligned) valid for the whole call, with no other
    /// thread using this thread's workgroup memory or scratch meanwhile.
    pub unsafe fn call(&self, ctx: &KernelContext, first_workgroup: u32, count: u32) {
        if let Err(e) = self.check_stage(ir::Stage::Compute) {
            log::error!("{e}");
            return;
        }
        let entry = self.entry();
        // SAFETY: `entry` is inside the arena's code region (range checked when this kernel
        // was made, and the mapping lives as long as `self.host`), where jit-host placed a
        // function with the `ComputeKernelFn` ABI (a compute module, checked above); this
        // thread has serialised since the code was written (in `entry`).
        let kernel: ComputeKernelFn =
            unsafe { std::mem::transmute::<*const u8, ComputeKernelFn>(entry) };
        // SAFETY: the caller guarantees `ctx` is valid for this kernel (see `# Safety`).
        unsafe { kernel(ctx, first_workgroup, count) }
    }

    /// Shades `count` vertices of one instance (see `shader::abi::VertexContext`).
    ///
    /// # Safety
    /// `ctx` must be valid for this kernel's module: buffer descriptors and push constants as
    /// for [`Self::call`]; `vertex_indices` holding `ceil(count / 8) * 8` words, `inputs` and
    /// `outputs` that many groups of `Module::inputs.len()` / `Module::outputs.len()` slots;
    /// scratch of at least [`Self::scratch_size`] bytes, 64-byte aligned, used by no other
    /// thread during the call.
    pub unsafe fn call_vertex(&self, ctx: &VertexContext, count: u32) -> Result<(), ClientError> {
        self.check_stage(ir::Stage::Vertex)?;
        let entry = self.entry();
        // SAFETY: as in `call`, for a vertex module's `VertexKernelFn` entry (checked above).
        let kernel: VertexKernelFn =
            unsafe { std::mem::transmute::<*const u8, VertexKernelFn>(entry) };
        // SAFETY: the caller guarantees `ctx` is valid for this kernel (see `# Safety`).
        unsafe { kernel(ctx, count) };
        Ok(())
    }

    /// Shades every batch of `batches` in one kernel call; each batch's `live` is replaced by
    /// its lanes that were neither killed nor demoted (see `shader::abi::FragmentBatchIo`).
    ///
    /// # Safety
    /// `ctx` as for [`Self::call_vertex`] (less the vertex arrays); in every batch, `inputs`
    /// and `outputs` holding 8 words per slot of `Module::inputs` / `Module::outputs`, no two
    /// batches' `outputs` overlapping.
    pub unsafe fn call_fragment(
        &self,
        ctx: &FragmentContext,
        batches: &mut [FragmentBatchIo],
    ) -> Result<(), ClientError> {
        self.check_stage(ir::Stage::Fragment)?;
        let count =
            u32::try_from(batches.len()).map_err(|_| ClientError::TooManyBatches(batches.len()))?;
        let entry = self.entry();
        // SAFETY: as in `call`, for a fragment module's `FragmentKernelFn` entry (checked
        // above).
        let kernel: FragmentKernelFn =
            unsafe { std::mem::transmute::<*const u8, FragmentKernelFn>(entry) };
        // SAFETY: the caller guarantees `ctx` and every batch are valid for this kernel;
        // `batches` holds `count` initialised batches, exclusively ours for the call.
        unsafe { kernel(ctx, batches.as_mut_ptr(), count) };
        Ok(())
    }
}

impl Drop for CompiledKernel {
    fn drop(&mut self) {
        let free = Request::Free {
            code_offset: self.range.code_offset,
        };
        if let Ok(frame) = wire::encode_frame(&free) {
            // A dead jit-host has nothing to free; the error is not worth reporting.
            let _ = self.host.send_frame(&frame);
        }
    }
}
