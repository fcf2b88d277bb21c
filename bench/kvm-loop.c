/* The reference for the exit benchmarks: the smallest C KVM loop that runs a raw real-mode image
 * at 0 and counts port-I/O exits until HLT; with --print, it also writes each byte the guest
 * sends to port 0x42 to stdout (through stdio's buffer), one exit per byte; with
 * --print-coalesced, the same bytes wait in KVM's coalesced ring from the first one (the floor for
 * batched output: no bookkeeping, no devices). --ram MIB gives the VM that much memory, laid out as
 * microvmm lays it out (up to 3 GiB at 0, the rest from 4 GiB): what KVM itself charges for a
 * large guest's memory slots, to set beside microvmm's -m.
 * Usage: kvm-loop IMAGE [--print | --print-coalesced] [--ram MIB] */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAM (2 << 20)
#define LOW_RAM (3ul << 30)
#define HIGH_RAM_BASE (4ul << 30)
/* KVM_COALESCED_MMIO_MAX needs the page size, which <linux/kvm.h> leaves to the includer. */
#ifndef PAGE_SIZE
#define PAGE_SIZE 4096
#endif

static void die(const char *what) { perror(what); exit(1); }

int main(int argc, char **argv) {
  int print = 0, coalesced = 0;
  unsigned long ram = RAM;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--print") == 0) print = 1;
    else if (strcmp(argv[i], "--print-coalesced") == 0) print = coalesced = 1;
    else if (strcmp(argv[i], "--ram") == 0 && i + 1 < argc) ram = strtoul(argv[++i], NULL, 0) << 20;
    else argc = 0;
  }
  if (argc < 2 || ram < RAM) { fprintf(stderr, "usage: kvm-loop IMAGE [--print | --print-coalesced] [--ram MIB]\n"); return 2; }
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) die("/dev/kvm");
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) die("KVM_CREATE_VM");
  unsigned char *mem = mmap(NULL, ram, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) die("mmap");
  int img = open(argv[1], O_RDONLY);
  if (img < 0 || read(img, mem, RAM) <= 0) die(argv[1]);
  unsigned long low = ram < LOW_RAM ? ram : LOW_RAM;
  struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = 0, .memory_size = low, .userspace_addr = (unsigned long)mem };
  if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");
  struct kvm_userspace_memory_region high = { .slot = 1, .guest_phys_addr = HIGH_RAM_BASE, .memory_size = ram - low, .userspace_addr = (unsigned long)mem + low };
  if (ram > low && ioctl(vm, KVM_SET_USER_MEMORY_REGION, &high) < 0) die("KVM_SET_USER_MEMORY_REGION");
  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) die("KVM_CREATE_VCPU");
  int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  struct kvm_run *run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (run == MAP_FAILED) die("mmap kvm_run");
  struct kvm_coalesced_mmio_ring *ring = NULL;
  if (coalesced) {
    int page = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
    if (page <= 0 || ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) <= 0) { fprintf(stderr, "no coalesced PIO\n"); return 1; }
    struct kvm_coalesced_mmio_zone zone = { .addr = 0x42, .size = 1, .pio = 1 };
    if (ioctl(vm, KVM_REGISTER_COALESCED_MMIO, &zone) < 0) die("KVM_REGISTER_COALESCED_MMIO");
    ring = (struct kvm_coalesced_mmio_ring *)((char *)run + page * 4096);
  }
  struct kvm_sregs sregs;
  if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
  sregs.cs.selector = 0; sregs.cs.base = 0;
  if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
  struct kvm_regs regs = { .rip = 0, .rflags = 2 };
  if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");
  unsigned long io = 0;
  for (;;) {
    if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
    for (; ring && ring->first != ring->last; ring->first = (ring->first + 1) % KVM_COALESCED_MMIO_MAX) {
      fputc(ring->coalesced_mmio[ring->first].data[0], stdout);
    }
    if (run->exit_reason == KVM_EXIT_IO) {
      io++;
      if (print && run->io.port == 0x42 && run->io.direction == KVM_EXIT_IO_OUT) fputc(*((unsigned char *)run + run->io.data_offset), stdout);
      continue;
    }
    if (run->exit_reason == KVM_EXIT_HLT) break;
    fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
    return 1;
  }
  if (!print) printf("%lu\n", io);
  return 0;
}
