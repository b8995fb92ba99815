#!/bin/sh
# Guest test: softgpu-demo computes its Mandelbrot picture through the guest ICD (virtgpu
# transport) from the SPIR-V that scripts/build-guest precompiled, and reports the PNG's hash.
# scripts/vm-test runs the same demo with the same arguments on the host (same SPIR-V, same
# JIT) and fails unless the hashes agree; it reads the arguments from the SOFTGPU-DEMO line.
set -u
args="160 100 64 -0.6 0.0 3.2"
export VK_LOADER_LAYERS_DISABLE='~explicit~'
# The virtgpu transport only: no fallback to vhost-user can hide a failure here.
export SOFTGPU_TRANSPORT=virtgpu
export SOFTGPU_DEMO_SPIRV=/usr/share/softgpu/demo_mandelbrot.spv
rm -f /tmp/demo.png
# shellcheck disable=SC2086 # the arguments are words on purpose
if ! /usr/bin/softgpu-demo /tmp/demo.png $args; then
  echo "demo test: softgpu-demo failed"
  exit 1
fi
if [ ! -s /tmp/demo.png ]; then
  echo "demo test: softgpu-demo wrote no /tmp/demo.png"
  exit 1
fi
hash=$(sha256sum /tmp/demo.png | cut -d' ' -f1)
echo "SOFTGPU-MEASURE demo_png_sha256 $hash"
echo "SOFTGPU-DEMO $hash $args"
