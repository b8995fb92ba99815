//! The Vulkan device the benchmark runs on: the system loader, one instance, the first
//! physical device with a compute queue (or the one `--device` names), one logical device and
//! its queue (a family with graphics too where the device has one: the graphics workloads
//! need it), the host-visible memory type every buffer uses and the type images use.
//!
//! Only Vulkan 1.0 core is used — the softgpu ICD reports API 1.0 — and nothing optional
//! without checking for it first (timestamps).

use std::ffi::CStr;

use ash::vk;

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("loading the Vulkan loader (libvulkan.so.1): {0}")]
    Load(#[from] ash::LoadingError),
    #[error("{call} failed: {result}")]
    Vk {
        call: &'static str,
        result: vk::Result,
    },
    #[error("the loader found no Vulkan device (check VK_DRIVER_FILES)")]
    NoDevice,
    #[error("device index {index} out of range: {count} device(s)")]
    NoSuchDevice { index: usize, count: usize },
    #[error("no device has a compute queue")]
    NoComputeQueue,
    #[error("the queue family has no GRAPHICS bit: graphics workloads cannot run")]
    NoGraphicsQueue,
    #[error("no memory type fits memory type bits {bits:#x}")]
    NoMemoryType { bits: u32 },
    #[error("no HOST_VISIBLE|HOST_COHERENT memory type fits memory type bits {bits:#x}")]
    NoHostMemory { bits: u32 },
    #[error("{what} = {have} is below the {need} this benchmark needs")]
    Limit {
        what: &'static str,
        have: u64,
        need: u64,
    },
    #[error("{0}")]
    Misuse(String),
}

/// Wraps a failed call's `VkResult` with the call's name.
pub fn failed(call: &'static str) -> impl FnOnce(vk::Result) -> GpuError {
    move |result| GpuError::Vk { call, result }
}

pub struct Gpu {
    // Field order is not drop order here: `Drop for Gpu` destroys device, then instance; the
    // entry (the loader library) is dropped last, after both.
    entry: ash::Entry,
    instance: ash::Instance,
    pub device: ash::Device,
    pub queue: vk::Queue,
    pub queue_family: u32,
    /// Whether `queue_family` supports graphics (it always supports compute).
    pub graphics: bool,
    pub properties: vk::PhysicalDeviceProperties,
    memory: vk::PhysicalDeviceMemoryProperties,
    /// Nanoseconds per timestamp tick, when the queue family writes timestamps.
    pub timestamp_period_ns: Option<f64>,
    pub name: String,
}

impl Gpu {
    /// Opens the device `index` (the first one with a compute queue when `None`).
    pub fn open(index: Option<usize>) -> Result<Gpu, GpuError> {
        // SAFETY: loading libvulkan.so.1 runs its initialisers; the system loader is a
        // well-behaved library, and `entry` keeps it loaded for as long as `Gpu` lives.
        let entry = unsafe { ash::Entry::load() }?;
        let app = vk::ApplicationInfo::default()
            .application_name(c"softgpu-vkbench")
            .api_version(vk::API_VERSION_1_0);
        let info = vk::InstanceCreateInfo::default().application_info(&app);
        // SAFETY: `info` and what it points to are valid for the call; no layers or extensions.
        let instance =
            unsafe { entry.create_instance(&info, None) }.map_err(failed("vkCreateInstance"))?;
        match open_device(&instance, index) {
            Ok(d) => Ok(Gpu {
                entry,
                instance,
                device: d.device,
                queue: d.queue,
                queue_family: d.queue_family,
                graphics: d.graphics,
                properties: d.properties,
                memory: d.memory,
                timestamp_period_ns: d.timestamp_period_ns,
                name: device_name(&d.properties),
            }),
            Err(e) => {
                // SAFETY: nothing created from `instance` is alive (open_device creates the
                // device last, and only returns an error before that).
                unsafe { instance.destroy_instance(None) };
                Err(e)
            }
        }
    }

    /// The memory type for buffers: HOST_VISIBLE|HOST_COHERENT, preferring HOST_CACHED (the
    /// results are read back on the CPU), among the types `type_bits` allows.
    pub fn host_memory_type(&self, type_bits: u32) -> Result<u32, GpuError> {
        let wanted = vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT;
        let count = (self.memory.memory_type_count as usize).min(self.memory.memory_types.len());
        let fitting = || {
            self.memory.memory_types[..count]
                .iter()
                .enumerate()
                .filter(|(i, t)| type_bits & (1 << i) != 0 && t.property_flags.contains(wanted))
        };
        let cached = fitting().find(|(_, t)| {
            t.property_flags
                .contains(vk::MemoryPropertyFlags::HOST_CACHED)
        });
        cached
            .or_else(|| fitting().next())
            .map(|(i, _)| i as u32)
            .ok_or(GpuError::NoHostMemory { bits: type_bits })
    }

    /// The memory type for images and device-only buffers: DEVICE_LOCAL where `type_bits`
    /// allows one, else the first type allowed.
    pub fn device_memory_type(&self, type_bits: u32) -> Result<u32, GpuError> {
        let count = (self.memory.memory_type_count as usize).min(self.memory.memory_types.len());
        let allowed = || {
            self.memory.memory_types[..count]
                .iter()
                .enumerate()
                .filter(|(i, _)| type_bits & (1 << i) != 0)
        };
        allowed()
            .find(|(_, t)| {
                t.property_flags
                    .contains(vk::MemoryPropertyFlags::DEVICE_LOCAL)
            })
            .or_else(|| allowed().next())
            .map(|(i, _)| i as u32)
            .ok_or(GpuError::NoMemoryType { bits: type_bits })
    }

