//! VkDevice and its one VkQueue. The device owns the connection, the memory allocator, the
//! stream of top-level commands not sent yet (object creation and destruction travel with the
//! next submission, in order, so creation needs no round trip), and the reply slot for the
//! calls that must answer (pipeline creation). Every create and destroy passes through here
//! and is counted against the device's per-client caps ([`crate::object_caps`]).

use crate::entry::{guard, guard_void, slice, walk_chain, write_out};
use crate::error::{IcdError, IcdResult};
use crate::handle::{dispatchable, take_dispatchable, Dispatchable};
use crate::memory::{poisoned, Allocation, MemoryAllocator};
use crate::object_caps::LiveObjects;
use crate::physical_device::{physical, PhysicalDevice, DEVICE_EXTENSIONS};
use crate::transport::{FenceId, Transport, TransportError};
use ash::vk;
use protocol::stream::{GuestLocation, Reply};
use protocol::{object_effect, Command, ObjectEffect};
use std::sync::{Arc, Mutex};

pub(crate) struct Device {
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) capset: protocol::Capset,
    pub(crate) memory: MemoryAllocator,
    stream: Mutex<PendingStream>,
    /// Where the device writes a [`Reply`]; one call at a time.
    reply: Mutex<Allocation>,
    pub(crate) timeline_semaphores: bool,
}

/// The top-level commands not sent yet. A stream the device accepts is at most the capset's
/// `max_stream_size`; top-level commands are independent frames (each runs on its own,
/// vhost-device `VkContext::submit`), so when the next frame would not fit, what is queued is
/// sent at once as a stream of its own and the frame starts the next one: nothing is ever
/// dropped, and the device runs the streams in order. A single frame larger than the limit
/// cannot be sent at all: it is refused at the call that queues it.
struct PendingStream {
    /// Encoded top-level commands waiting for the next submission (at most `max_stream_size`).
    bytes: Vec<u8>,
    /// The latest submission's fence: queue-idle waits use it (fences complete in order).
    last_fence: Option<FenceId>,
    /// What the destroys queued in `bytes` free: the client's account uncounts it once they
    /// are sent ([`crate::object_caps`], "Order").
    released: LiveObjects,
}

/// One command made ready to queue: encoded, and counted if it creates an object.
struct StagedFrame {
    range: std::ops::Range<usize>,
    /// `Some(descriptors)` for a destroy: what it frees once sent.
    destroys: Option<u64>,
}

impl PendingStream {
    /// Sends what is queued as one stream (even an empty one) and uncounts its destroys.
    fn flush(&mut self, transport: &dyn Transport) -> IcdResult<FenceId> {
        let bytes = std::mem::take(&mut self.bytes);
        let released = std::mem::take(&mut self.released);
        let fence = transport.submit(&bytes);
        // Sent or not, these destroys will never be sent again: uncount them (a failed
        // submission loses the device, whose count is then moot).
        transport.client().release(released);
        let fence = fence?;
        self.last_fence = Some(fence);
        Ok(fence)
    }
}

/// Encodes `cmds` into `scratch` and counts their creates in the client's account — all of
/// them, or none: on a refusal, an encoding error or a frame larger than a stream may be,
/// nothing stays counted. `freed_before` is what the unsent stream the frames will follow
/// already frees.
fn stage(
    transport: &dyn Transport,
    max_stream: usize,
    freed_before: LiveObjects,
    cmds: impl IntoIterator<Item = (Command, u64)>,
    scratch: &mut Vec<u8>,
) -> IcdResult<Vec<StagedFrame>> {
    let account = transport.client();
    let mut frames: Vec<StagedFrame> = Vec::new();
    let mut charged = LiveObjects::default();
    let mut freed = freed_before;
    let mut result = Ok(());
    for (cmd, descriptors) in cmds {
        let start = scratch.len();
        if let Err(e) = protocol::encode_command(&cmd, scratch) {
            result = Err(e.into());
            break;
        }
        let len = scratch.len() - start;
        if len > max_stream {
            result = Err(IcdError::vk(
                vk::Result::ERROR_OUT_OF_HOST_MEMORY,
                format!(
                    "{}: one command of {len} bytes exceeds the device's stream limit of \
                     {max_stream} bytes",
                    cmd.name()
                ),
            ));
            break;
        }
        let destroys = match object_effect(cmd.opcode()) {
            ObjectEffect::Creates => {
                if let Err(e) = account.charge(descriptors, freed) {
                    result = Err(e);
                    break;
                }
                charged.add_one(descriptors);
                None
            }
            ObjectEffect::Destroys => {
                freed.add_one(descriptors);
                Some(descriptors)
            }
            ObjectEffect::None => None,
        };
        frames.push(StagedFrame {
            range: start..scratch.len(),
            destroys,
        });
    }
    match result {
        Ok(()) => Ok(frames),
        Err(e) => {
            account.release(charged);
            Err(e)
        }
    }
}

