/* A guest that goes the whole way a PC kernel goes: it starts in real mode (at 0800:0000, so CS:IP
 * is not the linear address), enters 32-bit protected mode, turns on PAE paging and long mode, and
 * ends in 64-bit code. The debugger test follows it in one session, with breakpoints set at the
 * start at labels of every mode. Run: microvmm --mode real --load 0x8000 --entry 0x8000, with the
 * ELF (linked at 0x8000) as gdb's symbol file. Page tables at 0x10000: PML4, PDPT, PD (one 2 MiB
 * page identity-mapping the first 2 MiB). */
#define PML4 0x10000
#define PDPT 0x11000
#define PD   0x12000
#define CONSOLE 0x42

  .code16
  .globl _start, in_real, in_protected, in_long
_start:
  ljmp $0x0800, $(real_start - _start)   /* CS = 0x800, IP from 0: linear 0x8000 + IP */
real_start:
  cli
  mov %cs, %ax
  mov %ax, %ds
  mov $0x1234, %ax
  mov %ax, %bx
in_real:
  inc %bx
  add %ax, %bx
  lgdtl (gdt_desc - _start)
  mov %cr0, %eax
  or $1, %eax
  mov %eax, %cr0
  ljmpl $0x08, $pm_start

  .code32
pm_start:
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  mov $0x7000, %esp
  mov $0x11111111, %ecx
in_protected:
  /* Page tables: clear three pages, then link PML4 -> PDPT -> PD -> a 2 MiB page at 0. */
  mov $PML4, %edi
  xor %eax, %eax
  mov $(3 * 4096 / 4), %ecx
  rep stosl
  movl $(PDPT | 3), PML4
  movl $(PD | 3), PDPT
  movl $0x83, PD                /* present, writable, 2 MiB page */
  mov %cr4, %eax
  or $0x20, %eax                /* PAE */
  mov %eax, %cr4
  mov $PML4, %eax
  mov %eax, %cr3
  mov $0xc0000080, %ecx         /* EFER */
  rdmsr
  or $0x100, %eax               /* LME */
  wrmsr
  mov %cr0, %eax
  or $0x80000000, %eax          /* PG: long mode is active from here */
  mov %eax, %cr0
  ljmp $0x18, $lm_start

  .code64
lm_start:
  movabs $0x2222222222222222, %rdx
in_long:
  lea message(%rip), %rsi
1: lodsb
  test %al, %al
  jz 2f
  out %al, $CONSOLE
  jmp 1b
2: hlt

message: .asciz "debug-modes: long mode\n"

  .p2align 3
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff      /* 0x08: 32-bit code, flat */
  .quad 0x00cf92000000ffff      /* 0x10: data, flat */
  .quad 0x00af9a000000ffff      /* 0x18: 64-bit code */
gdt_desc:
  .word gdt_desc - gdt - 1
  .long gdt
