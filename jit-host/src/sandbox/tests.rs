//! The filters themselves, installed in child processes (a lockdown is irreversible and
//! process-wide): each child re-runs this test binary with one `#[ignore]`d test selected and
//! reports on stdout.
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use super::*;

const CHILD_ENV: &str = "SOFTGPU_SANDBOX_CHILD";
const CHILD_OK: &str = "SANDBOX-CHILD-OK";

/// Runs the ignored test `name` of this binary in a child process.
fn run_child(name: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap()
}

fn assert_child_ok(name: &str) {
    let out = run_child(name);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(CHILD_OK),
        "child {name} failed ({:?}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// In a child: reports success and exits at once, so that nothing of the test harness has to
/// run under the filter afterwards.
fn child_done() -> ! {
    use std::io::Write;
    println!("{CHILD_OK}");
    let _ = std::io::stdout().flush();
    // SAFETY: _exit ends the process without running anything else.
    unsafe { libc::_exit(0) }
}

/// The errno a failed libc call left, when `failed` says it failed.
fn refusal(failed: bool) -> Option<i32> {
    failed.then(|| std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

fn refused_open() -> Option<i32> {
    std::fs::File::open("/dev/null")
        .err()
        .and_then(|e| e.raw_os_error())
}

fn refused_socket() -> Option<i32> {
    // SAFETY: creating a socket touches no memory of ours; a success is closed at once.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
    if fd >= 0 {
        // SAFETY: fd was just created here.
        unsafe { libc::close(fd) };
    }
    refusal(fd < 0)
}

fn refused_socketpair(domain: libc::c_int) -> Option<i32> {
    let mut fds = [-1; 2];
    // SAFETY: `fds` has room for the two descriptors; successes are closed at once.
    let rc = unsafe { libc::socketpair(domain, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) };
    let errno = refusal(rc != 0);
    for fd in fds.into_iter().filter(|&fd| fd >= 0) {
        // SAFETY: created just above.
        unsafe { libc::close(fd) };
    }
    errno
}

fn refused_memfd() -> Option<i32> {
    // SAFETY: a NUL-terminated name; a success is closed at once.
    let fd = unsafe { libc::memfd_create(c"probe".as_ptr(), 0) };
    if fd >= 0 {
        // SAFETY: created just above.
        unsafe { libc::close(fd) };
    }
    refusal(fd < 0)
}

fn refused_execve() -> Option<i32> {
    let path = c"/bin/true";
    let argv = [path.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null()];
    // SAFETY: NUL-terminated path, NULL-terminated argv and envp. Were it allowed, the process
    // would become /bin/true and never print CHILD_OK, failing the test.
    let rc = unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    refusal(rc != 0)
}

fn map(prot: libc::c_int) -> Option<i32> {
    // SAFETY: a fresh anonymous mapping; nothing existing is touched. Successes are unmapped.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p != libc::MAP_FAILED {
        // SAFETY: p is the 4096-byte mapping made just above.
        unsafe { libc::munmap(p, 4096) };
    }
    refusal(p == libc::MAP_FAILED)
}

/// mprotect of a fresh read+write page to read+execute.
fn refused_mprotect_exec() -> Option<i32> {
    // SAFETY: as in `map`.
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
    assert_ne!(p, libc::MAP_FAILED, "read+write mmap is allowed");
    // SAFETY: p is our own 4096-byte mapping.
    let rc = unsafe { libc::mprotect(p, 4096, libc::PROT_READ | libc::PROT_EXEC) };
    let errno = refusal(rc != 0);
    // SAFETY: as above.
    unsafe { libc::munmap(p, 4096) };
    errno
}

fn refused_ptrace() -> Option<i32> {
    // SAFETY: PTRACE_TRACEME only marks this process as traced; touches no memory.
    let rc = unsafe { libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) };
    refusal(rc != 0)
}

/// A fork whose child exits at once, reaped here.
fn refused_fork() -> Option<i32> {
    // SAFETY: the child only calls _exit.
    match unsafe { libc::fork() } {
        -1 => refusal(true),
        0 => {
            // SAFETY: ends the child without running anything of the parent's.
            unsafe { libc::_exit(0) }
        }
        pid => {
            let mut status = 0;
            // SAFETY: reaping our own child into a local.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            None
        }
    }
}

/// An x32-ABI getpid: refused, not run (ENOSYS would mean it reached the kernel's table).
fn refused_x32_call() -> Option<i32> {
    // SAFETY: a call with no arguments that touches no memory.
    let rc = unsafe { libc::syscall(0x4000_0000 | libc::SYS_getpid) };
    refusal(rc == -1)
}

const EPERM: Option<i32> = Some(libc::EPERM);

/// The supervisor filter alone, in errno mode (see `supervisor_filter_allows_forking_…`).
#[test]
#[ignore = "run in a child process by supervisor_filter_allows_forking_but_no_files_sockets_or_exec"]
fn supervisor_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    lock_down(Profile::Supervisor, Violation::Errno).unwrap();
    assert_eq!(refused_open(), EPERM, "open");
    assert_eq!(refused_socket(), EPERM, "socket");
    assert_eq!(
        refused_socketpair(libc::AF_INET),
        EPERM,
        "AF_INET socketpair"
    );
    assert_eq!(
        refused_memfd(),
        EPERM,
        "memfd_create after the arena exists"
    );
    assert_eq!(refused_execve(), EPERM, "execve");
    // EPERM, not MDWE's EACCES: the filter itself refuses executable mappings.
    assert_eq!(
        map(libc::PROT_READ | libc::PROT_EXEC),
        EPERM,
        "PROT_EXEC mmap"
    );
    assert_eq!(refused_mprotect_exec(), EPERM, "mprotect to exec");
    assert_eq!(refused_ptrace(), EPERM, "ptrace");
    assert_eq!(refused_x32_call(), EPERM, "x32 ABI");
    // What the supervisor is for: sockets to workers, forking and reaping them.
    assert_eq!(
        refused_socketpair(libc::AF_UNIX),
        None,
        "AF_UNIX socketpair"
    );
    assert_eq!(refused_fork(), None, "fork");
    assert_eq!(
        map(libc::PROT_READ | libc::PROT_WRITE),
        None,
        "read+write mmap"
    );
    // Signals: SIGKILL to one pid only.
    let parent = std::os::unix::process::parent_id() as libc::pid_t;
    // SAFETY: signal 0 only checks that the parent exists.
    let rc = unsafe { libc::kill(parent, 0) };
    assert_eq!(
        refusal(rc != 0),
        EPERM,
        "kill with another signal than SIGKILL"
    );
    child_done()
}

