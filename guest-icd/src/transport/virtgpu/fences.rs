//! Submission fences of the virtgpu transport. Each `EXECBUFFER` normally returns a sync_file
//! (`VIRTGPU_EXECBUF_FENCE_FD_OUT`) that we keep until the fence is known complete; waiting is
//! `ppoll` on it. Where no fd can be had (fd table full, or `SOFTGPU_VIRTGPU_FENCES=bo`), the
//! submission instead carries a dedicated "timeline" buffer object and waiting is
//! `VIRTGPU_WAIT` on that object.
//!
//! Ordering: without CONTEXT_INIT every fence is on the device-wide timeline and the kernel
//! signals fence N together with every earlier one (`virtio_gpu_fence_event_process`); with
//! CONTEXT_INIT we use one ring, also one ordered timeline. So a completed fence completes every
//! earlier one, and we drop their fds then.
//!
//! Limit: the kernel signals a fence whatever the device answered (it only logs an error
//! response), so a submission the device refused is not visible here. Calls that must answer
//! detect it above the transport: the reply location stays empty and the ICD reports
//! VK_ERROR_DEVICE_LOST ("completed a call without replying"). A device that vanishes (its
//! QEMU backend died) never signals: a wait without timeout then blocks, as on any GPU hang.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::render_node::RenderNode;
use crate::transport::{FenceId, TransportError};

/// Longest sleep between two non-blocking `VIRTGPU_WAIT`s of a bounded wait.
const BO_POLL_MAX_SLEEP: Duration = Duration::from_millis(2);

/// How one pending submission is waited for.
#[derive(Debug, Clone)]
enum Pending {
    SyncFile(Arc<OwnedFd>),
    /// The submission's fence sits on the timeline buffer object.
    TimelineBo,
}

#[derive(Debug)]
pub struct FenceState {
    /// The id the next submission gets; ids start at 1.
    next: FenceId,
    /// Submitted fences not yet known complete, oldest first.
    pending: BTreeMap<FenceId, Pending>,
}

impl FenceState {
    /// Records a submission made under this lock (so ids follow the kernel's submission order).
    pub fn push(&mut self, sync_file: Option<OwnedFd>) -> FenceId {
        let id = self.next;
        self.next += 1;
        let p = match sync_file {
            Some(fd) => Pending::SyncFile(Arc::new(fd)),
            None => Pending::TimelineBo,
        };
        self.pending.insert(id, p);
        id
    }

    /// Forgets every fence up to and including `fence` (ordered completion, module doc).
    fn complete_through(&mut self, fence: FenceId) {
        self.pending = self.pending.split_off(&(fence + 1));
    }

    /// Drops the fds of the completed prefix, so an app that never waits holds few fds.
    pub fn prune_signalled(&mut self) {
        let mut done = None;
        for (&id, p) in &self.pending {
            match p {
                Pending::SyncFile(fd)
                    if poll_sync_file(fd, Some(Duration::ZERO)).unwrap_or(false) =>
                {
                    done = Some(id)
                }
                _ => break,
            }
        }
        if let Some(id) = done {
            self.complete_through(id);
        }
    }
}

/// The fence table; `timeline_bo` is the GEM handle fallback submissions carry.
#[derive(Debug)]
pub struct Fences {
    state: Mutex<FenceState>,
    timeline_bo: u32,
}

impl Fences {
    pub fn new(timeline_bo: u32) -> Fences {
        Fences {
            state: Mutex::new(FenceState {
                next: 1,
                pending: BTreeMap::new(),
            }),
            timeline_bo,
        }
    }

    pub fn timeline_bo(&self) -> u32 {
        self.timeline_bo
    }

    /// The lock a submission holds across its `EXECBUFFER` and [`FenceState::push`].
    pub fn lock(&self) -> MutexGuard<'_, FenceState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`crate::transport::Transport::wait`] for this transport.
    pub fn wait(
        &self,
        node: &RenderNode,
        fence: FenceId,
        timeout_ns: u64,
    ) -> Result<bool, TransportError> {
        let deadline = Instant::now().checked_add(Duration::from_nanos(timeout_ns));
        let pending = {
            let st = self.lock();
            if fence == 0 || fence >= st.next {
                return Err(TransportError::DeviceLost(format!(
                    "fence {fence} was never submitted"
                )));
            }
            match st.pending.get(&fence) {
                None => return Ok(true),
                Some(p) => p.clone(),
            }
        };
        let signalled = match pending {
            Pending::SyncFile(fd) => wait_sync_file(&fd, deadline),
            Pending::TimelineBo => wait_bo(node, self.timeline_bo, deadline),
        }?;
        if signalled {
            self.lock().complete_through(fence);
        }
        Ok(signalled)
    }
}

