/* Calls every hypercall, in the order a first hypervisor course asks for them. */
#include "include/hypercall.h"

static char buffer[64] = "translate me";

void main(void) {
  hc_puts("Hello from the hypercall guest\n");   /* 0xE9, a byte at a time */
  hc_print_decimal(2048);                        /* 0xEA */
  hc_print_decimal(0xFFFFFFFF);
  hc_print_string("a string in one exit\n");    /* 0xEC */

  u32 before = hc_exit_count();                  /* 0xEB */
  for (int i = 0; i < 5; i++) inb(TIMER_PERIOD_PORT); /* five exits with no effect */
  u32 after = hc_exit_count();
  hc_print_decimal(before);
  hc_print_decimal(after);                       /* after - before = 6: five reads, then this call */

  hc_print_string(hc_io_counts());               /* 0xED, printed through 0xEC */
  hc_print_decimal(hc_host_address((u32)(unsigned long)buffer)); /* 0xEE, 0xEF */
  hc_print_decimal(hc_host_address(0xFFFFFFFF)); /* prints "Invalid GVA", then 0 */
  hc_print_string(hc_io_counts());
}
