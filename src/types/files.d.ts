// Guest binaries embedded with `import x from "…" with { type: "file" }`: the import is a path.
declare module "*.elf" { const path: string; export default path; }
declare module "*.bin" { const path: string; export default path; }
