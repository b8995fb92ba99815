//! The device process: command line, start-up, lockdown and the accept loop (DESIGN §1, §5).
//!
//! Start-up order matters for the sandbox: parse; create the renderer device (spawns jit-host,
//! maps the code arena); read everything needed from /proc and /sys; bind the listener once;
//! lock down; then serve frontends one after another on that one listener, each with a fresh
//! [`VirtioGpuBackend`] that is dropped — with all the frontend's contexts, resources, views
//! and guest memory — when the frontend disconnects.

use std::num::NonZeroUsize;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use clap::Parser;
use protocol::{Capset, PROTOCOL_VERSION};
use thiserror::Error;
use vhost::vhost_user::Listener;
use vhost_user_backend::VhostUserDaemon;
use vm_memory::{GuestMemoryAtomic, GuestMemoryMmap};

use crate::backend::VirtioGpuBackend;
use crate::context::{ContextFactory, LiveObjects};
use crate::gpu::{DeviceLimits, VirtioGpu};
use crate::lockdown::{self, LockdownError, Peers, Violation};
use crate::vk::ClientLimits;

/// softgpu's virtio-gpu device: a vhost-user backend that runs the guest's Vulkan work on the
/// host CPU. Start it before the VMM (QEMU connects to --socket-path).
#[derive(Parser, Debug, Clone)]
#[command(name = "vhost-device", version)]
pub struct Args {
    /// Unix socket to listen on for the vhost-user frontend (QEMU, crosvm, or softgpu's ICD).
    /// A stale socket file there is replaced. One frontend is served at a time; when it
    /// disconnects, everything it owned is released and the next one is accepted.
    #[arg(
        long,
        value_name = "PATH",
        required_unless_present = "embedded",
        conflicts_with = "embedded"
    )]
    pub socket_path: Option<PathBuf>,

    /// The jit-host binary (the sandboxed shader compiler this device starts).
    /// Default: `jit-host` next to this executable.
    #[arg(long, value_name = "PATH")]
    pub jit_host: Option<PathBuf>,

    /// Worker threads that run shaders. Default: the available parallelism.
    #[arg(long, value_name = "N")]
    pub threads: Option<NonZeroUsize>,

    /// More logging (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Serve exactly one frontend on the listening unix socket inherited as file descriptor
    /// FD, then exit when it disconnects (how softgpu's ICD starts a private device).
    #[arg(long, value_name = "FD")]
    pub embedded: Option<RawFd>,

    /// Do not lock the process down (no MDWE, no seccomp filter). For debugging only: the
    /// device then parses guest input with the power to map executable memory and open files.
    #[arg(long)]
    pub no_sandbox: bool,

    /// What a system call outside the sandbox's allow-list does: `kill` the device (the
    /// default, for production) or fail with `errno` EPERM (for finding a call the allow-list
    /// lacks: the device then logs an error instead of vanishing).
    #[arg(long, value_enum, value_name = "ACTION", default_value = "kill")]
    pub sandbox_violation: SandboxViolation,

    /// Live Vulkan objects one client may hold (default 1048576). The capset announces it:
    /// the ICD refuses a create past it at once (VK_ERROR_OUT_OF_HOST_MEMORY).
    #[arg(long, value_name = "N")]
    pub max_objects: Option<u64>,

    /// Descriptors the live descriptor sets of one client may hold together (default
    /// 4194304); announced in the capset like `--max-objects`.
    #[arg(long, value_name = "N")]
    pub max_descriptors: Option<u64>,

    /// Largest command stream the device decodes, in bytes: one SUBMIT_3D payload, or one
    /// recorded command buffer (default 67108864). Announced in the capset: the ICD sends
    /// what outgrows one stream in several, and refuses a single command past it at once.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(4096..))]
    pub max_stream_size: Option<u32>,
}

impl Args {
    /// The per-client limits: the defaults, with the caps given on the command line.
    pub fn client_limits(&self) -> ClientLimits {
        let default = ClientLimits::default();
        ClientLimits {
            max_objects: self.max_objects.unwrap_or(default.max_objects),
            max_descriptors: self.max_descriptors.unwrap_or(default.max_descriptors),
            max_command_buffer_size: self
                .max_stream_size
                .map_or(default.max_command_buffer_size, u64::from),
            ..default
        }
    }
}

/// `--sandbox-violation`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SandboxViolation {
    Kill,
    Errno,
}

