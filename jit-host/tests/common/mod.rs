//! Helpers for jit-host's tests: hand-assembled kernel objects (good and hostile), a kernel
//! context with real buffers, and `/proc/<pid>/maps` parsing; compiled compute modules run in
//! process ([`kernel_run`], placed by [`placed`]) with a recording image helper
//! ([`recording_images`]).
#![allow(dead_code)]

pub mod kernel_run;
pub mod placed;
pub mod recording_images;

use object::elf::{R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32, R_X86_64_REX_GOTPCRELX};
use object::write::{Object, Relocation, Symbol, SymbolId, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags, SymbolKind,
    SymbolScope,
};
use shader::abi::{BufferDescriptor, KernelContext, COMPUTE_ENTRY_SYMBOL};

/// What to break in [`kernel_object`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flaw {
    None,
    /// The helper call goes to an undefined `sinf` (a libcall).
    UndefinedCall,
    /// The constant is loaded through the GOT (`R_X86_64_REX_GOTPCRELX`).
    GotLoad,
    /// An absolute 64-bit address of the constants is stored in the text.
    Absolute64,
    /// A writable `.data` section.
    WritableData,
    /// The entry symbol is missing (the function has another name).
    NoEntry,
    /// The constants carry a relocation (a pointer table in `.rodata`).
    RelocatedRodata,
}

/// Offset of the entry point inside `.text.main` (int3 padding before it).
pub const MAIN_AT: u64 = 16;
/// Offsets of c1 in `.rodata.cst4` and of c2 in `.rodata`.
const C1_AT: i64 = 4;
const C2_AT: i64 = 8;

/// Builds an x86-64 ELF relocatable object whose entry point stores
/// `c1 + c2 + first_workgroup + count` as a u32 at `buffers[0].base`:
/// `c1` is loaded RIP-relative from `.rodata.cst4`; `c2` comes from a helper function in
/// another text section (called via `R_X86_64_PLT32`) that loads it from `.rodata`.
pub fn kernel_object(c1: u32, c2: u32, flaw: Flaw) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text_main = obj.add_section(vec![], b".text.main".to_vec(), SectionKind::Text);
    let text_helper = obj.add_section(vec![], b".text.helper".to_vec(), SectionKind::Text);
    let rodata = obj.add_section(vec![], b".rodata".to_vec(), SectionKind::ReadOnlyData);
    let cst4 = obj.add_section(vec![], b".rodata.cst4".to_vec(), SectionKind::ReadOnlyData);

    // .rodata: 8 junk bytes, then c2 at 8. .rodata.cst4: junk, then c1 at 4.
    let mut ro = vec![0xee; 8];
    ro.extend_from_slice(&c2.to_le_bytes());
    obj.append_section_data(rodata, &ro, 8);
    let mut c = 0xdead_beef_u32.to_le_bytes().to_vec();
    c.extend_from_slice(&c1.to_le_bytes());
    obj.append_section_data(cst4, &c, 4);

    // helper: mov eax, [rip + c2]; ret
    obj.append_section_data(text_helper, &[0x8b, 0x05, 0, 0, 0, 0, 0xc3], 16);
    let helper = add_symbol(
        &mut obj,
        b"helper",
        0,
        text_helper,
        SymbolScope::Compilation,
    );

    let mut main = vec![0xcc; MAIN_AT as usize];
    main.extend_from_slice(&[
        0xe8, 0, 0, 0, 0, // call helper                (disp at 1)
        0x89, 0xc1, // mov ecx, eax
        0x48, 0x8b, 0x07, // mov rax, [rdi]            (ctx.buffers)
        0x48, 0x8b, 0x00, // mov rax, [rax]            (buffers[0].base)
        0x03, 0x0d, 0, 0, 0, 0, // add ecx, [rip + c1]  (disp at 15)
        0x01, 0xf1, // add ecx, esi                     (first_workgroup)
        0x01, 0xd1, // add ecx, edx                     (count)
        0x89, 0x08, // mov [rax], ecx
        0xc3, // ret
    ]);
    obj.append_section_data(text_main, &main, 16);
    let name: &[u8] = if flaw == Flaw::NoEntry {
        b"not_the_entry"
    } else {
        COMPUTE_ENTRY_SYMBOL.as_bytes()
    };
    add_symbol(&mut obj, name, MAIN_AT, text_main, SymbolScope::Linkage);

    let rodata_sym = obj.section_symbol(rodata);
    let cst4_sym = obj.section_symbol(cst4);
    let call_target = if flaw == Flaw::UndefinedCall {
        obj.add_symbol(Symbol {
            name: b"sinf".to_vec(),
            value: 0,
            size: 0,
            kind: SymbolKind::Text,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Undefined,
            flags: SymbolFlags::None,
        })
    } else {
        helper
    };
    reloc(
        &mut obj,
        text_main,
        MAIN_AT + 1,
        call_target,
        -4,
        R_X86_64_PLT32,
    );
    let c1_type = if flaw == Flaw::GotLoad {
        R_X86_64_REX_GOTPCRELX
    } else {
        R_X86_64_PC32
    };
    reloc(
        &mut obj,
        text_main,
        MAIN_AT + 15,
        cst4_sym,
        C1_AT - 4,
        c1_type,
    );
    reloc(
        &mut obj,
        text_helper,
        2,
        rodata_sym,
        C2_AT - 4,
        R_X86_64_PC32,
    );

    match flaw {
        Flaw::Absolute64 => reloc(&mut obj, text_main, 0, rodata_sym, 0, R_X86_64_64),
        Flaw::WritableData => {
            let data = obj.add_section(vec![], b".data".to_vec(), SectionKind::Data);
            obj.append_section_data(data, &[1, 2, 3, 4], 4);
        }
        Flaw::RelocatedRodata => {
            let table =
                obj.add_section(vec![], b".rodata.table".to_vec(), SectionKind::ReadOnlyData);
            obj.append_section_data(table, &[0; 4], 4);
            reloc(&mut obj, table, 0, helper, 0, R_X86_64_PC32);
        }
        _ => {}
    }
    obj.write().expect("writing a test object")
}

fn add_symbol(
    obj: &mut Object<'_>,
    name: &[u8],
    value: u64,
    section: object::write::SectionId,
    scope: SymbolScope,
) -> SymbolId {
    obj.add_symbol(Symbol {
        name: name.to_vec(),
        value,
        size: 0,
        kind: SymbolKind::Text,
        scope,
        weak: false,
        section: SymbolSection::Section(section),
        flags: SymbolFlags::None,
    })
}

fn reloc(
    obj: &mut Object<'_>,
    section: object::write::SectionId,
    offset: u64,
    symbol: SymbolId,
    addend: i64,
    r_type: u32,
) {
    obj.add_relocation(
        section,
        Relocation {
            offset,
            symbol,
            addend,
            flags: RelocationFlags::Elf { r_type },
        },
    )
    .expect("adding a relocation");
}

/// A 64-byte aligned block, so `Vec<Block>` gives aligned workgroup memory and scratch.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub struct Block(pub [u8; 64]);

/// Owns everything a kernel call points at.
pub struct TestContext {
    pub buffers: Vec<Vec<u32>>,
    descriptors: Vec<BufferDescriptor>,
    push: Vec<u8>,
    workgroup: Vec<Block>,
    scratch: Vec<Block>,
}

impl TestContext {
    /// `buffers` are u32 arrays bound to slots 0..; memory sizes in bytes.
    pub fn new(
        buffers: Vec<Vec<u32>>,
        workgroup_bytes: usize,
        scratch_bytes: usize,
    ) -> TestContext {
        let blocks = |n: usize| vec![Block([0; 64]); n.div_ceil(64).max(1)];
        TestContext {
            buffers,
            descriptors: Vec::new(),
            push: vec![0; 16],
            workgroup: blocks(workgroup_bytes),
            scratch: blocks(scratch_bytes),
        }
    }

