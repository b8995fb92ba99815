//! The device's seccomp allow-list, as data: every system call the locked-down device may make,
//! under which condition, and why it needs it (as Firecracker and cloud-hypervisor keep theirs).
//!
//! The list was found, not guessed: the end-to-end suite and this crate's tests were run with
//! the device under `strace -f` and every call made after the `seccomp()` call was collected.
//! Anything not here is refused — notably `open*`, `execve*`, `socket`, `socketpair`,
//! `connect`, `bind`, `memfd_create`, `ptrace`, `process_vm_*`, `fork`/`vfork`, and any
//! mapping with `PROT_EXEC` (DESIGN §5). A new call the device starts to need shows up as
//! DEVICE_LOST in the end-to-end tests (the device is killed): run them with
//! `--sandbox-violation errno` or under strace to find it, then add it here with its reason.

/// Which process a pid argument must name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// The device itself (its thread-group id): signals to itself, e.g. `abort()`.
    Itself,
    /// The jit-host supervisor the device started (a `kill` when it does not exit in time).
    JitHost,
}

/// When an allowed system call is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Whatever its arguments.
    Always,
    /// When none of `mask`'s bits is set in argument `arg` (e.g. `prot` without `PROT_EXEC`).
    BitsClear { arg: u8, mask: u64 },
    /// When all of `mask`'s bits are set in argument `arg` (e.g. `flags` with `CLONE_THREAD`).
    BitsSet { arg: u8, mask: u64 },
    /// When 32-bit argument `arg` equals `value` (e.g. one `prctl` option).
    Equals { arg: u8, value: u64 },
    /// When 32-bit argument `arg` is the pid of `peer`.
    PidOf { arg: u8, peer: Peer },
}

/// One entry of the allow-list. A call listed more than once is allowed when any entry matches.
#[derive(Clone, Copy, Debug)]
pub struct Allowed {
    pub name: &'static str,
    pub nr: libc::c_long,
    pub when: When,
    pub why: &'static str,
}

const fn allow(name: &'static str, nr: libc::c_long, when: When, why: &'static str) -> Allowed {
    Allowed {
        name,
        nr,
        when,
        why,
    }
}

const PROT_EXEC: u64 = libc::PROT_EXEC as u64;
const CLONE_THREAD: u64 = libc::CLONE_THREAD as u64;

