//! The top-level commands that create and destroy the objects of graphics work: images,
//! image views, render passes and framebuffers. Each is charged to the client's budget
//! ([`super::limits`]) before it is stored and returned when it is destroyed.

use std::mem::size_of;
use std::sync::Arc;

use protocol::stream::Command;

use super::context::VkContext;
use super::guest::GuestScope;
use super::image::{ImageObject, ImageViewObject};
use super::render_pass::{FramebufferObject, RenderPassObject};
use super::ExecError;

const IMAGE_BYTES: u64 = size_of::<ImageObject>() as u64;
const VIEW_BYTES: u64 = size_of::<ImageViewObject>() as u64;

impl VkContext {
    /// Executes `cmd` if it is one of this file's; `Ok(Some(cmd))` hands it back otherwise.
    pub(crate) fn execute_render_object(
        &mut self,
        cmd: Command,
        scope: &GuestScope<'_>,
    ) -> Result<Option<Command>, ExecError> {
        match cmd {
            Command::CreateImage(c) => {
                self.images.images.check_new(c.id)?;
                let image = ImageObject::new(&c.info)?;
                self.account.reserve_object(IMAGE_BYTES)?;
                self.images.images.insert(c.id, Arc::new(image))?;
            }
            Command::DestroyImage(c) => {
                self.images.images.remove(c.id)?;
                self.account.release_object(IMAGE_BYTES);
            }
            Command::BindImageMemory(c) => self.images.bind(c.image, c.memory, scope)?,
            Command::CreateImageView(c) => {
                self.images.views.check_new(c.id)?;
                let image = self.images.image(c.info.image)?.clone();
                let view = ImageViewObject::new(&c.info, image)?;
                self.account.reserve_object(VIEW_BYTES)?;
                self.images.views.insert(c.id, Arc::new(view))?;
            }
            Command::DestroyImageView(c) => {
                self.images.views.remove(c.id)?;
                self.account.release_object(VIEW_BYTES);
            }
            Command::CreateRenderPass(c) => {
                self.render_passes.check_new(c.id)?;
                let rp = RenderPassObject::new(&c.attachments, &c.subpasses)?;
                self.account.reserve_object(rp.host_bytes)?;
                self.render_passes.insert(c.id, Arc::new(rp))?;
            }
            Command::DestroyRenderPass(c) => {
                let rp = self.render_passes.remove(c.id)?;
                self.account.release_object(rp.host_bytes);
            }
            Command::CreateFramebuffer(c) => {
                self.framebuffers.check_new(c.id)?;
                let rp = self.render_passes.get(c.render_pass)?;
                let fb = FramebufferObject::new(
                    rp,
                    &c.attachments,
                    &self.images,
                    c.width,
                    c.height,
                    c.layers,
                )?;
                self.account
                    .reserve_object(FramebufferObject::host_bytes(fb.views.len()))?;
                self.framebuffers.insert(c.id, Arc::new(fb))?;
            }
            Command::DestroyFramebuffer(c) => {
                let fb = self.framebuffers.remove(c.id)?;
                self.account
                    .release_object(FramebufferObject::host_bytes(fb.views.len()));
            }
            other => return Ok(Some(other)),
        }
        Ok(None)
    }
}
