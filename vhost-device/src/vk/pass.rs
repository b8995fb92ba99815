//! Render pass instances: vkCmdBeginRenderPass / vkCmdNextSubpass / vkCmdEndRenderPass and
//! vkCmdBeginRendering / vkCmdEndRendering, their load operations, and vkCmdClearAttachments.
//!
//! Loads (Vulkan §8.4): LOAD_OP_CLEAR clears the render area of every framebuffer layer of an
//! attachment in the first subpass that uses it (with multiview: the layer of each view in the
//! first subpass rendering that view, or the views of vkCmdBeginRendering's view mask); LOAD and DONT_CARE leave the contents (what
//! "don't care" allows). Stores: every store op keeps what was rendered (DONT_CARE and NONE
//! may), so ending a pass writes nothing. Image layouts do not travel: storage does not depend
//! on them. A dynamic-rendering instance begun with RESUMING continues a suspended one, so it
//! performs no loads (Vulkan §8.9 "Suspending and resuming").

use std::sync::Arc;

use protocol::format::aspect;
use protocol::graphics::{ClearValue, Rect2D, RenderingAttachment};
use protocol::stream::{CmdBeginRenderPass, CmdBeginRendering, CmdClearAttachments};
use renderer::draw::{self, ClearRect};
use renderer::output::{
    BlendState, ColorAttachment, DepthStencilAttachment, MAX_COLOR_ATTACHMENTS,
};
use renderer::raster::Rect;

use super::context::VkContext;
use super::graphics_pipeline::{GraphicsPipelineObject, TargetFormats, TargetKind};
use super::guest::GuestScope;
use super::image::{usage, ImageViewObject};
use super::render_pass::{
    check_attachment_view, check_store_op, check_view_mask, layers_for_views, views,
    FramebufferObject, LoadOp, RenderPassObject,
};
use super::ExecError;

fn invalid(message: String) -> ExecError {
    ExecError::Invalid(message)
}

/// `VkRenderingFlagBits`.
mod rendering_flags {
    pub const CONTENTS_SECONDARY_COMMAND_BUFFERS: u32 = 0x1;
    pub const SUSPENDING: u32 = 0x2;
    pub const RESUMING: u32 = 0x4;
}

/// Which kind of instance is active.
pub(crate) enum PassKind {
    RenderPass {
        render_pass: Arc<RenderPassObject>,
        framebuffer: Arc<FramebufferObject>,
        subpass: usize,
        clear_values: Vec<ClearValue>,
    },
    /// `suspending`: begun with VK_RENDERING_SUSPENDING_BIT.
    Dynamic { suspending: bool },
}

/// The active render pass instance and the attachments of its current subpass.
pub(crate) struct PassInstance {
    pub(crate) kind: PassKind,
    pub(crate) render_area: Rect,
    /// Layers rendered (1 with multiview: each view renders one).
    pub(crate) layers: u32,
    /// Multiview: the views of the current subpass / rendering (0: multiview off). Draws and
    /// clears go to layer `base layer + view` of every attachment for each view.
    pub(crate) view_mask: u32,
    /// By colour location.
    pub(crate) colors: Vec<Option<Arc<ImageViewObject>>>,
    pub(crate) depth_stencil: Option<Arc<ImageViewObject>>,
    pub(crate) formats: TargetFormats,
}

/// A render area inside `extent` with a non-negative origin (VUID-VkRenderPassBeginInfo-
/// pNext-02852/02853, VUID-VkRenderingInfo-pNext-06079/06080).
fn render_area(r: &Rect2D, extent: [u32; 2]) -> Result<Rect, ExecError> {
    let [x, y] = r.offset;
    let [w, h] = r.extent;
    let fits =
        |o: i32, e: u32, max: u32| o >= 0 && u64::from(o as u32) + u64::from(e) <= u64::from(max);
    if !fits(x, w, extent[0]) || !fits(y, h, extent[1]) {
        return Err(invalid(format!(
            "render area {r:?} is not inside {}×{}",
            extent[0], extent[1]
        )));
    }
    Ok(Rect {
        x,
        y,
        width: w,
        height: h,
    })
}

