//! The calling convention between the renderer and code compiled by jit-host.
//!
//! A compute kernel is `extern "C" fn(ctx: *const KernelContext, first_workgroup: u32,
//! count: u32)`: it runs workgroups `first_workgroup .. first_workgroup + count` of the
//! dispatch, numbered linearly (x fastest, then y, then z) over `num_workgroups`.
//! Compiled code reads the context at the fixed offsets of this `repr(C)` layout; both sides
//! are built from this one definition.

/// One bound buffer range. Accesses outside `[0, len)` are never made by compiled code.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BufferDescriptor {
    pub base: *mut u8,
    pub len: u64,
}

/// Everything a kernel call reads. Pointers are valid for the whole call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct KernelContext {
    /// `Module::buffers.len()` descriptors (unbound slots: base null, len 0).
    pub buffers: *const BufferDescriptor,
    /// Push-constant bytes; accesses beyond `push_constants_len` read 0.
    pub push_constants: *const u8,
    pub push_constants_len: u32,
    pub num_workgroups: [u32; 3],
    /// vkCmdDispatchBase's base: added to WorkgroupId / GlobalInvocationId.
    pub base_workgroup: [u32; 3],
    /// Per calling thread: at least `Module::workgroup_memory_size` bytes, 64-byte aligned.
    /// The kernel zeroes it at the start of every workgroup.
    pub workgroup_memory: *mut u8,
    /// Per calling thread: at least the compiled kernel's `scratch_size` bytes, 64-byte aligned
    /// (private memory and values kept across barriers).
    pub scratch: *mut u8,
    /// Image and sampler descriptors and the image helper.
    pub image_resources: ImageResources,
}

/// Symbol name of the compute entry point in compiled objects.
pub const COMPUTE_ENTRY_SYMBOL: &str = "softgpu_cs_main";

pub type ComputeKernelFn =
    unsafe extern "C" fn(ctx: *const KernelContext, first_workgroup: u32, count: u32);

pub const OFFSET_BUFFERS: usize = core::mem::offset_of!(KernelContext, buffers);
pub const OFFSET_PUSH_CONSTANTS: usize = core::mem::offset_of!(KernelContext, push_constants);
pub const OFFSET_PUSH_CONSTANTS_LEN: usize =
    core::mem::offset_of!(KernelContext, push_constants_len);
pub const OFFSET_NUM_WORKGROUPS: usize = core::mem::offset_of!(KernelContext, num_workgroups);
pub const OFFSET_BASE_WORKGROUP: usize = core::mem::offset_of!(KernelContext, base_workgroup);
pub const OFFSET_WORKGROUP_MEMORY: usize = core::mem::offset_of!(KernelContext, workgroup_memory);
pub const OFFSET_SCRATCH: usize = core::mem::offset_of!(KernelContext, scratch);
pub const OFFSET_IMAGE_RESOURCES: usize = core::mem::offset_of!(KernelContext, image_resources);
pub const BUFFER_DESCRIPTOR_SIZE: usize = core::mem::size_of::<BufferDescriptor>();

// ---------------------------------------------------------------------------------------------
// Graphics stages.
//
// Vertex and fragment code always runs [`GRAPHICS_LANES`] lanes per SIMD group, whatever the
// host's compute width: the rasterizer's fragment batch is a 4×2 pixel block of two 2×2 quads
// (`renderer::raster::LANES`), and one fixed width keeps the renderer's interface arrays simple.
//
// Interface values are 32-bit words (f32 bits or i32), slot-major, one group of
// `GRAPHICS_LANES` words per slot: word `slot * GRAPHICS_LANES + lane` of a group. "Slot" is
// the index into `Module::inputs` / `Module::outputs` of the compiled module, in that order.
// ---------------------------------------------------------------------------------------------

/// Lanes of one vertex group or fragment batch.
pub const GRAPHICS_LANES: usize = 8;

