//! The worker pool: one thread per core, each owning the per-thread memory a kernel call needs
//! (workgroup memory, scratch), reused across dispatches.
//!
//! A job is split into numbered chunks; the workers it is given take chunk numbers from a shared
//! counter until none are left, so uneven chunks (a mandelbrot row near the set) balance out.
//! Threads block on their channel between jobs; nothing spins.

use std::sync::atomic::{AtomicUsize, Ordering};
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

struct Worker {
    sender: Option<Sender<Arc<Batch>>>,
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
            let (sender, receiver) = mpsc::channel::<Arc<Batch>>();
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
            let sent = worker.sender.as_ref().map(|s| s.send(batch.clone()));
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
}

fn worker_main(receiver: Receiver<Arc<Batch>>) {
    let mut memory = WorkerMemory::default();
    while let Ok(batch) = receiver.recv() {
        let departure = Departure(&batch);
        batch.work(&mut memory);
        drop(departure);
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
    fn zero_threads_is_refused() {
        assert!(WorkerPool::new(0).is_err());
    }
}
