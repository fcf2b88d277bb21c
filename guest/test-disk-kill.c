/* Writes "durable" across sector 0 of drive 0, flushes, says "flushed" through 0xE9, then spins
 * forever: the test kills microvmm at that word and looks in the file. */
#include "include/hypercall.h"
#include "include/paravirt.h"

static struct disk_request req;
static char sector[DISK_SECTOR];

void main(void) {
  for (int i = 0; i < DISK_SECTOR; i++) sector[i] = "durable\n"[i % 8];
  req.op = DISK_OP_WRITE; req.drive = 0; req.sector = 0; req.count = 1; req.buffer = (u64)(unsigned long)sector;
  if (disk_request(&req) != DISK_OK) { hc_puts("write failed\n"); return; }
  req.op = DISK_OP_FLUSH;
  if (disk_request(&req) != DISK_OK) { hc_puts("flush failed\n"); return; }
  hc_puts("flushed\n");
  for (;;) __asm__ volatile("pause");
}
