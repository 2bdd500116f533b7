import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BtfBuilder } from './build.js';
import { BtfKind } from './kinds.js';
import { parseBtf } from './parse.js';
import { ParseError } from '../errors.js';

function sample(littleEndian: boolean) {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, true);
  b.addStruct('pair', 8, [
    ['a', int, 0],
    ['b', int, 4],
  ]);
  b.addEnum('color', [
    ['RED', 0],
    ['GREEN', 1],
    ['MINUS', -1],
  ]);
  return b.encode(littleEndian);
}

describe('BTF', () => {
  for (const le of [true, false]) {
    it(`round-trips types built in ${le ? 'little' : 'big'}-endian`, () => {
      const btf = parseBtf(sample(le));
      expect(btf.littleEndian).toBe(le);
      expect(btf.types.map((t) => [t.id, t.kind, t.name])).toEqual([
        [0, BtfKind.UNKN, ''],
        [1, BtfKind.INT, 'int'],
        [2, BtfKind.STRUCT, 'pair'],
        [3, BtfKind.ENUM, 'color'],
      ]);
      expect(btf.find('pair')!.members).toEqual([
        { name: 'a', type: 1, bitOffset: 0 },
        { name: 'b', type: 1, bitOffset: 32 },
      ]);
      expect(btf.find('color', BtfKind.ENUM)!.enumerators!.map((e) => e.value)).toEqual([0n, 1n, 4294967295n]);
      expect(btf.find('color', BtfKind.STRUCT)).toBeUndefined();
    });
  }

  it('reads every kind a BPF object uses: pointers, arrays, functions, variables, data sections', () => {
    const b = new BtfBuilder();
    const int = b.addInt('int', 4, true);
    const arr = b.addArray(int, int, 1024);
    const ptr = b.addPointer(arr);
    const def = b.addStruct('map_def', 8, [['max_entries', ptr, 0]]);
    const v = b.addVar('counts', def, 1);
    const _sec = b.addDatasec('.maps', 8, [[v, 0, 8]]);
    const proto = b.addFuncProto(int, [['ctx', ptr]]);
    const fn = b.addFunc('prog', proto, 1);
    const btf = parseBtf(b.encode());
    expect(btf.type(int)!.int).toEqual({ encoding: 1, offset: 0, bits: 32 });
    expect(btf.type(arr)!.array).toEqual({ type: int, indexType: int, elements: 1024 });
    expect(btf.type(ptr)!.sizeOrType).toBe(arr);
    expect(btf.type(v)).toMatchObject({ name: 'counts', kind: BtfKind.VAR, sizeOrType: def, linkage: 1 });
    expect(btf.find('.maps', BtfKind.DATASEC)!.variables).toEqual([{ type: v, offset: 0, size: 8 }]);
    expect(btf.type(proto)!.params).toEqual([{ name: 'ctx', type: ptr }]);
    expect(btf.type(fn)).toMatchObject({ name: 'prog', kind: BtfKind.FUNC, vlen: 1, sizeOrType: proto });
  });

  it('refuses bad magic, short blobs, overlong sections and unknown kinds with ParseError', () => {
    expect(() => parseBtf(new Uint8Array(10))).toThrow(/shorter than the 24-byte header/);
    const bad = sample(true);
    bad[0] = 0;
    expect(() => parseBtf(bad)).toThrow(ParseError);
    const long = sample(true);
    new DataView(long.buffer).setUint32(12, 1 << 20, true);
    expect(() => parseBtf(long)).toThrow(/exceed the blob/);
    const kind = sample(true);
    kind[24 + 7] = 30; // info's kind byte of type 1
    expect(() => parseBtf(kind)).toThrow(/unknown kind 30/);
  });

  it.skipIf(!fs.existsSync('/sys/kernel/btf/vmlinux'))("parses the running kernel's BTF", () => {
    const btf = parseBtf(fs.readFileSync('/sys/kernel/btf/vmlinux'));
    const mapTypes = btf.find('bpf_map_type', BtfKind.ENUM)!.enumerators!;
    expect(mapTypes.find((e) => e.name === 'BPF_MAP_TYPE_HASH')!.value).toBe(1n);
    expect(btf.find('task_struct', BtfKind.STRUCT)!.members!.length).toBeGreaterThan(10);
  });
});
