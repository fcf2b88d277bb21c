// The --stats report: collected once as plain data, then printed.
import type { Machine } from "./machine";

export interface StatsReport {
  exits: { total: number; byReason: Record<string, number> };
  portIo: Array<{ port: string; in: number; out: number }>;
  timer: { fired: number; lost: number };
  keyboard: { delivered: number };
  console: { dropped: number };
  unclaimed: Array<{ bus: "port" | "mmio"; addr: string; reads: number; writes: number }>;
}

const hex = (n: number, width: number) => "0x" + n.toString(16).padStart(width, "0");

export function collectStats(m: Machine): StatsReport {
  const s = m.stats;
  return {
    exits: { total: s.total, byReason: s.reasons() },
    portIo: [...s.ports.entries()].sort((a, b) => a[0] - b[0]).map(([p, c]) => ({ port: hex(p, 4), in: c.in, out: c.out })),
    timer: { fired: m.devices.timer.firedCount, lost: m.devices.timer.lostCount },
    keyboard: { delivered: m.devices.keyboard.delivered },
    console: { dropped: m.devices.console.dropped },
    unclaimed: [
      ...[...m.ports.misses.entries()].map(([a, c]) => ({ bus: "port" as const, addr: hex(a, 4), ...c })),
      ...[...m.mmio.misses.entries()].map(([a, c]) => ({ bus: "mmio" as const, addr: hex(a, 8), ...c })),
    ],
  };
}

export function formatStats(r: StatsReport): string {
  const lines = ["microvmm stats:", `  exits: ${r.exits.total}`];
  for (const [reason, n] of Object.entries(r.exits.byReason)) lines.push(`    ${reason}: ${n}`);
  lines.push("  port I/O exits:");
  for (const p of r.portIo) {
    if (p.in > 0) lines.push(`    ${p.port} in: ${p.in}`);
    if (p.out > 0) lines.push(`    ${p.port} out: ${p.out}`);
  }
  lines.push(`  timer: ${r.timer.fired} fired, ${r.timer.lost} lost`);
  lines.push(`  keyboard: ${r.keyboard.delivered} keys delivered`);
  if (r.console.dropped > 0) lines.push(`  console: ${r.console.dropped} unprintable bytes dropped`);
  for (const u of r.unclaimed) lines.push(`  unclaimed ${u.bus} ${u.addr}: ${u.reads} reads, ${u.writes} writes`);
  return lines.join("\n") + "\n";
}
