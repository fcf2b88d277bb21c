/* Bad disk requests, each printed as "<what>: status N", then a good 1 MiB read and a write.
 * Run with a writable image of at least 2 MiB, and again with ,ro. */
#include "include/paravirt.h"
#include "include/print.h"

static struct disk_request req;
static char big[1 << 20];

static void report(const char *what, u32 op, u32 drive, u64 sector, u32 count, u64 buffer) {
  req.op = op; req.drive = drive; req.sector = sector; req.count = count; req.buffer = buffer;
  req.status = 0xdead; req.result = 0xdead;
  u32 s = disk_request(&req);
  console_puts(what);
  console_puts(": status ");
  print_dec(s);
  console_puts(", result ");
  print_dec(req.result);
  console_putc('\n');
}

void main(void) {
  report("info", DISK_OP_INFO, 0, 0, 0, 0);
  u64 sectors = req.result;
  u64 buf = (u64)(unsigned long)big;
  report("past the end", DISK_OP_READ, 0, sectors, 1, buf);
  report("across the end", DISK_OP_READ, 0, sectors - 1, 2, buf);
  report("sector overflow", DISK_OP_READ, 0, ~0ull, 2, buf);
  report("buffer outside RAM", DISK_OP_READ, 0, 0, 1, 0x7ffff000);
  report("buffer across RAM's end", DISK_OP_READ, 0, 0, 8, 0x8000000 - 0x200);
  report("huge count", DISK_OP_READ, 0, 0, 0xffffffff, buf);
  report("no such drive", DISK_OP_READ, 7, 0, 1, buf);
  report("no such op", 9, 0, 0, 1, buf);
  report("1 MiB read", DISK_OP_READ, 0, 0, 2048, buf);
  for (unsigned i = 0; i < DISK_SECTOR; i++) big[i] = 'W';
  report("write", DISK_OP_WRITE, 0, 1, 1, buf);
  report("flush", DISK_OP_FLUSH, 0, 0, 0, 0);
}
