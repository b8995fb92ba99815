//! The driver side of a split virtqueue (VIRTIO 1.2 §2.7), written by hand: descriptor table,
//! available ring and used ring live in guest RAM; we add descriptor chains, publish them, and
//! collect what the device returns. The device is a peer we do not trust: every used-ring
//! entry is checked against the chains we actually have in flight.
//!
//! Not thread-safe by itself: the owner serializes access (one mutex per queue).

use std::sync::atomic::{fence, Ordering};

use thiserror::Error;
use virtio_bindings::virtio_ring::{VRING_DESC_F_NEXT, VRING_DESC_F_WRITE};
use vm_memory::{Bytes, GuestAddress, GuestMemory};

const DESC_SIZE: u64 = 16;
const USED_ELEM_SIZE: u64 = 8;

#[derive(Debug, Error)]
pub enum QueueError {
    #[error("queue size {0} is not a power of two in 1..=32768")]
    BadSize(u16),
    #[error("not enough free descriptors: {needed} needed, {free} free")]
    Full { needed: usize, free: usize },
    #[error("a descriptor chain must have 1..={max} descriptors, got {got}")]
    BadChain { got: usize, max: usize },
    #[error("descriptor {index}: link to {next} is outside the chain of {len}")]
    BadLink {
        index: usize,
        next: usize,
        len: usize,
    },
    #[error("guest memory access failed: {0}")]
    Memory(String),
    #[error("device returned head {head}, which is not a chain in flight")]
    UnknownHead { head: u32 },
    #[error(
        "device advanced the used index by {advanced}, more than {in_flight} chains in flight"
    )]
    UsedIndexJump { advanced: u16, in_flight: usize },
}

/// Where a queue's three parts are in guest RAM (VIRTIO 1.2 §2.7: alignments 16, 2, 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueLayout {
    pub size: u16,
    pub desc_table: u64,
    pub avail_ring: u64,
    pub used_ring: u64,
}

impl QueueLayout {
    /// Lays a queue of `size` entries out from `base` (16-byte aligned). Returns the layout
    /// and the number of bytes it occupies.
    pub fn new(size: u16, base: u64) -> Result<(QueueLayout, u64), QueueError> {
        if size == 0 || !size.is_power_of_two() || size > 32768 {
            return Err(QueueError::BadSize(size));
        }
        let n = u64::from(size);
        let desc_table = base.next_multiple_of(16);
        // flags, idx, ring[n], used_event
        let avail_ring = desc_table + DESC_SIZE * n;
        // flags, idx, ring[n] of {id, len}, avail_event; 4-byte aligned
        let used_ring = (avail_ring + 6 + 2 * n).next_multiple_of(4);
        let end = used_ring + 6 + USED_ELEM_SIZE * n;
        Ok((
            QueueLayout {
                size,
                desc_table,
                avail_ring,
                used_ring,
            },
            end - base,
        ))
    }
}

/// One buffer of a chain, as the driver describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub gpa: u64,
    pub len: u32,
    /// Device-writable (a response buffer) rather than device-readable.
    pub writable: bool,
}

/// A descriptor with an explicit link, for hostile-frontend tests: `next` is an index into
/// the same chain (so loops and long walks can be built), `flags` are written verbatim
/// except that `next` is translated to the real table index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawDescriptor {
    pub gpa: u64,
    pub len: u32,
    pub flags: u16,
    pub next: usize,
}

/// A chain the device has returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsedChain {
    pub head: u16,
    /// Bytes the device says it wrote (untrusted: clamp before use).
    pub written: u32,
}

#[derive(Debug)]
pub struct SplitQueue {
    layout: QueueLayout,
    free: Vec<u16>,
    /// Per head index: the table entries its chain occupies (we free these, never the links
    /// read back from guest memory, which the device could have changed).
    in_flight: Vec<Option<Vec<u16>>>,
    in_flight_count: usize,
    next_avail: u16,
    last_used: u16,
}