/// The allow-list.
pub const ALLOWED: &[Allowed] = &[
    // --- Memory ---
    allow(
        "mmap",
        libc::SYS_mmap,
        When::BitsClear {
            arg: 2,
            mask: PROT_EXEC,
        },
        "guest RAM regions (MAP_SHARED of the frontend's fds), per-allocation views \
         (MAP_FIXED over a reservation), the allocator, thread stacks — never executable",
    ),
    allow(
        "munmap",
        libc::SYS_munmap,
        When::Always,
        "dropping views, guest memory tables, freed allocations and thread stacks",
    ),
    allow(
        "mprotect",
        libc::SYS_mprotect,
        When::BitsClear {
            arg: 2,
            mask: PROT_EXEC,
        },
        "thread stack guard pages and allocator arenas — never adding PROT_EXEC",
    ),
    allow(
        "madvise",
        libc::SYS_madvise,
        When::Always,
        "the allocator and glibc returning freed pages and exited threads' stacks",
    ),
    allow(
        "mremap",
        libc::SYS_mremap,
        When::Always,
        "the allocator growing large blocks (realloc); the kernel keeps the mapping's \
         protection, so nothing becomes executable",
    ),
    allow(
        "brk",
        libc::SYS_brk,
        When::Always,
        "the allocator's main heap (not seen in the suite, but any main-thread allocation \
         may grow it)",
    ),
    // --- Threads and synchronisation ---
    allow(
        "clone",
        libc::SYS_clone,
        When::BitsSet {
            arg: 0,
            mask: CLONE_THREAD,
        },
        "new threads (vhost-user workers, queue thread, memory-table watch) — never a new \
         process: CLONE_THREAD must be set",
    ),
    allow(
        "clone3",
        libc::SYS_clone3,
        When::Always,
        "passes this list only to be answered ENOSYS by the stacked thread filter \
         (its flags are in memory seccomp cannot read); glibc then falls back to clone",
    ),
    allow(
        "futex",
        libc::SYS_futex,
        When::Always,
        "mutexes, condition variables, channels, thread joins",
    ),
    allow(
        "sched_yield",
        libc::SYS_sched_yield,
        When::Always,
        "std's channels back off with it while a receiver waits on a briefly empty channel \
         (renderer workers look for their next task for a while before sleeping)",
    ),
    allow(
        "sched_getaffinity",
        libc::SYS_sched_getaffinity,
        When::Always,
        "glibc's pthread_getattr_np, which Rust's std calls at the start of every thread",
    ),
    allow(
        "set_robust_list",
        libc::SYS_set_robust_list,
        When::Always,
        "glibc, at the start of every new thread",
    ),
    allow(
        "rseq",
        libc::SYS_rseq,
        When::Always,
        "glibc registers restartable sequences at the start of every new thread",
    ),
    allow(
        "rt_sigprocmask",
        libc::SYS_rt_sigprocmask,
        When::Always,
        "glibc blocks signals around thread creation and exit",
    ),
    allow(
        "sigaltstack",
        libc::SYS_sigaltstack,
        When::Always,
        "Rust's stack-overflow handler installs an alternate signal stack per thread",
    ),
    allow(
        "prctl",
        libc::SYS_prctl,
        When::Equals {
            arg: 0,
            value: libc::PR_SET_NAME as u64,
        },
        "naming new threads (std::thread::Builder::name); no other prctl option",
    ),
    allow(
        "gettid",
        libc::SYS_gettid,
        When::Always,
        "the panic message names the thread; abort() signals its own thread",
    ),
    allow(
        "getpid",
        libc::SYS_getpid,
        When::Always,
        "abort() (glibc's raise) looks up its own pid",
    ),
    allow("exit", libc::SYS_exit, When::Always, "a thread ends"),
    allow(
        "exit_group",
        libc::SYS_exit_group,
        When::Always,
        "the process ends (the embedded device when its frontend goes)",
    ),
    // --- Event loop and descriptors ---
    allow(
        "epoll_create1",
        libc::SYS_epoll_create1,
        When::Always,
        "each frontend session's vhost-user worker threads make their epoll set",
    ),
    allow(
        "epoll_ctl",
        libc::SYS_epoll_ctl,
        When::Always,
        "adding and removing queue kick and exit eventfds",
    ),
    allow(
        "epoll_wait",
        libc::SYS_epoll_wait,
        When::Always,
        "the vhost-user worker threads wait for kicks",
    ),
    allow(
        "eventfd2",
        libc::SYS_eventfd2,
        When::Always,
        "exit events for each session's worker threads",
    ),
    allow(
        "read",
        libc::SYS_read,
        When::Always,
        "eventfds (queue kicks) and the jit-host socket",
    ),
    allow(
        "write",
        libc::SYS_write,
        When::Always,
        "eventfds (queue calls), the jit-host socket, logging to stderr",
    ),
    allow(
        "close",
        libc::SYS_close,
        When::Always,
        "descriptors of a finished session",
    ),
    allow(
        "fcntl",
        libc::SYS_fcntl,
        When::Always,
        "descriptor flags of received fds (vhost crate, CLOEXEC / NONBLOCK)",
    ),
    // --- Sockets it holds (none created after lockdown) ---
    allow(
        "accept4",
        libc::SYS_accept4,
        When::Always,
        "the next frontend on the one listener bound before lockdown",
    ),
    allow(
        "recvmsg",
        libc::SYS_recvmsg,
        When::Always,
        "vhost-user messages with SCM_RIGHTS (memory regions, eventfds, the display socket)",
    ),
    allow(
        "sendmsg",
        libc::SYS_sendmsg,
        When::Always,
        "vhost-user replies, display messages, jit-host requests",
    ),
    allow(
        "recvfrom",
        libc::SYS_recvfrom,
        When::Always,
        "plain reads on the sockets it holds",
    ),
    allow(
        "sendto",
        libc::SYS_sendto,
        When::Always,
        "plain writes on the sockets it holds",
    ),
    allow(
        "getsockopt",
        libc::SYS_getsockopt,
        When::Equals {
            arg: 1,
            value: libc::SOL_SOCKET as u64,
        },
        "SO_DOMAIN of the display socket QEMU hands over (VHOST_USER_GPU_SET_SOCKET: the \
         vhost crate checks it is AF_UNIX); found in a VM, the e2e suite never sends one",
    ),
    allow(
        "shutdown",
        libc::SYS_shutdown,
        When::Always,
        "closing the jit-host connection when the device ends",
    ),
    // --- The jit-host child ---
    allow(
        "wait4",
        libc::SYS_wait4,
        When::Always,
        "reaping jit-host when the device ends",
    ),
    allow(
        "kill",
        libc::SYS_kill,
        When::PidOf {
            arg: 0,
            peer: Peer::JitHost,
        },
        "killing jit-host if it does not exit on its own — no other process",
    ),
    allow(
        "tgkill",
        libc::SYS_tgkill,
        When::PidOf {
            arg: 0,
            peer: Peer::Itself,
        },
        "signals to its own threads only (abort)",
    ),
    // --- Time ---
    allow(
        "clock_nanosleep",
        libc::SYS_clock_nanosleep,
        When::Always,
        "short sleeps while waiting for jit-host to exit",
    ),
    allow(
        "restart_syscall",
        libc::SYS_restart_syscall,
        When::Always,
        "the kernel resumes a sleep interrupted by a stop (seen under strace; a panic \
         in std::thread::sleep otherwise)",
    ),
    allow(
        "clock_gettime",
        libc::SYS_clock_gettime,
        When::Always,
        "log timestamps and timeouts fall back to the system call when the clock source \
         has no vDSO path (some hypervisors; not seen here)",
    ),
    allow(
        "getrandom",
        libc::SYS_getrandom,
        When::Always,
        "HashMap keys, seeded once per thread",
    ),
];

