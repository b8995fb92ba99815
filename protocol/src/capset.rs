//! The softgpu capset (DESIGN §3): what `GET_CAPSET` returns for capset id 24.
//!
//! Layout: a sequence of little-endian `u32` words in the order of [`Capset`]'s fields (`u64`s
//! as low word, high word). Word 0 is a magic, word 1 the protocol version, word 2 the number of
//! words the device sent — a newer device may append fields; an older reader ignores them. A
//! reader refuses a blob with a wrong magic, a version it cannot speak, or fewer words than the
//! first layout ([`Capset::MIN_ENCODED_SIZE`]); a field appended since is `None` when an older
//! device did not send it.
//!
//! The trailing [`ClientCaps`] are the device's per-client caps on what the ICD creates
//! without a round trip (object creation travels with the next submission, DESIGN §3): the
//! ICD counts as the device counts ([`object_effect`]) and refuses past a cap at once, instead
//! of the device failing the submission later (the application would see
//! `VK_ERROR_DEVICE_LOST`). The device still checks every cap itself.

use thiserror::Error;

/// Our capset id. Ids 1–9 are taken and Linux builds its capset mask with a plain `1 << id`
/// (so ids ≥ 31 break): 24 is free and safe.
pub const SOFTGPU_CAPSET_VK: u32 = 24;

/// Version of the command stream defined in [`crate::stream`]. Bumped on any incompatible
/// change; both sides must agree exactly.
pub const PROTOCOL_VERSION: u32 = 3;

/// "SGPU" as a little-endian word.
pub const CAPSET_MAGIC: u32 = u32::from_le_bytes(*b"SGPU");

/// Device limits and properties the ICD reports as Vulkan properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capset {
    pub protocol_version: u32,
    /// SIMD width of compiled shaders = `subgroupSize`.
    pub subgroup_size: u32,
    /// Worker threads the device runs shaders on.
    pub threads: u32,
    pub max_compute_workgroup_invocations: u32,
    pub max_compute_workgroup_size: [u32; 3],
    pub max_compute_workgroup_count: [u32; 3],
    pub max_compute_shared_memory_size: u32,
    pub max_push_constants_size: u32,
    pub max_storage_buffer_range: u32,
    pub max_uniform_buffer_range: u32,
    pub min_storage_buffer_offset_alignment: u32,
    pub min_uniform_buffer_offset_alignment: u32,
    pub max_bound_descriptor_sets: u32,
    /// Largest single device-memory block (one virtio-gpu resource) the device accepts.
    pub max_memory_allocation_size: u64,
    /// Total device memory the device lets one guest allocate.
    pub device_memory_budget: u64,
    /// Largest `SUBMIT_3D` payload or recorded command-buffer range the device decodes.
    pub max_stream_size: u32,
    /// Caps on what one client holds (appended to the first layout).
    pub client: ClientCaps,
}

/// The device's caps on one client (one frontend: a VM, or a host process on the vhost-user
/// transport), shared by all its contexts. `None`: the device did not say (an older device);
/// nothing is mirrored then.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientCaps {
    /// Live objects of the kinds [`object_effect`] counts, created and not yet destroyed.
    pub max_objects: Option<u64>,
    /// Descriptors all live descriptor sets hold together; a set holds the sum of its
    /// layout's binding counts.
    pub max_descriptors: Option<u64>,
    /// Largest shader module, in SPIR-V words.
    pub max_shader_module_words: Option<u64>,
}

/// What a top-level command does to the live-object count that [`ClientCaps::max_objects`]
/// caps, executed successfully. Guest memory blocks are virtio-gpu resources, capped and
/// answered synchronously elsewhere; they are not objects here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectEffect {
    /// Creates one object. A pipeline creation that replies with an error creates nothing.
    Creates,
    /// Destroys one object.
    Destroys,
    /// Neither.
    None,
}

/// How the command with `opcode` changes the live-object count (see [`ObjectEffect`]).
pub fn object_effect(opcode: u32) -> ObjectEffect {
    use crate::stream::opcode as op;
    match opcode {
        op::CreateBuffer
        | op::CreateShaderModule
        | op::CreateDescriptorSetLayout
        | op::CreatePipelineLayout
        | op::CreateDescriptorSet
        | op::CreateComputePipeline
        | op::CreateGraphicsPipeline
        | op::CreateImage
        | op::CreateImageView
        | op::CreateRenderPass
        | op::CreateFramebuffer
        | op::CreateSampler
        | op::CreateBufferView => ObjectEffect::Creates,
        op::DestroyBuffer
        | op::DestroyShaderModule
        | op::DestroyDescriptorSetLayout
        | op::DestroyPipelineLayout
        | op::DestroyDescriptorSet
        | op::DestroyPipeline
        | op::DestroyImage
        | op::DestroyImageView
        | op::DestroyRenderPass
        | op::DestroyFramebuffer
        | op::DestroySampler
        | op::DestroyBufferView => ObjectEffect::Destroys,
        _ => ObjectEffect::None,
    }
}