/// Symbol name of the vertex entry point in compiled objects.
pub const VERTEX_ENTRY_SYMBOL: &str = "softgpu_vs_main";
/// Symbol name of the fragment entry point in compiled objects.
pub const FRAGMENT_ENTRY_SYMBOL: &str = "softgpu_fs_main";

/// Entry symbol of a compiled module of `stage`.
pub fn entry_symbol(stage: crate::ir::Stage) -> &'static str {
    match stage {
        crate::ir::Stage::Compute => COMPUTE_ENTRY_SYMBOL,
        crate::ir::Stage::Vertex => VERTEX_ENTRY_SYMBOL,
        crate::ir::Stage::Fragment => FRAGMENT_ENTRY_SYMBOL,
    }
}

/// What a vertex kernel call reads and writes.
///
/// The kernel shades `count` vertices in `ceil(count / GRAPHICS_LANES)` groups; lanes of the
/// last group at or past `count` are inactive (they make no memory accesses and their output
/// words are unspecified). All vertices of one call belong to one instance.
///
/// Group `g`'s input words start at `inputs + g * Module::inputs.len() * GRAPHICS_LANES`, its
/// output words at `outputs + g * Module::outputs.len() * GRAPHICS_LANES` (one word per slot
/// and lane, slot-major). Both arrays hold whole groups (the renderer pads them).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VertexContext {
    /// `Module::buffers.len()` descriptors (unbound slots: base null, len 0).
    pub buffers: *const BufferDescriptor,
    /// Push-constant bytes; accesses beyond `push_constants_len` read 0.
    pub push_constants: *const u8,
    pub push_constants_len: u32,
    /// `BaseVertex` (vertexOffset for indexed draws, firstVertex otherwise).
    pub base_vertex: i32,
    /// `BaseInstance` (firstInstance).
    pub base_instance: u32,
    /// `InstanceIndex` of every vertex of this call (firstInstance + instance number).
    pub instance_index: u32,
    /// `VertexIndex` per vertex, `count` entries padded to whole groups.
    pub vertex_indices: *const u32,
    /// Input words, see above.
    pub inputs: *const u32,
    /// Output words, see above (every slot of `Module::outputs`, `Position` and `PointSize`
    /// included, in that order).
    pub outputs: *mut u32,
    /// Per calling thread: at least the compiled kernel's `scratch_size` bytes, 64-byte aligned.
    pub scratch: *mut u8,
    /// `ViewIndex` of every vertex of this call (the view being rendered; 0 outside
    /// multiview). Last, so the fields before it keep their offsets.
    pub view_index: u32,
    pub _pad: u32,
    /// Image and sampler descriptors and the image helper.
    pub image_resources: ImageResources,
}

pub type VertexKernelFn = unsafe extern "C" fn(ctx: *const VertexContext, count: u32);

/// Draw-wide state a fragment kernel call reads.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FragmentContext {
    /// `Module::buffers.len()` descriptors (unbound slots: base null, len 0).
    pub buffers: *const BufferDescriptor,
    /// Push-constant bytes; accesses beyond `push_constants_len` read 0.
    pub push_constants: *const u8,
    pub push_constants_len: u32,
    /// `ViewIndex` of every fragment of this call (0 outside multiview).
    pub view_index: u32,
    /// Per calling thread: at least the compiled kernel's `scratch_size` bytes, 64-byte aligned.
    pub scratch: *mut u8,
    /// Image and sampler descriptors and the image helper.
    pub image_resources: ImageResources,
}