#[test]
fn supervisor_filter_allows_forking_but_no_files_sockets_or_exec() {
    assert_child_ok("sandbox::tests::supervisor_child");
}

/// A worker's stack: MDWE, the supervisor's filter, then the worker's, in errno mode.
#[test]
#[ignore = "run in a child process by worker_filter_refuses_files_sockets_exec_and_exec_memory"]
fn worker_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    refuse_exec_gain().unwrap();
    // SAFETY: PR_GET_MDWE (66) reads a flag word; no memory is touched.
    let mdwe = unsafe { libc::prctl(66, 0, 0, 0, 0) };
    assert_eq!(mdwe, 1, "PR_MDWE_REFUSE_EXEC_GAIN is set");
    assert_eq!(
        map(libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC),
        Some(libc::EACCES),
        "MDWE refuses W+X even before the filter"
    );
    lock_down(Profile::Supervisor, Violation::Errno).unwrap();
    lock_down(Profile::Worker, Violation::Errno).unwrap();
    assert_eq!(refused_open(), EPERM, "open");
    assert_eq!(refused_socket(), EPERM, "socket");
    assert_eq!(refused_socketpair(libc::AF_UNIX), EPERM, "socketpair");
    assert_eq!(refused_memfd(), EPERM, "memfd_create");
    assert_eq!(refused_execve(), EPERM, "execve");
    assert_eq!(
        map(libc::PROT_READ | libc::PROT_EXEC),
        EPERM,
        "PROT_EXEC mmap"
    );
    assert_eq!(refused_mprotect_exec(), EPERM, "mprotect to exec");
    assert_eq!(refused_ptrace(), EPERM, "ptrace");
    assert_eq!(refused_fork(), EPERM, "fork");
    assert_eq!(refused_x32_call(), EPERM, "x32 ABI");
    let parent = std::os::unix::process::parent_id() as libc::pid_t;
    // SAFETY: signal 0 only checks that the parent exists.
    let rc = unsafe { libc::kill(parent, 0) };
    assert_eq!(refusal(rc != 0), EPERM, "a worker signals nobody");
    // What compiling needs still works.
    assert_eq!(
        map(libc::PROT_READ | libc::PROT_WRITE),
        None,
        "read+write mmap"
    );
    let grown: Vec<u8> = vec![7; 64 << 20];
    assert_eq!(
        grown.iter().map(|&b| u64::from(b)).sum::<u64>(),
        7 * (64 << 20)
    );
    child_done()
}

