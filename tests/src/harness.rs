//! A small compute harness on `ash`: one instance, the first physical device (or the one whose
//! name contains a wanted string), one compute queue, host-visible buffers, compute pipelines
//! and synchronous dispatches. Runs on any ICD.

use std::ffi::CStr;

use ash::vk;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum GpuError {
    #[error("setup: {0}")]
    Setup(String),
    #[error("loading the Vulkan loader: {0}")]
    Load(String),
    #[error("{call} returned {result:?}")]
    Vk {
        call: &'static str,
        result: vk::Result,
    },
}

trait VkContext<T> {
    fn ctx(self, call: &'static str) -> Result<T, GpuError>;
}

impl<T> VkContext<T> for Result<T, vk::Result> {
    fn ctx(self, call: &'static str) -> Result<T, GpuError> {
        self.map_err(|result| GpuError::Vk { call, result })
    }
}

/// A device with one compute queue and a command pool.
pub struct Gpu {
    // Field order is drop order irrelevant: `Drop` destroys explicitly.
    _entry: ash::Entry,
    pub instance: ash::Instance,
    pub physical_device: vk::PhysicalDevice,
    pub device: ash::Device,
    pub queue: vk::Queue,
    pub queue_family: u32,
    pub memory_type: u32,
    pub properties: vk::PhysicalDeviceProperties,
    command_pool: vk::CommandPool,
}

/// A buffer bound to its own host-visible, mapped allocation.
pub struct GpuBuffer {
    pub buffer: vk::Buffer,
    pub memory: vk::DeviceMemory,
    pub size: u64,
    pub ptr: *mut u8,
}

/// A compute pipeline with its layouts and one descriptor set of storage buffers
/// (bindings 0..n).
pub struct Pipeline {
    pub pipeline: vk::Pipeline,
    pub layout: vk::PipelineLayout,
    pub set_layout: vk::DescriptorSetLayout,
    pub pool: vk::DescriptorPool,
    pub set: vk::DescriptorSet,
    pub module: vk::ShaderModule,
    pub bindings: u32,
}

impl Gpu {
    /// Loads the system Vulkan loader and opens the first physical device.
    pub fn new() -> Result<Gpu, GpuError> {
        // SAFETY: loading libvulkan.so.1 runs its initialisers; the loader is designed to be
        // loaded this way.
        let entry = unsafe { ash::Entry::load() }.map_err(|e| GpuError::Load(e.to_string()))?;
        let app = vk::ApplicationInfo::default()
            .application_name(c"softgpu-e2e")
            .api_version(vk::API_VERSION_1_0);
        let info = vk::InstanceCreateInfo::default().application_info(&app);
        // SAFETY: `info` and what it points to live across the call.
        let instance = unsafe { entry.create_instance(&info, None) }.ctx("vkCreateInstance")?;
        // `open` gets a clone of the entry: on failure this one keeps the loader loaded until
        // the instance is destroyed (dropping the last clone unloads libvulkan).
        match Gpu::open(entry.clone(), instance.clone()) {
            Ok(g) => Ok(g),
            Err(e) => {
                // SAFETY: no child object of the instance exists on this path, and `entry`
                // keeps the loader that owns the instance loaded.
                unsafe { instance.destroy_instance(None) };
                drop(entry);
                Err(e)
            }
        }
    }

