/* microvmm guest interface: port I/O helpers and the core devices' ports and bits.
 * Freestanding: include nothing else. */
#ifndef MICROVMM_H
#define MICROVMM_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

/* Console: write a byte; printable bytes are kept until '\n', others are dropped. */
#define CONSOLE_PORT 0x42
/* Keyboard: DATA holds the key; STATUS reads 1 while a key waits; write 0 to STATUS to ack. */
#define KBD_DATA_PORT 0x44
#define KBD_STATUS_PORT 0x45
/* Timer: PERIOD (ms, 8/16/32-bit write); CONTROL bit 0 enable, bit 1 fired (write it 0 to ack). */
#define TIMER_PERIOD_PORT 0x46
#define TIMER_CONTROL_PORT 0x47
#define TIMER_ENABLE 0x1
#define TIMER_FIRED 0x2

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void halt(void) { for (;;) __asm__ volatile("hlt"); }

static inline void console_putc(char c) { outb(CONSOLE_PORT, (u8)c); }
static inline void console_puts(const char *s) { while (*s) console_putc(*s++); }

/* Returns a key, or -1 when none waits. Acks it, so the next one can come. */
static inline int keyboard_getc(void) {
  if ((inb(KBD_STATUS_PORT) & 1) == 0) return -1;
  u8 c = inb(KBD_DATA_PORT);
  outb(KBD_STATUS_PORT, 0);
  return c;
}

static inline void timer_start(u32 period_ms) {
  outl(TIMER_PERIOD_PORT, period_ms);
  outb(TIMER_CONTROL_PORT, TIMER_ENABLE);
}

/* True once per timer event: sees FIRED and acks it (keeping the timer enabled). */
static inline int timer_fired(void) {
  if ((inb(TIMER_CONTROL_PORT) & TIMER_FIRED) == 0) return 0;
  outb(TIMER_CONTROL_PORT, TIMER_ENABLE);
  return 1;
}

#endif
