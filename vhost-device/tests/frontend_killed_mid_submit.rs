//! A frontend that vanishes while its submission runs: the submission finishes on memory that
//! stays mapped (the view's own mapping, not the frontend's), then the session releases
//! everything and the listener serves the next frontend.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{request, resp_type, Vmm, REQ, RESP};
use vhost::vhost_user::Listener;
use vhost_device::context::{ContextBackend, ContextFactory, ResourceViews, SubmitError};
use vhost_device::server::{device_limits, HostInfo, Service, DEFAULT_MEMORY_TABLE_GRACE};
use virtio_bindings::virtio_gpu as vg;

/// A context whose submission signals that it started, sleeps past the frontend's death, then
/// reads the resource it was given.
struct SlowFactory(Arc<Mutex<mpsc::Sender<()>>>, Arc<Mutex<Option<Vec<u8>>>>);
struct SlowContext(Arc<Mutex<mpsc::Sender<()>>>, Arc<Mutex<Option<Vec<u8>>>>);

impl ContextFactory for SlowFactory {
    fn create(&self, _: u32, _: &str) -> Box<dyn ContextBackend> {
        Box::new(SlowContext(self.0.clone(), self.1.clone()))
    }
}

impl ContextBackend for SlowContext {
    fn submit(&mut self, _: &[u8], resources: &dyn ResourceViews) -> Result<(), SubmitError> {
        let view = resources
            .view(1)
            .ok_or(SubmitError::Invalid("no resource 1".into()))?;
        self.0.lock().unwrap().send(()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let mut b = vec![0u8; view.len()];
        // SAFETY: the Arc keeps the view mapped for len() bytes.
        unsafe { std::ptr::copy_nonoverlapping(view.as_ptr(), b.as_mut_ptr(), b.len()) };
        *self.1.lock().unwrap() = Some(b);
        Ok(())
    }
}

#[test]
fn frontend_gone_mid_submit_releases_after_the_work_and_next_frontend_is_served() {
    let dir = std::env::temp_dir().join(format!("softgpu-dev-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gpu.sock");
    let listener = Arc::new(Mutex::new(Listener::new(&path, true).unwrap()));
    let (started_tx, started) = mpsc::channel();
    let read_back = Arc::new(Mutex::new(None));
    let service = Arc::new(Service {
        factory: Arc::new(SlowFactory(
            Arc::new(Mutex::new(started_tx)),
            read_back.clone(),
        )),
        limits: device_limits(8, 2, HostInfo { mem_total: 8 << 30 }),
        memory_table_grace: DEFAULT_MEMORY_TABLE_GRACE,
    });
    let serve = |service: &Arc<Service>| {
        let (s, l) = (service.clone(), listener.clone());
        std::thread::spawn(move || s.serve_one(&mut l.lock().unwrap()).unwrap())
    };

    let server = serve(&service);
    let mut vmm = Vmm::connect(&path);
    let ctx = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_CREATE;
    vmm.request(&request(ctx, 0, 0, 1, &[0; 18]));
    let create = [1, 0, 0, 0, 4096, 1, 1, 1, 0, 0, 0, 0];
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_CREATE_3D;
    vmm.request(&request(t, 0, 0, 1, &create));
    vmm.write(0x30_0000, &[0x77; 4096]);
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING;
    vmm.request(&request(t, 0, 0, 0, &[1, 1, 0x30_0000, 0, 4096, 0]));
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE;
    vmm.request(&request(t, 0, 0, 1, &[1, 0]));
    let t = vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_SUBMIT_3D;
    let mut submit = request(t, vg::VIRTIO_GPU_FLAG_FENCE, 1, 1, &[4, 0]);
    submit.extend(b"slow");
    vmm.write(REQ, &submit);
    vmm.post_nowait(0, &[(REQ, submit.len() as u32, 1, 1), (RESP, 4096, 2, 0)]);
    started.recv_timeout(Duration::from_secs(10)).unwrap();
    // The frontend dies mid-submit: its socket and its mapping of guest RAM go away.
    drop(vmm);
    let end = server.join().unwrap();
    assert_eq!((end.resources_released, end.contexts_released), (1, 1));
    assert_eq!(
        read_back.lock().unwrap().as_deref(),
        Some(&[0x77u8; 4096][..])
    );

    let server = serve(&service);
    let mut vmm = Vmm::connect(&path);
    let r = vmm.request(&request(
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_CMD_GET_DISPLAY_INFO,
        0,
        0,
        0,
        &[],
    ));
    assert_eq!(
        resp_type(&r),
        vg::virtio_gpu_ctrl_type_VIRTIO_GPU_RESP_OK_DISPLAY_INFO
    );
    drop(vmm);
    server.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