impl From<SandboxViolation> for Violation {
    fn from(v: SandboxViolation) -> Violation {
        match v {
            SandboxViolation::Kill => Violation::Kill,
            SandboxViolation::Errno => Violation::Errno,
        }
    }
}

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("starting the renderer: {0}")]
    Renderer(#[from] renderer::RendererError),
    #[error("listening on {path}: {source}")]
    Listen {
        path: PathBuf,
        source: vhost::vhost_user::Error,
    },
    #[error("--embedded {0}: not a listening unix socket: {1}")]
    Embedded(RawFd, std::io::Error),
    #[error("locking down: {0}")]
    Lockdown(#[from] LockdownError),
    #[error("vhost-user: {0}")]
    Daemon(String),
}

/// Sets up logging from `-v` (RUST_LOG wins when set).
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let env = env_logger::Env::default().default_filter_or(level);
    let _ = env_logger::Builder::from_env(env)
        .format_timestamp_micros()
        .try_init();
}

/// Host facts read before lockdown.
#[derive(Clone, Copy, Debug)]
pub struct HostInfo {
    /// `MemTotal` from /proc/meminfo, bytes.
    pub mem_total: u64,
}

impl HostInfo {
    pub fn read() -> HostInfo {
        let mem_total = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| parse_mem_total(&s))
            .unwrap_or(4 << 30);
        HostInfo { mem_total }
    }
}

fn parse_mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The limits one frontend gets, from the renderer's real ones and the host's memory, with the
/// default [`ClientLimits`] (those [`run`]'s executor enforces).
pub fn device_limits(subgroup_size: u32, threads: usize, host: HostInfo) -> DeviceLimits {
    device_limits_for(subgroup_size, threads, host, &ClientLimits::default())
}

/// [`device_limits`] for an executor that enforces `client`: the capset carries its caps, so
/// that the ICD refuses past them synchronously.
pub fn device_limits_for(
    subgroup_size: u32,
    threads: usize,
    host: HostInfo,
    client: &ClientLimits,
) -> DeviceLimits {
    let capset = Capset {
        protocol_version: PROTOCOL_VERSION,
        subgroup_size,
        threads: u32::try_from(threads).unwrap_or(u32::MAX),
        max_compute_workgroup_invocations: shader::ir::MAX_WORKGROUP_INVOCATIONS,
        max_compute_workgroup_size: [1024, 1024, 64],
        max_compute_workgroup_count: [renderer::MAX_WORKGROUP_COUNT; 3],
        max_compute_shared_memory_size: shader::ir::MAX_WORKGROUP_MEMORY,
        max_push_constants_size: shader::ir::MAX_PUSH_CONSTANTS,
        max_storage_buffer_range: u32::MAX,
        max_uniform_buffer_range: 65536,
        min_storage_buffer_offset_alignment: 16,
        min_uniform_buffer_offset_alignment: 16,
        max_bound_descriptor_sets: 8,
        max_memory_allocation_size: 4 << 30,
        // GET_CAPSET answers the smaller of this and the guest's RAM.
        device_memory_budget: host.mem_total / 4 * 3,
        // One limit for the top-level stream and for a recorded command buffer (the capset
        // announces one).
        max_stream_size: u32::try_from(client.max_command_buffer_size).unwrap_or(u32::MAX),
        client: client.caps(),
    };
    DeviceLimits {
        capset,
        // vm.max_map_count is 65530 for the whole process: leave ~16k for libraries, thread
        // stacks, the arena and the vhost-user regions. A 64 MiB block sent as shuffled
        // 4 KiB pages takes 16384 mappings on its own.
        max_mapping_runs: 49152,
        max_resources: 65536,
        max_contexts: 256,
        max_image_bytes: 512 << 20,
    }
}

/// What serving needs, built once per process.
pub struct Service {
    pub factory: Arc<dyn ContextFactory>,
    pub limits: DeviceLimits,
    /// How long a frontend that set the device's features may go without sending its memory
    /// table before the device says what is probably wrong ([`DEFAULT_MEMORY_TABLE_GRACE`]).
    pub memory_table_grace: Duration,
}

/// A frontend that set the device's features but sent no memory table after this long is almost
/// certainly a QEMU whose guest RAM is not shared (FACTS: it then logs `vhost_set_mem_table failed`).
pub const DEFAULT_MEMORY_TABLE_GRACE: Duration = Duration::from_secs(5);

/// Watches one session for a missing memory table, and for kicks whose requests the device
/// never sees (guest RAM mapped private), and logs the likely cause of each once.
struct MemoryTableWatch {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<bool>>,
}

