//! Compute kernels: a layout (N storage buffers at set 0 plus push constants), pipelines built
//! on it from SPIR-V, and descriptor sets binding host buffers to it.
//!
//! The layout is separate from the pipeline so the latency workload can build a fresh shader
//! module and pipeline per run on an existing layout — what it measures is
//! vkCreateShaderModule + vkCreateComputePipelines (+ the first dispatch), nothing else.

use std::io::Cursor;

use ash::vk;

use crate::buffer::HostBuffer;
use crate::gpu::{failed, Gpu, GpuError};

pub struct KernelLayout<'g> {
    gpu: &'g Gpu,
    pub set_layout: vk::DescriptorSetLayout,
    pub pipeline_layout: vk::PipelineLayout,
    pub bindings: u32,
    pub push_bytes: u32,
}

impl<'g> KernelLayout<'g> {
    /// `bindings` storage buffers (bindings 0..N of set 0) and `push_bytes` of push constants.
    pub fn new(gpu: &'g Gpu, bindings: u32, push_bytes: u32) -> Result<Self, GpuError> {
        let slots: Vec<_> = (0..bindings)
            .map(|b| {
                vk::DescriptorSetLayoutBinding::default()
                    .binding(b)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE)
            })
            .collect();
        let info = vk::DescriptorSetLayoutCreateInfo::default().bindings(&slots);
        // SAFETY: `info` is valid for the call.
        let set_layout = unsafe { gpu.device.create_descriptor_set_layout(&info, None) }
            .map_err(failed("vkCreateDescriptorSetLayout"))?;
        let mut this = KernelLayout {
            gpu,
            set_layout,
            pipeline_layout: vk::PipelineLayout::null(),
            bindings,
            push_bytes,
        };
        let ranges = [vk::PushConstantRange::default()
            .stage_flags(vk::ShaderStageFlags::COMPUTE)
            .offset(0)
            .size(push_bytes)];
        let set_layouts = [set_layout];
        let mut info = vk::PipelineLayoutCreateInfo::default().set_layouts(&set_layouts);
        if push_bytes > 0 {
            info = info.push_constant_ranges(&ranges);
        }
        // SAFETY: `info` is valid for the call; `set_layout` is live.
        this.pipeline_layout = unsafe { gpu.device.create_pipeline_layout(&info, None) }
            .map_err(failed("vkCreatePipelineLayout"))?;
        Ok(this)
    }
}

impl Drop for KernelLayout<'_> {
    fn drop(&mut self) {
        // SAFETY: pipelines and sets made with this layout borrow it, so are gone.
        unsafe {
            self.gpu
                .device
                .destroy_pipeline_layout(self.pipeline_layout, None)
        };
        // SAFETY: as above.
        unsafe {
            self.gpu
                .device
                .destroy_descriptor_set_layout(self.set_layout, None)
        };
    }
}

/// A shader module and the compute pipeline built from it (entry point `main`, no cache).
pub struct Kernel<'g> {
    gpu: &'g Gpu,
    pub layout: &'g KernelLayout<'g>,
    module: vk::ShaderModule,
    pub pipeline: vk::Pipeline,
}

impl<'g> Kernel<'g> {
    pub fn new(layout: &'g KernelLayout<'g>, spirv: &[u8]) -> Result<Self, GpuError> {
        let gpu = layout.gpu;
        let words = ash::util::read_spv(&mut Cursor::new(spirv))
            .map_err(|e| GpuError::Misuse(format!("SPIR-V module: {e}")))?;
        let info = vk::ShaderModuleCreateInfo::default().code(&words);
        // SAFETY: `info` points at `words`, valid for the call.
        let module = unsafe { gpu.device.create_shader_module(&info, None) }
            .map_err(failed("vkCreateShaderModule"))?;
        let mut this = Kernel {
            gpu,
            layout,
            module,
            pipeline: vk::Pipeline::null(),
        };
        let stage = vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::COMPUTE)
            .module(module)
            .name(c"main");
        let infos = [vk::ComputePipelineCreateInfo::default()
            .stage(stage)
            .layout(layout.pipeline_layout)];
        // SAFETY: module and layout are live; no pipeline cache, on purpose.
        let pipelines = unsafe {
            gpu.device
                .create_compute_pipelines(vk::PipelineCache::null(), &infos, None)
        }
        .map_err(|(_, e)| failed("vkCreateComputePipelines")(e))?;
        this.pipeline = pipelines.first().copied().ok_or_else(|| {
            GpuError::Misuse("vkCreateComputePipelines returned no pipeline".into())
        })?;
        Ok(this)
    }
}

