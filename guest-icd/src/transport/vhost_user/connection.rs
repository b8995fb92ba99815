//! [`VhostUserGpu`]: one vhost-user connection to a virtio-gpu device, with guest RAM, the
//! control and cursor queues, and a completion thread. This is the raw layer, what a guest
//! kernel's virtio-gpu driver core does: it sends requests and hands back responses; it knows
//! nothing of contexts or Vulkan. Public so that tests can play a hostile frontend.
//!
//! Threads: any number of app threads submit and wait; one completion thread per connection
//! sleeps on the control queue's call eventfd (and on the socket, to notice the device dying),
//! drains the used ring and wakes waiters through a condvar.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use vhost::vhost_user::Frontend;
use vm_memory::{Bytes, GuestAddress};
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

use super::frontend::{self, FeatureOptions, Negotiated, VringSetup};
use super::gpu_commands::{self, CTRL_HDR_SIZE, RESP_ERR_FIRST};
use super::guest_ram::{GuestBuffer, GuestRam, GUEST_RAM_BASE};
use super::page_allocator::PageRun;
use super::virtqueue::{Descriptor, QueueLayout, RawDescriptor, SplitQueue};
use crate::transport::{FenceId, TransportError};

pub const CONTROL_QUEUE_SIZE: u16 = 256;
pub const CURSOR_QUEUE_SIZE: u16 = 16;
/// How long a synchronous control request may take before the device counts as hung.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Room reserved in front of a fenced submission's data for its header (`virtio_gpu_cmd_submit`).
const SUBMIT_HEADER_ROOM: usize = 32;

/// What happens when a chain comes back.
enum Completion {
    /// A caller blocks in [`VhostUserGpu::call`] / [`VhostUserGpu::send_chain`] on this ticket.
    Reply(u64),
    /// A fenced submission: the fence completes; an error response loses the device.
    Fence(FenceId),
    /// A RESOURCE_UNREF: the device is done with the pages, they may be reused.
    FreePages(Vec<PageRun>),
}

struct InFlight {
    buffer: Option<GuestBuffer>,
    response: Option<(u64, u32)>,
    completion: Completion,
}

/// A finished [`VhostUserGpu::send_chain`] / [`VhostUserGpu::call`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The response buffer's contents (all of it, whatever `written` claims).
    pub response: Vec<u8>,
    /// Bytes the device said it wrote (the used element's `len`; untrusted).
    pub written: u32,
}

struct ControlState {
    queue: SplitQueue,
    in_flight: HashMap<u16, InFlight>,
    /// Tickets someone is still waiting for; a reply to an abandoned ticket is dropped.
    waiting: HashSet<u64>,
    replies: HashMap<u64, Reply>,
    next_ticket: u64,
    last_fence: FenceId,
    outstanding_fences: BTreeSet<FenceId>,
    lost: Option<String>,
}

