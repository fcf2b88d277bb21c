// What needs hardware-style KVM, in one nested boot where /dev/kvm here is software (one boot
// costs seconds): 32-bit paged mode, the CPUID policy where KVM really offers SVM/VMX, and Linux.
// On a host whose KVM is hardware, the same commands run directly.
import { beforeAll, describe, expect, test } from "bun:test";
import { hardwareKvm, runHardware } from "../helpers";
import { busyboxInitramfs, cloudKernel, cloudVmlinux, INTERACTIVE_SHELL } from "../linux/fixtures";

const SHOW = "--regs --peek 0x400:4";
const SECTIONS: Record<string, string> = {
  "paged-raw": `./dist/microvmm ${SHOW} --mode paged guest/build/hello-32.bin`,
  "paged-elf": `./dist/microvmm ${SHOW} --mode paged guest/build/hello-32.elf`,
  "sysinfo": "./dist/microvmm guest/build/sysinfo.elf",
  "host-cpu": "grep -o -w -m1 -E 'svm|vmx' /proc/cpuinfo",
};
const LINUX_TOKEN = "microvmm.test=4242";

const results = new Map<string, { status: number; lines: string[] }>();
const skip = hardwareKvm.how === "skip";

beforeAll(async () => {
  if (skip) return;
  // Debian's stock cloud kernel and busybox initramfs images, fetched and cached on this side.
  const kernel = cloudKernel();
  SECTIONS["linux-boot"] = `./dist/microvmm -m 256M --kernel ${kernel} --initrd ${busyboxInitramfs("boot", "reboot -f")} --append ${LINUX_TOKEN}`;
  const vmlinux = cloudVmlinux();
  SECTIONS["linux-pvh"] = `./dist/microvmm --stats -m 256M --kernel ${vmlinux} --initrd ${busyboxInitramfs("boot", "reboot -f")} --append ${LINUX_TOKEN}`;
  SECTIONS["linux-pvh-as-guest"] = `./dist/microvmm -m 256M ${vmlinux} --initrd ${busyboxInitramfs("poweroff", "poweroff -f")}`;
  SECTIONS["linux-bzimage-as-guest"] = `./dist/microvmm -m 256M ${kernel} --initrd ${busyboxInitramfs("boot", "reboot -f")}`;
  SECTIONS["linux-poweroff"] = `./dist/microvmm -m 256M --kernel ${kernel} --initrd ${busyboxInitramfs("poweroff", "poweroff -f")}`;
  SECTIONS["linux-panic"] = `./dist/microvmm -m 256M --kernel ${kernel} --initrd ${busyboxInitramfs("panic", "exit 3")}`;
  SECTIONS["linux-1g"] = `./dist/microvmm -m 1G --kernel ${kernel} --initrd ${busyboxInitramfs("poweroff", "poweroff -f")}`;
  SECTIONS["linux-4g"] = `./dist/microvmm -m 4G --kernel ${kernel} --initrd ${busyboxInitramfs("poweroff", "poweroff -f")}`;
  SECTIONS["linux-shell"] = `node_modules/.bin/bun test/linux/drive.ts ./dist/microvmm -m 256M --kernel ${kernel} --initrd ${busyboxInitramfs("shell", INTERACTIVE_SHELL)}`;
  const script = Object.entries(SECTIONS)
    .map(([name, cmd]) => `echo "=== ${name}"; timeout 150 ${cmd} 2>&1; echo "=== status $?"`).join("; "); // one line: the runner quotes it
  // Room in the nested machine for a 4 GiB guest beside everything else.
  const r = await runHardware(["sh", "-c", script], 600, 7168);
  for (const m of r.stdout.matchAll(/=== (\S+)\n([\s\S]*?)=== status (\d+)\n/g)) {
    results.set(m[1]!, { status: Number(m[3]), lines: m[2]!.split("\n").slice(0, -1) });
  }
  if (results.size !== Object.keys(SECTIONS).length) throw new Error(`hardware run incomplete (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
}, 1_300_000);

describe.skipIf(skip)(`on hardware-style KVM (${hardwareKvm.how})${skip ? ` — skipped: ${hardwareKvm.why}` : ""}`, () => {
  for (const name of ["paged-raw", "paged-elf"]) {
    test(`${name}: 32-bit paging on, prints, 42 in RAX and at 0x400`, () => {
      const r = results.get(name)!;
      expect(r.lines.slice(0, 2)).toEqual(["Hello, world!", "Hello from paged mode"]);
      expect(r.lines).toContain("rax=0x000000000000002a");
      expect(r.lines).toContain("cr0=0x0000000080000033"); // PG NE ET MP PE
      expect(r.lines).toContain("cr4=0x0000000000000610"); // OSXMMEXCPT OSFXSR PSE
      expect(r.lines).toContain("0x00000400: 2a 00 00 00                                      *...");
      expect(r.status).toBe(0);
    });
  }

  test("CPUID hides VMX and SVM even where the host CPU (and so KVM) has them", () => {
    expect(results.get("host-cpu")!.lines).toEqual([expect.stringMatching(/^(svm|vmx)$/)]);
    const s = results.get("sysinfo")!;
    expect(s.lines).toContain("vmx: no");
    expect(s.lines).toContain("svm: no");
    expect(s.lines).toContain("hypervisor: yes");
    expect(s.lines).toContain("hypervisor signature: KVMKVMKVM");
    expect(s.status).toBe(0);
  });
});

describe.skipIf(skip)(`Linux on hardware-style KVM (${hardwareKvm.how})${skip ? ` — skipped: ${hardwareKvm.why}` : ""}`, () => {
  test("the stock bzImage boots to init; init sees the command line we passed; reboot -f ends microvmm with 0", () => {
    const r = results.get("linux-boot")!;
    expect(r.lines).toContain("MICROVMM-INIT-OK");
    const cmdline = r.lines.find((l) => l.startsWith("cmdline: "))!;
    expect(cmdline).toContain("console=ttyS0");
    expect(cmdline).toContain(LINUX_TOKEN);
    expect(r.status).toBe(0);
  });

  test("the ELF vmlinux with a PVH note boots the PVH way to init, with our command line", () => {
    const r = results.get("linux-pvh")!;
    expect(r.lines).toContain("MICROVMM-INIT-OK");
    expect(r.lines.find((l) => l.startsWith("cmdline: "))).toContain(LINUX_TOKEN);
    expect(r.lines.find((l) => l.startsWith("linux boot: "))).toMatch(/^linux boot: PVH, entry 0x[0-9a-f]+$/);
    expect(r.status).toBe(0);
  });

  test("a PVH vmlinux given as the guest boots as Linux", () => {
    const r = results.get("linux-pvh-as-guest")!;
    expect(r.lines).toContain("MICROVMM-INIT-OK");
    expect(r.status).toBe(0);
  });

  test("a bzImage given as the guest boots as Linux", () => {
    const r = results.get("linux-bzimage-as-guest")!;
    expect(r.lines).toContain("MICROVMM-INIT-OK");
    expect(r.status).toBe(0);
  });

  test("poweroff -f in the guest ends microvmm with status 0 (ACPI S5)", () => {
    const r = results.get("linux-poweroff")!;
    expect(r.lines).toContain("MICROVMM-INIT-OK");
    expect(r.lines.some((l) => l.includes("reboot: Power down"))).toBe(true);
    expect(r.status).toBe(0);
  });

  test("a guest kernel panic ends microvmm with status 1, its last lines visible", () => {
    const r = results.get("linux-panic")!;
    expect(r.lines.some((l) => l.includes("Kernel panic - not syncing: Attempted to kill init!"))).toBe(true);
    expect(r.lines.at(-1)).toMatch(/^microvmm: guest kernel panicked: Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300/);
    expect(r.status).toBe(1);
  });

  for (const [name, gib] of [["linux-1g", 1], ["linux-4g", 4]] as const) {
    test(`a ${gib} GiB guest: MemTotal is the RAM less what the kernel keeps`, () => {
      const r = results.get(name)!;
      const kb = Number(/^MemTotal:\s+(\d+) kB/m.exec(r.lines.join("\n"))?.[1]);
      console.log(`${gib} GiB guest: MemTotal ${kb} kB`);
      expect(kb).toBeGreaterThan(0.9 * gib * 1024 * 1024);
      expect(kb).toBeLessThanOrEqual(gib * 1024 * 1024);
      expect(r.status).toBe(0);
    });
  }

  test("interactive: Ctrl-C interrupts a command in the guest; `echo $((6*7))` answers 42; poweroff -f ends with 0", () => {
    const r = results.get("linux-shell")!;
    expect(r.lines).toContain("ctrl-c: back in the shell");
    expect(r.lines).toContain("answer: 42");
    expect(r.lines).toContain("status: 0");
    expect(r.status).toBe(0);
  });
});
