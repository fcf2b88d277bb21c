/* MMIO to an address with no RAM and no device (128 MiB + 16 MiB, inside the identity map of a
 * 128 MiB guest): reads must give all-ones, writes must vanish. Prints "mmio ok" or "mmio bad". */
#include "include/console.inc"
  .code64
  .globl _start
_start:
  mov $0x9000000, %rdi
  movl $0x12345678, (%rdi)   /* write: ignored */
  mov (%rdi), %eax           /* read: 0xffffffff */
  cmp $0xffffffff, %eax
  jne bad
  movb (%rdi), %al
  cmp $0xff, %al
  jne bad
  OK_OR_BAD mmio
