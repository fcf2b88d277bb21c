import { expect, test } from "bun:test";
import * as C from "../../src/devices/cmos";

test("the RTC gives the host's UTC time in BCD and is never updating", () => {
  const c = new C.Cmos(() => new Date(Date.UTC(2026, 10, 21, 16, 5, 9)));
  const reg = (r: number) => { c.write(C.CMOS_INDEX, 1, r | 0x80); return c.read(C.CMOS_DATA, 1); };
  expect([reg(C.RTC_SECONDS), reg(C.RTC_MINUTES), reg(C.RTC_HOURS)]).toEqual([0x09, 0x05, 0x16]);
  expect([reg(C.RTC_DAY), reg(C.RTC_MONTH), reg(C.RTC_YEAR), reg(C.RTC_CENTURY)]).toEqual([0x21, 0x11, 0x26, 0x20]);
  expect(reg(C.RTC_WEEKDAY)).toBe(0x07); // a Saturday: 7 counting Sunday as 1
  expect(reg(C.RTC_REG_A) & 0x80).toBe(0);
  expect(reg(C.RTC_REG_B)).toBe(0x02); // 24-hour, BCD
  expect(reg(C.RTC_REG_D)).toBe(0x80);
  c.write(C.CMOS_INDEX, 1, 0x40);
  c.write(C.CMOS_DATA, 1, 0x5a);
  expect(reg(0x40)).toBe(0x5a);
  c.write(C.CMOS_INDEX, 1, C.RTC_REG_D);
  c.write(C.CMOS_DATA, 1, 0);
  expect(reg(C.RTC_REG_D)).toBe(0x80); // read-only
});