#[test]
fn worker_filter_refuses_files_sockets_exec_and_exec_memory() {
    assert_child_ok("sandbox::tests::worker_child");
}

/// The production mode: a worker that tries to open a file dies on the spot.
#[test]
#[ignore = "run in a child process by worker_is_killed_by_a_forbidden_call_in_kill_mode"]
fn kill_mode_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    lock_down(Profile::Worker, Violation::Kill).unwrap();
    let _ = std::fs::File::open("/dev/null");
    child_done()
}

#[test]
fn worker_is_killed_by_a_forbidden_call_in_kill_mode() {
    let out = run_child("sandbox::tests::kill_mode_child");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSYS),
        "expected death by SIGSYS, got {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(CHILD_OK));
}

#[test]
fn every_worker_call_is_also_allowed_by_the_supervisor_filter_it_stacks_on() {
    for rule in WORKER {
        assert!(
            SUPERVISOR.iter().any(|s| s.nr == rule.nr),
            "{} is in the worker list but the inherited supervisor filter refuses it",
            rule.syscall()
        );
    }
}

#[test]
fn no_rule_allows_files_exec_new_sockets_tracing_or_memfds() {
    let forbidden = [
        libc::SYS_open,
        libc::SYS_openat,
        libc::SYS_openat2,
        libc::SYS_creat,
        libc::SYS_open_by_handle_at,
        libc::SYS_execve,
        libc::SYS_execveat,
        libc::SYS_socket,
        libc::SYS_connect,
        libc::SYS_bind,
        libc::SYS_ptrace,
        libc::SYS_process_vm_writev,
        libc::SYS_memfd_create,
        libc::SYS_clone3,
        libc::SYS_pkey_mprotect,
    ];
    for rule in SUPERVISOR.iter().chain(WORKER) {
        assert!(
            !forbidden.contains(&rule.nr),
            "{} is allowed",
            rule.syscall()
        );
    }
    let worker_only_forbidden = [
        libc::SYS_clone,
        libc::SYS_kill,
        libc::SYS_socketpair,
        libc::SYS_prctl,
        libc::SYS_seccomp,
        libc::SYS_sendmsg,
    ];
    for rule in WORKER {
        assert!(
            !worker_only_forbidden.contains(&rule.nr),
            "worker may {}",
            rule.syscall()
        );
    }
}

#[test]
fn violation_actions_parse_and_unknown_ones_are_refused() {
    assert_eq!("kill".parse::<Violation>().unwrap(), Violation::Kill);
    assert_eq!("errno".parse::<Violation>().unwrap(), Violation::Errno);
    assert_eq!("log".parse::<Violation>().unwrap(), Violation::Log);
    assert!("allow".parse::<Violation>().is_err());
}

#[test]
fn filters_build_for_both_profiles() {
    for profile in [Profile::Supervisor, Profile::Worker] {
        let program = filter(profile, Violation::Kill).unwrap();
        assert!(!program.is_empty() && program.len() < 4096, "{profile:?}");
    }
}
