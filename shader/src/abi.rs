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

pub const FRAGMENT_OFFSET_BUFFERS: usize = core::mem::offset_of!(FragmentContext, buffers);
pub const FRAGMENT_OFFSET_PUSH_CONSTANTS: usize =
    core::mem::offset_of!(FragmentContext, push_constants);
pub const FRAGMENT_OFFSET_PUSH_CONSTANTS_LEN: usize =
    core::mem::offset_of!(FragmentContext, push_constants_len);
pub const FRAGMENT_OFFSET_SCRATCH: usize = core::mem::offset_of!(FragmentContext, scratch);
pub const FRAGMENT_OFFSET_VIEW_INDEX: usize = core::mem::offset_of!(FragmentContext, view_index);

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
