//! Buffers: size, usage and the guest memory bound to them (vkCreateBuffer,
//! vkBindBufferMemory, vkDestroyBuffer).
//!
//! The bound memory is kept as a [`GuestLocation`]; the renderer buffer (a window into the
//! resource's view) is made per submission by [`GuestScope::buffer`], so a buffer never keeps
//! guest memory mapped between submissions.

use protocol::stream::GuestLocation;

use super::guest::GuestScope;
use super::objects::ObjectTable;
use super::ExecError;

/// `VkBufferUsageFlagBits` the executor checks.
pub(crate) mod usage {
    pub const TRANSFER_SRC: u32 = 0x1;
    pub const TRANSFER_DST: u32 = 0x2;
    pub const UNIFORM_TEXEL_BUFFER: u32 = 0x4;
    pub const STORAGE_TEXEL_BUFFER: u32 = 0x8;
    pub const UNIFORM_BUFFER: u32 = 0x10;
    pub const STORAGE_BUFFER: u32 = 0x20;
    pub const INDIRECT_BUFFER: u32 = 0x100;
}

/// Largest buffer (matches the renderer's largest allocation, 64 GiB).
pub const MAX_BUFFER_SIZE: u64 = 1 << 36;

pub(crate) struct BufferObject {
    pub(crate) size: u64,
    pub(crate) usage: u32,
    pub(crate) memory: Option<GuestLocation>,
}

pub(crate) struct Buffers {
    table: ObjectTable<BufferObject>,
}

impl Buffers {
    pub(crate) fn new() -> Buffers {
        Buffers {
            table: ObjectTable::new("buffer"),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Checks that `id` may name a new buffer.
    pub(crate) fn check_new(&self, id: u64) -> Result<(), ExecError> {
        self.table.check_new(id)
    }

    pub(crate) fn get(&self, id: u64) -> Result<&BufferObject, ExecError> {
        self.table.get(id)
    }

    pub(crate) fn create(&mut self, id: u64, size: u64, usage: u32) -> Result<(), ExecError> {
        // VUID-VkBufferCreateInfo-size-00912: size > 0.
        if size == 0 || size > MAX_BUFFER_SIZE {
            return Err(ExecError::Invalid(format!(
                "buffer {id}: size {size} is 0 or larger than {MAX_BUFFER_SIZE}"
            )));
        }
        self.table.insert(
            id,
            BufferObject {
                size,
                usage,
                memory: None,
            },
        )
    }

    pub(crate) fn destroy(&mut self, id: u64, scope: &GuestScope<'_>) -> Result<(), ExecError> {
        self.table.remove(id)?;
        scope.forget_buffer(id);
        Ok(())
    }

    /// vkBindBufferMemory: the memory must exist now and hold the whole buffer.
    pub(crate) fn bind(
        &mut self,
        id: u64,
        memory: GuestLocation,
        scope: &GuestScope<'_>,
    ) -> Result<(), ExecError> {
        let buffer = self.table.get_mut(id)?;
        // VUID-vkBindBufferMemory-buffer-07459: not already bound.
        if buffer.memory.is_some() {
            return Err(ExecError::Invalid(format!(
                "buffer {id} is already bound to memory"
            )));
        }
        // VUID-vkBindBufferMemory-size-01037: the buffer fits in the memory from the offset.
        scope.check_range(memory.resource, memory.offset, buffer.size)?;
        buffer.memory = Some(memory);
        Ok(())
    }

    /// The renderer buffer of `id` for this submission; `required_usage` must be among the
    /// buffer's usage flags.
    pub(crate) fn resolve(
        &self,
        id: u64,
        required_usage: u32,
        scope: &GuestScope<'_>,
    ) -> Result<renderer::Buffer, ExecError> {
        let buffer = self.table.get(id)?;
        if buffer.usage & required_usage != required_usage {
            return Err(ExecError::Invalid(format!(
                "buffer {id} lacks usage {required_usage:#x} (has {:#x})",
                buffer.usage
            )));
        }
        let memory = buffer
            .memory
            .ok_or_else(|| ExecError::Invalid(format!("buffer {id} has no memory bound")))?;
        scope.buffer(id, memory.resource, memory.offset, buffer.size)
    }
}
