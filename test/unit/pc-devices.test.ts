import { describe, expect, test } from "bun:test";
import * as K from "../../src/devices/i8042";
import * as P from "../../src/devices/ps2-keyboard";
import { PciHostNoDevices } from "../../src/devices/pci-host";
import { SystemControlA } from "../../src/devices/system-control";
import * as V from "../../src/devices/vga";
import { cp437, screenText, sgr, TerminalScreen } from "../../src/host/screen";

function keyboardController() {
  const irqs: boolean[] = [];
  let resets = 0;
  const k = new K.I8042(() => { resets++; }, (l) => irqs.push(l));
  const drain = () => {
    const bytes: number[] = [];
    while (k.read(K.I8042_COMMAND, 1) & K.STATUS_OUTPUT_FULL) bytes.push(k.read(K.I8042_DATA, 1));
    return bytes;
  };
  return { k, kbd: k.keyboard!, irqs, drain, resets: () => resets };
}

describe("PS/2 keyboard behind the i8042", () => {
  test("host bytes become set 1 key presses: letters, Shift for capitals, Ctrl for control codes, Enter, Backspace", () => {
    const { kbd, drain } = keyboardController();
    for (const b of new TextEncoder().encode("a")) kbd.push(b);
    expect(drain()).toEqual([0x1e, 0x9e]);
    kbd.push("A".charCodeAt(0));
    expect(drain()).toEqual([P.SC_SHIFT, 0x1e, 0x9e, P.SC_SHIFT | 0x80]);
    kbd.push(0x03); // Ctrl-C
    expect(drain()).toEqual([P.SC_CTRL, 0x2e, 0xae, P.SC_CTRL | 0x80]);
    kbd.push(0x0d);
    kbd.push(0x7f);
    kbd.push(" ".charCodeAt(0));
    kbd.push("!".charCodeAt(0));
    expect(drain()).toEqual([0x1c, 0x9c, 0x0e, 0x8e, 0x39, 0xb9, P.SC_SHIFT, 0x02, 0x82, P.SC_SHIFT | 0x80]);
  });

  test("the terminal's arrow and editing sequences become extended keys; a lone ESC is Esc", () => {
    const { kbd, drain } = keyboardController();
    for (const b of new TextEncoder().encode("\x1b[A\x1b[3~\x1bq")) kbd.push(b);
    expect(drain()).toEqual([0xe0, 0x48, 0xe0, 0xc8, 0xe0, 0x53, 0xe0, 0xd3, 0x01, 0x81, 0x10, 0x90]);
  });

  test("each byte in the output buffer raises IRQ 1 (when the configuration enables it); reading lowers it", () => {
    const { k, kbd, irqs } = keyboardController();
    kbd.push("z".charCodeAt(0));
    expect(irqs).toEqual([true]);
    expect(k.read(K.I8042_DATA, 1)).toBe(0x2c);
    expect(irqs).toEqual([true, false, true]); // the break code follows
    expect(k.read(K.I8042_DATA, 1)).toBe(0xac);
    expect(irqs).toEqual([true, false, true, false]);
    k.write(K.I8042_COMMAND, 1, K.CMD_WRITE_CONFIG);
    k.write(K.I8042_DATA, 1, 0x44); // interrupts off
    kbd.push("z".charCodeAt(0));
    expect(irqs.length).toBe(4);
    expect(k.read(K.I8042_COMMAND, 1) & K.STATUS_OUTPUT_FULL).toBe(K.STATUS_OUTPUT_FULL); // polled instead
  });

  test("keyboard commands through port 0x60: reset, LEDs, identify, scan code set, echo", () => {
    const { k, drain, kbd } = keyboardController();
    k.write(K.I8042_DATA, 1, P.KBD_RESET);
    expect(drain()).toEqual([P.ACK, P.SELF_TEST_PASSED]);
    k.write(K.I8042_DATA, 1, P.KBD_SET_LEDS);
    k.write(K.I8042_DATA, 1, 0x07);
    expect(drain()).toEqual([P.ACK, P.ACK]);
    expect(kbd.leds).toBe(7);
    k.write(K.I8042_DATA, 1, P.KBD_IDENTIFY);
    expect(drain()).toEqual([P.ACK, 0xab, 0x41]);
    k.write(K.I8042_DATA, 1, P.KBD_SCAN_CODE_SET);
    k.write(K.I8042_DATA, 1, 0);
    expect(drain()).toEqual([P.ACK, P.ACK, 0x02]);
    k.write(K.I8042_DATA, 1, P.KBD_ECHO);
    expect(drain()).toEqual([P.ECHO]);
    k.write(K.I8042_DATA, 1, P.KBD_DISABLE);
    expect(drain()).toEqual([P.ACK]);
    kbd.push("a".charCodeAt(0));
    expect(drain()).toEqual([]); // scanning off: keys are not queued
  });

  test("the controller's keyboard-disable bit holds keys back until enabled; the type-ahead has a limit", () => {
    const { k, kbd, drain } = keyboardController();
    k.write(K.I8042_COMMAND, 1, K.CMD_DISABLE_KBD);
    kbd.push("q".charCodeAt(0));
    expect(k.read(K.I8042_COMMAND, 1) & K.STATUS_OUTPUT_FULL).toBe(0);
    k.write(K.I8042_COMMAND, 1, K.CMD_ENABLE_KBD);
    expect(drain()).toEqual([0x10, 0x90]);
    let taken = 0;
    while (kbd.space > 0 && taken < 1000) { kbd.push("a".charCodeAt(0)); taken++; }
    expect(taken).toBeLessThan(64);
    expect(kbd.push("a".charCodeAt(0))).toBe(false);
  });
});

