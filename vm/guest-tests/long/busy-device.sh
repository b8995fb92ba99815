#!/bin/sh
# Long-running guest program for scripts/vm-test's QEMU-kill check: keeps the device busy
# for up to `softgpu.long=SECONDS` (default 60) seconds — softgpu-demo on a larger picture
# (compute submissions through the ICD), then TRANSFER + WAIT round trips
# (virtgpu-basics), over and over. It prints SOFTGPU-LONG-RUNNING before the first round;
# vm-test kills QEMU a few seconds after that line, so the device loses its frontend with
# submissions in flight. Run to the end (nobody killed it), it passes if every round did.
set -u
export VK_LOADER_LAYERS_DISABLE='~explicit~'
export SOFTGPU_TRANSPORT=virtgpu
export SOFTGPU_DEMO_SPIRV=/usr/share/softgpu/demo_mandelbrot.spv
seconds=60
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    softgpu.long=*) seconds=${arg#softgpu.long=} ;;
  esac
done
end=$(($(date +%s) + seconds))
echo SOFTGPU-LONG-RUNNING
rounds=0
while [ "$(date +%s)" -lt "$end" ]; do
  if ! /usr/bin/softgpu-demo /tmp/busy.png 960 600 1024 -0.6 0.0 3.2 >/tmp/busy.log 2>&1; then
    echo "busy-device: softgpu-demo failed in round $rounds:"
    cat /tmp/busy.log
    exit 1
  fi
  if ! /tests/virtgpu-basics >/tmp/busy.log 2>&1; then
    echo "busy-device: virtgpu-basics failed in round $rounds:"
    cat /tmp/busy.log
    exit 1
  fi
  rounds=$((rounds + 1))
  echo "busy-device: round $rounds done"
done
echo "busy-device: $rounds rounds in $seconds s"
