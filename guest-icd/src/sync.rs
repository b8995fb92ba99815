//! Fences, semaphores, events and queue submission.
//!
//! The device runs one queue in submission order, so binary semaphores need no device work
//! (a wait is always satisfied by an earlier submission); a fence is the transport fence of
//! the submission that signals it. A timeline semaphore's payload is a `u64` in device memory:
//! the device writes it when a submission that signals it completes (`Submit.signals`), the
//! host reads it, and `vkSignalSemaphore` writes it directly. Events are a `u32` in device
//! memory (1 = set).

use crate::command_buffer::{command_buffer, record};
use crate::device::{device, queue, Device};
use crate::entry::{guard, guard_void, slice, walk_chain, write_out};
use crate::error::{IcdError, IcdResult};
use crate::handle::{object, take_object, to_handle};
use crate::memory::{poisoned, Allocation};
use crate::transport::FenceId;
use ash::vk;
use protocol::stream::{CmdWaitGuestU32, CmdWriteGuestU32, SignalWrite, Submit, TimelineWait};
use protocol::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FenceState {
    Unsignaled,
    Signaled,
    Pending(FenceId),
}

pub(crate) struct Fence {
    state: Mutex<FenceState>,
}

pub(crate) enum Semaphore {
    Binary,
    Timeline(Timeline),
}

pub(crate) struct Timeline {
    payload: Allocation,
    /// `(value, fence)` of submitted signals not yet known complete, in submission order.
    signals: Mutex<Vec<(u64, FenceId)>>,
}

impl Timeline {
    fn value(&self) -> u64 {
        self.payload.read_u64(0)
    }

    /// The largest value some submission will write.
    fn max_submitted(&self) -> u64 {
        self.signals
            .lock()
            .ok()
            .and_then(|s| s.iter().map(|(v, _)| *v).max())
            .unwrap_or(0)
    }

    /// The fence of the first submission that signals `value` or more.
    fn fence_for(&self, value: u64) -> Option<FenceId> {
        self.signals
            .lock()
            .ok()?
            .iter()
            .find(|(v, _)| *v >= value)
            .map(|(_, f)| *f)
    }
}

pub(crate) struct Event {
    state: Allocation,
}

fn deadline(timeout_ns: u64) -> Option<Instant> {
    Instant::now().checked_add(Duration::from_nanos(timeout_ns))
}

fn remaining(deadline: Option<Instant>) -> u64 {
    match deadline {
        None => u64::MAX,
        Some(d) => d
            .saturating_duration_since(Instant::now())
            .as_nanos()
            .min(u128::from(u64::MAX)) as u64,
    }
}

/// Longest single wait while polling several objects.
const POLL_NS: u64 = 1_000_000;

// ---- Fences --------------------------------------------------------------------------------

/// # Safety
/// `h` is null or a live fence of ours.
unsafe fn fence<'a>(h: vk::Fence) -> IcdResult<&'a Fence> {
    // SAFETY: caller contract.
    unsafe { object::<_, Fence>(h) }.ok_or_else(|| crate::handle::null_handle("fence"))
}

impl Fence {
    /// Waits up to `timeout_ns`; true once signaled.
    fn wait(&self, dev: &Device, timeout_ns: u64) -> IcdResult<bool> {
        let state = *self.state.lock().map_err(|_| poisoned())?;
        match state {
            FenceState::Signaled => Ok(true),
            FenceState::Unsignaled => Ok(false),
            FenceState::Pending(f) => {
                if dev.wait(f, timeout_ns)? {
                    let mut s = self.state.lock().map_err(|_| poisoned())?;
                    if *s == FenceState::Pending(f) {
                        *s = FenceState::Signaled;
                    }
                    Ok(true)
                } else {
                    Ok(false)
                }
            }
        }
    }
}

