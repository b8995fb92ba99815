//! Harness for the vertex / fragment execution tests: GLSL → SPIR-V (glslangValidator) →
//! IR (the front end) → jit-host's compile pipeline → a sealed arena mapped read+execute →
//! a call with the `shader::abi` graphics contexts, in this process.
#![allow(dead_code, clippy::needless_range_loop)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use shader::abi::{
    BufferDescriptor, FragmentBatchIo, FragmentContext, FragmentKernelFn, VertexContext,
    VertexKernelFn, GRAPHICS_LANES,
};
use shader::ir::{Module, OutputTarget, Stage};
use shader::SpecializationInfo;

pub const L: usize = GRAPHICS_LANES;

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn scratch_path(ext: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("softgpu-jit-gfx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(format!("s{n}.{ext}"))
}

/// GLSL of `stage` → validated IR.
pub fn lower_glsl(stage: Stage, src: &str) -> Module {
    let ext = match stage {
        Stage::Vertex => "vert",
        Stage::Fragment => "frag",
        Stage::Compute => "comp",
    };
    let (input, output) = (scratch_path(ext), scratch_path("spv"));
    std::fs::write(&input, src).expect("write shader");
    let out = Command::new("glslangValidator")
        .args(["-V", "--target-env", "vulkan1.1", "-S", ext, "-o"])
        .arg(&output)
        .arg(&input)
        .output()
        .expect("run glslangValidator");
    assert!(
        out.status.success(),
        "glslangValidator failed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let spv = std::fs::read(&output).expect("read spirv");
    let m = shader::lower(&spv, stage, "main", &SpecializationInfo::default())
        .unwrap_or_else(|e| panic!("front end: {e}"));
    shader::valid::validate(&m).unwrap_or_else(|e| panic!("invalid IR: {e}"));
    m
}

/// Compiled code placed in its own arena (kept mapped as long as this lives).
pub struct Placed {
    pub module: Module,
    scratch: Vec<u8>,
    /// `ViewIndex` the next calls pass in their context.
    pub view_index: u32,
    /// Image state the next calls pass in their context.
    pub images: shader::abi::ImageResources,
    code: crate::common::placed::PlacedCode,
}

pub fn place(module: Module) -> Placed {
    let code = crate::common::placed::compile_and_place(&module);
    // 64-byte aligned scratch: over-allocate and let the call offset into it.
    let scratch = vec![0u8; code.scratch_size + 128];
    Placed {
        module,
        scratch,
        view_index: 0,
        images: shader::abi::ImageResources::NONE,
        code,
    }
}

pub fn glsl(stage: Stage, src: &str) -> Placed {
    place(lower_glsl(stage, src))
}

fn descriptors(bufs: &mut [&mut [u8]]) -> Vec<BufferDescriptor> {
    bufs.iter_mut()
        .map(|b| BufferDescriptor {
            base: b.as_mut_ptr(),
            len: b.len() as u64,
        })
        .collect()
}

impl Placed {
    fn scratch_ptr(&mut self) -> *mut u8 {
        let p = self.scratch.as_mut_ptr();
        p.wrapping_add(p.align_offset(64))
    }

    /// Index into `Module::inputs` of location/component.
    pub fn input(&self, location: u32, component: u8) -> usize {
        self.module
            .inputs
            .iter()
            .position(|s| s.location == location && s.component == component)
            .unwrap_or_else(|| panic!("no input at location {location}.{component}"))
    }

    /// Index into `Module::outputs` of a target.
    pub fn output(&self, target: OutputTarget) -> usize {
        self.module
            .outputs
            .iter()
            .position(|s| s.target == target)
            .unwrap_or_else(|| panic!("no output {target:?}"))
    }

    pub fn location(&self, location: u32, component: u8) -> usize {
        self.output(OutputTarget::Location {
            location,
            component,
        })
    }

    /// Calls the vertex kernel for `count` vertices; `inputs` holds whole groups. Returns the
    /// output words (whole groups).
    #[allow(clippy::too_many_arguments)]
    pub fn run_vertex(
        &mut self,
        count: u32,
        vertex_indices: &[u32],
        inputs: &[u32],
        instance: (u32, i32, u32),
        bufs: &mut [&mut [u8]],
        push: &[u8],
    ) -> Vec<u32> {
        let groups = (count as usize).div_ceil(L);
        assert!(vertex_indices.len() >= groups * L);
        assert!(inputs.len() >= groups * L * self.module.inputs.len());
        let mut outputs = vec![0xdead_beefu32; groups * L * self.module.outputs.len()];
        let descs = descriptors(bufs);
        let ctx = VertexContext {
            buffers: descs.as_ptr(),
            push_constants: push.as_ptr(),
            push_constants_len: push.len() as u32,
            base_vertex: instance.1,
            base_instance: instance.2,
            instance_index: instance.0,
            vertex_indices: vertex_indices.as_ptr(),
            inputs: inputs.as_ptr(),
            outputs: outputs.as_mut_ptr(),
            scratch: self.scratch_ptr(),
            view_index: self.view_index,
            _pad: 0,
            image_resources: self.images,
        };
        // SAFETY: `entry` is the entry of code just placed for this vertex module.
        let f: VertexKernelFn = unsafe { std::mem::transmute(self.code.entry) };
        // SAFETY: every pointer in ctx is live for the call and sized as the ABI requires.
        unsafe { f(&ctx, count) };
        outputs
    }

    /// Calls the fragment kernel on one batch; returns (surviving lanes, output words).
    pub fn run_fragment(
        &mut self,
        batch: &Batch,
        outputs_in: &[u32],
        bufs: &mut [&mut [u8]],
        push: &[u8],
    ) -> (u32, Vec<u32>) {
        self.run_fragments(&[(batch, outputs_in)], bufs, push)
            .pop()
            .expect("one batch in, one result out")
    }

    /// Calls the fragment kernel once on every batch of `batches` (each with its incoming
    /// output words); returns (surviving lanes, output words) per batch.
    pub fn run_fragments(
        &mut self,
        batches: &[(&Batch, &[u32])],
        bufs: &mut [&mut [u8]],
        push: &[u8],
    ) -> Vec<(u32, Vec<u32>)> {
        let mut outputs: Vec<Vec<u32>> = batches
            .iter()
            .map(|(batch, outputs_in)| {
                assert_eq!(batch.inputs.len(), L * self.module.inputs.len());
                assert_eq!(outputs_in.len(), L * self.module.outputs.len());
                outputs_in.to_vec()
            })
            .collect();
        let descs = descriptors(bufs);
        let ctx = FragmentContext {
            buffers: descs.as_ptr(),
            push_constants: push.as_ptr(),
            push_constants_len: push.len() as u32,
            view_index: self.view_index,
            scratch: self.scratch_ptr(),
            image_resources: self.images,
        };
        let mut io: Vec<FragmentBatchIo> = batches
            .iter()
            .zip(outputs.iter_mut())
            .map(|((batch, _), outputs)| FragmentBatchIo {
                inputs: batch.inputs.as_ptr(),
                outputs: outputs.as_mut_ptr(),
                depth: &batch.frag_coord[2],
                inv_w: &batch.frag_coord[3],
                point_coord: &batch.point_coord,
                x: batch.x,
                y: batch.y,
                front_facing: batch.front_facing,
                live: batch.live,
            })
            .collect();
        // SAFETY: `entry` is the entry of code just placed for this fragment module.
        let f: FragmentKernelFn = unsafe { std::mem::transmute(self.code.entry) };
        // SAFETY: every pointer in ctx and in each batch is live for the call and sized per
        // the ABI; `io` holds `io.len()` batches.
        unsafe { f(&ctx, io.as_mut_ptr(), io.len() as u32) };
        io.iter().map(|b| b.live).zip(outputs).collect()
    }
}

/// One fragment batch's inputs.
#[derive(Clone)]
pub struct Batch {
    pub inputs: Vec<u32>,
    /// Top-left pixel: FragCoord x, y (`frag_coord[0..2]`) follow from it.
    pub x: u32,
    pub y: u32,
    /// FragCoord per lane (x and y as the kernel computes them from `x`, `y`).
    pub frag_coord: [[f32; L]; 4],
    pub point_coord: [[f32; L]; 2],
    pub front_facing: u32,
    pub live: u32,
}

impl Batch {
    /// A 4×2 block at (x0, y0), depth z = 0.25 + lane / 32, 1/w = 0.5, PointCoord s =
    /// 0.5 + lane / 64, t = 0.25 + lane / 16, no inputs yet.
    pub fn at(m: &Module, x0: u32, y0: u32, live: u32) -> Batch {
        let mut frag_coord = [[0.0; L]; 4];
        for l in 0..L {
            // Two 2×2 quads side by side.
            let (qx, qy) = ((l / 4) * 2 + l % 2, (l % 4) / 2);
            frag_coord[0][l] = (x0 as usize + qx) as f32 + 0.5;
            frag_coord[1][l] = (y0 as usize + qy) as f32 + 0.5;
            frag_coord[2][l] = 0.25 + l as f32 / 32.0;
            frag_coord[3][l] = 0.5;
        }
        Batch {
            inputs: vec![0; L * m.inputs.len()],
            x: x0,
            y: y0,
            frag_coord,
            point_coord: [
                std::array::from_fn(|l| 0.5 + l as f32 / 64.0),
                std::array::from_fn(|l| 0.25 + l as f32 / 16.0),
            ],
            front_facing: 1,
            live,
        }
    }

    pub fn set_f32(&mut self, slot: usize, values: [f32; L]) {
        for (l, v) in values.iter().enumerate() {
            self.inputs[slot * L + l] = v.to_bits();
        }
    }

    pub fn set_i32(&mut self, slot: usize, values: [i32; L]) {
        for (l, v) in values.iter().enumerate() {
            self.inputs[slot * L + l] = *v as u32;
        }
    }
}

pub fn f32_word(words: &[u32], slot: usize, lane: usize) -> f32 {
    f32::from_bits(words[slot * L + lane])
}

pub fn u32s_to_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn bytes_to_u32s(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub fn f32s_to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-5 * (1.0 + a.abs().max(b.abs()))
}