/// One fragment batch: [`GRAPHICS_LANES`] pixels, lanes numbered as
/// `renderer::raster::lane_offset` (two 2×2 quads side by side).
///
/// A fragment kernel call shades an array of `count` batches (typically the blocks of one
/// rasterizer run), one after the other, each exactly as if it were shaded alone: private
/// memory starts zeroed for each batch, and derivatives never cross batches.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FragmentBatchIo {
    /// Interpolated input words (`Module::inputs` order, slot-major; flat integer inputs are
    /// the provoking vertex's bits).
    pub inputs: *const u32,
    /// Output words (`Module::outputs` order, slot-major); `FragDepth`'s slot holds the
    /// interpolated depth before the call, so a shader that does not write it leaves it as is.
    pub outputs: *mut u32,
    /// `FragCoord` z per lane (framebuffer depth).
    pub depth: *const [f32; GRAPHICS_LANES],
    /// `FragCoord` w per lane (1 / clip w).
    pub inv_w: *const [f32; GRAPHICS_LANES],
    /// `PointCoord` s, t per lane (0.5 for non-point primitives).
    pub point_coord: *const [[f32; GRAPHICS_LANES]; 2],
    /// Framebuffer position of the batch's top-left pixel: `FragCoord` x of lane `l` is
    /// `x.wrapping_add(dx) as f32 + 0.5` with `(dx, dy) = FRAGMENT_LANE_OFFSETS[l]` (pixel
    /// centres), y likewise.
    pub x: u32,
    pub y: u32,
    /// `FrontFacing` (0 or 1, the same for every lane).
    pub front_facing: u32,
    /// In: bit `l`: lane `l` is a live invocation (covered and past early tests). Other lanes
    /// run as helpers: they compute (for derivatives) but make no stores or atomics and their
    /// outputs are not used. Out (written by the kernel when the batch is done): the live
    /// lanes that were neither killed nor demoted, a subset of the incoming bits.
    pub live: u32,
}

/// Pixel offset `(dx, dy)` of each lane of a fragment batch from its top-left pixel: lanes
/// 0–3 are the left 2×2 quad (top-left, top-right, bottom-left, bottom-right), 4–7 the right.
pub const FRAGMENT_LANE_OFFSETS: [(u32, u32); GRAPHICS_LANES] = [
    (0, 0),
    (1, 0),
    (0, 1),
    (1, 1),
    (2, 0),
    (3, 0),
    (2, 1),
    (3, 1),
];

/// Shades `batches[0..count]` in order (see [`FragmentBatchIo`]); each batch's `live` is
/// replaced by its survivors. `count` may be 0.
pub type FragmentKernelFn =
    unsafe extern "C" fn(ctx: *const FragmentContext, batches: *mut FragmentBatchIo, count: u32);

/// Bytes from one batch to the next in a fragment kernel's batch array.
pub const FRAGMENT_BATCH_SIZE: usize = core::mem::size_of::<FragmentBatchIo>();

pub const VERTEX_OFFSET_BUFFERS: usize = core::mem::offset_of!(VertexContext, buffers);
pub const VERTEX_OFFSET_PUSH_CONSTANTS: usize =
    core::mem::offset_of!(VertexContext, push_constants);
pub const VERTEX_OFFSET_PUSH_CONSTANTS_LEN: usize =
    core::mem::offset_of!(VertexContext, push_constants_len);
pub const VERTEX_OFFSET_BASE_VERTEX: usize = core::mem::offset_of!(VertexContext, base_vertex);
pub const VERTEX_OFFSET_BASE_INSTANCE: usize = core::mem::offset_of!(VertexContext, base_instance);
pub const VERTEX_OFFSET_INSTANCE_INDEX: usize =
    core::mem::offset_of!(VertexContext, instance_index);
pub const VERTEX_OFFSET_VERTEX_INDICES: usize =
    core::mem::offset_of!(VertexContext, vertex_indices);
pub const VERTEX_OFFSET_INPUTS: usize = core::mem::offset_of!(VertexContext, inputs);
pub const VERTEX_OFFSET_OUTPUTS: usize = core::mem::offset_of!(VertexContext, outputs);
pub const VERTEX_OFFSET_SCRATCH: usize = core::mem::offset_of!(VertexContext, scratch);
pub const VERTEX_OFFSET_VIEW_INDEX: usize = core::mem::offset_of!(VertexContext, view_index);
pub const VERTEX_OFFSET_IMAGE_RESOURCES: usize =
    core::mem::offset_of!(VertexContext, image_resources);

