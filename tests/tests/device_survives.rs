//! One long-lived `vhost-device` (locked down, one listener) serves client after client and
//! stays up and leak-free — open descriptors and memory mappings back to their baseline —
//! across a client SIGKILLed in the middle of a dispatch, clients one after another, a
//! hostile frontend sending malformed virtio-gpu commands and descriptor chains, and a client
//! with invalid SPIR-V.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use softgpu_icd::transport::vhost_user::gpu_commands as cmd;
use softgpu_icd::transport::vhost_user::virtqueue::RawDescriptor;
use softgpu_icd::transport::vhost_user::{FeatureOptions, VhostUserGpu};

const RESP_OK_NODATA: u32 = 0x1100;
const RESP_ERR_UNSPEC: u32 = 0x1200;
const RESP_ERR_INVALID_RESOURCE_ID: u32 = 0x1203;
const CMD_RESOURCE_ATTACH_BACKING: u32 = 0x0106;
const CMD_RESOURCE_UNREF: u32 = 0x0102;
const CMD_SUBMIT_3D: u32 = 0x0207;
const CMD_CTX_CREATE: u32 = 0x0200;

/// The shared external device, with what this test asks of it.
struct Device(common::ExternalDevice);

impl std::ops::Deref for Device {
    type Target = common::ExternalDevice;
    fn deref(&self) -> &common::ExternalDevice {
        &self.0
    }
}

impl std::ops::DerefMut for Device {
    fn deref_mut(&mut self) -> &mut common::ExternalDevice {
        &mut self.0
    }
}

impl Device {
    fn start(dir: &Path) -> Device {
        Device(common::ExternalDevice::start(dir, &["-v"]))
    }

    /// (open descriptors, memory mappings) of the device process.
    fn resources(&self) -> (usize, usize) {
        let fds = std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .unwrap()
            .count();
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", self.pid()))
            .unwrap()
            .lines()
            .count();
        (fds, maps)
    }

    /// Waits until the device is back to `baseline`, or fails with what it holds.
    fn settles_to(&mut self, baseline: (usize, usize), after: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.assert_alive();
            let now = self.resources();
            if now.0 <= baseline.0 && now.1 <= baseline.1 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "after {after}: device holds {now:?} (fds, mappings), baseline {baseline:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn client(&self, args: &[&str]) -> Command {
        let mut c = Command::new(softgpu_e2e::target_dir().join("softgpu-demo"));
        c.args(args)
            .envs(common::env().iter().map(|(k, v)| (k, v)))
            .env("SOFTGPU_VHOST_SOCKET", &self.socket)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }
}

fn response_type(resp: &[u8]) -> u32 {
    u32::from_le_bytes([resp[0], resp[1], resp[2], resp[3]])
}

