//! Hand-written SPIR-V for forms GLSL compilers rarely emit: phis that read each other,
//! OpCopyMemory, variable initializers, N-variants of min/max/clamp, OpQuantizeToF16,
//! OpPtrAccessChain.

// In tests a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;

const HEADER: &str = r#"
               OpCapability Shader
          %glsl = OpExtInstImport "GLSL.std.450"
               OpMemoryModel Logical GLSL450
               OpEntryPoint GLCompute %main "main"
               OpExecutionMode %main LocalSize 1 1 1
               OpDecorate %Out Block
               OpMemberDecorate %Out 0 Offset 0
               OpDecorate %rta ArrayStride 4
               OpDecorate %out DescriptorSet 0
               OpDecorate %out Binding 0
               OpDecorate %eltptr ArrayStride 4
       %void = OpTypeVoid
       %bool = OpTypeBool
       %uint = OpTypeInt 32 0
      %float = OpTypeFloat 32
        %rta = OpTypeRuntimeArray %uint
        %Out = OpTypeStruct %rta
     %outptr = OpTypePointer StorageBuffer %Out
     %eltptr = OpTypePointer StorageBuffer %uint
        %out = OpVariable %outptr StorageBuffer
         %u0 = OpConstant %uint 0
         %u1 = OpConstant %uint 1
         %u2 = OpConstant %uint 2
         %u3 = OpConstant %uint 3
         %u5 = OpConstant %uint 5
         %fn = OpTypeFunction %void
"#;

fn run_asm(body: &str, n: usize) -> Vec<u32> {
    let m = lower(&asm(&format!("{HEADER}{body}")));
    let out = run_with(&m, [1, 1, 1], &[(0, 0, vec![0; n * 4])], &[]);
    u32s(&out[0])
}

#[test]
fn phis_that_read_each_other_swap_in_parallel() {
    // a, b = b, a five times (odd): a = 2, b = 1 at the end; i counts to 5.
    let body = r#"
       %main = OpFunction %void None %fn
      %entry = OpLabel
               OpBranch %header
     %header = OpLabel
          %a = OpPhi %uint %u1 %entry %b %cont
          %b = OpPhi %uint %u2 %entry %a %cont
          %i = OpPhi %uint %u0 %entry %inext %cont
       %done = OpUGreaterThanEqual %bool %i %u5
               OpLoopMerge %merge %cont None
               OpBranchConditional %done %merge %cont
       %cont = OpLabel
      %inext = OpIAdd %uint %i %u1
               OpBranch %header
      %merge = OpLabel
         %p0 = OpAccessChain %eltptr %out %u0 %u0
               OpStore %p0 %a
         %p1 = OpAccessChain %eltptr %out %u0 %u1
               OpStore %p1 %b
         %p2 = OpAccessChain %eltptr %out %u0 %u2
               OpStore %p2 %i
               OpReturn
               OpFunctionEnd
"#;
    assert_eq!(run_asm(body, 3), vec![2, 1, 5]);
}

#[test]
fn copy_memory_and_initializers_move_whole_composites() {
    let body = r#"
     %v2uint = OpTypeVector %uint 2
          %S = OpTypeStruct %uint %v2uint
       %Sptr = OpTypePointer Function %S
      %Pptr = OpTypePointer Private %S
     %v2ptr = OpTypePointer Function %v2uint
        %c34 = OpConstantComposite %v2uint %u3 %u5
       %init = OpConstantComposite %S %u2 %c34
       %priv = OpVariable %Pptr Private %init
       %main = OpFunction %void None %fn
      %entry = OpLabel
        %loc = OpVariable %Sptr Function %init
        %cpy = OpVariable %Sptr Function
               OpCopyMemory %cpy %priv
        %vp = OpAccessChain %v2ptr %cpy %u1
               OpStore %vp %c34
        %sum = OpLoad %S %cpy
         %e0 = OpCompositeExtract %uint %sum 0
         %e1 = OpCompositeExtract %uint %sum 1 1
         %l0 = OpLoad %S %loc
         %e2 = OpCompositeExtract %uint %l0 1 0
         %p0 = OpAccessChain %eltptr %out %u0 %u0
               OpStore %p0 %e0
         %p1 = OpAccessChain %eltptr %out %u0 %u1
               OpStore %p1 %e1
         %p2 = OpAccessChain %eltptr %out %u0 %u2
               OpStore %p2 %e2
               OpReturn
               OpFunctionEnd
"#;
    assert_eq!(run_asm(body, 3), vec![2, 5, 3]);
}

#[test]
fn n_min_max_clamp_ignore_nan_and_quantize_rounds_to_half() {
    let body = r#"
    %nanbits = OpConstant %uint 0x7fc00000
        %one = OpConstant %float 1
        %two = OpConstant %float 2
      %third = OpConstant %float 0.333333343
       %main = OpFunction %void None %fn
      %entry = OpLabel
        %nan = OpBitcast %float %nanbits
         %n1 = OpExtInst %float %glsl NMin %nan %two
         %n2 = OpExtInst %float %glsl NMax %one %nan
         %n3 = OpExtInst %float %glsl NClamp %nan %one %two
          %q = OpQuantizeToF16 %float %third
         %b1 = OpBitcast %uint %n1
         %b2 = OpBitcast %uint %n2
         %b3 = OpBitcast %uint %n3
         %bq = OpBitcast %uint %q
         %p0 = OpAccessChain %eltptr %out %u0 %u0
               OpStore %p0 %b1
         %p1 = OpAccessChain %eltptr %out %u0 %u1
               OpStore %p1 %b2
         %p2 = OpAccessChain %eltptr %out %u0 %u2
               OpStore %p2 %b3
         %p3 = OpAccessChain %eltptr %out %u0 %u3
               OpStore %p3 %bq
               OpReturn
               OpFunctionEnd
"#;
    let got = run_asm(body, 4);
    assert_eq!(f32::from_bits(got[0]), 2.0);
    assert_eq!(f32::from_bits(got[1]), 1.0);
    assert_eq!(f32::from_bits(got[2]), 1.0);
    // 1/3 in f16 is 0x3555 = 0.333251953125.
    assert_eq!(f32::from_bits(got[3]), 0.333_251_95);
}

#[test]
fn ptr_access_chain_steps_by_the_pointer_array_stride() {
    let body = r#"
       %main = OpFunction %void None %fn
      %entry = OpLabel
         %p1 = OpAccessChain %eltptr %out %u0 %u1
         %p3 = OpPtrAccessChain %eltptr %p1 %u2
               OpStore %p3 %u5
               OpReturn
               OpFunctionEnd
"#;
    assert_eq!(run_asm(body, 4), vec![0, 0, 0, 5]);
}

#[test]
fn kill_is_refused_in_compute() {
    let body = r#"
       %main = OpFunction %void None %fn
      %entry = OpLabel
               OpKill
               OpFunctionEnd
"#;
    let e = shader::lower_compute(
        &asm(&format!("{HEADER}{body}")),
        "main",
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "unsupported SPIR-V opcode OpKill");
}

#[test]
fn struct_returning_modf_and_frexp_split_their_results() {
    let body = r#"
        %int = OpTypeInt 32 1
         %MS = OpTypeStruct %float %float
         %FS = OpTypeStruct %float %int
          %x = OpConstant %float -6.75
       %main = OpFunction %void None %fn
      %entry = OpLabel
         %ms = OpExtInst %MS %glsl ModfStruct %x
         %fs = OpExtInst %FS %glsl FrexpStruct %x
       %frac = OpCompositeExtract %float %ms 0
      %whole = OpCompositeExtract %float %ms 1
       %mant = OpCompositeExtract %float %fs 0
        %exp = OpCompositeExtract %int %fs 1
         %b0 = OpBitcast %uint %frac
         %b1 = OpBitcast %uint %whole
         %b2 = OpBitcast %uint %mant
         %b3 = OpBitcast %uint %exp
         %p0 = OpAccessChain %eltptr %out %u0 %u0
               OpStore %p0 %b0
         %p1 = OpAccessChain %eltptr %out %u0 %u1
               OpStore %p1 %b1
         %p2 = OpAccessChain %eltptr %out %u0 %u2
               OpStore %p2 %b2
         %p3 = OpAccessChain %eltptr %out %u0 %u3
               OpStore %p3 %b3
               OpReturn
               OpFunctionEnd
"#;
    let got = run_asm(body, 4);
    assert_eq!(f32::from_bits(got[0]), -0.75);
    assert_eq!(f32::from_bits(got[1]), -6.0);
    // -6.75 = -0.84375 · 2^3
    assert_eq!(f32::from_bits(got[2]), -0.843_75);
    assert_eq!(got[3], 3);
}
