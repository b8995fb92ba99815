#!/bin/sh
# Measurement, not a test of correctness (run by name: `scripts/vm-test --no-robustness
# vkbench`): softgpu-vkbench's compute workloads through the guest ICD on virtgpu. Its results
# are checked against CPU references by the benchmark itself (a wrong result fails the run).
# Compare with the host transport: `scripts/with-softgpu target/release/softgpu-vkbench
# --runs 3 --only saxpy,sgemm-naive,reduction,pipeline-latency` (vm-test prints the guest's
# table; SOFTGPU_VKBENCH_ARGS replaces the arguments).
set -u
export VK_LOADER_LAYERS_DISABLE='~explicit~'
export SOFTGPU_TRANSPORT=virtgpu
export SOFTGPU_RENDERER_SHADER_DIR=/usr/share/softgpu/shaders
export SOFTGPU_BENCH_SHADER_DIR=/usr/share/softgpu/bench-shaders
# shellcheck disable=SC2086 # the arguments are words on purpose
exec /usr/bin/softgpu-vkbench --runs 3 --only saxpy,sgemm-naive,reduction,pipeline-latency
