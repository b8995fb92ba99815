#!/bin/sh
# Guest test: every graphics scene of softgpu-scene (tests/src/scenes) that issue 6 added renders
# through the guest ICD (virtgpu transport) and passes its own checks (fill convention, depth,
# blending, stencil, clipping, ...). The texture scenes of issue 7 run as their own test
# (texture-scenes.sh), so that each stays within the guest's per-test time limit under TCG.
# The host's tests compare the same scenes with lavapipe.
set -u
export VK_LOADER_LAYERS_DISABLE='~explicit~'
export SOFTGPU_TRANSPORT=virtgpu
export SOFTGPU_E2E_SHADER_DIR=/usr/share/softgpu/shaders
TEXTURE_SCENES='^(texture-|texel-|storage-image|input-attachments|blit-|cube-)'
all=$(/usr/bin/softgpu-scene --list) || { echo "scenes test: --list failed"; exit 1; }
if [ "${1:-}" = textures ]; then
  scenes=$(echo "$all" | grep -E "$TEXTURE_SCENES")
else
  scenes=$(echo "$all" | grep -v -E "$TEXTURE_SCENES")
fi
[ -n "$scenes" ] || { echo "scenes test: no scenes selected"; exit 1; }
failed=0
for s in $scenes; do
  rm -rf "/tmp/scene-$s"
  if /usr/bin/softgpu-scene "$s" "/tmp/scene-$s" >"/tmp/scene-$s.log" 2>&1; then
    echo "scene $s: ok"
  else
    echo "scene $s: FAILED"
    tail -n 5 "/tmp/scene-$s.log"
    failed=$((failed + 1))
  fi
done
[ "$failed" -eq 0 ]
