// The core devices as state machines: register pokes, a fake clock, an array sink.
import { describe, expect, test } from "bun:test";
import { Console, LINE_MAX } from "../../src/devices/console";
import { KBD_DATA, KBD_STATUS, Keyboard, QUEUE_SIZE } from "../../src/devices/keyboard";
import { TIMER_CONTROL, TIMER_ENABLE, TIMER_FIRED, TIMER_PERIOD, Timer } from "../../src/devices/timer";

function consoleWithSink() {
  const chunks: string[] = [];
  const c = new Console((b) => chunks.push(Buffer.from(b).toString("latin1")));
  const type = (s: string) => { for (const ch of s) c.write(0, 1, ch.charCodeAt(0)); };
  return { c, chunks, type };
}

describe("console", () => {
  test("holds printable bytes until newline, then prints the line and the newline", () => {
    const { chunks, type } = consoleWithSink();
    type("hello");
    expect(chunks).toEqual([]);
    type("\n");
    expect(chunks).toEqual(["hello\n"]);
  });

  test("drops unprintable bytes and counts them", () => {
    const { c, chunks, type } = consoleWithSink();
    type("a\x00b\x1b[c\r\td\x7f\xff\n");
    expect(chunks).toEqual(["ab[cd\n"]);
    expect(c.dropped).toBe(6);
  });

  test("a full buffer is printed as is, never grown", () => {
    const { chunks, type } = consoleWithSink();
    type("x".repeat(LINE_MAX + 10) + "\n");
    expect(chunks).toEqual(["x".repeat(LINE_MAX), "x".repeat(10) + "\n"]);
  });

  test("flush prints what is buffered, once", () => {
    const { c, chunks, type } = consoleWithSink();
    type("partial");
    c.flush();
    c.flush();
    expect(chunks).toEqual(["partial"]);
  });

  test("wider writes are characters, low byte first", () => {
    const { c, chunks } = consoleWithSink();
    c.write(0, 2, 0x4241);
    c.write(0, 4, 0x0a444343);
    expect(chunks).toEqual(["ABCCD\n"]);
  });

  test("reads return all-ones (write-only)", () => {
    const { c } = consoleWithSink();
    expect(c.read(0, 1)).toBe(0xff);
    expect(c.read(0, 2)).toBe(0xffff);
    expect(c.read(0, 4)).toBe(0xffffffff);
  });
});

describe("keyboard", () => {
  test("a key appears with STATUS 1; the next only after the ack", () => {
    const k = new Keyboard();
    expect(k.read(KBD_STATUS, 1)).toBe(0);
    k.push(0x61); k.push(0x62);
    expect(k.read(KBD_STATUS, 1)).toBe(1);
    expect(k.read(KBD_DATA, 1)).toBe(0x61);
    expect(k.read(KBD_DATA, 1)).toBe(0x61); // reading again changes nothing
    k.write(KBD_STATUS, 1, 0);
    expect(k.read(KBD_STATUS, 1)).toBe(1);
    expect(k.read(KBD_DATA, 1)).toBe(0x62);
    k.write(KBD_STATUS, 1, 0);
    expect(k.read(KBD_STATUS, 1)).toBe(0);
    expect(k.delivered).toBe(2);
  });

  test("without an ack the guest sees exactly one key", () => {
    const k = new Keyboard();
    for (const b of Buffer.from("hello")) k.push(b);
    for (let i = 0; i < 100; i++) {
      expect(k.read(KBD_STATUS, 1)).toBe(1);
      expect(k.read(KBD_DATA, 1)).toBe(0x68);
    }
    expect(k.delivered).toBe(1);
  });

  test("writes other than 0 to STATUS, and writes to DATA, are ignored", () => {
    const k = new Keyboard();
    k.push(1); k.push(2);
    k.write(KBD_STATUS, 1, 1);
    k.write(KBD_STATUS, 1, 0xff);
    k.write(KBD_DATA, 1, 0);
    expect(k.read(KBD_DATA, 1)).toBe(1);
    expect(k.delivered).toBe(1);
  });

  test("keys typed faster than acks are queued in order, none lost", () => {
    const k = new Keyboard();
    const text = Buffer.from("the quick brown fox\n");
    for (const b of text) k.push(b);
    const got: number[] = [];
    while (k.read(KBD_STATUS, 1) === 1) { got.push(k.read(KBD_DATA, 1)); k.write(KBD_STATUS, 1, 0); }
    expect(Buffer.from(got).toString()).toBe(text.toString());
  });

  test("the queue is bounded: push says no when full, and space tells the host to stop reading", () => {
    const k = new Keyboard();
    let accepted = 0;
    for (let i = 0; i < QUEUE_SIZE + 10; i++) if (k.push(i & 0xff)) accepted++;
    expect(accepted).toBe(QUEUE_SIZE + 1); // one in DATA, the rest queued
    expect(k.space).toBe(0);
  });

  test("reads pull from the key source first, so host input arrives when the guest looks", () => {
    let pulls = 0;
    const k = new Keyboard({ pull: (sink) => { pulls++; if (pulls === 2) sink.push(0x7a); } });
    expect(k.read(KBD_STATUS, 1)).toBe(0);
    expect(k.read(KBD_STATUS, 1)).toBe(1);
    expect(k.read(KBD_DATA, 1)).toBe(0x7a);
  });
});

