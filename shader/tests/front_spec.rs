//! Specialization constants, OpSpecConstantOp folding and workgroup sizes.

// In tests a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shader::{lower_compute, FrontError, SpecializationEntry, SpecializationInfo};

const SPEC_SHADER: &str = r#"#version 450
layout(local_size_x_id = 3, local_size_y = 2) in;
layout(constant_id = 0) const uint K = 5u;
layout(constant_id = 1) const bool FLAG = false;
layout(constant_id = 2) const int NEG = -3;
const uint K2 = K * 2u + 1u;
const bool BOTH = FLAG && (K > 6u);
const int SHIFTED = NEG >> 1;
shared float tile[K2];
layout(set = 0, binding = 0) buffer O { uint o[]; };
void main() {
    if (gl_LocalInvocationIndex == 0u) {
        tile[K2 - 1u] = 1.0;
        o[0] = K; o[1] = K2; o[2] = BOTH ? 1u : 0u; o[3] = uint(SHIFTED); o[4] = uint(FLAG);
        o[5] = gl_WorkGroupSize.x; o[6] = uint(tile[K2 - 1u]);
    }
}
"#;

fn spec(entries: &[(u32, u32, u32)], data: Vec<u8>) -> SpecializationInfo {
    SpecializationInfo {
        entries: entries
            .iter()
            .map(|&(constant_id, offset, size)| SpecializationEntry {
                constant_id,
                offset,
                size,
            })
            .collect(),
        data,
    }
}

fn run_spec(spv: &[u8], s: &SpecializationInfo) -> (shader::ir::Module, Vec<u32>) {
    let m = lower_spec(spv, s);
    let out = run_with(&m, [1, 1, 1], &[(0, 0, vec![0; 28])], &[]);
    let o = u32s(&out[slot(&m, 0, 0)]);
    (m, o)
}

#[test]
fn default_specialization_values_are_used_without_spec_info() {
    for spv in [glsl(SPEC_SHADER), optimize(&glsl(SPEC_SHADER))] {
        let (m, o) = run_spec(&spv, &SpecializationInfo::default());
        assert_eq!(o, vec![5, 11, 0, (-2i32) as u32, 0, 1, 1]);
        assert_eq!(m.workgroup_size, [1, 2, 1]);
        assert_eq!(m.workgroup_memory_size, 11 * 4);
    }
}

#[test]
fn specialization_data_overrides_constants_folds_ops_and_sizes_workgroups() {
    let mut data = Vec::new();
    data.extend(9u32.to_le_bytes()); // K
    data.extend(1u32.to_le_bytes()); // FLAG (VkBool32)
    data.extend((-9i32).to_le_bytes()); // NEG
    data.extend(4u32.to_le_bytes()); // local_size_x
    let s = spec(&[(0, 0, 4), (1, 4, 4), (2, 8, 4), (3, 12, 4)], data);
    for spv in [glsl(SPEC_SHADER), optimize(&glsl(SPEC_SHADER))] {
        let (m, o) = run_spec(&spv, &s);
        assert_eq!(o, vec![9, 19, 1, (-5i32) as u32, 1, 4, 1]);
        assert_eq!(m.workgroup_size, [4, 2, 1]);
        assert_eq!(m.workgroup_memory_size, 19 * 4);
    }
}

#[test]
fn specialization_entries_with_wrong_size_or_range_are_refused() {
    let spv = glsl(SPEC_SHADER);
    let wrong_size = spec(&[(0, 0, 8)], vec![0; 8]);
    let e = lower_compute(&spv, "main", &wrong_size).unwrap_err();
    assert!(matches!(e, FrontError::Specialization(_)), "{e}");
    let out_of_range = spec(&[(0, 2, 4)], vec![0; 4]);
    let e = lower_compute(&spv, "main", &out_of_range).unwrap_err();
    assert!(matches!(e, FrontError::Specialization(_)), "{e}");
    let huge_offset = spec(&[(0, u32::MAX, 4)], vec![0; 4]);
    assert!(lower_compute(&spv, "main", &huge_offset).is_err());
}

#[test]
fn oversized_workgroups_from_specialization_are_refused() {
    let spv = glsl(SPEC_SHADER);
    let s = spec(&[(3, 0, 4)], 2000u32.to_le_bytes().to_vec());
    let e = lower_compute(&spv, "main", &s).unwrap_err();
    assert!(matches!(e, FrontError::Limit(_)), "{e}");
}

/// LocalSizeId (an OpExecutionModeId, which rspirv 0.12 does not load itself) with a spec
/// constant, plus OpSpecConstantOp forms glslang does not emit.
const LOCAL_SIZE_ID: &str = r#"
               OpCapability Shader
               OpMemoryModel Logical GLSL450
               OpEntryPoint GLCompute %main "main"
               OpExecutionModeId %main LocalSizeId %x %one %one
               OpDecorate %x SpecId 7
               OpDecorate %sel SpecId 8
               OpDecorate %Out Block
               OpMemberDecorate %Out 0 Offset 0
               OpDecorate %arr ArrayStride 4
               OpDecorate %out DescriptorSet 0
               OpDecorate %out Binding 0
       %void = OpTypeVoid
       %uint = OpTypeInt 32 0
       %bool = OpTypeBool
      %v2uint = OpTypeVector %uint 2
        %one = OpConstant %uint 1
          %x = OpSpecConstant %uint 3
        %sel = OpSpecConstantTrue %bool
        %ten = OpConstant %uint 10
         %vv = OpSpecConstantComposite %v2uint %x %ten
        %shf = OpSpecConstantOp %v2uint VectorShuffle %vv %vv 1 0
        %ext = OpSpecConstantOp %uint CompositeExtract %shf 0
        %pick = OpSpecConstantOp %uint Select %sel %ext %x
        %four = OpConstant %uint 4
        %arr = OpTypeArray %uint %four
        %Out = OpTypeStruct %arr
        %ptr = OpTypePointer StorageBuffer %Out
       %pelt = OpTypePointer StorageBuffer %uint
        %out = OpVariable %ptr StorageBuffer
      %zero = OpConstant %uint 0
         %fn = OpTypeFunction %void
       %main = OpFunction %void None %fn
      %entry = OpLabel
         %p0 = OpAccessChain %pelt %out %zero %zero
               OpStore %p0 %pick
         %p1 = OpAccessChain %pelt %out %zero %one
               OpStore %p1 %x
               OpReturn
               OpFunctionEnd
"#;

#[test]
fn local_size_id_and_spec_constant_ops_are_evaluated() {
    let spv = asm(LOCAL_SIZE_ID);
    let (m, o) = {
        let m = lower(&spv);
        let out = run_with(&m, [1, 1, 1], &[(0, 0, vec![0; 16])], &[]);
        (m.clone(), u32s(&out[0]))
    };
    assert_eq!(m.workgroup_size, [3, 1, 1]);
    assert_eq!(&o[..2], &[10, 3]);
    let mut data = 6u32.to_le_bytes().to_vec();
    data.extend(0u32.to_le_bytes());
    let s = spec(&[(7, 0, 4), (8, 4, 4)], data);
    let m = lower_spec(&spv, &s);
    assert_eq!(m.workgroup_size, [6, 1, 1]);
    let out = run_with(&m, [1, 1, 1], &[(0, 0, vec![0; 16])], &[]);
    assert_eq!(
        &u32s(&out[0])[..2],
        &[6, 6],
        "Select picks %x when the spec bool is false"
    );
}
