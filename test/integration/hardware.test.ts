// What needs hardware-style KVM, in one nested boot where /dev/kvm here is software (one boot
// costs seconds): 32-bit paged mode, the CPUID policy where KVM really offers SVM/VMX, and Linux.
// On a host whose KVM is hardware, the same commands run directly.
// In the nested machine (QEMU's emulated AMD CPU with nested paging), a guest's memory view goes
// stale now and then when the vCPU thread moves between the machine's two CPUs: the guest
// triple-faults or spins on an instruction fetch its page tables allow (5 of 40 Linux boots;
// 0 of 40 with the thread kept on one CPU). So there the Linux commands run under `taskset`, and a
// Linux section whose boot never reached init, or whose scripted session broke off, is run once
// more, and the test log says so. (Every Linux guest there, QEMU's too, also WARNs that the
// XSAVE size in CPUID 0xD does not match the features: the emulated CPU's, harmless.)
import { beforeAll, describe, expect, test } from "bun:test";
import { hardwareKvm, runHardware } from "../helpers";
import { buildXv6, xv6 } from "../pc/xv6";
import { busyboxBinary, busyboxInitramfs, cloudKernel, netInitramfs, cpuJobInitramfs, jobSpeedup, cloudVmlinux, genericKernel, INTERACTIVE_SHELL, rootImage, virtioInitramfs,
  vmlinuxWithoutPvhNote } from "../linux/fixtures";

const SHOW = "--regs --peek 0x400:4";
const SECTIONS: Record<string, string> = {
  "paged-raw": `./dist/microvmm ${SHOW} --mode paged guest/build/hello-32.bin`,
  "paged-elf": `./dist/microvmm ${SHOW} --mode paged guest/build/hello-32.elf`,
  "sysinfo": "./dist/microvmm guest/build/sysinfo.elf",
  "host-cpu": "grep -o -w -m1 -E 'svm|vmx' /proc/cpuinfo",
};
const LINUX_TOKEN = "microvmm.test=4242";
/** Bytes sent each way over the guest's network (the issue's 64 MiB: ~10 MB/s each way nested, with the device thread on its own CPU). */
const NET_BYTES = 64 << 20;

const results = new Map<string, { status: number; lines: string[] }>();
const skip = hardwareKvm.how === "skip";