/// A call the device never gets to make, answered with an error instead of a violation.
#[derive(Clone, Copy, Debug)]
pub struct Answered {
    pub name: &'static str,
    pub nr: libc::c_long,
    pub errno: i32,
    pub why: &'static str,
}

/// Calls answered with an error by a stacked filter of their own (seccomp runs every filter
/// and the strictest answer wins, so ERRNO beats the allow-list's ALLOW, which it gives them).
/// Refused all the same — nothing is opened, no process is made — but library code that
/// handles the error carries on instead of the device being killed.
pub const ANSWERED: &[Answered] = &[
    Answered {
        name: "clone3",
        nr: libc::SYS_clone3,
        errno: libc::ENOSYS,
        why: "its flags live in a struct seccomp cannot read, so it could make a process; glibc \
              falls back to clone(2), whose CLONE_THREAD flag the allow-list checks",
    },
    Answered {
        name: "open",
        nr: libc::SYS_open,
        errno: libc::EACCES,
        why: "no file is opened after lockdown; answered, not a violation, like openat",
    },
    Answered {
        name: "openat",
        nr: libc::SYS_openat,
        errno: libc::EACCES,
        why: "glibc's malloc reads /proc/sys/vm/overcommit_memory the first time a thread's \
              arena shrinks (found in a VM: a session's end killed the device) and treats a \
              failed open as \"do not shrink\"",
    },
    Answered {
        name: "openat2",
        nr: libc::SYS_openat2,
        errno: libc::EACCES,
        why: "no file is opened after lockdown; answered like openat",
    },
];
