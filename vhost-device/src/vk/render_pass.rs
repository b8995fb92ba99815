//! Render passes and framebuffers (vkCreateRenderPass(2), vkCreateFramebuffer).
//!
//! A render pass is validated once at creation: attachment formats the device renders,
//! one sample, attachment references in range and of the right kind, view masks within
//! [`MAX_MULTIVIEW_VIEW_COUNT`] views (all zero or all non-zero), no resolve attachments (no
//! multisampling is offered). It also records, per attachment, the first subpass that uses
//! it: LOAD_OP_CLEAR happens there (Vulkan §8.4 "Load operations occur ... in the first
//! subpass that uses the attachment"); with multiview, per view: each view's layer is cleared
//! in the first subpass whose view mask holds it (as turnip and v3dv do).
//!
//! A framebuffer keeps `Arc`s of its views, checked against the render pass it was created
//! with (formats equal, identity swizzle, one mip level, extent and layers inside the views).

use std::sync::Arc;

use protocol::format::{feature, Format};
use protocol::graphics::{
    AttachmentDescription, AttachmentReference, SubpassDescription, ATTACHMENT_UNUSED,
};
use protocol::image::{MAX_IMAGE_ARRAY_LAYERS, MAX_IMAGE_DIMENSION_2D};
use renderer::output::MAX_COLOR_ATTACHMENTS;

use super::image::{is_identity_swizzle, usage, ImageViewObject, Images};
use super::ExecError;

fn invalid(message: String) -> ExecError {
    ExecError::Invalid(message)
}

/// Most attachments one render pass may describe (and a framebuffer hold).
pub const MAX_RENDER_PASS_ATTACHMENTS: usize = 64;
/// Most subpasses one render pass may have.
pub const MAX_SUBPASSES: usize = 64;
/// `VkPhysicalDeviceMultiviewProperties::maxMultiviewViewCount` the ICD reports: view masks
/// may use bits 0..8.
pub use protocol::graphics::MAX_MULTIVIEW_VIEW_COUNT;

/// A view mask within [`MAX_MULTIVIEW_VIEW_COUNT`] views (VUID-VkSubpassDescription2-
/// viewMask-06706, VUID-VkRenderingInfo-viewMask-06128, VUID-VkPipelineRenderingCreateInfo-
/// multiview-06577).
pub(crate) fn check_view_mask(what: &str, view_mask: u32) -> Result<(), ExecError> {
    if view_mask >> MAX_MULTIVIEW_VIEW_COUNT != 0 {
        return Err(invalid(format!(
            "{what}: view mask {view_mask:#x} names views beyond maxMultiviewViewCount {MAX_MULTIVIEW_VIEW_COUNT}"
        )));
    }
    Ok(())
}

/// The views of `view_mask`, ascending.
pub(crate) fn views(view_mask: u32) -> impl Iterator<Item = u32> {
    (0..32).filter(move |v| view_mask & (1 << v) != 0)
}

/// Layers an attachment view needs for `view_mask`: one past its highest view.
pub(crate) fn layers_for_views(view_mask: u32) -> u32 {
    32 - view_mask.leading_zeros()
}

/// `VkAttachmentLoadOp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LoadOp {
    Load,
    Clear,
    DontCare,
}

impl LoadOp {
    pub(crate) fn from_vk(raw: u32) -> Result<LoadOp, ExecError> {
        match raw {
            0 => Ok(LoadOp::Load),
            1 => Ok(LoadOp::Clear),
            2 => Ok(LoadOp::DontCare),
            // VK_ATTACHMENT_LOAD_OP_NONE_KHR leaves the contents as they are.
            1_000_400_000 => Ok(LoadOp::Load),
            _ => Err(invalid(format!("unknown VkAttachmentLoadOp {raw}"))),
        }
    }
}

