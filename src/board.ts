// The board: which device sits at which port. Only this file knows the port numbers.
import { Console } from "./devices/console";
import { HYPERCALL_PORTS, Hypercalls, type HypercallHost } from "./devices/hypercall";
import { Keyboard } from "./devices/keyboard";
import { MemMapDevice } from "./devices/memmap";
import { NullHypercall } from "./devices/null-hypercall";
import { PvBlock, type BlockBackend } from "./devices/pv-block";
import type { MemMapEntry } from "./arch/memmap";
import { Timer, type Clock } from "./devices/timer";
import type { GuestMemory } from "./memory/guest-memory";
import type { PortBus } from "./vcpu/bus";

export const NULL_HYPERCALL_PORT = 0x10; // 0x10, 0x11: out does nothing (a round trip to the VMM)
export const CONSOLE_PORT = 0x42; // write: a character
export const KEYBOARD_PORT = 0x44; // 0x44 read: key; 0x45 read: status, write 0: ack
export const TIMER_PORT = 0x46; // 0x46 write: period (ms); 0x47: bit 0 enable, bit 1 fired
export const HYPERCALL_PORT = 0xe9; // 0xE9-0xEF: see devices/hypercall.ts
export const DISK_DOORBELL_PORT = 0xf0; // write: guest-physical address of a disk request
export const MEMMAP_PORT = 0xf1; // 0xF1 write: buffer; 0xF2 write: capacity, read: entry count

export interface CoreDevices {
  console: Console;
  keyboard: Keyboard;
  timer: Timer;
  hypercalls: Hypercalls;
  disk: PvBlock;
  memmap: MemMapDevice;
  nullHypercall: NullHypercall;
}

export interface CoreWiring {
  /** Receives console output. */
  output: (bytes: Uint8Array) => void;
  clock: Clock;
  /** Pulls pending host input into the keyboard before the guest looks at it. */
  refillKeyboard: () => void;
  memory: GuestMemory;
  /** The guest-physical page the hypercalls write their replies into. */
  scratch: number;
  hypercallHost: HypercallHost;
  drives: readonly BlockBackend[];
  memoryMap: readonly MemMapEntry[];
  warn: (message: string) => void;
}

export function attachCoreDevices(ports: PortBus, w: CoreWiring): CoreDevices {
  const devices = {
    console: new Console(w.output),
    keyboard: new Keyboard(w.refillKeyboard),
    timer: new Timer(w.clock),
    hypercalls: new Hypercalls(w.memory, w.scratch, w.hypercallHost),
    disk: new PvBlock(w.memory, w.drives, w.warn),
    memmap: new MemMapDevice(w.memory, w.memoryMap, w.warn),
    nullHypercall: new NullHypercall(),
  };
  ports.insert(NULL_HYPERCALL_PORT, 2, "null hypercall", devices.nullHypercall);
  ports.insert(CONSOLE_PORT, 1, "console", devices.console);
  ports.insert(KEYBOARD_PORT, 2, "keyboard", devices.keyboard);
  ports.insert(TIMER_PORT, 2, "timer", devices.timer);
  ports.insert(HYPERCALL_PORT, HYPERCALL_PORTS, "hypercall", devices.hypercalls);
  ports.insert(DISK_DOORBELL_PORT, 1, "disk", devices.disk);
  ports.insert(MEMMAP_PORT, 2, "memmap", devices.memmap);
  return devices;
}
