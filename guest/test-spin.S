/* Never exits: prints "spinning", then loops forever on a register. Only the host can stop it
 * (a signal, or Ctrl-A x on a terminal). */
  .code64
  .globl _start
_start:
  lea msg(%rip), %rsi
  mov $0x42, %dx
1: lodsb
  test %al, %al
  jz 2f
  outb %al, %dx
  jmp 1b
2: inc %rax
  jmp 2b
msg: .asciz "spinning\n"
