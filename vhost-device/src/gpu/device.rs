//! The virtio-gpu device state for one frontend: resources (2D images, buffer and blob
//! resources backed by guest RAM), 3D contexts, the scanout. Executes decoded commands in
//! order. A `SUBMIT_3D` can instead be split off as a [`QueuedSubmit`] (see
//! [`VirtioGpu::process_deferred`]) that runs on the backend's queue thread, so the control
//! queue keeps serving while shaders run; the submission carries the views it may use, taken
//! when it was queued.
//!
//! Owns every resource's backing view (`Arc<GuestView>`); a context's submission sees only the
//! resources attached to that context, through [`ResourceViews`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use protocol::{Capset, SOFTGPU_CAPSET_VK};
use virtio_bindings::virtio_gpu as vg;
use vm_memory::bitmap::Bitmap;
use vm_memory::{GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

use super::display::{channel_order, to_x8r8g8b8, Display, CURSOR_SIZE};
use super::edid::edid_1280x800;
use super::view::{GuestView, MemEntry, ViewBudget};
use super::wire::{
    self, Create3d, DecodeLimits, GpuCommand, GpuResponse, Rect, Request, Transfer3d,
};
use super::{GpuError, NUM_SCANOUTS, SCANOUT_HEIGHT, SCANOUT_WIDTH};
use crate::context::{ContextBackend, ContextFactory, GuestMemoryView, ResourceViews};

/// Gallium's `PIPE_BUFFER`: the only `RESOURCE_CREATE_3D` target we support.
pub const PIPE_BUFFER: u32 = 0;
/// All 2D formats virtio-gpu defines are 4 bytes per pixel.
const BYTES_PER_PIXEL: u64 = 4;

/// Stream bytes the queued, not yet run `SUBMIT_3D`s of one frontend may hold together by
/// default. The virtqueue bounds how many there are, this how much host memory their copies
/// take (each may be up to the capset's `max_stream_size`).
pub const DEFAULT_MAX_QUEUED_STREAM_BYTES: u64 = 256 << 20;

/// Bytes charged for one queued stream, returned when the submission has run or is dropped.
struct QueuedBytes {
    total: Arc<AtomicU64>,
    bytes: u64,
}

impl QueuedBytes {
    fn reserve(total: &Arc<AtomicU64>, bytes: u64, limit: u64) -> Result<QueuedBytes, GpuError> {
        total
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|&t| t <= limit)
            })
            .map_err(|used| {
                GpuError::OutOfMemory(format!(
                    "SUBMIT_3D of {bytes} bytes: {used} bytes of submissions already queued, the limit is {limit}"
                ))
            })?;
        Ok(QueuedBytes {
            total: Arc::clone(total),
            bytes,
        })
    }
}

impl Drop for QueuedBytes {
    fn drop(&mut self) {
        self.total.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// Feature bits the driver acknowledged that change command handling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    pub context_init: bool,
    pub resource_blob: bool,
}

/// What one frontend may use.
#[derive(Clone, Debug)]
pub struct DeviceLimits {
    /// The capset answered to `GET_CAPSET`. Its `device_memory_budget` is the host's cap; the
    /// answer is the smaller of it and the guest's RAM.
    pub capset: Capset,
    /// Guest-memory mappings all views together may use (far below `vm.max_map_count`).
    pub max_mapping_runs: usize,
    pub max_resources: usize,
    pub max_contexts: usize,
    /// Host memory all 2D images together may use.
    pub max_image_bytes: u64,
}

enum ResourceKind {
    /// A 2D resource: host pixels that TRANSFER_TO_HOST_2D fills from the backing.
    Image {
        format: u32,
        width: u32,
        height: u32,
        pixels: Vec<u8>,
    },
    /// A buffer (`RESOURCE_CREATE_3D`, `PIPE_BUFFER`) or guest blob: the backing is the memory.
    Memory,
}

struct Resource {
    kind: ResourceKind,
    /// Bytes the backing must cover.
    size: u64,
    backing: Option<Arc<GuestView>>,
}

struct Context {
    /// Shared with queued submissions, which keep the context alive until they have run.
    backend: Arc<Mutex<Box<dyn ContextBackend>>>,
    attached: HashSet<u32>,
}

/// What [`VirtioGpu::process_deferred`] made of a request.
pub enum Processed {
    /// Done: the response bytes.
    Done(Vec<u8>),
    /// A `SUBMIT_3D` to run later, in order with the other queued ones.
    Queued(QueuedSubmit),
}

/// A `SUBMIT_3D` taken off the control queue: the context, the stream, and the views of the
/// resources attached to the context at the moment it was queued (each `Arc` keeps its guest
/// memory mapped until the submission has run, whatever the guest does meanwhile).
pub struct QueuedSubmit {
    hdr: wire::CtrlHeader,
    ctx_id: u32,
    backend: Arc<Mutex<Box<dyn ContextBackend>>>,
    stream: Vec<u8>,
    views: HashMap<u32, Arc<GuestView>>,
    /// Held until the submission is done with its stream.
    _queued: QueuedBytes,
}

impl QueuedSubmit {
    /// True if the request asked for a fence.
    pub fn fenced(&self) -> bool {
        self.hdr.fenced()
    }

