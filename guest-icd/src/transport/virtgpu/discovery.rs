//! Finding our device: the first `/dev/dri/renderD*` node whose driver is virtio-gpu, that
//! has 3D (VIRGL) enabled and lists softgpu's capset (id 24) with a version we speak.
//!
//! The scan ([`select_render_node`]) is separate from the probe of one node
//! ([`probe_virtgpu_node`]) so the selection logic is tested without a kernel.

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::render_node::{RenderNode, VIRTIO_GPU_DRIVER_NAME};
use super::uapi::*;

/// Where render nodes live.
pub const DRI_DIR: &str = "/dev/dri";
/// What we ask `VIRTGPU_GET_CAPS` for: room for a newer device's longer blob; the kernel
/// copies at most the device's size and the words past it stay zero ([`protocol::Capset::decode`]
/// reads the device's own word count).
const CAPSET_BUFFER_SIZE: usize = 4096;
/// Version of our capset we ask the kernel for (the device's `max_version` must reach it).
const CAPSET_VERSION: u32 = 1;

/// Why a node was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRejection {
    /// Some other DRM driver (a host GPU, vgem, ...): not ours to judge.
    OtherDriver(String),
    /// Could not open it or ask its driver's name (permissions, not a DRM node).
    Unreadable(String),
    /// A virtio-gpu node that cannot carry softgpu (no VIRGL, no capset 24, ...).
    Unusable(String),
}

impl fmt::Display for NodeRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRejection::OtherDriver(d) => {
                write!(f, "driver {d:?}, not {VIRTIO_GPU_DRIVER_NAME}")
            }
            NodeRejection::Unusable(why) | NodeRejection::Unreadable(why) => write!(f, "{why}"),
        }
    }
}

/// No render node was taken.
#[derive(Debug, Error)]
pub enum DiscoveryError {
    #[error("cannot list {dir}: {source}")]
    ListDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("no render nodes in {0}")]
    NoRenderNodes(PathBuf),
    #[error("no usable virtio-gpu render node: {}", describe(.0))]
    AllRejected(Vec<(PathBuf, NodeRejection)>),
}

impl DiscoveryError {
    /// True if a virtio-gpu node exists but none can carry softgpu (as opposed to: this is not
    /// a virtio-gpu guest at all).
    pub fn found_virtio_gpu(&self) -> bool {
        match self {
            DiscoveryError::AllRejected(list) => list
                .iter()
                .any(|(_, r)| matches!(r, NodeRejection::Unusable(_))),
            _ => false,
        }
    }
}

fn describe(list: &[(PathBuf, NodeRejection)]) -> String {
    list.iter()
        .map(|(p, r)| format!("{}: {r}", p.display()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `renderD<n>` → n.
fn render_minor(name: &str) -> Option<u32> {
    name.strip_prefix("renderD")
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))?
        .parse()
        .ok()
}

/// Probes the render nodes in `dir` in minor order and returns the first that `probe` takes.
pub fn select_render_node<T>(
    dir: &Path,
    mut probe: impl FnMut(&Path) -> Result<T, NodeRejection>,
) -> Result<(PathBuf, T), DiscoveryError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DiscoveryError::ListDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut nodes: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(render_minor)
                .map(|m| (m, e.path()))
        })
        .collect();
    nodes.sort();
    if nodes.is_empty() {
        return Err(DiscoveryError::NoRenderNodes(dir.to_path_buf()));
    }
    let mut rejected = Vec::new();
    for (_, path) in nodes {
        match probe(&path) {
            Ok(t) => return Ok((path, t)),
            Err(r) => rejected.push((path, r)),
        }
    }
    Err(DiscoveryError::AllRejected(rejected))
}

/// What the kernel offers on a node we took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeFeatures {
    /// `VIRTGPU_PARAM_CONTEXT_INIT`: we can create our context with capset 24 and a ring.
    pub context_init: bool,
    /// `VIRTGPU_PARAM_RESOURCE_BLOB`: guest blobs instead of 3D buffer resources.
    pub resource_blob: bool,
}

/// An open virtio-gpu node with softgpu's capset.
#[derive(Debug)]
pub struct VirtgpuNode {
    pub node: RenderNode,
    pub capset: protocol::Capset,
    pub features: NodeFeatures,
}

