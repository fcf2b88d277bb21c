// Host keyboard input: stdin read one byte at a time, never blocking (poll with a zero timeout
// before each read). On a terminal, Ctrl-A starts a command as in QEMU: Ctrl-A x quits,
// Ctrl-A Ctrl-A sends one Ctrl-A. On a pipe every byte is data and EOF just means no more keys.
import * as libc from "../libc/libc";

export const CTRL_A = 0x01;
const QUIT_KEY = 0x78; // 'x'

/** Where keys go: a keyboard or a UART's receive FIFO. */
export interface KeySink {
  readonly space: number;
  push(byte: number): boolean;
}

/** Where keys come from: `pull` moves what is waiting (and fits) into the sink, without blocking. */
export interface KeySource {
  pull(sink: KeySink): void;
}

export const FORWARD_NONE = -1;
export const QUIT = -2;

/** The Ctrl-A escape state machine: each byte in gives a byte to forward, FORWARD_NONE or QUIT. */
export class EscapeDecoder {
  private pending = false;

  feed(b: number): number {
    if (this.pending) {
      this.pending = false;
      if (b === QUIT_KEY) return QUIT;
      if (b === CTRL_A) return CTRL_A;
      return FORWARD_NONE; // unknown command: dropped, as QEMU does
    }
    if (b === CTRL_A) { this.pending = true; return FORWARD_NONE; }
    return b;
  }
}

export class HostInput implements KeySource {
  private readonly pollfd = new Uint8Array(8); // struct pollfd { int fd; short events, revents; }
  private readonly pollView = new DataView(this.pollfd.buffer);
  private readonly byte = new Uint8Array(1);
  private readonly escape: EscapeDecoder | undefined;
  private ended = false;
  private readonly quitListeners: Array<() => void> = [];
  quitRequested = false;

  constructor(fd: number, tty: boolean) {
    this.pollView.setInt32(0, fd, true);
    this.pollView.setInt16(4, libc.POLLIN, true);
    this.escape = tty ? new EscapeDecoder() : undefined;
  }

  /** stdin is at its end (or gone): there will be no more keys. */
  get eof(): boolean {
    return this.ended;
  }

  /** Calls `listener` when the user asks to quit (Ctrl-A x), right as the key is read. */
  onQuit(listener: () => void): void {
    this.quitListeners.push(listener);
  }

  /** Moves every byte that is ready (and fits in the sink) from stdin to the sink. */
  pull(sink: KeySink): void {
    const fd = this.pollView.getInt32(0, true);
    while (!this.ended && !this.quitRequested && sink.space > 0) {
      this.pollView.setInt16(6, 0, true);
      if (libc.poll(this.pollfd, 1, 0) === 0) return;
      const revents = this.pollView.getInt16(6, true);
      if ((revents & libc.POLLIN) === 0) { this.ended = true; return; } // HUP, ERR or NVAL alone: no more input
      if (libc.read(fd, this.byte) === 0) { this.ended = true; return; }
      const b = this.escape === undefined ? this.byte[0]! : this.escape.feed(this.byte[0]!);
      if (b === QUIT) {
        this.quitRequested = true;
        for (const l of this.quitListeners) l();
      } else if (b >= 0) sink.push(b);
    }
  }
}