    /// Runs the submission to completion; returns the response bytes.
    pub fn run(self) -> Vec<u8> {
        let views = SnapshotViews(&self.views);
        let mut backend = self.backend.lock().unwrap_or_else(|p| p.into_inner());
        let result = backend
            .submit(&self.stream, &views)
            .map(|()| GpuResponse::OkNoData)
            .map_err(|e| {
                log::warn!("context {}: submission failed: {e}", self.ctx_id);
                GpuError::InvalidParameter(e.to_string())
            });
        wire::encode_response(&self.hdr, &result)
    }
}

struct SnapshotViews<'a>(&'a HashMap<u32, Arc<GuestView>>);

impl ResourceViews for SnapshotViews<'_> {
    fn view(&self, resource: u32) -> Option<Arc<dyn GuestMemoryView>> {
        self.0
            .get(&resource)
            .map(|v| Arc::clone(v) as Arc<dyn GuestMemoryView>)
    }
}

/// The device model of one frontend connection.
pub struct VirtioGpu {
    features: Features,
    limits: DeviceLimits,
    factory: Arc<dyn ContextFactory>,
    resources: HashMap<u32, Resource>,
    contexts: HashMap<u32, Context>,
    scanout_resource: u32,
    /// The part of the scanout resource shown (SET_SCANOUT's rectangle).
    scanout_rect: Rect,
    /// Where scanouts go (QEMU's display socket); `None`: headless.
    display: Option<Box<dyn Display>>,
    /// Bytes and mappings held by attached backings (views kept alive only by work in flight
    /// are not counted: they go when that work ends).
    mapped_bytes: u64,
    mapped_runs: usize,
    image_bytes: u64,
    /// Stream bytes of submissions queued and not yet run (shared with them).
    queued_stream_bytes: Arc<AtomicU64>,
    max_queued_stream_bytes: u64,
}

impl VirtioGpu {
    pub fn new(factory: Arc<dyn ContextFactory>, limits: DeviceLimits) -> VirtioGpu {
        VirtioGpu {
            features: Features::default(),
            limits,
            factory,
            resources: HashMap::new(),
            contexts: HashMap::new(),
            scanout_resource: 0,
            scanout_rect: Rect::default(),
            display: None,
            mapped_bytes: 0,
            mapped_runs: 0,
            queued_stream_bytes: Arc::new(AtomicU64::new(0)),
            max_queued_stream_bytes: DEFAULT_MAX_QUEUED_STREAM_BYTES,
            image_bytes: 0,
        }
    }

    /// Sends scanouts and the cursor to `display` from now on.
    pub fn set_display(&mut self, display: Box<dyn Display>) {
        self.display = Some(display);
    }

    /// Runs `send` on the display, if there is one; a display that fails is dropped (the VMM
    /// closed it), with one log line, and the device carries on headless.
    fn to_display(&mut self, send: impl FnOnce(&dyn Display) -> std::io::Result<()>) {
        if let Some(d) = &self.display {
            if let Err(e) = send(d.as_ref()) {
                log::warn!("display socket: {e}; continuing headless");
                self.display = None;
            }
        }
    }