/// # Safety
/// Vulkan valid usage for `vkCreateFence`.
pub(crate) unsafe extern "system" fn create_fence(
    _dev: vk::Device,
    p_create_info: *const vk::FenceCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_fence: *mut vk::Fence,
) -> vk::Result {
    guard("vkCreateFence", || {
        // SAFETY: valid usage.
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        let s = if info.flags.contains(vk::FenceCreateFlags::SIGNALED) {
            FenceState::Signaled
        } else {
            FenceState::Unsignaled
        };
        // SAFETY: output pointer (valid usage).
        unsafe {
            write_out(
                p_fence,
                to_handle(Fence {
                    state: Mutex::new(s),
                }),
            )
        }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyFence`.
pub(crate) unsafe extern "system" fn destroy_fence(
    _dev: vk::Device,
    f: vk::Fence,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    // SAFETY: our live fence, not used again (valid usage).
    drop(unsafe { take_object::<_, Fence>(f) });
}

/// # Safety
/// Vulkan valid usage for `vkResetFences`.
pub(crate) unsafe extern "system" fn reset_fences(
    _dev: vk::Device,
    count: u32,
    p_fences: *const vk::Fence,
) -> vk::Result {
    guard("vkResetFences", || {
        // SAFETY: (pointer, count) (valid usage).
        for f in unsafe { slice(p_fences, count) } {
            // SAFETY: valid usage.
            *unsafe { fence(*f) }?.state.lock().map_err(|_| poisoned())? = FenceState::Unsignaled;
        }
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetFenceStatus`.
pub(crate) unsafe extern "system" fn get_fence_status(dev: vk::Device, f: vk::Fence) -> vk::Result {
    guard("vkGetFenceStatus", || {
        // SAFETY: valid usage.
        let (dev, f) = unsafe { (device(dev)?, fence(f)?) };
        Ok(if f.wait(dev, 0)? {
            vk::Result::SUCCESS
        } else {
            vk::Result::NOT_READY
        })
    })
}

/// # Safety
/// Vulkan valid usage for `vkWaitForFences`.
pub(crate) unsafe extern "system" fn wait_for_fences(
    dev: vk::Device,
    count: u32,
    p_fences: *const vk::Fence,
    wait_all: vk::Bool32,
    timeout: u64,
) -> vk::Result {
    guard("vkWaitForFences", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: (pointer, count) (valid usage).
        let fences = unsafe { slice(p_fences, count) }
            .iter()
            // SAFETY: valid usage.
            .map(|f| unsafe { fence(*f) })
            .collect::<IcdResult<Vec<_>>>()?;
        let end = deadline(timeout);
        let mut done = vec![false; fences.len()];
        loop {
            let mut all = true;
            for (i, f) in fences.iter().enumerate() {
                if done[i] {
                    continue;
                }
                // Waiting for all: block on each in turn; for any: look at each briefly.
                let slice_ns = if wait_all != 0 { remaining(end) } else { 0 };
                done[i] = f.wait(dev, slice_ns)?;
                if done[i] && wait_all == 0 {
                    return Ok(vk::Result::SUCCESS);
                }
                all &= done[i];
            }
            if all {
                return Ok(vk::Result::SUCCESS);
            }
            let left = remaining(end);
            if left == 0 {
                return Ok(vk::Result::TIMEOUT);
            }
            // An unsubmitted fence (another thread may submit it) or wait-any: poll.
            std::thread::sleep(Duration::from_nanos(left.min(POLL_NS / 10)));
        }
    })
}

// ---- Semaphores ----------------------------------------------------------------------------

/// # Safety
/// `h` is null or a live semaphore of ours.
unsafe fn semaphore<'a>(h: vk::Semaphore) -> IcdResult<&'a Semaphore> {
    // SAFETY: caller contract.
    unsafe { object::<_, Semaphore>(h) }.ok_or_else(|| crate::handle::null_handle("semaphore"))
}

/// # Safety
/// `h` is null or a live semaphore of ours.
unsafe fn timeline<'a>(h: vk::Semaphore) -> IcdResult<&'a Timeline> {
    // SAFETY: caller contract.
    match unsafe { semaphore(h) }? {
        Semaphore::Timeline(t) => Ok(t),
        Semaphore::Binary => Err(IcdError::vk(
            vk::Result::ERROR_INITIALIZATION_FAILED,
            "a binary semaphore used as a timeline",
        )),
    }
}

/// # Safety
/// Vulkan valid usage for `vkCreateSemaphore`.
pub(crate) unsafe extern "system" fn create_semaphore(
    dev: vk::Device,
    p_create_info: *const vk::SemaphoreCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_semaphore: *mut vk::Semaphore,
) -> vk::Result {
    guard("vkCreateSemaphore", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        let mut initial = None;
        // SAFETY: the app's valid chain; the structure cast to the type its sType names.
        unsafe {
            walk_chain(info.p_next, |ty, p| {
                if ty == vk::StructureType::SEMAPHORE_TYPE_CREATE_INFO {
                    let t = &*(p as *const vk::SemaphoreTypeCreateInfo<'_>);
                    if t.semaphore_type == vk::SemaphoreType::TIMELINE {
                        initial = Some(t.initial_value);
                    }
                }
            })
        };
        let s = match initial {
            None => Semaphore::Binary,
            Some(v) => {
                if !dev.timeline_semaphores {
                    return Err(IcdError::vk(
                        vk::Result::ERROR_FEATURE_NOT_PRESENT,
                        "timelineSemaphore was not enabled",
                    ));
                }
                let payload = dev.memory.allocate(8, 8)?;
                payload.write_u64(0, v);
                Semaphore::Timeline(Timeline {
                    payload,
                    signals: Mutex::new(Vec::new()),
                })
            }
        };
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_semaphore, to_handle(s)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroySemaphore`.
pub(crate) unsafe extern "system" fn destroy_semaphore(
    dev: vk::Device,
    s: vk::Semaphore,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroySemaphore", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live semaphore, not used again (valid usage).
        if let Some(s) = unsafe { take_object::<_, Semaphore>(s) } {
            if let Semaphore::Timeline(t) = *s {
                dev.memory.free(&t.payload);
            }
        }
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetSemaphoreCounterValue`.
pub(crate) unsafe extern "system" fn get_semaphore_counter_value_khr(
    _dev: vk::Device,
    s: vk::Semaphore,
    p_value: *mut u64,
) -> vk::Result {
    guard("vkGetSemaphoreCounterValueKHR", || {
        // SAFETY: valid usage.
        let t = unsafe { timeline(s) }?;
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_value, t.value()) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkWaitSemaphores`.
pub(crate) unsafe extern "system" fn wait_semaphores_khr(
    dev: vk::Device,
    p_wait_info: *const vk::SemaphoreWaitInfo<'_>,
    timeout: u64,
) -> vk::Result {
    guard("vkWaitSemaphoresKHR", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage.
        let info = unsafe { p_wait_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null wait info")
        })?;
        // SAFETY: (pointer, count) pairs of a valid wait info.
        let (sems, values) = unsafe {
            (
                slice(info.p_semaphores, info.semaphore_count),
                slice(info.p_values, info.semaphore_count),
            )
        };
        let waits = sems
            .iter()
            .zip(values)
            // SAFETY: valid usage.
            .map(|(s, v)| Ok((unsafe { timeline(*s) }?, *v)))
            .collect::<IcdResult<Vec<_>>>()?;
        let any = info.flags.contains(vk::SemaphoreWaitFlags::ANY);
        let end = deadline(timeout);
        loop {
            let reached: Vec<bool> = waits.iter().map(|(t, v)| t.value() >= *v).collect();
            if (any && reached.contains(&true))
                || (!any && !reached.contains(&false))
                || waits.is_empty()
            {
                return Ok(vk::Result::SUCCESS);
            }
            let left = remaining(end);
            if left == 0 {
                return Ok(vk::Result::TIMEOUT);
            }
            let pending = waits
                .iter()
                .zip(&reached)
                .filter(|(_, r)| !**r)
                .find_map(|((t, v), _)| t.fence_for(*v));
            match pending {
                // The device writes the payload before it completes the fence.
                Some(f) => {
                    let slice_ns = if any { left.min(POLL_NS) } else { left };
                    dev.wait(f, slice_ns)?;
                }
                // Only the host (another thread) can signal it now.
                None => std::thread::sleep(Duration::from_nanos(left.min(POLL_NS / 10))),
            }
        }
    })
}

/// # Safety
/// Vulkan valid usage for `vkSignalSemaphore`.
pub(crate) unsafe extern "system" fn signal_semaphore_khr(
    _dev: vk::Device,
    p_signal_info: *const vk::SemaphoreSignalInfo<'_>,
) -> vk::Result {
    guard("vkSignalSemaphoreKHR", || {
        // SAFETY: valid usage.
        let info = unsafe { p_signal_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null signal info")
        })?;
        // SAFETY: valid usage.
        let t = unsafe { timeline(info.semaphore) }?;
        // VUID-VkSemaphoreSignalInfo-value-03258: greater than the current value.
        if info.value <= t.value() {
            return Err(IcdError::vk(
                vk::Result::ERROR_INITIALIZATION_FAILED,
                "timeline values only grow",
            ));
        }
        t.payload.write_u64(0, info.value);
        Ok(vk::Result::SUCCESS)
    })
}

// ---- Events --------------------------------------------------------------------------------

/// # Safety
/// `h` is null or a live event of ours.
unsafe fn event<'a>(h: vk::Event) -> IcdResult<&'a Event> {
    // SAFETY: caller contract.
    unsafe { object::<_, Event>(h) }.ok_or_else(|| crate::handle::null_handle("event"))
}

/// # Safety
/// Vulkan valid usage for `vkCreateEvent`.
pub(crate) unsafe extern "system" fn create_event(
    dev: vk::Device,
    _p_create_info: *const vk::EventCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_event: *mut vk::Event,
) -> vk::Result {
    guard("vkCreateEvent", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // Zero-filled: created unsignaled (Vulkan §7.5).
        let state = dev.memory.allocate(4, 4)?;
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_event, to_handle(Event { state })) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyEvent`.
pub(crate) unsafe extern "system" fn destroy_event(
    dev: vk::Device,
    e: vk::Event,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyEvent", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live event, not used again (valid usage).
        if let Some(e) = unsafe { take_object::<_, Event>(e) } {
            dev.memory.free(&e.state);
        }
        Ok(())
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetEventStatus`.
pub(crate) unsafe extern "system" fn get_event_status(
    _dev: vk::Device,
    e: vk::Event,
) -> vk::Result {
    guard("vkGetEventStatus", || {
        // SAFETY: valid usage.
        let e = unsafe { event(e) }?;
        Ok(if e.state.read_u32(0) != 0 {
            vk::Result::EVENT_SET
        } else {
            vk::Result::EVENT_RESET
        })
    })
}

/// # Safety
/// Vulkan valid usage for `vkSetEvent`.
pub(crate) unsafe extern "system" fn set_event(_dev: vk::Device, e: vk::Event) -> vk::Result {
    guard("vkSetEvent", || {
        // SAFETY: valid usage.
        unsafe { event(e) }?.state.write_u32(0, 1);
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkResetEvent`.
pub(crate) unsafe extern "system" fn reset_event(_dev: vk::Device, e: vk::Event) -> vk::Result {
    guard("vkResetEvent", || {
        // SAFETY: valid usage.
        unsafe { event(e) }?.state.write_u32(0, 0);
        Ok(vk::Result::SUCCESS)
    })
}

fn write_event(e: vk::Event, value: u32) -> IcdResult<Vec<Command>> {
    // SAFETY: valid usage of the calling command.
    let e = unsafe { event(e) }?;
    Ok(vec![CmdWriteGuestU32 {
        dst: e.state.location(0),
        value,
    }
    .into()])
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetEvent`.
pub(crate) unsafe extern "system" fn cmd_set_event(
    cb: vk::CommandBuffer,
    e: vk::Event,
    _stage: vk::PipelineStageFlags,
) {
    // SAFETY: valid usage.
    unsafe { record(cb, "vkCmdSetEvent", |_| write_event(e, 1)) }
}

/// # Safety
/// Vulkan valid usage for `vkCmdResetEvent`.
pub(crate) unsafe extern "system" fn cmd_reset_event(
    cb: vk::CommandBuffer,
    e: vk::Event,
    _stage: vk::PipelineStageFlags,
) {
    // SAFETY: valid usage.
    unsafe { record(cb, "vkCmdResetEvent", |_| write_event(e, 0)) }
}

/// # Safety
/// Vulkan valid usage for `vkCmdSetEvent2`.
pub(crate) unsafe extern "system" fn cmd_set_event2_khr(
    cb: vk::CommandBuffer,
    e: vk::Event,
    _info: *const vk::DependencyInfo<'_>,
) {
    // SAFETY: valid usage.
    unsafe { record(cb, "vkCmdSetEvent2KHR", |_| write_event(e, 1)) }
}

/// # Safety
/// Vulkan valid usage for `vkCmdResetEvent2`.
pub(crate) unsafe extern "system" fn cmd_reset_event2_khr(
    cb: vk::CommandBuffer,
    e: vk::Event,
    _stage: vk::PipelineStageFlags2,
) {
    // SAFETY: valid usage.
    unsafe { record(cb, "vkCmdResetEvent2KHR", |_| write_event(e, 0)) }
}

fn wait_events(events: &[vk::Event]) -> IcdResult<Vec<Command>> {
    let mut cmds = Vec::with_capacity(events.len());
    for e in events {
        // SAFETY: valid usage of the calling command: live events of this device.
        let e = unsafe { event(*e) }?;
        cmds.push(
            CmdWaitGuestU32 {
                src: e.state.location(0),
                value: 1,
            }
            .into(),
        );
    }
    Ok(cmds)
}

/// The device reaches the wait in order and waits there until the event's word is 1 — set by
/// an earlier command, or by the host (`vkSetEvent` writes the word in device memory) — for at
/// most `protocol::stream::MAX_GUEST_WAIT_MS`; past that the submission fails with
/// VK_ERROR_DEVICE_LOST. Barriers need nothing more: the device runs commands in order.
///
/// # Safety
/// Vulkan valid usage for `vkCmdWaitEvents`.
pub(crate) unsafe extern "system" fn cmd_wait_events(
    cb: vk::CommandBuffer,
    event_count: u32,
    p_events: *const vk::Event,
    _src_stage: vk::PipelineStageFlags,
    _dst_stage: vk::PipelineStageFlags,
    _memory_barrier_count: u32,
    _p_memory_barriers: *const vk::MemoryBarrier<'_>,
    _buffer_memory_barrier_count: u32,
    _p_buffer_memory_barriers: *const vk::BufferMemoryBarrier<'_>,
    _image_memory_barrier_count: u32,
    _p_image_memory_barriers: *const vk::ImageMemoryBarrier<'_>,
) {
    // SAFETY: valid usage: `p_events` points to `event_count` events.
    let events = unsafe { slice(p_events, event_count) };
    // SAFETY: valid usage.
    unsafe { record(cb, "vkCmdWaitEvents", |_| wait_events(events)) }
}

/// As for [`cmd_wait_events`].
///
/// # Safety
/// Vulkan valid usage for `vkCmdWaitEvents2`.
pub(crate) unsafe extern "system" fn cmd_wait_events2_khr(
    cb: vk::CommandBuffer,
    count: u32,
    p_events: *const vk::Event,
    _p_infos: *const vk::DependencyInfo<'_>,
) {
    // SAFETY: valid usage: `p_events` points to `count` events.
    let events = unsafe { slice(p_events, count) };
    // SAFETY: valid usage.
    unsafe { record(cb, "vkCmdWaitEvents2KHR", |_| wait_events(events)) }
}

// ---- Queue submission ----------------------------------------------------------------------

/// One batch, from either `VkSubmitInfo` or `VkSubmitInfo2`.
#[derive(Default)]
struct Batch {
    waits: Vec<(vk::Semaphore, u64)>,
    command_buffers: Vec<vk::CommandBuffer>,
    signals: Vec<(vk::Semaphore, u64)>,
}

/// Appends `submit` to `out` as `Submit` commands that each fit a stream of `max_stream`
/// bytes. The device runs them in order, so a batch cut in two — its waits on the first part,
/// its signals on the last — runs as the whole batch does; a command buffer is one range and
/// is never cut ([`crate::command_buffer`]). A part that cannot be cut further and still does
/// not fit (thousands of semaphores) is left for [`Device::submit`] to refuse.
fn split_submit(submit: Submit, max_stream: usize, out: &mut Vec<Command>) -> IcdResult<()> {
    let n = submit.command_buffers.len();
    let whole = Command::from(submit.clone());
    let mut frame = Vec::new();
    protocol::encode_command(&whole, &mut frame)?;
    if frame.len() <= max_stream || n < 2 {
        out.push(whole);
        return Ok(());
    }
    let Submit {
        waits,
        mut command_buffers,
        signals,
    } = submit;
    let tail = command_buffers.split_off(n / 2);
    let head = Submit {
        waits,
        command_buffers,
        signals: Vec::new(),
    };
    split_submit(head, max_stream, out)?;
    let tail = Submit {
        waits: Vec::new(),
        command_buffers: tail,
        signals,
    };
    split_submit(tail, max_stream, out)
}

fn submit_batches(dev: &Device, batches: &[Batch], f: vk::Fence) -> IcdResult<vk::Result> {
    let mut cmds = Vec::with_capacity(batches.len().max(1));
    let mut timeline_signals = Vec::new();
    for b in batches {
        let mut waits = Vec::new();
        for (s, value) in &b.waits {
            // SAFETY: valid usage.
            if let Semaphore::Timeline(t) = unsafe { semaphore(*s) }? {
                // Reached already, or signalled by an earlier submission on this queue (the
                // device runs in order): nothing to wait for. Otherwise only the host can
                // still signal it (wait-before-signal): the device waits, bounded, and
                // vkQueueSubmit returns at once as Vulkan requires.
                if t.value() < *value && t.max_submitted() < *value {
                    waits.push(TimelineWait {
                        src: t.payload.location(0),
                        value: *value,
                    });
                }
            }
        }
        let mut ranges = Vec::with_capacity(b.command_buffers.len());
        for cb in &b.command_buffers {
            // SAFETY: valid usage.
            if let Some(r) = unsafe { command_buffer(*cb) }?.range()? {
                ranges.push(r);
            }
        }
        let mut signals = Vec::new();
        for (s, value) in &b.signals {
            // SAFETY: valid usage.
            if let Semaphore::Timeline(t) = unsafe { semaphore(*s) }? {
                signals.push(SignalWrite {
                    dst: t.payload.location(0),
                    value: *value,
                });
                timeline_signals.push((t, *value));
            }
        }
        split_submit(
            Submit {
                waits,
                command_buffers: ranges,
                signals,
            },
            dev.capset.max_stream_size as usize,
            &mut cmds,
        )?;
    }
    if cmds.is_empty() {
        // A fence-only submission still needs a submission to complete.
        cmds.push(
            Submit {
                waits: vec![],
                command_buffers: vec![],
                signals: vec![],
            }
            .into(),
        );
    }
    let id = dev.submit(&cmds)?;
    for (t, v) in timeline_signals {
        t.signals.lock().map_err(|_| poisoned())?.push((v, id));
    }
    // SAFETY: null or a live fence (valid usage).
    if let Some(f) = unsafe { object::<_, Fence>(f) } {
        *f.state.lock().map_err(|_| poisoned())? = FenceState::Pending(id);
    }
    Ok(vk::Result::SUCCESS)
}

/// # Safety
/// Vulkan valid usage for `vkQueueSubmit`.
pub(crate) unsafe extern "system" fn queue_submit(
    q: vk::Queue,
    count: u32,
    p_submits: *const vk::SubmitInfo<'_>,
    f: vk::Fence,
) -> vk::Result {
    guard("vkQueueSubmit", || {
        // SAFETY: valid usage.
        let q = unsafe { queue(q) }?;
        let mut batches = Vec::new();
        // SAFETY: (pointer, count) (valid usage).
        for s in unsafe { slice(p_submits, count) } {
            let (mut wait_values, mut signal_values): (&[u64], &[u64]) = (&[], &[]);
            // SAFETY: the app's valid chain; the structure cast to the type its sType names.
            unsafe {
                walk_chain(s.p_next, |ty, p| {
                    if ty == vk::StructureType::TIMELINE_SEMAPHORE_SUBMIT_INFO {
                        let t = &*(p as *const vk::TimelineSemaphoreSubmitInfo<'_>);
                        wait_values =
                            slice(t.p_wait_semaphore_values, t.wait_semaphore_value_count);
                        signal_values =
                            slice(t.p_signal_semaphore_values, t.signal_semaphore_value_count);
                    }
                })
            };
            // SAFETY: (pointer, count) pairs of a valid submit info.
            let (waits, cbs, signals) = unsafe {
                (
                    slice(s.p_wait_semaphores, s.wait_semaphore_count),
                    slice(s.p_command_buffers, s.command_buffer_count),
                    slice(s.p_signal_semaphores, s.signal_semaphore_count),
                )
            };
            batches.push(Batch {
                waits: waits
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (*s, wait_values.get(i).copied().unwrap_or(0)))
                    .collect(),
                command_buffers: cbs.to_vec(),
                signals: signals
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (*s, signal_values.get(i).copied().unwrap_or(0)))
                    .collect(),
            });
        }
        submit_batches(&q.device, &batches, f)
    })
}

/// # Safety
/// Vulkan valid usage for `vkQueueSubmit2`.
pub(crate) unsafe extern "system" fn queue_submit2_khr(
    q: vk::Queue,
    count: u32,
    p_submits: *const vk::SubmitInfo2<'_>,
    f: vk::Fence,
) -> vk::Result {
    guard("vkQueueSubmit2KHR", || {
        // SAFETY: valid usage.
        let q = unsafe { queue(q) }?;
        let mut batches = Vec::new();
        // SAFETY: (pointer, count) (valid usage), and the arrays each submit info names.
        for s in unsafe { slice(p_submits, count) } {
            // SAFETY: as above.
            let (waits, cbs, signals) = unsafe {
                (
                    slice(s.p_wait_semaphore_infos, s.wait_semaphore_info_count),
                    slice(s.p_command_buffer_infos, s.command_buffer_info_count),
                    slice(s.p_signal_semaphore_infos, s.signal_semaphore_info_count),
                )
            };
            batches.push(Batch {
                waits: waits.iter().map(|w| (w.semaphore, w.value)).collect(),
                command_buffers: cbs.iter().map(|c| c.command_buffer).collect(),
                signals: signals.iter().map(|w| (w.semaphore, w.value)).collect(),
            });
        }
        submit_batches(&q.device, &batches, f)
    })
}
