/* Entry for 64-bit C guests. microvmm starts us in long mode with RAM identity-mapped and a
 * valid stack; all that is left is to call main and halt (HLT ends the VM). */
  .section .text.start, "ax"
  .code64
  .globl _start
_start:
  call main
1: hlt
  jmp 1b
