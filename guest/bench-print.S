/* Prints 100 000 bytes on the console port: 1000 lines of "0123456789" × 9 + "abcdefghi\n".
 * Real mode, loaded at 0, so the C loop in bench/ can run it too. */
#include "include/line100.inc"
  .code16
  .globl _start
_start:
  mov $1000, %bx
1:
  mov $line, %si
  mov $100, %cx
2:
  lodsb
  outb %al, $0x42
  dec %cx
  jnz 2b
  dec %bx
  jnz 1b
  hlt
line:
  LINE100
