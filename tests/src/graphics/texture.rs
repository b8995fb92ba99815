//! Sampled textures for the scenes of issue 7: a 2D image of any sampled format with its mip
//! levels and layers uploaded through a staging buffer ([`Texture`]), samplers
//! ([`Sampler`]), and descriptor sets of combined image samplers for the fragment stage
//! ([`TextureSets`]). Runs on any ICD, like the rest of the harness.

use ash::vk;

use super::resources::HostBuffer;
use super::{GraphicsContext, VkContext};
use crate::GpuError;

/// What to create: a 2D (array) image of `format`; `data[level][layer]` holds the tightly
/// packed texels of that subresource.
pub struct TextureDesc<'a> {
    pub format: vk::Format,
    pub width: u32,
    pub height: u32,
    pub data: &'a [Vec<Vec<u8>>],
    pub view_type: vk::ImageViewType,
    pub aspect: vk::ImageAspectFlags,
}

pub struct Texture<'c> {
    ctx: &'c GraphicsContext,
    pub image: vk::Image,
    memory: vk::DeviceMemory,
    pub view: vk::ImageView,
}

impl<'c> Texture<'c> {
    /// Creates, uploads and transitions the image to SHADER_READ_ONLY_OPTIMAL (waits).
    pub fn new(ctx: &'c GraphicsContext, desc: &TextureDesc<'_>) -> Result<Texture<'c>, GpuError> {
        let levels = desc.data.len() as u32;
        let layers = desc.data.first().map_or(0, |l| l.len()) as u32;
        if levels == 0 || layers == 0 || desc.data.iter().any(|l| l.len() as u32 != layers) {
            return Err(GpuError::Setup(
                "texture data must be levels × layers".into(),
            ));
        }
        if !ctx
            .format_features(desc.format)
            .contains(vk::FormatFeatureFlags::SAMPLED_IMAGE)
        {
            return Err(GpuError::Setup(format!(
                "{:?} is not a sampled format on {}",
                desc.format,
                ctx.name()
            )));
        }
        let d = &ctx.device;
        // Cube and cube-array views need a cube-compatible image (VUID-VkImageViewCreateInfo-image-01003).
        let cube = matches!(
            desc.view_type,
            vk::ImageViewType::CUBE | vk::ImageViewType::CUBE_ARRAY
        );
        let info = vk::ImageCreateInfo::default()
            .flags(if cube {
                vk::ImageCreateFlags::CUBE_COMPATIBLE
            } else {
                vk::ImageCreateFlags::empty()
            })
            .image_type(vk::ImageType::TYPE_2D)
            .format(desc.format)
            .extent(vk::Extent3D {
                width: desc.width,
                height: desc.height,
                depth: 1,
            })
            .mip_levels(levels)
            .array_layers(layers)
            .samples(vk::SampleCountFlags::TYPE_1)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::TRANSFER_DST)
            .initial_layout(vk::ImageLayout::UNDEFINED);
        // SAFETY: `d` is live; the create info outlives the call.
        let image = unsafe { d.create_image(&info, None) }.ctx("vkCreateImage")?;
        let mut t = Texture {
            ctx,
            image,
            memory: vk::DeviceMemory::null(),
            view: vk::ImageView::null(),
        };
        t.memory = super::resources::bind_image_memory(ctx, image)?;
        let range = vk::ImageSubresourceRange {
            aspect_mask: desc.aspect,
            base_mip_level: 0,
            level_count: levels,
            base_array_layer: 0,
            layer_count: layers,
        };
        t.upload(desc, range)?;
        let view_info = vk::ImageViewCreateInfo::default()
            .image(image)
            .view_type(desc.view_type)
            .format(desc.format)
            .subresource_range(range);
        // SAFETY: `image` is live and bound; the range lies inside it.
        t.view = unsafe { d.create_image_view(&view_info, None) }.ctx("vkCreateImageView")?;
        Ok(t)
    }

    fn upload(
        &self,
        desc: &TextureDesc<'_>,
        range: vk::ImageSubresourceRange,
    ) -> Result<(), GpuError> {
        let bytes: Vec<u8> = desc.data.iter().flatten().flatten().copied().collect();
        let staging = HostBuffer::with_bytes(self.ctx, vk::BufferUsageFlags::TRANSFER_SRC, &bytes)?;
        let mut regions = Vec::new();
        let mut offset = 0u64;
        for (level, layers) in desc.data.iter().enumerate() {
            for (layer, texels) in layers.iter().enumerate() {
                regions.push(
                    vk::BufferImageCopy::default()
                        .buffer_offset(offset)
                        .image_subresource(vk::ImageSubresourceLayers {
                            aspect_mask: desc.aspect,
                            mip_level: level as u32,
                            base_array_layer: layer as u32,
                            layer_count: 1,
                        })
                        .image_extent(vk::Extent3D {
                            width: (desc.width >> level).max(1),
                            height: (desc.height >> level).max(1),
                            depth: 1,
                        }),
                );
                offset += texels.len() as u64;
            }
        }
        let d = &self.ctx.device;
        let barrier = |old, new, src, dst| {
            vk::ImageMemoryBarrier::default()
                .old_layout(old)
                .new_layout(new)
                .src_access_mask(src)
                .dst_access_mask(dst)
                .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .image(self.image)
                .subresource_range(range)
        };
        self.ctx.submit_and_wait(|cb| {
            let to_dst = [barrier(
                vk::ImageLayout::UNDEFINED,
                vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                vk::AccessFlags::empty(),
                vk::AccessFlags::TRANSFER_WRITE,
            )];
            let to_read = [barrier(
                vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL,
                vk::AccessFlags::TRANSFER_WRITE,
                vk::AccessFlags::SHADER_READ,
            )];
            // SAFETY: `cb` is recording; image and staging buffer are live; every region lies
            // inside both (offsets summed from the data's lengths, extents from the levels).
            unsafe {
                d.cmd_pipeline_barrier(
                    cb,
                    vk::PipelineStageFlags::TOP_OF_PIPE,
                    vk::PipelineStageFlags::TRANSFER,
                    vk::DependencyFlags::empty(),
                    &[],
                    &[],
                    &to_dst,
                );
                d.cmd_copy_buffer_to_image(
                    cb,
                    staging.buffer,
                    self.image,
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    &regions,
                );
                d.cmd_pipeline_barrier(
                    cb,
                    vk::PipelineStageFlags::TRANSFER,
                    vk::PipelineStageFlags::FRAGMENT_SHADER,
                    vk::DependencyFlags::empty(),
                    &[],
                    &[],
                    &to_read,
                );
            }
            Ok(())
        })?;
        Ok(())
    }
}