#[test]
fn device_survives_killed_clients_sequential_clients_and_hostile_frontends() {
    if common::reference_run() {
        return;
    }
    let dir = common::work_dir().join("survives");
    std::fs::create_dir_all(&dir).unwrap();
    let mut dev = Device::start(&dir);
    let png = dir.join("out.png");
    let png_arg = png.to_str().unwrap();
    // The baseline is taken after one ordinary client: the first session starts threads whose
    // stacks glibc then keeps cached for reuse (a one-time cost, not a per-session leak).
    let warm_up = dev.client(&[png_arg, "64", "64"]).output().unwrap();
    assert!(
        warm_up.status.success(),
        "{}",
        String::from_utf8_lossy(&warm_up.stderr)
    );
    std::thread::sleep(Duration::from_millis(300));
    let baseline = dev.resources();

    // 1. A client SIGKILLed in the middle of a long dispatch (a 4096² Mandelbrot takes seconds
    //    here; set-up takes ~0.2 s).
    let mut victim = dev.client(&[png_arg, "4096", "4096"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        victim.try_wait().unwrap().is_none(),
        "the client finished too early to be killed mid-dispatch"
    );
    victim.kill().unwrap();
    victim.wait().unwrap();
    dev.settles_to(baseline, "a client killed mid-dispatch");

    // 2. Clients one after another, on the same listener.
    for round in 0..2 {
        let out = dev.client(&[png_arg, "96", "64"]).output().unwrap();
        assert!(
            out.status.success(),
            "client {round} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        dev.settles_to(baseline, "a client that exited normally");
    }

    // 3. A hostile frontend: malformed commands get error responses, never a crash.
    {
        let stream = UnixStream::connect(&dev.socket).unwrap();
        let gpu = VhostUserGpu::connect(stream, FeatureOptions::default(), 64 << 20).unwrap();
        let expect = |req: &[u8], what: &str, ok: &dyn Fn(u32) -> bool| {
            let resp = gpu.send_raw(req, 64).unwrap();
            let t = response_type(&resp);
            assert!(ok(t), "{what}: response {t:#x}");
        };
        let is_err = |t: u32| t >= RESP_ERR_UNSPEC;
        // Attach backing to a resource that does not exist.
        let attach = |res: u32, nr: u32, entries: &[u8]| {
            cmd::Request::new(CMD_RESOURCE_ATTACH_BACKING, 0, 0, 0)
                .u32(res)
                .u32(nr)
                .bytes(entries)
                .into_bytes()
        };
        let one_page = cmd::mem_entries([2u64 << 20].into_iter(), 4096);
        expect(
            &attach(777, 1, &one_page),
            "ATTACH_BACKING to a bad resource id",
            &|t| t == RESP_ERR_INVALID_RESOURCE_ID,
        );
        expect(
            &cmd::resource_create_buffer_3d(5, 0, 8192),
            "RESOURCE_CREATE_3D",
            &|t| t == RESP_OK_NODATA,
        );
        // nr_entries = 2^32 - 1 with one entry present: refused before any allocation.
        expect(
            &attach(5, u32::MAX, &one_page),
            "ATTACH_BACKING nr_entries = 2^32-1",
            &is_err,
        );
        // Backing outside guest memory.
        let far = cmd::mem_entries([1u64 << 40, (1u64 << 40) + 4096].into_iter(), 4096);
        expect(
            &attach(5, 2, &far),
            "ATTACH_BACKING outside guest memory",
            &is_err,
        );
        // Overlapping entries (the same page twice): a defined result — aliasing or an error.
        let same = cmd::mem_entries([2u64 << 20, 2u64 << 20].into_iter(), 4096);
        expect(
            &attach(5, 2, &same),
            "ATTACH_BACKING with overlapping entries",
            &|t| t == RESP_OK_NODATA || is_err(t),
        );
        // Unknown command, truncated command.
        expect(
            &cmd::Request::new(0x0fff, 0, 0, 0).into_bytes(),
            "unknown command",
            &is_err,
        );
        expect(&[0u8; 7], "truncated header", &is_err);
        // SUBMIT_3D of garbage in a context that exists.
        let mut name = [0u8; 64];
        name[..4].copy_from_slice(b"evil");
        let ctx = cmd::Request::new(CMD_CTX_CREATE, 0, 0, 9)
            .u32(4)
            .u32(0)
            .bytes(&name)
            .into_bytes();
        expect(&ctx, "CTX_CREATE", &|t| t == RESP_OK_NODATA);
        let garbage = [0xffu8; 40];
        let submit = cmd::Request::new(CMD_SUBMIT_3D, 0, 0, 9)
            .u32(garbage.len() as u32)
            .u32(0)
            .bytes(&garbage)
            .into_bytes();
        expect(&submit, "SUBMIT_3D of a garbage stream", &is_err);
        // SUBMIT_3D whose size field claims more than is present.
        let lying = cmd::Request::new(CMD_SUBMIT_3D, 0, 0, 9)
            .u32(u32::MAX)
            .u32(0)
            .into_bytes();
        expect(&lying, "SUBMIT_3D with a lying size", &is_err);
        // A descriptor chain that loops onto itself.
        let ram_base = softgpu_icd::transport::vhost_user::guest_ram::GUEST_RAM_BASE;
        let buf = ram_base + (32 << 20);
        let looping = [
            RawDescriptor {
                gpa: buf,
                len: 24,
                flags: 1,
                next: 1,
            },
            RawDescriptor {
                gpa: buf + 64,
                len: 24,
                flags: 1,
                next: 0,
            },
        ];
        let _ = gpu.send_chain(&looping, Duration::from_secs(2));
        // The device still answers this frontend after all that.
        expect(
            &cmd::Request::new(CMD_RESOURCE_UNREF, 0, 0, 0)
                .u32(5)
                .u32(0)
                .into_bytes(),
            "RESOURCE_UNREF",
            &|t| t == RESP_OK_NODATA,
        );
        dev.assert_alive();
    }
    dev.settles_to(baseline, "a hostile frontend");

    // 4. A client (this process, through the loader) whose SPIR-V is garbage gets an error
    //    VkResult; then a real pipeline works on the same device.
    std::env::set_var("SOFTGPU_VHOST_SOCKET", &dev.socket);
    {
        let gpu = common::gpu();
        let garbage: Vec<u32> = vec![0x0723_0203, 0x0001_0000, 0, 100, 0, 0x0004_ffff, 1, 2, 3];
        assert!(
            gpu.pipeline(&garbage, 1, 0, &[]).is_err(),
            "garbage SPIR-V made a pipeline"
        );
        let out = gpu.buffer(4 * 64).unwrap();
        let p = gpu
            .pipeline(&common::shader("fill", &[("VALUE", "3")]), 1, 0, &[])
            .unwrap();
        gpu.dispatch(&p, &[&out], &[], [2, 1, 1]).unwrap();
        let got: Vec<u32> = out.read(64);
        assert_eq!(got[63], 3 * 63);
        gpu.destroy_pipeline(p);
        gpu.destroy_buffer(out);
    }
    dev.settles_to(baseline, "a client with invalid SPIR-V");

    // 5. And a normal client still works afterwards.
    let out = dev.client(&[png_arg, "64", "64"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dev.settles_to(baseline, "the last client");

    // After every session (the killed client's included) the device's contexts hold nothing:
    // no Vulkan object, descriptor, host byte or compile.
    let log = std::fs::read_to_string(dir.join("device.log")).unwrap();
    let live: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("live after the session: ").map(|(_, r)| r))
        .collect();
    assert!(live.len() >= 6, "sessions that reported: {live:?}");
    for l in &live {
        assert_eq!(
            *l, "objects 0 descriptors 0 host_bytes 0 compiles 0",
            "{log}"
        );
    }
}
