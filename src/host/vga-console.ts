// --console vga: the terminal shows the guest's VGA text screen, drawn live in the terminal's
// alternate screen, and keys go to the PS/2 keyboard. COM1 and debugcon output would tear the
// drawing, so it is held (the last HELD_MAX bytes) and printed when the VM ends, after the final
// screen, which is left on the terminal as text.
import { enterAlternateScreen, leaveAlternateScreen } from "./terminal";
import { ENTER_SCREEN, LEAVE_SCREEN, screenText, TerminalScreen } from "./screen";
import * as libc from "../libc/libc";

export const HELD_MAX = 64 << 10;
const encoder = new TextEncoder();

export class VgaConsole {
  private readonly screen = new TerminalScreen();
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private dropped = 0;
  private last: Uint8Array | undefined;

  constructor(private readonly fd: number) {}

  start(): void {
    enterAlternateScreen(this.fd, ENTER_SCREEN, LEAVE_SCREEN);
  }

  /** Serial and debugcon output while the screen is shown: kept for the end. */
  readonly output = (bytes: Uint8Array): void => {
    this.held.push(bytes.slice());
    this.heldBytes += bytes.length;
    while (this.heldBytes > HELD_MAX) {
      const first = this.held.shift()!;
      this.heldBytes -= first.length;
      this.dropped += first.length;
    }
  };

  readonly display = (cells: Uint8Array, cursor: { row: number; column: number } | undefined): void => {
    this.last = cells;
    const frame = this.screen.frame(cells, cursor);
    if (frame !== "") libc.writeAll(this.fd, encoder.encode(frame));
  };

  /** Back to the terminal's main screen: the last screen as text, then the held output. */
  end(): void {
    leaveAlternateScreen(this.fd);
    if (this.last !== undefined) libc.writeAll(this.fd, encoder.encode(screenText(this.last).replace(/\n+$/, "\n")));
    if (this.dropped > 0) libc.writeAll(this.fd, encoder.encode(`[${this.dropped} earlier bytes of serial output not kept]\n`));
    for (const b of this.held) libc.writeAll(this.fd, b);
    this.held = [];
  }
}