impl MemoryTableWatch {
    fn start(backend: Arc<VirtioGpuBackend>, grace: Duration) -> MemoryTableWatch {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("softgpu-memwatch".into())
            .spawn(move || {
                // A guest may take long to boot (seconds under TCG) before its driver starts
                // the device; the clock starts when the frontend sets the device's features,
                // which QEMU does right before it would send the memory table.
                let (stopped, cv) = &*flag;
                let mut guard = stopped.lock().unwrap_or_else(|p| p.into_inner());
                // Without SET_FEATURES either (QEMU 10 with unshared RAM sends neither; seen in
                // a VM here), a much longer wait: no guest takes that long to start its driver.
                let connected = std::time::Instant::now();
                let long_grace = grace * 6;
                let mut missing = false;
                loop {
                    if *guard {
                        return missing;
                    }
                    let stalled = backend
                        .waiting_for_memory_table()
                        .is_some_and(|w| w >= grace);
                    if !missing
                        && (stalled
                            || (connected.elapsed() >= long_grace && !backend.has_memory_table()))
                    {
                        missing = true;
                        log::warn!(
                            "the frontend has sent no guest memory table (it connected {:?} \
                             ago), so the device cannot reach guest memory. If the guest's \
                             virtio-gpu driver is up, QEMU's guest RAM is probably not shared: \
                             use `-object memory-backend-memfd,id=mem,size=<RAM>,share=on \
                             -machine memory-backend=mem` (QEMU then stops logging \
                             `vhost_set_mem_table failed: Invalid argument`)",
                            connected.elapsed()
                        );
                    }
                    // Kicked, but no request ever seen in the rings (memory table or not).
                    if backend.kicked_unanswered_for().is_some_and(|w| w >= grace) {
                        backend.warn_guest_memory_unshared();
                    }
                    let step = (grace / 4).max(Duration::from_millis(10));
                    guard = cv
                        .wait_timeout(guard, step)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            })
            .ok();
        MemoryTableWatch { stop, thread }
    }

    /// Stops the watch; true if it found the memory table missing.
    fn finish(mut self) -> bool {
        let (stopped, cv) = &*self.stop;
        *stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
        self.thread
            .take()
            .is_some_and(|t| t.join().unwrap_or(false))
    }
}

/// How one frontend's session ended.
#[derive(Debug)]
pub struct SessionEnd {
    /// Resources and contexts still alive when the frontend went (all released now).
    pub resources_released: usize,
    pub contexts_released: usize,
    /// The frontend never sent a memory table within the grace period (see
    /// [`Service::memory_table_grace`]); a warning saying what is probably wrong was logged.
    pub memory_table_missing: bool,
    /// The guest kicked queues that stayed empty in the device's view of its RAM: the RAM is
    /// probably not shared (a memory backend without `share=on`); a warning was logged.
    pub guest_memory_unshared: bool,
    /// What the device's contexts (all clients) hold once this session's were released, if
    /// the context factory keeps count: zeros unless something leaked.
    pub live_after: Option<LiveObjects>,
}

impl Service {
    /// Accepts one frontend on `listener`, serves it until it disconnects, then releases
    /// everything it owned.
    pub fn serve_one(&self, listener: &mut Listener) -> Result<SessionEnd, ServerError> {
        let backend = Arc::new(VirtioGpuBackend::new(VirtioGpu::new(
            self.factory.clone(),
            self.limits.clone(),
        )));
        let mem = GuestMemoryAtomic::new(GuestMemoryMmap::new());
        let mut daemon = VhostUserDaemon::new("softgpu-vhost-user".into(), backend.clone(), mem)
            .map_err(|e| ServerError::Daemon(e.to_string()))?;
        daemon
            .start(listener)
            .map_err(|e| ServerError::Daemon(e.to_string()))?;
        log::info!("frontend connected");
        let watch = MemoryTableWatch::start(backend.clone(), self.memory_table_grace);
        let result = daemon.wait();
        let memory_table_missing = watch.finish();
        // Dropping the daemon joins its queue workers and drops the guest memory table.
        drop(daemon);
        // SAFETY: the daemon is dropped above: its worker threads are joined.
        unsafe { backend.close_exit_events() };
        // Queued submissions are cancelled; the running one finishes (its memory stays mapped
        // until then) and the queue thread ends.
        backend.stop_queue();
        let end = {
            let mut gpu = backend.gpu();
            let end = SessionEnd {
                resources_released: gpu.resource_count(),
                contexts_released: gpu.context_count(),
                memory_table_missing,
                guest_memory_unshared: backend.guest_memory_unshared(),
                live_after: None,
            };
            gpu.reset();
            end
        };
        let end = SessionEnd {
            live_after: self.factory.live(),
            ..end
        };
        match result {
            Ok(())
            | Err(vhost_user_backend::Error::HandleRequest(
                vhost::vhost_user::Error::Disconnected | vhost::vhost_user::Error::PartialMessage,
            )) => log::info!("frontend disconnected; released {end:?}"),
            Err(e) => log::warn!("frontend session ended: {e}; released {end:?}"),
        }
        if let Some(live) = end.live_after {
            // scripts/vm-test reads this line: all zeros, or the session leaked.
            log::info!(
                "live after the session: objects {} descriptors {} host_bytes {} compiles {}",
                live.objects,
                live.descriptors,
                live.host_bytes,
                live.compiles
            );
        }
        Ok(end)
    }

