// The Linux x86 boot protocol's structures (arch/x86/include/uapi/asm/bootparam.h), declared once:
// the setup header a bzImage carries at 0x1f1, and the "zero page" (struct boot_params) a boot
// loader fills in, with the setup header at the same offset and the e820 memory map. Both are
// packed in C; test/unit/layouts.test.ts checks every named field against the header.
// Spans the VMM never fills are reserved byte arrays (`_pad…`, or `_` + the C member's name).
import { struct } from "../binary/struct";

export const setup_header = struct("setup_header", {
  setup_sects: "u8", root_flags: "u16", syssize: "u32", ram_size: "u16", vid_mode: "u16", root_dev: "u16",
  boot_flag: "u16", jump: "u16", header: "u32", version: "u16", realmode_swtch: "u32", start_sys_seg: "u16",
  kernel_version: "u16", type_of_loader: "u8", loadflags: "u8", setup_move_size: "u16", code32_start: "u32",
  ramdisk_image: "u32", ramdisk_size: "u32", bootsect_kludge: "u32", heap_end_ptr: "u16", ext_loader_ver: "u8",
  ext_loader_type: "u8", cmd_line_ptr: "u32", initrd_addr_max: "u32", kernel_alignment: "u32",
  relocatable_kernel: "u8", min_alignment: "u8", xloadflags: "u16", cmdline_size: "u32", hardware_subarch: "u32",
  hardware_subarch_data: "u64", payload_offset: "u32", payload_length: "u32", setup_data: "u64",
  pref_address: "u64", init_size: "u32", handover_offset: "u32", kernel_info_offset: "u32",
}, { packed: true });

/** One e820 memory-map entry as the boot protocol lays it out (20 bytes, packed). */
export const boot_e820_entry = struct("boot_e820_entry", { addr: "u64", size: "u64", type: "u32" }, { packed: true });

/** E820_MAX_ENTRIES_ZEROPAGE: the zero page's e820 table holds this many entries. */
export const E820_MAX_ENTRIES_ZEROPAGE = 128;

export const boot_params = struct("boot_params", {
  _screen_info: ["u8", 0x40], _apm_bios_info: ["u8", 0x14], _pad2: ["u8", 4], tboot_addr: "u64",
  _ist_info: ["u8", 16], acpi_rsdp_addr: "u64", _pad3: ["u8", 8], hd0_info: ["u8", 16], hd1_info: ["u8", 16],
  _sys_desc_table: ["u8", 16], _olpc_ofw_header: ["u8", 16], ext_ramdisk_image: "u32", ext_ramdisk_size: "u32",
  ext_cmd_line_ptr: "u32", _pad4: ["u8", 112], cc_blob_address: "u32", _edid_info: ["u8", 0x80],
  _efi_info: ["u8", 0x20], alt_mem_k: "u32", scratch: "u32", e820_entries: "u8", eddbuf_entries: "u8",
  edd_mbr_sig_buf_entries: "u8", kbd_status: "u8", secure_boot: "u8", _pad5: ["u8", 2], sentinel: "u8",
  _pad6: ["u8", 1], hdr: setup_header, _pad7: ["u8", 0x290 - 0x1f1 - setup_header.size],
  edd_mbr_sig_buffer: ["u32", 16], e820_table: [boot_e820_entry, E820_MAX_ENTRIES_ZEROPAGE], _pad8: ["u8", 48],
  _eddbuf: ["u8", 0x1ec], _pad9: ["u8", 276],
}, { packed: true });
export type BootParams = ReturnType<typeof boot_params.decode>;
export type SetupHeader = ReturnType<typeof setup_header.decode>;

/** Where the setup header sits, in a bzImage file and in boot_params alike (the layout test checks boot_params' hdr is here). */
export const SETUP_HEADER_OFFSET = 0x1f1;
/** Where boot_params' room for the setup header ends (edd_mbr_sig_buffer): a longer header is not copied past it. */
export const SETUP_HEADER_SPACE_END = 0x290;

/** Offset of a setup-header field in a bzImage file (and in boot_params: the same place). */
export const hdrOffset = (field: keyof SetupHeader): number => SETUP_HEADER_OFFSET + setup_header.offsetOf(field);
