//! vkCmdBlitImage (Vulkan "Image Blits"): scaled, filtered, format-converting copies between
//! regions of two images.
//!
//! Each destination texel centre is mapped into the source region by the ratio of the two
//! regions' sizes (a region whose second offset is below its first is mirrored), and the
//! source is sampled there with unnormalized coordinates and CLAMP_TO_EDGE addressing over the
//! whole source mip level, with NEAREST or LINEAR filtering (bilinear, trilinear across the
//! slices of a 3D image). Colour values go through the formats' conversions (sRGB is decoded
//! before filtering and encoded after); integer formats blit to integer formats of the same
//! signedness and only with NEAREST; depth and stencil blit between images of the same
//! format, NEAREST only, one aspect leaving the other untouched. Every region is validated
//! before any texel is written, so a refused command writes nothing.

use super::clear::is_3d;
use super::{Image, ImageDesc, ImageError, SubresourceLayers};
use crate::format::texel::{
    pack_color, pack_depth, pack_stencil, unpack_color, unpack_depth, unpack_stencil, ColorValue,
};
use crate::format::{aspect, Format, ValueKind};

/// `VkImageBlit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageBlit {
    pub src_subresource: SubresourceLayers,
    /// Two corners of the source region (x, y, z); the region is `[min, max)` per axis.
    pub src_offsets: [[i32; 3]; 2],
    pub dst_subresource: SubresourceLayers,
    pub dst_offsets: [[i32; 3]; 2],
}

/// `VkFilter` of a blit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlitFilter {
    Nearest,
    Linear,
}

/// One validated region: per axis the destination span and the source coordinate of the
/// destination's first texel centre plus the step per destination texel.
#[derive(Clone, Copy, Debug)]
struct Region {
    src_level: u32,
    dst_level: u32,
    /// (source, destination) base array layers and the layer count (1 for 3D images).
    src_layer: u32,
    dst_layer: u32,
    layers: u32,
    dst_start: [u32; 3],
    dst_len: [u32; 3],
    /// Source coordinate (unnormalized texels) at the centre of destination texel
    /// `dst_start + i`: `src_origin + (i + 0.5) * scale`.
    src_origin: [f64; 3],
    scale: [f64; 3],
    aspect_mask: u32,
}

/// Copies `regions` of `src` into `dst` with `filter`.
pub fn blit_image(
    src: &Image,
    dst: &Image,
    regions: &[ImageBlit],
    filter: BlitFilter,
) -> Result<(), ImageError> {
    let (sf, df) = (src.format(), dst.format());
    check_formats(sf, df, filter)?;
    let checked = regions
        .iter()
        .map(|r| check_region(src.desc(), dst.desc(), r))
        .collect::<Result<Vec<_>, _>>()?;
    for region in &checked {
        blit_region(src, dst, region, filter)?;
    }
    Ok(())
}

/// VUID-vkCmdBlitImage-srcImage-00229/00230 (integer to integer of the same signedness),
/// -00231 (depth/stencil formats equal), -filter-02001 (LINEAR needs a filterable source),
/// -srcImage-00232 (depth/stencil with NEAREST only).
fn check_formats(src: Format, dst: Format, filter: BlitFilter) -> Result<(), ImageError> {
    let incompatible = ImageError::IncompatibleFormats { src, dst };
    if !src.is_color() || !dst.is_color() {
        if src != dst {
            return Err(incompatible);
        }
        if filter == BlitFilter::Linear {
            return Err(ImageError::InvalidRegion(
                "depth/stencil images blit with NEAREST only",
            ));
        }
        return Ok(());
    }
    let (sk, dk) = (src.info().class.value_kind(), dst.info().class.value_kind());
    let integer = |k: ValueKind| k != ValueKind::Float;
    if integer(sk) != integer(dk) || (integer(sk) && sk != dk) {
        return Err(incompatible);
    }
    if filter == BlitFilter::Linear && integer(sk) {
        return Err(ImageError::InvalidRegion(
            "LINEAR blits need a source format with linear filtering",
        ));
    }
    Ok(())
}

/// (min, len) of one axis of a region whose corners are `a` and `b`, checked against `0..=max`.
fn span(a: i32, b: i32, max: u32) -> Result<(u32, u32), ImageError> {
    let bad = ImageError::InvalidRegion("blit offsets outside the mip level");
    let (lo, hi) = (a.min(b), a.max(b));
    if lo < 0 || hi as u32 > max {
        return Err(bad);
    }
    Ok((lo as u32, (hi - lo) as u32))
}

