//! VkRenderPass (vkCreateRenderPass and VK_KHR_create_renderpass2) and VkFramebuffer. The
//! device runs a queue's commands in order, so subpass dependencies do not travel; what the
//! ICD keeps of a render pass is what pipeline creation needs to know (which subpasses use
//! colour and depth/stencil attachments, Vulkan §10.2's "ignored" rules).

use crate::device::{device, Device};
use crate::entry::{guard, guard_void, slice, walk_chain, write_out};
use crate::error::{IcdError, IcdResult};
use crate::handle::{new_id, object, take_object, to_handle};
use ash::vk;
use protocol::graphics::{AttachmentDescription, AttachmentReference, SubpassDescription};
use protocol::stream::{
    CreateFramebuffer, CreateRenderPass, DestroyFramebuffer, DestroyRenderPass,
};

/// What pipeline creation needs to know of one subpass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SubpassUse {
    pub(crate) color_attachments: u32,
    /// Some colour reference is not `VK_ATTACHMENT_UNUSED`.
    pub(crate) uses_color: bool,
    pub(crate) uses_depth_stencil: bool,
}

pub(crate) struct RenderPass {
    pub(crate) id: u64,
    pub(crate) attachments: u32,
    pub(crate) subpasses: Vec<SubpassUse>,
}

pub(crate) struct Framebuffer {
    pub(crate) id: u64,
}

/// # Safety
/// `h` is null or a live render pass of ours.
pub(crate) unsafe fn render_pass<'a>(h: vk::RenderPass) -> IcdResult<&'a RenderPass> {
    // SAFETY: caller contract.
    unsafe { object::<_, RenderPass>(h) }.ok_or_else(|| crate::handle::null_handle("render pass"))
}

/// # Safety
/// `h` is null or a live framebuffer of ours.
pub(crate) unsafe fn framebuffer<'a>(h: vk::Framebuffer) -> IcdResult<&'a Framebuffer> {
    // SAFETY: caller contract.
    unsafe { object::<_, Framebuffer>(h) }.ok_or_else(|| crate::handle::null_handle("framebuffer"))
}

fn invalid(what: impl Into<String>) -> IcdError {
    IcdError::vk(vk::Result::ERROR_INITIALIZATION_FAILED, what)
}

/// Attachment indices must name an attachment of the pass (VUID-VkRenderPassCreateInfo-
/// attachment-00834).
fn check_reference(r: &AttachmentReference, count: usize) -> IcdResult<()> {
    if r.attachment != protocol::graphics::ATTACHMENT_UNUSED && r.attachment as usize >= count {
        return Err(invalid(format!(
            "attachment reference {} of {count} attachments",
            r.attachment
        )));
    }
    Ok(())
}

/// Validates the converted description, queues it and makes the handle.
fn finish(
    dev: &Device,
    attachments: Vec<AttachmentDescription>,
    subpasses: Vec<SubpassDescription>,
) -> IcdResult<RenderPass> {
    for a in &attachments {
        if a.samples != vk::SampleCountFlags::TYPE_1.as_raw() {
            return Err(IcdError::vk(
                vk::Result::ERROR_FEATURE_NOT_PRESENT,
                format!("attachment with {} samples (only 1)", a.samples),
            ));
        }
    }
    let mut uses = Vec::with_capacity(subpasses.len());
    for s in &subpasses {
        // VUID-VkSubpassDescription2-viewMask-06706: views below maxMultiviewViewCount.
        if s.view_mask >> crate::physical_device::MAX_MULTIVIEW_VIEW_COUNT != 0 {
            return Err(invalid(
                "view mask names views beyond maxMultiviewViewCount",
            ));
        }
        if !s.resolve_attachments.is_empty()
            && s.resolve_attachments.len() != s.color_attachments.len()
        {
            return Err(invalid("resolve attachments not one per colour attachment"));
        }
        let refs = s
            .input_attachments
            .iter()
            .chain(&s.color_attachments)
            .chain(&s.resolve_attachments)
            .chain(&s.depth_stencil_attachment);
        for r in refs {
            check_reference(r, attachments.len())?;
        }
        uses.push(SubpassUse {
            color_attachments: s.color_attachments.len() as u32,
            uses_color: s
                .color_attachments
                .iter()
                .any(|r| r.attachment != protocol::graphics::ATTACHMENT_UNUSED),
            uses_depth_stencil: s
                .depth_stencil_attachment
                .is_some_and(|r| r.attachment != protocol::graphics::ATTACHMENT_UNUSED),
        });
    }
    if subpasses.is_empty() {
        return Err(invalid("render pass without subpasses"));
    }
    let id = new_id();
    let n = attachments.len() as u32;
    dev.enqueue(CreateRenderPass {
        id,
        attachments,
        subpasses,
    })?;
    Ok(RenderPass {
        id,
        attachments: n,
        subpasses: uses,
    })
}