    /// Fails unless the queue runs graphics work.
    pub fn require_graphics(&self) -> Result<(), GpuError> {
        if self.graphics {
            Ok(())
        } else {
            Err(GpuError::NoGraphicsQueue)
        }
    }

    /// Fails with a clear message when a device limit is below what a workload needs.
    pub fn require(&self, what: &'static str, have: u64, need: u64) -> Result<(), GpuError> {
        if have < need {
            return Err(GpuError::Limit { what, have, need });
        }
        Ok(())
    }

    /// The loader's own version, for the report.
    pub fn loader_version(&self) -> Option<u32> {
        // SAFETY: vkEnumerateInstanceVersion takes no handles; the loader is loaded.
        unsafe { self.entry.try_enumerate_instance_version() }
            .ok()
            .flatten()
    }

    pub fn api_version(&self) -> String {
        let v = self.properties.api_version;
        format!(
            "{}.{}.{}",
            vk::api_version_major(v),
            vk::api_version_minor(v),
            vk::api_version_patch(v)
        )
    }
}

/// What `Gpu::open` learns and creates from the instance.
struct OpenedDevice {
    device: ash::Device,
    queue: vk::Queue,
    queue_family: u32,
    graphics: bool,
    properties: vk::PhysicalDeviceProperties,
    memory: vk::PhysicalDeviceMemoryProperties,
    timestamp_period_ns: Option<f64>,
}

fn open_device(instance: &ash::Instance, index: Option<usize>) -> Result<OpenedDevice, GpuError> {
    let (physical, queue_family) = pick_device(instance, index)?;
    // SAFETY: `physical` is a handle of this instance.
    let properties = unsafe { instance.get_physical_device_properties(physical) };
    // SAFETY: as above.
    let memory = unsafe { instance.get_physical_device_memory_properties(physical) };
    // SAFETY: as above.
    let families = unsafe { instance.get_physical_device_queue_family_properties(physical) };
    let family = families.get(queue_family as usize);
    let valid_bits = family.map_or(0, |f| f.timestamp_valid_bits);
    let graphics = family.is_some_and(|f| f.queue_flags.contains(vk::QueueFlags::GRAPHICS));
    let period = f64::from(properties.limits.timestamp_period);
    let timestamp_period_ns = (valid_bits > 0 && period > 0.0).then_some(period);
    let priorities = [1.0f32];
    let queues = [vk::DeviceQueueCreateInfo::default()
        .queue_family_index(queue_family)
        .queue_priorities(&priorities)];
    let info = vk::DeviceCreateInfo::default().queue_create_infos(&queues);
    // SAFETY: `physical` came from this instance; `info` is valid for the call.
    let device = unsafe { instance.create_device(physical, &info, None) }
        .map_err(failed("vkCreateDevice"))?;
    // SAFETY: queue 0 of `queue_family` was requested in `info`.
    let queue = unsafe { device.get_device_queue(queue_family, 0) };
    Ok(OpenedDevice {
        device,
        queue,
        queue_family,
        graphics,
        properties,
        memory,
        timestamp_period_ns,
    })
}

fn pick_device(
    instance: &ash::Instance,
    index: Option<usize>,
) -> Result<(vk::PhysicalDevice, u32), GpuError> {
    // SAFETY: `instance` is a live instance.
    let devices = unsafe { instance.enumerate_physical_devices() }
        .map_err(failed("vkEnumeratePhysicalDevices"))?;
    if devices.is_empty() {
        return Err(GpuError::NoDevice);
    }
    let compute_family = |pd: vk::PhysicalDevice| {
        // SAFETY: `pd` was enumerated from `instance`.
        let families = unsafe { instance.get_physical_device_queue_family_properties(pd) };
        let usable = |want: vk::QueueFlags| {
            families
                .iter()
                .position(|f| f.queue_flags.contains(want) && f.queue_count > 0)
        };
        usable(vk::QueueFlags::COMPUTE | vk::QueueFlags::GRAPHICS)
            .or_else(|| usable(vk::QueueFlags::COMPUTE))
            .map(|i| i as u32)
    };
    match index {
        Some(index) => {
            let pd = *devices.get(index).ok_or(GpuError::NoSuchDevice {
                index,
                count: devices.len(),
            })?;
            Ok((pd, compute_family(pd).ok_or(GpuError::NoComputeQueue)?))
        }
        None => devices
            .iter()
            .find_map(|&pd| compute_family(pd).map(|f| (pd, f)))
            .ok_or(GpuError::NoComputeQueue),
    }
}

impl Drop for Gpu {
    fn drop(&mut self) {
        // SAFETY: every object created from the device is owned by a value that borrows
        // `self` (buffers, kernels, submissions), so all of them are gone by now; waiting idle
        // first makes sure no work still runs.
        let _ = unsafe { self.device.device_wait_idle() };
        // SAFETY: as above; the device is idle.
        unsafe { self.device.destroy_device(None) };
        // SAFETY: the device, the only child of the instance, was destroyed above.
        unsafe { self.instance.destroy_instance(None) };
    }
}

/// The device name as the driver reports it.
fn device_name(props: &vk::PhysicalDeviceProperties) -> String {
    props
        .device_name_as_c_str()
        .map(CStr::to_string_lossy)
        .map_or_else(|_| "<unnamed>".to_owned(), |n| n.into_owned())
}
