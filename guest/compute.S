/* Pure compute, never exits after its greeting: counts in RAX and keeps the count at 0x500, so
 * the host can see (--peek 0x500:8) that it ran. Only preemption by the VMM's timer stops it. */
#include "include/console.inc"
  .code64
  .globl _start
_start:
  lea msg(%rip), %rsi
  PUTS
  xor %eax, %eax
1: inc %rax
  mov %rax, 0x500
  jmp 1b
msg: .asciz "computing\n"