struct Shared {
    ram: GuestRam,
    control: Mutex<ControlState>,
    changed: Condvar,
    control_kick: EventFd,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ControlState> {
        // A panic while holding the lock is a bug of ours; the state is still the last
        // consistent one each step left, and refusing every later call would be worse.
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct VhostUserGpu {
    shared: Arc<Shared>,
    negotiated: Negotiated,
    sock_fd: i32,
    stop: EventFd,
    completion_thread: Option<JoinHandle<()>>,
    // Kept alive for the connection's life: the device holds duplicates of these eventfds,
    // and the socket closing is what tells the device we are gone.
    _cursor_kick: EventFd,
    _cursor_call: EventFd,
    _frontend: Frontend,
}

fn host_err(what: &str) -> impl Fn(std::io::Error) -> TransportError + '_ {
    move |e| TransportError::OutOfHostMemory(format!("{what}: {e}"))
}

impl VhostUserGpu {
    /// Brings up a device on `stream`: negotiation, guest RAM of `ram_bytes`, both queues.
    pub fn connect(
        stream: UnixStream,
        options: FeatureOptions,
        ram_bytes: u64,
    ) -> Result<VhostUserGpu, TransportError> {
        let ram =
            GuestRam::new(ram_bytes).map_err(|e| TransportError::OutOfHostMemory(e.to_string()))?;
        let sock_fd = stream.as_raw_fd();
        let mut fe = Frontend::from_stream(stream, 2);
        let negotiated = frontend::negotiate(&mut fe, options)?;

        let (control_layout, control_bytes) = QueueLayout::new(CONTROL_QUEUE_SIZE, GUEST_RAM_BASE)
            .map_err(|e| TransportError::Unavailable(e.to_string()))?;
        let (cursor_layout, _) =
            QueueLayout::new(CURSOR_QUEUE_SIZE, GUEST_RAM_BASE + control_bytes)
                .map_err(|e| TransportError::Unavailable(e.to_string()))?;
        let control = SplitQueue::new(control_layout, ram.memory())
            .map_err(|e| TransportError::Unavailable(e.to_string()))?;
        SplitQueue::new(cursor_layout, ram.memory())
            .map_err(|e| TransportError::Unavailable(e.to_string()))?;

        let eventfd = || EventFd::new(EFD_NONBLOCK).map_err(host_err("eventfd"));
        let (control_kick, control_call, cursor_kick, cursor_call, stop) =
            (eventfd()?, eventfd()?, eventfd()?, eventfd()?, eventfd()?);
        frontend::start(
            &mut fe,
            &ram,
            &[
                VringSetup {
                    index: 0,
                    layout: control_layout,
                    kick: &control_kick,
                    call: &control_call,
                },
                VringSetup {
                    index: 1,
                    layout: cursor_layout,
                    kick: &cursor_kick,
                    call: &cursor_call,
                },
            ],
        )?;

        let shared = Arc::new(Shared {
            ram,
            control: Mutex::new(ControlState {
                queue: control,
                in_flight: HashMap::new(),
                waiting: HashSet::new(),
                replies: HashMap::new(),
                next_ticket: 1,
                last_fence: 0,
                outstanding_fences: BTreeSet::new(),
                lost: None,
            }),
            changed: Condvar::new(),
            control_kick,
        });
        let thread_shared = Arc::clone(&shared);
        let thread_stop = stop.try_clone().map_err(host_err("eventfd"))?;
        let completion_thread = std::thread::Builder::new()
            .name("softgpu-vq".into())
            .spawn(move || completion_loop(&thread_shared, &control_call, &thread_stop, sock_fd))
            .map_err(host_err("spawning the completion thread"))?;
        Ok(VhostUserGpu {
            shared,
            negotiated,
            sock_fd,
            stop,
            completion_thread: Some(completion_thread),
            _cursor_kick: cursor_kick,
            _cursor_call: cursor_call,
            _frontend: fe,
        })
    }

    pub fn negotiated(&self) -> Negotiated {
        self.negotiated
    }

    /// The vhost-user socket (tests: shut it down to play a dying device).
    pub fn socket_fd(&self) -> i32 {
        self.sock_fd
    }

    /// Guest RAM, for tests that build hostile requests and for memory blocks.
    pub fn guest_ram(&self) -> &GuestRam {
        &self.shared.ram
    }

    /// Why the device is lost, if it is.
    pub fn lost(&self) -> Option<String> {
        self.shared.lock().lost.clone()
    }

    /// Sends `request` (one readable descriptor) with a `response_len`-byte writable one and
    /// waits for the device's answer.
    pub fn send_raw(&self, request: &[u8], response_len: usize) -> Result<Vec<u8>, TransportError> {
        Ok(self.call(&[request], response_len)?.response)
    }

    /// Sends a request made of `parts` (one readable descriptor each, as the kernel splits a
    /// header from its data) and waits for the response.
    pub fn call(&self, parts: &[&[u8]], response_len: usize) -> Result<Reply, TransportError> {
        let mut ticket = 0;
        self.submit_parts(parts, response_len, |st| {
            ticket = st.next_ticket;
            st.next_ticket += 1;
            st.waiting.insert(ticket);
            Ok((Completion::Reply(ticket), None))
        })?;
        self.wait_reply(ticket, CALL_TIMEOUT)?.ok_or_else(|| {
            TransportError::DeviceLost(format!("no response within {CALL_TIMEOUT:?}"))
        })
    }

    /// Sends `request` without waiting; the device's response is only checked for errors.
    /// When it returns, `free_pages` go back to guest RAM (for RESOURCE_UNREF).
    pub fn send_then_free(
        &self,
        request: &[u8],
        free_pages: Vec<PageRun>,
    ) -> Result<(), TransportError> {
        self.submit_parts(&[request], CTRL_HDR_SIZE, move |_| {
            Ok((Completion::FreePages(free_pages), None))
        })
    }

