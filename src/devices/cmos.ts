// CMOS RTC (ports 0x70 index, 0x71 data): the time of day from the host's clock, in BCD, 24-hour,
// never "update in progress", so a kernel reads the wall clock at once instead of polling.
// The other CMOS bytes read as 0 and keep what is written (the kernel writes a few).
import type { PortDevice } from "../vcpu/bus";

export const CMOS_INDEX = 0;
export const CMOS_DATA = 1;

// Registers (MC146818 data sheet)
export const RTC_SECONDS = 0x00;
export const RTC_MINUTES = 0x02;
export const RTC_HOURS = 0x04;
export const RTC_WEEKDAY = 0x06;
export const RTC_DAY = 0x07;
export const RTC_MONTH = 0x08;
export const RTC_YEAR = 0x09;
export const RTC_REG_A = 0x0a; // bit 7: update in progress (never)
export const RTC_REG_B = 0x0b; // bit 1: 24-hour; bit 2 clear: BCD
export const RTC_REG_C = 0x0c;
export const RTC_REG_D = 0x0d; // bit 7: the battery is fine
export const RTC_CENTURY = 0x32;

const REG_A_DIVIDER = 0x26; // 32.768 kHz time base, 1024 Hz rate: the usual setting
const REG_B_24H = 0x02;
const REG_D_VALID = 0x80;

const bcd = (n: number) => ((Math.floor(n / 10) << 4) | (n % 10)) & 0xff;

export class Cmos implements PortDevice {
  private index = 0;
  private readonly ram = new Uint8Array(128);

  /** `now` gives the wall clock (a Date), so tests can fix it; `nvram` sets bytes of the NVRAM (the memory size on a PC). */
  constructor(private readonly now: () => Date = () => new Date(), nvram: ReadonlyArray<[number, number]> = []) {
    for (const [index, value] of nvram) this.ram[index & 0x7f] = value & 0xff;
    this.ram[RTC_REG_A] = REG_A_DIVIDER;
    this.ram[RTC_REG_B] = REG_B_24H;
    this.ram[RTC_REG_D] = REG_D_VALID;
  }

  read(offset: number, _size: number): number {
    if (offset === CMOS_INDEX) return 0xff;
    const t = this.now();
    switch (this.index) {
      case RTC_SECONDS: return bcd(t.getUTCSeconds());
      case RTC_MINUTES: return bcd(t.getUTCMinutes());
      case RTC_HOURS: return bcd(t.getUTCHours());
      case RTC_WEEKDAY: return bcd(t.getUTCDay() + 1);
      case RTC_DAY: return bcd(t.getUTCDate());
      case RTC_MONTH: return bcd(t.getUTCMonth() + 1);
      case RTC_YEAR: return bcd(t.getUTCFullYear() % 100);
      case RTC_CENTURY: return bcd(Math.floor(t.getUTCFullYear() / 100));
      case RTC_REG_C: return 0; // no interrupt flags
      default: return this.ram[this.index]!;
    }
  }

  write(offset: number, _size: number, value: number): void {
    if (offset === CMOS_INDEX) this.index = value & 0x7f; // bit 7 is the NMI mask
    else if (this.index >= RTC_REG_A && this.index !== RTC_REG_C && this.index !== RTC_REG_D) this.ram[this.index] = value & 0xff;
  }
}
