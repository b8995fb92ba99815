#!/bin/sh
# Guest test: the Vulkan loader finds softgpu through its manifest in
# /usr/share/vulkan/icd.d (the only ICD in the guest) and `vulkaninfo --summary` succeeds and
# lists exactly one device, ours, as a CPU device. Prints vulkaninfo's output on failure.
# The guest has no layers; explicit ones stay off as on the host (FACTS: Debian's validation
# layer rejects newer SPIR-V). HOME and XDG_RUNTIME_DIR come from /init.
export VK_LOADER_LAYERS_DISABLE='~explicit~'
# The virtgpu transport only: no fallback to vhost-user can hide a failure here.
export SOFTGPU_TRANSPORT=virtgpu
out=$(vulkaninfo --summary 2>&1)
rc=$?
why=""
if [ "$rc" -ne 0 ]; then
  why="vulkaninfo --summary exited with status $rc"
elif ! echo "$out" | grep -q 'deviceName *= *.*softgpu'; then
  why="no device named softgpu"
elif ! echo "$out" | grep -q 'deviceType *= *PHYSICAL_DEVICE_TYPE_CPU'; then
  why="the device is not PHYSICAL_DEVICE_TYPE_CPU"
elif echo "$out" | grep -q '^GPU1'; then
  why="more than one device (only softgpu's ICD should be present)"
fi
if [ -n "$why" ]; then
  echo "vulkaninfo test: $why; the output:"
  echo "$out"
  exit 1
fi
echo "$out" | grep -E 'deviceName|deviceType|apiVersion|driverName' | sed 's/^/vulkaninfo: /'