    /// A fenced submission: `header(fence_id)` builds the request header once the fence id
    /// (one increasing timeline) is known; `data` follows in its own descriptor.
    pub fn submit_fenced(
        &self,
        header: impl FnOnce(FenceId) -> Vec<u8>,
        data: &[u8],
    ) -> Result<FenceId, TransportError> {
        let mut fence_out = 0;
        self.submit_parts(&[&[0u8; SUBMIT_HEADER_ROOM], data], CTRL_HDR_SIZE, |st| {
            st.last_fence += 1;
            let fence = st.last_fence;
            st.outstanding_fences.insert(fence);
            fence_out = fence;
            Ok((Completion::Fence(fence), Some(header(fence))))
        })?;
        Ok(fence_out)
    }

    /// Waits until `fence` completes (`Ok(true)`), `timeout_ns` passes (`Ok(false)`), or the
    /// device is lost.
    pub fn wait_fence(&self, fence: FenceId, timeout_ns: u64) -> Result<bool, TransportError> {
        let deadline = Instant::now().checked_add(Duration::from_nanos(timeout_ns));
        let mut st = self.shared.lock();
        if fence == 0 || fence > st.last_fence {
            return Err(TransportError::DeviceLost(format!(
                "fence {fence} was never submitted"
            )));
        }
        loop {
            if let Some(why) = &st.lost {
                return Err(TransportError::DeviceLost(why.clone()));
            }
            if !st.outstanding_fences.contains(&fence) {
                return Ok(true);
            }
            st = match deadline {
                None => self
                    .shared
                    .changed
                    .wait(st)
                    .unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Ok(false);
                    }
                    self.shared
                        .changed
                        .wait_timeout(st, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// Publishes an arbitrary chain (hostile-frontend tests: loops, bad addresses, odd flags)
    /// and waits up to `timeout` for the device to return it. `Ok(None)`: not returned in time
    /// (the chain stays in flight).
    pub fn send_chain(
        &self,
        descs: &[RawDescriptor],
        timeout: Duration,
    ) -> Result<Option<Reply>, TransportError> {
        let ticket = {
            let mut st = self.wait_for_descriptors(descs.len())?;
            let t = st.next_ticket;
            st.next_ticket += 1;
            let head = st
                .queue
                .add_raw_chain(self.shared.ram.memory(), descs)
                .map_err(|e| TransportError::DeviceLost(e.to_string()))?;
            st.waiting.insert(t);
            st.in_flight.insert(
                head,
                InFlight {
                    buffer: None,
                    response: None,
                    completion: Completion::Reply(t),
                },
            );
            t
        };
        self.kick()?;
        self.wait_reply(ticket, timeout)
    }

    fn kick(&self) -> Result<(), TransportError> {
        self.shared
            .control_kick
            .write(1)
            .map_err(|e| TransportError::DeviceLost(format!("kick: {e}")))
    }

    fn wait_for_descriptors(
        &self,
        needed: usize,
    ) -> Result<MutexGuard<'_, ControlState>, TransportError> {
        let mut st = self.shared.lock();
        loop {
            if let Some(why) = &st.lost {
                return Err(TransportError::DeviceLost(why.clone()));
            }
            if st.queue.free_descriptors() >= needed || st.queue.in_flight() == 0 {
                return Ok(st);
            }
            st = self
                .shared
                .changed
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Copies `parts` into one staging buffer (plus room for the response), then, under the
    /// queue lock, lets `register` pick the completion (and optionally a header that replaces
    /// `parts[0]`, written now), adds the chain and kicks.
    fn submit_parts(
        &self,
        parts: &[&[u8]],
        response_len: usize,
        register: impl FnOnce(
            &mut ControlState,
        ) -> Result<(Completion, Option<Vec<u8>>), TransportError>,
    ) -> Result<(), TransportError> {
        let ram = &self.shared.ram;
        let mut offsets = Vec::with_capacity(parts.len());
        let mut at = 0u64;
        for p in parts {
            offsets.push(at);
            let len = p.len() as u64;
            at = at
                .checked_add(len)
                .and_then(|v| v.checked_next_multiple_of(8))
                .ok_or_else(too_big)?;
        }
        let response_at = at;
        let total = at.checked_add(response_len as u64).ok_or_else(too_big)?;
        if parts.iter().any(|p| u32::try_from(p.len()).is_err())
            || u32::try_from(response_len).is_err()
        {
            return Err(too_big());
        }
        let buffer = self.alloc_staging(total)?;
        let mem = ram.memory();
        let write = |bytes: &[u8], off: u64| {
            mem.write_slice(bytes, GuestAddress(buffer.gpa + off))
                .map_err(|e| TransportError::DeviceLost(format!("guest RAM write: {e}")))
        };
        let staged = parts
            .iter()
            .zip(&offsets)
            .try_for_each(|(p, &off)| write(p, off));
        let staged = staged.and_then(|()| write(&vec![0u8; response_len], response_at));
        if let Err(e) = staged {
            ram.free_buffer(buffer);
            return Err(e);
        }
        let needed = parts.len() + 1;
        let mut st = match self.wait_for_descriptors(needed) {
            Ok(st) => st,
            Err(e) => {
                ram.free_buffer(buffer);
                return Err(e);
            }
        };
        let (completion, header) = match register(&mut st) {
            Ok(v) => v,
            Err(e) => {
                ram.free_buffer(buffer);
                return Err(e);
            }
        };
        let mut lens: Vec<u32> = parts.iter().map(|p| p.len() as u32).collect();
        if let (Some(h), Some(first)) = (&header, lens.first_mut()) {
            // The header replaces the placeholder that parts[0] reserved room for.
            let fits = h.len() <= *first as usize;
            *first = h.len() as u32;
            if let Err(e) = if fits { write(h, 0) } else { Err(too_big()) } {
                undo_registration(&mut st, &completion);
                drop(st);
                ram.free_buffer(buffer);
                return Err(e);
            }
        }
        let mut descs: Vec<Descriptor> = lens
            .iter()
            .zip(&offsets)
            .filter(|(&len, _)| len > 0)
            .map(|(&len, &off)| Descriptor {
                gpa: buffer.gpa + off,
                len,
                writable: false,
            })
            .collect();
        descs.push(Descriptor {
            gpa: buffer.gpa + response_at,
            len: response_len as u32,
            writable: true,
        });
        match st.queue.add_chain(mem, &descs) {
            Ok(head) => {
                st.in_flight.insert(
                    head,
                    InFlight {
                        buffer: Some(buffer),
                        response: Some((buffer.gpa + response_at, response_len as u32)),
                        completion,
                    },
                );
            }
            Err(e) => {
                // Only a chain longer than the whole queue gets here (we waited for space).
                undo_registration(&mut st, &completion);
                drop(st);
                ram.free_buffer(buffer);
                return Err(TransportError::OutOfHostMemory(e.to_string()));
            }
        }
        drop(st);
        self.kick()
    }

    /// A staging buffer; while guest RAM is short but requests are in flight, waits for them.
    fn alloc_staging(&self, len: u64) -> Result<GuestBuffer, TransportError> {
        loop {
            if let Some(b) = self.shared.ram.alloc_buffer(len) {
                return Ok(b);
            }
            let st = self.shared.lock();
            if let Some(why) = &st.lost {
                return Err(TransportError::DeviceLost(why.clone()));
            }
            if st.queue.in_flight() == 0 {
                return Err(TransportError::OutOfDeviceMemory(format!(
                    "no {len} bytes of guest RAM left for a request"
                )));
            }
            // Frees happen under this lock and notify; the timeout covers a free that raced
            // with our failed allocation.
            let _ = self
                .shared
                .changed
                .wait_timeout(st, Duration::from_millis(50));
        }
    }

    fn wait_reply(&self, ticket: u64, timeout: Duration) -> Result<Option<Reply>, TransportError> {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            if let Some(reply) = st.replies.remove(&ticket) {
                return Ok(Some(reply));
            }
            if let Some(why) = st.lost.clone() {
                st.waiting.remove(&ticket);
                return Err(TransportError::DeviceLost(why));
            }
            let now = Instant::now();
            if now >= deadline {
                st.waiting.remove(&ticket);
                return Ok(None);
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for VhostUserGpu {
    fn drop(&mut self) {
        if self.stop.write(1).is_ok() {
            if let Some(t) = self.completion_thread.take() {
                if t.join().is_err() {
                    log::error!("softgpu completion thread panicked");
                }
            }
        }
        // Dropping `_frontend` closes the socket: the device then releases everything.
    }
}

fn undo_registration(st: &mut ControlState, c: &Completion) {
    match c {
        Completion::Reply(t) => {
            st.waiting.remove(t);
        }
        Completion::Fence(f) => {
            st.outstanding_fences.remove(f);
            // The id is burnt; a later wait on it reports it complete, which is harmless
            // since its submission returned an error.
        }
        Completion::FreePages(_) => {}
    }
}

fn too_big() -> TransportError {
    TransportError::OutOfHostMemory("request larger than a virtqueue descriptor can carry".into())
}

fn completion_loop(shared: &Shared, call: &EventFd, stop: &EventFd, sock_fd: i32) {
    let mut fds = [
        libc::pollfd {
            fd: call.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: stop.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: sock_fd,
            events: libc::POLLRDHUP,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: `fds` is a valid array of 3 pollfds for the duration of the call; the
        // eventfds are owned by our caller and the socket by the connection, both of which
        // outlive this thread (the connection joins it before dropping them).
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if rc < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            mark_lost(shared, format!("poll: {}", std::io::Error::last_os_error()));
            return;
        }
        if fds[1].revents != 0 {
            return;
        }
        if fds[0].revents != 0 {
            // Non-blocking; a spurious wake-up reads EAGAIN, which is fine.
            let _ = call.read();
            drain_used(shared);
        }
        if fds[2].revents != 0 {
            drain_used(shared);
            mark_lost(shared, "the device closed the vhost-user connection".into());
            return;
        }
    }
}

fn mark_lost(shared: &Shared, why: String) {
    let mut st = shared.lock();
    if st.lost.is_none() {
        log::error!("softgpu device lost: {why}");
        st.lost = Some(why);
    }
    drop(st);
    shared.changed.notify_all();
}

/// Takes every returned chain off the used ring and completes it.
fn drain_used(shared: &Shared) {
    let mem = shared.ram.memory();
    let mut to_free: Vec<GuestBuffer> = Vec::new();
    let mut pages: Vec<PageRun> = Vec::new();
    let mut st = shared.lock();
    loop {
        let used = match st.queue.pop_used(mem) {
            Ok(Some(u)) => u,
            Ok(None) => break,
            Err(e) => {
                if st.lost.is_none() {
                    log::error!("softgpu device lost: control queue: {e}");
                    st.lost = Some(format!("control queue: {e}"));
                }
                break;
            }
        };
        // pop_used only returns heads we put in flight, and each of them is in the map.
        let Some(done) = st.in_flight.remove(&used.head) else {
            continue;
        };
        let mut response = Vec::new();
        if let Some((gpa, len)) = done.response {
            response = vec![0u8; len as usize];
            if mem.read_slice(&mut response, GuestAddress(gpa)).is_err() {
                response.clear();
            }
        }
        to_free.extend(done.buffer);
        let kind = gpu_commands::response_type(&response);
        match done.completion {
            Completion::Reply(t) => {
                if st.waiting.remove(&t) {
                    st.replies.insert(
                        t,
                        Reply {
                            response,
                            written: used.written,
                        },
                    );
                }
            }
            Completion::Fence(f) => {
                st.outstanding_fences.remove(&f);
                match kind {
                    Some(k) if k < RESP_ERR_FIRST => {}
                    Some(k) => {
                        st.lost.get_or_insert_with(|| {
                            format!(
                                "submission with fence {f} answered {}",
                                gpu_commands::response_name(k)
                            )
                        });
                    }
                    None => {
                        st.lost.get_or_insert_with(|| {
                            format!("submission with fence {f}: short response")
                        });
                    }
                }
            }
            Completion::FreePages(runs) => {
                if let Some(k) = kind.filter(|&k| k >= RESP_ERR_FIRST) {
                    log::error!("RESOURCE_UNREF answered {}", gpu_commands::response_name(k));
                }
                pages.extend(runs);
            }
        }
    }
    drop(st);
    // Free before waking anyone: a waiter that sees its fence done finds the pages of every
    // resource unreferenced before it back in guest RAM.
    for b in to_free {
        shared.ram.free_buffer(b);
    }
    shared.ram.free_block_pages(&pages);
    shared.changed.notify_all();
}