beforeAll(async () => {
  if (skip) return;
  // Debian's stock cloud kernel and busybox initramfs images, fetched and cached on this side.
  const kernel = cloudKernel();
  const vmm = `${hardwareKvm.how === "nested" ? "taskset -c 1 " : ""}./dist/microvmm`; // see the note at the top
  SECTIONS["linux-boot"] = `${vmm} -m 256M --kernel ${kernel} --initrd ${busyboxInitramfs("boot", "reboot -f")} --append ${LINUX_TOKEN}`;
  const vmlinux = cloudVmlinux();
  SECTIONS["linux-pvh"] = `${vmm} --stats -m 256M --kernel ${vmlinux} --initrd ${busyboxInitramfs("boot", "reboot -f")} --append ${LINUX_TOKEN}`;
  SECTIONS["linux-elf-64bit"] = `${vmm} --stats -m 256M --kernel ${vmlinuxWithoutPvhNote()} --initrd ${busyboxInitramfs("boot", "reboot -f")} --append ${LINUX_TOKEN}`;
  SECTIONS["linux-pvh-as-guest"] = `${vmm} -m 256M ${vmlinux} --initrd ${busyboxInitramfs("poweroff", "poweroff -f")}`;
  SECTIONS["linux-bzimage-as-guest"] = `${vmm} -m 256M ${kernel} --initrd ${busyboxInitramfs("boot", "reboot -f")}`;
  SECTIONS["linux-generic"] = `${vmm} -m 256M --kernel ${genericKernel()} --initrd ${busyboxInitramfs("boot", "reboot -f")} --append ${LINUX_TOKEN}`;
  SECTIONS["linux-poweroff"] = `${vmm} -m 128M --kernel ${kernel} --initrd ${busyboxInitramfs("poweroff", "poweroff -f")}`;
  SECTIONS["linux-panic"] = `${vmm} -m 256M --kernel ${kernel} --initrd ${busyboxInitramfs("panic", "exit 3")}`;
  SECTIONS["linux-1g"] = `${vmm} -m 1G --kernel ${kernel} --initrd ${busyboxInitramfs("poweroff", "poweroff -f")}`;
  SECTIONS["linux-4g"] = `${vmm} -m 4G --kernel ${kernel} --initrd ${busyboxInitramfs("poweroff", "poweroff -f")}`;
  SECTIONS["linux-8g"] = `${vmm} -m 8G --kernel ${kernel} --initrd ${busyboxInitramfs("poweroff", "poweroff -f")}`;
  const shell = `${vmm} -m 256M --kernel ${kernel} --initrd ${busyboxInitramfs("shell", INTERACTIVE_SHELL)}`;
  // --cpus: what the guest counts, and a CPU-bound job in one process, then in one per CPU at
  // once. Nested, every vCPU thread is on one CPU (taskset): there the speedup is about 1, only
  // reported; bench/smp.ts measures it with the threads free.
  const smpInit = cpuJobInitramfs(3000);
  for (const n of [2, 4]) SECTIONS[`linux-cpus-${n}`] = `${vmm} -m 256M --cpus ${n} --kernel ${kernel} --initrd ${smpInit}`;
  // virtio: the entropy device; the root file system on virtio-blk (the initramfs loads the
  // kernel's virtio modules, mounts /dev/vda and switches to it), a read-only second disk, and a
  // flushed write that survives SIGKILL (test/linux/virtio-disk.sh).
  SECTIONS["linux-virtio-rng"] = `${vmm} --stats -m 256M --kernel ${kernel} --initrd ${virtioInitramfs("virtio-rng",
    'echo "rng: $(cat /sys/class/misc/hw_random/rng_current)"; echo "hwrng: $(head -c 4096 /dev/hwrng | wc -c)"; poweroff -f')}`;
  const switchRoot = virtioInitramfs("virtio-root", "mkdir /newroot; mount -t ext4 /dev/vda /newroot && exec switch_root /newroot /init; echo no-root; poweroff -f");
  const rootFs = rootImage("root-hello", [
    "echo written-and-synced > /hello; sync",
    'echo "serial: $(cat /sys/block/vda/serial)"; echo "vdb ro: $(cat /sys/block/vdb/ro)"',
    "mount -t ext4 /dev/vdb /mnt 2>/dev/null; grep ' /mnt ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1 | sed 's/^/vdb mounted: /'",
    "touch /mnt/x 2>&1 | sed 's/^/touch: /'",
    "dd if=/dev/zero of=/dev/vdb bs=512 count=1 2>&1 | head -1 | sed 's/^/dd: /'",
    // A scratch disk: 64 KiB zeroed (WRITE_ZEROES), then 256 KiB discarded (DISCARD).
    'echo "vdc discard granularity: $(cat /sys/block/vdc/queue/discard_granularity), write zeroes max: $(cat /sys/block/vdc/queue/write_zeroes_max_bytes)"',
    "zeroout /dev/vdc 0 65536 && echo 'vdc: zeroed'",
    "blkdiscard -o 131072 -l 262144 /dev/vdc && echo 'vdc: discarded'",
    "poweroff -f"].join("\n"));
  const killFs = rootImage("root-kill", "echo flushed-before-kill > /killed; sync; echo SYNCED; sleep 1000");
  const dataFs = rootImage("data", "true", 8);
  // The network, inside a network namespace the script makes (root: the nested machine's, or sudo).
  SECTIONS["linux-virtio-net"] = `sh test/linux/virtio-net.sh ${busyboxBinary()} ${NET_BYTES} ${netInitramfs(NET_BYTES)} ${vmm} --stats -m 512M --kernel ${kernel}`;
  SECTIONS["linux-virtio-disk"] = `sh test/linux/virtio-disk.sh ${rootFs} ${killFs} ${dataFs} ${switchRoot} ${vmm} --stats -m 256M --kernel ${kernel}`;
  // The PC board by interrupts: this machine's software KVM cannot emulate the kernel's IRET.
  SECTIONS["pc-irq"] = `sh test/pc/run-irq.sh ${vmm}`;
  if (xv6.available) {
    const { kernel: xv6Kernel, fsImg } = buildXv6();
    SECTIONS["xv6"] = `node_modules/.bin/bun test/pc/drive-xv6.ts ${fsImg} ${vmm} -m 512M --console serial ${xv6Kernel}`;
    // xv6's whole usertests with two CPUs, on hardware KVM only: under the nested KVM both vCPU
    // threads share one CPU, and a vCPU spinning on a lock the other holds burns a whole host time
    // slice; the run went silent for over ten minutes in its second test (createdelete) there.
    if (hardwareKvm.how === "direct") SECTIONS["xv6-usertests"] = `node_modules/.bin/bun test/pc/drive-xv6.ts --usertests ${fsImg} ${vmm} -m 512M --console serial ${xv6Kernel}`;
  }
  const kallsyms = busyboxInitramfs("kallsyms", "grep -E ' (start_kernel|do_sys_openat2|x86_64_start_kernel|x86_64_start_reservations)$' /proc/kallsyms; poweroff -f");
  SECTIONS["linux-gdb"] = `node_modules/.bin/bun test/linux/gdb-linux.ts ./dist/microvmm ${vmlinux} ${kallsyms} ${busyboxInitramfs("boot", "reboot -f")}`;
  SECTIONS["linux-session"] = `node_modules/.bin/bun test/linux/drive.ts session ${shell} --stats`;
  for (const scenario of ["quit", "sigterm"]) SECTIONS[`linux-${scenario}`] = `node_modules/.bin/bun test/linux/drive.ts ${scenario} ${shell}`;
  // One line: the runner quotes it. A Linux section that never reached init or broke off, or an
  // xv6 session that broke off (the drivers say "failed:"), is tried once more (see the note at the
  // top); the retry is reported. xv6 is given longer: it is slow there, not stuck (drive-xv6.ts).
  const retried = (limit: number, cmd: string, ok: string) =>
    `for try in 1 2; do timeout ${limit} ${cmd} > /tmp/section.out 2>&1; st=$?; ` +
    `${ok} && ! grep -q ^failed: /tmp/section.out && break; echo "=== retried: $({ grep ^failed: /tmp/section.out || tail -c 400 /tmp/section.out; } | tr '\\n' ' ')"; done; ` +
    `cat /tmp/section.out`;
  const section = ([name, cmd]: [string, string]) => `echo "=== ${name}"; t0=$(date +%s); ` +
    (name.startsWith("linux-") ? retried(name === "linux-virtio-net" ? 240 : 90, cmd, "grep -q ^MICROVMM-INIT-OK /tmp/section.out")
      : name === "xv6" ? retried(400, cmd, "[ $st -eq 0 ]")
      : name === "xv6-usertests" ? `timeout 1200 ${cmd} 2>&1; st=$?`
      : `timeout 150 ${cmd} 2>&1; st=$?`) + `; echo "=== took $(($(date +%s) - t0)) s"; echo "=== status $st"`;
  // In turn, every guest on the same CPU: with guests on both of the nested machine's CPUs at
  // once, that machine itself was seen to end mid-run. The sections go to a few nested machines,
  // each with a time limit some three times what it takes: now and then the nested machine's CPU
  // locks up (seen during an AP's end and during a lone Linux boot, a few times in a hundred VMs)
  // and nothing inside runs again; such a machine costs its own limit and one retry (runHardware),
  // not the whole run's. On hardware KVM it has not been seen.
  const groups: Array<{ names: string[]; limit: number }> = [
    { names: Object.keys(SECTIONS).filter((n) => !/^(xv6|linux-(gdb|session|quit|sigterm|cpus-.*|virtio-.*)|pc-irq)$/.test(n)), limit: 420 },
    { names: ["linux-cpus-2", "linux-cpus-4", "linux-virtio-rng", "linux-virtio-disk", "linux-virtio-net", "pc-irq"], limit: 600 },
    { names: ["linux-gdb", "linux-session", "linux-quit", "linux-sigterm"], limit: 420 },
    ...(SECTIONS["xv6"] === undefined ? [] : [{ names: ["xv6"], limit: 900 }]),
    ...(SECTIONS["xv6-usertests"] === undefined ? [] : [{ names: ["xv6-usertests"], limit: 1300 }]),
  ];
  const took: string[] = [];
  for (const g of groups) {
    const script = g.names.map((n) => section([n, SECTIONS[n]!])).join("; ");
    // Room in the nested machine for a 4 GiB guest beside everything else.
    const r = await runHardware(["sh", "-c", script], g.limit, 7168);
    for (const m of r.stdout.matchAll(/=== (\S+)\n([\s\S]*?)=== status (\d+)\n/g)) {
      const lines = m[2]!.split("\n").slice(0, -1);
      for (const l of lines.filter((l) => l.startsWith("=== retried: "))) console.log(`${m[1]} was retried; the first try: ${l.slice(13)}`);
      took.push(`${m[1]} ${lines.find((l) => l.startsWith("=== took "))?.slice(9) ?? "?"}`);
      results.set(m[1]!, { status: Number(m[3]), lines: lines.filter((l) => !l.startsWith("=== retried: ") && !l.startsWith("=== took ")) });
    }
    const missing = g.names.filter((n) => !results.has(n));
    if (missing.length > 0) console.log(`hardware run: no result for ${missing.join(", ")} (status ${r.status}): ${r.stderr.trim().split("\n").at(-1)}`);
  }
  console.log(`hardware sections took: ${took.join(", ")}`);
  // Our SMP kernel's tests (test/integration/smp.test.ts, as where /dev/kvm is usable) and our
  // hostile virtio driver's (virtio.test.ts), in a machine of their own.
  const smp = await runHardware(["sh", "-c", `${hardwareKvm.how === "nested" ? "taskset -c 1 " : ""}node_modules/.bin/bun test test/integration/smp.test.ts test/integration/virtio.test.ts 2>&1`], 180);
  results.set("smp", { status: smp.status, lines: smp.stdout.split("\n") });
}, 6_000_000); // two tries of each machine, at their limits (see runHardware)

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

