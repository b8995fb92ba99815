//! The vhost-user backend for virtio-gpu (device id 16): queues, features and config space,
//! and the queue loop that copies each request out of guest memory, runs it on
//! [`VirtioGpu`] and writes the response back (VIRTIO 1.2 §5.7).
//!
//! One backend serves one frontend connection; dropping it (after its daemon) releases every
//! context, resource and view that frontend owned.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use thiserror::Error;
use vhost::vhost_user::message::{VhostUserProtocolFeatures, VhostUserVirtioFeatures};
use vhost::vhost_user::GpuBackend;
use vhost_user_backend::{VhostUserBackend, VringRwLock, VringT};
use virtio_bindings::virtio_config::{VIRTIO_F_RING_RESET, VIRTIO_F_VERSION_1};
use virtio_bindings::virtio_gpu as vg;
use virtio_bindings::virtio_ring::{VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC};
use virtio_queue::{DescriptorChain, QueueT};
use vm_memory::{GuestAddressSpace, GuestMemoryAtomic, GuestMemoryLoadGuard, GuestMemoryMmap};
use vmm_sys_util::epoll::EventSet;
use vmm_sys_util::event::{
    new_event_consumer_and_notifier, EventConsumer, EventFlag, EventNotifier,
};

use crate::gpu::device::{Features, Processed, QueuedSubmit};
use crate::gpu::wire::{self, HDR_SIZE};
use crate::gpu::{GpuError, VirtioGpu, NUM_SCANOUTS};

/// The request cap with the default stream limit (64 MiB): a smaller `--max-stream-size` limits
/// streams, not the backing lists of memory requests.
const MIN_REQUEST_CAP: usize = 64 << 20;

/// virtio-gpu's queues: control and cursor.
pub const CONTROL_QUEUE: u16 = 0;
pub const CURSOR_QUEUE: u16 = 1;
const NUM_QUEUES: usize = 2;
const MAX_QUEUE_SIZE: usize = 1024;

type Memory = GuestMemoryAtomic<GuestMemoryMmap<()>>;

#[derive(Debug, Error)]
pub enum BackendError {
    #[error("unexpected event set {0:?}")]
    UnexpectedEvents(EventSet),
    #[error("event for unknown queue {0}")]
    UnknownQueue(u16),
    #[error("no guest memory table yet")]
    NoMemory,
    #[error("virtqueue: {0}")]
    Queue(#[from] virtio_queue::Error),
    #[error("signalling the used queue: {0}")]
    Signal(std::io::Error),
    #[error("starting the submission queue thread: {0}")]
    QueueThread(std::io::Error),
    #[error("the submission queue thread is gone")]
    QueueGone,
}

impl From<BackendError> for std::io::Error {
    fn from(e: BackendError) -> std::io::Error {
        std::io::Error::other(e)
    }
}

/// The backend of one frontend connection.
type Chain = DescriptorChain<GuestMemoryLoadGuard<GuestMemoryMmap<()>>>;

/// Work for the queue thread.
enum Job {
    Submit(QueuedSubmit),
    /// The response to a fenced request that arrived while submissions were queued. The
    /// request itself ran at once, in control-queue order (the unfenced request that follows
    /// it — ATTACH_BACKING after RESOURCE_CREATE_3D — must find its effect); only its
    /// completion waits behind the submissions, so that fences complete in order (Linux treats
    /// fence N as signalling all earlier ones).
    Respond(Vec<u8>),
}

struct QueuedJob {
    job: Job,
    chain: Chain,
    vring: VringRwLock,
    /// The device epoch it was queued in; a reset or the end of the session bumps the epoch
    /// and so cancels what is still queued.
    epoch: u64,
}

/// The queue thread: runs `SUBMIT_3D`s (and fenced requests queued behind them) in order, off
/// the control queue, and completes their descriptors — so the control queue keeps serving
/// (memory allocation, other commands) while shaders run.
struct SubmitQueue {
    sender: Option<Sender<QueuedJob>>,
    thread: Option<JoinHandle<()>>,
}

pub struct VirtioGpuBackend {
    gpu: Arc<Mutex<VirtioGpu>>,
    queue: Mutex<SubmitQueue>,
    /// Jobs queued and not yet completed.
    pending: Arc<AtomicUsize>,
    epoch: Arc<AtomicU64>,
    /// When the frontend first set the device's features (QEMU does so when the guest driver
    /// starts the device, right before it sends the memory table).
    features_acked_at: Mutex<Option<std::time::Instant>>,
    mem: Mutex<Option<Memory>>,
    event_idx: AtomicBool,
    /// Whether any request was ever found in a queue, and when a kick first found every ring
    /// empty before that. QEMU kicks each queue as it starts the device, and the driver's first
    /// request follows within milliseconds; a guest whose rings stay empty in the device's
    /// view of its RAM for seconds after a kick is writing to memory the device does not see
    /// (QEMU with a memfd backend without share=on sends a memory table but maps RAM private;
    /// Linux's driver, with EVENT_IDX, kicks for its first request only). The session's
    /// memory watch (server.rs) warns.
    seen_request: AtomicBool,
    first_empty_kick: Mutex<Option<std::time::Instant>>,
    unshared_warned: AtomicBool,
    /// Read ends of the worker exit events. vhost-user-backend registers each in its epoll with
    /// `into_raw_fd` and never closes it; [`VirtioGpuBackend::close_exit_events`] does, once
    /// the daemon (and so its worker threads) is gone.
    exit_fds: Mutex<Vec<RawFd>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock is a bug already logged; the state stays usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl VirtioGpuBackend {
    pub fn new(gpu: VirtioGpu) -> VirtioGpuBackend {
        VirtioGpuBackend {
            gpu: Arc::new(Mutex::new(gpu)),
            queue: Mutex::new(SubmitQueue {
                sender: None,
                thread: None,
            }),
            pending: Arc::new(AtomicUsize::new(0)),
            epoch: Arc::new(AtomicU64::new(0)),
            features_acked_at: Mutex::new(None),
            mem: Mutex::new(None),
            event_idx: AtomicBool::new(false),
            seen_request: AtomicBool::new(false),
            first_empty_kick: Mutex::new(None),
            unshared_warned: AtomicBool::new(false),
            exit_fds: Mutex::new(Vec::new()),
        }
    }

    /// Locks the device model (tests and the server read its counts).
    pub fn gpu(&self) -> MutexGuard<'_, VirtioGpu> {
        lock(&self.gpu)
    }

