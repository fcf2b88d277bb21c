/* A Multiboot2 kernel that ends its run the way hobby kernels' test suites do under QEMU: it
 * writes its result (0x10) to the isa-debug-exit port 0xF4, then halts with interrupts off (which
 * ends the VM with 0 when the port is not there). */
  .set MAGIC, 0xe85250d6
  .code32
  .section .text
  .globl _start
  .balign 8
header:
  .long MAGIC, 0, header_end - header, 0x100000000 - (MAGIC + (header_end - header))
  .short 0, 0                       /* end */
  .long 8
header_end:
_start:
  mov $0x10, %al
  out %al, $0xf4
  cli
  hlt
