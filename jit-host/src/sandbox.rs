//! jit-host's own lockdown (DESIGN §5): the supervisor once the arena exists, each compile
//! worker before it reads its first request.
//!
//! Two layers, as in the device: `prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)` (the kernel
//! refuses writable+executable mappings and adding `PROT_EXEC` to anything), and a seccomp
//! allow-list ([`rules`]) built with `seccompiler`. Everything not listed is refused — `open*`,
//! `execve*`, `socket`, `connect`, `bind`, `ptrace`, `memfd_create` after the arena exists,
//! any `mmap`/`mprotect` with `PROT_EXEC` — and so is every call of a non-native ABI: i386
//! calls fail seccompiler's architecture check (always a process kill), x32 calls carry bit 30
//! in their number and match no rule.
//!
//! The supervisor writes code into the arena only through its `PROT_READ|PROT_WRITE` shared
//! mapping and never maps anything executable, so neither layer gets in its way.
//!
//! On a violation the process is killed (`SECCOMP_RET_KILL_PROCESS`) in production; tests of
//! the refusals use [`Violation::Errno`]. To find the set a new LLVM needs, run the tests with
//! jit-host's `--seccomp-violation log` (the kernel logs each call that would have been
//! refused to the audit log / dmesg) or under `strace -f`.

mod rules;

use std::collections::BTreeMap;

pub use rules::{Cond, Rule, SUPERVISOR, WORKER};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// `prctl(PR_SET_MDWE, …)` (Linux 6.3).
pub(crate) const PR_SET_MDWE: libc::c_int = 65;
pub(crate) const PR_MDWE_REFUSE_EXEC_GAIN: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("prctl(PR_SET_MDWE) failed (needs Linux ≥ 6.3): {0}")]
    Mdwe(std::io::Error),
    #[error("building the seccomp filter: {0}")]
    Filter(#[from] seccompiler::BackendError),
    #[error("installing the seccomp filter: {0}")]
    Apply(#[from] seccompiler::Error),
    #[error("setting RLIMIT_AS to {bytes} bytes: {source}")]
    AddressSpace { bytes: u64, source: nix::Error },
    #[error("unknown seccomp violation action {0:?} (kill, errno or log)")]
    UnknownViolation(String),
}

/// What the kernel does with a system call outside the allow-list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Kill the whole process (`SECCOMP_RET_KILL_PROCESS`): production.
    Kill,
    /// Fail the call with `EPERM`: tests of the refusals.
    Errno,
    /// Allow the call but log it to the kernel's audit log: finding the set a new toolchain
    /// needs. Not a sandbox.
    Log,
}

impl std::str::FromStr for Violation {
    type Err = SandboxError;

    fn from_str(s: &str) -> Result<Violation, SandboxError> {
        match s {
            "kill" => Ok(Violation::Kill),
            "errno" => Ok(Violation::Errno),
            "log" => Ok(Violation::Log),
            other => Err(SandboxError::UnknownViolation(other.to_owned())),
        }
    }
}

impl Violation {
    fn action(self) -> SeccompAction {
        match self {
            Violation::Kill => SeccompAction::KillProcess,
            Violation::Errno => SeccompAction::Errno(libc::EPERM as u32),
            Violation::Log => SeccompAction::Log,
        }
    }
}

/// Which of jit-host's two processes a filter is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Supervisor,
    Worker,
}

impl Profile {
    pub fn rules(self) -> &'static [Rule] {
        match self {
            Profile::Supervisor => SUPERVISOR,
            Profile::Worker => WORKER,
        }
    }
}

fn condition(cond: Cond) -> Result<Vec<SeccompCondition>, SandboxError> {
    use SeccompCmpArgLen::{Dword, Qword};
    let one = |arg, len, op, value| SeccompCondition::new(arg, len, op, value);
    Ok(match cond {
        Cond::Lacks(arg, mask) => vec![one(arg, Qword, SeccompCmpOp::MaskedEq(mask), 0)?],
        Cond::Eq(arg, value) => vec![one(arg, Dword, SeccompCmpOp::Eq, u64::from(value))?],
        Cond::Eq64(arg, value) => vec![one(arg, Qword, SeccompCmpOp::Eq, value)?],
        Cond::OnePid(arg) => vec![
            one(arg, Dword, SeccompCmpOp::Ge, 1)?,
            one(arg, Dword, SeccompCmpOp::Le, i32::MAX as u64)?,
        ],
    })
}

/// Builds the BPF program for `profile`: allow what its rules list, `violation` for the rest.
pub fn filter(profile: Profile, violation: Violation) -> Result<BpfProgram, SandboxError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for rule in profile.rules() {
        let mut chain = Vec::with_capacity(rule.when.len());
        for conjunction in rule.when {
            let mut conditions = Vec::new();
            for &cond in *conjunction {
                conditions.extend(condition(cond)?);
            }
            chain.push(SeccompRule::new(conditions)?);
        }
        rules.insert(rule.nr, chain);
    }
    let filter = SeccompFilter::new(
        rules,
        violation.action(),
        SeccompAction::Allow,
        TargetArch::x86_64,
    )?;
    Ok(filter.try_into()?)
}

/// `PR_SET_MDWE(PR_MDWE_REFUSE_EXEC_GAIN)` for this process; inherited by workers it forks.
pub fn refuse_exec_gain() -> Result<(), SandboxError> {
    // SAFETY: prctl with integer arguments only; PR_SET_MDWE changes no memory.
    let rc = unsafe {
        libc::prctl(
            PR_SET_MDWE,
            PR_MDWE_REFUSE_EXEC_GAIN as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc != 0 {
        return Err(SandboxError::Mdwe(std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Locks this process down for good: MDWE, then `profile`'s filter on every thread (jit-host's
/// processes are single-threaded; TSYNC covers a thread some library might have started).
pub fn lock_down(profile: Profile, violation: Violation) -> Result<(), SandboxError> {
    let program = filter(profile, violation)?;
    refuse_exec_gain()?;
    seccompiler::apply_filter_all_threads(&program)?;
    Ok(())
}

/// Caps this process's address space (soft and hard limit: it cannot raise it again). An
/// allocation past it fails, which LLVM and Rust turn into an abort: the supervisor reports
/// the worker's death for that compile and forks a new one.
pub fn limit_address_space(bytes: u64) -> Result<(), SandboxError> {
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_AS, bytes, bytes)
        .map_err(|source| SandboxError::AddressSpace { bytes, source })
}

#[cfg(test)]
mod tests;