    /// Sends the part of `rect` (resource coordinates) that the scanout shows.
    fn present(&mut self, resource_id: u32, rect: &Rect) {
        if self.display.is_none() || resource_id == 0 || resource_id != self.scanout_resource {
            return;
        }
        let s = self.scanout_rect;
        let (x0, y0) = (rect.x.max(s.x), rect.y.max(s.y));
        let x1 =
            (u64::from(rect.x) + u64::from(rect.width)).min(u64::from(s.x) + u64::from(s.width));
        let y1 =
            (u64::from(rect.y) + u64::from(rect.height)).min(u64::from(s.y) + u64::from(s.height));
        if x1 <= u64::from(x0) || y1 <= u64::from(y0) {
            return;
        }
        // Within the resource (both rectangles were checked against it): fits u32.
        let (w, h) = ((x1 - u64::from(x0)) as u32, (y1 - u64::from(y0)) as u32);
        let Some(Resource {
            kind:
                ResourceKind::Image {
                    format,
                    width,
                    pixels,
                    ..
                },
            ..
        }) = self.resources.get(&resource_id)
        else {
            return;
        };
        let data = to_x8r8g8b8(pixels, *width as usize * 4, *format, x0, y0, w, h);
        self.to_display(|d| d.update(0, x0 - s.x, y0 - s.y, w, h, &data));
    }

    pub fn set_features(&mut self, features: Features) {
        self.features = features;
    }

    /// Drops every context, resource and view (device reset, or the frontend went away).
    pub fn reset(&mut self) {
        self.contexts.clear();
        self.resources.clear();
        self.scanout_resource = 0;
        self.mapped_bytes = 0;
        self.mapped_runs = 0;
        self.image_bytes = 0;
    }

    pub fn resource_count(&self) -> usize {
        self.resources.len()
    }

    pub fn context_count(&self) -> usize {
        self.contexts.len()
    }

    pub fn decode_limits(&self) -> DecodeLimits {
        DecodeLimits {
            max_stream_size: self.limits.capset.max_stream_size,
        }
    }

    /// Handles one request (its bytes copied out of the guest) and returns the response bytes;
    /// a `SUBMIT_3D` runs right here.
    /// Caps the stream bytes of queued, not yet run submissions (default
    /// [`DEFAULT_MAX_QUEUED_STREAM_BYTES`]); a `SUBMIT_3D` beyond it is answered
    /// `VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY`.
    pub fn set_max_queued_stream_bytes(&mut self, bytes: u64) {
        self.max_queued_stream_bytes = bytes;
    }

    /// Stream bytes of submissions queued and not yet run.
    pub fn queued_stream_bytes(&self) -> u64 {
        self.queued_stream_bytes.load(Ordering::Relaxed)
    }

    pub fn process<B: Bitmap>(&mut self, mem: &GuestMemoryMmap<B>, request: &[u8]) -> Vec<u8> {
        match self.process_deferred(mem, request) {
            Processed::Done(resp) => resp,
            Processed::Queued(submit) => submit.run(),
        }
    }

    /// As [`VirtioGpu::process`], but a valid `SUBMIT_3D` comes back as a [`QueuedSubmit`]
    /// for the caller to run (in order with the other queued submissions).
    pub fn process_deferred<B: Bitmap>(
        &mut self,
        mem: &GuestMemoryMmap<B>,
        request: &[u8],
    ) -> Processed {
        let hdr = match wire::decode_header(request) {
            Ok(h) => h,
            Err(e) => {
                log::debug!("virtio-gpu request refused: {e}");
                return Processed::Done(wire::encode_response(&Default::default(), &Err(e)));
            }
        };
        let result = wire::decode(request, &self.decode_limits()).and_then(|req| {
            let ctx_id = req.hdr.ctx_id;
            match req.cmd {
                GpuCommand::Submit3d { stream } => self.queue_submit(hdr, ctx_id, stream).map(Err),
                cmd => self.execute(mem, Request { hdr: req.hdr, cmd }).map(Ok),
            }
        });
        match result {
            Ok(Err(submit)) => Processed::Queued(submit),
            Ok(Ok(resp)) => Processed::Done(wire::encode_response(&hdr, &Ok(resp))),
            Err(e) => {
                log::debug!("virtio-gpu command {:#x} refused: {e}", hdr.type_);
                Processed::Done(wire::encode_response(&hdr, &Err(e)))
            }
        }
    }

