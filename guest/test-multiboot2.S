/* A Multiboot2 kernel (ELF, linked at 1 MiB) that walks its boot information and prints each
 * tag's type; for the command line and boot loader name their string, for basic meminfo
 * mem_lower and mem_upper, for the memory map its entry size and count, for the load base its
 * address; for each module its start, end and string; for the framebuffer its address, pitch,
 * width, height and type; for the ACPI RSDP copy its RSDT address. The magic and the
 * information's total size first. */
  .set MAGIC, 0xe85250d6
  .code32
  .section .text
  .globl _start
  .balign 8
header:
  .long MAGIC, 0, header_end - header, 0x100000000 - (MAGIC + (header_end - header))
  .balign 8
  .short 1, 0                       /* information request, required: */
  .long 28
  .long 1, 4, 6, 8, 14              /* command line, basic meminfo, memory map, framebuffer, old RSDP */
  .balign 8
  .short 0, 0                       /* end */
  .long 8
header_end:
_start:
  mov $0xea, %dx
  out %eax, %dx                     /* the magic */
  mov (%ebx), %eax; out %eax, %dx   /* total_size */
  lea 8(%ebx), %esi                 /* the first tag */
1:
  mov $0xea, %dx
  mov (%esi), %eax; out %eax, %dx   /* its type */
  cmp $0, %eax
  je 9f
  cmp $1, %eax; je 2f
  cmp $2, %eax; je 2f
  cmp $4, %eax; je 3f
  cmp $6, %eax; je 4f
  cmp $21, %eax; je 5f
  cmp $3, %eax; je 6f
  cmp $8, %eax; je 7f
  cmp $14, %eax; je 10f
  jmp 8f
2: lea 8(%esi), %eax; mov $0xec, %dx; out %eax, %dx   /* a string */
  mov $0xe9, %dx; mov $'\n', %al; out %al, %dx
  jmp 8f
3: mov 8(%esi), %eax; out %eax, %dx; mov 12(%esi), %eax; out %eax, %dx  /* mem_lower, mem_upper */
  jmp 8f
4: mov 8(%esi), %ecx; mov %ecx, %eax; out %eax, %dx  /* entry_size */
  mov 4(%esi), %eax; sub $16, %eax; xor %edx, %edx; div %ecx  /* (size - 16) / entry_size */
  mov $0xea, %dx; out %eax, %dx
  jmp 8f
5: mov 8(%esi), %eax; out %eax, %dx  /* load_base_addr */
  jmp 8f
6: mov 8(%esi), %eax; out %eax, %dx; mov 12(%esi), %eax; out %eax, %dx  /* mod_start, mod_end */
  lea 16(%esi), %eax; mov $0xec, %dx; out %eax, %dx  /* its string */
  mov $0xe9, %dx; mov $'\n', %al; out %al, %dx
  jmp 8f
7: mov 8(%esi), %eax; out %eax, %dx   /* framebuffer_addr (low) */
  mov 16(%esi), %eax; out %eax, %dx  /* pitch */
  mov 20(%esi), %eax; out %eax, %dx  /* width */
  mov 24(%esi), %eax; out %eax, %dx  /* height */
  movzbl 29(%esi), %eax; out %eax, %dx  /* type */
  jmp 8f
10: mov 24(%esi), %eax; out %eax, %dx /* the RSDP copy's RSDT address */
8: mov 4(%esi), %eax                 /* next tag: size rounded up to 8 */
  add $7, %eax
  and $~7, %eax
  add %eax, %esi
  jmp 1b
9:
  hlt
