/* The echo demo: type a line and press Enter; from then on the guest prints that line on every
 * timer event, until another line is entered. Backspace deletes. Everything is polled: one loop
 * asks the keyboard, then the timer, forever. */
#include "include/microvmm.h"

#ifndef TICK_MS
#define TICK_MS 1000
#endif
#define LINE_MAX 78

static char typing[LINE_MAX + 1]; /* the line being typed */
static unsigned typing_len;
static char shown[LINE_MAX + 1]; /* the line printed on each tick */
static unsigned shown_len;

static void key(int c) {
  if (c == '\r' || c == '\n') {
    if (typing_len == 0) return; /* an empty line changes nothing */
    for (unsigned i = 0; i < typing_len; i++) shown[i] = typing[i];
    shown_len = typing_len;
    shown[shown_len] = 0;
    typing_len = 0;
  } else if (c == 0x7f || c == '\b') {
    if (typing_len > 0) typing_len--;
  } else if (c >= 0x20 && c < 0x7f && typing_len < LINE_MAX) {
    typing[typing_len++] = (char)c;
  }
}

void main(void) {
  console_puts("echo demo: type a line and press Enter (Ctrl-A x quits)\n");
  timer_start(TICK_MS);
  for (;;) {
    int c = keyboard_getc();
    if (c >= 0) key(c);
    if (timer_fired() && shown_len > 0) {
      console_puts(shown);
      console_putc('\n');
    }
  }
}
