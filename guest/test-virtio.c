/* A hostile virtio driver: programs the course board's virtio-rng (virtio-mmio at 0xd0000000)
 * directly, first properly, then breaking each rule a device must survive, then properly again.
 * After each case it prints the device status and the used ring's index: a broken queue must
 * leave the device in DEVICE_NEEDS_RESET (0x40) with nothing returned, a good request must come
 * back with random bytes. 32-bit protected mode, no paging: addresses are physical.
 * With one vCPU the board has no interrupt controller, so the driver polls the used ring. */
#include "include/microvmm.h"
#include "include/print.h"

typedef unsigned long long u64;

#define VIRTIO_BASE 0xd0000000u
#define MAGIC 0x000
#define VERSION 0x004
#define DEVICE_ID 0x008
#define DRIVER_FEATURES 0x020
#define DRIVER_FEATURES_SEL 0x024
#define QUEUE_SEL 0x030
#define QUEUE_NUM_MAX 0x034
#define QUEUE_NUM 0x038
#define QUEUE_READY 0x044
#define QUEUE_NOTIFY 0x050
#define STATUS 0x070
#define QUEUE_DESC_LOW 0x080
#define QUEUE_DESC_HIGH 0x084
#define QUEUE_DRIVER_LOW 0x090
#define QUEUE_DRIVER_HIGH 0x094
#define QUEUE_DEVICE_LOW 0x0a0
#define QUEUE_DEVICE_HIGH 0x0a4

#define S_ACKNOWLEDGE 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 0x40

#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

#define N 8

struct desc { u64 addr; u32 len; u16 flags; u16 next; } __attribute__((packed));
struct avail { u16 flags, idx, ring[N], used_event; };
struct used_elem { u32 id, len; };
struct used { u16 flags, idx; struct used_elem ring[N]; u16 avail_event; };

static struct desc table[N] __attribute__((aligned(16)));
static struct desc indirect[4] __attribute__((aligned(16)));
static struct avail avail __attribute__((aligned(4)));
static struct used used __attribute__((aligned(4)));
static u8 buf[64];
static u16 next_avail;

static void w(u32 off, u32 v) { *(volatile u32 *)(VIRTIO_BASE + off) = v; }
static u32 r(u32 off) { return *(volatile u32 *)(VIRTIO_BASE + off); }

static void zero(void *p, u32 n) { for (u32 i = 0; i < n; i++) ((volatile u8 *)p)[i] = 0; }

/* Reset, negotiate VERSION_1 only, set up queue 0 with `size` entries and these areas, make it ready, DRIVER_OK. */
static void setup(u32 size, u32 desc_addr) {
  w(STATUS, 0);
  zero(table, sizeof table); zero(&avail, sizeof avail); zero(&used, sizeof used); zero(buf, sizeof buf);
  next_avail = 0;
  w(STATUS, S_ACKNOWLEDGE);
  w(STATUS, S_ACKNOWLEDGE | S_DRIVER);
  w(DRIVER_FEATURES_SEL, 0); w(DRIVER_FEATURES, 0);
  w(DRIVER_FEATURES_SEL, 1); w(DRIVER_FEATURES, 1); /* bit 32: VIRTIO_F_VERSION_1 */
  w(STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
  w(QUEUE_SEL, 0);
  w(QUEUE_NUM, size);
  w(QUEUE_DESC_LOW, desc_addr); w(QUEUE_DESC_HIGH, 0);
  w(QUEUE_DRIVER_LOW, (u32)&avail); w(QUEUE_DRIVER_HIGH, 0);
  w(QUEUE_DEVICE_LOW, (u32)&used); w(QUEUE_DEVICE_HIGH, 0);
  w(QUEUE_READY, 1);
  w(STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

static void desc(int i, u64 addr, u32 len, u16 flags, u16 next) {
  table[i].addr = addr; table[i].len = len; table[i].flags = flags; table[i].next = next;
}

static void submit(u16 head) {
  avail.ring[next_avail % N] = head;
  next_avail++;
  __asm__ volatile("" ::: "memory"); /* the entry before the index */
  avail.idx = next_avail;
  w(QUEUE_NOTIFY, 0);
}

static void report(const char *name) {
  console_puts(name);
  console_puts(": status ");
  print_hex(r(STATUS), 2);
  console_puts(", used ");
  print_dec(used.idx);
  if (used.idx > 0) {
    console_puts(", length ");
    print_dec(used.ring[0].len);
    int nonzero = 0;
    for (u32 i = 0; i < sizeof buf; i++) nonzero |= buf[i];
    console_puts(nonzero ? ", random bytes" : ", zeros");
  }
  console_putc('\n');
}

int main(void) {
  console_puts("magic ");
  print_hex(r(MAGIC), 8);
  console_puts(", version ");
  print_dec(r(VERSION));
  console_puts(", device ");
  print_dec(r(DEVICE_ID));
  console_puts(", queue max ");
  print_dec(r(QUEUE_NUM_MAX));
  console_putc('\n');

  setup(N, (u32)table);
  desc(0, (u32)buf, sizeof buf, F_WRITE, 0);
  submit(0);
  report("a good request");

  setup(N, 0xfff00000u);
  report("descriptor table outside RAM");

  setup(3, (u32)table);
  report("queue size 3");

  setup(N, (u32)table);
  desc(0, (u32)buf, 8, F_WRITE | F_NEXT, 1);
  desc(1, (u32)buf, 8, F_WRITE | F_NEXT, 0);
  submit(0);
  report("a chain that loops");

  setup(N, (u32)table);
  desc(0, 0x7ffffffffffff000ull, 4096, F_WRITE, 0);
  submit(0);
  report("a buffer outside RAM");

  setup(N, (u32)table);
  desc(0, (u32)buf, 0xffffffffu, F_WRITE, 0);
  submit(0);
  report("a length of 4 GiB - 1");

  setup(N, (u32)table);
  indirect[0].addr = (u32)indirect; indirect[0].len = 16; indirect[0].flags = F_INDIRECT;
  desc(0, (u32)indirect, 16, F_INDIRECT, 0);
  submit(0);
  report("an indirect table inside one");

  setup(N, (u32)table);
  desc(0, (u32)buf, sizeof buf, F_WRITE, 0);
  avail.idx = 1000;
  w(QUEUE_NOTIFY, 0);
  report("an available index 1000 ahead");

  setup(N, (u32)table);
  desc(0, (u32)buf, sizeof buf, F_WRITE, 0);
  submit(9);
  report("a head index past the queue");

  w(STATUS, 0);
  w(QUEUE_NOTIFY, 0);
  report("a notification before set-up");

  setup(N, (u32)table);
  desc(0, (u32)indirect, 16, F_INDIRECT, 0);
  indirect[0].addr = (u32)buf; indirect[0].len = sizeof buf; indirect[0].flags = F_WRITE; indirect[0].next = 0;
  submit(0);
  report("a good request again, indirect");
  return 0;
}