/// What a VkDevice handle points to.
pub(crate) struct DeviceHandle {
    pub(crate) state: Arc<Device>,
    queue: Box<Dispatchable<Queue>>,
}

/// A VkQueue: the device's one queue, executing in submission order.
pub(crate) struct Queue {
    pub(crate) device: Arc<Device>,
}

/// The device behind a handle.
///
/// # Safety
/// `h` is null or a live device of ours.
pub(crate) unsafe fn device<'a>(h: vk::Device) -> IcdResult<&'a Arc<Device>> {
    // SAFETY: caller contract.
    unsafe { dispatchable::<_, DeviceHandle>(h) }
        .map(|d| &d.state)
        .ok_or_else(|| crate::handle::null_handle("device"))
}

/// # Safety
/// `h` is null or a queue of a live device of ours.
pub(crate) unsafe fn queue<'a>(h: vk::Queue) -> IcdResult<&'a Queue> {
    // SAFETY: caller contract.
    unsafe { dispatchable::<_, Queue>(h) }.ok_or_else(|| crate::handle::null_handle("queue"))
}

impl Device {
    /// Queues a top-level command for the next submission. A create past one of the device's
    /// caps, or a command larger than a stream may be, is refused here
    /// (`VK_ERROR_OUT_OF_HOST_MEMORY`) and nothing is queued.
    pub(crate) fn enqueue(&self, cmd: impl Into<Command>) -> IcdResult<()> {
        self.enqueue_holding([(cmd.into(), 0)])
    }

    /// Queues each command, whose created or destroyed object holds the paired number of
    /// descriptors (descriptor sets; 0 for other objects) — all of them, or none if one is
    /// refused. What is queued already is sent first if the commands would not fit behind it
    /// in one stream.
    pub(crate) fn enqueue_holding(
        &self,
        cmds: impl IntoIterator<Item = (Command, u64)>,
    ) -> IcdResult<()> {
        let mut s = self.stream.lock().map_err(|_| poisoned())?;
        self.queue_frames(&mut s, cmds)
    }

    /// Stages `cmds` ([`stage`]) and appends them, sending the queued stream whenever the next
    /// frame would take it past the device's `max_stream_size`.
    fn queue_frames(
        &self,
        s: &mut PendingStream,
        cmds: impl IntoIterator<Item = (Command, u64)>,
    ) -> IcdResult<()> {
        let max_stream = self.capset.max_stream_size as usize;
        let mut scratch = Vec::new();
        let frames = stage(
            self.transport.as_ref(),
            max_stream,
            s.released,
            cmds,
            &mut scratch,
        )?;
        for f in frames {
            let frame = &scratch[f.range];
            if s.bytes.len() + frame.len() > max_stream {
                s.flush(self.transport.as_ref())?;
            }
            s.bytes.extend_from_slice(frame);
            if let Some(descriptors) = f.destroys {
                s.released.add_one(descriptors);
            }
        }
        Ok(())
    }

    /// Sends the queued top-level commands followed by `extra` (in as many streams as the
    /// device's `max_stream_size` needs) and returns the last stream's fence, which completes
    /// after all of them. Creates among `extra` are counted like queued ones (a pipeline
    /// creation past the object cap is refused before anything is sent).
    pub(crate) fn submit(&self, extra: &[Command]) -> IcdResult<FenceId> {
        let mut s = self.stream.lock().map_err(|_| poisoned())?;
        self.queue_frames(&mut s, extra.iter().map(|c| (c.clone(), 0)))?;
        s.flush(self.transport.as_ref())
    }

    /// Waits until `fence` completed or `timeout_ns` passed.
    pub(crate) fn wait(&self, fence: FenceId, timeout_ns: u64) -> IcdResult<bool> {
        Ok(self.transport.wait(fence, timeout_ns)?)
    }

    /// Sends what is queued and waits for everything submitted so far.
    pub(crate) fn wait_idle(&self) -> IcdResult<()> {
        let pending = !self.stream.lock().map_err(|_| poisoned())?.bytes.is_empty();
        if pending {
            self.submit(&[])?;
        }
        let last = self.stream.lock().map_err(|_| poisoned())?.last_fence;
        if let Some(f) = last {
            self.wait(f, u64::MAX)?;
        }
        Ok(())
    }