fn depth_of(value: &ClearValue) -> f32 {
    f32::from_bits(value[0])
}

impl PassInstance {
    /// Dynamic rendering begun with the SUSPENDING flag.
    pub(crate) fn is_suspending(&self) -> bool {
        matches!(self.kind, PassKind::Dynamic { suspending: true })
    }

    /// The renderer's targets of the current subpass, with each colour attachment's blend
    /// state from `pipeline` (REPLACE where no pipeline applies: clears).
    pub(crate) fn resolve(
        &self,
        pipeline: Option<&GraphicsPipelineObject>,
        scope: &GuestScope<'_>,
    ) -> Result<(Vec<Option<ColorAttachment>>, Option<DepthStencilAttachment>), ExecError> {
        let mut colors = Vec::with_capacity(self.colors.len());
        for (i, view) in self.colors.iter().enumerate() {
            colors.push(match view {
                None => None,
                Some(v) => Some(ColorAttachment {
                    image: v.resolve(scope)?,
                    level: v.base_level,
                    layer: v.base_layer,
                    blend: pipeline
                        .and_then(|p| p.blend.get(i).copied())
                        .unwrap_or(BlendState::REPLACE),
                }),
            });
        }
        let depth_stencil = match &self.depth_stencil {
            None => None,
            Some(v) => Some(DepthStencilAttachment {
                image: v.resolve(scope)?,
                level: v.base_level,
                layer: v.base_layer,
            }),
        };
        Ok((colors, depth_stencil))
    }

    /// VUID-vkCmdDraw-renderPass-02684 / -subpass-02685 and, for dynamic rendering,
    /// -colorAttachmentCount-06180, -imageView-06179/06181/06182: the pipeline renders to
    /// exactly these formats.
    pub(crate) fn check_pipeline(&self, p: &GraphicsPipelineObject) -> Result<(), ExecError> {
        let kind_ok = match (&self.kind, &p.target_kind) {
            (PassKind::RenderPass { subpass, .. }, TargetKind::Subpass(s)) => subpass == s,
            (PassKind::Dynamic { .. }, TargetKind::Dynamic) => true,
            _ => false,
        };
        if !kind_ok {
            return Err(invalid(
                "the bound pipeline was made for another subpass or kind of rendering".into(),
            ));
        }
        if p.targets != self.formats {
            return Err(invalid(format!(
                "the bound pipeline renders to {:?}, the current attachments are {:?}",
                p.targets, self.formats
            )));
        }
        Ok(())
    }

    /// Clears the render area of every rendered layer of `view` (LOAD_OP_CLEAR): the layers
    /// of `view_mask`'s views with multiview, else the instance's layers.
    fn clear_view(
        &self,
        device: &renderer::Device,
        view: &ImageViewObject,
        color: Option<ClearValue>,
        depth_stencil: Option<(u32, ClearValue)>,
        view_mask: u32,
        scope: &GuestScope<'_>,
    ) -> Result<(), ExecError> {
        let image = view.resolve(scope)?;
        let layers: Vec<u32> = if view_mask != 0 {
            views(view_mask)
                .map(|v| view.base_layer.saturating_add(v))
                .collect()
        } else {
            (view.base_layer..view.base_layer.saturating_add(self.layers)).collect()
        };
        for layer in layers {
            if let Some(value) = color {
                device.clear_color_rect(&image, view.base_level, layer, self.render_area, value)?;
            }
            if let Some((mask, value)) = depth_stencil {
                draw::clear::clear_depth_stencil_rect(
                    &image,
                    view.base_level,
                    layer,
                    self.render_area,
                    mask,
                    depth_of(&value),
                    value[1],
                )?;
            }
        }
        Ok(())
    }