fn lost(what: &str, e: impl std::fmt::Display) -> TransportError {
    TransportError::DeviceLost(format!("{what}: {e}"))
}

/// Polls a sync_file until it signals or `deadline` (`None`: forever) passes.
fn wait_sync_file(fd: &OwnedFd, deadline: Option<Instant>) -> Result<bool, TransportError> {
    loop {
        let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match poll_sync_file(fd, remaining) {
            Ok(true) => return Ok(true),
            Ok(false) if remaining.is_some_and(|r| r.is_zero()) => return Ok(false),
            Ok(false) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(lost("polling a fence sync_file", e)),
        }
    }
}

/// One `ppoll` for POLLIN (signalled) on a sync_file; `timeout`: `None` waits forever.
fn poll_sync_file(fd: &OwnedFd, timeout: Option<Duration>) -> std::io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(t.subsec_nanos() as i32),
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: one valid pollfd for a live fd; `ts_ptr` is null or points at `ts`, alive for
    // the call; no signal mask is passed.
    let rc = unsafe { libc::ppoll(&mut pfd, 1, ts_ptr, std::ptr::null()) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pfd.revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        return Err(std::io::Error::other(format!(
            "poll revents {:#x}",
            pfd.revents
        )));
    }
    Ok(rc > 0 && pfd.revents & libc::POLLIN != 0)
}

/// Waits on the timeline buffer object: blocking `VIRTGPU_WAIT`s (the kernel gives up after
/// 15 s and we ask again) when unbounded, else non-blocking ones with short sleeps.
fn wait_bo(node: &RenderNode, bo: u32, deadline: Option<Instant>) -> Result<bool, TransportError> {
    let mut sleep = Duration::from_micros(50);
    loop {
        let nowait = deadline.is_some();
        if node
            .wait_bo(bo, nowait)
            .map_err(|e| lost("waiting on the timeline buffer", e))?
        {
            return Ok(true);
        }
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            std::thread::sleep(sleep.min(left));
            sleep = (sleep * 2).min(BO_POLL_MAX_SLEEP);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;
    use std::os::fd::FromRawFd;

    /// A pipe stands in for a sync_file: readable (POLLIN) once written to, as a signalled fence.
    fn pipe() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: fds[0] was just created and is owned by nobody else.
        let r = unsafe { OwnedFd::from_raw_fd(fds[0]) };
        // SAFETY: as for fds[0].
        let w = unsafe { OwnedFd::from_raw_fd(fds[1]) };
        (r, w)
    }

    fn signal(w: &OwnedFd) {
        assert_eq!(
            // SAFETY: writes one byte from a live buffer to a live pipe.
            unsafe { libc::write(w.as_raw_fd(), b"x".as_ptr().cast(), 1) },
            1
        );
    }

    #[test]
    fn unsignalled_sync_file_times_out_and_signalled_one_completes() {
        let (r, w) = pipe();
        assert!(!poll_sync_file(&r, Some(Duration::ZERO)).unwrap());
        assert!(!wait_sync_file(&r, Some(Instant::now() + Duration::from_millis(5))).unwrap());
        signal(&w);
        assert!(wait_sync_file(&r, None).unwrap());
    }

    #[test]
    fn completing_a_fence_completes_every_earlier_one() {
        let mut st = FenceState {
            next: 1,
            pending: BTreeMap::new(),
        };
        let ids: Vec<_> = (0..4).map(|_| st.push(Some(pipe().0))).collect();
        assert_eq!(ids, [1, 2, 3, 4]);
        st.complete_through(3);
        assert_eq!(st.pending.keys().copied().collect::<Vec<_>>(), [4]);
    }

    #[test]
    fn pruning_stops_at_the_first_unsignalled_fence() {
        let mut st = FenceState {
            next: 1,
            pending: BTreeMap::new(),
        };
        let (r1, w1) = pipe();
        let (r2, _w2) = pipe();
        let (r3, w3) = pipe();
        signal(&w1);
        signal(&w3);
        for r in [r1, r2, r3] {
            st.push(Some(r));
        }
        st.prune_signalled();
        assert_eq!(st.pending.keys().copied().collect::<Vec<_>>(), [2, 3]);
    }
}
