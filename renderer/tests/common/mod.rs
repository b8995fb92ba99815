//! Shared test helpers: compiling the GLSL test shaders with glslangValidator, finding the
//! jit-host binary, a shared device, buffer shortcuts, a deterministic PRNG and float-error
//! measures used by the CPU references; the throughput measurements' setup ([`throughput`]).
#![allow(dead_code, clippy::unwrap_used)]

pub mod math;
pub mod throughput;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use renderer::{
    Buffer, BufferElement, ComputePipeline, DescriptorSet, Device, DeviceConfig,
    SpecializationInfo, WHOLE_SIZE,
};

/// The jit-host binary: `$SOFTGPU_JIT_HOST`, else `target/<profile>/jit-host` next to this test
/// executable's directory (`target/<profile>/deps/<test>`), i.e. the same profile as the tests.
pub fn jit_host_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SOFTGPU_JIT_HOST") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join("jit-host");
    assert!(
        path.exists(),
        "{} not found: build it first (`cargo build --workspace --bins`, see scripts/test) or set SOFTGPU_JIT_HOST",
        path.display()
    );
    path
}

pub fn config() -> DeviceConfig {
    DeviceConfig {
        jit_host_path: Some(jit_host_path()),
        threads: None,
        allow_test_requests: false,
    }
}

/// A new device with its own jit-host.
pub fn new_device() -> Device {
    Device::new(config()).unwrap()
}

/// One device shared by the tests of a test binary (they run on parallel threads).
pub fn device() -> &'static Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE.get_or_init(new_device)
}

/// SPIR-V of `tests/shaders/<name>.comp`, compiled with `-D` definitions `defines`.
pub fn spirv(name: &str, defines: &[(&str, &str)]) -> Vec<u8> {
    spirv_file(&format!("{name}.comp"), defines)
}

