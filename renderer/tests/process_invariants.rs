//! Process-level sandbox invariants (DESIGN §4, §5), read from /proc/<pid>/maps after a device
//! has compiled and run a kernel: the renderer process has no writable+executable mapping and
//! exactly one executable shared mapping (the arena's code region); jit-host's processes map
//! nothing executable beyond their binary and shared libraries.
//!
//! This test binary holds exactly one device, so the counts are about one arena.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;

struct Mapping {
    line: String,
    perms: String,
    path: String,
}

fn maps(pid: &str) -> Vec<Mapping> {
    let file = format!("/proc/{pid}/maps");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("reading {file}: {e}"));
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            Mapping {
                line: line.to_string(),
                perms: fields.get(1).copied().unwrap_or("").to_string(),
                path: if fields.len() > 5 {
                    fields[5..].join(" ")
                } else {
                    String::new()
                },
            }
        })
        .collect()
}

fn is_exec(m: &Mapping) -> bool {
    m.perms.contains('x')
}

fn assert_no_writable_executable(maps: &[Mapping], who: &str) {
    for m in maps {
        assert!(
            !(m.perms.contains('w') && is_exec(m)),
            "{who} has a writable and executable mapping: {}",
            m.line
        );
    }
}

/// Executable mappings other than `binary`, shared libraries and kernel-provided pages.
fn foreign_executable<'a>(maps: &'a [Mapping], binary: &Path) -> Vec<&'a Mapping> {
    maps.iter()
        .filter(|m| is_exec(m))
        .filter(|m| {
            let p = Path::new(&m.path);
            let is_binary = p == binary
                || PathBuf::from(&m.path).canonicalize().ok().as_deref() == Some(binary);
            let is_library =
                m.path.starts_with('/') && m.path.contains(".so") && !m.path.contains("memfd:");
            let is_kernel = m.path == "[vdso]" || m.path == "[vsyscall]";
            !(is_binary || is_library || is_kernel)
        })
        .collect()
}

#[test]
fn no_writable_executable_memory_and_exactly_one_executable_shared_mapping() {
    let dev = new_device();
    let p = pipeline(&dev, "fill", &[("VALUE", "9")]);
    let out = buffer_zeroed::<u32>(&dev, 64);
    dev.dispatch(&p, &[&storage_set(&[&out])], &[], [2, 1, 1])
        .unwrap();
    assert_eq!(read_all::<u32>(&out)[63], 9 * 63, "the kernel ran");

    // The renderer (this process).
    let own = maps("self");
    assert_no_writable_executable(&own, "the renderer");
    let shared_exec: Vec<&Mapping> = own
        .iter()
        .filter(|m| is_exec(m) && m.perms.ends_with('s'))
        .collect();
    assert_eq!(
        shared_exec.len(),
        1,
        "the renderer should have exactly one executable shared mapping (the arena code region), found:\n{}",
        shared_exec.iter().map(|m| m.line.as_str()).collect::<Vec<_>>().join("\n")
    );
    let own_exe = std::env::current_exe().unwrap().canonicalize().unwrap();
    let others: Vec<&Mapping> = foreign_executable(&own, &own_exe)
        .into_iter()
        .filter(|m| !m.perms.ends_with('s'))
        .collect();
    assert!(
        others.is_empty(),
        "unexpected executable private mappings in the renderer: {:?}",
        others.iter().map(|m| &m.line).collect::<Vec<_>>()
    );

    // jit-host: the supervisor and the current compile worker.
    let binary = jit_host_path().canonicalize().unwrap();
    for (who, pid) in [
        (
            "jit-host supervisor",
            dev.jit().supervisor_pid().to_string(),
        ),
        (
            "jit-host worker",
            dev.jit().worker_pid().unwrap().to_string(),
        ),
    ] {
        let m = maps(&pid);
        assert_no_writable_executable(&m, who);
        let foreign = foreign_executable(&m, &binary);
        assert!(
            foreign.is_empty(),
            "{who} (pid {pid}) has executable mappings beyond its binary and libraries:\n{}",
            foreign
                .iter()
                .map(|m| m.line.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
