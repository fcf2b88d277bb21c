/* microvmm hypercalls: port I/O the VMM answers (KVM keeps `vmcall` for itself, so a userspace
 * VMM sees port I/O). Addresses are guest-virtual and 32-bit: the VMM translates them through
 * the current page tables. Each call is one VM exit. */
#ifndef MICROVMM_HYPERCALL_H
#define MICROVMM_HYPERCALL_H
#include "microvmm.h"

#define HC_DEBUGCON 0xE9      /* out 8:  print the byte as is */
#define HC_PRINT_DECIMAL 0xEA /* out 32: print the value in decimal and "\n" */
#define HC_EXIT_COUNT 0xEB    /* in 32:  VM exits so far, this one included */
#define HC_PRINT_STRING 0xEC  /* out 32: print the NUL-terminated string at this address */
#define HC_IO_COUNTS 0xED     /* in 32:  address of "IO in: X\nIO out: Y\n" (in VMM-owned RAM) */
#define HC_SET_GVA 0xEE       /* out 32: an address to translate ... */
#define HC_HOST_ADDRESS 0xEF  /* in 32:  ... its host virtual address (low 32 bits), 0 if invalid */

static inline void hc_putc(char c) { outb(HC_DEBUGCON, (u8)c); }
static inline void hc_puts(const char *s) { while (*s) hc_putc(*s++); }
static inline void hc_print_decimal(u32 v) { outl(HC_PRINT_DECIMAL, v); }
static inline u32 hc_exit_count(void) { return inl(HC_EXIT_COUNT); }
static inline void hc_print_string(const char *s) { outl(HC_PRINT_STRING, (u32)(unsigned long)s); }
static inline const char *hc_io_counts(void) { return (const char *)(unsigned long)inl(HC_IO_COUNTS); }
static inline u32 hc_host_address(u32 gva) { outl(HC_SET_GVA, gva); return inl(HC_HOST_ADDRESS); }

#endif