    /// Sends the command `make(reply location)` with everything queued, waits for it and
    /// returns the `VkResult` the device wrote. A create (pipeline creation) is counted from
    /// the moment it is sent — so that a create queued meanwhile cannot take its place under
    /// the cap — and uncounted if the device refuses it.
    pub(crate) fn call(
        &self,
        make: impl FnOnce(GuestLocation) -> Command,
    ) -> IcdResult<vk::Result> {
        let reply = self.reply.lock().map_err(|_| poisoned())?;
        reply.write(0, &[0; Reply::SIZE])?;
        let cmd = make(reply.location(0));
        let creates = object_effect(cmd.opcode()) == ObjectEffect::Creates;
        let fence = self.submit(&[cmd])?;
        let result = self.wait(fence, u64::MAX).and_then(|_| {
            let mut b = [0u8; Reply::SIZE];
            // SAFETY: the reply allocation holds Reply::SIZE bytes; the device has finished
            // writing (its fence completed).
            unsafe { std::ptr::copy_nonoverlapping(reply.ptr, b.as_mut_ptr(), Reply::SIZE) };
            match Reply::decode(&b) {
                Some(r) => Ok(vk::Result::from_raw(r.result)),
                None => Err(IcdError::Transport(TransportError::DeviceLost(
                    "the device completed a call without replying".into(),
                ))),
            }
        });
        if creates && result.as_ref().map_or(true, |r| *r != vk::Result::SUCCESS) {
            // Sent, and refused (or the device is gone): the device holds nothing for it.
            let mut refused = LiveObjects::default();
            refused.add_one(0);
            self.transport.client().release(refused);
        }
        result
    }
}

/// Checks requested features against ours: every requested `VkBool32` must be one we have.
fn check_features(requested: &vk::PhysicalDeviceFeatures) -> IcdResult<()> {
    const N: usize = std::mem::size_of::<vk::PhysicalDeviceFeatures>() / 4;
    let ours = PhysicalDevice::features();
    // SAFETY: VkPhysicalDeviceFeatures is `repr(C)` and made only of `VkBool32` (u32) fields.
    let (req, have) = unsafe {
        (
            std::slice::from_raw_parts(
                (requested as *const vk::PhysicalDeviceFeatures).cast::<u32>(),
                N,
            ),
            std::slice::from_raw_parts(
                (&ours as *const vk::PhysicalDeviceFeatures).cast::<u32>(),
                N,
            ),
        )
    };
    match req.iter().zip(have).position(|(r, h)| *r != 0 && *h == 0) {
        Some(i) => Err(IcdError::vk(
            vk::Result::ERROR_FEATURE_NOT_PRESENT,
            format!("feature #{i} of VkPhysicalDeviceFeatures is not supported"),
        )),
        None => Ok(()),
    }
}

