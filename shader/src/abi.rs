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
