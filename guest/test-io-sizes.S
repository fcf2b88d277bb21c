/* Port I/O of every size and string I/O. Prints "ABCDEFghij" + newline through the console
 * using outw, outl and rep outsb, then reads an unclaimed port (0x300) with inb/inw/inl and
 * rep insb and prints "ones ok" if every read was all-ones, "ones bad" if not. Halts. */
#include "include/console.inc"
  .code64
  .globl _start
_start:
  mov $0x42, %dx
  mov $0x4241, %ax
  outw %ax, %dx              /* "AB": a 2-byte write is two characters, low byte first */
  mov $0x46454443, %eax
  outl %eax, %dx             /* "CDEF" */
  lea str(%rip), %rsi
  mov $5, %ecx
  rep outsb                  /* "ghij\n" in one exit */
  mov $0x300, %dx
  inb %dx, %al
  cmp $0xff, %al
  jne bad
  inw %dx, %ax
  cmp $0xffff, %ax
  jne bad
  inl %dx, %eax
  cmp $0xffffffff, %eax
  jne bad
  lea buf(%rip), %rdi
  mov $8, %ecx
  rep insb                   /* 8 bytes in one exit */
  mov buf(%rip), %rax
  cmp $-1, %rax
  jne bad
  OK_OR_BAD ones
str: .ascii "ghij\n"
  .balign 8
buf: .quad 0
