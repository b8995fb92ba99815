//! Hostile and unsupported input: every case must be an `Err` naming the problem, never a
//! panic; any module the front end does accept must pass the IR validator.

// In tests a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shader::{lower_compute, FrontError, SpecializationInfo};

const SAMPLE: &str = r#"#version 450
layout(local_size_x = 8) in;
layout(set = 0, binding = 0) buffer D { float d[]; };
layout(set = 0, binding = 1) uniform U { vec4 k; mat2 m; };
layout(push_constant) uniform P { uint n; };
shared float s[8];
uint h(uint v) { for (uint i = 0; i < v % 5u; i++) { if (i == 3u) return i; v ^= i; } return v; }
void main() {
    uint i = gl_GlobalInvocationID.x;
    s[gl_LocalInvocationIndex] = d[i];
    barrier();
    float acc = 0.0;
    switch (int(i % 3u)) { case 0: acc = k.x; break; case 1: acc = (m * k.yz).x; default: acc += 1.0; }
    for (uint j = 0; j < n; j++) { if (j > 4u) break; acc += s[(j + i) % 8u]; }
    d[i] = acc + float(h(i)) + sin(acc) + float(atomicAdd(n == 0u ? i : 0u, 1u) == 0u);
}
"#;

fn lower_err(spv: &[u8]) -> FrontError {
    match lower_compute(spv, "main", &SpecializationInfo::default()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn words(spv: &[u8]) -> Vec<u32> {
    u32s(spv)
}

fn from_words(w: &[u32]) -> Vec<u8> {
    bytes_u32(w)
}

#[test]
fn sample_module_lowers_in_both_forms() {
    let fixed = SAMPLE.replace("atomicAdd(n == 0u ? i : 0u, 1u)", "0u");
    both(&fixed);
}

#[test]
fn truncated_modules_are_errors_at_every_length() {
    let spv = glsl(&SAMPLE.replace("atomicAdd(n == 0u ? i : 0u, 1u)", "0u"));
    for len in (0..spv.len()).step_by(1) {
        let r = lower_compute(&spv[..len], "main", &SpecializationInfo::default());
        assert!(r.is_err(), "prefix of {len} bytes accepted");
    }
}

#[test]
fn bad_magic_bound_and_version_are_refused() {
    let spv = glsl(&SAMPLE.replace("atomicAdd(n == 0u ? i : 0u, 1u)", "0u"));
    let mut w = words(&spv);
    w[0] = 0xdead_beef;
    assert!(lower_err(&from_words(&w)).to_string().contains("magic"));
    let mut w = words(&spv);
    w[3] = 0;
    assert!(lower_err(&from_words(&w)).to_string().contains("bound"));
    let mut w = words(&spv);
    w[3] = u32::MAX;
    assert!(lower_err(&from_words(&w)).to_string().contains("bound"));
    let mut w = words(&spv);
    w[3] = 5; // smaller than the ids in use
    assert!(lower_err(&from_words(&w)).to_string().contains("bound"));
    let mut w = words(&spv);
    w[1] = 0x0002_0000;
    assert!(matches!(
        lower_err(&from_words(&w)),
        FrontError::Malformed(_)
    ));
}

#[test]
fn big_endian_modules_lower_like_little_endian_ones() {
    let spv = glsl(&SAMPLE.replace("atomicAdd(n == 0u ? i : 0u, 1u)", "0u"));
    let swapped: Vec<u8> = spv
        .chunks_exact(4)
        .flat_map(|c| [c[3], c[2], c[1], c[0]])
        .collect();
    let a = lower(&spv);
    let b = lower(&swapped);
    assert_eq!(a, b);
}

#[test]
fn unknown_opcode_and_zero_word_count_are_errors() {
    let spv = glsl(&SAMPLE.replace("atomicAdd(n == 0u ? i : 0u, 1u)", "0u"));
    let mut w = words(&spv);
    w.insert(5, (1 << 16) | 0x7ffe);
    assert!(matches!(
        lower_err(&from_words(&w)),
        FrontError::Malformed(_)
    ));
    let mut w = words(&spv);
    w.insert(5, 0);
    assert!(lower_err(&from_words(&w))
        .to_string()
        .contains("word count 0"));
}

#[test]
fn unsupported_capability_is_named() {
    let src = "#version 450\nlayout(local_size_x = 1) in;\nlayout(set=0,binding=0) buffer B { double d[]; };\nvoid main() { d[0] = d[1] * 2.0; }\n";
    let e = lower_err(&glsl(src));
    assert_eq!(e.to_string(), "unsupported capability Float64");
}

#[test]
fn texture_in_compute_lowers_as_glslang_gives_it_an_explicit_lod() {
    // glslang gives non-fragment stages `Lod 0`; implicit LOD there is refused (front_images).
    let src = "#version 450\nlayout(local_size_x = 1) in;\nlayout(set=0,binding=0) uniform sampler2D t;\nlayout(set=0,binding=1) buffer B { vec4 o; };\nvoid main() { o = texture(t, vec2(0.5)); }\n";
    let m = lower_compute(&glsl(src), "main", &SpecializationInfo::default()).unwrap();
    shader::valid::validate(&m).unwrap();
    assert_eq!(m.images.len(), 1);
}

#[test]
fn missing_entry_point_is_reported() {
    let spv = glsl(&SAMPLE.replace("atomicAdd(n == 0u ? i : 0u, 1u)", "0u"));
    let e = lower_compute(&spv, "other", &SpecializationInfo::default()).unwrap_err();
    assert!(matches!(e, FrontError::EntryPointNotFound(_)), "{e}");
}

#[test]
fn recursion_is_refused() {
    // GLSL forbids recursion; build it in assembly.
    let src = r#"
               OpCapability Shader
               OpMemoryModel Logical GLSL450
               OpEntryPoint GLCompute %main "main"
               OpExecutionMode %main LocalSize 1 1 1
       %void = OpTypeVoid
         %fn = OpTypeFunction %void
       %main = OpFunction %void None %fn
         %l0 = OpLabel
         %c0 = OpFunctionCall %void %f
               OpReturn
               OpFunctionEnd
          %f = OpFunction %void None %fn
         %l1 = OpLabel
         %c1 = OpFunctionCall %void %f
               OpReturn
               OpFunctionEnd
"#;
    let e = lower_err(&asm(src));
    assert!(e.to_string().contains("recursion"), "{e}");
}

#[test]
fn dynamic_index_into_runtime_buffer_array_is_refused() {
    let src = "#version 450\n#extension GL_EXT_nonuniform_qualifier : require\nlayout(local_size_x = 1) in;\nlayout(set=0,binding=0) buffer B { uint v; } bs[];\nlayout(push_constant) uniform P { uint k; };\nvoid main() { bs[k].v = 1u; }\n";
    let e = lower_err(&glsl(src));
    assert!(e.to_string().to_lowercase().contains("descriptor"), "{e}");
}

/// The limits of dynamically indexed buffer arrays are errors naming the opcode.
#[test]
fn dynamic_buffer_array_limits_are_errors_naming_the_opcode() {
    let length = "#version 450\nlayout(local_size_x = 1) in;\nlayout(set=0,binding=0) buffer B { uint w[]; } bs[100];\nlayout(push_constant) uniform P { uint k; };\nvoid main() { bs[0].w[0] = bs[k].w.length(); }\n";
    let e = lower_err(&glsl(length));
    assert!(e.to_string().contains("OpArrayLength"), "{e}");
    let huge = "#version 450\nlayout(local_size_x = 1) in;\nlayout(set=0,binding=0) uniform U { uint v; } us[2000];\nlayout(set=0,binding=1) buffer B { uint o; };\nlayout(push_constant) uniform P { uint k; };\nvoid main() { o = us[k].v; }\n";
    let e = lower_err(&glsl(huge));
    assert!(e.to_string().contains("OpAccessChain"), "{e}");
}

/// Mutates valid modules (bit flips, word replacements, insertions, deletions, truncation)
/// many times: every result must be an error or a module the validator accepts.
#[test]
fn mutated_modules_never_panic_and_accepted_ones_validate() {
    let sources = [
        SAMPLE.replace("atomicAdd(n == 0u ? i : 0u, 1u)", "0u"),
        "#version 450\nlayout(local_size_x = 4) in;\nlayout(set=0,binding=0) buffer B { uint v[]; };\nvoid main() { uint i = gl_GlobalInvocationID.x; uint a = 0; do { a += v[i] >> a; } while (a < 9u); v[i] = a + bitCount(i) + uint(v.length()); }\n".to_string(),
    ];
    let mut modules = Vec::new();
    for s in &sources {
        let spv = glsl(s);
        modules.push(optimize(&spv));
        modules.push(spv);
    }
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut accepted = 0;
    for round in 0..6000 {
        let base = words(&modules[round % modules.len()]);
        let mut w = base.clone();
        let edits = 1 + rng.below(4);
        for _ in 0..edits {
            let len = w.len() as u64;
            if len <= 5 {
                break;
            }
            let at = 5 + rng.below(len - 5) as usize;
            match rng.below(6) {
                0 => w[at] ^= 1 << rng.below(32),
                1 => w[at] = rng.next() as u32,
                2 => w[at] = rng.below(64) as u32,
                3 => {
                    w.remove(at);
                }
                4 => w.insert(at, w[5 + rng.below(len - 5) as usize]),
                _ => w.truncate(at),
            }
        }
        let bytes = from_words(&w);
        if let Ok(m) = lower_compute(&bytes, "main", &SpecializationInfo::default()) {
            accepted += 1;
            if let Err(e) = shader::valid::validate(&m) {
                panic!("round {round}: accepted module fails validation: {e}");
            }
        }
    }
    // Some mutations hit names, debug info or constants and still lower: the check above ran.
    assert!(accepted > 0);
}

/// `depth` selection constructs nested inside each other.
fn nested_ifs(depth: usize) -> String {
    let mut s = String::from(
        "OpCapability Shader\nOpMemoryModel Logical GLSL450\nOpEntryPoint GLCompute %main \"main\"\n\
         OpExecutionMode %main LocalSize 1 1 1\n%void = OpTypeVoid\n%bool = OpTypeBool\n\
         %t = OpConstantTrue %bool\n%fn = OpTypeFunction %void\n%main = OpFunction %void None %fn\n",
    );
    for i in 0..depth {
        s += &format!(
            "%l{i} = OpLabel\nOpSelectionMerge %m{i} None\nOpBranchConditional %t %l{} %m{i}\n",
            i + 1
        );
    }
    s += &format!("%l{depth} = OpLabel\nOpBranch %m{}\n", depth - 1);
    for i in (0..depth).rev() {
        s += &format!("%m{i} = OpLabel\n");
        if i == 0 {
            s += "OpReturn\n";
        } else {
            s += &format!("OpBranch %m{}\n", i - 1);
        }
    }
    s + "OpFunctionEnd\n"
}

/// Lowering runs on a thread with Rust's default 2 MiB stack, as it would in the device.
fn lower_on_small_stack(spv: Vec<u8>) -> Result<shader::ir::Module, String> {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            lower_compute(&spv, "main", &SpecializationInfo::default()).map_err(|e| e.to_string())
        })
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn deep_nesting_is_lowered_up_to_the_limit_and_refused_beyond_it_without_overflowing() {
    let ok = lower_on_small_stack(asm(&nested_ifs(150))).unwrap();
    shader::valid::validate(&ok).unwrap();
    let err = lower_on_small_stack(asm(&nested_ifs(400))).unwrap_err();
    assert!(err.contains("nested deeper"), "{err}");
}

#[test]
fn constants_that_expand_to_huge_sizes_are_refused() {
    // Each 3-word OpConstantComposite would copy 16 Ki scalars.
    let mut s = String::from(
        "OpCapability Shader\nOpMemoryModel Logical GLSL450\nOpEntryPoint GLCompute %main \"main\"\n\
         OpExecutionMode %main LocalSize 1 1 1\n%void = OpTypeVoid\n%f = OpTypeFloat 32\n\
         %u = OpTypeInt 32 0\n%n = OpConstant %u 8192\n%T = OpTypeArray %f %n\n%S = OpTypeStruct %T %T\n\
         %z = OpConstantNull %T\n",
    );
    for i in 0..200 {
        s += &format!("%c{i} = OpConstantComposite %S %z %z\n");
    }
    s += "%fn = OpTypeFunction %void\n%main = OpFunction %void None %fn\n%l = OpLabel\nOpReturn\nOpFunctionEnd\n";
    let start = std::time::Instant::now();
    let e = lower_err(&asm(&s));
    assert!(matches!(e, FrontError::Limit(_)), "{e}");
    assert!(start.elapsed().as_secs() < 10);
}

#[test]
fn copies_of_large_values_are_bounded() {
    let mut s = String::from(
        "OpCapability Shader\nOpMemoryModel Logical GLSL450\nOpEntryPoint GLCompute %main \"main\"\n\
         OpExecutionMode %main LocalSize 1 1 1\n%void = OpTypeVoid\n%f = OpTypeFloat 32\n\
         %u = OpTypeInt 32 0\n%n = OpConstant %u 16000\n%T = OpTypeArray %f %n\n%z = OpConstantNull %T\n\
         %fn = OpTypeFunction %void\n%main = OpFunction %void None %fn\n%l = OpLabel\n",
    );
    for i in 0..400 {
        s += &format!("%c{i} = OpCopyObject %T %z\n");
    }
    s += "OpReturn\nOpFunctionEnd\n";
    let e = lower_err(&asm(&s));
    assert!(matches!(e, FrontError::Limit(_)), "{e}");
}