    /// The loads of the attachments whose first use is the current subpass.
    fn load_subpass(
        &self,
        device: &renderer::Device,
        scope: &GuestScope<'_>,
    ) -> Result<(), ExecError> {
        let PassKind::RenderPass {
            render_pass,
            framebuffer,
            subpass,
            clear_values,
        } = &self.kind
        else {
            return Ok(());
        };
        let multiview = render_pass.is_multiview();
        for (i, a) in render_pass.attachments.iter().enumerate() {
            let view_mask = if multiview {
                render_pass.first_views(i, *subpass)
            } else {
                0
            };
            if (multiview && view_mask == 0) || (!multiview && a.first_use != Some(*subpass)) {
                continue;
            }
            let mut mask = 0;
            if a.load_op == LoadOp::Clear {
                if a.format.is_color() {
                    mask |= aspect::COLOR;
                } else if a.format.has_depth() {
                    mask |= aspect::DEPTH;
                }
            }
            if a.format.has_stencil() && a.stencil_load_op == LoadOp::Clear {
                mask |= aspect::STENCIL;
            }
            if mask == 0 {
                continue;
            }
            // VUID-VkRenderPassBeginInfo-clearValueCount-00902.
            let value = *clear_values
                .get(i)
                .ok_or_else(|| invalid(format!("attachment {i} clears but has no clear value")))?;
            let view = &framebuffer.views[i];
            if mask == aspect::COLOR {
                self.clear_view(device, view, Some(value), None, view_mask, scope)?;
            } else {
                self.clear_view(device, view, None, Some((mask, value)), view_mask, scope)?;
            }
        }
        Ok(())
    }

    /// Points the colour and depth/stencil attachments at the current subpass's.
    fn select_subpass(&mut self) {
        let PassKind::RenderPass {
            render_pass,
            framebuffer,
            subpass,
            ..
        } = &self.kind
        else {
            return;
        };
        let s = &render_pass.subpasses[*subpass];
        let view = |a: &Option<u32>| a.map(|a| framebuffer.views[a as usize].clone());
        self.colors = s.colors.iter().map(view).collect();
        self.depth_stencil = view(&s.depth_stencil);
        let format = |a: u32| render_pass.attachments[a as usize].format;
        let ds = s.depth_stencil.map(format);
        self.formats = TargetFormats {
            colors: s.colors.iter().map(|c| c.map(format)).collect(),
            depth: ds.filter(|f| f.has_depth()),
            stencil: ds.filter(|f| f.has_stencil()),
            view_mask: s.view_mask,
        };
        self.view_mask = s.view_mask;
    }
}

/// One dynamic-rendering attachment: its view (checked as an attachment of `kind`) and load.
fn rendering_view(
    ctx: &VkContext,
    what: &str,
    a: &RenderingAttachment,
    needed_usage: u32,
) -> Result<Option<(Arc<ImageViewObject>, LoadOp)>, ExecError> {
    if a.view == 0 {
        return Ok(None);
    }
    // No multisampling: VUID-VkRenderingAttachmentInfo-imageView-06129 / resolveMode NONE.
    if a.resolve_mode != 0 {
        return Err(invalid(format!("{what}: resolve modes are not supported")));
    }
    check_store_op(a.store_op)?;
    let load = LoadOp::from_vk(a.load_op)?;
    let view = ctx.images.view(a.view)?.clone();
    check_attachment_view(&format!("{what} (view {})", a.view), &view, view.format)?;
    view.image.check_usage(view.image_id, needed_usage)?;
    Ok(Some((view, load)))
}

