#!/bin/sh
# Guest test: the spinning-cubes demo renders a few frames through the guest ICD (virtgpu
# transport) and reports the last frame's PNG hash. scripts/vm-test renders the same frames on
# the host (same GLSL, same glslangValidator, same device and JIT) and fails unless the hashes
# agree; it reads the frame count from the SOFTGPU-SCENE-DEMO line.
set -u
frames=8
export VK_LOADER_LAYERS_DISABLE='~explicit~'
export SOFTGPU_TRANSPORT=virtgpu
export SOFTGPU_E2E_SHADER_DIR=/usr/share/softgpu/shaders
rm -f /tmp/frame.png
if ! /usr/bin/softgpu-scene-demo /tmp/frame.png "$frames"; then
  echo "scene-demo test: softgpu-scene-demo failed"
  exit 1
fi
if [ ! -s /tmp/frame.png ]; then
  echo "scene-demo test: no /tmp/frame.png"
  exit 1
fi
hash=$(sha256sum /tmp/frame.png | cut -d' ' -f1)
echo "SOFTGPU-SCENE-DEMO $hash $frames"