/// `VkAttachmentStoreOp`: every op keeps what was rendered (DONT_CARE may, Vulkan says the
/// contents become undefined), so only the value's validity matters.
pub(crate) fn check_store_op(raw: u32) -> Result<(), ExecError> {
    match raw {
        // STORE, DONT_CARE, NONE.
        0 | 1 | 1_000_301_000 => Ok(()),
        _ => Err(invalid(format!("unknown VkAttachmentStoreOp {raw}"))),
    }
}

/// One attachment of a render pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Attachment {
    pub(crate) format: Format,
    /// Load op of the colour or depth aspect.
    pub(crate) load_op: LoadOp,
    pub(crate) stencil_load_op: LoadOp,
    /// First subpass that uses the attachment (`None`: never used).
    pub(crate) first_use: Option<usize>,
}

/// A subpass: attachment indices (`None` for `VK_ATTACHMENT_UNUSED`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Subpass {
    pub(crate) colors: Vec<Option<u32>>,
    pub(crate) depth_stencil: Option<u32>,
    pub(crate) inputs: Vec<Option<u32>>,
    /// Multiview: the views the subpass renders (0: multiview off).
    pub(crate) view_mask: u32,
}

impl Subpass {
    /// Whether the subpass uses attachment `a` (colour, input or depth/stencil).
    pub(crate) fn uses(&self, a: usize) -> bool {
        let a = Some(a as u32);
        self.colors.contains(&a) || self.inputs.contains(&a) || self.depth_stencil == a
    }
}

#[derive(Debug)]
pub(crate) struct RenderPassObject {
    pub(crate) attachments: Vec<Attachment>,
    pub(crate) subpasses: Vec<Subpass>,
    /// Host bytes charged to the client besides the object overhead.
    pub(crate) host_bytes: u64,
}

impl RenderPassObject {
    /// Whether the subpasses render with multiview (all or none do).
    pub(crate) fn is_multiview(&self) -> bool {
        self.subpasses.first().is_some_and(|s| s.view_mask != 0)
    }

    /// Multiview: the views of attachment `a` whose first use is subpass `subpass` (the views
    /// of its mask that no earlier subpass using `a` rendered).
    pub(crate) fn first_views(&self, a: usize, subpass: usize) -> u32 {
        let Some(s) = self.subpasses.get(subpass) else {
            return 0;
        };
        if !s.uses(a) {
            return 0;
        }
        let earlier = self.subpasses[..subpass]
            .iter()
            .filter(|e| e.uses(a))
            .fold(0, |m, e| m | e.view_mask);
        s.view_mask & !earlier
    }

    /// Multiview: the union of the view masks of the subpasses that use attachment `a`.
    pub(crate) fn views_of(&self, a: usize) -> u32 {
        self.subpasses
            .iter()
            .filter(|s| s.uses(a))
            .fold(0, |m, s| m | s.view_mask)
    }

    /// Host bytes the object holds besides the table overhead.
    fn host_bytes_of(attachments: usize, subpasses: &[SubpassDescription]) -> u64 {
        let refs: usize = subpasses
            .iter()
            .map(|s| s.color_attachments.len() + s.input_attachments.len() + 1)
            .sum();
        (attachments as u64 * 32)
            .saturating_add(subpasses.len() as u64 * 64)
            .saturating_add(refs as u64 * 8)
    }

