// Counters the exit loop keeps for --stats, --trace and the exit-count hypercalls.
import { EXIT_REASON_NAMES, KVM_EXIT_IO } from "../kvm/bindings";

export interface PortCounts { in: number; out: number }

export class ExitStats {
  /** Exits by KVM exit reason. */
  readonly byReason = new Float64Array(64);
  total = 0;
  /** Port-I/O exits by port (a `rep` string instruction is one exit). */
  readonly ports = new Map<number, PortCounts>();
  ioIn = 0;
  ioOut = 0;
  mmioReads = 0;
  mmioWrites = 0;
  /** KVM_RUN calls that returned EINTR: a kick for host input (immediate_exit), or a signal (slice timer, SIGTERM…). */
  kicks = 0;
  signals = 0;
  /** Port writes that waited in the coalesced ring instead of exiting (counted as I/O exits too). */
  coalesced = 0;
  /** The id of the vCPU whose exit is being handled (the devices' calls come from it). */
  handling = 0;

  countExit(reason: number): void {
    this.total++;
    this.byReason[reason < 64 ? reason : 0]!++;
  }

  /** A write from the coalesced ring: the I/O exit it stands for. */
  countCoalesced(port: number): void {
    this.coalesced++;
    this.countExit(KVM_EXIT_IO);
    this.countPort(port, true);
  }

  countPort(port: number, out: boolean): void {
    let c = this.ports.get(port);
    if (c === undefined) { c = { in: 0, out: 0 }; this.ports.set(port, c); }
    if (out) { c.out++; this.ioOut++; } else { c.in++; this.ioIn++; }
  }

  /** Exit counts by reason name, non-zero only. */
  reasons(): Record<string, number> {
    const out: Record<string, number> = {};
    this.byReason.forEach((n, r) => { if (n > 0) out[EXIT_REASON_NAMES[r] ?? `REASON_${r}`] = n; });
    return out;
  }
}
