//! vkCmdBlitImage between every pair of blit-compatible colour formats of the list
//! (issue 7): float-valued formats (UNORM, SNORM, sRGB, SFLOAT, UFLOAT) among themselves with
//! LINEAR filtering, UINT among UINT and SINT among SINT with NEAREST. Each source is a 4×4
//! image of a known pattern, scaled ×2 into its own 8×8 cell of one destination image per
//! destination format; the readback of each destination is one picture.
//!
//! The formats are those the reference (lavapipe, Mesa 25 here) can blit: all of the list but
//! R8_SRGB and R8G8_SRGB (which it does not support at all), with B10G11R11_UFLOAT as a source
//! only (it has BLIT_SRC but not BLIT_DST there). A driver that lacks a blit feature for one of
//! them fails the scene.

use ash::vk;

use crate::graphics::format::{FormatInfo, Numeric, COLOR_FORMATS};
use crate::graphics::{Aspect, GraphicsContext, HostBuffer, ReadImage, VkContext};
use crate::GpuError;

const SRC: u32 = 4;
const CELL: u32 = 8;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Group {
    Float,
    Uint,
    Sint,
}

fn group(info: &FormatInfo) -> Group {
    match info.numeric {
        Numeric::Uint => Group::Uint,
        Numeric::Sint => Group::Sint,
        _ => Group::Float,
    }
}

/// The value of channel `c` at source texel (x, y), before encoding into the source format.
fn pattern(g: Group, x: u32, y: u32, c: usize) -> f64 {
    let i = f64::from(x + SRC * y);
    match g {
        Group::Float => ((i * 13.0 + 30.0 * c as f64) % 256.0) / 255.0,
        Group::Uint => i * 7.0 + 3.0 * c as f64,
        Group::Sint => i * 7.0 + 3.0 * c as f64 - 40.0,
    }
}

/// Formats of the list without a reference to compare with (see the module doc).
const NOT_BLITTED: [vk::Format; 2] = [vk::Format::R8_SRGB, vk::Format::R8G8_SRGB];
/// Formats blitted from but not to.
const SOURCE_ONLY: [vk::Format; 1] = [vk::Format::B10G11R11_UFLOAT_PACK32];

/// The source formats of `g`, in the list's order.
fn members(g: Group) -> Vec<(vk::Format, FormatInfo)> {
    COLOR_FORMATS
        .iter()
        .filter(|f| !NOT_BLITTED.contains(f))
        .filter_map(|&f| FormatInfo::of(f).ok().map(|i| (f, i)))
        .filter(|(_, i)| group(i) == g)
        .collect()
}

/// The destination formats of `g`.
fn destinations(g: Group) -> Vec<(vk::Format, FormatInfo)> {
    members(g)
        .into_iter()
        .filter(|(f, _)| !SOURCE_ONLY.contains(f))
        .collect()
}

/// The texel bytes of `codes` in `info`'s layout.
fn pack(info: &FormatInfo, codes: [u64; 4]) -> Vec<u8> {
    let mut word = 0u128;
    for (field, code) in info.fields.iter().zip(codes) {
        if field.bits > 0 {
            word |= u128::from(code) << field.offset;
        }
    }
    word.to_le_bytes()[..info.texel_bytes as usize].to_vec()
}

/// The decoded source value at texel (x, y) (what the source format stores of the pattern).
fn source_value(info: &FormatInfo, x: u32, y: u32) -> [f64; 4] {
    let g = group(info);
    let codes = info.encode(std::array::from_fn(|c| pattern(g, x, y, c)));
    std::array::from_fn(|c| info.decode_channel(c, codes[c]))
}

struct Image<'c> {
    ctx: &'c GraphicsContext,
    image: vk::Image,
    memory: vk::DeviceMemory,
}

