#!/bin/sh
# Measurement, not a test of correctness (run by name: `scripts/vm-test --no-robustness
# demo-bench`): the demo's Mandelbrot at 1280×800, 1000 iterations, through the guest ICD,
# printing its stage timings. Compare with the same command on the host:
#   SOFTGPU_DEMO_SPIRV=out/guest/demo_mandelbrot.spv scripts/with-softgpu \
#     target/release/softgpu-demo /tmp/d.png 1280 800 1000
set -u
export VK_LOADER_LAYERS_DISABLE='~explicit~'
export SOFTGPU_TRANSPORT=virtgpu
export SOFTGPU_DEMO_SPIRV=/usr/share/softgpu/demo_mandelbrot.spv
/usr/bin/softgpu-demo /tmp/bench.png 1280 800 1000