describe.skipIf(skip)(`the PC board by interrupts, on hardware-style KVM (${hardwareKvm.how})`, () => {
  test("a multiboot kernel counts 10 PIT ticks through the 8259, then echoes keys it takes by IRQ 1 on the VGA screen", () => {
    const r = results.get("pc-irq")!;
    expect(r.lines.filter((l) => !l.startsWith("screen: "))).toEqual(["typed: hi there", "ticks: 10", "typed: hi there", "done"]);
    expect(r.lines.filter((l) => l.startsWith("screen: ")).slice(0, 2)).toEqual(["screen: typed: hi there", "screen: "]);
    expect(r.status).toBe(0);
  });
});

describe.skipIf(skip)(`virtio for Linux, on hardware-style KVM (${hardwareKvm.how})`, () => {
  test("the entropy device: rng_current is virtio_rng.0 and /dev/hwrng reads; --stats counts its requests", () => {
    const r = results.get("linux-virtio-rng")!;
    expect(r.lines).toContain("rng: virtio_rng.0");
    expect(r.lines).toContain("hwrng: 4096");
    const stats = /^ {2}virtio rng: notifications (\d+), interrupts (\d+), errors 0, requests (\d+), bytes (\d+)$/.exec(r.lines.find((l) => l.startsWith("  virtio rng:")) ?? "");
    expect(Number(stats?.[4])).toBeGreaterThanOrEqual(4096);
    expect(r.status).toBe(0);
  });

  test("root on a virtio-blk ext4 image: a file written and synced is in the image after poweroff (debugfs); GET_ID gives the serial", () => {
    const l = results.get("linux-virtio-disk")!.lines;
    expect(l).toContain("MICROVMM-ROOT-OK");
    expect(l.some((x) => /virtio_blk virtio0: \[vda\] 65536 512-byte logical blocks/.test(x))).toBe(true);
    expect(l).toContain("serial: microvmm-disk0");
    expect(l).toContain("host: status 0");
    expect(l).toContain("host: hello: written-and-synced");
    const stats = l.find((x) => x.startsWith("  virtio blk0:")) ?? "";
    expect(stats).toMatch(/^ {2}virtio blk0: notifications \d+, interrupts \d+, errors 0, requests \d+, bytesRead [1-9]\d*, bytesWritten [1-9]\d*, flushes [1-9]\d*, bytesDiscarded \d+, bytesZeroed \d+$/);
  });

  test("discard and write-zeroes: Linux sees the limits, zeroes (BLKZEROOUT) and discards (blkdiscard) reach the image: a hole, zeroes, the rest kept", () => {
    const l = results.get("linux-virtio-disk")!.lines;
    expect(l).toContain(`vdc discard granularity: 4096, write zeroes max: ${(1 << 22) * 512}`);
    expect(l).toContain("vdc: zeroed");
    expect(l).toContain("vdc: discarded");
    expect(l).toContain("host: scratch image as expected");
    // 1 MiB allocated before; the discarded 256 KiB freed (a hole), the zeroed 64 KiB kept.
    expect(l).toContain("host: scratch blocks 2048 -> 1536");
    expect(l.find((x) => x.startsWith("  virtio blk2:"))).toMatch(/, errors 0, .*, bytesDiscarded 262144, bytesZeroed 65536$/);
  });

  test("a ,ro disk is read-only in the guest (mounted ro, writes refused) and byte for byte unchanged on the host", () => {
    const l = results.get("linux-virtio-disk")!.lines;
    expect(l).toContain("vdb ro: 1");
    expect(l).toContain("vdb mounted: ro");
    expect(l).toContain("touch: touch: /mnt/x: Read-only file system");
    expect(l.find((x) => x.startsWith("dd: "))).toMatch(/Operation not permitted|Read-only file system/);
    expect(l).toContain("host: read-only image unchanged");
  });

  test("the network over a TAP in a namespace: eth0 has our MAC, pings the host, and 64 MiB go each way with equal SHA-256", () => {
    const l = results.get("linux-virtio-net")!.lines;
    expect(l).toContain("host: device thread on every CPU");
    expect(l).toContain("mac: 52:54:00:00:00:02");
    expect(l).toContain("ping: 3 packets transmitted, 3 packets received, 0% packet loss");
    const hash = (prefix: string) => l.find((x) => x.startsWith(prefix))?.slice(prefix.length).split(" ")[0];
    expect(hash("guest: sent ")).toMatch(/^[0-9a-f]{64}$/);
    expect(hash("host: got ")).toBe(hash("guest: sent "));
    expect(l).toContain(`host: got ${hash("guest: sent ")} (${NET_BYTES} bytes)`);
    expect(hash("host: sent ")).toMatch(/^[0-9a-f]{64}$/);
    expect(l).toContain(`guest: got ${hash("host: sent ")} (${NET_BYTES} bytes)`);
    const [t0, t1, t2] = (l.find((x) => x.startsWith("guest: times ")) ?? "").slice(13).split(" ").map(Number) as [number, number, number];
    const mb = NET_BYTES / 1e6;
    console.log(`virtio-net (nested): guest→host ${(mb / (t1 - t0)).toFixed(2)} MB/s, host→guest ${(mb / (t2 - t1)).toFixed(2)} MB/s (guest clock)`);
    expect(l).toContain("host: status 0");
  });

  test("what the guest flushed is in the image after microvmm is killed with SIGKILL", () => {
    const l = results.get("linux-virtio-disk")!.lines;
    expect(l).toContain("SYNCED");
    expect(l).toContain("host: killed status 137");
    expect(l).toContain("host: killed: flushed-before-kill");
  });
});

