//! A mock device behind the [`Transport`] trait: memory blocks are zeroed heap allocations;
//! `submit` decodes the stream with `protocol`, records every command (recorded command
//! buffers too, read back from "guest memory" by their ranges), and plays the device's part
//! for what the ICD observes: pipeline replies, timeline signal words, timestamps, u32 writes.
//! With client caps in its capset ([`MockTransport::with_caps`]) it also counts objects and
//! descriptors as vhost-device does, and a create past a cap loses the device, as it does
//! there. A stream, or a recorded command buffer, past the capset's `max_stream_size` loses the
//! device too ([`MockTransport::with_capset`]).

#![allow(clippy::unwrap_used)]

use crate::transport::{FenceId, MemoryBlock, Transport, TransportError};
use protocol::stream::{GuestLocation, Reply};
use protocol::Command;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

pub(crate) fn capset() -> protocol::Capset {
    protocol::Capset {
        protocol_version: protocol::PROTOCOL_VERSION,
        subgroup_size: 16,
        threads: 2,
        max_compute_workgroup_invocations: 1024,
        max_compute_workgroup_size: [1024, 1024, 64],
        max_compute_workgroup_count: [65535; 3],
        max_compute_shared_memory_size: 32768,
        max_push_constants_size: 256,
        max_storage_buffer_range: u32::MAX,
        max_uniform_buffer_range: 65536,
        min_storage_buffer_offset_alignment: 16,
        min_uniform_buffer_offset_alignment: 16,
        max_bound_descriptor_sets: 8,
        max_memory_allocation_size: 1 << 32,
        device_memory_budget: 3 << 30,
        max_stream_size: 64 << 20,
        client: protocol::ClientCaps::default(),
    }
}

/// The device's per-client count (vhost-device's `ContextAccount`): one object per create,
/// the layout's descriptor count per descriptor set.
#[derive(Default)]
pub(crate) struct DeviceCount {
    pub(crate) objects: u64,
    pub(crate) descriptors: u64,
    layouts: HashMap<u64, u64>,
    sets: HashMap<u64, u64>,
}

/// SPIR-V words the mock device refuses at pipeline creation (its 2nd word).
pub(crate) const BAD_SPIRV_MARKER: u32 = 0xbad0_5b1d;

pub(crate) struct MockTransport {
    capset: protocol::Capset,
    client: crate::transport::ClientAccount,
    pub(crate) unavailable: bool,
    blocks: Mutex<HashMap<u32, (usize, u64)>>,
    next_resource: AtomicU32,
    next_fence: AtomicU64,
    /// Fences up to this one are complete.
    completed: AtomicU64,
    /// Complete each submission at once (else the test completes them).
    pub(crate) auto_complete: AtomicBool,
    /// Top-level commands in order.
    pub(crate) top: Mutex<Vec<Command>>,
    /// Commands of the command buffers executed, in order.
    pub(crate) executed: Mutex<Vec<Command>>,
    modules: Mutex<HashMap<u64, Vec<u32>>>,
    pub(crate) submits: AtomicU64,
    pub(crate) count: Mutex<DeviceCount>,
    /// A submission failed: every later one fails too.
    lost: AtomicBool,
    /// Bytes of each stream submitted, in order.
    pub(crate) stream_sizes: Mutex<Vec<usize>>,
    /// Bytes of the live memory blocks (what the device charges against its memory budget).
    pub(crate) block_bytes: AtomicU64,
}

impl MockTransport {
    pub(crate) fn new() -> MockTransport {
        MockTransport {
            client: crate::transport::ClientAccount::new(&capset()),
            capset: capset(),
            unavailable: false,
            blocks: Mutex::new(HashMap::new()),
            next_resource: AtomicU32::new(1),
            next_fence: AtomicU64::new(1),
            completed: AtomicU64::new(0),
            auto_complete: AtomicBool::new(true),
            top: Mutex::new(Vec::new()),
            executed: Mutex::new(Vec::new()),
            modules: Mutex::new(HashMap::new()),
            submits: AtomicU64::new(0),
            count: Mutex::new(DeviceCount::default()),
            lost: AtomicBool::new(false),
            stream_sizes: Mutex::new(Vec::new()),
            block_bytes: AtomicU64::new(0),
        }
    }

    /// A mock announcing and enforcing `capset` (caps, stream limit).
    pub(crate) fn with_capset(capset: protocol::Capset) -> MockTransport {
        let mut m = MockTransport::new();
        m.capset = capset;
        m.client = crate::transport::ClientAccount::new(&m.capset);
        m
    }

