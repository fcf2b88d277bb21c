/* Real mode hello: print a line, leave 42 at 0x400 and in EAX, halt.
 * Run: microvmm --mode real hello-real.bin (loaded and started at 0, CS=DS=0). */
  .code16
  .globl _start
_start:
  mov $msg, %si
  mov $0x42, %dx
1: lodsb              /* AL = [DS:SI++] */
  test %al, %al
  jz 2f
  outb %al, %dx
  jmp 1b
2: movl $42, 0x400
  mov $42, %eax
  hlt
msg: .asciz "Hello from real mode\n"