    /// A context for a dispatch of `num_workgroups`; valid while `self` is not touched.
    pub fn context(&mut self, num_workgroups: [u32; 3]) -> KernelContext {
        self.descriptors = self
            .buffers
            .iter_mut()
            .map(|b| BufferDescriptor {
                base: b.as_mut_ptr().cast(),
                len: (b.len() * 4) as u64,
            })
            .collect();
        KernelContext {
            buffers: self.descriptors.as_ptr(),
            push_constants: self.push.as_ptr(),
            push_constants_len: self.push.len() as u32,
            num_workgroups,
            base_workgroup: [0; 3],
            workgroup_memory: self.workgroup.as_mut_ptr().cast(),
            scratch: self.scratch.as_mut_ptr().cast(),
            image_resources: shader::abi::ImageResources::NONE,
        }
    }
}

/// One line of `/proc/<pid>/maps`.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub perms: String,
    pub path: String,
}

impl Mapping {
    pub fn readable(&self) -> bool {
        self.perms.as_bytes()[0] == b'r'
    }
    pub fn writable(&self) -> bool {
        self.perms.as_bytes()[1] == b'w'
    }
    pub fn executable(&self) -> bool {
        self.perms.as_bytes()[2] == b'x'
    }
}

pub fn maps(pid: u32) -> Vec<Mapping> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("reading maps");
    text.lines()
        .map(|line| {
            let mut fields = line.split_whitespace();
            let perms = fields.nth(1).unwrap_or_default().to_owned();
            let path = fields
                .nth(3)
                .map(|_| {
                    line.split_whitespace()
                        .skip(5)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            Mapping { perms, path }
        })
        .collect()
}

/// Name of the arena's memfd as it appears in maps.
pub const ARENA_MAP_NAME: &str = "/memfd:softgpu-code-arena (deleted)";

/// A jit-host process started by hand with chosen flags, spoken to with the raw wire
/// protocol (the client's `JitHost` always starts it with its defaults).
pub struct RawHost {
    pub child: std::process::Child,
    pub sock: std::os::unix::net::UnixStream,
    pub hello: jit_host_client::wire::Hello,
}

impl RawHost {
    pub fn spawn(args: &[&str]) -> RawHost {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        let fd = theirs.as_raw_fd();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_jit-host"));
        cmd.arg("--socket-fd").arg(fd.to_string()).args(args);
        let keep_socket = move || {
            // SAFETY: F_SETFD on a descriptor number only changes its flags.
            if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        };
        // SAFETY: the closure runs in the forked child before exec and only calls fcntl
        // (async-signal-safe), letting jit-host's end of the pair survive the exec.
        unsafe { cmd.pre_exec(keep_socket) };
        let child = cmd.spawn().expect("starting jit-host");
        drop(theirs);
        ours.set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .expect("timeout");
        let (hello, _arena_fd) = jit_host_client::wire::recv_hello(&ours).expect("hello");
        RawHost {
            child,
            sock: ours,
            hello,
        }
    }

    /// Sends a request and reads its answer.
    pub fn ask(&self, request: &jit_host_client::wire::Request) -> jit_host_client::wire::Response {
        jit_host_client::wire::write_message(&self.sock, request).expect("sending a request");
        jit_host_client::wire::read_message(&self.sock).expect("reading the answer")
    }

    pub fn worker_pid(&self) -> u32 {
        match self.ask(&jit_host_client::wire::Request::WorkerPid) {
            jit_host_client::wire::Response::WorkerPid { pid } => pid,
            other => panic!("expected a worker pid, got {other:?}"),
        }
    }
}

impl Drop for RawHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `pid` is a live process (a zombie counts as dead).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// A field of `/proc/<pid>/status`, e.g. `Seccomp`.
pub fn status_field(pid: u32, field: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reading status");
    text.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The soft limit on `Max address space` in `/proc/<pid>/limits`, as printed.
pub fn address_space_limit(pid: u32) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("reading limits");
    text.lines()
        .find_map(|l| l.strip_prefix("Max address space"))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("no address space line")
        .to_owned()
}
