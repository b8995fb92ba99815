//! The device's per-client caps on objects ([`protocol::ClientCaps`], from the capset),
//! mirrored here.
//!
//! Object creation needs no round trip: a create travels with the next submission (DESIGN §3).
//! A create the device refuses for a cap would therefore fail that submission, and the
//! application would see `VK_ERROR_DEVICE_LOST` at its next wait. So the ICD counts what the
//! device counts — one object per command that [`protocol::object_effect`] says creates one,
//! and the descriptors a descriptor set holds — in stream order, and refuses a create past a
//! cap at once, before anything is sent. The device stays the authority: it checks every cap
//! itself.
//!
//! Vulkan lets none of these creates return `VK_ERROR_TOO_MANY_OBJECTS` (only
//! vkAllocateMemory lists it); each lists `VK_ERROR_OUT_OF_HOST_MEMORY`, which is what the cap
//! protects on the device, so that is the refusal.
//!
//! The count is per VkDevice. The device's cap is per client (one VM, or one host process):
//! other VkDevices or other processes of the same VM share it, and what they hold is not seen
//! here; a create that passes here can still meet the device's cap then.

use crate::error::{IcdError, IcdResult};
use ash::vk;
use protocol::ClientCaps;

/// What this VkDevice holds of the device's caps, counting every create and destroy queued
/// or sent so far (in stream order, which is the device's execution order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LiveObjects {
    pub(crate) objects: u64,
    pub(crate) descriptors: u64,
}

impl LiveObjects {
    /// Counts one new object holding `descriptors`, or refuses without counting anything.
    pub(crate) fn charge(&mut self, caps: &ClientCaps, descriptors: u64) -> IcdResult<()> {
        let objects = self.objects.saturating_add(1);
        if let Some(max) = caps.max_objects.filter(|&max| objects > max) {
            return Err(refusal(format!(
                "the device holds at most {max} live objects for this client"
            )));
        }
        let total = self.descriptors.saturating_add(descriptors);
        if let Some(max) = caps.max_descriptors.filter(|&max| total > max) {
            return Err(refusal(format!(
                "{descriptors} more descriptors would exceed the device's {max} for this \
                 client ({} held)",
                self.descriptors
            )));
        }
        self.objects = objects;
        self.descriptors = total;
        Ok(())
    }

    /// Uncounts one object that held `descriptors`.
    pub(crate) fn release(&mut self, descriptors: u64) {
        // Saturating: an object the app destroys twice (invalid usage) must not wrap the
        // count into "nothing is free".
        self.objects = self.objects.saturating_sub(1);
        self.descriptors = self.descriptors.saturating_sub(descriptors);
    }
}

/// Refuses a shader module larger than the device keeps (vkCreateShaderModule lists
/// `VK_ERROR_OUT_OF_HOST_MEMORY`; the module's words are host memory on the device).
pub(crate) fn check_shader_module(caps: &ClientCaps, words: usize) -> IcdResult<()> {
    match caps.max_shader_module_words {
        Some(max) if words as u64 > max => Err(refusal(format!(
            "a shader module of {words} words exceeds the device's {max}"
        ))),
        _ => Ok(()),
    }
}

fn refusal(what: String) -> IcdError {
    IcdError::vk(vk::Result::ERROR_OUT_OF_HOST_MEMORY, what)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;

    fn caps(objects: u64, descriptors: u64) -> ClientCaps {
        ClientCaps {
            max_objects: Some(objects),
            max_descriptors: Some(descriptors),
            max_shader_module_words: Some(100),
        }
    }

    #[test]
    fn objects_past_the_cap_are_refused_with_out_of_host_memory() {
        let caps = caps(2, 100);
        let mut live = LiveObjects::default();
        live.charge(&caps, 0).unwrap();
        live.charge(&caps, 0).unwrap();
        let e = live.charge(&caps, 0).unwrap_err();
        assert_eq!(e.result(), vk::Result::ERROR_OUT_OF_HOST_MEMORY);
        assert_eq!(live.objects, 2);
        live.release(0);
        live.charge(&caps, 0).unwrap();
    }

    #[test]
    fn a_refused_descriptor_set_counts_neither_object_nor_descriptors() {
        let caps = caps(10, 8);
        let mut live = LiveObjects::default();
        live.charge(&caps, 5).unwrap();
        assert!(live.charge(&caps, 4).is_err());
        assert_eq!(
            live,
            LiveObjects {
                objects: 1,
                descriptors: 5
            }
        );
        live.charge(&caps, 3).unwrap();
        live.release(5);
        assert_eq!(
            live,
            LiveObjects {
                objects: 1,
                descriptors: 3
            }
        );
    }

    #[test]
    fn absent_caps_refuse_nothing() {
        let mut live = LiveObjects {
            objects: u64::MAX - 1,
            descriptors: u64::MAX - 1,
        };
        live.charge(&ClientCaps::default(), u64::MAX).unwrap();
        check_shader_module(&ClientCaps::default(), usize::MAX).unwrap();
    }

    #[test]
    fn releasing_more_than_held_saturates() {
        let mut live = LiveObjects::default();
        live.release(7);
        assert_eq!(live, LiveObjects::default());
    }

    #[test]
    fn shader_module_words_are_capped() {
        let caps = caps(1, 1);
        check_shader_module(&caps, 100).unwrap();
        assert_eq!(
            check_shader_module(&caps, 101).unwrap_err().result(),
            vk::Result::ERROR_OUT_OF_HOST_MEMORY
        );
    }
}
