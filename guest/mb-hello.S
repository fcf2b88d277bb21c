/* The smallest multiboot kernel a PC VMM can start: it writes "hello" on COM1 (waiting for the
 * transmitter as a kernel must on real hardware), then halts with interrupts off. The xv6
 * benchmark times it to its line under microvmm and under `qemu -kernel`: what each VMM costs
 * before a kernel's first instruction (QEMU: its BIOS; microvmm: none), apart from the kernel's own work. */
  .set MAGIC, 0x1badb002
  .set FLAGS, 0
  .set COM1, 0x3f8
  .code32
  .section .text
  .globl _start
  .balign 4
header:
  .long MAGIC, FLAGS, 0x100000000 - (MAGIC + FLAGS)
_start:
  mov $message, %esi
1:
  mov $COM1 + 5, %dx                /* line status: bit 5, transmitter holding register empty */
2:
  in %dx, %al
  test $0x20, %al
  jz 2b
  lodsb
  test %al, %al
  jz 3f
  mov $COM1, %dx
  out %al, %dx
  jmp 1b
3:
  cli
  hlt
  jmp 3b
message:
  .asciz "hello\n"
