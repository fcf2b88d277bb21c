// Timer (ports 0x46 period, 0x47 control/status). While enabled (bit 0), every PERIOD ms the VMM
// sets FIRED (bit 1); the guest acks by writing 0x47 with bit 1 clear. An event that comes while
// FIRED is still set is lost and counted. Event k after (re)start is due at start + k·period, so
// deadlines never drift however late the VMM looks. State is brought up to date lazily, from the
// clock, whenever the guest touches the timer or the VMM asks (update()): the guest can only
// observe or ack FIRED through these ports, so the result is the same as firing on time.
import { truncate, type PortDevice } from "../vcpu/bus";

export const TIMER_PERIOD = 0;
export const TIMER_CONTROL = 1;
export const TIMER_ENABLE = 1 << 0;
export const TIMER_FIRED = 1 << 1;

/** Milliseconds from a monotonic clock. */
export type Clock = () => number;

export class Timer implements PortDevice {
  private periodMs = 0;
  private enabled = false;
  private fired = false;
  private start = 0;
  /** Index of the next event due: at start + next·period. */
  private next = 1;
  /** Events that set FIRED. */
  firedCount = 0;
  /** Events that came while FIRED was still set. */
  lostCount = 0;

  constructor(private readonly clock: Clock) {}

  read(offset: number, _size: number): number {
    if (offset === TIMER_PERIOD) return this.periodMs;
    this.update();
    return (this.enabled ? TIMER_ENABLE : 0) | (this.fired ? TIMER_FIRED : 0);
  }

  write(offset: number, size: number, value: number): void {
    this.update();
    if (offset === TIMER_PERIOD) {
      this.periodMs = truncate(value, size);
      if (this.enabled) this.restart(); // the new period counts from now
      return;
    }
    if ((value & TIMER_FIRED) === 0) this.fired = false;
    const enable = (value & TIMER_ENABLE) !== 0;
    if (enable && !this.enabled) this.restart();
    this.enabled = enable;
  }

  /** Brings FIRED and the counters up to the clock. */
  update(): void {
    if (!this.enabled || this.periodMs === 0) return;
    const due = Math.floor((this.clock() - this.start) / this.periodMs) - this.next + 1;
    if (due <= 0) return;
    if (this.fired) {
      this.lostCount += due;
    } else {
      this.fired = true;
      this.firedCount++;
      this.lostCount += due - 1;
    }
    this.next += due;
  }

  private restart(): void {
    this.start = this.clock();
    this.next = 1;
  }
}
