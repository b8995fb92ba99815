//! A hand-driven vhost-user VMM for the device's tests: memfd guest RAM, the `vhost` crate's
//! frontend for the protocol, split virtqueues written by hand (so tests can post hostile chains).
#![allow(dead_code, clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use vhost::vhost_user::message::VhostUserConfigFlags;
use vhost::vhost_user::{
    Frontend, VhostUserFrontend, VhostUserProtocolFeatures, VhostUserVirtioFeatures,
};
use vhost::{VhostBackend, VhostUserMemoryRegionInfo, VringConfigData};
use virtio_bindings::virtio_gpu as vg;
use vmm_sys_util::eventfd::EventFd;

pub const MEM_SIZE: usize = 16 << 20;
pub const QUEUE_SIZE: u16 = 64;
/// Per queue: descriptor table, avail ring, used ring (GPAs).
pub const QUEUES: [(u64, u64, u64); 2] = [(0x1000, 0x3000, 0x4000), (0x6000, 0x8000, 0x9000)];
pub const REQ: u64 = 0x10000;
pub const RESP: u64 = 0x20000;

/// The VMM side: guest RAM mapped here too, and the two queues' driver state.
pub struct Vmm {
    _fe: Frontend,
    /// The frontend's socket, for messages the `vhost` crate's frontend cannot send.
    raw: std::os::unix::net::UnixStream,
    _memfd: File,
    base: *mut u8,
    next_avail: [u16; 2],
    next_used: [u16; 2],
    kick: [EventFd; 2],
    _call: [EventFd; 2],
}

