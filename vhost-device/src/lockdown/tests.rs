//! The lockdown is irreversible and process-wide, so each check runs in a child process: this
//! test binary run again with one `#[ignore]`d child test selected and [`CHILD_ENV`] set. The
//! child locks down and tries things; the parent checks what it printed and how it ended.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

use super::*;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

const CHILD_ENV: &str = "SOFTGPU_LOCKDOWN_CHILD";
const CHILD_OK: &str = "LOCKDOWN-CHILD-OK";

fn run_child(test: &str) -> Output {
    let exe = std::env::current_exe().unwrap();
    Command::new(exe)
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap()
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

fn errno() -> Option<i32> {
    std::io::Error::last_os_error().raw_os_error()
}

/// Asserts a raw syscall-style result is -1 with EPERM: refused by the filter (MDWE refusals
/// are EACCES, a missing kernel feature ENOSYS — neither passes).
fn assert_eperm(rc: i64, what: &str) {
    let e = errno();
    assert_eq!((rc, e), (-1, Some(libc::EPERM)), "{what}");
    println!("refused: {what}");
}

/// Calls that must never be in the allow-list (DESIGN §5, issue 5 item 1).
const NEVER: &[(libc::c_long, &str)] = &[
    (libc::SYS_open, "open"),
    (libc::SYS_openat, "openat"),
    (libc::SYS_openat2, "openat2"),
    (libc::SYS_creat, "creat"),
    (libc::SYS_open_by_handle_at, "open_by_handle_at"),
    (libc::SYS_execve, "execve"),
    (libc::SYS_execveat, "execveat"),
    (libc::SYS_fork, "fork"),
    (libc::SYS_vfork, "vfork"),
    (libc::SYS_ptrace, "ptrace"),
    (libc::SYS_process_vm_writev, "process_vm_writev"),
    (libc::SYS_process_vm_readv, "process_vm_readv"),
    (libc::SYS_memfd_create, "memfd_create"),
    (libc::SYS_socket, "socket"),
    (libc::SYS_socketpair, "socketpair"),
    (libc::SYS_connect, "connect"),
    (libc::SYS_bind, "bind"),
    (libc::SYS_listen, "listen"),
    (libc::SYS_pkey_mprotect, "pkey_mprotect"),
    (libc::SYS_seccomp, "seccomp"),
    (libc::SYS_bpf, "bpf"),
    (libc::SYS_io_uring_setup, "io_uring_setup"),
];

#[test]
fn allow_list_never_names_a_forbidden_call_and_says_why() {
    for entry in ALLOWED {
        assert!(
            !NEVER.iter().any(|&(nr, _)| nr == entry.nr),
            "{} is forbidden",
            entry.name
        );
        assert!(!entry.why.trim().is_empty(), "{} has no reason", entry.name);
        // mmap and mprotect must never be unconditional: PROT_EXEC is always checked.
        if [libc::SYS_mmap, libc::SYS_mprotect].contains(&entry.nr) {
            assert_eq!(
                entry.when,
                When::BitsClear {
                    arg: 2,
                    mask: libc::PROT_EXEC as u64
                },
                "{}",
                entry.name
            );
        }
    }
}

#[test]
fn filters_build_for_both_violation_modes() {
    let peers = Peers::of_this_process(Some(1));
    let kill = allow_list_filter(Violation::Kill, &peers).unwrap();
    let errno = allow_list_filter(Violation::Errno, &peers).unwrap();
    assert_eq!(kill.len(), errno.len());
    assert_ne!(kill, errno, "the violation action differs");
    // Without a jit-host, `kill` has no entry that can match: a shorter program.
    let alone = allow_list_filter(Violation::Kill, &Peers::of_this_process(None)).unwrap();
    assert!(alone.len() < kill.len());
    let answers = answer_filters().unwrap();
    assert_eq!(answers.len(), 2, "one filter per errno: ENOSYS and EACCES");
    assert!(answers.iter().all(|a| !a.is_empty()));
}

fn fresh_rw_page() -> *mut libc::c_void {
    // SAFETY: a fresh anonymous mapping; nothing existing is touched.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED, "an ordinary mapping works");
    p
}

/// Child of `forbidden_operations_are_refused_under_lockdown`.
#[test]
#[ignore = "run in a child process by forbidden_operations_are_refused_under_lockdown"]
fn lockdown_errno_child() {
    if !in_child() {
        return;
    }
    // Set up before lockdown, as the device does: a child standing in for jit-host, a memfd
    // standing in for guest RAM, a socket to try connect on, a thread started early.
    let mut jit_host = Command::new("sleep").arg("30").spawn().unwrap();
    // SAFETY: memfd_create with a valid C string; the fd is owned below.
    let ram = unsafe { libc::memfd_create(c"ram".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(ram >= 0);
    // SAFETY: a fresh descriptor nothing else owns.
    let ram = unsafe { OwnedFd::from_raw_fd(ram) };
    assert_eq!(
        // SAFETY: ftruncate on our own fd.
        unsafe { libc::ftruncate(ram.as_raw_fd(), 8192) },
        0
    );
    // SAFETY: socket() with constant arguments; the fd is owned below.
    let sock = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(sock >= 0);
    // SAFETY: a fresh descriptor nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(sock) };
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let early = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        let r = std::fs::File::open("/etc/hostname").map_err(|e| e.raw_os_error());
        done_tx.send(r.map(|_| ())).unwrap();
    });
    assert!(
        std::fs::File::open("/etc/hostname").is_ok(),
        "open works before lockdown"
    );

    lock_down(
        Violation::Errno,
        &Peers::of_this_process(Some(jit_host.id())),
    )
    .unwrap();

    // Files.
    // Answered with EACCES, in every mode (glibc's malloc may try one and copes).
    let e = std::fs::File::open("/etc/hostname").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EACCES), "open after lockdown");
    println!("refused: open");
    go_tx.send(()).unwrap();
    assert_eq!(
        done_rx.recv().unwrap(),
        Err(Some(libc::EACCES)),
        "open in an older thread (TSYNC)"
    );
    early.join().unwrap();

    // Executable memory. MDWE alone allows a fresh R+X anonymous mapping and refuses
    // mprotect with EACCES: EPERM here is the seccomp filter.
    // SAFETY: a fresh anonymous mapping request; nothing existing is touched.
    let exec = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_EXEC,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_eperm(
        if exec == libc::MAP_FAILED { -1 } else { 0 },
        "mmap PROT_EXEC",
    );
    let rw = fresh_rw_page();
    // SAFETY: rw is our own 4096-byte mapping.
    let rc = unsafe { libc::mprotect(rw, 4096, libc::PROT_READ | libc::PROT_EXEC) };
    assert_eperm(rc.into(), "mprotect to PROT_EXEC");
    // SAFETY: as above; pkey -1 is "no key".
    let rc = unsafe { libc::syscall(libc::SYS_pkey_mprotect, rw, 4096, libc::PROT_READ, -1) };
    assert_eperm(rc, "pkey_mprotect");
    // A shared mapping of a held fd (how guest RAM is mapped) still works, non-executable.
    // SAFETY: a fresh shared mapping of our 8 KiB memfd.
    let shared = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            8192,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            ram.as_raw_fd(),
            0,
        )
    };
    assert_ne!(shared, libc::MAP_FAILED, "guest-RAM style mapping works");
    // SAFETY: a fresh shared read+exec mapping request of our memfd.
    let shared_exec = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_EXEC,
            libc::MAP_SHARED,
            ram.as_raw_fd(),
            0,
        )
    };
    assert_eperm(
        if shared_exec == libc::MAP_FAILED {
            -1
        } else {
            0
        },
        "mmap of an fd PROT_EXEC",
    );

    // New descriptors of the kinds it must not make.
    // SAFETY: memfd_create with a valid C string.
    let rc = unsafe { libc::memfd_create(c"code".as_ptr(), 0) };
    assert_eperm(rc.into(), "memfd_create");
    // SAFETY: socket() with constant arguments.
    let rc = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
    assert_eperm(rc.into(), "socket");
    let mut pair = [0; 2];
    // SAFETY: socketpair writes two ints into `pair`.
    let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, pair.as_mut_ptr()) };
    assert_eperm(rc.into(), "socketpair");
    let addr = libc::sockaddr_un {
        sun_family: libc::AF_UNIX as libc::sa_family_t,
        sun_path: [0; 108],
    };
    // SAFETY: connect reads a sockaddr_un of the size given.
    let rc = unsafe {
        libc::connect(
            sock.as_raw_fd(),
            (&addr as *const libc::sockaddr_un).cast(),
            std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    assert_eperm(rc.into(), "connect on a held socket");

    // Programs and processes.
    let path: &CStr = c"/bin/true";
    let argv = [path.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null::<libc::c_char>()];
    // SAFETY: valid NUL-terminated path, argv and envp arrays; if the call succeeded this
    // process would be replaced and the parent would miss CHILD_OK.
    let rc = unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    assert_eperm(rc.into(), "execve");
    // SAFETY: fork has no memory preconditions; a child (if the filter were missing) exits
    // at once without running any Rust code.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: _exit in the forked child.
        unsafe { libc::_exit(0) };
    }
    assert_eperm(pid.into(), "fork (clone without CLONE_THREAD)");
    // SAFETY: PTRACE_TRACEME takes no pointers.
    let rc = unsafe { libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) };
    assert_eperm(rc, "ptrace");
    // SAFETY: zero iovecs: nothing is read or written.
    let rc = unsafe {
        libc::process_vm_writev(
            jit_host.id() as libc::pid_t,
            std::ptr::null(),
            0,
            std::ptr::null(),
            0,
            0,
        )
    };
    assert_eperm(rc as i64, "process_vm_writev");
    // SAFETY: getppid has no preconditions.
    let harness = unsafe { libc::getppid() };
    // SAFETY: signal 0 only checks permission; the target is the test harness.
    let rc = unsafe { libc::kill(harness, 0) };
    assert_eperm(rc.into(), "kill of a process other than jit-host");
    // SAFETY: prctl with integer arguments.
    let rc = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
    assert_eperm(rc.into(), "prctl other than PR_SET_NAME");

    // Non-native ABI: an x32 getpid is refused, not run (ENOSYS would mean it reached the
    // kernel's x32 table).
    // SAFETY: a syscall with no arguments that touches no memory.
    let rc = unsafe { libc::syscall(0x4000_0000 | libc::SYS_getpid) };
    assert_eperm(rc, "x32 getpid");

    // What the device does need still works: threads (clone3 → ENOSYS → clone with
    // CLONE_THREAD), named threads, and ending its jit-host.
    let t = std::thread::Builder::new()
        .name("after-lockdown".into())
        .spawn(|| 7)
        .unwrap();
    assert_eq!(t.join().unwrap(), 7, "threads still start");
    jit_host.kill().unwrap();
    assert!(jit_host.wait().unwrap().signal() == Some(libc::SIGKILL));
    println!("{CHILD_OK}");
}