    fn queue_submit(
        &mut self,
        hdr: wire::CtrlHeader,
        ctx_id: u32,
        stream: Vec<u8>,
    ) -> Result<QueuedSubmit, GpuError> {
        let ctx = self
            .contexts
            .get(&ctx_id)
            .ok_or(GpuError::InvalidContextId(ctx_id))?;
        let queued = QueuedBytes::reserve(
            &self.queued_stream_bytes,
            stream.len() as u64,
            self.max_queued_stream_bytes,
        )?;
        let views = ctx
            .attached
            .iter()
            .filter_map(|id| {
                let view = self.resources.get(id)?.backing.as_ref()?;
                Some((*id, Arc::clone(view)))
            })
            .collect();
        Ok(QueuedSubmit {
            hdr,
            ctx_id,
            backend: Arc::clone(&ctx.backend),
            stream,
            views,
            _queued: queued,
        })
    }

    fn execute<B: Bitmap>(
        &mut self,
        mem: &GuestMemoryMmap<B>,
        req: Request,
    ) -> Result<GpuResponse, GpuError> {
        let ctx_id = req.hdr.ctx_id;
        match req.cmd {
            GpuCommand::GetDisplayInfo => Ok(GpuResponse::DisplayInfo {
                scanouts: vec![(
                    Rect {
                        x: 0,
                        y: 0,
                        width: SCANOUT_WIDTH,
                        height: SCANOUT_HEIGHT,
                    },
                    true,
                )],
            }),
            GpuCommand::GetEdid { scanout } => {
                check_scanout(scanout)?;
                Ok(GpuResponse::Edid(edid_1280x800().to_vec()))
            }
            GpuCommand::GetCapsetInfo { index: 0 } => Ok(GpuResponse::CapsetInfo {
                id: SOFTGPU_CAPSET_VK,
                max_version: protocol::PROTOCOL_VERSION,
                max_size: Capset::ENCODED_SIZE as u32,
            }),
            GpuCommand::GetCapsetInfo { index } => Err(GpuError::InvalidParameter(format!(
                "capset index {index} (we have 1)"
            ))),
            GpuCommand::GetCapset { id, version } => {
                if id != SOFTGPU_CAPSET_VK || version > protocol::PROTOCOL_VERSION {
                    return Err(GpuError::InvalidParameter(format!(
                        "capset {id} version {version} (we have {SOFTGPU_CAPSET_VK} version ≤ {})",
                        protocol::PROTOCOL_VERSION
                    )));
                }
                let mut capset = self.limits.capset;
                capset.device_memory_budget = self.memory_budget(mem);
                Ok(GpuResponse::Capset(capset.encode()))
            }
            GpuCommand::ResourceCreate2d {
                resource_id,
                format,
                width,
                height,
            } => self.create_2d(resource_id, format, width, height),
            GpuCommand::ResourceCreate3d(c) => self.create_3d(ctx_id, &c),
            GpuCommand::ResourceCreateBlob {
                resource_id,
                blob_mem,
                size,
                entries,
                ..
            } => self.create_blob(mem, ctx_id, resource_id, blob_mem, size, &entries),
            GpuCommand::ResourceUnref { resource_id } => self.unref(resource_id),
            GpuCommand::ResourceAttachBacking {
                resource_id,
                entries,
            } => self.attach_backing(mem, resource_id, &entries),
            GpuCommand::ResourceDetachBacking { resource_id } => {
                let r = self.resource_mut(resource_id)?;
                let old = r.backing.take();
                self.release_view(old);
                Ok(GpuResponse::OkNoData)
            }
            GpuCommand::ResourceAssignUuid { resource_id } => {
                self.resource(resource_id)?;
                let mut uuid = *b"softgpu-res\0\0\0\0\0";
                uuid[12..].copy_from_slice(&resource_id.to_be_bytes());
                Ok(GpuResponse::ResourceUuid(uuid))
            }
            GpuCommand::SetScanout {
                rect,
                scanout_id,
                resource_id,
            } => {
                check_scanout(scanout_id)?;
                if resource_id != 0 {
                    let r = self.resource(resource_id)?;
                    let ResourceKind::Image { width, height, .. } = r.kind else {
                        return Err(GpuError::InvalidParameter(format!(
                            "resource {resource_id} is not a 2D resource"
                        )));
                    };
                    check_rect(&rect, width, height)?;
                }
                self.scanout_resource = resource_id;
                self.scanout_rect = rect;
                let (w, h) = if resource_id == 0 {
                    (0, 0)
                } else {
                    (rect.width, rect.height)
                };
                self.to_display(|d| d.scanout(scanout_id, w, h));
                if resource_id != 0 {
                    let whole = Rect {
                        x: rect.x,
                        y: rect.y,
                        width: rect.width,
                        height: rect.height,
                    };
                    self.present(resource_id, &whole);
                }
                Ok(GpuResponse::OkNoData)
            }
            GpuCommand::ResourceFlush { rect, resource_id } => {
                if let ResourceKind::Image { width, height, .. } = self.resource(resource_id)?.kind
                {
                    check_rect(&rect, width, height)?;
                }
                self.present(resource_id, &rect);
                Ok(GpuResponse::OkNoData)
            }
            GpuCommand::TransferToHost2d {
                rect,
                offset,
                resource_id,
            } => self.transfer_to_host_2d(resource_id, &rect, offset),
            GpuCommand::TransferToHost3d(t) | GpuCommand::TransferFromHost3d(t) => {
                self.transfer_3d(&t)
            }
            GpuCommand::CtxCreate { context_init, name } => {
                self.create_context(ctx_id, context_init, &name)
            }
            GpuCommand::CtxDestroy => {
                self.contexts
                    .remove(&ctx_id)
                    .ok_or(GpuError::InvalidContextId(ctx_id))?;
                Ok(GpuResponse::OkNoData)
            }
            GpuCommand::CtxAttachResource { resource_id } => {
                self.resource(resource_id)?;
                self.context_mut(ctx_id)?.attached.insert(resource_id);
                Ok(GpuResponse::OkNoData)
            }
            GpuCommand::CtxDetachResource { resource_id } => {
                if !self.context_mut(ctx_id)?.attached.remove(&resource_id) {
                    return Err(GpuError::InvalidResourceId(resource_id));
                }
                Ok(GpuResponse::OkNoData)
            }
            // `process_deferred` takes SUBMIT_3D before it gets here.
            GpuCommand::Submit3d { .. } => Err(GpuError::Unspec(
                "SUBMIT_3D outside the submission path".into(),
            )),
            GpuCommand::UpdateCursor {
                scanout_id,
                x,
                y,
                resource_id,
                hot_x,
                hot_y,
            } => {
                check_scanout(scanout_id)?;
                if resource_id == 0 {
                    self.to_display(|d| d.cursor_hide(scanout_id));
                    return Ok(GpuResponse::OkNoData);
                }
                let ResourceKind::Image {
                    format,
                    width,
                    height,
                    pixels,
                } = &self.resource(resource_id)?.kind
                else {
                    return Err(GpuError::InvalidParameter(format!(
                        "cursor resource {resource_id} is not a 2D resource"
                    )));
                };
                if (*width, *height) != (64, 64) {
                    return Err(GpuError::InvalidParameter(format!(
                        "cursor resource {resource_id} is {width}×{height}, not 64×64"
                    )));
                }
                let order = channel_order(*format).unwrap_or([0, 1, 2, 3]);
                let mut image = [0u8; CURSOR_SIZE];
                for (dst, px) in image.chunks_exact_mut(4).zip(pixels.chunks_exact(4)) {
                    dst.copy_from_slice(&[px[order[0]], px[order[1]], px[order[2]], px[order[3]]]);
                }
                self.to_display(|d| d.cursor_image(scanout_id, x, y, hot_x, hot_y, &image));
                Ok(GpuResponse::OkNoData)
            }
            GpuCommand::MoveCursor { scanout_id, x, y } => {
                check_scanout(scanout_id)?;
                self.to_display(|d| d.cursor_move(scanout_id, x, y));
                Ok(GpuResponse::OkNoData)
            }
        }
    }

