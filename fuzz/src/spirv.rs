//! SPIR-V inputs: the front-end check shared by the SPIR-V targets, the input layout (a
//! selector byte, optional specialization data, then the module) and an instruction-level
//! mutator that keeps a module's framing intact so mutations reach the lowering code rather
//! than the header checks.

use shader::front::{lower_compute, SpecializationEntry, SpecializationInfo};
use shader::ir::Module;
use shader::valid::validate;

/// Words of the SPIR-V header (magic, version, generator, bound, schema).
const HEADER_WORDS: usize = 5;

/// Splits an input into specialization info and SPIR-V bytes. Byte 0: bit 7 set means the
/// next 12 bytes are three `(constant_id, offset, size)` byte triples and the 16 after them
/// the specialization data.
pub fn spec_from(data: &[u8]) -> (SpecializationInfo, &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return (SpecializationInfo::default(), data);
    };
    if selector & 0x80 == 0 || rest.len() < 28 {
        return (SpecializationInfo::default(), rest);
    }
    let (head, spirv) = rest.split_at(28);
    let entries = head[..9]
        .chunks_exact(3)
        .map(|e| SpecializationEntry {
            constant_id: u32::from(e[0]),
            offset: u32::from(e[1] % 20),
            size: u32::from(e[2] % 9),
        })
        .collect();
    let info = SpecializationInfo {
        entries,
        data: head[12..].to_vec(),
    };
    (info, spirv)
}

/// Front end, then the validator; returns the module if both accept it. Panics (a finding)
/// only if a validated module does not survive its encode/decode round trip.
pub fn check_front_end(spirv: &[u8], spec: &SpecializationInfo) -> Option<Module> {
    let module = lower_compute(spirv, "main", spec).ok()?;
    validate(&module).ok()?;
    let bytes = module.encode();
    match Module::decode(&bytes) {
        Ok(back) => assert_eq!(back, module, "IR changed in an encode/decode round trip"),
        Err(e) => panic!("a validated module does not decode back: {e}"),
    }
    Some(module)
}

/// A small xorshift generator for the mutator (libFuzzer passes a seed per call).
struct Rng(u32);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        if n == 0 {
            0
        } else {
            self.0 as usize % n
        }
    }
}

/// Instruction boundaries `(start word, word count)` after the header; stops at the first
/// malformed word count.
fn instructions(words: &[u32]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = HEADER_WORDS;
    while at < words.len() {
        let count = (words[at] >> 16) as usize;
        if count == 0 || at + count > words.len() {
            break;
        }
        out.push((at, count));
        at += count;
    }
    out
}

/// Mutates the module in `data[..size]` (after the one selector byte, without spec data) at
/// the level of instructions; returns the new size, at most `max_size`. `None`: the input is
/// not a module this mutator understands (the caller then mutates bytes).
pub fn mutate_instructions(
    data: &mut [u8],
    size: usize,
    max_size: usize,
    seed: u32,
) -> Option<usize> {
    let body = data.get(1..size)?;
    if body.len() % 4 != 0 || body.len() < HEADER_WORDS * 4 {
        return None;
    }
    let mut words: Vec<u32> = body
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let insts = instructions(&words);
    if insts.is_empty() {
        return None;
    }
    let mut rng = Rng(seed | 1);
    // Ids in use: operand words below the module's bound.
    let bound = words[3].max(1);
    let ids: Vec<u32> = insts
        .iter()
        .flat_map(|&(s, n)| words[s + 1..s + n].iter().copied())
        .filter(|&w| w > 0 && w < bound)
        .collect();
    let (start, count) = insts[rng.below(insts.len())];
    match rng.below(7) {
        // Point an operand at another id of the module.
        0 | 1 if count > 1 && !ids.is_empty() => {
            words[start + 1 + rng.below(count - 1)] = ids[rng.below(ids.len())];
        }
        // An operand becomes a boundary value (literals, counts, indices).
        2 if count > 1 => {
            let v = [0, 1, 2, 3, 4, 31, 32, 64, 0x7fff_ffff, 0xffff_ffff][rng.below(10)];
            words[start + 1 + rng.below(count - 1)] = v;
        }
        // Another opcode, same length.
        3 => {
            let (other, _) = insts[rng.below(insts.len())];
            words[start] = (words[start] & 0xffff_0000) | (words[other] & 0xffff);
        }
        // Duplicate an instruction elsewhere.
        4 => {
            let copy: Vec<u32> = words[start..start + count].to_vec();
            let (to, _) = insts[rng.below(insts.len())];
            words.splice(to..to, copy);
        }
        // Delete one.
        5 => {
            words.drain(start..start + count);
        }
        // Move one to elsewhere.
        _ => {
            let moved: Vec<u32> = words.drain(start..start + count).collect();
            let rest = instructions(&words);
            let to = rest
                .get(rng.below(rest.len()))
                .map_or(HEADER_WORDS, |r| r.0);
            words.splice(to..to, moved);
        }
    }
    let new_size = 1 + words.len() * 4;
    if new_size > max_size || new_size > data.len() {
        return None;
    }
    for (i, w) in words.iter().enumerate() {
        data[1 + i * 4..5 + i * 4].copy_from_slice(&w.to_le_bytes());
    }
    Some(new_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(body: &[u32]) -> Vec<u8> {
        let mut words = vec![0x0723_0203, 0x0001_0000, 0, 10, 0];
        words.extend_from_slice(body);
        let mut out = vec![0u8];
        out.extend(words.iter().flat_map(|w| w.to_le_bytes()));
        out
    }

    #[test]
    fn mutations_keep_instruction_framing() {
        // OpCapability Shader; OpMemoryModel Logical GLSL450; OpTypeVoid %2; OpTypeInt %3 32 0
        let body = [
            0x0002_0011,
            1,
            0x0003_000e,
            0,
            1,
            0x0002_0013,
            2,
            0x0004_0015,
            3,
            32,
            0,
        ];
        let orig = module(&body);
        for seed in 1..200u32 {
            let mut data = orig.clone();
            data.resize(4096, 0);
            let size = mutate_instructions(&mut data, orig.len(), 4096, seed)
                .unwrap_or_else(|| panic!("seed {seed} gave up"));
            let words: Vec<u32> = data[1..size]
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let covered: usize = instructions(&words).iter().map(|i| i.1).sum();
            assert_eq!(covered + HEADER_WORDS, words.len(), "seed {seed}");
        }
    }

    #[test]
    fn spec_bytes_are_taken_only_when_asked_for() {
        let plain = [0u8, 1, 2, 3];
        assert_eq!(spec_from(&plain).1, &plain[1..]);
        let mut with = vec![0x80u8];
        with.extend(1..=28u8);
        with.extend([9, 9, 9, 9]);
        let (info, spirv) = spec_from(&with);
        assert_eq!(info.entries.len(), 3);
        assert_eq!(info.data.len(), 16);
        assert_eq!(spirv, &[9, 9, 9, 9]);
    }
}
