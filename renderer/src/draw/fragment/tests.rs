//! `FragmentGlue::shade_run` against block-by-block `shade` (the reference), with closure
//! stages and with a real JIT kernel (GLSL compiled with glslangValidator, compiled by the
//! jit-host binary of this build: `$SOFTGPU_JIT_HOST` or `target/<profile>/jit-host`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use jit_host_client::{JitHost, SpawnOptions};
use shader::ir::{Module, OutputTarget, Stage};

use super::*;
use crate::descriptor::DescriptorSource;
use crate::draw::stage::{ClosureFragmentStage, JitFragmentStage};
use crate::DescriptorSet;

/// xorshift32: deterministic random runs.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 8) as f32 / (1u32 << 24) as f32
    }

    fn lanes(&mut self) -> [f32; LANES] {
        std::array::from_fn(|_| self.unit())
    }
}

fn no_resources() -> StageResources {
    let sets: &[&DescriptorSet] = &[];
    let source: &dyn DescriptorSource = &sets;
    StageResources::resolve(&[], source, &[]).unwrap()
}

/// The values of a random run: `blocks` blocks with `components` attributes each.
struct RunValues {
    x: u32,
    y: u32,
    masks: Vec<u8>,
    depth: Vec<[f32; LANES]>,
    inv_w: Vec<[f32; LANES]>,
    point_coord: Vec<[[f32; LANES]; 2]>,
    components: usize,
    attributes: Vec<[f32; LANES]>,
    front_facing: bool,
}

impl RunValues {
    fn random(rng: &mut Rng, components: usize) -> RunValues {
        let blocks = 1 + rng.next() as usize % RUN_BLOCKS;
        RunValues {
            x: 4 * (rng.next() % 64),
            y: 2 * (rng.next() % 64),
            // Some blocks with no live lane, some full, the rest random.
            masks: (0..blocks)
                .map(|_| match rng.next() % 4 {
                    0 => 0,
                    1 => 0xff,
                    _ => rng.next() as u8,
                })
                .collect(),
            depth: (0..blocks).map(|_| rng.lanes()).collect(),
            inv_w: (0..blocks).map(|_| rng.lanes().map(|v| v + 0.5)).collect(),
            point_coord: (0..blocks).map(|_| [rng.lanes(), rng.lanes()]).collect(),
            components,
            attributes: (0..blocks * components).map(|_| rng.lanes()).collect(),
            front_facing: rng.next().is_multiple_of(2),
        }
    }

    fn run(&self) -> FragmentRun<'_> {
        FragmentRun {
            x: self.x,
            y: self.y,
            masks: &self.masks,
            front_facing: self.front_facing,
            primitive: 0,
            depth: &self.depth,
            inv_w: &self.inv_w,
            point_coord: &self.point_coord,
            components: self.components,
            attributes: &self.attributes,
        }
    }
}

/// Outputs filled with garbage, so that words left unwritten show.
fn garbage_outputs(blocks: usize, rng: &mut Rng) -> Vec<FragmentOutputs> {
    (0..blocks)
        .map(|_| {
            let mut out = FragmentOutputs::default();
            for attachment in out.color.iter_mut() {
                for component in attachment.iter_mut() {
                    *component = std::array::from_fn(|_| rng.next());
                }
            }
            out.depth = rng.lanes();
            out.depth_written = rng.next().is_multiple_of(2);
            out
        })
        .collect()
}

/// Per-block `shade`, as `FragmentShader`'s default `shade_run` does it.
fn reference(glue: &FragmentGlue, run: &FragmentRun<'_>, out: &mut [FragmentOutputs]) -> Vec<u8> {
    (0..run.blocks())
        .map(|i| {
            let live = run.masks[i];
            if live == 0 {
                return 0;
            }
            let batch = run.batch(i).unwrap();
            out[i].depth = batch.depth;
            out[i].depth_written = false;
            glue.shade(&batch, live, &mut out[i]) & live
        })
        .collect()
}

