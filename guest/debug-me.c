/* A guest to debug (built with -g -O0, for 64-bit long mode and for 32-bit protected mode): the
 * debugger tests break in it, step through it, print and set its variables and watch its globals.
 * Alone it prints the sum of squares 1..limit and waits in spin() until spin_done is set. */
#include "include/print.h"

volatile unsigned long counter;     /* written twice: watch it */
unsigned long limit = 3;            /* read by main: rwatch it */
volatile int spin_done;             /* the debugger sets it to let the guest finish */

static unsigned long square(unsigned long x) {
  unsigned long r = x * x;
  return r;
}

unsigned long add_squares(unsigned long n) {
  unsigned long total = 0;
  for (unsigned long i = 1; i <= n; i++) {
    total += square(i);
  }
  return total;
}

/* unsigned long is 32 bits in the protected-mode build: print_dec's 64-bit division would need libgcc. */
static void put_dec(unsigned long v) {
  char digits[20];
  int n = 0;
  do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v != 0);
  while (n > 0) console_putc(digits[--n]);
}

static void spin(void) {
  console_puts("debug-me: spinning\n");
  while (!spin_done) {
  }
}

void main(void) {
  console_puts("debug-me: start\n");
  counter = 1;
  unsigned long sum = add_squares(limit);
  counter = sum;
  console_puts("debug-me: sum ");
  put_dec(sum);
  console_putc('\n');
  spin();
  console_puts("debug-me: done\n");
}
