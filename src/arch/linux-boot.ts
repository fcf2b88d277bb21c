// The CPU state for Linux's 64-bit boot protocol: long mode, paging on with the first 4 GiB
// identity-mapped (kernel, zero page, command line and initrd all sit there), a GDT whose
// selectors are the kernel's __BOOT_CS (0x10) and __BOOT_DS (0x18), RSI = the zero page,
// interrupts off, RIP = the kernel's 64-bit entry.
import type { KvmRegs, KvmSregs } from "../kvm/bindings";
import type { GuestMemory } from "../memory/guest-memory";
import { bootRegs, flatCode, flatData, gdtBytes, longModeIdentityTables, protectedSregs } from "./boot-state";
import { LINUX_GDT, LINUX_PAGE_TABLES, LINUX_STACK_TOP, ZERO_PAGE } from "./layout";
import * as X from "./x86";

export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;
const IDENTITY_END = 4 * X.PAGE_1G;

/** Writes the boot GDT and page tables (PML4, PDPT, four page directories of 2 MiB pages). */
export function writeLinuxBootTables(memory: GuestMemory): void {
  memory.write(LINUX_GDT, gdtBytes([flatCode(BOOT_CS, 64), flatData(BOOT_DS)]), "boot GDT");
  memory.write(LINUX_PAGE_TABLES, longModeIdentityTables(LINUX_PAGE_TABLES, IDENTITY_END), "boot page tables");
}

export function linuxSregs(reset: KvmSregs): KvmSregs {
  return protectedSregs(reset, {
    gdtBase: LINUX_GDT, gdtLimit: 4 * 8 - 1, code: flatCode(BOOT_CS, 64), data: flatData(BOOT_DS),
    cr0: X.CR0_PE | X.CR0_MP | X.CR0_ET | X.CR0_NE | X.CR0_PG, cr3: BigInt(LINUX_PAGE_TABLES), cr4: X.CR4_PAE,
    efer: reset.efer | X.EFER_LME | X.EFER_LMA,
  });
}

export function linuxRegs(entry: number): KvmRegs {
  return bootRegs({ rsi: BigInt(ZERO_PAGE), rsp: BigInt(LINUX_STACK_TOP), rip: BigInt(entry) });
}
