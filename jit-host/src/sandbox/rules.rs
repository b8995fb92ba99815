//! The two allow-lists, as data: one rule per system call, with the argument conditions under
//! which it is allowed and why (the way Firecracker and cloud-hypervisor keep theirs).
//!
//! Filters stack: a worker is forked by a supervisor that is already locked down, so it runs
//! under the supervisor's filter *and* its own, and a call must pass both. That is why the
//! supervisor's list also carries the few calls a worker makes between `fork` and its own
//! lockdown (marked "worker start"), and why every call in [`WORKER`] also appears in
//! [`SUPERVISOR`] (a unit test checks it). What the supervisor may do that a worker may not —
//! fork, kill, socketpair, setsockopt, prctl, seccomp, prlimit — is absent from [`WORKER`].
//!
//! Found by running the jit-host and renderer tests under `strace -f` with
//! `SOFTGPU_JIT_SECCOMP_VIOLATION=errno` and collecting every `EPERM`; see the module docs of
//! `sandbox` for how to redo that.

/// One condition on a system call argument (index 0–5).
#[derive(Clone, Copy, Debug)]
pub enum Cond {
    /// The 64-bit argument has none of these bits set (e.g. no `PROT_EXEC`).
    Lacks(u8, u64),
    /// The 32-bit argument equals this value.
    Eq(u8, u32),
    /// The 64-bit argument equals this value.
    Eq64(u8, u64),
    /// The 32-bit argument, a pid, names one process (1 ..= `i32::MAX`): not 0 (our process
    /// group), not -1 (every process we may signal), not a negated process group.
    OnePid(u8),
}

/// A system call the filter lets through.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub nr: libc::c_long,
    /// `SYS_` name, for reports and error messages.
    pub name: &'static str,
    /// Alternatives (any one suffices), each a conjunction of conditions; empty = always.
    pub when: &'static [&'static [Cond]],
    pub why: &'static str,
}

impl Rule {
    /// The call's name without the `SYS_` prefix.
    pub fn syscall(&self) -> &'static str {
        self.name.strip_prefix("SYS_").unwrap_or(self.name)
    }
}

macro_rules! rule {
    ($nr:ident, $when:expr, $why:literal) => {
        Rule {
            nr: libc::$nr,
            name: stringify!($nr),
            when: $when,
            why: $why,
        }
    };
}

const ALWAYS: &[&[Cond]] = &[];
const PROT_EXEC: u64 = libc::PROT_EXEC as u64;
/// Argument 2 of mmap/mprotect is `prot`.
const NO_EXEC: &[&[Cond]] = &[&[Cond::Lacks(2, PROT_EXEC)]];
/// The `clone` flags of glibc's `fork()` (sysdeps/unix/sysv/linux/arch-fork.h).
const FORK_FLAGS: u64 =
    (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID | libc::SIGCHLD) as u64;

