//! Tests of the whole host transport against a mock virtio-gpu backend built on rust-vmm's
//! `vhost-user-backend` (the same library the real device uses): negotiation, memory table,
//! capset discovery, memory blocks seen through the *device's* mapping of guest RAM, fenced
//! submissions, error responses and a vanishing device.

// Match patterns below are bindgen's constant names.
#![allow(non_upper_case_globals, clippy::unwrap_used)]

use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use vhost::vhost_user::message::VhostUserProtocolFeatures;
use vhost::vhost_user::Listener;
use vhost_user_backend::{VhostUserBackendMut, VhostUserDaemon, VringRwLock, VringT};
use virtio_bindings::virtio_gpu::*;
use virtio_queue::QueueOwnedT;
use vm_memory::{Bytes, GuestAddress, GuestAddressSpace, GuestMemoryAtomic, GuestMemoryMmap};
use vmm_sys_util::epoll::EventSet;

use super::frontend::{bit, FeatureOptions};
use super::{VhostUserOptions, VhostUserTransport};
use crate::transport::{Transport, TransportError};

const VHOST_USER_F_PROTOCOL_FEATURES: u64 = 1 << 30;

fn test_capset() -> protocol::Capset {
    protocol::Capset {
        protocol_version: protocol::PROTOCOL_VERSION,
        subgroup_size: 16,
        threads: 2,
        max_compute_workgroup_invocations: 1024,
        max_compute_workgroup_size: [1024, 1024, 64],
        max_compute_workgroup_count: [65535; 3],
        max_compute_shared_memory_size: 32768,
        max_push_constants_size: 128,
        max_storage_buffer_range: u32::MAX,
        max_uniform_buffer_range: 65536,
        min_storage_buffer_offset_alignment: 16,
        min_uniform_buffer_offset_alignment: 16,
        max_bound_descriptor_sets: 8,
        max_memory_allocation_size: 1 << 30,
        device_memory_budget: 4 << 30,
        max_stream_size: 1 << 20,
        client: protocol::ClientCaps::default(),
    }
}

/// What the mock saw; the tests assert on it.
#[derive(Default, Debug)]
pub struct Seen {
    pub context_init: Option<u32>,
    /// resource id → backing GPAs, in order.
    pub backing: HashMap<u32, Vec<u64>>,
    pub blob_resources: Vec<u32>,
    pub unrefs: Vec<u32>,
    /// (fence id, ctx id, stream)
    pub submits: Vec<(u64, u32, Vec<u8>)>,
    /// fenced chains held back by a "hold" stream: (head, response gpa)
    held: Vec<(u16, u64)>,
}

struct MockGpu {
    mem: Option<GuestMemoryAtomic<GuestMemoryMmap>>,
    seen: Arc<Mutex<Seen>>,
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes(s.try_into().unwrap()))
}

fn hdr(kind: u32) -> Vec<u8> {
    let mut v = vec![0u8; 24];
    v[0..4].copy_from_slice(&kind.to_le_bytes());
    v
}

impl MockGpu {
    /// Executes one request; `None`: hold the chain back (no used entry yet).
    fn execute(&self, req: &[u8], head: u16, resp_gpa: u64) -> Option<Vec<u8>> {
        let mut seen = self.seen.lock().unwrap();
        let ok = hdr(virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_NODATA);
        Some(match le32(req, 0) {
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_CAPSET_INFO => {
                // Index 0 is someone else's capset: the driver must look further.
                let id = if le32(req, 24) == 0 {
                    VIRTIO_GPU_CAPSET_VIRGL
                } else {
                    protocol::SOFTGPU_CAPSET_VK
                };
                let mut r = hdr(virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_CAPSET_INFO);
                for v in [id, 1, protocol::Capset::ENCODED_SIZE as u32, 0] {
                    r.extend_from_slice(&v.to_le_bytes());
                }
                r
            }
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_CAPSET => {
                let mut r = hdr(virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_CAPSET);
                r.extend(test_capset().encode());
                r
            }
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE => {
                seen.context_init = Some(le32(req, 28));
                ok
            }
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_3D => {
                seen.backing.insert(le32(req, 24), Vec::new());
                ok
            }
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING
            | virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB => {
                let blob = le32(req, 0) == virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB;
                let (n_at, entries_at) = if blob { (36, 56) } else { (28, 32) };
                let n = le32(req, n_at) as usize;
                let gpas = (0..n)
                    .map(|i| {
                        u64::from_le_bytes(req[entries_at + 16 * i..][..8].try_into().unwrap())
                    })
                    .collect();
                let id = le32(req, 24);
                if blob {
                    seen.blob_resources.push(id);
                }
                seen.backing.insert(id, gpas);
                ok
            }
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE => ok,
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_UNREF => {
                seen.unrefs.push(le32(req, 24));
                ok
            }
            virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SUBMIT_3D => {
                let fence = u64::from_le_bytes(req[8..16].try_into().unwrap());
                assert_eq!(le32(req, 4) & VIRTIO_GPU_FLAG_FENCE, VIRTIO_GPU_FLAG_FENCE);
                let size = le32(req, 24) as usize;
                let stream = req[32..32 + size].to_vec();
                seen.submits.push((fence, le32(req, 16), stream.clone()));
                match &stream[..] {
                    b"hold" => {
                        seen.held.push((head, resp_gpa));
                        return None;
                    }
                    b"fail" => hdr(virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER),
                    _ => ok,
                }
            }
            _ => hdr(virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_ERR_UNSPEC),
        })
    }
}