impl<'c> Image<'c> {
    fn new(
        ctx: &'c GraphicsContext,
        format: vk::Format,
        width: u32,
        height: u32,
    ) -> Result<Image<'c>, GpuError> {
        let needed = if SOURCE_ONLY.contains(&format) {
            vk::FormatFeatureFlags::BLIT_SRC
        } else {
            vk::FormatFeatureFlags::BLIT_SRC | vk::FormatFeatureFlags::BLIT_DST
        };
        if !ctx.format_features(format).contains(needed) {
            return Err(GpuError::Setup(format!(
                "{format:?} is not reported as a blit source (and destination) by {}",
                ctx.name()
            )));
        }
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
            .usage(vk::ImageUsageFlags::TRANSFER_SRC | vk::ImageUsageFlags::TRANSFER_DST)
            .initial_layout(vk::ImageLayout::UNDEFINED);
        // SAFETY: `d` is live; the create info outlives the call.
        let image = unsafe { d.create_image(&info, None) }.ctx("vkCreateImage")?;
        let mut out = Image {
            ctx,
            image,
            memory: vk::DeviceMemory::null(),
        };
        out.memory = crate::graphics::resources::bind_image_memory(ctx, image)?;
        Ok(out)
    }
}

impl Drop for Image<'_> {
    fn drop(&mut self) {
        // SAFETY: every submission is waited for; null handles are ignored.
        unsafe {
            self.ctx.device.destroy_image(self.image, None);
            self.ctx.device.free_memory(self.memory, None);
        }
    }
}

fn layers() -> vk::ImageSubresourceLayers {
    vk::ImageSubresourceLayers {
        aspect_mask: vk::ImageAspectFlags::COLOR,
        mip_level: 0,
        base_array_layer: 0,
        layer_count: 1,
    }
}

fn transition(
    ctx: &GraphicsContext,
    cb: vk::CommandBuffer,
    images: &[vk::Image],
    old: vk::ImageLayout,
    new: vk::ImageLayout,
) {
    let barriers: Vec<_> = images
        .iter()
        .map(|&image| {
            vk::ImageMemoryBarrier::default()
                .old_layout(old)
                .new_layout(new)
                .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
                .dst_access_mask(vk::AccessFlags::TRANSFER_READ | vk::AccessFlags::TRANSFER_WRITE)
                .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .image(image)
                .subresource_range(vk::ImageSubresourceRange {
                    aspect_mask: vk::ImageAspectFlags::COLOR,
                    base_mip_level: 0,
                    level_count: 1,
                    base_array_layer: 0,
                    layer_count: 1,
                })
        })
        .collect();
    // SAFETY: `cb` is recording outside a render pass; the images are live.
    unsafe {
        ctx.device.cmd_pipeline_barrier(
            cb,
            vk::PipelineStageFlags::TRANSFER | vk::PipelineStageFlags::TOP_OF_PIPE,
            vk::PipelineStageFlags::TRANSFER,
            vk::DependencyFlags::empty(),
            &[],
            &[],
            &barriers,
        )
    };
}

/// Every group's blits; one readback per destination format, named `blit-to-<format>`.
pub fn blit_formats(ctx: &GraphicsContext) -> Result<Vec<ReadImage>, GpuError> {
    let mut out = Vec::new();
    for g in [Group::Float, Group::Uint, Group::Sint] {
        out.extend(blit_group(ctx, g)?);
    }
    Ok(out)
}

