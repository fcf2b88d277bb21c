// elfy ships no types. Only what microvmm reads is declared; 64-bit values arrive as doubles.
declare module "elfy" {
  export interface ElfProgram {
    type: string | number;
    offset: number;
    vaddr: number;
    paddr: number;
    filesz: number;
    memsz: number;
    flags: Record<string, boolean>;
    align: number;
    data: Buffer;
  }
  export interface ElfFile {
    class: "32" | "64";
    endian: "lsb" | "msb";
    type: string | number;
    machine: string | number;
    entry: number;
    phoff: number;
    phnum: number;
    phentsize: number;
    body: { programs: ElfProgram[] };
  }
  export function parse(buf: Buffer): ElfFile;
}
