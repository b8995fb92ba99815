//! Compute pipelines: SPIR-V lowered to IR, compiled by jit-host, plus what a dispatch needs to
//! know about the module (its buffer slots, memory sizes).
//!
//! Compiled kernels are cached by the exact bytes of the encoded IR module (a `HashMap` keyed by
//! the bytes themselves: equal keys are compared in full, so distinct modules never share code).
//! The IR already includes specialization, the entry point and the workgroup size. The cache
//! holds kernels weakly: when the last pipeline using a kernel is dropped, the kernel is dropped
//! and jit-host may reuse its arena range (dispatches hold their own strong reference while
//! they run).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use jit_host_client::{CompiledKernel, JitHost};
use shader::front::SpecializationInfo;
use shader::ir::{BufferBinding, ImageBinding, Module, SamplerBinding};

use crate::error::RendererError;

/// Largest per-thread scratch block one kernel may need (private memory of every invocation of
/// a workgroup plus the values it keeps across barriers). Each worker thread keeps the largest
/// block it was ever asked for, so this also bounds what one pipeline can make every worker
/// hold. The front end already caps private memory per invocation (`MAX_PRIVATE_MEMORY`:
/// 16 KiB × 1024 invocations = 16 MiB); the rest is headroom for barrier spills.
pub const MAX_KERNEL_SCRATCH: u64 = 32 << 20;

/// Refuses a kernel whose scratch need is above [`MAX_KERNEL_SCRATCH`] (checked when the
/// pipeline is created, so a dispatch never tries to allocate it).
pub(crate) fn check_scratch(size: u64) -> Result<(), RendererError> {
    if size > MAX_KERNEL_SCRATCH {
        return Err(RendererError::ScratchTooLarge {
            size,
            limit: MAX_KERNEL_SCRATCH,
        });
    }
    Ok(())
}

/// A compiled compute entry point, ready to dispatch.
#[derive(Clone)]
pub struct ComputePipeline {
    pub(crate) kernel: Arc<CompiledKernel>,
    pub(crate) buffers: Vec<BufferBinding>,
    /// Image slots and separate-sampler slots, in the order of the context's tables.
    pub(crate) images: Vec<ImageBinding>,
    pub(crate) samplers: Vec<SamplerBinding>,
    pub(crate) workgroup_size: [u32; 3],
    pub(crate) workgroup_memory_size: u32,
    pub(crate) push_constant_size: u32,
    /// Bytes of the encoded IR this pipeline keeps alive (its kernel-cache key).
    pub(crate) ir_bytes: usize,
}

impl ComputePipeline {
    /// LocalSize after specialization.
    pub fn workgroup_size(&self) -> [u32; 3] {
        self.workgroup_size
    }

    /// The buffer slots the kernel reads, in the order of the kernel's descriptor array.
    pub fn buffer_bindings(&self) -> &[BufferBinding] {
        &self.buffers
    }

    /// The image slots the kernel uses, in the order of the context's image table.
    pub fn image_bindings(&self) -> &[ImageBinding] {
        &self.images
    }

    /// The separate-sampler slots, in the order of the context's sampler table.
    pub fn sampler_bindings(&self) -> &[SamplerBinding] {
        &self.samplers
    }

    /// Size of the push-constant block the shader declares.
    pub fn push_constant_size(&self) -> u32 {
        self.push_constant_size
    }

    pub fn workgroup_memory_size(&self) -> u32 {
        self.workgroup_memory_size
    }

    /// Per-thread scratch bytes a dispatch of this pipeline uses.
    pub fn scratch_size(&self) -> u64 {
        self.kernel.scratch_size() as u64
    }

    /// Host memory this pipeline holds on its creator's behalf: its IR (kept as the kernel
    /// cache key), its binding table, and the per-thread blocks a dispatch makes each worker
    /// hold (workgroup memory and scratch). Code lives in jit-host's arena, not counted here.
    pub fn host_bytes(&self) -> u64 {
        let bindings = self.buffers.len() * std::mem::size_of::<BufferBinding>()
            + self.images.len() * std::mem::size_of::<ImageBinding>()
            + self.samplers.len() * std::mem::size_of::<SamplerBinding>();
        (self.ir_bytes as u64)
            .saturating_add(bindings as u64)
            .saturating_add(u64::from(self.workgroup_memory_size))
            .saturating_add(self.scratch_size())
    }
}

