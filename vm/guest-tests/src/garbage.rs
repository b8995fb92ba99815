//! Hostile softgpu command streams for `execbuffer-garbage`: random bytes, frames whose length
//! claims more than is present, sequences with absurd counts, `Submit`s naming resources that
//! do not exist or ranges outside a real one, unknown opcodes. All from a seeded generator, so
//! a failing run can be repeated exactly.
//!
//! The stream format is DESIGN §3 (`protocol::stream`): frames `{opcode u32 LE, length u32 LE,
//! payload}`, payloads in postcard encoding (LEB128 varints, counts before sequences). This
//! crate is built on its own for the guest, so the few encodings needed are written out here.

/// Opcodes of the stream (`protocol::stream::opcode`) that the cases below use.
pub mod opcode {
    pub const CREATE_BUFFER: u32 = 0x0100;
    pub const BIND_BUFFER_MEMORY: u32 = 0x0102;
    pub const CREATE_SHADER_MODULE: u32 = 0x0200;
    pub const CREATE_DESCRIPTOR_SET_LAYOUT: u32 = 0x0300;
    pub const SUBMIT: u32 = 0x0500;
    pub const CMD_DISPATCH: u32 = 0x1003;
}

/// Opcodes the device knows (a sample, for frames with a known opcode and bad payload).
const KNOWN: [u32; 6] = [
    opcode::CREATE_BUFFER,
    opcode::BIND_BUFFER_MEMORY,
    opcode::CREATE_SHADER_MODULE,
    opcode::CREATE_DESCRIPTOR_SET_LAYOUT,
    opcode::SUBMIT,
    opcode::CMD_DISPATCH,
];

/// xorshift64*: small, deterministic, good enough to spread test inputs.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }
}

/// Appends `v` as a postcard (LEB128) varint.
pub fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// One frame: header with the payload's true length, then the payload.
pub fn frame(opcode: u32, payload: &[u8]) -> Vec<u8> {
    frame_claiming(opcode, payload.len() as u32, payload)
}

/// A frame whose header claims `len` payload bytes, whatever follows.
pub fn frame_claiming(opcode: u32, len: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&opcode.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// A `Submit` payload with no waits, the given command-buffer ranges `(resource, offset,
/// len)` and signal writes `(resource, offset, value)`.
pub fn submit_payload(command_buffers: &[(u32, u64, u64)], signals: &[(u32, u64, u64)]) -> Vec<u8> {
    let mut p = Vec::new();
    varint(&mut p, 0);
    varint(&mut p, command_buffers.len() as u64);
    for &(resource, offset, len) in command_buffers {
        varint(&mut p, resource.into());
        varint(&mut p, offset);
        varint(&mut p, len);
    }
    varint(&mut p, signals.len() as u64);
    for &(resource, offset, value) in signals {
        varint(&mut p, resource.into());
        varint(&mut p, offset);
        varint(&mut p, value);
    }
    p
}

/// The kinds of hostile stream [`hostile_stream`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    RandomBytes,
    TruncatedFrame,
    HugeCount,
    MissingResource,
    OutOfRange,
    UnknownOpcode,
    BadBind,
}

pub const CASES: [Case; 7] = [
    Case::RandomBytes,
    Case::TruncatedFrame,
    Case::HugeCount,
    Case::MissingResource,
    Case::OutOfRange,
    Case::UnknownOpcode,
    Case::BadBind,
];

