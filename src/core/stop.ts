// Why a VM stops, and how a device asks for it. A device whose access ends the VM (a reset pulse,
// ACPI power-off, the host's quit key) calls `request`; the exit handler returns the request at
// the end of that exit, before the guest runs another instruction. The first request wins.
import { ExitStatus } from "../errors";

export interface VmStop {
  status: number;
  message: string;
  /** Print the vCPU registers with the message (the guest failed). */
  dumpState: boolean;
}

export class StopRequest {
  private stop: VmStop | undefined;

  /** Asks for the VM to stop after the current exit; a later request does not replace the first. */
  request(stop: VmStop): void {
    this.stop ??= stop;
  }

  /** Takes back a request that turned out not to end the VM (a debugger's trap): only that one. */
  withdraw(stop: VmStop): void {
    if (this.stop === stop) this.stop = undefined;
  }

  /** The stop asked for, or undefined. */
  get pending(): VmStop | undefined {
    return this.stop;
  }
}

/** The user quit (Ctrl-A x). */
export const QUIT: VmStop = { status: ExitStatus.Ok, message: "quit (Ctrl-A x)", dumpState: false };
/** The guest failed: the message, and the registers with it. */
export const failed = (message: string): VmStop => ({ status: ExitStatus.GuestFailed, message, dumpState: true });

/**
 * KVM_EXIT_DEBUG: a single step, a debug register or an intercepted INT3. Without a debugger it
 * ends the VM as a failure; a debugger's run loop (src/gdb/session.ts) knows it by identity.
 */
export const DEBUG_EXIT: VmStop = failed("guest stopped on a debug exception (KVM_EXIT_DEBUG)");

/** A debugger's trap instruction reached its port (src/gdb): the run loop stops for the debugger to look. */
export const DEBUG_TRAP: VmStop = failed("guest stopped on a debugger trap");

/** A guest access to a page a debugger watches (src/gdb) touched the watched bytes. */
export const DEBUG_WATCH: VmStop = failed("guest stopped on a debugger watchpoint");
