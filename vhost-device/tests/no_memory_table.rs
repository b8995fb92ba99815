//! A frontend that negotiates but never sends a memory table (QEMU without `share=on` guest
//! RAM) is noticed: the device logs what is probably wrong instead of waiting silently, and the
//! session reports it. A frontend that does send one is not flagged.
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vhost::vhost_user::{Frontend, Listener};
use vhost::VhostBackend;
use vhost_device::context::{ContextBackend, ContextFactory, ResourceViews, SubmitError};
use vhost_device::server::{device_limits, HostInfo, Service, SessionEnd};

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

/// Serves one frontend that sets up the device like QEMU does — but stops short of the memory
/// table, and of SET_FEATURES too unless `set_features` — and stays connected for `stay`.
fn session_without_memory_table(
    name: &str,
    grace: Duration,
    set_features: bool,
    stay: Duration,
) -> SessionEnd {
    let dir = std::env::temp_dir().join(format!("softgpu-dev-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gpu.sock");
    let listener = Arc::new(Mutex::new(Listener::new(&path, true).unwrap()));
    let service = Arc::new(Service {
        factory: Arc::new(NoContexts),
        limits: device_limits(8, 2, HostInfo { mem_total: 8 << 30 }),
        memory_table_grace: grace,
    });
    let (s, l) = (service.clone(), listener.clone());
    let server = std::thread::spawn(move || s.serve_one(&mut l.lock().unwrap()).unwrap());
    let fe = Frontend::from_stream(UnixStream::connect(&path).unwrap(), 2);
    fe.set_owner().unwrap();
    let features = fe.get_features().unwrap();
    if set_features {
        fe.set_features(features).unwrap();
    }
    std::thread::sleep(stay);
    drop(fe);
    let end = server.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    end
}

#[test]
fn a_frontend_without_a_memory_table_is_diagnosed() {
    let end = session_without_memory_table(
        "nomem",
        Duration::from_millis(300),
        true,
        Duration::from_millis(900),
    );
    assert!(
        end.memory_table_missing,
        "a frontend without a memory table went unnoticed"
    );
}

/// QEMU connects at start-up but sets features and sends the table only when the guest driver
/// starts the device, which can take seconds under TCG: that wait is not a missing table.
#[test]
fn a_frontend_waiting_for_its_guest_to_boot_is_not_flagged() {
    let end = session_without_memory_table(
        "boot",
        Duration::from_millis(300),
        false,
        Duration::from_millis(900),
    );
    assert!(
        !end.memory_table_missing,
        "a frontend still waiting for its guest was flagged"
    );
}

/// QEMU 10 with unshared guest RAM sends no SET_FEATURES either (seen in a VM): after a much
/// longer wait (six times the grace) the device still says what is probably wrong.
#[test]
fn a_frontend_that_never_starts_the_device_is_diagnosed_after_the_long_grace() {
    let end = session_without_memory_table(
        "long",
        Duration::from_millis(100),
        false,
        Duration::from_millis(900),
    );
    assert!(
        end.memory_table_missing,
        "a frontend that never started the device went unnoticed"
    );
}
