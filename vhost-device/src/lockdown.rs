//! The device's lockdown (DESIGN §5, issue 5 item 1): once set up — arena mapped, jit-host
//! started, /proc and /sys read, listener bound — the process can never again create
//! executable memory, open a file, make a socket or run a program.
//!
//! Three layers, applied in this order:
//! * `PR_SET_MDWE(PR_MDWE_REFUSE_EXEC_GAIN)`: the kernel refuses to make writable memory
//!   executable, or to add PROT_EXEC to a mapping;
//! * filters answering a few calls with an error instead of a violation (see
//!   [`rules::ANSWERED`]: `clone3` with ENOSYS so that glibc uses `clone`, the `open` family
//!   with EACCES because glibc's malloc may try one and copes with the refusal);
//! * the allow-list ([`rules::ALLOWED`]): every other call, or the same call with other
//!   arguments, is a violation. The filter's architecture check kills a process that makes an
//!   i386 (`int 0x80`) call whatever the [`Violation`] mode; x32 calls (bit 30 of the number)
//!   match no entry of the list and so are violations too.
//!
//! All filters go on every thread at once (TSYNC: library code spawns threads too).

mod rules;

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use thiserror::Error;

pub use rules::{Allowed, Answered, Peer, When, ALLOWED, ANSWERED};

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

/// What the kernel does to a call outside the allow-list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Production: `SECCOMP_RET_KILL_PROCESS` — a device that tries is treated as compromised.
    Kill,
    /// Tests and debugging: the call fails with EPERM, so each refusal can be checked (and a
    /// missing entry shows as an error instead of a dead device).
    Errno,
}

impl Violation {
    fn action(self) -> SeccompAction {
        match self {
            Violation::Kill => SeccompAction::KillProcess,
            Violation::Errno => SeccompAction::Errno(libc::EPERM as u32),
        }
    }
}

/// The processes whose pids some entries of the allow-list name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peers {
    /// The device's own pid (thread-group id).
    pub itself: u32,
    /// The jit-host supervisor the device started, if any.
    pub jit_host: Option<u32>,
}

impl Peers {
    /// This process and, if the device started one, its jit-host.
    pub fn of_this_process(jit_host: Option<u32>) -> Peers {
        Peers {
            itself: std::process::id(),
            jit_host,
        }
    }

    fn pid(&self, peer: Peer) -> Option<u32> {
        match peer {
            Peer::Itself => Some(self.itself),
            Peer::JitHost => self.jit_host,
        }
    }
}

/// How one allow-list entry turns into seccomp rules.
enum Grant {
    /// Allowed whatever the arguments.
    Unconditional,
    /// Allowed when the rule matches.
    If(SeccompRule),
    /// The entry cannot apply (it names a peer that does not exist).
    Never,
}

fn grant(entry: &Allowed, peers: &Peers) -> Result<Grant, LockdownError> {
    let (arg, op, len, value) = match entry.when {
        When::Always => return Ok(Grant::Unconditional),
        When::BitsClear { arg, mask } => (
            arg,
            SeccompCmpOp::MaskedEq(mask),
            SeccompCmpArgLen::Qword,
            0,
        ),
        When::BitsSet { arg, mask } => (
            arg,
            SeccompCmpOp::MaskedEq(mask),
            SeccompCmpArgLen::Qword,
            mask,
        ),
        When::Equals { arg, value } => (arg, SeccompCmpOp::Eq, SeccompCmpArgLen::Dword, value),
        When::PidOf { arg, peer } => match peers.pid(peer) {
            Some(pid) => (
                arg,
                SeccompCmpOp::Eq,
                SeccompCmpArgLen::Dword,
                u64::from(pid),
            ),
            None => return Ok(Grant::Never),
        },
    };
    let cond = SeccompCondition::new(arg, len, op, value)?;
    Ok(Grant::If(SeccompRule::new(vec![cond])?))
}

/// The allow-list as a BPF program: calls in [`ALLOWED`] pass, everything else gets
/// `violation`.
pub fn allow_list_filter(violation: Violation, peers: &Peers) -> Result<BpfProgram, LockdownError> {
    // nr → None: unconditional; Some(rules): when any of the rules matches.
    let mut by_nr: BTreeMap<i64, Option<Vec<SeccompRule>>> = BTreeMap::new();
    for entry in ALLOWED {
        let rule = match grant(entry, peers)? {
            Grant::Never => continue,
            Grant::Unconditional => None,
            Grant::If(rule) => Some(rule),
        };
        let slot = by_nr.entry(entry.nr).or_insert_with(|| Some(Vec::new()));
        match (slot.as_mut(), rule) {
            (_, None) => *slot = None,
            (Some(rules), Some(rule)) => rules.push(rule),
            (None, Some(_)) => {}
        }
    }
    // Answered calls pass this filter: their own filter refuses them with an error.
    for answered in ANSWERED {
        by_nr.insert(answered.nr, None);
    }
    // seccompiler: an empty rule chain matches unconditionally.
    let rules = by_nr
        .into_iter()
        .map(|(nr, rules)| (nr, rules.unwrap_or_default()))
        .collect();
    let filter = SeccompFilter::new(
        rules,
        violation.action(),
        SeccompAction::Allow,
        TargetArch::x86_64,
    )?;
    Ok(filter.try_into()?)
}

/// The answer filters: one per errno of [`ANSWERED`], failing its calls with that errno and
/// passing everything else on to the allow-list.
pub fn answer_filters() -> Result<Vec<BpfProgram>, LockdownError> {
    let mut by_errno: BTreeMap<i32, BTreeMap<i64, Vec<SeccompRule>>> = BTreeMap::new();
    for a in ANSWERED {
        by_errno
            .entry(a.errno)
            .or_default()
            .insert(a.nr, Vec::new());
    }
    by_errno
        .into_iter()
        .map(|(errno, rules)| {
            let filter = SeccompFilter::new(
                rules,
                SeccompAction::Allow,
                SeccompAction::Errno(errno as u32),
                TargetArch::x86_64,
            )?;
            Ok(filter.try_into()?)
        })
        .collect()
}

/// Locks the whole process down (all threads). Irreversible.
pub fn lock_down(violation: Violation, peers: &Peers) -> Result<(), LockdownError> {
    // Build both programs before changing anything, so an error leaves the process as it was.
    let allow_list = allow_list_filter(violation, peers)?;
    let answers = answer_filters()?;
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
    // The answer filters first: once the allow-list is on, seccomp() itself is refused.
    for answer in &answers {
        seccompiler::apply_filter_all_threads(answer)?;
    }
    seccompiler::apply_filter_all_threads(&allow_list)?;
    Ok(())
}

#[cfg(test)]
mod tests;