describe.skipIf(skip)(`several vCPUs, on hardware-style KVM (${hardwareKvm.how})`, () => {
  test("our SMP kernel's tests (test/integration/smp.test.ts) and the hostile virtio driver's (virtio.test.ts) all pass there", () => {
    const r = results.get("smp")!;
    const plain = r.lines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, "")); // bun test may colour its report
    expect(plain.filter((l) => /^\(fail\)|^ *\d+ (pass|fail|skip)$/.test(l)).map((l) => l.trim())).toEqual(["12 pass", "0 fail"]);
    expect(r.status).toBe(0);
  });

  for (const n of [2, 4]) {
    test(`Linux with --cpus ${n}: nproc and /proc/cpuinfo say ${n}; a CPU-bound job in ${n} processes (speedup reported)`, () => {
      const r = results.get(`linux-cpus-${n}`)!;
      expect(r.lines).toContain(`nproc: ${n}`);
      expect(r.lines).toContain(`cpuinfo: ${n}`);
      const job = r.lines.find((l) => l.startsWith("job: ")) ?? "no job line";
      const measured = jobSpeedup(job);
      expect(measured?.n).toBe(n);
      console.log(`linux --cpus ${n}: ${job}; speedup ${measured!.speedup.toFixed(2)}x${hardwareKvm.how === "nested" ? " (every vCPU on one CPU)" : ""}`);
      expect(r.status).toBe(0);
    });
  }
});

