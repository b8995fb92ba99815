//! The outer layer of a SPIR-V binary: header and instruction framing checks (SPIR-V §2.3,
//! §2.4), the rewrites that let rspirv 0.12 load what it otherwise refuses, and the rspirv
//! parse itself behind a panic guard.

use std::collections::{HashMap, HashSet};

use rspirv::dr;

use super::types::Id;
use super::{malformed, Result};

/// Largest id bound we accept (a sanity cap; real shaders stay far below it).
pub(crate) const MAX_ID_BOUND: u32 = 4 * 1024 * 1024;
const MAGIC: u32 = 0x0723_0203;
const OP_EXECUTION_MODE_ID: u32 = 331;
const OP_EXT_INST_IMPORT: u32 = 11;
const OP_EXT_INST: u32 = 12;
const OP_FUNCTION: u32 = 54;
const OP_FUNCTION_END: u32 = 56;
const OP_UNDEF: u32 = 1;
const OP_SPEC_CONSTANT_OP: u32 = 52;

/// The module's words in host order, with `OpExecutionModeId` taken out (rspirv 0.12's loader
/// refuses it) and kept here.
pub(crate) struct Words {
    pub words: Vec<u32>,
    /// (entry point, mode, operand ids) of each `OpExecutionModeId`.
    pub mode_ids: Vec<(Id, u32, Vec<Id>)>,
    /// Each `OpSpecConstantOp` by result id: (opcode, operand words). rspirv 0.12 parses only
    /// one literal of VectorShuffle / CompositeExtract / CompositeInsert here, so these are
    /// replaced in the stream by an `OpUndef` of the same id and type, and decoded by us.
    pub spec_ops: HashMap<Id, (u32, Vec<u32>)>,
    pub bound: u32,
}

/// Checks the header and the instruction framing (SPIR-V §2.3, §2.4).
pub(crate) fn prepare_words(bytes: &[u8]) -> Result<Words> {
    if !bytes.len().is_multiple_of(4) {
        return malformed(format!("length {} is not a multiple of 4", bytes.len()));
    }
    if bytes.len() < 20 {
        return malformed("shorter than the 5-word header");
    }
    let le = |c: &[u8]| u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    let first = le(&bytes[..4]);
    let swap = match first {
        MAGIC => false,
        m if m == MAGIC.swap_bytes() => true,
        m => return malformed(format!("bad magic number {m:#010x}")),
    };
    let words: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| if swap { le(c).swap_bytes() } else { le(c) })
        .collect();
    let version = words[1];
    if version & 0xff00_00ff != 0 || !(0x0001_0000..=0x0001_0600).contains(&version) {
        return malformed(format!("unsupported SPIR-V version word {version:#010x}"));
    }
    let bound = words[3];
    if bound == 0 || bound > MAX_ID_BOUND {
        return malformed(format!("id bound {bound} outside 1..={MAX_ID_BOUND}"));
    }
    let mut out = Vec::with_capacity(words.len());
    out.extend_from_slice(&words[..5]);
    let mut mode_ids = Vec::new();
    let mut spec_ops = HashMap::new();
    // Ids of `NonSemantic.*` instruction sets: their module-level OpExtInsts (debug info) are
    // dropped here because rspirv 0.12's loader refuses instructions outside functions it does
    // not know; inside functions they are skipped during lowering.
    let mut non_semantic = HashSet::new();
    let mut in_function = false;
    let mut i = 5;
    while i < words.len() {
        let count = (words[i] >> 16) as usize;
        let opcode = words[i] & 0xffff;
        if count == 0 {
            return malformed(format!("instruction at word {i} has word count 0"));
        }
        let Some(inst) = words.get(i..i + count) else {
            return malformed(format!("instruction at word {i} runs past the end"));
        };
        match opcode {
            OP_EXT_INST_IMPORT if count >= 3 => {
                let name: Vec<u8> = inst[2..].iter().flat_map(|w| w.to_le_bytes()).collect();
                if name.starts_with(b"NonSemantic.") {
                    non_semantic.insert(inst[1]);
                }
            }
            OP_FUNCTION => in_function = true,
            OP_FUNCTION_END => in_function = false,
            _ => {}
        }
        if opcode == OP_EXT_INST && !in_function && count >= 4 && non_semantic.contains(&inst[3]) {
            // Module-level non-semantic debug info: meaningless to us.
        } else if opcode == OP_SPEC_CONSTANT_OP && count >= 4 {
            spec_ops.insert(inst[2], (inst[3], inst[4..].to_vec()));
            out.extend_from_slice(&[(3 << 16) | OP_UNDEF, inst[1], inst[2]]);
        } else if opcode == OP_EXECUTION_MODE_ID {
            if count < 3 {
                return malformed("OpExecutionModeId too short");
            }
            mode_ids.push((inst[1], inst[2], inst[3..].to_vec()));
        } else {
            out.extend_from_slice(inst);
        }
        i += count;
    }
    Ok(Words {
        words: out,
        mode_ids,
        spec_ops,
        bound,
    })
}

/// Parses with rspirv.
pub(crate) fn parse(words: &[u32]) -> Result<dr::Module> {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    // Last line of defence: rspirv's parser has internal `panic!`s and `unwrap`s on operand
    // shapes it assumes (e.g. an OpSwitch selector); we must turn any of them into an error
    // rather than let application bytes take the device down. Everything it touches is
    // local to the closure, so no broken state survives an unwind.
    let result = std::panic::catch_unwind(|| dr::load_bytes(&bytes));
    match result {
        Ok(Ok(m)) => Ok(m),
        Ok(Err(e)) => malformed(e.to_string()),
        Err(_) => malformed("the SPIR-V parser rejected the module"),
    }
}
