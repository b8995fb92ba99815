//! Test programs for the softgpu guest: the virtio-gpu DRM uapi as the guest kernel offers it
//! ([`virtgpu`]) and the line protocol the guest's `/init` and `scripts/vm-test` read
//! ([`report`]), and the hostile command streams of `execbuffer-garbage` ([`garbage`]).

pub mod garbage;
pub mod report;
mod uapi;
pub mod virtgpu;
