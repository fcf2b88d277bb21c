// What microvmm prints about a VM when it ends: --stats (collected once as plain data, then
// printed as text or JSON) and --peek hex dumps.
import type { Peek } from "./cli";
import type { HypercallKind } from "./devices/hypercall";
import type { BlockStats } from "./devices/pv-block";
import type { Machine } from "./machine";
import type { GuestMemory } from "./memory/guest-memory";
import type { Schedule } from "./sched/scheduler";

export interface StatsReport {
  exits: { total: number; byReason: Record<string, number> };
  portIo: Array<{ port: string; in: number; out: number }>;
  hypercalls: Record<HypercallKind, number>;
  disk: BlockStats;
  memoryMapCalls: number;
  timer: { fired: number; lost: number };
  keyboard: { delivered: number };
  console: { dropped: number };
  unclaimed: Array<{ bus: "port" | "mmio"; addr: string; reads: number; writes: number }>;
  memory: Array<{ guestPhysical: string; size: number; hostVirtual: string }>;
  kvmRun: { size: number; hostVirtual: string };
  bootArea: { mode: string; base: string; size: number; gdt: string; scratch: string; pageTables: string; pageTablePages: number; stackTop: string };
}

const hex = (n: number, width = 0) => "0x" + n.toString(16).padStart(width, "0");

export function collectStats(m: Machine): StatsReport {
  const s = m.stats;
  return {
    exits: { total: s.total, byReason: s.reasons() },
    portIo: [...s.ports.entries()].sort((a, b) => a[0] - b[0]).map(([p, c]) => ({ port: hex(p, 4), in: c.in, out: c.out })),
    hypercalls: { ...m.devices.hypercalls.calls },
    disk: { ...m.devices.disk.stats },
    memoryMapCalls: m.devices.memmap.calls,
    timer: { fired: m.devices.timer.firedCount, lost: m.devices.timer.lostCount },
    keyboard: { delivered: m.devices.keyboard.delivered },
    console: { dropped: m.devices.console.dropped },
    unclaimed: [
      ...[...m.ports.misses.entries()].map(([a, c]) => ({ bus: "port" as const, addr: hex(a, 4), ...c })),
      ...[...m.mmio.misses.entries()].map(([a, c]) => ({ bus: "mmio" as const, addr: hex(a, 8), ...c })),
    ],
    memory: m.memory.regions.map((r) => ({ guestPhysical: hex(r.gpa), size: r.size, hostVirtual: hex(r.hostAddr) })),
    kvmRun: { size: m.vcpu.runSize, hostVirtual: hex(m.vcpu.runAddr) },
    bootArea: {
      mode: m.mode, base: hex(m.bootArea.base), size: m.bootArea.size, gdt: hex(m.bootArea.gdt), scratch: hex(m.bootArea.scratch),
      pageTables: hex(m.bootArea.pageTables), pageTablePages: m.bootArea.pageTablePages, stackTop: hex(m.bootArea.stackTop),
    },
  };
}

function exitLines(total: number, byReason: Record<string, number>): string[] {
  return ["microvmm stats:", `  exits: ${total}`, ...Object.entries(byReason).map(([reason, n]) => `    ${reason}: ${n}`)];
}

export function formatStats(r: StatsReport): string {
  const lines = exitLines(r.exits.total, r.exits.byReason);
  lines.push("  port I/O exits:");
  for (const p of r.portIo) {
    if (p.in > 0) lines.push(`    ${p.port} in: ${p.in}`);
    if (p.out > 0) lines.push(`    ${p.port} out: ${p.out}`);
  }
  const calls = Object.entries(r.hypercalls).filter(([, n]) => n > 0);
  if (calls.length > 0) lines.push("  hypercalls:", ...calls.map(([k, n]) => `    ${k}: ${n}`));
  if (r.disk.requests > 0 || r.disk.errors > 0) {
    lines.push(`  disk: ${r.disk.requests} requests, ${r.disk.bytesRead} bytes read, ${r.disk.bytesWritten} written, ` +
      `${r.disk.flushes} flushes, ${r.disk.errors} errors`);
  }
  if (r.memoryMapCalls > 0) lines.push(`  memory map: asked ${r.memoryMapCalls} times`);
  lines.push(`  timer: ${r.timer.fired} fired, ${r.timer.lost} lost`);
  lines.push(`  keyboard: ${r.keyboard.delivered} keys delivered`);
  if (r.console.dropped > 0) lines.push(`  console: ${r.console.dropped} unprintable bytes dropped`);
  for (const u of r.unclaimed) lines.push(`  unclaimed ${u.bus} ${u.addr}: ${u.reads} reads, ${u.writes} writes`);
  for (const m of r.memory) lines.push(`  guest RAM ${m.guestPhysical} (${m.size >> 20} MiB) at host ${m.hostVirtual}`);
  lines.push(`  kvm_run: ${r.kvmRun.size} bytes at host ${r.kvmRun.hostVirtual}`);
  const b = r.bootArea;
  lines.push(`  boot area (${b.mode} mode): ${b.base}+${b.size >> 10}K: GDT ${b.gdt}, scratch ${b.scratch}, ` +
    `${b.pageTablePages} page-table pages at ${b.pageTables}, stack top ${b.stackTop}`);
  return lines.join("\n") + "\n";
}

/** Exit counts alone (for machines without the core devices). */
export function formatExitStats(s: import("./vcpu/stats").ExitStats): string {
  const lines = exitLines(s.total, s.reasons());
  for (const [p, c] of [...s.ports.entries()].sort((a, b) => a[0] - b[0])) {
    lines.push(`    port 0x${p.toString(16).padStart(4, "0")}: ${c.in} in, ${c.out} out`);
  }
  lines.push(`  KVM_RUN interrupted: ${s.kicks} by input, ${s.signals} by signals (slice timer and others)`);
  return lines.join("\n") + "\n";
}

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
