/* A Multiboot 1 kernel for the PC board that works by interrupts, as kernels written for a PC do:
 * it loads its own GDT and IDT, programs the 8259 pair (IRQ 0-15 at vectors 0x20-0x2F) and the
 * PIT (channel 0, mode 2, 100 Hz), and counts 10 timer interrupts (no more), sleeping in HLT between them.
 * Then it unmasks IRQ 1 and takes keys from the PS/2 keyboard (scan code set 1) by interrupt,
 * echoing letters on the VGA text screen after "typed: " until Enter. It reports on debugcon
 * (the 0xEA and 0xEC hypercalls) and ends with cli; hlt, which ends the VM. */
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
  lgdt gdt_pointer
  ljmp $0x08, $1f
1:
  mov $0x10, %ax
  mov %ax, %ds; mov %ax, %es; mov %ax, %ss

  /* The IDT: every vector to `ignore`, then the timer and the keyboard. */
  mov $idt, %edi
  mov $256, %ecx
1:
  mov $ignore, %eax
  call set_gate
  add $8, %edi
  loop 1b
  mov $idt + 0x20 * 8, %edi; mov $timer, %eax; call set_gate
  mov $idt + 0x21 * 8, %edi; mov $keyboard, %eax; call set_gate
  lidt idt_pointer

  /* 8259 pair: ICW1 (edge, cascade, ICW4), ICW2 (vector bases), ICW3 (slave on IRQ 2), ICW4 (8086 mode). */
  mov $0x11, %al; out %al, $0x20; out %al, $0xa0
  mov $0x20, %al; out %al, $0x21
  mov $0x28, %al; out %al, $0xa1
  mov $0x04, %al; out %al, $0x21
  mov $0x02, %al; out %al, $0xa1
  mov $0x01, %al; out %al, $0x21; out %al, $0xa1
  mov $0xfe, %al; out %al, $0x21     /* only IRQ 0 for now */
  mov $0xff, %al; out %al, $0xa1

  /* PIT channel 0, lobyte/hibyte, mode 2: 1193182 Hz / 11932 = 100 Hz. */
  mov $0x34, %al; out %al, $0x43
  mov $0x9c, %al; out %al, $0x40
  mov $0x2e, %al; out %al, $0x40

  sti
1:
  hlt
  cmpl $10, ticks
  jb 1b
  cli
  mov $ticks_text, %eax; mov $0xec, %dx; out %eax, %dx
  mov ticks, %eax; mov $0xea, %dx; out %eax, %dx

  /* "typed: " on the screen's first line, then keys by interrupt until Enter. */
  mov $typed_label, %esi
  mov $VGA, %edi
  mov $0x07, %ah
2:
  lodsb
  test %al, %al
  jz 3f
  stosw
  jmp 2b
3:
  mov $0xfc, %al; out %al, $0x21     /* IRQ 0 and IRQ 1 */
  sti
1:
  hlt
  cmpb $0, enter_seen
  je 1b
  cli
  mov $typed_label, %eax; mov $0xec, %dx; out %eax, %dx
  mov $typed, %eax; out %eax, %dx
  mov $newline, %eax; out %eax, %dx
  mov $done_text, %eax; out %eax, %dx
  hlt

/* An interrupt gate at %edi for the handler at %eax: code selector 0x08, present, ring 0. */
set_gate:
  mov %ax, (%edi)
  movw $0x08, 2(%edi)
  movw $0x8e00, 4(%edi)
  shr $16, %eax
  mov %ax, 6(%edi)
  ret

ignore:
  iret

timer:
  push %eax
  cmpl $10, ticks                    /* ten, then no more: the count printed is exact */
  jae 1f
  incl ticks
1:
  mov $0x20, %al; out %al, $0x20     /* EOI */
  pop %eax
  iret

keyboard:
  pusha
  in $0x60, %al
  test $0x80, %al                    /* a key's release */
  jnz 9f
  cmp $0x1c, %al                     /* Enter */
  jne 1f
  movb $1, enter_seen
  jmp 9f
1:
  movzbl %al, %eax
  cmp $keymap_end - keymap, %eax
  jae 9f
  movb keymap(%eax), %bl
  test %bl, %bl
  jz 9f
  mov count, %ecx
  cmp $60, %ecx
  jae 9f
  movb %bl, typed(%ecx)
  movb %bl, %al
  mov $0x07, %ah
  mov %ax, VGA + 14(,%ecx,2)         /* after "typed: " */
  incl count
9:
  mov $0x20, %al; out %al, $0x20
  popa
  iret

  .section .data
  .balign 8
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff           /* 0x08: flat 32-bit code */
  .quad 0x00cf92000000ffff           /* 0x10: flat data */
gdt_pointer:
  .short gdt_pointer - gdt - 1
  .long gdt
idt_pointer:
  .short 256 * 8 - 1
  .long idt
ticks: .long 0
count: .long 0
enter_seen: .byte 0
ticks_text: .asciz "ticks: "
typed_label: .asciz "typed: "
newline: .asciz "\n"
done_text: .asciz "done\n"
#include "include/set1-keymap.inc"

  .section .bss
  .balign 16
idt: .space 256 * 8
typed: .space 64
  .space 4096
stack_top:
