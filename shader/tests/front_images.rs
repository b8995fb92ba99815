//! Image handles, image operations and derivatives in the front end: what lowers (and
//! validates), what is refused with an error naming the opcode, and mutated image shaders
//! never panicking.

#![allow(clippy::unwrap_used)]

mod common;
use std::process::Command;

use common::*;
use shader::ir::{ImageDim, ImageKind, ImageLod, ImageOpKind, Module, SampledType, Stage, Stmt};
use shader::{lower, lower_compute, SpecializationInfo};

/// GLSL of `stage` → SPIR-V.
fn glsl_stage(stage: &str, src: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("softgpu-front-img-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let input = dir.join(format!("s{n}.{stage}"));
    let output = dir.join(format!("s{n}.spv"));
    std::fs::write(&input, src).unwrap();
    let out = Command::new("glslangValidator")
        .args(["-V", "--target-env", "vulkan1.1", "-S", stage, "-o"])
        .arg(&output)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::read(&output).unwrap()
}

fn lower_stage(stage: Stage, spv: &[u8]) -> Result<Module, String> {
    lower(spv, stage, "main", &SpecializationInfo::default()).map_err(|e| e.to_string())
}

fn image_ops(stmts: &[Stmt], out: &mut Vec<shader::ir::ImageOp>) {
    for s in stmts {
        match s {
            Stmt::Image { op, .. } => out.push((**op).clone()),
            Stmt::If {
                then_body,
                else_body,
                ..
            } => {
                image_ops(then_body, out);
                image_ops(else_body, out);
            }
            Stmt::Loop {
                body, continuing, ..
            } => {
                image_ops(body, out);
                image_ops(continuing, out);
            }
            Stmt::Breakable { body, .. } => image_ops(body, out),
            _ => {}
        }
    }
}

const COMPUTE_IMAGES: &str = r#"#version 450
layout(local_size_x = 4) in;
layout(set = 0, binding = 0, r32ui) uniform uimage2D img;
layout(set = 0, binding = 1) uniform sampler2D tex[3];
layout(set = 0, binding = 2) uniform samplerBuffer tb;
layout(set = 1, binding = 0, rgba8) uniform writeonly image3D vol;
layout(set = 0, binding = 3) buffer B { vec4 o[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    uint old = imageAtomicAdd(img, ivec2(i, 1), 3u);
    vec4 a = textureLod(tex[2], vec2(0.5), 1.0) + texelFetch(tex[0], ivec2(i), 0);
    vec4 b = texelFetch(tb, int(i)) + textureGather(tex[1], vec2(0.25), 1);
    imageStore(vol, ivec3(i, 2, 3), a);
    o[i] = a + b + vec4(textureSize(tex[1], 0), imageSize(img)) + float(old);
}
"#;

#[test]
fn compute_image_handles_become_slots_and_operations() {
    let m = lower_compute(
        &glsl(COMPUTE_IMAGES),
        "main",
        &SpecializationInfo::default(),
    )
    .unwrap();
    shader::valid::validate(&m).unwrap();
    let find = |set: u32, binding: u32, index: u32| {
        m.images
            .iter()
            .find(|b| (b.set, b.binding, b.array_index) == (set, binding, index))
            .copied()
            .unwrap_or_else(|| panic!("no slot {set}.{binding}[{index}]"))
    };
    let img = find(0, 0, 0);
    assert_eq!(
        (img.kind, img.dim, img.sampled_type, img.format),
        (ImageKind::Storage, ImageDim::D2, SampledType::Uint, 98)
    );
    for k in 0..3 {
        assert_eq!(find(0, 1, k).kind, ImageKind::CombinedImageSampler);
    }
    assert_eq!(find(0, 2, 0).kind, ImageKind::UniformTexelBuffer);
    assert_eq!(
        (find(1, 0, 0).kind, find(1, 0, 0).dim),
        (ImageKind::Storage, ImageDim::D3)
    );
    assert_eq!(m.images.len(), 6);
    let mut ops = Vec::new();
    image_ops(&m.body, &mut ops);
    let kinds: Vec<ImageOpKind> = ops.iter().map(|o| o.kind).collect();
    assert!(kinds.contains(&ImageOpKind::Atomic(shader::ir::AtomicOp::Add)));
    assert!(kinds.contains(&ImageOpKind::Gather { component: 1 }));
    assert!(kinds.contains(&ImageOpKind::Write));
    assert!(kinds.contains(&ImageOpKind::QuerySize));
    assert!(ops
        .iter()
        .any(|o| o.kind == ImageOpKind::Sample && matches!(o.lod, ImageLod::Explicit(_))));
    assert!(
        ops.iter().all(|o| !o.lod.is_implicit()),
        "no implicit LOD in compute"
    );
}

#[test]
fn fragment_separate_sampler_and_subpass_input_lower() {
    let src = r#"#version 450
layout(input_attachment_index = 0, set = 0, binding = 0) uniform subpassInput sp;
layout(set = 0, binding = 1) uniform texture2D t;
layout(set = 0, binding = 2) uniform sampler s;
layout(location = 0) in vec2 uv;
layout(location = 0) out vec4 o;
void main() { o = subpassLoad(sp) + texture(sampler2D(t, s), uv) + dFdx(uv).xyxy + fwidth(uv).xyxy; }
"#;
    let m = lower_stage(Stage::Fragment, &glsl_stage("frag", src)).unwrap();
    shader::valid::validate(&m).unwrap();
    assert_eq!(m.samplers.len(), 1);
    let mut ops = Vec::new();
    image_ops(&m.body, &mut ops);
    let read = ops.iter().find(|o| o.kind == ImageOpKind::Read).unwrap();
    assert_eq!(read.coords.len(), 3, "x, y and the view index");
    let sample = ops.iter().find(|o| o.kind == ImageOpKind::Sample).unwrap();
    assert_eq!(
        (sample.sampler, &sample.lod),
        (Some(0), &ImageLod::Implicit)
    );
    assert_eq!(m.images[sample.image as usize].kind, ImageKind::Sampled);
    assert_eq!(
        m.images[read.image as usize].kind,
        ImageKind::InputAttachment
    );
}

#[test]
fn dynamic_index_into_sampler_array_takes_a_run_of_slots_after_constant_uses() {
    // tex[2] (constant) comes first and gets a slot of its own; tex[k] then needs all four
    // elements consecutive, so it gets a fresh run that later constant uses share.
    let src = r#"#version 450
layout(set = 0, binding = 0) uniform sampler2D ts[4];
layout(set = 0, binding = 1) uniform texture2D sep[3];
layout(set = 0, binding = 2) uniform sampler samps[2];
layout(push_constant) uniform P { int k; uint j; };
layout(location = 0) out vec4 o;
void main() {
    o = textureLod(ts[2], vec2(0.5), 0.0);
    o += textureLod(ts[k], vec2(0.5), 0.0);
    o += textureLod(sampler2D(sep[j], samps[k]), vec2(0.5), 0.0);
    o += textureLod(ts[1], vec2(0.5), 0.0);
}
"#;
    let m = lower_stage(Stage::Fragment, &glsl_stage("frag", src)).unwrap();
    shader::valid::validate(&m).unwrap();
    let mut ops = Vec::new();
    image_ops(&m.body, &mut ops);
    assert_eq!(ops.len(), 4);
    assert!(ops[0].image_index.is_none());
    let run = ops[1].image_index.expect("ts[k] is dynamically indexed");
    assert_eq!(run.len, 4);
    for e in 0..4u32 {
        let b = m.images[(ops[1].image + e) as usize];
        assert_eq!((b.binding, b.array_index), (0, e), "run element {e}");
        assert_eq!(b.kind, ImageKind::CombinedImageSampler);
    }
    assert_eq!(ops[3].image, ops[1].image + 1, "ts[1] shares the run");
    assert!(ops[3].image_index.is_none());
    let (sep, samp) = (&ops[2], ops[2].sampler_index.expect("samps[k]"));
    assert_eq!((sep.image_index.map(|d| d.len), samp.len), (Some(3), 2));
    for e in 0..2u32 {
        let s = m.samplers[(sep.sampler.unwrap() + e) as usize];
        assert_eq!((s.binding, s.array_index), (2, e));
    }
    // The index values are operands (kept alive by the optimiser, seen by the back end).
    assert!(ops[1].operands().contains(&run.index));
}

#[test]
fn validator_rejects_descriptor_runs_past_the_slot_tables() {
    let src = r#"#version 450
layout(set = 0, binding = 0) uniform sampler2D ts[4];
layout(push_constant) uniform P { int k; };
layout(location = 0) out vec4 o;
void main() { o = textureLod(ts[k], vec2(0.5), 0.0); }
"#;
    let m = lower_stage(Stage::Fragment, &glsl_stage("frag", src)).unwrap();
    shader::valid::validate(&m).unwrap();
    let mutated = |f: &dyn Fn(&mut shader::ir::ImageOp)| {
        let mut m = m.clone();
        for s in &mut m.body {
            if let Stmt::Image { op, .. } = s {
                f(op);
            }
        }
        shader::valid::validate(&m).map_err(|e| e.to_string())
    };
    let e = mutated(&|op| op.image_index.as_mut().unwrap().len = 5).unwrap_err();
    assert!(e.contains("exceeds"), "{e}");
    let e = mutated(&|op| op.image_index.as_mut().unwrap().len = 0).unwrap_err();
    assert!(e.contains("exceeds"), "{e}");
    let e = mutated(&|op| op.sampler_index = op.image_index).unwrap_err();
    assert!(e.contains("sampler index but no sampler"), "{e}");
    assert!(mutated(&|op| op.image_index.as_mut().unwrap().len = 3).is_ok());
}

#[test]
fn dynamic_index_into_runtime_sampler_array_is_refused() {
    let src = r#"#version 450
#extension GL_EXT_nonuniform_qualifier : require
layout(set = 0, binding = 0) uniform sampler2D ts[];
layout(push_constant) uniform P { int k; };
layout(location = 0) out vec4 o;
void main() { o = textureLod(ts[k], vec2(0.5), 0.0); }
"#;
    let e = lower_stage(Stage::Fragment, &glsl_stage("frag", src)).unwrap_err();
    // Runtime (unsized) descriptor arrays need descriptor indexing: refused at the capability
    // (and, should one get past it, at the dynamic access chain).
    assert!(e.contains("RuntimeDescriptorArray"), "{e}");
}

/// A vertex shader whose `OpImageSampleImplicitLod` glslang would not emit (it gives
/// non-fragment stages an explicit LOD), written in assembly.
const VERTEX_IMPLICIT_LOD: &str = r#"
               OpCapability Shader
               OpMemoryModel Logical GLSL450
               OpEntryPoint Vertex %main "main" %pos
               OpDecorate %pos BuiltIn Position
               OpDecorate %tex DescriptorSet 0
               OpDecorate %tex Binding 0
       %void = OpTypeVoid
         %fn = OpTypeFunction %void
      %float = OpTypeFloat 32
    %v2float = OpTypeVector %float 2
    %v4float = OpTypeVector %float 4
        %img = OpTypeImage %float 2D 0 0 0 1 Unknown
         %si = OpTypeSampledImage %img
     %ptr_si = OpTypePointer UniformConstant %si
        %tex = OpVariable %ptr_si UniformConstant
    %ptr_out = OpTypePointer Output %v4float
        %pos = OpVariable %ptr_out Output
       %half = OpConstant %float 0.5
         %uv = OpConstantComposite %v2float %half %half
       %main = OpFunction %void None %fn
          %l = OpLabel
          %s = OpLoad %si %tex
          %v = OpImageSampleImplicitLod %v4float %s %uv
               OpStore %pos %v
               OpReturn
               OpFunctionEnd
"#;

#[test]
fn implicit_lod_in_a_vertex_shader_is_refused_naming_the_opcode() {
    let e = lower_stage(Stage::Vertex, &asm(VERTEX_IMPLICIT_LOD)).unwrap_err();
    assert!(
        e.contains("OpImageSampleImplicitLod with implicit LOD in a Vertex shader"),
        "{e}"
    );
}

#[test]
fn derivative_outside_fragment_is_refused_naming_the_opcode() {
    let src = VERTEX_IMPLICIT_LOD.replace(
        "%v = OpImageSampleImplicitLod %v4float %s %uv",
        "%d = OpDPdx %v2float %uv\n          %v = OpImageSampleExplicitLod %v4float %s %d Lod %half",
    );
    let e = lower_stage(Stage::Vertex, &asm(&src)).unwrap_err();
    assert!(e.contains("OpDPdx in a Vertex shader"), "{e}");
}

#[test]
fn unsupported_image_operands_are_refused_naming_the_opcode() {
    // MakeTexelVisible (Vulkan memory model) on a read.
    let src = VERTEX_IMPLICIT_LOD.replace(
        "%v = OpImageSampleImplicitLod %v4float %s %uv",
        "%v = OpImageSampleExplicitLod %v4float %s %uv Lod|MinLod %half %half",
    );
    let e = lower_stage(Stage::Vertex, &asm(&src)).unwrap_err();
    assert!(e.contains("OpImageSampleExplicitLod"), "{e}");
}

#[test]
fn mutated_image_modules_never_panic_and_accepted_ones_validate() {
    let spv = glsl(COMPUTE_IMAGES);
    let base = u32s(&spv);
    let mut state = 0x1234_5678_9abc_def1u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let mut w = base.clone();
        for _ in 0..1 + next() % 3 {
            let at = 5 + (next() % (w.len() as u64 - 5)) as usize;
            match next() % 4 {
                0 => w[at] ^= 1 << (next() % 32),
                1 => w[at] = (next() % 64) as u32,
                2 => {
                    w.remove(at);
                }
                _ => w[at] = next() as u32,
            }
        }
        let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
        if let Ok(m) = lower_compute(&bytes, "main", &SpecializationInfo::default()) {
            if let Err(e) = shader::valid::validate(&m) {
                panic!("round {round}: accepted module fails validation: {e}");
            }
        }
    }
}

/// Every cube-array form (imageCubeArray): sampling with implicit, explicit and gradient LOD,
/// depth compare, gather, size queries, and storage cube arrays read and written by
/// (x, y, 6 × cube + face).
#[test]
fn cube_arrays_lower_with_four_coordinates_and_layered_texel_access() {
    let src = r#"#version 450
layout(set = 0, binding = 0) uniform samplerCubeArray cubes;
layout(set = 0, binding = 1) uniform samplerCubeArrayShadow shadows;
layout(set = 0, binding = 2, rgba8) uniform imageCubeArray store;
layout(location = 0) in vec4 dir;
layout(location = 0) out vec4 o;
void main() {
    vec4 a = texture(cubes, dir) + textureLod(cubes, dir, 1.5)
        + textureGrad(cubes, dir, dir.xyz, dir.zyx) + textureGather(cubes, dir, 2);
    float s = texture(shadows, dir, 0.5);
    ivec3 n = textureSize(cubes, 1) + imageSize(store);
    imageStore(store, ivec3(1, 2, 9), imageLoad(store, ivec3(n.xy, 7)));
    o = a + vec4(s, vec3(n));
}
"#;
    let m = lower_stage(Stage::Fragment, &glsl_stage("frag", src)).unwrap();
    shader::valid::validate(&m).unwrap();
    assert!(m
        .images
        .iter()
        .all(|b| b.dim == ImageDim::Cube && b.arrayed));
    let mut ops = Vec::new();
    image_ops(&m.body, &mut ops);
    let samples: Vec<_> = ops
        .iter()
        .filter(|o| matches!(o.kind, ImageOpKind::Sample | ImageOpKind::Gather { .. }))
        .collect();
    assert_eq!(samples.len(), 5, "texture, lod, grad, gather, compare");
    assert!(
        samples.iter().all(|o| o.coords.len() == 4),
        "direction + cube"
    );
    assert!(samples.iter().any(|o| o.dref.is_some()));
    assert!(samples
        .iter()
        .any(|o| matches!(o.lod, ImageLod::Grad { .. })));
    let texel: Vec<_> = ops
        .iter()
        .filter(|o| matches!(o.kind, ImageOpKind::Read | ImageOpKind::Write))
        .collect();
    assert_eq!(texel.len(), 2);
    assert!(
        texel.iter().all(|o| o.coords.len() == 3),
        "x, y, layer-face"
    );
    let sizes = ops
        .iter()
        .filter(|o| o.kind == ImageOpKind::QuerySize)
        .count();
    assert_eq!(sizes, 2);
}
