import { expect, test } from "bun:test";
import * as K from "../../src/devices/i8042";

function controller() {
  let resets = 0;
  return { k: new K.I8042(() => { resets++; }), resets: () => resets };
}

test("self test, interface test and the config byte answer through the data port", () => {
  const { k } = controller();
  expect(k.read(K.I8042_COMMAND, 1) & K.STATUS_OUTPUT_FULL).toBe(0);
  k.write(K.I8042_COMMAND, 1, K.CMD_SELF_TEST);
  expect(k.read(K.I8042_COMMAND, 1) & K.STATUS_OUTPUT_FULL).toBe(K.STATUS_OUTPUT_FULL);
  expect(k.read(K.I8042_DATA, 1)).toBe(0x55);
  expect(k.read(K.I8042_COMMAND, 1) & K.STATUS_OUTPUT_FULL).toBe(0);
  k.write(K.I8042_COMMAND, 1, K.CMD_TEST_KBD);
  expect(k.read(K.I8042_DATA, 1)).toBe(0);
  k.write(K.I8042_COMMAND, 1, K.CMD_WRITE_CONFIG);
  k.write(K.I8042_DATA, 1, 0x65);
  k.write(K.I8042_COMMAND, 1, K.CMD_READ_CONFIG);
  expect(k.read(K.I8042_DATA, 1)).toBe(0x65);
});

test("reset: command 0xFE, or the output port written with bit 0 clear", () => {
  const { k, resets } = controller();
  k.write(K.I8042_DATA, 1, 0xfe); // a keyboard byte, not a command
  expect(resets()).toBe(0);
  k.write(K.I8042_COMMAND, 1, K.CMD_PULSE_RESET);
  expect(resets()).toBe(1);
  k.write(K.I8042_COMMAND, 1, K.CMD_WRITE_OUTPUT_PORT);
  k.write(K.I8042_DATA, 1, 0x01);
  expect(resets()).toBe(1);
  k.write(K.I8042_COMMAND, 1, K.CMD_WRITE_OUTPUT_PORT);
  k.write(K.I8042_DATA, 1, 0x00);
  expect(resets()).toBe(2);
});