/// VUID-VkImageBlit-srcOffset-00243..00248 (offsets inside the levels, 1D/2D depth span 0..1),
/// -aspectMask-00238 (same aspects), -layerCount-08800 (same layer counts),
/// VUID-vkCmdBlitImage-srcSubresource-01705/01707 (levels and layers exist).
fn check_region(src: &ImageDesc, dst: &ImageDesc, r: &ImageBlit) -> Result<Region, ImageError> {
    let bad = ImageError::InvalidRegion;
    let (ss, ds) = (&r.src_subresource, &r.dst_subresource);
    for (desc, sub) in [(src, ss), (dst, ds)] {
        if sub.mip_level >= desc.mip_levels {
            return Err(bad("mip level beyond the image's levels"));
        }
        match sub.base_array_layer.checked_add(sub.layer_count) {
            Some(end) if sub.layer_count > 0 && end <= desc.array_layers => {}
            _ => return Err(bad("array layers beyond the image's layers, or none")),
        }
        if sub.aspect_mask == 0 || sub.aspect_mask & !desc.format.aspects() != 0 {
            return Err(ImageError::InvalidAspect {
                format: desc.format,
                mask: sub.aspect_mask,
            });
        }
    }
    if ss.aspect_mask != ds.aspect_mask {
        return Err(bad("source and destination aspects differ"));
    }
    if ss.layer_count != ds.layer_count {
        return Err(bad("source and destination layer counts differ"));
    }
    let src_extent = src.mip_extent(ss.mip_level);
    let dst_extent = dst.mip_extent(ds.mip_level);
    let mut region = Region {
        src_level: ss.mip_level,
        dst_level: ds.mip_level,
        src_layer: ss.base_array_layer,
        dst_layer: ds.base_array_layer,
        layers: ss.layer_count,
        dst_start: [0; 3],
        dst_len: [0; 3],
        src_origin: [0.0; 3],
        scale: [0.0; 3],
        aspect_mask: ss.aspect_mask,
    };
    for axis in 0..3 {
        let [s0, s1] = [r.src_offsets[0][axis], r.src_offsets[1][axis]];
        let [d0, d1] = [r.dst_offsets[0][axis], r.dst_offsets[1][axis]];
        span(s0, s1, src_extent[axis])?;
        let (d_lo, d_len) = span(d0, d1, dst_extent[axis])?;
        // Axes a 1D or 2D image does not have must span exactly [0, 1).
        let (src_axes, dst_axes) = (axes(src), axes(dst));
        if axis >= src_axes && (s0.min(s1), s0.max(s1)) != (0, 1) {
            return Err(bad("a 1D/2D blit's unused axes must span [0, 1)"));
        }
        if axis >= dst_axes && (d0.min(d1), d0.max(d1)) != (0, 1) {
            return Err(bad("a 1D/2D blit's unused axes must span [0, 1)"));
        }
        region.dst_start[axis] = d_lo;
        region.dst_len[axis] = d_len;
        if d_len == 0 {
            continue;
        }
        // Destination texel `d_lo + i` has its centre at `d_lo + i + 0.5`; its position
        // relative to `d0` scaled by (s1 − s0) / (d1 − d0) gives the source coordinate, which
        // also mirrors an axis whose offsets run backwards on one side only.
        let scale = f64::from(s1 - s0) / f64::from(d1 - d0);
        region.scale[axis] = scale;
        region.src_origin[axis] = f64::from(s0) + (f64::from(d_lo) - f64::from(d0)) * scale;
    }
    if is_3d(src) != is_3d(dst) && (region.layers != 1) {
        return Err(bad("blits between 3D and layered images take one layer"));
    }
    Ok(region)
}

/// Spatial axes of an image type.
fn axes(desc: &ImageDesc) -> usize {
    match desc.image_type {
        super::ImageType::D1 => 1,
        super::ImageType::D2 => 2,
        super::ImageType::D3 => 3,
    }
}

/// Source texel index and weight of the lower neighbour along one axis, for `coord` in
/// unnormalized texels on an axis of `len` texels (CLAMP_TO_EDGE).
fn linear_taps(coord: f64, len: u32) -> ([u32; 2], f32) {
    let t = coord - 0.5;
    let i0 = t.floor();
    let frac = (t - i0) as f32;
    let clamp = |i: f64| i.clamp(0.0, f64::from(len - 1)) as u32;
    ([clamp(i0), clamp(i0 + 1.0)], 1.0 - frac)
}

