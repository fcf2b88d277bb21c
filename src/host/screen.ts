// The VGA text screen on the host: as plain text (--screen-dump, and what is left on the terminal
// at the end), and drawn live on a terminal with ANSI escapes, redrawing only the cells that changed.
// Cells are (character, attribute) byte pairs, 80×25; characters are code page 437, shown as Unicode.
import { COLUMNS, ROWS } from "../devices/vga";

/** Code page 437, 0x80-0xFF (the PC's character ROM), as Unicode. */
const CP437_HIGH =
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀" +
  "αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0";
/** 0x01-0x1F as the character ROM draws them. */
const CP437_LOW = " ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼";

/** One character of the screen as Unicode (0 and 0x20 are blanks; 0x7F is ⌂). */
export function cp437(c: number): string {
  if (c >= 0x20 && c < 0x7f) return String.fromCharCode(c);
  if (c === 0) return " ";
  if (c < 0x20) return CP437_LOW[c]!;
  if (c === 0x7f) return "⌂";
  return CP437_HIGH[c - 0x80]!;
}

/** The screen as text: 25 lines, each with its trailing blanks trimmed, each ending in "\n". */
export function screenText(cells: Uint8Array): string {
  let text = "";
  for (let row = 0; row < ROWS; row++) {
    let line = "";
    for (let col = 0; col < COLUMNS; col++) line += cp437(cells[(row * COLUMNS + col) * 2]!);
    text += line.trimEnd() + "\n";
  }
  return text;
}

/** VGA's colour order (blue is 1, red 4) to ANSI's (red is 1, blue 4). */
const ANSI_COLOUR = [0, 4, 2, 6, 1, 5, 3, 7];

/** SGR for an attribute: foreground (bit 3 bright), background (bit 7 bright, as with blinking off). */
export function sgr(attribute: number): string {
  const fg = attribute & 0x0f;
  const bg = (attribute >> 4) & 0x0f;
  const f = (fg & 8 ? 90 : 30) + ANSI_COLOUR[fg & 7]!;
  const b = (bg & 8 ? 100 : 40) + ANSI_COLOUR[bg & 7]!;
  return `\x1b[0;${f};${b}m`;
}

export const ENTER_SCREEN = "\x1b[?1049h\x1b[H\x1b[2J";
/** Back to the main screen with the cursor on and colours reset. */
export const LEAVE_SCREEN = "\x1b[0m\x1b[?25h\x1b[?1049l";

/**
 * Draws frames on a terminal (in its alternate screen). The first frame draws every cell; later
 * ones only the cells that differ from the frame before, in runs, with the colour changed only
 * when it changes. Returns "" when nothing changed.
 */
export class TerminalScreen {
  private previous: Uint8Array | undefined;
  private cursorShown: string | undefined;

  frame(cells: Uint8Array, cursor: { row: number; column: number } | undefined): string {
    let out = "";
    let colour = -1;
    const prev = this.previous;
    for (let row = 0; row < ROWS; row++) {
      let at = -1; // the column the terminal's cursor is at on this row, or -1
      for (let col = 0; col < COLUMNS; col++) {
        const i = (row * COLUMNS + col) * 2;
        const ch = cells[i]!;
        const attr = cells[i + 1]!;
        if (prev !== undefined && prev[i] === ch && prev[i + 1] === attr) continue;
        if (at !== col) out += `\x1b[${row + 1};${col + 1}H`;
        if (attr !== colour) { out += sgr(attr); colour = attr; }
        out += cp437(ch);
        at = col + 1;
      }
    }
    const cursorCode = cursor === undefined ? "\x1b[?25l" : `\x1b[${cursor.row + 1};${cursor.column + 1}H\x1b[?25h`;
    if (out === "" && cursorCode === this.cursorShown) return "";
    this.previous = cells.slice();
    this.cursorShown = cursorCode;
    // The cursor is hidden while cells are drawn, then put where the guest has it.
    return (out === "" ? "" : `\x1b[?25l${out}\x1b[0m`) + cursorCode;
  }
}