describe("VGA text mode", () => {
  test("CRT controller: cursor location and start address written and read back, also by 16-bit writes", () => {
    const v = new V.Vga();
    v.write(0x14, 1, V.CRT_CURSOR_HIGH);
    v.write(0x15, 1, 0x01);
    v.write(0x14, 2, V.CRT_CURSOR_LOW | (0x42 << 8)); // outw: index and data at once
    expect(v.cursorAddress).toBe(0x142);
    v.write(0x14, 1, V.CRT_CURSOR_LOW);
    expect(v.read(0x15, 1)).toBe(0x42);
    expect(v.cursor).toEqual({ row: 4, column: 2 }); // 0x142 = 322 = 4 × 80 + 2
    v.write(0x14, 2, V.CRT_START_LOW | (80 << 8));
    expect(v.cursor).toEqual({ row: 3, column: 2 });
    v.write(0x14, 2, V.CRT_CURSOR_START | (0x20 << 8));
    expect(v.cursor).toBeUndefined(); // cursor off
  });

  test("mode 3's registers as a BIOS leaves them; misc output says colour; input status toggles retrace; the attribute flip-flop", () => {
    const v = new V.Vga();
    expect(v.read(0x0c, 1)).toBe(0x67);
    v.write(0x14, 1, 0x09);
    expect(v.read(0x15, 1)).toBe(0x4f); // 16 scan lines per character
    const a = v.read(0x1a, 1);
    const b = v.read(0x1a, 1);
    expect(a ^ b).toBe(0x09);
    v.read(0x1a, 1); // resets the flip-flop: next 0x3C0 write is an index
    v.write(0x00, 1, 0x10);
    v.write(0x00, 1, 0x0c);
    expect(v.read(0x00, 1)).toBe(0x10);
    expect(v.read(0x01, 1)).toBe(0x0c);
    v.write(0x08, 1, 1); // DAC write index 1: three bytes, then the read index
    for (const c of [1, 2, 3]) v.write(0x09, 1, c);
    v.write(0x07, 1, 1);
    expect([v.read(0x09, 1), v.read(0x09, 1), v.read(0x09, 1)]).toEqual([1, 2, 3]);
  });

  test("the visible cells start at the start address and wrap within the 32 KiB window", () => {
    const window = new Uint8Array(V.TEXT_WINDOW_SIZE);
    window[V.TEXT_WINDOW_SIZE - 2] = 0x41;
    window[0] = 0x42;
    const cells = V.visibleCells(window, V.TEXT_WINDOW_SIZE / 2 - 1);
    expect(cells.length).toBe(V.SCREEN_BYTES);
    expect([cells[0], cells[2]]).toEqual([0x41, 0x42]);
  });
});

describe("the screen on the host", () => {
  test("screenText: 25 lines, trailing blanks trimmed, code page 437 as Unicode", () => {
    const cells = new Uint8Array(V.SCREEN_BYTES);
    for (let i = 0; i < cells.length; i += 2) { cells[i] = 0x20; cells[i + 1] = 0x07; }
    cells[0] = 0x48; cells[2] = 0x69; cells[4] = 0xdb; cells[80 * 2 * 24] = 0x01;
    const text = screenText(cells);
    expect(text.split("\n").length).toBe(26);
    expect(text.split("\n")[0]).toBe("Hi█");
    expect(text.split("\n")[24]).toBe("☺");
    expect([cp437(0), cp437(0xc4), cp437(0x7f)]).toEqual([" ", "─", "⌂"]);
  });

  test("frames: all cells first, then only the changed ones; colours in ANSI order; nothing when nothing changed", () => {
    const s = new TerminalScreen();
    const cells = new Uint8Array(V.SCREEN_BYTES);
    expect(s.frame(cells, { row: 0, column: 0 }).length).toBeGreaterThan(2000);
    cells[(2 * 80 + 5) * 2] = 0x58;
    cells[(2 * 80 + 5) * 2 + 1] = 0x1e; // yellow on blue
    expect(s.frame(cells, { row: 0, column: 0 })).toBe(`\x1b[?25l\x1b[3;6H${sgr(0x1e)}X\x1b[0m\x1b[1;1H\x1b[?25h`);
    expect(sgr(0x1e)).toBe("\x1b[0;93;44m");
    expect(s.frame(cells, { row: 0, column: 0 })).toBe("");
    expect(s.frame(cells, undefined)).toBe("\x1b[?25l");
  });
});

describe("PCI configuration ports with no devices, and the reset ports", () => {
  test("the address register reads back; configuration data reads all-ones; 0xCF9 bit 2 resets", () => {
    let resets = 0;
    const pci = new PciHostNoDevices(() => { resets++; });
    pci.write(0, 4, 0x80000000);
    expect(pci.read(0, 4)).toBe(0x80000000);
    expect(pci.read(4, 4)).toBe(0xffffffff);
    expect(pci.read(6, 2)).toBe(0xffff);
    pci.write(1, 1, 0x02);
    expect(resets).toBe(0);
    pci.write(1, 1, 0x06);
    expect(resets).toBe(1);
  });

  test("port 0x92: A20 reads as on; bit 0 resets", () => {
    let resets = 0;
    const a = new SystemControlA(() => { resets++; });
    expect(a.read(0, 1) & 2).toBe(2);
    a.write(0, 1, 0x02);
    expect(resets).toBe(0);
    a.write(0, 1, 0x03);
    expect(resets).toBe(1);
  });
});
