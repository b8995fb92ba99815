//! Per-client resource limits: what one frontend (one VM, or one host process using the ICD's
//! vhost-user transport) may make the device allocate on its behalf.
//!
//! Guest RAM backs device memory and is capped by the virtio-gpu layer (`gpu::DeviceLimits`:
//! the memory budget and the mapping cap). This module caps what the *executor* allocates in
//! host memory for the guest: object table entries, SPIR-V kept by shader modules, descriptor
//! storage, the IR a compiled pipeline holds, and the copies of command buffers a submission
//! decodes. It also caps compiles in flight.
//!
//! Every context of a client charges one shared [`ClientBudget`]; a context returns what it
//! holds when it is dropped (context destroyed, or the frontend gone), so a client killed in
//! the middle of anything leaves the budget where it found it. The server serves one frontend
//! at a time with one context factory, so the factory's budget is that frontend's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::ExecError;

/// Host bytes charged for an object's table entry and bookkeeping, on top of what it stores.
pub const OBJECT_OVERHEAD_BYTES: u64 = 256;

/// What one client may hold. Every cap is checked before the allocation it guards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientLimits {
    /// Live objects of all kinds, over all contexts (VK_ERROR_TOO_MANY_OBJECTS).
    pub max_objects: u64,
    /// Host memory the executor holds for the client: objects, SPIR-V, descriptors, pipeline
    /// IR, command-buffer copies in flight (VK_ERROR_OUT_OF_HOST_MEMORY).
    pub max_host_bytes: u64,
    /// Largest shader module, in SPIR-V words.
    pub max_shader_module_words: u64,
    /// Descriptors all live descriptor sets of the client hold together.
    pub max_descriptors: u64,
    /// Largest recorded command buffer one submission may reference; the capset's
    /// `max_stream_size` is the same limit for the top-level stream.
    pub max_command_buffer_size: u64,
    /// Pipeline compiles the client may have in flight at once.
    pub max_outstanding_compiles: u64,
}

impl Default for ClientLimits {
    fn default() -> ClientLimits {
        ClientLimits {
            max_objects: 1 << 20,
            max_host_bytes: 1 << 30,
            max_shader_module_words: (16 << 20) / 4,
            max_descriptors: 1 << 22,
            max_command_buffer_size: 64 << 20,
            // Submissions of one client run in order on its queue thread, so one compile is
            // all it can have in flight today; the cap keeps that true if that changes.
            max_outstanding_compiles: 2,
        }
    }
}

impl ClientLimits {
    /// The caps the capset tells the ICD, which counts as [`VkContext`](super::VkContext)
    /// charges and refuses past them synchronously: live objects (every object kind
    /// [`protocol::object_effect`] names is charged one object), descriptors of live sets, and
    /// the shader-module size. Host bytes are not mirrored: what an object holds on this side
    /// is the device's business.
    pub fn caps(&self) -> protocol::ClientCaps {
        protocol::ClientCaps {
            max_objects: Some(self.max_objects),
            max_descriptors: Some(self.max_descriptors),
            max_shader_module_words: Some(self.max_shader_module_words),
        }
    }
}

/// A counted quantity of the budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    Objects,
    HostBytes,
    Descriptors,
    Compiles,
}

impl Quantity {
    const ALL: [Quantity; 4] = [
        Quantity::Objects,
        Quantity::HostBytes,
        Quantity::Descriptors,
        Quantity::Compiles,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// The running totals of one client, shared by its contexts.
#[derive(Debug)]
pub struct ClientBudget {
    limits: ClientLimits,
    used: [AtomicU64; 4],
}

impl ClientBudget {
    pub fn new(limits: ClientLimits) -> Arc<ClientBudget> {
        Arc::new(ClientBudget {
            limits,
            used: Default::default(),
        })
    }

    pub fn limits(&self) -> &ClientLimits {
        &self.limits
    }

    /// What the client holds now.
    pub fn used(&self, q: Quantity) -> u64 {
        self.used[q.index()].load(Ordering::Relaxed)
    }

    fn limit(&self, q: Quantity) -> u64 {
        match q {
            Quantity::Objects => self.limits.max_objects,
            Quantity::HostBytes => self.limits.max_host_bytes,
            Quantity::Descriptors => self.limits.max_descriptors,
            Quantity::Compiles => self.limits.max_outstanding_compiles,
        }
    }

    /// Takes `amount` of `q`, or refuses without taking anything.
    fn reserve(&self, q: Quantity, amount: u64, what: &'static str) -> Result<(), ExecError> {
        let limit = self.limit(q);
        let counter = &self.used[q.index()];
        let result = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
            used.checked_add(amount).filter(|&total| total <= limit)
        });
        match result {
            Ok(_) => Ok(()),
            Err(used) => Err(match q {
                Quantity::Objects => ExecError::TooManyObjects { limit },
                Quantity::Compiles => ExecError::TooManyCompiles { limit },
                Quantity::HostBytes | Quantity::Descriptors => ExecError::OverBudget {
                    what,
                    requested: amount,
                    used,
                    limit,
                },
            }),
        }
    }

    fn release(&self, q: Quantity, amount: u64) {
        // Only what was reserved is released (the account below guarantees it); saturate so
        // that a bug here can never wrap the counter into "everything is free".
        let _ = self.used[q.index()].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
            Some(u.saturating_sub(amount))
        });
    }
}

/// One context's share of its client's budget: what it reserved, returned when dropped.
#[derive(Debug)]
pub struct ContextAccount {
    budget: Arc<ClientBudget>,
    held: [u64; 4],
}