    /// A mock whose capset carries `caps` and which enforces them as the device does.
    pub(crate) fn with_caps(caps: protocol::ClientCaps) -> MockTransport {
        let mut m = MockTransport::new();
        m.capset.client = caps;
        m.client = crate::transport::ClientAccount::new(&m.capset);
        m
    }

    /// Counts a top-level command as the device does; `Err` is the device's refusal, which
    /// fails the submission. Pipelines are counted where their reply is written.
    fn charge(&self, cmd: &Command) -> Result<(), String> {
        let caps = self.capset.client;
        let mut n = self.count.lock().unwrap();
        let descriptors = match cmd {
            Command::CreateDescriptorSet(c) => *n.layouts.get(&c.layout).unwrap_or(&0),
            _ => 0,
        };
        match protocol::object_effect(cmd.opcode()) {
            protocol::ObjectEffect::Creates => match cmd {
                Command::CreateComputePipeline(_) | Command::CreateGraphicsPipeline(_) => {}
                _ => {
                    if caps.max_objects.is_some_and(|m| n.objects + 1 > m) {
                        return Err(format!("{}: too many objects", cmd.name()));
                    }
                    if caps
                        .max_descriptors
                        .is_some_and(|m| n.descriptors + descriptors > m)
                    {
                        return Err(format!("{}: too many descriptors", cmd.name()));
                    }
                    n.objects += 1;
                    n.descriptors += descriptors;
                    match cmd {
                        Command::CreateDescriptorSetLayout(c) => {
                            let total = c.bindings.iter().map(|b| u64::from(b.count)).sum();
                            n.layouts.insert(c.id, total);
                        }
                        Command::CreateDescriptorSet(c) => {
                            n.sets.insert(c.id, descriptors);
                        }
                        _ => {}
                    }
                }
            },
            protocol::ObjectEffect::Destroys => {
                // The ICD never destroys what it did not create.
                n.objects = n.objects.checked_sub(1).unwrap();
                if let Command::DestroyDescriptorSet(c) = cmd {
                    n.descriptors -= n.sets.remove(&c.id).unwrap();
                }
            }
            protocol::ObjectEffect::None => {}
        }
        if let Command::CreateShaderModule(c) = cmd {
            if caps
                .max_shader_module_words
                .is_some_and(|m| c.code.len() as u64 > m)
            {
                return Err("shader module too large".into());
            }
        }
        Ok(())
    }

    /// The reply of a pipeline creation that compiled: success if the object cap has room
    /// (then the pipeline is counted), else the device's refusal.
    fn charge_pipeline(&self) -> i32 {
        let mut n = self.count.lock().unwrap();
        if self
            .capset
            .client
            .max_objects
            .is_some_and(|m| n.objects + 1 > m)
        {
            return ash::vk::Result::ERROR_OUT_OF_HOST_MEMORY.as_raw();
        }
        n.objects += 1;
        0
    }

    pub(crate) fn live_blocks(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.blocks.lock().unwrap().values().map(|b| b.1).collect();
        v.sort();
        v
    }

    /// Completes every fence issued so far.
    pub(crate) fn complete_all(&self) {
        self.completed
            .store(self.next_fence.load(Ordering::SeqCst) - 1, Ordering::SeqCst);
    }

    fn at(&self, loc: GuestLocation, len: u64) -> *mut u8 {
        let blocks = self.blocks.lock().unwrap();
        let (ptr, size) = blocks[&loc.resource];
        assert!(
            loc.offset + len <= size,
            "device access outside block {}",
            loc.resource
        );
        (ptr + loc.offset as usize) as *mut u8
    }

    fn write(&self, loc: GuestLocation, bytes: &[u8]) {
        let p = self.at(loc, bytes.len() as u64);
        // SAFETY: in bounds of a live block (asserted).
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
    }