    /// Serves frontends one after another for ever (or one, when `once`).
    pub fn serve(&self, listener: &mut Listener, once: bool) -> Result<(), ServerError> {
        loop {
            self.serve_one(listener)?;
            if once {
                return Ok(());
            }
        }
    }
}

/// Binds the listener: the socket path (a stale file there is replaced), or the inherited fd.
pub fn bind(args: &Args) -> Result<Listener, ServerError> {
    if let Some(fd) = args.embedded {
        check_listening_socket(fd).map_err(|e| ServerError::Embedded(fd, e))?;
        // SAFETY: `fd` is an open listening unix socket (checked above) handed to us by our
        // parent for this purpose; nothing else in the process owns it.
        let listener = unsafe { UnixListener::from_raw_fd(fd) };
        // Keep it out of anything spawned later (`run` did this before starting jit-host).
        set_cloexec(fd).map_err(|e| ServerError::Embedded(fd, e))?;
        return Ok(Listener::from(listener));
    }
    let path = args.socket_path.clone().unwrap_or_default();
    Listener::new(&path, true).map_err(|source| ServerError::Listen { path, source })
}

fn set_cloexec(fd: RawFd) -> std::io::Result<()> {
    nix::fcntl::fcntl(
        fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )?;
    Ok(())
}

fn check_listening_socket(fd: RawFd) -> std::io::Result<()> {
    let mut val: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `val`, a local of that size.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&mut val as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if val == 0 {
        return Err(std::io::Error::other("socket is not listening"));
    }
    Ok(())
}

/// Runs the device process: start-up, lockdown, serve (DESIGN §5's order).
pub fn run(args: Args) -> Result<(), ServerError> {
    if let Some(fd) = args.embedded {
        // Before jit-host is spawned: the inherited listener must not leak into it.
        set_cloexec(fd).map_err(|e| ServerError::Embedded(fd, e))?;
    }
    let jit_host = args.jit_host.clone().or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join("jit-host")))
    });
    let device = Arc::new(renderer::Device::new(renderer::DeviceConfig {
        jit_host_path: jit_host,
        threads: args.threads.map(NonZeroUsize::get),
        allow_test_requests: false,
    })?);
    let host = HostInfo::read();
    // One set of client limits: the executor enforces them, the capset announces them.
    let client = args.client_limits();
    let limits = device_limits_for(device.subgroup_size(), device.threads(), host, &client);
    let factory = context_factory(device.clone(), client);
    let mut listener = bind(&args)?;
    if args.no_sandbox {
        log::warn!("*** --no-sandbox: NOT locked down; guest input is parsed by a process that can map executable memory, open files and run programs ***");
    } else {
        let violation = Violation::from(args.sandbox_violation);
        let peers = Peers::of_this_process(Some(device.jit().supervisor_pid()));
        lockdown::lock_down(violation, &peers)?;
        log::info!("locked down (MDWE + seccomp allow-list, violations: {violation:?})");
        if violation != Violation::Kill {
            log::warn!("--sandbox-violation {violation:?}: a forbidden system call fails instead of killing the device");
        }
    }
    log::info!(
        "serving: subgroup size {}, {} threads, budget cap {} MiB",
        limits.capset.subgroup_size,
        limits.capset.threads,
        limits.capset.device_memory_budget >> 20
    );
    let service = Service {
        factory,
        limits,
        memory_table_grace: DEFAULT_MEMORY_TABLE_GRACE,
    };
    service.serve(&mut listener, args.embedded.is_some())
}