/// # Safety
/// Vulkan valid usage for `vkCreateDevice`.
pub(crate) unsafe extern "system" fn create_device(
    pd: vk::PhysicalDevice,
    p_create_info: *const vk::DeviceCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_device: *mut vk::Device,
) -> vk::Result {
    guard("vkCreateDevice", || {
        // SAFETY: valid usage.
        let pd = unsafe { physical(pd) }?;
        // SAFETY: valid usage.
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| {
            IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, "null create info")
        })?;
        // SAFETY: (pointer, count) pairs of a valid create info.
        let queues = unsafe { slice(info.p_queue_create_infos, info.queue_create_info_count) };
        for q in queues {
            if q.queue_family_index != 0 || q.queue_count > 1 {
                return Err(IcdError::vk(
                    vk::Result::ERROR_INITIALIZATION_FAILED,
                    format!(
                        "{} queues of family {}: we have one queue in family 0",
                        q.queue_count, q.queue_family_index
                    ),
                ));
            }
        }
        // SAFETY: as above.
        let exts = unsafe {
            slice(
                info.pp_enabled_extension_names,
                info.enabled_extension_count,
            )
        };
        // SAFETY: valid strings (valid usage).
        unsafe { crate::instance::check_extensions(exts, DEVICE_EXTENSIONS) }?;
        // SAFETY: null or valid (valid usage).
        if let Some(f) = unsafe { info.p_enabled_features.as_ref() } {
            check_features(f)?;
        }
        let mut chain_result = Ok(());
        let mut timeline = false;
        // SAFETY: the app's valid pNext chain; each structure cast to the type its sType names.
        unsafe {
            walk_chain(info.p_next, |ty, p| match ty {
                vk::StructureType::PHYSICAL_DEVICE_FEATURES_2 => {
                    if let Err(e) =
                        check_features(&(*(p as *const vk::PhysicalDeviceFeatures2<'_>)).features)
                    {
                        chain_result = Err(e);
                    }
                }
                vk::StructureType::PHYSICAL_DEVICE_MULTIVIEW_FEATURES => {
                    let f = &*(p as *const vk::PhysicalDeviceMultiviewFeatures<'_>);
                    if f.multiview_geometry_shader != 0 || f.multiview_tessellation_shader != 0 {
                        chain_result = Err(IcdError::vk(
                            vk::Result::ERROR_FEATURE_NOT_PRESENT,
                            "multiview with geometry or tessellation shaders is not offered",
                        ));
                    }
                }
                vk::StructureType::PHYSICAL_DEVICE_EXTENDED_DYNAMIC_STATE_2_FEATURES_EXT => {
                    let f = &*(p as *const vk::PhysicalDeviceExtendedDynamicState2FeaturesEXT<'_>);
                    if f.extended_dynamic_state2_logic_op != 0
                        || f.extended_dynamic_state2_patch_control_points != 0
                    {
                        chain_result = Err(IcdError::vk(
                            vk::Result::ERROR_FEATURE_NOT_PRESENT,
                            "dynamic logic op / patch control points are not offered",
                        ));
                    }
                }
                vk::StructureType::PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES => {
                    timeline |= (*(p as *const vk::PhysicalDeviceTimelineSemaphoreFeatures<'_>))
                        .timeline_semaphore
                        != 0;
                }
                _ => {}
            })
        };
        chain_result?;
        let transport = pd.transport.clone();
        let memory = MemoryAllocator::new(transport.clone());
        let reply = memory.allocate(Reply::SIZE as u64, 8)?;
        let state = Arc::new(Device {
            capset: pd.capset,
            memory,
            stream: Mutex::new(PendingStream {
                bytes: Vec::new(),
                last_fence: None,
                released: LiveObjects::default(),
            }),
            reply: Mutex::new(reply),
            timeline_semaphores: timeline,
            transport,
        });
        let handle = Dispatchable::boxed(DeviceHandle {
            queue: Dispatchable::boxed(Queue {
                device: state.clone(),
            }),
            state,
        });
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_device, handle.handle()) }?;
        Box::leak(handle);
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyDevice`.
pub(crate) unsafe extern "system" fn destroy_device(
    dev: vk::Device,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyDevice", || {
        // SAFETY: our live device, not used again (valid usage).
        let Some(handle) = (unsafe { take_dispatchable::<_, DeviceHandle>(dev) }) else {
            return Ok(());
        };
        // Send queued destructions and let running work finish before the blocks go.
        let idle = handle.object.state.wait_idle();
        handle.object.state.memory.release_all();
        idle
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetDeviceQueue`.
pub(crate) unsafe extern "system" fn get_device_queue(
    dev: vk::Device,
    family: u32,
    index: u32,
    p_queue: *mut vk::Queue,
) {
    guard_void("vkGetDeviceQueue", || {
        // SAFETY: our live device (valid usage).
        let h = unsafe { dispatchable::<_, DeviceHandle>(dev) }
            .ok_or_else(|| crate::handle::null_handle("device"))?;
        if family != 0 || index != 0 {
            return Err(IcdError::vk(
                vk::Result::ERROR_INITIALIZATION_FAILED,
                format!("no queue {index} in family {family}"),
            ));
        }
        // SAFETY: output pointer (valid usage).
        unsafe { write_out(p_queue, h.queue.handle()) }
    })
}

/// # Safety
/// Vulkan valid usage for `vkDeviceWaitIdle`.
pub(crate) unsafe extern "system" fn device_wait_idle(dev: vk::Device) -> vk::Result {
    guard("vkDeviceWaitIdle", || {
        // SAFETY: valid usage.
        unsafe { device(dev) }?.wait_idle()?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkQueueWaitIdle`.
pub(crate) unsafe extern "system" fn queue_wait_idle(q: vk::Queue) -> vk::Result {
    guard("vkQueueWaitIdle", || {
        // SAFETY: valid usage.
        unsafe { queue(q) }?.device.wait_idle()?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkGetDeviceProcAddr`.
pub(crate) unsafe extern "system" fn get_device_proc_addr(
    _dev: vk::Device,
    p_name: *const std::ffi::c_char,
) -> vk::PFN_vkVoidFunction {
    // SAFETY: forwarded contract.
    unsafe { crate::device_proc_addr(p_name) }
}
