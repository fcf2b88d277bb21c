/* Never exits: prints "spinning", then loops forever on a register. Only the host can stop it
 * (a signal, or Ctrl-A x on a terminal). */
#include "include/console.inc"
  .code64
  .globl _start
_start:
  lea msg(%rip), %rsi
  PUTS
2: inc %rax
  jmp 2b
msg: .asciz "spinning\n"