/// Opens and checks one node (see the module doc).
pub fn probe_virtgpu_node(path: &Path) -> Result<VirtgpuNode, NodeRejection> {
    let unusable = |m: String| NodeRejection::Unusable(m);
    let node =
        RenderNode::open(path).map_err(|e| NodeRejection::Unreadable(format!("open: {e}")))?;
    let driver = node
        .driver_name()
        .map_err(|e| NodeRejection::Unreadable(e.to_string()))?;
    if driver != VIRTIO_GPU_DRIVER_NAME {
        return Err(NodeRejection::OtherDriver(driver));
    }
    let param = |p| node.get_param(p);
    if param(VIRTGPU_PARAM_3D_FEATURES).map_err(|e| unusable(e.to_string()))? != 1 {
        return Err(unusable(
            "virtio-gpu without 3D (VIRGL not negotiated: the device is not softgpu's, or QEMU was \
             started without a 3D-capable backend); EXECBUFFER would fail"
                .into(),
        ));
    }
    if param(VIRTGPU_PARAM_CAPSET_QUERY_FIX).unwrap_or(0) != 1 {
        return Err(unusable(
            "kernel lacks VIRTGPU_PARAM_CAPSET_QUERY_FIX".into(),
        ));
    }
    // Older kernels lack the mask parameter; GET_CAPS below decides then.
    if let Ok(mask) = param(VIRTGPU_PARAM_SUPPORTED_CAPSET_IDS) {
        let mask = mask as u32;
        if mask & (1 << protocol::SOFTGPU_CAPSET_VK) == 0 {
            let ids: Vec<u32> = (0..32).filter(|i| mask & (1 << i) != 0).collect();
            return Err(unusable(format!(
                "the device offers capsets {ids:?} but not softgpu's ({})",
                protocol::SOFTGPU_CAPSET_VK
            )));
        }
    }
    let mut blob = vec![0u8; CAPSET_BUFFER_SIZE];
    node.get_caps(protocol::SOFTGPU_CAPSET_VK, CAPSET_VERSION, &mut blob)
        .map_err(|e| {
            unusable(format!(
                "softgpu capset {} version {CAPSET_VERSION}: {e}",
                protocol::SOFTGPU_CAPSET_VK
            ))
        })?;
    let capset = protocol::Capset::decode(&blob)
        .map_err(|e| unusable(format!("softgpu capset refused: {e}")))?;
    let features = NodeFeatures {
        context_init: param(VIRTGPU_PARAM_CONTEXT_INIT).unwrap_or(0) == 1,
        resource_blob: param(VIRTGPU_PARAM_RESOURCE_BLOB).unwrap_or(0) == 1,
    };
    Ok(VirtgpuNode {
        node,
        capset,
        features,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;

    /// A scratch directory standing in for /dev/dri, removed on drop.
    struct FakeDri(PathBuf);

    impl FakeDri {
        fn with(names: &[&str]) -> FakeDri {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("softgpu-fake-dri-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            for name in names {
                std::fs::write(dir.join(name), b"").unwrap();
            }
            FakeDri(dir)
        }
    }

    impl Drop for FakeDri {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn name(p: &Path) -> String {
        p.file_name().unwrap().to_string_lossy().into_owned()
    }

    #[test]
    fn only_render_nodes_are_probed_in_minor_order() {
        let dri = FakeDri::with(&[
            "card0",
            "renderD130",
            "renderD128",
            "renderD",
            "renderDx1",
            "renderD129",
        ]);
        let mut seen = Vec::new();
        let r = select_render_node(&dri.0, |p| -> Result<(), _> {
            seen.push(name(p));
            Err(NodeRejection::OtherDriver("i915".into()))
        });
        assert_eq!(seen, ["renderD128", "renderD129", "renderD130"]);
        let err = r.unwrap_err();
        assert!(!err.found_virtio_gpu());
        assert!(
            err.to_string().contains("renderD129: driver \"i915\""),
            "{err}"
        );
    }

    #[test]
    fn first_accepted_node_wins_and_later_ones_are_not_opened() {
        let dri = FakeDri::with(&["renderD128", "renderD129", "renderD130"]);
        let mut seen = Vec::new();
        let (path, tag) = select_render_node(&dri.0, |p| {
            seen.push(name(p));
            match name(p).as_str() {
                "renderD128" => Err(NodeRejection::OtherDriver("vgem".into())),
                other => Ok(other.to_string()),
            }
        })
        .unwrap();
        assert_eq!(
            (name(&path), tag.as_str()),
            ("renderD129".into(), "renderD129")
        );
        assert_eq!(seen, ["renderD128", "renderD129"]);
    }

    #[test]
    fn virtio_gpu_without_our_capset_is_reported_as_such() {
        let dri = FakeDri::with(&["renderD128"]);
        let err = select_render_node(&dri.0, |_| -> Result<(), _> {
            Err(NodeRejection::Unusable(
                "the device offers capsets [1, 2] but not softgpu's (24)".into(),
            ))
        })
        .unwrap_err();
        assert!(err.found_virtio_gpu());
        assert!(err.to_string().contains("not softgpu's (24)"), "{err}");
    }

    #[test]
    fn empty_or_missing_dri_dir_is_no_device() {
        let dri = FakeDri::with(&["card0"]);
        let never = |_: &Path| -> Result<(), NodeRejection> { panic!("nothing to probe") };
        assert!(matches!(
            select_render_node(&dri.0, never),
            Err(DiscoveryError::NoRenderNodes(_))
        ));
        let missing = dri.0.join("absent");
        assert!(matches!(
            select_render_node(&missing, never),
            Err(DiscoveryError::ListDir { .. })
        ));
    }

    #[test]
    fn a_file_that_is_no_drm_node_is_rejected_by_the_real_probe() {
        let dri = FakeDri::with(&["renderD128"]);
        let err = select_render_node(&dri.0, probe_virtgpu_node).unwrap_err();
        // An ioctl on a regular file fails (ENOTTY): the node is skipped with a reason.
        assert!(err.to_string().contains("DRM_IOCTL_VERSION"), "{err}");
        assert!(!err.found_virtio_gpu());
    }
}
