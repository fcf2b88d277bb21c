/* Entry for 32-bit C guests: microvmm starts an ELFCLASS32 guest in flat 32-bit protected mode
 * with a stack; call main and halt (HLT ends the VM). */
  .section .text.start, "ax"
  .code32
  .globl _start
_start:
  call main
1: hlt
  jmp 1b