    /// The device-memory budget of this client: the host's cap, at most the guest's RAM.
    fn memory_budget<B: Bitmap>(&self, mem: &GuestMemoryMmap<B>) -> u64 {
        let guest_ram: u64 = mem.iter().map(|r| r.len()).sum();
        self.limits.capset.device_memory_budget.min(guest_ram)
    }

    fn resource(&self, id: u32) -> Result<&Resource, GpuError> {
        self.resources
            .get(&id)
            .ok_or(GpuError::InvalidResourceId(id))
    }

    fn resource_mut(&mut self, id: u32) -> Result<&mut Resource, GpuError> {
        self.resources
            .get_mut(&id)
            .ok_or(GpuError::InvalidResourceId(id))
    }

    fn context_mut(&mut self, id: u32) -> Result<&mut Context, GpuError> {
        self.contexts
            .get_mut(&id)
            .ok_or(GpuError::InvalidContextId(id))
    }

    fn check_new_resource(&self, id: u32) -> Result<(), GpuError> {
        if id == 0 || self.resources.contains_key(&id) {
            return Err(GpuError::InvalidResourceId(id));
        }
        if self.resources.len() >= self.limits.max_resources {
            return Err(GpuError::OutOfMemory(format!(
                "{} resources is the limit",
                self.limits.max_resources
            )));
        }
        Ok(())
    }

