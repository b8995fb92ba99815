//! The SPIR-V front end (`shader::lower_compute`) and the IR validator on arbitrary bytes.
//! Checks: no panic; a module the validator accepts also survives an encode/decode round
//! trip unchanged (what the device sends jit-host is what it validated).
#![no_main]

use libfuzzer_sys::fuzz_target;
use softgpu_fuzz::spirv::{check_front_end, spec_from};

fuzz_target!(|data: &[u8]| {
    // The first bytes pick specialization constants, the rest is the module.
    let (spec, spirv) = spec_from(data);
    check_front_end(spirv, &spec);
});