#[test]
fn forbidden_operations_are_refused_under_lockdown() {
    let out = run_child("lockdown::tests::lockdown_errno_child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(CHILD_OK),
        "{}",
        describe(&out)
    );
    for what in [
        "open",
        "mmap PROT_EXEC",
        "mprotect to PROT_EXEC",
        "memfd_create",
        "socket",
        "execve",
        "x32 getpid",
    ] {
        assert!(
            stdout.contains(&format!("refused: {what}\n")),
            "{what}: {}",
            describe(&out)
        );
    }
}

/// Child of `a_violation_kills_the_process_in_production_mode`.
#[test]
#[ignore = "run in a child process by a_violation_kills_the_process_in_production_mode"]
fn lockdown_kill_child() {
    if !in_child() {
        return;
    }
    lock_down(Violation::Kill, &Peers::of_this_process(None)).unwrap();
    // Allowed work goes on (a thread, a mapping) …
    let t = std::thread::spawn(|| fresh_rw_page() as usize);
    assert_ne!(t.join().unwrap(), 0);
    // A yield, as std's channels make while a worker looks for its next task.
    std::thread::yield_now();
    println!("threads work");
    // Opening a file is refused with an error, not a violation …
    let e = std::fs::File::open("/etc/hostname").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EACCES));
    println!("open refused");
    // … and the first forbidden call ends the process.
    // SAFETY: socket() with constant arguments; it never returns here.
    let _ = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
    println!("{CHILD_OK}");
}

