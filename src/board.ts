// The board: which device sits at which port. Only this file knows the port numbers.
import { Console } from "./devices/console";
import { HYPERCALL_PORTS, Hypercalls, type HypercallHost } from "./devices/hypercall";
import { Keyboard } from "./devices/keyboard";
import { Timer, type Clock } from "./devices/timer";
import type { GuestMemory } from "./memory/guest-memory";
import type { PortBus } from "./vcpu/bus";

export const CONSOLE_PORT = 0x42; // write: a character
export const KEYBOARD_PORT = 0x44; // 0x44 read: key; 0x45 read: status, write 0: ack
export const TIMER_PORT = 0x46; // 0x46 write: period (ms); 0x47: bit 0 enable, bit 1 fired
export const HYPERCALL_PORT = 0xe9; // 0xE9-0xEF: see devices/hypercall.ts

export interface CoreDevices {
  console: Console;
  keyboard: Keyboard;
  timer: Timer;
  hypercalls: Hypercalls;
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
}

export function attachCoreDevices(ports: PortBus, w: CoreWiring): CoreDevices {
  const devices = {
    console: new Console(w.output),
    keyboard: new Keyboard(w.refillKeyboard),
    timer: new Timer(w.clock),
    hypercalls: new Hypercalls(w.memory, w.scratch, w.hypercallHost),
  };
  ports.insert(CONSOLE_PORT, 1, "console", devices.console);
  ports.insert(KEYBOARD_PORT, 2, "keyboard", devices.keyboard);
  ports.insert(TIMER_PORT, 2, "timer", devices.timer);
  ports.insert(HYPERCALL_PORT, HYPERCALL_PORTS, "hypercall", devices.hypercalls);
  return devices;
}
