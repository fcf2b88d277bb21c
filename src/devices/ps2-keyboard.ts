// A PS/2 keyboard behind the i8042, speaking scan code set 1 (what the controller's translation
// gives a kernel, and what every PC kernel's keymap reads). Host input is bytes from a terminal, so
// each byte becomes the key presses that type it: 'A' is Shift down, A down, A up, Shift up; Ctrl-C
// is Ctrl down, C down, C up, Ctrl up; the terminal's arrow, Home/End, Insert/Delete and PgUp/PgDn
// sequences (ESC [ A …) become the extended (E0) keys. A lone ESC is held until the next byte says
// it was not the start of such a sequence.
// The keyboard also answers the commands a kernel sends it through port 0x60 (reset, LEDs,
// identify, scan code set, typematic rate, enable/disable) with ACK (0xFA) and their data.
// It knows nothing of the controller's ports: the i8042 takes bytes from `next()`.
import { ByteQueue } from "./byte-queue";

/** Scan codes waiting for the controller; room for several keys' sequences (at most 6 bytes each). */
const QUEUE_SIZE = 64;
/** The longest sequence one host byte makes (Shift + an extended key is never needed; Ctrl + key is 4). */
const MAX_SEQUENCE = 6;

export const ACK = 0xfa;
export const SELF_TEST_PASSED = 0xaa;
export const ECHO = 0xee;
export const RESEND = 0xfe;

// Keyboard commands (written to port 0x60 with no controller command pending).
export const KBD_SET_LEDS = 0xed;
export const KBD_ECHO = 0xee;
export const KBD_SCAN_CODE_SET = 0xf0;
export const KBD_IDENTIFY = 0xf2;
export const KBD_TYPEMATIC = 0xf3;
export const KBD_ENABLE = 0xf4;
export const KBD_DISABLE = 0xf5;
export const KBD_DEFAULTS = 0xf6;
export const KBD_RESET = 0xff;

// Set 1 make codes (break = make | 0x80).
export const SC_ESC = 0x01;
export const SC_BACKSPACE = 0x0e;
export const SC_TAB = 0x0f;
export const SC_ENTER = 0x1c;
export const SC_CTRL = 0x1d;
export const SC_SHIFT = 0x2a;
export const SC_SPACE = 0x39;
export const EXTENDED = 0xe0;
const BREAK = 0x80;

/** The US layout: set 1 make code and whether Shift is held, for each printable ASCII character. */
const KEYMAP = new Map<number, { code: number; shift: boolean }>();
function row(code: number, plain: string, shifted: string): void {
  for (let i = 0; i < plain.length; i++) {
    KEYMAP.set(plain.charCodeAt(i), { code: code + i, shift: false });
    KEYMAP.set(shifted.charCodeAt(i), { code: code + i, shift: true });
  }
}
row(0x02, "1234567890-=", "!@#$%^&*()_+");
row(0x10, "qwertyuiop[]", "QWERTYUIOP{}");
row(0x1e, "asdfghjkl;'`", "ASDFGHJKL:\"~");
row(0x2b, "\\zxcvbnm,./", "|ZXCVBNM<>?");
KEYMAP.set(0x20, { code: SC_SPACE, shift: false });

/** ESC [ x: cursor keys and the editing block, extended (E0) codes. */
const CSI_KEYS: Record<string, number> = { A: 0x48, B: 0x50, C: 0x4d, D: 0x4b, H: 0x47, F: 0x4f };
/** ESC [ n ~: Home 1, Insert 2, Delete 3, End 4, PgUp 5, PgDn 6. */
const TILDE_KEYS: Record<string, number> = { "1": 0x47, "2": 0x52, "3": 0x53, "4": 0x4f, "5": 0x49, "6": 0x51 };

export class Ps2Keyboard {
  private readonly queue = new ByteQueue(QUEUE_SIZE);
  /** Scanning enabled (reset and KBD_ENABLE turn it on, KBD_DISABLE off): keys are queued only then. */
  private scanning = true;
  /** A command whose data byte comes next. */
  private pendingCommand: number | undefined;
  /** The escape sequence being read from host input ("" after ESC). */
  private escape: string | undefined;
  leds = 0;
  /** Host bytes turned into key presses. */
  keys = 0;

  constructor(private readonly changed: () => void = () => {}) {}

