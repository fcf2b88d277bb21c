/* Keyboard without ack: waits for the first key and prints it, then keeps looking 2000 more
 * times without acking. It must keep seeing that same key with STATUS 1; if DATA or STATUS ever
 * change it prints "changed". Then "done", halt. Run: --mode long, with keys on stdin. */
#include "include/console.inc"
  .code64
  .globl _start
_start:
1: inb $0x45, %al            /* wait for STATUS = 1 */
  test $1, %al
  jz 1b
  inb $0x44, %al
  mov %al, %bl               /* the first key */
  outb %al, $0x42
  mov $0x0a, %al
  outb %al, $0x42
  mov $2000, %ecx
2: inb $0x45, %al
  cmp $1, %al
  jne 3f
  inb $0x44, %al
  cmp %bl, %al
  jne 3f
  loop 2b
  lea done(%rip), %rsi
  jmp 4f
3: lea changed(%rip), %rsi
4: PUTS
  hlt
done: .asciz "done\n"
changed: .asciz "changed\n"
