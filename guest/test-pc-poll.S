/* A Multiboot 1 kernel for the PC board that polls its devices (no interrupts), printing what it
 * finds through the 0xEA (decimal) and 0xEC (string) hypercalls:
 *   the BIOS data area: COM1's port, the EBDA segment, base memory in KiB, the CRT port
 *   the MP floating pointer's address (searched in 0xF0000-0xFFFFF on 16-byte boundaries)
 *   the CRT controller: the cursor location written as 81 and read back
 *   IDE master: IDENTIFY's sector count (words 60-61); sectors 1-2 read with rep insl (first
 *   dword of each); sector 3 written with rep outsw (512 bytes of 0x5A); a read past the end
 *   (status and error); FLUSH CACHE's status
 *   the PS/2 keyboard, polled: make codes until Enter, each letter echoed on the VGA screen
 * then "PC poll done" on the screen's second line (and debugcon), "serial ok" on COM1, and cli; hlt. */
  .set MAGIC, 0x1badb002
  .set FLAGS, 0
  .set VGA, 0xb8000
  .code32
  .section .text
  .globl _start
  .balign 4
  .long MAGIC, FLAGS, 0x100000000 - (MAGIC + FLAGS)
_start:
  mov $stack_top, %esp
  mov $0xea, %dx
  movzwl 0x400, %eax; out %eax, %dx  /* COM1 */
  movzwl 0x40e, %eax; out %eax, %dx  /* EBDA segment */
  movzwl 0x413, %eax; out %eax, %dx  /* base memory KiB */
  movzwl 0x463, %eax; out %eax, %dx  /* CRT port */

  mov $0xf0000, %esi                 /* "_MP_" */
1:
  cmpl $0x5f504d5f, (%esi)
  je 2f
  add $16, %esi
  cmp $0x100000, %esi
  jb 1b
  xor %esi, %esi
2:
  mov %esi, %eax; out %eax, %dx

  /* CRT cursor location = 81, read back. */
  mov $0x3d4, %dx; mov $0x0e, %al; out %al, %dx; inc %dx; mov $0, %al; out %al, %dx
  dec %dx; mov $0x0f, %al; out %al, %dx; inc %dx; mov $81, %al; out %al, %dx
  dec %dx; mov $0x0e, %al; out %al, %dx; inc %dx; in %dx, %al; mov %al, %ah
  dec %dx; mov $0x0f, %al; out %al, %dx; inc %dx; in %dx, %al
  movzwl %ax, %eax
  mov $0xea, %dx; out %eax, %dx

  /* IDE master: IDENTIFY. */
  mov $0x1f6, %dx; mov $0xe0, %al; out %al, %dx
  mov $0x1f7, %dx; mov $0xec, %al; out %al, %dx
  call wait_drq
  mov $0x1f0, %dx; mov $buffer, %edi; mov $256, %ecx; rep insw
  mov buffer + 120, %eax             /* words 60-61 */
  mov $0xea, %dx; out %eax, %dx

  /* READ SECTORS: LBA 1, 2 sectors, each 128 dwords. */
  mov $1, %ebx; mov $2, %ecx; mov $0x20, %al; call command
  mov $buffer, %edi
  call wait_drq
  mov $0x1f0, %dx; mov $128, %ecx; rep insl
  call wait_drq
  mov $0x1f0, %dx; mov $128, %ecx; rep insl
  mov $0xea, %dx
  mov buffer, %eax; out %eax, %dx
  mov buffer + 512, %eax; out %eax, %dx

  /* WRITE SECTORS: LBA 3, 1 sector of 0x5A. */
  mov $buffer, %edi; mov $0x5a, %al; mov $512, %ecx; rep stosb
  mov $3, %ebx; mov $1, %ecx; mov $0x30, %al; call command
  call wait_drq
  mov $0x1f0, %dx; mov $buffer, %esi; mov $256, %ecx; rep outsw
  call wait_ready

  /* A read past the end: LBA 0xFFFFFF. */
  mov $0xffffff, %ebx; mov $1, %ecx; mov $0x20, %al; call command
  call wait_ready
  mov $0x1f7, %dx; in %dx, %al; movzbl %al, %eax; mov $0xea, %dx; out %eax, %dx
  mov $0x1f1, %dx; in %dx, %al; movzbl %al, %eax; mov $0xea, %dx; out %eax, %dx

  /* FLUSH CACHE. */
  mov $0x1f7, %dx; mov $0xe7, %al; out %al, %dx
  call wait_ready
  mov $0x1f7, %dx; in %dx, %al; movzbl %al, %eax; mov $0xea, %dx; out %eax, %dx

  /* The keyboard, polled: letters to the screen's first line until Enter. */
  mov $VGA, %edi
3:
  in $0x64, %al
  test $1, %al
  jz 3b
  in $0x60, %al
  cmp $0x1c, %al
  je 4f
  test $0x80, %al
  jnz 3b
  movzbl %al, %eax
  cmp $keymap_end - keymap, %eax
  jae 3b
  movb keymap(%eax), %al
  test %al, %al
  jz 3b
  mov $0x1f, %ah                     /* white on blue */
  stosw
  jmp 3b
4:
  mov $done_text, %esi
  mov $VGA + 160, %edi
  mov $0x07, %ah
5:
  lodsb
  test %al, %al
  jz 6f
  stosw
  jmp 5b
6:
  mov $done_text, %eax; mov $0xec, %dx; out %eax, %dx
  mov $0xe9, %dx; mov $'\n', %al; out %al, %dx

  /* COM1, polled: "serial ok\n" once the transmitter holding register is empty for each byte. */
  mov $serial_text, %esi
7:
  mov $0x3fd, %dx
8:
  in %dx, %al
  test $0x20, %al
  jz 8b
  lodsb
  test %al, %al
  jz 9f
  mov $0x3f8, %dx
  out %al, %dx
  jmp 7b
9:
  cli
  hlt

/* An LBA28 command %al for %ecx sectors at %ebx on the master. */
command:
  push %eax
  mov $0x1f2, %dx; mov %cl, %al; out %al, %dx
  mov $0x1f3, %dx; mov %bl, %al; out %al, %dx
  mov $0x1f4, %dx; mov %bh, %al; out %al, %dx
  shr $16, %ebx
  mov $0x1f5, %dx; mov %bl, %al; out %al, %dx
  mov $0x1f6, %dx; mov %bh, %al; and $0x0f, %al; or $0xe0, %al; out %al, %dx
  pop %eax
  mov $0x1f7, %dx; out %al, %dx
  ret

wait_drq:
  mov $0x1f7, %dx
1:
  in %dx, %al
  test $0x08, %al
  jz 1b
  ret

wait_ready:
  mov $0x1f7, %dx
1:
  in %dx, %al
  test $0x80, %al
  jnz 1b
  ret

  .section .data
done_text: .asciz "PC poll done"
serial_text: .asciz "serial ok\n"
#include "include/set1-keymap.inc"

  .section .bss
  .balign 16
buffer: .space 1024
  .space 4096
stack_top:
