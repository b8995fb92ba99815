//! jit-host: the only process that writes executable code (DESIGN §1, §4, §5).
//!
//! * [`supervisor`]: the small single-threaded parent. Creates and owns the code arena's only
//!   writable mapping, forks compile workers, places their output, answers the device.
//!   It never calls into LLVM.
//! * [`worker`]: a forked child without the arena. Decodes IR and runs [`compile`].
//! * [`compile`]: validate → [`codegen`] (LLVM) → [`link`]; no process concerns, so the
//!   in-process benchmark uses it too.
//! * [`arena`]: the sealed memfd, its allocator, and placing linked code into it.
//! * [`sandbox`]: MDWE, the seccomp allow-lists of both processes, the worker's RLIMIT_AS.

pub mod arena;
pub mod codegen;
pub mod compile;
pub mod link;
pub mod sandbox;
pub mod supervisor;
pub mod worker;
