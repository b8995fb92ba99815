//! The worker pool: one thread per core, each owning the per-thread memory a kernel call needs
//! (workgroup memory, scratch), reused across dispatches.
//!
//! A job is split into numbered chunks; the workers it is given take chunk numbers from a shared
//! counter until none are left, so uneven chunks (a mandelbrot row near the set) balance out.
//! Threads block on their channel between jobs; nothing spins.
//!
//! Two kinds of job: [`WorkerPool::run`] takes an owned [`ChunkedJob`] and runs it on the
//! workers only (compute dispatches); [`WorkerPool::run_scoped`] takes a closure borrowing
//! the caller's stack (a draw's vertices, bins and attachments) and runs it on the calling
//! thread and the other workers, returning only once no worker can touch the closure again.
//! The pool's threads are all started by [`WorkerPool::new`]: nothing is spawned per job, so
//! jobs run unchanged after the device's lockdown (DESIGN §5).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use crate::cancel::CancelCheck;
use crate::error::RendererError;
use crate::memory::GrowableBlock;

/// Stack of each worker thread. Kernels keep private arrays, workgroup memory and values live
/// across barriers in heap blocks ([`WorkerMemory`]), never on the stack; what remains there is
/// one vector slot per IR var (at most `shader::ir::MAX_VARS`, 2 MiB at 16 lanes) plus LLVM's
/// own spills. Reserved address space only: pages are committed when touched.
pub const WORKER_STACK_SIZE: usize = 32 << 20;

/// Memory owned by one worker thread and lent to the chunks it runs.
#[derive(Debug, Default)]
pub struct WorkerMemory {
    pub workgroup: GrowableBlock,
    pub scratch: GrowableBlock,
}

/// Work that the pool runs as `chunk_count()` independent chunks.
pub trait ChunkedJob: Send + Sync {
    fn chunk_count(&self) -> usize;
    fn run_chunk(&self, chunk: usize, memory: &mut WorkerMemory) -> Result<(), RendererError>;
}

struct BatchState {
    /// Workers that received the batch and have not yet finished with it.
    active: usize,
    error: Option<RendererError>,
}

/// One job in flight: the chunk counter and the completion the submitting thread waits on.
struct Batch {
    /// Taken by the submitting thread once every worker has departed, so the job (and the
    /// kernel and memory it holds) is released before `run` returns, not whenever the last
    /// worker happens to drop its handle on the batch.
    job: Mutex<Option<Arc<dyn ChunkedJob>>>,
    /// The submitting thread's cancellation check (see [`crate::cancel`]), asked before each
    /// chunk.
    cancel: Option<CancelCheck>,
    next_chunk: AtomicUsize,
    state: Mutex<BatchState>,
    finished: Condvar,
}

impl Batch {
    fn lock(&self) -> MutexGuard<'_, BatchState> {
        // A poisoned lock only means another worker panicked while holding it; the counters
        // it protects are still consistent (each update is a single assignment).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn work(&self, memory: &mut WorkerMemory) {
        let job = self
            .job
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(job) = job else {
            return;
        };
        let count = job.chunk_count();
        loop {
            let chunk = self.next_chunk.fetch_add(1, Ordering::Relaxed);
            if chunk >= count {
                break;
            }
            let cancelled = self.cancel.as_ref().is_some_and(|c| c());
            let result = if cancelled {
                Err(RendererError::Cancelled)
            } else {
                job.run_chunk(chunk, memory)
            };
            if let Err(e) = result {
                // Stop handing out chunks; keep the first error.
                self.next_chunk.store(count, Ordering::Relaxed);
                let mut state = self.lock();
                state.error.get_or_insert(e);
                break;
            }
        }
    }
}

/// Marks the worker done with a batch even if the chunk code unwinds, so the submitting
/// thread is never left waiting forever.
struct Departure<'a>(&'a Batch);

impl Drop for Departure<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.active -= 1;
        if std::thread::panicking() && state.error.is_none() {
            state.error = Some(RendererError::WorkerFailed);
        }
        if state.active == 0 {
            self.0.finished.notify_all();
        }
    }
}

/// What a worker is handed.
enum Task {
    Owned(Arc<Batch>),
    Scoped(Arc<ScopedBatch>),
}

/// The closure type of [`WorkerPool::run_scoped`] jobs.
type ScopedJob<'a> = dyn Fn(usize) -> Result<(), RendererError> + Sync + 'a;

