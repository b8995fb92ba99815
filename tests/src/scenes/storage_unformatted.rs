//! Scene of issue 7: storage images declared without a format
//! (shaderStorageImageWriteWithoutFormat / shaderStorageImageReadWithoutFormat). A compute
//! shader stores to RGBA8_UNORM, RGBA16_SFLOAT and R32_UINT views through `image2D` /
//! `uimage2D` declarations with no format qualifier (`unformatted_write.comp`); a second one
//! loads them back the same way and stores a picture of them, unformatted again, to an RGBA8
//! image (`unformatted_read.comp`), which a fragment shader then copies texel for texel
//! (`fetch.frag`). The check holds every pixel to the values the shaders wrote, so a store or
//! load that ignored the bound view's format fails it.

use ash::vk;

use super::texture_ops::{compute_write_barrier, draw_full_target};
use super::textures::{sampler_info, textured_shaders};
use super::{image, rgba8};
use crate::graphics::{
    ComputePipeline, DescriptorSet, GraphicsContext, PassMode, ReadImage, RenderTarget, Resource,
    Sampler, StorageImage,
};
use crate::GpuError;

/// Side of the three source images; the picture is twice as wide and high.
const SOURCE: u32 = 32;
const SIZE: u32 = 2 * SOURCE;

/// Writes the three sources, reads them into the picture, and draws the picture.
pub fn unformatted(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let unorm = StorageImage::new(ctx, vk::Format::R8G8B8A8_UNORM, SOURCE, SOURCE)?;
    let half = StorageImage::new(ctx, vk::Format::R16G16B16A16_SFLOAT, SOURCE, SOURCE)?;
    let uint = StorageImage::new(ctx, vk::Format::R32_UINT, SOURCE, SOURCE)?;
    let picture = StorageImage::new(ctx, vk::Format::R8G8B8A8_UNORM, SIZE, SIZE)?;
    let sources = || {
        [
            Resource::StorageImage(unorm.view),
            Resource::StorageImage(half.view),
            Resource::StorageImage(uint.view),
        ]
    };
    let write_set = DescriptorSet::new(ctx, vk::ShaderStageFlags::COMPUTE, &sources())?;
    let mut read_bindings = sources().into_iter().collect::<Vec<_>>();
    read_bindings.push(Resource::StorageImage(picture.view));
    let read_set = DescriptorSet::new(ctx, vk::ShaderStageFlags::COMPUTE, &read_bindings)?;
    let write = ComputePipeline::new(
        ctx,
        &crate::graphics::shader("unformatted_write.comp", &[])?,
        write_set.layout,
    )?;
    let read = ComputePipeline::new(
        ctx,
        &crate::graphics::shader("unformatted_read.comp", &[])?,
        read_set.layout,
    )?;
    ctx.submit_and_wait(|cb| {
        write.record_dispatch(cb, write_set.set, [SOURCE / 8, SOURCE / 8, 1]);
        compute_write_barrier(ctx, cb, vk::PipelineStageFlags::COMPUTE_SHADER);
        read.record_dispatch(cb, read_set.set, [SIZE / 8, SIZE / 8, 1]);
        compute_write_barrier(ctx, cb, vk::PipelineStageFlags::FRAGMENT_SHADER);
        Ok(())
    })?;

    let target = RenderTarget::new(
        ctx,
        SIZE,
        SIZE,
        &[vk::Format::R8G8B8A8_UNORM],
        None,
        PassMode::RenderPass,
    )?;
    let sampler = Sampler::new(
        ctx,
        &sampler_info(
            vk::Filter::NEAREST,
            vk::SamplerMipmapMode::NEAREST,
            vk::SamplerAddressMode::CLAMP_TO_EDGE,
            0.0,
        ),
    )?;
    let set = DescriptorSet::new(
        ctx,
        vk::ShaderStageFlags::FRAGMENT,
        &[Resource::CombinedImageSampler(
            picture.view,
            sampler.sampler,
            vk::ImageLayout::GENERAL,
        )],
    )?;
    let shaders = textured_shaders("fetch.frag", &[])?;
    draw_full_target(ctx, &target, &set, &shaders)
}

/// The picture's pixel (x, y) in 0..=255 per channel, from the shaders' formulas.
fn expected(x: u32, y: u32) -> [f64; 4] {
    let (qx, qy) = (x % SOURCE, y % SOURCE);
    let (fx, fy) = (f64::from(qx) / 31.0, f64::from(qy) / 31.0);
    let unit = match (x / SOURCE, y / SOURCE) {
        (0, 0) => [fx, fy, 0.5, 1.0],
        (1, 0) => [
            fy * 0.75,
            1.0 - fx,
            f64::from(qx % 8) * 0.125,
            (2.0 + fx) * 0.25,
        ],
        (0, _) => [
            f64::from(qx * 8) / 255.0,
            f64::from(qy * 8) / 255.0,
            f64::from(0xa0u8) / 255.0,
            1.0,
        ],
        _ => [0.0, 0.0, 0.5, fx],
    };
    unit.map(|v| v * 255.0)
}

/// Every pixel within 1 of [`expected`] (RGBA16F keeps 11 significant bits, enough here).
pub fn check_unformatted(images: &[ReadImage]) -> Result<(), String> {
    let img = image(images, "color0")?;
    for y in 0..SIZE {
        for x in 0..SIZE {
            let want = expected(x, y);
            let got = rgba8(img, x, y);
            if got
                .iter()
                .zip(want)
                .any(|(&g, w)| (f64::from(g) - w).abs() > 1.0)
            {
                return Err(format!("pixel ({x}, {y}) is {got:?}, expected {want:.1?}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadrants_hold_distinct_sources() {
        assert_eq!(expected(31, 0), [255.0, 0.0, 127.5, 255.0]);
        assert_eq!(expected(32 + 31, 0)[1], 0.0);
        assert_eq!(expected(1, 32 + 2), [8.0, 16.0, 160.0, 255.0]);
        assert_eq!(expected(63, 63), [0.0, 0.0, 127.5, 255.0]);
    }
}