/// A hostile stream of kind `case`. `resource` is a real resource of `resource_size` bytes
/// attached to the submitting context (for the cases that aim just outside it).
pub fn hostile_stream(rng: &mut Rng, case: Case, resource: u32, resource_size: u64) -> Vec<u8> {
    match case {
        Case::RandomBytes => {
            let len = 1 + rng.below(512) as usize;
            rng.bytes(len)
        }
        Case::TruncatedFrame => {
            let present = rng.below(64) as usize;
            let extra = 1 + rng.below(u64::from(u32::MAX) - 64) as u32;
            let claimed = (present as u32).saturating_add(extra);
            let op = rng.pick(&KNOWN);
            frame_claiming(op, claimed, &rng.bytes(present))
        }
        Case::HugeCount => {
            // A sequence count far beyond the bytes present, in the first sequence field.
            let count = rng.pick(&[u64::from(u32::MAX), u64::MAX, 1 << 40, 0x7fff_ffff]);
            let op = rng.pick(&[
                opcode::SUBMIT,
                opcode::CREATE_SHADER_MODULE,
                opcode::CREATE_DESCRIPTOR_SET_LAYOUT,
            ]);
            let mut p = Vec::new();
            if op != opcode::SUBMIT {
                varint(&mut p, 1 + rng.below(1000)); // the object id
            }
            varint(&mut p, count);
            let tail = rng.below(16) as usize;
            p.extend(rng.bytes(tail));
            frame(op, &p)
        }
        Case::MissingResource => {
            let missing = resource.wrapping_add(1000 + rng.below(1 << 20) as u32);
            let cbs = [(missing, 0, 64)];
            let signals = [(missing, rng.below(4096), rng.next_u64())];
            if rng.below(2) == 0 {
                frame(opcode::SUBMIT, &submit_payload(&cbs, &[]))
            } else {
                frame(opcode::SUBMIT, &submit_payload(&[], &signals))
            }
        }
        Case::OutOfRange => {
            let (offset, len) = match rng.below(4) {
                0 => (resource_size, 16),
                1 => (resource_size.saturating_sub(8), 64),
                2 => (u64::MAX - 4, 16),
                _ => (8, u64::MAX),
            };
            if rng.below(2) == 0 {
                frame(
                    opcode::SUBMIT,
                    &submit_payload(&[(resource, offset, len)], &[]),
                )
            } else {
                // A signal write (8 bytes) that does not fit.
                let at = resource_size.saturating_sub(rng.below(8)) + rng.below(2) * (u64::MAX / 2);
                frame(opcode::SUBMIT, &submit_payload(&[], &[(resource, at, 1)]))
            }
        }
        Case::UnknownOpcode => {
            let op = loop {
                let op = rng.next_u32();
                if !KNOWN.contains(&op) && !(0x0100..0x1100).contains(&op) {
                    break op;
                }
            };
            let len = rng.below(32) as usize;
            frame(op, &rng.bytes(len))
        }
        Case::BadBind => {
            // A buffer bound to memory that does not exist or lies outside the resource.
            let id = 1 + rng.below(1 << 30);
            let mut create = Vec::new();
            varint(&mut create, id);
            varint(&mut create, 256);
            varint(&mut create, 0x20);
            let mut bind = Vec::new();
            varint(&mut bind, id);
            let (res, offset) = if rng.below(2) == 0 {
                (resource.wrapping_add(77_777), 0)
            } else {
                (resource, resource_size + rng.below(1 << 40))
            };
            varint(&mut bind, res.into());
            varint(&mut bind, offset);
            let mut s = frame(opcode::CREATE_BUFFER, &create);
            s.extend(frame(opcode::BIND_BUFFER_MEMORY, &bind));
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_matches_postcard_leb128() {
        let enc = |v| {
            let mut o = Vec::new();
            varint(&mut o, v);
            o
        };
        assert_eq!(enc(0), [0]);
        assert_eq!(enc(127), [0x7f]);
        assert_eq!(enc(128), [0x80, 0x01]);
        assert_eq!(enc(300), [0xac, 0x02]);
        assert_eq!(enc(u64::MAX).len(), 10);
    }

    #[test]
    fn the_generator_is_deterministic_per_seed() {
        let (mut a, mut b, mut c) = (Rng::new(7), Rng::new(7), Rng::new(8));
        let sa: Vec<_> = CASES
            .iter()
            .map(|&k| hostile_stream(&mut a, k, 5, 4096))
            .collect();
        let sb: Vec<_> = CASES
            .iter()
            .map(|&k| hostile_stream(&mut b, k, 5, 4096))
            .collect();
        let sc: Vec<_> = CASES
            .iter()
            .map(|&k| hostile_stream(&mut c, k, 5, 4096))
            .collect();
        assert_eq!(sa, sb);
        assert_ne!(sa, sc);
    }

    #[test]
    fn a_truncated_frame_claims_more_than_it_carries() {
        let mut rng = Rng::new(3);
        for _ in 0..100 {
            let s = hostile_stream(&mut rng, Case::TruncatedFrame, 5, 4096);
            let claimed = u32::from_le_bytes([s[4], s[5], s[6], s[7]]) as usize;
            assert!(
                claimed > s.len() - 8,
                "claims {claimed}, carries {}",
                s.len() - 8
            );
        }
    }

    #[test]
    fn an_unknown_opcode_is_outside_the_protocol_ranges() {
        let mut rng = Rng::new(4);
        for _ in 0..100 {
            let s = hostile_stream(&mut rng, Case::UnknownOpcode, 5, 4096);
            let op = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
            assert!(!(0x0100..0x1100).contains(&op));
            assert_eq!(
                u32::from_le_bytes([s[4], s[5], s[6], s[7]]) as usize,
                s.len() - 8
            );
        }
    }

    #[test]
    fn a_submit_payload_encodes_counts_before_elements() {
        let p = submit_payload(&[(5, 1, 2)], &[(6, 3, 300)]);
        assert_eq!(p, [0, 1, 5, 1, 2, 1, 6, 3, 0xac, 0x02]);
    }
}
