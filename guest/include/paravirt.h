/* microvmm's paravirtual disk and memory map. Addresses here are guest-physical. docs/disk.md
 * describes both and the demo image's on-disk layout. */
#ifndef MICROVMM_PARAVIRT_H
#define MICROVMM_PARAVIRT_H
#include "microvmm.h"

typedef unsigned long long u64;

/* Disk: build a request in RAM, write its address to the doorbell; when the `out` returns, the
 * VMM has moved the data and filled in status and result. */
#define DISK_DOORBELL_PORT 0xF0
#define DISK_SECTOR 512
#define DISK_OP_INFO 0
#define DISK_OP_READ 1
#define DISK_OP_WRITE 2
#define DISK_OP_FLUSH 3   /* returns once written data is on stable storage */
#define DISK_OK 0
#define DISK_BAD_REQUEST 1  /* unknown op or drive, buffer not in RAM, more than 64 MiB at once */
#define DISK_OUT_OF_RANGE 2 /* sectors past the end of the image */
#define DISK_READ_ONLY 3    /* a write to a drive attached with ,ro */
#define DISK_IO_ERROR 4
#define DISK_FLAG_READ_ONLY 1

struct disk_request {
  u32 op;
  u32 drive;    /* 0 for the first --disk */
  u64 sector;   /* first sector */
  u32 count;    /* sectors */
  u32 status;   /* out: DISK_OK, ... */
  u64 buffer;   /* guest-physical address of the data */
  u64 result;   /* out: bytes moved; for DISK_OP_INFO, the size in sectors */
  u32 flags;    /* out: for DISK_OP_INFO, DISK_FLAG_READ_ONLY */
  u32 reserved;
};
_Static_assert(sizeof(struct disk_request) == 48, "the VMM reads 48 bytes");

static inline u32 disk_request(struct disk_request *r) {
  /* The memory clobbers make the compiler store the request before the `out` and read the
   * VMM's answer after it. */
  __asm__ volatile("" : : : "memory");
  outl(DISK_DOORBELL_PORT, (u32)(unsigned long)r);
  __asm__ volatile("" : : : "memory");
  return r->status;
}

/* Memory map: buffer address to 0xF1, capacity (entries) to 0xF2, then read 0xF2: the number of
 * entries the map has (the VMM wrote at most the capacity). */
#define MEMMAP_BUFFER_PORT 0xF1
#define MEMMAP_COUNT_PORT 0xF2
#define MEMMAP_USABLE 1
#define MEMMAP_RESERVED 2

struct memmap_entry {
  u64 base;
  u64 length;
  u32 type;
  u32 zero;
};

static inline u32 memmap_get(struct memmap_entry *entries, u32 capacity) {
  outl(MEMMAP_BUFFER_PORT, (u32)(unsigned long)entries);
  outl(MEMMAP_COUNT_PORT, capacity);
  __asm__ volatile("" : : : "memory");
  u32 n = inl(MEMMAP_COUNT_PORT);
  __asm__ volatile("" : : : "memory");
  return n;
}

#endif