    pub(crate) fn new(
        attachments: &[AttachmentDescription],
        subpasses: &[SubpassDescription],
    ) -> Result<RenderPassObject, ExecError> {
        if attachments.len() > MAX_RENDER_PASS_ATTACHMENTS {
            return Err(ExecError::Limit {
                what: "render pass attachments",
                value: attachments.len() as u64,
                limit: MAX_RENDER_PASS_ATTACHMENTS as u64,
            });
        }
        // VUID-VkRenderPassCreateInfo-subpassCount-arraylength.
        if subpasses.is_empty() || subpasses.len() > MAX_SUBPASSES {
            return Err(invalid(format!(
                "{} subpasses: 1 to {MAX_SUBPASSES} are allowed",
                subpasses.len()
            )));
        }
        let mut checked = attachments
            .iter()
            .enumerate()
            .map(|(i, a)| check_attachment(i, a))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(subpasses.len());
        for (index, s) in subpasses.iter().enumerate() {
            let subpass = check_subpass(index, s, &checked)?;
            let used = subpass
                .colors
                .iter()
                .chain(&subpass.inputs)
                .chain(std::iter::once(&subpass.depth_stencil))
                .flatten();
            for &a in used {
                let slot = &mut checked[a as usize].first_use;
                slot.get_or_insert(index);
            }
            out.push(subpass);
        }
        // VUID-VkRenderPassCreateInfo2-viewMask-03058: multiview is all or nothing.
        let multiview = out.iter().filter(|s| s.view_mask != 0).count();
        if multiview != 0 && multiview != out.len() {
            return Err(invalid(
                "some subpasses have a view mask and some do not".into(),
            ));
        }
        Ok(RenderPassObject {
            attachments: checked,
            subpasses: out,
            host_bytes: Self::host_bytes_of(attachments.len(), subpasses),
        })
    }
}

/// VUID-VkAttachmentDescription-format-06698 (not UNDEFINED), -samples parameter (1 only),
/// load and store ops known.
fn check_attachment(index: usize, a: &AttachmentDescription) -> Result<Attachment, ExecError> {
    let format =
        Format::from_vk(a.format).map_err(|e| invalid(format!("attachment {index}: {e}")))?;
    if a.samples != 1 {
        return Err(invalid(format!(
            "attachment {index}: {} samples (only 1 is offered)",
            a.samples
        )));
    }
    // VK_ATTACHMENT_DESCRIPTION_MAY_ALIAS_BIT is the only flag; aliasing needs nothing here.
    if a.flags & !1 != 0 {
        return Err(invalid(format!(
            "attachment {index}: unknown flags {:#x}",
            a.flags
        )));
    }
    check_store_op(a.store_op)?;
    check_store_op(a.stencil_store_op)?;
    let attachment_feature = if format.is_color() {
        feature::COLOR_ATTACHMENT
    } else {
        feature::DEPTH_STENCIL_ATTACHMENT
    };
    if format.features().optimal_tiling & attachment_feature == 0 {
        return Err(invalid(format!(
            "attachment {index}: {format:?} cannot be rendered to"
        )));
    }
    Ok(Attachment {
        format,
        load_op: LoadOp::from_vk(a.load_op)?,
        stencil_load_op: LoadOp::from_vk(a.stencil_load_op)?,
        first_use: None,
    })
}

fn reference(
    subpass: usize,
    what: &str,
    r: &AttachmentReference,
    attachments: &[Attachment],
) -> Result<Option<u32>, ExecError> {
    if r.attachment == ATTACHMENT_UNUSED {
        return Ok(None);
    }
    // VUID-VkRenderPassCreateInfo-attachment-00834.
    if r.attachment as usize >= attachments.len() {
        return Err(invalid(format!(
            "subpass {subpass}: {what} attachment {} is beyond the {} attachments",
            r.attachment,
            attachments.len()
        )));
    }
    Ok(Some(r.attachment))
}