    fn run(&self, cmd: &Command) {
        match cmd {
            Command::CreateShaderModule(m) => {
                self.modules.lock().unwrap().insert(m.id, m.code.clone());
            }
            Command::CreateComputePipeline(p) => {
                let bad = self
                    .modules
                    .lock()
                    .unwrap()
                    .get(&p.module)
                    .is_none_or(|c| c.get(1) == Some(&BAD_SPIRV_MARKER));
                let result = if bad {
                    ash::vk::Result::ERROR_INITIALIZATION_FAILED.as_raw()
                } else {
                    self.charge_pipeline()
                };
                self.write(p.reply, &Reply { result }.encode());
            }
            Command::CreateGraphicsPipeline(p) => {
                let modules = self.modules.lock().unwrap();
                let bad = p.info.stages.iter().any(|s| {
                    modules
                        .get(&s.module)
                        .is_none_or(|c| c.get(1) == Some(&BAD_SPIRV_MARKER))
                });
                drop(modules);
                let result = if bad {
                    ash::vk::Result::ERROR_INITIALIZATION_FAILED.as_raw()
                } else {
                    self.charge_pipeline()
                };
                self.write(p.reply, &Reply { result }.encode());
            }
            Command::Submit(s) => {
                for r in &s.command_buffers {
                    let p = self.at(
                        GuestLocation {
                            resource: r.resource,
                            offset: r.offset,
                        },
                        r.len,
                    );
                    // SAFETY: in bounds of a live block (asserted in `at`).
                    let bytes = unsafe { std::slice::from_raw_parts(p, r.len as usize) }.to_vec();
                    for c in protocol::stream::decode_all(&bytes).unwrap() {
                        self.run(&c);
                        self.executed.lock().unwrap().push(c);
                    }
                }
                for w in &s.signals {
                    self.write(w.dst, &w.value.to_le_bytes());
                }
            }
            Command::CmdWriteTimestamp(t) => {
                self.write(t.dst, &1234u64.to_le_bytes());
                self.write(
                    GuestLocation {
                        offset: t.dst.offset + 8,
                        ..t.dst
                    },
                    &1u64.to_le_bytes(),
                );
            }
            Command::CmdWriteGuestU32(w) => self.write(w.dst, &w.value.to_le_bytes()),
            _ => {}
        }
    }
}

impl Transport for MockTransport {
    fn capset(&self) -> &protocol::Capset {
        &self.capset
    }

    fn client(&self) -> &crate::transport::ClientAccount {
        &self.client
    }

    fn create_memory(&self, size: u64) -> Result<MemoryBlock, TransportError> {
        let size = size.next_multiple_of(4096);
        let layout = Layout::from_size_align(size as usize, 4096).unwrap();
        // SAFETY: non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        assert!(!ptr.is_null());
        let resource_id = self.next_resource.fetch_add(1, Ordering::SeqCst);
        self.block_bytes.fetch_add(size, Ordering::SeqCst);
        self.blocks
            .lock()
            .unwrap()
            .insert(resource_id, (ptr as usize, size));
        Ok(MemoryBlock {
            resource_id,
            ptr,
            size,
        })
    }

    fn destroy_memory(&self, block: MemoryBlock) {
        let (ptr, size) = self
            .blocks
            .lock()
            .unwrap()
            .remove(&block.resource_id)
            .unwrap();
        self.block_bytes.fetch_sub(size, Ordering::SeqCst);
        // SAFETY: allocated in `create_memory` with this layout.
        unsafe {
            dealloc(
                ptr as *mut u8,
                Layout::from_size_align(size as usize, 4096).unwrap(),
            )
        };
    }

    fn submit(&self, stream: &[u8]) -> Result<FenceId, TransportError> {
        self.submits.fetch_add(1, Ordering::SeqCst);
        if self.lost.load(Ordering::SeqCst) {
            return Err(TransportError::DeviceLost(
                "an earlier submission failed".into(),
            ));
        }
        self.stream_sizes.lock().unwrap().push(stream.len());
        // The device refuses a stream, or a recorded command buffer, past its limit.
        let max = self.capset.max_stream_size as usize;
        if stream.len() > max {
            self.lost.store(true, Ordering::SeqCst);
            return Err(TransportError::DeviceLost(format!(
                "stream of {} bytes over {max}",
                stream.len()
            )));
        }
        let cmds = protocol::stream::decode_all(stream)
            .map_err(|e| TransportError::DeviceLost(e.to_string()))?;
        for c in &cmds {
            if let Command::Submit(s) = c {
                if s.command_buffers.iter().any(|r| r.len > max as u64) {
                    self.lost.store(true, Ordering::SeqCst);
                    return Err(TransportError::DeviceLost("command buffer too long".into()));
                }
            }
        }
        for c in &cmds {
            if let Err(e) = self.charge(c) {
                self.lost.store(true, Ordering::SeqCst);
                return Err(TransportError::DeviceLost(e));
            }
            self.run(c);
        }
        self.top.lock().unwrap().extend(cmds);
        let f = self.next_fence.fetch_add(1, Ordering::SeqCst);
        if self.auto_complete.load(Ordering::SeqCst) {
            self.completed.store(f, Ordering::SeqCst);
        }
        Ok(f)
    }

    fn wait(&self, fence: FenceId, timeout_ns: u64) -> Result<bool, TransportError> {
        let start = std::time::Instant::now();
        loop {
            if self.completed.load(Ordering::SeqCst) >= fence {
                return Ok(true);
            }
            if start.elapsed().as_nanos() >= u128::from(timeout_ns) {
                return Ok(false);
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }
}