impl Drop for Kernel<'_> {
    fn drop(&mut self) {
        // SAFETY: the workloads wait for the work using this pipeline before dropping it;
        // null handles (creation failed) are ignored.
        unsafe { self.gpu.device.destroy_pipeline(self.pipeline, None) };
        // SAFETY: as above.
        unsafe { self.gpu.device.destroy_shader_module(self.module, None) };
    }
}

/// Part of a buffer bound to one binding: `bytes` from `offset`.
pub struct BufferRange<'a, 'g> {
    pub buffer: &'a HostBuffer<'g>,
    pub offset: u64,
    pub bytes: u64,
}

/// A descriptor pool for a few sets of storage buffers.
pub struct DescriptorSets<'g> {
    gpu: &'g Gpu,
    pool: vk::DescriptorPool,
}

impl<'g> DescriptorSets<'g> {
    pub fn new(gpu: &'g Gpu, max_sets: u32, max_buffers: u32) -> Result<Self, GpuError> {
        let sizes = [vk::DescriptorPoolSize::default()
            .ty(vk::DescriptorType::STORAGE_BUFFER)
            .descriptor_count(max_buffers)];
        let info = vk::DescriptorPoolCreateInfo::default()
            .max_sets(max_sets)
            .pool_sizes(&sizes);
        // SAFETY: `info` is valid for the call.
        let pool = unsafe { gpu.device.create_descriptor_pool(&info, None) }
            .map_err(failed("vkCreateDescriptorPool"))?;
        Ok(DescriptorSets { gpu, pool })
    }

    /// A set of `layout` with `buffers[i]` (whole) at binding i.
    pub fn bind(
        &self,
        layout: &KernelLayout<'_>,
        buffers: &[&HostBuffer<'_>],
    ) -> Result<vk::DescriptorSet, GpuError> {
        let whole: Vec<BufferRange<'_, '_>> = buffers
            .iter()
            .map(|&buffer| BufferRange {
                buffer,
                offset: 0,
                bytes: buffer.size,
            })
            .collect();
        self.bind_ranges(layout, &whole)
    }

    /// A set of `layout` with `ranges[i]` at binding i.
    pub fn bind_ranges(
        &self,
        layout: &KernelLayout<'_>,
        ranges: &[BufferRange<'_, '_>],
    ) -> Result<vk::DescriptorSet, GpuError> {
        if ranges.len() != layout.bindings as usize {
            return Err(GpuError::Misuse(format!(
                "{} buffers for a layout of {} bindings",
                ranges.len(),
                layout.bindings
            )));
        }
        let limits = &self.gpu.properties.limits;
        for r in ranges {
            self.gpu.require(
                "maxStorageBufferRange",
                limits.max_storage_buffer_range.into(),
                r.bytes,
            )?;
            let end = r.offset.checked_add(r.bytes);
            let align = limits.min_storage_buffer_offset_alignment.max(1);
            if r.bytes == 0 || end.is_none_or(|e| e > r.buffer.size) || r.offset % align != 0 {
                return Err(GpuError::Misuse(format!(
                    "range {}+{} of a {}-byte buffer (offset alignment {align})",
                    r.offset, r.bytes, r.buffer.size
                )));
            }
        }
        let layouts = [layout.set_layout];
        let info = vk::DescriptorSetAllocateInfo::default()
            .descriptor_pool(self.pool)
            .set_layouts(&layouts);
        // SAFETY: pool and layout are live.
        let sets = unsafe { self.gpu.device.allocate_descriptor_sets(&info) }
            .map_err(failed("vkAllocateDescriptorSets"))?;
        let set = sets
            .first()
            .copied()
            .ok_or_else(|| GpuError::Misuse("no descriptor set allocated".into()))?;
        let infos: Vec<[vk::DescriptorBufferInfo; 1]> = ranges
            .iter()
            .map(|r| {
                [vk::DescriptorBufferInfo::default()
                    .buffer(r.buffer.buffer)
                    .offset(r.offset)
                    .range(r.bytes)]
            })
            .collect();
        let writes: Vec<_> = infos
            .iter()
            .enumerate()
            .map(|(i, info)| {
                vk::WriteDescriptorSet::default()
                    .dst_set(set)
                    .dst_binding(i as u32)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .buffer_info(info)
            })
            .collect();
        // SAFETY: `set` is live and not in use by any command buffer yet; the writes point at
        // `infos`, valid for the call, naming live buffers.
        unsafe { self.gpu.device.update_descriptor_sets(&writes, &[]) };
        Ok(set)
    }
}

impl Drop for DescriptorSets<'_> {
    fn drop(&mut self) {
        // SAFETY: the workloads wait for the work using these sets before dropping the pool.
        unsafe { self.gpu.device.destroy_descriptor_pool(self.pool, None) };
    }
}
