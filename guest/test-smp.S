/* A Multiboot 1 kernel for the PC board that starts its application processors the way an SMP
 * kernel does:
 *   the boot processor counts the processors in the MP table, copies a real-mode trampoline to
 *   0x8000, enables its local APIC and sends INIT, then SIPI (vector 0x08) twice, to all others;
 *   each AP leaves real mode through the trampoline, reads its APIC ID and makes COUNT rounds of:
 *   a port read that exits to the VMM (0xEB), an increment of its own slot, a locked increment
 *   of the shared counter; then it says it is done (locked) and halts (with -DSPIN: spins forever);
 *   and sends the boot processor an IPI (vector 0x40); the boot processor waits for those halted
 *   (sti; hlt: its thread sleeps, the APs' exits are served at once), then prints (0xEA, decimal) the processor count,
 *   each AP's slot by APIC ID, the shared counter, then "smp done" (0xEC) and halts: cli; hlt
 *   (with -DFOREVER: spins forever instead, for a signal to stop).
 * -DPLAIN: no multiboot header, so microvmm runs it as a plain guest (protected mode at _start);
 * with --cpus N > 1 it has local APICs and the MP table too.
 * -DROUNDS=N: N rounds instead of 1000 (the benchmark's build); -DBOOT_ROUNDS: the boot
 * processor first makes the same port reads itself (the benchmark's reference).
 * With -DFAULT each AP triple-faults instead of counting (no IDT: #GP, #DF, shutdown). */
  .set MAGIC, 0x1badb002
  .set FLAGS, 0
  .set LAPIC_ID, 0xfee00020
  .set LAPIC_SVR, 0xfee000f0
  .set LAPIC_EOI, 0xfee000b0
  .set LAPIC_ICR_LO, 0xfee00300
  .set LAPIC_ICR_HI, 0xfee00310
  .set ICR_FIXED_DONE, 0x00004040    /* physical destination, fixed, vector 0x40 */
  .set ICR_PENDING, 1 << 12
  .set ICR_INIT_OTHERS, 0x000c4500   /* all excluding self, level assert, INIT */
  .set ICR_SIPI_OTHERS, 0x000c4600   /* all excluding self, level assert, start-up | vector */
  .set TRAMPOLINE, 0x8000
  .set MAX_CPUS, 16
#ifndef ROUNDS
#define ROUNDS 1000
#endif
  .set COUNT, ROUNDS
  .code32
  .section .text
  .globl _start
#ifndef PLAIN
  .balign 4
  .long MAGIC, FLAGS, 0x100000000 - (MAGIC + FLAGS)
#endif
_start:
  mov $stack_top, %esp
  lgdt gdt_desc
  ljmp $0x08, $1f
1:
  mov $0x10, %ax; mov %ax, %ds; mov %ax, %es; mov %ax, %ss
#ifdef BOOT_ROUNDS
  mov $COUNT, %ecx
0:
  mov $0xeb, %dx; in %dx, %eax
  loop 0b
#endif

  call mp_processors
  mov %eax, cpus
  mov $0xea, %dx; out %eax, %dx
  cmp $MAX_CPUS, %eax
  ja stop
  cmp $2, %eax                       /* no AP to start */
  jb 5f

  mov $tramp_start, %esi; mov $TRAMPOLINE, %edi; mov $(tramp_end - tramp_start), %ecx
  rep movsb
  /* Every vector goes to one handler that acknowledges it: the APs' IPIs wake the wait below. */
  mov $idt, %edi
  mov $256, %ecx
0:
  mov $isr, %eax
  mov %ax, (%edi); movw $0x08, 2(%edi)
  shr $16, %eax
  movw $0x8e00, 4(%edi); mov %ax, 6(%edi)
  add $8, %edi
  loop 0b
  lidt idt_desc
  movl $0x1ff, LAPIC_SVR             /* software-enable the local APIC, spurious vector 0xFF */
  movl $ICR_INIT_OTHERS, LAPIC_ICR_LO
  call icr_wait
  movl $(ICR_SIPI_OTHERS | (TRAMPOLINE >> 12)), LAPIC_ICR_LO
  call icr_wait
  movl $(ICR_SIPI_OTHERS | (TRAMPOLINE >> 12)), LAPIC_ICR_LO   /* ignored by an AP already started */
  call icr_wait

  mov cpus, %ecx; dec %ecx
