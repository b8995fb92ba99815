//! A sampled RGBA8 texture for the textured workloads: a 2D `R8G8B8A8_UNORM` image with a mip
//! chain computed on the CPU, uploaded through a staging buffer with one
//! `vkCmdCopyBufferToImage` per level (no blits: the workloads measure sampling only), its view,
//! a sampler, and a descriptor set holding both as a combined image sampler at binding 0 of
//! set 0 (fragment stage). Vulkan 1.0 core only.

use ash::vk;

use crate::buffer::HostBuffer;
use crate::gpu::{failed, Gpu, GpuError};
use crate::submit::Submission;

const FORMAT: vk::Format = vk::Format::R8G8B8A8_UNORM;

/// The texels of one mip level, row-major RGBA8.
#[derive(Clone, Debug, PartialEq)]
pub struct MipLevel {
    pub width: u32,
    pub height: u32,
    pub texels: Vec<[u8; 4]>,
}

impl MipLevel {
    /// Level 0 of the workloads' texture: red rises linearly with x, green with y (0 at the
    /// first texel's centre, 255 at the last's), blue and alpha fixed. Bilinear filtering of a
    /// linear ramp is the ramp itself, so every filter gives a pixel the CPU can predict.
    pub fn ramp(width: u32, height: u32) -> MipLevel {
        let ramp = |i: u32, n: u32| {
            if n <= 1 {
                0
            } else {
                (f64::from(i) * 255.0 / f64::from(n - 1)).round() as u8
            }
        };
        let texels = (0..height)
            .flat_map(|y| (0..width).map(move |x| [ramp(x, width), ramp(y, height), 96, 255]))
            .collect();
        MipLevel {
            width,
            height,
            texels,
        }
    }

    /// The next level: each texel the rounded mean of the (up to) 2×2 texels it covers.
    pub fn halve(&self) -> MipLevel {
        let (w, h) = ((self.width / 2).max(1), (self.height / 2).max(1));
        let at = |x: u32, y: u32| {
            self.texels[(y.min(self.height - 1) * self.width + x.min(self.width - 1)) as usize]
        };
        let mut texels = Vec::with_capacity((w * h) as usize);
        for y in 0..h {
            for x in 0..w {
                let quad = [
                    at(2 * x, 2 * y),
                    at(2 * x + 1, 2 * y),
                    at(2 * x, 2 * y + 1),
                    at(2 * x + 1, 2 * y + 1),
                ];
                let mut texel = [0u8; 4];
                for (c, out) in texel.iter_mut().enumerate() {
                    let sum: u32 = quad.iter().map(|t| u32::from(t[c])).sum();
                    *out = ((sum + 2) / 4) as u8;
                }
                texels.push(texel);
            }
        }
        MipLevel {
            width: w,
            height: h,
            texels,
        }
    }
}

/// `levels` levels from `base` down (each [`MipLevel::halve`] of the one before).
pub fn mip_chain(base: MipLevel, levels: u32) -> Vec<MipLevel> {
    let mut out = vec![base];
    while (out.len() as u32) < levels {
        let next = out[out.len() - 1].halve();
        out.push(next);
    }
    out
}

/// How the texture is filtered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filtering {
    /// Linear min/mag filter, level 0 only.
    Bilinear,
    /// Linear min/mag filter and linear blending between levels.
    Trilinear,
}

pub struct Texture<'g> {
    gpu: &'g Gpu,
    image: vk::Image,
    memory: vk::DeviceMemory,
    view: vk::ImageView,
    sampler: vk::Sampler,
    pub set_layout: vk::DescriptorSetLayout,
    pool: vk::DescriptorPool,
    pub set: vk::DescriptorSet,
}

