// What a guest can make microvmm print: problems it causes that do not stop it (a bad hypercall
// pointer, a disk request outside RAM, an access nobody claims). Each kind is printed the first
// PRINTED_PER_KIND times, then only counted (said once), so no guest can flood stderr; the
// counts go in --stats.
export const PRINTED_PER_KIND = 5;

export class GuestReports {
  /** Reports by kind, printed or not. */
  readonly counts = new Map<string, number>();

  constructor(private readonly print: (line: string) => void, private readonly perKind = PRINTED_PER_KIND) {}

  report(kind: string, message: string): void {
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    if (n <= this.perKind) this.print(message);
    if (n === this.perKind) this.print(`(${kind}: further reports are counted, not printed; --stats has the total)`);
  }

  /** A reporter bound to one kind, for a device. */
  of(kind: string): (message: string) => void {
    return (message) => this.report(kind, message);
  }
}
