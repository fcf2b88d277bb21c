// The order the Linux tests' initramfs loads kernel modules in: from each module's own
// `depends=` (.modinfo), on hand-made bytes.
import { describe, expect, test } from "bun:test";
import { inLoadOrder, moduleDepends } from "../linux/fixtures";

/** A stand-in for a .ko: some bytes, then .modinfo's NUL-separated key=value strings. */
const ko = (...modinfo: string[]) => new TextEncoder().encode(`\x7fELF...\0${modinfo.join("\0")}\0more`);
const mod = (name: string, depends: string) => ({ name, data: ko("license=GPL", `depends=${depends}`, `name=${name.replaceAll("-", "_")}`) });

describe("kernel module load order", () => {
  test("depends= is read from .modinfo: names, none, or absent", () => {
    expect(moduleDepends(ko("license=GPL", "depends=virtio,virtio_ring", "intree=Y"))).toEqual(["virtio", "virtio_ring"]);
    expect(moduleDepends(ko("depends=", "intree=Y"))).toEqual([]);
    expect(moduleDepends(ko("license=GPL"))).toEqual([]);
  });

  test("each module after what it needs, whichever way round the kernel has them (Debian 6.1.0-57: virtio needs virtio_ring)", () => {
    const order = (ms: ReturnType<typeof mod>[]) => inLoadOrder(ms).map((m) => m.name);
    const newer = [mod("virtio", "virtio_ring"), mod("virtio_ring", ""), mod("virtio_mmio", "virtio,virtio_ring"),
      mod("virtio-rng", "virtio,virtio_ring"), mod("failover", ""), mod("net_failover", "failover"), mod("virtio_net", "virtio_ring,virtio,net_failover")];
    expect(order(newer)).toEqual(["virtio_ring", "virtio", "virtio_mmio", "virtio-rng", "failover", "net_failover", "virtio_net"]);
    const older = [mod("virtio", ""), mod("virtio_ring", "virtio"), mod("virtio_mmio", "virtio,virtio_ring")];
    expect(order(older)).toEqual(["virtio", "virtio_ring", "virtio_mmio"]);
  });

  test("a dependency that is not among the modules, or a cycle: an error naming it", () => {
    expect(() => inLoadOrder([mod("virtio_net", "net_failover")])).toThrow("virtio_net.ko needs the module net_failover, which is not among those loaded");
    expect(() => inLoadOrder([mod("a", "b"), mod("b", "a")])).toThrow("modules that depend on each other: a → b → a");
  });
});