    fn check_allocation_size(&self, size: u64) -> Result<(), GpuError> {
        if size == 0 || size > self.limits.capset.max_memory_allocation_size {
            return Err(GpuError::InvalidParameter(format!(
                "resource size {size} (1..={} allowed)",
                self.limits.capset.max_memory_allocation_size
            )));
        }
        Ok(())
    }

    fn create_2d(
        &mut self,
        id: u32,
        format: u32,
        width: u32,
        height: u32,
    ) -> Result<GpuResponse, GpuError> {
        self.check_new_resource(id)?;
        if !is_2d_format(format) {
            return Err(GpuError::InvalidParameter(format!(
                "unknown 2D format {format}"
            )));
        }
        if width == 0 || height == 0 {
            return Err(GpuError::InvalidParameter(format!(
                "2D resource of {width}×{height}"
            )));
        }
        // u32 × u32 × 4 can exceed u64: saturate, the limit check below refuses it.
        let bytes = (u64::from(width) * u64::from(height)).saturating_mul(BYTES_PER_PIXEL);
        let total = self.image_bytes.saturating_add(bytes);
        if total > self.limits.max_image_bytes {
            return Err(GpuError::OutOfMemory(format!(
                "2D images would use {total} bytes, the limit is {}",
                self.limits.max_image_bytes
            )));
        }
        let len = usize::try_from(bytes).map_err(|_| GpuError::OutOfMemory("image".into()))?;
        self.image_bytes = total;
        self.resources.insert(
            id,
            Resource {
                kind: ResourceKind::Image {
                    format,
                    width,
                    height,
                    pixels: vec![0; len],
                },
                size: bytes,
                backing: None,
            },
        );
        Ok(GpuResponse::OkNoData)
    }

    fn create_3d(&mut self, ctx_id: u32, c: &Create3d) -> Result<GpuResponse, GpuError> {
        self.check_new_resource(c.resource_id)?;
        if c.target != PIPE_BUFFER
            || c.height != 1
            || c.depth != 1
            || c.array_size != 1
            || c.last_level != 0
            || c.nr_samples > 1
        {
            return Err(GpuError::InvalidParameter(format!(
                "RESOURCE_CREATE_3D supports only buffers (target {PIPE_BUFFER}, height = depth = \
                 array_size = 1, one level, one sample), got {c:?}"
            )));
        }
        let size = u64::from(c.width);
        self.check_allocation_size(size)?;
        self.insert_memory_resource(ctx_id, c.resource_id, size, None);
        Ok(GpuResponse::OkNoData)
    }

