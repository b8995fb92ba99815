//! A guest whose RAM is not really shared with the device — QEMU with a memfd backend without
//! `share=on` sends a memory table, but maps the RAM private, so the guest's rings never show
//! up in the device's view — kicks queues that look empty. The device says what is probably
//! wrong, and the session reports it; kicks with nothing new after real requests do not count.
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{request, resp_type, Vmm};
use vhost::vhost_user::Listener;
use vhost_device::context::{ContextBackend, ContextFactory, ResourceViews, SubmitError};
use vhost_device::server::{device_limits, HostInfo, Service};
use virtio_bindings::virtio_gpu as vg;

struct NoContexts;
struct Never;

impl ContextBackend for Never {
    fn submit(&mut self, _: &[u8], _: &dyn ResourceViews) -> Result<(), SubmitError> {
        Err(SubmitError::Invalid("no contexts in this test".into()))
    }
}

impl ContextFactory for NoContexts {
    fn create(&self, _: u32, _: &str) -> Box<dyn ContextBackend> {
        Box::new(Never)
    }
}

/// The session's grace before the warning (the device's default is a few seconds).
const GRACE: Duration = Duration::from_millis(300);

#[test]
fn kicks_on_rings_that_stay_empty_are_reported_as_unshared_guest_ram() {
    let dir = std::env::temp_dir().join(format!("softgpu-dev-unshared-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gpu.sock");
    let listener = Arc::new(Mutex::new(Listener::new(&path, true).unwrap()));
    let service = Arc::new(Service {
        factory: Arc::new(NoContexts),
        limits: device_limits(8, 2, HostInfo { mem_total: 8 << 30 }),
        memory_table_grace: GRACE,
    });
    let serve = || {
        let (s, l) = (service.clone(), listener.clone());
        std::thread::spawn(move || s.serve_one(&mut l.lock().unwrap()).unwrap())
    };
    // QEMU kicks every queue as it starts the device (separate kicks, not one eventfd count).
    let startup_kicks = |vmm: &Vmm| {
        for q in [0, 1, 0] {
            vmm.kick_only(q);
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    let display_info = |vmm: &mut Vmm| {
        let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_DISPLAY_INFO;
        let r = vmm.request(&request(t, 0, 0, 0, &[]));
        assert_eq!(
            resp_type(&r),
            vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_DISPLAY_INFO
        );
    };

    // Kicks, and the rings the device sees stay empty past the grace period.
    let server = serve();
    let vmm = Vmm::connect(&path);
    startup_kicks(&vmm);
    std::thread::sleep(GRACE * 3);
    drop(vmm);
    let end = server.join().unwrap();
    assert!(end.guest_memory_unshared, "{end:?}");
    assert!(!end.memory_table_missing, "{end:?}");

    // QEMU's start-up kicks, then the driver's first request: a guest the device sees.
    let server = serve();
    let mut vmm = Vmm::connect(&path);
    startup_kicks(&vmm);
    display_info(&mut vmm);
    std::thread::sleep(GRACE * 3);
    // Later kicks with nothing new (spurious) do not count either.
    startup_kicks(&vmm);
    std::thread::sleep(GRACE * 3);
    drop(vmm);
    let end = server.join().unwrap();
    assert!(!end.guest_memory_unshared, "{end:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