    fn open(entry: ash::Entry, instance: ash::Instance) -> Result<Gpu, GpuError> {
        // SAFETY: `instance` is a live instance.
        let pds =
            unsafe { instance.enumerate_physical_devices() }.ctx("vkEnumeratePhysicalDevices")?;
        let physical_device = *pds
            .first()
            .ok_or_else(|| GpuError::Setup("no physical device".into()))?;
        // SAFETY: `physical_device` came from this instance.
        let properties = unsafe { instance.get_physical_device_properties(physical_device) };
        // SAFETY: as above.
        let families =
            unsafe { instance.get_physical_device_queue_family_properties(physical_device) };
        let queue_family = families
            .iter()
            .position(|f| f.queue_flags.contains(vk::QueueFlags::COMPUTE))
            .ok_or_else(|| GpuError::Setup("no compute queue family".into()))?
            as u32;
        // SAFETY: as above.
        let mem = unsafe { instance.get_physical_device_memory_properties(physical_device) };
        let wanted = vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT;
        let memory_type = (0..mem.memory_type_count)
            .find(|&i| mem.memory_types[i as usize].property_flags.contains(wanted))
            .ok_or_else(|| GpuError::Setup("no host-visible coherent memory type".into()))?;
        let priorities = [1.0f32];
        let queue_info = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(queue_family)
            .queue_priorities(&priorities)];
        let device_info = vk::DeviceCreateInfo::default().queue_create_infos(&queue_info);
        // SAFETY: the create info and its arrays live across the call.
        let device = unsafe { instance.create_device(physical_device, &device_info, None) }
            .ctx("vkCreateDevice")?;
        // SAFETY: one queue was requested in `queue_family`.
        let queue = unsafe { device.get_device_queue(queue_family, 0) };
        let pool_info = vk::CommandPoolCreateInfo::default()
            .queue_family_index(queue_family)
            .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER);
        // SAFETY: `device` is live.
        let command_pool =
            unsafe { device.create_command_pool(&pool_info, None) }.ctx("vkCreateCommandPool")?;
        Ok(Gpu {
            _entry: entry,
            instance,
            physical_device,
            device,
            queue,
            queue_family,
            memory_type,
            properties,
            command_pool,
        })
    }

    /// The command pool (resettable command buffers, the compute queue's family).
    pub fn command_pool(&self) -> vk::CommandPool {
        self.command_pool
    }

    /// The device name the driver reports.
    pub fn name(&self) -> String {
        self.properties
            .device_name_as_c_str()
            .map(|c: &CStr| c.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// A storage buffer of `size` bytes with its own mapped host-visible memory.
    pub fn buffer(&self, size: u64) -> Result<GpuBuffer, GpuError> {
        let info = vk::BufferCreateInfo::default().size(size).usage(
            vk::BufferUsageFlags::STORAGE_BUFFER
                | vk::BufferUsageFlags::TRANSFER_SRC
                | vk::BufferUsageFlags::TRANSFER_DST,
        );
        // SAFETY: `self.device` is live; `info` outlives the call.
        let buffer = unsafe { self.device.create_buffer(&info, None) }.ctx("vkCreateBuffer")?;
        // SAFETY: `buffer` is live.
        let req = unsafe { self.device.get_buffer_memory_requirements(buffer) };
        if req.memory_type_bits & (1 << self.memory_type) == 0 {
            return Err(GpuError::Setup(
                "buffer cannot use the host-visible type".into(),
            ));
        }
        let alloc = vk::MemoryAllocateInfo::default()
            .allocation_size(req.size)
            .memory_type_index(self.memory_type);
        // SAFETY: as above.
        let memory =
            unsafe { self.device.allocate_memory(&alloc, None) }.ctx("vkAllocateMemory")?;
        // SAFETY: fresh buffer and memory of sufficient size and a compatible type.
        unsafe { self.device.bind_buffer_memory(buffer, memory, 0) }.ctx("vkBindBufferMemory")?;
        // SAFETY: host-visible memory, not mapped yet.
        let ptr = unsafe {
            self.device
                .map_memory(memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
        }
        .ctx("vkMapMemory")?;
        Ok(GpuBuffer {
            buffer,
            memory,
            size,
            ptr: ptr.cast(),
        })
    }

    /// A compute pipeline for `spirv` with `bindings` storage buffers in set 0,
    /// `push_size` bytes of push constants and specialization constants `spec`
    /// (`(constant_id, 4-byte value)`).
    pub fn pipeline(
        &self,
        spirv: &[u32],
        bindings: u32,
        push_size: u32,
        spec: &[(u32, [u8; 4])],
    ) -> Result<Pipeline, GpuError> {
        let d = &self.device;
        let module_info = vk::ShaderModuleCreateInfo::default().code(spirv);
        // SAFETY: `d` is live; `module_info` borrows `spirv` for the call.
        let module =
            unsafe { d.create_shader_module(&module_info, None) }.ctx("vkCreateShaderModule")?;
        let layout_bindings: Vec<_> = (0..bindings)
            .map(|b| {
                vk::DescriptorSetLayoutBinding::default()
                    .binding(b)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE)
            })
            .collect();
        let set_layout_info =
            vk::DescriptorSetLayoutCreateInfo::default().bindings(&layout_bindings);
        // SAFETY: as above.
        let set_layout = unsafe { d.create_descriptor_set_layout(&set_layout_info, None) }
            .ctx("vkCreateDescriptorSetLayout")?;
        let set_layouts = [set_layout];
        let ranges = [vk::PushConstantRange::default()
            .stage_flags(vk::ShaderStageFlags::COMPUTE)
            .offset(0)
            .size(push_size)];
        let mut layout_info = vk::PipelineLayoutCreateInfo::default().set_layouts(&set_layouts);
        if push_size > 0 {
            layout_info = layout_info.push_constant_ranges(&ranges);
        }
        // SAFETY: as above.
        let layout = unsafe { d.create_pipeline_layout(&layout_info, None) }
            .ctx("vkCreatePipelineLayout")?;
        let entries: Vec<_> = spec
            .iter()
            .enumerate()
            .map(|(i, (id, _))| {
                vk::SpecializationMapEntry::default()
                    .constant_id(*id)
                    .offset(4 * i as u32)
                    .size(4)
            })
            .collect();
        let data: Vec<u8> = spec.iter().flat_map(|(_, v)| *v).collect();
        let spec_info = vk::SpecializationInfo::default()
            .map_entries(&entries)
            .data(&data);
        let mut stage = vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::COMPUTE)
            .module(module)
            .name(c"main");
        if !spec.is_empty() {
            stage = stage.specialization_info(&spec_info);
        }
        let info = [vk::ComputePipelineCreateInfo::default()
            .stage(stage)
            .layout(layout)];
        // SAFETY: all handles are live and the create info's pointers outlive the call.
        let pipeline =
            unsafe { d.create_compute_pipelines(vk::PipelineCache::null(), &info, None) }.map_err(
                |(_, result)| GpuError::Vk {
                    call: "vkCreateComputePipelines",
                    result,
                },
            )?[0];
        let sizes = [vk::DescriptorPoolSize::default()
            .ty(vk::DescriptorType::STORAGE_BUFFER)
            .descriptor_count(bindings.max(1))];
        let pool_info = vk::DescriptorPoolCreateInfo::default()
            .max_sets(1)
            .pool_sizes(&sizes);
        // SAFETY: as above.
        let pool =
            unsafe { d.create_descriptor_pool(&pool_info, None) }.ctx("vkCreateDescriptorPool")?;
        let alloc = vk::DescriptorSetAllocateInfo::default()
            .descriptor_pool(pool)
            .set_layouts(&set_layouts);
        // SAFETY: as above.
        let set = unsafe { d.allocate_descriptor_sets(&alloc) }.ctx("vkAllocateDescriptorSets")?[0];
        Ok(Pipeline {
            pipeline,
            layout,
            set_layout,
            pool,
            set,
            module,
            bindings,
        })
    }

    /// Binds `buffers` (whole) to bindings 0.. of the pipeline's set, records one dispatch with
    /// `push` constants and waits for it. Returns the wall time of submit + wait.
    pub fn dispatch(
        &self,
        p: &Pipeline,
        buffers: &[&GpuBuffer],
        push: &[u8],
        groups: [u32; 3],
    ) -> Result<std::time::Duration, GpuError> {
        let d = &self.device;
        let infos: Vec<_> = buffers
            .iter()
            .map(|b| {
                vk::DescriptorBufferInfo::default()
                    .buffer(b.buffer)
                    .offset(0)
                    .range(vk::WHOLE_SIZE)
            })
            .collect();
        let writes: Vec<_> = infos
            .iter()
            .enumerate()
            .map(|(i, info)| {
                vk::WriteDescriptorSet::default()
                    .dst_set(p.set)
                    .dst_binding(i as u32)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .buffer_info(std::slice::from_ref(info))
            })
            .collect();
        // SAFETY: the set and buffers are live; no command buffer using the set is pending.
        unsafe { d.update_descriptor_sets(&writes, &[]) };
        self.submit_and_wait(|cb| {
            // SAFETY: `cb` is in the recording state; all handles are live.
            unsafe {
                d.cmd_bind_pipeline(cb, vk::PipelineBindPoint::COMPUTE, p.pipeline);
                d.cmd_bind_descriptor_sets(
                    cb,
                    vk::PipelineBindPoint::COMPUTE,
                    p.layout,
                    0,
                    &[p.set],
                    &[],
                );
                if !push.is_empty() {
                    d.cmd_push_constants(cb, p.layout, vk::ShaderStageFlags::COMPUTE, 0, push);
                }
                d.cmd_dispatch(cb, groups[0], groups[1], groups[2]);
            }
        })
    }

    /// Records a one-time command buffer with `record`, submits it with a fence and waits.
    pub fn submit_and_wait(
        &self,
        record: impl FnOnce(vk::CommandBuffer),
    ) -> Result<std::time::Duration, GpuError> {
        let d = &self.device;
        let alloc = vk::CommandBufferAllocateInfo::default()
            .command_pool(self.command_pool)
            .level(vk::CommandBufferLevel::PRIMARY)
            .command_buffer_count(1);
        // SAFETY: the pool is live and used by one thread (Gpu is not Sync).
        let cb = unsafe { d.allocate_command_buffers(&alloc) }.ctx("vkAllocateCommandBuffers")?[0];
        let begin = vk::CommandBufferBeginInfo::default()
            .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT);
        // SAFETY: fresh command buffer.
        unsafe { d.begin_command_buffer(cb, &begin) }.ctx("vkBeginCommandBuffer")?;
        record(cb);
        // SAFETY: recording.
        unsafe { d.end_command_buffer(cb) }.ctx("vkEndCommandBuffer")?;
        // SAFETY: `d` is live.
        let fence = unsafe { d.create_fence(&vk::FenceCreateInfo::default(), None) }
            .ctx("vkCreateFence")?;
        let cbs = [cb];
        let submit = [vk::SubmitInfo::default().command_buffers(&cbs)];
        let start = std::time::Instant::now();
        // SAFETY: executable command buffer, unsignalled fence.
        let result = unsafe { d.queue_submit(self.queue, &submit, fence) }
            .ctx("vkQueueSubmit")
            .and_then(|()| {
                // SAFETY: the fence was submitted above.
                unsafe { d.wait_for_fences(&[fence], true, u64::MAX) }.ctx("vkWaitForFences")
            });
        let elapsed = start.elapsed();
        // SAFETY: the work is done (or failed), so neither object is in use.
        unsafe {
            d.destroy_fence(fence, None);
            d.free_command_buffers(self.command_pool, &cbs);
        }
        result.map(|()| elapsed)
    }

    pub fn destroy_pipeline(&self, p: Pipeline) {
        let d = &self.device;
        // SAFETY: no pending work uses `p` (every dispatch waits).
        unsafe {
            d.destroy_pipeline(p.pipeline, None);
            d.destroy_descriptor_pool(p.pool, None);
            d.destroy_pipeline_layout(p.layout, None);
            d.destroy_descriptor_set_layout(p.set_layout, None);
            d.destroy_shader_module(p.module, None);
        }
    }

    pub fn destroy_buffer(&self, b: GpuBuffer) {
        // SAFETY: no pending work uses `b` (every dispatch waits).
        unsafe {
            self.device.destroy_buffer(b.buffer, None);
            self.device.free_memory(b.memory, None);
        }
    }
}