pub const FRAGMENT_OFFSET_BUFFERS: usize = core::mem::offset_of!(FragmentContext, buffers);
pub const FRAGMENT_OFFSET_PUSH_CONSTANTS: usize =
    core::mem::offset_of!(FragmentContext, push_constants);
pub const FRAGMENT_OFFSET_PUSH_CONSTANTS_LEN: usize =
    core::mem::offset_of!(FragmentContext, push_constants_len);
pub const FRAGMENT_OFFSET_SCRATCH: usize = core::mem::offset_of!(FragmentContext, scratch);
pub const FRAGMENT_OFFSET_VIEW_INDEX: usize = core::mem::offset_of!(FragmentContext, view_index);
pub const FRAGMENT_OFFSET_IMAGE_RESOURCES: usize =
    core::mem::offset_of!(FragmentContext, image_resources);

pub const BATCH_OFFSET_INPUTS: usize = core::mem::offset_of!(FragmentBatchIo, inputs);
pub const BATCH_OFFSET_OUTPUTS: usize = core::mem::offset_of!(FragmentBatchIo, outputs);
pub const BATCH_OFFSET_DEPTH: usize = core::mem::offset_of!(FragmentBatchIo, depth);
pub const BATCH_OFFSET_INV_W: usize = core::mem::offset_of!(FragmentBatchIo, inv_w);
pub const BATCH_OFFSET_POINT_COORD: usize = core::mem::offset_of!(FragmentBatchIo, point_coord);
pub const BATCH_OFFSET_X: usize = core::mem::offset_of!(FragmentBatchIo, x);
pub const BATCH_OFFSET_Y: usize = core::mem::offset_of!(FragmentBatchIo, y);
pub const BATCH_OFFSET_FRONT_FACING: usize = core::mem::offset_of!(FragmentBatchIo, front_facing);
pub const BATCH_OFFSET_LIVE: usize = core::mem::offset_of!(FragmentBatchIo, live);

// `view_index` was added without moving any field: kernels and callers built against the
// earlier layout agree on every other offset.
const _: () = assert!(
    VERTEX_OFFSET_SCRATCH == 56
        && VERTEX_OFFSET_VIEW_INDEX == 64
        && FRAGMENT_OFFSET_VIEW_INDEX == 20
        && FRAGMENT_OFFSET_SCRATCH == 24
);

// ---------------------------------------------------------------------------------------------
// Images and samplers.
//
// Compiled code never reads image memory or sampler state itself. Each image operation fills an
// [`ImageRequest`] (SoA, one word per lane) in its own stack frame and calls the context's
// `image_op` helper with the slot's opaque descriptor pointers; the helper (the renderer's
// sampling code) bounds-checks everything against the descriptor and writes an
// [`ImageResult`]. The function pointer comes from the context, so code holds no host address.
// ---------------------------------------------------------------------------------------------

/// Most lanes of one image request (the widest SIMD group: 16 with AVX-512).
pub const MAX_IMAGE_LANES: usize = 16;

/// One image slot of `Module::images`: opaque descriptors owned by the caller of the kernel,
/// valid for the whole call. `image` is null for an unbound slot (a null descriptor: reads give
/// 0, writes and atomics do nothing). `sampler` is the slot's own sampler for
/// `ImageKind::CombinedImageSampler` slots and null for every other kind.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ImageSlot {
    pub image: *const core::ffi::c_void,
    pub sampler: *const core::ffi::c_void,
}

/// Performs `request` on `image` (an [`ImageSlot::image`]) with `sampler` (an
/// [`ImageSlot::sampler`] or an entry of [`ImageResources::samplers`]; null for operations
/// that take no sampler) and writes the lanes of `request.mask` in `result`. Lanes outside
/// the mask are left as they are.
pub type ImageOpFn = unsafe extern "C" fn(
    image: *const core::ffi::c_void,
    sampler: *const core::ffi::c_void,
    request: *const ImageRequest,
    result: *mut ImageResult,
);