/// The supervisor: copies bytes between its sockets and the arena, forks and reaps workers.
pub const SUPERVISOR: &[Rule] = &[
    rule!(SYS_write, ALWAYS, "the log on stderr"),
    rule!(
        SYS_recvfrom,
        &[&[Cond::Eq64(4, 0)]],
        "requests from the device, messages from the worker (std's recv): no source address"
    ),
    rule!(
        SYS_sendto,
        &[&[Cond::Eq64(4, 0)]],
        "answers to the device, requests to the worker (std's send): no destination address"
    ),
    rule!(
        SYS_sendmsg,
        ALWAYS,
        "the hello, which carries the arena fd (SCM_RIGHTS)"
    ),
    rule!(
        SYS_poll,
        ALWAYS,
        "waiting on the device and the worker, with the watchdog timeout"
    ),
    rule!(
        SYS_close,
        ALWAYS,
        "the arena fd once sent; sockets of dead workers"
    ),
    rule!(
        SYS_fcntl,
        &[&[Cond::Eq(1, libc::F_GETFD as u32)]],
        "std's debug check that a descriptor is open before closing it; reads flags only"
    ),
    rule!(
        SYS_socketpair,
        &[&[Cond::Eq(0, libc::AF_UNIX as u32)]],
        "the socket to each new worker; unix domain only (no socket/connect/bind at all)"
    ),
    rule!(
        SYS_setsockopt,
        &[
            &[
                Cond::Eq(1, libc::SOL_SOCKET as u32),
                Cond::Eq(2, libc::SO_RCVTIMEO as u32)
            ],
            &[
                Cond::Eq(1, libc::SOL_SOCKET as u32),
                Cond::Eq(2, libc::SO_SNDTIMEO as u32)
            ],
        ],
        "I/O timeouts on a new worker's socket"
    ),
    rule!(
        SYS_clone,
        &[&[Cond::Eq64(0, FORK_FLAGS)]],
        "forking workers, with exactly the flags libc's fork() passes: no thread, no shared \
         memory, no new namespace"
    ),
    rule!(SYS_wait4, ALWAYS, "reaping workers"),
    rule!(
        SYS_set_robust_list,
        ALWAYS,
        "worker start: libc's fork registers the child's robust futex list"
    ),
    rule!(
        SYS_kill,
        &[&[Cond::OnePid(0), Cond::Eq(1, libc::SIGKILL as u32)]],
        "SIGKILL to a stuck or misbehaving worker (one pid, never a group)"
    ),
    rule!(
        SYS_getpid,
        ALWAYS,
        "the worker checks its parent is still us"
    ),
    rule!(
        SYS_getppid,
        ALWAYS,
        "worker start: is the parent still the supervisor?"
    ),
    rule!(SYS_mmap, NO_EXEC, "allocation; never an executable mapping"),
    rule!(
        SYS_mprotect,
        NO_EXEC,
        "allocator guard pages; never making memory executable"
    ),
    rule!(SYS_munmap, ALWAYS, "freeing; a worker unmapping the arena"),
    rule!(
        SYS_mremap,
        ALWAYS,
        "realloc of large blocks (keeps the protection)"
    ),
    rule!(SYS_brk, ALWAYS, "the heap"),
    rule!(SYS_madvise, ALWAYS, "the allocator returning pages"),
    rule!(SYS_futex, ALWAYS, "std's locks (stderr), parking"),
    rule!(
        SYS_clock_gettime,
        ALWAYS,
        "the watchdog clock, when the vDSO falls back"
    ),
    rule!(
        SYS_clock_nanosleep,
        ALWAYS,
        "the grace period while reaping a worker"
    ),
    rule!(SYS_nanosleep, ALWAYS, "same, older libc path"),
    rule!(
        SYS_getrandom,
        ALWAYS,
        "hash seeds in std and LLVM (worker start)"
    ),
    rule!(
        SYS_rt_sigprocmask,
        ALWAYS,
        "libc blocks signals around fork and abort"
    ),
    rule!(SYS_rt_sigreturn, ALWAYS, "returning from a signal handler"),
    rule!(
        SYS_restart_syscall,
        ALWAYS,
        "a sleep or wait resumed after a signal"
    ),
    rule!(SYS_exit, ALWAYS, "ending"),
    rule!(SYS_exit_group, ALWAYS, "ending"),
    rule!(
        SYS_sigaltstack,
        ALWAYS,
        "std tears down the main thread's signal stack at exit"
    ),
    rule!(
        SYS_sysinfo,
        ALWAYS,
        "libc's qsort sizes its buffer by physical memory (worker)"
    ),
    rule!(
        SYS_prctl,
        &[
            &[Cond::Eq(0, libc::PR_SET_PDEATHSIG as u32)],
            &[Cond::Eq(0, libc::PR_SET_NO_NEW_PRIVS as u32)],
            &[
                Cond::Eq(0, super::PR_SET_MDWE as u32),
                Cond::Eq64(1, super::PR_MDWE_REFUSE_EXEC_GAIN)
            ],
        ],
        "worker start: die with the supervisor; no_new_privs and MDWE before its own filter"
    ),
    rule!(
        SYS_seccomp,
        &[&[Cond::Eq(0, libc::SECCOMP_SET_MODE_FILTER)]],
        "worker start: installing the worker's filter (filters only ever add restrictions)"
    ),
    rule!(
        SYS_prlimit64,
        &[&[Cond::Eq(0, 0), Cond::Eq(1, libc::RLIMIT_AS)]],
        "worker start: its own RLIMIT_AS (the hard limit can only be lowered)"
    ),
    rule!(
        SYS_close_range,
        ALWAYS,
        "worker start: dropping inherited descriptors"
    ),
];

/// A compile worker: LLVM turning IR into an object, reading and writing its one socket.
pub const WORKER: &[Rule] = &[
    rule!(SYS_write, ALWAYS, "the log on stderr"),
    rule!(
        SYS_recvfrom,
        &[&[Cond::Eq64(4, 0)]],
        "requests from the supervisor (std's recv): no source address"
    ),
    rule!(
        SYS_sendto,
        &[&[Cond::Eq64(4, 0)]],
        "results to the supervisor (std's send): no destination address"
    ),
    rule!(
        SYS_mmap,
        NO_EXEC,
        "LLVM's and Rust's allocations; never an executable mapping"
    ),
    rule!(
        SYS_mprotect,
        NO_EXEC,
        "allocator guard pages; never making memory executable"
    ),
    rule!(SYS_munmap, ALWAYS, "freeing"),
    rule!(
        SYS_mremap,
        ALWAYS,
        "realloc of large blocks (keeps the protection)"
    ),
    rule!(SYS_brk, ALWAYS, "the heap"),
    rule!(SYS_madvise, ALWAYS, "the allocator returning pages"),
    rule!(
        SYS_futex,
        ALWAYS,
        "locks in std and LLVM (uncontended: one thread); parking"
    ),
    rule!(
        SYS_clock_gettime,
        ALWAYS,
        "LLVM timers, when the vDSO falls back"
    ),
    rule!(SYS_getrandom, ALWAYS, "hash seeds"),
    rule!(
        SYS_rt_sigprocmask,
        ALWAYS,
        "abort() blocks signals before raising SIGABRT"
    ),
    rule!(SYS_rt_sigreturn, ALWAYS, "returning from a signal handler"),
    rule!(SYS_restart_syscall, ALWAYS, "a call resumed after a signal"),
    rule!(SYS_exit, ALWAYS, "ending"),
    rule!(SYS_exit_group, ALWAYS, "ending"),
    rule!(
        SYS_sigaltstack,
        ALWAYS,
        "std tears down the main thread's signal stack at exit"
    ),
    rule!(
        SYS_sysinfo,
        ALWAYS,
        "libc's qsort (used by LLVM) sizes its buffer by physical memory"
    ),
];
