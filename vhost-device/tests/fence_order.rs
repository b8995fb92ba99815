//! Fenced requests that arrive while a submission runs: they take effect at once, in
//! control-queue order (the Linux driver sends RESOURCE_CREATE_3D with a fence and then
//! ATTACH_BACKING without one, and the attach must find the resource), but their completions
//! wait behind the submission, so that fences complete in order (Linux treats fence N as
//! signalling every earlier one). Found in the guest: the events test's buffer allocated while
//! a submission waited on an event got ERR_INVALID_RESOURCE_ID for its backing.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{request, resp_type, Vmm};
use vhost::vhost_user::Listener;
use vhost_device::context::{ContextBackend, ContextFactory, ResourceViews, SubmitError};
use vhost_device::server::{device_limits, HostInfo, Service, DEFAULT_MEMORY_TABLE_GRACE};
use virtio_bindings::virtio_gpu as vg;

type Gate = Arc<Mutex<mpsc::Receiver<()>>>;

/// A context whose submission says it started, then waits until the test opens the gate.
struct GatedFactory(Arc<Mutex<mpsc::Sender<()>>>, Gate);
struct GatedContext(Arc<Mutex<mpsc::Sender<()>>>, Gate);

impl ContextFactory for GatedFactory {
    fn create(&self, _: u32, _: &str) -> Box<dyn ContextBackend> {
        Box::new(GatedContext(self.0.clone(), self.1.clone()))
    }
}

impl ContextBackend for GatedContext {
    fn submit(&mut self, _: &[u8], _: &dyn ResourceViews) -> Result<(), SubmitError> {
        self.0.lock().unwrap().send(()).unwrap();
        self.1
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| SubmitError::Invalid("gate never opened".into()))
    }
}

const OK: u32 = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_NODATA;
// Request and response buffers (GPAs) of the three outstanding chains.
const SUBMIT: (u64, u64) = (0x30_0000, 0x31_0000);
const CREATE: (u64, u64) = (0x32_0000, 0x33_0000);
const ATTACH: (u64, u64) = (0x34_0000, 0x35_0000);

fn post(vmm: &mut Vmm, head: u16, (req, resp): (u64, u64), bytes: &[u8]) {
    vmm.write(req, bytes);
    vmm.write(resp, &[0xee; 64]);
    vmm.post_at(
        0,
        head,
        &[(req, bytes.len() as u32, false), (resp, 64, true)],
    );
}

#[test]
fn fenced_create_takes_effect_at_once_and_completes_after_the_running_submit() {
    let dir = std::env::temp_dir().join(format!("softgpu-dev-fence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gpu.sock");
    let mut listener = Listener::new(&path, true).unwrap();
    let (started_tx, started) = mpsc::channel();
    let (open_gate, gate) = mpsc::channel();
    let service = Arc::new(Service {
        factory: Arc::new(GatedFactory(
            Arc::new(Mutex::new(started_tx)),
            Arc::new(Mutex::new(gate)),
        )),
        limits: device_limits(8, 2, HostInfo { mem_total: 8 << 30 }),
        memory_table_grace: DEFAULT_MEMORY_TABLE_GRACE,
    });
    let s = service.clone();
    let server = std::thread::spawn(move || s.serve_one(&mut listener).unwrap());
    let mut vmm = Vmm::connect(&path);
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE;
    assert_eq!(resp_type(&vmm.request(&request(t, 0, 0, 1, &[0; 18]))), OK);

    // Fence 1: a submission that blocks in the context until the gate opens.
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SUBMIT_3D;
    let mut submit = request(t, vg::VIRTIO_GPU_FLAG_FENCE, 1, 1, &[4, 0]);
    submit.extend(b"gate");
    post(&mut vmm, 0, SUBMIT, &submit);
    started.recv_timeout(Duration::from_secs(10)).unwrap();

    // Fence 2: a buffer resource, then (unfenced) its backing, as the Linux driver sends them.
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_3D;
    let create = [7, 0, 0, 0, 4096, 1, 1, 1, 0, 0, 0, 0];
    post(
        &mut vmm,
        2,
        CREATE,
        &request(t, vg::VIRTIO_GPU_FLAG_FENCE, 2, 1, &create),
    );
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING;
    post(
        &mut vmm,
        4,
        ATTACH,
        &request(t, 0, 0, 0, &[7, 1, 0x40_0000, 0, 4096, 0]),
    );

    // The attach is answered while the submission still runs, and it found the resource.
    assert_eq!(vmm.wait_used(0).0, 4, "the unfenced attach completes first");
    assert_eq!(
        resp_type(&vmm.read(ATTACH.1, 24)),
        OK,
        "attach found the resource"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        vmm.try_used(0),
        None,
        "fence 2 must not complete before fence 1"
    );

    open_gate.send(()).unwrap();
    assert_eq!(
        vmm.wait_used(0).0,
        0,
        "fence 1 (the submission) completes first"
    );
    assert_eq!(vmm.wait_used(0).0, 2, "then fence 2 (the create)");
    let create_resp = vmm.read(CREATE.1, 24);
    assert_eq!(resp_type(&create_resp), OK);
    assert_eq!(&create_resp[8..16], &2u64.to_le_bytes(), "fence id echoed");
    assert_eq!(resp_type(&vmm.read(SUBMIT.1, 24)), OK);

    drop(vmm);
    let end = server.join().unwrap();
    assert_eq!((end.resources_released, end.contexts_released), (1, 1));
    let _ = std::fs::remove_dir_all(&dir);
}