    /// True once the frontend has sent its guest memory table (VHOST_USER_SET_MEM_TABLE).
    pub fn has_memory_table(&self) -> bool {
        lock(&self.mem).is_some()
    }

    /// True if the guest kept kicking queues whose rings stayed empty in the device's view of
    /// its RAM (a warning saying what is probably wrong was logged).
    pub fn guest_memory_unshared(&self) -> bool {
        self.unshared_warned.load(Ordering::SeqCst)
    }

    /// Notes a kick that found nothing to do before any request was ever seen.
    fn note_empty_kick(&self) {
        if self.seen_request.load(Ordering::SeqCst) {
            return;
        }
        let first = *lock(&self.first_empty_kick).get_or_insert_with(std::time::Instant::now);
        log::debug!(
            "kick on empty rings before any request, {:?} after the first",
            first.elapsed()
        );
    }

    /// How long ago a kick first found every ring empty, if no request was ever seen.
    pub fn kicked_unanswered_for(&self) -> Option<std::time::Duration> {
        if self.seen_request.load(Ordering::SeqCst) {
            return None;
        }
        lock(&self.first_empty_kick).map(|t| t.elapsed())
    }

    /// Says, once, that the guest's RAM is probably not shared with the device.
    pub fn warn_guest_memory_unshared(&self) {
        if self.unshared_warned.swap(true, Ordering::SeqCst) {
            return;
        }
        log::warn!(
            "the guest kicked the device {:?} ago but its queues are still empty in the \
             device's view of guest RAM: the frontend's guest RAM is probably not shared with \
             the device (QEMU: a memory backend without share=on maps it private). Use \
             `-object memory-backend-memfd,id=mem,size=<RAM>,share=on -machine memory-backend=mem`",
            self.kicked_unanswered_for().unwrap_or_default()
        );
    }

    /// How long ago the frontend set the device's features while still sending no memory
    /// table; `None` if it has not set features yet or has sent the table.
    pub fn waiting_for_memory_table(&self) -> Option<std::time::Duration> {
        if self.has_memory_table() {
            return None;
        }
        lock(&self.features_acked_at).map(|t| t.elapsed())
    }

    /// Cancels what is still queued, lets the running submission finish, and stops the queue
    /// thread (the session is over: nobody reads its responses any more).
    pub fn stop_queue(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let (sender, thread) = {
            let mut q = lock(&self.queue);
            (q.sender.take(), q.thread.take())
        };
        drop(sender);
        if let Some(t) = thread {
            if t.join().is_err() {
                log::error!("the submission queue thread panicked");
            }
        }
    }