/// Image state of one kernel call; the last field of every context.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ImageResources {
    /// `Module::images.len()` slots.
    pub images: *const ImageSlot,
    /// `Module::samplers.len()` opaque sampler descriptors (null: unbound).
    pub samplers: *const *const core::ffi::c_void,
    /// The image helper. `None` only when the module has no image slots.
    pub image_op: Option<ImageOpFn>,
}

impl ImageResources {
    /// For a module without image or sampler slots.
    pub const NONE: ImageResources = ImageResources {
        images: core::ptr::null(),
        samplers: core::ptr::null(),
        image_op: None,
    };
}

pub const IMAGE_RESOURCES_OFFSET_IMAGES: usize = core::mem::offset_of!(ImageResources, images);
pub const IMAGE_RESOURCES_OFFSET_SAMPLERS: usize = core::mem::offset_of!(ImageResources, samplers);
pub const IMAGE_RESOURCES_OFFSET_IMAGE_OP: usize = core::mem::offset_of!(ImageResources, image_op);
pub const IMAGE_SLOT_SIZE: usize = core::mem::size_of::<ImageSlot>();

/// [`ImageRequest::op`] values.
pub mod image_op {
    /// OpImageSample* (and OpImageSparseSample*): filtered read through the sampler.
    /// `coords` are f32; with [`super::image_flag::DREF`] the result is one f32 in component 0.
    pub const SAMPLE: u32 = 1;
    /// OpImageGather / OpImageDrefGather: the four texels of the bilinear footprint's
    /// `component` (or their compare results), in the order the spec gives (i0j1, i1j1, i1j0,
    /// i0j0) as components 0..3.
    pub const GATHER: u32 = 2;
    /// OpImageFetch: integer texel coordinates (`coords` as i32), level in `lod` (as i32
    /// bits), no sampler; texel buffers take the element index in `coords[0]`.
    pub const FETCH: u32 = 3;
    /// OpImageRead: integer coordinates, storage images and storage texel buffers. For
    /// subpass inputs (input attachments) compiled code passes the absolute framebuffer
    /// position (the fragment's integer x, y plus the operand's offset) and the view index as
    /// the layer.
    pub const READ: u32 = 4;
    /// OpImageWrite: integer coordinates, `texel` holds the components to store.
    pub const WRITE: u32 = 5;
    /// An image atomic on an R32 texel (`atomic_op`, value in `texel[0]`, comparator in
    /// `texel[1]`); the old value is returned in component 0.
    pub const ATOMIC: u32 = 6;
    /// OpImageQuerySize / OpImageQuerySizeLod (level in `lod` as i32 bits with
    /// [`super::image_flag::LOD`]): width, height, depth or layers in components 0..2.
    pub const QUERY_SIZE: u32 = 7;
    /// OpImageQueryLevels: the view's level count in component 0.
    pub const QUERY_LEVELS: u32 = 8;
    /// OpImageQuerySamples: the sample count in component 0.
    pub const QUERY_SAMPLES: u32 = 9;
    /// OpImageQueryLod: (mipmap level that would be accessed, computed LOD) as f32 in
    /// components 0 and 1, from the gradients.
    pub const QUERY_LOD: u32 = 10;
}