fn blit_group(ctx: &GraphicsContext, g: Group) -> Result<Vec<ReadImage>, GpuError> {
    let formats = members(g);
    let targets = destinations(g);
    let n = formats.len() as u32;
    let sources = formats
        .iter()
        .map(|(f, _)| Image::new(ctx, *f, SRC, SRC))
        .collect::<Result<Vec<_>, _>>()?;
    let dests = targets
        .iter()
        .map(|(f, _)| Image::new(ctx, *f, CELL * n, CELL))
        .collect::<Result<Vec<_>, _>>()?;
    // Source texels, one buffer region per source.
    let mut upload = Vec::new();
    let mut offsets = Vec::new();
    for (_, info) in &formats {
        offsets.push(upload.len() as u64);
        for y in 0..SRC {
            for x in 0..SRC {
                let codes = info.encode(std::array::from_fn(|c| pattern(g, x, y, c)));
                upload.extend(pack(info, codes));
            }
        }
        while upload.len() % 16 != 0 {
            upload.push(0);
        }
    }
    let staging = HostBuffer::with_bytes(ctx, vk::BufferUsageFlags::TRANSFER_SRC, &upload)?;
    let readbacks = targets
        .iter()
        .map(|(_, info)| {
            HostBuffer::new(
                ctx,
                u64::from(CELL * n * CELL * info.texel_bytes),
                vk::BufferUsageFlags::TRANSFER_DST,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let filter = if g == Group::Float {
        vk::Filter::LINEAR
    } else {
        vk::Filter::NEAREST
    };
    let d = &ctx.device;
    ctx.submit_and_wait(|cb| {
        let src_images: Vec<_> = sources.iter().map(|i| i.image).collect();
        let dst_images: Vec<_> = dests.iter().map(|i| i.image).collect();
        let all: Vec<_> = src_images.iter().chain(&dst_images).copied().collect();
        transition(
            ctx,
            cb,
            &all,
            vk::ImageLayout::UNDEFINED,
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
        );
        for (src, &offset) in sources.iter().zip(&offsets) {
            let region = vk::BufferImageCopy::default()
                .buffer_offset(offset)
                .image_subresource(layers())
                .image_extent(vk::Extent3D {
                    width: SRC,
                    height: SRC,
                    depth: 1,
                });
            // SAFETY: `cb` is recording; the region lies inside the staging buffer and the
            // image, which is in TRANSFER_DST_OPTIMAL.
            unsafe {
                d.cmd_copy_buffer_to_image(
                    cb,
                    staging.buffer,
                    src.image,
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    &[region],
                )
            };
        }
        transition(
            ctx,
            cb,
            &src_images,
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
            vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
        );
        for dst in &dests {
            for (i, src) in sources.iter().enumerate() {
                let x0 = (CELL * i as u32) as i32;
                let region = vk::ImageBlit {
                    src_subresource: layers(),
                    src_offsets: [
                        vk::Offset3D::default(),
                        vk::Offset3D {
                            x: SRC as i32,
                            y: SRC as i32,
                            z: 1,
                        },
                    ],
                    dst_subresource: layers(),
                    dst_offsets: [
                        vk::Offset3D { x: x0, y: 0, z: 0 },
                        vk::Offset3D {
                            x: x0 + CELL as i32,
                            y: CELL as i32,
                            z: 1,
                        },
                    ],
                };
                // SAFETY: `cb` is recording; both images are live and in the named layouts;
                // the regions lie inside them and the formats are blit-compatible.
                unsafe {
                    d.cmd_blit_image(
                        cb,
                        src.image,
                        vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                        dst.image,
                        vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                        &[region],
                        filter,
                    )
                };
            }
        }
        transition(
            ctx,
            cb,
            &dst_images,
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
            vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
        );
        for (dst, buf) in dests.iter().zip(&readbacks) {
            let region = vk::BufferImageCopy::default()
                .image_subresource(layers())
                .image_extent(vk::Extent3D {
                    width: CELL * n,
                    height: CELL,
                    depth: 1,
                });
            // SAFETY: `cb` is recording; the buffer holds the whole image.
            unsafe {
                d.cmd_copy_image_to_buffer(
                    cb,
                    dst.image,
                    vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                    buf.buffer,
                    &[region],
                )
            };
        }
        let host = [vk::MemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
            .dst_access_mask(vk::AccessFlags::HOST_READ)];
        // SAFETY: `cb` is recording outside a render pass.
        unsafe {
            d.cmd_pipeline_barrier(
                cb,
                vk::PipelineStageFlags::TRANSFER,
                vk::PipelineStageFlags::HOST,
                vk::DependencyFlags::empty(),
                &host,
                &[],
                &[],
            )
        };
        Ok(())
    })?;
    Ok(targets
        .iter()
        .zip(&readbacks)
        .map(|((f, info), buf)| ReadImage {
            name: format!("blit-to-{f:?}"),
            info: *info,
            aspect: Aspect::Color,
            width: CELL * n,
            height: CELL,
            bytes: buf.read((CELL * n * CELL * info.texel_bytes) as usize),
        })
        .collect())
}

/// How far a decoded value of channel `c` of `info` may be from the exact one: about one step
/// of its encoding near 1 (0 for a channel the format lacks: it reads as a constant).
fn quantum(info: &FormatInfo, c: usize) -> f64 {
    let bits = info.fields[c].bits;
    if bits == 0 {
        return 0.0;
    }
    match info.numeric {
        Numeric::Unorm => 1.0 / ((1u64 << bits) - 1) as f64,
        Numeric::Snorm => 1.0 / ((1u64 << (bits - 1)) - 1) as f64,
        Numeric::Srgb => 0.02,
        Numeric::Sfloat if bits == 16 => 2e-3,
        Numeric::Sfloat => 1e-6,
        Numeric::Ufloat => 0.04,
        Numeric::Uint | Numeric::Sint => 0.0,
    }
}

/// The value `v` of a channel after storing it in `info` (clamped to the format's range).
fn representable(info: &FormatInfo, c: usize, v: f64) -> f64 {
    let bits = info.fields[c].bits;
    match info.numeric {
        Numeric::Unorm | Numeric::Srgb => v.clamp(0.0, 1.0),
        Numeric::Snorm => v.clamp(-1.0, 1.0),
        Numeric::Ufloat => v.max(0.0),
        Numeric::Uint => v.clamp(0.0, ((1u64 << bits.min(63)) - 1) as f64),
        Numeric::Sint => {
            let half = (1u64 << (bits.min(63) - 1)) as f64;
            v.clamp(-half, half - 1.0)
        }
        Numeric::Sfloat => v,
    }
}

/// Every destination texel against the blit formula: destination pixel (x, y) of cell i
/// samples source i at ((x − 8i + 0.5) / 2, (y + 0.5) / 2), bilinearly with clamp-to-edge
/// (float group) or the nearest texel (integer groups).
pub fn check_blit_formats(images: &[ReadImage]) -> Result<(), String> {
    for g in [Group::Float, Group::Uint, Group::Sint] {
        let formats = members(g);
        for (dst_format, dst) in &destinations(g) {
            let name = format!("blit-to-{dst_format:?}");
            let img = images
                .iter()
                .find(|i| i.name == name)
                .ok_or_else(|| format!("no {name} readback"))?;
            for (i, (src_format, src)) in formats.iter().enumerate() {
                for y in 0..CELL {
                    for x in 0..CELL {
                        let (u, v) = ((f64::from(x) + 0.5) / 2.0, (f64::from(y) + 0.5) / 2.0);
                        let want: [f64; 4] = if g == Group::Float {
                            let taps = |t: f64| {
                                let t = t - 0.5;
                                let i0 = t.floor();
                                let w = t - i0;
                                let clamp = |k: f64| k.clamp(0.0, f64::from(SRC - 1)) as u32;
                                ([clamp(i0), clamp(i0 + 1.0)], w)
                            };
                            let ([x0, x1], a) = taps(u);
                            let ([y0, y1], b) = taps(v);
                            let s = |x, y| source_value(src, x, y);
                            std::array::from_fn(|c| {
                                (1.0 - a) * (1.0 - b) * s(x0, y0)[c]
                                    + a * (1.0 - b) * s(x1, y0)[c]
                                    + (1.0 - a) * b * s(x0, y1)[c]
                                    + a * b * s(x1, y1)[c]
                            })
                        } else {
                            source_value(src, u as u32, v as u32)
                        };
                        let codes = img.codes(CELL * i as u32 + x, y);
                        for c in 0..4 {
                            if dst.fields[c].bits == 0 {
                                continue;
                            }
                            let tolerance = 1.5 * (quantum(src, c) + quantum(dst, c)) + 1e-6;
                            let got = dst.decode_channel(c, codes[c]);
                            let want_c = representable(dst, c, want[c]);
                            if (got - want_c).abs() > tolerance {
                                return Err(format!(
                                    "{src_format:?} → {dst_format:?}: texel ({x}, {y}) channel \
                                     {c} is {got}, expected {want_c} ± {tolerance}"
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
