//! Descriptor sets of any layout ([`DescriptorSet`]), texel-buffer views ([`BufferView`]),
//! storage images ([`StorageImage`]) and compute pipelines ([`ComputePipeline`]) for the
//! scenes of issue 7 that go beyond one combined image sampler.

use ash::vk;

use super::resources::HostBuffer;
use super::{GraphicsContext, VkContext};
use crate::GpuError;

/// What one binding of a [`DescriptorSet`] is written with.
pub enum Resource {
    /// A view and sampler, the image in the given layout.
    CombinedImageSampler(vk::ImageView, vk::Sampler, vk::ImageLayout),
    StorageImage(vk::ImageView),
    /// A colour attachment read as input attachment (SHADER_READ_ONLY_OPTIMAL).
    InputAttachment(vk::ImageView),
    UniformTexelBuffer(vk::BufferView),
    StorageTexelBuffer(vk::BufferView),
    /// Whole buffers, one per element of an arrayed binding (at least one).
    UniformBuffers(Vec<vk::Buffer>),
    StorageBuffers(Vec<vk::Buffer>),
}

impl Resource {
    fn ty(&self) -> vk::DescriptorType {
        match self {
            Resource::CombinedImageSampler(..) => vk::DescriptorType::COMBINED_IMAGE_SAMPLER,
            Resource::StorageImage(_) => vk::DescriptorType::STORAGE_IMAGE,
            Resource::InputAttachment(_) => vk::DescriptorType::INPUT_ATTACHMENT,
            Resource::UniformTexelBuffer(_) => vk::DescriptorType::UNIFORM_TEXEL_BUFFER,
            Resource::StorageTexelBuffer(_) => vk::DescriptorType::STORAGE_TEXEL_BUFFER,
            Resource::UniformBuffers(_) => vk::DescriptorType::UNIFORM_BUFFER,
            Resource::StorageBuffers(_) => vk::DescriptorType::STORAGE_BUFFER,
        }
    }

    /// The binding's descriptor count.
    fn count(&self) -> u32 {
        match self {
            Resource::UniformBuffers(b) | Resource::StorageBuffers(b) => b.len().max(1) as u32,
            _ => 1,
        }
    }
}

/// One descriptor set with its own layout and pool: binding `i` holds `bindings[i]`.
pub struct DescriptorSet<'c> {
    ctx: &'c GraphicsContext,
    pub layout: vk::DescriptorSetLayout,
    pool: vk::DescriptorPool,
    pub set: vk::DescriptorSet,
}

impl<'c> DescriptorSet<'c> {
    /// A set whose binding `i` is `bindings[i]`, visible to `stages`, written at once.
    pub fn new(
        ctx: &'c GraphicsContext,
        stages: vk::ShaderStageFlags,
        bindings: &[Resource],
    ) -> Result<DescriptorSet<'c>, GpuError> {
        let d = &ctx.device;
        let layout_bindings: Vec<_> = bindings
            .iter()
            .enumerate()
            .map(|(i, r)| {
                vk::DescriptorSetLayoutBinding::default()
                    .binding(i as u32)
                    .descriptor_type(r.ty())
                    .descriptor_count(r.count())
                    .stage_flags(stages)
            })
            .collect();
        let info = vk::DescriptorSetLayoutCreateInfo::default().bindings(&layout_bindings);
        // SAFETY: `d` is live; `info` outlives the call.
        let layout = unsafe { d.create_descriptor_set_layout(&info, None) }
            .ctx("vkCreateDescriptorSetLayout")?;
        let mut s = DescriptorSet {
            ctx,
            layout,
            pool: vk::DescriptorPool::null(),
            set: vk::DescriptorSet::null(),
        };
        let sizes: Vec<_> = bindings
            .iter()
            .map(|r| vk::DescriptorPoolSize {
                ty: r.ty(),
                descriptor_count: r.count(),
            })
            .collect();
        let pool_info = vk::DescriptorPoolCreateInfo::default()
            .max_sets(1)
            .pool_sizes(&sizes);
        // SAFETY: as above.
        s.pool =
            unsafe { d.create_descriptor_pool(&pool_info, None) }.ctx("vkCreateDescriptorPool")?;
        let layouts = [layout];
        let alloc = vk::DescriptorSetAllocateInfo::default()
            .descriptor_pool(s.pool)
            .set_layouts(&layouts);
        // SAFETY: the pool has room for one set of this layout.
        s.set = unsafe { d.allocate_descriptor_sets(&alloc) }.ctx("vkAllocateDescriptorSets")?[0];
        let image_infos: Vec<[vk::DescriptorImageInfo; 1]> = bindings
            .iter()
            .map(|r| {
                let (sampler, view, layout) = match r {
                    Resource::CombinedImageSampler(v, s, l) => (*s, *v, *l),
                    Resource::StorageImage(v) => {
                        (vk::Sampler::null(), *v, vk::ImageLayout::GENERAL)
                    }
                    Resource::InputAttachment(v) => (
                        vk::Sampler::null(),
                        *v,
                        vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL,
                    ),
                    _ => (
                        vk::Sampler::null(),
                        vk::ImageView::null(),
                        vk::ImageLayout::UNDEFINED,
                    ),
                };
                [vk::DescriptorImageInfo {
                    sampler,
                    image_view: view,
                    image_layout: layout,
                }]
            })
            .collect();
        let texel_views: Vec<[vk::BufferView; 1]> = bindings
            .iter()
            .map(|r| match r {
                Resource::UniformTexelBuffer(v) | Resource::StorageTexelBuffer(v) => [*v],
                _ => [vk::BufferView::null()],
            })
            .collect();
        let buffer_infos: Vec<Vec<vk::DescriptorBufferInfo>> = bindings
            .iter()
            .map(|r| match r {
                Resource::UniformBuffers(b) | Resource::StorageBuffers(b) => b
                    .iter()
                    .map(|&buffer| vk::DescriptorBufferInfo {
                        buffer,
                        offset: 0,
                        range: vk::WHOLE_SIZE,
                    })
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let writes: Vec<_> = bindings
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let w = vk::WriteDescriptorSet::default()
                    .dst_set(s.set)
                    .dst_binding(i as u32)
                    .descriptor_type(r.ty());
                match r {
                    Resource::UniformTexelBuffer(_) | Resource::StorageTexelBuffer(_) => {
                        w.texel_buffer_view(&texel_views[i])
                    }
                    Resource::UniformBuffers(_) | Resource::StorageBuffers(_) => {
                        w.buffer_info(&buffer_infos[i])
                    }
                    _ => w.image_info(&image_infos[i]),
                }
            })
            .collect();
        // SAFETY: the set and every view and sampler named are live; no submission uses the
        // set yet.
        unsafe { d.update_descriptor_sets(&writes, &[]) };
        Ok(s)
    }
}