impl std::fmt::Debug for ComputePipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComputePipeline")
            .field("buffers", &self.buffers)
            .field("workgroup_size", &self.workgroup_size)
            .field("workgroup_memory_size", &self.workgroup_memory_size)
            .field("push_constant_size", &self.push_constant_size)
            .finish_non_exhaustive()
    }
}

/// Encoded IR module → compiled kernel, while some pipeline still holds it.
#[derive(Default)]
pub(crate) struct KernelCache {
    kernels: Mutex<HashMap<Vec<u8>, Weak<CompiledKernel>>>,
}

impl KernelCache {
    fn get(&self, key: &[u8]) -> Option<Arc<CompiledKernel>> {
        self.kernels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .and_then(Weak::upgrade)
    }

    fn insert(&self, key: Vec<u8>, kernel: &Arc<CompiledKernel>) {
        let mut kernels = self.kernels.lock().unwrap_or_else(PoisonError::into_inner);
        kernels.retain(|_, k| k.strong_count() > 0);
        kernels.insert(key, Arc::downgrade(kernel));
    }

    /// Kernels still alive.
    pub(crate) fn len(&self) -> usize {
        let kernels = self.kernels.lock().unwrap_or_else(PoisonError::into_inner);
        kernels.values().filter(|k| k.strong_count() > 0).count()
    }
}

/// Compiles `module` (or reuses an identical module's kernel) and checks its scratch need;
/// returns the kernel and the size of the encoded IR (the cache key the kernel keeps alive).
pub(crate) fn compile_cached(
    jit: &Arc<JitHost>,
    cache: &KernelCache,
    module: &Module,
) -> Result<(Arc<CompiledKernel>, usize), RendererError> {
    let key = module.encode();
    let ir_bytes = key.len();
    let kernel = match cache.get(&key) {
        Some(kernel) => kernel,
        None => {
            // The lock is not held while compiling: compiles of different modules overlap, and
            // two threads racing on the same module both compile it once (harmless).
            let kernel = jit.compile(module)?;
            cache.insert(key, &kernel);
            kernel
        }
    };
    check_scratch(kernel.scratch_size() as u64)?;
    Ok((kernel, ir_bytes))
}

/// Lowers `spirv` and compiles it (or reuses an identical module's kernel).
pub(crate) fn create_compute_pipeline(
    jit: &Arc<JitHost>,
    cache: &KernelCache,
    spirv: &[u8],
    entry: &str,
    spec: &SpecializationInfo,
) -> Result<ComputePipeline, RendererError> {
    let module: Module = shader::front::lower_compute(spirv, entry, spec)?;
    let (kernel, ir_bytes) = compile_cached(jit, cache, &module)?;
    Ok(ComputePipeline {
        kernel,
        buffers: module.buffers.clone(),
        images: module.images.clone(),
        samplers: module.samplers.clone(),
        workgroup_size: module.workgroup_size,
        workgroup_memory_size: module.workgroup_memory_size,
        push_constant_size: module.push_constant_size,
        ir_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_above_the_cap_is_refused_and_at_the_cap_accepted() {
        assert!(check_scratch(MAX_KERNEL_SCRATCH).is_ok());
        assert!(matches!(
            check_scratch(MAX_KERNEL_SCRATCH + 1),
            Err(RendererError::ScratchTooLarge { .. })
        ));
        // The largest private memory the front end allows, for the largest workgroup, fits.
        let private = u64::from(shader::ir::MAX_PRIVATE_MEMORY)
            * u64::from(shader::ir::MAX_WORKGROUP_INVOCATIONS);
        assert!(check_scratch(private).is_ok());
    }
}