describe.skipIf(skip || !xv6.available)(`xv6 on the PC board, on hardware-style KVM (${hardwareKvm.how})${skip ? ` — skipped: ${hardwareKvm.why}` : !xv6.available ? ` — skipped: ${xv6.why}` : ""}`, () => {
  const lines = () => results.get("xv6")!.lines;
  test("xv6 boots to its shell with fs.img as the IDE slave; `ls` lists README; `cat README | wc` says 50 329 2286", () => {
    const l = lines();
    console.log(l.filter((x) => x.startsWith("prompt after")).join("; "));
    // First what went wrong, if anything: the driver's "failed:" lines, or how the section ended.
    const status = results.get("xv6")!.status;
    expect([...l.filter((x) => x.startsWith("failed:")), ...(status === 0 ? [] : [`status ${status}, after: ${l.slice(-6).join(" | ")}`])]).toEqual([]);
    expect(l.filter((x) => x.startsWith("prompt after")).length).toBe(2);
    expect(l).toContainEqual(expect.stringMatching(/^ls: README +2 2 2286$/));
    expect(l).toContain("cat README | wc: 50 329 2286 ");
  });

  test("what `echo hi > f` wrote to the IDE disk is there at the next boot of the same image", () => {
    expect(lines()).toContain("cat f: hi");
    expect(lines().filter((x) => x.startsWith("status: "))).toEqual(["status: 143", "status: 143"]);
  });

  test("the second boot with --cpus 2: xv6 starts its second CPU, runs its shell, and forktest's forks work", () => {
    expect(lines()).toContain("boot: cpu1: starting 1");
    expect(lines().filter((x) => x.startsWith("boot: cpu"))).toEqual(["boot: cpu0: starting 0", "boot: cpu1: starting 1", "boot: cpu0: starting 0"]);
    expect(lines()).toContain("forktest: fork test OK");
  });

  test.skipIf(hardwareKvm.how !== "direct")(`xv6's usertests with --cpus 2: every test passes (forks, pipes, preemption, sbrk, the file system)${hardwareKvm.how === "direct" ? "" : " — skipped: needs hardware KVM, see SECTIONS"}`, () => {
    const l = results.get("xv6-usertests")!.lines;
    expect(l.filter((x) => x.startsWith("failed:"))).toEqual([]);
    expect(l).toContain("boot: cpu1: starting 1");
    expect(l).toContain("usertests: usertests starting");
    expect(l).toContain("usertests: ALL TESTS PASSED");
  });

  test("--screen-dump: xv6's VGA screen (it prints on the CGA and COM1 alike) as 25 trimmed lines", () => {
    const screen = lines().filter((x) => x.startsWith("screen: ")).map((x) => x.slice(8));
    expect(screen.length).toBe(25);
    expect(screen).toContain("init: starting sh");
    const shell = screen.indexOf("init: starting sh");
    expect(screen.slice(shell + 1, shell + 7)).toEqual(["$ cat f", "hi", "$ forktest", "fork test", "fork test OK", "$"]);
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
    expect(r.lines.map((l) => l.trim()).find((l) => l.startsWith("linux boot: "))).toMatch(/^linux boot: PVH, entry 0x[0-9a-f]+$/);
    expect(r.status).toBe(0);
  });

  test("an ELF vmlinux without the PVH note boots through the 64-bit protocol at its physical entry", () => {
    const r = results.get("linux-elf-64bit")!;
    expect(r.lines).toContain("MICROVMM-INIT-OK");
    expect(r.lines.find((l) => l.startsWith("cmdline: "))).toContain(LINUX_TOKEN);
    expect(r.lines.map((l) => l.trim()).find((l) => l.startsWith("linux boot: "))).toBe("linux boot: 64-bit boot protocol, entry 0x1000000");
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

  test("Debian's generic kernel boots to init too", () => {
    const r = results.get("linux-generic")!;
    expect(r.lines).toContain("MICROVMM-INIT-OK");
    expect(r.lines.find((l) => l.startsWith("cmdline: "))).toContain(LINUX_TOKEN);
    expect(r.status).toBe(0);
  });

  test("poweroff -f in the guest ends microvmm with status 0 (ACPI S5); 128 MiB is enough", () => {
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

  for (const [name, gib] of [["linux-1g", 1], ["linux-4g", 4], ["linux-8g", 8]] as const) {
    test(`a ${gib} GiB guest: MemTotal is the RAM less what the kernel keeps`, () => {
      const r = results.get(name)!;
      const kb = Number(/^MemTotal:\s+(\d+) kB/m.exec(r.lines.join("\n"))?.[1]);
      console.log(`${gib} GiB guest: MemTotal ${kb} kB`);
      expect(kb).toBeGreaterThan(0.9 * gib * 1024 * 1024);
      expect(kb).toBeLessThanOrEqual(gib * 1024 * 1024);
      expect(r.status).toBe(0);
    });
  }

  test("gdb on the vmlinux (nokaslr): hbreak start_kernel, bt; a breakpoint on do_sys_openat2 hits; then it boots on", () => {
    const r = results.get("linux-gdb")!;
    const gdb = r.lines.filter((l) => l.startsWith("gdb: ")).map((l) => l.slice(5));
    expect(gdb.some((l) => /^Breakpoint 1, 0xffffffff[0-9a-f]+ in start_kernel \(\)$/.test(l))).toBe(true);
    expect(gdb.some((l) => /^#0 {2}0xffffffff[0-9a-f]+ in start_kernel \(\)$/.test(l))).toBe(true);
    expect(gdb.some((l) => /^long 64-bit mode, paging on, CR3 0x[0-9a-f]+; next instruction at CS:IP 0010:ffffffff[0-9a-f]+ = linear 0xffffffff[0-9a-f]+/.test(l))).toBe(true);
    expect(gdb.some((l) => /^Breakpoint 2, 0xffffffff[0-9a-f]+ in do_sys_openat2 \(\)$/.test(l))).toBe(true);
    expect(gdb).toContain("[Inferior 1 (Remote target) exited normally]");
    expect(r.lines).toContain("MICROVMM-INIT-OK");
    expect(r.lines).toContain("microvmm status: 0");
    expect(r.lines.filter((l) => l.startsWith("failed:"))).toEqual([]);
  });

  test("interactive: Ctrl-C interrupts a command in the guest; `echo $((6*7))` answers 42; a long paste arrives whole; poweroff -f ends with 0", () => {
    const r = results.get("linux-session")!;
    expect(r.lines).toContain("ctrl-c: back in the shell");
    expect(r.lines).toContain("answer: 42");
    const expected = r.lines.find((l) => l.startsWith("expected: "))!.slice("expected: ".length);
    expect(r.lines).toContain(`pasted: ${expected}`);
    expect(r.lines).toContain("status: 0");
    expect(r.status).toBe(0);
  });

  test("typed input kicks the vCPU out of KVM_RUN at once (it does not wait for the once-a-second timer)", () => {
    const stats = results.get("linux-session")!.lines.find((l) => l.startsWith("stderr:   KVM_RUN interrupted: "));
    const kicks = Number(/(\d+) by input/.exec(stats ?? "")?.[1]);
    console.log(stats);
    expect(kicks).toBeGreaterThanOrEqual(6); // six separate writes, each typed while the guest idled
  });

  test("the guest finds the local APIC and IOAPIC (from the MADT): the console's IRQ 4 through the IOAPIC, a local APIC timer", () => {
    const irqs = results.get("linux-session")!.lines.filter((l) => l.startsWith("interrupts: "));
    expect(irqs.find((l) => l.endsWith("ttyS0"))).toMatch(/^interrupts: 4:\s+\d+\s+IO-APIC\s+4-edge\s+ttyS0$/);
    const loc = /^interrupts: LOC:\s+(\d+)\s+Local timer interrupts$/.exec(irqs.find((l) => l.includes("LOC:")) ?? "");
    expect(Number(loc?.[1])).toBeGreaterThan(0);
  });

  test("the boot MSRs enable MTRRs (default write-back), so the kernel programs PAT", () => {
    const dmesg = results.get("linux-session")!.lines.filter((l) => l.startsWith("dmesg: "));
    // Linux's own PAT layout (with write-combining), not the power-on one it keeps when MTRRs are off.
    expect(dmesg.find((l) => l.includes("x86/PAT: Configuration"))).toMatch(/Configuration \[0-7\]: WB\s+WC\s+UC-\s+UC\s+WB\s+WP\s+UC-\s+WT\s*$/);
    expect(dmesg.some((l) => l.includes("MTRRs disabled"))).toBe(false);
  });

  test("on a terminal, Ctrl-A x at the guest's shell quits with status 0 and the terminal is restored", () => {
    const r = results.get("linux-quit")!;
    expect(r.lines.filter((l) => l.startsWith("after: "))).toEqual(["after: status=0", "after: RESTORED"]);
    expect(r.lines).toContain("starts a fresh line: yes"); // the shell after us does not continue the guest's prompt line
    expect(r.status).toBe(0);
  });

  test("on a terminal, SIGTERM while the guest idles ends microvmm with 143 and the terminal is restored", () => {
    const r = results.get("linux-sigterm")!;
    const after = r.lines.filter((l) => l.startsWith("after: "));
    expect(after).toEqual(["after: microvmm: stopped by SIGTERM", "after: status=143", "after: RESTORED"]);
    expect(r.lines).toContain("starts a fresh line: yes");
    expect(r.status).toBe(0);
  });
});