fn check_subpass(
    index: usize,
    s: &SubpassDescription,
    attachments: &[Attachment],
) -> Result<Subpass, ExecError> {
    // No subpass flags are offered (they all come from extensions).
    if s.flags != 0 {
        return Err(invalid(format!(
            "subpass {index}: flags {:#x} are not supported",
            s.flags
        )));
    }
    check_view_mask(&format!("subpass {index}"), s.view_mask)?;
    // VUID-VkSubpassDescription-colorAttachmentCount-00845.
    if s.color_attachments.len() > MAX_COLOR_ATTACHMENTS {
        return Err(invalid(format!(
            "subpass {index}: {} colour attachments, more than {MAX_COLOR_ATTACHMENTS}",
            s.color_attachments.len()
        )));
    }
    if s.input_attachments.len() > MAX_RENDER_PASS_ATTACHMENTS {
        return Err(invalid(format!(
            "subpass {index}: {} input attachments",
            s.input_attachments.len()
        )));
    }
    // Resolve attachments need multisampling, which is not offered: all must be unused.
    if !s.resolve_attachments.is_empty() {
        if s.resolve_attachments.len() != s.color_attachments.len() {
            return Err(invalid(format!(
                "subpass {index}: {} resolve attachments for {} colour attachments",
                s.resolve_attachments.len(),
                s.color_attachments.len()
            )));
        }
        if s.resolve_attachments
            .iter()
            .any(|r| r.attachment != ATTACHMENT_UNUSED)
        {
            return Err(invalid(format!(
                "subpass {index}: resolve attachments are not supported (no multisampling)"
            )));
        }
    }
    let mut colors = Vec::with_capacity(s.color_attachments.len());
    for r in &s.color_attachments {
        let a = reference(index, "colour", r, attachments)?;
        // VUID-VkSubpassDescription-pColorAttachments-02648: a colour format.
        if let Some(a) = a {
            let format = attachments[a as usize].format;
            if !format.is_color() {
                return Err(invalid(format!(
                    "subpass {index}: colour attachment {a} has the non-colour format {format:?}"
                )));
            }
        }
        colors.push(a);
    }
    let depth_stencil = match &s.depth_stencil_attachment {
        None => None,
        Some(r) => {
            let a = reference(index, "depth/stencil", r, attachments)?;
            // VUID-VkSubpassDescription-pDepthStencilAttachment-02650.
            if let Some(a) = a {
                let format = attachments[a as usize].format;
                if format.is_color() {
                    return Err(invalid(format!(
                        "subpass {index}: depth/stencil attachment {a} has the colour format {format:?}"
                    )));
                }
                // VUID-VkSubpassDescription-pDepthStencilAttachment-04438: not also colour.
                if colors.contains(&Some(a)) {
                    return Err(invalid(format!(
                        "subpass {index}: attachment {a} is both colour and depth/stencil"
                    )));
                }
            }
            a
        }
    };
    let inputs = s
        .input_attachments
        .iter()
        .map(|r| reference(index, "input", r, attachments))
        .collect::<Result<Vec<_>, _>>()?;
    // VUID-VkSubpassDescription-pColorAttachments-09430 (no attachment twice as colour).
    for (i, c) in colors.iter().enumerate() {
        if c.is_some() && colors[..i].contains(c) {
            return Err(invalid(format!(
                "subpass {index}: attachment {} is used twice as colour",
                c.unwrap_or_default()
            )));
        }
    }
    // VUID-VkSubpassDescription-attachment-00853, -pPreserveAttachments-00854.
    for &p in &s.preserve_attachments {
        if p == ATTACHMENT_UNUSED || p as usize >= attachments.len() {
            return Err(invalid(format!(
                "subpass {index}: preserve attachment {p} is not an attachment"
            )));
        }
        let used =
            colors.contains(&Some(p)) || depth_stencil == Some(p) || inputs.contains(&Some(p));
        if used {
            return Err(invalid(format!(
                "subpass {index}: preserve attachment {p} is used by the subpass"
            )));
        }
    }
    Ok(Subpass {
        colors,
        depth_stencil,
        inputs,
        view_mask: s.view_mask,
    })
}

/// A framebuffer: its render pass's attachment formats (for compatibility checks), views,
/// extent and layers.
#[derive(Debug)]
pub(crate) struct FramebufferObject {
    pub(crate) views: Vec<Arc<ImageViewObject>>,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) layers: u32,
}

impl FramebufferObject {
    pub(crate) fn host_bytes(attachments: usize) -> u64 {
        attachments as u64 * 16
    }

