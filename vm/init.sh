#!/bin/busybox sh
# /init of the softgpu test guest (scripts/build-guest puts it in the initramfs).
# Mounts the pseudo file systems, loads the virtio-gpu modules in the order build-guest wrote
# to /etc/softgpu/modules, runs the test programs in /tests (all of them, or those named by
# `softgpu.tests=a,b` on the kernel command line, which may also name the long-running ones
# in /tests-long), prints `SOFTGPU-TEST <name> PASS|FAIL` for
# each and `SOFTGPU-DONE` at the end, then powers off. scripts/vm-test reads these lines.
# `softgpu.probe=1` only prints SOFTGPU-BOOTED and powers off (the KVM probe).
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/sbin:/usr/sbin
# The Vulkan loader reads HOME and XDG_* for its search paths (and warns without them); they
# point at empty directories, so only /usr/share/vulkan/icd.d/softgpu_icd.json is found.
export HOME=/root XDG_RUNTIME_DIR=/run XDG_CONFIG_HOME=/root/.config XDG_DATA_HOME=/root/.local/share
mkdir -p /proc /sys /dev /tmp /run /root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tmpfs tmpfs /tmp
echo SOFTGPU-BOOTED

tests=""
probe=""
per_test_timeout=120
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    softgpu.tests=*) tests=$(echo "${arg#softgpu.tests=}" | tr , ' ') ;;
    softgpu.probe=1) probe=1 ;;
    softgpu.timeout=*) per_test_timeout=${arg#softgpu.timeout=} ;;
  esac
done
if [ -n "$probe" ]; then
  poweroff -f
fi

for m in $(cat /etc/softgpu/modules); do
  if ! insmod "/lib/modules/$m.ko"; then
    echo "SOFTGPU-ERROR insmod $m failed"
  fi
done
# The driver probes asynchronously; wait (bounded) for its render node.
i=0
while [ ! -e /dev/dri/renderD128 ] && [ "$i" -lt 50 ]; do
  sleep 0.1
  i=$((i + 1))
done

if [ -z "$tests" ]; then
  for t in /tests/*; do
    [ -x "$t" ] && tests="$tests ${t#/tests/}"
  done
fi
for t in $tests; do
  echo "SOFTGPU-START $t"
  # Long-running programs (/tests-long) run only when named.
  prog=/tests/$t
  [ -x "$prog" ] || prog=/tests-long/$t
  if [ ! -x "$prog" ]; then
    echo "no test program /tests/$t or /tests-long/$t"
    echo "SOFTGPU-TEST $t FAIL"
    continue
  fi
  if timeout "$per_test_timeout" "$prog"; then
    echo "SOFTGPU-TEST $t PASS"
  else
    echo "SOFTGPU-TEST $t FAIL (exit $?)"
  fi
done
echo SOFTGPU-DONE
poweroff -f
