//! Clears inside a render pass: the render-area clear of `VK_ATTACHMENT_LOAD_OP_CLEAR` and
//! vkCmdClearAttachments (rectangles × layers of the current attachments). Values are
//! validated and packed once; every texel write is bounds-checked by [`Image`].

use crate::format::texel::{pack_depth, pack_stencil};
use crate::format::{aspect, pack_color, ColorValue};
use crate::image::Image;
use crate::raster::Rect;

use super::execute::RenderTargets;
use super::DrawError;

/// `VkClearRect`: layers are relative to the attachment's layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClearRect {
    pub rect: Rect,
    pub base_array_layer: u32,
    pub layer_count: u32,
}

/// `VkClearAttachment`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClearAttachment {
    /// Colour attachment at `location`; `value` is the `VkClearColorValue` as four words,
    /// read as float, uint or int by the attachment's format.
    Color { location: u32, value: [u32; 4] },
    /// The depth/stencil attachment, the aspects in `aspect_mask`.
    DepthStencil {
        aspect_mask: u32,
        depth: f32,
        stencil: u32,
    },
}

/// `[x0, x1) × [y0, y1)` of `rect`, which must lie inside `(level)` of `image`.
fn pixel_bounds(image: &Image, level: u32, rect: Rect) -> Result<[u32; 4], DrawError> {
    let outside = DrawError::Clear("rectangle outside the attachment");
    let [w, h, _] = image.desc().mip_extent(level);
    let x0 = u32::try_from(rect.x).map_err(|_| DrawError::Clear("negative rectangle origin"))?;
    let y0 = u32::try_from(rect.y).map_err(|_| DrawError::Clear("negative rectangle origin"))?;
    let x1 = x0
        .checked_add(rect.width)
        .ok_or(DrawError::Clear("rectangle overflows"))?;
    let y1 = y0
        .checked_add(rect.height)
        .ok_or(DrawError::Clear("rectangle overflows"))?;
    if x1 > w || y1 > h {
        return Err(outside);
    }
    Ok([x0, x1, y0, y1])
}

fn fill(
    image: &Image,
    level: u32,
    layer: u32,
    bounds: [u32; 4],
    needs_old: bool,
    mut texel: impl FnMut(&mut [u8]) -> Result<(), DrawError>,
) -> Result<(), DrawError> {
    let size = image.format().texel_size() as usize;
    let mut buf = [0u8; 16];
    let buf = &mut buf[..size];
    let [x0, x1, y0, y1] = bounds;
    for y in y0..y1 {
        for x in x0..x1 {
            let coord = [x, y, 0];
            if needs_old {
                image.read_texel(level, layer, coord, buf)?;
            }
            texel(buf)?;
            image.write_texel(level, layer, coord, buf)?;
        }
    }
    Ok(())
}

/// Clears `rect` of (`level`, `layer`) of a colour image to `value` (LOAD_OP_CLEAR over the
/// render area, or one rectangle of vkCmdClearAttachments).
pub fn clear_color_rect(
    image: &Image,
    level: u32,
    layer: u32,
    rect: Rect,
    value: [u32; 4],
) -> Result<(), DrawError> {
    let format = image.format();
    if !format.is_color() {
        return Err(DrawError::Clear("colour clear of a non-colour attachment"));
    }
    let mut packed = [0u8; 16];
    let size = format.texel_size() as usize;
    pack_color(
        format,
        ColorValue::from_clear_words(format, value),
        &mut packed[..size],
    )?;
    let bounds = pixel_bounds(image, level, rect)?;
    fill(image, level, layer, bounds, false, |t| {
        t.copy_from_slice(&packed[..size]);
        Ok(())
    })
}

/// Clears the aspects of `aspect_mask` in `rect` of a depth/stencil image; an aspect not
/// named keeps its values.
pub fn clear_depth_stencil_rect(
    image: &Image,
    level: u32,
    layer: u32,
    rect: Rect,
    aspect_mask: u32,
    depth: f32,
    stencil: u32,
) -> Result<(), DrawError> {
    let format = image.format();
    let allowed = aspect::DEPTH | aspect::STENCIL;
    let mask = aspect_mask & format.aspects();
    if aspect_mask == 0 || aspect_mask & !allowed != 0 {
        return Err(DrawError::Clear("invalid depth/stencil aspect mask"));
    }
    if mask == 0 {
        // VkClearAttachment may name an aspect the attachment lacks: nothing to clear.
        return Ok(());
    }
    // VUID-VkClearDepthStencilValue-depth-00022.
    if mask & aspect::DEPTH != 0 && !(0.0..=1.0).contains(&depth) {
        return Err(DrawError::Clear("clear depth outside [0, 1]"));
    }
    let whole = mask == format.aspects();
    let bounds = pixel_bounds(image, level, rect)?;
    fill(image, level, layer, bounds, !whole, |t| {
        if mask & aspect::DEPTH != 0 {
            pack_depth(format, depth, t)?;
        }
        if mask & aspect::STENCIL != 0 {
            pack_stencil(format, stencil as u8, t)?;
        }
        Ok(())
    })
}

/// vkCmdClearAttachments: every rectangle must lie inside the render area
/// (VUID-vkCmdClearAttachments-pRects-00016) and name existing layers (-00017). Colour
/// locations without an attachment are skipped (`VK_ATTACHMENT_UNUSED`).
pub fn clear_attachments(
    targets: &RenderTargets<'_>,
    attachments: &[ClearAttachment],
    rects: &[ClearRect],
) -> Result<(), DrawError> {
    let ra = targets.render_area;
    let inside = |r: &Rect| {
        let end = |o: i32, s: u32| i64::from(o) + i64::from(s);
        r.x >= ra.x
            && r.y >= ra.y
            && end(r.x, r.width) <= end(ra.x, ra.width)
            && end(r.y, r.height) <= end(ra.y, ra.height)
    };
    for r in rects {
        if !inside(&r.rect) {
            return Err(DrawError::Clear("rectangle outside the render area"));
        }
        if r.layer_count == 0 {
            return Err(DrawError::Clear("rectangle with no layers"));
        }
    }
    let layers = |image: &Image, base: u32, r: &ClearRect| {
        let first = base
            .checked_add(r.base_array_layer)
            .ok_or(DrawError::Clear("layer overflows"))?;
        let end = first
            .checked_add(r.layer_count)
            .ok_or(DrawError::Clear("layer overflows"))?;
        if end > image.desc().array_layers {
            return Err(DrawError::Clear(
                "rectangle names layers the attachment lacks",
            ));
        }
        Ok(first..end)
    };
    for attachment in attachments {
        match *attachment {
            ClearAttachment::Color { location, value } => {
                let Some(Some(target)) = targets.colors.get(location as usize) else {
                    continue;
                };
                for r in rects {
                    for layer in layers(&target.image, target.layer, r)? {
                        clear_color_rect(&target.image, target.level, layer, r.rect, value)?;
                    }
                }
            }
            ClearAttachment::DepthStencil {
                aspect_mask,
                depth,
                stencil,
            } => {
                let Some(target) = targets.depth_stencil else {
                    continue;
                };
                for r in rects {
                    for layer in layers(&target.image, target.layer, r)? {
                        clear_depth_stencil_rect(
                            &target.image,
                            target.level,
                            layer,
                            r.rect,
                            aspect_mask,
                            depth,
                            stencil,
                        )?;
                    }
                }
            }
        }
    }
    Ok(())
}
