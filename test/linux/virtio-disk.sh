#!/bin/sh
# Linux with its root file system on a virtio-blk disk, a second disk given read-only and a third
# (1 MiB of 0xAA) for discard and write-zeroes; then
# the same root again, killed with SIGKILL once the guest has flushed a file. Works on copies of
# the images (in a temporary directory) and prints, for the test to check:
#   the guest's console; "host: …" lines with what debugfs finds in the root image afterwards,
#   whether the read-only image is byte for byte what it was, and whether the scratch image is
#   what the guest's zeroing and discarding should leave, with its allocated blocks before and after.
#   sh test/linux/virtio-disk.sh ROOT_IMAGE KILL_IMAGE DATA_IMAGE INITRD MICROVMM...
# ROOT_IMAGE's /init writes /hello and syncs, looks at the read-only disk, zeroes bytes 0-65535 of
# the scratch disk and discards 131072-393215, powers off;
# KILL_IMAGE's /init writes /killed, syncs, prints SYNCED and waits to be killed.
root=$1 kill=$2 data=$3 initrd=$4
shift 4
dir=$(mktemp -d)
cp "$root" "$dir/root.img"; cp "$kill" "$dir/kill.img"; cp "$data" "$dir/data.img"
before=$(sha256sum < "$dir/data.img")
aa() { head -c "$1" /dev/zero | tr '\000' '\252'; }
aa 1048576 > "$dir/scratch.img"
{ head -c 65536 /dev/zero; aa 65536; head -c 262144 /dev/zero; aa 655360; } > "$dir/scratch.expected"
blocks=$(stat -c %b "$dir/scratch.img")
"$@" --initrd "$initrd" --disk "$dir/root.img" --disk "$dir/data.img,ro" --disk "$dir/scratch.img" 2>&1
st=$?
echo "host: status $st"
echo "host: hello: $(debugfs -R 'cat /hello' "$dir/root.img" 2>/dev/null)"
[ "$before" = "$(sha256sum < "$dir/data.img")" ] && echo "host: read-only image unchanged" || echo "host: read-only image CHANGED"
cmp -s "$dir/scratch.img" "$dir/scratch.expected" && echo "host: scratch image as expected" || echo "host: scratch image differs: $(cmp "$dir/scratch.img" "$dir/scratch.expected" 2>&1)"
echo "host: scratch blocks $blocks -> $(stat -c %b "$dir/scratch.img")"

# The guest flushes, then waits; SIGKILL as soon as it says so (at most 90 s of waiting).
"$@" --initrd "$initrd" --disk "$dir/kill.img" > "$dir/out" 2>&1 &
pid=$!
i=0
while ! grep -q '^SYNCED' "$dir/out" && [ $i -lt 450 ] && kill -0 $pid 2>/dev/null; do sleep 0.2; i=$((i+1)); done
kill -9 $pid
wait $pid
echo "host: killed status $?"
grep -E '^(MICROVMM|SYNCED)' "$dir/out"
echo "host: killed: $(debugfs -R 'cat /killed' "$dir/kill.img" 2>/dev/null)"
rm -rf "$dir"
exit $st