#[test]
fn a_violation_kills_the_process_in_production_mode() {
    let out = run_child("lockdown::tests::lockdown_kill_child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSYS),
        "{}",
        describe(&out)
    );
    assert!(stdout.contains("threads work"), "{}", describe(&out));
    assert!(stdout.contains("open refused"), "{}", describe(&out));
    assert!(!stdout.contains(CHILD_OK), "{}", describe(&out));
}

/// Child of `an_i386_system_call_kills_the_process_even_in_errno_mode`.
#[test]
#[ignore = "run in a child process by an_i386_system_call_kills_the_process_even_in_errno_mode"]
fn lockdown_i386_child() {
    if !in_child() {
        return;
    }
    lock_down(Violation::Errno, &Peers::of_this_process(None)).unwrap();
    println!("locked");
    let pid: u32;
    // SAFETY: `int 0x80` with eax = 20 is the i386 getpid, which takes no arguments and
    // touches no memory; it clobbers only eax (declared).
    unsafe { std::arch::asm!("int 0x80", inout("eax") 20u32 => pid, options(nostack)) };
    println!("i386 getpid returned {pid}");
    println!("{CHILD_OK}");
}

#[test]
fn an_i386_system_call_kills_the_process_even_in_errno_mode() {
    let out = run_child("lockdown::tests::lockdown_i386_child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("locked"), "{}", describe(&out));
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSYS),
        "{}",
        describe(&out)
    );
}
