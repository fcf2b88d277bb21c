/* Triple fault: the IDT microvmm sets up is empty (limit 0), so the first exception cannot be
 * delivered: #GP from a non-canonical address → #DF → shutdown. Leaves 0x1234 in RBX. */
  .code64
  .globl _start
_start:
  mov $0x1234, %ebx
  movabs $0x8000000000000000, %rax
  mov (%rax), %rax
  hlt
