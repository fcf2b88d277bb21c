// Guests built into the executable (bun build --compile embeds the imported files), so
// `microvmm demo` works with no other file present. Built by build.ts from guest/.
import demoElf from "../guest/build/demo.elf" with { type: "file" };
import demoBin from "../guest/build/demo.bin" with { type: "file" };
import type { CpuMode } from "./arch/cpu-modes";

export interface BuiltinGuest {
  bytes: Uint8Array;
  /** For a raw build: where it loads and its mode. */
  raw?: { mode: CpuMode; load: number; entry: number };
}

/** guest/link64.ld links 64-bit C guests here; the raw build starts at its first byte. */
const C_GUEST_BASE = 0x100000;

export async function builtinGuest(name: "demo" | "demo-raw" | string): Promise<BuiltinGuest> {
  if (name === "demo-raw") return { bytes: await Bun.file(demoBin).bytes(), raw: { mode: "long", load: C_GUEST_BASE, entry: C_GUEST_BASE } };
  return { bytes: await Bun.file(demoElf).bytes() };
}