impl VkContext {
    pub(crate) fn begin_render_pass(
        &self,
        c: &CmdBeginRenderPass,
        scope: &GuestScope<'_>,
    ) -> Result<PassInstance, ExecError> {
        let render_pass = self.render_passes.get(c.render_pass)?.clone();
        let framebuffer = self.framebuffers.get(c.framebuffer)?.clone();
        // VUID-VkRenderPassBeginInfo-renderPass-00904: compatible render passes (the same
        // attachment formats; samples are always 1).
        let compatible = framebuffer.views.len() == render_pass.attachments.len()
            && framebuffer
                .views
                .iter()
                .zip(&render_pass.attachments)
                .all(|(v, a)| v.format == a.format);
        if !compatible {
            return Err(invalid(format!(
                "framebuffer {} is not compatible with render pass {}",
                c.framebuffer, c.render_pass
            )));
        }
        let area = render_area(&c.render_area, [framebuffer.width, framebuffer.height])?;
        // VUID-VkRenderPassBeginInfo-clearValueCount-00902: a clear value for every attachment
        // that clears, checked now even if its first use is a later subpass.
        let clears = |a: &super::render_pass::Attachment| {
            a.load_op == LoadOp::Clear
                || (a.format.has_stencil() && a.stencil_load_op == LoadOp::Clear)
        };
        if let Some(last) = render_pass.attachments.iter().rposition(clears) {
            if last >= c.clear_values.len() {
                return Err(invalid(format!(
                    "attachment {last} clears but only {} clear values were given",
                    c.clear_values.len()
                )));
            }
        }
        let mut pass = PassInstance {
            render_area: area,
            layers: framebuffer.layers,
            view_mask: 0,
            colors: Vec::new(),
            depth_stencil: None,
            formats: TargetFormats {
                colors: Vec::new(),
                depth: None,
                stencil: None,
                view_mask: 0,
            },
            kind: PassKind::RenderPass {
                render_pass,
                framebuffer,
                subpass: 0,
                clear_values: c.clear_values.clone(),
            },
        };
        pass.select_subpass();
        pass.load_subpass(&self.device, scope)?;
        Ok(pass)
    }

    /// vkCmdNextSubpass (VUID-vkCmdNextSubpass-None-00909: not past the last subpass).
    pub(crate) fn next_subpass(
        &self,
        pass: &mut PassInstance,
        scope: &GuestScope<'_>,
    ) -> Result<(), ExecError> {
        let PassKind::RenderPass {
            render_pass,
            subpass,
            ..
        } = &mut pass.kind
        else {
            return Err(invalid("vkCmdNextSubpass inside dynamic rendering".into()));
        };
        if *subpass + 1 >= render_pass.subpasses.len() {
            return Err(invalid(format!(
                "no subpass after {subpass} (the render pass has {})",
                render_pass.subpasses.len()
            )));
        }
        *subpass += 1;
        pass.select_subpass();
        pass.load_subpass(&self.device, scope)
    }

    /// vkCmdEndRenderPass (VUID-vkCmdEndRenderPass-None-00910: in the last subpass).
    pub(crate) fn end_render_pass(pass: PassInstance) -> Result<(), ExecError> {
        match &pass.kind {
            PassKind::RenderPass {
                render_pass,
                subpass,
                ..
            } if *subpass + 1 == render_pass.subpasses.len() => Ok(()),
            PassKind::RenderPass { subpass, .. } => Err(invalid(format!(
                "vkCmdEndRenderPass in subpass {subpass}, not the last"
            ))),
            PassKind::Dynamic { .. } => Err(invalid(
                "vkCmdEndRenderPass ends dynamic rendering (vkCmdEndRendering does)".into(),
            )),
        }
    }

