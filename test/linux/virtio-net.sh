#!/bin/sh
# Linux on a virtio-net card over a TAP device, all inside a network namespace made here (the TAP,
# its host address, microvmm), so no packet can leave it. The guest (its initramfs's script) sets
# up eth0, pings the host end, sends SIZE random bytes to port 5001 and fetches SIZE from 5002;
# each side prints the SHA-256 of what it sent and got, for the test to compare (the guest's side:
# netInitramfs in fixtures.ts). Needs root. The device thread (named microvmm-io) is let onto
# every CPU even when microvmm was started under taskset.
#   sh test/linux/virtio-net.sh BUSYBOX SIZE INITRD MICROVMM...
busybox=$1 size=$2 initrd=$3
shift 3
ns=microvmm-net-$$
dir=$(mktemp -d)
ip netns add $ns || exit 1
trap 'ip netns del $ns; rm -rf "$dir"' EXIT
in_ns() { ip netns exec $ns "$@"; }
in_ns ip link set lo up
in_ns ip tuntap add tap0 mode tap
in_ns ip addr add 10.0.2.1/24 dev tap0
in_ns ip link set tap0 up
head -c "$size" /dev/urandom > "$dir/to-guest"
echo "host: sent $(sha256sum < "$dir/to-guest" | cut -d' ' -f1)"
# The receiving end's own stdin never ends (tail -f): nc would close the connection at its EOF.
in_ns sh -c "tail -f /dev/null | $busybox nc -l -p 5001 > '$dir/from-guest'" &
in_ns sh -c "$busybox nc -l -p 5002 < '$dir/to-guest'" &
in_ns "$@" --initrd "$initrd" --net tap=tap0,mac=52:54:00:00:00:02 > "$dir/out" 2>&1 &
pid=$!
# Under `taskset -c 1` (where a vCPU thread must stay on one CPU) the device thread would share
# that CPU with the vCPU: it is let onto every CPU, by its name, once it is there.
i=0
while [ $i -lt 300 ] && kill -0 $pid 2>/dev/null; do
  tid=$(grep -lx microvmm-io /proc/[0-9]*/task/*/comm 2>/dev/null | head -1 | cut -d/ -f5)
  [ -n "$tid" ] && { taskset -pc "0-$(($(nproc --all) - 1))" "$tid" > /dev/null; echo "host: device thread on every CPU"; break; }
  sleep 0.1; i=$((i+1))
done
wait $pid
st=$?
cat "$dir/out"
echo "host: status $st"
echo "host: got $(sha256sum < "$dir/from-guest" | cut -d' ' -f1) ($(wc -c < "$dir/from-guest") bytes)"
kill %1 %2 2>/dev/null
exit $st