/// Words of the first layout, which every reader requires.
const MIN_WORDS: usize = 24;
/// Words this side writes: the first layout plus [`ClientCaps`] (three `u64`s).
const WORDS: usize = MIN_WORDS + 6;
/// An absent cap on the wire (a device never caps at `u64::MAX`).
const ABSENT: u64 = u64::MAX;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CapsetError {
    #[error("capset blob of {0} bytes is too short or not a whole number of words")]
    Truncated(usize),
    #[error("capset magic {0:#010x} is not softgpu's")]
    BadMagic(u32),
    #[error("device speaks protocol version {0}, this side speaks {PROTOCOL_VERSION}")]
    Version(u32),
}

impl Capset {
    /// Size of the blob [`Capset::encode`] writes.
    pub const ENCODED_SIZE: usize = WORDS * 4;
    /// Size of the shortest blob a reader accepts (the first layout, without [`ClientCaps`]).
    pub const MIN_ENCODED_SIZE: usize = MIN_WORDS * 4;

    pub fn encode(&self) -> Vec<u8> {
        let mut w: Vec<u32> = Vec::with_capacity(WORDS);
        w.extend([CAPSET_MAGIC, self.protocol_version, WORDS as u32]);
        w.extend([
            self.subgroup_size,
            self.threads,
            self.max_compute_workgroup_invocations,
        ]);
        w.extend(self.max_compute_workgroup_size);
        w.extend(self.max_compute_workgroup_count);
        w.extend([
            self.max_compute_shared_memory_size,
            self.max_push_constants_size,
            self.max_storage_buffer_range,
            self.max_uniform_buffer_range,
            self.min_storage_buffer_offset_alignment,
            self.min_uniform_buffer_offset_alignment,
            self.max_bound_descriptor_sets,
        ]);
        for v in [self.max_memory_allocation_size, self.device_memory_budget] {
            w.extend([v as u32, (v >> 32) as u32]);
        }
        w.push(self.max_stream_size);
        let caps = &self.client;
        for v in [
            caps.max_objects,
            caps.max_descriptors,
            caps.max_shader_module_words,
        ] {
            let v = v.unwrap_or(ABSENT);
            w.extend([v as u32, (v >> 32) as u32]);
        }
        debug_assert_eq!(w.len(), WORDS);
        w.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// Decodes and checks a blob from the device (magic, version, length).
    pub fn decode(blob: &[u8]) -> Result<Capset, CapsetError> {
        if blob.len() < 12 || blob.len() % 4 != 0 {
            return Err(CapsetError::Truncated(blob.len()));
        }
        let words: Vec<u32> = blob
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if words[0] != CAPSET_MAGIC {
            return Err(CapsetError::BadMagic(words[0]));
        }
        if words[1] != PROTOCOL_VERSION {
            return Err(CapsetError::Version(words[1]));
        }
        // The device's own word count must cover the first layout and fit the blob; words
        // past it are not the device's (a kernel buffer larger than the capset is zero-filled).
        let declared = words[2] as usize;
        if declared < MIN_WORDS || declared > words.len() {
            return Err(CapsetError::Truncated(blob.len()));
        }
        let words = &words[..declared];
        // `declared >= MIN_WORDS` was checked: every index of the first layout is present;
        // `get` keeps it panic-free regardless.
        let mut i = 3;
        let mut next = || {
            let v = words.get(i).copied().unwrap_or(0);
            i += 1;
            v
        };
        let c = Capset {
            protocol_version: words[1],
            subgroup_size: next(),
            threads: next(),
            max_compute_workgroup_invocations: next(),
            max_compute_workgroup_size: [next(), next(), next()],
            max_compute_workgroup_count: [next(), next(), next()],
            max_compute_shared_memory_size: next(),
            max_push_constants_size: next(),
            max_storage_buffer_range: next(),
            max_uniform_buffer_range: next(),
            min_storage_buffer_offset_alignment: next(),
            min_uniform_buffer_offset_alignment: next(),
            max_bound_descriptor_sets: next(),
            max_memory_allocation_size: u64::from(next()) | (u64::from(next()) << 32),
            device_memory_budget: u64::from(next()) | (u64::from(next()) << 32),
            max_stream_size: next(),
            client: ClientCaps::default(),
        };
        // Appended fields: present only if the device sent them.
        let u64_at = |at: usize| -> Option<u64> {
            let (lo, hi) = (words.get(at)?, words.get(at + 1)?);
            Some(u64::from(*lo) | (u64::from(*hi) << 32)).filter(|&v| v != ABSENT)
        };
        Ok(Capset {
            client: ClientCaps {
                max_objects: u64_at(MIN_WORDS),
                max_descriptors: u64_at(MIN_WORDS + 2),
                max_shader_module_words: u64_at(MIN_WORDS + 4),
            },
            ..c
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;

    fn sample() -> Capset {
        Capset {
            protocol_version: PROTOCOL_VERSION,
            subgroup_size: 8,
            threads: 2,
            max_compute_workgroup_invocations: 1024,
            max_compute_workgroup_size: [1024, 1024, 64],
            max_compute_workgroup_count: [65535; 3],
            max_compute_shared_memory_size: 32768,
            max_push_constants_size: 256,
            max_storage_buffer_range: u32::MAX,
            max_uniform_buffer_range: 65536,
            min_storage_buffer_offset_alignment: 16,
            min_uniform_buffer_offset_alignment: 16,
            max_bound_descriptor_sets: 8,
            max_memory_allocation_size: 1 << 32,
            device_memory_budget: 3 << 32,
            max_stream_size: 64 << 20,
            client: ClientCaps {
                max_objects: Some(1 << 20),
                max_descriptors: Some((1 << 22) + 5),
                max_shader_module_words: Some(1 << 22),
            },
        }
    }

    /// `blob` with its declared word count set to `words` and cut to that length.
    fn cut_to(mut blob: Vec<u8>, words: usize) -> Vec<u8> {
        blob.truncate(words * 4);
        blob[8..12].copy_from_slice(&(words as u32).to_le_bytes());
        blob
    }

    #[test]
    fn capset_round_trips() {
        let c = sample();
        let blob = c.encode();
        assert_eq!(blob.len(), Capset::ENCODED_SIZE);
        assert_eq!(Capset::decode(&blob), Ok(c));
    }

    #[test]
    fn capset_with_appended_words_is_accepted() {
        let c = sample();
        let mut blob = c.encode();
        blob.extend([7, 0, 0, 0]);
        blob[8..12].copy_from_slice(&((WORDS + 1) as u32).to_le_bytes());
        assert_eq!(Capset::decode(&blob), Ok(c));
    }

    #[test]
    fn capset_of_an_older_device_has_no_client_caps() {
        let c = sample();
        let old = cut_to(c.encode(), MIN_WORDS);
        assert_eq!(old.len(), Capset::MIN_ENCODED_SIZE);
        let decoded = Capset::decode(&old).unwrap();
        assert_eq!(decoded.client, ClientCaps::default());
        assert_eq!(
            decoded,
            Capset {
                client: ClientCaps::default(),
                ..c
            }
        );
        // A device that sent only some of the caps: the rest are absent.
        let partial = Capset::decode(&cut_to(c.encode(), MIN_WORDS + 3)).unwrap();
        assert_eq!(
            partial.client,
            ClientCaps {
                max_objects: Some(1 << 20),
                ..ClientCaps::default()
            }
        );
    }

    #[test]
    fn words_past_the_declared_count_are_not_read_as_caps() {
        // A kernel buffer larger than an older device's capset: the tail is not the device's.
        let mut blob = cut_to(sample().encode(), MIN_WORDS);
        blob.extend([0u8; 64]);
        assert_eq!(Capset::decode(&blob).unwrap().client, ClientCaps::default());
    }

    #[test]
    fn absent_and_zero_caps_round_trip_distinctly() {
        let mut c = sample();
        c.client = ClientCaps {
            max_objects: Some(0),
            max_descriptors: None,
            max_shader_module_words: Some(u64::from(u32::MAX) + 1),
        };
        assert_eq!(Capset::decode(&c.encode()), Ok(c));
    }

    #[test]
    fn every_create_and_destroy_command_is_an_object_effect() {
        use crate::stream::opcode as op;
        for o in [
            op::CreateBuffer,
            op::CreateDescriptorSet,
            op::CreateGraphicsPipeline,
        ] {
            assert_eq!(object_effect(o), ObjectEffect::Creates);
        }
        for o in [
            op::DestroyBuffer,
            op::DestroyDescriptorSet,
            op::DestroyPipeline,
        ] {
            assert_eq!(object_effect(o), ObjectEffect::Destroys);
        }
        // By name over the whole command set: a new Create*/Destroy* must be classified.
        for &(name, opcode) in crate::stream::COMMAND_NAMES {
            let want = if name.starts_with("Create") {
                ObjectEffect::Creates
            } else if name.starts_with("Destroy") {
                ObjectEffect::Destroys
            } else {
                ObjectEffect::None
            };
            assert_eq!(object_effect(opcode), want, "{name}");
        }
    }

    #[test]
    fn bad_capsets_are_refused() {
        let blob = sample().encode();
        assert_eq!(Capset::decode(&blob[..11]), Err(CapsetError::Truncated(11)));
        assert_eq!(
            Capset::decode(&blob[..blob.len() - 4]),
            Err(CapsetError::Truncated(blob.len() - 4))
        );
        let mut bad = blob.clone();
        bad[0] ^= 1;
        assert!(matches!(
            Capset::decode(&bad),
            Err(CapsetError::BadMagic(_))
        ));
        let mut bad = blob.clone();
        bad[4] = 9;
        assert_eq!(Capset::decode(&bad), Err(CapsetError::Version(9)));
        let mut bad = blob;
        bad[8..12].copy_from_slice(&1000u32.to_le_bytes());
        assert!(matches!(
            Capset::decode(&bad),
            Err(CapsetError::Truncated(_))
        ));
    }
}