/// Runs `cases` random runs through `shade_run` and the reference, comparing survivors, depth
/// and the colour words of the sink's `attachments` (the only ones it reads); returns how many
/// live lanes there were and how many survived, for the caller to check the cases were varied.
fn assert_run_matches_blocks(
    glue: &FragmentGlue,
    components: usize,
    attachments: usize,
    cases: usize,
) -> (u32, u32) {
    let mut rng = Rng(0x2545_f491);
    let (mut live_lanes, mut surviving) = (0, 0);
    for case in 0..cases {
        let values = RunValues::random(&mut rng, components);
        let run = values.run();
        let blocks = run.blocks();
        let garbage = garbage_outputs(blocks, &mut rng);
        let mut want_out = garbage.clone();
        let want = reference(glue, &run, &mut want_out);
        let mut got_out = garbage;
        let mut got = vec![0xaa; blocks];
        glue.shade_run(&run, run.masks, &mut got_out, &mut got);
        assert_eq!(got, want, "case {case}: survivors");
        for i in 0..blocks {
            let (g, w) = (&got_out[i], &want_out[i]);
            assert_eq!(
                g.color[..attachments],
                w.color[..attachments],
                "case {case} block {i}: colours"
            );
            assert_eq!(g.depth_written, w.depth_written, "case {case} block {i}");
            let bits = |d: &[f32; LANES]| d.map(f32::to_bits);
            assert_eq!(
                bits(&g.depth),
                bits(&w.depth),
                "case {case} block {i}: depth"
            );
        }
        live_lanes += values.masks.iter().map(|m| m.count_ones()).sum::<u32>();
        surviving += got.iter().map(|m| m.count_ones()).sum::<u32>();
    }
    (live_lanes, surviving)
}

/// A closure stage that discards by its first input, writes FragDepth from its second and
/// colours from FragCoord, PointCoord, facing and liveness.
fn closure_stage() -> Arc<dyn FragmentStage> {
    Arc::new(ClosureFragmentStage(|io: &mut FragmentIo<'_>| {
        let mut survivors = io.live;
        for lane in 0..LANES {
            if io.inputs[0][lane] < 0.3 {
                survivors &= !(1 << lane);
            }
            let words = [
                io.frag_coord[0][lane] + io.frag_coord[1][lane],
                io.frag_coord[2][lane] * io.frag_coord[3][lane],
                io.point_coord[0][lane] - io.point_coord[1][lane],
                f32::from(u8::from(io.front_facing) + 2 * (io.live >> lane & 1)),
            ];
            for (c, w) in words.iter().enumerate() {
                io.outputs[c * LANES + lane] = w.to_bits();
            }
            if io.inputs[1][lane] > 0.6 {
                io.outputs[4 * LANES + lane] = (io.inputs[1][lane] * 0.5).to_bits();
            }
        }
        survivors
    }))
}

#[test]
fn run_of_a_closure_stage_matches_block_by_block_shading() {
    // Slots 0..4: location 1 (attachment 1) xyzw; slot 4 FragDepth. Attachment 0 and 2 are
    // written by nothing (zeroed), attachment 1's x twice (the later output wins).
    let colors = vec![(0, 1, 0), (1, 1, 1), (2, 1, 2), (3, 1, 3), (1, 1, 0)];
    let glue = FragmentGlue::from_parts(
        Some((closure_stage(), no_resources())),
        colors,
        3,
        Some(4),
        5,
    );
    assert!(!glue.direct);
    let (live, surviving) = assert_run_matches_blocks(&glue, 2, 3, 200);
    assert!(surviving > 0 && surviving < live, "{surviving} of {live}");
}

#[test]
fn run_without_a_fragment_stage_keeps_every_live_lane_and_the_depth() {
    let glue = FragmentGlue::from_parts(None, Vec::new(), 1, None, 0);
    let (live, surviving) = assert_run_matches_blocks(&glue, 0, 1, 50);
    assert_eq!(live, surviving);
}