impl<'g> Texture<'g> {
    /// Creates the image for `levels` (level 0 first, each half the one before), uploads
    /// them and waits, then creates the view, a clamp-to-edge sampler for `filtering` and the
    /// descriptor set.
    pub fn new(gpu: &'g Gpu, levels: &[MipLevel], filtering: Filtering) -> Result<Self, GpuError> {
        let base = levels
            .first()
            .ok_or_else(|| GpuError::Misuse("a texture without levels".into()))?;
        gpu.require(
            "maxImageDimension2D",
            gpu.properties.limits.max_image_dimension2_d.into(),
            base.width.max(base.height).into(),
        )?;
        let level_count = levels.len() as u32;
        let info = vk::ImageCreateInfo::default()
            .image_type(vk::ImageType::TYPE_2D)
            .format(FORMAT)
            .extent(vk::Extent3D {
                width: base.width,
                height: base.height,
                depth: 1,
            })
            .mip_levels(level_count)
            .array_layers(1)
            .samples(vk::SampleCountFlags::TYPE_1)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::TRANSFER_DST)
            .sharing_mode(vk::SharingMode::EXCLUSIVE)
            .initial_layout(vk::ImageLayout::UNDEFINED);
        // SAFETY: `info` is valid for the call (size checked above).
        let image =
            unsafe { gpu.device.create_image(&info, None) }.map_err(failed("vkCreateImage"))?;
        let mut this = Texture {
            gpu,
            image,
            memory: vk::DeviceMemory::null(),
            view: vk::ImageView::null(),
            sampler: vk::Sampler::null(),
            set_layout: vk::DescriptorSetLayout::null(),
            pool: vk::DescriptorPool::null(),
            set: vk::DescriptorSet::null(),
        };
        // From here on, `this` destroys what exists if a step fails.
        // SAFETY: `image` is a live image of this device.
        let req = unsafe { gpu.device.get_image_memory_requirements(image) };
        let alloc = vk::MemoryAllocateInfo::default()
            .allocation_size(req.size)
            .memory_type_index(gpu.device_memory_type(req.memory_type_bits)?);
        // SAFETY: `alloc` names a memory type of this device.
        this.memory = unsafe { gpu.device.allocate_memory(&alloc, None) }
            .map_err(failed("vkAllocateMemory"))?;
        // SAFETY: the allocation has `req.size` bytes of an allowed type; offset 0 is aligned.
        unsafe { gpu.device.bind_image_memory(image, this.memory, 0) }
            .map_err(failed("vkBindImageMemory"))?;
        this.upload(levels)?;

        let range = vk::ImageSubresourceRange {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            base_mip_level: 0,
            level_count,
            base_array_layer: 0,
            layer_count: 1,
        };
        let info = vk::ImageViewCreateInfo::default()
            .image(image)
            .view_type(vk::ImageViewType::TYPE_2D)
            .format(FORMAT)
            .subresource_range(range);
        // SAFETY: `image` is live and bound; the view matches its format and levels.
        this.view = unsafe { gpu.device.create_image_view(&info, None) }
            .map_err(failed("vkCreateImageView"))?;
        let (mipmap_mode, max_lod) = match filtering {
            Filtering::Bilinear => (vk::SamplerMipmapMode::NEAREST, 0.0),
            Filtering::Trilinear => (vk::SamplerMipmapMode::LINEAR, level_count as f32),
        };
        let info = vk::SamplerCreateInfo::default()
            .mag_filter(vk::Filter::LINEAR)
            .min_filter(vk::Filter::LINEAR)
            .mipmap_mode(mipmap_mode)
            .address_mode_u(vk::SamplerAddressMode::CLAMP_TO_EDGE)
            .address_mode_v(vk::SamplerAddressMode::CLAMP_TO_EDGE)
            .address_mode_w(vk::SamplerAddressMode::CLAMP_TO_EDGE)
            .min_lod(0.0)
            .max_lod(max_lod);
        // SAFETY: `info` is valid for the call (no anisotropy, no compare).
        this.sampler =
            unsafe { gpu.device.create_sampler(&info, None) }.map_err(failed("vkCreateSampler"))?;