impl VhostUserBackendMut for MockGpu {
    type Bitmap = ();
    type Vring = VringRwLock;

    fn num_queues(&self) -> usize {
        2
    }
    fn max_queue_size(&self) -> usize {
        1024
    }
    fn features(&self) -> u64 {
        bit(virtio_bindings::virtio_config::VIRTIO_F_VERSION_1)
            | bit(VIRTIO_GPU_F_VIRGL)
            | bit(VIRTIO_GPU_F_EDID)
            | bit(VIRTIO_GPU_F_RESOURCE_UUID)
            | bit(VIRTIO_GPU_F_CONTEXT_INIT)
            | bit(VIRTIO_GPU_F_RESOURCE_BLOB)
            | VHOST_USER_F_PROTOCOL_FEATURES
    }
    fn protocol_features(&self) -> VhostUserProtocolFeatures {
        VhostUserProtocolFeatures::CONFIG
            | VhostUserProtocolFeatures::MQ
            | VhostUserProtocolFeatures::REPLY_ACK
    }
    fn set_event_idx(&mut self, _enabled: bool) {}
    fn get_config(&self, offset: u32, size: u32) -> Vec<u8> {
        let mut config = Vec::new();
        for v in [0u32, 0, 1, 2] {
            config.extend_from_slice(&v.to_le_bytes());
        }
        config
            .get(offset as usize..(offset + size) as usize)
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    }
    fn update_memory(&mut self, mem: GuestMemoryAtomic<GuestMemoryMmap>) -> std::io::Result<()> {
        self.mem = Some(mem);
        Ok(())
    }
    fn handle_event(
        &mut self,
        device_event: u16,
        _: EventSet,
        vrings: &[VringRwLock],
        _: usize,
    ) -> std::io::Result<()> {
        if device_event != 0 {
            return Ok(());
        }
        let mem = self.mem.as_ref().unwrap().memory();
        let chains: Vec<_> = vrings[0]
            .get_mut()
            .get_queue_mut()
            .iter(mem.clone())
            .unwrap()
            .collect();
        for chain in chains {
            let head = chain.head_index();
            let mut req = Vec::new();
            let mut resp = None;
            for d in chain {
                if d.is_write_only() {
                    resp.get_or_insert((d.addr().0, d.len()));
                } else {
                    let mut buf = vec![0u8; d.len() as usize];
                    mem.read_slice(&mut buf, d.addr()).unwrap();
                    req.extend(buf);
                }
            }
            let (resp_gpa, resp_len) = resp.unwrap();
            let release = req.len() >= 36 && &req[32..36] == b"rels";
            if let Some(r) = self.execute(&req, head, resp_gpa) {
                if release {
                    // Return held chains first, then this one: fences complete in order.
                    let held = std::mem::take(&mut self.seen.lock().unwrap().held);
                    for (h, gpa) in held {
                        mem.write_slice(
                            &hdr(virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_NODATA),
                            GuestAddress(gpa),
                        )
                        .unwrap();
                        vrings[0].add_used(h, 24).unwrap();
                    }
                }
                let n = r.len().min(resp_len as usize);
                mem.write_slice(&r[..n], GuestAddress(resp_gpa)).unwrap();
                vrings[0].add_used(head, n as u32).unwrap();
            }
        }
        vrings[0].signal_used_queue().unwrap();
        Ok(())
    }
}

struct Harness {
    seen: Arc<Mutex<Seen>>,
    /// The device's view of guest RAM is the backend's, set by SET_MEM_TABLE (acknowledged
    /// before the transport's bring-up returns).
    backend: Arc<RwLock<MockGpu>>,
    /// Not joined: vhost-user-backend's handler joins its vring worker on drop, which only
    /// exits on an exit event the mock does not register; the thread ends with the test.
    _daemon: std::thread::JoinHandle<()>,
    _dir: std::path::PathBuf,
}

