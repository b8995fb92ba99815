#!/bin/sh
# Measurement, not a test of correctness (run by name: `scripts/vm-test --no-robustness
# vkbench`): softgpu-vkbench's compute workloads through the guest ICD on virtgpu. Its results
# are checked against CPU references by the benchmark itself (a wrong result fails the run).
# Run as `SOFTGPU_PROFILE=release SOFTGPU_VM_MEM=2G SOFTGPU_VM_TEST_TIMEOUT=550 scripts/vm-test
# --no-robustness vkbench` (64M-element reduction: 2 GiB of guest RAM). Compare with the host
# transport: `scripts/with-softgpu target/release/softgpu-vkbench
# --runs 3 --only saxpy,sgemm-naive,reduction,pipeline-latency`. The guest's table is in the
# run's serial.log (vm-test names its log directory).
set -u
export VK_LOADER_LAYERS_DISABLE='~explicit~'
export SOFTGPU_TRANSPORT=virtgpu
export SOFTGPU_RENDERER_SHADER_DIR=/usr/share/softgpu/shaders
export SOFTGPU_BENCH_SHADER_DIR=/usr/share/softgpu/bench-shaders
exec /usr/bin/softgpu-vkbench --runs 3 --only saxpy,sgemm-naive,reduction,pipeline-latency