fn nearest_tap(coord: f64, len: u32) -> u32 {
    coord.floor().clamp(0.0, f64::from(len - 1)) as u32
}

fn blit_region(src: &Image, dst: &Image, r: &Region, filter: BlitFilter) -> Result<(), ImageError> {
    let (sdesc, ddesc) = (*src.desc(), *dst.desc());
    let src_extent = sdesc.mip_extent(r.src_level);
    let (src3d, dst3d) = (is_3d(&sdesc), is_3d(&ddesc));
    let ssize = usize::from(sdesc.format.info().texel_size);
    let dsize = usize::from(ddesc.format.info().texel_size);
    let mut texel = vec![0u8; ssize];
    let mut out = vec![0u8; dsize];
    for layer in 0..r.layers {
        for dz in 0..r.dst_len[2] {
            for dy in 0..r.dst_len[1] {
                for dx in 0..r.dst_len[0] {
                    let d = [dx, dy, dz];
                    let coord: [f64; 3] = std::array::from_fn(|a| {
                        r.src_origin[a] + (f64::from(d[a]) + 0.5) * r.scale[a]
                    });
                    let dst_coord = [
                        r.dst_start[0] + dx,
                        r.dst_start[1] + dy,
                        r.dst_start[2] + dz,
                    ];
                    // A 3D image's z is a texel coordinate; a layered image's is 0.
                    let (dst_layer, dst_coord) = if dst3d {
                        (0, dst_coord)
                    } else {
                        (r.dst_layer + layer, [dst_coord[0], dst_coord[1], 0])
                    };
                    let src_layer = if src3d { 0 } else { r.src_layer + layer };
                    if !sdesc.format.is_color() {
                        let at = [
                            nearest_tap(coord[0], src_extent[0]),
                            nearest_tap(coord[1], src_extent[1]),
                            if src3d {
                                nearest_tap(coord[2], src_extent[2])
                            } else {
                                0
                            },
                        ];
                        src.read_texel(r.src_level, src_layer, at, &mut texel)?;
                        dst.read_texel(r.dst_level, dst_layer, dst_coord, &mut out)?;
                        if r.aspect_mask & aspect::DEPTH != 0 {
                            pack_depth(
                                ddesc.format,
                                unpack_depth(sdesc.format, &texel)?,
                                &mut out,
                            )?;
                        }
                        if r.aspect_mask & aspect::STENCIL != 0 {
                            pack_stencil(
                                ddesc.format,
                                unpack_stencil(sdesc.format, &texel)?,
                                &mut out,
                            )?;
                        }
                        dst.write_texel(r.dst_level, dst_layer, dst_coord, &out)?;
                        continue;
                    }
                    let value = match filter {
                        BlitFilter::Nearest => {
                            let at = [
                                nearest_tap(coord[0], src_extent[0]),
                                nearest_tap(coord[1], src_extent[1]),
                                if src3d {
                                    nearest_tap(coord[2], src_extent[2])
                                } else {
                                    0
                                },
                            ];
                            src.read_texel(r.src_level, src_layer, at, &mut texel)?;
                            unpack_color(sdesc.format, &texel)?
                        }
                        BlitFilter::Linear => {
                            let taps: [([u32; 2], f32); 3] = std::array::from_fn(|a| {
                                if a == 2 && !src3d {
                                    ([0, 0], 1.0)
                                } else {
                                    linear_taps(coord[a], src_extent[a])
                                }
                            });
                            let mut sum = [0f32; 4];
                            for corner in 0..8 {
                                let pick = |a: usize| (corner >> a) & 1;
                                let w: f32 = (0..3)
                                    .map(|a| {
                                        let (_, w0) = taps[a];
                                        if pick(a) == 0 {
                                            w0
                                        } else {
                                            1.0 - w0
                                        }
                                    })
                                    .product();
                                if w == 0.0 {
                                    continue;
                                }
                                let at: [u32; 3] = std::array::from_fn(|a| taps[a].0[pick(a)]);
                                src.read_texel(r.src_level, src_layer, at, &mut texel)?;
                                if let ColorValue::Float(v) = unpack_color(sdesc.format, &texel)? {
                                    for c in 0..4 {
                                        sum[c] += w * v[c];
                                    }
                                }
                            }
                            ColorValue::Float(sum)
                        }
                    };
                    pack_color(ddesc.format, value, &mut out)?;
                    dst.write_texel(r.dst_level, dst_layer, dst_coord, &out)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