/// Starts a mock device and connects a transport to it.
fn start(features: &str) -> (VhostUserTransport, Harness) {
    let dir = std::env::temp_dir().join(format!(
        "softgpu-vq-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sock");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let backend = Arc::new(RwLock::new(MockGpu {
        mem: None,
        seen: seen.clone(),
    }));
    let mut listener = Listener::new(&path, true).unwrap();
    let b = backend.clone();
    let daemon = std::thread::spawn(move || {
        let mut daemon = VhostUserDaemon::new(
            "mock-gpu".into(),
            b,
            GuestMemoryAtomic::new(GuestMemoryMmap::new()),
        )
        .unwrap();
        daemon.start(&mut listener).unwrap();
        let _ = daemon.wait();
    });
    let stream = UnixStream::connect(&path).unwrap();
    let options = VhostUserOptions {
        features: FeatureOptions::parse(features).unwrap(),
        guest_ram_bytes: 64 << 20,
        socket: None,
    };
    let t = VhostUserTransport::on_stream(stream, &options, None).unwrap();
    (
        t,
        Harness {
            seen,
            backend,
            _daemon: daemon,
            _dir: dir,
        },
    )
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

impl Harness {
    fn device_memory(&self) -> GuestMemoryAtomic<GuestMemoryMmap> {
        self.backend
            .read()
            .unwrap()
            .mem
            .clone()
            .expect("device has no memory table")
    }

    fn device_read(&self, gpa: u64, len: usize) -> Vec<u8> {
        let mem = self.device_memory();
        let mut buf = vec![0u8; len];
        mem.memory()
            .read_slice(&mut buf, GuestAddress(gpa))
            .unwrap();
        buf
    }
}

#[test]
fn stock_qemu_mode_finds_the_capset_and_creates_a_context_init_0_context() {
    let (t, h) = start("");
    assert_eq!(*t.capset(), test_capset());
    assert_eq!(h.seen.lock().unwrap().context_init, Some(0));
    assert!(
        !t.gpu().negotiated().has(VIRTIO_GPU_F_CONTEXT_INIT),
        "CONTEXT_INIT negotiated by default"
    );
    assert!(!t.gpu().negotiated().has(VIRTIO_GPU_F_RESOURCE_BLOB));
}

#[test]
fn device_sees_block_writes_through_its_own_mapping_of_scattered_backing() {
    let (t, h) = start("");
    let block = t.create_memory(300 * 1024).unwrap();
    assert_eq!(block.size, 300 * 1024);
    // SAFETY: the block is `size` bytes, mapped read-write; this test is its only user.
    let view = unsafe { std::slice::from_raw_parts_mut(block.ptr, block.size as usize) };
    for (i, b) in view.iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    let gpas = h.seen.lock().unwrap().backing[&block.resource_id].clone();
    assert_eq!(gpas.len(), 75, "one 4 KiB entry per page");
    assert!(
        gpas.windows(2).any(|w| w[1] != w[0] + 4096),
        "backing is one contiguous range"
    );
    for (page, gpa) in gpas.iter().enumerate() {
        let bytes = h.device_read(*gpa, 4096);
        let want: Vec<u8> = (page * 4096..(page + 1) * 4096)
            .map(|i| (i % 251) as u8)
            .collect();
        assert_eq!(
            bytes, want,
            "page {page} at {gpa:#x} differs on the device side"
        );
    }
    // And the other way: a device write is visible in our mapping without any copy.
    let mem = h.device_memory();
    mem.memory()
        .write_slice(&[0xEE; 8], GuestAddress(gpas[10] + 16))
        .unwrap();
    assert_eq!(
        // SAFETY: volatile read of a byte inside the block (the device wrote it behind our back).
        unsafe { std::ptr::read_volatile(&view[10 * 4096 + 16]) },
        0xEE
    );
    let id = block.resource_id;
    t.destroy_memory(block);
    let fence = t.submit(b"sync").unwrap();
    assert!(t.wait(fence, u64::MAX).unwrap());
    assert_eq!(h.seen.lock().unwrap().unrefs, vec![id]);
}

#[test]
fn freed_blocks_come_back_zeroed() {
    let (t, _h) = start("");
    let budget = t.gpu().guest_ram().free_block_page_count();
    let a = t.create_memory(1 << 20).unwrap();
    // SAFETY: the block is 1 MiB, mapped read-write.
    unsafe { std::ptr::write_bytes(a.ptr, 0x5A, 1 << 20) };
    t.destroy_memory(a);
    // The pages come back once the UNREF is answered; wait for that with a fence behind it.
    let f = t.submit(b"sync").unwrap();
    assert!(t.wait(f, u64::MAX).unwrap());
    assert_eq!(
        t.gpu().guest_ram().free_block_page_count(),
        budget,
        "pages of a destroyed block leaked"
    );
    let b = t.create_memory(1 << 20).unwrap();
    // SAFETY: as above.
    let view = unsafe { std::slice::from_raw_parts(b.ptr, 1 << 20) };
    let all_zero = view.iter().all(|&v| v == 0);
    assert!(all_zero, "a new block showed old contents");
}

#[test]
fn blob_and_context_init_options_use_create_blob_and_capset_context() {
    let (t, h) = start("context-init,blob");
    assert_eq!(
        h.seen.lock().unwrap().context_init,
        Some(protocol::SOFTGPU_CAPSET_VK)
    );
    let block = t.create_memory(64 * 1024).unwrap();
    let seen = h.seen.lock().unwrap();
    assert_eq!(seen.blob_resources, vec![block.resource_id]);
    assert_eq!(seen.backing[&block.resource_id].len(), 16);
}

#[test]
fn fences_follow_one_timeline_and_wait_times_out_then_completes() {
    let (t, h) = start("");
    let held = t.submit(b"hold").unwrap();
    assert!(
        !t.wait(held, 20_000_000).unwrap(),
        "a held submission completed"
    );
    assert!(!t.is_complete(held).unwrap());
    let waiter = {
        let t = Arc::new(t);
        let t2 = t.clone();
        let j = std::thread::spawn(move || t2.wait(held, u64::MAX));
        let release = t.submit(b"rels").unwrap();
        assert_eq!(release, held + 1);
        assert!(j.join().unwrap().unwrap());
        assert!(t.wait(release, u64::MAX).unwrap());
        t
    };
    let seen = h.seen.lock().unwrap();
    let fences: Vec<u64> = seen.submits.iter().map(|s| s.0).collect();
    assert_eq!(fences, vec![held, held + 1]);
    assert!(
        seen.submits.iter().all(|s| s.1 == 1),
        "submission outside our context"
    );
    drop(waiter);
}

#[test]
fn many_threads_submit_and_wait_concurrently() {
    let (t, h) = start("");
    let t = Arc::new(t);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let t = t.clone();
            std::thread::spawn(move || {
                for i in 0..200u32 {
                    let f = t.submit(&i.to_le_bytes()).unwrap();
                    if i % 3 == 0 {
                        assert!(t.wait(f, u64::MAX).unwrap());
                    }
                }
                t.submit(b"last").unwrap()
            })
        })
        .collect();
    for j in threads {
        let f = j.join().unwrap();
        assert!(t.wait(f, u64::MAX).unwrap());
    }
    let mut fences: Vec<u64> = h.seen.lock().unwrap().submits.iter().map(|s| s.0).collect();
    assert_eq!(fences.len(), 804);
    fences.sort_unstable();
    fences.dedup();
    assert_eq!(fences.len(), 804, "a fence id was used twice");
}

