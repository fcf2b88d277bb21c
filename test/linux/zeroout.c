// zeroout DEVICE OFFSET LENGTH: asks the block device to zero a byte range (the BLKZEROOUT ioctl),
// which Linux sends to virtio-blk as WRITE_ZEROES where the device offers it. Busybox has
// blkdiscard but nothing that zeroes; the Linux tests put this, linked statically, in a root image.
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: zeroout DEVICE OFFSET LENGTH\n");
    return 2;
  }
  int fd = open(argv[1], O_WRONLY);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  uint64_t range[2] = {strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0)};
  if (ioctl(fd, BLKZEROOUT, range) != 0) {
    perror("BLKZEROOUT");
    return 1;
  }
  return 0;
}