/// The one place the Vulkan executor is chosen.
fn context_factory(device: Arc<renderer::Device>, client: ClientLimits) -> Arc<dyn ContextFactory> {
    Arc::new(crate::vk::VkContextFactory::with_limits(device, client))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_requires_a_socket_or_embedded_and_not_both() {
        Args::command().debug_assert();
        assert!(Args::try_parse_from(["vhost-device"]).is_err());
        assert!(Args::try_parse_from([
            "vhost-device",
            "--socket-path",
            "/tmp/s",
            "--embedded",
            "3"
        ])
        .is_err());
        let a = Args::try_parse_from(["vhost-device", "--embedded", "3", "-vv", "--threads", "2"])
            .unwrap();
        assert_eq!(
            (a.embedded, a.verbose, a.threads.map(NonZeroUsize::get)),
            (Some(3), 2, Some(2))
        );
        assert!(
            Args::try_parse_from(["vhost-device", "--socket-path", "/s", "--threads", "0"])
                .is_err()
        );
    }

    #[test]
    fn sandbox_violations_kill_unless_errno_is_asked_for() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["vhost-device", "--socket-path", "/s"];
            argv.extend_from_slice(extra);
            Args::try_parse_from(argv).map(|a| Violation::from(a.sandbox_violation))
        };
        assert_eq!(parse(&[]).unwrap(), Violation::Kill);
        assert_eq!(
            parse(&["--sandbox-violation", "errno"]).unwrap(),
            Violation::Errno
        );
        assert!(parse(&["--sandbox-violation", "allow"]).is_err());
    }

    #[test]
    fn mem_total_is_parsed_from_meminfo() {
        let s = "MemTotal:       16314560 kB\nMemFree:         1000 kB\n";
        assert_eq!(parse_mem_total(s), Some(16314560 * 1024));
        assert_eq!(parse_mem_total("nonsense"), None);
    }

    #[test]
    fn limits_follow_the_renderer() {
        let l = device_limits(16, 4, HostInfo { mem_total: 8 << 30 });
        assert_eq!(l.capset.subgroup_size, 16);
        assert_eq!(l.capset.threads, 4);
        assert_eq!(l.capset.device_memory_budget, 6 << 30);
        assert_eq!(l.capset.max_push_constants_size, 256);
        assert_eq!(l.capset.client, ClientLimits::default().caps());
    }

    #[test]
    fn client_caps_come_from_the_command_line_or_the_defaults() {
        let a = Args::try_parse_from(["vhost-device", "--socket-path", "/s"]).unwrap();
        assert_eq!(a.client_limits(), ClientLimits::default());
        let a = Args::try_parse_from([
            "vhost-device",
            "--socket-path",
            "/s",
            "--max-objects",
            "12",
            "--max-descriptors",
            "34",
        ])
        .unwrap();
        let l = a.client_limits();
        assert_eq!((l.max_objects, l.max_descriptors), (12, 34));
        assert_eq!(l.max_command_buffer_size, 64 << 20);
        assert_eq!(
            l.max_host_bytes,
            ClientLimits::default().max_host_bytes,
            "the rest stay at their defaults"
        );
    }

    #[test]
    fn max_stream_size_limits_streams_and_command_buffers_alike() {
        let a = Args::try_parse_from([
            "vhost-device",
            "--socket-path",
            "/s",
            "--max-stream-size",
            "8192",
        ])
        .unwrap();
        let client = a.client_limits();
        assert_eq!(client.max_command_buffer_size, 8192);
        let l = device_limits_for(8, 2, HostInfo { mem_total: 8 << 30 }, &client);
        assert_eq!(l.capset.max_stream_size, 8192);
        assert_eq!(
            device_limits(8, 2, HostInfo { mem_total: 8 << 30 })
                .capset
                .max_stream_size,
            64 << 20
        );
        assert!(Args::try_parse_from([
            "vhost-device",
            "--socket-path",
            "/s",
            "--max-stream-size",
            "100",
        ])
        .is_err());
    }

    #[test]
    fn capset_announces_the_client_limits_the_executor_enforces() {
        let client = ClientLimits {
            max_objects: 7,
            max_descriptors: 40,
            max_shader_module_words: 1000,
            ..ClientLimits::default()
        };
        let l = device_limits_for(8, 2, HostInfo { mem_total: 8 << 30 }, &client);
        let caps = Capset::decode(&l.capset.encode()).unwrap().client;
        assert_eq!(
            (
                caps.max_objects,
                caps.max_descriptors,
                caps.max_shader_module_words
            ),
            (Some(7), Some(40), Some(1000))
        );
    }

    #[test]
    fn embedded_refuses_a_non_listening_fd() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        use std::os::fd::AsRawFd;
        assert!(check_listening_socket(a.as_raw_fd()).is_err());
        let dir = std::env::temp_dir().join(format!("softgpu-dev-test-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let l = UnixListener::bind(dir.join("s")).unwrap();
        assert!(check_listening_socket(l.as_raw_fd()).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
