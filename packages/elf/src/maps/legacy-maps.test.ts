import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../errors.js';
import type { ElfFile } from '../elf/parse.js';
import { Elf } from '../elf/parse.js';
import { mapsFromLegacySection } from './legacy-maps.js';
import { readObject } from '../object.js';

/** An ElfFile stand-in with one `maps` section and symbols into it. */
function fakeElf(data: Uint8Array, symbols: { name: string; value: number; size: number }[], littleEndian = true): ElfFile {
  const section = {
    index: 3,
    name: 'maps',
    type: Elf.SHT_PROGBITS,
    flags: 3n,
    offset: 0,
    size: data.length,
    link: 0,
    info: 0,
    align: 4,
    entsize: 0,
  };
  return {
    littleEndian,
    sections: [section],
    symbols: symbols.map((s, i) => ({
      index: i + 1,
      name: s.name,
      bind: Elf.STB_GLOBAL,
      type: Elf.STT_OBJECT,
      visibility: 0,
      section: 3,
      value: BigInt(s.value),
      size: BigInt(s.size),
    })),
    section: (n) => (n === 'maps' ? section : undefined),
    data: () => data,
    relocations: () => [],
  };
}

function defs(le: boolean, ...list: number[][]): Uint8Array {
  const out = new Uint8Array(list.length * 20);
  const v = new DataView(out.buffer);
  list.forEach((d, i) => {
    d.forEach((x, k) => {
      v.setUint32(i * 20 + k * 4, x, le);
    });
  });
  return out;
}

describe('legacy maps section', () => {
  for (const le of [true, false]) {
    it(`reads struct bpf_map_def per symbol (${le ? 'little' : 'big'}-endian)`, () => {
      const elf = fakeElf(
        defs(le, [1, 4, 8, 1024, 0], [2, 4, 4, 1, 0]),
        [
          { name: 'counts', value: 0, size: 20 },
          { name: 'config', value: 20, size: 0 },
        ],
        le,
      );
      expect(mapsFromLegacySection(elf)).toEqual({
        counts: { name: 'counts', type: 1, keySize: 4, valueSize: 8, maxEntries: 1024, flags: 0 },
        config: { name: 'config', type: 2, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 },
      });
    });
  }

  it('refuses truncated definitions and unknown extended fields', () => {
    expect(() => mapsFromLegacySection(fakeElf(new Uint8Array(12), [{ name: 'short', value: 0, size: 12 }]))).toThrow(ParseError);
    const extended = new Uint8Array(28);
    extended[24] = 1;
    expect(() => mapsFromLegacySection(fakeElf(extended, [{ name: 'ext', value: 0, size: 28 }]))).toThrow(
      /map 'ext' sets fields beyond struct bpf_map_def/,
    );
  });
});

describe("goebpf's layout, with hostile names", () => {
  const seed = () => new Uint8Array(fs.readFileSync(path.resolve(import.meta.dirname, '../../testdata/goebpf_seed.bpf.o')));
  /** Every NUL-terminated copy of `from` becomes `to` (no longer), NUL-padded. */
  const rename = (bytes: Uint8Array, from: string, to: string) => {
    const text = new TextDecoder('latin1').decode(bytes);
    for (let at = text.indexOf(`${from}\0`); at >= 0; at = text.indexOf(`${from}\0`, at + 1)) {
      bytes.set(new TextEncoder().encode(to.padEnd(from.length, '\0')), at);
    }
    return bytes;
  };

  it("reads the inner map template and persistent paths; a map named '__proto__' is a map", () => {
    const spec = readObject(rename(seed(), 'seed_jumps', '__proto__'));
    expect(spec.maps.seed_outer!.innerMap).toMatchObject({ name: 'seed_inner', keySize: 4, valueSize: 4, maxEntries: 8 });
    expect(spec.maps.seed_counts!.persistentPath).toBe('/sys/fs/bpf/seed_counts');
    expect(Object.hasOwn(spec.maps, '__proto__')).toBe(true);
    // (the path held the name too)
    expect(Object.getOwnPropertyDescriptor(spec.maps, '__proto__')!.value).toMatchObject({
      type: 3,
      persistentPath: '/sys/fs/bpf/__proto__',
    });
    expect(Object.getPrototypeOf(spec.maps)).toBe(Object.prototype);
  });

  it("takes an inner map template named '__proto__' as the map it is", () => {
    const spec = readObject(rename(seed(), 'seed_inner', '__proto__'));
    expect(spec.maps.seed_outer!.innerMap).toMatchObject({ name: '__proto__', type: 1, keySize: 4, valueSize: 4, maxEntries: 8 });
  });
});