  /** Room for one more host byte's key presses. */
  get space(): number {
    return this.queue.space >= MAX_SEQUENCE * 2 ? 1 : 0;
  }

  /** Whether a scan code or reply waits for the controller. */
  get pending(): boolean {
    return this.queue.length > 0;
  }

  /** The next byte for the controller's output buffer, or -1. */
  next(): number {
    return this.queue.shift();
  }

  /** A byte from the host terminal, typed as key presses. False when there is no room. */
  push(byte: number): boolean {
    if (this.space === 0) return false;
    this.keys++;
    if (this.escape !== undefined) this.continueEscape(byte);
    else if (byte === 0x1b) this.escape = "";
    else this.type(byte);
    this.changed();
    return true;
  }

  /** A byte the guest wrote to port 0x60 for the keyboard. */
  command(byte: number): void {
    const pending = this.pendingCommand;
    this.pendingCommand = undefined;
    if (pending === KBD_SET_LEDS) { this.leds = byte & 0x07; this.reply(ACK); return; }
    if (pending === KBD_TYPEMATIC) { this.reply(ACK); return; }
    if (pending === KBD_SCAN_CODE_SET) {
      // 0 asks which set: 2, as a real keyboard says (the controller's translation makes it set 1).
      this.reply(ACK);
      if (byte === 0) this.reply(0x02);
      return;
    }
    switch (byte) {
      case KBD_SET_LEDS: case KBD_TYPEMATIC: case KBD_SCAN_CODE_SET:
        this.pendingCommand = byte;
        this.reply(ACK);
        break;
      case KBD_ECHO: this.reply(ECHO); break;
      case KBD_IDENTIFY: this.reply(ACK); this.reply(0xab); this.reply(0x41); break; // MF2, translated
      case KBD_ENABLE: this.queue.clear(); this.scanning = true; this.reply(ACK); break;
      case KBD_DISABLE: this.queue.clear(); this.scanning = false; this.reply(ACK); break;
      case KBD_DEFAULTS: this.scanning = true; this.reply(ACK); break;
      case KBD_RESET:
        this.queue.clear();
        this.scanning = true;
        this.leds = 0;
        this.reply(ACK);
        this.reply(SELF_TEST_PASSED);
        break;
      default: this.reply(ACK); break; // set-2/3-only commands: accepted, nothing to do
    }
  }

  private reply(byte: number): void {
    this.queue.push(byte);
    this.changed();
  }

  private type(byte: number): void {
    if (byte === 0x0d || byte === 0x0a) return this.press(SC_ENTER);
    if (byte === 0x7f || byte === 0x08) return this.press(SC_BACKSPACE);
    if (byte === 0x09) return this.press(SC_TAB);
    const key = KEYMAP.get(byte);
    if (key !== undefined) return key.shift ? this.withModifier(SC_SHIFT, key.code) : this.press(key.code);
    if (byte >= 0x01 && byte <= 0x1a) return this.withModifier(SC_CTRL, KEYMAP.get(0x60 + byte)!.code); // Ctrl-A … Ctrl-Z
    // Anything else (bytes of UTF-8 characters, other control codes) has no key: dropped.
  }

  private continueEscape(byte: number): void {
    const seq = this.escape! + String.fromCharCode(byte);
    if (seq === "[" || /^\[[1-6]$/.test(seq)) { this.escape = seq; return; }
    this.escape = undefined;
    const code = seq.length === 2 && seq[0] === "[" ? CSI_KEYS[seq[1]!] : seq.length === 3 && seq[2] === "~" ? TILDE_KEYS[seq[1]!] : undefined;
    if (code !== undefined) { this.pressExtended(code); return; }
    // Not a key's sequence: it was Esc, then whatever followed, typed as it comes.
    this.press(SC_ESC);
    for (const c of seq) {
      if (c === "\x1b") this.escape = "";
      else this.type(c.charCodeAt(0));
    }
  }

  private press(code: number): void {
    this.scan(code, code | BREAK);
  }

  private pressExtended(code: number): void {
    this.scan(EXTENDED, code, EXTENDED, code | BREAK);
  }

  private withModifier(modifier: number, code: number): void {
    this.scan(modifier, code, code | BREAK, modifier | BREAK);
  }

  private scan(...codes: number[]): void {
    if (!this.scanning) return;
    for (const c of codes) this.queue.push(c);
  }
}