    /// vkCmdBeginRendering.
    pub(crate) fn begin_rendering(
        &self,
        c: &CmdBeginRendering,
        scope: &GuestScope<'_>,
    ) -> Result<PassInstance, ExecError> {
        use rendering_flags::*;
        let known = CONTENTS_SECONDARY_COMMAND_BUFFERS | SUSPENDING | RESUMING;
        if c.flags & !known != 0 || c.flags & CONTENTS_SECONDARY_COMMAND_BUFFERS != 0 {
            return Err(invalid(format!(
                "rendering flags {:#x} are not supported",
                c.flags
            )));
        }
        // VUID-VkRenderingInfo-viewMask-06069: without multiview at least one layer; with it
        // `layerCount` is ignored and each view renders one layer.
        check_view_mask("vkCmdBeginRendering", c.view_mask)?;
        if c.view_mask == 0 && c.layer_count == 0 {
            return Err(invalid("rendering zero layers".into()));
        }
        let multiview = c.view_mask != 0;
        let needed_layers = if multiview {
            layers_for_views(c.view_mask)
        } else {
            c.layer_count
        };
        if c.color_attachments.len() > MAX_COLOR_ATTACHMENTS {
            return Err(invalid(format!(
                "{} colour attachments, more than {MAX_COLOR_ATTACHMENTS}",
                c.color_attachments.len()
            )));
        }
        let mut colors = Vec::with_capacity(c.color_attachments.len());
        let mut loads = Vec::new();
        for (i, a) in c.color_attachments.iter().enumerate() {
            let what = format!("colour attachment {i}");
            let v = rendering_view(self, &what, a, usage::COLOR_ATTACHMENT)?;
            if let Some((view, load)) = &v {
                if !view.format.is_color() {
                    return Err(invalid(format!(
                        "{what} has the non-colour format {:?}",
                        view.format
                    )));
                }
                if *load == LoadOp::Clear {
                    loads.push((view.clone(), aspect::COLOR, a.clear_value));
                }
            }
            colors.push(v.map(|(view, _)| view));
        }
        let depth = match &c.depth_attachment {
            None => None,
            Some(a) => {
                rendering_view(self, "depth attachment", a, usage::DEPTH_STENCIL_ATTACHMENT)?
                    .map(|(v, load)| (v, load, a.clear_value, a.view))
            }
        };
        let stencil = match &c.stencil_attachment {
            None => None,
            Some(a) => rendering_view(
                self,
                "stencil attachment",
                a,
                usage::DEPTH_STENCIL_ATTACHMENT,
            )?
            .map(|(v, load)| (v, load, a.clear_value, a.view)),
        };
        // VUID-VkRenderingInfo-pDepthAttachment-06547/06085, -pStencilAttachment-06548.
        if depth.as_ref().is_some_and(|d| !d.0.format.has_depth())
            || stencil.as_ref().is_some_and(|s| !s.0.format.has_stencil())
        {
            return Err(invalid(
                "depth/stencil attachment without that aspect".into(),
            ));
        }
        if let (Some(d), Some(s)) = (&depth, &stencil) {
            if d.3 != s.3 {
                return Err(invalid(
                    "depth and stencil attachments are different views".into(),
                ));
            }
        }
        let mut ds_mask = 0;
        let mut ds_value = [0u32; 4];
        if let Some((_, LoadOp::Clear, value, _)) = &depth {
            ds_mask |= aspect::DEPTH;
            ds_value[0] = value[0];
        }
        if let Some((_, LoadOp::Clear, value, _)) = &stencil {
            ds_mask |= aspect::STENCIL;
            ds_value[1] = value[1];
        }
        let formats = TargetFormats {
            colors: colors
                .iter()
                .map(|v| v.as_ref().map(|v| v.format))
                .collect(),
            depth: depth.as_ref().map(|d| d.0.format),
            stencil: stencil.as_ref().map(|s| s.0.format),
            view_mask: c.view_mask,
        };
        let ds_view = depth.or(stencil).map(|d| d.0);
        // The render area and layers lie inside every attachment (VUID-VkRenderingInfo-
        // pNext-06079/06080, -imageView-06070; with multiview -viewMask-... : a layer per
        // view).
        let mut extent = [u32::MAX, u32::MAX];
        for v in colors.iter().flatten().chain(ds_view.iter()) {
            let [w, h, _] = v.extent();
            extent = [extent[0].min(w), extent[1].min(h)];
            if v.layer_count < needed_layers {
                return Err(invalid(format!(
                    "{needed_layers} layers rendered, a view has {}",
                    v.layer_count
                )));
            }
        }
        let area = render_area(&c.render_area, extent)?;
        let pass = PassInstance {
            kind: PassKind::Dynamic {
                suspending: c.flags & SUSPENDING != 0,
            },
            render_area: area,
            layers: if multiview { 1 } else { c.layer_count },
            view_mask: c.view_mask,
            colors,
            depth_stencil: ds_view.clone(),
            formats,
        };
        if c.flags & RESUMING == 0 {
            for (view, _, value) in loads {
                pass.clear_view(&self.device, &view, Some(value), None, c.view_mask, scope)?;
            }
            if let (Some(view), true) = (&ds_view, ds_mask != 0) {
                pass.clear_view(
                    &self.device,
                    view,
                    None,
                    Some((ds_mask, ds_value)),
                    c.view_mask,
                    scope,
                )?;
            }
        }
        Ok(pass)
    }

