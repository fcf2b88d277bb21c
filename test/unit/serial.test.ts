// The 16550A as a state machine: register pokes, an array for the line out, a log of IRQ levels.
import { describe, expect, test } from "bun:test";
import * as U from "../../src/devices/serial";

function uart() {
  const out: number[] = [];
  const irq: boolean[] = [];
  const s = new U.Serial((b) => out.push(b), (l) => irq.push(l));
  const level = () => irq.at(-1) ?? false;
  return { s, out, irq, level };
}

describe("16550A", () => {
  test("transmit: THR goes out at once; LSR always says THRE and TEMT", () => {
    const { s, out } = uart();
    for (const c of "ok\n") s.write(U.RBR_THR_DLL, 1, c.charCodeAt(0));
    expect(Buffer.from(out).toString()).toBe("ok\n");
    expect(s.read(U.LSR, 1) & (U.LSR_THRE | U.LSR_TEMT)).toBe(U.LSR_THRE | U.LSR_TEMT);
  });

  test("receive: bytes wait in a 16-byte FIFO; DR while any wait; a full FIFO refuses more", () => {
    const { s } = uart();
    expect(s.read(U.LSR, 1) & U.LSR_DR).toBe(0);
    for (let i = 0; i < 16; i++) expect(s.receive(0x41 + i)).toBe(true);
    expect(s.receive(0x7a)).toBe(false);
    expect(s.rxSpace).toBe(0);
    expect(s.read(U.LSR, 1) & U.LSR_DR).toBe(U.LSR_DR);
    const got: number[] = [];
    while (s.read(U.LSR, 1) & U.LSR_DR) got.push(s.read(U.RBR_THR_DLL, 1));
    expect(Buffer.from(got).toString()).toBe("ABCDEFGHIJKLMNOP");
  });

  test("reading the FIFO empty asks the host for more, which can refill it at once", () => {
    const pending = [..."a long paste, longer than the sixteen-byte FIFO"].map((c) => c.charCodeAt(0));
    let asked = 0;
    const s: U.Serial = new U.Serial(() => {}, () => {}, () => {
      asked++;
      while (s.rxSpace > 0 && pending.length > 0) s.receive(pending.shift()!);
    });
    while (s.rxSpace > 0 && pending.length > 0) s.receive(pending.shift()!);
    const got: number[] = [];
    while (s.read(U.LSR, 1) & U.LSR_DR) got.push(s.read(U.RBR_THR_DLL, 1));
    expect(Buffer.from(got).toString()).toBe("a long paste, longer than the sixteen-byte FIFO");
    expect(asked).toBe(3); // after bytes 16, 32 and the last: once per FIFO-full, not per byte
    s.read(U.RBR_THR_DLL, 1); // reading an empty FIFO is no drain
    expect(asked).toBe(3);
  });

  test("RX interrupt: raised when data arrives with IER.RDA, lowered when the FIFO is drained", () => {
    const { s, level } = uart();
    s.write(U.IER_DLM, 1, U.IER_RDA);
    expect(level()).toBe(false);
    s.receive(0x31);
    s.receive(0x32);
    expect(level()).toBe(true);
    expect(s.read(U.IIR_FCR, 1) & 0x0f).toBe(U.IIR_RDA);
    s.read(U.RBR_THR_DLL, 1);
    expect(level()).toBe(true);
    s.read(U.RBR_THR_DLL, 1);
    expect(level()).toBe(false);
    expect(s.read(U.IIR_FCR, 1) & 0x0f).toBe(U.IIR_NONE);
  });

  test("THRE interrupt: on enabling with THR empty, and after each write; reading IIR acknowledges it", () => {
    const { s, level } = uart();
    s.write(U.IER_DLM, 1, U.IER_THRE);
    expect(level()).toBe(true);
    expect(s.read(U.IIR_FCR, 1) & 0x0f).toBe(U.IIR_THRE);
    expect(level()).toBe(false);
    s.write(U.RBR_THR_DLL, 1, 0x41);
    expect(level()).toBe(true);
    s.write(U.IER_DLM, 1, 0);
    expect(level()).toBe(false);
  });

  test("priorities: line status over received data over THRE", () => {
    const { s } = uart();
    s.write(U.IER_DLM, 1, U.IER_RLS | U.IER_RDA | U.IER_THRE);
    s.write(U.MCR, 1, U.MCR_LOOP);
    for (let i = 0; i < 17; i++) s.write(U.RBR_THR_DLL, 1, i); // loopback: the 17th overruns
    expect(s.read(U.IIR_FCR, 1) & 0x0f).toBe(U.IIR_RLS);
    expect(s.read(U.LSR, 1) & U.LSR_OE).toBe(U.LSR_OE); // reading LSR clears the error
    expect(s.read(U.IIR_FCR, 1) & 0x0f).toBe(U.IIR_RDA);
    while (s.read(U.LSR, 1) & U.LSR_DR) s.read(U.RBR_THR_DLL, 1);
    expect(s.read(U.IIR_FCR, 1) & 0x0f).toBe(U.IIR_THRE);
    expect(s.counts.overruns).toBe(1);
  });

  test("loopback: sent bytes come back, MSR mirrors MCR, host input is refused", () => {
    const { s, out } = uart();
    s.write(U.MCR, 1, U.MCR_LOOP | U.MCR_DTR | U.MCR_OUT2);
    s.write(U.RBR_THR_DLL, 1, 0x5a);
    expect(out).toEqual([]);
    expect(s.read(U.RBR_THR_DLL, 1)).toBe(0x5a);
    expect(s.read(U.MSR, 1)).toBe(U.MSR_DSR | U.MSR_DCD);
    expect(s.receive(1)).toBe(false);
    s.write(U.MCR, 1, 0);
    expect(s.read(U.MSR, 1)).toBe(U.MSR_DCD | U.MSR_DSR | U.MSR_CTS);
  });

  test("DLAB switches offsets 0 and 1 to the divisor latch; LCR, SCR keep what is written", () => {
    const { s, out } = uart();
    s.write(U.LCR, 1, U.LCR_DLAB | 0x03);
    s.write(U.RBR_THR_DLL, 1, 0x01);
    s.write(U.IER_DLM, 1, 0x00);
    expect([s.read(U.RBR_THR_DLL, 1), s.read(U.IER_DLM, 1), s.read(U.LCR, 1)]).toEqual([0x01, 0x00, 0x83]);
    s.write(U.LCR, 1, 0x03);
    expect(out).toEqual([]); // the divisor write was not transmitted
    expect(s.read(U.IER_DLM, 1)).toBe(0);
    s.write(U.SCR, 1, 0x99);
    expect(s.read(U.SCR, 1)).toBe(0x99);
  });

  test("FCR: FIFOs on shows in IIR bits 6-7; clearing RX drops what waits", () => {
    const { s } = uart();
    s.write(U.IIR_FCR, 1, U.FCR_ENABLE);
    expect(s.read(U.IIR_FCR, 1) & U.IIR_FIFO_ON).toBe(U.IIR_FIFO_ON);
    s.receive(1);
    s.write(U.IIR_FCR, 1, U.FCR_ENABLE | U.FCR_CLEAR_RX);
    expect(s.read(U.LSR, 1) & U.LSR_DR).toBe(0);
  });
});
