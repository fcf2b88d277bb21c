/* Disk benchmark: reads all of drive 0 in 1 MiB requests; built with -DWRITE, writes it all
 * instead, flushing every 16 MiB. Prints the bytes moved. */
#include "include/paravirt.h"
#include "include/print.h"

#define CHUNK_SECTORS 2048 /* 1 MiB */
static struct disk_request req;
static char buffer[CHUNK_SECTORS * DISK_SECTOR];

void main(void) {
  req.op = DISK_OP_INFO; req.drive = 0;
  disk_request(&req);
  u64 sectors = req.result, moved = 0;
  for (u64 s = 0; s < sectors; s += CHUNK_SECTORS) {
    u32 n = sectors - s < CHUNK_SECTORS ? (u32)(sectors - s) : CHUNK_SECTORS;
    req.op = WRITE ? DISK_OP_WRITE : DISK_OP_READ; req.sector = s; req.count = n; req.buffer = (u64)(unsigned long)buffer;
    if (disk_request(&req) != DISK_OK) { console_puts("disk error\n"); return; }
    moved += req.result;
    if (WRITE && (moved % (16 << 20)) == 0) { req.op = DISK_OP_FLUSH; disk_request(&req); }
  }
  print_dec(moved);
  console_puts(" bytes\n");
}