        let bindings = [vk::DescriptorSetLayoutBinding::default()
            .binding(0)
            .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
            .descriptor_count(1)
            .stage_flags(vk::ShaderStageFlags::FRAGMENT)];
        let info = vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings);
        // SAFETY: `info` is valid for the call.
        this.set_layout = unsafe { gpu.device.create_descriptor_set_layout(&info, None) }
            .map_err(failed("vkCreateDescriptorSetLayout"))?;
        let sizes = [vk::DescriptorPoolSize {
            ty: vk::DescriptorType::COMBINED_IMAGE_SAMPLER,
            descriptor_count: 1,
        }];
        let info = vk::DescriptorPoolCreateInfo::default()
            .max_sets(1)
            .pool_sizes(&sizes);
        // SAFETY: `info` is valid for the call.
        this.pool = unsafe { gpu.device.create_descriptor_pool(&info, None) }
            .map_err(failed("vkCreateDescriptorPool"))?;
        let layouts = [this.set_layout];
        let info = vk::DescriptorSetAllocateInfo::default()
            .descriptor_pool(this.pool)
            .set_layouts(&layouts);
        // SAFETY: the pool has room for one set of this layout.
        let sets = unsafe { gpu.device.allocate_descriptor_sets(&info) }
            .map_err(failed("vkAllocateDescriptorSets"))?;
        this.set = sets
            .first()
            .copied()
            .ok_or_else(|| GpuError::Misuse("vkAllocateDescriptorSets gave no set".into()))?;
        let images = [vk::DescriptorImageInfo {
            sampler: this.sampler,
            image_view: this.view,
            image_layout: vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL,
        }];
        let write = vk::WriteDescriptorSet::default()
            .dst_set(this.set)
            .dst_binding(0)
            .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
            .image_info(&images);
        // SAFETY: set, view and sampler are live; no submitted work uses the set yet.
        unsafe { gpu.device.update_descriptor_sets(&[write], &[]) };
        Ok(this)
    }

    /// Copies every level through one staging buffer and leaves the image in
    /// SHADER_READ_ONLY_OPTIMAL; waits for the copy.
    fn upload(&self, levels: &[MipLevel]) -> Result<(), GpuError> {
        let bytes: Vec<u8> = levels
            .iter()
            .flat_map(|l| l.texels.iter().flatten().copied())
            .collect();
        let staging = HostBuffer::with_usage(
            self.gpu,
            bytes.len() as u64,
            vk::BufferUsageFlags::TRANSFER_SRC,
        )?;
        staging.write_bytes(&bytes)?;
        let mut regions = Vec::with_capacity(levels.len());
        let mut offset = 0u64;
        for (i, level) in levels.iter().enumerate() {
            regions.push(
                vk::BufferImageCopy::default()
                    .buffer_offset(offset)
                    .image_subresource(vk::ImageSubresourceLayers {
                        aspect_mask: vk::ImageAspectFlags::COLOR,
                        mip_level: i as u32,
                        base_array_layer: 0,
                        layer_count: 1,
                    })
                    .image_extent(vk::Extent3D {
                        width: level.width,
                        height: level.height,
                        depth: 1,
                    }),
            );
            offset += 4 * level.texels.len() as u64;
        }
        let range = vk::ImageSubresourceRange {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            base_mip_level: 0,
            level_count: levels.len() as u32,
            base_array_layer: 0,
            layer_count: 1,
        };
        let sub = Submission::new(self.gpu, false)?;
        sub.record(|dev, cmd| {
            let to_transfer = vk::ImageMemoryBarrier::default()
                .src_access_mask(vk::AccessFlags::empty())
                .dst_access_mask(vk::AccessFlags::TRANSFER_WRITE)
                .old_layout(vk::ImageLayout::UNDEFINED)
                .new_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
                .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .image(self.image)
                .subresource_range(range);
            // SAFETY: `cmd` is recording; the image is live and not in use.
            unsafe {
                dev.cmd_pipeline_barrier(
                    cmd,
                    vk::PipelineStageFlags::TOP_OF_PIPE,
                    vk::PipelineStageFlags::TRANSFER,
                    vk::DependencyFlags::empty(),
                    &[],
                    &[],
                    &[to_transfer],
                )
            };
            // SAFETY: every region lies inside `staging` (offsets summed from the levels'
            // sizes) and inside its level of the image, which is in TRANSFER_DST_OPTIMAL.
            unsafe {
                dev.cmd_copy_buffer_to_image(
                    cmd,
                    staging.buffer,
                    self.image,
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    &regions,
                )
            };
            let to_shader = vk::ImageMemoryBarrier::default()
                .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
                .dst_access_mask(vk::AccessFlags::SHADER_READ)
                .old_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
                .new_layout(vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL)
                .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .image(self.image)
                .subresource_range(range);
            // SAFETY: as above.
            unsafe {
                dev.cmd_pipeline_barrier(
                    cmd,
                    vk::PipelineStageFlags::TRANSFER,
                    vk::PipelineStageFlags::FRAGMENT_SHADER,
                    vk::DependencyFlags::empty(),
                    &[],
                    &[],
                    &[to_shader],
                )
            };
            Ok(())
        })?;
        sub.run()?;
        Ok(())
    }
}

impl Drop for Texture<'_> {
    fn drop(&mut self) {
        let dev = &self.gpu.device;
        // SAFETY: the workloads wait for all work using the texture before dropping it; null
        // handles (a failed step) are ignored; the set is freed with its pool.
        unsafe {
            dev.destroy_descriptor_pool(self.pool, None);
            dev.destroy_descriptor_set_layout(self.set_layout, None);
            dev.destroy_sampler(self.sampler, None);
            dev.destroy_image_view(self.view, None);
            dev.destroy_image(self.image, None);
            dev.free_memory(self.memory, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ramp_runs_from_0_to_255_along_each_axis() {
        let l = MipLevel::ramp(4, 3);
        assert_eq!(l.texels[0], [0, 0, 96, 255]);
        assert_eq!(l.texels[3], [255, 0, 96, 255]);
        assert_eq!(l.texels[2 * 4], [0, 255, 96, 255]);
        assert_eq!(l.texels[4 + 1], [85, 128, 96, 255]);
    }

    #[test]
    fn halving_averages_each_two_by_two_footprint_and_stops_at_one() {
        let l = MipLevel {
            width: 2,
            height: 2,
            texels: vec![[0, 0, 0, 0], [10, 0, 0, 0], [20, 0, 0, 0], [31, 0, 0, 255]],
        };
        let h = l.halve();
        assert_eq!((h.width, h.height), (1, 1));
        assert_eq!(h.texels, vec![[15, 0, 0, 64]]);
        let chain = mip_chain(MipLevel::ramp(8, 2), 4);
        let sizes: Vec<_> = chain.iter().map(|l| (l.width, l.height)).collect();
        assert_eq!(sizes, vec![(8, 2), (4, 1), (2, 1), (1, 1)]);
    }
}