impl ContextAccount {
    pub fn new(budget: Arc<ClientBudget>) -> ContextAccount {
        ContextAccount {
            budget,
            held: [0; 4],
        }
    }

    pub fn limits(&self) -> &ClientLimits {
        self.budget.limits()
    }

    /// What this context holds of `q`.
    pub fn held(&self, q: Quantity) -> u64 {
        self.held[q.index()]
    }

    /// Reserves `amount` of `q` in the client's budget; `what` names it in the error.
    pub fn reserve(
        &mut self,
        q: Quantity,
        amount: u64,
        what: &'static str,
    ) -> Result<(), ExecError> {
        self.budget.reserve(q, amount, what)?;
        self.held[q.index()] += amount;
        Ok(())
    }

    /// Returns `amount` of `q` (at most what this context holds).
    pub fn release(&mut self, q: Quantity, amount: u64) {
        let amount = amount.min(self.held[q.index()]);
        self.held[q.index()] -= amount;
        self.budget.release(q, amount);
    }

    /// Reserves one object and `bytes` of host memory for it, both or neither.
    pub fn reserve_object(&mut self, bytes: u64) -> Result<(), ExecError> {
        self.reserve(Quantity::Objects, 1, "objects")?;
        let total = bytes.saturating_add(OBJECT_OVERHEAD_BYTES);
        if let Err(e) = self.reserve(Quantity::HostBytes, total, "host memory for objects") {
            self.release(Quantity::Objects, 1);
            return Err(e);
        }
        Ok(())
    }

    /// Returns what [`Self::reserve_object`] took for an object of `bytes`.
    pub fn release_object(&mut self, bytes: u64) {
        self.release(Quantity::Objects, 1);
        self.release(
            Quantity::HostBytes,
            bytes.saturating_add(OBJECT_OVERHEAD_BYTES),
        );
    }
}

impl Drop for ContextAccount {
    fn drop(&mut self) {
        for q in Quantity::ALL {
            self.budget.release(q, self.held[q.index()]);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn small() -> ClientLimits {
        ClientLimits {
            max_objects: 3,
            max_host_bytes: 10_000,
            max_descriptors: 10,
            max_outstanding_compiles: 1,
            ..ClientLimits::default()
        }
    }

    #[test]
    fn capset_caps_are_the_client_limits() {
        let caps = small().caps();
        assert_eq!(caps.max_objects, Some(3));
        assert_eq!(caps.max_descriptors, Some(10));
        assert_eq!(
            caps.max_shader_module_words,
            Some(ClientLimits::default().max_shader_module_words)
        );
    }

    #[test]
    fn object_cap_is_shared_by_the_contexts_of_a_client() {
        let budget = ClientBudget::new(small());
        let mut a = ContextAccount::new(budget.clone());
        let mut b = ContextAccount::new(budget.clone());
        a.reserve_object(0).unwrap();
        a.reserve_object(0).unwrap();
        b.reserve_object(0).unwrap();
        assert!(matches!(
            b.reserve_object(0),
            Err(ExecError::TooManyObjects { limit: 3 })
        ));
        a.release_object(0);
        b.reserve_object(0).unwrap();
        assert_eq!(budget.used(Quantity::Objects), 3);
    }

    #[test]
    fn a_refused_reservation_takes_nothing() {
        let budget = ClientBudget::new(small());
        let mut a = ContextAccount::new(budget.clone());
        // The object count would fit, the bytes do not: neither is taken.
        assert!(matches!(
            a.reserve_object(20_000),
            Err(ExecError::OverBudget { limit: 10_000, .. })
        ));
        assert_eq!(budget.used(Quantity::Objects), 0);
        assert_eq!(budget.used(Quantity::HostBytes), 0);
        assert!(a
            .reserve(Quantity::Descriptors, u64::MAX, "descriptors")
            .is_err());
        assert_eq!(budget.used(Quantity::Descriptors), 0);
    }

    #[test]
    fn compile_cap_refuses_the_compile_beyond_it_until_one_finishes() {
        let budget = ClientBudget::new(small());
        let mut a = ContextAccount::new(budget.clone());
        let mut b = ContextAccount::new(budget);
        a.reserve(Quantity::Compiles, 1, "compiles").unwrap();
        assert!(matches!(
            b.reserve(Quantity::Compiles, 1, "compiles"),
            Err(ExecError::TooManyCompiles { limit: 1 })
        ));
        a.release(Quantity::Compiles, 1);
        b.reserve(Quantity::Compiles, 1, "compiles").unwrap();
    }

    #[test]
    fn dropping_a_context_returns_everything_it_held() {
        let budget = ClientBudget::new(small());
        let mut a = ContextAccount::new(budget.clone());
        a.reserve_object(100).unwrap();
        a.reserve(Quantity::Descriptors, 7, "descriptors").unwrap();
        a.reserve(Quantity::Compiles, 1, "compiles").unwrap();
        drop(a);
        for q in Quantity::ALL {
            assert_eq!(budget.used(q), 0, "{q:?}");
        }
    }

    #[test]
    fn releasing_more_than_held_cannot_free_another_contexts_share() {
        let budget = ClientBudget::new(small());
        let mut a = ContextAccount::new(budget.clone());
        let mut b = ContextAccount::new(budget.clone());
        a.reserve(Quantity::Descriptors, 5, "descriptors").unwrap();
        b.release(Quantity::Descriptors, 5);
        assert_eq!(budget.used(Quantity::Descriptors), 5);
    }
}
