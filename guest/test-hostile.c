/* Hostile hypercall arguments; the VMM must refuse each on stderr and keep running:
 * a string beyond RAM (run with -m 128M), 1 MiB with no NUL, an address that does not translate,
 * and a translate of garbage. Then it says so and halts. */
#include "include/hypercall.h"

static char no_nul[1 << 20];

void main(void) {
  hc_print_string((const char *)0x9000000);   /* mapped by the identity map, but not RAM */
  for (unsigned i = 0; i < sizeof no_nul; i++) no_nul[i] = 'A';
  hc_print_string(no_nul);                    /* 1 MiB of 'A' and no NUL */
  hc_print_string((const char *)0xC0000000);  /* beyond the identity map: does not translate */
  hc_print_decimal(hc_host_address(0xDEADBEEF));
  hc_puts("still running\n");
}