2:
  cli                                /* an IPI after the test waits pending; sti; hlt takes it */
  cmp done, %ecx
  je 5f
  sti
  hlt
  jmp 2b
5:

  mov $0xea, %dx
  mov $1, %ebx
3:
  cmp cpus, %ebx
  jae 4f
  mov slots(,%ebx,4), %eax; out %eax, %dx
  inc %ebx
  jmp 3b
4:
  mov shared, %eax; out %eax, %dx
  mov $done_text, %eax; mov $0xec, %dx; out %eax, %dx
stop:
#ifdef FOREVER
  jmp stop
#endif
  cli
  hlt
  jmp stop

icr_wait:
  testl $ICR_PENDING, LAPIC_ICR_LO
  jnz icr_wait
  ret

isr:
  movl $0, LAPIC_EOI
  iret

/* The number of processor entries in the MP configuration table (0 if there is none). */
mp_processors:
  mov $0xf0000, %esi
1:
  cmpl $0x5f504d5f, (%esi)           /* "_MP_" */
  je 2f
  add $16, %esi
  cmp $0x100000, %esi
  jb 1b
  xor %eax, %eax
  ret
2:
  mov 4(%esi), %esi                  /* the configuration table */
  movzwl 34(%esi), %ecx              /* entry count */
  add $44, %esi
  xor %eax, %eax
3:
  jecxz 5f
  cmpb $0, (%esi)                    /* processor: 20 bytes; the rest: 8 */
  jne 4f
  inc %eax
  add $12, %esi
4:
  add $8, %esi
  dec %ecx
  jmp 3b
5:
  ret

/* An AP, in 32-bit protected mode from the trampoline. */
ap_entry32:
  mov $0x10, %ax; mov %ax, %ds; mov %ax, %es; mov %ax, %ss
  mov LAPIC_ID, %ebx
  shr $24, %ebx
  cmp $MAX_CPUS, %ebx
  jae ap_halt
#ifdef FAULT
  lidt no_idt
  mov $0x18, %ax                     /* past the GDT's end: #GP */
  mov %ax, %ds
#endif
  mov $COUNT, %ecx
1:
  mov $0xeb, %dx; in %dx, %eax       /* an exit the VMM serves for this AP */
  incl slots(,%ebx,4)
  lock incl shared
  loop 1b
  lock incl done
  movl $0, LAPIC_ICR_HI              /* to APIC ID 0, the boot processor */
  movl $ICR_FIXED_DONE, LAPIC_ICR_LO
#ifdef SPIN
2:
  jmp 2b
#endif
ap_halt:
  cli
  hlt
  jmp ap_halt

/* Copied to TRAMPOLINE; an AP starts here in real mode at CS:IP 0800:0000. */
  .code16
tramp_start:
  cli
  mov %cs, %ax
  mov %ax, %ds
  lgdtl tramp_gdt_desc - tramp_start
  mov %cr0, %eax
  or $1, %eax
  mov %eax, %cr0
  ljmpl $0x08, $ap_entry32
  .balign 8
tramp_gdt:
  .quad 0
  .quad 0x00cf9a000000ffff           /* 0x08: flat 32-bit code */
  .quad 0x00cf92000000ffff           /* 0x10: flat data */
tramp_gdt_desc:
  .word 23
  .long TRAMPOLINE + (tramp_gdt - tramp_start)
tramp_end:
  .code32

gdt_desc:
  .word 23
  .long tramp_gdt
no_idt:
  .word 0
  .long 0
idt_desc:
  .word 256 * 8 - 1
  .long idt

  .balign 4
cpus: .long 0
done: .long 0
shared: .long 0
slots: .fill MAX_CPUS, 4, 0
done_text: .asciz "smp done\n"
  .balign 16
  .fill 1024, 1, 0
stack_top:
  .balign 8
idt: .fill 256, 8, 0