impl SplitQueue {
    /// A fresh queue; zeroes its rings in `mem` (a re-used area must not leak old indices).
    pub fn new<M: GuestMemory>(layout: QueueLayout, mem: &M) -> Result<SplitQueue, QueueError> {
        let (_, bytes) = QueueLayout::new(layout.size, layout.desc_table)?;
        let zeros = vec![0u8; bytes as usize];
        mem.write_slice(&zeros, GuestAddress(layout.desc_table))
            .map_err(mem_err)?;
        Ok(SplitQueue {
            layout,
            free: (0..layout.size).rev().collect(),
            in_flight: vec![None; usize::from(layout.size)],
            in_flight_count: 0,
            next_avail: 0,
            last_used: 0,
        })
    }

    pub fn layout(&self) -> QueueLayout {
        self.layout
    }

    pub fn free_descriptors(&self) -> usize {
        self.free.len()
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight_count
    }

    /// Adds a chain (VIRTIO 1.2 §2.7.13): readable descriptors first, then writable ones, is
    /// the caller's job; this links them in the given order and publishes the head.
    pub fn add_chain<M: GuestMemory>(
        &mut self,
        mem: &M,
        descs: &[Descriptor],
    ) -> Result<u16, QueueError> {
        let raw: Vec<RawDescriptor> = descs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let last = i + 1 == descs.len();
                let flags = if d.writable {
                    VRING_DESC_F_WRITE as u16
                } else {
                    0
                } | if last { 0 } else { VRING_DESC_F_NEXT as u16 };
                RawDescriptor {
                    gpa: d.gpa,
                    len: d.len,
                    flags,
                    next: if last { 0 } else { i + 1 },
                }
            })
            .collect();
        self.add_raw_chain(mem, &raw)
    }

    /// Adds a chain whose links are given explicitly (see [`RawDescriptor`]) and publishes it.
    pub fn add_raw_chain<M: GuestMemory>(
        &mut self,
        mem: &M,
        descs: &[RawDescriptor],
    ) -> Result<u16, QueueError> {
        let max = usize::from(self.layout.size);
        if descs.is_empty() || descs.len() > max {
            return Err(QueueError::BadChain {
                got: descs.len(),
                max,
            });
        }
        if let Some((index, d)) = descs
            .iter()
            .enumerate()
            .find(|(_, d)| d.next >= descs.len())
        {
            return Err(QueueError::BadLink {
                index,
                next: d.next,
                len: descs.len(),
            });
        }
        if self.free.len() < descs.len() {
            return Err(QueueError::Full {
                needed: descs.len(),
                free: self.free.len(),
            });
        }
        let split = self.free.len() - descs.len();
        let mut slots = self.free.split_off(split);
        slots.reverse();
        for (d, &slot) in descs.iter().zip(&slots) {
            let entry = self.layout.desc_table + DESC_SIZE * u64::from(slot);
            let mut bytes = [0u8; DESC_SIZE as usize];
            bytes[0..8].copy_from_slice(&d.gpa.to_le_bytes());
            bytes[8..12].copy_from_slice(&d.len.to_le_bytes());
            bytes[12..14].copy_from_slice(&d.flags.to_le_bytes());
            bytes[14..16].copy_from_slice(&slots[d.next].to_le_bytes());
            if let Err(e) = mem.write_slice(&bytes, GuestAddress(entry)) {
                self.free.extend(slots);
                return Err(mem_err(e));
            }
        }
        let head = slots[0];
        let ring_slot = u64::from(self.next_avail % self.layout.size);
        let ring_entry = self.layout.avail_ring + 4 + 2 * ring_slot;
        if let Err(e) = mem.write_slice(&head.to_le_bytes(), GuestAddress(ring_entry)) {
            self.free.extend(slots);
            return Err(mem_err(e));
        }
        self.in_flight[usize::from(head)] = Some(slots);
        self.in_flight_count += 1;
        self.next_avail = self.next_avail.wrapping_add(1);
        // VIRTIO 1.2 §2.7.13.3.1: descriptors and the ring entry must be visible before the
        // new index. The Release store orders every earlier write before it.
        mem.store(
            self.next_avail,
            GuestAddress(self.layout.avail_ring + 2),
            Ordering::Release,
        )
        .map_err(mem_err)?;
        // Full barrier between publishing and the notification that follows (§2.7.13.4).
        fence(Ordering::SeqCst);
        Ok(head)
    }

    /// Takes the next chain the device has returned, if any, and frees its descriptors.
    pub fn pop_used<M: GuestMemory>(&mut self, mem: &M) -> Result<Option<UsedChain>, QueueError> {
        let used_idx: u16 = mem
            .load(GuestAddress(self.layout.used_ring + 2), Ordering::Acquire)
            .map_err(mem_err)?;
        let advanced = used_idx.wrapping_sub(self.last_used);
        if advanced == 0 {
            return Ok(None);
        }
        if usize::from(advanced) > self.in_flight_count {
            return Err(QueueError::UsedIndexJump {
                advanced,
                in_flight: self.in_flight_count,
            });
        }
        let slot = u64::from(self.last_used % self.layout.size);
        let elem = self.layout.used_ring + 4 + USED_ELEM_SIZE * slot;
        let mut bytes = [0u8; USED_ELEM_SIZE as usize];
        mem.read_slice(&mut bytes, GuestAddress(elem))
            .map_err(mem_err)?;
        let id = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let written = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let head = u16::try_from(id).ok().filter(|&h| h < self.layout.size);
        let Some(slots) = head.and_then(|h| self.in_flight[usize::from(h)].take()) else {
            return Err(QueueError::UnknownHead { head: id });
        };
        self.free.extend(slots);
        self.in_flight_count -= 1;
        self.last_used = self.last_used.wrapping_add(1);
        Ok(head.map(|head| UsedChain { head, written }))
    }
}

fn mem_err(e: impl std::fmt::Display) -> QueueError {
    QueueError::Memory(e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use vm_memory::GuestMemoryMmap;

    /// The device's half, written independently from the spec: reads the available ring,
    /// walks each chain (bounded by the queue size), and "executes" it by writing the sum of
    /// the readable bytes' lengths as a little-endian u32 into the first writable buffer.
    pub(crate) struct TestDevice {
        pub layout: QueueLayout,
        pub last_avail: u16,
        pub used_idx: u16,
    }

    /// What the test device saw in one chain.
    #[derive(Debug, PartialEq, Eq)]
    pub(crate) struct SeenChain {
        pub head: u16,
        pub descs: Vec<(u64, u32, bool)>,
        pub looped: bool,
    }

    impl TestDevice {
        pub fn new(layout: QueueLayout) -> Self {
            TestDevice {
                layout,
                last_avail: 0,
                used_idx: 0,
            }
        }

        /// Consumes available chains but does not return them yet.
        pub fn take_available(&mut self, mem: &GuestMemoryMmap) -> Vec<SeenChain> {
            let avail_idx: u16 = mem
                .load(GuestAddress(self.layout.avail_ring + 2), Ordering::Acquire)
                .unwrap();
            let mut out = Vec::new();
            while self.last_avail != avail_idx {
                let slot = u64::from(self.last_avail % self.layout.size);
                let head: u16 = mem
                    .read_obj(GuestAddress(self.layout.avail_ring + 4 + 2 * slot))
                    .unwrap();
                let mut descs = Vec::new();
                let mut index = head;
                let mut looped = true;
                for _ in 0..self.layout.size {
                    let at = self.layout.desc_table + 16 * u64::from(index);
                    let gpa: u64 = mem.read_obj(GuestAddress(at)).unwrap();
                    let len: u32 = mem.read_obj(GuestAddress(at + 8)).unwrap();
                    let flags: u16 = mem.read_obj(GuestAddress(at + 12)).unwrap();
                    let next: u16 = mem.read_obj(GuestAddress(at + 14)).unwrap();
                    descs.push((gpa, len, flags & VRING_DESC_F_WRITE as u16 != 0));
                    if flags & VRING_DESC_F_NEXT as u16 == 0 {
                        looped = false;
                        break;
                    }
                    index = next;
                }
                out.push(SeenChain {
                    head,
                    descs,
                    looped,
                });
                self.last_avail = self.last_avail.wrapping_add(1);
            }
            out
        }

        pub fn complete(&mut self, mem: &GuestMemoryMmap, chain: &SeenChain) {
            let readable: u32 = chain.descs.iter().filter(|d| !d.2).map(|d| d.1).sum();
            let mut written = 0;
            if let Some(w) = chain.descs.iter().find(|d| d.2) {
                mem.write_obj(readable, GuestAddress(w.0)).unwrap();
                written = 4;
            }
            self.push_used(mem, u32::from(chain.head), written);
        }

        pub fn push_used(&mut self, mem: &GuestMemoryMmap, id: u32, written: u32) {
            let slot = u64::from(self.used_idx % self.layout.size);
            let at = self.layout.used_ring + 4 + 8 * slot;
            mem.write_obj(id, GuestAddress(at)).unwrap();
            mem.write_obj(written, GuestAddress(at + 4)).unwrap();
            self.used_idx = self.used_idx.wrapping_add(1);
            mem.store(
                self.used_idx,
                GuestAddress(self.layout.used_ring + 2),
                Ordering::Release,
            )
            .unwrap();
        }
    }

    fn setup(size: u16) -> (GuestMemoryMmap, SplitQueue, TestDevice) {
        let mem = GuestMemoryMmap::from_ranges(&[(GuestAddress(0x1000), 1 << 20)]).unwrap();
        let (layout, bytes) = QueueLayout::new(size, 0x1000).unwrap();
        assert!(bytes < 0x8000);
        let q = SplitQueue::new(layout, &mem).unwrap();
        (mem, q, TestDevice::new(layout))
    }

    fn request(gpa: u64, len: u32, resp: u64) -> [Descriptor; 2] {
        [
            Descriptor {
                gpa,
                len,
                writable: false,
            },
            Descriptor {
                gpa: resp,
                len: 4,
                writable: true,
            },
        ]
    }

    #[test]
    fn layout_follows_the_spec_alignment_and_sizes() {
        let (l, bytes) = QueueLayout::new(256, 0x1001).unwrap();
        assert_eq!(l.desc_table, 0x1010);
        assert_eq!(l.avail_ring, 0x1010 + 16 * 256);
        assert_eq!(l.used_ring % 4, 0);
        assert!(l.used_ring >= l.avail_ring + 6 + 2 * 256);
        assert_eq!(0x1001 + bytes, l.used_ring + 6 + 8 * 256);
        assert!(QueueLayout::new(3, 0).is_err());
        assert!(QueueLayout::new(0, 0).is_err());
    }

    #[test]
    fn device_sees_chains_in_order_with_flags_and_results_come_back() {
        let (mem, mut q, mut dev) = setup(16);
        let a = q.add_chain(&mem, &request(0x10000, 100, 0x20000)).unwrap();
        let b = q
            .add_chain(
                &mem,
                &[
                    Descriptor {
                        gpa: 0x11000,
                        len: 24,
                        writable: false,
                    },
                    Descriptor {
                        gpa: 0x12000,
                        len: 1000,
                        writable: false,
                    },
                    Descriptor {
                        gpa: 0x20100,
                        len: 4,
                        writable: true,
                    },
                ],
            )
            .unwrap();
        assert_eq!(q.free_descriptors(), 16 - 5);
        let seen = dev.take_available(&mem);
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].head, a);
        assert_eq!(
            seen[0].descs,
            vec![(0x10000, 100, false), (0x20000, 4, true)]
        );
        assert_eq!(seen[1].head, b);
        assert_eq!(seen[1].descs.len(), 3);
        assert!(!seen[1].looped);
        // Return them out of order: the driver must accept that.
        dev.complete(&mem, &seen[1]);
        dev.complete(&mem, &seen[0]);
        assert_eq!(
            q.pop_used(&mem).unwrap(),
            Some(UsedChain {
                head: b,
                written: 4
            })
        );
        assert_eq!(
            q.pop_used(&mem).unwrap(),
            Some(UsedChain {
                head: a,
                written: 4
            })
        );
        assert_eq!(q.pop_used(&mem).unwrap(), None);
        assert_eq!(mem.read_obj::<u32>(GuestAddress(0x20100)).unwrap(), 1024);
        assert_eq!(mem.read_obj::<u32>(GuestAddress(0x20000)).unwrap(), 100);
        assert_eq!(q.free_descriptors(), 16);
        assert_eq!(q.in_flight(), 0);
    }

    #[test]
    fn indices_wrap_past_u16_max() {
        let (mem, mut q, mut dev) = setup(4);
        for i in 0..70_000u32 {
            let head = q
                .add_chain(&mem, &request(0x10000, i % 50, 0x20000))
                .unwrap();
            let seen = dev.take_available(&mem);
            assert_eq!(seen.len(), 1);
            assert_eq!(seen[0].head, head);
            dev.complete(&mem, &seen[0]);
            assert_eq!(q.pop_used(&mem).unwrap().map(|u| u.head), Some(head));
        }
        assert_eq!(
            mem.read_obj::<u32>(GuestAddress(0x20000)).unwrap(),
            69_999 % 50
        );
        assert_eq!(q.free_descriptors(), 4);
    }

    #[test]
    fn full_queue_is_refused_without_losing_descriptors() {
        let (mem, mut q, mut dev) = setup(4);
        q.add_chain(&mem, &request(0x10000, 1, 0x20000)).unwrap();
        q.add_chain(&mem, &request(0x10000, 1, 0x20000)).unwrap();
        assert!(matches!(
            q.add_chain(&mem, &request(0x10000, 1, 0x20000)),
            Err(QueueError::Full { .. })
        ));
        assert_eq!(
            dev.take_available(&mem).len(),
            2,
            "a refused chain was published"
        );
        assert_eq!(q.free_descriptors(), 0);
    }

    #[test]
    fn used_entries_naming_unknown_heads_are_rejected() {
        let (mem, mut q, mut dev) = setup(8);
        let head = q.add_chain(&mem, &request(0x10000, 1, 0x20000)).unwrap();
        dev.take_available(&mem);
        dev.push_used(&mem, u32::from(head) + 1, 0);
        assert!(matches!(
            q.pop_used(&mem),
            Err(QueueError::UnknownHead { .. })
        ));
        let (mem, mut q, mut dev) = setup(8);
        q.add_chain(&mem, &request(0x10000, 1, 0x20000)).unwrap();
        dev.push_used(&mem, 70_000, 0);
        assert!(matches!(
            q.pop_used(&mem),
            Err(QueueError::UnknownHead { head: 70_000 })
        ));
    }

    #[test]
    fn used_index_running_ahead_of_in_flight_is_rejected() {
        let (mem, mut q, mut dev) = setup(8);
        q.add_chain(&mem, &request(0x10000, 1, 0x20000)).unwrap();
        dev.used_idx = 5;
        dev.push_used(&mem, 0, 0);
        assert!(matches!(
            q.pop_used(&mem),
            Err(QueueError::UsedIndexJump { .. })
        ));
    }

    #[test]
    fn raw_chains_can_loop_and_are_freed_by_what_we_allocated() {
        let (mem, mut q, mut dev) = setup(8);
        let next = VRING_DESC_F_NEXT as u16;
        let head = q
            .add_raw_chain(
                &mem,
                &[
                    RawDescriptor {
                        gpa: 0x10000,
                        len: 8,
                        flags: next,
                        next: 1,
                    },
                    RawDescriptor {
                        gpa: 0x10008,
                        len: 8,
                        flags: next,
                        next: 0,
                    },
                ],
            )
            .unwrap();
        let seen = dev.take_available(&mem);
        assert!(seen[0].looped, "the loop did not reach the device");
        dev.push_used(&mem, u32::from(head), 0);
        assert_eq!(q.pop_used(&mem).unwrap().map(|u| u.head), Some(head));
        assert_eq!(q.free_descriptors(), 8);
        assert!(matches!(
            q.add_raw_chain(
                &mem,
                &[RawDescriptor {
                    gpa: 0,
                    len: 0,
                    flags: next,
                    next: 3
                }]
            ),
            Err(QueueError::BadLink { .. })
        ));
    }
}
