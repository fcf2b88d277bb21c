/* Timer without ack: 1 ms period; waits for the first event, then reads CONTROL 3000 more
 * times without acking (several ms at the least), so events are lost. Prints "fired", halts.
 * Run: --mode long --stats; the stats must show lost events. */
#include "include/console.inc"
  .code64
  .globl _start
_start:
  mov $1, %eax
  outl %eax, $0x46           /* PERIOD = 1 ms */
  mov $1, %al
  outb %al, $0x47            /* enable */
1: inb $0x47, %al
  test $2, %al               /* FIRED */
  jz 1b
  mov $3000, %ecx
2: inb $0x47, %al
  loop 2b
  lea msg(%rip), %rsi
    PUTS
  hlt
msg: .asciz "fired\n"
