//! vhost-user bring-up, in the order QEMU 10 uses for `vhost-user-gpu-pci`: owner, features,
//! protocol features, config, then memory table and each vring (vhost-user spec,
//! "Starting and stopping rings").

use std::os::fd::AsRawFd;

use vhost::vhost_user::message::{
    VhostUserConfigFlags, VhostUserHeaderFlag, VhostUserProtocolFeatures,
};
use vhost::vhost_user::{Frontend, VhostUserFrontend};
use vhost::{VhostBackend, VhostUserMemoryRegionInfo, VringConfigData};
use virtio_bindings::virtio_config::VIRTIO_F_VERSION_1;
use virtio_bindings::virtio_gpu::{
    virtio_gpu_config, VIRTIO_GPU_F_CONTEXT_INIT, VIRTIO_GPU_F_EDID, VIRTIO_GPU_F_RESOURCE_BLOB,
    VIRTIO_GPU_F_RESOURCE_UUID, VIRTIO_GPU_F_VIRGL,
};
use vmm_sys_util::eventfd::EventFd;

use super::guest_ram::{GuestRam, GUEST_RAM_BASE};
use super::virtqueue::QueueLayout;
use crate::transport::TransportError;

/// `VHOST_USER_F_PROTOCOL_FEATURES` (vhost-user spec): a vhost-user bit, not a virtio one.
const VHOST_USER_F_PROTOCOL_FEATURES: u64 = 1 << 30;

/// What the host transport asks the device for. Default: exactly what stock QEMU 10 lets a
/// guest negotiate (FACTS: VIRGL, EDID, RESOURCE_UUID).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeatureOptions {
    pub context_init: bool,
    pub blob: bool,
}

impl FeatureOptions {
    /// Parses `SOFTGPU_VHOST_FEATURES`: a comma-separated list of `context-init`, `blob`.
    pub fn parse(list: &str) -> Result<FeatureOptions, TransportError> {
        let mut o = FeatureOptions::default();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "context-init" => o.context_init = true,
                "blob" => o.blob = true,
                other => {
                    return Err(TransportError::Unavailable(format!(
                    "SOFTGPU_VHOST_FEATURES: unknown feature {other:?} (known: context-init, blob)"
                )))
                }
            }
        }
        Ok(o)
    }

    /// The virtio feature bits we want, before intersecting with the device's offer.
    pub fn wanted(&self) -> u64 {
        let mut f = bit(VIRTIO_F_VERSION_1)
            | bit(VIRTIO_GPU_F_VIRGL)
            | bit(VIRTIO_GPU_F_EDID)
            | bit(VIRTIO_GPU_F_RESOURCE_UUID)
            | VHOST_USER_F_PROTOCOL_FEATURES;
        if self.context_init {
            f |= bit(VIRTIO_GPU_F_CONTEXT_INIT);
        }
        if self.blob {
            f |= bit(VIRTIO_GPU_F_RESOURCE_BLOB);
        }
        f
    }
}

pub fn bit(n: u32) -> u64 {
    1u64 << n
}

/// What bring-up agreed with the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    pub features: u64,
    pub protocol_features: u64,
    pub num_capsets: u32,
}

impl Negotiated {
    pub fn has(&self, feature: u32) -> bool {
        self.features & bit(feature) != 0
    }
}

/// One vring: its index, layout in guest RAM and eventfds.
pub struct VringSetup<'a> {
    pub index: usize,
    pub layout: QueueLayout,
    pub kick: &'a EventFd,
    pub call: &'a EventFd,
}

fn vhost_err(step: &str) -> impl Fn(vhost::Error) -> TransportError + '_ {
    move |e| TransportError::Unavailable(format!("vhost-user {step} failed: {e}"))
}

