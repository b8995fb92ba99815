//! The first guest test: the virtio-gpu path to softgpu's device under stock QEMU 10.
//! Finds the render node, checks the features and our capset (24), that CONTEXT_INIT is
//! refused (QEMU never offers it), and that a buffer resource can be created, mapped, written,
//! transferred and waited on. Measures the round trip of TRANSFER_TO_HOST + WAIT.

use std::time::Instant;

use softgpu_guest_tests::report::{measure, median, Checks};
use softgpu_guest_tests::virtgpu::{
    CapsetHeader, RenderNode, VirtgpuError, PARAM_3D_FEATURES, PARAM_CAPSET_QUERY_FIX,
    PARAM_CONTEXT_INIT, SOFTGPU_CAPSET_ID,
};

const BUFFER_BYTES: u32 = 65536;
const ROUND_TRIPS: usize = 200;

fn expect_param(node: &RenderNode, param: u64, want: u64) -> Result<(), VirtgpuError> {
    let got = node.getparam(param)?;
    if got != want {
        return Err(VirtgpuError::Unexpected(format!(
            "param {param} is {got}, want {want}"
        )));
    }
    Ok(())
}

fn pattern(i: usize) -> u32 {
    (i as u32).wrapping_mul(0x9e37_79b9) ^ 0x5a5a_0000
}

fn main() {
    let mut checks = Checks::new();
    let Some(node) = checks.check("find_render_node", RenderNode::find_virtio_gpu()) else {
        std::process::exit(checks.finish());
    };
    println!("render node {}", node.path().display());

    checks.check(
        "param_3d_features",
        expect_param(&node, PARAM_3D_FEATURES, 1),
    );
    checks.check(
        "param_capset_query_fix",
        expect_param(&node, PARAM_CAPSET_QUERY_FIX, 1),
    );
    // Stock QEMU never offers VIRTIO_GPU_F_CONTEXT_INIT (FACTS: QEMU 10.0.2).
    checks.check(
        "param_context_init_absent",
        expect_param(&node, PARAM_CONTEXT_INIT, 0),
    );

    let mut caps = vec![0u8; 4096];
    let caps_read = node.get_caps(SOFTGPU_CAPSET_ID, 1, &mut caps);
    checks.check(
        "get_caps_24",
        caps_read.and_then(|()| CapsetHeader::parse(&caps)),
    );

    // Before any other call creates the implicit context: CONTEXT_INIT must be refused.
    let init = match node.context_init(SOFTGPU_CAPSET_ID) {
        Ok(()) => Err("CONTEXT_INIT succeeded; stock QEMU should not offer it".to_owned()),
        Err(e) if e.errno() == Some(libc::EINVAL) => Ok(()),
        Err(e) => Err(format!("want EINVAL, got {e}")),
    };
    checks.check("context_init_refused", init);

    let Some(res) = checks.check("resource_create_buffer", node.create_buffer(BUFFER_BYTES)) else {
        std::process::exit(checks.finish());
    };
    println!("buffer bo {} resource {}", res.bo_handle, res.res_handle);
    if let Some(mut map) = checks.check("map_buffer", node.map(&res)) {
        map.fill(pattern);
        checks.check(
            "transfer_and_wait",
            node.transfer_to_host(&res, 0, BUFFER_BYTES)
                .and_then(|()| node.wait(&res)),
        );
        let readback = match map.first_mismatch(pattern) {
            None => Ok(map.words()),
            Some((i, v)) => Err(format!("word {i} is {v:#x}, wrote {:#x}", pattern(i))),
        };
        checks.check("mapping_reads_back", readback);

        let mut samples = Vec::with_capacity(ROUND_TRIPS);
        let mut round_trips = Ok(());
        for _ in 0..ROUND_TRIPS {
            let t = Instant::now();
            if let Err(e) = node
                .transfer_to_host(&res, 0, 4)
                .and_then(|()| node.wait(&res))
            {
                round_trips = Err(e);
                break;
            }
            samples.push(t.elapsed().as_micros() as u64);
        }
        if checks
            .check("transfer_wait_round_trips", round_trips)
            .is_some()
        {
            if let Some(m) = median(&mut samples) {
                measure("transfer_wait_median", m, "us");
            }
        }
    } else {
        checks.skip("transfer_and_wait", "map_buffer");
        checks.skip("mapping_reads_back", "map_buffer");
    }
    checks.check("gem_close", node.close(res));
    std::process::exit(checks.finish());
}
