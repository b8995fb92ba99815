//! Shared set-up for the end-to-end tests: the loader is pointed at this workspace's ICD (the
//! embedded default: the ICD starts its own vhost-device, which starts jit-host), once per
//! test process, before any Vulkan call.
//!
//! Inside the test guest (scripts/build-guest ships these test binaries) `SOFTGPU_E2E_SYSTEM_ICD=1`
//! leaves the loader to find the ICD installed in the guest (and its virtgpu transport), and
//! `SOFTGPU_E2E_SHADER_DIR` names where the GLSL sources are, since this crate's directory is a
//! host path.
#![allow(dead_code, clippy::unwrap_used)]

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use softgpu_e2e::{softgpu_env, target_dir, Gpu};

/// A private directory for this test process: manifest and device logs.
pub fn work_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("softgpu-e2e-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// The environment a child process needs to run on softgpu.
pub fn env() -> &'static Vec<(String, String)> {
    static ENV: OnceLock<Vec<(String, String)>> = OnceLock::new();
    ENV.get_or_init(|| softgpu_env(work_dir(), &target_dir()).unwrap())
}

/// Points this process's loader at softgpu (idempotent; call before any Vulkan use).
/// `SOFTGPU_E2E_DRIVER=lavapipe` runs the same tests on lavapipe instead, to check the tests.
pub fn use_softgpu() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if system_icd() {
            std::env::set_var("VK_LOADER_LAYERS_DISABLE", "~explicit~");
            return;
        }
        if reference_run() {
            std::env::set_var("VK_DRIVER_FILES", "/usr/share/vulkan/icd.d/lvp_icd.json");
            std::env::set_var("VK_LOADER_LAYERS_DISABLE", "~explicit~");
            return;
        }
        for (k, v) in env() {
            // Set once, before any thread of this test process has loaded the loader.
            std::env::set_var(k, v);
        }
    });
}

/// A fresh instance + device on softgpu.
pub fn gpu() -> Gpu {
    use_softgpu();
    let gpu = Gpu::new().unwrap();
    if !reference_run() {
        assert!(
            gpu.name().contains("softgpu"),
            "loader picked {:?}",
            gpu.name()
        );
    }
    gpu
}

/// Whether the loader should use the ICD installed on this system (the test guest's).
pub fn system_icd() -> bool {
    std::env::var_os("SOFTGPU_E2E_SYSTEM_ICD").is_some_and(|v| v == "1")
}

/// `renderer/tests/shaders/<name>.comp` (or `$SOFTGPU_E2E_SHADER_DIR/<name>.comp`) compiled to
/// SPIR-V words.
pub fn shader(name: &str, defines: &[(&str, &str)]) -> Vec<u32> {
    let dir = std::env::var_os("SOFTGPU_E2E_SHADER_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../renderer/tests/shaders"),
        PathBuf::from,
    );
    let path = dir.join(format!("{name}.comp"));
    softgpu_e2e::glsl_to_spirv(&path, defines).unwrap()
}

/// Deterministic pseudo-random numbers (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
    }
}

/// True when the tests run on lavapipe to check themselves (`SOFTGPU_E2E_DRIVER=lavapipe`).
pub fn reference_run() -> bool {
    std::env::var("SOFTGPU_E2E_DRIVER").is_ok_and(|v| v == "lavapipe")
}

/// A `vhost-device` of a test's own, listening on `dir/gpu.sock` and logging to
/// `dir/device.log`; killed when dropped.
pub struct ExternalDevice {
    child: Child,
    pub socket: PathBuf,
    pub log: PathBuf,
}

impl ExternalDevice {
    /// Starts the workspace's device with `args` added and waits until its socket accepts.
    pub fn start(dir: &Path, args: &[&str]) -> ExternalDevice {
        std::fs::create_dir_all(dir).unwrap();
        let target = target_dir();
        let socket = dir.join("gpu.sock");
        let log = dir.join("device.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(target.join("vhost-device"))
            .arg("--socket-path")
            .arg(&socket)
            .arg("--jit-host")
            .arg(target.join("jit-host"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let device = ExternalDevice { child, socket, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        while UnixStream::connect(&device.socket).is_err() {
            assert!(Instant::now() < deadline, "device socket never appeared");
            std::thread::sleep(Duration::from_millis(20));
        }
        // That probe connection counts as a (short) client; let the device release it.
        std::thread::sleep(Duration::from_millis(200));
        device
    }

    /// Points this process's loader at softgpu talking to this device (process-wide: call
    /// before any Vulkan use).
    pub fn use_for_this_process(&self) {
        use_softgpu();
        std::env::set_var("SOFTGPU_VHOST_SOCKET", &self.socket);
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn assert_alive(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the device exited during the test"
        );
    }
}

impl Drop for ExternalDevice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether this test process runs on lavapipe alone: `SOFTGPU_E2E_REFERENCE_ONLY=1` (to check
/// the tests themselves) or `SOFTGPU_E2E_DRIVER=lavapipe`.
pub fn lavapipe_only() -> bool {
    std::env::var("SOFTGPU_E2E_REFERENCE_ONLY").is_ok_and(|v| v == "1") || reference_run()
}

/// A graphics context on softgpu, or on lavapipe when [`lavapipe_only`].
pub fn graphics_context() -> softgpu_e2e::graphics::GraphicsContext {
    static SETUP: OnceLock<()> = OnceLock::new();
    let lavapipe = lavapipe_only();
    SETUP.get_or_init(|| {
        if lavapipe {
            std::env::set_var("VK_DRIVER_FILES", "/usr/share/vulkan/icd.d/lvp_icd.json");
            std::env::set_var("VK_LOADER_LAYERS_DISABLE", "~explicit~");
        } else {
            use_softgpu();
        }
    });
    let ctx = softgpu_e2e::graphics::GraphicsContext::new().unwrap();
    if !lavapipe {
        assert!(
            ctx.name().contains("softgpu"),
            "loader picked {:?}",
            ctx.name()
        );
    }
    ctx
}
