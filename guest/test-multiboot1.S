/* A Multiboot 1 kernel (ELF, linked at 1 MiB) that prints what it was given, one value a line,
 * through the hypercalls: the magic in EAX, the info flags, mem_lower, mem_upper, the command
 * line, the boot loader name, the memory map's length, then each map entry's base, length and
 * type (low 32 bits); boot_device; the framebuffer's address, pitch, width, height and type; the
 * module count, then each module's start, end, command line and contents (as a string). The test compares them with what microvmm says it passed (--stats=json). */
  .set MAGIC, 0x1badb002
  .set FLAGS, 0x00000003            /* page-aligned modules, memory information */
  .code32
  .section .text
  .globl _start
  .balign 4
header:
  .long MAGIC, FLAGS, 0x100000000 - (MAGIC + FLAGS)
_start:
  mov $0xea, %dx                    /* print decimal */
  out %eax, %dx                     /* the magic */
  mov 0(%ebx), %eax; out %eax, %dx  /* flags */
  mov 4(%ebx), %eax; out %eax, %dx  /* mem_lower */
  mov 8(%ebx), %eax; out %eax, %dx  /* mem_upper */
  mov 16(%ebx), %eax; mov $0xec, %dx; out %eax, %dx  /* the command line (a string) */
  mov $0xe9, %dx; mov $'\n', %al; out %al, %dx
  mov 64(%ebx), %eax; mov $0xec, %dx; out %eax, %dx  /* the boot loader name */
  mov $0xe9, %dx; mov $'\n', %al; out %al, %dx
  mov $0xea, %dx
  mov 44(%ebx), %ecx; mov %ecx, %eax; out %eax, %dx  /* mmap_length */
  mov 48(%ebx), %esi                /* mmap_addr */
  add %esi, %ecx                    /* its end */
1:
  cmp %ecx, %esi
  jae 2f
  mov 4(%esi), %eax; out %eax, %dx  /* base (low) */
  mov 12(%esi), %eax; out %eax, %dx /* length (low) */
  mov 20(%esi), %eax; out %eax, %dx /* type */
  add (%esi), %esi                  /* size counts the bytes after itself */
  add $4, %esi
  jmp 1b
2:
  mov 12(%ebx), %eax; out %eax, %dx /* boot_device */
  mov 88(%ebx), %eax; out %eax, %dx /* framebuffer_addr (low) */
  mov 96(%ebx), %eax; out %eax, %dx /* framebuffer_pitch */
  mov 100(%ebx), %eax; out %eax, %dx /* framebuffer_width */
  mov 104(%ebx), %eax; out %eax, %dx /* framebuffer_height */
  movzbl 109(%ebx), %eax; out %eax, %dx /* framebuffer_type */
  mov 20(%ebx), %ecx; mov %ecx, %eax; out %eax, %dx  /* mods_count */
  mov 24(%ebx), %esi                /* mods_addr */
3:
  test %ecx, %ecx
  jz 4f
  mov $0xea, %dx
  mov 0(%esi), %eax; out %eax, %dx  /* mod_start */
  mov 4(%esi), %eax; out %eax, %dx  /* mod_end */
  mov 8(%esi), %eax; mov $0xec, %dx; out %eax, %dx  /* its command line */
  mov $0xe9, %dx; mov $'\n', %al; out %al, %dx
  mov 0(%esi), %eax; mov $0xec, %dx; out %eax, %dx  /* its bytes, as a string */
  mov $0xe9, %dx; mov $'\n', %al; out %al, %dx
  add $16, %esi
  dec %ecx
  jmp 3b
4:
  hlt
