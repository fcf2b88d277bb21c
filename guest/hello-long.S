/* 64-bit hello: checks EFER.LMA through CS.L being in effect (we are running 64-bit code),
 * prints, leaves 42 at 0x400 and in RAX, halts.
 * Run: microvmm --mode long hello-long.bin */
#include "include/console.inc"
  .code64
  .globl _start
_start:
  lea msg(%rip), %rsi
    PUTS
  movl $42, 0x400
  mov $42, %rax
  hlt
msg: .asciz "Hello from long mode\n"