impl<'c> Texture<'c> {
    /// A square RGBA-family texture of `levels` levels whose level 0 is `level0` (tightly
    /// packed) and whose other levels are made on the device, each by a LINEAR
    /// vkCmdBlitImage of the one before (the usual mip-chain generation); ends in
    /// SHADER_READ_ONLY_OPTIMAL (waits).
    pub fn with_blit_mips(
        ctx: &'c GraphicsContext,
        format: vk::Format,
        side: u32,
        levels: u32,
        level0: &[u8],
    ) -> Result<Texture<'c>, GpuError> {
        let needed = vk::FormatFeatureFlags::SAMPLED_IMAGE
            | vk::FormatFeatureFlags::BLIT_SRC
            | vk::FormatFeatureFlags::BLIT_DST
            | vk::FormatFeatureFlags::SAMPLED_IMAGE_FILTER_LINEAR;
        if !ctx.format_features(format).contains(needed) {
            return Err(GpuError::Setup(format!(
                "{format:?} cannot be blitted and filtered on {}",
                ctx.name()
            )));
        }
        let d = &ctx.device;
        let info = vk::ImageCreateInfo::default()
            .image_type(vk::ImageType::TYPE_2D)
            .format(format)
            .extent(vk::Extent3D {
                width: side,
                height: side,
                depth: 1,
            })
            .mip_levels(levels)
            .array_layers(1)
            .samples(vk::SampleCountFlags::TYPE_1)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(
                vk::ImageUsageFlags::SAMPLED
                    | vk::ImageUsageFlags::TRANSFER_DST
                    | vk::ImageUsageFlags::TRANSFER_SRC,
            )
            .initial_layout(vk::ImageLayout::UNDEFINED);
        // SAFETY: `d` is live; the create info outlives the call.
        let image = unsafe { d.create_image(&info, None) }.ctx("vkCreateImage")?;
        let mut t = Texture {
            ctx,
            image,
            memory: vk::DeviceMemory::null(),
            view: vk::ImageView::null(),
        };
        t.memory = super::resources::bind_image_memory(ctx, image)?;
        let staging = HostBuffer::with_bytes(ctx, vk::BufferUsageFlags::TRANSFER_SRC, level0)?;
        let level_range = |base: u32, count: u32| vk::ImageSubresourceRange {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            base_mip_level: base,
            level_count: count,
            base_array_layer: 0,
            layer_count: 1,
        };
        let layers = |level: u32| vk::ImageSubresourceLayers {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            mip_level: level,
            base_array_layer: 0,
            layer_count: 1,
        };
        let barrier = |range, old, new, src, dst| {
            vk::ImageMemoryBarrier::default()
                .old_layout(old)
                .new_layout(new)
                .src_access_mask(src)
                .dst_access_mask(dst)
                .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .image(image)
                .subresource_range(range)
        };
        let transfer = vk::PipelineStageFlags::TRANSFER;
        ctx.submit_and_wait(|cb| {
            let pipeline_barrier = |src_stage, dst_stage, b: vk::ImageMemoryBarrier<'_>| {
                // SAFETY: `cb` is recording outside a render pass; the image is live.
                unsafe {
                    d.cmd_pipeline_barrier(
                        cb,
                        src_stage,
                        dst_stage,
                        vk::DependencyFlags::empty(),
                        &[],
                        &[],
                        &[b],
                    )
                }
            };
            pipeline_barrier(
                vk::PipelineStageFlags::TOP_OF_PIPE,
                transfer,
                barrier(
                    level_range(0, levels),
                    vk::ImageLayout::UNDEFINED,
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    vk::AccessFlags::empty(),
                    vk::AccessFlags::TRANSFER_WRITE,
                ),
            );
            let region = vk::BufferImageCopy::default()
                .image_subresource(layers(0))
                .image_extent(vk::Extent3D {
                    width: side,
                    height: side,
                    depth: 1,
                });
            // SAFETY: `cb` is recording; level 0 is in TRANSFER_DST_OPTIMAL and the staging
            // buffer holds its texels.
            unsafe {
                d.cmd_copy_buffer_to_image(
                    cb,
                    staging.buffer,
                    image,
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    &[region],
                )
            };
            for level in 1..levels {
                pipeline_barrier(
                    transfer,
                    transfer,
                    barrier(
                        level_range(level - 1, 1),
                        vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                        vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                        vk::AccessFlags::TRANSFER_WRITE,
                        vk::AccessFlags::TRANSFER_READ,
                    ),
                );
                let size = |l: u32| (side >> l).max(1) as i32;
                let blit = vk::ImageBlit {
                    src_subresource: layers(level - 1),
                    src_offsets: [
                        vk::Offset3D::default(),
                        vk::Offset3D {
                            x: size(level - 1),
                            y: size(level - 1),
                            z: 1,
                        },
                    ],
                    dst_subresource: layers(level),
                    dst_offsets: [
                        vk::Offset3D::default(),
                        vk::Offset3D {
                            x: size(level),
                            y: size(level),
                            z: 1,
                        },
                    ],
                };
                // SAFETY: `cb` is recording; level − 1 is in TRANSFER_SRC_OPTIMAL, level in
                // TRANSFER_DST_OPTIMAL; both regions are whole levels.
                unsafe {
                    d.cmd_blit_image(
                        cb,
                        image,
                        vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                        image,
                        vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                        &[blit],
                        vk::Filter::LINEAR,
                    )
                };
            }
            // Every level but the last is in TRANSFER_SRC_OPTIMAL, the last in TRANSFER_DST.
            if levels > 1 {
                pipeline_barrier(
                    transfer,
                    vk::PipelineStageFlags::FRAGMENT_SHADER,
                    barrier(
                        level_range(0, levels - 1),
                        vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                        vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL,
                        vk::AccessFlags::TRANSFER_READ,
                        vk::AccessFlags::SHADER_READ,
                    ),
                );
            }
            pipeline_barrier(
                transfer,
                vk::PipelineStageFlags::FRAGMENT_SHADER,
                barrier(
                    level_range(levels - 1, 1),
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL,
                    vk::AccessFlags::TRANSFER_WRITE,
                    vk::AccessFlags::SHADER_READ,
                ),
            );
            Ok(())
        })?;
        let view_info = vk::ImageViewCreateInfo::default()
            .image(image)
            .view_type(vk::ImageViewType::TYPE_2D)
            .format(format)
            .subresource_range(level_range(0, levels));
        // SAFETY: `image` is live and bound; the range lies inside it.
        t.view = unsafe { d.create_image_view(&view_info, None) }.ctx("vkCreateImageView")?;
        Ok(t)
    }
}

