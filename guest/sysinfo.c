/* What the machine tells the guest: the memory map (0xF1/0xF2), in the format of microvmm's
 * --memmap, and what CPUID shows: vendor, VMX, SVM, the hypervisor bit, the KVM signature. */
#include "include/paravirt.h"
#include "include/print.h"

static struct memmap_entry map[32];

static void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d) {
  __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static void put4(u32 v) { for (int i = 0; i < 4; i++) { char ch = (char)(v >> (8 * i)); if (ch) console_putc(ch); } }

void main(void) {
  u32 n = memmap_get(map, 32);
  console_puts("memory map:\n");
  for (u32 i = 0; i < n && i < 32; i++) {
    console_puts("  ");
    print_hex(map[i].base, 16);
    console_putc('-');
    print_hex(map[i].base + map[i].length - 1, 16);
    console_puts(map[i].type == MEMMAP_USABLE ? " usable\n" : " reserved\n");
  }

  u32 a, b, c, d;
  cpuid(0, &a, &b, &c, &d);
  console_puts("vendor: ");
  put4(b); put4(d); put4(c);
  console_putc('\n');
  cpuid(1, &a, &b, &c, &d);
  console_puts((c & (1u << 5)) ? "vmx: yes\n" : "vmx: no\n");
  console_puts((c & (1u << 31)) ? "hypervisor: yes\n" : "hypervisor: no\n");
  cpuid(0x80000001, &a, &b, &c, &d);
  console_puts((c & (1u << 2)) ? "svm: yes\n" : "svm: no\n");
  cpuid(0x40000000, &a, &b, &c, &d);
  console_puts("hypervisor signature: ");
  put4(b); put4(c); put4(d);
  console_putc('\n');
}
