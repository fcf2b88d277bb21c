/* Output order across the coalesced ports (console 0x42, debugcon 0xE9), a hypercall that exits
 * (0xEC), and a message microvmm prints on stderr (a bad 0xEC pointer): everything must come out
 * in the order the guest did it. A 300-byte line on each port first: microvmm turns the ring on
 * for a port after 256 writes. Then two 0xED snapshots taken apart, printed afterwards: each
 * call has its own copy, so they differ. */
#include "include/hypercall.h"
#include "include/print.h"

static void line300(void (*put)(char)) {
  for (int i = 0; i < 300; i++) put((char)('a' + i % 26));
  put('\n');
}

static void console_char(char c) { console_putc(c); }

void main(void) {
  line300(console_char);
  line300(hc_putc);
  hc_putc('a');                         /* debugcon: coalesced */
  console_puts("b\n");                  /* console: coalesced, printed at the newline */
  hc_print_string((const char *)0xc0000000); /* not mapped: a line on stderr, from an exit */
  hc_puts("c\n");
  console_puts("d\n");
  hc_print_string("e (one exit)\n");
  const char *first = hc_io_counts();   /* 0xED: a snapshot ... */
  for (int i = 0; i < 3; i++) inb(TIMER_PERIOD_PORT);
  const char *second = hc_io_counts();  /* ... and a later one */
  hc_print_string(first);
  hc_print_string(second);
}
