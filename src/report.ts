// What microvmm prints about a VM when it ends, beside --stats (src/machine.ts): --peek hex dumps
// and the schedule of several VMs.
import { hex } from "./binary/hex";
import type { Peek } from "./cli";
import type { GuestMemory } from "./memory/guest-memory";
import type { Schedule } from "./sched/scheduler";


/** Hex dump, 16 bytes a line: "0x00000400: 2a 00 … 00  *..............." */
export function formatPeek(memory: GuestMemory, p: Peek): string {
  if (!memory.contains(p.addr, p.length)) return `peek ${hex(p.addr)}+${p.length}: not in guest RAM\n`;
  const bytes = new Uint8Array(p.length);
  memory.read(p.addr, bytes);
  let out = "";
  for (let off = 0; off < bytes.length; off += 16) {
    const row = bytes.subarray(off, off + 16);
    const hexes = [...row].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const text = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    out += `${hex(p.addr + off, 8)}: ${hexes.padEnd(47)}  ${text}\n`;
  }
  return out;
}

export interface ScheduleSummary {
  elapsedMs: number;
  switches: number;
  /** Average wall time from one VM's slice to the next VM's, in microseconds. */
  switchCostUs: number;
  vms: Array<{ name: string; guestMs: number; askedPercent: number; achievedPercent: number; slices: number; status: number }>;
}

export function scheduleSummary(s: Schedule): ScheduleSummary {
  const totalShare = s.accounts.reduce((n, a) => n + a.vm.share, 0);
  const totalGuest = s.accounts.reduce((n, a) => n + a.guestMs, 0) || 1;
  return {
    elapsedMs: s.elapsedMs,
    switches: s.switches,
    switchCostUs: s.switches === 0 ? 0 : (1000 * s.switchMs) / s.switches,
    vms: s.accounts.map((a) => ({
      name: a.vm.name, guestMs: a.guestMs, askedPercent: (100 * a.vm.share) / totalShare,
      achievedPercent: (100 * a.guestMs) / totalGuest, slices: a.slices, status: a.stop?.status ?? 0,
    })),
  };
}

export function formatSchedule(s: ScheduleSummary): string {
  const lines = [`schedule: ${(s.elapsedMs / 1000).toFixed(2)} s, ${s.switches} switches, ${s.switchCostUs.toFixed(1)} µs per switch`];
  for (const v of s.vms) {
    lines.push(`  ${v.name}: ${(v.guestMs / 1000).toFixed(3)} s of guest time, ${v.achievedPercent.toFixed(1)}% (asked ${v.askedPercent.toFixed(1)}%), ` +
      `${v.slices} slices, status ${v.status}`);
  }
  return lines.join("\n") + "\n";
}
