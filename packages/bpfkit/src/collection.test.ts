import fs from 'node:fs';
import path from 'node:path';
import { MapType } from '@bpfkit/core';
import { bpfAccess } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';
import { loadCollection } from './collection.js';

const object = path.resolve(import.meta.dirname, '../../elf/testdata/basics.bpf.o');
const access = bpfAccess();

describe.skipIf(!access.available)(`loading a clang object on the kernel${access.reason ? ` — skipped: ${access.reason}` : ''}`, () => {
  it('creates the maps, loads the programs, and the programs use them', () => {
    using coll = loadCollection(object, { constants: { target_pid: 77 } });
    expect(Object.keys(coll.maps).sort()).toEqual(['.bss', '.data', '.rodata', 'events', 'flows', 'outer']);
    expect(coll.maps.flows!.info()).toMatchObject({ type: MapType.HASH, keySize: 12, valueSize: 8, maxEntries: 1024 });
    expect(coll.maps['.rodata']!.info().frozen).toBe(true);
    const xdp = coll.programs.count_packets!;
    // XDP_PASS: add_one(XDP_PASS - 1 + delta + 1) with delta = -1.
    expect(xdp.testRun({ data: new Uint8Array(64) }).returnValue).toBe(2);
    expect(xdp.testRun({ data: new Uint8Array(64) }).returnValue).toBe(2);
    // The program counted both runs in .bss and keyed its flow by the rewritten constant.
    const bss = coll.maps['.bss']!.lookup(new Uint8Array(4))!;
    expect(new DataView(bss.buffer, bss.byteOffset).getBigUint64(0, true)).toBe(2n);
    const [[key, value]] = [...coll.maps.flows!.entries()];
    expect(new DataView(key!.buffer, key!.byteOffset).getUint32(0, true)).toBe(77);
    expect(new DataView(value!.buffer, value!.byteOffset).getBigUint64(0, true)).toBe(2n);
    expect(coll.programs.trace_openat!.info().mapIds.length).toBe(2);
  });

  it('refuses constants the object does not have, and closing a collection closes its maps and programs', () => {
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    expect(() => loadCollection(object, { constants: { nope: 1 } })).toThrow(/one of the object's read-only globals/);
    expect(fds()).toBe(before);
    const coll = loadCollection(object);
    coll.close();
    expect(fds()).toBe(before);
  });
});
