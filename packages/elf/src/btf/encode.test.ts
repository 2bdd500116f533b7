import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseElf } from '../elf/parse.js';
import { BtfBuilder } from './build.js';
import { encodeBtf } from './encode.js';
import { BtfKind } from './kinds.js';
import { parseBtf } from './parse.js';
import type { BtfType } from './parse.js';
import { FULL_BTF_SUPPORT, sanitizeBtf, unsupportedKinds } from './sanitize.js';

const testdata = new URL('../../testdata/', import.meta.url);
const VMLINUX = '/sys/kernel/btf/vmlinux';

/** What a reader sees of a type: everything but the id. */
const shape = (types: BtfType[]) => types.map(({ id: _id, ...rest }) => rest);

describe('encodeBtf', () => {
  for (const le of [true, false]) {
    it(`re-encodes the testdata object's BTF (${le ? 'little' : 'big'}-endian) to the same types`, () => {
      const file = le ? 'basics.bpf.o' : 'basics.bpf.eb.o';
      const bytes = new Uint8Array(fs.readFileSync(new URL(file, testdata)));
      const elf = parseElf(bytes);
      const btf = parseBtf(elf.data(elf.section('.BTF')!));
      const again = parseBtf(encodeBtf(btf.types, le));
      expect(again.littleEndian).toBe(le);
      expect(shape(again.types)).toEqual(shape(btf.types));
    });
  }

  it.skipIf(!fs.existsSync(VMLINUX))('re-encodes the kernel BTF (every kind the kernel uses) to the same types', () => {
    const btf = parseBtf(new Uint8Array(fs.readFileSync(VMLINUX)));
    const again = parseBtf(encodeBtf(btf.types));
    expect(again.types.length).toBe(btf.types.length);
    expect(shape(again.types)).toEqual(shape(btf.types));
  });

  it('keeps bitfields, signed enums, enum64 values, decl tags and extern linkage', () => {
    const types: BtfType[] = [
      { id: 0, kind: BtfKind.UNKN, name: '', sizeOrType: 0, vlen: 0, kindFlag: false },
      { id: 1, kind: BtfKind.INT, name: 'u32', sizeOrType: 4, vlen: 0, kindFlag: false, int: { encoding: 0, offset: 0, bits: 32 } },
      {
        id: 2,
        kind: BtfKind.STRUCT,
        name: 'flags',
        sizeOrType: 4,
        vlen: 2,
        kindFlag: true,
        members: [
          { name: 'a', type: 1, bitOffset: 0, bitfieldSize: 3 },
          { name: 'b', type: 1, bitOffset: 3, bitfieldSize: 29 },
        ],
      },
      { id: 3, kind: BtfKind.ENUM, name: 'sign', sizeOrType: 4, vlen: 1, kindFlag: true, enumerators: [{ name: 'MINUS', value: -5n }] },
      {
        id: 4,
        kind: BtfKind.ENUM64,
        name: 'big',
        sizeOrType: 8,
        vlen: 1,
        kindFlag: false,
        enumerators: [{ name: 'HUGE', value: 0xfedcba9876543210n }],
      },
      { id: 5, kind: BtfKind.VAR, name: 'ext', sizeOrType: 1, vlen: 0, kindFlag: false, linkage: 2 },
      { id: 6, kind: BtfKind.DECL_TAG, name: 'tag', sizeOrType: 2, vlen: 0, kindFlag: false, linkage: 1 },
    ];
    expect(shape(parseBtf(encodeBtf(types)).types)).toEqual(shape(types));
  });

  it('refuses types out of id order', () => {
    const b = parseBtf(new BtfBuilder().encode()).types;
    expect(() => encodeBtf([...b, { id: 5, kind: BtfKind.PTR, name: '', sizeOrType: 0, vlen: 0, kindFlag: false }])).toThrow(/id 1/);
  });
});

