// The byte checksum BIOS tables carry (ACPI, MP): the byte that makes all of a table's bytes sum
// to 0 modulo 256.

/** The checksum byte for `bytes` (computed with that byte still 0). */
export function checksum8(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return (0x100 - sum) & 0xff;
}

/** A signature or ID string as the bytes a table holds. */
export const ascii = (s: string) => new TextEncoder().encode(s);