    /// vkCmdEndRendering.
    pub(crate) fn end_rendering(pass: PassInstance) -> Result<(), ExecError> {
        match pass.kind {
            PassKind::Dynamic { .. } => Ok(()),
            PassKind::RenderPass { .. } => Err(invalid(
                "vkCmdEndRendering ends a render pass (vkCmdEndRenderPass does)".into(),
            )),
        }
    }

    /// vkCmdClearAttachments.
    pub(crate) fn clear_attachments(
        &self,
        pass: &PassInstance,
        c: &CmdClearAttachments,
        scope: &GuestScope<'_>,
    ) -> Result<(), ExecError> {
        if c.attachments.len() > MAX_COLOR_ATTACHMENTS + 1 || c.rects.len() > 4096 {
            return Err(invalid("too many clear attachments or rectangles".into()));
        }
        let mut attachments = Vec::with_capacity(c.attachments.len());
        for a in &c.attachments {
            // VUID-VkClearAttachment-aspectMask-00019 / -00020.
            attachments.push(match a.aspect_mask {
                aspect::COLOR => draw::ClearAttachment::Color {
                    location: a.color_attachment,
                    value: a.value,
                },
                m if m != 0 && m & !(aspect::DEPTH | aspect::STENCIL) == 0 => {
                    draw::ClearAttachment::DepthStencil {
                        aspect_mask: m,
                        depth: depth_of(&a.value),
                        stencil: a.value[1],
                    }
                }
                m => return Err(invalid(format!("clear aspect mask {m:#x}"))),
            });
        }
        let mut rects = Vec::with_capacity(c.rects.len());
        for r in &c.rects {
            // VUID-vkCmdClearAttachments-pRects-00017: layers inside the instance's.
            if r.base_array_layer
                .checked_add(r.layer_count)
                .is_none_or(|end| end > pass.layers)
            {
                return Err(invalid(format!(
                    "clear rectangle layers {}..+{} outside the {} rendered",
                    r.base_array_layer, r.layer_count, pass.layers
                )));
            }
            let [x, y] = r.rect.offset;
            let [width, height] = r.rect.extent;
            rects.push(ClearRect {
                rect: Rect {
                    x,
                    y,
                    width,
                    height,
                },
                base_array_layer: r.base_array_layer,
                layer_count: r.layer_count,
            });
        }
        let (colors, depth_stencil) = pass.resolve(None, scope)?;
        let targets = draw::RenderTargets {
            render_area: pass.render_area,
            colors: &colors,
            depth_stencil: depth_stencil.as_ref(),
            view_mask: pass.view_mask,
        };
        draw::clear_attachments(&targets, &attachments, &rects)?;
        Ok(())
    }
}
