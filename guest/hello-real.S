/* Real mode hello: prints "Hello, world!" via 0xE9 and a line via the console, leaves 42 at
 * 0x400 and in EAX, halts. Run: microvmm --mode real hello-real.bin (loaded and started at 0,
 * CS=DS=0). */
#include "include/console.inc"
  .code16
  .globl _start
_start:
  mov $hello, %si
  PUTS 0xe9                 /* "Hello, world!" through the debugcon hypercall */
  mov $msg, %si            /* DS = 0: SI is the address */
  PUTS
  movl $42, 0x400
  mov $42, %eax
  hlt
msg: .asciz "Hello from real mode\n"
hello: .asciz "Hello, world!\n"