/// A scoped job with its lifetime erased, so a `'static` worker thread can be handed it.
#[derive(Clone, Copy)]
struct ErasedJob(*const ScopedJob<'static>);

// SAFETY: the pointee is `Sync` (the bound of `ScopedJob`), so handing the pointer to another
// thread only shares `&ScopedJob` across threads; when it may be dereferenced is governed by
// `ScopedBatch` (see `ScopedBatch::work`).
unsafe impl Send for ErasedJob {}
// SAFETY: as for `Send`: only shared references are ever made from the pointer.
unsafe impl Sync for ErasedJob {}

struct ScopedState {
    /// The job while workers may still enter it; `None` once the submitting thread has
    /// revoked it (after that no worker dereferences it).
    job: Option<ErasedJob>,
    /// Workers currently inside the job (holding a reference made from `job`).
    inside: usize,
    error: Option<RendererError>,
}

/// `chunks` as a [`ScopedBatch`] count (at most 2^32 - 1: draws and clears have a few
/// thousand), or an error where there are more.
fn scoped_chunks(chunks: usize) -> Result<u32, RendererError> {
    u32::try_from(chunks)
        .map_err(|_| RendererError::InvalidConfig("too many chunks in one scoped job"))
}

/// One scoped job in flight: shared by the submitting thread and the workers it was sent to.
struct ScopedBatch {
    /// The chunks not handed out yet, `front .. back`, packed as `front << 32 | back`.
    unclaimed: AtomicU64,
    /// Workers take chunks from the back (the calling thread always from the front): see
    /// [`Workers::run_scoped_split`]. Otherwise everyone takes them in order.
    split: bool,
    cancel: Option<CancelCheck>,
    state: Mutex<ScopedState>,
    /// Signalled when `inside` drops to zero.
    left: Condvar,
}

impl ScopedBatch {
    /// A batch of `chunks` chunks ([`scoped_chunks`]).
    fn new(chunks: u32, split: bool) -> ScopedBatch {
        ScopedBatch {
            unclaimed: AtomicU64::new(u64::from(chunks)),
            split,
            cancel: crate::cancel::current(),
            state: Mutex::new(ScopedState {
                job: None,
                inside: 0,
                error: None,
            }),
            left: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ScopedState> {
        // Poisoning cannot leave the state inconsistent: every update is a single assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next chunk from the front (`from_back`: from the back), if any is left.
    fn claim(&self, from_back: bool) -> Option<usize> {
        let mut chunk = 0;
        self.unclaimed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |packed| {
                let (front, back) = (packed >> 32, packed & u64::from(u32::MAX));
                if front >= back {
                    return None;
                }
                if from_back {
                    chunk = back - 1;
                    Some(packed - 1)
                } else {
                    chunk = front;
                    Some(packed + (1 << 32))
                }
            })
            .ok()
            .map(|_| chunk as usize)
    }

    /// Takes chunks until none are left or one fails (or panics: caught, so the thread goes
    /// on to leave the job properly); returns the first failure this thread saw.
    /// `from_back`: it takes them from the back.
    fn run_chunks(&self, job: &ScopedJob<'_>, from_back: bool) -> Result<(), RendererError> {
        let result = catch_unwind(AssertUnwindSafe(|| loop {
            let Some(chunk) = self.claim(from_back) else {
                return Ok(());
            };
            if self.cancel.as_ref().is_some_and(|c| c()) {
                return Err(RendererError::Cancelled);
            }
            job(chunk)?;
        }))
        .unwrap_or(Err(RendererError::WorkerFailed));
        if result.is_err() {
            // Stop handing out chunks.
            self.unclaimed.store(0, Ordering::Relaxed);
        }
        result
    }

    /// A worker's part: enter the job if it is still there, run chunks, leave.
    fn work(&self) {
        let job = {
            let mut state = self.lock();
            let Some(job) = state.job else {
                return;
            };
            state.inside += 1;
            job
        };
        let leave = ScopedLeave(self);
        // SAFETY: `inside` counts this thread from before the job was read until `leave` is
        // dropped below, and `run_scoped` neither returns nor unwinds before it has revoked
        // `job` and seen `inside == 0` (`ScopedRevoke`): the closure and everything it borrows
        // outlive this reference, which does not escape this function.
        let job: &ScopedJob<'_> = unsafe { &*job.0 };
        if let Err(e) = self.run_chunks(job, self.split) {
            self.lock().error.get_or_insert(e);
        }
        drop(leave);
    }
}

/// Marks a worker out of a scoped job (even if leaving unwinds).
struct ScopedLeave<'a>(&'a ScopedBatch);

impl Drop for ScopedLeave<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.inside -= 1;
        if std::thread::panicking() {
            state.error.get_or_insert(RendererError::WorkerFailed);
        }
        if state.inside == 0 {
            self.0.left.notify_all();
        }
    }
}