impl GpuBuffer {
    /// Copies `values` into the mapped memory at element 0.
    pub fn write<T: Copy>(&self, values: &[T]) {
        let bytes = std::mem::size_of_val(values);
        assert!(bytes as u64 <= self.size, "write past the buffer");
        // SAFETY: the mapping covers `size` bytes; `values` is a plain slice of `bytes` bytes.
        unsafe { std::ptr::copy_nonoverlapping(values.as_ptr().cast::<u8>(), self.ptr, bytes) };
    }

    /// Reads `n` elements from the mapped memory at element 0.
    pub fn read<T: Copy + Default>(&self, n: usize) -> Vec<T> {
        let mut out = vec![T::default(); n];
        let bytes = n * std::mem::size_of::<T>();
        assert!(bytes as u64 <= self.size, "read past the buffer");
        // SAFETY: as for `write`; `out` has room for `bytes` bytes.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr, out.as_mut_ptr().cast::<u8>(), bytes) };
        out
    }
}

impl Drop for Gpu {
    fn drop(&mut self) {
        // SAFETY: every object created from the device was destroyed by its owner or is
        // destroyed with the device; nothing is pending (every submit waits).
        unsafe {
            let _ = self.device.device_wait_idle();
            self.device.destroy_command_pool(self.command_pool, None);
            self.device.destroy_device(None);
            self.instance.destroy_instance(None);
        }
    }
}
