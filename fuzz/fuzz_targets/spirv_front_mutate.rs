//! The SPIR-V front end, structure-aware: starts from the real modules in the corpus
//! (compiled from the renderer's test shaders) and mutates them instruction by instruction —
//! operands pointed at other ids, boundary literals, opcodes swapped, instructions duplicated,
//! dropped or moved — so most inputs pass the header and framing checks and reach lowering.
//! Same checks as `spirv_front`.
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target, fuzzer_mutate};
use softgpu_fuzz::spirv::{check_front_end, mutate_instructions, spec_from};

fuzz_target!(|data: &[u8]| {
    let (spec, spirv) = spec_from(data);
    check_front_end(spirv, &spec);
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    // One call in eight mutates bytes (libFuzzer's own), the rest instructions.
    if !seed.is_multiple_of(8) {
        if let Some(new_size) = mutate_instructions(data, size, max_size, seed) {
            return new_size;
        }
    }
    fuzzer_mutate(data, size, max_size)
});