#[test]
fn run_of_a_stage_with_many_outputs_takes_several_calls_and_matches() {
    // 32 locations × 4 components: 1024 words per block, two blocks per stage call.
    let stage: Arc<dyn FragmentStage> =
        Arc::new(ClosureFragmentStage(|io: &mut FragmentIo<'_>| {
            for (i, word) in io.outputs.iter_mut().enumerate() {
                *word = (i as f32 * io.frag_coord[0][i % LANES]).to_bits();
            }
            io.live & 0x5a
        }));
    let colors = (0..128)
        .map(|slot| (slot, slot % 4, slot / 4 % 4))
        .collect();
    let glue = FragmentGlue::from_parts(Some((stage, no_resources())), colors, 4, None, 128);
    assert!(glue.block_words() * 2 <= RUN_WORDS[2]);
    let (live, surviving) = assert_run_matches_blocks(&glue, 1, 4, 40);
    assert!(surviving > 0 && surviving < live);
}

// ---------------------------------------------------------------------------------------------
// With a JIT kernel.

/// The jit-host binary of this build (as the renderer's integration tests find it).
fn jit_host_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SOFTGPU_JIT_HOST") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("jit-host");
    assert!(
        path.exists(),
        "{} not found: build it first (`cargo build -p jit-host`) or set SOFTGPU_JIT_HOST",
        path.display()
    );
    path
}

