// libc through bun:ffi: the only module of the VMM's threads that calls dlopen (the input worker,
// a thread of its own, binds its two calls itself: host/input-worker.ts says why). Each wrapper makes one call, checks
// for -1, reads errno on the same thread right away, and throws a SyscallError naming the call.
import { CString, dlopen, FFIType, ptr, read as ffiRead, toArrayBuffer, type Pointer } from "bun:ffi";
import { EAGAIN, EINTR, errnoName } from "./errno";
import { u64At } from "../binary/struct";

const lib = dlopen("libc.so.6", {
  open: { args: ["cstring", "i32", "u32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  // ioctl is variadic; fixed (int, unsigned long, void*) is safe on x86-64 SysV (glibc only reads %rdx).
  ioctl: { args: ["i32", "u64", "ptr"], returns: "i32" },
  // mmap returns MAP_FAILED as (void*)-1: as i64_fast it is plainly -1.
  mmap: { args: ["ptr", "u64", "i32", "i32", "i32", "i64"], returns: FFIType.i64_fast },
  munmap: { args: ["ptr", "u64"], returns: "i32" },
  madvise: { args: ["ptr", "u64", "i32"], returns: "i32" },
  read: { args: ["i32", "ptr", "u64"], returns: FFIType.i64_fast },
  write: { args: ["i32", "ptr", "u64"], returns: FFIType.i64_fast },
  pread: { args: ["i32", "ptr", "u64", "i64"], returns: FFIType.i64_fast },
  preadv: { args: ["i32", "ptr", "i32", "i64"], returns: FFIType.i64_fast },
  pwritev: { args: ["i32", "ptr", "i32", "i64"], returns: FFIType.i64_fast },
  writev: { args: ["i32", "ptr", "i32"], returns: FFIType.i64_fast },
  pwrite: { args: ["i32", "ptr", "u64", "i64"], returns: FFIType.i64_fast },
  fsync: { args: ["i32"], returns: "i32" },
  flock: { args: ["i32", "i32"], returns: "i32" },
  lseek: { args: ["i32", "i64", "i32"], returns: FFIType.i64_fast },
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  isatty: { args: ["i32"], returns: "i32" },
  tcgetattr: { args: ["i32", "ptr"], returns: "i32" },
  tcsetattr: { args: ["i32", "i32", "ptr"], returns: "i32" },
  gettid: { args: [], returns: "i32" },
  _exit: { args: ["i32"], returns: "void" },
  timer_create: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  timer_settime: { args: ["u64", "i32", "ptr", "ptr"], returns: "i32" },
  timer_delete: { args: ["u64"], returns: "i32" },
  strerror: { args: ["i32"], returns: "ptr" },
  __errno_location: { args: [], returns: "ptr" },
});
const sym = lib.symbols;

/**
 * pthread_self and pthread_kill, bound on first use: only threads that kick (input, APs) need them, and every symbol bound costs
 * startup time (bun:ffi compiles a trampoline for each).
 */
let threadSyms: ReturnType<typeof bindThreads> | undefined;
const bindThreads = () => dlopen("libc.so.6", {
  pthread_self: { args: [], returns: FFIType.u64 },
  pthread_kill: { args: [FFIType.u64, FFIType.i32], returns: FFIType.i32 },
}).symbols;
const threads = () => (threadSyms ??= bindThreads());

/** eventfd and prctl, bound on first use: only a VM with a device thread needs them. */
let eventSyms: ReturnType<typeof bindEvents> | undefined;
const bindEvents = () => dlopen("libc.so.6", {
  eventfd: { args: [FFIType.u32, FFIType.i32], returns: FFIType.i32 },
  prctl: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
}).symbols;

const PR_SET_NAME = 15;

/** Names the calling thread (at most 15 bytes kept), as `top -H`, `ps -L` and /proc/PID/task/TID/comm show it. */
export function setThreadName(name: string): void {
  const bytes = new Uint8Array(16);
  bytes.set(new TextEncoder().encode(name).subarray(0, 15));
  check((eventSyms ??= bindEvents()).prctl(PR_SET_NAME, bytes, 0, 0, 0), "prctl(PR_SET_NAME)");
}

/** A failed libc call: which call (and on what), the errno, its name and meaning. */
export class SyscallError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call}: ${errnoName(errno)} (${strerror(errno)})`);
    this.name = "SyscallError";
  }
}

export function errno(): number {
  const p = sym.__errno_location();
  return p === null ? 0 : ffiRead.i32(p, 0);
}

export function strerror(e: number): string {
  const p = sym.strerror(e);
  return p === null ? `errno ${e}` : new CString(p).toString();
}

function check(r: number, call: string): number {
  if (r === -1) throw new SyscallError(call, errno());
  return r;
}

// open(2) flags and modes used by the VMM.
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

export function open(path: string, flags: number, mode = 0o644): number {
  // A NUL in the path would silently shorten it.
  if (path.includes("\0")) throw new SyscallError(`open(${path})`, 22);
  return check(sym.open(Buffer.from(path + "\0") as unknown as string, flags, mode), `open(${path})`);
}

export function close(fd: number): void {
  check(sym.close(fd), "close");
}

/** ioctl with a pointer argument (a struct in a typed array) or none. Returns the result (≥ 0). */
export function ioctl(fd: number, request: number, arg: NodeJS.TypedArray | null, name: string): number {
  return check(sym.ioctl(fd, request, arg as never), `ioctl(${name})`);
}

/** ioctl with an integer argument (a `ptr` argument passes a number through unchanged). */
export function ioctlInt(fd: number, request: number, arg: number, name: string): number {
  return check(sym.ioctl(fd, request, arg as unknown as Pointer), `ioctl(${name})`);
}

/** ioctl that reports failure as an errno instead of throwing: for the KVM_RUN hot path. */
export function ioctlRaw(fd: number, request: number): number {
  const r = sym.ioctl(fd, request, null);
  return r === -1 ? -errno() : r;
}

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;

/** mmap; returns the address as a number (user-space addresses fit in 47 bits). */
export function mmap(length: number, prot: number, flags: number, fd: number, offset: number, what: string): number {
  const addr = Number(sym.mmap(null, length, prot, flags, fd, offset));
  if (addr === -1) throw new SyscallError(`mmap(${what})`, errno());
  return addr;
}

/** madvise(2) advice: back this range with transparent huge pages where the host allows. */
export const MADV_HUGEPAGE = 14;

/** madvise(2); advice is only a hint, so a refusal is returned (-errno), not thrown. */
export function madvise(addr: number, length: number, advice: number): number {
  const r = sym.madvise(addr as unknown as Pointer, length, advice);
  return r < 0 ? -errno() : r;
}

export function munmap(addr: number, length: number): void {
  check(sym.munmap(addr as unknown as Pointer, length), "munmap");
}

/** A zero-copy view of host memory at addr (which must stay mapped while the view lives). */
export function hostView(addr: number, length: number): ArrayBuffer {
  return toArrayBuffer(addr as unknown as Pointer, 0, length);
}

/** read(2) once; returns bytes read, 0 at EOF. Retries on EINTR. */
export function read(fd: number, buf: Uint8Array): number {
  for (;;) {
    const r = Number(sym.read(fd, buf, buf.length));
    if (r >= 0) return r;
    const e = errno();
    if (e !== EINTR) throw new SyscallError("read", e);
  }
}

/** read(2) once on a non-blocking fd: bytes read, or -1 when there is nothing yet (EAGAIN). Retries on EINTR. */
export function readSome(fd: number, buf: Uint8Array): number {
  for (;;) {
    const r = Number(sym.read(fd, buf, buf.length));
    if (r >= 0) return r;
    const e = errno();
    if (e === EAGAIN) return -1;
    if (e !== EINTR) throw new SyscallError("read", e);
  }
}

/** write(2) once (a packet fd takes a whole frame or nothing): bytes written, or -1 when it would block. */
export function writeOnce(fd: number, buf: Uint8Array): number {
  for (;;) {
    const r = Number(sym.write(fd, buf, buf.length));
    if (r >= 0) return r;
    const e = errno();
    if (e === EAGAIN) return -1;
    if (e !== EINTR) throw new SyscallError("write", e);
  }
}

/** Write all of buf; retries short writes and EINTR. */
export function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) {
    const part = off === 0 ? buf : buf.subarray(off);
    const r = Number(sym.write(fd, part, part.length));
    if (r >= 0) { off += r; continue; }
    const e = errno();
    if (e !== EINTR) throw new SyscallError("write", e);
  }
}

export function pread(fd: number, buf: Uint8Array, offset: number): number {
  for (;;) {
    const r = Number(sym.pread(fd, buf, buf.length, offset));
    if (r >= 0) return r;
    const e = errno();
    if (e !== EINTR) throw new SyscallError("pread", e);
  }
}

export function pwrite(fd: number, buf: Uint8Array, offset: number): number {
  for (;;) {
    const r = Number(sym.pwrite(fd, buf, buf.length, offset));
    if (r >= 0) return r;
    const e = errno();
    if (e !== EINTR) throw new SyscallError("pwrite", e);
  }
}

/** IOV_MAX: the most buffers one preadv/pwritev takes. */
export const IOV_MAX = 1024;
const iovecs = new BigUint64Array(2 * IOV_MAX);
/** The same iovecs as 32-bit halves: filled from host addresses without a BigInt per entry. */
const iovecWords = new Uint32Array(iovecs.buffer);

/**
 * preadv(2) (or pwritev) of `bufs` at `offset`, at most IOV_MAX of them: the bytes moved, which
 * may be fewer than asked (the caller goes on from there). Retries on EINTR.
 */
export function preadv(fd: number, bufs: readonly Uint8Array[], offset: number, write = false): number {
  const n = Math.min(bufs.length, IOV_MAX);
  for (let i = 0; i < n; i++) {
    iovecs[2 * i] = BigInt(ptr(bufs[i]!));
    iovecs[2 * i + 1] = BigInt(bufs[i]!.length);
  }
  for (;;) {
    const r = Number(write ? sym.pwritev(fd, iovecs, n, offset) : sym.preadv(fd, iovecs, n, offset));
    if (r >= 0) return r;
    const e = errno();
    if (e !== EINTR) throw new SyscallError(write ? "pwritev" : "preadv", e);
  }
}

/** Fills the first `count` iovecs (at most IOV_MAX) with host ranges addrs[i], lens[i]; returns how many. */
function hostIovecs(addrs: Float64Array, lens: Float64Array, count: number): number {
  const n = Math.min(count, IOV_MAX);
  for (let i = 0; i < n; i++) {
    const a = addrs[i]!;
    const l = lens[i]!;
    iovecWords[4 * i] = a % 0x100000000;
    iovecWords[4 * i + 1] = Math.floor(a / 0x100000000);
    iovecWords[4 * i + 2] = l % 0x100000000;
    iovecWords[4 * i + 3] = Math.floor(l / 0x100000000);
  }
  return n;
}

/**
 * preadv(2) (or pwritev) into (from) `count` host ranges, addrs[i] and lens[i], at most IOV_MAX:
 * the bytes moved, which may be fewer than asked. The addresses must be the caller's own checked
 * memory (GuestMemory.hostRange): nothing here can check them. Retries on EINTR.
 */
export function preadvHost(fd: number, addrs: Float64Array, lens: Float64Array, count: number, offset: number, write = false): number {
  const n = hostIovecs(addrs, lens, count);
  for (;;) {
    const r = Number(write ? sym.pwritev(fd, iovecs, n, offset) : sym.preadv(fd, iovecs, n, offset));
    if (r >= 0) return r;
    const e = errno();
    if (e !== EINTR) throw new SyscallError(write ? "pwritev" : "preadv", e);
  }
}

/**
 * writev(2) once from `count` host ranges (checked as for preadvHost), on a non-blocking fd that
 * takes a whole packet or nothing: the bytes written, or -1 when it would block. Retries on EINTR.
 */
export function writevHost(fd: number, addrs: Float64Array, lens: Float64Array, count: number): number {
  const n = hostIovecs(addrs, lens, count);
  for (;;) {
    const r = Number(sym.writev(fd, iovecs, n));
    if (r >= 0) return r;
    const e = errno();
    if (e === EAGAIN) return -1;
    if (e !== EINTR) throw new SyscallError("writev", e);
  }
}

export function fsync(fd: number): void {
  check(sym.fsync(fd), "fsync");
}

/** fallocate, bound on first use: only a guest that discards or zeroes disk blocks needs it. */
let fileSyms: ReturnType<typeof bindFiles> | undefined;
const bindFiles = () => dlopen("libc.so.6", {
  fallocate: { args: [FFIType.i32, FFIType.i32, FFIType.i64, FFIType.i64], returns: FFIType.i32 },
}).symbols;

// fallocate(2) modes (linux/falloc.h).
export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;
export const FALLOC_FL_ZERO_RANGE = 0x10;

/** fallocate(2): `mode` over [offset, offset + length) of an open file or block device. */
export function fallocate(fd: number, mode: number, offset: number, length: number): void {
  const f = (fileSyms ??= bindFiles()).fallocate;
  for (;;) {
    if (f(fd, mode, offset, length) === 0) return;
    const e = errno();
    if (e !== EINTR) throw new SyscallError("fallocate", e);
  }
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;

export function flock(fd: number, op: number): void {
  check(sym.flock(fd, op), "flock");
}

const SEEK_END = 2;

/** The size of an open file (lseek to its end; pread/pwrite do not use the offset). */
export function fstatSize(fd: number): number {
  return check(Number(sym.lseek(fd, 0, SEEK_END)), "lseek");
}

export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;

/** eventfd(2): a counter the kernel (KVM's ioeventfd and irqfd) and threads can signal and wait on. */
export function eventfd(flags = EFD_NONBLOCK | EFD_CLOEXEC): number {
  return check((eventSyms ??= bindEvents()).eventfd(0, flags), "eventfd");
}

/** Adds 1 to an eventfd's counter (wakes what waits on it). */
export function eventfdSignal(fd: number): void {
  writeOnce(fd, EVENTFD_ONE);
}

/** Takes an eventfd's counter: how many signals since the last take (0 if none). */
export function eventfdTake(fd: number): number {
  return readSome(fd, eventfdValue) === 8 ? u64At(eventfdView, 0) : 0;
}
const EVENTFD_ONE = new Uint8Array(new BigUint64Array([1n]).buffer);
const eventfdValue = new Uint8Array(8);
const eventfdView = new DataView(eventfdValue.buffer);

export const POLLIN = 0x001;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;

/** poll(2) over a prepared pollfd array (8 bytes each: fd i32, events i16, revents i16). */
export function poll(fds: Uint8Array, nfds: number, timeoutMs: number): number {
  const r = sym.poll(fds, nfds, timeoutMs);
  if (r === -1) {
    const e = errno();
    if (e === EINTR) return 0;
    throw new SyscallError("poll", e);
  }
  return r;
}

export function isatty(fd: number): boolean {
  return sym.isatty(fd) === 1;
}

/** struct termios (glibc x86-64) is 60 bytes. */
export const TERMIOS_SIZE = 60;
export const TCSANOW = 0;

export function tcgetattr(fd: number, termios: Uint8Array): void {
  check(sym.tcgetattr(fd, termios), "tcgetattr");
}

export function tcsetattr(fd: number, termios: Uint8Array): void {
  check(sym.tcsetattr(fd, TCSANOW, termios), "tcsetattr");
}

/**
 * _exit(2): ends the process now, skipping the runtime's teardown. Only for when everything the
 * process owes the world (output, terminal state) is already done: all microvmm output goes
 * through write(2) directly, so there is nothing buffered to lose.
 */
export function exitNow(status: number): never {
  sym._exit(status);
  throw new Error("_exit returned");
}

export function gettid(): number {
  return sym.gettid();
}

/** The calling thread's pthread_t (for pthread_kill from another thread). */
export function pthreadSelf(): bigint {
  return threads().pthread_self();
}

/** Sends `signo` to a thread of this process (a kick out of KVM_RUN); only while that thread lives. */
export function pthreadKill(thread: bigint, signo: number): void {
  threads().pthread_kill(thread, signo);
}


const CLOCK_MONOTONIC = 1;
const SIGEV_THREAD_ID = 4;

/**
 * A periodic POSIX timer that sends `signo` to the calling thread only (SIGEV_THREAD_ID), so a
 * blocking call on this thread (KVM_RUN) returns EINTR every `periodNs`. Returns the timer id.
 */
export function threadTimerCreate(signo: number): bigint {
  const sev = new Uint8Array(64); // struct sigevent
  const dv = new DataView(sev.buffer);
  dv.setInt32(8, signo, true); // sigev_signo
  dv.setInt32(12, SIGEV_THREAD_ID, true); // sigev_notify
  dv.setInt32(16, gettid(), true); // sigev_notify_thread_id
  const id = new BigUint64Array(1);
  check(sym.timer_create(CLOCK_MONOTONIC, sev, id), "timer_create");
  return id[0]!;
}

export function timerSettime(id: bigint, intervalNs: bigint, valueNs: bigint): void {
  const spec = new BigInt64Array(4); // struct itimerspec { it_interval, it_value }
  spec[0] = intervalNs / 1_000_000_000n;
  spec[1] = intervalNs % 1_000_000_000n;
  spec[2] = valueNs / 1_000_000_000n;
  spec[3] = valueNs % 1_000_000_000n;
  check(sym.timer_settime(id, 0, spec, null), "timer_settime");
}

export function timerDelete(id: bigint): void {
  check(sym.timer_delete(id), "timer_delete");
}

// Sockets (the debugger's connection, --gdb): bound on first use, as pthread_self above.
let socketSyms: ReturnType<typeof bindSockets> | undefined;
const bindSockets = () => dlopen("libc.so.6", {
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
  listen: { args: ["i32", "i32"], returns: "i32" },
  accept4: { args: ["i32", "ptr", "ptr", "i32"], returns: "i32" },
  setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
  getsockname: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  send: { args: ["i32", "ptr", "u64", "i32"], returns: FFIType.i64_fast },
  recv: { args: ["i32", "ptr", "u64", "i32"], returns: FFIType.i64_fast },
}).symbols;
const sockets = () => (socketSyms ??= bindSockets());

export const AF_UNIX = 1;
export const AF_INET = 2;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;

export function socket(domain: number, type: number): number {
  return check(sockets().socket(domain, type, 0), "socket");
}

export function bind(fd: number, address: Uint8Array): void {
  check(sockets().bind(fd, address, address.length), "bind");
}

export function listen(fd: number, backlog: number): void {
  check(sockets().listen(fd, backlog), "listen");
}

/** accept4(2) without blocking (the listening socket is non-blocking): the new fd, or -1 if none waits. */
export function accept(fd: number, flags: number): number {
  const r = sockets().accept4(fd, null, null, flags);
  if (r >= 0) return r;
  const e = errno();
  if (e === EAGAIN || e === EINTR) return -1;
  throw new SyscallError("accept4", e);
}

export function setsockoptInt(fd: number, level: number, option: number, value: number): void {
  check(sockets().setsockopt(fd, level, option, new Int32Array([value]), 4), "setsockopt");
}

/** getsockname(2) into a 128-byte sockaddr_storage. */
export function getsockname(fd: number): Uint8Array {
  const buf = new Uint8Array(128);
  const len = new Uint32Array([buf.length]);
  check(sockets().getsockname(fd, buf, len), "getsockname");
  return buf.subarray(0, len[0]);
}

/** send(2) without SIGPIPE (a peer that went away is EPIPE) and without blocking: bytes sent, 0 if it would block. */
export function send(fd: number, buf: Uint8Array): number {
  for (;;) {
    const r = Number(sockets().send(fd, buf, buf.length, MSG_NOSIGNAL | MSG_DONTWAIT));
    if (r >= 0) return r;
    const e = errno();
    if (e === EAGAIN) return 0;
    if (e !== EINTR) throw new SyscallError("send", e);
  }
}

/** recv(2) without blocking: bytes read, 0 at EOF, -1 if nothing is there yet. */
export function recv(fd: number, buf: Uint8Array): number {
  for (;;) {
    const r = Number(sockets().recv(fd, buf, buf.length, MSG_DONTWAIT));
    if (r >= 0) return r;
    const e = errno();
    if (e === EAGAIN) return -1;
    if (e !== EINTR) throw new SyscallError("recv", e);
  }
}
