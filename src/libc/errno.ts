// errno numbers of x86-64 Linux (asm-generic/errno-base.h, errno.h): the ones a VMM meets.
// The message comes from strerror(); the name is ours so errors are greppable.
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const EWOULDBLOCK = EAGAIN;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const ENOTTY = 25;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const EROFS = 30;
export const EPIPE = 32;
export const ERANGE = 34;
export const ENOSYS = 38;
export const EMSGSIZE = 90;
export const EOPNOTSUPP = 95;
export const EADDRINUSE = 98;
export const ENOBUFS = 105;

const NAMES: Record<number, string> = {
  [EPERM]: "EPERM", [ENOENT]: "ENOENT", [EINTR]: "EINTR", [EIO]: "EIO", [ENXIO]: "ENXIO",
  [E2BIG]: "E2BIG", [EBADF]: "EBADF", [EAGAIN]: "EAGAIN", [ENOMEM]: "ENOMEM", [EACCES]: "EACCES",
  [EFAULT]: "EFAULT", [EBUSY]: "EBUSY", [EEXIST]: "EEXIST", [ENODEV]: "ENODEV",
  [ENOTDIR]: "ENOTDIR", [EISDIR]: "EISDIR", [EINVAL]: "EINVAL", [ENFILE]: "ENFILE",
  [EMFILE]: "EMFILE", [ENOTTY]: "ENOTTY", [EFBIG]: "EFBIG", [ENOSPC]: "ENOSPC",
  [ESPIPE]: "ESPIPE", [EROFS]: "EROFS", [EPIPE]: "EPIPE", [ERANGE]: "ERANGE",
  [ENOSYS]: "ENOSYS", [EMSGSIZE]: "EMSGSIZE", [EOPNOTSUPP]: "EOPNOTSUPP", [EADDRINUSE]: "EADDRINUSE",
  [ENOBUFS]: "ENOBUFS",
};

export function errnoName(errno: number): string {
  return NAMES[errno] ?? `errno ${errno}`;
}
