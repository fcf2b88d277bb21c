/* The scheduling exercise's guests ("Matrix"): loop forever issuing a null hypercall on PORT and
 * stepping a counter by STEP after each return; print the counter every REPORT_EVERY calls.
 * Built as matrix-inc (port 0x10, +1) and matrix-dec (port 0x11, -1); with LIMIT, the guest halts
 * after that many calls. */
#include "include/print.h"

#ifndef LIMIT
#define LIMIT 0
#endif
#define REPORT_EVERY 20000

void main(void) {
  long counter = 0;
  for (unsigned long calls = 1; LIMIT == 0 || calls <= LIMIT; calls++) {
    outb(PORT, 0);
    counter += STEP;
    if (calls % REPORT_EVERY == 0) {
      console_puts("counter ");
      if (counter < 0) { console_putc('-'); print_dec((unsigned long)-counter); } else print_dec((unsigned long)counter);
      console_putc('\n');
    }
  }
  console_puts("done\n");
}