    fn enqueue(&self, job: Job, chain: Chain, vring: &VringRwLock) -> Result<(), BackendError> {
        let mut q = lock(&self.queue);
        if q.sender.is_none() {
            let (tx, rx) = mpsc::channel();
            let (pending, epoch) = (self.pending.clone(), self.epoch.clone());
            let thread = std::thread::Builder::new()
                .name("softgpu-queue".into())
                .spawn(move || queue_main(rx, pending, epoch))
                .map_err(BackendError::QueueThread)?;
            q.sender = Some(tx);
            q.thread = Some(thread);
        }
        let queued = QueuedJob {
            job,
            chain,
            vring: vring.clone(),
            epoch: self.epoch.load(Ordering::SeqCst),
        };
        self.pending.fetch_add(1, Ordering::SeqCst);
        let sent = q.sender.as_ref().map(|s| s.send(queued));
        if !matches!(sent, Some(Ok(()))) {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            return Err(BackendError::QueueGone);
        }
        Ok(())
    }

    /// Closes the exit-event fds vhost-user-backend leaked.
    ///
    /// # Safety
    /// Call only after the `VhostUserDaemon` that used this backend has been dropped (its
    /// worker threads joined), so that nothing uses those fds any more.
    pub unsafe fn close_exit_events(&self) {
        for fd in lock(&self.exit_fds).drain(..) {
            // SAFETY: the fd came from our `exit_event`, was leaked by vhost-user-backend's
            // `into_raw_fd` and its only user (the joined epoll thread) is gone (caller's
            // contract): we are its sole owner.
            drop(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }

    /// The largest request (readable part of a chain) we copy out: a whole `SUBMIT_3D` plus
    /// its header; anything larger is refused unread. Never less than [`MIN_REQUEST_CAP`]:
    /// `ATTACH_BACKING` and `RESOURCE_CREATE_BLOB` list an allocation page by page (a 64 MiB
    /// block of scattered pages takes 256 KiB of entries), whatever `--max-stream-size` says.
    fn max_request(&self) -> usize {
        let stream = self.gpu().decode_limits().max_stream_size as usize;
        stream.max(MIN_REQUEST_CAP) + HDR_SIZE + 8
    }

    /// Serves a kicked queue until it is empty.
    fn serve_queue(&self, vring: &VringRwLock) -> Result<(), BackendError> {
        if !self.seen_request.load(Ordering::SeqCst) && !self.ring_has_requests(vring) {
            self.note_empty_kick();
        }
        if !self.event_idx.load(Ordering::Relaxed) {
            return self.process_queue(vring);
        }
        // VIRTIO 1.2 §2.7.10: re-check after re-enabling notifications so no request is left
        // behind between the last pop and the enable.
        loop {
            vring.disable_notification()?;
            self.process_queue(vring)?;
            if !vring.enable_notification()? {
                return Ok(());
            }
        }
    }

    /// Whether the avail ring, as the device sees guest RAM, holds requests not yet taken.
    fn ring_has_requests(&self, vring: &VringRwLock) -> bool {
        let Some(atomic) = lock(&self.mem).clone() else {
            return false;
        };
        let mem = atomic.memory();
        let q = vring.get_ref();
        let queue = q.get_queue();
        queue
            .avail_idx(&*mem, Ordering::Acquire)
            .is_ok_and(|idx| idx.0 != queue.next_avail())
    }

    fn process_queue(&self, vring: &VringRwLock) -> Result<(), BackendError> {
        let atomic = lock(&self.mem).clone().ok_or(BackendError::NoMemory)?;
        let mem = atomic.memory();
        let mut used = false;
        loop {
            // The chain iterator bounds every walk (virtio-queue's ttl = queue size).
            let Some(chain) = vring
                .get_mut()
                .get_queue_mut()
                .pop_descriptor_chain(mem.clone())
            else {
                break;
            };
            self.seen_request.store(true, Ordering::SeqCst);
            let head = chain.head_index();
            if let Some(written) = self.process_chain(&mem, chain, vring)? {
                vring.add_used(head, written)?;
                used = true;
            }
        }
        if used {
            vring.signal_used_queue().map_err(BackendError::Signal)?;
        }
        Ok(())
    }

    /// Runs one request; returns the number of response bytes written, or `None` if the
    /// request went to the queue thread (which completes it).
    fn process_chain(
        &self,
        mem: &GuestMemoryLoadGuard<GuestMemoryMmap<()>>,
        chain: Chain,
        vring: &VringRwLock,
    ) -> Result<Option<u32>, BackendError> {
        let request = match self.read_request(mem, chain.clone()) {
            Ok(r) => r,
            Err(e) => {
                log::debug!("virtio-gpu request refused: {e}");
                let resp = wire::encode_response(&Default::default(), &Err(e));
                return Ok(Some(write_response(mem, chain, &resp)));
            }
        };
        let fenced = wire::decode_header(&request).is_ok_and(|h| h.fenced());
        let processed = self.gpu().process_deferred(&**mem, &request);
        match processed {
            Processed::Done(resp) if fenced && self.pending.load(Ordering::SeqCst) > 0 => {
                self.enqueue(Job::Respond(resp), chain, vring)?;
                Ok(None)
            }
            Processed::Done(resp) => Ok(Some(write_response(mem, chain, &resp))),
            Processed::Queued(submit) => {
                self.enqueue(Job::Submit(submit), chain, vring)?;
                Ok(None)
            }
        }
    }

    fn read_request(
        &self,
        mem: &GuestMemoryLoadGuard<GuestMemoryMmap<()>>,
        chain: DescriptorChain<GuestMemoryLoadGuard<GuestMemoryMmap<()>>>,
    ) -> Result<Vec<u8>, GpuError> {
        let reader = chain
            .reader(&**mem)
            .map_err(|e| GpuError::InvalidParameter(format!("request descriptors: {e}")))?;
        let cap = self.max_request();
        if reader.available_bytes() > cap {
            return Err(GpuError::InvalidParameter(format!(
                "request of {} bytes exceeds {cap}",
                reader.available_bytes()
            )));
        }
        let mut bytes = Vec::new();
        reader
            .take(cap as u64)
            .read_to_end(&mut bytes)
            .map_err(|e| GpuError::InvalidParameter(format!("reading the request: {e}")))?;
        Ok(bytes)
    }
}

fn queue_main(jobs: Receiver<QueuedJob>, pending: Arc<AtomicUsize>, epoch: Arc<AtomicU64>) {
    while let Ok(q) = jobs.recv() {
        let QueuedJob {
            job,
            chain,
            vring,
            epoch: queued_in,
        } = q;
        let current = || queued_in == epoch.load(Ordering::SeqCst);
        if current() {
            let resp = match job {
                Job::Submit(submit) => {
                    // A reset or the end of the session while it runs stops its dispatches
                    // between chunks instead of letting them run to the end for nobody.
                    let epoch = epoch.clone();
                    let cancelled: renderer::cancel::CancelCheck =
                        Arc::new(move || epoch.load(Ordering::SeqCst) != queued_in);
                    renderer::cancel::cancellable(cancelled, || submit.run())
                }
                Job::Respond(resp) => resp,
            };
            // A reset or the end of the session while it ran: the ring is not ours any more.
            if current() {
                let head = chain.head_index();
                let written = write_response(chain.memory(), chain.clone(), &resp);
                let done = vring
                    .add_used(head, written)
                    .map_err(BackendError::Queue)
                    .and_then(|()| vring.signal_used_queue().map_err(BackendError::Signal));
                if let Err(e) = done {
                    log::warn!("completing a queued virtio-gpu request: {e}");
                }
            }
        }
        pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Writes `resp` into the chain's writable descriptors; returns the bytes written (a response
/// that does not fit is truncated: the driver gave too little room).
fn write_response(mem: &GuestMemoryMmap<()>, chain: Chain, resp: &[u8]) -> u32 {
    let mut writer = match chain.writer(mem) {
        Ok(w) => w,
        Err(e) => {
            log::debug!("virtio-gpu response descriptors: {e}");
            return 0;
        }
    };
    let n = resp.len().min(writer.available_bytes());
    if n < resp.len() {
        log::debug!(
            "virtio-gpu response of {} bytes truncated to {n}",
            resp.len()
        );
    }
    match writer.write_all(&resp[..n]) {
        Ok(()) => n as u32,
        Err(e) => {
            log::debug!("writing a virtio-gpu response: {e}");
            writer.bytes_written() as u32
        }
    }
}

/// `struct virtio_gpu_config`: events_read, events_clear, num_scanouts, num_capsets.
fn config_space() -> [u8; 16] {
    let mut c = [0u8; 16];
    c[8..12].copy_from_slice(&NUM_SCANOUTS.to_le_bytes());
    c[12..16].copy_from_slice(&1u32.to_le_bytes());
    c
}

impl VhostUserBackend for VirtioGpuBackend {
    type Bitmap = ();
    type Vring = VringRwLock;

    fn num_queues(&self) -> usize {
        NUM_QUEUES
    }

    fn max_queue_size(&self) -> usize {
        MAX_QUEUE_SIZE
    }

    fn features(&self) -> u64 {
        // DESIGN §3: VIRGL is what lets the Linux driver accept EXECBUFFER; stock QEMU passes
        // only VIRGL, EDID and RESOURCE_UUID on, newer VMMs CONTEXT_INIT and blobs too.
        (1 << VIRTIO_F_VERSION_1)
            | (1 << VIRTIO_RING_F_EVENT_IDX)
            | (1 << VIRTIO_RING_F_INDIRECT_DESC)
            | (1 << vg::VIRTIO_GPU_F_VIRGL)
            | (1 << vg::VIRTIO_GPU_F_EDID)
            | (1 << vg::VIRTIO_GPU_F_RESOURCE_UUID)
            | (1 << vg::VIRTIO_GPU_F_CONTEXT_INIT)
            | (1 << vg::VIRTIO_GPU_F_RESOURCE_BLOB)
            // QEMU 10.0.2's vhost-user-gpu-pci (queue_reset=on, its default) acks RING_RESET in
            // SET_FEATURES whether or not the backend offered it, and vhost-user-backend
            // refuses any acked bit outside the offer — which ends the session at VM start.
            // A per-queue reset (VIRTIO 1.2 §2.6.1; Linux's virtio-gpu never does one) reaches
            // a vhost-user backend as the ordinary vring stop/restart messages.
            | (1 << VIRTIO_F_RING_RESET)
            | VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits()
    }

    fn acked_features(&self, features: u64) {
        lock(&self.features_acked_at).get_or_insert_with(std::time::Instant::now);
        self.gpu().set_features(Features {
            context_init: features & (1 << vg::VIRTIO_GPU_F_CONTEXT_INIT) != 0,
            resource_blob: features & (1 << vg::VIRTIO_GPU_F_RESOURCE_BLOB) != 0,
        });
    }

    fn protocol_features(&self) -> VhostUserProtocolFeatures {
        VhostUserProtocolFeatures::CONFIG
            | VhostUserProtocolFeatures::MQ
            | VhostUserProtocolFeatures::REPLY_ACK
            // A VM reset then drops the old guest's resources and contexts.
            | VhostUserProtocolFeatures::RESET_DEVICE
    }

    fn reset_device(&self) {
        // Queued work of the old guest is cancelled (its ring is being reset).
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.gpu().reset();
    }

    fn set_event_idx(&self, enabled: bool) {
        self.event_idx.store(enabled, Ordering::Relaxed);
    }

    fn get_config(&self, offset: u32, size: u32) -> Vec<u8> {
        let c = config_space();
        let start = (offset as usize).min(c.len());
        let end = start.saturating_add(size as usize).min(c.len());
        c[start..end].to_vec()
    }

    fn update_memory(&self, mem: Memory) -> std::io::Result<()> {
        *lock(&self.mem) = Some(mem);
        Ok(())
    }

    fn set_gpu_socket(&self, gpu_backend: GpuBackend) -> std::io::Result<()> {
        // QEMU hands over its display channel on DRIVER_OK: scanouts and the cursor go there.
        self.gpu().set_display(Box::new(gpu_backend));
        Ok(())
    }

    fn exit_event(&self, _thread_index: usize) -> Option<(EventConsumer, EventNotifier)> {
        let (consumer, notifier) =
            new_event_consumer_and_notifier(EventFlag::NONBLOCK | EventFlag::CLOEXEC).ok()?;
        use std::os::fd::AsRawFd;
        lock(&self.exit_fds).push(consumer.as_raw_fd());
        Some((consumer, notifier))
    }

    fn handle_event(
        &self,
        device_event: u16,
        evset: EventSet,
        vrings: &[VringRwLock],
        _thread_id: usize,
    ) -> std::io::Result<()> {
        if evset != EventSet::IN {
            return Err(BackendError::UnexpectedEvents(evset).into());
        }
        let vring = match device_event {
            CONTROL_QUEUE | CURSOR_QUEUE => vrings
                .get(device_event as usize)
                .ok_or(BackendError::UnknownQueue(device_event))?,
            other => return Err(BackendError::UnknownQueue(other).into()),
        };
        // A queue error (no memory table yet, a used ring outside guest memory) stops this
        // queue's batch, but stays here: returned, it would end the worker thread and with it
        // both queues for the rest of the connection.
        if let Err(e) = self.serve_queue(vring) {
            log::warn!("virtio-gpu queue {device_event}: {e}");
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn config_space_reports_one_scanout_and_one_capset() {
        let c = config_space();
        assert_eq!(u32::from_le_bytes(c[8..12].try_into().unwrap()), 1);
        assert_eq!(u32::from_le_bytes(c[12..16].try_into().unwrap()), 1);
    }
}