    fn create_blob<B: Bitmap>(
        &mut self,
        mem: &GuestMemoryMmap<B>,
        ctx_id: u32,
        id: u32,
        blob_mem: u32,
        size: u64,
        entries: &[MemEntry],
    ) -> Result<GpuResponse, GpuError> {
        if !self.features.resource_blob {
            return Err(GpuError::Unspec(
                "RESOURCE_CREATE_BLOB without VIRTIO_GPU_F_RESOURCE_BLOB".into(),
            ));
        }
        if blob_mem != vg::VIRTIO_GPU_BLOB_MEM_GUEST {
            return Err(GpuError::InvalidParameter(format!(
                "blob_mem {blob_mem}: only BLOB_MEM_GUEST is supported"
            )));
        }
        self.check_new_resource(id)?;
        self.check_allocation_size(size)?;
        let view = self.map_view(mem, entries, size)?;
        self.insert_memory_resource(ctx_id, id, size, Some(view));
        Ok(GpuResponse::OkNoData)
    }

    /// Inserts a buffer/blob resource; created with a context id in the header, it is also
    /// attached to that context (if it exists).
    fn insert_memory_resource(
        &mut self,
        ctx_id: u32,
        id: u32,
        size: u64,
        backing: Option<Arc<GuestView>>,
    ) {
        self.resources.insert(
            id,
            Resource {
                kind: ResourceKind::Memory,
                size,
                backing,
            },
        );
        if let Some(ctx) = self.contexts.get_mut(&ctx_id) {
            ctx.attached.insert(id);
        }
    }

    fn unref(&mut self, id: u32) -> Result<GpuResponse, GpuError> {
        let r = self
            .resources
            .remove(&id)
            .ok_or(GpuError::InvalidResourceId(id))?;
        for ctx in self.contexts.values_mut() {
            ctx.attached.remove(&id);
        }
        if self.scanout_resource == id {
            self.scanout_resource = 0;
        }
        if let ResourceKind::Image { pixels, .. } = &r.kind {
            self.image_bytes -= pixels.len() as u64;
        }
        self.release_view(r.backing);
        Ok(GpuResponse::OkNoData)
    }

    fn map_view<B: Bitmap>(
        &mut self,
        mem: &GuestMemoryMmap<B>,
        entries: &[MemEntry],
        size: u64,
    ) -> Result<Arc<GuestView>, GpuError> {
        let budget = ViewBudget {
            bytes: self.memory_budget(mem).saturating_sub(self.mapped_bytes),
            runs: self
                .limits
                .max_mapping_runs
                .saturating_sub(self.mapped_runs),
        };
        let view = GuestView::map(mem, entries, size, budget)?;
        self.mapped_bytes += view.mapped_bytes();
        self.mapped_runs += view.runs();
        Ok(Arc::new(view))
    }

    /// Drops a resource's reference to its view; work in flight may still hold its own.
    fn release_view(&mut self, view: Option<Arc<GuestView>>) {
        if let Some(v) = view {
            self.mapped_bytes -= v.mapped_bytes();
            self.mapped_runs -= v.runs();
        }
    }

    fn attach_backing<B: Bitmap>(
        &mut self,
        mem: &GuestMemoryMmap<B>,
        id: u32,
        entries: &[MemEntry],
    ) -> Result<GpuResponse, GpuError> {
        let r = self.resource(id)?;
        if r.backing.is_some() {
            return Err(GpuError::InvalidParameter(format!(
                "resource {id} already has backing"
            )));
        }
        let size = r.size;
        let view = self.map_view(mem, entries, size)?;
        if let Ok(r) = self.resource_mut(id) {
            r.backing = Some(view);
        }
        Ok(GpuResponse::OkNoData)
    }