impl Drop for Texture<'_> {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: every submission is waited for; null handles are ignored by vkDestroy*.
        unsafe {
            d.destroy_image_view(self.view, None);
            d.destroy_image(self.image, None);
            d.free_memory(self.memory, None);
        }
    }
}

pub struct Sampler<'c> {
    ctx: &'c GraphicsContext,
    pub sampler: vk::Sampler,
}

impl<'c> Sampler<'c> {
    pub fn new(
        ctx: &'c GraphicsContext,
        info: &vk::SamplerCreateInfo<'_>,
    ) -> Result<Sampler<'c>, GpuError> {
        // SAFETY: `ctx.device` is live; `info` outlives the call.
        let sampler = unsafe { ctx.device.create_sampler(info, None) }.ctx("vkCreateSampler")?;
        Ok(Sampler { ctx, sampler })
    }
}

impl Drop for Sampler<'_> {
    fn drop(&mut self) {
        // SAFETY: every submission is waited for.
        unsafe { self.ctx.device.destroy_sampler(self.sampler, None) };
    }
}

/// `count` descriptor sets of one layout: binding 0 a combined image sampler visible to the
/// fragment stage. Set `i` is written with [`TextureSets::write`].
pub struct TextureSets<'c> {
    ctx: &'c GraphicsContext,
    pub layout: vk::DescriptorSetLayout,
    pool: vk::DescriptorPool,
    pub sets: Vec<vk::DescriptorSet>,
}

