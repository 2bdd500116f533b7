import fs from 'node:fs';
import { MapFlags, MapType } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { BtfBuilder } from '../btf/build.js';
import { BtfKind } from '../btf/kinds.js';
import { parseBtf } from '../btf/parse.js';
import { Elf, parseElf } from '../elf/parse.js';
import type { ElfFile, ElfSection } from '../elf/parse.js';
import { globalData, rewriteConstants } from './global-data.js';

function fakeElf(sections: { name: string; data: Uint8Array; nobits?: boolean; exec?: boolean }[]): ElfFile {
  const list: ElfSection[] = sections.map((s, i) => ({
    index: i + 1,
    name: s.name,
    type: s.nobits ? Elf.SHT_NOBITS : Elf.SHT_PROGBITS,
    flags: BigInt(Elf.SHF_ALLOC | (s.exec ? Elf.SHF_EXECINSTR : 0)),
    offset: 0,
    size: s.data.length,
    link: 0,
    info: 0,
    align: 8,
    entsize: 0,
  }));
  return {
    littleEndian: true,
    sections: list,
    symbols: [],
    section: (n) => list.find((s) => s.name === n),
    data: (s) => (s.type === Elf.SHT_NOBITS ? new Uint8Array(0) : sections[s.index - 1]!.data),
    relocations: () => [],
  };
}

function sample() {
  const b = new BtfBuilder();
  const u32 = b.addInt('unsigned int', 4, false);
  const s16 = b.addInt('short', 2, true);
  const bool = b.addInt('_Bool', 1, false);
  const pid = b.addVar('target_pid', u32);
  const delta = b.addVar('delta', s16);
  const debug = b.addVar('debug', bool);
  const counter = b.addVar('counter', u32);
  b.addDatasec('.rodata', 8, [
    [pid, 0, 4],
    [delta, 4, 2],
    [debug, 6, 1],
  ]);
  b.addDatasec('.bss', 4, [[counter, 0, 4]]);
  const btf = parseBtf(b.encode());
  const elf = fakeElf([
    { name: 'xdp', data: new Uint8Array(16), exec: true },
    { name: '.rodata', data: Uint8Array.of(1, 0, 0, 0, 0xff, 0xff, 0, 0) },
    { name: '.bss', data: new Uint8Array(4), nobits: true },
    { name: '.data.empty', data: new Uint8Array(0) },
  ]);
  return { btf, elf };
}

describe('global data', () => {
  it('turns .rodata/.bss into one-element arrays with their variables', () => {
    const { btf, elf } = sample();
    const g = globalData(elf, btf);
    expect(Object.keys(g)).toEqual(['.rodata', '.bss']);
    expect(g['.rodata']).toMatchObject({
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: 8,
      maxEntries: 1,
      flags: MapFlags.RDONLY_PROG,
      readOnly: true,
    });
    expect(g['.rodata']!.variables.map((v) => [v.name, v.offset, v.size])).toEqual([
      ['target_pid', 0, 4],
      ['delta', 4, 2],
      ['debug', 6, 1],
    ]);
    expect(g['.bss']!.contents).toEqual(new Uint8Array(4));
    expect(g['.bss']!.readOnly).toBe(false);
  });

  it('rewrites constants by their BTF type, refusing unknown names and out-of-range values', () => {
    const { btf, elf } = sample();
    const g = globalData(elf, btf);
    rewriteConstants(g, { target_pid: 0x01020304, delta: -2, debug: true }, btf, true);
    expect([...g['.rodata']!.contents]).toEqual([4, 3, 2, 1, 0xfe, 0xff, 1, 0]);
    expect(() => rewriteConstants(g, { counter: 1 }, btf, true)).toThrow(
      /one of the object's read-only globals \(target_pid, delta, debug\)/,
    );
    expect(() => rewriteConstants(g, { delta: 40000 }, btf, true)).toThrow(/from -32768 to 32767 \(s16\)/);
    expect(() => rewriteConstants(g, { target_pid: Uint8Array.of(1) }, btf, true)).toThrow(/4 bytes/);
    rewriteConstants(g, { target_pid: 7n }, btf, false);
    expect([...g['.rodata']!.contents.subarray(0, 4)]).toEqual([0, 0, 0, 7]);
  });

  it('places variables at their symbols, since clang leaves DATASEC offsets zero', () => {
    const elf = parseElf(new Uint8Array(fs.readFileSync(new URL('../../testdata/externs.bpf.o', import.meta.url))));
    const btf = parseBtf(elf.data(elf.section('.BTF')!));
    // The object's BTF really has every .bss offset at zero …
    expect(new Set(btf.find('.bss', BtfKind.DATASEC)!.variables!.map((v) => v.offset))).toEqual(new Set([0]));
    // … and the variables come out at distinct, sorted, non-overlapping offsets equal to their symbols'.
    const vars = globalData(elf, btf)['.bss']!.variables;
    const symbols = Object.fromEntries(elf.symbols.map((sym) => [sym.name, Number(sym.value)]));
    expect(vars.length).toBe(9);
    vars.forEach((v, i) => {
      expect(v.offset).toBe(symbols[v.name]);
      if (i > 0) expect(v.offset).toBeGreaterThanOrEqual(vars[i - 1]!.offset + vars[i - 1]!.size);
    });
  });
});
