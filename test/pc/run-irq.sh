#!/bin/sh
# Runs the PC kernel that works by interrupts (guest/test-pc-irq.S) with a line typed, then prints
# what stdout holds after the drawn screen (the last screen as text, then the held debugcon
# output) and the screen dump, each dump line as "screen: …". Its status is microvmm's.
#   sh test/pc/run-irq.sh MICROVMM...
out=$(mktemp) screen=$(mktemp)
printf 'hi there\n' | "$@" --console vga --screen-dump "$screen" guest/build/test-pc-irq.elf > "$out"
st=$?
sed 's/.*\x1b\[?1049l//' "$out"
sed 's/^/screen: /' "$screen"
rm -f "$out" "$screen"
exit $st
