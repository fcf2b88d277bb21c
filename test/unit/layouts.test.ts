// The boot-protocol and paravirtual layouts against the C that defines them: <asm/bootparam.h>
// for the zero page, guest/include/paravirt.h for our disk request and memory-map entry, and
// Xen's start_info.h declarations (not installed on most hosts: restated here as that header
// has them) for PVH. Also the packed and array-of-struct codec rules they rely on.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { boot_e820_entry, boot_params, setup_header, SETUP_HEADER_OFFSET, SETUP_HEADER_SPACE_END } from "../../src/arch/boot-params";
import { hvm_memmap_table_entry, hvm_modlist_entry, hvm_start_info } from "../../src/arch/pvh";
import { struct } from "../../src/binary/struct";
import { memmap_entry } from "../../src/devices/memmap";
import { disk_request } from "../../src/devices/pv-block";
import { ROOT } from "../helpers";
import { compareWithC, structExpectations } from "../c-layout";

// xen/include/public/arch-x86/hvm/start_info.h
const XEN_START_INFO = `
#include <stdint.h>
struct hvm_start_info { uint32_t magic; uint32_t version; uint32_t flags; uint32_t nr_modules; uint64_t modlist_paddr;
  uint64_t cmdline_paddr; uint64_t rsdp_paddr; uint64_t memmap_paddr; uint32_t memmap_entries; uint32_t reserved; };
struct hvm_modlist_entry { uint64_t paddr; uint64_t size; uint64_t cmdline_paddr; uint64_t reserved; };
struct hvm_memmap_table_entry { uint64_t addr; uint64_t size; uint32_t type; uint32_t reserved; };`;

describe("binary layouts", () => {
  test("boot_params, its setup header and e820 entries match <asm/bootparam.h>", () => {
    const exp = structExpectations(boot_params);
    structExpectations(setup_header, undefined, exp);
    structExpectations(boot_e820_entry, undefined, exp);
    exp.set("boot_params.e820_table.1", { c: "offsetof(struct boot_params, e820_table[1])", ours: boot_params.offsetOf("e820_table.1") });
    expect(boot_params.size).toBe(4096);
    expect([boot_params.offsetOf("hdr"), boot_params.offsetOf("edd_mbr_sig_buffer")]).toEqual([SETUP_HEADER_OFFSET, SETUP_HEADER_SPACE_END]);
    expect(compareWithC(["#include <asm/bootparam.h>"], exp)).toEqual([]);
  });

  test("the disk request and memory-map entry match guest/include/paravirt.h", () => {
    const exp = structExpectations(disk_request);
    structExpectations(memmap_entry, undefined, exp);
    expect(compareWithC(['#include "paravirt.h"'], exp, ["-I", join(ROOT, "guest/include")])).toEqual([]);
  });

  test("hvm_start_info, its module and memory-map entries match Xen's start_info.h", () => {
    const exp = structExpectations(hvm_start_info);
    structExpectations(hvm_modlist_entry, undefined, exp);
    structExpectations(hvm_memmap_table_entry, undefined, exp);
    expect(compareWithC([XEN_START_INFO], exp)).toEqual([]);
  });

  test("packed structs have no padding; natural ones do; arrays of structs step by the element size", () => {
    const natural = struct("n", { a: "u8", b: "u32", c: "u64" });
    const packed = struct("p", { a: "u8", b: "u32", c: "u64" }, { packed: true });
    expect([natural.offsetOf("b"), natural.offsetOf("c"), natural.size]).toEqual([4, 8, 16]);
    expect([packed.offsetOf("b"), packed.offsetOf("c"), packed.size, packed.align]).toEqual([1, 5, 13, 1]);
    const holder = struct("h", { n: "u8", items: [packed, 3] });
    expect([holder.offsetOf("items.2.c"), holder.size]).toEqual([1 + 2 * 13 + 5, 1 + 3 * 13]);
    const bytes = holder.encode({ n: 7, items: [{ a: 1, b: 2, c: 3n }, { a: 4, b: 5, c: 6n }] });
    expect(holder.decode(bytes).items[1]).toEqual({ a: 4, b: 5, c: 6n });
    expect(holder.decode(bytes).items[2]).toEqual({ a: 0, b: 0, c: 0n });
    expect(() => holder.encode({ items: [{}, {}, {}, {}] as never })).toThrow("4 values for an array of 3");
  });
});