/// [`ImageRequest::flags`] bits.
pub mod image_flag {
    /// `lod` holds an explicit level of detail (Lod operand).
    pub const LOD: u32 = 1 << 0;
    /// `lod` holds a bias added to the computed LOD (Bias operand).
    pub const BIAS: u32 = 1 << 1;
    /// `ddx` / `ddy` hold explicit gradients (Grad operand).
    pub const GRAD: u32 = 1 << 2;
    /// Implicit LOD: the helper derives the gradients from the coordinates of each 2×2 quad
    /// of lanes (lanes `4q..4q+3` laid out as `FRAGMENT_LANE_OFFSETS`: top-left, top-right,
    /// bottom-left, bottom-right). Every lane of a quad that is executing (helper lanes too)
    /// is in `mask`; a quad with lanes outside the mask uses 0 for the missing differences.
    pub const QUAD_DERIVATIVES: u32 = 1 << 3;
    /// `dref` holds depth-compare references (Dref variants).
    pub const DREF: u32 = 1 << 4;
    /// Projective: the coordinates (and `dref`) are divided by the last coordinate
    /// (`coords[n]` for an n-dimensional image) before use.
    pub const PROJ: u32 = 1 << 5;
    /// `offset` holds texel offsets (ConstOffset / Offset operands).
    pub const OFFSET: u32 = 1 << 6;
    /// `min_lod` holds a minimum LOD clamp (MinLod operand).
    pub const MIN_LOD: u32 = 1 << 7;
    /// Integer image operations take the sample index in `sample` (Sample operand).
    pub const SAMPLE_INDEX: u32 = 1 << 8;
}

/// [`ImageRequest::atomic_op`] values (OpImageTexelPointer + OpAtomic*).
pub mod image_atomic {
    pub const EXCHANGE: u32 = 0;
    pub const COMPARE_EXCHANGE: u32 = 1;
    pub const ADD: u32 = 2;
    pub const SUB: u32 = 3;
    pub const SMIN: u32 = 4;
    pub const UMIN: u32 = 5;
    pub const SMAX: u32 = 6;
    pub const UMAX: u32 = 7;
    pub const AND: u32 = 8;
    pub const OR: u32 = 9;
    pub const XOR: u32 = 10;
    pub const LOAD: u32 = 11;
    pub const STORE: u32 = 12;
}

/// One image operation over up to [`MAX_IMAGE_LANES`] lanes (SoA: `field[component][lane]`).
/// Fields the operation and its flags do not name are unspecified and not read.
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug)]
pub struct ImageRequest {
    /// An [`image_op`] value.
    pub op: u32,
    /// [`image_flag`] bits.
    pub flags: u32,
    /// Lanes of this SIMD group (at most [`MAX_IMAGE_LANES`]).
    pub lanes: u32,
    /// Lanes to perform the operation for (bit `l`: lane `l`). Writes and atomics happen only
    /// for these lanes; results are written only for these lanes.
    pub mask: u32,
    /// Gather's component (0..3).
    pub component: u32,
    /// An [`image_atomic`] value for [`image_op::ATOMIC`].
    pub atomic_op: u32,
    /// The `ImageBinding::dim`/`arrayed` the shader declared, as `coord_count`: how many of
    /// `coords` are the coordinate (array layer last), not counting the projective divisor.
    pub coord_count: u32,
    pub _pad: u32,
    /// Coordinates: f32 bits for SAMPLE / GATHER / QUERY_LOD, i32 for the others. The array
    /// layer (unrounded f32 for sampling) follows the spatial coordinates; with PROJ the
    /// divisor follows the coordinate.
    pub coords: [[u32; MAX_IMAGE_LANES]; 4],
    /// Explicit LOD or bias (f32), or FETCH's / QUERY_SIZE's level (i32 bits).
    pub lod: [u32; MAX_IMAGE_LANES],
    /// Depth-compare reference (f32).
    pub dref: [f32; MAX_IMAGE_LANES],
    /// Minimum LOD clamp (f32).
    pub min_lod: [f32; MAX_IMAGE_LANES],
    /// Explicit gradients along x and y, per coordinate (f32).
    pub ddx: [[f32; MAX_IMAGE_LANES]; 3],
    pub ddy: [[f32; MAX_IMAGE_LANES]; 3],
    /// Texel offsets (i32) per coordinate.
    pub offset: [[i32; MAX_IMAGE_LANES]; 3],
    /// Sample index (i32) for multisampled images.
    pub sample: [u32; MAX_IMAGE_LANES],
    /// WRITE's texel (f32 or i32 bits per the image's sampled type), or ATOMIC's value
    /// (component 0) and comparator (component 1).
    pub texel: [[u32; MAX_IMAGE_LANES]; 4],
}