impl Drop for DescriptorSet<'_> {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: every submission is waited for; the set is freed with its pool.
        unsafe {
            d.destroy_descriptor_pool(self.pool, None);
            d.destroy_descriptor_set_layout(self.layout, None);
        }
    }
}

/// A texel-buffer view of a whole [`HostBuffer`].
pub struct BufferView<'c> {
    ctx: &'c GraphicsContext,
    pub view: vk::BufferView,
}

impl<'c> BufferView<'c> {
    pub fn new(
        ctx: &'c GraphicsContext,
        buffer: &HostBuffer<'_>,
        format: vk::Format,
    ) -> Result<BufferView<'c>, GpuError> {
        let info = vk::BufferViewCreateInfo::default()
            .buffer(buffer.buffer)
            .format(format)
            .offset(0)
            .range(vk::WHOLE_SIZE);
        // SAFETY: `ctx.device` and the buffer are live; `info` outlives the call.
        let view =
            unsafe { ctx.device.create_buffer_view(&info, None) }.ctx("vkCreateBufferView")?;
        Ok(BufferView { ctx, view })
    }
}

impl Drop for BufferView<'_> {
    fn drop(&mut self) {
        // SAFETY: every submission is waited for.
        unsafe { self.ctx.device.destroy_buffer_view(self.view, None) };
    }
}

/// A 2D image usable as a storage image and a sampled image, left in GENERAL layout.
pub struct StorageImage<'c> {
    ctx: &'c GraphicsContext,
    pub image: vk::Image,
    memory: vk::DeviceMemory,
    pub view: vk::ImageView,
}

