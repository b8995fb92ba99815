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

struct PendingStream {
    /// Encoded top-level commands waiting for the next submission.
    bytes: Vec<u8>,
    /// The latest submission's fence: queue-idle waits use it (fences complete in order).
    last_fence: Option<FenceId>,
    /// What the creates and destroys queued or sent so far hold of the device's caps.
    live: LiveObjects,
}

impl PendingStream {
    /// Counts `cmd`'s effect on the live objects (`descriptors`: what the object it creates
    /// or destroys holds) and encodes it; on a refusal or an encoding error, neither.
    fn push(
        &mut self,
        caps: &protocol::ClientCaps,
        cmd: &Command,
        descriptors: u64,
    ) -> IcdResult<()> {
        let mut live = self.live;
        match object_effect(cmd.opcode()) {
            ObjectEffect::Creates => live.charge(caps, descriptors)?,
            ObjectEffect::Destroys => live.release(descriptors),
            ObjectEffect::None => {}
        }
        let mark = self.bytes.len();
        if let Err(e) = protocol::encode_command(cmd, &mut self.bytes) {
            self.bytes.truncate(mark);
            return Err(e.into());
        }
        self.live = live;
        Ok(())
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
    /// caps is refused here (`VK_ERROR_OUT_OF_HOST_MEMORY`) and nothing is queued.
    pub(crate) fn enqueue(&self, cmd: impl Into<Command>) -> IcdResult<()> {
        self.enqueue_holding([(cmd.into(), 0)])
    }

    /// Queues each command, whose created or destroyed object holds the paired number of
    /// descriptors (descriptor sets; 0 for other objects) — all of them, or none if one is
    /// refused.
    pub(crate) fn enqueue_holding(
        &self,
        cmds: impl IntoIterator<Item = (Command, u64)>,
    ) -> IcdResult<()> {
        let mut s = self.stream.lock().map_err(|_| poisoned())?;
        let (mark, live) = (s.bytes.len(), s.live);
        for (cmd, descriptors) in cmds {
            if let Err(e) = s.push(&self.capset.client, &cmd, descriptors) {
                s.bytes.truncate(mark);
                s.live = live;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Sends the queued top-level commands followed by `extra` as one submission. Creates
    /// among `extra` are counted like queued ones (a pipeline creation past the object cap is
    /// refused before anything is sent).
    pub(crate) fn submit(&self, extra: &[Command]) -> IcdResult<FenceId> {
        let mut s = self.stream.lock().map_err(|_| poisoned())?;
        let (mark, live) = (s.bytes.len(), s.live);
        for c in extra {
            if let Err(e) = s.push(&self.capset.client, c, 0) {
                s.bytes.truncate(mark);
                s.live = live;
                return Err(e);
            }
        }
        let bytes = std::mem::take(&mut s.bytes);
        if bytes.len() > self.capset.max_stream_size as usize {
            return Err(IcdError::vk(
                vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                format!(
                    "submission of {} bytes exceeds the device's stream limit",
                    bytes.len()
                ),
            ));
        }
        let fence = self.transport.submit(&bytes)?;
        s.last_fence = Some(fence);
        Ok(fence)
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
            self.stream.lock().map_err(|_| poisoned())?.live.release(0);
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
                live: LiveObjects::default(),
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