    fn transfer_to_host_2d(
        &mut self,
        id: u32,
        rect: &Rect,
        offset: u64,
    ) -> Result<GpuResponse, GpuError> {
        let r = self.resource_mut(id)?;
        let backing = r.backing.clone();
        let ResourceKind::Image {
            width,
            height,
            pixels,
            ..
        } = &mut r.kind
        else {
            return Err(GpuError::InvalidParameter(format!(
                "resource {id} is not a 2D resource"
            )));
        };
        check_rect(rect, *width, *height)?;
        let view = backing.ok_or_else(|| {
            GpuError::InvalidParameter(format!("resource {id} has no backing to transfer from"))
        })?;
        let stride = u64::from(*width) * BYTES_PER_PIXEL;
        let row_bytes = (u64::from(rect.width) * BYTES_PER_PIXEL) as usize;
        for row in 0..u64::from(rect.height) {
            // VIRTIO 1.2 §5.7.6.8: `offset` locates the rectangle in the backing, whose rows
            // are `stride` bytes apart.
            let src = row
                .checked_mul(stride)
                .and_then(|o| o.checked_add(offset))
                .and_then(|o| usize::try_from(o).ok());
            let dst =
                ((u64::from(rect.y) + row) * stride + u64::from(rect.x) * BYTES_PER_PIXEL) as usize;
            let Some(dst_row) = pixels.get_mut(dst..dst + row_bytes) else {
                return Err(GpuError::InvalidParameter(
                    "transfer outside the image".into(),
                ));
            };
            if !src.is_some_and(|s| view.read_at(s, dst_row)) {
                return Err(GpuError::InvalidParameter(format!(
                    "transfer offset {offset} row {row} is outside the backing"
                )));
            }
        }
        Ok(GpuResponse::OkNoData)
    }

    fn transfer_3d(&self, t: &Transfer3d) -> Result<GpuResponse, GpuError> {
        let r = self.resource(t.resource_id)?;
        if !matches!(r.kind, ResourceKind::Memory) {
            return Err(GpuError::InvalidParameter(format!(
                "3D transfers on 2D resource {}",
                t.resource_id
            )));
        }
        let end = u64::from(t.bbox.x) + u64::from(t.bbox.w);
        if end > r.size
            || t.bbox.y != 0
            || t.bbox.z != 0
            || t.bbox.h > 1
            || t.bbox.d > 1
            || t.level != 0
        {
            return Err(GpuError::InvalidParameter(format!(
                "transfer box {:?} outside buffer of {} bytes",
                t.bbox, r.size
            )));
        }
        // The device works on guest RAM directly: there is nothing to copy.
        Ok(GpuResponse::OkNoData)
    }

    fn create_context(
        &mut self,
        ctx_id: u32,
        context_init: u32,
        name: &str,
    ) -> Result<GpuResponse, GpuError> {
        if ctx_id == 0 || self.contexts.contains_key(&ctx_id) {
            return Err(GpuError::InvalidContextId(ctx_id));
        }
        if context_init != 0 {
            // DESIGN §3: context_init 0 is ours; with CONTEXT_INIT only our capset.
            let capset = context_init & vg::VIRTIO_GPU_CONTEXT_INIT_CAPSET_ID_MASK;
            if !self.features.context_init || capset != SOFTGPU_CAPSET_VK {
                return Err(GpuError::InvalidParameter(format!(
                    "context_init {context_init:#x}: only capset {SOFTGPU_CAPSET_VK} is supported{}",
                    if self.features.context_init { "" } else { " (CONTEXT_INIT not negotiated)" }
                )));
            }
        }
        if self.contexts.len() >= self.limits.max_contexts {
            return Err(GpuError::OutOfMemory(format!(
                "{} contexts is the limit",
                self.limits.max_contexts
            )));
        }
        let backend = Arc::new(Mutex::new(self.factory.create(ctx_id, name)));
        self.contexts.insert(
            ctx_id,
            Context {
                backend,
                attached: HashSet::new(),
            },
        );
        Ok(GpuResponse::OkNoData)
    }
}

fn check_scanout(id: u32) -> Result<(), GpuError> {
    if id >= NUM_SCANOUTS {
        return Err(GpuError::InvalidScanoutId(id));
    }
    Ok(())
}

fn check_rect(r: &Rect, width: u32, height: u32) -> Result<(), GpuError> {
    let fits = u64::from(r.x) + u64::from(r.width) <= u64::from(width)
        && u64::from(r.y) + u64::from(r.height) <= u64::from(height);
    if !fits {
        return Err(GpuError::InvalidParameter(format!(
            "rectangle {r:?} outside {width}×{height}"
        )));
    }
    Ok(())
}

fn is_2d_format(f: u32) -> bool {
    matches!(
        f,
        vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM
            | vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM
            | vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM
            | vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM
            | vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM
            | vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM
            | vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM
            | vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM
    )
}