/// Revokes a scoped job and waits until no worker is inside it. Runs on every way out of
/// `run_scoped`, unwinding included: this wait is what makes lending a borrowed closure to
/// `'static` threads sound.
struct ScopedRevoke<'a>(&'a ScopedBatch);

impl Drop for ScopedRevoke<'_> {
    fn drop(&mut self) {
        let start = std::time::Instant::now();
        let mut state = self.0.lock();
        state.job = None;
        while state.inside > 0 {
            // Workers finishing their last chunk are usually out within microseconds:
            // look again for a while before sleeping (and waking late).
            if start.elapsed() < IDLE_SPIN {
                drop(state);
                for _ in 0..64 {
                    std::hint::spin_loop();
                }
                state = self.0.lock();
                continue;
            }
            state = self
                .0
                .left
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Where scoped work runs: on the calling thread alone, or on it and a pool's workers.
#[derive(Clone, Copy)]
pub enum Workers<'a> {
    CallingThread,
    Pool(&'a WorkerPool),
}

impl Workers<'_> {
    /// Threads the work is spread over, the calling thread included.
    pub fn threads(&self) -> usize {
        match self {
            Workers::CallingThread => 1,
            Workers::Pool(pool) => pool.threads(),
        }
    }

    /// Runs `job(0..chunks)` (see [`WorkerPool::run_scoped`]).
    pub fn run_scoped<F>(&self, chunks: usize, job: &F) -> Result<(), RendererError>
    where
        F: Fn(usize) -> Result<(), RendererError> + Sync,
    {
        self.run_scoped_in(chunks, job, false)
    }

    /// [`Self::run_scoped`], with the calling thread taking chunks from the front and the
    /// workers from the back: over successive jobs of one draw (vertex shading, then setup,
    /// each in chunks in the same order) each thread then tends to work on the same part of
    /// it and reads what it wrote itself, in its own cache (tiles, given column by column,
    /// likewise keep their attachment lines from batch to batch). Jobs whose neighbouring
    /// chunks share data are better off with [`Self::run_scoped`].
    pub fn run_scoped_split<F>(&self, chunks: usize, job: &F) -> Result<(), RendererError>
    where
        F: Fn(usize) -> Result<(), RendererError> + Sync,
    {
        self.run_scoped_in(chunks, job, true)
    }

    fn run_scoped_in<F>(&self, chunks: usize, job: &F, split: bool) -> Result<(), RendererError>
    where
        F: Fn(usize) -> Result<(), RendererError> + Sync,
    {
        match self {
            Workers::CallingThread => {
                if chunks == 0 {
                    return Ok(());
                }
                ScopedBatch::new(scoped_chunks(chunks)?, false).run_chunks(job, false)
            }
            Workers::Pool(pool) => pool.run_scoped_in(chunks, job, split),
        }
    }
}

impl std::fmt::Debug for Workers<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Workers::CallingThread => write!(f, "CallingThread"),
            Workers::Pool(pool) => write!(f, "Pool({} threads)", pool.threads()),
        }
    }
}

struct Worker {
    sender: Option<Sender<Task>>,
    thread: Option<JoinHandle<()>>,
}

pub struct WorkerPool {
    workers: Vec<Worker>,
}