#[test]
fn error_response_loses_the_device_for_that_and_later_waits() {
    let (t, _h) = start("");
    let ok = t.submit(b"fine").unwrap();
    assert!(t.wait(ok, u64::MAX).unwrap());
    let bad = t.submit(b"fail").unwrap();
    assert!(matches!(
        t.wait(bad, u64::MAX),
        Err(TransportError::DeviceLost(_))
    ));
    assert!(matches!(
        t.submit(b"more"),
        Err(TransportError::DeviceLost(_))
    ));
}

#[test]
fn device_going_away_wakes_waiters_with_device_lost() {
    let (t, h) = start("");
    let held = t.submit(b"hold").unwrap();
    let t = Arc::new(t);
    let t2 = t.clone();
    let waiter = std::thread::spawn(move || t2.wait(held, u64::MAX));
    std::thread::sleep(Duration::from_millis(20));
    shutdown_device_side(&t);
    let r = waiter.join().unwrap();
    assert!(matches!(r, Err(TransportError::DeviceLost(_))), "{r:?}");
    drop(t);
    drop(h);
}

/// Closes the vhost-user socket under the connection (as if the device process died).
fn shutdown_device_side(t: &VhostUserTransport) {
    let fd = t.gpu().socket_fd();
    // SAFETY: `fd` is the connection's open socket; shutdown does not close it.
    unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
}
