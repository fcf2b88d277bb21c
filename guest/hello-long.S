/* 64-bit hello: prints "Hello, world!" via the debugcon hypercall (0xE9) and "Hello from long
 * mode" via the console, leaves 42 at 0x400 and in RAX, halts.
 * Run: microvmm --mode long hello-long.bin */
#include "include/console.inc"
  .code64
  .globl _start
_start:
  lea hello(%rip), %rsi
  PUTS 0xe9                 /* "Hello, world!" through the debugcon hypercall */
  lea msg(%rip), %rsi
  PUTS
  movl $42, 0x400
  mov $42, %rax
  hlt
msg: .asciz "Hello from long mode\n"
hello: .asciz "Hello, world!\n"
