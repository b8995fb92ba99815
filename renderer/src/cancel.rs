//! Cancelling work a thread has started: the device's queue thread runs a client's submission
//! inside [`cancellable`], and every worker-pool job started from that thread stops handing
//! out chunks once the check says so (the client went away, or the device was reset). A chunk
//! already running finishes; the job then fails with [`RendererError::Cancelled`].
//!
//! A thread-local keeps the check out of every signature between the queue thread and the
//! pool (executor, dispatch, copies), the way a task's cancellation scope works.
//!
//! [`RendererError::Cancelled`]: crate::RendererError::Cancelled

use std::cell::RefCell;
use std::sync::Arc;

/// Says whether the work should stop. Called by workers between chunks: keep it cheap.
pub type CancelCheck = Arc<dyn Fn() -> bool + Send + Sync>;

thread_local! {
    static CURRENT: RefCell<Option<CancelCheck>> = const { RefCell::new(None) };
}

/// Runs `f` with `check` as this thread's cancellation check (restored afterwards, also if
/// `f` unwinds).
pub fn cancellable<R>(check: CancelCheck, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<CancelCheck>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|c| c.borrow_mut().replace(check));
    let _restore = Restore(previous);
    f()
}

/// This thread's cancellation check, if it runs inside [`cancellable`].
pub(crate) fn current() -> Option<CancelCheck> {
    CURRENT.with(|c| c.borrow().clone())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use crate::error::RendererError;
    use crate::pool::{ChunkedJob, WorkerMemory, WorkerPool};

    /// Counts the chunks it ran; raises the flag after `stop_after` of them.
    struct Counting {
        ran: AtomicUsize,
        stop_after: usize,
        flag: Arc<AtomicBool>,
    }

    impl ChunkedJob for Counting {
        fn chunk_count(&self) -> usize {
            10_000
        }
        fn run_chunk(&self, _: usize, _: &mut WorkerMemory) -> Result<(), RendererError> {
            if self.ran.fetch_add(1, Ordering::SeqCst) + 1 == self.stop_after {
                self.flag.store(true, Ordering::SeqCst);
            }
            std::thread::sleep(std::time::Duration::from_micros(50));
            Ok(())
        }
    }

    #[test]
    fn a_cancelled_job_stops_handing_out_chunks_and_fails() {
        let pool = WorkerPool::new(2).unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let job = Arc::new(Counting {
            ran: AtomicUsize::new(0),
            stop_after: 20,
            flag: flag.clone(),
        });
        let check: CancelCheck = {
            let flag = flag.clone();
            Arc::new(move || flag.load(Ordering::SeqCst))
        };
        let result = cancellable(check, || pool.run(job.clone()));
        assert!(
            matches!(result, Err(RendererError::Cancelled)),
            "{result:?}"
        );
        let ran = job.ran.load(Ordering::SeqCst);
        // The flag rose at chunk 20; each worker may finish the chunk it had started.
        assert!((20..=22).contains(&ran), "ran {ran} chunks");

        // Outside `cancellable` the check is gone: the same job runs to the end.
        flag.store(true, Ordering::SeqCst);
        let job = Arc::new(Counting {
            ran: AtomicUsize::new(0),
            stop_after: usize::MAX,
            flag,
        });
        pool.run(job.clone()).unwrap();
        assert_eq!(job.ran.load(Ordering::SeqCst), 10_000);
    }

    #[test]
    fn a_cancelled_scoped_job_stops_handing_out_chunks_and_fails() {
        let pool = WorkerPool::new(2).unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let ran = AtomicUsize::new(0);
        let job = |_| {
            if ran.fetch_add(1, Ordering::SeqCst) + 1 == 20 {
                flag.store(true, Ordering::SeqCst);
            }
            std::thread::sleep(std::time::Duration::from_micros(50));
            Ok(())
        };
        let check: CancelCheck = {
            let flag = flag.clone();
            Arc::new(move || flag.load(Ordering::SeqCst))
        };
        let result = cancellable(check, || pool.run_scoped(10_000, &job));
        assert!(
            matches!(result, Err(RendererError::Cancelled)),
            "{result:?}"
        );
        let n = ran.load(Ordering::SeqCst);
        assert!((20..=22).contains(&n), "ran {n} chunks");
    }
}