fn lower_fragment_glsl(src: &str) -> Module {
    // One directory per call: tests compile shaders in parallel.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "softgpu-fragment-glue-{}-{call}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (input, output) = (dir.join("s.frag"), dir.join("s.spv"));
    std::fs::write(&input, src).unwrap();
    let out = Command::new("glslangValidator")
        .args(["-V", "--target-env", "vulkan1.1", "-o"])
        .arg(&output)
        .arg(&input)
        .output()
        .expect("run glslangValidator");
    assert!(
        out.status.success(),
        "glslangValidator failed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let spv = std::fs::read(&output).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    shader::lower(&spv, Stage::Fragment, "main", &Default::default()).unwrap()
}

/// Discard, demote, both helper queries, a conditional FragDepth write, private memory, every
/// FragCoord / PointCoord component and facing.
const MIXED_FRAGMENT: &str = r#"
#version 450
#extension GL_EXT_demote_to_helper_invocation : require
layout(location = 0) in vec2 a;
layout(location = 0) out vec4 o;
layout(location = 1) out vec4 o1;
void main() {
    float arr[4];
    int k = int(gl_FragCoord.x) & 3;
    arr[k] = 0.0;
    if (a.x > 0.5) arr[k] = a.y;
    bool h0 = gl_HelperInvocation;
    if (a.x < 0.15) discard;
    if (a.y < 0.2) demote;
    if (a.x > 0.7) gl_FragDepth = a.y * 0.5;
    o = vec4(gl_FragCoord.xy, gl_FragCoord.z + gl_FragCoord.w, gl_PointCoord.x - gl_PointCoord.y);
    o1 = vec4(helperInvocationEXT() ? 1.0 : 0.0, h0 ? 1.0 : 0.0, gl_FrontFacing ? a.x : -a.x,
              arr[k]);
}
"#;

/// Compiles `src` and checks `shade_run` against block-by-block shading with location `l`
/// bound to attachment `l` for `l < attachments`, for each `(attachments, in place)` case
/// (`in place`: whether the glue lets the kernel write colour words in place).
fn assert_jit_run_matches_blocks(src: &str, has_frag_depth: bool, cases: &[(usize, bool)]) {
    let host = JitHost::spawn(&SpawnOptions {
        path: Some(jit_host_path()),
        allow_test_requests: false,
    })
    .unwrap();
    let module = lower_fragment_glsl(src);
    let kernel = host.compile(&module).unwrap();
    let stage: Arc<dyn FragmentStage> = Arc::new(JitFragmentStage::new(kernel, &module).unwrap());
    let depth_slot = module
        .outputs
        .iter()
        .position(|o| o.target == OutputTarget::FragDepth);
    assert_eq!(depth_slot.is_some(), has_frag_depth);
    for &(attachments, direct) in cases {
        let colors: Vec<(usize, usize, usize)> = module
            .outputs
            .iter()
            .enumerate()
            .filter_map(|(slot, o)| match o.target {
                OutputTarget::Location {
                    location,
                    component,
                } if (location as usize) < attachments => {
                    Some((slot, location as usize, usize::from(component)))
                }
                _ => None,
            })
            .collect();
        let glue = FragmentGlue::from_parts(
            Some((stage.clone(), no_resources())),
            colors,
            attachments,
            depth_slot,
            module.outputs.len(),
        );
        assert_eq!(glue.direct, direct, "{attachments} attachments");
        let (live, surviving) =
            assert_run_matches_blocks(&glue, module.inputs.len(), attachments, 150);
        assert!(surviving > 0 && surviving < live, "{surviving} of {live}");
    }
}

#[test]
fn run_of_a_jit_kernel_matches_block_by_block_shading() {
    // FragDepth is an output slot before the colours: never written in place.
    assert_jit_run_matches_blocks(MIXED_FRAGMENT, true, &[(1, false), (2, false), (3, false)]);
    // Without it, slot s is location s / 4's component s % 4: in place, with location 1
    // unbound (1 attachment), both bound (2), or attachment 2 written by nothing (3).
    let no_depth = MIXED_FRAGMENT.replace("if (a.x > 0.7) gl_FragDepth = a.y * 0.5;", "");
    assert_ne!(no_depth, MIXED_FRAGMENT);
    assert_jit_run_matches_blocks(&no_depth, false, &[(1, true), (2, true), (3, true)]);
}

#[test]
fn outputs_are_written_in_place_only_where_slot_s_is_component_s_mod_4_of_attachment_s_div_4() {
    let vec4 = |slot: usize, attachment: usize| -> Vec<(usize, usize, usize)> {
        (0..4).map(|c| (slot + c, attachment, c)).collect()
    };
    // Location 0 → attachment 0, location 1 → attachment 1, FragDepth past them.
    let both = [vec4(0, 0), vec4(4, 1)].concat();
    assert!(direct_layout(&both, 2, Some(8), 9));
    // FragDepth would land in attachment 2, which the sink has.
    assert!(!direct_layout(&both, 3, Some(8), 9));
    // Location 1 bound to attachment 0 (location 0 unbound): slot 4 is not attachment 0.
    assert!(!direct_layout(&vec4(4, 0), 1, None, 8));
    // Location 0 unbound (no attachment), location 1 → attachment 1: slot 0..4 would write
    // attachment 0, which the sink has.
    assert!(!direct_layout(&vec4(4, 1), 2, None, 8));
    // Location 0 → attachment 0, location 1 unbound and past the sink's one attachment.
    assert!(direct_layout(&vec4(0, 0), 1, None, 8));
    // A component written by two outputs.
    let twice = [vec4(0, 0), vec![(4, 0, 0)]].concat();
    assert!(!direct_layout(&twice, 2, None, 5));
    // More slots than colour words.
    assert!(!direct_layout(&[], 0, None, MAX_COLOR_ATTACHMENTS * 4 + 1));
}

/// What the fragment module of `src` reads of a fragment.
fn needs_of(src: &str) -> FragmentNeeds {
    crate::draw::stage::module_reads(&lower_fragment_glsl(src))
}

#[test]
fn a_module_needs_only_the_fragment_values_it_reads() {
    let constant =
        "#version 450\nlayout(location = 0) out vec4 o;\nvoid main() { o = vec4(1.0); }\n";
    assert_eq!(needs_of(constant), FragmentNeeds::NONE);
    // Loading gl_FragCoord reads all four components (z and w are then needed, whether used
    // or not: conservative), but no input.
    let xy = "#version 450\nlayout(location = 0) out vec4 o;\n\
              void main() { o = vec4(gl_FragCoord.xy, gl_FrontFacing ? 1.0 : 0.0, 1.0); }\n";
    assert!(!needs_of(xy).attributes);
    let z = "#version 450\nlayout(location = 0) out vec4 o;\n\
             void main() { o = vec4(0.0); for (int i = 0; i < 2; i++) { if (o.x < 1.0) \
             o.x += gl_FragCoord.z; } }\n";
    let depth_only = FragmentNeeds {
        depth: true,
        ..FragmentNeeds::NONE
    };
    assert_eq!(needs_of(z), depth_only);
    let w = "#version 450\nlayout(location = 0) out vec4 o;\n\
             void main() { o = vec4(gl_FragCoord.w); }\n";
    let inv_w_only = FragmentNeeds {
        inv_w: true,
        ..FragmentNeeds::NONE
    };
    assert_eq!(needs_of(w), inv_w_only);
    let input = "#version 450\nlayout(location = 0) in vec4 c;\nlayout(location = 0) out vec4 o;\n\
                 void main() { o = c; }\n";
    let attributes_only = FragmentNeeds {
        attributes: true,
        ..FragmentNeeds::NONE
    };
    assert_eq!(needs_of(input), attributes_only);
    // Everything, a conditional FragDepth write among it.
    assert_eq!(needs_of(MIXED_FRAGMENT), FragmentNeeds::ALL);
}

/// A stage that reads nothing of a fragment.
struct Blind;

impl FragmentStage for Blind {
    fn shade(&self, _: &StageResources, io: &mut FragmentIo<'_>) -> u8 {
        io.live
    }

    fn reads(&self) -> FragmentNeeds {
        FragmentNeeds::NONE
    }
}

#[test]
fn the_glue_needs_the_depth_for_a_frag_depth_output_and_nothing_without_a_stage() {
    let none = FragmentGlue::from_parts(None, Vec::new(), 1, None, 0);
    assert_eq!(none.needs(), FragmentNeeds::NONE);
    let blind = || Some((Arc::new(Blind) as Arc<dyn FragmentStage>, no_resources()));
    assert_eq!(
        FragmentGlue::from_parts(blind(), Vec::new(), 1, None, 1).needs(),
        FragmentNeeds::NONE
    );
    // FragDepth starts as the interpolated depth.
    let depth_only = FragmentNeeds {
        depth: true,
        ..FragmentNeeds::NONE
    };
    assert_eq!(
        FragmentGlue::from_parts(blind(), Vec::new(), 1, Some(0), 1).needs(),
        depth_only
    );
    // A closure stage may read anything.
    let closure = Some((closure_stage(), no_resources()));
    assert_eq!(
        FragmentGlue::from_parts(closure, Vec::new(), 1, None, 1).needs(),
        FragmentNeeds::ALL
    );
}

/// A colour from specialization-style constants, push constants and arithmetic on them
/// through a uniform loop: the same for every fragment. Location 1 is written only in x and
/// w (the other components are zero).
const CONSTANT_FRAGMENT: &str = r#"
#version 450
layout(push_constant) uniform Push { vec4 tint; int rounds; } pc;
layout(location = 0) out vec4 o;
layout(location = 1) out vec4 o1;
void main() {
    vec4 c = vec4(0.25, 0.5, 0.75, 0.6);
    for (int i = 0; i < pc.rounds; i++) c = c * pc.tint + vec4(0.01 * float(i));
    o = c;
    o1.x = c.y - c.z;
    o1.w = pc.rounds > 2 ? 1.0 : 0.5;
}
"#;

/// The JIT stage of `src` and its module.
fn jit_stage(src: &str) -> (Arc<dyn FragmentStage>, Module) {
    let host = JitHost::spawn(&SpawnOptions {
        path: Some(jit_host_path()),
        allow_test_requests: false,
    })
    .unwrap();
    let module = lower_fragment_glsl(src);
    let kernel = host.compile(&module).unwrap();
    let stage: Arc<dyn FragmentStage> = Arc::new(JitFragmentStage::new(kernel, &module).unwrap());
    (stage, module)
}

/// Resources with `push` as the push constants.
fn push_resources(push: &[u8]) -> StageResources {
    let sets: &[&DescriptorSet] = &[];
    let source: &dyn DescriptorSource = &sets;
    StageResources::resolve(&[], source, push).unwrap()
}

/// Location `l` bound to attachment `l` for `l < attachments`.
fn location_colors(module: &Module, attachments: usize) -> Vec<(usize, usize, usize)> {
    module
        .outputs
        .iter()
        .enumerate()
        .filter_map(|(slot, o)| match o.target {
            OutputTarget::Location {
                location,
                component,
            } if (location as usize) < attachments => {
                Some((slot, location as usize, usize::from(component)))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_draw_constant_kernel_is_called_once_and_gives_the_words_of_calling_it_per_block() {
    let (stage, module) = jit_stage(CONSTANT_FRAGMENT);
    assert!(shader::constant_outputs::outputs_are_draw_constant(&module));
    assert_eq!(stage.reads(), FragmentNeeds::NONE);
    let push = |tint: [f32; 4], rounds: i32| -> Vec<u8> {
        let mut bytes: Vec<u8> = tint.iter().flat_map(|v| v.to_le_bytes()).collect();
        bytes.extend(rounds.to_le_bytes());
        bytes
    };
    let mut seen = Vec::new();
    for (tint, rounds) in [([0.9, 1.1, 0.5, 1.0], 3), ([2.0, 0.0, -1.0, 0.5], 1)] {
        let push = push(tint, rounds);
        for attachments in [1, 2, 3] {
            let glue = |constant: bool| {
                let glue = FragmentGlue::from_parts(
                    Some((stage.clone(), push_resources(&push))),
                    location_colors(&module, attachments),
                    attachments,
                    None,
                    module.outputs.len(),
                );
                match constant {
                    true => glue,
                    false => glue.without_constant_outputs(),
                }
            };
            let (fast, slow) = (glue(true), glue(false));
            let constant = fast.constant.as_ref().expect("draw-constant outputs");
            assert!(slow.constant.is_none());
            // The reference is per-block `shade` of the kernel-calling glue.
            let mut rng = Rng(0x1234_5678);
            for case in 0..100 {
                let values = RunValues::random(&mut rng, module.inputs.len());
                let run = values.run();
                let blocks = run.blocks();
                let garbage = garbage_outputs(blocks, &mut rng);
                let mut want_out = garbage.clone();
                let want = reference(&slow, &run, &mut want_out);
                // As the output merger calls it: each live block's depth set first.
                let mut got_out = garbage.clone();
                let live_blocks = got_out.iter_mut().zip(run.depth).zip(run.masks);
                for ((out, depth), _) in live_blocks.filter(|(_, &m)| m != 0) {
                    out.depth = *depth;
                    out.depth_written = false;
                }
                let mut got = vec![0xaa; blocks];
                fast.shade_run(&run, run.masks, &mut got_out, &mut got);
                assert_eq!(got, want, "case {case}: survivors");
                assert_eq!(got, values.masks, "no lane is discarded");
                let mut single_out = garbage;
                for i in 0..blocks {
                    let (g, w) = (&got_out[i], &want_out[i]);
                    assert_eq!(
                        g.color[..attachments],
                        w.color[..attachments],
                        "case {case}"
                    );
                    assert_eq!(g.depth.map(f32::to_bits), w.depth.map(f32::to_bits));
                    assert_eq!(g.depth_written, w.depth_written);
                    let batch = run.batch(i).unwrap();
                    if batch.mask != 0 {
                        let kept = fast.shade(&batch, batch.mask, &mut single_out[i]);
                        assert_eq!(kept, batch.mask);
                        assert_eq!(single_out[i].color[..attachments], w.color[..attachments]);
                    }
                }
            }
            seen.push(constant.color[0][0][0]);
        }
    }
    // The colour follows the push constants.
    assert_ne!(seen[0], seen[3]);
    assert_eq!(f32::from_bits(seen[3]), 0.25 * 2.0);
}

#[test]
fn kernels_reading_the_fragment_or_discarding_are_called_per_block() {
    let per_fragment = [
        MIXED_FRAGMENT,
        "#version 450\nlayout(location = 0) out vec4 o;\n\
         void main() { o = vec4(gl_FragCoord.x); }\n",
        "#version 450\nlayout(location = 0) out vec4 o;\n\
         void main() { o = vec4(1.0); if (gl_FrontFacing) discard; }\n",
        "#version 450\nlayout(location = 0) in vec4 c;\nlayout(location = 0) out vec4 o;\n\
         void main() { o = c; }\n",
    ];
    for src in per_fragment {
        let (stage, module) = jit_stage(src);
        assert!(stage.constant_outputs(&no_resources()).is_none(), "{src}");
        let glue = FragmentGlue::from_parts(
            Some((stage, no_resources())),
            location_colors(&module, 1),
            1,
            module
                .outputs
                .iter()
                .position(|o| o.target == OutputTarget::FragDepth),
            module.outputs.len(),
        );
        assert!(glue.constant.is_none(), "{src}");
    }
    // Closure stages never claim it.
    let glue =
        FragmentGlue::from_parts(Some((closure_stage(), no_resources())), vec![], 1, None, 5);
    assert!(glue.constant.is_none());
}

/// Asserts that `glue`'s per-rectangle colours for `inputs` are the words the kernel writes
/// to every lane of a block whose every lane carries `inputs` (`case` seeds the block's other
/// values).
fn assert_input_colors_match_shading(
    glue: &FragmentGlue,
    inputs: &[f32],
    attachments: usize,
    rng: &mut Rng,
    case: u32,
) {
    let mut colors = [[0xdead_beef_u32; 4]; MAX_COLOR_ATTACHMENTS];
    assert!(glue.input_colors(inputs, &mut colors), "case {case}");
    let attributes: Vec<[f32; LANES]> = inputs.iter().map(|&v| [v; LANES]).collect();
    let batch = FragmentBatch {
        x: 4 * (rng.next() % 64),
        y: 2 * (rng.next() % 64),
        mask: 0xff,
        front_facing: case.is_multiple_of(2),
        primitive: case,
        depth: rng.lanes(),
        inv_w: rng.lanes().map(|v| v + 0.5),
        attributes: &attributes,
        point_coord: [rng.lanes(), rng.lanes()],
    };
    let mut out = FragmentOutputs::default();
    assert_eq!(glue.shade(&batch, 0xff, &mut out), 0xff);
    for (lanes, words) in out.color.iter().zip(&colors).take(attachments) {
        for (lanes, &word) in lanes.iter().zip(words) {
            assert!(lanes.iter().all(|&w| w == word), "case {case}");
        }
    }
}

#[test]
fn a_kernel_that_only_copies_its_inputs_gives_the_colours_shading_a_block_does_without_a_call() {
    let copies = [
        "#version 450\nlayout(location = 0) in vec4 c;\nlayout(location = 0) out vec4 o;\n\
         void main() { o = c; }\n",
        "#version 450\nlayout(location = 0) in vec4 c;\nlayout(location = 1) in vec2 d;\n\
         layout(location = 0) out vec4 o;\n\
         void main() { o = vec4(d.y, c.z, 0.25, c.x); }\n",
        "#version 450\nlayout(location = 0) flat in ivec2 k;\nlayout(location = 1) in vec4 c;\n\
         layout(location = 0) out vec4 o;\nlayout(location = 1) out ivec4 i;\n\
         void main() { o = c.wzyx; i = ivec4(k.y, 7, k.x, -3); }\n",
    ];
    for src in copies {
        let (stage, module) = jit_stage(src);
        assert!(
            shader::constant_outputs::copied_inputs(&module).is_some(),
            "{src}"
        );
        let attachments = module
            .outputs
            .iter()
            .filter_map(|o| match o.target {
                OutputTarget::Location { location, .. } => Some(location as usize + 1),
                _ => None,
            })
            .max()
            .unwrap_or(1);
        let glue = FragmentGlue::from_parts(
            Some((stage, no_resources())),
            location_colors(&module, attachments),
            attachments,
            None,
            module.outputs.len(),
        );
        assert!(glue.colors_follow_inputs(), "{src}");
        let mut rng = Rng(0x00c0_b1e5);
        for case in 0..20 {
            let mut inputs: Vec<f32> = rng.lanes()[..module.inputs.len()].to_vec();
            for (value, slot) in inputs.iter_mut().zip(&module.inputs) {
                if slot.ty != shader::ir::ScalarType::F32 {
                    *value = f32::from_bits(rng.next());
                }
            }
            assert_input_colors_match_shading(&glue, &inputs, attachments, &mut rng, case);
            // Attachment 0's words, taken from the inputs where `copied_color` says, are
            // the words `input_colors` gives.
            let copied = glue
                .copied_color()
                .unwrap_or_else(|| panic!("no copied colour: {src}"));
            let mut colors = [[0u32; 4]; crate::output::MAX_COLOR_ATTACHMENTS];
            assert!(glue.input_colors(&inputs, &mut colors), "{src}");
            let words = copied.map(|c| c.word(&inputs).unwrap_or_else(|| panic!("{src}")));
            assert_eq!(words, colors[0], "{src} case {case}");
        }
    }
}

#[test]
fn a_kernel_of_its_inputs_alone_gives_per_rectangle_colours_as_shading_a_block_does() {
    let src = "#version 450\n\
         layout(push_constant) uniform Push { vec4 tint; } pc;\n\
         layout(location = 0) in vec4 c;\n\
         layout(location = 1) flat in int k;\n\
         layout(location = 0) out vec4 o;\n\
         layout(location = 1) out vec4 o1;\n\
         void main() { o = c * pc.tint; o1.xz = vec2(float(k) * c.w, k > 2 ? c.x : 0.5); }\n";
    let (stage, module) = jit_stage(src);
    assert!(shader::constant_outputs::outputs_depend_only_on_inputs(
        &module
    ));
    assert!(!shader::constant_outputs::outputs_are_draw_constant(
        &module
    ));
    let push: Vec<u8> = [0.5f32, 2.0, -1.0, 1.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let attachments = 2;
    let glue = FragmentGlue::from_parts(
        Some((stage, push_resources(&push))),
        location_colors(&module, attachments),
        attachments,
        None,
        module.outputs.len(),
    );
    assert!(glue.colors_follow_inputs());
    let mut rng = Rng(0x0f1a_7c01);
    for case in 0..50 {
        let mut inputs: Vec<f32> = rng.lanes()[..module.inputs.len()].to_vec();
        // The flat int input, as its bits.
        if let Some(last) = inputs.last_mut() {
            *last = f32::from_bits(rng.next() % 5);
        }
        // The reference: the kernel shading a block whose every lane carries the inputs.
        assert_input_colors_match_shading(&glue, &inputs, attachments, &mut rng, case);
    }
    // A kernel that reads the fragment's position is not one.
    let (stage, module) = jit_stage(
        "#version 450\nlayout(location = 0) in vec4 c;\nlayout(location = 0) out vec4 o;\n\
         void main() { o = c + gl_FragCoord; }\n",
    );
    let glue = FragmentGlue::from_parts(
        Some((stage, no_resources())),
        location_colors(&module, 1),
        1,
        None,
        module.outputs.len(),
    );
    assert!(!glue.colors_follow_inputs());
    let mut colors = [[0u32; 4]; MAX_COLOR_ATTACHMENTS];
    assert!(!glue.input_colors(&[0.5; 4], &mut colors));
}
