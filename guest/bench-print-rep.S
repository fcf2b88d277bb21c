/* Prints the same 100 000 bytes as bench-print.S, a line per `rep outsb` (100 bytes per
 * instruction) instead of one `outb` per byte. Real mode, loaded at 0. */
#include "include/line100.inc"
  .code16
  .globl _start
_start:
  mov $1000, %bx
  mov $0x42, %dx
1:
  mov $line, %si
  mov $100, %cx
  rep outsb
  dec %bx
  jnz 1b
  hlt
line:
  LINE100
