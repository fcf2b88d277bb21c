/* The disk demo: reads drive 0's size, its directory (sector 0, see docs/disk.md), prints the file
 * "hello.txt", appends a line to the file "log", flushes, and halts. On a read-only drive the
 * append is refused and the guest says so. */
#include "include/paravirt.h"
#include "include/print.h"

#define MAGIC 0x5346564d /* "MVFS" */
#define MAX_FILES 15

struct dir_entry { char name[20]; u32 first_sector; u32 size; u32 capacity; };
struct directory { u32 magic; u32 count; u32 reserved[2]; struct dir_entry files[MAX_FILES]; u8 unused[16]; };
_Static_assert(sizeof(struct directory) == DISK_SECTOR, "one sector");

static struct disk_request req;
static struct directory dir;
static char data[64 * DISK_SECTOR + 1];
static const char line[] = "a guest was here\n";

static u32 disk(u32 op, u64 sector, u32 count, void *buffer) {
  req.op = op;
  req.drive = 0;
  req.sector = sector;
  req.count = count;
  req.buffer = (u64)(unsigned long)buffer;
  return disk_request(&req);
}

static struct dir_entry *find(const char *name) {
  for (u32 i = 0; i < dir.count && i < MAX_FILES; i++) if (str_eq(dir.files[i].name, name)) return &dir.files[i];
  return 0;
}

static void fail(const char *what, u32 status) {
  console_puts(what);
  console_puts(": status ");
  print_dec(status);
  console_putc('\n');
  halt();
}

void main(void) {
  u32 s = disk(DISK_OP_INFO, 0, 0, 0);
  if (s != DISK_OK) fail("info", s);
  int read_only = req.flags & DISK_FLAG_READ_ONLY;
  console_puts("disk: ");
  print_dec(req.result);
  console_puts(read_only ? " sectors, read-only\n" : " sectors, writable\n");

  if ((s = disk(DISK_OP_READ, 0, 1, &dir)) != DISK_OK) fail("directory", s);
  if (dir.magic != MAGIC) fail("directory: bad magic", dir.magic);

  struct dir_entry *hello = find("hello.txt");
  if (hello == 0 || hello->size > sizeof data - 1) fail("hello.txt: missing or too big", 0);
  if ((s = disk(DISK_OP_READ, hello->first_sector, (hello->size + DISK_SECTOR - 1) / DISK_SECTOR, data)) != DISK_OK) fail("hello.txt", s);
  data[hello->size] = 0;
  console_puts(data);

  struct dir_entry *log = find("log");
  u32 len = sizeof line - 1;
  if (log == 0 || log->size + len > log->capacity * DISK_SECTOR) fail("log: missing or full", 0);
  /* Read the sectors the new line touches, put it in, write them back. */
  u32 first = log->size / DISK_SECTOR, last = (log->size + len - 1) / DISK_SECTOR;
  if ((s = disk(DISK_OP_READ, log->first_sector + first, last - first + 1, data)) != DISK_OK) fail("log read", s);
  mem_copy(data + log->size % DISK_SECTOR, line, len);
  s = disk(DISK_OP_WRITE, log->first_sector + first, last - first + 1, data);
  if (s == DISK_READ_ONLY) { console_puts("log: write refused: read-only (status 3)\n"); halt(); }
  if (s != DISK_OK) fail("log write", s);
  log->size += len;
  if ((s = disk(DISK_OP_WRITE, 0, 1, &dir)) != DISK_OK) fail("directory write", s);
  if ((s = disk(DISK_OP_FLUSH, 0, 0, 0)) != DISK_OK) fail("flush", s);
  console_puts("log: appended and flushed\n");
}
