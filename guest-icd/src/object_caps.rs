//! The device's per-client caps ([`protocol::ClientCaps`] and the device-memory budget, from
//! the capset), mirrored here.
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
//! **The unit is the client.** The device counts per client — one vhost-user frontend: a VM, or
//! one host process on the vhost-user transport — over all its contexts
//! (vhost-device `ClientBudget`). Every VkInstance and VkDevice of a process shares one
//! transport (one connection, one context), so the count lives in the transport's
//! [`ClientAccount`], shared by all the process's VkDevices. On the vhost-user transport that is
//! exactly the device's client; inside a VM (virtgpu) the client is the whole VM, and what other
//! processes hold is not seen here: a create that passes here can still meet the device's cap.
//!
//! **Order.** Each VkDevice queues its creates and destroys in a stream of its own; the device
//! runs the streams in the order they are sent. A create is counted when queued; a destroy
//! only when its stream is sent — until then it frees room for the creates queued after it in
//! the same stream only (which the device runs after it). So the count here is never below the
//! device's when any create runs, however the VkDevices' streams interleave.
//!
//! **Device memory.** The device charges each guest-RAM resource's mapped bytes (the block,
//! whole pages) against `device_memory_budget`, which `GET_CAPSET` reports as the smaller of the
//! host's cap and the guest's RAM. The account charges every block before the transport
//! creates it, and refuses past the budget with `VK_ERROR_OUT_OF_DEVICE_MEMORY` — on virtgpu
//! the kernel queues RESOURCE_CREATE/ATTACH_BACKING without waiting for the answer, so a refusal
//! by the device would otherwise surface only as a lost device later.
//!
//! **Not mirrored** (the device remains the only check): the executor's host-memory cap
//! (`max_host_bytes`: what objects, SPIR-V, descriptor storage and pipeline IR cost on the
//! device is the device's own layout, not known here), compiles in flight (one per client by
//! construction: submissions run in order), and — inside a VM — what other processes and the
//! kernel's own resources (the console's framebuffer) hold of the client's budgets.

use crate::error::{IcdError, IcdResult};
use ash::vk;
use protocol::ClientCaps;
use std::sync::{Mutex, MutexGuard};

/// A count of objects and the descriptors they hold: what a client holds of the device's
/// caps, or what a not-yet-sent stream releases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LiveObjects {
    pub(crate) objects: u64,
    pub(crate) descriptors: u64,
}

impl LiveObjects {
    /// Counts one new object holding `descriptors`, or refuses without counting anything.
    /// `freed_before`: what destroys that the device runs before this create will have freed
    /// and that are not uncounted yet (queued earlier in the same unsent stream).
    pub(crate) fn charge(
        &mut self,
        caps: &ClientCaps,
        descriptors: u64,
        freed_before: LiveObjects,
    ) -> IcdResult<()> {
        let objects = self.objects.saturating_add(1);
        let at_create = objects.saturating_sub(freed_before.objects);
        if let Some(max) = caps.max_objects.filter(|&max| at_create > max) {
            return Err(refusal(format!(
                "the device holds at most {max} live objects for this client"
            )));
        }
        let total = self.descriptors.saturating_add(descriptors);
        let held = self.descriptors.saturating_sub(freed_before.descriptors);
        if let Some(max) = caps
            .max_descriptors
            .filter(|&max| held.saturating_add(descriptors) > max)
        {
            return Err(refusal(format!(
                "{descriptors} more descriptors would exceed the device's {max} for this \
                 client ({held} held)"
            )));
        }
        self.objects = objects;
        self.descriptors = total;
        Ok(())
    }

    /// Adds one object holding `descriptors` (to a count of creates or of destroys).
    pub(crate) fn add_one(&mut self, descriptors: u64) {
        self.objects = self.objects.saturating_add(1);
        self.descriptors = self.descriptors.saturating_add(descriptors);
    }

    /// Uncounts everything `freed` counts. Saturating: an object the app destroys twice
    /// (invalid usage) must not wrap the count into "nothing is free".
    pub(crate) fn release_all(&mut self, freed: LiveObjects) {
        self.objects = self.objects.saturating_sub(freed.objects);
        self.descriptors = self.descriptors.saturating_sub(freed.descriptors);
    }
}

/// What one client of the device holds of its per-client caps, as far as this process sees:
/// one per transport, shared by every VkDevice on it (see the module note).
#[derive(Debug)]
pub struct ClientAccount {
    caps: ClientCaps,
    /// The capset's `device_memory_budget`.
    memory_budget: u64,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    live: LiveObjects,
    /// Bytes of live device-memory blocks.
    device_memory: u64,
}