/// SPIR-V of `tests/shaders/<file>` (the stage from its extension: `.comp`, `.vert`,
/// `.frag`), compiled with `-D` definitions `defines`.
pub fn spirv_file(file: &str, defines: &[(&str, &str)]) -> Vec<u8> {
    let name = file;
    static CACHE: OnceLock<Mutex<HashMap<String, Vec<u8>>>> = OnceLock::new();
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let key = format!("{name}{defines:?}");
    let cache = CACHE.get_or_init(Default::default);
    if let Some(words) = cache.lock().unwrap().get(&key) {
        return words.clone();
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/shaders")
        .join(file);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{name}-{}-{}.spv",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mut cmd = Command::new("glslangValidator");
    cmd.args(["-V", "--target-env", "vulkan1.1"]);
    for (k, v) in defines {
        cmd.arg(format!("-D{k}={v}"));
    }
    cmd.arg("-o").arg(&out).arg(&src);
    let result = cmd
        .output()
        .expect("glslangValidator not found (scripts/install-deps installs glslang-tools)");
    assert!(
        result.status.success(),
        "glslangValidator failed on {}:\n{}{}",
        src.display(),
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    let words = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    cache.lock().unwrap().insert(key, words.clone());
    words
}

pub fn pipeline(dev: &Device, name: &str, defines: &[(&str, &str)]) -> ComputePipeline {
    pipeline_spec(dev, name, defines, &SpecializationInfo::default())
}

pub fn pipeline_spec(
    dev: &Device,
    name: &str,
    defines: &[(&str, &str)],
    spec: &SpecializationInfo,
) -> ComputePipeline {
    let words = spirv(name, defines);
    match dev.create_compute_pipeline(&words, "main", spec) {
        Ok(p) => p,
        Err(e) => panic!("creating pipeline {name}: {e}"),
    }
}

/// A buffer holding `data` (at least 16 bytes, so empty inputs still bind).
pub fn buffer_from<T: BufferElement>(dev: &Device, data: &[T]) -> Buffer {
    let size = (std::mem::size_of_val(data) as u64).max(16);
    let b = dev.create_buffer(size).unwrap();
    b.write_slice(0, data).unwrap();
    b
}

/// A zeroed buffer of `count` elements of `T`.
pub fn buffer_zeroed<T: BufferElement>(dev: &Device, count: usize) -> Buffer {
    dev.create_buffer(((count * T::SIZE) as u64).max(16))
        .unwrap()
}

pub fn read_all<T: BufferElement>(b: &Buffer) -> Vec<T> {
    b.read_vec(0, (b.size() as usize) / T::SIZE).unwrap()
}

/// Set 0 with `buffers[i]` as storage buffer binding `i`, whole size.
pub fn storage_set(buffers: &[&Buffer]) -> DescriptorSet {
    let mut set = DescriptorSet::new();
    for (i, b) in buffers.iter().enumerate() {
        set.bind_storage_buffer(i as u32, 0, b, 0, WHOLE_SIZE)
            .unwrap();
    }
    set
}

/// Push-constant bytes from a list of 32-bit words.
pub fn words(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// splitmix64: deterministic, seedable, good enough for test inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    /// Uniform in [lo, hi).
    pub fn f32_in(&mut self, lo: f32, hi: f32) -> f32 {
        let t = (self.next_u64() >> 40) as f64 / (1u64 << 24) as f64;
        (lo as f64 + (hi as f64 - lo as f64) * t) as f32
    }
    /// Log-uniform magnitude in [2^lo_exp, 2^hi_exp) with a random sign.
    pub fn f32_log(&mut self, lo_exp: i32, hi_exp: i32) -> f32 {
        let e = self.f32_in(lo_exp as f32, hi_exp as f32);
        let m = (e as f64).exp2() as f32;
        if self.next_u32() & 1 == 0 {
            m
        } else {
            -m
        }
    }
    pub fn below(&mut self, n: u32) -> u32 {
        ((self.next_u32() as u64 * n as u64) >> 32) as u32
    }
}

/// The spacing of f32 values around `x` (ulp of the f32 nearest to x; for powers of two the
/// larger spacing above, as in the usual error measures). Finite normal range only.
pub fn ulp_f32(x: f64) -> f64 {
    let a = (x.abs() as f32).max(f32::MIN_POSITIVE);
    let exp = a.to_bits() >> 23; // biased exponent
    ((exp as i32 - 127 - 23) as f64).exp2()
}

/// Error of `got` against the exact `reference`, in ulps of the reference.
pub fn ulp_error(got: f32, reference: f64) -> f64 {
    if got as f64 == reference {
        return 0.0;
    }
    if got.is_nan() || reference.is_nan() {
        return f64::INFINITY;
    }
    (got as f64 - reference).abs() / ulp_f32(reference)
}

/// Reports the worst offender of a float check in a readable form.
pub struct Worst {
    what: &'static str,
    excess: f64,
    line: String,
    pub count: usize,
    pub failures: usize,
}

impl Worst {
    pub fn new(what: &'static str) -> Worst {
        Worst {
            what,
            excess: 0.0,
            line: String::new(),
            count: 0,
            failures: 0,
        }
    }
    /// Records one comparison: `error` must be ≤ `allowed`.
    pub fn check(&mut self, error: f64, allowed: f64, detail: impl FnOnce() -> String) {
        self.count += 1;
        let ok = error <= allowed;
        if !ok {
            self.failures += 1;
            let excess = if allowed > 0.0 {
                error / allowed
            } else {
                f64::INFINITY
            };
            if excess > self.excess || self.line.is_empty() {
                self.excess = excess;
                self.line = format!("{} (error {error:e} > allowed {allowed:e})", detail());
            }
        }
    }
    pub fn assert_ok(&self) {
        assert!(self.count > 0, "{}: nothing was checked", self.what);
        assert_eq!(
            self.failures, 0,
            "{}: {} of {} results out of bounds; worst: {}",
            self.what, self.failures, self.count, self.line
        );
    }
}

/// One per-vertex binding 0 of `stride` bytes whose attributes, at locations 0, 1, ..., are
/// `(offset, VkFormat)` pairs.
pub fn interleaved_input(
    stride: u32,
    attributes: &[(u32, u32)],
) -> renderer::draw::VertexInputState {
    use renderer::draw::{InputRate, VertexAttribute, VertexBinding, VertexFormat};
    let attributes = attributes
        .iter()
        .enumerate()
        .map(|(location, &(offset, format))| VertexAttribute {
            location: location as u32,
            binding: 0,
            format: VertexFormat::from_vk(format).expect("a vertex format"),
            offset,
        })
        .collect();
    let binding = VertexBinding {
        binding: 0,
        stride,
        rate: InputRate::Vertex,
    };
    renderer::draw::VertexInputState::new(vec![binding], attributes).expect("a valid input state")
}
