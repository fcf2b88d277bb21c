// Numbers as microvmm prints them: "0x" and lowercase hex, optionally zero-padded to `width` digits.
export const hex = (n: number | bigint, width = 0): string => "0x" + n.toString(16).padStart(width, "0");