impl<'c> TextureSets<'c> {
    pub fn new(ctx: &'c GraphicsContext, count: u32) -> Result<TextureSets<'c>, GpuError> {
        let d = &ctx.device;
        let bindings = [vk::DescriptorSetLayoutBinding::default()
            .binding(0)
            .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
            .descriptor_count(1)
            .stage_flags(vk::ShaderStageFlags::FRAGMENT)];
        let info = vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings);
        // SAFETY: `d` is live; `info` outlives the call.
        let layout = unsafe { d.create_descriptor_set_layout(&info, None) }
            .ctx("vkCreateDescriptorSetLayout")?;
        let mut s = TextureSets {
            ctx,
            layout,
            pool: vk::DescriptorPool::null(),
            sets: Vec::new(),
        };
        let sizes = [vk::DescriptorPoolSize {
            ty: vk::DescriptorType::COMBINED_IMAGE_SAMPLER,
            descriptor_count: count,
        }];
        let pool_info = vk::DescriptorPoolCreateInfo::default()
            .max_sets(count)
            .pool_sizes(&sizes);
        // SAFETY: as above.
        s.pool =
            unsafe { d.create_descriptor_pool(&pool_info, None) }.ctx("vkCreateDescriptorPool")?;
        let layouts = vec![layout; count as usize];
        let alloc = vk::DescriptorSetAllocateInfo::default()
            .descriptor_pool(s.pool)
            .set_layouts(&layouts);
        // SAFETY: the pool has room for `count` sets of this layout.
        s.sets = unsafe { d.allocate_descriptor_sets(&alloc) }.ctx("vkAllocateDescriptorSets")?;
        Ok(s)
    }

    /// `count` sets, each pointing at `texture` sampled with `sampler`.
    pub fn all_of(
        ctx: &'c GraphicsContext,
        count: u32,
        texture: &Texture<'_>,
        sampler: &Sampler<'_>,
    ) -> Result<TextureSets<'c>, GpuError> {
        let sets = TextureSets::new(ctx, count)?;
        for i in 0..count as usize {
            sets.write(i, texture, sampler)?;
        }
        Ok(sets)
    }

    /// Points set `index` at `texture` sampled with `sampler`. Call while no submission uses
    /// the set.
    pub fn write(
        &self,
        index: usize,
        texture: &Texture<'_>,
        sampler: &Sampler<'_>,
    ) -> Result<(), GpuError> {
        let set = *self
            .sets
            .get(index)
            .ok_or_else(|| GpuError::Setup(format!("no texture set {index}")))?;
        let images = [vk::DescriptorImageInfo {
            sampler: sampler.sampler,
            image_view: texture.view,
            image_layout: vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL,
        }];
        let write = [vk::WriteDescriptorSet::default()
            .dst_set(set)
            .dst_binding(0)
            .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
            .image_info(&images)];
        // SAFETY: set, view and sampler are live; every submission is waited for.
        unsafe { self.ctx.device.update_descriptor_sets(&write, &[]) };
        Ok(())
    }
}

impl Drop for TextureSets<'_> {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: every submission is waited for; sets are freed with the pool.
        unsafe {
            d.destroy_descriptor_pool(self.pool, None);
            d.destroy_descriptor_set_layout(self.layout, None);
        }
    }
}
