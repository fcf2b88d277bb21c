/* Exit round-trip benchmark: 200 000 `out` to the null hypercall port (0x10: an exit that does
 * nothing; the console port's writes are coalesced, so they would not exit), then HLT. Real mode,
 * loaded at 0, so the minimal C loop in bench/ can run it too. */
  .code16
  .globl _start
_start:
  xor %al, %al
  mov $200000, %ecx
1: outb %al, $0x10
  dec %ecx
  jnz 1b
  hlt