impl ClientAccount {
    /// An empty account for a device that announced `capset`.
    pub fn new(capset: &protocol::Capset) -> ClientAccount {
        ClientAccount {
            caps: capset.client,
            memory_budget: capset.device_memory_budget,
            held: Mutex::new(Held::default()),
        }
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        // The counters are plain numbers, consistent after any panic: recover them.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one create holding `descriptors` (see [`LiveObjects::charge`]), or refuses.
    pub(crate) fn charge(&self, descriptors: u64, freed_before: LiveObjects) -> IcdResult<()> {
        self.held()
            .live
            .charge(&self.caps, descriptors, freed_before)
    }

    /// Uncounts objects the device has been sent the destruction of (or creates it refused).
    pub(crate) fn release(&self, freed: LiveObjects) {
        self.held().live.release_all(freed);
    }

    /// Counts a device-memory block of `bytes` (whole pages, as the transport allocates), or
    /// refuses with `VK_ERROR_OUT_OF_DEVICE_MEMORY` if the client's budget has no room.
    pub(crate) fn reserve_memory(&self, bytes: u64) -> IcdResult<()> {
        let mut held = self.held();
        let total = held.device_memory.checked_add(bytes);
        match total {
            Some(t) if t <= self.memory_budget => {
                held.device_memory = t;
                Ok(())
            }
            _ => Err(IcdError::vk(
                vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                format!(
                    "a block of {bytes} bytes exceeds the device-memory budget of {} bytes \
                     ({} held)",
                    self.memory_budget, held.device_memory
                ),
            )),
        }
    }

    /// Uncounts a block of `bytes` given back to the device.
    pub(crate) fn release_memory(&self, bytes: u64) {
        let mut held = self.held();
        held.device_memory = held.device_memory.saturating_sub(bytes);
    }

    /// What the client holds now: objects and descriptors, and device-memory bytes.
    #[cfg(test)]
    pub(crate) fn holding(&self) -> (LiveObjects, u64) {
        let held = self.held();
        (held.live, held.device_memory)
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

    const NONE: LiveObjects = LiveObjects {
        objects: 0,
        descriptors: 0,
    };

    /// One destroyed object holding `descriptors`.
    fn one(descriptors: u64) -> LiveObjects {
        let mut l = LiveObjects::default();
        l.add_one(descriptors);
        l
    }

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
        live.charge(&caps, 0, NONE).unwrap();
        live.charge(&caps, 0, NONE).unwrap();
        let e = live.charge(&caps, 0, NONE).unwrap_err();
        assert_eq!(e.result(), vk::Result::ERROR_OUT_OF_HOST_MEMORY);
        assert_eq!(live.objects, 2);
        live.release_all(one(0));
        live.charge(&caps, 0, NONE).unwrap();
    }

    #[test]
    fn a_refused_descriptor_set_counts_neither_object_nor_descriptors() {
        let caps = caps(10, 8);
        let mut live = LiveObjects::default();
        live.charge(&caps, 5, NONE).unwrap();
        assert!(live.charge(&caps, 4, NONE).is_err());
        assert_eq!(
            live,
            LiveObjects {
                objects: 1,
                descriptors: 5
            }
        );
        live.charge(&caps, 3, NONE).unwrap();
        live.release_all(one(5));
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
        live.charge(&ClientCaps::default(), u64::MAX, NONE).unwrap();
        check_shader_module(&ClientCaps::default(), usize::MAX).unwrap();
    }

    #[test]
    fn releasing_more_than_held_saturates() {
        let mut live = LiveObjects::default();
        live.release_all(one(7));
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

    #[test]
    fn destroys_queued_before_a_create_make_room_for_it_only() {
        let caps = caps(2, 10);
        let mut live = LiveObjects::default();
        live.charge(&caps, 4, NONE).unwrap();
        live.charge(&caps, 4, NONE).unwrap();
        // One destroy of a 4-descriptor set queued, not sent: a create after it fits.
        let mut freed = LiveObjects::default();
        freed.add_one(4);
        live.charge(&caps, 6, freed).unwrap();
        assert_eq!(
            live,
            LiveObjects {
                objects: 3,
                descriptors: 14
            }
        );
        // Without the offset (another stream's create), it would not have.
        assert!(live.charge(&caps, 0, NONE).is_err());
        live.release_all(freed);
        assert_eq!(
            live,
            LiveObjects {
                objects: 2,
                descriptors: 10
            }
        );
    }

    fn capset(objects: u64, budget: u64) -> protocol::Capset {
        let mut words = [0u32; protocol::Capset::ENCODED_SIZE / 4];
        words[0] = protocol::capset::CAPSET_MAGIC;
        words[1] = protocol::PROTOCOL_VERSION;
        words[2] = words.len() as u32;
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut c = protocol::Capset::decode(&bytes).unwrap();
        c.client = caps(objects, 100);
        c.device_memory_budget = budget;
        c
    }

    #[test]
    fn device_memory_past_the_budget_is_refused_with_out_of_device_memory() {
        let account = ClientAccount::new(&capset(10, 3 << 20));
        account.reserve_memory(2 << 20).unwrap();
        let e = account.reserve_memory(2 << 20).unwrap_err();
        assert_eq!(e.result(), vk::Result::ERROR_OUT_OF_DEVICE_MEMORY);
        assert_eq!(account.holding().1, 2 << 20, "a refusal holds nothing");
        account.reserve_memory(1 << 20).unwrap();
        assert!(account.reserve_memory(u64::MAX).is_err(), "no overflow");
        account.release_memory(2 << 20);
        account.reserve_memory(2 << 20).unwrap();
        assert_eq!(account.holding().1, 3 << 20);
    }

    #[test]
    fn the_account_counts_creates_and_released_destroys() {
        let account = ClientAccount::new(&capset(2, 0));
        account.charge(0, NONE).unwrap();
        account.charge(0, NONE).unwrap();
        assert_eq!(
            account.charge(0, NONE).unwrap_err().result(),
            vk::Result::ERROR_OUT_OF_HOST_MEMORY
        );
        let mut one = LiveObjects::default();
        one.add_one(0);
        account.release(one);
        account.charge(0, NONE).unwrap();
        assert_eq!(account.holding().0.objects, 2);
    }
}