impl Vmm {
    pub fn write(&self, gpa: u64, bytes: &[u8]) {
        assert!(gpa as usize + bytes.len() <= MEM_SIZE);
        let dst = self.base.wrapping_add(gpa as usize);
        // SAFETY: in bounds of our MEM_SIZE mapping (checked above).
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len()) };
    }

    pub fn read(&self, gpa: u64, len: usize) -> Vec<u8> {
        assert!(gpa as usize + len <= MEM_SIZE);
        let mut v = vec![0u8; len];
        let src = self.base.wrapping_add(gpa as usize);
        // SAFETY: in bounds of our mapping (checked above).
        unsafe { std::ptr::copy_nonoverlapping(src, v.as_mut_ptr(), len) };
        v
    }

    fn u16_at(&self, gpa: u64) -> u16 {
        let b = self.read(gpa, 2);
        u16::from_le_bytes([b[0], b[1]])
    }

    pub fn connect(path: &Path) -> Vmm {
        let stream = std::os::unix::net::UnixStream::connect(path).unwrap();
        let raw = stream.try_clone().unwrap();
        let mut fe = Frontend::from_stream(stream, 2);
        // SAFETY: memfd_create with a valid C string.
        let fd = unsafe { libc::memfd_create(c"vmm-ram".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0);
        // SAFETY: a fresh descriptor nothing else owns.
        let memfd = unsafe { File::from_raw_fd(fd) };
        memfd.set_len(MEM_SIZE as u64).unwrap();
        // SAFETY: a fresh shared mapping of our memfd.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                MEM_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                memfd.as_raw_fd(),
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        let base = base.cast::<u8>();

        fe.set_owner().unwrap();
        let offered = fe.get_features().unwrap();
        for bit in [
            vg::VIRTIO_GPU_F_VIRGL,
            vg::VIRTIO_GPU_F_EDID,
            vg::VIRTIO_GPU_F_RESOURCE_UUID,
        ] {
            assert_ne!(offered & (1 << bit), 0, "feature {bit} offered");
        }
        // Stock QEMU 10: only VIRGL, EDID, RESOURCE_UUID reach the guest.
        let acked = (1u64 << 32)
            | (1 << vg::VIRTIO_GPU_F_VIRGL)
            | (1 << vg::VIRTIO_GPU_F_EDID)
            | (1 << vg::VIRTIO_GPU_F_RESOURCE_UUID)
            | VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits();
        fe.set_features(acked).unwrap();
        let pf = fe.get_protocol_features().unwrap();
        assert!(pf.contains(VhostUserProtocolFeatures::CONFIG));
        fe.set_protocol_features(
            pf & (VhostUserProtocolFeatures::CONFIG | VhostUserProtocolFeatures::MQ),
        )
        .unwrap();
        let (_, config) = fe
            .get_config(0, 16, VhostUserConfigFlags::empty(), &[0u8; 16])
            .unwrap();
        assert_eq!(
            &config[8..16],
            &[1, 0, 0, 0, 1, 0, 0, 0],
            "one scanout, one capset"
        );

        let region = VhostUserMemoryRegionInfo {
            guest_phys_addr: 0,
            memory_size: MEM_SIZE as u64,
            userspace_addr: base as u64,
            mmap_offset: 0,
            mmap_handle: memfd.as_raw_fd(),
        };
        fe.set_mem_table(&[region]).unwrap();
        let kick = [
            EventFd::new(libc::EFD_NONBLOCK).unwrap(),
            EventFd::new(libc::EFD_NONBLOCK).unwrap(),
        ];
        let call = [
            EventFd::new(libc::EFD_NONBLOCK).unwrap(),
            EventFd::new(libc::EFD_NONBLOCK).unwrap(),
        ];
        for (q, &(desc, avail, used)) in QUEUES.iter().enumerate() {
            fe.set_vring_num(q, QUEUE_SIZE).unwrap();
            // vhost-user vring addresses are the VMM's virtual addresses.
            let va = |gpa: u64| base as u64 + gpa;
            fe.set_vring_addr(
                q,
                &VringConfigData {
                    queue_max_size: QUEUE_SIZE,
                    queue_size: QUEUE_SIZE,
                    flags: 0,
                    desc_table_addr: va(desc),
                    used_ring_addr: va(used),
                    avail_ring_addr: va(avail),
                    log_addr: None,
                },
            )
            .unwrap();
            fe.set_vring_base(q, 0).unwrap();
            fe.set_vring_call(q, &call[q]).unwrap();
            fe.set_vring_kick(q, &kick[q]).unwrap();
            fe.set_vring_enable(q, true).unwrap();
        }
        Vmm {
            _fe: fe,
            raw,
            _memfd: memfd,
            base,
            next_avail: [0; 2],
            next_used: [0; 2],
            kick,
            _call: call,
        }
    }

    /// Posts a chain of `descs` ({addr, len, flags, next}) with head 0 on queue `q` and kicks,
    /// without waiting for it to be used.
    pub fn post_nowait(&mut self, q: usize, descs: &[(u64, u32, u16, u16)]) {
        let (desc, avail, _) = QUEUES[q];
        for (i, &(addr, len, flags, next)) in descs.iter().enumerate() {
            let mut d = Vec::new();
            d.extend(addr.to_le_bytes());
            d.extend(len.to_le_bytes());
            d.extend(flags.to_le_bytes());
            d.extend(next.to_le_bytes());
            self.write(desc + 16 * i as u64, &d);
        }
        let idx = self.next_avail[q];
        self.write(
            avail + 4 + 2 * u64::from(idx % QUEUE_SIZE),
            &0u16.to_le_bytes(),
        );
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        self.write(avail + 2, &idx.wrapping_add(1).to_le_bytes());
        self.next_avail[q] = idx.wrapping_add(1);
        self.kick[q].write(1).unwrap();
    }

    /// Posts a chain of `descs` ({addr, len, writable}) in descriptor slots `first..` of queue
    /// `q` (head `first`, each chained to the next) and kicks, without waiting: several chains
    /// can be outstanding at once.
    pub fn post_at(&mut self, q: usize, first: u16, descs: &[(u64, u32, bool)]) {
        let (desc, avail, _) = QUEUES[q];
        for (i, &(addr, len, writable)) in descs.iter().enumerate() {
            let slot = first + i as u16;
            let last = i + 1 == descs.len();
            let flags = u16::from(!last) | if writable { 2 } else { 0 };
            let mut d = Vec::new();
            d.extend(addr.to_le_bytes());
            d.extend(len.to_le_bytes());
            d.extend(flags.to_le_bytes());
            d.extend((if last { 0 } else { slot + 1 }).to_le_bytes());
            self.write(desc + 16 * u64::from(slot), &d);
        }
        let idx = self.next_avail[q];
        self.write(
            avail + 4 + 2 * u64::from(idx % QUEUE_SIZE),
            &first.to_le_bytes(),
        );
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        self.write(avail + 2, &idx.wrapping_add(1).to_le_bytes());
        self.next_avail[q] = idx.wrapping_add(1);
        self.kick[q].write(1).unwrap();
    }

    /// Hands the device a display socket, as QEMU does on DRIVER_OK
    /// (`VHOST_USER_GPU_SET_SOCKET`, no reply asked for).
    pub fn set_gpu_socket(&self, display: &impl AsRawFd) {
        use vmm_sys_util::sock_ctrl_msg::ScmSocket;
        const GPU_SET_SOCKET: u32 = 33;
        const VERSION_1: u32 = 1;
        let mut hdr = Vec::new();
        for w in [GPU_SET_SOCKET, VERSION_1, 0] {
            hdr.extend(w.to_le_bytes());
        }
        let sent = self
            .raw
            .send_with_fds(&[&hdr[..]], &[display.as_raw_fd()])
            .unwrap();
        assert_eq!(sent, hdr.len());
    }

    /// Kicks queue `q` without posting anything (what a guest whose RAM the device does not
    /// see looks like from the device).
    pub fn kick_only(&self, q: usize) {
        self.kick[q].write(1).unwrap();
    }

    /// The next element the device put in queue `q`'s used ring, if any: (head, length).
    pub fn try_used(&mut self, q: usize) -> Option<(u32, u32)> {
        let (_, _, used) = QUEUES[q];
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        if self.u16_at(used + 2) == self.next_used[q] {
            return None;
        }
        let slot = used + 4 + 8 * u64::from(self.next_used[q] % QUEUE_SIZE);
        self.next_used[q] = self.next_used[q].wrapping_add(1);
        let e = self.read(slot, 8);
        Some((
            u32::from_le_bytes([e[0], e[1], e[2], e[3]]),
            u32::from_le_bytes([e[4], e[5], e[6], e[7]]),
        ))
    }

    /// Waits (up to 10 s) for the next used element of queue `q`.
    pub fn wait_used(&mut self, q: usize) -> (u32, u32) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(u) = self.try_used(q) {
                return u;
            }
            assert!(Instant::now() < deadline, "queue {q}: nothing used");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Posts a chain of `descs` ({addr, len, flags, next}) with head 0 on queue `q`, kicks,
    /// and waits for it to be used; returns the used length.
    pub fn post(&mut self, q: usize, descs: &[(u64, u32, u16, u16)]) -> u32 {
        let (_, _, used) = QUEUES[q];
        self.post_nowait(q, descs);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.u16_at(used + 2) == self.next_used[q] {
            assert!(Instant::now() < deadline, "queue {q}: request not used");
            std::thread::sleep(Duration::from_millis(1));
        }
        let slot = used + 4 + 8 * u64::from(self.next_used[q] % QUEUE_SIZE);
        self.next_used[q] = self.next_used[q].wrapping_add(1);
        let e = self.read(slot, 8);
        u32::from_le_bytes([e[4], e[5], e[6], e[7]])
    }

    /// Publishes an avail index more than a ring ahead of the last one (VIRTIO 1.2 §2.7.6
    /// forbids it) on queue `q` and kicks: the device must stop serving that queue, not die.
    pub fn break_avail_ring(&mut self, q: usize) {
        let (_, avail, _) = QUEUES[q];
        let bogus = self.next_avail[q].wrapping_add(QUEUE_SIZE + 5);
        self.write(avail + 2, &bogus.to_le_bytes());
        self.kick[q].write(1).unwrap();
    }

    /// Sends one control request; returns the response bytes.
    pub fn request(&mut self, req: &[u8]) -> Vec<u8> {
        self.write(REQ, req);
        self.write(RESP, &[0xee; 4096]);
        let n = self.post(0, &[(REQ, req.len() as u32, 1, 1), (RESP, 4096, 2, 0)]);
        self.read(RESP, n as usize)
    }
}

impl Drop for Vmm {
    fn drop(&mut self) {
        // SAFETY: base..base+MEM_SIZE is the mapping `connect` made; nothing uses it after drop.
        unsafe { libc::munmap(self.base.cast(), MEM_SIZE) };
    }
}

pub fn request(type_: u32, flags: u32, fence: u64, ctx: u32, body: &[u32]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(type_.to_le_bytes());
    b.extend(flags.to_le_bytes());
    b.extend(fence.to_le_bytes());
    b.extend(ctx.to_le_bytes());
    b.extend([0u8; 4]);
    for w in body {
        b.extend(w.to_le_bytes());
    }
    b
}

pub fn resp_type(r: &[u8]) -> u32 {
    u32::from_le_bytes([r[0], r[1], r[2], r[3]])
}

pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}
