// --gdb: what main needs to put a built VM under a debugger. Loaded only when --gdb is given.
import { DEBUG_WATCH } from "../core/stop";
import { FdWatcher } from "../host/fd-watcher";
import type { Machine } from "../machine";
import type { GuestPlan } from "../machines";
import type { GdbAddress } from "./address";
import { probeDebugCapabilities } from "./kvm-probe";
import { KvmDebugTarget } from "./kvm-target";
import { RegisterLayout, type LayoutName } from "./registers";
import { GdbServer } from "./server";
import { DebugSession } from "./session";

export interface Debugging {
  session: DebugSession;
  /** Closes the socket (removing a unix socket's file) and stops the watcher thread. */
  close(): void;
}

/**
 * Listens for the debugger and holds the VM until one connects and resumes it. `say` prints one
 * line on stderr; the first says where to connect.
 */
export function startDebugging(machine: Machine, plan: GuestPlan, address: GdbAddress, layout: LayoutName, kvmPath: string,
  makeWorker: () => Worker, say: (line: string) => void): Debugging {
  const caps = probeDebugCapabilities(kvmPath);
  const server = GdbServer.listen(address);
  const watcher = new FdWatcher(makeWorker);
  const core = machine.core;
  const target = new KvmDebugTarget(core.vcpu, machine.memory, caps, imageMap(plan), {
    mmio: core.mmio,
    setMemoryHoles: (pages) => core.setMemoryHoles(pages),
    requestStop: () => core.stop.request(DEBUG_WATCH),
  });
  const session = new DebugSession(machine, server, target, new RegisterLayout(layout), watcher, say);
  say(`waiting for gdb on ${server.address} (in gdb: target remote ${server.address}; registers as ${layout})`);
  return {
    session,
    close: () => {
      watcher.stop();
      server.close();
    },
  };
}

/** The register layout gdb will expect: the guest file's ELF class (see registers.ts). */
export function layoutFor(plan: GuestPlan): LayoutName {
  const file = plan.kind === "plain" ? plan.guest.file : plan.kernel;
  if (file.kind === "elf") return file.elf.elfClass === 32 ? "i386" : "x86-64";
  // A multiboot kernel without ELF (the header's address fields) starts in 32-bit code.
  return plan.kind === "multiboot" ? "i386" : "x86-64";
}

/**
 * Where the guest's ELF put each virtual address (its segments: p_vaddr to p_paddr, as loaded):
 * breakpoints at addresses its page tables do not map yet (a kernel before paging) go there.
 */
function imageMap(plan: GuestPlan): (addr: bigint) => number | undefined {
  const file = plan.kind === "plain" ? plan.guest.file : plan.kernel;
  if (file.kind !== "elf") return () => undefined;
  const segments = file.elf.segments;
  return (addr) => {
    const s = segments.find((g) => addr >= g.vaddr && addr < g.vaddr + BigInt(g.memsz));
    return s === undefined ? undefined : s.paddr + Number(addr - s.vaddr);
  };
}