    /// vkCreateFramebuffer's valid usage (VUID-VkFramebufferCreateInfo-attachmentCount-00876,
    /// -pAttachments-00877/00879/02633 usage, -00880 format, -00881 samples, -00882/00883
    /// extent and one level, -04535 layers, -00884 identity swizzle, -width-00885..-layers-00890).
    pub(crate) fn new(
        render_pass: &RenderPassObject,
        attachments: &[u64],
        images: &Images,
        width: u32,
        height: u32,
        layers: u32,
    ) -> Result<FramebufferObject, ExecError> {
        if width == 0 || height == 0 || layers == 0 {
            return Err(invalid("framebuffer with a zero dimension".into()));
        }
        if width > MAX_IMAGE_DIMENSION_2D
            || height > MAX_IMAGE_DIMENSION_2D
            || layers > MAX_IMAGE_ARRAY_LAYERS
        {
            return Err(invalid(format!(
                "framebuffer {width}×{height}×{layers} exceeds maxFramebuffer limits"
            )));
        }
        if attachments.len() != render_pass.attachments.len() {
            return Err(invalid(format!(
                "{} views for a render pass of {} attachments",
                attachments.len(),
                render_pass.attachments.len()
            )));
        }
        // VUID-VkFramebufferCreateInfo-renderPass-02531: a multiview render pass renders
        // one framebuffer layer per view, so the framebuffer has one layer.
        if render_pass.is_multiview() && layers != 1 {
            return Err(invalid(format!(
                "framebuffer of {layers} layers for a multiview render pass (must be 1)"
            )));
        }
        let mut views = Vec::with_capacity(attachments.len());
        for (i, (&id, a)) in attachments.iter().zip(&render_pass.attachments).enumerate() {
            let view = images.view(id)?.clone();
            check_attachment_view(&format!("attachment {i} (view {id})"), &view, a.format)?;
            let [w, h, _] = view.extent();
            if w < width || h < height || view.layer_count < layers {
                return Err(invalid(format!(
                    "attachment {i} (view {id}) of {w}×{h}×{} is smaller than the framebuffer {width}×{height}×{layers}",
                    view.layer_count
                )));
            }
            // VUID-VkFramebufferCreateInfo-renderPass-04536: a layer for every view rendered.
            let view_layers = layers_for_views(render_pass.views_of(i));
            if view.layer_count < view_layers {
                return Err(invalid(format!(
                    "attachment {i} (view {id}) has {} layers, its views need {view_layers}",
                    view.layer_count
                )));
            }
            let mut needed = 0;
            for s in &render_pass.subpasses {
                let index = Some(i as u32);
                if s.colors.contains(&index) {
                    needed |= usage::COLOR_ATTACHMENT;
                }
                if s.depth_stencil == index {
                    needed |= usage::DEPTH_STENCIL_ATTACHMENT;
                }
                if s.inputs.contains(&index) {
                    needed |= usage::INPUT_ATTACHMENT;
                }
            }
            view.image.check_usage(view.image_id, needed)?;
            views.push(view);
        }
        Ok(FramebufferObject {
            views,
            width,
            height,
            layers,
        })
    }
}

