//! Clears inside a render pass: the render-area clear of `VK_ATTACHMENT_LOAD_OP_CLEAR` and
//! vkCmdClearAttachments (rectangles × layers of the current attachments). Values are
//! validated and packed once; whole texels are written by [`Image::fill_rect`], texels that keep
//! an aspect (a depth-only clear of a depth/stencil format) one bounds-checked copy at a time.

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
/// Whether `rect` lies inside level `level` of `image` (the check every clear makes first).
pub(crate) fn check_rect(image: &Image, level: u32, rect: Rect) -> Result<(), DrawError> {
    pixel_bounds(image, level, rect).map(|_| ())
}

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
    if !needs_old {
        texel(buf)?;
        return Ok(image.fill_rect(level, layer, 0, bounds, buf)?);
    }
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
    // In a multiview pass a rectangle names layer 0 of one layer and clears it in every view
    // (VUID-vkCmdClearAttachments-baseArrayLayer-00018, Vulkan §19.4).
    let multiview = targets.view_mask != 0;
    if multiview
        && rects
            .iter()
            .any(|r| r.base_array_layer != 0 || r.layer_count != 1)
    {
        return Err(DrawError::Clear(
            "in a multiview pass rectangles must name layer 0 and one layer",
        ));
    }
    // The attachment layers a rectangle covers, checked against the image before any is
    // listed (so the list is bounded by the image's layers).
    let layers = |image: &Image, base: u32, r: &ClearRect| -> Result<Vec<u32>, DrawError> {
        let lacks = DrawError::Clear("rectangle names layers the attachment lacks");
        let overflow = || DrawError::Clear("layer overflows");
        let array_layers = image.desc().array_layers;
        if multiview {
            let views = (0..32u32).filter(|v| targets.view_mask & (1 << v) != 0);
            let layers = views
                .map(|v| base.checked_add(v).ok_or_else(overflow))
                .collect::<Result<Vec<_>, _>>()?;
            if layers.iter().any(|&l| l >= array_layers) {
                return Err(lacks);
            }
            return Ok(layers);
        }
        let first = base.checked_add(r.base_array_layer).ok_or_else(overflow)?;
        let end = first.checked_add(r.layer_count).ok_or_else(overflow)?;
        if end > array_layers {
            return Err(lacks);
        }
        Ok((first..end).collect())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Format;
    use crate::image::{ImageDesc, ImageType, Tiling};
    use crate::output::{BlendState, ColorAttachment};

    fn layered(layers: u32) -> Image {
        let desc = ImageDesc {
            image_type: ImageType::D2,
            format: Format::R8G8B8A8_UINT,
            extent: [4, 4, 1],
            mip_levels: 1,
            array_layers: layers,
            tiling: Tiling::Optimal,
        };
        match Image::new_host(desc) {
            Ok(image) => image,
            Err(e) => panic!("image: {e}"),
        }
    }

    fn texel(image: &Image, layer: u32) -> [u8; 4] {
        let mut t = [0u8; 4];
        assert!(image.read_texel(0, layer, [1, 1, 0], &mut t).is_ok());
        t
    }

    #[test]
    fn multiview_clear_attachments_clears_the_layer_of_every_view() {
        let image = layered(4);
        let colors = [Some(ColorAttachment {
            image: image.clone(),
            level: 0,
            layer: 1,
            blend: BlendState::REPLACE,
        })];
        let area = Rect {
            x: 0,
            y: 0,
            width: 4,
            height: 4,
        };
        let targets = RenderTargets {
            render_area: area,
            colors: &colors,
            depth_stencil: None,
            view_mask: 0b101,
        };
        let clear = [ClearAttachment::Color {
            location: 0,
            value: [9, 8, 7, 6],
        }];
        let rect = ClearRect {
            rect: area,
            base_array_layer: 0,
            layer_count: 1,
        };
        assert!(clear_attachments(&targets, &clear, &[rect]).is_ok());
        // Views 0 and 2 of an attachment starting at layer 1: layers 1 and 3.
        let got: Vec<_> = (0..4).map(|l| texel(&image, l)).collect();
        assert_eq!(got, [[0; 4], [9, 8, 7, 6], [0; 4], [9, 8, 7, 6]]);

        // Rectangles of other layers are refused in a multiview pass (VUID-00018) and a
        // view beyond the attachment's layers is an error.
        let two = ClearRect {
            layer_count: 2,
            ..rect
        };
        assert!(clear_attachments(&targets, &clear, &[two]).is_err());
        let beyond = RenderTargets {
            view_mask: 0b1001,
            ..targets
        };
        assert!(clear_attachments(&beyond, &clear, &[rect]).is_err());
    }
}
