//! Compiles a compute module with jit-host's pipeline, places it in its own arena and calls
//! its entry once, in this process, over real buffers.

use shader::abi::{BufferDescriptor, ComputeKernelFn, ImageResources, KernelContext};
use shader::ir::Module;

/// Runs `m` over `groups` workgroups (x only); `bufs` in `Module::buffers` order, `push` the
/// push constants, `images` the image state the kernel sees (its tables must outlive the call).
pub fn run_compute<B: AsMut<[u8]>>(
    m: &Module,
    groups: u32,
    bufs: &mut [B],
    push: &[u8],
    images: ImageResources,
) {
    let code = super::placed::compile_and_place(m);
    let descs: Vec<BufferDescriptor> = bufs
        .iter_mut()
        .map(|b| {
            let b = b.as_mut();
            BufferDescriptor {
                base: b.as_mut_ptr(),
                len: b.len() as u64,
            }
        })
        .collect();
    let mut scratch = vec![0u8; code.scratch_size + 128];
    let off = scratch.as_ptr().align_offset(64);
    let mut wg = vec![0u8; 128];
    let ctx = KernelContext {
        buffers: descs.as_ptr(),
        push_constants: push.as_ptr(),
        push_constants_len: push.len() as u32,
        num_workgroups: [groups, 1, 1],
        base_workgroup: [0; 3],
        workgroup_memory: wg.as_mut_ptr(),
        scratch: scratch[off..].as_mut_ptr(),
        image_resources: images,
    };
    // SAFETY: `entry` is the entry of code just placed for this compute module.
    let f: ComputeKernelFn = unsafe { std::mem::transmute(code.entry) };
    // SAFETY: every pointer in ctx is live for the call and sized as the module requires.
    unsafe { f(&ctx, 0, groups) };
}