/// Negotiates features and configuration; nothing is mapped or started yet.
pub fn negotiate(
    frontend: &mut Frontend,
    options: FeatureOptions,
) -> Result<Negotiated, TransportError> {
    frontend.set_owner().map_err(vhost_err("SET_OWNER"))?;
    let offered = frontend.get_features().map_err(vhost_err("GET_FEATURES"))?;
    let required =
        bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_GPU_F_VIRGL) | VHOST_USER_F_PROTOCOL_FEATURES;
    if offered & required != required {
        return Err(TransportError::Unavailable(format!(
            "device features {offered:#x} lack VERSION_1, VIRGL or PROTOCOL_FEATURES ({required:#x})"
        )));
    }
    let wanted = options.wanted();
    let missing =
        wanted & !offered & (bit(VIRTIO_GPU_F_CONTEXT_INIT) | bit(VIRTIO_GPU_F_RESOURCE_BLOB));
    if missing != 0 {
        return Err(TransportError::Unavailable(format!(
            "SOFTGPU_VHOST_FEATURES asks for features {missing:#x} the device does not offer"
        )));
    }
    let features = wanted & offered;

    let offered_proto = frontend
        .get_protocol_features()
        .map_err(vhost_err("GET_PROTOCOL_FEATURES"))?;
    if !offered_proto.contains(VhostUserProtocolFeatures::CONFIG) {
        return Err(TransportError::Unavailable(
            "device does not offer the CONFIG protocol feature (needed for num_capsets)".into(),
        ));
    }
    // What QEMU would use with this device: config space, multiple queues, acked requests.
    let proto = offered_proto
        & (VhostUserProtocolFeatures::CONFIG
            | VhostUserProtocolFeatures::MQ
            | VhostUserProtocolFeatures::REPLY_ACK);
    frontend
        .set_protocol_features(proto)
        .map_err(vhost_err("SET_PROTOCOL_FEATURES"))?;

    let size = std::mem::size_of::<virtio_gpu_config>() as u32;
    let (_, config) = frontend
        .get_config(
            0,
            size,
            VhostUserConfigFlags::empty(),
            &vec![0u8; size as usize],
        )
        .map_err(vhost_err("GET_CONFIG"))?;
    let num_capsets = config
        .get(12..16)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| {
            TransportError::Unavailable("device config shorter than virtio_gpu_config".into())
        })?;

    frontend
        .set_features(features)
        .map_err(vhost_err("SET_FEATURES"))?;
    if proto.contains(VhostUserProtocolFeatures::REPLY_ACK) {
        // From here on only "set" requests follow: have each one acknowledged, so a refused
        // memory table or vring shows up here rather than as a silent dead queue.
        frontend.set_hdr_flags(VhostUserHeaderFlag::NEED_REPLY);
    }
    Ok(Negotiated {
        features,
        protocol_features: proto.bits(),
        num_capsets,
    })
}

/// Sends the memory table (guest RAM as one region) and starts each vring.
pub fn start(
    frontend: &mut Frontend,
    ram: &GuestRam,
    vrings: &[VringSetup<'_>],
) -> Result<(), TransportError> {
    let host_base = ram.host_base() as u64;
    // `..Default::default()` fills the fields the `xen` feature adds if cargo unifies it on.
    #[allow(clippy::needless_update)]
    let region = VhostUserMemoryRegionInfo {
        guest_phys_addr: GUEST_RAM_BASE,
        memory_size: ram.size(),
        userspace_addr: host_base,
        mmap_offset: 0,
        mmap_handle: ram.file().as_raw_fd(),
        ..Default::default()
    };
    frontend
        .set_mem_table(&[region])
        .map_err(vhost_err("SET_MEM_TABLE"))?;
    // Ring addresses are in the frontend's address space (as QEMU's are), translated by the
    // backend through the region's userspace_addr.
    let va = |gpa: u64| gpa - GUEST_RAM_BASE + host_base;
    for v in vrings {
        let l = v.layout;
        frontend
            .set_vring_num(v.index, l.size)
            .map_err(vhost_err("SET_VRING_NUM"))?;
        frontend
            .set_vring_base(v.index, 0)
            .map_err(vhost_err("SET_VRING_BASE"))?;
        let config = VringConfigData {
            queue_max_size: l.size,
            queue_size: l.size,
            flags: 0,
            desc_table_addr: va(l.desc_table),
            used_ring_addr: va(l.used_ring),
            avail_ring_addr: va(l.avail_ring),
            log_addr: None,
        };
        frontend
            .set_vring_addr(v.index, &config)
            .map_err(vhost_err("SET_VRING_ADDR"))?;
        frontend
            .set_vring_call(v.index, v.call)
            .map_err(vhost_err("SET_VRING_CALL"))?;
        frontend
            .set_vring_kick(v.index, v.kick)
            .map_err(vhost_err("SET_VRING_KICK"))?;
        frontend
            .set_vring_enable(v.index, true)
            .map_err(vhost_err("SET_VRING_ENABLE"))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn default_features_are_stock_qemu_ones() {
        let f = FeatureOptions::parse("").unwrap().wanted();
        assert_ne!(f & bit(VIRTIO_GPU_F_VIRGL), 0);
        assert_ne!(f & bit(VIRTIO_GPU_F_EDID), 0);
        assert_ne!(f & bit(VIRTIO_GPU_F_RESOURCE_UUID), 0);
        assert_eq!(f & bit(VIRTIO_GPU_F_CONTEXT_INIT), 0);
        assert_eq!(f & bit(VIRTIO_GPU_F_RESOURCE_BLOB), 0);
    }

    #[test]
    fn option_list_turns_on_context_init_and_blob() {
        let o = FeatureOptions::parse("context-init, blob").unwrap();
        assert!(o.context_init && o.blob);
        let f = o.wanted();
        assert_ne!(f & bit(VIRTIO_GPU_F_CONTEXT_INIT), 0);
        assert_ne!(f & bit(VIRTIO_GPU_F_RESOURCE_BLOB), 0);
        assert!(matches!(
            FeatureOptions::parse("blob,hostmem"),
            Err(TransportError::Unavailable(_))
        ));
    }
}