/// A view used as an attachment: of `format`, one mip level, the identity swizzle, and for a
/// depth/stencil format every aspect the format has.
pub(crate) fn check_attachment_view(
    what: &str,
    view: &ImageViewObject,
    format: Format,
) -> Result<(), ExecError> {
    if view.format != format {
        return Err(invalid(format!(
            "{what} has format {:?}, the render pass says {format:?}",
            view.format
        )));
    }
    if view.level_count != 1 {
        return Err(invalid(format!(
            "{what} has {} mip levels; an attachment view has one",
            view.level_count
        )));
    }
    if !is_identity_swizzle(view.components) {
        return Err(invalid(format!(
            "{what} does not have the identity swizzle"
        )));
    }
    if view.image.desc.image_type == protocol::image::ImageType::D3 {
        return Err(invalid(format!(
            "{what}: rendering to 3D image slices is not supported"
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    pub(crate) fn attachment(format: Format, load_op: u32) -> AttachmentDescription {
        AttachmentDescription {
            flags: 0,
            format: format.vk(),
            samples: 1,
            load_op,
            store_op: 0,
            stencil_load_op: 2,
            stencil_store_op: 1,
        }
    }

    fn at(a: u32) -> AttachmentReference {
        AttachmentReference {
            attachment: a,
            aspect_mask: 0,
        }
    }

    fn subpass(colors: &[u32], depth: Option<u32>) -> SubpassDescription {
        SubpassDescription {
            flags: 0,
            input_attachments: vec![],
            color_attachments: colors.iter().map(|&a| at(a)).collect(),
            resolve_attachments: vec![],
            depth_stencil_attachment: depth.map(at),
            preserve_attachments: vec![],
            view_mask: 0,
        }
    }

    #[test]
    fn first_use_is_the_first_subpass_naming_the_attachment() {
        let atts = [
            attachment(Format::R8G8B8A8_UNORM, 1),
            attachment(Format::R8G8B8A8_UNORM, 1),
            attachment(Format::D32_SFLOAT, 1),
            attachment(Format::R8_UNORM, 0),
        ];
        let mut second = subpass(&[1, ATTACHMENT_UNUSED], Some(2));
        second.input_attachments = vec![at(0)];
        let rp = RenderPassObject::new(&atts, &[subpass(&[0], None), second]).unwrap();
        let uses: Vec<_> = rp.attachments.iter().map(|a| a.first_use).collect();
        assert_eq!(uses, [Some(0), Some(1), Some(1), None]);
        assert_eq!(rp.subpasses[1].colors, [Some(1), None]);
    }

    #[test]
    fn malformed_render_passes_are_refused() {
        let color = attachment(Format::R8G8B8A8_UNORM, 1);
        let depth = attachment(Format::D24_UNORM_S8_UINT, 1);
        let atts = [color, depth];
        let cases: Vec<(Vec<AttachmentDescription>, Vec<SubpassDescription>)> = vec![
            (atts.to_vec(), vec![]),
            (atts.to_vec(), vec![subpass(&[2], None)]),
            (atts.to_vec(), vec![subpass(&[1], None)]),
            (atts.to_vec(), vec![subpass(&[0], Some(0))]),
            (atts.to_vec(), vec![subpass(&[0, 0], None)]),
            (atts.to_vec(), vec![subpass(&[0; 9], None)]),
            (
                vec![AttachmentDescription {
                    samples: 4,
                    ..color
                }],
                vec![subpass(&[0], None)],
            ),
            (
                vec![AttachmentDescription { format: 0, ..color }],
                vec![subpass(&[0], None)],
            ),
            (
                vec![AttachmentDescription {
                    load_op: 7,
                    ..color
                }],
                vec![subpass(&[0], None)],
            ),
            (
                vec![AttachmentDescription {
                    store_op: 7,
                    ..color
                }],
                vec![subpass(&[0], None)],
            ),
            (vec![color; 65], vec![subpass(&[0], None)]),
        ];
        for (a, s) in cases {
            assert!(RenderPassObject::new(&a, &s).is_err(), "{a:?} {s:?}");
        }
        let mut resolve = subpass(&[0], None);
        resolve.resolve_attachments = vec![at(1)];
        let mut multiview = subpass(&[0], None);
        multiview.view_mask = 1 << MAX_MULTIVIEW_VIEW_COUNT;
        let mut preserve = subpass(&[0], None);
        preserve.preserve_attachments = vec![0];
        let mut flagged = subpass(&[0], None);
        flagged.flags = 1;
        for s in [resolve, multiview, preserve, flagged] {
            assert!(RenderPassObject::new(&atts, &[s]).is_err());
        }
        let mut unused_resolve = subpass(&[0], Some(1));
        unused_resolve.resolve_attachments = vec![at(ATTACHMENT_UNUSED)];
        unused_resolve.preserve_attachments = vec![];
        assert!(RenderPassObject::new(&atts, &[unused_resolve]).is_ok());
    }
}
