/* 32-bit hello for protected and paged mode: prints "Hello, world!" via 0xE9, then says which
 * mode it is in (CR0.PG) via the console, leaves 42 at 0x400 and in EAX, and halts.
 * Run: microvmm --mode protected hello-32.bin, microvmm --mode paged hello-32.bin */
#include "include/console.inc"
  .code32
  .globl _start
_start:
  mov $hello, %esi
  PUTS 0xe9                 /* "Hello, world!" through the debugcon hypercall */
  mov $msg_protected, %esi
  mov %cr0, %eax
  test $0x80000000, %eax   /* CR0.PG */
  jz 1f
  mov $msg_paged, %esi
1: PUTS
  movl $42, 0x400
  mov $42, %eax
  hlt
msg_protected: .asciz "Hello from protected mode\n"
msg_paged: .asciz "Hello from paged mode\n"
hello: .asciz "Hello, world!\n"
