/* Real mode hello: print a line, leave 42 at 0x400 and in EAX, halt.
 * Run: microvmm --mode real hello-real.bin (loaded and started at 0, CS=DS=0). */
#include "include/console.inc"
  .code16
  .globl _start
_start:
  mov $msg, %si            /* DS = 0: SI is the address */
  PUTS
  movl $42, 0x400
  mov $42, %eax
  hlt
msg: .asciz "Hello from real mode\n"