impl<'c> StorageImage<'c> {
    pub fn new(
        ctx: &'c GraphicsContext,
        format: vk::Format,
        width: u32,
        height: u32,
    ) -> Result<StorageImage<'c>, GpuError> {
        let d = &ctx.device;
        let info = vk::ImageCreateInfo::default()
            .image_type(vk::ImageType::TYPE_2D)
            .format(format)
            .extent(vk::Extent3D {
                width,
                height,
                depth: 1,
            })
            .mip_levels(1)
            .array_layers(1)
            .samples(vk::SampleCountFlags::TYPE_1)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(vk::ImageUsageFlags::STORAGE | vk::ImageUsageFlags::SAMPLED)
            .initial_layout(vk::ImageLayout::UNDEFINED);
        // SAFETY: `d` is live; the create info outlives the call.
        let image = unsafe { d.create_image(&info, None) }.ctx("vkCreateImage")?;
        let mut s = StorageImage {
            ctx,
            image,
            memory: vk::DeviceMemory::null(),
            view: vk::ImageView::null(),
        };
        s.memory = super::resources::bind_image_memory(ctx, image)?;
        let range = vk::ImageSubresourceRange {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            base_mip_level: 0,
            level_count: 1,
            base_array_layer: 0,
            layer_count: 1,
        };
        let view_info = vk::ImageViewCreateInfo::default()
            .image(image)
            .view_type(vk::ImageViewType::TYPE_2D)
            .format(format)
            .subresource_range(range);
        // SAFETY: `image` is live and bound.
        s.view = unsafe { d.create_image_view(&view_info, None) }.ctx("vkCreateImageView")?;
        let barrier = [vk::ImageMemoryBarrier::default()
            .old_layout(vk::ImageLayout::UNDEFINED)
            .new_layout(vk::ImageLayout::GENERAL)
            .dst_access_mask(vk::AccessFlags::SHADER_WRITE)
            .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
            .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
            .image(image)
            .subresource_range(range)];
        ctx.submit_and_wait(|cb| {
            // SAFETY: `cb` is recording; the image is live and unused.
            unsafe {
                d.cmd_pipeline_barrier(
                    cb,
                    vk::PipelineStageFlags::TOP_OF_PIPE,
                    vk::PipelineStageFlags::COMPUTE_SHADER,
                    vk::DependencyFlags::empty(),
                    &[],
                    &[],
                    &barrier,
                )
            };
            Ok(())
        })?;
        Ok(s)
    }
}

impl Drop for StorageImage<'_> {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: every submission is waited for; null handles are ignored.
        unsafe {
            d.destroy_image_view(self.view, None);
            d.destroy_image(self.image, None);
            d.free_memory(self.memory, None);
        }
    }
}

/// A compute pipeline of one module (entry `main`) with one descriptor set layout.
pub struct ComputePipeline<'c> {
    ctx: &'c GraphicsContext,
    module: vk::ShaderModule,
    pub layout: vk::PipelineLayout,
    pub pipeline: vk::Pipeline,
}

impl<'c> ComputePipeline<'c> {
    pub fn new(
        ctx: &'c GraphicsContext,
        code: &[u32],
        set_layout: vk::DescriptorSetLayout,
    ) -> Result<ComputePipeline<'c>, GpuError> {
        let d = &ctx.device;
        let info = vk::ShaderModuleCreateInfo::default().code(code);
        // SAFETY: `d` is live; `info` borrows `code` for the call.
        let module = unsafe { d.create_shader_module(&info, None) }.ctx("vkCreateShaderModule")?;
        let mut p = ComputePipeline {
            ctx,
            module,
            layout: vk::PipelineLayout::null(),
            pipeline: vk::Pipeline::null(),
        };
        let layouts = [set_layout];
        let layout_info = vk::PipelineLayoutCreateInfo::default().set_layouts(&layouts);
        // SAFETY: as above.
        p.layout = unsafe { d.create_pipeline_layout(&layout_info, None) }
            .ctx("vkCreatePipelineLayout")?;
        let stage = vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::COMPUTE)
            .module(module)
            .name(c"main");
        let info = [vk::ComputePipelineCreateInfo::default()
            .stage(stage)
            .layout(p.layout)];
        // SAFETY: module and layout are live; `info` outlives the call.
        let pipelines =
            unsafe { d.create_compute_pipelines(vk::PipelineCache::null(), &info, None) }
                .map_err(|(_, e)| e)
                .ctx("vkCreateComputePipelines")?;
        p.pipeline = pipelines[0];
        Ok(p)
    }

    /// Records a dispatch of `groups` workgroups with `set` bound at set 0.
    pub fn record_dispatch(&self, cb: vk::CommandBuffer, set: vk::DescriptorSet, groups: [u32; 3]) {
        let d = &self.ctx.device;
        // SAFETY: `cb` is recording outside a render pass; pipeline, layout and set are live
        // and compatible.
        unsafe {
            d.cmd_bind_pipeline(cb, vk::PipelineBindPoint::COMPUTE, self.pipeline);
            d.cmd_bind_descriptor_sets(
                cb,
                vk::PipelineBindPoint::COMPUTE,
                self.layout,
                0,
                &[set],
                &[],
            );
            d.cmd_dispatch(cb, groups[0], groups[1], groups[2]);
        }
    }
}

impl Drop for ComputePipeline<'_> {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: every submission is waited for; null handles are ignored.
        unsafe {
            d.destroy_pipeline(self.pipeline, None);
            d.destroy_pipeline_layout(self.layout, None);
            d.destroy_shader_module(self.module, None);
        }
    }
}