describe("timer", () => {
  function timer() {
    const clock = { now: 1000 };
    const t = new Timer(() => clock.now);
    return { t, clock, fired: () => (t.read(TIMER_CONTROL, 1) & TIMER_FIRED) !== 0, ack: () => t.write(TIMER_CONTROL, 1, TIMER_ENABLE) };
  }

  test("fires every period while enabled, and the ack clears FIRED", () => {
    const { t, clock, fired, ack } = timer();
    t.write(TIMER_PERIOD, 4, 50);
    t.write(TIMER_CONTROL, 1, TIMER_ENABLE);
    clock.now += 49;
    expect(fired()).toBe(false);
    clock.now += 1;
    expect(fired()).toBe(true);
    ack();
    expect(fired()).toBe(false);
    clock.now += 50;
    expect(fired()).toBe(true);
    expect(t.firedCount).toBe(2);
    expect(t.lostCount).toBe(0);
  });

  test("an event while FIRED is still set is lost and counted", () => {
    const { t, clock, fired } = timer();
    t.write(TIMER_PERIOD, 1, 10);
    t.write(TIMER_CONTROL, 1, TIMER_ENABLE);
    clock.now += 10;
    expect(fired()).toBe(true);
    clock.now += 35; // three more events, none acked
    expect(fired()).toBe(true);
    expect(t.firedCount).toBe(1);
    expect(t.lostCount).toBe(3);
  });

  test("events missed while nobody looked: one sets FIRED, the rest are lost", () => {
    const { t, clock } = timer();
    t.write(TIMER_PERIOD, 2, 10);
    t.write(TIMER_CONTROL, 1, TIMER_ENABLE);
    clock.now += 100;
    t.update();
    expect(t.firedCount).toBe(1);
    expect(t.lostCount).toBe(9);
  });

  test("no drift over 10 000 periods, even when the VMM looks late every time", () => {
    const { t, clock, fired, ack } = timer();
    const start = clock.now;
    t.write(TIMER_PERIOD, 4, 7);
    t.write(TIMER_CONTROL, 1, TIMER_ENABLE);
    for (let k = 1; k <= 10_000; k++) {
      clock.now = start + k * 7 + 6; // each look 6 ms late
      expect(fired()).toBe(true);
      ack();
    }
    expect(t.firedCount).toBe(10_000);
    expect(t.lostCount).toBe(0);
    // The next event is due at exactly start + 10 001 periods: not a millisecond before.
    clock.now = start + 10_001 * 7 - 1;
    expect(fired()).toBe(false);
    clock.now = start + 10_001 * 7;
    expect(fired()).toBe(true);
  });

  test("disabling stops events; enabling starts the period again from then", () => {
    const { t, clock, fired } = timer();
    t.write(TIMER_PERIOD, 1, 10);
    t.write(TIMER_CONTROL, 1, TIMER_ENABLE);
    t.write(TIMER_CONTROL, 1, 0);
    clock.now += 1000;
    expect(fired()).toBe(false);
    expect(t.read(TIMER_CONTROL, 1) & TIMER_ENABLE).toBe(0);
    t.write(TIMER_CONTROL, 1, TIMER_ENABLE);
    clock.now += 9;
    expect(fired()).toBe(false);
    clock.now += 1;
    expect(fired()).toBe(true);
    expect(t.firedCount).toBe(1);
    expect(t.lostCount).toBe(0);
  });

  test("a new period applies from when it is written", () => {
    const { t, clock, fired } = timer();
    t.write(TIMER_PERIOD, 1, 100);
    t.write(TIMER_CONTROL, 1, TIMER_ENABLE);
    clock.now += 90;
    t.write(TIMER_PERIOD, 1, 20);
    clock.now += 19;
    expect(fired()).toBe(false);
    clock.now += 1;
    expect(fired()).toBe(true);
  });

  test("period writes of 8, 16 and 32 bits; reads give it back", () => {
    const { t } = timer();
    t.write(TIMER_PERIOD, 1, 0x1ff);
    expect(t.read(TIMER_PERIOD, 4)).toBe(0xff);
    t.write(TIMER_PERIOD, 2, 0x12345);
    expect(t.read(TIMER_PERIOD, 4)).toBe(0x2345);
    t.write(TIMER_PERIOD, 4, 0x89abcdef);
    expect(t.read(TIMER_PERIOD, 4)).toBe(0x89abcdef);
  });

  test("writing FIRED as 1 does not ack; a period of 0 never fires", () => {
    const { t, clock, fired } = timer();
    t.write(TIMER_PERIOD, 1, 5);
    t.write(TIMER_CONTROL, 1, TIMER_ENABLE);
    clock.now += 5;
    t.write(TIMER_CONTROL, 1, TIMER_ENABLE | TIMER_FIRED);
    expect(fired()).toBe(true);
    t.write(TIMER_PERIOD, 1, 0);
    t.write(TIMER_CONTROL, 1, TIMER_ENABLE);
    clock.now += 10_000;
    expect(fired()).toBe(false);
    expect(t.firedCount).toBe(1);
  });
});

describe("debug exit (QEMU's isa-debug-exit)", () => {
  test("a write of v ends with (v << 1) | 1, its low 8 bits; reads give all-ones", async () => {
    const { DebugExit } = await import("../../src/devices/debug-exit");
    const seen: Array<[number, number]> = [];
    const d = new DebugExit((status, value) => seen.push([status, value]));
    for (const v of [0, 0x10, 0x7f, 0x80, 0xff]) d.write(0, 1, v);
    expect(seen).toEqual([[1, 0], [33, 0x10], [255, 0x7f], [1, 0x80], [255, 0xff]]);
    expect(d.read(0, 1) & 0xff).toBe(0xff);
  });
});