describe('sanitizeBtf', () => {
  const types = (): BtfType[] => [
    { id: 0, kind: BtfKind.UNKN, name: '', sizeOrType: 0, vlen: 0, kindFlag: false },
    { id: 1, kind: BtfKind.INT, name: 'int', sizeOrType: 4, vlen: 0, kindFlag: false, int: { encoding: 1, offset: 0, bits: 32 } },
    { id: 2, kind: BtfKind.FUNC_PROTO, name: '', sizeOrType: 1, vlen: 1, kindFlag: false, params: [{ name: 'x', type: 1 }] },
    { id: 3, kind: BtfKind.FUNC, name: 'f', sizeOrType: 2, vlen: 1, kindFlag: false },
    { id: 4, kind: BtfKind.VAR, name: 'v', sizeOrType: 1, vlen: 0, kindFlag: false, linkage: 1 },
    { id: 5, kind: BtfKind.DATASEC, name: '.data', sizeOrType: 4, vlen: 1, kindFlag: false, variables: [{ type: 4, offset: 0, size: 4 }] },
    { id: 6, kind: BtfKind.FLOAT, name: 'double', sizeOrType: 8, vlen: 0, kindFlag: false },
    { id: 7, kind: BtfKind.DECL_TAG, name: 'user', sizeOrType: 4, vlen: 0, kindFlag: false, linkage: -1 },
    { id: 8, kind: BtfKind.TYPE_TAG, name: 'rcu', sizeOrType: 1, vlen: 0, kindFlag: false },
    { id: 9, kind: BtfKind.ENUM64, name: 'e64', sizeOrType: 8, vlen: 1, kindFlag: false, enumerators: [{ name: 'X', value: 1n << 40n }] },
    { id: 10, kind: BtfKind.ENUM, name: 'e', sizeOrType: 4, vlen: 1, kindFlag: true, enumerators: [{ name: 'NEG', value: -1n }] },
  ];

  it('leaves BTF alone for a kernel that supports everything', () => {
    expect(sanitizeBtf(types(), FULL_BTF_SUPPORT)).toEqual(types());
    expect(unsupportedKinds(types(), FULL_BTF_SUPPORT)).toEqual([]);
  });

  it('rewrites each kind an old kernel lacks, keeping every type id', () => {
    const none = { func: false, funcGlobal: false, datasec: false, float: false, declTag: false, typeTag: false, enum64: false };
    expect(unsupportedKinds(types(), none).sort()).toEqual(['DATASEC', 'DECL_TAG', 'ENUM64', 'FLOAT', 'FUNC', 'TYPE_TAG']);
    const out = sanitizeBtf(types(), none);
    expect(out.map((t) => t.id)).toEqual(types().map((t) => t.id));
    expect(out.map((t) => t.kind)).toEqual([
      BtfKind.UNKN,
      BtfKind.INT,
      BtfKind.ENUM,
      BtfKind.TYPEDEF,
      BtfKind.INT,
      BtfKind.STRUCT,
      BtfKind.STRUCT,
      BtfKind.INT,
      BtfKind.CONST,
      BtfKind.UNION,
      BtfKind.ENUM,
    ]);
    expect(out[5]!.name).toBe('_data');
    expect(out[5]!.members).toEqual([{ name: 'v', type: 4, bitOffset: 0 }]);
    expect(out[6]!.sizeOrType).toBe(8);
    expect(out[10]!.kindFlag).toBe(false);
    expect(out[10]!.enumerators![0]!.value).toBe(0xffffffffn);
    expect(unsupportedKinds(out, none)).toEqual([]);
    // And it still encodes and parses.
    expect(parseBtf(encodeBtf(out)).types.length).toBe(out.length);
  });

  it('makes global functions static for kernels before 5.6 only', () => {
    const out = sanitizeBtf(types(), { ...FULL_BTF_SUPPORT, funcGlobal: false });
    expect(out[3]!.kind).toBe(BtfKind.FUNC);
    expect(out[3]!.vlen).toBe(0);
    expect(unsupportedKinds(types(), { ...FULL_BTF_SUPPORT, funcGlobal: false })).toEqual(['global FUNC']);
  });
});

describe('encodeBtf with the original strings', () => {
  it('keeps every original string at its offset and appends new names', () => {
    const elf = parseElf(new Uint8Array(fs.readFileSync(new URL('basics.bpf.o', testdata))));
    const btf = parseBtf(elf.data(elf.section('.BTF')!));
    const renamed = btf.types.map((t) => (t.id === 1 ? { ...t, name: 'bpfkit_renamed' } : t));
    const again = parseBtf(encodeBtf(renamed, true, { strings: btf.strings }));
    expect(again.strings.subarray(0, btf.strings.byteLength)).toEqual(btf.strings);
    for (let off = 0; off < btf.strings.byteLength; off = btf.strings.indexOf(0, off) + 1) expect(again.string(off)).toBe(btf.string(off));
    expect(again.types[1]!.name).toBe('bpfkit_renamed');
    expect(shape(again.types.slice(2))).toEqual(shape(btf.types.slice(2)));
  });
});