impl ImageRequest {
    /// A request of `op` with `flags` for the first `lanes` lanes (at most
    /// [`MAX_IMAGE_LANES`]), all of them in the mask, with `coord_count` coordinates;
    /// every other field zero.
    pub fn new(op: u32, flags: u32, lanes: usize, coord_count: u32) -> ImageRequest {
        let lanes = lanes.min(MAX_IMAGE_LANES);
        ImageRequest {
            op,
            flags,
            lanes: lanes as u32,
            mask: u32::MAX.checked_shr(32 - lanes as u32).unwrap_or(0),
            component: 0,
            atomic_op: 0,
            coord_count,
            _pad: 0,
            coords: [[0; MAX_IMAGE_LANES]; 4],
            lod: [0; MAX_IMAGE_LANES],
            dref: [0.0; MAX_IMAGE_LANES],
            min_lod: [0.0; MAX_IMAGE_LANES],
            ddx: [[0.0; MAX_IMAGE_LANES]; 3],
            ddy: [[0.0; MAX_IMAGE_LANES]; 3],
            offset: [[0; MAX_IMAGE_LANES]; 3],
            sample: [0; MAX_IMAGE_LANES],
            texel: [[0; MAX_IMAGE_LANES]; 4],
        }
    }
}

/// What an image operation gives, per component and lane (f32 or i32 bits).
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug)]
pub struct ImageResult {
    pub texel: [[u32; MAX_IMAGE_LANES]; 4],
}

impl ImageResult {
    /// Every word zero.
    pub const ZERO: ImageResult = ImageResult {
        texel: [[0; MAX_IMAGE_LANES]; 4],
    };
}

pub const IMAGE_REQUEST_SIZE: usize = core::mem::size_of::<ImageRequest>();
pub const REQUEST_OFFSET_OP: usize = core::mem::offset_of!(ImageRequest, op);
pub const REQUEST_OFFSET_FLAGS: usize = core::mem::offset_of!(ImageRequest, flags);
pub const REQUEST_OFFSET_LANES: usize = core::mem::offset_of!(ImageRequest, lanes);
pub const REQUEST_OFFSET_MASK: usize = core::mem::offset_of!(ImageRequest, mask);
pub const REQUEST_OFFSET_COMPONENT: usize = core::mem::offset_of!(ImageRequest, component);
pub const REQUEST_OFFSET_ATOMIC_OP: usize = core::mem::offset_of!(ImageRequest, atomic_op);
pub const REQUEST_OFFSET_COORD_COUNT: usize = core::mem::offset_of!(ImageRequest, coord_count);
pub const REQUEST_OFFSET_COORDS: usize = core::mem::offset_of!(ImageRequest, coords);
pub const REQUEST_OFFSET_LOD: usize = core::mem::offset_of!(ImageRequest, lod);
pub const REQUEST_OFFSET_DREF: usize = core::mem::offset_of!(ImageRequest, dref);
pub const REQUEST_OFFSET_MIN_LOD: usize = core::mem::offset_of!(ImageRequest, min_lod);
pub const REQUEST_OFFSET_DDX: usize = core::mem::offset_of!(ImageRequest, ddx);
pub const REQUEST_OFFSET_DDY: usize = core::mem::offset_of!(ImageRequest, ddy);
pub const REQUEST_OFFSET_OFFSET: usize = core::mem::offset_of!(ImageRequest, offset);
pub const REQUEST_OFFSET_SAMPLE: usize = core::mem::offset_of!(ImageRequest, sample);
pub const REQUEST_OFFSET_TEXEL: usize = core::mem::offset_of!(ImageRequest, texel);
/// Bytes from one component (or coordinate) row of a request or result to the next.
pub const IMAGE_ROW_SIZE: usize = 4 * MAX_IMAGE_LANES;