impl WorkerPool {
    pub fn new(threads: usize) -> Result<WorkerPool, RendererError> {
        if threads == 0 {
            return Err(RendererError::InvalidConfig(
                "the worker pool needs at least one thread",
            ));
        }
        let mut workers = Vec::with_capacity(threads);
        for index in 0..threads {
            let (sender, receiver) = mpsc::channel::<Task>();
            let thread = std::thread::Builder::new()
                .name(format!("softgpu-worker-{index}"))
                .stack_size(WORKER_STACK_SIZE)
                .spawn(move || worker_main(receiver))
                .map_err(RendererError::WorkerSpawn)?;
            workers.push(Worker {
                sender: Some(sender),
                thread: Some(thread),
            });
        }
        Ok(WorkerPool { workers })
    }

    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Runs every chunk of `job` and returns when all are done (or the first error).
    pub fn run(&self, job: Arc<dyn ChunkedJob>) -> Result<(), RendererError> {
        let chunks = job.chunk_count();
        if chunks == 0 {
            return Ok(());
        }
        let helpers = chunks.min(self.workers.len());
        let batch = Arc::new(Batch {
            job: Mutex::new(Some(job)),
            cancel: crate::cancel::current(),
            next_chunk: AtomicUsize::new(0),
            state: Mutex::new(BatchState {
                active: helpers,
                error: None,
            }),
            finished: Condvar::new(),
        });
        for worker in &self.workers[..helpers] {
            let sent = worker
                .sender
                .as_ref()
                .map(|s| s.send(Task::Owned(batch.clone())));
            if !matches!(sent, Some(Ok(()))) {
                // The worker is gone (it can only exit by panicking); account for it here.
                let mut state = batch.lock();
                state.active -= 1;
                state.error.get_or_insert(RendererError::WorkerFailed);
            }
        }
        let mut state = batch.lock();
        while state.active > 0 {
            state = batch
                .finished
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let result = match state.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        };
        drop(state);
        // Every worker has departed, and each dropped its clone of the job before departing.
        drop(
            batch
                .job
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        result
    }

    /// Runs `job(chunk)` for every chunk in `0..chunks`, on the calling thread and up to
    /// `threads() - 1` workers, and returns when all are done, or after the first error (a
    /// panicking chunk counts as [`RendererError::WorkerFailed`], a cancelled job as
    /// [`RendererError::Cancelled`], checked before each chunk as `run` does). Chunks run in
    /// no particular order and concurrently, so `job` must not depend on either.
    ///
    /// `job` may borrow from the caller's stack: this call does not return, nor unwind, before
    /// every worker has left the job, also when a chunk fails or panics. Workers busy with
    /// other work simply never join in; the calling thread then runs the chunks itself.
    pub fn run_scoped<F>(&self, chunks: usize, job: &F) -> Result<(), RendererError>
    where
        F: Fn(usize) -> Result<(), RendererError> + Sync,
    {
        self.run_scoped_in(chunks, job, false)
    }

    /// [`Self::run_scoped`]; `split`: the calling thread takes chunks from the front and the
    /// workers from the back ([`Workers::run_scoped_split`]).
    fn run_scoped_in<F>(&self, chunks: usize, job: &F, split: bool) -> Result<(), RendererError>
    where
        F: Fn(usize) -> Result<(), RendererError> + Sync,
    {
        if chunks == 0 {
            return Ok(());
        }
        let batch = Arc::new(ScopedBatch::new(scoped_chunks(chunks)?, split));
        let helpers = chunks.min(self.workers.len()) - 1;
        if helpers == 0 {
            return batch.run_chunks(job, false);
        }
        let job: &ScopedJob<'_> = job;
        // SAFETY: only the trait object's lifetime bound changes (same pointer, same vtable).
        // The erased pointer is dereferenced only by workers counted in `inside`, and the
        // `ScopedRevoke` guard below keeps this function from returning or unwinding until
        // the job is revoked and `inside` is zero, so no use outlives the borrow of `job`.
        let erased =
            unsafe { std::mem::transmute::<*const ScopedJob<'_>, *const ScopedJob<'static>>(job) };
        batch.lock().job = Some(ErasedJob(erased));
        let revoke = ScopedRevoke(&batch);
        for worker in &self.workers[..helpers] {
            if let Some(sender) = &worker.sender {
                // A worker that is gone just never joins in.
                let _ = sender.send(Task::Scoped(batch.clone()));
            }
        }
        let mine = batch.run_chunks(job, false);
        drop(revoke);
        let theirs = batch.lock().error.take();
        match (mine, theirs) {
            (Err(e), _) | (Ok(()), Some(e)) => Err(e),
            (Ok(()), None) => Ok(()),
        }
    }
}

/// How long an idle worker keeps looking for its next task before it sleeps. A draw hands
/// its workers several batches in quick succession (vertex shading, setup, tiles, per window
/// of vertices); a worker woken from sleep for each joins tens of microseconds late on a
/// virtual machine, which left a quarter of the second thread idle on small triangles.
const IDLE_SPIN: std::time::Duration = std::time::Duration::from_micros(60);

/// The next task: looked for without sleeping for [`IDLE_SPIN`], then waited for. `None`
/// once the pool is gone.
fn next_task(receiver: &Receiver<Task>) -> Option<Task> {
    let start = std::time::Instant::now();
    loop {
        for _ in 0..64 {
            match receiver.try_recv() {
                Ok(task) => return Some(task),
                Err(mpsc::TryRecvError::Disconnected) => return None,
                Err(mpsc::TryRecvError::Empty) => std::hint::spin_loop(),
            }
        }
        if start.elapsed() >= IDLE_SPIN {
            return receiver.recv().ok();
        }
    }
}

fn worker_main(receiver: Receiver<Task>) {
    let mut memory = WorkerMemory::default();
    while let Some(task) = next_task(&receiver) {
        match task {
            Task::Owned(batch) => {
                let departure = Departure(&batch);
                batch.work(&mut memory);
                drop(departure);
            }
            Task::Scoped(batch) => batch.work(),
        }
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            worker.sender = None;
        }
        for worker in &mut self.workers {
            if let Some(thread) = worker.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::thread::ThreadId;

    struct Recorder {
        chunks: usize,
        seen: Mutex<Vec<(usize, ThreadId)>>,
        fail_at: Option<usize>,
    }

    impl ChunkedJob for Recorder {
        fn chunk_count(&self) -> usize {
            self.chunks
        }
        fn run_chunk(&self, chunk: usize, memory: &mut WorkerMemory) -> Result<(), RendererError> {
            memory.scratch.ensure(128)?;
            if Some(chunk) == self.fail_at {
                return Err(RendererError::InvalidConfig("chunk failed on purpose"));
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
            self.seen
                .lock()
                .unwrap()
                .push((chunk, std::thread::current().id()));
            Ok(())
        }
    }

    fn recorder(chunks: usize, fail_at: Option<usize>) -> Arc<Recorder> {
        Arc::new(Recorder {
            chunks,
            seen: Mutex::new(Vec::new()),
            fail_at,
        })
    }

    #[test]
    fn every_chunk_runs_exactly_once_on_pool_threads() {
        let pool = WorkerPool::new(3).unwrap();
        let job = recorder(50, None);
        pool.run(job.clone()).unwrap();
        let seen = job.seen.lock().unwrap();
        let mut chunks: Vec<usize> = seen.iter().map(|s| s.0).collect();
        chunks.sort_unstable();
        assert_eq!(chunks, (0..50).collect::<Vec<_>>());
        let threads: HashSet<ThreadId> = seen.iter().map(|s| s.1).collect();
        assert!(!threads.contains(&std::thread::current().id()));
        assert!(threads.len() <= 3);
    }

    #[test]
    fn a_failing_chunk_is_reported_and_the_pool_stays_usable() {
        let pool = WorkerPool::new(2).unwrap();
        assert!(pool.run(recorder(20, Some(7))).is_err());
        let job = recorder(5, None);
        pool.run(job.clone()).unwrap();
        assert_eq!(job.seen.lock().unwrap().len(), 5);
    }

    #[test]
    fn concurrent_submissions_all_complete() {
        let pool = Arc::new(WorkerPool::new(2).unwrap());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let job = recorder(10, None);
                    pool.run(job.clone()).unwrap();
                    let n = job.seen.lock().unwrap().len();
                    n
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 10);
        }
    }

    #[test]
    fn scoped_jobs_run_every_chunk_once_on_the_caller_and_the_workers() {
        let pool = WorkerPool::new(3).unwrap();
        let caller = std::thread::current().id();
        // Borrowed, not 'static: the point of a scoped run.
        let hits: Vec<AtomicUsize> = (0..64).map(|_| AtomicUsize::new(0)).collect();
        let threads = Mutex::new(HashSet::new());
        pool.run_scoped(hits.len(), &|chunk| {
            hits[chunk].fetch_add(1, Ordering::SeqCst);
            threads.lock().unwrap().insert(std::thread::current().id());
            std::thread::sleep(std::time::Duration::from_micros(200));
            Ok(())
        })
        .unwrap();
        assert!(hits.iter().all(|h| h.load(Ordering::SeqCst) == 1));
        let threads = threads.into_inner().unwrap();
        assert!(threads.contains(&caller), "the caller takes part");
        assert!(threads.len() <= 3);
        // One chunk, or the calling-thread variant: everything on the caller.
        let seen = Mutex::new(Vec::new());
        let record = |_| {
            seen.lock().unwrap().push(std::thread::current().id());
            Ok(())
        };
        pool.run_scoped(1, &record).unwrap();
        Workers::CallingThread.run_scoped(5, &record).unwrap();
        assert_eq!(seen.into_inner().unwrap(), vec![caller; 6]);
    }

    #[test]
    fn the_caller_takes_chunks_from_the_front_and_workers_from_the_back() {
        let pool = WorkerPool::new(2).unwrap();
        let caller = std::thread::current().id();
        let order = Mutex::new(Vec::new());
        Workers::Pool(&pool)
            .run_scoped_split(40, &|chunk| {
                order
                    .lock()
                    .unwrap()
                    .push((chunk, std::thread::current().id() == caller));
                std::thread::sleep(std::time::Duration::from_micros(300));
                Ok(())
            })
            .unwrap();
        let order = order.into_inner().unwrap();
        let mut chunks: Vec<usize> = order.iter().map(|&(c, _)| c).collect();
        chunks.sort_unstable();
        assert_eq!(chunks, (0..40).collect::<Vec<_>>());
        // Each side's chunks are consecutive, ascending on the caller's and descending on
        // the workers': the caller's all come before the workers'.
        let mine: Vec<usize> = order.iter().filter(|o| o.1).map(|o| o.0).collect();
        let theirs: Vec<usize> = order.iter().filter(|o| !o.1).map(|o| o.0).collect();
        assert!(mine.windows(2).all(|w| w[1] == w[0] + 1), "{mine:?}");
        assert!(theirs.windows(2).all(|w| w[1] + 1 == w[0]), "{theirs:?}");
        assert!(mine.iter().all(|m| theirs.iter().all(|t| m < t)));
        assert!(scoped_chunks(u32::MAX as usize).is_ok());
        assert!(scoped_chunks(u32::MAX as usize + 1).is_err());
    }

    #[test]
    fn a_panicking_scoped_chunk_fails_the_job_after_every_other_chunk_has_finished() {
        const CHUNKS: usize = 4000;
        let pool = WorkerPool::new(4).unwrap();
        let started = AtomicUsize::new(0);
        let finished = AtomicUsize::new(0);
        // Many more chunks than can run before the failure is seen, even when the panicking
        // thread is descheduled for a while on a loaded machine.
        let result = pool.run_scoped(CHUNKS, &|chunk| {
            started.fetch_add(1, Ordering::SeqCst);
            if chunk == 5 {
                panic!("chunk failed on purpose");
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
            finished.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        assert!(
            matches!(result, Err(RendererError::WorkerFailed)),
            "{result:?}"
        );
        // Nothing is still running the closure once run_scoped has returned.
        let (s, f) = (
            started.load(Ordering::SeqCst),
            finished.load(Ordering::SeqCst),
        );
        assert_eq!(s, f + 1, "{s} started, {f} finished");
        std::thread::sleep(std::time::Duration::from_millis(10));
        assert_eq!(finished.load(Ordering::SeqCst), f);
        assert!(s < CHUNKS, "chunks stopped being handed out");
        // The workers survived the panic.
        let count = AtomicUsize::new(0);
        pool.run_scoped(16, &|_| {
            count.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        assert_eq!(count.load(Ordering::SeqCst), 16);
        let job = recorder(4, None);
        pool.run(job.clone()).unwrap();
        assert_eq!(job.seen.lock().unwrap().len(), 4);
    }

    #[test]
    fn a_scoped_job_completes_on_the_caller_while_the_workers_are_busy() {
        let pool = Arc::new(WorkerPool::new(2).unwrap());
        let release = Arc::new(std::sync::atomic::AtomicBool::new(false));
        struct Blocker(Arc<std::sync::atomic::AtomicBool>);
        impl ChunkedJob for Blocker {
            fn chunk_count(&self) -> usize {
                2
            }
            fn run_chunk(&self, _: usize, _: &mut WorkerMemory) -> Result<(), RendererError> {
                while !self.0.load(Ordering::SeqCst) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Ok(())
            }
        }
        let blocked = {
            let (pool, release) = (pool.clone(), release.clone());
            std::thread::spawn(move || pool.run(Arc::new(Blocker(release))))
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        let count = AtomicUsize::new(0);
        pool.run_scoped(8, &|_| {
            count.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        assert_eq!(count.load(Ordering::SeqCst), 8);
        release.store(true, Ordering::SeqCst);
        blocked.join().unwrap().unwrap();
    }

    #[test]
    fn zero_threads_is_refused() {
        assert!(WorkerPool::new(0).is_err());
    }
}
