//! The device's minimal lockdown (DESIGN §5, issue 3): once set up — arena mapped, jit-host
//! started, /proc and /sys read, listener bound — the process can never again create executable
//! memory, open a file or run a program. The sandbox issue turns this deny-list into an
//! allow-list.
//!
//! Two layers: `PR_SET_MDWE(PR_MDWE_REFUSE_EXEC_GAIN)` (the kernel refuses to make writable
//! memory executable, or to add PROT_EXEC to a mapping), and a seccomp filter on every thread
//! at once (TSYNC: library code spawns threads too) returning EPERM for the calls below.

use std::collections::BTreeMap;

use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};
use thiserror::Error;

/// `prctl(PR_SET_MDWE, …)` (Linux 6.3).
const PR_SET_MDWE: libc::c_int = 65;
const PR_MDWE_REFUSE_EXEC_GAIN: libc::c_ulong = 1;

#[derive(Debug, Error)]
pub enum LockdownError {
    #[error("prctl(PR_SET_MDWE) failed (needs Linux ≥ 6.3): {0}")]
    Mdwe(std::io::Error),
    #[error("building the seccomp filter: {0}")]
    Filter(#[from] seccompiler::BackendError),
    #[error("installing the seccomp filter: {0}")]
    Apply(#[from] seccompiler::Error),
}

/// What a denied syscall is refused on.
enum Deny {
    /// Always.
    Always,
    /// When the `prot` argument (index 2) has PROT_EXEC set.
    ProtExec,
}

/// The deny-list, as data: (syscall, when, why).
const DENIED: &[(libc::c_long, Deny, &str)] = &[
    (
        libc::SYS_mmap,
        Deny::ProtExec,
        "no new executable mapping: the arena is the only one",
    ),
    (
        libc::SYS_mprotect,
        Deny::ProtExec,
        "no turning existing memory executable",
    ),
    (
        libc::SYS_pkey_mprotect,
        Deny::ProtExec,
        "same as mprotect, with a protection key",
    ),
    (
        libc::SYS_open,
        Deny::Always,
        "everything on disk was read before lockdown",
    ),
    (libc::SYS_openat, Deny::Always, "same"),
    (libc::SYS_openat2, Deny::Always, "same"),
    (libc::SYS_creat, Deny::Always, "same, and no creating files"),
    (
        libc::SYS_open_by_handle_at,
        Deny::Always,
        "opening by file handle is opening too",
    ),
    (
        libc::SYS_execve,
        Deny::Always,
        "nothing is spawned after lockdown (jit-host runs already)",
    ),
    (libc::SYS_execveat, Deny::Always, "same"),
    (
        libc::SYS_ptrace,
        Deny::Always,
        "no inspecting or writing other processes",
    ),
    (
        libc::SYS_process_vm_writev,
        Deny::Always,
        "no writing other processes' memory",
    ),
];

/// Builds the BPF program: allow by default, EPERM for [`DENIED`]. Calls from a non-native
/// ABI (x32, i386) are refused by seccompiler's architecture check.
pub fn filter() -> Result<BpfProgram, LockdownError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for (nr, deny, _why) in DENIED {
        let chain = match deny {
            Deny::Always => Vec::new(),
            Deny::ProtExec => vec![SeccompRule::new(vec![SeccompCondition::new(
                2,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(libc::PROT_EXEC as u64),
                libc::PROT_EXEC as u64,
            )?])?],
        };
        rules.insert(*nr, chain);
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        TargetArch::x86_64,
    )?;
    Ok(filter.try_into()?)
}

/// x32 system calls run on the x86-64 audit architecture with bit 30 set in the number, so the
/// deny-list above (keyed by native numbers) would not see them. This second, stacked filter
/// refuses every call numbered at or above `__X32_SYSCALL_BIT`.
pub fn x32_guard() -> BpfProgram {
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    // Classic BPF opcodes (linux/filter.h): LD|W|ABS, JMP|JGE|K, RET|K.
    const LD_W_ABS: u16 = 0x20;
    const JGE_K: u16 = 0x35;
    const RET_K: u16 = 0x06;
    let ins = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    vec![
        // seccomp_data.nr is at offset 0.
        ins(LD_W_ABS, 0, 0, 0),
        ins(JGE_K, 0, 1, X32_SYSCALL_BIT),
        ins(RET_K, 0, 0, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        ins(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ]
}

/// Locks the whole process down (all threads). Irreversible.
pub fn lock_down() -> Result<(), LockdownError> {
    let prog = filter()?;
    // SAFETY: prctl with integer arguments only; PR_SET_MDWE changes no memory.
    let rc = unsafe {
        libc::prctl(
            PR_SET_MDWE,
            PR_MDWE_REFUSE_EXEC_GAIN,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc != 0 {
        return Err(LockdownError::Mdwe(std::io::Error::last_os_error()));
    }
    seccompiler::apply_filter_all_threads(&prog)?;
    seccompiler::apply_filter_all_threads(&x32_guard())?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;
    use std::process::Command;

    const CHILD_ENV: &str = "SOFTGPU_LOCKDOWN_CHILD";

    /// Runs in a child process (the lockdown is irreversible and process-wide): see
    /// `lockdown_refuses_open_exec_mappings_and_exec`.
    #[test]
    #[ignore = "run by lockdown_refuses_open_exec_mappings_and_exec in a child process"]
    fn lockdown_child() {
        if std::env::var_os(CHILD_ENV).is_none() {
            return;
        }
        // A thread started before lockdown is covered too (TSYNC).
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let early = std::thread::spawn(move || {
            rx.recv().unwrap();
            done_tx
                .send(
                    std::fs::File::open("/etc/hostname")
                        .map(|_| ())
                        .map_err(|e| e.raw_os_error()),
                )
                .unwrap();
        });
        assert!(
            std::fs::File::open("/etc/hostname").is_ok(),
            "open works before lockdown"
        );
        lock_down().unwrap();
        let e = std::fs::File::open("/etc/hostname").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM), "open after lockdown");
        tx.send(()).unwrap();
        assert_eq!(
            done_rx.recv().unwrap(),
            Err(Some(libc::EPERM)),
            "open in an older thread"
        );
        early.join().unwrap();

        // SAFETY: fresh anonymous mappings; nothing existing is touched.
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
        assert_eq!(exec, libc::MAP_FAILED, "PROT_EXEC mmap refused");
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EPERM)
        );
        // SAFETY: as above.
        let rw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(rw, libc::MAP_FAILED, "ordinary mmap works");
        // SAFETY: rw is our own 4096-byte mapping.
        let rc = unsafe { libc::mprotect(rw, 4096, libc::PROT_READ | libc::PROT_EXEC) };
        assert_eq!(rc, -1, "mprotect to exec refused");
        // An x32 getpid: refused, not run (ENOSYS would mean it reached the kernel's table).
        // SAFETY: a syscall with no arguments that touches no memory.
        let rc = unsafe { libc::syscall(0x4000_0000 | libc::SYS_getpid) };
        let errno = std::io::Error::last_os_error().raw_os_error();
        assert_eq!((rc, errno), (-1, Some(libc::EPERM)), "x32 ABI refused");
        let err = Command::new("/bin/true").status().unwrap_err();
        assert!(
            matches!(err.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES)),
            "{err}"
        );
        println!("LOCKDOWN-CHILD-OK");
    }

    #[test]
    fn lockdown_refuses_open_exec_mappings_and_exec() {
        let exe = std::env::current_exe().unwrap();
        let out = Command::new(exe)
            .args([
                "--exact",
                "lockdown::tests::lockdown_child",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_ENV, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("LOCKDOWN-CHILD-OK"),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
