/* A guest that tries to flood the host: 20 000 disk requests at an address outside RAM (each one
 * a report), then 20 000 writes to distinct unclaimed MMIO addresses (each one a new entry in
 * the miss table), then halts. microvmm must print a few reports, count the rest, and keep the
 * table bounded. */
  .code64
  .globl _start
_start:
  mov $20000, %ecx
  mov $0xf0, %dx             /* the disk doorbell */
  mov $0xfffffff0, %eax      /* a request address beyond RAM */
1:
  outl %eax, %dx
  dec %ecx
  jnz 1b
  mov $0x9000000, %rdi       /* 144 MiB: no RAM (128 MiB guest), identity-mapped, nobody's */
  mov $20000, %ecx
2:
  movl $1, (%rdi)
  add $8, %rdi
  dec %ecx
  jnz 2b
  hlt
