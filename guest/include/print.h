/* Small formatted output through the console (port 0x42): enough for guests' reports. */
#ifndef MICROVMM_PRINT_H
#define MICROVMM_PRINT_H
#include "microvmm.h"

static inline void print_hex(unsigned long long v, int digits) {
  console_puts("0x");
  for (int i = digits - 1; i >= 0; i--) console_putc("0123456789abcdef"[(v >> (4 * i)) & 0xf]);
}

static inline void print_dec(unsigned long long v) {
  char digits[20];
  int n = 0;
  do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v != 0);
  while (n > 0) console_putc(digits[--n]);
}

static inline int str_eq(const char *a, const char *b) {
  while (*a && *a == *b) { a++; b++; }
  return *a == *b;
}

static inline void mem_copy(void *dst, const void *src, unsigned long n) {
  for (unsigned long i = 0; i < n; i++) ((char *)dst)[i] = ((const char *)src)[i];
}

#endif