fn reference(r: &vk::AttachmentReference) -> AttachmentReference {
    AttachmentReference {
        attachment: r.attachment,
        aspect_mask: 0,
    }
}

fn reference2(r: &vk::AttachmentReference2<'_>) -> AttachmentReference {
    AttachmentReference {
        attachment: r.attachment,
        aspect_mask: r.aspect_mask.as_raw(),
    }
}

/// # Safety
/// Vulkan valid usage for `vkCreateRenderPass`.
pub(crate) unsafe extern "system" fn create_render_pass(
    dev: vk::Device,
    p_create_info: *const vk::RenderPassCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_render_pass: *mut vk::RenderPass,
) -> vk::Result {
    guard("vkCreateRenderPass", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage (null checked).
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| invalid("null create info"))?;
        let mut view_masks: &[u32] = &[];
        let mut input_aspects: &[vk::InputAttachmentAspectReference] = &[];
        // SAFETY: the app's valid chain; each structure cast to the type its sType names.
        unsafe {
            walk_chain(info.p_next, |ty, p| match ty {
                vk::StructureType::RENDER_PASS_MULTIVIEW_CREATE_INFO => {
                    let m = &*(p as *const vk::RenderPassMultiviewCreateInfo<'_>);
                    view_masks = slice(m.p_view_masks, m.subpass_count);
                }
                vk::StructureType::RENDER_PASS_INPUT_ATTACHMENT_ASPECT_CREATE_INFO => {
                    let a = &*(p as *const vk::RenderPassInputAttachmentAspectCreateInfo<'_>);
                    input_aspects = slice(a.p_aspect_references, a.aspect_reference_count);
                }
                _ => {}
            })
        };
        // SAFETY: (pointer, count) pairs of a valid create info.
        let attachments = unsafe { slice(info.p_attachments, info.attachment_count) }
            .iter()
            .map(|a| AttachmentDescription {
                flags: a.flags.as_raw(),
                format: a.format.as_raw() as u32,
                samples: a.samples.as_raw(),
                load_op: a.load_op.as_raw() as u32,
                store_op: a.store_op.as_raw() as u32,
                stencil_load_op: a.stencil_load_op.as_raw() as u32,
                stencil_store_op: a.stencil_store_op.as_raw() as u32,
            })
            .collect();
        let mut subpasses = Vec::new();
        // SAFETY: as above.
        for (i, s) in unsafe { slice(info.p_subpasses, info.subpass_count) }
            .iter()
            .enumerate()
        {
            if s.pipeline_bind_point != vk::PipelineBindPoint::GRAPHICS {
                return Err(invalid("subpass of a non-graphics bind point"));
            }
            // SAFETY: (pointer, count) pairs of a valid subpass description.
            let (inputs, colors, preserve) = unsafe {
                (
                    slice(s.p_input_attachments, s.input_attachment_count),
                    slice(s.p_color_attachments, s.color_attachment_count),
                    slice(s.p_preserve_attachments, s.preserve_attachment_count),
                )
            };
            let mut input_attachments: Vec<_> = inputs.iter().map(reference).collect();
            for a in input_aspects.iter().filter(|a| a.subpass as usize == i) {
                if let Some(r) = input_attachments.get_mut(a.input_attachment_index as usize) {
                    r.aspect_mask = a.aspect_mask.as_raw();
                }
            }
            let resolve_attachments = if s.p_resolve_attachments.is_null() {
                Vec::new()
            } else {
                // SAFETY: one per colour attachment when non-null (valid usage).
                unsafe { slice(s.p_resolve_attachments, s.color_attachment_count) }
                    .iter()
                    .map(reference)
                    .collect()
            };
            subpasses.push(SubpassDescription {
                flags: s.flags.as_raw(),
                input_attachments,
                color_attachments: colors.iter().map(reference).collect(),
                resolve_attachments,
                // SAFETY: null or valid (valid usage).
                depth_stencil_attachment: unsafe { s.p_depth_stencil_attachment.as_ref() }
                    .map(reference),
                preserve_attachments: preserve.to_vec(),
                view_mask: view_masks.get(i).copied().unwrap_or(0),
            });
        }
        let rp = finish(dev, attachments, subpasses)?;
        // SAFETY: output pointer (valid usage; null checked).
        unsafe { write_out(p_render_pass, to_handle(rp)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkCreateRenderPass2`.
pub(crate) unsafe extern "system" fn create_render_pass2_khr(
    dev: vk::Device,
    p_create_info: *const vk::RenderPassCreateInfo2<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_render_pass: *mut vk::RenderPass,
) -> vk::Result {
    guard("vkCreateRenderPass2KHR", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage (null checked).
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| invalid("null create info"))?;
        // SAFETY: (pointer, count) pairs of a valid create info.
        let attachments = unsafe { slice(info.p_attachments, info.attachment_count) }
            .iter()
            .map(|a| AttachmentDescription {
                flags: a.flags.as_raw(),
                format: a.format.as_raw() as u32,
                samples: a.samples.as_raw(),
                load_op: a.load_op.as_raw() as u32,
                store_op: a.store_op.as_raw() as u32,
                stencil_load_op: a.stencil_load_op.as_raw() as u32,
                stencil_store_op: a.stencil_store_op.as_raw() as u32,
            })
            .collect();
        let mut subpasses = Vec::new();
        // SAFETY: as above.
        for s in unsafe { slice(info.p_subpasses, info.subpass_count) } {
            if s.pipeline_bind_point != vk::PipelineBindPoint::GRAPHICS {
                return Err(invalid("subpass of a non-graphics bind point"));
            }
            let mut ds_resolve = false;
            // SAFETY: the subpass's valid chain; types only, plus the one structure read.
            unsafe {
                walk_chain(s.p_next, |ty, p| {
                    if ty == vk::StructureType::SUBPASS_DESCRIPTION_DEPTH_STENCIL_RESOLVE {
                        let r = &*(p as *const vk::SubpassDescriptionDepthStencilResolve<'_>);
                        ds_resolve |= r
                            .p_depth_stencil_resolve_attachment
                            .as_ref()
                            .is_some_and(|a| a.attachment != vk::ATTACHMENT_UNUSED);
                    }
                })
            };
            if ds_resolve {
                // Resolving needs a multisampled source; only one sample is offered.
                return Err(IcdError::vk(
                    vk::Result::ERROR_FEATURE_NOT_PRESENT,
                    "depth/stencil resolve without multisampling",
                ));
            }
            // SAFETY: (pointer, count) pairs of a valid subpass description.
            let (inputs, colors, preserve) = unsafe {
                (
                    slice(s.p_input_attachments, s.input_attachment_count),
                    slice(s.p_color_attachments, s.color_attachment_count),
                    slice(s.p_preserve_attachments, s.preserve_attachment_count),
                )
            };
            let resolve_attachments = if s.p_resolve_attachments.is_null() {
                Vec::new()
            } else {
                // SAFETY: one per colour attachment when non-null (valid usage).
                unsafe { slice(s.p_resolve_attachments, s.color_attachment_count) }
                    .iter()
                    .map(reference2)
                    .collect()
            };
            subpasses.push(SubpassDescription {
                flags: s.flags.as_raw(),
                input_attachments: inputs.iter().map(reference2).collect(),
                color_attachments: colors.iter().map(reference2).collect(),
                resolve_attachments,
                // SAFETY: null or valid (valid usage).
                depth_stencil_attachment: unsafe { s.p_depth_stencil_attachment.as_ref() }
                    .map(reference2),
                preserve_attachments: preserve.to_vec(),
                view_mask: s.view_mask,
            });
        }
        let rp = finish(dev, attachments, subpasses)?;
        // SAFETY: output pointer (valid usage; null checked).
        unsafe { write_out(p_render_pass, to_handle(rp)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyRenderPass`.
pub(crate) unsafe extern "system" fn destroy_render_pass(
    dev: vk::Device,
    rp: vk::RenderPass,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyRenderPass", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live render pass, not used again (valid usage).
        if let Some(rp) = unsafe { take_object::<_, RenderPass>(rp) } {
            dev.enqueue(DestroyRenderPass { id: rp.id })?;
        }
        Ok(())
    })
}

/// Pixels are shaded one by one in any tile: the render area can be anything.
///
/// # Safety
/// Vulkan valid usage for `vkGetRenderAreaGranularity`.
pub(crate) unsafe extern "system" fn get_render_area_granularity(
    _dev: vk::Device,
    _rp: vk::RenderPass,
    p_granularity: *mut vk::Extent2D,
) {
    guard_void("vkGetRenderAreaGranularity", || {
        // SAFETY: output pointer (valid usage; null checked).
        unsafe {
            write_out(
                p_granularity,
                vk::Extent2D {
                    width: 1,
                    height: 1,
                },
            )
        }
    })
}

/// # Safety
/// Vulkan valid usage for `vkCreateFramebuffer`.
pub(crate) unsafe extern "system" fn create_framebuffer(
    dev: vk::Device,
    p_create_info: *const vk::FramebufferCreateInfo<'_>,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
    p_framebuffer: *mut vk::Framebuffer,
) -> vk::Result {
    guard("vkCreateFramebuffer", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: valid usage (null checked).
        let info = unsafe { p_create_info.as_ref() }.ok_or_else(|| invalid("null create info"))?;
        if info.flags.contains(vk::FramebufferCreateFlags::IMAGELESS) {
            return Err(IcdError::vk(
                vk::Result::ERROR_FEATURE_NOT_PRESENT,
                "imageless framebuffers are not offered",
            ));
        }
        // SAFETY: valid usage.
        let rp = unsafe { render_pass(info.render_pass) }?;
        if info.attachment_count != rp.attachments {
            return Err(invalid(format!(
                "{} attachments for a render pass of {}",
                info.attachment_count, rp.attachments
            )));
        }
        let mut attachments = Vec::with_capacity(info.attachment_count as usize);
        // SAFETY: (pointer, count) of a valid create info.
        for v in unsafe { slice(info.p_attachments, info.attachment_count) } {
            // SAFETY: valid usage: live views of ours.
            attachments.push(unsafe { crate::image::image_view(*v) }?.id);
        }
        let id = new_id();
        dev.enqueue(CreateFramebuffer {
            id,
            render_pass: rp.id,
            attachments,
            width: info.width,
            height: info.height,
            layers: info.layers,
        })?;
        // SAFETY: output pointer (valid usage; null checked).
        unsafe { write_out(p_framebuffer, to_handle(Framebuffer { id })) }?;
        Ok(vk::Result::SUCCESS)
    })
}

/// # Safety
/// Vulkan valid usage for `vkDestroyFramebuffer`.
pub(crate) unsafe extern "system" fn destroy_framebuffer(
    dev: vk::Device,
    fb: vk::Framebuffer,
    _p_allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyFramebuffer", || {
        // SAFETY: valid usage.
        let dev: &Device = unsafe { device(dev) }?;
        // SAFETY: our live framebuffer, not used again (valid usage).
        if let Some(fb) = unsafe { take_object::<_, Framebuffer>(fb) } {
            dev.enqueue(DestroyFramebuffer { id: fb.id })?;
        }
        Ok(())
    })
}
